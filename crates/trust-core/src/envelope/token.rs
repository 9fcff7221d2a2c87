//! The text token: an envelope for a database column.
//!
//! ```text
//! token = "tle1." ‖ base64url-without-padding(envelope with a detached context)
//! token = "tle2." ‖ …                          (version 2: sealed with a cached data key)
//! ```
//! The digit is the envelope's format version; a token whose prefix and envelope disagree is
//! refused.
//! The token is the binary envelope with flag bit 0 set: the context is *not* stored (the row
//! already knows its tenant and record id) but it is still bound, so the caller supplies it
//! again to open, and a token copied to another row fails authentication. Decoding accepts only
//! the canonical encoding — no padding, no line breaks, no non-zero trailing bits — so each
//! envelope has exactly one token spelling.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

use super::body::{self, BODY_PREFIX_LEN, Backend};
use super::context::Context;
use super::error::EnvelopeError;
use super::header::{self, MAX_HEADER_LEN};
use super::{HeaderInfo, open_inner, seal_inner};
use crate::provider::{EncryptionKey, KeyProvider};

/// Every version-1 token starts with this prefix.
pub const TOKEN_PREFIX: &str = "tle1.";
/// Every version-2 token (sealed with a [`super::DataKeyCache`]) starts with this prefix.
pub const TOKEN_PREFIX_CACHED: &str = "tle2.";
/// Largest plaintext a token may carry (tokens are for column values, not files).
pub const MAX_TOKEN_PLAINTEXT: usize = 1 << 20;

/// Canonical base64url: no padding on output, padding refused on input, trailing bits refused.
const CANONICAL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Longest token accepted before decoding.
const MAX_TOKEN_LEN: usize = TOKEN_PREFIX.len()
    + (MAX_HEADER_LEN + BODY_PREFIX_LEN + MAX_TOKEN_PLAINTEXT + 64 * body::TAG_LEN) * 4 / 3
    + 4;

/// Seals `plaintext` as a text token under the Primary key of `keyring`.
///
/// # Errors
/// As [`super::seal`], and [`EnvelopeError::MessageTooLong`] past [`MAX_TOKEN_PLAINTEXT`].
pub fn seal_token<P: KeyProvider + ?Sized>(
    provider: &P,
    keyring: &str,
    context: &Context,
    plaintext: &[u8],
) -> Result<String, EnvelopeError> {
    check_plaintext(plaintext)?;
    let key = provider.encryption_key(keyring)?;
    seal_token_with(&key, context, plaintext)
}

/// Seals `plaintext` as a text token under an explicit key.
///
/// # Errors
/// As [`seal_token`].
pub fn seal_token_with(
    key: &EncryptionKey,
    context: &Context,
    plaintext: &[u8],
) -> Result<String, EnvelopeError> {
    check_plaintext(plaintext)?;
    let envelope = seal_inner(key, context, plaintext, true, Backend::default())?;
    Ok(encode(&envelope))
}

/// Opens a text token; `context` must be the one it was sealed with.
///
/// # Errors
/// [`EnvelopeError::BadToken`] for a missing prefix or non-canonical base64url; otherwise as
/// [`super::open`] (a wrong context is [`EnvelopeError::Authentication`], since the token does
/// not store it).
pub fn open_token<P: KeyProvider + ?Sized>(
    provider: &P,
    context: &Context,
    token: &str,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let envelope = decode(token)?;
    open_inner(provider, context, &envelope, Backend::default())
}

/// Whether `bytes` starts like a text token of either version (`tle1.` or `tle2.`): how a
/// reader tells a token from a binary envelope, which starts with `TLE`.
pub fn is_token(bytes: &[u8]) -> bool {
    bytes.starts_with(TOKEN_PREFIX.as_bytes()) || bytes.starts_with(TOKEN_PREFIX_CACHED.as_bytes())
}

/// Reads a token's header (suite, key reference; its context is detached so `None`).
///
/// # Errors
/// As [`open_token`] for the encoding, and the header errors of [`super::inspect`].
pub fn inspect_token(token: &str) -> Result<HeaderInfo, EnvelopeError> {
    let envelope = decode(token)?;
    let header = header::parse_complete(&envelope)?;
    Ok(HeaderInfo::from_header(&header))
}

pub(crate) fn check_plaintext(plaintext: &[u8]) -> Result<(), EnvelopeError> {
    if plaintext.len() > MAX_TOKEN_PLAINTEXT {
        return Err(EnvelopeError::MessageTooLong {
            limit: MAX_TOKEN_PLAINTEXT as u64,
        });
    }
    Ok(())
}

/// `tle1.` (or `tle2.` for a version-2 envelope) + canonical base64url of a detached-context
/// envelope.
pub(crate) fn encode(envelope: &[u8]) -> String {
    let prefix = if envelope.get(3) == Some(&header::VERSION_CACHED) {
        TOKEN_PREFIX_CACHED
    } else {
        TOKEN_PREFIX
    };
    let mut token = String::with_capacity(prefix.len() + envelope.len().div_ceil(3) * 4);
    token.push_str(prefix);
    CANONICAL.encode_string(envelope, &mut token);
    token
}

/// Decodes a token to its envelope bytes; checks prefix, size, canonical encoding, and that
/// the envelope's context is detached.
pub(crate) fn decode(token: &str) -> Result<Vec<u8>, EnvelopeError> {
    let (version, encoded) = if let Some(rest) = token.strip_prefix(TOKEN_PREFIX) {
        (header::VERSION, rest)
    } else if let Some(rest) = token.strip_prefix(TOKEN_PREFIX_CACHED) {
        (header::VERSION_CACHED, rest)
    } else {
        return Err(EnvelopeError::BadToken {
            reason: "missing tle1. or tle2. prefix",
        });
    };
    if token.len() > MAX_TOKEN_LEN {
        return Err(EnvelopeError::TooLarge {
            what: "token",
            limit: MAX_TOKEN_LEN,
        });
    }
    let envelope = CANONICAL
        .decode(encoded)
        .map_err(|_| EnvelopeError::BadToken {
            reason: "not canonical unpadded base64url",
        })?;
    if envelope.len() > 3 && envelope.starts_with(header::MAGIC) && envelope[3] != version {
        return Err(EnvelopeError::BadToken {
            reason: "token prefix does not match the envelope version",
        });
    }
    // A token always carries a detached context; a stored-context envelope in a token is not
    // something this library writes.
    if envelope.len() > 6
        && envelope.starts_with(header::MAGIC)
        && envelope[6] & header::FLAG_DETACHED == 0
    {
        return Err(EnvelopeError::BadToken {
            reason: "token envelopes must have a detached context",
        });
    }
    Ok(envelope)
}
