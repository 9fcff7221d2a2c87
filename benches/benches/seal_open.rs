//! Seal+open with a warm key provider, beside raw `ring` AES-256-GCM in the same run.
//!
//! Small messages (64 B, 1 KiB): format version 1
//! (`envelope::seal`/`open`, a fresh data key per message), version 2 through a
//! `DataKeyCache` (a cached data key, a per-message key from one HMAC), and raw `ring`
//! AES-256-GCM seal+open of the same plaintext in place with a fixed key and nonce (no
//! per-message work at all) — in the same run.
//!
//! 1 MiB: `seal_into` + `open_into` with buffers reused across calls (no allocation, no page
//! faults, no wipe per call), `seal` + `open` (a fresh output vector each, the plaintext
//! wiped on drop), and the wipe of 1 MiB (`Zeroizing` drop) measured alone.
//!
//! `cargo bench -p trust-benches --bench seal_open -- --warm-up-time 1 --measurement-time 3`
//!
//! Before criterion, it prints an *interleaved* measurement: 2000 operations of each variant in
//! turn, 60 rounds, the fastest round of each. On a shared machine that is the least disturbed
//! figure, and the ratios in it are what docs/PERFORMANCE.md quotes.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use trust_core::envelope::{self, Context, DataKeyCache, StaticKeys};
use trust_core::provider::Suite;
use trust_core::secret::Key256;
use zeroize::{Zeroize, Zeroizing};

struct Fixture {
    keys: StaticKeys,
    ctx: Context,
    cache: DataKeyCache,
    ring: LessSafeKey,
}

impl Fixture {
    fn new() -> Self {
        Self {
            keys: StaticKeys::single("orders", Suite::Aes256Gcm, Key256::from_bytes([7; 32])),
            ctx: Context::new()
                .with("tenant", "acme")
                .and_then(|c| c.with("record", "order-1042"))
                .unwrap_or_default(),
            cache: DataKeyCache::default(),
            ring: LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap_or_else(|_| unreachable!()),
            ),
        }
    }

    fn raw(&self, plaintext: &[u8], buf: &mut [u8]) -> usize {
        buf.copy_from_slice(plaintext);
        let Ok(tag) = self.ring.seal_in_place_separate_tag(
            Nonce::assume_unique_for_key([1; 12]),
            Aad::empty(),
            buf,
        ) else {
            unreachable!()
        };
        self.ring
            .open_in_place_separate_tag(
                Nonce::assume_unique_for_key([1; 12]),
                Aad::empty(),
                tag,
                buf,
                0..,
            )
            .map_or(0, |p| p.len())
    }

    fn v1(&self, plaintext: &[u8]) -> usize {
        let sealed = envelope::seal(&self.keys, "orders", &self.ctx, plaintext).unwrap_or_default();
        envelope::open(&self.keys, &self.ctx, &sealed).map_or(0, |p| p.len())
    }

    fn cached(&self, plaintext: &[u8]) -> usize {
        let sealed = self
            .cache
            .seal(&self.keys, "orders", &self.ctx, plaintext)
            .unwrap_or_default();
        self.cache
            .open(&self.keys, &self.ctx, &sealed)
            .map_or(0, |p| p.len())
    }
}

/// Reused buffers for the 1 MiB case.
struct Buffers {
    sealed: Vec<u8>,
    opened: Zeroizing<Vec<u8>>,
}

impl Fixture {
    fn cached_reused(&self, plaintext: &[u8], b: &mut Buffers) -> usize {
        let _ = self
            .cache
            .seal_into(&self.keys, "orders", &self.ctx, plaintext, &mut b.sealed);
        let _ = self
            .cache
            .open_into(&self.keys, &self.ctx, &b.sealed, &mut b.opened);
        b.opened.len()
    }

    fn reused_buffers(&self, plaintext: &[u8], b: &mut Buffers) -> usize {
        let _ = envelope::seal_into(&self.keys, "orders", &self.ctx, plaintext, &mut b.sealed);
        let _ = envelope::open_into(&self.keys, &self.ctx, &b.sealed, &mut b.opened);
        b.opened.len()
    }
}

fn interleaved_large(f: &Fixture) {
    const OPS: u32 = 8;
    const ROUNDS: usize = 40;
    let plaintext = vec![0x5au8; 1 << 20];
    let mut buf = plaintext.clone();
    let mut bufs = Buffers {
        sealed: Vec::new(),
        opened: Zeroizing::new(Vec::new()),
    };
    let mut wipe = vec![0u8; 1 << 20];
    let mut best = [Duration::MAX; 4];
    for _ in 0..ROUNDS {
        for (i, slot) in best.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..OPS {
                black_box(match i {
                    0 => f.raw(black_box(&plaintext), &mut buf),
                    1 => f.reused_buffers(black_box(&plaintext), &mut bufs),
                    2 => f.v1(black_box(&plaintext)),
                    _ => {
                        wipe.as_mut_slice().zeroize();
                        wipe.len()
                    }
                });
            }
            *slot = (*slot).min(start.elapsed() / OPS);
        }
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "interleaved min seal+open 1 MiB: raw ring {:.0} us | seal_into+open_into, reused \
         buffers {:.0} us ({:.2}x) | seal+open, fresh vectors {:.0} us ({:.2}x) | \
         zeroize 1 MiB alone {:.0} us",
        us(best[0]),
        us(best[1]),
        us(best[1]) / us(best[0]),
        us(best[2]),
        us(best[2]) / us(best[0]),
        us(best[3]),
    );
}

