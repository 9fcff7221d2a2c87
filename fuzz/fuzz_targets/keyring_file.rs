//! Fuzzes the keyring file parser: arbitrary bytes must never panic, and whatever parses must
//! satisfy every invariant, survive a seal/verify round trip unchanged, and fail verification
//! under a root key that did not seal it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::internal::{
    keyring_file_check, keyring_file_parse, keyring_file_seal, keyring_file_verify,
};
use trust_core::root::LocalRootKey;
use trust_core::secret::Key256;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = keyring_file_parse(data) else {
        return;
    };
    let record = parsed.record.clone();
    assert!(keyring_file_check(&record).is_ok());
    let root = LocalRootKey::new(&Key256::from_bytes([0x42; 32]));
    // An input from the outside was not sealed by this key: it must not verify.
    assert!(keyring_file_verify(parsed, &root, &record.name).is_err());
    let sealed = keyring_file_seal(&record, &root).expect("a checked record seals");
    let again = keyring_file_parse(&sealed).expect("sealed output parses");
    let verified = keyring_file_verify(again, &root, &record.name).expect("and verifies");
    assert_eq!(verified, record);
});
