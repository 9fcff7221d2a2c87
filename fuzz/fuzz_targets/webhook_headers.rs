//! Every header-based verifier (Shopify webhooks, HubSpot v1-v3, GitHub, Slack, Stripe,
//! Standard Webhooks) on arbitrary header lists, URIs and bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::webhook::{SecretSet, github, hubspot, shopify, slack, standard, stripe};

fuzz_target!(|data: &[u8]| {
    // Layout: "name:value" lines, an empty line, a URI line, then the body.
    let Some(pos) = data.windows(2).position(|w| w == b"\n\n") else {
        return;
    };
    let (head, rest) = (&data[..pos], &data[pos + 2..]);
    let (uri, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(uri) = core::str::from_utf8(uri) else {
        return;
    };
    let headers: Vec<(String, Vec<u8>)> = head
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let i = line.iter().position(|&b| b == b':')?;
            Some((
                String::from_utf8_lossy(&line[..i]).into_owned(),
                line[i + 1..].to_vec(),
            ))
        })
        .collect();
    let secrets = SecretSet::new(b"hush".to_vec()).with_previous(b"old".to_vec());
    let now = 1_700_000_000;
    let _ = shopify::WebhookVerifier::new(secrets.clone()).verify(&headers, body);
    let hs = hubspot::Verifier::new(secrets.clone());
    let _ = hs.verify_v1(&headers, body);
    let _ = hs.verify_v2(&headers, "POST", uri, body);
    let _ = hs.verify_v3(&headers, "POST", uri, body, now);
    let canonical = hubspot::canonical_uri_v3(uri);
    assert!(canonical.len() <= uri.len());
    let _ = github::Verifier::new(secrets.clone()).verify(&headers, body);
    let _ = slack::Verifier::new(secrets.clone()).verify(&headers, body, now);
    let _ = stripe::Verifier::new(secrets).verify(&headers, body, now);
    let std_secrets = SecretSet::new(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_vec());
    if let Ok(v) = standard::Verifier::new(&std_secrets) {
        let _ = v.verify(&headers, body, now);
    }
});
