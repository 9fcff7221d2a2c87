//! A credential vault for third-party tokens: named, versioned, sealed, access-listed, audited.
//!
//! Connector apps promise that "credentials are stored encrypted in a dedicated secrets store,
//! decrypted only at sync job execution time, readable only by the application service account,
//! never logged". [`Vault`] is that store:
//!
//! * **Named per tenant.** A secret is `tenant/name` ([`SecretName`]), e.g. `acme/shopify`.
//! * **Versioned.** [`Vault::put`] and [`Vault::rotate`] add a version; older ones stay readable
//!   with [`Vault::get_version`] until [`Vault::prune`] (at most [`MAX_VERSIONS`] are kept; the
//!   oldest go first). Version numbers are never reused, not even after [`Vault::delete`].
//! * **Sealed in context.** Each value (and an OAuth refresh token, the second sealed field) is
//!   an envelope token under the home's keyring with the context `purpose=trust.vault, tenant,
//!   name, version, field`: a sealed value copied into another secret's record, or another
//!   version, does not open.
//! * **Readers.** Each secret has a readers list (default: the actor who created it). Reading by
//!   anyone else is refused ([`VaultError::NotReader`]), and so is replacing the value.
//! * **Audited.** Every read and every refused read is an [`Event`] (`vault.read`,
//!   `vault.read_refused`) with the actor (pseudonymized by the audit log), the secret's name,
//!   version and the stated purpose; changes are `vault.put`, `vault.rotate`, `vault.refresh`,
//!   `vault.prune`, `vault.delete`. The purpose is written to the audit log as given: it must not
//!   hold personal data.
//! * **Never logged.** A value read in-process is registered with the [`LiveRedactor`] given to
//!   [`Vault::with_redactor`], so it is scrubbed from every log line written through it.
//! * **OAuth refresh without a stampede.** [`Vault::refresh`] refreshes a token that expires
//!   within a margin and commits the new version with a compare-and-swap on the version it
//!   read: of two workers refreshing at once, one wins and the other returns the winner's token.
//!
//! ```
//! use std::sync::Arc;
//! use trust_core::envelope::StaticKeys;
//! use trust_core::provider::Suite;
//! use trust_core::secret::{ExposeSecret, Key256};
//! use trust_core::vault::{DirVaultStore, PutOptions, SecretName, Vault};
//!
//! let dir = tempfile::tempdir()?;
//! let keys = Arc::new(StaticKeys::single("vault", Suite::Aes256Gcm, Key256::generate()?));
//! let vault = Vault::new(Arc::new(DirVaultStore::new(dir.path())), keys, "vault");
//!
//! let name: SecretName = "acme/shopify".parse()?;
//! vault.put("sync-worker", &name, b"shpat_0123456789abcdef", PutOptions::default())?;
//! let secret = vault.get("sync-worker", &name, "nightly order sync")?;
//! assert_eq!(secret.value.expose_secret(), b"shpat_0123456789abcdef");
//! assert_eq!(secret.version, 1);
//! // Anyone not on the readers list is refused (and the refusal is audited).
//! assert!(vault.get("intern", &name, "curious").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod store;

#[cfg(test)]
mod tests;

use core::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use store::{
    DirVaultStore, Kind, MAX_LABEL_LEN, MAX_READERS, MAX_RECORD_FILE, MAX_SCOPES, MAX_VERSIONS,
    SecretRecord, VaultStore, VaultStoreError, VersionRecord, is_valid_label, parse_record,
};

use crate::clock::{Clock, SystemClock, from_unix_seconds, unix_seconds};
use crate::envelope::{self, Context, EnvelopeError};
use crate::error::{Category, TrustError};
use crate::event::{Event, EventError, EventSink, NoSink};
use crate::provider::KeyProvider;
use crate::redact::LiveRedactor;
use crate::secret::SecretBytes;

