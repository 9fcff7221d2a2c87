//! Shopify OAuth (documented and lenient) and App Proxy query parsing and verification.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::webhook::{SecretSet, shopify};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = core::str::from_utf8(data) else {
        return;
    };
    let secrets = SecretSet::new(b"hush".to_vec());
    if let Ok(params) = shopify::parse_query(query) {
        assert!(params.len() <= shopify::MAX_QUERY_PARAMS);
        let _ = shopify::oauth_message(&params);
        let _ = shopify::app_proxy_message(&params);
    }
    let _ = shopify::OAuthVerifier::new(secrets.clone()).verify_query(query, 1_700_000_000);
    let _ = shopify::OAuthVerifier::new(secrets.clone())
        .with_canonicalization(shopify::Canonicalization::Lenient)
        .verify_query(query, 1_700_000_000);
    let _ = shopify::AppProxyVerifier::new(secrets.clone()).verify_query(query, 1_700_000_000);
    // Whatever we sign, we verify (when the query is one a verifier can accept at all).
    if let Ok(signed) = shopify::sign_app_proxy_query(&secrets, query) {
        if let Err(e) =
            shopify::AppProxyVerifier::new(secrets.clone()).verify_query(&signed, 1_700_000_000)
        {
            assert!(e != trust_core::webhook::WebhookError::Invalid, "{query:?}");
        }
    }
    if let Ok(signed) = shopify::sign_oauth_query(&secrets, query) {
        if let Err(e) = shopify::OAuthVerifier::new(secrets).verify_query(&signed, 1_700_000_000) {
            assert!(e != trust_core::webhook::WebhookError::Invalid, "{query:?}");
        }
    }
    let _ = shopify::validate_shop_domain(query, shopify::ShopDomainMode::Strict);
    let _ = shopify::validate_shop_domain(query, shopify::ShopDomainMode::Compat);
});
