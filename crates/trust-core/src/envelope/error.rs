//! What can go wrong when sealing, opening or rewrapping an envelope.

use core::fmt;
use std::io;

use crate::error::{Category, RandomError, TrustError};
use crate::provider::KeyError;

/// An envelope operation failed.
///
/// The variants are deliberately coarse where detail would help an attacker: every failure of a
/// cryptographic check (wrong key-encryption key, wrong detached context, a flipped bit anywhere,
/// a truncated, extended or reordered body, a failed key commitment) is the single opaque
/// [`EnvelopeError::Authentication`]. Failures that only concern public, unauthenticated framing
/// (the header layout, its bounds, an unknown version or suite) say which rule was broken, since
/// the header is readable by anyone anyway. A key that exists but may not be used is
/// [`EnvelopeError::KeyUnavailable`], never an authentication failure.
#[derive(Debug)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The ciphertext is not authentic under the key and context given: wrong key, wrong
    /// context, tampered, truncated, extended or reordered. Deliberately says nothing more.
    Authentication,
    /// The header does not follow the format (bad magic, reserved bits set, a field out of
    /// range, the input ends inside the header). `what` names the rule, never secret data.
    Malformed {
        /// The rule that was broken.
        what: &'static str,
    },
    /// A header field or the context exceeds a hard bound of this implementation.
    TooLarge {
        /// Which field.
        what: &'static str,
        /// The bound, in bytes (or items for counts).
        limit: usize,
    },
    /// The envelope was written by a newer format version this library does not read.
    UnsupportedVersion {
        /// The version byte found.
        version: u8,
    },
    /// The envelope names a suite this library does not implement.
    UnknownSuite {
        /// The suite id found.
        id: u16,
    },
    /// The context stored in the envelope differs from the one the caller expects.
    ContextMismatch,
    /// A context built by the caller breaks the context rules (key syntax, sizes, duplicates).
    InvalidContext {
        /// The rule that was broken.
        reason: &'static str,
    },
    /// A text token is not `tle1.` followed by canonical unpadded base64url.
    BadToken {
        /// The rule that was broken.
        reason: &'static str,
    },
    /// The key provider refused or could not provide the key: unknown, disabled, destroyed,
    /// erased subject, usage ceiling. The message itself may be perfectly intact.
    KeyUnavailable(KeyError),
    /// Rewrapping would move a message to another data subject's key (or off one); that is a
    /// re-encryption decision, not a rotation, so it is refused.
    SubjectMismatch,
    /// The plaintext exceeds what the format allows (2^38 chunks, or the token size bound).
    MessageTooLong {
        /// The bound that was exceeded, in bytes.
        limit: u64,
    },
    /// The operating system's random number generator failed.
    Random(RandomError),
    /// Reading or writing the underlying stream failed.
    Io(io::Error),
}

impl EnvelopeError {
    /// Recovers the envelope error carried by an [`io::Error`] returned from
    /// [`Opener`](super::Opener)'s or [`Sealer`](super::Sealer)'s `Read`/`Write` methods; other
    /// I/O errors become [`EnvelopeError::Io`].
    pub fn from_io(error: io::Error) -> Self {
        if error.get_ref().is_some_and(|inner| inner.is::<Self>()) {
            if let Some(inner) = error.into_inner()
                && let Ok(envelope) = inner.downcast::<Self>()
            {
                return *envelope;
            }
            return Self::Io(io::Error::other("envelope stream failed"));
        }
        Self::Io(error)
    }

    /// Wraps this error into an [`io::Error`] (kind `InvalidData`, or the original kind for
    /// [`EnvelopeError::Io`]) for `Read`/`Write` implementations.
    pub(crate) fn into_io(self) -> io::Error {
        match self {
            Self::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Authentication => f.write_str(
                "the ciphertext could not be authenticated (wrong key or context, or it was modified or truncated)",
            ),
            Self::Malformed { what } => write!(f, "malformed envelope: {what}"),
            Self::TooLarge { what, limit } => {
                write!(f, "envelope {what} exceeds the limit of {limit}")
            }
            Self::UnsupportedVersion { version } => {
                write!(f, "envelope format version {version} is not supported")
            }
            Self::UnknownSuite { id } => write!(f, "envelope suite 0x{id:04x} is not supported"),
            Self::ContextMismatch => {
                f.write_str("the envelope's context differs from the expected context")
            }
            Self::InvalidContext { reason } => write!(f, "invalid context: {reason}"),
            Self::BadToken { reason } => write!(f, "malformed token: {reason}"),
            Self::KeyUnavailable(e) => write!(f, "key unavailable: {e}"),
            Self::SubjectMismatch => f.write_str(
                "rewrap would change the data subject the message is sealed for; re-encrypt instead",
            ),
            Self::MessageTooLong { limit } => {
                write!(f, "the plaintext exceeds the format limit of {limit} bytes")
            }
            Self::Random(e) => e.fmt(f),
            Self::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for EnvelopeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::KeyUnavailable(e) => Some(e),
            Self::Random(e) => Some(e),
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl TrustError for EnvelopeError {
    fn category(&self) -> Category {
        match self {
            Self::Authentication
            | Self::Malformed { .. }
            | Self::TooLarge { .. }
            | Self::UnsupportedVersion { .. }
            | Self::UnknownSuite { .. }
            | Self::ContextMismatch
            | Self::BadToken { .. } => Category::Verification,
            Self::InvalidContext { .. } | Self::SubjectMismatch | Self::MessageTooLong { .. } => {
                Category::Usage
            }
            // The key store's own classification: KeyUnavailable for state refusals, Internal
            // for a failing backend.
            Self::KeyUnavailable(e) => e.category(),
            Self::Random(_) => Category::Internal,
            Self::Io(_) => Category::Input,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Authentication => "AUTHENTICATION_FAILED",
            Self::Malformed { .. } => "MALFORMED_ENVELOPE",
            Self::TooLarge { .. } => "ENVELOPE_TOO_LARGE",
            Self::UnsupportedVersion { .. } => "UNSUPPORTED_ENVELOPE_VERSION",
            Self::UnknownSuite { .. } => "UNKNOWN_ENVELOPE_SUITE",
            Self::ContextMismatch => "CONTEXT_MISMATCH",
            Self::InvalidContext { .. } => "INVALID_CONTEXT",
            Self::BadToken { .. } => "MALFORMED_TOKEN",
            Self::KeyUnavailable(e) => e.code(),
            Self::SubjectMismatch => "SUBJECT_MISMATCH",
            Self::MessageTooLong { .. } => "MESSAGE_TOO_LONG",
            Self::Random(e) => e.code(),
            Self::Io(_) => "IO_ERROR",
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Authentication => Some(
                "check the --context pairs and that the file is complete; otherwise treat it as tampered",
            ),
            Self::UnsupportedVersion { .. } | Self::UnknownSuite { .. } => {
                Some("open it with a newer version of trust")
            }
            Self::ContextMismatch => Some("`trust inspect` shows the context the envelope carries"),
            Self::KeyUnavailable(e) => e.hint(),
            _ => None,
        }
    }
}

impl From<KeyError> for EnvelopeError {
    fn from(e: KeyError) -> Self {
        Self::KeyUnavailable(e)
    }
}

impl From<RandomError> for EnvelopeError {
    fn from(e: RandomError) -> Self {
        Self::Random(e)
    }
}
