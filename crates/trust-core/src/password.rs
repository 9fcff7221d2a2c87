//! Password hashing: argon2id in PHC strings, an optional versioned pepper, and a way off bcrypt.
//!
//! A connector app that has its own login (an admin console, a merchant dashboard) stores one
//! string per user and asks two questions of it: *does this password match?* and *should I
//! store a fresh hash now that I know the password?* [`PasswordHasher`] answers both.
//!
//! ```
//! use trust_core::password::{PasswordHasher, Verified};
//!
//! let hasher = PasswordHasher::new(); // argon2id, OWASP parameters
//! # let hasher = PasswordHasher::with_params(trust_core::password::Argon2Params::new(1024, 1, 1)?);
//! let stored = hasher.hash("correct horse battery staple")?;
//! assert!(stored.starts_with("$argon2id$v=19$"));
//!
//! match hasher.verify_and_upgrade("correct horse battery staple", &stored)? {
//!     Verified::Match { rehash: None } => { /* log in */ }
//!     Verified::Match { rehash: Some(new) } => { /* log in, then store `new` */ drop(new); }
//!     Verified::Mismatch => unreachable!(),
//! }
//! # Ok::<(), trust_core::password::PasswordError>(())
//! ```
//!
//! ## Decisions
//!
//! * **Algorithm and parameters.** argon2id, version 0x13, `m = 19456 KiB, t = 2, p = 1`, a
//!   16-byte random salt and a 32-byte tag: the first configuration of the OWASP Password
//!   Storage Cheat Sheet. Hashes are PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) that
//!   the reference implementation (`argon2-cffi`, the `argon2` CLI) reads unchanged.
//! * **Pepper.** Optional. A 32-byte key held *outside* the database (an env variable, a KMS),
//!   so a stolen database alone cannot be brute-forced. The password is replaced by
//!   `HMAC-SHA-256(pepper, password)` before argon2id, and the pepper's version is written into
//!   the PHC parameters as `pepper=N` (e.g. `m=19456,t=2,p=1,pepper=3`). Several versions can be
//!   loaded at once; the newest is used for new hashes and [`PasswordHasher::needs_rehash`]
//!   reports hashes made under an older one, so a pepper rotates at each user's next login.
//!   A peppered string does not verify in other argon2 implementations, by design.
//! * **Length bounds.** New passwords need at least [`MIN_PASSWORD_CHARS`] characters (NIST SP
//!   800-63B); every password is at most [`MAX_PASSWORD_BYTES`] bytes, so a megabyte "password"
//!   cannot be used to make a login slow.
//! * **Constant time and unknown users.** Tags are compared with [`ct_eq`]. For a login name
//!   that does not exist, [`PasswordHasher::verify_unknown_user`] runs argon2id with the current
//!   parameters on a dummy hash, so "no such user" costs as much as "wrong password".
//! * **bcrypt.** `$2a$`, `$2b$` and `$2y$` hashes verify (with bcrypt's own 72-byte truncation,
//!   which is what made them) and always need a rehash: [`PasswordHasher::verify_and_upgrade`]
//!   returns the argon2id replacement on the first successful login. New bcrypt hashes are
//!   never made. `$2x$` (the crypt_blowfish bug-compatibility mode) is refused.

use core::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Category, RandomError, TrustError};
use crate::secret::{Key256, ct_eq, fill_random};

/// Fewest characters (Unicode scalar values) a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most bytes any password may have (hashing and verification).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest stored hash string accepted by the parser.
pub const MAX_HASH_LEN: usize = 256;

const SALT_LEN: usize = 16;
const TAG_LEN: usize = 32;
const MIN_SALT: usize = 8;
const MAX_SALT: usize = 64;
const MIN_TAG: usize = 16;
const MAX_TAG: usize = 64;
/// Bounds on parameters read from a stored string, so a planted hash cannot take minutes or
/// gigabytes to verify.
const MAX_M_KIB: u32 = 1 << 20;
const MAX_T: u32 = 64;
const MAX_P: u32 = 16;
/// bcrypt costs above this are refused when verifying (cost 18 ≈ 20 s on a laptop).
const MAX_BCRYPT_COST: u32 = 18;

