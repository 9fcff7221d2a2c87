//! Parse and open arbitrary bytes as a binary envelope, in memory and streaming, and inspect
//! them. Nothing may panic; anything that opens must have been sealed under the fuzz key (so
//! only inputs that fail to parse or authenticate are expected), and the two open paths must
//! agree.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use trust_core::envelope::{self, Context, Opener, StaticKeys};
use trust_core::keys::Suite;
use trust_core::secret::Key256;

fuzz_target!(|data: &[u8]| {
    let keys = StaticKeys::single("orders", Suite::Aes256Gcm, Key256::from_bytes([7; 32]));
    let ctx = Context::new();
    let _ = envelope::inspect(data);
    let in_memory = envelope::open(&keys, &ctx, data).map(|p| p.to_vec());
    let streamed = Opener::new(&keys, &ctx, data).and_then(|mut opener| {
        let mut out = Vec::new();
        opener
            .read_to_end(&mut out)
            .map_err(envelope::EnvelopeError::from_io)?;
        Ok(out)
    });
    assert_eq!(in_memory.is_ok(), streamed.is_ok());
    if let (Ok(a), Ok(b)) = (in_memory, streamed) {
        assert_eq!(a, b);
    }
    let _ = envelope::rewrap(&keys, data);
});
