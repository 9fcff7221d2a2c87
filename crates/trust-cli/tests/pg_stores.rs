//! `trust gdpr`, `trust secrets` and `trust mfa` on a database home (`TRUST_STORE=postgres://…`)
//! against a real PostgreSQL (TRUST_TEST_POSTGRES_URL; skipped with a printed reason when
//! unset, failing when CI=true). Two temporary directories play two hosts that share only the
//! database and a copy of the root key file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use trust_postgres::testing::TestSchema;

/// Starts `trust` in `cwd` with TRUST_STORE=`store` (never on argv: the URL holds a password)
/// as actor `ops`.
fn spawn(cwd: &Path, store: &str, args: &[&str], stdin: &[u8]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trust"))
        .current_dir(cwd)
        .env("TRUST_STORE", store)
        .env("TRUST_ACTOR", "ops")
        .env_remove("TRUST_HOME")
        .env_remove("TRUST_AUDIT_LOG")
        .env_remove("TRUST_ROOT_KEY_FILE")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn trust");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("stdin");
    }
    child
}

fn trust(cwd: &Path, store: &str, args: &[&str], stdin: &[u8]) -> Output {
    spawn(cwd, store, args, stdin)
        .wait_with_output()
        .expect("wait")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("one JSON object: {}", text(out)))
}

/// Two hosts sharing a database home: A made it (root.key), B has a copy of the key file.
struct Hosts {
    schema: TestSchema,
    a: tempfile::TempDir,
    b: tempfile::TempDir,
}

impl Hosts {
    fn new(label: &str) -> Option<Self> {
        let schema = TestSchema::create(label)?;
        let hosts = Self {
            schema,
            a: tempfile::tempdir().unwrap(),
            b: tempfile::tempdir().unwrap(),
        };
        let out = hosts.on_a(&["init", "--root-key-file", "root.key"], b"");
        assert_eq!(code(&out), 0, "{}", text(&out));
        std::fs::copy(
            hosts.a.path().join("root.key"),
            hosts.b.path().join("copy.key"),
        )
        .unwrap();
        Some(hosts)
    }

    fn url(&self) -> &str {
        self.schema.url()
    }

    fn on_a(&self, args: &[&str], stdin: &[u8]) -> Output {
        trust(self.a.path(), self.url(), args, stdin)
    }

    /// Runs on host B with its copy of the key file.
    fn on_b(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut all = args.to_vec();
        all.extend(["--root-key-file", "copy.key"]);
        trust(self.b.path(), self.url(), &all, stdin)
    }

