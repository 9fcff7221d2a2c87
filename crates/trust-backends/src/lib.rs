//! Opening trust's stores from one string: a local path or a server URL.
//!
//! Every front end (the `trust` CLI, the C ABI, the language packages) takes stores as a string
//! (`--store`, `TRUST_STORE`, `--log`, a constructor argument) and hands it to this crate, so the
//! rule for telling a URL from a path, the set of supported schemes and the error for an
//! unsupported one exist exactly once:
//!
//! | string | store |
//! |---|---|
//! | `postgres://…`, `postgresql://…` | PostgreSQL ([`trust_postgres`]): the home, keyrings, subject keys, the GDPR register, the vault, MFA factors, seen ids, audit logs (`?log=NAME`) |
//! | `redis://…`, `rediss://…` | Redis: seen ids and rate limits only |
//! | anything without `scheme://` | a local directory, as before |
//! | another `scheme://` | refused: [`BackendError`] with exit code 2, never taken for a relative path |
//!
//! Displaying a [`Location`] never shows a URL's password.
//!
//! Root keys and signing keys held outside the process (an HSM, AWS KMS) are opened from the
//! descriptor a home or a log records in [`custody`], for the same reason: one resolver for
//! every front end.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod custody;

use core::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use trust_core::error::{Category, TrustError};
use trust_core::gdpr::{
    DirRegister, GdprError, LocalStore, RequestRegister, SubjectKeyRecord, SubjectKeyStore,
};
use trust_core::mfa::{DirMfaStore, MfaStore};
use trust_core::root::RootKeyError;
use trust_core::store_url::{Scheme, StoreLocation, StoreUrl, StoreUrlError};
use trust_core::vault::{DirVaultStore, VaultStore};
use trust_core::webhook::SeenStore;
use trust_postgres::{
    Database, PgMfaStore, PgRequestRegister, PgSeenStore, PgSubjectStore, PgVaultStore,
};

/// Where a store lives, parsed.
#[derive(Clone, Debug)]
pub enum Location {
    /// A local directory.
    Path(PathBuf),
    /// A PostgreSQL database.
    Postgres(StoreUrl),
    /// A Redis server.
    Redis(StoreUrl),
}

impl Location {
    /// Parses a store string.
    ///
    /// # Errors
    /// [`BackendError::Url`] for an empty, over-long or unsupported-scheme string.
    pub fn parse(text: &str) -> Result<Self, BackendError> {
        Ok(match StoreLocation::parse(text)? {
            StoreLocation::Path(path) => Self::Path(path),
            StoreLocation::Url(url) => match url.scheme() {
                Scheme::Postgres => Self::Postgres(url),
                Scheme::Redis => Self::Redis(url),
                _ => {
                    return Err(BackendError::Url(StoreUrlError::UnsupportedScheme {
                        scheme: url.scheme().as_str().to_owned(),
                    }));
                }
            },
        })
    }

    /// `true` for a server URL.
    pub fn is_url(&self) -> bool {
        !matches!(self, Self::Path(_))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) | Self::Redis(url) => write!(f, "{url}"),
        }
    }
}

/// What a store is used for (decides which schemes may hold it).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The home: root-key record, keyrings, subject keys, GDPR register, vault, MFA.
    Home,
    /// Webhook delivery ids already seen.
    SeenIds,
    /// An audit log.
    AuditLog,
}

impl Purpose {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Home => "the home (keyrings, subject keys, GDPR register, vault, MFA)",
            Self::SeenIds => "webhook seen ids",
            Self::AuditLog => "an audit log",
        }
    }
}

/// Where the home lives, opened.
#[derive(Clone, Debug)]
pub enum HomeLocation {
    /// The local home directory.
    Local(PathBuf),
    /// A PostgreSQL database (connected, schema migrated).
    Postgres(Database),
}

/// Opens the home named by `text`: a directory path is returned as is (the caller's local home
/// code takes it from there), a PostgreSQL URL is connected and its schema created or migrated.
///
/// # Errors
/// [`BackendError`]: a bad or unsupported string, a Redis URL (Redis does not hold a home),
/// or a PostgreSQL error (unreachable, schema too new, …).
pub fn open_home(text: &str) -> Result<HomeLocation, BackendError> {
    match Location::parse(text)? {
        Location::Path(path) => Ok(HomeLocation::Local(path)),
        Location::Postgres(url) => Ok(HomeLocation::Postgres(Database::open(&url)?)),
        Location::Redis(_) => Err(BackendError::WrongStore {
            scheme: "redis",
            purpose: Purpose::Home,
        }),
    }
}

impl HomeLocation {
    /// The GDPR request register of this home: `HOME/gdpr/requests.json` for a local home, the
    /// `trust_gdpr_requests` table for a database.
    pub fn request_register(&self) -> Box<dyn RequestRegister> {
        match self {
            Self::Local(dir) => Box::new(DirRegister::new(dir.join("gdpr"))),
            Self::Postgres(db) => Box::new(PgRequestRegister::new(db.clone())),
        }
    }

