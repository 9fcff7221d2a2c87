//! `trust webhook verify|sign`: check a delivery the way an endpoint would, or produce the
//! headers a sender attaches. All logic is in `trust_core::webhook`; this module maps flags to
//! it.

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Subcommand};
use serde::Serialize;
use trust_core::clock::{Clock, SystemClock};
use trust_core::secret::SecretBytes;
use trust_core::webhook::{self, Scheme, SecretSet, Verified, WebhookError, shopify};

use crate::Globals;
use crate::exit::CliError;
use crate::input::{self, SecretSource};

/// The largest body read (webhook bodies are far smaller; this stops a mistaken multi-GB file).
const BODY_LIMIT: u64 = 64 * 1024 * 1024;

const VERIFY_EXAMPLES: &str = "\
Examples:
  Example: trust webhook verify --provider stripe --secret-env STRIPE_WHSEC --body-file body.json --header \"Stripe-Signature: t=1700000000,v1=…\" --now 1700000000
  Example: trust webhook verify --provider shopify --secret-env SHOPIFY_SECRET --secret-env SHOPIFY_OLD_SECRET --header \"X-Shopify-Hmac-Sha256: …\" < body.json
  Example: trust webhook verify --provider hubspot-v3 --secret-file hubspot.secret --url https://app.example.com/hooks --header \"X-HubSpot-Signature-v3: …\" --header \"X-HubSpot-Request-Timestamp: 1700000000000\" --body-file body.json
  Example: trust webhook verify --provider shopify-oauth --secret-env SHOPIFY_SECRET --query 'code=…&hmac=…&shop=x.myshopify.com&timestamp=…'

Exit codes: 0 valid; 1 invalid, malformed, stale/future timestamp or replayed; 2 usage; 3 unreadable input.
With --json the result is {\"ok\":true,\"data\":{\"verdict\":\"valid\",…}} or {\"ok\":false,\"code\":REASON,…}
with REASON one of SIGNATURE_INVALID, TIMESTAMP_STALE, TIMESTAMP_FUTURE, MALFORMED, CLAIM_REJECTED.";

const SIGN_EXAMPLES: &str = "\
Examples:
  Example: trust webhook sign --provider stripe --secret-env STRIPE_WHSEC --body-file body.json --now 1700000000
  Example: echo -n '{}' | trust webhook sign --provider standard-webhooks --secret-env WHSEC --id msg_1
  Example: trust webhook sign --provider shopify-session-token --secret-env SHOPIFY_SECRET --api-key KEY --shop x.myshopify.com
  Example: trust webhook sign --provider github --secret-env GH_SECRET --id 72d3162e --body-file body.json

Prints the header lines a sender attaches (for shopify-oauth and shopify-app-proxy: the signed
query string), through trust-core's signing dispatcher, the one the C ABI and the packages use. Several secrets give several signatures where the scheme allows it (Stripe,
Standard Webhooks); otherwise the first secret signs.";

/// `trust webhook …`
#[derive(Debug, Args)]
pub(crate) struct WebhookArgs {
    #[command(subcommand)]
    command: WebhookCommand,
}

#[derive(Debug, Subcommand)]
enum WebhookCommand {
    /// Verify a delivery (body from --body-file or stdin, byte for byte).
    ///
    /// Example: trust webhook verify --provider stripe --secret-env STRIPE_WHSEC --header "Stripe-Signature: …" --body-file body.json
    #[command(after_help = VERIFY_EXAMPLES, after_long_help = VERIFY_EXAMPLES)]
    Verify(Box<VerifyArgs>),
    /// Print the headers a sender attaches to a delivery.
    ///
    /// Example: trust webhook sign --provider github --secret-env GH_SECRET --body-file body.json
    #[command(after_help = SIGN_EXAMPLES, after_long_help = SIGN_EXAMPLES)]
    Sign(Box<SignArgs>),
}

/// `--provider NAME`: one of trust-core's scheme names, parsed by trust-core.
fn scheme_parser() -> impl clap::builder::TypedValueParser<Value = Scheme> {
    clap::builder::PossibleValuesParser::new(Scheme::ALL.map(Scheme::name))
        .try_map(|name: String| name.parse::<Scheme>())
}

/// Schemes that sign a query or a token instead of a body.
fn takes_body(scheme: Scheme) -> bool {
    !matches!(
        scheme,
        Scheme::ShopifyOAuth | Scheme::ShopifyAppProxy | Scheme::ShopifySessionToken
    )
}

