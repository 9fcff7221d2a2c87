//! Tests of the home: files on disk, root keys, concurrency, the provider contract.

use std::sync::Arc;

use super::*;
use crate::clock::{Clock, FixedClock};
use crate::error::TrustError;
use crate::event::MemorySink;
use crate::provider::{KeyProvider, Suite};
use crate::root::PassphraseParams;
use crate::secret::SecretBytes;

fn cheap() -> PassphraseParams {
    PassphraseParams {
        m_kib: 64,
        t: 1,
        p: 1,
    }
}

fn force() -> Destroy {
    Destroy::force("incident 42").unwrap()
}

fn key_file_home(dir: &Path) -> Home {
    Home::init(dir, InitSource::KeyFile(dir.join("root.key"))).unwrap()
}

#[test]
fn key_file_home_reopens_and_rejects_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let home = key_file_home(dir.path());
    home.create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    let k1 = home.encryption_key("orders").unwrap();
    drop(home);
    assert_eq!(
        Home::root_kind(dir.path()).unwrap(),
        RootKind::KeyFile(std::path::absolute(dir.path().join("root.key")).unwrap())
    );
    let home = Home::open(dir.path(), Unlock::Stored).unwrap();
    let k = home.decryption_key(&k1.key_ref).unwrap();
    assert_eq!(k.expose(), k1.kek.expose());

    let other = dir.path().join("other.key");
    crate::root::create_key_file(&other).unwrap();
    let err = Home::open(dir.path(), Unlock::KeyFile(other)).unwrap_err();
    assert_eq!(err, KeyringError::Root(RootKeyError::WrongKeyFile));
    assert_eq!(err.category().exit_code(), 4);
    assert!(matches!(
        Home::init(dir.path(), InitSource::KeyFile(dir.path().join("x"))),
        Err(KeyringError::HomeExists { .. })
    ));
}

#[test]
fn passphrase_home_wrong_passphrase_is_typed() {
    let dir = tempfile::tempdir().unwrap();
    let pass = || SecretBytes::from(b"correct horse battery".to_vec());
    Home::init(
        dir.path(),
        InitSource::Passphrase {
            passphrase: pass(),
            params: cheap(),
        },
    )
    .unwrap();
    assert_eq!(Home::root_kind(dir.path()).unwrap(), RootKind::Passphrase);
    Home::open(dir.path(), Unlock::Passphrase(pass())).unwrap();
    let err = Home::open(
        dir.path(),
        Unlock::Passphrase(SecretBytes::from(b"wrong".to_vec())),
    )
    .unwrap_err();
    assert_eq!(err.code(), "WRONG_PASSPHRASE");
    assert!(matches!(
        Home::open(dir.path(), Unlock::Stored),
        Err(KeyringError::Usage(_))
    ));
}

#[test]
fn missing_home_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Home::open(dir.path(), Unlock::Stored).unwrap_err();
    assert_eq!(err.code(), "HOME_NOT_INITIALIZED");
    assert_eq!(err.category().exit_code(), 2);
}

