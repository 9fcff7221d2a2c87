//! The vault, MFA factors and the GDPR signing key on a real PostgreSQL
//! (TRUST_TEST_POSTGRES_URL; skipped with a printed reason when unset, failing when CI=true).
//!
//! The races run in two processes: the test binary starts itself twice as a worker (selected
//! by `TRUST_PG_WORKER`), each with its own connection pool, as two hosts would.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use trust_core::error::{Category, TrustError};
use trust_core::keyring::{Home, HomeOptions, InitSource, Policy, Unlock};
use trust_core::mfa::{self, EnrollOptions, Mfa, MfaStore, TotpParams};
use trust_core::provider::Suite;
use trust_core::secret::{ExposeSecret, SecretBytes};
use trust_core::vault::{
    PutOptions, RefreshOutcome, Refreshed, SecretName, Vault, VaultError, VaultStore,
    VaultStoreError,
};
use trust_postgres::testing::TestSchema;
use trust_postgres::{
    Database, PgMfaStore, PgVaultStore, init_home, load_or_create_signer, open_home,
};

const WORKER_VAR: &str = "TRUST_PG_WORKER";

fn setup(label: &str) -> Option<(TestSchema, tempfile::TempDir, PathBuf)> {
    let schema = TestSchema::create(label)?;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("root.key");
    let home = init_home(&schema.open(), None, InitSource::KeyFile(key.clone())).expect("init");
    for name in ["vault", "mfa", "gdpr"] {
        home.create_keyring(name, Suite::Aes256Gcm, Policy::default())
            .expect("keyring");
    }
    Some((schema, dir, key))
}

/// A worker's home with its own pool, as on another host.
fn home(url: &str, key: &Path) -> (Database, Arc<Home>) {
    let db =
        Database::open(&trust_core::store_url::StoreUrl::parse(url).expect("url")).expect("open");
    let home = Arc::new(open_home(&db, Unlock::KeyFile(key.to_path_buf())).expect("home"));
    (db, home)
}

fn vault(url: &str, key: &Path) -> Vault {
    let (db, home) = home(url, key);
    Vault::new(Arc::new(PgVaultStore::new(db)), home, "vault")
}

fn name(s: &str) -> SecretName {
    s.parse().expect("name")
}

#[test]
fn vault_rows_hold_sealed_values_and_edited_rows_are_detected() {
    let Some((schema, _dir, key)) = setup("vault_rows") else {
        return;
    };
    let v = vault(schema.url(), &key);
    let shop = name("acme/shopify");
    let stripe = name("acme/stripe");
    v.put(
        "sync",
        &shop,
        b"shpat_0123456789abcdef",
        PutOptions::default(),
    )
    .expect("put");
    v.put(
        "sync",
        &stripe,
        b"sk_live_abcdefghijklmnop",
        PutOptions::default(),
    )
    .expect("put");
    assert_eq!(
        v.rotate(
            "sync",
            &shop,
            b"shpat_second_value_99",
            PutOptions::default()
        )
        .expect("rotate"),
        2
    );
    let got = v.get("sync", &shop, "order sync").expect("get");
    assert_eq!(got.value.expose_secret(), b"shpat_second_value_99");
    assert_eq!(got.version, 2);
    assert_eq!(
        v.get_version("sync", &shop, 1, "audit")
            .expect("v1")
            .value
            .expose_secret(),
        b"shpat_0123456789abcdef"
    );
    let listed = v.list(Some("acme")).expect("list");
    assert_eq!(listed.len(), 2);
    // Refused reads stay refused on the database store.
    let err = v.get("intern", &shop, "curious").expect_err("not a reader");
    assert!(matches!(err, VaultError::NotReader), "{err:?}");

    // The rows never hold a value in the clear.
    let db = schema.open();
    let rows: Vec<Vec<u8>> = db
        .transaction(|tx| {
            Ok(tx
                .query("SELECT record FROM trust_vault_secrets", &[])
                .map_err(|e| db.error(&e))?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })
        .expect("rows");
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let text = String::from_utf8_lossy(row);
        assert!(!text.contains("shpat_"), "plaintext in a row: {text}");
        assert!(!text.contains("sk_live_"), "plaintext in a row: {text}");
    }

    // A sealed value moved to another secret's row does not open (bound to tenant and name).
    schema.execute(
        "UPDATE trust_vault_secrets SET record = convert_to(replace(convert_from(record, 'UTF8'), \
         '\"name\":\"stripe\"', '\"name\":\"shopify\"'), 'UTF8') WHERE name = 'stripe'",
    );
    let err = v
        .get("sync", &stripe, "sync")
        .expect_err("names another secret");
    assert!(
        matches!(err, VaultError::Store(VaultStoreError::Corrupt(_))),
        "{err:?}"
    );
    assert_eq!(err.category(), Category::Verification);
    schema.execute(
        "UPDATE trust_vault_secrets SET record = (SELECT record FROM trust_vault_secrets \
         WHERE name = 'stripe'), revision = (SELECT revision FROM trust_vault_secrets \
         WHERE name = 'stripe') WHERE name = 'shopify'",
    );
    // The copied record names `shopify` now, but its sealed value was bound to `stripe`.
    let err = v.get("sync", &shop, "sync").expect_err("moved value");
    assert!(matches!(err, VaultError::Envelope(_)), "{err:?}");
    assert_eq!(err.category().exit_code(), 1);

    // A revision column that disagrees with the record is corrupt, and never overwritten.
    let store = PgVaultStore::new(schema.open());
    let zendesk = name("acme/zendesk");
    v.put(
        "sync",
        &zendesk,
        b"zendesk-token-123456",
        PutOptions::default(),
    )
    .expect("put");
    schema.execute("UPDATE trust_vault_secrets SET revision = revision + 7 WHERE name = 'zendesk'");
    let err = store.load(&zendesk).expect_err("revision edited");
    assert!(matches!(err, VaultStoreError::Corrupt(_)), "{err}");
    let err = v
        .rotate(
            "sync",
            &zendesk,
            b"zendesk-token-654321",
            PutOptions::default(),
        )
        .expect_err("no write over a corrupt row");
    assert_eq!(err.category(), Category::Verification);
}

