//! The credential vault: named, versioned, sealed, access-listed, audited secrets per tenant.
//!
//! A `trust_vault` is trust-core's `vault::Vault` on a home: values are sealed under one of
//! its keyrings (`vault` by default, created on first use, as the CLI does) with the tenant, the
//! name and the version as authenticated context, and kept where the CLI keeps them
//! (`HOME/vault/`, or the database of a home in PostgreSQL), so `trust secrets get` reads what a C host put and the reverse. Every read
//! and every refused read is recorded in the audit log given to `trust_vault_new` with the
//! actor, the secret's name and version, and the stated purpose.
//!
//! OAuth tokens are refreshed without a stampede by compare-and-swap on the version: read the
//! token (`trust_vault_get`, which returns its version), ask `trust_vault_needs_refresh`, call
//! the provider, then `trust_vault_refresh` with the version read. Of two workers doing this at
//! once, one stores its token (`TRUST_VAULT_REFRESHED`) and the other gets the winner's
//! (`TRUST_VAULT_TOOK_WINNERS`), its own discarded.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use trust_core::event::{EventSink, NoSink};
use trust_core::keyring::{Home, KeyringError, Policy};
use trust_core::provider::{KeyError, Suite};
use trust_core::secret::{ExposeSecret, SecretBytes};
use trust_core::vault::{
    Kind, PutOptions, RefreshError, RefreshOutcome, Refreshed, Revealed, SecretInfo, SecretName,
    Vault,
};

use crate::audit::trust_audit_log;
use crate::boundary::{
    Failure, Out, boundary, ffi_free, into_handle, try_opt_out, try_out, try_ref, try_slice,
    try_slices, try_str,
};
use crate::bytes::trust_bytes;
use crate::error::trust_error;
use crate::home::trust_home;
use crate::status::trust_status;

/// `kind` for `trust_vault_put`/`_rotate`: keep the secret's kind (a new secret: API key).
pub const TRUST_VAULT_KIND_KEEP: u32 = 0;
/// `kind`: a static API key or access token.
pub const TRUST_VAULT_KIND_API_KEY: u32 = 1;
/// `kind`: an OAuth access token (usually with an expiry and a refresh token).
pub const TRUST_VAULT_KIND_OAUTH: u32 = 2;

/// `*outcome_out` of `trust_vault_refresh`: the stored token was still fresh; nothing stored.
pub const TRUST_VAULT_STILL_FRESH: u32 = 1;
/// `*outcome_out`: this call's token was stored as the next version.
pub const TRUST_VAULT_REFRESHED: u32 = 2;
/// `*outcome_out`: another worker stored a version after the one the caller read; its token is
/// returned and the caller's discarded.
pub const TRUST_VAULT_TOOK_WINNERS: u32 = 3;

/// The keyring a vault seals under when `trust_vault_new` is given none (the CLI's default).
const DEFAULT_KEYRING: &str = "vault";

/// A vault on a home. Opaque; made by `trust_vault_new`, freed by `trust_vault_free`.
/// Thread-safe: every function may be called from any number of threads (and processes) at
/// once; changes are compare-and-swapped.
#[allow(non_camel_case_types)]
pub struct trust_vault {
    inner: Vault,
}

