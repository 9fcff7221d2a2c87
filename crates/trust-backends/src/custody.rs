//! Opening root keys and signing keys that live outside the process: an HSM (PKCS#11) or AWS
//! KMS.
//!
//! A home records its external root as a *kind* and a *descriptor* (`home.json`, or the home
//! row of a database store); an audit log or a GDPR signer records its external signing key
//! the same way. Every front end turns those two strings back into a key through this module,
//! so the set of kinds, the PIN rule and the errors exist once:
//!
//! | kind | descriptor | opened as |
//! |---|---|---|
//! | `pkcs11` | an RFC 7512 URI with `module-path` (canonical form) | [`trust_pkcs11::Pkcs11RootKey`] / [`trust_pkcs11::Pkcs11Signer`] |
//! | `aws-kms` | `aws-kms:key=<KEY_ID_OR_ARN>;store=<STORE_ID>` | [`trust_kms::KmsRootKey`] |
//!
//! The PKCS#11 user PIN is never part of a descriptor: the caller passes it, or it is read from
//! `TRUST_PKCS11_PIN`. KMS region, endpoint and credentials come from the environment, as for
//! every AWS SDK (`AWS_REGION`, `AWS_ENDPOINT_URL`, the default credentials chain).
//!
//! A kind this build was compiled without (the `pkcs11` and `aws-kms` features) is a usage
//! error that names the missing feature, never a panic.

use std::path::Path;
use std::sync::Arc;

use secrecy::SecretString;
use trust_core::audit::ExternalEd25519;
use trust_core::error::Category;
use trust_core::root::{RootKey, RootKeyError};

use crate::BackendError;

/// The kind name of a PKCS#11 root or signing key.
pub const PKCS11: &str = "pkcs11";
/// The kind name of an AWS KMS root key.
pub const AWS_KMS: &str = "aws-kms";

/// An opened root key and the descriptor a home records for it.
pub type DescribedRoot = (Arc<dyn RootKey>, String);

/// The PKCS#11 user PIN: the one given, else `TRUST_PKCS11_PIN`.
#[cfg(feature = "pkcs11")]
fn pin_or_env(pin: Option<SecretString>) -> Result<SecretString, BackendError> {
    if let Some(pin) = pin {
        return Ok(pin);
    }
    match std::env::var(trust_pkcs11::PIN_ENV) {
        Ok(v) if !v.is_empty() => Ok(SecretString::from(v)),
        _ => Err(custody(trust_pkcs11::Pkcs11Error::NoPin)),
    }
}

/// Where a front end takes the PKCS#11 user PIN from. Never the PIN itself as an argument: a
/// value passed around as a plain string ends up in argv, tracebacks and reprs.
#[derive(Clone, Copy, Debug, Default)]
pub enum PinSource<'a> {
    /// `TRUST_PKCS11_PIN`, read by the resolver when the key is opened.
    #[default]
    Default,
    /// The environment variable of this name (its name, not its value).
    Env(&'a str),
    /// This file; one trailing newline (`\n` or `\r\n`) is dropped, as editors and `echo` add
    /// one.
    File(&'a Path),
}

/// The longest PIN file accepted: anything larger is the wrong file.
pub const PIN_FILE_LIMIT: u64 = 4096;

/// Reads the PKCS#11 user PIN from `source`: `None` for [`PinSource::Default`] (then
/// [`new_root`] and [`open_root`] read `TRUST_PKCS11_PIN`). Used by the language packages, which
/// take the PIN the way the CLI does (`--pin-file`, the variable).
///
/// # Errors
/// [`BackendError::Custody`]: `INPUT_UNREADABLE` (exit 3) when the variable is unset or the
/// file cannot be read; `USAGE` (exit 2) when the PIN is empty, not UTF-8, or the file is
/// larger than [`PIN_FILE_LIMIT`]. Messages name the variable or file, never the PIN.
pub fn read_pin(source: PinSource<'_>) -> Result<Option<SecretString>, BackendError> {
    use secrecy::zeroize::Zeroizing;
    use std::io::Read as _;
    let pin_error = |category: Category, code: &'static str, message: String| {
        BackendError::Custody(RootKeyError::Backend(trust_core::root::BackendError::new(
            code, category, message,
        )))
    };
    let bytes = match source {
        PinSource::Default => return Ok(None),
        PinSource::Env(name) => {
            let value = std::env::var_os(name).ok_or_else(|| {
                pin_error(
                    Category::Input,
                    "INPUT_UNREADABLE",
                    format!("the environment variable {name} (for the PKCS#11 PIN) is not set"),
                )
            })?;
            Zeroizing::new(value.into_encoded_bytes())
        }
        PinSource::File(path) => {
            let unreadable = |e: std::io::Error| {
                pin_error(
                    Category::Input,
                    "INPUT_UNREADABLE",
                    format!("cannot read the PKCS#11 PIN file {}: {e}", path.display()),
                )
            };
            let file = std::fs::File::open(path).map_err(unreadable)?;
            let mut bytes = Zeroizing::new(Vec::new());
            file.take(PIN_FILE_LIMIT + 1)
                .read_to_end(&mut bytes)
                .map_err(unreadable)?;
            if bytes.len() as u64 > PIN_FILE_LIMIT {
                return Err(pin_error(
                    Category::Usage,
                    "USAGE",
                    format!(
                        "the PKCS#11 PIN file {} is larger than {PIN_FILE_LIMIT} bytes",
                        path.display()
                    ),
                ));
            }
            let trailing = if bytes.ends_with(b"\r\n") {
                2
            } else {
                usize::from(bytes.ends_with(b"\n"))
            };
            let keep = bytes.len() - trailing;
            // Zeroizing<Vec> wipes the whole capacity on drop, the cut-off newline included.
            bytes.truncate(keep);
            bytes
        }
    };
    if bytes.is_empty() {
        return Err(pin_error(
            Category::Usage,
            "USAGE",
            "the PKCS#11 PIN is empty".into(),
        ));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        pin_error(
            Category::Usage,
            "USAGE",
            "the PKCS#11 PIN is not UTF-8 text".into(),
        )
    })?;
    Ok(Some(SecretString::from(text.to_owned())))
}

