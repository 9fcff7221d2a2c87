//! CLI tests of `trust gdpr …` and `trust redact`: every exit code each command can give.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::harness::{self, code, json, stdout};

/// The shared harness's home with a keyring `customers`.
struct Env {
    h: harness::Env,
}

harness::wraps_env!(Env);

impl Env {
    /// A home with a key-file root and a keyring `customers`.
    fn new() -> Self {
        let env = Self {
            h: harness::Env::bare(),
        };
        let root = env.path("root.key");
        let out = env.run(&["init", "--root-key-file", root.to_str().unwrap()], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = env.run(&["keys", "create", "customers"], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        env
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        run_in(Some(&self.path("home")), args, stdin)
    }
}

fn run_in(home: Option<&Path>, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = harness::trust();
    if let Some(h) = home {
        cmd.arg("--home").arg(h);
    }
    harness::run(cmd.args(args), stdin)
}

const RECORDS: &str = r#"{"subject":"191167","category":"orders","record":{"id":1,"total":"12.00"}}
{"subject":"42","category":"orders","record":{"id":2}}
{"subject":"191167","category":"profile","record":{"email":"jane@example.com"}}
{"subject":"191167","category":"orders","record":{"id":3,"total":"7.50"}}
"#;

#[test]
fn export_contains_only_the_subject_and_verifies() {
    let env = Env::new();
    let recs = env.write("recs.jsonl", RECORDS);
    let bundle = env.path("b.jsonl");
    let out = env.run(
        &[
            "--json",
            "gdpr",
            "export",
            "--key",
            "customers",
            "--subject",
            "191167",
            "--records",
            recs.to_str().unwrap(),
            "--out",
            bundle.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let m = json(&out)["data"].clone();
    assert_eq!(m["parts"][0]["category"], "orders");
    assert_eq!(m["parts"][0]["records"], 2);
    assert_eq!(m["parts"][1]["records"], 1);
    let text = std::fs::read_to_string(&bundle).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&bundle).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "bundles hold personal data");
    }
    assert!(
        !text.contains("\"id\":2"),
        "another subject's record leaked"
    );
    assert!(!text.contains("191167"), "raw subject id in the bundle");

    let ok = env.run(
        &["--json", "gdpr", "verify-export", bundle.to_str().unwrap()],
        None,
    );
    assert_eq!(code(&ok), 0);
    assert_eq!(json(&ok)["data"]["subject"], m["subject"]);

    std::fs::write(&bundle, text.replace("12.00", "13.00")).unwrap();
    let bad = env.run(
        &["--json", "gdpr", "verify-export", bundle.to_str().unwrap()],
        None,
    );
    assert_eq!(code(&bad), 1);
    assert_eq!(json(&bad)["code"], "MANIFEST_MISMATCH");

    let missing = env.run(
        &["gdpr", "verify-export", env.path("nope").to_str().unwrap()],
        None,
    );
    assert_eq!(code(&missing), 3);
    let badkey = env.run(
        &[
            "gdpr",
            "verify-export",
            bundle.to_str().unwrap(),
            "--public-key",
            "zz",
        ],
        None,
    );
    assert_eq!(code(&badkey), 2);
    // Verified against another signer's key: exit 1.
    std::fs::write(&bundle, &text).unwrap();
    let other = env.run(
        &[
            "gdpr",
            "verify-export",
            bundle.to_str().unwrap(),
            "--public-key",
            &"00".repeat(32),
        ],
        None,
    );
    assert_eq!(code(&other), 1);
}

#[test]
fn export_input_errors() {
    let env = Env::new();
    let out_path = env.path("b.jsonl");
    let missing = env.run(
        &[
            "gdpr",
            "export",
            "--key",
            "customers",
            "--subject",
            "1",
            "--records",
            env.path("none.jsonl").to_str().unwrap(),
            "--out",
            out_path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code(&missing), 3);
    let bad = env.write("bad.jsonl", "{\"subject\":1}\n");
    let malformed = env.run(
        &[
            "gdpr",
            "export",
            "--key",
            "customers",
            "--subject",
            "1",
            "--records",
            bad.to_str().unwrap(),
            "--out",
            out_path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code(&malformed), 2);
    assert!(
        !out_path.exists(),
        "a failed export leaves no partial bundle"
    );
    let unknown_key = env.run(
        &[
            "gdpr",
            "export",
            "--key",
            "nope",
            "--subject",
            "1",
            "--records",
            env.write("e.jsonl", "").to_str().unwrap(),
            "--out",
            out_path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code(&unknown_key), 4);
}

#[test]
fn erase_needs_confirmation_prints_a_verifiable_receipt_and_is_final() {
    let env = Env::new();
    let args = [
        "gdpr",
        "erase",
        "--key",
        "customers",
        "--subject",
        "191167",
        "--request",
        "T-1",
    ];
    let refused = env.run(&args, None);
    assert_eq!(code(&refused), 5);

    let mut yes: Vec<&str> = vec!["--json"];
    yes.extend_from_slice(&args);
    yes.push("--yes");
    let out = env.run(&yes, None);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out)["data"].clone();
    assert_eq!(doc["receipt"]["request"], "T-1");
    assert!(!doc.to_string().contains("191167"));
    let receipt = env.write("receipt.json", &doc.to_string());
    let ok = env.run(&["gdpr", "verify-receipt", receipt.to_str().unwrap()], None);
    assert_eq!(code(&ok), 0);
    let altered = env.write(
        "altered.json",
        &doc.to_string()
            .replace("\"request\":\"T-1\"", "\"request\":\"T-2\""),
    );
    let bad = env.run(&["gdpr", "verify-receipt", altered.to_str().unwrap()], None);
    assert_eq!(code(&bad), 1);

    // Erasure survives the process: a second run sees the tombstone (exit 4).
    let again = env.run(&yes, None);
    assert_eq!(code(&again), 4);
    assert_eq!(json(&again)["code"], "SUBJECT_ERASED");
    // Another subject is unaffected.
    let other = env.run(
        &[
            "gdpr",
            "erase",
            "--key",
            "customers",
            "--subject",
            "42",
            "--yes",
        ],
        None,
    );
    assert_eq!(code(&other), 0);
}

#[test]
fn commands_without_a_home_are_usage_errors() {
    let out = run_in(
        None,
        &["gdpr", "erase", "--key", "c", "--subject", "1", "--yes"],
        None,
    );
    assert_eq!(code(&out), 2);
}

#[test]
fn requests_lifecycle_and_deadlines() {
    let env = Env::new();
    let add = env.run(
        &[
            "--json",
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
            "191167",
            "--received",
            "2026-01-31T10:00:00Z",
        ],
        None,
    );
    assert_eq!(code(&add), 0, "{}", String::from_utf8_lossy(&add.stderr));
    assert_eq!(json(&add)["data"]["due"], "2026-02-28");
    assert!(!stdout(&add).contains("191167"));

    let dup = env.run(
        &[
            "gdpr",
            "requests",
            "add",
            "--id",
            "T-1",
            "--kind",
            "access",
            "--key",
            "customers",
            "--subject",
            "1",
        ],
        None,
    );
    assert_eq!(code(&dup), 2);

    let too_long = env.run(
        &[
            "gdpr",
            "requests",
            "extend",
            "--id",
            "T-1",
            "--months",
            "3",
            "--reason",
            "x",
            "--at",
            "2026-02-10T00:00:00Z",
        ],
        None,
    );
    assert_eq!(code(&too_long), 2);
    let ext = env.run(
        &[
            "--json",
            "gdpr",
            "requests",
            "extend",
            "--id",
            "T-1",
            "--months",
            "2",
            "--reason",
            "records in three systems",
            "--at",
            "2026-02-10T00:00:00Z",
        ],
        None,
    );
    assert_eq!(code(&ext), 0);
    assert_eq!(json(&ext)["data"]["due"], "2026-04-30");

    let before = env.run(
        &[
            "--json",
            "gdpr",
            "requests",
            "list",
            "--overdue",
            "--at",
            "2026-04-30T23:59:59Z",
        ],
        None,
    );
    assert_eq!(json(&before)["data"].as_array().unwrap().len(), 0);
    let after = env.run(
        &[
            "--json",
            "gdpr",
            "requests",
            "list",
            "--overdue",
            "--at",
            "2026-05-01T00:00:00Z",
        ],
        None,
    );
    assert_eq!(json(&after)["data"][0]["id"], "T-1");

    assert_eq!(
        code(&env.run(&["gdpr", "requests", "start", "--id", "T-1"], None)),
        0
    );
    assert_eq!(
        code(&env.run(&["gdpr", "requests", "complete", "--id", "T-1"], None)),
        0
    );
    assert_eq!(
        code(&env.run(&["gdpr", "requests", "complete", "--id", "T-1"], None)),
        2
    );
    assert_eq!(
        code(&env.run(&["gdpr", "requests", "complete", "--id", "nope"], None)),
        2
    );
    assert_eq!(
        code(&env.run(&["gdpr", "requests", "list", "--at", "yesterday"], None)),
        2
    );
    let rej = env.run(
        &[
            "gdpr",
            "requests",
            "add",
            "--id",
            "T-2",
            "--kind",
            "access",
            "--key",
            "customers",
            "--subject",
            "7",
        ],
        None,
    );
    assert_eq!(code(&rej), 0);
    assert_eq!(
        code(&env.run(
            &[
                "gdpr",
                "requests",
                "reject",
                "--id",
                "T-2",
                "--reason",
                "identity not established"
            ],
            None
        )),
        0
    );
}

#[test]
fn retention_due_boundaries_and_errors() {
    let env = Env::new();
    let policy = env.write(
        "policy.json",
        r#"{"rules":[{"category":"configuration","after":"account-closed","days":30,"action":"delete"}],
            "items":[{"id":"shop-1","category":"configuration","event":"account-closed","at":"2026-01-01T10:00:00Z"}]}"#,
    );
    let p = policy.to_str().unwrap();
    let before = env.run(
        &[
            "--json",
            "gdpr",
            "retention",
            "due",
            "--policy",
            p,
            "--at",
            "2026-01-31T09:59:59Z",
        ],
        None,
    );
    assert_eq!(code(&before), 0);
    assert_eq!(json(&before)["data"].as_array().unwrap().len(), 0);
    let at = env.run(
        &[
            "--json",
            "gdpr",
            "retention",
            "due",
            "--policy",
            p,
            "--at",
            "2026-01-31T10:00:00Z",
        ],
        None,
    );
    assert_eq!(json(&at)["data"][0]["id"], "shop-1");
    assert_eq!(json(&at)["data"][0]["action"], "delete");

    let items = env.write(
        "items.jsonl",
        "{\"id\":\"shop-2\",\"category\":\"configuration\",\"event\":\"account-closed\",\"at\":\"2026-01-02T10:00:00Z\"}\n",
    );
    let both = env.run(
        &[
            "--json",
            "gdpr",
            "retention",
            "due",
            "--policy",
            p,
            "--items",
            items.to_str().unwrap(),
            "--at",
            "2027-01-01T00:00:00Z",
        ],
        None,
    );
    assert_eq!(json(&both)["data"].as_array().unwrap().len(), 2);

    let bad = env.write(
        "bad.json",
        r#"{"rules":[{"category":"x","after":"y","days":1,"action":"burn"}]}"#,
    );
    assert_eq!(
        code(&env.run(
            &[
                "gdpr",
                "retention",
                "due",
                "--policy",
                bad.to_str().unwrap()
            ],
            None
        )),
        2
    );
    assert_eq!(
        code(&env.run(
            &[
                "gdpr",
                "retention",
                "due",
                "--policy",
                env.path("none").to_str().unwrap()
            ],
            None
        )),
        3
    );
}

#[test]
fn redact_filters_stdin_and_files() {
    let env = Env::new();
    let text = "GET https://key:pass@shop.example/x Authorization: Bearer abcdefghijklmnop0123 card 4242-4242-4242-4242 sk_live_0123456789abcdef order 1700000000000\n";
    let out = env.run(&["redact"], Some(text.as_bytes()));
    assert_eq!(code(&out), 0);
    let s = stdout(&out);
    for secret in ["pass@", "abcdefghijklmnop0123", "4242-4242", "sk_live_0123"] {
        assert!(!s.contains(secret), "{s}");
    }
    assert!(s.contains("1700000000000"), "near-miss kept: {s}");

    let log = env.write("app.log", "login hunter2-odoo-pw ok\n");
    let secrets = env.write("secrets.txt", "hunter2-odoo-pw\n");
    let out = env.run(
        &[
            "redact",
            "-i",
            log.to_str().unwrap(),
            "--secrets-file",
            secrets.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(stdout(&out), "login [REDACTED:secret] ok\n");

    let missing = env.run(
        &["redact", "-i", env.path("none.log").to_str().unwrap()],
        None,
    );
    assert_eq!(code(&missing), 3);
    let short = env.write("short.txt", "abc\n");
    let bad = env.run(
        &["redact", "--secrets-file", short.to_str().unwrap()],
        Some(b"x"),
    );
    assert_eq!(code(&bad), 2);
}

#[test]
fn every_command_has_an_example() {
    for args in [
        &["gdpr", "erase", "--help"][..],
        &["gdpr", "export", "--help"],
        &["gdpr", "verify-export", "--help"],
        &["gdpr", "verify-receipt", "--help"],
        &["gdpr", "public-key", "--help"],
        &["gdpr", "requests", "list", "--help"],
        &["gdpr", "requests", "add", "--help"],
        &["gdpr", "requests", "extend", "--help"],
        &["gdpr", "requests", "start", "--help"],
        &["gdpr", "requests", "complete", "--help"],
        &["gdpr", "requests", "reject", "--help"],
        &["gdpr", "retention", "due", "--help"],
        &["redact", "--help"],
    ] {
        let out = run_in(None, args, None);
        assert_eq!(code(&out), 0, "{args:?}");
        assert!(
            stdout(&out).contains("Example:"),
            "{args:?}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn encrypt_for_a_subject_then_erase_gives_exit_4_for_that_subject_only() {
    let env = Env::new();
    let jane = env.path("jane.tle");
    let joe = env.path("joe.tok");
    let plain = env.path("plain.tle");
    let enc = |subject: Option<&str>, out: &Path, armor: bool, text: &[u8]| {
        let mut args = vec!["encrypt", "--key", "customers", "-o", out.to_str().unwrap()];
        if let Some(s) = subject {
            args.extend_from_slice(&["--subject", s]);
        }
        if armor {
            args.push("--armor");
        }
        let o = env.run(&args, Some(text));
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    };
    enc(Some("191167"), &jane, false, b"jane@example.com");
    enc(Some("42"), &joe, true, b"joe@example.com");
    enc(None, &plain, false, b"not personal");
    let header = std::fs::read(&jane).unwrap();
    assert!(
        !String::from_utf8_lossy(&header).contains("191167"),
        "raw id in header"
    );

    let dec = |p: &Path| env.run(&["decrypt", "-i", p.to_str().unwrap()], None);
    assert_eq!(stdout(&dec(&jane)), "jane@example.com");
    let erase = env.run(
        &[
            "gdpr",
            "erase",
            "--key",
            "customers",
            "--subject",
            "191167",
            "--yes",
        ],
        None,
    );
    assert_eq!(code(&erase), 0);
    let gone = env.run(&["--json", "decrypt", "-i", jane.to_str().unwrap()], None);
    assert_eq!(code(&gone), 4);
    assert_eq!(json(&gone)["code"], "SUBJECT_ERASED");
    assert_eq!(stdout(&dec(&joe)), "joe@example.com");
    assert_eq!(stdout(&dec(&plain)), "not personal");
    // New data for an erased subject is refused too.
    let again = env.run(
        &[
            "encrypt",
            "--key",
            "customers",
            "--subject",
            "191167",
            "-o",
            env.path("x").to_str().unwrap(),
        ],
        Some(b"x"),
    );
    assert_eq!(code(&again), 4);
}

#[test]
fn erasures_and_request_transitions_are_audited_when_a_log_is_given() {
    let env = Env::new();
    let log = env.path("audit");
    let log_s = log.to_str().unwrap();
    let init = env.run(
        &[
            "--json",
            "audit",
            "init",
            "--log",
            log_s,
            "--origin",
            "test.example/gdpr",
        ],
        None,
    );
    assert_eq!(code(&init), 0, "{}", String::from_utf8_lossy(&init.stderr));
    let vkey = json(&init)["data"]["vkey"].as_str().unwrap().to_owned();

    let erase = env.run(
        &[
            "gdpr",
            "erase",
            "--key",
            "customers",
            "--subject",
            "191167",
            "--yes",
            "--audit-log",
            log_s,
        ],
        None,
    );
    assert_eq!(
        code(&erase),
        0,
        "{}",
        String::from_utf8_lossy(&erase.stderr)
    );
    let add = env.run(
        &[
            "gdpr",
            "requests",
            "add",
            "--id",
            "T-1",
            "--kind",
            "access",
            "--key",
            "customers",
            "--subject",
            "191167",
            "--audit-log",
            log_s,
        ],
        None,
    );
    assert_eq!(code(&add), 0);
    let done = env.run(
        &[
            "gdpr",
            "requests",
            "complete",
            "--id",
            "T-1",
            "--audit-log",
            log_s,
        ],
        None,
    );
    assert_eq!(code(&done), 0);

    let verify = env.run(
        &["--json", "audit", "verify", "--log", log_s, "--vkey", &vkey],
        None,
    );
    assert_eq!(code(&verify), 0);
    assert_eq!(json(&verify)["data"]["entries"], 3);
    // The raw subject id never reaches the log's files.
    for entry in walk(&log) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("191167"),
            "{}",
            entry.display()
        );
    }

    // A missing log stops the command before anything is erased (exit 3).
    let missing = env.run(
        &[
            "gdpr",
            "erase",
            "--key",
            "customers",
            "--subject",
            "42",
            "--yes",
            "--audit-log",
            env.path("none").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code(&missing), 3);
    let after = env.run(
        &[
            "gdpr",
            "erase",
            "--key",
            "customers",
            "--subject",
            "42",
            "--yes",
        ],
        None,
    );
    assert_eq!(code(&after), 0, "the failed run must not have erased");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
