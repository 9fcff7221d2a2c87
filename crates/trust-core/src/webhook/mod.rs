//! Webhook and signed-request verification, in constant time, for Shopify, Stripe, HubSpot,
//! Standard Webhooks, GitHub and Slack.
//!
//! A connector app must reject a forged or replayed delivery *before* it parses the body. Every
//! verifier in this module follows the same rules, so that a security review of one is a review
//! of all:
//!
//! 1. **The raw body bytes are MAC'd**, never re-serialized JSON: the verifiers take `&[u8]`, and
//!    UTF-8 validity is irrelevant to them.
//! 2. **Decoded MAC bytes are compared in constant time after a length check**
//!    ([`crate::secret::ct_eq`]). Hex and base64 are decoded strictly (base64 must be canonical:
//!    correct padding, zero trailing bits); a signature of the wrong length is never compared,
//!    never a prefix match (the svix `v1,` bug). Where a header lists several signatures
//!    (Stripe, Standard Webhooks), an unusable entry is skipped and the others decide; a header
//!    with no usable signature is malformed.
//! 3. **Secrets are sets** ([`SecretSet`]): the current secret plus the previous ones during a
//!    rotation. Every (signature × secret) pair is tried, without stopping at the first match.
//! 4. **Time is a parameter**: every verifier that checks freshness takes `now` in Unix seconds
//!    (take it from a [`crate::clock::Clock`] with `clock.now_unix()`), and its tolerance is an
//!    explicit, non-negative number of seconds. Timestamps too far in the future are refused too
//!    (a separate `max_future_skew`), which the official Stripe and HubSpot SDKs do not do.
//! 5. **The signature is checked before the timestamp**, so an unauthenticated request never
//!    learns anything about the freshness window, and before the replay cache, so unauthenticated
//!    requests cannot fill it.
//! 6. **Failures are opaque**: [`WebhookError`] says *invalid*, *stale*, *future*, *replayed* or
//!    *malformed* — never which byte or which secret differed.
//!
//! ## Map
//!
//! | scheme | module | signed data | freshness |
//! |---|---|---|---|
//! | Shopify webhooks (`X-Shopify-Hmac-Sha256`, `Shopify-Hmac-Sha256`) | [`shopify`] | body | none (dedupe on `X-Shopify-Webhook-Id`) |
//! | Shopify OAuth callback `hmac` | [`shopify`] | canonical query | `timestamp` ±90 s |
//! | Shopify App Proxy `signature` | [`shopify`] | canonical query | `timestamp` ±90 s |
//! | Shopify session token (JWT, HS256) | [`shopify`] | JWT | `exp`/`nbf` with 10 s leeway |
//! | Stripe `Stripe-Signature` | [`stripe`] | `t.body` | 300 s past, 300 s future |
//! | HubSpot v1 / v2 / v3 | [`hubspot`] | body / method+URI+body / +timestamp | v3: 300 s (ms timestamps) |
//! | Standard Webhooks (`webhook-*`, `svix-*`) | [`standard`] | `id.timestamp.body` | ±300 s |
//! | GitHub `X-Hub-Signature-256` | [`github`] | body | none (dedupe on `X-GitHub-Delivery`) |
//! | Slack `X-Slack-Signature` | [`slack`] | `v0:ts:body` | ±300 s |
//!
//! Signing, for tests and local tooling, is the mirror image: [`sign`]`(scheme, &outgoing, now)`
//! returns the headers (or signed query) a provider would send, for every scheme above, such
//! that [`verify`] accepts them.
//!
//! Replay protection beyond the timestamp window is [`ReplayGuard`]: a seen-id store behind a trait,
//! with a bounded in-memory default. A duplicate delivery is [`WebhookError::Replayed`], distinct
//! from a forgery.
//!
//! ## Example: Stripe with a rolling secret
//!
//! ```
//! use trust_core::webhook::{stripe, SecretSet};
//!
//! let secrets = SecretSet::new(b"whsec_new".to_vec()).with_previous(b"whsec_old".to_vec());
//! let body = br#"{"id":"evt_1","object":"event"}"#;
//! // What Stripe sends during the roll: one v1 per active secret.
//! let header = stripe::sign_header(&secrets, body, 1_700_000_000);
//! let headers = [("stripe-signature", header.as_str())];
//!
//! let verifier = stripe::Verifier::new(secrets);
//! let ok = verifier.verify(&headers, body, 1_700_000_100).expect("authentic");
//! assert_eq!(ok.timestamp, Some(1_700_000_000));
//! // Six minutes later the same delivery is stale.
//! assert!(verifier.verify(&headers, body, 1_700_000_400).is_err());
//! ```

