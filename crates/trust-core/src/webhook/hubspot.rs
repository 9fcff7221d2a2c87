//! HubSpot request signatures, versions 1, 2 and 3.
//!
//! * **v1** (webhooks API, `X-HubSpot-Signature-Version: v1`): `X-HubSpot-Signature` =
//!   hex(SHA-256(client secret ‖ body)) — a plain hash, not an HMAC.
//! * **v2** (CRM cards, workflow actions): hex(SHA-256(client secret ‖ method ‖ URI ‖ body)).
//! * **v3**: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client secret, method ‖ URI ‖ body ‖
//!   timestamp)) with `X-HubSpot-Request-Timestamp` in **milliseconds**; rejected when older
//!   than 5 minutes. Before hashing, HubSpot decodes a fixed set of percent-escapes in the URI
//!   ([`canonical_uri_v3`]); none of the official SDKs do this, so they fail on such URIs.
//!
//! Sources: developers.hubspot.com "Validating requests" (legacy and developer platform pages)
//! and the v3 changelog; docs/webhooks.md
//!
//! Decisions: hex digests in either case; the v3 timestamp is 1–15 ASCII digits of
//! milliseconds, refused when more than `max_future_skew` (300 s) ahead (the SDKs accept any
//! future time). A timestamp in *seconds* reads as January 1970 in milliseconds and is therefore
//! `Stale`. The URI passed in must be the full URL HubSpot called (scheme, host, path, query),
//! which behind a proxy means rebuilding it from the public origin, not the routed path.
//! `X-HubSpot-Signature-Version`, when present on a v1/v2 request, must name that version.
//! v1/v2 sign no timestamp: deduplicate on the body's `eventId`s.

use sha2::{Digest, Sha256};

use super::{
    MAC_LEN, Scheme, SecretSet, Verified, WebhookError, Window, decode_base64_mac, decode_hex_mac,
    encoding::{base64_std, hex_lower},
    hmac_sha256, match_any, optional_header, parse_decimal, required_header,
};

/// The v1/v2 signature header.
pub const HEADER_V1_V2: &str = "X-HubSpot-Signature";
/// The header naming the version of `X-HubSpot-Signature`.
pub const VERSION_HEADER: &str = "X-HubSpot-Signature-Version";
/// The v3 signature header.
pub const HEADER_V3: &str = "X-HubSpot-Signature-v3";
/// The v3 timestamp header (Unix milliseconds).
pub const TIMESTAMP_HEADER: &str = "X-HubSpot-Request-Timestamp";

/// The longest URI accepted (HubSpot URLs are short; this bounds the copy).
pub const MAX_URI_LEN: usize = 8 * 1024;

/// The percent-escapes HubSpot decodes before signing a v3 URI, per its documentation table.
const DECODED_ESCAPES: [(&str, u8); 12] = [
    ("3A", b':'),
    ("2F", b'/'),
    ("3F", b'?'),
    ("40", b'@'),
    ("21", b'!'),
    ("24", b'$'),
    ("27", b'\''),
    ("28", b'('),
    ("29", b')'),
    ("2A", b'*'),
    ("2C", b','),
    ("3B", b';'),
];

/// The URI as HubSpot signs it in v3: the twelve escapes of its documentation table
/// (`%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B`, hex digits in either case) are decoded;
/// every other escape (`%20`, `%3D`, `%26`, UTF-8…) stays as it is.
pub fn canonical_uri_v3(uri: &str) -> String {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            // Compared as bytes: the two bytes after '%' may be part of a multi-byte character.
            let code = &bytes[i + 1..i + 3];
            if let Some((_, c)) = DECODED_ESCAPES
                .iter()
                .find(|(hex, _)| hex.as_bytes().eq_ignore_ascii_case(code))
            {
                out.push(*c);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    // Only ASCII bytes were replaced by ASCII bytes, so the result is still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn check_uri(uri: &str) -> Result<(), WebhookError> {
    if uri.is_empty() || uri.len() > MAX_URI_LEN {
        return Err(WebhookError::Config("the request URI is empty or too long"));
    }
    Ok(())
}

fn check_method(method: &str) -> Result<(), WebhookError> {
    if method.is_empty() || method.len() > 16 || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(WebhookError::Config(
            "the HTTP method must be an upper-case token such as POST",
        ));
    }
    Ok(())
}

