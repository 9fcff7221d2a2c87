//! CLI tests of `trust secrets …`: every exit code each command can give.

use std::path::PathBuf;

use super::harness::{Env, expect, json, stdout};

const TOKEN: &[u8] = b"shpat_0123456789abcdef0123456789ab";

#[test]
fn put_get_round_trip_and_json() {
    let env = Env::new();
    let value = env.write("token", TOKEN);
    let out = env.run(&["secrets", "put", "acme/shopify", "-i", &value], None);
    expect(&out, 0);
    assert!(stdout(&out).contains("version 1"));
    // Value from stdin; a new version.
    let out = env.run(
        &["--json", "secrets", "put", "acme/shopify", "-i", "-"],
        Some(b"second-value"),
    );
    expect(&out, 0);
    assert_eq!(json(&out)["data"]["version"], 2);
    let out = env.run(
        &["secrets", "get", "acme/shopify", "--purpose", "order sync"],
        None,
    );
    expect(&out, 0);
    assert_eq!(out.stdout, b"second-value", "the value exactly, no newline");
    let out = env.run(
        &[
            "secrets",
            "get",
            "acme/shopify",
            "--purpose",
            "audit",
            "--version",
            "1",
        ],
        None,
    );
    expect(&out, 0);
    assert_eq!(out.stdout, TOKEN);
    let out = env.run(
        &["--json", "secrets", "get", "acme/shopify", "--purpose", "x"],
        None,
    );
    expect(&out, 0);
    let doc = json(&out);
    assert_eq!(doc["data"]["value"], "second-value");
    assert_eq!(doc["data"]["version"], 2);
    // Nothing on disk holds the value.
    let record = std::fs::read_to_string(env.path("home/vault/acme/shopify.json")).unwrap();
    assert!(!record.contains("shpat_") && !record.contains("second-value"));
}

#[test]
fn get_exit_codes() {
    let env = Env::new();
    let value = env.write("token", TOKEN);
    expect(
        &env.run(&["secrets", "put", "acme/shopify", "-i", &value], None),
        0,
    );
    // 5: not a reader.
    let out = env.run_as(
        Some("intern"),
        &["--json", "secrets", "get", "acme/shopify", "--purpose", "x"],
        None,
    );
    expect(&out, 5);
    assert_eq!(json(&out)["code"], "SECRET_NOT_READER");
    assert!(!stdout(&out).contains("shpat_"));
    // 4: absent.
    let out = env.run(
        &["--json", "secrets", "get", "acme/nothing", "--purpose", "x"],
        None,
    );
    expect(&out, 4);
    assert_eq!(json(&out)["code"], "SECRET_NOT_FOUND");
    // 4: an unknown version.
    expect(
        &env.run(
            &[
                "secrets",
                "get",
                "acme/shopify",
                "--purpose",
                "x",
                "--version",
                "9",
            ],
            None,
        ),
        4,
    );
    // 2: no purpose, an empty purpose, a bad name, no actor.
    expect(&env.run(&["secrets", "get", "acme/shopify"], None), 2);
    expect(
        &env.run(&["secrets", "get", "acme/shopify", "--purpose", " "], None),
        2,
    );
    expect(
        &env.run(&["secrets", "get", "ACME", "--purpose", "x"], None),
        2,
    );
    expect(
        &env.run_as(
            None,
            &["secrets", "get", "acme/shopify", "--purpose", "x"],
            None,
        ),
        2,
    );
    // 1: a tampered record (a sealed value moved from another secret).
    expect(
        &env.run(&["secrets", "put", "acme/other", "-i", &value], None),
        0,
    );
    let other = std::fs::read_to_string(env.path("home/vault/acme/other.json")).unwrap();
    let other: serde_json::Value = serde_json::from_str(&other).unwrap();
    let path = env.path("home/vault/acme/shopify.json");
    let mut mine: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    mine["versions"][0]["value"] = other["versions"][0]["value"].clone();
    std::fs::write(&path, serde_json::to_vec(&mine).unwrap()).unwrap();
    let out = env.run(
        &["--json", "secrets", "get", "acme/shopify", "--purpose", "x"],
        None,
    );
    expect(&out, 1);
    // 4: deleted.
    expect(
        &env.run(&["secrets", "delete", "acme/other", "--yes"], None),
        0,
    );
    let out = env.run(
        &["--json", "secrets", "get", "acme/other", "--purpose", "x"],
        None,
    );
    expect(&out, 4);
    assert_eq!(json(&out)["code"], "SECRET_DELETED");
}

