//! End-to-end tests of the envelope API.

use super::*;
use crate::keys::KeyRef;
use crate::secret::Key256;

fn keys() -> StaticKeys {
    StaticKeys::single("orders", Suite::Aes256Gcm, Key256::from_bytes([7; 32]))
}

fn ctx() -> Context {
    Context::new()
        .with("tenant", "acme")
        .unwrap()
        .with("record", "r1")
        .unwrap()
}

#[test]
fn seal_open_round_trip_both_suites() {
    for suite in Suite::ALL {
        let mut k = keys();
        k.set_primary(&KeyRef::new("orders", 1), suite).unwrap();
        for len in [0usize, 1, 1024, CHUNK_LEN, CHUNK_LEN + 1, 40_000] {
            let pt: Vec<u8> = (0..len).map(|i: usize| (i * 7).to_le_bytes()[0]).collect();
            let sealed = seal(&k, "orders", &ctx(), &pt).unwrap();
            assert_eq!(inspect(&sealed).unwrap().suite, suite);
            assert_eq!(&open(&k, &ctx(), &sealed).unwrap()[..], &pt[..]);
            let token = seal_token(&k, "orders", &ctx(), &pt).unwrap();
            assert_eq!(&open_token(&k, &ctx(), &token).unwrap()[..], &pt[..]);
        }
    }
}
