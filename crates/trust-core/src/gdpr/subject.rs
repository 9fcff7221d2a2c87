//! Subject keys: crypto-shredding, so that erasing a data subject is one call.
//!
//! ## The hierarchy
//!
//! ```text
//! tenant keyring (KEK, versioned, held by the keyring)          e.g. "orders" v3
//!   └─ subject key, one per (keyring, subject), wrapped by it    stored by a SubjectKeyStore
//!        └─ per-message data key, wrapped by the subject key     in each envelope header
//!             └─ the record
//! ```
//!
//! [`SubjectKeys`] wraps the tenant's [`KeyProvider`] and is itself a [`KeyProvider`]: a
//! [`KeyRef`] whose `subject` is `Some(pseudonym tag)` is served by the subject's key, any other
//! by the tenant keyring. The envelope therefore needs no GDPR knowledge: a message sealed with
//! [`SubjectKeys::encryption_key_for`] records the subject's pseudonym tag in its header, and
//! opening it through `SubjectKeys` finds the subject key from that header.
//!
//! [`SubjectKeys::erase`] replaces the stored subject key with a tombstone (durably, before it
//! returns), forgets any cached copy, records a `gdpr.erase` audit event naming only the
//! pseudonym, and returns a signed [`ErasureReceipt`]. From then on opening any message sealed
//! for that subject fails with [`KeyError::SubjectErased`] (CLI exit 4) — not "corrupt" — and
//! sealing new data for the same subject id is refused too, so erased data cannot silently be
//! re-associated. Other subjects are unaffected.
//!
//! ## Pseudonyms
//!
//! Subjects are never stored under their raw id. Each keyring has a pseudonym key (a random
//! 256-bit key, wrapped by the keyring like a subject key, stored under the reserved name
//! `_pseudonym`); a subject's tag is `p{version}-{first 24 bytes of HMAC-SHA-256 in hex}` from
//! [`crate::pseudonym`] in the `subject` domain, 60 characters at most, so it is a valid
//! [`KeyRef`] name and file name.
//!
//! ## Caching and other processes
//!
//! Unwrapped subject keys are cached in memory (the "warm cache" the benchmarks measure) for at
//! most [`DEFAULT_CACHE_TTL`] (2 s; [`SubjectKeys::with_cache_ttl`] changes it). `erase` clears
//! this instance's cache at once; another worker sharing the store (another process or host)
//! re-reads the record when its cached copy expires, finds the tombstone and stops sealing and
//! opening for that subject — so an erasure takes effect everywhere within the TTL (plus the
//! store's read latency). [`SubjectKeys::clear_cache`] makes it immediate on an erasure
//! notification.
//!
//! ## Rotation
//!
//! A subject key record is wrapped by one tenant keyring version. When the keyring rotates,
//! [`SubjectKeys::rewrap_subject`] (what `trust rewrap` and
//! [`crate::keyring::rewrap::Rewrapper::with_subjects`] call for each subject-sealed message)
//! re-wraps the record under the new Primary and the message then names the new version; the
//! subject key, and so the subject binding and the effect of a later erasure, are unchanged.
//! Each record moved counts in the keyring's rewrap census, so the old version can then be
//! retired and destroyed without losing the subject's data.
//!
//! ## The honest limit
//!
//! A backup taken before the erasure holds the wrapped subject key. Whoever restores that backup
//! *and* still has the tenant key version that wrapped it can read the subject's data again.
//! Erasure is therefore complete once every such backup has expired, or once that tenant key
//! version is destroyed; the receipt states the date by which the operator's backup retention
//! guarantees the former.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::GdprError;
use super::receipt::{CAVEAT, Destroyed, ErasureReceipt, ReceiptBody};
use super::signing::Signer;
use crate::durable;
use crate::envelope::{self, Context};
use crate::event::{Event, EventKind, EventSink};
use crate::provider::{EncryptionKey, KeyError, KeyProvider, KeyRef, Suite};
use crate::pseudonym::{Domain, Pseudonym, PseudonymKey};
use crate::secret::{Key256, random_array};
use zeroize::Zeroizing;

/// The subject-key file format name; also the key-wrapping AAD label.
pub(crate) const FORMAT: &str = "trust-subject-key/v1";

/// The reserved record name of a keyring's pseudonym key.
pub(crate) const PSEUDONYM_RECORD: &str = "_pseudonym";

/// Largest subject-key record accepted from a store.
pub(crate) const MAX_RECORD_LEN: usize = 4096;

/// The tag of a pseudonym: `p{version}-{hex of its first 24 bytes}`.
pub fn subject_tag(p: &Pseudonym) -> String {
    format!("p{}-{}", p.key_version(), hex::encode(&p.as_bytes()[..24]))
}

/// A stored subject key: wrapped, or erased (a tombstone).
///
/// (`deny_unknown_fields` does not combine with `flatten` in serde; unknown fields are ignored,
/// and the fields that matter are authenticated by the key wrap's associated data.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SubjectKeyRecord {
    /// Always `trust-subject-key/v1`.
    pub format: String,
    /// The tenant keyring.
    pub keyring: String,
    /// The subject's pseudonym tag (or `_pseudonym` for the pseudonym key's own record).
    pub subject: String,
    /// The keyring version that wraps (or wrapped) the key.
    pub wrapped_by_version: u32,
    /// The suite messages for this subject are sealed with.
    pub suite: String,
    /// When the key was created.
    pub created_at: Timestamp,
    /// The state.
    #[serde(flatten)]
    pub state: RecordState,
}

