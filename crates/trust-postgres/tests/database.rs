//! The pool, TLS, migrations and reconnects against a real server (TRUST_TEST_POSTGRES_URL;
//! skipped with a printed reason when unset, failing when CI=true).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use trust_core::error::TrustError;
use trust_core::store_url::StoreUrl;
use trust_postgres::testing::{TestSchema, require_env};
use trust_postgres::{ConnectOptions, Database, Error, migrate};

fn url(text: &str) -> StoreUrl {
    StoreUrl::parse(text).expect("url")
}

#[test]
fn open_creates_the_schema_once_and_concurrent_opens_agree() {
    let Some(schema) = TestSchema::create("migrate") else {
        return;
    };
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let u = schema.store_url();
            std::thread::spawn(move || Database::open(&u).map(|_| ()))
        })
        .collect();
    for t in threads {
        t.join().expect("thread").expect("open");
    }
    let db = schema.open();
    let report = db.migrate().expect("migrate");
    assert!(report.applied.is_empty(), "{report:?}");
    for (component, version) in migrate::supported() {
        assert_eq!(report.versions.get(component), Some(&version));
    }
    // The version table has exactly one row per step.
    let rows: i64 = db
        .transaction(|tx| {
            Ok(tx
                .query_one("SELECT count(*) FROM trust_schema", &[])
                .map_err(|e| db.error(&e))?
                .get(0))
        })
        .expect("count");
    assert_eq!(rows, migrate::MIGRATIONS.len() as i64);
}

#[test]
fn a_schema_newer_than_the_binary_is_refused_and_left_alone() {
    let Some(schema) = TestSchema::create("too_new") else {
        return;
    };
    let db = schema.open();
    schema.execute(
        "INSERT INTO trust_schema (component, version, description) VALUES ('home', 999, 'future');
         INSERT INTO trust_keyrings (name, revision, contents) VALUES ('kept', 1, '\\x00')",
    );
    let err = Database::open(&schema.store_url()).expect_err("too new");
    assert!(
        matches!(err, Error::SchemaTooNew { found: 999, .. }),
        "{err:?}"
    );
    assert_eq!(err.category().exit_code(), 2);
    assert_eq!(err.code(), "STORE_SCHEMA_TOO_NEW");
    assert!(!err.to_string().contains('\n'));
    let err = db.migrate().expect_err("too new");
    assert!(matches!(err, Error::SchemaTooNew { .. }));
    let kept: i64 = db
        .transaction(|tx| {
            Ok(tx
                .query_one("SELECT count(*) FROM trust_keyrings", &[])
                .map_err(|e| db.error(&e))?
                .get(0))
        })
        .expect("count");
    assert_eq!(kept, 1);
}

