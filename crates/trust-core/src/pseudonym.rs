//! Keyed-hash pseudonyms: stable, non-reversible stand-ins for personal identifiers.
//!
//! The audit log, GDPR exports and analytics need to say "the same customer as before" without
//! holding the customer's id, e-mail or name. A plain `SHA-256(email)` does not do that: anyone can
//! hash a list of candidate e-mails and match them (a dictionary attack). A *keyed* hash does:
//!
//! ```text
//! pseudonym = HMAC-SHA-256(K_v, "trust-layer/pseudonym/v1" ‖ 0x00 ‖ domain ‖ 0x00 ‖ identifier)
//! ```
//!
//! * **Keyed.** Without `K_v` nobody can test a guess. Under GDPR (Recital 26) a pseudonym is
//!   still personal data while the key exists; destroying the key is the erasure lever.
//! * **Versioned.** Every key has a version `v` ([`PseudonymKey::version`]) that travels with
//!   the pseudonym ([`Pseudonym::key_version`]), so keys can be rotated: old pseudonyms stay
//!   interpretable by whoever still holds the old key, new ones use the new key.
//! * **Domain-separated.** The same string used as an actor and as a subject (or as an e-mail and
//!   as a customer id) gives unrelated pseudonyms, so one list cannot be joined with another by
//!   accident. Domains are [`Domain`] values; custom domains ([`CustomDomain::new`]) must be
//!   non-empty, short and free of `0x00`.
//!
//! The input encoding is injective: the domain cannot contain the `0x00` separator, so
//! `(domain, identifier)` pairs never collide before hashing.
//!
//! ```
//! use trust_core::pseudonym::{Domain, PseudonymKey};
//! use trust_core::secret::Key256;
//!
//! let key = PseudonymKey::new(1, Key256::from_bytes([7; 32]));
//! let a = key.pseudonym(Domain::Subject, "customer-42");
//! let b = key.pseudonym(Domain::Actor, "customer-42");
//! assert_ne!(a.as_bytes(), b.as_bytes());
//! assert_eq!(a, key.pseudonym(Domain::Subject, "customer-42"));
//! ```

use core::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Category, TrustError};
use crate::secret::Key256;

/// The label that fixes this construction; a future format changes the label.
const LABEL: &[u8] = b"trust-layer/pseudonym/v1";

/// The longest custom domain name accepted.
pub const MAX_DOMAIN_LEN: usize = 64;

/// What kind of identifier is being pseudonymized; part of the hashed input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Domain<'a> {
    /// Whoever performed an action (an operator, a service account).
    Actor,
    /// Whom an action concerns (a data subject, a customer).
    Subject,
    /// An e-mail address (normalise it first if you want case-insensitive matching).
    Email,
    /// A tenant (merchant, workspace) identifier.
    Tenant,
    /// An application-defined domain, checked when it is made.
    Custom(CustomDomain<'a>),
}

/// The name of an application-defined domain: non-empty, at most [`MAX_DOMAIN_LEN`] bytes, no
/// `0x00` (which keeps the hashed encoding injective).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CustomDomain<'a>(&'a str);

impl<'a> CustomDomain<'a> {
    /// Checks and wraps a custom domain name.
    ///
    /// # Errors
    /// [`PseudonymError::BadDomain`] when `name` is empty, too long or contains `0x00`.
    pub fn new(name: &'a str) -> Result<Self, PseudonymError> {
        if name.is_empty() || name.len() > MAX_DOMAIN_LEN || name.as_bytes().contains(&0) {
            return Err(PseudonymError::BadDomain);
        }
        Ok(Self(name))
    }
}

impl Domain<'_> {
    /// The domain name hashed into the pseudonym.
    pub fn name(&self) -> &str {
        match self {
            Self::Actor => "actor",
            Self::Subject => "subject",
            Self::Email => "email",
            Self::Tenant => "tenant",
            Self::Custom(CustomDomain(name)) => name,
        }
    }
}

/// A pseudonymization key: 256 bits of key material and the version that names it.
#[derive(Clone, Debug)]
pub struct PseudonymKey {
    version: u32,
    key: Key256,
}

impl PseudonymKey {
    /// Wraps existing key material as version `version`.
    pub fn new(version: u32, key: Key256) -> Self {
        Self { version, key }
    }

    /// A fresh random key of version `version`.
    ///
    /// # Errors
    /// [`crate::error::RandomError`] when the OS cannot provide randomness.
    pub fn generate(version: u32) -> Result<Self, crate::error::RandomError> {
        Ok(Self::new(version, Key256::generate()?))
    }

    /// The key version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The key material (for persisting it in a private file).
    pub fn key(&self) -> &Key256 {
        &self.key
    }

    /// The pseudonym of `identifier` in `domain`.
    pub fn pseudonym(&self, domain: Domain<'_>, identifier: &str) -> Pseudonym {
        self.pseudonym_bytes(domain, identifier.as_bytes())
    }

    /// The pseudonym of raw `identifier` bytes in `domain`.
    pub fn pseudonym_bytes(&self, domain: Domain<'_>, identifier: &[u8]) -> Pseudonym {
        // HMAC accepts keys of any length; a 32-byte key cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose())
            .unwrap_or_else(|_| unreachable!("HMAC accepts 32-byte keys"));
        mac.update(LABEL);
        mac.update(&[0]);
        mac.update(domain.name().as_bytes());
        mac.update(&[0]);
        mac.update(identifier);
        Pseudonym {
            key_version: self.version,
            bytes: mac.finalize().into_bytes().into(),
        }
    }
}

