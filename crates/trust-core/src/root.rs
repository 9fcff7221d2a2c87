//! Root keys: the key-encryption keys at the top of the hierarchy.
//!
//! ```text
//! root key (key file | passphrase → argon2id | later: HSM, cloud KMS)
//!   └─ keyring version keys, stored wrapped by the root key
//!        └─ per-message data keys (the envelope)
//! ```
//!
//! A [`RootKey`] only ever *wraps* and *unwraps* small secrets with associated data; it never
//! hands its own material out. That is the shape an HSM or a cloud KMS offers (`Encrypt` /
//! `Decrypt` with an encryption context), so a KMS-backed root key can be added later as one
//! more implementation without touching the keyring or its callers.
//!
//! The local implementation, [`LocalRootKey`], holds 32 bytes in memory and wraps with
//! XChaCha20-Poly1305 under a fresh random 192-bit nonce per wrap (random nonces are safe at
//! that size; a keyring writes at most a few wraps per change). Its 32 bytes come from one of
//! two [`RootKeySource`]s:
//!
//! * a **key file**: exactly 32 random bytes, created `0600` with
//!   `durable::create_private` and never overwritten;
//! * a **passphrase**, stretched with argon2id under [`PassphraseParams`] and a random salt that
//!   are stored with the home, so the same passphrase always yields the same key.
//!
//! Whether the right key was supplied is checked with a *check value* (an empty wrap under a
//! fixed label, stored with the home): a wrong passphrase is then the typed
//! [`RootKeyError::WrongPassphrase`] instead of a confusing failure on the first keyring.

use core::fmt;
use std::io;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::error::{Category, TrustError};
use crate::secret::{ExposeSecret, Key256, SecretBytes, random_array};

/// Wraps and unwraps small secrets (keyring version keys, check values) with associated data.
///
/// Implementations must be authenticated: `unwrap` with a different `aad`, a modified `wrapped`
/// or another root key fails with [`RootKeyError::Unwrap`], never returns other bytes.
pub trait RootKey: Send + Sync {
    /// A short stable name of the kind of root key (`"local"`, `"pkcs11"`, `"aws-kms"`).
    fn kind(&self) -> &'static str;

    /// Encrypts `plaintext` (at most a few hundred bytes) bound to `aad`.
    ///
    /// # Errors
    /// [`RootKeyError`] when the key or its backend is unavailable.
    fn wrap(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, RootKeyError>;

    /// Decrypts what [`RootKey::wrap`] produced under the same `aad`.
    ///
    /// # Errors
    /// [`RootKeyError::Unwrap`] when `wrapped` is not authentic under this key and `aad`.
    fn unwrap(&self, aad: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, RootKeyError>;
}

/// A root key held in memory: XChaCha20-Poly1305, `nonce(24) ‖ ciphertext ‖ tag(16)`.
pub struct LocalRootKey {
    cipher: XChaCha20Poly1305,
}

impl LocalRootKey {
    /// Length of the random nonce that starts every wrapped value.
    pub const NONCE_LEN: usize = 24;
    /// Bytes a wrap adds to its plaintext (nonce and tag).
    pub const OVERHEAD: usize = Self::NONCE_LEN + 16;

    /// A root key over the given 32 bytes.
    pub fn new(key: &Key256) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(key.expose().into()),
        }
    }

    /// Loads the root key from `source`, deriving it with argon2id for a passphrase.
    ///
    /// # Errors
    /// [`RootKeyError`] when the key file cannot be read or is not exactly 32 bytes, or the
    /// passphrase parameters are invalid.
    pub fn from_source(source: &RootKeySource) -> Result<Self, RootKeyError> {
        let key = match source {
            RootKeySource::KeyFile(path) => read_key_file(path)?,
            RootKeySource::Passphrase {
                passphrase,
                params,
                salt,
            } => derive_from_passphrase(passphrase, params, salt)?,
        };
        Ok(Self::new(&key))
    }
}

impl fmt::Debug for LocalRootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalRootKey(<redacted>)")
    }
}

