//! Shared inputs for the benchmarks in this package.
//!
//! Each benchmark measures a trust-core hot path and, in the same run, the fastest comparable
//! implementation (the raw AEAD, the raw HMAC, …). Figures and the commands that produced them
//! are in `docs/PERFORMANCE.md`.

/// A deterministic payload of `len` bytes (not all zeros, so nothing can special-case it).
pub fn payload(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            let i = i as u64;
            (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8
        })
        .collect()
}
