//! Checkpoint / signed-note parser: never panics on arbitrary bytes; a parsed checkpoint body
//! re-serializes to its text when it has no extension lines; vkey parsing never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trust_core::audit::{Checkpoint, Note, SignedCheckpoint, Signer, Verifier};

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        assert!(note.text.ends_with('\n'));
        if let Ok(cp) = Checkpoint::parse_text(&note.text) {
            if note.text.lines().count() == 3 {
                assert_eq!(cp.to_text(), note.text);
            }
        }
    }
    let signer = Signer::from_seed("example.com/fuzz", &[7; 32]).unwrap();
    let _ = SignedCheckpoint::open(data, &[signer.verifier().clone()], None);
    if let Ok(s) = core::str::from_utf8(data) {
        let _ = Verifier::from_vkey(s);
        let _ = Signer::from_skey(s);
    }
});