use core::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Category, TrustError};
use crate::secret::{ExposeSecret, SecretBytes, ct_eq};

pub mod github;
pub mod hubspot;
pub(crate) mod replay;
mod request;
pub mod shopify;
mod sign;
pub mod slack;
pub mod standard;
pub mod stripe;

mod encoding;

pub use encoding::{decode_base64_mac, decode_hex_mac};
pub use replay::{MAX_KEY_LEN as MAX_REPLAY_KEY_LEN, MemorySeenStore, ReplayGuard, SeenStore};
pub use request::{Request, verify};
pub use sign::{Outgoing, Signed, sign};

/// The length of an HMAC-SHA256 or SHA-256 output, the only MAC length any scheme here uses.
pub const MAC_LEN: usize = 32;

/// The most secrets a [`SecretSet`] holds; more is a configuration mistake, and each one costs a
/// MAC computation per delivery.
pub const MAX_SECRETS: usize = 8;

/// The longest header value any verifier reads; signature headers are well under 1 KiB.
pub const MAX_HEADER_LEN: usize = 8 * 1024;

/// The default freshness tolerance (Stripe, HubSpot v3, Standard Webhooks, Slack): 5 minutes.
pub const DEFAULT_TOLERANCE: u64 = 300;

/// The default allowance for timestamps ahead of `now` (clock skew between sender and receiver).
pub const DEFAULT_MAX_FUTURE_SKEW: u64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// The secrets a verifier accepts: the current one first, then previous ones during a rotation.
///
/// Providers keep signing with the old secret for a while after a rotation (Shopify up to an
/// hour, Stripe up to 24 hours, with one `v1` per secret), and platform endpoints sometimes
/// receive deliveries signed with different secrets on one URL. A verifier accepts a delivery if
/// *any* secret matches *any* signature it carries; [`Verified::secret_index`] says which, so an
/// operator can tell when the old secret is no longer used and drop it.
#[derive(Clone)]
pub struct SecretSet {
    secrets: Vec<SecretBytes>,
}

impl SecretSet {
    /// A set holding only `current`.
    pub fn new(current: impl Into<SecretBytes>) -> Self {
        Self {
            secrets: vec![current.into()],
        }
    }

    /// Adds a previous secret that is still accepted (up to [`MAX_SECRETS`] in all; further ones
    /// are ignored, which [`SecretSet::try_from_vec`] reports instead).
    #[must_use]
    pub fn with_previous(mut self, previous: impl Into<SecretBytes>) -> Self {
        if self.secrets.len() < MAX_SECRETS {
            self.secrets.push(previous.into());
        }
        self
    }

    /// A set from a list, current first.
    ///
    /// # Errors
    /// [`WebhookError::Config`] when the list is empty, longer than [`MAX_SECRETS`], or holds an
    /// empty secret.
    pub fn try_from_vec(secrets: Vec<SecretBytes>) -> Result<Self, WebhookError> {
        if secrets.is_empty() {
            return Err(WebhookError::Config("no webhook secret given"));
        }
        if secrets.len() > MAX_SECRETS {
            return Err(WebhookError::Config("more than 8 webhook secrets given"));
        }
        if secrets.iter().any(|s| s.expose_secret().is_empty()) {
            return Err(WebhookError::Config("a webhook secret is empty"));
        }
        Ok(Self { secrets })
    }

    /// The number of secrets.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Always false: a set holds at least the current secret.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The secrets, current first.
    pub fn iter(&self) -> impl Iterator<Item = &SecretBytes> {
        self.secrets.iter()
    }

    /// The current secret (the one signing helpers use).
    pub fn current(&self) -> &SecretBytes {
        &self.secrets[0]
    }
}

impl fmt::Debug for SecretSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretSet(<{} redacted>)", self.secrets.len())
    }
}

