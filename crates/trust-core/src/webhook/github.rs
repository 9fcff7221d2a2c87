//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`.
//!
//! No timestamp is signed, so a captured delivery can be replayed: deduplicate on
//! `X-GitHub-Delivery` (reported as [`Verified::delivery_id`]) with [`super::ReplayGuard`].
//! The legacy SHA-1 header `X-Hub-Signature` is never used (no downgrade).
//! Source: <https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries>.
//!
//! Decision: the hex digest is accepted in either case (the decoded bytes are compared;
//! Octokit rejects upper case). GitHub itself sends lower case.

use super::{
    Scheme, SecretSet, Verified, WebhookError, decode_hex_mac, delivery_id, encoding::hex_lower,
    hmac_sha256, match_any, required_header,
};

/// The signature header.
pub const HEADER: &str = "X-Hub-Signature-256";
/// The delivery id header (a GUID per delivery; redeliveries keep it).
pub const DELIVERY_HEADER: &str = "X-GitHub-Delivery";

/// Verifies GitHub deliveries.
#[derive(Clone, Debug)]
pub struct Verifier {
    secrets: SecretSet,
}

impl Verifier {
    /// A verifier for `secrets`.
    pub fn new(secrets: SecretSet) -> Self {
        Self { secrets }
    }

    /// Verifies a delivery from its headers and raw body.
    ///
    /// # Errors
    /// [`WebhookError::Malformed`] or [`WebhookError::Invalid`].
    pub fn verify<N, V>(&self, headers: &[(N, V)], body: &[u8]) -> Result<Verified, WebhookError>
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let value = required_header(
            headers,
            HEADER,
            "missing or duplicated X-Hub-Signature-256 header",
        )?;
        let mut ok = self.verify_signature(value, body)?;
        ok.delivery_id = delivery_id(headers, DELIVERY_HEADER)?;
        Ok(ok)
    }

    /// Verifies the `sha256=…` value itself.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify_signature(&self, value: &str, body: &[u8]) -> Result<Verified, WebhookError> {
        let hex = value
            .strip_prefix("sha256=")
            .ok_or(WebhookError::Malformed(
                "X-Hub-Signature-256 without sha256= prefix",
            ))?;
        let mac = decode_hex_mac(hex, "X-Hub-Signature-256 digest")?;
        let index = match_any(&self.secrets, &[mac], |key| hmac_sha256(key, &[body]))?;
        Ok(Verified::new(Scheme::GitHub, index))
    }
}

/// The `X-Hub-Signature-256` value for `body`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex_lower(&hmac_sha256(secret, &[body])))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs.github.com "Validating webhook deliveries" test values (also checked with
    /// @octokit/webhooks-methods, docs/webhooks.md).
    #[test]
    fn published_vector() {
        let secret = b"It's a Secret to Everybody";
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(secret, b"Hello, World!"), sig);
        let v = Verifier::new(SecretSet::new(secret.to_vec()));
        let headers = [
            ("x-hub-signature-256", sig),
            ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ];
        let ok = v.verify(&headers, b"Hello, World!").unwrap();
        assert_eq!(
            ok.delivery_id.as_deref(),
            Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
        );
        assert_eq!(
            v.verify(&headers, b"Hello, World?"),
            Err(WebhookError::Invalid)
        );
    }

    #[test]
    fn malformed_values() {
        let v = Verifier::new(SecretSet::new(b"k".to_vec()));
        let good = sign(b"k", b"b");
        assert!(v.verify_signature(&good, b"b").is_ok());
        assert!(
            v.verify_signature(&good.to_uppercase().replace("SHA256", "sha256"), b"b")
                .is_ok()
        );
        for bad in [
            "",
            "sha256=",
            "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",
            &good[7..],
            &good[..70],
            &format!("{good}00"),
        ] {
            assert!(
                matches!(
                    v.verify_signature(bad, b"b"),
                    Err(WebhookError::Malformed(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            v.verify(&[("x-github-delivery", "id")], b"b"),
            Err(WebhookError::Malformed(_))
        ));
    }
}