fn sha256_concat(parts: &[&[u8]]) -> [u8; MAC_LEN] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Verifies HubSpot requests of any version.
#[derive(Clone, Debug)]
pub struct Verifier {
    secrets: SecretSet,
    window: Window,
}

impl Verifier {
    /// A verifier for the app's client secret(s), with the default v3 window (300 s past and
    /// future).
    pub fn new(secrets: SecretSet) -> Self {
        Self {
            secrets,
            window: Window::default(),
        }
    }

    /// Replaces the v3 freshness window.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    fn v1_v2_signature<N, V>(
        headers: &[(N, V)],
        version: &str,
    ) -> Result<[u8; MAC_LEN], WebhookError>
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        if let Some(v) = optional_header(
            headers,
            VERSION_HEADER,
            "duplicated X-HubSpot-Signature-Version header",
        )? {
            if !v.eq_ignore_ascii_case(version) {
                return Err(WebhookError::Malformed(
                    "X-HubSpot-Signature-Version names another version",
                ));
            }
        }
        let sig = required_header(
            headers,
            HEADER_V1_V2,
            "missing or duplicated X-HubSpot-Signature header",
        )?;
        decode_hex_mac(sig, "X-HubSpot-Signature digest")
    }

    /// Verifies a v1 request (webhooks): SHA-256 of secret ‖ body.
    ///
    /// # Errors
    /// [`WebhookError::Malformed`] or [`WebhookError::Invalid`].
    pub fn verify_v1<N, V>(&self, headers: &[(N, V)], body: &[u8]) -> Result<Verified, WebhookError>
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let mac = Self::v1_v2_signature(headers, "v1")?;
        let index = match_any(&self.secrets, &[mac], |key| sha256_concat(&[key, body]))?;
        Ok(Verified::new(Scheme::HubSpotV1, index))
    }

    /// Verifies a v2 request: SHA-256 of secret ‖ method ‖ URI ‖ body, with the URI exactly as
    /// HubSpot called it.
    ///
    /// # Errors
    /// [`WebhookError::Config`] for an empty method or URI, otherwise as [`Verifier::verify_v1`].
    pub fn verify_v2<N, V>(
        &self,
        headers: &[(N, V)],
        method: &str,
        uri: &str,
        body: &[u8],
    ) -> Result<Verified, WebhookError>
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        check_method(method)?;
        check_uri(uri)?;
        let mac = Self::v1_v2_signature(headers, "v2")?;
        let index = match_any(&self.secrets, &[mac], |key| {
            sha256_concat(&[key, method.as_bytes(), uri.as_bytes(), body])
        })?;
        Ok(Verified::new(Scheme::HubSpotV2, index))
    }

    /// Verifies a v3 request at `now` (Unix **seconds**; the header is in milliseconds). `uri`
    /// is the full URL as received; [`canonical_uri_v3`] is applied here.
    ///
    /// # Errors
    /// [`WebhookError::Config`] for an empty method or URI; [`WebhookError::Malformed`],
    /// [`WebhookError::Invalid`], [`WebhookError::Stale`], [`WebhookError::Future`].
    pub fn verify_v3<N, V>(
        &self,
        headers: &[(N, V)],
        method: &str,
        uri: &str,
        body: &[u8],
        now: i64,
    ) -> Result<Verified, WebhookError>
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        check_method(method)?;
        check_uri(uri)?;
        let sig = required_header(
            headers,
            HEADER_V3,
            "missing or duplicated X-HubSpot-Signature-v3 header",
        )?;
        let ts = required_header(
            headers,
            TIMESTAMP_HEADER,
            "missing or duplicated X-HubSpot-Request-Timestamp header",
        )?;
        let ts_ms = parse_decimal(ts, 15, "X-HubSpot-Request-Timestamp")?;
        let mac = decode_base64_mac(sig, "X-HubSpot-Signature-v3 digest")?;
        let canonical = canonical_uri_v3(uri);
        let index = match_any(&self.secrets, &[mac], |key| {
            hmac_sha256(
                key,
                &[method.as_bytes(), canonical.as_bytes(), body, ts.as_bytes()],
            )
        })?;
        self.window.check_millis(ts_ms, now)?;
        let mut ok = Verified::new(Scheme::HubSpotV3, index);
        ok.timestamp = Some(ts_ms.div_euclid(1000));
        Ok(ok)
    }
}

