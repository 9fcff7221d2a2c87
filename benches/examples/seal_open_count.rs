//! Runs one seal+open operation N times, for instruction counts under callgrind (repeatable
//! on a loaded machine, unlike wall time):
//!
//! ```sh
//! cargo build --release -p trust-benches --example seal_open_count
//! for op in ring v1 cached; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$op \
//!     target/release/examples/seal_open_count $op 64 10000
//! done
//! ```
//! Every run first does 100 untimed operations (so a cache is warm), then N; subtract a run
//! with N = 0 and divide by N for the per-operation count. `ring` is raw ring AES-256-GCM
//! seal+open of the same plaintext with a fixed key and nonce (no per-message work at all).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use trust_core::envelope::{self, Context, DataKeyCache, StaticKeys};
use trust_core::provider::Suite;
use trust_core::secret::Key256;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map_or("cached", String::as_str);
    let size: usize = args.get(2).map_or(64, |s| s.parse().unwrap());
    let n: usize = args.get(3).map_or(10_000, |s| s.parse().unwrap());
    let keys = StaticKeys::single("orders", Suite::Aes256Gcm, Key256::from_bytes([7; 32]));
    let ctx = Context::new()
        .with("tenant", "acme")
        .and_then(|c| c.with("record", "order-1042"))
        .unwrap();
    let plaintext = vec![0x5au8; size];
    let cache = DataKeyCache::default();
    let ring_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    let mut buf = plaintext.clone();
    let mut run = |count: usize| {
        for _ in 0..count {
            match op {
                "ring" => {
                    buf.copy_from_slice(&plaintext);
                    let tag = ring_key
                        .seal_in_place_separate_tag(
                            Nonce::assume_unique_for_key([1; 12]),
                            Aad::empty(),
                            &mut buf,
                        )
                        .unwrap();
                    let out = ring_key
                        .open_in_place_separate_tag(
                            Nonce::assume_unique_for_key([1; 12]),
                            Aad::empty(),
                            tag,
                            &mut buf,
                            0..,
                        )
                        .unwrap();
                    black_box(out.len());
                }
                "v1" => {
                    let sealed = envelope::seal(&keys, "orders", &ctx, &plaintext).unwrap();
                    black_box(envelope::open(&keys, &ctx, &sealed).unwrap().len());
                }
                "cached" => {
                    let sealed = cache.seal(&keys, "orders", &ctx, &plaintext).unwrap();
                    black_box(cache.open(&keys, &ctx, &sealed).unwrap().len());
                }
                // Key setup per message, as a per-message key requires: ring, then RustCrypto.
                "ring-keyed" => {
                    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
                    buf.copy_from_slice(&plaintext);
                    let tag = key
                        .seal_in_place_separate_tag(
                            Nonce::assume_unique_for_key([1; 12]),
                            Aad::empty(),
                            &mut buf,
                        )
                        .unwrap();
                    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
                    let out = key
                        .open_in_place_separate_tag(
                            Nonce::assume_unique_for_key([1; 12]),
                            Aad::empty(),
                            tag,
                            &mut buf,
                            0..,
                        )
                        .unwrap();
                    black_box(out.len());
                }
                "rustcrypto-keyed" => {
                    use aes_gcm::aead::{AeadInPlace, KeyInit};
                    let key = aes_gcm::Aes256Gcm::new(&[7u8; 32].into());
                    buf.copy_from_slice(&plaintext);
                    let tag = key
                        .encrypt_in_place_detached(&[1u8; 12].into(), b"", &mut buf)
                        .unwrap();
                    let key = aes_gcm::Aes256Gcm::new(&[7u8; 32].into());
                    key.decrypt_in_place_detached(&[1u8; 12].into(), b"", &mut buf, &tag)
                        .unwrap();
                    black_box(buf.len());
                }
                other => {
                    panic!("unknown op {other}: ring, ring-keyed, rustcrypto-keyed, v1 or cached")
                }
            }
        }
    };
    run(100);
    run(n);
}
