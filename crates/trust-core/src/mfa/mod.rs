//! Second factors for administrators: RFC 6238 TOTP with replay protection, and recovery codes.
//!
//! The common way to get TOTP wrong is to accept the same code twice: with ±1 step of clock
//! skew a code stays valid for about 90 seconds, so a code read over someone's shoulder (or
//! phished in real time) logs in a second time. [`Mfa`] closes that hole the way the RFC's
//! §5.2 asks: it stores the last accepted time step per user *and device* and accepts a code
//! only for a newer step, advancing the stored step with a compare-and-swap
//! ([`MfaStore::advance_step`]), so of two workers verifying the same code at once exactly one
//! succeeds.
//!
//! | you want to… | call |
//! |---|---|
//! | enroll a user (returns the `otpauth://` URI for the authenticator app) | [`Mfa::enroll`] |
//! | check a code at login or before a destructive command | [`Mfa::verify`] / [`Mfa::verify_at`] |
//! | issue single-use recovery codes (stored hashed) | [`Mfa::new_recovery_codes`] |
//! | log in with one of them | [`Mfa::redeem_recovery_code`] |
//! | remove a user's factors | [`Mfa::remove`] |
//!
//! ```
//! use std::sync::Arc;
//! use trust_core::envelope::StaticKeys;
//! use trust_core::provider::Suite;
//! use trust_core::mfa::{self, DirMfaStore, EnrollOptions, Mfa};
//! use trust_core::secret::{ExposeSecret, Key256};
//!
//! let dir = tempfile::tempdir()?;
//! let keys = Arc::new(StaticKeys::single("mfa", Suite::Aes256Gcm, Key256::generate()?));
//! let mfa = Mfa::new(Arc::new(DirMfaStore::new(dir.path())), keys, "mfa");
//!
//! let secret = mfa::base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
//! let mut options = EnrollOptions::default();
//! options.secret = Some(secret);
//! let enrollment = mfa.enroll("ops@acme.example", mfa::DEFAULT_DEVICE, options)?;
//! assert!(enrollment.uri.expose_secret().starts_with("otpauth://totp/"));
//!
//! let now = trust_core::clock::from_unix_seconds(59);
//! let code = mfa::code_at_step(b"12345678901234567890", &enrollment.params, 1);
//! assert_eq!(mfa.verify_at("ops@acme.example", mfa::DEFAULT_DEVICE, &code, now)?, 1);
//! // The same code again: refused, it was used.
//! assert!(mfa.verify_at("ops@acme.example", mfa::DEFAULT_DEVICE, &code, now).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What is checked, in order
//!
//! 1. The rate limiter ([`crate::ratelimit`]): by default 5 attempts per user per 30 seconds,
//!    successful ones included, so six guesses at a 6-digit code take a minute, not a
//!    millisecond. The in-memory limiter is per process; a fleet shares one by passing its
//!    own [`RateLimiter`] (the Redis limiter) to [`Mfa::with_limiter`].
//! 2. The factor is loaded and its secret opened (sealed under the keyring with the context
//!    `purpose=trust.mfa, user, device`, so a sealed secret copied to another user does not open).
//! 3. The code is compared, in constant time, with the codes of the steps `now+1`, `now`,
//!    `now-1`; all three comparisons always run. The newest matching step greater than the
//!    stored last step wins (a 6-digit code can match two adjacent steps; taking the newest
//!    burns both).
//! 4. The step is advanced by compare-and-swap; losing the race is a rejection.
//!
//! Every outcome is one opaque [`MfaError::Rejected`]: wrong, expired and already used are
//! indistinguishable to the caller, as they should be to an attacker. Each attempt is recorded
//! as an [`Event`] (`mfa.verify`, with `outcome`), the user as the actor.
//!
//! ## Recovery codes
//!
//! Ten codes of 16 characters from Crockford's base32 alphabet (80 bits each), shown once and
//! stored as SHA-256 hashes bound to the user. With 80 bits of entropy a fast hash is enough:
//! brute force of one code costs 2^79 hashes on average, so no password hash is needed.

pub(crate) mod store;
pub(crate) mod totp;

#[cfg(test)]
mod tests;

use core::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub use store::{
    DirMfaStore, Factor, MAX_DEVICES, MAX_RECOVERY_CODES, MAX_USER_FILE, MfaStore, MfaStoreError,
};
pub use totp::{
    Algorithm, MAX_SECRET_LEN, MAX_SECRET_TEXT, MIN_SECRET_LEN, TotpParams, base32_decode,
    base32_encode, code_at_step, hotp, otpauth_uri,
};

