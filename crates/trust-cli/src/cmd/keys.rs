//! `trust keys …`: create, list, configure, rotate, promote, retire, enable and destroy key
//! versions.
//!
//! Thin on purpose: every rule (one Primary, staging time, grace period, the live-ciphertext
//! guard, the minimum versions) is enforced by `trust_core::keyring`; this module parses,
//! confirms and renders.

use serde::Serialize;
use trust_core::keyring::{
    ConfigChange, Destroy, DestroyOutcome, Home, KeyringSummary, Policy, Rollout, RotateIfDue,
    VersionState,
};
use trust_core::provider::{KeyRef, Suite};

use crate::Globals;
use crate::cmd::home::{UnlockArgs, open_home};
use crate::exit::CliError;
use crate::input;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a keyring whose version 1 is Primary at once.
    ///
    /// Example: trust keys create orders --suite aes-256-gcm
    Create(CreateArgs),
    /// List keyrings, or one keyring's versions, states, counters and dates (never key material).
    ///
    /// Example: trust keys list orders
    List(ListArgs),
    /// Add a new version (Staged: every process can decrypt under it); --promote makes it
    /// Primary at once (refused when the keyring has a minimum staging time). With --if-due,
    /// rotate only when the keyring's rotation period has passed or its usage ceiling is
    /// reached (for schedulers: exit 0 either way; the JSON says what happened).
    ///
    /// Example: trust keys rotate --all --if-due --promote
    Rotate(RotateArgs),
    /// Show or change a keyring's configuration: minimum decryption and encryption versions
    /// (as in Vault Transit) and the automatic rotation period.
    ///
    /// Example: trust keys config orders --min-decryption-version 2 --rotation-period 90d
    Config(ConfigArgs),
    /// Make a Staged version Primary (the old Primary becomes decrypt-only).
    ///
    /// Example: trust keys promote orders 2
    Promote(VersionArgs),
    /// Disable a decrypt-only version (reversible with `trust keys enable`).
    ///
    /// Example: trust keys retire orders 1
    Retire(VersionArgs),
    /// Re-enable a disabled version, or cancel its scheduled destruction.
    ///
    /// Example: trust keys enable orders 1
    Enable(VersionArgs),
    /// Destroy a retired version's key material for ever (its tombstone stays). Asks for
    /// confirmation on a terminal; elsewhere needs --yes.
    ///
    /// Example: trust keys destroy orders 1 --yes
    Destroy(DestroyArgs),
    /// Move the home's root key into an HSM (PKCS#11) or AWS KMS: only the keyrings' wrapping
    /// changes, no ciphertext is touched; afterwards the old key file or passphrase no longer
    /// opens the home. Crash-safe: if interrupted, run it again with the same target.
    ///
    /// Example: TRUST_PKCS11_PIN=… trust keys rewrap-root --to-pkcs11 'pkcs11:token=prod;object=trust-root?module-path=/usr/lib/softhsm/libsofthsm2.so' --yes
    ///
    /// Example: AWS_REGION=eu-west-1 trust keys rewrap-root --to-aws-kms alias/trust-prod --yes
    RewrapRoot(crate::cmd::init::RewrapRootArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// Keyring name: 1-64 of a-z 0-9 . _ - (e.g. shop-42.credentials).
    name: String,
    /// AEAD suite for new messages.
    #[arg(long, default_value = "aes-256-gcm", value_parser = ["aes-256-gcm", "xchacha20-poly1305"])]
    suite: String,
    /// Seals per version before sealing is refused until rotation (default 2^32).
    #[arg(long, value_name = "N")]
    max_uses: Option<u64>,
    /// Days after promotion when rotation is due (shown by `trust keys list`).
    #[arg(long, value_name = "DAYS")]
    max_age_days: Option<u64>,
    /// Seconds a rotated version must stay Staged before `promote` accepts it.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    min_stage_secs: u64,
    /// Days between scheduling a destruction and carrying it out (0: at once).
    #[arg(long, value_name = "DAYS", default_value_t = 0)]
    destroy_grace_days: u64,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    /// Show only this keyring.
    name: Option<String>,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RotateArgs {
    /// The keyring.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    name: Option<String>,
    /// Every keyring of the home (needs --if-due).
    #[arg(long, requires = "if_due")]
    all: bool,
    /// Rotate only when due (rotation period passed, or usage ceiling reached); a rollout
    /// already staged is promoted once its staging time is over.
    #[arg(long)]
    if_due: bool,
    /// Make the new version Primary immediately; refused when the keyring has a minimum
    /// staging time (with --if-due, the version is then left staged and promoted by a later
    /// run).
    #[arg(long)]
    promote: bool,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ConfigArgs {
    /// The keyring.
    name: String,
    /// Versions below N refuse to decrypt (exit 4); 0 removes the minimum. At most the
    /// Primary's version.
    #[arg(long, value_name = "N")]
    min_decryption_version: Option<u32>,
    /// Sealing is refused while the Primary is below N; 0 removes the minimum. 0 or at least
    /// the minimum decryption version, at most the latest version.
    #[arg(long, value_name = "N")]
    min_encryption_version: Option<u32>,
    /// Rotation is due this long after promotion (`trust keys rotate --if-due`): a number
    /// with a unit s, m, h or d (e.g. 90d), or `none`.
    #[arg(long, value_name = "DURATION", value_parser = parse_period)]
    rotation_period: Option<Period>,
    #[command(flatten)]
    unlock: UnlockArgs,
}

/// A rotation period from the command line: seconds, or none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Period(Option<u64>);

fn parse_period(s: &str) -> Result<Period, String> {
    if s == "none" {
        return Ok(Period(None));
    }
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 90d, 12h, 30m, 3600s or none"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit {unit:?}: use s, m, h or d")),
    };
    match n.checked_mul(scale) {
        Some(0) => Err("the rotation period must be at least one second (or none)".into()),
        Some(secs) => Ok(Period(Some(secs))),
        None => Err("the rotation period is too long".into()),
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct VersionArgs {
    /// The keyring.
    name: String,
    /// The version number.
    version: u32,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DestroyArgs {
    /// The keyring.
    name: String,
    /// The version number.
    version: u32,
    /// Confirm the destruction (required when not on a terminal).
    #[arg(long)]
    yes: bool,
    /// Destroy even though ciphertexts sealed under it may still exist (recorded as forced,
    /// with --reason, in the audit log).
    #[arg(long)]
    force: bool,
    /// Why the destruction is forced (one line, no secrets): recorded with the event.
    #[arg(long, value_name = "TEXT", requires = "force")]
    reason: Option<String>,
    #[command(flatten)]
    mfa: crate::cmd::mfa::MfaGate,
    #[command(flatten)]
    unlock: UnlockArgs,
}

pub(crate) fn run(cmd: &KeysCommand, globals: &Globals) -> Result<(), CliError> {
    match cmd {
        KeysCommand::Create(a) => create(a, globals),
        KeysCommand::RewrapRoot(a) => crate::cmd::init::rewrap_root(a, globals),
        KeysCommand::List(a) => list(a, globals),
        KeysCommand::Rotate(a) => rotate(a, globals),
        KeysCommand::Config(a) => config(a, globals),
        KeysCommand::Promote(a) => {
            let home = open_home(globals, &a.unlock)?;
            home.promote(&a.key_ref())?;
            changed(&home, &a.name, globals, || {
                format!("{} v{} is now primary", a.name, a.version)
            })
        }
        KeysCommand::Retire(a) => {
            let home = open_home(globals, &a.unlock)?;
            home.retire(&a.key_ref())?;
            changed(&home, &a.name, globals, || {
                format!(
                    "{} v{} is disabled: it no longer decrypts (undo with `trust keys enable {} {}`)",
                    a.name, a.version, a.name, a.version
                )
            })
        }
        KeysCommand::Enable(a) => {
            let home = open_home(globals, &a.unlock)?;
            home.enable(&a.key_ref())?;
            changed(&home, &a.name, globals, || {
                format!("{} v{} decrypts again (decrypt-only)", a.name, a.version)
            })
        }
        KeysCommand::Destroy(a) => destroy(a, globals),
    }
}

impl VersionArgs {
    fn key_ref(&self) -> KeyRef {
        KeyRef::new(self.name.clone(), self.version)
    }
}

fn changed(
    home: &Home,
    name: &str,
    globals: &Globals,
    human: impl FnOnce() -> String,
) -> Result<(), CliError> {
    let summary = home.summary(name)?;
    globals.out.success(&summary, human);
    Ok(())
}

fn create(a: &CreateArgs, globals: &Globals) -> Result<(), CliError> {
    let suite: Suite = a.suite.parse()?;
    let mut policy = Policy::default();
    policy.max_uses = a.max_uses.unwrap_or(Policy::DEFAULT_MAX_USES);
    policy.max_age_secs = a.max_age_days.map(|d| d.saturating_mul(86_400));
    policy.min_stage_secs = a.min_stage_secs;
    policy.destroy_grace_secs = a.destroy_grace_days.saturating_mul(86_400);
    let home = open_home(globals, &a.unlock)?;
    home.create_keyring(&a.name, suite, policy)?;
    changed(&home, &a.name, globals, || {
        format!("created keyring {} ({suite}), v1 is primary", a.name)
    })
}

fn rotate(a: &RotateArgs, globals: &Globals) -> Result<(), CliError> {
    let home = open_home(globals, &a.unlock)?;
    let rollout = if a.promote {
        Rollout::Immediate
    } else {
        Rollout::Staged
    };
    if a.if_due {
        return rotate_if_due(a, &home, rollout, globals);
    }
    let name = a.name.as_deref().unwrap_or_default();
    let version = home.rotate(name, rollout)?.version;
    changed(&home, name, globals, || {
        if a.promote {
            format!("{name} v{version} is now primary")
        } else {
            format!(
                "{name} v{version} is staged; promote it with `trust keys promote {name} {version}` once every process has reloaded"
            )
        }
    })
}

/// One keyring's result of `rotate --if-due`.
#[derive(Serialize)]
struct DueResult {
    name: String,
    /// `not-due`, `rotated`, `promoted` or `waiting`.
    action: &'static str,
    /// Whether a new version was added.
    rotated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u32>,
    /// Whether the version named is Primary now.
    #[serde(skip_serializing_if = "Option::is_none")]
    primary: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ready_at: Option<String>,
}

fn rotate_if_due(
    a: &RotateArgs,
    home: &Home,
    rollout: Rollout,
    globals: &Globals,
) -> Result<(), CliError> {
    let names = match &a.name {
        Some(n) => vec![n.clone()],
        None => home.keyring_names()?,
    };
    let mut results = Vec::new();
    // One damaged keyring must not stop a scheduler from rotating the others: go on, and
    // report the first failure at the end.
    let mut failures: Vec<(String, CliError)> = Vec::new();
    for name in names {
        let step = match home.rotate_if_due(&name, rollout) {
            Ok(step) => step,
            Err(e) => {
                failures.push((name, e.into()));
                continue;
            }
        };
        let r = match step {
            RotateIfDue::Rotated { key_ref, promoted } => DueResult {
                name,
                action: "rotated",
                rotated: true,
                version: Some(key_ref.version),
                primary: Some(promoted),
                ready_at: None,
            },
            RotateIfDue::Promoted { key_ref } => DueResult {
                name,
                action: "promoted",
                rotated: false,
                version: Some(key_ref.version),
                primary: Some(true),
                ready_at: None,
            },
            RotateIfDue::Waiting { key_ref, ready_at } => DueResult {
                name,
                action: "waiting",
                rotated: false,
                version: Some(key_ref.version),
                primary: Some(false),
                ready_at: Some(fmt_time(ready_at)),
            },
            _ => DueResult {
                name,
                action: "not-due",
                rotated: false,
                version: None,
                primary: None,
                ready_at: None,
            },
        };
        results.push(r);
    }
    let rotated = results.iter().filter(|r| r.rotated).count();
    if let Some((name, first)) = failures.first() {
        return Err(CliError::new(
            first.category(),
            first.code(),
            format!(
                "{} keyring(s) could not be checked (first: {name}: {}); {rotated} rotated",
                failures.len(),
                first.message()
            ),
        )
        .hint(first.hint_text().map_or_else(
            || "fix that keyring and run again".to_owned(),
            str::to_owned,
        )));
    }
    #[derive(Serialize)]
    struct Report<'a> {
        rotated: usize,
        keyrings: &'a [DueResult],
    }
    let report = Report {
        rotated,
        keyrings: &results,
    };
    globals.out.success(&report, || {
        if results.is_empty() {
            return "no keyrings".into();
        }
        let lines: Vec<String> = results
            .iter()
            .map(|r| match (r.action, r.version) {
                ("rotated", Some(v)) if r.primary == Some(true) => {
                    format!("{}: rotated, v{v} is now primary", r.name)
                }
                ("rotated", Some(v)) => format!(
                    "{}: rotated, v{v} is staged (a later run promotes it after the staging time)",
                    r.name
                ),
                ("promoted", Some(v)) => format!("{}: staged v{v} is now primary", r.name),
                ("waiting", Some(v)) => format!(
                    "{}: v{v} is staged until {}",
                    r.name,
                    r.ready_at.as_deref().unwrap_or_default()
                ),
                _ => format!("{}: not due", r.name),
            })
            .collect();
        lines.join("\n")
    });
    Ok(())
}

fn config(a: &ConfigArgs, globals: &Globals) -> Result<(), CliError> {
    let home = open_home(globals, &a.unlock)?;
    let mut change = ConfigChange::new();
    if let Some(v) = a.min_decryption_version {
        change = change.min_decryption_version(v);
    }
    if let Some(v) = a.min_encryption_version {
        change = change.min_encryption_version(v);
    }
    if let Some(Period(p)) = a.rotation_period {
        change = change.rotation_period_secs(p);
    }
    if !change.is_empty() {
        home.configure(&a.name, &change)?;
    }
    let summary = home.summary(&a.name)?;
    let human = {
        let s = &summary;
        let min = |v: u32| {
            if v == 0 {
                "none".to_owned()
            } else {
                format!("v{v}")
            }
        };
        format!(
            "{}: min decryption version {}, min encryption version {}, rotation period {}{}",
            s.name,
            min(s.min_decryption_version),
            min(s.min_encryption_version),
            s.policy
                .max_age_secs
                .map_or_else(|| "none".to_owned(), |p| format!("{p}s")),
            if s.rotation_due {
                " (rotation due)"
            } else {
                ""
            }
        )
    };
    globals.out.success(&summary, || human);
    Ok(())
}

fn list(a: &ListArgs, globals: &Globals) -> Result<(), CliError> {
    let home = open_home(globals, &a.unlock)?;
    let names = match &a.name {
        Some(n) => vec![n.clone()],
        None => home.keyring_names()?,
    };
    let summaries = names
        .iter()
        .map(|n| home.summary(n))
        .collect::<Result<Vec<_>, _>>()?;
    #[derive(Serialize)]
    struct Listing<'a> {
        keyrings: &'a [KeyringSummary],
    }
    globals.out.success(
        &Listing {
            keyrings: &summaries,
        },
        || render(&summaries),
    );
    Ok(())
}

