//! `trust_error`: the optional detail behind a failed call.
//!
//! Every fallible function takes a last parameter `trust_error **err_out`. Pass NULL when the
//! status is enough; pass the address of a `trust_error *` initialised to NULL to receive, on
//! failure only, a new error object that the caller frees with `trust_error_free`. There is
//! deliberately no thread-local "last error": Node worker threads and async runtimes move work
//! between threads, so a thread-local would hand the message to the wrong caller.

use core::ffi::c_char;
use std::ffi::CString;

use crate::boundary::{Failure, boundary_or, ffi_free, into_handle};
use crate::status::trust_status;

/// Detail about a failed call: status, stable code, one-line message and optional hint.
///
/// Opaque; made by the library on failure, freed by the caller with `trust_error_free`.
/// Immutable once made: reading it from several threads at once is safe.
#[allow(non_camel_case_types)]
pub struct trust_error {
    status: trust_status,
    code: CString,
    message: CString,
    hint: Option<CString>,
}

impl trust_error {
    pub(crate) fn into_raw(failure: Failure) -> *mut Self {
        into_handle(Self {
            status: failure.status,
            code: c_string(failure.code),
            message: c_string(&failure.message),
            hint: failure.hint.map(c_string),
        })
    }
}

/// A C string from text that should never contain NUL; if it does, the NUL becomes U+FFFD
/// rather than truncating the message silently.
fn c_string(text: &str) -> CString {
    CString::new(text).unwrap_or_else(|_| {
        let cleaned = text.replace('\0', "\u{FFFD}");
        CString::new(cleaned).unwrap_or_default()
    })
}

/// The status of the call that produced `err` (the same value the call returned), or
/// `TRUST_NULL_ARGUMENT` when `err` is NULL.
///
/// # Safety
/// `err` is NULL or a live `trust_error` from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_error_status(err: *const trust_error) -> trust_status {
    boundary_or(trust_status::TrustPanic, || {
        // SAFETY: NULL or a live handle, per this function's contract.
        match unsafe { err.as_ref() } {
            Some(err) => err.status,
            None => trust_status::TrustNullArgument,
        }
    })
}

/// A stable, upper-case, machine-readable code naming the failure more finely than the status
/// (for example `"AUTHENTICATION_FAILED"`, `"KEY_DISABLED"`, `"NULL_ARGUMENT"`); the same codes
/// the CLI prints in `--json` output. Codes are never renamed.
///
/// The string is NUL-terminated, borrowed from `err` and valid until `trust_error_free(err)`.
/// Returns NULL when `err` is NULL.
///
/// # Safety
/// `err` is NULL or a live `trust_error` from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_error_code(err: *const trust_error) -> *const c_char {
    boundary_or(core::ptr::null(), || {
        // SAFETY: NULL or a live handle, per this function's contract.
        unsafe { err.as_ref() }.map_or(core::ptr::null(), |err| err.code.as_ptr())
    })
}

/// One line saying what happened, safe to log: it never contains key material, tokens,
/// plaintext or personal data. Failed verifications say only that they failed.
///
/// The string is NUL-terminated UTF-8, borrowed from `err` and valid until
/// `trust_error_free(err)`. Returns NULL when `err` is NULL.
///
/// # Safety
/// `err` is NULL or a live `trust_error` from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_error_message(err: *const trust_error) -> *const c_char {
    boundary_or(core::ptr::null(), || {
        // SAFETY: NULL or a live handle, per this function's contract.
        unsafe { err.as_ref() }.map_or(core::ptr::null(), |err| err.message.as_ptr())
    })
}

/// One line telling an operator what to do next, or NULL when there is nothing useful to say
/// (or `err` is NULL). Borrowed from `err`, valid until `trust_error_free(err)`.
///
/// # Safety
/// `err` is NULL or a live `trust_error` from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_error_hint(err: *const trust_error) -> *const c_char {
    boundary_or(core::ptr::null(), || {
        // SAFETY: NULL or a live handle, per this function's contract.
        let err = unsafe { err.as_ref() };
        err.and_then(|err| err.hint.as_ref())
            .map_or(core::ptr::null(), |hint| hint.as_ptr())
    })
}

/// Frees an error. NULL is a no-op; freeing the same non-NULL error twice is undefined.
///
/// # Safety
/// `err` is NULL or a live `trust_error` from this library, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_error_free(err: *mut trust_error) {
    ffi_free!(err);
}

#[cfg(test)]
mod tests {
    use core::ffi::CStr;

    use super::*;
    use crate::boundary::boundary;

    fn text(ptr: *const c_char) -> String {
        assert!(!ptr.is_null());
        // SAFETY: the accessors return NUL-terminated strings borrowed from a live error.
        unsafe { CStr::from_ptr(ptr) }.to_str().unwrap().to_owned()
    }

    #[test]
    fn failure_reaches_the_error_object() {
        let mut err: *mut trust_error = core::ptr::null_mut();
        let status = boundary(&mut err, || Err(Failure::null("body")));
        assert_eq!(status, trust_status::TrustNullArgument);
        // SAFETY: `err` was just made by `boundary` and is freed once below.
        unsafe {
            assert_eq!(trust_error_status(err), status);
            assert_eq!(text(trust_error_code(err)), "NULL_ARGUMENT");
            assert_eq!(text(trust_error_message(err)), "argument `body` is NULL");
            assert!(trust_error_hint(err).is_null());
            trust_error_free(err);
        }
    }

    #[test]
    fn success_leaves_err_out_untouched() {
        let mut err: *mut trust_error = core::ptr::null_mut();
        assert_eq!(boundary(&mut err, || Ok(())), trust_status::TrustOk);
        assert!(err.is_null());
    }

    #[test]
    fn panic_becomes_a_status() {
        let mut err: *mut trust_error = core::ptr::null_mut();
        let status = boundary(&mut err, || panic!("secret-looking payload"));
        assert_eq!(status, trust_status::TrustPanic);
        // SAFETY: made by `boundary`, freed once.
        unsafe {
            let message = text(trust_error_message(err));
            assert!(!message.contains("secret-looking"), "{message}");
            trust_error_free(err);
        }
    }

    #[test]
    fn null_error_accessors_are_harmless() {
        // SAFETY: NULL is explicitly allowed by every accessor.
        unsafe {
            assert_eq!(
                trust_error_status(core::ptr::null()),
                trust_status::TrustNullArgument
            );
            assert!(trust_error_code(core::ptr::null()).is_null());
            assert!(trust_error_message(core::ptr::null()).is_null());
            assert!(trust_error_hint(core::ptr::null()).is_null());
            trust_error_free(core::ptr::null_mut());
        }
    }

    #[test]
    fn interior_nul_is_replaced_not_truncated() {
        assert_eq!(c_string("a\0b").to_str().unwrap(), "a\u{FFFD}b");
    }
}
