//! Where a log lives: the [`LogStore`] trait and its embedded default, [`DirStore`], a
//! directory of segment files.
//!
//! ```text
//! DIR/segments/seg-<first index, 20 digits>.log   framed records (super::segment), append-only
//! DIR/tree.nodes        derived: every perfect-subtree hash, 32 bytes each, in post-order
//! DIR/tree.offsets      derived: byte offset of every record in its segment, u64 BE each
//! DIR/tree.head         "<leaves>\n": how many leaves the two derived files cover durably
//! DIR/checkpoints/cp-<size, 20 digits>-<root hex prefix>.note    signed checkpoints
//! DIR/payloads/<index, 20 digits>.bin                            salt (32) ‖ payload; deletable
//! ```
//!
//! ## Durability protocol
//!
//! An append batch is encoded into one buffer, payload files are written and `fsync`ed, then the
//! buffer is written to the current segment and the segment is `fdatasync`ed **once** (group
//! commit). Only then does the append return: that `fsync` is the acknowledgement. Segments are
//! preallocated ([`PREALLOC_STEP`] at a time, format version 2), so that `fdatasync` writes the
//! data and does not also have to grow the file; the data ends at the first zero length. The derived
//! tree files are written after it without their own `fsync`; they are synced in bulk
//! ([`DirStore::sync_tree`]) and `tree.head` records (atomically) how much of them is durable.
//! After a crash, [`DirStore::open`] drops the derived data past that mark and rebuilds it from
//! the segments, so a proof is never served from a node a crash may have torn.
//!
//! ## Recovery on open
//!
//! Only the last segment can have been cut by a crash. Its records are re-read and checked
//! (framing and the stored leaf hash); at the first bad frame the file is cut **if** that
//! frame is the tail: bytes that end inside a record, a zero/oversized length, or a last record
//! whose hash does not match. Cutting a preallocated (version 2) segment zeroes everything from
//! the cut to the end of the file (truncate, then preallocate again), so bytes of a torn batch
//! can never reappear after a later, shorter append. A bad record followed by good ones is
//! damage, not a torn write:
//! the store refuses to open for writing ([`StoreError::Damaged`]) and the operator runs the
//! verifier. Truncation never goes below the durable `tree.head` mark, which only acknowledged
//! entries reach.

use core::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::merkle::{CompactRange, Hash, MerkleError, NodeSource};
use super::segment::{self, HEADER_LEN};
use crate::durable::{self, LockGuard};
use crate::error::{Category, TrustError};

/// Default size at which a new segment is started.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;
/// Derived tree data is synced at least every this many leaves.
const TREE_SYNC_EVERY: u64 = 1 << 16;
/// How far ahead of its data a segment's file space is reserved. Growing the reservation is a
/// metadata change that the next `fdatasync` carries, so it happens once per this many bytes
/// (≈ 20 000 typical entries) instead of on every append; small enough that an idle log does
/// not hold much unused disk.
pub(crate) const PREALLOC_STEP: u64 = 4 << 20;

