//! Audit log: durable appends with group commit against the fsyncs alone, verification against
//! plain SHA-256 of the same bytes, and proof generation from a 2^20-entry log.
//!
//! Run: `cargo bench -p trust-benches --bench audit -- --warm-up-time 1 --measurement-time 3`
//! (the CLI-level 10^6-entry comparison with `openssl dgst -sha256` is
//! `benches/scripts/audit_verify.sh`). Temporary logs are created under `target/` so they sit
//! on the same disk as a real deployment's data directory would in CI (not on a tmpfs).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use trust_core::audit::{AuditLog, Entry, InitOptions, VerifyOptions, verify_log};

fn scratch() -> tempfile::TempDir {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-scratch");
    std::fs::create_dir_all(&base).unwrap();
    tempfile::tempdir_in(base).unwrap()
}

fn entry(i: u64) -> Entry {
    let mut e = Entry::new("connector.sync");
    e.actor = Some(format!("worker-{}", i % 16));
    e.attrs.insert("job".into(), "orders".into());
    e.attrs.insert("n".into(), i.to_string());
    e
}

fn appends(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit_append");
    g.sample_size(10);
    for batch in [1u64, 64, 1024] {
        g.throughput(Throughput::Elements(batch));
        let tmp = scratch();
        let dir = tmp.path().join("log");
        AuditLog::init(&dir, &InitOptions::new("bench.example.com/audit")).unwrap();
        let log = AuditLog::open(&dir).unwrap();
        let entries: Vec<Entry> = (0..batch).map(entry).collect();
        g.bench_with_input(BenchmarkId::new("group_commit", batch), &batch, |b, _| {
            b.iter(|| log.append_batch(black_box(&entries)).unwrap());
        });
        // Baseline: the same number of bytes (≈ one encoded record each) appended to a file on
        // the same disk with one fdatasync per batch — the cost of durability alone.
        let raw = tmp.path().join("raw");
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&raw)
            .unwrap();
        let bytes = vec![0x5a; 190 * batch as usize];
        g.bench_with_input(BenchmarkId::new("fsync_only", batch), &batch, |b, _| {
            b.iter(|| {
                f.write_all(black_box(&bytes)).unwrap();
                f.sync_data().unwrap();
            });
        });
    }
    g.finish();
}

fn verify(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit_verify");
    g.sample_size(10);
    let n = 100_000u64;
    let tmp = scratch();
    let dir = tmp.path().join("log");
    let vkey = AuditLog::init(&dir, &InitOptions::new("bench.example.com/audit")).unwrap();
    {
        let log = AuditLog::open(&dir).unwrap();
        let all: Vec<Entry> = (0..n).map(entry).collect();
        for chunk in all.chunks(4096) {
            log.append_batch(chunk).unwrap();
        }
        log.checkpoint().unwrap();
    }
    let mut bytes = Vec::new();
    for e in std::fs::read_dir(dir.join("segments")).unwrap() {
        bytes.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    for threads in [1usize, 2] {
        g.bench_function(BenchmarkId::new("verify_log", format!("{threads}t")), |b| {
            let mut o = VerifyOptions::new(vec![vkey.clone()]);
            o.threads = threads;
            o.check_payloads = false;
            b.iter(|| assert!(verify_log(&dir, &o).unwrap().is_ok()));
        });
    }
    // Baseline: one SHA-256 pass over the same segment bytes (sha2, SHA-NI, one core).
    g.bench_function("sha256_of_segments", |b| {
        b.iter(|| black_box(Sha256::digest(black_box(&bytes))));
    });
    g.finish();
}

fn prove(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit_prove");
    let n = 1u64 << 20;
    let tmp = scratch();
    let dir = tmp.path().join("log");
    AuditLog::init(&dir, &InitOptions::new("bench.example.com/audit")).unwrap();
    let log = AuditLog::open(&dir).unwrap();
    let mut i = 0;
    while i < n {
        let batch: Vec<Entry> = (i..i + 8192).map(entry).collect();
        log.append_batch(&batch).unwrap();
        i += 8192;
    }
    log.checkpoint().unwrap();
    let mut k = 0u64;
    g.bench_function("receipt_2^20", |b| {
        b.iter(|| {
            k = (k + 104_729) % n;
            black_box(log.prove(k, Some(n)).unwrap())
        });
    });
    g.finish();
}

criterion_group!(benches, appends, verify, prove);
criterion_main!(benches);