/// Whether the key still exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum RecordState {
    /// The key, AES-256-GCM-wrapped by the keyring version.
    Active {
        /// The 12-byte nonce, base64.
        nonce: String,
        /// The 32-byte key and 16-byte tag, base64.
        wrapped: String,
    },
    /// The key was destroyed; only this tombstone remains.
    Erased {
        /// When.
        erased_at: Timestamp,
    },
}

impl SubjectKeyRecord {
    /// Parses a stored record with bounds.
    ///
    /// # Errors
    /// [`GdprError::TooLarge`] / [`GdprError::Malformed`].
    pub fn parse(bytes: &[u8]) -> Result<Self, GdprError> {
        if bytes.len() > MAX_RECORD_LEN {
            return Err(GdprError::TooLarge("subject-key record"));
        }
        let r: Self = serde_json::from_slice(bytes)
            .map_err(|_| GdprError::Malformed("subject-key record"))?;
        if r.format != FORMAT
            || !KeyRef::is_valid_name(&r.keyring)
            || !valid_record_name(&r.subject)
        {
            return Err(GdprError::Malformed("subject-key record"));
        }
        Ok(r)
    }

    /// The record as stored.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

fn valid_record_name(s: &str) -> bool {
    s == PSEUDONYM_RECORD || KeyRef::is_valid_name(s)
}

fn aad(keyring: &str, version: u32, subject: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(FORMAT.len() + keyring.len() + subject.len() + 8);
    a.extend_from_slice(FORMAT.as_bytes());
    a.push(0);
    a.extend_from_slice(keyring.as_bytes());
    a.push(0);
    a.extend_from_slice(&version.to_be_bytes());
    a.push(0);
    a.extend_from_slice(subject.as_bytes());
    a
}

fn wrap(
    kek: &Key256,
    keyring: &str,
    version: u32,
    subject: &str,
    key: &Key256,
) -> Result<RecordState, GdprError> {
    let nonce: [u8; 12] = random_array()?;
    let cipher = Aes256Gcm::new(kek.expose().into());
    let wrapped = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: key.expose(),
                aad: &aad(keyring, version, subject),
            },
        )
        .map_err(|_| GdprError::Malformed("subject key wrap"))?;
    Ok(RecordState::Active {
        nonce: STANDARD.encode(nonce),
        wrapped: STANDARD.encode(wrapped),
    })
}

fn unwrap(
    kek: &Key256,
    record: &SubjectKeyRecord,
    nonce: &str,
    wrapped: &str,
) -> Result<Key256, GdprError> {
    let nonce = STANDARD
        .decode(nonce)
        .map_err(|_| GdprError::Malformed("subject-key record"))?;
    let wrapped = STANDARD
        .decode(wrapped)
        .map_err(|_| GdprError::Malformed("subject-key record"))?;
    if nonce.len() != 12 || wrapped.len() != 48 {
        return Err(GdprError::Malformed("subject-key record"));
    }
    let cipher = Aes256Gcm::new(kek.expose().into());
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &wrapped,
                    aad: &aad(&record.keyring, record.wrapped_by_version, &record.subject),
                },
            )
            // Opaque: the record was altered, or wrapped under another key.
            .map_err(|_| GdprError::BadSignature)?,
    );
    Key256::from_slice(&plain).ok_or(GdprError::Malformed("subject-key record"))
}

/// Where subject-key records live. Implementations must make `create` and `replace` durable
/// before returning.
pub trait SubjectKeyStore: Send + Sync {
    /// The record for (`keyring`, `subject`), if any.
    ///
    /// # Errors
    /// [`GdprError`] on storage failure or a malformed record.
    fn load(&self, keyring: &str, subject: &str) -> Result<Option<SubjectKeyRecord>, GdprError>;

    /// Stores a new record unless one exists; returns the record now stored (the existing one
    /// if another writer won the race).
    ///
    /// # Errors
    /// [`GdprError`] on storage failure.
    fn create(&self, record: &SubjectKeyRecord) -> Result<SubjectKeyRecord, GdprError>;

    /// Replaces a record (used to write tombstones).
    ///
    /// # Errors
    /// [`GdprError`] on storage failure.
    fn replace(&self, record: &SubjectKeyRecord) -> Result<(), GdprError>;
}

/// Records in memory (tests, benchmarks, apps that keep keys in their own database through a
/// custom store).
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<(String, String), SubjectKeyRecord>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SubjectKeyStore for MemoryStore {
    fn load(&self, keyring: &str, subject: &str) -> Result<Option<SubjectKeyRecord>, GdprError> {
        let map = self
            .records
            .lock()
            .map_err(|_| GdprError::Malformed("store lock"))?;
        Ok(map.get(&(keyring.to_owned(), subject.to_owned())).cloned())
    }

    fn create(&self, record: &SubjectKeyRecord) -> Result<SubjectKeyRecord, GdprError> {
        let mut map = self
            .records
            .lock()
            .map_err(|_| GdprError::Malformed("store lock"))?;
        Ok(map
            .entry((record.keyring.clone(), record.subject.clone()))
            .or_insert_with(|| record.clone())
            .clone())
    }

    fn replace(&self, record: &SubjectKeyRecord) -> Result<(), GdprError> {
        let mut map = self
            .records
            .lock()
            .map_err(|_| GdprError::Malformed("store lock"))?;
        map.insert(
            (record.keyring.clone(), record.subject.clone()),
            record.clone(),
        );
        Ok(())
    }
}

