//! Homes whose root key is an AWS KMS key, run against `moto_server`, an
//! EMULATOR of the KMS API (not AWS itself): `source .ci/moto` starts two of them. Skipped with
//! a printed reason when TRUST_TEST_KMS_ENDPOINT is unset; failed under CI=true.
//!
//! What moto does and does not emulate, and so what these tests can show:
//! * Encrypt/Decrypt with an encryption context, unknown keys and aliases (NotFoundException):
//!   emulated, tested here.
//! * IAM authorization (SigV4 signature and user policies), once switched on with
//!   `/moto-api/reset-auth`: emulated, tested on the second server; moto answers a denied call
//!   with HTTP 403 and an XML body, where AWS answers 400 `AccessDeniedException`, and both are
//!   KMS_ACCESS_DENIED (exit 4).
//! * DisableKey / ScheduleKeyDeletion: moto (5.2.1 installed, 5.2.5 the newest on PyPI) records
//!   the key state but keeps decrypting under a disabled or pending-deletion key, so the
//!   `DisabledException` / `KMSInvalidStateException` answer of AWS (KMS_KEY_DISABLED, exit 4)
//!   cannot come from a server here. The nearest states moto does enforce, an alias deleted and
//!   a principal denied, are what `a_key_taken_away_is_exit_4` uses; the proxy below gives AWS's
//!   documented answers in `a_disabled_or_pending_deletion_key_is_exit_4_without_retries`.
//! * Throttling: moto never throttles. `throttling_is_retried_then_reported` puts a loopback
//!   proxy in front of moto that answers chosen requests with the error document AWS documents
//!   for throttling (`ThrottlingException`) and forwards the others, to show that the SDK's
//!   retry policy absorbs it and that persistent throttling is exit 3.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn endpoint(var: &str, test: &str) -> Option<String> {
    let Ok(e) = std::env::var(var) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: {var} is unset under CI=true (source .ci/moto)"
        );
        eprintln!("skipping {test}: {var} is unset (source .ci/moto for the moto KMS emulator)");
        return None;
    };
    Some(e)
}

/// One HTTP request to the emulator; returns (status, body).
fn http(endpoint: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// One KMS JSON API call, unsigned (accepted while moto's IAM checks are off).
fn kms(endpoint: &str, target: &str, body: &str) -> serde_json::Value {
    let (status, out) = http(
        endpoint,
        "/",
        &format!(
            "Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.{target}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00\r\n"
        ),
        body,
    );
    assert_eq!(status, 200, "{target}: {out}");
    serde_json::from_str(&out).unwrap_or(serde_json::Value::Null)
}

/// One IAM query API call, unsigned; returns the XML body.
fn iam(endpoint: &str, params: &[(&str, &str)]) -> String {
    let mut body = String::from("Version=2010-05-08");
    for (k, v) in params {
        body.push('&');
        body.push_str(k);
        body.push('=');
        body.push_str(&form_encode(v));
    }
    let (status, out) = http(
        endpoint,
        "/",
        "Content-Type: application/x-www-form-urlencoded\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00\r\n",
        &body,
    );
    assert_eq!(status, 200, "{params:?}: {out}");
    out
}

fn form_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn xml_field<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml.find(&open).unwrap() + open.len();
    let end = start + xml[start..].find("</").unwrap();
    &xml[start..end]
}

/// Switches moto's IAM authentication on (`0`: from the next request) or off (`inf`).
fn moto_auth(endpoint: &str, count: &str) {
    let (status, out) = http(endpoint, "/moto-api/reset-auth", "", count);
    assert_eq!(status, 200, "{out}");
}