/// argon2 cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    m_kib: u32,
    t: u32,
    p: u32,
}

impl Argon2Params {
    /// OWASP Password Storage Cheat Sheet, argon2id: 19 MiB, 2 iterations, 1 lane.
    pub const OWASP: Self = Self {
        m_kib: 19_456,
        t: 2,
        p: 1,
    };

    /// Custom parameters: memory in KiB, iterations, lanes.
    ///
    /// # Errors
    /// [`PasswordError::BadParams`] outside argon2's limits (`m ≥ 8·p`, `t ≥ 1`, `1 ≤ p`) or
    /// this module's bounds (`m ≤ 1 GiB`, `t ≤ 64`, `p ≤ 16`).
    pub fn new(m_kib: u32, t: u32, p: u32) -> Result<Self, PasswordError> {
        let ok = (1..=MAX_P).contains(&p)
            && (1..=MAX_T).contains(&t)
            && m_kib <= MAX_M_KIB
            && m_kib >= 8 * p;
        if ok {
            Ok(Self { m_kib, t, p })
        } else {
            Err(PasswordError::BadParams)
        }
    }

    /// Memory cost in KiB.
    pub const fn m_kib(self) -> u32 {
        self.m_kib
    }
    /// Number of passes.
    pub const fn t(self) -> u32 {
        self.t
    }
    /// Degree of parallelism (lanes).
    pub const fn p(self) -> u32 {
        self.p
    }
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::OWASP
    }
}

/// The result of checking a password against a stored hash.
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub enum Verified {
    /// The password is wrong.
    Mismatch,
    /// The password is right.
    Match {
        /// A fresh argon2id hash under the current parameters and pepper, when the stored one is
        /// outdated (bcrypt, weaker parameters, older pepper): store it in place of the old one.
        rehash: Option<String>,
    },
}

impl Verified {
    /// True for [`Verified::Match`].
    pub fn is_match(&self) -> bool {
        matches!(self, Self::Match { .. })
    }
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mismatch => f.write_str("Mismatch"),
            Self::Match { rehash } => write!(f, "Match {{ rehash: {} }}", rehash.is_some()),
        }
    }
}

