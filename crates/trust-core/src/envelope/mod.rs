//! Envelope encryption: seal a record or a file under a keyring, open it again, rotate the key
//! that protects it without touching the ciphertext body.
//!
//! Every message gets its own random 256-bit *data key* (DEK). The DEK encrypts the body; the
//! keyring's current *key-encryption key* (KEK) wraps the DEK; the envelope carries the wrapped
//! DEK and the [`KeyRef`] naming the KEK, so opening asks the [`KeyProvider`] for exactly that
//! key version and never tries keys in turn. Rotating a keyring therefore never requires
//! re-reading plaintext: [`rewrap`] replaces only the wrapped DEK.
//!
//! ## The calls
//!
//! | you want to… | call |
//! |---|---|
//! | encrypt a blob or a file in memory | [`seal`] (or [`seal_with`] given an [`EncryptionKey`]) |
//! | decrypt it | [`open`] |
//! | seal or open large messages into a buffer you reuse, or in place | [`seal_into`], [`open_into`], [`seal_in_place`], [`open_in_place`] |
//! | store a secret in a database column | [`seal_token`] / [`open_token`] (`tle1.` + base64url) |
//! | encrypt or decrypt a large file in constant memory | [`Sealer`] (a `Write`) / [`Opener`] (a `Read`) |
//! | show what an envelope is sealed under, without keys | [`inspect`] / [`inspect_token`] |
//! | move a message to the keyring's current Primary | [`rewrap`], [`rewrap_with`], [`rewrap_token`], [`rewrap_stream`] |
//! | replace the DEK and the body (after a compromise, or to change suite) | [`reencrypt`] |
//! | keys for tests, benches and single-key apps | [`StaticKeys`] |
//! | seal and open many small records fast (a bounded reuse of data keys, format version 2) | [`DataKeyCache`] |
//!
//! ```
//! use trust_core::envelope::{self, Context, StaticKeys};
//! use trust_core::provider::Suite;
//! use trust_core::secret::Key256;
//!
//! let keys = StaticKeys::single("orders", Suite::Aes256Gcm, Key256::generate()?);
//! let ctx = Context::new().with("tenant", "acme")?.with("record", "order-1042")?;
//!
//! let sealed = envelope::seal(&keys, "orders", &ctx, b"shpat_0123456789")?;
//! assert_eq!(&envelope::open(&keys, &ctx, &sealed)?[..], b"shpat_0123456789");
//!
//! // The context must match: a ciphertext moved to another record does not open.
//! let other = Context::new().with("tenant", "acme")?.with("record", "order-9")?;
//! assert!(envelope::open(&keys, &other, &sealed).is_err());
//!
//! // Text tokens for database columns; the context is supplied again on open.
//! let token = envelope::seal_token(&keys, "orders", &ctx, b"odoo-api-key")?;
//! assert!(token.starts_with("tle1."));
//! assert_eq!(&envelope::open_token(&keys, &ctx, &token)?[..], b"odoo-api-key");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The cryptography, in one paragraph
//!
//! The body is [c2sp.org/chunked-encryption](https://c2sp.org/chunked-encryption):
//! HKDF-Expand-SHA-256 derives the message's AEAD key, base nonce and a 32-byte key commitment
//! from the DEK, a random 24-byte salt and the *binding* (the immutable header: version, suite,
//! flags and the context); the commitment is compared in constant time before any chunk is
//! decrypted; the body is cut into 16 KiB chunks, the last always short, so truncation and
//! extension fail authentication. The DEK is wrapped with AES-256-GCM under a single-use key
//! derived from the KEK and a random 192-bit nonce, and the wrap's associated data binds the
//! binding, the salt and the key reference, so a wrapped DEK cannot be moved to another message
//! and a key reference cannot be swapped. `docs/format-envelope.md` has the byte layout, the
//! versioning rules and test vectors; the test suite checks those vectors, the Wycheproof
//! chunked-encryption vectors, and both AES-GCM implementations (`ring`, RustCrypto) against
//! each other.
//!
//! ## For key stores and the layers above
//!
//! * Sealing asks [`KeyProvider::encryption_key`] once per message (one "use" of the Primary);
//!   opening asks [`KeyProvider::decryption_key`] once, with the envelope's [`KeyRef`]
//!   (subject included). Nothing else touches keys.
//! * Layers that choose the key themselves (GDPR subject keys) call [`seal_with`],
//!   [`seal_token_with`] or [`Sealer::with_key`] with an [`EncryptionKey`] whose `key_ref`
//!   names the subject; opening goes through their provider as usual.
//! * Batch rewrap: fetch the target once with `encryption_key` and call [`rewrap_with`] (or
//!   [`rewrap_token`] for tokens) per item; `changed == false` means "already current, skip".
//!
//! ## Failures
//!
//! [`EnvelopeError::Authentication`] is the one, opaque answer to every cryptographic failure.
//! [`EnvelopeError::KeyUnavailable`] means the provider would not give the key (disabled,
//! destroyed, unknown version, erased subject): the message may be intact. Header problems
//! (bad magic, unknown version or suite, a bound exceeded) are reported as such, because the
//! header is public. Plaintext is returned in [`Zeroizing`] buffers and never released before it
//! is authenticated; the streaming [`Opener`] releases whole authenticated chunks only.

