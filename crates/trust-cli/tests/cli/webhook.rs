//! `trust webhook verify|sign`: every exit code, the JSON contract, and sign → verify round
//! trips for every provider.

use std::process::Output;

const T: &str = "1700000000";

use super::harness::{self, code, json};

fn trust(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    harness::run(
        harness::trust().args(args).envs(env.iter().copied()),
        Some(stdin),
    )
}

/// docs/webhooks.md published Stripe vector.
const STRIPE_BODY: &[u8] = br#"{"id":"evt_test_webhook","object":"event"}"#;
const STRIPE_SIG: &str = "Stripe-Signature: t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990";

fn stripe_verify(extra: &[&str], now: &str, body: &[u8]) -> Output {
    let mut args = vec![
        "--json",
        "webhook",
        "verify",
        "--provider",
        "stripe",
        "--secret-env",
        "WHSEC",
        "-H",
        STRIPE_SIG,
        "--now",
        now,
    ];
    args.extend_from_slice(extra);
    trust(&args, &[("WHSEC", "whsec_test_secret")], body)
}

#[test]
fn exit_0_for_the_published_stripe_vector_with_json_verdict() {
    let out = stripe_verify(&[], "1700000100", STRIPE_BODY);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["data"]["verdict"], "valid");
    assert_eq!(doc["data"]["reason"], "VALID");
    assert_eq!(doc["data"]["timestamp"], 1_700_000_000);
}

#[test]
fn exit_1_with_reason_codes() {
    let mut flipped = STRIPE_BODY.to_vec();
    flipped[5] ^= 1;
    for (now, body, reason) in [
        ("1700000100", flipped.as_slice(), "SIGNATURE_INVALID"),
        ("1700000301", STRIPE_BODY, "TIMESTAMP_STALE"),
        ("1699999699", STRIPE_BODY, "TIMESTAMP_FUTURE"),
    ] {
        let out = stripe_verify(&[], now, body);
        assert_eq!(code(&out), 1);
        let doc = json(&out);
        assert_eq!(doc["ok"], false);
        assert_eq!(doc["code"], reason);
        assert_eq!(doc["category"], "VERIFICATION_FAILED");
    }
    // Tolerance edges: exactly 300 s old is valid, a --tolerance widens it.
    assert_eq!(code(&stripe_verify(&[], "1700000300", STRIPE_BODY)), 0);
    assert_eq!(
        code(&stripe_verify(
            &["--tolerance", "400"],
            "1700000301",
            STRIPE_BODY
        )),
        0
    );
    // Malformed header: exit 1 too, reason MALFORMED.
    let out = trust(
        &[
            "--json",
            "webhook",
            "verify",
            "--provider",
            "stripe",
            "--secret-env",
            "WHSEC",
            "-H",
            "Stripe-Signature: v1,",
            "--now",
            T,
        ],
        &[("WHSEC", "whsec_test_secret")],
        STRIPE_BODY,
    );
    assert_eq!(code(&out), 1);
    assert_eq!(json(&out)["code"], "MALFORMED");
    // The human error names no byte and no secret.
    let out = trust(
        &[
            "webhook",
            "verify",
            "--provider",
            "stripe",
            "--secret-env",
            "WHSEC",
            "-H",
            STRIPE_SIG,
            "--now",
            T,
        ],
        &[("WHSEC", "whsec_wrong")],
        STRIPE_BODY,
    );
    assert_eq!(code(&out), 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not match") && !err.contains("whsec"),
        "{err}"
    );
}

