//! CLI tests for `trust password`, `trust token` and `trust tls`: every exit code each command
//! can produce, `--json` output, and `--help` examples.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use trust_core::tls::{self, rustls};

use super::harness::{self, code, json, run, stderr, stdout};

fn trust(args: &[&str], stdin: &str) -> Output {
    trust_env(args, stdin, &[])
}

fn trust_env(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    run(
        harness::trust().args(args).envs(env.iter().copied()),
        Some(stdin.as_bytes()),
    )
}

// --- password ---------------------------------------------------------------------------------

#[test]
fn password_hash_and_verify() {
    let o = trust(&["password", "hash"], "correct horse battery\n");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let phc = stdout(&o).trim().to_owned();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");

    // The trailing newline was dropped: the password is exactly "correct horse battery".
    let ok = trust(
        &["password", "verify", "--hash", &phc],
        "correct horse battery",
    );
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    assert_eq!(stdout(&ok).trim(), "match");

    let bad = trust(
        &["password", "verify", "--hash", &phc],
        "correct horse battery!",
    );
    assert_eq!(code(&bad), 1);
    assert!(stderr(&bad).contains("does not match"));

    let j = trust(&["--json", "password", "verify", "--hash", &phc], "nope");
    assert_eq!(code(&j), 1);
    assert_eq!(json(&j)["code"], "PASSWORD_MISMATCH");
}

#[test]
fn password_exit_codes() {
    // 2: too short; 2: missing --hash; 3: malformed hash; 3: unreadable password file.
    let short = trust(&["--json", "password", "hash"], "short");
    assert_eq!(code(&short), 2);
    assert_eq!(json(&short)["code"], "PASSWORD_TOO_SHORT");
    assert_eq!(code(&trust(&["password", "verify"], "x")), 2);
    let malformed = trust(&["--json", "password", "verify", "--hash", "$md5$abc"], "x");
    assert_eq!(code(&malformed), 3);
    assert_eq!(json(&malformed)["code"], "HASH_MALFORMED");
    let missing = trust(
        &["password", "hash", "--password-file", "/nonexistent/pw"],
        "",
    );
    assert_eq!(code(&missing), 3);
    // 4: a peppered hash without its pepper.
    let pepper = "ab".repeat(32);
    let env = [("PEPPER", pepper.as_str())];
    let o = trust_env(
        &[
            "password",
            "hash",
            "--pepper-env",
            "PEPPER",
            "--pepper-version",
            "3",
        ],
        "peppered password",
        &env,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let phc = stdout(&o).trim().to_owned();
    assert!(phc.contains(",pepper=3$"));
    let without = trust(
        &["--json", "password", "verify", "--hash", &phc],
        "peppered password",
    );
    assert_eq!(code(&without), 4);
    assert_eq!(json(&without)["code"], "UNKNOWN_PEPPER");
    let with = trust_env(
        &[
            "password",
            "verify",
            "--hash",
            &phc,
            "--pepper-env",
            "PEPPER",
            "--pepper-version",
            "3",
        ],
        "peppered password",
        &env,
    );
    assert_eq!(code(&with), 0, "{}", stderr(&with));
    // 2: a pepper that is not 64 hex characters.
    let bad = trust_env(
        &["password", "hash", "--pepper-env", "PEPPER"],
        "peppered password",
        &[("PEPPER", "zz")],
    );
    assert_eq!(code(&bad), 2);
}

/// crypt_blowfish's `$2a$05$CCCC…` vector for "U*U" (Openwall test suite), upgraded on match.
#[test]
fn password_bcrypt_upgrade() {
    let legacy = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
    let o = trust(
        &["--json", "password", "verify", "--rehash", "--hash", legacy],
        "U*U",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["data"]["needs_rehash"], true);
    let new = v["data"]["rehash"].as_str().unwrap().to_owned();
    assert!(new.starts_with("$argon2id$"));
    let again = trust(&["--json", "password", "verify", "--hash", &new], "U*U");
    assert_eq!(code(&again), 0);
    assert_eq!(json(&again)["data"]["needs_rehash"], false);
    assert_eq!(
        code(&trust(&["password", "verify", "--hash", legacy], "U*V")),
        1
    );
}

// --- token ------------------------------------------------------------------------------------

struct Home {
    _dir: tempfile::TempDir,
    home: PathBuf,
}

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let key = dir.path().join("root.key");
        let h = Self { _dir: dir, home };
        let o = h.run(&["init", "--root-key-file", key.to_str().unwrap()], "");
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let o = h.run(&["keys", "create", "tokens"], "");
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        h
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut full = vec!["--home", self.home.to_str().unwrap()];
        full.extend_from_slice(args);
        trust(&full, stdin)
    }

    fn issue(&self, extra: &[&str]) -> String {
        let mut args = vec![
            "token",
            "issue",
            "--tenant",
            "acme",
            "--scope",
            "chat:write",
        ];
        args.extend_from_slice(extra);
        let o = self.run(&args, "");
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        stdout(&o).trim().to_owned()
    }

    fn verify(&self, token: &str, extra: &[&str]) -> Output {
        let mut args = vec!["--json", "token", "verify"];
        args.extend_from_slice(extra);
        self.run(&args, token)
    }
}