/// A 32-byte pseudonym and the version of the key that made it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pseudonym {
    key_version: u32,
    bytes: [u8; 32],
}

impl Pseudonym {
    /// Reassembles a stored pseudonym.
    pub fn from_parts(key_version: u32, bytes: [u8; 32]) -> Self {
        Self { key_version, bytes }
    }

    /// The version of the key that made this pseudonym.
    pub fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The 32 pseudonym bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Lower-case hex of the bytes, for display and JSON.
    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes)
    }
}

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pseudonym(v{}:{})", self.key_version, self.to_hex())
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}:{}", self.key_version, self.to_hex())
    }
}

/// A pseudonym could not be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PseudonymError {
    /// A custom domain name is empty, longer than [`MAX_DOMAIN_LEN`] or contains `0x00`.
    BadDomain,
}

impl fmt::Display for PseudonymError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadDomain => write!(
                f,
                "a pseudonym domain must be 1 to {MAX_DOMAIN_LEN} bytes without NUL"
            ),
        }
    }
}

impl std::error::Error for PseudonymError {}

impl TrustError for PseudonymError {
    fn category(&self) -> Category {
        Category::Usage
    }
    fn code(&self) -> &'static str {
        "BAD_PSEUDONYM_DOMAIN"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(version: u32, byte: u8) -> PseudonymKey {
        PseudonymKey::new(version, Key256::from_bytes([byte; 32]))
    }

    /// Known answer computed independently with Python's `hmac` module:
    /// `hmac.new(bytes([7]*32), b"trust-layer/pseudonym/v1\0subject\0customer-42",
    /// hashlib.sha256).hexdigest()`.
    #[test]
    fn known_answer() {
        let p = key(1, 7).pseudonym(Domain::Subject, "customer-42");
        assert_eq!(p.to_hex(), KAT_SUBJECT);
        assert_eq!(p.key_version(), 1);
    }
    const KAT_SUBJECT: &str = "336b5de4cc701c6cb824c02da5c1157745c1c19326c8a75052103fe121947067";

    #[test]
    fn custom_domains_are_checked() {
        assert_eq!(CustomDomain::new(""), Err(PseudonymError::BadDomain));
        assert_eq!(CustomDomain::new("a\0b"), Err(PseudonymError::BadDomain));
        let long = "d".repeat(MAX_DOMAIN_LEN + 1);
        assert_eq!(CustomDomain::new(&long), Err(PseudonymError::BadDomain));
        assert!(CustomDomain::new(&long[1..]).is_ok());
        assert_eq!(PseudonymError::BadDomain.category(), Category::Usage);
    }

    #[test]
    fn custom_domain_equal_to_builtin_name_is_the_same_domain() {
        // Documented behaviour: domains are names; "actor" is "actor" however it is spelled.
        let k = key(1, 3);
        assert_eq!(
            k.pseudonym(Domain::Actor, "ops"),
            k.pseudonym(Domain::Custom(CustomDomain::new("actor").unwrap()), "ops")
        );
    }

    #[test]
    fn debug_shows_no_key() {
        let k = key(9, 0xAB);
        assert!(!format!("{k:?}").contains("ab"));
    }

    proptest! {
        #[test]
        fn pseudonyms_differ_across_domains(id in ".{0,40}", byte in any::<u8>()) {
            let k = key(1, byte);
            let domains = [Domain::Actor, Domain::Subject, Domain::Email, Domain::Tenant,
                Domain::Custom(CustomDomain::new("order").unwrap())];
            for (i, a) in domains.iter().enumerate() {
                for b in &domains[i + 1..] {
                    prop_assert_ne!(*k.pseudonym(*a, &id).as_bytes(), *k.pseudonym(*b, &id).as_bytes());
                }
            }
        }

        #[test]
        fn pseudonyms_differ_across_key_versions(id in ".{0,40}", v in 1u32..1000) {
            // Rotating to a new key (new version, new material) changes every pseudonym.
            let old = PseudonymKey::new(v, Key256::from_bytes([v.to_le_bytes()[0]; 32]));
            let new = PseudonymKey::new(v + 1, Key256::from_bytes([v.to_le_bytes()[0] ^ 0x5A; 32]));
            let a = old.pseudonym(Domain::Subject, &id);
            let b = new.pseudonym(Domain::Subject, &id);
            prop_assert_ne!(*a.as_bytes(), *b.as_bytes());
            prop_assert_ne!(a.key_version(), b.key_version());
            prop_assert_ne!(a, b);
        }

        #[test]
        fn pseudonyms_are_deterministic_and_injective_on_ids(a in ".{0,20}", b in ".{0,20}") {
            let k = key(2, 0x11);
            prop_assert_eq!(k.pseudonym(Domain::Email, &a), k.pseudonym(Domain::Email, &a));
            if a != b {
                prop_assert_ne!(k.pseudonym(Domain::Email, &a), k.pseudonym(Domain::Email, &b));
            }
        }
    }
}
