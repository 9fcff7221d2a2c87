//! Load generator for the audit log on PostgreSQL (docs/PERFORMANCE.md; run by
//! benches/scripts/audit_pg.sh beside `pgbench` on the same server).
//!
//! ```text
//! TRUST_BENCH_POSTGRES_URL=postgres://… cargo run --release -p trust-postgres --example audit_load -- \
//!     MODE WRITERS BATCH SECONDS
//! ```
//!
//! * `MODE` `shared`: the writers are threads sharing one handle (one process: group commit);
//!   `handles`: each writer has a handle of its own (as separate processes or hosts would);
//! * `BATCH`: entries per call (1 = one entry per call);
//! * prints one line: `mode=… writers=… batch=… calls=… entries=… seconds=… entries_per_s=…
//!   calls_per_s=… commits=… entries_per_commit=…` (commits: transactions that advanced the
//!   tree row, from the server's statistics).
//!
//! The log is created in a fresh schema, which is dropped at the end.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use trust_core::audit::{AuditLog, Entry, InitOptions};
use trust_core::store_url::StoreUrl;
use trust_postgres::{ConnectOptions, Database, audit};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, writers, batch, seconds] = args.as_slice() else {
        eprintln!("usage: audit_load shared|handles WRITERS BATCH SECONDS");
        std::process::exit(2);
    };
    let writers: usize = writers.parse().expect("WRITERS");
    let batch: usize = batch.parse().expect("BATCH");
    let seconds: f64 = seconds.parse().expect("SECONDS");
    let base = std::env::var("TRUST_BENCH_POSTGRES_URL").expect("TRUST_BENCH_POSTGRES_URL");
    let admin = Database::connect(ConnectOptions::parse(&StoreUrl::parse(&base).unwrap()).unwrap())
        .expect("connect");
    let schema = format!("bench_audit_{}", std::process::id());
    admin
        .transaction(|tx| {
            tx.batch_execute(&format!("CREATE SCHEMA {schema}"))
                .map_err(|e| admin.error(&e))
        })
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
    let db = Database::open(&StoreUrl::parse(&url).unwrap()).expect("open");
    audit::init_log(&db, "bench", &InitOptions::new("bench.example/audit")).unwrap();
    let open = || Arc::new(audit::open_log(&db, "bench", None, Duration::from_secs(60)).unwrap());
    let shared = open();
    let logs: Vec<Arc<AuditLog>> = (0..writers)
        .map(|_| {
            if mode == "shared" {
                Arc::clone(&shared)
            } else {
                open()
            }
        })
        .collect();
    let entries: Vec<Entry> = (0..batch)
        .map(|i| {
            let mut e = Entry::new("bench.append");
            e.actor = Some("worker@example.com".into());
            e.attrs.insert("order".into(), format!("{i:08}"));
            e
        })
        .collect();
    let entries = Arc::new(entries);
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    // Warm up: every handle's connection open and its statements planned.
    for log in &logs {
        log.append_batch(&entries).unwrap();
    }
    let start = Instant::now();
    let threads: Vec<_> = logs
        .into_iter()
        .map(|log| {
            let (stop, calls, entries) =
                (Arc::clone(&stop), Arc::clone(&calls), Arc::clone(&entries));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    log.append_batch(&entries).unwrap();
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let calls = calls.load(Ordering::Relaxed);
    let n = calls * batch as u64;
    drop(shared);
    drop(db);
    // Transactions that advanced the tree row (one per commit, warm-up included): how well
    // appends were coalesced. The server publishes a session's counts when it ends.
    std::thread::sleep(Duration::from_millis(1500));
    let commits: i64 = admin
        .transaction(|tx| {
            Ok(tx
                .query_one(
                    "SELECT coalesce(sum(n_tup_upd), 0)::bigint FROM pg_stat_user_tables \
                     WHERE schemaname = $1 AND relname = 'trust_audit_tree'",
                    &[&schema],
                )
                .map_err(|e| admin.error(&e))?
                .get(0))
        })
        .unwrap();
    let warm = if mode == "shared" { 1 } else { writers as i64 };
    let commits = (commits - warm).max(1);
    println!(
        "mode={mode} writers={writers} batch={batch} calls={calls} entries={n} seconds={elapsed:.2} \
         entries_per_s={:.0} calls_per_s={:.0} commits={commits} entries_per_commit={:.1}",
        n as f64 / elapsed,
        calls as f64 / elapsed,
        n as f64 / commits as f64
    );
    admin
        .transaction(|tx| {
            tx.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .map_err(|e| admin.error(&e))
        })
        .unwrap();
}
