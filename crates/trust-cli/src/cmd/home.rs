//! Finding and unlocking the home every key command works in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::{ExposeSecret as _, SecretString};
use trust_core::audit::note::ExternalEd25519;
use trust_core::audit::{AuditLog, ExternalSigner, SignerDescriptor};
use trust_core::event::EventSink;
use trust_core::kek::RootKey;
use trust_core::keyring::{Home, HomeOptions, RootKind, Unlock};
use trust_pkcs11::{PIN_ENV, Pkcs11Error, Pkcs11RootKey, Pkcs11Signer, Pkcs11Uri};

use crate::Globals;
use crate::cmd::store;
use crate::exit::CliError;
use crate::input::{self, SecretSource};

/// How to unlock a passphrase or HSM home. Ignored by key-file homes, whose key file is recorded
/// in the home.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct UnlockArgs {
    /// Read the home's passphrase from this file (- for stdin).
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_env")]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Read the home's passphrase from this environment variable (its name, not its value).
    #[arg(long, value_name = "NAME")]
    pub(crate) passphrase_env: Option<String>,
    /// Read the HSM user PIN from this file (- for stdin); default: $TRUST_PKCS11_PIN.
    #[arg(long, value_name = "FILE")]
    pub(crate) pin_file: Option<PathBuf>,
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
    let how = unlock_kind(kind, unlock)?;
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

/// How to unlock the home in `dir`: its key file, its passphrase (asked for only then), or its
/// external root key (opened from the recorded descriptor).
pub(crate) fn unlock_for(dir: &Path, unlock: &UnlockArgs) -> Result<Unlock, CliError> {
    unlock_kind(Home::root_kind(dir)?, unlock)
}

/// How to unlock a home whose root is of `kind` (from a directory or a database store).
fn unlock_kind(kind: RootKind, unlock: &UnlockArgs) -> Result<Unlock, CliError> {
    Ok(match kind {
        RootKind::KeyFile(recorded) => {
            // Another host keeps the key file elsewhere (--root-key-file / TRUST_ROOT_KEY_FILE).
            let path = unlock.root_key_file.as_ref().unwrap_or(&recorded);
            warn_if_exposed(path);
            match &unlock.root_key_file {
                Some(path) => Unlock::KeyFile(path.clone()),
                None => Unlock::Stored,
            }
        }
        RootKind::External { kind, uri } => Unlock::Root(open_external_root(
            &kind,
            &uri,
            unlock.pin_file.as_deref(),
            false,
        )?),
        RootKind::Passphrase => Unlock::Passphrase(input::read_secret(
            "passphrase",
            "passphrase",
            SecretSource {
                file: unlock.passphrase_file.as_deref(),
                env: unlock.passphrase_env.as_deref(),
            },
            true,
        )?),
    })
}

/// The HSM user PIN: from `--pin-file` (- for stdin), else from `TRUST_PKCS11_PIN`. Never argv.
pub(crate) fn pkcs11_pin(pin_file: Option<&Path>) -> Result<SecretString, CliError> {
    let env = std::env::var_os(PIN_ENV).is_some().then_some(PIN_ENV);
    if pin_file.is_none() && env.is_none() {
        return Err(Pkcs11Error::NoPin.into());
    }
    let pin = input::read_secret(
        "PKCS#11 PIN",
        "pin",
        SecretSource {
            file: pin_file,
            env: if pin_file.is_some() { None } else { env },
        },
        false,
    )?;
    let text = std::str::from_utf8(pin.expose_secret())
        .map_err(|_| CliError::usage("the PKCS#11 PIN is not UTF-8 text"))?;
    Ok(SecretString::from(text.to_owned()))
}

/// Opens the external root key a home's descriptor names (`kind` and `uri` as recorded in
/// `home.json`, or as given to `trust init`); with `create`, an absent key is generated inside
/// the device first.
///
/// This is the one place the CLI turns a root descriptor into a [`RootKey`]; keep it that way
/// (and small) so that every front end can share it.
pub(crate) fn open_external_root(
    kind: &str,
    uri: &str,
    pin_file: Option<&Path>,
    create: bool,
) -> Result<Arc<dyn RootKey>, CliError> {
    match kind {
        "pkcs11" => {
            let uri = Pkcs11Uri::parse(uri).map_err(Pkcs11Error::from)?;
            let pin = pkcs11_pin(pin_file)?;
            let root = if create {
                Pkcs11RootKey::create_or_open(&uri, pin)?
            } else {
                Pkcs11RootKey::open(&uri, pin)?
            };
            Ok(Arc::new(root))
        }
        other => Err(CliError::usage(format!(
            "this home's root key is of kind `{other}`, which this build of trust cannot open"
        ))),
    }
}

/// Opens the external checkpoint signing key an audit log's descriptor names (`kind`, `uri`);
/// with `create`, an absent key pair is generated inside the device first. The signing-key
/// twin of [`open_external_root`].
pub(crate) fn open_external_signer(
    kind: &str,
    uri: &str,
    pin_file: Option<&Path>,
    create: bool,
) -> Result<Arc<dyn ExternalEd25519>, CliError> {
    match kind {
        "pkcs11" => {
            let uri = Pkcs11Uri::parse(uri).map_err(Pkcs11Error::from)?;
            let pin = pkcs11_pin(pin_file)?;
            let signer = if create {
                Pkcs11Signer::create_or_open(&uri, pin)?
            } else {
                Pkcs11Signer::open(&uri, pin)?
            };
            Ok(Arc::new(signer))
        }
        other => Err(CliError::usage(format!(
            "this audit log's signing key is of kind `{other}`, which this build of trust cannot open"
        ))),
    }
}

/// The HSM checkpoint key for `trust audit init --signing-pkcs11 URI`, created when absent, with
/// the descriptor the log records (the URI in canonical form).
pub(crate) fn pkcs11_log_signer(
    uri: &str,
    pin_file: Option<&Path>,
) -> Result<ExternalSigner, CliError> {
    let canonical = Pkcs11Uri::parse(uri)
        .map_err(Pkcs11Error::from)?
        .to_string();
    let key = open_external_signer("pkcs11", &canonical, pin_file, true)?;
    Ok(ExternalSigner {
        key,
        descriptor: SignerDescriptor {
            kind: "pkcs11".into(),
            uri: canonical,
        },
    })
}

/// Opens an audit log for writing (waiting for other writers' appends), with its external signing key when its
/// `log.json` names one (PIN from `TRUST_PKCS11_PIN`).
pub(crate) fn open_audit_log(log: &Path) -> Result<AuditLog, CliError> {
    // A directory or a postgres:// URL: trust-backends tells them apart.
    let location = trust_backends::audit::AuditLocation::parse(log)?;
    let signer = match location.signer_descriptor()? {
        Some(d) => Some(open_external_signer(&d.kind, &d.uri, None, false)?),
        None => None,
    };
    Ok(location.open(signer, super::audit::lock_wait()?)?)
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
