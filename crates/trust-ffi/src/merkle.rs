//! RFC 9162 Merkle trees: leaf hashes, roots, inclusion and consistency proofs.
//!
//! The same tree as Certificate Transparency and every C2SP log (trust-core's
//! `audit::merkle`), so a host can check a proof the audit log hands out with any of their
//! verifiers, or check theirs with this one. Hashes are `TRUST_MERKLE_HASH_BYTES` (32) bytes;
//! lists of hashes (leaf hashes, proofs) are passed as one buffer of concatenated hashes whose
//! length is a multiple of 32.

use trust_core::audit::merkle::{self, Hash};

use crate::boundary::{Failure, boundary, boundary_or, slice_in, try_buf_out, try_out, try_slice};
use crate::bytes::trust_bytes;
use crate::error::trust_error;
use crate::status::trust_status;

/// Size of a Merkle hash (leaf hash, node, root) in bytes.
pub const TRUST_MERKLE_HASH_BYTES: usize = 32;
// cbindgen needs a literal; the compiler keeps it equal to the core's type.
const _: () = assert!(TRUST_MERKLE_HASH_BYTES == size_of::<Hash>());

/// Returns `TRUST_MERKLE_HASH_BYTES`, for hosts that cannot read macros.
#[unsafe(no_mangle)]
pub extern "C" fn trust_merkle_hash_bytes() -> usize {
    boundary_or(TRUST_MERKLE_HASH_BYTES, || TRUST_MERKLE_HASH_BYTES)
}

/// One hash of exactly 32 bytes.
///
/// # Safety
/// As for [`slice_in`].
unsafe fn hash_in(ptr: *const u8, len: usize, name: &'static str) -> Result<Hash, Failure> {
    // SAFETY: forwarded caller contract.
    let bytes = unsafe { slice_in(ptr, len, name) }?;
    Hash::try_from(bytes)
        .map_err(|_| Failure::invalid(format!("`{name}` must be {TRUST_MERKLE_HASH_BYTES} bytes")))
}

/// A list of hashes given as concatenated 32-byte values.
///
/// # Safety
/// As for [`slice_in`].
unsafe fn hashes_in(ptr: *const u8, len: usize, name: &'static str) -> Result<Vec<Hash>, Failure> {
    // SAFETY: forwarded caller contract.
    let bytes = unsafe { slice_in(ptr, len, name) }?;
    let (chunks, rest) = bytes.as_chunks::<TRUST_MERKLE_HASH_BYTES>();
    if !rest.is_empty() {
        return Err(Failure::invalid(format!(
            "length of `{name}` must be a multiple of {TRUST_MERKLE_HASH_BYTES}"
        )));
    }
    Ok(chunks.to_vec())
}

fn hashes_out(hashes: &[Hash]) -> *mut trust_bytes {
    trust_bytes::into_raw(hashes.as_flattened())
}

/// Writes `SHA-256(0x00 ‖ data)`, the RFC 9162 hash of the leaf `data`, to `out`
/// (`out_len` ≥ `TRUST_MERKLE_HASH_BYTES`; exactly 32 bytes are written).
///
/// Errors: `TRUST_NULL_ARGUMENT`, `TRUST_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `data` points to `data_len` readable bytes (NULL only when `data_len` is 0); `out` points to
/// `out_len` writable bytes; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_merkle_leaf_hash(
    data: *const u8,
    data_len: usize,
    out: *mut u8,
    out_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let data = try_slice!(data, data_len);
        let out = try_buf_out!(out, out_len, TRUST_MERKLE_HASH_BYTES);
        out.copy_from_slice(&merkle::leaf_hash(data));
        Ok(())
    })
}

/// Writes the root of the tree whose leaf hashes are `leaf_hashes` (concatenated, so
/// `leaf_hashes_len` is 32 × the number of leaves) to `out` (32 bytes). The root of the empty
/// tree is `SHA-256("")`.
///
/// Errors: `TRUST_NULL_ARGUMENT`, `TRUST_INVALID_ARGUMENT` (length not a multiple of 32),
/// `TRUST_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `leaf_hashes` points to `leaf_hashes_len` readable bytes (NULL only when 0); `out` points to
/// `out_len` writable bytes; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_merkle_root(
    leaf_hashes: *const u8,
    leaf_hashes_len: usize,
    out: *mut u8,
    out_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        // SAFETY: per the contract.
        let leaves = unsafe { hashes_in(leaf_hashes, leaf_hashes_len, "leaf_hashes") }?;
        let out = try_buf_out!(out, out_len, TRUST_MERKLE_HASH_BYTES);
        out.copy_from_slice(&merkle::root(&leaves));
        Ok(())
    })
}

