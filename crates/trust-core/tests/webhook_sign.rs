//! The signing dispatcher `webhook::sign` against the verifying one, `webhook::verify`:
//! known answers from the providers' published vectors for every scheme that has one, and the
//! property that whatever `sign` returns verifies, while any change to what was signed does not.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use proptest::prelude::*;
use trust_core::webhook::{self, Outgoing, Request, Scheme, SecretSet, WebhookError};

fn set(secret: &[u8]) -> SecretSet {
    SecretSet::new(secret.to_vec())
}

/// Signs through the dispatcher and returns the value of `header` (or the signed query).
fn signed_value(scheme: Scheme, out: &Outgoing<'_>, now: i64, header: &str) -> String {
    let signed = webhook::sign(scheme, out, now).unwrap();
    match signed.query() {
        Some(q) => q.to_owned(),
        None => signed
            .header(header)
            .unwrap_or_else(|| panic!("{scheme}: no {header}"))
            .to_owned(),
    }
}

/// Published vectors, the same ones the per-scheme unit tests and docs/webhooks.md use, now
/// produced through the one dispatcher. Sources:
/// - Shopify webhook: docs/webhooks.md (secret `hush`), reproduced with shopify-api-js
///   `webhooks.validate`;
/// - Shopify OAuth: shopify.dev "authorization code grant" example;
/// - Shopify App Proxy: shopify.dev "Authenticate app proxies" example;
/// - Stripe: docs/webhooks.md, reproduced with stripe-python `generate_signature_header`;
/// - HubSpot v1/v2/v3: HubSpot's docs and SDK test values (hubspot-api-python, -nodejs);
/// - Standard Webhooks: the `standardwebhooks` libraries' test vectors;
/// - GitHub: docs.github.com "Validating webhook deliveries";
/// - Slack: api.slack.com "Verifying requests from Slack".
///
/// Shopify session tokens have no byte-exact vector: the published token is PyJWT's, whose
/// claim order differs from ours (the signature covers the serialized claims), so only the
/// round trip is checked for them (below and in the property test).
#[test]
fn published_vectors_through_the_dispatcher() {
    let hush = set(b"hush");
    let body = "{\"id\":1,\"email\":\"a@b.c\",\"note\":\"caf\u{e9}\"}".as_bytes();
    assert_eq!(
        signed_value(
            Scheme::ShopifyWebhook,
            &Outgoing::new(&hush, body),
            0,
            "X-Shopify-Hmac-Sha256"
        ),
        "y6QjIArjFx3gEoeTLJw77ufusmczpg61ege7jjodI/E="
    );

    let unsigned = "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173";
    let q = signed_value(
        Scheme::ShopifyOAuth,
        &Outgoing::new(&hush, b"").query(unsigned),
        0,
        "",
    );
    assert_eq!(
        q,
        format!("{unsigned}&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf")
    );

    let proxy = "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555";
    assert_eq!(
        signed_value(
            Scheme::ShopifyAppProxy,
            &Outgoing::new(&hush, b"").query(proxy),
            0,
            ""
        ),
        format!(
            "{proxy}&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"
        )
    );

    let stripe = set(b"whsec_test_secret");
    assert_eq!(
        signed_value(
            Scheme::Stripe,
            &Outgoing::new(&stripe, br#"{"id":"evt_test_webhook","object":"event"}"#),
            1_700_000_000,
            "Stripe-Signature"
        ),
        "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
    );

    let hubspot = set(b"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy");
    let uri = "https://www.example.com/webhook_uri";
    let hs_body = br#"{"example_field":"example_value"}"#;
    let v1_body = br#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]"#;
    assert_eq!(
        signed_value(
            Scheme::HubSpotV1,
            &Outgoing::new(&hubspot, v1_body),
            0,
            "X-HubSpot-Signature"
        ),
        "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
    );
    assert_eq!(
        signed_value(
            Scheme::HubSpotV2,
            &Outgoing::new(&hubspot, hs_body).url(uri),
            0,
            "X-HubSpot-Signature"
        ),
        "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900"
    );
    assert_eq!(
        signed_value(
            Scheme::HubSpotV2,
            &Outgoing::new(&hubspot, b"").url(uri).method("GET"),
            0,
            "X-HubSpot-Signature"
        ),
        "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"
    );
    let v3 = webhook::sign(
        Scheme::HubSpotV3,
        &Outgoing::new(&hubspot, hs_body).url(uri),
        1_700_000_000,
    )
    .unwrap();
    assert_eq!(
        v3.header("X-HubSpot-Signature-v3"),
        Some("rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o=")
    );
    assert_eq!(
        v3.header("X-HubSpot-Request-Timestamp"),
        Some("1700000000000")
    );

    let standard = [
        (
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            &br#"{"test": 2432232314}"#[..],
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
        (
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            &br#"{"email":"test@example.com","username":"test_user"}"#[..],
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        ),
    ];
    for (secret, id, ts, body, sig) in standard {
        let s = set(secret.as_bytes());
        let signed = webhook::sign(
            Scheme::StandardWebhooks,
            &Outgoing::new(&s, body).id(id),
            ts,
        )
        .unwrap();
        assert_eq!(signed.header("webhook-signature"), Some(sig));
        assert_eq!(signed.header("webhook-id"), Some(id));
        assert_eq!(
            signed.header("webhook-timestamp"),
            Some(ts.to_string().as_str())
        );
    }

    assert_eq!(
        signed_value(
            Scheme::GitHub,
            &Outgoing::new(&set(b"It's a Secret to Everybody"), b"Hello, World!"),
            0,
            "X-Hub-Signature-256"
        ),
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );

    let slack_body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    let slack = webhook::sign(
        Scheme::Slack,
        &Outgoing::new(&set(b"8f742231b10e8888abcd99yyyzzz85a5"), slack_body),
        1_531_420_618,
    )
    .unwrap();
    assert_eq!(
        slack.header("X-Slack-Signature"),
        Some("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
    );
    assert_eq!(
        slack.header("X-Slack-Request-Timestamp"),
        Some("1531420618")
    );
}

const URL: &str = "https://app.example.com/hooks?a=%2Fb";

/// The request an endpoint receives for what `sign` produced.
fn received<'a>(
    secrets: &'a SecretSet,
    body: &'a [u8],
    signed: &'a webhook::Signed,
    method: &'a str,
) -> Request<'a> {
    signed.apply(
        Request::new(secrets, body)
            .method(method)
            .url(URL)
            .audience("app-key"),
    )
}

/// `bytes` with the lowest bit of byte `at` (modulo the length) flipped.
fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let i = at % out.len();
    out[i] ^= 0x01;
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For every scheme: `verify(sign(x))` succeeds at the signing time, with the secret set
    /// that signed; and a body differing in one bit (or, for the schemes that sign no body,
    /// one bit of the signed query value or token) is rejected.
    #[test]
    fn verify_accepts_what_sign_produces_and_nothing_else(
        secret in proptest::collection::vec(any::<u8>(), 1..48),
        key in proptest::collection::vec(any::<u8>(), 24..=64),
        body in proptest::collection::vec(any::<u8>(), 1..256),
        value in "[a-z0-9]{1,24}",
        now in 1_000_000_000i64..4_000_000_000,
        at in any::<usize>(),
        method in prop::sample::select(vec!["POST", "PUT", "GET"]),
    ) {
        let plain = SecretSet::new(secret.clone());
        // Standard Webhooks secrets are whsec_ + base64 of a 24 to 64 byte key.
        let whsec = SecretSet::new(format!("whsec_{}", b64(&key)).into_bytes());
        let query = format!("code={value}&shop=x.myshopify.com&timestamp={now}");
        for scheme in Scheme::ALL {
            let secrets = if scheme == Scheme::StandardWebhooks { &whsec } else { &plain };
            let out = Outgoing::new(secrets, &body)
                .method(method)
                .url(URL)
                .query(&query)
                .audience("app-key")
                .shop("x.myshopify.com");
            let signed = webhook::sign(scheme, &out, now).unwrap();
            let ok = webhook::verify(scheme, &received(secrets, &body, &signed, method), now);
            prop_assert!(ok.is_ok(), "{scheme}: {ok:?}");
            prop_assert_eq!(ok.unwrap().scheme, scheme);

            match scheme {
                Scheme::ShopifyOAuth | Scheme::ShopifyAppProxy => {
                    // Change one character of the signed `code` value.
                    let q = signed.query().unwrap();
                    let start = "code=".len();
                    let mut bytes = q.as_bytes().to_vec();
                    let i = start + at % value.len();
                    bytes[i] = if bytes[i] == b'z' { b'y' } else { b'z' };
                    let tampered = String::from_utf8(bytes).unwrap();
                    let r = Request::new(secrets, b"").query(&tampered);
                    prop_assert_eq!(webhook::verify(scheme, &r, now), Err(WebhookError::Invalid));
                }
                Scheme::ShopifySessionToken => {
                    let auth = signed.header("Authorization").unwrap();
                    // ASCII stays ASCII; the strict base64url decoder refuses a changed padding bit.
                    let tampered = String::from_utf8(flip(auth.as_bytes(), at)).unwrap();
                    let r = Request::new(secrets, b"").header("Authorization", &tampered).audience("app-key");
                    prop_assert!(webhook::verify(scheme, &r, now).is_err(), "{}", tampered);
                }
                _ => {
                    let other = flip(&body, at);
                    let r = received(secrets, &other, &signed, method);
                    prop_assert_eq!(webhook::verify(scheme, &r, now), Err(WebhookError::Invalid), "{}", scheme);
                }
            }
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
