//! CLI tests of `trust audit export`: a key-free copy an auditor verifies offline, and every
//! exit code of the command.

use super::harness::run_args as trust;

fn json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = trust(&all);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{args:?}: not one JSON object: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap(), v)
}

#[test]
fn export_then_verify_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let log = log.to_str().unwrap();
    let (code, v) = json(&[
        "audit",
        "init",
        "--log",
        log,
        "--origin",
        "example.com/audit/x",
    ]);
    assert_eq!(code, 0);
    let vkey = v["data"]["vkey"].as_str().unwrap().to_owned();
    for i in 0..5 {
        let actor = format!("ops{i}@example.com");
        let (code, _) = json(&[
            "audit",
            "append",
            "--log",
            log,
            "--event",
            "key.rotate",
            "--actor",
            &actor,
        ]);
        assert_eq!(code, 0);
    }
    assert_eq!(json(&["audit", "checkpoint", "--log", log]).0, 0);
    let to = tmp.path().join("export");
    let to = to.to_str().unwrap();
    let (code, v) = json(&["audit", "export", "--log", log, "--to", to]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["export"]["entries"], 5);
    assert_eq!(v["data"]["export"]["checkpoints"], 1);
    let names: Vec<String> = std::fs::read_dir(to)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains("key") && n != "vkey"),
        "{names:?}"
    );
    let (code, v) = json(&["audit", "verify", "--log", to, "--vkey", &vkey]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["entries"], 5);

    // Exit 2: the target holds something already; nothing is written into it.
    let (code, v) = json(&["audit", "export", "--log", log, "--to", to]);
    assert_eq!(
        (code, v["code"].as_str()),
        (2, Some("AUDIT_LOG_EXISTS")),
        "{v}"
    );
    // Exit 3: the source is not a log.
    let missing = tmp.path().join("nothing");
    let (code, v) = json(&[
        "audit",
        "export",
        "--log",
        missing.to_str().unwrap(),
        "--to",
        tmp.path().join("t").to_str().unwrap(),
    ]);
    assert_eq!(
        (code, v["code"].as_str()),
        (3, Some("NOT_AN_AUDIT_LOG")),
        "{v}"
    );
    // Exit 2: a missing flag.
    assert_eq!(
        trust(&["audit", "export", "--log", log]).status.code(),
        Some(2)
    );
}