#[test]
fn every_change_is_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(MemorySink::new());
    let home = key_file_home(dir.path())
        .with_sink(sink.clone())
        .with_actor("ops");
    home.create_keyring("orders", Suite::XChaCha20Poly1305, Policy::default())
        .unwrap();
    home.encryption_key("orders").unwrap(); // v1 has sealed something
    let v2 = home.rotate("orders", Rollout::Immediate).unwrap();
    assert_eq!(v2, KeyRef::new("orders", 2));
    home.retire(&KeyRef::new("orders", 1)).unwrap();
    home.enable(&KeyRef::new("orders", 1)).unwrap();
    home.retire(&KeyRef::new("orders", 1)).unwrap();
    home.schedule_destroy(&KeyRef::new("orders", 1)).unwrap();
    assert!(matches!(
        home.destroy(&KeyRef::new("orders", 1), &Destroy::IfUnused),
        Err(KeyringError::LiveCiphertexts { uses: 1024, .. })
    ));
    // The refusal changed nothing: still PendingDestroy.
    assert_eq!(
        home.keyring("orders").unwrap().version(1).unwrap().state,
        VersionState::PendingDestroy
    );
    home.destroy(&KeyRef::new("orders", 1), &force()).unwrap();
    let events = sink.events();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "key.create",
            "key.rotate",
            "key.promote",
            "key.promote",
            "key.retire",
            "key.enable",
            "key.retire",
            "key.destroy.schedule",
            "key.destroy"
        ]
    );
    let last = events.last().unwrap();
    assert_eq!(last.attrs["forced"], "true");
    assert_eq!(last.attrs["reason"], "incident 42");
    let scheduled = &events[events.len() - 2];
    assert_eq!(scheduled.attrs["to"], "pending-destroy");
    assert!(
        !scheduled.attrs.contains_key("forced"),
        "scheduling is not destroying"
    );
    assert_eq!(last.attrs["from"], "pending-destroy");
    assert_eq!(last.attrs["to"], "destroyed");
    assert_eq!(last.attrs["keyring"], "orders");
    assert_eq!(last.attrs["version"], "1");
    assert_eq!(last.actor.as_deref(), Some("ops"));
    for e in &events {
        for v in e.attrs.values() {
            assert!(v.len() < 40, "no key material in events: {v}");
        }
    }
}

#[test]
fn provider_returns_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let home = key_file_home(dir.path());
    home.create_keyring("a", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    home.rotate("a", Rollout::Immediate).unwrap();
    let r1 = KeyRef::new("a", 1);
    home.decryption_key(&r1).unwrap();
    home.retire(&KeyRef::new("a", 1)).unwrap();
    assert!(matches!(
        home.decryption_key(&r1),
        Err(KeyError::Disabled { .. })
    ));
    home.schedule_destroy(&KeyRef::new("a", 1)).unwrap();
    assert!(matches!(
        home.decryption_key(&r1),
        Err(KeyError::PendingDestroy { .. })
    ));
    // v1 never sealed: no force needed.
    home.destroy(&KeyRef::new("a", 1), &Destroy::IfUnused)
        .unwrap();
    assert!(matches!(
        home.decryption_key(&r1),
        Err(KeyError::Destroyed { .. })
    ));
    assert!(matches!(
        home.decryption_key(&KeyRef::new("a", 7)),
        Err(KeyError::UnknownVersion { .. })
    ));
    assert!(matches!(
        home.decryption_key(&KeyRef::new("nope", 1)),
        Err(KeyError::UnknownKeyring { .. })
    ));
    assert!(matches!(
        home.encryption_key("nope"),
        Err(KeyError::UnknownKeyring { .. })
    ));
    let mut subject = KeyRef::new("a", 2);
    subject.subject = Some("p-123".into());
    assert!(home.decryption_key(&subject).is_err());
}

#[test]
fn usage_is_reserved_in_blocks_and_capped() {
    let dir = tempfile::tempdir().unwrap();
    let home = key_file_home(dir.path()).with_options(HomeOptions {
        usage_block: 4,
        ..HomeOptions::default()
    });
    let policy = Policy {
        max_uses: 10,
        ..Policy::default()
    };
    home.create_keyring("a", Suite::Aes256Gcm, policy).unwrap();
    home.encryption_key("a").unwrap();
    let rev_after_first = home.keyring("a").unwrap().revision();
    for _ in 0..3 {
        home.encryption_key("a").unwrap();
    }
    assert_eq!(
        home.keyring("a").unwrap().revision(),
        rev_after_first,
        "seals within a block do not write"
    );
    for _ in 0..6 {
        home.encryption_key("a").unwrap();
    }
    assert_eq!(home.keyring("a").unwrap().primary().uses, 10);
    assert!(matches!(
        home.encryption_key("a"),
        Err(KeyError::UsageLimitReached { .. })
    ));
    assert!(
        home.rotation_due("a", std::time::SystemTime::now())
            .unwrap()
    );
    home.rotate("a", Rollout::Immediate).unwrap();
    assert_eq!(home.encryption_key("a").unwrap().key_ref.version, 2);
}

