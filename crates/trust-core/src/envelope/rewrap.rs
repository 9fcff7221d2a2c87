//! Rewrap (new wrapped data key, same body) and re-encrypt (new data key, new body).
//!
//! Rotation moves messages from an old key version to the keyring's current Primary. Rewrap
//! does it without decrypting the body: it unwraps the data key under the old KEK, checks it
//! against the body's key commitment (so garbage is never re-blessed under the new key), and
//! wraps it under the new KEK. The immutable header and the body stay byte-identical; only the
//! wrap section changes. A message already under the Primary is reported unchanged and not
//! touched, so a batch rewrap can be re-run after a crash and only finishes the rest.
//!
//! Rewrap keeps the suite and the data key. After a suspected exposure of a data key, or to
//! move to another suite, use [`reencrypt`], which opens and seals again.

use std::io::{self, Read, Write};

use super::body::{BODY_PREFIX_LEN, Backend};
use super::context::Context;
use super::error::EnvelopeError;
use super::header::{self, Header, MAX_HEADER_LEN, Parse};
use super::schedule::{self, SALT_LEN, WRAP_NONCE_LEN};
use super::stream::read_full;
use super::token;
use super::{open, seal, unwrap_dek};
use crate::provider::{EncryptionKey, KeyProvider, KeyRef};
use crate::secret::random_array;

/// The result of rewrapping one binary envelope.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Rewrapped {
    /// The envelope to store: the new one when `changed`, else a copy of the input.
    pub envelope: Vec<u8>,
    /// False when the envelope was already under the target key (nothing to write back).
    pub changed: bool,
    /// The key the envelope was under.
    pub from: KeyRef,
    /// The key it is under now.
    pub to: KeyRef,
}

/// The result of rewrapping one text token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RewrappedToken {
    /// The token to store: the new one when `changed`, else the input.
    pub token: String,
    /// False when the token was already under the target key.
    pub changed: bool,
    /// The key the token was under.
    pub from: KeyRef,
    /// The key it is under now.
    pub to: KeyRef,
}

/// The result of [`rewrap_stream`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RewrapOutcome {
    /// False when the input was already under the target key; then nothing was written.
    pub changed: bool,
    /// The key the envelope was under.
    pub from: KeyRef,
    /// The key it is under now.
    pub to: KeyRef,
}

/// Rewraps a binary envelope (stored context) under the current Primary of its own keyring.
///
/// Asks `provider.encryption_key` once (which counts one use of the Primary). For many
/// envelopes, fetch the key once and call [`rewrap_with`].
///
/// # Errors
/// [`EnvelopeError::InvalidContext`] for a detached-context envelope (use [`rewrap_with`] or
/// [`rewrap_token`] with its context); otherwise as [`rewrap_with`].
pub fn rewrap<P: KeyProvider + ?Sized>(
    provider: &P,
    envelope: &[u8],
) -> Result<Rewrapped, EnvelopeError> {
    let parsed = header::parse_complete(envelope)?;
    let target = provider.encryption_key(&parsed.key_ref.keyring)?;
    rewrap_parsed(provider, &target, None, parsed, envelope)
}

/// Rewraps an envelope under `target`. `context` is required for detached-context envelopes
/// and, when given for a stored-context envelope, must match it.
///
/// # Errors
/// [`EnvelopeError::SubjectMismatch`] when `target` names another subject (or none) than the
/// envelope; [`EnvelopeError::KeyUnavailable`] when the old key cannot be had;
/// [`EnvelopeError::Authentication`] when the data key does not unwrap or does not match the
/// body's commitment; header errors as [`super::open`].
pub fn rewrap_with<P: KeyProvider + ?Sized>(
    provider: &P,
    target: &EncryptionKey,
    context: Option<&Context>,
    envelope: &[u8],
) -> Result<Rewrapped, EnvelopeError> {
    let parsed = header::parse_complete(envelope)?;
    rewrap_parsed(provider, target, context, parsed, envelope)
}

