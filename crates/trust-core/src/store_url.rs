//! Where a store lives: a local path or a server URL, told apart once and shown without secrets.
//!
//! Operators pass stores as one string (`--store`, `--log`, `TRUST_STORE`): a directory such as
//! `./home`, or a URL such as `postgres://app:s3cret@db.internal/trust?sslmode=verify-full`.
//! [`StoreLocation::parse`] decides which, by one rule: a string whose first `/` is the `//` of a
//! `scheme://` prefix is a URL, everything else is a path. So `postgres://db/x` is never created
//! as a relative directory named `postgres:`, and an unknown scheme is refused instead of being
//! taken for a path.
//!
//! A URL's password (in the user-info or a `password=` query parameter) is a secret: the raw text
//! is kept in a [`SecretString`], and [`StoreUrl`]'s `Display` and `Debug` show
//! `postgres://app:[REDACTED:url-auth]@db.internal/trust?sslmode=verify-full`. Error messages
//! that a server or client library builds can echo parts of the URL; [`StoreUrl::scrub`] runs
//! them through a [`Redactor`] that knows this URL's password as a literal.

use core::fmt;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::error::{Category, TrustError};
use crate::redact::{MIN_LITERAL_LEN, Redactor};

/// Longest store string accepted (a URL with TLS parameters fits easily).
pub const MAX_LEN: usize = 4096;

/// The server kinds a URL may name.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `redis://` or `rediss://` (TLS).
    Redis,
}

impl Scheme {
    /// The canonical scheme name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Redis => "redis",
        }
    }
}

/// A parsed store string.
#[derive(Debug, Clone)]
pub enum StoreLocation {
    /// A local directory (or file) path.
    Path(PathBuf),
    /// A server URL.
    Url(StoreUrl),
}

impl StoreLocation {
    /// Parses a store string (see the module docs for the rule).
    ///
    /// # Errors
    /// [`StoreUrlError`] for an empty or over-long string, a URL with an unsupported scheme or
    /// without a host part.
    pub fn parse(text: &str) -> Result<Self, StoreUrlError> {
        if text.is_empty() {
            return Err(StoreUrlError::Empty);
        }
        if text.len() > MAX_LEN {
            return Err(StoreUrlError::TooLong { len: text.len() });
        }
        match url_scheme(text) {
            None => Ok(Self::Path(PathBuf::from(text))),
            Some(scheme) => StoreUrl::parse_with_scheme(text, scheme).map(Self::Url),
        }
    }
}

/// The `scheme` of `scheme://…` when the string is URL-shaped: an RFC 3986 scheme, then `://`,
/// before any other `/`.
fn url_scheme(text: &str) -> Option<&str> {
    let at = text.find("://")?;
    let scheme = &text[..at];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    if !first.is_ascii_alphabetic()
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return None;
    }
    Some(scheme)
}

/// `text` with the value of every `password=` query parameter replaced.
fn mask_query_password(text: &str) -> String {
    let Some((base, query)) = text.split_once('?') else {
        return text.to_owned();
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                format!("{key}=[REDACTED:url-auth]")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", masked.join("&"))
}

/// A server URL whose password never prints.
#[derive(Clone)]
pub struct StoreUrl {
    scheme: Scheme,
    raw: SecretString,
    shown: String,
    redactor: Redactor,
}

impl StoreUrl {
    /// Parses a URL (`postgres://`, `postgresql://`, `redis://`, `rediss://`).
    ///
    /// # Errors
    /// As [`StoreLocation::parse`]; a plain path is [`StoreUrlError::NotAUrl`].
    pub fn parse(text: &str) -> Result<Self, StoreUrlError> {
        match StoreLocation::parse(text)? {
            StoreLocation::Url(url) => Ok(url),
            StoreLocation::Path(_) => Err(StoreUrlError::NotAUrl),
        }
    }

    fn parse_with_scheme(text: &str, scheme: &str) -> Result<Self, StoreUrlError> {
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Scheme::Postgres,
            "redis" | "rediss" => Scheme::Redis,
            _ => {
                return Err(StoreUrlError::UnsupportedScheme {
                    scheme: scheme.chars().take(32).collect(),
                });
            }
        };
        let rest = &text[scheme.len() + 3..];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        let mut builder = Redactor::builder();
        // The passwords, wiped when parsing is done (the redactor keeps its own copy to match).
        let mut secrets: Vec<Zeroizing<String>> = Vec::new();
        if let Some(at) = authority.rfind('@') {
            if let Some((_, password)) = authority[..at].split_once(':') {
                secrets.push(Zeroizing::new(password.to_owned()));
            }
        }
        let query = rest[authority_end..]
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or(""));
        for pair in query.unwrap_or("").split('&') {
            if let Some((key, value)) = pair.split_once('=') {
                if key.eq_ignore_ascii_case("password") {
                    secrets.push(Zeroizing::new(value.to_owned()));
                }
            }
        }
        for secret in &secrets {
            // A password shorter than the redactor's minimum cannot be scrubbed out of free text
            // without mangling it; the URL forms below still hide it.
            if secret.len() >= MIN_LITERAL_LEN {
                builder = builder
                    .literal(secret)
                    .map_err(|_| StoreUrlError::TooLong { len: text.len() })?;
            }
        }
        let redactor = builder
            .build()
            .map_err(|_| StoreUrlError::TooLong { len: text.len() })?;
        let shown = redactor.redact(&mask_query_password(text)).into_owned();
        Ok(Self {
            scheme: kind,
            raw: SecretString::from(text.to_owned()),
            shown,
            redactor,
        })
    }

    /// The server kind.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The full URL, password included: only for handing to the client library.
    pub fn expose_secret(&self) -> &str {
        self.raw.expose_secret()
    }

    /// The URL with its credentials replaced, safe for output and logs (also what `Display`
    /// prints).
    pub fn redacted(&self) -> &str {
        &self.shown
    }

    /// `text` (typically an error message from a client library) with this URL's password and
    /// every other known credential format removed.
    pub fn scrub(&self, text: &str) -> String {
        self.redactor.redact(text).into_owned()
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StoreUrl").field(&self.shown).finish()
    }
}

