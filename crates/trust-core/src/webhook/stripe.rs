//! Stripe: `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>…][,v0=…]`.
//!
//! Signed payload: `"{t}.{raw body}"`, HMAC-SHA256 keyed with the endpoint secret **as the whole
//! string, `whsec_` prefix included** (unlike Standard Webhooks, which base64-decodes it).
//! During a secret roll Stripe sends one `v1` per active secret; any `v1` × any secret matching
//! is enough. Source: <https://docs.stripe.com/webhooks#verify-manually>.
//!
//! ## Edge cases (the official SDKs disagree; these are our decisions)
//!
//! | header | stripe-python | stripe-node | here |
//! |---|---|---|---|
//! | `t` twice | first wins | last wins | **malformed** (which one is signed is ambiguous) |
//! | `v1` in upper-case hex | rejected | rejected | **accepted**: the decoded bytes are compared (as stripe-go and async-stripe do) |
//! | `t=123abc` (junk after digits) | malformed | accepted (`parseInt`) | **malformed**: `t` is 1–12 ASCII digits, nothing else |
//! | `t=+123` | accepted (`int()`) | accepted | **malformed** |
//! | spaces or tabs around the whole value (` t=T,v1=…`) | `" t"` is not `t` → rejected | same | **trimmed**: HTTP says they are not part of the field value (RFC 9110 §5.5), and every server strips them before the SDK sees the value |
//! | spaces around items (`t=T, v1=…`) | key `" v1"` ignored → no v1 | same | same: nothing inside the value is trimmed, so no `v1` → **malformed** |
//! | an element without `=` (`t=T,foo,v1=…`) | ignored | ignored | **ignored**, like every scheme other than `t` and `v1` (Stripe: "ignore all schemes that aren't v1") |
//! | no `v1`, only `v0` | rejected | rejected | **malformed** (no downgrade to `v0`) |
//! | a `v1` that is not 64 hex digits, beside a good one | never matches → accepted | same | **ignored**: never compared (truncated/extended MACs never are), the good one decides |
//! | only `v1`s that are not 64 hex digits | never matches | never matches | **malformed** (no usable `v1`) |
//! | timestamp in the future | accepted | accepted | accepted up to `max_future_skew` (300 s), then **`Future`** |
//! | tolerance 0 / negative | check disabled / rejects all | disabled | the tolerance is unsigned (negative is unrepresentable); 0 means "this very second" |
//! | invalid UTF-8 body | exception | n/a | irrelevant: the bytes are MAC'd |
//!
//! Order: the signature is checked first, then the window, so a forged request with an old
//! timestamp is `Invalid`, not `Stale`.

use super::{
    MAC_LEN, SecretSet, Verified, WebhookError, Window, decode_hex_mac, encoding::hex_lower,
    hmac_sha256, match_any, parse_decimal, required_header,
};
use crate::secret::ExposeSecret;

/// The header Stripe signs with.
pub const HEADER: &str = "Stripe-Signature";

/// The most `v1` signatures accepted in one header (one per active secret; Stripe rolls two).
pub const MAX_SIGNATURES: usize = 8;

/// A parsed `Stripe-Signature` header.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignatureHeader {
    /// The signed timestamp `t`, Unix seconds.
    pub timestamp: i64,
    /// The decoded `v1` MACs.
    pub signatures: Vec<[u8; MAC_LEN]>,
}

impl SignatureHeader {
    /// Parses a header value (see the module docs for the exact rules).
    ///
    /// # Errors
    /// [`WebhookError::Malformed`] for anything but exactly one `t`, at least one well-formed
    /// `v1` and at most 8 `v1` in all.
    pub fn parse(value: &str) -> Result<Self, WebhookError> {
        if value.len() > super::MAX_HEADER_LEN {
            return Err(WebhookError::Malformed("Stripe-Signature header too long"));
        }
        let mut timestamp = None;
        let mut signatures = Vec::new();
        let mut v1_entries = 0usize;
        for item in super::trim_ows(value).split(',') {
            // An element without '=' names no scheme we use: ignored, as Stripe's docs and SDKs
            // ignore every scheme but t and v1.
            let Some((key, val)) = item.split_once('=') else {
                continue;
            };
            match key {
                "t" => {
                    if timestamp.is_some() {
                        return Err(WebhookError::Malformed(
                            "Stripe-Signature has two timestamps",
                        ));
                    }
                    timestamp = Some(parse_decimal(val, 12, "Stripe-Signature timestamp")?);
                }
                "v1" => {
                    v1_entries += 1;
                    if v1_entries > MAX_SIGNATURES {
                        return Err(WebhookError::Malformed("too many v1 signatures"));
                    }
                    // A v1 that is not 64 hex digits can never match: it is never compared
                    // (no prefix match), and another v1 may still carry the good signature.
                    if let Ok(mac) = decode_hex_mac(val, "Stripe-Signature v1 signature") {
                        signatures.push(mac);
                    }
                }
                // v0 (test-mode extra) and future schemes are ignored, never used: no downgrade.
                _ => {}
            }
        }
        let timestamp =
            timestamp.ok_or(WebhookError::Malformed("Stripe-Signature has no timestamp"))?;
        if signatures.is_empty() {
            return Err(WebhookError::Malformed(
                "Stripe-Signature has no well-formed v1 signature",
            ));
        }
        Ok(Self {
            timestamp,
            signatures,
        })
    }
}