/// Largest secret value or refresh token (64 KiB).
pub const MAX_VALUE_LEN: usize = 64 * 1024;
/// Longest stated purpose.
pub const MAX_PURPOSE_LEN: usize = 256;
/// Longest tenant or name.
pub const MAX_NAME_PART: usize = 64;
/// Compare-and-swap attempts before [`VaultError::Busy`].
const MAX_RETRIES: u32 = 100;

/// A secret's name: `tenant/name`, each part 1 to 64 characters of `a-z 0-9 . _ -`, not
/// starting with `.` or `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName {
    tenant: String,
    name: String,
}

fn valid_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_PART
        && !s.starts_with(['.', '-'])
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

impl SecretName {
    /// A name from its parts.
    ///
    /// # Errors
    /// [`VaultError::InvalidName`].
    pub fn new(tenant: &str, name: &str) -> Result<Self, VaultError> {
        if !valid_part(tenant) || !valid_part(name) {
            return Err(VaultError::InvalidName);
        }
        Ok(Self {
            tenant: tenant.into(),
            name: name.into(),
        })
    }

    /// The tenant.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The name within the tenant.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for SecretName {
    type Err = VaultError;
    fn from_str(s: &str) -> Result<Self, VaultError> {
        let (tenant, name) = s.split_once('/').ok_or(VaultError::InvalidName)?;
        Self::new(tenant, name)
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tenant, self.name)
    }
}

/// What to store with a value. `None` fields keep the secret's current setting (or the
/// default for a new secret).
#[derive(Default)]
#[non_exhaustive]
pub struct PutOptions {
    /// API key (default) or OAuth token.
    pub kind: Option<Kind>,
    /// Who may read; default for a new secret: the acting actor.
    pub readers: Option<Vec<String>>,
    /// OAuth scopes or API permissions (metadata for operators).
    pub scopes: Option<Vec<String>>,
    /// When this value expires.
    pub expires: Option<SystemTime>,
    /// An OAuth refresh token, sealed as a second field of this version.
    pub refresh_token: Option<SecretBytes>,
}

impl fmt::Debug for PutOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutOptions")
            .field("kind", &self.kind)
            .field("readers", &self.readers.as_ref().map(Vec::len))
            .field("scopes", &self.scopes)
            .field("expires", &self.expires)
            .field("refresh_token", &self.refresh_token.is_some())
            .finish()
    }
}

/// A secret's metadata: everything but the values.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretInfo {
    /// The name.
    pub name: SecretName,
    /// API key or OAuth token.
    pub kind: Kind,
    /// Who may read.
    pub readers: Vec<String>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Deleted (a tombstone).
    pub deleted: bool,
    /// Stored versions, oldest first: (version, expiry, created).
    pub versions: Vec<VersionInfo>,
}

/// One stored version's metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VersionInfo {
    /// The version number.
    pub version: u32,
    /// When it expires, if it does.
    pub expires: Option<SystemTime>,
    /// When it was stored.
    pub created: SystemTime,
    /// Whether it carries a refresh token.
    pub has_refresh_token: bool,
}

impl SecretInfo {
    fn from_record(r: &SecretRecord) -> Result<Self, VaultError> {
        Ok(Self {
            name: r.secret_name()?,
            kind: r.kind,
            readers: r.readers.clone(),
            scopes: r.scopes.clone(),
            deleted: r.deleted,
            versions: r
                .versions
                .iter()
                .map(|v| VersionInfo {
                    version: v.version,
                    expires: v.expires.map(from_unix_seconds),
                    created: from_unix_seconds(v.created),
                    has_refresh_token: v.refresh_token.is_some(),
                })
                .collect(),
        })
    }

    /// The newest version.
    pub fn current(&self) -> Option<&VersionInfo> {
        self.versions.last()
    }

    /// Whether the current version expires within `margin` of `now` (or has expired).
    pub fn needs_refresh(&self, now: SystemTime, margin: Duration) -> bool {
        self.current()
            .is_some_and(|v| needs_refresh(v.expires, now, margin))
    }
}

