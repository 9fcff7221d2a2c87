//! TOTP factors, recovery codes and the MFA policy on PostgreSQL.
//!
//! * `trust_mfa_factors`: one row per (user, device) with the TOTP parameters, the secret
//!   sealed under the home's keyring (bound to the user and the device: a secret copied to
//!   another row does not open) and `last_step`, the replay guard.
//! * [`MfaStore::advance_step`] is one statement, `UPDATE … SET last_step = $3 WHERE user_id =
//!   $1 AND device = $2 AND (last_step IS NULL OR last_step < $3)`: PostgreSQL re-checks the
//!   condition on the row it locks, so of any number of workers on any number of hosts
//!   verifying the same code at once, exactly one sees a row updated and accepts.
//! * `trust_mfa_recovery`: one row per recovery-code hash (SHA-256 bound to the user);
//!   [`MfaStore::consume_recovery_code`] is `UPDATE … SET used = true WHERE … AND NOT used`, so
//!   a code works once across all workers. The hash is looked up by index rather than compared
//!   in constant time: it is the SHA-256 of an 80-bit random code, so the timing of the lookup
//!   tells an attacker nothing about any code.
//! * `trust_mfa_policy`: whether destructive commands need a second factor
//!   ([`PgMfaStore::require_for_destructive`]).
//!
//! Per-user limits (16 devices, 32 recovery codes) are checked under a transaction-scoped
//! advisory lock on the user, so concurrent enrollments cannot exceed them.

use trust_core::mfa::{
    Algorithm, Factor, MAX_DEVICES, MAX_RECOVERY_CODES, MfaStore, MfaStoreError, TotpParams,
};

use crate::{Database, Error, Transaction};

/// Longest sealed-secret token accepted from a row (the local store's bound).
const MAX_SEALED_LEN: usize = 4096;

fn mfa_error(e: Error) -> MfaStoreError {
    match e {
        Error::Corrupt { .. } => MfaStoreError::Corrupt("a stored row failed its check"),
        other => MfaStoreError::Io {
            what: "reach the MFA database",
            reason: other.to_string(),
        },
    }
}

fn step(step: u64) -> Result<i64, MfaStoreError> {
    i64::try_from(step).map_err(|_| MfaStoreError::Corrupt("time step out of range"))
}

/// Factors, recovery codes and the MFA policy in the `trust_mfa_*` tables.
#[derive(Clone, Debug)]
pub struct PgMfaStore {
    db: Database,
}

impl PgMfaStore {
    /// Over `db` (opened, so the schema exists).
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Whether the home requires a second factor for destructive commands (`false` until set).
    ///
    /// # Errors
    /// Storage failures.
    pub fn require_for_destructive(&self) -> Result<bool, MfaStoreError> {
        let db = &self.db;
        db.transaction(|tx| {
            Ok(tx
                .query_opt("SELECT require_for_destructive FROM trust_mfa_policy", &[])
                .map_err(|e| db.error(&e))?
                .is_some_and(|r| r.get::<_, bool>(0)))
        })
        .map_err(mfa_error)
    }

    /// Sets the policy read by [`PgMfaStore::require_for_destructive`].
    ///
    /// # Errors
    /// Storage failures.
    pub fn set_require_for_destructive(&self, on: bool) -> Result<(), MfaStoreError> {
        let db = &self.db;
        db.transaction(|tx| {
            tx.execute(
                "INSERT INTO trust_mfa_policy (require_for_destructive) VALUES ($1) \
                 ON CONFLICT (singleton) DO UPDATE SET \
                 require_for_destructive = EXCLUDED.require_for_destructive, updated_at = now()",
                &[&on],
            )
            .map_err(|e| db.error(&e))
        })
        .map_err(mfa_error)?;
        Ok(())
    }

    /// Whether any user has an enrolled factor (a policy requiring one must not lock everyone
    /// out).
    ///
    /// # Errors
    /// Storage failures.
    pub fn any_enrolled(&self) -> Result<bool, MfaStoreError> {
        let db = &self.db;
        db.transaction(|tx| {
            Ok(tx
                .query_opt("SELECT 1 FROM trust_mfa_factors LIMIT 1", &[])
                .map_err(|e| db.error(&e))?
                .is_some())
        })
        .map_err(mfa_error)
    }
}

