//! `trust_bytes`: variable-length and secret outputs, owned by the library.
//!
//! Plaintext, tokens, receipts and redacted text come back as a `trust_bytes *` that the caller
//! reads with `trust_bytes_data`/`trust_bytes_len` and releases with `trust_bytes_free`, which
//! overwrites the memory before freeing it. Garbage-collected hosts cannot reliably wipe their
//! own copies, so keeping secrets in library memory until the host is done is the best an ABI
//! can do; hosts should copy out only what they need, as late as possible.
//!
//! The data is always followed by one NUL byte that `trust_bytes_len` does not count, so text
//! outputs (tokens, redacted strings, JSON receipts) can be read directly as C strings.

use zeroize::Zeroizing;

use crate::boundary::{Failure, boundary_or, free_handle, into_handle};
use crate::status::trust_status;

/// A library-owned byte buffer: read with `trust_bytes_data`/`trust_bytes_len`, release with
/// `trust_bytes_free` (which zeroizes it).
///
/// Opaque. Immutable once made: reading it from several threads at once is safe.
#[allow(non_camel_case_types)]
pub struct trust_bytes {
    /// The data followed by one NUL terminator. Allocated at exactly its final size and never
    /// grown, so no unwiped copy is left behind by a reallocation.
    storage: Zeroizing<Vec<u8>>,
}

impl trust_bytes {
    /// Copies `data` into a new library-owned buffer (the caller's copy is its own to wipe).
    pub(crate) fn copy_from(data: &[u8]) -> Self {
        let mut storage = Zeroizing::new(Vec::with_capacity(data.len() + 1));
        storage.extend_from_slice(data);
        storage.push(0);
        Self { storage }
    }

    /// Hands a copy of `data` to C as a new handle.
    pub(crate) fn into_raw(data: &[u8]) -> *mut Self {
        into_handle(Self::copy_from(data))
    }

    /// Hands `value` to C as JSON text in a new handle (lists, summaries, manifests).
    pub(crate) fn json(value: &impl serde::Serialize) -> Result<*mut Self, Failure> {
        let json = serde_json::to_vec(value).map_err(|_| {
            Failure::new(
                trust_status::TrustInternal,
                "INTERNAL",
                "could not serialize the result",
            )
        })?;
        Ok(Self::into_raw(&json))
    }

    fn data(&self) -> &[u8] {
        &self.storage[..self.storage.len() - 1]
    }
}

/// Pointer to the first byte of `bytes` (followed after `trust_bytes_len` bytes by a NUL that
/// is not counted), valid until `trust_bytes_free(bytes)`. Returns NULL when `bytes` is NULL.
///
/// # Safety
/// `bytes` is NULL or a live `trust_bytes` from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_bytes_data(bytes: *const trust_bytes) -> *const u8 {
    boundary_or(core::ptr::null(), || {
        // SAFETY: NULL or a live handle, per this function's contract.
        unsafe { bytes.as_ref() }.map_or(core::ptr::null(), |b| b.storage.as_ptr())
    })
}

/// Number of bytes in `bytes` (not counting the trailing NUL); 0 when `bytes` is NULL.
///
/// # Safety
/// `bytes` is NULL or a live `trust_bytes` from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_bytes_len(bytes: *const trust_bytes) -> usize {
    boundary_or(0, || {
        // SAFETY: NULL or a live handle, per this function's contract.
        unsafe { bytes.as_ref() }.map_or(0, |b| b.data().len())
    })
}

/// Overwrites the contents of `bytes` with zeros and frees it. NULL is a no-op; freeing the same
/// non-NULL buffer twice is undefined.
///
/// # Safety
/// `bytes` is NULL or a live `trust_bytes` from this library, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_bytes_free(bytes: *mut trust_bytes) {
    boundary_or((), || {
        // SAFETY: NULL or a live handle made by `into_handle`, freed once per the contract.
        // Dropping runs `Zeroizing`'s wipe of the whole allocation before it is freed.
        unsafe { free_handle(bytes) }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_len_and_terminator() {
        let raw = trust_bytes::into_raw(b"tle1.abc");
        // SAFETY: `raw` is a live handle until the free at the end.
        unsafe {
            let len = trust_bytes_len(raw);
            assert_eq!(len, 8);
            let data = core::slice::from_raw_parts(trust_bytes_data(raw), len + 1);
            assert_eq!(data, b"tle1.abc\0");
            trust_bytes_free(raw);
        }
    }

    #[test]
    fn empty_and_null() {
        let raw = trust_bytes::into_raw(b"");
        // SAFETY: live handle, then NULL which every function accepts.
        unsafe {
            assert_eq!(trust_bytes_len(raw), 0);
            assert_eq!(*trust_bytes_data(raw), 0);
            trust_bytes_free(raw);
            assert_eq!(trust_bytes_len(core::ptr::null()), 0);
            assert!(trust_bytes_data(core::ptr::null()).is_null());
            trust_bytes_free(core::ptr::null_mut());
        }
    }
}
