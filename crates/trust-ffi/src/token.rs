//! Scoped access tokens: short-lived bearer tokens bound to a tenant, scopes and an audience,
//! MAC'd under one of the home's keyrings (`trust token issue` / `trust token verify`).
//!
//! A support-chat widget on a merchant's storefront calls the app's API with a token that says
//! "tenant `acme`, may post chat messages, for 15 minutes"; the API checks it back. A token from
//! the CLI verifies here and the reverse: the format and the key are the home's.

use std::time::Duration;

use trust_core::clock::{Clock, FixedClock, SystemClock};
use trust_core::token::{Expect, TokenRequest, Tokens};

use crate::boundary::{Failure, boundary, try_opt_out, try_out, try_ref, try_slices, try_str};
use crate::bytes::trust_bytes;
use crate::error::trust_error;
use crate::home::trust_home;
use crate::status::trust_status;

/// The clock at `now_unix` (0: the system clock).
fn clock_at(now_unix: i64) -> Result<Box<dyn Clock>, Failure> {
    match now_unix {
        0 => Ok(Box::new(SystemClock)),
        n if n > 0 => Ok(Box::new(FixedClock::at_unix(n))),
        _ => Err(Failure::invalid(
            "now_unix must be 0 (the clock) or positive",
        )),
    }
}

/// Issues a token under keyring `keyring` of `home` for `tenant`, with `scope_count` scopes
/// (`scopes[i]`, `scope_lens[i]` bytes, e.g. `chat:write`), for `audience` (length 0: any),
/// valid `ttl_secs` seconds from `now_unix` (0: the system clock). The token text comes back in
/// `*token_out` (it is a bearer credential: zeroized when freed).
///
/// Errors: `TRUST_INVALID_ARGUMENT` for an invalid tenant, scope, audience or lifetime;
/// `TRUST_KEY_UNAVAILABLE` for an unknown keyring.
///
/// # Safety
/// `home` is a live home; data pointers point to their lengths in readable bytes; `scopes` and
/// `scope_lens` point to `scope_count` elements each; `token_out` points to writable storage
/// for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_access_token_issue(
    home: *const trust_home,
    keyring: *const u8,
    keyring_len: usize,
    tenant: *const u8,
    tenant_len: usize,
    scopes: *const *const u8,
    scope_lens: *const usize,
    scope_count: usize,
    audience: *const u8,
    audience_len: usize,
    ttl_secs: u64,
    now_unix: i64,
    token_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let keyring = try_str!(keyring, keyring_len);
        let tenant = try_str!(tenant, tenant_len);
        let scopes = try_slices!(scopes, scope_lens, scope_count);
        let audience = try_str!(audience, audience_len);
        let out = try_out!(token_out);
        let scopes = scopes
            .into_iter()
            .map(|s| {
                core::str::from_utf8(s)
                    .map(str::to_owned)
                    .map_err(|_| Failure::invalid("a scope is not UTF-8"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut request = TokenRequest::new(tenant, scopes, Duration::from_secs(ttl_secs));
        if !audience.is_empty() {
            request = request.audience(audience);
        }
        let clock = clock_at(now_unix)?;
        let token = Tokens::new(home.inner.clone()).issue(keyring, &request, &*clock)?;
        out.set(trust_bytes::into_raw(token.expose().as_bytes()));
        Ok(())
    })
}

/// Verifies `token` at `now_unix` (0: the system clock): made with this home's key, not
/// expired, for `tenant`, carrying `scope`, and for `audience` when given (length 0: the
/// token must have none). On success `*claims_out` (if not NULL) receives JSON with `tenant`,
/// `scopes`, `audience`, `issued_at`, `expires_at` and `id`.
///
/// Errors: `TRUST_VERIFICATION_FAILED` for a forged, altered, expired or unfitting token (codes
/// such as `TOKEN_INVALID`, `TOKEN_EXPIRED`, `TOKEN_WRONG_TENANT`, `TOKEN_MISSING_SCOPE`).
///
/// # Safety
/// `home` is a live home; data pointers point to their lengths in readable bytes; `claims_out`
/// is NULL or points to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_access_token_verify(
    home: *const trust_home,
    token: *const u8,
    token_len: usize,
    tenant: *const u8,
    tenant_len: usize,
    scope: *const u8,
    scope_len: usize,
    audience: *const u8,
    audience_len: usize,
    now_unix: i64,
    claims_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let token = try_str!(token, token_len);
        let tenant = try_str!(tenant, tenant_len);
        let scope = try_str!(scope, scope_len);
        let audience = try_str!(audience, audience_len);
        let claims_out = try_opt_out!(claims_out);
        let mut expect = Expect::new(tenant, scope);
        if !audience.is_empty() {
            expect = expect.audience(audience);
        }
        let clock = clock_at(now_unix)?;
        let claims = Tokens::new(home.inner.clone()).verify(token, &expect, &*clock)?;
        if let Some(out) = claims_out {
            let json = serde_json::json!({
                "tenant": claims.tenant,
                "scopes": claims.scopes,
                "audience": claims.audience,
                "issued_at": claims.issued_at,
                "expires_at": claims.expires_at,
                "id": claims.id,
            });
            out.set(trust_bytes::into_raw(json.to_string().as_bytes()));
        }
        Ok(())
    })
}
