//! Envelope seal/open against the raw AES-256-GCM it is built on, on the same buffers.
//!
//! `cargo bench -p trust-benches --bench envelope -- --warm-up-time 1 --measurement-time 3`
//!
//! The key provider is a `StaticKeys` whose KEK is already in memory (the "warm key cache"
//! case: no keyring file read, no root-key unwrap). Baselines: `ring` AES-256-GCM (the fastest
//! AES-GCM available to the project: runtime VAES/AVX2 dispatch) and RustCrypto `aes-gcm`, each
//! sealing the same plaintext in place with a fixed key and nonce (no per-message work at all).
#![allow(missing_docs)]

use std::hint::black_box;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use trust_core::envelope::{self, Context, StaticKeys};
use trust_core::provider::{KeyRef, Suite};
use trust_core::secret::Key256;

fn provider(suite: Suite) -> StaticKeys {
    let mut keys = StaticKeys::single("orders", suite, Key256::from_bytes([7; 32]));
    // single() already makes v1 Primary; set the suite explicitly for clarity.
    let _ = keys.set_primary(&KeyRef::new("orders", 1), suite);
    keys
}

fn bench(c: &mut Criterion) {
    let ctx = Context::new()
        .with("tenant", "acme")
        .and_then(|c| c.with("record", "order-1042"))
        .unwrap_or_default();
    for size in [1024usize, 1 << 20] {
        let label = if size == 1024 { "1KiB" } else { "1MiB" };
        let plaintext = vec![0x5au8; size];
        let mut group = c.benchmark_group(format!("envelope/{label}"));
        group.throughput(Throughput::Bytes(size as u64));

        let ring_key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap_or_else(|_| unreachable!()),
        );
        let mut buf = plaintext.clone();
        group.bench_function("raw ring aes-256-gcm seal", |b| {
            b.iter(|| {
                buf.copy_from_slice(&plaintext);
                let tag = ring_key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key([1; 12]),
                        Aad::empty(),
                        &mut buf,
                    )
                    .map(|t| t.as_ref()[0]);
                black_box(tag)
            });
        });
        let mut sealed_raw = plaintext.clone();
        let raw_tag = ring_key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key([1; 12]),
                Aad::empty(),
                &mut sealed_raw,
            )
            .unwrap_or_else(|_| unreachable!());
        group.bench_function("raw ring aes-256-gcm open", |b| {
            b.iter(|| {
                buf.copy_from_slice(&sealed_raw);
                let n = ring_key
                    .open_in_place_separate_tag(
                        Nonce::assume_unique_for_key([1; 12]),
                        Aad::empty(),
                        raw_tag,
                        &mut buf,
                        0..,
                    )
                    .map(|p| p.len());
                black_box(n)
            });
        });
        let rc = aes_gcm::Aes256Gcm::new(&[7u8; 32].into());
        group.bench_function("raw rustcrypto aes-gcm seal", |b| {
            b.iter(|| {
                buf.copy_from_slice(&plaintext);
                let tag = rc
                    .encrypt_in_place_detached(&[1u8; 12].into(), b"", &mut buf)
                    .map(|t| t[0]);
                black_box(tag)
            });
        });

        for suite in Suite::ALL {
            let keys = provider(suite);
            let sealed = envelope::seal(&keys, "orders", &ctx, &plaintext).unwrap_or_default();
            group.bench_function(BenchmarkId::new("seal", suite.name()), |b| {
                b.iter(|| {
                    black_box(
                        envelope::seal(&keys, "orders", &ctx, black_box(&plaintext))
                            .map(|v| v.len()),
                    )
                });
            });
            group.bench_function(BenchmarkId::new("open", suite.name()), |b| {
                b.iter(|| {
                    black_box(envelope::open(&keys, &ctx, black_box(&sealed)).map(|v| v.len()))
                });
            });
            if size == 1024 {
                group.bench_function(BenchmarkId::new("seal+open", suite.name()), |b| {
                    b.iter(|| {
                        let sealed = envelope::seal(&keys, "orders", &ctx, black_box(&plaintext))
                            .unwrap_or_default();
                        black_box(envelope::open(&keys, &ctx, &sealed).map(|v| v.len()))
                    });
                });
                let token =
                    envelope::seal_token(&keys, "orders", &ctx, &plaintext).unwrap_or_default();
                group.bench_function(BenchmarkId::new("token seal", suite.name()), |b| {
                    b.iter(|| {
                        black_box(
                            envelope::seal_token(&keys, "orders", &ctx, black_box(&plaintext))
                                .map(|t| t.len()),
                        )
                    });
                });
                group.bench_function(BenchmarkId::new("token open", suite.name()), |b| {
                    b.iter(|| {
                        black_box(
                            envelope::open_token(&keys, &ctx, black_box(&token)).map(|v| v.len()),
                        )
                    });
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
