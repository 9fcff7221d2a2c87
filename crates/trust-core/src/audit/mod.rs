//! The tamper-evident audit log: append, checkpoint, prove, verify.
//!
//! Connector apps promise an "immutable audit trail of administrative actions". This module makes
//! the promise checkable by someone who does not trust the operator:
//!
//! * Every entry is a canonical binary [`Leaf`] that carries its own `index` and the hash of
//!   the previous leaf, so a single streaming pass pinpoints the **first bad entry**.
//! * The leaf hashes form an RFC 9162 Merkle tree ([`merkle`]), which gives O(log n) inclusion
//!   receipts and consistency ("append-only") proofs that third-party tooling understands.
//! * [`Checkpoint`]s — C2SP `tlog-checkpoint` bodies signed as C2SP `signed-note`s with Ed25519
//!   ([`Note`]) — commit to the tree; an auditor pins the last one they verified, so a later
//!   truncation or rewrite (a fork) is detected.
//! * Nothing personal is hashed: actors and subjects are keyed [`crate::pseudonym`]s, payloads
//!   are salted commitments with the bytes stored apart, where erasure can delete them; the
//!   verifier then reports the entry as `REDACTED`, not tampered.
//!
//! ## Writing
//!
//! ```
//! use trust_core::audit::{AuditLog, Entry, InitOptions};
//! # let tmp = tempfile::tempdir().unwrap();
//! # let dir = tmp.path().join("log");
//! let vkey = AuditLog::init(&dir, &InitOptions::new("example.com/audit"))?;
//! let log = AuditLog::open(&dir)?;
//! let mut e = Entry::new("key.rotate");
//! e.actor = Some("ops@example.com".into()); // stored only as a pseudonym
//! e.attrs.insert("key".into(), "orders".into());
//! let index = log.append(&e)?;
//! let cp = log.checkpoint()?;             // signed tlog-checkpoint note
//! let receipt = log.prove(index, None)?;  // tlog-proof, verifiable offline
//! receipt.verify(&[vkey.clone()], Some("example.com/audit"), None)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Appends are durable when they return (one `fsync` per [`AuditLog::append_batch`]; batches
//! from concurrent threads are coalesced into one `fsync`: group commit), serialized by one lock
//! per log directory, and survive `kill -9` and torn writes ([`DirStore`]). The lock is held only
//! around each write, so several processes (operators' CLI commands next to an application)
//! append to one log; a writer waits for it at most [`DEFAULT_LOCK_WAIT`] unless told otherwise.
//!
//! Other modules write through [`crate::event::EventSink`], which [`AuditLog`] implements: hand
//! the same `Arc<AuditLog>` to the keyring and to GDPR, and every rotation, destruction and
//! erasure becomes a leaf (actor and subject pseudonymized, attributes kept):
//!
//! ```
//! # use std::sync::Arc;
//! # use trust_core::audit::{AuditLog, InitOptions};
//! use trust_core::event::{Event, EventSink};
//! # let tmp = tempfile::tempdir().unwrap();
//! # let dir = tmp.path().join("log");
//! # AuditLog::init(&dir, &InitOptions::new("example.com/audit"))?;
//! let log = Arc::new(AuditLog::open(&dir)?);
//! let sink: Arc<dyn EventSink> = log.clone(); // give this to the keyring / GDPR modules
//! sink.record(&Event::new("key.destroy", std::time::SystemTime::now()).actor("ops").attr("version", 3))?;
//! assert_eq!(log.size()?, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Verifying
//!
//! [`verify_log`] streams the segments in O(log n) memory, checking framing → index
//! continuity → leaf hash → chain link → root at every checkpoint → signatures → consistency with
//! the auditor's pinned checkpoint, and returns a [`Report`] with a stable
//! [`FailureKind`] and `first_bad_index`.
//!
//! Byte layouts and test vectors: `docs/format-audit.md`; the auditor's walk-through:
//! `docs/auditor-guide.md`.

use core::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Category, TrustError};

pub(crate) mod checkpoint;
pub(crate) mod export;
pub(crate) mod leaf;
pub(crate) mod log;
pub mod merkle;
pub(crate) mod note;
pub(crate) mod proof;
pub(crate) mod search;
pub(crate) mod segment;
pub(crate) mod store;
pub(crate) mod verify;

pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
pub use export::{DirExporter, ExportSummary, export_dir};
pub use leaf::{Leaf, LeafError, LeafHead, MAX_LEAF_LEN, PayloadRef};
pub use log::{
    AuditLog, DEFAULT_LOCK_WAIT, Entry, ExternalSigner, InitOptions, LogConfig, NewLog,
    SignerDescriptor, decode_pseudonym_key, encode_pseudonym_key, files, load_pseudonym_key,
    open_signer,
};
pub use note::{ExternalEd25519, Note, NoteError, SignatureLine, Signer, Verifier};
pub use proof::{
    ConsistencyError, MAX_RECEIPT_LEN, Receipt, ReceiptError, format_hash_lines, parse_hash_lines,
    verify_checkpoint_consistency,
};
pub use search::{Query, search};
pub use segment::{Frame, HeaderError, Record};
pub use store::{DEFAULT_SEGMENT_BYTES, DirStore, LogStore, SegmentFile, StoreError};
pub use verify::{
    CheckpointSummary, Failure, FailureKind, OpenError, Report, VerifyOptions, verify_log,
};

