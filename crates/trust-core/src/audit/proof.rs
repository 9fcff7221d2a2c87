//! Inclusion receipts in C2SP `tlog-proof` format (c2sp.org/tlog-proof@v1).
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the leaf bytes>          optional, unauthenticated
//! index <decimal>
//! <base64 hash>\n…                          inclusion proof, sibling of the leaf first
//! <empty line>
//! <checkpoint note, verbatim>
//! ```
//!
//! This crate puts the leaf's bytes in the `extra` line, so a receipt is self-contained: the
//! verifier hashes them, checks the inclusion proof against the checkpoint's root and the
//! checkpoint's signature against the log's vkey — no access to the log needed. `extra` is
//! unauthenticated *by itself*; it is authenticated by the inclusion proof.

use core::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::checkpoint::{CheckpointError, SignedCheckpoint, parse_decimal};
use super::leaf::{Leaf, MAX_LEAF_LEN};
use super::merkle::{self, Hash, MAX_PROOF_LEN};
use super::note::Verifier;
use crate::error::{Category, TrustError};

const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// The largest receipt accepted.
pub const MAX_RECEIPT_LEN: usize = 256 * 1024;

/// A parsed receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Receipt {
    /// The opaque `extra` data (here: the leaf bytes), if present.
    pub extra: Option<Vec<u8>>,
    /// Leaf index.
    pub index: u64,
    /// Inclusion proof hashes.
    pub proof: Vec<Hash>,
    /// The checkpoint note, verbatim.
    pub checkpoint_note: String,
}

/// A receipt failed to parse or verify.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReceiptError {
    /// Syntax error or a bound exceeded.
    Malformed,
    /// The checkpoint did not verify.
    Checkpoint(CheckpointError),
    /// The receipt carries no leaf and none was supplied.
    NoLeaf,
    /// The leaf's index differs from the receipt's.
    IndexMismatch,
    /// The inclusion proof does not lead to the checkpoint's root.
    Proof(merkle::MerkleError),
}

impl fmt::Display for ReceiptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("malformed tlog-proof receipt"),
            Self::Checkpoint(e) => write!(f, "receipt {e}"),
            Self::NoLeaf => f.write_str("the receipt carries no leaf bytes"),
            Self::IndexMismatch => f.write_str("the leaf's index differs from the receipt's"),
            Self::Proof(e) => write!(f, "inclusion proof: {e}"),
        }
    }
}

impl std::error::Error for ReceiptError {}

impl TrustError for ReceiptError {
    fn category(&self) -> Category {
        match self {
            Self::Checkpoint(e) => e.category(),
            Self::NoLeaf => Category::Usage,
            _ => Category::Verification,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "MALFORMED",
            Self::Checkpoint(e) => e.code(),
            Self::NoLeaf => "NO_LEAF",
            Self::IndexMismatch => "INDEX_MISMATCH",
            Self::Proof(_) => "PROOF_INVALID",
        }
    }
}

impl Receipt {
    /// The receipt text.
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", B64.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint_note);
        out
    }

    /// Parses a receipt (no verification).
    ///
    /// # Errors
    /// [`ReceiptError::Malformed`].
    pub fn parse(bytes: &[u8]) -> Result<Self, ReceiptError> {
        if bytes.len() > MAX_RECEIPT_LEN {
            return Err(ReceiptError::Malformed);
        }
        let s = core::str::from_utf8(bytes).map_err(|_| ReceiptError::Malformed)?;
        let (head, note) = s.split_once("\n\n").ok_or(ReceiptError::Malformed)?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(ReceiptError::Malformed);
        }
        let mut line = lines.next().ok_or(ReceiptError::Malformed)?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            let data = B64.decode(b64).map_err(|_| ReceiptError::Malformed)?;
            if data.len() > MAX_LEAF_LEN {
                return Err(ReceiptError::Malformed);
            }
            extra = Some(data);
            line = lines.next().ok_or(ReceiptError::Malformed)?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(ReceiptError::Malformed)?;
        let mut proof = Vec::new();
        for l in lines {
            if proof.len() == MAX_PROOF_LEN {
                return Err(ReceiptError::Malformed);
            }
            let h = B64.decode(l).map_err(|_| ReceiptError::Malformed)?;
            proof.push(Hash::try_from(h).map_err(|_| ReceiptError::Malformed)?);
        }
        Ok(Self {
            extra,
            index,
            proof,
            checkpoint_note: note.to_owned(),
        })
    }

    /// Verifies the receipt: checkpoint signature by a `known` key (and `origin` if given),
    /// then the inclusion of the leaf. `leaf` overrides the receipt's `extra` bytes.
    ///
    /// # Errors
    /// [`ReceiptError`] for the first check that fails.
    pub fn verify(
        &self,
        known: &[Verifier],
        origin: Option<&str>,
        leaf: Option<&[u8]>,
    ) -> Result<(SignedCheckpoint, Leaf), ReceiptError> {
        let cp = SignedCheckpoint::open(self.checkpoint_note.as_bytes(), known, origin)
            .map_err(ReceiptError::Checkpoint)?;
        let bytes = leaf.or(self.extra.as_deref()).ok_or(ReceiptError::NoLeaf)?;
        let decoded = Leaf::decode(bytes).map_err(|_| ReceiptError::Malformed)?;
        if decoded.index != self.index {
            return Err(ReceiptError::IndexMismatch);
        }
        merkle::verify_inclusion(
            self.index,
            cp.checkpoint.size,
            &merkle::leaf_hash(bytes),
            &self.proof,
            &cp.checkpoint.root,
        )
        .map_err(ReceiptError::Proof)?;
        Ok((cp, decoded))
    }
}

