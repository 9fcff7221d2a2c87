//! Webhook delivery ids admitted once across all workers.

use std::sync::Arc;

use redis::Connection;
use trust_core::webhook::{MAX_REPLAY_KEY_LEN, SeenStore, WebhookError};

use crate::pool::{Attempt, Pool};

/// The longest an id is kept: ten years, far beyond any provider's retry schedule; larger
/// expiries are clamped (Redis refuses absurd ones).
const MAX_TTL_MS: i64 = 10 * 365 * 86_400 * 1000;

/// trust-core's [`SeenStore`] on Redis: `SET prefix+key token NX PX ttl`.
///
/// Expiry is Redis's: an id disappears `expires_at - now` seconds after it is recorded, by the
/// server's clock, so workers need not agree on the time to the second.
pub struct RedisSeenStore {
    pool: Arc<Pool>,
    prefix: String,
}

impl core::fmt::Debug for RedisSeenStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RedisSeenStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisSeenStore {
    pub(crate) fn new(pool: Arc<Pool>, prefix: String) -> Self {
        Self { pool, prefix }
    }
}

/// A fresh random token, so a retried write can recognise itself.
fn token() -> Result<String, WebhookError> {
    let mut t = [0u8; 16];
    getrandom::fill(&mut t).map_err(|_| WebhookError::ReplayStore("no OS randomness"))?;
    Ok(hex::encode(t))
}

fn set_nx(con: &mut Connection, key: &str, token: &str, ttl_ms: i64) -> redis::RedisResult<bool> {
    let reply: Option<String> = redis::cmd("SET")
        .arg(key)
        .arg(token)
        .arg("NX")
        .arg("PX")
        .arg(ttl_ms)
        .query(con)?;
    Ok(reply.is_some())
}

impl SeenStore for RedisSeenStore {
    fn insert_if_absent(&self, key: &str, expires_at: i64, now: i64) -> Result<bool, WebhookError> {
        if key.len() > MAX_REPLAY_KEY_LEN {
            return Err(WebhookError::Malformed("delivery id too long"));
        }
        let full = format!("{}{key}", self.prefix);
        let ttl_ms = expires_at
            .saturating_sub(now)
            .saturating_mul(1000)
            .clamp(1, MAX_TTL_MS);
        let token = token()?;
        self.pool
            .run(|con, attempt| {
                if set_nx(con, &full, &token, ttl_ms)? {
                    return Ok(true);
                }
                if attempt == Attempt::Retry {
                    // An earlier attempt may have been applied with its reply lost: the key
                    // then holds our own token, and this delivery is the one admitted.
                    let held: Option<String> = redis::cmd("GET").arg(&full).query(con)?;
                    return Ok(held.as_deref() == Some(token.as_str()));
                }
                Ok(false)
            })
            .map_err(|_| WebhookError::ReplayStoreUnavailable("the Redis server is unreachable"))
    }
}
