//! Cached data keys for small messages (format version 2).
//!
//! Sealing a 64-byte credential with [`super::seal`] costs a fresh data key: OS randomness, a
//! wrap under the KEK (a key derivation and an AES key setup) and a 13-block key schedule —
//! thirty times the AES-GCM work. A [`DataKeyCache`] reuses one wrapped data key for many small
//! messages, the way the AWS Encryption SDK's caching materials manager does, and bounds that
//! reuse by **messages, bytes and age**. Every message still gets its **own AEAD key**, derived
//! from the data key, a fresh 192-bit random salt and the message's header and context, so no
//! key/nonce pair ever repeats and the context stays bound.
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
//! assert_eq!(sealed[3], 2); // format version 2
//! assert_eq!(&cache.open(&keys, &ctx, &sealed)?[..], b"shpat_0123456789");
//! // Version-2 messages open without the cache too, and the cache opens version 1.
//! assert_eq!(&trust_core::envelope::open(&keys, &ctx, &sealed)?[..], b"shpat_0123456789");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What the cache trades away (also in `docs/format-envelope.md` and the threat model)
//!
//! * **Blast radius of one data key.** Anyone who reads a cached data key out of this process's
//!   memory (or the precomputed HMAC state that stands for it) can open every message sealed
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
//! Salts come from a pool refilled with one OS call per 64 messages. The pool and the seal
//! entries remember the process id that filled them; a process that finds another id (a
//! `fork()`ed child) discards both before its first seal, so parent and child never draw the
//! same salt under the same data key.