#[test]
fn cache_serves_repeat_unwraps() {
    let dir = tempfile::tempdir().unwrap();
    let home = key_file_home(dir.path());
    home.create_keyring("a", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    assert!(home.cache().is_empty());
    let a = home.encryption_key("a").unwrap();
    let b = home.encryption_key("a").unwrap();
    assert!(Arc::ptr_eq(&a.kek, &b.kek));
    assert_eq!(home.cache().len(), 1);
}

#[test]
fn tampered_swapped_and_torn_files_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let home = key_file_home(dir.path());
    home.create_keyring("a", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    home.create_keyring("b", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    let kr = dir.path().join("keyrings");
    let a = std::fs::read(kr.join("a.json")).unwrap();

    // Edited state: "uses": 0 → 1 (valid JSON, valid structure, wrong auth).
    let edited = String::from_utf8(a.clone())
        .unwrap()
        .replacen("\"uses\": 0", "\"uses\": 1", 1);
    std::fs::write(kr.join("a.json"), edited).unwrap();
    let err = home.keyring("a").unwrap_err();
    assert_eq!(err.code(), "KEYRING_TAMPERED");
    assert_eq!(err.category().exit_code(), 1);

    // Swapped: b's file copied over a's.
    std::fs::copy(kr.join("b.json"), kr.join("a.json")).unwrap();
    assert_eq!(home.keyring("a").unwrap_err().code(), "KEYRING_TAMPERED");

    // Torn: half of the file.
    std::fs::write(kr.join("a.json"), &a[..a.len() / 2]).unwrap();
    let err = home.keyring("a").unwrap_err();
    assert_eq!(err.code(), "KEYRING_CORRUPT");
    assert!(err.to_string().contains("truncated"), "{err}");
    // …and a write refuses to replace it blindly.
    assert_eq!(
        home.rotate("a", Rollout::Staged).unwrap_err().code(),
        "KEYRING_CORRUPT"
    );

    // Restored from "backup": works again.
    std::fs::write(kr.join("a.json"), &a).unwrap();
    home.rotate("a", Rollout::Staged).unwrap();
}

#[test]
fn concurrent_rotations_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    key_file_home(dir.path())
        .create_keyring("a", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let path = dir.path().to_path_buf();
            std::thread::spawn(move || {
                // A separate Home per thread, as separate processes would have.
                let home = Home::open(&path, Unlock::Stored).unwrap();
                (0..5)
                    .map(|_| home.rotate("a", Rollout::Staged).unwrap().version)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut versions: Vec<u32> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (2..=21).collect::<Vec<_>>());
    let home = Home::open(dir.path(), Unlock::Stored).unwrap();
    assert_eq!(home.keyring("a").unwrap().versions().len(), 21);
}

#[test]
fn staging_time_uses_the_injected_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::at_unix(1_000_000));
    let home = key_file_home(dir.path()).with_clock(clock.clone());
    let policy = Policy {
        min_stage_secs: 300,
        max_age_secs: Some(86_400),
        ..Policy::default()
    };
    home.create_keyring("a", Suite::Aes256Gcm, policy).unwrap();
    // An immediate rollout honours the staging time too, and refuses without adding a version.
    let err = home.rotate("a", Rollout::Immediate).unwrap_err();
    assert_eq!(err.code(), "STAGING_TOO_SHORT");
    assert_eq!(err.category().exit_code(), 2);
    assert_eq!(home.keyring("a").unwrap().versions().len(), 1);
    let v = home.rotate("a", Rollout::Staged).unwrap();
    assert_eq!(home.promote(&v).unwrap_err().code(), "STAGING_TOO_SHORT");
    clock.advance(std::time::Duration::from_secs(300));
    home.promote(&v).unwrap();
    assert!(!home.rotation_due("a", clock.now()).unwrap());
    clock.advance(std::time::Duration::from_secs(86_400));
    assert!(home.rotation_due("a", clock.now()).unwrap());
}

#[test]
fn memory_store_home_works_without_a_directory() {
    let root = Arc::new(crate::root::LocalRootKey::new(
        &crate::secret::Key256::generate().unwrap(),
    ));
    let home = Home::from_parts(root, Arc::new(MemoryStore::new()));
    home.create_keyring("m", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    assert_eq!(home.keyring_names().unwrap(), ["m"]);
    assert!(matches!(
        home.create_keyring("m", Suite::Aes256Gcm, Policy::default()),
        Err(KeyringError::AlreadyExists { .. })
    ));
    assert!(matches!(
        home.create_keyring("Bad/Name", Suite::Aes256Gcm, Policy::default()),
        Err(KeyringError::InvalidName { .. })
    ));
}

/// The published example of docs/format-keyring.md (docs/vectors/keyring-v1.json, root key =
/// 32 bytes of 0x42): it must parse, verify, and its intermediate values must be the ones the
/// spec prints, so the spec cannot drift from the code.
#[test]
fn published_vector_verifies() {
    use sha2::{Digest, Sha256};
    let bytes = include_bytes!("../../../../docs/vectors/keyring-v1.json");
    let root = crate::root::LocalRootKey::new(&crate::secret::Key256::from_bytes([0x42; 32]));
    let parsed = file::parse(bytes).unwrap();
    let canonical = serde_json::to_vec(&parsed.record).unwrap();
    assert_eq!(canonical.len(), 860);
    assert_eq!(
        hex::encode(Sha256::digest(&canonical)),
        "f786279ac6420357fd121dcb810629152f887ba8ee01457e49399485ddbafa38"
    );
    assert_eq!(
        hex::encode(material_aad("orders", 2)),
        "74727573742e6b657972696e672e76657273696f6e2e7631006f72646572730000000002"
    );
    let record = file::verify(parsed, &root, "orders").unwrap();
    assert_eq!(record.revision, 5);
    for v in &record.versions {
        use base64::Engine as _;
        let wrapped = base64::engine::general_purpose::STANDARD
            .decode(v.material.as_ref().unwrap())
            .unwrap();
        let key = crate::root::RootKey::unwrap(&root, &material_aad("orders", v.version), &wrapped)
            .unwrap();
        assert_eq!(key.len(), 32);
        // Bound to its version: the other version's AAD does not open it.
        assert!(
            crate::root::RootKey::unwrap(&root, &material_aad("orders", v.version + 1), &wrapped)
                .is_err()
        );
    }
    // Under another name, or with the revision bumped, it does not verify.
    assert_eq!(
        file::verify(file::parse(bytes).unwrap(), &root, "billing").unwrap_err(),
        FileError::Unauthentic
    );
    let bumped = String::from_utf8(bytes.to_vec()).unwrap().replacen(
        "\"revision\": 5",
        "\"revision\": 6",
        1,
    );
    assert_eq!(
        file::verify(file::parse(bumped.as_bytes()).unwrap(), &root, "orders").unwrap_err(),
        FileError::Unauthentic
    );
}

#[test]
fn parser_rejects_each_invariant_violation() {
    let bytes = include_str!("../../../../docs/vectors/keyring-v1.json");
    let cases: [(&str, &str, &str); 12] = [
        (
            "\"format_version\": 1",
            "\"format_version\": 3",
            "unsupported format version 3",
        ),
        (
            "\"next_version\": 3,",
            "\"next_version\": 3, \"min_decryption_version\": 3,",
            "a minimum version above the latest version",
        ),
        (
            "\"format_version\": 1",
            "\"format_version\": 2",
            "", // a version-1 record may be labelled 2; it parses (and authenticates)
        ),
        (
            "\"census_clear_at\": null,",
            "\"census_clear_at\": null, \"moved\": 1,",
            "version-2 fields",
        ),
        (
            "\"format\": \"trust-keyring\"",
            "\"format\": \"other\"",
            "not a trust keyring",
        ),
        (
            "\"state\": \"disabled\"",
            "\"state\": \"primary\"",
            "not exactly one primary",
        ),
        (
            "\"next_version\": 3",
            "\"next_version\": 2",
            "reuse a version number",
        ),
        ("\"version\": 2,", "\"version\": 1,", "strictly increasing"),
        (
            "\"suite\": \"aes-256-gcm\"",
            "\"suite\": \"rot13\"",
            "unknown suite",
        ),
        (
            "\"name\": \"orders\"",
            "\"name\": \"Orders\"",
            "invalid keyring name",
        ),
        (
            "\"uses\": 0,",
            "\"uses\": 0, \"extra\": 1,",
            "unexpected field",
        ),
        (
            "\"destroy_after\": null",
            "\"destroy_after\": 5",
            "destroy_after",
        ),
    ];
    for (from, to, why) in cases {
        let bad = bytes.replacen(from, to, 1);
        assert_ne!(bad, bytes, "{from}");
        if why.is_empty() {
            file::parse(bad.as_bytes()).unwrap();
            continue;
        }
        let err = file::parse(bad.as_bytes()).unwrap_err().to_string();
        assert!(err.contains(why), "{to}: {err}");
    }
    let big = vec![b' '; file::MAX_FILE_LEN + 1];
    assert_eq!(file::parse(&big).unwrap_err(), FileError::TooLarge);
    let no_material = bytes.replacen("\"material\": \"GmLQ", "\"material\": null, \"x\": \"", 1);
    assert!(file::parse(no_material.as_bytes()).is_err());
}

#[test]
fn census_and_cancel_go_through_the_home_and_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(MemorySink::new());
    let home = key_file_home(dir.path()).with_sink(sink.clone());
    let policy = Policy {
        destroy_grace_secs: 3600,
        ..Policy::default()
    };
    home.create_keyring("a", Suite::Aes256Gcm, policy).unwrap();
    home.encryption_key("a").unwrap();
    home.rotate("a", Rollout::Immediate).unwrap();
    home.retire(&KeyRef::new("a", 1)).unwrap();
    home.schedule_destroy(&KeyRef::new("a", 1)).unwrap();
    assert!(matches!(
        home.destroy(&KeyRef::new("a", 1), &force()),
        Err(KeyringError::GraceNotElapsed { .. })
    ));
    home.cancel_destroy(&KeyRef::new("a", 1)).unwrap();
    assert_eq!(
        home.keyring("a").unwrap().version(1).unwrap().state,
        VersionState::Disabled
    );
    assert!(
        home.record_census(&KeyRef::new("a", 2), 0).is_err(),
        "the primary keeps sealing"
    );
    home.record_census(&KeyRef::new("a", 1), 0).unwrap();
    assert!(
        !home
            .keyring("a")
            .unwrap()
            .version(1)
            .unwrap()
            .may_have_live_ciphertexts()
    );
    let kinds: Vec<_> = sink.events().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        &kinds[kinds.len() - 3..],
        ["key.destroy.schedule", "key.destroy.cancel", "key.census"]
    );
}

