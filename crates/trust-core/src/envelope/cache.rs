//! Cached data keys for small messages (format versions 3 and 2).
//!
//! Sealing a 64-byte credential with [`super::seal`] costs a fresh data key: OS randomness, a
//! wrap under the KEK (a key derivation and an AES key setup) and a 13-block key schedule —
//! thirty times the AES-GCM work. A [`DataKeyCache`] reuses one wrapped data key for many small
//! messages, the way the AWS Encryption SDK's caching materials manager does, and bounds that
//! reuse by **messages, bytes and age**.
//!
//! * Under AES-256-GCM, messages shorter than 16 KiB are sealed as **version 3**: one
//!   XAES-256-GCM chunk (c2sp.org/XAES-256-GCM) under a key derived from the data key, whose
//!   24-byte nonce is the message salt: 12 bytes fixed per cached data key, 12 random per
//!   message. ring's AES-GCM key schedule is therefore built once per data key, and a message
//!   costs about one raw AES-GCM seal or open. The header and context are its associated data.
//! * Under XChaCha20-Poly1305 (and for a message of exactly 16 KiB) the cache writes
//!   **version 2**: every message gets its own AEAD key from one HMAC over a fresh 192-bit salt
//!   and the message's header and context.
//!
//! ```
//! use trust_core::envelope::{CacheLimits, Context, DataKeyCache, StaticKeys};
//! use trust_core::provider::Suite;
//! use trust_core::secret::Key256;
//! use std::time::Duration;
//!
//! let keys = StaticKeys::single("orders", Suite::Aes256Gcm, Key256::generate()?);
//! let cache = DataKeyCache::new(
//!     CacheLimits::default().with_max_messages(10_000).with_max_age(Duration::from_secs(30)),
//! );
//! let ctx = Context::new().with("tenant", "acme")?.with("record", "order-1042")?;
//! let sealed = cache.seal(&keys, "orders", &ctx, b"shpat_0123456789")?;
//! assert_eq!(sealed[3], 3); // format version 3
//! assert_eq!(&cache.open(&keys, &ctx, &sealed)?[..], b"shpat_0123456789");
//! // Version-3 messages open without the cache too, and the cache opens versions 1 and 2.
//! assert_eq!(&trust_core::envelope::open(&keys, &ctx, &sealed)?[..], b"shpat_0123456789");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What the cache trades away (also in `docs/format-envelope.md` and the threat model)
//!
//! * **Nonces, not keys, per message (version 3).** The messages under one data key share an
//!   AES-GCM key and differ by random 96-bit nonces; the message limit (never above 2^32)
//!   bounds the chance of a repeat: q²/2^97, 2^-73 for the default 4096 messages.
//! * **Blast radius of one data key.** Anyone who reads a cached data key out of this process's
//!   memory (or the key schedule or HMAC state that stands for it) can open every message sealed
//!   under it: up to [`CacheLimits::with_max_messages`] messages, or [`CacheLimits::with_max_age`]
//!   worth. Without the cache that is one message. The KEK, which is in the same memory, opens
//!   all of them anyway, so this matters against partial leaks (a core dump of one buffer,
//!   a side channel on the per-message derivation), not against a full compromise.
//! * **Linkability.** Messages sealed under one cached data key carry the same wrapped key
//!   and the same commitment, so an observer of the ciphertexts can tell they came from the same
//!   process within the cache window. Version-1 messages share nothing.
//! * **Erasure and rotation are unchanged.** The wrapped key is wrapped by the keyring's KEK as
//!   before; destroying or disabling the KEK version makes every message under it unreadable
//!   through the provider, and a rotation is picked up on the next seal (entries are keyed by
//!   key reference, suite and KEK).
//! * **Limits of the open side.** Opened data keys are kept for [`CacheLimits::with_max_age`];
//!   the provider is still asked for the KEK on every open, so a version disabled in the keyring
//!   stops opening at once, and a cached entry is used only if the provider's KEK equals the one
//!   it was unwrapped with.
//!
//! Messages longer than [`CacheLimits::with_max_message_len`] (16 KiB by default) are sealed as
//! version 1 with a fresh data key: their cost is the AEAD, not the key work.
//!
//! ## Randomness and `fork`
//!
//! Salts (version 2) and nonce halves (version 3) come from a pool refilled with one OS call
//! per 1536 random bytes. The pool and the seal
//! entries remember the process id that filled them; a process that finds another id (a
//! `fork()`ed child) discards both before its first seal, so parent and child never draw the
//! same salt under the same data key.

use core::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use ring::aead as ring_aead;

