//! CLI tests of `trust init` and `trust keys …`: every exit code of the keyring contract.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Env {
    dir: tempfile::TempDir,
}

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
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_trust"));
        c.arg("--home")
            .arg(self.home())
            .args(args)
            .env_remove("TRUST_HOME")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
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
    // --promote on rotate is the explicit one-step path.
    env.ok(&["keys", "rotate", "orders", "--promote"]);
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
                    let out = Command::new(env!("CARGO_BIN_EXE_trust"))
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
