//! Homes (keyrings under a root key) and envelope encryption: seal and open, binary and text
//! token, bound to a context.
//!
//! A `trust_home` is trust-core's `keyring::Home`: a directory of keyrings whose key material is
//! wrapped by one root key (a 32-byte key file, or a passphrase stretched with argon2id). It is
//! the key provider of every seal and open, and it carries the operator verbs this ABI exposes:
//! create a keyring, rotate it, list keyrings and their versions. A `trust_context` is the
//! authenticated key/value context (tenant, record, purpose) a message is bound to: opening
//! needs the same context, so a ciphertext copied to another record does not decrypt.

use std::sync::Arc;
use trust_backends::HomeLocation;

use trust_core::envelope::{self, Context};
use trust_core::keyring::{Destroy, DestroyOutcome, Home, InitSource, Policy, Rollout, Unlock};
use trust_core::provider::{KeyRef, Suite};
use trust_core::root::PassphraseParams;
use trust_core::secret::SecretBytes;

use crate::boundary::{
    Failure, boundary, ffi_free, into_handle, try_location, try_mut, try_opt_out, try_out,
    try_path, try_ref, try_slice, try_str,
};
use crate::bytes::trust_bytes;
use crate::error::trust_error;
use crate::status::trust_status;

/// `suite` value for `trust_home_create_keyring`: AES-256-GCM (the default).
pub const TRUST_SUITE_AES_256_GCM: u32 = 1;
/// `suite` value for `trust_home_create_keyring`: XChaCha20-Poly1305.
pub const TRUST_SUITE_XCHACHA20_POLY1305: u32 = 2;
const _: () = assert!(TRUST_SUITE_AES_256_GCM == Suite::Aes256Gcm.id() as u32);
const _: () = assert!(TRUST_SUITE_XCHACHA20_POLY1305 == Suite::XChaCha20Poly1305.id() as u32);

/// An authenticated encryption context: key/value pairs bound into every seal.
///
/// Opaque; made by `trust_context_new`, filled with `trust_context_add`, freed by
/// `trust_context_free`. Adding is not thread-safe; once filled, a context may be read by any
/// number of threads at once (seal and open only read it).
#[allow(non_camel_case_types)]
pub struct trust_context {
    inner: Context,
}

impl trust_context {
    pub(crate) fn inner(&self) -> &Context {
        &self.inner
    }
}

/// Makes an empty context.
///
/// # Safety
/// `context_out` points to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_context_new(
    context_out: *mut *mut trust_context,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let out = try_out!(context_out);
        out.set(into_handle(trust_context {
            inner: Context::new(),
        }));
        Ok(())
    })
}

/// Adds (or replaces) the pair `key` = `value` (UTF-8). Keys and values follow the envelope's
/// rules (docs/format-envelope.md): bounded lengths, a bounded number of pairs.
///
/// Errors: `TRUST_NULL_ARGUMENT`, `TRUST_INVALID_UTF8`, `TRUST_INVALID_ARGUMENT` (code
/// `INVALID_CONTEXT`) for a key or value the envelope refuses; the context is then unchanged.
///
/// # Safety
/// `context` is a live context not used concurrently; `key`/`value` point to their lengths in
/// readable bytes; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_context_add(
    context: *mut trust_context,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let context = try_mut!(context);
        let key = try_str!(key, key_len);
        let value = try_str!(value, value_len);
        context.inner.insert(key, value)?;
        Ok(())
    })
}

/// Frees a context. NULL is a no-op.
///
/// # Safety
/// `context` is NULL or a live context, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_context_free(context: *mut trust_context) {
    ffi_free!(context);
}

/// A home: keyrings under one root key, and the key provider for sealing and opening.
///
/// Opaque; made by `trust_home_init_*` or `trust_home_open_*`, freed by `trust_home_free`.
/// Thread-safe: every function taking a `const trust_home *` may be called from any number of
/// threads at once (and several processes may share the directory: changes are
/// compare-and-swapped).
#[allow(non_camel_case_types)]
pub struct trust_home {
    pub(crate) inner: Arc<Home>,
    /// The database of a home kept in PostgreSQL (for the stores that live beside it).
    pub(crate) db: Option<trust_postgres::Database>,
}

