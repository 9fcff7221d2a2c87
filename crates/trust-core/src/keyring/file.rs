//! The keyring file: versioned JSON, authenticated by the root key.
//!
//! ```json
//! {
//!   "format": "trust-keyring",
//!   "format_version": 1,
//!   "keyring": { "name": "orders", "suite": "aes-256-gcm", "revision": 3, … "versions": [ … ] },
//!   "auth": "<base64: root.wrap(aad, SHA-256(canonical keyring JSON))>"
//! }
//! ```
//!
//! * `keyring` is the whole state ([`KeyringRecord`]); unknown fields are rejected so nothing
//!   unauthenticated can ride along.
//! * `auth` wraps the SHA-256 of the *canonical* serialization of `keyring` (this crate's own
//!   `serde_json` output of the parsed record: fixed field order, no whitespace) under the root
//!   key with associated data `"trust.keyring.auth.v1" 0x00 name 0x00 revision(u64 BE)`. A
//!   flipped byte, an edited state, a file copied under another keyring's name, or an `auth`
//!   moved from another revision all fail verification. Rolling the whole file back to an
//!   older, once-valid revision cannot be detected from the file alone (keep backups private,
//!   and see docs/format-keyring.md).
//! * Version keys are wrapped individually under associated data
//!   `"trust.keyring.version.v1" 0x00 name 0x00 version(u32 BE)`, so a wrapped key cannot be
//!   moved to another version or keyring either.
//!
//! [`parse`] checks syntax and every structural invariant without any key (it is the fuzz
//! target's entry point); [`verify`] additionally checks `auth`; [`seal`] writes a file.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::state::VersionState;
use super::version::{Policy, VersionRecord};
use crate::provider::{KeyRef, Suite};
use crate::root::{RootKey, RootKeyError};
use crate::secret::ct_eq;

/// The `format` string of every keyring file.
pub(crate) const FORMAT: &str = "trust-keyring";
/// The newest `format_version` this code reads and writes. Version 2 adds optional fields
/// (the minimum decryption and encryption versions, the rewrap census `moved`); a record that
/// uses none of them is written as version 1, byte for byte as before.
pub(crate) const FORMAT_VERSION: u32 = 2;
/// Largest keyring file accepted (1 MiB): thousands of versions fit; a runaway file does not.
pub(crate) const MAX_FILE_LEN: usize = 1 << 20;
/// Most versions a keyring may hold (tombstones included).
pub(crate) const MAX_VERSIONS: usize = 4096;
/// Largest wrapped version key accepted (base64-decoded), leaving room for KMS blobs.
pub(crate) const MAX_WRAPPED_LEN: usize = 1024;

/// A keyring's complete state: what `auth` authenticates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KeyringRecord {
    /// The keyring's name (also the file name).
    pub name: String,
    /// The suite new messages are sealed with (`aes-256-gcm` or `xchacha20-poly1305`).
    pub suite: String,
    /// Incremented by every change; the compare-and-swap token.
    pub revision: u64,
    /// When the keyring was created (Unix seconds).
    pub created_at: i64,
    /// The number the next version will get: versions are never reused, even after destroy.
    pub next_version: u32,
    /// Rotation and destruction policy.
    pub policy: Policy,
    /// Every version ever created, oldest first; destroyed ones as tombstones.
    pub versions: Vec<VersionRecord>,
    /// Versions below this refuse to decrypt ([`crate::provider::KeyError::BelowMinDecryption`]);
    /// 0 (absent): no minimum. Format version 2.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_decryption_version: u32,
    /// Sealing is refused while the Primary is below this; 0 (absent): no minimum. Format
    /// version 2.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_encryption_version: u32,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl KeyringRecord {
    /// The oldest `format_version` that can hold this record: 2 when it uses a field added in
    /// version 2, else 1 (so readers of version 1 keep reading keyrings that do not need more).
    pub fn format_version(&self) -> u32 {
        let v2 = self.min_decryption_version != 0
            || self.min_encryption_version != 0
            || self.versions.iter().any(|v| v.moved != 0);
        if v2 { 2 } else { 1 }
    }

    /// The newest version number ever created.
    pub fn latest_version(&self) -> u32 {
        self.next_version.saturating_sub(1)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    format: String,
    format_version: u32,
    keyring: KeyringRecord,
    auth: String,
}

