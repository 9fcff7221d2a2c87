//! Audit log: durable appends with group commit against the write+fdatasync floor of a
//! preallocated file (and of a growing one), verification against
//! plain SHA-256 of the same bytes, and proof generation from a 2^20-entry log.
//!
//! Run: `cargo bench -p trust-benches --bench audit -- --warm-up-time 1 --measurement-time 3`
//! (the CLI-level 10^6-entry comparison with `openssl dgst -sha256` is
//! `benches/scripts/audit_verify.sh`). Temporary logs are created under `target/` so they sit
//! on the same disk as a real deployment's data directory would in CI (not on a tmpfs).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]
// A benchmark that cannot set up its inputs should stop loudly.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::Write;
use std::os::unix::fs::FileExt;
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
        // The floors write exactly the bytes one such batch adds to the segment.
        let before = data_bytes(&dir);
        log.append_batch(&entries).unwrap();
        let per_batch = data_bytes(&dir) - before;
        g.bench_with_input(BenchmarkId::new("group_commit", batch), &batch, |b, _| {
            b.iter(|| log.append_batch(black_box(&entries)).unwrap());
        });
        let bytes = vec![0x5a; per_batch];
        // Floor: the same bytes written in place into a file whose blocks were written (with
        // zeros) and synced beforehand, one fdatasync per batch — durability with no metadata
        // to update at all. (The log reserves its space with fallocate, which leaves unwritten
        // extents; this floor is the stricter one.)
        let raw = tmp.path().join("prealloc");
        let f = File::create(&raw).unwrap();
        let room = 256 << 20;
        f.write_all_at(&vec![0; room], 0).unwrap();
        f.sync_all().unwrap();
        let mut at = 0usize;
        g.bench_with_input(BenchmarkId::new("fsync_prealloc", batch), &batch, |b, _| {
            b.iter(|| {
                if at + bytes.len() > room {
                    at = 0;
                }
                f.write_all_at(black_box(&bytes), at as u64).unwrap();
                f.sync_data().unwrap();
                at += bytes.len();
            });
        });
        // For comparison: appending to a growing file, as version 1 segments did.
        let grow = tmp.path().join("grow");
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&grow)
            .unwrap();
        g.bench_with_input(BenchmarkId::new("fsync_grow", batch), &batch, |b, _| {
            b.iter(|| {
                f.write_all(black_box(&bytes)).unwrap();
                f.sync_data().unwrap();
            });
        });
    }
    g.finish();
}

/// Bytes of records in the log's segments: up to the last non-zero byte of each file (the
/// segment ends in a hash, whose last byte is zero once in 256 batches; the floor then writes
/// one byte less).
fn data_bytes(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .map(|e| {
            let b = std::fs::read(e.unwrap().path()).unwrap();
            b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1)
        })
        .sum()
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
    // The records only: the open segment's reserved zeros are not log data.
    let mut bytes = Vec::new();
    for e in std::fs::read_dir(dir.join("segments")).unwrap() {
        let b = std::fs::read(e.unwrap().path()).unwrap();
        let end = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
        bytes.extend_from_slice(&b[..end]);
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
