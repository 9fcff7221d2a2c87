//! Ed25519 signatures for erasure receipts and export manifests.
//!
//! A receipt or a manifest is signed so that whoever holds it can show *who* attested to it and
//! that it was not altered since. The signed message is a domain label, a newline, then the
//! document's canonical JSON bytes, so a receipt signature can never be replayed as a manifest
//! signature or the other way round.
//!
//! The trust anchor is the signer's public key, which the verifier must already know (pinned in
//! its configuration, published by the processor). Documents carry the signer's public key only
//! to say which key to expect; [`verify`] checks it against the expected key, never trusts it.
//!
//! The private key is either a PKCS#8 file / seed held in memory, or an Ed25519 key that never
//! leaves a device ([`Signer::external`]: `trust-pkcs11` signs with `CKM_EDDSA` in the HSM, the
//! same key type audit checkpoints use). Receipts and manifests are byte-for-byte the same
//! either way; only where the signature is computed changes, so verifiers need nothing new.

use core::fmt;
use std::path::Path;
use std::sync::Arc;

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use zeroize::Zeroizing;

use super::GdprError;
use crate::audit::note::ExternalEd25519;
use crate::durable;
use crate::secret::ct_eq;

/// An Ed25519 signing key: in memory (PKCS#8 v2 document held by `ring`), or held in a device.
pub struct Signer {
    key: Key,
}

enum Key {
    Local(Ed25519KeyPair),
    External {
        device: Arc<dyn ExternalEd25519>,
        public: [u8; 32],
    },
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = if self.is_external() {
            "device"
        } else {
            "memory"
        };
        write!(f, "Signer({}, {place})", hex::encode(self.public_key()))
    }
}

impl Signer {
    /// Generates a new key, returning it and its PKCS#8 encoding (to be stored privately).
    ///
    /// # Errors
    /// [`GdprError::Random`] when randomness fails.
    pub fn generate() -> Result<(Self, Zeroizing<Vec<u8>>), GdprError> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| GdprError::Random)?;
        let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
        let signer = Self::from_pkcs8(&pkcs8)?;
        Ok((signer, pkcs8))
    }

    /// Loads a key from its PKCS#8 encoding.
    ///
    /// # Errors
    /// [`GdprError::Malformed`] when it is not an Ed25519 PKCS#8 document.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, GdprError> {
        Ed25519KeyPair::from_pkcs8(pkcs8)
            .map(Self::local)
            .map_err(|_| GdprError::Malformed("Ed25519 signing key"))
    }

    /// A key from a raw 32-byte Ed25519 seed (RFC 8032 private key), e.g. one kept in a KMS
    /// secret. Used by the format vectors in docs/format-gdpr.md.
    ///
    /// # Errors
    /// [`GdprError::Malformed`] if `ring` rejects the seed.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, GdprError> {
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(Self::local)
            .map_err(|_| GdprError::Malformed("Ed25519 seed"))
    }

    /// Loads the key at `path`, creating it (mode 0600, never overwriting) if absent.
    ///
    /// # Errors
    /// [`GdprError::Io`] or [`GdprError::Malformed`].
    pub fn load_or_create(path: &Path) -> Result<Self, GdprError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::from_pkcs8(&Zeroizing::new(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (signer, pkcs8) = Self::generate()?;
                match durable::create_private(path, &pkcs8) {
                    Ok(()) => Ok(signer),
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::from_pkcs8(&Zeroizing::new(std::fs::read(path)?))
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    fn local(pair: Ed25519KeyPair) -> Self {
        Self {
            key: Key::Local(pair),
        }
    }

    /// A signer whose private key stays in a device (an HSM): no key file exists for it. The
    /// public key is read once, here.
    pub fn external(device: Arc<dyn ExternalEd25519>) -> Self {
        let public = device.public_key();
        Self {
            key: Key::External { device, public },
        }
    }

    /// True when the private key is held outside this process.
    pub fn is_external(&self) -> bool {
        matches!(self.key, Key::External { .. })
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        match &self.key {
            Key::Local(pair) => {
                let mut out = [0u8; 32];
                out.copy_from_slice(pair.public_key().as_ref());
                out
            }
            Key::External { public, .. } => *public,
        }
    }

    /// Signs `label ‖ "\n" ‖ body`.
    ///
    /// A device's signature is checked against the public key before it is returned: a
    /// misbehaving token must not produce receipts that fail verification later.
    ///
    /// # Errors
    /// [`GdprError::Signer`] when the device is unavailable or returns a bad signature
    /// (in-memory keys cannot fail).
    pub fn sign(&self, label: &str, body: &[u8]) -> Result<[u8; 64], GdprError> {
        let msg = message(label, body);
        match &self.key {
            Key::Local(pair) => {
                let sig = pair.sign(&msg);
                let mut out = [0u8; 64];
                out.copy_from_slice(sig.as_ref());
                Ok(out)
            }
            Key::External { device, public } => {
                let sig = device.sign(&msg).map_err(GdprError::Signer)?;
                UnparsedPublicKey::new(&ED25519, public)
                    .verify(&msg, &sig)
                    .map_err(|_| {
                        GdprError::Signer(crate::root::BackendError::new(
                            "SIGNER_BAD_SIGNATURE",
                            crate::error::Category::Internal,
                            "the signing device returned a signature that does not verify",
                        ))
                    })?;
                Ok(sig)
            }
        }
    }
}

fn message(label: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(label.len() + 1 + body.len());
    m.extend_from_slice(label.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(body);
    m
}

/// Verifies `signature` over `label ‖ "\n" ‖ body` by `claimed` and checks that `claimed` is the
/// `expected` signer.
///
/// # Errors
/// [`GdprError::BadSignature`], opaque.
pub(crate) fn verify(
    expected: &[u8; 32],
    claimed: &[u8],
    label: &str,
    body: &[u8],
    signature: &[u8],
) -> Result<(), GdprError> {
    if !ct_eq(expected, claimed) {
        return Err(GdprError::BadSignature);
    }
    UnparsedPublicKey::new(&ED25519, expected)
        .verify(&message(label, body), signature)
        .map_err(|_| GdprError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_1() {
        // RFC 8032 §7.1 TEST 1: empty message. ring takes the seed through PKCS#8, so check
        // the public key and signature against the RFC via from_seed_unchecked.
        let seed = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap();
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        assert_eq!(
            hex::encode(pair.public_key().as_ref()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            hex::encode(pair.sign(b"").as_ref()),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }

    #[test]
    fn sign_verify_and_domain_separation() {
        let (s, pkcs8) = Signer::generate().unwrap();
        let pk = s.public_key();
        let sig = s.sign("a", b"body").unwrap();
        verify(&pk, &pk, "a", b"body", &sig).unwrap();
        assert!(verify(&pk, &pk, "b", b"body", &sig).is_err());
        assert!(verify(&pk, &pk, "a", b"bodY", &sig).is_err());
        let (other, _) = Signer::generate().unwrap();
        assert!(verify(&other.public_key(), &pk, "a", b"body", &sig).is_err());
        assert_eq!(Signer::from_pkcs8(&pkcs8).unwrap().public_key(), pk);
        assert!(Signer::from_pkcs8(b"junk").is_err());
        assert!(!format!("{s:?}").is_empty());
    }

    #[test]
    fn load_or_create_persists() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("signing.p8");
        let a = Signer::load_or_create(&p).unwrap().public_key();
        let b = Signer::load_or_create(&p).unwrap().public_key();
        assert_eq!(a, b);
    }
}