/// A keyring file that parsed and passed structural checks, not yet authenticated.
#[derive(Clone, Debug)]
pub struct ParsedFile {
    /// The state as stored.
    pub record: KeyringRecord,
    auth: Vec<u8>,
}

/// Why a keyring file was rejected.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileError {
    /// Larger than `MAX_FILE_LEN` (1 MiB).
    TooLarge,
    /// Not a keyring file at all, or torn (half-written, truncated): the JSON does not parse.
    Malformed(String),
    /// A keyring file of a format version this code does not know.
    UnsupportedVersion(u32),
    /// It parses but breaks an invariant (two Primaries, reused numbers, missing material…).
    Invalid(&'static str),
    /// `auth` does not verify: the file was modified, swapped or written under another root key.
    Unauthentic,
    /// The root key could not be used at all (an HSM or KMS that is unreachable, a disabled
    /// key): says nothing about the file, so it must not read as tampering.
    Root(RootKeyError),
}

fn root_failed(e: RootKeyError) -> FileError {
    match e {
        RootKeyError::Unwrap => FileError::Unauthentic,
        e => FileError::Root(e),
    }
}

impl core::fmt::Display for FileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLarge => write!(f, "larger than {MAX_FILE_LEN} bytes"),
            Self::Malformed(why) => write!(f, "not a well-formed keyring file ({why})"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            Self::Invalid(why) => write!(f, "inconsistent: {why}"),
            Self::Unauthentic => f.write_str("failed authentication"),
            Self::Root(e) => write!(f, "the root key is unavailable: {e}"),
        }
    }
}

/// Parses a keyring file and checks its structure. No key is needed; `auth` is not checked.
///
/// # Errors
/// [`FileError`] for oversized, malformed, unknown-version or inconsistent input.
pub fn parse(bytes: &[u8]) -> Result<ParsedFile, FileError> {
    if bytes.len() > MAX_FILE_LEN {
        return Err(FileError::TooLarge);
    }
    // Peek at the header first so that a future format version gets a clear error rather than
    // "unknown field".
    #[derive(Deserialize)]
    struct Header {
        format: String,
        format_version: u32,
    }
    let header: Header = serde_json::from_slice(bytes).map_err(|e| malformed(&e))?;
    if header.format != FORMAT {
        return Err(FileError::Malformed("not a trust keyring file".into()));
    }
    if !(1..=FORMAT_VERSION).contains(&header.format_version) {
        return Err(FileError::UnsupportedVersion(header.format_version));
    }
    let doc: FileDoc = serde_json::from_slice(bytes).map_err(|e| malformed(&e))?;
    let auth = STANDARD
        .decode(doc.auth.as_bytes())
        .map_err(|_| FileError::Invalid("auth is not canonical base64"))?;
    if auth.is_empty() || auth.len() > MAX_WRAPPED_LEN {
        return Err(FileError::Invalid("auth has an impossible length"));
    }
    check(&doc.keyring)?;
    if doc.keyring.format_version() > doc.format_version {
        return Err(FileError::Invalid(
            "a version-1 file holds version-2 fields",
        ));
    }
    Ok(ParsedFile {
        record: doc.keyring,
        auth,
    })
}

fn malformed(e: &serde_json::Error) -> FileError {
    // The category and position only: never echo file content.
    let what = match e.classify() {
        serde_json::error::Category::Eof => "truncated",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected field or value",
        serde_json::error::Category::Io => "read error",
    };
    FileError::Malformed(format!("{what} at line {} column {}", e.line(), e.column()))
}

