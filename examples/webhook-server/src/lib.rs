//! A minimal webhook endpoint that verifies every delivery **before touching the body**.
//!
//! Routes:
//! * `POST /webhooks/shopify` — `X-Shopify-Hmac-Sha256`, deduplicated on `X-Shopify-Webhook-Id`
//!   (required: `400 MISSING_DELIVERY_ID` without it) **and** on the verified HMAC, because the
//!   id header is not signed: a replay with the id removed or changed is still a duplicate;
//! * `POST /webhooks/stripe` — `Stripe-Signature`, 300 s window, deduplicated on `event.id`;
//! * `POST /webhooks/hubspot` — `X-HubSpot-Signature-v3`, 300 s window, verified against the
//!   *public* URL HubSpot called (the server may sit behind a proxy that rewrites it).
//!
//! Answers: `200` for a verified delivery, `200` with `duplicate` for a delivery already
//! processed (so the provider stops retrying it), `401` for anything unverifiable (forged,
//! stale, malformed — Shopify requires 401 for its mandatory GDPR webhooks), `500` when the
//! replay store is full. The body is given to `process` only after all checks pass.
//!
//! The two rules that matter when copying this: take the body as raw bytes (never a parsed
//! JSON extractor before verification), and take the time from a clock, not from the request.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use trust_core::clock::{Clock, SystemClock};
use trust_core::webhook::{
    MemorySeenStore, ReplayGuard, SecretSet, SeenStore, Verified, WebhookError, hubspot, shopify,
    stripe,
};

/// What the server needs: a secret set per provider, the public base URL, a clock.
pub struct Config {
    /// Shopify app client secret(s), current first.
    pub shopify: SecretSet,
    /// Stripe endpoint secret(s) (`whsec_…`), current first.
    pub stripe: SecretSet,
    /// HubSpot app client secret(s), current first.
    pub hubspot: SecretSet,
    /// The scheme and host HubSpot calls, e.g. `https://hooks.example.com`.
    pub public_base_url: String,
    /// The time source (a fixed clock in tests).
    pub clock: Arc<dyn Clock>,
}

struct AppState {
    shopify: shopify::WebhookVerifier,
    stripe: stripe::Verifier,
    hubspot: hubspot::Verifier,
    public_base_url: String,
    clock: Arc<dyn Clock>,
    // Remember ids for 48 h: Shopify signs no timestamp, so the TTL must cover its retry
    // schedule (hours, per its docs); Stripe's 300 s window is covered many times over.
    replay: ReplayGuard<Box<dyn SeenStore>>,
}

/// Builds the router, remembering delivery ids in this process only.
pub fn app(config: Config) -> Router {
    app_with_seen_store(config, Box::new(MemorySeenStore::default()))
}

/// Builds the router over a shared store of delivery ids, so that of several workers behind a
/// load balancer exactly one processes a delivery (see [`seen_store_from_env`]).
pub fn app_with_seen_store(config: Config, seen: Box<dyn SeenStore>) -> Router {
    let state = Arc::new(AppState {
        shopify: shopify::WebhookVerifier::new(config.shopify),
        stripe: stripe::Verifier::new(config.stripe),
        hubspot: hubspot::Verifier::new(config.hubspot),
        public_base_url: config.public_base_url.trim_end_matches('/').to_owned(),
        clock: config.clock,
        replay: ReplayGuard::new(seen, 48 * 3600),
    });
    Router::new()
        .route("/webhooks/shopify", post(shopify_hook))
        .route("/webhooks/stripe", post(stripe_hook))
        .route("/webhooks/hubspot", post(hubspot_hook))
        .with_state(state)
}

/// A default configuration from the environment: `SHOPIFY_SECRET`, `STRIPE_WHSEC`,
/// `HUBSPOT_SECRET` (each optionally with a `_PREVIOUS` twin during a rotation) and
/// `PUBLIC_BASE_URL`.
///
/// # Errors
/// The name of the first missing variable.
pub fn config_from_env() -> Result<Config, String> {
    fn set(name: &str) -> Result<SecretSet, String> {
        let current = std::env::var(name).map_err(|_| format!("{name} is not set"))?;
        let mut set = SecretSet::new(current.into_bytes());
        if let Ok(previous) = std::env::var(format!("{name}_PREVIOUS")) {
            set = set.with_previous(previous.into_bytes());
        }
        Ok(set)
    }
    Ok(Config {
        shopify: set("SHOPIFY_SECRET")?,
        stripe: set("STRIPE_WHSEC")?,
        hubspot: set("HUBSPOT_SECRET")?,
        public_base_url: std::env::var("PUBLIC_BASE_URL")
            .map_err(|_| "PUBLIC_BASE_URL is not set".to_owned())?,
        clock: Arc::new(SystemClock),
    })
}

