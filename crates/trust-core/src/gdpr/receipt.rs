//! Signed erasure receipts.
//!
//! When [`super::subject::SubjectKeys::erase`] destroys a subject key it returns an
//! [`ErasureReceipt`]: a JSON document, signed with Ed25519, that says which subject (by
//! pseudonym), when, what was destroyed, and until when backups may still hold the wrapped key.
//!
//! ## What a receipt proves, and what it does not
//!
//! It proves that the holder of the signing key *attested* to the erasure at that time, and
//! that the receipt was not altered since. It does not prove that the key is gone from every
//! disk: no signature can prove an absence. It names the caveat explicitly — backups holding the
//! wrapped subject key (and the tenant key wrapping it) can restore readability until
//! `backups_expire_by` — and holds no personal data, so it can be handed to the data subject or
//! an auditor as is.
//!
//! ## Wire format (`trust-erasure-receipt/v1`, see docs/format-gdpr.md)
//!
//! ```json
//! {"receipt":{…fields…},"signature":"<base64 Ed25519 signature>"}
//! ```
//!
//! The signature covers `trust-erasure-receipt/v1\n` followed by the compact JSON serialization
//! of the `receipt` object with its fields in the documented order. A verifier re-serializes the
//! parsed object and checks the signature over those bytes, so any change of a value — or an
//! unknown field — fails verification.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::GdprError;
use super::signing::{Signer, verify};

/// The signature domain label and format name.
pub(crate) const FORMAT: &str = "trust-erasure-receipt/v1";

/// Largest receipt document accepted by [`ErasureReceipt::parse`].
pub(crate) const MAX_RECEIPT_LEN: usize = 64 * 1024;

/// The standard caveat every receipt carries.
pub const CAVEAT: &str = "Crypto-shredding: every record sealed for this subject is unreadable without the destroyed key. Backups that hold the wrapped subject key together with the tenant key that wraps it can restore readability until backups_expire_by; this receipt is the processor's signed attestation, not a proof of absence.";

/// One destroyed key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destroyed {
    /// What it was (`subject-key`).
    pub kind: String,
    /// The tenant keyring that wrapped it.
    pub keyring: String,
    /// The keyring version that wrapped it.
    pub wrapped_by_version: u32,
}

/// The signed content of a receipt. No field holds personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    /// Always `trust-erasure-receipt/v1`.
    pub format: String,
    /// The subject's pseudonym.
    pub subject: String,
    /// The request this erasure answers, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// When the key was destroyed.
    pub erased_at: Timestamp,
    /// What was destroyed.
    pub destroyed: Vec<Destroyed>,
    /// Until when backups may still hold the wrapped key (erasure time + backup retention).
    pub backups_expire_by: Timestamp,
    /// The honest limit of this receipt ([`CAVEAT`]).
    pub caveat: String,
    /// The signer's Ed25519 public key, hex.
    pub signer: String,
}

/// A receipt: the body and its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureReceipt {
    /// The signed content.
    pub body: ReceiptBody,
    /// The Ed25519 signature over the body.
    pub signature: [u8; 64],
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    receipt: ReceiptBody,
    signature: String,
}

impl ErasureReceipt {
    /// Signs `body` (whose `signer` field is set from `signer`).
    ///
    /// # Errors
    /// [`GdprError::Signer`] when the signing device fails.
    pub fn sign(mut body: ReceiptBody, signer: &Signer) -> Result<Self, GdprError> {
        body.signer = hex::encode(signer.public_key());
        body.format = FORMAT.to_owned();
        let signature = signer.sign(FORMAT, &canonical(&body))?;
        Ok(Self { body, signature })
    }

    /// The receipt as a JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&Wire {
            receipt: self.body.clone(),
            signature: STANDARD.encode(self.signature),
        })
        .unwrap_or_default()
    }

    /// Parses a receipt document without verifying it.
    ///
    /// # Errors
    /// [`GdprError::TooLarge`] or [`GdprError::Malformed`].
    pub fn parse(doc: &[u8]) -> Result<Self, GdprError> {
        if doc.len() > MAX_RECEIPT_LEN {
            return Err(GdprError::TooLarge("erasure receipt"));
        }
        let wire: Wire =
            serde_json::from_slice(doc).map_err(|_| GdprError::Malformed("erasure receipt"))?;
        if wire.receipt.format != FORMAT {
            return Err(GdprError::Malformed("erasure receipt (unknown format)"));
        }
        let sig = STANDARD
            .decode(wire.signature.as_bytes())
            .map_err(|_| GdprError::Malformed("erasure receipt signature"))?;
        let signature: [u8; 64] = sig
            .try_into()
            .map_err(|_| GdprError::Malformed("erasure receipt signature"))?;
        Ok(Self {
            body: wire.receipt,
            signature,
        })
    }

    /// Verifies the signature against the `expected` signer's public key.
    ///
    /// # Errors
    /// [`GdprError::BadSignature`].
    pub fn verify(&self, expected: &[u8; 32]) -> Result<(), GdprError> {
        let claimed = hex::decode(&self.body.signer).map_err(|_| GdprError::BadSignature)?;
        verify(
            expected,
            &claimed,
            FORMAT,
            &canonical(&self.body),
            &self.signature,
        )
    }

    /// Parses and verifies in one step.
    ///
    /// # Errors
    /// As [`ErasureReceipt::parse`] and [`ErasureReceipt::verify`].
    pub fn parse_and_verify(doc: &[u8], expected: &[u8; 32]) -> Result<Self, GdprError> {
        let r = Self::parse(doc)?;
        r.verify(expected)?;
        Ok(r)
    }
}

