//! The `tst1` session-token parser and claims decoder (trust_core::token) on arbitrary input:
//! never panics, never accepts a token whose tag does not verify.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use trust_core::clock::FixedClock;
use trust_core::envelope::StaticKeys;
use trust_core::provider::Suite;
use trust_core::secret::Key256;
use trust_core::token::{self, Expect, Tokens};

static TOKENS: LazyLock<Tokens<StaticKeys>> = LazyLock::new(|| {
    Tokens::new(StaticKeys::single(
        "tokens",
        Suite::default(),
        Key256::from_bytes([7; 32]),
    ))
});

fuzz_target!(|data: &[u8]| {
    // The claims layout is only reached after a valid tag; exercise it directly too.
    let _ = trust_core::internal::token_claims_round_trip(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = token::peek_key_ref(text);
        let clock = FixedClock::at_unix(1_700_000_000);
        let verified = TOKENS.verify(text, &Expect::any_tenant_any_scope(), &clock);
        assert!(verified.is_err(), "a random input verified");
    }
});
