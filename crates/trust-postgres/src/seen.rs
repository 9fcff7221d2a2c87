//! Webhook delivery ids on PostgreSQL, for apps that run several workers without Redis.
//!
//! One statement admits an id exactly once across every worker:
//!
//! ```sql
//! INSERT INTO trust_seen_ids (key, expires_at) VALUES ($1, now() + $2 * interval '1 second')
//! ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
//!   WHERE trust_seen_ids.expires_at <= now()
//! RETURNING 1
//! ```
//!
//! A row comes back when the id is new or its previous entry expired; none when it is present
//! and unexpired. The unique key makes two concurrent deliveries of one id serialize on the row,
//! so exactly one of them sees a row. Expiry is computed on the **server's** clock from the
//! caller's time-to-live (`expires_at - now`), so workers' clock skew does not shorten or
//! stretch it. Expired rows are deleted in small batches by one call in 256.

use trust_core::webhook::{MAX_REPLAY_KEY_LEN, SeenStore, WebhookError};

use crate::{Database, Error};

/// Seen delivery ids in `trust_seen_ids`.
#[derive(Clone, Debug)]
pub struct PgSeenStore {
    db: Database,
}

impl PgSeenStore {
    /// Over `db` (opened, so the schema exists).
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn webhook_error(e: &Error) -> WebhookError {
    match e {
        Error::Unreachable { .. }
        | Error::ConnectionLost { .. }
        | Error::OutcomeUnknown { .. }
        | Error::PoolTimeout { .. } => {
            WebhookError::ReplayStoreUnavailable("the database is unreachable")
        }
        _ => WebhookError::ReplayStore("the database failed"),
    }
}

impl SeenStore for PgSeenStore {
    fn insert_if_absent(&self, key: &str, expires_at: i64, now: i64) -> Result<bool, WebhookError> {
        if key.len() > MAX_REPLAY_KEY_LEN {
            return Err(WebhookError::ReplayStore("delivery id too long"));
        }
        let ttl = expires_at.saturating_sub(now).max(1);
        let sweep = trust_core::secret::random_array::<1>().is_ok_and(|b| b[0] == 0);
        let db = &self.db;
        db.transaction(|tx| {
            let admitted = tx
                .query_opt(
                    "INSERT INTO trust_seen_ids (key, expires_at) \
                     VALUES ($1, now() + $2::bigint * interval '1 second') \
                     ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at \
                     WHERE trust_seen_ids.expires_at <= now() RETURNING 1",
                    &[&key, &ttl],
                )
                .map_err(|e| db.error(&e))?
                .is_some();
            if sweep {
                tx.execute(
                    "DELETE FROM trust_seen_ids WHERE ctid = ANY (ARRAY(SELECT ctid FROM \
                     trust_seen_ids WHERE expires_at <= now() LIMIT 1000))",
                    &[],
                )
                .map_err(|e| db.error(&e))?;
            }
            Ok(admitted)
        })
        .map_err(|e| webhook_error(&e))
    }
}