#[test]
fn vault_and_mfa_store_failures_are_exit_3_without_the_password_and_reconnect() {
    let Some((schema, _dir, key)) = setup("vault_down") else {
        return;
    };
    let (db, home) = home(schema.url(), &key);
    let v = Vault::new(Arc::new(PgVaultStore::new(db.clone())), home, "vault");
    let m = PgMfaStore::new(db);
    v.put(
        "sync",
        &name("acme/a"),
        b"value-one-1234",
        PutOptions::default(),
    )
    .expect("put");
    // Dropped connections (a server restart): the next call reconnects by itself.
    assert!(schema.kill_connections() > 0);
    assert_eq!(v.list(None).expect("reconnected").len(), 1);
    assert!(m.devices("ops").expect("reconnected").is_empty());
    // A store that cannot answer at all: exit 3, and the message never holds the password.
    let password = url_password(schema.url());
    drop(schema);
    let err = v.list(None).expect_err("schema gone");
    assert_eq!(err.category().exit_code(), 3, "{err}");
    assert!(!err.to_string().contains(&password), "{err}");
    let err = m.devices("ops").expect_err("schema gone");
    assert_eq!(err.category().exit_code(), 3, "{err}");
    assert!(!err.to_string().contains(&password), "{err}");
}

/// The URL's `user:password@` part, which no message may contain.
fn url_password(url: &str) -> String {
    let creds = url
        .split("://")
        .nth(1)
        .and_then(|r| r.split('@').next())
        .unwrap_or("");
    format!("{creds}@")
}