fn interleaved(f: &Fixture) {
    const OPS: u32 = 2000;
    const ROUNDS: usize = 60;
    for size in [64usize, 1024] {
        let plaintext = vec![0x5au8; size];
        let mut buf = plaintext.clone();
        let mut bufs = Buffers {
            sealed: Vec::new(),
            opened: Zeroizing::new(Vec::new()),
        };
        let mut best = [Duration::MAX; 4];
        for _ in 0..ROUNDS {
            for (i, slot) in best.iter_mut().enumerate() {
                let start = Instant::now();
                for _ in 0..OPS {
                    black_box(match i {
                        0 => f.raw(black_box(&plaintext), &mut buf),
                        1 => f.v1(black_box(&plaintext)),
                        2 => f.cached(black_box(&plaintext)),
                        _ => f.cached_reused(black_box(&plaintext), &mut bufs),
                    });
                }
                *slot = (*slot).min(start.elapsed() / OPS);
            }
        }
        let ns = |d: Duration| d.as_secs_f64() * 1e9;
        println!(
            "interleaved min seal+open {size} B: raw ring {:.0} ns | v1 {:.0} ns ({:.1}x) | \
             cached v2 {:.0} ns ({:.1}x) | cached v2 into reused buffers {:.0} ns ({:.1}x)",
            ns(best[0]),
            ns(best[1]),
            ns(best[1]) / ns(best[0]),
            ns(best[2]),
            ns(best[2]) / ns(best[0]),
            ns(best[3]),
            ns(best[3]) / ns(best[0]),
        );
    }
}

fn bench(c: &mut Criterion) {
    let f = Fixture::new();
    interleaved(&f);
    interleaved_large(&f);
    let mut group = c.benchmark_group("small_seal_open");
    for size in [64usize, 1024] {
        let plaintext = vec![0x5au8; size];
        let mut buf = plaintext.clone();
        group.bench_function(BenchmarkId::new("raw ring aes-256-gcm", size), |b| {
            b.iter(|| black_box(f.raw(black_box(&plaintext), &mut buf)));
        });
        group.bench_function(BenchmarkId::new("v1 seal+open", size), |b| {
            b.iter(|| black_box(f.v1(black_box(&plaintext))));
        });
        group.bench_function(BenchmarkId::new("cached v2 seal+open", size), |b| {
            b.iter(|| black_box(f.cached(black_box(&plaintext))));
        });
        let mut bufs = Buffers {
            sealed: Vec::new(),
            opened: Zeroizing::new(Vec::new()),
        };
        group.bench_function(
            BenchmarkId::new("cached v2 into reused buffers", size),
            |b| {
                b.iter(|| black_box(f.cached_reused(black_box(&plaintext), &mut bufs)));
            },
        );
    }
    group.finish();

    let mut group = c.benchmark_group("seal_open_1MiB");
    group.throughput(criterion::Throughput::Bytes(1 << 20));
    let plaintext = vec![0x5au8; 1 << 20];
    let mut buf = plaintext.clone();
    group.bench_function("raw ring aes-256-gcm", |b| {
        b.iter(|| black_box(f.raw(black_box(&plaintext), &mut buf)));
    });
    let mut bufs = Buffers {
        sealed: Vec::new(),
        opened: Zeroizing::new(Vec::new()),
    };
    group.bench_function("seal_into+open_into (reused buffers)", |b| {
        b.iter(|| black_box(f.reused_buffers(black_box(&plaintext), &mut bufs)));
    });
    group.bench_function("seal+open (fresh vectors, wiped on drop)", |b| {
        b.iter(|| black_box(f.v1(black_box(&plaintext))));
    });
    let mut inplace = Zeroizing::new(Vec::with_capacity((1 << 20) + 4096));
    group.bench_function("seal_in_place+open_in_place", |b| {
        b.iter(|| {
            inplace.clear();
            inplace.extend_from_slice(&plaintext);
            let _ = envelope::seal_in_place(&f.keys, "orders", &f.ctx, &mut inplace);
            let _ = envelope::open_in_place(&f.keys, &f.ctx, &mut inplace);
            black_box(inplace.len())
        });
    });
    let mut wipe = vec![0u8; 1 << 20];
    group.bench_function("zeroize 1 MiB alone", |b| {
        b.iter(|| {
            wipe.as_mut_slice().zeroize();
            black_box(wipe.len())
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
