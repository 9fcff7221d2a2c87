//! Key custody benchmarks (figures in docs/PERFORMANCE.md, "Key custody: HSM and KMS roots").
//!
//! For each root — a local key (baseline), a PKCS#11 key in SoftHSM2, an AWS KMS key in the
//! moto emulator — in the same run:
//!
//! * `cold_unwrap/<root>`: one `RootKey::unwrap` of a 32-byte keyring version key, what a
//!   process pays the first time it opens a keyring version (PKCS#11: `C_Decrypt` with
//!   AES-256-GCM inside the token; KMS: the root's own cache is cleared before each call, so
//!   every iteration is one `Decrypt` request to the endpoint).
//! * `warm_seal/<root>`: `envelope::seal` of 1 KiB through a `Home` over that root once its
//!   keyring is open: the version key is cached, so no device or network call is made.
//!
//! The raw baselines for the devices (a `pkcs11-tool` operation on the same token, a boto3
//! `Decrypt` against the same emulator) are processes or Python, not Rust functions:
//! benches/scripts/custody.sh runs them and this bench in one go. Needs `source .ci/softhsm`
//! and `source .ci/moto`; a root whose variables are unset is skipped with a printed reason.

#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use trust_benches::payload;
use trust_core::envelope::{self, Context};
use trust_core::keyring::{Home, HomeOptions, MemoryStore, Policy};
use trust_core::provider::Suite;
use trust_core::root::{LocalRootKey, RootKey};
use trust_core::secret::Key256;

const AAD: &[u8] = b"trust.keyring.bench v1";

fn pkcs11_root() -> Option<Arc<dyn RootKey>> {
    let Ok(module) = std::env::var("TRUST_TEST_PKCS11_MODULE") else {
        eprintln!(
            "skipping the PKCS#11 root: TRUST_TEST_PKCS11_MODULE is unset (source .ci/softhsm)"
        );
        return None;
    };
    let token = std::env::var("TRUST_TEST_PKCS11_TOKEN").unwrap_or_else(|_| "trust-ci".into());
    let pin = std::env::var("TRUST_TEST_PKCS11_PIN").unwrap_or_else(|_| "1234".into());
    let uri = trust_pkcs11::Pkcs11Uri::parse(&format!(
        "pkcs11:token={token};object=trust-bench-root?module-path={module}"
    ))
    .expect("uri");
    let root = trust_pkcs11::Pkcs11RootKey::create_or_open(&uri, pin.into()).expect("pkcs11 root");
    Some(Arc::new(root))
}

/// The KMS root over a fresh emulator key, and a handle to clear its unwrap cache.
fn kms_root() -> Option<Arc<trust_kms::KmsRootKey>> {
    let Ok(endpoint) = std::env::var("TRUST_TEST_KMS_ENDPOINT") else {
        eprintln!("skipping the KMS root: TRUST_TEST_KMS_ENDPOINT is unset (source .ci/moto)");
        return None;
    };
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).expect("moto");
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.CreateKey\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let body = out.split_once("\r\n\r\n").expect("http").1;
    let marker = "\"KeyId\": \"";
    let start = body.find(marker).expect("KeyId") + marker.len();
    let key = &body[start..start + body[start..].find('"').expect("end")];
    let mut config = trust_kms::KmsConfig::new(key, "bench");
    config.endpoint = Some(endpoint.clone());
    config.region = Some("us-east-1".into());
    Some(Arc::new(
        trust_kms::KmsRootKey::connect(config).expect("kms root"),
    ))
}

fn warm_home(root: Arc<dyn RootKey>) -> Home {
    let home = Home::from_parts(root, Arc::new(MemoryStore::new())).with_options(
        HomeOptions::default()
            .with_usage_block(1 << 20)
            .with_refresh(Duration::from_secs(3600)),
    );
    home.create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .expect("keyring");
    home
}

/// A root under test: its name, the root, and the KMS handle whose cache and call count the
/// bench needs (KMS roots only).
struct Root {
    name: &'static str,
    root: Arc<dyn RootKey>,
    kms: Option<Arc<trust_kms::KmsRootKey>>,
}

fn custody(c: &mut Criterion) {
    let local: Arc<dyn RootKey> = Arc::new(LocalRootKey::new(&Key256::from_bytes([7; 32])));
    let kms = kms_root();
    let mut roots = vec![Root {
        name: "local",
        root: local,
        kms: None,
    }];
    if let Some(root) = pkcs11_root() {
        roots.push(Root {
            name: "pkcs11-softhsm",
            root,
            kms: None,
        });
    }
    if let Some(k) = kms {
        roots.push(Root {
            name: "aws-kms-moto",
            root: k.clone(),
            kms: Some(k),
        });
    }

    let mut g = c.benchmark_group("cold_unwrap");
    g.sample_size(30).measurement_time(Duration::from_secs(4));
    for Root { name, root, kms } in &roots {
        let wrapped = root.wrap(AAD, &[9; 32]).expect("wrap");
        g.bench_function(*name, |b| {
            b.iter(|| {
                if let Some(k) = kms {
                    k.clear_cache();
                }
                black_box(root.unwrap(AAD, &wrapped).expect("unwrap"))
            });
        });
    }
    g.finish();

    let msg = payload(1024);
    let ctx = Context::new().with("tenant", "acme").expect("context");
    let mut g = c.benchmark_group("warm_seal_1KiB");
    for Root { name, root, kms } in &roots {
        let home = warm_home(root.clone());
        envelope::seal(&home, "orders", &ctx, b"warm-up").expect("seal");
        let calls = kms.as_ref().map(|k| k.calls());
        g.bench_function(*name, |b| {
            b.iter(|| black_box(envelope::seal(&home, "orders", &ctx, &msg).expect("seal")));
        });
        if let (Some(k), Some(before)) = (kms, calls) {
            assert_eq!(k.calls(), before, "a warm seal called KMS");
        }
    }
    g.finish();
}

criterion_group!(benches, custody);
criterion_main!(benches);
