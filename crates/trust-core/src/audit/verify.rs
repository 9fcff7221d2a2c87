//! The streaming verifier: one pass over the segments in O(log n) memory.
//!
//! Order of checks (docs/auditor-guide.md explains each kind):
//!
//! 1. every stored checkpoint: note syntax, origin, signature by a key the auditor trusts
//!    (`BAD_SIGNATURE`, `MALFORMED`); two valid checkpoints of one size with different roots
//!    (`FORK`);
//! 2. the auditor's pinned checkpoint (`--state`), same checks;
//! 3. per record, streaming: framing (`MALFORMED`; bytes ending inside the last record of the
//!    last segment are an unacknowledged torn tail, reported but not a failure) → stored hash vs
//!    recomputed leaf hash (`LEAF_HASH_MISMATCH`) → leaf syntax (`MALFORMED`) → `index ==
//!    position` (`INDEX_GAP`) → `prev_leaf_hash` (`CHAIN_BREAK`) → fold into the compact range
//!    → at each checkpoint size compare roots (`ROOT_MISMATCH`), at the pinned size (`FORK`) →
//!    payload commitment when the payload is present (`PAYLOAD_MISMATCH`), absent payloads are
//!    counted as `REDACTED` (informational, not a failure);
//! 4. at the end: a checkpoint or the pinned state larger than the log (`TRUNCATED`).
//!
//! Memory is two read buffers, the compact range (≤ 64 hashes) and one (size, root) pair per
//! checkpoint. Leaf hashing and decoding of each buffer run on all cores
//! ([`VerifyOptions::threads`]) while a helper thread reads the next buffer; the chain and tree
//! fold are sequential and cheap.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;

use super::AuditError;
use super::checkpoint::{CheckpointError, SignedCheckpoint};
use super::leaf::{self, PayloadRef};
use super::log::LogConfig;
use super::merkle::{CompactRange, Hash, leaf_hash};
use super::note::{NoteError, Verifier};
use super::segment::{self, Frame, HEADER_LEN};
use super::store;

/// The stable failure kinds. Their names ([`FailureKind::as_str`]) are part of the CLI's JSON
/// contract and never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum FailureKind {
    /// An entry's `prev_leaf_hash` is not the hash of the entry before it.
    ChainBreak,
    /// An entry's bytes do not hash to the hash stored with them.
    LeafHashMismatch,
    /// An entry's index is not its position (entries deleted, inserted or reordered).
    IndexGap,
    /// The tree recomputed from the entries does not match a signed checkpoint.
    RootMismatch,
    /// The log is shorter than a signed or pinned checkpoint.
    Truncated,
    /// Two signed views of the log disagree (same size, different roots; or the log no longer
    /// extends the auditor's pinned checkpoint).
    Fork,
    /// A checkpoint is not signed by a trusted key, or a signature does not verify.
    BadSignature,
    /// Bytes that no longer parse: framing, headers, leaves, notes.
    Malformed,
    /// A payload was deleted (erasure). Informational: not a failure.
    Redacted,
    /// A payload is present but does not match the leaf's commitment.
    PayloadMismatch,
}

impl FailureKind {
    /// The stable upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChainBreak => "CHAIN_BREAK",
            Self::LeafHashMismatch => "LEAF_HASH_MISMATCH",
            Self::IndexGap => "INDEX_GAP",
            Self::RootMismatch => "ROOT_MISMATCH",
            Self::Truncated => "TRUNCATED",
            Self::Fork => "FORK",
            Self::BadSignature => "BAD_SIGNATURE",
            Self::Malformed => "MALFORMED",
            Self::Redacted => "REDACTED",
            Self::PayloadMismatch => "PAYLOAD_MISMATCH",
        }
    }
}

/// One failure found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Failure {
    /// What is wrong.
    pub kind: FailureKind,
    /// The first entry known to be bad, when the check pinpoints one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// For failures located only between two tree sizes (`ROOT_MISMATCH`, `FORK` against a
    /// pinned checkpoint): the damage is in entries `[range.0, range.1)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<(u64, u64)>,
    /// The file involved (segment or checkpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Byte offset in that file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_offset: Option<u64>,
    /// One line for a human.
    pub detail: String,
}

/// A checkpoint as reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckpointSummary {
    /// Tree size.
    pub size: u64,
    /// Root, standard base64 (as in the note).
    pub root: String,
}