/// The storage a log appends to and proves from.
///
/// Implementations must make [`LogStore::append`] durable before returning `Ok` and must keep
/// entries in order; the log above takes care of hashing and chaining.
///
/// Several handles (threads, processes, hosts) may share one log. Every write, and every read of
/// derived data, happens between [`LogStore::lock`] and [`LogStore::unlock`]: `lock` takes the
/// store's exclusive writer lock, waiting at most the given time, and brings the handle's view
/// (size, compact range, last leaf hash) up to date with what other handles appended since.
/// Outside a lock the view may be stale, never wrong.
pub trait LogStore: NodeSource + Send {
    /// Takes the exclusive writer lock, waiting at most `wait`, and refreshes this handle's view
    /// of the log (another handle may have appended since). Taking it while held is a no-op.
    ///
    /// # Errors
    /// [`StoreError::Busy`] when `wait` passed; recovery errors as on open.
    fn lock(&mut self, wait: Duration) -> Result<(), StoreError>;
    /// Releases the writer lock (a no-op when not held).
    fn unlock(&mut self);
    /// Number of entries stored.
    fn size(&self) -> u64;
    /// The compact range (right border) of the stored tree.
    fn compact_range(&self) -> &CompactRange;
    /// The leaf hash of the last entry, if any.
    fn last_leaf_hash(&self) -> Option<Hash>;
    /// Durably appends `records` (leaf bytes and leaf hash), the first at index [`Self::size`].
    ///
    /// # Errors
    /// Any storage failure; the store is then poisoned and refuses further appends.
    fn append(&mut self, records: &[(Vec<u8>, Hash)]) -> Result<(), StoreError>;
    /// Takes the lock for an append. A store whose append can check by itself that nothing was
    /// appended since its view was read (a compare-and-swap on the size, as a database can do in
    /// the append's own statement) may skip the round trip here and keep its last view; its
    /// [`Self::append_if_current`] then reports a stale view. Default: [`Self::lock`].
    ///
    /// # Errors
    /// As [`Self::lock`].
    fn lock_for_append(&mut self, wait: Duration) -> Result<(), StoreError> {
        self.lock(wait)
    }
    /// [`Self::append`] after [`Self::lock_for_append`]: `Ok(false)` when another handle
    /// appended since this handle's view was read, in which case nothing was written and the
    /// caller takes [`Self::lock`] and builds the records again. Default: [`Self::append`].
    ///
    /// # Errors
    /// As [`Self::append`].
    fn append_if_current(&mut self, records: &[(Vec<u8>, Hash)]) -> Result<bool, StoreError> {
        self.append(records).map(|()| true)
    }
    /// The leaf bytes at `index`.
    ///
    /// # Errors
    /// [`StoreError`] when the entry cannot be read.
    fn read_leaf(&self, index: u64) -> Result<Vec<u8>, StoreError>;
    /// Stores a signed checkpoint note durably.
    ///
    /// # Errors
    /// Any storage failure.
    fn put_checkpoint(&mut self, size: u64, root: &Hash, note: &str) -> Result<(), StoreError>;
    /// Stores a payload and its salt durably (before the entry that commits to it).
    ///
    /// # Errors
    /// Any storage failure.
    fn put_payload(
        &mut self,
        index: u64,
        salt: &[u8; 32],
        payload: &[u8],
    ) -> Result<(), StoreError>;
    /// Deletes a payload; `Ok(false)` when there was none.
    ///
    /// # Errors
    /// Any storage failure.
    fn delete_payload(&mut self, index: u64) -> Result<bool, StoreError>;
    /// Makes derived data durable (called at checkpoints and on close).
    ///
    /// # Errors
    /// Any storage failure.
    fn sync(&mut self) -> Result<(), StoreError>;
    /// Every stored checkpoint note, as raw bytes, in any order (the caller verifies and
    /// sorts them). Needs no lock: checkpoints are only ever added.
    ///
    /// # Errors
    /// Any storage failure.
    fn checkpoints(&self) -> Result<Vec<Vec<u8>>, StoreError>;
    /// Called once when the log handle is dropped: best effort, never blocking. The default
    /// takes the lock without waiting and makes derived data durable.
    fn close(&mut self) {
        if self.lock(Duration::ZERO).is_ok() {
            let _ = self.sync();
            self.unlock();
        }
    }
}

/// A storage failure.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// An I/O error on a path.
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The stored bytes are damaged in a way recovery must not repair.
    Damaged {
        /// Description without any log content.
        reason: String,
    },
    /// An earlier write failed; the handle refuses further appends (reopen to recover).
    Poisoned,
    /// The index is beyond the log.
    NoSuchEntry,
    /// Another writer held the log's lock for longer than the caller was willing to wait.
    Busy {
        /// How long the caller waited.
        waited: Duration,
    },
    /// The store's backend (a database server) failed; `code` and `category` are the
    /// backend's own (`STORE_UNREACHABLE`, `STORE_CONNECTION_LOST`, … — exit 3), so callers
    /// see the same error for a log as for any other store. The message never holds a password.
    Backend {
        /// The backend's stable error code.
        code: &'static str,
        /// The backend's exit-code category.
        category: Category,
        /// One line, already redacted.
        message: String,
        /// The backend's hint, if any.
        hint: Option<&'static str>,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { what, path, source } => {
                write!(f, "cannot {what} {}: {source}", path.display())
            }
            Self::Damaged { reason } => write!(f, "the audit log is damaged: {reason}"),
            Self::Poisoned => f.write_str("an earlier write to the audit log failed"),
            Self::NoSuchEntry => f.write_str("no such entry in the audit log"),
            Self::Busy { waited } => write!(
                f,
                "another writer held the audit log's lock for more than {} ms",
                waited.as_millis()
            ),
            Self::Backend { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl TrustError for StoreError {
    fn category(&self) -> Category {
        match self {
            Self::Io { .. } => Category::Input,
            Self::Damaged { .. } => Category::Verification,
            Self::Poisoned => Category::Internal,
            Self::NoSuchEntry => Category::Usage,
            Self::Busy { .. } => Category::Input,
            Self::Backend { category, .. } => *category,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "AUDIT_IO",
            Self::Damaged { .. } => "AUDIT_LOG_DAMAGED",
            Self::Poisoned => "AUDIT_LOG_POISONED",
            Self::NoSuchEntry => "NO_SUCH_ENTRY",
            Self::Busy { .. } => "AUDIT_LOG_BUSY",
            Self::Backend { code, .. } => code,
        }
    }
    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Damaged { .. } => Some("run `trust audit verify` to locate the damage"),
            Self::Poisoned => Some("reopen the log; recovery truncates any unacknowledged tail"),
            Self::Busy { .. } => Some(
                "a writer holds the lock only while it appends; a long wait means a stuck process (see `fuser DIR/.lock`); raise the wait with TRUST_AUDIT_LOCK_WAIT=SECONDS",
            ),
            Self::Backend { hint, .. } => *hint,
            _ => None,
        }
    }
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// A segment file on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentFile {
    /// Index of its first entry (from the file name).
    pub first_index: u64,
    /// Its path.
    pub path: PathBuf,
}

/// The segments directory of a log.
pub(crate) fn segments_dir(dir: &Path) -> PathBuf {
    dir.join("segments")
}

