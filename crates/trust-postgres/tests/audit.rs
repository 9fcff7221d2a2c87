//! The audit log on a real PostgreSQL server (TRUST_TEST_POSTGRES_URL; skipped with a printed
//! reason when unset, failing when CI=true): group commit, many handles, proofs, export that
//! verifies offline, edited rows, dropped connections, every error path.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use trust_core::audit::merkle;
use trust_core::audit::{
    AuditError, Entry, FailureKind, InitOptions, Query, VerifyOptions, verify_log,
};
use trust_core::error::TrustError;
use trust_core::store_url::StoreUrl;
use trust_postgres::audit::{self, LogLocation};
use trust_postgres::testing::TestSchema;

const WAIT: Duration = Duration::from_secs(30);

fn entry(i: u64) -> Entry {
    let mut e = Entry::new("test.append");
    e.actor = Some(format!("worker-{i}"));
    e.attrs.insert("n".into(), i.to_string());
    e
}

/// A second connection that can end the test's own server processes.
fn admin() -> trust_postgres::Database {
    trust_postgres::Database::connect(
        trust_postgres::ConnectOptions::parse(
            &StoreUrl::parse(&std::env::var("TRUST_TEST_POSTGRES_URL").unwrap()).unwrap(),
        )
        .unwrap(),
    )
    .unwrap()
}

/// `n` entries, every `every`-th with a payload of `len` copies of `byte`.
fn with_payloads(n: u64, every: u64, byte: u8, len: usize) -> Vec<Entry> {
    (0..n)
        .map(|i| {
            let mut e = entry(i);
            if i % every == 0 {
                e.payload = Some(vec![byte; len]);
            }
            e
        })
        .collect()
}

/// Ends the server process of `application` whose running statement matches the SQL `LIKE`
/// pattern `statement`, polling until one was ended or `appender` finished; how many were ended.
fn terminate_while_running<T>(
    admin: &trust_postgres::Database,
    application: &str,
    statement: &str,
    appender: &std::thread::JoinHandle<T>,
) -> usize {
    let mut hit = 0;
    while !appender.is_finished() && hit == 0 {
        hit = admin
            .transaction(|tx| {
                Ok(tx
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1 AND state = 'active' AND query LIKE $2",
                        &[&application, &statement],
                    )
                    .map_err(|e| admin.error(&e))?
                    .len())
            })
            .unwrap();
    }
    hit
}

fn payload_rows(db: &trust_postgres::Database) -> u64 {
    db.transaction(|tx| {
        Ok(tx
            .query_one("SELECT count(*) FROM trust_audit_payloads", &[])
            .map_err(|e| db.error(&e))?
            .get::<_, i64>(0))
    })
    .unwrap()
    .try_into()
    .unwrap()
}

fn verified(
    log_db: &trust_postgres::Database,
    name: &str,
    vkey: &trust_core::audit::Verifier,
) -> trust_core::audit::Report {
    let tmp = tempfile::tempdir().unwrap();
    let to = tmp.path().join("copy");
    audit::export_log(log_db, name, &to).expect("export");
    verify_log(&to, &VerifyOptions::new(vec![vkey.clone()])).expect("verify opens")
}

