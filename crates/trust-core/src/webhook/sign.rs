//! One entry point for *signing* every scheme: [`sign`]`(scheme, &outgoing, now)`, the mirror
//! of [`super::verify`].
//!
//! Tests of a webhook endpoint need deliveries that look exactly like the provider's: the same
//! header names, the same encodings, one signature per secret where the provider sends several
//! during a rotation. The per-scheme signers ([`super::stripe::sign_header`],
//! [`super::slack::sign`], …) produce the signature values; [`sign`] produces the whole set of
//! headers (or, for Shopify OAuth and App Proxy, the signed query string) a sender attaches, so
//! the CLI's `trust webhook sign`, the C ABI and the Python/Node/PHP packages all sign the same
//! way and anything [`sign`] returns passes [`super::verify`] under the same scheme, secrets,
//! method, URL and time.
//!
//! Every scheme [`super::verify`] supports can be signed: all of them are symmetric (HMAC or
//! keyed SHA-256), so whoever holds the verification secret can sign. What a scheme signs
//! besides the body is given on [`Outgoing`]: the URL and method (HubSpot v2/v3), the query
//! (Shopify OAuth and App Proxy), the delivery id (Standard Webhooks; also sent as the
//! delivery id header of Shopify and GitHub when given), and the app's API key and shop
//! (Shopify session tokens). A missing one is [`WebhookError::Config`], as in [`super::verify`].
//!
//! ```
//! use trust_core::webhook::{self, Outgoing, Request, Scheme, SecretSet};
//!
//! let secrets = SecretSet::new(b"whsec_test_secret".to_vec());
//! let body = br#"{"id":"evt_1"}"#;
//! let signed = webhook::sign(Scheme::Stripe, &Outgoing::new(&secrets, body), 1_700_000_000)?;
//! assert_eq!(signed.headers()[0].0, "Stripe-Signature");
//!
//! // What was signed verifies, under the same secrets and time.
//! let request = signed.apply(Request::new(&secrets, body));
//! webhook::verify(Scheme::Stripe, &request, 1_700_000_000)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::request::Request;
use super::{Scheme, SecretSet, WebhookError, github, hubspot, shopify, slack, standard, stripe};
use crate::secret::{ExposeSecret, random_array};

/// What a sender signs, for [`sign`]: the body, the secrets, and whatever else the scheme
/// covers. The mirror of [`Request`].
#[derive(Clone, Debug)]
pub struct Outgoing<'a> {
    secrets: &'a SecretSet,
    body: &'a [u8],
    method: &'a str,
    url: Option<&'a str>,
    query: Option<&'a str>,
    id: Option<&'a str>,
    api_key: Option<&'a str>,
    shop: Option<&'a str>,
}

impl<'a> Outgoing<'a> {
    /// A `POST` of `body`, signed with `secrets` (every secret for the schemes that send one
    /// signature per secret — Stripe and Standard Webhooks — otherwise the current one).
    pub fn new(secrets: &'a SecretSet, body: &'a [u8]) -> Self {
        Self {
            secrets,
            body,
            method: "POST",
            url: None,
            query: None,
            id: None,
            api_key: None,
            shop: None,
        }
    }

    /// The HTTP method (HubSpot v2/v3 sign it); `POST` by default.
    #[must_use]
    pub fn method(mut self, method: &'a str) -> Self {
        self.method = method;
        self
    }

    /// The full URL the provider calls (HubSpot v2/v3).
    #[must_use]
    pub fn url(mut self, url: &'a str) -> Self {
        self.url = Some(url);
        self
    }

    /// The raw query string to sign, without `?` (Shopify OAuth and App Proxy).
    #[must_use]
    pub fn query(mut self, query: &'a str) -> Self {
        self.query = Some(query);
        self
    }