use core::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::body::{self, BODY_PREFIX_LEN, Backend, ChunkCipher};
use super::context::Context;
use super::error::EnvelopeError;
use super::header::{self, Header, VERSION_CACHED};
use super::schedule::{self, CachedDataKey, DEK_LEN, SALT_LEN, WRAP_NONCE_LEN, WRAPPED_LEN};
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
    key: CachedDataKey,
}

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
    /// Salts left in `salts` (taken from the end).
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

    fn take_salt(&mut self) -> Result<[u8; SALT_LEN], EnvelopeError> {
        if self.salts_left == 0 {
            fill_random(&mut self.salts)?;
            self.salts_left = SALTS_PER_DRAW;
        }
        self.salts_left -= 1;
        let start = self.salts_left * SALT_LEN;
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&self.salts[start..start + SALT_LEN]);
        Ok(salt)
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
        if header.version != VERSION_CACHED {
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

    /// The data key for a seal under `key`, and this message's salt.
    fn materials(
        &self,
        key: &EncryptionKey,
        len: u64,
    ) -> Result<(Arc<DataKey>, [u8; SALT_LEN]), EnvelopeError> {
        let now = Instant::now();
        let limits = &self.limits;
        let mut inner = self.lock();
        inner.check_fork();
        let salt = inner.take_salt()?;
        let found = inner
            .seal
            .iter()
            .position(|e| e.data.suite == key.suite && e.key_ref == key.key_ref);
        if let Some(at) = found {
            let e = &mut inner.seal[at];
            if live(e.expires, now)
                && same_kek(&e.kek, &key.kek)
                && e.messages < limits.max_messages
                && e.bytes.saturating_add(len) <= limits.max_bytes
            {
                e.messages += 1;
                e.bytes += len;
                return Ok((Arc::clone(&e.data), salt));
            }
            inner.seal.swap_remove(at);
        }
        let data = Arc::new(new_data_key(key)?);
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
        let (data, salt) = self.materials(key, plaintext.len() as u64)?;
        out.reserve(
            12 + context.encoded_len()
                + data.key_ref_entry.len()
                + WRAPPED_LEN
                + BODY_PREFIX_LEN
                + body::sealed_len(plaintext.len()),
        );
        header::encode_immutable(VERSION_CACHED, key.suite, context, detached, out);
        let immutable_len = out.len();
        if detached {
            // The binding is the immutable header and the canonical context; build it in the
            // output buffer for the derivation and cut it off again.
            context.encode_into(out);
        }
        let keys = data.key.derive(&salt, out);
        out.truncate(immutable_len);
        header::encode_wrap_section(&data.key_ref_entry, &data.wrapped, out);
        out.extend_from_slice(&salt);
        out.extend_from_slice(data.key.commitment());
        let cipher = ChunkCipher::new(key.suite, &keys, Backend::default());
        body::seal_chunks(&cipher, plaintext, out);
        Ok(())
    }

    /// The cached data key of a version-2 header, unwrapping (and caching) it on a miss.
    fn open_key(&self, header: &Header, kek: &Arc<Key256>) -> Result<Arc<DataKey>, EnvelopeError> {
        let now = Instant::now();
        {
            let mut inner = self.lock();
            inner.open.retain(|e| live(e.expires, now));
            let hit = inner.open.iter().rev().find(|e| {
                e.data.wrapped == header.wrapped
                    && e.data.suite == header.suite
                    && e.data.key_ref_entry == header.key_ref_entry
                    && same_kek(&e.kek, kek)
            });
            if let Some(e) = hit {
                return Ok(Arc::clone(&e.data));
            }
        }
        // Unwrap outside the lock: a miss costs a key derivation and an AES key setup.
        let aad = schedule::wrap_aad_cached(header.suite, &header.key_ref_entry);
        let dek = schedule::unwrap(kek, &header.wrapped, &aad, Backend::default())?;
        let data = Arc::new(DataKey {
            key_ref_entry: header.key_ref_entry.clone(),
            wrapped: header.wrapped,
            suite: header.suite,
            key: CachedDataKey::new(&dek),
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
        let data = self.open_key(&header, &kek)?;
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&rest[..SALT_LEN]);
        let commitment = &rest[SALT_LEN..BODY_PREFIX_LEN];
        let immutable = &envelope[..header.immutable_len];
        let keys = if header.detached {
            let binding = header::binding(immutable, true, context);
            data.key.derive_checked(&salt, &binding, commitment)?
        } else {
            data.key.derive_checked(&salt, immutable, commitment)?
        };
        let cipher = ChunkCipher::new(header.suite, &keys, Backend::default());
        body::open_chunks_into(&cipher, &rest[BODY_PREFIX_LEN..], out)
    }
}

fn push_open(open: &mut Vec<OpenEntry>, entry: OpenEntry, max: usize) {
    if open.len() >= max {
        open.remove(0);
    }
    open.push(entry);
}

/// A fresh data key for `key`, wrapped as version 2 prescribes.
fn new_data_key(key: &EncryptionKey) -> Result<DataKey, EnvelopeError> {
    let key_ref_entry = header::encode_key_ref_entry(&key.key_ref).map_err(|_| {
        EnvelopeError::KeyUnavailable(KeyError::Backend {
            reason: "the key provider returned an invalid key reference".into(),
        })
    })?;
    let mut random = Zeroizing::new([0u8; DEK_LEN + WRAP_NONCE_LEN]);
    fill_random(random.as_mut_slice())?;
    let mut dek = Zeroizing::new([0u8; DEK_LEN]);
    dek.copy_from_slice(&random[..DEK_LEN]);
    let mut nonce = [0u8; WRAP_NONCE_LEN];
    nonce.copy_from_slice(&random[DEK_LEN..]);
    Ok(wrap_data_key(key, key_ref_entry, &dek, &nonce))
}

/// Wraps `dek` for `key` with a caller-chosen nonce (the published vectors fix it).
fn wrap_data_key(
    key: &EncryptionKey,
    key_ref_entry: Vec<u8>,
    dek: &[u8; DEK_LEN],
    nonce: &[u8; WRAP_NONCE_LEN],
) -> DataKey {
    let aad = schedule::wrap_aad_cached(key.suite, &key_ref_entry);
    let wrapped = schedule::wrap(&key.kek, nonce, dek, &aad, Backend::default());
    DataKey {
        key_ref_entry,
        wrapped,
        suite: key.suite,
        key: CachedDataKey::new(dek),
    }
}

/// A version-2 envelope with every random input fixed (test vectors).
#[cfg(test)]
pub(crate) fn seal_deterministic(
    key: &EncryptionKey,
    context: &Context,
    detached: bool,
    dek: &[u8; DEK_LEN],
    salt: &[u8; SALT_LEN],
    wrap_nonce: &[u8; WRAP_NONCE_LEN],
    plaintext: &[u8],
) -> Vec<u8> {
    let entry = header::encode_key_ref_entry(&key.key_ref).unwrap_or_default();
    let data = wrap_data_key(key, entry, dek, wrap_nonce);
    let mut out = Vec::new();
    header::encode_immutable(VERSION_CACHED, key.suite, context, detached, &mut out);
    let binding = header::binding(&out, detached, context);
    let keys = data.key.derive(salt, &binding);
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
        assert_eq!(inner.salts_left, SALTS_PER_DRAW - 1);
        drop(inner);
        let wrapped = |s: &[u8]| header::parse_complete(s).unwrap().wrapped;
        assert_ne!(wrapped(&first), wrapped(&second), "new data key after fork");
    }

    #[test]
    fn salts_are_drawn_in_batches_and_never_repeat() {
        let mut inner = DataKeyCache::default().inner.into_inner().unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..3 * SALTS_PER_DRAW {
            assert!(seen.insert(inner.take_salt().unwrap()));
        }
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
