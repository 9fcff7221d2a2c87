//! Fuzzes the MFA parsers: the per-user record file, base32 secrets as typed or pasted, and
//! TOTP verification of arbitrary code text. None may panic; a decoded secret re-encodes to the
//! canonical text that decodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::internal::mfa_parse_user_file as parse_user_file;
use trust_core::mfa;

fuzz_target!(|data: &[u8]| {
    let _ = parse_user_file(data, "fuzz-user");
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(secret) = mfa::base32_decode(text) {
            let canonical = mfa::base32_encode(&secret);
            let again = mfa::base32_decode(&canonical).expect("canonical base32 decodes");
            assert_eq!(&again[..], &secret[..]);
        }
    }
});
