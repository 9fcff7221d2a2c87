//! Parse arbitrary strings as text tokens: prefix and canonical-base64url checks, header
//! parsing, open and rewrap must never panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::envelope::{self, Context, StaticKeys};
use trust_core::provider::Suite;
use trust_core::secret::Key256;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let keys = StaticKeys::single("orders", Suite::Aes256Gcm, Key256::from_bytes([7; 32]));
    let ctx = Context::new();
    let _ = envelope::inspect_token(token);
    let _ = envelope::open_token(&keys, &ctx, token);
    let _ = envelope::rewrap_token(&keys, &ctx, token);
    // Version-2 tokens (`tle2.`) through a cache: the same verdict as the plain open.
    let cache = trust_core::envelope::DataKeyCache::default();
    assert_eq!(
        cache.open_token(&keys, &ctx, token).is_ok(),
        envelope::open_token(&keys, &ctx, token).is_ok()
    );
});