fn rewrap_parsed<P: KeyProvider + ?Sized>(
    provider: &P,
    target: &EncryptionKey,
    context: Option<&Context>,
    parsed: Header,
    envelope: &[u8],
) -> Result<Rewrapped, EnvelopeError> {
    let from = parsed.key_ref.clone();
    let body = &envelope[parsed.len..];
    let new_section = new_wrap_section(provider, target, context, parsed, envelope, body)?;
    let Some((immutable_len, section)) = new_section else {
        return Ok(Rewrapped {
            envelope: envelope.to_vec(),
            changed: false,
            to: from.clone(),
            from,
        });
    };
    let mut out = Vec::with_capacity(immutable_len + section.len() + body.len());
    out.extend_from_slice(&envelope[..immutable_len]);
    out.extend_from_slice(&section);
    out.extend_from_slice(body);
    Ok(Rewrapped {
        envelope: out,
        changed: true,
        from,
        to: target.key_ref.clone(),
    })
}

/// The new wrap section for `parsed`, or `None` when it is already under `target`.
/// `head` starts with the header's bytes; `body` starts with the salt and commitment.
fn new_wrap_section<P: KeyProvider + ?Sized>(
    provider: &P,
    target: &EncryptionKey,
    context: Option<&Context>,
    parsed: Header,
    head: &[u8],
    body: &[u8],
) -> Result<Option<(usize, Vec<u8>)>, EnvelopeError> {
    if target.key_ref.subject != parsed.key_ref.subject {
        return Err(EnvelopeError::SubjectMismatch);
    }
    if target.key_ref == parsed.key_ref {
        return Ok(None);
    }
    let context = match (context, &parsed.context) {
        (Some(given), _) => given.clone(),
        (None, Some(stored)) => stored.clone(),
        (None, None) => {
            return Err(EnvelopeError::InvalidContext {
                reason: "a detached-context envelope needs its context to be rewrapped",
            });
        }
    };
    let immutable_len = parsed.immutable_len;
    let suite = parsed.suite;
    let version = parsed.version;
    let u = unwrap_dek(
        provider,
        &context,
        parsed,
        &head[..immutable_len],
        body,
        Backend::default(),
    )?;
    // The data key must belong to this body: check it against the commitment.
    schedule::derive_checked_for(
        version,
        suite,
        &u.dek,
        &u.salt,
        &u.binding,
        &body[SALT_LEN..BODY_PREFIX_LEN],
    )?;
    let entry = header::encode_key_ref_entry(&target.key_ref)?;
    let aad = schedule::wrap_aad_for(version, suite, &u.binding, &u.salt, &entry);
    let nonce: [u8; WRAP_NONCE_LEN] = random_array()?;
    let wrapped = schedule::wrap(&target.kek, &nonce, &u.dek, &aad, Backend::default());
    let mut section = Vec::with_capacity(4 + entry.len() + wrapped.len());
    header::encode_wrap_section(&entry, &wrapped, &mut section);
    Ok(Some((immutable_len, section)))
}

/// Rewraps a text token under the current Primary of its keyring; `context` is the one it was
/// sealed with (tokens do not store it).
///
/// # Errors
/// As [`rewrap_with`], and the token errors of [`super::open_token`].
pub fn rewrap_token<P: KeyProvider + ?Sized>(
    provider: &P,
    context: &Context,
    token: &str,
) -> Result<RewrappedToken, EnvelopeError> {
    rewrap_token_with(
        provider,
        |from| Ok(provider.encryption_key(&from.keyring)?),
        context,
        token,
    )
}

/// As [`rewrap_token`], with the target key chosen by `target` from the key the token is under
/// (see [`rewrap_stream_with`]).
///
/// # Errors
/// As [`rewrap_token`], and whatever `target` returns.
pub fn rewrap_token_with<P: KeyProvider + ?Sized>(
    provider: &P,
    target: impl FnOnce(&KeyRef) -> Result<EncryptionKey, EnvelopeError>,
    context: &Context,
    token: &str,
) -> Result<RewrappedToken, EnvelopeError> {
    let envelope = token::decode(token)?;
    let parsed = header::parse_complete(&envelope)?;
    let target = target(&parsed.key_ref)?;
    let r = rewrap_parsed(provider, &target, Some(context), parsed, &envelope)?;
    Ok(RewrappedToken {
        token: if r.changed {
            token::encode(&r.envelope)
        } else {
            token.to_owned()
        },
        changed: r.changed,
        from: r.from,
        to: r.to,
    })
}