#[test]
fn appends_prove_checkpoint_export_and_verify() {
    let Some(schema) = TestSchema::create("audit_basic") else {
        return;
    };
    let db = schema.open();
    let vkey = audit::init_log(&db, "orders", &InitOptions::new("example.com/audit/pg")).unwrap();
    // A second init of the same name is refused; another name is another log.
    assert!(matches!(
        audit::init_log(&db, "orders", &InitOptions::new("example.com/audit/pg")),
        Err(AuditError::AlreadyExists(_))
    ));
    audit::init_log(&db, "other", &InitOptions::new("example.com/audit/other")).unwrap();
    let log = audit::open_log(&db, "orders", None, WAIT).unwrap();
    let mut hashes = Vec::new();
    for i in 0..300u64 {
        let mut e = entry(i);
        if i % 7 == 0 {
            e.payload = Some(format!("payload {i}").into_bytes());
        }
        assert_eq!(log.append(&e).unwrap(), i);
        if i % 100 == 99 {
            log.checkpoint().unwrap();
        }
    }
    let r = log
        .append_batch(&(300..600).map(entry).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(r, 300..600);
    let cp = log.checkpoint().unwrap();
    assert_eq!(cp.checkpoint.size, 600);
    // Proofs from the stored nodes (levels 8, 16, …) agree with the in-memory tree.
    let tmp = tempfile::tempdir().unwrap();
    let to = tmp.path().join("copy");
    let s = audit::export_log(&db, "orders", &to).unwrap();
    assert_eq!((s.entries, s.checkpoints, s.payloads), (600, 4, 43));
    for seg in trust_core::internal::audit_list_segments(&to).unwrap() {
        let bytes = std::fs::read(&seg.path).unwrap();
        for r in trust_core::internal::audit_segment_parse_records(
            &bytes[trust_core::internal::AUDIT_SEGMENT_HEADER_LEN..],
        )
        .0
        {
            hashes.push(r.stored_hash);
        }
    }
    assert_eq!(cp.checkpoint.root, merkle::root(&hashes));
    for i in [0u64, 1, 255, 256, 299, 511, 599] {
        let receipt = log.prove(i, None).unwrap();
        assert_eq!(receipt.proof, merkle::inclusion_proof(&hashes, i).unwrap());
    }
    assert_eq!(
        log.consistency_proof(100, 600).unwrap(),
        merkle::consistency_proof(&hashes, 100).unwrap()
    );
    let report = verify_log(&to, &VerifyOptions::new(vec![vkey.clone()])).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.entries, 600);
    // No key in the copy.
    assert!(!to.join("signing.key").exists() && !to.join("pseudonym.key").exists());
    // Redaction deletes the payload row and appends a tombstone; the log still verifies.
    let tomb = log.redact(7, "gdpr erasure").unwrap();
    assert_eq!(tomb, 600);
    let report = verified(&db, "orders", &vkey);
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.redacted, vec![7]);
    // Search over the rows, by actor pseudonym.
    let mut q = Query::all();
    q.actor = Some(log.actor_pseudonym("worker-42"));
    let mut found = Vec::new();
    audit::search_log(&db, "orders", &q, |leaf| {
        found.push(leaf.index);
        true
    })
    .unwrap();
    assert_eq!(found, vec![42]);
    // The other log is untouched.
    let other = audit::open_log(&db, "other", None, WAIT).unwrap();
    assert_eq!(other.size().unwrap(), 0);
}

#[test]
fn threads_and_handles_append_at_once_nothing_lost() {
    let Some(schema) = TestSchema::create("audit_concurrent") else {
        return;
    };
    let db = schema.open();
    let vkey = audit::init_log(&db, "audit", &InitOptions::new("example.com/audit/many")).unwrap();
    // Four handles (as four processes or hosts would have), each shared by four threads.
    let mut threads = Vec::new();
    for h in 0..4u64 {
        let log = Arc::new(audit::open_log(&db, "audit", None, WAIT).unwrap());
        for t in 0..4u64 {
            let log = Arc::clone(&log);
            threads.push(std::thread::spawn(move || {
                let mut got = Vec::new();
                for i in 0..50u64 {
                    got.push(log.append(&entry(h * 1000 + t * 100 + i)).unwrap());
                }
                got
            }));
        }
    }
    let mut all: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..800).collect::<Vec<_>>());
    let log = audit::open_log(&db, "audit", None, WAIT).unwrap();
    log.checkpoint().unwrap();
    // The tree nodes the handles wrote (by either append path) serve proofs, which the log
    // checks against the checkpoint before handing them out.
    for i in [0u64, 255, 256, 511, 512, 799] {
        log.prove(i, None).unwrap();
    }
    let report = verified(&db, "audit", &vkey);
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.entries, 800);
}

