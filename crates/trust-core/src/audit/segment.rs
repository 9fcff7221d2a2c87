//! Segment files: the append-only, framed and checksummed container of leaves on disk.
//!
//! ```text
//! segment  = header record*
//! header   = "TRUSTLOG" (8) ‖ u8 version (1 or 2) ‖ 7 × 0x00 ‖ u64 BE first_index   24 bytes
//! record   = u32 BE leaf_len ‖ leaf (leaf_len bytes) ‖ leaf_hash (32)
//! ```
//!
//! **Version 2** (written since issue 14) is version 1 plus *preallocation*: the writer reserves
//! file space ahead of the data (`fallocate`), so an append's `fdatasync` only writes data and
//! never has to grow the file. The file is therefore longer than its data, and the rest reads
//! as zeros: a zero `leaf_len` at a record boundary ends the data ([`Frame::End`]), and every
//! byte after it must be zero. Version 1 files (never preallocated; a zero length is not a
//! record boundary) are still read, and a writer keeps appending to a version 1 segment in
//! version 1 until it starts the next segment.
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
/// The segment version a writer creates: 2, preallocated (see the module docs).
pub(crate) const SEGMENT_VERSION: u8 = 2;
/// The first version: no preallocation, the data ends where the file ends.
pub(crate) const SEGMENT_VERSION_1: u8 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 24;
/// Bytes of framing around each leaf (length + hash).
pub(crate) const FRAME_OVERHEAD: usize = 4 + 32;

/// Encodes a segment header of the current version.
pub(crate) fn encode_header(first_index: u64) -> [u8; HEADER_LEN] {
    encode_header_version(first_index, SEGMENT_VERSION)
}

/// Encodes a segment header of `version` (tests write version 1 files to prove they still read).
pub(crate) fn encode_header_version(first_index: u64, version: u8) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8] = version;
    h[16..].copy_from_slice(&first_index.to_be_bytes());
    h
}

/// Why a header is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// Fewer than `HEADER_LEN` (24) bytes.
    Short,
    /// Wrong magic, version or reserved bytes.
    Invalid,
}

/// A decoded segment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct Header {
    /// Index of the segment's first record.
    pub first_index: u64,
    /// 1 (data ends at the end of the file) or 2 (preallocated: data ends at a zero length).
    pub version: u8,
}

/// Decodes a segment header, returning the first index.
///
/// # Errors
/// [`HeaderError`].
pub fn decode_header(bytes: &[u8]) -> Result<u64, HeaderError> {
    read_header(bytes).map(|h| h.first_index)
}

/// Decodes a segment header of either version.
///
/// # Errors
/// [`HeaderError`]: short, wrong magic, unknown version, non-zero reserved bytes.
pub(crate) fn read_header(bytes: &[u8]) -> Result<Header, HeaderError> {
    let h = bytes.get(..HEADER_LEN).ok_or(HeaderError::Short)?;
    let version = h[8];
    if &h[..8] != MAGIC
        || !(SEGMENT_VERSION_1..=SEGMENT_VERSION).contains(&version)
        || h[9..16].iter().any(|&b| b != 0)
    {
        return Err(HeaderError::Invalid);
    }
    let mut idx = [0u8; 8];
    idx.copy_from_slice(&h[16..]);
    Ok(Header {
        first_index: u64::from_be_bytes(idx),
        version,
    })
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
#[non_exhaustive]
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
    /// The length field exceeds `MAX_LEAF_LEN` (65 535), or is zero in a version 1 segment:
    /// not a record boundary.
    BadLength,
    /// A zero length in a version 2 segment: the data ends here, and every byte from here to
    /// the end of the file must be zero.
    End,
}

/// Parses the frame at the start of `bytes` of a version 1 segment (`offset` is only reported
/// back).
#[cfg(test)]
pub(crate) fn parse_frame(bytes: &[u8], offset: usize) -> Frame<'_> {
    parse_frame_in(bytes, offset, SEGMENT_VERSION_1)
}