/// The verifier's findings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// `"ok"` or `"failed"`.
    pub status: &'static str,
    /// The log's origin.
    pub origin: String,
    /// Entries read.
    pub entries: u64,
    /// Root over the entries read (standard base64).
    pub root: String,
    /// The first failure, in the order the checks run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The first bad entry: the first pinpointed failure, else the start of the first range.
    pub first_bad_index: Option<u64>,
    /// Number of failures of every kind (informational `REDACTED` included).
    pub counts: BTreeMap<&'static str, u64>,
    /// Total failures (excluding `REDACTED`).
    pub errors_total: u64,
    /// Signed checkpoints that verified.
    pub checkpoints_checked: u64,
    /// The newest checkpoint whose root matched the entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_checkpoint: Option<CheckpointSummary>,
    /// The auditor's pinned checkpoint, if one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<CheckpointSummary>,
    /// Indexes of redacted entries (first 100).
    pub redacted: Vec<u64>,
    /// Bytes after the last complete record of the log (an unacknowledged, torn append).
    pub torn_tail_bytes: u64,
    /// More failures, after the first (at most 20).
    pub more_failures: Vec<Failure>,
    /// The note an auditor should pin after this run: the newest matching checkpoint, never
    /// older than the pinned one. Only meaningful when `status` is `"ok"`.
    #[serde(skip)]
    pub pin: Option<String>,
}

impl Report {
    /// True when no failure was found.
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// What the verifier trusts and how hard it works.
#[non_exhaustive]
pub struct VerifyOptions<'a> {
    /// Keys whose checkpoint signatures are trusted (the log's vkey).
    pub known: Vec<Verifier>,
    /// The auditor's pinned checkpoint note, from the previous successful run.
    pub pinned: Option<Vec<u8>>,
    /// Check payload commitments (and count redactions).
    pub check_payloads: bool,
    /// Worker threads for leaf hashing (1 = no extra threads).
    pub threads: usize,
    /// Called with (bytes done, bytes total) as segments are read.
    pub progress: Option<&'a dyn Fn(u64, u64)>,
}

impl<'a> VerifyOptions<'a> {
    /// Options trusting `known`, with all cores and payload checks.
    pub fn new(known: Vec<Verifier>) -> Self {
        Self {
            known,
            pinned: None,
            check_payloads: true,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            progress: None,
        }
    }
}

/// The log could not be opened at all (as opposed to: opened and found damaged).
pub type OpenError = AuditError;

const MAX_MORE_FAILURES: usize = 20;
const MAX_REDACTED_LISTED: usize = 100;

/// Sizes of the pipeline. Tests shrink them so that small logs cross every buffer boundary and
/// take the parallel path; the results must not depend on them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tuning {
    /// Bytes read per buffer (plus room for one whole record).
    pub(crate) read_chunk: usize,
    /// Fewer records than this in a buffer are checked on the calling thread alone.
    pub(crate) min_parallel: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            read_chunk: 1 << 20,
            min_parallel: 2048,
        }
    }
}

struct State {
    report: Report,
    range: CompactRange,
    /// Expected `prev_leaf_hash` of the next entry (the stored hash of the last one).
    prev: Hash,
    /// Checkpoint roots by size, for sizes still ahead.
    roots: BTreeMap<u64, Hash>,
    pinned: Option<(u64, Hash)>,
    last_good_checkpoint: u64,
    latest_matching: Option<(u64, Hash, String)>,
    notes: BTreeMap<u64, String>,
    stopped: bool,
    tuning: Tuning,
}

impl State {
    fn fail(&mut self, f: Failure) {
        *self.report.counts.entry(f.kind.as_str()).or_insert(0) += 1;
        if f.kind == FailureKind::Redacted {
            return;
        }
        self.report.errors_total += 1;
        if self.report.failure.is_none() {
            self.report.failure = Some(f);
        } else if self.report.more_failures.len() < MAX_MORE_FAILURES {
            self.report.more_failures.push(f);
        }
    }
}

fn failure(kind: FailureKind, index: Option<u64>, detail: impl Into<String>) -> Failure {
    Failure {
        kind,
        index,
        range: None,
        file: None,
        byte_offset: None,
        detail: detail.into(),
    }
}

fn b64(h: &Hash) -> String {
    B64.encode(h)
}

