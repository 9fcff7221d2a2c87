//! The envelope header: an immutable part bound into the key schedule, and a wrap section
//! holding the wrapped data key and the reference of the key that wrapped it.
//!
//! ```text
//! immutable header
//!   magic      3  "TLE"
//!   version    1  0x01
//!   suite      2  u16 BE (0x0001 AES-256-GCM, 0x0002 XChaCha20-Poly1305)
//!   flags      1  bit 0: context detached (not stored); bits 1-7 must be zero
//!   ctx_len    2  u16 BE, ≤ 4096; 0 when detached
//!   ctx        ctx_len  canonical context (see `context`)
//! wrap section
//!   count      1  number of wrapped keys; exactly 1 in version 1
//!   alg        1  0x01: XChaCha20-Poly1305 under a local KEK
//!   kr_len     1  1..=64
//!   keyring    kr_len  keyring name ([a-z0-9._-])
//!   kv         4  u32 BE key version, ≥ 1
//!   subj_len   1  0..=64 (0: no subject)
//!   subject    subj_len  data-subject pseudonym
//!   w_len      2  u16 BE, 72 for alg 0x01 (parse bound 1024)
//!   wrapped    w_len  nonce(24) ‖ encrypted DEK(32) ‖ tag(16)
//! ```
//!
//! The parser is incremental ([`parse`] says how many bytes it needs next) so a stream can be
//! read with no more than [`MAX_HEADER_LEN`] bytes buffered, and every length is checked
//! against its bound before anything is allocated or read.

use super::context::{Context, MAX_ENCODED_LEN};
use super::error::EnvelopeError;
use super::schedule::WRAPPED_LEN;
use crate::provider::{KeyRef, Suite};

/// The four bytes every version-1 envelope starts with.
pub(crate) const MAGIC: &[u8; 3] = b"TLE";
/// The format version [`super::seal`] writes (one fresh data key per message).
pub const VERSION: u8 = 1;
/// The format version of messages sealed with a cached data key ([`super::DataKeyCache`]):
/// the same layout as version 1, a wrap that is not bound to one message, and a one-HMAC key
/// schedule. Readers open both.
pub const VERSION_CACHED: u8 = 2;
/// Flag bit: the context is not stored, the caller supplies it (text tokens).
pub(crate) const FLAG_DETACHED: u8 = 0x01;
/// Wrap algorithm 1: XChaCha20-Poly1305 under a local key-encryption key.
pub(crate) const WRAP_ALG_LOCAL: u8 = 0x01;
/// Largest wrapped-key field the parser accepts before rejecting (version 1 needs 72).
pub const MAX_WRAPPED_LEN: usize = 1024;
/// Most wrapped keys in one envelope (version 1: exactly one).
pub const MAX_WRAPPED_KEYS: usize = 1;
/// The wrapped-key length field of version 1 (72, big-endian).
const WRAPPED_LEN_BE: [u8; 2] = [0, 72];
const _: () = assert!(WRAPPED_LEN == 72);
/// Fixed part of the immutable header.
pub(crate) const FIXED_LEN: usize = 9;
/// Largest header (immutable part and wrap section) the parser accepts.
pub const MAX_HEADER_LEN: usize = FIXED_LEN
    + MAX_ENCODED_LEN
    + 3
    + KeyRef::MAX_NAME_LEN
    + 5
    + KeyRef::MAX_NAME_LEN
    + 2
    + MAX_WRAPPED_LEN;

/// A parsed header.
#[derive(Clone, Debug)]
pub(crate) struct Header {
    /// [`VERSION`] or [`VERSION_CACHED`].
    pub(crate) version: u8,
    pub(crate) suite: Suite,
    pub(crate) detached: bool,
    /// The stored context (None when detached).
    pub(crate) context: Option<Context>,
    /// Length of the immutable part.
    pub(crate) immutable_len: usize,
    pub(crate) key_ref: KeyRef,
    /// The key-reference entry bytes (alg through subject), authenticated by the wrap AAD.
    pub(crate) key_ref_entry: Vec<u8>,
    pub(crate) wrapped: [u8; WRAPPED_LEN],
    /// Length of the immutable part plus the wrap section.
    pub(crate) len: usize,
}