fn needs_refresh(expires: Option<SystemTime>, now: SystemTime, margin: Duration) -> bool {
    expires.is_some_and(|e| now.checked_add(margin).is_none_or(|t| t >= e))
}

/// A value read from the vault. `Debug` shows no secret.
#[derive(Debug)]
#[non_exhaustive]
pub struct Revealed {
    /// The secret's name.
    pub name: SecretName,
    /// The version read.
    pub version: u32,
    /// The value.
    pub value: SecretBytes,
    /// The OAuth refresh token, if this version has one.
    pub refresh_token: Option<SecretBytes>,
    /// When the value expires, if it does.
    pub expires: Option<SystemTime>,
    /// API key or OAuth token.
    pub kind: Kind,
    /// Scopes.
    pub scopes: Vec<String>,
}

impl Revealed {
    /// Whether this value expires within `margin` of `now` (or has expired).
    pub fn needs_refresh(&self, now: SystemTime, margin: Duration) -> bool {
        needs_refresh(self.expires, now, margin)
    }
}

/// A new token from the provider, for [`Vault::refresh`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Refreshed {
    /// The new access token.
    pub value: SecretBytes,
    /// The new refresh token; `None` keeps the current one (providers that do not rotate it).
    pub refresh_token: Option<SecretBytes>,
    /// When the new token expires.
    pub expires: Option<SystemTime>,
}

impl Refreshed {
    /// A refreshed `value`, its new `refresh_token` (if the provider rotated it) and expiry.
    pub fn new(
        value: SecretBytes,
        refresh_token: Option<SecretBytes>,
        expires: Option<SystemTime>,
    ) -> Self {
        Self {
            value,
            refresh_token,
            expires,
        }
    }
}

/// How [`Vault::refresh`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshOutcome {
    /// The current token was still fresh; the refresher was not called.
    StillFresh,
    /// This call's token was stored.
    Refreshed,
    /// Another worker stored a new version first; this call returns that one and its own
    /// token was discarded.
    TookWinners,
}

/// A [`Vault::refresh`] failure: the vault's, or the refresher's own.
#[derive(Debug)]
pub enum RefreshError<E> {
    /// The vault failed.
    Vault(VaultError),
    /// The refresher (the call to the provider) failed; nothing was stored.
    Refresher(E),
}

impl<E> From<VaultError> for RefreshError<E> {
    fn from(e: VaultError) -> Self {
        Self::Vault(e)
    }
}

impl<E> From<VaultStoreError> for RefreshError<E> {
    fn from(e: VaultStoreError) -> Self {
        Self::Vault(VaultError::Store(e))
    }
}

/// The vault over a [`VaultStore`], sealing under one keyring of a [`KeyProvider`].
pub struct Vault {
    store: Arc<dyn VaultStore>,
    keys: Arc<dyn KeyProvider>,
    keyring: String,
    sink: Arc<dyn EventSink>,
    clock: Arc<dyn Clock>,
    redactor: Option<Arc<LiveRedactor>>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

enum Write {
    /// Create or add a version.
    Put,
    /// Add a version to an existing, live secret.
    Rotate,
}

impl Vault {
    /// A vault in `store`, sealing under `keyring` of `keys` (the home).
    pub fn new(
        store: Arc<dyn VaultStore>,
        keys: Arc<dyn KeyProvider>,
        keyring: impl Into<String>,
    ) -> Self {
        Self {
            store,
            keys,
            keyring: keyring.into(),
            sink: Arc::new(NoSink),
            clock: Arc::new(SystemClock),
            redactor: None,
        }
    }

    /// Records every read, refused read and change to `sink` (the audit log).
    #[must_use]
    pub fn with_sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sink = sink;
        self
    }

    /// Takes time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Registers every value (and refresh token) read with `redactor`.
    #[must_use]
    pub fn with_redactor(mut self, redactor: Arc<LiveRedactor>) -> Self {
        self.redactor = Some(redactor);
        self
    }

