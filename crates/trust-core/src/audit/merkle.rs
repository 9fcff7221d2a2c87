//! RFC 9162 §2.1 Merkle trees over 32-byte leaf hashes: hashing, roots, inclusion and
//! consistency proofs.
//!
//! The tree is the one Certificate Transparency, Go's checksum database, Sigstore and every C2SP
//! log use, so a proof this module produces can be checked by any of their verifiers:
//!
//! ```text
//! MTH({})    = SHA-256()
//! MTH({d})   = SHA-256(0x00 ‖ d)                              leaf_hash(d)
//! MTH(D[n])  = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))      node_hash, k = largest 2^i < n
//! ```
//!
//! The `0x00`/`0x01` prefixes keep a leaf from being passed off as an interior node; the left
//! subtree is always perfect and the last node is never duplicated, so the Bitcoin-style
//! malleability (CVE-2012-2459) does not apply.
//!
//! ## Strict verifiers
//!
//! [`verify_inclusion`] and [`verify_consistency`] implement RFC 9162 §2.1.3.2 and §2.1.4.2
//! literally, and reject everything the transparency-dev golden probes reject: an index outside
//! the tree, a proof one hash too long or too short (the length must be exactly what the sizes
//! imply — never "stop when the root matches"), and a consistency proof from size 0 (meaningless:
//! callers that accept a first checkpoint handle that case before calling). Hashes are typed as
//! `[u8; 32]`, so a wrong-length hash cannot reach the algorithms.
//!
//! ## Proofs from storage
//!
//! The in-memory provers ([`inclusion_proof`], [`consistency_proof`]) take the list of leaf
//! hashes. A log too large for memory implements [`NodeSource`] (the hash of any *perfect*
//! subtree) and calls [`inclusion_proof_from`] / [`consistency_proof_from`], which read
//! O(log n) nodes: every proof element is a perfect subtree except at most one ragged subtree at
//! the right edge of the tree, which is folded from its own O(log n) perfect parts.

use core::fmt;

use sha2::{Digest, Sha256};

use crate::error::{Category, TrustError};

/// A SHA-256 hash: a leaf hash, an interior node or a root.
pub type Hash = [u8; 32];

/// The root of the empty tree, `SHA-256("")`.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The most hashes a proof can hold in a tree of at most 2^64 leaves (plus one for consistency).
pub const MAX_PROOF_LEN: usize = 65;

/// `SHA-256(0x00 ‖ data)`: the hash of a leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 1;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    Sha256::digest(buf).into()
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The root of the tree whose leaf hashes are `leaves` (RFC 9162 MTH).
pub fn root(leaves: &[Hash]) -> Hash {
    let mut range = CompactRange::new();
    for leaf in leaves {
        range.push(*leaf);
    }
    range.root()
}

/// A failed proof check or an impossible proof request. Deliberately coarse: a verifier says
/// *that* a proof does not hold, not which hash was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MerkleError {
    /// The index or sizes are outside what the tree allows (index ≥ size, size1 > size2,
    /// consistency from size 0).
    OutOfRange,
    /// The proof does not have exactly the number of hashes the sizes imply.
    WrongProofLength,
    /// The proof does not lead to the expected root.
    RootMismatch,
    /// The node source could not provide a hash (storage failure).
    Unavailable,
}

impl fmt::Display for MerkleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OutOfRange => "the proof's index or tree sizes are out of range",
            Self::WrongProofLength => "the proof has the wrong number of hashes",
            Self::RootMismatch => "the proof does not lead to the expected root",
            Self::Unavailable => "a tree node needed for the proof could not be read",
        })
    }
}

impl std::error::Error for MerkleError {}

impl TrustError for MerkleError {
    fn category(&self) -> Category {
        match self {
            Self::Unavailable => Category::Input,
            _ => Category::Verification,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::OutOfRange => "PROOF_OUT_OF_RANGE",
            Self::WrongProofLength => "PROOF_WRONG_LENGTH",
            Self::RootMismatch => "PROOF_ROOT_MISMATCH",
            Self::Unavailable => "TREE_NODE_UNAVAILABLE",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)
// ---------------------------------------------------------------------------------------------

/// The number of proof hashes below the point where the paths to `index` and to the last leaf
/// (`size - 1`) merge, and the number above it (the "border"), as in transparency-dev's
/// `decompInclProof`.
fn decompose_inclusion(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    (inner, border)
}

/// The root that an inclusion proof for `leaf` at `index` in a tree of `size` leaves leads to.
///
/// # Errors
/// [`MerkleError::OutOfRange`] unless `index < size`; [`MerkleError::WrongProofLength`] unless
/// the proof has exactly the length the position implies.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, MerkleError> {
    if index >= size {
        return Err(MerkleError::OutOfRange);
    }
    let (inner, border) = decompose_inclusion(index, size);
    if proof.len() != inner + border {
        return Err(MerkleError::WrongProofLength);
    }
    // RFC 9162 §2.1.3.2, split the way transparency-dev does: `inner` steps go left or right by
    // the index bit, the `border` steps always hash a left sibling.
    let mut hash = *leaf;
    for (i, sibling) in proof[..inner].iter().enumerate() {
        hash = if (index >> i) & 1 == 0 {
            node_hash(&hash, sibling)
        } else {
            node_hash(sibling, &hash)
        };
    }
    for sibling in &proof[inner..] {
        hash = node_hash(sibling, &hash);
    }
    Ok(hash)
}

/// Checks that `leaf` is at `index` in the tree of `size` leaves with root `root`.
///
/// # Errors
/// [`MerkleError`] when the proof does not verify (see [`root_from_inclusion_proof`]).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    let computed = root_from_inclusion_proof(index, size, leaf, proof)?;
    if crate::secret::ct_eq(&computed, root) {
        Ok(())
    } else {
        Err(MerkleError::RootMismatch)
    }
}