    fn local_files(&self, host: &tempfile::TempDir) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(host.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

#[test]
fn gdpr_erase_export_and_requests_work_on_a_database_home_from_any_host() {
    let Some(h) = Hosts::new("cli_gdpr") else {
        return;
    };
    let out = h.on_a(&["keys", "create", "customers"], b"");
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = h.on_a(
        &[
            "encrypt",
            "--key",
            "customers",
            "--subject",
            "customer-191167",
        ],
        b"Jane's order",
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let sealed = out.stdout;

    // The request register is shared: added on A, worked on and listed on B.
    let out = h.on_a(
        &[
            "gdpr",
            "requests",
            "add",
            "--id",
            "T-1",
            "--kind",
            "erasure",
            "--key",
            "customers",
            "--subject",
            "customer-191167",
        ],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = trust(
        h.b.path(),
        h.url(),
        &["gdpr", "requests", "start", "--id", "T-1"],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = trust(
        h.b.path(),
        h.url(),
        &["gdpr", "requests", "list", "--json"],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        json(&out)["data"][0]["status"],
        "in-progress",
        "{}",
        text(&out)
    );
    let out = h.on_a(
        &[
            "gdpr",
            "requests",
            "add",
            "--id",
            "T-1",
            "--kind",
            "export",
            "--key",
            "customers",
            "--subject",
            "x",
        ],
        b"",
    );
    assert_ne!(code(&out), 0, "a duplicate id is refused: {}", text(&out));

    // Export on B, verified on A against the key A's home reports: one signing key.
    std::fs::write(
        h.b.path().join("records.jsonl"),
        b"{\"subject\":\"customer-191167\",\"category\":\"orders\",\"record\":{\"id\":1}}\n\
          {\"subject\":\"someone-else\",\"category\":\"orders\",\"record\":{\"id\":2}}\n",
    )
    .unwrap();
    let out = h.on_b(
        &[
            "gdpr",
            "export",
            "--key",
            "customers",
            "--subject",
            "customer-191167",
            "--records",
            "records.jsonl",
            "--out",
            "jane.export.jsonl",
            "--request",
            "T-1",
        ],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = h.on_a(&["gdpr", "public-key", "--json"], b"");
    assert_eq!(code(&out), 0, "{}", text(&out));
    let pk_a = json(&out)["data"]["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = h.on_b(&["gdpr", "public-key", "--json"], b"");
    assert_eq!(
        json(&out)["data"]["public_key"],
        pk_a.as_str(),
        "one key for every host"
    );
    std::fs::copy(
        h.b.path().join("jane.export.jsonl"),
        h.a.path().join("jane.jsonl"),
    )
    .unwrap();
    let out = h.on_a(&["gdpr", "verify-export", "jane.jsonl"], b"");
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = h.on_a(
        &[
            "gdpr",
            "verify-export",
            "jane.jsonl",
            "--public-key",
            &"00".repeat(32),
        ],
        b"",
    );
    assert_eq!(code(&out), 1, "another signer: {}", text(&out));

    // Erase on A without confirmation off a terminal: refused, nothing erased.
    let out = h.on_a(
        &[
            "gdpr",
            "erase",
            "--key",
            "customers",
            "--subject",
            "customer-191167",
        ],
        b"",
    );
    assert_eq!(code(&out), 5, "{}", text(&out));
    let out = h.on_b(&["decrypt"], &sealed);
    assert_eq!(code(&out), 0, "still readable: {}", text(&out));

    let out = h.on_a(
        &[
            "gdpr",
            "erase",
            "--key",
            "customers",
            "--subject",
            "customer-191167",
            "--request",
            "T-1",
            "--yes",
            "--json",
        ],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let receipt = serde_json::to_vec(&json(&out)["data"]).unwrap();
    std::fs::write(h.b.path().join("receipt.json"), &receipt).unwrap();
    let out = h.on_b(
        &[
            "gdpr",
            "verify-receipt",
            "receipt.json",
            "--public-key",
            &pk_a,
        ],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", text(&out));

    // The tombstone is final on every host: B cannot open, seal again, or erase again.
    let out = h.on_b(&["decrypt"], &sealed);
    assert_eq!(code(&out), 4, "{}", text(&out));
    let out = h.on_b(
        &[
            "encrypt",
            "--key",
            "customers",
            "--subject",
            "customer-191167",
        ],
        b"new data",
    );
    assert_eq!(code(&out), 4, "{}", text(&out));
    let out = h.on_b(
        &[
            "gdpr",
            "erase",
            "--key",
            "customers",
            "--subject",
            "customer-191167",
            "--yes",
        ],
        b"",
    );
    assert_eq!(code(&out), 4, "{}", text(&out));
    // Other subjects are unaffected.
    let out = h.on_b(
        &["encrypt", "--key", "customers", "--subject", "customer-2"],
        b"other",
    );
    assert_eq!(code(&out), 0, "{}", text(&out));

    // Nothing but the key file and the files asked for was written on either host.
    assert_eq!(h.local_files(&h.a), ["jane.jsonl", "root.key"]);
    assert_eq!(
        h.local_files(&h.b),
        [
            "copy.key",
            "jane.export.jsonl",
            "receipt.json",
            "records.jsonl"
        ]
    );
    assert!(!text(&out).contains(":trust@"));
}

#[test]
fn secrets_on_a_database_home_are_shared_sealed_and_access_listed() {
    let Some(h) = Hosts::new("cli_secrets") else {
        return;
    };
    let out = h.on_a(
        &[
            "secrets",
            "put",
            "acme/shopify",
            "--readers",
            "ops,sync",
            "-i",
            "-",
        ],
        b"shpat_0123456789abcdef0123",
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = h.on_b(
        &["secrets", "get", "acme/shopify", "--purpose", "order sync"],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(out.stdout, b"shpat_0123456789abcdef0123");
    let out = h.on_b(
        &["secrets", "rotate", "acme/shopify", "-i", "-"],
        b"shpat_rotated_value_4567",
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = h.on_a(&["secrets", "list", "--json"], b"");
    assert_eq!(code(&out), 0, "{}", text(&out));
    let listed = json(&out);
    assert_eq!(
        listed["data"]["secrets"][0]["current_version"], 2,
        "{listed}"
    );
    assert!(!text(&out).contains("shpat_"), "list never shows values");

    // Not a reader: exit 5. Absent: exit 4.
    let out = trust(
        h.a.path(),
        h.url(),
        &[
            "--actor",
            "intern",
            "secrets",
            "get",
            "acme/shopify",
            "--purpose",
            "curious",
        ],
        b"",
    );
    assert_eq!(code(&out), 5, "{}", text(&out));
    let out = h.on_a(&["secrets", "get", "acme/absent", "--purpose", "x"], b"");
    assert_eq!(code(&out), 4, "{}", text(&out));

    // The database holds the values sealed only.
    let db = h.schema.open();
    let rows: Vec<Vec<u8>> = db
        .transaction(|tx| {
            Ok(tx
                .query("SELECT record FROM trust_vault_secrets", &[])
                .map_err(|e| db.error(&e))?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })
        .unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| !String::from_utf8_lossy(r).contains("shpat_"))
    );

    // An edited row is detected (exit 1), never served.
    h.schema
        .execute("UPDATE trust_vault_secrets SET revision = revision + 1");
    let out = h.on_b(
        &["secrets", "get", "acme/shopify", "--purpose", "sync"],
        b"",
    );
    assert_eq!(code(&out), 1, "{}", text(&out));
    h.schema
        .execute("UPDATE trust_vault_secrets SET revision = revision - 1");

    let out = h.on_a(&["secrets", "delete", "acme/shopify", "--yes"], b"");
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = h.on_b(
        &["secrets", "get", "acme/shopify", "--purpose", "sync"],
        b"",
    );
    assert_eq!(code(&out), 4, "deleted: {}", text(&out));
    assert_eq!(h.local_files(&h.a), ["root.key"]);
}

#[test]
fn two_hosts_verifying_one_totp_code_at_once_accept_it_once() {
    let Some(h) = Hosts::new("cli_mfa") else {
        return;
    };
    // RFC 6238 appendix B's SHA-1 seed "12345678901234567890" in base32.
    std::fs::write(
        h.a.path().join("seed.txt"),
        b"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    )
    .unwrap();
    let out = h.on_a(
        &[
            "mfa",
            "enroll",
            "admin@acme.example",
            "--secret-file",
            "seed.txt",
            "--json",
        ],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        json(&out)["data"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    // T = 1111111109: "07081804" with 8 digits; the 6-digit code is its last six digits.
    let args = [
        "mfa",
        "verify",
        "admin@acme.example",
        "--code-file",
        "-",
        "--now",
        "1111111109",
    ];
    let children: Vec<Child> = [&h.a, &h.b]
        .iter()
        .map(|host| {
            let mut all = args.to_vec();
            if host.path() == h.b.path() {
                all.extend(["--root-key-file", "copy.key"]);
            }
            spawn(host.path(), h.url(), &all, b"081804")
        })
        .collect();
    let codes: Vec<i32> = children
        .into_iter()
        .map(|c| code(&c.wait_with_output().unwrap()))
        .collect();
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [0, 1], "exactly one host accepts: {codes:?}");
    let out = h.on_b(
        &[
            "mfa",
            "verify",
            "admin@acme.example",
            "--code-file",
            "-",
            "--now",
            "1111111109",
        ],
        b"081804",
    );
    assert_eq!(code(&out), 1, "spent: {}", text(&out));

    // The policy lives in the database too: with it on, B's erase needs a second factor.
    let out = h.on_a(&["mfa", "require", "on"], b"");
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = h.on_b(&["keys", "create", "customers"], b"");
    assert_eq!(code(&out), 0, "{}", text(&out));
    let erase = [
        "gdpr",
        "erase",
        "--key",
        "customers",
        "--subject",
        "c-1",
        "--yes",
    ];
    let out = h.on_b(&erase, b"");
    assert_eq!(code(&out), 5, "{}", text(&out));
    std::fs::write(h.b.path().join("code.txt"), b"000000").unwrap();
    let mut with_code = erase.to_vec();
    with_code.extend([
        "--mfa-user",
        "admin@acme.example",
        "--mfa-code-file",
        "code.txt",
    ]);
    let out = h.on_b(&with_code, b"");
    // A wrong code: rejected (exit 1), and nothing erased.
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert_eq!(h.local_files(&h.a), ["root.key", "seed.txt"]);
}

#[test]
fn an_unreachable_database_home_is_exit_3_for_gdpr_secrets_and_mfa_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://trust:Hidden-Pass-9@127.0.0.1:1/x?connect_timeout=2";
    for args in [
        &["gdpr", "requests", "list"][..],
        &["gdpr", "public-key"],
        &["secrets", "list"],
        &["mfa", "verify", "ops", "--code-file", "-"],
    ] {
        let out = trust(dir.path(), url, args, b"123456");
        assert_eq!(code(&out), 3, "{args:?}: {}", text(&out));
        assert!(!text(&out).contains("Hidden-Pass-9"), "{}", text(&out));
    }
}
