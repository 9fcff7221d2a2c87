//! The home and keyrings on a real PostgreSQL (TRUST_TEST_POSTGRES_URL; skipped with a printed
//! reason when unset, failing when CI=true).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;

use trust_core::error::{Category, TrustError};
use trust_core::keyring::{Home, InitSource, KeyringError, Policy, Rollout, Unlock, VersionState};
use trust_core::provider::{KeyProvider, Suite};
use trust_postgres::testing::TestSchema;
use trust_postgres::{Database, init_home, open_home};

fn key_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("root.key")
}

fn primaries(home: &Home, name: &str) -> Vec<u32> {
    home.keyring(name)
        .expect("keyring")
        .versions()
        .iter()
        .filter(|v| v.state == VersionState::Primary)
        .map(|v| v.version)
        .collect()
}

#[test]
fn init_writes_only_the_key_file_and_any_host_with_it_opens_the_home() {
    let Some(schema) = TestSchema::create("home_init") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = key_file(&dir);
    let db = schema.open();
    let home = init_home(&db, Some("prod"), InitSource::KeyFile(key.clone())).expect("init");
    home.create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .expect("create");
    let entries: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
    assert_eq!(entries.len(), 1, "only the key file is written locally");

    // Another "host": a new pool, the key file given explicitly.
    let other = Database::open(&schema.store_url()).expect("open");
    let home2 = open_home(&other, Unlock::KeyFile(key.clone())).expect("open home");
    assert_eq!(
        home2.keyring_names().expect("names"),
        vec!["orders".to_owned()]
    );
    let ek = home2.encryption_key("orders").expect("key");
    assert_eq!(ek.key_ref.version, 1);

    // A second init is refused; the record is untouched.
    let err = init_home(&db, None, InitSource::KeyFile(key)).expect_err("exists");
    assert!(matches!(err, KeyringError::HomeExists { .. }), "{err:?}");
    // A wrong key file is refused as for a local home.
    let wrong = dir.path().join("other.key");
    std::fs::write(&wrong, [9u8; 32]).expect("write");
    let err = open_home(&other, Unlock::KeyFile(wrong)).expect_err("wrong key");
    assert_eq!(err.category(), Category::KeyUnavailable, "{err:?}");
}

#[test]
fn an_empty_database_is_not_a_home() {
    let Some(schema) = TestSchema::create("home_none") else {
        return;
    };
    let err = open_home(&schema.open(), Unlock::Stored).expect_err("no home");
    assert!(
        matches!(err, KeyringError::NotInitialized { .. }),
        "{err:?}"
    );
    assert_eq!(err.category().exit_code(), 2);
}

#[test]
fn eight_concurrent_rotations_all_succeed_with_one_primary() {
    let Some(schema) = TestSchema::create("home_race") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = key_file(&dir);
    let db = schema.open();
    init_home(&db, None, InitSource::KeyFile(key.clone()))
        .expect("init")
        .create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .expect("create");
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let url = schema.store_url();
            let key = key.clone();
            std::thread::spawn(move || {
                // Each thread is its own worker: its own pool and home.
                let db = Database::open(&url).expect("open");
                let home = open_home(&db, Unlock::KeyFile(key)).expect("home");
                home.rotate("orders", Rollout::Immediate)
                    .expect("rotate")
                    .version
            })
        })
        .collect();
    let mut versions: Vec<u32> = threads
        .into_iter()
        .map(|t| t.join().expect("join"))
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (2..=9).collect::<Vec<_>>());
    let home = open_home(&db, Unlock::KeyFile(key)).expect("home");
    assert_eq!(primaries(&home, "orders").len(), 1);
    assert_eq!(home.keyring("orders").expect("ring").versions().len(), 9);
}

/// The child side of the multi-process test: rotates once and prints the new version.
#[test]
fn child_rotates_once() {
    let (Ok(url), Ok(key)) = (
        std::env::var("TRUST_PG_CHILD_URL"),
        std::env::var("TRUST_PG_CHILD_KEY"),
    ) else {
        return; // only meaningful when spawned by the parent test below
    };
    let db =
        Database::open(&trust_core::store_url::StoreUrl::parse(&url).expect("url")).expect("open");
    let home = open_home(&db, Unlock::KeyFile(key.into())).expect("home");
    let v = home
        .rotate("orders", Rollout::Immediate)
        .expect("rotate")
        .version;
    println!("\nROTATED={v}\n");
}

