//! Error categories shared by every module.
//!
//! Each module has its own hand-written `#[non_exhaustive]` error enum (the style of rustls and
//! age): the variants name what went wrong in that module's terms. What they share is this
//! module's [`Category`], reported through [`TrustError`], which is all a front end needs to
//! choose an exit code (the CLI) or a status family (the C ABI), and a stable machine-readable
//! [`TrustError::code`] for JSON output.
//!
//! The categories mirror the CLI exit codes of the design brief:
//!
//! | category | exit code | meaning |
//! |---|---|---|
//! | [`Category::Verification`] | 1 | a signature, MAC, tag, commitment, chain or proof check failed, or authenticated bytes do not parse |
//! | [`Category::Usage`] | 2 | the caller's request or configuration is wrong |
//! | [`Category::Input`] | 3 | an input is missing or cannot be read |
//! | [`Category::KeyUnavailable`] | 4 | the key needed is unknown, disabled, destroyed, or its subject was erased |
//! | [`Category::Refused`] | 5 | refused: not confirmed or not permitted (a destructive operation without confirmation, access denied, rate limited) |
//! | [`Category::Internal`] | 70 | a bug or an environment failure (randomness, a poisoned lock) |

use core::fmt;

/// The family an error belongs to; decides the CLI exit code and the C ABI status family.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// Authenticity could not be established: bad signature, MAC or tag, failed key commitment,
    /// a tampered, truncated or forked log, or authenticated data that does not parse.
    Verification,
    /// The request or configuration is invalid (bad argument, unsupported option).
    Usage,
    /// An input is missing or unreadable (file not found, permission denied, I/O error).
    Input,
    /// The key needed is not available: unknown, disabled, destroyed, or its subject erased.
    KeyUnavailable,
    /// Refused: not confirmed or not permitted — a destructive or unsafe operation without
    /// confirmation, an access-control denial, a rate limit.
    Refused,
    /// A bug or an environment failure.
    Internal,
}

impl Category {
    /// The CLI exit code for this category (docs/operator-guide.md, exit codes); stable across releases.
    pub const fn exit_code(self) -> u8 {
        match self {
            Self::Verification => 1,
            Self::Usage => 2,
            Self::Input => 3,
            Self::KeyUnavailable => 4,
            Self::Refused => 5,
            Self::Internal => 70,
        }
    }

    /// A stable upper-case name for machine-readable output.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Verification => "VERIFICATION_FAILED",
            Self::Usage => "USAGE",
            Self::Input => "INPUT_UNREADABLE",
            Self::KeyUnavailable => "KEY_UNAVAILABLE",
            Self::Refused => "REFUSED",
            Self::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Implemented by every error type in this crate.
///
/// `Display` of an implementor is one line saying what happened, safe to show to an operator: it
/// never contains key material, tokens, plaintext or personal data.
pub trait TrustError: std::error::Error + Send + Sync + 'static {
    /// The family of this error.
    fn category(&self) -> Category;

    /// A stable, upper-case, machine-readable code such as `AUTHENTICATION_FAILED` or
    /// `KEY_DISABLED`. Codes are part of the public contract: they are never renamed.
    fn code(&self) -> &'static str;

    /// One line telling the operator what to do next, when there is something useful to say.
    fn hint(&self) -> Option<&'static str> {
        None
    }
}

/// Failure of the operating system's random number generator.
///
/// Every module draws randomness through [`crate::secret::fill_random`]; a failure there is an
/// environment fault, never something the caller can fix by retrying with other arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RandomError;

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operating system's random number generator failed")
    }
}

impl std::error::Error for RandomError {}

impl TrustError for RandomError {
    fn category(&self) -> Category {
        Category::Internal
    }
    fn code(&self) -> &'static str {
        "RANDOM_FAILED"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_match_the_design_contract() {
        let table = [
            (Category::Verification, 1),
            (Category::Usage, 2),
            (Category::Input, 3),
            (Category::KeyUnavailable, 4),
            (Category::Refused, 5),
            (Category::Internal, 70),
        ];
        for (category, code) in table {
            assert_eq!(category.exit_code(), code, "{category}");
        }
    }
}
