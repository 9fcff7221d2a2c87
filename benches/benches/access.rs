//! Passwords, tokens and access control, each beside its baseline in the same run:
//!
//! * argon2id hash at the default (OWASP) parameters vs the reference C implementation
//!   (phc-winner-argon2 through argon2-cffi, timed by `benches/scripts/argon2_reference.py`
//!   when `TRUST_ARGON2_PYTHON` names a Python with argon2-cffi; its figure is printed first);
//! * token verify and `authorize` vs a raw HMAC-SHA-256 of the same bytes (RustCrypto, as the
//!   core uses, and ring);
//! * the GCRA limiter's `check`.
//!
//! Run: `cargo bench -p trust-benches --bench access -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use trust_core::access::{AccessControl, Principal, Resource, Roles};
use trust_core::clock::FixedClock;
use trust_core::envelope::StaticKeys;
use trust_core::password::{Argon2Params, PasswordHasher};
use trust_core::provider::Suite;
use trust_core::ratelimit::{MemoryLimiter, Quota, RateLimiter};
use trust_core::secret::Key256;
use trust_core::token::{Expect, TokenRequest, Tokens};

const PASSWORD: &str = "correct horse battery staple";

/// The reference C implementation's time on the same parameters, measured now: first a
/// batch of 30 (the script's own timing), then 30 hashes interleaved one by one with
/// trust-core's, so that load on the shared machine hits both sides alike. Prints medians,
/// minima and the ratios.
fn reference_argon2(params: Argon2Params, hasher: &PasswordHasher) {
    let Ok(python) = std::env::var("TRUST_ARGON2_PYTHON") else {
        eprintln!(
            "reference argon2: skipped (set TRUST_ARGON2_PYTHON to a python with argon2-cffi)"
        );
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/argon2_reference.py");
    let args = [
        params.m_kib().to_string(),
        params.t().to_string(),
        params.p().to_string(),
    ];
    let out = Command::new(&python)
        .arg(script)
        .args(&args)
        .arg("30")
        .output()
        .expect("run the reference timing script");
    eprintln!(
        "reference argon2 (batch): {}",
        String::from_utf8_lossy(&out.stdout).trim()
    );

    let mut child = Command::new(&python)
        .arg(script)
        .args(&args)
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the reference timing script");
    let mut to_ref = child.stdin.take().unwrap();
    let mut from_ref = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    from_ref.read_line(&mut line).unwrap(); // "ready"
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..30 {
        let start = Instant::now();
        black_box(hasher.hash(PASSWORD).unwrap());
        ours.push(start.elapsed().as_secs_f64() * 1e3);
        writeln!(to_ref, "hash").unwrap();
        line.clear();
        from_ref.read_line(&mut line).unwrap();
        theirs.push(line.trim().parse::<f64>().unwrap());
    }
    drop(to_ref);
    let _ = child.wait();
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0])
    };
    let ((om, omin), (tm, tmin)) = (stats(&mut ours), stats(&mut theirs));
    eprintln!(
        "argon2id m={} t={} p={} interleaved x30: trust-core median {om:.1} ms (min {omin:.1}), \
         reference C median {tm:.1} ms (min {tmin:.1}); ratio median {:.2}, min {:.2}",
        params.m_kib(),
        params.t(),
        params.p(),
        om / tm,
        omin / tmin
    );
}

fn argon2(c: &mut Criterion) {
    let params = Argon2Params::OWASP;
    let hasher = PasswordHasher::with_params(params);
    reference_argon2(params, &hasher);
    let stored = hasher.hash(PASSWORD).unwrap();
    let mut g = c.benchmark_group("argon2id m=19456 t=2 p=1");
    g.sample_size(20);
    g.bench_function("trust-core hash", |b| {
        b.iter(|| hasher.hash(black_box(PASSWORD)).unwrap());
    });
    g.bench_function("trust-core verify", |b| {
        b.iter(|| hasher.verify(black_box(PASSWORD), &stored).unwrap());
    });
    g.finish();
}

fn hmac_rustcrypto(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().into()
}

