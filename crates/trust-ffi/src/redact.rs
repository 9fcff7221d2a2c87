//! Redaction of credentials, card numbers and registered secrets in log text.
//!
//! `trust_redact` uses the built-in formats (Shopify, Stripe, HubSpot, JWT, bearer, URL
//! credentials, card numbers); a `trust_redactor` adds registered secret values (the tokens the
//! app has loaded) and options. What is found and how it is replaced is trust-core's
//! `redact` module: each finding becomes `[REDACTED:kind]`.

use std::sync::OnceLock;

use trust_core::redact::Redactor;

use crate::boundary::{
    Failure, boundary, boundary_or, ffi_free, into_handle, try_out, try_ref, try_slice, try_slices,
};
use crate::bytes::trust_bytes;
use crate::error::trust_error;
use crate::status::trust_status;

/// Flag for `trust_redactor_new`: do not look for payment card numbers.
pub const TRUST_REDACT_NO_CARDS: u32 = 1;

/// Shortest secret value `trust_redactor_new` accepts, in bytes (shorter ones would redact
/// ordinary words).
pub const TRUST_REDACT_MIN_LITERAL_BYTES: usize = 6;
// cbindgen needs a literal; the compiler keeps it equal to the core's value.
const _: () = assert!(TRUST_REDACT_MIN_LITERAL_BYTES == trust_core::redact::MIN_LITERAL_LEN);

/// A redactor with registered secret values.
///
/// Opaque; made by `trust_redactor_new`, freed by `trust_redactor_free`. Immutable once made:
/// one redactor may be used from any number of threads at once.
#[allow(non_camel_case_types)]
pub struct trust_redactor {
    inner: Redactor,
}

fn default_redactor() -> &'static Redactor {
    static DEFAULT: OnceLock<Redactor> = OnceLock::new();
    DEFAULT.get_or_init(Redactor::default)
}

/// Returns `TRUST_REDACT_MIN_LITERAL_BYTES`, for hosts that cannot read macros.
#[unsafe(no_mangle)]
pub extern "C" fn trust_redact_min_literal_bytes() -> usize {
    boundary_or(TRUST_REDACT_MIN_LITERAL_BYTES, || {
        TRUST_REDACT_MIN_LITERAL_BYTES
    })
}

/// Makes a redactor that, besides the built-in formats, replaces each of the `literal_count`
/// registered values (`literals[i]`, `literal_lens[i]` bytes, each at least
/// `TRUST_REDACT_MIN_LITERAL_BYTES`) wherever it appears verbatim. `flags` is 0 or
/// `TRUST_REDACT_NO_CARDS`. The library keeps its own copy of the values.
///
/// Errors: `TRUST_INVALID_ARGUMENT` for a value that is too short or unknown flags.
///
/// # Safety
/// `literals` and `literal_lens` point to `literal_count` elements (either may be NULL when
/// `literal_count` is 0); each `literals[i]` points to `literal_lens[i]` readable bytes;
/// `redactor_out` points to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_redactor_new(
    literals: *const *const u8,
    literal_lens: *const usize,
    literal_count: usize,
    flags: u32,
    redactor_out: *mut *mut trust_redactor,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let literals = try_slices!(literals, literal_lens, literal_count);
        let out = try_out!(redactor_out);
        if flags & !TRUST_REDACT_NO_CARDS != 0 {
            return Err(Failure::invalid("unknown flags for trust_redactor_new"));
        }
        let mut builder = Redactor::builder();
        for literal in literals {
            builder = builder.literal(literal)?;
        }
        if flags & TRUST_REDACT_NO_CARDS != 0 {
            builder = builder.without_cards();
        }
        let redactor = builder.build()?;
        out.set(into_handle(trust_redactor { inner: redactor }));
        Ok(())
    })
}

/// Replaces every credential, card number and registered value in `text` with
/// `[REDACTED:kind]` and returns the result in `*out` (a new `trust_bytes`; text in, text out,
/// readable as a C string). Text that is not UTF-8 is handled byte-wise.
///
/// # Safety
/// `redactor` is a live `trust_redactor`; `text` points to `text_len` readable bytes (NULL
/// only when `text_len` is 0); `out` points to writable storage for one pointer; `err_out` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_redactor_redact(
    redactor: *const trust_redactor,
    text: *const u8,
    text_len: usize,
    out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let redactor = try_ref!(redactor);
        let text = try_slice!(text, text_len);
        let out = try_out!(out);
        let redacted = redactor.inner.redact_bytes(text);
        out.set(trust_bytes::into_raw(&redacted));
        Ok(())
    })
}

/// `trust_redactor_redact` with the built-in formats only (no registered values, cards
/// included). The default redactor is built once, on first use, and shared.
///
/// # Safety
/// `text` points to `text_len` readable bytes (NULL only when `text_len` is 0); `out` points to
/// writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_redact(
    text: *const u8,
    text_len: usize,
    out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let text = try_slice!(text, text_len);
        let out = try_out!(out);
        let redacted = default_redactor().redact_bytes(text);
        out.set(trust_bytes::into_raw(&redacted));
        Ok(())
    })
}

/// Frees a redactor (and its copies of the registered values). NULL is a no-op.
///
/// # Safety
/// `redactor` is NULL or a live `trust_redactor`, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_redactor_free(redactor: *mut trust_redactor) {
    ffi_free!(redactor);
}