/// Which scheme verified a request; part of [`Verified`] and of the CLI's JSON output.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Shopify webhook (`X-Shopify-Hmac-Sha256` / `Shopify-Hmac-Sha256`).
    ShopifyWebhook,
    /// Shopify OAuth / admin-redirect query `hmac`.
    ShopifyOAuth,
    /// Shopify App Proxy query `signature`.
    ShopifyAppProxy,
    /// Shopify session token (App Bridge JWT).
    ShopifySessionToken,
    /// Stripe `Stripe-Signature`.
    Stripe,
    /// HubSpot signature v1.
    HubSpotV1,
    /// HubSpot signature v2.
    HubSpotV2,
    /// HubSpot signature v3.
    HubSpotV3,
    /// Standard Webhooks (and Svix).
    StandardWebhooks,
    /// GitHub `X-Hub-Signature-256`.
    GitHub,
    /// Slack `v0` request signature.
    Slack,
}

impl Scheme {
    /// Every scheme.
    pub const ALL: [Self; 11] = [
        Self::ShopifyWebhook,
        Self::ShopifyOAuth,
        Self::ShopifyAppProxy,
        Self::ShopifySessionToken,
        Self::Stripe,
        Self::HubSpotV1,
        Self::HubSpotV2,
        Self::HubSpotV3,
        Self::StandardWebhooks,
        Self::GitHub,
        Self::Slack,
    ];

    /// The stable name used by the CLI's `--provider` and in JSON output.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ShopifyWebhook => "shopify",
            Self::ShopifyOAuth => "shopify-oauth",
            Self::ShopifyAppProxy => "shopify-app-proxy",
            Self::ShopifySessionToken => "shopify-session-token",
            Self::Stripe => "stripe",
            Self::HubSpotV1 => "hubspot-v1",
            Self::HubSpotV2 => "hubspot-v2",
            Self::HubSpotV3 => "hubspot-v3",
            Self::StandardWebhooks => "standard-webhooks",
            Self::GitHub => "github",
            Self::Slack => "slack",
        }
    }

    /// The scheme called `name` (see [`Scheme::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A successfully verified request.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The scheme that verified it.
    pub scheme: Scheme,
    /// Index in the [`SecretSet`] of the secret that matched (0 = current). When it is not 0,
    /// the sender still uses an old secret.
    pub secret_index: usize,
    /// The signed timestamp in Unix seconds, for schemes that sign one (HubSpot v3's
    /// milliseconds are reported as seconds, rounded down).
    pub timestamp: Option<i64>,
    /// The provider's delivery id, when it sends one (`X-Shopify-Webhook-Id`, `webhook-id`,
    /// `X-GitHub-Delivery`, a session token's `jti`): the key for [`ReplayGuard`] protection.
    /// Unauthenticated for Shopify and GitHub (not covered by the MAC), so use it only after
    /// verification, as [`ReplayGuard`] does.
    pub delivery_id: Option<String>,
    /// The shop the request is for (Shopify OAuth, App Proxy and session tokens), validated and
    /// lower-cased (`name.myshopify.com`).
    pub shop: Option<String>,
}

impl Verified {
    fn new(scheme: Scheme, secret_index: usize) -> Self {
        Self {
            scheme,
            secret_index,
            timestamp: None,
            delivery_id: None,
            shop: None,
        }
    }
}

