//! Parse and open arbitrary bytes as a binary envelope (format versions 1 and 2), in memory,
//! streaming and through a warm `DataKeyCache`, and inspect them. Nothing may panic; the three
//! open paths must agree. A version-2 envelope of the input, sealed through the cache, must
//! open, and stop opening when any one byte of it is changed (the byte chosen by the input),
//! so the parser and key schedule of version 2 are exercised beyond the magic and version.
#![no_main]

use std::io::Read;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trust_core::envelope::{self, Context, DataKeyCache, Opener, StaticKeys};
use trust_core::provider::Suite;
use trust_core::secret::Key256;

static CACHE: OnceLock<DataKeyCache> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let keys = StaticKeys::single("orders", Suite::Aes256Gcm, Key256::from_bytes([7; 32]));
    let ctx = Context::new();
    let cache = CACHE.get_or_init(DataKeyCache::default);
    let _ = envelope::inspect(data);
    let in_memory = envelope::open(&keys, &ctx, data).map(|p| p.to_vec());
    let streamed = Opener::new(&keys, &ctx, data).and_then(|mut opener| {
        let mut out = Vec::new();
        opener
            .read_to_end(&mut out)
            .map_err(envelope::EnvelopeError::from_io)?;
        Ok(out)
    });
    let cached = cache.open(&keys, &ctx, data).map(|p| p.to_vec());
    assert_eq!(in_memory.is_ok(), streamed.is_ok());
    assert_eq!(in_memory.is_ok(), cached.is_ok());
    if let (Ok(a), Ok(b), Ok(c)) = (&in_memory, &streamed, &cached) {
        assert_eq!(a, b);
        assert_eq!(a, c);
    }
    let _ = envelope::rewrap(&keys, data);

    if let Ok(sealed) = cache.seal(&keys, "orders", &ctx, data) {
        assert_eq!(&cache.open(&keys, &ctx, &sealed).unwrap()[..], data);
        let mut bad = sealed.clone();
        let at = data.first().map_or(0, |b| usize::from(*b)) % bad.len();
        bad[at] ^= data.get(1).copied().unwrap_or(1).max(1);
        assert!(cache.open(&keys, &ctx, &bad).is_err());
        assert!(envelope::open(&keys, &ctx, &bad).is_err());
    }
});