#[test]
fn an_unknown_search_path_schema_is_a_config_error() {
    let Some(base) = require_env("TRUST_TEST_POSTGRES_URL", "search_path") else {
        return;
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let u = url(&format!(
        "{base}{sep}options=-csearch_path%3Dno_such_schema_here"
    ));
    let err = Database::open(&u).expect_err("no schema");
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
}

#[test]
fn a_dropped_idle_connection_is_replaced_on_the_next_call() {
    let Some(schema) = TestSchema::create("reconnect") else {
        return;
    };
    let db = schema.open();
    assert!(schema.kill_connections() >= 1);
    let one: i32 = db
        .transaction(|tx| {
            Ok(tx
                .query_one("SELECT 1", &[])
                .map_err(|e| db.error(&e))?
                .get(0))
        })
        .expect("reconnected");
    assert_eq!(one, 1);
}

#[test]
fn a_connection_lost_mid_transaction_is_typed_and_applies_nothing() {
    let Some(schema) = TestSchema::create("midway") else {
        return;
    };
    let db = schema.open();
    let err = db
        .transaction(|tx| {
            tx.execute(
                "INSERT INTO trust_keyrings (name, revision, contents) VALUES ('half', 1, '\\x00')",
                &[],
            )
            .map_err(|e| db.error(&e))?;
            // The server ends this very session before the commit.
            tx.execute("SELECT pg_terminate_backend(pg_backend_pid())", &[])
                .map_err(|e| db.error(&e))?;
            Ok(())
        })
        .expect_err("lost");
    assert!(matches!(err, Error::ConnectionLost { .. }), "{err:?}");
    assert_eq!(err.category().exit_code(), 3);
    let rows: i64 = db
        .transaction(|tx| {
            Ok(tx
                .query_one("SELECT count(*) FROM trust_keyrings", &[])
                .map_err(|e| db.error(&e))?
                .get(0))
        })
        .expect("count");
    assert_eq!(rows, 0, "the interrupted insert must not be applied");
}

#[test]
fn unreachable_servers_and_bad_passwords_are_exit_3_without_the_password() {
    let Some(base) = require_env("TRUST_TEST_POSTGRES_URL", "unreachable") else {
        return;
    };
    for text in [
        "postgres://trust:Secr3t-Pass@127.0.0.1:1/trust_test?connect_timeout=2".to_owned(),
        base.replacen("://trust:trust@", "://trust:Secr3t-Pass@", 1),
    ] {
        let err = Database::open(&url(&text)).expect_err("unreachable");
        assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
        assert_eq!(err.category().exit_code(), 3);
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("Secr3t-Pass"), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
    }
}

#[test]
fn tls_verify_full_connects_and_a_wrong_ca_or_name_is_refused() {
    let Some(tls) = require_env("TRUST_TEST_POSTGRES_TLS_URL", "tls") else {
        return;
    };
    let db = Database::connect(ConnectOptions::parse(&url(&tls)).expect("parse")).expect("tls");
    let (ssl, version): (bool, String) = db
        .transaction(|tx| {
            let row = tx
                .query_one(
                    "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .map_err(|e| db.error(&e))?;
            Ok((row.get(0), row.get(1)))
        })
        .expect("query");
    assert!(ssl);
    assert!(version == "TLSv1.3" || version == "TLSv1.2", "{version}");

    // The name in the certificate is localhost/127.0.0.1: another name fails verify-full but
    // passes verify-ca (chain only), as in libpq.
    // (hostaddr connects to the real server while TLS checks the name in the URL.)
    let other_name =
        tls.replacen("@localhost:", "@db.invalid:", 1)
            .replacen('?', "?hostaddr=127.0.0.1&", 1);
    if other_name.contains("db.invalid") {
        let err = Database::connect(ConnectOptions::parse(&url(&other_name)).expect("parse"))
            .expect_err("name mismatch");
        assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
        let chain_only = other_name.replacen("sslmode=verify-full", "sslmode=verify-ca", 1);
        Database::connect(ConnectOptions::parse(&url(&chain_only)).expect("parse"))
            .expect("verify-ca ignores the name");
    }

    // A CA that did not sign the server's certificate.
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong_ca = dir.path().join("wrong.pem");
    std::fs::write(&wrong_ca, WRONG_CA).expect("write");
    let (base, _) = tls.split_once('?').expect("query");
    let wrong = format!(
        "{base}?sslmode=verify-full&sslrootcert={}",
        wrong_ca.display()
    );
    let err = Database::connect(ConnectOptions::parse(&url(&wrong)).expect("parse"))
        .expect_err("wrong CA");
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(!err.to_string().contains(":trust@"), "{err}");
}

/// A self-signed CA certificate unrelated to the test server (the ISRG Root X1 certificate,
/// Let's Encrypt's root, from https://letsencrypt.org/certs/isrgrootx1.pem).
const WRONG_CA: &str = "-----BEGIN CERTIFICATE-----
MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw
TzELMAkGA1UEBhMCVVMxKTAnBgNVBAoTIEludGVybmV0IFNlY3VyaXR5IFJlc2Vh
cmNoIEdyb3VwMRUwEwYDVQQDEwxJU1JHIFJvb3QgWDEwHhcNMTUwNjA0MTEwNDM4
WhcNMzUwNjA0MTEwNDM4WjBPMQswCQYDVQQGEwJVUzEpMCcGA1UEChMgSW50ZXJu
ZXQgU2VjdXJpdHkgUmVzZWFyY2ggR3JvdXAxFTATBgNVBAMTDElTUkcgUm9vdCBY
MTCCAiIwDQYJKoZIhvcNAQEBBQADggIPADCCAgoCggIBAK3oJHP0FDfzm54rVygc
h77ct984kIxuPOZXoHj3dcKi/vVqbvYATyjb3miGbESTtrFj/RQSa78f0uoxmyF+
0TM8ukj13Xnfs7j/EvEhmkvBioZxaUpmZmyPfjxwv60pIgbz5MDmgK7iS4+3mX6U
A5/TR5d8mUgjU+g4rk8Kb4Mu0UlXjIB0ttov0DiNewNwIRt18jA8+o+u3dpjq+sW
T8KOEUt+zwvo/7V3LvSye0rgTBIlDHCNAymg4VMk7BPZ7hm/ELNKjD+Jo2FR3qyH
B5T0Y3HsLuJvW5iB4YlcNHlsdu87kGJ55tukmi8mxdAQ4Q7e2RCOFvu396j3x+UC
B5iPNgiV5+I3lg02dZ77DnKxHZu8A/lJBdiB3QW0KtZB6awBdpUKD9jf1b0SHzUv
KBds0pjBqAlkd25HN7rOrFleaJ1/ctaJxQZBKT5ZPt0m9STJEadao0xAH0ahmbWn
OlFuhjuefXKnEgV4We0+UXgVCwOPjdAvBbI+e0ocS3MFEvzG6uBQE3xDk3SzynTn
jh8BCNAw1FtxNrQHusEwMFxIt4I7mKZ9YIqioymCzLq9gwQbooMDQaHWBfEbwrbw
qHyGO0aoSCqI3Haadr8faqU9GY/rOPNk3sgrDQoo//fb4hVC1CLQJ13hef4Y53CI
rU7m2Ys6xt0nUW7/vGT1M0NPAgMBAAGjQjBAMA4GA1UdDwEB/wQEAwIBBjAPBgNV
HRMBAf8EBTADAQH/MB0GA1UdDgQWBBR5tFnme7bl5AFzgAiIyBpY9umbbjANBgkq
hkiG9w0BAQsFAAOCAgEAVR9YqbyyqFDQDLHYGmkgJykIrGF1XIpu+ILlaS/V9lZL
ubhzEFnTIZd+50xx+7LSYK05qAvqFyFWhfFQDlnrzuBZ6brJFe+GnY+EgPbk6ZGQ
3BebYhtF8GaV0nxvwuo77x/Py9auJ/GpsMiu/X1+mvoiBOv/2X/qkSsisRcOj/KK
NFtY2PwByVS5uCbMiogziUwthDyC3+6WVwW6LLv3xLfHTjuCvjHIInNzktHCgKQ5
ORAzI4JMPJ+GslWYHb4phowim57iaztXOoJwTdwJx4nLCgdNbOhdjsnvzqvHu7Ur
TkXWStAmzOVyyghqpZXjFaH3pO3JLF+l+/+sKAIuvtd7u+Nxe5AW0wdeRlN8NwdC
jNPElpzVmbUq4JUagEiuTDkHzsxHpFKVK7q4+63SM1N95R1NbdWhscdCb+ZAJzVc
oyi3B43njTOQ5yOf+1CceWxG1bQVs5ZufpsMljq4Ui0/1lvh+wjChP4kqKOJ2qxq
4RgqsahDYVvTH9w7jXbyLeiNdd8XM2w9U/t7y0Ff/9yi0GE44Za4rF2LN9d11TPA
mRGunUHBcnWEvgJBQl9nJEiU0Zsnvgc/ubhPgXRR4Xq37Z0j4r7g1SgEEzwxA57d
emyPxgcYxn/eR44/KJ4EBs+lVDR3veyJm+kXQ99b21/+jh5Xos1AnX5iItreGCc=
-----END CERTIFICATE-----
";

/// An async app (an axum handler) calls the same synchronous API: opening, a transaction and
/// dropping the last handle inside a tokio runtime work instead of panicking with "Cannot start
/// a runtime from within a runtime".
#[test]
fn works_from_inside_an_async_runtime() {
    let Some(schema) = TestSchema::create("async") else {
        return;
    };
    let u = schema.store_url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let one: i32 = rt.block_on(async move {
        let db = Database::open(&u).expect("open inside a runtime");
        let one = db
            .transaction(|tx| {
                Ok(tx
                    .query_one("SELECT 1", &[])
                    .map_err(|e| db.error(&e))?
                    .get(0))
            })
            .expect("transaction inside a runtime");
        drop(db);
        one
    });
    assert_eq!(one, 1);
}
