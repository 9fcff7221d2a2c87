//! Lost logins and sessions heal transparently. In its own test binary: these tests log the
//! whole process out and finalize the module under every other key in the process.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use trust_core::root::RootKey;
use trust_pkcs11::Pkcs11RootKey;

/// A second handle on the same module (the dynamic loader returns the same library, so its
/// state — logins, sessions, initialization — is the one our key uses).
fn same_module(h: &common::Hsm) -> Pkcs11 {
    let ctx = Pkcs11::new(&h.module).unwrap();
    let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    ctx
}

#[test]
fn logout_and_module_reset_reopen_transparently() {
    let Some(h) = common::hsm("logout_and_module_reset_reopen_transparently") else {
        return;
    };
    let root = Pkcs11RootKey::create_or_open(&h.uri(&common::unique("loss")), h.pin()).unwrap();
    let w = root.wrap(b"aad", b"secret").unwrap();

    // 1. Someone logs the application out: our pooled session is no longer logged in.
    let ctx = same_module(&h);
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == h.token)
        .unwrap();
    let s = ctx.open_ro_session(slot).unwrap();
    s.logout().unwrap();
    drop(s);
    let before = root.operations();
    assert_eq!(root.unwrap(b"aad", &w).unwrap().as_slice(), b"secret");
    assert_eq!(
        root.operations() - before,
        2,
        "one failed attempt, one retry"
    );

    // 2. The module is finalized under us (every session closed, the library uninitialized),
    //    as when a token is pulled and re-inserted or an HSM client library resets.
    ctx.finalize().unwrap();
    assert_eq!(root.unwrap(b"aad", &w).unwrap().as_slice(), b"secret");
    let w2 = root.wrap(b"aad2", b"after reset").unwrap();
    assert_eq!(
        root.unwrap(b"aad2", &w2).unwrap().as_slice(),
        b"after reset"
    );

    // 3. Many threads after another reset: each heals or uses a healed session.
    same_module(&h).finalize().unwrap();
    let root = std::sync::Arc::new(root);
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let root = root.clone();
            let w = w.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    assert_eq!(root.unwrap(b"aad", &w).unwrap().as_slice(), b"secret");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
