//! `trust_status`: the one return type of every fallible entry point.
//!
//! Values are grouped by hundreds after the family of the failure, and the family matches the
//! CLI exit code of the same failure (docs/operator-guide.md, exit codes): `1xx` verification failed (exit 1), `2xx` usage
//! (exit 2), `3xx` input unreadable (exit 3), `4xx` key unavailable (exit 4), `5xx` refused
//! (exit 5), `7xx` internal (exit 70). A host can therefore branch on `status / 100` and stay
//! correct when a later release adds a finer status inside a family.
//!
//! **Values are never renumbered or reused.** A retired status keeps its number, commented out.

use core::ffi::c_char;

use trust_core::error::Category;

use crate::boundary::boundary_or;

/// Result of every fallible `trust_*` function. `TRUST_OK` (0) is success; every other value is
/// a failure whose family is `status / 100` (see docs/ffi.md). Values are stable: never
/// renumbered, never reused.
///
/// cbindgen:prefix-with-name=false
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum trust_status {
    /// Success. Outputs have been written.
    TrustOk = 0,

    /// Authenticity could not be established: bad signature, MAC, tag or key commitment, a
    /// tampered, truncated or forked log, an invalid proof, or authenticated bytes that do not
    /// parse. Deliberately says nothing about *which* check failed.
    TrustVerificationFailed = 100,

    /// An argument or configuration value is invalid (malformed, out of range, unsupported).
    TrustInvalidArgument = 200,
    /// A pointer argument that must not be NULL was NULL (or a NULL data pointer came with a
    /// non-zero length).
    TrustNullArgument = 201,
    /// A caller-provided output buffer is smaller than the documented size.
    TrustBufferTooSmall = 202,
    /// Text input is not valid UTF-8.
    TrustInvalidUtf8 = 203,

    /// An input (file, directory, store) is missing or cannot be read or written.
    TrustInputUnreadable = 300,

    /// The key needed is unknown, disabled, destroyed, or its data subject has been erased.
    TrustKeyUnavailable = 400,

    /// A destructive or unsafe operation was not confirmed.
    TrustRefused = 500,

    /// A bug or an environment failure (randomness unavailable, poisoned lock).
    TrustInternal = 700,
    /// A panic inside the library was caught at the boundary. The handle involved (if any)
    /// should be freed and not used again.
    TrustPanic = 701,
}

impl trust_status {
    /// Every status, in numeric order (used by tests and `trust_status_str`).
    pub(crate) const ALL: [Self; 11] = [
        Self::TrustOk,
        Self::TrustVerificationFailed,
        Self::TrustInvalidArgument,
        Self::TrustNullArgument,
        Self::TrustBufferTooSmall,
        Self::TrustInvalidUtf8,
        Self::TrustInputUnreadable,
        Self::TrustKeyUnavailable,
        Self::TrustRefused,
        Self::TrustInternal,
        Self::TrustPanic,
    ];

    /// The status family of a core error category.
    pub(crate) const fn from_category(category: Category) -> Self {
        match category {
            Category::Verification => Self::TrustVerificationFailed,
            Category::Usage => Self::TrustInvalidArgument,
            Category::Input => Self::TrustInputUnreadable,
            Category::KeyUnavailable => Self::TrustKeyUnavailable,
            Category::Refused => Self::TrustRefused,
            // `Category` is non_exhaustive: a family added to the core later is reported as
            // internal until it gets its own range here.
            _ => Self::TrustInternal,
        }
    }

