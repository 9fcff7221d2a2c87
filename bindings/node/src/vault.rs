//! `Vault` (named, versioned, access-listed third-party credentials) and `Mfa` (TOTP second
//! factors with replay protection and recovery codes).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use napi::Result;
use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;
use trust_core::keyring::{self, Policy};
use trust_core::mfa::{Algorithm, EnrollOptions, TotpParams, base32_decode};
use trust_core::provider::Suite;
use trust_core::redact::LiveRedactor;
use trust_core::secret::ExposeSecret;
use trust_core::vault::{
    Kind, PutOptions as CorePut, RefreshError, RefreshOutcome, Refreshed, Revealed,
    SecretInfo as CoreInfo, SecretName,
};
use trust_core::{mfa, vault};

use crate::audit::AuditLog;
use crate::subjects::sink;
use crate::{Home, core, invalid, secret};

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn from_unix(s: i64) -> Result<SystemTime> {
    u64::try_from(s)
        .ok()
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        .ok_or_else(|| invalid("a time must be Unix seconds at or after 1970"))
}

fn seconds(v: i64, what: &str) -> Result<Duration> {
    u64::try_from(v)
        .map(Duration::from_secs)
        .map_err(|_| invalid(&format!("{what} must be >= 0")))
}

pub(crate) fn ensure_keyring(home: &keyring::Home, name: &str) -> Result<()> {
    if !home
        .keyring_names()
        .map_err(core)?
        .iter()
        .any(|n| n == name)
    {
        match home.create_keyring(name, Suite::Aes256Gcm, Policy::default()) {
            // Another worker created it between the check and here.
            Ok(_) | Err(keyring::KeyringError::AlreadyExists { .. }) => {}
            Err(e) => return Err(core(e)),
        }
    }
    Ok(())
}

fn name(text: &str) -> Result<SecretName> {
    text.parse().map_err(core)
}

/// A value read from the vault.
#[napi(object)]
pub struct SecretValue {
    pub name: String,
    pub version: u32,
    pub value: Buffer,
    pub refresh_token: Option<Buffer>,
    /// Unix seconds.
    pub expires: Option<i64>,
    pub kind: String,
    pub scopes: Vec<String>,
}

fn reveal(r: &Revealed) -> SecretValue {
    SecretValue {
        name: r.name.to_string(),
        version: r.version,
        value: r.value.expose_secret().to_vec().into(),
        refresh_token: r
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_vec().into()),
        expires: r.expires.map(unix),
        kind: r.kind.name().to_owned(),
        scopes: r.scopes.clone(),
    }
}

/// One stored version's metadata.
#[napi(object)]
pub struct VersionInfo {
    pub version: u32,
    pub expires: Option<i64>,
    pub created: i64,
    pub has_refresh_token: bool,
}

/// A secret's metadata, never its values.
#[napi(object)]
pub struct SecretInfo {
    pub name: String,
    pub kind: String,
    pub readers: Vec<String>,
    pub scopes: Vec<String>,
    pub deleted: bool,
    pub versions: Vec<VersionInfo>,
}

fn info(i: &CoreInfo) -> SecretInfo {
    SecretInfo {
        name: i.name.to_string(),
        kind: i.kind.name().to_owned(),
        readers: i.readers.clone(),
        scopes: i.scopes.clone(),
        deleted: i.deleted,
        versions: i
            .versions
            .iter()
            .map(|v| VersionInfo {
                version: v.version,
                expires: v.expires.map(unix),
                created: unix(v.created),
                has_refresh_token: v.has_refresh_token,
            })
            .collect(),
    }
}

/// Options of `Vault.put` / `Vault.rotate`.
#[napi(object)]
pub struct PutOptions {
    /// `api-key` (default) or `oauth` (put only).
    pub kind: Option<String>,
    pub readers: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    /// Unix seconds.
    pub expires: Option<i64>,
    pub refresh_token: Option<Either<String, Buffer>>,
}

fn put_options(o: Option<PutOptions>) -> Result<CorePut> {
    let Some(o) = o else {
        return Ok(CorePut::default());
    };
    let mut put = CorePut::default();
    put.kind = o
        .kind
        .map(|k| Kind::parse(&k).ok_or_else(|| invalid("kind must be \"api-key\" or \"oauth\"")))
        .transpose()?;
    put.readers = o.readers;
    put.scopes = o.scopes;
    put.expires = o.expires.map(from_unix).transpose()?;
    put.refresh_token = o.refresh_token.map(secret);
    Ok(put)
}

/// A token fetched from the provider, for `Vault.commitRefresh`.
#[napi(object)]
pub struct FreshToken {
    pub value: Either<String, Buffer>,
    pub refresh_token: Option<Either<String, Buffer>>,
    pub expires: Option<i64>,
}