mod body;
mod cache;
mod context;
mod error;
mod header;
mod rewrap;
mod schedule;
mod static_keys;
mod stream;
mod token;

#[cfg(test)]
mod tests;

use zeroize::Zeroizing;

pub use body::{CHUNK_LEN, TAG_LEN};
pub use cache::{CacheLimits, DataKeyCache};
pub use context::{
    Context, MAX_ENCODED_LEN as MAX_CONTEXT_LEN, MAX_KEY_LEN, MAX_PAIRS, MAX_VALUE_LEN,
};
pub use error::EnvelopeError;
pub use header::{MAX_HEADER_LEN, MAX_WRAPPED_KEYS, MAX_WRAPPED_LEN, VERSION, VERSION_CACHED};
pub use rewrap::{
    RewrapOutcome, Rewrapped, RewrappedToken, reencrypt, rewrap, rewrap_stream, rewrap_stream_with,
    rewrap_token, rewrap_token_with, rewrap_with,
};
pub use static_keys::StaticKeys;
pub use stream::{Opener, Sealer};
pub use token::{
    MAX_TOKEN_PLAINTEXT, TOKEN_PREFIX, TOKEN_PREFIX_CACHED, inspect_token, is_token, open_token,
    seal_token, seal_token_with,
};

use crate::provider::{EncryptionKey, KeyError, KeyProvider, KeyRef, Suite};
use crate::secret::fill_random;
use body::{BODY_PREFIX_LEN, Backend, ChunkCipher};
use header::Header;
use schedule::{DEK_LEN, SALT_LEN, WRAP_NONCE_LEN};

/// Seals `plaintext` under the Primary key of `keyring`, binding it to `context` (which is
/// stored in the envelope, readable by [`inspect`]).
///
/// # Errors
/// [`EnvelopeError::KeyUnavailable`] when the provider has no usable Primary;
/// [`EnvelopeError::Random`] when the OS cannot provide randomness.
pub fn seal<P: KeyProvider + ?Sized>(
    provider: &P,
    keyring: &str,
    context: &Context,
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let key = provider.encryption_key(keyring)?;
    seal_with(&key, context, plaintext)
}

/// Seals `plaintext` under an explicit key (for layers that choose the key themselves, such as
/// GDPR subject keys). The envelope records `key.key_ref`, subject included.
///
/// # Errors
/// As [`seal`].
pub fn seal_with(
    key: &EncryptionKey,
    context: &Context,
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    seal_inner(key, context, plaintext, false, Backend::default())
}

