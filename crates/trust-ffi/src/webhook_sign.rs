//! Webhook signing for every scheme trust-core verifies, for tests and local tooling: the
//! headers (or, for Shopify OAuth and App Proxy, the signed query string) a provider would
//! send, through trust-core's one signing dispatcher — the mirror of `trust_webhook_verify`,
//! and the one the CLI's `trust webhook sign` and the packages call.
//!
//! The result is a `trust_webhook_signed` handle whose headers come out as the four parallel
//! arrays `trust_webhook_verify` takes in, so a test signs and verifies without reshaping
//! anything:
//!
//! ```c
//! trust_webhook_signed *s = NULL;
//! trust_webhook_sign((const uint8_t *)"stripe", 6, secrets, secret_lens, 1, body, body_len,
//!                    NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, now, &s, NULL);
//! const uint8_t *const *names; const size_t *name_lens;
//! const uint8_t *const *values; const size_t *value_lens; size_t n;
//! trust_webhook_signed_headers(s, &names, &name_lens, &values, &value_lens, &n);
//! trust_webhook_verify(verifier, (const uint8_t *)"stripe", 6, body, body_len, names,
//!                      name_lens, values, value_lens, n, NULL, 0, NULL, 0, NULL, 0, NULL, 0,
//!                      now, NULL, NULL);
//! trust_webhook_signed_free(s);
//! ```

use trust_core::secret::SecretBytes;
use trust_core::webhook::{self, Outgoing, Scheme, SecretSet, Signed};

use crate::boundary::{
    boundary, ffi_free, into_handle, try_out, try_ref, try_slice, try_slices, try_str,
};
use crate::error::trust_error;
use crate::status::trust_status;

/// What `trust_webhook_sign` produced: the headers a provider sends (in its order) and, for
/// Shopify OAuth and App Proxy, the signed query string.
///
/// Opaque; made by `trust_webhook_sign`, freed by `trust_webhook_signed_free`. Immutable: the
/// arrays and bytes it hands out stay valid, unchanged, until it is freed.
#[allow(non_camel_case_types)]
pub struct trust_webhook_signed {
    /// Owns the bytes the pointer arrays below point into; never changed after construction,
    /// so the pointers stay valid for the handle's life (a `String`'s heap buffer does not move
    /// when the `String` itself does).
    names: Vec<&'static str>,
    values: Vec<String>,
    name_ptrs: Vec<*const u8>,
    name_lens: Vec<usize>,
    value_ptrs: Vec<*const u8>,
    value_lens: Vec<usize>,
    query: Option<String>,
}

impl trust_webhook_signed {
    fn new(signed: &Signed) -> Self {
        let names: Vec<&'static str> = signed.headers().iter().map(|(n, _)| *n).collect();
        let values: Vec<String> = signed.headers().iter().map(|(_, v)| v.clone()).collect();
        Self {
            name_ptrs: names.iter().map(|n| n.as_ptr()).collect(),
            name_lens: names.iter().map(|n| n.len()).collect(),
            value_ptrs: values.iter().map(|v| v.as_ptr()).collect(),
            value_lens: values.iter().map(String::len).collect(),
            names,
            values,
            query: signed.query().map(str::to_owned),
        }
    }
}

