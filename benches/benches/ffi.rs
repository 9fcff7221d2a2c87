//! The cost of crossing the C ABI: the same operation through trust-ffi's `extern "C"`
//! functions (called directly through the rlib, exactly the code a C host runs) and through
//! trust-core in Rust, in the same run. The difference is the ABI's overhead: pointer and
//! length checks, UTF-8 checks, the panic boundary, and copying outputs into a library-owned
//! `trust_bytes`.
//!
//! Run: `cargo bench -p trust-benches --bench ffi -- --warm-up-time 1 --measurement-time 3`
#![allow(unsafe_code)] // calling the C ABI is the point of this benchmark
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::ptr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trust::bytes::trust_bytes_free;
use trust::home::{
    TRUST_SUITE_AES_256_GCM, trust_context_add, trust_context_free, trust_context_new,
    trust_home_create_keyring, trust_home_free, trust_home_open_key_file, trust_home_seal,
};
use trust::merkle::trust_merkle_leaf_hash;
use trust::status::trust_status;
use trust::webhook::{
    TRUST_WEBHOOK_SCHEME_DEFAULT, trust_webhook_verifier_free, trust_webhook_verifier_new,
    trust_webhook_verify_stripe,
};
use trust_core::audit::merkle;
use trust_core::envelope::{self, Context};
use trust_core::keyring::{Home, InitSource, Policy, Unlock};
use trust_core::provider::Suite;
use trust_core::webhook::{SecretSet, stripe};

const NOW: i64 = 1_700_000_000;

fn stripe_verify(c: &mut Criterion) {
    let secret = b"whsec_bench_secret";
    let body = vec![b'x'; 1024];
    let header = format!("t={NOW},v1={}", stripe::sign(secret, &body, NOW));

    let rust = stripe::Verifier::new(SecretSet::new(secret.to_vec()));
    let mut verifier = ptr::null_mut();
    let secrets = [secret.as_ptr()];
    let lens = [secret.len()];
    // SAFETY: arrays of one valid secret; `verifier` is writable.
    let status = unsafe {
        trust_webhook_verifier_new(
            secrets.as_ptr(),
            lens.as_ptr(),
            1,
            TRUST_WEBHOOK_SCHEME_DEFAULT,
            &mut verifier,
            ptr::null_mut(),
        )
    };
    assert_eq!(status, trust_status::TrustOk);

    let mut g = c.benchmark_group("ffi/stripe_verify_1KiB");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("rust", |b| {
        b.iter(|| {
            rust.verify(
                &[("Stripe-Signature", header.as_str())],
                black_box(&body),
                NOW,
            )
            .unwrap()
        });
    });
    g.bench_function("c_abi", |b| {
        b.iter(|| {
            // SAFETY: live verifier; header and body outlive the call.
            let s = unsafe {
                trust_webhook_verify_stripe(
                    verifier,
                    header.as_ptr(),
                    header.len(),
                    black_box(body.as_ptr()),
                    body.len(),
                    NOW,
                    ptr::null_mut(),
                )
            };
            assert_eq!(s, trust_status::TrustOk);
        });
    });
    g.finish();
    // SAFETY: made above, freed once.
    unsafe { trust_webhook_verifier_free(verifier) };
}

fn seal(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let home_dir = dir.path().join("home");
    let key_file = dir.path().join("root.key");
    let home = Home::init(&home_dir, InitSource::KeyFile(key_file)).unwrap();
    home.create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    let ctx = Context::new().with("tenant", "acme").unwrap();
    let body = vec![7u8; 1024];

    // The C side opens the same home; both seal under the same keyring.
    let home_str = home_dir.to_str().unwrap();
    let mut c_home = ptr::null_mut();
    let mut c_ctx = ptr::null_mut();
    // SAFETY: valid UTF-8 buffers and writable out-params, checked statuses.
    unsafe {
        assert_eq!(
            trust_home_open_key_file(
                home_str.as_ptr(),
                home_str.len(),
                ptr::null(),
                0,
                &mut c_home,
                ptr::null_mut()
            ),
            trust_status::TrustOk
        );
        assert_eq!(
            trust_context_new(&mut c_ctx, ptr::null_mut()),
            trust_status::TrustOk
        );
        assert_eq!(
            trust_context_add(
                c_ctx,
                b"tenant".as_ptr(),
                6,
                b"acme".as_ptr(),
                4,
                ptr::null_mut()
            ),
            trust_status::TrustOk
        );
        // Idempotence guard: the keyring exists already (made through Rust above).
        assert_eq!(
            trust_home_create_keyring(
                c_home,
                b"orders".as_ptr(),
                6,
                TRUST_SUITE_AES_256_GCM,
                ptr::null_mut()
            ),
            trust_status::TrustInvalidArgument
        );
    }
    let home = Home::open(&home_dir, Unlock::Stored).unwrap();

    let mut g = c.benchmark_group("ffi/seal_1KiB");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("rust", |b| {
        b.iter(|| envelope::seal(&home, "orders", &ctx, black_box(&body)).unwrap());
    });
    g.bench_function("c_abi", |b| {
        b.iter(|| {
            let mut out = ptr::null_mut();
            // SAFETY: live handles; body outlives the call; `out` is freed right after.
            unsafe {
                let s = trust_home_seal(
                    c_home,
                    b"orders".as_ptr(),
                    6,
                    c_ctx,
                    black_box(body.as_ptr()),
                    body.len(),
                    &mut out,
                    ptr::null_mut(),
                );
                assert_eq!(s, trust_status::TrustOk);
                trust_bytes_free(out);
            }
        });
    });
    g.finish();
    // SAFETY: made above, freed once.
    unsafe {
        trust_context_free(c_ctx);
        trust_home_free(c_home);
    }
}

/// A tiny operation, so the fixed cost of a call dominates.
fn leaf_hash(c: &mut Criterion) {
    let data = [0u8; 32];
    let mut g = c.benchmark_group("ffi/merkle_leaf_hash_32B");
    g.bench_function("rust", |b| b.iter(|| merkle::leaf_hash(black_box(&data))));
    g.bench_function("c_abi", |b| {
        b.iter(|| {
            let mut out = [0u8; 32];
            // SAFETY: 32 readable bytes in, 32 writable bytes out.
            let s = unsafe {
                trust_merkle_leaf_hash(
                    black_box(data.as_ptr()),
                    data.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    ptr::null_mut(),
                )
            };
            assert_eq!(s, trust_status::TrustOk);
            out
        });
    });
    g.finish();
}

criterion_group!(benches, stripe_verify, seal, leaf_hash);
criterion_main!(benches);
