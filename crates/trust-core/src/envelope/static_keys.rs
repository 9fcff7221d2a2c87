//! A fixed, in-memory [`KeyProvider`]: for tests, benchmarks, examples, and apps with one key
//! they manage themselves.

use core::fmt;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::provider::{EncryptionKey, KeyError, KeyProvider, KeyRef, Suite};
use crate::secret::Key256;

/// Key-encryption keys held in memory, with one Primary per keyring.
///
/// Unlike the keyring it has no states, counters or persistence: a key is either present or
/// unknown. `Debug` lists key references only.
///
/// ```
/// use trust_core::envelope::StaticKeys;
/// use trust_core::provider::{KeyRef, Suite};
/// use trust_core::secret::Key256;
///
/// let mut keys = StaticKeys::single("orders", Suite::Aes256Gcm, Key256::generate()?);
/// // Rotate: add version 2 and make it Primary; version 1 still decrypts.
/// keys.insert(KeyRef::new("orders", 2), Key256::generate()?);
/// keys.set_primary(&KeyRef::new("orders", 2), Suite::XChaCha20Poly1305)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct StaticKeys {
    keys: BTreeMap<KeyRef, Arc<Key256>>,
    primary: BTreeMap<String, (KeyRef, Suite)>,
}

impl StaticKeys {
    /// No keys at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// One keyring with `kek` as version 1, Primary, sealing with `suite`.
    pub fn single(keyring: &str, suite: Suite, kek: Key256) -> Self {
        let mut keys = Self::new();
        let key_ref = KeyRef::new(keyring, 1);
        keys.insert(key_ref.clone(), kek);
        keys.primary.insert(keyring.to_owned(), (key_ref, suite));
        keys
    }

    /// Adds (or replaces) the key for `key_ref` (which may name a subject).
    pub fn insert(&mut self, key_ref: KeyRef, kek: Key256) {
        self.keys.insert(key_ref, Arc::new(kek));
    }

    /// Removes the key for `key_ref`; messages under it no longer open. Returns whether it was
    /// present. A Primary that is removed stops sealing too.
    pub fn remove(&mut self, key_ref: &KeyRef) -> bool {
        self.primary.retain(|_, (primary, _)| primary != key_ref);
        self.keys.remove(key_ref).is_some()
    }

    /// Makes `key_ref` the Primary of its keyring, sealing new messages with `suite`.
    ///
    /// # Errors
    /// [`KeyError::UnknownVersion`] when no key is stored for `key_ref`.
    pub fn set_primary(&mut self, key_ref: &KeyRef, suite: Suite) -> Result<(), KeyError> {
        if !self.keys.contains_key(key_ref) {
            return Err(KeyError::UnknownVersion {
                key_ref: key_ref.clone(),
            });
        }
        self.primary
            .insert(key_ref.keyring.clone(), (key_ref.clone(), suite));
        Ok(())
    }
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKeys")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("primary", &self.primary)
            .finish()
    }
}

impl KeyProvider for StaticKeys {
    fn encryption_key(&self, keyring: &str) -> Result<EncryptionKey, KeyError> {
        let (key_ref, suite) = self.primary.get(keyring).ok_or_else(|| {
            if self.keys.keys().any(|r| r.keyring == keyring) {
                KeyError::NoPrimary {
                    keyring: keyring.to_owned(),
                }
            } else {
                KeyError::UnknownKeyring {
                    keyring: keyring.to_owned(),
                }
            }
        })?;
        let kek = self.decryption_key(key_ref)?;
        Ok(EncryptionKey {
            key_ref: key_ref.clone(),
            suite: *suite,
            kek,
        })
    }

    fn decryption_key(&self, key_ref: &KeyRef) -> Result<Arc<Key256>, KeyError> {
        self.keys
            .get(key_ref)
            .cloned()
            .ok_or_else(|| KeyError::UnknownVersion {
                key_ref: key_ref.clone(),
            })
    }
}