/// The segment files of the log at `dir`, ordered by first index.
///
/// # Errors
/// When the directory cannot be listed.
pub fn list_segments(dir: &Path) -> io::Result<Vec<SegmentFile>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(segments_dir(dir))? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(num) = name
            .strip_prefix("seg-")
            .and_then(|n| n.strip_suffix(".log"))
        else {
            continue;
        };
        if num.len() != 20 {
            continue;
        }
        if let Ok(first_index) = num.parse::<u64>() {
            out.push(SegmentFile {
                first_index,
                path: entry.path(),
            });
        }
    }
    out.sort_by_key(|s| s.first_index);
    Ok(out)
}

fn segment_path(dir: &Path, first_index: u64) -> PathBuf {
    segments_dir(dir).join(format!("seg-{first_index:020}.log"))
}

/// The checkpoint notes stored with the log at `dir`, as raw bytes, ordered by file name
/// (size, then root prefix).
///
/// # Errors
/// When the directory or a file cannot be read.
pub(crate) fn list_checkpoints(dir: &Path) -> io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let cdir = dir.join("checkpoints");
    let mut names: Vec<PathBuf> = match fs::read_dir(&cdir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "note"))
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for p in names {
        let mut bytes = Vec::new();
        File::open(&p)?
            .take(super::note::MAX_NOTE_LEN as u64 + 1)
            .read_to_end(&mut bytes)?;
        out.push((p, bytes));
    }
    Ok(out)
}

/// The file name of the checkpoint of `size` entries with `root` in `DIR/checkpoints/`.
pub(crate) fn checkpoint_file_name(size: u64, root: &Hash) -> String {
    format!("cp-{size:020}-{}.note", hex::encode(&root[..4]))
}

/// The payload file of entry `index`.
pub(crate) fn payload_path(dir: &Path, index: u64) -> PathBuf {
    dir.join("payloads").join(format!("{index:020}.bin"))
}

/// Number of post-order nodes stored for a tree of `n` leaves.
fn node_count(n: u64) -> u64 {
    2 * n - u64::from(n.count_ones())
}

/// Post-order position of node (`level`, `index`).
fn node_position(level: u32, index: u64) -> Option<u64> {
    // The node completes when leaf (index+1)·2^level - 1 is appended, as the (level)-th of the
    // nodes that append completes, counted from the top one.
    let c = index.checked_add(1)?.checked_mul(1u64 << level)?;
    let t = level + (index + 1).trailing_zeros();
    Some(node_count(c) - 1 - u64::from(t - level))
}

/// The embedded store: a directory of segment files plus derived tree files.
#[derive(Debug)]
pub struct DirStore {
    dir: PathBuf,
    segment_bytes: u64,
    size: u64,
    range: CompactRange,
    last_leaf_hash: Option<Hash>,
    segments: Vec<SegmentFile>,
    current: Option<File>,
    /// Bytes of header and records in the current segment (where the next record goes).
    current_len: u64,
    /// The current segment's file length: `current_len` for version 1, the reservation for
    /// version 2.
    current_alloc: u64,
    /// The current segment's format version.
    current_version: u8,
    nodes: File,
    offsets: File,
    tree_synced: u64,
    poisoned: bool,
    /// The writer lock, while held (see [`LogStore::lock`]).
    lock: Option<LockGuard>,
}

/// The writers' lock file inside a log directory.
pub(crate) const LOCK_FILE: &str = ".lock";

