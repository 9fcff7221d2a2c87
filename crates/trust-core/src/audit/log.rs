//! [`AuditLog`]: the writer's handle — create, open, append (one entry, a batch, or events from
//! other modules through [`EventSink`]), checkpoint, prove, redact.

use std::collections::BTreeMap;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

use super::AuditError;
use super::checkpoint::{Checkpoint, SignedCheckpoint, valid_origin};
use super::leaf::{self, Leaf, PayloadRef};
use super::merkle::{self, Hash};
use super::note::{ExternalEd25519, Signer, Verifier};
use super::proof::Receipt;
use super::store::{self, DirStore, LogStore};
use crate::clock::{Clock, SystemClock};
use crate::durable::{self, LockGuard};

/// How long a writer waits for another handle's append or checkpoint by default
/// ([`AuditLog::with_lock_wait`]).
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(30);
use crate::event::{Event, EventError, EventSink};
use crate::pseudonym::{Domain, PseudonymKey};
use crate::secret::{Key256, fill_random};

/// File names inside a log directory.
pub mod files {
    /// Log configuration (origin, format version).
    pub const CONFIG: &str = "log.json";
    /// The checkpoint signing key, Go `note` skey format, mode 0600.
    pub const SIGNING_KEY: &str = "signing.key";
    /// The verifier key (public), note vkey format.
    pub const VKEY: &str = "vkey";
    /// The pseudonymization key for actors and subjects, mode 0600.
    pub const PSEUDONYM_KEY: &str = "pseudonym.key";
    /// The writers' lock file.
    pub const LOCK: &str = super::store::LOCK_FILE;
}

const CONFIG_FORMAT: &str = "trust-audit-log/v1";
const PSEUDONYM_HEADER: &str = "trust-pseudonym-key/v1";

/// One entry to append, before pseudonymization and hashing.
///
/// `Debug` shows whether actor, subject and payload are set, never their values: they are
/// personal data until the log pseudonymizes or commits to them.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// Dotted event type, `[a-z0-9._-]{1,128}`.
    pub event_type: String,
    /// When it happened; the log's clock when `None`.
    pub time: Option<SystemTime>,
    /// Raw actor id; only its pseudonym is stored.
    pub actor: Option<String>,
    /// Raw subject id; only its pseudonym is stored.
    pub subject: Option<String>,
    /// Non-personal attributes.
    pub attrs: BTreeMap<String, String>,
    /// Payload, stored apart (salted commitment in the leaf) and deletable.
    pub payload: Option<Vec<u8>>,
}

impl core::fmt::Debug for Entry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let redacted = |set: bool| if set { "Some(<redacted>)" } else { "None" };
        f.debug_struct("Entry")
            .field("event_type", &self.event_type)
            .field("time", &self.time)
            .field("actor", &format_args!("{}", redacted(self.actor.is_some())))
            .field(
                "subject",
                &format_args!("{}", redacted(self.subject.is_some())),
            )
            .field("attrs", &self.attrs)
            .field(
                "payload",
                &format_args!("{}", redacted(self.payload.is_some())),
            )
            .finish()
    }
}

impl Entry {
    /// An entry of `event_type` with nothing else set.
    pub fn new(event_type: impl Into<String>) -> Self {
        Self {
            event_type: event_type.into(),
            ..Self::default()
        }
    }
}

/// One line of a JSONL import file (docs/format-audit.md §6):
/// `{"event":"key.rotate","time_ms":1700000000000,"actor":"…","subject":"…",
/// "attrs":{"k":"v"},"payload":"…"}`; only `event` is required. Unknown fields are rejected so a
/// typo cannot silently drop data.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEntry {
    event: String,
    #[serde(default)]
    time_ms: Option<i64>,
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    attrs: BTreeMap<String, String>,
    #[serde(default)]
    payload: Option<String>,
}

/// The longest JSONL line accepted by [`Entry::from_json_line`].
pub(crate) const MAX_JSON_LINE: usize = 1 << 20;

impl Entry {
    /// Parses one JSONL import line.
    ///
    /// # Errors
    /// [`AuditError::BadImportLine`] with a reason (never the line's content).
    pub fn from_json_line(line: &[u8]) -> Result<Self, AuditError> {
        if line.len() > MAX_JSON_LINE {
            return Err(AuditError::BadImportLine("line longer than 1 MiB".into()));
        }
        let j: JsonEntry = serde_json::from_slice(line).map_err(|e| {
            AuditError::BadImportLine(format!("not a valid entry object (column {})", e.column()))
        })?;
        let time = j.time_ms.map(|ms| {
            if ms >= 0 {
                SystemTime::UNIX_EPOCH + Duration::from_millis(ms.unsigned_abs())
            } else {
                SystemTime::UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
            }
        });
        Ok(Self {
            event_type: j.event,
            time,
            actor: j.actor,
            subject: j.subject,
            attrs: j.attrs,
            payload: j.payload.map(String::into_bytes),
        })
    }

