//! The key schedule: from one random data key to the per-message AEAD key, base nonce and
//! commitment, and the wrapping of that data key under a key-encryption key.
//!
//! ## Per-message keys (c2sp.org/chunked-encryption, unmodified)
//!
//! ```text
//! key ‖ base_nonce ‖ commitment = HKDF-Expand-SHA-512(prk = DEK,
//!     info = "c2sp.org/chunked-encryption@v1+" ‖ aead_name ‖ 0x00 ‖ salt ‖ binding)
//! ```
//! `aead_name` is `AEAD_AES_256_GCM` (nonce 12 bytes; this is the spec's Cobblestone-256, whose
//! Wycheproof vectors the test suite runs) or `AEAD_XCHACHA20_POLY1305` (nonce 24 bytes, the
//! same construction over XChaCha20-Poly1305). `binding` is the envelope's immutable header,
//! followed by the caller's canonical context when the context is not stored — so the suite,
//! the format version and every context pair change every derived byte.
//!
//! ## Wrapping the data key
//!
//! ```text
//! wrapped = wrap_nonce(24, random) ‖ XChaCha20-Poly1305(KEK, wrap_nonce, DEK,
//!     aad = "trust.envelope.v1.wrap" ‖ u32 len(binding) ‖ binding ‖ salt ‖ key_ref_entry)
//! ```
//! The KEK is long-lived, so its AEAD needs a nonce that can be drawn at random forever:
//! XChaCha20-Poly1305's 192-bit nonce has no practical collision bound (a 96-bit GCM nonce
//! would cap a KEK version at 2^32 wraps). The AAD binds the wrapped key to this message (its
//! random salt), to its key reference (keyring, version, subject: a swapped reference does not
//! unwrap) and to the suite and context (inside `binding`).

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ring::hkdf;
use zeroize::Zeroizing;

use super::error::EnvelopeError;
use crate::keys::Suite;
use crate::secret::{Key256, ct_eq};

/// Length of the per-message random salt.
pub(crate) const SALT_LEN: usize = 24;
/// Length of the key commitment.
pub(crate) const COMMITMENT_LEN: usize = 32;
/// Length of a data key.
pub(crate) const DEK_LEN: usize = 32;
/// Length of the random nonce in front of a wrapped key.
pub(crate) const WRAP_NONCE_LEN: usize = 24;
/// Length of a wrapped data key: nonce, encrypted key, tag.
pub(crate) const WRAPPED_LEN: usize = WRAP_NONCE_LEN + DEK_LEN + 16;

const CHUNKED_PREFIX: &[u8] = b"c2sp.org/chunked-encryption@v1+";
const WRAP_LABEL: &[u8] = b"trust.envelope.v1.wrap";

/// The name of a suite's AEAD in the key schedule (IANA AEAD registry spelling).
pub(crate) const fn aead_name(suite: Suite) -> &'static [u8] {
    match suite {
        Suite::XChaCha20Poly1305 => b"AEAD_XCHACHA20_POLY1305",
        // Suite is non_exhaustive only for other crates; inside this crate the match is total.
        Suite::Aes256Gcm => b"AEAD_AES_256_GCM",
    }
}

/// Nonce length of a suite's AEAD.
pub(crate) const fn nonce_len(suite: Suite) -> usize {
    match suite {
        Suite::XChaCha20Poly1305 => 24,
        Suite::Aes256Gcm => 12,
    }
}

/// The per-message secrets derived from a data key.
pub(crate) struct MessageKeys {
    /// The AEAD key for every chunk.
    pub(crate) key: Zeroizing<[u8; 32]>,
    /// The base nonce (first `nonce_len(suite)` bytes used).
    pub(crate) base_nonce: [u8; 24],
    /// The key commitment stored after the salt.
    pub(crate) commitment: [u8; COMMITMENT_LEN],
}

struct OkmLen(usize);