/// Why a request was not accepted.
///
/// Every variant except [`WebhookError::Config`], [`WebhookError::ReplayStore`] and
/// [`WebhookError::ReplayStoreUnavailable`] is a
/// *rejection of the request*, in the [`Category::Verification`] family (CLI exit 1; an HTTP
/// endpoint answers 401, or 200 for [`WebhookError::Replayed`] so the provider stops retrying an
/// already processed delivery). Malformed requests are rejections too: a signature header that
/// does not parse is as unauthenticated as one that does not match, and a sender cannot fix it by
/// changing the receiver's configuration.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookError {
    /// No secret produced any of the signatures. Deliberately says nothing more.
    Invalid,
    /// The signature is valid but the signed timestamp is older than the tolerance.
    Stale,
    /// The signature is valid but the signed timestamp is further ahead than the allowed skew.
    Future,
    /// The signature is valid but this delivery id was already accepted.
    Replayed,
    /// A verified session token's claims do not fit (wrong audience, `iss`/`dest` mismatch).
    ClaimRejected(&'static str),
    /// The request does not have the shape of the scheme: a missing or duplicated header, a
    /// signature of the wrong length or encoding, a timestamp that is not a decimal integer.
    /// The text names the part, never its value.
    Malformed(&'static str),
    /// The verifier's configuration is wrong (no secret, a secret of the wrong format).
    Config(&'static str),
    /// The replay store cannot take another id (full of unexpired ids, or its backend failed).
    ReplayStore(&'static str),
    /// A shared replay store (Redis, PostgreSQL) could not be reached or dropped the
    /// connection, after its own retries: nothing was recorded, so the delivery was neither
    /// admitted nor refused. Answer 503 and let the provider retry. CLI exit 3.
    ReplayStoreUnavailable(&'static str),
    /// Signing needed a random delivery id and the operating system's random number generator
    /// failed (an environment fault; code `RANDOM_FAILED`, as everywhere else).
    Random,
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid => f.write_str(
                "the signature does not match (forged, altered, or signed with another secret)",
            ),
            Self::Stale => f.write_str("the signed timestamp is older than the tolerance"),
            Self::Future => f.write_str("the signed timestamp is too far in the future"),
            Self::Replayed => {
                f.write_str("this delivery was already accepted (duplicate delivery)")
            }
            Self::ClaimRejected(what) => write!(f, "the token's claims are not acceptable: {what}"),
            Self::Malformed(what) => write!(f, "malformed request: {what}"),
            Self::Config(what) => write!(f, "webhook verifier configuration: {what}"),
            Self::ReplayStore(what) => write!(f, "replay store: {what}"),
            Self::ReplayStoreUnavailable(what) => write!(f, "replay store unavailable: {what}"),
            Self::Random => f.write_str("the operating system's random number generator failed"),
        }
    }
}

impl std::error::Error for WebhookError {}

impl TrustError for WebhookError {
    fn category(&self) -> Category {
        match self {
            Self::Config(_) => Category::Usage,
            Self::ReplayStore(_) | Self::Random => Category::Internal,
            Self::ReplayStoreUnavailable(_) => Category::Input,
            _ => Category::Verification,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Invalid => "SIGNATURE_INVALID",
            Self::Stale => "TIMESTAMP_STALE",
            Self::Future => "TIMESTAMP_FUTURE",
            Self::Replayed => "REPLAYED",
            Self::ClaimRejected(_) => "CLAIM_REJECTED",
            Self::Malformed(_) => "MALFORMED",
            Self::Config(_) => "WEBHOOK_CONFIG",
            Self::ReplayStore(_) => "REPLAY_STORE",
            Self::ReplayStoreUnavailable(_) => "REPLAY_STORE_UNAVAILABLE",
            Self::Random => "RANDOM_FAILED",
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Invalid => Some(
                "check that the raw body bytes are verified (not re-serialized JSON) and that the secret is the endpoint's current or previous one",
            ),
            Self::Stale | Self::Future => {
                Some("check the receiver's clock; a replayed old delivery also looks like this")
            }
            Self::Replayed => Some("the delivery was processed before; answer 200 and skip it"),
            Self::ReplayStore(_) => Some("raise the store's capacity or use a shared store"),
            Self::ReplayStoreUnavailable(_) => Some(
                "nothing was recorded: answer 503 so the provider retries, and check the store",
            ),
            _ => None,
        }
    }
}

/// A freshness window: how old and how far ahead a signed timestamp may be, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Window {
    /// Largest accepted age `now - timestamp` (inclusive).
    pub tolerance: u64,
    /// Largest accepted lead `timestamp - now` (inclusive).
    pub max_future_skew: u64,
}

impl Window {
    /// A window accepting `tolerance` seconds in the past and `max_future_skew` in the future.
    pub const fn new(tolerance: u64, max_future_skew: u64) -> Self {
        Self {
            tolerance,
            max_future_skew,
        }
    }

    /// The same tolerance in both directions.
    pub const fn symmetric(tolerance: u64) -> Self {
        Self::new(tolerance, tolerance)
    }

    /// Checks `timestamp` (seconds) against `now` (seconds).
    ///
    /// # Errors
    /// [`WebhookError::Stale`] or [`WebhookError::Future`].
    pub fn check(&self, timestamp: i64, now: i64) -> Result<(), WebhookError> {
        let age = i128::from(now) - i128::from(timestamp);
        if age > i128::from(self.tolerance) {
            Err(WebhookError::Stale)
        } else if -age > i128::from(self.max_future_skew) {
            Err(WebhookError::Future)
        } else {
            Ok(())
        }
    }

    /// Checks a millisecond `timestamp_ms` against `now` in seconds (HubSpot v3).
    ///
    /// # Errors
    /// [`WebhookError::Stale`] or [`WebhookError::Future`].
    pub fn check_millis(&self, timestamp_ms: i64, now: i64) -> Result<(), WebhookError> {
        let age_ms = i128::from(now) * 1000 - i128::from(timestamp_ms);
        if age_ms > i128::from(self.tolerance) * 1000 {
            Err(WebhookError::Stale)
        } else if -age_ms > i128::from(self.max_future_skew) * 1000 {
            Err(WebhookError::Future)
        } else {
            Ok(())
        }
    }
}

impl Default for Window {
    fn default() -> Self {
        Self::new(DEFAULT_TOLERANCE, DEFAULT_MAX_FUTURE_SKEW)
    }
}

/// Looks up a header case-insensitively in the pairs an HTTP framework gives.
///
/// Returns `Ok(None)` when absent. A header given twice is [`WebhookError::Malformed`]: two
/// signature headers mean a proxy or an attacker interfered, and picking one silently is how
/// the official SDKs came to disagree.
///
/// # Errors
/// [`WebhookError::Malformed`] for a duplicated header or a value over [`MAX_HEADER_LEN`].
pub fn header<'h, N, V>(
    headers: &'h [(N, V)],
    name: &str,
    what: &'static str,
) -> Result<Option<&'h [u8]>, WebhookError>
where
    N: AsRef<str>,
    V: AsRef<[u8]>,
{
    let mut found: Option<&[u8]> = None;
    for (n, v) in headers {
        if n.as_ref().trim().eq_ignore_ascii_case(name) {
            if found.is_some() {
                return Err(WebhookError::Malformed(what));
            }
            let value = v.as_ref();
            if value.len() > MAX_HEADER_LEN {
                return Err(WebhookError::Malformed(what));
            }
            found = Some(value);
        }
    }
    Ok(found)
}