use crate::clock::{Clock, SystemClock, unix_seconds};
use crate::envelope::{self, Context, EnvelopeError};
use crate::error::{Category, TrustError};
use crate::event::{Event, EventError, EventSink, NoSink};
use crate::provider::KeyProvider;
use crate::ratelimit::{MemoryLimiter, Quota, RateLimitError, RateLimiter};
use crate::secret::{SecretString, ct_eq, fill_random};

/// The device name used when an app has one factor per user.
pub const DEFAULT_DEVICE: &str = "default";
/// Longest user or device identifier.
pub const MAX_ID_LEN: usize = 128;
/// Recovery codes issued by [`Mfa::new_recovery_codes`].
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Characters per recovery code (without the dashes).
const RECOVERY_CODE_LEN: usize = 16;
/// Crockford's base32: no I, L, O or U, so codes survive being read aloud or written down.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// True for a user or device identifier this module accepts: 1 to 128 bytes of printable,
/// non-space characters (an email, a UUID, an operator name).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.chars().all(|c| !c.is_control() && c != ' ')
}

/// How to enroll a factor.
#[derive(Default)]
#[non_exhaustive]
pub struct EnrollOptions {
    /// Algorithm, digits, period.
    pub params: TotpParams,
    /// An existing secret (migrating from another system); `None` generates one of
    /// [`Algorithm::secret_len`] bytes.
    pub secret: Option<Zeroizing<Vec<u8>>>,
}

impl EnrollOptions {
    /// A factor with `params`, over `secret` when migrating one (`None`: a fresh secret).
    pub fn new(params: TotpParams, secret: Option<Zeroizing<Vec<u8>>>) -> Self {
        Self { params, secret }
    }
}

impl fmt::Debug for EnrollOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollOptions")
            .field("params", &self.params)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The result of an enrollment: what to show the user once.
#[derive(Debug)]
#[non_exhaustive]
pub struct Enrollment {
    /// The `otpauth://` URI (holds the secret: show it once, as text or a QR code).
    pub uri: SecretString,
    /// The factor's parameters.
    pub params: TotpParams,
}

/// Enrollment, verification and recovery codes over an [`MfaStore`].
pub struct Mfa {
    store: Arc<dyn MfaStore>,
    keys: Arc<dyn KeyProvider>,
    keyring: String,
    sink: Arc<dyn EventSink>,
    limiter: Arc<dyn RateLimiter>,
    clock: Arc<dyn Clock>,
    issuer: String,
}

impl fmt::Debug for Mfa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mfa")
            .field("keyring", &self.keyring)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// The default attempt budget: 5 per user per 30 seconds.
fn default_limiter() -> Arc<dyn RateLimiter> {
    let quota = Quota::per(5, Duration::from_secs(30))
        .unwrap_or_else(|_| unreachable!("5 per 30 s is a valid quota"));
    Arc::new(MemoryLimiter::new(quota, SystemClock))
}

impl Mfa {
    /// Factors in `store`, secrets sealed under `keyring` of `keys` (the home).
    pub fn new(
        store: Arc<dyn MfaStore>,
        keys: Arc<dyn KeyProvider>,
        keyring: impl Into<String>,
    ) -> Self {
        Self {
            store,
            keys,
            keyring: keyring.into(),
            sink: Arc::new(NoSink),
            limiter: default_limiter(),
            clock: Arc::new(SystemClock),
            issuer: "trust".into(),
        }
    }

