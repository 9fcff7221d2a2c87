//! `trust webhook verify|sign`: check a delivery the way an endpoint would, or produce the
//! headers a sender attaches. All logic is in `trust_core::webhook`; this module maps flags to
//! it.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use trust_core::clock::{Clock, SystemClock};
use trust_core::secret::{ExposeSecret, SecretBytes};
use trust_core::webhook::{
    self, SecretSet, Verified, WebhookError, Window, github, hubspot, shopify, slack, standard,
    stripe,
};

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

Prints the header lines a sender attaches (for shopify-oauth and shopify-app-proxy: the signed
query string). Several secrets give several signatures where the scheme allows it (Stripe,
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

/// A provider / scheme name on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Provider {
    Shopify,
    ShopifyOauth,
    ShopifyAppProxy,
    ShopifySessionToken,
    Stripe,
    HubspotV1,
    HubspotV2,
    HubspotV3,
    StandardWebhooks,
    Github,
    Slack,
}

impl Provider {
    fn takes_body(self) -> bool {
        !matches!(
            self,
            Self::ShopifyOauth | Self::ShopifyAppProxy | Self::ShopifySessionToken
        )
    }
}

#[derive(Debug, Args)]
struct RequestArgs {
    /// The signature scheme.
    #[arg(long, value_enum)]
    provider: Provider,

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

/// `trust webhook verify`: the request flags, and what only verifying needs. (Split from
/// [`SignArgs`] so that each subcommand's --help lists only its own options.)
#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    req: RequestArgs,

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

/// `trust webhook sign`: the request flags, and what only signing needs.
#[derive(Debug, Args)]
struct SignArgs {
    #[command(flatten)]
    req: RequestArgs,

    /// standard-webhooks: the webhook-id (default: random msg_…).
    #[arg(long, value_name = "ID")]
    id: Option<String>,

    /// shopify-session-token: the shop domain the token is for.
    #[arg(long, value_name = "DOMAIN")]
    shop: Option<String>,
}

impl std::ops::Deref for VerifyArgs {
    type Target = RequestArgs;
    fn deref(&self) -> &RequestArgs {
        &self.req
    }
}

impl std::ops::Deref for SignArgs {
    type Target = RequestArgs;
    fn deref(&self) -> &RequestArgs {
        &self.req
    }
}

pub(crate) fn run(args: WebhookArgs, globals: &Globals) -> Result<(), CliError> {
    match args.command {
        WebhookCommand::Verify(req) => verify(&req, globals),
        WebhookCommand::Sign(req) => sign(&req, globals),
    }
}

fn secrets(req: &RequestArgs) -> Result<SecretSet, CliError> {
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

fn body(req: &RequestArgs) -> Result<Vec<u8>, CliError> {
    if !req.provider.takes_body() {
        return Ok(Vec::new());
    }
    input::read_all("the body", req.body_file.as_deref(), BODY_LIMIT)
}

fn need<'a>(value: Option<&'a str>, flag: &str, provider: &str) -> Result<&'a str, CliError> {
    value.ok_or_else(|| CliError::usage(format!("--provider {provider} needs {flag}")))
}

fn now(req: &RequestArgs) -> i64 {
    req.now.unwrap_or_else(|| SystemClock.now_unix())
}

