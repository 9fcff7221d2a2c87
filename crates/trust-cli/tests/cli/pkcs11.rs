//! CLI tests of homes whose root key lives in a PKCS#11 token (SoftHSM2 under CI: source
//! .ci/softhsm). Skipped with a printed reason when no token is configured; failed under CI=true.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::harness;

struct Hsm {
    module: String,
    pin: String,
    token: String,
}

fn hsm(test: &str) -> Option<Hsm> {
    let Ok(module) = std::env::var("TRUST_TEST_PKCS11_MODULE") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: TRUST_TEST_PKCS11_MODULE is unset under CI=true (source .ci/softhsm)"
        );
        eprintln!("skipping {test}: TRUST_TEST_PKCS11_MODULE is unset (source .ci/softhsm)");
        return None;
    };
    Some(Hsm {
        module,
        pin: std::env::var("TRUST_TEST_PKCS11_PIN").unwrap_or_else(|_| "1234".into()),
        token: std::env::var("TRUST_TEST_PKCS11_TOKEN").unwrap_or_else(|_| "trust-ci".into()),
    })
}

struct Env {
    dir: tempfile::TempDir,
    hsm: Hsm,
    object: String,
}

impl Env {
    fn new(hsm: Hsm) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // A fresh object label per test (and per run: the token outlives test runs).
        let object = format!(
            "cli-{}",
            dir.path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replace('.', "")
        );
        Self { dir, hsm, object }
    }

    fn uri(&self) -> String {
        format!(
            "pkcs11:token={};object={}?module-path={}",
            self.hsm.token, self.object, self.hsm.module
        )
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = harness::trust();
        c.arg("--home")
            .arg(self.path("home"))
            .args(args)
            .env("TRUST_PKCS11_PIN", &self.hsm.pin)
            .stdin(Stdio::null());
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json_fail(&self, cmd: &mut Command, code: i32) -> serde_json::Value {
        let out: Output = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["ok"], false);
        v
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn an_hsm_home_creates_encrypts_rotates_and_decrypts() {
    let Some(h) = hsm("an_hsm_home_creates_encrypts_rotates_and_decrypts") else {
        return;
    };
    let env = Env::new(h);
    let out = env.ok(&["--json", "init", "--root-pkcs11", &env.uri()]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["root"], "pkcs11");
    assert_eq!(v["data"]["root_uri"], env.uri());
    let home_json = std::fs::read_to_string(env.path("home/home.json")).unwrap();
    assert!(!home_json.contains(&env.hsm.pin) || env.hsm.pin.len() < 6);
    assert!(home_json.contains(r#""backend": "pkcs11""#));

    env.ok(&["keys", "create", "orders"]);
    std::fs::write(env.path("plain"), b"shpat_secret").unwrap();
    let (plain, sealed) = (env.path("plain"), env.path("sealed.tle"));
    env.ok(&[
        "encrypt",
        "--key",
        "orders",
        "--context",
        "t=acme",
        "-i",
        p(&plain),
        "-o",
        p(&sealed),
    ]);
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    let out = env.ok(&["decrypt", "--context", "t=acme", "-i", p(&sealed)]);
    assert_eq!(out, "shpat_secret");

    // The PIN from a file instead of the environment.
    std::fs::write(env.path("pin"), format!("{}\n", env.hsm.pin)).unwrap();
    let out = env
        .cmd(&[
            "decrypt",
            "--pin-file",
            p(&env.path("pin")),
            "--context",
            "t=acme",
            "-i",
            p(&sealed),
        ])
        .env_remove("TRUST_PKCS11_PIN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"shpat_secret");

    // No PIN at all: a usage error that says where the PIN comes from.
    let v = env.json_fail(
        env.cmd(&["--json", "decrypt", "--context", "t=acme", "-i", p(&sealed)])
            .env_remove("TRUST_PKCS11_PIN"),
        2,
    );
    assert_eq!(v["code"], "PKCS11_NO_PIN");
}

#[test]
fn wrong_pin_missing_token_and_unloadable_module_exit_4_4_3() {
    let Some(h) = hsm("wrong_pin_missing_token_and_unloadable_module_exit_4_4_3") else {
        return;
    };
    let env = Env::new(h);
    env.ok(&["init", "--root-pkcs11", &env.uri()]);
    env.ok(&["keys", "create", "orders"]);

    let v = env.json_fail(
        env.cmd(&["--json", "keys", "list"])
            .env("TRUST_PKCS11_PIN", "wrong-pin-0000"),
        4,
    );
    assert_eq!(v["code"], "PKCS11_WRONG_PIN");
    assert!(!v.to_string().contains("wrong-pin-0000"));

    let home = env.path("home/home.json");
    let good = std::fs::read_to_string(&home).unwrap();
    std::fs::write(
        &home,
        good.replace(&format!("token={}", env.hsm.token), "token=absent-token"),
    )
    .unwrap();
    let v = env.json_fail(&mut env.cmd(&["--json", "keys", "list"]), 4);
    assert_eq!(v["code"], "PKCS11_TOKEN_ABSENT");

    std::fs::write(
        &home,
        good.replace(&env.hsm.module, "/nonexistent/libpkcs11.so"),
    )
    .unwrap();
    let v = env.json_fail(&mut env.cmd(&["--json", "keys", "list"]), 3);
    assert_eq!(v["code"], "PKCS11_MODULE_UNLOADABLE");

    // A record pointed at another (existing) key in the same token is refused by the check
    // value, not silently used.
    let other = Env::new(Hsm {
        module: env.hsm.module.clone(),
        pin: env.hsm.pin.clone(),
        token: env.hsm.token.clone(),
    });
    other.ok(&["init", "--root-pkcs11", &other.uri()]);
    std::fs::write(&home, good.replace(&env.object, &other.object)).unwrap();
    let v = env.json_fail(&mut env.cmd(&["--json", "keys", "list"]), 4);
    assert_eq!(v["code"], "WRONG_EXTERNAL_ROOT");
}

#[test]
fn bad_uris_are_usage_errors_and_never_echo_a_pin() {
    let Some(h) = hsm("bad_uris_are_usage_errors_and_never_echo_a_pin") else {
        return;
    };
    let env = Env::new(h);
    for uri in [
        "pkcs11:token=t;object=o;pin-value=s3cr3t?module-path=/x.so".to_owned(),
        "pkcs11:token=t;object=o?module-path=relative.so".to_owned(),
        "pkcs11:object=o?module-path=/x.so".to_owned(),
        "http://example.com".to_owned(),
    ] {
        let v = env.json_fail(&mut env.cmd(&["--json", "init", "--root-pkcs11", &uri]), 2);
        assert_eq!(v["code"], "PKCS11_URI_INVALID", "{uri}");
        assert!(!v.to_string().contains("s3cr3t"));
    }
    assert!(!env.path("home/home.json").exists());
    // --pin-file only goes with --root-pkcs11.
    let key = env.path("root.key");
    let out = env
        .cmd(&["init", "--root-key-file", p(&key), "--pin-file", "p"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!key.exists());
}

#[test]
fn audit_checkpoints_signed_in_the_hsm_verify_with_the_printed_vkey() {
    let Some(h) = hsm("audit_checkpoints_signed_in_the_hsm_verify_with_the_printed_vkey") else {
        return;
    };
    let env = Env::new(h);
    let log = env.path("log");
    let out = env.ok(&[
        "--json",
        "audit",
        "init",
        "--log",
        p(&log),
        "--origin",
        "example.com/audit",
        "--signing-pkcs11",
        &env.uri(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let vkey = v["data"]["vkey"].as_str().unwrap().to_owned();
    assert!(vkey.starts_with("example.com/audit+"));
    assert!(
        !log.join("signing.key").exists(),
        "a signing key file was written"
    );
    assert_eq!(
        std::fs::read_to_string(log.join("vkey")).unwrap().trim(),
        vkey
    );

    env.ok(&[
        "audit",
        "append",
        "--log",
        p(&log),
        "--event",
        "key.rotate",
        "--attr",
        "key=orders",
    ]);
    let note = env.ok(&["audit", "checkpoint", "--log", p(&log)]);
    assert!(note.contains("\u{2014} example.com/audit "));
    env.ok(&["audit", "verify", "--log", p(&log), "--vkey", &vkey]);
    let proof = env.path("entry-0.tlog-proof");
    std::fs::write(
        &proof,
        env.ok(&["audit", "prove", "--log", p(&log), "--index", "0"]),
    )
    .unwrap();
    env.ok(&["audit", "verify-proof", "--vkey", &vkey, p(&proof)]);

    // Key changes recorded through --audit-log are signed in the HSM as well.
    env.ok(&["init", "--root-key-file", p(&env.path("root.key"))]);
    env.ok(&["--audit-log", p(&log), "keys", "create", "orders"]);
    env.ok(&["audit", "checkpoint", "--log", p(&log)]);
    env.ok(&["audit", "verify", "--log", p(&log), "--vkey", &vkey]);

    // A wrong PIN: the checkpoint cannot be signed (exit 4), and nothing else is needed to
    // verify (verification never touches the HSM).
    let v = env.json_fail(
        env.cmd(&["--json", "audit", "checkpoint", "--log", p(&log)])
            .env("TRUST_PKCS11_PIN", "not-the-pin"),
        4,
    );
    assert_eq!(v["code"], "PKCS11_WRONG_PIN");
    env.ok(&["audit", "verify", "--log", p(&log), "--vkey", &vkey]);
}

#[test]
fn rewrap_root_moves_a_key_file_home_into_the_hsm_without_touching_ciphertext() {
    let Some(h) = hsm("rewrap_root_moves_a_key_file_home_into_the_hsm_without_touching_ciphertext")
    else {
        return;
    };
    let env = Env::new(h);
    let key = env.path("root.key");
    env.ok(&["init", "--root-key-file", p(&key)]);
    env.ok(&["keys", "create", "orders"]);
    std::fs::write(env.path("plain"), b"odoo-api-key").unwrap();
    let sealed = env.path("sealed.tle");
    env.ok(&[
        "encrypt",
        "--key",
        "orders",
        "--context",
        "t=a",
        "-i",
        p(&env.path("plain")),
        "-o",
        p(&sealed),
    ]);
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    let before = std::fs::read(&sealed).unwrap();
    let log = env.path("log");
    env.ok(&[
        "audit",
        "init",
        "--log",
        p(&log),
        "--origin",
        "example.com/audit",
    ]);

    // Not confirmed: refused, nothing changed.
    let v = env.json_fail(
        &mut env.cmd(&["--json", "keys", "rewrap-root", "--to-pkcs11", &env.uri()]),
        5,
    );
    assert_eq!(v["code"], "REFUSED");
    assert!(
        std::fs::read_to_string(env.path("home/home.json"))
            .unwrap()
            .contains("key-file")
    );

    let out = env.ok(&[
        "--json",
        "--audit-log",
        p(&log),
        "keys",
        "rewrap-root",
        "--to-pkcs11",
        &env.uri(),
        "--yes",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["keyrings"], 1);
    assert_eq!(v["data"]["root"], "pkcs11");
    let home_json = std::fs::read_to_string(env.path("home/home.json")).unwrap();
    assert!(home_json.contains(r#""backend": "pkcs11""#), "{home_json}");
    assert!(!env.path("home/home.next.json").exists());

    // The ciphertext is untouched and still opens (through the HSM now).
    assert_eq!(std::fs::read(&sealed).unwrap(), before);
    assert_eq!(
        env.ok(&["decrypt", "--context", "t=a", "-i", p(&sealed)]),
        "odoo-api-key"
    );
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    // Without the HSM PIN the home no longer opens at all: the key file alone is worthless.
    let v = env.json_fail(
        env.cmd(&["--json", "decrypt", "--context", "t=a", "-i", p(&sealed)])
            .env_remove("TRUST_PKCS11_PIN"),
        2,
    );
    assert_eq!(v["code"], "PKCS11_NO_PIN");
    // The move is in the audit log.
    let listing = std::fs::read_dir(log.join("segments")).unwrap().count();
    assert!(listing > 0);
    env.ok(&[
        "audit",
        "verify",
        "--log",
        p(&log),
        "--vkey",
        std::fs::read_to_string(log.join("vkey")).unwrap().trim(),
    ]);
}

/// `trust gdpr public-key --signing-pkcs11 URI`: erasure receipts and export manifests are
/// signed by an Ed25519 key in the token; no key file is written, and the documents verify with
/// the printed public key.
#[test]
fn gdpr_receipts_and_exports_signed_in_the_hsm_verify_with_the_printed_key() {
    let Some(h) = hsm("gdpr_receipts_and_exports_signed_in_the_hsm_verify_with_the_printed_key")
    else {
        return;
    };
    let env = Env::new(h);
    let root = env.path("root.key");
    env.ok(&["init", "--root-key-file", p(&root)]);
    env.ok(&["keys", "create", "customers"]);
    let uri = format!(
        "pkcs11:token={};object={}-gdpr?module-path={}",
        env.hsm.token, env.object, env.hsm.module
    );

    // No PIN: refused before anything is recorded.
    let v = env.json_fail(
        env.cmd(&["--json", "gdpr", "public-key", "--signing-pkcs11", &uri])
            .env_remove("TRUST_PKCS11_PIN"),
        2,
    );
    assert_eq!(v["code"], "PKCS11_NO_PIN");
    assert!(!env.path("home/gdpr/signer.json").exists());

    let out = env.ok(&["--json", "gdpr", "public-key", "--signing-pkcs11", &uri]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let pk = v["data"]["public_key"].as_str().unwrap().to_owned();
    assert_eq!(pk.len(), 64);
    let record = std::fs::read_to_string(env.path("home/gdpr/signer.json")).unwrap();
    assert!(record.contains(r#""kind": "pkcs11""#), "{record}");
    assert!(!record.contains(&env.hsm.pin) || env.hsm.pin.len() < 6);
    // Again with the same URI: the same key; the plain command prints it from the token.
    env.ok(&["gdpr", "public-key", "--signing-pkcs11", &uri]);
    assert_eq!(env.ok(&["gdpr", "public-key"]).trim(), pk);

    // An erasure receipt signed in the token.
    let out = env.ok(&[
        "--json",
        "gdpr",
        "erase",
        "--key",
        "customers",
        "--subject",
        "c-1",
        "--yes",
    ]);
    let receipt: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(receipt["data"]["receipt"]["signer"], pk.as_str());
    let receipt_file = env.path("receipt.json");
    std::fs::write(&receipt_file, receipt["data"].to_string()).unwrap();
    env.ok(&["gdpr", "verify-receipt", p(&receipt_file)]);
    env.ok(&[
        "gdpr",
        "verify-receipt",
        "--public-key",
        &pk,
        p(&receipt_file),
    ]);

    // An export bundle signed in the token.
    let records = env.path("records.jsonl");
    std::fs::write(
        &records,
        "{\"subject\":\"c-2\",\"category\":\"orders\",\"record\":{\"id\":7}}\n",
    )
    .unwrap();
    let bundle = env.path("c-2.export.jsonl");
    env.ok(&[
        "gdpr",
        "export",
        "--key",
        "customers",
        "--subject",
        "c-2",
        "--records",
        p(&records),
        "--out",
        p(&bundle),
    ]);
    env.ok(&["gdpr", "verify-export", "--public-key", &pk, p(&bundle)]);
    assert!(
        !env.path("home/gdpr/signing.p8").exists(),
        "a signing key file was written"
    );

    // A wrong PIN: no receipt can be signed, so nothing is erased (exit 4); the same erasure
    // succeeds afterwards with the right PIN.
    let v = env.json_fail(
        env.cmd(&[
            "--json",
            "gdpr",
            "erase",
            "--key",
            "customers",
            "--subject",
            "c-3",
            "--yes",
        ])
        .env("TRUST_PKCS11_PIN", "wrong-pin-0000"),
        4,
    );
    assert_eq!(v["code"], "PKCS11_WRONG_PIN");
    env.ok(&[
        "gdpr",
        "erase",
        "--key",
        "customers",
        "--subject",
        "c-3",
        "--yes",
    ]);

    // Another signer cannot be swapped in silently.
    let other = format!(
        "pkcs11:token={};object={}-other?module-path={}",
        env.hsm.token, env.object, env.hsm.module
    );
    let v = env.json_fail(
        &mut env.cmd(&["--json", "gdpr", "public-key", "--signing-pkcs11", &other]),
        2,
    );
    assert!(
        v["message"].as_str().unwrap().contains("already signed"),
        "{v}"
    );

    // A home that already signs with a key file refuses to switch without a deliberate move.
    let plain = Env::new(Hsm {
        module: env.hsm.module.clone(),
        pin: env.hsm.pin.clone(),
        token: env.hsm.token.clone(),
    });
    plain.ok(&["init", "--root-key-file", p(&plain.path("root.key"))]);
    plain.ok(&["gdpr", "public-key"]);
    let v = plain.json_fail(
        &mut plain.cmd(&["--json", "gdpr", "public-key", "--signing-pkcs11", &uri]),
        2,
    );
    assert!(v["message"].as_str().unwrap().contains("signing.p8"), "{v}");
}
