//! CLI tests of `trust encrypt`, `decrypt`, `rewrap` and `inspect`: every failure gives its
//! documented exit code, and a failure never writes OUT nor releases plaintext on stdout.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::harness;

/// The shared harness's home with a keyring `orders`.
struct Env {
    h: harness::Env,
}

harness::wraps_env!(Env);

impl Env {
    fn new() -> Self {
        let env = Self {
            h: harness::Env::bare(),
        };
        let key = env.path("root.key");
        env.ok(&["init", "--root-key-file", s(&key)]);
        env.ok(&["keys", "create", "orders"]);
        env
    }

    fn run(&self, args: &[&str]) -> Output {
        harness::run(&mut self.cmd(args), None)
    }

    fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        harness::run(&mut self.cmd(args), Some(input))
    }

    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Expects exit `code` and no output on stdout; returns the error's code (via --json).
    fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?} wrote to stdout on failure");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.lines().count() <= 2, "one line + hint: {stderr}");
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let doc: serde_json::Value = serde_json::from_slice(&self.run(&all).stdout).unwrap();
        assert_eq!(doc["ok"], false);
        doc["code"].as_str().unwrap().to_owned()
    }

    fn seal(&self, name: &str, plain: &[u8], ctx: &[&str]) -> PathBuf {
        let p = self.path(&format!("{name}.plain"));
        std::fs::write(&p, plain).unwrap();
        let c = self.path(name);
        let mut args = vec!["encrypt", "--key", "orders", "-i", s(&p), "-o", s(&c)];
        for kv in ctx {
            args.extend(["--context", kv]);
        }
        self.ok(&args);
        c
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn data(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| u8::try_from(i * 31 % 251).unwrap())
        .collect()
}

#[test]
fn round_trips_files_stdin_and_tokens() {
    let env = Env::new();
    let plain = data(100_000);
    let c = env.seal("c", &plain, &["tenant=acme", "record=7"]);
    let out = env.ok(&[
        "decrypt",
        "--context",
        "record=7",
        "--context",
        "tenant=acme",
        "-i",
        s(&c),
    ]);
    assert_eq!(out, plain);
    let d = env.path("d");
    env.ok(&[
        "decrypt",
        "--context",
        "tenant=acme",
        "--context",
        "record=7",
        "-i",
        s(&c),
        "-o",
        s(&d),
    ]);
    assert_eq!(std::fs::read(&d).unwrap(), plain);

    // stdin → stdout, armored.
    let out = env.run_stdin(
        &["encrypt", "--key", "orders", "--armor", "--context", "t=1"],
        b"shpat_abc",
    );
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap();
    assert!(token.starts_with("tle1.") && token.ends_with('\n'));
    let out = env.run_stdin(&["decrypt", "--context", "t=1"], token.as_bytes());
    assert_eq!(out.stdout, b"shpat_abc");
    // Empty input seals and opens too.
    let c0 = env.seal("c0", b"", &[]);
    assert!(env.ok(&["decrypt", "-i", s(&c0)]).is_empty());
}

#[test]
fn xchacha_keyrings_round_trip() {
    let env = Env::new();
    env.ok(&["keys", "create", "x", "--suite", "xchacha20-poly1305"]);
    let p = env.path("p");
    std::fs::write(&p, data(40_000)).unwrap();
    let c = env.path("c");
    env.ok(&["encrypt", "--key", "x", "-i", s(&p), "-o", s(&c)]);
    let info: serde_json::Value =
        serde_json::from_slice(&env.ok(&["--json", "inspect", s(&c)])).unwrap();
    assert_eq!(info["data"]["suite"], "xchacha20-poly1305");
    assert_eq!(env.ok(&["decrypt", "-i", s(&c)]), data(40_000));
}

