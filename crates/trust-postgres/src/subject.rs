//! Per-subject data keys on PostgreSQL (`trust_subject_keys`).
//!
//! * **Creation race:** `INSERT … ON CONFLICT DO NOTHING`, then the stored row is read back in
//!   the same transaction, so every worker that raced gets the one record that won.
//! * **Tombstones are final:** a tombstone (`erased`) row is never replaced by anything; the
//!   `UPDATE` carries `WHERE NOT erased`, so even a worker acting on a stale read cannot
//!   resurrect an erased subject. Writing a second tombstone is a no-op.
//! * Records are the same JSON bytes the local store writes; the key inside is wrapped by the
//!   tenant keyring (bound to the keyring, version and subject), so the database cannot forge
//!   or move one.

use trust_core::gdpr::{GdprError, RecordState, SubjectKeyRecord, SubjectKeyStore};

use crate::{Database, Error};

/// Converts a store failure into the GDPR module's terms.
pub(crate) fn gdpr_error(e: Error) -> GdprError {
    match e {
        Error::Unreachable { .. }
        | Error::ConnectionLost { .. }
        | Error::OutcomeUnknown { .. }
        | Error::PoolTimeout { .. } => GdprError::StoreUnavailable(e.to_string()),
        Error::Corrupt { .. } => GdprError::Malformed("a stored record failed its check"),
        other => GdprError::Store(other.to_string()),
    }
}

/// Subject keys in `trust_subject_keys`.
#[derive(Clone, Debug)]
pub struct PgSubjectStore {
    db: Database,
}

impl PgSubjectStore {
    /// Over `db` (opened, so the schema exists).
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn is_erased(record: &SubjectKeyRecord) -> bool {
    matches!(record.state, RecordState::Erased { .. })
}

impl SubjectKeyStore for PgSubjectStore {
    fn load(&self, keyring: &str, subject: &str) -> Result<Option<SubjectKeyRecord>, GdprError> {
        let db = &self.db;
        let bytes: Option<Vec<u8>> = db
            .transaction(|tx| {
                Ok(tx
                    .query_opt(
                        "SELECT record FROM trust_subject_keys WHERE keyring = $1 AND subject = $2",
                        &[&keyring, &subject],
                    )
                    .map_err(|e| db.error(&e))?
                    .map(|r| r.get(0)))
            })
            .map_err(gdpr_error)?;
        bytes.map(|b| SubjectKeyRecord::parse(&b)).transpose()
    }

    fn create(&self, record: &SubjectKeyRecord) -> Result<SubjectKeyRecord, GdprError> {
        let bytes = record.to_json();
        let erased = is_erased(record);
        let db = &self.db;
        let stored: Vec<u8> = db
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO trust_subject_keys (keyring, subject, record, erased) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (keyring, subject) DO NOTHING",
                    &[&record.keyring, &record.subject, &bytes, &erased],
                )
                .map_err(|e| db.error(&e))?;
                Ok(tx
                    .query_one(
                        "SELECT record FROM trust_subject_keys WHERE keyring = $1 AND subject = $2",
                        &[&record.keyring, &record.subject],
                    )
                    .map_err(|e| db.error(&e))?
                    .get(0))
            })
            .map_err(gdpr_error)?;
        SubjectKeyRecord::parse(&stored)
    }

    fn replace(&self, record: &SubjectKeyRecord) -> Result<(), GdprError> {
        let bytes = record.to_json();
        let erased = is_erased(record);
        let db = &self.db;
        let refused = db
            .transaction(|tx| {
                let updated = tx
                    .execute(
                        "UPDATE trust_subject_keys SET record = $3, erased = $4, updated_at = now() \
                         WHERE keyring = $1 AND subject = $2 AND NOT erased",
                        &[&record.keyring, &record.subject, &bytes, &erased],
                    )
                    .map_err(|e| db.error(&e))?;
                if updated == 1 {
                    return Ok(false);
                }
                // No live row: insert (a tombstone for a subject never sealed for is still
                // written, so the erasure is on record), or find the existing tombstone.
                let inserted = tx
                    .execute(
                        "INSERT INTO trust_subject_keys (keyring, subject, record, erased) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (keyring, subject) DO NOTHING",
                        &[&record.keyring, &record.subject, &bytes, &erased],
                    )
                    .map_err(|e| db.error(&e))?;
                // A tombstone exists: writing another is a no-op, anything else is refused.
                Ok(inserted == 0 && !erased)
            })
            .map_err(gdpr_error)?;
        if refused {
            return Err(GdprError::InvalidTransition {
                from: "erased",
                to: "active",
            });
        }
        Ok(())
    }
}
