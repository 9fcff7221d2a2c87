//! Where vault records live.
//!
//! [`VaultStore`] has four atomic operations and maps to one table keyed by (tenant, name) with
//! a `revision` column: [`VaultStore::create`] is an `INSERT` that fails on the key,
//! [`VaultStore::compare_and_swap`] an `UPDATE … WHERE tenant = $1 AND name = $2 AND revision =
//! $3` (zero rows = [`VaultStoreError::Conflict`]). [`DirVaultStore`] is the embedded default:
//! `DIR/<tenant>/<name>.json`, changed under `DIR/<tenant>/.<name>.lock` and replaced atomically.
//! The record format is specified in `docs/format-vault.md`.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SecretName;
use crate::durable::{self, LockGuard};
use crate::error::{Category, TrustError};

/// Largest record file read.
pub const MAX_RECORD_FILE: u64 = 4 << 20;
/// Most versions a record keeps; a put beyond it drops the oldest.
pub const MAX_VERSIONS: usize = 32;
/// Most readers per secret.
pub const MAX_READERS: usize = 64;
/// Most scopes per secret.
pub const MAX_SCOPES: usize = 64;
/// Longest reader id or scope.
pub const MAX_LABEL_LEN: usize = 128;
/// Longest sealed field (a token of a 64 KiB value).
const MAX_SEALED_LEN: usize = 96 * 1024;

const FORMAT: &str = "trust-vault";

/// What a secret is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Kind {
    /// A static API key or access token.
    ApiKey,
    /// An OAuth access token, usually with an expiry and a refresh token.
    Oauth,
}

impl Kind {
    /// `api-key` or `oauth`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ApiKey => "api-key",
            Self::Oauth => "oauth",
        }
    }

    /// Parses `api-key` or `oauth`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api-key" => Some(Self::ApiKey),
            "oauth" => Some(Self::Oauth),
            _ => None,
        }
    }
}

/// One version of a secret: its sealed value and the metadata that changes per version.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct VersionRecord {
    /// 1, 2, 3… never reused.
    pub version: u32,
    /// The value, an envelope token bound to (tenant, name, version, field=value).
    pub value: String,
    /// The OAuth refresh token, sealed likewise (field=refresh), if any.
    pub refresh_token: Option<String>,
    /// When the value expires (Unix seconds), if it does.
    pub expires: Option<i64>,
    /// When this version was stored (Unix seconds).
    pub created: i64,
}

impl fmt::Debug for VersionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionRecord")
            .field("version", &self.version)
            .field("refresh_token", &self.refresh_token.is_some())
            .field("expires", &self.expires)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// Everything stored about one secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SecretRecord {
    /// Always `trust-vault`.
    pub format: String,
    /// Always 1.
    pub format_version: u32,
    /// The tenant.
    pub tenant: String,
    /// The secret's name within the tenant.
    pub name: String,
    /// Bumped by every change; the compare-and-swap column.
    pub revision: u64,
    /// API key or OAuth token.
    pub kind: Kind,
    /// Actors allowed to read (and replace) the value.
    pub readers: Vec<String>,
    /// Free-form OAuth scopes or API permissions, for operators.
    pub scopes: Vec<String>,
    /// The highest version ever assigned (versions are never reused, even after deletion).
    pub latest: u32,
    /// Deleted: a tombstone with no versions.
    pub deleted: bool,
    /// Stored versions, oldest first.
    pub versions: Vec<VersionRecord>,
}

impl SecretRecord {
    /// The secret's name.
    ///
    /// # Errors
    /// [`VaultStoreError::Corrupt`] when the stored names are invalid.
    pub fn secret_name(&self) -> Result<SecretName, VaultStoreError> {
        SecretName::new(&self.tenant, &self.name)
            .map_err(|_| VaultStoreError::Corrupt("invalid tenant or name"))
    }

    /// The newest stored version.
    pub fn current(&self) -> Option<&VersionRecord> {
        self.versions.last()
    }

