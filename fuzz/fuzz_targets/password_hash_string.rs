//! The stored-hash parser of trust_core::password (argon2 PHC strings and bcrypt) on arbitrary
//! input: never panics, and accepts only strings within the documented bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::password::{MAX_HASH_LEN, check_hash_format};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if check_hash_format(text).is_ok() {
            assert!(text.len() <= MAX_HASH_LEN);
            assert!(text.starts_with("$argon2") || text.starts_with("$2"));
        }
    }
});
