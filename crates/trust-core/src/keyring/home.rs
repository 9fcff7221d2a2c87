//! The home: a root key, a keyring store, an event sink and a clock, tied together.
//!
//! ```text
//! HOME/
//!   home.json          root-key source (key-file path, argon2id params + salt, or an external
//!                      root's descriptor) + check value
//!   keyrings/NAME.json one authenticated keyring file per keyring (docs/format-keyring.md)
//!   keyrings/.NAME.lock
//! ```
//!
//! [`Home`] is what applications, the CLI and the C ABI hold. It implements
//! [`KeyProvider`], so it can be handed straight to the envelope, and it offers the operator
//! verbs (`create_keyring`, `rotate`, `promote`, `retire`, `enable`, `schedule_destroy`,
//! `destroy`…), each of which reloads the keyring, applies the change, writes it back with
//! compare-and-swap (retrying on conflict), and then records an [`Event`].
//!
//! ## Usage counting without a write per seal
//!
//! Every seal counts toward the Primary's ceiling, but writing the keyring file per seal would
//! cost an fsync per record. Instead a home *reserves* a block of seals durably (one keyring
//! write per [`HomeOptions::usage_block`] seals, 1024 by default) and hands them out from
//! memory. A crash loses the unused rest of a block, which stays counted: the stored counter is
//! always an upper bound on the seals made, never an underestimate. A process winding down
//! gives the rest back with [`Home::release_unused`], so the counter stays tight and the
//! destroy guard (seals counted versus ciphertexts rewrap moved) can clear.
//!
//! ## Freshness
//!
//! A home keeps the last verified copy of each keyring and reloads it when it is older than
//! [`HomeOptions::refresh`] (2 s by default), or immediately for any change it makes itself. A
//! version disabled by another process therefore stops decrypting here within that interval;
//! choose the keyring's `min_stage_secs` above it so every process knows a Staged version before
//! it becomes Primary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::cache::KeyCache;
use super::file;
use super::ring::{Change, ConfigChange, Destroy, DestroyOutcome, Keyring, Rollout, RotationStep};
use super::state::{Transition, VersionState};
use super::store::{DirStore, KeyringStore, StoreError};
use super::version::Policy;
use super::{KeyringError, KeyringSummary};
use crate::clock::{Clock, SystemClock, unix_seconds};
use crate::durable;
use crate::event::{Event, EventKind, EventSink, NoSink};
use crate::provider::{EncryptionKey, KeyError, KeyProvider, KeyRef, Suite};
use crate::root::{
    LocalRootKey, PassphraseParams, RootKey, RootKeyError, RootKeySource, create_key_file,
    read_key_file,
};
use crate::secret::{Key256, SecretBytes, random_array};

const HOME_FILE: &str = "home.json";
/// The home record a root migration moves to, written before any keyring is rewrapped and
/// renamed over `home.json` after the last one (see [`Home::rewrap_root`]).
const NEXT_HOME_FILE: &str = "home.next.json";
const KEYRINGS_DIR: &str = "keyrings";
const HOME_FORMAT: &str = "trust-home";
const MAX_HOME_FILE: u64 = 64 * 1024;

/// Tuning knobs of a [`Home`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HomeOptions {
    /// Seals reserved per durable counter update (see the module docs). The CLI uses 1.
    pub usage_block: u64,
    /// How long a loaded keyring is trusted before it is re-read from the store.
    pub refresh: Duration,
    /// Unwrapped version keys kept in memory.
    pub cache_capacity: usize,
    /// Compare-and-swap attempts before giving up with [`KeyringError::Busy`].
    pub max_retries: u32,
}

impl Default for HomeOptions {
    fn default() -> Self {
        Self {
            usage_block: 1024,
            refresh: Duration::from_secs(2),
            cache_capacity: super::cache::DEFAULT_CAPACITY,
            max_retries: 200,
        }
    }
}

impl HomeOptions {
    /// These options with `usage_block` seals reserved per counter update.
    pub fn with_usage_block(mut self, usage_block: u64) -> Self {
        self.usage_block = usage_block;
        self
    }

    /// These options with loaded keyrings trusted for `refresh`.
    pub fn with_refresh(mut self, refresh: Duration) -> Self {
        self.refresh = refresh;
        self
    }
}

/// How a new home gets its root key.
#[non_exhaustive]
pub enum InitSource {
    /// Use this key file if it exists (32 bytes), else create it (32 random bytes, `0600`).
    KeyFile(PathBuf),
    /// Stretch this passphrase with argon2id under `params` and a fresh random salt.
    Passphrase {
        /// The passphrase.
        passphrase: SecretBytes,
        /// argon2id cost ([`PassphraseParams::DEFAULT`] unless tests need it cheap).
        params: PassphraseParams,
    },
    /// A root key held outside this process (an HSM, a cloud KMS), already opened by the
    /// caller. The home records `root.kind()` and `uri` (a PKCS#11 URI, a KMS key ARN: never
    /// a PIN or credential), authenticated by the check value, so that a front end can open
    /// the same key again and a home record pointed at another key is refused.
    External {
        /// The opened root key.
        root: Arc<dyn RootKey>,
        /// What the front end needs to open it again (at most [`MAX_ROOT_URI`] bytes).
        uri: String,
    },
}

/// Longest external root descriptor (`uri`) a home records.
pub const MAX_ROOT_URI: usize = 2048;

/// How an existing home's root key is unlocked.
#[non_exhaustive]
pub enum Unlock {
    /// The key file recorded in `home.json`.
    Stored,
    /// Another path to the key file (e.g. the home was moved); it must hold the same key.
    KeyFile(PathBuf),
    /// The passphrase of a passphrase home.
    Passphrase(SecretBytes),
    /// The external root key of an external home, opened by the caller from the descriptor
    /// [`Home::root_kind`] returns ([`RootKind::External`]).
    Root(Arc<dyn RootKey>),
}

