//! A missing token, module or key. In its own test binary: looking for an absent token reloads
//! the module (see the crate docs), which must not happen under another binding's sessions.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use trust_core::error::{Category, TrustError};
use trust_core::root::RootKeyError;
use trust_pkcs11::{Pkcs11Error, Pkcs11RootKey, Pkcs11Uri};

use common::{hsm, unique};

#[test]
fn missing_token_module_and_key_are_distinct_errors() {
    let Some(h) = hsm("missing_token_module_and_key_are_distinct_errors") else {
        return;
    };
    let no_token = Pkcs11Uri::parse(&format!(
        "pkcs11:token=no-such-token;object=x?module-path={}",
        h.module.display()
    ))
    .unwrap();
    let e = Pkcs11RootKey::open(&no_token, h.pin()).unwrap_err();
    assert_eq!(e, Pkcs11Error::TokenAbsent);
    assert_eq!(e.category(), Category::KeyUnavailable);
    assert_eq!(RootKeyError::from(e).category().exit_code(), 4);

    let no_key = h.uri(&unique("absent"));
    let e = Pkcs11RootKey::open(&no_key, h.pin()).unwrap_err();
    assert_eq!(e, Pkcs11Error::KeyAbsent);
    assert_eq!(e.category().exit_code(), 4);

    for module in ["/nonexistent/libnothing.so", "/etc/hostname"] {
        let uri =
            Pkcs11Uri::parse(&format!("pkcs11:token=t;object=o?module-path={module}")).unwrap();
        let e = Pkcs11RootKey::open(&uri, h.pin()).unwrap_err();
        assert!(matches!(e, Pkcs11Error::ModuleLoad { .. }), "{e:?}");
        assert_eq!(e.category().exit_code(), 3);
        assert_eq!(e.code(), "PKCS11_MODULE_UNLOADABLE");
    }

    let e = Pkcs11RootKey::open(
        &h.uri(&unique("x")),
        secrecy::SecretString::from(String::new()),
    )
    .unwrap_err();
    assert_eq!(e, Pkcs11Error::NoPin);
}