/// Hashes and verifies passwords under one policy (parameters + peppers).
///
/// Cheap to share (`&self` everywhere); build one at start-up.
pub struct PasswordHasher {
    params: Argon2Params,
    /// (version, key), newest last; the last one peppers new hashes.
    peppers: Vec<(u32, Key256)>,
    /// A well-formed hash of a random password under `params` and the current pepper, checked
    /// by `verify_unknown_user` so that unknown users cost what known ones do.
    dummy: String,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .field(
                "pepper_versions",
                &self.peppers.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordHasher {
    /// argon2id with [`Argon2Params::OWASP`], no pepper.
    pub fn new() -> Self {
        Self::with_params(Argon2Params::OWASP)
    }

    /// argon2id with `params`, no pepper.
    pub fn with_params(params: Argon2Params) -> Self {
        let mut hasher = Self {
            params,
            peppers: Vec::new(),
            dummy: String::new(),
        };
        hasher.refresh_dummy();
        hasher
    }

    /// Adds pepper `version` (a 32-byte key held outside the database). The highest version
    /// loaded peppers new hashes; lower ones still verify (and report [`Self::needs_rehash`]).
    /// Adding a version twice replaces its key.
    #[must_use]
    pub fn with_pepper(mut self, version: u32, key: Key256) -> Self {
        self.peppers.retain(|(v, _)| *v != version);
        self.peppers.push((version, key));
        self.peppers.sort_by_key(|(v, _)| *v);
        self.refresh_dummy();
        self
    }

    /// The parameters new hashes use.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// The pepper version new hashes use, if any.
    pub fn current_pepper(&self) -> Option<u32> {
        self.peppers.last().map(|(v, _)| *v)
    }

    fn refresh_dummy(&mut self) {
        // A random, never-revealed password: verification against it always fails, after the
        // same argon2id work as a real check. If the RNG fails here, the all-zero salt still
        // gives a hash of the right cost; it is never used to protect anything.
        let mut pw = Zeroizing::new([0u8; 24]);
        let _ = fill_random(&mut pw[..]);
        let mut salt = [0u8; SALT_LEN];
        let _ = fill_random(&mut salt);
        let pw_text = Zeroizing::new(base64_std(&pw[..]));
        self.dummy = self
            .hash_with_salt(&pw_text, &salt)
            .unwrap_or_else(|_| String::new());
    }

    /// Hashes a new password into a PHC string.
    ///
    /// # Errors
    /// [`PasswordError::TooShort`], [`PasswordError::TooLong`], or [`PasswordError::Random`].
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort);
        }
        let mut salt = [0u8; SALT_LEN];
        fill_random(&mut salt)?;
        self.hash_with_salt(password, &salt)
    }

    /// Hashes with a caller-chosen salt, for known-answer tests only (no length minimum).
    #[doc(hidden)]
    pub fn hash_with_salt(&self, password: &str, salt: &[u8]) -> Result<String, PasswordError> {
        check_max(password)?;
        let pepper = self.peppers.last();
        let input = prepare(password, pepper.map(|(_, k)| k));
        let mut tag = Zeroizing::new([0u8; TAG_LEN]);
        raw(
            argon2::Algorithm::Argon2id,
            self.params,
            &input,
            salt,
            &mut tag[..],
        )?;
        let phc = Phc {
            alg: argon2::Algorithm::Argon2id,
            params: self.params,
            pepper: pepper.map(|(v, _)| *v),
            salt: salt.to_vec(),
            tag: tag.to_vec(),
        };
        Ok(phc.to_string())
    }

    /// Checks `password` against `stored` (argon2 PHC or bcrypt).
    ///
    /// # Errors
    /// [`PasswordError::TooLong`], [`PasswordError::Malformed`] for a string that is not a hash
    /// this module reads, [`PasswordError::UnknownPepper`] when the hash names a pepper version
    /// that is not loaded.
    pub fn verify(&self, password: &str, stored: &str) -> Result<bool, PasswordError> {
        check_max(password)?;
        match Stored::parse(stored)? {
            Stored::Argon2(phc) => self.verify_phc(password, &phc),
            Stored::Bcrypt => verify_bcrypt(password, stored),
        }
    }

    /// [`Self::verify`], plus a replacement hash when the stored one is outdated. The
    /// replacement is only computed after a successful match, so it costs nothing on failures.
    ///
    /// # Errors
    /// As [`Self::verify`]; [`PasswordError::Random`] if the replacement's salt cannot be drawn.
    pub fn verify_and_upgrade(
        &self,
        password: &str,
        stored: &str,
    ) -> Result<Verified, PasswordError> {
        if !self.verify(password, stored)? {
            return Ok(Verified::Mismatch);
        }
        let rehash = if self.needs_rehash(stored) {
            // No minimum length here: the user's existing password is what it is; forcing a
            // change is the app's decision, not a reason to keep the weak hash.
            let mut salt = [0u8; SALT_LEN];
            fill_random(&mut salt)?;
            Some(self.hash_with_salt(password, &salt)?)
        } else {
            None
        };
        Ok(Verified::Match { rehash })
    }

    /// Spends the cost of one verification and returns `false`. Call it when the login name is
    /// unknown, so response time does not reveal which accounts exist.
    pub fn verify_unknown_user(&self, password: &str) -> bool {
        // Password too long: the real path returns TooLong before any hashing too.
        if check_max(password).is_err() {
            return false;
        }
        let _ = self.verify(password, &self.dummy);
        false
    }

    /// True when `stored` should be replaced at the next successful login: bcrypt, argon2i/d,
    /// other parameters than the current ones, another (or no) pepper, or an unreadable string.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        match Stored::parse(stored) {
            Ok(Stored::Argon2(phc)) => {
                phc.alg != argon2::Algorithm::Argon2id
                    || phc.params != self.params
                    || phc.pepper != self.current_pepper()
                    || phc.salt.len() < SALT_LEN
                    || phc.tag.len() != TAG_LEN
            }
            _ => true,
        }
    }

    fn verify_phc(&self, password: &str, phc: &Phc) -> Result<bool, PasswordError> {
        let pepper = match phc.pepper {
            None => None,
            Some(version) => Some(
                self.peppers
                    .iter()
                    .find(|(v, _)| *v == version)
                    .map(|(_, k)| k)
                    .ok_or(PasswordError::UnknownPepper { version })?,
            ),
        };
        let input = prepare(password, pepper);
        let mut tag = Zeroizing::new(vec![0u8; phc.tag.len()]);
        raw(phc.alg, phc.params, &input, &phc.salt, &mut tag)?;
        Ok(ct_eq(&tag, &phc.tag))
    }
}

