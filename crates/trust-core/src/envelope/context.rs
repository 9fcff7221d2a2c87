//! The authenticated context: who and what a message belongs to.
//!
//! A [`Context`] is a small map of key/value pairs such as `tenant=acme`, `record=order-1042`,
//! `purpose=shopify-token`. It is bound into the message's key schedule and into the wrapped
//! data key, so a ciphertext copied from one record (or tenant) to another does not open there.
//! It is *not* secret: binary envelopes store it in the clear so `trust inspect` can show it.
//!
//! ## Canonical encoding
//!
//! ```text
//! u16 count ‖ count × ( u16 key_len ‖ key ‖ u16 value_len ‖ value )
//! ```
//! big-endian, pairs sorted by key bytes, keys unique. There is exactly one encoding per
//! context, so byte equality of encodings is equality of contexts, and decoding rejects any
//! other ordering, duplicates, or bytes after the last pair.
//!
//! ## Rules (hard bounds, checked on construction and on parse)
//!
//! * keys: 1 to [`MAX_KEY_LEN`] bytes of `[A-Za-z0-9._-]`; keys starting with `tl-` are reserved
//!   for the library;
//! * values: valid UTF-8, 0 to [`MAX_VALUE_LEN`] bytes;
//! * at most [`MAX_PAIRS`] pairs and [`MAX_ENCODED_LEN`] encoded bytes.

use core::fmt;
use std::collections::BTreeMap;

use super::error::EnvelopeError;

/// Longest context key, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// Longest context value, in bytes.
pub const MAX_VALUE_LEN: usize = 1024;
/// Most pairs in one context.
pub const MAX_PAIRS: usize = 32;
/// Longest canonical encoding of a context, in bytes.
pub const MAX_ENCODED_LEN: usize = 4096;

/// Key prefix reserved for pairs the library itself may add in later format versions.
const RESERVED_PREFIX: &str = "tl-";

/// Authenticated key/value pairs a message is bound to (tenant, record id, purpose…).
///
/// ```
/// use trust_core::envelope::Context;
/// let ctx = Context::new()
///     .with("tenant", "acme")?
///     .with("record", "order-1042")?;
/// assert_eq!(ctx.get("tenant"), Some("acme"));
/// assert_eq!(ctx.to_string(), "record=order-1042,tenant=acme");
/// # Ok::<(), trust_core::envelope::EnvelopeError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Context {
    pairs: BTreeMap<String, String>,
    encoded_len: usize,
}

impl Context {
    /// The empty context (binds nothing beyond the message itself).
    pub fn new() -> Self {
        Self {
            pairs: BTreeMap::new(),
            encoded_len: 2,
        }
    }

    /// This context with `key` set to `value`.
    ///
    /// # Errors
    /// [`EnvelopeError::InvalidContext`] when the key or value breaks the rules, the key is
    /// already present, or a bound would be exceeded.
    pub fn with(mut self, key: &str, value: &str) -> Result<Self, EnvelopeError> {
        self.insert(key, value)?;
        Ok(self)
    }