fn create_key(endpoint: &str) -> String {
    kms(endpoint, "CreateKey", "{}")["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A home directory and how `trust` reaches KMS from it. Clones share the directory: a clone
/// with another endpoint or other credentials is the same home seen by another process.
#[derive(Clone)]
struct Env {
    dir: Arc<tempfile::TempDir>,
    endpoint: String,
    access: (String, String),
}

impl Env {
    fn new(endpoint: &str) -> Self {
        Self {
            dir: Arc::new(tempfile::tempdir().unwrap()),
            endpoint: endpoint.to_owned(),
            access: ("testing".into(), "testing".into()),
        }
    }

    /// The same home, reaching KMS at `endpoint`.
    fn via(&self, endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            ..self.clone()
        }
    }

    /// The same home, with other AWS credentials.
    fn as_principal(&self, access: (&str, &str)) -> Self {
        Self {
            access: (access.0.to_owned(), access.1.to_owned()),
            ..self.clone()
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `trust` configured the AWS way: endpoint, region and credentials from the environment.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_trust"));
        c.arg("--home")
            .arg(self.path("home"))
            .args(args)
            .env_remove("TRUST_HOME")
            .env_remove("TRUST_AUDIT_LOG")
            .env_remove("AWS_PROFILE")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", &self.access.0)
            .env("AWS_SECRET_ACCESS_KEY", &self.access.1)
            // No shared config or credentials files from the machine running the tests.
            .env("AWS_CONFIG_FILE", self.path("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.path("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
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

    /// Runs `args` with `--json` and checks the exit code and the error code.
    fn fails(&self, args: &[&str], exit: i32, code: &str) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out: Output = self.cmd(&all).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(exit),
            "{args:?}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["code"], code, "{v}");
        v
    }

    /// A sealed file of `text` under keyring `orders` (context t=acme).
    fn seal(&self, name: &str, text: &str) -> PathBuf {
        let plain = self.path(&format!("{name}.txt"));
        std::fs::write(&plain, text).unwrap();
        let sealed = self.path(&format!("{name}.tle"));
        self.ok(&[
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
        sealed
    }

    fn decrypt_args(sealed: &Path) -> [&str; 5] {
        ["decrypt", "--context", "t=acme", "-i", p(sealed)]
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_kms_home_creates_encrypts_rotates_and_decrypts() {
    let Some(ep) = endpoint(
        "TRUST_TEST_KMS_ENDPOINT",
        "a_kms_home_creates_encrypts_rotates_and_decrypts",
    ) else {
        return;
    };
    let key = create_key(&ep);
    let env = Env::new(&ep);
    let out = env.ok(&["--json", "init", "--root-aws-kms", &key]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["root"], "aws-kms");
    let descriptor = v["data"]["root_uri"].as_str().unwrap();
    assert!(
        descriptor.starts_with(&format!("aws-kms:key={key};store=")),
        "{descriptor}"
    );
    let home_json = std::fs::read_to_string(env.path("home/home.json")).unwrap();
    assert!(home_json.contains(r#""backend": "aws-kms""#), "{home_json}");
    assert!(!home_json.contains("testing"), "no credential in the home");

    env.ok(&["keys", "create", "orders"]);
    let sealed = env.seal("a", "shpat_secret");
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    let later = env.seal("b", "whsec_later");
    assert_eq!(env.ok(&Env::decrypt_args(&sealed)), "shpat_secret");
    assert_eq!(env.ok(&Env::decrypt_args(&later)), "whsec_later");

    // Another home on the same KMS key has another store id: its keyring files do not open here.
    let other = Env::new(&ep);
    other.ok(&["init", "--root-aws-kms", &key]);
    other.ok(&["keys", "create", "orders"]);
    std::fs::copy(
        other.path("home/keyrings/orders.json"),
        env.path("home/keyrings/orders.json"),
    )
    .unwrap();
    let out = env.cmd(&Env::decrypt_args(&sealed)).output().unwrap();
    assert!(!out.status.success(), "a foreign keyring opened");

    // Usage errors: a bad key id and a PIN file with a KMS root are refused before any call.
    let bad = Env::new(&ep);
    bad.fails(
        &["init", "--root-aws-kms", "not a key"],
        2,
        "KMS_KEY_ID_INVALID",
    );
    assert!(!bad.path("home/home.json").exists());
    std::fs::write(bad.path("pin"), "1234").unwrap();
    let v = bad.fails(
        &[
            "init",
            "--root-aws-kms",
            &key,
            "--pin-file",
            p(&bad.path("pin")),
        ],
        2,
        "USAGE",
    );
    assert!(v["message"].as_str().unwrap().contains("--pin-file"), "{v}");

    // No region, no credentials: configuration errors (2) before any request, no home written.
    for (unset, why) in [
        ("AWS_REGION", "region"),
        ("AWS_ACCESS_KEY_ID", "credentials"),
    ] {
        let out = bad
            .cmd(&["--json", "init", "--root-aws-kms", &key])
            .env_remove(unset)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "without {why}: {out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["code"], "KMS_CONFIG_INCOMPLETE", "{v}");
        assert!(!bad.path("home/home.json").exists());
    }
}

#[test]
fn rewrap_root_moves_a_key_file_home_to_kms() {
    let Some(ep) = endpoint(
        "TRUST_TEST_KMS_ENDPOINT",
        "rewrap_root_moves_a_key_file_home_to_kms",
    ) else {
        return;
    };
    let key = create_key(&ep);
    kms(
        &ep,
        "CreateAlias",
        &format!(r#"{{"AliasName":"alias/trust-rewrap-{key}","TargetKeyId":"{key}"}}"#),
    );
    let alias = format!("alias/trust-rewrap-{key}");
    let env = Env::new(&ep);
    let root_file = env.path("root.key");
    env.ok(&["init", "--root-key-file", p(&root_file)]);
    env.ok(&["keys", "create", "orders"]);
    let sealed = env.seal("a", "before the move");
    let keyring_before = std::fs::read(env.path("home/keyrings/orders.json")).unwrap();
    let sealed_before = std::fs::read(&sealed).unwrap();

    // Not confirmed: refused (5), nothing changed.
    env.fails(
        &["keys", "rewrap-root", "--to-aws-kms", &alias],
        5,
        "REFUSED",
    );
    // Neither target: usage (2).
    env.fails(&["keys", "rewrap-root", "--yes"], 2, "USAGE");

    let out = env.ok(&[
        "--json",
        "keys",
        "rewrap-root",
        "--to-aws-kms",
        &alias,
        "--yes",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["root"], "aws-kms");
    assert_eq!(v["data"]["keyrings"], 1);
    assert_ne!(
        std::fs::read(env.path("home/keyrings/orders.json")).unwrap(),
        keyring_before,
        "the keyring's wrapping changed"
    );
    assert_eq!(std::fs::read(&sealed).unwrap(), sealed_before);
    assert_eq!(env.ok(&Env::decrypt_args(&sealed)), "before the move");

    // The old key file no longer opens the home: the home record names the KMS key now, and
    // the keyring is wrapped under it.
    let home_json = std::fs::read_to_string(env.path("home/home.json")).unwrap();
    assert!(home_json.contains(r#""backend": "aws-kms""#), "{home_json}");
    let out = env
        .cmd(&[
            "--json",
            "decrypt",
            "--root-key-file",
            p(&root_file),
            "--context",
            "t=acme",
            "-i",
            p(&sealed),
        ])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the old key file still opens it");
}

/// A move interrupted after the new home record was written (KMS throttles every request
/// after the first) is finished by running the same command again, with the store id the
/// interrupted run chose.
#[test]
fn an_interrupted_move_to_kms_resumes_with_its_store_id() {
    let Some(ep) = endpoint(
        "TRUST_TEST_KMS_ENDPOINT",
        "an_interrupted_move_to_kms_resumes_with_its_store_id",
    ) else {
        return;
    };
    let key = create_key(&ep);
    let env = Env::new(&ep);
    env.ok(&["init", "--root-key-file", p(&env.path("root.key"))]);
    env.ok(&["keys", "create", "orders"]);
    let sealed = env.seal("a", "moved twice");

    // Request 0 (the new record's check value) passes; the keyring's rewrap is throttled.
    let (proxy, _) = throttling_proxy(&ep, |n| n >= 1);
    env.via(&proxy).fails(
        &["keys", "rewrap-root", "--to-aws-kms", &key, "--yes"],
        3,
        "KMS_THROTTLED",
    );
    let pending = std::fs::read_to_string(env.path("home/home.next.json")).unwrap();
    let store = pending
        .split("store=")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    // The home refuses to open half-moved.
    env.fails(&Env::decrypt_args(&sealed), 2, "USAGE");

    let out = env.ok(&[
        "--json",
        "keys",
        "rewrap-root",
        "--to-aws-kms",
        &key,
        "--yes",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["data"]["root_uri"],
        format!("aws-kms:key={key};store={store}")
    );
    assert!(!env.path("home/home.next.json").exists());
    assert_eq!(env.ok(&Env::decrypt_args(&sealed)), "moved twice");
}

/// Access taken away: the nearest real cases moto enforces (see the module docs for why a
/// disabled key itself cannot be shown against moto).
#[test]
fn a_key_taken_away_is_exit_4() {
    let Some(ep) = endpoint("TRUST_TEST_KMS_IAM_ENDPOINT", "a_key_taken_away_is_exit_4") else {
        return;
    };
    // The IAM server is this test's alone; a previous run may have left its checks on.
    moto_auth(&ep, "inf");
    let key = create_key(&ep);
    let tag = key.replace('-', "");
    let alias = format!("alias/trust-gone-{tag}");
    kms(
        &ep,
        "CreateAlias",
        &format!(r#"{{"AliasName":"{alias}","TargetKeyId":"{key}"}}"#),
    );
    // Two principals: the operator may use the key; the reader's policy denies Decrypt.
    let mut creds = Vec::new();
    for (user, policy) in [
        (
            format!("ops-{tag}"),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
        ),
        (
            format!("reader-{tag}"),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#,
        ),
    ] {
        iam(&ep, &[("Action", "CreateUser"), ("UserName", &user)]);
        iam(
            &ep,
            &[
                ("Action", "PutUserPolicy"),
                ("UserName", &user),
                ("PolicyName", "trust"),
                ("PolicyDocument", policy),
            ],
        );
        let xml = iam(&ep, &[("Action", "CreateAccessKey"), ("UserName", &user)]);
        creds.push((
            xml_field(&xml, "AccessKeyId").to_owned(),
            xml_field(&xml, "SecretAccessKey").to_owned(),
        ));
    }

    let env = Env::new(&ep).as_principal((&creds[0].0, &creds[0].1));
    moto_auth(&ep, "0");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        env.ok(&["init", "--root-aws-kms", &alias]);
        env.ok(&["keys", "create", "orders"]);
        let sealed = env.seal("a", "shpat_secret");
        assert_eq!(env.ok(&Env::decrypt_args(&sealed)), "shpat_secret");

        // The reader's policy denies kms:Decrypt: moto's IAM check refuses the call.
        let reader = env.as_principal((&creds[1].0, &creds[1].1));
        let v = reader.fails(&Env::decrypt_args(&sealed), 4, "KMS_ACCESS_DENIED");
        assert!(v["message"].as_str().unwrap().contains("denied"), "{v}");
        // Credentials KMS does not know: denied as well.
        env.as_principal(("AKIAUNKNOWN000000000", "nope")).fails(
            &Env::decrypt_args(&sealed),
            4,
            "KMS_ACCESS_DENIED",
        );
    }));
    moto_auth(&ep, "inf");
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }

    // The alias the home names is deleted: the key cannot be found (4), not a tampering verdict.
    kms(&ep, "DeleteAlias", &format!(r#"{{"AliasName":"{alias}"}}"#));
    let env = env.as_principal(("testing", "testing"));
    let sealed = env.path("a.tle");
    let v = env.fails(&Env::decrypt_args(&sealed), 4, "KMS_KEY_NOT_FOUND");
    assert!(!v["message"].as_str().unwrap().contains("testing"), "{v}");
}

#[test]
fn an_unreachable_endpoint_is_exit_3() {
    let Some(ep) = endpoint(
        "TRUST_TEST_KMS_ENDPOINT",
        "an_unreachable_endpoint_is_exit_3",
    ) else {
        return;
    };
    let key = create_key(&ep);
    let env = Env::new(&ep);
    env.ok(&["init", "--root-aws-kms", &key]);
    env.ok(&["keys", "create", "orders"]);
    let sealed = env.seal("a", "x");
    let v = env
        .via("http://127.0.0.1:9")
        .fails(&Env::decrypt_args(&sealed), 3, "KMS_UNREACHABLE");
    assert!(
        v["message"].as_str().unwrap().contains("unreachable"),
        "{v}"
    );
    // init against an unreachable endpoint writes no home.
    let fresh = Env::new("http://127.0.0.1:9");
    fresh.fails(&["init", "--root-aws-kms", &key], 3, "KMS_UNREACHABLE");
    assert!(!fresh.path("home/home.json").exists());
}

/// A loopback proxy in front of moto: requests whose 0-based index `throttle` says yes are
/// answered with AWS's documented throttling error, the others are forwarded to moto.
fn throttling_proxy(upstream: &str, throttle: fn(usize) -> bool) -> (String, Arc<AtomicUsize>) {
    fault_proxy(upstream, "ThrottlingException", throttle)
}

/// A loopback proxy in front of moto: requests whose 0-based index `fault` says yes are
/// answered with the AWS error `error_type` (a documented KMS error), the others are forwarded.
fn fault_proxy(
    upstream: &str,
    error_type: &'static str,
    fault: fn(usize) -> bool,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let counter = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let (upstream, counter) = (upstream.clone(), counter.clone());
            std::thread::spawn(move || serve(conn, &upstream, &counter, error_type, fault));
        }
    });
    (format!("http://{addr}"), seen)
}

/// Reads one HTTP/1.1 message (head and Content-Length body) from `r`.
fn read_message(r: &mut impl BufRead) -> Option<(String, Vec<u8>)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some((head, body))
}

fn serve(
    conn: TcpStream,
    upstream: &str,
    counter: &AtomicUsize,
    error_type: &str,
    fault: fn(usize) -> bool,
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn;
    while let Some((head, body)) = read_message(&mut reader) {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        if fault(n) {
            let doc =
                format!(r#"{{"__type":"{error_type}","message":"refused by the test proxy"}}"#);
            let _ = write!(
                writer,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: {error_type}\r\nx-amzn-RequestId: 00000000-0000-0000-0000-00000000000{}\r\nContent-Length: {}\r\n\r\n{doc}",
                n % 10,
                doc.len()
            );
            continue;
        }
        let mut up = TcpStream::connect(upstream).unwrap();
        up.write_all(head.as_bytes()).unwrap();
        up.write_all(&body).unwrap();
        let mut up_reader = BufReader::new(up);
        let Some((rhead, rbody)) = read_message(&mut up_reader) else {
            return;
        };
        if writer.write_all(rhead.as_bytes()).is_err() || writer.write_all(&rbody).is_err() {
            return;
        }
    }
}

#[test]
fn throttling_is_retried_then_reported() {
    let Some(ep) = endpoint(
        "TRUST_TEST_KMS_ENDPOINT",
        "throttling_is_retried_then_reported",
    ) else {
        return;
    };
    let key = create_key(&ep);
    let env = Env::new(&ep);
    env.ok(&["init", "--root-aws-kms", &key]);
    env.ok(&["keys", "create", "orders"]);
    let sealed = env.seal("a", "through the storm");

    // The first two requests of the process are throttled, the third is answered: the retry
    // policy absorbs it and the command succeeds.
    let (proxy, seen) = throttling_proxy(&ep, |n| n < 2);
    assert_eq!(
        env.via(&proxy).ok(&Env::decrypt_args(&sealed)),
        "through the storm"
    );
    assert!(seen.load(Ordering::SeqCst) >= 3, "no retry happened");

    // Throttled on every attempt: reported after the retries, as a service that cannot answer
    // now (3), not as a missing key.
    let (proxy, seen) = throttling_proxy(&ep, |_| true);
    let v = env
        .via(&proxy)
        .fails(&Env::decrypt_args(&sealed), 3, "KMS_THROTTLED");
    assert!(v["message"].as_str().unwrap().contains("throttl"), "{v}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        5,
        "five attempts, then the error"
    );
}

/// AWS answers Decrypt under a disabled key with `DisabledException` and under a key pending
/// deletion with `KMSInvalidStateException`. moto does not (it keeps decrypting), so the proxy
/// gives AWS's documented answers: this shows our mapping (exit 4, not retried), not moto's.
#[test]
fn a_disabled_or_pending_deletion_key_is_exit_4_without_retries() {
    let Some(ep) = endpoint(
        "TRUST_TEST_KMS_ENDPOINT",
        "a_disabled_or_pending_deletion_key_is_exit_4_without_retries",
    ) else {
        return;
    };
    let key = create_key(&ep);
    let env = Env::new(&ep);
    env.ok(&["init", "--root-aws-kms", &key]);
    env.ok(&["keys", "create", "orders"]);
    let sealed = env.seal("a", "locked away");
    for error_type in ["DisabledException", "KMSInvalidStateException"] {
        let (proxy, seen) = fault_proxy(&ep, error_type, |_| true);
        env.via(&proxy)
            .fails(&Env::decrypt_args(&sealed), 4, "KMS_KEY_DISABLED");
        assert_eq!(
            seen.load(Ordering::SeqCst),
            1,
            "{error_type} is final, not retried"
        );
    }
    // The key enabled again (the proxy gone): the same data opens.
    assert_eq!(env.ok(&Env::decrypt_args(&sealed)), "locked away");
}