fn check_max(password: &str) -> Result<(), PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// The bytes argon2 sees: the password itself, or HMAC-SHA-256(pepper, password).
fn prepare(password: &str, pepper: Option<&Key256>) -> Zeroizing<Vec<u8>> {
    match pepper {
        None => Zeroizing::new(password.as_bytes().to_vec()),
        Some(key) => {
            let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key.expose()) {
                Ok(mac) => mac,
                // HMAC takes keys of any length.
                Err(_) => unreachable!("HMAC accepts a 32-byte key"),
            };
            mac.update(password.as_bytes());
            Zeroizing::new(mac.finalize().into_bytes().to_vec())
        }
    }
}

/// The argon2 engine call every hash and verification goes through.
fn raw(
    alg: argon2::Algorithm,
    params: Argon2Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), PasswordError> {
    let p = argon2::Params::new(params.m_kib, params.t, params.p, Some(out.len()))
        .map_err(|_| PasswordError::BadParams)?;
    argon2::Argon2::new(alg, argon2::Version::V0x13, p)
        .hash_password_into(password, salt, out)
        .map_err(|_| PasswordError::BadParams)
}

fn verify_bcrypt(password: &str, stored: &str) -> Result<bool, PasswordError> {
    // bcrypt::verify truncates at 72 bytes, exactly as the legacy hasher did; checking the
    // legacy hash the way it was made is the only way to verify it.
    bcrypt::verify(password.as_bytes(), stored).map_err(|_| PasswordError::Malformed)
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

enum Stored {
    Argon2(Phc),
    Bcrypt,
}

impl Stored {
    fn parse(s: &str) -> Result<Self, PasswordError> {
        if s.len() > MAX_HASH_LEN {
            return Err(PasswordError::Malformed);
        }
        if s.starts_with("$2a$") || s.starts_with("$2b$") || s.starts_with("$2y$") {
            check_bcrypt(s)?;
            return Ok(Self::Bcrypt);
        }
        Phc::parse(s).map(Self::Argon2)
    }
}

/// Structural check of `$2?$NN$` + 53 bcrypt-base64 characters, and the cost bound.
fn check_bcrypt(s: &str) -> Result<(), PasswordError> {
    let b = s.as_bytes();
    if b.len() != 60 || b[6] != b'$' {
        return Err(PasswordError::Malformed);
    }
    let cost = parse_decimal_fixed(&b[4..6]).ok_or(PasswordError::Malformed)?;
    if !(4..=31).contains(&cost) {
        return Err(PasswordError::Malformed);
    }
    if cost > MAX_BCRYPT_COST {
        return Err(PasswordError::BadParams);
    }
    let alphabet_ok = b[7..]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'/');
    if alphabet_ok {
        Ok(())
    } else {
        Err(PasswordError::Malformed)
    }
}

fn parse_decimal_fixed(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, d| {
        d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
    })
}

/// A parsed argon2 PHC string.
#[derive(Debug, PartialEq, Eq)]
struct Phc {
    alg: argon2::Algorithm,
    params: Argon2Params,
    pepper: Option<u32>,
    salt: Vec<u8>,
    tag: Vec<u8>,
}

