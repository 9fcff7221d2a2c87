//! The export-bundle verifier on arbitrary bytes: never panics, bounded memory, and a bundle
//! that verifies under the fixed key must have been signed by it (arbitrary input never does).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::gdpr::verify_bundle;

fuzz_target!(|data: &[u8]| {
    let key = [0x11u8; 32];
    assert!(verify_bundle(data, &key).is_err());
});