const EXPECT: [&str; 6] = [
    "--tenant",
    "acme",
    "--scope",
    "chat:write",
    "--audience",
    "chat-widget",
];

#[test]
fn token_issue_verify_and_refusals() {
    let h = Home::new();
    let tok = h.issue(&["--ttl", "15m", "--audience", "chat-widget"]);
    assert!(tok.starts_with("tst1.tokens.1."), "{tok}");

    let ok = h.verify(&format!("{tok}\n"), &EXPECT);
    assert_eq!(code(&ok), 0, "{}", stdout(&ok));
    let v = json(&ok);
    assert_eq!(v["data"]["tenant"], "acme");
    assert_eq!(v["data"]["version"], 1);
    // Times are RFC 3339 in UTC, like every time `trust` prints.
    let at = |k: &str| -> jiff::Timestamp {
        let s = v["data"][k].as_str().unwrap();
        assert!(s.ends_with('Z') && s.len() == 20, "{k}: {s}");
        s.parse().unwrap()
    };
    assert_eq!((at("expires_at") - at("issued_at")).get_seconds(), 900);
    let exp = at("expires_at").as_second();

    // Exit 1 for each refusal, with its own code.
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "--tenant",
                "globex",
                "--scope",
                "chat:write",
                "--audience",
                "chat-widget",
            ],
            "TOKEN_WRONG_TENANT",
        ),
        (
            &[
                "--tenant",
                "acme",
                "--scope",
                "orders:read",
                "--audience",
                "chat-widget",
            ],
            "TOKEN_MISSING_SCOPE",
        ),
        (
            &["--tenant", "acme", "--scope", "chat:write"],
            "TOKEN_WRONG_AUDIENCE",
        ),
        (
            &[
                "--tenant",
                "acme",
                "--scope",
                "chat:write",
                "--audience",
                "chat-widget",
                "--at",
                &(exp + 30).to_string(),
            ],
            "TOKEN_EXPIRED",
        ),
    ];
    for (args, want) in cases {
        let o = h.verify(&tok, args);
        assert_eq!(code(&o), 1, "{args:?}");
        assert_eq!(json(&o)["code"], want, "{args:?}");
    }
    let mut early = EXPECT.to_vec();
    let before = (exp - 900 - 31).to_string();
    early.extend_from_slice(&["--at", &before]);
    assert_eq!(json(&h.verify(&tok, &early))["code"], "TOKEN_NOT_YET_VALID");

    // Tampering: one character of the claims changed.
    let mut bytes = tok.clone().into_bytes();
    let i = tok.find(".1.").unwrap() + 6;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let o = h.verify(&tampered, &EXPECT);
    assert_eq!(code(&o), 1);
    assert!(
        ["TOKEN_INVALID", "TOKEN_MALFORMED"].contains(&json(&o)["code"].as_str().unwrap()),
        "{}",
        stdout(&o)
    );
    let o = h.verify("not a token", &EXPECT);
    assert_eq!(
        (code(&o), json(&o)["code"].as_str()),
        (1, Some("TOKEN_MALFORMED"))
    );

    // Inspection without tenant/scope still checks MAC and time.
    assert_eq!(code(&h.verify(&tok, &["--audience", "chat-widget"])), 0);
}

#[test]
fn token_survives_rotation_until_retired() {
    let h = Home::new();
    let tok = h.issue(&["--ttl", "1h"]);
    let expect = ["--tenant", "acme", "--scope", "chat:write"];
    let o = h.run(&["keys", "rotate", "tokens", "--promote"], "");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let new = h.issue(&["--ttl", "1h"]);
    assert!(new.starts_with("tst1.tokens.2."), "{new}");
    // Rotation does not log anyone out.
    assert_eq!(code(&h.verify(&tok, &expect)), 0);
    assert_eq!(code(&h.verify(&new, &expect)), 0);
    // Retiring version 1 revokes its tokens: key unavailable, exit 4.
    let o = h.run(&["keys", "retire", "tokens", "1"], "");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = h.verify(&tok, &expect);
    assert_eq!(code(&o), 4, "{}", stdout(&o));
    assert_eq!(json(&o)["code"], "KEY_DISABLED");
    assert_eq!(code(&h.verify(&new, &expect)), 0);
}