/// `value` without the optional whitespace (SP, HTAB) HTTP allows around a field value
/// (RFC 9110 §5.5: it is not part of the value). Whitespace inside the value is kept.
pub(crate) fn trim_ows(value: &str) -> &str {
    value.trim_matches([' ', '\t'])
}

/// Like [`header`] but the header must be present and valid UTF-8 (after trimming the optional
/// whitespace HTTP allows around a field value).
fn required_header<'h, N, V>(
    headers: &'h [(N, V)],
    name: &str,
    what: &'static str,
) -> Result<&'h str, WebhookError>
where
    N: AsRef<str>,
    V: AsRef<[u8]>,
{
    let value = header(headers, name, what)?.ok_or(WebhookError::Malformed(what))?;
    let text = core::str::from_utf8(value).map_err(|_| WebhookError::Malformed(what))?;
    Ok(trim_ows(text))
}

/// An optional header as trimmed UTF-8; non-UTF-8 or duplicated values are malformed.
fn optional_header<'h, N, V>(
    headers: &'h [(N, V)],
    name: &str,
    what: &'static str,
) -> Result<Option<&'h str>, WebhookError>
where
    N: AsRef<str>,
    V: AsRef<[u8]>,
{
    match header(headers, name, what)? {
        None => Ok(None),
        Some(value) => {
            let text = core::str::from_utf8(value).map_err(|_| WebhookError::Malformed(what))?;
            Ok(Some(trim_ows(text)))
        }
    }
}

/// A delivery id header, kept only if it is short printable ASCII (it becomes a cache key).
fn delivery_id<N, V>(headers: &[(N, V)], name: &str) -> Result<Option<String>, WebhookError>
where
    N: AsRef<str>,
    V: AsRef<[u8]>,
{
    match optional_header(headers, name, "delivery id header")? {
        None => Ok(None),
        Some(id) if is_token(id, 256) => Ok(Some(id.to_owned())),
        Some(_) => Err(WebhookError::Malformed("delivery id header")),
    }
}