/// Takes the exclusive lock on `path`, polling until `wait` has passed.
///
/// Polling rather than a blocking `flock` keeps the wait bounded without a helper thread; the
/// pause grows to 20 ms, far below the time an append holds the lock plus a process start.
///
/// # Errors
/// [`StoreError::Busy`] after `wait`; I/O errors opening the lock file.
pub(crate) fn lock_with_wait(path: &Path, wait: Duration) -> Result<LockGuard, StoreError> {
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(guard) = LockGuard::try_acquire(path).map_err(io_err("lock", path))? {
            return Ok(guard);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(StoreError::Busy { waited: wait });
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

impl DirStore {
    /// Creates the directory layout of an empty log (the directory must exist and be empty of
    /// log files).
    ///
    /// # Errors
    /// Any I/O error.
    pub fn create(dir: &Path) -> Result<(), StoreError> {
        for sub in ["segments", "checkpoints", "payloads"] {
            let p = dir.join(sub);
            durable::create_private_dir(&p).map_err(io_err("create", &p))?;
        }
        durable::write_atomic(&dir.join("tree.head"), b"0\n")
            .map_err(io_err("write", &dir.join("tree.head")))?;
        Ok(())
    }

    /// Opens the store for appending, recovering a torn tail and rebuilding derived data. The
    /// caller holds the log's lock.
    ///
    /// # Errors
    /// [`StoreError::Damaged`] when the tail is damaged beyond a torn write; I/O errors.
    pub fn open(dir: &Path, segment_bytes: u64) -> Result<Self, StoreError> {
        let sdir = segments_dir(dir);
        let mut segments = list_segments(dir).map_err(io_err("list", &sdir))?;
        let head_path = dir.join("tree.head");
        let synced: u64 = fs::read_to_string(&head_path)
            .map_err(io_err("read", &head_path))?
            .trim()
            .parse()
            .map_err(|_| StoreError::Damaged {
                reason: "tree.head is not a number".into(),
            })?;

        // 1. Recover the last segment.
        let mut size = 0u64;
        let mut current_len = 0u64;
        let mut current_alloc = 0u64;
        let mut current_version = segment::SEGMENT_VERSION;
        while let Some(last) = segments.last().cloned() {
            let bytes = fs::read(&last.path).map_err(io_err("read", &last.path))?;
            match segment::read_header(&bytes) {
                Err(segment::HeaderError::Short) => {
                    // A segment whose creation was cut short holds nothing acknowledged.
                    fs::remove_file(&last.path).map_err(io_err("remove", &last.path))?;
                    durable::sync_dir(&sdir).map_err(io_err("sync", &sdir))?;
                    segments.pop();
                    continue;
                }
                Err(_) => {
                    return Err(StoreError::Damaged {
                        reason: format!("segment {} has a bad header", last.path.display()),
                    });
                }
                Ok(h) if h.first_index != last.first_index => {
                    return Err(StoreError::Damaged {
                        reason: format!(
                            "segment {} header disagrees with its name",
                            last.path.display()
                        ),
                    });
                }
                Ok(h) => current_version = h.version,
            }
            let body = &bytes[HEADER_LEN..];
            let (records, stop) = segment::parse_records_in(body, current_version);
            let mut good = records.len();
            if let Some(bad) = records.iter().position(|r| !r.checksum_ok()) {
                // A torn batch can leave complete-looking records with garbage inside, but
                // never a good record after a bad one: that is damage.
                if records[bad + 1..].iter().any(segment::Record::checksum_ok) {
                    return Err(StoreError::Damaged {
                        reason: format!(
                            "entry {} does not match its checksum",
                            last.first_index + bad as u64
                        ),
                    });
                }
                good = bad;
            }
            let good_len = records
                .get(good)
                .map(|r| r.offset)
                .or(stop.map(|(off, _)| off))
                .unwrap_or(body.len());
            size = last.first_index + good as u64;
            if size < synced {
                return Err(StoreError::Damaged {
                    reason: format!("segments hold {size} entries but {synced} were acknowledged"),
                });
            }
            current_len = (HEADER_LEN + good_len) as u64;
            current_alloc = bytes.len() as u64;
            let preallocated = current_version >= 2;
            // Version 1: cut whatever follows the data. Version 2: the same, but only when
            // something other than the zeros of the reservation follows, and the reservation
            // is restored (zero-filled) after the cut.
            let dirty = if preallocated {
                segment::nonzero_len(&body[good_len..]) > 0
            } else {
                current_len < current_alloc
            };
            if dirty {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&last.path)
                    .map_err(io_err("open", &last.path))?;
                f.set_len(current_len)
                    .map_err(io_err("truncate", &last.path))?;
                if preallocated {
                    preallocate(&f, current_len, current_alloc - current_len)
                        .map_err(io_err("preallocate", &last.path))?;
                } else {
                    current_alloc = current_len;
                }
                f.sync_all().map_err(io_err("sync", &last.path))?;
            }
            break;
        }
        let current = match segments.last() {
            Some(last) => Some(
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&last.path)
                    .map_err(io_err("open", &last.path))?,
            ),
            None => None,
        };

        // 2. Derived files: keep only the durable prefix, then rebuild the rest.
        let nodes_path = dir.join("tree.nodes");
        let offsets_path = dir.join("tree.offsets");
        let open_rw = |p: &Path| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(p)
                .map_err(io_err("open", p))
        };
        let nodes = open_rw(&nodes_path)?;
        let offsets = open_rw(&offsets_path)?;
        let mut keep = synced.min(size);
        // Derived files shorter than tree.head claims (deleted, restored from an older backup)
        // are rebuilt from scratch rather than padded.
        let len_of = |f: &File, p: &Path| f.metadata().map(|m| m.len()).map_err(io_err("stat", p));
        if len_of(&nodes, &nodes_path)? < node_count(keep) * 32
            || len_of(&offsets, &offsets_path)? < keep * 8
        {
            keep = 0;
        }
        nodes
            .set_len(node_count(keep) * 32)
            .map_err(io_err("truncate", &nodes_path))?;
        offsets
            .set_len(keep * 8)
            .map_err(io_err("truncate", &offsets_path))?;
        let mut store = Self {
            dir: dir.to_path_buf(),
            segment_bytes,
            size: keep,
            range: CompactRange::new(),
            last_leaf_hash: None,
            segments,
            current,
            current_len,
            current_alloc,
            current_version,
            nodes,
            offsets,
            tree_synced: keep,
            poisoned: false,
            lock: None,
        };
        store.range = store.range_at(keep)?;
        store.last_leaf_hash = match keep {
            0 => None,
            n => Some(store.read_node(0, n - 1)?),
        };
        store.rebuild_from(keep, size)?;
        Ok(store)
    }

    /// The compact range of the first `n` leaves, read from the node file.
    fn range_at(&self, n: u64) -> Result<CompactRange, StoreError> {
        let mut hashes = Vec::new();
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if n & (1u64 << level) != 0 {
                hashes.push(self.read_node(level, start >> level)?);
                start += 1u64 << level;
            }
        }
        CompactRange::from_parts(n, hashes).ok_or(StoreError::Damaged {
            reason: "tree nodes inconsistent".into(),
        })
    }

    fn read_node(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        let pos = node_position(level, index).ok_or(StoreError::NoSuchEntry)?;
        let mut buf = [0u8; 32];
        read_exact_at(&self.nodes, pos * 32, &mut buf)
            .map_err(io_err("read", &self.dir.join("tree.nodes")))?;
        Ok(buf)
    }

    /// Re-reads entries `[from, to)` from the segments into the derived files.
    fn rebuild_from(&mut self, from: u64, to: u64) -> Result<(), StoreError> {
        if from >= to {
            return Ok(());
        }
        let segs: Vec<SegmentFile> = self
            .segments
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                let next = self.segments.get(i + 1).map_or(u64::MAX, |n| n.first_index);
                next > from && s.first_index < to
            })
            .map(|(_, s)| s.clone())
            .collect();
        let mut nodes_buf = Vec::new();
        let mut offsets_buf = Vec::new();
        for seg in segs {
            let bytes = fs::read(&seg.path).map_err(io_err("read", &seg.path))?;
            let version = segment::read_header(&bytes).map_or(0, |h| h.version);
            let (records, _) =
                segment::parse_records_in(bytes.get(HEADER_LEN..).unwrap_or(&[]), version);
            for (i, r) in records.iter().enumerate() {
                let index = seg.first_index + i as u64;
                if index < from || index >= to {
                    continue;
                }
                if index != self.size {
                    return Err(StoreError::Damaged {
                        reason: "segments are not contiguous".into(),
                    });
                }
                offsets_buf.extend_from_slice(&((HEADER_LEN + r.offset) as u64).to_be_bytes());
                self.range
                    .push_with(r.stored_hash, |_, _, h| nodes_buf.extend_from_slice(h));
                self.last_leaf_hash = Some(r.stored_hash);
                self.size += 1;
            }
        }
        if self.size != to {
            return Err(StoreError::Damaged {
                reason: "segments end before the recovered size".into(),
            });
        }
        self.write_derived(&nodes_buf, &offsets_buf)
    }

    fn write_derived(&mut self, nodes: &[u8], offsets: &[u8]) -> Result<(), StoreError> {
        let np = self.dir.join("tree.nodes");
        let op = self.dir.join("tree.offsets");
        self.nodes
            .seek(SeekFrom::End(0))
            .and_then(|_| self.nodes.write_all(nodes))
            .map_err(io_err("write", &np))?;
        self.offsets
            .seek(SeekFrom::End(0))
            .and_then(|_| self.offsets.write_all(offsets))
            .map_err(io_err("write", &op))?;
        Ok(())
    }

    /// Makes the derived tree files durable and advances `tree.head`.
    ///
    /// # Errors
    /// Any I/O error.
    pub fn sync_tree(&mut self) -> Result<(), StoreError> {
        if self.tree_synced == self.size {
            return Ok(());
        }
        let np = self.dir.join("tree.nodes");
        let op = self.dir.join("tree.offsets");
        self.nodes.sync_data().map_err(io_err("sync", &np))?;
        self.offsets.sync_data().map_err(io_err("sync", &op))?;
        let head = self.dir.join("tree.head");
        durable::write_atomic(&head, format!("{}\n", self.size).as_bytes())
            .map_err(io_err("write", &head))?;
        self.tree_synced = self.size;
        Ok(())
    }

    /// Gives back the unused reservation of a full segment before the next one starts, so closed
    /// segments hold only their records (readers accept the zeros either way; this keeps them
    /// off the disk and out of every later read).
    fn close_segment(&mut self) -> Result<(), StoreError> {
        let (Some(f), Some(last)) = (self.current.as_ref(), self.segments.last()) else {
            return Ok(());
        };
        if self.current_alloc > self.current_len {
            f.set_len(self.current_len)
                .and_then(|()| f.sync_all())
                .map_err(io_err("truncate", &last.path))?;
            self.current_alloc = self.current_len;
        }
        Ok(())
    }

    fn start_segment(&mut self) -> Result<(), StoreError> {
        let path = segment_path(&self.dir, self.size);
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err("create", &path))?;
        let alloc = PREALLOC_STEP.min(self.segment_bytes).max(HEADER_LEN as u64);
        f.write_all(&segment::encode_header(self.size))
            .and_then(|()| preallocate(&f, HEADER_LEN as u64, alloc - HEADER_LEN as u64))
            .and_then(|()| f.sync_all())
            .map_err(io_err("write", &path))?;
        let sdir = segments_dir(&self.dir);
        durable::sync_dir(&sdir).map_err(io_err("sync", &sdir))?;
        self.segments.push(SegmentFile {
            first_index: self.size,
            path,
        });
        self.current = Some(f);
        self.current_len = HEADER_LEN as u64;
        self.current_alloc = alloc;
        self.current_version = segment::SEGMENT_VERSION;
        Ok(())
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the files still hold exactly what this handle last wrote or read: no other
    /// handle appended (the last segment grew, or a segment starting at our size appeared), and
    /// the derived files cover exactly our size. Segment lengths only grow, except for torn
    /// tails that recovery cuts back, so equal lengths mean equal contents.
    fn is_current(&self) -> Result<bool, StoreError> {
        let len_of = |p: &Path| match fs::metadata(p) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("stat", p)(e)),
        };
        if let Some(last) = self.segments.last() {
            if len_of(&last.path)? != Some(self.current_alloc) {
                return Ok(false);
            }
            // A preallocated segment keeps its length while another handle appends into the
            // reservation: the bytes where our next record would go must still be zeros.
            if self.current_version >= 2 && self.current_len < self.current_alloc {
                let mut next = [0u8; 4];
                let want = usize::try_from(self.current_alloc - self.current_len).unwrap_or(4);
                let next = &mut next[..want.min(4)];
                let f = self.current.as_ref().ok_or(StoreError::Poisoned)?;
                read_exact_at(f, self.current_len, next).map_err(io_err("read", &last.path))?;
                if next.iter().any(|&b| b != 0) {
                    return Ok(false);
                }
            }
        }
        if len_of(&segment_path(&self.dir, self.size))?.is_some() {
            return Ok(false);
        }
        let np = self.dir.join("tree.nodes");
        let op = self.dir.join("tree.offsets");
        Ok(len_of(&np)? == Some(node_count(self.size) * 32) && len_of(&op)? == Some(self.size * 8))
    }
}

