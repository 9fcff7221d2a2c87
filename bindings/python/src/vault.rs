//! `trust.Vault` (named, versioned, access-listed third-party credentials) and `trust.Mfa`
//! (TOTP second factors with replay protection and recovery codes).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use trust_core::event::EventSink;
use trust_core::keyring::{self, Policy};
use trust_core::mfa::{Algorithm, EnrollOptions, TotpParams, base32_decode};
use trust_core::provider::Suite;
use trust_core::redact::LiveRedactor;
use trust_core::secret::{ExposeSecret, SecretBytes};
use trust_core::vault::{
    Kind, PutOptions, RefreshError, RefreshOutcome, Refreshed, Revealed, SecretInfo, SecretName,
};
use trust_core::{mfa, vault};

use crate::audit::Log;
use crate::errors::{core, invalid, secret};
use crate::home::native_home;
use crate::subjects::sink;

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Vault>()?;
    m.add_class::<Secret>()?;
    m.add_class::<Mfa>()?;
    Ok(())
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn from_unix(s: i64) -> PyResult<SystemTime> {
    u64::try_from(s)
        .ok()
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        .ok_or_else(|| invalid("a time must be Unix seconds at or after 1970"))
}

/// Creates `name` when the home has no such keyring (as the CLI does on first use).
pub(crate) fn ensure_keyring(home: &keyring::Home, name: &str) -> PyResult<()> {
    if !home
        .keyring_names()
        .map_err(core)?
        .iter()
        .any(|n| n == name)
    {
        match home.create_keyring(name, Suite::Aes256Gcm, Policy::default()) {
            Ok(_) => {}
            // Another worker created it between the check and here.
            Err(keyring::KeyringError::AlreadyExists { .. }) => {}
            Err(e) => return Err(core(e)),
        }
    }
    Ok(())
}

fn name(text: &str) -> PyResult<SecretName> {
    text.parse().map_err(core)
}

/// A value read from the vault. `repr()` never shows it.
#[pyclass(frozen, module = "trust")]
pub(crate) struct Secret {
    value: SecretBytes,
    refresh: Option<SecretBytes>,
    #[pyo3(get)]
    name: String,
    #[pyo3(get)]
    version: u32,
    /// Unix seconds, or None.
    #[pyo3(get)]
    expires: Option<i64>,
    #[pyo3(get)]
    kind: &'static str,
    #[pyo3(get)]
    scopes: Vec<String>,
}

impl Secret {
    fn new(r: Revealed) -> Self {
        Self {
            name: r.name.to_string(),
            version: r.version,
            expires: r.expires.map(unix),
            kind: r.kind.name(),
            scopes: r.scopes,
            value: r.value,
            refresh: r.refresh_token,
        }
    }
}

#[pymethods]
impl Secret {
    /// The value.
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.value.expose_secret())
    }

    /// The OAuth refresh token, if this version has one.
    #[getter]
    fn refresh_token<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.refresh
            .as_ref()
            .map(|r| PyBytes::new(py, r.expose_secret()))
    }

    /// Whether the value expires within `margin` seconds of `now` (default: the clock).
    #[pyo3(signature = (margin, now=None))]
    fn needs_refresh(&self, margin: u64, now: Option<i64>) -> bool {
        let now = now.unwrap_or_else(|| unix(SystemTime::now()));
        self.expires
            .is_some_and(|e| now.saturating_add_unsigned(margin) >= e)
    }

    fn __repr__(&self) -> String {
        format!("<trust.Secret {} v{}>", self.name, self.version)
    }
}

