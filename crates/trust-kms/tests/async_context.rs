//! `KmsRootKey` used from inside a tokio runtime (an axum handler opening a home whose root key
//! is in KMS): the key drives the async SDK on a runtime of its own, which tokio refuses to
//! block on, or drop, inside another runtime; these calls must work all the same. Against
//! `moto_server`, an emulator of the AWS KMS API (source .ci/moto); skipped with a printed
//! reason when TRUST_TEST_KMS_ENDPOINT is unset, failed under CI=true.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{Read, Write};
use std::net::TcpStream;

use trust_core::root::RootKey;
use trust_kms::{KmsConfig, KmsRootKey};

fn endpoint() -> Option<String> {
    let Ok(e) = std::env::var("TRUST_TEST_KMS_ENDPOINT") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "TRUST_TEST_KMS_ENDPOINT is unset under CI=true (source .ci/moto)"
        );
        eprintln!("skipped: TRUST_TEST_KMS_ENDPOINT is unset (source .ci/moto)");
        return None;
    };
    Some(e)
}

/// CreateKey on the emulator (unsigned: moto does not check signatures).
fn create_key(endpoint: &str) -> String {
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.CreateKey\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let body = out.split_once("\r\n\r\n").unwrap().1;
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned()
}

fn config(endpoint: &str, key: &str) -> KmsConfig {
    let mut c = KmsConfig::new(key, "store-async");
    c.endpoint = Some(endpoint.to_owned());
    c.region = Some("us-east-1".into());
    c
}

#[test]
fn connect_wrap_unwrap_and_drop_work_inside_an_async_handler() {
    let Some(ep) = endpoint() else {
        return;
    };
    let key = create_key(&ep);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let root = KmsRootKey::connect(config(&ep, &key)).unwrap();
        let wrapped = root.wrap(b"keyring orders v1", &[7; 32]).unwrap();
        root.clear_cache();
        assert_eq!(
            root.unwrap(b"keyring orders v1", &wrapped)
                .unwrap()
                .as_slice(),
            &[7; 32]
        );
        drop(root);
    });
}