/// Serializes changes to one user's rows (limits are per user).
fn lock_user(db: &Database, tx: &mut Transaction<'_>, user: &str) -> Result<(), Error> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('trust_mfa:' || $1, 0))",
        &[&user],
    )
    .map_err(|e| db.error(&e))?;
    Ok(())
}

fn factor_from_row(
    algorithm: &str,
    digits: i16,
    period: i32,
    sealed: String,
    last_step: Option<i64>,
    created: i64,
) -> Result<Factor, MfaStoreError> {
    let corrupt = MfaStoreError::Corrupt;
    let params = TotpParams {
        algorithm: Algorithm::parse(algorithm).ok_or(corrupt("unknown algorithm"))?,
        digits: u8::try_from(digits).map_err(|_| corrupt("invalid digits or period"))?,
        period: u32::try_from(period).map_err(|_| corrupt("invalid digits or period"))?,
    };
    params
        .validate()
        .map_err(|_| corrupt("invalid digits or period"))?;
    if sealed.is_empty() || sealed.len() > MAX_SEALED_LEN {
        return Err(corrupt("sealed secret length"));
    }
    let last_step = last_step
        .map(u64::try_from)
        .transpose()
        .map_err(|_| corrupt("negative time step"))?;
    Ok(Factor::new(params, sealed, last_step, created))
}

impl MfaStore for PgMfaStore {
    fn create_factor(
        &self,
        user: &str,
        device: &str,
        factor: &Factor,
    ) -> Result<(), MfaStoreError> {
        let sealed_len = factor.sealed_secret.len();
        if sealed_len == 0 || sealed_len > MAX_SEALED_LEN {
            return Err(MfaStoreError::Corrupt("sealed secret length"));
        }
        let last = factor.last_step.map(step).transpose()?;
        let digits = i16::from(factor.params.digits);
        let period = i32::try_from(factor.params.period)
            .map_err(|_| MfaStoreError::Corrupt("invalid digits or period"))?;
        let db = &self.db;
        db.transaction(|tx| {
            lock_user(db, tx, user)?;
            let count: i64 = tx
                .query_one(
                    "SELECT count(*) FROM trust_mfa_factors WHERE user_id = $1",
                    &[&user],
                )
                .map_err(|e| db.error(&e))?
                .get(0);
            let inserted = if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_DEVICES {
                None
            } else {
                Some(
                    tx.execute(
                        "INSERT INTO trust_mfa_factors (user_id, device, algorithm, digits, \
                         period, sealed, last_step, created) VALUES ($1, $2, $3, $4, $5, $6, \
                         $7, $8) ON CONFLICT (user_id, device) DO NOTHING",
                        &[
                            &user,
                            &device,
                            &factor.params.algorithm.name(),
                            &digits,
                            &period,
                            &factor.sealed_secret,
                            &last,
                            &factor.created,
                        ],
                    )
                    .map_err(|e| db.error(&e))?,
                )
            };
            Ok(inserted)
        })
        .map_err(mfa_error)
        .and_then(|inserted| match inserted {
            Some(1) => Ok(()),
            Some(_) => Err(MfaStoreError::AlreadyExists),
            None => Err(MfaStoreError::Full("at most 16 devices per user")),
        })
    }

    fn factor(&self, user: &str, device: &str) -> Result<Option<Factor>, MfaStoreError> {
        let db = &self.db;
        let row = db
            .transaction(|tx| {
                Ok(tx
                    .query_opt(
                        "SELECT algorithm, digits, period, sealed, last_step, created \
                         FROM trust_mfa_factors WHERE user_id = $1 AND device = $2",
                        &[&user, &device],
                    )
                    .map_err(|e| db.error(&e))?
                    .map(|r| {
                        (
                            r.get::<_, String>(0),
                            r.get::<_, i16>(1),
                            r.get::<_, i32>(2),
                            r.get::<_, String>(3),
                            r.get::<_, Option<i64>>(4),
                            r.get::<_, i64>(5),
                        )
                    }))
            })
            .map_err(mfa_error)?;
        row.map(|(a, d, p, s, l, c)| factor_from_row(&a, d, p, s, l, c))
            .transpose()
    }

