//! The contract between envelope encryption and whatever holds the keys.
//!
//! The envelope never reads keyring files or talks to a KMS itself: it asks a [`KeyProvider`]
//! for the key-encryption key (KEK) to seal under, and for the KEK named by a message's
//! [`KeyRef`] when opening. The local keyring implements this trait; the GDPR subject-key store
//! wraps it so that messages sealed for a data subject are opened with that subject's key; an
//! HSM- or KMS-backed provider can be added later without touching callers.
//!
//! A provider decides *policy*: which version is Primary, whether a version may still decrypt,
//! whether a usage ceiling is reached. The envelope decides *cryptography*. Refusals come back as
//! a typed [`KeyError`], which callers can tell apart from an authentication failure.

use core::fmt;
use core::str::FromStr;
use std::sync::Arc;

use crate::error::{Category, TrustError};
use crate::secret::Key256;

/// The AEAD suite a keyring seals new messages with.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Suite {
    /// AES-256-GCM with per-message keys derived by HKDF and a 32-byte key commitment. Default.
    #[default]
    Aes256Gcm,
    /// XChaCha20-Poly1305 in the same construction, for hosts without AES hardware.
    XChaCha20Poly1305,
}

impl Suite {
    /// Every suite, in id order.
    pub const ALL: [Self; 2] = [Self::Aes256Gcm, Self::XChaCha20Poly1305];

    /// The stable wire identifier written into envelope headers.
    pub const fn id(self) -> u16 {
        match self {
            Self::Aes256Gcm => 0x0001,
            Self::XChaCha20Poly1305 => 0x0002,
        }
    }

    /// The suite with wire identifier `id`, if known.
    pub const fn from_id(id: u16) -> Option<Self> {
        match id {
            0x0001 => Some(Self::Aes256Gcm),
            0x0002 => Some(Self::XChaCha20Poly1305),
            _ => None,
        }
    }

    /// The name used on the command line and in keyring files.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Aes256Gcm => "aes-256-gcm",
            Self::XChaCha20Poly1305 => "xchacha20-poly1305",
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Suite {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|suite| suite.name() == s)
            .ok_or(KeyError::UnknownSuite)
    }
}

/// Names one key version: what an envelope header records so that opening never has to try
/// every key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct KeyRef {
    /// The keyring's name (`[a-z0-9._-]`, 1 to [`KeyRef::MAX_NAME_LEN`] bytes).
    pub keyring: String,
    /// The keyring version (numbered from 1, never reused).
    pub version: u32,
    /// For messages sealed for one data subject: the subject's pseudonym (never the raw id).
    /// `None` for messages sealed directly under the keyring.
    pub subject: Option<String>,
}

impl KeyRef {
    /// Longest keyring name or subject pseudonym accepted, in bytes.
    pub const MAX_NAME_LEN: usize = 64;

    /// A reference to `version` of `keyring`, with no subject.
    pub fn new(keyring: impl Into<String>, version: u32) -> Self {
        Self {
            keyring: keyring.into(),
            version,
            subject: None,
        }
    }

    /// True when `name` is a valid keyring name or subject pseudonym: 1 to 64 bytes of
    /// `[a-z0-9._-]`, not starting with `.` or `-` (so it is safe as a file name).
    pub fn is_valid_name(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= Self::MAX_NAME_LEN
            && !name.starts_with(['.', '-'])
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    }
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} v{}", self.keyring, self.version)?;
        if let Some(subject) = &self.subject {
            write!(f, " (subject {subject})")?;
        }
        Ok(())
    }
}

/// The key a new message is sealed under.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EncryptionKey {
    /// Which key this is; written into the message header.
    pub key_ref: KeyRef,
    /// The suite the keyring prescribes for new messages.
    pub suite: Suite,
    /// The key-encryption key that wraps the message's data key.
    pub kek: Arc<Key256>,
}

impl EncryptionKey {
    /// `kek`, named `key_ref`, sealing new messages with `suite` (what a [`KeyProvider`]
    /// outside this crate returns from [`KeyProvider::encryption_key`]).
    pub fn new(key_ref: KeyRef, suite: Suite, kek: Arc<Key256>) -> Self {
        Self {
            key_ref,
            suite,
            kek,
        }
    }
}

