//! Shared fixtures: the SoftHSM2 token `.ci/softhsm` sets up.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use secrecy::SecretString;
use trust_pkcs11::Pkcs11Uri;

/// The token the tests run against (SoftHSM2 under CI), from the environment.
pub struct Hsm {
    pub module: PathBuf,
    pub pin: String,
    pub token: String,
}

/// The test token, or `None` (after printing why) when none is configured. Under `CI=true` a
/// missing token is a failure, not a skip.
pub fn hsm(test: &str) -> Option<Hsm> {
    let Ok(module) = std::env::var("TRUST_TEST_PKCS11_MODULE") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: TRUST_TEST_PKCS11_MODULE is unset under CI=true (source .ci/softhsm)"
        );
        eprintln!(
            "skipping {test}: TRUST_TEST_PKCS11_MODULE is unset (run `source .ci/softhsm` for a SoftHSM2 token)"
        );
        return None;
    };
    Some(Hsm {
        module: module.into(),
        pin: std::env::var("TRUST_TEST_PKCS11_PIN").unwrap_or_else(|_| "1234".into()),
        token: std::env::var("TRUST_TEST_PKCS11_TOKEN").unwrap_or_else(|_| "trust-ci".into()),
    })
}

/// A label no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    let r: [u8; 6] = trust_core::secret::random_array().unwrap();
    format!("{prefix}-{}", hex(&r))
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Hsm {
    pub fn uri(&self, object: &str) -> Pkcs11Uri {
        Pkcs11Uri::parse(&format!(
            "pkcs11:token={};object={object}?module-path={}",
            self.token,
            self.module.display()
        ))
        .unwrap()
    }

    pub fn pin(&self) -> SecretString {
        SecretString::from(self.pin.clone())
    }
}
