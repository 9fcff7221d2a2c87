//! Finding and unlocking the home every key command works in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use trust_core::event::EventSink;
use trust_core::keyring::{Home, HomeOptions, RootKind, Unlock};

use crate::Globals;
use crate::exit::CliError;
use crate::input::{self, SecretSource};

/// How to unlock a passphrase home. Ignored by key-file homes, whose key file is recorded in the
/// home.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct UnlockArgs {
    /// Read the home's passphrase from this file (- for stdin).
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_env")]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Read the home's passphrase from this environment variable (its name, not its value).
    #[arg(long, value_name = "NAME")]
    pub(crate) passphrase_env: Option<String>,
}

/// The home directory: `--home`, else `TRUST_HOME` (folded in by clap).
pub(crate) fn home_dir(globals: &Globals) -> Result<&Path, CliError> {
    globals.home.as_deref().ok_or_else(|| {
        CliError::usage("no home directory given")
            .hint("pass --home DIR or set TRUST_HOME (create one with `trust init`)")
    })
}

/// Opens the home, asking for the passphrase only when the home has one.
///
/// The CLI reserves seals one at a time ([`HomeOptions::usage_block`] = 1): each invocation is a
/// short-lived process, so the stored counter stays exact instead of jumping by a block per run.
pub(crate) fn open_home(globals: &Globals, unlock: &UnlockArgs) -> Result<Home, CliError> {
    open_home_with_block(globals, unlock, 1)
}

/// As [`open_home`], reserving `usage_block` seals per durable counter update (a command that
/// seals N messages reserves N at once).
pub(crate) fn open_home_with_block(
    globals: &Globals,
    unlock: &UnlockArgs,
    usage_block: u64,
) -> Result<Home, CliError> {
    let dir = home_dir(globals)?;
    let how = match Home::root_kind(dir)? {
        RootKind::KeyFile(path) => {
            warn_if_exposed(&path);
            Unlock::Stored
        }
        RootKind::Passphrase => Unlock::Passphrase(input::read_secret(
            "passphrase",
            "passphrase",
            SecretSource {
                file: unlock.passphrase_file.as_deref(),
                env: unlock.passphrase_env.as_deref(),
            },
            true,
        )?),
    };
    let options = HomeOptions {
        usage_block: usage_block.max(1),
        ..HomeOptions::default()
    };
    let mut home = Home::open(dir, how)?.with_options(options);
    if let Some(sink) = audit_sink(globals)? {
        home = home.with_sink(sink);
    }
    if let Some(actor) = &globals.actor {
        home = home.with_actor(actor.clone());
    }
    Ok(home)
}

/// The audit log named by `--audit-log`/`TRUST_AUDIT_LOG`, opened for writing, if any.
///
/// Opened before any state changes: other writers hold the log only while they append, so this
/// waits for them; a log locked for longer than `TRUST_AUDIT_LOCK_WAIT` fails the command (exit
/// 3, `AUDIT_LOG_BUSY`) before it changes anything, rather than making a change it cannot record.
pub(crate) fn audit_sink(globals: &Globals) -> Result<Option<Arc<dyn EventSink>>, CliError> {
    let Some(dir) = &globals.audit_log else {
        return Ok(None);
    };
    let log = match globals.audit.get() {
        Some(log) => log.clone(),
        None => {
            let log = Arc::new(super::audit::open_log(dir)?);
            globals.audit.get_or_init(|| log).clone()
        }
    };
    Ok(Some(log))
}

/// Warns on stderr (never on stdout, which `--json` keeps to one object) when the root key
/// file is readable by other users.
pub(crate) fn warn_if_exposed(key_file: &Path) {
    if let Some(warning) = trust_core::kek::key_file_exposure(key_file) {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "warning: {warning}");
    }
}
