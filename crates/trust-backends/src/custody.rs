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

use std::sync::Arc;

use secrecy::SecretString;
use trust_core::audit::ExternalEd25519;
use trust_core::root::RootKey;

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
        .map_err(|_| BackendError::Custody(trust_core::root::RootKeyError::Random))?;
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
