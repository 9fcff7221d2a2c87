//! Starts the example on 127.0.0.1:0 and sends real HTTP/1.1 requests: one valid and one forged
//! delivery per provider, a duplicate, and a stale one.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use trust_core::clock::FixedClock;
use trust_core::webhook::{SecretSet, hubspot, shopify, stripe};

const NOW: i64 = 1_700_000_000;

fn start() -> SocketAddr {
    let config = webhook_server::Config {
        shopify: SecretSet::new(b"shpss_current".to_vec()).with_previous(b"shpss_old".to_vec()),
        stripe: SecretSet::new(b"whsec_test_secret".to_vec()),
        hubspot: SecretSet::new(b"hubspot-secret".to_vec()),
        public_base_url: "https://hooks.example.com".to_owned(),
        clock: Arc::new(FixedClock::at_unix(NOW)),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, webhook_server::app(config))
                .await
                .unwrap();
        });
    });
    rx.recv().unwrap()
}

fn post(addr: SocketAddr, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut resp = String::new();
    stream.read_to_string(&mut resp).unwrap();
    let status = resp.split(' ').nth(1).unwrap().parse().unwrap();
    let text = resp.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, text)
}

#[test]
fn verifies_each_provider_before_processing() {
    let addr = start();
    let body = br#"{"id":"evt_1","object":"event","note":"caf\u00e9"}"#;

    // Shopify: valid (signed with the previous secret during a rotation), duplicate, forged.
    let sig = shopify::sign_webhook(b"shpss_old", body);
    let h = [
        ("X-Shopify-Hmac-Sha256", sig.clone()),
        ("X-Shopify-Webhook-Id", "wh-1".to_owned()),
    ];
    let (status, text) = post(addr, "/webhooks/shopify", &h, body);
    assert_eq!(
        (status, text.as_str()),
        (
            200,
            format!("ok shopify {} bytes secret#1\n", body.len()).as_str()
        )
    );
    assert_eq!(
        post(addr, "/webhooks/shopify", &h, body),
        (200, "duplicate\n".to_owned())
    );
    let forged = [
        (
            "X-Shopify-Hmac-Sha256",
            shopify::sign_webhook(b"guess", body),
        ),
        ("X-Shopify-Webhook-Id", "wh-2".to_owned()),
    ];
    assert_eq!(
        post(addr, "/webhooks/shopify", &forged, body),
        (401, "SIGNATURE_INVALID\n".to_owned())
    );
    assert_eq!(post(addr, "/webhooks/shopify", &[], body).0, 401);
    // The id is not signed: the same delivery under a new id, or with the id removed, is a
    // replay and must not be processed again.
    let h2 = [
        ("X-Shopify-Hmac-Sha256", format!(" {sig}")),
        ("X-Shopify-Webhook-Id", "wh-replayed".to_owned()),
    ];
    assert_eq!(
        post(addr, "/webhooks/shopify", &h2, body),
        (200, "duplicate\n".to_owned())
    );
    let other = br#"{"id":"evt_2"}"#;
    let no_id = [(
        "X-Shopify-Hmac-Sha256",
        shopify::sign_webhook(b"shpss_current", other),
    )];
    assert_eq!(
        post(addr, "/webhooks/shopify", &no_id, other),
        (400, "MISSING_DELIVERY_ID\n".to_owned())
    );

    // Stripe: valid, duplicate event id, forged body, stale timestamp.
    let secrets = SecretSet::new(b"whsec_test_secret".to_vec());
    let h = [(
        "Stripe-Signature",
        stripe::sign_header(&secrets, body, NOW - 10),
    )];
    assert_eq!(post(addr, "/webhooks/stripe", &h, body).0, 200);
    assert_eq!(
        post(addr, "/webhooks/stripe", &h, body),
        (200, "duplicate\n".to_owned())
    );
    let mut tampered = body.to_vec();
    tampered[8] = b'2';
    assert_eq!(
        post(addr, "/webhooks/stripe", &h, &tampered),
        (401, "SIGNATURE_INVALID\n".to_owned())
    );
    let stale = [(
        "Stripe-Signature",
        stripe::sign_header(&secrets, body, NOW - 301),
    )];
    assert_eq!(
        post(addr, "/webhooks/stripe", &stale, body),
        (401, "TIMESTAMP_STALE\n".to_owned())
    );

    // HubSpot v3: signed over the public URL (with a decoded escape), valid and forged.
    let url = "https://hooks.example.com/webhooks/hubspot?portal=1&next=%2Fhome";
    let ts = (NOW * 1000).to_string();
    let sig = hubspot::sign_v3(b"hubspot-secret", "POST", url, body, NOW * 1000);
    let h = [
        ("X-HubSpot-Signature-v3", sig),
        ("X-HubSpot-Request-Timestamp", ts.clone()),
    ];
    assert_eq!(
        post(addr, "/webhooks/hubspot?portal=1&next=%2Fhome", &h, body).0,
        200
    );
    assert_eq!(
        post(addr, "/webhooks/hubspot?portal=2&next=%2Fhome", &h, body).0,
        401
    );
    let forged = [
        (
            "X-HubSpot-Signature-v3",
            hubspot::sign_v3(b"guess", "POST", url, body, NOW * 1000),
        ),
        ("X-HubSpot-Request-Timestamp", ts),
    ];
    assert_eq!(
        post(
            addr,
            "/webhooks/hubspot?portal=1&next=%2Fhome",
            &forged,
            body
        ),
        (401, "SIGNATURE_INVALID\n".to_owned())
    );
}

/// A shared replay store whose server is down (after its own retries).
struct Unreachable;

impl trust_core::webhook::SeenStore for Unreachable {
    fn insert_if_absent(
        &self,
        _key: &str,
        _expires_at: i64,
        _now: i64,
    ) -> Result<bool, trust_core::webhook::WebhookError> {
        Err(trust_core::webhook::WebhookError::ReplayStoreUnavailable(
            "the Redis server is unreachable",
        ))
    }
}

#[test]
fn an_unreachable_replay_store_answers_503_so_the_provider_retries() {
    let config = webhook_server::Config {
        shopify: SecretSet::new(b"shpss_current".to_vec()),
        stripe: SecretSet::new(b"whsec_test_secret".to_vec()),
        hubspot: SecretSet::new(b"hubspot-secret".to_vec()),
        public_base_url: "https://hooks.example.com".to_owned(),
        clock: Arc::new(FixedClock::at_unix(NOW)),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = webhook_server::app_with_seen_store(config, Box::new(Unreachable));
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    let body = br#"{"id":1}"#;
    let h = [
        (
            "X-Shopify-Hmac-Sha256",
            shopify::sign_webhook(b"shpss_current", body),
        ),
        ("X-Shopify-Webhook-Id", "wh-down".to_owned()),
    ];
    // Not 200 (nothing was recorded, so it must not be acknowledged) and not 401 (it is
    // authentic): 503, which every provider retries.
    assert_eq!(
        post(addr, "/webhooks/shopify", &h, body),
        (503, "unavailable\n".to_owned())
    );
}
