//! C2SP `signed-note` (c2sp.org/signed-note@v1) with Ed25519 keys, compatible with Go's
//! `golang.org/x/mod/sumdb/note`.
//!
//! A note is UTF-8 text ending in a newline, an empty line, then one or more signature lines:
//!
//! ```text
//! <text>\n
//! \n
//! — <key name> <base64(4-byte key ID ‖ 64-byte Ed25519 signature)>\n
//! ```
//!
//! The key ID is `SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)[:4]`. Keys travel as *vkeys*,
//! `<name>+<hex key ID>+<base64(0x01 ‖ public key)>`, and private keys as Go-compatible *skeys*,
//! `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ seed)>`.
//!
//! Verification rules (the spec's): signature lines from keys the verifier does not know are
//! ignored; a signature from a known key that does not verify rejects the whole note; a note with
//! no verified signature is rejected.

use core::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::signature::{self, Ed25519KeyPair, KeyPair};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Category, TrustError};
use crate::root::BackendError;

/// Signature type byte of an Ed25519 note key.
pub(crate) const ALG_ED25519: u8 = 0x01;
/// The largest note accepted by the parser.
pub(crate) const MAX_NOTE_LEN: usize = 1 << 16;
/// The most signature lines accepted (Go accepts at most 100).
pub(crate) const MAX_SIGNATURES: usize = 100;

const SIG_PREFIX: &str = "\u{2014} ";

/// A note failed to parse or verify.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoteError {
    /// The bytes are not a well-formed signed note (or vkey/skey).
    Malformed,
    /// A signature from a known key does not verify.
    BadSignature {
        /// The key name.
        name: String,
    },
    /// No signature from any known key.
    NoKnownSignature,
    /// A key string is malformed.
    BadKey,
    /// Signing failed (a ring failure; should not happen).
    SignFailed,
    /// The device holding an external signing key (an HSM) refused or failed.
    Backend(BackendError),
}

impl fmt::Display for NoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("malformed signed note"),
            Self::BadSignature { name } => write!(f, "invalid signature for key {name}"),
            Self::NoKnownSignature => f.write_str("note has no signature from a known key"),
            Self::BadKey => f.write_str("malformed note key"),
            Self::SignFailed => f.write_str("signing the note failed"),
            Self::Backend(e) => write!(f, "signing the note failed: {}", e.message()),
        }
    }
}

impl std::error::Error for NoteError {}

impl TrustError for NoteError {
    fn category(&self) -> Category {
        match self {
            Self::BadKey => Category::Usage,
            Self::SignFailed => Category::Internal,
            Self::Backend(e) => e.category(),
            _ => Category::Verification,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "MALFORMED",
            Self::BadSignature { .. } => "BAD_SIGNATURE",
            Self::NoKnownSignature => "BAD_SIGNATURE",
            Self::BadKey => "BAD_KEY",
            Self::SignFailed => "SIGN_FAILED",
            Self::Backend(e) => e.code(),
        }
    }
}

/// A valid key name: non-empty, no Unicode whitespace, no `+`.
pub(crate) fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// `SHA-256(name ‖ "\n" ‖ alg ‖ key)[:4]` as a big-endian u32.
pub(crate) fn key_id(name: &str, alg_and_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(alg_and_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A public note key.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    id: u32,
    public: [u8; 32],
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verifier({})", self.vkey())
    }
}

impl Verifier {
    /// A verifier for an Ed25519 public key under `name`.
    ///
    /// # Errors
    /// [`NoteError::BadKey`] when the name is invalid.
    pub fn new(name: &str, public: [u8; 32]) -> Result<Self, NoteError> {
        if !valid_key_name(name) {
            return Err(NoteError::BadKey);
        }
        let mut k = [0u8; 33];
        k[0] = ALG_ED25519;
        k[1..].copy_from_slice(&public);
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, &k),
            public,
        })
    }

    /// Parses a vkey `<name>+<hex id>+<base64(0x01 ‖ key)>`, checking the ID.
    ///
    /// # Errors
    /// [`NoteError::BadKey`] on any malformation, unknown algorithm or ID mismatch.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        // Split on the first two '+' only: base64 may itself contain '+'.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::BadKey);
        };
        let id = parse_key_id(id_hex)?;
        let key = B64.decode(key_b64).map_err(|_| NoteError::BadKey)?;
        if key.len() != 33 || key[0] != ALG_ED25519 {
            return Err(NoteError::BadKey);
        }
        let mut public = [0u8; 32];
        public.copy_from_slice(&key[1..]);
        let v = Self::new(name, public)?;
        if v.id != id {
            return Err(NoteError::BadKey);
        }
        Ok(v)
    }

    /// The vkey text.
    pub fn vkey(&self) -> String {
        let mut k = [0u8; 33];
        k[0] = ALG_ED25519;
        k[1..].copy_from_slice(&self.public);
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(k))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key ID.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.public)
            .verify(msg, sig)
            .is_ok()
    }
}