/// Reserves `[offset, offset + len)` of `file` as zero-filled, allocated space, growing the file
/// to cover it. On Linux this is `fallocate(2)` (unwritten extents: no data is written now);
/// where that is not available it falls back to `set_len` (a sparse extension: the same
/// zeros for readers, only without the reservation).
fn preallocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::FallocateFlags;
        use rustix::io::Errno;
        match rustix::fs::fallocate(file, FallocateFlags::empty(), offset, len) {
            Ok(()) => return Ok(()),
            // File systems without fallocate (some network and FUSE ones): sparse instead.
            Err(e) if e == Errno::OPNOTSUPP || e == Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
    }
    let end = offset.saturating_add(len);
    if file.metadata()?.len() < end {
        file.set_len(end)?;
    }
    Ok(())
}

fn write_all_at(file: &File, buf: &[u8], pos: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.write_all_at(buf, pos)
    }
    #[cfg(not(unix))]
    {
        let mut f = file.try_clone()?;
        f.seek(SeekFrom::Start(pos))?;
        f.write_all(buf)
    }
}

fn read_exact_at(file: &File, pos: u64, buf: &mut [u8]) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(buf, pos)
    }
    #[cfg(not(unix))]
    {
        let mut f = file.try_clone()?;
        f.seek(SeekFrom::Start(pos))?;
        f.read_exact(buf)
    }
}

