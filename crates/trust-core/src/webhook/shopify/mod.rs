//! Shopify: webhooks, the OAuth callback `hmac`, App Proxy `signature`, session tokens, and
//! shop-domain validation.
//!
//! | what | entry point | signed data | encoding |
//! |---|---|---|---|
//! | webhook delivery | [`WebhookVerifier`] | raw body | base64 (`X-Shopify-Hmac-Sha256` or, for the newer Events deliveries, `Shopify-Hmac-Sha256`) |
//! | OAuth / admin redirect | [`OAuthVerifier`] | canonical query without `hmac` | lowercase hex |
//! | App Proxy request | [`AppProxyVerifier`] | sorted `k=v` strings, concatenated | lowercase hex |
//! | embedded-app request | [`SessionTokenVerifier`] | JWT (HS256) | base64url |
//!
//! All are keyed with the app's **client secret**; after a rotation Shopify may keep signing
//! with the old one for up to an hour, so give both in the [`super::SecretSet`].
//!
//! Webhooks sign **no timestamp**: a captured delivery can be replayed at any time. Deduplicate
//! on `X-Shopify-Webhook-Id` (reported as [`super::Verified::delivery_id`]) with
//! [`super::ReplayGuard`], and process idempotently.
//! Source: <https://shopify.dev/docs/apps/build/webhooks/verify-deliveries>.

mod domain;
mod query;
mod session;

pub use domain::{ShopDomainMode, validate_shop_domain};
pub use query::{
    AppProxyVerifier, Canonicalization, DEFAULT_QUERY_TOLERANCE, MAX_QUERY_LEN, MAX_QUERY_PARAMS,
    OAuthVerifier, app_proxy_message, oauth_message, parse_query, sign_app_proxy_query,
    sign_oauth_query,
};
pub use session::{
    DEFAULT_LEEWAY, MAX_TOKEN_LEN, SessionClaims, SessionToken, SessionTokenVerifier,
    sign_session_token,
};

use super::{
    Scheme, SecretSet, Verified, WebhookError, decode_base64_mac, delivery_id,
    encoding::base64_std, header, hmac_sha256, match_any,
};

/// The webhook signature header.
pub const HMAC_HEADER: &str = "X-Shopify-Hmac-Sha256";
/// The same header on Events deliveries (no `X-`).
pub const EVENTS_HMAC_HEADER: &str = "Shopify-Hmac-Sha256";
/// The delivery id header.
pub const WEBHOOK_ID_HEADER: &str = "X-Shopify-Webhook-Id";
/// The delivery id header on Events deliveries.
pub const EVENTS_WEBHOOK_ID_HEADER: &str = "Shopify-Webhook-Id";

/// Verifies Shopify webhook deliveries.
#[derive(Clone, Debug)]
pub struct WebhookVerifier {
    secrets: SecretSet,
}

impl WebhookVerifier {
    /// A verifier for the app's client secret(s).
    pub fn new(secrets: SecretSet) -> Self {
        Self { secrets }
    }

    /// Verifies a delivery from its headers and raw body. Both header spellings are accepted;
    /// a request carrying both (or either twice) is malformed.
    ///
    /// # Errors
    /// [`WebhookError::Malformed`] or [`WebhookError::Invalid`].
    pub fn verify<N, V>(&self, headers: &[(N, V)], body: &[u8]) -> Result<Verified, WebhookError>
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        const WHAT: &str = "missing or duplicated X-Shopify-Hmac-Sha256 header";
        let classic = header(headers, HMAC_HEADER, WHAT)?;
        let events = header(headers, EVENTS_HMAC_HEADER, WHAT)?;
        let (value, id_header) = match (classic, events) {
            (Some(v), None) => (v, WEBHOOK_ID_HEADER),
            (None, Some(v)) => (v, EVENTS_WEBHOOK_ID_HEADER),
            _ => return Err(WebhookError::Malformed(WHAT)),
        };
        let value = core::str::from_utf8(value).map_err(|_| WebhookError::Malformed(WHAT))?;
        let mut ok = self.verify_hmac(value.trim_matches(|c| c == ' ' || c == '\t'), body)?;
        ok.delivery_id = delivery_id(headers, id_header)?;
        Ok(ok)
    }

    /// Verifies the base64 HMAC value itself.
    ///
    /// # Errors
    /// As [`WebhookVerifier::verify`].
    pub fn verify_hmac(&self, value: &str, body: &[u8]) -> Result<Verified, WebhookError> {
        let mac = decode_base64_mac(value, "X-Shopify-Hmac-Sha256 value")?;
        let index = match_any(&self.secrets, &[mac], |key| hmac_sha256(key, &[body]))?;
        Ok(Verified::new(Scheme::ShopifyWebhook, index))
    }
}

