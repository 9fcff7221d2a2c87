//! Standard Webhooks 1.0 (and Svix, which brands the same headers `svix-*`).
//!
//! Headers `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`, a
//! space-separated list of `v1,<base64 HMAC-SHA256>` (other versions such as the asymmetric
//! `v1a` are ignored). Signed content: `"{id}.{timestamp}.{raw body}"`. The secret is
//! `whsec_` + base64 of 24–64 random bytes, and the **decoded** bytes are the HMAC key (unlike
//! Stripe's `whsec_`, used as a string). Source: standard-webhooks `spec/standard-webhooks.md`.
//!
//! Decisions (the reference libraries differ):
//! * The timestamp is 1–12 ASCII digits (Python's library accepts `T.9` via `float()`, Node's
//!   `parseInt` accepts `Tabc`); anything else is malformed.
//! * The id is 1–256 visible ASCII characters without `.` (a `.` would make the signed content
//!   ambiguous).
//! * The list is split on spaces; empty entries (two spaces in a row, or spaces around the
//!   value) carry nothing and are skipped, as the spec's Node library does (Python's raises).
//! * A `v1` entry is used only when it is canonical base64 of exactly 32 bytes; any other entry
//!   (`v1,@@@@`, `v1,`, `v1,AAAA`, a token without `,`, another version) is never compared —
//!   no prefix match, the svix `v1,` bug (svix PR #1190) — and never makes a delivery valid. The
//!   spec lets a sender list several signatures and asks for any one to match, so a good `v1`
//!   beside an unusable one decides, as in both reference libraries. A header without a usable
//!   `v1` is malformed. Up to 16 entries.
//! * Window: ±300 s by default, as the spec's libraries.
//! * `webhook-*` headers win over `svix-*`; id, timestamp and signature come from the same family.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{
    MAC_LEN, Scheme, SecretSet, Verified, WebhookError, Window, decode_base64_mac,
    encoding::base64_std, header, hmac_sha256, is_token, match_any, parse_decimal, required_header,
};
use crate::secret::{ExposeSecret, SecretBytes};

/// The most signature entries accepted in one `webhook-signature` header.
pub const MAX_SIGNATURES: usize = 16;

/// Decodes a `whsec_…` secret (the prefix is optional) into HMAC key bytes.
///
/// # Errors
/// [`WebhookError::Config`] unless the rest is canonical base64 of 24 to 64 bytes.
pub fn decode_secret(secret: &[u8]) -> Result<SecretBytes, WebhookError> {
    let b64 = secret.strip_prefix(b"whsec_").unwrap_or(secret);
    let key =
        zeroize::Zeroizing::new(STANDARD.decode(b64).map_err(|_| {
            WebhookError::Config("a Standard Webhooks secret is not whsec_ + base64")
        })?);
    if !(24..=64).contains(&key.len()) {
        return Err(WebhookError::Config(
            "a Standard Webhooks secret must decode to 24 to 64 bytes",
        ));
    }
    Ok(SecretBytes::from(key.to_vec()))
}

/// A fresh `whsec_` secret of 32 random bytes, for apps that send webhooks.
///
/// # Errors
/// [`crate::error::RandomError`] when the OS cannot provide randomness.
pub fn generate_secret() -> Result<crate::secret::SecretString, crate::error::RandomError> {
    let key = zeroize::Zeroizing::new(crate::secret::random_array::<32>()?);
    Ok(format!("whsec_{}", STANDARD.encode(key.as_slice())).into())
}

/// Verifies Standard Webhooks deliveries.
#[derive(Clone, Debug)]
pub struct Verifier {
    keys: SecretSet,
    window: Window,
}

impl Verifier {
    /// A verifier for a set of `whsec_` secrets (decoded here), with the default ±300 s window.
    ///
    /// # Errors
    /// [`WebhookError::Config`] when a secret is not a valid `whsec_` secret.
    pub fn new(secrets: &SecretSet) -> Result<Self, WebhookError> {
        let keys = secrets
            .iter()
            .map(|s| decode_secret(s.expose_secret()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            keys: SecretSet::try_from_vec(keys)?,
            window: Window::default(),
        })
    }