/// Parses the frame at the start of `bytes` in a segment of `version`.
pub(crate) fn parse_frame_in(bytes: &[u8], offset: usize, version: u8) -> Frame<'_> {
    // Fewer than four bytes left is Incomplete even when they are zeros: a streaming reader's
    // buffer can end inside a length field, whose high bytes are always zero. At the end of a
    // file, an Incomplete stop followed by zeros only is the end of the data.
    let Some(len) = bytes.get(..4) else {
        return Frame::Incomplete;
    };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len == 0 && version >= 2 {
        return Frame::End;
    }
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

/// Splits a whole buffer of version 1 records into frames, stopping at the first non-record.
///
/// Returns the records and what stopped the scan (`None` when the buffer ended exactly at a
/// record boundary).
pub fn parse_records(bytes: &[u8]) -> (Vec<Record<'_>>, Option<(usize, Frame<'_>)>) {
    parse_records_in(bytes, SEGMENT_VERSION_1)
}

/// [`parse_records`] for a segment of `version`: in version 2 a zero length stops the scan with
/// [`Frame::End`] (the caller checks that the rest is zeros, see `nonzero_len`).
pub fn parse_records_in(
    bytes: &[u8],
    version: u8,
) -> (Vec<Record<'_>>, Option<(usize, Frame<'_>)>) {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        match parse_frame_in(&bytes[pos..], pos, version) {
            Frame::Record(r) => {
                pos += r.encoded_len();
                out.push(r);
            }
            other => return (out, Some((pos, other))),
        }
    }
    (out, None)
}

/// The length of `bytes` up to and including its last non-zero byte: 0 when `bytes` is all
/// zeros (the padding of a preallocated segment).
pub(crate) fn nonzero_len(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

/// Whether `r`, the last record before the end of a version 2 segment's data, looks like the
/// torn remains of an unacknowledged append rather than an altered entry: its stored hash does
/// not match and its last byte is still the preallocated zero. (An acknowledged record was
/// written completely; a record altered on disk is reported, not excused, unless it is made
/// to look cut — which hides the entry exactly as truncating the file would, and truncation is
/// what signed checkpoints catch.)
pub(crate) fn looks_torn(r: &Record<'_>) -> bool {
    r.stored_hash[31] == 0 && !r.checksum_ok()
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
    fn version_2_ends_at_a_zero_length_and_version_1_does_not() {
        let v1 = encode_header_version(5, 1);
        assert_eq!(
            read_header(&v1),
            Ok(Header {
                first_index: 5,
                version: 1
            })
        );
        assert_eq!(read_header(&encode_header(5)).map(|h| h.version), Ok(2));
        for bad in [0u8, 3, 0xff] {
            assert_eq!(
                read_header(&encode_header_version(5, bad)),
                Err(HeaderError::Invalid),
                "version {bad}"
            );
        }
        let mut buf = Vec::new();
        encode_record(&mut buf, b"one", &leaf_hash(b"one"));
        let data = buf.len();
        buf.extend_from_slice(&[0; 100]);
        let (r, stop) = parse_records_in(&buf, 2);
        assert_eq!((r.len(), stop), (1, Some((data, Frame::End))));
        let (r, stop) = parse_records_in(&buf, 1);
        assert_eq!((r.len(), stop), (1, Some((data, Frame::BadLength))));
        // Fewer than four zeros are not yet an end: a length field may continue in the next
        // read.
        let (_, stop) = parse_records_in(&buf[..data + 3], 2);
        assert_eq!(stop, Some((data, Frame::Incomplete)));
        assert_eq!(nonzero_len(&buf), data);
        assert_eq!(nonzero_len(&[0, 0]), 0);
        // A record cut inside the reservation: complete framing, zeros at its end.
        let mut torn = Vec::new();
        encode_record(&mut torn, b"a leaf of some length", &leaf_hash(b"x"));
        torn[10..].fill(0);
        let (r, _) = parse_records_in(&torn, 2);
        assert!(looks_torn(&r[0]));
        let (r, _) = parse_records(&buf[..data]);
        assert!(!looks_torn(&r[0]), "a complete record never looks torn");
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