/// Verifies the log in `dir`.
///
/// Returns `Err` only when the log cannot be opened at all (no `log.json`, unreadable
/// directory); every finding about its contents, including bytes that do not parse, is in the
/// [`Report`].
///
/// # Errors
/// [`AuditError`] when the log cannot be opened.
pub fn verify_log(dir: &Path, opts: &VerifyOptions<'_>) -> Result<Report, OpenError> {
    verify_log_tuned(dir, opts, Tuning::default())
}

/// [`verify_log`] with explicit pipeline sizes.
pub(crate) fn verify_log_tuned(
    dir: &Path,
    opts: &VerifyOptions<'_>,
    tuning: Tuning,
) -> Result<Report, OpenError> {
    let config = LogConfig::load(dir)?;
    let segments =
        store::list_segments(dir).map_err(AuditError::io("list", &store::segments_dir(dir)))?;
    let cps =
        store::list_checkpoints(dir).map_err(AuditError::io("read", &dir.join("checkpoints")))?;
    let mut st = State {
        report: Report {
            status: "ok",
            origin: config.origin.clone(),
            entries: 0,
            root: String::new(),
            failure: None,
            first_bad_index: None,
            counts: BTreeMap::new(),
            errors_total: 0,
            checkpoints_checked: 0,
            latest_checkpoint: None,
            pinned: None,
            redacted: Vec::new(),
            torn_tail_bytes: 0,
            more_failures: Vec::new(),
            pin: None,
        },
        range: CompactRange::new(),
        prev: leaf::genesis_hash(&config.origin),
        roots: BTreeMap::new(),
        pinned: None,
        last_good_checkpoint: 0,
        latest_matching: None,
        notes: BTreeMap::new(),
        stopped: false,
        tuning,
    };
    let chunk = tuning.read_chunk.max(1);

    // 1. Stored checkpoints.
    for (path, bytes) in &cps {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned());
        match SignedCheckpoint::open(bytes, &opts.known, Some(&config.origin)) {
            Ok(cp) => {
                st.report.checkpoints_checked += 1;
                let c = cp.checkpoint;
                match st.roots.get(&c.size) {
                    Some(r) if *r != c.root => st.fail(Failure {
                        file,
                        ..failure(
                            FailureKind::Fork,
                            None,
                            format!(
                                "two valid checkpoints of size {} have different roots",
                                c.size
                            ),
                        )
                    }),
                    _ => {
                        st.roots.insert(c.size, c.root);
                        st.notes.insert(c.size, cp.note);
                    }
                }
            }
            Err(e) => {
                let kind = checkpoint_failure_kind(&e);
                st.fail(Failure {
                    file,
                    ..failure(kind, None, format!("stored checkpoint: {e}"))
                });
            }
        }
    }

    // 2. Pinned state.
    if let Some(pinned) = &opts.pinned {
        match SignedCheckpoint::open(pinned, &opts.known, Some(&config.origin)) {
            Ok(cp) => {
                let c = cp.checkpoint;
                st.report.pinned = Some(CheckpointSummary {
                    size: c.size,
                    root: b64(&c.root),
                });
                if let Some(r) = st.roots.get(&c.size) {
                    if *r != c.root {
                        st.fail(failure(
                            FailureKind::Fork,
                            None,
                            format!(
                                "the log's checkpoint of size {} differs from the pinned one",
                                c.size
                            ),
                        ));
                    }
                }
                st.pinned = Some((c.size, c.root));
            }
            Err(e) => {
                let kind = checkpoint_failure_kind(&e);
                st.fail(failure(kind, None, format!("pinned checkpoint: {e}")));
            }
        }
    }
    check_empty_checkpoint(&mut st);

    // 3. Stream the segments.
    let total: u64 = segments
        .iter()
        .filter_map(|s| std::fs::metadata(&s.path).ok())
        .map(|m| m.len())
        .sum();
    let mut done = 0u64;
    let mut buf: Vec<u8> = Vec::with_capacity(chunk + 2 * (leaf::MAX_LEAF_LEN + 36));
    let mut next: Vec<u8> = Vec::with_capacity(buf.capacity());
    for (si, seg) in segments.iter().enumerate() {
        if st.stopped {
            break;
        }
        let is_last = si + 1 == segments.len();
        let name = seg
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let mut file = match File::open(&seg.path) {
            Ok(f) => f,
            Err(e) => {
                st.fail(Failure {
                    file: name,
                    ..failure(
                        FailureKind::Malformed,
                        Some(st.range.size()),
                        format!("segment unreadable: {e}"),
                    )
                });
                st.stopped = true;
                break;
            }
        };
        let mut header = [0u8; HEADER_LEN];
        let header_ok = read_full(&mut file, &mut header).ok() == Some(HEADER_LEN);
        let expected = st.range.size();
        let parsed = segment::read_header(&header);
        let version = parsed.map_or(segment::SEGMENT_VERSION, |h| h.version);
        match (header_ok, parsed.map(|h| h.first_index)) {
            (true, Ok(first)) if first == seg.first_index && first == expected => {}
            (true, Ok(first)) if first == seg.first_index && first > expected => {
                st.fail(Failure {
                    file: name.clone(),
                    ..failure(
                        FailureKind::IndexGap,
                        Some(expected),
                        format!(
                            "entries {expected}..{first} are missing (segment starts at {first})"
                        ),
                    )
                });
                st.stopped = true;
                break;
            }
            (true, Ok(_)) => {
                st.fail(Failure {
                    file: name.clone(),
                    byte_offset: Some(0),
                    ..failure(
                        FailureKind::IndexGap,
                        Some(expected),
                        "segment header's first index does not continue the log",
                    )
                });
                st.stopped = true;
                break;
            }
            _ => {
                st.fail(Failure {
                    file: name.clone(),
                    byte_offset: Some(0),
                    ..failure(FailureKind::Malformed, Some(expected), "bad segment header")
                });
                st.stopped = true;
                break;
            }
        }
        done += HEADER_LEN as u64;
        let mut file_offset = HEADER_LEN as u64;
        buf.clear();
        let mut eof = false;
        // The first fill is synchronous; every later one is read by a helper thread into
        // `next` while the records of `buf` are checked (see the end of the loop).
        let mut pending = Some(fill(&mut file, &mut buf, chunk));
        loop {
            match pending.take() {
                Some(Ok(at_end)) => eof = at_end,
                Some(Err(e)) => {
                    st.fail(Failure {
                        file: name.clone(),
                        ..failure(
                            FailureKind::Malformed,
                            Some(st.range.size()),
                            format!("segment read error: {e}"),
                        )
                    });
                    st.stopped = true;
                    break;
                }
                None => {}
            }
            let (mut records, stop) = segment::parse_records_in(&buf, version);
            // Version 2 (preallocated): where the data ends, if it ends in this buffer, and how
            // far non-zero bytes reach past that end (0: only the reservation's zeros).
            let mut data_end = None;
            let mut garbage = 0u64;
            if version >= 2 {
                data_end = match stop {
                    Some((off, Frame::End)) => Some(off),
                    Some((off, Frame::Incomplete))
                        if eof && segment::nonzero_len(&buf[off..]) == 0 =>
                    {
                        Some(off)
                    }
                    None if eof => Some(buf.len()),
                    _ => None,
                };
                if let Some(end) = data_end {
                    match nonzero_extent(&mut file, &buf[end..], &mut next, chunk) {
                        Ok(n) => garbage = n,
                        Err(e) => {
                            st.fail(Failure {
                                file: name.clone(),
                                ..failure(
                                    FailureKind::Malformed,
                                    Some(st.range.size()),
                                    format!("segment read error: {e}"),
                                )
                            });
                            st.stopped = true;
                            break;
                        }
                    }
                    eof = true;
                }
                // A last record that looks cut (see segment::looks_torn) at the end of the
                // log's data is an unacknowledged append, as an incomplete record is in version
                // 1. Before the end is in sight it is held back and looked at again with the
                // next buffer.
                let decidable =
                    data_end.is_some() || (!eof && !matches!(stop, Some((_, Frame::BadLength))));
                // (The pop is the hold-back; only at the end are its bytes counted.)
                if is_last && decidable && records.last().is_some_and(segment::looks_torn) {
                    if let Some(r) = records.pop() {
                        if data_end.is_some() {
                            let written = &buf[r.offset..r.offset + r.encoded_len()];
                            st.report.torn_tail_bytes += segment::nonzero_len(written) as u64;
                        }
                    }
                }
            }
            let consumed = records.last().map_or(0, |r| r.offset + r.encoded_len());
            // The next buffer starts with the unconsumed tail (less than one record) and is
            // filled from the file while this one's records are checked.
            next.clear();
            next.extend_from_slice(&buf[consumed..]);
            let read = std::thread::scope(|s| {
                let reader = (!eof).then(|| {
                    let (f, n) = (&mut file, &mut next);
                    s.spawn(move || fill(f, n, chunk))
                });
                process_records(&mut st, dir, opts, &records, name.as_deref(), file_offset);
                reader.map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(io::Error::other("the reader thread failed")))
                })
            });
            if st.stopped {
                break;
            }
            if let Some(end) = data_end {
                if garbage > 0 {
                    if is_last {
                        st.report.torn_tail_bytes += garbage;
                    } else {
                        st.fail(Failure {
                            file: name.clone(),
                            byte_offset: Some(file_offset + end as u64),
                            ..failure(
                                FailureKind::Malformed,
                                Some(st.range.size()),
                                "a segment other than the last has bytes after the end of its data",
                            )
                        });
                        st.stopped = true;
                    }
                }
                done += (buf.len() - consumed) as u64;
                if let Some(p) = opts.progress {
                    p(done, total);
                }
                break;
            }
            match stop {
                Some((off, Frame::BadLength)) => {
                    st.fail(Failure {
                        file: name.clone(),
                        byte_offset: Some(file_offset + off as u64),
                        ..failure(
                            FailureKind::Malformed,
                            Some(st.range.size()),
                            "record framing is broken (impossible length)",
                        )
                    });
                    st.stopped = true;
                    break;
                }
                Some((off, _incomplete)) if eof => {
                    let rest = (buf.len() - off) as u64;
                    if is_last {
                        st.report.torn_tail_bytes = rest;
                    } else {
                        st.fail(Failure {
                            file: name.clone(),
                            byte_offset: Some(file_offset + off as u64),
                            ..failure(
                                FailureKind::Malformed,
                                Some(st.range.size()),
                                "a segment other than the last ends inside a record",
                            )
                        });
                        st.stopped = true;
                    }
                    break;
                }
                _ => {}
            }
            file_offset += consumed as u64;
            done += consumed as u64;
            if let Some(p) = opts.progress {
                p(done, total);
            }
            if eof && buf.len() == consumed {
                break;
            }
            std::mem::swap(&mut buf, &mut next);
            pending = read;
        }
    }

    // 4. Sizes beyond the log.
    let n = st.range.size();
    st.report.entries = n;
    st.report.root = b64(&st.range.root());
    if !st.stopped {
        let beyond: Vec<u64> = st.roots.range(n + 1..).map(|(s, _)| *s).collect();
        if let Some(max) = beyond.last() {
            st.fail(Failure {
                range: Some((n, *max)),
                ..failure(
                    FailureKind::Truncated,
                    Some(n),
                    format!("a signed checkpoint has {max} entries but the log has {n}"),
                )
            });
        }
        if let Some((ps, _)) = st.pinned {
            if ps > n {
                st.fail(Failure {
                    range: Some((n, ps)),
                    ..failure(
                        FailureKind::Truncated,
                        Some(n),
                        format!("the pinned checkpoint has {ps} entries but the log has {n}"),
                    )
                });
            }
        }
    }
    let pinned_size = st.pinned.map_or(0, |p| p.0);
    if let Some((size, root, note)) = st.latest_matching.take() {
        st.report.latest_checkpoint = Some(CheckpointSummary {
            size,
            root: b64(&root),
        });
        if size >= pinned_size {
            st.report.pin = Some(note);
        }
    }
    if st.report.pin.is_none() {
        if let Some(p) = &opts.pinned {
            st.report.pin = String::from_utf8(p.clone()).ok();
        }
    }
    st.report.first_bad_index = first_bad_index(&st.report);
    if st.report.failure.is_some() {
        st.report.status = "failed";
    }
    Ok(st.report)
}