impl NodeSource for DirStore {
    fn node(&self, level: u32, index: u64) -> Result<Hash, MerkleError> {
        let width = 1u64.checked_shl(level).ok_or(MerkleError::Unavailable)?;
        let end = index
            .checked_add(1)
            .and_then(|i| i.checked_mul(width))
            .ok_or(MerkleError::Unavailable)?;
        if end > self.size {
            return Err(MerkleError::Unavailable);
        }
        self.read_node(level, index)
            .map_err(|_| MerkleError::Unavailable)
    }
}

impl LogStore for DirStore {
    fn lock(&mut self, wait: Duration) -> Result<(), StoreError> {
        if self.lock.is_some() {
            return Ok(());
        }
        let guard = lock_with_wait(&self.dir.join(LOCK_FILE), wait)?;
        if self.is_current()? {
            self.lock = Some(guard);
            return Ok(());
        }
        // Someone else wrote: recover and re-read exactly as a fresh open would (torn tails
        // included), still under the lock. A poisoned handle stays poisoned.
        let poisoned = self.poisoned;
        let mut fresh = Self::open(&self.dir, self.segment_bytes)?;
        fresh.poisoned = poisoned;
        fresh.lock = Some(guard);
        *self = fresh;
        Ok(())
    }

    fn unlock(&mut self) {
        self.lock = None;
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn compact_range(&self) -> &CompactRange {
        &self.range
    }

    fn last_leaf_hash(&self) -> Option<Hash> {
        self.last_leaf_hash
    }

    fn append(&mut self, records: &[(Vec<u8>, Hash)]) -> Result<(), StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        if records.is_empty() {
            return Ok(());
        }
        if self.current.is_none() || self.current_len >= self.segment_bytes {
            if let Err(e) = self.close_segment().and_then(|()| self.start_segment()) {
                self.poisoned = true;
                return Err(e);
            }
        }
        let mut buf = Vec::with_capacity(records.iter().map(|r| r.0.len() + 36).sum());
        let mut offsets = Vec::with_capacity(records.len() * 8);
        for (leaf, hash) in records {
            offsets.extend_from_slice(&(self.current_len + buf.len() as u64).to_be_bytes());
            segment::encode_record(&mut buf, leaf, hash);
        }
        let path = self
            .segments
            .last()
            .map(|s| s.path.clone())
            .unwrap_or_default();
        let Some(file) = self.current.as_mut() else {
            return Err(StoreError::Poisoned);
        };
        let end = self.current_len + buf.len() as u64;
        // Grow the reservation before writing past it, in whole steps, so that the fdatasync
        // below only carries a size change once per step. (A version 1 segment is never
        // preallocated: its readers take the end of the file as the end of the data.)
        let mut alloc = self.current_alloc.max(end);
        if self.current_version >= 2 && end > self.current_alloc {
            // Never reserve past the segment's nominal size: the append after that starts a
            // new segment.
            alloc = end
                .saturating_add(PREALLOC_STEP)
                .min(self.segment_bytes)
                .max(end);
            if let Err(e) = preallocate(file, self.current_alloc, alloc - self.current_alloc) {
                self.poisoned = true;
                return Err(io_err("preallocate", &path)(e));
            }
        }
        // The one fsync of the batch: after it, every record is acknowledged.
        if let Err(e) = write_all_at(file, &buf, self.current_len).and_then(|()| file.sync_data()) {
            // A failed fsync may have dropped dirty pages: never retry on this handle.
            self.poisoned = true;
            return Err(io_err("append to", &path)(e));
        }
        self.current_len = end;
        self.current_alloc = alloc;
        let mut nodes = Vec::with_capacity(records.len() * 64);
        for (_, hash) in records {
            self.range
                .push_with(*hash, |_, _, h| nodes.extend_from_slice(h));
            self.last_leaf_hash = Some(*hash);
        }
        self.size += records.len() as u64;
        if let Err(e) = self.write_derived(&nodes, &offsets) {
            self.poisoned = true;
            return Err(e);
        }
        if self.size - self.tree_synced >= TREE_SYNC_EVERY {
            self.sync_tree()?;
        }
        Ok(())
    }

