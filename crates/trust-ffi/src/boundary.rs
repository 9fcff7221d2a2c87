//! The boundary every entry point goes through: argument checks and panic containment.
//!
//! A Rust panic must never unwind into C: since Rust 1.81 a panic escaping an `extern "C"`
//! function aborts the process, which would take a PHP-FPM worker or a Node process down with
//! it. So each fallible entry point is written as
//!
//! ```text
//! boundary(err_out, || {
//!     let home = try_ref!(home);               // NULL checks first
//!     let input = try_slice!(input, input_len);
//!     let out = try_out!(out);
//!     let result = home.inner.seal(input)?;   // core errors map to a status
//!     out.set(trust_bytes::into_raw(&result)); // outputs last: only on success
//!     Ok(())
//! })
//! ```
//!
//! and infallible ones (getters, `_free`) through [`boundary_or`] with a typed fallback, in the
//! manner of rustls-ffi's `ffi_panic_boundary!`. Arguments are validated before any work is
//! done, and outputs are written only once the closure has nothing left that can fail, which is
//! what makes "outputs are written only on success" hold.
//!
//! ## The safety argument, stated once
//!
//! Every entry point's `# Safety` section promises, for each pointer parameter `p` (with its
//! length `p_len` or element count where it has one):
//!
//! * a data pointer is NULL or points to `p_len` readable bytes (elements) that stay valid and
//!   unmodified for the duration of the call;
//! * a handle is NULL or a live handle of that type made by this library and not yet freed (and,
//!   for `*mut` handles, not used by another thread during the call);
//! * an output pointer is NULL or points to writable, aligned storage for one value;
//! * `err_out` is NULL or points to writable storage for one `trust_error *`.
//!
//! The argument macros below ([`try_ref!`], [`try_mut!`], [`try_slice!`], [`try_str!`],
//! [`try_path!`], [`try_location!`], [`try_slices!`], [`try_out!`], [`try_opt_out!`], [`try_buf_out!`],
//! [`ffi_free!`]) each do their one `unsafe` call on the strength of exactly that promise, after
//! the helper has checked what can be checked (NULL, lengths above `isize::MAX`, buffer sizes).
//! They name the argument after the parameter (`stringify!`), so error messages and the
//! header's parameter names agree, and they return early with a [`Failure`] through `?`, so
//! they are used inside a [`boundary`] closure. An entry point whose contract differs from the
//! above (none today) must not use them.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use trust_core::error::TrustError;

use crate::error::trust_error;
use crate::status::trust_status;

/// Why an entry point failed: what becomes the returned status and the optional `trust_error`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: trust_status,
    /// Stable upper-case code (the core's `TrustError::code`, or one of the FFI's own).
    pub(crate) code: &'static str,
    /// One line, safe to log: core `Display` output never contains secrets.
    pub(crate) message: Cow<'static, str>,
    pub(crate) hint: Option<&'static str>,
}

impl Failure {
    pub(crate) fn new(
        status: trust_status,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            hint: None,
        }
    }

    /// A NULL pointer where one is not allowed.
    pub(crate) fn null(name: &'static str) -> Self {
        Self::new(
            trust_status::TrustNullArgument,
            "NULL_ARGUMENT",
            format!("argument `{name}` is NULL"),
        )
    }

    /// A caller buffer smaller than `needed` bytes.
    pub(crate) fn buffer_too_small(name: &'static str, needed: usize) -> Self {
        Self::new(
            trust_status::TrustBufferTooSmall,
            "BUFFER_TOO_SMALL",
            format!("buffer `{name}` must hold at least {needed} bytes"),
        )
    }

    /// An argument the core would reject, caught here because C allows values Rust cannot hold
    /// (lengths above `isize::MAX`, enum values out of range).
    pub(crate) fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            trust_status::TrustInvalidArgument,
            "INVALID_ARGUMENT",
            message,
        )
    }

    fn panic() -> Self {
        // The panic payload is not copied into the message: it could quote data being processed.
        Self::new(
            trust_status::TrustPanic,
            "PANIC",
            "internal error: a panic was caught at the C boundary (please report it)",
        )
    }
}

impl<E: TrustError> From<E> for Failure {
    fn from(err: E) -> Self {
        Self {
            status: trust_status::from_category(err.category()),
            code: err.code(),
            message: Cow::Owned(err.to_string()),
            hint: err.hint(),
        }
    }
}

