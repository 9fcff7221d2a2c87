use std::sync::{Arc, Barrier};

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::store::parse_user_file;
use super::*;
use crate::clock::from_unix_seconds;
use crate::envelope::StaticKeys;
use crate::event::MemorySink;
use crate::provider::Suite;
use crate::secret::Key256;

/// The RFC 6238 / RFC 4226 SHA-1 reference seed.
const SEED: &[u8] = b"12345678901234567890";
const USER: &str = "ops@acme.example";

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<DirMfaStore>,
    keys: Arc<StaticKeys>,
    sink: Arc<MemorySink>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(DirMfaStore::new(dir.path().join("mfa")));
        let keys = Arc::new(StaticKeys::single(
            "mfa",
            Suite::Aes256Gcm,
            Key256::generate().unwrap(),
        ));
        Self {
            _dir: dir,
            store,
            keys,
            sink: Arc::new(MemorySink::new()),
        }
    }

    /// Unlimited attempts, so tests exercise the replay logic alone.
    fn mfa(&self) -> Mfa {
        let quota = Quota::per(1_000_000, Duration::from_secs(1)).unwrap();
        Mfa::new(self.store.clone(), self.keys.clone(), "mfa")
            .with_sink(self.sink.clone())
            .with_limiter(Arc::new(MemoryLimiter::new(quota, SystemClock)))
    }

    fn enroll(&self, mfa: &Mfa, digits: u8) {
        let options = EnrollOptions {
            params: TotpParams {
                algorithm: Algorithm::Sha1,
                digits,
                period: 30,
            },
            secret: Some(Zeroizing::new(SEED.to_vec())),
        };
        mfa.enroll(USER, DEFAULT_DEVICE, options).unwrap();
    }
}

fn code(step: u64, digits: u8) -> Zeroizing<String> {
    let p = TotpParams {
        algorithm: Algorithm::Sha1,
        digits,
        period: 30,
    };
    code_at_step(SEED, &p, step)
}

fn at_step(step: u64) -> SystemTime {
    from_unix_seconds(i64::try_from(step * 30 + 7).unwrap())
}

#[test]
fn enrollment_uri_and_sealed_secret() {
    let fx = Fixture::new();
    let mfa = fx.mfa().with_issuer("Acme Sync");
    let e = mfa
        .enroll(
            USER,
            DEFAULT_DEVICE,
            EnrollOptions {
                secret: Some(Zeroizing::new(SEED.to_vec())),
                ..EnrollOptions::default()
            },
        )
        .unwrap();
    assert!(
        e.uri.expose_secret().starts_with(
            "otpauth://totp/Acme%20Sync:ops%40acme.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        ),
        "{}",
        e.uri.expose_secret()
    );
    // The stored file never holds the secret in the clear.
    let files: Vec<_> = std::fs::read_dir(fx.store.dir()).unwrap().collect();
    for f in files {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("GEZDGNBV") && !text.contains("1234567890"));
    }
    assert!(matches!(
        mfa.enroll(USER, DEFAULT_DEVICE, EnrollOptions::default()),
        Err(MfaError::AlreadyEnrolled)
    ));
    // A second device is a separate factor with its own generated secret.
    let other = mfa
        .enroll(USER, "phone-2", EnrollOptions::default())
        .unwrap();
    assert!(!other.uri.expose_secret().contains("GEZDGNBV"));
    assert_eq!(mfa.devices(USER).unwrap(), ["default", "phone-2"]);
    let kinds: Vec<_> = fx.sink.events().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["mfa.enroll", "mfa.enroll"]);
    assert!(!format!("{e:?}").contains("GEZDGNBV"));
}