fn info_dict<'py>(py: Python<'py>, i: &SecretInfo) -> PyResult<Bound<'py, PyAny>> {
    let versions: Vec<_> = i
        .versions
        .iter()
        .map(|v| {
            serde_json::json!({
                "version": v.version,
                "expires": v.expires.map(unix),
                "created": unix(v.created),
                "has_refresh_token": v.has_refresh_token,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "name": i.name.to_string(),
        "kind": i.kind.name(),
        "readers": i.readers,
        "scopes": i.scopes,
        "deleted": i.deleted,
        "versions": versions,
    });
    crate::subjects::to_python(py, &doc)
}

/// The credential vault of a home. Thread-safe; share one per process.
#[pyclass(frozen, module = "trust")]
pub(crate) struct Vault {
    inner: vault::Vault,
    redactor: Arc<LiveRedactor>,
}

#[allow(clippy::too_many_arguments)]
fn put_options(
    kind: Option<&str>,
    readers: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    expires: Option<i64>,
    refresh_token: Option<&Bound<'_, PyAny>>,
) -> PyResult<PutOptions> {
    let mut put = PutOptions::default();
    put.kind = kind
        .map(|k| Kind::parse(k).ok_or_else(|| invalid("kind must be \"api-key\" or \"oauth\"")))
        .transpose()?;
    put.readers = readers;
    put.scopes = scopes;
    put.expires = expires.map(from_unix).transpose()?;
    put.refresh_token = refresh_token
        .map(|t| secret(t, "refresh_token"))
        .transpose()?;
    Ok(put)
}

#[pymethods]
impl Vault {
    /// The vault of `home` (`HOME/vault`, or the database of a database home; shared with
    /// `trust secrets`), sealing new values
    /// under `keyring` (created on first use). With `audit`, every read, refused read and
    /// change is recorded there (`vault.read`, `vault.read_refused`, …).
    #[new]
    #[pyo3(signature = (home, *, keyring="vault", audit=None))]
    fn new(
        py: Python<'_>,
        home: &Bound<'_, PyAny>,
        keyring: &str,
        audit: Option<&Bound<'_, Log>>,
    ) -> PyResult<Self> {
        let home = native_home(home)?;
        let home = home.get();
        py.detach(|| ensure_keyring(&home.inner, keyring))?;
        let redactor = Arc::new(LiveRedactor::new());
        let sink: Arc<dyn EventSink> = sink(audit);
        let inner = vault::Vault::new(
            // `HOME/vault` or the database's vault tables, shared with `trust secrets`.
            home.location.vault_store(),
            Arc::clone(&home.inner) as _,
            keyring,
        )
        .with_sink(sink)
        .with_redactor(Arc::clone(&redactor));
        Ok(Self { inner, redactor })
    }

    /// Stores `value` as a new version of `name` (`tenant/name`), creating the secret (readers
    /// default to `[actor]`). Returns the version.
    #[pyo3(signature = (actor, name, value, *, kind=None, readers=None, scopes=None, expires=None, refresh_token=None))]
    #[allow(clippy::too_many_arguments)]
    fn put(
        &self,
        py: Python<'_>,
        actor: &str,
        name: &str,
        value: &Bound<'_, PyAny>,
        kind: Option<&str>,
        readers: Option<Vec<String>>,
        scopes: Option<Vec<String>>,
        expires: Option<i64>,
        refresh_token: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u32> {
        let n = self::name(name)?;
        let value = secret(value, "value")?;
        let o = put_options(kind, readers, scopes, expires, refresh_token)?;
        py.detach(|| self.inner.put(actor, &n, value.expose_secret(), o))
            .map_err(core)
    }

    /// As `put`, for an existing live secret (metadata kept unless given).
    #[pyo3(signature = (actor, name, value, *, readers=None, scopes=None, expires=None, refresh_token=None))]
    #[allow(clippy::too_many_arguments)]
    fn rotate(
        &self,
        py: Python<'_>,
        actor: &str,
        name: &str,
        value: &Bound<'_, PyAny>,
        readers: Option<Vec<String>>,
        scopes: Option<Vec<String>>,
        expires: Option<i64>,
        refresh_token: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u32> {
        let n = self::name(name)?;
        let value = secret(value, "value")?;
        let o = put_options(None, readers, scopes, expires, refresh_token)?;
        py.detach(|| self.inner.rotate(actor, &n, value.expose_secret(), o))
            .map_err(core)
    }

    /// Reads `name` (its current version, or `version`) for `actor`, stating `purpose` (no
    /// personal data: it is written to the audit log). `RefusedError` (`SECRET_NOT_READER`)
    /// when `actor` is not a reader; `KeyUnavailableError` when absent or deleted.
    #[pyo3(signature = (actor, name, *, purpose, version=None))]
    fn get(
        &self,
        py: Python<'_>,
        actor: &str,
        name: &str,
        purpose: &str,
        version: Option<u32>,
    ) -> PyResult<Secret> {
        let n = self::name(name)?;
        let r = py
            .detach(|| match version {
                Some(v) => self.inner.get_version(actor, &n, v, purpose),
                None => self.inner.get(actor, &n, purpose),
            })
            .map_err(core)?;
        Ok(Secret::new(r))
    }

    /// Metadata of every secret (of `tenant`), never values: a list of dicts.
    #[pyo3(signature = (tenant=None))]
    fn list<'py>(&self, py: Python<'py>, tenant: Option<&str>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let all = py.detach(|| self.inner.list(tenant)).map_err(core)?;
        all.iter().map(|i| info_dict(py, i)).collect()
    }

    /// Metadata of one secret.
    fn info<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let n = self::name(name)?;
        let i = py.detach(|| self.inner.info(&n)).map_err(core)?;
        info_dict(py, &i)
    }

    /// Whether `name`'s current version expires within `margin` seconds of `now`.
    #[pyo3(signature = (name, margin, now=None))]
    fn needs_refresh(
        &self,
        py: Python<'_>,
        name: &str,
        margin: u64,
        now: Option<i64>,
    ) -> PyResult<bool> {
        let n = self::name(name)?;
        let now = now
            .map(from_unix)
            .transpose()?
            .unwrap_or_else(SystemTime::now);
        let i = py.detach(|| self.inner.info(&n)).map_err(core)?;
        Ok(i.needs_refresh(now, Duration::from_secs(margin)))
    }

    /// Deletes `name` (a tombstone; values become unreadable). The actor must be a reader.
    fn delete(&self, py: Python<'_>, actor: &str, name: &str) -> PyResult<()> {
        let n = self::name(name)?;
        py.detach(|| self.inner.delete(actor, &n)).map_err(core)
    }

    /// Keeps the newest `keep` versions of `name`; returns how many were removed.
    fn prune(&self, py: Python<'_>, actor: &str, name: &str, keep: usize) -> PyResult<usize> {
        let n = self::name(name)?;
        py.detach(|| self.inner.prune(actor, &n, keep))
            .map_err(core)
    }

    /// Refreshes an OAuth token that expires within `margin` seconds: calls
    /// `refresher(secret)`, which returns `(value, refresh_token_or_None, expires_unix_or_None)`
    /// from the provider, and stores it with a compare-and-swap on the version read. Of two
    /// workers refreshing at once one wins and the other gets the winner's token. Returns
    /// `(secret, outcome)`, outcome `"still-fresh"`, `"refreshed"` or `"took-winners"`.
    #[pyo3(signature = (actor, name, *, purpose, margin, refresher))]
    fn refresh(
        &self,
        py: Python<'_>,
        actor: &str,
        name: &str,
        purpose: &str,
        margin: u64,
        refresher: Bound<'_, PyAny>,
    ) -> PyResult<(Secret, &'static str)> {
        let n = self::name(name)?;
        // The refresher is Python code: the GIL stays held for the whole call.
        let result = self.inner.refresh(
            actor,
            &n,
            purpose,
            Duration::from_secs(margin),
            |current: &Revealed| -> PyResult<Refreshed> {
                let arg = Secret {
                    name: current.name.to_string(),
                    version: current.version,
                    expires: current.expires.map(unix),
                    kind: current.kind.name(),
                    scopes: current.scopes.clone(),
                    value: SecretBytes::from(current.value.expose_secret().to_vec()),
                    refresh: current
                        .refresh_token
                        .as_ref()
                        .map(|r| SecretBytes::from(r.expose_secret().to_vec())),
                };
                let out = refresher.call1((arg,))?;
                let (value, refresh, expires): (
                    Bound<'_, PyAny>,
                    Option<Bound<'_, PyAny>>,
                    Option<i64>,
                ) = out.extract()?;
                Ok(Refreshed::new(
                    secret(&value, "the refreshed value")?,
                    refresh
                        .map(|r| secret(&r, "the refresh token"))
                        .transpose()?,
                    expires.map(from_unix).transpose()?,
                ))
            },
        );
        let _ = py;
        match result {
            Ok((r, outcome)) => Ok((
                Secret::new(r),
                match outcome {
                    RefreshOutcome::StillFresh => "still-fresh",
                    RefreshOutcome::Refreshed => "refreshed",
                    _ => "took-winners",
                },
            )),
            Err(RefreshError::Vault(e)) => Err(core(e)),
            Err(RefreshError::Refresher(e)) => Err(e),
        }
    }

    /// `text` with every value this vault has revealed (and the built-in credential formats)
    /// replaced: pass the vault to `trust.RedactingFilter(vault)`.
    fn redact(&self, text: &str) -> String {
        self.redactor.redactor().redact(text).into_owned()
    }

    fn __repr__(&self) -> &'static str {
        "<trust.Vault>"
    }
}