#[test]
fn put_readers_expiry_and_exit_codes() {
    let env = Env::new();
    let value = env.write("token", TOKEN);
    let out = env.run(
        &[
            "secrets",
            "put",
            "acme/hubspot",
            "--readers",
            "ops,sync-worker",
            "--expires",
            "2030-01-01T00:00:00Z",
            "--kind",
            "oauth",
            "--scopes",
            "crm.read",
            "-i",
            &value,
        ],
        None,
    );
    expect(&out, 0);
    let out = env.run_as(
        Some("sync-worker"),
        &["secrets", "get", "acme/hubspot", "--purpose", "sync"],
        None,
    );
    expect(&out, 0);
    // 5: a non-reader may not replace the value.
    expect(
        &env.run_as(
            Some("intern"),
            &["secrets", "put", "acme/hubspot", "-i", &value],
            None,
        ),
        5,
    );
    // 2: bad expiry, bad name, bad reader, no actor, value on argv is impossible (-i required).
    expect(
        &env.run(
            &[
                "secrets",
                "put",
                "acme/x",
                "--expires",
                "tomorrow",
                "-i",
                &value,
            ],
            None,
        ),
        2,
    );
    expect(&env.run(&["secrets", "put", "acme", "-i", &value], None), 2);
    expect(
        &env.run(
            &["secrets", "put", "acme/x", "--readers", "a b", "-i", &value],
            None,
        ),
        2,
    );
    expect(
        &env.run_as(None, &["secrets", "put", "acme/x", "-i", &value], None),
        2,
    );
    expect(&env.run(&["secrets", "put", "acme/x"], None), 2);
    // 2: an empty value.
    let empty = env.write("empty", b"");
    expect(
        &env.run(&["secrets", "put", "acme/x", "-i", &empty], None),
        2,
    );
    // 3: the value file is missing.
    let out = env.run(
        &[
            "--json",
            "secrets",
            "put",
            "acme/x",
            "-i",
            "/nonexistent/token",
        ],
        None,
    );
    expect(&out, 3);
    assert_eq!(json(&out)["ok"], false);
    // list shows metadata, never values.
    let out = env.run(&["--json", "secrets", "list"], None);
    expect(&out, 0);
    let doc = json(&out);
    let item = &doc["data"]["secrets"][0];
    assert_eq!(item["name"], "acme/hubspot");
    assert_eq!(item["kind"], "oauth");
    assert_eq!(item["readers"], serde_json::json!(["ops", "sync-worker"]));
    assert_eq!(item["expires"], "2030-01-01T00:00:00Z");
    assert!(!stdout(&out).contains("shpat_"));
    let out = env.run(&["secrets", "list", "--tenant", "acme"], None);
    expect(&out, 0);
    assert!(stdout(&out).contains("acme/hubspot  oauth  v1"));
    expect(
        &env.run(&["secrets", "list", "--tenant", "../etc"], None),
        2,
    );
}

#[test]
fn rotate_and_delete_exit_codes() {
    let env = Env::new();
    let value = env.write("token", TOKEN);
    let next = env.write("next", b"shpat_next_value_0000000000000000");
    // 4: rotating an absent secret.
    expect(
        &env.run(&["secrets", "rotate", "acme/shopify", "-i", &next], None),
        4,
    );
    expect(
        &env.run(&["secrets", "put", "acme/shopify", "-i", &value], None),
        0,
    );
    let out = env.run(
        &["--json", "secrets", "rotate", "acme/shopify", "-i", &next],
        None,
    );
    expect(&out, 0);
    assert_eq!(json(&out)["data"]["version"], 2);
    expect(
        &env.run_as(
            Some("intern"),
            &["secrets", "rotate", "acme/shopify", "-i", &next],
            None,
        ),
        5,
    );
    expect(
        &env.run(
            &["secrets", "rotate", "acme/shopify", "-i", "/nonexistent"],
            None,
        ),
        3,
    );
    // 5: delete without --yes off a terminal.
    let out = env.run(&["--json", "secrets", "delete", "acme/shopify"], None);
    expect(&out, 5);
    assert_eq!(json(&out)["code"], "REFUSED");
    let out = env.run(
        &["--json", "secrets", "delete", "acme/shopify", "--yes"],
        None,
    );
    expect(&out, 0);
    assert_eq!(json(&out)["data"]["deleted"], true);
    // 4: already deleted, or never there.
    expect(
        &env.run(&["secrets", "delete", "acme/shopify", "--yes"], None),
        4,
    );
    expect(
        &env.run(&["secrets", "delete", "acme/never", "--yes"], None),
        4,
    );
    expect(
        &env.run(&["secrets", "rotate", "acme/shopify", "-i", &next], None),
        4,
    );
    let out = env.run(&["secrets", "list"], None);
    assert!(stdout(&out).contains("acme/shopify  deleted"));
}

#[test]
fn reads_and_refusals_are_audited() {
    let env = Env::new();
    let log = env.path("audit");
    let log_s = log.to_str().unwrap();
    let out = env.run(
        &[
            "--json",
            "audit",
            "init",
            "--log",
            log_s,
            "--origin",
            "ops.example/audit",
        ],
        None,
    );
    expect(&out, 0);
    let vkey = json(&out)["data"]["vkey"].as_str().unwrap().to_owned();
    let value = env.write("token", TOKEN);
    expect(
        &env.run(
            &[
                "--audit-log",
                log_s,
                "secrets",
                "put",
                "acme/shopify",
                "-i",
                &value,
            ],
            None,
        ),
        0,
    );
    expect(
        &env.run(
            &[
                "--audit-log",
                log_s,
                "secrets",
                "get",
                "acme/shopify",
                "--purpose",
                "nightly sync",
            ],
            None,
        ),
        0,
    );
    expect(
        &env.run_as(
            Some("intern"),
            &[
                "--audit-log",
                log_s,
                "secrets",
                "get",
                "acme/shopify",
                "--purpose",
                "curious",
            ],
            None,
        ),
        5,
    );
    let out = env.run(
        &["--json", "audit", "verify", "--log", log_s, "--vkey", &vkey],
        None,
    );
    expect(&out, 0);
    // key.create (the vault keyring), vault.put, vault.read, vault.read_refused.
    assert_eq!(json(&out)["data"]["entries"], 4, "{}", stdout(&out));
    let mut all = Vec::new();
    for entry in walk(&log) {
        all.extend(std::fs::read(entry).unwrap());
    }
    let text = String::from_utf8_lossy(&all);
    assert!(
        !text.contains("shpat_"),
        "the audit log must not hold the value"
    );
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
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

#[test]
fn every_command_has_help_with_an_example() {
    let env = Env::new();
    for sub in ["put", "get", "list", "rotate", "delete"] {
        let out = env.run(&["secrets", sub, "--help"], None);
        expect(&out, 0);
        assert!(stdout(&out).contains("Example: "), "{sub}");
    }
}