    /// Checks the entry's event type and attributes without appending it.
    ///
    /// # Errors
    /// [`AuditError::Leaf`] naming the invalid field.
    pub fn validate(&self) -> Result<(), AuditError> {
        if !leaf::valid_event_type(&self.event_type) {
            return Err(AuditError::Leaf(leaf::LeafError::BadEventType));
        }
        if self.attrs.len() > leaf::MAX_ATTRS
            || self
                .attrs
                .iter()
                .any(|(k, v)| !leaf::valid_attr_key(k) || !leaf::valid_attr_value(v))
        {
            return Err(AuditError::Leaf(leaf::LeafError::BadAttribute));
        }
        Ok(())
    }
}

/// Options for [`AuditLog::init`].
#[derive(Clone)]
#[non_exhaustive]
pub struct InitOptions {
    /// The log's origin (checkpoint first line and key name), e.g. `example.com/audit/orders`.
    pub origin: String,
    /// Size at which segment files roll over.
    pub segment_bytes: u64,
    /// Sign checkpoints with a key held in a device (an HSM) instead of a `signing.key` file.
    pub external_signer: Option<ExternalSigner>,
}

impl core::fmt::Debug for InitOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InitOptions")
            .field("origin", &self.origin)
            .field("segment_bytes", &self.segment_bytes)
            .field(
                "external_signer",
                &self.external_signer.as_ref().map(|s| &s.descriptor),
            )
            .finish()
    }
}

impl InitOptions {
    /// Defaults for `origin`.
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            segment_bytes: store::DEFAULT_SEGMENT_BYTES,
            external_signer: None,
        }
    }
}

/// A checkpoint signing key held in a device, and what opens it again.
#[derive(Clone)]
#[non_exhaustive]
pub struct ExternalSigner {
    /// The opened key.
    pub key: Arc<dyn ExternalEd25519>,
    /// Recorded in `log.json` so a front end can open the same key again.
    pub descriptor: SignerDescriptor,
}

/// Which external key signs a log's checkpoints: a kind (`pkcs11`) and what opens it (a
/// PKCS#11 URI; never a PIN). No `signing.key` file exists for such a log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SignerDescriptor {
    /// The kind of device (`pkcs11`).
    pub kind: String,
    /// What opens the key (at most 2048 printable characters).
    pub uri: String,
}

impl ExternalSigner {
    /// `key`, recorded in the log's configuration as `descriptor`.
    pub fn new(key: Arc<dyn ExternalEd25519>, descriptor: SignerDescriptor) -> Self {
        Self { key, descriptor }
    }
}

impl SignerDescriptor {
    /// A key of `kind` (`pkcs11`) opened by `uri` (checked when the log is initialized).
    pub fn new(kind: impl Into<String>, uri: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            uri: uri.into(),
        }
    }

    fn valid(&self) -> bool {
        !self.kind.is_empty()
            && self.kind.len() <= 32
            && self
                .kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !self.uri.is_empty()
            && self.uri.len() <= 2048
            && !self.uri.chars().any(char::is_control)
    }
}

/// What `log.json` holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct LogConfig {
    /// Always `trust-audit-log/v1`.
    pub format: String,
    /// The origin.
    pub origin: String,
    /// Segment roll-over size.
    pub segment_bytes: u64,
    /// The external checkpoint signing key, when there is no `signing.key` file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<SignerDescriptor>,
}

impl LogConfig {
    /// Reads and checks `DIR/log.json`.
    ///
    /// # Errors
    /// [`AuditError::NotALog`] when missing or invalid.
    pub fn load(dir: &Path) -> Result<Self, AuditError> {
        let path = dir.join(files::CONFIG);
        let bytes = fs::read(&path).map_err(|_| AuditError::NotALog(dir.to_path_buf()))?;
        Self::from_json(&bytes).ok_or_else(|| AuditError::NotALog(dir.to_path_buf()))
    }
}

/// The text form of a pseudonymization key (the contents of `DIR/pseudonym.key`), for a
/// store that keeps it elsewhere (a database row).
pub fn encode_pseudonym_key(key: &PseudonymKey) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "{PSEUDONYM_HEADER}\n{}\n{}\n",
        key.version(),
        B64.encode(key.key().expose())
    ))
}

/// Parses the text form written by [`encode_pseudonym_key`]; `None` when malformed.
pub fn decode_pseudonym_key(text: &str) -> Option<PseudonymKey> {
    let mut lines = text.lines();
    if lines.next()? != PSEUDONYM_HEADER {
        return None;
    }
    let version: u32 = lines.next()?.parse().ok()?;
    let raw = Zeroizing::new(B64.decode(lines.next()?).ok()?);
    if lines.next().is_some() || version == 0 {
        return None;
    }
    Some(PseudonymKey::new(version, Key256::from_slice(&raw)?))
}

