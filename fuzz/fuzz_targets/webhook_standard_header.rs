//! Standard Webhooks id / timestamp / signature-list parsing and verification.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::webhook::{SecretSet, standard};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let (Some(id), Some(ts), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let body = parts.next().unwrap_or_default();
    let (Ok(id), Ok(ts), Ok(sig)) = (
        core::str::from_utf8(id),
        core::str::from_utf8(ts),
        core::str::from_utf8(sig),
    ) else {
        return;
    };
    if let Ok(macs) = standard::parse_signatures(sig) {
        assert!(!macs.is_empty() && macs.len() <= standard::MAX_SIGNATURES);
    }
    let secrets = SecretSet::new(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_vec());
    let Ok(v) = standard::Verifier::new(&secrets) else {
        return;
    };
    let _ = v.verify_parts(id, ts, sig, body, 1_700_000_000);
    let headers = [
        ("webhook-id", id),
        ("webhook-timestamp", ts),
        ("webhook-signature", sig),
    ];
    let _ = v.verify(&headers, body, 1_700_000_000);
    let _ = standard::decode_secret(data);
});