    fn validate(&self) -> Result<(), VaultStoreError> {
        let corrupt = VaultStoreError::Corrupt;
        if self.format != FORMAT || self.format_version != 1 {
            return Err(corrupt("unknown format"));
        }
        self.secret_name()?;
        if self.readers.len() > MAX_READERS
            || self.scopes.len() > MAX_SCOPES
            || self.versions.len() > MAX_VERSIONS
        {
            return Err(corrupt("too many readers, scopes or versions"));
        }
        if !self
            .readers
            .iter()
            .chain(&self.scopes)
            .all(|l| is_valid_label(l))
        {
            return Err(corrupt("invalid reader or scope"));
        }
        if self.deleted != self.versions.is_empty() {
            return Err(corrupt(
                "a deleted secret must have no versions and a live one some",
            ));
        }
        let mut previous = 0u32;
        for v in &self.versions {
            if v.version <= previous || v.version > self.latest {
                return Err(corrupt("versions out of order"));
            }
            previous = v.version;
            let sealed_ok = |t: &str| !t.is_empty() && t.len() <= MAX_SEALED_LEN;
            if !sealed_ok(&v.value) || v.refresh_token.as_deref().is_some_and(|t| !sealed_ok(t)) {
                return Err(corrupt("sealed field length"));
            }
        }
        Ok(())
    }
}

/// True for a reader id or scope: 1 to 128 printable characters without spaces or commas.
pub fn is_valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL_LEN
        && label
            .chars()
            .all(|c| !c.is_control() && c != ' ' && c != ',')
}

/// Parses and checks a record's bytes (exposed for the fuzz target).
///
/// # Errors
/// [`VaultStoreError::Corrupt`] for anything malformed or out of bounds.
pub fn parse_record(bytes: &[u8]) -> Result<SecretRecord, VaultStoreError> {
    if bytes.len() as u64 > MAX_RECORD_FILE {
        return Err(VaultStoreError::Corrupt("the record is too large"));
    }
    let record: SecretRecord =
        serde_json::from_slice(bytes).map_err(|_| VaultStoreError::Corrupt("does not parse"))?;
    record.validate()?;
    Ok(record)
}

/// Storage for vault records. Every method is atomic on its own.
pub trait VaultStore: Send + Sync {
    /// The record of (tenant, name), if any (tombstones included).
    ///
    /// # Errors
    /// Storage failures, [`VaultStoreError::Corrupt`].
    fn load(&self, name: &SecretName) -> Result<Option<SecretRecord>, VaultStoreError>;

    /// Stores a new record; [`VaultStoreError::AlreadyExists`] if one exists.
    ///
    /// # Errors
    /// As stated, and storage failures.
    fn create(&self, record: &SecretRecord) -> Result<(), VaultStoreError>;

    /// Replaces the record if its stored revision is `expected`; otherwise
    /// [`VaultStoreError::Conflict`] and nothing changes.
    ///
    /// # Errors
    /// As stated, and storage failures.
    fn compare_and_swap(&self, expected: u64, record: &SecretRecord)
    -> Result<(), VaultStoreError>;

    /// Every record, or those of one tenant, sorted by (tenant, name).
    ///
    /// # Errors
    /// Storage failures, [`VaultStoreError::Corrupt`].
    fn list(&self, tenant: Option<&str>) -> Result<Vec<SecretRecord>, VaultStoreError>;
}

/// A storage failure.
#[derive(Debug)]
#[non_exhaustive]
pub enum VaultStoreError {
    /// `create` found a record.
    AlreadyExists,
    /// `compare_and_swap` found another revision.
    Conflict,
    /// A record does not parse or breaks a bound.
    Corrupt(&'static str),
    /// Reading or writing failed.
    Io {
        /// What was being done.
        what: &'static str,
        /// The OS reason.
        reason: String,
    },
}

impl fmt::Display for VaultStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyExists => f.write_str("the secret already exists"),
            Self::Conflict => f.write_str("the secret was changed concurrently"),
            Self::Corrupt(why) => write!(f, "a stored vault record is corrupt: {why}"),
            Self::Io { what, reason } => write!(f, "cannot {what}: {reason}"),
        }
    }
}

impl std::error::Error for VaultStoreError {}

impl TrustError for VaultStoreError {
    fn category(&self) -> Category {
        match self {
            Self::AlreadyExists | Self::Conflict => Category::Internal,
            Self::Corrupt(_) => Category::Verification,
            Self::Io { .. } => Category::Input,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "VAULT_EXISTS",
            Self::Conflict => "VAULT_CONFLICT",
            Self::Corrupt(_) => "VAULT_RECORD_CORRUPT",
            Self::Io { .. } => "VAULT_STORE_IO",
        }
    }
}