fn render(summaries: &[KeyringSummary]) -> String {
    if summaries.is_empty() {
        return "no keyrings (create one with `trust keys create NAME`)".into();
    }
    let mut out = String::new();
    for s in summaries {
        out.push_str(&format!(
            "{}  suite {}  primary v{}  revision {}{}{}{}\n",
            s.name,
            s.suite,
            s.primary,
            s.revision,
            match s.min_decryption_version {
                0 => String::new(),
                v => format!("  min decryption v{v}"),
            },
            match s.min_encryption_version {
                0 => String::new(),
                v => format!("  min encryption v{v}"),
            },
            if s.rotation_due { "  ROTATION DUE" } else { "" }
        ));
        out.push_str(
            "  version  state            uses        moved       created               note\n",
        );
        for v in &s.versions {
            let note = match v.state {
                VersionState::PendingDestroy => v
                    .destroy_after
                    .map(|t| format!("destroy after {}", fmt_time(t)))
                    .unwrap_or_default(),
                VersionState::Destroyed => format!(
                    "destroyed {}{}",
                    v.destroyed_at.map(fmt_time).unwrap_or_default(),
                    if v.destroy_forced { " (forced)" } else { "" }
                ),
                _ => String::new(),
            };
            out.push_str(&format!(
                "  v{:<7} {:<16} {:<11} {:<11} {}  {}\n",
                v.version,
                v.state.name(),
                v.uses,
                v.moved,
                fmt_time(v.created_at),
                note
            ));
        }
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC) for Unix seconds: the one time format of `trust`.
pub(crate) fn fmt_time(unix: i64) -> String {
    trust_core::clock::rfc3339(unix)
}

/// Destroy, as one operator step (the rule is trust-core's `Keyring::destroy_step`): a
/// Disabled version is scheduled and, when the grace period is zero or over, destroyed in the
/// same change; a Staged version (an aborted rollout) is destroyed directly. The outcome is
/// checked before asking for confirmation, so a refusal changes nothing.
fn destroy(a: &DestroyArgs, globals: &Globals) -> Result<(), CliError> {
    let home = open_home(globals, &a.unlock)?;
    let key_ref = KeyRef::new(a.name.clone(), a.version);
    let mode = if a.force {
        Destroy::force(
            a.reason
                .as_deref()
                .unwrap_or("--force given without --reason"),
        )?
    } else {
        Destroy::IfUnused
    };
    home.check_destroy(&key_ref, &mode)?;
    input::confirm(
        a.yes,
        &format!(
            "Destroy {} v{}? Every message still sealed under it becomes unreadable for ever",
            a.name, a.version
        ),
    )?;
    crate::cmd::mfa::second_factor(globals, &a.mfa, &a.unlock, "keys destroy")?;
    match home.destroy(&key_ref, &mode)? {
        DestroyOutcome::Scheduled { after } => changed(&home, &a.name, globals, || {
            format!(
                "{} v{} is scheduled for destruction after {}; run this command again then (or `trust keys enable` to cancel)",
                a.name,
                a.version,
                fmt_time(after)
            )
        }),
        _ => changed(&home, &a.name, globals, || {
            format!("{} v{} destroyed (tombstone kept)", a.name, a.version)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::{fmt_time, parse_period};

    #[test]
    fn rotation_periods() {
        assert_eq!(parse_period("90d").unwrap().0, Some(90 * 86_400));
        assert_eq!(parse_period("12h").unwrap().0, Some(12 * 3_600));
        assert_eq!(parse_period("30m").unwrap().0, Some(1_800));
        assert_eq!(parse_period("3600").unwrap().0, Some(3_600));
        assert_eq!(parse_period("none").unwrap().0, None);
        for bad in [
            "",
            "0",
            "0d",
            "d",
            "1w",
            "-1d",
            "1.5d",
            "99999999999999999999d",
        ] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_are_utc_iso8601() {
        assert_eq!(fmt_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(fmt_time(1_763_786_096), "2025-11-22T04:34:56Z");
        assert_eq!(fmt_time(-1), "1969-12-31T23:59:59Z");
    }
}