/// True for 1..=`max` bytes of visible ASCII.
fn is_token(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Parses a strictly decimal, unsigned timestamp of at most `max_digits` digits.
fn parse_decimal(s: &str, max_digits: usize, what: &'static str) -> Result<i64, WebhookError> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::Malformed(what));
    }
    s.parse::<i64>().map_err(|_| WebhookError::Malformed(what))
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; MAC_LEN] {
    // `new_from_slice` accepts keys of any length for HMAC; the error arm is unreachable, and
    // an all-zero output in it could never match a real signature by accident of a key.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return [0; MAC_LEN];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Tries every secret against every candidate MAC, without stopping at the first match, and
/// returns the index of the first secret that matched.
///
/// `compute` gives the expected MAC for one secret. Candidates are already decoded and of the
/// right length.
fn match_any(
    secrets: &SecretSet,
    candidates: &[[u8; MAC_LEN]],
    mut compute: impl FnMut(&[u8]) -> [u8; MAC_LEN],
) -> Result<usize, WebhookError> {
    let mut matched: Option<usize> = None;
    for (index, secret) in secrets.iter().enumerate() {
        let expected = compute(secret.expose_secret());
        let mut hit = false;
        for candidate in candidates {
            hit |= ct_eq(&expected, candidate);
        }
        if hit && matched.is_none() {
            matched = Some(index);
        }
    }
    matched.ok_or(WebhookError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_is_case_insensitive_and_rejects_duplicates() {
        let h = [("X-Shopify-Hmac-SHA256", "a"), ("content-type", "b")];
        assert_eq!(
            header(&h, "x-shopify-hmac-sha256", "h").unwrap(),
            Some(&b"a"[..])
        );
        assert_eq!(header(&h, "x-other", "h").unwrap(), None);
        let dup = [("Stripe-Signature", "a"), ("stripe-signature", "b")];
        assert_eq!(
            header(&dup, "stripe-signature", "sig"),
            Err(WebhookError::Malformed("sig"))
        );
        let long = [("x", "a".repeat(MAX_HEADER_LEN + 1))];
        assert!(header(&long, "x", "x").is_err());
    }

    #[test]
    fn window_is_inclusive_at_both_edges() {
        let w = Window::new(300, 60);
        assert_eq!(w.check(1000, 1300), Ok(()));
        assert_eq!(w.check(1000, 1301), Err(WebhookError::Stale));
        assert_eq!(w.check(1060, 1000), Ok(()));
        assert_eq!(w.check(1061, 1000), Err(WebhookError::Future));
        assert_eq!(w.check(i64::MAX, i64::MIN), Err(WebhookError::Future));
        assert_eq!(w.check(i64::MIN, i64::MAX), Err(WebhookError::Stale));
        assert_eq!(w.check_millis(1_000_000, 1300), Ok(()));
        assert_eq!(w.check_millis(999_999, 1300), Err(WebhookError::Stale));
        assert_eq!(w.check_millis(1_060_000, 1000), Ok(()));
        assert_eq!(w.check_millis(1_060_001, 1000), Err(WebhookError::Future));
    }

    #[test]
    fn secret_set_bounds_and_redaction() {
        assert!(SecretSet::try_from_vec(vec![]).is_err());
        assert!(SecretSet::try_from_vec(vec![SecretBytes::from(vec![])]).is_err());
        let many = (0..9).map(|i| SecretBytes::from(vec![i + 1])).collect();
        assert!(SecretSet::try_from_vec(many).is_err());
        let set = SecretSet::new(b"hush-hush".to_vec()).with_previous(b"old-secret".to_vec());
        assert_eq!(set.len(), 2);
        let shown = format!("{set:?}");
        assert!(!shown.contains("hush") && !shown.contains("old"), "{shown}");
    }

    #[test]
    fn error_categories_and_codes() {
        assert_eq!(WebhookError::Invalid.category(), Category::Verification);
        assert_eq!(WebhookError::Replayed.code(), "REPLAYED");
        assert_eq!(
            WebhookError::Malformed("x").category(),
            Category::Verification
        );
        assert_eq!(WebhookError::Config("x").category(), Category::Usage);
        assert_eq!(
            WebhookError::ReplayStore("x").category(),
            Category::Internal
        );
        // An unreachable shared store is not "full": its own category (exit 3) and code.
        let down = WebhookError::ReplayStoreUnavailable("x");
        assert_eq!(down.category().exit_code(), 3);
        assert_eq!(down.code(), "REPLAY_STORE_UNAVAILABLE");
        assert_ne!(down.code(), WebhookError::ReplayStore("x").code());
        for s in Scheme::ALL {
            assert_eq!(Scheme::from_name(s.name()), Some(s));
        }
    }

    #[test]
    fn match_any_reports_the_first_matching_secret() {
        let set = SecretSet::new(b"a".to_vec()).with_previous(b"b".to_vec());
        let mac_b = hmac_sha256(b"b", &[b"msg"]);
        assert_eq!(
            match_any(&set, &[mac_b], |k| hmac_sha256(k, &[b"msg"])),
            Ok(1)
        );
        assert_eq!(
            match_any(&set, &[[0; 32]], |k| hmac_sha256(k, &[b"msg"])),
            Err(WebhookError::Invalid)
        );
    }
}