/// Makes sure `keyring` exists, created with the default policy on first use (as the CLI's
/// `secrets put` and `mfa enroll` do), so a fresh home just works.
pub(crate) fn ensure_keyring(home: &Home, keyring: &str) -> Result<(), Failure> {
    match home.keyring(keyring) {
        Ok(_) => Ok(()),
        Err(KeyringError::Key(KeyError::UnknownKeyring { .. })) => {
            match home.create_keyring(keyring, Suite::Aes256Gcm, Policy::default()) {
                Ok(_) | Err(KeyringError::AlreadyExists { .. }) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// The audit sink for a vault or MFA service: the log, or none.
pub(crate) fn sink_of(audit_log: Option<&trust_audit_log>) -> Arc<dyn EventSink> {
    match audit_log {
        Some(log) => log.inner.clone(),
        None => Arc::new(NoSink),
    }
}

/// Opens the vault of `home`, sealing new values under `keyring` (`vault` when `keyring_len` is
/// 0; created on first use) and recording every read, refused read and change in `audit_log`
/// (NULL: not recorded; production hosts should pass their log). The vault keeps its own
/// references to the home and the log: either may be freed first.
///
/// The secrets live in the home's own store: `HOME/vault/` for a home in a directory, the
/// `trust_vault_secrets` table for a home in PostgreSQL (shared by every worker).
///
/// Errors: `TRUST_INVALID_ARGUMENT` for a bad keyring name.
///
/// # Safety
/// `home` is a live home; `keyring` points to `keyring_len` readable bytes; `audit_log` is
/// NULL or a live log; `vault_out` points to writable storage for one pointer; `err_out` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_vault_new(
    home: *const trust_home,
    keyring: *const u8,
    keyring_len: usize,
    audit_log: *const trust_audit_log,
    vault_out: *mut *mut trust_vault,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let keyring = try_str!(keyring, keyring_len);
        // SAFETY: NULL (no audit) or a live handle, per the contract.
        let audit_log = unsafe { audit_log.as_ref() };
        let out = try_out!(vault_out);
        let keyring = if keyring.is_empty() {
            DEFAULT_KEYRING
        } else {
            keyring
        };
        let store = home.location()?.vault_store();
        ensure_keyring(&home.inner, keyring)?;
        let vault = Vault::new(store, home.inner.clone(), keyring).with_sink(sink_of(audit_log));
        out.set(into_handle(trust_vault { inner: vault }));
        Ok(())
    })
}

/// Frees a vault. NULL is a no-op.
///
/// # Safety
/// `vault` is NULL or a live vault, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_vault_free(vault: *mut trust_vault) {
    ffi_free!(vault);
}

fn name_of(name: &str) -> Result<SecretName, Failure> {
    Ok(name.parse::<SecretName>()?)
}

fn kind_of(kind: u32) -> Result<Option<Kind>, Failure> {
    match kind {
        TRUST_VAULT_KIND_KEEP => Ok(None),
        TRUST_VAULT_KIND_API_KEY => Ok(Some(Kind::ApiKey)),
        TRUST_VAULT_KIND_OAUTH => Ok(Some(Kind::Oauth)),
        _ => Err(Failure::invalid("unknown vault kind")),
    }
}

/// Unix seconds to a time; 0 (and below) means "none": 1970 is not a plausible expiry.
fn time_of(unix: i64) -> Option<SystemTime> {
    u64::try_from(unix)
        .ok()
        .filter(|&secs| secs > 0)
        .and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs)))
}

