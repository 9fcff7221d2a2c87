//! Secret types: key material and tokens that zeroize on drop and never print.
//!
//! Everything secret in this crate is held in one of these types. Their `Debug` output is
//! `<redacted>`, they implement no `Display`, and their memory is overwritten when dropped, so a
//! stray `{:?}` in a log line or an error message cannot leak a key.
//!
//! * [`Key256`]: a 256-bit symmetric key (data keys, key-encryption keys, MAC keys).
//! * [`SecretString`] and [`SecretBytes`] (re-exported from `secrecy`): tokens, passphrases and
//!   webhook secrets of any length; read them with [`ExposeSecret::expose_secret`], which makes
//!   every place that touches the secret easy to find in review.
//!
//! Randomness comes from the operating system through [`fill_random`], the one place the crate
//! draws it.

use core::fmt;

pub use secrecy::{ExposeSecret, SecretBox, SecretSlice, SecretString};
use zeroize::{Zeroize, Zeroizing};

use crate::error::RandomError;

/// Secret bytes of any length (webhook secrets, tokens, pepper), zeroized on drop.
pub type SecretBytes = SecretSlice<u8>;

/// Fills `buf` from the operating system's CSPRNG.
///
/// # Errors
/// [`RandomError`] when the operating system cannot provide randomness.
pub fn fill_random(buf: &mut [u8]) -> Result<(), RandomError> {
    getrandom::fill(buf).map_err(|_| RandomError)
}

/// Returns `N` random bytes from the operating system's CSPRNG.
///
/// # Errors
/// [`RandomError`] when the operating system cannot provide randomness.
pub fn random_array<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    fill_random(&mut out)?;
    Ok(out)
}

/// A 256-bit symmetric key, heap-allocated so that moves do not leave copies on the stack,
/// zeroized on drop, and redacted in `Debug`.
#[derive(Clone)]
pub struct Key256(Box<Zeroizing<[u8; 32]>>);

impl Key256 {
    /// The key length in bytes.
    pub const LEN: usize = 32;

    /// Generates a fresh random key.
    ///
    /// # Errors
    /// [`RandomError`] when the operating system cannot provide randomness.
    pub fn generate() -> Result<Self, RandomError> {
        let mut key = Box::new(Zeroizing::new([0u8; 32]));
        fill_random(key.as_mut_slice())?;
        Ok(Self(key))
    }

    /// Takes ownership of raw key bytes; the caller's copy is zeroized.
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let key = Self(Box::new(Zeroizing::new(bytes)));
        bytes.zeroize();
        key
    }

    /// Copies a key out of a slice; `None` unless it is exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(Self::from_bytes(array))
    }

    /// The raw key bytes. Every call site is a place where key material is used: keep them few.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Key256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key256(<redacted>)")
    }
}

/// Constant-time equality of two byte strings (lengths are not secret).
///
/// The one comparison every MAC, tag and commitment check in the crate goes through.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_key_material() {
        let key = Key256::from_bytes([0xAB; 32]);
        let shown = format!("{key:?} {key:#?}");
        assert!(!shown.to_lowercase().contains("ab"), "{shown}");
        assert!(!shown.contains("171"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn generated_keys_differ() {
        let a = Key256::generate().unwrap();
        let b = Key256::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn from_slice_requires_exact_length() {
        assert!(Key256::from_slice(&[1; 31]).is_none());
        assert!(Key256::from_slice(&[1; 33]).is_none());
        assert_eq!(Key256::from_slice(&[7; 32]).unwrap().expose(), &[7; 32]);
    }

    #[test]
    fn ct_eq_compares_content_and_length() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(ct_eq(b"", b""));
    }
}