/// What both `verify` and `sign` take.
#[derive(Debug, Args)]
struct CommonArgs {
    /// The signature scheme.
    #[arg(long, value_parser = scheme_parser())]
    provider: Scheme,

    /// Environment variable holding a secret; repeat for previous secrets (current first).
    #[arg(long = "secret-env", value_name = "NAME")]
    secret_env: Vec<String>,

    /// File holding a secret (one trailing newline ignored; - for stdin); repeatable. Secrets
    /// from --secret-env come first, then these, in order.
    #[arg(long = "secret-file", value_name = "PATH")]
    secret_file: Vec<PathBuf>,

    /// The raw request body (default: stdin), byte for byte.
    #[arg(long, value_name = "PATH")]
    body_file: Option<PathBuf>,

    /// The HTTP method (HubSpot v2/v3).
    #[arg(long, default_value = "POST", value_name = "METHOD")]
    method: String,

    /// The full URL the provider called (HubSpot v2/v3).
    #[arg(long, value_name = "URL")]
    url: Option<String>,

    /// The raw query string (shopify-oauth, shopify-app-proxy).
    #[arg(long, value_name = "STRING")]
    query: Option<String>,

    /// The app's API key / client id, the expected token audience (shopify-session-token).
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,

    /// Current time as Unix seconds (default: the system clock).
    #[arg(long, value_name = "UNIX_SECONDS", allow_negative_numbers = true)]
    now: Option<i64>,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    common: CommonArgs,

    /// A request header as 'Name: value'; repeatable.
    #[arg(long = "header", short = 'H', value_name = "'NAME: VALUE'")]
    headers: Vec<String>,

    /// Accepted age of a signed timestamp, seconds (default: the scheme's: 300, or 90 for
    /// Shopify queries, 10 s leeway for session tokens). Also the allowed future skew.
    #[arg(long, value_name = "SECONDS")]
    tolerance: Option<u64>,

    /// shopify-oauth: also accept the canonicalizations of Shopify's SDKs.
    #[arg(long)]
    lenient: bool,
}

#[derive(Debug, Args)]
struct SignArgs {
    #[command(flatten)]
    common: CommonArgs,

    /// The delivery id: standard-webhooks' webhook-id (signed; default: random msg_…), sent as
    /// X-Shopify-Webhook-Id (shopify) or X-GitHub-Delivery (github) when given, a session
    /// token's jti (default: random). Example: --id msg_1
    #[arg(long, value_name = "ID")]
    id: Option<String>,

    /// shopify-session-token: the shop domain the token is for.
    #[arg(long, value_name = "DOMAIN")]
    shop: Option<String>,
}

pub(crate) fn run(args: WebhookArgs, globals: &Globals) -> Result<(), CliError> {
    match args.command {
        WebhookCommand::Verify(req) => verify(&req, globals),
        WebhookCommand::Sign(req) => sign(&req, globals),
    }
}

fn secrets(req: &CommonArgs) -> Result<SecretSet, CliError> {
    let mut list: Vec<SecretBytes> = Vec::new();
    for name in &req.secret_env {
        let source = SecretSource {
            file: None,
            env: Some(name),
        };
        list.push(input::read_secret(
            "webhook secret",
            "secret",
            source,
            false,
        )?);
    }
    for path in &req.secret_file {
        let source = SecretSource {
            file: Some(path),
            env: None,
        };
        list.push(input::read_secret(
            "webhook secret",
            "secret",
            source,
            false,
        )?);
    }
    if list.is_empty() {
        return Err(CliError::usage("no webhook secret given")
            .hint("pass --secret-env NAME or --secret-file PATH (repeat for previous secrets)"));
    }
    Ok(SecretSet::try_from_vec(list)?)
}

fn parse_headers(raw: &[String]) -> Result<Vec<(String, String)>, CliError> {
    raw.iter()
        .map(|h| {
            let (name, value) = h
                .split_once(':')
                .ok_or_else(|| CliError::usage(format!("--header {h:?} is not 'Name: value'")))?;
            let name = name.trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(CliError::usage(format!("--header {h:?} has no valid name")));
            }
            Ok((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()))
        })
        .collect()
}

fn body(req: &CommonArgs) -> Result<Vec<u8>, CliError> {
    if !takes_body(req.provider) {
        return Ok(Vec::new());
    }
    input::read_all("the body", req.body_file.as_deref(), BODY_LIMIT)
}

fn now(req: &CommonArgs) -> i64 {
    req.now.unwrap_or_else(|| SystemClock.now_unix())
}