fn unix_of(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Shared body of put and rotate.
#[allow(clippy::too_many_arguments)]
fn write(
    rotate: bool,
    vault: &trust_vault,
    actor: &str,
    name: &str,
    value: &[u8],
    kind: u32,
    readers: Vec<&[u8]>,
    expires_unix: i64,
    refresh_token: &[u8],
    out: Out<u32>,
) -> Result<(), Failure> {
    let name = name_of(name)?;
    let readers = readers
        .into_iter()
        .map(|r| {
            core::str::from_utf8(r)
                .map(str::to_owned)
                .map_err(|_| Failure::invalid("a reader is not UTF-8"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if expires_unix < 0 {
        return Err(Failure::invalid(
            "expires_unix must be 0 (none) or positive",
        ));
    }
    let mut options = PutOptions::default();
    options.kind = kind_of(kind)?;
    options.readers = (!readers.is_empty()).then_some(readers);
    options.scopes = None;
    options.expires = time_of(expires_unix);
    options.refresh_token =
        (!refresh_token.is_empty()).then(|| SecretBytes::from(refresh_token.to_vec()));
    let version = if rotate {
        vault.inner.rotate(actor, &name, value, options)?
    } else {
        vault.inner.put(actor, &name, value, options)?
    };
    out.set(version);
    Ok(())
}

/// Stores `value` as a new version of secret `name` (`tenant/name`), creating the secret if
/// needed, acting as `actor`; writes the new version number to `*version_out`. On an existing
/// secret the actor must be a reader. Optional metadata: `kind` (`TRUST_VAULT_KIND_*`),
/// `readers` (`reader_count` UTF-8 actor names; 0 keeps the list, for a new secret: just
/// `actor`), `expires_unix` (Unix seconds; 0 = no expiry), `refresh_token` (an OAuth refresh
/// token sealed as a second field; length 0 = none).
///
/// Errors: `TRUST_REFUSED` (`SECRET_NOT_READER`), `TRUST_INVALID_ARGUMENT` for a bad name,
/// actor, reader, kind or value (empty or over 64 KiB).
///
/// # Safety
/// `vault` is a live vault; data pointers point to their lengths in readable bytes;
/// `readers`/`reader_lens` point to `reader_count` elements each (NULL when 0);
/// `version_out` points to a writable `uint32_t`; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_vault_put(
    vault: *const trust_vault,
    actor: *const u8,
    actor_len: usize,
    name: *const u8,
    name_len: usize,
    value: *const u8,
    value_len: usize,
    kind: u32,
    readers: *const *const u8,
    reader_lens: *const usize,
    reader_count: usize,
    expires_unix: i64,
    refresh_token: *const u8,
    refresh_token_len: usize,
    version_out: *mut u32,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let vault = try_ref!(vault);
        let actor = try_str!(actor, actor_len);
        let name = try_str!(name, name_len);
        let value = try_slice!(value, value_len);
        let readers = try_slices!(readers, reader_lens, reader_count);
        let refresh_token = try_slice!(refresh_token, refresh_token_len);
        let out = try_out!(version_out);
        write(
            false,
            vault,
            actor,
            name,
            value,
            kind,
            readers,
            expires_unix,
            refresh_token,
            out,
        )
    })
}

/// As `trust_vault_put`, for a secret that must exist and not be deleted (`TRUST_KEY_UNAVAILABLE`,
/// `SECRET_NOT_FOUND`/`SECRET_DELETED`, otherwise): the rotation of an API key.
///
/// # Safety
/// As for `trust_vault_put`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_vault_rotate(
    vault: *const trust_vault,
    actor: *const u8,
    actor_len: usize,
    name: *const u8,
    name_len: usize,
    value: *const u8,
    value_len: usize,
    kind: u32,
    readers: *const *const u8,
    reader_lens: *const usize,
    reader_count: usize,
    expires_unix: i64,
    refresh_token: *const u8,
    refresh_token_len: usize,
    version_out: *mut u32,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let vault = try_ref!(vault);
        let actor = try_str!(actor, actor_len);
        let name = try_str!(name, name_len);
        let value = try_slice!(value, value_len);
        let readers = try_slices!(readers, reader_lens, reader_count);
        let refresh_token = try_slice!(refresh_token, refresh_token_len);
        let out = try_out!(version_out);
        write(
            true,
            vault,
            actor,
            name,
            value,
            kind,
            readers,
            expires_unix,
            refresh_token,
            out,
        )
    })
}

/// Writes what a read returns: the value, and optionally its version and refresh token.
fn reveal(
    revealed: &Revealed,
    value_out: Out<*mut trust_bytes>,
    version_out: Option<Out<u32>>,
    refresh_token_out: Option<Out<*mut trust_bytes>>,
) {
    if let Some(out) = version_out {
        out.set(revealed.version);
    }
    if let Some(out) = refresh_token_out {
        out.set(
            revealed
                .refresh_token
                .as_ref()
                .map_or(core::ptr::null_mut(), |t| {
                    trust_bytes::into_raw(t.expose_secret())
                }),
        );
    }
    value_out.set(trust_bytes::into_raw(revealed.value.expose_secret()));
}

