//! Binding everything a root key wraps to one logical store.
//!
//! A keyring file is authenticated under the home's root key, bound to its name and revision
//! (docs/format-keyring.md). Two deployments that share a root key (staging and production
//! restored from one key file, two schemas of one database) could still swap rows: the keyring
//! `orders` of one would verify in the other. AWS's hierarchical keyring solves this with a
//! "logical key store name" bound into every item; [`StoreBoundRoot`] does the same: it wraps
//! a [`RootKey`] and prefixes the associated data of every wrap and unwrap with
//! `"trust.store.v1" 0x00 store-name 0x00`. A home on a shared store (PostgreSQL) uses it, with
//! the store name recorded beside the home record, so keyring rows, wrapped version keys,
//! subject keys and the home's check value all fail to verify anywhere but in their own store.
//! The bytes keep the file format; only what they are bound to grows.

use zeroize::Zeroizing;

use super::KeyringError;
use crate::root::{RootKey, RootKeyError};

/// Longest store name accepted.
pub const MAX_STORE_NAME: usize = 128;

/// A [`RootKey`] whose every wrap is bound to a store name (see the module docs).
pub struct StoreBoundRoot<R: ?Sized> {
    prefix: Vec<u8>,
    inner: std::sync::Arc<R>,
}

impl<R: RootKey + ?Sized> StoreBoundRoot<R> {
    /// Binds `inner` to `store_name` (1 to [`MAX_STORE_NAME`] bytes, no NUL).
    ///
    /// # Errors
    /// [`KeyringError::Usage`] for an empty, over-long or NUL-containing name.
    pub fn new(inner: std::sync::Arc<R>, store_name: &str) -> Result<Self, KeyringError> {
        if store_name.is_empty() || store_name.len() > MAX_STORE_NAME || store_name.contains('\0') {
            return Err(KeyringError::Usage(
                "a store name is 1 to 128 bytes without NUL",
            ));
        }
        let mut prefix = b"trust.store.v1\0".to_vec();
        prefix.extend_from_slice(store_name.as_bytes());
        prefix.push(0);
        Ok(Self { prefix, inner })
    }

    fn aad(&self, aad: &[u8]) -> Vec<u8> {
        let mut bound = Vec::with_capacity(self.prefix.len() + aad.len());
        bound.extend_from_slice(&self.prefix);
        bound.extend_from_slice(aad);
        bound
    }
}

impl<R: RootKey + ?Sized> RootKey for StoreBoundRoot<R> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn wrap(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, RootKeyError> {
        self.inner.wrap(&self.aad(aad), plaintext)
    }

    fn unwrap(&self, aad: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, RootKeyError> {
        self.inner.unwrap(&self.aad(aad), wrapped)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::root::LocalRootKey;
    use crate::secret::Key256;

    #[test]
    fn a_wrap_opens_only_under_its_own_store_name() {
        let key = Arc::new(LocalRootKey::new(&Key256::from_bytes([7; 32])));
        let prod = StoreBoundRoot::new(key.clone(), "prod").expect("name");
        let staging = StoreBoundRoot::new(key.clone(), "staging").expect("name");
        let wrapped = prod.wrap(b"aad", b"secret").expect("wrap");
        assert_eq!(
            &prod.unwrap(b"aad", &wrapped).expect("unwrap")[..],
            b"secret"
        );
        assert!(staging.unwrap(b"aad", &wrapped).is_err());
        assert!(
            key.unwrap(b"aad", &wrapped).is_err(),
            "unbound key must not open it"
        );
        assert!(prod.unwrap(b"other", &wrapped).is_err());
        // No ambiguity between the name and the caller's aad.
        let a = StoreBoundRoot::new(key.clone(), "a").expect("name");
        let w = a.wrap(b"b", b"x").expect("wrap");
        let ab = StoreBoundRoot::new(key, "ab").expect("name");
        assert!(ab.unwrap(b"", &w).is_err());
    }

    #[test]
    fn bad_store_names_are_refused() {
        let key = Arc::new(LocalRootKey::new(&Key256::from_bytes([7; 32])));
        for name in ["", "a\0b", &"x".repeat(MAX_STORE_NAME + 1)] {
            assert!(StoreBoundRoot::new(key.clone(), name).is_err(), "{name:?}");
        }
    }
}
