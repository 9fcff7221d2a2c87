//! Shopify session-token (JWT) parsing and verification.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::webhook::{SecretSet, shopify};

fuzz_target!(|data: &[u8]| {
    let Ok(token) = core::str::from_utf8(data) else {
        return;
    };
    let v = shopify::SessionTokenVerifier::new(SecretSet::new(b"hush".to_vec()), "api-key-123");
    let _ = v.verify(token, 1_700_000_000);
    let auth = format!("Bearer {token}");
    let _ = v.verify_headers(&[("authorization", auth.as_str())], 1_700_000_000);
});