    fn devices(&self, user: &str) -> Result<Vec<String>, MfaStoreError> {
        let db = &self.db;
        db.transaction(|tx| {
            Ok(tx
                .query(
                    "SELECT device FROM trust_mfa_factors WHERE user_id = $1 \
                     ORDER BY device COLLATE \"C\"",
                    &[&user],
                )
                .map_err(|e| db.error(&e))?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })
        .map_err(mfa_error)
    }

    fn advance_step(&self, user: &str, device: &str, new: u64) -> Result<bool, MfaStoreError> {
        let new = step(new)?;
        let db = &self.db;
        let outcome = db
            .transaction(|tx| {
                let updated = tx
                    .execute(
                        "UPDATE trust_mfa_factors SET last_step = $3 WHERE user_id = $1 \
                         AND device = $2 AND (last_step IS NULL OR last_step < $3)",
                        &[&user, &device, &new],
                    )
                    .map_err(|e| db.error(&e))?;
                if updated == 1 {
                    return Ok(Some(true));
                }
                let exists = tx
                    .query_opt(
                        "SELECT 1 FROM trust_mfa_factors WHERE user_id = $1 AND device = $2",
                        &[&user, &device],
                    )
                    .map_err(|e| db.error(&e))?
                    .is_some();
                Ok(exists.then_some(false))
            })
            .map_err(mfa_error)?;
        outcome.ok_or(MfaStoreError::NotFound)
    }

    fn replace_recovery_codes(&self, user: &str, hashes: &[[u8; 32]]) -> Result<(), MfaStoreError> {
        if hashes.len() > MAX_RECOVERY_CODES {
            return Err(MfaStoreError::Full("at most 32 recovery codes"));
        }
        let db = &self.db;
        db.transaction(|tx| {
            lock_user(db, tx, user)?;
            tx.execute(
                "DELETE FROM trust_mfa_recovery WHERE user_id = $1",
                &[&user],
            )
            .map_err(|e| db.error(&e))?;
            for hash in hashes {
                tx.execute(
                    "INSERT INTO trust_mfa_recovery (user_id, hash) VALUES ($1, $2) \
                     ON CONFLICT (user_id, hash) DO NOTHING",
                    &[&user, &hash.as_slice()],
                )
                .map_err(|e| db.error(&e))?;
            }
            Ok(())
        })
        .map_err(mfa_error)
    }

    fn consume_recovery_code(&self, user: &str, hash: &[u8; 32]) -> Result<bool, MfaStoreError> {
        let db = &self.db;
        db.transaction(|tx| {
            Ok(tx
                .execute(
                    "UPDATE trust_mfa_recovery SET used = true \
                     WHERE user_id = $1 AND hash = $2 AND NOT used",
                    &[&user, &hash.as_slice()],
                )
                .map_err(|e| db.error(&e))?
                == 1)
        })
        .map_err(mfa_error)
    }

    fn remaining_recovery_codes(&self, user: &str) -> Result<usize, MfaStoreError> {
        let db = &self.db;
        let count: i64 = db
            .transaction(|tx| {
                Ok(tx
                    .query_one(
                        "SELECT count(*) FROM trust_mfa_recovery WHERE user_id = $1 AND NOT used",
                        &[&user],
                    )
                    .map_err(|e| db.error(&e))?
                    .get(0))
            })
            .map_err(mfa_error)?;
        usize::try_from(count).map_err(|_| MfaStoreError::Corrupt("recovery code count"))
    }

    fn remove_user(&self, user: &str) -> Result<bool, MfaStoreError> {
        let db = &self.db;
        db.transaction(|tx| {
            lock_user(db, tx, user)?;
            let factors = tx
                .execute("DELETE FROM trust_mfa_factors WHERE user_id = $1", &[&user])
                .map_err(|e| db.error(&e))?;
            let codes = tx
                .execute(
                    "DELETE FROM trust_mfa_recovery WHERE user_id = $1",
                    &[&user],
                )
                .map_err(|e| db.error(&e))?;
            Ok(factors + codes > 0)
        })
        .map_err(mfa_error)
    }
}
