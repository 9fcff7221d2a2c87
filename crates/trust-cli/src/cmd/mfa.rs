//! `trust mfa …`: TOTP second factors for operators, and the second-factor gate on destructive
//! commands (`keys destroy`, `gdpr erase`, `secrets delete`).
//!
//! State lives under the home: factors in `mfa/users/`, the gate setting in `mfa/policy.json`;
//! TOTP secrets are sealed under the keyring `mfa` (created on first enrollment).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use trust_core::clock::{SystemClock, from_unix_seconds};
use trust_core::durable;
use trust_core::error::Category;
use trust_core::event::{Event, EventSink, NoSink};
use trust_core::keyring::{Home, KeyringError, Policy};
use trust_core::mfa::{self, Algorithm, EnrollOptions, Mfa, TotpParams};
use trust_core::provider::{KeyError, Suite};
use trust_postgres::PgMfaStore;

use crate::Globals;
use crate::cmd::home::{UnlockArgs, audit_sink, home_dir, open_home};
use crate::cmd::store;
use crate::exit::CliError;
use crate::input::{self, SecretSource};

/// The keyring TOTP secrets are sealed under.
const MFA_KEYRING: &str = "mfa";
const POLICY_FILE: &str = "policy.json";

#[derive(Debug, clap::Subcommand)]
pub(crate) enum MfaCommand {
    /// Enroll a TOTP second factor and print its otpauth:// URI (and a QR code on a terminal).
    ///
    /// Example: trust mfa enroll ops@acme.example --algorithm sha1 --digits 6
    Enroll(EnrollArgs),
    /// Check a code (exit 0 accepted; exit 1 wrong, expired or already used).
    ///
    /// Example: printf '%s' 492039 | trust mfa verify ops@acme.example --code-file -
    Verify(VerifyArgs),
    /// Issue new single-use recovery codes (replacing the old ones); shown once.
    ///
    /// Example: trust mfa recovery-codes ops@acme.example
    RecoveryCodes(UserArgs),
    /// Remove every factor and recovery code of a user.
    ///
    /// Example: trust mfa remove ops@acme.example --yes
    Remove(RemoveArgs),
    /// Require (on) or stop requiring (off) a second factor for destructive commands:
    /// keys destroy, gdpr erase, secrets delete.
    ///
    /// Example: trust mfa require on
    Require(RequireArgs),
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: trust mfa enroll ops@acme.example --digits 6 --algorithm sha1\n\nThe URI holds the secret: scan it once, do not store it."
)]
pub(crate) struct EnrollArgs {
    /// The user (operator or app user id).
    user: String,
    /// The device, for users with several authenticators.
    #[arg(long, default_value = mfa::DEFAULT_DEVICE, value_name = "NAME")]
    device: String,
    /// Use this base32 secret (migrating from another system) instead of a new random one.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// Code length.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(6..=8))]
    digits: u8,
    /// HMAC hash.
    #[arg(long, default_value = "sha1", value_parser = ["sha1", "sha256", "sha512"])]
    algorithm: String,
    /// Issuer shown in the authenticator app.
    #[arg(long, default_value = "trust", value_name = "NAME")]
    issuer: String,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: printf '%s' 492039 | trust mfa verify ops@acme.example --code-file -"
)]
pub(crate) struct VerifyArgs {
    /// The user.
    user: String,
    /// The device.
    #[arg(long, default_value = mfa::DEFAULT_DEVICE, value_name = "NAME")]
    device: String,
    /// Read the code from this file (- for stdin); default: prompt on a terminal, else stdin.
    #[arg(long, value_name = "FILE")]
    code_file: Option<PathBuf>,
    /// The code is a recovery code (spent on use) instead of a TOTP code.
    #[arg(long)]
    recovery: bool,
    /// Verify as of this time (Unix seconds) instead of now.
    #[arg(long, value_name = "UNIX_SECONDS", allow_negative_numbers = true)]
    now: Option<i64>,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust mfa recovery-codes ops@acme.example")]
pub(crate) struct UserArgs {
    /// The user.
    user: String,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust mfa remove ops@acme.example --yes")]
pub(crate) struct RemoveArgs {
    /// The user.
    user: String,
    /// Confirm the removal (required off a terminal).
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    gate: MfaGate,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: trust mfa require on\n         trust mfa require off --mfa-user ops@acme.example --mfa-code-file -"
)]
pub(crate) struct RequireArgs {
    /// on or off.
    #[arg(value_parser = ["on", "off"])]
    state: String,
    #[command(flatten)]
    gate: MfaGate,
    #[command(flatten)]
    unlock: UnlockArgs,
}

/// The second factor a destructive command takes when the home requires one.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct MfaGate {
    /// The operator proving a second factor (required when the home requires MFA).
    #[arg(long, value_name = "USER", requires = "mfa_code_file")]
    pub(crate) mfa_user: Option<String>,
    /// Read the operator's TOTP code from this file (- for stdin).
    #[arg(long, value_name = "FILE", requires = "mfa_user")]
    pub(crate) mfa_code_file: Option<PathBuf>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    format: String,
    format_version: u32,
    require_for_destructive: bool,
}