/// The replay store named by `TRUST_REPLAY_STORE` (`redis://…` or `postgres://…`, opened
/// through trust-backends, the one place URLs are read), or this process's own when unset.
///
/// # Errors
/// The exit code trust uses for the failure (2 a bad URL, 3 an unreachable server) and one
/// line naming what is wrong (never the URL's password).
pub fn seen_store_from_env() -> Result<Box<dyn SeenStore>, (u8, String)> {
    use trust_core::error::TrustError as _;
    match std::env::var("TRUST_REPLAY_STORE") {
        Err(_) => Ok(Box::new(MemorySeenStore::default())),
        Ok(url) => trust_backends::open_seen_store(&url)
            .map_err(|e| (e.category().exit_code(), format!("TRUST_REPLAY_STORE: {e}"))),
    }
}

/// The header pairs trust-core takes, borrowed from axum's map.
fn pairs(headers: &HeaderMap) -> Vec<(&str, &[u8])> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect()
}

/// Maps a verification failure to the HTTP answer; never says more than the reason code.
fn reject(err: &WebhookError) -> (StatusCode, String) {
    use trust_core::error::TrustError as _;
    match err {
        WebhookError::Replayed => (StatusCode::OK, "duplicate\n".to_owned()),
        WebhookError::ReplayStore(_) => (StatusCode::INTERNAL_SERVER_ERROR, "busy\n".to_owned()),
        // Nothing was recorded: the provider should retry this delivery later.
        WebhookError::ReplayStoreUnavailable(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n".to_owned())
        }
        other => (StatusCode::UNAUTHORIZED, format!("{}\n", other.code())),
    }
}

/// Stands for the app's real work; it sees only verified bodies.
fn process(provider: &str, v: &Verified, body: &[u8]) -> (StatusCode, String) {
    (
        StatusCode::OK,
        format!(
            "ok {provider} {} bytes secret#{}\n",
            body.len(),
            v.secret_index
        ),
    )
}

async fn shopify_hook(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let now = s.clock.now_unix();
    let verified = match s.shopify.verify(&pairs(&headers), &body) {
        Ok(v) => v,
        Err(e) => return reject(&e),
    };
    // Shopify signs no timestamp, so deduplication is the only replay defence. Shopify always
    // sends X-Shopify-Webhook-Id: a signed delivery without one was altered on the way.
    if verified.delivery_id.is_none() {
        return (StatusCode::BAD_REQUEST, "MISSING_DELIVERY_ID\n".to_owned());
    }
    if let Err(e) = s.replay.check(&verified, now) {
        return reject(&e);
    }
    // The id is outside the MAC, so a replay may carry a fresh one. The HMAC itself is bound
    // to the body and, being canonical base64 (the verifier insists), has exactly one spelling:
    // the same signed body seen twice is a duplicate whatever its id says.
    let mac = ["x-shopify-hmac-sha256", "shopify-hmac-sha256"]
        .iter()
        .find_map(|n| headers.get(*n))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_matches([' ', '\t']).to_owned())
        .unwrap_or_default();
    if let Err(e) = s.replay.check_id("shopify-hmac", &mac, now) {
        return reject(&e);
    }
    process("shopify", &verified, &body)
}

async fn stripe_hook(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let now = s.clock.now_unix();
    let verified = match s.stripe.verify(&pairs(&headers), &body, now) {
        Ok(v) => v,
        Err(e) => return reject(&e),
    };
    // Only now is the body trusted enough to parse: Stripe's dedupe key is the event id.
    let event_id = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_owned));
    if let Some(id) = event_id
        && let Err(e) = s.replay.check_id("stripe", &id, now)
    {
        return reject(&e);
    }
    process("stripe", &verified, &body)
}

async fn hubspot_hook(
    State(s): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let now = s.clock.now_unix();
    // HubSpot signs the URL it called: rebuild it from the public origin, not from Host.
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path_and_query}", s.public_base_url);
    match s
        .hubspot
        .verify_v3(&pairs(&headers), "POST", &url, &body, now)
    {
        Ok(v) => process("hubspot", &v, &body),
        Err(e) => reject(&e),
    }
}