#[cfg(feature = "pkcs11")]
fn custody(e: trust_pkcs11::Pkcs11Error) -> BackendError {
    BackendError::Custody(e.into())
}

#[cfg(feature = "aws-kms")]
fn kms(e: trust_kms::KmsError) -> BackendError {
    BackendError::Custody(e.into())
}

#[cfg(feature = "pkcs11")]
fn pkcs11_uri(uri: &str) -> Result<trust_pkcs11::Pkcs11Uri, BackendError> {
    trust_pkcs11::Pkcs11Uri::parse(uri).map_err(|e| custody(e.into()))
}

/// A root key to create a home with, or to move a home to (`trust init --root-…`, `trust keys
/// rewrap-root --to-…`), and the descriptor the home records.
///
/// * `pkcs11`: `target` is an RFC 7512 URI; the AES-256 key is generated inside the token when
///   absent. The descriptor is the URI in canonical form.
/// * `aws-kms`: `target` is a key id, `alias/NAME` or ARN; a fresh random store id is bound into
///   every encryption context. No KMS call is made here: the home's check value is the first,
///   so a wrong key, region or credentials fail before anything is written.
///
/// # Errors
/// [`BackendError::Custody`] with the device's own code (bad URI, no PIN, wrong PIN, bad key
/// id…); [`BackendError::UnsupportedKind`] for a kind this build cannot open.
#[cfg_attr(
    not(all(feature = "pkcs11", feature = "aws-kms")),
    allow(unused_variables)
)]
pub fn new_root(
    kind: &str,
    target: &str,
    pin: Option<SecretString>,
) -> Result<DescribedRoot, BackendError> {
    match kind {
        #[cfg(feature = "pkcs11")]
        PKCS11 => {
            let uri = pkcs11_uri(target)?;
            let root = trust_pkcs11::Pkcs11RootKey::create_or_open(&uri, pin_or_env(pin)?)
                .map_err(custody)?;
            Ok((Arc::new(root), uri.to_string()))
        }
        #[cfg(feature = "aws-kms")]
        AWS_KMS => {
            let config = new_kms_config(target)?;
            let descriptor = config.descriptor();
            let root = trust_kms::KmsRootKey::connect(config).map_err(kms)?;
            Ok((Arc::new(root), descriptor))
        }
        other => Err(unsupported(other, "root key")),
    }
}

