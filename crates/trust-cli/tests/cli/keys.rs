//! CLI tests of `trust init` and `trust keys …`: every exit code of the keyring contract.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use super::harness;

/// The shared harness's home, with the checks the keys tests repeat.
struct Env {
    h: harness::Env,
}

harness::wraps_env!(Env);

impl Env {
    /// A fresh home protected by a root key file.
    fn new() -> Self {
        let env = Self::bare();
        let key = env.path("root.key");
        env.ok(&["init", "--root-key-file", key.to_str().unwrap()]);
        env
    }

    fn bare() -> Self {
        Self {
            h: harness::Env::bare(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        harness::run(&mut self.cmd(args), None)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs with `--json`, expects exit `code`, returns the JSON document.
    fn json(&self, args: &[&str], code: i32) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn keyring_file(&self, name: &str) -> PathBuf {
        self.home().join("keyrings").join(format!("{name}.json"))
    }

    fn states(&self, name: &str) -> Vec<(u64, String)> {
        let doc = self.json(&["keys", "list", name], 0);
        doc["data"]["keyrings"][0]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["version"].as_u64().unwrap(),
                    v["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

fn code_of(doc: &serde_json::Value) -> &str {
    doc["code"].as_str().unwrap_or("")
}

#[cfg(unix)]
#[test]
fn init_creates_a_private_key_file_once() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let key = env.path("root.key");
    let meta = std::fs::metadata(&key).unwrap();
    assert_eq!(meta.len(), 32);
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    // A second init of the same home is refused (exit 2); the key file is reused, not replaced.
    let before = std::fs::read(&key).unwrap();
    let doc = env.json(&["init", "--root-key-file", key.to_str().unwrap()], 2);
    assert_eq!(code_of(&doc), "HOME_EXISTS");
    assert_eq!(std::fs::read(&key).unwrap(), before);
}

#[test]
fn init_uses_an_existing_key_file() {
    let env = Env::bare();
    let key = env.path("k");
    std::fs::write(&key, [7u8; 32]).unwrap();
    env.ok(&["init", "--root-key-file", key.to_str().unwrap()]);
    assert_eq!(std::fs::read(&key).unwrap(), [7u8; 32]);
    // A key file of the wrong length is an input error (3).
    let env2 = Env::bare();
    let short = env2.path("short");
    std::fs::write(&short, [7u8; 31]).unwrap();
    let doc = env2.json(&["init", "--root-key-file", short.to_str().unwrap()], 3);
    assert_eq!(code_of(&doc), "ROOT_KEY_FILE_INVALID");
}

#[test]
fn init_without_a_source_off_a_terminal_is_a_usage_error() {
    let env = Env::bare();
    let doc = env.json(&["init"], 2);
    assert_eq!(code_of(&doc), "USAGE");
    assert!(!env.home().join("home.json").exists());
}

/// Wrong passphrase: exit 4 (the root key is unavailable to this caller), code
/// WRONG_PASSPHRASE — distinct from tampering (1), documented in docs/operator-guide.md.
#[test]
fn passphrase_home_and_wrong_passphrase() {
    let env = Env::bare();
    let pass = env.path("pass");
    std::fs::write(&pass, "correct horse battery staple\n").unwrap();
    env.ok(&["init", "--passphrase-file", pass.to_str().unwrap()]);
    let with_file = ["--passphrase-file", pass.to_str().unwrap()];
    let mut args = vec!["keys", "create", "orders"];
    args.extend_from_slice(&with_file);
    env.ok(&args);

    let out = env
        .cmd(&[
            "--json",
            "keys",
            "list",
            "--passphrase-env",
            "TRUST_TEST_PASS",
        ])
        .env("TRUST_TEST_PASS", "correct horse battery staple")
        .output()
        .unwrap();
    assert!(out.status.success());

    let out = env
        .cmd(&[
            "--json",
            "keys",
            "list",
            "--passphrase-env",
            "TRUST_TEST_PASS",
        ])
        .env("TRUST_TEST_PASS", "wrong horse")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(code_of(&doc), "WRONG_PASSPHRASE");

    // No passphrase at all, off a terminal: usage error.
    assert_eq!(env.json(&["keys", "list"], 2)["code"], "USAGE");
}

#[test]
fn create_validates_suite_and_name() {
    let env = Env::new();
    assert_eq!(
        env.run(&["keys", "create", "a", "--suite", "aes-128-gcm"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        code_of(&env.json(&["keys", "create", "Bad/Name"], 2)),
        "INVALID_KEYRING_NAME"
    );
    env.ok(&["keys", "create", "x", "--suite", "xchacha20-poly1305"]);
    assert_eq!(
        code_of(&env.json(&["keys", "create", "x"], 2)),
        "KEYRING_EXISTS"
    );
    let doc = env.json(&["keys", "list", "x"], 0);
    assert_eq!(doc["data"]["keyrings"][0]["suite"], "xchacha20-poly1305");
}

#[test]
fn missing_home_and_unknown_keyring() {
    let env = Env::bare();
    assert_eq!(
        code_of(&env.json(&["keys", "list"], 2)),
        "HOME_NOT_INITIALIZED"
    );
    let env = Env::new();
    assert_eq!(
        code_of(&env.json(&["keys", "list", "nope"], 4)),
        "UNKNOWN_KEYRING"
    );
    assert_eq!(
        code_of(&env.json(&["keys", "rotate", "nope"], 4)),
        "UNKNOWN_KEYRING"
    );
}

#[test]
fn list_never_shows_key_material() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    env.ok(&["keys", "rotate", "orders"]);
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.keyring_file("orders")).unwrap()).unwrap();
    let json = env.ok(&["--json", "keys", "list"]);
    let human = env.ok(&["keys", "list"]);
    for v in file["keyring"]["versions"].as_array().unwrap() {
        let material = v["material"].as_str().unwrap();
        assert!(!json.contains(&material[..16]));
        assert!(!human.contains(&material[..16]));
    }
    assert!(!json.contains("material"));
}

#[test]
fn rotation_life_cycle_and_refused_transitions() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    env.ok(&["keys", "rotate", "orders"]);
    assert_eq!(
        env.states("orders"),
        [(1, "primary".into()), (2, "staged".into())]
    );
    // Only a Staged version can be promoted, only a decrypt-only one retired.
    assert_eq!(
        code_of(&env.json(&["keys", "promote", "orders", "1"], 2)),
        "INVALID_TRANSITION"
    );
    assert_eq!(
        code_of(&env.json(&["keys", "retire", "orders", "1"], 2)),
        "INVALID_TRANSITION"
    );
    env.ok(&["keys", "promote", "orders", "2"]);
    assert_eq!(
        env.states("orders"),
        [(1, "decrypt-only".into()), (2, "primary".into())]
    );
    env.ok(&["keys", "retire", "orders", "1"]);
    env.ok(&["keys", "enable", "orders", "1"]);
    env.ok(&["keys", "retire", "orders", "1"]);
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    assert_eq!(
        env.states("orders"),
        [
            (1, "disabled".into()),
            (2, "decrypt-only".into()),
            (3, "primary".into())
        ]
    );
    assert_eq!(
        code_of(&env.json(&["keys", "promote", "orders", "9"], 4)),
        "UNKNOWN_KEY_VERSION"
    );
}

#[test]
fn staging_time_is_enforced() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders", "--min-stage-secs", "3600"]);
    env.ok(&["keys", "rotate", "orders"]);
    assert_eq!(
        code_of(&env.json(&["keys", "promote", "orders", "2"], 2)),
        "STAGING_TOO_SHORT"
    );
    // rotate --promote honours the same staging time (2), and adds nothing.
    assert_eq!(
        code_of(&env.json(&["keys", "rotate", "orders", "--promote"], 2)),
        "STAGING_TOO_SHORT"
    );
    assert_eq!(env.states("orders").len(), 2);
}

#[test]
fn destroy_needs_yes_and_force_for_used_versions() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    // Seal one message under v1 so it has live ciphertexts.
    let plain = env.path("p");
    std::fs::write(&plain, b"x").unwrap();
    let sealed = env.path("c");
    env.ok(&[
        "encrypt",
        "--key",
        "orders",
        "-i",
        plain.to_str().unwrap(),
        "-o",
        sealed.to_str().unwrap(),
    ]);
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    // Destroying a decrypt-only version: retire first (2).
    assert_eq!(
        code_of(&env.json(&["keys", "destroy", "orders", "1", "--yes"], 2)),
        "INVALID_TRANSITION"
    );
    env.ok(&["keys", "retire", "orders", "1"]);
    // Live ciphertexts, no --force: refused (5), nothing changed.
    assert_eq!(
        code_of(&env.json(&["keys", "destroy", "orders", "1", "--yes"], 5)),
        "KEY_STILL_IN_USE"
    );
    // --force without --yes off a terminal: refused (5), nothing changed.
    assert_eq!(
        code_of(&env.json(&["keys", "destroy", "orders", "1", "--force"], 5)),
        "REFUSED"
    );
    assert_eq!(env.states("orders")[0].1, "disabled");
    let doc = env.json(&["keys", "destroy", "orders", "1", "--yes", "--force"], 0);
    let v1 = &doc["data"]["versions"][0];
    assert_eq!(v1["state"], "destroyed");
    assert_eq!(v1["destroy_forced"], true);
    // The tombstone stays; the version is never reused; decrypting says "destroyed" (4).
    env.ok(&["keys", "rotate", "orders"]);
    assert_eq!(env.states("orders").last().unwrap().0, 3);
    let out = env.json(&["decrypt", "-i", sealed.to_str().unwrap()], 4);
    assert_eq!(code_of(&out), "KEY_DESTROYED");
    // A version that never sealed anything needs no --force (a Staged one: abort the rollout).
    env.ok(&["keys", "destroy", "orders", "3", "--yes"]);
}

#[test]
fn destroy_grace_period_schedules_first() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders", "--destroy-grace-days", "7"]);
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    env.ok(&["keys", "retire", "orders", "1"]);
    let doc = env.json(&["keys", "destroy", "orders", "1", "--yes"], 0);
    assert_eq!(doc["data"]["versions"][0]["state"], "pending-destroy");
    // Still within the grace period: refused with its own code, and enable cancels.
    assert_eq!(
        code_of(&env.json(&["keys", "destroy", "orders", "1", "--yes"], 2)),
        "DESTROY_GRACE_PERIOD"
    );
    env.ok(&["keys", "enable", "orders", "1"]);
    assert_eq!(env.states("orders")[0].1, "decrypt-only");
}