#[test]
fn tampering_is_exit_1_and_writes_nothing() {
    let env = Env::new();
    let plain = data(50_000); // four chunks
    let c = env.seal("c", &plain, &[]);
    let good = std::fs::read(&c).unwrap();
    let out = env.path("out");
    std::fs::write(&out, b"previous content").unwrap();
    let bad = env.path("bad");
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        (
            "truncated at a chunk boundary".into(),
            good[..good.len() - (good.len() - 200) % 16_400].to_vec(),
        ),
        (
            "truncated by one byte".into(),
            good[..good.len() - 1].to_vec(),
        ),
        ("extended".into(), [good.clone(), b"x".to_vec()].concat()),
        (
            "extended by a chunk".into(),
            [good.clone(), vec![0; 16_400]].concat(),
        ),
    ];
    for at in [40, 120, 200, 17_000, good.len() - 1] {
        let mut b = good.clone();
        b[at] ^= 0x20;
        cases.push((format!("bit flip at {at}"), b));
    }
    for (what, bytes) in cases {
        std::fs::write(&bad, &bytes).unwrap();
        let code = env.fails(&["decrypt", "-i", s(&bad), "-o", s(&out)], 1);
        assert!(
            [
                "AUTHENTICATION_FAILED",
                "MALFORMED_ENVELOPE",
                "CONTEXT_MISMATCH"
            ]
            .contains(&code.as_str()),
            "{what}: {code}"
        );
        assert_eq!(std::fs::read(&out).unwrap(), b"previous content", "{what}");
        // To stdout the message streams: only whole authenticated chunks, a prefix of the
        // plaintext, then exit 1.
        let streamed = env.run(&["decrypt", "-i", s(&bad)]);
        assert_eq!(streamed.status.code(), Some(1), "{what}");
        assert!(plain.starts_with(&streamed.stdout), "{what}: not a prefix");
        assert_eq!(streamed.stdout.len() % CHUNK, 0, "{what}: a partial chunk");
        assert!(streamed.stdout.len() < plain.len(), "{what}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("trust-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn wrong_context_is_exit_1() {
    let env = Env::new();
    let c = env.seal("c", b"secret", &["tenant=acme"]);
    assert_eq!(
        env.fails(&["decrypt", "--context", "tenant=evil", "-i", s(&c)], 1),
        "CONTEXT_MISMATCH"
    );
    assert_eq!(env.fails(&["decrypt", "-i", s(&c)], 1), "CONTEXT_MISMATCH");
    // Tokens do not store their context: a wrong one fails authentication.
    let out = env.run_stdin(
        &[
            "encrypt",
            "--key",
            "orders",
            "--armor",
            "--context",
            "tenant=acme",
        ],
        b"x",
    );
    let t = env.path("t");
    std::fs::write(&t, out.stdout).unwrap();
    assert_eq!(
        env.fails(&["decrypt", "--context", "tenant=evil", "-i", s(&t)], 1),
        "AUTHENTICATION_FAILED"
    );
    // A malformed --context is a usage error.
    assert_eq!(
        env.fails(&["decrypt", "--context", "novalue", "-i", s(&t)], 2),
        "INVALID_CONTEXT"
    );
}

#[test]
fn unknown_suite_and_version_are_exit_1() {
    let env = Env::new();
    let c = env.seal("c", b"secret", &[]);
    let good = std::fs::read(&c).unwrap();
    assert_eq!(&good[..3], b"TLE");
    let bad = env.path("bad");
    let mut b = good.clone();
    b[3] = 0x7f; // format version
    std::fs::write(&bad, &b).unwrap();
    assert_eq!(
        env.fails(&["decrypt", "-i", s(&bad)], 1),
        "UNSUPPORTED_ENVELOPE_VERSION"
    );
    assert_eq!(
        env.fails(&["inspect", s(&bad)], 1),
        "UNSUPPORTED_ENVELOPE_VERSION"
    );
    let mut b = good;
    b[4] = 0x7f; // suite id, high byte
    std::fs::write(&bad, &b).unwrap();
    assert_eq!(
        env.fails(&["decrypt", "-i", s(&bad)], 1),
        "UNKNOWN_ENVELOPE_SUITE"
    );
}

#[test]
fn non_canonical_armor_is_exit_1() {
    let env = Env::new();
    let out = env.run_stdin(&["encrypt", "--key", "orders", "--armor"], b"value");
    let token = String::from_utf8(out.stdout).unwrap();
    let token = token.trim_end();
    let t = env.path("t");
    let last = token.chars().last().unwrap();
    // Same decoded bytes under lenient decoders, but not canonical: padding, non-zero trailing
    // bits, standard-alphabet characters, whitespace inside.
    let tweaked_last = if "AQgw".contains(last) { 'B' } else { 'A' };
    let variants = [
        format!("{token}="),
        format!("{}{tweaked_last}", &token[..token.len() - 1]),
        token.replacen('-', "+", 1).replacen('_', "/", 1),
        format!("{} {}", &token[..20], &token[20..]),
        token.replacen("tle1.", "tle2.", 1),
    ];
    for v in variants {
        if v == token {
            continue;
        }
        std::fs::write(&t, &v).unwrap();
        let code = env.fails(&["decrypt", "-i", s(&t)], 1);
        assert!(
            [
                "MALFORMED_TOKEN",
                "AUTHENTICATION_FAILED",
                "MALFORMED_ENVELOPE"
            ]
            .contains(&code.as_str()),
            "{v}: {code}"
        );
    }
}

#[test]
fn missing_input_is_exit_3() {
    let env = Env::new();
    assert_eq!(
        env.fails(&["decrypt", "-i", s(&env.path("nope"))], 3),
        "INPUT_UNREADABLE"
    );
    assert_eq!(
        env.fails(
            &[
                "encrypt",
                "--key",
                "orders",
                "-i",
                s(&env.path("nope")),
                "-o",
                s(&env.path("x"))
            ],
            3
        ),
        "INPUT_UNREADABLE"
    );
    assert_eq!(
        env.fails(&["inspect", s(&env.path("nope"))], 3),
        "INPUT_UNREADABLE"
    );
    assert!(!env.path("x").exists());
}

#[test]
fn disabled_destroyed_and_unknown_keys_are_exit_4() {
    let env = Env::new();
    let c = env.seal("c", b"secret", &[]);
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    env.ok(&["keys", "retire", "orders", "1"]);
    assert_eq!(env.fails(&["decrypt", "-i", s(&c)], 4), "KEY_DISABLED");
    env.ok(&["keys", "enable", "orders", "1"]);
    assert_eq!(env.ok(&["decrypt", "-i", s(&c)]), b"secret");
    env.ok(&["keys", "retire", "orders", "1"]);
    env.ok(&["keys", "destroy", "orders", "1", "--yes", "--force"]);
    assert_eq!(env.fails(&["decrypt", "-i", s(&c)], 4), "KEY_DESTROYED");
    // Unknown keyring and unknown version, via a second home.
    let other = Env::new();
    other.ok(&["keys", "rotate", "orders", "--promote"]);
    other.ok(&["keys", "rotate", "orders", "--promote"]);
    let c3 = other.seal("c3", b"x", &[]);
    assert_eq!(
        env.fails(&["decrypt", "-i", s(&c3)], 4),
        "UNKNOWN_KEY_VERSION"
    );
    other.ok(&["keys", "create", "billing"]);
    let p = other.path("p");
    std::fs::write(&p, b"y").unwrap();
    let cb = other.path("cb");
    other.ok(&["encrypt", "--key", "billing", "-i", s(&p), "-o", s(&cb)]);
    assert_eq!(env.fails(&["decrypt", "-i", s(&cb)], 4), "UNKNOWN_KEYRING");
    assert_eq!(
        env.fails(
            &[
                "encrypt",
                "--key",
                "billing",
                "-i",
                s(&p),
                "-o",
                s(&env.path("o"))
            ],
            4
        ),
        "UNKNOWN_KEYRING"
    );
}

#[test]
fn usage_ceiling_forces_rotation() {
    let env = Env::new();
    env.ok(&["keys", "create", "capped", "--max-uses", "2"]);
    let p = env.path("p");
    std::fs::write(&p, b"x").unwrap();
    for i in 0..2 {
        env.ok(&[
            "encrypt",
            "--key",
            "capped",
            "-i",
            s(&p),
            "-o",
            s(&env.path(&format!("c{i}"))),
        ]);
    }
    assert_eq!(
        env.fails(
            &[
                "encrypt",
                "--key",
                "capped",
                "-i",
                s(&p),
                "-o",
                s(&env.path("c2"))
            ],
            4
        ),
        "KEY_USAGE_LIMIT"
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&env.ok(&["--json", "keys", "list", "capped"])).unwrap();
    assert_eq!(doc["data"]["keyrings"][0]["rotation_due"], true);
    env.ok(&["keys", "rotate", "capped", "--promote"]);
    env.ok(&[
        "encrypt",
        "--key",
        "capped",
        "-i",
        s(&p),
        "-o",
        s(&env.path("c2")),
    ]);
}

/// The body's chunk size: streamed output is always a whole number of chunks.
const CHUNK: usize = 16 * 1024;

#[test]
fn large_plaintext_streams_to_stdout() {
    let env = Env::new();
    let plain = data(17 << 20);
    let c = env.seal("big", &plain, &[]);
    assert!(env.ok(&["decrypt", "-i", s(&c)]) == plain);
    // With --json the payload is inline only up to 16 MiB: beyond, -o is the way.
    let out = env.run(&["--json", "decrypt", "-i", s(&c)]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["code"], "USAGE");
    let p = env.path("big.plain");
    let out = env.run(&["--json", "encrypt", "--key", "orders", "-i", s(&p)]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["code"], "USAGE");
    let d = env.path("d");
    env.ok(&["decrypt", "-i", s(&c), "-o", s(&d)]);
    assert!(std::fs::read(&d).unwrap() == plain);
}

/// A truncated stream releases an authenticated prefix and exits 1 — through a real pipe.
#[test]
fn truncated_stream_to_a_pipe_is_exit_1_after_a_prefix() {
    let env = Env::new();
    let plain = data(40 * CHUNK + 100);
    let c = env.seal("c", &plain, &[]);
    let sealed = std::fs::read(&c).unwrap();
    let cut = &sealed[..sealed.len() / 2];
    let out = env.run_stdin(&["decrypt"], cut);
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stdout.is_empty() && plain.starts_with(&out.stdout));
    assert_eq!(out.stdout.len() % CHUNK, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo failed");
}

/// `-o FIFO` writes into the FIFO; it never replaces it with a regular file.
#[cfg(unix)]
#[test]
fn decrypt_to_a_fifo_writes_through_it() {
    use std::os::unix::fs::FileTypeExt;
    let env = Env::new();
    let plain = data(100_000);
    let c = env.seal("c", &plain, &[]);
    let fifo = env.path("fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    env.ok(&["decrypt", "-i", s(&c), "-o", s(&fifo)]);
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "the FIFO was replaced"
    );
    assert!(reader.join().unwrap() == plain);
    // encrypt -o FIFO, too.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let p = env.path("c.plain");
    env.ok(&["encrypt", "--key", "orders", "-i", s(&p), "-o", s(&fifo)]);
    let sealed = reader.join().unwrap();
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    let again = env.path("again");
    std::fs::write(&again, sealed).unwrap();
    assert!(env.ok(&["decrypt", "-i", s(&again)]) == plain);
}

/// `-o` naming a character device writes to it. Tested through a symbolic link to /dev/null:
/// a regression then replaces the link in our temporary directory, never /dev/null itself.
#[cfg(unix)]
#[test]
fn decrypt_to_a_device_writes_to_it() {
    use std::os::unix::fs::FileTypeExt;
    let env = Env::new();
    let c = env.seal("c", b"secret", &[]);
    let null = env.path("null");
    std::os::unix::fs::symlink("/dev/null", &null).unwrap();
    env.ok(&["decrypt", "-i", s(&c), "-o", s(&null)]);
    let meta = std::fs::symlink_metadata(&null).unwrap();
    assert!(meta.file_type().is_symlink(), "the link was replaced");
    assert!(
        std::fs::metadata(&null)
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // A directory is refused (exit 3), not replaced.
    let dir = env.path("adir");
    std::fs::create_dir(&dir).unwrap();
    assert_eq!(
        env.fails(&["decrypt", "-i", s(&c), "-o", s(&dir)], 3),
        "OUTPUT_UNWRITABLE"
    );
    assert!(dir.is_dir());
}

#[test]
fn missing_output_folder_is_exit_3() {
    let env = Env::new();
    let c = env.seal("c", b"secret", &[]);
    let out = env.path("no/such/folder/out");
    assert_eq!(
        env.fails(&["decrypt", "-i", s(&c), "-o", s(&out)], 3),
        "OUTPUT_UNWRITABLE"
    );
    let p = env.path("c.plain");
    assert_eq!(
        env.fails(
            &["encrypt", "--key", "orders", "-i", s(&p), "-o", s(&out)],
            3
        ),
        "OUTPUT_UNWRITABLE"
    );
}

#[cfg(unix)]
#[test]
fn unwritable_output_folder_is_exit_3() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let c = env.seal("c", b"secret", &[]);
    let ro = env.path("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
    if std::fs::write(ro.join("probe"), b"").is_ok() {
        // root ignores directory permissions: there is no permission error to provoke.
        eprintln!("skipped: running as root, a 0500 directory is writable");
        return;
    }
    assert_eq!(
        env.fails(&["decrypt", "-i", s(&c), "-o", s(&ro.join("out"))], 3),
        "OUTPUT_UNWRITABLE"
    );
}

/// `kill -9` in the middle of `decrypt -o`: no file holding any plaintext remains, and an
/// existing target keeps its old content. The child is stopped at a known point without any
/// timing: it blocks reading stdin after we fed it part of the envelope.
#[cfg(unix)]
#[test]
fn kill_9_during_decrypt_leaves_no_plaintext() {
    let env = Env::new();
    let plain = data(8 << 20);
    let c = env.seal("c", &plain, &[]);
    let sealed = std::fs::read(&c).unwrap();
    std::fs::remove_file(env.path("c.plain")).unwrap();
    let outdir = env.path("outdir");
    std::fs::create_dir(&outdir).unwrap();
    let out = outdir.join("out");
    for existing in [false, true] {
        if existing {
            std::fs::write(&out, b"old content").unwrap();
        }
        let mut child = env
            .cmd(&["decrypt", "-o", s(&out)])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // 4 MiB in: when write_all returns, the child has consumed all but a pipe buffer of
        // it, so megabytes of plaintext went to its output file.
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&sealed[..4 << 20]).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        drop(stdin);
        let names: Vec<String> = std::fs::read_dir(&outdir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        if existing {
            assert_eq!(names, ["out"]);
            assert_eq!(std::fs::read(&out).unwrap(), b"old content");
        } else {
            assert!(names.is_empty(), "left behind: {names:?}");
        }
    }
}

/// What an older version (or a crash between link and rename) left is swept by the next
/// write of the same file: for outputs, and for keyrings, whose leftover revisions would
/// otherwise keep wrapped keys alive after a destroy.
#[test]
fn leftover_temporary_files_are_swept() {
    let env = Env::new();
    let c = env.seal("c", b"secret", &[]);
    let out = env.path("out");
    let stale = env.path(".out.trust-tmp-0123456789abcdef");
    std::fs::write(&stale, b"plaintext prefix").unwrap();
    env.ok(&["decrypt", "-i", s(&c), "-o", s(&out)]);
    assert!(!stale.exists());
    // Decrypting again replaces `out`: nothing else appears.
    std::fs::write(&stale, b"plaintext prefix").unwrap();
    env.ok(&["decrypt", "-i", s(&c), "-o", s(&out)]);
    assert!(!stale.exists());

    let keyrings = env.home().join("keyrings");
    let live = keyrings.join("orders.json");
    assert!(live.is_file(), "keyring layout changed: {}", live.display());
    let copy = keyrings.join(".orders.json.tmp-0123456789abcdef");
    std::fs::copy(&live, &copy).unwrap();
    env.ok(&["keys", "rotate", "orders"]);
    assert!(
        !copy.exists(),
        "a stale keyring revision survived a keyring write"
    );
}

#[test]
fn json_gives_one_object_for_encrypt_and_decrypt() {
    let env = Env::new();
    let p = env.path("p");
    std::fs::write(&p, b"secret\x00bytes").unwrap();
    let one = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = env.run(&all);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let mut docs =
            serde_json::Deserializer::from_slice(&out.stdout).into_iter::<serde_json::Value>();
        let doc = docs.next().unwrap().unwrap();
        assert!(docs.next().is_none(), "{args:?}: more than one JSON value");
        assert_eq!(doc["ok"], true, "{args:?}");
        doc["data"].clone()
    };
    let b64 = |v: &serde_json::Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    let c = env.path("c");
    let d = one(&["encrypt", "--key", "orders", "-i", s(&p), "-o", s(&c)]);
    assert_eq!(d["key"], "orders v1");
    assert_eq!(d["bytes"], std::fs::metadata(&c).unwrap().len());
    let d = one(&["decrypt", "-i", s(&c)]);
    assert_eq!(b64(&d["plaintext_base64"]), b"secret\x00bytes");
    let out = env.path("out");
    let d = one(&["decrypt", "-i", s(&c), "-o", s(&out)]);
    assert_eq!(d["bytes"], 12);
    assert_eq!(std::fs::read(&out).unwrap(), b"secret\x00bytes");
    let d = one(&["encrypt", "--key", "orders", "-i", s(&p)]);
    let inline = env.path("inline");
    std::fs::write(&inline, b64(&d["envelope_base64"])).unwrap();
    assert_eq!(env.ok(&["decrypt", "-i", s(&inline)]), b"secret\x00bytes");
    let d = one(&["encrypt", "--key", "orders", "--armor", "-i", s(&p)]);
    let token = d["token"].as_str().unwrap();
    assert!(token.starts_with("tle1."));
    let t = env.path("t");
    std::fs::write(&t, token).unwrap();
    let d = one(&["decrypt", "-i", s(&t)]);
    assert_eq!(b64(&d["plaintext_base64"]), b"secret\x00bytes");
}

#[test]
fn same_input_and_output_is_refused() {
    let env = Env::new();
    let c = env.seal("c", b"secret", &[]);
    assert_eq!(
        env.fails(&["decrypt", "-i", s(&c), "-o", s(&c)], 2),
        "USAGE"
    );
    assert_eq!(env.ok(&["decrypt", "-i", s(&c)]), b"secret");
}

#[test]
fn rewrap_moves_files_in_place_and_skips_current_ones() {
    let env = Env::new();
    let plains: Vec<Vec<u8>> = (0..3).map(|i| data(20_000 + i)).collect();
    let files: Vec<PathBuf> = plains
        .iter()
        .enumerate()
        .map(|(i, p)| env.seal(&format!("f{i}"), p, &[]))
        .collect();
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    let mut args = vec!["--json", "rewrap"];
    args.extend(files.iter().map(|f| s(f)));
    let doc: serde_json::Value = serde_json::from_slice(&env.ok(&args)).unwrap();
    assert_eq!(doc["data"]["rewrapped"], 3);
    assert_eq!(doc["data"]["current"], 0);
    for (i, f) in files.iter().enumerate() {
        let after = std::fs::read(f).unwrap();
        // Body byte-identical: everything after the header.
        let tail = plains[i].len();
        assert_eq!(
            after[after.len() - tail..],
            before[i][before[i].len() - tail..]
        );
        assert_ne!(after, before[i]);
    }
    // Old version retired: every file still opens (it is under v2 now).
    env.ok(&["keys", "retire", "orders", "1"]);
    for (i, f) in files.iter().enumerate() {
        assert_eq!(env.ok(&["decrypt", "-i", s(f)]), plains[i]);
    }
    // Second run: all current, nothing touched.
    let doc: serde_json::Value = serde_json::from_slice(&env.ok(&args)).unwrap();
    assert_eq!(
        (
            doc["data"]["rewrapped"].as_u64(),
            doc["data"]["current"].as_u64()
        ),
        (Some(0), Some(3))
    );
}

#[test]
fn rewrap_reports_failures_and_keeps_going() {
    let env = Env::new();
    let good = env.seal("good", b"fine", &[]);
    let garbage = env.path("garbage");
    std::fs::write(&garbage, b"not an envelope at all").unwrap();
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    let missing = env.path("missing");
    let out = env.run(&["rewrap", s(&garbage), s(&good), s(&missing)]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "first failure decides: malformed (1)"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 of 3 file(s) failed"), "{stderr}");
    assert_eq!(std::fs::read(&garbage).unwrap(), b"not an envelope at all");
    let info: serde_json::Value =
        serde_json::from_slice(&env.ok(&["--json", "inspect", s(&good)])).unwrap();
    assert_eq!(info["data"]["key_version"], 2);
}

#[test]
fn rewrap_of_token_files_needs_their_context() {
    let env = Env::new();
    let out = env.run_stdin(
        &[
            "encrypt",
            "--key",
            "orders",
            "--armor",
            "--context",
            "row=1",
        ],
        b"tok",
    );
    let t = env.path("t");
    std::fs::write(&t, &out.stdout).unwrap();
    env.ok(&["keys", "rotate", "orders", "--promote"]);
    let without = env.run(&["rewrap", s(&t)]);
    assert_eq!(without.status.code(), Some(1));
    // The hint names the cause: tokens do not store their context.
    assert!(
        String::from_utf8_lossy(&without.stderr).contains("--context"),
        "{}",
        String::from_utf8_lossy(&without.stderr)
    );
    env.ok(&["rewrap", "--context", "row=1", s(&t)]);
    assert_ne!(std::fs::read(&t).unwrap(), out.stdout);
    env.ok(&["keys", "retire", "orders", "1"]);
    assert_eq!(
        env.ok(&["decrypt", "--context", "row=1", "-i", s(&t)]),
        b"tok"
    );
}

/// `kill -9` while rewrapping: every file is afterwards either the old or the new envelope,
/// and decrypts.
#[cfg(unix)]
#[test]
fn kill_9_during_rewrap_loses_nothing() {
    let env = Env::new();
    let plain = data(3 << 20);
    let files: Vec<PathBuf> = (0..4)
        .map(|i| env.seal(&format!("f{i}"), &plain, &[]))
        .collect();
    for round in 0..12u64 {
        env.ok(&["keys", "rotate", "orders", "--promote"]);
        let mut args = vec!["rewrap"];
        args.extend(files.iter().map(|f| s(f)));
        let mut child = env
            .cmd(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2 + round * 4));
        let _ = child.kill();
        let _ = child.wait();
        for f in &files {
            assert_eq!(
                env.ok(&["decrypt", "-i", s(f), "-o", s(&env.path("check"))]),
                b""
            );
            assert_eq!(
                std::fs::read(env.path("check")).unwrap(),
                plain,
                "round {round}"
            );
        }
    }
    // Finishing the job afterwards works and leaves everything current.
    let mut args = vec!["rewrap"];
    args.extend(files.iter().map(|f| s(f)));
    env.ok(&args);
}

#[test]
fn inspect_shows_header_without_secrets() {
    let env = Env::new();
    let c = env.seal("c", b"shpat_SECRET", &["tenant=acme"]);
    let text = String::from_utf8(env.ok(&["inspect", s(&c)])).unwrap();
    assert!(text.contains("orders v1"), "{text}");
    assert!(text.contains("tenant=acme"), "{text}");
    assert!(text.contains("aes-256-gcm"), "{text}");
    assert!(!text.contains("SECRET"));
    // Cut inside the header: inspect says so (it checks no tag, so a cut inside the body is
    // only found by decrypt).
    let t = env.path("t");
    std::fs::write(&t, &std::fs::read(&c).unwrap()[..20]).unwrap();
    assert_eq!(env.fails(&["inspect", s(&t)], 1), "MALFORMED_ENVELOPE");
}
