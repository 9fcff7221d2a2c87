//! Proof parsers: tlog-proof receipts and consistency-proof hash lines never panic; a parsed
//! receipt round-trips through its text form; verification of garbage never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trust_core::audit::{self, Receipt, Signer, merkle};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Receipt::parse(data) {
        let again = Receipt::parse(r.to_text().as_bytes()).unwrap();
        assert_eq!(again, r);
        let signer = Signer::from_seed("example.com/fuzz", &[7; 32]).unwrap();
        let _ = r.verify(&[signer.verifier().clone()], None, None);
    }
    if let Ok(hashes) = audit::parse_hash_lines(data) {
        if hashes.len() >= 2 {
            let _ = merkle::verify_inclusion(3, 9, &hashes[0], &hashes[1..], &hashes[0]);
            let _ = merkle::verify_consistency(3, 9, &hashes[1..], &hashes[0], &hashes[0]);
        }
    }
});