impl Phc {
    /// Strict parse of `$argon2{id,i,d}$v=19$m=M,t=T,p=P[,pepper=N]$SALT$HASH`: parameters in
    /// this order, canonical decimals, canonical unpadded standard base64.
    fn parse(s: &str) -> Result<Self, PasswordError> {
        let mut parts = s.split('$');
        let bad = || PasswordError::Malformed;
        if parts.next() != Some("") {
            return Err(bad());
        }
        let alg = match parts.next() {
            Some("argon2id") => argon2::Algorithm::Argon2id,
            Some("argon2i") => argon2::Algorithm::Argon2i,
            Some("argon2d") => argon2::Algorithm::Argon2d,
            _ => return Err(bad()),
        };
        if parts.next() != Some("v=19") {
            return Err(bad());
        }
        let params = parts.next().ok_or_else(bad)?;
        let salt = decode_b64(parts.next().ok_or_else(bad)?)?;
        let tag = decode_b64(parts.next().ok_or_else(bad)?)?;
        if parts.next().is_some()
            || !(MIN_SALT..=MAX_SALT).contains(&salt.len())
            || !(MIN_TAG..=MAX_TAG).contains(&tag.len())
        {
            return Err(bad());
        }
        let mut fields = params.split(',');
        let mut field = |name: &str| -> Result<u32, PasswordError> {
            let f = fields.next().ok_or_else(bad)?;
            let value = f
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix('='))
                .ok_or_else(bad)?;
            parse_decimal(value).ok_or_else(bad)
        };
        let (m, t, p) = (field("m")?, field("t")?, field("p")?);
        let pepper = match fields.next() {
            None => None,
            Some(f) => Some(
                f.strip_prefix("pepper=")
                    .and_then(parse_decimal)
                    .ok_or_else(bad)?,
            ),
        };
        if fields.next().is_some() {
            return Err(bad());
        }
        Ok(Self {
            alg,
            params: Argon2Params::new(m, t, p)?,
            pepper,
            salt,
            tag,
        })
    }
}

impl fmt::Display for Phc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let alg = match self.alg {
            argon2::Algorithm::Argon2i => "argon2i",
            argon2::Algorithm::Argon2d => "argon2d",
            _ => "argon2id",
        };
        let Argon2Params { m_kib, t, p } = self.params;
        write!(f, "${alg}$v=19$m={m_kib},t={t},p={p}")?;
        if let Some(v) = self.pepper {
            write!(f, ",pepper={v}")?;
        }
        write!(f, "${}${}", base64_std(&self.salt), base64_std(&self.tag))
    }
}

/// Canonical decimal `u32`: digits only, no leading zero (except "0"), at most 10 digits.
fn parse_decimal(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn decode_b64(s: &str) -> Result<Vec<u8>, PasswordError> {
    use base64::Engine as _;
    // STANDARD_NO_PAD rejects padding and non-zero trailing bits: one encoding per value.
    if s.len() > 2 * MAX_TAG {
        return Err(PasswordError::Malformed);
    }
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s)
        .map_err(|_| PasswordError::Malformed)
}

/// Parses `stored` as this module would before verifying, without any hashing work. Exposed
/// for the fuzz target and for apps validating imported hashes.
///
/// # Errors
/// [`PasswordError::Malformed`] or [`PasswordError::BadParams`].
pub fn check_hash_format(stored: &str) -> Result<(), PasswordError> {
    Stored::parse(stored).map(|_| ())
}

/// Why a password could not be hashed or checked. A wrong password is not an error
/// ([`Verified::Mismatch`], `Ok(false)`).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordError {
    /// A new password has fewer than [`MIN_PASSWORD_CHARS`] characters.
    TooShort,
    /// The password has more than [`MAX_PASSWORD_BYTES`] bytes.
    TooLong,
    /// The stored string is not an argon2 PHC string or `$2a$/$2b$/$2y$` bcrypt hash.
    Malformed,
    /// Parameters out of bounds (stored string or configuration).
    BadParams,
    /// The stored hash was peppered with a version that is not loaded.
    UnknownPepper {
        /// The version the hash names.
        version: u32,
    },
    /// The system random number generator failed.
    Random(RandomError),
}

