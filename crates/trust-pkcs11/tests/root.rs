//! `Pkcs11RootKey` against a real token (SoftHSM2 under CI; see .ci/softhsm).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use cryptoki::context::Pkcs11;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::UserType;
use trust_core::envelope::{self, Context};
use trust_core::keyring::{DirStore, Home, HomeOptions, Policy};
use trust_core::provider::Suite;
use trust_core::root::{RootKey, RootKeyError};
use trust_pkcs11::{OVERHEAD, Pkcs11RootKey};

use common::{hsm, unique};

#[test]
fn wraps_in_the_token_and_binds_the_aad() {
    let Some(h) = hsm("wraps_in_the_token_and_binds_the_aad") else {
        return;
    };
    let label = unique("root");
    let root = Pkcs11RootKey::create_or_open(&h.uri(&label), h.pin()).unwrap();
    assert_eq!(root.kind(), "pkcs11");
    let w = root
        .wrap(b"keyring orders v1", b"0123456789abcdef0123456789abcdef")
        .unwrap();
    assert_eq!(w.len(), 32 + OVERHEAD);
    assert_eq!(w[0], 0x01);
    assert_eq!(
        root.unwrap(b"keyring orders v1", &w).unwrap().as_slice(),
        b"0123456789abcdef0123456789abcdef"
    );
    // Fresh IV per wrap.
    assert_ne!(
        root.wrap(b"a", b"x").unwrap(),
        root.wrap(b"a", b"x").unwrap()
    );
    // Another AAD, any flipped byte, a truncation, an unknown format byte: opaque Unwrap.
    assert_eq!(
        root.unwrap(b"keyring orders v2", &w),
        Err(RootKeyError::Unwrap)
    );
    for i in 0..w.len() {
        let mut bad = w.clone();
        bad[i] ^= 0x80;
        assert_eq!(
            root.unwrap(b"keyring orders v1", &bad),
            Err(RootKeyError::Unwrap),
            "byte {i}"
        );
    }
    assert_eq!(
        root.unwrap(b"keyring orders v1", &w[..OVERHEAD - 1]),
        Err(RootKeyError::Unwrap)
    );
    // The key persists in the token: opening it again (without create) unwraps old wraps.
    drop(root);
    let again = Pkcs11RootKey::open(&h.uri(&label), h.pin()).unwrap();
    assert_eq!(again.unwrap(b"keyring orders v1", &w).unwrap().len(), 32);
    // A second create_or_open finds the key instead of making another.
    let same = Pkcs11RootKey::create_or_open(&h.uri(&label), h.pin()).unwrap();
    assert_eq!(same.unwrap(b"keyring orders v1", &w).unwrap().len(), 32);
    // Another key in the same token cannot unwrap it.
    let other = Pkcs11RootKey::create_or_open(&h.uri(&unique("other")), h.pin()).unwrap();
    assert_eq!(
        other.unwrap(b"keyring orders v1", &w),
        Err(RootKeyError::Unwrap)
    );
}