/// Runs a fallible entry point: catches panics, maps failures to a status and, when `err_out`
/// is not NULL, stores a new `trust_error` there (only on failure; on success `*err_out` is left
/// untouched).
pub(crate) fn boundary(
    err_out: *mut *mut trust_error,
    body: impl FnOnce() -> Result<(), Failure>,
) -> trust_status {
    // AssertUnwindSafe: after a caught panic the handle involved may be inconsistent; the
    // contract (docs/ffi.md, TRUST_PANIC) tells hosts to free it rather than reuse it.
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return trust_status::TrustOk,
        Ok(Err(failure)) => failure,
        Err(_) => Failure::panic(),
    };
    let status = failure.status;
    if !err_out.is_null() {
        // Building the error allocates; a panic here (allocation failure aborts anyway) must not
        // escape either.
        if let Ok(err) = catch_unwind(|| trust_error::into_raw(failure)) {
            // SAFETY: `err_out` is non-NULL and, per the documented contract of every entry
            // point, points to writable storage for one `trust_error *`.
            unsafe { err_out.write(err) };
        }
    }
    status
}

/// Runs an infallible entry point, returning `fallback` if it panics.
pub(crate) fn boundary_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Borrows `len` bytes at `ptr`. NULL is accepted only with `len == 0` (an empty input).
///
/// # Safety
/// Unless NULL, `ptr` must point to `len` readable bytes that stay valid and unmodified for `'a`.
pub(crate) unsafe fn slice_in<'a>(
    ptr: *const u8,
    len: usize,
    name: &'static str,
) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(name))
        };
    }
    if isize::try_from(len).is_err() {
        return Err(Failure::invalid(format!("length of `{name}` is too large")));
    }
    // SAFETY: `ptr` is non-NULL and the caller guarantees `len` readable bytes valid for 'a;
    // `len <= isize::MAX` was checked above, as `from_raw_parts` requires.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// Borrows an array of `count` elements at `ptr`. NULL is accepted only with `count == 0`.
///
/// # Safety
/// Unless NULL, `ptr` must point to `count` initialised, aligned elements valid for `'a`.
pub(crate) unsafe fn array_in<'a, T>(
    ptr: *const T,
    count: usize,
    name: &'static str,
) -> Result<&'a [T], Failure> {
    if ptr.is_null() {
        return if count == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(name))
        };
    }
    if count > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(Failure::invalid(format!("length of `{name}` is too large")));
    }
    // SAFETY: non-NULL, the total size fits in isize (checked above), and the caller guarantees
    // `count` valid elements for 'a.
    Ok(unsafe { core::slice::from_raw_parts(ptr, count) })
}

/// Borrows `len` bytes at `ptr` as UTF-8 text (not NUL-terminated; a NUL byte is just a byte).
///
/// # Safety
/// As for [`slice_in`].
pub(crate) unsafe fn str_in<'a>(
    ptr: *const u8,
    len: usize,
    name: &'static str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded caller contract.
    let bytes = unsafe { slice_in(ptr, len, name) }?;
    core::str::from_utf8(bytes).map_err(|_| {
        Failure::new(
            trust_status::TrustInvalidUtf8,
            "INVALID_UTF8",
            format!("argument `{name}` is not valid UTF-8"),
        )
    })
}

/// Borrows the caller's writable output buffer of `len` bytes, which must hold `needed`.
///
/// # Safety
/// Unless NULL, `ptr` must point to `len` writable bytes, valid for `'a` and not aliased.
pub(crate) unsafe fn buf_out<'a>(
    ptr: *mut u8,
    len: usize,
    needed: usize,
    name: &'static str,
) -> Result<&'a mut [u8], Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    if len < needed {
        return Err(Failure::buffer_too_small(name, needed));
    }
    // SAFETY: non-NULL, and the caller guarantees `len >= needed` writable unaliased bytes.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, needed) })
}

/// Borrows the object behind a `const` handle.
///
/// # Safety
/// Unless NULL, `ptr` must be a live handle of this type obtained from this library.
pub(crate) unsafe fn handle_ref<'a, T>(
    ptr: *const T,
    name: &'static str,
) -> Result<&'a T, Failure> {
    // SAFETY: the caller guarantees a non-NULL `ptr` is a live handle made by `Box::into_raw`.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// An output parameter (`T *out`), checked non-NULL; written with [`Out::set`] at the very end.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    pub(crate) fn set(self, value: T) {
        // SAFETY: `out_ptr` checked that the pointer is non-NULL, and its caller guaranteed it
        // points to writable storage for one `T`. `write` does not read or drop the previous
        // (possibly uninitialised) contents.
        unsafe { self.0.write(value) };
    }
}