#[test]
fn rotate_if_due_rotates_once_and_finishes_the_rollout() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::at_unix(1_000_000));
    let sink = Arc::new(MemorySink::new());
    let home = key_file_home(dir.path())
        .with_clock(clock.clone())
        .with_sink(sink.clone());
    let policy = Policy {
        max_age_secs: Some(3600),
        min_stage_secs: 60,
        ..Policy::default()
    };
    home.create_keyring("a", Suite::Aes256Gcm, policy).unwrap();
    let rev = home.keyring("a").unwrap().revision();
    assert_eq!(
        home.rotate_if_due("a", Rollout::Immediate).unwrap(),
        RotateIfDue::NotDue
    );
    assert_eq!(
        home.keyring("a").unwrap().revision(),
        rev,
        "nothing written"
    );
    clock.advance(std::time::Duration::from_secs(3600));
    // Due; with a staging time an immediate rollout is staged, never promoted early.
    assert_eq!(
        home.rotate_if_due("a", Rollout::Immediate).unwrap(),
        RotateIfDue::Rotated {
            key_ref: KeyRef::new("a", 2),
            promoted: false
        }
    );
    assert_eq!(
        home.rotate_if_due("a", Rollout::Immediate).unwrap(),
        RotateIfDue::Waiting {
            key_ref: KeyRef::new("a", 2),
            ready_at: 1_003_660
        }
    );
    clock.advance(std::time::Duration::from_secs(60));
    assert_eq!(
        home.rotate_if_due("a", Rollout::Staged).unwrap(),
        RotateIfDue::Promoted {
            key_ref: KeyRef::new("a", 2)
        }
    );
    assert_eq!(
        home.rotate_if_due("a", Rollout::Staged).unwrap(),
        RotateIfDue::NotDue
    );
    assert_eq!(home.keyring("a").unwrap().versions().len(), 2);
    // Without a staging time an immediate rollout promotes at once.
    home.configure("a", &ConfigChange::new().rotation_period_secs(Some(10)))
        .unwrap();
    home.create_keyring(
        "b",
        Suite::Aes256Gcm,
        Policy {
            max_age_secs: Some(10),
            ..Policy::default()
        },
    )
    .unwrap();
    clock.advance(std::time::Duration::from_secs(10));
    assert_eq!(
        home.rotate_if_due("b", Rollout::Immediate).unwrap(),
        RotateIfDue::Rotated {
            key_ref: KeyRef::new("b", 2),
            promoted: true
        }
    );
    let kinds: Vec<_> = sink.events().into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"key.config".to_owned()), "{kinds:?}");
}

