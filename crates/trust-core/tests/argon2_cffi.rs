//! Interoperability with the reference argon2 implementation: PHC strings made here verify with
//! `argon2-cffi` (Python binding of phc-winner-argon2's C code), and theirs verify here —
//! plain and peppered.
//!
//! Needs `TRUST_ARGON2_PYTHON` naming a Python with `argon2-cffi` installed; `.ci/run` creates
//! that venv. Without the variable the test says so and passes, so a plain `cargo test` works
//! offline; CI always sets it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use trust_core::password::{Argon2Params, PasswordHasher, Verified};
use trust_core::secret::Key256;

const PEPPER: [u8; 32] = [0x5a; 32];

fn python() -> Option<String> {
    let p = std::env::var("TRUST_ARGON2_PYTHON").ok();
    if p.is_none() {
        eprintln!("SKIP: set TRUST_ARGON2_PYTHON to a python with argon2-cffi (see .ci/run)");
    }
    p
}

fn reference(python: &str, request: &serde_json::Value) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/argon2_cffi.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "reference script failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn pepper_hex() -> String {
    hex::encode(PEPPER)
}

#[test]
fn ours_verify_with_reference() {
    let Some(py) = python() else { return };
    let pw = "pässwörd ✓ with spaces";
    for hasher in [
        PasswordHasher::new(),
        PasswordHasher::with_params(Argon2Params::new(1024, 3, 2).unwrap()),
    ] {
        let phc = hasher.hash(pw).unwrap();
        let verify = |candidate: &str| {
            reference(
                &py,
                &serde_json::json!({"op": "verify", "hash": phc, "password": candidate}),
            )
        };
        assert_eq!(verify(pw), "match", "{phc}");
        assert_eq!(verify("pässwörd ✓ with spaceS"), "mismatch", "{phc}");
    }
    // Peppered: the reference sees HMAC-SHA-256(pepper, password) as the password.
    let peppered = PasswordHasher::new().with_pepper(1, Key256::from_bytes(PEPPER));
    let phc = peppered.hash(pw).unwrap();
    let got = reference(
        &py,
        &serde_json::json!({"op": "verify", "hash": phc, "password": pw, "pepper_hex": pepper_hex()}),
    );
    assert_eq!(got, "match", "{phc}");
}

#[test]
fn reference_hashes_verify_here() {
    let Some(py) = python() else { return };
    let pw = "correct horse battery staple";
    let ours = PasswordHasher::new();

    // Same parameters as our default: verifies and needs no rehash.
    let theirs = reference(
        &py,
        &serde_json::json!({"op": "hash", "password": pw, "t": 2, "m": 19456, "p": 1}),
    );
    assert!(
        theirs.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{theirs}"
    );
    assert!(ours.verify(pw, &theirs).unwrap());
    assert!(
        !ours
            .verify("correct horse battery stapler", &theirs)
            .unwrap()
    );
    assert!(!ours.needs_rehash(&theirs));

    // argon2-cffi's own defaults (RFC 9106 low-memory profile): verifies, upgrade offered.
    let default = reference(
        &py,
        &serde_json::json!({"op": "hash_default", "password": pw}),
    );
    assert!(ours.verify(pw, &default).unwrap(), "{default}");
    assert!(matches!(
        ours.verify_and_upgrade(pw, &default).unwrap(),
        Verified::Match { rehash: Some(_) }
    ));

    // Peppered by the reference, verified here with the same pepper version.
    let peppered = PasswordHasher::new().with_pepper(1, Key256::from_bytes(PEPPER));
    let theirs = reference(
        &py,
        &serde_json::json!({"op": "hash", "password": pw, "t": 2, "m": 19456, "p": 1, "pepper_hex": pepper_hex()}),
    );
    assert!(theirs.contains(",pepper=1$"), "{theirs}");
    assert!(peppered.verify(pw, &theirs).unwrap());
    assert!(!peppered.needs_rehash(&theirs));
    let wrong = PasswordHasher::new().with_pepper(1, Key256::from_bytes([0; 32]));
    assert!(!wrong.verify(pw, &theirs).unwrap());
}
