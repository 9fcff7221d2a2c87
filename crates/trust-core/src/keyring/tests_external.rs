//! Homes whose root key is external (an HSM, a KMS): the recorded descriptor, the check value,
//! and backend failures that must not read as tampering.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use zeroize::Zeroizing;

use super::*;
use crate::error::{Category, TrustError};
use crate::provider::{KeyProvider, KeyRef, Suite};
use crate::root::{BackendError, LocalRootKey, RootKey, RootKeyError};
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
    let e = home.rotate("orders", Rollout::Immediate).unwrap_err();
    assert_eq!(e.code(), "TEST_HSM_DOWN");
    hsm.down.store(false, Ordering::SeqCst);
    home.rotate("orders", Rollout::Immediate).unwrap();
}

/// A home with two keyrings and messages sealed under several versions.
fn populated_key_file_home(
    dir: &Path,
) -> (Vec<(KeyRef, Arc<Key256>)>, Arc<crate::event::MemorySink>) {
    let sink = Arc::new(crate::event::MemorySink::default());
    let home = Home::init(dir, InitSource::KeyFile(dir.join("root.key"))).unwrap();
    let mut keys = Vec::new();
    for name in ["orders", "tokens"] {
        home.create_keyring(name, Suite::Aes256Gcm, Policy::default())
            .unwrap();
        let k = home.encryption_key(name).unwrap();
        keys.push((k.key_ref, k.kek));
        home.rotate(name, Rollout::Immediate).unwrap();
        let k = home.encryption_key(name).unwrap();
        keys.push((k.key_ref, k.kek));
    }
    (keys, sink)
}

#[test]
fn rewrap_root_moves_a_key_file_home_to_an_hsm_without_touching_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, sink) = populated_key_file_home(dir.path());
    let hsm = FakeHsm::new(9);
    let moved = Home::rewrap_root(
        dir.path(),
        Unlock::Stored,
        hsm.clone(),
        URI.into(),
        Some(sink.clone()),
        Some("ops".into()),
    )
    .unwrap();
    assert_eq!(moved, 2);
    assert!(!dir.path().join("home.next.json").exists());
    // The old root no longer opens the home; the HSM does, with the same version keys.
    assert!(matches!(
        Home::open(dir.path(), Unlock::Stored).unwrap_err(),
        KeyringError::Usage(_)
    ));
    let home = Home::open(dir.path(), Unlock::Root(hsm.clone())).unwrap();
    for (key_ref, kek) in &keys {
        assert_eq!(home.decryption_key(key_ref).unwrap().expose(), kek.expose());
    }
    home.rotate("orders", Rollout::Immediate).unwrap();
    let events = sink.events();
    let last = events.last().unwrap();
    assert_eq!(last.kind, "root.rewrap");
    // Again to the same root: refused, nothing changes.
    assert!(matches!(
        Home::rewrap_root(
            dir.path(),
            Unlock::Root(hsm.clone()),
            hsm,
            URI.into(),
            None,
            None
        )
        .unwrap_err(),
        KeyringError::Usage(_)
    ));
}

/// The HSM dies half-way: the home refuses to open in its mixed state, and running the
/// migration again finishes it.
#[test]
fn an_interrupted_rewrap_root_is_refused_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, _) = populated_key_file_home(dir.path());
    let flaky = Arc::new(FlakyHsm {
        inner: FakeHsm::new(9),
        wraps_left: std::sync::atomic::AtomicI32::new(4),
    });
    let e = Home::rewrap_root(
        dir.path(),
        Unlock::Stored,
        flaky.clone(),
        URI.into(),
        None,
        None,
    )
    .unwrap_err();
    assert_eq!(e.code(), "TEST_HSM_DOWN");
    assert!(dir.path().join("home.next.json").exists());
    // Mixed state: neither root may open the home.
    assert!(matches!(
        Home::open(dir.path(), Unlock::Stored).unwrap_err(),
        KeyringError::Usage(_)
    ));
    assert!(matches!(
        Home::open(dir.path(), Unlock::Root(flaky.inner.clone())).unwrap_err(),
        KeyringError::Usage(_)
    ));
    // Another target is refused while this one is pending.
    assert!(matches!(
        Home::rewrap_root(
            dir.path(),
            Unlock::Stored,
            FakeHsm::new(3),
            "pkcs11:token=t;object=other?module-path=/usr/lib/x.so".into(),
            None,
            None
        )
        .unwrap_err(),
        KeyringError::Usage(_)
    ));
    flaky.wraps_left.store(i32::MAX, Ordering::SeqCst);
    assert_eq!(
        Home::rewrap_root(
            dir.path(),
            Unlock::Stored,
            flaky.clone(),
            URI.into(),
            None,
            None
        )
        .unwrap(),
        2
    );
    let home = Home::open(dir.path(), Unlock::Root(flaky.inner.clone())).unwrap();
    for (key_ref, kek) in &keys {
        assert_eq!(home.decryption_key(key_ref).unwrap().expose(), kek.expose());
    }
}

/// A test HSM that goes down after a number of wraps.
struct FlakyHsm {
    inner: Arc<FakeHsm>,
    wraps_left: std::sync::atomic::AtomicI32,
}

impl RootKey for FlakyHsm {
    fn kind(&self) -> &'static str {
        "test-hsm"
    }
    fn wrap(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, RootKeyError> {
        if self.wraps_left.fetch_sub(1, Ordering::SeqCst) <= 0 {
            self.inner.down.store(true, Ordering::SeqCst);
            let r = self.inner.wrap(aad, plaintext);
            self.inner.down.store(false, Ordering::SeqCst);
            return r;
        }
        self.inner.wrap(aad, plaintext)
    }
    fn unwrap(&self, aad: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, RootKeyError> {
        self.inner.unwrap(aad, wrapped)
    }
}