/// Checks that the tree of `size1` leaves with root `root1` is a prefix of the tree of `size2`
/// leaves with root `root2`.
///
/// `size1 == size2` holds iff the proof is empty and the roots are equal. `size1 == 0` is
/// rejected: every tree extends the empty tree, so such a "proof" proves nothing, and a caller
/// that trusts a first checkpoint must decide that itself.
///
/// # Errors
/// [`MerkleError`] when the proof does not verify.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), MerkleError> {
    if size1 == 0 || size1 > size2 {
        return Err(MerkleError::OutOfRange);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(MerkleError::WrongProofLength);
        }
        return if crate::secret::ct_eq(root1, root2) {
            Ok(())
        } else {
            Err(MerkleError::RootMismatch)
        };
    }
    // The proof is the tail of the inclusion proof of leaf `size1 - 1` in the tree of `size2`,
    // starting at level `shift` (the largest perfect subtree ending at `size1`). That subtree's
    // root is sent first, unless `size1` is itself a power of two: then it is `root1`.
    let shift = size1.trailing_zeros();
    let (inner, border) = decompose_inclusion(size1 - 1, size2);
    let inner = inner.saturating_sub(shift as usize);
    let (seed, rest) = if size1 == 1u64 << shift {
        (*root1, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(MerkleError::WrongProofLength),
        }
    };
    if rest.len() != inner + border {
        return Err(MerkleError::WrongProofLength);
    }
    let mask = (size1 - 1) >> shift;
    // Rebuild root1 (only from left siblings) and root2 (from both) along the path of `mask`.
    let mut hash1 = seed;
    let mut hash2 = seed;
    for (i, sibling) in rest[..inner].iter().enumerate() {
        if (mask >> i) & 1 == 1 {
            hash1 = node_hash(sibling, &hash1);
            hash2 = node_hash(sibling, &hash2);
        } else {
            hash2 = node_hash(&hash2, sibling);
        }
    }
    for sibling in &rest[inner..] {
        hash1 = node_hash(sibling, &hash1);
        hash2 = node_hash(sibling, &hash2);
    }
    let ok1 = crate::secret::ct_eq(&hash1, root1);
    let ok2 = crate::secret::ct_eq(&hash2, root2);
    if ok1 && ok2 {
        Ok(())
    } else {
        Err(MerkleError::RootMismatch)
    }
}

// ---------------------------------------------------------------------------------------------
// Proof generation
// ---------------------------------------------------------------------------------------------

/// Where a prover reads tree nodes: the hash of the perfect subtree `[index·2^level,
/// (index+1)·2^level)`. Level 0 is the leaf hashes.
pub trait NodeSource {
    /// The hash of node `index` at `level`; the caller only asks for nodes of complete
    /// subtrees inside the tree it is proving.
    ///
    /// # Errors
    /// [`MerkleError::Unavailable`] on a storage failure.
    fn node(&self, level: u32, index: u64) -> Result<Hash, MerkleError>;
}

impl NodeSource for [Hash] {
    fn node(&self, level: u32, index: u64) -> Result<Hash, MerkleError> {
        let width = 1u64 << level;
        let start = index.checked_mul(width).ok_or(MerkleError::Unavailable)?;
        let end = start.checked_add(width).ok_or(MerkleError::Unavailable)?;
        let start = usize::try_from(start).map_err(|_| MerkleError::Unavailable)?;
        let end = usize::try_from(end).map_err(|_| MerkleError::Unavailable)?;
        self.get(start..end)
            .map(root)
            .ok_or(MerkleError::Unavailable)
    }
}

