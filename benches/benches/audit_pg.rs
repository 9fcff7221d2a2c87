//! Audit appends on PostgreSQL (figures in docs/PERFORMANCE.md, "Audit log on PostgreSQL"),
//! against the server `.ci/servers` starts; skipped with a printed reason when
//! `TRUST_TEST_POSTGRES_URL` is unset. Each group measures trust beside the raw engine doing the
//! same writes, same server, same run, `synchronous_commit` as the server has it (on by
//! default): throughput is in entries (rows) per second.
//!
//! * `audit_pg_8_writers`: 8 threads sharing one log handle (group commit), one entry per
//!   call, beside `raw_insert_8_clients`: 8 connections each committing one single-row INSERT
//!   (an audit leaf row's shape: bigint key, 32-byte hash, 200-byte row) per transaction — what
//!   `pgbench -c 8` runs in benches/scripts/audit_pg.sh.
//! * `audit_pg_batch_1000`: one writer appending 1000 entries per call, beside
//!   `raw_insert_1000_rows`: the same rows in one INSERT … SELECT FROM unnest statement.
//!
//! After the run it prints how many commits the 8 writers' entries took (entries per commit:
//! how well they were coalesced).

#![allow(missing_docs, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trust_core::audit::{AuditLog, Entry, InitOptions};
use trust_postgres::audit;
use trust_postgres::testing::TestSchema;

const WRITERS: u64 = 8;
const BATCH: usize = 1000;

fn entry(i: u64) -> Entry {
    let mut e = Entry::new("bench.append");
    e.actor = Some("worker@example.com".into());
    e.attrs.insert("order".into(), format!("{i:08}"));
    e
}

/// Runs `each(writer, n)` on `WRITERS` threads at once, `iters` calls in all; the wall time.
fn on_writers(iters: u64, each: impl Fn(u64, u64) + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let n = iters / WRITERS + u64::from(w < iters % WRITERS);
            let each = &each;
            s.spawn(move || each(w, n));
        }
    });
    start.elapsed()
}

fn raw_client(schema: &TestSchema) -> postgres::Client {
    postgres::Client::connect(schema.url(), postgres::NoTls).expect("raw connection")
}

fn commits(db: &trust_postgres::Database) -> i64 {
    db.transaction(|tx| {
        Ok(tx
            .query_one(
                "SELECT n_tup_upd FROM pg_stat_user_tables \
                 WHERE schemaname = current_schema() AND relname = 'trust_audit_tree'",
                &[],
            )
            .map_err(|e| db.error(&e))?
            .get(0))
    })
    .expect("statistics")
}

fn audit_pg(c: &mut Criterion) {
    if std::env::var("TRUST_TEST_POSTGRES_URL").map_or(true, |v| v.is_empty()) {
        eprintln!("skipped audit_pg: TRUST_TEST_POSTGRES_URL is not set (source .ci/servers)");
        return;
    }
    let schema = TestSchema::create("bench_audit_pg").expect("schema");
    let db = schema.open();
    audit::init_log(&db, "bench", &InitOptions::new("bench.example/audit")).expect("init");
    let log: Arc<AuditLog> =
        Arc::new(audit::open_log(&db, "bench", None, Duration::from_secs(60)).expect("open"));
    log.append(&entry(0)).expect("warm");
    let mut admin = raw_client(&schema);
    admin
        .batch_execute(
            "CREATE TABLE raw_leaves (idx bigserial PRIMARY KEY, hash bytea NOT NULL, \
             leaf bytea NOT NULL)",
        )
        .expect("raw table");
    let hash = [7u8; 32];
    let leaf = [b'x'; 200];

    let mut g = c.benchmark_group("audit_pg_8_writers");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(1));
    let appended = std::sync::atomic::AtomicU64::new(0);
    let commits_before = commits(&db);
    g.bench_function("trust_audit_shared_handle", |b| {
        b.iter_custom(|iters| {
            appended.fetch_add(iters, std::sync::atomic::Ordering::Relaxed);
            on_writers(iters, |w, n| {
                for i in 0..n {
                    log.append(&entry(w * 1_000_000 + i)).expect("append");
                }
            })
        });
    });
    // The server publishes a session's statistics within a second.
    std::thread::sleep(Duration::from_millis(1500));
    let group_commits = commits(&db) - commits_before;
    let clients: Vec<std::sync::Mutex<(postgres::Client, postgres::Statement)>> = (0..WRITERS)
        .map(|_| {
            let mut c = raw_client(&schema);
            let stmt = c
                .prepare("INSERT INTO raw_leaves (hash, leaf) VALUES ($1, $2)")
                .expect("prepare");
            std::sync::Mutex::new((c, stmt))
        })
        .collect();
    g.bench_function("raw_insert_8_clients", |b| {
        b.iter_custom(|iters| {
            on_writers(iters, |w, n| {
                let mut guard = clients[usize::try_from(w).expect("writer")]
                    .lock()
                    .expect("client");
                let (client, stmt) = &mut *guard;
                for _ in 0..n {
                    client
                        .execute(&*stmt, &[&hash.as_slice(), &leaf.as_slice()])
                        .expect("insert");
                }
            })
        });
    });
    g.finish();

    let mut g = c.benchmark_group("audit_pg_batch_1000");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(BATCH as u64));
    let batch: Vec<Entry> = (0..BATCH as u64).map(entry).collect();
    g.bench_function("trust_audit_append_batch", |b| {
        b.iter(|| log.append_batch(&batch).expect("append"));
    });
    let hashes: Vec<&[u8]> = vec![hash.as_slice(); BATCH];
    let leaves: Vec<&[u8]> = vec![leaf.as_slice(); BATCH];
    let stmt = admin
        .prepare(
            "INSERT INTO raw_leaves (hash, leaf) \
             SELECT * FROM unnest($1::bytea[], $2::bytea[])",
        )
        .expect("prepare");
    g.bench_function("raw_insert_1000_rows", |b| {
        b.iter(|| admin.execute(&stmt, &[&hashes, &leaves]).expect("insert"));
    });
    g.finish();
    let entries = appended.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "audit_pg_8_writers/trust_audit_shared_handle: {entries} entries in {group_commits} \
         commits ({:.1} per commit)",
        entries as f64 / group_commits.max(1) as f64
    );
    drop(clients);
    drop(admin);
    drop(log);
}

criterion_group!(benches, audit_pg);
criterion_main!(benches);