    fn read_leaf(&self, index: u64) -> Result<Vec<u8>, StoreError> {
        if index >= self.size {
            return Err(StoreError::NoSuchEntry);
        }
        let seg = self
            .segments
            .iter()
            .rev()
            .find(|s| s.first_index <= index)
            .ok_or(StoreError::NoSuchEntry)?;
        let mut off = [0u8; 8];
        let op = self.dir.join("tree.offsets");
        read_exact_at(&self.offsets, index * 8, &mut off).map_err(io_err("read", &op))?;
        let off = u64::from_be_bytes(off);
        let f = File::open(&seg.path).map_err(io_err("open", &seg.path))?;
        let mut len = [0u8; 4];
        read_exact_at(&f, off, &mut len).map_err(io_err("read", &seg.path))?;
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 || len > super::leaf::MAX_LEAF_LEN {
            return Err(StoreError::Damaged {
                reason: format!("entry {index} has a bad length"),
            });
        }
        let mut leaf = vec![0u8; len];
        read_exact_at(&f, off + 4, &mut leaf).map_err(io_err("read", &seg.path))?;
        Ok(leaf)
    }

    fn put_checkpoint(&mut self, size: u64, root: &Hash, note: &str) -> Result<(), StoreError> {
        let path = self
            .dir
            .join("checkpoints")
            .join(checkpoint_file_name(size, root));
        durable::write_atomic(&path, note.as_bytes()).map_err(io_err("write", &path))
    }

    fn put_payload(
        &mut self,
        index: u64,
        salt: &[u8; 32],
        payload: &[u8],
    ) -> Result<(), StoreError> {
        let path = payload_path(&self.dir, index);
        let mut bytes = Vec::with_capacity(32 + payload.len());
        bytes.extend_from_slice(salt);
        bytes.extend_from_slice(payload);
        durable::write_atomic(&path, &bytes).map_err(io_err("write", &path))
    }

    fn delete_payload(&mut self, index: u64) -> Result<bool, StoreError> {
        let path = payload_path(&self.dir, index);
        match fs::remove_file(&path) {
            Ok(()) => {
                let pdir = self.dir.join("payloads");
                durable::sync_dir(&pdir).map_err(io_err("sync", &pdir))?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err("remove", &path)(e)),
        }
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        self.sync_tree()
    }

