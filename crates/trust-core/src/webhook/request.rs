//! One entry point for every scheme: [`verify`]`(scheme, &request, now)`.
//!
//! The per-scheme verifiers ([`super::stripe::Verifier`], [`super::shopify::OAuthVerifier`]…)
//! stay available for code that knows its provider at compile time. Front ends that pick the
//! scheme at run time — the CLI's `--provider`, the C ABI, the Python/Node/PHP packages, a
//! webhook server routing by path — describe the request once as a [`Request`] and call
//! [`verify`]: the dispatch, the defaults (tolerances, the session-token leeway) and the
//! errors are then the same everywhere, down to the stable codes of [`WebhookError`]
//! (`SIGNATURE_INVALID`, `TIMESTAMP_STALE`, `TIMESTAMP_FUTURE`, `MALFORMED`, `CLAIM_REJECTED`,
//! `WEBHOOK_CONFIG`, …).
//!
//! ```
//! use trust_core::webhook::{self, Request, Scheme, SecretSet, github};
//!
//! let body = b"Hello, World!";
//! let sig = github::sign(b"It's a Secret to Everybody", body);
//! let secrets = SecretSet::new(b"It's a Secret to Everybody".to_vec());
//! let scheme: Scheme = "github".parse()?;
//! let request = Request::new(&secrets, body).header("X-Hub-Signature-256", &sig);
//! let ok = webhook::verify(scheme, &request, 1_700_000_000)?;
//! assert_eq!(ok.scheme, Scheme::GitHub);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::shopify::{self, Canonicalization};
use super::{
    DEFAULT_TOLERANCE, Scheme, SecretSet, Verified, WebhookError, Window, github, hubspot, slack,
    standard, stripe,
};

/// A request as received, for [`verify`]: the raw body, the headers, and what some schemes also
/// sign (method and URL for HubSpot v2/v3, the query string for Shopify OAuth and App Proxy),
/// with the secrets to try and optional overrides of the scheme's defaults.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    secrets: &'a SecretSet,
    body: &'a [u8],
    headers: Vec<(&'a str, &'a [u8])>,
    method: &'a str,
    url: Option<&'a str>,
    query: Option<&'a str>,
    tolerance: Option<u64>,
    audience: Option<&'a str>,
    canonicalization: Canonicalization,
}

impl<'a> Request<'a> {
    /// A `POST` request with `body` (byte for byte as received), to check against `secrets`.
    pub fn new(secrets: &'a SecretSet, body: &'a [u8]) -> Self {
        Self {
            secrets,
            body,
            headers: Vec::new(),
            method: "POST",
            url: None,
            query: None,
            tolerance: None,
            audience: None,
            canonicalization: Canonicalization::Documented,
        }
    }

    /// Adds a header (names match case-insensitively; a scheme's header given twice is
    /// malformed).
    #[must_use]
    pub fn header(mut self, name: &'a str, value: &'a (impl AsRef<[u8]> + ?Sized)) -> Self {
        self.headers.push((name, value.as_ref()));
        self
    }

    /// The HTTP method (HubSpot v2/v3 sign it); `POST` by default.
    #[must_use]
    pub fn method(mut self, method: &'a str) -> Self {
        self.method = method;
        self
    }

    /// The full URL the provider called (HubSpot v2/v3).
    #[must_use]
    pub fn url(mut self, url: &'a str) -> Self {
        self.url = Some(url);
        self
    }

    /// The raw query string, without `?` (Shopify OAuth and App Proxy).
    #[must_use]
    pub fn query(mut self, query: &'a str) -> Self {
        self.query = Some(query);
        self
    }

    /// Overrides the scheme's freshness tolerance in seconds, in both directions (default 300;
    /// 90 for Shopify queries; for session tokens this is the leeway, default 10).
    #[must_use]
    pub fn tolerance(mut self, seconds: u64) -> Self {
        self.tolerance = Some(seconds);
        self
    }

    /// The expected audience: the app's API key (Shopify session tokens).
    #[must_use]
    pub fn audience(mut self, api_key: &'a str) -> Self {
        self.audience = Some(api_key);
        self
    }

    /// How Shopify OAuth queries are canonicalized (documented only, by default).
    #[must_use]
    pub fn canonicalization(mut self, canonicalization: Canonicalization) -> Self {
        self.canonicalization = canonicalization;
        self
    }

    fn window(&self, default: u64) -> Window {
        Window::symmetric(self.tolerance.unwrap_or(default))
    }

