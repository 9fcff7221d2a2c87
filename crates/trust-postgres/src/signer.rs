//! The GDPR signing key of a database home (`trust_gdpr_signer`).
//!
//! A local home keeps the Ed25519 key that signs erasure receipts and export manifests in
//! `gdpr/signing.p8`. A database home has no local directory, and every worker must sign with
//! the same key (a receipt is verified against one pinned public key), so the key lives in the
//! database, sealed: its PKCS#8 document is an envelope token under the home's keyring (by
//! convention `gdpr`), with the context `purpose=trust.gdpr.signer, public_key=<hex>`. The
//! database therefore never holds the private key in the clear, and a row whose public key or
//! sealed value was edited or copied from another deployment does not open.
//!
//! The first caller creates the key: `INSERT … ON CONFLICT DO NOTHING`, then the stored row is
//! read back, so workers that race all use the one key that won.

use trust_core::envelope::{self, Context};
use trust_core::gdpr::{GdprError, Signer};
use trust_core::provider::KeyProvider;

use crate::Database;
use crate::subject::gdpr_error;

/// Largest sealed token accepted from the row (a PKCS#8 Ed25519 document is 83 bytes).
const MAX_SEALED_LEN: usize = 4096;

fn context(public_key: &[u8]) -> Result<Context, GdprError> {
    let hex: String = public_key.iter().map(|b| format!("{b:02x}")).collect();
    Context::new()
        .with("purpose", "trust.gdpr.signer")
        .and_then(|c| c.with("public_key", &hex))
        .map_err(GdprError::Envelope)
}

fn read(db: &Database) -> Result<Option<(Vec<u8>, String)>, GdprError> {
    db.transaction(|tx| {
        Ok(tx
            .query_opt("SELECT public_key, sealed FROM trust_gdpr_signer", &[])
            .map_err(|e| db.error(&e))?
            .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, String>(1))))
    })
    .map_err(gdpr_error)
}

fn open(keys: &dyn KeyProvider, public_key: &[u8], sealed: &str) -> Result<Signer, GdprError> {
    if sealed.len() > MAX_SEALED_LEN {
        return Err(GdprError::TooLarge("sealed GDPR signing key"));
    }
    let pkcs8 = envelope::open_token(keys, &context(public_key)?, sealed)?;
    let signer = Signer::from_pkcs8(&pkcs8)?;
    // The context binds the column; this check makes a mismatch impossible to miss even if
    // the sealed document were produced for a different public key by the same home.
    if signer.public_key().as_slice() != public_key {
        return Err(GdprError::Malformed("GDPR signing key row"));
    }
    Ok(signer)
}

/// The home's GDPR signer from `db`, created (and sealed under `keyring`) by the first caller.
///
/// # Errors
/// [`GdprError::Envelope`] when the stored key does not open (an edited row, another home's
/// row, a destroyed keyring version); key, store and randomness failures.
pub fn load_or_create_signer(
    db: &Database,
    keys: &dyn KeyProvider,
    keyring: &str,
) -> Result<Signer, GdprError> {
    if let Some((public_key, sealed)) = read(db)? {
        return open(keys, &public_key, &sealed);
    }
    let (signer, pkcs8) = Signer::generate()?;
    let public_key = signer.public_key();
    let sealed = envelope::seal_token(keys, keyring, &context(&public_key)?, &pkcs8)?;
    db.transaction(|tx| {
        tx.execute(
            "INSERT INTO trust_gdpr_signer (public_key, sealed) VALUES ($1, $2) \
             ON CONFLICT (singleton) DO NOTHING",
            &[&public_key.as_slice(), &sealed],
        )
        .map_err(|e| db.error(&e))
    })
    .map_err(gdpr_error)?;
    // Whoever won the race, every worker uses the stored key.
    match read(db)? {
        Some((public_key, sealed)) => open(keys, &public_key, &sealed),
        None => Err(GdprError::Store(
            "the GDPR signing key vanished after it was written".to_owned(),
        )),
    }
}