    fn context(name: &SecretName, version: u32, field: &str) -> Result<Context, VaultError> {
        Ok(Context::new()
            .with("purpose", "trust.vault")?
            .with("tenant", name.tenant())?
            .with("name", name.name())?
            .with("version", &version.to_string())?
            .with("field", field)?)
    }

    fn record(&self, event: Event) -> Result<(), VaultError> {
        self.sink.record(&event).map_err(VaultError::Audit)
    }

    fn event(&self, kind: &str, actor: &str, name: &SecretName) -> Event {
        Event::new(kind, self.clock.now())
            .actor(actor)
            .attr("secret", name)
    }

    fn check_actor(actor: &str) -> Result<(), VaultError> {
        if !is_valid_label(actor) {
            return Err(VaultError::InvalidLabel);
        }
        Ok(())
    }

    fn check_labels(labels: &[String], max: usize) -> Result<(), VaultError> {
        if labels.len() > max || !labels.iter().all(|l| is_valid_label(l)) {
            return Err(VaultError::InvalidLabel);
        }
        Ok(())
    }

    fn seal_version(
        &self,
        name: &SecretName,
        version: u32,
        value: &[u8],
        refresh: Option<&[u8]>,
        expires: Option<SystemTime>,
    ) -> Result<VersionRecord, VaultError> {
        if value.is_empty() || value.len() > MAX_VALUE_LEN {
            return Err(VaultError::InvalidValue);
        }
        if refresh.is_some_and(|r| r.is_empty() || r.len() > MAX_VALUE_LEN) {
            return Err(VaultError::InvalidValue);
        }
        let seal = |field: &str, bytes: &[u8]| {
            envelope::seal_token(
                &*self.keys,
                &self.keyring,
                &Self::context(name, version, field)?,
                bytes,
            )
            .map_err(VaultError::from)
        };
        Ok(VersionRecord {
            version,
            value: seal("value", value)?,
            refresh_token: refresh.map(|r| seal("refresh", r)).transpose()?,
            expires: expires.map(unix_seconds),
            created: unix_seconds(self.clock.now()),
        })
    }

    /// Stores `value` as a new version of `name`, creating the secret if needed. On an
    /// existing secret the actor must be a reader. Returns the new version.
    ///
    /// # Errors
    /// [`VaultError::NotReader`], [`VaultError::InvalidValue`], [`VaultError::InvalidLabel`],
    /// key, store and audit failures.
    pub fn put(
        &self,
        actor: &str,
        name: &SecretName,
        value: &[u8],
        options: PutOptions,
    ) -> Result<u32, VaultError> {
        self.write(actor, name, value, options, Write::Put)
    }

    /// Stores `value` as a new version of an existing secret (metadata kept unless given).
    ///
    /// # Errors
    /// [`VaultError::NotFound`] / [`VaultError::Deleted`], then as [`Vault::put`].
    pub fn rotate(
        &self,
        actor: &str,
        name: &SecretName,
        value: &[u8],
        options: PutOptions,
    ) -> Result<u32, VaultError> {
        self.write(actor, name, value, options, Write::Rotate)
    }

