//! Replay protection: remember the delivery ids already accepted.
//!
//! A timestamp window stops *old* captures; it does not stop a capture replayed within the
//! window, and Shopify and GitHub deliveries carry no signed timestamp at all. The second layer is
//! a seen-id store: after a delivery verifies, its id is inserted; if it was already there, the
//! delivery is [`WebhookError::Replayed`] — a duplicate, which an endpoint answers with 200 and
//! skips, distinct from a forgery (401).
//!
//! Rules the [`ReplayGuard`] follows:
//! * **Verify first, then remember.** Only authenticated deliveries touch the store, so
//!   unauthenticated traffic cannot fill it or pre-poison ids.
//! * **Keep ids at least as long as the window**: an id may expire from the store only once its
//!   timestamp is outside the tolerance, or a replay slips through. The guard uses
//!   `tolerance + max_future_skew` plus a margin; for schemes without a timestamp choose a TTL
//!   covering the provider's retry schedule (Shopify retries for 48 hours, Standard Webhooks
//!   about 3 days), and keep an idempotency table for side effects anyway.
//! * **Fail closed.** [`MemorySeenStore`] is bounded; when full of unexpired ids it refuses
//!   ([`WebhookError::ReplayStore`]) rather than forgetting an id early.
//!
//! The store is a trait so that several processes can share one (Redis `SET NX EX`, a database
//! unique key); [`MemorySeenStore`] protects one process.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::{Verified, WebhookError};

/// Where accepted delivery ids are remembered.
pub trait SeenStore: Send + Sync {
    /// Records `key` until `expires_at` (Unix seconds). Returns `Ok(true)` if it was new, and
    /// `Ok(false)` if it was already present and unexpired at `now` — atomically, so two
    /// concurrent deliveries of one id cannot both see `true`.
    ///
    /// # Errors
    /// [`WebhookError::ReplayStore`] when the store cannot record the id.
    fn insert_if_absent(&self, key: &str, expires_at: i64, now: i64) -> Result<bool, WebhookError>;
}

/// A boxed store is a store: the store a deployment shares is chosen at run time (a URL).
impl<S: SeenStore + ?Sized> SeenStore for Box<S> {
    fn insert_if_absent(&self, key: &str, expires_at: i64, now: i64) -> Result<bool, WebhookError> {
        (**self).insert_if_absent(key, expires_at, now)
    }
}

/// The default capacity of [`MemorySeenStore`]: 100 000 ids (a few MiB).
pub(crate) const DEFAULT_CAPACITY: usize = 100_000;

/// The longest key stored; longer ids are hashed by nobody and refused.
pub const MAX_KEY_LEN: usize = 512;

#[derive(Default)]
struct Inner {
    /// key → expiry.
    expiry: HashMap<String, i64>,
    /// (expiry, insertion sequence) → key, to evict expired ids cheaply.
    by_expiry: BTreeMap<(i64, u64), String>,
    seq: u64,
}

/// A bounded in-memory [`SeenStore`] with expiry, for one process.
pub struct MemorySeenStore {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl MemorySeenStore {
    /// A store holding at most `capacity` unexpired ids.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The number of ids currently held (expired ones included until the next insert).
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.expiry.len()).unwrap_or(0)
    }

    /// True when no id is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemorySeenStore {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl core::fmt::Debug for MemorySeenStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemorySeenStore")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl SeenStore for MemorySeenStore {
    fn insert_if_absent(&self, key: &str, expires_at: i64, now: i64) -> Result<bool, WebhookError> {
        if key.len() > MAX_KEY_LEN {
            return Err(WebhookError::Malformed("delivery id too long"));
        }
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| WebhookError::ReplayStore("the in-memory store's lock is poisoned"))?;
        // Drop expired ids first (expiry <= now means no longer protected).
        while let Some(entry) = inner.by_expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let k = entry.remove();
            inner.expiry.remove(&k);
        }
        if inner.expiry.contains_key(key) {
            return Ok(false);
        }
        if inner.expiry.len() >= self.capacity {
            return Err(WebhookError::ReplayStore(
                "the in-memory store is full of unexpired ids",
            ));
        }
        inner.seq += 1;
        let seq = inner.seq;
        inner.expiry.insert(key.to_owned(), expires_at);
        inner.by_expiry.insert((expires_at, seq), key.to_owned());
        Ok(true)
    }
}

/// Applies a [`SeenStore`] to verified deliveries.
pub struct ReplayGuard<S: SeenStore> {
    store: S,
    ttl: u64,
}

