//! Rate limiting per tenant and route: GCRA behind a trait, in memory by default.
//!
//! The Generic Cell Rate Algorithm (the leaky bucket as a meter, ITU-T I.371) keeps one
//! timestamp per key — the *theoretical arrival time* (TAT) of the next request — and admits a
//! request when that time is not too far in the future. It behaves exactly like a token bucket
//! that holds `burst` tokens and refills one every `period / rate`, with one `i128` of state
//! instead of a count and a timestamp, and no background refill task.
//!
//! ```
//! use std::time::Duration;
//! use trust_core::clock::FixedClock;
//! use trust_core::ratelimit::{MemoryLimiter, Quota, RateLimiter};
//!
//! let clock = FixedClock::at_unix(1_700_000_000);
//! // 10 requests per second sustained, bursts of up to 20.
//! let limiter = MemoryLimiter::new(Quota::per_second(10)?.burst(20)?, &clock);
//! for _ in 0..20 {
//!     limiter.check("acme", "POST /messages", 1)?;
//! }
//! let refused = limiter.check("acme", "POST /messages", 1).unwrap_err();
//! assert_eq!(refused.retry_after(), Some(Duration::from_millis(100)));
//! // Other tenants (and other routes) have their own budget.
//! limiter.check("globex", "POST /messages", 1)?;
//! # Ok::<(), trust_core::ratelimit::RateLimitError>(())
//! ```
//!
//! [`RateLimiter`] is the seam for a shared store (Redis, PostgreSQL) later: GCRA needs one
//! compare-and-set of one number per request, which every such store offers. Time comes from an
//! injected [`Clock`], so burst and refill are tested to the nanosecond without sleeping. This
//! module is written here rather than taken from `governor` because governor's clock is its own
//! monotonic-instant abstraction, not this crate's injected [`Clock`], and its keyed limiter is
//! not behind a store-agnostic trait; GCRA itself is the forty lines of [`MemoryLimiter::check`].

use core::fmt;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use crate::clock::Clock;
use crate::error::{Category, TrustError};

/// How many requests a key may make: `burst` at once, refilled at one per `interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Emission interval: time for one unit of budget to come back, in nanoseconds.
    interval_ns: u64,
    burst: u32,
}

impl Quota {
    /// `n` requests per second; burst `n`.
    ///
    /// # Errors
    /// [`RateLimitError::InvalidQuota`] for `n == 0`.
    pub fn per_second(n: u32) -> Result<Self, RateLimitError> {
        Self::per(n, Duration::from_secs(1))
    }

    /// `n` requests per minute; burst `n`.
    ///
    /// # Errors
    /// [`RateLimitError::InvalidQuota`] for `n == 0`.
    pub fn per_minute(n: u32) -> Result<Self, RateLimitError> {
        Self::per(n, Duration::from_secs(60))
    }

    /// `n` requests per `period`; burst `n`.
    ///
    /// # Errors
    /// [`RateLimitError::InvalidQuota`] for `n == 0` or an interval below 1 ns or above a day.
    pub fn per(n: u32, period: Duration) -> Result<Self, RateLimitError> {
        if n == 0 {
            return Err(RateLimitError::InvalidQuota);
        }
        let interval = period.as_nanos() / u128::from(n);
        let interval_ns = u64::try_from(interval).map_err(|_| RateLimitError::InvalidQuota)?;
        if interval_ns == 0 || interval_ns > 86_400_000_000_000 {
            return Err(RateLimitError::InvalidQuota);
        }
        Ok(Self {
            interval_ns,
            burst: n,
        })
    }

    /// Sets the burst (how many requests may arrive at once after a quiet period).
    ///
    /// # Errors
    /// [`RateLimitError::InvalidQuota`] for 0.
    pub fn burst(mut self, burst: u32) -> Result<Self, RateLimitError> {
        if burst == 0 {
            return Err(RateLimitError::InvalidQuota);
        }
        self.burst = burst;
        Ok(self)
    }

