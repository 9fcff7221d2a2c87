//! Webhook and signed-request verification for every scheme trust-core supports.
//!
//! A `trust_webhook_verifier` holds an endpoint's secret set (current secret first, then the
//! previous ones still accepted during a rotation) and a freshness tolerance. One function per
//! scheme takes the raw header value(s) the provider sent, the raw body bytes (never re-serialized
//! JSON) and, for schemes with a signed timestamp, `now` in Unix seconds — time is always the
//! caller's, so tests and replays are deterministic.
//!
//! Each returns `TRUST_OK` for an authentic request and `TRUST_VERIFICATION_FAILED` otherwise;
//! the error code says only *invalid* (`SIGNATURE_INVALID`), *stale* (`TIMESTAMP_STALE`),
//! *future* (`TIMESTAMP_FUTURE`), `CLAIM_REJECTED` or `MALFORMED`, never which byte or secret.
//! Replay protection beyond the timestamp window (deduplicating on the delivery id) is the
//! host's job; the rules are in trust-core's `webhook` module docs.

use trust_core::secret::SecretBytes;
use trust_core::webhook::{
    self, MemorySeenStore, ReplayGuard, Request, Scheme, SecretSet, SeenStore, github, hubspot,
    shopify, slack, stripe,
};

use crate::boundary::{
    Failure, boundary, boundary_or, ffi_free, into_handle, try_location, try_opt_out, try_out,
    try_ref, try_slice, try_slices, try_str,
};
use crate::bytes::trust_bytes;
use crate::error::trust_error;
use crate::status::trust_status;

/// `tolerance_secs` value for `trust_webhook_verifier_new` meaning "each scheme's default":
/// 300 s for Stripe, HubSpot v3, Standard Webhooks and Slack, 90 s for Shopify OAuth and App
/// Proxy queries, 10 s of leeway for Shopify session tokens.
pub const TRUST_WEBHOOK_SCHEME_DEFAULT: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/// Most secrets a verifier holds (current plus previous ones).
pub const TRUST_WEBHOOK_MAX_SECRETS: usize = 8;
const _: () = assert!(TRUST_WEBHOOK_MAX_SECRETS == webhook::MAX_SECRETS);

/// Returns `TRUST_WEBHOOK_MAX_SECRETS`, for hosts that cannot read macros.
#[unsafe(no_mangle)]
pub extern "C" fn trust_webhook_max_secrets() -> usize {
    boundary_or(TRUST_WEBHOOK_MAX_SECRETS, || TRUST_WEBHOOK_MAX_SECRETS)
}

/// A webhook verifier: an endpoint's secret set and freshness tolerance.
///
/// Opaque; made by `trust_webhook_verifier_new`, freed by `trust_webhook_verifier_free`.
/// Immutable once made: one verifier may verify requests from any number of threads at once.
#[allow(non_camel_case_types)]
pub struct trust_webhook_verifier {
    secrets: SecretSet,
    /// `None`: each scheme's default.
    tolerance: Option<u64>,
}

impl trust_webhook_verifier {
    fn new(secrets: SecretSet, tolerance: Option<u64>) -> Self {
        Self { secrets, tolerance }
    }

    fn request<'a>(&'a self, body: &'a [u8]) -> Request<'a> {
        Request::new(&self.secrets, body)
    }

    /// Every entry point below goes through trust-core's one dispatcher, so the C ABI, the CLI
    /// and the packages share the schemes' defaults and errors.
    fn verify(&self, scheme: Scheme, request: Request<'_>, now: i64) -> Result<(), Failure> {
        let request = match self.tolerance {
            Some(t) => request.tolerance(t),
            None => request,
        };
        webhook::verify(scheme, &request, now)?;
        Ok(())
    }
}