/// Opens an envelope made by [`seal`]/[`seal_with`] (or [`Sealer`]).
///
/// The context stored in the envelope must equal `context` ([`EnvelopeError::ContextMismatch`]
/// otherwise); the key is fetched from `provider` by the envelope's [`KeyRef`].
///
/// # Errors
/// [`EnvelopeError::Authentication`] for a wrong key or any modification;
/// [`EnvelopeError::KeyUnavailable`] when the provider refuses the key; header errors
/// ([`EnvelopeError::Malformed`], [`EnvelopeError::TooLarge`],
/// [`EnvelopeError::UnsupportedVersion`], [`EnvelopeError::UnknownSuite`]).
pub fn open<P: KeyProvider + ?Sized>(
    provider: &P,
    context: &Context,
    envelope: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    open_inner(provider, context, envelope, Backend::default())
}

/// What an envelope's header says, without any key: safe to print.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeaderInfo {
    /// Format version.
    pub version: u8,
    /// The AEAD suite of the body.
    pub suite: Suite,
    /// The key version (and subject) the data key is wrapped under.
    pub key_ref: KeyRef,
    /// The stored context; `None` when the context is detached (text tokens), in which case the
    /// caller must supply it to open.
    pub context: Option<Context>,
    /// Bytes of header (immutable part and wrap section) before the body.
    pub header_len: usize,
    /// Bytes of the wrapped data key.
    pub wrapped_key_len: usize,
}

impl HeaderInfo {
    fn from_header(header: &Header) -> Self {
        Self {
            version: header.version,
            suite: header.suite,
            key_ref: header.key_ref.clone(),
            context: header.context.clone(),
            header_len: header.len,
            wrapped_key_len: header.wrapped.len(),
        }
    }

    /// The plaintext length of an envelope of `envelope_len` bytes with this header, or `None`
    /// when no valid envelope has that length (it is truncated or extended).
    pub fn plaintext_len(&self, envelope_len: u64) -> Option<u64> {
        let chunks = envelope_len.checked_sub((self.header_len + BODY_PREFIX_LEN) as u64)?;
        body::plaintext_len(chunks)
    }
}

/// Reads an envelope's header: suite, key reference, context, sizes. Needs only the first
/// [`HeaderInfo::header_len`] bytes (at most [`MAX_HEADER_LEN`]); checks no key and no tag.
///
/// # Errors
/// The header errors of [`open`], and [`EnvelopeError::Malformed`] when `bytes` ends inside the
/// header.
pub fn inspect(bytes: &[u8]) -> Result<HeaderInfo, EnvelopeError> {
    let header = header::parse_complete(bytes)?;
    Ok(HeaderInfo::from_header(&header))
}

/// Everything a seal needs after the randomness is drawn: the header bytes written so far and
/// the chunk cipher for the body.
struct Begun {
    out: Vec<u8>,
    cipher: ChunkCipher,
}

/// Writes header, wrap section, salt and commitment; returns the body cipher.
fn begin(
    key: &EncryptionKey,
    context: &Context,
    detached: bool,
    backend: Backend,
    body_capacity: usize,
) -> Result<Begun, EnvelopeError> {
    // One draw of randomness per message: DEK, salt, wrap nonce.
    let mut random = Zeroizing::new([0u8; DEK_LEN + SALT_LEN + WRAP_NONCE_LEN]);
    fill_random(random.as_mut_slice())?;
    let mut dek = Zeroizing::new([0u8; DEK_LEN]);
    dek.copy_from_slice(&random[..DEK_LEN]);
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&random[DEK_LEN..DEK_LEN + SALT_LEN]);
    let mut wrap_nonce = [0u8; WRAP_NONCE_LEN];
    wrap_nonce.copy_from_slice(&random[DEK_LEN + SALT_LEN..]);
    begin_deterministic(
        key,
        context,
        detached,
        backend,
        &dek,
        &salt,
        &wrap_nonce,
        body_capacity,
    )
}

/// [`begin`] with caller-chosen randomness (the published test vectors fix it).
#[allow(clippy::too_many_arguments)]
fn begin_deterministic(
    key: &EncryptionKey,
    context: &Context,
    detached: bool,
    backend: Backend,
    dek: &[u8; DEK_LEN],
    salt: &[u8; SALT_LEN],
    wrap_nonce: &[u8; WRAP_NONCE_LEN],
    body_capacity: usize,
) -> Result<Begun, EnvelopeError> {
    let mut out = Vec::new();
    let cipher = begin_into(
        key,
        context,
        detached,
        backend,
        (dek, salt, wrap_nonce),
        body_capacity,
        &mut out,
    )?;
    Ok(Begun { out, cipher })
}