/// Checks an output parameter.
///
/// # Safety
/// Unless NULL, `ptr` must point to writable, suitably aligned storage for one `T` (it may be
/// uninitialised; it is overwritten without being read) that stays valid until the entry point
/// returns.
pub(crate) unsafe fn out_ptr<T>(ptr: *mut T, name: &'static str) -> Result<Out<T>, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    Ok(Out(ptr))
}

/// Hands a Rust value to C as an owned handle.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back and drops a handle made by [`into_handle`]; NULL is a no-op.
///
/// # Safety
/// Unless NULL, `ptr` must come from [`into_handle`] for the same `T` and not have been freed.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: per the caller's contract `ptr` came from `Box::into_raw` and is freed once.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// Borrows `count` byte strings given as parallel arrays of pointers and lengths (`secrets`,
/// `secret_lens`), each checked as by [`slice_in`].
///
/// # Safety
/// Unless NULL, `ptrs` and `lens` point to `count` elements each, and every `ptrs[i]` is NULL
/// with `lens[i] == 0` or points to `lens[i]` readable bytes valid for `'a`.
pub(crate) unsafe fn slices_in<'a>(
    ptrs: *const *const u8,
    lens: *const usize,
    count: usize,
    name: &'static str,
) -> Result<Vec<&'a [u8]>, Failure> {
    // SAFETY: forwarded caller contract (both arrays hold `count` elements).
    let ptrs = unsafe { array_in(ptrs, count, name) }?;
    // SAFETY: as above.
    let lens = unsafe { array_in(lens, count, name) }?;
    ptrs.iter()
        .zip(lens)
        // SAFETY: the caller guarantees `ptrs[i]` points to `lens[i]` readable bytes.
        .map(|(&ptr, &len)| unsafe { slice_in(ptr, len, name) })
        .collect()
}

/// Borrows a UTF-8 path or store location (a directory, a `postgres://` URL). An empty one is
/// refused (`TRUST_INVALID_ARGUMENT`, code `EMPTY_PATH`): the core would take it for the
/// working directory, so a zero-length buffer from a host bug would create or read a home
/// where the process happens to run.
///
/// # Safety
/// As for [`slice_in`].
pub(crate) unsafe fn location_in<'a>(
    ptr: *const u8,
    len: usize,
    name: &'static str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded caller contract.
    let text = unsafe { str_in(ptr, len, name) }?;
    if text.is_empty() {
        return Err(Failure::new(
            trust_status::TrustInvalidArgument,
            "EMPTY_PATH",
            format!("argument `{name}` is an empty path"),
        ));
    }
    Ok(text)
}

/// `&T` from a `const` handle parameter; `TRUST_NULL_ARGUMENT` when NULL.
macro_rules! try_ref {
    ($handle:ident) => {
        // SAFETY: the module's safety argument: a non-NULL handle is live, per the contract.
        unsafe { $crate::boundary::handle_ref($handle, stringify!($handle)) }?
    };
}

/// `&mut T` from a `*mut` handle parameter the contract says no other thread uses meanwhile.
macro_rules! try_mut {
    ($handle:ident) => {
        // SAFETY: the module's safety argument: a non-NULL handle is live and not shared
        // during the call, per the contract.
        unsafe { $handle.as_mut() }
            .ok_or_else(|| $crate::boundary::Failure::null(stringify!($handle)))?
    };
}

/// `&[u8]` from a data pointer and its length (NULL only with length 0).
macro_rules! try_slice {
    ($ptr:ident, $len:expr) => {
        // SAFETY: the module's safety argument: `$len` readable bytes, per the contract.
        unsafe { $crate::boundary::slice_in($ptr, $len, stringify!($ptr)) }?
    };
}

/// `&str` from a UTF-8 text pointer and its length.
macro_rules! try_str {
    ($ptr:ident, $len:expr) => {
        // SAFETY: the module's safety argument: `$len` readable bytes, per the contract.
        unsafe { $crate::boundary::str_in($ptr, $len, stringify!($ptr)) }?
    };
}

/// `&Path` from a UTF-8 path pointer and its length; an empty path is refused.
macro_rules! try_path {
    ($ptr:ident, $len:expr) => {
        ::std::path::Path::new($crate::boundary::try_location!($ptr, $len))
    };
}