/// What kind of root key a home was initialized with (to know whether to ask a passphrase).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootKind {
    /// A key file at this path.
    KeyFile(PathBuf),
    /// A passphrase.
    Passphrase,
    /// A root key outside this process: `kind` is its [`RootKey::kind`] (`"pkcs11"`,
    /// `"aws-kms"`), `uri` what opens it (a PKCS#11 URI, a KMS key id or ARN).
    External {
        /// The kind of root key.
        kind: String,
        /// Its descriptor.
        uri: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum RootConfig {
    KeyFile {
        path: PathBuf,
    },
    Passphrase {
        kdf: String,
        params: PassphraseParams,
        salt: String,
    },
    External {
        backend: String,
        uri: String,
    },
}

/// A recorded external root must be a short kind name and a bounded, printable descriptor: a
/// tampered home file must not smuggle control characters into a terminal or a log.
fn check_external(backend: &str, uri: &str) -> Result<(), KeyringError> {
    let kind_ok = !backend.is_empty()
        && backend.len() <= 32
        && backend
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let uri_ok = !uri.is_empty() && uri.len() <= MAX_ROOT_URI && !uri.chars().any(char::is_control);
    if kind_ok && uri_ok {
        Ok(())
    } else {
        Err(KeyringError::HomeCorrupt(
            "the external root descriptor is invalid",
        ))
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HomeConfig {
    format: String,
    format_version: u32,
    root: RootConfig,
    /// `root.wrap(check_aad, "")`: proves a candidate root key is this home's.
    check: String,
}

fn check_aad(root: &RootConfig) -> Result<Vec<u8>, KeyringError> {
    let mut aad = b"trust.home.check.v1\0".to_vec();
    aad.extend(serde_json::to_vec(root).map_err(|_| KeyringError::HomeCorrupt("root"))?);
    Ok(aad)
}

/// Where a home's record lives when the home is not a directory (a database row).
///
/// The record is the exact bytes of `home.json` (root-key source and check value); the store
/// keeps it, with the store name, as opaque bytes, so new root kinds need no schema change.
pub trait HomeRecordStore: Send + Sync {
    /// Where the store is, for messages (a URL without password).
    fn location(&self) -> String;

    /// The record and its store name, or `None` for a store without a home.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Backend`] when the store cannot be read.
    fn load(&self) -> Result<Option<(Vec<u8>, String)>, StoreError>;

    /// Stores the record; [`StoreError::AlreadyExists`] if the store holds one already.
    ///
    /// # Errors
    /// As described; store failures.
    fn create(&self, record: &[u8], store_name: &str) -> Result<(), StoreError>;
}

/// `root`, bound to `store_name` when the home lives in a shared store.
fn bind(
    root: Arc<dyn RootKey>,
    store_name: Option<&str>,
) -> Result<Arc<dyn RootKey>, KeyringError> {
    Ok(match store_name {
        None => root,
        Some(name) => Arc::new(super::StoreBoundRoot::new(root, name)?),
    })
}

/// What [`Home::rotate_if_due`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotateIfDue {
    /// Rotation was not due; nothing changed.
    NotDue,
    /// A version was added (and promoted at once when `promoted`).
    Rotated {
        /// The new version.
        key_ref: KeyRef,
        /// Whether it is Primary already.
        promoted: bool,
    },
    /// A Staged version from an earlier call finished its staging time and was promoted.
    Promoted {
        /// The version now Primary.
        key_ref: KeyRef,
    },
    /// A Staged version from an earlier call is still within its staging time; nothing changed.
    Waiting {
        /// The Staged version.
        key_ref: KeyRef,
        /// When it may be promoted (Unix seconds).
        ready_at: i64,
    },
}

fn ring_ref(name: &str, version: u32) -> KeyRef {
    KeyRef::new(name, version)
}

/// The keyring name and version of a reference to a keyring version (not a subject key).
fn plain(key_ref: &KeyRef) -> Result<(&str, u32), KeyringError> {
    if key_ref.subject.is_some() {
        return Err(KeyringError::Usage(
            "a data subject's key is not a keyring version; use the subject-key store",
        ));
    }
    Ok((&key_ref.keyring, key_ref.version))
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    version: u32,
    next: u64,
    end: u64,
}

struct Loaded {
    ring: Arc<Keyring>,
    at: Instant,
    lease: Option<Lease>,
}

/// A home: keyrings under one root key. Cheap to share (`Arc<Home>`); every method takes
/// `&self` and is safe to call from many threads.
pub struct Home {
    dir: Option<PathBuf>,
    root: Arc<dyn RootKey>,
    store: Arc<dyn KeyringStore>,
    sink: Arc<dyn EventSink>,
    clock: Arc<dyn Clock>,
    actor: Option<String>,
    options: HomeOptions,
    cache: KeyCache,
    loaded: Mutex<HashMap<String, Loaded>>,
}

impl core::fmt::Debug for Home {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Home")
            .field("dir", &self.dir)
            .field("root", &self.root.kind())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Home {
    /// Creates a home in `dir` (created `0700` if missing) and opens it.
    ///
    /// # Errors
    /// [`KeyringError::HomeExists`] when `dir` already holds a home; [`KeyringError::Root`]
    /// when the key file cannot be read or created; I/O errors.
    pub fn init(dir: &Path, source: InitSource) -> Result<Self, KeyringError> {
        let home_file = dir.join(HOME_FILE);
        if home_file.exists() {
            return Err(KeyringError::HomeExists {
                dir: dir.to_path_buf(),
            });
        }
        if let InitSource::Passphrase { passphrase, .. } = &source {
            crate::root::check_new_passphrase(passphrase)?;
        }
        if let InitSource::External { root, uri } = &source {
            // Before anything is created: a bad descriptor leaves no half-made home behind.
            if check_external(root.kind(), uri).is_err() {
                return Err(KeyringError::Usage(
                    "the external root's descriptor must be 1 to 2048 printable characters",
                ));
            }
        }
        durable::create_private_dir(&dir.join(KEYRINGS_DIR))
            .map_err(|e| KeyringError::write("the home directory", dir, &e))?;
        let (bytes, root) = Self::new_record(source, None)?;
        durable::create_private(&home_file, &bytes).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyringError::HomeExists {
                    dir: dir.to_path_buf(),
                }
            } else {
                KeyringError::write("the home file", &home_file, &e)
            }
        })?;
        Ok(Self::with_dir(dir, root))
    }

    fn read_config(dir: &Path) -> Result<HomeConfig, KeyringError> {
        Self::read_config_file(dir, HOME_FILE)
    }

    fn read_config_file(dir: &Path, name: &str) -> Result<HomeConfig, KeyringError> {
        use std::io::Read;
        let path = dir.join(name);
        let file = std::fs::File::open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                KeyringError::NotInitialized {
                    dir: dir.to_path_buf(),
                }
            } else {
                KeyringError::read("the home file", &path, &e)
            }
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_HOME_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| KeyringError::read("the home file", &path, &e))?;
        Self::parse_config(&bytes)
    }

    fn parse_config(bytes: &[u8]) -> Result<HomeConfig, KeyringError> {
        if bytes.len() as u64 > MAX_HOME_FILE {
            return Err(KeyringError::HomeCorrupt("home.json is too large"));
        }
        let config: HomeConfig = serde_json::from_slice(bytes)
            .map_err(|_| KeyringError::HomeCorrupt("home.json does not parse"))?;
        if config.format != HOME_FORMAT || config.format_version != 1 {
            return Err(KeyringError::HomeCorrupt("home.json has an unknown format"));
        }
        if let RootConfig::External { backend, uri } = &config.root {
            check_external(backend, uri)?;
        }
        Ok(config)
    }

    /// The kind of root key the home in `dir` uses, without unlocking it.
    ///
    /// # Errors
    /// [`KeyringError::NotInitialized`] when `dir` holds no home.
    pub fn root_kind(dir: &Path) -> Result<RootKind, KeyringError> {
        Ok(match Self::read_config(dir)?.root {
            RootConfig::KeyFile { path } => RootKind::KeyFile(path),
            RootConfig::Passphrase { .. } => RootKind::Passphrase,
            RootConfig::External { backend, uri } => RootKind::External { kind: backend, uri },
        })
    }

    /// The root an unfinished [`Home::rewrap_root`] of the home in `dir` is moving to, if one is
    /// pending (`home.next.json`): a front end resumes with the same descriptor, since some
    /// descriptors (a KMS root's store id) cannot be derived again from the operator's target.
    ///
    /// # Errors
    /// As [`Home::root_kind`].
    pub fn pending_root_kind(dir: &Path) -> Result<Option<RootKind>, KeyringError> {
        if !dir.join(NEXT_HOME_FILE).exists() {
            return Ok(None);
        }
        Ok(match Self::read_config_file(dir, NEXT_HOME_FILE)?.root {
            RootConfig::External { backend, uri } => {
                Some(RootKind::External { kind: backend, uri })
            }
            RootConfig::KeyFile { path } => Some(RootKind::KeyFile(path)),
            RootConfig::Passphrase { .. } => Some(RootKind::Passphrase),
        })
    }

    /// Opens the home in `dir`, unlocking its root key.
    ///
    /// # Errors
    /// [`KeyringError::NotInitialized`]; [`RootKeyError::WrongPassphrase`] /
    /// [`RootKeyError::WrongKeyFile`] (as [`KeyringError::Root`]) when the key does not match
    /// the home's check value; [`KeyringError::Usage`] when the unlock method does not fit the
    /// home's kind.
    pub fn open(dir: &Path, unlock: Unlock) -> Result<Self, KeyringError> {
        let config = Self::read_config(dir)?;
        if Self::pending_root(dir, &config)?.is_some() {
            return Err(KeyringError::Usage(
                "a root key migration of this home is unfinished (home.next.json): run `trust keys rewrap-root` again with the same target to finish it",
            ));
        }
        Self::open_config(dir, config, unlock)
    }

    /// The root a migration left half-done is moving to, if any. A leftover `home.next.json`
    /// equal to `home.json` (a crash after the final rename) is removed.
    fn pending_root(dir: &Path, current: &HomeConfig) -> Result<Option<HomeConfig>, KeyringError> {
        let next_path = dir.join(NEXT_HOME_FILE);
        if !next_path.exists() {
            return Ok(None);
        }
        let next = Self::read_config_file(dir, NEXT_HOME_FILE)?;
        if next.root == current.root && next.check == current.check {
            std::fs::remove_file(&next_path).map_err(|e| {
                KeyringError::write("the finished migration record", &next_path, &e)
            })?;
            return Ok(None);
        }
        Ok(Some(next))
    }

    fn open_config(dir: &Path, config: HomeConfig, unlock: Unlock) -> Result<Self, KeyringError> {
        // Keyring revisions left by writers that died (see `durable`): best effort, since a
        // home opened read-only cannot remove them (the next write of each keyring does).
        let _ = durable::sweep_temps(&dir.join(KEYRINGS_DIR));
        let root = Self::unlock_config(&config, unlock, None)?;
        Ok(Self::with_dir(dir, root))
    }

    /// The root key of `config`, checked against its check value (and bound to `store_name`
    /// when the home lives in a shared store).
    fn unlock_config(
        config: &HomeConfig,
        unlock: Unlock,
        store_name: Option<&str>,
    ) -> Result<Arc<dyn RootKey>, KeyringError> {
        let check = STANDARD
            .decode(config.check.as_bytes())
            .map_err(|_| KeyringError::HomeCorrupt("the check value is invalid"))?;
        let check_aad = check_aad(&config.root)?;
        let (source, wrong) = match (&config.root, unlock) {
            (RootConfig::External { backend, .. }, Unlock::Root(root)) => {
                if root.kind() != backend {
                    return Err(KeyringError::Usage(
                        "this home's root is another kind of external key than the one given",
                    ));
                }
                // A backend failure (wrong PIN, disabled KMS key, unreachable) keeps its own
                // error; only a check value that does not open means "another key".
                let root = bind(root, store_name)?;
                return match root.unwrap(&check_aad, &check) {
                    Ok(_) => Ok(root),
                    Err(RootKeyError::Unwrap) => {
                        Err(KeyringError::Root(RootKeyError::WrongExternalRoot))
                    }
                    Err(e) => Err(KeyringError::Root(e)),
                };
            }
            (RootConfig::External { .. }, _) => {
                return Err(KeyringError::Usage(
                    "this home's root key is external (HSM or KMS): open it with that key",
                ));
            }
            (_, Unlock::Root(_)) => {
                return Err(KeyringError::Usage(
                    "this home's root key is local (a key file or a passphrase), not external",
                ));
            }
            (RootConfig::KeyFile { path }, Unlock::Stored) => (
                RootKeySource::KeyFile(path.clone()),
                RootKeyError::WrongKeyFile,
            ),
            (RootConfig::KeyFile { .. }, Unlock::KeyFile(path)) => {
                (RootKeySource::KeyFile(path), RootKeyError::WrongKeyFile)
            }
            (RootConfig::Passphrase { kdf, params, salt }, Unlock::Passphrase(passphrase)) => {
                if kdf != "argon2id" {
                    return Err(KeyringError::HomeCorrupt("unknown key derivation function"));
                }
                let salt: [u8; 16] = STANDARD
                    .decode(salt.as_bytes())
                    .ok()
                    .and_then(|s| s.try_into().ok())
                    .ok_or(KeyringError::HomeCorrupt("the passphrase salt is invalid"))?;
                (
                    RootKeySource::Passphrase {
                        passphrase,
                        params: *params,
                        salt,
                    },
                    RootKeyError::WrongPassphrase,
                )
            }
            (RootConfig::Passphrase { .. }, _) => {
                return Err(KeyringError::Usage(
                    "this home is protected by a passphrase: give the passphrase",
                ));
            }
            (RootConfig::KeyFile { .. }, Unlock::Passphrase(_)) => {
                return Err(KeyringError::Usage(
                    "this home uses a root key file, not a passphrase",
                ));
            }
        };
        let root = bind(Arc::new(LocalRootKey::from_source(&source)?), store_name)?;
        if root.unwrap(&check_aad, &check).is_err() {
            return Err(KeyringError::Root(wrong));
        }
        Ok(root)
    }

    /// Moves the home in `dir` from its current root key (unlocked with `old`) to the external
    /// root `new_root`, recorded as `uri`. Only the wrapping of each keyring's version keys and
    /// each keyring's authenticator change: no ciphertext is touched, and every message sealed
    /// before still opens. Returns how many keyrings were rewrapped.
    ///
    /// Crash-safe and resumable: the new home record is written first (`home.next.json`), each
    /// keyring is then rewritten atomically under the new root (compare-and-swap, like any
    /// change), and the new record replaces `home.json` last. Until then the home refuses to
    /// open, and calling this again with the same target finishes the job (keyrings already
    /// moved are recognized by verifying under the new root). Afterwards the old key file or
    /// passphrase no longer opens the home. Stop other writers of the home while it runs.
    ///
    /// # Errors
    /// As [`Home::open`] for `old`; [`KeyringError::Usage`] when another migration is pending
    /// or the new root is the current one; root-key and store failures.
    pub fn rewrap_root(
        dir: &Path,
        old: Unlock,
        new_root: Arc<dyn RootKey>,
        uri: String,
        sink: Option<Arc<dyn EventSink>>,
        actor: Option<String>,
    ) -> Result<usize, KeyringError> {
        check_external(new_root.kind(), &uri).map_err(|_| {
            KeyringError::Usage(
                "the external root's descriptor must be 1 to 2048 printable characters",
            )
        })?;
        let current = Self::read_config(dir)?;
        let old_kind = match &current.root {
            RootConfig::KeyFile { .. } => "key-file",
            RootConfig::Passphrase { .. } => "passphrase",
            RootConfig::External { .. } => "external",
        };
        let new_config_root = RootConfig::External {
            backend: new_root.kind().to_owned(),
            uri,
        };
        if new_config_root == current.root {
            return Err(KeyringError::Usage("the home already uses this root key"));
        }
        let pending = Self::pending_root(dir, &current)?;
        let old_home = Self::open_config(dir, current, old)?;

        // 1. The new record, durable before any keyring changes.
        let next = match pending {
            Some(next) if next.root == new_config_root => {
                let check = STANDARD
                    .decode(next.check.as_bytes())
                    .map_err(|_| KeyringError::HomeCorrupt("the check value is invalid"))?;
                match new_root.unwrap(&check_aad(&next.root)?, &check) {
                    Ok(_) => next,
                    Err(RootKeyError::Unwrap) => {
                        return Err(KeyringError::Root(RootKeyError::WrongExternalRoot));
                    }
                    Err(e) => return Err(KeyringError::Root(e)),
                }
            }
            Some(_) => {
                return Err(KeyringError::Usage(
                    "an unfinished migration to another root key is pending (home.next.json): finish that one first",
                ));
            }
            None => {
                let check = new_root.wrap(&check_aad(&new_config_root)?, b"")?;
                let next = HomeConfig {
                    format: HOME_FORMAT.into(),
                    format_version: 1,
                    root: new_config_root,
                    check: STANDARD.encode(check),
                };
                let path = dir.join(NEXT_HOME_FILE);
                durable::create_private(&path, &config_bytes(&next)?)
                    .map_err(|e| KeyringError::write("the migration record", &path, &e))?;
                next
            }
        };

        // 2. Every keyring, one atomic rewrite each.
        let names = old_home.keyring_names()?;
        for name in &names {
            old_home.rewrap_keyring_root(name, &*new_root)?;
        }

        // 3. The new record replaces the old one: from here on only the new root opens it.
        let home_path = dir.join(HOME_FILE);
        let meta = std::fs::symlink_metadata(&home_path)
            .map_err(|e| KeyringError::read("the home file", &home_path, &e))?;
        if !meta.file_type().is_file() {
            return Err(KeyringError::HomeCorrupt("home.json is not a regular file"));
        }
        durable::write_atomic(&home_path, &config_bytes(&next)?)
            .map_err(|e| KeyringError::write("the home file", &home_path, &e))?;
        let next_path = dir.join(NEXT_HOME_FILE);
        std::fs::remove_file(&next_path)
            .and_then(|()| durable::sync_dir(dir))
            .map_err(|e| KeyringError::write("the migration record", &next_path, &e))?;

        if let Some(sink) = sink {
            let mut event = Event::new("root.rewrap", old_home.clock.now())
                .attr("from", old_kind)
                .attr("to", new_root.kind())
                .attr("keyrings", names.len());
            if let Some(actor) = actor {
                event = event.actor(actor);
            }
            sink.record(&event).map_err(KeyringError::Audit)?;
        }
        Ok(names.len())
    }

    /// Rewrites keyring `name` under `new_root` unless it already verifies under it.
    fn rewrap_keyring_root(&self, name: &str, new_root: &dyn RootKey) -> Result<(), KeyringError> {
        for _ in 0..self.options.max_retries {
            let bytes = self
                .store
                .load(name)
                .map_err(|e| KeyringError::store(name, e))?
                .ok_or_else(|| {
                    KeyringError::Key(KeyError::UnknownKeyring {
                        keyring: name.into(),
                    })
                })?;
            let parsed = file::parse(&bytes).map_err(|e| file_error(name, e))?;
            match file::verify(parsed.clone(), new_root, name) {
                Ok(_) => return Ok(()), // moved by an earlier, interrupted run
                Err(file::FileError::Unauthentic) => {}
                Err(e) => return Err(file_error(name, e)),
            }
            let mut record =
                file::verify(parsed, &*self.root, name).map_err(|e| file_error(name, e))?;
            let expected = record.revision;
            for v in &mut record.versions {
                if let Some(material) = &v.material {
                    let aad = file::material_aad(name, v.version);
                    let wrapped = STANDARD
                        .decode(material.as_bytes())
                        .map_err(|_| KeyringError::HomeCorrupt("version material is not base64"))?;
                    let key = self.root.unwrap(&aad, &wrapped)?;
                    v.material = Some(STANDARD.encode(new_root.wrap(&aad, &key)?));
                }
            }
            record.revision += 1;
            let sealed = file::seal(&record, new_root).map_err(|e| file_error(name, e))?;
            match self.store.compare_and_swap(name, expected, &sealed) {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(KeyringError::store(name, e)),
            }
        }
        Err(KeyringError::Busy { name: name.into() })
    }

    /// A new home record (the bytes of `home.json`) and its root key, bound to `store_name`
    /// when the home lives in a shared store.
    fn new_record(
        source: InitSource,
        store_name: Option<&str>,
    ) -> Result<(Vec<u8>, Arc<dyn RootKey>), KeyringError> {
        let (config_root, root): (RootConfig, Arc<dyn RootKey>) = match source {
            InitSource::KeyFile(path) => {
                let key = if path.exists() {
                    read_key_file(&path)?
                } else {
                    create_key_file(&path)?
                };
                let path = std::path::absolute(&path)
                    .map_err(|e| KeyringError::write("the key file path", &path, &e))?;
                (
                    RootConfig::KeyFile { path },
                    Arc::new(LocalRootKey::new(&key)),
                )
            }
            InitSource::External { root, uri } => (
                RootConfig::External {
                    backend: root.kind().to_owned(),
                    uri,
                },
                root,
            ),
            InitSource::Passphrase { passphrase, params } => {
                let salt = random_array::<16>().map_err(|_| KeyringError::Random)?;
                let key = crate::root::derive_from_passphrase(&passphrase, &params, &salt)?;
                let root = RootConfig::Passphrase {
                    kdf: "argon2id".into(),
                    params,
                    salt: STANDARD.encode(salt),
                };
                (root, Arc::new(LocalRootKey::new(&key)))
            }
        };
        let root = bind(root, store_name)?;
        let check = root.wrap(&check_aad(&config_root)?, b"")?;
        let config = HomeConfig {
            format: HOME_FORMAT.into(),
            format_version: 1,
            root: config_root,
            check: STANDARD.encode(check),
        };
        Ok((config_bytes(&config)?, root))
    }

    /// Creates a home whose record lives in `records` and whose keyrings live in `keyrings` (a
    /// database), bound to `store_name` (see [`StoreBoundRoot`](super::StoreBoundRoot)). A key
    /// file source is read or created at its path; nothing else is written locally.
    ///
    /// # Errors
    /// [`KeyringError::HomeExists`] when `records` holds a home already; root-key and store
    /// failures.
    pub fn init_in(
        records: &dyn HomeRecordStore,
        keyrings: Arc<dyn KeyringStore>,
        store_name: &str,
        source: InitSource,
    ) -> Result<Self, KeyringError> {
        if records
            .load()
            .map_err(|e| KeyringError::store("home", e))?
            .is_some()
        {
            return Err(KeyringError::HomeExists {
                dir: PathBuf::from(records.location()),
            });
        }
        if let InitSource::Passphrase { passphrase, .. } = &source {
            crate::root::check_new_passphrase(passphrase)?;
        }
        let (bytes, root) = Self::new_record(source, Some(store_name))?;
        records.create(&bytes, store_name).map_err(|e| match e {
            StoreError::AlreadyExists => KeyringError::HomeExists {
                dir: PathBuf::from(records.location()),
            },
            e => KeyringError::store("home", e),
        })?;
        Ok(Self::from_parts(root, keyrings))
    }

    /// Opens the home whose record lives in `records` (see [`Home::init_in`]).
    ///
    /// # Errors
    /// [`KeyringError::NotInitialized`] when `records` holds no home; as [`Home::open`].
    pub fn open_in(
        records: &dyn HomeRecordStore,
        keyrings: Arc<dyn KeyringStore>,
        unlock: Unlock,
    ) -> Result<Self, KeyringError> {
        let (bytes, store_name) = records
            .load()
            .map_err(|e| KeyringError::store("home", e))?
            .ok_or_else(|| KeyringError::NotInitialized {
                dir: PathBuf::from(records.location()),
            })?;
        let config = Self::parse_config(&bytes)?;
        let root = Self::unlock_config(&config, unlock, Some(&store_name))?;
        Ok(Self::from_parts(root, keyrings))
    }

    /// The kind of root key of the home in `records`, without unlocking it.
    ///
    /// # Errors
    /// As [`Home::open_in`].
    pub fn root_kind_in(records: &dyn HomeRecordStore) -> Result<RootKind, KeyringError> {
        let (bytes, _) = records
            .load()
            .map_err(|e| KeyringError::store("home", e))?
            .ok_or_else(|| KeyringError::NotInitialized {
                dir: PathBuf::from(records.location()),
            })?;
        Ok(match Self::parse_config(&bytes)?.root {
            RootConfig::KeyFile { path } => RootKind::KeyFile(path),
            RootConfig::Passphrase { .. } => RootKind::Passphrase,
            RootConfig::External { backend, uri } => RootKind::External { kind: backend, uri },
        })
    }

    fn with_dir(dir: &Path, root: Arc<dyn RootKey>) -> Self {
        let store = Arc::new(DirStore::new(dir.join(KEYRINGS_DIR)));
        let mut home = Self::from_parts(root, store);
        home.dir = Some(dir.to_path_buf());
        home
    }

    /// A home over any root key and store (an HSM, a KMS, a database, memory).
    pub fn from_parts(root: Arc<dyn RootKey>, store: Arc<dyn KeyringStore>) -> Self {
        let options = HomeOptions::default();
        Self {
            dir: None,
            root,
            store,
            sink: Arc::new(NoSink),
            clock: Arc::new(SystemClock),
            actor: None,
            cache: KeyCache::new(options.cache_capacity),
            options,
            loaded: Mutex::default(),
        }
    }

    /// Records every state change to `sink` (the audit log) from now on.
    #[must_use]
    pub fn with_sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sink = sink;
        self
    }

    /// Takes time from `clock` (tests, replays).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Names the operator or service in every event.
    #[must_use]
    pub fn with_actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// Replaces the tuning options.
    #[must_use]
    pub fn with_options(mut self, options: HomeOptions) -> Self {
        self.cache = KeyCache::new(options.cache_capacity);
        self.options = options;
        self
    }

    /// The home directory, for homes opened from one.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The cache of unwrapped version keys (for inspection and benchmarks).
    pub fn cache(&self) -> &KeyCache {
        &self.cache
    }

    fn now(&self) -> i64 {
        unix_seconds(self.clock.now())
    }

    fn loaded(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Loaded>>, KeyringError> {
        self.loaded.lock().map_err(|_| KeyringError::Poisoned)
    }

    /// Reads and verifies keyring `name` from the store.
    fn read(&self, name: &str) -> Result<Keyring, KeyringError> {
        if !KeyRef::is_valid_name(name) {
            return Err(KeyringError::InvalidName { name: name.into() });
        }
        let bytes = self
            .store
            .load(name)
            .map_err(|e| KeyringError::store(name, e))?
            .ok_or_else(|| {
                KeyringError::Key(KeyError::UnknownKeyring {
                    keyring: name.into(),
                })
            })?;
        let parsed = file::parse(&bytes).map_err(|e| file_error(name, e))?;
        let record = file::verify(parsed, &*self.root, name).map_err(|e| file_error(name, e))?;
        Ok(Keyring::from_record(record))
    }

    fn remember(&self, ring: Keyring) -> Result<Arc<Keyring>, KeyringError> {
        let ring = Arc::new(ring);
        let mut loaded = self.loaded()?;
        let lease = loaded.get(ring.name()).and_then(|l| l.lease);
        for v in ring.versions() {
            if !v.state.may_decrypt() {
                self.cache.remove(ring.name(), v.version);
            }
        }
        loaded.insert(
            ring.name().to_owned(),
            Loaded {
                ring: Arc::clone(&ring),
                at: Instant::now(),
                lease,
            },
        );
        Ok(ring)
    }

    /// The current keyring `name`, from memory when fresh enough.
    fn snapshot(&self, name: &str) -> Result<Arc<Keyring>, KeyringError> {
        if let Some(l) = self.loaded()?.get(name)
            && l.at.elapsed() < self.options.refresh
        {
            return Ok(Arc::clone(&l.ring));
        }
        let ring = self.read(name)?;
        self.remember(ring)
    }

    /// The current Primary of keyring `name` (from memory when fresh enough); does not count
    /// a use. What a rewrap targets.
    ///
    /// # Errors
    /// As [`Home::keyring`].
    pub fn primary(&self, name: &str) -> Result<KeyRef, KeyringError> {
        let ring = self.snapshot(name)?;
        Ok(ring.key_ref(ring.primary().version))
    }

    /// Keyring `name`, re-read from the store and verified (never from memory).
    ///
    /// # Errors
    /// [`KeyError::UnknownKeyring`], [`KeyringError::Corrupt`] for a damaged or tampered file.
    pub fn keyring(&self, name: &str) -> Result<Arc<Keyring>, KeyringError> {
        let ring = self.read(name)?;
        self.remember(ring)
    }

    /// A summary of keyring `name` (states, dates, counters; never key material).
    ///
    /// # Errors
    /// As [`Home::keyring`].
    pub fn summary(&self, name: &str) -> Result<KeyringSummary, KeyringError> {
        let ring = self.keyring(name)?;
        Ok(KeyringSummary::new(&ring, self.now()))
    }

    /// The names of every keyring, sorted.
    ///
    /// # Errors
    /// When the store cannot be listed.
    pub fn keyring_names(&self) -> Result<Vec<String>, KeyringError> {
        self.store.names().map_err(|e| KeyringError::store("*", e))
    }

    fn event(&self, kind: EventKind, name: &str) -> Event {
        let mut event = Event::new(kind, self.clock.now()).attr("keyring", name);
        if let Some(actor) = &self.actor {
            event = event.actor(actor.clone());
        }
        event
    }

    fn emit(&self, name: &str, kind: EventKind, change: &Change) -> Result<(), KeyringError> {
        let mut event = self
            .event(kind, name)
            .attr("version", change.version)
            .attr("to", change.to.name());
        if let Some(from) = change.from {
            event = event.attr("from", from.name());
        }
        // Destructions always say whether they were forced, so an auditor can filter on it.
        if kind == EventKind::KeyDestroy || change.forced {
            event = event.attr("forced", change.forced);
        }
        if let Some(reason) = &change.reason {
            event = event.attr("reason", reason);
        }
        self.sink.record(&event).map_err(KeyringError::Audit)
    }

    fn emit_all(&self, name: &str, changes: &[(EventKind, Change)]) -> Result<(), KeyringError> {
        for (kind, c) in changes {
            self.emit(name, *kind, c)?;
        }
        Ok(())
    }

    fn new_material(&self, name: &str, version: u32) -> Result<String, KeyringError> {
        let key = Key256::generate().map_err(|_| KeyringError::Random)?;
        let wrapped = self
            .root
            .wrap(&file::material_aad(name, version), key.expose())?;
        Ok(STANDARD.encode(wrapped))
    }

    /// Applies `op` to the stored keyring with compare-and-swap, retrying on conflict. An `op`
    /// that leaves the revision alone changed nothing, and nothing is written.
    fn update<T>(
        &self,
        name: &str,
        mut op: impl FnMut(&mut Keyring, i64) -> Result<T, KeyringError>,
    ) -> Result<(T, Arc<Keyring>), KeyringError> {
        for attempt in 0..self.options.max_retries {
            let current = self.read(name)?;
            let mut next = current.clone();
            let out = op(&mut next, self.now())?;
            if next.revision() == current.revision() {
                return Ok((out, self.remember(current)?));
            }
            let bytes = file::seal(next.record(), &*self.root).map_err(|e| file_error(name, e))?;
            match self
                .store
                .compare_and_swap(name, current.revision(), &bytes)
            {
                Ok(()) => return Ok((out, self.remember(next)?)),
                Err(StoreError::Conflict) => {
                    // Someone else wrote first: back off a little (jittered) and redo the
                    // operation on their result.
                    let jitter = random_array::<1>()
                        .map(|b| u64::from(b[0] % 4))
                        .unwrap_or(1);
                    std::thread::sleep(Duration::from_millis(u64::from(attempt.min(20)) + jitter));
                }
                Err(e) => return Err(KeyringError::store(name, e)),
            }
        }
        Err(KeyringError::Busy { name: name.into() })
    }

    /// Creates keyring `name` with version 1 as Primary.
    ///
    /// # Errors
    /// [`KeyringError::InvalidName`], [`KeyringError::AlreadyExists`], store failures.
    pub fn create_keyring(
        &self,
        name: &str,
        suite: Suite,
        policy: Policy,
    ) -> Result<Arc<Keyring>, KeyringError> {
        if !KeyRef::is_valid_name(name) {
            return Err(KeyringError::InvalidName { name: name.into() });
        }
        let ring = Keyring::new(name, suite, policy, self.now(), self.new_material(name, 1)?)?;
        let bytes = file::seal(ring.record(), &*self.root).map_err(|e| file_error(name, e))?;
        self.store.create(name, &bytes).map_err(|e| match e {
            StoreError::AlreadyExists => KeyringError::AlreadyExists { name: name.into() },
            e => KeyringError::store(name, e),
        })?;
        let ring = self.remember(ring)?;
        let event = self
            .event(EventKind::KeyCreate, name)
            .attr("version", 1)
            .attr("to", VersionState::Primary.name())
            .attr("suite", suite.name());
        self.sink.record(&event).map_err(KeyringError::Audit)?;
        Ok(ring)
    }

    /// Adds a new version to keyring `name`: Staged, or Primary at once with
    /// [`Rollout::Immediate`] (which is subject to the keyring's `min_stage_secs`, exactly as
    /// [`Home::promote`] is: with a staging time, it is refused and nothing is added). Returns
    /// the new version.
    ///
    /// # Errors
    /// [`KeyringError::StagingTooShort`] for [`Rollout::Immediate`] on a keyring with a staging
    /// time; store failures, [`KeyringError::Busy`] after too many conflicts.
    pub fn rotate(&self, name: &str, rollout: Rollout) -> Result<KeyRef, KeyringError> {
        let (changes, ring) = self.update(name, |ring, now| {
            let version = ring.record().next_version;
            let added = ring.add_version(now, self.new_material(name, version)?)?;
            let mut changes = vec![(EventKind::KeyRotate, added)];
            if rollout == Rollout::Immediate {
                for c in ring.promote(version, now)? {
                    changes.push((EventKind::KeyPromote, c));
                }
            }
            Ok(changes)
        })?;
        self.emit_all(name, &changes)?;
        Ok(ring.key_ref(changes[0].1.version))
    }

    /// For schedulers: rotates keyring `name` only when its rotation is due (the Primary is
    /// older than the keyring's rotation period, or at its usage ceiling), finishing a rollout
    /// already under way first; see [`RotationStep`]. Decided and applied in one
    /// compare-and-swap, so two schedulers running at once rotate once.
    ///
    /// With [`Rollout::Immediate`] the new version is promoted at once when the keyring has no
    /// staging time; with one, it is left Staged and promoted by a later call after the staging
    /// time (never early).
    ///
    /// # Errors
    /// As [`Home::rotate`].
    pub fn rotate_if_due(&self, name: &str, rollout: Rollout) -> Result<RotateIfDue, KeyringError> {
        let ((outcome, changes), _) = self.update(name, |ring, now| {
            let key_ref = |v| ring_ref(name, v);
            Ok(match ring.rotation_step(now) {
                RotationStep::Promote { version } => {
                    let changes = ring.promote(version, now)?;
                    (
                        RotateIfDue::Promoted {
                            key_ref: key_ref(version),
                        },
                        changes
                            .into_iter()
                            .map(|c| (EventKind::KeyPromote, c))
                            .collect(),
                    )
                }
                RotationStep::Wait { version, ready_at } => (
                    RotateIfDue::Waiting {
                        key_ref: key_ref(version),
                        ready_at,
                    },
                    Vec::new(),
                ),
                RotationStep::Rotate => {
                    let version = ring.record().next_version;
                    let added = ring.add_version(now, self.new_material(name, version)?)?;
                    let mut changes = vec![(EventKind::KeyRotate, added)];
                    let promoted =
                        rollout == Rollout::Immediate && ring.policy().min_stage_secs == 0;
                    if promoted {
                        for c in ring.promote(version, now)? {
                            changes.push((EventKind::KeyPromote, c));
                        }
                    }
                    (
                        RotateIfDue::Rotated {
                            key_ref: key_ref(version),
                            promoted,
                        },
                        changes,
                    )
                }
                RotationStep::NotDue => (RotateIfDue::NotDue, Vec::new()),
            })
        })?;
        self.emit_all(name, &changes)?;
        Ok(outcome)
    }

    /// Promotes Staged `key_ref` (after the keyring's staging time).
    ///
    /// # Errors
    /// [`KeyringError::Transition`], [`KeyringError::StagingTooShort`], store failures.
    pub fn promote(&self, key_ref: &KeyRef) -> Result<(), KeyringError> {
        let (name, version) = plain(key_ref)?;
        let (changes, _) = self.update(name, |ring, now| ring.promote(version, now))?;
        for c in &changes {
            self.emit(name, EventKind::KeyPromote, c)?;
        }
        Ok(())
    }

    fn single(
        &self,
        key_ref: &KeyRef,
        op: Transition,
        mut apply: impl FnMut(&mut Keyring, u32, i64) -> Result<Change, KeyringError>,
    ) -> Result<Change, KeyringError> {
        let (name, version) = plain(key_ref)?;
        let (change, _) = self.update(name, |ring, now| apply(ring, version, now))?;
        self.emit(name, op.event_kind(), &change)?;
        Ok(change)
    }

    /// Retires DecryptOnly `key_ref` (→ Disabled; reversible with [`Home::enable`]).
    ///
    /// # Errors
    /// [`KeyringError::Transition`] for any other state; store failures.
    pub fn retire(&self, key_ref: &KeyRef) -> Result<Change, KeyringError> {
        self.single(key_ref, Transition::Retire, |r, v, now| r.retire(v, now))
    }

    /// Re-enables a Disabled or PendingDestroy `key_ref` (→ DecryptOnly).
    ///
    /// # Errors
    /// [`KeyringError::Transition`] for any other state; store failures.
    pub fn enable(&self, key_ref: &KeyRef) -> Result<Change, KeyringError> {
        self.single(key_ref, Transition::Enable, |r, v, now| r.enable(v, now))
    }

    /// Schedules Disabled `key_ref` for destruction after the grace period.
    ///
    /// # Errors
    /// [`KeyringError::Transition`] for any other state; store failures.
    pub fn schedule_destroy(&self, key_ref: &KeyRef) -> Result<Change, KeyringError> {
        self.single(key_ref, Transition::ScheduleDestroy, |r, v, now| {
            r.schedule_destroy(v, now)
        })
    }

    /// Cancels a scheduled destruction (PendingDestroy → Disabled).
    ///
    /// # Errors
    /// [`KeyringError::Transition`] for any other state; store failures.
    pub fn cancel_destroy(&self, key_ref: &KeyRef) -> Result<Change, KeyringError> {
        self.single(key_ref, Transition::CancelDestroy, |r, v, now| {
            r.cancel_destroy(v, now)
        })
    }

    /// The operator's destroy, in one compare-and-swap: see [`Keyring::destroy_step`] for the
    /// rule (schedule a Disabled version, destroy once the grace period is over, refuse while
    /// something known needs it unless [`Destroy::Force`]). A forced destruction is recorded
    /// in the `key.destroy` event with `forced=true` and the reason.
    ///
    /// # Errors
    /// [`KeyringError::Transition`], [`KeyringError::GraceNotElapsed`],
    /// [`KeyringError::LiveCiphertexts`], store failures.
    pub fn destroy(
        &self,
        key_ref: &KeyRef,
        mode: &Destroy,
    ) -> Result<DestroyOutcome, KeyringError> {
        let (name, version) = plain(key_ref)?;
        let ((outcome, changes), _) =
            self.update(name, |ring, now| ring.destroy_step(version, now, mode))?;
        if matches!(outcome, DestroyOutcome::Destroyed { .. }) {
            self.cache.remove(name, version);
        }
        for c in &changes {
            let kind = if c.to == VersionState::Destroyed {
                EventKind::KeyDestroy
            } else {
                EventKind::KeyScheduleDestroy
            };
            self.emit(name, kind, c)?;
        }
        Ok(outcome)
    }

    /// What [`Home::destroy`] would do now for `key_ref`, re-read from the store; changes
    /// nothing (for confirming with an operator first).
    ///
    /// # Errors
    /// As [`Home::destroy`].
    pub fn check_destroy(
        &self,
        key_ref: &KeyRef,
        mode: &Destroy,
    ) -> Result<DestroyOutcome, KeyringError> {
        let (name, version) = plain(key_ref)?;
        self.keyring(name)?.check_destroy(version, self.now(), mode)
    }

    /// Changes keyring `name`'s configuration (minimum decryption and encryption versions,
    /// rotation period) with Vault Transit's validation rules ([`Keyring::configure`]).
    ///
    /// # Errors
    /// [`KeyringError::InvalidPolicy`] for a change that breaks a rule; store failures.
    pub fn configure(
        &self,
        name: &str,
        change: &ConfigChange,
    ) -> Result<Arc<Keyring>, KeyringError> {
        let ((), ring) = self.update(name, |ring, _| ring.configure(change))?;
        let mut event = self
            .event(EventKind::KeyConfig, name)
            .attr("min_decryption_version", ring.min_decryption_version())
            .attr("min_encryption_version", ring.min_encryption_version());
        event = match ring.policy().max_age_secs {
            Some(secs) => event.attr("rotation_period_secs", secs),
            None => event.attr("rotation_period_secs", "none"),
        };
        self.sink.record(&event).map_err(KeyringError::Audit)?;
        // Versions now below the minimum must not decrypt from this process's cache either.
        for v in ring.versions() {
            if v.version < ring.min_decryption_version() {
                self.cache.remove(name, v.version);
            }
        }
        Ok(ring)
    }

    /// Records an explicit census for `key_ref` (see [`Keyring::record_census`]).
    ///
    /// # Errors
    /// [`KeyringError::Transition`] for a Staged or Primary version; store failures.
    pub fn record_census(&self, key_ref: &KeyRef, remaining: u64) -> Result<(), KeyringError> {
        let (name, version) = plain(key_ref)?;
        self.update(name, |r, now| r.record_census(version, remaining, now))?;
        let event = self
            .event(EventKind::KeyCensus, name)
            .attr("version", version)
            .attr("remaining", remaining);
        self.sink.record(&event).map_err(KeyringError::Audit)
    }

    /// Adds what rewrap moved off each version of keyring `name` (`version → count`, the
    /// replacements already stored by the caller) to the keyring's census, in one
    /// compare-and-swap, and records one `key.census` event per version.
    pub(crate) fn record_moved(
        &self,
        name: &str,
        moved: &std::collections::BTreeMap<u32, u64>,
    ) -> Result<(), KeyringError> {
        if moved.is_empty() {
            return Ok(());
        }
        let ((), ring) = self.update(name, |r, _| {
            for (version, count) in moved {
                r.record_moved(*version, *count)?;
            }
            Ok(())
        })?;
        for (version, count) in moved {
            let (uses, total) = ring
                .version(*version)
                .map(|v| (v.uses, v.moved))
                .unwrap_or_default();
            let event = self
                .event(EventKind::KeyCensus, name)
                .attr("version", *version)
                .attr("moved", *count)
                .attr("moved_total", total)
                .attr("uses", uses);
            self.sink.record(&event).map_err(KeyringError::Audit)?;
        }
        Ok(())
    }

    /// Gives back the seals this home reserved but did not use (the rest of each usage block),
    /// so the keyrings' `uses` counters stay tight upper bounds and the destroy guard can clear
    /// once rewrap has moved everything. Call it when a process that sealed winds down; a
    /// process that never calls it (or crashes) leaves its reservations counted, which is safe.
    ///
    /// # Errors
    /// Store failures (the reservations then stay counted).
    pub fn release_unused(&self) -> Result<(), KeyringError> {
        let leases: Vec<(String, Lease)> = {
            let mut loaded = self.loaded()?;
            loaded
                .iter_mut()
                .filter_map(|(name, l)| {
                    l.lease
                        .take()
                        .filter(|lease| lease.next < lease.end)
                        .map(|lease| (name.clone(), lease))
                })
                .collect()
        };
        for (name, lease) in leases {
            self.update(&name, |r, _| {
                r.release_uses(lease.version, lease.end - lease.next)
            })?;
        }
        Ok(())
    }

    /// True when keyring `name`'s Primary is due for rotation at `now` (age or ceiling).
    ///
    /// # Errors
    /// As [`Home::keyring`].
    pub fn rotation_due(
        &self,
        name: &str,
        now: std::time::SystemTime,
    ) -> Result<bool, KeyringError> {
        Ok(self.snapshot(name)?.rotation_due(unix_seconds(now)))
    }

    fn unwrap_version(&self, ring: &Keyring, version: u32) -> Result<Arc<Key256>, KeyError> {
        if let Some(key) = self.cache.get(ring.name(), version) {
            return Ok(key);
        }
        let record = ring.check_decrypt(version)?;
        let backend = |reason: &str| KeyError::Backend {
            reason: format!("keyring {}: {reason}", ring.name()),
        };
        let wrapped = STANDARD
            .decode(record.material.as_deref().unwrap_or_default())
            .map_err(|_| backend("version material is not base64"))?;
        let raw = self
            .root
            .unwrap(&file::material_aad(ring.name(), version), &wrapped)
            .map_err(|e| match e {
                RootKeyError::Unwrap => backend("version material failed authentication"),
                e => backend(&e.to_string()),
            })?;
        let key = Arc::new(
            Key256::from_slice(&raw).ok_or_else(|| backend("version material has a bad length"))?,
        );
        self.cache.insert(ring.name(), version, Arc::clone(&key));
        Ok(key)
    }

    /// Takes one seal from the lease, reserving a new block durably when it is used up.
    fn take_use(&self, name: &str) -> Result<(Arc<Keyring>, u32), KeyringError> {
        let ring = self.snapshot(name)?;
        let primary = ring.primary().version;
        if primary < ring.min_encryption_version() {
            return Err(KeyringError::Key(KeyError::BelowMinEncryption {
                key_ref: ring.key_ref(primary),
                min: ring.min_encryption_version(),
            }));
        }
        {
            let mut loaded = self.loaded()?;
            if let Some(l) = loaded.get_mut(name)
                && let Some(lease) = l.lease.as_mut()
                && lease.version == primary
                && lease.next < lease.end
            {
                lease.next += 1;
                return Ok((ring, primary));
            }
        }
        let block = self.options.usage_block;
        let ((version, first, end), ring) = self.update(name, |r, _| r.reserve_uses(block))?;
        if let Some(l) = self.loaded()?.get_mut(name) {
            l.lease = Some(Lease {
                version,
                next: first + 1,
                end,
            });
        }
        Ok((ring, version))
    }
}