/// Checks every invariant of a keyring record.
///
/// # Errors
/// [`FileError::Invalid`] naming the first broken invariant.
pub fn check(r: &KeyringRecord) -> Result<(), FileError> {
    use FileError::Invalid;
    if !KeyRef::is_valid_name(&r.name) {
        return Err(Invalid("invalid keyring name"));
    }
    if r.suite.parse::<Suite>().is_err() {
        return Err(Invalid("unknown suite"));
    }
    if r.versions.is_empty() || r.versions.len() > MAX_VERSIONS {
        return Err(Invalid("version count out of bounds"));
    }
    if r.policy.max_uses == 0 {
        return Err(Invalid("max_uses is zero"));
    }
    let mut last = 0u32;
    let mut primaries = 0;
    for v in &r.versions {
        if v.version <= last {
            return Err(Invalid("version numbers not strictly increasing"));
        }
        last = v.version;
        if v.state == VersionState::Primary {
            primaries += 1;
        }
        let destroyed = v.state == VersionState::Destroyed;
        match &v.material {
            None if !destroyed => return Err(Invalid("live version without material")),
            Some(_) if destroyed => return Err(Invalid("destroyed version with material")),
            Some(m) => {
                let raw = STANDARD
                    .decode(m.as_bytes())
                    .map_err(|_| Invalid("material is not canonical base64"))?;
                if raw.is_empty() || raw.len() > MAX_WRAPPED_LEN {
                    return Err(Invalid("material has an impossible length"));
                }
            }
            None => {}
        }
        if (v.state == VersionState::PendingDestroy) != v.destroy_after.is_some() {
            return Err(Invalid("destroy_after set without pending destruction"));
        }
        if destroyed != v.destroyed_at.is_some() {
            return Err(Invalid("destroyed_at does not match the state"));
        }
        if v.state == VersionState::Staged && v.uses > 0 {
            return Err(Invalid("a staged version has seals counted"));
        }
    }
    if primaries != 1 {
        return Err(Invalid("not exactly one primary version"));
    }
    if r.next_version <= last {
        return Err(Invalid("next_version would reuse a version number"));
    }
    // The Vault Transit rules: the minimum decryption version exists, and the minimum
    // encryption version (when set) is not below it.
    if r.min_decryption_version > r.latest_version()
        || r.min_encryption_version > r.latest_version()
    {
        return Err(Invalid("a minimum version above the latest version"));
    }
    if r.min_encryption_version != 0 && r.min_encryption_version < r.min_decryption_version {
        return Err(Invalid(
            "min_encryption_version below min_decryption_version",
        ));
    }
    Ok(())
}

fn auth_aad(name: &str, revision: u64) -> Vec<u8> {
    let mut aad = b"trust.keyring.auth.v1\0".to_vec();
    aad.extend_from_slice(name.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&revision.to_be_bytes());
    aad
}

/// Associated data binding a wrapped version key to its keyring and version.
pub fn material_aad(name: &str, version: u32) -> Vec<u8> {
    let mut aad = b"trust.keyring.version.v1\0".to_vec();
    aad.extend_from_slice(name.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn digest(record: &KeyringRecord) -> Result<[u8; 32], FileError> {
    let canonical =
        serde_json::to_vec(record).map_err(|_| FileError::Invalid("unserializable record"))?;
    Ok(Sha256::digest(&canonical).into())
}

/// Checks `auth` of a parsed file under `root`, and that it holds the keyring `expected_name`.
///
/// # Errors
/// [`FileError::Unauthentic`] when it does not verify or names another keyring.
pub fn verify(
    parsed: ParsedFile,
    root: &dyn RootKey,
    expected_name: &str,
) -> Result<KeyringRecord, FileError> {
    if parsed.record.name != expected_name {
        return Err(FileError::Unauthentic);
    }
    let want = digest(&parsed.record)?;
    let got = root
        .unwrap(
            &auth_aad(&parsed.record.name, parsed.record.revision),
            &parsed.auth,
        )
        .map_err(root_failed)?;
    if !ct_eq(&got, &want) {
        return Err(FileError::Unauthentic);
    }
    Ok(parsed.record)
}

/// Serializes `record` with a fresh `auth` under `root`. Pretty-printed, so operators can read
/// (and diff) a keyring; verification does not depend on the layout.
///
/// # Errors
/// [`FileError::Invalid`] when the record breaks an invariant (a bug: refuse to write it), or
/// the root key cannot wrap.
pub fn seal(record: &KeyringRecord, root: &dyn RootKey) -> Result<Vec<u8>, FileError> {
    check(record)?;
    let auth = root
        .wrap(&auth_aad(&record.name, record.revision), &digest(record)?)
        .map_err(root_failed)?;
    let doc = FileDoc {
        format: FORMAT.into(),
        format_version: record.format_version(),
        keyring: record.clone(),
        auth: STANDARD.encode(auth),
    };
    let mut out =
        serde_json::to_vec_pretty(&doc).map_err(|_| FileError::Invalid("unserializable"))?;
    out.push(b'\n');
    Ok(out)
}
