//! Finding and unlocking the home every key command works in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::{ExposeSecret as _, SecretString};
use trust_backends::custody;
use trust_core::audit::{AuditLog, ExternalEd25519, ExternalSigner, SignerDescriptor};
use trust_core::event::EventSink;
use trust_core::keyring::{Home, HomeOptions, RootKind, Unlock};
use trust_core::root::RootKey;

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
    let options = HomeOptions::default().with_usage_block(usage_block.max(1));
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
        RootKind::External { kind, uri } => {
            Unlock::Root(open_external_root(&kind, &uri, unlock.pin_file.as_deref())?)
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
    })
}

/// The HSM user PIN from `--pin-file` (- for stdin), if one was given; without it the
/// resolver in trust-backends reads `TRUST_PKCS11_PIN`. Never argv.
pub(crate) fn pin_from_file(pin_file: Option<&Path>) -> Result<Option<SecretString>, CliError> {
    let Some(file) = pin_file else {
        return Ok(None);
    };
    let pin = input::read_secret(
        "PKCS#11 PIN",
        "pin",
        SecretSource {
            file: Some(file),
            env: None,
        },
        false,
    )?;
    let text = std::str::from_utf8(pin.expose_secret())
        .map_err(|_| CliError::usage("the PKCS#11 PIN is not UTF-8 text"))?;
    Ok(Some(SecretString::from(text.to_owned())))
}

/// Opens the external root key a home records (`kind` and descriptor, from `home.json` or the
/// database's home row). The resolution itself lives in trust-backends, shared with the C ABI
/// and the packages; the CLI only adds where the PIN comes from.
pub(crate) fn open_external_root(
    kind: &str,
    uri: &str,
    pin_file: Option<&Path>,
) -> Result<Arc<dyn RootKey>, CliError> {
    Ok(custody::open_root(kind, uri, pin_from_file(pin_file)?)?)
}

/// A new external root for `trust init --root-…` / `trust keys rewrap-root --to-…` (`kind` is
/// `pkcs11` or `aws-kms`), and the descriptor the home records.
pub(crate) fn new_external_root(
    kind: &str,
    target: &str,
    pin_file: Option<&Path>,
) -> Result<(Arc<dyn RootKey>, String), CliError> {
    Ok(custody::new_root(kind, target, pin_from_file(pin_file)?)?)
}

/// Opens the external signing key a log (or the GDPR signer record) names (`kind`, `uri`); with
/// `create`, an absent key pair is generated inside the device first.
pub(crate) fn open_external_signer(
    kind: &str,
    uri: &str,
    pin_file: Option<&Path>,
    create: bool,
) -> Result<(Arc<dyn ExternalEd25519>, String), CliError> {
    Ok(custody::open_signer(
        kind,
        uri,
        pin_from_file(pin_file)?,
        create,
    )?)
}

/// The HSM checkpoint key for `trust audit init --signing-pkcs11 URI`, created when absent, with
/// the descriptor the log records (the URI in canonical form).
pub(crate) fn pkcs11_log_signer(
    uri: &str,
    pin_file: Option<&Path>,
) -> Result<ExternalSigner, CliError> {
    let (key, canonical) = open_external_signer(custody::PKCS11, uri, pin_file, true)?;
    Ok(ExternalSigner::new(
        key,
        SignerDescriptor::new(custody::PKCS11, canonical),
    ))
}

/// Opens an audit log for writing (waiting for other writers' appends), with its external signing key when its
/// `log.json` names one (PIN from `TRUST_PKCS11_PIN`).
pub(crate) fn open_audit_log(log: &Path) -> Result<AuditLog, CliError> {
    // A directory or a postgres:// URL: trust-backends tells them apart.
    let location = trust_backends::audit::AuditLocation::parse(log)?;
    let signer = match location.signer_descriptor()? {
        Some(d) => Some(open_external_signer(&d.kind, &d.uri, None, false)?.0),
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
    if let Some(warning) = trust_core::root::key_file_exposure(key_file) {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "warning: {warning}");
    }
}