/// Makes a verifier for `secret_count` secrets (`secrets[i]`, `secret_lens[i]` bytes; current
/// first, then previous ones still accepted; at most `TRUST_WEBHOOK_MAX_SECRETS`), accepting
/// signed timestamps up to `tolerance_secs` old (and as far in the future), or each scheme's
/// default with `TRUST_WEBHOOK_SCHEME_DEFAULT`. The library keeps its own zeroizing copy of the
/// secrets. Secrets are the bytes the provider gave you (for Standard Webhooks the whole
/// `whsec_…` string).
///
/// Errors: `TRUST_NULL_ARGUMENT`; `TRUST_INVALID_ARGUMENT` (code `WEBHOOK_CONFIG`) for no
/// secret, too many, or an empty one.
///
/// # Safety
/// `secrets` and `secret_lens` point to `secret_count` elements; each `secrets[i]` points to
/// `secret_lens[i]` readable bytes; `verifier_out` points to writable storage for one pointer;
/// `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verifier_new(
    secrets: *const *const u8,
    secret_lens: *const usize,
    secret_count: usize,
    tolerance_secs: u64,
    verifier_out: *mut *mut trust_webhook_verifier,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let secrets = try_slices!(secrets, secret_lens, secret_count);
        let out = try_out!(verifier_out);
        let list: Vec<SecretBytes> = secrets
            .iter()
            .map(|secret| SecretBytes::from(secret.to_vec()))
            .collect();
        let set = SecretSet::try_from_vec(list)?;
        let tolerance = (tolerance_secs != TRUST_WEBHOOK_SCHEME_DEFAULT).then_some(tolerance_secs);
        out.set(into_handle(trust_webhook_verifier::new(set, tolerance)));
        Ok(())
    })
}

/// Frees a verifier and wipes its secrets. NULL is a no-op.
///
/// # Safety
/// `verifier` is NULL or a live `trust_webhook_verifier`, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verifier_free(verifier: *mut trust_webhook_verifier) {
    ffi_free!(verifier);
}

/// Verifies a Shopify webhook: `hmac` is the value of `X-Shopify-Hmac-Sha256` (or
/// `Shopify-Hmac-Sha256`), base64; `body` the raw body. Shopify signs no timestamp: deduplicate
/// on `X-Shopify-Webhook-Id` to stop replays.
///
/// # Safety
/// `verifier` is a live verifier; each data pointer points to its length in readable bytes
/// (NULL only with length 0); `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verify_shopify(
    verifier: *const trust_webhook_verifier,
    hmac: *const u8,
    hmac_len: usize,
    body: *const u8,
    body_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let v = try_ref!(verifier);
        let hmac = try_slice!(hmac, hmac_len);
        let body = try_slice!(body, body_len);
        v.verify(
            Scheme::ShopifyWebhook,
            v.request(body).header(shopify::HMAC_HEADER, hmac),
            0,
        )
    })
}

/// Verifies the query string of a Shopify OAuth callback or admin redirect (its `hmac`
/// parameter) at `now`; `query` is the raw query string, without `?`.
///
/// # Safety
/// As for `trust_webhook_verify_shopify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verify_shopify_oauth(
    verifier: *const trust_webhook_verifier,
    query: *const u8,
    query_len: usize,
    now: i64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let v = try_ref!(verifier);
        let query = try_str!(query, query_len);
        v.verify(Scheme::ShopifyOAuth, v.request(&[]).query(query), now)
    })
}

/// Verifies the query string of a Shopify App Proxy request (its `signature` parameter) at
/// `now`; `query` is the raw query string, without `?`.
///
/// # Safety
/// As for `trust_webhook_verify_shopify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verify_shopify_app_proxy(
    verifier: *const trust_webhook_verifier,
    query: *const u8,
    query_len: usize,
    now: i64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let v = try_ref!(verifier);
        let query = try_str!(query, query_len);
        v.verify(Scheme::ShopifyAppProxy, v.request(&[]).query(query), now)
    })
}

/// Verifies a Shopify session token (App Bridge JWT, HS256) at `now`: `authorization` is the
/// value of the `Authorization` header (`Bearer eyJ…`), `api_key` the app's API key (the
/// expected audience).
///
/// # Safety
/// As for `trust_webhook_verify_shopify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verify_shopify_session_token(
    verifier: *const trust_webhook_verifier,
    api_key: *const u8,
    api_key_len: usize,
    authorization: *const u8,
    authorization_len: usize,
    now: i64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let v = try_ref!(verifier);
        let api_key = try_str!(api_key, api_key_len);
        let auth = try_slice!(authorization, authorization_len);
        let request = v
            .request(&[])
            .header("Authorization", auth)
            .audience(api_key);
        v.verify(Scheme::ShopifySessionToken, request, now)
    })
}