fn window(req: &VerifyArgs, default: u64) -> Window {
    Window::symmetric(req.tolerance.unwrap_or(default))
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

fn verify(req: &VerifyArgs, globals: &Globals) -> Result<(), CliError> {
    let secrets = secrets(req)?;
    let headers = parse_headers(&req.headers)?;
    let body = body(req)?;
    let now = now(req);
    let verified = verify_with(req, secrets, &headers, &body, now)?;
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

fn verify_with(
    req: &VerifyArgs,
    secrets: SecretSet,
    headers: &[(String, String)],
    body: &[u8],
    now: i64,
) -> Result<Verified, CliError> {
    let name = provider_name(req.provider);
    let result: Result<Verified, WebhookError> = match req.provider {
        Provider::Shopify => shopify::WebhookVerifier::new(secrets).verify(headers, body),
        Provider::ShopifyOauth => {
            let query = need(req.query.as_deref(), "--query", name)?;
            let canon = if req.lenient {
                shopify::Canonicalization::Lenient
            } else {
                shopify::Canonicalization::Documented
            };
            shopify::OAuthVerifier::new(secrets)
                .with_window(window(req, shopify::DEFAULT_QUERY_TOLERANCE))
                .with_canonicalization(canon)
                .verify_query(query, now)
        }
        Provider::ShopifyAppProxy => {
            let query = need(req.query.as_deref(), "--query", name)?;
            shopify::AppProxyVerifier::new(secrets)
                .with_window(window(req, shopify::DEFAULT_QUERY_TOLERANCE))
                .verify_query(query, now)
        }
        Provider::ShopifySessionToken => {
            let api_key = need(req.api_key.as_deref(), "--api-key", name)?;
            shopify::SessionTokenVerifier::new(secrets, api_key)
                .with_leeway(req.tolerance.unwrap_or(shopify::DEFAULT_LEEWAY))
                .verify_headers(headers, now)
                .map(|t| t.verified)
        }
        Provider::Stripe => stripe::Verifier::new(secrets)
            .with_window(window(req, webhook::DEFAULT_TOLERANCE))
            .verify(headers, body, now),
        Provider::HubspotV1 => hubspot::Verifier::new(secrets).verify_v1(headers, body),
        Provider::HubspotV2 => {
            let url = need(req.url.as_deref(), "--url", name)?;
            hubspot::Verifier::new(secrets).verify_v2(headers, &req.method, url, body)
        }
        Provider::HubspotV3 => {
            let url = need(req.url.as_deref(), "--url", name)?;
            hubspot::Verifier::new(secrets)
                .with_window(window(req, webhook::DEFAULT_TOLERANCE))
                .verify_v3(headers, &req.method, url, body, now)
        }
        Provider::StandardWebhooks => standard::Verifier::new(&secrets).and_then(|v| {
            v.with_window(window(req, webhook::DEFAULT_TOLERANCE))
                .verify(headers, body, now)
        }),
        Provider::Github => github::Verifier::new(secrets).verify(headers, body),
        Provider::Slack => slack::Verifier::new(secrets)
            .with_window(window(req, webhook::DEFAULT_TOLERANCE))
            .verify(headers, body, now),
    };
    result.map_err(CliError::from)
}

fn provider_name(p: Provider) -> &'static str {
    use trust_core::webhook::Scheme;
    let scheme = match p {
        Provider::Shopify => Scheme::ShopifyWebhook,
        Provider::ShopifyOauth => Scheme::ShopifyOAuth,
        Provider::ShopifyAppProxy => Scheme::ShopifyAppProxy,
        Provider::ShopifySessionToken => Scheme::ShopifySessionToken,
        Provider::Stripe => Scheme::Stripe,
        Provider::HubspotV1 => Scheme::HubSpotV1,
        Provider::HubspotV2 => Scheme::HubSpotV2,
        Provider::HubspotV3 => Scheme::HubSpotV3,
        Provider::StandardWebhooks => Scheme::StandardWebhooks,
        Provider::Github => Scheme::GitHub,
        Provider::Slack => Scheme::Slack,
    };
    scheme.name()
}

#[derive(Serialize)]
struct SignReport {
    provider: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
}

fn sign(req: &SignArgs, globals: &Globals) -> Result<(), CliError> {
    let secrets = secrets(req)?;
    let body = body(req)?;
    let now = now(req);
    let name = provider_name(req.provider);
    let current = secrets.current().expose_secret();
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut query = None;
    let mut add = |n: &str, v: String| headers.push((n.to_owned(), v));
    match req.provider {
        Provider::Shopify => add(shopify::HMAC_HEADER, shopify::sign_webhook(current, &body)),
        Provider::ShopifyOauth => {
            let q = need(req.query.as_deref(), "--query", name)?;
            query = Some(shopify::sign_oauth_query(&secrets, q)?);
        }
        Provider::ShopifyAppProxy => {
            let q = need(req.query.as_deref(), "--query", name)?;
            query = Some(shopify::sign_app_proxy_query(&secrets, q)?);
        }
        Provider::ShopifySessionToken => {
            let api_key = need(req.api_key.as_deref(), "--api-key", name)?;
            let shop = need(req.shop.as_deref(), "--shop", name)?;
            let shop = shopify::validate_shop_domain(shop, shopify::ShopDomainMode::Strict)?;
            let jti = random_id("")?;
            let claims = shopify::SessionClaims {
                shop: &shop,
                api_key,
                user_id: "1",
                issued_at: now,
                lifetime: 60,
                token_id: &jti,
                session_id: &jti,
            };
            add(
                "Authorization",
                format!("Bearer {}", shopify::sign_session_token(&secrets, &claims)),
            );
        }
        Provider::Stripe => add(stripe::HEADER, stripe::sign_header(&secrets, &body, now)),
        Provider::HubspotV1 => {
            add(hubspot::VERSION_HEADER, "v1".to_owned());
            add(hubspot::HEADER_V1_V2, hubspot::sign_v1(current, &body));
        }
        Provider::HubspotV2 => {
            let url = need(req.url.as_deref(), "--url", name)?;
            add(hubspot::VERSION_HEADER, "v2".to_owned());
            add(
                hubspot::HEADER_V1_V2,
                hubspot::sign_v2(current, &req.method, url, &body),
            );
        }
        Provider::HubspotV3 => {
            let url = need(req.url.as_deref(), "--url", name)?;
            let ms = now.saturating_mul(1000);
            add(
                hubspot::HEADER_V3,
                hubspot::sign_v3(current, &req.method, url, &body, ms),
            );
            add(hubspot::TIMESTAMP_HEADER, ms.to_string());
        }
        Provider::StandardWebhooks => {
            let id = match &req.id {
                Some(id) => id.clone(),
                None => random_id("msg_")?,
            };
            let sig = standard::sign_header(&secrets, &id, now, &body)?;
            add("webhook-id", id);
            add("webhook-timestamp", now.to_string());
            add("webhook-signature", sig);
        }
        Provider::Github => add(github::HEADER, github::sign(current, &body)),
        Provider::Slack => {
            add(slack::TIMESTAMP_HEADER, now.to_string());
            add(slack::HEADER, slack::sign(current, &body, now));
        }
    }
    let report = SignReport {
        provider: name,
        headers,
        query,
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

fn random_id(prefix: &str) -> Result<String, CliError> {
    let bytes: [u8; 16] = trust_core::secret::random_array()?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}{hex}"))
}
