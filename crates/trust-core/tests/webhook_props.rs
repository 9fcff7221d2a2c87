//! Properties of every webhook scheme: what `sign` produces, `verify` accepts (with any secret
//! of the set), and any change to the body, or a secret outside the set, is rejected as
//! `Invalid` — never as anything that would let the caller learn more.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use proptest::prelude::*;
use trust_core::webhook::{
    SecretSet, WebhookError, github, hubspot, shopify, slack, standard, stripe,
};

fn verify_all(
    secrets: &SecretSet,
    signer: &[u8],
    body: &[u8],
    ts: i64,
) -> Vec<(&'static str, Result<(), WebhookError>)> {
    let ts_s = ts.to_string();
    let ms = ts * 1000;
    let ms_s = ms.to_string();
    let url = "https://h.example/x?a=%2Fb";
    let one = SecretSet::new(signer.to_vec());
    let stripe_h = [("Stripe-Signature", stripe::sign_header(&one, body, ts))];
    let shop_h = [("X-Shopify-Hmac-Sha256", shopify::sign_webhook(signer, body))];
    let gh_h = [("X-Hub-Signature-256", github::sign(signer, body))];
    let slack_h = [
        ("X-Slack-Signature", slack::sign(signer, body, ts)),
        ("X-Slack-Request-Timestamp", ts_s),
    ];
    let v1_h = [("X-HubSpot-Signature", hubspot::sign_v1(signer, body))];
    let v2_h = [(
        "X-HubSpot-Signature",
        hubspot::sign_v2(signer, "POST", url, body),
    )];
    let v3_h = [
        (
            "X-HubSpot-Signature-v3",
            hubspot::sign_v3(signer, "POST", url, body, ms),
        ),
        ("X-HubSpot-Request-Timestamp", ms_s),
    ];
    let hs = hubspot::Verifier::new(secrets.clone());
    vec![
        (
            "stripe",
            stripe::Verifier::new(secrets.clone())
                .verify(&stripe_h, body, ts)
                .map(|_| ()),
        ),
        (
            "shopify",
            shopify::WebhookVerifier::new(secrets.clone())
                .verify(&shop_h, body)
                .map(|_| ()),
        ),
        (
            "github",
            github::Verifier::new(secrets.clone())
                .verify(&gh_h, body)
                .map(|_| ()),
        ),
        (
            "slack",
            slack::Verifier::new(secrets.clone())
                .verify(&slack_h, body, ts)
                .map(|_| ()),
        ),
        ("hubspot-v1", hs.verify_v1(&v1_h, body).map(|_| ())),
        (
            "hubspot-v2",
            hs.verify_v2(&v2_h, "POST", url, body).map(|_| ()),
        ),
        (
            "hubspot-v3",
            hs.verify_v3(&v3_h, "POST", url, body, ts).map(|_| ()),
        ),
    ]
}

proptest! {
    #[test]
    fn sign_then_verify_with_any_secret_of_the_set(
        current in proptest::collection::vec(any::<u8>(), 1..64),
        previous in proptest::collection::vec(any::<u8>(), 1..64),
        body in proptest::collection::vec(any::<u8>(), 0..512),
        ts in 0i64..4_000_000_000,
        use_previous in any::<bool>(),
    ) {
        let set = SecretSet::new(current.clone()).with_previous(previous.clone());
        let signer = if use_previous { &previous } else { &current };
        for (name, r) in verify_all(&set, signer, &body, ts) {
            prop_assert!(r.is_ok(), "{name}: {r:?}");
        }
    }

    #[test]
    fn any_body_change_or_foreign_secret_is_invalid(
        secret in proptest::collection::vec(any::<u8>(), 1..64),
        body in proptest::collection::vec(any::<u8>(), 1..512),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
        ts in 0i64..4_000_000_000,
    ) {
        let set = SecretSet::new(secret.clone());
        let mut other = body.clone();
        other[flip.index(body.len())] ^= 1 << bit;
        // Signed over the changed body, presented with the original one.
        let ts_s = ts.to_string();
        let one = SecretSet::new(secret.clone());
        let h = [("Stripe-Signature", stripe::sign_header(&one, &other, ts))];
        prop_assert_eq!(stripe::Verifier::new(set.clone()).verify(&h, &body, ts).err(), Some(WebhookError::Invalid));
        let h = [("X-Shopify-Hmac-Sha256", shopify::sign_webhook(&secret, &other))];
        prop_assert_eq!(shopify::WebhookVerifier::new(set.clone()).verify(&h, &body).err(), Some(WebhookError::Invalid));
        let h = [("X-Slack-Signature", slack::sign(&secret, &other, ts)), ("X-Slack-Request-Timestamp", ts_s)];
        prop_assert_eq!(slack::Verifier::new(set.clone()).verify(&h, &body, ts).err(), Some(WebhookError::Invalid));
        // A secret outside the set. (Not `secret` + a zero byte: HMAC zero-pads short keys, so
        // those two keys are the same key — proptest found that one.)
        let mut foreign = secret.clone();
        foreign[0] ^= 1;
        for (name, r) in verify_all(&set, &foreign, &body, ts) {
            prop_assert_eq!(r.err(), Some(WebhookError::Invalid), "{}", name);
        }
    }

    #[test]
    fn standard_webhooks_round_trip(
        key in proptest::collection::vec(any::<u8>(), 24..=64),
        body in proptest::collection::vec(any::<u8>(), 0..512),
        id in "[a-zA-Z0-9_]{1,40}",
        ts in 0i64..4_000_000_000,
    ) {
        use base64::Engine as _;
        let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(&key));
        let set = SecretSet::new(secret.into_bytes());
        let sig = standard::sign_header(&set, &id, ts, &body).unwrap();
        let v = standard::Verifier::new(&set).unwrap();
        let ts_s = ts.to_string();
        let h = [("webhook-id", id.as_str()), ("webhook-timestamp", ts_s.as_str()), ("webhook-signature", sig.as_str())];
        prop_assert!(v.verify(&h, &body, ts).is_ok());
        let mut other = body.clone();
        other.push(b'x');
        prop_assert_eq!(v.verify(&h, &other, ts).err(), Some(WebhookError::Invalid));
    }

    #[test]
    fn oauth_and_app_proxy_round_trip(
        params in proptest::collection::btree_map("[a-z_]{1,8}", "[ -~]{0,16}", 0..6),
        ts in 1_000_000_000i64..2_000_000_000,
    ) {
        // A raw, percent-encoded query with the required shop and timestamp.
        let mut raw = format!("shop=s.myshopify.com&timestamp={ts}");
        for (k, v) in &params {
            if ["shop", "timestamp", "hmac", "signature"].contains(&k.as_str()) {
                continue;
            }
            let enc: String = v
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
                .collect();
            raw.push_str(&format!("&{k}={enc}"));
        }
        let set = SecretSet::new(b"hush".to_vec());
        let signed = shopify::sign_oauth_query(&set, &raw).unwrap();
        prop_assert!(shopify::OAuthVerifier::new(set.clone()).verify_query(&signed, ts).is_ok());
        let signed = shopify::sign_app_proxy_query(&set, &raw).unwrap();
        prop_assert!(shopify::AppProxyVerifier::new(set.clone()).verify_query(&signed, ts).is_ok());
        let tampered = signed.replacen("s.myshopify.com", "t.myshopify.com", 1);
        prop_assert_eq!(
            shopify::AppProxyVerifier::new(set).verify_query(&tampered, ts).err(),
            Some(WebhookError::Invalid)
        );
    }
}