    /// Time for one unit of budget to come back.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns)
    }

    /// Largest cost admitted at once.
    pub fn burst_size(&self) -> u32 {
        self.burst
    }
}

/// Admits or refuses requests, per (tenant, route).
pub trait RateLimiter: Send + Sync {
    /// Spends `cost` units of the (tenant, route) budget, or refuses without spending any.
    ///
    /// # Errors
    /// [`RateLimitError::Limited`] with the wait before the same request would pass;
    /// [`RateLimitError::CostExceedsBurst`] when it never would.
    fn check(&self, tenant: &str, route: &str, cost: u32) -> Result<(), RateLimitError>;
}

/// The in-memory GCRA limiter: one `i128` per active (tenant, route).
pub struct MemoryLimiter<C> {
    default: Quota,
    routes: HashMap<String, Quota>,
    clock: C,
    /// tenant → route → TAT in ns since the epoch. Nested so a lookup borrows the `&str`s
    /// instead of allocating a key per request.
    state: Mutex<State>,
    max_keys: usize,
}

impl<C> fmt::Debug for MemoryLimiter<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLimiter")
            .field("default", &self.default)
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    tats: HashMap<String, HashMap<String, i128>>,
    keys: usize,
}

impl State {
    fn get(&self, tenant: &str, route: &str) -> Option<i128> {
        self.tats.get(tenant)?.get(route).copied()
    }

    fn set(&mut self, tenant: &str, route: &str, tat: i128) {
        if let Some(slot) = self.tats.get_mut(tenant).and_then(|r| r.get_mut(route)) {
            *slot = tat;
            return;
        }
        self.tats
            .entry(tenant.to_owned())
            .or_default()
            .insert(route.to_owned(), tat);
        self.keys += 1;
    }

    /// Forgets every key whose TAT is not after `now` (its budget is full again).
    fn prune(&mut self, now: i128) {
        for routes in self.tats.values_mut() {
            routes.retain(|_, t| *t > now);
        }
        self.tats.retain(|_, routes| !routes.is_empty());
        self.keys = self.tats.values().map(HashMap::len).sum();
    }
}

/// Default bound on tracked keys; idle keys are dropped first when it is reached.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

impl<C: Clock> MemoryLimiter<C> {
    /// A limiter applying `default` to every route, reading time from `clock`.
    pub fn new(default: Quota, clock: C) -> Self {
        Self {
            default,
            routes: HashMap::new(),
            clock,
            state: Mutex::new(State::default()),
            max_keys: DEFAULT_MAX_KEYS,
        }
    }

    /// A specific quota for `route`.
    #[must_use]
    pub fn route(mut self, route: impl Into<String>, quota: Quota) -> Self {
        self.routes.insert(route.into(), quota);
        self
    }

    /// Bounds memory: at most `max` keys tracked. When full, keys whose budget is back to full
    /// are forgotten (losing nothing); if none is idle, the request is refused rather than
    /// letting memory grow without bound.
    #[must_use]
    pub fn max_keys(mut self, max: usize) -> Self {
        self.max_keys = max.max(1);
        self
    }

    fn now_ns(&self) -> i128 {
        match self.clock.now().duration_since(UNIX_EPOCH) {
            Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
            Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
        }
    }
}

