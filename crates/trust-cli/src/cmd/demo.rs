//! `trust demo`: the whole trust layer, end to end, on an embedded home and audit log.
//!
//! Each step calls the same `trust-core` functions an app would, and the demo checks every
//! outcome it prints: a step that does not behave as described fails the demo (exit 70), so the
//! README's first command doubles as a smoke test of the release build.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use trust_core::access::{AccessControl, Principal, Resource, Roles};
use trust_core::audit::{AuditLog, InitOptions, VerifyOptions, verify_log};
use trust_core::clock::{Clock, SystemClock};
use trust_core::durable;
use trust_core::envelope::{self, Context};
use trust_core::error::{Category, TrustError};
use trust_core::gdpr::{EraseOptions, ErasureReceipt, LocalStore, Signer, SubjectKeys, timestamp};
use trust_core::keyring::{Home, InitSource, Policy, Rollout};
use trust_core::password::PasswordHasher;
use trust_core::provider::{KeyRef, Suite};
use trust_core::redact::Redactor;
use trust_core::token::{Expect, TokenRequest, Tokens};
use trust_core::webhook::{self, SecretSet};

use crate::Globals;
use crate::exit::CliError;

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Run in DIR (created; must not exist yet) and keep it afterwards, so that the home and the
    /// audit log can be explored with the other commands. Default: a temporary directory that is
    /// removed at the end.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
}

/// One step of the demo, as printed.
#[derive(Debug, Serialize)]
struct Step {
    step: &'static str,
    outcome: String,
}

#[derive(Debug, Default, Serialize)]
struct Report {
    dir: Option<PathBuf>,
    steps: Vec<Step>,
}

impl Report {
    fn say(&mut self, step: &'static str, outcome: impl Into<String>) {
        self.steps.push(Step {
            step,
            outcome: outcome.into(),
        });
    }

    fn human(&self) -> String {
        let mut text = String::new();
        for (i, s) in self.steps.iter().enumerate() {
            text.push_str(&format!("{:>2}. {:<18} {}\n", i + 1, s.step, s.outcome));
        }
        match &self.dir {
            Some(dir) => text.push_str(&format!(
                "\nKept in {} (home: home/, audit log: audit/, root key: root.key).\n",
                dir.display()
            )),
            None => text.push_str("\nAll of it lived in a temporary directory, now removed.\n"),
        }
        text
    }
}

/// A demo expectation that did not hold: a bug, reported as an internal error.
fn broken(what: &str) -> CliError {
    CliError::new(
        Category::Internal,
        "DEMO_FAILED",
        format!("the demo's expectation failed: {what}"),
    )
}

/// Requires `result` to be an error with `code`, and returns the code for printing.
fn expect_code<T, E: TrustError>(result: Result<T, E>, code: &str) -> Result<String, CliError> {
    match result {
        Ok(_) => Err(broken(&format!("expected {code}, but it succeeded"))),
        Err(e) if e.code() == code => {
            Ok(format!("{} (exit {})", e.code(), e.category().exit_code()))
        }
        Err(e) => Err(broken(&format!("expected {code}, got {}", e.code()))),
    }
}

pub(crate) fn run(args: &DemoArgs, globals: &Globals) -> Result<(), CliError> {
    let tmp;
    let dir = match &args.keep {
        Some(dir) => {
            if dir.exists() {
                return Err(CliError::usage(format!("{} already exists", dir.display()))
                    .hint("give --keep a path that does not exist yet"));
            }
            std::fs::create_dir(dir).map_err(|e| CliError::write("the demo directory", dir, &e))?;
            dir.clone()
        }
        None => {
            tmp = tempfile::tempdir()
                .map_err(|e| CliError::write("a temporary directory", &std::env::temp_dir(), &e))?;
            tmp.path().to_path_buf()
        }
    };
    let mut report = Report {
        dir: args.keep.clone(),
        ..Report::default()
    };
    walk(&dir, &mut report)?;
    globals.out.success(&report, || report.human());
    Ok(())
}