impl hkdf::KeyType for OkmLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// Derives the per-message key, base nonce and commitment.
pub(crate) fn derive(
    suite: Suite,
    input_key: &[u8; 32],
    salt: &[u8; SALT_LEN],
    context: &[u8],
) -> MessageKeys {
    let nonce_len = nonce_len(suite);
    let total = 32 + nonce_len + COMMITMENT_LEN;
    let mut okm = Zeroizing::new([0u8; 32 + 24 + COMMITMENT_LEN]);
    // HKDF-Expand only (no Extract), exactly as the chunked-encryption spec: the input key is
    // uniformly random already. `new_less_safe` is ring's name for "use these bytes as the PRK".
    let prk = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA512, input_key);
    let info = [
        CHUNKED_PREFIX,
        aead_name(suite),
        &[0u8],
        salt.as_slice(),
        context,
    ];
    // Expand fails only when asked for more than 255 hash blocks; `total` is at most 88 bytes.
    if let Ok(expanded) = prk.expand(&info, OkmLen(total)) {
        let _ = expanded.fill(&mut okm[..total]);
    }
    let mut keys = MessageKeys {
        key: Zeroizing::new([0u8; 32]),
        base_nonce: [0u8; 24],
        commitment: [0u8; COMMITMENT_LEN],
    };
    keys.key.copy_from_slice(&okm[..32]);
    keys.base_nonce[..nonce_len].copy_from_slice(&okm[32..32 + nonce_len]);
    keys.commitment.copy_from_slice(&okm[32 + nonce_len..total]);
    keys
}

/// Derives the message keys and checks the stored commitment in constant time, before any
/// chunk is decrypted.
///
/// # Errors
/// [`EnvelopeError::Authentication`] when the commitment differs (wrong key or context).
pub(crate) fn derive_checked(
    suite: Suite,
    input_key: &[u8; 32],
    salt: &[u8; SALT_LEN],
    context: &[u8],
    commitment: &[u8],
) -> Result<MessageKeys, EnvelopeError> {
    let keys = derive(suite, input_key, salt, context);
    if ct_eq(&keys.commitment, commitment) {
        Ok(keys)
    } else {
        Err(EnvelopeError::Authentication)
    }
}