impl RootKey for LocalRootKey {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn wrap(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, RootKeyError> {
        let nonce = random_array::<24>().map_err(|_| RootKeyError::Random)?;
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| RootKeyError::Unwrap)?;
        let mut out = Vec::with_capacity(Self::NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn unwrap(&self, aad: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, RootKeyError> {
        if wrapped.len() < Self::OVERHEAD {
            return Err(RootKeyError::Unwrap);
        }
        let (nonce, ct) = wrapped.split_at(Self::NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| RootKeyError::Unwrap)
    }
}

/// Where a local root key's 32 bytes come from.
#[non_exhaustive]
pub enum RootKeySource {
    /// A file of exactly 32 random bytes.
    KeyFile(PathBuf),
    /// A passphrase stretched with argon2id.
    Passphrase {
        /// The passphrase as typed (any bytes, not empty).
        passphrase: SecretBytes,
        /// The stored argon2id cost parameters.
        params: PassphraseParams,
        /// The stored random salt.
        salt: [u8; 16],
    },
}

impl fmt::Debug for RootKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyFile(p) => f.debug_tuple("KeyFile").field(p).finish(),
            Self::Passphrase { params, .. } => f
                .debug_struct("Passphrase")
                .field("passphrase", &"<redacted>")
                .field("params", params)
                .finish_non_exhaustive(),
        }
    }
}

/// argon2id cost parameters, stored with the home so a passphrase always derives the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PassphraseParams {
    /// Memory cost in KiB.
    pub m_kib: u32,
    /// Number of passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl PassphraseParams {
    /// Memory cost `m_kib` KiB, `t` passes, `p` lanes (checked when a key is derived).
    pub const fn new(m_kib: u32, t: u32, p: u32) -> Self {
        Self { m_kib, t, p }
    }

    /// RFC 9106 §4's second recommended option (64 MiB, 3 passes) with one lane: about a
    /// quarter of a second here, once per command. Stronger than OWASP's minimum because one
    /// passphrase guards every key in the home.
    pub const DEFAULT: Self = Self {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };

    /// The largest memory cost accepted from a home file (4 GiB): a tampered file must not be
    /// able to make `open` allocate without bound.
    pub const MAX_M_KIB: u32 = 4 * 1024 * 1024;
    /// The largest pass count accepted from a home file.
    pub const MAX_T: u32 = 64;
    /// The largest lane count accepted from a home file.
    pub const MAX_P: u32 = 16;

    fn check(self) -> Result<argon2::Params, RootKeyError> {
        if self.m_kib > Self::MAX_M_KIB || self.t > Self::MAX_T || self.p > Self::MAX_P {
            return Err(RootKeyError::BadParams);
        }
        argon2::Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|_| RootKeyError::BadParams)
    }
}

impl Default for PassphraseParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Derives a root key from `passphrase` with argon2id (RFC 9106, version 0x13).
///
/// # Errors
/// [`RootKeyError::BadParams`] for parameters outside the accepted bounds.
pub fn derive_from_passphrase(
    passphrase: &SecretBytes,
    params: &PassphraseParams,
    salt: &[u8; 16],
) -> Result<Key256, RootKeyError> {
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params.check()?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.expose_secret(), salt, out.as_mut_slice())
        .map_err(|_| RootKeyError::BadParams)?;
    Ok(Key256::from_bytes(*out))
}

/// The shortest passphrase a new home accepts, in characters (Unicode scalar values; bytes when
/// the passphrase is not UTF-8).
///
/// The passphrase is the only secret guarding every key of the home, and a stolen home can be
/// attacked offline: argon2id makes each guess expensive, but only length makes the space
/// large. Twelve characters (three or four random words) is the floor; existing homes with a
/// shorter passphrase still open.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// Checks a passphrase chosen for a new home against [`MIN_PASSPHRASE_CHARS`].
///
/// # Errors
/// [`RootKeyError::PassphraseTooShort`].
pub fn check_new_passphrase(passphrase: &SecretBytes) -> Result<(), RootKeyError> {
    let bytes = passphrase.expose_secret();
    let chars = std::str::from_utf8(bytes).map_or(bytes.len(), |s| s.chars().count());
    if chars < MIN_PASSPHRASE_CHARS {
        return Err(RootKeyError::PassphraseTooShort {
            min: MIN_PASSPHRASE_CHARS,
        });
    }
    Ok(())
}

