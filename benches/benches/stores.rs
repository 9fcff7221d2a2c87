//! Shared-store benchmarks (figures in docs/PERFORMANCE.md, "Shared stores"), against the
//! servers `.ci/servers` starts; each group is skipped with a printed reason when its server's
//! variable is unset.
//!
//! * `replay_check`: `trust-redis`'s `SeenStore::insert_if_absent` (one `SET key token NX PX`
//!   on a pooled connection, a fresh random token per call so a retried write can recognise
//!   itself) beside `raw_set_nx_px`: the same command with a fixed 32-byte value on one
//!   connection of the `redis` crate, the round trip any replay check must pay. Same server,
//!   same run.
//! * `warm_seal_1kib`: sealing 1 KiB with a warm keyring on a PostgreSQL home beside the same
//!   seal on an in-memory home; after the run it prints how many database transactions the
//!   PostgreSQL home made per seal (default `HomeOptions`: a keyring re-read every 2 s and a
//!   usage reservation every 1024 seals, never one per message), and the same with a usage block
//!   of 65 536 (`postgres_home_block_65536`), for an app that seals in bulk.

#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use trust_benches::payload;
use trust_core::envelope::{self, Context};
use trust_core::keyring::{Home, HomeOptions, InitSource, MemoryStore, Policy, Unlock};
use trust_core::provider::Suite;
use trust_core::root::LocalRootKey;
use trust_core::secret::Key256;
use trust_core::webhook::SeenStore;

fn var(name: &str, group: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            eprintln!("skipped {group}: {name} is not set (source .ci/servers)");
            None
        }
    }
}

fn random_prefix() -> String {
    let r = trust_core::secret::random_array::<8>().expect("randomness");
    let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!("trust-bench:{hex}:")
}

fn replay_check(c: &mut Criterion) {
    let Some(url) = var("TRUST_TEST_REDIS_URL", "replay_check") else {
        return;
    };
    let prefix = random_prefix();
    let redis = trust_redis::Redis::open(&url)
        .expect("redis")
        .with_prefix(&prefix);
    let seen = redis.seen_store();
    let client = redis::Client::open(url.as_str()).expect("client");
    let mut con = client.get_connection().expect("connection");
    let value = "0123456789abcdef0123456789abcdef";
    let now = 1_700_000_000i64;

    let mut g = c.benchmark_group("replay_check");
    g.measurement_time(Duration::from_secs(5));
    let mut n = 0u64;
    g.bench_function("trust_redis_insert_if_absent", |b| {
        b.iter(|| {
            n += 1;
            let admitted = seen
                .insert_if_absent(&format!("shopify:{n}"), now + 120, now)
                .expect("insert");
            assert!(admitted);
        });
    });
    g.bench_function("raw_set_nx_px", |b| {
        b.iter(|| {
            n += 1;
            let reply: Option<String> = redis::cmd("SET")
                .arg(format!("{prefix}raw:{n}"))
                .arg(value)
                .arg("NX")
                .arg("PX")
                .arg(120_000)
                .query(&mut con)
                .expect("SET");
            assert!(black_box(reply).is_some());
        });
    });
    g.finish();
}

fn warm_seal(c: &mut Criterion) {
    let Some(_) = var("TRUST_TEST_POSTGRES_URL", "warm_seal_1kib") else {
        return;
    };
    let schema = trust_postgres::testing::TestSchema::create("bench_seal").expect("schema");
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("root.key");
    let db = schema.open();
    trust_postgres::init_home(&db, None, InitSource::KeyFile(key.clone()))
        .expect("init")
        .create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .expect("keyring");
    let pg = trust_postgres::open_home(&db, Unlock::KeyFile(key)).expect("home");
    let mem = Home::from_parts(
        Arc::new(LocalRootKey::new(&Key256::from_bytes([7; 32]))),
        Arc::new(MemoryStore::new()),
    );
    mem.create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .expect("keyring");
    let context = Context::new().with("table", "orders").expect("context");
    let message = payload(1024);
    // Warm both: keyring loaded, version key unwrapped, a usage block reserved.
    envelope::seal(&pg, "orders", &context, &message).expect("seal");
    envelope::seal(&mem, "orders", &context, &message).expect("seal");

    let mut g = c.benchmark_group("warm_seal_1kib");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("memory_home", |b| {
        b.iter(|| envelope::seal(&mem, "orders", &context, black_box(&message)).expect("seal"));
    });
    let before = db.transactions();
    let mut seals = 0u64;
    g.bench_function("postgres_home", |b| {
        b.iter(|| {
            seals += 1;
            envelope::seal(&pg, "orders", &context, black_box(&message)).expect("seal")
        });
    });
    let transactions = db.transactions() - before;
    // A home that seals in bulk reserves larger blocks: the same seal with 65 536 per block.
    let bulk = trust_postgres::open_home(&db, Unlock::KeyFile(dir.path().join("root.key")))
        .expect("home")
        .with_options(HomeOptions::default().with_usage_block(65_536));
    envelope::seal(&bulk, "orders", &context, &message).expect("seal");
    let bulk_before = db.transactions();
    let mut bulk_seals = 0u64;
    g.bench_function("postgres_home_block_65536", |b| {
        b.iter(|| {
            bulk_seals += 1;
            envelope::seal(&bulk, "orders", &context, black_box(&message)).expect("seal")
        });
    });
    g.finish();
    let bulk_transactions = db.transactions() - bulk_before;
    println!(
        "warm_seal_1kib/postgres_home: {transactions} database transactions for {seals} seals \
         ({:.6} per seal)",
        transactions as f64 / seals.max(1) as f64
    );
    println!(
        "warm_seal_1kib/postgres_home_block_65536: {bulk_transactions} database transactions \
         for {bulk_seals} seals ({:.6} per seal)",
        bulk_transactions as f64 / bulk_seals.max(1) as f64
    );
}

criterion_group!(benches, replay_check, warm_seal);
criterion_main!(benches);