/// Reads the pseudonymization key of the log at `dir` (`DIR/pseudonym.key`, or a copy of it),
/// to turn a plain actor or subject id into the pseudonym its entries carry.
///
/// # Errors
/// I/O errors; [`AuditError::BadKeyFile`] when the file is not a pseudonym key.
pub fn load_pseudonym_key(path: &Path) -> Result<PseudonymKey, AuditError> {
    let text = Zeroizing::new(fs::read_to_string(path).map_err(AuditError::io("read", path))?);
    decode_pseudonym_key(&text).ok_or_else(|| AuditError::BadKeyFile(path.to_path_buf()))
}

/// A copy of a group commit's failure for each of the group's callers: store errors as they
/// are (an I/O error with its kind and message), anything else as what the log is then.
fn same_error(e: &AuditError) -> AuditError {
    use store::StoreError as S;
    let store = match e {
        AuditError::Store(s) => s,
        AuditError::Poisoned => return AuditError::Poisoned,
        _ => return AuditError::Store(S::Poisoned),
    };
    AuditError::Store(match store {
        S::Io { what, path, source } => S::Io {
            what,
            path: path.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        S::Damaged { reason } => S::Damaged {
            reason: reason.clone(),
        },
        S::NoSuchEntry => S::NoSuchEntry,
        S::Busy { waited } => S::Busy { waited: *waited },
        S::Backend {
            code,
            category,
            message,
            hint,
        } => S::Backend {
            code,
            category: *category,
            message: message.clone(),
            hint: *hint,
        },
        _ => S::Poisoned,
    })
}

struct Writer {
    store: Box<dyn LogStore>,
}

/// The writer with the store's lock held and its view refreshed; unlocks on drop, so every
/// early return releases the lock.
struct Locked<'a>(MutexGuard<'a, Writer>);

impl core::ops::Deref for Locked<'_> {
    type Target = Writer;
    fn deref(&self) -> &Writer {
        &self.0
    }
}

impl core::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Writer {
        &mut self.0
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.0.store.unlock();
    }
}

/// A leaf waiting for its index and chain link, with its payload and salt.
struct Prepared {
    leaf: Leaf,
    payload: Option<([u8; 32], Vec<u8>)>,
}

/// The group-commit queue.
#[derive(Default)]
struct Pending {
    queue: Vec<(u64, Vec<Prepared>)>,
    results: std::collections::HashMap<u64, Result<Range<u64>, AuditError>>,
    next_ticket: u64,
    leader: bool,
}

/// A writer's handle on a log directory.
///
/// Any number of handles, in any number of processes, may be open on one log: each append,
/// checkpoint, proof or redaction takes the log's lock (waiting at most
/// [`AuditLog::with_lock_wait`], 30 s by default) and first catches up with what other handles
/// appended. Within a process, share one handle in an `Arc`: its appends are group-committed.
pub struct AuditLog {
    dir: PathBuf,
    /// Where the log lives, for messages: the directory, or a redacted URL.
    location: String,
    config: LogConfig,
    signer: Signer,
    pseudonyms: PseudonymKey,
    writer_id: String,
    clock: Arc<dyn Clock>,
    inner: Mutex<Writer>,
    pending: Mutex<Pending>,
    committed: std::sync::Condvar,
    lock_wait: Duration,
}