fn parse_key_id(hex_id: &str) -> Result<u32, NoteError> {
    if hex_id.len() != 8
        || !hex_id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(NoteError::BadKey);
    }
    u32::from_str_radix(hex_id, 16).map_err(|_| NoteError::BadKey)
}

/// An Ed25519 private key held outside this process (in an HSM): it signs, it never reveals
/// itself. `trust-pkcs11` implements it with `CKM_EDDSA`.
pub trait ExternalEd25519: Send + Sync {
    /// The 32-byte public key.
    fn public_key(&self) -> [u8; 32];

    /// A pure Ed25519 (RFC 8032) signature of `message`.
    ///
    /// # Errors
    /// [`BackendError`] when the device is unavailable.
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], BackendError>;
}

enum PrivateKey {
    /// The 32-byte seed, in memory.
    Local {
        seed: Zeroizing<[u8; 32]>,
        pair: Ed25519KeyPair,
    },
    /// A key in a device.
    External(Arc<dyn ExternalEd25519>),
}

/// A private note key (Ed25519): a 32-byte seed in memory, or a key held in an HSM.
pub struct Signer {
    name: String,
    key: PrivateKey,
    verifier: Verifier,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({}, <redacted>)", self.verifier.vkey())
    }
}

impl Signer {
    /// A signer from a 32-byte Ed25519 seed.
    ///
    /// # Errors
    /// [`NoteError::BadKey`] when the name is invalid.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| NoteError::BadKey)?;
        let mut public = [0u8; 32];
        public.copy_from_slice(pair.public_key().as_ref());
        Ok(Self {
            name: name.to_owned(),
            key: PrivateKey::Local {
                seed: Zeroizing::new(*seed),
                pair,
            },
            verifier: Verifier::new(name, public)?,
        })
    }

    /// A signer whose private key stays in a device (an HSM): no skey exists for it.
    ///
    /// # Errors
    /// [`NoteError::BadKey`] when the name is invalid.
    pub fn external(name: &str, key: Arc<dyn ExternalEd25519>) -> Result<Self, NoteError> {
        Ok(Self {
            name: name.to_owned(),
            verifier: Verifier::new(name, key.public_key())?,
            key: PrivateKey::External(key),
        })
    }

    /// True when the private key is held outside this process.
    pub fn is_external(&self) -> bool {
        matches!(self.key, PrivateKey::External(_))
    }

    /// A fresh random key named `name`.
    ///
    /// # Errors
    /// [`NoteError::BadKey`] for an invalid name, [`NoteError::SignFailed`] when the OS has no
    /// randomness.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        let seed =
            Zeroizing::new(crate::secret::random_array::<32>().map_err(|_| NoteError::SignFailed)?);
        Self::from_seed(name, &seed)
    }

    /// Parses a Go-compatible skey `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`.
    ///
    /// # Errors
    /// [`NoteError::BadKey`] on any malformation or ID mismatch.
    pub fn from_skey(skey: &str) -> Result<Self, NoteError> {
        let mut parts = skey.splitn(5, '+');
        let (Some("PRIVATE"), Some("KEY"), Some(name), Some(id_hex), Some(key_b64)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(NoteError::BadKey);
        };
        let id = parse_key_id(id_hex)?;
        let key = Zeroizing::new(B64.decode(key_b64).map_err(|_| NoteError::BadKey)?);
        if key.len() != 33 || key[0] != ALG_ED25519 {
            return Err(NoteError::BadKey);
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&key[1..]);
        let signer = Self::from_seed(name, &seed)?;
        if signer.verifier.id != id {
            return Err(NoteError::BadKey);
        }
        Ok(signer)
    }

    /// The skey text (secret: write it only to a private file); `None` for an external key,
    /// which cannot be exported.
    pub fn skey(&self) -> Option<Zeroizing<String>> {
        let PrivateKey::Local { seed, .. } = &self.key else {
            return None;
        };
        let mut k = Zeroizing::new([0u8; 33]);
        k[0] = ALG_ED25519;
        k[1..].copy_from_slice(&**seed);
        Some(Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.verifier.id,
            B64.encode(*k)
        )))
    }

    /// The matching public key.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The signature line (without the trailing newline) for `text`.
    ///
    /// # Errors
    /// [`NoteError::Backend`] when an external key's device fails; [`NoteError::SignFailed`]
    /// when it returns a signature that does not verify under its own public key (checked, so
    /// a faulty device can never publish an unverifiable checkpoint).
    pub fn sign_line(&self, text: &str) -> Result<String, NoteError> {
        let sig: [u8; 64] = match &self.key {
            PrivateKey::Local { pair, .. } => pair
                .sign(text.as_bytes())
                .as_ref()
                .try_into()
                .map_err(|_| NoteError::SignFailed)?,
            PrivateKey::External(key) => {
                let sig = key.sign(text.as_bytes()).map_err(NoteError::Backend)?;
                if !self.verifier.verify(text.as_bytes(), &sig) {
                    return Err(NoteError::SignFailed);
                }
                sig
            }
        };
        let mut payload = Vec::with_capacity(68);
        payload.extend_from_slice(&self.verifier.id.to_be_bytes());
        payload.extend_from_slice(&sig);
        Ok(format!("{SIG_PREFIX}{} {}", self.name, B64.encode(payload)))
    }

    /// Signs `text` (which must be a valid note text) into a complete note.
    ///
    /// # Errors
    /// [`NoteError::Malformed`] when the text is not a valid note text.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        Ok(format!("{text}\n{}\n", self.sign_line(text)?))
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignatureLine {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub id: u32,
    /// The signature bytes after the key ID.
    pub sig: Vec<u8>,
}