/// The v1 `X-HubSpot-Signature` value.
pub fn sign_v1(secret: &[u8], body: &[u8]) -> String {
    hex_lower(&sha256_concat(&[secret, body]))
}

/// The v2 `X-HubSpot-Signature` value.
pub fn sign_v2(secret: &[u8], method: &str, uri: &str, body: &[u8]) -> String {
    hex_lower(&sha256_concat(&[
        secret,
        method.as_bytes(),
        uri.as_bytes(),
        body,
    ]))
}

/// The v3 `X-HubSpot-Signature-v3` value for a millisecond timestamp (the URI is canonicalized
/// as HubSpot does).
pub fn sign_v3(secret: &[u8], method: &str, uri: &str, body: &[u8], timestamp_ms: i64) -> String {
    let ts = timestamp_ms.to_string();
    let canonical = canonical_uri_v3(uri);
    base64_std(&hmac_sha256(
        secret,
        &[method.as_bytes(), canonical.as_bytes(), body, ts.as_bytes()],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const URI: &str = "https://www.example.com/webhook_uri";
    const BODY: &[u8] = br#"{"example_field":"example_value"}"#;

    fn v() -> Verifier {
        Verifier::new(SecretSet::new(SECRET.to_vec()))
    }

    /// HubSpot docs / SDK test values, checked with hubspot-api-python and -nodejs
    /// (docs/webhooks.md).
    #[test]
    fn published_v1_vector() {
        let body = br#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]"#;
        let sig = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de";
        assert_eq!(sign_v1(SECRET, body), sig);
        let h = [
            ("X-HubSpot-Signature", sig),
            ("X-HubSpot-Signature-Version", "v1"),
        ];
        assert!(v().verify_v1(&h, body).is_ok());
        assert_eq!(v().verify_v1(&h, &body[1..]), Err(WebhookError::Invalid));
        let wrong_version = [
            ("X-HubSpot-Signature", sig),
            ("X-HubSpot-Signature-Version", "v2"),
        ];
        assert!(matches!(
            v().verify_v1(&wrong_version, body),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn published_v2_vectors() {
        let get = "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e";
        let post = "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900";
        assert_eq!(sign_v2(SECRET, "GET", URI, b""), get);
        assert_eq!(sign_v2(SECRET, "POST", URI, BODY), post);
        assert!(
            v().verify_v2(&[("x-hubspot-signature", get)], "GET", URI, b"")
                .is_ok()
        );
        assert!(
            v().verify_v2(&[("x-hubspot-signature", post)], "POST", URI, BODY)
                .is_ok()
        );
        assert_eq!(
            v().verify_v2(&[("x-hubspot-signature", post)], "PUT", URI, BODY),
            Err(WebhookError::Invalid)
        );
        assert_eq!(
            v().verify_v2(&[("x-hubspot-signature", post)], "post", URI, BODY)
                .map_err(|e| matches!(e, WebhookError::Config(_))),
            Err(true)
        );
    }

    #[test]
    fn published_v3_vector_and_window() {
        let sig = "rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o=";
        assert_eq!(sign_v3(SECRET, "POST", URI, BODY, 1_700_000_000_000), sig);
        let h = [
            ("X-HubSpot-Signature-v3", sig),
            ("X-HubSpot-Request-Timestamp", "1700000000000"),
        ];
        let now = 1_700_000_000;
        assert_eq!(
            v().verify_v3(&h, "POST", URI, BODY, now).unwrap().timestamp,
            Some(now)
        );
        assert!(v().verify_v3(&h, "POST", URI, BODY, now + 300).is_ok());
        assert_eq!(
            v().verify_v3(&h, "POST", URI, BODY, now + 301),
            Err(WebhookError::Stale)
        );
        assert!(v().verify_v3(&h, "POST", URI, BODY, now - 300).is_ok());
        assert_eq!(
            v().verify_v3(&h, "POST", URI, BODY, now - 301),
            Err(WebhookError::Future)
        );
        assert_eq!(
            v().verify_v3(&h, "POST", URI, &BODY[1..], now),
            Err(WebhookError::Invalid)
        );
    }

    /// The v3 URI-decoding vector of docs/webhooks.md
    #[test]
    fn published_v3_uri_decoding_vector() {
        let received = "https://www.example.com/webhook_uri?redirect=https%3A%2F%2Fa.example%2Fx%3Fy%3D1&name=J%C3%BCrgen%20O%27Brien&list=a%2Cb%3Bc%21";
        let signed = "https://www.example.com/webhook_uri?redirect=https://a.example/x?y%3D1&name=J%C3%BCrgen%20O'Brien&list=a,b;c!";
        assert_eq!(canonical_uri_v3(received), signed);
        let sig = "1bVJa15VKTejCQVtkG/nfLehKyM86pbGOrT4APMVPX8=";
        assert_eq!(
            sign_v3(SECRET, "POST", received, BODY, 1_700_000_000_000),
            sig
        );
        let h = [
            ("X-HubSpot-Signature-v3", sig),
            ("X-HubSpot-Request-Timestamp", "1700000000000"),
        ];
        assert!(
            v().verify_v3(&h, "POST", received, BODY, 1_700_000_000)
                .is_ok()
        );
        // Undecoded signing (what the SDKs compute) gives a different MAC, which we refuse.
        let undecoded = "dD4u86ml0vqpiSMiqAco7DB7q3yVwmTuuLF656O7kME=";
        let h2 = [
            ("X-HubSpot-Signature-v3", undecoded),
            ("X-HubSpot-Request-Timestamp", "1700000000000"),
        ];
        assert_eq!(
            v().verify_v3(&h2, "POST", received, BODY, 1_700_000_000),
            Err(WebhookError::Invalid)
        );
        // Lower-case escapes and a trailing lone '%' are handled without panicking.
        assert_eq!(canonical_uri_v3("a%2fb%3a%"), "a/b:%");
        assert_eq!(canonical_uri_v3("%2"), "%2");
        assert_eq!(canonical_uri_v3("%C3%BC%20%3D"), "%C3%BC%20%3D");
    }

    #[test]
    fn seconds_instead_of_milliseconds_is_stale() {
        let now = 1_700_000_000;
        let sig = sign_v3(SECRET, "POST", URI, BODY, now);
        let ts = now.to_string();
        let h = [
            ("X-HubSpot-Signature-v3", sig.as_str()),
            ("X-HubSpot-Request-Timestamp", ts.as_str()),
        ];
        assert_eq!(
            v().verify_v3(&h, "POST", URI, BODY, now),
            Err(WebhookError::Stale)
        );
    }

    #[test]
    fn malformed_v3() {
        let sig = "rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o=";
        for (s, t) in [
            (sig, "1700000000000.0"),
            (sig, ""),
            (sig, "-1700000000000"),
            (
                "rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o",
                "1700000000000",
            ),
            (
                "rQEKkaNUiu 1qGF//O/pw4BCzstSqO1PyUnGICmf+7o=",
                "1700000000000",
            ),
            ("", "1700000000000"),
        ] {
            let h = [
                ("X-HubSpot-Signature-v3", s),
                ("X-HubSpot-Request-Timestamp", t),
            ];
            assert!(
                matches!(
                    v().verify_v3(&h, "POST", URI, BODY, 1_700_000_000),
                    Err(WebhookError::Malformed(_))
                ),
                "{s} {t}"
            );
        }
    }
}