#[test]
fn mfa_on_postgres_refuses_replays_and_keeps_secrets_bound_to_their_user() {
    let Some((schema, _dir, key)) = setup("mfa_rows") else {
        return;
    };
    let (db, home) = home(schema.url(), &key);
    let store = Arc::new(PgMfaStore::new(db.clone()));
    let service = Mfa::new(store.clone(), home, "mfa");
    // RFC 6238 appendix B's SHA-1 seed, "12345678901234567890".
    let seed = b"12345678901234567890".to_vec();
    let params = TotpParams::default();
    for user in ["alice", "bob"] {
        service
            .enroll(
                user,
                mfa::DEFAULT_DEVICE,
                EnrollOptions::new(params, Some(rfc_seed())),
            )
            .expect("enroll");
    }
    let err = service
        .enroll("alice", mfa::DEFAULT_DEVICE, EnrollOptions::default())
        .expect_err("enrolled twice");
    assert_eq!(err.category(), Category::Usage, "{err}");

    let now = trust_core::clock::from_unix_seconds(1_111_111_109);
    let step = params.step_at(1_111_111_109).expect("step");
    let code = mfa::code_at_step(&seed, &params, step);
    assert_eq!(
        code.as_str(),
        "081804",
        "RFC 6238 appendix B, SHA-1, T=1111111109"
    );
    assert_eq!(
        service
            .verify_at("alice", mfa::DEFAULT_DEVICE, &code, now)
            .expect("accepted"),
        step
    );
    service
        .verify_at("alice", mfa::DEFAULT_DEVICE, &code, now)
        .expect_err("the same code twice");
    // The guard only moves forward: an older step is refused by the store itself.
    assert!(
        !store
            .advance_step("alice", mfa::DEFAULT_DEVICE, step - 1)
            .expect("cas")
    );
    assert!(
        store
            .advance_step("alice", mfa::DEFAULT_DEVICE, step + 5)
            .expect("cas")
    );
    assert!(matches!(
        store.advance_step("nobody", mfa::DEFAULT_DEVICE, 1),
        Err(mfa::MfaStoreError::NotFound)
    ));

    // Bob's sealed secret copied into Alice's row does not open: it is bound to Bob.
    schema.execute(
        "UPDATE trust_mfa_factors SET sealed = (SELECT sealed FROM trust_mfa_factors \
         WHERE user_id = 'bob'), last_step = NULL WHERE user_id = 'alice'",
    );
    let later = trust_core::clock::from_unix_seconds(1_111_112_000);
    let code = mfa::code_at_step(&seed, &params, params.step_at(1_111_112_000).expect("s"));
    service
        .verify_at("alice", mfa::DEFAULT_DEVICE, &code, later)
        .expect_err("moved secret");
    // An edited parameter that no longer validates is corrupt.
    schema.execute("UPDATE trust_mfa_factors SET digits = 7 WHERE user_id = 'bob'");
    let err = store
        .factor("bob", mfa::DEFAULT_DEVICE)
        .expect_err("digits 7");
    assert_eq!(err.category(), Category::Verification);

    // Recovery codes: single use, across pools.
    let codes = service.new_recovery_codes("bob").expect("codes");
    assert_eq!(
        store.remaining_recovery_codes("bob").expect("left"),
        codes.len()
    );
    let other = Mfa::new(
        Arc::new(PgMfaStore::new(schema.open())),
        home_only(schema.url(), &key),
        "mfa",
    );
    other
        .redeem_recovery_code("bob", codes[0].expose_secret())
        .expect("first use");
    service
        .redeem_recovery_code("bob", codes[0].expose_secret())
        .expect_err("second use");
    assert_eq!(
        store.remaining_recovery_codes("bob").expect("left"),
        codes.len() - 1
    );

    // Device limit, policy, removal.
    for i in 1..mfa::MAX_DEVICES {
        service
            .enroll("dave", &format!("d{i}"), EnrollOptions::default())
            .expect("enroll device");
    }
    service
        .enroll("dave", "d0", EnrollOptions::default())
        .expect("the sixteenth");
    let err = service
        .enroll("dave", "d16", EnrollOptions::default())
        .expect_err("seventeenth");
    assert_eq!(err.category(), Category::Usage, "{err}");
    assert_eq!(
        store.devices("dave").expect("devices").len(),
        mfa::MAX_DEVICES
    );
    assert!(!store.require_for_destructive().expect("policy"));
    store.set_require_for_destructive(true).expect("on");
    assert!(
        PgMfaStore::new(db)
            .require_for_destructive()
            .expect("policy")
    );
    assert!(store.any_enrolled().expect("any"));
    assert!(service.remove("dave").expect("remove"));
    assert!(!service.remove("dave").expect("again"));
}

/// RFC 6238 appendix B's SHA-1 seed, through the same base32 path `trust mfa enroll` takes.
fn rfc_seed() -> zeroize::Zeroizing<Vec<u8>> {
    mfa::base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").expect("base32")
}

fn home_only(url: &str, key: &Path) -> Arc<Home> {
    home(url, key).1
}