/// Formats hashes one standard-base64 line each (the consistency-proof body of C2SP
/// tlog-witness requests).
pub fn format_hash_lines(proof: &[Hash]) -> String {
    proof
        .iter()
        .map(|h| format!("{}\n", B64.encode(h)))
        .collect()
}

/// Parses hashes given one standard-base64 line each (blank lines ignored).
///
/// # Errors
/// [`ReceiptError::Malformed`] on a bad line or more than [`MAX_PROOF_LEN`] hashes.
pub fn parse_hash_lines(text: &[u8]) -> Result<Vec<Hash>, ReceiptError> {
    if text.len() > MAX_RECEIPT_LEN {
        return Err(ReceiptError::Malformed);
    }
    let s = core::str::from_utf8(text).map_err(|_| ReceiptError::Malformed)?;
    let mut out = Vec::new();
    for line in s.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
        if out.len() == MAX_PROOF_LEN {
            return Err(ReceiptError::Malformed);
        }
        let h = B64.decode(line).map_err(|_| ReceiptError::Malformed)?;
        out.push(Hash::try_from(h).map_err(|_| ReceiptError::Malformed)?);
    }
    Ok(out)
}

/// Why two checkpoints are not a consistent history.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsistencyError {
    /// A checkpoint did not verify.
    Checkpoint(CheckpointError),
    /// The checkpoints are of different logs.
    OriginMismatch,
    /// Same size, different roots; or the proof does not connect them: a fork.
    Fork,
    /// The "old" checkpoint is larger than the "new" one.
    Rollback,
}

impl fmt::Display for ConsistencyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Checkpoint(e) => e.fmt(f),
            Self::OriginMismatch => f.write_str("the checkpoints are for different logs"),
            Self::Fork => f.write_str("the checkpoints are not consistent: the log forked"),
            Self::Rollback => f.write_str("the new checkpoint is smaller than the old one"),
        }
    }
}

impl std::error::Error for ConsistencyError {}

impl TrustError for ConsistencyError {
    fn category(&self) -> Category {
        match self {
            Self::Checkpoint(e) => e.category(),
            _ => Category::Verification,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::Checkpoint(e) => e.code(),
            Self::OriginMismatch => "ORIGIN_MISMATCH",
            Self::Fork => "FORK",
            Self::Rollback => "TRUNCATED",
        }
    }
}