    /// Records every enrollment, verification and removal to `sink` (the audit log).
    #[must_use]
    pub fn with_sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sink = sink;
        self
    }

    /// Limits attempts with `limiter` (shared across workers), keyed `("mfa", user)`.
    #[must_use]
    pub fn with_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = limiter;
        self
    }

    /// Takes time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The issuer shown in authenticator apps (default `trust`).
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    fn context(user: &str, device: &str) -> Result<Context, MfaError> {
        Ok(Context::new()
            .with("purpose", "trust.mfa")?
            .with("user", user)?
            .with("device", device)?)
    }

    fn check_ids(user: &str, device: &str) -> Result<(), MfaError> {
        if !is_valid_id(user) || !is_valid_id(device) {
            return Err(MfaError::InvalidId);
        }
        Ok(())
    }

    fn record(&self, event: Event) -> Result<(), MfaError> {
        self.sink.record(&event).map_err(MfaError::Audit)
    }

    /// Enrolls a new factor for (user, device) and returns its `otpauth://` URI.
    ///
    /// # Errors
    /// [`MfaError::InvalidId`], [`MfaError::InvalidParams`], [`MfaError::InvalidSecret`],
    /// [`MfaError::AlreadyEnrolled`], sealing and storage failures.
    pub fn enroll(
        &self,
        user: &str,
        device: &str,
        options: EnrollOptions,
    ) -> Result<Enrollment, MfaError> {
        Self::check_ids(user, device)?;
        options.params.validate()?;
        let secret = match options.secret {
            Some(s) => {
                if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&s.len()) {
                    return Err(MfaError::InvalidSecret(
                        "the secret must be 16 to 128 bytes",
                    ));
                }
                s
            }
            None => {
                let mut s = Zeroizing::new(vec![0u8; options.params.algorithm.secret_len()]);
                fill_random(&mut s).map_err(|_| MfaError::Random)?;
                s
            }
        };
        let sealed = envelope::seal_token(
            &*self.keys,
            &self.keyring,
            &Self::context(user, device)?,
            &secret,
        )?;
        let now = self.clock.now();
        let factor = Factor {
            params: options.params,
            sealed_secret: sealed,
            last_step: None,
            created: unix_seconds(now),
        };
        self.store
            .create_factor(user, device, &factor)
            .map_err(|e| match e {
                MfaStoreError::AlreadyExists => MfaError::AlreadyEnrolled,
                e => MfaError::Store(e),
            })?;
        self.record(
            Event::new("mfa.enroll", now)
                .actor(user)
                .attr("device", device)
                .attr("algorithm", options.params.algorithm.name())
                .attr("digits", options.params.digits),
        )?;
        Ok(Enrollment {
            uri: otpauth_uri(&self.issuer, user, &secret, &options.params),
            params: options.params,
        })
    }

    /// Whether the user has any factor enrolled.
    ///
    /// # Errors
    /// Storage failures.
    pub fn is_enrolled(&self, user: &str) -> Result<bool, MfaError> {
        Ok(!self.store.devices(user)?.is_empty())
    }

    /// The user's enrolled devices.
    ///
    /// # Errors
    /// Storage failures.
    pub fn devices(&self, user: &str) -> Result<Vec<String>, MfaError> {
        Ok(self.store.devices(user)?)
    }

    /// [`Mfa::verify_at`] at the clock's current time.
    ///
    /// # Errors
    /// As [`Mfa::verify_at`].
    pub fn verify(&self, user: &str, device: &str, code: &str) -> Result<u64, MfaError> {
        self.verify_at(user, device, code, self.clock.now())
    }

    /// Checks `code` for (user, device) at `now` and, if it is accepted, burns its step.
    /// Returns the accepted time step.
    ///
    /// # Errors
    /// [`MfaError::Rejected`] for a wrong, expired, already used or malformed code;
    /// [`MfaError::RateLimited`]; [`MfaError::NotEnrolled`]; storage and key failures.
    pub fn verify_at(
        &self,
        user: &str,
        device: &str,
        code: &str,
        now: SystemTime,
    ) -> Result<u64, MfaError> {
        Self::check_ids(user, device)?;
        self.limiter.check("mfa", user, 1).map_err(|e| match e {
            RateLimitError::Limited { retry_after } => MfaError::RateLimited { retry_after },
            e => MfaError::Limiter(e),
        })?;
        let outcome = self.try_verify(user, device, code, now);
        let label = match &outcome {
            Ok(_) => "accepted",
            Err(MfaError::Rejected) => "rejected",
            Err(_) => "error",
        };
        let mut event = Event::new("mfa.verify", self.clock.now())
            .actor(user)
            .attr("device", device)
            .attr("outcome", label);
        if let Ok(step) = &outcome {
            event = event.attr("step", step);
        }
        self.record(event)?;
        outcome
    }

    fn try_verify(
        &self,
        user: &str,
        device: &str,
        code: &str,
        now: SystemTime,
    ) -> Result<u64, MfaError> {
        let factor = self
            .store
            .factor(user, device)?
            .ok_or(MfaError::NotEnrolled)?;
        let params = factor.params;
        let code = code.trim();
        if code.len() != usize::from(params.digits) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MfaError::Rejected);
        }
        let secret = envelope::open_token(
            &*self.keys,
            &Self::context(user, device)?,
            &factor.sealed_secret,
        )?;
        let current = params
            .step_at(unix_seconds(now))
            .ok_or(MfaError::Rejected)?;
        // All three candidates are computed and compared; the newest match above the stored
        // step wins (a code can match two adjacent steps).
        let mut accepted: Option<u64> = None;
        for step in [
            current.saturating_sub(1),
            current,
            current.saturating_add(1),
        ] {
            let candidate = code_at_step(&secret, &params, step);
            let matches = ct_eq(candidate.as_bytes(), code.as_bytes());
            let fresh = factor.last_step.is_none_or(|last| step > last);
            if matches && fresh {
                accepted = Some(step);
            }
        }
        let step = accepted.ok_or(MfaError::Rejected)?;
        match self.store.advance_step(user, device, step) {
            Ok(true) => Ok(step),
            Ok(false) => Err(MfaError::Rejected),
            Err(MfaStoreError::NotFound) => Err(MfaError::NotEnrolled),
            Err(e) => Err(MfaError::Store(e)),
        }
    }

    /// Replaces the user's recovery codes with [`RECOVERY_CODE_COUNT`] new ones and returns
    /// them (formatted `XXXX-XXXX-XXXX-XXXX`); only their hashes are stored.
    ///
    /// # Errors
    /// [`MfaError::NotEnrolled`] when the user has no factor; storage failures.
    pub fn new_recovery_codes(&self, user: &str) -> Result<Vec<SecretString>, MfaError> {
        Self::check_ids(user, DEFAULT_DEVICE)?;
        if !self.is_enrolled(user)? {
            return Err(MfaError::NotEnrolled);
        }
        let mut codes = Vec::with_capacity(RECOVERY_CODE_COUNT);
        let mut hashes = Vec::with_capacity(RECOVERY_CODE_COUNT);
        for _ in 0..RECOVERY_CODE_COUNT {
            let mut raw = Zeroizing::new([0u8; RECOVERY_CODE_LEN]);
            fill_random(&mut *raw).map_err(|_| MfaError::Random)?;
            let chars: Zeroizing<Vec<u8>> =
                Zeroizing::new(raw.iter().map(|b| CROCKFORD[usize::from(b & 31)]).collect());
            hashes.push(recovery_hash(user, &chars));
            let mut text = String::with_capacity(RECOVERY_CODE_LEN + 3);
            for (i, c) in chars.iter().enumerate() {
                if i > 0 && i % 4 == 0 {
                    text.push('-');
                }
                text.push(char::from(*c));
            }
            codes.push(SecretString::from(text));
        }
        self.store.replace_recovery_codes(user, &hashes)?;
        self.record(
            Event::new("mfa.recovery_codes", self.clock.now())
                .actor(user)
                .attr("count", RECOVERY_CODE_COUNT),
        )?;
        Ok(codes)
    }

    /// Accepts a recovery code once: the code is spent whether or not the caller's login then
    /// succeeds.
    ///
    /// # Errors
    /// [`MfaError::Rejected`] for an unknown, malformed or used code; rate limiting as
    /// [`Mfa::verify_at`]; storage failures.
    pub fn redeem_recovery_code(&self, user: &str, code: &str) -> Result<(), MfaError> {
        Self::check_ids(user, DEFAULT_DEVICE)?;
        self.limiter.check("mfa", user, 1).map_err(|e| match e {
            RateLimitError::Limited { retry_after } => MfaError::RateLimited { retry_after },
            e => MfaError::Limiter(e),
        })?;
        let outcome = match normalize_recovery_code(code) {
            Some(chars) => {
                if self
                    .store
                    .consume_recovery_code(user, &recovery_hash(user, &chars))?
                {
                    Ok(())
                } else {
                    Err(MfaError::Rejected)
                }
            }
            None => Err(MfaError::Rejected),
        };
        self.record(
            Event::new("mfa.recovery_code", self.clock.now())
                .actor(user)
                .attr(
                    "outcome",
                    if outcome.is_ok() {
                        "accepted"
                    } else {
                        "rejected"
                    },
                ),
        )?;
        outcome
    }

    /// Unused recovery codes left.
    ///
    /// # Errors
    /// Storage failures.
    pub fn remaining_recovery_codes(&self, user: &str) -> Result<usize, MfaError> {
        Ok(self.store.remaining_recovery_codes(user)?)
    }

    /// Removes every factor and recovery code of the user; `false` when there was none.
    ///
    /// # Errors
    /// Storage failures.
    pub fn remove(&self, user: &str) -> Result<bool, MfaError> {
        Self::check_ids(user, DEFAULT_DEVICE)?;
        let removed = self.store.remove_user(user)?;
        if removed {
            self.record(Event::new("mfa.remove", self.clock.now()).actor(user))?;
        }
        Ok(removed)
    }
}