    fn checkpoints(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let cdir = self.dir.join("checkpoints");
        let list = list_checkpoints(&self.dir).map_err(io_err("read", &cdir))?;
        Ok(list.into_iter().map(|(_, bytes)| bytes).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::merkle::{self, leaf_hash};

    #[test]
    fn post_order_positions() {
        // Tree of 4: leaves 0,1 -> node(1,0) -> leaf 2, leaf 3 -> node(1,1) -> node(2,0).
        let expect = [
            ((0, 0), 0),
            ((0, 1), 1),
            ((1, 0), 2),
            ((0, 2), 3),
            ((0, 3), 4),
            ((1, 1), 5),
            ((2, 0), 6),
            ((0, 4), 7),
        ];
        for ((l, i), p) in expect {
            assert_eq!(node_position(l, i), Some(p), "({l},{i})");
        }
    }

    fn records(range: std::ops::Range<u64>) -> Vec<(Vec<u8>, Hash)> {
        range
            .map(|i| {
                let leaf = format!("leaf {i}").into_bytes();
                let h = leaf_hash(&leaf);
                (leaf, h)
            })
            .collect()
    }

    #[test]
    fn append_reopen_prove_and_roll_segments() {
        let dir = tempfile::tempdir().unwrap();
        DirStore::create(dir.path()).unwrap();
        let all = records(0..300);
        let hashes: Vec<Hash> = all.iter().map(|r| r.1).collect();
        {
            let mut s = DirStore::open(dir.path(), 2000).unwrap();
            for chunk in all.chunks(37) {
                s.append(chunk).unwrap();
            }
            assert_eq!(s.compact_range().root(), merkle::root(&hashes));
            // no sync: derived data must be rebuilt on reopen
        }
        assert!(list_segments(dir.path()).unwrap().len() > 3);
        let s = DirStore::open(dir.path(), 2000).unwrap();
        assert_eq!(s.size(), 300);
        assert_eq!(s.compact_range().root(), merkle::root(&hashes));
        for (i, n) in [(0u64, 300u64), (137, 300), (299, 300), (5, 6)] {
            assert_eq!(
                merkle::inclusion_proof_from(&s, i, n).unwrap(),
                merkle::inclusion_proof(&hashes[..usize::try_from(n).unwrap()], i).unwrap()
            );
        }
        assert_eq!(
            merkle::consistency_proof_from(&s, 77, 300).unwrap(),
            merkle::consistency_proof(&hashes, 77).unwrap()
        );
        assert_eq!(s.read_leaf(123).unwrap(), b"leaf 123");
        assert!(matches!(s.read_leaf(300), Err(StoreError::NoSuchEntry)));
        let mut s = s;
        s.sync().unwrap();
        drop(s);
        // Lost derived files are rebuilt from the segments, not padded with zeros.
        fs::remove_file(dir.path().join("tree.nodes")).unwrap();
        let s = DirStore::open(dir.path(), 2000).unwrap();
        assert_eq!(s.compact_range().root(), merkle::root(&hashes));
        assert_eq!(
            merkle::inclusion_proof_from(&s, 42, 300).unwrap(),
            merkle::inclusion_proof(&hashes, 42).unwrap()
        );
    }

    #[test]
    fn torn_tail_is_truncated_but_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        DirStore::create(dir.path()).unwrap();
        {
            let mut s = DirStore::open(dir.path(), DEFAULT_SEGMENT_BYTES).unwrap();
            s.append(&records(0..10)).unwrap();
            s.sync().unwrap();
        }
        let seg = list_segments(dir.path()).unwrap()[0].path.clone();
        let full = fs::read(&seg).unwrap();
        let (recs, _) = segment::parse_records_in(&full[HEADER_LEN..], 2);
        let end = HEADER_LEN + recs.last().map(|r| r.offset + r.encoded_len()).unwrap();
        assert_eq!(full.len() as u64, DEFAULT_SEGMENT_BYTES.min(PREALLOC_STEP));
        assert!(full[end..].iter().all(|&b| b == 0));
        // Torn: half of a new record where the data ends, and bytes of the same torn batch
        // further on (pages written out of order before a power cut).
        let mut torn = full.clone();
        let mut extra = Vec::new();
        segment::encode_record(&mut extra, b"unacknowledged", &leaf_hash(b"unacknowledged"));
        torn[end..end + 20].copy_from_slice(&extra[..20]);
        torn[end + 4096..end + 4096 + extra.len()].copy_from_slice(&extra);
        fs::write(&seg, &torn).unwrap();
        let mut s = DirStore::open(dir.path(), DEFAULT_SEGMENT_BYTES).unwrap();
        assert_eq!(s.size(), 10);
        // Every byte after the data is zero again: a shorter append cannot resurrect the rest.
        assert_eq!(fs::read(&seg).unwrap(), full);
        s.append(&records(10..11)).unwrap();
        drop(s);
        let s = DirStore::open(dir.path(), DEFAULT_SEGMENT_BYTES).unwrap();
        assert_eq!(s.size(), 11);
        drop(s);
        // Last record with a bad hash: torn write of the last record -> dropped... but only
        // above the acknowledged mark; here all 10 were synced, so it is damage.
        fs::write(&seg, &full).unwrap();
        let mut bad = full.clone();
        bad[end - 40] ^= 1;
        fs::write(&seg, &bad).unwrap();
        assert!(matches!(
            DirStore::open(dir.path(), DEFAULT_SEGMENT_BYTES),
            Err(StoreError::Damaged { .. })
        ));
        // A bad record in the middle is damage.
        let mut mid = full.clone();
        mid[HEADER_LEN + 6] ^= 1;
        fs::write(&seg, &mid).unwrap();
        assert!(matches!(
            DirStore::open(dir.path(), DEFAULT_SEGMENT_BYTES),
            Err(StoreError::Damaged { .. })
        ));
    }
}
