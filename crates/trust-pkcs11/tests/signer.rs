//! `Pkcs11Signer`: Ed25519 in the token, verified in software.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use trust_pkcs11::{Pkcs11Error, Pkcs11Signer, Pkcs11Uri};

#[test]
fn ed25519_signatures_from_the_token_verify_in_software() {
    let Some(h) = common::hsm("ed25519_signatures_from_the_token_verify_in_software") else {
        return;
    };
    let uri = h.uri(&common::unique("sign"));
    let signer = Pkcs11Signer::create_or_open(&uri, h.pin()).unwrap();
    let public = signer.public_key();
    let msg = b"example.com/log\n3\nAAAA\n";
    let sig = signer.sign(msg).unwrap();
    let vk = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public);
    vk.verify(msg, &sig).unwrap();
    assert!(vk.verify(b"another message", &sig).is_err());
    // Ed25519 is deterministic: the token computes exactly RFC 8032's signature.
    assert_eq!(signer.sign(msg).unwrap(), sig);
    // Reopening finds the same key pair.
    drop(signer);
    let again = Pkcs11Signer::open(&uri, h.pin()).unwrap();
    assert_eq!(again.public_key(), public);
    // A URI asking for a secret key is not a signing key.
    let wrong = Pkcs11Uri::parse(&uri.to_string().replacen('?', ";type=secret-key?", 1)).unwrap();
    assert!(matches!(
        Pkcs11Signer::open(&wrong, h.pin()).unwrap_err(),
        Pkcs11Error::Unfit(_)
    ));
    let absent = h.uri(&common::unique("nosign"));
    assert_eq!(
        Pkcs11Signer::open(&absent, h.pin()).unwrap_err(),
        Pkcs11Error::KeyAbsent
    );
}