    /// Replaces the freshness window.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Verifies a delivery from its headers and raw body at `now` (Unix seconds).
    ///
    /// # Errors
    /// [`WebhookError::Malformed`], [`WebhookError::Invalid`], [`WebhookError::Stale`],
    /// [`WebhookError::Future`].
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
        let family = if header(
            headers,
            "webhook-signature",
            "duplicated webhook-signature header",
        )?
        .is_some()
        {
            "webhook"
        } else {
            "svix"
        };
        let (id_name, ts_name, sig_name) = match family {
            "webhook" => ("webhook-id", "webhook-timestamp", "webhook-signature"),
            _ => ("svix-id", "svix-timestamp", "svix-signature"),
        };
        let id = required_header(headers, id_name, "missing or duplicated webhook-id header")?;
        let ts = required_header(
            headers,
            ts_name,
            "missing or duplicated webhook-timestamp header",
        )?;
        let sig = required_header(
            headers,
            sig_name,
            "missing or duplicated webhook-signature header",
        )?;
        self.verify_parts(id, ts, sig, body, now)
    }

    /// Verifies from the three header values.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify_parts(
        &self,
        id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: i64,
    ) -> Result<Verified, WebhookError> {
        if !is_token(id, 256) || id.contains('.') {
            return Err(WebhookError::Malformed("webhook-id"));
        }
        let ts = parse_decimal(timestamp, 12, "webhook-timestamp")?;
        let macs = parse_signatures(signatures)?;
        let index = match_any(&self.keys, &macs, |key| {
            hmac_sha256(
                key,
                &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
            )
        })?;
        self.window.check(ts, now)?;
        let mut ok = Verified::new(Scheme::StandardWebhooks, index);
        ok.timestamp = Some(ts);
        ok.delivery_id = Some(id.to_owned());
        Ok(ok)
    }
}

/// Parses a `webhook-signature` value into its decoded `v1` MACs.
///
/// # Errors
/// [`WebhookError::Malformed`] (see the module docs).
pub fn parse_signatures(value: &str) -> Result<Vec<[u8; MAC_LEN]>, WebhookError> {
    let mut macs = Vec::new();
    let mut entries = 0usize;
    for token in super::trim_ows(value).split(' ').filter(|t| !t.is_empty()) {
        entries += 1;
        if entries > MAX_SIGNATURES {
            return Err(WebhookError::Malformed(
                "too many webhook-signature entries",
            ));
        }
        if let Some(("v1", sig)) = token.split_once(',') {
            if let Ok(mac) = decode_base64_mac(sig, "webhook-signature v1 entry") {
                macs.push(mac);
            }
        }
    }
    if macs.is_empty() {
        return Err(WebhookError::Malformed(
            "webhook-signature has no well-formed v1 entry",
        ));
    }
    Ok(macs)
}

/// One `v1,<base64>` entry for `body` under a *decoded* key (see [`decode_secret`]).
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let mac = hmac_sha256(key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    format!("v1,{}", base64_std(&mac))
}

