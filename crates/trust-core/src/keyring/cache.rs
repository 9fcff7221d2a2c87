//! A bounded cache of unwrapped version keys.
//!
//! Unwrapping a version key costs a root-key operation (an AEAD open locally, a network round
//! trip with a KMS). Sealing many small records under the same Primary should pay it once. The
//! cache holds at most `capacity` keys, evicts the least recently used, and holds them as
//! `Arc<Key256>`: a key is zeroized when the last copy (the cache's or a caller's) is dropped.
//! Entries are removed as soon as a version stops being allowed to decrypt, so a Disabled key
//! does not linger in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::secret::Key256;

/// The default number of cached version keys.
pub(crate) const DEFAULT_CAPACITY: usize = 256;

#[derive(Debug)]
struct Entry {
    key: Arc<Key256>,
    last_used: u64,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<(String, u32), Entry>,
    tick: u64,
}

/// A bounded, least-recently-used cache of unwrapped keys, keyed by (keyring, version).
#[derive(Debug)]
pub struct KeyCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl KeyCache {
    /// A cache of at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    /// The cached key of `keyring` `version`, marking it recently used.
    pub fn get(&self, keyring: &str, version: u32) -> Option<Arc<Key256>> {
        let mut inner = self.inner.lock().ok()?;
        inner.tick += 1;
        let tick = inner.tick;
        let entry = inner.map.get_mut(&(keyring.to_owned(), version))?;
        entry.last_used = tick;
        Some(Arc::clone(&entry.key))
    }

    /// Caches `key`, evicting the least recently used entry when full.
    pub fn insert(&self, keyring: &str, version: u32, key: Arc<Key256>) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.tick += 1;
        let tick = inner.tick;
        let id = (keyring.to_owned(), version);
        if !inner.map.contains_key(&id) && inner.map.len() >= self.capacity {
            let oldest = inner
                .map
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                inner.map.remove(&oldest);
            }
        }
        inner.map.insert(
            id,
            Entry {
                key,
                last_used: tick,
            },
        );
    }

    /// Drops the cached key of `keyring` `version`, if any.
    pub fn remove(&self, keyring: &str, version: u32) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.map.remove(&(keyring.to_owned(), version));
        }
    }

    /// Drops every cached key.
    pub fn clear(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.map.clear();
        }
    }

    /// How many keys are cached.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.map.len()).unwrap_or(0)
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> Arc<Key256> {
        Arc::new(Key256::from_bytes([b; 32]))
    }

    #[test]
    fn bounded_and_least_recently_used_goes_first() {
        let cache = KeyCache::new(2);
        cache.insert("a", 1, key(1));
        cache.insert("a", 2, key(2));
        assert!(cache.get("a", 1).is_some()); // a/1 is now more recent than a/2
        cache.insert("a", 3, key(3));
        assert_eq!(cache.len(), 2);
        assert!(cache.get("a", 2).is_none());
        assert_eq!(cache.get("a", 1).unwrap().expose(), &[1; 32]);
        assert_eq!(cache.get("a", 3).unwrap().expose(), &[3; 32]);
    }

    #[test]
    fn remove_and_clear() {
        let cache = KeyCache::new(4);
        cache.insert("a", 1, key(1));
        cache.insert("b", 1, key(2));
        cache.remove("a", 1);
        assert!(cache.get("a", 1).is_none());
        assert!(cache.get("b", 1).is_some());
        cache.clear();
        assert!(cache.is_empty());
    }

    #[test]
    fn evicted_keys_are_released() {
        let cache = KeyCache::new(1);
        let k = key(9);
        let weak = Arc::downgrade(&k);
        cache.insert("a", 1, k);
        cache.insert("a", 2, key(8));
        // The only strong reference was the cache's: evicting it dropped (and zeroized) the key.
        assert!(weak.upgrade().is_none());
    }
}
