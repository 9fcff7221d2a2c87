//! A wrong PIN. In its own test binary: PKCS#11 login state belongs to the whole process, so
//! once any test has logged in, `C_Login` with any PIN answers "already logged in".
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use secrecy::SecretString;
use trust_core::error::TrustError;
use trust_core::root::RootKeyError;
use trust_pkcs11::{Pkcs11Error, Pkcs11RootKey};

#[test]
fn a_wrong_pin_is_key_unavailable() {
    let Some(h) = common::hsm("a_wrong_pin_is_key_unavailable") else {
        return;
    };
    let uri = h.uri(&common::unique("pin"));
    let e = Pkcs11RootKey::create_or_open(&uri, SecretString::from("not-the-pin".to_owned()))
        .unwrap_err();
    assert_eq!(e, Pkcs11Error::WrongPin);
    assert_eq!(e.code(), "PKCS11_WRONG_PIN");
    assert!(!e.to_string().contains("not-the-pin"));
    let root = RootKeyError::from(e);
    assert_eq!(root.category().exit_code(), 4);
    assert_eq!(root.code(), "PKCS11_WRONG_PIN");
    // The right PIN still works afterwards (no lockout from one failure).
    Pkcs11RootKey::create_or_open(&uri, h.pin()).unwrap();
}