impl core::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuditLog")
            .field("location", &self.location)
            .field("origin", &self.config.origin)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Creates a new log in `dir` (created if missing; must not already hold a log): the
    /// directory layout, an Ed25519 checkpoint signing key and a pseudonymization key, both
    /// `0600`. Returns the verifier key to hand to auditors.
    ///
    /// # Errors
    /// [`AuditError::BadOrigin`], [`AuditError::AlreadyExists`], I/O errors.
    pub fn init(dir: &Path, options: &InitOptions) -> Result<Verifier, AuditError> {
        if !valid_origin(&options.origin) {
            return Err(AuditError::BadOrigin);
        }
        if options
            .external_signer
            .as_ref()
            .is_some_and(|e| !e.descriptor.valid())
        {
            return Err(AuditError::BadKeyFile(dir.join(files::CONFIG)));
        }
        durable::create_private_dir(dir).map_err(AuditError::io("create", dir))?;
        let cfg_path = dir.join(files::CONFIG);
        if cfg_path.exists() {
            return Err(AuditError::AlreadyExists(dir.to_path_buf()));
        }
        let _lock = LockGuard::acquire(&dir.join(files::LOCK))
            .map_err(AuditError::io("lock", &dir.join(files::LOCK)))?;
        let NewLog {
            config: cfg,
            signer,
            pseudonyms: pseudo,
        } = NewLog::generate(options)?;
        if let Some(skey) = signer.skey() {
            let key_path = dir.join(files::SIGNING_KEY);
            durable::create_private(&key_path, format!("{}\n", &*skey).as_bytes())
                .map_err(AuditError::io("create", &key_path))?;
        }
        let pk_path = dir.join(files::PSEUDONYM_KEY);
        durable::create_private(&pk_path, encode_pseudonym_key(&pseudo).as_bytes())
            .map_err(AuditError::io("create", &pk_path))?;
        let vkey_path = dir.join(files::VKEY);
        durable::write_atomic(
            &vkey_path,
            format!("{}\n", signer.verifier().vkey()).as_bytes(),
        )
        .map_err(AuditError::io("write", &vkey_path))?;
        DirStore::create(dir).map_err(AuditError::Store)?;
        let json = serde_json::to_vec_pretty(&cfg).map_err(|_| AuditError::Random)?;
        // Written last: a directory without log.json is not a log, so a crash mid-init leaves
        // nothing that could be mistaken for one.
        durable::write_atomic(&cfg_path, &json).map_err(AuditError::io("write", &cfg_path))?;
        Ok(signer.verifier().clone())
    }

    /// Opens the log in `dir` for writing, recovering a torn tail. Waits up to
    /// [`DEFAULT_LOCK_WAIT`] for another handle's append to finish.
    ///
    /// # Errors
    /// [`AuditError::NotALog`], key file errors, [`AuditError::Store`] (`AUDIT_LOG_BUSY` when
    /// the wait ran out).
    pub fn open(dir: &Path) -> Result<Self, AuditError> {
        Self::open_with_lock_wait(dir, DEFAULT_LOCK_WAIT)
    }

    /// Like [`Self::open`], waiting at most `wait` for the lock, now and for every later write
    /// through this handle.
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_with_lock_wait(dir: &Path, wait: Duration) -> Result<Self, AuditError> {
        let config = LogConfig::load(dir)?;
        Self::open_with_signer_and_wait(dir, config, None, wait)
    }

    /// The external signing key a log's checkpoints need, if its `log.json` names one: open
    /// that key and pass it to [`Self::open_with_signer`].
    ///
    /// # Errors
    /// [`AuditError::NotALog`].
    pub fn signer_descriptor(dir: &Path) -> Result<Option<SignerDescriptor>, AuditError> {
        Ok(LogConfig::load(dir)?.signer)
    }

    /// [`Self::open_with_lock_wait`] for a log whose checkpoint key is external, or (with
    /// `None`) a key file.
    ///
    /// # Errors
    /// As [`Self::open`]; [`AuditError::SignerMismatch`] when `signer` is not the log's key
    /// (another public key), or the log wants an external key and none was given.
    pub fn open_with_signer(
        dir: &Path,
        signer: Option<Arc<dyn ExternalEd25519>>,
    ) -> Result<Self, AuditError> {
        Self::open_with_signer_and_lock_wait(dir, signer, DEFAULT_LOCK_WAIT)
    }

    /// [`Self::open_with_signer`], waiting at most `wait` for the lock (as
    /// [`Self::open_with_lock_wait`]).
    ///
    /// # Errors
    /// As [`Self::open_with_signer`].
    pub fn open_with_signer_and_lock_wait(
        dir: &Path,
        signer: Option<Arc<dyn ExternalEd25519>>,
        wait: Duration,
    ) -> Result<Self, AuditError> {
        let config = LogConfig::load(dir)?;
        Self::open_with_signer_and_wait(dir, config, signer, wait)
    }

    fn open_with_signer_and_wait(
        dir: &Path,
        config: LogConfig,
        external: Option<Arc<dyn ExternalEd25519>>,
        wait: Duration,
    ) -> Result<Self, AuditError> {
        let signer = match (&config.signer, external) {
            (Some(_), Some(key)) => {
                // The vkey auditors hold must keep verifying: a different key is refused.
                let vkey_path = dir.join(files::VKEY);
                let vkey =
                    fs::read_to_string(&vkey_path).map_err(AuditError::io("read", &vkey_path))?;
                open_signer(&config, None, vkey.trim_end(), Some(key), &vkey_path)?
            }
            (Some(_), None) | (None, Some(_)) => return Err(AuditError::SignerMismatch),
            (None, None) => {
                let key_path = dir.join(files::SIGNING_KEY);
                let skey = Zeroizing::new(
                    fs::read_to_string(&key_path).map_err(AuditError::io("read", &key_path))?,
                );
                open_signer(&config, Some(skey.trim_end()), "", None, &key_path)?
            }
        };
        let pseudonyms = load_pseudonym_key(&dir.join(files::PSEUDONYM_KEY))?;
        // Open under the lock: recovery may cut a torn tail, which only a lock holder may do.
        // Taking it here also reports a stuck writer now, before the caller changes anything it
        // would then fail to record.
        let lock =
            store::lock_with_wait(&dir.join(files::LOCK), wait).map_err(AuditError::Store)?;
        let store = DirStore::open(dir, config.segment_bytes).map_err(AuditError::Store)?;
        drop(lock);
        let mut log = Self::from_store(
            Box::new(store),
            dir.display().to_string(),
            config,
            signer,
            pseudonyms,
        );
        log.dir = dir.to_path_buf();
        log.lock_wait = wait;
        Ok(log)
    }

    /// A log over any [`LogStore`] (a database, for instance), with its configuration and keys
    /// already loaded by the caller: what a store crate's `open` returns. `location` names the
    /// log in messages (a redacted URL); [`Self::dir`] is empty for such a log.
    pub fn from_store(
        store: Box<dyn LogStore>,
        location: String,
        config: LogConfig,
        signer: Signer,
        pseudonyms: PseudonymKey,
    ) -> Self {
        Self {
            dir: PathBuf::new(),
            location,
            config,
            signer,
            pseudonyms,
            writer_id: "trust".into(),
            clock: Arc::new(SystemClock),
            inner: Mutex::new(Writer { store }),
            pending: Mutex::new(Pending::default()),
            committed: std::sync::Condvar::new(),
            lock_wait: DEFAULT_LOCK_WAIT,
        }
    }

    /// The log's configuration (origin, external signer descriptor).
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Where the log lives, for messages: its directory or a redacted URL.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Sets how long each write waits for the log's lock before failing with
    /// `AUDIT_LOG_BUSY`.
    #[must_use]
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// Uses `clock` for entries without a time.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the writer id recorded in every leaf (`[A-Za-z0-9._:-]{0,64}`).
    ///
    /// # Errors
    /// [`AuditError::Leaf`] when the id is invalid.
    pub fn with_writer_id(mut self, id: &str) -> Result<Self, AuditError> {
        let probe = Leaf {
            index: 0,
            prev_leaf_hash: [0; 32],
            time_unix_ms: 0,
            event_type: "x".into(),
            writer_id: id.into(),
            pseudonym_key_version: 0,
            actor: None,
            subject: None,
            payload: None,
            attrs: vec![],
        };
        probe.validate().map_err(AuditError::Leaf)?;
        self.writer_id = id.into();
        Ok(self)
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        &self.config.origin
    }

    /// The verifier key auditors use.
    pub fn verifier(&self) -> &Verifier {
        self.signer.verifier()
    }

    /// The directory (empty for a log kept elsewhere; see [`Self::location`]).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn writer(&self) -> Result<MutexGuard<'_, Writer>, AuditError> {
        self.inner.lock().map_err(|_| AuditError::Poisoned)
    }

    /// The writer, with the log's lock held and the view caught up with other handles.
    fn locked(&self) -> Result<Locked<'_>, AuditError> {
        let mut w = self.writer()?;
        w.store.lock(self.lock_wait).map_err(AuditError::Store)?;
        Ok(Locked(w))
    }

    /// Number of entries.
    ///
    /// # Errors
    /// [`AuditError::Poisoned`] after a panic while appending.
    pub fn size(&self) -> Result<u64, AuditError> {
        Ok(self.locked()?.store.size())
    }

    /// The current Merkle root.
    ///
    /// # Errors
    /// [`AuditError::Poisoned`] after a panic while appending.
    pub fn root(&self) -> Result<Hash, AuditError> {
        Ok(self.locked()?.store.compact_range().root())
    }

    /// The pseudonym stored for `actor`.
    pub fn actor_pseudonym(&self, actor: &str) -> Hash {
        *self.pseudonyms.pseudonym(Domain::Actor, actor).as_bytes()
    }

    /// The pseudonym stored for `subject`.
    pub fn subject_pseudonym(&self, subject: &str) -> Hash {
        *self
            .pseudonyms
            .pseudonym(Domain::Subject, subject)
            .as_bytes()
    }

    /// Appends one entry durably and returns its index.
    ///
    /// # Errors
    /// [`AuditError`] on an invalid entry or a storage failure.
    pub fn append(&self, entry: &Entry) -> Result<u64, AuditError> {
        self.append_batch(std::slice::from_ref(entry))
            .map(|r| r.start)
    }

    /// Appends `entries` as one group commit (one `fsync`) and returns their index range.
    /// Either all are acknowledged or none.
    ///
    /// Concurrent callers are coalesced: while one thread's `fsync` is in flight, batches
    /// arriving from other threads queue up and the next of them commits all queued batches
    /// with a single `fsync` (leader/follower group commit). Pseudonyms, payload commitments and
    /// validation run on the calling thread, outside the lock.
    ///
    /// # Errors
    /// [`AuditError`] on an invalid entry (nothing of this batch is written) or a storage
    /// failure.
    pub fn append_batch(&self, entries: &[Entry]) -> Result<Range<u64>, AuditError> {
        let prepared = self.prepare(entries)?;
        let mut p = self.pending.lock().map_err(|_| AuditError::Poisoned)?;
        let ticket = p.next_ticket;
        p.next_ticket += 1;
        p.queue.push((ticket, prepared));
        loop {
            if let Some(result) = p.results.remove(&ticket) {
                return result;
            }
            if !p.leader {
                p.leader = true;
                let work = std::mem::take(&mut p.queue);
                drop(p);
                let outcomes = self.commit_group(work);
                p = self.pending.lock().map_err(|_| AuditError::Poisoned)?;
                p.leader = false;
                p.results.extend(outcomes);
                self.committed.notify_all();
                continue;
            }
            p = self.committed.wait(p).map_err(|_| AuditError::Poisoned)?;
        }
    }

    /// Builds the leaves of `entries` (index and chain link left for the commit), validating
    /// every field.
    fn prepare(&self, entries: &[Entry]) -> Result<Vec<Prepared>, AuditError> {
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let time = e.time.unwrap_or_else(|| self.clock.now());
            let payload = match &e.payload {
                Some(p) => {
                    let mut salt = [0u8; 32];
                    fill_random(&mut salt).map_err(|_| AuditError::Random)?;
                    Some((salt, p.clone()))
                }
                None => None,
            };
            let has_person = e.actor.is_some() || e.subject.is_some();
            let leaf = Leaf {
                index: 0,
                prev_leaf_hash: [0; 32],
                time_unix_ms: unix_millis(time),
                event_type: e.event_type.clone(),
                writer_id: self.writer_id.clone(),
                pseudonym_key_version: if has_person {
                    self.pseudonyms.version()
                } else {
                    0
                },
                actor: e.actor.as_deref().map(|a| self.actor_pseudonym(a)),
                subject: e.subject.as_deref().map(|s| self.subject_pseudonym(s)),
                payload: payload.as_ref().map(|(salt, p)| PayloadRef {
                    commitment: leaf::payload_commitment(salt, p),
                    len: p.len() as u64,
                }),
                attrs: e
                    .attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            };
            // Index and link are fixed-width, so this checks every bound, size included.
            leaf.encode().map_err(AuditError::Leaf)?;
            out.push(Prepared { leaf, payload });
        }
        Ok(out)
    }

    /// Commits queued batches with one `fsync`; one outcome per ticket.
    fn commit_group(
        &self,
        mut work: Vec<(u64, Vec<Prepared>)>,
    ) -> Vec<(u64, Result<Range<u64>, AuditError>)> {
        let tickets: Vec<u64> = work.iter().map(|(t, _)| *t).collect();
        // Every caller of a failed group gets the failure itself (nothing of the group was
        // acknowledged), not a stand-in.
        let fail_all = |first: AuditError| {
            let mut first = Some(first);
            let mut out = Vec::with_capacity(tickets.len());
            for t in tickets.iter().rev() {
                let e = match &first {
                    Some(e) if out.len() + 1 < tickets.len() => same_error(e),
                    _ => first.take().unwrap_or(AuditError::Poisoned),
                };
                out.push((*t, Err(e)));
            }
            out
        };
        let mut w = match self.writer() {
            Ok(w) => Locked(w),
            Err(e) => return fail_all(e),
        };
        if let Err(e) = w.store.lock_for_append(self.lock_wait) {
            return fail_all(AuditError::Store(e));
        }
        // A store that skipped the lock's round trip reports a stale view (another handle
        // appended meanwhile, nothing written): the batch is built again under the real lock.
        let mut retried = false;
        loop {
            let (records, ranges) = match self.build_group(&mut w, &mut work) {
                Ok(built) => built,
                Err(e) => return fail_all(e),
            };
            let appended = if retried {
                w.store.append(&records).map(|()| true)
            } else {
                w.store.append_if_current(&records)
            };
            match appended {
                Ok(true) => return ranges.into_iter().map(|(t, r)| (t, Ok(r))).collect(),
                Ok(false) if !retried => {
                    retried = true;
                    if let Err(e) = w.store.lock(self.lock_wait) {
                        return fail_all(AuditError::Store(e));
                    }
                }
                Ok(false) => return fail_all(AuditError::Store(store::StoreError::Poisoned)),
                Err(e) => return fail_all(AuditError::Store(e)),
            }
        }
    }

    /// Assigns indexes and chain links to queued batches from the store's view and stores
    /// their payloads: the records to append and each ticket's range.
    #[allow(clippy::type_complexity)]
    fn build_group(
        &self,
        w: &mut Locked<'_>,
        work: &mut [(u64, Vec<Prepared>)],
    ) -> Result<(Vec<(Vec<u8>, Hash)>, Vec<(u64, Range<u64>)>), AuditError> {
        let mut next = w.store.size();
        let mut prev = w
            .store
            .last_leaf_hash()
            .unwrap_or_else(|| leaf::genesis_hash(&self.config.origin));
        let mut records = Vec::new();
        let mut ranges = Vec::with_capacity(work.len());
        for (ticket, batch) in work {
            let start = next;
            for item in batch.iter_mut() {
                item.leaf.index = next;
                item.leaf.prev_leaf_hash = prev;
                let bytes = item.leaf.encode().map_err(AuditError::Leaf)?;
                if let Some((salt, p)) = &item.payload {
                    // Payloads first: an acknowledged entry never commits to a payload that
                    // was not stored.
                    w.store
                        .put_payload(next, salt, p)
                        .map_err(AuditError::Store)?;
                }
                let hash = merkle::leaf_hash(&bytes);
                prev = hash;
                records.push((bytes, hash));
                next += 1;
            }
            ranges.push((*ticket, start..next));
        }
        Ok((records, ranges))
    }

    /// Signs and stores a checkpoint of the current tree, after checking it is consistent with
    /// the newest stored checkpoint (a log must never sign two inconsistent checkpoints).
    ///
    /// # Errors
    /// [`AuditError::Inconsistent`] when the stored history disagrees with the tree; storage
    /// errors.
    pub fn checkpoint(&self) -> Result<SignedCheckpoint, AuditError> {
        let mut w = self.locked()?;
        w.store.sync().map_err(AuditError::Store)?;
        let size = w.store.size();
        let root = w.store.compact_range().root();
        if let Some(prev) = self.verified_checkpoints(&*w.store)?.pop() {
            let p = &prev.checkpoint;
            if p.size > size {
                return Err(AuditError::Inconsistent);
            }
            if p.size > 0 {
                let proof = merkle::consistency_proof_from(&*w.store, p.size, size)
                    .map_err(|_| AuditError::Inconsistent)?;
                merkle::verify_consistency(p.size, size, &proof, &p.root, &root)
                    .map_err(|_| AuditError::Inconsistent)?;
            }
        }
        let cp = Checkpoint {
            origin: self.config.origin.clone(),
            size,
            root,
        };
        let note = cp.sign(&self.signer).map_err(AuditError::Checkpoint)?;
        w.store
            .put_checkpoint(size, &root, &note)
            .map_err(AuditError::Store)?;
        Ok(SignedCheckpoint {
            checkpoint: cp,
            note,
        })
    }

    /// Every stored checkpoint that verifies under this log's key, smallest size first.
    ///
    /// # Errors
    /// I/O errors reading the checkpoint directory.
    pub fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, AuditError> {
        let w = self.writer()?;
        self.verified_checkpoints(&*w.store)
    }

    fn verified_checkpoints(
        &self,
        store: &dyn LogStore,
    ) -> Result<Vec<SignedCheckpoint>, AuditError> {
        let known = [self.signer.verifier().clone()];
        let list = store.checkpoints().map_err(AuditError::Store)?;
        let mut out: Vec<SignedCheckpoint> = list
            .into_iter()
            .filter_map(|b| SignedCheckpoint::open(&b, &known, Some(self.origin())).ok())
            .collect();
        out.sort_by_key(|c| c.checkpoint.size);
        Ok(out)
    }

    /// An inclusion receipt (C2SP tlog-proof, leaf bytes in `extra`) for `index` against the
    /// stored checkpoint of `size` (default: the newest checkpoint covering `index`, signing a
    /// fresh one when none does). Reads O(log n) tree nodes.
    ///
    /// # Errors
    /// [`AuditError::NoSuchEntry`], [`AuditError::NoCheckpoint`] when `size` has no checkpoint.
    pub fn prove(&self, index: u64, size: Option<u64>) -> Result<Receipt, AuditError> {
        let cps = self.checkpoints()?;
        let cp = match size {
            Some(n) => cps
                .into_iter()
                .rev()
                .find(|c| c.checkpoint.size == n)
                .ok_or(AuditError::NoCheckpoint(n))?,
            None => match cps.into_iter().next_back() {
                Some(c) if c.checkpoint.size > index => c,
                _ => self.checkpoint()?,
            },
        };
        let w = self.locked()?;
        if index >= cp.checkpoint.size {
            return Err(AuditError::NoSuchEntry(index));
        }
        let proof = merkle::inclusion_proof_from(&*w.store, index, cp.checkpoint.size)
            .map_err(AuditError::Merkle)?;
        let leaf = w.store.read_leaf(index).map_err(AuditError::Store)?;
        let receipt = Receipt {
            extra: Some(leaf),
            index,
            proof,
            checkpoint_note: cp.note,
        };
        // Proofs are read from derived files that nothing else checks: a damaged node would
        // hand the caller a receipt that fails for everyone downstream. Check it here, once.
        receipt
            .verify(
                std::slice::from_ref(self.signer.verifier()),
                Some(self.origin()),
                None,
            )
            .map_err(AuditError::BadReceipt)?;
        Ok(receipt)
    }

    /// The consistency proof between the trees of `size1` and `size2` entries.
    ///
    /// # Errors
    /// [`AuditError::Merkle`] for impossible sizes.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, AuditError> {
        let w = self.locked()?;
        if size2 > w.store.size() {
            return Err(AuditError::NoSuchEntry(size2));
        }
        merkle::consistency_proof_from(&*w.store, size1, size2).map_err(AuditError::Merkle)
    }

    /// Deletes the payload of entry `index` (GDPR erasure of the payload; the leaf and its
    /// commitment stay, so the log still verifies and reports the entry as REDACTED) and
    /// appends an `audit.redact` tombstone naming the index and `reason` (no personal data).
    /// Returns the tombstone's index.
    ///
    /// # Errors
    /// [`AuditError::NoSuchEntry`]; storage errors.
    pub fn redact(&self, index: u64, reason: &str) -> Result<u64, AuditError> {
        {
            let mut w = self.locked()?;
            if index >= w.store.size() {
                return Err(AuditError::NoSuchEntry(index));
            }
            w.store.delete_payload(index).map_err(AuditError::Store)?;
        }
        let mut e = Entry::new("audit.redact");
        e.attrs.insert("index".into(), index.to_string());
        e.attrs.insert("reason".into(), reason.into());
        self.append(&e)
    }

    /// Makes derived tree data durable (also done at every checkpoint and on drop).
    ///
    /// # Errors
    /// Storage errors.
    pub fn sync(&self) -> Result<(), AuditError> {
        self.locked()?.store.sync().map_err(AuditError::Store)
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Best effort and never blocking: unsynced derived data is rebuilt on the next open.
        if let Ok(mut w) = self.inner.lock() {
            w.store.close();
        }
    }
}