#[derive(Serialize)]
struct VerifyReport<'a> {
    verdict: &'static str,
    reason: &'static str,
    provider: &'static str,
    secret_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shop: Option<&'a str>,
}

fn verify(args: &VerifyArgs, globals: &Globals) -> Result<(), CliError> {
    let req = &args.common;
    let secrets = secrets(req)?;
    let headers = parse_headers(&args.headers)?;
    let body = body(req)?;
    let mut request = webhook::Request::new(&secrets, &body).method(&req.method);
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    if let Some(url) = &req.url {
        request = request.url(url);
    }
    if let Some(query) = &req.query {
        request = request.query(query);
    }
    if let Some(key) = &req.api_key {
        request = request.audience(key);
    }
    if let Some(t) = args.tolerance {
        request = request.tolerance(t);
    }
    if args.lenient {
        request = request.canonicalization(shopify::Canonicalization::Lenient);
    }
    let verified = webhook::verify(req.provider, &request, now(req)).map_err(|e| {
        let hint = match &e {
            WebhookError::Config(_) => Some(config_hint(req.provider)),
            _ => None,
        };
        let e = CliError::from(e);
        match hint {
            Some(h) => e.hint(h),
            None => e,
        }
    })?;
    let report = VerifyReport {
        verdict: "valid",
        reason: "VALID",
        provider: verified.scheme.name(),
        secret_index: verified.secret_index,
        timestamp: verified.timestamp,
        delivery_id: verified.delivery_id.as_deref(),
        shop: verified.shop.as_deref(),
    };
    globals.out.success(&report, || human_valid(&verified));
    Ok(())
}

/// Which flag supplies what a scheme signs, for a `WEBHOOK_CONFIG` error.
fn config_hint(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::HubSpotV2 | Scheme::HubSpotV3 => "pass --url with the full URL HubSpot called",
        Scheme::ShopifyOAuth | Scheme::ShopifyAppProxy => "pass --query with the raw query string",
        Scheme::ShopifySessionToken => "pass --api-key with the app's API key",
        _ => "check the secrets: --secret-env NAME or --secret-file PATH",
    }
}

fn human_valid(v: &Verified) -> String {
    let mut line = format!("valid: {} delivery", v.scheme);
    if v.secret_index > 0 {
        line.push_str(&format!(
            " (signed with previous secret #{}: the sender has not switched to the current one yet)",
            v.secret_index
        ));
    }
    if let Some(t) = v.timestamp {
        line.push_str(&format!(", timestamp {t}"));
    }
    if let Some(id) = &v.delivery_id {
        line.push_str(&format!(", delivery id {id}"));
    }
    if let Some(shop) = &v.shop {
        line.push_str(&format!(", shop {shop}"));
    }
    line
}

#[derive(Serialize)]
struct SignReport {
    provider: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
}

fn sign(args: &SignArgs, globals: &Globals) -> Result<(), CliError> {
    let req = &args.common;
    let secrets = secrets(req)?;
    let body = body(req)?;
    let mut outgoing = webhook::Outgoing::new(&secrets, &body).method(&req.method);
    if let Some(url) = &req.url {
        outgoing = outgoing.url(url);
    }
    if let Some(query) = &req.query {
        outgoing = outgoing.query(query);
    }
    if let Some(key) = &req.api_key {
        outgoing = outgoing.audience(key);
    }
    if let Some(id) = &args.id {
        outgoing = outgoing.id(id);
    }
    if let Some(shop) = &args.shop {
        outgoing = outgoing.shop(shop);
    }
    // trust-core's one signing dispatcher, the mirror of `webhook::verify`: the C ABI and the
    // packages sign through it too.
    let signed = webhook::sign(req.provider, &outgoing, now(req)).map_err(|e| {
        let hint = match &e {
            WebhookError::Config(_) => Some(sign_config_hint(req.provider)),
            _ => None,
        };
        let e = CliError::from(e);
        match hint {
            Some(h) => e.hint(h),
            None => e,
        }
    })?;
    let report = SignReport {
        provider: req.provider.name(),
        headers: signed
            .headers()
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .collect(),
        query: signed.query().map(str::to_owned),
    };
    globals.out.success(&report, || match &report.query {
        Some(q) => q.clone(),
        None => report
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect::<Vec<_>>()
            .join("\n"),
    });
    Ok(())
}

/// Which flag supplies what a scheme signs, for a `WEBHOOK_CONFIG` error of `sign`.
fn sign_config_hint(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::ShopifySessionToken => {
            "pass --api-key with the app's API key and --shop with the shop domain"
        }
        _ => config_hint(scheme),
    }
}