/// Where keys come from. Implemented by the local keyring and by wrappers around it.
pub trait KeyProvider: Send + Sync {
    /// The key new messages under `keyring` are sealed with: its Primary version. Each call
    /// counts as one use of that version toward its usage ceiling.
    ///
    /// # Errors
    /// [`KeyError`] when the keyring is unknown, has no Primary, or its ceiling is reached.
    fn encryption_key(&self, keyring: &str) -> Result<EncryptionKey, KeyError>;

    /// The key-encryption key named by `key_ref`, if that version may decrypt.
    ///
    /// # Errors
    /// [`KeyError`] when the version is unknown, disabled, pending destruction, destroyed, or
    /// (for subject keys) erased.
    fn decryption_key(&self, key_ref: &KeyRef) -> Result<Arc<Key256>, KeyError>;
}

impl<T: KeyProvider + ?Sized> KeyProvider for Arc<T> {
    fn encryption_key(&self, keyring: &str) -> Result<EncryptionKey, KeyError> {
        (**self).encryption_key(keyring)
    }
    fn decryption_key(&self, key_ref: &KeyRef) -> Result<Arc<Key256>, KeyError> {
        (**self).decryption_key(key_ref)
    }
}

impl<T: KeyProvider + ?Sized> KeyProvider for &T {
    fn encryption_key(&self, keyring: &str) -> Result<EncryptionKey, KeyError> {
        (**self).encryption_key(keyring)
    }
    fn decryption_key(&self, key_ref: &KeyRef) -> Result<Arc<Key256>, KeyError> {
        (**self).decryption_key(key_ref)
    }
}

/// A key could not be provided. Always distinct from "authentication failed": the message may
/// be intact, but the key it needs is not usable.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// No keyring of that name exists.
    UnknownKeyring {
        /// The keyring asked for.
        keyring: String,
    },
    /// The keyring has no such version.
    UnknownVersion {
        /// The key asked for.
        key_ref: KeyRef,
    },
    /// The keyring has no Primary version to seal with.
    NoPrimary {
        /// The keyring asked for.
        keyring: String,
    },
    /// The version is Disabled (reversible: `trust keys enable`).
    Disabled {
        /// The key asked for.
        key_ref: KeyRef,
    },
    /// The version is scheduled for destruction and may no longer decrypt.
    PendingDestroy {
        /// The key asked for.
        key_ref: KeyRef,
    },
    /// The version was destroyed; its tombstone remains.
    Destroyed {
        /// The key asked for.
        key_ref: KeyRef,
    },
    /// The Primary version reached its usage ceiling: rotate before sealing more.
    UsageLimitReached {
        /// The exhausted version.
        key_ref: KeyRef,
    },
    /// The version is below the keyring's minimum decryption version (`trust keys config
    /// --min-decryption-version`): it may no longer decrypt, though its material still exists.
    BelowMinDecryption {
        /// The key asked for.
        key_ref: KeyRef,
        /// The keyring's minimum decryption version.
        min: u32,
    },
    /// The Primary is below the keyring's minimum encryption version: sealing is refused until
    /// a newer version is promoted.
    BelowMinEncryption {
        /// The Primary.
        key_ref: KeyRef,
        /// The keyring's minimum encryption version.
        min: u32,
    },
    /// The data subject's key was erased (crypto-shredded).
    SubjectErased {
        /// The subject's key reference (pseudonym only).
        key_ref: KeyRef,
    },
    /// The suite name is not one this library knows.
    UnknownSuite,
    /// The key store could not be read; the reason holds no key material.
    Backend {
        /// What went wrong.
        reason: String,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownKeyring { keyring } => write!(f, "no keyring named {keyring:?}"),
            Self::UnknownVersion { key_ref } => write!(f, "key {key_ref} does not exist"),
            Self::NoPrimary { keyring } => write!(f, "keyring {keyring:?} has no primary version"),
            Self::Disabled { key_ref } => write!(f, "key {key_ref} is disabled"),
            Self::PendingDestroy { key_ref } => {
                write!(f, "key {key_ref} is scheduled for destruction")
            }
            Self::Destroyed { key_ref } => write!(f, "key {key_ref} was destroyed"),
            Self::UsageLimitReached { key_ref } => {
                write!(f, "key {key_ref} reached its usage ceiling")
            }
            Self::BelowMinDecryption { key_ref, min } => write!(
                f,
                "key {key_ref} is below the keyring's minimum decryption version v{min}"
            ),
            Self::BelowMinEncryption { key_ref, min } => write!(
                f,
                "primary key {key_ref} is below the keyring's minimum encryption version v{min}"
            ),
            Self::SubjectErased { key_ref } => {
                write!(f, "the data subject of key {key_ref} was erased")
            }
            Self::UnknownSuite => f.write_str("unknown suite"),
            Self::Backend { reason } => write!(f, "the key store failed: {reason}"),
        }
    }
}