/// Checks that the `new` checkpoint extends the `old` one: both signed by a `known` key, same
/// origin, and `proof` is a valid RFC 9162 consistency proof between them. An old checkpoint of
/// size 0 is consistent with everything (and needs an empty proof).
///
/// # Errors
/// [`ConsistencyError`] naming the first problem.
pub fn verify_checkpoint_consistency(
    old: &[u8],
    new: &[u8],
    known: &[Verifier],
    proof: &[Hash],
) -> Result<(SignedCheckpoint, SignedCheckpoint), ConsistencyError> {
    let a = SignedCheckpoint::open(old, known, None).map_err(ConsistencyError::Checkpoint)?;
    let b = SignedCheckpoint::open(new, known, None).map_err(ConsistencyError::Checkpoint)?;
    let (x, y) = (&a.checkpoint, &b.checkpoint);
    if x.origin != y.origin {
        return Err(ConsistencyError::OriginMismatch);
    }
    if x.size > y.size {
        return Err(ConsistencyError::Rollback);
    }
    if x.size == 0 {
        return if proof.is_empty() && x.root == merkle::EMPTY_ROOT {
            Ok((a, b))
        } else {
            Err(ConsistencyError::Fork)
        };
    }
    merkle::verify_consistency(x.size, y.size, proof, &x.root, &y.root)
        .map_err(|_| ConsistencyError::Fork)?;
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::checkpoint::Checkpoint;
    use crate::audit::note::Signer;

    fn leaf(i: u64) -> Vec<u8> {
        Leaf {
            index: i,
            prev_leaf_hash: [0; 32],
            time_unix_ms: 0,
            event_type: "t".into(),
            writer_id: String::new(),
            pseudonym_key_version: 0,
            actor: None,
            subject: None,
            payload: None,
            attrs: vec![],
        }
        .encode()
        .unwrap()
    }

    #[test]
    fn receipt_round_trip_and_verify() {
        let leaves: Vec<Vec<u8>> = (0..5).map(leaf).collect();
        let hashes: Vec<Hash> = leaves.iter().map(|l| merkle::leaf_hash(l)).collect();
        let signer = Signer::from_seed("example.com/log", &[3; 32]).unwrap();
        let note = Checkpoint {
            origin: "example.com/log".into(),
            size: 5,
            root: merkle::root(&hashes),
        }
        .sign(&signer)
        .unwrap();
        let r = Receipt {
            extra: Some(leaves[3].clone()),
            index: 3,
            proof: merkle::inclusion_proof(&hashes, 3).unwrap(),
            checkpoint_note: note,
        };
        let text = r.to_text();
        let parsed = Receipt::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed, r);
        let known = [signer.verifier().clone()];
        let (_, l) = parsed
            .verify(&known, Some("example.com/log"), None)
            .unwrap();
        assert_eq!(l.index, 3);
        // Another leaf, a wrong index, a flipped proof hash, an unknown key, no leaf.
        assert_eq!(
            parsed.verify(&known, None, Some(&leaves[2])),
            Err(ReceiptError::IndexMismatch)
        );
        let mut bad = parsed.clone();
        bad.proof[0][0] ^= 1;
        assert!(matches!(
            bad.verify(&known, None, None),
            Err(ReceiptError::Proof(_))
        ));
        let mut bad = parsed.clone();
        bad.extra = None;
        assert_eq!(bad.verify(&known, None, None), Err(ReceiptError::NoLeaf));
        let other = Signer::from_seed("example.com/log", &[4; 32]).unwrap();
        assert!(matches!(
            parsed.verify(&[other.verifier().clone()], None, None),
            Err(ReceiptError::Checkpoint(_))
        ));
    }

    #[test]
    fn checkpoint_consistency() {
        let hashes: Vec<Hash> = (0..9).map(|i| merkle::leaf_hash(&[i])).collect();
        let s = Signer::from_seed("example.com/log", &[3; 32]).unwrap();
        let cp = |n: usize, root: Hash| {
            Checkpoint {
                origin: "example.com/log".into(),
                size: n as u64,
                root,
            }
            .sign(&s)
            .unwrap()
        };
        let old = cp(5, merkle::root(&hashes[..5]));
        let new = cp(9, merkle::root(&hashes));
        let proof = merkle::consistency_proof(&hashes, 5).unwrap();
        let text = format_hash_lines(&proof);
        assert_eq!(parse_hash_lines(text.as_bytes()).unwrap(), proof);
        let known = [s.verifier().clone()];
        verify_checkpoint_consistency(old.as_bytes(), new.as_bytes(), &known, &proof).unwrap();
        assert_eq!(
            verify_checkpoint_consistency(new.as_bytes(), old.as_bytes(), &known, &proof),
            Err(ConsistencyError::Rollback)
        );
        let forked = cp(9, [1; 32]);
        assert_eq!(
            verify_checkpoint_consistency(old.as_bytes(), forked.as_bytes(), &known, &proof),
            Err(ConsistencyError::Fork)
        );
        let same = cp(5, [1; 32]);
        assert_eq!(
            verify_checkpoint_consistency(old.as_bytes(), same.as_bytes(), &known, &[]),
            Err(ConsistencyError::Fork)
        );
        let empty = cp(0, merkle::EMPTY_ROOT);
        verify_checkpoint_consistency(empty.as_bytes(), new.as_bytes(), &known, &[]).unwrap();
        assert!(parse_hash_lines(b"AAAA\n").is_err());
    }

    #[test]
    fn parser_rejects_malformations() {
        for bad in [
            "",
            "c2sp.org/tlog-proof@v2\nindex 1\n\nx",
            "c2sp.org/tlog-proof@v1\nindex 01\n\nx",
            "c2sp.org/tlog-proof@v1\nindex 1\nnotbase64\n\nx",
            "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx",
            "c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\nx",
            "c2sp.org/tlog-proof@v1\nindex 1",
        ] {
            assert_eq!(
                Receipt::parse(bad.as_bytes()),
                Err(ReceiptError::Malformed),
                "{bad:?}"
            );
        }
        let many = format!(
            "c2sp.org/tlog-proof@v1\nindex 1\n{}\nx",
            format!("{}\n", B64.encode([0u8; 32])).repeat(MAX_PROOF_LEN + 1)
        );
        assert_eq!(
            Receipt::parse(many.as_bytes()),
            Err(ReceiptError::Malformed)
        );
    }
}