/// Signs a request under the scheme called `scheme` (the CLI's `--provider` names, as for
/// `trust_webhook_verify`) at `now` (Unix seconds), as the provider would: the result verifies
/// with `trust_webhook_verify` under the same scheme, secrets, method, URL and time.
///
/// `secret_count` secrets (`secrets[i]`, `secret_lens[i]` bytes; current first, at most
/// `TRUST_WEBHOOK_MAX_SECRETS`): Stripe and Standard Webhooks send one signature per secret, as
/// during a rotation; the other schemes sign with the current one. `body` is the raw body.
/// What some schemes also sign (unused ones NULL with length 0): `method` (length 0: `POST`)
/// and `url` (HubSpot v2/v3); `query` without `?` (Shopify OAuth and App Proxy: the result is
/// that query with `hmac`/`signature` appended); `id`, the delivery id (Standard Webhooks'
/// signed `webhook-id`, random `msg_…` when empty; sent as `X-Shopify-Webhook-Id` /
/// `X-GitHub-Delivery` when given; a session token's `jti`); `audience` (the app's API key) and
/// `shop` (`name.myshopify.com`) for Shopify session tokens.
///
/// On success `*signed_out` receives a handle; read it with `trust_webhook_signed_headers` and
/// `trust_webhook_signed_query`, free it with `trust_webhook_signed_free`.
///
/// Errors: `TRUST_NULL_ARGUMENT`; `TRUST_INVALID_ARGUMENT` (`WEBHOOK_CONFIG`) for an unknown
/// scheme, no/too many/empty secrets, a Standard Webhooks secret that is not `whsec_…`, or a
/// missing URL, query, audience or shop; `TRUST_VERIFICATION_FAILED` (`MALFORMED`) for a query
/// that does not parse or is already signed, a shop that is not a `*.myshopify.com` domain, or
/// an id a verifier would refuse; `TRUST_INVALID_UTF8` for a non-UTF-8 text argument;
/// `TRUST_INTERNAL` (`RANDOM_FAILED`) when a random id was needed and the OS gave none.
///
/// # Safety
/// Data pointers point to their lengths in readable bytes (NULL only with length 0);
/// `secrets` and `secret_lens` point to `secret_count` elements; `signed_out` points to
/// writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_sign(
    scheme: *const u8,
    scheme_len: usize,
    secrets: *const *const u8,
    secret_lens: *const usize,
    secret_count: usize,
    body: *const u8,
    body_len: usize,
    method: *const u8,
    method_len: usize,
    url: *const u8,
    url_len: usize,
    query: *const u8,
    query_len: usize,
    id: *const u8,
    id_len: usize,
    audience: *const u8,
    audience_len: usize,
    shop: *const u8,
    shop_len: usize,
    now: i64,
    signed_out: *mut *mut trust_webhook_signed,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let scheme: Scheme = try_str!(scheme, scheme_len).parse()?;
        let secrets = try_slices!(secrets, secret_lens, secret_count);
        let body = try_slice!(body, body_len);
        let method = try_str!(method, method_len);
        let url = try_str!(url, url_len);
        let query = try_str!(query, query_len);
        let id = try_str!(id, id_len);
        let audience = try_str!(audience, audience_len);
        let shop = try_str!(shop, shop_len);
        let out = try_out!(signed_out);
        let set = SecretSet::try_from_vec(
            secrets
                .iter()
                .map(|s| SecretBytes::from(s.to_vec()))
                .collect(),
        )?;
        let mut outgoing = Outgoing::new(&set, body);
        if !method.is_empty() {
            outgoing = outgoing.method(method);
        }
        if !url.is_empty() {
            outgoing = outgoing.url(url);
        }
        if !query.is_empty() {
            outgoing = outgoing.query(query);
        }
        if !id.is_empty() {
            outgoing = outgoing.id(id);
        }
        if !audience.is_empty() {
            outgoing = outgoing.audience(audience);
        }
        if !shop.is_empty() {
            outgoing = outgoing.shop(shop);
        }
        let signed = webhook::sign(scheme, &outgoing, now)?;
        out.set(into_handle(trust_webhook_signed::new(&signed)));
        Ok(())
    })
}

/// The signed headers as the four parallel arrays `trust_webhook_verify` takes
/// (`header_names`, `header_name_lens`, `header_values`, `header_value_lens`) and their count
/// (0 for Shopify OAuth and App Proxy, which sign the query instead). Names are spelled as the
/// provider sends them; no byte is NUL-terminated. The arrays belong to `result` and stay valid
/// until `trust_webhook_signed_free`.
///
/// # Safety
/// `result` is a live handle; each out pointer points to writable storage for one value;
/// `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_signed_headers(
    result: *const trust_webhook_signed,
    names_out: *mut *const *const u8,
    name_lens_out: *mut *const usize,
    values_out: *mut *const *const u8,
    value_lens_out: *mut *const usize,
    count_out: *mut usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let s = try_ref!(result);
        let names_out = try_out!(names_out);
        let name_lens_out = try_out!(name_lens_out);
        let values_out = try_out!(values_out);
        let value_lens_out = try_out!(value_lens_out);
        let count_out = try_out!(count_out);
        debug_assert_eq!(s.names.len(), s.values.len());
        names_out.set(s.name_ptrs.as_ptr());
        name_lens_out.set(s.name_lens.as_ptr());
        values_out.set(s.value_ptrs.as_ptr());
        value_lens_out.set(s.value_lens.as_ptr());
        count_out.set(s.name_ptrs.len());
        Ok(())
    })
}

/// The signed query string (Shopify OAuth and App Proxy: the input query with `&hmac=…` or
/// `&signature=…` appended), not NUL-terminated, owned by `result`. For every other scheme
/// `*query_out` is NULL and `*query_len_out` 0.
///
/// # Safety
/// `result` is a live handle; `query_out` and `query_len_out` point to writable storage for
/// one value each; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_signed_query(
    result: *const trust_webhook_signed,
    query_out: *mut *const u8,
    query_len_out: *mut usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let s = try_ref!(result);
        let query_out = try_out!(query_out);
        let query_len_out = try_out!(query_len_out);
        match &s.query {
            Some(q) => {
                query_out.set(q.as_ptr());
                query_len_out.set(q.len());
            }
            None => {
                query_out.set(core::ptr::null());
                query_len_out.set(0);
            }
        }
        Ok(())
    })
}

/// Frees a signed result (the arrays and bytes it handed out become invalid). NULL is a no-op.
///
/// # Safety
/// `result` is NULL or a live handle, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_signed_free(result: *mut trust_webhook_signed) {
    ffi_free!(result);
}