fn flip_value(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let changed = text.replacen("\"uses\": 0", "\"uses\": 7", 1);
    assert_ne!(text, changed);
    std::fs::write(path, changed).unwrap();
}

#[test]
fn tampered_keyring_file_is_exit_1() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    flip_value(&env.keyring_file("orders"));
    assert_eq!(
        code_of(&env.json(&["keys", "list", "orders"], 1)),
        "KEYRING_TAMPERED"
    );
    assert_eq!(
        code_of(&env.json(&["keys", "rotate", "orders"], 1)),
        "KEYRING_TAMPERED"
    );
    let plain = env.path("p");
    std::fs::write(&plain, b"x").unwrap();
    let doc = env.json(
        &[
            "encrypt",
            "--key",
            "orders",
            "-i",
            plain.to_str().unwrap(),
            "-o",
            env.path("c").to_str().unwrap(),
        ],
        1,
    );
    assert_eq!(code_of(&doc), "KEYRING_TAMPERED");
    assert!(!env.path("c").exists());
}

#[test]
fn half_written_or_garbage_keyring_file_is_exit_1() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    let path = env.keyring_file("orders");
    let good = std::fs::read(&path).unwrap();
    for bad in [
        &good[..good.len() / 2],
        &good[..1],
        b"",
        b"\x00\xff garbage",
    ] {
        std::fs::write(&path, bad).unwrap();
        let doc = env.json(&["keys", "list", "orders"], 1);
        assert_eq!(
            code_of(&doc),
            "KEYRING_CORRUPT",
            "{}",
            String::from_utf8_lossy(bad)
        );
        // Never overwritten while damaged.
        env.json(&["keys", "rotate", "orders"], 1);
        assert_eq!(std::fs::read(&path).unwrap(), bad);
    }
    std::fs::write(&path, &good).unwrap();
    env.ok(&["keys", "rotate", "orders"]);
}