fn mfa_dir(globals: &Globals) -> Result<PathBuf, CliError> {
    Ok(home_dir(globals)?.join("mfa"))
}

fn policy_path(globals: &Globals) -> Result<PathBuf, CliError> {
    Ok(mfa_dir(globals)?.join(POLICY_FILE))
}

/// Whether the home requires a second factor for destructive commands.
fn required(globals: &Globals) -> Result<bool, CliError> {
    if let Some(db) = store::store_db(globals)? {
        return Ok(PgMfaStore::new(db).require_for_destructive()?);
    }
    let path = policy_path(globals)?;
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(CliError::io("the MFA policy", &path, &e)),
    };
    let policy: PolicyFile = serde_json::from_slice(&bytes)
        .ok()
        .filter(|p: &PolicyFile| p.format == "trust-mfa-policy" && p.format_version == 1)
        .ok_or_else(|| {
            // A policy that does not parse fails closed: treat it as an error, not as "off".
            CliError::new(
                Category::Verification,
                "MFA_POLICY_CORRUPT",
                format!("the MFA policy {} does not parse", path.display()),
            )
        })?;
    Ok(policy.require_for_destructive)
}

/// Makes sure `keyring` exists (created with the default policy on first use), so that the
/// first `mfa enroll` or `secrets put` on a fresh home just works.
pub(crate) fn ensure_keyring(home: &Home, keyring: &str) -> Result<(), CliError> {
    match home.keyring(keyring) {
        Ok(_) => Ok(()),
        Err(KeyringError::Key(KeyError::UnknownKeyring { .. })) => {
            match home.create_keyring(keyring, Suite::Aes256Gcm, Policy::default()) {
                Ok(_) | Err(KeyringError::AlreadyExists { .. }) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn sink(globals: &Globals) -> Result<Arc<dyn EventSink>, CliError> {
    Ok(audit_sink(globals)?.unwrap_or_else(|| Arc::new(NoSink)))
}

fn service(globals: &Globals, home: Arc<Home>) -> Result<Mfa, CliError> {
    let store = store::home_location(globals)?.mfa_store();
    Ok(Mfa::new(store, home, MFA_KEYRING).with_sink(sink(globals)?))
}

/// Reads a code: from the file, else a no-echo prompt on a terminal, else stdin.
fn read_code(what: &str, flag: &str, file: Option<&Path>) -> Result<String, CliError> {
    let file = file.or_else(|| (!std::io::stdin().is_terminal()).then_some(Path::new("-")));
    let secret = input::read_secret(what, flag, SecretSource { file, env: None }, true)?;
    String::from_utf8(secret.expose_secret().to_vec()).map_err(|_| {
        CliError::new(
            Category::Verification,
            "MFA_REJECTED",
            "the code was rejected (wrong, expired or already used)",
        )
    })
}

/// The gate: when the home requires a second factor, checks `--mfa-user`/`--mfa-code-file`
/// and records the outcome for `action` in the audit log. A code given when none is required
/// is checked all the same (a wrong code is never silently ignored).
pub(crate) fn second_factor(
    globals: &Globals,
    gate: &MfaGate,
    unlock: &UnlockArgs,
    action: &str,
) -> Result<(), CliError> {
    let required = required(globals)?;
    let (Some(user), Some(file)) = (&gate.mfa_user, &gate.mfa_code_file) else {
        if required {
            return Err(CliError::new(
                Category::Refused,
                "MFA_REQUIRED",
                format!("this home requires a second factor for {action}"),
            )
            .hint("pass --mfa-user USER --mfa-code-file FILE (- for stdin)"));
        }
        return Ok(());
    };
    let code = read_code("MFA code", "mfa-code", Some(file))?;
    let home = Arc::new(open_home(globals, unlock)?);
    let service = service(globals, home)?;
    let outcome = service.verify(user, mfa::DEFAULT_DEVICE, &code);
    let event = Event::new(
        "mfa.second_factor",
        trust_core::clock::Clock::now(&SystemClock),
    )
    .actor(user.clone())
    .attr("action", action)
    .attr(
        "outcome",
        if outcome.is_ok() {
            "accepted"
        } else {
            "rejected"
        },
    );
    sink(globals)?.record(&event)?;
    outcome?;
    Ok(())
}

pub(crate) fn run(cmd: &MfaCommand, globals: &Globals) -> Result<(), CliError> {
    match cmd {
        MfaCommand::Enroll(a) => enroll(a, globals),
        MfaCommand::Verify(a) => verify(a, globals),
        MfaCommand::RecoveryCodes(a) => recovery_codes(a, globals),
        MfaCommand::Remove(a) => remove(a, globals),
        MfaCommand::Require(a) => require(a, globals),
    }
}

#[derive(Serialize)]
struct Enrolled<'a> {
    user: &'a str,
    device: &'a str,
    uri: &'a str,
    algorithm: &'static str,
    digits: u8,
    period: u32,
}

fn enroll(a: &EnrollArgs, globals: &Globals) -> Result<(), CliError> {
    let secret = match &a.secret_file {
        Some(path) => {
            let text = input::read_secret(
                "TOTP secret",
                "secret",
                SecretSource {
                    file: Some(path),
                    env: None,
                },
                false,
            )?;
            let text = std::str::from_utf8(text.expose_secret()).map_err(|_| {
                CliError::from(mfa::MfaError::InvalidSecret(
                    "the secret is not base32 (A-Z, 2-7)",
                ))
            })?;
            Some(mfa::base32_decode(text)?)
        }
        None => None,
    };
    let algorithm = Algorithm::parse(&a.algorithm)
        .ok_or_else(|| CliError::usage("--algorithm must be sha1, sha256 or sha512"))?;
    if !matches!(a.digits, 6 | 8) {
        return Err(CliError::usage("--digits must be 6 or 8"));
    }
    let params = TotpParams::new(algorithm, a.digits, 30);
    let home = Arc::new(open_home(globals, &a.unlock)?);
    ensure_keyring(&home, MFA_KEYRING)?;
    let service = service(globals, home)?.with_issuer(a.issuer.clone());
    let enrollment = {
        let mut options = EnrollOptions::default();
        options.params = params;
        options.secret = secret;
        service.enroll(&a.user, &a.device, options)?
    };
    let uri = enrollment.uri.expose_secret();
    let data = Enrolled {
        user: &a.user,
        device: &a.device,
        uri,
        algorithm: algorithm.name(),
        digits: a.digits,
        period: params.period,
    };
    globals.out.success(&data, || {
        let mut text = String::new();
        if std::io::stdout().is_terminal() {
            text.push_str(&qr(uri));
            text.push('\n');
        }
        text.push_str(uri);
        text.push_str(&format!(
            "\nenrolled {} ({}); scan the code or add the URI to an authenticator app, then check it with `trust mfa verify`",
            a.user, a.device
        ));
        text
    });
    Ok(())
}

/// The URI as a QR code in unicode half blocks (light modules drawn dark, for dark terminals
/// and light ones alike the quiet zone keeps it scannable).
fn qr(uri: &str) -> String {
    use qrcode::render::unicode::Dense1x2;
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .build(),
        Err(_) => String::new(),
    }
}

#[derive(Serialize)]
struct Verified<'a> {
    user: &'a str,
    device: &'a str,
    accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_codes_left: Option<usize>,
}

fn verify(a: &VerifyArgs, globals: &Globals) -> Result<(), CliError> {
    let code = read_code(
        if a.recovery { "recovery code" } else { "code" },
        "code",
        a.code_file.as_deref(),
    )?;
    let home = Arc::new(open_home(globals, &a.unlock)?);
    let service = service(globals, home)?;
    let data = if a.recovery {
        service.redeem_recovery_code(&a.user, &code)?;
        Verified {
            user: &a.user,
            device: &a.device,
            accepted: true,
            step: None,
            recovery_codes_left: Some(service.remaining_recovery_codes(&a.user)?),
        }
    } else {
        let now = a.now.map_or_else(
            || trust_core::clock::Clock::now(&SystemClock),
            from_unix_seconds,
        );
        let step = service.verify_at(&a.user, &a.device, &code, now)?;
        Verified {
            user: &a.user,
            device: &a.device,
            accepted: true,
            step: Some(step),
            recovery_codes_left: None,
        }
    };
    globals
        .out
        .success(&data, || match data.recovery_codes_left {
            Some(left) => format!("recovery code accepted for {}; {left} left", a.user),
            None => format!("code accepted for {} ({})", a.user, a.device),
        });
    Ok(())
}

fn recovery_codes(a: &UserArgs, globals: &Globals) -> Result<(), CliError> {
    let home = Arc::new(open_home(globals, &a.unlock)?);
    let service = service(globals, home)?;
    let codes = service.new_recovery_codes(&a.user)?;
    let shown: Vec<&str> = codes.iter().map(|c| c.expose_secret()).collect();
    globals.out.success(
        &serde_json::json!({ "user": a.user, "codes": shown }),
        || {
            format!(
                "{}\n{} recovery codes for {}: each works once; the previous ones no longer work. Store them offline.",
                shown.join("\n"),
                shown.len(),
                a.user
            )
        },
    );
    Ok(())
}

fn remove(a: &RemoveArgs, globals: &Globals) -> Result<(), CliError> {
    input::confirm(
        a.yes,
        &format!(
            "remove every second factor and recovery code of {}?",
            a.user
        ),
    )?;
    second_factor(globals, &a.gate, &a.unlock, "mfa remove")?;
    let home = Arc::new(open_home(globals, &a.unlock)?);
    let service = service(globals, home)?;
    if !service.remove(&a.user)? {
        return Err(mfa::MfaError::NotEnrolled.into());
    }
    globals.out.success(
        &serde_json::json!({ "user": a.user, "removed": true }),
        || format!("removed the second factors of {}", a.user),
    );
    Ok(())
}

fn require(a: &RequireArgs, globals: &Globals) -> Result<(), CliError> {
    let on = a.state == "on";
    let db = store::store_db(globals)?;
    if on {
        let any = match &db {
            Some(db) => PgMfaStore::new(db.clone()).any_enrolled()?,
            None => std::fs::read_dir(mfa_dir(globals)?.join("users"))
                .map(|d| {
                    d.filter_map(Result::ok)
                        .any(|e| e.file_name().to_string_lossy().ends_with(".json"))
                })
                .unwrap_or(false),
        };
        if !any {
            return Err(CliError::usage("no operator has a second factor yet")
                .hint("enroll one first with `trust mfa enroll USER`, or destructive commands could not run"));
        }
        // Opening the home proves the caller may change it.
        open_home(globals, &a.unlock)?;
    } else {
        // Turning the gate off is itself gated.
        second_factor(globals, &a.gate, &a.unlock, "mfa require off")?;
    }
    match &db {
        Some(db) => PgMfaStore::new(db.clone()).set_require_for_destructive(on)?,
        None => write_policy(globals, on)?,
    }
    let mut event = Event::new("mfa.policy", trust_core::clock::Clock::now(&SystemClock))
        .attr("require_for_destructive", on);
    if let Some(actor) = &globals.actor {
        event = event.actor(actor.clone());
    }
    sink(globals)?.record(&event)?;
    globals.out.success(
        &serde_json::json!({ "require_for_destructive": on }),
        || {
            if on {
                "a second factor is now required for keys destroy, gdpr erase and secrets delete"
                    .into()
            } else {
                "a second factor is no longer required for destructive commands".into()
            }
        },
    );
    Ok(())
}

/// Writes the local home's `mfa/policy.json` atomically.
fn write_policy(globals: &Globals, on: bool) -> Result<(), CliError> {
    let dir = mfa_dir(globals)?;
    durable::create_private_dir(&dir).map_err(|e| CliError::write("directory", &dir, &e))?;
    let policy = PolicyFile {
        format: "trust-mfa-policy".into(),
        format_version: 1,
        require_for_destructive: on,
    };
    let mut bytes = serde_json::to_vec_pretty(&policy)
        .map_err(|_| CliError::new(Category::Internal, "INTERNAL", "unserializable policy"))?;
    bytes.push(b'\n');
    let path = policy_path(globals)?;
    durable::write_atomic(&path, &bytes).map_err(|e| CliError::write("the MFA policy", &path, &e))
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_codes_are_drawn_with_half_blocks() {
        let drawn = super::qr("otpauth://totp/trust:ops?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(drawn.lines().count() > 10, "{drawn}");
        assert!(
            drawn.contains('\u{2580}') || drawn.contains('\u{2584}') || drawn.contains('\u{2588}')
        );
    }
}