use super::body::{self, BODY_PREFIX_LEN, Backend, CHUNK_LEN, ChunkCipher, TAG_LEN};
use super::context::Context;
use super::error::EnvelopeError;
use super::header::{self, Header, VERSION_CACHED, VERSION_XAES};
use super::schedule::{
    self, CachedDataKey, DEK_LEN, SALT_LEN, V3_MAX_MESSAGES_PER_KEY, WRAP_NONCE_LEN, WRAPPED_LEN,
    XaesDataKey,
};
use super::token;
use crate::provider::{EncryptionKey, KeyError, KeyProvider, KeyRef, Suite};
use crate::secret::{Key256, ct_eq, fill_random};

/// Salts drawn per OS call.
const SALTS_PER_DRAW: usize = 64;

/// How far a [`DataKeyCache`] may reuse one data key.
///
/// A cached data key is retired when any bound is reached; the next seal makes a new one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheLimits {
    max_messages: u64,
    max_bytes: u64,
    max_age: Duration,
    max_message_len: usize,
    max_entries: usize,
}

impl Default for CacheLimits {
    /// 4096 messages, 16 MiB of plaintext, 60 seconds per data key; messages up to 16 KiB;
    /// 64 data keys per side (one per keyring version and suite in use).
    fn default() -> Self {
        Self {
            max_messages: 4096,
            max_bytes: 16 << 20,
            max_age: Duration::from_secs(60),
            max_message_len: 16 * 1024,
            max_entries: 64,
        }
    }
}

impl CacheLimits {
    /// Messages sealed under one data key (0: a fresh data key for every message).
    #[must_use]
    pub fn with_max_messages(mut self, messages: u64) -> Self {
        self.max_messages = messages;
        self
    }

    /// Plaintext bytes sealed under one data key.
    #[must_use]
    pub fn with_max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// How long a data key is used for sealing, and kept for opening, after it was made.
    #[must_use]
    pub fn with_max_age(mut self, age: Duration) -> Self {
        self.max_age = age;
        self
    }

    /// Longest message sealed with a cached key; longer ones get a fresh key (version 1).
    #[must_use]
    pub fn with_max_message_len(mut self, len: usize) -> Self {
        self.max_message_len = len;
        self
    }

    /// Data keys kept per side (sealing, opening); the oldest is dropped first.
    #[must_use]
    pub fn with_max_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries.max(1);
        self
    }

    /// Messages per data key.
    pub fn max_messages(&self) -> u64 {
        self.max_messages
    }

    /// Plaintext bytes per data key.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Lifetime of a data key.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Longest message sealed with a cached key.
    pub fn max_message_len(&self) -> usize {
        self.max_message_len
    }
}

/// One wrapped data key and its derivation state, shared by the messages sealed under it.
struct DataKey {
    key_ref_entry: Vec<u8>,
    wrapped: [u8; WRAPPED_LEN],
    suite: Suite,
    key: Schedule,
}

/// What a cached data key derives message keys with.
// One per cached data key, behind an `Arc`; boxing ring's key would add a pointer chase to
// every message.
#[allow(clippy::large_enum_variant)]
enum Schedule {
    /// Version 2 (XChaCha20-Poly1305 keyrings, and messages of exactly 16 KiB): one HMAC per
    /// message.
    Hmac(CachedDataKey),
    /// Version 3 (AES-256-GCM): the XAES-256-GCM key for one salt prefix, with ring's AES-GCM
    /// key schedule built once. Messages with another prefix derive their own.
    Xaes {
        key: XaesDataKey,
        prefix: [u8; 12],
        aead: ring_aead::LessSafeKey,
    },
}

impl Schedule {
    fn xaes(key: XaesDataKey, prefix: [u8; 12]) -> Self {
        let aead = ring_key(&key.aead_key(&prefix));
        Self::Xaes { key, prefix, aead }
    }

    fn version(&self) -> u8 {
        match self {
            Self::Hmac(_) => VERSION_CACHED,
            Self::Xaes { .. } => VERSION_XAES,
        }
    }

    fn commitment(&self) -> &[u8; schedule::COMMITMENT_LEN] {
        match self {
            Self::Hmac(k) => k.commitment(),
            Self::Xaes { key, .. } => key.commitment(),
        }
    }
}

fn ring_key(key: &[u8; 32]) -> ring_aead::LessSafeKey {
    // ring refuses an AES-256 key only for a wrong length, which [u8; 32] rules out.
    let unbound =
        ring_aead::UnboundKey::new(&ring_aead::AES_256_GCM, key).unwrap_or_else(|_| unreachable!());
    ring_aead::LessSafeKey::new(unbound)
}