#[test]
fn an_edited_row_is_found_by_verify() {
    let Some(schema) = TestSchema::create("audit_edited") else {
        return;
    };
    let db = schema.open();
    let vkey = audit::init_log(&db, "audit", &InitOptions::new("example.com/audit/edit")).unwrap();
    let log = audit::open_log(&db, "audit", None, WAIT).unwrap();
    log.append_batch(&(0..20).map(entry).collect::<Vec<_>>())
        .unwrap();
    log.checkpoint().unwrap();
    assert!(verified(&db, "audit", &vkey).is_ok());
    // A byte of entry 5 flipped, its hash left alone.
    schema.execute(
        "UPDATE trust_audit_leaves SET leaf = overlay(leaf placing '\\xff'::bytea from 30 for 1) WHERE idx = 5",
    );
    let r = verified(&db, "audit", &vkey);
    assert_eq!(
        r.failure.as_ref().map(|f| f.kind),
        Some(FailureKind::LeafHashMismatch)
    );
    assert_eq!(r.first_bad_index, Some(5));
    // The search checks every row it reads.
    let err = audit::search_log(&db, "audit", &Query::all(), |_| true).unwrap_err();
    assert_eq!(err.code(), "AUDIT_LOG_DAMAGED");
    // Hash recomputed to match the edit: the chain breaks at the next entry.
    schema.execute(
        "UPDATE trust_audit_leaves SET hash = sha256('\\x00'::bytea || leaf) WHERE idx = 5",
    );
    let r = verified(&db, "audit", &vkey);
    assert!(!r.is_ok());
    // The flipped byte sits in entry 5; the verifier names the broken link 4→5 or 5→6.
    assert!(matches!(r.first_bad_index, Some(4 | 5)), "{r:?}");
    // A deleted row: the index gap is found.
    schema.execute("DELETE FROM trust_audit_leaves WHERE idx BETWEEN 4 AND 6");
    let r = verified(&db, "audit", &vkey);
    assert!(!r.is_ok());
    assert_eq!(r.first_bad_index, Some(4));
}

#[test]
fn a_dropped_connection_is_a_typed_error_and_the_next_call_reconnects() {
    let Some(schema) = TestSchema::create("audit_dropped") else {
        return;
    };
    let db = schema.open();
    let vkey = audit::init_log(&db, "audit", &InitOptions::new("example.com/audit/drop")).unwrap();
    let log = audit::open_log(&db, "audit", None, WAIT).unwrap();
    log.append(&entry(0)).unwrap();
    // Killed while idle: the next call replaces the connection and succeeds.
    assert!(schema.kill_connections() >= 1);
    assert_eq!(log.append(&entry(1)).unwrap(), 1);
    // Killed in the middle of a batch (payload rows written, leaves not yet): exit 3, nothing
    // of the batch applied, the next call reconnects.
    // Killed in the middle of a batch: a watcher terminates the writer's backend while it runs
    // the batch's INSERT. Exit 3, nothing of the batch applied (payload rows included), and the
    // next call reconnects.
    let admin = admin();
    let log = Arc::new(log);
    let mut killed_mid_batch = 0;
    for attempt in 0..5 {
        let big: Vec<Entry> = with_payloads(30_000, 1000, b'x', 64);
        let before = log.size().unwrap();
        let appender = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || log.append_batch(&big))
        };
        terminate_while_running(
            &admin,
            schema.name(),
            "WITH%INSERT INTO trust_audit_leaves%",
            &appender,
        );
        let result = appender.join().unwrap();
        let after = log.size().unwrap();
        match result {
            Ok(r) => assert_eq!((r.end - r.start, after - before), (30_000, 30_000)),
            Err(e) => {
                killed_mid_batch += 1;
                assert_eq!(e.category().exit_code(), 3, "{e}");
                assert_eq!(e.code(), "STORE_CONNECTION_LOST", "{e}");
                assert!(!e.to_string().contains("password"), "{e}");
                // Nothing of it applied.
                assert_eq!(after, before, "attempt {attempt}");
            }
        }
        if killed_mid_batch > 0 {
            break;
        }
    }
    assert!(
        killed_mid_batch > 0,
        "the watcher never caught the batch's INSERT"
    );
    let size = log.size().unwrap();
    let payload_rows = payload_rows(&db);
    // Payloads exist for exactly the acknowledged entries (one per 1000 of each whole batch).
    assert_eq!(payload_rows, (size - 2) / 1000);
    // The next call reconnects.
    assert_eq!(log.append(&entry(99_999)).unwrap(), size);
    log.checkpoint().unwrap();
    assert!(verified(&db, "audit", &vkey).is_ok());
}