    fn need_url(&self) -> Result<&'a str, WebhookError> {
        self.url.ok_or(WebhookError::Config(
            "HubSpot v2 and v3 sign the request URL: give it",
        ))
    }

    fn need_query(&self) -> Result<&'a str, WebhookError> {
        self.query.ok_or(WebhookError::Config(
            "Shopify OAuth and App Proxy sign the query string: give it",
        ))
    }
}

impl core::str::FromStr for Scheme {
    type Err = WebhookError;

    /// Parses a [`Scheme::name`] (`stripe`, `shopify-oauth`, `hubspot-v3`…).
    fn from_str(name: &str) -> Result<Self, WebhookError> {
        Self::from_name(name).ok_or(WebhookError::Config("unknown webhook scheme"))
    }
}

/// Verifies `request` under `scheme` at `now` (Unix seconds), with the scheme's defaults unless
/// the request overrides them.
///
/// # Errors
/// [`WebhookError::Config`] when the request lacks what the scheme signs (URL, query, audience)
/// or a secret has the wrong format; otherwise the scheme's own errors.
pub fn verify(scheme: Scheme, request: &Request<'_>, now: i64) -> Result<Verified, WebhookError> {
    let secrets = request.secrets.clone();
    let (headers, body) = (request.headers.as_slice(), request.body);
    match scheme {
        Scheme::ShopifyWebhook => shopify::WebhookVerifier::new(secrets).verify(headers, body),
        Scheme::ShopifyOAuth => shopify::OAuthVerifier::new(secrets)
            .with_window(request.window(shopify::DEFAULT_QUERY_TOLERANCE))
            .with_canonicalization(request.canonicalization)
            .verify_query(request.need_query()?, now),
        Scheme::ShopifyAppProxy => shopify::AppProxyVerifier::new(secrets)
            .with_window(request.window(shopify::DEFAULT_QUERY_TOLERANCE))
            .verify_query(request.need_query()?, now),
        Scheme::ShopifySessionToken => {
            let audience = request.audience.ok_or(WebhookError::Config(
                "Shopify session tokens are checked against the app's API key: give it",
            ))?;
            shopify::SessionTokenVerifier::new(secrets, audience)
                .with_leeway(request.tolerance.unwrap_or(shopify::DEFAULT_LEEWAY))
                .verify_headers(headers, now)
                .map(|t| t.verified)
        }
        Scheme::Stripe => stripe::Verifier::new(secrets)
            .with_window(request.window(DEFAULT_TOLERANCE))
            .verify(headers, body, now),
        Scheme::HubSpotV1 => hubspot::Verifier::new(secrets).verify_v1(headers, body),
        Scheme::HubSpotV2 => hubspot::Verifier::new(secrets).verify_v2(
            headers,
            request.method,
            request.need_url()?,
            body,
        ),
        Scheme::HubSpotV3 => hubspot::Verifier::new(secrets)
            .with_window(request.window(DEFAULT_TOLERANCE))
            .verify_v3(headers, request.method, request.need_url()?, body, now),
        Scheme::StandardWebhooks => standard::Verifier::new(&secrets)?
            .with_window(request.window(DEFAULT_TOLERANCE))
            .verify(headers, body, now),
        Scheme::GitHub => github::Verifier::new(secrets).verify(headers, body),
        Scheme::Slack => slack::Verifier::new(secrets)
            .with_window(request.window(DEFAULT_TOLERANCE))
            .verify(headers, body, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TrustError as _;

    const T: i64 = 1_700_000_000;

    /// Every scheme through the one entry point, signed by the scheme's own signer.
    #[test]
    fn every_scheme_dispatches() {
        let secrets = SecretSet::new(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_vec());
        let key = b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"id":"evt_1"}"#;
        let url = "https://app.example.com/hooks";
        let base = || Request::new(&secrets, body);

        let s = shopify::sign_webhook(key, body);
        let r = base().header(shopify::HMAC_HEADER, &s);
        assert_eq!(
            verify(Scheme::ShopifyWebhook, &r, T).unwrap().scheme,
            Scheme::ShopifyWebhook
        );

        let s = stripe::sign_header(&secrets, body, T);
        let r = base().header(stripe::HEADER, &s);
        assert_eq!(
            verify(Scheme::Stripe, &r, T + 10).unwrap().timestamp,
            Some(T)
        );
        assert_eq!(
            verify(Scheme::Stripe, &r, T + 301),
            Err(WebhookError::Stale)
        );
        assert!(verify(Scheme::Stripe, &r.clone().tolerance(400), T + 301).is_ok());

        let s = hubspot::sign_v1(key, body);
        let r = base().header(hubspot::HEADER_V1_V2, &s);
        assert!(verify(Scheme::HubSpotV1, &r, T).is_ok());
        let s = hubspot::sign_v2(key, "PUT", url, body);
        let r = base()
            .header(hubspot::HEADER_V1_V2, &s)
            .method("PUT")
            .url(url);
        assert!(verify(Scheme::HubSpotV2, &r, T).is_ok());
        let ms = (T * 1000).to_string();
        let s = hubspot::sign_v3(key, "POST", url, body, T * 1000);
        let r = base()
            .header(hubspot::HEADER_V3, &s)
            .header(hubspot::TIMESTAMP_HEADER, &ms)
            .url(url);
        assert!(verify(Scheme::HubSpotV3, &r, T).is_ok());
        let no_url = base()
            .header(hubspot::HEADER_V3, &s)
            .header(hubspot::TIMESTAMP_HEADER, &ms);
        assert_eq!(
            verify(Scheme::HubSpotV3, &no_url, T).unwrap_err().code(),
            "WEBHOOK_CONFIG"
        );

        let s = standard::sign_header(&secrets, "msg_1", T, body).unwrap();
        let ts = T.to_string();
        let r = base()
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", &ts)
            .header("webhook-signature", &s);
        assert_eq!(
            verify(Scheme::StandardWebhooks, &r, T)
                .unwrap()
                .delivery_id
                .as_deref(),
            Some("msg_1")
        );

        let s = github::sign(key, body);
        let r = base().header(github::HEADER, &s);
        assert!(verify(Scheme::GitHub, &r, T).is_ok());

        let s = slack::sign(key, body, T);
        let r = base()
            .header(slack::HEADER, &s)
            .header(slack::TIMESTAMP_HEADER, &ts);
        assert!(verify(Scheme::Slack, &r, T).is_ok());

        let q = shopify::sign_oauth_query(
            &secrets,
            &format!("code=a&shop=x.myshopify.com&timestamp={T}"),
        )
        .unwrap();
        let r = base().query(&q);
        assert_eq!(
            verify(Scheme::ShopifyOAuth, &r, T).unwrap().shop.as_deref(),
            Some("x.myshopify.com")
        );
        assert_eq!(
            verify(Scheme::ShopifyOAuth, &base(), T).unwrap_err().code(),
            "WEBHOOK_CONFIG"
        );
        let q =
            shopify::sign_app_proxy_query(&secrets, &format!("shop=x.myshopify.com&timestamp={T}"))
                .unwrap();
        assert!(verify(Scheme::ShopifyAppProxy, &base().query(&q), T + 90).is_ok());
        assert_eq!(
            verify(Scheme::ShopifyAppProxy, &base().query(&q), T + 91),
            Err(WebhookError::Stale)
        );

        let claims = shopify::SessionClaims {
            shop: "x.myshopify.com",
            api_key: "api-key",
            user_id: "1",
            issued_at: T,
            lifetime: 60,
            token_id: "j",
            session_id: "s",
        };
        let bearer = format!("Bearer {}", shopify::sign_session_token(&secrets, &claims));
        let r = base().header("Authorization", &bearer);
        assert_eq!(
            verify(Scheme::ShopifySessionToken, &r, T)
                .unwrap_err()
                .code(),
            "WEBHOOK_CONFIG"
        );
        assert!(
            verify(
                Scheme::ShopifySessionToken,
                &r.clone().audience("api-key"),
                T
            )
            .is_ok()
        );
        assert_eq!(
            verify(Scheme::ShopifySessionToken, &r.audience("other"), T)
                .unwrap_err()
                .code(),
            "CLAIM_REJECTED"
        );

        // A forgery is the same opaque error through every scheme.
        let r = base().header(github::HEADER, "sha256=00");
        assert_eq!(
            verify(Scheme::GitHub, &r, T).unwrap_err().code(),
            "MALFORMED"
        );
    }

    #[test]
    fn scheme_names_round_trip() {
        for s in Scheme::ALL {
            assert_eq!(s.name().parse::<Scheme>().unwrap(), s);
        }
        assert_eq!(
            "Stripe".parse::<Scheme>().unwrap_err().code(),
            "WEBHOOK_CONFIG"
        );
    }
}
