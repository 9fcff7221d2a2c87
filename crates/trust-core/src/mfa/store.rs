//! Where factors, last accepted steps and recovery-code hashes live.
//!
//! [`MfaStore`] is shaped for a database as much as for files: every method is one atomic
//! statement. [`MfaStore::advance_step`] is the replay guard and maps to
//! `UPDATE … SET last_step = $3 WHERE user = $1 AND device = $2 AND (last_step IS NULL OR
//! last_step < $3)` (one row changed = accepted); [`MfaStore::create_factor`] to an `INSERT`
//! that fails on the primary key; [`MfaStore::consume_recovery_code`] to an `UPDATE … WHERE
//! used = false`. [`DirMfaStore`] is the embedded default: one JSON file per user under the
//! home, changed under a per-user file lock and replaced atomically (format: `docs/mfa.md`).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::totp::{Algorithm, TotpParams};
use crate::durable::{self, LockGuard};
use crate::error::{Category, TrustError};

/// Largest user file read (a user has at most [`MAX_DEVICES`] factors and 32 recovery codes).
pub const MAX_USER_FILE: u64 = 256 * 1024;
/// Most devices (factors) one user may enroll.
pub const MAX_DEVICES: usize = 16;
/// Most recovery codes stored for one user.
pub const MAX_RECOVERY_CODES: usize = 32;
/// Longest sealed-secret token stored.
const MAX_SEALED_LEN: usize = 4096;

const FORMAT: &str = "trust-mfa";

/// One enrolled TOTP factor (a user's device).
#[derive(Clone, PartialEq, Eq)]
pub struct Factor {
    /// The factor's TOTP parameters.
    pub params: TotpParams,
    /// The TOTP secret as an envelope token (`tle1.…`) bound to the user and device.
    pub sealed_secret: String,
    /// The newest time step accepted so far; codes for it and older steps are refused.
    pub last_step: Option<u64>,
    /// When it was enrolled (Unix seconds).
    pub created: i64,
}

impl fmt::Debug for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Factor")
            .field("params", &self.params)
            .field("last_step", &self.last_step)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

impl Factor {
    /// A factor from its parts (what a store rebuilds from its rows).
    pub fn new(
        params: TotpParams,
        sealed_secret: String,
        last_step: Option<u64>,
        created: i64,
    ) -> Self {
        Self {
            params,
            sealed_secret,
            last_step,
            created,
        }
    }
}

/// Storage for TOTP factors and recovery codes. Every method is atomic on its own.
pub trait MfaStore: Send + Sync {
    /// Stores a new factor; [`MfaStoreError::AlreadyExists`] when (user, device) has one.
    ///
    /// # Errors
    /// As stated, and storage failures.
    fn create_factor(&self, user: &str, device: &str, factor: &Factor)
    -> Result<(), MfaStoreError>;

    /// The factor of (user, device), if enrolled.
    ///
    /// # Errors
    /// Storage failures, [`MfaStoreError::Corrupt`].
    fn factor(&self, user: &str, device: &str) -> Result<Option<Factor>, MfaStoreError>;

    /// The user's enrolled devices, sorted.
    ///
    /// # Errors
    /// Storage failures.
    fn devices(&self, user: &str) -> Result<Vec<String>, MfaStoreError>;

    /// Sets the last accepted step to `step` if and only if it is greater than the stored one
    /// (or none is stored). `Ok(true)`: this caller advanced it and may accept the code;
    /// `Ok(false)`: another verification already accepted this step or a newer one.
    ///
    /// # Errors
    /// [`MfaStoreError::NotFound`] when the factor is gone; storage failures.
    fn advance_step(&self, user: &str, device: &str, step: u64) -> Result<bool, MfaStoreError>;

    /// Replaces the user's recovery codes with these hashes, all unused.
    ///
    /// # Errors
    /// Storage failures.
    fn replace_recovery_codes(&self, user: &str, hashes: &[[u8; 32]]) -> Result<(), MfaStoreError>;

    /// Marks the unused recovery code with this hash as used; `Ok(false)` when there is none.
    ///
    /// # Errors
    /// Storage failures.
    fn consume_recovery_code(&self, user: &str, hash: &[u8; 32]) -> Result<bool, MfaStoreError>;

    /// How many unused recovery codes the user has.
    ///
    /// # Errors
    /// Storage failures.
    fn remaining_recovery_codes(&self, user: &str) -> Result<usize, MfaStoreError>;

    /// Removes every factor and recovery code of the user; `Ok(false)` when there was none.
    ///
    /// # Errors
    /// Storage failures.
    fn remove_user(&self, user: &str) -> Result<bool, MfaStoreError>;
}