/// What `Vault.commitRefresh` returns.
#[napi(object)]
pub struct RefreshResult {
    pub secret: SecretValue,
    /// `refreshed` (this token was stored) or `took-winners` (another worker's newer version
    /// was fresh already; it is returned and this token discarded).
    pub outcome: String,
}

/// The credential vault of a home (`HOME/vault`, shared with `trust secrets`).
#[napi]
pub struct Vault {
    inner: vault::Vault,
    redactor: Arc<LiveRedactor>,
}

#[napi]
impl Vault {
    /// Seals new values under `keyring` (default `vault`, created on first use); with
    /// `audit`, every read, refused read and change is recorded there.
    #[napi(constructor)]
    pub fn new(home: &Home, keyring: Option<String>, audit: Option<&AuditLog>) -> Result<Self> {
        let keyring = keyring.unwrap_or_else(|| "vault".to_owned());
        ensure_keyring(&home.inner, &keyring)?;
        let redactor = Arc::new(LiveRedactor::new());
        let inner = vault::Vault::new(
            // `HOME/vault` or the database's vault tables, shared with `trust secrets`.
            home.location.vault_store(),
            Arc::clone(&home.inner) as _,
            keyring,
        )
        .with_sink(sink(audit))
        .with_redactor(Arc::clone(&redactor));
        Ok(Self { inner, redactor })
    }

    /// Stores `value` as a new version of `name` (`tenant/name`); returns the version.
    #[napi]
    pub fn put(
        &self,
        actor: String,
        name: String,
        value: Either<String, Buffer>,
        options: Option<PutOptions>,
    ) -> Result<u32> {
        let value = secret(value);
        self.inner
            .put(
                &actor,
                &self::name(&name)?,
                value.expose_secret(),
                put_options(options)?,
            )
            .map_err(core)
    }

    /// As `put`, for an existing live secret.
    #[napi]
    pub fn rotate(
        &self,
        actor: String,
        name: String,
        value: Either<String, Buffer>,
        options: Option<PutOptions>,
    ) -> Result<u32> {
        let value = secret(value);
        self.inner
            .rotate(
                &actor,
                &self::name(&name)?,
                value.expose_secret(),
                put_options(options)?,
            )
            .map_err(core)
    }

    /// Reads `name` (or one `version`) for `actor`, stating `purpose` (written to the audit
    /// log: no personal data).
    #[napi]
    pub fn get(
        &self,
        actor: String,
        name: String,
        purpose: String,
        version: Option<u32>,
    ) -> Result<SecretValue> {
        let n = self::name(&name)?;
        let r = match version {
            Some(v) => self.inner.get_version(&actor, &n, v, &purpose),
            None => self.inner.get(&actor, &n, &purpose),
        }
        .map_err(core)?;
        Ok(reveal(&r))
    }

    /// Metadata of every secret (of `tenant`), never values.
    #[napi]
    pub fn list(&self, tenant: Option<String>) -> Result<Vec<SecretInfo>> {
        let all = self.inner.list(tenant.as_deref()).map_err(core)?;
        Ok(all.iter().map(info).collect())
    }

    /// Metadata of one secret.
    #[napi]
    pub fn info(&self, name: String) -> Result<SecretInfo> {
        Ok(info(&self.inner.info(&self::name(&name)?).map_err(core)?))
    }

    /// Whether `name`'s current version expires within `margin` seconds of `now`.
    #[napi]
    pub fn needs_refresh(&self, name: String, margin: i64, now: Option<i64>) -> Result<bool> {
        let now = now
            .map(from_unix)
            .transpose()?
            .unwrap_or_else(SystemTime::now);
        let i = self.inner.info(&self::name(&name)?).map_err(core)?;
        Ok(i.needs_refresh(now, seconds(margin, "margin")?))
    }

    /// Deletes `name` (a tombstone).
    #[napi]
    pub fn delete(&self, actor: String, name: String) -> Result<()> {
        self.inner.delete(&actor, &self::name(&name)?).map_err(core)
    }

    /// Commits a token fetched from the provider after `get` showed the current one expiring
    /// within `margin` seconds: re-reads the secret and stores `fresh` only if the current
    /// version still needs refreshing, with a compare-and-swap on that version; otherwise
    /// (another worker refreshed first) returns the winner's token.
    #[napi]
    pub fn commit_refresh(
        &self,
        actor: String,
        name: String,
        purpose: String,
        margin: i64,
        fresh: FreshToken,
    ) -> Result<RefreshResult> {
        let n = self::name(&name)?;
        let fresh = Refreshed::new(
            secret(fresh.value),
            fresh.refresh_token.map(secret),
            fresh.expires.map(from_unix).transpose()?,
        );
        let result = self
            .inner
            .refresh(&actor, &n, &purpose, seconds(margin, "margin")?, |_| {
                Ok::<_, std::convert::Infallible>(fresh)
            });
        match result {
            Ok((r, outcome)) => Ok(RefreshResult {
                secret: reveal(&r),
                outcome: match outcome {
                    RefreshOutcome::Refreshed => "refreshed",
                    _ => "took-winners",
                }
                .to_owned(),
            }),
            Err(RefreshError::Vault(e)) => Err(core(e)),
            Err(RefreshError::Refresher(never)) => match never {},
        }
    }