#[test]
fn errors_are_typed_and_hide_the_password() {
    let Some(schema) = TestSchema::create("audit_errors") else {
        return;
    };
    let db = schema.open();
    // No such log.
    let err = audit::open_log(&db, "missing", None, WAIT).unwrap_err();
    assert_eq!(err.code(), "NOT_AN_AUDIT_LOG");
    assert_eq!(err.category().exit_code(), 3);
    assert!(matches!(
        audit::export_log(&db, "missing", &std::env::temp_dir().join("never")),
        Err(AuditError::NotALog(_))
    ));
    // Bad origin.
    assert!(matches!(
        audit::init_log(&db, "x", &InitOptions::new("has space")),
        Err(AuditError::BadOrigin)
    ));
    // Export into a non-empty directory.
    audit::init_log(&db, "audit", &InitOptions::new("example.com/audit/err")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("x"), b"x").unwrap();
    assert!(matches!(
        audit::export_log(&db, "audit", tmp.path()),
        Err(AuditError::AlreadyExists(_))
    ));
    // An edited configuration row.
    schema.execute("UPDATE trust_audit_logs SET config = '\\x00' WHERE name = 'audit'");
    let err = audit::open_log(&db, "audit", None, WAIT).unwrap_err();
    assert_eq!(err.code(), "AUDIT_LOG_DAMAGED");
    assert_eq!(err.category().exit_code(), 1);
    // A tree-state row edited to a border that does not fit its size.
    audit::init_log(&db, "tree", &InitOptions::new("example.com/audit/tree")).unwrap();
    schema.execute("UPDATE trust_audit_tree SET size = 3 FROM trust_audit_logs l WHERE l.id = log_id AND l.name = 'tree'");
    let err = audit::open_log(&db, "tree", None, WAIT).unwrap_err();
    assert_eq!(err.code(), "AUDIT_LOG_DAMAGED", "{err}");
    // Lock wait: a writer holding the tree row makes another wait, then AUDIT_LOG_BUSY.
    audit::init_log(&db, "busy", &InitOptions::new("example.com/audit/busy")).unwrap();
    let holder = db.clone();
    let (tx_started, started) = std::sync::mpsc::channel();
    let (tx_done, done) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        let done = std::sync::Mutex::new(done);
        holder
            .transaction(|tx| {
                tx.batch_execute(
                    "SELECT 1 FROM trust_audit_tree t JOIN trust_audit_logs l ON l.id = t.log_id \
                     WHERE l.name = 'busy' FOR UPDATE OF t",
                )
                .unwrap();
                tx_started.send(()).unwrap();
                let _ = done.lock().unwrap().recv_timeout(Duration::from_secs(20));
                Ok(())
            })
            .unwrap();
    });
    started.recv().unwrap();
    let err = audit::open_log(&db, "busy", None, Duration::from_millis(200)).unwrap_err();
    assert_eq!(err.code(), "AUDIT_LOG_BUSY", "{err}");
    assert_eq!(err.category().exit_code(), 3);
    tx_done.send(()).unwrap();
    t.join().unwrap();
    // Log names and URLs.
    let url = StoreUrl::parse("postgres://u:Secret-Pw-1@127.0.0.1/db?log=Bad Name").unwrap();
    let err = LogLocation::parse(&url).unwrap_err();
    assert!(!err.to_string().contains("Secret-Pw-1"));
    let url = StoreUrl::parse("postgres://u:Secret-Pw-1@127.0.0.1/db?log=a&log=b").unwrap();
    assert!(LogLocation::parse(&url).is_err());
    let url =
        StoreUrl::parse("postgres://u:Secret-Pw-1@127.0.0.1/db?sslmode=disable&log=orders.eu")
            .unwrap();
    let loc = LogLocation::parse(&url).unwrap();
    assert_eq!(loc.name, "orders.eu");
    assert!(!loc.url.expose_secret().contains("log="));
    assert!(!loc.to_string().contains("Secret-Pw-1"));
    let url = StoreUrl::parse("postgres://u@127.0.0.1/db").unwrap();
    assert_eq!(LogLocation::parse(&url).unwrap().name, audit::DEFAULT_LOG);
}

#[test]
fn a_handle_whose_view_is_stale_builds_its_batch_again_under_the_lock() {
    let Some(schema) = TestSchema::create("audit_stale") else {
        return;
    };
    let db = schema.open();
    let vkey = audit::init_log(&db, "audit", &InitOptions::new("example.com/audit/stale")).unwrap();
    let a = audit::open_log(&db, "audit", None, WAIT).unwrap();
    let b = audit::open_log(&db, "audit", None, WAIT).unwrap();
    assert_eq!(a.append(&entry(0)).unwrap(), 0);
    // B's view (read at open) is stale by one entry; A's view is its own commit.
    assert_eq!(b.append(&entry(1)).unwrap(), 1);
    // A's compare-and-swap finds the size moved on, writes nothing, and the batch is built
    // again on the stored tree: indexes and chain links follow B's entry.
    assert_eq!(a.append_batch(&[entry(2), entry(3)]).unwrap(), 2..4);
    let mut with_payload = entry(4);
    with_payload.payload = Some(b"payload of entry 4".to_vec());
    assert_eq!(b.append(&with_payload).unwrap(), 4);
    assert_eq!(a.append(&entry(5)).unwrap(), 5);
    assert_eq!(b.size().unwrap(), 6);
    let payload_rows = payload_rows(&db);
    assert_eq!(payload_rows, 1);
    b.checkpoint().unwrap();
    let report = verified(&db, "audit", &vkey);
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.entries, 6);
}

