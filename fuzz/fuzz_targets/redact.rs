//! The redactor on arbitrary bytes: never panics, keeps UTF-8 valid, and never leaves a
//! registered secret in its output, not even after a second pass. (Redaction is not strictly
//! idempotent: a digit run glued to a redacted secret becomes free-standing after the
//! replacement and may then be recognised as a card number, and a second pass may merge
//! adjacent findings.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::redact::Redactor;

const SECRET: &[u8] = b"s3cr3t-Value";

static REDACTOR: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let redactor = REDACTOR.get_or_init(|| {
        Redactor::builder()
            .literal(SECRET)
            .and_then(|b| b.build())
            .expect("builds")
    });
    let once = redactor.redact_bytes(data).into_owned();
    let twice = redactor.redact_bytes(&once).into_owned();
    assert!(!once.windows(SECRET.len()).any(|w| w == SECRET));
    assert!(!twice.windows(SECRET.len()).any(|w| w == SECRET));
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(std::str::from_utf8(redactor.redact(text).as_bytes()).is_ok());
    }
});