    /// Adds `key = value`.
    ///
    /// # Errors
    /// As for [`Context::with`].
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), EnvelopeError> {
        check_key(key)?;
        if key.starts_with(RESERVED_PREFIX) {
            return Err(invalid("keys starting with `tl-` are reserved"));
        }
        check_value(value)?;
        if self.pairs.contains_key(key) {
            return Err(invalid("duplicate key"));
        }
        if self.pairs.len() >= MAX_PAIRS {
            return Err(invalid("too many pairs"));
        }
        let grown = self.encoded_len + 4 + key.len() + value.len();
        if grown > MAX_ENCODED_LEN {
            return Err(invalid("encoded context too long"));
        }
        self.pairs.insert(key.to_owned(), value.to_owned());
        self.encoded_len = grown;
        Ok(())
    }

    /// Builds a context from `key=value` strings (the command-line form).
    ///
    /// # Errors
    /// [`EnvelopeError::InvalidContext`] when a string has no `=` or breaks the rules.
    pub fn from_assignments<I, S>(assignments: I) -> Result<Self, EnvelopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut ctx = Self::new();
        for assignment in assignments {
            let (key, value) = assignment
                .as_ref()
                .split_once('=')
                .ok_or_else(|| invalid("expected key=value"))?;
            ctx.insert(key, value)?;
        }
        Ok(ctx)
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.get(key).map(String::as_str)
    }

    /// The pairs, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Length of [`Context::encode`]'s output, without encoding.
    pub fn encoded_len(&self) -> usize {
        self.encoded_len
    }

    /// The canonical encoding (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len);
        self.encode_into(&mut out);
        out
    }

    /// Appends the canonical encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        // Bounds were enforced on insert, so every length fits its u16 field.
        push_u16(out, self.pairs.len());
        for (key, value) in &self.pairs {
            push_u16(out, key.len());
            out.extend_from_slice(key.as_bytes());
            push_u16(out, value.len());
            out.extend_from_slice(value.as_bytes());
        }
    }

    /// Whether `bytes` is exactly this context's canonical encoding (what [`Context::decode`]
    /// followed by `==` decides, without building a map).
    pub(crate) fn encodes_as(&self, bytes: &[u8]) -> bool {
        fn field(bytes: &[u8], p: &mut usize, value: &[u8]) -> bool {
            let len = u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes();
            let end = *p + 2 + value.len();
            let ok =
                bytes.get(*p..*p + 2) == Some(&len[..]) && bytes.get(*p + 2..end) == Some(value);
            *p = end;
            ok
        }
        if bytes.len() != self.encoded_len {
            return false;
        }
        let count = u16::try_from(self.pairs.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes();
        if bytes[..2] != count {
            return false;
        }
        let mut p = 2;
        for (key, value) in &self.pairs {
            if !field(bytes, &mut p, key.as_bytes()) || !field(bytes, &mut p, value.as_bytes()) {
                return false;
            }
        }
        p == bytes.len()
    }

    /// Parses a canonical encoding; rejects anything [`Context::encode`] would not produce.
    ///
    /// # Errors
    /// [`EnvelopeError::TooLarge`] past a bound, [`EnvelopeError::Malformed`] otherwise.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() > MAX_ENCODED_LEN {
            return Err(EnvelopeError::TooLarge {
                what: "context",
                limit: MAX_ENCODED_LEN,
            });
        }
        let mut rest = bytes;
        let count = take_u16(&mut rest)?;
        if count > MAX_PAIRS {
            return Err(EnvelopeError::TooLarge {
                what: "context pair count",
                limit: MAX_PAIRS,
            });
        }
        let mut ctx = Self::new();
        let mut previous: Option<&[u8]> = None;
        for _ in 0..count {
            let key_len = take_u16(&mut rest)?;
            let key = take(&mut rest, key_len)?;
            let value_len = take_u16(&mut rest)?;
            let value = take(&mut rest, value_len)?;
            if previous.is_some_and(|p| p >= key) {
                return Err(malformed("context keys not strictly sorted"));
            }
            previous = Some(key);
            let key = core::str::from_utf8(key).map_err(|_| malformed("context key"))?;
            let value = core::str::from_utf8(value).map_err(|_| malformed("context value"))?;
            // Reserved keys are refused on input too: v1 writers never emit them.
            ctx.insert(key, value)
                .map_err(|_| malformed("context pair breaks the context rules"))?;
        }
        if !rest.is_empty() {
            return Err(malformed("bytes after the last context pair"));
        }
        Ok(ctx)
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.pairs.iter()).finish()
    }
}

/// `key=value` pairs joined by `,`, sorted by key (for display; not a parseable format when
/// values contain commas).
impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.pairs.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{key}={value}")?;
        }
        Ok(())
    }
}

fn check_key(key: &str) -> Result<(), EnvelopeError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(invalid("keys are 1 to 64 bytes"));
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(invalid("keys use only A-Z a-z 0-9 . _ -"));
    }
    Ok(())
}

fn check_value(value: &str) -> Result<(), EnvelopeError> {
    if value.len() > MAX_VALUE_LEN {
        return Err(invalid("values are at most 1024 bytes"));
    }
    Ok(())
}

fn invalid(reason: &'static str) -> EnvelopeError {
    EnvelopeError::InvalidContext { reason }
}

fn malformed(what: &'static str) -> EnvelopeError {
    EnvelopeError::Malformed { what }
}

fn push_u16(out: &mut Vec<u8>, n: usize) {
    let n = u16::try_from(n).unwrap_or(u16::MAX);
    out.extend_from_slice(&n.to_be_bytes());
}