/// Verifies a Stripe delivery at `now`: `signature` is the value of `Stripe-Signature`
/// (`t=…,v1=…`), `body` the raw body.
///
/// # Safety
/// As for `trust_webhook_verify_shopify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verify_stripe(
    verifier: *const trust_webhook_verifier,
    signature: *const u8,
    signature_len: usize,
    body: *const u8,
    body_len: usize,
    now: i64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let v = try_ref!(verifier);
        let signature = try_slice!(signature, signature_len);
        let body = try_slice!(body, body_len);
        v.verify(
            Scheme::Stripe,
            v.request(body).header(stripe::HEADER, signature),
            now,
        )
    })
}

/// Verifies a HubSpot v1 request: `signature` is `X-HubSpot-Signature` (hex SHA-256 of secret ‖
/// body). v1 signs no timestamp.
///
/// # Safety
/// As for `trust_webhook_verify_shopify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verify_hubspot_v1(
    verifier: *const trust_webhook_verifier,
    signature: *const u8,
    signature_len: usize,
    body: *const u8,
    body_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let v = try_ref!(verifier);
        let signature = try_slice!(signature, signature_len);
        let body = try_slice!(body, body_len);
        v.verify(
            Scheme::HubSpotV1,
            v.request(body).header(hubspot::HEADER_V1_V2, signature),
            0,
        )
    })
}

/// Verifies a HubSpot v2 request: `signature` is `X-HubSpot-Signature`, `method` the HTTP
/// method, `url` the full URL exactly as HubSpot called it. v2 signs no timestamp.
///
/// # Safety
/// As for `trust_webhook_verify_shopify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verify_hubspot_v2(
    verifier: *const trust_webhook_verifier,
    signature: *const u8,
    signature_len: usize,
    method: *const u8,
    method_len: usize,
    url: *const u8,
    url_len: usize,
    body: *const u8,
    body_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let v = try_ref!(verifier);
        let signature = try_slice!(signature, signature_len);
        let method = try_str!(method, method_len);
        let url = try_str!(url, url_len);
        let body = try_slice!(body, body_len);
        let request = v
            .request(body)
            .header(hubspot::HEADER_V1_V2, signature)
            .method(method)
            .url(url);
        v.verify(Scheme::HubSpotV2, request, 0)
    })
}

/// Verifies a HubSpot v3 request at `now` (seconds): `signature` is `X-HubSpot-Signature-v3`,
/// `timestamp` is `X-HubSpot-Request-Timestamp` (milliseconds, as sent), `method` the HTTP
/// method, `url` the full URL as received.
///
/// # Safety
/// As for `trust_webhook_verify_shopify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verify_hubspot_v3(
    verifier: *const trust_webhook_verifier,
    signature: *const u8,
    signature_len: usize,
    timestamp: *const u8,
    timestamp_len: usize,
    method: *const u8,
    method_len: usize,
    url: *const u8,
    url_len: usize,
    body: *const u8,
    body_len: usize,
    now: i64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let v = try_ref!(verifier);
        let signature = try_slice!(signature, signature_len);
        let timestamp = try_slice!(timestamp, timestamp_len);
        let method = try_str!(method, method_len);
        let url = try_str!(url, url_len);
        let body = try_slice!(body, body_len);
        let request = v
            .request(body)
            .header(hubspot::HEADER_V3, signature)
            .header(hubspot::TIMESTAMP_HEADER, timestamp)
            .method(method)
            .url(url);
        v.verify(Scheme::HubSpotV3, request, now)
    })
}

/// Verifies a Standard Webhooks (or Svix) delivery at `now`: `id`, `timestamp` and `signature`
/// are the values of `webhook-id`, `webhook-timestamp` and `webhook-signature` (or their
/// `svix-` equivalents). The verifier's secrets must be `whsec_…` strings, otherwise this
/// returns `TRUST_INVALID_ARGUMENT` (code `WEBHOOK_CONFIG`).
///
/// # Safety
/// As for `trust_webhook_verify_shopify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verify_standard(
    verifier: *const trust_webhook_verifier,
    id: *const u8,
    id_len: usize,
    timestamp: *const u8,
    timestamp_len: usize,
    signature: *const u8,
    signature_len: usize,
    body: *const u8,
    body_len: usize,
    now: i64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let v = try_ref!(verifier);
        let id = try_slice!(id, id_len);
        let timestamp = try_slice!(timestamp, timestamp_len);
        let signature = try_slice!(signature, signature_len);
        let body = try_slice!(body, body_len);
        let request = v
            .request(body)
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature);
        v.verify(Scheme::StandardWebhooks, request, now)
    })
}

