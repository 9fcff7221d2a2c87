//! CLI tests of the rules every command shares: one JSON object with `--json`, quiet ends on a
//! closed pipe, the exit-code table, the one time format.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::harness;

fn trust(home: &Path) -> Command {
    let mut c = harness::trust();
    c.arg("--home").arg(home);
    c
}

fn run_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    harness::run(cmd, Some(input))
}

/// Runs with stdout a pipe whose reader is already gone: every write fails with EPIPE.
fn run_into_closed_pipe(cmd: &mut Command, input: &[u8]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The child may exit before reading stdin; that is fine.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

/// Exactly one JSON value on stdout, an object; returns it.
fn one_object(out: &Output, what: &str) -> serde_json::Value {
    let mut docs =
        serde_json::Deserializer::from_slice(&out.stdout).into_iter::<serde_json::Value>();
    let doc = docs
        .next()
        .unwrap_or_else(|| panic!("{what}: no JSON on stdout"))
        .unwrap_or_else(|e| panic!("{what}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert!(docs.next().is_none(), "{what}: more than one JSON value");
    assert!(doc.is_object(), "{what}: not an object");
    doc
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let cases: [(&[&str], &[u8]); 4] = [
        (&["completions", "bash"], b""),
        (&["man"], b""),
        (
            &["redact"],
            b"a log line with sk_live_0123456789abcdefghijklmn\n",
        ),
        (&["--json", "completions", "zsh"], b""),
    ];
    for (args, input) in cases {
        let out = run_into_closed_pipe(trust(&home).args(args), input);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} printed: {stderr}");
    }
}

#[test]
fn json_gives_exactly_one_object() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let out = trust(&home)
        .args(["--json", "completions", "bash"])
        .output()
        .unwrap();
    let doc = one_object(&out, "completions");
    assert!(doc["data"]["script"].as_str().unwrap().contains("_trust"));
    let out = trust(&home).args(["--json", "man"]).output().unwrap();
    let doc = one_object(&out, "man");
    assert!(
        doc["data"]["roff"]
            .as_str()
            .unwrap()
            .contains(".TH trust 1")
    );
    let out = run_stdin(
        trust(&home).args(["--json", "redact"]),
        b"token=shpat_0123456789abcdef0123456789abcdef ok\n",
    );
    let doc = one_object(&out, "redact");
    let text = doc["data"]["text"].as_str().unwrap();
    assert!(
        text.ends_with(" ok\n") && !text.contains("shpat_0123"),
        "{text}"
    );
    // Failures too (exit 3: the home does not exist).
    let out = trust(&home)
        .args(["--json", "keys", "list"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(one_object(&out, "keys list")["ok"], false);
}

#[test]
fn exit_code_5_means_not_confirmed_or_not_permitted() {
    let dir = tempfile::tempdir().unwrap();
    let out = trust(dir.path()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("5   refused: not confirmed or not permitted"),
        "{help}"
    );
    assert!(help.contains("access denied"), "{help}");
}

#[test]
fn short_new_passphrase_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "eleven char\n").unwrap();
    let out = trust(&home)
        .args(["--json", "init", "--passphrase-file"])
        .arg(&pass)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(one_object(&out, "init")["code"], "PASSPHRASE_TOO_SHORT");
    assert!(!home.join("home.json").exists());
    std::fs::write(&pass, "twelve chars\n").unwrap();
    let out = trust(&home)
        .args(["init", "--passphrase-file"])
        .arg(&pass)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(unix)]
#[test]
fn an_exposed_root_key_file_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let key = dir.path().join("root.key");
    let out = trust(&home)
        .args(["init", "--root-key-file"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = || {
        trust(&home)
            .args(["--json", "keys", "list"])
            .output()
            .unwrap()
    };
    assert!(list().stderr.is_empty());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = list();
    assert!(out.status.success());
    one_object(&out, "keys list");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("warning: the root key file") && stderr.contains("644"),
        "{stderr}"
    );
}

/// Names of this crate's temporary files (and of the earlier versions') in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".trust-tmp-") || n.contains(".tmp-"))
        .collect()
}

/// `kill -9` at arbitrary points of keyring writes: afterwards the keyring opens, and the
/// next write leaves no temporary file — so no stale revision (wrapped keys included) can
/// outlive a later destroy. The assertions hold wherever the kill lands.
#[cfg(unix)]
#[test]
fn kill_9_during_keyring_writes_leaves_no_revision_behind() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let key = dir.path().join("root.key");
    let ok = |args: &[&str]| {
        let out = trust(&home).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&["init", "--root-key-file", key.to_str().unwrap()]);
    ok(&["keys", "create", "orders"]);
    let keyrings = home.join("keyrings");
    for round in 0..24u64 {
        let mut child = trust(&home)
            .args(["keys", "rotate", "orders", "--promote"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(round * 700));
        let _ = child.kill();
        let _ = child.wait();
        ok(&["keys", "list", "orders"]);
    }
    // A writer killed between naming its file and renaming it (the only moment a name
    // exists) leaves what this simulates; the next write of the keyring sweeps it.
    std::fs::copy(
        keyrings.join("orders.json"),
        keyrings.join(".orders.json.trust-tmp-00112233aabbccdd"),
    )
    .unwrap();
    ok(&["keys", "rotate", "orders", "--promote"]);
    assert_eq!(temporaries(&keyrings), Vec::<String>::new());
    // Opening the home sweeps too, for keyrings that are not written again.
    std::fs::copy(
        keyrings.join("orders.json"),
        keyrings.join(".other.json.trust-tmp-00112233aabbccdd"),
    )
    .unwrap();
    ok(&["keys", "list"]);
    assert_eq!(temporaries(&keyrings), Vec::<String>::new());
}