    /// The delivery id: Standard Webhooks' `webhook-id` (signed; a random `msg_…` when not
    /// given), Shopify's `X-Shopify-Webhook-Id` and GitHub's `X-GitHub-Delivery` (not signed by
    /// those providers; sent only when given), a session token's `jti` (random when not given).
    #[must_use]
    pub fn id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    /// The app's API key, the token's audience (Shopify session tokens).
    #[must_use]
    pub fn audience(mut self, api_key: &'a str) -> Self {
        self.api_key = Some(api_key);
        self
    }

    /// The shop domain a session token is for (`name.myshopify.com`).
    #[must_use]
    pub fn shop(mut self, shop: &'a str) -> Self {
        self.shop = Some(shop);
        self
    }
}

/// What [`sign`] produced: the headers a provider sends, in the order it sends them, or for
/// Shopify OAuth and App Proxy the signed query string.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Signed {
    headers: Vec<(&'static str, String)>,
    query: Option<String>,
}

impl Signed {
    /// The headers, `(name, value)`, names as the provider spells them. Empty for the two query
    /// schemes.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The signed query string (the input with `&hmac=…` or `&signature=…` appended), for
    /// Shopify OAuth and App Proxy; `None` for every other scheme.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// `request` with these headers (and signed query) added: what the receiving endpoint
    /// would see.
    pub fn apply<'a>(&'a self, mut request: Request<'a>) -> Request<'a> {
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(query) = &self.query {
            request = request.query(query);
        }
        request
    }
}

/// Signs `outgoing` under `scheme` at `now` (Unix seconds) as the provider would, so that
/// [`super::verify`] of the resulting request succeeds at `now`.
///
/// # Errors
/// [`WebhookError::Config`] when `outgoing` lacks what the scheme signs (URL, query, API key,
/// shop) or a secret has the wrong format (Standard Webhooks needs `whsec_…` secrets);
/// [`WebhookError::Malformed`] for a query that does not parse or is already signed, a
/// delivery id a verifier would refuse, or a shop that is not a `*.myshopify.com` domain;
/// [`WebhookError::Random`] when a random id was needed and the OS could not supply one.
pub fn sign(scheme: Scheme, outgoing: &Outgoing<'_>, now: i64) -> Result<Signed, WebhookError> {
    let secrets = outgoing.secrets;
    let body = outgoing.body;
    let current = secrets.current().expose_secret();
    let mut headers: Vec<(&'static str, String)> = Vec::new();
    let mut query = None;
    match scheme {
        Scheme::ShopifyWebhook => {
            headers.push((shopify::HMAC_HEADER, shopify::sign_webhook(current, body)));
            if let Some(id) = outgoing.id {
                headers.push((shopify::WEBHOOK_ID_HEADER, checked_id(id)?));
            }
        }
        Scheme::ShopifyOAuth => {
            query = Some(shopify::sign_oauth_query(secrets, need_query(outgoing)?)?);
        }
        Scheme::ShopifyAppProxy => {
            query = Some(shopify::sign_app_proxy_query(
                secrets,
                need_query(outgoing)?,
            )?);
        }
        Scheme::ShopifySessionToken => {
            let api_key = outgoing.api_key.ok_or(WebhookError::Config(
                "a Shopify session token is for one app: give its API key",
            ))?;
            let shop = outgoing.shop.ok_or(WebhookError::Config(
                "a Shopify session token is for one shop: give its domain",
            ))?;
            let shop = shopify::validate_shop_domain(shop, shopify::ShopDomainMode::Strict)?;
            let jti = match outgoing.id {
                Some(id) => checked_id(id)?,
                None => random_id("")?,
            };
            let claims = shopify::SessionClaims::new(&shop, api_key, "1", &jti, now);
            let token = shopify::sign_session_token(secrets, &claims);
            headers.push(("Authorization", format!("Bearer {token}")));
        }
        Scheme::Stripe => headers.push((stripe::HEADER, stripe::sign_header(secrets, body, now))),
        Scheme::HubSpotV1 => {
            headers.push((hubspot::VERSION_HEADER, "v1".to_owned()));
            headers.push((hubspot::HEADER_V1_V2, hubspot::sign_v1(current, body)));
        }
        Scheme::HubSpotV2 => {
            let url = need_url(outgoing)?;
            headers.push((hubspot::VERSION_HEADER, "v2".to_owned()));
            headers.push((
                hubspot::HEADER_V1_V2,
                hubspot::sign_v2(current, outgoing.method, url, body),
            ));
        }
        Scheme::HubSpotV3 => {
            let url = need_url(outgoing)?;
            let ms = now.saturating_mul(1000);
            headers.push((
                hubspot::HEADER_V3,
                hubspot::sign_v3(current, outgoing.method, url, body, ms),
            ));
            headers.push((hubspot::TIMESTAMP_HEADER, ms.to_string()));
        }
        Scheme::StandardWebhooks => {
            let id = match outgoing.id {
                Some(id) => id.to_owned(),
                None => random_id("msg_")?,
            };
            let signature = standard::sign_header(secrets, &id, now, body)?;
            headers.push(("webhook-id", id));
            headers.push(("webhook-timestamp", now.to_string()));
            headers.push(("webhook-signature", signature));
        }
        Scheme::GitHub => {
            headers.push((github::HEADER, github::sign(current, body)));
            if let Some(id) = outgoing.id {
                headers.push((github::DELIVERY_HEADER, checked_id(id)?));
            }
        }
        Scheme::Slack => {
            headers.push((slack::TIMESTAMP_HEADER, now.to_string()));
            headers.push((slack::HEADER, slack::sign(current, body, now)));
        }
    }
    Ok(Signed { headers, query })
}

fn need_url<'a>(outgoing: &Outgoing<'a>) -> Result<&'a str, WebhookError> {
    outgoing.url.ok_or(WebhookError::Config(
        "HubSpot v2 and v3 sign the request URL: give it",
    ))
}