/// A storage failure.
#[derive(Debug)]
#[non_exhaustive]
pub enum MfaStoreError {
    /// The factor already exists.
    AlreadyExists,
    /// The factor does not exist.
    NotFound,
    /// A stored record does not parse or breaks a bound.
    Corrupt(&'static str),
    /// A limit on factors or codes per user was reached.
    Full(&'static str),
    /// Reading or writing failed.
    Io {
        /// What was being done.
        what: &'static str,
        /// The OS reason.
        reason: String,
    },
}

impl fmt::Display for MfaStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyExists => f.write_str("the factor is already enrolled"),
            Self::NotFound => f.write_str("the factor is not enrolled"),
            Self::Corrupt(why) => write!(f, "a stored MFA record is corrupt: {why}"),
            Self::Full(why) => write!(f, "MFA limit reached: {why}"),
            Self::Io { what, reason } => write!(f, "cannot {what}: {reason}"),
        }
    }
}

impl std::error::Error for MfaStoreError {}

impl TrustError for MfaStoreError {
    fn category(&self) -> Category {
        match self {
            Self::AlreadyExists | Self::Full(_) => Category::Usage,
            Self::NotFound => Category::KeyUnavailable,
            Self::Corrupt(_) => Category::Verification,
            Self::Io { .. } => Category::Input,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "MFA_ALREADY_ENROLLED",
            Self::NotFound => "MFA_NOT_ENROLLED",
            Self::Corrupt(_) => "MFA_RECORD_CORRUPT",
            Self::Full(_) => "MFA_LIMIT",
            Self::Io { .. } => "MFA_STORE_IO",
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    format: String,
    format_version: u32,
    user: String,
    factors: BTreeMap<String, FactorRecord>,
    recovery: Vec<RecoveryRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FactorRecord {
    algorithm: String,
    digits: u8,
    period: u32,
    secret: String,
    last_step: Option<u64>,
    created: i64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoveryRecord {
    hash: String,
    used: bool,
}

impl FactorRecord {
    fn from_factor(f: &Factor) -> Self {
        Self {
            algorithm: f.params.algorithm.name().into(),
            digits: f.params.digits,
            period: f.params.period,
            secret: f.sealed_secret.clone(),
            last_step: f.last_step,
            created: f.created,
        }
    }

    fn to_factor(&self) -> Result<Factor, MfaStoreError> {
        let params = TotpParams {
            algorithm: Algorithm::parse(&self.algorithm)
                .ok_or(MfaStoreError::Corrupt("unknown algorithm"))?,
            digits: self.digits,
            period: self.period,
        };
        params
            .validate()
            .map_err(|_| MfaStoreError::Corrupt("invalid digits or period"))?;
        if self.secret.is_empty() || self.secret.len() > MAX_SEALED_LEN {
            return Err(MfaStoreError::Corrupt("sealed secret length"));
        }
        Ok(Factor {
            params,
            sealed_secret: self.secret.clone(),
            last_step: self.last_step,
            created: self.created,
        })
    }
}

/// Parses and checks a user file's bytes (exposed for the fuzz target).
///
/// # Errors
/// [`MfaStoreError::Corrupt`] for anything malformed or out of bounds, or a file that names
/// another user.
pub fn parse_user_file(bytes: &[u8], user: &str) -> Result<(), MfaStoreError> {
    parse(bytes, user).map(|_| ())
}

fn parse(bytes: &[u8], user: &str) -> Result<UserFile, MfaStoreError> {
    if bytes.len() as u64 > MAX_USER_FILE {
        return Err(MfaStoreError::Corrupt("the file is too large"));
    }
    let file: UserFile =
        serde_json::from_slice(bytes).map_err(|_| MfaStoreError::Corrupt("does not parse"))?;
    if file.format != FORMAT || file.format_version != 1 {
        return Err(MfaStoreError::Corrupt("unknown format"));
    }
    if file.user != user {
        return Err(MfaStoreError::Corrupt("the file belongs to another user"));
    }
    if file.factors.len() > MAX_DEVICES || file.recovery.len() > MAX_RECOVERY_CODES {
        return Err(MfaStoreError::Corrupt("too many factors or recovery codes"));
    }
    for (device, factor) in &file.factors {
        if !super::is_valid_id(device) {
            return Err(MfaStoreError::Corrupt("invalid device name"));
        }
        factor.to_factor()?;
    }
    for code in &file.recovery {
        decode_hash(&code.hash)?;
    }
    Ok(file)
}

fn decode_hash(text: &str) -> Result<[u8; 32], MfaStoreError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| MfaStoreError::Corrupt("recovery code hash"))?;
    Ok(out)
}

/// The embedded store: `DIR/<hex(user)>.json`, one file per user, each changed under
/// `DIR/.<hex(user)>.lock` and replaced atomically.
#[derive(Debug, Clone)]
pub struct DirMfaStore {
    dir: PathBuf,
}

impl DirMfaStore {
    /// A store in `dir` (created `0700` on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn paths(&self, user: &str) -> (PathBuf, PathBuf) {
        // Hex keeps any user id (an email, a UUID) a safe, fixed-alphabet file name.
        let id = hex::encode(user.as_bytes());
        (
            self.dir.join(format!("{id}.json")),
            self.dir.join(format!(".{id}.lock")),
        )
    }

    fn io(what: &'static str, e: &std::io::Error) -> MfaStoreError {
        MfaStoreError::Io {
            what,
            reason: e.to_string(),
        }
    }

    fn read(&self, user: &str) -> Result<Option<UserFile>, MfaStoreError> {
        let (path, _) = self.paths(user);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Self::io("read an MFA record", &e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_USER_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Self::io("read an MFA record", &e))?;
        parse(&bytes, user).map(Some)
    }

    /// Runs `change` on the user's file under its lock and writes the result (or removes the
    /// file when it ends up empty). `change` returns what the caller gets back.
    fn update<T>(
        &self,
        user: &str,
        change: impl FnOnce(&mut UserFile) -> Result<T, MfaStoreError>,
    ) -> Result<T, MfaStoreError> {
        durable::create_private_dir(&self.dir).map_err(|e| Self::io("create the MFA store", &e))?;
        let (path, lock) = self.paths(user);
        let _guard = LockGuard::acquire(&lock).map_err(|e| Self::io("lock an MFA record", &e))?;
        let mut file = self.read(user)?.unwrap_or_else(|| UserFile {
            format: FORMAT.into(),
            format_version: 1,
            user: user.into(),
            ..UserFile::default()
        });
        let out = change(&mut file)?;
        if file.factors.is_empty() && file.recovery.is_empty() {
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    durable::sync_dir(&self.dir)
                        .map_err(|e| Self::io("write an MFA record", &e))?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Self::io("remove an MFA record", &e)),
            }
        } else {
            let mut bytes = serde_json::to_vec_pretty(&file)
                .map_err(|_| MfaStoreError::Corrupt("unserializable"))?;
            bytes.push(b'\n');
            durable::write_atomic(&path, &bytes)
                .map_err(|e| Self::io("write an MFA record", &e))?;
        }
        Ok(out)
    }
}