impl<S: SeenStore> ReplayGuard<S> {
    /// A guard remembering ids for `ttl` seconds after `now` (or after the delivery's own
    /// timestamp when it is later). Choose `ttl` ≥ tolerance + max future skew.
    pub fn new(store: S, ttl: u64) -> Self {
        Self { store, ttl }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Records an arbitrary id under a namespace (e.g. a Stripe `event.id` from the verified
    /// body, or HubSpot `eventId`s).
    ///
    /// # Errors
    /// [`WebhookError::Replayed`] for an id already seen, [`WebhookError::ReplayStore`] when the
    /// store refuses, [`WebhookError::Malformed`] for an empty id.
    pub fn check_id(&self, namespace: &str, id: &str, now: i64) -> Result<(), WebhookError> {
        if id.is_empty() {
            return Err(WebhookError::Malformed("empty delivery id"));
        }
        let key = format!("{namespace}\u{1f}{id}");
        let expires_at = now.saturating_add(i64::try_from(self.ttl).unwrap_or(i64::MAX));
        if self.store.insert_if_absent(&key, expires_at, now)? {
            Ok(())
        } else {
            Err(WebhookError::Replayed)
        }
    }

    /// Records a verified delivery's [`Verified::delivery_id`], namespaced by its scheme.
    /// Call only with the result of a successful verification.
    ///
    /// # Errors
    /// As [`ReplayGuard::check_id`]; [`WebhookError::Malformed`] when the delivery carries no
    /// id (for Stripe and HubSpot, use [`ReplayGuard::check_id`] with the body's event id).
    pub fn check(&self, verified: &Verified, now: i64) -> Result<(), WebhookError> {
        let id = verified
            .delivery_id
            .as_deref()
            .ok_or(WebhookError::Malformed(
                "the delivery carries no id to deduplicate on",
            ))?;
        // Anchor the expiry at the later of now and the signed timestamp, so a delivery dated
        // in the (allowed) future stays remembered until it leaves the window.
        let anchor = verified.timestamp.map_or(now, |t| t.max(now));
        let key = format!("{}\u{1f}{id}", verified.scheme.name());
        let expires_at = anchor.saturating_add(i64::try_from(self.ttl).unwrap_or(i64::MAX));
        if self.store.insert_if_absent(&key, expires_at, now)? {
            Ok(())
        } else {
            Err(WebhookError::Replayed)
        }
    }
}

impl<S: SeenStore + core::fmt::Debug> core::fmt::Debug for ReplayGuard<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReplayGuard")
            .field("store", &self.store)
            .field("ttl", &self.ttl)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::{SecretSet, standard};

    #[test]
    fn duplicates_are_replays_until_expiry() {
        let store = MemorySeenStore::new(10);
        assert_eq!(store.insert_if_absent("a", 100, 0), Ok(true));
        assert_eq!(store.insert_if_absent("a", 100, 50), Ok(false));
        assert_eq!(store.insert_if_absent("a", 200, 100), Ok(true));
        assert_eq!(store.insert_if_absent("b", 200, 100), Ok(true));
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn full_store_fails_closed_and_recovers_after_expiry() {
        let store = MemorySeenStore::new(2);
        assert_eq!(store.insert_if_absent("a", 10, 0), Ok(true));
        assert_eq!(store.insert_if_absent("b", 20, 0), Ok(true));
        assert!(matches!(
            store.insert_if_absent("c", 30, 5),
            Err(WebhookError::ReplayStore(_))
        ));
        // "a" is still remembered although the store is full.
        assert_eq!(store.insert_if_absent("a", 10, 5), Ok(false));
        assert_eq!(store.insert_if_absent("c", 30, 10), Ok(true));
        assert!(matches!(
            store.insert_if_absent(&"k".repeat(MAX_KEY_LEN + 1), 1, 0),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn guard_reports_duplicate_delivery_distinct_from_forgery() {
        let secrets = SecretSet::new(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_vec());
        let v = standard::Verifier::new(&secrets).unwrap();
        let sig = standard::sign_header(&secrets, "msg_1", 1000, b"{}").unwrap();
        let h = [
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", "1000"),
            ("webhook-signature", sig.as_str()),
        ];
        let guard = ReplayGuard::new(MemorySeenStore::new(16), 600);
        let ok = v.verify(&h, b"{}", 1000).unwrap();
        assert_eq!(guard.check(&ok, 1000), Ok(()));
        let again = v.verify(&h, b"{}", 1010).unwrap();
        assert_eq!(guard.check(&again, 1010), Err(WebhookError::Replayed));
        // A forgery never reaches the guard, and is Invalid, not Replayed.
        assert_eq!(
            v.verify(&h, b"{ }", 1010).err(),
            Some(WebhookError::Invalid)
        );
        // Ids are namespaced: the same id for another scheme is new.
        assert_eq!(guard.check_id("stripe", "msg_1", 1010), Ok(()));
        assert_eq!(
            guard.check_id("stripe", "msg_1", 1011),
            Err(WebhookError::Replayed)
        );
        assert!(matches!(
            guard.check_id("stripe", "", 1011),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn concurrent_inserts_of_one_id_admit_exactly_one() {
        let store = std::sync::Arc::new(MemorySeenStore::new(100));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let s = store.clone();
                std::thread::spawn(move || s.insert_if_absent("same", 100, 0))
            })
            .collect();
        let admitted = handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .filter(|fresh| *fresh)
            .count();
        assert_eq!(admitted, 1);
    }
}