/// Makes the inclusion proof of leaf `index` in the tree whose leaf hashes are `leaf_hashes`,
/// returned in `*proof_out` as concatenated 32-byte hashes (leaf side first; possibly empty).
///
/// Errors: `TRUST_NULL_ARGUMENT`, `TRUST_INVALID_ARGUMENT`, `TRUST_VERIFICATION_FAILED` with
/// code `PROOF_OUT_OF_RANGE` when `index` is not a leaf of the tree.
///
/// # Safety
/// `leaf_hashes` points to `leaf_hashes_len` readable bytes (NULL only when 0); `proof_out`
/// points to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_merkle_inclusion_proof(
    leaf_hashes: *const u8,
    leaf_hashes_len: usize,
    index: u64,
    proof_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        // SAFETY: per the contract.
        let leaves = unsafe { hashes_in(leaf_hashes, leaf_hashes_len, "leaf_hashes") }?;
        let out = try_out!(proof_out);
        let proof = merkle::inclusion_proof(&leaves, index)?;
        out.set(hashes_out(&proof));
        Ok(())
    })
}

/// Makes the consistency proof from the tree of the first `size1` leaves to the tree of all
/// `leaf_hashes`, returned in `*proof_out` as concatenated 32-byte hashes.
///
/// Errors: `TRUST_NULL_ARGUMENT`, `TRUST_INVALID_ARGUMENT`, `TRUST_VERIFICATION_FAILED` with
/// code `PROOF_OUT_OF_RANGE` unless `0 < size1 <= number of leaves`.
///
/// # Safety
/// `leaf_hashes` points to `leaf_hashes_len` readable bytes (NULL only when 0); `proof_out`
/// points to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_merkle_consistency_proof(
    leaf_hashes: *const u8,
    leaf_hashes_len: usize,
    size1: u64,
    proof_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        // SAFETY: per the contract.
        let leaves = unsafe { hashes_in(leaf_hashes, leaf_hashes_len, "leaf_hashes") }?;
        let out = try_out!(proof_out);
        let proof = merkle::consistency_proof(&leaves, size1)?;
        out.set(hashes_out(&proof));
        Ok(())
    })
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves with root `root`
/// (RFC 9162 §2.1.3.2, strictly: the proof must have exactly the length the position implies).
///
/// Returns `TRUST_OK` when it is, `TRUST_VERIFICATION_FAILED` when it is not (codes
/// `PROOF_OUT_OF_RANGE`, `PROOF_WRONG_LENGTH`, `PROOF_ROOT_MISMATCH`), `TRUST_INVALID_ARGUMENT`
/// for a hash that is not 32 bytes or a proof whose length is not a multiple of 32.
///
/// # Safety
/// Each data pointer points to its length in readable bytes (NULL only with length 0); `err_out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_merkle_verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: *const u8,
    leaf_hash_len: usize,
    proof: *const u8,
    proof_len: usize,
    root: *const u8,
    root_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        // SAFETY: per the contract.
        let leaf = unsafe { hash_in(leaf_hash, leaf_hash_len, "leaf_hash") }?;
        // SAFETY: per the contract.
        let proof = unsafe { hashes_in(proof, proof_len, "proof") }?;
        // SAFETY: per the contract.
        let root = unsafe { hash_in(root, root_len, "root") }?;
        merkle::verify_inclusion(index, size, &leaf, &proof, &root)?;
        Ok(())
    })
}

/// Checks that the tree of `size1` leaves with root `root1` is a prefix of the tree of `size2`
/// leaves with root `root2` (RFC 9162 §2.1.4.2, strictly; `size1` = 0 is rejected because it
/// proves nothing).
///
/// Returns `TRUST_OK` when it is, `TRUST_VERIFICATION_FAILED` when it is not,
/// `TRUST_INVALID_ARGUMENT` for malformed hash lengths.
///
/// # Safety
/// Each data pointer points to its length in readable bytes (NULL only with length 0); `err_out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_merkle_verify_consistency(
    size1: u64,
    size2: u64,
    proof: *const u8,
    proof_len: usize,
    root1: *const u8,
    root1_len: usize,
    root2: *const u8,
    root2_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        // SAFETY: per the contract.
        let proof = unsafe { hashes_in(proof, proof_len, "proof") }?;
        // SAFETY: per the contract.
        let root1 = unsafe { hash_in(root1, root1_len, "root1") }?;
        // SAFETY: per the contract.
        let root2 = unsafe { hash_in(root2, root2_len, "root2") }?;
        merkle::verify_consistency(size1, size2, &proof, &root1, &root2)?;
        Ok(())
    })
}
