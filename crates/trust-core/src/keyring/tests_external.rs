//! Homes whose root key is external (an HSM, a KMS): the recorded descriptor, the check value,
//! and backend failures that must not read as tampering.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use zeroize::Zeroizing;

use super::*;
use crate::error::{Category, TrustError};
use crate::kek::{BackendError, LocalRootKey, RootKey, RootKeyError};
use crate::keys::{KeyProvider, Suite};
use crate::secret::Key256;

/// Stands in for an HSM: a local key under another kind name, which can be switched "off".
struct FakeHsm {
    key: LocalRootKey,
    down: AtomicBool,
}

impl FakeHsm {
    fn new(byte: u8) -> Arc<Self> {
        Arc::new(Self {
            key: LocalRootKey::new(&Key256::from_bytes([byte; 32])),
            down: AtomicBool::new(false),
        })
    }

    fn check(&self) -> Result<(), RootKeyError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(RootKeyError::Backend(BackendError::new(
                "TEST_HSM_DOWN",
                Category::KeyUnavailable,
                "the test HSM is switched off",
            )));
        }
        Ok(())
    }
}

impl RootKey for FakeHsm {
    fn kind(&self) -> &'static str {
        "test-hsm"
    }
    fn wrap(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, RootKeyError> {
        self.check()?;
        self.key.wrap(aad, plaintext)
    }
    fn unwrap(&self, aad: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, RootKeyError> {
        self.check()?;
        self.key.unwrap(aad, wrapped)
    }
}

const URI: &str = "pkcs11:token=t;object=root?module-path=/usr/lib/x.so";

fn external_home(dir: &Path, hsm: &Arc<FakeHsm>) -> Home {
    Home::init(
        dir,
        InitSource::External {
            root: hsm.clone(),
            uri: URI.into(),
        },
    )
    .unwrap()
}

#[test]
fn an_external_home_records_its_descriptor_and_reopens_with_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let hsm = FakeHsm::new(1);
    let home = external_home(dir.path(), &hsm);
    home.create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    let k = home.encryption_key("orders").unwrap();
    assert_eq!(
        Home::root_kind(dir.path()).unwrap(),
        RootKind::External {
            kind: "test-hsm".into(),
            uri: URI.into()
        }
    );
    let json = std::fs::read_to_string(dir.path().join("home.json")).unwrap();
    assert!(json.contains(r#""kind": "external""#), "{json}");
    assert!(json.contains(r#""backend": "test-hsm""#), "{json}");

    let again = Home::open(dir.path(), Unlock::Root(hsm.clone())).unwrap();
    assert_eq!(
        again.decryption_key(&k.key_ref).unwrap().expose(),
        k.kek.expose()
    );
}

#[test]
fn another_key_the_wrong_unlock_or_an_edited_descriptor_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let hsm = FakeHsm::new(1);
    external_home(dir.path(), &hsm);

    let err = Home::open(dir.path(), Unlock::Root(FakeHsm::new(2))).unwrap_err();
    assert_eq!(err, KeyringError::Root(RootKeyError::WrongExternalRoot));
    assert_eq!(err.category().exit_code(), 4);
    assert_eq!(err.code(), "WRONG_EXTERNAL_ROOT");

    for unlock in [Unlock::Stored, Unlock::Passphrase(b"x".to_vec().into())] {
        assert!(matches!(
            Home::open(dir.path(), unlock).unwrap_err(),
            KeyringError::Usage(_)
        ));
    }
    let local: Arc<dyn RootKey> = Arc::new(LocalRootKey::new(&Key256::from_bytes([1; 32])));
    assert!(matches!(
        Home::open(dir.path(), Unlock::Root(local)).unwrap_err(),
        KeyringError::Usage(_)
    ));

    // Pointing the record at another token object breaks the check value, even with the
    // right key: the descriptor is authenticated.
    let path = dir.path().join("home.json");
    let json = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, json.replace("object=root", "object=evil")).unwrap();
    assert_eq!(
        Home::open(dir.path(), Unlock::Root(hsm)).unwrap_err(),
        KeyringError::Root(RootKeyError::WrongExternalRoot)
    );
}

#[test]
fn a_key_file_home_refuses_an_external_unlock() {
    let dir = tempfile::tempdir().unwrap();
    Home::init(dir.path(), InitSource::KeyFile(dir.path().join("root.key"))).unwrap();
    assert!(matches!(
        Home::open(dir.path(), Unlock::Root(FakeHsm::new(1))).unwrap_err(),
        KeyringError::Usage(_)
    ));
}

#[test]
fn bad_descriptors_are_refused_at_init_and_on_read() {
    let dir = tempfile::tempdir().unwrap();
    for uri in [String::new(), "a\nb".into(), "x".repeat(MAX_ROOT_URI + 1)] {
        let e = Home::init(
            dir.path(),
            InitSource::External {
                root: FakeHsm::new(1),
                uri,
            },
        )
        .unwrap_err();
        assert!(matches!(e, KeyringError::Usage(_)), "{e:?}");
        assert!(!dir.path().join("home.json").exists());
    }
    external_home(dir.path(), &FakeHsm::new(1));
    let path = dir.path().join("home.json");
    let json = std::fs::read_to_string(&path).unwrap();
    for (from, to) in [
        ("\"test-hsm\"", "\"Test HSM\""),
        ("object=root", "object=\\u001b[31m"),
    ] {
        std::fs::write(&path, json.replace(from, to)).unwrap();
        assert_eq!(
            Home::root_kind(dir.path()).unwrap_err(),
            KeyringError::HomeCorrupt("the external root descriptor is invalid")
        );
    }
}

/// An HSM that stops answering is a key-unavailable error with the backend's own code, at
/// open and when a keyring is re-read — never "keyring corrupt" (which would send an operator
/// hunting for tampering).
#[test]
fn a_backend_failure_keeps_its_code_and_is_not_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let hsm = FakeHsm::new(1);
    let home = external_home(dir.path(), &hsm);
    home.create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    hsm.down.store(true, Ordering::SeqCst);
    let e = Home::open(dir.path(), Unlock::Root(hsm.clone())).unwrap_err();
    assert_eq!(e.code(), "TEST_HSM_DOWN");
    assert_eq!(e.category().exit_code(), 4);
    let e = home.keyring("orders").unwrap_err();
    assert_eq!(e.code(), "TEST_HSM_DOWN");
    let e = home.rotate("orders", true).unwrap_err();
    assert_eq!(e.code(), "TEST_HSM_DOWN");
    hsm.down.store(false, Ordering::SeqCst);
    home.rotate("orders", true).unwrap();
}