#[test]
fn exit_2_for_usage_errors() {
    let env = [("WHSEC", "whsec_test_secret")];
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "webhook",
            "verify",
            "--provider",
            "stripe",
            "-H",
            STRIPE_SIG,
        ],
        vec![
            "webhook",
            "verify",
            "--provider",
            "nope",
            "--secret-env",
            "WHSEC",
        ],
        vec![
            "webhook",
            "verify",
            "--provider",
            "stripe",
            "--secret-env",
            "WHSEC",
            "-H",
            "no colon",
        ],
        vec![
            "webhook",
            "verify",
            "--provider",
            "stripe",
            "--secret-env",
            "WHSEC",
            "--tolerance",
            "-5",
        ],
        vec![
            "webhook",
            "verify",
            "--provider",
            "hubspot-v3",
            "--secret-env",
            "WHSEC",
        ],
        vec![
            "webhook",
            "verify",
            "--provider",
            "shopify-oauth",
            "--secret-env",
            "WHSEC",
        ],
        vec![
            "webhook",
            "verify",
            "--provider",
            "shopify-session-token",
            "--secret-env",
            "WHSEC",
        ],
        vec![
            "webhook",
            "verify",
            "--provider",
            "standard-webhooks",
            "--secret-env",
            "WHSEC",
            "-H",
            "webhook-id: x",
        ],
        vec![
            "webhook",
            "sign",
            "--provider",
            "shopify-session-token",
            "--secret-env",
            "WHSEC",
            "--api-key",
            "k",
        ],
    ];
    for args in cases {
        let out = trust(&args, &env, STRIPE_BODY);
        assert_eq!(
            code(&out),
            2,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Two stdin claims (secret and body).
    let out = trust(
        &[
            "webhook",
            "verify",
            "--provider",
            "github",
            "--secret-file",
            "-",
        ],
        &[],
        b"secret",
    );
    assert_eq!(code(&out), 2);
    let out = trust(
        &[
            "--json",
            "webhook",
            "verify",
            "--provider",
            "stripe",
            "-H",
            STRIPE_SIG,
        ],
        &env,
        b"",
    );
    assert_eq!(code(&out), 2);
    assert_eq!(json(&out)["category"], "USAGE");
}

#[test]
fn exit_3_for_unreadable_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let out = trust(
        &[
            "--json",
            "webhook",
            "verify",
            "--provider",
            "stripe",
            "--secret-env",
            "WHSEC",
            "-H",
            STRIPE_SIG,
            "--body-file",
            missing.to_str().unwrap(),
        ],
        &[("WHSEC", "whsec_test_secret")],
        b"",
    );
    assert_eq!(code(&out), 3);
    assert_eq!(json(&out)["code"], "INPUT_UNREADABLE");
    let out = trust(
        &[
            "webhook",
            "verify",
            "--provider",
            "stripe",
            "--secret-env",
            "UNSET_WEBHOOK_SECRET_VAR",
            "-H",
            STRIPE_SIG,
        ],
        &[],
        STRIPE_BODY,
    );
    assert_eq!(code(&out), 3);
    let out = trust(
        &[
            "webhook",
            "verify",
            "--provider",
            "stripe",
            "--secret-file",
            missing.to_str().unwrap(),
            "-H",
            STRIPE_SIG,
        ],
        &[],
        STRIPE_BODY,
    );
    assert_eq!(code(&out), 3);
}