impl<C: Clock> RateLimiter for MemoryLimiter<C> {
    fn check(&self, tenant: &str, route: &str, cost: u32) -> Result<(), RateLimitError> {
        let quota = self.routes.get(route).copied().unwrap_or(self.default);
        if cost > quota.burst {
            return Err(RateLimitError::CostExceedsBurst);
        }
        let now = self.now_ns();
        let interval = i128::from(quota.interval_ns);
        // The budget may run at most `burst` intervals ahead of now.
        let tolerance = interval * i128::from(quota.burst);
        let increment = interval * i128::from(cost);

        let mut state = self.state.lock().map_err(|_| RateLimitError::Poisoned)?;
        let known = state.get(tenant, route);
        let tat = known.unwrap_or(now).max(now);
        let new_tat = tat + increment;
        if new_tat - now > tolerance {
            let wait = new_tat - now - tolerance;
            return Err(RateLimitError::Limited {
                retry_after: Duration::from_nanos(u64::try_from(wait).unwrap_or(u64::MAX)),
            });
        }
        if known.is_none() && state.keys >= self.max_keys {
            // A key whose TAT is in the past has its whole budget back: forgetting it is exact.
            state.prune(now);
            if state.keys >= self.max_keys {
                return Err(RateLimitError::Limited {
                    retry_after: Duration::from_nanos(quota.interval_ns),
                });
            }
        }
        state.set(tenant, route, new_tat);
        Ok(())
    }
}

/// A request was refused, or the limiter is misconfigured.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimitError {
    /// Over budget: the same request passes after `retry_after` (send it as `Retry-After`).
    Limited {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The cost is larger than the burst: this request can never pass.
    CostExceedsBurst,
    /// A quota of zero requests or an interval outside 1 ns to one day.
    InvalidQuota,
    /// The limiter's lock was poisoned by a panic elsewhere.
    Poisoned,
    /// A shared limiter's store (Redis) could not be reached, even after reconnecting. Whether
    /// to admit or refuse the request then is the caller's policy (most fail closed for logins
    /// and open for reads).
    StoreUnavailable,
}

impl RateLimitError {
    /// The wait before retrying, for [`RateLimitError::Limited`].
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Limited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

impl fmt::Display for RateLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Limited { retry_after } => {
                write!(
                    f,
                    "rate limited: retry after {} ms",
                    retry_after.as_millis()
                )
            }
            Self::CostExceedsBurst => f.write_str("the request costs more than the burst allows"),
            Self::InvalidQuota => f.write_str("invalid rate-limit quota"),
            Self::Poisoned => f.write_str("the rate limiter's state lock is poisoned"),
            Self::StoreUnavailable => f.write_str("the rate limiter's shared store is unreachable"),
        }
    }
}

impl std::error::Error for RateLimitError {}

impl TrustError for RateLimitError {
    fn category(&self) -> Category {
        match self {
            Self::Limited { .. } => Category::Refused,
            Self::CostExceedsBurst | Self::InvalidQuota => Category::Usage,
            Self::Poisoned => Category::Internal,
            Self::StoreUnavailable => Category::Input,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::Limited { .. } => "RATE_LIMITED",
            Self::CostExceedsBurst => "RATE_COST_EXCEEDS_BURST",
            Self::InvalidQuota => "RATE_INVALID_QUOTA",
            Self::Poisoned => "RATE_LIMITER_POISONED",
            Self::StoreUnavailable => "RATE_STORE_UNAVAILABLE",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use proptest::prelude::*;

    const T0: i64 = 1_700_000_000;

    #[test]
    fn burst_then_refill() {
        let clock = FixedClock::at_unix(T0);
        let l = MemoryLimiter::new(Quota::per_second(10).unwrap().burst(5).unwrap(), &clock);
        for i in 0..5 {
            assert!(l.check("acme", "r", 1).is_ok(), "request {i}");
        }
        let e = l.check("acme", "r", 1).unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_millis(100)));
        assert_eq!(e.category().exit_code(), 5);
        // 99 ms later still refused (1 ms to go), at 100 ms exactly one more passes.
        clock.advance(Duration::from_millis(99));
        assert_eq!(
            l.check("acme", "r", 1).unwrap_err().retry_after(),
            Some(Duration::from_millis(1))
        );
        clock.advance(Duration::from_millis(1));
        assert!(l.check("acme", "r", 1).is_ok());
        assert!(l.check("acme", "r", 1).is_err());
        // After a long quiet period the bucket is full again, but not fuller than the burst.
        clock.advance(Duration::from_secs(3600));
        for _ in 0..5 {
            assert!(l.check("acme", "r", 1).is_ok());
        }
        assert!(l.check("acme", "r", 1).is_err());
    }