impl fmt::Display for PasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => write!(
                f,
                "the password is shorter than {MIN_PASSWORD_CHARS} characters"
            ),
            Self::TooLong => write!(f, "the password is longer than {MAX_PASSWORD_BYTES} bytes"),
            Self::Malformed => {
                f.write_str("the stored hash is not an argon2 PHC string or a bcrypt hash")
            }
            Self::BadParams => f.write_str("the hash parameters are outside the accepted bounds"),
            Self::UnknownPepper { version } => {
                write!(
                    f,
                    "the hash needs pepper version {version}, which is not loaded"
                )
            }
            Self::Random(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for PasswordError {}

impl From<RandomError> for PasswordError {
    fn from(e: RandomError) -> Self {
        Self::Random(e)
    }
}

impl TrustError for PasswordError {
    fn category(&self) -> Category {
        match self {
            Self::TooShort | Self::TooLong | Self::BadParams => Category::Usage,
            Self::Malformed => Category::Input,
            Self::UnknownPepper { .. } => Category::KeyUnavailable,
            Self::Random(_) => Category::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::TooShort => "PASSWORD_TOO_SHORT",
            Self::TooLong => "PASSWORD_TOO_LONG",
            Self::Malformed => "HASH_MALFORMED",
            Self::BadParams => "HASH_PARAMS_OUT_OF_BOUNDS",
            Self::UnknownPepper { .. } => "UNKNOWN_PEPPER",
            Self::Random(_) => "RANDOM_FAILED",
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::UnknownPepper { .. } => {
                Some("load every pepper version still named by stored hashes")
            }
            Self::Malformed => Some("expected $argon2id$v=19$… or $2b$…"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small parameters so unit tests stay fast; the OWASP defaults are exercised once.
    fn fast() -> PasswordHasher {
        PasswordHasher::with_params(Argon2Params::new(64, 1, 1).unwrap())
    }

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// RFC 9106 §5.1–5.3 test vectors (argon2d, argon2i, argon2id; v=0x13, m=32, t=3, p=4,
    /// P = 32×0x01, S = 16×0x02, K = 8×0x03, X = 12×0x04). They check the argon2 engine this
    /// module calls; our own code path is checked against argon2-cffi in tests/argon2_cffi.rs.
    #[test]
    fn rfc9106_vectors() {
        let cases = [
            (
                argon2::Algorithm::Argon2d,
                "512b391b6f1162975371d30919734294f868e3be3984f3c1a13a4db9fabe4acb",
            ),
            (
                argon2::Algorithm::Argon2i,
                "c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8",
            ),
            (
                argon2::Algorithm::Argon2id,
                "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659",
            ),
        ];
        for (alg, want) in cases {
            let params = argon2::ParamsBuilder::new()
                .m_cost(32)
                .t_cost(3)
                .p_cost(4)
                .output_len(32)
                .data(argon2::AssociatedData::new(&[4u8; 12]).unwrap())
                .build()
                .unwrap();
            let a = argon2::Argon2::new_with_secret(&[3u8; 8], alg, argon2::Version::V0x13, params)
                .unwrap();
            let mut out = [0u8; 32];
            a.hash_password_into(&[1u8; 32], &[2u8; 16], &mut out)
                .unwrap();
            assert_eq!(out.to_vec(), hex(want), "{alg:?}");
        }
    }

    /// The encoded hash printed by the reference implementation's README
    /// (github.com/P-H-C/phc-winner-argon2, "Command-line utility":
    /// `echo -n "password" | ./argon2 somesalt -t 2 -m 16 -p 4 -l 24`).
    #[test]
    fn verifies_reference_readme_example() {
        let h = fast();
        let reference =
            "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
        assert!(h.verify("password", reference).unwrap());
        assert!(!h.verify("passwore", reference).unwrap());
        assert!(h.needs_rehash(reference));
    }

    #[test]
    fn owasp_defaults_round_trip() {
        let h = PasswordHasher::new();
        let s = h.hash("correct horse battery staple").unwrap();
        assert!(s.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{s}");
        assert!(h.verify("correct horse battery staple", &s).unwrap());
        assert!(!h.needs_rehash(&s));
    }

    #[test]
    fn salts_differ() {
        let h = fast();
        assert_ne!(
            h.hash("same password").unwrap(),
            h.hash("same password").unwrap()
        );
    }

    #[test]
    fn length_bounds() {
        let h = fast();
        assert_eq!(h.hash("short"), Err(PasswordError::TooShort));
        // Eight characters, fewer bytes would not count: "ééééééé" is 7 chars / 14 bytes.
        assert_eq!(h.hash("ééééééé"), Err(PasswordError::TooShort));
        assert!(h.hash("éééééééé").is_ok());
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(h.hash(&long), Err(PasswordError::TooLong));
        let stored = h.hash("a fine password").unwrap();
        assert_eq!(h.verify(&long, &stored), Err(PasswordError::TooLong));
        assert!(!h.verify_unknown_user(&long));
        assert!(h.hash(&"x".repeat(MAX_PASSWORD_BYTES)).is_ok());
    }

    #[test]
    fn pepper_versions_and_rehash() {
        let k1 = Key256::from_bytes([1; 32]);
        let k2 = Key256::from_bytes([2; 32]);
        let plain = fast();
        let v1 = fast().with_pepper(1, k1.clone());
        let v12 = fast().with_pepper(1, k1).with_pepper(2, k2);
        assert_eq!(v12.current_pepper(), Some(2));

        let s_plain = plain.hash("hunter2hunter2").unwrap();
        let s1 = v1.hash("hunter2hunter2").unwrap();
        assert!(s1.contains(",pepper=1$"), "{s1}");

        // The peppered string needs the pepper.
        assert_eq!(
            plain.verify("hunter2hunter2", &s1),
            Err(PasswordError::UnknownPepper { version: 1 })
        );
        assert!(v12.verify("hunter2hunter2", &s1).unwrap());
        assert!(v12.verify("hunter2hunter2", &s_plain).unwrap());
        assert!(v12.needs_rehash(&s1));
        assert!(v12.needs_rehash(&s_plain));
        assert!(!v1.needs_rehash(&s1));
        assert!(plain.needs_rehash(&s1));

        let Verified::Match { rehash: Some(new) } =
            v12.verify_and_upgrade("hunter2hunter2", &s1).unwrap()
        else {
            panic!("expected an upgrade");
        };
        assert!(new.contains(",pepper=2$"));
        assert!(!v12.needs_rehash(&new));
        assert_eq!(
            v12.verify_and_upgrade("wrong", &s1).unwrap(),
            Verified::Mismatch
        );
    }

    #[test]
    fn wrong_pepper_key_does_not_match() {
        let a = fast().with_pepper(1, Key256::from_bytes([1; 32]));
        let b = fast().with_pepper(1, Key256::from_bytes([9; 32]));
        let s = a.hash("same password").unwrap();
        assert!(!b.verify("same password", &s).unwrap());
    }

    #[test]
    fn params_change_needs_rehash() {
        let old = PasswordHasher::with_params(Argon2Params::new(32, 1, 1).unwrap());
        let new = fast();
        let s = old.hash("a password here").unwrap();
        assert!(new.verify("a password here", &s).unwrap());
        assert!(new.needs_rehash(&s));
        let up = new.verify_and_upgrade("a password here", &s).unwrap();
        assert!(matches!(up, Verified::Match { rehash: Some(_) }));
        assert!(!new.needs_rehash("$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        assert!(new.needs_rehash("$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        assert!(new.needs_rehash("garbage"));
    }

    /// Known bcrypt hashes from the crypt_blowfish test suite (Openwall, `wrapper.c`, also used
    /// by PHP and Python's bcrypt tests).
    #[test]
    fn bcrypt_known_vectors_and_upgrade() {
        let vectors = [
            (
                "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
                "U*U",
            ),
            (
                "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK",
                "U*U*",
            ),
            (
                "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a",
                "U*U*U",
            ),
            (
                "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
                "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
            ),
            (
                "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy",
                "",
            ),
        ];
        let h = fast();
        for (hash, pw) in vectors {
            assert!(h.verify(pw, hash).unwrap(), "{hash}");
            assert!(!h.verify("not it", hash).unwrap(), "{hash}");
            assert!(h.needs_rehash(hash));
            let Verified::Match { rehash: Some(new) } = h.verify_and_upgrade(pw, hash).unwrap()
            else {
                panic!("bcrypt must upgrade");
            };
            assert!(new.starts_with("$argon2id$"));
            assert!(h.verify(pw, &new).unwrap());
            assert!(!h.needs_rehash(&new));
        }
        // $2b$ and $2y$ share $2a$'s algorithm for ASCII passwords.
        let b = "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        let y = "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        assert!(h.verify("U*U", b).unwrap());
        assert!(h.verify("U*U", y).unwrap());
    }

    #[test]
    fn malformed_hashes_are_refused() {
        let h = fast();
        let good = h.hash_with_salt("password", b"somesalt").unwrap();
        let bad = [
            String::new(),
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ".to_owned(),
            good.replace("v=19", "v=16"),
            good.replace("m=64,t=1,p=1", "t=1,m=64,p=1"),
            good.replace("m=64", "m=064"),
            good.replace("p=1", "p=1,x=2"),
            good.replace("p=1", "p=1,pepper=01"),
            good.replace("$argon2id$", "$argon2x$"),
            format!("{good}="),
            format!("{good}$"),
            good.replace("c29tZXNhbHQ", "c29tZXNhbHR"), // non-zero trailing bits
            good.replace("c29tZXNhbHQ", "c29tZQ"),      // salt too short
            "$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e".to_owned(),
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe".to_owned(),
            "$2a$5x$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW".to_owned(),
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe!".to_owned(),
            "x".repeat(MAX_HASH_LEN + 1),
        ];
        for s in &bad {
            assert_eq!(
                h.verify("password", s),
                Err(PasswordError::Malformed),
                "{s}"
            );
            assert!(h.needs_rehash(s));
        }
        assert_eq!(
            h.verify("password", &good.replace("m=64", "m=4194304")),
            Err(PasswordError::BadParams)
        );
        assert_eq!(
            h.verify(
                "password",
                "$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
            ),
            Err(PasswordError::BadParams)
        );
        assert!(Argon2Params::new(7, 1, 1).is_err());
        assert!(Argon2Params::new(64, 0, 1).is_err());
        assert!(Argon2Params::new(64, 1, 0).is_err());
    }

    #[test]
    fn unknown_user_is_a_mismatch() {
        let h = fast();
        assert!(!h.verify_unknown_user("anything at all"));
        assert!(!h.dummy.is_empty());
        assert!(Stored::parse(&h.dummy).is_ok());
        let peppered = fast().with_pepper(4, Key256::from_bytes([4; 32]));
        assert!(peppered.dummy.contains(",pepper=4$"));
    }

    #[test]
    fn debug_shows_no_pepper() {
        let h = fast().with_pepper(7, Key256::from_bytes([0xAB; 32]));
        let d = format!("{h:?}");
        assert!(d.contains("pepper_versions: [7]"), "{d}");
        assert!(!d.to_lowercase().contains("ab, ab"));
        let v = Verified::Match {
            rehash: Some("x".into()),
        };
        assert_eq!(format!("{v:?}"), "Match { rehash: true }");
    }

    #[test]
    fn error_categories() {
        assert_eq!(PasswordError::Malformed.category().exit_code(), 3);
        assert_eq!(PasswordError::TooShort.category().exit_code(), 2);
        assert_eq!(
            PasswordError::UnknownPepper { version: 1 }
                .category()
                .exit_code(),
            4
        );
    }
}
