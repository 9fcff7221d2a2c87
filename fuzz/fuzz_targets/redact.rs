//! The redactor on arbitrary bytes: never panics, is idempotent, and never leaves a registered
//! secret in its output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::redact::Redactor;

const SECRET: &[u8] = b"s3cr3t-Value";

fuzz_target!(|data: &[u8]| {
    let redactor = Redactor::builder()
        .literal(SECRET)
        .and_then(|b| b.build())
        .expect("builds");
    let once = redactor.redact_bytes(data).into_owned();
    let twice = redactor.redact_bytes(&once).into_owned();
    assert_eq!(once, twice);
    assert!(!once.windows(SECRET.len()).any(|w| w == SECRET));
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(std::str::from_utf8(redactor.redact(text).as_bytes()).is_ok());
    }
});