impl trust_home {
    /// Where this home keeps its state, as trust-backends names it: the stores that live beside
    /// the keyrings (subject keys, vault, MFA) come from it, where the CLI keeps them.
    pub(crate) fn location(&self) -> Result<HomeLocation, Failure> {
        match (&self.db, self.inner.dir()) {
            (Some(db), _) => Ok(HomeLocation::Postgres(db.clone())),
            (None, Some(dir)) => Ok(HomeLocation::Local(dir.to_path_buf())),
            (None, None) => Err(Failure::invalid("this home has no store location")),
        }
    }
}

fn set_home(out: crate::boundary::Out<*mut trust_home>, home: Home) {
    set_home_in(out, home, None);
}

fn set_home_in(
    out: crate::boundary::Out<*mut trust_home>,
    home: Home,
    db: Option<trust_postgres::Database>,
) {
    out.set(into_handle(trust_home {
        inner: Arc::new(home),
        db,
    }));
}

/// Where a home named by a store string lives: trust-backends tells a directory from a
/// database URL (the one dispatcher the CLI and the packages share).
fn home_location(store: &str) -> Result<HomeLocation, Failure> {
    Ok(trust_backends::open_home(store)?)
}

/// Creates a home in `store`: a directory path (as `trust_home_init_key_file`) or a
/// `postgres://`/`postgresql://` URL, whose database then holds the home record and keyrings
/// (schema created or migrated first). The root key is the 32-byte file `key_file`, created
/// with random bytes (mode `0600`) if missing; with a database home it is the only thing
/// written locally. A URL's password never appears in an error.
///
/// Errors: `TRUST_INVALID_ARGUMENT` for an empty string (`EMPTY_PATH`), an unsupported scheme
/// (`STORE_URL_UNSUPPORTED`, also for `redis://`, which cannot hold a home) or an existing
/// home; `TRUST_INPUT_UNREADABLE` (`STORE_UNREACHABLE`) when the database cannot be reached.
///
/// # Safety
/// `store` and `key_file` point to their lengths in readable bytes (UTF-8); `home_out` points
/// to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_init_store(
    store: *const u8,
    store_len: usize,
    key_file: *const u8,
    key_file_len: usize,
    home_out: *mut *mut trust_home,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let store = try_location!(store, store_len);
        let key_file = try_path!(key_file, key_file_len);
        let out = try_out!(home_out);
        let source = InitSource::KeyFile(key_file.into());
        match home_location(store)? {
            HomeLocation::Local(dir) => set_home(out, Home::init(&dir, source)?),
            HomeLocation::Postgres(db) => {
                let home = trust_postgres::init_home(&db, None, source)?;
                set_home_in(out, home, Some(db));
            }
        }
        Ok(())
    })
}

/// Opens the home in `store` (a directory path or a `postgres://` URL) with its root key: the
/// key file `key_file`, or the one recorded at creation when `key_file_len` is 0; or, when
/// `passphrase_len` is not 0, the passphrase (for a home made with one). Give at most one of
/// the two.
///
/// Errors: as `trust_home_init_store`; `TRUST_INPUT_UNREADABLE` when there is no home there,
/// `TRUST_KEY_UNAVAILABLE` for a wrong key or passphrase.
///
/// # Safety
/// `store`, `key_file` and `passphrase` point to their lengths in readable bytes (NULL with
/// 0); `home_out` points to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_open_store(
    store: *const u8,
    store_len: usize,
    key_file: *const u8,
    key_file_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    home_out: *mut *mut trust_home,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let store = try_location!(store, store_len);
        let passphrase = try_slice!(passphrase, passphrase_len);
        let unlock = match (key_file_len, passphrase.is_empty()) {
            (0, true) => Unlock::Stored,
            (_, true) => Unlock::KeyFile(try_path!(key_file, key_file_len).into()),
            (0, false) => Unlock::Passphrase(SecretBytes::from(passphrase.to_vec())),
            (_, false) => {
                return Err(Failure::invalid(
                    "give a key file or a passphrase, not both",
                ));
            }
        };
        let out = try_out!(home_out);
        match home_location(store)? {
            HomeLocation::Local(dir) => set_home(out, Home::open(&dir, unlock)?),
            HomeLocation::Postgres(db) => {
                let home = trust_postgres::open_home(&db, unlock)?;
                set_home_in(out, home, Some(db));
            }
        }
        Ok(())
    })
}

