//! CLI tests of `trust mfa …` and the second-factor gate: every exit code each command can give.

use super::harness::{Env, code, expect, json, stdout};

use trust_core::mfa::{self, Algorithm, TotpParams};

/// RFC 6238's SHA-1 seed, base32.
const SECRET_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const SEED: &[u8] = b"12345678901234567890";

fn totp_code(unix: u64, digits: u8, algorithm: Algorithm, seed: &[u8]) -> String {
    let p = TotpParams {
        algorithm,
        digits,
        period: 30,
    };
    mfa::code_at_step(seed, &p, unix / 30).to_string()
}

/// Now, as the gate verifies at the real time.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn enroll(env: &Env, user: &str) {
    let secret = env.write("secret.b32", SECRET_B32.as_bytes());
    expect(
        &env.run(&["mfa", "enroll", user, "--secret-file", &secret], None),
        0,
    );
}

#[test]
fn enroll_prints_the_uri_and_refuses_bad_input() {
    let env = Env::new();
    let secret = env.write("secret.b32", format!("{SECRET_B32}\n").as_bytes());
    let out = env.run(
        &[
            "--json",
            "mfa",
            "enroll",
            "ops@acme.example",
            "--secret-file",
            &secret,
            "--digits",
            "8",
            "--algorithm",
            "sha1",
        ],
        None,
    );
    expect(&out, 0);
    let doc = json(&out);
    assert_eq!(
        doc["data"]["uri"],
        format!(
            "otpauth://totp/trust:ops%40acme.example?secret={SECRET_B32}&issuer=trust&algorithm=SHA1&digits=8&period=30"
        )
    );
    // Human output: the URI (no QR code: stdout is not a terminal).
    let out = env.run(&["mfa", "enroll", "second", "--algorithm", "sha512"], None);
    expect(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with("otpauth://totp/trust:second?secret="),
        "{text}"
    );
    assert!(text.contains("algorithm=SHA512"));
    assert!(!text.contains('\u{2580}'), "no QR code off a terminal");
    // 2: already enrolled, bad digits, bad algorithm, bad secret, bad user id.
    let out = env.run(&["--json", "mfa", "enroll", "second"], None);
    expect(&out, 2);
    assert_eq!(json(&out)["code"], "MFA_ALREADY_ENROLLED");
    expect(&env.run(&["mfa", "enroll", "x", "--digits", "7"], None), 2);
    expect(&env.run(&["mfa", "enroll", "x", "--digits", "9"], None), 2);
    expect(
        &env.run(&["mfa", "enroll", "x", "--algorithm", "md5"], None),
        2,
    );
    let short = env.write("short.b32", b"MZXW6YTB");
    let out = env.run(
        &["--json", "mfa", "enroll", "x", "--secret-file", &short],
        None,
    );
    expect(&out, 2);
    assert_eq!(json(&out)["code"], "MFA_INVALID_SECRET");
    let bad = env.write("bad.b32", b"not base32 at all!!!!!!!!!!!!!!!");
    expect(
        &env.run(&["mfa", "enroll", "x", "--secret-file", &bad], None),
        2,
    );
    expect(&env.run(&["mfa", "enroll", "has space"], None), 2);
    // 3: the secret file is missing.
    expect(
        &env.run(
            &["mfa", "enroll", "x", "--secret-file", "/nonexistent"],
            None,
        ),
        3,
    );
}

