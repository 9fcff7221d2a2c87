//! Segment files: the append-only, framed and checksummed container of leaves on disk.
//!
//! ```text
//! segment  = header record*
//! header   = "TRUSTLOG" (8) ‖ u8 version = 1 ‖ 7 × 0x00 ‖ u64 BE first_index      24 bytes
//! record   = u32 BE leaf_len ‖ leaf (leaf_len bytes) ‖ leaf_hash (32)
//! ```
//!
//! The checksum of a record is its RFC 6962 leaf hash, `SHA-256(0x00 ‖ leaf)`: the verifier
//! needs that hash anyway, so a second (CRC) pass over every byte would only cost time, and a
//! cryptographic checksum cannot be fooled by a torn write. `leaf_len` is bounded by
//! [`MAX_LEAF_LEN`], so a garbage length can never make a reader allocate or skip far.
//!
//! What a reader can tell apart (see [`Frame`]):
//! * a complete record whose stored hash matches — an entry;
//! * a complete record whose stored hash does not match — corruption or tampering (or, when it
//!   is the very last record of the log, possibly a torn write that reached the length but not
//!   all the bytes: the writer's recovery treats the *last* record that way);
//! * bytes that end inside a record — a torn tail, which only an unacknowledged append leaves.

use super::leaf::MAX_LEAF_LEN;
use super::merkle::{Hash, leaf_hash};

/// Segment file magic.
pub(crate) const MAGIC: &[u8; 8] = b"TRUSTLOG";
/// Segment format version.
pub(crate) const SEGMENT_VERSION: u8 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 24;
/// Bytes of framing around each leaf (length + hash).
pub(crate) const FRAME_OVERHEAD: usize = 4 + 32;

/// Encodes a segment header.
pub(crate) fn encode_header(first_index: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8] = SEGMENT_VERSION;
    h[16..].copy_from_slice(&first_index.to_be_bytes());
    h
}

/// Why a header is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than `HEADER_LEN` (24) bytes.
    Short,
    /// Wrong magic, version or reserved bytes.
    Invalid,
}

/// Decodes a segment header, returning the first index.
///
/// # Errors
/// [`HeaderError`].
pub fn decode_header(bytes: &[u8]) -> Result<u64, HeaderError> {
    let h = bytes.get(..HEADER_LEN).ok_or(HeaderError::Short)?;
    if &h[..8] != MAGIC || h[8] != SEGMENT_VERSION || h[9..16].iter().any(|&b| b != 0) {
        return Err(HeaderError::Invalid);
    }
    let mut idx = [0u8; 8];
    idx.copy_from_slice(&h[16..]);
    Ok(u64::from_be_bytes(idx))
}

/// Appends the record for `leaf` (with its hash) to `out`.
pub(crate) fn encode_record(out: &mut Vec<u8>, leaf: &[u8], hash: &Hash) {
    // Leaves are at most MAX_LEAF_LEN (checked by the encoder), so the length fits.
    out.extend_from_slice(&u32::try_from(leaf.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(leaf);
    out.extend_from_slice(hash);
}

/// One parsed record, borrowed from the segment bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Byte offset of the record in the buffer it was parsed from.
    pub offset: usize,
    /// The leaf bytes.
    pub leaf: &'a [u8],
    /// The hash stored after the leaf.
    pub stored_hash: Hash,
}

impl Record<'_> {
    /// True when the stored hash equals the recomputed leaf hash.
    pub fn checksum_ok(&self) -> bool {
        leaf_hash(self.leaf) == self.stored_hash
    }

    /// Total encoded length.
    pub fn encoded_len(&self) -> usize {
        FRAME_OVERHEAD + self.leaf.len()
    }
}

/// The outcome of parsing one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete record (checksum not yet checked).
    Record(Record<'a>),
    /// The bytes end inside a record: need more input, or a torn tail at end of file.
    Incomplete,
    /// The length field exceeds `MAX_LEAF_LEN` (65 535) or is zero: not a record boundary.
    BadLength,
}

/// Parses the frame at the start of `bytes` (`offset` is only reported back).
pub(crate) fn parse_frame(bytes: &[u8], offset: usize) -> Frame<'_> {
    let Some(len) = bytes.get(..4) else {
        return Frame::Incomplete;
    };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len == 0 || len > MAX_LEAF_LEN {
        return Frame::BadLength;
    }
    let Some(leaf) = bytes.get(4..4 + len) else {
        return Frame::Incomplete;
    };
    let Some(hash) = bytes.get(4 + len..4 + len + 32) else {
        return Frame::Incomplete;
    };
    let mut stored_hash = [0u8; 32];
    stored_hash.copy_from_slice(hash);
    Frame::Record(Record {
        offset,
        leaf,
        stored_hash,
    })
}

/// Splits a whole buffer of records into frames, stopping at the first non-record.
///
/// Returns the records and what stopped the scan (`None` when the buffer ended exactly at a
/// record boundary).
pub fn parse_records(bytes: &[u8]) -> (Vec<Record<'_>>, Option<(usize, Frame<'_>)>) {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        match parse_frame(&bytes[pos..], pos) {
            Frame::Record(r) => {
                pos += r.encoded_len();
                out.push(r);
            }
            other => return (out, Some((pos, other))),
        }
    }
    (out, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_rejections() {
        let h = encode_header(1234);
        assert_eq!(decode_header(&h), Ok(1234));
        assert_eq!(decode_header(&h[..23]), Err(HeaderError::Short));
        for i in [0, 8, 9, 15] {
            let mut b = h;
            b[i] ^= 1;
            assert_eq!(decode_header(&b), Err(HeaderError::Invalid), "byte {i}");
        }
    }

    #[test]
    fn frames_parse_and_report_tails() {
        let mut buf = Vec::new();
        for leaf in [&b"one"[..], b"second leaf"] {
            encode_record(&mut buf, leaf, &leaf_hash(leaf));
        }
        let (records, stop) = parse_records(&buf);
        assert_eq!(records.len(), 2);
        assert!(stop.is_none());
        assert!(records.iter().all(Record::checksum_ok));
        assert_eq!(records[1].leaf, b"second leaf");
        // Every strict prefix that cuts the last record is Incomplete at its offset.
        let second = records[1].offset;
        for cut in second + 1..buf.len() {
            let (r, stop) = parse_records(&buf[..cut]);
            assert_eq!(r.len(), 1);
            assert_eq!(stop, Some((second, Frame::Incomplete)));
        }
        // A flipped byte in a leaf keeps the framing but fails the checksum.
        let mut bad = buf.clone();
        bad[5] ^= 1;
        let (r, _) = parse_records(&bad);
        assert!(!r[0].checksum_ok());
        // Zero and oversized lengths are not record boundaries.
        assert_eq!(parse_frame(&[0, 0, 0, 0], 0), Frame::BadLength);
        assert_eq!(parse_frame(&[0, 1, 0, 0, 1], 0), Frame::BadLength);
        assert_eq!(parse_frame(&[0, 0], 0), Frame::Incomplete);
    }
}