/// The embedded store: one JSON file per secret under a directory per tenant.
#[derive(Debug, Clone)]
pub struct DirVaultStore {
    dir: PathBuf,
}

impl DirVaultStore {
    /// A store in `dir` (created `0700` on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(what: &'static str, e: &std::io::Error) -> VaultStoreError {
        VaultStoreError::Io {
            what,
            reason: e.to_string(),
        }
    }

    // Tenant and name are restricted to [a-z0-9._-] and cannot start with '.', so they are
    // safe path components that never collide with the lock files.
    fn paths(&self, name: &SecretName) -> (PathBuf, PathBuf, PathBuf) {
        let tenant_dir = self.dir.join(name.tenant());
        let file = tenant_dir.join(format!("{}.json", name.name()));
        let lock = tenant_dir.join(format!(".{}.lock", name.name()));
        (tenant_dir, file, lock)
    }

    fn read(path: &Path) -> Result<Option<SecretRecord>, VaultStoreError> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Self::io("read a vault record", &e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_RECORD_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Self::io("read a vault record", &e))?;
        parse_record(&bytes).map(Some)
    }

    fn write(
        &self,
        record: &SecretRecord,
        check: impl FnOnce(Option<&SecretRecord>) -> Result<(), VaultStoreError>,
    ) -> Result<(), VaultStoreError> {
        record.validate()?;
        let name = record.secret_name()?;
        let (tenant_dir, file, lock) = self.paths(&name);
        durable::create_private_dir(&tenant_dir)
            .map_err(|e| Self::io("create the vault directory", &e))?;
        let _guard = LockGuard::acquire(&lock).map_err(|e| Self::io("lock a vault record", &e))?;
        let stored = Self::read(&file)?;
        check(stored.as_ref())?;
        let mut bytes = serde_json::to_vec_pretty(record)
            .map_err(|_| VaultStoreError::Corrupt("unserializable"))?;
        bytes.push(b'\n');
        durable::write_atomic(&file, &bytes).map_err(|e| Self::io("write a vault record", &e))
    }
}

impl VaultStore for DirVaultStore {
    fn load(&self, name: &SecretName) -> Result<Option<SecretRecord>, VaultStoreError> {
        let (_, file, _) = self.paths(name);
        let record = Self::read(&file)?;
        if let Some(r) = &record {
            if r.tenant != name.tenant() || r.name != name.name() {
                return Err(VaultStoreError::Corrupt("the record names another secret"));
            }
        }
        Ok(record)
    }

    fn create(&self, record: &SecretRecord) -> Result<(), VaultStoreError> {
        self.write(record, |stored| match stored {
            Some(_) => Err(VaultStoreError::AlreadyExists),
            None => Ok(()),
        })
    }

    fn compare_and_swap(
        &self,
        expected: u64,
        record: &SecretRecord,
    ) -> Result<(), VaultStoreError> {
        self.write(record, |stored| match stored {
            Some(s) if s.revision == expected => Ok(()),
            _ => Err(VaultStoreError::Conflict),
        })
    }

    fn list(&self, tenant: Option<&str>) -> Result<Vec<SecretRecord>, VaultStoreError> {
        let mut out = Vec::new();
        let tenants: Vec<String> = match tenant {
            Some(t) => vec![t.to_owned()],
            None => match std::fs::read_dir(&self.dir) {
                Ok(entries) => entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(Self::io("list the vault", &e)),
            },
        };
        for t in tenants {
            let entries = match std::fs::read_dir(self.dir.join(&t)) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Self::io("list the vault", &e)),
            };
            for entry in entries.filter_map(Result::ok) {
                let file_name = entry.file_name();
                let Some(stem) = file_name
                    .to_str()
                    .and_then(|n| n.strip_suffix(".json"))
                    .filter(|n| !n.starts_with('.'))
                else {
                    continue;
                };
                let Ok(name) = SecretName::new(&t, stem) else {
                    continue;
                };
                if let Some(record) = self.load(&name)? {
                    out.push(record);
                }
            }
        }
        out.sort_by(|a, b| (&a.tenant, &a.name).cmp(&(&b.tenant, &b.name)));
        Ok(out)
    }
}