    /// The vault of this home: `HOME/vault/` for a local home, the `trust_vault_secrets`
    /// table for a database.
    pub fn vault_store(&self) -> Arc<dyn VaultStore> {
        match self {
            Self::Local(dir) => Arc::new(DirVaultStore::new(dir.join("vault"))),
            Self::Postgres(db) => Arc::new(PgVaultStore::new(db.clone())),
        }
    }

    /// The TOTP factors and recovery codes of this home: `HOME/mfa/users/` for a local home,
    /// the `trust_mfa_factors` and `trust_mfa_recovery` tables for a database.
    pub fn mfa_store(&self) -> Arc<dyn MfaStore> {
        match self {
            Self::Local(dir) => Arc::new(DirMfaStore::new(dir.join("mfa").join("users"))),
            Self::Postgres(db) => Arc::new(PgMfaStore::new(db.clone())),
        }
    }

    /// The subject-key store of this home: `HOME/subjects/` for a local home, the
    /// `trust_subject_keys` table for a database.
    pub fn subject_store(&self) -> SubjectStore {
        match self {
            Self::Local(dir) => SubjectStore::Local(LocalStore::new(dir.join("subjects"))),
            Self::Postgres(db) => SubjectStore::Postgres(PgSubjectStore::new(db.clone())),
        }
    }
}

/// A subject-key store of either kind (what [`HomeLocation::subject_store`] returns), so front
/// ends name one type.
#[derive(Debug)]
pub enum SubjectStore {
    /// Files under a local home.
    Local(LocalStore),
    /// Rows in PostgreSQL.
    Postgres(PgSubjectStore),
}

impl SubjectKeyStore for SubjectStore {
    fn load(&self, keyring: &str, subject: &str) -> Result<Option<SubjectKeyRecord>, GdprError> {
        match self {
            Self::Local(s) => s.load(keyring, subject),
            Self::Postgres(s) => s.load(keyring, subject),
        }
    }

    fn create(&self, record: &SubjectKeyRecord) -> Result<SubjectKeyRecord, GdprError> {
        match self {
            Self::Local(s) => s.create(record),
            Self::Postgres(s) => s.create(record),
        }
    }

    fn replace(&self, record: &SubjectKeyRecord) -> Result<(), GdprError> {
        match self {
            Self::Local(s) => s.replace(record),
            Self::Postgres(s) => s.replace(record),
        }
    }
}

/// Opens a store of webhook delivery ids shared by every worker: `postgres://…` (the
/// `trust_seen_ids` table) or `redis://…` (`SET NX` with expiry). A path is refused: the
/// in-process store needs no location.
///
/// # Errors
/// [`BackendError`] for a bad or unsupported string, or a PostgreSQL error.
pub fn open_seen_store(text: &str) -> Result<Box<dyn SeenStore>, BackendError> {
    match Location::parse(text)? {
        Location::Postgres(url) => Ok(Box::new(PgSeenStore::new(Database::open(&url)?))),
        Location::Redis(url) => Ok(Box::new(
            trust_redis::Redis::open(url.expose_secret())
                .map_err(BackendError::Redis)?
                .seen_store(),
        )),
        Location::Path(_) => Err(BackendError::Url(StoreUrlError::NotAUrl)),
    }
}

/// Opens a PostgreSQL database from `url` (connected, schema migrated).
///
/// # Errors
/// As [`open_home`]; a path or another scheme is [`BackendError::WrongStore`].
pub fn open_postgres(text: &str) -> Result<Database, BackendError> {
    match Location::parse(text)? {
        Location::Postgres(url) => Ok(Database::open(&url)?),
        Location::Path(_) => Err(BackendError::Url(StoreUrlError::NotAUrl)),
        Location::Redis(_) => Err(BackendError::WrongStore {
            scheme: "redis",
            purpose: Purpose::Home,
        }),
    }
}

/// `path` is a local store directory (the CLI's default home, a `--log` directory).
pub fn is_local(text: &str) -> bool {
    matches!(Location::parse(text), Ok(Location::Path(_)))
}

/// The local path of `text` when it is one.
pub fn local_path(text: &str) -> Option<&Path> {
    match StoreLocation::parse(text) {
        Ok(StoreLocation::Path(_)) => Some(Path::new(text)),
        _ => None,
    }
}