fn need_query<'a>(outgoing: &Outgoing<'a>) -> Result<&'a str, WebhookError> {
    outgoing.query.ok_or(WebhookError::Config(
        "Shopify OAuth and App Proxy sign the query string: give it",
    ))
}

/// A delivery id as the verifiers accept it (short visible ASCII), so a signed request never
/// fails verification because of its id.
fn checked_id(id: &str) -> Result<String, WebhookError> {
    if super::is_token(id, 256) {
        Ok(id.to_owned())
    } else {
        Err(WebhookError::Malformed("delivery id"))
    }
}

/// 128 random bits in hex after `prefix`: unique enough that replay caches never see a repeat.
fn random_id(prefix: &str) -> Result<String, WebhookError> {
    let bytes: [u8; 16] = random_array().map_err(|_| WebhookError::Random)?;
    let mut out = String::with_capacity(prefix.len() + 32);
    out.push_str(prefix);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TrustError as _;
    use crate::webhook::verify;

    const T: i64 = 1_700_000_000;

    fn round_trip(scheme: Scheme, outgoing: &Outgoing<'_>, secrets: &SecretSet, body: &[u8]) {
        let signed = sign(scheme, outgoing, T).unwrap();
        let mut request = Request::new(secrets, body)
            .method(outgoing.method)
            .audience("api-key");
        if let Some(url) = outgoing.url {
            request = request.url(url);
        }
        let ok = verify(scheme, &signed.apply(request), T).unwrap();
        assert_eq!(ok.scheme, scheme);
    }

    #[test]
    fn every_scheme_signs_what_verify_accepts() {
        let plain = SecretSet::new(b"hush".to_vec());
        let whsec = SecretSet::new(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_vec());
        let body = br#"{"id":"evt_1"}"#;
        let q = format!("code=a&shop=x.myshopify.com&timestamp={T}");
        for scheme in Scheme::ALL {
            let secrets = if scheme == Scheme::StandardWebhooks {
                &whsec
            } else {
                &plain
            };
            let out = Outgoing::new(secrets, body)
                .url("https://app.example.com/hooks?a=1")
                .method("PUT")
                .query(&q)
                .audience("api-key")
                .shop("x.myshopify.com");
            round_trip(scheme, &out, secrets, body);
        }
    }

    #[test]
    fn missing_inputs_are_config_errors() {
        let s = SecretSet::new(b"hush".to_vec());
        let out = Outgoing::new(&s, b"{}");
        for scheme in [
            Scheme::HubSpotV2,
            Scheme::HubSpotV3,
            Scheme::ShopifyOAuth,
            Scheme::ShopifyAppProxy,
            Scheme::ShopifySessionToken,
        ] {
            assert_eq!(sign(scheme, &out, T).unwrap_err().code(), "WEBHOOK_CONFIG");
        }
        let no_shop = out.clone().audience("k");
        assert_eq!(
            sign(Scheme::ShopifySessionToken, &no_shop, T)
                .unwrap_err()
                .code(),
            "WEBHOOK_CONFIG"
        );
        let bad_shop = no_shop.shop("evil.example.com");
        assert!(sign(Scheme::ShopifySessionToken, &bad_shop, T).is_err());
        // Standard Webhooks secrets are whsec_ strings.
        assert_eq!(
            sign(Scheme::StandardWebhooks, &out, T).unwrap_err().code(),
            "WEBHOOK_CONFIG"
        );
        // A query that is signed already, an id a verifier would refuse.
        let signed_q = Outgoing::new(&s, b"").query("a=1&hmac=00");
        assert_eq!(
            sign(Scheme::ShopifyOAuth, &signed_q, T).unwrap_err().code(),
            "MALFORMED"
        );
        for scheme in [Scheme::ShopifyWebhook, Scheme::GitHub] {
            let bad_id = Outgoing::new(&s, b"").id("a b");
            assert_eq!(sign(scheme, &bad_id, T).unwrap_err().code(), "MALFORMED");
        }
    }

    #[test]
    fn ids_are_sent_and_random_when_absent() {
        let whsec = SecretSet::new(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_vec());
        let a = sign(Scheme::StandardWebhooks, &Outgoing::new(&whsec, b"x"), T).unwrap();
        let b = sign(Scheme::StandardWebhooks, &Outgoing::new(&whsec, b"x"), T).unwrap();
        let (ia, ib) = (
            a.header("webhook-id").unwrap(),
            b.header("webhook-id").unwrap(),
        );
        assert!(ia.starts_with("msg_") && ia.len() == 36, "{ia}");
        assert_ne!(ia, ib);
        let s = SecretSet::new(b"hush".to_vec());
        let gh = sign(Scheme::GitHub, &Outgoing::new(&s, b"x").id("d-1"), T).unwrap();
        let ok = verify(Scheme::GitHub, &gh.apply(Request::new(&s, b"x")), T).unwrap();
        assert_eq!(ok.delivery_id.as_deref(), Some("d-1"));
        assert_eq!(
            sign(Scheme::GitHub, &Outgoing::new(&s, b"x"), T)
                .unwrap()
                .headers()
                .len(),
            1
        );
    }

    #[test]
    fn every_secret_signs_where_the_scheme_sends_several() {
        let set = SecretSet::new(b"whsec_new".to_vec()).with_previous(b"whsec_old".to_vec());
        let signed = sign(Scheme::Stripe, &Outgoing::new(&set, b"{}"), T).unwrap();
        let old_only = SecretSet::new(b"whsec_old".to_vec());
        let ok = verify(
            Scheme::Stripe,
            &signed.apply(Request::new(&old_only, b"{}")),
            T,
        )
        .unwrap();
        assert_eq!(ok.secret_index, 0);
        assert_eq!(
            signed
                .header("stripe-signature")
                .unwrap()
                .matches("v1=")
                .count(),
            2
        );
    }
}
