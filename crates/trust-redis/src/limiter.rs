//! GCRA rate limiting on Redis, on the server's clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use trust_core::ratelimit::{Quota, RateLimitError, RateLimiter};

use crate::pool::Pool;

/// The largest `burst × interval` a [`RedisLimiter`] accepts: 2^50 ns, about 13 days. The
/// script does its arithmetic in Lua's doubles, exact below 2^53 ns; this bound keeps every
/// intermediate value well inside that.
pub const MAX_TOLERANCE: Duration = Duration::from_nanos(1 << 50);

/// trust-core's [`RateLimiter`] on Redis: GCRA in one Lua script, atomic per request.
///
/// It admits and refuses exactly as trust-core's
/// [`MemoryLimiter`](trust_core::ratelimit::MemoryLimiter) would for the same quota and the
/// same arrival times (the tests replay one sequence through both), with the time taken from
/// Redis's `TIME`. A request retried after a dropped connection may be charged twice (the first
/// attempt's effect is unknown); that errs towards refusing, never towards extra budget.
pub struct RedisLimiter {
    pool: Arc<Pool>,
    prefix: String,
    default: Quota,
    routes: HashMap<String, Quota>,
    script: Script,
}

impl core::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("prefix", &self.prefix)
            .field("default", &self.default)
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

fn check_quota(q: Quota) -> Result<Quota, RateLimitError> {
    let tolerance = q.interval().as_nanos() * u128::from(q.burst_size());
    if tolerance > MAX_TOLERANCE.as_nanos() {
        return Err(RateLimitError::InvalidQuota);
    }
    Ok(q)
}

impl RedisLimiter {
    pub(crate) fn new(
        pool: Arc<Pool>,
        prefix: String,
        default: Quota,
    ) -> Result<Self, RateLimitError> {
        Ok(Self {
            pool,
            prefix,
            default: check_quota(default)?,
            routes: HashMap::new(),
            script: Script::new(include_str!("gcra.lua")),
        })
    }

    /// A specific quota for `route`.
    ///
    /// # Errors
    /// [`RateLimitError::InvalidQuota`] when `burst × interval` exceeds [`MAX_TOLERANCE`].
    pub fn route(mut self, route: impl Into<String>, quota: Quota) -> Result<Self, RateLimitError> {
        self.routes.insert(route.into(), check_quota(quota)?);
        Ok(self)
    }

    /// The key of one (tenant, route): the tenant's length first, so `("a:b", "c")` and
    /// `("a", "b:c")` never share a budget.
    fn key(&self, tenant: &str, route: &str) -> String {
        format!("{}{}:{tenant}:{route}", self.prefix, tenant.len())
    }

    /// As [`RateLimiter::check`] but at the given time instead of the server's: for replaying
    /// a recorded sequence of arrivals (the equivalence tests with the in-memory limiter), or
    /// for a deployment that deliberately uses its own clock. `keep` extends each key's expiry,
    /// so a replay running faster or slower than its timestamps forgets nothing early.
    ///
    /// # Errors
    /// As [`RateLimiter::check`].
    pub fn check_at(
        &self,
        tenant: &str,
        route: &str,
        cost: u32,
        unix: Duration,
        keep: Duration,
    ) -> Result<(), RateLimitError> {
        let now = Some((unix.as_secs(), unix.subsec_nanos(), keep.as_millis()));
        self.run(tenant, route, cost, now)
    }

    fn run(
        &self,
        tenant: &str,
        route: &str,
        cost: u32,
        now: Option<(u64, u32, u128)>,
    ) -> Result<(), RateLimitError> {
        let quota = self.routes.get(route).copied().unwrap_or(self.default);
        if cost > quota.burst_size() {
            return Err(RateLimitError::CostExceedsBurst);
        }
        let key = self.key(tenant, route);
        let interval =
            u64::try_from(quota.interval().as_nanos()).map_err(|_| RateLimitError::InvalidQuota)?;
        let (admitted, retry_ns): (i64, i64) = self
            .pool
            .run(|con, _| {
                let mut inv = self.script.key(&key);
                inv.arg(interval).arg(quota.burst_size()).arg(cost);
                if let Some((s, n, keep)) = now {
                    inv.arg(s)
                        .arg(n)
                        .arg(u64::try_from(keep).unwrap_or(u64::MAX));
                }
                inv.invoke(con)
            })
            .map_err(|_| RateLimitError::StoreUnavailable)?;
        if admitted == 1 {
            Ok(())
        } else {
            Err(RateLimitError::Limited {
                retry_after: Duration::from_nanos(u64::try_from(retry_ns).unwrap_or(0)),
            })
        }
    }
}

impl RateLimiter for RedisLimiter {
    fn check(&self, tenant: &str, route: &str, cost: u32) -> Result<(), RateLimitError> {
        self.run(tenant, route, cost, None)
    }
}