    /// `text` with every value this vault revealed (and known credential formats) replaced.
    #[napi]
    pub fn redact(&self, text: String) -> String {
        self.redactor.redactor().redact(&text).into_owned()
    }
}

/// Options of `Mfa.enroll`.
#[napi(object)]
pub struct EnrollOptionsJs {
    pub device: Option<String>,
    /// 6 (default) or 8.
    pub digits: Option<u32>,
    /// `sha1` (default), `sha256` or `sha512`.
    pub algorithm: Option<String>,
    /// Seconds per step (default 30).
    pub period: Option<u32>,
    /// An existing base32 secret (migration).
    pub secret: Option<String>,
}

/// TOTP second factors for a home's users (`HOME/mfa/users`, shared with `trust mfa`).
#[napi]
pub struct Mfa {
    inner: mfa::Mfa,
}

#[napi]
impl Mfa {
    #[napi(constructor)]
    pub fn new(
        home: &Home,
        issuer: Option<String>,
        keyring: Option<String>,
        audit: Option<&AuditLog>,
    ) -> Result<Self> {
        let keyring = keyring.unwrap_or_else(|| "mfa".to_owned());
        ensure_keyring(&home.inner, &keyring)?;
        let inner = mfa::Mfa::new(
            // `HOME/mfa/users` or the database's MFA tables, shared with `trust mfa`.
            home.location.mfa_store(),
            Arc::clone(&home.inner) as _,
            keyring,
        )
        .with_sink(sink(audit))
        .with_issuer(issuer.unwrap_or_else(|| "trust".to_owned()));
        Ok(Self { inner })
    }

    /// Enrolls a factor; returns the `otpauth://` URI to show once.
    #[napi]
    pub fn enroll(&self, user: String, options: Option<EnrollOptionsJs>) -> Result<String> {
        let o = options.unwrap_or(EnrollOptionsJs {
            device: None,
            digits: None,
            algorithm: None,
            period: None,
            secret: None,
        });
        let algorithm = Algorithm::parse(o.algorithm.as_deref().unwrap_or("sha1"))
            .ok_or_else(|| invalid("algorithm must be sha1, sha256 or sha512"))?;
        let digits =
            u8::try_from(o.digits.unwrap_or(6)).map_err(|_| invalid("digits must be 6 or 8"))?;
        let secret = o
            .secret
            .as_deref()
            .map(base32_decode)
            .transpose()
            .map_err(core)?;
        let options = EnrollOptions::new(
            TotpParams::new(algorithm, digits, o.period.unwrap_or(30)),
            secret,
        );
        let device = o.device.unwrap_or_else(|| mfa::DEFAULT_DEVICE.to_owned());
        let e = self.inner.enroll(&user, &device, options).map_err(core)?;
        Ok(e.uri.expose_secret().to_owned())
    }

    /// Checks `code` and burns its step; returns the step. Throws a `VerificationError`
    /// (`MFA_REJECTED`) for a wrong, expired or already used code.
    #[napi]
    pub fn verify(
        &self,
        user: String,
        code: String,
        device: Option<String>,
        now: Option<i64>,
    ) -> Result<i64> {
        let device = device.unwrap_or_else(|| mfa::DEFAULT_DEVICE.to_owned());
        let step = match now {
            Some(t) => self.inner.verify_at(&user, &device, &code, from_unix(t)?),
            None => self.inner.verify(&user, &device, &code),
        }
        .map_err(core)?;
        Ok(i64::try_from(step).unwrap_or(i64::MAX))
    }

    /// New single-use recovery codes (replacing the old ones).
    #[napi]
    pub fn recovery_codes(&self, user: String) -> Result<Vec<String>> {
        let codes = self.inner.new_recovery_codes(&user).map_err(core)?;
        Ok(codes.iter().map(|c| c.expose_secret().to_owned()).collect())
    }

    #[napi]
    pub fn redeem_recovery_code(&self, user: String, code: String) -> Result<()> {
        self.inner.redeem_recovery_code(&user, &code).map_err(core)
    }

    #[napi]
    pub fn remaining_recovery_codes(&self, user: String) -> Result<u32> {
        let n = self.inner.remaining_recovery_codes(&user).map_err(core)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    #[napi]
    pub fn is_enrolled(&self, user: String) -> Result<bool> {
        self.inner.is_enrolled(&user).map_err(core)
    }

    /// Removes every factor and recovery code; false when there was none.
    #[napi]
    pub fn remove(&self, user: String) -> Result<bool> {
        self.inner.remove(&user).map_err(core)
    }
}