fn config_bytes(config: &HomeConfig) -> Result<Vec<u8>, KeyringError> {
    let mut bytes = serde_json::to_vec_pretty(config)
        .map_err(|_| KeyringError::HomeCorrupt("unserializable"))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// A keyring file error: the root key's own failures (an HSM or KMS down) keep their category
/// instead of reading as a corrupt file.
fn file_error(name: &str, e: file::FileError) -> KeyringError {
    match e {
        file::FileError::Root(e) => KeyringError::Root(e),
        reason => KeyringError::Corrupt {
            name: name.into(),
            reason,
        },
    }
}

impl KeyringError {
    pub(crate) fn into_key_error(self) -> KeyError {
        match self {
            Self::Key(e) => e,
            other => KeyError::Backend {
                reason: other.to_string(),
            },
        }
    }
}

impl KeyProvider for Home {
    fn encryption_key(&self, keyring: &str) -> Result<EncryptionKey, KeyError> {
        let (ring, version) = self
            .take_use(keyring)
            .map_err(KeyringError::into_key_error)?;
        let kek = self.unwrap_version(&ring, version)?;
        Ok(EncryptionKey {
            key_ref: ring.key_ref(version),
            suite: ring.suite(),
            kek,
        })
    }

    fn decryption_key(&self, key_ref: &KeyRef) -> Result<Arc<Key256>, KeyError> {
        if key_ref.subject.is_some() {
            // Subject keys are the GDPR store's; it opens them and asks us for the keyring's.
            return Err(KeyError::UnknownVersion {
                key_ref: key_ref.clone(),
            });
        }
        let ring = self
            .snapshot(&key_ref.keyring)
            .map_err(KeyringError::into_key_error)?;
        if let Err(e) = ring.check_decrypt(key_ref.version) {
            self.cache.remove(&key_ref.keyring, key_ref.version);
            return Err(e);
        }
        self.unwrap_version(&ring, key_ref.version)
    }
}
