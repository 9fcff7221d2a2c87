//! `trust keys …`: create, list, rotate, promote, retire, enable and destroy key versions.
//!
//! Thin on purpose: every rule (one Primary, staging time, grace period, the live-ciphertext
//! guard) is enforced by `trust_core::keyring`; this module parses, confirms and renders.

use serde::Serialize;
use trust_core::keyring::{Home, KeyringError, KeyringSummary, Policy, VersionState};
use trust_core::keys::{KeyRef, Suite};

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
    /// Primary at once.
    ///
    /// Example: trust keys rotate orders --promote
    Rotate(RotateArgs),
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
    /// Move the home's root key into an HSM (PKCS#11): only the keyrings' wrapping changes,
    /// no ciphertext is touched; afterwards the old key file or passphrase no longer opens the
    /// home. Crash-safe: if interrupted, run it again with the same target.
    ///
    /// Example: TRUST_PKCS11_PIN=… trust keys rewrap-root --to-pkcs11 'pkcs11:token=prod;object=trust-root?module-path=/usr/lib/softhsm/libsofthsm2.so' --yes
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
    name: String,
    /// Make the new version Primary immediately (skip staging).
    #[arg(long)]
    promote: bool,
    #[command(flatten)]
    unlock: UnlockArgs,
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
    /// Destroy even though messages sealed under it may still exist (recorded as forced).
    #[arg(long)]
    force: bool,
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
        KeysCommand::Promote(a) => {
            let home = open_home(globals, &a.unlock)?;
            home.promote(&a.name, a.version)?;
            changed(&home, &a.name, globals, || {
                format!("{} v{} is now primary", a.name, a.version)
            })
        }
        KeysCommand::Retire(a) => {
            let home = open_home(globals, &a.unlock)?;
            home.retire(&a.name, a.version)?;
            changed(&home, &a.name, globals, || {
                format!(
                    "{} v{} is disabled: it no longer decrypts (undo with `trust keys enable {} {}`)",
                    a.name, a.version, a.name, a.version
                )
            })
        }
        KeysCommand::Enable(a) => {
            let home = open_home(globals, &a.unlock)?;
            home.enable(&a.name, a.version)?;
            changed(&home, &a.name, globals, || {
                format!("{} v{} decrypts again (decrypt-only)", a.name, a.version)
            })
        }
        KeysCommand::Destroy(a) => destroy(a, globals),
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
    let policy = Policy {
        max_uses: a.max_uses.unwrap_or(Policy::DEFAULT_MAX_USES),
        max_age_secs: a.max_age_days.map(|d| d.saturating_mul(86_400)),
        min_stage_secs: a.min_stage_secs,
        destroy_grace_secs: a.destroy_grace_days.saturating_mul(86_400),
    };
    let home = open_home(globals, &a.unlock)?;
    home.create_keyring(&a.name, suite, policy)?;
    changed(&home, &a.name, globals, || {
        format!("created keyring {} ({suite}), v1 is primary", a.name)
    })
}

fn rotate(a: &RotateArgs, globals: &Globals) -> Result<(), CliError> {
    let home = open_home(globals, &a.unlock)?;
    let version = home.rotate(&a.name, a.promote)?;
    changed(&home, &a.name, globals, || {
        if a.promote {
            format!("{} v{version} is now primary", a.name)
        } else {
            format!(
                "{} v{version} is staged; promote it with `trust keys promote {} {version}` once every process has reloaded",
                a.name, a.name
            )
        }
    })
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
            "{}  suite {}  primary v{}  revision {}{}\n",
            s.name,
            s.suite,
            s.primary,
            s.revision,
            if s.rotation_due { "  ROTATION DUE" } else { "" }
        ));
        out.push_str("  version  state            uses        created               note\n");
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
                "  v{:<7} {:<16} {:<11} {}  {}\n",
                v.version,
                v.state.name(),
                v.uses,
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

/// Destroy, as one operator step: a Disabled version is scheduled (PendingDestroy) and, when
/// the keyring's grace period is zero or over, destroyed in the same command; a Staged version
/// (a rollout being aborted) is destroyed directly. The live-ciphertext guard is checked before
/// anything changes, so a refusal leaves the version as it was.
fn destroy(a: &DestroyArgs, globals: &Globals) -> Result<(), CliError> {
    let home = open_home(globals, &a.unlock)?;
    let ring = home.keyring(&a.name)?;
    let key_ref = KeyRef::new(a.name.clone(), a.version);
    let v = ring.version(a.version).ok_or_else(|| {
        CliError::from(trust_core::keys::KeyError::UnknownVersion {
            key_ref: key_ref.clone(),
        })
    })?;
    if !matches!(
        v.state,
        VersionState::Disabled | VersionState::PendingDestroy | VersionState::Staged
    ) {
        return Err(KeyringError::Transition {
            key_ref,
            state: v.state,
            op: "destroy",
        }
        .into());
    }
    if v.may_have_live_ciphertexts() && !a.force {
        return Err(KeyringError::LiveCiphertexts {
            key_ref,
            uses: v.uses,
        }
        .into());
    }
    input::confirm(
        a.yes,
        &format!(
            "Destroy {} v{}? Every message still sealed under it becomes unreadable for ever",
            a.name, a.version
        ),
    )?;
    crate::cmd::mfa::second_factor(globals, &a.mfa, &a.unlock, "keys destroy")?;
    if v.state == VersionState::Disabled {
        home.schedule_destroy(&a.name, a.version)?;
    }
    match home.destroy(&a.name, a.version, a.force) {
        Ok(_) => changed(&home, &a.name, globals, || {
            format!("{} v{} destroyed (tombstone kept)", a.name, a.version)
        }),
        // Just scheduled by this command: that is the step it could take today.
        Err(KeyringError::GraceNotElapsed { after, .. }) if v.state == VersionState::Disabled => {
            changed(&home, &a.name, globals, || {
                format!(
                    "{} v{} is scheduled for destruction after {}; run this command again then (or `trust keys enable` to cancel)",
                    a.name,
                    a.version,
                    fmt_time(after)
                )
            })
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::fmt_time;

    #[test]
    fn times_are_utc_iso8601() {
        assert_eq!(fmt_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(fmt_time(1_763_786_096), "2025-11-22T04:34:56Z");
        assert_eq!(fmt_time(-1), "1969-12-31T23:59:59Z");
    }
}