/// Verifies Stripe deliveries against a secret set and a freshness window.
#[derive(Clone, Debug)]
pub struct Verifier {
    secrets: SecretSet,
    window: Window,
}

impl Verifier {
    /// A verifier with the default window (300 s past, 300 s future).
    pub fn new(secrets: SecretSet) -> Self {
        Self {
            secrets,
            window: Window::default(),
        }
    }

    /// Replaces the freshness window.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Verifies a delivery given its headers (as any HTTP framework gives them) and raw body.
    ///
    /// # Errors
    /// [`WebhookError::Malformed`] (missing/duplicated/bad header), [`WebhookError::Invalid`],
    /// [`WebhookError::Stale`], [`WebhookError::Future`].
    pub fn verify<N, V>(
        &self,
        headers: &[(N, V)],
        body: &[u8],
        now: i64,
    ) -> Result<Verified, WebhookError>
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let value = required_header(
            headers,
            HEADER,
            "missing or duplicated Stripe-Signature header",
        )?;
        self.verify_header(value, body, now)
    }

    /// Verifies a delivery given the `Stripe-Signature` value itself.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify_header(
        &self,
        value: &str,
        body: &[u8],
        now: i64,
    ) -> Result<Verified, WebhookError> {
        let parsed = SignatureHeader::parse(value)?;
        let t = parsed.timestamp.to_string();
        let index = match_any(&self.secrets, &parsed.signatures, |key| {
            hmac_sha256(key, &[t.as_bytes(), b".", body])
        })?;
        self.window.check(parsed.timestamp, now)?;
        let mut ok = Verified::new(super::Scheme::Stripe, index);
        ok.timestamp = Some(parsed.timestamp);
        Ok(ok)
    }
}

/// The `v1` signature (lowercase hex) of `body` at `timestamp` under one secret.
pub fn sign(secret: &[u8], body: &[u8], timestamp: i64) -> String {
    let t = timestamp.to_string();
    hex_lower(&hmac_sha256(secret, &[t.as_bytes(), b".", body]))
}