#[test]
fn a_code_is_accepted_once_within_its_window() {
    let fx = Fixture::new();
    let mfa = fx.mfa();
    fx.enroll(&mfa, 6);
    let step = 50_000_000;
    let c = code(step, 6);
    assert_eq!(
        mfa.verify_at(USER, DEFAULT_DEVICE, &c, at_step(step))
            .unwrap(),
        step
    );
    // Replayed at the same instant and 30 s later (still within ±1 step): refused.
    for now in [at_step(step), at_step(step + 1)] {
        assert!(matches!(
            mfa.verify_at(USER, DEFAULT_DEVICE, &c, now),
            Err(MfaError::Rejected)
        ));
    }
    // The next step's code is fine.
    let next = code(step + 1, 6);
    assert_eq!(
        mfa.verify_at(USER, DEFAULT_DEVICE, &next, at_step(step + 1))
            .unwrap(),
        step + 1
    );
    // An older code (step-1, still inside the skew window at `step`) can no longer be used.
    let older = code(step, 6);
    assert!(
        mfa.verify_at(USER, DEFAULT_DEVICE, &older, at_step(step + 1))
            .is_err()
    );
    let outcomes: Vec<_> = fx
        .sink
        .events()
        .into_iter()
        .filter(|e| e.kind == "mfa.verify")
        .map(|e| e.attrs["outcome"].clone())
        .collect();
    assert_eq!(
        outcomes,
        ["accepted", "rejected", "rejected", "accepted", "rejected"]
    );
}

#[test]
fn skew_of_one_step_either_way_and_no_more() {
    for (offset, ok) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
        let fx = Fixture::new();
        let mfa = fx.mfa();
        fx.enroll(&mfa, 8);
        let now_step = 60_000_000u64;
        let code_step = now_step.checked_add_signed(offset).unwrap();
        let result = mfa.verify_at(USER, DEFAULT_DEVICE, &code(code_step, 8), at_step(now_step));
        assert_eq!(result.is_ok(), ok, "offset {offset}: {result:?}");
        if ok {
            assert_eq!(result.unwrap(), code_step);
        }
    }
}

/// With the RFC seed, steps 56188870 and 56188871 both give the 6-digit code 617002 (found by
/// search). The newest acceptable step must be taken, so the code cannot be used twice.
#[test]
fn a_code_matching_two_adjacent_steps_is_burned_at_the_newest() {
    let (s, c) = (56_188_870u64, "617002");
    assert_eq!(code(s, 6).as_str(), c);
    assert_eq!(code(s + 1, 6).as_str(), c);
    let fx = Fixture::new();
    let mfa = fx.mfa();
    fx.enroll(&mfa, 6);
    // At step s the window is s-1, s, s+1: both s and s+1 match; s+1 must win.
    assert_eq!(
        mfa.verify_at(USER, DEFAULT_DEVICE, c, at_step(s)).unwrap(),
        s + 1
    );
    // Taking s would have let the same code through a second time as s+1.
    assert!(
        mfa.verify_at(USER, DEFAULT_DEVICE, c, at_step(s + 1))
            .is_err()
    );
    assert!(mfa.verify_at(USER, DEFAULT_DEVICE, c, at_step(s)).is_err());
}

#[test]
fn two_workers_racing_the_same_code_accept_it_once() {
    let fx = Fixture::new();
    let mfa = Arc::new(fx.mfa());
    fx.enroll(&mfa, 6);
    let step = 70_000_000u64;
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let mfa = mfa.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let c = code(step, 6);
                barrier.wait();
                mfa.verify_at(USER, DEFAULT_DEVICE, &c, at_step(step))
                    .is_ok()
            })
        })
        .collect();
    let accepted = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|ok| *ok)
        .count();
    assert_eq!(accepted, 1);
}

#[test]
fn two_stores_on_one_directory_share_the_replay_guard() {
    // Two processes are two store handles on the same directory.
    let fx = Fixture::new();
    let mfa = fx.mfa();
    fx.enroll(&mfa, 6);
    let other = Mfa::new(
        Arc::new(DirMfaStore::new(fx.store.dir())),
        fx.keys.clone(),
        "mfa",
    );
    let step = 80_000_000u64;
    let c = code(step, 6);
    assert!(
        mfa.verify_at(USER, DEFAULT_DEVICE, &c, at_step(step))
            .is_ok()
    );
    assert!(
        other
            .verify_at(USER, DEFAULT_DEVICE, &c, at_step(step))
            .is_err()
    );
}

