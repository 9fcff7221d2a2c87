//! Keyrings: numbered key versions with one Primary, rotated without downtime.
//!
//! A keyring (one per tenant and purpose: `shop-42.credentials`, `orders`) holds versions
//! `v1, v2, …`. New messages are sealed under the **Primary**; every message records which
//! version it used, so opening never tries every key. Rotation is two-phase, as Tink learned:
//!
//! 1. `rotate` adds a **Staged** version: every process can already decrypt under it;
//! 2. after `min_stage_secs` (longer than any process's reload interval), `promote` makes it
//!    Primary; the old Primary becomes **DecryptOnly**;
//! 3. `rewrap` moves old messages' data keys to the new Primary (bodies untouched) and records
//!    how many it moved off each version (the census);
//! 4. `retire` disables the old version (**Disabled**: reversible with `enable`, the "scream
//!    test"); `schedule_destroy` starts the grace period (**PendingDestroy**); `destroy`
//!    erases the material and keeps a **Destroyed** tombstone — without an override only
//!    when every seal the version counted was moved off it by rewrap.
//!
//! See [`VersionState`] for the transition table and [`Keyring::destroy`] for exactly what guards a
//! destruction.
//!
//! ## Pieces
//!
//! | piece | module |
//! |---|---|
//! | life-cycle states and transitions | [`VersionState`], [`Transition`] |
//! | a version's record, the policy | [`VersionRecord`], [`Policy`] |
//! | the rules (one Primary, staging, grace, live-ciphertext guard, usage ceiling) | [`Keyring`] |
//! | the authenticated on-disk format | [`KeyringRecord`], [`parse_file`] (docs/format-keyring.md) |
//! | storage with compare-and-swap | [`KeyringStore`] |
//! | the bounded cache of unwrapped keys | [`KeyCache`] |
//! | all of it with a root key, an event sink and a clock | [`Home`] |
//! | moving many messages to the Primary | [`Rewrapper`] |
//!
//! ## Example
//!
//! ```
//! use std::sync::Arc;
//! use trust_core::event::MemorySink;
//! use trust_core::keyring::{Home, InitSource, Policy, Rollout};
//! use trust_core::root::PassphraseParams;
//! use trust_core::provider::{KeyProvider, KeyRef, Suite};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let audit = Arc::new(MemorySink::new());
//! let home = Home::init(dir.path(), InitSource::KeyFile(dir.path().join("root.key")))?
//!     .with_sink(audit.clone())
//!     .with_actor("ops@example.com");
//! home.create_keyring("orders", Suite::Aes256Gcm, Policy::default())?;
//! let v2 = home.rotate("orders", Rollout::Staged)?; // every process can decrypt under it
//! home.promote(&v2)?;                               // now Primary; v1 is DecryptOnly
//! assert_eq!(home.encryption_key("orders")?.key_ref.version, 2);
//! home.retire(&KeyRef::new("orders", 1))?;          // v1 refuses to decrypt (reversibly)
//! assert_eq!(audit.events().len(), 5);   // create, rotate, promote ×2, retire
//! # Ok(()) }
//! ```

mod bound;
pub(crate) mod cache;
pub(crate) mod file;
mod home;
pub(crate) mod rewrap;
mod ring;
pub(crate) mod state;
pub(crate) mod store;
pub(crate) mod version;

use core::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use bound::{MAX_STORE_NAME, StoreBoundRoot};
pub use cache::KeyCache;
pub use file::{FileError, KeyringRecord, ParsedFile, material_aad, parse as parse_file};
pub use home::{
    Home, HomeOptions, HomeRecordStore, InitSource, MAX_ROOT_URI, RootKind, RotateIfDue, Unlock,
};
pub use rewrap::{
    BatchSummary, ItemResult, ItemStatus, Rewrapper, Sealed, SubjectRewrap, rewrap_item,
};
pub use ring::{Change, ConfigChange, Destroy, DestroyOutcome, Keyring, Rollout, RotationStep};
pub use state::{Transition, VersionState};
pub use store::{DirStore, KeyringStore, MemoryStore, StoreError};
pub use version::{Policy, VersionRecord};

use crate::error::{Category, TrustError};
use crate::event::EventError;
use crate::provider::{KeyError, KeyRef};
use crate::root::RootKeyError;