#[test]
fn minimum_decryption_version_is_enforced_through_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let home = key_file_home(dir.path());
    home.create_keyring("a", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    let r1 = KeyRef::new("a", 1);
    home.decryption_key(&r1).unwrap(); // now cached
    home.rotate("a", Rollout::Immediate).unwrap();
    let ring = home
        .configure("a", &ConfigChange::new().min_decryption_version(2))
        .unwrap();
    assert_eq!(ring.min_decryption_version(), 2);
    let err = home.decryption_key(&r1).unwrap_err();
    assert_eq!(err.code(), "KEY_BELOW_MIN_DECRYPTION");
    assert_eq!(err.category().exit_code(), 4);
    // Persisted in the authenticated file, as format version 2.
    let bytes = std::fs::read(dir.path().join("keyrings/a.json")).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("\"format_version\": 2"), "{text}");
    assert!(text.contains("\"min_decryption_version\": 2"), "{text}");
    let reopened = Home::open(dir.path(), Unlock::Stored).unwrap();
    assert_eq!(
        reopened.decryption_key(&r1).unwrap_err().code(),
        "KEY_BELOW_MIN_DECRYPTION"
    );
    // Editing the minimum in the file breaks its authentication.
    let edited = text.replace(
        "\"min_decryption_version\": 2",
        "\"min_decryption_version\": 1",
    );
    std::fs::write(dir.path().join("keyrings/a.json"), edited).unwrap();
    assert_eq!(
        Home::open(dir.path(), Unlock::Stored)
            .unwrap()
            .keyring("a")
            .unwrap_err()
            .code(),
        "KEYRING_TAMPERED"
    );
}