/// Says why the root key file at `path` is exposed, if it is: readable or writable by its
/// group or by others (mode bits `0o077`). `None` when it is private or cannot be inspected.
///
/// A key file readable by other accounts hands them every key of the home; like ssh with a
/// private key, callers should at least warn.
pub fn key_file_exposure(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then(|| {
            format!(
                "the root key file {} is accessible to other users (mode {mode:03o}): run chmod 600 on it",
                path.display()
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Reads a root key file: exactly 32 bytes.
///
/// # Errors
/// [`RootKeyError::KeyFile`] when it cannot be read, [`RootKeyError::KeyFileLength`] when it
/// is not 32 bytes long.
pub fn read_key_file(path: &Path) -> Result<Key256, RootKeyError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| RootKeyError::key_file(path, &e))?;
    let mut buf = Zeroizing::new(Vec::with_capacity(33));
    file.take(33)
        .read_to_end(&mut buf)
        .map_err(|e| RootKeyError::key_file(path, &e))?;
    Key256::from_slice(&buf).ok_or(RootKeyError::KeyFileLength)
}

/// Creates a new root key file of 32 random bytes, mode `0600`. Refuses to overwrite.
///
/// # Errors
/// [`RootKeyError::KeyFile`] when the file exists or cannot be written.
pub fn create_key_file(path: &Path) -> Result<Key256, RootKeyError> {
    let key = Key256::generate().map_err(|_| RootKeyError::Random)?;
    crate::durable::create_private(path, key.expose())
        .map_err(|e| RootKeyError::key_file(path, &e))?;
    Ok(key)
}

/// A root key could not be loaded or used.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootKeyError {
    /// The passphrase does not unlock this home.
    WrongPassphrase,
    /// The key file does not belong to this home.
    WrongKeyFile,
    /// A wrapped value is not authentic under this root key (tampered, or another key).
    Unwrap,
    /// The key file could not be read or created.
    KeyFile {
        /// The path and the I/O reason (never contents).
        reason: String,
    },
    /// The key file is not exactly 32 bytes long.
    KeyFileLength,
    /// The argon2id parameters are out of bounds.
    BadParams,
    /// A new passphrase is shorter than [`MIN_PASSPHRASE_CHARS`].
    PassphraseTooShort {
        /// The minimum, in characters.
        min: usize,
    },
    /// The operating system's random number generator failed.
    Random,
    /// An external root key (HSM, KMS) opened but does not belong to this home: its check value
    /// does not verify (another token object, another KMS key).
    WrongExternalRoot,
    /// The backend holding an external root key (an HSM, a cloud KMS) refused or failed.
    Backend(BackendError),
}

/// A failure of the device or service that holds an external root key.
///
/// Backend crates (`trust-pkcs11`, `trust-kms`) build these with a stable code of their own
/// (`PKCS11_WRONG_PIN`, `KMS_KEY_DISABLED`…) and the category that decides the exit code: a
/// wrong PIN or a disabled key is [`Category::KeyUnavailable`] (4), an unloadable module or an
/// unreachable endpoint is [`Category::Input`] (3). The message is one operator-readable line;
/// it never holds a PIN, a credential or key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendError {
    code: &'static str,
    category: Category,
    message: String,
    hint: Option<&'static str>,
}