#[test]
fn verify_accepts_once_and_exit_codes() {
    let env = Env::new();
    enroll(&env, "ops");
    let t = 1_700_000_000u64;
    let c = totp_code(t, 6, Algorithm::Sha1, SEED);
    let now = t.to_string();
    let out = env.run(
        &[
            "--json",
            "mfa",
            "verify",
            "ops",
            "--code-file",
            "-",
            "--now",
            &now,
        ],
        Some(c.as_bytes()),
    );
    expect(&out, 0);
    assert_eq!(json(&out)["data"]["accepted"], true);
    assert_eq!(json(&out)["data"]["step"], t / 30);
    // 1: the same code again (replay), 30 s later (still in the skew window).
    let later = (t + 30).to_string();
    let out = env.run(
        &["--json", "mfa", "verify", "ops", "--now", &later],
        Some(c.as_bytes()),
    );
    expect(&out, 1);
    assert_eq!(json(&out)["code"], "MFA_REJECTED");
    // 1: wrong and expired codes.
    expect(
        &env.run(&["mfa", "verify", "ops", "--now", &later], Some(b"000000")),
        1,
    );
    let old = totp_code(t - 120, 6, Algorithm::Sha1, SEED);
    expect(
        &env.run(
            &["mfa", "verify", "ops", "--now", &later],
            Some(old.as_bytes()),
        ),
        1,
    );
    // 0: the next step's code, from a file.
    let next = env.write(
        "code",
        totp_code(t + 30, 6, Algorithm::Sha1, SEED).as_bytes(),
    );
    expect(
        &env.run(
            &[
                "mfa",
                "verify",
                "ops",
                "--code-file",
                &next,
                "--now",
                &later,
            ],
            None,
        ),
        0,
    );
    // 4: not enrolled; 3: code file missing; 2: bad --now.
    let out = env.run(
        &["--json", "mfa", "verify", "nobody", "--now", &now],
        Some(b"123456"),
    );
    expect(&out, 4);
    assert_eq!(json(&out)["code"], "MFA_NOT_ENROLLED");
    expect(
        &env.run(
            &["mfa", "verify", "ops", "--code-file", "/nonexistent"],
            None,
        ),
        3,
    );
    expect(
        &env.run(
            &["mfa", "verify", "ops", "--now", "yesterday"],
            Some(b"123456"),
        ),
        2,
    );
}

