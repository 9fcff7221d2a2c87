//! Keyring benchmarks (figures in docs/PERFORMANCE.md, "Keyring and rewrap").
//!
//! * `rewrap_100k_tokens/rewrap_batch`: `keyring::Rewrapper::batch` over 100 000 `tle1.`
//!   tokens (64-byte credentials, each with its own context) after a rotation, beside
//!   `baseline_open_then_seal`: opening each token and sealing it again under the new Primary
//!   (what a rotation without rewrap costs), same tokens, same run.
//! * `key_cache`: a warm `Home::decryption_key` / `encryption_key` (cache hit) beside one
//!   unwrap of a version key under the root key (what each call would cost without the cache).

// criterion_group! generates an undocumented public function; a benchmark whose setup fails
// must stop loudly rather than measure something else.
#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use trust_benches::payload;
use trust_core::envelope::{self, Context};
use trust_core::keyring::{
    Home, HomeOptions, MemoryStore, Policy, Rewrapper, Rollout, Sealed, material_aad,
};
use trust_core::provider::{KeyProvider, KeyRef, Suite};
use trust_core::root::{LocalRootKey, RootKey};
use trust_core::secret::Key256;

const TOKENS: usize = 100_000;

fn home(block: u64) -> (Home, Arc<LocalRootKey>) {
    let root = Arc::new(LocalRootKey::new(&Key256::from_bytes([7; 32])));
    let home = Home::from_parts(root.clone(), Arc::new(MemoryStore::new()))
        .with_options(HomeOptions::default().with_usage_block(block));
    home.create_keyring("t", Suite::Aes256Gcm, Policy::default())
        .expect("create");
    (home, root)
}

fn rewrap(c: &mut Criterion) {
    let (home, _) = home(1 << 20);
    let secret = payload(64);
    let items: Vec<(usize, Sealed)> = (0..TOKENS)
        .map(|i| {
            let context = Context::new().with("row", &i.to_string()).expect("ctx");
            let token = envelope::seal_token(&home, "t", &context, &secret).expect("seal");
            (i, Sealed::Token { token, context })
        })
        .collect();
    home.rotate("t", Rollout::Immediate).expect("rotate");

    let mut g = c.benchmark_group("rewrap_100k_tokens");
    g.sample_size(10);
    g.bench_function("rewrap_batch", |b| {
        b.iter_batched(
            || items.clone(),
            |items| {
                let mut stored = 0usize;
                let summary = Rewrapper::new(&home)
                    .batch(items, |r| {
                        stored += usize::from(r.replacement.is_some());
                        Ok::<(), ()>(())
                    })
                    .expect("batch");
                assert_eq!(summary.rewrapped, TOKENS as u64);
                black_box(stored)
            },
            BatchSize::PerIteration,
        );
    });
    g.bench_function("baseline_open_then_seal", |b| {
        b.iter_batched(
            || items.clone(),
            |items| {
                let mut n = 0usize;
                for (_, item) in items {
                    if let Sealed::Token { token, context } = item {
                        let plain = envelope::open_token(&home, &context, &token).expect("open");
                        let t = envelope::seal_token(&home, "t", &context, &plain).expect("seal");
                        n += t.len();
                    }
                }
                black_box(n)
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

fn cache(c: &mut Criterion) {
    let (home, root) = home(1 << 40);
    let key_ref = KeyRef::new("t", 1);
    home.decryption_key(&key_ref).expect("warm");
    home.encryption_key("t").expect("warm");
    let wrapped = {
        let ring = home.keyring("t").expect("ring");
        let m = ring
            .version(1)
            .and_then(|v| v.material.clone())
            .expect("material");
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(m)
            .expect("b64")
    };
    let aad = material_aad("t", 1);

    let mut g = c.benchmark_group("key_cache");
    g.bench_function("decryption_key_hit", |b| {
        b.iter(|| black_box(home.decryption_key(black_box(&key_ref)).expect("key")));
    });
    g.bench_function("encryption_key_hit", |b| {
        b.iter(|| black_box(home.encryption_key(black_box("t")).expect("key")));
    });
    g.bench_function("baseline_root_unwrap", |b| {
        b.iter(|| black_box(root.unwrap(&aad, black_box(&wrapped)).expect("unwrap")));
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = rewrap, cache
}
criterion_main!(benches);