/// Creates a home in directory `dir` (created `0700` if missing; must not hold a home yet) whose
/// root key is the 32-byte file `key_file`, created with random bytes (mode `0600`) if it does
/// not exist. Keep the key file apart from the home (another disk, a secret mount).
///
/// Errors: `TRUST_INVALID_ARGUMENT` (code `HOME_EXISTS`…), `TRUST_INPUT_UNREADABLE` for I/O.
///
/// # Safety
/// `dir` and `key_file` point to their lengths in readable bytes (UTF-8 paths); `home_out`
/// points to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_init_key_file(
    dir: *const u8,
    dir_len: usize,
    key_file: *const u8,
    key_file_len: usize,
    home_out: *mut *mut trust_home,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let dir = try_path!(dir, dir_len);
        let key_file = try_path!(key_file, key_file_len);
        let out = try_out!(home_out);
        let home = Home::init(dir, InitSource::KeyFile(key_file.into()))?;
        set_home(out, home);
        Ok(())
    })
}

/// Creates a home in `dir` whose root key is derived from `passphrase` with argon2id. `m_kib`,
/// `t` and `p` are the memory cost (KiB), passes and lanes; 0 for any of them takes the
/// default (64 MiB, 3 passes, 1 lane — about a quarter of a second). They are stored in the
/// home, so opening needs only the passphrase.
///
/// # Safety
/// As for `trust_home_init_key_file`; `passphrase` points to `passphrase_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_init_passphrase(
    dir: *const u8,
    dir_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    m_kib: u32,
    t: u32,
    p: u32,
    home_out: *mut *mut trust_home,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let dir = try_path!(dir, dir_len);
        let passphrase = try_slice!(passphrase, passphrase_len);
        let out = try_out!(home_out);
        let default = PassphraseParams::DEFAULT;
        let pick = |v: u32, d: u32| if v == 0 { d } else { v };
        let params = PassphraseParams::new(
            pick(m_kib, default.m_kib),
            pick(t, default.t),
            pick(p, default.p),
        );
        let source = InitSource::Passphrase {
            passphrase: SecretBytes::from(passphrase.to_vec()),
            params,
        };
        let home = Home::init(dir, source)?;
        set_home(out, home);
        Ok(())
    })
}

/// Opens the home in `dir` with its root key file: the path recorded when the home was created
/// when `key_file_len` is 0, else `key_file` (which must hold the same key, e.g. after moving
/// it).
///
/// Errors: `TRUST_INPUT_UNREADABLE` (no home, unreadable files), `TRUST_KEY_UNAVAILABLE` (code
/// `WRONG_ROOT_KEY`) when the key is not this home's, `TRUST_INVALID_ARGUMENT` when the home
/// uses a passphrase.
///
/// # Safety
/// `dir` points to `dir_len` readable bytes; `key_file` to `key_file_len` (NULL with 0);
/// `home_out` points to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_open_key_file(
    dir: *const u8,
    dir_len: usize,
    key_file: *const u8,
    key_file_len: usize,
    home_out: *mut *mut trust_home,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let dir = try_path!(dir, dir_len);
        let unlock = if key_file_len == 0 {
            Unlock::Stored
        } else {
            Unlock::KeyFile(try_path!(key_file, key_file_len).into())
        };
        let out = try_out!(home_out);
        set_home(out, Home::open(dir, unlock)?);
        Ok(())
    })
}