impl MfaStore for DirMfaStore {
    fn create_factor(
        &self,
        user: &str,
        device: &str,
        factor: &Factor,
    ) -> Result<(), MfaStoreError> {
        self.update(user, |file| {
            if file.factors.contains_key(device) {
                return Err(MfaStoreError::AlreadyExists);
            }
            if file.factors.len() >= MAX_DEVICES {
                return Err(MfaStoreError::Full("at most 16 devices per user"));
            }
            file.factors
                .insert(device.into(), FactorRecord::from_factor(factor));
            Ok(())
        })
    }

    fn factor(&self, user: &str, device: &str) -> Result<Option<Factor>, MfaStoreError> {
        match self.read(user)? {
            None => Ok(None),
            Some(file) => file
                .factors
                .get(device)
                .map(FactorRecord::to_factor)
                .transpose(),
        }
    }

    fn devices(&self, user: &str) -> Result<Vec<String>, MfaStoreError> {
        Ok(self
            .read(user)?
            .map(|f| f.factors.into_keys().collect())
            .unwrap_or_default())
    }

    fn advance_step(&self, user: &str, device: &str, step: u64) -> Result<bool, MfaStoreError> {
        self.update(user, |file| {
            let factor = file
                .factors
                .get_mut(device)
                .ok_or(MfaStoreError::NotFound)?;
            if factor.last_step.is_some_and(|last| last >= step) {
                return Ok(false);
            }
            factor.last_step = Some(step);
            Ok(true)
        })
    }

    fn replace_recovery_codes(&self, user: &str, hashes: &[[u8; 32]]) -> Result<(), MfaStoreError> {
        if hashes.len() > MAX_RECOVERY_CODES {
            return Err(MfaStoreError::Full("at most 32 recovery codes"));
        }
        self.update(user, |file| {
            file.recovery = hashes
                .iter()
                .map(|h| RecoveryRecord {
                    hash: hex::encode(h),
                    used: false,
                })
                .collect();
            Ok(())
        })
    }

    fn consume_recovery_code(&self, user: &str, hash: &[u8; 32]) -> Result<bool, MfaStoreError> {
        if self.read(user)?.is_none() {
            return Ok(false);
        }
        self.update(user, |file| {
            // Every stored hash is compared (no early exit) in constant time.
            let mut found = None;
            for (i, code) in file.recovery.iter().enumerate() {
                let stored = decode_hash(&code.hash)?;
                if crate::secret::ct_eq(&stored, hash) && !code.used {
                    found = Some(i);
                }
            }
            Ok(match found {
                Some(i) => {
                    file.recovery[i].used = true;
                    true
                }
                None => false,
            })
        })
    }

    fn remaining_recovery_codes(&self, user: &str) -> Result<usize, MfaStoreError> {
        Ok(self
            .read(user)?
            .map(|f| f.recovery.iter().filter(|c| !c.used).count())
            .unwrap_or(0))
    }

    fn remove_user(&self, user: &str) -> Result<bool, MfaStoreError> {
        if self.read(user)?.is_none() {
            return Ok(false);
        }
        self.update(user, |file| {
            let had = !file.factors.is_empty() || !file.recovery.is_empty();
            file.factors.clear();
            file.recovery.clear();
            Ok(had)
        })
    }
}
