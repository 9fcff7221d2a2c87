//! Shopify compliance-webhook payload parsing (after HMAC verification) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::gdpr::ShopifyCompliance;

fuzz_target!(|data: &[u8]| {
    for topic in ["customers/data_request", "customers/redact", "shop/redact"] {
        if let Ok(c) = ShopifyCompliance::parse(topic, data) {
            assert!(!c.subject_id().is_empty());
        }
    }
});