/// Reads secret `name` for `actor`, stating `purpose` (recorded in the audit log as given: no
/// personal data), at `version` (0 = the current one). The value comes back in `*value_out`
/// (zeroized when freed); `*version_out` (if not NULL) receives the version read and
/// `*refresh_token_out` (if not NULL) the OAuth refresh token, or NULL when the version has
/// none.
///
/// Errors: `TRUST_REFUSED` (`SECRET_NOT_READER`: the actor is not on the readers list; the
/// refusal is audited), `TRUST_KEY_UNAVAILABLE` (`SECRET_NOT_FOUND`, `SECRET_DELETED`,
/// `SECRET_VERSION_UNKNOWN`), `TRUST_INVALID_ARGUMENT` for a bad name, actor or purpose.
///
/// # Safety
/// `vault` is a live vault; data pointers point to their lengths in readable bytes;
/// `value_out` points to writable storage for one pointer; `version_out` and
/// `refresh_token_out` are NULL or writable; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_vault_get(
    vault: *const trust_vault,
    actor: *const u8,
    actor_len: usize,
    name: *const u8,
    name_len: usize,
    purpose: *const u8,
    purpose_len: usize,
    version: u32,
    value_out: *mut *mut trust_bytes,
    version_out: *mut u32,
    refresh_token_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let vault = try_ref!(vault);
        let actor = try_str!(actor, actor_len);
        let name = name_of(try_str!(name, name_len))?;
        let purpose = try_str!(purpose, purpose_len);
        let value_out = try_out!(value_out);
        let version_out = try_opt_out!(version_out);
        let refresh_out = try_opt_out!(refresh_token_out);
        let revealed = if version == 0 {
            vault.inner.get(actor, &name, purpose)?
        } else {
            vault.inner.get_version(actor, &name, version, purpose)?
        };
        reveal(&revealed, value_out, version_out, refresh_out);
        Ok(())
    })
}

/// Whether the current version of `name` expires within `margin_secs` of `now_unix` (Unix
/// seconds; 0 = the system clock), or has expired: time to refresh an OAuth token. A value
/// without an expiry never needs it. Reads metadata only (not audited, no key needed).
///
/// # Safety
/// `vault` is a live vault; `name` points to `name_len` readable bytes; `needs_out` points to
/// a writable `bool`; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_vault_needs_refresh(
    vault: *const trust_vault,
    name: *const u8,
    name_len: usize,
    now_unix: i64,
    margin_secs: u64,
    needs_out: *mut bool,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let vault = try_ref!(vault);
        let name = name_of(try_str!(name, name_len))?;
        let out = try_out!(needs_out);
        let now = if now_unix == 0 {
            SystemTime::now()
        } else {
            time_of(now_unix).ok_or_else(|| Failure::invalid("now_unix must be positive"))?
        };
        let info = vault.inner.info(&name)?;
        out.set(info.needs_refresh(now, Duration::from_secs(margin_secs)));
        Ok(())
    })
}

/// The refresher's "someone else got there first" signal, internal to `trust_vault_refresh`.
#[derive(Debug)]
struct Stale;

/// Stores a refreshed OAuth token for `name` **only if** its current version is still
/// `expected_version` (the one the caller read before asking the provider) and it expires
/// within `margin_secs`. `value` is the new access token, `refresh_token` the new refresh token
/// (length 0 keeps the current one), `expires_unix` its expiry (0 = none). Nothing is stored
/// when the current version is fresh or is no longer `expected_version`. On return
/// `*value_out`/`*version_out` hold the token to use and `*outcome_out` says which:
/// `TRUST_VAULT_REFRESHED` (this token, stored), `TRUST_VAULT_TOOK_WINNERS` (another worker's,
/// newer; this one was discarded) or `TRUST_VAULT_STILL_FRESH` (the stored one; nothing
/// stored). Each read is audited with `purpose`.
///
/// Errors: as `trust_vault_get` and `trust_vault_rotate`.
///
/// # Safety
/// `vault` is a live vault; data pointers point to their lengths in readable bytes;
/// `value_out` points to writable storage for one pointer; `version_out` to a writable
/// `uint32_t`; `outcome_out` to a writable `uint32_t`; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_vault_refresh(
    vault: *const trust_vault,
    actor: *const u8,
    actor_len: usize,
    name: *const u8,
    name_len: usize,
    purpose: *const u8,
    purpose_len: usize,
    margin_secs: u64,
    expected_version: u32,
    value: *const u8,
    value_len: usize,
    refresh_token: *const u8,
    refresh_token_len: usize,
    expires_unix: i64,
    value_out: *mut *mut trust_bytes,
    version_out: *mut u32,
    outcome_out: *mut u32,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let vault = try_ref!(vault);
        let actor = try_str!(actor, actor_len);
        let name = name_of(try_str!(name, name_len))?;
        let purpose = try_str!(purpose, purpose_len);
        let value = try_slice!(value, value_len);
        let refresh_token = try_slice!(refresh_token, refresh_token_len);
        let value_out = try_out!(value_out);
        let version_out = try_out!(version_out);
        let outcome_out = try_out!(outcome_out);
        if expires_unix < 0 {
            return Err(Failure::invalid(
                "expires_unix must be 0 (none) or positive",
            ));
        }
        let result = vault.inner.refresh(
            actor,
            &name,
            purpose,
            Duration::from_secs(margin_secs),
            |current| {
                if current.version != expected_version {
                    return Err(Stale);
                }
                Ok(Refreshed::new(
                    SecretBytes::from(value.to_vec()),
                    (!refresh_token.is_empty()).then(|| SecretBytes::from(refresh_token.to_vec())),
                    time_of(expires_unix),
                ))
            },
        );
        let (revealed, outcome) = match result {
            // Fresh, but not the version the caller read: another worker refreshed it.
            Ok((revealed, RefreshOutcome::StillFresh)) if revealed.version != expected_version => {
                (revealed, TRUST_VAULT_TOOK_WINNERS)
            }
            Ok((revealed, RefreshOutcome::StillFresh)) => (revealed, TRUST_VAULT_STILL_FRESH),
            Ok((revealed, RefreshOutcome::Refreshed)) => (revealed, TRUST_VAULT_REFRESHED),
            Ok((revealed, _)) => (revealed, TRUST_VAULT_TOOK_WINNERS),
            // The version read before calling the provider is no longer current: another
            // worker refreshed in between; hand back its token.
            Err(RefreshError::Refresher(Stale)) => (
                vault.inner.get(actor, &name, purpose)?,
                TRUST_VAULT_TOOK_WINNERS,
            ),
            Err(RefreshError::Vault(e)) => return Err(e.into()),
        };
        outcome_out.set(outcome);
        reveal(&revealed, value_out, Some(version_out), None);
        Ok(())
    })
}