/// Longest plaintext of a version-3 message: one chunk, which must be the short final one.
const V3_MAX_PLAINTEXT: usize = CHUNK_LEN - 1;

struct SealEntry {
    key_ref: KeyRef,
    kek: Arc<Key256>,
    data: Arc<DataKey>,
    /// `None`: the age bound is past what `Instant` can represent (no age bound).
    expires: Option<Instant>,
    messages: u64,
    bytes: u64,
}

struct OpenEntry {
    kek: Arc<Key256>,
    data: Arc<DataKey>,
    expires: Option<Instant>,
}

fn live(expires: Option<Instant>, now: Instant) -> bool {
    expires.is_none_or(|at| now < at)
}

struct Inner {
    pid: u32,
    seal: Vec<SealEntry>,
    open: Vec<OpenEntry>,
    salts: [u8; SALT_LEN * SALTS_PER_DRAW],
    /// Random bytes left in `salts` (taken from the end).
    salts_left: usize,
}

impl Inner {
    /// Forgets everything a `fork()`ed child must not reuse for sealing.
    fn check_fork(&mut self) {
        let pid = std::process::id();
        if pid != self.pid {
            self.pid = pid;
            self.seal.clear();
            self.salts_left = 0;
        }
    }

    /// `N` fresh random bytes from the pool (a version-2 salt, or a version-3 nonce half),
    /// refilling it with one OS call when it runs short. Bytes are never handed out twice.
    fn take_random<const N: usize>(&mut self) -> Result<[u8; N], EnvelopeError> {
        if self.salts_left < N {
            fill_random(&mut self.salts)?;
            self.salts_left = self.salts.len();
        }
        self.salts_left -= N;
        let start = self.salts_left;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.salts[start..start + N]);
        // What was handed out does not stay in the pool.
        self.salts[start..start + N].fill(0);
        Ok(out)
    }
}

fn same_kek(a: &Arc<Key256>, b: &Arc<Key256>) -> bool {
    Arc::ptr_eq(a, b) || ct_eq(a.expose(), b.expose())
}

/// A bounded cache of data keys for sealing and opening small messages quickly (format
/// version 2); docs/format-envelope.md §3.3 states the trade-off.
///
/// Share one cache per process (it is `Send + Sync`; a mutex guards it, held for a few hundred
/// nanoseconds per message). `Debug` shows the limits and entry counts, never key material.
pub struct DataKeyCache {
    limits: CacheLimits,
    inner: Mutex<Inner>,
}

impl Default for DataKeyCache {
    fn default() -> Self {
        Self::new(CacheLimits::default())
    }
}

impl fmt::Debug for DataKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("DataKeyCache")
            .field("limits", &self.limits)
            .field("seal_entries", &inner.seal.len())
            .field("open_entries", &inner.open.len())
            .finish()
    }
}

impl DataKeyCache {
    /// An empty cache with these limits.
    pub fn new(limits: CacheLimits) -> Self {
        Self {
            limits,
            inner: Mutex::new(Inner {
                pid: std::process::id(),
                seal: Vec::new(),
                open: Vec::new(),
                salts: [0; SALT_LEN * SALTS_PER_DRAW],
                salts_left: 0,
            }),
        }
    }

    /// The limits this cache enforces.
    pub fn limits(&self) -> &CacheLimits {
        &self.limits
    }

    /// Drops every cached data key (after a suspected memory disclosure, or in tests).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.seal.clear();
        inner.open.clear();
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state stays consistent across a panic (entries are pushed or removed whole).
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Seals `plaintext` under the Primary key of `keyring`, as [`super::seal`] does, with a
    /// cached data key when it is at most [`CacheLimits::max_message_len`] bytes (version 2).
    ///
    /// # Errors
    /// As [`super::seal`].
    pub fn seal<P: KeyProvider + ?Sized>(
        &self,
        provider: &P,
        keyring: &str,
        context: &Context,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        let key = provider.encryption_key(keyring)?;
        self.seal_with(&key, context, plaintext)
    }

    /// [`DataKeyCache::seal`] under an explicit key.
    ///
    /// # Errors
    /// As [`super::seal_with`].
    pub fn seal_with(
        &self,
        key: &EncryptionKey,
        context: &Context,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        let mut out = Vec::new();
        self.seal_with_into(key, context, plaintext, &mut out)?;
        Ok(out)
    }