/// A keyring operation failed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyringError {
    /// A key is unavailable (unknown keyring or version, disabled, destroyed, ceiling reached).
    Key(KeyError),
    /// The root key could not be loaded or does not belong to this home.
    Root(RootKeyError),
    /// Not a valid keyring name.
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// A keyring of that name exists already.
    AlreadyExists {
        /// The name.
        name: String,
    },
    /// The policy is unusable, or a keyring limit was reached.
    InvalidPolicy(&'static str),
    /// The version's state does not allow this operation.
    Transition {
        /// The version.
        key_ref: KeyRef,
        /// Its current state.
        state: VersionState,
        /// What was attempted.
        op: &'static str,
    },
    /// The Staged version has not waited `min_stage_secs` yet.
    StagingTooShort {
        /// The version.
        key_ref: KeyRef,
        /// When it may be promoted (Unix seconds).
        ready_at: i64,
    },
    /// The destruction's grace period is not over.
    GraceNotElapsed {
        /// The version.
        key_ref: KeyRef,
        /// When it may be destroyed (Unix seconds).
        after: i64,
    },
    /// The version sealed messages that rewrap has not (knowingly) moved off it: destroying
    /// it needs [`Destroy::Force`].
    LiveCiphertexts {
        /// The version.
        key_ref: KeyRef,
        /// Seals counted under it (an upper bound).
        uses: u64,
        /// Ciphertexts rewrap moved off it.
        moved: u64,
    },
    /// The keyring file is damaged, torn or tampered with.
    Corrupt {
        /// The keyring.
        name: String,
        /// What is wrong.
        reason: FileError,
    },
    /// Too many concurrent writers: the compare-and-swap kept losing.
    Busy {
        /// The keyring.
        name: String,
    },
    /// No home in this directory.
    NotInitialized {
        /// The directory.
        dir: PathBuf,
    },
    /// A home exists in this directory already.
    HomeExists {
        /// The directory.
        dir: PathBuf,
    },
    /// `home.json` is damaged.
    HomeCorrupt(&'static str),
    /// The request does not fit this home.
    Usage(&'static str),
    /// A file could not be read.
    Read {
        /// What and where, never contents.
        reason: String,
    },
    /// A file could not be written.
    Write {
        /// What and where.
        reason: String,
    },
    /// A path the caller chose cannot be written: a missing folder, no permission, a
    /// read-only filesystem (the caller's input, unlike a full disk).
    Unwritable {
        /// What and where.
        reason: String,
    },
    /// The store failed.
    Store {
        /// The backend's reason.
        reason: String,
    },
    /// A shared store could not be reached or lost the connection; nothing was applied.
    StoreUnavailable {
        /// The backend's reason (server URL without password).
        reason: String,
    },
    /// The change was made but the event could not be recorded.
    Audit(EventError),
    /// The operating system's random number generator failed.
    Random,
    /// An internal lock was poisoned by a panic in another thread.
    Poisoned,
}

impl KeyringError {
    fn read(what: &str, path: &Path, e: &std::io::Error) -> Self {
        Self::Read {
            reason: format!("{what} {}: {e}", path.display()),
        }
    }

    fn write(what: &str, path: &Path, e: &std::io::Error) -> Self {
        use std::io::ErrorKind::{
            IsADirectory, NotADirectory, NotFound, PermissionDenied, ReadOnlyFilesystem,
        };
        let reason = format!("{what} {}: {e}", path.display());
        match e.kind() {
            NotFound | PermissionDenied | NotADirectory | IsADirectory | ReadOnlyFilesystem => {
                Self::Unwritable { reason }
            }
            _ => Self::Write { reason },
        }
    }

    fn store(name: &str, e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(reason) => Self::Corrupt {
                name: name.into(),
                reason,
            },
            StoreError::AlreadyExists => Self::AlreadyExists { name: name.into() },
            StoreError::NotFound => Self::Key(KeyError::UnknownKeyring {
                keyring: name.into(),
            }),
            StoreError::Conflict => Self::Busy { name: name.into() },
            StoreError::Backend(reason) => Self::Store { reason },
            StoreError::Unavailable(reason) => Self::StoreUnavailable { reason },
        }
    }
}

impl From<KeyError> for KeyringError {
    fn from(e: KeyError) -> Self {
        Self::Key(e)
    }
}

impl From<RootKeyError> for KeyringError {
    fn from(e: RootKeyError) -> Self {
        Self::Root(e)
    }
}

fn when(unix: i64) -> String {
    format!("unix time {unix}")
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(e) => e.fmt(f),
            Self::Root(e) => e.fmt(f),
            Self::InvalidName { name } => write!(
                f,
                "{name:?} is not a valid keyring name (1-64 of a-z 0-9 . _ -, not starting with . or -)"
            ),
            Self::AlreadyExists { name } => write!(f, "a keyring named {name:?} already exists"),
            Self::InvalidPolicy(why) => write!(f, "invalid keyring policy: {why}"),
            Self::Transition { key_ref, state, op } => {
                write!(f, "cannot {op} key {key_ref}: it is {state}")
            }
            Self::StagingTooShort { key_ref, ready_at } => write!(
                f,
                "key {key_ref} was staged too recently to promote; it may be promoted at {}",
                when(*ready_at)
            ),
            Self::GraceNotElapsed { key_ref, after } => write!(
                f,
                "key {key_ref} is in its destruction grace period until {}",
                when(*after)
            ),
            Self::LiveCiphertexts {
                key_ref,
                uses,
                moved,
            } => write!(
                f,
                "key {key_ref} may still be needed: it counted {uses} seal(s) and rewrap moved {moved} ciphertext(s) off it"
            ),
            Self::Corrupt { name, reason } => write!(f, "keyring file {name:?} is {reason}"),
            Self::Busy { name } => write!(
                f,
                "keyring {name:?} kept changing under concurrent writers; nothing was changed"
            ),
            Self::NotInitialized { dir } => write!(f, "no trust home in {}", dir.display()),
            Self::HomeExists { dir } => write!(f, "{} already holds a trust home", dir.display()),
            Self::HomeCorrupt(why) => write!(f, "the home file is damaged: {why}"),
            Self::Usage(why) => f.write_str(why),
            Self::Read { reason } => write!(f, "cannot read {reason}"),
            Self::Write { reason } | Self::Unwritable { reason } => {
                write!(f, "cannot write {reason}")
            }
            Self::Store { reason } => write!(f, "the keyring store failed: {reason}"),
            Self::StoreUnavailable { reason } => {
                write!(f, "the keyring store is unavailable: {reason}")
            }
            Self::Audit(e) => e.fmt(f),
            Self::Random => f.write_str("the operating system's random number generator failed"),
            Self::Poisoned => f.write_str("an internal lock was poisoned by an earlier panic"),
        }
    }
}