fn listed(info: &SecretInfo) -> serde_json::Value {
    let expires = info
        .current()
        .and_then(|v| v.expires)
        .and_then(|t| jiff::Timestamp::try_from(t).ok())
        .map(|t| t.to_string());
    serde_json::json!({
        "name": info.name.to_string(),
        "kind": info.kind.name(),
        "deleted": info.deleted,
        "current_version": info.current().map(|v| v.version),
        "versions": info.versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        "readers": info.readers,
        "scopes": info.scopes,
        "expires": expires,
        "expires_unix": info.current().and_then(|v| v.expires).map(unix_of),
    })
}

/// Lists the secrets (of `tenant`, or all when `tenant_len` is 0) as a JSON array of objects
/// with `name`, `kind`, `deleted`, `current_version`, `versions`, `readers`, `scopes`,
/// `expires` (RFC 3339 or null) and `expires_unix` — the objects `trust secrets list --json`
/// prints, plus the Unix time. Never values.
///
/// # Safety
/// `vault` is a live vault; `tenant` points to `tenant_len` readable bytes; `json_out` points
/// to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_vault_list(
    vault: *const trust_vault,
    tenant: *const u8,
    tenant_len: usize,
    json_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let vault = try_ref!(vault);
        let tenant = try_str!(tenant, tenant_len);
        let out = try_out!(json_out);
        let infos = vault.inner.list((!tenant.is_empty()).then_some(tenant))?;
        let json = serde_json::Value::Array(infos.iter().map(listed).collect());
        out.set(trust_bytes::into_raw(json.to_string().as_bytes()));
        Ok(())
    })
}

/// Deletes secret `name`, acting as `actor` (recorded): every stored version's sealed value is
/// dropped; a tombstone keeps the name so version numbers are never reused.
///
/// Errors: `TRUST_KEY_UNAVAILABLE` (`SECRET_NOT_FOUND`, `SECRET_DELETED`).
///
/// # Safety
/// `vault` is a live vault; data pointers point to their lengths in readable bytes; `err_out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_vault_delete(
    vault: *const trust_vault,
    actor: *const u8,
    actor_len: usize,
    name: *const u8,
    name_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let vault = try_ref!(vault);
        let actor = try_str!(actor, actor_len);
        let name = name_of(try_str!(name, name_len))?;
        vault.inner.delete(actor, &name)?;
        Ok(())
    })
}