#[test]
fn recovery_codes_work_once() {
    let env = Env::new();
    // 4: no factor yet.
    expect(&env.run(&["mfa", "recovery-codes", "ops"], None), 4);
    enroll(&env, "ops");
    let out = env.run(&["--json", "mfa", "recovery-codes", "ops"], None);
    expect(&out, 0);
    let codes: Vec<String> = json(&out)["data"]["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    let stored = std::fs::read_dir(env.path("home/mfa/users"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect::<String>();
    assert!(!stored.contains(&codes[0]));
    let out = env.run(
        &["--json", "mfa", "verify", "ops", "--recovery"],
        Some(codes[0].as_bytes()),
    );
    expect(&out, 0);
    assert_eq!(json(&out)["data"]["recovery_codes_left"], 9);
    expect(
        &env.run(
            &["mfa", "verify", "ops", "--recovery"],
            Some(codes[0].as_bytes()),
        ),
        1,
    );
    expect(
        &env.run(
            &["mfa", "verify", "ops", "--recovery"],
            Some(b"AAAA-BBBB-CCCC-DDDD"),
        ),
        1,
    );
    // Human output lists the codes.
    let out = env.run(&["mfa", "recovery-codes", "ops"], None);
    expect(&out, 0);
    assert_eq!(stdout(&out).lines().count(), 11);
}

#[test]
fn remove_exit_codes() {
    let env = Env::new();
    enroll(&env, "ops");
    expect(&env.run(&["mfa", "remove", "ops"], None), 5);
    let out = env.run(&["--json", "mfa", "remove", "ops", "--yes"], None);
    expect(&out, 0);
    assert_eq!(json(&out)["data"]["removed"], true);
    expect(&env.run(&["mfa", "remove", "ops", "--yes"], None), 4);
    expect(&env.run(&["mfa", "verify", "ops"], Some(b"123456")), 4);
}

#[test]
fn destructive_commands_require_a_second_factor_when_the_home_says_so() {
    let env = Env::new();
    // 2: nobody enrolled yet, so requiring MFA would lock every operator out.
    expect(&env.run(&["mfa", "require", "on"], None), 2);
    enroll(&env, "ops");
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
    let out = env.run(
        &["--json", "--audit-log", log_s, "mfa", "require", "on"],
        None,
    );
    expect(&out, 0);
    assert_eq!(json(&out)["data"]["require_for_destructive"], true);

    let value = env.write("token", b"shpat_0123456789abcdef");
    expect(
        &env.run(&["secrets", "put", "acme/shopify", "-i", &value], None),
        0,
    );
    expect(
        &env.run(&["secrets", "put", "acme/stripe", "-i", &value], None),
        0,
    );
    // 5: no second factor given.
    let out = env.run(
        &["--json", "secrets", "delete", "acme/shopify", "--yes"],
        None,
    );
    expect(&out, 5);
    assert_eq!(json(&out)["code"], "MFA_REQUIRED");
    // 1: a wrong code; nothing deleted.
    let out = env.run(
        &[
            "--audit-log",
            log_s,
            "secrets",
            "delete",
            "acme/shopify",
            "--yes",
            "--mfa-user",
            "ops",
            "--mfa-code-file",
            "-",
        ],
        Some(b"000000"),
    );
    expect(&out, 1);
    expect(
        &env.run(
            &["secrets", "get", "acme/shopify", "--purpose", "check"],
            None,
        ),
        0,
    );
    // 0: the current code (retried once if the step turns over between the two calls).
    let mut deleted = false;
    for _ in 0..2 {
        let c = totp_code(now(), 6, Algorithm::Sha1, SEED);
        let out = env.run(
            &[
                "--audit-log",
                log_s,
                "secrets",
                "delete",
                "acme/shopify",
                "--yes",
                "--mfa-user",
                "ops",
                "--mfa-code-file",
                "-",
            ],
            Some(c.as_bytes()),
        );
        if code(&out) == 0 {
            deleted = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    assert!(deleted);
    // 2: --mfa-user without a code file is a usage error.
    expect(
        &env.run(
            &[
                "secrets",
                "delete",
                "acme/stripe",
                "--yes",
                "--mfa-user",
                "ops",
            ],
            None,
        ),
        2,
    );
    // keys destroy and gdpr erase are gated too.
    expect(&env.run(&["keys", "create", "orders"], None), 0);
    expect(
        &env.run(&["keys", "rotate", "orders", "--promote"], None),
        0,
    );
    expect(&env.run(&["keys", "retire", "orders", "1"], None), 0);
    let out = env.run(
        &[
            "--json", "keys", "destroy", "orders", "1", "--yes", "--force",
        ],
        None,
    );
    expect(&out, 5);
    assert_eq!(json(&out)["code"], "MFA_REQUIRED");
    let out = env.run(
        &[
            "--json",
            "gdpr",
            "erase",
            "--key",
            "orders",
            "--subject",
            "191167",
            "--yes",
        ],
        None,
    );
    expect(&out, 5);
    assert_eq!(json(&out)["code"], "MFA_REQUIRED");
    // 5: turning the gate off needs a second factor as well.
    expect(&env.run(&["mfa", "require", "off"], None), 5);
    // The gate's outcomes are in the audit log, which verifies.
    let out = env.run(
        &["--json", "audit", "verify", "--log", log_s, "--vkey", &vkey],
        None,
    );
    expect(&out, 0);
    // mfa.policy, mfa.verify + mfa.second_factor (rejected), mfa.verify + mfa.second_factor
    // (accepted) + vault.delete: at least 6 entries (a retried code adds two).
    assert!(
        json(&out)["data"]["entries"].as_u64().unwrap() >= 6,
        "{}",
        stdout(&out)
    );
    // A policy file that does not parse fails closed (exit 1), never open.
    std::fs::write(env.path("home/mfa/policy.json"), b"{").unwrap();
    expect(
        &env.run(&["secrets", "delete", "acme/stripe", "--yes"], None),
        1,
    );
}

#[test]
fn every_command_has_help_with_an_example() {
    let env = Env::new();
    for sub in ["enroll", "verify", "recovery-codes", "remove", "require"] {
        let out = env.run(&["mfa", sub, "--help"], None);
        expect(&out, 0);
        assert!(stdout(&out).contains("Example: "), "{sub}");
    }
}