/// The `Stripe-Signature` value Stripe would send: `t=…` and one `v1=…` per secret in the set
/// (current first), as during a secret roll.
pub fn sign_header(secrets: &SecretSet, body: &[u8], timestamp: i64) -> String {
    let mut out = format!("t={timestamp}");
    for secret in secrets.iter() {
        out.push_str(",v1=");
        out.push_str(&sign(secret.expose_secret(), body, timestamp));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_700_000_000;

    fn set(s: &str) -> SecretSet {
        SecretSet::new(s.as_bytes().to_vec())
    }

    /// docs/webhooks.md, reproduced with stripe-python `generate_signature_header`
    /// and stripe-node `generateTestHeaderString`.
    #[test]
    fn published_single_secret_vector() {
        let body = br#"{"id":"evt_test_webhook","object":"event"}"#;
        let header =
            "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990";
        assert_eq!(sign(b"whsec_test_secret", body, T), &header[16..]);
        let v = Verifier::new(set("whsec_test_secret"));
        let ok = v.verify(&[("Stripe-Signature", header)], body, T).unwrap();
        assert_eq!((ok.timestamp, ok.secret_index), (Some(T), 0));
    }

    /// docs/webhooks.md rolling-secret vector.
    #[test]
    fn published_rolling_vector_verifies_with_either_secret() {
        let body = br#"{"id":"evt_1","object":"event"}"#;
        let old = "921476aa6febf6d11353fcee45246000c9edf7b3938ae2d09a2d6ea5cb98d9db";
        let new = "b14fd00c307c0137e9a6b4cd1657d15b7c2c1e6c7dde182c112ed15f4ead61da";
        assert_eq!(sign(b"whsec_old_secret", body, T), old);
        assert_eq!(sign(b"whsec_new_secret", body, T), new);
        let header = format!("t={T},v1={old},v1={new}");
        for secret in ["whsec_old_secret", "whsec_new_secret"] {
            Verifier::new(set(secret))
                .verify_header(&header, body, T)
                .unwrap();
        }
        // Only the old secret matching a single-signature header: accepted via the previous
        // secret, and reported as such.
        let only_old = format!("t={T},v1={old}");
        let v = Verifier::new(set("whsec_new_secret").with_previous(b"whsec_old_secret".to_vec()));
        assert_eq!(v.verify_header(&only_old, body, T).unwrap().secret_index, 1);
        assert_eq!(
            Verifier::new(set("whsec_new_secret")).verify_header(&only_old, body, T),
            Err(WebhookError::Invalid)
        );
    }

    fn good(body: &[u8]) -> String {
        sign(b"whsec_k", body, T)
    }

    #[test]
    fn edge_case_matrix() {
        let body = b"{}";
        let g = good(body);
        let v = Verifier::new(set("whsec_k"));
        let check = |h: &str| v.verify_header(h, body, T);
        let malformed = |h: &str| matches!(check(h), Err(WebhookError::Malformed(_)));
        assert!(check(&format!("t={T},v1={g}")).is_ok());
        assert!(check(&format!("t={T},v1={},v1={g}", "0".repeat(64))).is_ok());
        assert!(check(&format!("t={T},v1={g},v0=deadbeef")).is_ok());
        assert!(check(&format!("t={T},v1={}", g.to_uppercase())).is_ok());
        assert!(malformed(&format!("t={T},v0={g}")));
        assert!(malformed(&format!("t={T}, v1={g}")));
        // HTTP's optional whitespace around the whole value is not part of it (RFC 9110 §5.5).
        assert!(check(&format!(" \tt={T},v1={g} ")).is_ok());
        // Elements without '=' and unusable v1s are ignored; the good v1 decides.
        assert!(check(&format!("t={T},foo,v1={g}")).is_ok());
        assert!(check(&format!("t={T},v1=,v1={},v1={g}", &g[..63])).is_ok());
        assert!(check(&format!("t={T},v1=zz{},v1={g}", &g[2..])).is_ok());
        assert!(malformed(&format!("t={T},t=1,v1={g}")));
        assert!(malformed(&format!("t=1,t={T},v1={g}")));
        assert!(malformed(&format!("v1={g}")));
        assert!(malformed(&format!("t={T}abc,v1={g}")));
        assert!(malformed(&format!("t=+{T},v1={g}")));
        assert!(malformed(&format!("t=-{T},v1={g}")));
        assert!(malformed(&format!("t=abc,v1={g}")));
        assert!(malformed(&format!("t=9999999999999,v1={g}")));
        assert!(malformed(""));
        assert!(malformed(&format!("t={T},v1=")));
        assert!(malformed(&format!("t={T},v1={}", &g[..63])));
        assert!(malformed(&format!("t={T},v1={g}0")));
        assert!(malformed(&format!("t={T},foo")));
        assert!(malformed(&format!("t={T},v1=,v1={}", &g[..63])));
        let nine: Vec<String> = (0..9).map(|_| format!("v1={g}")).collect();
        assert!(malformed(&format!("t={T},{}", nine.join(","))));
    }

    #[test]
    fn negative_cases() {
        let body = b"{\"id\":\"evt\"}";
        let v = Verifier::new(set("whsec_k"));
        let h = format!("t={T},v1={}", good(body));
        // Flipped body byte.
        let mut flipped = body.to_vec();
        flipped[3] ^= 1;
        assert_eq!(v.verify_header(&h, &flipped, T), Err(WebhookError::Invalid));
        // Wrong secret.
        assert_eq!(
            Verifier::new(set("whsec_x")).verify_header(&h, body, T),
            Err(WebhookError::Invalid)
        );
        // Missing header.
        let none: [(&str, &str); 0] = [];
        assert!(matches!(
            v.verify(&none, body, T),
            Err(WebhookError::Malformed(_))
        ));
        // Empty header value.
        assert!(matches!(
            v.verify(&[("stripe-signature", "")], body, T),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn window_edges_and_ordering() {
        let body = b"x";
        let v = Verifier::new(set("whsec_k"));
        let h = format!("t={T},v1={}", good(body));
        assert!(v.verify_header(&h, body, T + 300).is_ok());
        assert_eq!(v.verify_header(&h, body, T + 301), Err(WebhookError::Stale));
        assert!(v.verify_header(&h, body, T - 300).is_ok());
        assert_eq!(
            v.verify_header(&h, body, T - 301),
            Err(WebhookError::Future)
        );
        assert_eq!(
            v.verify_header(&h, body, T - 86_400 * 365),
            Err(WebhookError::Future)
        );
        // A forged header with a stale timestamp is reported as invalid, not stale.
        let forged = format!("t={},v1={}", T - 1000, "1".repeat(64));
        assert_eq!(
            v.verify_header(&forged, body, T),
            Err(WebhookError::Invalid)
        );
        // Custom window: tolerance 0 accepts only the same second.
        let strict = Verifier::new(set("whsec_k")).with_window(Window::new(0, 0));
        assert!(strict.verify_header(&h, body, T).is_ok());
        assert_eq!(
            strict.verify_header(&h, body, T + 1),
            Err(WebhookError::Stale)
        );
    }

    #[test]
    fn sign_header_round_trips_with_all_secrets() {
        let secrets = set("whsec_a").with_previous(b"whsec_b".to_vec());
        let h = sign_header(&secrets, b"body", T);
        assert_eq!(SignatureHeader::parse(&h).unwrap().signatures.len(), 2);
        assert!(
            Verifier::new(set("whsec_b"))
                .verify_header(&h, b"body", T)
                .is_ok()
        );
    }
}
