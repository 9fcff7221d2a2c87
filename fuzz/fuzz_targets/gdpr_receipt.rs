//! The erasure-receipt parser on arbitrary bytes: never panics; whatever parses re-serializes
//! to a document that parses to the same receipt.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::gdpr::ErasureReceipt;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = ErasureReceipt::parse(data) {
        let again = ErasureReceipt::parse(r.to_json().as_bytes()).expect("round trip");
        assert_eq!(again, r);
        assert!(r.verify(&[0x11; 32]).is_err());
    }
});