/// Verifies a GitHub delivery: `signature` is `X-Hub-Signature-256` (`sha256=…`). GitHub signs
/// no timestamp: deduplicate on `X-GitHub-Delivery`.
///
/// # Safety
/// As for `trust_webhook_verify_shopify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verify_github(
    verifier: *const trust_webhook_verifier,
    signature: *const u8,
    signature_len: usize,
    body: *const u8,
    body_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let v = try_ref!(verifier);
        let signature = try_slice!(signature, signature_len);
        let body = try_slice!(body, body_len);
        v.verify(
            Scheme::GitHub,
            v.request(body).header(github::HEADER, signature),
            0,
        )
    })
}

/// Verifies a Slack request at `now`: `signature` is `X-Slack-Signature` (`v0=…`), `timestamp`
/// is `X-Slack-Request-Timestamp`.
///
/// # Safety
/// As for `trust_webhook_verify_shopify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verify_slack(
    verifier: *const trust_webhook_verifier,
    signature: *const u8,
    signature_len: usize,
    timestamp: *const u8,
    timestamp_len: usize,
    body: *const u8,
    body_len: usize,
    now: i64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let v = try_ref!(verifier);
        let signature = try_slice!(signature, signature_len);
        let timestamp = try_slice!(timestamp, timestamp_len);
        let body = try_slice!(body, body_len);
        let request = v
            .request(body)
            .header(slack::HEADER, signature)
            .header(slack::TIMESTAMP_HEADER, timestamp);
        v.verify(Scheme::Slack, request, now)
    })
}

/// Verifies a request under the scheme called `scheme` — the CLI's `--provider` names:
/// `shopify`, `shopify-oauth`, `shopify-app-proxy`, `shopify-session-token`, `stripe`,
/// `hubspot-v1`, `hubspot-v2`, `hubspot-v3`, `standard-webhooks`, `github`, `slack` — through
/// trust-core's one dispatcher, the one the CLI and the packages call. The request is the raw
/// `body` and `header_count` headers (`header_names[i]`/`header_values[i]` with their lengths;
/// names match case-insensitively), plus what some schemes also sign: `method` (length 0:
/// `POST`) and `url` (HubSpot v2/v3), `query` without `?` (Shopify OAuth and App Proxy), and
/// `audience` (the app's API key, Shopify session tokens, which come in the `Authorization:
/// Bearer` header). `now` is Unix seconds. Unused parameters may be NULL with length 0.
///
/// On success, `*result_out` (if not NULL) receives a JSON object: `scheme`, `secret_index`
/// (0 = the current secret matched), and `timestamp`, `delivery_id`, `shop` (null when the
/// scheme has none). The delivery id is the key for replay protection.
///
/// Errors: `TRUST_VERIFICATION_FAILED` with the core's code (`SIGNATURE_INVALID`,
/// `TIMESTAMP_STALE`, `TIMESTAMP_FUTURE`, `MALFORMED`, …); `TRUST_INVALID_ARGUMENT`
/// (`WEBHOOK_CONFIG`) for an unknown scheme or a missing URL, query or audience.
///
/// # Safety
/// `verifier` is a live verifier; data pointers point to their lengths in readable bytes; the
/// four header arrays point to `header_count` elements each (NULL when 0); `result_out` is NULL
/// or points to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_webhook_verify(
    verifier: *const trust_webhook_verifier,
    scheme: *const u8,
    scheme_len: usize,
    body: *const u8,
    body_len: usize,
    header_names: *const *const u8,
    header_name_lens: *const usize,
    header_values: *const *const u8,
    header_value_lens: *const usize,
    header_count: usize,
    method: *const u8,
    method_len: usize,
    url: *const u8,
    url_len: usize,
    query: *const u8,
    query_len: usize,
    audience: *const u8,
    audience_len: usize,
    now: i64,
    result_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let verifier = try_ref!(verifier);
        let scheme: Scheme = try_str!(scheme, scheme_len).parse()?;
        let body = try_slice!(body, body_len);
        let names = try_slices!(header_names, header_name_lens, header_count);
        let values = try_slices!(header_values, header_value_lens, header_count);
        let method = try_str!(method, method_len);
        let url = try_str!(url, url_len);
        let query = try_str!(query, query_len);
        let audience = try_str!(audience, audience_len);
        let result_out = try_opt_out!(result_out);
        let names = names
            .into_iter()
            .map(|n| {
                core::str::from_utf8(n).map_err(|_| {
                    Failure::new(
                        trust_status::TrustInvalidUtf8,
                        "INVALID_UTF8",
                        "a header name is not valid UTF-8",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut request = verifier.request(body);
        for (name, value) in names.into_iter().zip(values) {
            request = request.header(name, value);
        }
        if !method.is_empty() {
            request = request.method(method);
        }
        if !url.is_empty() {
            request = request.url(url);
        }
        if !query.is_empty() {
            request = request.query(query);
        }
        if !audience.is_empty() {
            request = request.audience(audience);
        }
        if let Some(t) = verifier.tolerance {
            request = request.tolerance(t);
        }
        let verified = webhook::verify(scheme, &request, now)?;
        if let Some(out) = result_out {
            let json = serde_json::json!({
                "scheme": verified.scheme.name(),
                "secret_index": verified.secret_index,
                "timestamp": verified.timestamp,
                "delivery_id": verified.delivery_id,
                "shop": verified.shop,
            });
            out.set(trust_bytes::into_raw(json.to_string().as_bytes()));
        }
        Ok(())
    })
}

/// Remembers webhook delivery ids so that a delivery is processed once: in this process, or
/// across every worker when the ids are kept in a shared store. Opaque; made by
/// `trust_replay_guard_new`, freed by `trust_replay_guard_free`. Thread-safe.
#[allow(non_camel_case_types)]
pub struct trust_replay_guard {
    inner: ReplayGuard<Box<dyn SeenStore>>,
}

/// Makes a replay guard remembering each id for `ttl_secs` seconds (choose at least the
/// verification tolerance plus the senders' clock skew; 0 takes 600). `store` is a `redis://`
/// or `postgres://` URL shared by every worker (opened through trust-backends, the dispatcher
/// the CLI uses), or NULL with length 0 for a store in this process only (100 000 ids).
///
/// Errors: `TRUST_INVALID_ARGUMENT` (`STORE_URL_UNSUPPORTED`, `STORE_URL_INVALID`) for a
/// directory path or another scheme; `TRUST_INPUT_UNREADABLE` (`STORE_UNREACHABLE`) when a
/// PostgreSQL server cannot be reached. A URL's password never appears in an error.
///
/// # Safety
/// `store` points to `store_len` readable bytes (NULL with 0); `guard_out` points to writable
/// storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_replay_guard_new(
    store: *const u8,
    store_len: usize,
    ttl_secs: u64,
    guard_out: *mut *mut trust_replay_guard,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let out = try_out!(guard_out);
        let store: Box<dyn SeenStore> = if store_len == 0 {
            Box::new(MemorySeenStore::default())
        } else {
            trust_backends::open_seen_store(try_location!(store, store_len))?
        };
        let ttl = if ttl_secs == 0 { 600 } else { ttl_secs };
        out.set(into_handle(trust_replay_guard {
            inner: ReplayGuard::new(store, ttl),
        }));
        Ok(())
    })
}