/// The root to resume an unfinished move with: when the home's pending record (`kind`,
/// `descriptor`, from `Home::pending_root_kind`) names the same `target` the operator gave
/// again, that root is reopened with the recorded descriptor (a KMS root keeps its store id);
/// otherwise `None`, and the caller starts with [`new_root`].
///
/// # Errors
/// As [`open_root`].
#[cfg_attr(not(feature = "aws-kms"), allow(unused_variables))]
pub fn resume_root(
    kind: &str,
    target: &str,
    pending_kind: &str,
    pending_descriptor: &str,
    pin: Option<SecretString>,
) -> Result<Option<DescribedRoot>, BackendError> {
    let same = kind == pending_kind
        && match kind {
            #[cfg(feature = "aws-kms")]
            AWS_KMS => trust_kms::KmsConfig::from_descriptor(pending_descriptor)
                .is_ok_and(|c| c.key_id == target),
            // A PKCS#11 descriptor is the canonical URI itself: new_root derives it again.
            _ => false,
        };
    if !same {
        return Ok(None);
    }
    let root = open_root(kind, pending_descriptor, pin)?;
    Ok(Some((root, pending_descriptor.to_owned())))
}

/// The configuration of a new KMS root for `target`: a fresh random store id.
#[cfg(feature = "aws-kms")]
fn new_kms_config(target: &str) -> Result<trust_kms::KmsConfig, BackendError> {
    trust_kms::check_key_id(target).map_err(kms)?;
    let store = trust_core::secret::random_array::<8>()
        .map_err(|_| BackendError::Custody(RootKeyError::Random))?;
    Ok(trust_kms::KmsConfig::new(target, hex::encode(store)))
}

/// Opens the external root key a home records (`kind`, `descriptor`), as it was created by
/// [`new_root`]. Nothing is generated: a key missing from the token is an error.
///
/// # Errors
/// As [`new_root`]; a descriptor that does not parse is [`BackendError::Custody`] (exit 2).
#[cfg_attr(
    not(all(feature = "pkcs11", feature = "aws-kms")),
    allow(unused_variables)
)]
pub fn open_root(
    kind: &str,
    descriptor: &str,
    pin: Option<SecretString>,
) -> Result<Arc<dyn RootKey>, BackendError> {
    match kind {
        #[cfg(feature = "pkcs11")]
        PKCS11 => {
            let uri = pkcs11_uri(descriptor)?;
            Ok(Arc::new(
                trust_pkcs11::Pkcs11RootKey::open(&uri, pin_or_env(pin)?).map_err(custody)?,
            ))
        }
        #[cfg(feature = "aws-kms")]
        AWS_KMS => {
            let config = trust_kms::KmsConfig::from_descriptor(descriptor).map_err(kms)?;
            Ok(Arc::new(
                trust_kms::KmsRootKey::connect(config).map_err(kms)?,
            ))
        }
        other => Err(unsupported(other, "root key")),
    }
}

/// An Ed25519 signing key held in a device (audit checkpoints, GDPR receipts and export
/// manifests), with the descriptor to record. With `create`, an absent key pair is generated
/// inside the token first.
///
/// # Errors
/// As [`new_root`].
#[cfg_attr(not(feature = "pkcs11"), allow(unused_variables))]
pub fn open_signer(
    kind: &str,
    uri: &str,
    pin: Option<SecretString>,
    create: bool,
) -> Result<(Arc<dyn ExternalEd25519>, String), BackendError> {
    match kind {
        #[cfg(feature = "pkcs11")]
        PKCS11 => {
            let uri = pkcs11_uri(uri)?;
            let pin = pin_or_env(pin)?;
            let signer = if create {
                trust_pkcs11::Pkcs11Signer::create_or_open(&uri, pin)
            } else {
                trust_pkcs11::Pkcs11Signer::open(&uri, pin)
            }
            .map_err(custody)?;
            Ok((Arc::new(signer), uri.to_string()))
        }
        other => Err(unsupported(other, "signing key")),
    }
}

