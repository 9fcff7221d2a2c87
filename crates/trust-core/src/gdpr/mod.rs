//! GDPR primitives: crypto-shredding, subject export, request deadlines, retention, breach clock.
//!
//! Connector apps promise "deletion on request", "export your data at any time", "configuration
//! data deleted within 30 days of account closure" and breach notification "within 72 hours".
//! Each promise is one small, clock-injected, audited primitive here:
//!
//! | promise | module | legal anchor |
//! |---|---|---|
//! | erasure is one call, and says honestly what it did | [`SubjectKeys`] + [`ErasureReceipt`] | Art. 17, ICO "beyond use" |
//! | the subject gets a machine-readable copy | [`ExportWriter`], [`verify_bundle`] | Art. 15, Art. 20 |
//! | every request is answered within a month | [`RequestLog`] | Art. 12(3), Reg. 1182/71 |
//! | data is not kept longer than the policy says | [`RetentionPolicy`] | Art. 5(1)(e) |
//! | the authority hears of a breach within 72 hours | [`BreachRecord`] | Art. 33 |
//! | receipts and exports are attributable | [`Signer`] | — |
//!
//! Pseudonyms of subjects come from [`crate::pseudonym`]; nothing in this module writes a raw
//! subject identifier to disk, to an event or to a receipt.
//!
//! ## What these primitives do not do
//!
//! They do not decide whether a request is valid (identity checks, legal holds, exemptions):
//! that is the controller's judgement. They do not delete rows in the app's database: erasure
//! destroys the key the rows were sealed with, which makes them unreadable everywhere at once,
//! including in append-only logs — but a backup that still holds the *wrapped subject key* and the
//! tenant key that wraps it can bring the data back until that backup expires. Receipts say so.
//!
//! Times are [`jiff::Timestamp`]s (UTC instants). Every deadline is computed in UTC, so a
//! daylight-saving change in any time zone cannot move it.

pub(crate) mod breach;
pub(crate) mod export;
pub(crate) mod receipt;
pub(crate) mod register;
pub(crate) mod request;
pub(crate) mod retention;
pub(crate) mod signing;
pub(crate) mod subject;

pub use breach::{BreachRecord, CONTROLLER_DEADLINE_SECS, Notification, Role};
pub use export::{ExportWriter, Manifest, Part, verify_bundle, write_bundle};
pub use receipt::{CAVEAT, Destroyed, ErasureReceipt, ReceiptBody};
pub use register::{Change, DirRegister, RequestRegister};
pub use request::{
    Extension, MAX_REASON_LEN, MAX_REQUESTS, MAX_SHOPIFY_BODY, Regime, Request, RequestKind,
    RequestLog, RequestStatus, ShopifyCompliance, ShopifyTopic, end_of_day_utc,
};
pub use retention::{Action, Due, RetentionItem, RetentionPolicy, RetentionRule};
pub use signing::Signer;
pub use subject::{
    DEFAULT_CACHE_TTL, EraseOptions, LocalStore, MemoryStore, RecordState, SubjectKeyRecord,
    SubjectKeyStore, SubjectKeys, subject_tag,
};

use core::fmt;
use std::time::SystemTime;

use jiff::Timestamp;

use crate::error::{Category, RandomError, TrustError};
use crate::event::EventError;
use crate::provider::KeyError;

