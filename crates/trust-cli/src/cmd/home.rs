//! Finding and unlocking the home every key command works in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use trust_core::audit::AuditLog;
use trust_core::event::EventSink;
use trust_core::keyring::{Home, HomeOptions, RootKind, Unlock};

use crate::Globals;
use crate::cmd::store;
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
    /// The root key file, when it is not at the path recorded in the home (another host).
    #[arg(long, value_name = "FILE", env = "TRUST_ROOT_KEY_FILE")]
    pub(crate) root_key_file: Option<PathBuf>,
}

/// The home directory: `--store DIR`, else `--home`, else `TRUST_HOME` (folded in by clap).
/// With `--store URL` there is no home directory: commands that still keep files there say so.
pub(crate) fn home_dir(globals: &Globals) -> Result<&Path, CliError> {
    if let Some(store) = &globals.store {
        return trust_backends::local_path(store).ok_or_else(|| {
            CliError::usage("this command does not support a database --store yet")
                .hint("run it with --home DIR (a local home)")
        });
    }
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
    let db = store::store_db(globals)?;
    let kind = match &db {
        Some(db) => store::root_kind(db)?,
        None => Home::root_kind(home_dir(globals)?)?,
    };
    let how = match kind {
        RootKind::KeyFile(_) => match &unlock.root_key_file {
            Some(path) => Unlock::KeyFile(path.clone()),
            None => Unlock::Stored,
        },
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
    let home = match &db {
        Some(db) => store::open(db, how)?,
        None => Home::open(home_dir(globals)?, how)?,
    };
    let mut home = home.with_options(options);
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
/// Opened before any state changes, and without waiting: if another process holds the log, the
/// command fails (exit 3, `AUDIT_LOG_BUSY`) before it changes anything, rather than making a
/// change it cannot record.
pub(crate) fn audit_sink(globals: &Globals) -> Result<Option<Arc<dyn EventSink>>, CliError> {
    let Some(dir) = &globals.audit_log else {
        return Ok(None);
    };
    let log = match globals.audit.get() {
        Some(log) => log.clone(),
        None => {
            let log = Arc::new(AuditLog::try_open(dir)?);
            globals.audit.get_or_init(|| log).clone()
        }
    };
    Ok(Some(log))
}