/// A store string was refused.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUrlError {
    /// The string is empty.
    Empty,
    /// The string is longer than [`MAX_LEN`].
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// `scheme://` names no store this build supports.
    UnsupportedScheme {
        /// The scheme as written (at most 32 characters).
        scheme: String,
    },
    /// A URL was required and a path was given.
    NotAUrl,
}

impl fmt::Display for StoreUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the store location is empty"),
            Self::TooLong { len } => {
                write!(
                    f,
                    "the store location is {len} bytes long (limit {MAX_LEN})"
                )
            }
            Self::UnsupportedScheme { scheme } => write!(
                f,
                "unsupported store URL scheme `{scheme}://` (supported: postgres://, \
                 postgresql://, redis://, rediss://, or a directory path)"
            ),
            Self::NotAUrl => f.write_str("a server URL is required here, not a path"),
        }
    }
}

impl std::error::Error for StoreUrlError {}

impl TrustError for StoreUrlError {
    fn category(&self) -> Category {
        Category::Usage
    }
    fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedScheme { .. } => "STORE_URL_UNSUPPORTED",
            Self::Empty | Self::TooLong { .. } | Self::NotAUrl => "STORE_URL_INVALID",
        }
    }
    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::UnsupportedScheme { .. } => {
                Some("to use a directory whose name contains `://`, write it as ./NAME")
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> StoreUrl {
        match StoreLocation::parse(text) {
            Ok(StoreLocation::Url(url)) => url,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn urls_are_never_paths() {
        for text in [
            "postgres://db/trust",
            "postgresql://u:p@db:5432/trust?sslmode=verify-full",
            "POSTGRES://db/x",
            "redis://127.0.0.1:6379/",
            "rediss://cache/0",
        ] {
            url(text);
        }
        assert_eq!(url("postgresql://db/x").scheme(), Scheme::Postgres);
        assert_eq!(url("rediss://db/x").scheme(), Scheme::Redis);
    }

    #[test]
    fn paths_stay_paths() {
        for text in [
            "home",
            "./home",
            "/var/lib/trust",
            "dir/with://inside",
            "C:\\trust",
            "a:b",
        ] {
            match StoreLocation::parse(text) {
                Ok(StoreLocation::Path(p)) => assert_eq!(p, PathBuf::from(text)),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn unsupported_schemes_are_refused_not_taken_for_paths() {
        for text in ["mysql://db/x", "http://x", "file:///tmp/x", "s3://bucket"] {
            let err = StoreLocation::parse(text).unwrap_err();
            assert!(
                matches!(err, StoreUrlError::UnsupportedScheme { .. }),
                "{text}"
            );
            assert_eq!(err.category().exit_code(), 2);
            assert_eq!(err.code(), "STORE_URL_UNSUPPORTED");
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn empty_and_over_long_are_refused() {
        assert_eq!(StoreLocation::parse("").unwrap_err(), StoreUrlError::Empty);
        let long = format!("postgres://db/{}", "x".repeat(MAX_LEN));
        assert!(matches!(
            StoreLocation::parse(&long).unwrap_err(),
            StoreUrlError::TooLong { .. }
        ));
        assert_eq!(
            StoreUrl::parse("./home").unwrap_err(),
            StoreUrlError::NotAUrl
        );
    }

    #[test]
    fn passwords_never_print() {
        let u = url("postgres://app:Sup3r-s3cret@db.internal:5432/trust?sslmode=require");
        for shown in [u.to_string(), format!("{u:?}"), u.redacted().to_owned()] {
            assert!(!shown.contains("Sup3r-s3cret"), "{shown}");
            assert!(
                shown.contains("db.internal:5432/trust?sslmode=require"),
                "{shown}"
            );
        }
        assert!(u.expose_secret().contains("Sup3r-s3cret"));
        let scrubbed = u.scrub("auth failed for Sup3r-s3cret at db.internal");
        assert!(!scrubbed.contains("Sup3r-s3cret"), "{scrubbed}");

        let q = url("postgresql://db/trust?user=app&password=hunter2hunter2");
        assert!(!q.to_string().contains("hunter2hunter2"), "{q}");
        let r = url("redis://:r3dis-pass@cache:6379/0");
        assert!(!r.to_string().contains("r3dis-pass"), "{r}");
        // Too short to scrub from free text, still hidden in the URL itself.
        let s = url("postgres://u:pw@db/t?password=xy");
        assert!(!s.to_string().contains(":pw@"), "{s}");
        assert!(!s.to_string().contains("=xy"), "{s}");
    }
}