/// TOTP second factors for a home's users. Thread-safe.
#[pyclass(frozen, module = "trust")]
pub(crate) struct Mfa {
    inner: mfa::Mfa,
}

#[pymethods]
impl Mfa {
    /// Factors of `home` (`HOME/mfa/users`, or the database of a database home; shared with
    /// `trust mfa`), secrets sealed under
    /// `keyring` (created on first use). Attempts are limited to 5 per user per 30 s.
    #[new]
    #[pyo3(signature = (home, *, keyring="mfa", audit=None, issuer="trust"))]
    fn new(
        py: Python<'_>,
        home: &Bound<'_, PyAny>,
        keyring: &str,
        audit: Option<&Bound<'_, Log>>,
        issuer: &str,
    ) -> PyResult<Self> {
        let home = native_home(home)?;
        let home = home.get();
        py.detach(|| ensure_keyring(&home.inner, keyring))?;
        let inner = mfa::Mfa::new(
            // `HOME/mfa/users` or the database's MFA tables, shared with `trust mfa`.
            home.location.mfa_store(),
            Arc::clone(&home.inner) as _,
            keyring,
        )
        .with_sink(sink(audit))
        .with_issuer(issuer);
        Ok(Self { inner })
    }

    /// Enrolls a factor for (`user`, `device`); returns the `otpauth://` URI to show once
    /// (as text or a QR code). `secret` migrates an existing base32 secret.
    #[pyo3(signature = (user, device="default", *, digits=6, algorithm="sha1", period=30, secret=None))]
    #[allow(clippy::too_many_arguments)]
    fn enroll(
        &self,
        py: Python<'_>,
        user: &str,
        device: &str,
        digits: u8,
        algorithm: &str,
        period: u32,
        secret: Option<&str>,
    ) -> PyResult<String> {
        let algorithm = Algorithm::parse(algorithm)
            .ok_or_else(|| invalid("algorithm must be sha1, sha256 or sha512"))?;
        let secret = secret.map(base32_decode).transpose().map_err(core)?;
        let options = EnrollOptions::new(TotpParams::new(algorithm, digits, period), secret);
        let e = py
            .detach(|| self.inner.enroll(user, device, options))
            .map_err(core)?;
        Ok(e.uri.expose_secret().to_owned())
    }

