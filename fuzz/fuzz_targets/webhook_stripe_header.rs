//! Stripe-Signature parser and verifier on arbitrary header values and bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::webhook::{SecretSet, WebhookError, stripe};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (header, body) = data.split_at(split);
    let Ok(header) = core::str::from_utf8(header) else {
        return;
    };
    let parsed = stripe::SignatureHeader::parse(header);
    let v = stripe::Verifier::new(SecretSet::new(b"whsec_fuzz".to_vec()));
    let verdict = v.verify_header(header, body, 1_700_000_000);
    // A header that does not parse can never verify.
    if parsed.is_err() {
        assert!(matches!(verdict, Err(WebhookError::Malformed(_))));
    }
    // A random header essentially never carries a valid MAC for this secret.
    if let Ok(p) = parsed {
        assert!(p.signatures.len() <= stripe::MAX_SIGNATURES);
    }
});