impl BackendError {
    /// A backend failure with a stable `code`, its `category` and a one-line `message`.
    pub fn new(code: &'static str, category: Category, message: impl Into<String>) -> Self {
        Self {
            code,
            category,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds what the operator should do about it.
    #[must_use]
    pub fn with_hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The category (decides the exit code).
    pub fn category(&self) -> Category {
        self.category
    }

    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What the operator should do about it, if the backend said.
    pub fn hint(&self) -> Option<&'static str> {
        self.hint
    }
}

impl RootKeyError {
    fn key_file(path: &Path, err: &io::Error) -> Self {
        let why = match err.kind() {
            io::ErrorKind::NotFound => "no such file".to_owned(),
            io::ErrorKind::AlreadyExists => "it already exists".to_owned(),
            io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => err.to_string(),
        };
        Self::KeyFile {
            reason: format!("{}: {why}", path.display()),
        }
    }
}

impl fmt::Display for RootKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongPassphrase => f.write_str("the passphrase does not unlock this home"),
            Self::WrongKeyFile => f.write_str("the root key file does not belong to this home"),
            Self::Unwrap => f.write_str("a value wrapped by the root key failed authentication"),
            Self::KeyFile { reason } => write!(f, "cannot use the root key file {reason}"),
            Self::KeyFileLength => f.write_str("the root key file is not exactly 32 bytes long"),
            Self::BadParams => f.write_str("the argon2id parameters are out of bounds"),
            Self::PassphraseTooShort { min } => {
                write!(f, "the passphrase is shorter than {min} characters")
            }
            Self::Random => f.write_str("the operating system's random number generator failed"),
            Self::WrongExternalRoot => {
                f.write_str("the external root key does not belong to this home")
            }
            Self::Backend(e) => f.write_str(&e.message),
        }
    }
}

impl std::error::Error for RootKeyError {}