#[test]
fn token_exit_codes() {
    let h = Home::new();
    // 2: bad TTL, TTL above 24 h, half of tenant/scope, no home.
    assert_eq!(
        code(&h.run(
            &[
                "token", "issue", "--tenant", "a", "--scope", "s", "--ttl", "15"
            ],
            ""
        )),
        2
    );
    let o = h.run(
        &[
            "--json", "token", "issue", "--tenant", "a", "--scope", "s", "--ttl", "25h",
        ],
        "",
    );
    assert_eq!(
        (code(&o), json(&o)["code"].as_str()),
        (2, Some("TOKEN_BAD_REQUEST"))
    );
    let tok = h.issue(&["--ttl", "1m"]);
    assert_eq!(code(&h.verify(&tok, &["--tenant", "acme"])), 2);
    let o = trust(&["token", "verify"], &tok);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // 3: unreadable token file.
    assert_eq!(
        code(&h.verify("", &["--token-file", "/nonexistent/token"])),
        3
    );
    // 4: unknown keyring for issue; unknown version named by a token.
    let o = h.run(
        &[
            "--json", "token", "issue", "--tenant", "a", "--scope", "s", "--ttl", "1m", "--key",
            "nope",
        ],
        "",
    );
    assert_eq!(
        (code(&o), json(&o)["code"].as_str()),
        (4, Some("UNKNOWN_KEYRING"))
    );
    let v9 = tok.replacen("tst1.tokens.1.", "tst1.tokens.9.", 1);
    let o = h.verify(&v9, &["--tenant", "acme", "--scope", "chat:write"]);
    assert_eq!(
        (code(&o), json(&o)["code"].as_str()),
        (4, Some("UNKNOWN_KEY_VERSION"))
    );
}

// --- tls --------------------------------------------------------------------------------------

fn tls_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../trust-core/tests/data/tls")
        .join(name)
}

/// A TLS server on 127.0.0.1 (our policy, or pinned to TLS 1.2) for one handshake.
fn tls_server(tls12_only: bool) -> u16 {
    let chain = tls::load_certs(&tls_data("server.pem")).unwrap();
    let key = tls::load_private_key(&tls_data("server.key")).unwrap();
    let config = if tls12_only {
        rustls::ServerConfig::builder_with_provider(tls::provider())
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap()
    } else {
        tls::server_config(chain, key).unwrap()
    };
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut conn = rustls::ServerConnection::new(config).unwrap();
        while conn.is_handshaking() {
            if conn.complete_io(&mut tcp).is_err() {
                while conn.wants_write() && conn.write_tls(&mut tcp).is_ok() {}
                return;
            }
        }
        let _ = conn.complete_io(&mut tcp);
    });
    port
}

#[test]
fn tls_check_reports_negotiated_version() {
    let ca = tls_data("ca.pem");
    let ca = ca.to_str().unwrap();
    let port = tls_server(false);
    let url = format!("https://127.0.0.1:{port}");
    let o = trust(&["tls", "check", &url, "--ca-file", ca], "");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("TLSv1.3 TLS13_"), "{}", stdout(&o));

    let port = tls_server(true);
    let url = format!("https://127.0.0.1:{port}");
    let o = trust(&["--json", "tls", "check", &url, "--ca-file", ca], "");
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let v = json(&o);
    assert_eq!(v["data"]["protocol"], "TLSv1.2");
    assert!(
        v["data"]["suite"].as_str().unwrap().contains("GCM")
            || v["data"]["suite"].as_str().unwrap().contains("CHACHA20")
    );
}

#[test]
fn tls_check_exit_codes() {
    let ca_path = tls_data("ca.pem");
    let ca = ca_path.to_str().unwrap();
    // 2: http:// and malformed URLs.
    let o = trust(&["--json", "tls", "check", "http://127.0.0.1:8069"], "");
    assert_eq!(
        (code(&o), json(&o)["code"].as_str()),
        (2, Some("TLS_PLAIN_HTTP"))
    );
    assert_eq!(code(&trust(&["tls", "check", "ftp://127.0.0.1"], "")), 2);
    // 3: nothing listening; unreadable CA file.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = trust(
        &[
            "tls",
            "check",
            &format!("https://127.0.0.1:{closed}"),
            "--ca-file",
            ca,
        ],
        "",
    );
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert_eq!(
        code(&trust(
            &[
                "tls",
                "check",
                "https://127.0.0.1:1",
                "--ca-file",
                "/nonexistent.pem"
            ],
            ""
        )),
        3
    );
    // 1: a plain HTTP server behind https://.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        let mut buf = [0u8; 512];
        let _ = tcp.read(&mut buf);
        let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let o = trust(
        &[
            "tls",
            "check",
            &format!("https://127.0.0.1:{port}"),
            "--ca-file",
            ca,
        ],
        "",
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("plain HTTP"), "{}", stderr(&o));
    // 1: a TLS server whose certificate the given CAs do not vouch for.
    let port = tls_server(false);
    let other_ca = tls_data("server.pem");
    let o = trust(
        &[
            "--json",
            "tls",
            "check",
            &format!("https://127.0.0.1:{port}"),
            "--ca-file",
            other_ca.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(
        (code(&o), json(&o)["code"].as_str()),
        (1, Some("TLS_HANDSHAKE_FAILED"))
    );
}

#[test]
fn every_command_has_an_example() {
    for args in [
        &["password", "hash", "--help"][..],
        &["password", "verify", "--help"],
        &["token", "issue", "--help"],
        &["token", "verify", "--help"],
        &["tls", "check", "--help"],
        &["password", "--help"],
        &["token", "--help"],
        &["tls", "--help"],
    ] {
        let o = trust(args, "");
        assert_eq!(code(&o), 0, "{args:?}");
        assert!(stdout(&o).contains("Example:"), "{args:?}: {}", stdout(&o));
    }
}