/// Converts a clock reading to a timestamp (saturating at jiff's range, far beyond any clock).
pub fn timestamp(t: SystemTime) -> Timestamp {
    Timestamp::try_from(t).unwrap_or(if t < SystemTime::UNIX_EPOCH {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Parses an RFC 3339 timestamp such as `2026-01-31T09:00:00Z`.
///
/// # Errors
/// [`GdprError::BadTime`] when `s` is not one.
pub fn parse_time(s: &str) -> Result<Timestamp, GdprError> {
    s.parse::<Timestamp>().map_err(|_| GdprError::BadTime)
}

/// Why a GDPR operation failed. Messages never contain personal data or key material.
#[non_exhaustive]
#[derive(Debug)]
pub enum GdprError {
    /// A timestamp or date did not parse, or arithmetic left the representable range.
    BadTime,
    /// No request with that id.
    UnknownRequest,
    /// A request with that id already exists.
    DuplicateRequest,
    /// The status transition is not allowed (e.g. completing a completed request).
    InvalidTransition {
        /// The current status.
        from: &'static str,
        /// The requested status.
        to: &'static str,
    },
    /// An extension longer than the regime allows, without a reason, or after the first period.
    BadExtension(&'static str),
    /// A name (category, request id, keyring) is empty, too long or has forbidden characters.
    BadName(&'static str),
    /// A document (bundle, receipt, policy, webhook payload) is malformed.
    Malformed(&'static str),
    /// A document exceeds a hard size bound.
    TooLarge(&'static str),
    /// A signature did not verify (or the signer is not the expected one).
    BadSignature,
    /// A manifest count or checksum does not match the bundle's contents.
    ManifestMismatch,
    /// The key needed is unavailable (including [`KeyError::SubjectErased`]).
    Key(KeyError),
    /// The audit event could not be recorded; the state change itself was made.
    Event(EventError),
    /// The operating system's randomness failed.
    Random,
    /// Sealing or opening a record failed (authentication, context, key availability).
    Envelope(crate::envelope::EnvelopeError),
    /// Local storage failed.
    Io(std::io::Error),
    /// A shared store (a database) failed; the reason names the server without password.
    Store(String),
    /// A shared store could not be reached or dropped the connection; nothing was applied.
    StoreUnavailable(String),
    /// The device holding the signing key (an HSM) refused or failed; carries its own code
    /// (`PKCS11_WRONG_PIN`…) and exit code. Nothing was signed.
    Signer(crate::root::BackendError),
}

impl fmt::Display for GdprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadTime => {
                f.write_str("invalid time (expected RFC 3339, e.g. 2026-01-31T09:00:00Z)")
            }
            Self::UnknownRequest => f.write_str("no such request"),
            Self::DuplicateRequest => f.write_str("a request with that id already exists"),
            Self::InvalidTransition { from, to } => {
                write!(f, "a request cannot go from {from} to {to}")
            }
            Self::BadExtension(why) => write!(f, "invalid extension: {why}"),
            Self::BadName(what) => write!(f, "invalid {what}"),
            Self::Malformed(what) => write!(f, "malformed {what}"),
            Self::TooLarge(what) => write!(f, "{what} exceeds its size limit"),
            Self::BadSignature => f.write_str("signature verification failed"),
            Self::ManifestMismatch => {
                f.write_str("the manifest does not match the bundle's contents")
            }
            Self::Key(e) => e.fmt(f),
            Self::Event(e) => e.fmt(f),
            Self::Random => f.write_str("the operating system's random number generator failed"),
            Self::Envelope(e) => e.fmt(f),
            Self::Io(e) => write!(f, "storage failed: {}", e.kind()),
            Self::Store(reason) => write!(f, "the store failed: {reason}"),
            Self::StoreUnavailable(reason) => write!(f, "the store is unavailable: {reason}"),
            Self::Signer(e) => write!(f, "the signing key's device failed: {}", e.message()),
        }
    }
}

impl std::error::Error for GdprError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Key(e) => Some(e),
            Self::Event(e) => Some(e),
            Self::Envelope(e) => Some(e),
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl TrustError for GdprError {
    fn category(&self) -> Category {
        match self {
            Self::BadTime
            | Self::UnknownRequest
            | Self::DuplicateRequest
            | Self::InvalidTransition { .. }
            | Self::BadExtension(_)
            | Self::BadName(_) => Category::Usage,
            Self::Malformed(_)
            | Self::TooLarge(_)
            | Self::BadSignature
            | Self::ManifestMismatch => Category::Verification,
            Self::Key(e) => e.category(),
            Self::Event(e) => e.category(),
            Self::Envelope(e) => e.category(),
            Self::Random => Category::Internal,
            Self::Io(_) | Self::Store(_) => Category::Internal,
            Self::StoreUnavailable(_) => Category::Input,
            Self::Signer(e) => e.category(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadTime => "BAD_TIME",
            Self::UnknownRequest => "UNKNOWN_REQUEST",
            Self::DuplicateRequest => "DUPLICATE_REQUEST",
            Self::InvalidTransition { .. } => "INVALID_TRANSITION",
            Self::BadExtension(_) => "BAD_EXTENSION",
            Self::BadName(_) => "BAD_NAME",
            Self::Malformed(_) => "MALFORMED",
            Self::TooLarge(_) => "TOO_LARGE",
            Self::BadSignature => "BAD_SIGNATURE",
            Self::ManifestMismatch => "MANIFEST_MISMATCH",
            Self::Key(e) => e.code(),
            Self::Event(e) => e.code(),
            Self::Envelope(e) => e.code(),
            Self::Random => "RANDOM_FAILED",
            Self::Io(_) | Self::Store(_) => "STORAGE_FAILED",
            Self::StoreUnavailable(_) => "STORE_UNAVAILABLE",
            Self::Signer(e) => e.code(),
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Key(e) => e.hint(),
            Self::Event(e) => e.hint(),
            Self::Envelope(e) => e.hint(),
            Self::BadExtension(_) => {
                Some("extend by 1 or 2 months, with a reason, before the first deadline")
            }
            Self::BadSignature => {
                Some("the document was altered or signed by another key; do not rely on it")
            }
            Self::Signer(e) => e.hint(),
            _ => None,
        }
    }
}

impl From<KeyError> for GdprError {
    fn from(e: KeyError) -> Self {
        Self::Key(e)
    }
}

impl From<EventError> for GdprError {
    fn from(e: EventError) -> Self {
        Self::Event(e)
    }
}

impl From<crate::envelope::EnvelopeError> for GdprError {
    fn from(e: crate::envelope::EnvelopeError) -> Self {
        match e {
            // Keep "subject erased" and other key refusals typed as key errors.
            crate::envelope::EnvelopeError::KeyUnavailable(k) => Self::Key(k),
            other => Self::Envelope(other),
        }
    }
}

impl From<RandomError> for GdprError {
    fn from(_: RandomError) -> Self {
        Self::Random
    }
}

impl From<std::io::Error> for GdprError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// True for a category, request id or similar label: 1–64 bytes of `[A-Za-z0-9._:/-]`.
pub(crate) fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b))
}