impl std::error::Error for KeyError {}

impl TrustError for KeyError {
    fn category(&self) -> Category {
        match self {
            Self::UnknownSuite => Category::Usage,
            Self::Backend { .. } => Category::Internal,
            _ => Category::KeyUnavailable,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::UnknownKeyring { .. } => "UNKNOWN_KEYRING",
            Self::UnknownVersion { .. } => "UNKNOWN_KEY_VERSION",
            Self::NoPrimary { .. } => "NO_PRIMARY_KEY",
            Self::Disabled { .. } => "KEY_DISABLED",
            Self::PendingDestroy { .. } => "KEY_PENDING_DESTROY",
            Self::Destroyed { .. } => "KEY_DESTROYED",
            Self::UsageLimitReached { .. } => "KEY_USAGE_LIMIT",
            Self::BelowMinDecryption { .. } => "KEY_BELOW_MIN_DECRYPTION",
            Self::BelowMinEncryption { .. } => "KEY_BELOW_MIN_ENCRYPTION",
            Self::SubjectErased { .. } => "SUBJECT_ERASED",
            Self::UnknownSuite => "UNKNOWN_SUITE",
            Self::Backend { .. } => "KEY_STORE_FAILED",
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::UnknownKeyring { .. } => Some("list keyrings with `trust keys list`"),
            Self::NoPrimary { .. } => Some("promote a version with `trust keys promote`"),
            Self::Disabled { .. } => Some("re-enable it with `trust keys enable` if still needed"),
            Self::UsageLimitReached { .. } => Some("rotate with `trust keys rotate --promote`"),
            Self::BelowMinDecryption { .. } => Some(
                "lower it with `trust keys config NAME --min-decryption-version N` if the data is still needed",
            ),
            Self::BelowMinEncryption { .. } => {
                Some("rotate and promote a newer version, or lower the minimum encryption version")
            }
            Self::UnknownSuite => Some("use aes-256-gcm or xchacha20-poly1305"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_ids_and_names_round_trip() {
        for suite in Suite::ALL {
            assert_eq!(Suite::from_id(suite.id()), Some(suite));
            assert_eq!(suite.name().parse::<Suite>().unwrap(), suite);
        }
        assert_eq!(Suite::from_id(0), None);
        assert_eq!("aes-128-gcm".parse::<Suite>(), Err(KeyError::UnknownSuite));
    }

    #[test]
    fn names_are_file_safe() {
        for ok in ["orders", "tenant-42.credentials", "a", &"x".repeat(64)] {
            assert!(KeyRef::is_valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".hidden",
            "-flag",
            "Orders",
            "a/b",
            "a b",
            &"x".repeat(65),
            "é",
        ] {
            assert!(!KeyRef::is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn key_errors_are_not_authentication_failures() {
        let r = KeyRef::new("orders", 3);
        for e in [
            KeyError::Disabled { key_ref: r.clone() },
            KeyError::Destroyed { key_ref: r.clone() },
            KeyError::UnknownVersion { key_ref: r },
        ] {
            assert_eq!(e.category(), Category::KeyUnavailable);
            assert_eq!(e.category().exit_code(), 4);
        }
    }
}