/// `&str` from a UTF-8 store location (a path or a URL); an empty one is refused.
macro_rules! try_location {
    ($ptr:ident, $len:expr) => {
        // SAFETY: the module's safety argument: `$len` readable bytes, per the contract.
        unsafe { $crate::boundary::location_in($ptr, $len, stringify!($ptr)) }?
    };
}

/// `Vec<&[u8]>` from parallel pointer and length arrays of `$count` elements.
macro_rules! try_slices {
    ($ptrs:ident, $lens:ident, $count:expr) => {
        // SAFETY: the module's safety argument: two arrays of `$count` elements, each pointer
        // with its length, per the contract.
        unsafe { $crate::boundary::slices_in($ptrs, $lens, $count, stringify!($ptrs)) }?
    };
}

/// An [`Out`] for an output parameter, written only at the end, on success.
macro_rules! try_out {
    ($ptr:ident) => {
        // SAFETY: the module's safety argument: writable storage for one value, per the
        // contract.
        unsafe { $crate::boundary::out_ptr($ptr, stringify!($ptr)) }?
    };
}

/// `Option<Out<T>>` for an optional output parameter: `None` when the caller passed NULL.
macro_rules! try_opt_out {
    ($ptr:ident) => {
        if $ptr.is_null() {
            None
        } else {
            Some($crate::boundary::try_out!($ptr))
        }
    };
}

/// `&mut [u8]` of exactly `$needed` bytes from a caller buffer of `$len` bytes.
macro_rules! try_buf_out {
    ($ptr:ident, $len:expr, $needed:expr) => {
        // SAFETY: the module's safety argument: `$len` writable bytes, per the contract.
        unsafe { $crate::boundary::buf_out($ptr, $len, $needed, stringify!($ptr)) }?
    };
}

/// The whole body of a `trust_X_free` function: NULL is a no-op, a panic is contained.
macro_rules! ffi_free {
    ($handle:ident) => {
        $crate::boundary::boundary_or((), || {
            // SAFETY: NULL or a live handle made by `into_handle` for this type and freed once,
            // per the contract of every `_free` function.
            unsafe { $crate::boundary::free_handle($handle) }
        })
    };
}

pub(crate) use {
    ffi_free, try_buf_out, try_location, try_mut, try_opt_out, try_out, try_path, try_ref,
    try_slice, try_slices, try_str,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_location_is_refused_with_its_own_code() {
        // SAFETY: a valid pointer to 0 bytes, and NULL with 0.
        let err = unsafe { location_in(b"x".as_ptr(), 0, "dir") }.expect_err("empty");
        assert_eq!(err.code, "EMPTY_PATH");
        assert_eq!(err.status, trust_status::TrustInvalidArgument);
        // SAFETY: NULL with length 0.
        let err = unsafe { location_in(core::ptr::null(), 0, "dir") }.expect_err("NULL, 0");
        assert_eq!(err.code, "EMPTY_PATH");
        // SAFETY: 4 readable bytes.
        let ok = unsafe { location_in(b"home".as_ptr(), 4, "dir") }.expect("a path");
        assert_eq!(ok, "home");
    }

    #[test]
    fn slices_check_every_element() {
        let a = b"first";
        let ptrs = [a.as_ptr(), core::ptr::null()];
        // SAFETY: both arrays hold 2 elements; the second pointer is NULL with length 0.
        let got = unsafe { slices_in(ptrs.as_ptr(), [5, 0].as_ptr(), 2, "secrets") }.expect("ok");
        assert_eq!(got, vec![&a[..], &[][..]]);
        // SAFETY: as above; now the NULL element claims 3 bytes.
        let err = unsafe { slices_in(ptrs.as_ptr(), [5, 3].as_ptr(), 2, "secrets") }
            .expect_err("NULL with a length");
        assert_eq!(err.status, trust_status::TrustNullArgument);
        // SAFETY: NULL arrays with a count of 0 are an empty list; with a count, refused.
        let none = unsafe { slices_in(core::ptr::null(), core::ptr::null(), 0, "secrets") };
        assert_eq!(none.expect("empty").len(), 0);
        // SAFETY: NULL arrays.
        let err = unsafe { slices_in(core::ptr::null(), core::ptr::null(), 1, "secrets") };
        assert_eq!(
            err.expect_err("NULL with a count").status,
            trust_status::TrustNullArgument
        );
    }
}