/// The embedded default: one JSON file per record under `<root>/<keyring>/<subject>.json`,
/// created with `O_EXCL` semantics and replaced atomically (`durable`), mode 0600.
#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store rooted at `root` (typically `<trust home>/subjects`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, keyring: &str, subject: &str) -> Result<PathBuf, GdprError> {
        if !KeyRef::is_valid_name(keyring) || !valid_record_name(subject) {
            return Err(GdprError::BadName("keyring or subject"));
        }
        Ok(self.root.join(keyring).join(format!("{subject}.json")))
    }
}

impl SubjectKeyStore for LocalStore {
    fn load(&self, keyring: &str, subject: &str) -> Result<Option<SubjectKeyRecord>, GdprError> {
        let path = self.path(keyring, subject)?;
        match std::fs::read(&path) {
            Ok(bytes) => SubjectKeyRecord::parse(&bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn create(&self, record: &SubjectKeyRecord) -> Result<SubjectKeyRecord, GdprError> {
        let path = self.path(&record.keyring, &record.subject)?;
        if let Some(dir) = path.parent() {
            durable::create_private_dir(dir)?;
        }
        match durable::create_private(&path, &record.to_json()) {
            Ok(()) => Ok(record.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self
                .load(&record.keyring, &record.subject)?
                .ok_or(GdprError::Malformed("subject-key record vanished")),
            Err(e) => Err(e.into()),
        }
    }

    fn replace(&self, record: &SubjectKeyRecord) -> Result<(), GdprError> {
        let path = self.path(&record.keyring, &record.subject)?;
        if let Some(dir) = path.parent() {
            durable::create_private_dir(dir)?;
        }
        durable::write_atomic(&path, &record.to_json())?;
        Ok(())
    }
}

#[derive(Clone)]
struct CachedKey {
    key: Arc<Key256>,
    version: u32,
    suite: Suite,
}

/// How long an unwrapped subject key is used from memory before the store is asked again
/// (see [`SubjectKeys::with_cache_ttl`]).
pub const DEFAULT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Subject keys on top of a tenant [`KeyProvider`]; see the module docs.
pub struct SubjectKeys<P, S> {
    tenant: P,
    store: S,
    keys: RwLock<HashMap<(String, String), (CachedKey, std::time::Instant)>>,
    cache_ttl: std::time::Duration,
    pseudonyms: RwLock<HashMap<String, Arc<PseudonymKey>>>,
}

impl<P, S> core::fmt::Debug for SubjectKeys<P, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SubjectKeys").finish_non_exhaustive()
    }
}

/// What [`SubjectKeys::erase`] needs besides the subject. `Debug` hides the actor.
#[non_exhaustive]
pub struct EraseOptions<'a> {
    /// The request being answered, if any (copied into the receipt and event).
    pub request: Option<&'a str>,
    /// Who performs the erasure (pseudonymized by the audit sink).
    pub actor: Option<&'a str>,
    /// When.
    pub at: Timestamp,
    /// How long backups holding key stores are kept; the receipt's `backups_expire_by` is
    /// `at + backup_retention`.
    pub backup_retention: SignedDuration,
}

impl EraseOptions<'_> {
    /// An erasure at `at` whose key-store backups are kept `backup_retention`; no request
    /// and no actor until set.
    pub fn new(at: Timestamp, backup_retention: SignedDuration) -> Self {
        Self {
            request: None,
            actor: None,
            at,
            backup_retention,
        }
    }
}

impl core::fmt::Debug for EraseOptions<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EraseOptions")
            .field("request", &self.request)
            .field(
                "actor",
                &format_args!(
                    "{}",
                    if self.actor.is_some() {
                        "Some(<redacted>)"
                    } else {
                        "None"
                    }
                ),
            )
            .field("at", &self.at)
            .field("backup_retention", &self.backup_retention)
            .finish()
    }
}

impl<P: KeyProvider, S: SubjectKeyStore> SubjectKeys<P, S> {
    /// Subject keys under `tenant`, stored in `store`.
    pub fn new(tenant: P, store: S) -> Self {
        Self {
            tenant,
            store,
            keys: RwLock::new(HashMap::new()),
            cache_ttl: DEFAULT_CACHE_TTL,
            pseudonyms: RwLock::new(HashMap::new()),
        }
    }

    /// The tenant provider.
    pub fn tenant(&self) -> &P {
        &self.tenant
    }

    /// Forgets every cached key (call after another process erased a subject).
    pub fn clear_cache(&self) {
        if let Ok(mut k) = self.keys.write() {
            k.clear();
        }
        if let Ok(mut p) = self.pseudonyms.write() {
            p.clear();
        }
    }

    fn tenant_kek(&self, keyring: &str, version: u32) -> Result<Arc<Key256>, GdprError> {
        Ok(self.tenant.decryption_key(&KeyRef::new(keyring, version))?)
    }

