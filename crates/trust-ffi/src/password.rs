//! Password hashing: argon2id PHC strings (OWASP parameters), verification of argon2 and bcrypt
//! hashes, and the upgrade of outdated hashes at login.

use std::sync::OnceLock;

use trust_core::password::{PasswordHasher, Verified};

use crate::boundary::{boundary, try_opt_out, try_out, try_str};
use crate::bytes::trust_bytes;
use crate::error::trust_error;
use crate::status::trust_status;

/// One hasher per process: building one hashes a dummy password (for unknown-user timing), so
/// it is made once, on first use.
fn hasher() -> &'static PasswordHasher {
    static HASHER: OnceLock<PasswordHasher> = OnceLock::new();
    HASHER.get_or_init(PasswordHasher::new)
}

/// Hashes `password` (UTF-8) with argon2id under OWASP's parameters and a random salt; the PHC
/// string (`$argon2id$v=19$…`) comes back in `*phc_out`. Takes tens of milliseconds by design:
/// call it off an event loop.
///
/// Errors: `TRUST_INVALID_ARGUMENT` (`PASSWORD_TOO_SHORT` under 8 characters,
/// `PASSWORD_TOO_LONG` over 1024 bytes); `TRUST_INVALID_UTF8`.
///
/// # Safety
/// `password` points to `password_len` readable bytes; `phc_out` points to writable storage for
/// one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_password_hash(
    password: *const u8,
    password_len: usize,
    phc_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let password = try_str!(password, password_len);
        let out = try_out!(phc_out);
        let phc = hasher().hash(password)?;
        out.set(trust_bytes::into_raw(phc.as_bytes()));
        Ok(())
    })
}

/// Checks `password` against `stored` (an argon2 PHC string or a `$2a$/$2b$/$2y$` bcrypt hash),
/// in constant time. A wrong password is `TRUST_OK` with `*matches_out = false`. When it matches
/// and the stored hash is outdated (bcrypt, weaker parameters), `*rehash_out` (if not NULL)
/// receives a fresh argon2id PHC string to store in its place, else NULL.
///
/// Errors: `TRUST_INPUT_UNREADABLE` (`HASH_MALFORMED`, `HASH_PARAMS_OUT_OF_BOUNDS`) for a stored
/// string that is neither format or has parameters out of bounds; `TRUST_INVALID_ARGUMENT`
/// (`PASSWORD_TOO_LONG`).
///
/// # Safety
/// `stored` and `password` point to their lengths in readable bytes; `matches_out` points to a
/// writable `bool`; `rehash_out` is NULL or points to writable storage for one pointer;
/// `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_password_verify(
    stored: *const u8,
    stored_len: usize,
    password: *const u8,
    password_len: usize,
    matches_out: *mut bool,
    rehash_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let stored = try_str!(stored, stored_len);
        let password = try_str!(password, password_len);
        let matches_out = try_out!(matches_out);
        let rehash_out = try_opt_out!(rehash_out);
        let (matches, rehash) = match hasher().verify_and_upgrade(password, stored)? {
            Verified::Mismatch => (false, None),
            Verified::Match { rehash } => (true, rehash),
        };
        if let Some(out) = rehash_out {
            out.set(rehash.map_or(core::ptr::null_mut(), |phc| {
                trust_bytes::into_raw(phc.as_bytes())
            }));
        }
        matches_out.set(matches);
        Ok(())
    })
}