/// The message's random inputs: data key, salt, wrap nonce.
type Randomness<'a> = (
    &'a [u8; DEK_LEN],
    &'a [u8; SALT_LEN],
    &'a [u8; WRAP_NONCE_LEN],
);

/// Clears `out` (keeping its allocation), writes header, wrap section, salt and commitment
/// into it with room for `body_capacity` more bytes, and returns the body cipher.
fn begin_into(
    key: &EncryptionKey,
    context: &Context,
    detached: bool,
    backend: Backend,
    (dek, salt, wrap_nonce): Randomness<'_>,
    body_capacity: usize,
    out: &mut Vec<u8>,
) -> Result<ChunkCipher, EnvelopeError> {
    let entry = header::encode_key_ref_entry(&key.key_ref).map_err(|_| {
        EnvelopeError::KeyUnavailable(KeyError::Backend {
            reason: "the key provider returned an invalid key reference".into(),
        })
    })?;
    out.clear();
    out.reserve(
        16 + context.encoded_len()
            + entry.len()
            + schedule::WRAPPED_LEN
            + BODY_PREFIX_LEN
            + body_capacity,
    );
    header::encode_immutable(VERSION, key.suite, context, detached, out);
    let binding = header::binding(out, detached, context);
    let aad = schedule::wrap_aad(&binding, salt, &entry);
    let wrapped = schedule::wrap(&key.kek, wrap_nonce, dek, &aad, backend);
    header::encode_wrap_section(&entry, &wrapped, out);
    let keys = schedule::derive(key.suite, dek, salt, &binding);
    out.extend_from_slice(salt);
    out.extend_from_slice(&keys.commitment);
    Ok(ChunkCipher::new(key.suite, &keys, backend))
}

/// [`begin_into`] with fresh randomness.
fn begin_random_into(
    key: &EncryptionKey,
    context: &Context,
    backend: Backend,
    body_capacity: usize,
    out: &mut Vec<u8>,
) -> Result<ChunkCipher, EnvelopeError> {
    let mut random = Zeroizing::new([0u8; DEK_LEN + SALT_LEN + WRAP_NONCE_LEN]);
    fill_random(random.as_mut_slice())?;
    let mut dek = Zeroizing::new([0u8; DEK_LEN]);
    dek.copy_from_slice(&random[..DEK_LEN]);
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&random[DEK_LEN..DEK_LEN + SALT_LEN]);
    let mut wrap_nonce = [0u8; WRAP_NONCE_LEN];
    wrap_nonce.copy_from_slice(&random[DEK_LEN + SALT_LEN..]);
    begin_into(
        key,
        context,
        false,
        backend,
        (&dek, &salt, &wrap_nonce),
        body_capacity,
        out,
    )
}