#[test]
fn eight_processes_rotating_at_once_all_succeed_with_one_primary() {
    let Some(schema) = TestSchema::create("home_procs") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = key_file(&dir);
    let db = schema.open();
    init_home(&db, None, InitSource::KeyFile(key.clone()))
        .expect("init")
        .create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .expect("create");
    let exe = std::env::current_exe().expect("exe");
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "child_rotates_once",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("TRUST_PG_CHILD_URL", schema.url())
                .env("TRUST_PG_CHILD_KEY", &key)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut versions = Vec::new();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let v: u32 = text
            .lines()
            .find_map(|l| l.split_once("ROTATED=").map(|(_, v)| v))
            .expect("child printed its version")
            .trim()
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .expect("number");
        versions.push(v);
    }
    versions.sort_unstable();
    assert_eq!(versions, (2..=9).collect::<Vec<_>>());
    let home = open_home(&db, Unlock::KeyFile(key)).expect("home");
    assert_eq!(primaries(&home, "orders").len(), 1);
}

#[test]
fn a_row_edited_by_hand_is_detected_and_not_overwritten() {
    let Some(schema) = TestSchema::create("home_edit") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = key_file(&dir);
    let db = schema.open();
    let home = init_home(&db, None, InitSource::KeyFile(key.clone())).expect("init");
    home.create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .expect("create");
    home.rotate("orders", Rollout::Staged).expect("rotate");

    // Edit a state inside the authenticated JSON: Staged -> Primary.
    schema.execute(
        "UPDATE trust_keyrings SET contents = convert_to(replace(convert_from(contents, 'UTF8'), \
         '\"staged\"', '\"disabled\"'), 'UTF8') WHERE name = 'orders'",
    );
    let fresh = open_home(&db, Unlock::KeyFile(key.clone())).expect("home");
    let err = fresh.keyring("orders").expect_err("tampered");
    assert_eq!(err.code(), "KEYRING_TAMPERED", "{err:?}");
    assert_eq!(err.category().exit_code(), 1);
    let before: Vec<u8> = {
        let d = db.clone();
        db.transaction(|tx| {
            Ok(tx
                .query_one(
                    "SELECT contents FROM trust_keyrings WHERE name = 'orders'",
                    &[],
                )
                .map_err(|e| d.error(&e))?
                .get(0))
        })
        .expect("read")
    };
    let err = fresh
        .rotate("orders", Rollout::Staged)
        .expect_err("no write over a tampered row");
    assert_eq!(err.category().exit_code(), 1, "{err:?}");
    let after: Vec<u8> = {
        let d = db.clone();
        db.transaction(|tx| {
            Ok(tx
                .query_one(
                    "SELECT contents FROM trust_keyrings WHERE name = 'orders'",
                    &[],
                )
                .map_err(|e| d.error(&e))?
                .get(0))
        })
        .expect("read")
    };
    assert_eq!(before, after);

    // The revision column alone edited: detected too.
    schema.execute("UPDATE trust_keyrings SET revision = revision + 5");
    let err = fresh.keyring("orders").expect_err("revision column");
    assert_eq!(err.category().exit_code(), 1, "{err:?}");
}

#[test]
fn rows_moved_between_stores_sharing_a_root_key_are_detected() {
    let (Some(a), Some(b)) = (TestSchema::create("home_a"), TestSchema::create("home_b")) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = key_file(&dir);
    let (dba, dbb) = (a.open(), b.open());
    let home_a = init_home(&dba, Some("staging"), InitSource::KeyFile(key.clone())).expect("a");
    let home_b = init_home(&dbb, Some("production"), InitSource::KeyFile(key.clone())).expect("b");
    home_a
        .create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .expect("a ring");
    home_b
        .create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .expect("b ring");
    // Copy staging's keyring row over production's.
    b.execute(&format!(
        "UPDATE trust_keyrings SET contents = (SELECT contents FROM {}.trust_keyrings \
         WHERE name = 'orders') WHERE name = 'orders'",
        a.name()
    ));
    let fresh_b = open_home(&dbb, Unlock::KeyFile(key.clone())).expect("b");
    let err = fresh_b.keyring("orders").expect_err("moved row");
    assert_eq!(err.code(), "KEYRING_TAMPERED", "{err:?}");

    // Renaming the store (to pass rows off as another deployment's) breaks the home's check.
    b.execute("UPDATE trust_home SET store_name = 'staging'");
    let err = open_home(&dbb, Unlock::KeyFile(key)).expect_err("renamed store");
    assert_eq!(err.category(), Category::KeyUnavailable, "{err:?}");
}

#[test]
fn a_dropped_connection_reconnects_and_the_home_keeps_working() {
    let Some(schema) = TestSchema::create("home_drop") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = key_file(&dir);
    let db = schema.open();
    let home = Arc::new(init_home(&db, None, InitSource::KeyFile(key)).expect("init"));
    home.create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .expect("create");
    assert!(schema.kill_connections() >= 1);
    // The idle pooled connection died; the next call reconnects transparently.
    assert_eq!(
        home.rotate("orders", Rollout::Immediate)
            .expect("rotate")
            .version,
        2
    );
    assert_eq!(primaries(&home, "orders"), vec![2]);
}