/// Outcome of an incremental parse attempt.
#[derive(Debug)]
// Short-lived return value; boxing the header would cost an allocation per parse.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Parse {
    /// The header is complete.
    Done(Header),
    /// At least this many bytes (in total, from the start) are needed to go on.
    Need(usize),
}

/// Encodes the immutable header.
pub(crate) fn encode_immutable(
    version: u8,
    suite: Suite,
    context: &Context,
    detached: bool,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(MAGIC);
    out.push(version);
    out.extend_from_slice(&suite.id().to_be_bytes());
    if detached {
        out.push(FLAG_DETACHED);
        out.extend_from_slice(&[0, 0]);
    } else {
        out.push(0);
        // Context::encoded_len() ≤ MAX_ENCODED_LEN < u16::MAX.
        let len = u16::try_from(context.encoded_len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        context.encode_into(out);
    }
}

/// The bytes the key schedule and the wrap AAD bind: the immutable header, plus the caller's
/// context when it is detached.
pub(crate) fn binding(immutable: &[u8], detached: bool, context: &Context) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(immutable.len() + if detached { context.encoded_len() } else { 0 });
    out.extend_from_slice(immutable);
    if detached {
        context.encode_into(&mut out);
    }
    out
}

/// Encodes a key-reference entry (alg through subject). Names were validated by the caller.
pub(crate) fn encode_key_ref_entry(key_ref: &KeyRef) -> Result<Vec<u8>, EnvelopeError> {
    if !KeyRef::is_valid_name(&key_ref.keyring) || key_ref.version == 0 {
        return Err(EnvelopeError::Malformed {
            what: "key reference",
        });
    }
    let subject = key_ref.subject.as_deref().unwrap_or("");
    if !subject.is_empty() && !KeyRef::is_valid_name(subject) {
        return Err(EnvelopeError::Malformed {
            what: "subject pseudonym",
        });
    }
    let mut out = Vec::with_capacity(3 + key_ref.keyring.len() + 4 + subject.len());
    out.push(WRAP_ALG_LOCAL);
    // Valid names are at most 64 bytes.
    out.push(u8::try_from(key_ref.keyring.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(key_ref.keyring.as_bytes());
    out.extend_from_slice(&key_ref.version.to_be_bytes());
    out.push(u8::try_from(subject.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(subject.as_bytes());
    Ok(out)
}

/// Appends a wrap section.
pub(crate) fn encode_wrap_section(
    key_ref_entry: &[u8],
    wrapped: &[u8; WRAPPED_LEN],
    out: &mut Vec<u8>,
) {
    out.push(1);
    out.extend_from_slice(key_ref_entry);
    out.extend_from_slice(&WRAPPED_LEN_BE);
    out.extend_from_slice(wrapped);
}

fn malformed(what: &'static str) -> EnvelopeError {
    EnvelopeError::Malformed { what }
}

/// Parses a header from the start of `buf`, or says how many bytes it needs.
///
/// # Errors
/// [`EnvelopeError::Malformed`], [`EnvelopeError::TooLarge`],
/// [`EnvelopeError::UnsupportedVersion`] or [`EnvelopeError::UnknownSuite`] as soon as the bytes
/// seen so far break a rule.
pub(crate) fn parse(buf: &[u8]) -> Result<Parse, EnvelopeError> {
    parse_opts(buf, true)
}

/// [`parse`]; with `decode_context` false a stored context is left undecoded (`context` is
/// `None` although `detached` is false) for a caller that compares the bytes itself with
/// [`Context::encodes_as`].
pub(crate) fn parse_opts(buf: &[u8], decode_context: bool) -> Result<Parse, EnvelopeError> {
    // Check the magic on whatever prefix we have, so non-envelopes fail on the first bytes.
    let seen = buf.len().min(MAGIC.len());
    if buf[..seen] != MAGIC[..seen] {
        return Err(malformed("not a trust envelope (bad magic)"));
    }
    if buf.len() < FIXED_LEN {
        return Ok(Parse::Need(FIXED_LEN));
    }
    let version = buf[3];
    if version != VERSION && version != VERSION_CACHED {
        return Err(EnvelopeError::UnsupportedVersion { version });
    }
    let suite_id = u16::from_be_bytes([buf[4], buf[5]]);
    let suite = Suite::from_id(suite_id).ok_or(EnvelopeError::UnknownSuite { id: suite_id })?;
    let flags = buf[6];
    if flags & !FLAG_DETACHED != 0 {
        return Err(malformed("reserved flag bits set"));
    }
    let detached = flags & FLAG_DETACHED != 0;
    let ctx_len = usize::from(u16::from_be_bytes([buf[7], buf[8]]));
    if ctx_len > MAX_ENCODED_LEN {
        return Err(EnvelopeError::TooLarge {
            what: "context",
            limit: MAX_ENCODED_LEN,
        });
    }
    if detached && ctx_len != 0 {
        return Err(malformed("detached context with stored context bytes"));
    }
    let immutable_len = FIXED_LEN + ctx_len;
    // Wrap section fixed prefix: count, alg, kr_len.
    let mut need = immutable_len + 3;
    if buf.len() < need {
        return Ok(Parse::Need(need));
    }
    let context = if detached || !decode_context {
        None
    } else {
        Some(Context::decode(&buf[FIXED_LEN..immutable_len])?)
    };
    let mut p = immutable_len;
    let count = usize::from(buf[p]);
    if count == 0 {
        return Err(malformed("no wrapped key"));
    }
    if count > MAX_WRAPPED_KEYS {
        return Err(EnvelopeError::TooLarge {
            what: "wrapped key count",
            limit: MAX_WRAPPED_KEYS,
        });
    }
    if buf[p + 1] != WRAP_ALG_LOCAL {
        return Err(malformed("unknown key wrap algorithm"));
    }
    let entry_start = p + 1;
    let kr_len = usize::from(buf[p + 2]);
    if kr_len == 0 || kr_len > KeyRef::MAX_NAME_LEN {
        return Err(malformed("keyring name length"));
    }
    p += 3;
    need = p + kr_len + 4 + 1;
    if buf.len() < need {
        return Ok(Parse::Need(need));
    }
    let keyring = core::str::from_utf8(&buf[p..p + kr_len])
        .ok()
        .filter(|name| KeyRef::is_valid_name(name))
        .ok_or_else(|| malformed("keyring name"))?
        .to_owned();
    p += kr_len;
    let key_version = u32::from_be_bytes([buf[p], buf[p + 1], buf[p + 2], buf[p + 3]]);
    if key_version == 0 {
        return Err(malformed("key version 0"));
    }
    p += 4;
    let subj_len = usize::from(buf[p]);
    if subj_len > KeyRef::MAX_NAME_LEN {
        return Err(malformed("subject length"));
    }
    p += 1;
    need = p + subj_len + 2;
    if buf.len() < need {
        return Ok(Parse::Need(need));
    }
    let subject = if subj_len == 0 {
        None
    } else {
        Some(
            core::str::from_utf8(&buf[p..p + subj_len])
                .ok()
                .filter(|name| KeyRef::is_valid_name(name))
                .ok_or_else(|| malformed("subject pseudonym"))?
                .to_owned(),
        )
    };
    p += subj_len;
    let entry_end = p;
    let w_len = usize::from(u16::from_be_bytes([buf[p], buf[p + 1]]));
    if w_len > MAX_WRAPPED_LEN {
        return Err(EnvelopeError::TooLarge {
            what: "wrapped key",
            limit: MAX_WRAPPED_LEN,
        });
    }
    if w_len != WRAPPED_LEN {
        return Err(malformed("wrapped key length"));
    }
    p += 2;
    need = p + w_len;
    if buf.len() < need {
        return Ok(Parse::Need(need));
    }
    let mut wrapped = [0u8; WRAPPED_LEN];
    wrapped.copy_from_slice(&buf[p..need]);
    Ok(Parse::Done(Header {
        version,
        suite,
        detached,
        context,
        immutable_len,
        key_ref: KeyRef {
            keyring,
            version: key_version,
            subject,
        },
        key_ref_entry: buf[entry_start..entry_end].to_vec(),
        wrapped,
        len: need,
    }))
}

/// Parses a header that must be complete within `buf`.
///
/// # Errors
/// As [`parse`], and [`EnvelopeError::Malformed`] when `buf` ends inside the header.
pub(crate) fn parse_complete(buf: &[u8]) -> Result<Header, EnvelopeError> {
    parse_complete_opts(buf, true)
}

/// [`parse_complete`] with [`parse_opts`]'s choice.
///
/// # Errors
/// As [`parse_complete`].
pub(crate) fn parse_complete_opts(
    buf: &[u8],
    decode_context: bool,
) -> Result<Header, EnvelopeError> {
    match parse_opts(buf, decode_context)? {
        Parse::Done(header) => Ok(header),
        Parse::Need(_) => Err(malformed("input ends inside the header")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(detached: bool, subject: Option<&str>) -> Vec<u8> {
        let ctx = Context::new().with("tenant", "acme").unwrap();
        let mut out = Vec::new();
        encode_immutable(VERSION, Suite::Aes256Gcm, &ctx, detached, &mut out);
        let key_ref = KeyRef {
            keyring: "orders".into(),
            version: 7,
            subject: subject.map(str::to_owned),
        };
        let entry = encode_key_ref_entry(&key_ref).unwrap();
        encode_wrap_section(&entry, &[0xaa; WRAPPED_LEN], &mut out);
        out
    }

    #[test]
    fn parse_round_trip_and_incremental_needs() {
        for (detached, subject) in [(false, None), (true, None), (false, Some("subj-1"))] {
            let bytes = sample(detached, subject);
            let header = parse_complete(&bytes).unwrap();
            assert_eq!(header.len, bytes.len());
            assert_eq!(header.key_ref.version, 7);
            assert_eq!(header.key_ref.subject.as_deref(), subject);
            assert_eq!(header.detached, detached);
            assert_eq!(header.context.is_none(), detached);
            // Feeding the parser only what it asks for reaches the same header, and every
            // prefix asks for more.
            let mut have = 0;
            loop {
                match parse(&bytes[..have]).unwrap() {
                    Parse::Need(n) => {
                        assert!(n > have && n <= bytes.len());
                        have = n;
                    }
                    Parse::Done(h) => {
                        assert_eq!(h.len, bytes.len());
                        break;
                    }
                }
            }
        }
    }

    #[test]
    fn each_rule_is_enforced() {
        let good = sample(false, None);
        let ctx_len = usize::from(u16::from_be_bytes([good[7], good[8]]));
        let wrap = FIXED_LEN + ctx_len;
        let cases: Vec<(usize, u8, &str)> = vec![
            (0, b'X', "magic"),
            (3, 3, "version"),
            (5, 9, "suite"),
            (6, 0x02, "flags"),
            (6, 0x01, "detached with context"),
            (wrap, 0, "count 0"),
            (wrap, 2, "count 2"),
            (wrap + 1, 2, "wrap alg"),
            (wrap + 2, 0, "kr_len 0"),
            (wrap + 2, 65, "kr_len 65"),
            (wrap + 3, b'O', "keyring upper case"),
        ];
        for (at, value, what) in cases {
            let mut bad = good.clone();
            bad[at] = value;
            assert!(parse(&bad).is_err(), "{what}");
        }
        assert!(
            matches!(parse(b"TLE\x02"), Ok(Parse::Need(_))),
            "short prefix asks for more"
        );
        let mut v2 = good.clone();
        v2[3] = VERSION_CACHED;
        assert!(matches!(parse(&v2), Ok(Parse::Done(h)) if h.version == VERSION_CACHED));
        for version in [0u8, 3, 0xff] {
            let mut unknown = good.clone();
            unknown[3] = version;
            assert!(matches!(
                parse(&unknown),
                Err(EnvelopeError::UnsupportedVersion { version: v }) if v == version
            ));
        }
        let mut suite = good.clone();
        suite[4..6].copy_from_slice(&0x0000u16.to_be_bytes());
        assert!(matches!(
            parse(&suite),
            Err(EnvelopeError::UnknownSuite { id: 0 })
        ));
        let mut big = good.clone();
        big[7..9].copy_from_slice(&4097u16.to_be_bytes());
        assert!(matches!(parse(&big), Err(EnvelopeError::TooLarge { .. })));
        assert!(parse_complete(&good[..good.len() - 1]).is_err());
    }
}
