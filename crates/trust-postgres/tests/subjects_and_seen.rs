//! Subject keys and webhook seen ids on a real PostgreSQL (TRUST_TEST_POSTGRES_URL; skipped
//! with a printed reason when unset, failing when CI=true).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::{Arc, Barrier};
use std::time::Duration;

use trust_core::error::TrustError;
use trust_core::event::MemorySink;
use trust_core::gdpr::{
    EraseOptions, GdprError, RecordState, Signer, SubjectKeyStore, SubjectKeys,
};
use trust_core::keyring::{Home, InitSource, Policy, Unlock};
use trust_core::provider::{KeyError, Suite};
use trust_core::webhook::SeenStore;
use trust_postgres::testing::TestSchema;
use trust_postgres::{Database, PgSeenStore, PgSubjectStore, init_home, open_home};

struct Worker {
    keys: SubjectKeys<Arc<Home>, PgSubjectStore>,
}

/// A worker with its own pool, as on another host.
fn worker(schema: &TestSchema, key: &std::path::Path, ttl: Duration) -> Worker {
    let db = Database::open(&schema.store_url()).expect("open");
    let home = Arc::new(open_home(&db, Unlock::KeyFile(key.to_path_buf())).expect("home"));
    Worker {
        keys: SubjectKeys::new(home, PgSubjectStore::new(db)).with_cache_ttl(ttl),
    }
}

fn setup(label: &str) -> Option<(TestSchema, tempfile::TempDir, std::path::PathBuf)> {
    let schema = TestSchema::create(label)?;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("root.key");
    init_home(&schema.open(), None, InitSource::KeyFile(key.clone()))
        .expect("init")
        .create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .expect("keyring");
    Some((schema, dir, key))
}

fn erase_opts() -> EraseOptions<'static> {
    let mut opts = EraseOptions::new(jiff::Timestamp::now(), jiff::SignedDuration::from_hours(24));
    opts.request = Some("T-1");
    opts.actor = Some("ops@example.com");
    opts
}

#[test]
fn a_subject_key_creation_race_returns_one_stored_key() {
    let Some((schema, _dir, key)) = setup("subj_race") else {
        return;
    };
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let w = worker(&schema, &key, Duration::from_secs(2));
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let k = w
                    .keys
                    .encryption_key_for("orders", "customer-1")
                    .expect("key");
                k.kek.expose().to_vec()
            })
        })
        .collect();
    let keys: Vec<Vec<u8>> = threads
        .into_iter()
        .map(|t| t.join().expect("join"))
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] == w[1]),
        "every worker got the stored key"
    );
}

#[test]
fn a_tombstone_is_final_and_reaches_other_workers_within_the_cache_ttl() {
    let Some((schema, _dir, key)) = setup("subj_erase") else {
        return;
    };
    let ttl = Duration::from_millis(300);
    let a = worker(&schema, &key, ttl);
    let b = worker(&schema, &key, ttl);
    // B seals for the subject: its key is now warm in B's cache.
    let before = b
        .keys
        .encryption_key_for("orders", "customer-1")
        .expect("key");
    let tag = before.key_ref.subject.clone().expect("subject tag");

    let (signer, _) = Signer::generate().expect("signer");
    a.keys
        .erase(
            "orders",
            "customer-1",
            &erase_opts(),
            &signer,
            &MemorySink::new(),
        )
        .expect("erase");
    // A itself stops at once.
    let err = a
        .keys
        .encryption_key_for("orders", "customer-1")
        .expect_err("erased");
    assert!(
        matches!(err, GdprError::Key(KeyError::SubjectErased { .. })),
        "{err:?}"
    );
    // B stops once its cached copy is older than the TTL: the documented bound.
    std::thread::sleep(ttl + Duration::from_millis(50));
    let err = b
        .keys
        .encryption_key_for("orders", "customer-1")
        .expect_err("bound");
    assert!(
        matches!(err, GdprError::Key(KeyError::SubjectErased { .. })),
        "{err:?}"
    );
    assert_eq!(err.category().exit_code(), 4);
    let err = b.keys.decryption_key_for_test(&before.key_ref);
    assert!(err, "opening is refused too");

    // Nothing can bring the key back: not a stale worker's replace, not a create.
    let store = PgSubjectStore::new(schema.open());
    let tomb = store.load("orders", &tag).expect("load").expect("row");
    assert!(matches!(tomb.state, RecordState::Erased { .. }));
    let mut resurrect = tomb.clone();
    resurrect.state = RecordState::Active {
        nonce: "AAAAAAAAAAAAAAAA".into(),
        wrapped: "AAAA".into(),
    };
    assert!(store.replace(&resurrect).is_err());
    let back = store
        .create(&resurrect)
        .expect("create returns the stored record");
    assert!(matches!(back.state, RecordState::Erased { .. }));
    store.replace(&tomb).expect("a second tombstone is a no-op");
}

