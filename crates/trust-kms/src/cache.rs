//! A TTL cache of unwrapped keys with single-flight refresh.
//!
//! Modelled on the AWS Encryption SDK's storm-tracking cache: every entry expires after a
//! fixed time (so a disabled KMS key stops working here within the TTL), and when an entry is
//! missing or expired exactly one caller fetches it while every other caller for the same
//! entry waits for that result. A thousand threads on one expired entry make one KMS call.
//! Failures are not cached: the waiters then elect a new fetcher.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

/// Most entries kept; beyond it the entry that expires first is dropped.
pub(crate) const MAX_ENTRIES: usize = 4096;

type Value = Arc<Zeroizing<Vec<u8>>>;

#[derive(Default)]
struct Slot {
    value: Option<(Instant, Value)>,
    in_flight: bool,
}

pub(crate) struct UnwrapCache {
    ttl: Duration,
    slots: Mutex<HashMap<Vec<u8>, Slot>>,
    done: Condvar,
}

impl UnwrapCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            slots: Mutex::default(),
            done: Condvar::new(),
        }
    }

    /// The cached value for `key`, or the result of `fetch`, run by one caller at a time per
    /// key. With a zero TTL nothing is cached (every call fetches).
    pub(crate) fn get_or_fetch<E>(
        &self,
        key: &[u8],
        fetch: impl FnOnce() -> Result<Zeroizing<Vec<u8>>, E>,
    ) -> Result<Value, E> {
        if self.ttl.is_zero() {
            return fetch().map(Arc::new);
        }
        let Ok(mut slots) = self.slots.lock() else {
            return fetch().map(Arc::new);
        };
        loop {
            let slot = slots.entry(key.to_vec()).or_default();
            if let Some((expires, v)) = &slot.value
                && Instant::now() < *expires
            {
                return Ok(Arc::clone(v));
            }
            if !slot.in_flight {
                slot.in_flight = true;
                break;
            }
            slots = match self.done.wait(slots) {
                Ok(s) => s,
                Err(_) => return fetch().map(Arc::new),
            };
        }
        drop(slots);
        let result = fetch().map(Arc::new);
        if let Ok(mut slots) = self.slots.lock() {
            if slots.len() > MAX_ENTRIES {
                let now = Instant::now();
                slots.retain(|_, s| s.in_flight || s.value.as_ref().is_some_and(|(e, _)| *e > now));
            }
            let slot = slots.entry(key.to_vec()).or_default();
            slot.in_flight = false;
            if let Ok(v) = &result {
                slot.value = Some((Instant::now() + self.ttl, Arc::clone(v)));
            }
        }
        self.done.notify_all();
        result
    }

    /// Drops every cached value.
    pub(crate) fn clear(&self) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.retain(|_, s| s.in_flight);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_thousand_threads_on_a_cold_entry_make_one_fetch() {
        let cache = Arc::new(UnwrapCache::new(Duration::from_secs(60)));
        let calls = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(std::sync::Barrier::new(1000));
        let threads: Vec<_> = (0..1000)
            .map(|_| {
                let (cache, calls, barrier) = (cache.clone(), calls.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let v = cache
                        .get_or_fetch::<()>(b"k", || {
                            calls.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(50));
                            Ok(Zeroizing::new(vec![7; 32]))
                        })
                        .unwrap();
                    assert_eq!(v.as_slice(), &[7; 32]);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn entries_expire_and_failures_are_not_cached() {
        let calls = AtomicUsize::new(0);
        let fetch = || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Zeroizing::new(vec![1]))
        };
        let cache = UnwrapCache::new(Duration::from_secs(3600));
        cache.get_or_fetch(b"k", fetch).unwrap();
        cache.get_or_fetch(b"k", fetch).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(
            cache
                .get_or_fetch(b"e", || Err::<Zeroizing<Vec<u8>>, _>("down"))
                .is_err()
        );
        cache.get_or_fetch(b"e", fetch).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        cache.clear();
        cache.get_or_fetch(b"k", fetch).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // An entry past its TTL is fetched again (a 1 ns TTL has always passed).
        let short = UnwrapCache::new(Duration::from_nanos(1));
        short.get_or_fetch(b"k", fetch).unwrap();
        short.get_or_fetch(b"k", fetch).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 5);
    }
}