    fn write(
        &self,
        actor: &str,
        name: &SecretName,
        value: &[u8],
        options: PutOptions,
        how: Write,
    ) -> Result<u32, VaultError> {
        Self::check_actor(actor)?;
        if let Some(r) = &options.readers {
            Self::check_labels(r, MAX_READERS)?;
            if r.is_empty() {
                return Err(VaultError::InvalidLabel);
            }
        }
        if let Some(s) = &options.scopes {
            Self::check_labels(s, MAX_SCOPES)?;
        }
        use secrecy::ExposeSecret;
        let refresh = options.refresh_token.as_ref().map(|r| r.expose_secret());
        for _ in 0..MAX_RETRIES {
            let stored = self.store.load(name)?;
            let (mut record, expected) = match (stored, &how) {
                (None, Write::Rotate) => return Err(VaultError::NotFound),
                (Some(r), Write::Rotate) if r.deleted => return Err(VaultError::Deleted),
                (None, Write::Put) => (
                    SecretRecord {
                        format: "trust-vault".into(),
                        format_version: 1,
                        tenant: name.tenant().into(),
                        name: name.name().into(),
                        revision: 0,
                        kind: Kind::ApiKey,
                        readers: vec![actor.into()],
                        scopes: Vec::new(),
                        latest: 0,
                        deleted: true,
                        versions: Vec::new(),
                    },
                    None,
                ),
                (Some(mut r), _) => {
                    if r.deleted {
                        // A new life for a deleted name: the writer becomes its reader.
                        r.readers = vec![actor.into()];
                        r.scopes.clear();
                        r.kind = Kind::ApiKey;
                    } else if !r.readers.iter().any(|x| x == actor) {
                        self.record(
                            self.event("vault.write_refused", actor, name)
                                .attr("reason", "not_reader"),
                        )?;
                        return Err(VaultError::NotReader);
                    }
                    let rev = r.revision;
                    (r, Some(rev))
                }
            };
            let version = record
                .latest
                .checked_add(1)
                .ok_or(VaultError::InvalidValue)?;
            let sealed = self.seal_version(name, version, value, refresh, options.expires)?;
            if let Some(kind) = options.kind {
                record.kind = kind;
            }
            if let Some(readers) = &options.readers {
                record.readers = readers.clone();
            }
            if let Some(scopes) = &options.scopes {
                record.scopes = scopes.clone();
            }
            record.latest = version;
            record.deleted = false;
            record.revision += 1;
            record.versions.push(sealed);
            if record.versions.len() > MAX_VERSIONS {
                let excess = record.versions.len() - MAX_VERSIONS;
                record.versions.drain(..excess);
            }
            let result = match expected {
                None => self.store.create(&record),
                Some(rev) => self.store.compare_and_swap(rev, &record),
            };
            match result {
                Ok(()) => {
                    let kind = match how {
                        Write::Put => "vault.put",
                        Write::Rotate => "vault.rotate",
                    };
                    self.record(self.event(kind, actor, name).attr("version", version))?;
                    return Ok(version);
                }
                Err(VaultStoreError::AlreadyExists | VaultStoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(VaultError::Busy)
    }

    fn check_purpose(purpose: &str) -> Result<(), VaultError> {
        if purpose.trim().is_empty()
            || purpose.len() > MAX_PURPOSE_LEN
            || purpose.chars().any(char::is_control)
        {
            return Err(VaultError::InvalidPurpose);
        }
        Ok(())
    }

    /// Reads the current version of `name` for `actor`, stating `purpose`. The read, or its
    /// refusal, is recorded.
    ///
    /// # Errors
    /// [`VaultError::NotReader`] (exit 5), [`VaultError::NotFound`] / [`VaultError::Deleted`]
    /// (exit 4), [`VaultError::InvalidPurpose`], key, store and audit failures.
    pub fn get(
        &self,
        actor: &str,
        name: &SecretName,
        purpose: &str,
    ) -> Result<Revealed, VaultError> {
        self.read(actor, name, None, purpose)
    }

    /// As [`Vault::get`], for a specific stored version.
    ///
    /// # Errors
    /// As [`Vault::get`]; [`VaultError::UnknownVersion`] for a version not stored (pruned).
    pub fn get_version(
        &self,
        actor: &str,
        name: &SecretName,
        version: u32,
        purpose: &str,
    ) -> Result<Revealed, VaultError> {
        self.read(actor, name, Some(version), purpose)
    }

    fn read(
        &self,
        actor: &str,
        name: &SecretName,
        version: Option<u32>,
        purpose: &str,
    ) -> Result<Revealed, VaultError> {
        Self::check_actor(actor)?;
        Self::check_purpose(purpose)?;
        let refuse = |reason: &str, err: VaultError| -> Result<Revealed, VaultError> {
            let mut event = self
                .event("vault.read_refused", actor, name)
                .attr("purpose", purpose)
                .attr("reason", reason);
            if let Some(v) = version {
                event = event.attr("version", v);
            }
            self.record(event)?;
            Err(err)
        };
        let Some(record) = self.store.load(name)? else {
            return refuse("absent", VaultError::NotFound);
        };
        if record.deleted {
            return refuse("deleted", VaultError::Deleted);
        }
        if !record.readers.iter().any(|r| r == actor) {
            return refuse("not_reader", VaultError::NotReader);
        }
        let found = match version {
            None => record.current(),
            Some(v) => record.versions.iter().find(|r| r.version == v),
        };
        let Some(stored) = found else {
            return refuse("unknown_version", VaultError::UnknownVersion);
        };
        let revealed = self.open(name, &record, stored)?;
        self.record(
            self.event("vault.read", actor, name)
                .attr("version", stored.version)
                .attr("purpose", purpose),
        )?;
        Ok(revealed)
    }

    fn open(
        &self,
        name: &SecretName,
        record: &SecretRecord,
        stored: &VersionRecord,
    ) -> Result<Revealed, VaultError> {
        let open = |field: &str, token: &str| -> Result<SecretBytes, VaultError> {
            let plain = envelope::open_token(
                &*self.keys,
                &Self::context(name, stored.version, field)?,
                token,
            )?;
            if let Some(redactor) = &self.redactor {
                // Values shorter than the redactor's minimum cannot be matched safely; they
                // are still read (the minimum is a property of the redactor, not an error).
                let _ = redactor.register(&plain);
            }
            Ok(SecretBytes::from(plain.to_vec()))
        };
        Ok(Revealed {
            name: name.clone(),
            version: stored.version,
            value: open("value", &stored.value)?,
            refresh_token: stored
                .refresh_token
                .as_deref()
                .map(|t| open("refresh", t))
                .transpose()?,
            expires: stored.expires.map(from_unix_seconds),
            kind: record.kind,
            scopes: record.scopes.clone(),
        })
    }

    /// The metadata of `name` (no values; not audited as a read).
    ///
    /// # Errors
    /// [`VaultError::NotFound`], store failures.
    pub fn info(&self, name: &SecretName) -> Result<SecretInfo, VaultError> {
        let record = self.store.load(name)?.ok_or(VaultError::NotFound)?;
        SecretInfo::from_record(&record)
    }

    /// The metadata of every secret (of one tenant), tombstones included.
    ///
    /// # Errors
    /// Store failures.
    pub fn list(&self, tenant: Option<&str>) -> Result<Vec<SecretInfo>, VaultError> {
        if let Some(t) = tenant
            && !valid_part(t)
        {
            return Err(VaultError::InvalidName);
        }
        self.store
            .list(tenant)?
            .iter()
            .map(SecretInfo::from_record)
            .collect()
    }

    /// Deletes `name`: every stored version's sealed value is dropped and a tombstone keeps
    /// the name and its highest version number (so versions are never reused).
    ///
    /// # Errors
    /// [`VaultError::NotFound`] / [`VaultError::Deleted`], store and audit failures.
    pub fn delete(&self, actor: &str, name: &SecretName) -> Result<(), VaultError> {
        Self::check_actor(actor)?;
        self.change(name, |record| {
            record.versions.clear();
            record.deleted = true;
            Ok(())
        })?;
        self.record(self.event("vault.delete", actor, name))
    }

    /// Keeps only the newest `keep` versions (at least 1); returns how many were dropped.
    ///
    /// # Errors
    /// As [`Vault::delete`]; [`VaultError::NotReader`].
    pub fn prune(&self, actor: &str, name: &SecretName, keep: usize) -> Result<usize, VaultError> {
        Self::check_actor(actor)?;
        let keep = keep.max(1);
        let dropped = self.change(name, |record| {
            if !record.readers.iter().any(|r| r == actor) {
                return Err(VaultError::NotReader);
            }
            let excess = record.versions.len().saturating_sub(keep);
            record.versions.drain(..excess);
            Ok(excess)
        })?;
        self.record(
            self.event("vault.prune", actor, name)
                .attr("dropped", dropped),
        )?;
        Ok(dropped)
    }

    /// Applies `f` to the live record of `name` by compare-and-swap, retrying on conflict.
    fn change<T>(
        &self,
        name: &SecretName,
        mut f: impl FnMut(&mut SecretRecord) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        for _ in 0..MAX_RETRIES {
            let mut record = self.store.load(name)?.ok_or(VaultError::NotFound)?;
            if record.deleted {
                return Err(VaultError::Deleted);
            }
            let expected = record.revision;
            let out = f(&mut record)?;
            record.revision += 1;
            match self.store.compare_and_swap(expected, &record) {
                Ok(()) => return Ok(out),
                Err(VaultStoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(VaultError::Busy)
    }

    /// Refreshes an OAuth token that expires within `margin` of now.
    ///
    /// Reads the current version (an audited read with `purpose`); if it is still fresh,
    /// returns it. Otherwise calls `refresher` (the provider's token endpoint) and stores its
    /// result as the next version *only if the current version is still the one read*. If
    /// another worker stored a version meanwhile, this call's token is discarded and the
    /// winner's is returned ([`RefreshOutcome::TookWinners`]), so every worker ends up with
    /// the same, newest token.
    ///
    /// Both racing workers may call their refresher; for providers whose refresh tokens are
    /// single-use, the loser's call may have invalidated nothing it keeps (its result is
    /// discarded) but the provider might revoke the winner's token on reuse detection — keep
    /// one refreshing worker per secret (a job queue) where that matters.
    ///
    /// # Errors
    /// [`RefreshError::Refresher`] when `refresher` fails (nothing stored);
    /// [`RefreshError::Vault`] as [`Vault::get`] and [`Vault::rotate`].
    pub fn refresh<E>(
        &self,
        actor: &str,
        name: &SecretName,
        purpose: &str,
        margin: Duration,
        refresher: impl FnOnce(&Revealed) -> Result<Refreshed, E>,
    ) -> Result<(Revealed, RefreshOutcome), RefreshError<E>> {
        let current = self.get(actor, name, purpose)?;
        if !current.needs_refresh(self.clock.now(), margin) {
            return Ok((current, RefreshOutcome::StillFresh));
        }
        let fresh = refresher(&current).map_err(RefreshError::Refresher)?;
        use secrecy::ExposeSecret;
        let refresh_bytes: Option<zeroize::Zeroizing<Vec<u8>>> = fresh
            .refresh_token
            .as_ref()
            .or(current.refresh_token.as_ref())
            .map(|r| zeroize::Zeroizing::new(r.expose_secret().to_vec()));
        for _ in 0..MAX_RETRIES {
            let record = self.store.load(name)?.ok_or(VaultError::NotFound)?;
            if record.deleted {
                return Err(VaultError::Deleted.into());
            }
            if record.latest != current.version {
                let winner = self.get(actor, name, purpose)?;
                return Ok((winner, RefreshOutcome::TookWinners));
            }
            let version = record.latest + 1;
            let sealed = self.seal_version(
                name,
                version,
                fresh.value.expose_secret(),
                refresh_bytes.as_deref().map(|r| &r[..]),
                fresh.expires,
            )?;
            let mut next = record.clone();
            next.latest = version;
            next.revision += 1;
            next.versions.push(sealed);
            if next.versions.len() > MAX_VERSIONS {
                let excess = next.versions.len() - MAX_VERSIONS;
                next.versions.drain(..excess);
            }
            match self.store.compare_and_swap(record.revision, &next) {
                Ok(()) => {
                    self.record(
                        self.event("vault.refresh", actor, name)
                            .attr("version", version)
                            .attr("purpose", purpose),
                    )?;
                    let stored = next.current().ok_or(VaultError::NotFound)?;
                    let revealed = self.open(name, &next, stored)?;
                    return Ok((revealed, RefreshOutcome::Refreshed));
                }
                // A change that kept the version (readers edited): try again on the new revision.
                Err(VaultStoreError::Conflict) => {}
                Err(e) => return Err(VaultError::from(e).into()),
            }
        }
        Err(VaultError::Busy.into())
    }
}

/// Why a vault operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum VaultError {
    /// The secret does not exist.
    NotFound,
    /// The secret was deleted.
    Deleted,
    /// The version asked for is not stored (never was, or pruned).
    UnknownVersion,
    /// The actor is not on the secret's readers list.
    NotReader,
    /// The name is not `tenant/name` with valid parts.
    InvalidName,
    /// An actor, reader or scope is empty, too long, or holds spaces, commas or control
    /// characters; or too many were given.
    InvalidLabel,
    /// The value is empty or larger than 64 KiB.
    InvalidValue,
    /// The purpose is empty, longer than 256 characters or holds control characters.
    InvalidPurpose,
    /// Too many concurrent changes; try again.
    Busy,
    /// Sealing or opening failed.
    Envelope(EnvelopeError),
    /// The store failed.
    Store(VaultStoreError),
    /// The audit event could not be recorded.
    Audit(EventError),
}

impl fmt::Display for VaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("no such secret"),
            Self::Deleted => f.write_str("the secret was deleted"),
            Self::UnknownVersion => f.write_str("that version of the secret is not stored"),
            Self::NotReader => f.write_str("the actor is not a reader of this secret"),
            Self::InvalidName => f.write_str(
                "invalid secret name: expected TENANT/NAME, each 1-64 of a-z 0-9 . _ - (not starting with . or -)",
            ),
            Self::InvalidLabel => f.write_str(
                "invalid actor, reader or scope (1-128 characters without spaces, commas or control characters; at most 64)",
            ),
            Self::InvalidValue => f.write_str("the value must be 1 byte to 64 KiB"),
            Self::InvalidPurpose => f.write_str(
                "a purpose is required: 1-256 characters without control characters",
            ),
            Self::Busy => f.write_str("the secret is being changed by others; try again"),
            Self::Envelope(e) => write!(f, "{e}"),
            Self::Store(e) => write!(f, "{e}"),
            Self::Audit(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for VaultError {}

impl From<EnvelopeError> for VaultError {
    fn from(e: EnvelopeError) -> Self {
        Self::Envelope(e)
    }
}

impl From<VaultStoreError> for VaultError {
    fn from(e: VaultStoreError) -> Self {
        Self::Store(e)
    }
}

impl TrustError for VaultError {
    fn category(&self) -> Category {
        match self {
            Self::NotFound | Self::Deleted | Self::UnknownVersion => Category::KeyUnavailable,
            Self::NotReader => Category::Refused,
            Self::InvalidName | Self::InvalidLabel | Self::InvalidValue | Self::InvalidPurpose => {
                Category::Usage
            }
            Self::Busy => Category::Internal,
            Self::Envelope(e) => e.category(),
            Self::Store(e) => e.category(),
            Self::Audit(e) => e.category(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "SECRET_NOT_FOUND",
            Self::Deleted => "SECRET_DELETED",
            Self::UnknownVersion => "SECRET_VERSION_UNKNOWN",
            Self::NotReader => "SECRET_NOT_READER",
            Self::InvalidName => "SECRET_INVALID_NAME",
            Self::InvalidLabel => "SECRET_INVALID_LABEL",
            Self::InvalidValue => "SECRET_INVALID_VALUE",
            Self::InvalidPurpose => "SECRET_INVALID_PURPOSE",
            Self::Busy => "SECRET_BUSY",
            Self::Envelope(e) => e.code(),
            Self::Store(e) => e.code(),
            Self::Audit(e) => e.code(),
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::NotReader => {
                Some("ask a reader of the secret to add you with `secrets put --readers`")
            }
            Self::NotFound => Some("list secrets with `trust secrets list`"),
            Self::InvalidPurpose => {
                Some("say why the secret is read, e.g. --purpose \"nightly order sync\"")
            }
            Self::Envelope(e) => e.hint(),
            _ => None,
        }
    }
}