#[test]
fn wrong_malformed_and_unknown() {
    let fx = Fixture::new();
    let mfa = fx.mfa();
    fx.enroll(&mfa, 6);
    let now = at_step(90_000_000);
    for bad in ["000000", "12345", "1234567", "12a456", "", "６１７００２"] {
        let good = code(90_000_000, 6);
        if bad == good.as_str() {
            continue;
        }
        assert!(
            matches!(
                mfa.verify_at(USER, DEFAULT_DEVICE, bad, now),
                Err(MfaError::Rejected)
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        mfa.verify_at("nobody", DEFAULT_DEVICE, "123456", now),
        Err(MfaError::NotEnrolled)
    ));
    assert!(matches!(
        mfa.verify_at(USER, "tablet", "123456", now),
        Err(MfaError::NotEnrolled)
    ));
    for id in ["", "has space", "tab\t", &"x".repeat(129)] {
        assert!(matches!(
            mfa.verify_at(id, DEFAULT_DEVICE, "123456", now),
            Err(MfaError::InvalidId)
        ));
    }
    // Before 1970 there is no time step.
    assert!(
        mfa.verify_at(USER, DEFAULT_DEVICE, "123456", from_unix_seconds(-100))
            .is_err()
    );
}

#[test]
fn attempts_are_rate_limited() {
    let fx = Fixture::new();
    let mfa = Mfa::new(fx.store.clone(), fx.keys.clone(), "mfa");
    fx.enroll(&mfa, 6);
    let now = at_step(91_000_000);
    for _ in 0..5 {
        assert!(matches!(
            mfa.verify_at(USER, DEFAULT_DEVICE, "000001", now),
            Err(MfaError::Rejected)
        ));
    }
    let limited = mfa.verify_at(USER, DEFAULT_DEVICE, &code(91_000_000, 6), now);
    assert!(
        matches!(limited, Err(MfaError::RateLimited { .. })),
        "{limited:?}"
    );
    assert_eq!(limited.unwrap_err().category(), Category::Refused);
    // Another user has their own budget.
    assert!(matches!(
        mfa.verify_at("someone-else", DEFAULT_DEVICE, "000001", now),
        Err(MfaError::NotEnrolled)
    ));
}

#[test]
fn a_sealed_secret_moved_to_another_user_does_not_open() {
    let fx = Fixture::new();
    let mfa = fx.mfa();
    fx.enroll(&mfa, 6);
    let factor = fx.store.factor(USER, DEFAULT_DEVICE).unwrap().unwrap();
    fx.store
        .create_factor("mallory", DEFAULT_DEVICE, &factor)
        .unwrap();
    let step = 92_000_000;
    let err = mfa
        .verify_at("mallory", DEFAULT_DEVICE, &code(step, 6), at_step(step))
        .unwrap_err();
    assert_eq!(err.category(), Category::Verification);
    assert_eq!(err.code(), "AUTHENTICATION_FAILED");
}

#[test]
fn recovery_codes_are_single_use_and_stored_hashed() {
    let fx = Fixture::new();
    let mfa = fx.mfa();
    assert!(matches!(
        mfa.new_recovery_codes(USER),
        Err(MfaError::NotEnrolled)
    ));
    fx.enroll(&mfa, 6);
    let codes = mfa.new_recovery_codes(USER).unwrap();
    assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
    assert_eq!(
        mfa.remaining_recovery_codes(USER).unwrap(),
        RECOVERY_CODE_COUNT
    );
    let first = codes[0].expose_secret().to_owned();
    assert_eq!(first.len(), 19);
    let stored = std::fs::read_dir(fx.store.dir())
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap_or_default())
        .collect::<String>();
    for c in &codes {
        assert!(!stored.contains(c.expose_secret()));
        assert!(!stored.contains(&c.expose_secret().replace('-', "")));
    }
    // Lower case and without dashes is the same code.
    let typed = first.to_lowercase().replace('-', " ");
    mfa.redeem_recovery_code(USER, &typed).unwrap();
    assert!(matches!(
        mfa.redeem_recovery_code(USER, &first),
        Err(MfaError::Rejected)
    ));
    assert_eq!(
        mfa.remaining_recovery_codes(USER).unwrap(),
        RECOVERY_CODE_COUNT - 1
    );
    // Another user's valid-looking code, garbage, and an old set after regeneration.
    for bad in ["0000-0000-0000-0000", "not a code", "", &"A".repeat(100)] {
        assert!(mfa.redeem_recovery_code(USER, bad).is_err(), "{bad}");
    }
    let second = codes[1].expose_secret().to_owned();
    let fresh = mfa.new_recovery_codes(USER).unwrap();
    assert!(mfa.redeem_recovery_code(USER, &second).is_err());
    mfa.redeem_recovery_code(USER, fresh[9].expose_secret())
        .unwrap();
    // Codes are bound to their user.
    assert!(
        mfa.redeem_recovery_code("someone-else", fresh[0].expose_secret())
            .is_err()
    );
}