/// The first failure in check order decides when it pinpoints an entry; otherwise the earliest
/// pinpointed entry of any later failure, else the start of the earliest suspect range.
fn first_bad_index(r: &Report) -> Option<u64> {
    let first = r.failure.as_ref()?;
    if first.range.is_none() {
        if let Some(i) = first.index {
            return Some(i);
        }
    }
    let all = r.failure.iter().chain(r.more_failures.iter());
    let exact = all
        .clone()
        .filter(|f| f.range.is_none())
        .filter_map(|f| f.index)
        .min();
    exact.or_else(|| all.filter_map(|f| f.range.map(|r| r.0)).min())
}

fn checkpoint_failure_kind(e: &CheckpointError) -> FailureKind {
    match e {
        CheckpointError::Note(NoteError::BadSignature { .. } | NoteError::NoKnownSignature) => {
            FailureKind::BadSignature
        }
        _ => FailureKind::Malformed,
    }
}

/// Tops `buf` up to `chunk` bytes plus room for one whole record; returns whether the file
/// ended. On an error `buf` is left as it was.
fn fill(file: &mut File, buf: &mut Vec<u8>, chunk: usize) -> io::Result<bool> {
    let old = buf.len();
    // What is carried over is less than two records; reading at least one more record's worth
    // guarantees progress whatever the chunk size.
    let room = leaf::MAX_LEAF_LEN + 36;
    let want = (chunk + room).saturating_sub(old).max(room);
    // read_to_end fills the spare capacity without zeroing it first.
    match file.take(want as u64).read_to_end(buf) {
        Ok(n) => Ok(n < want),
        Err(e) => {
            buf.truncate(old);
            Err(e)
        }
    }
}

