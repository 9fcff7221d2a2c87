//! The key schedule: from one random data key to the per-message AEAD key, base nonce and
//! commitment, and the wrapping of that data key under a key-encryption key.
//!
//! ## Per-message keys (c2sp.org/chunked-encryption)
//!
//! ```text
//! key ‖ base_nonce ‖ commitment = HKDF-Expand-SHA-256(prk = DEK,
//!     info = "c2sp.org/chunked-encryption@v1+" ‖ aead_name ‖ 0x00 ‖ salt ‖ binding)
//! ```
//! `aead_name` is `AEAD_AES_256_GCM` (nonce 12 bytes) or `AEAD_XCHACHA20_POLY1305` (nonce 24
//! bytes, the same construction over XChaCha20-Poly1305). `binding` is the envelope's immutable
//! header, followed by the caller's canonical context when the context is not stored — so the
//! suite, the format version and every context pair change every derived byte.
//!
//! The hash is SHA-256, the spec's recommended instantiation. (Wycheproof's "Cobblestone-256"
//! pairs AES-256-GCM with SHA-512; the test suite runs those vectors through this same code with
//! the hash switched to SHA-512, so the chunking, nonce and commitment logic are checked against
//! the independent oracle. We chose SHA-256 because SHA-NI makes it several times cheaper than
//! SHA-512 on current x86 and ARM servers, and key derivation dominates small-record sealing.)
//!
//! ## Wrapping the data key
//!
//! ```text
//! wrap_key = HKDF-Expand-SHA-256(prk = KEK, info = "trust.envelope.v1.wrap-key" ‖ wrap_nonce, 32)
//! wrapped  = wrap_nonce(24, random) ‖ AES-256-GCM(wrap_key, nonce = 0^96, DEK,
//!     aad = "trust.envelope.v1.wrap" ‖ u32 len(binding) ‖ binding ‖ salt ‖ key_ref_entry)
//! ```
//! The KEK is long-lived, so it never encrypts directly: each wrap uses a fresh key derived
//! from a random 192-bit nonce (a 96-bit random GCM nonce under the KEK itself would cap a KEK
//! version at 2^32 wraps). Since each wrap key is used once, the GCM nonce can be fixed. The
//! AAD binds the wrapped key to this message (its random salt), to its key reference (keyring,
//! version, subject: a swapped reference does not unwrap) and to the suite and context (inside
//! `binding`).
//!
//! ## Version 2: cached data keys
//!
//! ```text
//! commitment = HMAC-SHA-256(DEK, "trust.envelope.v2.commitment")
//! key        = HMAC-SHA-256(DEK, "trust.envelope.v2.key" ‖ salt ‖ binding)
//! base_nonce = 0 (the key is used by this message only)
//! wrapped    = as version 1, with
//!     aad = "trust.envelope.v2.wrap" ‖ u16 suite ‖ key_ref_entry
//! ```
//! One data key serves many messages (see `cache`), so its wrap cannot name one message's salt
//! or context; the message is tied to the data key by the commitment instead (a wrap section
//! moved to another message yields another DEK, whose commitment does not match), and each
//! message still gets its own AEAD key, derived from its random salt and its binding. The
//! commitment depends on the data key alone: it commits the message to the DEK, and the AEAD
//! key is a function of the DEK and authenticated header bytes, so it commits to that too. With
//! the HMAC pads of the DEK hashed once per cached key, a message costs one HMAC of
//! `label ‖ salt ‖ binding` (3 SHA-256 blocks for a typical 60-byte binding) where version 1
//! costs 13 blocks plus the wrap's HKDF.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use hmac::Mac;
use ring::aead as ring_aead;
use ring::hkdf;
use zeroize::Zeroizing;

use super::body::Backend;
use super::error::EnvelopeError;
use super::header::VERSION_CACHED;
use crate::provider::Suite;
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
const WRAP_KEY_LABEL: &[u8] = b"trust.envelope.v1.wrap-key";
const V2_KEY_LABEL: &[u8] = b"trust.envelope.v2.key";
const V2_COMMITMENT_LABEL: &[u8] = b"trust.envelope.v2.commitment";
const V2_WRAP_LABEL: &[u8] = b"trust.envelope.v2.wrap";
type HmacSha256 = hmac::Hmac<sha2::Sha256>;
/// The HKDF hash of version 1.
const HKDF_HASH: hkdf::Algorithm = hkdf::HKDF_SHA256;

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