/// A parsed, not yet verified, note.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Note {
    /// The signed text, ending in `\n`.
    pub text: String,
    /// Every signature line, in order.
    pub signatures: Vec<SignatureLine>,
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') || text.chars().any(|c| c != '\n' && c.is_control())
    {
        return Err(NoteError::Malformed);
    }
    Ok(())
}

impl Note {
    /// Parses a note without verifying any signature.
    ///
    /// # Errors
    /// [`NoteError::Malformed`] on any syntax error or when a bound is exceeded.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_LEN {
            return Err(NoteError::Malformed);
        }
        let s = core::str::from_utf8(bytes).map_err(|_| NoteError::Malformed)?;
        // The text ends at the last blank line: "\n\n" splits text (keeping its final newline)
        // from the signature block.
        let split = s.rfind("\n\n").ok_or(NoteError::Malformed)?;
        let text = &s[..=split];
        let sigs = &s[split + 2..];
        check_text(text)?;
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(NoteError::Malformed);
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::Malformed);
            }
            let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed)?;
            let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed)?;
            if !valid_key_name(name) {
                return Err(NoteError::Malformed);
            }
            let raw = B64.decode(b64).map_err(|_| NoteError::Malformed)?;
            if raw.len() < 5 {
                return Err(NoteError::Malformed);
            }
            signatures.push(SignatureLine {
                name: name.to_owned(),
                id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
                sig: raw[4..].to_vec(),
            });
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Verifies the note against `known` keys and returns the names that signed it.
    ///
    /// # Errors
    /// [`NoteError::BadSignature`] when a known key's signature fails;
    /// [`NoteError::NoKnownSignature`] when no known key signed.
    pub fn verify(&self, known: &[Verifier]) -> Result<Vec<String>, NoteError> {
        let mut verified = Vec::new();
        for line in &self.signatures {
            let Some(v) = known
                .iter()
                .find(|v| v.name == line.name && v.id == line.id)
            else {
                continue; // unknown signer: ignored by design (witnesses, rotated keys)
            };
            if !v.verify(self.text.as_bytes(), &line.sig) {
                return Err(NoteError::BadSignature {
                    name: line.name.clone(),
                });
            }
            if !verified.contains(&line.name) {
                verified.push(line.name.clone());
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(verified)
    }

    /// Parses and verifies in one step.
    ///
    /// # Errors
    /// As [`Self::parse`] and [`Self::verify`].
    pub fn open(bytes: &[u8], known: &[Verifier]) -> Result<Self, NoteError> {
        let note = Self::parse(bytes)?;
        note.verify(known)?;
        Ok(note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // golang.org/x/mod/sumdb/note note_test.go (TestNewSigner, TestSign, TestOpen).
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    #[test]
    fn go_skey_reproduces_the_published_signature() {
        let signer = Signer::from_skey(PETER_SKEY).unwrap();
        assert_eq!(signer.verifier().vkey(), PETER_VKEY);
        assert_eq!(signer.sign(TEXT).unwrap(), format!("{TEXT}\n{PETER_SIG}"));
        assert_eq!(&*signer.skey().unwrap(), PETER_SKEY);
    }

    #[test]
    fn go_open_rules() {
        let peter = Verifier::from_vkey(PETER_VKEY).unwrap();
        let enoch = Verifier::from_vkey(ENOCH_VKEY).unwrap();
        let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        // One known, one unknown: the unknown one is ignored.
        let note = Note::open(msg.as_bytes(), std::slice::from_ref(&peter)).unwrap();
        assert_eq!(note.text, TEXT);
        assert_eq!(note.signatures.len(), 2);
        assert_eq!(
            note.verify(&[peter.clone(), enoch.clone()]).unwrap(),
            ["PeterNeumann", "EnochRoot"]
        );
        // No known key.
        assert_eq!(
            Note::open(msg.as_bytes(), &[]),
            Err(NoteError::NoKnownSignature)
        );
        // Invalid signature from a known key rejects the note.
        let bad = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        assert!(matches!(
            Note::open(bad.as_bytes(), std::slice::from_ref(&peter)),
            Err(NoteError::BadSignature { .. }) | Err(NoteError::Malformed)
        ));
        let mut flipped = format!("{TEXT}\n{PETER_SIG}").into_bytes();
        flipped[3] ^= 1; // inside the text
        assert_eq!(
            Note::open(&flipped, std::slice::from_ref(&peter)),
            Err(NoteError::BadSignature {
                name: "PeterNeumann".into()
            })
        );
        // Too many signatures.
        let many = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
        assert_eq!(
            Note::open(many.as_bytes(), std::slice::from_ref(&peter)),
            Err(NoteError::Malformed)
        );
        // Go's badMsgs.
        let peter_line_no_nl = &PETER_SIG[..PETER_SIG.len() - 1];
        for msg in [
            TEXT.to_owned(),
            format!("{TEXT}\n"),
            format!("{TEXT}\n{peter_line_no_nl}"),
            format!("\x01{TEXT}\n{PETER_SIG}"),
            format!(
                "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
            ),
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
        ] {
            assert_eq!(
                Note::open(msg.as_bytes(), std::slice::from_ref(&peter)),
                Err(NoteError::Malformed),
                "{msg:?}"
            );
        }
        let mut invalid_utf8 = b"\xff".to_vec();
        invalid_utf8.extend_from_slice(format!("{TEXT}\n{PETER_SIG}").as_bytes());
        assert_eq!(Note::parse(&invalid_utf8), Err(NoteError::Malformed));
    }

    #[test]
    fn vkey_manglings_are_rejected() {
        // Go's TestNewVerifier: every proper substring and every single-byte increment fails.
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                if let Ok(s) = core::str::from_utf8(&b[i..j]) {
                    assert!(Verifier::from_vkey(s).is_err(), "{s}");
                }
            }
        }
        let mut m = b.to_vec();
        for i in 0..m.len() {
            m[i] = m[i].wrapping_add(1);
            if let Ok(s) = core::str::from_utf8(&m) {
                assert!(Verifier::from_vkey(s).is_err(), "{s}");
            }
            m[i] = m[i].wrapping_sub(1);
        }
        // Wrong length key / unknown algorithm, each with an adjusted key hash (Go's cases).
        assert!(
            Verifier::from_vkey(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            )
            .is_err()
        );
        assert!(
            Verifier::from_vkey(
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            )
            .is_err()
        );
        assert!(
            Signer::from_skey(
                "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
            )
            .is_err()
        );
    }

    #[test]
    fn generated_keys_sign_and_verify_and_redact() {
        let s = Signer::generate("example.com/audit").unwrap();
        let note = s.sign("hello\n").unwrap();
        Note::open(note.as_bytes(), std::slice::from_ref(s.verifier())).unwrap();
        let v2 = Verifier::from_vkey(&s.verifier().vkey()).unwrap();
        assert_eq!(&v2, s.verifier());
        assert!(!format!("{s:?}").contains(&s.skey().unwrap()[20..]));
        assert!(Signer::generate("bad name").is_err());
        assert!(s.sign("no newline").is_err());
        assert_eq!(
            NoteError::NoKnownSignature.category(),
            Category::Verification
        );
    }
}
