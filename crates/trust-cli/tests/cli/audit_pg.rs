//! `trust audit` on a PostgreSQL log (`--log postgres://…?log=NAME`, `TRUST_AUDIT_LOG`) against
//! a real server (TRUST_TEST_POSTGRES_URL; skipped with a printed reason when unset, failing
//! when CI=true): many processes appending at once, `kill -9` of appenders, a backend killed in
//! the middle of a batch, an edited row, export and offline verify, and every error's exit code.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use trust_core::audit::{Query, search};
use trust_postgres::testing::TestSchema;

/// A command with the log in TRUST_AUDIT_LOG (the URL holds a password: never on argv).
fn cmd(log: &str, args: &[&str]) -> Command {
    let mut c = crate::harness::trust();
    c.env("TRUST_AUDIT_LOG", log)
        .env_remove("TRUST_STORE")
        .args(args)
        .stdin(Stdio::null());
    c
}

fn run(log: &str, args: &[&str]) -> Output {
    cmd(log, args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(log: &str, args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.push("--json");
    let out = run(log, &a);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["data"].clone()
}

fn fails(log: &str, args: &[&str], exit: i32, code: &str) -> serde_json::Value {
    let mut a = args.to_vec();
    a.push("--json");
    let out = run(log, &a);
    assert_eq!(out.status.code(), Some(exit), "{args:?}: {}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["code"], code, "{v}");
    v
}

/// A schema of its own and a log `NAME` in it; returns the URL and the vkey.
fn log_in(schema: &TestSchema, name: &str) -> (String, String) {
    let url = format!("{}&log={name}", schema.url());
    let v = ok(
        &url,
        &["audit", "init", "--origin", "example.com/audit/cli-pg"],
    );
    assert!(
        !v.to_string().contains(":trust@") && v["log"].as_str().unwrap().contains("REDACTED"),
        "{v}"
    );
    (url, v["vkey"].as_str().unwrap().to_owned())
}

fn verify(url: &str, vkey: &str) -> serde_json::Value {
    ok(url, &["audit", "verify", "--vkey", vkey])
}

/// The entries of an exported copy, as (attr p, attr n) pairs.
fn exported_entries(url: &str, to: &Path) -> Vec<(String, u64)> {
    ok(url, &["audit", "export", "--to", to.to_str().unwrap()]);
    let mut out = Vec::new();
    search(to, &Query::all(), |leaf| {
        let attrs: BTreeMap<_, _> = leaf.attrs.into_iter().collect();
        if let (Some(p), Some(n)) = (attrs.get("p"), attrs.get("n")) {
            out.push((p.clone(), n.parse().unwrap()));
        }
        true
    })
    .unwrap();
    out
}

#[test]
fn processes_append_at_once_nothing_refused_nothing_lost() {
    let Some(schema) = TestSchema::create("cli_audit_many") else {
        return;
    };
    let (url, vkey) = log_in(&schema, "orders");
    // 8 processes, each appending 8 entries one call at a time, all at once.
    let workers: Vec<_> = (0..8)
        .map(|p| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut indexes = Vec::new();
                for n in 0..8 {
                    let v = ok(
                        &url,
                        &[
                            "audit",
                            "append",
                            "--event",
                            "test.many",
                            "--attr",
                            &format!("p={p}"),
                            "--attr",
                            &format!("n={n}"),
                        ],
                    );
                    indexes.push(v["index"].as_u64().unwrap());
                }
                indexes
            })
        })
        .collect();
    let mut all: Vec<u64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..64).collect::<Vec<_>>());
    ok(&url, &["audit", "checkpoint"]);
    let v = verify(&url, &vkey);
    assert_eq!(v["entries"], 64);
    // The key-free export verifies offline, with the very same root.
    let tmp = tempfile::tempdir().unwrap();
    let to = tmp.path().join("copy");
    assert_eq!(exported_entries(&url, &to).len(), 64);
    assert!(!to.join("signing.key").exists() && !to.join("pseudonym.key").exists());
    let out = crate::harness::trust()
        .args([
            "audit",
            "verify",
            "--json",
            "--log",
            to.to_str().unwrap(),
            "--vkey",
            &vkey,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let offline: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(offline["data"]["root"], v["root"]);
    // Prove and consistency-proof from the database.
    let r = ok(&url, &["audit", "prove", "--index", "37"]);
    assert!(r["receipt"].as_str().unwrap().contains("index 37"));
}

fn spawn_import(url: &str, file: &Path, batch: &str) -> Child {
    cmd(
        url,
        &["audit", "import", "--batch", batch, file.to_str().unwrap()],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap()
}

#[test]
fn kill_nine_of_appenders_keeps_every_acknowledged_entry() {
    let Some(schema) = TestSchema::create("cli_audit_kill9") else {
        return;
    };
    let (url, vkey) = log_in(&schema, "audit");
    let tmp = tempfile::tempdir().unwrap();
    // Four importers at once, each killed with SIGKILL after a different number of commits.
    let mut children = Vec::new();
    for p in 0..4u64 {
        let file = tmp.path().join(format!("in-{p}.jsonl"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        for n in 0..100_000 {
            writeln!(
                f,
                r#"{{"event":"bulk.event","attrs":{{"p":"{p}","n":"{n}"}}}}"#
            )
            .unwrap();
        }
        drop(f);
        children.push((p, spawn_import(&url, &file, "50")));
    }
    let mut acked = BTreeMap::new();
    let readers: Vec<_> = children
        .into_iter()
        .map(|(p, mut child)| {
            std::thread::spawn(move || {
                let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
                let mut last = 0u64;
                let stop_after = 3 + p * 4;
                let mut commits = 0;
                for line in lines.by_ref() {
                    if let Some(n) = line.unwrap().strip_prefix("committed ") {
                        last = n.parse().unwrap();
                        commits += 1;
                        if commits >= stop_after {
                            break;
                        }
                    }
                }
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                for line in lines.map_while(Result::ok) {
                    if let Some(n) = line.strip_prefix("committed ") {
                        last = n.parse().unwrap();
                    }
                }
                (p, last)
            })
        })
        .collect();
    for r in readers {
        let (p, last) = r.join().unwrap();
        assert!(last > 0 && last < 100_000, "process {p}: {last}");
        acked.insert(p.to_string(), last);
    }
    // Every acknowledged entry is there, each process's in order; whole batches only.
    let entries = exported_entries(&url, &tmp.path().join("copy"));
    let mut per: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (p, n) in entries {
        per.entry(p).or_default().push(n);
    }
    for (p, last) in &acked {
        let got = per.get(p).cloned().unwrap_or_default();
        assert!(
            got.len() as u64 >= *last,
            "process {p}: {} < {last}",
            got.len()
        );
        assert_eq!(
            got,
            (0..got.len() as u64).collect::<Vec<_>>(),
            "process {p}"
        );
        assert_eq!(got.len() % 50, 0, "process {p}: a batch was half applied");
    }
    ok(&url, &["audit", "checkpoint"]);
    verify(&url, &vkey);
    // The log takes appends again at once.
    ok(&url, &["audit", "append", "--event", "after.kill"]);
}

#[test]
fn a_backend_killed_mid_batch_is_exit_3_and_nothing_half_applied() {
    let Some(schema) = TestSchema::create("cli_audit_restart") else {
        return;
    };
    let (url, vkey) = log_in(&schema, "audit");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("in.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    for n in 0..60_000 {
        writeln!(
            f,
            r#"{{"event":"bulk.event","attrs":{{"p":"0","n":"{n}"}}}}"#
        )
        .unwrap();
    }
    drop(f);
    let admin = trust_postgres::Database::connect(
        trust_postgres::ConnectOptions::parse(
            &trust_core::store_url::StoreUrl::parse(
                &std::env::var("TRUST_TEST_POSTGRES_URL").unwrap(),
            )
            .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let name = schema.name().to_owned();
    let mut caught = None;
    for _ in 0..5 {
        let child = cmd(
            &url,
            &[
                "audit",
                "import",
                "--json",
                "--batch",
                "60000",
                file.to_str().unwrap(),
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        let child = std::sync::Arc::new(std::sync::Mutex::new(Some(child)));
        let mut hit = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while hit == 0 && std::time::Instant::now() < deadline {
            if child
                .lock()
                .unwrap()
                .as_mut()
                .unwrap()
                .try_wait()
                .unwrap()
                .is_some()
            {
                break;
            }
            hit = admin
                .transaction(|tx| {
                    Ok(tx
                        .query(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE application_name = $1 AND state = 'active' \
                             AND query LIKE 'WITH%INSERT INTO trust_audit_leaves%'",
                            &[&name],
                        )
                        .map_err(|e| admin.error(&e))?
                        .len())
                })
                .unwrap();
        }
        let out = child
            .lock()
            .unwrap()
            .take()
            .unwrap()
            .wait_with_output()
            .unwrap();
        if hit > 0 {
            caught = Some(out);
            break;
        }
    }
    let out = caught.expect("the watcher never caught the batch's INSERT");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["code"], "STORE_CONNECTION_LOST", "{v}");
    assert!(!text(&out).contains(":trust@"), "{}", text(&out));
    // Nothing of the batch is there; the next call reconnects and appends at index 0.
    let v = ok(&url, &["audit", "append", "--event", "after.restart"]);
    assert_eq!(v["index"], 0);
    ok(&url, &["audit", "checkpoint"]);
    assert_eq!(verify(&url, &vkey)["entries"], 1);
}

#[test]
fn an_edited_row_fails_verify_with_exit_1() {
    let Some(schema) = TestSchema::create("cli_audit_edit") else {
        return;
    };
    let (url, vkey) = log_in(&schema, "audit");
    for i in 0..5 {
        ok(
            &url,
            &[
                "audit",
                "append",
                "--event",
                "test.edit",
                "--attr",
                &format!("n={i}"),
            ],
        );
    }
    ok(&url, &["audit", "checkpoint"]);
    verify(&url, &vkey);
    // An entry rewritten (hash recomputed to match): the chain and the signed root give it away.
    schema.execute(
        "UPDATE trust_audit_leaves SET leaf = overlay(leaf placing '\\x39'::bytea from length(leaf) for 1), \
         hash = sha256('\\x00'::bytea || overlay(leaf placing '\\x39'::bytea from length(leaf) for 1)) \
         WHERE idx = 2",
    );
    let v = fails(
        &url,
        &["audit", "verify", "--vkey", &vkey],
        1,
        "CHAIN_BREAK",
    );
    assert_eq!(v["first_bad_index"], 2);
}

#[test]
fn audit_log_urls_for_other_commands_and_every_error() {
    let Some(schema) = TestSchema::create("cli_audit_errors") else {
        return;
    };
    let (url, vkey) = log_in(&schema, "ops");
    // --audit-log (TRUST_AUDIT_LOG) of other commands: key changes are recorded in the database log.
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap();
    let key = home.path().join("root.key");
    let out = run(
        &url,
        &[
            "--home",
            h,
            "init",
            "--root-key-file",
            key.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(
        &url,
        &[
            "--home",
            h,
            "--actor",
            "ops@example.com",
            "keys",
            "create",
            "orders",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = ok(&url, &["audit", "show", "--actor", "ops@example.com"]);
    assert!(v["count"].as_u64().unwrap() >= 1, "{v}");
    verify(&url, &vkey);
    // Errors, each with its exit code; no password anywhere.
    let secret = "Sekr3t-pw-9";
    let cases: [(&str, i32, &str); 4] = [
        (
            "mysql://u:Sekr3t-pw-9@127.0.0.1/x",
            2,
            "STORE_URL_UNSUPPORTED",
        ),
        (
            "redis://u:Sekr3t-pw-9@127.0.0.1/",
            2,
            "STORE_URL_UNSUPPORTED",
        ),
        (
            "postgres://u:Sekr3t-pw-9@127.0.0.1:1/x?connect_timeout=2",
            3,
            "STORE_UNREACHABLE",
        ),
        (
            "postgres://u:Sekr3t-pw-9@127.0.0.1/x?log=Bad%20Name",
            2,
            "STORE_CONFIG",
        ),
    ];
    for (bad, exit, code) in cases {
        let v = fails(bad, &["audit", "append", "--event", "a.b"], exit, code);
        assert!(!v.to_string().contains(secret), "{v}");
    }
    let missing = format!("{}&log=missing", schema.url());
    fails(
        &missing,
        &["audit", "append", "--event", "a.b"],
        3,
        "NOT_AN_AUDIT_LOG",
    );
    fails(
        &missing,
        &["audit", "verify", "--vkey", &vkey],
        3,
        "NOT_AN_AUDIT_LOG",
    );
    fails(
        &missing,
        &["audit", "export", "--to", "never"],
        3,
        "NOT_AN_AUDIT_LOG",
    );
    fails(
        &url,
        &["audit", "init", "--origin", "example.com/audit/again"],
        2,
        "AUDIT_LOG_EXISTS",
    );
    // A directory whose name looks like a URL is never taken for a relative path by accident.
    fails(
        "postgres:/not-a-url",
        &["audit", "append", "--event", "a.b"],
        3,
        "NOT_AN_AUDIT_LOG",
    );
}

#[test]
fn checkpoints_of_a_database_log_are_signed_in_the_hsm() {
    let Some(schema) = TestSchema::create("cli_audit_hsm") else {
        return;
    };
    let Ok(module) = std::env::var("TRUST_TEST_PKCS11_MODULE") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "TRUST_TEST_PKCS11_MODULE is unset under CI=true (source .ci/softhsm)"
        );
        eprintln!("skipping: TRUST_TEST_PKCS11_MODULE is unset (source .ci/softhsm)");
        return;
    };
    let pin = std::env::var("TRUST_TEST_PKCS11_PIN").unwrap_or_else(|_| "1234".into());
    let token = std::env::var("TRUST_TEST_PKCS11_TOKEN").unwrap_or_else(|_| "trust-ci".into());
    let uri = format!(
        "pkcs11:token={token};object=pg-{}?module-path={module}",
        schema.name()
    );
    let url = format!("{}&log=hsm", schema.url());
    let with_pin = |args: &[&str]| {
        let mut a = args.to_vec();
        a.push("--json");
        let out = cmd(&url, &a)
            .env("TRUST_PKCS11_PIN", &pin)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["data"].clone()
    };
    let v = with_pin(&[
        "audit",
        "init",
        "--origin",
        "example.com/audit/hsm",
        "--signing-pkcs11",
        &uri,
    ]);
    let vkey = v["vkey"].as_str().unwrap().to_owned();
    // No signing key reaches the database.
    let keys: Option<String> = {
        let db = schema.open();
        db.transaction(|tx| {
            Ok(tx
                .query_one("SELECT signing_key FROM trust_audit_keys", &[])
                .map_err(|e| db.error(&e))?
                .get(0))
        })
        .unwrap()
    };
    assert_eq!(keys, None);
    with_pin(&["audit", "append", "--event", "key.rotate"]);
    let note = with_pin(&["audit", "checkpoint"]);
    assert!(
        note["note"]
            .as_str()
            .unwrap()
            .contains("example.com/audit/hsm")
    );
    assert_eq!(verify(&url, &vkey)["latest_checkpoint"]["size"], 1);
    // Without the PIN the key cannot be opened: exit 2 (PKCS11_NO_PIN), nothing appended.
    let out = cmd(&url, &["audit", "append", "--json", "--event", "a.b"])
        .env_remove("TRUST_PKCS11_PIN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("PKCS11_NO_PIN"), "{}", text(&out));
    assert_eq!(verify(&url, &vkey)["entries"], 1);
}