    /// Checks `code` and burns its time step; returns the step. `VerificationError`
    /// (`MFA_REJECTED`) for a wrong, expired or already used code. `now` is Unix seconds.
    #[pyo3(signature = (user, code, *, device="default", now=None))]
    fn verify(
        &self,
        py: Python<'_>,
        user: &str,
        code: &str,
        device: &str,
        now: Option<i64>,
    ) -> PyResult<u64> {
        let now = now.map(from_unix).transpose()?;
        py.detach(|| match now {
            Some(t) => self.inner.verify_at(user, device, code, t),
            None => self.inner.verify(user, device, code),
        })
        .map_err(core)
    }

    /// Replaces the user's recovery codes with new single-use ones and returns them.
    fn recovery_codes(&self, py: Python<'_>, user: &str) -> PyResult<Vec<String>> {
        let codes = py
            .detach(|| self.inner.new_recovery_codes(user))
            .map_err(core)?;
        Ok(codes.iter().map(|c| c.expose_secret().to_owned()).collect())
    }

    /// Spends one recovery code; `VerificationError` when unknown or used.
    fn redeem_recovery_code(&self, py: Python<'_>, user: &str, code: &str) -> PyResult<()> {
        py.detach(|| self.inner.redeem_recovery_code(user, code))
            .map_err(core)
    }

    /// How many unused recovery codes the user has.
    fn remaining_recovery_codes(&self, py: Python<'_>, user: &str) -> PyResult<usize> {
        py.detach(|| self.inner.remaining_recovery_codes(user))
            .map_err(core)
    }

    /// Whether the user has a factor.
    fn is_enrolled(&self, py: Python<'_>, user: &str) -> PyResult<bool> {
        py.detach(|| self.inner.is_enrolled(user)).map_err(core)
    }

    /// Removes every factor and recovery code of the user; False when there was none.
    fn remove(&self, py: Python<'_>, user: &str) -> PyResult<bool> {
        py.detach(|| self.inner.remove(user)).map_err(core)
    }

    fn __repr__(&self) -> &'static str {
        "<trust.Mfa>"
    }
}