/// Frees a replay guard. NULL is a no-op.
///
/// # Safety
/// `guard` is NULL or a live guard, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_replay_guard_free(guard: *mut trust_replay_guard) {
    ffi_free!(guard);
}

/// Records delivery `id` under `namespace` (use the scheme name, e.g. `shopify`, with the
/// `delivery_id` `trust_webhook_verify` returned; or `stripe` with the verified body's event
/// id) at `now` (Unix seconds). Call it only after the delivery verified. Returns `TRUST_OK` the
/// first time, and `TRUST_VERIFICATION_FAILED` with code `REPLAYED` for an id already seen and
/// not expired (answer the provider 200 and skip the work): atomically, so of two workers
/// receiving one delivery, exactly one gets `TRUST_OK`.
///
/// Errors: `TRUST_VERIFICATION_FAILED` (`MALFORMED`) for an empty id; `TRUST_INTERNAL`
/// (`REPLAY_STORE`) when the shared store cannot record it (do not process the delivery).
///
/// # Safety
/// `guard` is a live guard; `namespace` and `id` point to their lengths in readable bytes;
/// `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_replay_guard_check(
    guard: *const trust_replay_guard,
    namespace: *const u8,
    namespace_len: usize,
    id: *const u8,
    id_len: usize,
    now: i64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let guard = try_ref!(guard);
        let namespace = try_str!(namespace, namespace_len);
        let id = try_str!(id, id_len);
        guard.inner.check_id(namespace, id, now)?;
        Ok(())
    })
}