#[test]
fn released_reservations_let_the_census_clear() {
    let dir = tempfile::tempdir().unwrap();
    let home = key_file_home(dir.path()); // blocks of 1024
    home.create_keyring("a", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    let ctx = crate::envelope::Context::new();
    let token = crate::envelope::seal_token(&home, "a", &ctx, b"x").unwrap();
    assert_eq!(home.keyring("a").unwrap().primary().uses, 1024);
    home.release_unused().unwrap();
    assert_eq!(home.keyring("a").unwrap().primary().uses, 1);
    home.release_unused().unwrap(); // nothing left to release
    assert_eq!(home.keyring("a").unwrap().primary().uses, 1);
    home.rotate("a", Rollout::Immediate).unwrap();
    let mut job = Rewrapper::new(&home);
    let (status, replacement) = job.item(&Sealed::Token {
        token,
        context: ctx,
    });
    assert!(replacement.is_some());
    if let ItemStatus::Rewrapped { from, .. } = status {
        job.stored(&from);
    }
    job.finish().unwrap();
    home.retire(&KeyRef::new("a", 1)).unwrap();
    assert_eq!(
        home.destroy(&KeyRef::new("a", 1), &Destroy::IfUnused)
            .unwrap(),
        DestroyOutcome::Destroyed { forced: false }
    );
}

#[test]
fn version_1_files_still_read_and_version_2_fields_need_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let home = key_file_home(dir.path());
    home.create_keyring("a", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    let path = dir.path().join("keyrings/a.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("\"format_version\": 1"),
        "unchanged for old readers"
    );
    home.configure("a", &ConfigChange::new().min_encryption_version(1))
        .unwrap();
    let v2 = std::fs::read_to_string(&path).unwrap();
    let downgraded = v2.replace("\"format_version\": 2", "\"format_version\": 1");
    assert_eq!(
        file::parse(downgraded.as_bytes()).unwrap_err(),
        FileError::Invalid("a version-1 file holds version-2 fields")
    );
    let future = v2.replace("\"format_version\": 2", "\"format_version\": 3");
    assert_eq!(
        file::parse(future.as_bytes()).unwrap_err(),
        FileError::UnsupportedVersion(3)
    );
}

