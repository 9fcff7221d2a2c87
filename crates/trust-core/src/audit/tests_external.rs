//! Logs whose checkpoint key is held in a device (an HSM): no key file, same notes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ring::signature::{Ed25519KeyPair, KeyPair};

use super::checkpoint::SignedCheckpoint;
use super::note::{ExternalEd25519, NoteError, Signer};
use super::*;
use crate::error::{Category, TrustError};
use crate::root::BackendError;

/// Stands in for an HSM key: signs with a ring key pair, can be switched off or made faulty.
struct FakeHsmKey {
    pair: Ed25519KeyPair,
    down: AtomicBool,
    faulty: AtomicBool,
}

impl FakeHsmKey {
    fn new(seed: u8) -> Arc<Self> {
        Arc::new(Self {
            pair: Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap(),
            down: AtomicBool::new(false),
            faulty: AtomicBool::new(false),
        })
    }
}

impl ExternalEd25519 for FakeHsmKey {
    fn public_key(&self) -> [u8; 32] {
        self.pair.public_key().as_ref().try_into().unwrap()
    }
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], BackendError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BackendError::new(
                "TEST_HSM_DOWN",
                Category::KeyUnavailable,
                "the test HSM is off",
            ));
        }
        let mut sig: [u8; 64] = self.pair.sign(message).as_ref().try_into().unwrap();
        if self.faulty.load(Ordering::SeqCst) {
            sig[0] ^= 1;
        }
        Ok(sig)
    }
}

fn external(key: &Arc<FakeHsmKey>) -> ExternalSigner {
    ExternalSigner {
        key: key.clone(),
        descriptor: SignerDescriptor {
            kind: "pkcs11".into(),
            uri: "pkcs11:token=t;object=audit?module-path=/x.so".into(),
        },
    }
}

const ORIGIN: &str = "example.com/audit";

#[test]
fn an_hsm_key_signs_checkpoints_and_no_key_file_exists() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    let key = FakeHsmKey::new(7);
    let mut options = InitOptions::new(ORIGIN);
    options.external_signer = Some(external(&key));
    let vkey = AuditLog::init(&log_dir, &options).unwrap();
    assert!(!log_dir.join(files::SIGNING_KEY).exists());
    // The same public key as a software signer over the same seed: auditors cannot tell.
    let software = Signer::from_seed(ORIGIN, &[7; 32]).unwrap();
    assert_eq!(vkey.vkey(), software.verifier().vkey());
    assert_eq!(
        AuditLog::signer_descriptor(&log_dir).unwrap(),
        Some(external(&key).descriptor)
    );

    // Without the key, or with another one, the log does not open for writing.
    assert_eq!(
        AuditLog::open(&log_dir).unwrap_err().code(),
        "AUDIT_SIGNER_MISMATCH"
    );
    let other: Arc<dyn ExternalEd25519> = FakeHsmKey::new(8);
    let e = AuditLog::open_with_signer(&log_dir, Some(other)).unwrap_err();
    assert_eq!(e.category(), Category::KeyUnavailable);

    let log = AuditLog::open_with_signer(&log_dir, Some(key.clone())).unwrap();
    log.append(&Entry {
        event_type: "key.rotate".into(),
        ..Entry::default()
    })
    .unwrap();
    let cp = log.checkpoint().unwrap();
    SignedCheckpoint::open(
        cp.note.as_bytes(),
        std::slice::from_ref(&vkey),
        Some(ORIGIN),
    )
    .unwrap();

    // The device fails: the backend's own code, and nothing is stored.
    key.down.store(true, Ordering::SeqCst);
    log.append(&Entry {
        event_type: "key.rotate".into(),
        ..Entry::default()
    })
    .unwrap();
    let e = log.checkpoint().unwrap_err();
    assert_eq!(e.code(), "TEST_HSM_DOWN");
    assert_eq!(e.category(), Category::KeyUnavailable);
    // A device returning a wrong signature is caught before anything is published.
    key.down.store(false, Ordering::SeqCst);
    key.faulty.store(true, Ordering::SeqCst);
    assert!(matches!(
        log.checkpoint().unwrap_err(),
        AuditError::Checkpoint(_) | AuditError::Note(NoteError::SignFailed)
    ));
    assert_eq!(log.checkpoints().unwrap().len(), 1);
    key.faulty.store(false, Ordering::SeqCst);
    assert_eq!(log.checkpoint().unwrap().checkpoint.size, 2);
}

#[test]
fn a_key_file_log_refuses_an_external_key_and_descriptors_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    AuditLog::init(&log_dir, &InitOptions::new(ORIGIN)).unwrap();
    assert_eq!(AuditLog::signer_descriptor(&log_dir).unwrap(), None);
    let key: Arc<dyn ExternalEd25519> = FakeHsmKey::new(1);
    assert_eq!(
        AuditLog::open_with_signer(&log_dir, Some(key))
            .unwrap_err()
            .code(),
        "AUDIT_SIGNER_MISMATCH"
    );
    AuditLog::open_with_signer(&log_dir, None).unwrap();

    let bad = dir.path().join("bad");
    let mut options = InitOptions::new(ORIGIN);
    let mut ext = external(&FakeHsmKey::new(2));
    ext.descriptor.uri = "pkcs11:\u{1b}[31m".into();
    options.external_signer = Some(ext);
    assert!(AuditLog::init(&bad, &options).is_err());
    assert!(!bad.join(files::CONFIG).exists());
}