/// A store could not be opened.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendError {
    /// The string is not a usable location.
    Url(StoreUrlError),
    /// The scheme is supported, but not for this purpose (exit 2).
    WrongStore {
        /// The scheme given.
        scheme: &'static str,
        /// What the store was to hold.
        purpose: Purpose,
    },
    /// PostgreSQL failed.
    Postgres(trust_postgres::Error),
    /// Redis failed (its message never holds the URL).
    Redis(trust_redis::RedisError),
    /// An external root or signing key (HSM, KMS) could not be opened; carries the device's
    /// own stable code (`PKCS11_WRONG_PIN`, `KMS_KEY_DISABLED`…) and exit code.
    Custody(RootKeyError),
    /// A recorded root or signing key kind this build cannot open (unknown, or compiled out:
    /// the `pkcs11` and `aws-kms` features).
    UnsupportedKind {
        /// The recorded kind (printable, at most 32 characters).
        kind: String,
        /// "root key" or "signing key".
        what: &'static str,
    },
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(e) => e.fmt(f),
            Self::WrongStore { scheme, purpose } => write!(
                f,
                "a {scheme}:// store cannot hold {}; use a postgres:// URL or a directory",
                purpose.as_str()
            ),
            Self::Postgres(e) => e.fmt(f),
            Self::Redis(e) => e.fmt(f),
            Self::Custody(e) => e.fmt(f),
            Self::UnsupportedKind { kind, what } => write!(
                f,
                "a {what} of kind `{kind}` cannot be opened by this build of trust"
            ),
        }
    }
}

impl std::error::Error for BackendError {}

impl From<StoreUrlError> for BackendError {
    fn from(e: StoreUrlError) -> Self {
        Self::Url(e)
    }
}

impl From<trust_postgres::Error> for BackendError {
    fn from(e: trust_postgres::Error) -> Self {
        Self::Postgres(e)
    }
}

impl TrustError for BackendError {
    fn category(&self) -> Category {
        match self {
            Self::Url(e) => e.category(),
            Self::WrongStore { .. } => Category::Usage,
            Self::Postgres(e) => e.category(),
            Self::Redis(e) => e.category(),
            Self::Custody(e) => e.category(),
            Self::UnsupportedKind { .. } => Category::Usage,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::Url(e) => e.code(),
            Self::WrongStore { .. } => "STORE_URL_UNSUPPORTED",
            Self::Postgres(e) => e.code(),
            Self::Redis(e) => e.code(),
            Self::Custody(e) => e.code(),
            Self::UnsupportedKind { .. } => "ROOT_KIND_UNSUPPORTED",
        }
    }
    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Url(e) => e.hint(),
            Self::WrongStore { .. } => None,
            Self::Postgres(e) => e.hint(),
            Self::Redis(e) => e.hint(),
            Self::Custody(e) => e.hint(),
            Self::UnsupportedKind { .. } => Some(
                "use a build of trust with the `pkcs11` and `aws-kms` features (the default), or check the recorded kind",
            ),
        }
    }
}

pub mod audit;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_are_told_apart_once() {
        assert!(matches!(
            Location::parse("postgres://db/x"),
            Ok(Location::Postgres(_))
        ));
        assert!(matches!(
            Location::parse("postgresql://db/x"),
            Ok(Location::Postgres(_))
        ));
        assert!(matches!(
            Location::parse("redis://127.0.0.1/"),
            Ok(Location::Redis(_))
        ));
        assert!(matches!(Location::parse("./home"), Ok(Location::Path(_))));
        assert!(is_local("home"));
        assert!(!is_local("postgres://db/x"));
        assert_eq!(local_path("a/b"), Some(Path::new("a/b")));
        assert_eq!(local_path("postgres://db/x"), None);
    }

    #[test]
    fn unsupported_and_misused_schemes_are_usage_errors() {
        let err = open_home("mysql://u:pw-long-enough@db/x").expect_err("mysql");
        assert_eq!(err.category().exit_code(), 2);
        assert_eq!(err.code(), "STORE_URL_UNSUPPORTED");
        assert!(!err.to_string().contains('\n'));
        let err = open_home("redis://:r3dis-secret@127.0.0.1:6379/").expect_err("redis home");
        assert_eq!(err.category().exit_code(), 2);
        assert!(!err.to_string().contains("r3dis-secret"));
        let err = open_postgres("./dir").expect_err("a path");
        assert_eq!(err.category().exit_code(), 2);
    }

    #[test]
    fn location_display_hides_passwords() {
        let loc = Location::parse("postgres://app:Very-Secret-1@db/x").expect("parse");
        assert!(!loc.to_string().contains("Very-Secret-1"), "{loc}");
        assert!(!format!("{loc:?}").contains("Very-Secret-1"), "{loc:?}");
        assert!(loc.is_url());
    }

    #[test]
    fn an_unreachable_postgres_home_is_exit_3() {
        let err = open_home("postgres://trust:Hidden-Pass-9@127.0.0.1:1/x?connect_timeout=2")
            .expect_err("unreachable");
        assert_eq!(err.category().exit_code(), 3);
        assert_eq!(err.code(), "STORE_UNREACHABLE");
        assert!(!err.to_string().contains("Hidden-Pass-9"));
    }
}