#[test]
fn a_failing_group_commit_gives_every_waiting_caller_the_one_typed_error() {
    let Some(schema) = TestSchema::create("audit_group_fail") else {
        return;
    };
    let db = schema.open();
    let vkey = audit::init_log(&db, "audit", &InitOptions::new("example.com/audit/gfail")).unwrap();
    let log = Arc::new(audit::open_log(&db, "audit", None, Duration::from_millis(300)).unwrap());
    assert_eq!(log.append(&entry(0)).unwrap(), 0);
    // Another session holds the tree row: every group commit waits its lock wait and fails.
    let admin = trust_postgres::Database::open(&schema.store_url()).unwrap();
    let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let hold_rx = std::sync::Mutex::new(hold_rx);
        admin
            .transaction(|tx| {
                tx.batch_execute("SELECT * FROM trust_audit_tree FOR UPDATE")
                    .map_err(|e| admin.error(&e))?;
                held_tx.send(()).unwrap();
                hold_rx.lock().unwrap().recv().unwrap();
                Ok(())
            })
            .unwrap();
    });
    held_rx.recv().unwrap();
    let barrier = Arc::new(std::sync::Barrier::new(8));
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (log, barrier) = (Arc::clone(&log), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                log.append(&entry(100 + t))
            })
        })
        .collect();
    for t in threads {
        let err = t.join().unwrap().unwrap_err();
        // Each caller sees the group's failure itself, with its code and exit status.
        assert_eq!(err.code(), "AUDIT_LOG_BUSY", "{err}");
        assert_eq!(err.category().exit_code(), 3, "{err}");
    }
    hold_tx.send(()).unwrap();
    holder.join().unwrap();
    // Nothing of the failed groups is there; the next append follows entry 0.
    assert_eq!(log.size().unwrap(), 1);
    assert_eq!(log.append(&entry(1)).unwrap(), 1);
    log.checkpoint().unwrap();
    let report = verified(&db, "audit", &vkey);
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.entries, 2);
}

#[test]
fn a_lost_reply_is_settled_and_the_batch_applied_exactly_once() {
    let Some(schema) = TestSchema::create("audit_settle") else {
        return;
    };
    let db = schema.open();
    let vkey =
        audit::init_log(&db, "audit", &InitOptions::new("example.com/audit/settle")).unwrap();
    let log = Arc::new(audit::open_log(&db, "audit", None, WAIT).unwrap());
    log.append(&entry(0)).unwrap();
    let admin = admin();
    let mut hits = 0;
    for _ in 0..10 {
        // A batch small enough for one compare-and-swap statement.
        let batch: Vec<Entry> = with_payloads(4000, 500, b'p', 32);
        let before = log.size().unwrap();
        let appender = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || log.append_batch(&batch))
        };
        let hit = terminate_while_running(
            &admin,
            schema.name(),
            "WITH t AS (UPDATE trust_audit_tree%",
            &appender,
        );
        // The statement's server process was ended: the handle ends what is left of it, finds
        // whether it committed, and sends it once more if not. Either way the caller gets its
        // range, and the entries are there exactly once.
        let range = appender.join().unwrap().unwrap();
        assert_eq!(range, before..before + 4000);
        assert_eq!(log.size().unwrap(), before + 4000);
        hits += hit;
        if hits > 0 {
            break;
        }
    }
    assert!(hits > 0, "the watcher never caught the batch's statement");
    let payload_rows = payload_rows(&db);
    let size = log.size().unwrap();
    assert_eq!(payload_rows, (size - 1) / 500);
    log.checkpoint().unwrap();
    let report = verified(&db, "audit", &vkey);
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.entries, size);
}