fn walk(dir: &Path, r: &mut Report) -> Result<(), CliError> {
    let clock = SystemClock;

    // 1. A home (keyrings) under a root key file, and an audit log that records every change.
    let audit_dir = dir.join("audit");
    let vkey = AuditLog::init(&audit_dir, &InitOptions::new("demo.trust.example/audit"))?;
    let log = Arc::new(AuditLog::open(&audit_dir)?);
    let home = Home::init(&dir.join("home"), InitSource::KeyFile(dir.join("root.key")))?
        .with_sink(log.clone())
        .with_actor("ops@demo.example");
    r.say(
        "home + audit log",
        "root key file (32 random bytes, 0600), keyrings in home/, audit log in audit/",
    );

    home.create_keyring("shopify-credentials", Suite::Aes256Gcm, Policy::default())?;
    home.create_keyring("sessions", Suite::XChaCha20Poly1305, Policy::default())?;
    r.say(
        "keyrings",
        "shopify-credentials (aes-256-gcm) and sessions (xchacha20-poly1305), each at v1",
    );

    // 2. Seal a merchant's Shopify access token for a database column, bound to its row.
    let secret = b"shpat_0123456789abcdef0123456789abcdef";
    let row = Context::new()
        .with("tenant", "acme-store")?
        .with("record", "shops/acme.myshopify.com")?
        .with("purpose", "shopify-admin-api")?;
    let token = envelope::seal_token(&home, "shopify-credentials", &row, secret)?;
    let opened = envelope::open_token(&home, &row, &token)?;
    if opened.as_slice() != secret {
        return Err(broken("the sealed token did not open to the same secret"));
    }
    r.say(
        "seal",
        format!(
            "Shopify token -> {}… ({} chars), under {}",
            &token[..16.min(token.len())],
            token.len(),
            envelope::inspect_token(&token)?.key_ref
        ),
    );

    let other_row = Context::new()
        .with("tenant", "acme-store")?
        .with("record", "shops/globex.myshopify.com")?
        .with("purpose", "shopify-admin-api")?;
    let code = expect_code(
        envelope::open_token(&home, &other_row, &token),
        "AUTHENTICATION_FAILED",
    )?;
    r.say("context binding", format!("copied to another row: {code}"));

    // 3. Rotate, rewrap without plaintext, retire the old version.
    let v2 = home
        .rotate("shopify-credentials", Rollout::Immediate)?
        .version;
    let rewrapped = envelope::rewrap_token(&home, &row, &token)?;
    if !rewrapped.changed || rewrapped.to.version != v2 {
        return Err(broken("rewrap did not move the token to the new primary"));
    }
    if envelope::open_token(&home, &row, &rewrapped.token)?.as_slice() != secret {
        return Err(broken("the rewrapped token did not open"));
    }
    r.say(
        "rotate + rewrap",
        format!(
            "v{v2} promoted; token moved {} -> {} without exposing plaintext",
            rewrapped.from, rewrapped.to
        ),
    );
    home.retire(&KeyRef::new("shopify-credentials", 1))?;
    let code = expect_code(envelope::open_token(&home, &row, &token), "KEY_DISABLED")?;
    r.say(
        "retire v1",
        format!("a token still under v1: {code}, distinct from tampering"),
    );

    // 4. Webhooks: verified over the raw body, in constant time, before any processing.
    let body = br#"{"id":820982911946154508,"email":"jon@example.com","topic":"orders/create"}"#;
    let shopify_secret = b"hush-shopify-app-secret".to_vec();
    let header = webhook::shopify::sign_webhook(&shopify_secret, body);
    let verifier = webhook::shopify::WebhookVerifier::new(SecretSet::new(shopify_secret));
    verifier.verify(&[("X-Shopify-Hmac-Sha256", header.as_str())], body)?;
    let mut forged = body.to_vec();
    forged[10] ^= 1;
    let code = expect_code(
        verifier.verify(&[("X-Shopify-Hmac-Sha256", header.as_str())], &forged),
        "SIGNATURE_INVALID",
    )?;
    r.say(
        "shopify webhook",
        format!("genuine delivery valid; one flipped bit: {code}"),
    );

    let now = clock.now_unix();
    let old = b"whsec_old_stripe_secret".to_vec();
    let new = b"whsec_new_stripe_secret".to_vec();
    let sent_with_old = webhook::stripe::sign_header(&SecretSet::new(old.clone()), body, now);
    let stripe = webhook::stripe::Verifier::new(SecretSet::new(new).with_previous(old));
    let verified = stripe.verify(&[("Stripe-Signature", sent_with_old.as_str())], body, now)?;
    let code = expect_code(
        stripe.verify(
            &[("Stripe-Signature", sent_with_old.as_str())],
            body,
            now + 301,
        ),
        "TIMESTAMP_STALE",
    )?;
    r.say(
        "stripe webhook",
        format!(
            "signed with the previous secret during rotation: valid (secret #{}); 301 s later: {code}",
            verified.secret_index
        ),
    );

    // 5. GDPR: records sealed per data subject; erasing the subject destroys their key.
    let home_dir = dir.join("home");
    let subjects = SubjectKeys::new(&home, LocalStore::new(home_dir.join("subjects")));
    let jane_row = Context::new()
        .with("tenant", "acme-store")?
        .with("record", "customers/191167")?;
    let john_row = Context::new()
        .with("tenant", "acme-store")?
        .with("record", "customers/205311")?;
    let jane = subjects.seal_for_subject(
        "shopify-credentials",
        "customer-191167",
        &jane_row,
        br#"{"name":"Jane Doe","email":"jane@example.com"}"#,
    )?;
    let john = subjects.seal_for_subject(
        "shopify-credentials",
        "customer-205311",
        &john_row,
        br#"{"name":"John Roe","email":"john@example.com"}"#,
    )?;
    let gdpr_dir = home_dir.join("gdpr");
    durable::create_private_dir(&gdpr_dir)
        .map_err(|e| CliError::write("directory", &gdpr_dir, &e))?;
    let signer = Signer::load_or_create(&gdpr_dir.join("signing.p8"))?;
    let receipt = subjects.erase(
        "shopify-credentials",
        "customer-191167",
        &{
            // Whole seconds, like every time `trust` prints.
            let at = jiff::Timestamp::from_second(clock.now_unix())
                .unwrap_or_else(|_| timestamp(clock.now()));
            let mut opts = EraseOptions::new(at, jiff::SignedDuration::from_hours(30 * 24));
            opts.request = Some("shopify customers/redact");
            opts.actor = Some("ops@demo.example");
            opts
        },
        &signer,
        &*log,
    )?;
    ErasureReceipt::parse_and_verify(receipt.to_json().as_bytes(), &signer.public_key())?;
    let code = expect_code(
        subjects.open_for_subject(&jane_row, &jane),
        "SUBJECT_ERASED",
    )?;
    subjects.open_for_subject(&john_row, &john)?;
    r.say(
        "gdpr erase",
        format!(
            "customer-191167's records: {code}; customer-205311 unaffected; signed receipt for {}",
            receipt.body.subject
        ),
    );

    let line = "charge failed for acme-store token=shpat_0123456789abcdef0123456789abcdef card 4242 4242 4242 4242";
    let scrubbed = Redactor::default().redact(line);
    if scrubbed.contains("shpat_0123") || scrubbed.contains("4242 4242") {
        return Err(broken("the redactor let a secret through"));
    }
    r.say("redact", format!("log line -> {scrubbed}"));

    // 6. Passwords, session tokens and tenant isolation.
    let hasher = PasswordHasher::new();
    let phc = hasher.hash("correct horse battery staple")?;
    if !hasher.verify("correct horse battery staple", &phc)?
        || hasher.verify("Tr0ub4dor&3", &phc)?
    {
        return Err(broken("password verification gave the wrong answer"));
    }
    r.say(
        "password",
        format!(
            "argon2id PHC string {}…; right password matches, wrong one does not",
            &phc[..phc.find("$v=").map_or(9, |i| i + 5)]
        ),
    );

    let tokens = Tokens::new(&home);
    let session = tokens.issue(
        "sessions",
        &TokenRequest::new("acme-store", ["chat:write"], Duration::from_secs(15 * 60)),
        &clock,
    )?;
    let claims = tokens.verify(
        session.expose(),
        &Expect::new("acme-store", "chat:write"),
        &clock,
    )?;
    let code = expect_code(
        tokens.verify(
            session.expose(),
            &Expect::new("globex", "chat:write"),
            &clock,
        ),
        "TOKEN_WRONG_TENANT",
    )?;
    r.say(
        "session token",
        format!(
            "15-minute chat:write token for {} verifies; presented to another tenant: {code}",
            claims.tenant
        ),
    );

    let mut acl = AccessControl::new(Roles::standard());
    acl.add_member("acme-store", "alice", ["agent"])?;
    acl.add_member("globex", "bob", ["owner"])?;
    let ticket = Resource::new("acme-store", "ticket", "42");
    acl.authorize(
        &Principal::new("acme-store", "alice"),
        "tickets.reply",
        &ticket,
    )?;
    let code = expect_code(
        acl.authorize(&Principal::new("globex", "bob"), "tickets.reply", &ticket),
        "ACCESS_CROSS_TENANT",
    )?;
    r.say(
        "access control",
        format!("agent of acme-store may reply to its ticket; owner of globex: {code}"),
    );

    // 7. The audit trail: every key change and the erasure above is in the log; an auditor verifies it.
    let checkpoint = log.checkpoint()?;
    let verdict = verify_log(&audit_dir, &VerifyOptions::new(vec![vkey]))?;
    if verdict.failure.is_some() {
        return Err(broken("the audit log did not verify"));
    }
    r.say(
        "audit verify",
        format!(
            "{} entries, signed checkpoint at size {}, verdict {}",
            verdict.entries, checkpoint.checkpoint.size, verdict.status
        ),
    );
    Ok(())
}