/// How far non-zero bytes reach into `tail` followed by the rest of `file` (0 when all of it is
/// zeros, the reservation of a preallocated segment). Reads the rest of the file through
/// `scratch`.
fn nonzero_extent(
    file: &mut File,
    tail: &[u8],
    scratch: &mut Vec<u8>,
    chunk: usize,
) -> io::Result<u64> {
    let mut extent = segment::nonzero_len(tail) as u64;
    let mut pos = tail.len() as u64;
    loop {
        scratch.clear();
        let at_end = fill(file, scratch, chunk)?;
        let n = segment::nonzero_len(scratch);
        if n > 0 {
            extent = pos + n as u64;
        }
        pos += scratch.len() as u64;
        if at_end {
            return Ok(extent);
        }
    }
}

fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A per-record finding of a worker, before it is turned into a [`Failure`].
struct Finding {
    pos: u64,
    offset: usize,
    kind: FailureKind,
    index: u64,
    detail: String,
}

/// What one worker returns for its run of blocks: findings (rare), payload commitments to
/// check (in order), and the root of every block.
#[derive(Default)]
struct RunResult {
    findings: Vec<Finding>,
    payloads: Vec<(u64, PayloadRef)>,
    roots: Vec<Hash>,
}

/// The widest subtree a worker hashes in one piece; small enough to balance the workers, large
/// enough that the sequential merge of block roots is negligible.
const MAX_BLOCK: u64 = 1024;
const MAX_BLOCK_USIZE: usize = 1024;
/// Runs per worker thread in one buffer, handed out dynamically.
const RUNS_PER_THREAD: usize = 4;

