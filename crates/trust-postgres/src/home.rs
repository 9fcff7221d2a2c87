//! The home record and keyrings on PostgreSQL.
//!
//! * [`PgHomeRecords`] keeps the bytes of `home.json` (root-key source and check value) and the
//!   store name in the single row of `trust_home`.
//! * [`PgKeyringStore`] keeps each keyring's authenticated file bytes in `trust_keyrings`, with
//!   the revision in its own column for compare-and-swap:
//!   `UPDATE trust_keyrings SET … WHERE name = $1 AND revision = $2`. Zero rows updated means
//!   another worker wrote first ([`StoreError::Conflict`]); trust-core's `Home` then re-reads,
//!   re-applies the operation and tries again, so concurrent rotations all succeed.
//!
//! The database is storage only: the bytes are verified by the root key when read, so an
//! edited row is detected (and never overwritten: a compare-and-swap also checks that the
//! stored bytes still parse and agree with the revision column).

use std::sync::Arc;

use trust_core::keyring::{
    self, FileError, Home, HomeRecordStore, InitSource, KeyringError, KeyringStore, StoreError,
    Unlock,
};
use trust_core::secret::random_array;

use crate::{Database, Error};

/// Converts a store failure into the keyring module's terms.
pub(crate) fn store_error(e: Error) -> StoreError {
    match e {
        Error::Unreachable { .. }
        | Error::ConnectionLost { .. }
        | Error::OutcomeUnknown { .. }
        | Error::PoolTimeout { .. } => StoreError::Unavailable(e.to_string()),
        Error::Corrupt { reason, .. } => StoreError::Corrupt(FileError::Malformed(reason)),
        other => StoreError::Backend(other.to_string()),
    }
}

/// The home record in `trust_home`.
#[derive(Clone, Debug)]
pub struct PgHomeRecords {
    db: Database,
}

impl PgHomeRecords {
    /// Over `db` (opened, so the schema exists).
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

impl HomeRecordStore for PgHomeRecords {
    fn location(&self) -> String {
        self.db.url().to_string()
    }

    fn load(&self) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let db = &self.db;
        db.transaction(|tx| {
            let row = tx
                .query_opt("SELECT record, store_name FROM trust_home", &[])
                .map_err(|e| db.error(&e))?;
            Ok(row.map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, String>(1))))
        })
        .map_err(store_error)
    }

    fn create(&self, record: &[u8], store_name: &str) -> Result<(), StoreError> {
        let db = &self.db;
        let inserted = db
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO trust_home (record, store_name) VALUES ($1, $2) \
                     ON CONFLICT (singleton) DO NOTHING",
                    &[&record, &store_name],
                )
                .map_err(|e| db.error(&e))
            })
            .map_err(store_error)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists);
        }
        Ok(())
    }
}

/// Keyrings in `trust_keyrings`.
#[derive(Clone, Debug)]
pub struct PgKeyringStore {
    db: Database,
}

impl PgKeyringStore {
    /// Over `db` (opened, so the schema exists).
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// The revision inside keyring bytes (structure checked, not authenticity: that needs the root
/// key and is the home's job).
fn revision_of(contents: &[u8]) -> Result<u64, StoreError> {
    Ok(keyring::parse_file(contents)
        .map_err(StoreError::Corrupt)?
        .record
        .revision)
}

fn to_i64(revision: u64) -> Result<i64, StoreError> {
    i64::try_from(revision)
        .map_err(|_| StoreError::Corrupt(FileError::Invalid("revision out of range")))
}

impl KeyringStore for PgKeyringStore {
    fn load(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let db = &self.db;
        let row = db
            .transaction(|tx| {
                tx.query_opt(
                    "SELECT revision, contents FROM trust_keyrings WHERE name = $1",
                    &[&name],
                )
                .map_err(|e| db.error(&e))
                .map(|r| r.map(|r| (r.get::<_, i64>(0), r.get::<_, Vec<u8>>(1))))
            })
            .map_err(store_error)?;
        let Some((column, contents)) = row else {
            return Ok(None);
        };
        // The revision column drives compare-and-swap; it must agree with the authenticated
        // revision inside the bytes, or a hand edit could make every writer conflict forever.
        if to_i64(revision_of(&contents)?)? != column {
            return Err(StoreError::Corrupt(FileError::Invalid(
                "the revision column disagrees with the stored keyring",
            )));
        }
        Ok(Some(contents))
    }

    fn create(&self, name: &str, contents: &[u8]) -> Result<(), StoreError> {
        let revision = to_i64(revision_of(contents)?)?;
        let db = &self.db;
        let inserted = db
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO trust_keyrings (name, revision, contents) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO NOTHING",
                    &[&name, &revision, &contents],
                )
                .map_err(|e| db.error(&e))
            })
            .map_err(store_error)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists);
        }
        Ok(())
    }

    fn compare_and_swap(
        &self,
        name: &str,
        expected_revision: u64,
        contents: &[u8],
    ) -> Result<(), StoreError> {
        let new_revision = to_i64(revision_of(contents)?)?;
        let expected = to_i64(expected_revision)?;
        let db = &self.db;
        db.transaction(|tx| {
            let updated = tx
                .execute(
                    "UPDATE trust_keyrings SET revision = $3, contents = $4, \
                         updated_at = now() WHERE name = $1 AND revision = $2",
                    &[&name, &expected, &new_revision, &contents],
                )
                .map_err(|e| db.error(&e))?;
            if updated == 1 {
                return Ok(Ok(()));
            }
            let exists = tx
                .query_opt("SELECT 1 FROM trust_keyrings WHERE name = $1", &[&name])
                .map_err(|e| db.error(&e))?
                .is_some();
            Ok(Err(if exists {
                StoreError::Conflict
            } else {
                StoreError::NotFound
            }))
        })
        .map_err(store_error)?
    }

    fn names(&self) -> Result<Vec<String>, StoreError> {
        let db = &self.db;
        db.transaction(|tx| {
            Ok(tx
                .query(
                    "SELECT name FROM trust_keyrings ORDER BY name COLLATE \"C\"",
                    &[],
                )
                .map_err(|e| db.error(&e))?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })
        .map_err(store_error)
    }
}

/// Creates a home in `db`: the record in `trust_home`, keyrings in `trust_keyrings`, every
/// wrap bound to `store_name` (a random `trust-…` name when `None`). With a key-file source,
/// the key file is the only thing written locally.
///
/// # Errors
/// [`KeyringError::HomeExists`] when `db` holds a home; root-key and store failures.
pub fn init_home(
    db: &Database,
    store_name: Option<&str>,
    source: InitSource,
) -> Result<Home, KeyringError> {
    let name = match store_name {
        Some(name) => name.to_owned(),
        None => {
            let random = random_array::<8>().map_err(|_| KeyringError::Random)?;
            format!("trust-{}", hex(&random))
        }
    };
    Home::init_in(
        &PgHomeRecords::new(db.clone()),
        Arc::new(PgKeyringStore::new(db.clone())),
        &name,
        source,
    )
}

/// Opens the home in `db`.
///
/// # Errors
/// [`KeyringError::NotInitialized`]; as [`Home::open_in`].
pub fn open_home(db: &Database, unlock: Unlock) -> Result<Home, KeyringError> {
    Home::open_in(
        &PgHomeRecords::new(db.clone()),
        Arc::new(PgKeyringStore::new(db.clone())),
        unlock,
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