/// A failure of a log operation (opening, appending, checkpointing, proving).
#[derive(Debug)]
#[non_exhaustive]
pub enum AuditError {
    /// The directory is not an audit log (no valid `log.json`).
    NotALog(PathBuf),
    /// `init` found an existing log.
    AlreadyExists(PathBuf),
    /// The origin is not a valid note key name.
    BadOrigin,
    /// A key file is malformed or does not match the log.
    BadKeyFile(PathBuf),
    /// An I/O error.
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A storage failure.
    Store(StoreError),
    /// An invalid entry.
    Leaf(LeafError),
    /// A note key problem.
    Note(NoteError),
    /// A checkpoint problem.
    Checkpoint(CheckpointError),
    /// A proof request that cannot be served.
    Merkle(merkle::MerkleError),
    /// The tree disagrees with the newest checkpoint: the log refuses to sign.
    Inconsistent,
    /// No checkpoint of that size is stored.
    NoCheckpoint(u64),
    /// No entry with that index.
    NoSuchEntry(u64),
    /// The OS random generator failed.
    Random,
    /// A panic while holding the writer's lock.
    Poisoned,
    /// A JSONL import line is not a valid entry.
    BadImportLine(String),
    /// A receipt the log just built does not verify: its derived tree files are damaged.
    /// The log checks every receipt before handing it out.
    BadReceipt(ReceiptError),
    /// The log's checkpoint key is external and the key given is not it (or none was given,
    /// or one was given for a log that signs with a key file).
    SignerMismatch,
}

impl AuditError {
    pub(crate) fn io<'a>(
        what: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(io::Error) -> Self + 'a {
        move |source| Self::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotALog(p) => write!(f, "{} is not an audit log", p.display()),
            Self::AlreadyExists(p) => write!(f, "{} already holds an audit log", p.display()),
            Self::BadOrigin => f.write_str(
                "the origin must be non-empty, at most 255 bytes, without spaces or '+'",
            ),
            Self::BadKeyFile(p) => write!(
                f,
                "key file {} is malformed or belongs to another log",
                p.display()
            ),
            Self::Io { what, path, source } => {
                write!(f, "cannot {what} {}: {source}", path.display())
            }
            Self::Store(e) => e.fmt(f),
            Self::Leaf(e) => e.fmt(f),
            Self::Note(e) => e.fmt(f),
            Self::Checkpoint(e) => e.fmt(f),
            Self::Merkle(e) => e.fmt(f),
            Self::Inconsistent => f.write_str(
                "the log's tree is inconsistent with its newest checkpoint; refusing to sign",
            ),
            Self::NoCheckpoint(n) => write!(f, "no checkpoint of size {n} is stored"),
            Self::NoSuchEntry(i) => write!(f, "the log has no entry {i}"),
            Self::Random => f.write_str("the operating system's random number generator failed"),
            Self::Poisoned => f.write_str("the audit log handle is poisoned by an earlier panic"),
            Self::BadImportLine(why) => write!(f, "invalid import line: {why}"),
            Self::BadReceipt(e) => write!(
                f,
                "the receipt built from the log does not verify ({e}); the log's tree files are damaged"
            ),
            Self::SignerMismatch => f.write_str(
                "the checkpoint signing key given does not match the one this audit log records",
            ),
        }
    }
}

impl std::error::Error for AuditError {}

impl TrustError for AuditError {
    fn category(&self) -> Category {
        match self {
            Self::NotALog(_) | Self::BadKeyFile(_) | Self::Io { .. } => Category::Input,
            Self::AlreadyExists(_) | Self::BadOrigin | Self::Leaf(_) => Category::Usage,
            Self::BadImportLine(_) => Category::Usage,
            Self::SignerMismatch => Category::KeyUnavailable,
            Self::NoCheckpoint(_) | Self::NoSuchEntry(_) => Category::Usage,
            Self::Store(e) => e.category(),
            Self::Note(e) => e.category(),
            Self::Checkpoint(e) => e.category(),
            Self::Merkle(e) => e.category(),
            Self::Inconsistent | Self::BadReceipt(_) => Category::Verification,
            Self::Random | Self::Poisoned => Category::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::NotALog(_) => "NOT_AN_AUDIT_LOG",
            Self::AlreadyExists(_) => "AUDIT_LOG_EXISTS",
            Self::BadOrigin => "BAD_ORIGIN",
            Self::BadKeyFile(_) => "BAD_KEY_FILE",
            Self::Io { .. } => "AUDIT_IO",
            Self::Store(e) => e.code(),
            Self::Leaf(e) => e.code(),
            Self::Note(e) => e.code(),
            Self::Checkpoint(e) => e.code(),
            Self::Merkle(e) => e.code(),
            Self::Inconsistent => "FORK",
            Self::NoCheckpoint(_) => "NO_CHECKPOINT",
            Self::NoSuchEntry(_) => "NO_SUCH_ENTRY",
            Self::Random => "RANDOM_FAILED",
            Self::Poisoned => "AUDIT_LOG_POISONED",
            Self::BadImportLine(_) => "BAD_IMPORT_LINE",
            Self::BadReceipt(_) => "RECEIPT_SELF_CHECK_FAILED",
            Self::SignerMismatch => "AUDIT_SIGNER_MISMATCH",
        }
    }
    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::NotALog(_) => {
                Some("create one with `trust audit init --log DIR --origin ORIGIN`")
            }
            Self::NoCheckpoint(_) => Some("sign one with `trust audit checkpoint`, or omit --size"),
            Self::BadReceipt(_) => Some(
                "run `trust audit verify`; if the entries are intact, delete DIR/tree.nodes and DIR/tree.offsets and the next writer rebuilds them from the entries",
            ),
            Self::Store(e) => e.hint(),
            Self::SignerMismatch => Some(
                "open the log with the HSM key named in its log.json (`signer`), whose vkey is in DIR/vkey",
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_external;