    /// Loads or creates the record `name` under `keyring`, returning its unwrapped key.
    fn key_record(
        &self,
        keyring: &str,
        name: &str,
        create: bool,
        now: Timestamp,
    ) -> Result<CachedKey, GdprError> {
        let record = match self.store.load(keyring, name)? {
            Some(r) => r,
            None if create => {
                let enc = self.tenant.encryption_key(keyring)?;
                let key = Key256::generate()?;
                let version = enc.key_ref.version;
                let record = SubjectKeyRecord {
                    format: FORMAT.to_owned(),
                    keyring: keyring.to_owned(),
                    subject: name.to_owned(),
                    wrapped_by_version: version,
                    suite: enc.suite.name().to_owned(),
                    created_at: now,
                    state: wrap(&enc.kek, keyring, version, name, &key)?,
                };
                self.store.create(&record)?
            }
            None => {
                return Err(GdprError::Key(KeyError::UnknownVersion {
                    key_ref: subject_ref(keyring, 0, name),
                }));
            }
        };
        match &record.state {
            RecordState::Erased { .. } => Err(GdprError::Key(KeyError::SubjectErased {
                key_ref: subject_ref(keyring, record.wrapped_by_version, name),
            })),
            RecordState::Active { nonce, wrapped } => {
                let kek = self.tenant_kek(keyring, record.wrapped_by_version)?;
                let key = unwrap(&kek, &record, nonce, wrapped)?;
                let suite = record.suite.parse::<Suite>()?;
                Ok(CachedKey {
                    key: Arc::new(key),
                    version: record.wrapped_by_version,
                    suite,
                })
            }
        }
    }

    /// The pseudonym key of `keyring`, created on first use.
    ///
    /// # Errors
    /// [`GdprError::Key`] when the keyring cannot provide a key; storage errors.
    pub fn pseudonym_key(&self, keyring: &str) -> Result<Arc<PseudonymKey>, GdprError> {
        if let Some(k) = self
            .pseudonyms
            .read()
            .ok()
            .and_then(|m| m.get(keyring).cloned())
        {
            return Ok(k);
        }
        let now = super::timestamp(std::time::SystemTime::now());
        let cached = self.key_record(keyring, PSEUDONYM_RECORD, true, now)?;
        let key = Arc::new(PseudonymKey::new(
            1,
            Key256::from_bytes(*cached.key.expose()),
        ));
        if let Ok(mut m) = self.pseudonyms.write() {
            m.insert(keyring.to_owned(), Arc::clone(&key));
        }
        Ok(key)
    }

    /// The pseudonym tag of `subject_id` under `keyring`.
    ///
    /// # Errors
    /// As [`SubjectKeys::pseudonym_key`].
    pub fn subject_tag(&self, keyring: &str, subject_id: &str) -> Result<String, GdprError> {
        let key = self.pseudonym_key(keyring)?;
        Ok(subject_tag(&key.pseudonym(Domain::Subject, subject_id)))
    }

    fn cached(&self, keyring: &str, tag: &str) -> Option<CachedKey> {
        self.keys.read().ok().and_then(|m| {
            m.get(&(keyring.to_owned(), tag.to_owned()))
                .filter(|(_, at)| at.elapsed() < self.cache_ttl)
                .map(|(c, _)| c.clone())
        })
    }

    /// Uses an unwrapped subject key from memory for at most `ttl` before reading its record
    /// again, so an erasure made by another worker (another process, another host sharing the
    /// store) stops this one from sealing or opening for that subject within `ttl`.
    /// [`DEFAULT_CACHE_TTL`] (2 s) unless set; `Duration::ZERO` reads the store on every call.
    #[must_use]
    pub fn with_cache_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    fn subject_key(&self, keyring: &str, tag: &str, create: bool) -> Result<CachedKey, GdprError> {
        if let Some(c) = self.cached(keyring, tag) {
            return Ok(c);
        }
        let now = super::timestamp(std::time::SystemTime::now());
        let c = self.key_record(keyring, tag, create, now)?;
        if let Ok(mut m) = self.keys.write() {
            m.insert(
                (keyring.to_owned(), tag.to_owned()),
                (c.clone(), std::time::Instant::now()),
            );
        }
        Ok(c)
    }

    /// The key to seal a message for `subject_id` under `keyring`: the subject key (created on
    /// first use), with a [`KeyRef`] naming the subject's pseudonym tag.
    ///
    /// # Errors
    /// [`GdprError::Key`] with [`KeyError::SubjectErased`] once the subject was erased, or the
    /// keyring's own errors; storage errors.
    pub fn encryption_key_for(
        &self,
        keyring: &str,
        subject_id: &str,
    ) -> Result<EncryptionKey, GdprError> {
        let tag = self.subject_tag(keyring, subject_id)?;
        self.encryption_key_for_tag(keyring, &tag)
    }

    /// As [`SubjectKeys::encryption_key_for`], for a subject already known by its tag.
    ///
    /// # Errors
    /// As [`SubjectKeys::encryption_key_for`].
    pub fn encryption_key_for_tag(
        &self,
        keyring: &str,
        tag: &str,
    ) -> Result<EncryptionKey, GdprError> {
        if tag == PSEUDONYM_RECORD || !KeyRef::is_valid_name(tag) {
            return Err(GdprError::BadName("subject pseudonym"));
        }
        let c = self.subject_key(keyring, tag, true)?;
        Ok(EncryptionKey {
            key_ref: subject_ref(keyring, c.version, tag),
            suite: c.suite,
            kek: c.key,
        })
    }

