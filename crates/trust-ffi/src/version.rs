//! Versions: header macros and the runtime functions that must agree with them.
//!
//! A host that loads `libtrust` at run time (ctypes, koffi, PHP FFI) cannot see the macros of the
//! header it was written against, so each has a function: compare `trust_abi_version()` with the
//! value your binding was written for before calling anything else.

use core::ffi::c_char;

use crate::boundary::{Failure, boundary, boundary_or};
use crate::error::trust_error;
use crate::status::trust_status;

/// Major version of the library (header macro; `trust_version()` at run time).
pub const TRUST_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const TRUST_VERSION_MINOR: u32 = 1;
/// Patch version of the library.
pub const TRUST_VERSION_PATCH: u32 = 0;
/// Version of the C ABI described by this header. Bumped on every incompatible change to a
/// declared function, type or status value; compare with `trust_abi_version()`.
pub const TRUST_ABI_VERSION: u32 = 1;

const VERSION: &str = concat!("trust-ffi/", env!("CARGO_PKG_VERSION"), "\0");

/// The library version as a static NUL-terminated string, `"trust-ffi/MAJOR.MINOR.PATCH"`.
/// Never free it.
#[unsafe(no_mangle)]
pub extern "C" fn trust_version() -> *const c_char {
    // Nothing here can panic; the boundary keeps the rule "every entry point has one" simple.
    boundary_or(VERSION.as_ptr().cast(), || VERSION.as_ptr().cast())
}

/// The ABI version of the loaded library; equals `TRUST_ABI_VERSION` of the header it was built
/// with. A binding written for another ABI version must refuse to use the library.
#[unsafe(no_mangle)]
pub extern "C" fn trust_abi_version() -> u32 {
    boundary_or(TRUST_ABI_VERSION, || TRUST_ABI_VERSION)
}

/// Test-only entry point: panics inside the library, and so always returns `TRUST_PANIC`.
///
/// It exists so that test suites and host bindings can check that a panic is caught at the
/// boundary and reported as a status (and an error object, when `err_out` is not NULL) instead
/// of aborting the host process. It has no other effect; never call it in production code (it
/// writes a panic message to stderr).
///
/// # Safety
/// `err_out` is NULL or points to writable storage for one `trust_error *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_test_panic(err_out: *mut *mut trust_error) -> trust_status {
    boundary(err_out, || -> Result<(), Failure> {
        panic!("trust_test_panic: deliberate panic to exercise the C boundary")
    })
}

#[cfg(test)]
mod tests {
    use core::ffi::CStr;

    use super::*;

    #[test]
    fn constants_match_the_crate_version() {
        assert_eq!(
            TRUST_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            TRUST_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            TRUST_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
    }

    #[test]
    fn version_string_names_the_version() {
        // SAFETY: trust_version returns a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr(trust_version()) }.to_str().unwrap();
        let expected =
            format!("trust-ffi/{TRUST_VERSION_MAJOR}.{TRUST_VERSION_MINOR}.{TRUST_VERSION_PATCH}");
        assert_eq!(version, expected);
        assert_eq!(trust_abi_version(), TRUST_ABI_VERSION);
    }

    #[test]
    fn test_panic_is_caught() {
        // SAFETY: NULL err_out is allowed.
        let status = unsafe { trust_test_panic(core::ptr::null_mut()) };
        assert_eq!(status, trust_status::TrustPanic);
    }
}