impl std::error::Error for KeyringError {}

impl TrustError for KeyringError {
    fn category(&self) -> Category {
        match self {
            Self::Key(e) => e.category(),
            Self::Root(e) => e.category(),
            Self::InvalidName { .. }
            | Self::AlreadyExists { .. }
            | Self::InvalidPolicy(_)
            | Self::Transition { .. }
            | Self::StagingTooShort { .. }
            | Self::GraceNotElapsed { .. }
            | Self::NotInitialized { .. }
            | Self::HomeExists { .. }
            | Self::Usage(_) => Category::Usage,
            Self::LiveCiphertexts { .. } => Category::Refused,
            Self::Corrupt { .. } | Self::HomeCorrupt(_) => Category::Verification,
            Self::Read { .. } | Self::Unwritable { .. } | Self::StoreUnavailable { .. } => {
                Category::Input
            }
            Self::Busy { .. }
            | Self::Write { .. }
            | Self::Store { .. }
            | Self::Random
            | Self::Poisoned => Category::Internal,
            Self::Audit(e) => e.category(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Key(e) => e.code(),
            Self::Root(e) => e.code(),
            Self::InvalidName { .. } => "INVALID_KEYRING_NAME",
            Self::AlreadyExists { .. } => "KEYRING_EXISTS",
            Self::InvalidPolicy(_) => "INVALID_POLICY",
            Self::Transition { .. } => "INVALID_TRANSITION",
            Self::StagingTooShort { .. } => "STAGING_TOO_SHORT",
            Self::GraceNotElapsed { .. } => "DESTROY_GRACE_PERIOD",
            Self::LiveCiphertexts { .. } => "KEY_STILL_IN_USE",
            Self::Corrupt {
                reason: FileError::Unauthentic,
                ..
            } => "KEYRING_TAMPERED",
            Self::Corrupt { .. } => "KEYRING_CORRUPT",
            Self::Busy { .. } => "KEYRING_BUSY",
            Self::NotInitialized { .. } => "HOME_NOT_INITIALIZED",
            Self::HomeExists { .. } => "HOME_EXISTS",
            Self::HomeCorrupt(_) => "HOME_CORRUPT",
            Self::Usage(_) => "USAGE",
            Self::Read { .. } => "INPUT_UNREADABLE",
            Self::Write { .. } => "OUTPUT_FAILED",
            Self::Unwritable { .. } => "OUTPUT_UNWRITABLE",
            Self::Store { .. } => "KEY_STORE_FAILED",
            Self::StoreUnavailable { .. } => "KEY_STORE_UNAVAILABLE",
            Self::Audit(e) => e.code(),
            Self::Random => "RANDOM_FAILED",
            Self::Poisoned => "INTERNAL",
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Key(e) => e.hint(),
            Self::Root(e) => e.hint(),
            Self::Transition { .. } => {
                Some("`trust keys --help` (or man trust-keys) shows the states and their moves")
            }
            Self::StagingTooShort { .. } => {
                Some("wait until every process has reloaded the keyring, then promote")
            }
            Self::GraceNotElapsed { .. } => Some("try again after the grace period"),
            Self::LiveCiphertexts { .. } => Some(
                "rewrap every ciphertext under this version first (`trust rewrap`), or pass --force --reason TEXT to destroy anyway (audited)",
            ),
            Self::Corrupt { .. } | Self::HomeCorrupt(_) => {
                Some("restore the file from a backup; it is never overwritten while damaged")
            }
            Self::Busy { .. } => Some("retry the command"),
            Self::NotInitialized { .. } => Some("create one with `trust init` or pass --home"),
            Self::Audit(e) => e.hint(),
            _ => None,
        }
    }
}

/// A keyring as shown to operators: states, dates and counters, never key material. Times are
/// Unix seconds here and RFC 3339 UTC in its serialized form (`trust keys list --json`).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct KeyringSummary {
    /// The name.
    pub name: String,
    /// The suite new messages are sealed with.
    pub suite: String,
    /// The revision.
    pub revision: u64,
    /// When it was created (Unix seconds; RFC 3339 UTC when serialized).
    #[serde(serialize_with = "crate::clock::rfc3339_serde::seconds")]
    pub created_at: i64,
    /// The Primary version.
    pub primary: u32,
    /// Whether rotation is due now (age or usage ceiling).
    pub rotation_due: bool,
    /// Versions below this refuse to decrypt (0: none).
    pub min_decryption_version: u32,
    /// Sealing is refused while the Primary is below this (0: none).
    pub min_encryption_version: u32,
    /// The policy.
    pub policy: Policy,
    /// Every version, tombstones included.
    pub versions: Vec<VersionSummary>,
}

