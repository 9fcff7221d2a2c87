//! Leaf decoder: never panics; whatever decodes re-encodes to the same bytes (canonical), and the
//! allocation-free checker agrees with the decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trust_core::audit::Leaf;
use trust_core::internal::audit_leaf_check;

fuzz_target!(|data: &[u8]| {
    let decoded = Leaf::decode(data);
    let checked = audit_leaf_check(data);
    match (&decoded, &checked) {
        (Ok(l), Ok(h)) => {
            assert_eq!(l.encode().unwrap(), data);
            assert_eq!(l.index, h.index);
            assert_eq!(l.prev_leaf_hash, h.prev_leaf_hash);
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("decode and check disagree"),
    }
});