#[test]
fn two_processes_rotating_at_once_lose_nothing() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    let per = 6;
    let children: Vec<_> = (0..3)
        .map(|_| {
            let home = env.home();
            std::thread::spawn(move || {
                for _ in 0..per {
                    let out = harness::trust()
                        .arg("--home")
                        .arg(&home)
                        .args(["keys", "rotate", "orders"])
                        .stdin(Stdio::null())
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    for c in children {
        c.join().unwrap();
    }
    let states = env.states("orders");
    let versions: Vec<u64> = states.iter().map(|s| s.0).collect();
    assert_eq!(versions, (1..=1 + 3 * per).collect::<Vec<_>>());
    assert_eq!(states.iter().filter(|s| s.1 == "primary").count(), 1);
}

/// `kill -9` at random moments of rotations: afterwards the keyring parses and authenticates
/// (old or new revision, never torn) and a message sealed before still decrypts.
#[cfg(unix)]
#[test]
fn kill_9_during_rotate_loses_nothing() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    let plain = env.path("p");
    std::fs::write(&plain, b"survives").unwrap();
    let sealed = env.path("c");
    env.ok(&[
        "encrypt",
        "--key",
        "orders",
        "-i",
        plain.to_str().unwrap(),
        "-o",
        sealed.to_str().unwrap(),
    ]);
    for i in 0..25u64 {
        let mut child = env
            .cmd(&["keys", "rotate", "orders", "--promote"])
            .spawn()
            .unwrap();
        // Spread the kills over the process's life (start-up, reading, writing, renaming).
        std::thread::sleep(std::time::Duration::from_micros(500 + i * 700));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        env.ok(&["keys", "list", "orders"]);
    }
    let out = env.ok(&["decrypt", "-i", sealed.to_str().unwrap()]);
    assert_eq!(out, "survives");
    let states = env.states("orders");
    assert_eq!(states.iter().filter(|s| s.1 == "primary").count(), 1);
}

#[test]
fn every_command_has_an_example() {
    let env = Env::bare();
    for cmd in [
        vec!["init"],
        vec!["keys"],
        vec!["keys", "create"],
        vec!["keys", "list"],
        vec!["keys", "rotate"],
        vec!["keys", "config"],
        vec!["keys", "promote"],
        vec!["keys", "retire"],
        vec!["keys", "enable"],
        vec!["keys", "destroy"],
        vec!["encrypt"],
        vec!["decrypt"],
        vec!["rewrap"],
        vec!["inspect"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let out = env.run(&args);
        assert!(out.status.success(), "{cmd:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("Example: trust"),
            "{cmd:?} --help has no example"
        );
    }
}

#[test]
fn key_changes_are_recorded_in_the_audit_log_when_one_is_configured() {
    let env = Env::new();
    let log = env.path("audit");
    let init = harness::trust()
        .args(["--json", "audit", "init", "--log"])
        .arg(&log)
        .args(["--origin", "ops.example/audit"])
        .output()
        .unwrap();
    assert!(init.status.success());
    let vkey = serde_json::from_slice::<serde_json::Value>(&init.stdout).unwrap()["data"]["vkey"]
        .as_str()
        .unwrap()
        .to_owned();

    let audited = |args: &[&str]| {
        let out = env
            .cmd(args)
            .arg("--audit-log")
            .arg(&log)
            .env("TRUST_ACTOR", "alice@ops")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    audited(&["keys", "create", "orders"]);
    audited(&["keys", "rotate", "orders", "--promote"]);
    audited(&["keys", "retire", "orders", "1"]);
    // Destroying v1 (it sealed nothing): scheduled then destroyed, two distinct events.
    audited(&["keys", "destroy", "orders", "1", "--yes"]);
    // Without the flag nothing is recorded (the operator guide says to set TRUST_AUDIT_LOG).
    env.ok(&["keys", "create", "other"]);

    let verify = harness::trust()
        .args(["--json", "audit", "verify", "--log"])
        .arg(&log)
        .args(["--vkey", &vkey])
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    // key.create; key.rotate + key.promote for v2 + key.promote (demotion) for v1; key.retire;
    // key.destroy.schedule + key.destroy.
    assert_eq!(report["data"]["entries"], 7, "{report}");

    // A log that cannot be opened stops the change before it happens (exit 3, nothing changed).
    let before = std::fs::read(env.keyring_file("orders")).unwrap();
    let out = env
        .cmd(&["--json", "keys", "rotate", "orders"])
        .arg("--audit-log")
        .arg(env.path("no-such-log"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(std::fs::read(env.keyring_file("orders")).unwrap(), before);
}

impl Env {
    fn seal(&self, name: &str, extra: &[&str]) -> PathBuf {
        let plain = self.path(&format!("{name}.plain"));
        std::fs::write(&plain, format!("secret of {name}")).unwrap();
        let out = self.path(name);
        let mut args = vec![
            "encrypt",
            "--key",
            "orders",
            "-i",
            plain.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        self.ok(&args);
        out
    }

    fn version(&self, name: &str, v: usize) -> serde_json::Value {
        let doc = self.json(&["keys", "list", name], 0);
        doc["data"]["keyrings"][0]["versions"][v - 1].clone()
    }
}

#[test]
fn rewrap_then_destroy_closes_without_force() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    let a = env.seal("a", &[]);
    let b = env.seal("b", &[]);
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    // Only one of two files moved: v1 is still needed, destroy refuses (5), nothing changes.
    env.ok(&["rewrap", a.to_str().unwrap()]);
    env.ok(&["keys", "retire", "orders", "1"]);
    let refused = env.json(&["keys", "destroy", "orders", "1", "--yes"], 5);
    assert_eq!(code_of(&refused), "KEY_STILL_IN_USE");
    assert!(
        refused["message"].as_str().unwrap().contains("moved 1"),
        "{refused}"
    );
    assert_eq!(env.states("orders")[0].1, "disabled");
    // Rewrap needs the old version to decrypt: re-enable, rewrap the rest, retire again.
    env.ok(&["keys", "enable", "orders", "1"]);
    let doc = env.json(&["rewrap", a.to_str().unwrap(), b.to_str().unwrap()], 0);
    assert_eq!(
        (
            doc["data"]["rewrapped"].as_u64(),
            doc["data"]["current"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let v1 = env.version("orders", 1);
    assert_eq!(
        (v1["uses"].as_u64(), v1["moved"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(v1["may_be_in_use"], false);
    // The new primary counted exactly the two rewraps (unused reservations were given back).
    assert_eq!(env.version("orders", 2)["uses"], 2);
    env.ok(&["keys", "retire", "orders", "1"]);
    let doc = env.json(&["keys", "destroy", "orders", "1", "--yes"], 0);
    assert_eq!(doc["data"]["versions"][0]["state"], "destroyed");
    assert_eq!(doc["data"]["versions"][0]["destroy_forced"], false);
    for f in [&a, &b] {
        let out = env.ok(&["decrypt", "-i", f.to_str().unwrap()]);
        assert!(out.starts_with("secret of "), "{out}");
    }
}

#[test]
fn rewrap_tokens_from_stdin_or_a_file_is_counted() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    let token = |text: &str| {
        let mut c = env.cmd(&[
            "encrypt",
            "--key",
            "orders",
            "--armor",
            "--context",
            "tenant=acme",
        ]);
        c.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = c.spawn().unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (t1, t2) = (token("one"), token("two"));
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    let column = format!("17\t{t1}\n{t2}\n");
    // From stdin to stdout: lines kept in order, ids kept, tokens replaced.
    let mut c = env.cmd(&["rewrap", "--tokens", "-", "--context", "tenant=acme"]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(column.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let moved = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = moved.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("17\ttle1.") && lines[0] != format!("17\t{t1}"));
    assert!(lines[1].starts_with("tle1.") && lines[1] != t2);
    assert_eq!(env.version("orders", 1)["moved"], 2);
    // From a file with --json: -o is required (2), then a report; re-running finds all current.
    let file = env.path("moved.tsv");
    std::fs::write(&file, &moved).unwrap();
    let args = [
        "rewrap",
        "--tokens",
        file.to_str().unwrap(),
        "--context",
        "tenant=acme",
    ];
    assert_eq!(code_of(&env.json(&args, 2)), "USAGE");
    let out_file = env.path("again.tsv");
    let mut with_out = args.to_vec();
    with_out.extend_from_slice(&["-o", out_file.to_str().unwrap()]);
    let doc = env.json(&with_out, 0);
    assert_eq!(
        (
            doc["data"]["current"].as_u64(),
            doc["data"]["rewrapped"].as_u64()
        ),
        (Some(2), Some(0))
    );
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), moved);
    // A wrong context fails the line (1), the census is unchanged, the line is echoed.
    let stale = env.path("stale.tsv");
    std::fs::write(&stale, format!("{t1}\n")).unwrap();
    let bad = env.json(
        &[
            "rewrap",
            "--tokens",
            stale.to_str().unwrap(),
            "--context",
            "tenant=evil",
            "-o",
            env.path("x").to_str().unwrap(),
        ],
        1,
    );
    assert_eq!(code_of(&bad), "AUTHENTICATION_FAILED");
    assert_eq!(env.version("orders", 1)["moved"], 2);
    // Everything v1 sealed was moved: destroy without --force.
    env.ok(&["keys", "retire", "orders", "1"]);
    env.ok(&["keys", "destroy", "orders", "1", "--yes"]);
    let mut c = env.cmd(&["decrypt", "--context", "tenant=acme"]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(lines[1].as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.stdout, b"two");
}

#[test]
fn forced_destruction_records_its_reason() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    env.seal("a", &[]);
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    env.ok(&["keys", "retire", "orders", "1"]);
    // --reason without --force is a usage error (2); a multi-line reason too.
    assert_eq!(
        env.run(&["keys", "destroy", "orders", "1", "--yes", "--reason", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        code_of(&env.json(
            &[
                "keys", "destroy", "orders", "1", "--yes", "--force", "--reason", "a\nb"
            ],
            2
        )),
        "USAGE"
    );
    let doc = env.json(
        &[
            "keys",
            "destroy",
            "orders",
            "1",
            "--yes",
            "--force",
            "--reason",
            "INC-7: v1 exposed",
        ],
        0,
    );
    assert_eq!(doc["data"]["versions"][0]["destroy_forced"], true);
}

#[test]
fn subject_sealed_files_rewrap_and_survive_retire_and_destroy() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    let jane = env.seal("jane", &["--subject", "customer-1"]);
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    let doc = env.json(&["rewrap", jane.to_str().unwrap()], 0);
    assert_eq!(doc["data"]["files"][0]["status"], "rewrapped", "{doc}");
    let info = env.json(&["inspect", jane.to_str().unwrap()], 0);
    assert_eq!(info["data"]["key_version"], 2);
    assert!(info["data"]["subject"].as_str().unwrap().starts_with('p'));
    // Re-running is idempotent.
    let doc = env.json(&["rewrap", jane.to_str().unwrap()], 0);
    assert_eq!(doc["data"]["files"][0]["status"], "current", "{doc}");
    env.ok(&["keys", "retire", "orders", "1"]);
    assert_eq!(
        env.ok(&["decrypt", "-i", jane.to_str().unwrap()]),
        "secret of jane"
    );
    // v1 wrapped the subject's key and the pseudonym key: both moved, so no --force.
    env.ok(&["keys", "destroy", "orders", "1", "--yes"]);
    assert_eq!(
        env.ok(&["decrypt", "-i", jane.to_str().unwrap()]),
        "secret of jane"
    );
    // The subject binding is intact: erasing the subject still makes it unreadable (4).
    env.ok(&[
        "gdpr",
        "erase",
        "--key",
        "orders",
        "--subject",
        "customer-1",
        "--yes",
    ]);
    assert_eq!(
        code_of(&env.json(&["decrypt", "-i", jane.to_str().unwrap()], 4)),
        "SUBJECT_ERASED"
    );
}

#[test]
fn minimum_versions_are_configured_and_enforced() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    let old = env.seal("old", &[]);
    env.ok(&["keys", "rotate", "orders"]); // v2 staged
    // Vault's rules: not above the primary (v1) for decryption, not below min decryption for
    // encryption: usage errors (2), nothing changed.
    for bad in [
        vec!["--min-decryption-version", "2"],
        vec!["--min-encryption-version", "3"],
        vec!["--rotation-period", "0"],
    ] {
        let mut args = vec!["keys", "config", "orders"];
        args.extend_from_slice(&bad);
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
    env.ok(&["keys", "promote", "orders", "2"]);
    let doc = env.json(
        &[
            "keys",
            "config",
            "orders",
            "--min-decryption-version",
            "2",
            "--min-encryption-version",
            "2",
            "--rotation-period",
            "90d",
        ],
        0,
    );
    assert_eq!(doc["data"]["min_decryption_version"], 2);
    assert_eq!(doc["data"]["min_encryption_version"], 2);
    assert_eq!(doc["data"]["policy"]["max_age_secs"], 90 * 86_400);
    assert_eq!(
        code_of(&env.json(
            &["keys", "config", "orders", "--min-encryption-version", "1"],
            2
        )),
        "INVALID_POLICY"
    );
    // Decrypting below the minimum is "key unavailable" (4), with its own code.
    assert_eq!(
        code_of(&env.json(&["decrypt", "-i", old.to_str().unwrap()], 4)),
        "KEY_BELOW_MIN_DECRYPTION"
    );
    // Show without changing.
    let shown = env.json(&["keys", "config", "orders"], 0);
    assert_eq!(shown["data"]["min_decryption_version"], 2);
    // Lowering it again makes the old version readable (reversible, like enable).
    env.ok(&["keys", "config", "orders", "--min-decryption-version", "0"]);
    assert_eq!(
        env.ok(&["decrypt", "-i", old.to_str().unwrap()]),
        "secret of old"
    );
}

#[test]
fn rotate_if_due_is_for_schedulers() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders", "--max-uses", "1"]);
    env.ok(&["keys", "create", "quiet"]);
    // Not due: exit 0, nothing rotated.
    let doc = env.json(&["keys", "rotate", "orders", "--if-due"], 0);
    assert_eq!(doc["data"]["rotated"], 0);
    assert_eq!(doc["data"]["keyrings"][0]["action"], "not-due");
    assert_eq!(env.states("orders").len(), 1);
    // The usage ceiling makes it due.
    env.seal("a", &[]);
    let doc = env.json(&["keys", "rotate", "--all", "--if-due", "--promote"], 0);
    assert_eq!(doc["data"]["rotated"], 1, "{doc}");
    let by_name = |n: &str| {
        doc["data"]["keyrings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("orders")["action"], "rotated");
    assert_eq!(by_name("orders")["version"], 2);
    assert_eq!(by_name("orders")["primary"], true);
    assert_eq!(by_name("quiet")["action"], "not-due");
    // Run again at once: not due any more; nothing piles up.
    let doc = env.json(&["keys", "rotate", "--all", "--if-due", "--promote"], 0);
    assert_eq!(doc["data"]["rotated"], 0);
    assert_eq!(env.states("orders").len(), 2);
    // --all without --if-due, and neither a name nor --all: usage errors (2).
    assert_eq!(env.run(&["keys", "rotate", "--all"]).status.code(), Some(2));
    assert_eq!(env.run(&["keys", "rotate"]).status.code(), Some(2));
}

#[test]
fn rewrap_token_lines_are_bounded_and_checked() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    let out = env.path("out.tsv");
    let run = |content: &[u8]| {
        let input = env.path("in.tsv");
        std::fs::write(&input, content).unwrap();
        env.run(&[
            "--json",
            "rewrap",
            "--tokens",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
    };
    // Blank lines are kept as they are; nothing to move.
    let ok = run(b"\n\n");
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(std::fs::read(&out).unwrap(), b"\n\n");
    std::fs::remove_file(&out).unwrap();
    // A line longer than the largest token: input error (3), no output.
    let mut long = vec![b'a'; 3 << 20];
    long.push(b'\n');
    let r = run(&long);
    assert_eq!(
        r.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
    assert!(!out.exists());
    // Not UTF-8: a malformed token (1), no output.
    let r = run(b"tle1.\xff\n");
    assert_eq!(
        r.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
    assert!(!out.exists());
    // Garbage: the line fails (1) but is echoed, and the output is complete.
    let r = run(b"7\tnot-a-token\n");
    assert_eq!(r.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("1 of 1 token(s) failed"),
        "{doc}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"7\tnot-a-token\n");
}

#[test]
fn rotate_all_if_due_goes_on_past_a_damaged_keyring() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders", "--max-uses", "1"]);
    env.ok(&["keys", "create", "broken"]);
    env.seal("a", &[]);
    flip_value(&env.keyring_file("broken"));
    let doc = env.json(&["keys", "rotate", "--all", "--if-due", "--promote"], 1);
    assert_eq!(code_of(&doc), "KEYRING_TAMPERED");
    assert!(
        doc["message"].as_str().unwrap().contains("1 rotated"),
        "{doc}"
    );
    // The healthy, due keyring was rotated all the same.
    assert_eq!(env.states("orders").len(), 2);
}

#[test]
fn rewrap_check_reports_without_moving_or_counting() {
    let env = Env::new();
    env.ok(&["keys", "create", "orders"]);
    let a = env.seal("a", &[]);
    let jane = env.seal("jane", &["--subject", "customer-1"]);
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    let before = std::fs::read(&a).unwrap();
    let files = [a.to_str().unwrap(), jane.to_str().unwrap()];
    let mut args = vec!["rewrap", "--check"];
    args.extend_from_slice(&files);
    let doc = env.json(&args, 1);
    assert_eq!(code_of(&doc), "NOT_CURRENT");
    assert_eq!(
        std::fs::read(&a).unwrap(),
        before,
        "--check changes nothing"
    );
    assert_eq!(env.version("orders", 1)["moved"], 0);
    let mut run = vec!["rewrap"];
    run.extend_from_slice(&files);
    env.ok(&run);
    let doc = env.json(&args, 0);
    assert_eq!(doc["data"]["current"], 2, "{doc}");
    // Token lines: a stale export checked twice is never counted.
    let column = env.path("column.txt");
    let mut c = env.cmd(&["encrypt", "--key", "orders", "--armor"]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(b"x").unwrap();
    }
    let token = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    std::fs::write(&column, format!("1\t{token}\nnot-a-token\n")).unwrap();
    let moved_before = env.version("orders", 2)["moved"].clone();
    let doc = env.json(
        &["rewrap", "--check", "--tokens", column.to_str().unwrap()],
        1,
    );
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .starts_with("1 not under the primary yet, 1 unreadable"),
        "{doc}"
    );
    assert_eq!(env.version("orders", 2)["moved"], moved_before);
    // --check writes nothing, so it takes no -o (2).
    assert_eq!(
        env.run(&[
            "rewrap",
            "--check",
            "--tokens",
            column.to_str().unwrap(),
            "-o",
            "x"
        ])
        .status
        .code(),
        Some(2)
    );
}