fn tokens(c: &mut Criterion) {
    let keys = StaticKeys::single("tokens", Suite::default(), Key256::from_bytes([7; 32]));
    let tokens = Tokens::new(keys);
    let clock = FixedClock::at_unix(1_700_000_000);
    let request =
        TokenRequest::new("acme", ["chat:write"], Duration::from_secs(900)).audience("chat-widget");
    let token = tokens.issue("tokens", &request, &clock).unwrap();
    let token = token.expose().to_owned();
    let expect = Expect::new("acme", "chat:write").audience("chat-widget");
    let (signed, _) = token.rsplit_once('.').unwrap();
    let key = [9u8; 32];
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);

    let mut g = c.benchmark_group(format!("token ({} bytes)", token.len()));
    g.bench_function("trust-core verify", |b| {
        b.iter(|| tokens.verify(black_box(&token), &expect, &clock).unwrap());
    });
    // A forged tag: parse + key lookup + one HMAC, no claims decoded.
    let (signed_part, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{signed_part}.{}", "A".repeat(43));
    g.bench_function("trust-core verify, forged tag", |b| {
        b.iter(|| {
            tokens
                .verify(black_box(&forged), &expect, &clock)
                .unwrap_err()
        });
    });
    g.bench_function("trust-core issue", |b| {
        b.iter(|| tokens.issue("tokens", black_box(&request), &clock).unwrap());
    });
    g.bench_function("raw HMAC-SHA-256 (RustCrypto) of the signed part", |b| {
        b.iter(|| hmac_rustcrypto(&key, black_box(signed.as_bytes())));
    });
    g.bench_function("raw HMAC-SHA-256 (ring) of the signed part", |b| {
        b.iter(|| ring::hmac::sign(&ring_key, black_box(signed.as_bytes())));
    });
    g.finish();
}

fn authorize(c: &mut Criterion) {
    let mut acl = AccessControl::new(Roles::standard());
    // A directory of 1 000 tenants × 20 members, so lookups are not in a toy map.
    for t in 0..1000 {
        for m in 0..20 {
            let role = ["owner", "admin", "agent"][m % 3];
            acl.add_member(&format!("tenant-{t}"), &format!("member-{m}"), [role])
                .unwrap();
        }
    }
    acl.deny("tenant-500", "member-2", "tickets.delete")
        .unwrap();
    let agent = Principal::new("tenant-500", "member-2");
    let ticket = Resource::new("tenant-500", "ticket", "42");
    let other = Resource::new("tenant-501", "ticket", "42");
    let key = [9u8; 32];
    let msg = b"tenant-500/member-2/tickets.reply/tenant-500/ticket/42";

    let mut g = c.benchmark_group("authorize");
    g.bench_function("allowed by role", |b| {
        b.iter(|| {
            acl.authorize(black_box(&agent), "tickets.reply", &ticket)
                .unwrap();
        });
    });
    g.bench_function("denied by override", |b| {
        b.iter(|| {
            acl.authorize(black_box(&agent), "tickets.delete", &ticket)
                .unwrap_err()
        });
    });
    g.bench_function("denied cross-tenant", |b| {
        b.iter(|| {
            acl.authorize(black_box(&agent), "tickets.reply", &other)
                .unwrap_err()
        });
    });
    g.bench_function(
        "raw HMAC-SHA-256 (RustCrypto) of a 56-byte request line",
        |b| {
            b.iter(|| hmac_rustcrypto(&key, black_box(msg)));
        },
    );
    g.finish();
}

fn ratelimit(c: &mut Criterion) {
    let clock = FixedClock::at_unix(1_700_000_000);
    let limiter = MemoryLimiter::new(Quota::per_second(1_000_000_000).unwrap(), &clock);
    let mut g = c.benchmark_group("ratelimit");
    g.bench_function("GCRA check (in memory)", |b| {
        b.iter(|| limiter.check(black_box("acme"), "POST /messages", 1));
    });
    g.finish();
}

criterion_group!(benches, argon2, tokens, authorize, ratelimit);
criterion_main!(benches);