fn canonical(body: &ReceiptBody) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> ReceiptBody {
        ReceiptBody {
            format: String::new(),
            subject: "p1-00112233".into(),
            request: Some("T-1".into()),
            erased_at: "2026-02-01T10:00:00Z".parse().unwrap(),
            destroyed: vec![Destroyed {
                kind: "subject-key".into(),
                keyring: "orders".into(),
                wrapped_by_version: 2,
            }],
            backups_expire_by: "2026-03-03T10:00:00Z".parse().unwrap(),
            caveat: CAVEAT.into(),
            signer: String::new(),
        }
    }

    #[test]
    fn round_trip_verifies() {
        let (s, _) = Signer::generate().unwrap();
        let r = ErasureReceipt::sign(body(), &s).unwrap();
        let doc = r.to_json();
        let back = ErasureReceipt::parse_and_verify(doc.as_bytes(), &s.public_key()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn any_alteration_fails() {
        let (s, _) = Signer::generate().unwrap();
        let doc = ErasureReceipt::sign(body(), &s).unwrap().to_json();
        let pk = s.public_key();
        for (from, to) in [
            ("p1-00112233", "p1-00112234"),
            ("2026-02-01T10:00:00Z", "2026-02-02T10:00:00Z"),
            ("\"wrapped_by_version\":2", "\"wrapped_by_version\":3"),
            ("2026-03-03T10:00:00Z", "2027-03-03T10:00:00Z"),
        ] {
            let bad = doc.replace(from, to);
            assert_ne!(bad, doc);
            assert!(matches!(
                ErasureReceipt::parse_and_verify(bad.as_bytes(), &pk),
                Err(GdprError::BadSignature)
            ));
        }
        let (other, _) = Signer::generate().unwrap();
        assert!(matches!(
            ErasureReceipt::parse_and_verify(doc.as_bytes(), &other.public_key()),
            Err(GdprError::BadSignature)
        ));
    }

    #[test]
    fn malformed_receipts() {
        let (s, _) = Signer::generate().unwrap();
        let doc = ErasureReceipt::sign(body(), &s).unwrap().to_json();
        let extra = doc.replacen("{\"receipt\":{", "{\"receipt\":{\"x\":1,", 1);
        assert!(matches!(
            ErasureReceipt::parse(extra.as_bytes()),
            Err(GdprError::Malformed(_))
        ));
        let fmt = doc.replace(FORMAT, "trust-erasure-receipt/v9");
        assert!(matches!(
            ErasureReceipt::parse(fmt.as_bytes()),
            Err(GdprError::Malformed(_))
        ));
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        let mut short = v.clone();
        short["signature"] = "AAAA".into();
        assert!(matches!(
            ErasureReceipt::parse(short.to_string().as_bytes()),
            Err(GdprError::Malformed(_))
        ));
        let mut notb64 = v;
        notb64["signature"] = "!!".into();
        assert!(matches!(
            ErasureReceipt::parse(notb64.to_string().as_bytes()),
            Err(GdprError::Malformed(_))
        ));
        assert!(matches!(
            ErasureReceipt::parse(&vec![b' '; MAX_RECEIPT_LEN + 1]),
            Err(GdprError::TooLarge(_))
        ));
        assert!(matches!(
            ErasureReceipt::parse(b"{"),
            Err(GdprError::Malformed(_))
        ));
    }

    /// The vector in docs/format-gdpr.md: RFC 8032 §7.1 TEST 1 seed, fixed body. Ed25519 is
    /// deterministic, so the document is fixed byte for byte.
    #[test]
    fn format_vector() {
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let s = Signer::from_seed(&seed).unwrap();
        let doc = ErasureReceipt::sign(body(), &s).unwrap().to_json();
        if std::env::var_os("PRINT_VECTORS").is_some() {
            println!("{doc}");
        }
        assert_eq!(
            doc,
            include_str!("../../../../docs/vectors/erasure-receipt-v1.json").trim_end()
        );
        ErasureReceipt::parse_and_verify(doc.as_bytes(), &s.public_key()).unwrap();
    }

    #[test]
    fn receipts_hold_no_raw_identifiers() {
        let (s, _) = Signer::generate().unwrap();
        let doc = ErasureReceipt::sign(body(), &s).unwrap().to_json();
        assert!(doc.contains("backups_expire_by") && doc.contains("not a proof"));
    }
}
