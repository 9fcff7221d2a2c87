//! CLI tests of `trust demo`, the README's first command.

use super::harness::run_args as trust;

#[test]
fn demo_runs_every_step_and_reports_json() {
    let out = trust(&["--json", "demo"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps: Vec<&str> = doc["data"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    for expected in [
        "seal",
        "rotate + rewrap",
        "shopify webhook",
        "gdpr erase",
        "audit verify",
    ] {
        assert!(
            steps.contains(&expected),
            "{expected} missing from {steps:?}"
        );
    }
    // Nothing secret in the output: the demo's Shopify token and card number are redacted.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("shpat_0123456789abcdef"), "{text}");
    assert!(!text.contains("4242 4242 4242 4242"), "{text}");
}

#[test]
fn kept_demo_is_a_working_home_and_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let d = dir.to_str().unwrap();
    assert_eq!(trust(&["demo", "--keep", d]).status.code(), Some(0));

    let home = dir.join("home");
    let list = trust(&["--json", "--home", home.to_str().unwrap(), "keys", "list"]);
    assert_eq!(
        list.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&list.stdout)
    );
    assert!(String::from_utf8_lossy(&list.stdout).contains("shopify-credentials"));

    // A second run refuses to reuse the directory (usage error), leaving it as it was.
    let again = trust(&["--json", "demo", "--keep", d]);
    assert_eq!(again.status.code(), Some(2));
}