/// Opens the passphrase-protected home in `dir`.
///
/// Errors: as `trust_home_open_key_file`; a wrong passphrase is `TRUST_KEY_UNAVAILABLE` (code
/// `WRONG_PASSPHRASE`).
///
/// # Safety
/// As for `trust_home_open_key_file`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_open_passphrase(
    dir: *const u8,
    dir_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    home_out: *mut *mut trust_home,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let dir = try_path!(dir, dir_len);
        let passphrase = try_slice!(passphrase, passphrase_len);
        let out = try_out!(home_out);
        let unlock = Unlock::Passphrase(SecretBytes::from(passphrase.to_vec()));
        set_home(out, Home::open(dir, unlock)?);
        Ok(())
    })
}

/// Frees a home (unwrapped keys held in memory are wiped). NULL is a no-op. Handles made from
/// it (`trust_subjects`) keep their own reference and stay valid.
///
/// # Safety
/// `home` is NULL or a live home, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_free(home: *mut trust_home) {
    ffi_free!(home);
}

/// Creates keyring `name` (`[a-z0-9._-]`, 1–64 bytes) with version 1 as Primary, sealing with
/// `suite` (`TRUST_SUITE_AES_256_GCM` or `TRUST_SUITE_XCHACHA20_POLY1305`) and the default
/// policy (no scheduled rotation; 2^32 seals per version).
///
/// Errors: `TRUST_INVALID_ARGUMENT` for a bad name or suite, or when it exists.
///
/// # Safety
/// `home` is a live home; `name` points to `name_len` readable bytes; `err_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_create_keyring(
    home: *const trust_home,
    name: *const u8,
    name_len: usize,
    suite: u32,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let name = try_str!(name, name_len);
        let suite = u16::try_from(suite)
            .ok()
            .and_then(Suite::from_id)
            .ok_or_else(|| Failure::invalid("unknown suite"))?;
        home.inner.create_keyring(name, suite, Policy::default())?;
        Ok(())
    })
}

/// Rotates keyring `name`: adds a new version, Staged, or Primary at once when `promote` is
/// true (only safe when every process using the keyring reloads it before sealing; see
/// docs/operator-guide.md; refused with `TRUST_INVALID_ARGUMENT`, code `STAGING_TOO_SHORT`,
/// when the keyring has a minimum staging time). Writes the new version's number to
/// `*version_out`. Older versions keep decrypting.
///
/// # Safety
/// `home` is a live home; `name` points to `name_len` readable bytes; `version_out` points to a
/// writable `uint32_t`; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_rotate(
    home: *const trust_home,
    name: *const u8,
    name_len: usize,
    promote: bool,
    version_out: *mut u32,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let name = try_str!(name, name_len);
        let out = try_out!(version_out);
        let rollout = if promote {
            Rollout::Immediate
        } else {
            Rollout::Staged
        };
        let version = home.inner.rotate(name, rollout)?.version;
        out.set(version);
        Ok(())
    })
}

/// One version of a keyring, as the lifecycle functions name it.
fn version_ref(name: &str, version: u32) -> KeyRef {
    KeyRef::new(name, version)
}

/// Promotes Staged version `version` of keyring `name` to Primary (after the keyring's minimum
/// staging time; the previous Primary becomes DecryptOnly). Recorded as `key.promote`.
///
/// Errors: `TRUST_INVALID_ARGUMENT` (`INVALID_TRANSITION` for a version that is not Staged,
/// `STAGING_TOO_SHORT`), `TRUST_KEY_UNAVAILABLE` for an unknown keyring or version.
///
/// # Safety
/// `home` is a live home; `name` points to `name_len` readable bytes; `err_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_promote(
    home: *const trust_home,
    name: *const u8,
    name_len: usize,
    version: u32,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let name = try_str!(name, name_len);
        home.inner.promote(&version_ref(name, version))?;
        Ok(())
    })
}

/// Retires DecryptOnly version `version` of keyring `name` (→ Disabled: it no longer decrypts;
/// reversible with `trust_home_enable`). Recorded as `key.retire`.
///
/// Errors: as `trust_home_promote` (`INVALID_TRANSITION` for a Primary or Staged version).
///
/// # Safety
/// As for `trust_home_promote`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_retire(
    home: *const trust_home,
    name: *const u8,
    name_len: usize,
    version: u32,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let name = try_str!(name, name_len);
        home.inner.retire(&version_ref(name, version))?;
        Ok(())
    })
}

