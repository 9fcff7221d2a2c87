//! Audit logs by location: a directory, or `postgres://…?log=NAME`.
//!
//! Every front end takes a log as one string (`--log`, `--audit-log`, `TRUST_AUDIT_LOG`, a
//! constructor argument) and calls these functions; which store holds the log is decided here
//! and nowhere else. A string that is not valid UTF-8 is always a path. Errors are
//! [`AuditError`]s, a database's own errors inside [`StoreError::Backend`] with their codes and
//! exit categories (`STORE_UNREACHABLE`, exit 3, …); none holds a URL's password.
//!
//! A log in PostgreSQL is verified exactly as a directory log is: it is first exported (key-free)
//! into a private temporary directory, which the one verifier then reads, so an auditor's
//! verdict never depends on which store held the log.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use trust_core::audit::Leaf;
use trust_core::audit::OpenError;
use trust_core::audit::{
    AuditError, AuditLog, ExportSummary, InitOptions, Query, Report, SignerDescriptor, StoreError,
    VerifyOptions, export_dir, search, verify_log,
};
use trust_core::audit::{ExternalEd25519, Verifier};
use trust_core::error::TrustError;
use trust_postgres::{Database, LogLocation, audit as pg};

use crate::{BackendError, Location, Purpose};

/// Where an audit log lives.
#[derive(Clone, Debug)]
pub enum AuditLocation {
    /// A log directory.
    Dir(PathBuf),
    /// A log in a PostgreSQL database (the URL's `log=` parameter names it).
    Postgres(LogLocation),
}

impl core::fmt::Display for AuditLocation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Dir(p) => write!(f, "{}", p.display()),
            Self::Postgres(loc) => loc.fmt(f),
        }
    }
}

/// A front-end error as an audit error (code and exit category kept).
fn backend(e: &BackendError) -> AuditError {
    AuditError::Store(StoreError::Backend {
        code: e.code(),
        category: e.category(),
        message: e.to_string(),
        hint: e.hint(),
    })
}

impl AuditLocation {
    /// Parses `--log` and friends: a `postgres://` URL, or a directory path.
    ///
    /// # Errors
    /// An unsupported scheme, a Redis URL or a bad log name (exit 2).
    pub fn parse(text: &Path) -> Result<Self, AuditError> {
        let Some(s) = text.to_str() else {
            return Ok(Self::Dir(text.to_path_buf()));
        };
        match Location::parse(s).map_err(|e| backend(&e))? {
            Location::Path(p) => Ok(Self::Dir(p)),
            Location::Postgres(url) => Ok(Self::Postgres(
                LogLocation::parse(&url).map_err(|e| backend(&BackendError::Postgres(e)))?,
            )),
            Location::Redis(_) => Err(backend(&BackendError::WrongStore {
                scheme: "redis",
                purpose: Purpose::AuditLog,
            })),
        }
    }

    fn database(loc: &LogLocation) -> Result<Database, AuditError> {
        Database::open(&loc.url).map_err(|e| backend(&BackendError::Postgres(e)))
    }

    /// Creates the log (see [`AuditLog::init`] and [`trust_postgres::audit::init_log`]).
    ///
    /// # Errors
    /// As those; connection errors.
    pub fn init(&self, options: &InitOptions) -> Result<Verifier, AuditError> {
        match self {
            Self::Dir(dir) => AuditLog::init(dir, options),
            Self::Postgres(loc) => pg::init_log(&Self::database(loc)?, &loc.name, options),
        }
    }

    /// The external checkpoint key the log needs, if any.
    ///
    /// # Errors
    /// [`AuditError::NotALog`]; connection errors.
    pub fn signer_descriptor(&self) -> Result<Option<SignerDescriptor>, AuditError> {
        match self {
            Self::Dir(dir) => AuditLog::signer_descriptor(dir),
            Self::Postgres(loc) => pg::signer_descriptor(&Self::database(loc)?, &loc.name),
        }
    }

    /// Opens the log for writing, waiting at most `wait` for other writers, with `signer` when
    /// [`Self::signer_descriptor`] names one.
    ///
    /// # Errors
    /// As [`AuditLog::open_with_signer`]; connection errors.
    pub fn open(
        &self,
        signer: Option<Arc<dyn ExternalEd25519>>,
        wait: Duration,
    ) -> Result<AuditLog, AuditError> {
        match self {
            Self::Dir(dir) => AuditLog::open_with_signer_and_lock_wait(dir, signer, wait),
            Self::Postgres(loc) => pg::open_log(&Self::database(loc)?, &loc.name, signer, wait),
        }
    }

    /// Writes a key-free directory copy into `to` (see [`export_dir`]).
    ///
    /// # Errors
    /// As [`export_dir`]; connection errors.
    pub fn export(&self, to: &Path) -> Result<ExportSummary, AuditError> {
        match self {
            Self::Dir(dir) => export_dir(dir, to),
            Self::Postgres(loc) => pg::export_log(&Self::database(loc)?, &loc.name, to),
        }
    }

    /// Verifies the whole log (see [`verify_log`]); a database log through a key-free copy in a
    /// private temporary directory, removed afterwards.
    ///
    /// # Errors
    /// When the log cannot be read at all.
    pub fn verify(&self, opts: &VerifyOptions<'_>) -> Result<Report, OpenError> {
        match self {
            Self::Dir(dir) => verify_log(dir, opts),
            Self::Postgres(loc) => {
                let tmp = tempfile::Builder::new()
                    .prefix("trust-audit-verify-")
                    .tempdir()
                    .map_err(|source| AuditError::Io {
                        what: "create a temporary directory in",
                        path: std::env::temp_dir(),
                        source,
                    })?;
                let copy = tmp.path().join("log");
                pg::export_log(&Self::database(loc)?, &loc.name, &copy)?;
                let mut report = verify_log(&copy, opts)?;
                // Failures name segment files of the temporary copy; keep them meaningful.
                for f in report
                    .failure
                    .iter_mut()
                    .chain(report.more_failures.iter_mut())
                {
                    f.file = None;
                }
                Ok(report)
            }
        }
    }

    /// Streams matching entries (see [`search`]); `each` returns `false` to stop.
    ///
    /// # Errors
    /// As [`search`]; connection errors.
    pub fn search(
        &self,
        query: &Query,
        each: impl FnMut(Leaf) -> bool + Send,
    ) -> Result<u64, AuditError> {
        match self {
            Self::Dir(dir) => search(dir, query, each),
            Self::Postgres(loc) => pg::search_log(&Self::database(loc)?, &loc.name, query, each),
        }
    }

    /// The log's directory, when it is one (for files kept beside it, such as the pseudonym key).
    pub fn dir(&self) -> Option<&Path> {
        match self {
            Self::Dir(d) => Some(d),
            Self::Postgres(_) => None,
        }
    }
}