/// Uppercases, drops dashes and spaces, maps Crockford's look-alikes (O→0, I/L→1); `None`
/// unless exactly 16 characters of the alphabet remain.
fn normalize_recovery_code(code: &str) -> Option<Zeroizing<Vec<u8>>> {
    if code.len() > 64 {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(RECOVERY_CODE_LEN));
    for b in code.trim().bytes() {
        let c = match b.to_ascii_uppercase() {
            b'-' | b' ' => continue,
            b'O' => b'0',
            b'I' | b'L' => b'1',
            c if CROCKFORD.contains(&c) => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == RECOVERY_CODE_LEN).then_some(out)
}

fn recovery_hash(user: &str, chars: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"trust.mfa.recovery.v1\0");
    h.update((user.len() as u64).to_be_bytes());
    h.update(user.as_bytes());
    h.update(chars);
    h.finalize().into()
}

/// Why enrollment or verification failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum MfaError {
    /// The code was wrong, expired, already used or malformed (one answer for all).
    Rejected,
    /// Too many attempts; retry after this long.
    RateLimited {
        /// The wait before the next attempt is admitted.
        retry_after: Duration,
    },
    /// The user (or device) has no factor.
    NotEnrolled,
    /// The (user, device) already has a factor: remove it first.
    AlreadyEnrolled,
    /// A user or device identifier is empty, too long, or has spaces or control characters.
    InvalidId,
    /// Digits or period out of range.
    InvalidParams(&'static str),
    /// A supplied secret is not valid base32 or has the wrong length.
    InvalidSecret(&'static str),
    /// The rate limiter is misconfigured or failed.
    Limiter(RateLimitError),
    /// Sealing or opening the secret failed.
    Envelope(EnvelopeError),
    /// The store failed.
    Store(MfaStoreError),
    /// The audit event could not be recorded.
    Audit(EventError),
    /// The OS random number generator failed.
    Random,
}

impl fmt::Display for MfaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected => f.write_str("the code was rejected (wrong, expired or already used)"),
            Self::RateLimited { retry_after } => write!(
                f,
                "too many attempts: retry after {} s",
                retry_after.as_secs().max(1)
            ),
            Self::NotEnrolled => f.write_str("no second factor is enrolled for this user"),
            Self::AlreadyEnrolled => {
                f.write_str("this user already has a second factor on this device")
            }
            Self::InvalidId => f.write_str(
                "invalid user or device id (1 to 128 characters, no spaces or control characters)",
            ),
            Self::InvalidParams(why) | Self::InvalidSecret(why) => f.write_str(why),
            Self::Limiter(e) => write!(f, "{e}"),
            Self::Envelope(e) => write!(f, "{e}"),
            Self::Store(e) => write!(f, "{e}"),
            Self::Audit(e) => write!(f, "{e}"),
            Self::Random => f.write_str("the operating system's random number generator failed"),
        }
    }
}