#[test]
fn subject_refs_are_not_keyring_versions() {
    let dir = tempfile::tempdir().unwrap();
    let home = key_file_home(dir.path());
    home.create_keyring("a", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    let mut r = KeyRef::new("a", 1);
    r.subject = Some("p1-00".into());
    assert_eq!(home.retire(&r).unwrap_err().code(), "USAGE");
}

/// The published version-2 example (docs/vectors/keyring-v2.json): the version-1 example after
/// a rewrap census (v1 `moved` 1 of 1) and `min_decryption_version` = `min_encryption_version`
/// = 2. It must parse, verify, print the spec's values, and enforce what it says.
#[test]
fn published_v2_vector_verifies() {
    use sha2::{Digest, Sha256};
    let bytes = include_bytes!("../../../../docs/vectors/keyring-v2.json");
    let root = crate::root::LocalRootKey::new(&crate::secret::Key256::from_bytes([0x42; 32]));
    let parsed = file::parse(bytes).unwrap();
    let canonical = serde_json::to_vec(&parsed.record).unwrap();
    assert_eq!(canonical.len(), 924);
    assert_eq!(
        hex::encode(Sha256::digest(&canonical)),
        "7ef8f68b635d9038e39d11b432f61f7817e647cb7b054118700cba633ac2a5b7"
    );
    let record = file::verify(parsed, &root, "orders").unwrap();
    assert_eq!(record.format_version(), 2);
    let ring = Keyring::from_record(record);
    assert_eq!(
        ring.check_decrypt(1).unwrap_err().code(),
        "KEY_DISABLED",
        "state first"
    );
    let v1 = ring.version(1).unwrap();
    assert_eq!((v1.uses, v1.moved), (1, 1));
    assert!(!v1.may_have_live_ciphertexts());
    assert_eq!(
        ring.check_destroy(1, 0, &Destroy::IfUnused).unwrap(),
        DestroyOutcome::Destroyed { forced: false }
    );
    // The same bytes labelled version 1 are refused: they hold version-2 fields.
    let text = std::str::from_utf8(bytes).unwrap();
    let relabelled = text.replace("\"format_version\": 2", "\"format_version\": 1");
    assert!(file::parse(relabelled.as_bytes()).is_err());
}