/// Audit metadata temporaries (tree.head) no longer pile up: each write sweeps the leftovers
/// of dead writers.
#[test]
fn tree_head_leftovers_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let run = |args: &[&str]| {
        let out = trust(dir.path())
            .args(args)
            .arg("--log")
            .arg(&log)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["audit", "init", "--origin", "example.com/audit"]);
    for i in 0..3 {
        std::fs::write(
            log.join(format!(".tree.head.tmp-00112233aabbcc0{i}")),
            b"7\n",
        )
        .unwrap();
    }
    run(&["audit", "append", "--event", "key.rotate"]);
    assert_eq!(temporaries(&log), Vec::<String>::new());
}

#[test]
fn webhook_sign_and_verify_help_list_only_their_own_options() {
    let dir = tempfile::tempdir().unwrap();
    let help = |sub: &str| {
        let out = trust(dir.path())
            .args(["webhook", sub, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let sign = help("sign");
    for verify_only in ["--tolerance", "--lenient", "--header <"] {
        assert!(
            !sign.contains(verify_only),
            "sign --help lists {verify_only}"
        );
    }
    assert!(sign.contains("--id <ID>") && sign.contains("--shop <DOMAIN>"));
    let verify = help("verify");
    for sign_only in ["--id <", "--shop <"] {
        assert!(
            !verify.contains(sign_only),
            "verify --help lists {sign_only}"
        );
    }
    assert!(verify.contains("--tolerance") && verify.contains("--header <"));
}

/// Hints name `--help` pages and man pages, which an installed user has; `trust man --dir`
/// writes every page the others refer to.
#[test]
fn man_writes_every_page_it_refers_to() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    std::fs::create_dir(&pages).unwrap();
    let out = trust(dir.path())
        .args(["--json", "man", "--dir"])
        .arg(&pages)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let written = one_object(&out, "man --dir")["data"]["pages"]
        .as_array()
        .unwrap()
        .len();
    let mut referenced = Vec::new();
    for entry in std::fs::read_dir(&pages).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        // clap_mangen refers to other pages as `trust\-keys(1)`.
        for (i, _) in text.match_indices("(1)") {
            let start = text[..i]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '\\'))
                .map_or(0, |p| p + 1);
            let name = text[start..i].replace('\\', "");
            if name.starts_with("trust") {
                referenced.push(name);
            }
        }
    }
    assert!(referenced.len() > 10, "{referenced:?}");
    for name in referenced {
        assert!(
            pages.join(format!("{name}.1")).is_file(),
            "{name}(1) is referenced but not written"
        );
    }
    assert_eq!(std::fs::read_dir(&pages).unwrap().count(), written);
    // The pages error hints send operators to hold what the hints promise.
    let keys = std::fs::read_to_string(pages.join("trust-keys.1")).unwrap();
    assert!(keys.contains("pending\\-destroy"), "state diagram missing");
    let verify = std::fs::read_to_string(pages.join("trust-audit-verify.1")).unwrap();
    assert!(verify.contains("CHAIN_BREAK"));
}

/// A home that cannot be created where asked (its parent is a file) is the caller's input
/// problem: exit 3, not an internal error.
#[test]
fn unwritable_home_is_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out = trust(&file.join("home"))
        .args(["--json", "init", "--root-key-file"])
        .arg(dir.path().join("root.key"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(one_object(&out, "init")["code"], "OUTPUT_UNWRITABLE");
}

/// One time format in output: RFC 3339, UTC, whole seconds (`2026-01-31T09:00:00Z`).
#[test]
fn times_print_as_rfc3339_utc_whole_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let ok = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = trust(&home).args(&all).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        one_object(&out, args[0])
    };
    let key = dir.path().join("root.key");
    ok(&["init", "--root-key-file", key.to_str().unwrap()]);
    ok(&["keys", "create", "customers"]);
    let doc = ok(&[
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
    ]);
    let received = doc["data"]["received_at"].as_str().unwrap();
    let shape = |s: &str| {
        s.len() == 20
            && s.ends_with('Z')
            && s.as_bytes()[10] == b'T'
            && s.parse::<jiff::Timestamp>().is_ok()
    };
    assert!(shape(received), "{received}");
    let doc = ok(&[
        "token",
        "issue",
        "--key",
        "customers",
        "--tenant",
        "acme",
        "--scope",
        "a:b",
        "--ttl",
        "15m",
    ]);
    let expires = doc["data"]["expires_at"].as_str().unwrap();
    assert!(shape(expires), "{expires}");
    // Human output too: `keys list` shows creation times in the same shape.
    let out = trust(&home).args(["keys", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.split_whitespace().any(shape),
        "no RFC 3339 time in: {text}"
    );
}

/// A usage error's JSON message says what is missing, not just that something is.
#[test]
fn json_usage_errors_name_the_missing_argument() {
    let dir = tempfile::tempdir().unwrap();
    let out = trust(dir.path())
        .args(["--json", "token", "issue", "--key", "k"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc = one_object(&out, "token issue");
    let message = doc["message"].as_str().unwrap();
    assert!(message.contains("--tenant"), "{message}");
}