#[test]
fn every_worker_signs_with_one_sealed_gdpr_key_and_an_edited_row_does_not_open() {
    let Some((schema, _dir, key)) = setup("gdpr_signer") else {
        return;
    };
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (db, home) = home(schema.url(), &key);
            std::thread::spawn(move || {
                load_or_create_signer(&db, &*home, "gdpr")
                    .expect("signer")
                    .public_key()
            })
        })
        .collect();
    let keys: Vec<[u8; 32]> = threads
        .into_iter()
        .map(|t| t.join().expect("join"))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "one key for all");
    let db = schema.open();
    let sealed: String = db
        .transaction(|tx| {
            Ok(tx
                .query_one("SELECT sealed FROM trust_gdpr_signer", &[])
                .map_err(|e| db.error(&e))?
                .get(0))
        })
        .expect("row");
    assert!(sealed.starts_with("tle1."), "sealed as an envelope token");
    // Another public key in the column: the sealed document no longer opens.
    schema.execute("UPDATE trust_gdpr_signer SET public_key = decode(repeat('ab', 32), 'hex')");
    let (db, home) = home(schema.url(), &key);
    let err = load_or_create_signer(&db, &*home, "gdpr").expect_err("edited row");
    assert_eq!(err.category().exit_code(), 1, "{err}");
}

#[test]
fn sealing_with_a_warm_keyring_makes_no_database_round_trip() {
    let Some((schema, _dir, key)) = setup("warm_seal") else {
        return;
    };
    let db = schema.open();
    // A long refresh interval so that the count cannot depend on how fast this machine is;
    // the default (2 s) adds at most one read per keyring per 2 s, never one per message.
    let home = open_home(&db, Unlock::KeyFile(key.clone()))
        .expect("home")
        .with_options(HomeOptions::default().with_refresh(Duration::from_secs(3600)));
    home.create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .expect("keyring");
    let context = trust_core::envelope::Context::new()
        .with("table", "orders")
        .expect("context");
    // The first seal loads the keyring and reserves a block of 1024 seals.
    trust_core::envelope::seal(&home, "orders", &context, b"warm-up").expect("seal");
    let before = db.transactions();
    for i in 0..1000u32 {
        trust_core::envelope::seal(&home, "orders", &context, &i.to_be_bytes()).expect("seal");
    }
    assert_eq!(
        db.transactions(),
        before,
        "1000 seals with a warm keyring made database round trips"
    );
    // The 1024th seal after the reservation takes a new block: one transaction for 1024 seals.
    for i in 0..100u32 {
        trust_core::envelope::seal(&home, "orders", &context, &i.to_be_bytes()).expect("seal");
    }
    let blocks = db.transactions() - before;
    assert!(
        (1..=2).contains(&blocks),
        "a new block costs a read-modify-CAS, not one per message: {blocks}"
    );
}

// --- two-process races -------------------------------------------------------------------

/// Waits until `n` files named `prefix*` exist in `dir` (a cross-process barrier).
fn barrier(dir: &Path, prefix: &str, me: &str, n: usize) {
    std::fs::write(dir.join(format!("{prefix}{me}")), b"").expect("arrive");
    for _ in 0..3000 {
        let count = std::fs::read_dir(dir)
            .expect("ls")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .count();
        if count >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the other worker never reached {prefix}");
}

/// Runs this test binary's `test` as two worker processes and returns their stdout lines.
fn two_workers(test: &str, url: &str, key: &Path, sync: &Path) -> Vec<String> {
    let children: Vec<_> = ["a", "b"]
        .iter()
        .map(|me| {
            Command::new(std::env::current_exe().expect("exe"))
                .args(["--exact", test, "--nocapture", "--test-threads=1"])
                .env(WORKER_VAR, me)
                .env("TRUST_PG_WORKER_URL", url)
                .env("TRUST_PG_WORKER_KEY", key)
                .env("TRUST_PG_WORKER_SYNC", sync)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn worker")
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("worker");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                out.status.success(),
                "worker failed: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            stdout
                .lines()
                // libtest prints "test NAME ... " before the worker's own output.
                .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r))
                .expect("a RESULT line")
                .to_owned()
        })
        .collect()
}

struct WorkerEnv {
    me: String,
    url: String,
    key: PathBuf,
    sync: PathBuf,
}