/// The `X-Shopify-Hmac-Sha256` value for `body`.
pub fn sign_webhook(secret: &[u8], body: &[u8]) -> String {
    base64_std(&hmac_sha256(secret, &[body]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> WebhookVerifier {
        WebhookVerifier::new(SecretSet::new(b"hush".to_vec()))
    }

    /// docs/webhooks.md vectors (secret `hush`), reproduced with shopify-api-js
    /// `webhooks.validate`.
    #[test]
    fn published_vectors() {
        let cases: [(&[u8], &str); 2] = [
            ("{\"id\":1,\"email\":\"a@b.c\",\"note\":\"caf\u{e9}\"}".as_bytes(), "y6QjIArjFx3gEoeTLJw77ufusmczpg61ege7jjodI/E="),
            (
                "{\"id\":820982911946154508,\"email\":\"jon@example.com\",\"note\":\"caf\\u00e9 & cr\u{e8}me\"}".as_bytes(),
                "W22w4pjlQ09E9AVy4/wwfqglyvVQWxSLSBWdMvtJV4A=",
            ),
        ];
        for (body, sig) in cases {
            assert_eq!(sign_webhook(b"hush", body), sig);
            let h = [
                ("X-Shopify-Hmac-SHA256", sig),
                (
                    "X-Shopify-Webhook-Id",
                    "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
                ),
            ];
            let ok = v().verify(&h, body).unwrap();
            assert_eq!(
                ok.delivery_id.as_deref(),
                Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
            );
            let events = [("shopify-hmac-sha256", sig)];
            assert!(v().verify(&events, body).is_ok());
        }
        // The re-serialized body (é instead of \u00e9) has another MAC: verify raw bytes only.
        let reserialized = "{\"id\":820982911946154508,\"email\":\"jon@example.com\",\"note\":\"caf\u{e9} & cr\u{e8}me\"}";
        assert_eq!(
            sign_webhook(b"hush", reserialized.as_bytes()),
            "T3aZNmTW9JaDOhFWe1dmXwykK+vfrkHlMVxp41Mt8R0="
        );
        let h = [(
            "X-Shopify-Hmac-Sha256",
            "W22w4pjlQ09E9AVy4/wwfqglyvVQWxSLSBWdMvtJV4A=",
        )];
        assert_eq!(
            v().verify(&h, reserialized.as_bytes()),
            Err(WebhookError::Invalid)
        );
    }

    #[test]
    fn negative_cases() {
        let body = b"{\"id\":1}";
        let sig = sign_webhook(b"hush", body);
        let mut flipped = body.to_vec();
        flipped[2] ^= 0x20;
        assert_eq!(v().verify_hmac(&sig, &flipped), Err(WebhookError::Invalid));
        assert_eq!(
            WebhookVerifier::new(SecretSet::new(b"other".to_vec())).verify_hmac(&sig, body),
            Err(WebhookError::Invalid)
        );
        // Old secret only: accepted through the set, reported as index 1.
        let rotated =
            WebhookVerifier::new(SecretSet::new(b"new".to_vec()).with_previous(b"hush".to_vec()));
        assert_eq!(rotated.verify_hmac(&sig, body).unwrap().secret_index, 1);
        let hex = hex::encode(hmac_sha256(b"hush", &[body]));
        for bad in [
            "",
            sig.trim_end_matches('='),
            &sig[..40],
            &format!("{sig}AAAA"),
            hex.as_str(),
        ] {
            assert!(
                matches!(v().verify_hmac(bad, body), Err(WebhookError::Malformed(_))),
                "{bad}"
            );
        }
        let both = [
            ("X-Shopify-Hmac-Sha256", sig.as_str()),
            ("Shopify-Hmac-Sha256", sig.as_str()),
        ];
        assert!(matches!(
            v().verify(&both, body),
            Err(WebhookError::Malformed(_))
        ));
        let none: [(&str, &str); 1] = [("X-Shopify-Topic", "orders/create")];
        assert!(matches!(
            v().verify(&none, body),
            Err(WebhookError::Malformed(_))
        ));
    }
}