    /// Rotation for subject-sealed data: moves subject `tag`'s key record, and the keyring's
    /// pseudonym-key record, to be wrapped by keyring version `primary` (the keyring's current
    /// Primary) when they are wrapped by an older version, and returns the key to rewrap the
    /// subject's messages under (naming `primary`), with the keyring versions the records were
    /// moved off, for the rewrap census. The subject binding is carried over: the subject key
    /// itself is unchanged, only the keyring version wrapping it is.
    ///
    /// # Errors
    /// [`GdprError::Key`] with [`KeyError::SubjectErased`] for an erased subject, or when the
    /// old keyring version can no longer decrypt (retired too early); storage errors.
    pub fn rewrap_subject(
        &self,
        keyring: &str,
        tag: &str,
        primary: u32,
    ) -> Result<(EncryptionKey, Vec<u32>), GdprError> {
        if tag == PSEUDONYM_RECORD || !KeyRef::is_valid_name(tag) {
            return Err(GdprError::BadName("subject pseudonym"));
        }
        let mut moved = Vec::new();
        for name in [PSEUDONYM_RECORD, tag] {
            if let Some(from) = self.move_record(keyring, name, primary)? {
                moved.push(from);
            }
        }
        Ok((self.encryption_key_for_tag(keyring, tag)?, moved))
    }

    /// Moves the keyring's pseudonym-key record (when there is one) to be wrapped by keyring
    /// version `primary` if an older version wraps it; returns the version it was moved off.
    /// Rewrap does this once per keyring it touches, so the old version is freed even when no
    /// subject-sealed message is rewrapped.
    ///
    /// # Errors
    /// As [`SubjectKeys::rewrap_subject`].
    pub fn rewrap_pseudonym_key(
        &self,
        keyring: &str,
        primary: u32,
    ) -> Result<Option<u32>, GdprError> {
        self.move_record(keyring, PSEUDONYM_RECORD, primary)
    }

    /// Re-wraps record `name` under the keyring's Primary when it is wrapped by an older
    /// version than `primary`; returns the version it was moved off.
    fn move_record(
        &self,
        keyring: &str,
        name: &str,
        primary: u32,
    ) -> Result<Option<u32>, GdprError> {
        let Some(record) = self.store.load(keyring, name)? else {
            return Ok(None);
        };
        let RecordState::Active { nonce, wrapped } = &record.state else {
            return if name == PSEUDONYM_RECORD {
                Ok(None)
            } else {
                Err(GdprError::Key(KeyError::SubjectErased {
                    key_ref: subject_ref(keyring, record.wrapped_by_version, name),
                }))
            };
        };
        if record.wrapped_by_version >= primary {
            return Ok(None);
        }
        let old = self.tenant_kek(keyring, record.wrapped_by_version)?;
        let key = unwrap(&old, &record, nonce, wrapped)?;
        let enc = self.tenant.encryption_key(keyring)?;
        let version = enc.key_ref.version;
        let from = record.wrapped_by_version;
        let moved = SubjectKeyRecord {
            wrapped_by_version: version,
            state: wrap(&enc.kek, keyring, version, name, &key)?,
            ..record
        };
        self.store.replace(&moved)?;
        if let Ok(mut m) = self.keys.write() {
            m.remove(&(keyring.to_owned(), name.to_owned()));
        }
        Ok(Some(from))
    }

