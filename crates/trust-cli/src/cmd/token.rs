//! `trust token issue|verify`: scoped session tokens MAC'd with a keyring of the home.
//!
//! Issuing uses the keyring's Primary version; verifying uses the version the token names, so
//! `trust keys rotate --promote` does not invalidate tokens already handed out, and `trust keys
//! retire` revokes every token of that version. Logic lives in `trust_core::token`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use trust_core::clock::{Clock, FixedClock, SystemClock, rfc3339};
use trust_core::token::{Claims, Expect, TokenRequest, Tokens};

use crate::Globals;
use crate::cmd::home::{UnlockArgs, open_home};
use crate::exit::CliError;
use crate::input;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum TokenCommand {
    /// Issue a short-lived token for one tenant and one or more scopes, MAC'd with the Primary
    /// version of keyring --key (create it first with `trust keys create tokens`).
    ///
    /// Example: trust token issue --tenant acme --scope chat:write --ttl 15m --audience chat-widget
    Issue(IssueArgs),
    /// Verify a token read from stdin (or --token-file): MAC, key version, time, and the
    /// tenant, scope and audience given. Exit 0 valid, 1 invalid/expired/other tenant, 4 key
    /// version unavailable.
    ///
    /// Example: echo "$TOKEN" | trust token verify --tenant acme --scope chat:write --audience chat-widget
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct IssueArgs {
    /// The tenant the token acts for.
    #[arg(long)]
    tenant: String,
    /// A scope the token carries (repeat for several).
    #[arg(long = "scope", value_name = "SCOPE", required = true)]
    scopes: Vec<String>,
    /// Lifetime: a number with s, m or h (at most 24h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    ttl: Duration,
    /// Who the token is for (a widget, a service); verifiers must then expect it.
    #[arg(long)]
    audience: Option<String>,
    /// The keyring whose key MACs the token.
    #[arg(long, value_name = "NAME", default_value = "tokens")]
    key: String,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// Require this tenant (omit only to inspect a token).
    #[arg(long)]
    tenant: Option<String>,
    /// Require this scope.
    #[arg(long)]
    scope: Option<String>,
    /// Require this audience (a token with an audience needs it).
    #[arg(long)]
    audience: Option<String>,
    /// Clock skew tolerated on expiry and not-before (at most 5m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    leeway: Duration,
    /// Check as of this Unix time instead of now (e.g. when investigating an incident).
    #[arg(long, value_name = "UNIX_SECONDS")]
    at: Option<i64>,
    /// Read the token from this file instead of stdin (- for stdin).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    #[command(flatten)]
    unlock: UnlockArgs,
}

/// `30s`, `15m`, `2h`: a whole number with a unit.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30s, 15m or 2h"))?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => None,
    }
    .ok_or_else(|| format!("{s:?} is not a duration like 30s, 15m or 2h"))?;
    Ok(Duration::from_secs(secs))
}

pub(crate) fn run(cmd: &TokenCommand, globals: &Globals) -> Result<(), CliError> {
    match cmd {
        TokenCommand::Issue(a) => issue(a, globals),
        TokenCommand::Verify(a) => verify(a, globals),
    }
}

fn issue(a: &IssueArgs, globals: &Globals) -> Result<(), CliError> {
    let home = open_home(globals, &a.unlock)?;
    let tokens = Tokens::new(home);
    let mut request = TokenRequest::new(&a.tenant, &a.scopes, a.ttl);
    if let Some(aud) = &a.audience {
        request = request.audience(aud);
    }
    let clock = SystemClock;
    let token = tokens.issue(&a.key, &request, &clock)?;
    #[derive(Serialize)]
    struct Out<'a> {
        token: &'a str,
        expires_at: String,
    }
    let ttl = i64::try_from(a.ttl.as_secs()).unwrap_or(i64::MAX);
    let out = Out {
        token: token.expose(),
        expires_at: rfc3339(clock.now_unix().saturating_add(ttl)),
    };
    globals.out.success(&out, || token.expose().to_owned());
    Ok(())
}

fn verify(a: &VerifyArgs, globals: &Globals) -> Result<(), CliError> {
    let raw = zeroize::Zeroizing::new(input::read_all(
        "token",
        a.token_file.as_deref(),
        trust_core::token::MAX_TOKEN_LEN as u64 + 2,
    )?);
    let text = std::str::from_utf8(&raw)
        .map_err(|_| CliError::usage("the token is not text"))?
        .trim();
    let mut expect = match (&a.tenant, &a.scope) {
        (Some(t), Some(s)) => Expect::new(t, s),
        (None, None) => Expect::any_tenant_any_scope(),
        _ => {
            return Err(CliError::usage("give --tenant and --scope together")
                .hint("omit both only to inspect a token"));
        }
    };
    if let Some(aud) = &a.audience {
        expect = expect.audience(aud);
    }
    expect = expect.leeway(a.leeway);
    let home = open_home(globals, &a.unlock)?;
    let tokens = Tokens::new(home);
    let claims = match a.at {
        Some(at) => tokens.verify(text, &expect, &FixedClock::at_unix(at))?,
        None => tokens.verify(text, &expect, &SystemClock)?,
    };
    globals.out.success(&ClaimsOut::from(&claims), || {
        format!(
            "valid: tenant {} scopes {} audience {} expires {} (key {})",
            claims.tenant,
            claims.scopes.join(","),
            claims.audience.as_deref().unwrap_or("-"),
            rfc3339(claims.expires_at),
            claims.key_ref
        )
    });
    Ok(())
}

#[derive(Serialize)]
struct ClaimsOut<'a> {
    tenant: &'a str,
    scopes: &'a [String],
    audience: Option<&'a str>,
    issued_at: String,
    not_before: String,
    expires_at: String,
    id: &'a str,
    keyring: &'a str,
    version: u32,
}

impl<'a> From<&'a Claims> for ClaimsOut<'a> {
    fn from(c: &'a Claims) -> Self {
        Self {
            tenant: &c.tenant,
            scopes: &c.scopes,
            audience: c.audience.as_deref(),
            issued_at: rfc3339(c.issued_at),
            not_before: rfc3339(c.not_before),
            expires_at: rfc3339(c.expires_at),
            id: &c.id,
            keyring: &c.key_ref.keyring,
            version: c.key_ref.version,
        }
    }
}