/// The chunked-encryption key derivation with an explicit hash and AEAD name, writing
/// `key ‖ base nonce ‖ commitment` into `out` (whose length says how much to derive).
pub(crate) fn expand(
    hash: hkdf::Algorithm,
    input_key: &[u8],
    aead_name: &[u8],
    salt: &[u8; SALT_LEN],
    context: &[u8],
    out: &mut [u8],
) {
    // HKDF-Expand only (no Extract), exactly as the chunked-encryption spec: the input key is
    // uniformly random already. `new_less_safe` is ring's name for "use these bytes as the PRK".
    let prk = hkdf::Prk::new_less_safe(hash, input_key);
    let info = [CHUNKED_PREFIX, aead_name, &[0u8], salt.as_slice(), context];
    // Expand fails only when asked for more than 255 hash blocks; callers ask for <= 88 bytes.
    if let Ok(expanded) = prk.expand(&info, OkmLen(out.len())) {
        let _ = expanded.fill(out);
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
    expand(
        HKDF_HASH,
        input_key,
        aead_name(suite),
        salt,
        context,
        &mut okm[..total],
    );
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

/// The associated data of a version-2 wrapped data key: the suite and the key reference, not
/// the message (one wrapped key serves many messages).
pub(crate) fn wrap_aad_cached(suite: Suite, key_ref_entry: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(V2_WRAP_LABEL.len() + 2 + key_ref_entry.len());
    aad.extend_from_slice(V2_WRAP_LABEL);
    aad.extend_from_slice(&suite.id().to_be_bytes());
    aad.extend_from_slice(key_ref_entry);
    aad
}

/// The wrap AAD of `version` (the header parser admits only the two known versions).
pub(crate) fn wrap_aad_for(
    version: u8,
    suite: Suite,
    binding: &[u8],
    salt: &[u8; SALT_LEN],
    key_ref_entry: &[u8],
) -> Vec<u8> {
    if version == VERSION_CACHED {
        wrap_aad_cached(suite, key_ref_entry)
    } else {
        wrap_aad(binding, salt, key_ref_entry)
    }
}

/// Derives `version`'s message keys from an unwrapped DEK and checks the stored commitment.
///
/// # Errors
/// [`EnvelopeError::Authentication`] when the commitment differs.
pub(crate) fn derive_checked_for(
    version: u8,
    suite: Suite,
    dek: &[u8; DEK_LEN],
    salt: &[u8; SALT_LEN],
    binding: &[u8],
    commitment: &[u8],
) -> Result<MessageKeys, EnvelopeError> {
    if version == VERSION_CACHED {
        CachedDataKey::new(dek).derive_checked(salt, binding, commitment)
    } else {
        derive_checked(suite, dek, salt, binding, commitment)
    }
}

/// A version-2 data key ready to derive message keys: the HMAC-SHA-256 state with the DEK's
/// inner and outer pads already hashed (so a derivation hashes only the message's own bytes),
/// and the DEK's commitment.
///
/// The raw DEK is not kept. The precomputed HMAC state is key-equivalent for this schedule and
/// RustCrypto's `hmac` does not wipe it on drop (as `ring` does not wipe AES key schedules);
/// the cache's limits bound how long it lives.
#[derive(Clone)]
pub(crate) struct CachedDataKey {
    mac: HmacSha256,
    commitment: [u8; COMMITMENT_LEN],
}

impl CachedDataKey {
    pub(crate) fn new(dek: &[u8; DEK_LEN]) -> Self {
        // HMAC accepts keys of any length; a 32-byte key cannot be refused.
        let mac = <HmacSha256 as Mac>::new_from_slice(dek).unwrap_or_else(|_| unreachable!());
        let mut commit = mac.clone();
        commit.update(V2_COMMITMENT_LABEL);
        let mut commitment = [0u8; COMMITMENT_LEN];
        commitment.copy_from_slice(&commit.finalize().into_bytes());
        Self { mac, commitment }
    }

    pub(crate) fn commitment(&self) -> &[u8; COMMITMENT_LEN] {
        &self.commitment
    }

    /// The message key of the message with `salt` and `binding`; the base nonce is zero.
    pub(crate) fn derive(&self, salt: &[u8; SALT_LEN], binding: &[u8]) -> MessageKeys {
        let mut mac = self.mac.clone();
        mac.update(V2_KEY_LABEL);
        mac.update(salt);
        mac.update(binding);
        let mut keys = MessageKeys {
            key: Zeroizing::new([0u8; 32]),
            base_nonce: [0u8; 24],
            commitment: self.commitment,
        };
        keys.key.copy_from_slice(&mac.finalize().into_bytes());
        keys
    }

    /// Checks `commitment` against this key's, in constant time, then derives.
    ///
    /// # Errors
    /// [`EnvelopeError::Authentication`] when it differs.
    pub(crate) fn derive_checked(
        &self,
        salt: &[u8; SALT_LEN],
        binding: &[u8],
        commitment: &[u8],
    ) -> Result<MessageKeys, EnvelopeError> {
        if ct_eq(&self.commitment, commitment) {
            Ok(self.derive(salt, binding))
        } else {
            Err(EnvelopeError::Authentication)
        }
    }
}

/// The single-use key that wraps one data key.
fn wrap_key(kek: &Key256, nonce: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    let prk = hkdf::Prk::new_less_safe(HKDF_HASH, kek.expose());
    if let Ok(expanded) = prk.expand(&[WRAP_KEY_LABEL, nonce], OkmLen(32)) {
        let _ = expanded.fill(key.as_mut_slice());
    }
    key
}

/// AES-256-GCM with a single-use key, so a fixed all-zero nonce. Seals when `tag` is `None`
/// (returning the tag), opens otherwise.
fn wrap_aead(
    backend: Backend,
    key: &[u8; 32],
    buf: &mut [u8],
    aad: &[u8],
    tag: Option<&[u8]>,
) -> Result<[u8; 16], ()> {
    const ZERO_NONCE: [u8; 12] = [0; 12];
    let mut out = [0u8; 16];
    match backend {
        Backend::Ring => {
            let key = ring_aead::UnboundKey::new(&ring_aead::AES_256_GCM, key).map_err(|_| ())?;
            let key = ring_aead::LessSafeKey::new(key);
            let nonce = ring_aead::Nonce::assume_unique_for_key(ZERO_NONCE);
            let aad = ring_aead::Aad::from(aad);
            match tag {
                None => {
                    let t = key
                        .seal_in_place_separate_tag(nonce, aad, buf)
                        .map_err(|_| ())?;
                    out.copy_from_slice(t.as_ref());
                }
                Some(t) => {
                    let mut tag = [0u8; 16];
                    tag.copy_from_slice(t);
                    key.open_in_place_separate_tag(nonce, aad, ring_aead::Tag::from(tag), buf, 0..)
                        .map_err(|_| ())?;
                }
            }
        }
        Backend::RustCrypto => {
            let cipher = Aes256Gcm::new(key.into());
            match tag {
                None => {
                    let t = cipher
                        .encrypt_in_place_detached(&ZERO_NONCE.into(), aad, buf)
                        .map_err(|_| ())?;
                    out.copy_from_slice(&t);
                }
                Some(t) => cipher
                    .decrypt_in_place_detached(&ZERO_NONCE.into(), aad, buf, t.into())
                    .map_err(|_| ())?,
            }
        }
    }
    Ok(out)
}

/// Wraps `dek` under `kek` with the random `nonce` (drawn by the caller together with the
/// message's other randomness).
pub(crate) fn wrap(
    kek: &Key256,
    nonce: &[u8; WRAP_NONCE_LEN],
    dek: &[u8; DEK_LEN],
    aad: &[u8],
    backend: Backend,
) -> [u8; WRAPPED_LEN] {
    let key = wrap_key(kek, nonce);
    let mut out = [0u8; WRAPPED_LEN];
    out[..WRAP_NONCE_LEN].copy_from_slice(nonce);
    let (body, tag_out) = out[WRAP_NONCE_LEN..].split_at_mut(DEK_LEN);
    body.copy_from_slice(dek);
    // Sealing 32 bytes with a valid 32-byte key cannot fail.
    if let Ok(tag) = wrap_aead(backend, &key, body, aad, None) {
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
    backend: Backend,
) -> Result<Zeroizing<[u8; DEK_LEN]>, EnvelopeError> {
    let (nonce, rest) = wrapped.split_at(WRAP_NONCE_LEN);
    let (body, tag) = rest.split_at(DEK_LEN);
    let key = wrap_key(kek, nonce);
    let mut dek = Zeroizing::new([0u8; DEK_LEN]);
    dek.copy_from_slice(body);
    wrap_aead(backend, &key, dek.as_mut_slice(), aad, Some(tag))
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
        type H = Hmac<sha2::Sha256>;
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
            for i in 1u8..=3 {
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
        for backend in [Backend::Ring, Backend::RustCrypto] {
            let wrapped = wrap(&kek, &nonce, &dek, b"aad", backend);
            assert_eq!(wrapped, wrap(&kek, &nonce, &dek, b"aad", Backend::Ring));
            for reader in [Backend::Ring, Backend::RustCrypto] {
                assert_eq!(&unwrap(&kek, &wrapped, b"aad", reader).unwrap()[..], &dek);
                assert!(unwrap(&kek, &wrapped, b"aae", reader).is_err());
                assert!(unwrap(&other, &wrapped, b"aad", reader).is_err());
            }
            for i in 0..WRAPPED_LEN {
                let mut bad = wrapped;
                bad[i] ^= 0x80;
                assert!(unwrap(&kek, &bad, b"aad", backend).is_err(), "byte {i}");
            }
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