/// The associated data of a wrapped data key.
pub(crate) fn wrap_aad(binding: &[u8], salt: &[u8; SALT_LEN], key_ref_entry: &[u8]) -> Vec<u8> {
    let mut aad =
        Vec::with_capacity(WRAP_LABEL.len() + 4 + binding.len() + SALT_LEN + key_ref_entry.len());
    aad.extend_from_slice(WRAP_LABEL);
    // Bindings are bounded by the header limit, far below u32::MAX.
    aad.extend_from_slice(
        &u32::try_from(binding.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    aad.extend_from_slice(binding);
    aad.extend_from_slice(salt);
    aad.extend_from_slice(key_ref_entry);
    aad
}

/// Wraps `dek` under `kek` with a fresh random nonce (`nonce` comes from the caller's single
/// draw of randomness for the message).
pub(crate) fn wrap(
    kek: &Key256,
    nonce: &[u8; WRAP_NONCE_LEN],
    dek: &[u8; DEK_LEN],
    aad: &[u8],
) -> [u8; WRAPPED_LEN] {
    let cipher = XChaCha20Poly1305::new(kek.expose().into());
    let mut out = [0u8; WRAPPED_LEN];
    out[..WRAP_NONCE_LEN].copy_from_slice(nonce);
    let (body, tag_out) = out[WRAP_NONCE_LEN..].split_at_mut(DEK_LEN);
    body.copy_from_slice(dek);
    // Encryption of 32 bytes cannot exceed the AEAD's length limit.
    if let Ok(tag) = cipher.encrypt_in_place_detached(XNonce::from_slice(nonce), aad, body) {
        tag_out.copy_from_slice(&tag);
    }
    out
}

/// Unwraps a data key.
///
/// # Errors
/// [`EnvelopeError::Authentication`] when the KEK, the AAD or the wrapped bytes are wrong.
pub(crate) fn unwrap(
    kek: &Key256,
    wrapped: &[u8; WRAPPED_LEN],
    aad: &[u8],
) -> Result<Zeroizing<[u8; DEK_LEN]>, EnvelopeError> {
    let cipher = XChaCha20Poly1305::new(kek.expose().into());
    let (nonce, rest) = wrapped.split_at(WRAP_NONCE_LEN);
    let (body, tag) = rest.split_at(DEK_LEN);
    let mut dek = Zeroizing::new([0u8; DEK_LEN]);
    dek.copy_from_slice(body);
    cipher
        .decrypt_in_place_detached(
            XNonce::from_slice(nonce),
            aad,
            dek.as_mut_slice(),
            tag.into(),
        )
        .map_err(|_| EnvelopeError::Authentication)?;
    Ok(dek)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ring HKDF-Expand used above agrees with a textbook HKDF-Expand (RFC 5869 §2.3)
    /// written with the `hmac` crate, for both suites' output lengths.
    #[test]
    fn hkdf_expand_matches_rfc5869_definition() {
        use hmac::{Hmac, Mac};
        type H = Hmac<sha2::Sha512>;
        let dek = [0x42u8; 32];
        let salt = [7u8; SALT_LEN];
        let ctx = b"context bytes";
        for suite in Suite::ALL {
            let keys = derive(suite, &dek, &salt, ctx);
            let mut info = Vec::new();
            info.extend_from_slice(CHUNKED_PREFIX);
            info.extend_from_slice(aead_name(suite));
            info.push(0);
            info.extend_from_slice(&salt);
            info.extend_from_slice(ctx);
            let mut okm = Vec::new();
            let mut t: Vec<u8> = Vec::new();
            for i in 1u8..=2 {
                let mut mac = <H as Mac>::new_from_slice(&dek).unwrap();
                mac.update(&t);
                mac.update(&info);
                mac.update(&[i]);
                t = mac.finalize().into_bytes().to_vec();
                okm.extend_from_slice(&t);
            }
            let n = nonce_len(suite);
            assert_eq!(&keys.key[..], &okm[..32]);
            assert_eq!(&keys.base_nonce[..n], &okm[32..32 + n]);
            assert_eq!(&keys.commitment[..], &okm[32 + n..64 + n]);
        }
    }

    #[test]
    fn wrap_round_trips_and_binds_aad_and_kek() {
        let kek = Key256::from_bytes([1; 32]);
        let other = Key256::from_bytes([2; 32]);
        let dek = [9u8; 32];
        let nonce = [3u8; 24];
        let wrapped = wrap(&kek, &nonce, &dek, b"aad");
        assert_eq!(&unwrap(&kek, &wrapped, b"aad").unwrap()[..], &dek);
        assert!(unwrap(&kek, &wrapped, b"aae").is_err());
        assert!(unwrap(&other, &wrapped, b"aad").is_err());
        for i in 0..WRAPPED_LEN {
            let mut bad = wrapped;
            bad[i] ^= 0x80;
            assert!(unwrap(&kek, &bad, b"aad").is_err(), "byte {i}");
        }
    }

    #[test]
    fn commitment_check_rejects_other_keys_and_contexts() {
        let salt = [5u8; SALT_LEN];
        let good = derive(Suite::Aes256Gcm, &[1; 32], &salt, b"ctx");
        assert!(
            derive_checked(Suite::Aes256Gcm, &[1; 32], &salt, b"ctx", &good.commitment).is_ok()
        );
        assert!(
            derive_checked(Suite::Aes256Gcm, &[2; 32], &salt, b"ctx", &good.commitment).is_err()
        );
        assert!(
            derive_checked(Suite::Aes256Gcm, &[1; 32], &salt, b"ctY", &good.commitment).is_err()
        );
        assert!(
            derive_checked(
                Suite::XChaCha20Poly1305,
                &[1; 32],
                &salt,
                b"ctx",
                &good.commitment
            )
            .is_err()
        );
    }
}