#[test]
fn remove_forgets_factors_and_codes() {
    let fx = Fixture::new();
    let mfa = fx.mfa();
    fx.enroll(&mfa, 6);
    mfa.new_recovery_codes(USER).unwrap();
    assert!(mfa.remove(USER).unwrap());
    assert!(!mfa.remove(USER).unwrap());
    assert!(!mfa.is_enrolled(USER).unwrap());
    assert_eq!(mfa.remaining_recovery_codes(USER).unwrap(), 0);
    // Re-enrollment starts a fresh factor.
    fx.enroll(&mfa, 6);
    let step = 93_000_000;
    assert!(
        mfa.verify_at(USER, DEFAULT_DEVICE, &code(step, 6), at_step(step))
            .is_ok()
    );
}

#[test]
fn enroll_refuses_bad_parameters_and_secrets() {
    let fx = Fixture::new();
    let mfa = fx.mfa();
    let with = |digits, period, secret: Option<Vec<u8>>| EnrollOptions {
        params: TotpParams {
            algorithm: Algorithm::Sha256,
            digits,
            period,
        },
        secret: secret.map(Zeroizing::new),
    };
    assert!(matches!(
        mfa.enroll(USER, DEFAULT_DEVICE, with(7, 30, None)),
        Err(MfaError::InvalidParams(_))
    ));
    assert!(matches!(
        mfa.enroll(USER, DEFAULT_DEVICE, with(6, 5, None)),
        Err(MfaError::InvalidParams(_))
    ));
    assert!(matches!(
        mfa.enroll(USER, DEFAULT_DEVICE, with(6, 30, Some(vec![1; 10]))),
        Err(MfaError::InvalidSecret(_))
    ));
    assert!(matches!(
        mfa.enroll(USER, DEFAULT_DEVICE, with(6, 30, Some(vec![1; 129]))),
        Err(MfaError::InvalidSecret(_))
    ));
    assert!(matches!(
        mfa.enroll("bad id", DEFAULT_DEVICE, with(6, 30, None)),
        Err(MfaError::InvalidId)
    ));
    // Unknown keyring: the key is unavailable, nothing is stored.
    let elsewhere = Mfa::new(fx.store.clone(), fx.keys.clone(), "missing");
    let err = elsewhere
        .enroll(USER, DEFAULT_DEVICE, with(6, 30, None))
        .unwrap_err();
    assert_eq!(err.category(), Category::KeyUnavailable);
    assert!(!mfa.is_enrolled(USER).unwrap());
}