/// The `webhook-signature` value a sender attaches: one entry per `whsec_` secret in the set.
///
/// # Errors
/// [`WebhookError::Config`] for a secret that is not a valid `whsec_` secret, or
/// [`WebhookError::Malformed`] for an id that a verifier would refuse.
pub fn sign_header(
    secrets: &SecretSet,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, WebhookError> {
    if !is_token(id, 256) || id.contains('.') {
        return Err(WebhookError::Malformed("webhook-id"));
    }
    let mut entries = Vec::with_capacity(secrets.len());
    for secret in secrets.iter() {
        let key = decode_secret(secret.expose_secret())?;
        entries.push(sign(key.expose_secret(), id, timestamp, body));
    }
    Ok(entries.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TrustError as _;

    /// docs/webhooks.md, reproduced with the Python `standardwebhooks`/`svix` and Node
    /// `standardwebhooks` libraries' `sign`.
    #[test]
    fn published_vectors() {
        let cases = [
            (
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                &br#"{"test": 2432232314}"#[..],
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ),
            (
                "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1_649_367_553,
                &br#"{"email":"test@example.com","username":"test_user"}"#[..],
                "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
            ),
        ];
        for (secret, id, ts, body, sig) in cases {
            let set = SecretSet::new(secret.as_bytes().to_vec());
            assert_eq!(sign_header(&set, id, ts, body).unwrap(), sig);
            let v = Verifier::new(&set).unwrap();
            let tss = ts.to_string();
            let h = [
                ("webhook-id", id),
                ("webhook-timestamp", tss.as_str()),
                ("webhook-signature", sig),
            ];
            let ok = v.verify(&h, body, ts).unwrap();
            assert_eq!(ok.delivery_id.as_deref(), Some(id));
            let svix = [
                ("svix-id", id),
                ("svix-timestamp", tss.as_str()),
                ("svix-signature", sig),
            ];
            assert!(v.verify(&svix, body, ts + 300).is_ok());
            assert_eq!(v.verify(&svix, body, ts + 301), Err(WebhookError::Stale));
            assert_eq!(v.verify(&svix, body, ts - 301), Err(WebhookError::Future));
            assert_eq!(v.verify(&h, &body[1..], ts), Err(WebhookError::Invalid));
        }
    }

    #[test]
    fn signature_lists() {
        let set = SecretSet::new(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_vec());
        let v = Verifier::new(&set).unwrap();
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let body = br#"{"test": 2432232314}"#;
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let check = |sig: &str| v.verify_parts(id, "1614265330", sig, body, 1_614_265_330);
        assert!(check(&format!("v1a,AAAA {good}")).is_ok());
        assert!(check(&format!("v1,{} {good}", base64_std(&[0; 32]))).is_ok());
        assert!(check(&format!("{good}  v2,whatever")).is_ok());
        // Unusable entries beside a good one are never compared; the good one decides.
        assert!(check(&format!("v1,@@@@ {good}")).is_ok());
        assert!(check(&format!("v1, v1,AAAA nocomma {good}")).is_ok());
        // Two spaces between entries, and HTTP whitespace around the value.
        assert!(check(&format!("v1,{}  {good}", base64_std(&[0; 32]))).is_ok());
        assert!(check(&format!(" \t{good} ")).is_ok());
        // Seventeen entries are too many even when one is good.
        let many = vec!["v1,@@@@"; 16].join(" ");
        assert!(matches!(
            check(&format!("{many} {good}")),
            Err(WebhookError::Malformed(_))
        ));
        for bad in [
            "v1,",
            "v1,AAAA",
            "v1,@@@@",
            "v1,@@@@  v1,",
            "v1a,AAAA",
            "v1",
            "",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE",
            "v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=",
        ] {
            assert!(
                matches!(check(bad), Err(WebhookError::Malformed(_))),
                "{bad}"
            );
        }
        for (bad_id, bad_ts) in [
            ("", "1614265330"),
            ("a.b", "1614265330"),
            (id, "1614265330.9"),
            (id, "1614265330abc"),
            (id, "-1"),
        ] {
            assert!(matches!(
                v.verify_parts(bad_id, bad_ts, good, body, 1_614_265_330),
                Err(WebhookError::Malformed(_))
            ));
        }
    }

    #[test]
    fn secrets_must_be_whsec_base64() {
        assert!(decode_secret(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        assert!(decode_secret(b"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        assert!(decode_secret(b"whsec_not base64").is_err());
        assert!(decode_secret(b"whsec_AAAA").is_err());
        let generated = generate_secret().unwrap();
        assert!(decode_secret(generated.expose_secret().as_bytes()).is_ok());
        assert_eq!(
            Verifier::new(&SecretSet::new(b"whsec_short".to_vec()))
                .err()
                .map(|e| e.category()),
            Some(crate::error::Category::Usage)
        );
    }
}