/// `decryption_key` through the KeyProvider trait, reduced to "was it refused".
trait RefusedForTest {
    fn decryption_key_for_test(&self, key_ref: &trust_core::provider::KeyRef) -> bool;
}

impl RefusedForTest for SubjectKeys<Arc<Home>, PgSubjectStore> {
    fn decryption_key_for_test(&self, key_ref: &trust_core::provider::KeyRef) -> bool {
        use trust_core::provider::KeyProvider;
        self.decryption_key(key_ref).is_err()
    }
}

#[test]
fn one_delivery_id_racing_on_eight_workers_is_admitted_once_then_again_after_expiry() {
    let Some(schema) = TestSchema::create("seen_race") else {
        return;
    };
    let barrier = Arc::new(Barrier::new(8));
    let now = jiff::Timestamp::now().as_second();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let store = PgSeenStore::new(Database::open(&schema.store_url()).expect("open"));
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                store
                    .insert_if_absent("shopify:delivery-1", now + 1, now)
                    .expect("insert")
            })
        })
        .collect();
    let admitted = threads
        .into_iter()
        .map(|t| t.join().expect("join"))
        .filter(|&new| new)
        .count();
    assert_eq!(admitted, 1);

    let store = PgSeenStore::new(schema.open());
    assert!(
        !store
            .insert_if_absent("shopify:delivery-1", now + 1, now)
            .expect("dup")
    );
    assert!(
        store
            .insert_if_absent("shopify:delivery-2", now + 60, now)
            .expect("other id")
    );
    // After the (server-clock) expiry the id is admitted again.
    std::thread::sleep(Duration::from_millis(1300));
    assert!(
        store
            .insert_if_absent("shopify:delivery-1", now + 60, now)
            .expect("expired")
    );
    assert!(
        store
            .insert_if_absent(&"x".repeat(513), now + 60, now)
            .is_err()
    );
}

#[test]
fn an_unreachable_database_fails_closed() {
    let Some(schema) = TestSchema::create("seen_down") else {
        return;
    };
    let store = PgSeenStore::new(schema.open());
    schema.execute("DROP TABLE trust_seen_ids");
    let now = jiff::Timestamp::now().as_second();
    assert!(store.insert_if_absent("id", now + 60, now).is_err());
}

#[test]
fn the_request_register_loses_no_concurrent_change_and_refuses_duplicates() {
    use trust_core::gdpr::RequestRegister;
    use trust_core::gdpr::{Regime, Request, RequestKind};
    use trust_postgres::PgRequestRegister;
    let Some(schema) = TestSchema::create("register") else {
        return;
    };
    let request = |id: &str| {
        Request::new(
            id,
            RequestKind::Erasure,
            "subject-tag",
            "2026-01-05T10:00:00Z".parse().unwrap(),
            Regime::eu_gdpr(),
        )
        .unwrap()
    };
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let reg = PgRequestRegister::new(Database::open(&schema.store_url()).expect("open"));
            let r = request(&format!("T-{i}"));
            std::thread::spawn(move || {
                let (_, events) = reg
                    .update(&mut |log, sink| log.add(r.clone(), sink))
                    .expect("add");
                assert_eq!(events.len(), 1);
            })
        })
        .collect();
    for t in threads {
        t.join().expect("join");
    }
    let reg = PgRequestRegister::new(schema.open());
    let log = reg.load().expect("load");
    assert_eq!(log.requests.len(), 8);
    let err = reg
        .update(&mut |log, sink| log.add(request("T-3"), sink))
        .expect_err("duplicate");
    assert!(matches!(err, GdprError::DuplicateRequest), "{err:?}");
    let at = "2026-01-06T10:00:00Z".parse().unwrap();
    let (log2, _) = reg
        .update(&mut |log, sink| log.get_mut("T-3")?.start(at, sink))
        .expect("start");
    assert_eq!(reg.load().expect("load"), log2);
    // A hand-edited row is detected.
    schema.execute("UPDATE trust_gdpr_requests SET record = '\\x7b7d' WHERE id = 'T-1'");
    assert!(reg.load().is_err());
}