    /// The status with numeric value `value`, if any (C may hand us any integer).
    pub(crate) fn from_u32(value: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as u32 == value)
    }

    /// The stable name, NUL-terminated so it can be handed to C as is.
    pub(crate) const fn name_with_nul(self) -> &'static str {
        match self {
            Self::TrustOk => "TRUST_OK\0",
            Self::TrustVerificationFailed => "TRUST_VERIFICATION_FAILED\0",
            Self::TrustInvalidArgument => "TRUST_INVALID_ARGUMENT\0",
            Self::TrustNullArgument => "TRUST_NULL_ARGUMENT\0",
            Self::TrustBufferTooSmall => "TRUST_BUFFER_TOO_SMALL\0",
            Self::TrustInvalidUtf8 => "TRUST_INVALID_UTF8\0",
            Self::TrustInputUnreadable => "TRUST_INPUT_UNREADABLE\0",
            Self::TrustKeyUnavailable => "TRUST_KEY_UNAVAILABLE\0",
            Self::TrustRefused => "TRUST_REFUSED\0",
            Self::TrustInternal => "TRUST_INTERNAL\0",
            Self::TrustPanic => "TRUST_PANIC\0",
        }
    }

    /// The stable name (`"TRUST_OK"`, `"TRUST_PANIC"`, …).
    #[cfg(test)]
    pub(crate) fn name(self) -> &'static str {
        let with_nul = self.name_with_nul();
        &with_nul[..with_nul.len() - 1]
    }
}

const UNKNOWN_STATUS: &str = "TRUST_UNKNOWN_STATUS\0";

/// The stable name of `status` (for example `"TRUST_VERIFICATION_FAILED"`), or
/// `"TRUST_UNKNOWN_STATUS"` for a value this version does not define.
///
/// The string is static: never free it. It is a name for logs, not a sentence for end users; use
/// `trust_error_message` for that. Takes a `uint32_t` rather than the enum so that any integer
/// a host passes is well-defined.
#[unsafe(no_mangle)]
pub extern "C" fn trust_status_str(status: u32) -> *const c_char {
    boundary_or(UNKNOWN_STATUS.as_ptr().cast(), || {
        let name = trust_status::from_u32(status).map_or(UNKNOWN_STATUS, |s| s.name_with_nul());
        name.as_ptr().cast()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_the_documented_ones() {
        // These numbers are ABI: changing one breaks every compiled host.
        let expected: [(trust_status, u32); 11] = [
            (trust_status::TrustOk, 0),
            (trust_status::TrustVerificationFailed, 100),
            (trust_status::TrustInvalidArgument, 200),
            (trust_status::TrustNullArgument, 201),
            (trust_status::TrustBufferTooSmall, 202),
            (trust_status::TrustInvalidUtf8, 203),
            (trust_status::TrustInputUnreadable, 300),
            (trust_status::TrustKeyUnavailable, 400),
            (trust_status::TrustRefused, 500),
            (trust_status::TrustInternal, 700),
            (trust_status::TrustPanic, 701),
        ];
        assert_eq!(expected.len(), trust_status::ALL.len());
        for (status, value) in expected {
            assert_eq!(status as u32, value, "{status:?}");
            assert_eq!(trust_status::from_u32(value), Some(status));
        }
    }

    #[test]
    fn family_matches_cli_exit_code() {
        let categories = [
            Category::Verification,
            Category::Usage,
            Category::Input,
            Category::KeyUnavailable,
            Category::Refused,
            Category::Internal,
        ];
        for category in categories {
            let family = trust_status::from_category(category) as u32 / 100;
            let exit = u32::from(category.exit_code());
            assert!(family == exit || (family == 7 && exit == 70), "{category}");
        }
    }

    #[test]
    fn names_are_unique_and_prefixed() {
        let mut names: Vec<&str> = trust_status::ALL.iter().map(|s| s.name()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("TRUST_") && !n.contains('\0'))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), trust_status::ALL.len());
    }

    #[test]
    fn docs_table_lists_every_status_with_its_value() {
        let docs = include_str!("../../../docs/ffi.md");
        for status in trust_status::ALL {
            let row = format!("| {} | `{}` |", status as u32, status.name());
            assert!(docs.contains(&row), "docs/ffi.md lacks the row {row}");
        }
    }

    #[test]
    fn unknown_values_get_a_name_too() {
        for value in [1, 99, 702, u32::MAX] {
            let ptr = trust_status_str(value);
            // SAFETY: trust_status_str returns a pointer into a static NUL-terminated string.
            let name = unsafe { core::ffi::CStr::from_ptr(ptr) };
            assert_eq!(name.to_str().unwrap(), "TRUST_UNKNOWN_STATUS");
        }
    }
}
