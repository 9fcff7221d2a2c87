//! Rate limiting per (tenant, route): GCRA, in this process or shared through Redis.
//!
//! A `trust_rate_limiter` admits `rate` requests per `period` sustained, with bursts of up to
//! `burst`. In-process it is trust-core's `ratelimit::MemoryLimiter` (one 16-byte state per
//! active tenant and route). With a `redis://` store, opened through trust-backends (the one
//! URL dispatcher), it is trust-redis's limiter: the same GCRA as one Lua script that reads the
//! time from Redis, so every worker on every host shares one budget and their clocks do not
//! matter.

use std::time::Duration;

use trust_core::clock::SystemClock;
use trust_core::ratelimit::{MemoryLimiter, Quota, RateLimitError, RateLimiter};

use crate::boundary::{Failure, boundary, ffi_free, into_handle, try_out, try_ref, try_str};
use crate::error::trust_error;
use crate::status::trust_status;

/// A rate limiter.
///
/// Opaque; made by `trust_rate_limiter_new`, freed by `trust_rate_limiter_free`. Thread-safe:
/// check from any number of threads at once.
#[allow(non_camel_case_types)]
pub struct trust_rate_limiter {
    inner: Box<dyn RateLimiter>,
}

/// Makes a limiter admitting `rate` requests per `period_ms` milliseconds sustained (per tenant
/// and route), with bursts of `burst` (0: `rate`). `store` (length 0: in this process) is a
/// `redis://` or `rediss://` URL whose server then holds the state shared by every worker.
///
/// Errors: `TRUST_INVALID_ARGUMENT` (`RATE_INVALID_QUOTA` for a rate of 0 or a period outside
/// 1 ns to a day; `STORE_URL_UNSUPPORTED` for another scheme, PostgreSQL included, or a path);
/// `TRUST_INPUT_UNREADABLE` (`REDIS_UNREACHABLE`) when Redis cannot be reached. A URL's
/// password never appears in an error.
///
/// # Safety
/// `store` points to `store_len` readable bytes (NULL with 0); `limiter_out` points to writable
/// storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_rate_limiter_new(
    store: *const u8,
    store_len: usize,
    rate: u32,
    period_ms: u64,
    burst: u32,
    limiter_out: *mut *mut trust_rate_limiter,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let store = try_str!(store, store_len);
        let out = try_out!(limiter_out);
        let mut quota = Quota::per(rate, Duration::from_millis(period_ms))?;
        if burst != 0 {
            quota = quota.burst(burst)?;
        }
        let inner: Box<dyn RateLimiter> = if store.is_empty() {
            Box::new(MemoryLimiter::new(quota, SystemClock))
        } else {
            Box::new(trust_backends::open_rate_limit_store(store)?.limiter(quota)?)
        };
        out.set(into_handle(trust_rate_limiter { inner }));
        Ok(())
    })
}

/// Frees the limiter. NULL is a no-op.
///
/// # Safety
/// `limiter` is NULL or a live handle, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_rate_limiter_free(limiter: *mut trust_rate_limiter) {
    ffi_free!(limiter);
}

/// Spends `cost` of (`tenant`, `route`)'s budget. Returns `TRUST_OK` with `*retry_after_ms_out`
/// = 0 when admitted, or with the milliseconds to wait before the same request would pass
/// (at least 1; nothing spent; send it as `Retry-After`).
///
/// Errors: `TRUST_INVALID_ARGUMENT` (`RATE_COST_EXCEEDS_BURST`: this request can never pass);
/// `TRUST_INPUT_UNREADABLE` (`RATE_STORE_UNAVAILABLE`) when Redis cannot be reached even after
/// reconnecting: whether to admit the request then is the caller's policy.
///
/// # Safety
/// `limiter` is a live handle; text pointers point to their lengths in readable bytes;
/// `retry_after_ms_out` points to a writable `uint64_t`; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_rate_limiter_check(
    limiter: *const trust_rate_limiter,
    tenant: *const u8,
    tenant_len: usize,
    route: *const u8,
    route_len: usize,
    cost: u32,
    retry_after_ms_out: *mut u64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let limiter = try_ref!(limiter);
        let tenant = try_str!(tenant, tenant_len);
        let route = try_str!(route, route_len);
        let out = try_out!(retry_after_ms_out);
        let wait = match limiter.inner.check(tenant, route, cost) {
            Ok(()) => 0,
            Err(RateLimitError::Limited { retry_after }) => {
                // Rounded up, and never 0, which means "admitted".
                let ms = retry_after.as_nanos().div_ceil(1_000_000);
                u64::try_from(ms).unwrap_or(u64::MAX).max(1)
            }
            Err(e) => return Err(Failure::from(e)),
        };
        out.set(wait);
        Ok(())
    })
}