/// Rewraps a binary envelope read from `reader` into `writer` under the current Primary of its
/// keyring, copying the body through without decrypting it (constant memory). When the
/// envelope is already current, nothing is written and `changed` is false — the caller can then
/// leave the original file alone.
///
/// The body is copied, not verified: rewrap checks the data key against the key commitment, but
/// a body damaged in storage stays damaged (and fails on open, as before).
///
/// # Errors
/// As [`rewrap`], and [`EnvelopeError::Io`] for reading or writing.
pub fn rewrap_stream<P: KeyProvider + ?Sized, R: Read, W: Write>(
    provider: &P,
    reader: R,
    writer: W,
) -> Result<RewrapOutcome, EnvelopeError> {
    rewrap_stream_with(
        provider,
        |from| Ok(provider.encryption_key(&from.keyring)?),
        reader,
        writer,
    )
}

/// As [`rewrap_stream`], with the target key chosen by `target` once the header is read (it
/// is given the key the envelope is under). Subject-sealed envelopes use this to move to the
/// subject's key under the keyring's current Primary.
///
/// # Errors
/// As [`rewrap_stream`], and whatever `target` returns.
pub fn rewrap_stream_with<P: KeyProvider + ?Sized, R: Read, W: Write>(
    provider: &P,
    target: impl FnOnce(&KeyRef) -> Result<EncryptionKey, EnvelopeError>,
    mut reader: R,
    mut writer: W,
) -> Result<RewrapOutcome, EnvelopeError> {
    let mut head = Vec::new();
    let parsed = loop {
        match header::parse(&head)? {
            Parse::Done(parsed) => break parsed,
            Parse::Need(total) if total <= MAX_HEADER_LEN => {
                let have = head.len();
                head.resize(total, 0);
                if read_full(&mut reader, &mut head[have..]).map_err(EnvelopeError::Io)?
                    < total - have
                {
                    return Err(EnvelopeError::Malformed {
                        what: "input ends inside the header",
                    });
                }
            }
            Parse::Need(_) => {
                return Err(EnvelopeError::TooLarge {
                    what: "header",
                    limit: MAX_HEADER_LEN,
                });
            }
        }
    };
    let mut prefix = [0u8; BODY_PREFIX_LEN];
    let got = read_full(&mut reader, &mut prefix).map_err(EnvelopeError::Io)?;
    let from = parsed.key_ref.clone();
    let target = target(&from)?;
    let immutable_len = parsed.immutable_len;
    let Some((_, section)) =
        new_wrap_section(provider, &target, None, parsed, &head, &prefix[..got])?
    else {
        return Ok(RewrapOutcome {
            changed: false,
            to: from.clone(),
            from,
        });
    };
    let io = EnvelopeError::Io;
    writer.write_all(&head[..immutable_len]).map_err(io)?;
    writer.write_all(&section).map_err(io)?;
    writer.write_all(&prefix).map_err(io)?;
    io::copy(&mut reader, &mut writer).map_err(io)?;
    writer.flush().map_err(io)?;
    Ok(RewrapOutcome {
        changed: true,
        from,
        to: target.key_ref,
    })
}

/// Opens a binary envelope and seals its plaintext again under the current Primary of
/// `keyring`: new data key, new salt, new body, the keyring's current suite, same context.
///
/// # Errors
/// As [`super::open`] and [`super::seal`].
pub fn reencrypt<P: KeyProvider + ?Sized>(
    provider: &P,
    keyring: &str,
    context: &Context,
    envelope: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let plaintext = open(provider, context, envelope)?;
    seal(provider, keyring, context, &plaintext)
}