/// The file under `HOME/gdpr/` that names a device-held receipt signing key (its kind and
/// descriptor; never a PIN). Its absence means the key file `signing.p8`.
pub(crate) const GDPR_SIGNER_FILE: &str = "signer.json";
/// The in-memory receipt signing key's file under `HOME/gdpr/`.
pub(crate) const GDPR_KEY_FILE: &str = "signing.p8";

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GdprSignerRecord {
    kind: String,
    uri: String,
}

/// The key that signs erasure receipts and export manifests of the home whose GDPR directory is
/// `gdpr_dir`: the device key `signer.json` names (PIN from `pin_file`, else
/// `TRUST_PKCS11_PIN`), else `signing.p8` (created on first use).
pub(crate) fn gdpr_signer(
    gdpr_dir: &Path,
    pin_file: Option<&Path>,
) -> Result<trust_core::gdpr::Signer, CliError> {
    use trust_core::gdpr::Signer;
    match read_gdpr_signer_record(gdpr_dir)? {
        Some(record) => {
            let (device, _) = open_external_signer(&record.kind, &record.uri, pin_file, false)?;
            Ok(Signer::external(device))
        }
        None => Ok(Signer::load_or_create(&gdpr_dir.join(GDPR_KEY_FILE))?),
    }
}

/// `trust gdpr public-key --signing-pkcs11 URI`: receipts and manifests of this home are signed
/// from now on by an Ed25519 key in the token (generated there when absent), recorded in
/// `signer.json`. Refused when the home already signs with another key, so that no receipt is
/// ever signed by a key the operator did not choose.
pub(crate) fn init_gdpr_device_signer(
    gdpr_dir: &Path,
    uri: &str,
    pin_file: Option<&Path>,
) -> Result<trust_core::gdpr::Signer, CliError> {
    use trust_core::gdpr::Signer;
    let (device, canonical) = open_external_signer(custody::PKCS11, uri, pin_file, true)?;
    match read_gdpr_signer_record(gdpr_dir)? {
        Some(r) if r.kind == custody::PKCS11 && r.uri == canonical => {}
        Some(r) => {
            return Err(CliError::usage(format!(
                "this home's receipts are already signed by the {} key {}",
                r.kind, r.uri
            ))
            .hint("receipts signed so far verify only with that key: keep using it, or move gdpr/signer.json away deliberately"));
        }
        None if gdpr_dir.join(GDPR_KEY_FILE).exists() => {
            return Err(CliError::usage(
                "this home's receipts are already signed by the key file gdpr/signing.p8",
            )
            .hint("note its public key (trust gdpr public-key) for the receipts it signed, then move gdpr/signing.p8 away and run this again"));
        }
        None => {
            let record = GdprSignerRecord {
                kind: custody::PKCS11.into(),
                uri: canonical,
            };
            let bytes = serde_json::to_vec_pretty(&record).map_err(|_| {
                CliError::new(
                    trust_core::error::Category::Internal,
                    "INTERNAL",
                    "cannot encode the signer record",
                )
            })?;
            let path = gdpr_dir.join(GDPR_SIGNER_FILE);
            trust_core::durable::write_atomic(&path, &bytes)
                .map_err(|e| CliError::write("signer record", &path, &e))?;
        }
    }
    Ok(Signer::external(device))
}

fn read_gdpr_signer_record(gdpr_dir: &Path) -> Result<Option<GdprSignerRecord>, CliError> {
    let path = gdpr_dir.join(GDPR_SIGNER_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CliError::io("signer record", &path, &e)),
    };
    // A record is a kind and a URI: anything long is not one.
    if bytes.len() > 8 << 10 {
        return Err(CliError::new(
            trust_core::error::Category::Input,
            "SIGNER_RECORD_INVALID",
            format!("{} is not a signer record (too long)", path.display()),
        ));
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|_| {
        CliError::new(
            trust_core::error::Category::Input,
            "SIGNER_RECORD_INVALID",
            format!("{} is not a signer record", path.display()),
        )
        .hint("it holds {\"kind\":\"pkcs11\",\"uri\":\"pkcs11:…\"}; restore it from a backup")
    })
}