/// One version as shown to operators. Times are Unix seconds here and RFC 3339 UTC
/// (`2026-01-31T09:00:00Z`) in its serialized form (`trust keys list --json`).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct VersionSummary {
    /// The number.
    pub version: u32,
    /// The state.
    pub state: VersionState,
    /// Creation time.
    #[serde(serialize_with = "crate::clock::rfc3339_serde::seconds")]
    pub created_at: i64,
    /// Promotion time.
    #[serde(serialize_with = "crate::clock::rfc3339_serde::option_seconds")]
    pub promoted_at: Option<i64>,
    /// When it stopped being Primary.
    #[serde(serialize_with = "crate::clock::rfc3339_serde::option_seconds")]
    pub demoted_at: Option<i64>,
    /// Last retirement.
    #[serde(serialize_with = "crate::clock::rfc3339_serde::option_seconds")]
    pub retired_at: Option<i64>,
    /// Earliest destruction time while PendingDestroy.
    #[serde(serialize_with = "crate::clock::rfc3339_serde::option_seconds")]
    pub destroy_after: Option<i64>,
    /// Destruction time.
    #[serde(serialize_with = "crate::clock::rfc3339_serde::option_seconds")]
    pub destroyed_at: Option<i64>,
    /// Whether the destruction was forced.
    pub destroy_forced: bool,
    /// Seals counted (an upper bound).
    pub uses: u64,
    /// Ciphertexts rewrap moved off it (the census the destroy guard compares with `uses`).
    pub moved: u64,
    /// Whether something known may still need it (`uses > moved`, no explicit census).
    pub may_be_in_use: bool,
    /// When a census cleared it.
    #[serde(serialize_with = "crate::clock::rfc3339_serde::option_seconds")]
    pub census_clear_at: Option<i64>,
}

impl KeyringSummary {
    /// The summary of `ring` at `now` (Unix seconds).
    pub fn new(ring: &Keyring, now: i64) -> Self {
        let r = ring.record();
        Self {
            name: r.name.clone(),
            suite: r.suite.clone(),
            revision: r.revision,
            created_at: r.created_at,
            primary: ring.primary().version,
            rotation_due: ring.rotation_due(now),
            min_decryption_version: r.min_decryption_version,
            min_encryption_version: r.min_encryption_version,
            policy: r.policy,
            versions: r
                .versions
                .iter()
                .map(|v| VersionSummary {
                    version: v.version,
                    state: v.state,
                    created_at: v.created_at,
                    promoted_at: v.promoted_at,
                    demoted_at: v.demoted_at,
                    retired_at: v.retired_at,
                    destroy_after: v.destroy_after,
                    destroyed_at: v.destroyed_at,
                    destroy_forced: v.destroy_forced,
                    uses: v.uses,
                    moved: v.moved,
                    may_be_in_use: v.may_have_live_ciphertexts(),
                    census_clear_at: v.census_clear_at,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_external;