/// MTH of the leaf range `[start, end)`, which must be aligned such that it is a node of the
/// tree of size `end`'s right edge or a perfect subtree: folded from its perfect parts.
fn range_hash<S: NodeSource + ?Sized>(src: &S, start: u64, end: u64) -> Result<Hash, MerkleError> {
    let n = end - start;
    if n.is_power_of_two() && start % n == 0 {
        return src.node(n.trailing_zeros(), start / n);
    }
    // A ragged right-edge subtree: its perfect parts are the binary decomposition of its size,
    // largest first; fold them right to left.
    let mut parts = Vec::with_capacity(64);
    let mut pos = start;
    let mut remaining = n;
    while remaining > 0 {
        let width = 1u64 << (63 - remaining.leading_zeros());
        parts.push(src.node(width.trailing_zeros(), pos / width)?);
        pos += width;
        remaining -= width;
    }
    let mut acc = parts.pop().ok_or(MerkleError::Unavailable)?;
    while let Some(left) = parts.pop() {
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, read from `src`.
///
/// # Errors
/// [`MerkleError::OutOfRange`] unless `index < size`; [`MerkleError::Unavailable`] when a node
/// cannot be read.
pub fn inclusion_proof_from<S: NodeSource + ?Sized>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, MerkleError> {
    if index >= size {
        return Err(MerkleError::OutOfRange);
    }
    // PATH(m, D[lo:hi]) unrolled from the top; collected top-down, returned leaf-first.
    let mut proof = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            proof.push(range_hash(src, lo + k, hi)?);
            hi = lo + k;
        } else {
            proof.push(range_hash(src, lo, lo + k)?);
            lo += k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The consistency proof between the trees of `size1` and `size2` leaves, read from `src`.
///
/// # Errors
/// [`MerkleError::OutOfRange`] unless `0 < size1 <= size2`; [`MerkleError::Unavailable`] when
/// a node cannot be read.
pub fn consistency_proof_from<S: NodeSource + ?Sized>(
    src: &S,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, MerkleError> {
    if size1 == 0 || size1 > size2 {
        return Err(MerkleError::OutOfRange);
    }
    // SUBPROOF(m, D[lo:hi], b) unrolled.
    let mut proof = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0u64, size2);
    let m = size1;
    let mut complete = true;
    loop {
        let n = hi - lo;
        if m - lo == n {
            if !complete {
                proof.push(range_hash(src, lo, hi)?);
            }
            break;
        }
        let k = split_point(n);
        if m - lo <= k {
            proof.push(range_hash(src, lo + k, hi)?);
            hi = lo + k;
        } else {
            proof.push(range_hash(src, lo, lo + k)?);
            lo += k;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The inclusion proof of leaf `index` in the tree whose leaf hashes are `leaves`.
///
/// # Errors
/// [`MerkleError::OutOfRange`] unless `index < leaves.len()`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, MerkleError> {
    inclusion_proof_from(leaves, index, leaves.len() as u64)
}

/// The consistency proof from the first `size1` leaves to all of `leaves`.
///
/// # Errors
/// [`MerkleError::OutOfRange`] unless `0 < size1 <= leaves.len()`.
pub fn consistency_proof(leaves: &[Hash], size1: u64) -> Result<Vec<Hash>, MerkleError> {
    consistency_proof_from(leaves, size1, leaves.len() as u64)
}

// ---------------------------------------------------------------------------------------------
// Compact range: append and root in O(log n) memory
// ---------------------------------------------------------------------------------------------

/// The right border of a tree: the roots of its perfect subtrees, largest first (at most 64
/// hashes). Enough to append a leaf and to compute the root, which is how the writer and the
/// streaming verifier stay in O(log n) memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect-subtree roots, largest (leftmost) first.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Rebuilds a range from its size and border hashes; `None` unless the count matches
    /// `size.count_ones()`.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Option<Self> {
        (hashes.len() == size.count_ones() as usize).then_some(Self { size, hashes })
    }

    /// Appends a leaf hash, calling `on_node(level, index, hash)` for every perfect subtree the
    /// append completes (the leaf itself at level 0 first), bottom up.
    pub fn push_with(&mut self, leaf: Hash, mut on_node: impl FnMut(u32, u64, &Hash)) {
        let mut hash = leaf;
        let mut level = 0u32;
        let mut index = self.size;
        on_node(0, index, &hash);
        // Every trailing one bit of the old size is a perfect subtree that merges with the new
        // leaf's subtree.
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self.hashes.pop().unwrap_or(EMPTY_ROOT);
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            on_node(level, index, &hash);
            size >>= 1;
        }
        self.hashes.push(hash);
        self.size += 1;
    }

    /// Appends the root of a perfect subtree of `2^level` leaves. The current size must be a
    /// multiple of `2^level` (the subtree is aligned); returns `false` and changes nothing
    /// otherwise.
    pub fn push_subtree(&mut self, level: u32, root: Hash) -> bool {
        let Some(width) = 1u64.checked_shl(level) else {
            return false;
        };
        if self.size % width != 0 || self.size.checked_add(width).is_none() {
            return false;
        }
        let mut hash = root;
        let mut size = self.size >> level;
        while size & 1 == 1 {
            let left = self.hashes.pop().unwrap_or(EMPTY_ROOT);
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.hashes.push(hash);
        self.size += width;
        true
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.push_with(leaf, |_, _, _| {});
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.hashes.iter().rev();
        let Some(last) = iter.next() else {
            return EMPTY_ROOT;
        };
        iter.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

#[cfg(test)]
mod tests;
