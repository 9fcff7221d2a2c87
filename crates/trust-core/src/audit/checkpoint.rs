//! Checkpoints in C2SP `tlog-checkpoint` format: the signed statement "the log named *origin*
//! has *size* entries and this Merkle root".
//!
//! ```text
//! <origin>\n           unique log identity, e.g. example.com/audit/orders (no spaces, no '+')
//! <tree size>\n        ASCII decimal, no leading zeros
//! <base64 root>\n      RFC 6962 root at that size, standard padded base64
//! [<extension>\n]*     opaque; this crate writes none and ignores any it reads
//! ```
//!
//! The body is the text of a [`super::note`] signed note. There is no timestamp: time comes
//! from witnesses' cosignatures or an external timestamp, never from the log itself.

use core::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::merkle::Hash;
use super::note::{self, Note, NoteError, Signer, Verifier};
use crate::error::{Category, TrustError};

/// The most extension lines accepted.
pub(crate) const MAX_EXTENSIONS: usize = 16;

/// A checkpoint body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// Merkle root at `size`.
    pub root: Hash,
}

/// A checkpoint could not be parsed or verified.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The note or its body is malformed.
    Malformed,
    /// The note's signatures failed (see [`NoteError`]).
    Note(NoteError),
    /// The checkpoint is for another log.
    WrongOrigin,
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("malformed checkpoint"),
            Self::Note(e) => write!(f, "checkpoint: {e}"),
            Self::WrongOrigin => f.write_str("the checkpoint is for another log (origin differs)"),
        }
    }
}

impl std::error::Error for CheckpointError {}

impl TrustError for CheckpointError {
    fn category(&self) -> Category {
        match self {
            Self::Note(e) => e.category(),
            _ => Category::Verification,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "MALFORMED",
            Self::Note(e) => e.code(),
            Self::WrongOrigin => "WRONG_ORIGIN",
        }
    }
}

impl From<NoteError> for CheckpointError {
    fn from(e: NoteError) -> Self {
        match e {
            NoteError::Malformed => Self::Malformed,
            other => Self::Note(other),
        }
    }
}

/// A valid origin: a valid note key name (non-empty, no whitespace, no `+`), at most 255 bytes.
pub(crate) fn valid_origin(origin: &str) -> bool {
    origin.len() <= 255 && note::valid_key_name(origin)
}

impl Checkpoint {
    /// The note text (body) of this checkpoint.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parses a checkpoint body (a note's text).
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] on any deviation from the format.
    pub fn parse_text(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Malformed)?;
        let mut lines = body.split('\n');
        let origin = lines.next().ok_or(CheckpointError::Malformed)?;
        let size = lines.next().ok_or(CheckpointError::Malformed)?;
        let root = lines.next().ok_or(CheckpointError::Malformed)?;
        let extensions = lines.count();
        if extensions > MAX_EXTENSIONS || body.split('\n').skip(3).any(str::is_empty) {
            return Err(CheckpointError::Malformed);
        }
        if !valid_origin(origin) {
            return Err(CheckpointError::Malformed);
        }
        let size = parse_decimal(size).ok_or(CheckpointError::Malformed)?;
        let root = B64.decode(root).map_err(|_| CheckpointError::Malformed)?;
        let root: Hash = root.try_into().map_err(|_| CheckpointError::Malformed)?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// Signs this checkpoint into a note.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] for an invalid origin.
    pub fn sign(&self, signer: &Signer) -> Result<String, CheckpointError> {
        if !valid_origin(&self.origin) {
            return Err(CheckpointError::Malformed);
        }
        Ok(signer.sign(&self.to_text())?)
    }
}

/// ASCII decimal without sign or leading zeros, fitting a u64.
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// A checkpoint with the note it came from, verified.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedCheckpoint {
    /// The parsed body.
    pub checkpoint: Checkpoint,
    /// The full note, verbatim (signatures of other keys included).
    pub note: String,
}

impl SignedCheckpoint {
    /// Parses a checkpoint note and verifies it against `known` keys; if `origin` is given the
    /// checkpoint must be for that log.
    ///
    /// # Errors
    /// [`CheckpointError`] when the note is malformed, not signed by a known key, has a bad
    /// signature from a known key, or names another origin.
    pub fn open(
        bytes: &[u8],
        known: &[Verifier],
        origin: Option<&str>,
    ) -> Result<Self, CheckpointError> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse_text(&note.text)?;
        note.verify(known)?;
        if let Some(o) = origin {
            if o != checkpoint.origin {
                return Err(CheckpointError::WrongOrigin);
            }
        }
        let note = String::from_utf8(bytes.to_vec()).map_err(|_| CheckpointError::Malformed)?;
        Ok(Self { checkpoint, note })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::from_seed("example.com/audit", &[9; 32]).unwrap()
    }

    #[test]
    fn sign_open_round_trip() {
        let cp = Checkpoint {
            origin: "example.com/audit".into(),
            size: 8,
            root: [7; 32],
        };
        let s = signer();
        let note = cp.sign(&s).unwrap();
        assert!(note.starts_with("example.com/audit\n8\nBwcH"));
        let opened = SignedCheckpoint::open(
            note.as_bytes(),
            &[s.verifier().clone()],
            Some("example.com/audit"),
        )
        .unwrap();
        assert_eq!(opened.checkpoint, cp);
        assert_eq!(
            SignedCheckpoint::open(note.as_bytes(), &[s.verifier().clone()], Some("other")),
            Err(CheckpointError::WrongOrigin)
        );
        let other = Signer::from_seed("example.com/audit", &[8; 32]).unwrap();
        assert_eq!(
            SignedCheckpoint::open(note.as_bytes(), &[other.verifier().clone()], None),
            Err(CheckpointError::Note(NoteError::NoKnownSignature))
        );
        let tampered = note.replacen("\n8\n", "\n9\n", 1);
        assert!(matches!(
            SignedCheckpoint::open(tampered.as_bytes(), &[s.verifier().clone()], None),
            Err(CheckpointError::Note(NoteError::BadSignature { .. }))
        ));
    }

    #[test]
    fn body_parser_rejects_deviations() {
        let root = B64.encode([1u8; 32]);
        assert!(Checkpoint::parse_text(&format!("o\n0\n{root}\n")).is_ok());
        assert!(Checkpoint::parse_text(&format!("o\n1\n{root}\next\n")).is_ok());
        for bad in [
            format!("o\n01\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n1\n{root}"),
            format!("o\n1\n{root}\n\n"),
            format!("o o\n1\n{root}\n"),
            format!("a+b\n1\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            format!("o\n1\n{}\n", B64.encode([1u8; 31])),
            "o\n1\nnot base64!\n".to_owned(),
            format!("\n1\n{root}\n"),
            "o\n1\n".to_owned(),
        ] {
            assert_eq!(
                Checkpoint::parse_text(&bad),
                Err(CheckpointError::Malformed),
                "{bad:?}"
            );
        }
    }

    /// The C2SP tlog-checkpoint spec's example body parses (its keys are unpublished, so only
    /// the body is checked).
    #[test]
    fn c2sp_example_body_parses() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse_text(text).unwrap();
        assert_eq!(cp.size, 20_852_163);
        assert_eq!(cp.to_text(), text);
    }
}
