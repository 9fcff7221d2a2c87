//! GDPR and redaction benchmarks, each beside its baseline in the same run:
//!
//! * `redact/1MiB-log`: [`Redactor::redact_bytes`] over 1 MiB of realistic log lines (one line
//!   in 40 carries a credential or a card number) against a plain copy of the same bytes
//!   (`to_vec`), the floor any filter that outputs the text must pay. Goal ≤ 5×.
//!   `redact-no-cards` is the same without the card-number scan.
//! * `subject/seal` and `subject/open`: sealing/opening a 256-byte record for a data subject
//!   with a warm subject-key cache against plain envelope seal/open under the tenant key.
//!   Goal ≤ 1.2×.

// criterion_group! generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trust_core::envelope::{self, Context, StaticKeys};
use trust_core::gdpr::{MemoryStore, SubjectKeys};
use trust_core::provider::Suite;
use trust_core::redact::Redactor;
use trust_core::secret::Key256;

/// 1 MiB of log text: request lines, JSON bodies, timestamps, ids; every 40th line carries a
/// secret of one of the recognised kinds.
fn log_chunk() -> Vec<u8> {
    let secrets = [
        "Authorization: Bearer abcdefghijklmnop0123456789",
        "token=shpat_0123456789abcdef0123456789abcdef",
        "stripe sk_live_51Habcdefghijklmnopqrstu",
        "card 4242 4242 4242 4242",
        "GET https://api:hunter2@shop.example.com/admin",
        "hubspot pat-na1-0a1b2c3d-4e5f-6789-abcd-ef0123456789",
    ];
    let mut out = Vec::with_capacity(1 << 20);
    let mut i = 0u64;
    while out.len() < (1 << 20) {
        let line = if i % 40 == 39 {
            format!(
                "2026-11-22T05:00:{:02}.{:03}Z WARN sync{{shop=demo-{}}}: upstream said {}\n",
                i % 60,
                i % 1000,
                i % 97,
                secrets[usize::try_from(i / 40).unwrap_or(0) % secrets.len()]
            )
        } else {
            format!(
                "2026-11-22T05:00:{:02}.{:03}Z INFO sync{{shop=demo-{} order={}}}: POST /admin/api/2024-10/orders.json status=200 took={}ms body={{\"id\":{},\"total\":\"{}.{:02}\",\"currency\":\"EUR\"}}\n",
                i % 60,
                i % 1000,
                i % 97,
                5_000_000 + i,
                i % 250,
                1_700_000_000_000 + i * 7,
                i % 300,
                i % 100
            )
        };
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out.truncate(1 << 20);
    out
}

fn redaction(c: &mut Criterion) {
    let chunk = log_chunk();
    let redactor = Redactor::builder()
        .literal("odoo-api-key-7f3a9c")
        .and_then(|b| b.literal("whsec-local-test-secret"))
        .and_then(|b| b.build())
        .unwrap_or_default();
    assert_ne!(
        redactor.redact_bytes(&chunk).len(),
        chunk.len(),
        "chunk has secrets"
    );
    let mut g = c.benchmark_group("redact");
    g.throughput(Throughput::Bytes(chunk.len() as u64));
    g.bench_function("1MiB-log/plain-copy", |b| {
        b.iter(|| black_box(black_box(&chunk[..]).to_vec()));
    });
    g.bench_function("1MiB-log/redact", |b| {
        b.iter(|| black_box(redactor.redact_bytes(black_box(&chunk))).len());
    });
    // The same without the card-number scan, to show what the byte-wise digit walk costs.
    let no_cards = Redactor::builder()
        .without_cards()
        .build()
        .unwrap_or_default();
    g.bench_function("1MiB-log/redact-no-cards", |b| {
        b.iter(|| black_box(no_cards.redact_bytes(black_box(&chunk))).len());
    });
    g.finish();
}

fn subject_keys(c: &mut Criterion) {
    let tenant = StaticKeys::single("orders", Suite::Aes256Gcm, Key256::from_bytes([7; 32]));
    let keys = SubjectKeys::new(
        StaticKeys::single("orders", Suite::Aes256Gcm, Key256::from_bytes([7; 32])),
        MemoryStore::new(),
    );
    let ctx = Context::new()
        .with("table", "customers")
        .unwrap_or_default();
    let record = [0x5a_u8; 256];
    // Warm the cache: pseudonym key and subject key are unwrapped once.
    let sealed_subject = keys.seal_for_subject("orders", "customer-191167", &ctx, &record);
    let sealed_plain = envelope::seal(&tenant, "orders", &ctx, &record);
    let (Ok(sealed_subject), Ok(sealed_plain)) = (sealed_subject, sealed_plain) else {
        return;
    };

    let mut g = c.benchmark_group("subject");
    g.throughput(Throughput::Bytes(record.len() as u64));
    g.bench_function("seal/plain-envelope", |b| {
        b.iter(|| envelope::seal(&tenant, "orders", &ctx, black_box(&record)).map(|v| v.len()));
    });
    g.bench_function("seal/for-subject", |b| {
        b.iter(|| {
            keys.seal_for_subject("orders", "customer-191167", &ctx, black_box(&record))
                .map(|v| v.len())
        });
    });
    g.bench_function("open/plain-envelope", |b| {
        b.iter(|| envelope::open(&tenant, &ctx, black_box(&sealed_plain)).map(|v| v.len()));
    });
    g.bench_function("open/for-subject", |b| {
        b.iter(|| {
            keys.open_for_subject(&ctx, black_box(&sealed_subject))
                .map(|v| v.len())
        });
    });
    g.finish();
}

criterion_group!(benches, redaction, subject_keys);
criterion_main!(benches);
