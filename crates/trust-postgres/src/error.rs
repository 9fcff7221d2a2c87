//! What can go wrong talking to PostgreSQL, in the terms a caller acts on.

use core::fmt;

use trust_core::error::{Category, TrustError};

/// A PostgreSQL store operation failed.
///
/// Every message is one line, built from the redacted URL and scrubbed server text: it never
/// contains the password (see [`trust_core::store_url`]).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The URL or a connection option is invalid (exit 2).
    Config {
        /// What is wrong.
        message: String,
    },
    /// The server could not be reached, refused the login or the TLS handshake (exit 3).
    Unreachable {
        /// The redacted URL.
        target: String,
        /// Why, scrubbed.
        reason: String,
    },
    /// The connection dropped before the operation committed: nothing was applied (exit 3).
    /// The next call reconnects.
    ConnectionLost {
        /// The redacted URL.
        target: String,
    },
    /// The connection dropped while the commit was in flight: the change was applied entirely
    /// or not at all, and which cannot be known from here (exit 3). Read the state back before
    /// repeating a non-idempotent operation.
    OutcomeUnknown {
        /// The redacted URL.
        target: String,
    },
    /// The database schema was written by a newer release than this binary (exit 2). Nothing
    /// was changed; upgrade the binary.
    SchemaTooNew {
        /// The schema component (`home`, `audit`, …).
        component: String,
        /// The version found in the database.
        found: i32,
        /// The newest version this binary knows (0 when it does not know the component).
        supported: i32,
    },
    /// Stored bytes failed their integrity check or do not parse (exit 1): a row was edited or
    /// moved by hand. Nothing was changed.
    Corrupt {
        /// Which row, e.g. `keyring orders`.
        what: String,
        /// Why.
        reason: String,
    },
    /// The server answered with an error this crate does not expect (exit 70).
    Server {
        /// The SQLSTATE code, when the server sent one.
        sqlstate: Option<String>,
        /// The scrubbed message.
        message: String,
    },
    /// Every pooled connection stayed busy for the whole wait (exit 3).
    PoolTimeout {
        /// The redacted URL.
        target: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config { message } => write!(f, "PostgreSQL configuration: {message}"),
            Self::Unreachable { target, reason } => {
                write!(f, "cannot reach PostgreSQL at {target}: {reason}")
            }
            Self::ConnectionLost { target } => write!(
                f,
                "the connection to PostgreSQL at {target} was lost before the change committed; \
                 nothing was applied"
            ),
            Self::OutcomeUnknown { target } => write!(
                f,
                "the connection to PostgreSQL at {target} was lost during commit; the change was \
                 applied entirely or not at all"
            ),
            Self::SchemaTooNew {
                component,
                found,
                supported,
            } => write!(
                f,
                "the database schema `{component}` is at version {found}, newer than this \
                 binary's {supported}; nothing was changed"
            ),
            Self::Corrupt { what, reason } => {
                write!(f, "stored {what} failed its integrity check: {reason}")
            }
            Self::Server { sqlstate, message } => match sqlstate {
                Some(code) => write!(f, "PostgreSQL error {code}: {message}"),
                None => write!(f, "PostgreSQL error: {message}"),
            },
            Self::PoolTimeout { target } => write!(
                f,
                "every connection to PostgreSQL at {target} stayed busy; try again or raise the \
                 pool size"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl TrustError for Error {
    fn category(&self) -> Category {
        match self {
            Self::Config { .. } | Self::SchemaTooNew { .. } => Category::Usage,
            Self::Unreachable { .. }
            | Self::ConnectionLost { .. }
            | Self::OutcomeUnknown { .. }
            | Self::PoolTimeout { .. } => Category::Input,
            Self::Corrupt { .. } => Category::Verification,
            Self::Server { .. } => Category::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Config { .. } => "STORE_CONFIG",
            Self::Unreachable { .. } => "STORE_UNREACHABLE",
            Self::ConnectionLost { .. } => "STORE_CONNECTION_LOST",
            Self::OutcomeUnknown { .. } => "STORE_OUTCOME_UNKNOWN",
            Self::SchemaTooNew { .. } => "STORE_SCHEMA_TOO_NEW",
            Self::Corrupt { .. } => "STORE_CORRUPT",
            Self::Server { .. } => "STORE_SERVER_ERROR",
            Self::PoolTimeout { .. } => "STORE_BUSY",
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Unreachable { .. } => {
                Some("check that the server is up and the URL, credentials and sslmode are right")
            }
            Self::ConnectionLost { .. } => Some("run the command again; it reconnects"),
            Self::OutcomeUnknown { .. } => {
                Some("read the state back (e.g. `trust keys list`) before repeating the command")
            }
            Self::SchemaTooNew { .. } => {
                Some("upgrade trust to the release that migrated the schema")
            }
            Self::Corrupt { .. } => Some("restore the row from a backup; it is never overwritten"),
            _ => None,
        }
    }
}

/// SQLSTATEs that mean "this connection is gone" rather than "this statement failed".
fn is_connection_failure(err: &postgres::Error) -> bool {
    if err.is_closed() {
        return true;
    }
    match err.code() {
        // Class 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now.
        Some(code) => {
            let code = code.code();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        }
        // No SQLSTATE and not a server error: an I/O failure on the socket.
        None => err.as_db_error().is_none(),
    }
}

/// Serialization failures and deadlocks: the transaction may simply be run again.
pub(crate) fn is_retryable(err: &postgres::Error) -> bool {
    matches!(
        err.code().map(postgres::error::SqlState::code),
        Some("40001" | "40P01")
    )
}

/// How a `postgres::Error` inside a transaction is reported; `target` and `scrub` come from the
/// store's URL.
pub(crate) enum Classified {
    Lost,
    Retry,
    Other(Error),
}

pub(crate) fn classify(err: &postgres::Error, scrub: impl Fn(&str) -> String) -> Classified {
    if is_connection_failure(err) {
        Classified::Lost
    } else if is_retryable(err) {
        Classified::Retry
    } else {
        let message = match err.as_db_error() {
            Some(db) => db.message().to_owned(),
            None => err.to_string(),
        };
        Classified::Other(Error::Server {
            sqlstate: err.code().map(|c| c.code().to_owned()),
            message: scrub(&message),
        })
    }
}