/// A new log's configuration and keys, before anything is stored: what [`AuditLog::init`]
/// writes into a directory and a store crate writes into its rows.
pub struct NewLog {
    /// The configuration (`log.json`).
    pub config: LogConfig,
    /// The checkpoint signer: a fresh Ed25519 key, or the external key of the options.
    pub signer: Signer,
    /// A fresh pseudonymization key.
    pub pseudonyms: PseudonymKey,
}

impl NewLog {
    /// Checks `options` and generates the keys.
    ///
    /// # Errors
    /// [`AuditError::BadOrigin`]; [`AuditError::SignerMismatch`] for an invalid external
    /// signer descriptor; [`AuditError::Random`].
    pub fn generate(options: &InitOptions) -> Result<Self, AuditError> {
        if !valid_origin(&options.origin) {
            return Err(AuditError::BadOrigin);
        }
        let signer = match &options.external_signer {
            Some(ext) => {
                if !ext.descriptor.valid() {
                    return Err(AuditError::SignerMismatch);
                }
                Signer::external(&options.origin, Arc::clone(&ext.key)).map_err(AuditError::Note)?
            }
            None => Signer::generate(&options.origin).map_err(AuditError::Note)?,
        };
        let pseudonyms = PseudonymKey::generate(1).map_err(|_| AuditError::Random)?;
        let config = LogConfig {
            format: CONFIG_FORMAT.into(),
            origin: options.origin.clone(),
            segment_bytes: options.segment_bytes,
            signer: options
                .external_signer
                .as_ref()
                .map(|e| e.descriptor.clone()),
        };
        Ok(Self {
            config,
            signer,
            pseudonyms,
        })
    }
}