#[test]
fn corrupt_records_are_refused() {
    let fx = Fixture::new();
    let mfa = fx.mfa();
    fx.enroll(&mfa, 6);
    let path = std::fs::read_dir(fx.store.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let good = std::fs::read_to_string(&path).unwrap();
    let cases = [
        "not json".to_owned(),
        good.replace("trust-mfa", "other"),
        good.replace("\"format_version\": 1", "\"format_version\": 2"),
        good.replace("SHA1", "MD5"),
        good.replace("\"digits\": 6", "\"digits\": 7"),
        good.replace("ops@acme.example", "mallory"),
        good.replace(
            "\"recovery\": []",
            "\"recovery\": [{\"hash\":\"zz\",\"used\":false}]",
        ),
        good.replace("\"factors\": {", "\"extra\": 1, \"factors\": {"),
        " ".repeat(usize::try_from(MAX_USER_FILE).unwrap() + 1),
    ];
    for (i, bad) in cases.iter().enumerate() {
        assert_ne!(bad, &good, "case {i} did not change the file");
        std::fs::write(&path, bad).unwrap();
        let err = fx.store.factor(USER, DEFAULT_DEVICE).unwrap_err();
        assert!(
            matches!(err, MfaStoreError::Corrupt(_)),
            "case {i}: {err:?}"
        );
        assert!(parse_user_file(bad.as_bytes(), USER).is_err());
    }
    std::fs::write(&path, &good).unwrap();
    assert!(parse_user_file(good.as_bytes(), USER).is_ok());
}

#[test]
fn errors_have_stable_codes_and_hold_no_secrets() {
    let table: [(MfaError, &str, Category); 5] = [
        (MfaError::Rejected, "MFA_REJECTED", Category::Verification),
        (
            MfaError::RateLimited {
                retry_after: Duration::from_secs(3),
            },
            "MFA_RATE_LIMITED",
            Category::Refused,
        ),
        (
            MfaError::NotEnrolled,
            "MFA_NOT_ENROLLED",
            Category::KeyUnavailable,
        ),
        (
            MfaError::AlreadyEnrolled,
            "MFA_ALREADY_ENROLLED",
            Category::Usage,
        ),
        (MfaError::InvalidId, "MFA_INVALID_ID", Category::Usage),
    ];
    for (err, code, category) in table {
        assert_eq!(err.code(), code);
        assert_eq!(err.category(), category);
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn a_seventeenth_device_is_refused() {
    let fx = Fixture::new();
    let mfa = fx.mfa();
    for i in 0..MAX_DEVICES {
        mfa.enroll(USER, &format!("device-{i}"), EnrollOptions::default())
            .unwrap();
    }
    let err = mfa
        .enroll(USER, "one-too-many", EnrollOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, MfaError::Store(MfaStoreError::Full(_))),
        "{err:?}"
    );
    assert_eq!(err.category(), Category::Usage);
}

mod props {
    use proptest::prelude::*;

    use super::super::totp::{self, Algorithm, TotpParams};

    proptest! {
        /// Any secret of an accepted length survives base32 in any letter case.
        #[test]
        fn base32_round_trips(secret in proptest::collection::vec(any::<u8>(), 16..=128)) {
            let text = totp::base32_encode(&secret);
            prop_assert_eq!(&totp::base32_decode(&text).unwrap()[..], &secret[..]);
            prop_assert_eq!(&totp::base32_decode(&text.to_lowercase()).unwrap()[..], &secret[..]);
        }

        /// A code always has exactly `digits` ASCII digits, whatever the secret and step.
        #[test]
        fn codes_have_the_requested_length(
            secret in proptest::collection::vec(any::<u8>(), 16..=64),
            step in any::<u64>(),
            eight in any::<bool>(),
            alg in 0u8..3,
        ) {
            let algorithm = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512][usize::from(alg)];
            let digits = if eight { 8 } else { 6 };
            let p = TotpParams { algorithm, digits, period: 30 };
            let code = totp::code_at_step(&secret, &p, step);
            prop_assert_eq!(code.len(), usize::from(digits));
            prop_assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }

        /// Arbitrary text never panics the base32 decoder, and what it accepts is in bounds.
        #[test]
        fn base32_decode_is_total(text in ".{0,300}") {
            if let Ok(secret) = totp::base32_decode(&text) {
                prop_assert!((totp::MIN_SECRET_LEN..=totp::MAX_SECRET_LEN).contains(&secret.len()));
            }
        }
    }
}