/// Signs with `trust webhook sign`, then verifies the printed headers: for every provider.
#[test]
fn sign_then_verify_round_trips_for_every_provider() {
    let dir = tempfile::tempdir().unwrap();
    let body_path = dir.path().join("body.json");
    std::fs::write(&body_path, b"{\"id\":1,\"note\":\"caf\xc3\xa9\"}").unwrap();
    let body = body_path.to_str().unwrap();
    let std_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let env = [("S1", "hush-current"), ("STD", std_secret)];
    let url = "https://app.example.com/hook?x=%2Fy";
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("shopify", vec![]),
        ("stripe", vec![]),
        ("hubspot-v1", vec![]),
        ("hubspot-v2", vec!["--url", url, "--method", "POST"]),
        ("hubspot-v3", vec!["--url", url]),
        ("github", vec![]),
        ("slack", vec![]),
        ("standard-webhooks", vec!["--id", "msg_1"]),
        (
            "shopify-session-token",
            vec!["--api-key", "key-1", "--shop", "s.myshopify.com"],
        ),
        (
            "shopify-oauth",
            vec![
                "--query",
                "code=a&shop=s.myshopify.com&state=x%20y&timestamp=1700000000",
            ],
        ),
        (
            "shopify-app-proxy",
            vec![
                "--query",
                "extra=1&extra=2&shop=s.myshopify.com&logged_in_customer_id=&path_prefix=%2Fapps%2Fx&timestamp=1700000000",
            ],
        ),
    ];
    for (provider, extra) in cases {
        let secret = if provider == "standard-webhooks" {
            "STD"
        } else {
            "S1"
        };
        let mut args = vec![
            "--json",
            "webhook",
            "sign",
            "--provider",
            provider,
            "--secret-env",
            secret,
            "--body-file",
            body,
            "--now",
            T,
        ];
        args.extend_from_slice(&extra);
        let out = trust(&args, &env, b"");
        assert_eq!(
            code(&out),
            0,
            "{provider}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let doc = json(&out);
        let mut verify = vec![
            "--json".to_owned(),
            "webhook".into(),
            "verify".into(),
            "--provider".into(),
            provider.into(),
            "--secret-env".into(),
            secret.into(),
            "--body-file".into(),
            body.into(),
            "--now".into(),
            "1700000005".into(),
        ];
        if let Some(headers) = doc["data"]["headers"].as_array() {
            for h in headers {
                verify.push("-H".into());
                verify.push(format!(
                    "{}: {}",
                    h[0].as_str().unwrap(),
                    h[1].as_str().unwrap()
                ));
            }
        }
        let mut rest: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        if let Some(q) = doc["data"]["query"].as_str() {
            let i = rest.iter().position(|a| a == "--query").unwrap();
            rest[i + 1] = q.to_owned();
        }
        // Sign-only flags (--id, --shop) are not verify's: drop them with their values.
        let mut i = 0;
        while i < rest.len() {
            if rest[i] == "--id" || rest[i] == "--shop" {
                rest.drain(i..i + 2);
            } else {
                i += 1;
            }
        }
        verify.extend(rest);
        let refs: Vec<&str> = verify.iter().map(String::as_str).collect();
        let out = trust(&refs, &env, b"");
        assert_eq!(
            code(&out),
            0,
            "{provider}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(json(&out)["data"]["provider"], provider);
        // The same delivery under another secret fails with exit 1.
        let out = trust(
            &refs,
            &[
                ("S1", "other-secret"),
                ("STD", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
            ],
            b"",
        );
        assert_eq!(code(&out), 1, "{provider}");
    }
}

#[test]
fn rotation_previous_secret_is_reported() {
    let out = trust(
        &[
            "--json",
            "webhook",
            "verify",
            "--provider",
            "stripe",
            "--secret-env",
            "NEW",
            "--secret-env",
            "OLD",
            "-H",
            STRIPE_SIG,
            "--now",
            T,
        ],
        &[("NEW", "whsec_new"), ("OLD", "whsec_test_secret")],
        STRIPE_BODY,
    );
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["data"]["secret_index"], 1);
}

#[test]
fn help_has_examples() {
    for sub in ["verify", "sign"] {
        let out = trust(&["webhook", sub, "--help"], &[], b"");
        assert_eq!(code(&out), 0);
        assert!(String::from_utf8_lossy(&out.stdout).contains("Example: trust webhook"));
    }
}

#[test]
fn each_subcommand_lists_only_its_own_options() {
    let help = |sub: &str| {
        let out = trust(&["webhook", sub, "--help"], &[], b"");
        assert_eq!(code(&out), 0);
        String::from_utf8(out.stdout).unwrap()
    };
    let (sign, verify) = (help("sign"), help("verify"));
    for only_verify in ["--header", "--tolerance", "--lenient"] {
        assert!(
            !sign.contains(only_verify),
            "sign --help lists {only_verify}"
        );
        assert!(verify.contains(only_verify));
    }
    for only_sign in ["--shop", "--id <ID>"] {
        assert!(
            !verify.contains(only_sign),
            "verify --help lists {only_sign}"
        );
        assert!(sign.contains(only_sign));
    }
    // And sign refuses them rather than ignoring them.
    let out = trust(
        &[
            "webhook",
            "sign",
            "--provider",
            "github",
            "--secret-env",
            "S",
            "--tolerance",
            "5",
        ],
        &[("S", "k")],
        b"{}",
    );
    assert_eq!(code(&out), 2);
}

/// `webhook sign` goes through trust-core's signing dispatcher: the published Stripe vector
/// comes out byte for byte, `--id` becomes the delivery id header verify reports, and what a
/// scheme needs but lacks is exit 2 with `WEBHOOK_CONFIG` (a bad id: exit 1 `MALFORMED`, as a
/// verifier would refuse it).
#[test]
fn sign_through_the_dispatcher_and_its_error_paths() {
    let env = [("S", "whsec_test_secret")];
    let out = trust(
        &[
            "webhook",
            "sign",
            "--provider",
            "stripe",
            "--secret-env",
            "S",
            "--now",
            T,
        ],
        &env,
        STRIPE_BODY,
    );
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), STRIPE_SIG);

    let gh = [
        "--json",
        "webhook",
        "sign",
        "--provider",
        "github",
        "--secret-env",
        "S",
        "--id",
        "delivery-7",
    ];
    let out = trust(&gh, &env, b"{}");
    assert_eq!(code(&out), 0);
    let doc = json(&out);
    assert_eq!(doc["data"]["headers"][1][0], "X-GitHub-Delivery");
    let sig = format!(
        "X-Hub-Signature-256: {}",
        doc["data"]["headers"][0][1].as_str().unwrap()
    );
    let out = trust(
        &[
            "--json",
            "webhook",
            "verify",
            "--provider",
            "github",
            "--secret-env",
            "S",
            "-H",
            &sig,
            "-H",
            "X-GitHub-Delivery: delivery-7",
        ],
        &env,
        b"{}",
    );
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["data"]["delivery_id"], "delivery-7");

    let missing: [&[&str]; 3] = [
        &["--provider", "hubspot-v3"],
        &["--provider", "shopify-oauth"],
        &[
            "--provider",
            "shopify-session-token",
            "--shop",
            "s.myshopify.com",
        ],
    ];
    for extra in missing {
        let mut args = vec!["--json", "webhook", "sign", "--secret-env", "S"];
        args.extend_from_slice(extra);
        let out = trust(&args, &env, b"{}");
        assert_eq!(code(&out), 2, "{extra:?}");
        assert_eq!(json(&out)["code"], "WEBHOOK_CONFIG", "{extra:?}");
    }
    let mut bad_id = gh.to_vec();
    bad_id[8] = "two words";
    let out = trust(&bad_id, &env, b"{}");
    assert_eq!(code(&out), 1);
    assert_eq!(json(&out)["code"], "MALFORMED");
}