fn worker_env() -> Option<WorkerEnv> {
    let me = std::env::var(WORKER_VAR).ok()?;
    Some(WorkerEnv {
        me,
        url: std::env::var("TRUST_PG_WORKER_URL").expect("url"),
        key: std::env::var("TRUST_PG_WORKER_KEY").expect("key").into(),
        sync: std::env::var("TRUST_PG_WORKER_SYNC").expect("sync").into(),
    })
}

const REFRESH_TEST: &str = "two_processes_refreshing_one_oauth_token_one_wins";

#[test]
fn two_processes_refreshing_one_oauth_token_one_wins() {
    if let Some(w) = worker_env() {
        let v = vault(&w.url, &w.key);
        let (got, outcome) = v
            .refresh(
                "sync",
                &name("acme/hubspot"),
                "token refresh",
                Duration::from_secs(300),
                |_current| {
                    // Both workers have read version 1 before either commits: the race is
                    // certain, not left to the scheduler.
                    barrier(&w.sync, "refreshing-", &w.me, 2);
                    Ok::<_, std::convert::Infallible>(Refreshed::new(
                        SecretBytes::from(format!("pat-na1-new-from-{}", w.me).into_bytes()),
                        None,
                        Some(SystemTime::now() + Duration::from_secs(3600)),
                    ))
                },
            )
            .expect("refresh");
        let value = String::from_utf8(got.value.expose_secret().to_vec()).expect("utf8");
        println!("RESULT {outcome:?} {} {value}", got.version);
        return;
    }
    let Some((schema, dir, key)) = setup("vault_refresh") else {
        return;
    };
    let v = vault(schema.url(), &key);
    v.put("sync", &name("acme/hubspot"), b"pat-na1-expiring-token", {
        let mut put = PutOptions::default();
        put.kind = Some(trust_core::vault::Kind::Oauth);
        put.expires = Some(SystemTime::now() + Duration::from_secs(10));
        put.refresh_token = Some(SecretBytes::from(b"refresh-token-1".to_vec()));
        put
    })
    .expect("put");
    let sync = tempfile::tempdir_in(dir.path()).expect("sync dir");
    let results = two_workers(REFRESH_TEST, schema.url(), &key, sync.path());
    let refreshed: Vec<_> = results
        .iter()
        .filter(|r| r.starts_with("Refreshed "))
        .collect();
    let took: Vec<_> = results
        .iter()
        .filter(|r| r.starts_with("TookWinners "))
        .collect();
    assert_eq!((refreshed.len(), took.len()), (1, 1), "{results:?}");
    // Both end with the winner's token, version 2; nothing else was stored.
    let winner = refreshed[0].trim_start_matches("Refreshed ");
    assert_eq!(took[0].trim_start_matches("TookWinners "), winner);
    assert!(winner.starts_with("2 pat-na1-new-from-"), "{winner}");
    let info = v.info(&name("acme/hubspot")).expect("info");
    assert_eq!(info.versions.len(), 2);
    let _ = RefreshOutcome::Refreshed;
}

const TOTP_TEST: &str = "two_processes_verifying_one_totp_code_one_accepts";

#[test]
fn two_processes_verifying_one_totp_code_one_accepts() {
    let seed = b"12345678901234567890";
    let params = TotpParams::default();
    let at = 2_000_000_000i64;
    if let Some(w) = worker_env() {
        let (db, home) = home(&w.url, &w.key);
        let service = Mfa::new(Arc::new(PgMfaStore::new(db)), home, "mfa");
        let code = mfa::code_at_step(seed, &params, params.step_at(at).expect("step"));
        barrier(&w.sync, "verifying-", &w.me, 2);
        let outcome = service.verify_at(
            "ops",
            mfa::DEFAULT_DEVICE,
            &code,
            trust_core::clock::from_unix_seconds(at),
        );
        println!(
            "RESULT {}",
            if outcome.is_ok() {
                "accepted"
            } else {
                "rejected"
            }
        );
        return;
    }
    let Some((schema, dir, key)) = setup("mfa_race") else {
        return;
    };
    let (db, home) = home(schema.url(), &key);
    Mfa::new(Arc::new(PgMfaStore::new(db)), home, "mfa")
        .enroll(
            "ops",
            mfa::DEFAULT_DEVICE,
            EnrollOptions::new(params, Some(rfc_seed())),
        )
        .expect("enroll");
    for round in 0..3 {
        let sync = tempfile::tempdir_in(dir.path()).expect("sync dir");
        let results = two_workers(TOTP_TEST, schema.url(), &key, sync.path());
        let accepted = results.iter().filter(|r| *r == "accepted").count();
        // Round 0: exactly one of the two accepts. Later rounds: the code is spent.
        assert_eq!(
            accepted,
            usize::from(round == 0),
            "round {round}: {results:?}"
        );
    }
}