fn unsupported(kind: &str, what: &'static str) -> BackendError {
    // A recorded kind comes from a file: keep it short and printable in the message.
    let kind: String = kind
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(32)
        .collect();
    BackendError::UnsupportedKind { kind, what }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trust_core::error::TrustError as _;

    #[test]
    fn unknown_kinds_are_usage_errors_that_name_the_kind() {
        let Err(e) = open_root("vault-transit", "x", None) else {
            panic!("opened an unknown kind");
        };
        assert_eq!(e.category().exit_code(), 2);
        assert_eq!(e.code(), "ROOT_KIND_UNSUPPORTED");
        assert!(e.to_string().contains("vault-transit"), "{e}");
        let Err(e) = open_signer("aws-kms", "x", None, false) else {
            panic!("opened a KMS signing key");
        };
        assert_eq!(e.code(), "ROOT_KIND_UNSUPPORTED");
        let Err(e) = new_root("a\u{1b}[2Jb", "x", None) else {
            panic!("opened an unknown kind");
        };
        assert!(!e.to_string().contains('\u{1b}'), "{e}");
    }

    #[test]
    fn pins_are_read_from_a_named_variable_or_a_file_and_never_echoed() {
        use secrecy::ExposeSecret as _;
        assert!(read_pin(PinSource::Default).expect("default").is_none());
        let Err(e) = read_pin(PinSource::Env("TRUST_TEST_SURELY_UNSET_PIN_VARIABLE")) else {
            panic!("read an unset variable");
        };
        assert_eq!(e.code(), "INPUT_UNREADABLE");
        assert_eq!(e.category().exit_code(), 3);
        assert!(
            e.to_string()
                .contains("TRUST_TEST_SURELY_UNSET_PIN_VARIABLE")
        );
        // The value of a variable that is set (its content does not matter here).
        assert!(read_pin(PinSource::Env("PATH")).expect("PATH").is_some());

        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pin");
        std::fs::write(&file, "98765\r\n").expect("write");
        let pin = read_pin(PinSource::File(&file))
            .expect("file")
            .expect("some");
        assert_eq!(pin.expose_secret(), "98765");
        std::fs::write(&file, "\n").expect("write");
        let Err(e) = read_pin(PinSource::File(&file)) else {
            panic!("accepted an empty PIN");
        };
        assert_eq!((e.code(), e.category().exit_code()), ("USAGE", 2));
        std::fs::write(&file, [0xff, 0xfe]).expect("write");
        let Err(e) = read_pin(PinSource::File(&file)) else {
            panic!("accepted a non-UTF-8 PIN");
        };
        assert_eq!(e.code(), "USAGE");
        std::fs::write(&file, vec![b'7'; 4097]).expect("write");
        let Err(e) = read_pin(PinSource::File(&file)) else {
            panic!("accepted a huge PIN file");
        };
        assert_eq!(e.code(), "USAGE");
        assert!(!e.to_string().contains("7777"), "{e}");
        let Err(e) = read_pin(PinSource::File(&dir.path().join("absent"))) else {
            panic!("read an absent file");
        };
        assert_eq!(
            (e.code(), e.category().exit_code()),
            ("INPUT_UNREADABLE", 3)
        );
    }

    #[cfg(feature = "aws-kms")]
    #[test]
    fn a_new_kms_root_gets_a_fresh_store_id_and_refuses_bad_key_ids() {
        let a = new_kms_config("alias/trust-test").expect("a").descriptor();
        let b = new_kms_config("alias/trust-test").expect("b").descriptor();
        assert!(a.starts_with("aws-kms:key=alias/trust-test;store="), "{a}");
        assert_ne!(a, b, "every home gets its own store id");
        let back = trust_kms::KmsConfig::from_descriptor(&a).expect("parses");
        assert_eq!(back.store.len(), 16);
        let Err(e) = new_root(AWS_KMS, "not a key id", None) else {
            panic!("accepted a bad key id");
        };
        assert_eq!(e.code(), "KMS_KEY_ID_INVALID");
        assert_eq!(e.category().exit_code(), 2);
        let Err(e) = open_root(AWS_KMS, "aws-kms:key=k", None) else {
            panic!("accepted a bad descriptor");
        };
        assert_eq!(e.code(), "KMS_DESCRIPTOR_INVALID");
        // Resuming reopens the pending root only for the same key.
        assert!(
            resume_root(AWS_KMS, "alias/other", AWS_KMS, &a, None)
                .expect("no match")
                .is_none()
        );
        assert!(
            resume_root(AWS_KMS, "alias/trust-test", PKCS11, &a, None)
                .expect("no match")
                .is_none()
        );
    }

    #[cfg(feature = "pkcs11")]
    #[test]
    fn pkcs11_uris_are_checked_before_any_module_is_loaded() {
        let Err(e) = new_root(PKCS11, "pkcs11:token=t;object=o;pin-value=1234", None) else {
            panic!("accepted a PIN in the URI");
        };
        assert_eq!(e.category().exit_code(), 2);
        let Err(e) = open_signer(PKCS11, "not-a-uri", None, true) else {
            panic!("accepted a bad URI");
        };
        assert_eq!(e.category().exit_code(), 2);
    }
}