/// Re-enables a Disabled or PendingDestroy version (→ DecryptOnly: it decrypts again; a
/// scheduled destruction is cancelled). Recorded as `key.enable`.
///
/// # Safety
/// As for `trust_home_promote`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_enable(
    home: *const trust_home,
    name: *const u8,
    name_len: usize,
    version: u32,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let name = try_str!(name, name_len);
        home.inner.enable(&version_ref(name, version))?;
        Ok(())
    })
}

/// Destroys a Disabled (or an aborted Staged) version of keyring `name`, with the guard against
/// destroying a key that live data still needs. The key material is erased for good
/// (`*destroyed_out = true`) at once when the keyring has no grace period (the default);
/// with one, the first call schedules it (PendingDestroy; `*destroyed_out = false`,
/// `*after_out` = the Unix time the grace period ends) and a call after that erases it.
/// While the version may still decrypt live data (it sealed messages that rewrap has not moved
/// off it) the destruction is refused with `TRUST_REFUSED` (code `KEY_STILL_IN_USE`), unless
/// `force_reason` gives a reason (one line, no personal data: it goes into the audit log as a
/// forced destruction). Length 0: no override.
///
/// Errors: `INVALID_TRANSITION` (`TRUST_INVALID_ARGUMENT`) for a version in another state,
/// `KEY_STILL_IN_USE` (`TRUST_REFUSED`), `DESTROY_GRACE_PERIOD` before the grace period ends.
///
/// # Safety
/// `home` is a live home; `name` and `force_reason` point to their lengths in readable bytes;
/// `destroyed_out` points to a writable `bool`; `after_out` is NULL or a writable `int64_t`;
/// `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_destroy(
    home: *const trust_home,
    name: *const u8,
    name_len: usize,
    version: u32,
    force_reason: *const u8,
    force_reason_len: usize,
    destroyed_out: *mut bool,
    after_out: *mut i64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let name = try_str!(name, name_len);
        let reason = try_str!(force_reason, force_reason_len);
        let destroyed_out = try_out!(destroyed_out);
        let after_out = try_opt_out!(after_out);
        let mode = if reason.is_empty() {
            Destroy::IfUnused
        } else {
            Destroy::Force {
                reason: reason.to_owned(),
            }
        };
        let (destroyed, after) = match home.inner.destroy(&version_ref(name, version), &mode)? {
            DestroyOutcome::Destroyed { .. } => (true, 0),
            DestroyOutcome::Scheduled { after } => (false, after),
            _ => {
                return Err(Failure::new(
                    trust_status::TrustInternal,
                    "INTERNAL",
                    "unknown destruction outcome",
                ));
            }
        };
        if let Some(out) = after_out {
            out.set(after);
        }
        destroyed_out.set(destroyed);
        Ok(())
    })
}

/// Gives back the seals this home handle reserved but did not use. Seals are counted in blocks
/// (one durable counter update per 1024), so a handle that sealed holds part of a block that
/// stays counted against its version; the destroy guard compares those counts with the rewrap
/// census, so call this when a worker winds down (or before an operator destroys an old
/// version) to keep them tight. A handle that never calls it (or crashes) leaves its
/// reservations counted, which is safe: destroy then keeps refusing without a forced reason.
///
/// # Safety
/// `home` is a live home; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_release_unused(
    home: *const trust_home,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        home.inner.release_unused()?;
        Ok(())
    })
}

/// Lists the home's keyrings as a JSON array of names, sorted (`["orders","tokens"]`).
///
/// # Safety
/// `home` is a live home; `json_out` points to writable storage for one pointer; `err_out` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_keyrings(
    home: *const trust_home,
    json_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let out = try_out!(json_out);
        let names = home.inner.keyring_names()?;
        out.set(trust_bytes::json(&names)?);
        Ok(())
    })
}