/// Seals `plaintext` as [`seal`] does, writing the envelope into `out` (cleared first) instead
/// of a new vector: a caller that reuses `out` across messages pays no allocation and no page
/// faults for it. On error `out` is left empty.
///
/// # Errors
/// As [`seal`].
pub fn seal_into<P: KeyProvider + ?Sized>(
    provider: &P,
    keyring: &str,
    context: &Context,
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EnvelopeError> {
    out.clear();
    let key = provider.encryption_key(keyring)?;
    seal_with_into(&key, context, plaintext, out)
}

/// [`seal_into`] under an explicit key.
///
/// # Errors
/// As [`seal`].
pub fn seal_with_into(
    key: &EncryptionKey,
    context: &Context,
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EnvelopeError> {
    out.clear();
    check_len(plaintext.len())?;
    let sealed = body::sealed_len(plaintext.len());
    match begin_random_into(key, context, Backend::default(), sealed, out) {
        Ok(cipher) => {
            body::seal_chunks(&cipher, plaintext, out);
            Ok(())
        }
        Err(e) => {
            out.clear();
            Err(e)
        }
    }
}

/// Seals the plaintext held in `buf` in place: on success `buf` holds the envelope (the
/// plaintext is overwritten). The chunks are moved to their final offsets inside `buf` and
/// encrypted there, so a `buf` with enough capacity (plaintext length + [`MAX_HEADER_LEN`] +
/// 56 + 16 per 16 KiB) is never reallocated. On error `buf` is zeroized and left empty.
///
/// # Errors
/// As [`seal`].
pub fn seal_in_place<P: KeyProvider + ?Sized>(
    provider: &P,
    keyring: &str,
    context: &Context,
    buf: &mut Zeroizing<Vec<u8>>,
) -> Result<(), EnvelopeError> {
    let result = provider
        .encryption_key(keyring)
        .map_err(EnvelopeError::from)
        .and_then(|key| seal_in_place_with(&key, context, buf));
    if result.is_err() {
        zeroize::Zeroize::zeroize(&mut **buf);
    }
    result
}

fn seal_in_place_with(
    key: &EncryptionKey,
    context: &Context,
    buf: &mut Vec<u8>,
) -> Result<(), EnvelopeError> {
    let len = buf.len();
    check_len(len)?;
    // Build the header in a small buffer, then open a gap of its length plus one tag per
    // chunk, moving chunks from the last to the first so none is overwritten before it moved.
    let mut head = Vec::new();
    let cipher = begin_random_into(key, context, Backend::default(), 0, &mut head)?;
    let chunks = len / CHUNK_LEN + 1;
    let total = head.len() + body::sealed_len(len);
    buf.resize(total, 0);
    for i in (0..chunks).rev() {
        let start = i * CHUNK_LEN;
        let take = (len - start).min(CHUNK_LEN);
        let dest = head.len() + i * body::SEALED_CHUNK_LEN;
        buf.copy_within(start..start + take, dest);
    }
    buf[..head.len()].copy_from_slice(&head);
    for i in 0..chunks {
        let dest = head.len() + i * body::SEALED_CHUNK_LEN;
        let take = (len - i * CHUNK_LEN).min(CHUNK_LEN);
        let tag = cipher.seal(i as u64, &mut buf[dest..dest + take]);
        buf[dest + take..dest + take + TAG_LEN].copy_from_slice(&tag);
    }
    Ok(())
}

/// Opens an envelope as [`open`] does, writing the plaintext into `out` (cleared first,
/// allocation kept). Reusing one `out` across messages avoids an allocation, page faults and a
/// wipe per message; the buffer is wiped when the caller drops it (it is [`Zeroizing`]). On
/// error `out` is zeroized and left empty: no unauthenticated plaintext stays in it.
///
/// # Errors
/// As [`open`].
pub fn open_into<P: KeyProvider + ?Sized>(
    provider: &P,
    context: &Context,
    envelope: &[u8],
    out: &mut Zeroizing<Vec<u8>>,
) -> Result<(), EnvelopeError> {
    out.clear();
    let result = open_cipher(provider, context, envelope, Backend::default())
        .and_then(|(cipher, start)| body::open_chunks_into(&cipher, &envelope[start..], out));
    if result.is_err() {
        zeroize::Zeroize::zeroize(&mut **out);
    }
    result
}

/// Opens the envelope held in `buf` in place: on success `buf` holds the plaintext (each
/// chunk is decrypted and moved down over the header and tags, so nothing is allocated for
/// the body). On error `buf` is zeroized and left empty.
///
/// # Errors
/// As [`open`].
pub fn open_in_place<P: KeyProvider + ?Sized>(
    provider: &P,
    context: &Context,
    buf: &mut Zeroizing<Vec<u8>>,
) -> Result<(), EnvelopeError> {
    let result = open_cipher(provider, context, buf, Backend::default())
        .and_then(|(cipher, start)| body::open_chunks_in_place(&cipher, buf, start));
    if result.is_err() {
        zeroize::Zeroize::zeroize(&mut **buf);
    }
    result
}

/// Parses, unwraps and checks the commitment; the body cipher and the offset of chunk 0.
fn open_cipher<P: KeyProvider + ?Sized>(
    provider: &P,
    context: &Context,
    envelope: &[u8],
    backend: Backend,
) -> Result<(ChunkCipher, usize), EnvelopeError> {
    let header = header::parse_complete(envelope)?;
    let start = header.len + BODY_PREFIX_LEN;
    let (immutable, rest) = (&envelope[..header.immutable_len], &envelope[header.len..]);
    let u = unwrap_dek(provider, context, header, immutable, rest, backend)?;
    let keys = schedule::derive_checked_for(
        u.header.version,
        u.header.suite,
        &u.dek,
        &u.salt,
        &u.binding,
        &rest[SALT_LEN..BODY_PREFIX_LEN],
    )?;
    Ok((ChunkCipher::new(u.header.suite, &keys, backend), start))
}

fn check_len(len: usize) -> Result<(), EnvelopeError> {
    if (len / CHUNK_LEN) as u64 >= body::MAX_CHUNKS {
        return Err(EnvelopeError::MessageTooLong {
            limit: body::MAX_CHUNKS * CHUNK_LEN as u64,
        });
    }
    Ok(())
}

fn seal_inner(
    key: &EncryptionKey,
    context: &Context,
    plaintext: &[u8],
    detached: bool,
    backend: Backend,
) -> Result<Vec<u8>, EnvelopeError> {
    check_len(plaintext.len())?;
    let Begun { mut out, cipher } = begin(
        key,
        context,
        detached,
        backend,
        body::sealed_len(plaintext.len()),
    )?;
    body::seal_chunks(&cipher, plaintext, &mut out);
    Ok(out)
}

/// The unwrapped state of a parsed envelope: what open, rewrap and the streaming opener share.
struct Unwrapped {
    header: Header,
    binding: Vec<u8>,
    salt: [u8; SALT_LEN],
    dek: Zeroizing<[u8; DEK_LEN]>,
}

/// Checks the context against the header, fetches the KEK and unwraps the DEK.
/// `body_prefix` is the salt and commitment (at least [`BODY_PREFIX_LEN`] bytes).
fn unwrap_dek<P: KeyProvider + ?Sized>(
    provider: &P,
    context: &Context,
    header: Header,
    immutable: &[u8],
    body_prefix: &[u8],
    backend: Backend,
) -> Result<Unwrapped, EnvelopeError> {
    if let Some(stored) = &header.context
        && stored != context
    {
        return Err(EnvelopeError::ContextMismatch);
    }
    if body_prefix.len() < BODY_PREFIX_LEN {
        return Err(EnvelopeError::Authentication);
    }
    let kek = provider.decryption_key(&header.key_ref)?;
    let binding = header::binding(immutable, header.detached, context);
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&body_prefix[..SALT_LEN]);
    let aad = schedule::wrap_aad_for(
        header.version,
        header.suite,
        &binding,
        &salt,
        &header.key_ref_entry,
    );
    let dek = schedule::unwrap(&kek, &header.wrapped, &aad, backend)?;
    Ok(Unwrapped {
        header,
        binding,
        salt,
        dek,
    })
}

fn open_inner<P: KeyProvider + ?Sized>(
    provider: &P,
    context: &Context,
    envelope: &[u8],
    backend: Backend,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let header = header::parse_complete(envelope)?;
    open_parsed(provider, context, header, envelope, backend)
}

/// [`open_inner`] after the header was parsed from the start of `envelope`.
fn open_parsed<P: KeyProvider + ?Sized>(
    provider: &P,
    context: &Context,
    header: Header,
    envelope: &[u8],
    backend: Backend,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let (immutable, rest) = (&envelope[..header.immutable_len], &envelope[header.len..]);
    let u = unwrap_dek(provider, context, header, immutable, rest, backend)?;
    let commitment = &rest[SALT_LEN..BODY_PREFIX_LEN];
    let keys = schedule::derive_checked_for(
        u.header.version,
        u.header.suite,
        &u.dek,
        &u.salt,
        &u.binding,
        commitment,
    )?;
    let cipher = ChunkCipher::new(u.header.suite, &keys, backend);
    body::open_chunks(&cipher, &rest[BODY_PREFIX_LEN..])
}
