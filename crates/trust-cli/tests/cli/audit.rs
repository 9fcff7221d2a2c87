//! CLI tests of `trust audit`: every exit code and every tamper case of issue 4.
#![allow(clippy::cast_possible_truncation)] // record lengths in test logs are small

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

const ORIGIN: &str = "example.com/audit/cli";

use super::harness::{self, run_args as trust};

fn ok(args: &[&str]) -> String {
    let out = trust(args);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Log {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    vkey: String,
}

impl Log {
    fn p(&self) -> &str {
        self.dir.to_str().unwrap()
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.parent().unwrap().join(name)
    }
}

fn init() -> Log {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let out = ok(&[
        "--json",
        "audit",
        "init",
        "--log",
        dir.to_str().unwrap(),
        "--origin",
        ORIGIN,
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let vkey = v["data"]["vkey"].as_str().unwrap().to_owned();
    assert!(vkey.starts_with(&format!("{ORIGIN}+")));
    Log {
        _tmp: tmp,
        dir,
        vkey,
    }
}

fn import_n(log: &Log, n: usize) {
    let file = log.path("in.jsonl");
    let mut f = fs::File::create(&file).unwrap();
    for i in 0..n {
        writeln!(
            f,
            r#"{{"event":"connector.sync","time_ms":{},"actor":"worker-{}","attrs":{{"n":"{i}"}}}}"#,
            1_700_000_000_000u64 + i as u64,
            i % 4
        )
        .unwrap();
    }
    drop(f);
    ok(&[
        "audit",
        "import",
        "--log",
        log.p(),
        "--batch",
        "3",
        file.to_str().unwrap(),
    ]);
}

fn verify_json(log: &Log, state: Option<&Path>) -> (i32, serde_json::Value) {
    let mut args = vec![
        "--json",
        "audit",
        "verify",
        "--log",
        log.p(),
        "--vkey",
        &log.vkey,
    ];
    let s;
    if let Some(st) = state {
        s = st.to_str().unwrap().to_owned();
        args.extend(["--state", &s]);
    }
    let out = trust(&args);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), v)
}

fn segment(log: &Log) -> PathBuf {
    let mut segs: Vec<PathBuf> = fs::read_dir(log.dir.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segs.sort();
    segs.remove(0)
}

/// (offset, length) of every record of the first segment, from the documented framing:
/// 24-byte header, then u32 BE length ‖ leaf ‖ 32-byte hash; in a preallocated (version 2)
/// segment a zero length ends the data.
fn records(seg: &Path) -> Vec<(usize, usize)> {
    let b = fs::read(seg).unwrap();
    let mut out = Vec::new();
    let mut pos = 24;
    while pos + 4 <= b.len() {
        let len = u32::from_be_bytes(b[pos..pos + 4].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        out.push((pos, 4 + len + 32));
        pos += 4 + len + 32;
    }
    out
}

#[test]
fn help_has_examples_for_every_command() {
    for cmd in [
        "init",
        "append",
        "import",
        "checkpoint",
        "verify",
        "prove",
        "verify-proof",
        "consistency",
    ] {
        let out = ok(&["audit", cmd, "--help"]);
        assert!(out.contains("Example: trust audit"), "{cmd}: {out}");
    }
}

#[test]
fn round_trip_exit_zero_and_state_pinning() {
    let log = init();
    import_n(&log, 10);
    ok(&[
        "audit",
        "append",
        "--log",
        log.p(),
        "--event",
        "key.rotate",
        "--actor",
        "ops",
        "--attr",
        "key=orders",
    ]);
    let note = ok(&["audit", "checkpoint", "--log", log.p()]);
    assert!(note.starts_with(&format!("{ORIGIN}\n11\n")), "{note}");
    let state = log.path("auditor.state");
    let (code, v) = verify_json(&log, Some(&state));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["entries"], 11);
    assert_eq!(fs::read_to_string(&state).unwrap(), note);
    // vkey may also be given as a file.
    ok(&[
        "audit",
        "verify",
        "--log",
        log.p(),
        "--vkey",
        log.dir.join("vkey").to_str().unwrap(),
    ]);
}

#[test]
fn flipped_byte_exits_one_with_kind_and_index_and_keeps_state() {
    let log = init();
    import_n(&log, 6);
    ok(&["audit", "checkpoint", "--log", log.p()]);
    let state = log.path("st");
    assert_eq!(verify_json(&log, Some(&state)).0, 0);
    let pinned = fs::read(&state).unwrap();
    let seg = segment(&log);
    let recs = records(&seg);
    let orig = fs::read(&seg).unwrap();
    for (i, (off, len)) in recs.iter().enumerate() {
        for b in [off + 4, off + 20, off + len - 1] {
            let mut bytes = orig.clone();
            bytes[b] ^= 0x80;
            fs::write(&seg, &bytes).unwrap();
            let (code, v) = verify_json(&log, Some(&state));
            assert_eq!(code, 1, "{v}");
            assert_eq!(v["ok"], false);
            assert_eq!(v["first_bad_index"], i as u64, "byte {b}: {v}");
            assert!(v["kind"].is_string());
            assert_eq!(
                fs::read(&state).unwrap(),
                pinned,
                "state must not move on failure"
            );
        }
    }
    // A length field that no longer parses: still exit 1 (not 3), MALFORMED at that entry.
    let mut bytes = orig.clone();
    bytes[recs[2].0] = 0xff;
    fs::write(&seg, &bytes).unwrap();
    let (code, v) = verify_json(&log, None);
    assert_eq!(code, 1);
    assert_eq!(v["kind"], "MALFORMED");
    assert_eq!(v["first_bad_index"], 2);
}

#[test]
fn swapped_entries_exit_one() {
    let log = init();
    import_n(&log, 6);
    ok(&["audit", "checkpoint", "--log", log.p()]);
    let seg = segment(&log);
    let recs = records(&seg);
    let b = fs::read(&seg).unwrap();
    let (x, y) = (recs[1], recs[2]);
    let mut out = b[..x.0].to_vec();
    out.extend_from_slice(&b[y.0..y.0 + y.1]);
    out.extend_from_slice(&b[x.0..x.0 + x.1]);
    out.extend_from_slice(&b[y.0 + y.1..]);
    fs::write(&seg, out).unwrap();
    let (code, v) = verify_json(&log, None);
    assert_eq!(code, 1);
    assert_eq!(v["kind"], "INDEX_GAP");
    assert_eq!(v["first_bad_index"], 1);
}

#[test]
fn deleted_entry_exits_one_as_index_gap() {
    let log = init();
    import_n(&log, 6);
    ok(&["audit", "checkpoint", "--log", log.p()]);
    let seg = segment(&log);
    let recs = records(&seg);
    let b = fs::read(&seg).unwrap();
    let mut out = b[..recs[3].0].to_vec();
    out.extend_from_slice(&b[recs[4].0..]);
    fs::write(&seg, out).unwrap();
    let (code, v) = verify_json(&log, None);
    assert_eq!(code, 1);
    assert_eq!(v["kind"], "INDEX_GAP");
    assert_eq!(v["first_bad_index"], 3);
}

#[test]
fn truncation_after_pinned_checkpoint_is_truncated() {
    let log = init();
    import_n(&log, 8);
    ok(&["audit", "checkpoint", "--log", log.p()]);
    let state = log.path("st");
    assert_eq!(verify_json(&log, Some(&state)).0, 0);
    let seg = segment(&log);
    let recs = records(&seg);
    let b = fs::read(&seg).unwrap();
    fs::write(&seg, &b[..recs[5].0]).unwrap();
    for e in fs::read_dir(log.dir.join("checkpoints")).unwrap() {
        fs::remove_file(e.unwrap().path()).unwrap();
    }
    let (code, v) = verify_json(&log, Some(&state));
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["kind"], "TRUNCATED");
    assert_eq!(v["first_bad_index"], 5);
}

#[test]
fn two_checkpoints_same_size_is_fork_and_consistency_command() {
    let log = init();
    import_n(&log, 4);
    let a = ok(&["audit", "checkpoint", "--log", log.p()]);
    fs::write(log.path("a.note"), &a).unwrap();
    import_n(&log, 4);
    let b = ok(&["audit", "checkpoint", "--log", log.p()]);
    fs::write(log.path("b.note"), &b).unwrap();
    let (pa, pb) = (log.path("a.note"), log.path("b.note"));
    let (pa, pb) = (pa.to_str().unwrap(), pb.to_str().unwrap());
    let out = ok(&[
        "--json",
        "audit",
        "consistency",
        "--vkey",
        &log.vkey,
        "--old",
        pa,
        "--new",
        pb,
        "--log",
        log.p(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let proof = v["data"]["proof"].as_str().unwrap().to_owned();
    fs::write(log.path("proof.txt"), &proof).unwrap();
    let pp = log.path("proof.txt");
    ok(&[
        "audit",
        "consistency",
        "--vkey",
        &log.vkey,
        "--old",
        pa,
        "--new",
        pb,
        "--proof",
        pp.to_str().unwrap(),
    ]);
    // Reversed order: the new one is smaller -> exit 1 (TRUNCATED).
    let out = trust(&[
        "--json",
        "audit",
        "consistency",
        "--vkey",
        &log.vkey,
        "--old",
        pb,
        "--new",
        pa,
        "--proof",
        pp.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    // A second, different checkpoint of size 8 signed with the log's key: FORK.
    let skey = fs::read_to_string(log.dir.join("signing.key")).unwrap();
    assert!(skey.starts_with("PRIVATE+KEY+"));
    let tmp2 = tempfile::tempdir().unwrap();
    let other = tmp2.path().join("other");
    // Build a forked log under the same key: copy the log, rewrite an entry, re-sign.
    copy_dir(&log.dir, &other);
    let seg = segment(&Log {
        _tmp: tempfile::tempdir().unwrap(),
        dir: other.clone(),
        vkey: String::new(),
    });
    let recs = records(&seg);
    let mut bytes = fs::read(&seg).unwrap();
    bytes.truncate(recs[7].0);
    fs::write(&seg, &bytes).unwrap();
    for e in fs::read_dir(other.join("checkpoints")).unwrap() {
        fs::remove_file(e.unwrap().path()).unwrap();
    }
    fs::write(other.join("tree.head"), "0\n").unwrap();
    ok(&[
        "audit",
        "append",
        "--log",
        other.to_str().unwrap(),
        "--event",
        "forged.entry",
    ]);
    let forged = ok(&["audit", "checkpoint", "--log", other.to_str().unwrap()]);
    assert!(forged.starts_with(&format!("{ORIGIN}\n8\n")));
    assert_ne!(forged, b);
    let pf = log.path("forged.note");
    fs::write(&pf, &forged).unwrap();
    let out = trust(&[
        "--json",
        "audit",
        "consistency",
        "--vkey",
        &log.vkey,
        "--old",
        pb,
        "--new",
        pf.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["code"], "FORK");
    // Planting the forged checkpoint in the original log: verify reports FORK.
    fs::write(
        log.dir
            .join("checkpoints")
            .join("cp-00000000000000000008-forged.note"),
        &forged,
    )
    .unwrap();
    let (code, v) = verify_json(&log, None);
    assert_eq!(code, 1);
    assert!(v["report"]["counts"]["FORK"].as_u64().unwrap() >= 1, "{v}");
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            fs::copy(e.path(), t).unwrap();
        }
    }
}

#[test]
fn torn_last_record_is_recovered_on_open() {
    let log = init();
    import_n(&log, 5);
    ok(&["audit", "checkpoint", "--log", log.p()]);
    let seg = segment(&log);
    let mut f = fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[0, 0, 1, 0, 9, 9, 9]).unwrap();
    drop(f);
    // Verify reads it as an unacknowledged torn tail: ok.
    assert_eq!(verify_json(&log, None).0, 0);
    // Any writer command recovers it; the log keeps working.
    ok(&[
        "audit",
        "append",
        "--log",
        log.p(),
        "--event",
        "after.crash",
    ]);
    ok(&["audit", "checkpoint", "--log", log.p()]);
    let (code, v) = verify_json(&log, None);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["entries"], 6);
    assert_eq!(v["data"]["torn_tail_bytes"], 0);
}

#[test]
fn kill_nine_during_import_keeps_every_acknowledged_entry() {
    let log = init();
    let file = log.path("big.jsonl");
    let mut f = std::io::BufWriter::new(fs::File::create(&file).unwrap());
    for i in 0..200_000 {
        writeln!(f, r#"{{"event":"bulk.event","attrs":{{"n":"{i}"}}}}"#).unwrap();
    }
    drop(f);
    let mut child = harness::trust()
        .args([
            "audit",
            "import",
            "--log",
            log.p(),
            "--batch",
            "64",
            file.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = 0u64;
    // Wait for a few group commits, then kill -9 in the middle of the import.
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("committed ") {
            acked = n.parse().unwrap();
            if acked >= 64 * 20 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    // Anything printed after we stopped reading was acknowledged too.
    for line in lines.map_while(Result::ok) {
        if let Some(n) = line.strip_prefix("committed ") {
            acked = n.parse().unwrap();
        }
    }
    assert!(acked >= 64 * 20);
    assert!(
        acked < 200_000,
        "the import finished before the kill; make the input larger"
    );
    // The raw log verifies (a possible partial record at the end is an unacknowledged tail).
    let (code, v) = verify_json(&log, None);
    assert_eq!(code, 0, "{v}");
    assert!(v["data"]["entries"].as_u64().unwrap() >= acked);
    // Reopening for writing recovers, and every acknowledged entry is still there.
    ok(&["audit", "checkpoint", "--log", log.p()]);
    let (code, v) = verify_json(&log, None);
    assert_eq!(code, 0, "{v}");
    let n = v["data"]["entries"].as_u64().unwrap();
    assert!(n >= acked, "{n} < {acked}");
    // Appending after the recovery: the segment is preallocated, so the new records go where
    // the torn batch was; nothing of that batch may reappear after them (no phantom entry).
    import_n(&log, 3);
    let (code, v) = verify_json(&log, None);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["entries"].as_u64().unwrap(), n + 3);
    assert_eq!(v["data"]["torn_tail_bytes"].as_u64().unwrap(), 0, "{v}");
    let out = ok(&[
        "audit",
        "prove",
        "--log",
        log.p(),
        "--index",
        &(acked - 1).to_string(),
    ]);
    fs::write(log.path("r.proof"), out).unwrap();
    ok(&[
        "audit",
        "verify-proof",
        "--vkey",
        &log.vkey,
        log.path("r.proof").to_str().unwrap(),
    ]);
}

#[test]
fn prove_and_verify_proof_offline() {
    let log = init();
    import_n(&log, 9);
    let receipt = ok(&["audit", "prove", "--log", log.p(), "--index", "4"]);
    assert!(receipt.starts_with("c2sp.org/tlog-proof@v1\nextra "));
    let rp = log.path("r.tlog-proof");
    fs::write(&rp, &receipt).unwrap();
    let out = ok(&[
        "--json",
        "audit",
        "verify-proof",
        "--vkey",
        &log.vkey,
        rp.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["index"], 4);
    assert_eq!(v["data"]["event"], "connector.sync");
    // The writer's time in the one time format (RFC 3339, UTC), not Unix milliseconds.
    assert_eq!(v["data"]["time"], "2023-11-14T22:13:20.004Z");
    assert!(v["data"].get("time_unix_ms").is_none(), "{v}");
    // A flipped proof hash: exit 1.
    let lines: Vec<&str> = receipt.lines().collect();
    let mut bad: Vec<String> = lines.iter().map(|s| (*s).to_owned()).collect();
    bad[3] = bad[3].replacen(&bad[3][..1], if &bad[3][..1] == "A" { "B" } else { "A" }, 1);
    fs::write(&rp, bad.join("\n") + "\n").unwrap();
    let out = trust(&[
        "audit",
        "verify-proof",
        "--vkey",
        &log.vkey,
        rp.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    // Garbage receipt: exit 1 (it does not parse).
    fs::write(&rp, "not a receipt").unwrap();
    let out = trust(&[
        "audit",
        "verify-proof",
        "--vkey",
        &log.vkey,
        rp.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    // Missing receipt: exit 3. Unknown --size: exit 2.
    let out = trust(&[
        "audit",
        "verify-proof",
        "--vkey",
        &log.vkey,
        "/nonexistent/receipt",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let out = trust(&[
        "audit",
        "prove",
        "--log",
        log.p(),
        "--index",
        "1",
        "--size",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn exit_codes_for_usage_and_unopenable_logs() {
    let log = init();
    // 3: no log there.
    let out = trust(&[
        "--json",
        "audit",
        "verify",
        "--log",
        "/nonexistent/log",
        "--vkey",
        &log.vkey,
    ]);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    // 2: malformed vkey, bad event type, bad attr, init over an existing log, bad origin.
    assert_eq!(
        trust(&["audit", "verify", "--log", log.p(), "--vkey", "a+b+c"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        trust(&["audit", "append", "--log", log.p(), "--event", "Bad Type"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        trust(&[
            "audit",
            "append",
            "--log",
            log.p(),
            "--event",
            "ok",
            "--attr",
            "novalue"
        ])
        .status
        .code(),
        Some(2)
    );
    assert_eq!(
        trust(&["audit", "init", "--log", log.p(), "--origin", ORIGIN])
            .status
            .code(),
        Some(2)
    );
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("x");
    assert_eq!(
        trust(&[
            "audit",
            "init",
            "--log",
            d.to_str().unwrap(),
            "--origin",
            "has space"
        ])
        .status
        .code(),
        Some(2)
    );
    // Import with a bad line: exit 2, earlier batches committed.
    let f = log.path("bad.jsonl");
    fs::write(&f, "{\"event\":\"a.b\"}\n{\"event\":\"a.b\",\"oops\":1}\n").unwrap();
    let out = trust(&[
        "audit",
        "import",
        "--log",
        log.p(),
        "--batch",
        "1",
        f.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
    // Wrong key: exit 1 BAD_SIGNATURE.
    ok(&["audit", "checkpoint", "--log", log.p()]);
    let other = init();
    let out = trust(&[
        "--json",
        "audit",
        "verify",
        "--log",
        log.p(),
        "--vkey",
        &other.vkey,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "BAD_SIGNATURE");
}

#[test]
fn payload_redaction_and_pseudonyms_on_disk() {
    let log = init();
    let pf = log.path("payload.json");
    fs::write(&pf, "{\"email\":\"jane@example.com\"}").unwrap();
    ok(&[
        "audit",
        "append",
        "--log",
        log.p(),
        "--event",
        "gdpr.export",
        "--subject",
        "jane@example.com",
        "--payload-file",
        pf.to_str().unwrap(),
    ]);
    ok(&["audit", "checkpoint", "--log", log.p()]);
    let seg = fs::read(segment(&log)).unwrap();
    assert!(
        !seg.windows(8).any(|w| w == b"jane@exa"),
        "raw subject in the leaf"
    );
    // Deleting the payload (erasure) is REDACTED, not tampering.
    fs::remove_file(log.dir.join("payloads").join(format!("{:020}.bin", 0))).unwrap();
    let (code, v) = verify_json(&log, None);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["redacted"][0], 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["signing.key", "pseudonym.key"] {
            let m = fs::metadata(log.dir.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, 0o600);
        }
    }
}

#[test]
fn a_held_lock_is_waited_for_then_exit_3_and_verify_needs_no_lock() {
    let log = init();
    import_n(&log, 3);
    ok(&["audit", "checkpoint", "--log", log.p()]);
    // A stuck writer (here: this test) holds the lock.
    let lock = fs::OpenOptions::new()
        .write(true)
        .open(log.dir.join(".lock"))
        .unwrap();
    lock.lock().unwrap();
    let out = harness::trust()
        .args([
            "--json",
            "audit",
            "append",
            "--log",
            log.p(),
            "--event",
            "x.y",
        ])
        .env("TRUST_AUDIT_LOCK_WAIT", "0.2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["code"], "AUDIT_LOG_BUSY");
    assert!(
        v["hint"]
            .as_str()
            .unwrap()
            .contains("TRUST_AUDIT_LOCK_WAIT"),
        "{v}"
    );
    assert_eq!(verify_json(&log, None).0, 0);
    // A writer that releases the lock in time is simply waited for.
    let child = harness::trust()
        .args(["audit", "append", "--log", log.p(), "--event", "x.y"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    lock.unlock().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "appended entry 3"
    );
    let bad = harness::trust()
        .args([
            "--json",
            "audit",
            "append",
            "--log",
            log.p(),
            "--event",
            "x.y",
        ])
        .env("TRUST_AUDIT_LOCK_WAIT", "soon")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn parallel_appenders_lose_nothing() {
    let log = init();
    let (procs, per) = (6, 8);
    let workers: Vec<_> = (0..procs)
        .map(|p| {
            let dir = log.dir.clone();
            std::thread::spawn(move || {
                (0..per)
                    .map(|i| {
                        let out = harness::trust()
                            .args(["--json", "audit", "append", "--log"])
                            .arg(&dir)
                            .args(["--event", "ops.append", "--attr"])
                            .arg(format!("who=p{p}i{i}"))
                            .output()
                            .unwrap();
                        assert!(
                            out.status.success(),
                            "{}",
                            String::from_utf8_lossy(&out.stdout)
                        );
                        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                        v["data"]["index"].as_u64().unwrap()
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut acked: Vec<u64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    acked.sort_unstable();
    assert_eq!(acked, (0..procs * per).collect::<Vec<u64>>());
    ok(&["audit", "checkpoint", "--log", log.p()]);
    let (code, v) = verify_json(&log, None);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["entries"], procs * per);
}

#[test]
fn parallel_rotations_with_an_audit_log_all_succeed() {
    let log = init();
    let home = log.path("home");
    let key = log.path("root.key");
    let run = |args: &[&str]| {
        harness::trust()
            .arg("--home")
            .arg(&home)
            .args(args)
            .env("TRUST_AUDIT_LOG", &log.dir)
            .env("TRUST_ACTOR", "ops@example.com")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    assert!(
        run(&["init", "--root-key-file", key.to_str().unwrap()])
            .status
            .success()
    );
    assert!(run(&["keys", "create", "orders"]).status.success());
    let n = 8;
    let rotations: Vec<_> = (0..n)
        .map(|_| {
            let (home, dir) = (home.clone(), log.dir.clone());
            std::thread::spawn(move || {
                harness::trust()
                    .arg("--home")
                    .arg(&home)
                    .args(["keys", "rotate", "orders"])
                    .env("TRUST_AUDIT_LOG", &dir)
                    .stdin(Stdio::null())
                    .output()
                    .unwrap()
            })
        })
        .collect();
    for r in rotations {
        let out = r.join().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    ok(&["audit", "checkpoint", "--log", log.p()]);
    let (code, v) = verify_json(&log, None);
    assert_eq!(code, 0, "{v}");
    // key.create, then one key.rotate per rotation.
    assert_eq!(v["data"]["entries"], 1 + n);
}

#[test]
fn prove_with_damaged_tree_nodes_exits_1_and_prints_no_receipt() {
    let log = init();
    import_n(&log, 8);
    ok(&["audit", "checkpoint", "--log", log.p()]);
    let nodes = log.dir.join("tree.nodes");
    let mut bytes = fs::read(&nodes).unwrap();
    bytes[32] ^= 1; // node (0,1): the sibling in entry 0's proof
    fs::write(&nodes, &bytes).unwrap();
    let out = trust(&["audit", "prove", "--log", log.p(), "--index", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no receipt may be printed");
    let out = trust(&["--json", "audit", "prove", "--log", log.p(), "--index", "0"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["code"], "RECEIPT_SELF_CHECK_FAILED");
}

#[test]
fn state_without_a_checkpoint_says_so_and_pins_nothing() {
    let log = init();
    import_n(&log, 3);
    let state = log.path("auditor.state");
    let (code, v) = verify_json(&log, Some(&state));
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["code"], "NO_CHECKPOINT");
    assert_eq!(v["report"]["entries"], 3, "{v}");
    assert!(!state.exists());
    // Without --state the log verifies, and the human output names the unsigned tail.
    let out = ok(&["audit", "verify", "--log", log.p(), "--vkey", &log.vkey]);
    assert!(out.contains("last 3 entries are not covered"), "{out}");
    // Once signed, the pin holds, and deleting the last entry is caught.
    ok(&["audit", "checkpoint", "--log", log.p()]);
    assert_eq!(verify_json(&log, Some(&state)).0, 0);
    let seg = segment(&log);
    let bytes = fs::read(&seg).unwrap();
    let (start, _) = *records(&seg).last().unwrap();
    fs::write(&seg, &bytes[..start]).unwrap();
    let (code, v) = verify_json(&log, Some(&state));
    assert_eq!(code, 1, "{v}");
}

#[test]
fn show_filters_and_needs_the_key_only_for_plain_ids() {
    let log = init();
    import_n(&log, 12); // actors worker-0..3, times 1_700_000_000_000 + i ms
    let show = |args: &[&str]| {
        let mut all = vec!["--json", "audit", "show", "--log", log.p()];
        all.extend_from_slice(args);
        let out = trust(&all);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), v)
    };
    let indexes = |v: &serde_json::Value| -> Vec<u64> {
        v["data"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["index"].as_u64().unwrap())
            .collect()
    };
    let (code, v) = show(&[]);
    assert_eq!(code, 0);
    assert_eq!(v["data"]["count"], 12);
    assert_eq!(indexes(&show(&["--index", "3..5"]).1), vec![3, 4, 5]);
    assert_eq!(indexes(&show(&["--index", "7"]).1), vec![7]);
    assert_eq!(indexes(&show(&["--actor", "worker-1"]).1), vec![1, 5, 9]);
    let (_, v) = show(&["--actor", "worker-1", "--index", "5"]);
    let pseudonym = v["data"]["entries"][0]["actor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !v.to_string().contains("worker-1"),
        "plain ids never appear"
    );
    assert_eq!(
        indexes(
            &show(&[
                "--since",
                "2023-11-14T22:13:20.004Z",
                "--until",
                "2023-11-14T22:13:20.006Z"
            ])
            .1
        ),
        vec![4, 5]
    );
    assert_eq!(
        indexes(&show(&["--event", "connector.*", "--limit", "2"]).1),
        vec![0, 1]
    );
    assert_eq!(show(&["--event", "nothing.here"]).1["data"]["count"], 0);
    // An auditor without the key: plain ids fail with a hint, pseudonyms work.
    fs::rename(log.dir.join("pseudonym.key"), log.path("elsewhere.key")).unwrap();
    let (code, v) = show(&["--actor", "worker-1"]);
    assert_eq!(code, 3, "{v}");
    assert!(v["hint"].as_str().unwrap().contains("--actor-pseudonym"));
    assert_eq!(
        indexes(&show(&["--actor-pseudonym", &pseudonym]).1),
        vec![1, 5, 9]
    );
    let key = log.path("elsewhere.key");
    assert_eq!(
        indexes(
            &show(&[
                "--actor",
                "worker-1",
                "--pseudonym-key-file",
                key.to_str().unwrap()
            ])
            .1
        ),
        vec![1, 5, 9]
    );
    // Usage errors.
    for bad in [
        &["--index", "5..2"][..],
        &["--since", "yesterday"],
        &["--actor-pseudonym", "abc"],
    ] {
        assert_eq!(show(bad).0, 2, "{bad:?}");
    }
    // Human output, and a damaged entry is an error, not a line.
    let out = ok(&["audit", "show", "--log", log.p(), "--index", "0"]);
    assert!(
        out.contains("connector.sync") && out.contains("n=0"),
        "{out}"
    );
    let seg = segment(&log);
    let mut bytes = fs::read(&seg).unwrap();
    bytes[24 + 6] ^= 1;
    fs::write(&seg, &bytes).unwrap();
    assert_eq!(show(&[]).0, 1);
}

#[test]
fn consistency_proof_file_lets_an_auditor_check_without_the_log() {
    let log = init();
    import_n(&log, 5);
    let jan = log.path("jan.note");
    fs::write(&jan, ok(&["audit", "checkpoint", "--log", log.p()])).unwrap();
    import_n(&log, 9);
    let feb = log.path("feb.note");
    fs::write(&feb, ok(&["audit", "checkpoint", "--log", log.p()])).unwrap();
    let (j, f) = (jan.to_str().unwrap(), feb.to_str().unwrap());
    let proof = ok(&[
        "audit",
        "consistency-proof",
        "--log",
        log.p(),
        "--old",
        j,
        "--new",
        f,
    ]);
    let file = log.path("proof.txt");
    fs::write(&file, &proof).unwrap();
    let p = file.to_str().unwrap();
    ok(&[
        "audit",
        "consistency",
        "--vkey",
        &log.vkey,
        "--old",
        j,
        "--new",
        f,
        "--proof",
        p,
    ]);
    // A notes from another log is refused before any proof is written.
    let other = init();
    import_n(&other, 2);
    let foreign = log.path("foreign.note");
    fs::write(&foreign, ok(&["audit", "checkpoint", "--log", other.p()])).unwrap();
    let out = trust(&[
        "audit",
        "consistency-proof",
        "--log",
        log.p(),
        "--old",
        foreign.to_str().unwrap(),
        "--new",
        f,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}