impl TrustError for RootKeyError {
    fn category(&self) -> Category {
        match self {
            // The root key exists but cannot be unlocked with what was given: the key is
            // unavailable to this caller (exit 4), which is not a tampering verdict (exit 1).
            Self::WrongPassphrase | Self::WrongKeyFile | Self::WrongExternalRoot => {
                Category::KeyUnavailable
            }
            Self::Backend(e) => e.category,
            Self::Unwrap => Category::Verification,
            Self::KeyFile { .. } | Self::KeyFileLength => Category::Input,
            Self::BadParams | Self::PassphraseTooShort { .. } => Category::Usage,
            Self::Random => Category::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::WrongPassphrase => "WRONG_PASSPHRASE",
            Self::WrongKeyFile => "WRONG_ROOT_KEY",
            Self::Unwrap => "ROOT_UNWRAP_FAILED",
            Self::KeyFile { .. } => "ROOT_KEY_FILE_UNREADABLE",
            Self::KeyFileLength => "ROOT_KEY_FILE_INVALID",
            Self::BadParams => "KDF_PARAMS_INVALID",
            Self::PassphraseTooShort { .. } => "PASSPHRASE_TOO_SHORT",
            Self::Random => "RANDOM_FAILED",
            Self::WrongExternalRoot => "WRONG_EXTERNAL_ROOT",
            Self::Backend(e) => e.code,
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::WrongPassphrase => Some(
                "check the passphrase; a lost passphrase cannot be recovered (there is no reset)",
            ),
            Self::WrongKeyFile => Some("use the key file this home was initialized with"),
            Self::KeyFileLength => Some("a root key file holds exactly 32 random bytes"),
            Self::PassphraseTooShort { .. } => {
                Some("choose a longer passphrase, e.g. four random words")
            }
            Self::WrongExternalRoot => Some(
                "the home record names another token object or KMS key than the one that answered; check the URI or key id",
            ),
            Self::Backend(e) => e.hint,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PassphraseParams {
        PassphraseParams {
            m_kib: 64,
            t: 1,
            p: 1,
        }
    }

    #[test]
    fn wrap_round_trips_and_binds_aad() {
        let root = LocalRootKey::new(&Key256::from_bytes([7; 32]));
        let w = root.wrap(b"label", b"secret").unwrap();
        assert_eq!(w.len(), 6 + LocalRootKey::OVERHEAD);
        assert_eq!(root.unwrap(b"label", &w).unwrap().as_slice(), b"secret");
        assert_eq!(root.unwrap(b"other", &w), Err(RootKeyError::Unwrap));
        let other = LocalRootKey::new(&Key256::from_bytes([8; 32]));
        assert_eq!(other.unwrap(b"label", &w), Err(RootKeyError::Unwrap));
        for i in 0..w.len() {
            let mut bad = w.clone();
            bad[i] ^= 1;
            assert_eq!(root.unwrap(b"label", &bad), Err(RootKeyError::Unwrap));
        }
        assert_eq!(root.unwrap(b"label", &w[..10]), Err(RootKeyError::Unwrap));
    }

    #[test]
    fn wraps_use_fresh_nonces() {
        let root = LocalRootKey::new(&Key256::from_bytes([7; 32]));
        assert_ne!(root.wrap(b"", b"x").unwrap(), root.wrap(b"", b"x").unwrap());
    }

    /// RFC 9106 §5.3 (Argon2id test vector). It needs a secret and associated data, which our
    /// derivation does not use, so this checks the primitive; the next test checks our use of it.
    #[test]
    fn argon2id_rfc9106_vector() {
        let params = argon2::ParamsBuilder::new()
            .m_cost(32)
            .t_cost(3)
            .p_cost(4)
            .output_len(32)
            .data(argon2::AssociatedData::new(&[4; 12]).unwrap())
            .build()
            .unwrap();
        let argon = argon2::Argon2::new_with_secret(
            &[3; 8],
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params,
        )
        .unwrap();
        let mut out = [0u8; 32];
        argon
            .hash_password_into(&[1; 32], &[2; 16], &mut out)
            .unwrap();
        assert_eq!(
            hex::encode(out),
            "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
        );
    }

    #[test]
    fn passphrase_derivation_is_deterministic_and_salted() {
        let pass = SecretBytes::from(b"correct horse".to_vec());
        let a = derive_from_passphrase(&pass, &cheap(), &[1; 16]).unwrap();
        let b = derive_from_passphrase(&pass, &cheap(), &[1; 16]).unwrap();
        let c = derive_from_passphrase(&pass, &cheap(), &[2; 16]).unwrap();
        assert_eq!(a.expose(), b.expose());
        assert_ne!(a.expose(), c.expose());
    }

    #[test]
    fn new_passphrases_have_a_minimum_length_in_characters() {
        let check = |s: &[u8]| check_new_passphrase(&SecretBytes::from(s.to_vec()));
        assert_eq!(
            check(b"eleven char").unwrap_err(),
            RootKeyError::PassphraseTooShort { min: 12 }
        );
        assert_eq!(
            check(b"eleven char").unwrap_err().category(),
            Category::Usage
        );
        check(b"twelve chars").unwrap();
        // Characters, not bytes: 11 two-byte characters are still too short.
        assert!(check("ééééééééééé".as_bytes()).is_err());
        check("éééééééééééé".as_bytes()).unwrap();
        // Not UTF-8: bytes count.
        check(&[0xff; 12]).unwrap();
        assert!(check(&[0xff; 11]).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn exposed_key_files_are_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        create_key_file(&path).unwrap();
        assert_eq!(key_file_exposure(&path), None);
        for mode in [0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let warning = key_file_exposure(&path).unwrap();
            assert!(warning.contains(&format!("{mode:03o}")), "{warning}");
        }
        assert_eq!(key_file_exposure(&dir.path().join("missing")), None);
    }

    #[test]
    fn hostile_params_are_refused_before_allocating() {
        let pass = SecretBytes::from(b"x".to_vec());
        for params in [
            PassphraseParams {
                m_kib: u32::MAX,
                t: 1,
                p: 1,
            },
            PassphraseParams {
                m_kib: 64,
                t: 1000,
                p: 1,
            },
            PassphraseParams {
                m_kib: 64,
                t: 0,
                p: 1,
            },
        ] {
            assert_eq!(
                derive_from_passphrase(&pass, &params, &[0; 16]).unwrap_err(),
                RootKeyError::BadParams
            );
        }
    }

    #[test]
    fn key_files_are_exactly_32_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let key = create_key_file(&path).unwrap();
        assert_eq!(read_key_file(&path).unwrap().expose(), key.expose());
        assert!(matches!(
            create_key_file(&path),
            Err(RootKeyError::KeyFile { .. })
        ));
        std::fs::write(dir.path().join("short"), [1; 31]).unwrap();
        std::fs::write(dir.path().join("long"), [1; 33]).unwrap();
        for name in ["short", "long"] {
            assert_eq!(
                read_key_file(&dir.path().join(name)).unwrap_err(),
                RootKeyError::KeyFileLength
            );
        }
        assert!(matches!(
            read_key_file(&dir.path().join("missing")),
            Err(RootKeyError::KeyFile { .. })
        ));
    }
}