#[test]
fn an_erasure_stops_a_worker_holding_the_cached_key_within_the_documented_bound() {
    use trust_core::gdpr::GdprError;
    use trust_core::gdpr::{DEFAULT_CACHE_TTL, EraseOptions, SubjectKeys};
    use trust_core::provider::KeyError;
    use trust_postgres::PgSubjectStore;

    let Some((schema, _dir, key)) = setup("erase_bound") else {
        return;
    };
    let worker = |url: &str| {
        let (db, home) = home(url, &key);
        home.create_keyring("customers", Suite::Aes256Gcm, Policy::default())
            .ok();
        // The default cache: the bound docs/deployment.md states (DEFAULT_CACHE_TTL, 2 s).
        SubjectKeys::new(home, PgSubjectStore::new(db))
    };
    let eraser = worker(schema.url());
    let cached = worker(schema.url());
    cached
        .encryption_key_for("customers", "customer-7")
        .expect("warm the cache");
    let (signer, _) = trust_core::gdpr::Signer::generate().expect("signer");
    let erased_at = std::time::Instant::now();
    eraser
        .erase(
            "customers",
            "customer-7",
            &{
                let mut erase =
                    EraseOptions::new(jiff::Timestamp::now(), jiff::SignedDuration::from_hours(24));
                erase.actor = Some("ops");
                erase
            },
            &signer,
            &trust_core::event::NoSink,
        )
        .expect("erase");
    // Once the bound has passed, the worker that held the key refuses to use it.
    std::thread::sleep(
        DEFAULT_CACHE_TTL.saturating_sub(erased_at.elapsed()) + Duration::from_millis(100),
    );
    let err = cached
        .encryption_key_for("customers", "customer-7")
        .expect_err("past the bound");
    assert!(
        matches!(err, GdprError::Key(KeyError::SubjectErased { .. })),
        "{err:?}"
    );
    assert_eq!(err.category().exit_code(), 4);
}

#[test]
fn a_database_from_the_previous_release_migrates_to_the_vault_and_mfa_tables() {
    let Some(schema) = TestSchema::create("upgrade") else {
        return;
    };
    // What the previous release left: the version table and `home` 1 only.
    let first = &trust_postgres::migrate::MIGRATIONS[0];
    assert_eq!((first.component, first.version), ("home", 1));
    schema.execute(&format!(
        "CREATE TABLE trust_schema (component text NOT NULL, version integer NOT NULL, \
         description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), \
         PRIMARY KEY (component, version)); {} \
         INSERT INTO trust_schema (component, version, description) VALUES ('home', 1, 'x');",
        first.sql
    ));
    let db = Database::connect(
        trust_postgres::ConnectOptions::parse(&schema.store_url()).expect("options"),
    )
    .expect("connect");
    let report = db.migrate().expect("migrate");
    let applied: Vec<(&str, i32)> = report
        .applied
        .iter()
        .map(|(c, v, _)| (c.as_str(), *v))
        .collect();
    // Every later step, in list order: the vault and MFA tables among them.
    let expected: Vec<(&str, i32)> = trust_postgres::migrate::MIGRATIONS[1..]
        .iter()
        .map(|m| (m.component, m.version))
        .collect();
    assert_eq!(applied, expected);
    assert!(applied.contains(&("vault", 1)) && applied.contains(&("mfa", 1)));
    assert_eq!(db.migrate().expect("again").applied.len(), 0, "idempotent");
    // The new tables are usable at once.
    assert!(
        PgVaultStore::new(db.clone())
            .list(None)
            .expect("vault")
            .is_empty()
    );
    assert!(!PgMfaStore::new(db).any_enrolled().expect("mfa"));
}