    /// Seals `plaintext` for `subject_id` under `keyring`, bound to `context`: an ordinary
    /// envelope whose header names the subject's pseudonym tag (never the raw id).
    ///
    /// # Errors
    /// As [`SubjectKeys::encryption_key_for`]; envelope errors.
    pub fn seal_for_subject(
        &self,
        keyring: &str,
        subject_id: &str,
        context: &Context,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, GdprError> {
        let key = self.encryption_key_for(keyring, subject_id)?;
        Ok(envelope::seal_with(&key, context, plaintext)?)
    }

    /// Opens an envelope sealed for a subject (or, equally, one sealed directly under the
    /// tenant keyring): the subject is found from the header.
    ///
    /// # Errors
    /// [`GdprError::Key`] with [`KeyError::SubjectErased`] once the subject was erased; other
    /// key errors; [`GdprError::Envelope`] for authentication or context failures.
    pub fn open_for_subject(
        &self,
        context: &Context,
        envelope_bytes: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, GdprError> {
        Ok(envelope::open(self, context, envelope_bytes)?)
    }

    /// Erases `subject_id`'s key under `keyring`: see the module docs.
    ///
    /// # Errors
    /// [`GdprError::Key`] with [`KeyError::SubjectErased`] when already erased; storage errors
    /// (nothing was erased); [`GdprError::Event`] when the audit failed (the key *is* erased —
    /// re-record the event).
    pub fn erase(
        &self,
        keyring: &str,
        subject_id: &str,
        opts: &EraseOptions<'_>,
        signer: &Signer,
        sink: &dyn EventSink,
    ) -> Result<ErasureReceipt, GdprError> {
        let tag = self.subject_tag(keyring, subject_id)?;
        self.erase_tag(keyring, &tag, opts, signer, sink)
    }

    /// As [`SubjectKeys::erase`], for a subject known by its tag (e.g. from a request).
    ///
    /// # Errors
    /// As [`SubjectKeys::erase`].
    pub fn erase_tag(
        &self,
        keyring: &str,
        tag: &str,
        opts: &EraseOptions<'_>,
        signer: &Signer,
        sink: &dyn EventSink,
    ) -> Result<ErasureReceipt, GdprError> {
        if tag == PSEUDONYM_RECORD || !KeyRef::is_valid_name(tag) {
            return Err(GdprError::BadName("subject pseudonym"));
        }
        let existing = self.store.load(keyring, tag)?;
        let (version, suite, created_at, destroyed) = match &existing {
            Some(r) => match r.state {
                RecordState::Erased { .. } => {
                    return Err(GdprError::Key(KeyError::SubjectErased {
                        key_ref: subject_ref(keyring, r.wrapped_by_version, tag),
                    }));
                }
                RecordState::Active { .. } => (
                    r.wrapped_by_version,
                    r.suite.clone(),
                    r.created_at,
                    vec![Destroyed {
                        kind: "subject-key".into(),
                        keyring: keyring.to_owned(),
                        wrapped_by_version: r.wrapped_by_version,
                    }],
                ),
            },
            // Never sealed for: still write a tombstone so no key is created later.
            None => (0, Suite::default().name().to_owned(), opts.at, Vec::new()),
        };
        let tombstone = SubjectKeyRecord {
            format: FORMAT.to_owned(),
            keyring: keyring.to_owned(),
            subject: tag.to_owned(),
            wrapped_by_version: version,
            suite,
            created_at,
            state: RecordState::Erased { erased_at: opts.at },
        };
        // The receipt is signed before anything is destroyed: a signing device that fails (an
        // HSM without its token) leaves the subject intact instead of erased without a receipt.
        let backups_expire_by = opts
            .at
            .checked_add(opts.backup_retention)
            .map_err(|_| GdprError::BadTime)?;
        let receipt = ErasureReceipt::sign(
            ReceiptBody {
                format: String::new(),
                subject: tag.to_owned(),
                request: opts.request.map(str::to_owned),
                erased_at: opts.at,
                destroyed,
                backups_expire_by,
                caveat: CAVEAT.to_owned(),
                signer: String::new(),
            },
            signer,
        )?;
        self.store.replace(&tombstone)?;
        if let Ok(mut m) = self.keys.write() {
            m.remove(&(keyring.to_owned(), tag.to_owned()));
        }
        let mut event = Event::new(EventKind::GdprErase, opts.at.into())
            .subject(tag)
            .attr("keyring", keyring)
            .attr("wrapped_by_version", version)
            .attr("backups_expire_by", backups_expire_by);
        if let Some(r) = opts.request {
            event = event.attr("request", r);
        }
        if let Some(a) = opts.actor {
            event = event.actor(a);
        }
        sink.record(&event)?;
        Ok(receipt)
    }
}

fn subject_ref(keyring: &str, version: u32, tag: &str) -> KeyRef {
    KeyRef {
        keyring: keyring.to_owned(),
        version,
        subject: Some(tag.to_owned()),
    }
}

impl<P: KeyProvider, S: SubjectKeyStore> KeyProvider for SubjectKeys<P, S> {
    fn encryption_key(&self, keyring: &str) -> Result<EncryptionKey, KeyError> {
        self.tenant.encryption_key(keyring)
    }

    fn decryption_key(&self, key_ref: &KeyRef) -> Result<Arc<Key256>, KeyError> {
        let Some(tag) = &key_ref.subject else {
            return self.tenant.decryption_key(key_ref);
        };
        if tag == PSEUDONYM_RECORD || !KeyRef::is_valid_name(tag) {
            return Err(KeyError::UnknownVersion {
                key_ref: key_ref.clone(),
            });
        }
        match self.subject_key(&key_ref.keyring, tag, false) {
            Ok(c) => Ok(c.key),
            Err(GdprError::Key(e)) => Err(e),
            Err(e) => Err(KeyError::Backend {
                reason: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::MemorySink;

    /// A one-keyring tenant provider with versions 1..=n, primary n.
    pub(crate) struct TestTenant {
        keys: Vec<Arc<Key256>>,
    }

    impl TestTenant {
        pub(crate) fn new(versions: usize) -> Self {
            Self {
                keys: (0..versions)
                    .map(|i| Arc::new(Key256::from_bytes([u8::try_from(i).unwrap() + 1; 32])))
                    .collect(),
            }
        }
    }

    impl KeyProvider for TestTenant {
        fn encryption_key(&self, keyring: &str) -> Result<EncryptionKey, KeyError> {
            if keyring != "orders" {
                return Err(KeyError::UnknownKeyring {
                    keyring: keyring.into(),
                });
            }
            let v = u32::try_from(self.keys.len()).unwrap();
            Ok(EncryptionKey {
                key_ref: KeyRef::new(keyring, v),
                suite: Suite::Aes256Gcm,
                kek: Arc::clone(&self.keys[self.keys.len() - 1]),
            })
        }
        fn decryption_key(&self, key_ref: &KeyRef) -> Result<Arc<Key256>, KeyError> {
            let i = usize::try_from(key_ref.version).unwrap();
            if key_ref.keyring != "orders" || i == 0 || i > self.keys.len() {
                return Err(KeyError::UnknownVersion {
                    key_ref: key_ref.clone(),
                });
            }
            Ok(Arc::clone(&self.keys[i - 1]))
        }
    }

    fn opts() -> EraseOptions<'static> {
        EraseOptions {
            request: Some("T-1"),
            actor: Some("ops@example.com"),
            at: "2026-02-01T00:00:00Z".parse().unwrap(),
            backup_retention: SignedDuration::from_hours(30 * 24),
        }
    }

    /// A signing device for tests: an in-memory seed behind the device trait, which can be
    /// told to fail like an HSM whose token was pulled.
    struct Device {
        pair: ring::signature::Ed25519KeyPair,
        down: std::sync::atomic::AtomicBool,
    }

    impl crate::audit::note::ExternalEd25519 for Device {
        fn public_key(&self) -> [u8; 32] {
            use ring::signature::KeyPair as _;
            self.pair.public_key().as_ref().try_into().unwrap()
        }
        fn sign(&self, message: &[u8]) -> Result<[u8; 64], crate::root::BackendError> {
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(crate::root::BackendError::new(
                    "PKCS11_TOKEN_ABSENT",
                    crate::error::Category::KeyUnavailable,
                    "the token is absent",
                ));
            }
            Ok(self.pair.sign(message).as_ref().try_into().unwrap())
        }
    }

    #[test]
    fn a_device_signer_signs_receipts_and_a_failing_one_erases_nothing() {
        use crate::error::TrustError as _;
        let dir = tempfile::tempdir().unwrap();
        let device = Arc::new(Device {
            pair: ring::signature::Ed25519KeyPair::from_seed_unchecked(&[5; 32]).unwrap(),
            down: std::sync::atomic::AtomicBool::new(true),
        });
        let signer = Signer::external(device.clone());
        assert!(signer.is_external());
        let sink = MemorySink::new();
        let sk = SubjectKeys::new(TestTenant::new(1), LocalStore::new(dir.path()));
        let jane = sk.encryption_key_for("orders", "customer-1").unwrap();

        let err = sk
            .erase("orders", "customer-1", &opts(), &signer, &sink)
            .unwrap_err();
        assert_eq!(err.code(), "PKCS11_TOKEN_ABSENT");
        assert_eq!(err.category().exit_code(), 4);
        assert!(
            sk.decryption_key(&jane.key_ref).is_ok(),
            "erased without a receipt"
        );
        assert!(sink.events().is_empty());

        device
            .down
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let receipt = sk
            .erase("orders", "customer-1", &opts(), &signer, &sink)
            .unwrap();
        receipt.verify(&signer.public_key()).unwrap();
        let (other, _) = Signer::generate().unwrap();
        assert!(receipt.verify(&other.public_key()).is_err());
    }

    #[test]
    fn erase_makes_only_that_subject_unreadable_and_survives_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (signer, _) = Signer::generate().unwrap();
        let sink = MemorySink::new();
        let sk = SubjectKeys::new(TestTenant::new(2), LocalStore::new(dir.path()));
        let jane = sk.encryption_key_for("orders", "customer-1").unwrap();
        let joe = sk.encryption_key_for("orders", "customer-2").unwrap();
        assert_ne!(jane.kek.expose(), joe.kek.expose());
        assert_eq!(jane.key_ref.version, 2);
        let tag = jane.key_ref.subject.clone().unwrap();
        assert!(!tag.contains("customer"));
        // Opening through the provider finds the same key.
        assert_eq!(
            sk.decryption_key(&jane.key_ref).unwrap().expose(),
            jane.kek.expose()
        );

        let receipt = sk
            .erase("orders", "customer-1", &opts(), &signer, &sink)
            .unwrap();
        receipt.verify(&signer.public_key()).unwrap();
        assert_eq!(receipt.body.subject, tag);
        assert_eq!(receipt.body.destroyed[0].wrapped_by_version, 2);
        assert_eq!(
            receipt.body.backups_expire_by,
            "2026-03-03T00:00:00Z".parse().unwrap()
        );
        assert!(matches!(
            sk.decryption_key(&jane.key_ref),
            Err(KeyError::SubjectErased { .. })
        ));
        assert!(sk.decryption_key(&joe.key_ref).is_ok());

        // A fresh instance (restart) sees the tombstone.
        let sk2 = SubjectKeys::new(TestTenant::new(2), LocalStore::new(dir.path()));
        assert!(matches!(
            sk2.decryption_key(&jane.key_ref),
            Err(KeyError::SubjectErased { .. })
        ));
        assert!(matches!(
            sk2.encryption_key_for("orders", "customer-1"),
            Err(GdprError::Key(KeyError::SubjectErased { .. }))
        ));
        assert_eq!(
            sk2.decryption_key(&joe.key_ref).unwrap().expose(),
            joe.kek.expose()
        );
        assert!(matches!(
            sk2.erase("orders", "customer-1", &opts(), &signer, &sink),
            Err(GdprError::Key(KeyError::SubjectErased { .. }))
        ));

        let events = sink.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "gdpr.erase");
        assert_eq!(events[0].subject.as_deref(), Some(tag.as_str()));
        let text = format!("{:?}{}", events[0], receipt.to_json());
        assert!(!text.contains("customer-1"));
    }

    #[test]
    fn seal_and_open_for_subjects_through_the_envelope() {
        let (signer, _) = Signer::generate().unwrap();
        let sk = SubjectKeys::new(TestTenant::new(1), MemoryStore::new());
        let ctx = Context::new().with("table", "customers").unwrap();
        let a = sk
            .seal_for_subject("orders", "alice", &ctx, b"alice@example.com")
            .unwrap();
        let b = sk
            .seal_for_subject("orders", "bob", &ctx, b"bob@example.com")
            .unwrap();
        let info = envelope::inspect(&a).unwrap();
        assert_eq!(
            info.key_ref.subject,
            Some(sk.subject_tag("orders", "alice").unwrap())
        );
        assert_eq!(
            &sk.open_for_subject(&ctx, &a).unwrap()[..],
            b"alice@example.com"
        );
        // Without the subject layer the tenant provider cannot open it.
        assert!(envelope::open(sk.tenant(), &ctx, &a).is_err());
        sk.erase("orders", "alice", &opts(), &signer, &crate::event::NoSink)
            .unwrap();
        assert!(matches!(
            sk.open_for_subject(&ctx, &a),
            Err(GdprError::Key(KeyError::SubjectErased { .. }))
        ));
        assert_eq!(
            &sk.open_for_subject(&ctx, &b).unwrap()[..],
            b"bob@example.com"
        );
    }

    #[test]
    fn pseudonyms_are_stable_per_keyring_and_survive_restart() {
        let dir = tempfile::tempdir().unwrap();
        let a = SubjectKeys::new(TestTenant::new(1), LocalStore::new(dir.path()));
        let t1 = a.subject_tag("orders", "x").unwrap();
        let b = SubjectKeys::new(TestTenant::new(1), LocalStore::new(dir.path()));
        assert_eq!(b.subject_tag("orders", "x").unwrap(), t1);
        assert_ne!(b.subject_tag("orders", "y").unwrap(), t1);
        assert!(KeyRef::is_valid_name(&t1) && t1.len() <= 64);
    }

    #[test]
    fn keys_stay_readable_after_tenant_rotation() {
        let store = MemoryStore::new();
        let sk = SubjectKeys::new(TestTenant::new(1), store);
        let k = sk.encryption_key_for("orders", "s").unwrap();
        let SubjectKeys { store, .. } = sk;
        let rotated = SubjectKeys::new(TestTenant::new(3), store);
        // The record stays wrapped by v1, which the rotated tenant can still open.
        assert_eq!(
            rotated.decryption_key(&k.key_ref).unwrap().expose(),
            k.kek.expose()
        );
    }

    #[test]
    fn erasing_an_unknown_subject_blocks_later_keys() {
        let (signer, _) = Signer::generate().unwrap();
        let sk = SubjectKeys::new(TestTenant::new(1), MemoryStore::new());
        let r = sk
            .erase(
                "orders",
                "never-seen",
                &opts(),
                &signer,
                &crate::event::NoSink,
            )
            .unwrap();
        assert!(r.body.destroyed.is_empty());
        assert!(sk.encryption_key_for("orders", "never-seen").is_err());
    }

    #[test]
    fn tampered_records_and_bad_refs_fail() {
        let dir = tempfile::tempdir().unwrap();
        let sk = SubjectKeys::new(TestTenant::new(1), LocalStore::new(dir.path()));
        let k = sk.encryption_key_for("orders", "s").unwrap();
        let tag = k.key_ref.subject.clone().unwrap();
        let path = dir.path().join("orders").join(format!("{tag}.json"));
        let mut rec = SubjectKeyRecord::parse(&std::fs::read(&path).unwrap()).unwrap();
        rec.wrapped_by_version = 1;
        rec.subject = sk.subject_tag("orders", "other").unwrap();
        // Moving a wrapped key to another subject's name fails authentication.
        std::fs::write(
            dir.path()
                .join("orders")
                .join(format!("{}.json", rec.subject)),
            rec.to_json(),
        )
        .unwrap();
        let fresh = SubjectKeys::new(TestTenant::new(1), LocalStore::new(dir.path()));
        let mut moved = k.key_ref.clone();
        moved.subject = Some(rec.subject.clone());
        assert!(matches!(
            fresh.decryption_key(&moved),
            Err(KeyError::Backend { .. })
        ));
        // Unknown subject, reserved name, invalid name, unknown keyring.
        let mut unknown = k.key_ref.clone();
        unknown.subject = Some("p1-0000".into());
        assert!(matches!(
            fresh.decryption_key(&unknown),
            Err(KeyError::UnknownVersion { .. })
        ));
        unknown.subject = Some(PSEUDONYM_RECORD.into());
        assert!(matches!(
            fresh.decryption_key(&unknown),
            Err(KeyError::UnknownVersion { .. })
        ));
        unknown.subject = Some("../x".into());
        assert!(matches!(
            fresh.decryption_key(&unknown),
            Err(KeyError::UnknownVersion { .. })
        ));
        assert!(matches!(
            fresh.encryption_key_for("nope", "s"),
            Err(GdprError::Key(KeyError::UnknownKeyring { .. }))
        ));
        // Plain refs go to the tenant.
        assert!(fresh.decryption_key(&KeyRef::new("orders", 1)).is_ok());
        assert!(SubjectKeyRecord::parse(b"{}").is_err());
        assert!(SubjectKeyRecord::parse(&vec![b' '; MAX_RECORD_LEN + 1]).is_err());
    }
}
