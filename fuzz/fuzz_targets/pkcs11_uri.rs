//! RFC 7512 PKCS#11 URI parser: never panics, and whatever parses prints in a canonical form
//! that parses back to the same URI.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trust_pkcs11::Pkcs11Uri;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(uri) = Pkcs11Uri::parse(text) {
        let canonical = uri.to_string();
        assert_eq!(
            Pkcs11Uri::parse(&canonical).as_ref(),
            Ok(&uri),
            "{canonical}"
        );
    }
});
