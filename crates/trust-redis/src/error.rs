//! Errors from opening a Redis deployment.
//!
//! Calls on an open store report through trust-core's own error types (the trait methods'
//! signatures); these are the errors of [`Redis::open`](crate::Redis::open).

use core::fmt;

use trust_core::error::{Category, TrustError};

/// Opening a Redis deployment failed. Messages never contain the URL (it may hold a password).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisError {
    /// The URL is not a `redis://` or `rediss://` URL the client understands.
    InvalidUrl,
    /// The server did not answer (refused, timed out, TLS or authentication failed).
    Unreachable,
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidUrl => "not a valid redis:// or rediss:// URL",
            Self::Unreachable => "the Redis server is unreachable",
        })
    }
}

impl std::error::Error for RedisError {}

impl TrustError for RedisError {
    fn category(&self) -> Category {
        match self {
            Self::InvalidUrl => Category::Usage,
            Self::Unreachable => Category::Input,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::InvalidUrl => "REDIS_INVALID_URL",
            Self::Unreachable => "REDIS_UNREACHABLE",
        }
    }
}