/// Describes keyring `name` as JSON: suite, Primary version, whether rotation is due, policy,
/// and every version with its state, dates and usage (never key material) — the same object
/// `trust keys list --json` prints per keyring.
///
/// # Safety
/// `home` is a live home; `name` points to `name_len` readable bytes; `json_out` points to
/// writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_keyring_info(
    home: *const trust_home,
    name: *const u8,
    name_len: usize,
    json_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let name = try_str!(name, name_len);
        let out = try_out!(json_out);
        let summary = home.inner.summary(name)?;
        out.set(trust_bytes::json(&summary)?);
        Ok(())
    })
}

/// Encrypts `plaintext` under the Primary key of `keyring`, bound to `context`, and returns the
/// binary envelope in `*envelope_out`.
///
/// Errors: `TRUST_KEY_UNAVAILABLE` (unknown keyring, no usable Primary, usage ceiling reached).
///
/// # Safety
/// `home` and `context` are live handles; data pointers point to their lengths in readable
/// bytes; `envelope_out` points to writable storage for one pointer; `err_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_seal(
    home: *const trust_home,
    keyring: *const u8,
    keyring_len: usize,
    context: *const trust_context,
    plaintext: *const u8,
    plaintext_len: usize,
    envelope_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let keyring = try_str!(keyring, keyring_len);
        let context = try_ref!(context);
        let plaintext = try_slice!(plaintext, plaintext_len);
        let out = try_out!(envelope_out);
        let sealed = envelope::seal(&*home.inner, keyring, &context.inner, plaintext)?;
        out.set(trust_bytes::into_raw(&sealed));
        Ok(())
    })
}

/// Decrypts a binary envelope made by `trust_home_seal`, which must have been bound to an equal
/// `context`; the plaintext comes back in `*plaintext_out` (zeroized when freed). Nothing is
/// returned unless the whole envelope authenticates.
///
/// Errors: `TRUST_VERIFICATION_FAILED` (code `AUTHENTICATION_FAILED`: wrong key, any
/// modification; `CONTEXT_MISMATCH`), `TRUST_KEY_UNAVAILABLE` (the version is disabled,
/// destroyed or unknown: the message may be intact), `TRUST_INVALID_ARGUMENT` for a header that
/// is not an envelope.
///
/// # Safety
/// As for `trust_home_seal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_open(
    home: *const trust_home,
    context: *const trust_context,
    envelope: *const u8,
    envelope_len: usize,
    plaintext_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let context = try_ref!(context);
        let sealed = try_slice!(envelope, envelope_len);
        let out = try_out!(plaintext_out);
        let plaintext = envelope::open(&*home.inner, &context.inner, sealed)?;
        out.set(trust_bytes::into_raw(&plaintext));
        Ok(())
    })
}

/// Encrypts a short secret (an API token, an OAuth refresh token) into a text token for a
/// database column: `tle1.` followed by canonical base64url, returned in `*token_out` (readable
/// as a C string).
///
/// # Safety
/// As for `trust_home_seal`; `token_out` points to writable storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_seal_token(
    home: *const trust_home,
    keyring: *const u8,
    keyring_len: usize,
    context: *const trust_context,
    plaintext: *const u8,
    plaintext_len: usize,
    token_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let keyring = try_str!(keyring, keyring_len);
        let context = try_ref!(context);
        let plaintext = try_slice!(plaintext, plaintext_len);
        let out = try_out!(token_out);
        let token = envelope::seal_token(&*home.inner, keyring, &context.inner, plaintext)?;
        out.set(trust_bytes::into_raw(token.as_bytes()));
        Ok(())
    })
}

/// Decrypts a `tle1.` text token made by `trust_home_seal_token` with an equal `context`.
/// Non-canonical base64 is rejected. Errors as `trust_home_open`.
///
/// # Safety
/// As for `trust_home_open`; `token` points to `token_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_open_token(
    home: *const trust_home,
    context: *const trust_context,
    token: *const u8,
    token_len: usize,
    plaintext_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let context = try_ref!(context);
        let token = try_str!(token, token_len);
        let out = try_out!(plaintext_out);
        let plaintext = envelope::open_token(&*home.inner, &context.inner, token)?;
        out.set(trust_bytes::into_raw(&plaintext));
        Ok(())
    })
}