/// Splits leaf positions `[start, end)` into aligned perfect subtrees of at most [`MAX_BLOCK`]
/// leaves, never crossing a size in `cuts` (where a root must be compared).
fn blocks(start: u64, end: u64, cuts: &[u64]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut pos = start;
    let mut cuts = cuts
        .iter()
        .copied()
        .filter(|c| *c > start && *c < end)
        .peekable();
    while pos < end {
        while cuts.peek().is_some_and(|c| *c <= pos) {
            cuts.next();
        }
        let limit = cuts.peek().copied().unwrap_or(end);
        let mut w = if pos == 0 {
            MAX_BLOCK
        } else {
            (1u64 << pos.trailing_zeros()).min(MAX_BLOCK)
        };
        while w > limit - pos {
            w >>= 1;
        }
        out.push((pos, w));
        pos += w;
    }
    out
}

/// Checks every record of the blocks `run` — leaf hash, syntax, index, chain link — and hashes
/// each block's subtree. `first_prev` is the expected link of the chunk's first record.
fn check_run(
    records: &[segment::Record<'_>],
    start: u64,
    run: &[(u64, u64)],
    first_prev: &Hash,
    check_payloads: bool,
) -> RunResult {
    let mut out = RunResult {
        roots: Vec::with_capacity(run.len()),
        ..RunResult::default()
    };
    let mut hashes: Vec<Hash> = Vec::with_capacity(MAX_BLOCK_USIZE);
    for &(bpos, w) in run {
        hashes.clear();
        // Block positions lie inside `records`, whose length is a usize.
        let from = usize::try_from(bpos - start).unwrap_or(usize::MAX);
        let w = usize::try_from(w).unwrap_or(0);
        for i in from..from.saturating_add(w).min(records.len()) {
            let r = &records[i];
            let pos = start + i as u64;
            let computed = leaf_hash(r.leaf);
            hashes.push(computed);
            let mut find = |kind, index, detail: String| {
                out.findings.push(Finding {
                    pos,
                    offset: r.offset,
                    kind,
                    index,
                    detail,
                });
            };
            let hash_ok = computed == r.stored_hash;
            if !hash_ok {
                find(
                    FailureKind::LeafHashMismatch,
                    pos,
                    format!("entry {pos} does not hash to its stored leaf hash"),
                );
            }
            match leaf::check(r.leaf) {
                Err(e) => find(
                    FailureKind::Malformed,
                    pos,
                    format!("entry {pos} does not parse: {e}"),
                ),
                Ok(head) => {
                    if head.index != pos {
                        find(
                            FailureKind::IndexGap,
                            pos,
                            format!("entry at position {pos} carries index {}", head.index),
                        );
                    }
                    let expected = if i == 0 {
                        first_prev
                    } else {
                        &records[i - 1].stored_hash
                    };
                    // An entry whose own bytes were altered already failed above; its link is
                    // not a second finding.
                    if head.prev_leaf_hash != *expected && hash_ok {
                        let bad = pos.saturating_sub(1);
                        find(
                            FailureKind::ChainBreak,
                            bad,
                            format!(
                                "entry {pos} does not link to entry {bad} (one of the two was altered)"
                            ),
                        );
                    }
                    if check_payloads {
                        if let Some(p) = head.payload {
                            out.payloads.push((pos, p));
                        }
                    }
                }
            }
        }
        out.roots.push(super::merkle::root(&hashes));
    }
    out
}

/// Runs [`check_run`] over `blocks` on up to `threads` threads, each taking a contiguous run of
/// blocks of about equal leaf count; results in block order.
fn check_parallel(
    records: &[segment::Record<'_>],
    start: u64,
    blocks: &[(u64, u64)],
    first_prev: &Hash,
    check_payloads: bool,
    threads: usize,
    min_parallel: usize,
) -> Option<Vec<RunResult>> {
    if threads <= 1 || records.len() < min_parallel {
        return Some(vec![check_run(
            records,
            start,
            blocks,
            first_prev,
            check_payloads,
        )]);
    }
    // More runs than threads, taken from a shared counter: a worker slowed by another thread
    // sharing its core (the segment reader) takes fewer runs instead of delaying the rest.
    let pieces = (threads * RUNS_PER_THREAD) as u64;
    let per = (records.len() as u64).div_ceil(pieces);
    let mut runs: Vec<&[(u64, u64)]> = Vec::with_capacity(threads * RUNS_PER_THREAD + 1);
    let mut begin = 0;
    let mut acc = 0;
    for (i, b) in blocks.iter().enumerate() {
        acc += b.1;
        if acc >= per {
            runs.push(&blocks[begin..=i]);
            begin = i + 1;
            acc = 0;
        }
    }
    if begin < blocks.len() {
        runs.push(&blocks[begin..]);
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(run) = runs.get(i) else {
                return done;
            };
            done.push((
                i,
                check_run(records, start, run, first_prev, check_payloads),
            ));
        }
    };
    std::thread::scope(|s| {
        // The calling thread is one of the workers.
        let handles: Vec<_> = (1..threads.min(runs.len()))
            .map(|_| s.spawn(work))
            .collect();
        let mut all = work();
        for h in handles {
            all.extend(h.join().ok()?);
        }
        all.sort_unstable_by_key(|(i, _)| *i);
        Some(all.into_iter().map(|(_, r)| r).collect())
    })
}

fn process_records(
    st: &mut State,
    dir: &Path,
    opts: &VerifyOptions<'_>,
    records: &[segment::Record<'_>],
    file: Option<&str>,
    file_offset: u64,
) {
    let Some(last) = records.last() else {
        return;
    };
    let start = st.range.size();
    let end = start + records.len() as u64;
    let mut cuts: Vec<u64> = st.roots.range(start + 1..end).map(|(s, _)| *s).collect();
    if let Some((ps, _)) = st.pinned {
        cuts.push(ps);
    }
    cuts.sort_unstable();
    let blocks = blocks(start, end, &cuts);
    let Some(results) = check_parallel(
        records,
        start,
        &blocks,
        &st.prev,
        opts.check_payloads,
        opts.threads.clamp(1, 16),
        st.tuning.min_parallel,
    ) else {
        // A worker panicked: treat as unparseable rather than silently skipping entries.
        st.fail(failure(
            FailureKind::Malformed,
            Some(start),
            "internal: a verification worker failed",
        ));
        st.stopped = true;
        return;
    };
    st.prev = last.stored_hash;
    // Merge in stream order: per block, its records' findings and payload checks (by
    // position), then the fold and the root comparisons at the block's end.
    let mut findings = results.iter().flat_map(|r| r.findings.iter()).peekable();
    let mut payloads = results.iter().flat_map(|r| r.payloads.iter()).peekable();
    let roots = results.iter().flat_map(|r| r.roots.iter());
    for (&(bpos, w), root) in blocks.iter().zip(roots) {
        let bend = bpos + w;
        loop {
            let f_pos = findings.peek().map(|f| f.pos).filter(|p| *p < bend);
            let p_pos = payloads.peek().map(|p| p.0).filter(|p| *p < bend);
            let take_finding = match (f_pos, p_pos) {
                (None, None) => break,
                (Some(a), Some(b)) => a <= b,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            if take_finding {
                if let Some(f) = findings.next() {
                    st.fail(Failure {
                        file: file.map(str::to_owned),
                        byte_offset: Some(file_offset + f.offset as u64),
                        ..failure(f.kind, Some(f.index), f.detail.clone())
                    });
                }
            } else if let Some((pos, p)) = payloads.next() {
                check_payload(st, dir, *pos, p);
            }
        }
        st.range.push_subtree(w.trailing_zeros(), *root);
        check_roots(st);
    }
}

fn check_roots(st: &mut State) {
    let size = st.range.size();
    if let Some(root) = st.roots.get(&size).copied() {
        let ours = st.range.root();
        if ours == root {
            st.last_good_checkpoint = size;
            let note = st.notes.get(&size).cloned().unwrap_or_default();
            st.latest_matching = Some((size, root, note));
        } else {
            let lo = st.last_good_checkpoint;
            st.fail(Failure {
                range: Some((lo, size)),
                ..failure(
                    FailureKind::RootMismatch,
                    None,
                    format!(
                        "entries do not match the signed checkpoint of size {size}; the change is in entries {lo}..{size}"
                    ),
                )
            });
        }
    }
    if let Some((ps, proot)) = st.pinned {
        if ps == size && st.range.root() != proot {
            st.fail(Failure {
                range: Some((0, size)),
                ..failure(
                    FailureKind::Fork,
                    None,
                    format!("the log no longer extends the pinned checkpoint of size {size}"),
                )
            });
        }
    }
}

fn check_payload(st: &mut State, dir: &Path, index: u64, p: &PayloadRef) {
    let path: PathBuf = store::payload_path(dir, index);
    // The leaf says how long the payload is: read at most one byte more, so an oversized file in
    // an untrusted log directory cannot exhaust the auditor's memory.
    let bounded = File::open(&path).and_then(|f| {
        let mut bytes = Vec::new();
        f.take(p.len.saturating_add(33)).read_to_end(&mut bytes)?;
        Ok(bytes)
    });
    match bounded {
        Ok(bytes) if bytes.len() >= 32 => {
            let mut salt = [0u8; 32];
            salt.copy_from_slice(&bytes[..32]);
            let body = &bytes[32..];
            if body.len() as u64 != p.len
                || !crate::secret::ct_eq(&leaf::payload_commitment(&salt, body), &p.commitment)
            {
                st.fail(failure(
                    FailureKind::PayloadMismatch,
                    Some(index),
                    format!("the payload of entry {index} does not match its commitment"),
                ));
            }
        }
        Ok(_) => st.fail(failure(
            FailureKind::PayloadMismatch,
            Some(index),
            format!("the payload file of entry {index} is truncated"),
        )),
        Err(_) => {
            if st.report.redacted.len() < MAX_REDACTED_LISTED {
                st.report.redacted.push(index);
            }
            st.fail(failure(
                FailureKind::Redacted,
                Some(index),
                format!("the payload of entry {index} was deleted"),
            ));
        }
    }
}

/// A checkpoint of size 0 is checked against the empty root before streaming.
fn check_empty_checkpoint(st: &mut State) {
    if let Some(root) = st.roots.get(&0).copied() {
        if root == super::merkle::EMPTY_ROOT {
            st.latest_matching = Some((0, root, st.notes.get(&0).cloned().unwrap_or_default()));
        } else {
            st.fail(Failure {
                range: Some((0, 0)),
                ..failure(
                    FailureKind::RootMismatch,
                    None,
                    "a checkpoint of size 0 has a non-empty root",
                )
            });
        }
    }
}