impl std::error::Error for MfaError {}

impl From<EnvelopeError> for MfaError {
    fn from(e: EnvelopeError) -> Self {
        Self::Envelope(e)
    }
}

impl From<MfaStoreError> for MfaError {
    fn from(e: MfaStoreError) -> Self {
        Self::Store(e)
    }
}

impl TrustError for MfaError {
    fn category(&self) -> Category {
        match self {
            Self::Rejected => Category::Verification,
            Self::RateLimited { .. } => Category::Refused,
            Self::NotEnrolled => Category::KeyUnavailable,
            Self::AlreadyEnrolled
            | Self::InvalidId
            | Self::InvalidParams(_)
            | Self::InvalidSecret(_) => Category::Usage,
            Self::Limiter(e) => e.category(),
            Self::Envelope(e) => e.category(),
            Self::Store(e) => e.category(),
            Self::Audit(e) => e.category(),
            Self::Random => Category::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Rejected => "MFA_REJECTED",
            Self::RateLimited { .. } => "MFA_RATE_LIMITED",
            Self::NotEnrolled => "MFA_NOT_ENROLLED",
            Self::AlreadyEnrolled => "MFA_ALREADY_ENROLLED",
            Self::InvalidId => "MFA_INVALID_ID",
            Self::InvalidParams(_) => "MFA_INVALID_PARAMS",
            Self::InvalidSecret(_) => "MFA_INVALID_SECRET",
            Self::Limiter(e) => e.code(),
            Self::Envelope(e) => e.code(),
            Self::Store(e) => e.code(),
            Self::Audit(e) => e.code(),
            Self::Random => "RANDOM_FAILED",
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Rejected => Some("wait for the next code from the authenticator app"),
            Self::AlreadyEnrolled => Some("remove the existing factor first"),
            Self::NotEnrolled => Some("enroll the user first"),
            Self::Envelope(e) => e.hint(),
            _ => None,
        }
    }
}
