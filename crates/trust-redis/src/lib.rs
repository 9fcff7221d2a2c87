//! trust's short-lived shared state on Redis.
//!
//! Two things in a connector app must hold across every worker on every host, yet only for
//! minutes or hours, which is what Redis is for:
//!
//! * **Webhook delivery ids** ([`RedisSeenStore`], trust-core's
//!   [`SeenStore`](trust_core::webhook::SeenStore)): a delivery that reaches two workers
//!   is admitted by exactly one. One `SET key token NX PX ttl` per delivery: Redis executes
//!   commands one at a time, so of two racing `SET … NX` exactly one finds the key absent.
//! * **Rate limits** ([`RedisLimiter`], trust-core's
//!   [`RateLimiter`](trust_core::ratelimit::RateLimiter)): the same GCRA as trust-core's
//!   in-memory limiter, run as one Lua script that reads the time from Redis's own `TIME`, so the
//!   workers' clocks never enter the decision and a worker whose clock is skewed cannot grant
//!   itself extra budget.
//!
//! ```no_run
//! use trust_core::ratelimit::{Quota, RateLimiter};
//! use trust_core::webhook::ReplayGuard;
//!
//! let redis = trust_redis::Redis::open("redis://127.0.0.1:6379/")?;
//! let guard = ReplayGuard::new(redis.seen_store(), 48 * 3600);
//! let limiter = redis.limiter(Quota::per_second(10)?)?;
//! limiter.check("acme", "POST /webhooks", 1)?;
//! guard.check_id("shopify", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", 1_700_000_000)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **Connections.** A [`Redis`] holds a small pool: each call borrows an idle connection or
//! opens one, so threads do not queue behind each other. A connection that fails (server
//! restart, idle timeout, a failover) is dropped and the call is retried on a fresh one, a few
//! times over about a second; the caller sees success or one typed error
//! ([`WebhookError::ReplayStoreUnavailable`](trust_core::webhook::WebhookError::ReplayStoreUnavailable),
//! [`RateLimitError::StoreUnavailable`]).
//! A retried `SET NX` cannot mistake its own earlier, unacknowledged write for a duplicate:
//! each write stores a random token, and a retry that finds the key compares it.
//!
//! **TLS.** `rediss://` URLs connect over rustls with the platform's root certificates.
//!
//! **Secrets.** A password in the URL is kept inside the client; no error or `Debug` output of
//! this crate contains the URL.

#![forbid(unsafe_code)]

mod error;
mod limiter;
mod pool;
mod seen;

pub use error::RedisError;
pub use limiter::{MAX_TOLERANCE, RedisLimiter};
pub use seen::RedisSeenStore;

use std::sync::Arc;

use trust_core::ratelimit::{Quota, RateLimitError};

/// The key prefix used unless [`Redis::with_prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "trust:";

/// A handle on one Redis deployment: a connection pool and a key prefix. Cheap to clone; the
/// clones share the pool.
#[derive(Clone)]
pub struct Redis {
    pool: Arc<pool::Pool>,
    prefix: Arc<str>,
}

impl core::fmt::Debug for Redis {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The URL (which may hold a password) is deliberately absent.
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Opens `url` (`redis://[user:password@]host[:port][/db]` or `rediss://…` for TLS) and
    /// checks that the server answers.
    ///
    /// # Errors
    /// [`RedisError::InvalidUrl`] for a URL that is not a Redis URL; [`RedisError::Unreachable`]
    /// when no connection can be made.
    pub fn open(url: &str) -> Result<Self, RedisError> {
        let pool = pool::Pool::open(url, None)?;
        Ok(Self {
            pool: Arc::new(pool),
            prefix: Arc::from(DEFAULT_PREFIX),
        })
    }

    /// As [`Redis::open`], naming every connection `name` (`CLIENT SETNAME`), so an operator
    /// sees in `CLIENT LIST` which app holds which connection.
    ///
    /// # Errors
    /// As [`Redis::open`]; [`RedisError::InvalidUrl`] also for a name with spaces or newlines.
    pub fn open_named(url: &str, name: &str) -> Result<Self, RedisError> {
        if name.is_empty() || name.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(RedisError::InvalidUrl);
        }
        let pool = pool::Pool::open(url, Some(name.to_owned()))?;
        Ok(Self {
            pool: Arc::new(pool),
            prefix: Arc::from(DEFAULT_PREFIX),
        })
    }

    /// The same deployment with every key under `prefix` (several apps, or tests, sharing one
    /// Redis without seeing each other's ids and budgets).
    #[must_use]
    pub fn with_prefix(&self, prefix: &str) -> Self {
        Self {
            pool: self.pool.clone(),
            prefix: Arc::from(prefix),
        }
    }

    /// The webhook seen-id store on this deployment.
    pub fn seen_store(&self) -> RedisSeenStore {
        RedisSeenStore::new(self.pool.clone(), format!("{}seen:", self.prefix))
    }

    /// A GCRA limiter on this deployment applying `default` to every route.
    ///
    /// # Errors
    /// [`RateLimitError::InvalidQuota`] when `burst × interval` exceeds [`MAX_TOLERANCE`].
    pub fn limiter(&self, default: Quota) -> Result<RedisLimiter, RateLimitError> {
        RedisLimiter::new(self.pool.clone(), format!("{}rate:", self.prefix), default)
    }
}