impl LogConfig {
    /// Parses and checks `log.json` bytes (from a file or a database row); `None` when invalid.
    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        let cfg: Self = serde_json::from_slice(bytes).ok()?;
        (cfg.format == CONFIG_FORMAT
            && valid_origin(&cfg.origin)
            && cfg.segment_bytes != 0
            && cfg.signer.as_ref().is_none_or(SignerDescriptor::valid))
        .then_some(cfg)
    }

    /// The `log.json` bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

/// The checkpoint signer of a log with `config`: from `skey` (a key file's text) when the log
/// signs with a key of its own, or the `external` key, which must match the recorded `vkey`.
/// `what` names where the key came from in errors.
///
/// # Errors
/// [`AuditError::BadKeyFile`] for a malformed key or one of another origin;
/// [`AuditError::SignerMismatch`] when the external key is not the log's (or is missing, or
/// was given for a log that signs with its own key).
pub fn open_signer(
    config: &LogConfig,
    skey: Option<&str>,
    vkey: &str,
    external: Option<Arc<dyn ExternalEd25519>>,
    what: &Path,
) -> Result<Signer, AuditError> {
    match (&config.signer, external, skey) {
        (Some(_), Some(key), _) => {
            let signer = Signer::external(&config.origin, key).map_err(AuditError::Note)?;
            if vkey != signer.verifier().vkey() {
                return Err(AuditError::SignerMismatch);
            }
            Ok(signer)
        }
        (None, None, Some(skey)) => {
            let signer =
                Signer::from_skey(skey).map_err(|_| AuditError::BadKeyFile(what.to_path_buf()))?;
            if signer.verifier().name() != config.origin {
                return Err(AuditError::BadKeyFile(what.to_path_buf()));
            }
            Ok(signer)
        }
        _ => Err(AuditError::SignerMismatch),
    }
}

fn unix_millis(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |m| -m),
    }
}

/// Security events from other modules (keyring rotations and destructions, GDPR erasures)
/// become log entries: `kind` → event type, `actor`/`subject` → pseudonyms, `attrs` → leaf
/// attributes. The entry is durable before `record` returns.
impl EventSink for AuditLog {
    fn record(&self, event: &Event) -> Result<(), EventError> {
        let entry = Entry {
            event_type: event.kind.clone(),
            time: Some(event.time),
            actor: event.actor.clone(),
            subject: event.subject.clone(),
            attrs: event.attrs.clone(),
            payload: None,
        };
        self.append(&entry)
            .map(|_| ())
            .map_err(|e| EventError::new(e.to_string()))
    }
}