fn take_u16(rest: &mut &[u8]) -> Result<usize, EnvelopeError> {
    let bytes = take(rest, 2)?;
    Ok(usize::from(u16::from_be_bytes([bytes[0], bytes[1]])))
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], EnvelopeError> {
    if rest.len() < n {
        return Err(malformed("context ends early"));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_sorted_and_round_trips() {
        let ctx = Context::new()
            .with("tenant", "acme")
            .unwrap()
            .with("record", "order-1")
            .unwrap();
        let bytes = ctx.encode();
        assert_eq!(bytes.len(), ctx.encoded_len());
        assert_eq!(
            hex::encode(&bytes),
            concat!(
                "0002",
                "0006",
                "7265636f7264",
                "0007",
                "6f726465722d31",
                "0006",
                "74656e616e74",
                "0004",
                "61636d65"
            )
        );
        assert_eq!(Context::decode(&bytes).unwrap(), ctx);
        assert_eq!(Context::new().encode(), vec![0, 0]);
    }

    #[test]
    fn construction_rules() {
        let bad_keys = ["", "a=b", "a b", "é", "tl-reserved", &"k".repeat(65)];
        for key in bad_keys {
            assert!(
                matches!(
                    Context::new().with(key, "v"),
                    Err(EnvelopeError::InvalidContext { .. })
                ),
                "{key:?}"
            );
        }
        assert!(Context::new().with("k", &"v".repeat(1025)).is_err());
        assert!(Context::new().with("k", &"v".repeat(1024)).is_ok());
        assert!(
            Context::new()
                .with("k", "1")
                .unwrap()
                .with("k", "2")
                .is_err()
        );
        let mut many = Context::new();
        for i in 0..MAX_PAIRS {
            many.insert(&format!("k{i}"), "v").unwrap();
        }
        assert!(many.insert("one-more", "v").is_err());
        let mut big = Context::new();
        let mut i = 0;
        while big.insert(&format!("key{i}"), &"x".repeat(1000)).is_ok() {
            i += 1;
        }
        assert!(big.encoded_len() <= MAX_ENCODED_LEN);
    }

    #[test]
    fn assignments() {
        let ctx = Context::from_assignments(["tenant=acme", "note=a=b", "empty="]).unwrap();
        assert_eq!(ctx.get("note"), Some("a=b"));
        assert_eq!(ctx.get("empty"), Some(""));
        assert!(Context::from_assignments(["novalue"]).is_err());
    }

    #[test]
    fn decode_rejects_non_canonical_input() {
        let a_then_b = Context::new()
            .with("a", "1")
            .unwrap()
            .with("b", "2")
            .unwrap()
            .encode();
        // Swap the two pairs: same content, wrong order.
        let mut b_then_a = vec![0, 2];
        b_then_a.extend_from_slice(&a_then_b[2 + 6..]);
        b_then_a.extend_from_slice(&a_then_b[2..2 + 6]);
        assert!(matches!(
            Context::decode(&b_then_a),
            Err(EnvelopeError::Malformed { .. })
        ));
        // Duplicate key.
        let mut dup = vec![0, 2];
        dup.extend_from_slice(&a_then_b[2..8]);
        dup.extend_from_slice(&a_then_b[2..8]);
        assert!(Context::decode(&dup).is_err());
        // Trailing byte, short input, empty input, bad UTF-8, reserved key.
        let mut trailing = a_then_b.clone();
        trailing.push(0);
        assert!(Context::decode(&trailing).is_err());
        assert!(Context::decode(&a_then_b[..a_then_b.len() - 1]).is_err());
        assert!(Context::decode(&[]).is_err());
        assert!(Context::decode(&[0, 1, 0, 1, b'k', 0, 1, 0xff]).is_err());
        assert!(Context::decode(&[0, 1, 0, 4, b't', b'l', b'-', b'x', 0, 0]).is_err());
        // Count above the bound.
        assert!(matches!(
            Context::decode(&[0, 33]),
            Err(EnvelopeError::TooLarge { .. })
        ));
        // Oversized encoding.
        assert!(matches!(
            Context::decode(&vec![0; MAX_ENCODED_LEN + 1]),
            Err(EnvelopeError::TooLarge { .. })
        ));
    }
}

#[cfg(test)]
mod encodes_as_tests {
    use super::*;

    #[test]
    fn encodes_as_agrees_with_decode_and_eq() {
        let a = Context::new()
            .with("tenant", "acme")
            .and_then(|c| c.with("record", "order-1042"))
            .unwrap();
        let enc = a.encode();
        assert!(a.encodes_as(&enc));
        assert!(Context::new().encodes_as(&Context::new().encode()));
        assert!(!Context::new().encodes_as(&enc));
        for i in 0..enc.len() {
            let mut bad = enc.clone();
            bad[i] ^= 1;
            assert!(!a.encodes_as(&bad), "byte {i}");
        }
        assert!(!a.encodes_as(&enc[..enc.len() - 1]));
        let mut longer = enc.clone();
        longer.push(0);
        assert!(!a.encodes_as(&longer));
    }
}