    #[test]
    fn keys_are_independent_and_routes_have_quotas() {
        let clock = FixedClock::at_unix(T0);
        let l = MemoryLimiter::new(Quota::per_minute(1).unwrap(), &clock)
            .route("login", Quota::per_minute(3).unwrap());
        assert!(l.check("acme", "x", 1).is_ok());
        assert!(l.check("acme", "x", 1).is_err());
        assert!(l.check("globex", "x", 1).is_ok());
        assert!(l.check("acme", "y", 1).is_ok());
        for _ in 0..3 {
            assert!(l.check("acme", "login", 1).is_ok());
        }
        assert_eq!(
            l.check("acme", "login", 1).unwrap_err().retry_after(),
            Some(Duration::from_secs(20))
        );
    }

    #[test]
    fn cost_and_quota_errors() {
        let clock = FixedClock::at_unix(T0);
        let l = MemoryLimiter::new(Quota::per_second(4).unwrap(), &clock);
        assert!(l.check("t", "r", 3).is_ok());
        // Refused without spending: the remaining unit is still there.
        assert!(l.check("t", "r", 2).is_err());
        assert!(l.check("t", "r", 1).is_ok());
        assert_eq!(l.check("t", "r", 5), Err(RateLimitError::CostExceedsBurst));
        assert_eq!(Quota::per_second(0), Err(RateLimitError::InvalidQuota));
        assert_eq!(
            Quota::per_second(1).unwrap().burst(0),
            Err(RateLimitError::InvalidQuota)
        );
        assert_eq!(
            Quota::per(1, Duration::from_secs(2 * 86_400)),
            Err(RateLimitError::InvalidQuota)
        );
        assert_eq!(
            Quota::per(2, Duration::from_nanos(1)),
            Err(RateLimitError::InvalidQuota)
        );
    }

    #[test]
    fn clock_going_back_does_not_grant_extra() {
        let clock = FixedClock::at_unix(T0);
        let l = MemoryLimiter::new(Quota::per_second(2).unwrap(), &clock);
        assert!(l.check("t", "r", 2).is_ok());
        clock.set_unix(T0 - 10);
        assert!(l.check("t", "r", 1).is_err());
    }

    #[test]
    fn memory_is_bounded() {
        let clock = FixedClock::at_unix(T0);
        let l = MemoryLimiter::new(Quota::per_second(1).unwrap(), &clock).max_keys(2);
        assert!(l.check("a", "r", 1).is_ok());
        assert!(l.check("b", "r", 1).is_ok());
        assert!(l.check("c", "r", 1).is_err());
        clock.advance(Duration::from_secs(2));
        // a and b are idle again: forgotten, c fits.
        assert!(l.check("c", "r", 1).is_ok());
    }

    proptest! {
        /// Over any window of length W starting after a full refill, at most
        /// burst + W / interval units are admitted.
        #[test]
        fn never_more_than_burst_plus_rate(
            steps in proptest::collection::vec((0u64..300, 1u32..3), 1..200),
            burst in 1u32..10,
        ) {
            let clock = FixedClock::at_unix(T0);
            let q = Quota::per_second(10).unwrap().burst(burst).unwrap();
            let l = MemoryLimiter::new(q, &clock);
            let mut admitted = 0u64;
            let mut elapsed_ms = 0u64;
            for (gap_ms, cost) in steps {
                clock.advance(Duration::from_millis(gap_ms));
                elapsed_ms += gap_ms;
                if cost <= burst && l.check("t", "r", cost).is_ok() {
                    admitted += u64::from(cost);
                }
                prop_assert!(admitted <= u64::from(burst) + elapsed_ms / 100);
            }
        }
    }
}
