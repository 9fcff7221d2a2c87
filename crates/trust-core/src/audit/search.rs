//! Reading entries back: [`search`] streams the log's entries that match a [`Query`] (index
//! range, event type, actor or subject pseudonym, time range), like rekor-cli's `get` and
//! `search` for a transparency log.
//!
//! Reading takes no lock and needs no key: segments are append-only, and bytes after the last
//! complete record (an append in flight) are not an entry yet. Every record's stored hash is
//! checked as it is read, so a damaged entry is reported rather than shown; the full checks
//! (chain, tree, signatures) stay with [`super::verify_log`].
//!
//! Actors and subjects are stored only as keyed pseudonyms. Whoever holds the log's pseudonym
//! key ([`super::log::load_pseudonym_key`]) can turn a plain id into the pseudonym to search
//! for; an auditor without the key can still search by a pseudonym the operator hands over, and
//! can always group entries by the same (unnamed) actor.

use std::fs;
use std::ops::RangeInclusive;
use std::path::Path;

use super::AuditError;
use super::leaf::Leaf;
use super::log::LogConfig;
use super::merkle::Hash;
use super::segment::{self, Frame, HEADER_LEN};
use super::store::{self, StoreError};

/// Which entries [`search`] yields; every set field must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Query {
    /// Entry indexes, inclusive.
    pub indexes: Option<RangeInclusive<u64>>,
    /// Event type: exact, or a prefix when it ends in `*` (`key.*`).
    pub event_type: Option<String>,
    /// Actor pseudonym.
    pub actor: Option<Hash>,
    /// Subject pseudonym.
    pub subject: Option<Hash>,
    /// Earliest entry time, Unix milliseconds, inclusive.
    pub since_ms: Option<i64>,
    /// Latest entry time, Unix milliseconds, exclusive.
    pub until_ms: Option<i64>,
}

impl Query {
    /// A query matching every entry.
    pub fn all() -> Self {
        Self::default()
    }

    /// Whether `leaf` matches.
    pub fn matches(&self, leaf: &Leaf) -> bool {
        let event_ok = match self.event_type.as_deref() {
            None => true,
            Some(p) => match p.strip_suffix('*') {
                Some(prefix) => leaf.event_type.starts_with(prefix),
                None => leaf.event_type == p,
            },
        };
        event_ok
            && self
                .indexes
                .as_ref()
                .is_none_or(|r| r.contains(&leaf.index))
            && self.actor.is_none_or(|a| leaf.actor == Some(a))
            && self.subject.is_none_or(|s| leaf.subject == Some(s))
            && self.since_ms.is_none_or(|t| leaf.time_unix_ms >= t)
            && self.until_ms.is_none_or(|t| leaf.time_unix_ms < t)
    }
}

/// Calls `each` with every entry of the log at `dir` that matches `query`, in index order,
/// until it returns `false`. Returns the number of entries read.
///
/// # Errors
/// [`AuditError::NotALog`]; [`AuditError::Store`] with [`StoreError::Damaged`] naming the first
/// entry whose bytes do not match their stored hash or do not parse; I/O errors.
pub fn search(
    dir: &Path,
    query: &Query,
    mut each: impl FnMut(Leaf) -> bool,
) -> Result<u64, AuditError> {
    LogConfig::load(dir)?;
    let sdir = store::segments_dir(dir);
    let segments = store::list_segments(dir).map_err(AuditError::io("list", &sdir))?;
    let mut read = 0u64;
    for (n, seg) in segments.iter().enumerate() {
        let next_first = segments.get(n + 1).map(|s| s.first_index);
        if query
            .indexes
            .as_ref()
            .is_some_and(|r| seg.first_index > *r.end())
        {
            break;
        }
        if let (Some(r), Some(next)) = (&query.indexes, next_first) {
            if next <= *r.start() {
                continue;
            }
        }
        let bytes = fs::read(&seg.path).map_err(AuditError::io("read", &seg.path))?;
        let header = segment::read_header(&bytes).map_err(|_| damaged(seg.first_index))?;
        let first = header.first_index;
        let body = bytes.get(HEADER_LEN..).unwrap_or(&[]);
        let (records, stop) = segment::parse_records_in(body, header.version);
        // Only the last segment may end in an unfinished append; a preallocated one ends where
        // its zeros start.
        let last_segment = next_first.is_none();
        let clean_end = |off: usize| segment::nonzero_len(&body[off..]) == 0;
        if let Some((off, frame)) = stop {
            if !(matches!(frame, Frame::End) && (last_segment || clean_end(off)))
                && (!last_segment || !matches!(frame, Frame::Incomplete))
            {
                return Err(damaged(first + records.len() as u64));
            }
        }
        for (i, r) in records.iter().enumerate() {
            let index = first + i as u64;
            let leaf = if r.checksum_ok() {
                Leaf::decode(r.leaf).ok()
            } else if last_segment
                && i + 1 == records.len()
                && matches!(stop, None | Some((_, Frame::End)))
            {
                // The last record of the log, half written by an append in flight (or cut by
                // a crash, which the next writer truncates): not an entry yet.
                break;
            } else {
                None
            };
            read += 1;
            let leaf = leaf
                .filter(|l| l.index == index)
                .ok_or_else(|| damaged(index))?;
            if query.matches(&leaf) && !each(leaf) {
                return Ok(read);
            }
        }
    }
    Ok(read)
}

fn damaged(index: u64) -> AuditError {
    AuditError::Store(StoreError::Damaged {
        reason: format!("entry {index} does not match its stored hash or does not parse"),
    })
}
