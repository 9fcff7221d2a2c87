//! Vault secrets on PostgreSQL (`trust_vault_secrets`).
//!
//! One row per secret, keyed by (tenant, name), holding the same JSON record the local store
//! writes to `vault/<tenant>/<name>.json`, with the record's revision in its own column:
//!
//! * [`VaultStore::create`] is `INSERT … ON CONFLICT DO NOTHING` (zero rows: the secret exists);
//! * [`VaultStore::compare_and_swap`] is `UPDATE … WHERE tenant = $1 AND name = $2 AND
//!   revision = $3` (zero rows: another worker wrote first, [`VaultStoreError::Conflict`]), so
//!   [`trust_core::vault::Vault::refresh`] is atomic across processes and hosts: of two workers
//!   refreshing the same OAuth token, one commits and the other reads the winner's token.
//!
//! Values stay sealed in the rows: each is an envelope token under the home's keyring, bound to
//! (tenant, name, version, field), so a value edited in the database, or copied to another
//! secret or version, fails to open (exit 1). A row whose record does not parse, names another
//! secret or disagrees with its revision column is [`VaultStoreError::Corrupt`] and is never
//! overwritten.

use trust_core::vault::{SecretName, SecretRecord, VaultStore, VaultStoreError, parse_record};

use crate::{Database, Error};

/// Converts a store failure into the vault's terms: an unreachable server or a dropped
/// connection is an I/O failure (exit 3; nothing was applied, the next call reconnects).
fn vault_error(e: Error) -> VaultStoreError {
    match e {
        Error::Corrupt { .. } => VaultStoreError::Corrupt("a stored row failed its check"),
        other => VaultStoreError::Io {
            what: "reach the vault's database",
            reason: other.to_string(),
        },
    }
}

/// Vault records in `trust_vault_secrets`.
#[derive(Clone, Debug)]
pub struct PgVaultStore {
    db: Database,
}

impl PgVaultStore {
    /// Over `db` (opened, so the schema exists).
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// The bytes stored for `record`, after the same checks the local store makes.
fn encode(record: &SecretRecord) -> Result<(Vec<u8>, i64), VaultStoreError> {
    let bytes =
        serde_json::to_vec(record).map_err(|_| VaultStoreError::Corrupt("unserializable"))?;
    // Round-trip through the parser: what is written is exactly what a reader accepts.
    parse_record(&bytes)?;
    Ok((bytes, revision(record.revision)?))
}

fn revision(r: u64) -> Result<i64, VaultStoreError> {
    i64::try_from(r).map_err(|_| VaultStoreError::Corrupt("revision out of range"))
}

/// Parses a row and checks it against its key and revision columns.
fn decode(
    tenant: &str,
    name: &str,
    column: i64,
    bytes: &[u8],
) -> Result<SecretRecord, VaultStoreError> {
    let record = parse_record(bytes)?;
    if record.tenant != tenant || record.name != name {
        return Err(VaultStoreError::Corrupt("the record names another secret"));
    }
    // The column drives compare-and-swap: a hand edit that made them disagree would let a
    // stale writer win (or make every writer conflict forever).
    if revision(record.revision)? != column {
        return Err(VaultStoreError::Corrupt(
            "the revision column disagrees with the record",
        ));
    }
    Ok(record)
}

impl VaultStore for PgVaultStore {
    fn load(&self, name: &SecretName) -> Result<Option<SecretRecord>, VaultStoreError> {
        let db = &self.db;
        let row = db
            .transaction(|tx| {
                Ok(tx
                    .query_opt(
                        "SELECT revision, record FROM trust_vault_secrets \
                         WHERE tenant = $1 AND name = $2",
                        &[&name.tenant(), &name.name()],
                    )
                    .map_err(|e| db.error(&e))?
                    .map(|r| (r.get::<_, i64>(0), r.get::<_, Vec<u8>>(1))))
            })
            .map_err(vault_error)?;
        row.map(|(rev, bytes)| decode(name.tenant(), name.name(), rev, &bytes))
            .transpose()
    }

    fn create(&self, record: &SecretRecord) -> Result<(), VaultStoreError> {
        let (bytes, rev) = encode(record)?;
        let db = &self.db;
        let inserted = db
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO trust_vault_secrets (tenant, name, revision, record) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, name) DO NOTHING",
                    &[&record.tenant, &record.name, &rev, &bytes],
                )
                .map_err(|e| db.error(&e))
            })
            .map_err(vault_error)?;
        if inserted == 0 {
            return Err(VaultStoreError::AlreadyExists);
        }
        Ok(())
    }

    fn compare_and_swap(
        &self,
        expected: u64,
        record: &SecretRecord,
    ) -> Result<(), VaultStoreError> {
        let (bytes, rev) = encode(record)?;
        let expected = revision(expected)?;
        let db = &self.db;
        let updated = db
            .transaction(|tx| {
                tx.execute(
                    "UPDATE trust_vault_secrets SET revision = $4, record = $5, \
                     updated_at = now() WHERE tenant = $1 AND name = $2 AND revision = $3",
                    &[&record.tenant, &record.name, &expected, &rev, &bytes],
                )
                .map_err(|e| db.error(&e))
            })
            .map_err(vault_error)?;
        if updated == 0 {
            return Err(VaultStoreError::Conflict);
        }
        Ok(())
    }

    fn list(&self, tenant: Option<&str>) -> Result<Vec<SecretRecord>, VaultStoreError> {
        let db = &self.db;
        let rows = db
            .transaction(|tx| {
                let rows = match tenant {
                    Some(t) => tx.query(
                        "SELECT tenant, name, revision, record FROM trust_vault_secrets \
                         WHERE tenant = $1 ORDER BY tenant COLLATE \"C\", name COLLATE \"C\"",
                        &[&t],
                    ),
                    None => tx.query(
                        "SELECT tenant, name, revision, record FROM trust_vault_secrets \
                         ORDER BY tenant COLLATE \"C\", name COLLATE \"C\"",
                        &[],
                    ),
                }
                .map_err(|e| db.error(&e))?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        (
                            r.get::<_, String>(0),
                            r.get::<_, String>(1),
                            r.get::<_, i64>(2),
                            r.get::<_, Vec<u8>>(3),
                        )
                    })
                    .collect::<Vec<_>>())
            })
            .map_err(vault_error)?;
        rows.iter()
            .map(|(t, n, rev, bytes)| decode(t, n, *rev, bytes))
            .collect()
    }
}