/// The key's value cannot leave the token: its attributes say so, reading CKA_VALUE fails, and
/// OpenSC's `pkcs11-tool --read-object` cannot export it either.
#[test]
fn the_root_key_is_not_extractable() {
    let Some(h) = hsm("the_root_key_is_not_extractable") else {
        return;
    };
    let label = unique("noextract");
    let _root = Pkcs11RootKey::create_or_open(&h.uri(&label), h.pin()).unwrap();

    let ctx = Pkcs11::new(&h.module).unwrap();
    let _ = ctx.initialize(cryptoki::context::CInitializeArgs::new(
        cryptoki::context::CInitializeFlags::OS_LOCKING_OK,
    ));
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == h.token)
        .unwrap();
    let session = ctx.open_ro_session(slot).unwrap();
    match session.login(UserType::User, Some(&h.pin())) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => panic!("{e}"),
    }
    let key = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .unwrap();
    assert_eq!(key.len(), 1);
    let attrs = session
        .get_attributes(
            key[0],
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
                AttributeType::Token,
                AttributeType::ValueLen,
            ],
        )
        .unwrap();
    for a in &attrs {
        match a {
            Attribute::Sensitive(b)
            | Attribute::AlwaysSensitive(b)
            | Attribute::NeverExtractable(b)
            | Attribute::Token(b) => assert!(*b, "{a:?}"),
            Attribute::Extractable(b) => assert!(!*b),
            Attribute::ValueLen(n) => assert_eq!(**n, 32),
            _ => {}
        }
    }
    assert_eq!(attrs.len(), 6);
    // CKA_VALUE of a sensitive key is unavailable: the call fails or yields nothing.
    let value = session.get_attributes(key[0], &[AttributeType::Value]);
    assert!(
        value.as_ref().map_or(true, |v| v
            .iter()
            .all(|a| !matches!(a, Attribute::Value(_)))),
        "CKA_VALUE was readable"
    );

    // The same, seen by an independent tool.
    let tool = |args: &[&str]| {
        Command::new("pkcs11-tool")
            .arg("--module")
            .arg(&h.module)
            .args(["--token-label", &h.token, "--login", "--pin", &h.pin])
            .args(args)
            .output()
    };
    let Ok(listing) = tool(&["--list-objects", "--type", "secrkey", "--label", &label]) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "pkcs11-tool missing under CI"
        );
        eprintln!("pkcs11-tool not installed: skipping its half of the check");
        return;
    };
    let text = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.status.success(), "{text}");
    assert!(text.contains(&label), "{text}");
    assert!(text.contains("never extract"), "{text}");
    assert!(text.contains("sensitive"), "{text}");
    let read = tool(&["--read-object", "--type", "secrkey", "--label", &label]).unwrap();
    assert!(
        !read.status.success(),
        "pkcs11-tool exported the key: {:?}",
        read.stdout
    );
}

#[test]
fn concurrent_sealing_from_many_threads() {
    let Some(h) = hsm("concurrent_sealing_from_many_threads") else {
        return;
    };
    let root =
        Arc::new(Pkcs11RootKey::create_or_open(&h.uri(&unique("threads")), h.pin()).unwrap());
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let root = Arc::clone(&root);
            std::thread::spawn(move || {
                for i in 0..40u8 {
                    let aad = [t, i];
                    let msg = [t ^ i; 32];
                    let w = root.wrap(&aad, &msg).unwrap();
                    assert_eq!(root.unwrap(&aad, &w).unwrap().as_slice(), &msg);
                    assert_eq!(
                        root.unwrap(&[t, i.wrapping_add(1)], &w),
                        Err(RootKeyError::Unwrap)
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// A home over the HSM root: once a keyring's version key is unwrapped and cached, sealing and
/// opening messages sends nothing to the token.
#[test]
fn a_warm_cache_makes_no_token_call_per_message() {
    let Some(h) = hsm("a_warm_cache_makes_no_token_call_per_message") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keyrings")).unwrap();
    let root = Arc::new(Pkcs11RootKey::create_or_open(&h.uri(&unique("warm")), h.pin()).unwrap());
    let home = Home::from_parts(
        root.clone(),
        Arc::new(DirStore::new(dir.path().join("keyrings"))),
    )
    .with_options(
        HomeOptions::default()
            .with_usage_block(10_000)
            .with_refresh(Duration::from_secs(3600)),
    );
    home.create_keyring("orders", Suite::Aes256Gcm, Policy::default())
        .unwrap();
    let ctx = Context::new().with("tenant", "acme").unwrap();
    let first = envelope::seal(&home, "orders", &ctx, b"warm-up").unwrap();
    assert_eq!(
        &envelope::open(&home, &ctx, &first).unwrap()[..],
        b"warm-up"
    );
    let before = root.operations();
    for i in 0..500u32 {
        let sealed = envelope::seal(&home, "orders", &ctx, &i.to_be_bytes()).unwrap();
        assert_eq!(
            &envelope::open(&home, &ctx, &sealed).unwrap()[..],
            &i.to_be_bytes()
        );
    }
    assert_eq!(root.operations() - before, 0, "token calls while warm");
    // Cold: a fresh home over the same store and root pays one unwrap for the keyring file
    // and one for the version key, then nothing more.
    let cold = Home::from_parts(
        root.clone(),
        Arc::new(DirStore::new(dir.path().join("keyrings"))),
    );
    let before = root.operations();
    for _ in 0..20 {
        assert_eq!(
            &envelope::open(&cold, &ctx, &first).unwrap()[..],
            b"warm-up"
        );
    }
    assert_eq!(root.operations() - before, 2);
}