    /// [`DataKeyCache::seal`] writing into `out` (cleared first, allocation kept), like
    /// [`super::seal_into`]. On error `out` is left empty.
    ///
    /// # Errors
    /// As [`super::seal`].
    pub fn seal_into<P: KeyProvider + ?Sized>(
        &self,
        provider: &P,
        keyring: &str,
        context: &Context,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EnvelopeError> {
        out.clear();
        let key = provider.encryption_key(keyring)?;
        self.seal_with_into(&key, context, plaintext, out)
    }

    /// [`DataKeyCache::seal_into`] under an explicit key.
    ///
    /// # Errors
    /// As [`super::seal`].
    pub fn seal_with_into(
        &self,
        key: &EncryptionKey,
        context: &Context,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EnvelopeError> {
        if plaintext.len() > self.limits.max_message_len {
            return super::seal_with_into(key, context, plaintext, out);
        }
        let result = self.seal_cached(key, context, plaintext, false, out);
        if result.is_err() {
            out.clear();
        }
        result
    }

    /// Seals a text token (`tle2.` when the cache is used, `tle1.` for longer messages).
    ///
    /// # Errors
    /// As [`super::seal_token`].
    pub fn seal_token<P: KeyProvider + ?Sized>(
        &self,
        provider: &P,
        keyring: &str,
        context: &Context,
        plaintext: &[u8],
    ) -> Result<String, EnvelopeError> {
        token::check_plaintext(plaintext)?;
        let key = provider.encryption_key(keyring)?;
        self.seal_token_with(&key, context, plaintext)
    }

    /// [`DataKeyCache::seal_token`] under an explicit key.
    ///
    /// # Errors
    /// As [`super::seal_token`].
    pub fn seal_token_with(
        &self,
        key: &EncryptionKey,
        context: &Context,
        plaintext: &[u8],
    ) -> Result<String, EnvelopeError> {
        token::check_plaintext(plaintext)?;
        if plaintext.len() > self.limits.max_message_len {
            return super::seal_token_with(key, context, plaintext);
        }
        let mut out = Vec::new();
        self.seal_cached(key, context, plaintext, true, &mut out)?;
        Ok(token::encode(&out))
    }

    /// Opens an envelope of either version, reusing a cached data key for version 2.
    ///
    /// # Errors
    /// As [`super::open`].
    pub fn open<P: KeyProvider + ?Sized>(
        &self,
        provider: &P,
        context: &Context,
        envelope: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let mut out = Zeroizing::new(Vec::new());
        self.open_into(provider, context, envelope, &mut out)?;
        Ok(out)
    }

    /// [`DataKeyCache::open`] writing the plaintext into `out` (cleared first, allocation
    /// kept), like [`super::open_into`]: a caller that reuses `out` pays no allocation and no
    /// wipe per message (the buffer is wiped when dropped). On error `out` is zeroized and
    /// left empty.
    ///
    /// # Errors
    /// As [`super::open`].
    pub fn open_into<P: KeyProvider + ?Sized>(
        &self,
        provider: &P,
        context: &Context,
        envelope: &[u8],
        out: &mut Zeroizing<Vec<u8>>,
    ) -> Result<(), EnvelopeError> {
        out.clear();
        // The stored context is compared as bytes below, not decoded into a map.
        let header = header::parse_complete_opts(envelope, false)?;
        if header.version != VERSION_CACHED && header.version != VERSION_XAES {
            return super::open_into(provider, context, envelope, out);
        }
        let result = self.open_cached(provider, context, header, envelope, out);
        if result.is_err() {
            zeroize::Zeroize::zeroize(&mut **out);
        }
        result
    }

    /// Opens a text token of either version.
    ///
    /// # Errors
    /// As [`super::open_token`].
    pub fn open_token<P: KeyProvider + ?Sized>(
        &self,
        provider: &P,
        context: &Context,
        token: &str,
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let envelope = token::decode(token)?;
        self.open(provider, context, &envelope)
    }

    /// The data key for a seal under `key` (version 3 when `xaes`), counted against the
    /// limits, and this message's random bytes: a whole version-2 salt, or the second half of
    /// a version-3 salt (the first half belongs to the data key).
    fn materials(
        &self,
        key: &EncryptionKey,
        len: u64,
        xaes: bool,
    ) -> Result<(Arc<DataKey>, [u8; SALT_LEN]), EnvelopeError> {
        let now = Instant::now();
        let limits = &self.limits;
        let max_messages = limits.max_messages.min(V3_MAX_MESSAGES_PER_KEY);
        let mut inner = self.lock();
        inner.check_fork();
        let mut salt = [0u8; SALT_LEN];
        if xaes {
            salt[12..].copy_from_slice(&inner.take_random::<12>()?);
        } else {
            salt = inner.take_random::<SALT_LEN>()?;
        }
        let found = inner.seal.iter().position(|e| {
            e.data.suite == key.suite
                && e.key_ref == key.key_ref
                && (e.data.key.version() == VERSION_XAES) == xaes
        });
        let data = match found {
            Some(at)
                if live(inner.seal[at].expires, now)
                    && same_kek(&inner.seal[at].kek, &key.kek)
                    && inner.seal[at].messages < max_messages
                    && inner.seal[at].bytes.saturating_add(len) <= limits.max_bytes =>
            {
                let e = &mut inner.seal[at];
                e.messages += 1;
                e.bytes += len;
                Arc::clone(&e.data)
            }
            found => {
                if let Some(at) = found {
                    inner.seal.swap_remove(at);
                }
                let data = Arc::new(new_data_key(key, xaes)?);
                let expires = now.checked_add(limits.max_age);
                if inner.seal.len() >= limits.max_entries {
                    inner.seal.remove(0);
                }
                inner.seal.push(SealEntry {
                    key_ref: key.key_ref.clone(),
                    kek: Arc::clone(&key.kek),
                    data: Arc::clone(&data),
                    expires,
                    messages: 1,
                    bytes: len,
                });
                // This process opens its own messages without unwrapping.
                push_open(
                    &mut inner.open,
                    OpenEntry {
                        kek: Arc::clone(&key.kek),
                        data: Arc::clone(&data),
                        expires,
                    },
                    limits.max_entries,
                );
                data
            }
        };
        if let Schedule::Xaes { prefix, .. } = &data.key {
            salt[..12].copy_from_slice(prefix);
        }
        Ok((data, salt))
    }

    fn seal_cached(
        &self,
        key: &EncryptionKey,
        context: &Context,
        plaintext: &[u8],
        detached: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), EnvelopeError> {
        out.clear();
        let xaes = key.suite == Suite::Aes256Gcm && plaintext.len() <= V3_MAX_PLAINTEXT;
        let (data, salt) = self.materials(key, plaintext.len() as u64, xaes)?;
        let version = data.key.version();
        let binding_extra = if detached {
            header::FIXED_LEN + context.encoded_len()
        } else {
            0
        };
        out.reserve(
            header::FIXED_LEN
                + 3
                + context.encoded_len()
                + data.key_ref_entry.len()
                + WRAPPED_LEN
                + BODY_PREFIX_LEN
                + body::sealed_len(plaintext.len())
                + binding_extra,
        );
        header::encode_immutable(version, key.suite, context, detached, out);
        let immutable_len = out.len();
        match &data.key {
            Schedule::Xaes { aead, .. } => {
                header::encode_wrap_section(&data.key_ref_entry, &data.wrapped, out);
                out.extend_from_slice(&salt);
                out.extend_from_slice(data.key.commitment());
                let body_start = out.len();
                out.extend_from_slice(plaintext);
                let body_end = out.len();
                if detached {
                    // The binding (immutable header, then the canonical context) is not stored:
                    // build it after the plaintext for the AEAD and cut it off again.
                    out.extend_from_within(..immutable_len);
                    context.encode_into(out);
                }
                let (head, tail) = out.split_at_mut(body_start);
                let (buf, extra) = tail.split_at_mut(body_end - body_start);
                let aad = if detached {
                    &*extra
                } else {
                    &head[..immutable_len]
                };
                let (_, nonce) = schedule::split_salt(&salt);
                let tag = aead
                    .seal_in_place_separate_tag(
                        ring_aead::Nonce::assume_unique_for_key(*nonce),
                        ring_aead::Aad::from(aad),
                        buf,
                    )
                    // ring fails only past GCM's 64 GiB message limit, far above 16 KiB.
                    .map_err(|_| EnvelopeError::Authentication)?;
                out.truncate(body_end);
                out.extend_from_slice(tag.as_ref());
            }
            Schedule::Hmac(hmac) => {
                if detached {
                    // The binding is the immutable header and the canonical context; build it
                    // in the output buffer for the derivation and cut it off again.
                    context.encode_into(out);
                }
                let keys = hmac.derive(&salt, out);
                out.truncate(immutable_len);
                header::encode_wrap_section(&data.key_ref_entry, &data.wrapped, out);
                out.extend_from_slice(&salt);
                out.extend_from_slice(hmac.commitment());
                let cipher = ChunkCipher::new(key.suite, &keys, Backend::default());
                body::seal_chunks(&cipher, plaintext, out);
            }
        }
        Ok(())
    }

    /// The cached data key of a version-2 or 3 header, unwrapping (and caching) it on a miss.
    fn open_key(
        &self,
        header: &Header,
        kek: &Arc<Key256>,
        salt: &[u8; SALT_LEN],
    ) -> Result<Arc<DataKey>, EnvelopeError> {
        let now = Instant::now();
        {
            let mut inner = self.lock();
            let hit = inner.open.iter().rev().find(|e| {
                e.data.wrapped == header.wrapped
                    && e.data.suite == header.suite
                    && e.data.key.version() == header.version
                    && e.data.key_ref_entry == header.key_ref_entry
                    && same_kek(&e.kek, kek)
            });
            match hit {
                Some(e) if live(e.expires, now) => return Ok(Arc::clone(&e.data)),
                // Expired entries go on a miss only, so a hit costs no pass over the list.
                _ => inner.open.retain(|e| live(e.expires, now)),
            }
        }
        // Unwrap outside the lock: a miss costs a key derivation and an AES key setup.
        let aad = schedule::wrap_aad_cached(header.version, header.suite, &header.key_ref_entry);
        let dek = schedule::unwrap(kek, &header.wrapped, &aad, Backend::default())?;
        let key = if header.version == VERSION_XAES {
            // Keep the key schedule of this message's prefix: a writer like ours uses one
            // prefix per data key.
            let (prefix, _) = schedule::split_salt(salt);
            Schedule::xaes(XaesDataKey::new(&dek), *prefix)
        } else {
            Schedule::Hmac(CachedDataKey::new(&dek))
        };
        let data = Arc::new(DataKey {
            key_ref_entry: header.key_ref_entry.clone(),
            wrapped: header.wrapped,
            suite: header.suite,
            key,
        });
        push_open(
            &mut self.lock().open,
            OpenEntry {
                kek: Arc::clone(kek),
                data: Arc::clone(&data),
                expires: now.checked_add(self.limits.max_age),
            },
            self.limits.max_entries,
        );
        Ok(data)
    }

    fn open_cached<P: KeyProvider + ?Sized>(
        &self,
        provider: &P,
        context: &Context,
        header: Header,
        envelope: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EnvelopeError> {
        // `header` was parsed without decoding a stored context: compare its bytes, which is
        // the same test (one canonical encoding per context) and also rejects non-canonical
        // stored bytes.
        if !header.detached
            && !context.encodes_as(&envelope[header::FIXED_LEN..header.immutable_len])
        {
            return Err(EnvelopeError::ContextMismatch);
        }
        let rest = &envelope[header.len..];
        if rest.len() < BODY_PREFIX_LEN {
            return Err(EnvelopeError::Authentication);
        }
        let kek = provider.decryption_key(&header.key_ref)?;
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&rest[..SALT_LEN]);
        let data = self.open_key(&header, &kek, &salt)?;
        let commitment = &rest[SALT_LEN..BODY_PREFIX_LEN];
        let immutable = &envelope[..header.immutable_len];
        let chunks = &rest[BODY_PREFIX_LEN..];
        match &data.key {
            Schedule::Xaes {
                key,
                prefix,
                aead: cached,
            } => {
                // One chunk: at least a tag, and a plaintext shorter than a full chunk.
                if chunks.len() < TAG_LEN || chunks.len() - TAG_LEN > V3_MAX_PLAINTEXT {
                    return Err(EnvelopeError::Authentication);
                }
                if !commitment_eq(key.commitment(), commitment) {
                    return Err(EnvelopeError::Authentication);
                }
                let (salt_prefix, nonce) = schedule::split_salt(&salt);
                let other;
                let aead = if salt_prefix == prefix {
                    cached
                } else {
                    other = ring_key(&key.aead_key(salt_prefix));
                    &other
                };
                let detached_binding;
                let aad = if header.detached {
                    detached_binding = header::binding(immutable, true, context);
                    &detached_binding[..]
                } else {
                    immutable
                };
                let (ciphertext, tag) = chunks.split_at(chunks.len() - TAG_LEN);
                let mut t = [0u8; TAG_LEN];
                t.copy_from_slice(tag);
                out.extend_from_slice(ciphertext);
                aead.open_in_place_separate_tag(
                    ring_aead::Nonce::assume_unique_for_key(*nonce),
                    ring_aead::Aad::from(aad),
                    ring_aead::Tag::from(t),
                    &mut out[..],
                    0..,
                )
                .map(|_| ())
                .map_err(|_| EnvelopeError::Authentication)
            }
            Schedule::Hmac(hmac) => {
                let keys = if header.detached {
                    let binding = header::binding(immutable, true, context);
                    hmac.derive_checked(&salt, &binding, commitment)?
                } else {
                    hmac.derive_checked(&salt, immutable, commitment)?
                };
                let cipher = ChunkCipher::new(header.suite, &keys, Backend::default());
                body::open_chunks_into(&cipher, chunks, out)
            }
        }
    }
}

/// Constant-time equality of a 32-byte commitment: the words are XORed and ORed together
/// without branches, and only the folded word is compared (through `subtle`), instead of
/// [`ct_eq`]'s byte-at-a-time loop with an optimisation barrier per byte.
fn commitment_eq(ours: &[u8; schedule::COMMITMENT_LEN], stored: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    if stored.len() != ours.len() {
        return false;
    }
    let mut diff = 0u64;
    for (a, b) in ours.chunks_exact(8).zip(stored.chunks_exact(8)) {
        let word = |w: &[u8]| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(w);
            u64::from_ne_bytes(bytes)
        };
        diff |= word(a) ^ word(b);
    }
    diff.ct_eq(&0).into()
}

fn push_open(open: &mut Vec<OpenEntry>, entry: OpenEntry, max: usize) {
    if open.len() >= max {
        open.remove(0);
    }
    open.push(entry);
}

/// A fresh data key for `key`, wrapped as version 3 (`xaes`) or 2 prescribes; version 3 also
/// draws the salt prefix of every message under it.
fn new_data_key(key: &EncryptionKey, xaes: bool) -> Result<DataKey, EnvelopeError> {
    let key_ref_entry = header::encode_key_ref_entry(&key.key_ref).map_err(|_| {
        EnvelopeError::KeyUnavailable(KeyError::Backend {
            reason: "the key provider returned an invalid key reference".into(),
        })
    })?;
    let mut random = Zeroizing::new([0u8; DEK_LEN + WRAP_NONCE_LEN + 12]);
    fill_random(random.as_mut_slice())?;
    let mut dek = Zeroizing::new([0u8; DEK_LEN]);
    dek.copy_from_slice(&random[..DEK_LEN]);
    let mut nonce = [0u8; WRAP_NONCE_LEN];
    nonce.copy_from_slice(&random[DEK_LEN..DEK_LEN + WRAP_NONCE_LEN]);
    let mut prefix = [0u8; 12];
    prefix.copy_from_slice(&random[DEK_LEN + WRAP_NONCE_LEN..]);
    let prefix = xaes.then_some(prefix);
    Ok(wrap_data_key(key, key_ref_entry, &dek, &nonce, prefix))
}

/// Wraps `dek` for `key` with a caller-chosen nonce (the published vectors fix it); a version-3
/// data key when `prefix` is given.
fn wrap_data_key(
    key: &EncryptionKey,
    key_ref_entry: Vec<u8>,
    dek: &[u8; DEK_LEN],
    nonce: &[u8; WRAP_NONCE_LEN],
    prefix: Option<[u8; 12]>,
) -> DataKey {
    let version = if prefix.is_some() {
        VERSION_XAES
    } else {
        VERSION_CACHED
    };
    let aad = schedule::wrap_aad_cached(version, key.suite, &key_ref_entry);
    let wrapped = schedule::wrap(&key.kek, nonce, dek, &aad, Backend::default());
    DataKey {
        key_ref_entry,
        wrapped,
        suite: key.suite,
        key: match prefix {
            Some(prefix) => Schedule::xaes(XaesDataKey::new(dek), prefix),
            None => Schedule::Hmac(CachedDataKey::new(dek)),
        },
    }
}

/// A version-2 (or, with `xaes`, version-3) envelope with every random input fixed (test
/// vectors).
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn seal_deterministic(
    key: &EncryptionKey,
    context: &Context,
    detached: bool,
    dek: &[u8; DEK_LEN],
    salt: &[u8; SALT_LEN],
    wrap_nonce: &[u8; WRAP_NONCE_LEN],
    xaes: bool,
    plaintext: &[u8],
) -> Vec<u8> {
    let entry = header::encode_key_ref_entry(&key.key_ref).unwrap_or_default();
    let (prefix, _) = schedule::split_salt(salt);
    let data = wrap_data_key(key, entry, dek, wrap_nonce, xaes.then_some(*prefix));
    let version = data.key.version();
    let mut out = Vec::new();
    header::encode_immutable(version, key.suite, context, detached, &mut out);
    let binding = header::binding(&out, detached, context);
    let keys = match &data.key {
        Schedule::Hmac(k) => k.derive(salt, &binding),
        Schedule::Xaes { key, .. } => key.derive(salt, &binding),
    };
    header::encode_wrap_section(&data.key_ref_entry, &data.wrapped, &mut out);
    out.extend_from_slice(salt);
    out.extend_from_slice(data.key.commitment());
    let cipher = ChunkCipher::new(key.suite, &keys, Backend::default());
    body::seal_chunks(&cipher, plaintext, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::StaticKeys;

    /// A process that finds another process id than the one that filled the pool (what a
    /// `fork()`ed child sees) drops its salts and seal entries before sealing again.
    #[test]
    fn a_forked_process_draws_new_salts_and_a_new_data_key() {
        let keys = StaticKeys::single("orders", Suite::Aes256Gcm, Key256::from_bytes([7; 32]));
        let cache = DataKeyCache::default();
        let ctx = Context::new();
        let first = cache.seal(&keys, "orders", &ctx, b"a").unwrap();
        let salts_before = cache.lock().salts;
        // Pretend the pool and entries were filled by the parent.
        cache.lock().pid = std::process::id().wrapping_add(1);
        let second = cache.seal(&keys, "orders", &ctx, b"b").unwrap();
        let inner = cache.lock();
        assert_eq!(inner.pid, std::process::id());
        assert_ne!(inner.salts, salts_before, "pool refilled");
        // One version-3 nonce half (12 bytes) taken from the fresh pool.
        assert_eq!(inner.salts_left, SALT_LEN * SALTS_PER_DRAW - 12);
        drop(inner);
        let wrapped = |s: &[u8]| header::parse_complete(s).unwrap().wrapped;
        assert_ne!(wrapped(&first), wrapped(&second), "new data key after fork");
    }

    #[test]
    fn salts_are_drawn_in_batches_and_never_repeat() {
        let mut inner = DataKeyCache::default().inner.into_inner().unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..3 * SALTS_PER_DRAW {
            assert!(seen.insert(inner.take_random::<SALT_LEN>().unwrap().to_vec()));
            assert!(seen.insert(inner.take_random::<12>().unwrap().to_vec()));
        }
    }

    #[test]
    fn commitment_comparison_finds_every_difference() {
        let ours = [0x5au8; 32];
        assert!(commitment_eq(&ours, &ours));
        for i in 0..32 {
            for bit in 0..8 {
                let mut other = ours;
                other[i] ^= 1 << bit;
                assert!(!commitment_eq(&ours, &other), "byte {i} bit {bit}");
            }
        }
        assert!(!commitment_eq(&ours, &ours[..31]));
        assert!(!commitment_eq(&ours, &[0x5a; 33]));
    }

    /// A version-3 message opened through a cache is unwrapped once, then served from the
    /// cache's entry (not from the generic path, which keeps nothing).
    #[test]
    fn cached_open_of_version_3_reuses_the_unwrapped_key() {
        let keys = StaticKeys::single("orders", Suite::Aes256Gcm, Key256::from_bytes([7; 32]));
        let writer = DataKeyCache::default();
        let ctx = Context::new();
        let sealed = writer.seal(&keys, "orders", &ctx, b"m").unwrap();
        assert_eq!(sealed[3], VERSION_XAES);
        let reader = DataKeyCache::default();
        for _ in 0..3 {
            assert_eq!(&reader.open(&keys, &ctx, &sealed).unwrap()[..], b"m");
        }
        assert_eq!(reader.lock().open.len(), 1);
        // An expired entry is not used: a zero age unwraps every time and keeps nothing live.
        let ageless = DataKeyCache::new(CacheLimits::default().with_max_age(Duration::ZERO));
        for _ in 0..2 {
            assert_eq!(&ageless.open(&keys, &ctx, &sealed).unwrap()[..], b"m");
        }
        assert!(ageless.lock().open.len() <= 1);
    }

    #[test]
    fn open_entries_are_bounded() {
        let keys = StaticKeys::single("orders", Suite::Aes256Gcm, Key256::from_bytes([7; 32]));
        let cache = DataKeyCache::new(
            CacheLimits::default()
                .with_max_entries(2)
                .with_max_messages(1),
        );
        let ctx = Context::new();
        let sealed: Vec<_> = (0..5)
            .map(|_| cache.seal(&keys, "orders", &ctx, b"m").unwrap())
            .collect();
        assert_eq!(cache.lock().open.len(), 2);
        assert_eq!(cache.lock().seal.len(), 1);
        for s in &sealed {
            assert_eq!(&cache.open(&keys, &ctx, s).unwrap()[..], b"m");
        }
        assert_eq!(cache.lock().open.len(), 2);
        cache.clear();
        assert!(cache.lock().open.is_empty() && cache.lock().seal.is_empty());
    }
}
