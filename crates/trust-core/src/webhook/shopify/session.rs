//! Session tokens: the JWTs App Bridge sends embedded apps as `Authorization: Bearer …`.
//!
//! HS256 with the client secret, one-minute lifetime. Checked here, in this order:
//! 1. shape: three base64url segments (canonical, unpadded), at most [`MAX_TOKEN_LEN`] bytes;
//! 2. header: `alg` is exactly `HS256` (pinned: `none`, `HS512`, `RS256`… are malformed, so an
//!    algorithm-confusion token never reaches a key), `typ` absent or `JWT`, no `crit`;
//! 3. signature: 32 bytes, constant time, any secret of the set;
//! 4. `exp` and `nbf` **required** integers (jose, behind shopify-api-js, accepts a token without
//!    `exp`), with a leeway (default 10 s, as both official SDKs);
//! 5. `aud` equal to the app's API key (client id);
//! 6. `dest` = `https://{shop}` with a strictly valid shop domain, and `iss` =
//!    `https://{same shop}/admin` (neither SDK checks that `iss` and `dest` agree).
//!
//! Source: <https://shopify.dev/docs/apps/build/authentication-authorization/session-tokens>.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::domain::{ShopDomainMode, validate_shop_domain};
use crate::secret::ExposeSecret;
use crate::webhook::{
    MAC_LEN, Scheme, SecretSet, Verified, WebhookError, hmac_sha256, match_any, required_header,
};

/// The longest token accepted.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// The default leeway on `exp` and `nbf`, seconds (both official SDKs use 10).
pub const DEFAULT_LEEWAY: u64 = 10;

/// The claims of a verified session token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionToken {
    /// Scheme, matching secret, `iat` (or `nbf`) as timestamp, `jti` as delivery id, the shop.
    pub verified: Verified,
    /// The shop domain (`name.myshopify.com`), from `dest`.
    pub shop: String,
    /// `sub`: the staff user id, when present.
    pub user_id: Option<String>,
    /// `sid`: the session id, when present.
    pub session_id: Option<String>,
    /// `exp`, Unix seconds.
    pub expires_at: i64,
    /// `nbf`, Unix seconds.
    pub not_before: i64,
}

/// What [`sign_session_token`] puts into a token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionClaims<'a> {
    /// The shop domain (`name.myshopify.com`).
    pub shop: &'a str,
    /// The app's API key (client id), the audience.
    pub api_key: &'a str,
    /// `sub`.
    pub user_id: &'a str,
    /// `iat` and `nbf`.
    pub issued_at: i64,
    /// Lifetime in seconds (`exp` = `issued_at` + this); Shopify uses 60.
    pub lifetime: i64,
    /// `jti`.
    pub token_id: &'a str,
    /// `sid`.
    pub session_id: &'a str,
}

impl<'a> SessionClaims<'a> {
    /// A token for `user_id` of `shop` to the app `api_key`, issued at `issued_at` (Unix
    /// seconds) with id `token_id`, living 60 seconds (as Shopify's do), its session id the
    /// token id; change `lifetime` or `session_id` afterwards if needed.
    pub fn new(
        shop: &'a str,
        api_key: &'a str,
        user_id: &'a str,
        token_id: &'a str,
        issued_at: i64,
    ) -> Self {
        Self {
            shop,
            api_key,
            user_id,
            issued_at,
            lifetime: 60,
            token_id,
            session_id: token_id,
        }
    }
}

/// Verifies session tokens for one app.
#[derive(Clone, Debug)]
pub struct SessionTokenVerifier {
    secrets: SecretSet,
    api_key: String,
    leeway: u64,
}

fn b64url(segment: &str, what: &'static str) -> Result<Vec<u8>, WebhookError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| WebhookError::Malformed(what))
}

fn json_object(bytes: &[u8], what: &'static str) -> Result<Map<String, Value>, WebhookError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(WebhookError::Malformed(what)),
    }
}

fn int_claim(
    claims: &Map<String, Value>,
    name: &str,
    what: &'static str,
) -> Result<i64, WebhookError> {
    claims
        .get(name)
        .and_then(Value::as_i64)
        .ok_or(WebhookError::Malformed(what))
}

fn str_claim<'c>(claims: &'c Map<String, Value>, name: &str) -> Option<&'c str> {
    claims.get(name).and_then(Value::as_str)
}

impl SessionTokenVerifier {
    /// A verifier for an app's client secret(s) and API key, with a 10 s leeway.
    pub fn new(secrets: SecretSet, api_key: impl Into<String>) -> Self {
        Self {
            secrets,
            api_key: api_key.into(),
            leeway: DEFAULT_LEEWAY,
        }
    }

    /// Replaces the leeway on `exp` and `nbf`.
    #[must_use]
    pub fn with_leeway(mut self, leeway: u64) -> Self {
        self.leeway = leeway;
        self
    }

    /// Verifies the token in an `Authorization: Bearer …` header.
    ///
    /// # Errors
    /// As [`SessionTokenVerifier::verify`], and [`WebhookError::Malformed`] without a bearer
    /// `Authorization` header.
    pub fn verify_headers<N, V>(
        &self,
        headers: &[(N, V)],
        now: i64,
    ) -> Result<SessionToken, WebhookError>
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        const WHAT: &str = "missing or duplicated Authorization: Bearer header";
        let auth = required_header(headers, "Authorization", WHAT)?;
        let (scheme, token) = auth.split_once(' ').ok_or(WebhookError::Malformed(WHAT))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(WebhookError::Malformed(WHAT));
        }
        self.verify(token.trim_start_matches(' '), now)
    }

    /// Verifies a compact JWT at `now` (Unix seconds).
    ///
    /// # Errors
    /// [`WebhookError::Malformed`] (shape, header, missing claims), [`WebhookError::Invalid`]
    /// (signature), [`WebhookError::Stale`] (expired), [`WebhookError::Future`] (not yet
    /// valid), [`WebhookError::ClaimRejected`] (audience, issuer/destination).
    pub fn verify(&self, token: &str, now: i64) -> Result<SessionToken, WebhookError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(WebhookError::Malformed("session token too long"));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(WebhookError::Malformed(
                "a session token has three segments",
            ));
        };
        let header = json_object(&b64url(h, "session token header")?, "session token header")?;
        if header.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err(WebhookError::Malformed("session token alg must be HS256"));
        }
        if header.get("typ").is_some_and(|t| t.as_str() != Some("JWT"))
            || header.contains_key("crit")
        {
            return Err(WebhookError::Malformed("session token header"));
        }
        let sig: [u8; MAC_LEN] = b64url(s, "session token signature")?
            .try_into()
            .map_err(|_| WebhookError::Malformed("session token signature"))?;
        let signing_input_len = h.len() + 1 + p.len();
        let signing_input = &token.as_bytes()[..signing_input_len];
        let index = match_any(&self.secrets, &[sig], |key| {
            hmac_sha256(key, &[signing_input])
        })?;

        let claims = json_object(
            &b64url(p, "session token payload")?,
            "session token payload",
        )?;
        let exp = int_claim(&claims, "exp", "session token has no integer exp claim")?;
        let nbf = int_claim(&claims, "nbf", "session token has no integer nbf claim")?;
        let leeway = i128::from(self.leeway);
        if i128::from(now) > i128::from(exp) + leeway {
            return Err(WebhookError::Stale);
        }
        if i128::from(now) + leeway < i128::from(nbf) {
            return Err(WebhookError::Future);
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.api_key,
            Some(Value::Array(list)) => list
                .iter()
                .any(|a| a.as_str() == Some(self.api_key.as_str())),
            _ => false,
        };
        if !aud_ok {
            return Err(WebhookError::ClaimRejected("aud is not this app's API key"));
        }
        let dest = str_claim(&claims, "dest")
            .and_then(|d| d.strip_prefix("https://"))
            .ok_or(WebhookError::ClaimRejected("dest is not https://{shop}"))?;
        let shop = validate_shop_domain(dest, ShopDomainMode::Strict)
            .map_err(|_| WebhookError::ClaimRejected("dest is not a valid shop domain"))?;
        let iss_shop = str_claim(&claims, "iss")
            .and_then(|i| i.strip_prefix("https://"))
            .and_then(|i| i.strip_suffix("/admin"))
            .map(str::to_ascii_lowercase);
        if iss_shop.as_deref() != Some(shop.as_str()) {
            return Err(WebhookError::ClaimRejected(
                "iss and dest name different shops",
            ));
        }
        let mut verified = Verified::new(Scheme::ShopifySessionToken, index);
        verified.timestamp = Some(claims.get("iat").and_then(Value::as_i64).unwrap_or(nbf));
        verified.delivery_id = str_claim(&claims, "jti").map(str::to_owned);
        verified.shop = Some(shop.clone());
        Ok(SessionToken {
            verified,
            shop,
            user_id: str_claim(&claims, "sub").map(str::to_owned),
            session_id: str_claim(&claims, "sid").map(str::to_owned),
            expires_at: exp,
            not_before: nbf,
        })
    }
}

/// Mints a session token as App Bridge would (for tests and local tooling), signed with the
/// set's current secret. (Claims are serialized in key order, so the bytes differ from PyJWT's
/// published vector; the claims are the same.)
pub fn sign_session_token(secrets: &SecretSet, claims: &SessionClaims<'_>) -> String {
    let header = r#"{"alg":"HS256","typ":"JWT"}"#;
    let payload = serde_json::json!({
        "iss": format!("https://{}/admin", claims.shop),
        "dest": format!("https://{}", claims.shop),
        "aud": claims.api_key,
        "sub": claims.user_id,
        "exp": claims.issued_at.saturating_add(claims.lifetime),
        "nbf": claims.issued_at,
        "iat": claims.issued_at,
        "jti": claims.token_id,
        "sid": claims.session_id,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let mac = hmac_sha256(
        secrets.current().expose_secret(),
        &[signing_input.as_bytes()],
    );
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/webhooks.md: minted with PyJWT, accepted by shopify-api-js
    /// `decodeSessionToken` (secret `hush`, aud `api-key-123`, iat = nbf = 1700000000, exp + 60).
    const TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL3Nob3AtbmFtZS5teXNob3BpZnkuY29tL2FkbWluIiwiZGVzdCI6Imh0dHBzOi8vc2hvcC1uYW1lLm15c2hvcGlmeS5jb20iLCJhdWQiOiJhcGkta2V5LTEyMyIsInN1YiI6IjQyIiwiZXhwIjoxNzAwMDAwMDYwLCJuYmYiOjE3MDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiZjg5MTIxMjktMWFmNi00Y2FkLTljYTMtNzZiMGY3NjIxMDg3Iiwic2lkIjoiYWFhYWFhYWEtYmJiYi1jY2NjLWRkZGQtZWVlZWVlZWVlZWVlIn0.W-uunE2bT8HzI_hYfRMz07giVA2aUraZGQY5A_0aMRM";

    fn v() -> SessionTokenVerifier {
        SessionTokenVerifier::new(SecretSet::new(b"hush".to_vec()), "api-key-123")
    }

    fn mint(header: &str, payload: &str, secret: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let mac = hmac_sha256(secret, &[input.as_bytes()]);
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    #[test]
    fn published_vector_and_lifetime_edges() {
        let t = v().verify(TOKEN, 1_700_000_030).unwrap();
        assert_eq!(t.shop, "shop-name.myshopify.com");
        assert_eq!(t.user_id.as_deref(), Some("42"));
        assert_eq!(
            t.verified.delivery_id.as_deref(),
            Some("f8912129-1af6-4cad-9ca3-76b0f7621087")
        );
        assert!(v().verify(TOKEN, 1_700_000_070).is_ok());
        assert_eq!(v().verify(TOKEN, 1_700_000_071), Err(WebhookError::Stale));
        assert!(v().verify(TOKEN, 1_699_999_990).is_ok());
        assert_eq!(v().verify(TOKEN, 1_699_999_989), Err(WebhookError::Future));
        let minted = sign_session_token(
            &SecretSet::new(b"hush".to_vec()),
            &SessionClaims {
                shop: "shop-name.myshopify.com",
                api_key: "api-key-123",
                user_id: "42",
                issued_at: 1_700_000_000,
                lifetime: 60,
                token_id: "f8912129-1af6-4cad-9ca3-76b0f7621087",
                session_id: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            },
        );
        assert!(v().verify(&minted, 1_700_000_000).is_ok());
        let h = [("authorization", format!("Bearer {TOKEN}"))];
        assert!(v().verify_headers(&h, 1_700_000_000).is_ok());
    }

    #[test]
    fn algorithm_is_pinned() {
        let payload = r#"{"iss":"https://s.myshopify.com/admin","dest":"https://s.myshopify.com","aud":"api-key-123","exp":1700000060,"nbf":1700000000}"#;
        assert!(
            v().verify(
                &mint(r#"{"alg":"HS256","typ":"JWT"}"#, payload, b"hush"),
                1_700_000_000
            )
            .is_ok()
        );
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"HS512","typ":"JWT"}"#,
            r#"{"alg":"hs256"}"#,
            r#"{"typ":"JWT"}"#,
            r#"{"alg":"HS256","typ":"JWS"}"#,
            r#"{"alg":"HS256","crit":["x"]}"#,
            "[]",
        ] {
            assert!(
                matches!(
                    v().verify(&mint(header, payload, b"hush"), 1_700_000_000),
                    Err(WebhookError::Malformed(_))
                ),
                "{header}"
            );
        }
        // alg:none with an empty signature.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        );
        assert!(matches!(
            v().verify(&none, 1_700_000_000),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn claims_are_required_and_checked() {
        let hdr = r#"{"alg":"HS256","typ":"JWT"}"#;
        let base = |extra: &str| {
            format!(
                r#"{{"iss":"https://s.myshopify.com/admin","dest":"https://s.myshopify.com"{extra}}}"#
            )
        };
        let check = |payload: String| v().verify(&mint(hdr, &payload, b"hush"), 1_700_000_000);
        assert!(matches!(
            check(base(r#","aud":"api-key-123","nbf":1700000000"#)),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            check(base(r#","aud":"api-key-123","exp":1700000060"#)),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            check(base(
                r#","aud":"api-key-123","exp":"1700000060","nbf":1700000000"#
            )),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            check(base(r#","aud":"other","exp":1700000060,"nbf":1700000000"#)),
            Err(WebhookError::ClaimRejected(_))
        ));
        assert!(matches!(
            check(base(r#","exp":1700000060,"nbf":1700000000"#)),
            Err(WebhookError::ClaimRejected(_))
        ));
        assert!(
            check(base(
                r#","aud":["x","api-key-123"],"exp":1700000060,"nbf":1700000000"#
            ))
            .is_ok()
        );
        let other_iss = r#"{"iss":"https://t.myshopify.com/admin","dest":"https://s.myshopify.com","aud":"api-key-123","exp":1700000060,"nbf":1700000000}"#;
        assert!(matches!(
            check(other_iss.to_owned()),
            Err(WebhookError::ClaimRejected(_))
        ));
        let evil_dest = r#"{"iss":"https://evil.com/admin","dest":"https://evil.com","aud":"api-key-123","exp":1700000060,"nbf":1700000000}"#;
        assert!(matches!(
            check(evil_dest.to_owned()),
            Err(WebhookError::ClaimRejected(_))
        ));
        // Wrong secret; tampered payload; bad shapes.
        let good = mint(
            hdr,
            &base(r#","aud":"api-key-123","exp":1700000060,"nbf":1700000000"#),
            b"hush",
        );
        assert_eq!(
            v().verify(
                &mint(
                    hdr,
                    &base(r#","aud":"api-key-123","exp":1700000060,"nbf":1700000000"#),
                    b"nope"
                ),
                1_700_000_000
            ),
            Err(WebhookError::Invalid)
        );
        let parts: Vec<&str> = good.split('.').collect();
        let forged_payload = URL_SAFE_NO_PAD.encode(base(
            r#","aud":"api-key-123","exp":1800000060,"nbf":1700000000"#,
        ));
        assert_eq!(
            v().verify(
                &format!("{}.{forged_payload}.{}", parts[0], parts[2]),
                1_700_000_000
            ),
            Err(WebhookError::Invalid)
        );
        for bad in [
            String::new(),
            format!("{}.{}", parts[0], parts[1]),
            format!("{good}.x"),
            format!("{good}="),
            format!("{}.{}.{}", parts[0], parts[1], &parts[2][..20]),
            "a".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(
                matches!(
                    v().verify(&bad, 1_700_000_000),
                    Err(WebhookError::Malformed(_))
                ),
                "{bad}"
            );
        }
        for h in [
            [("Authorization", "Basic abc")],
            [("Authorization", "Bearer")],
            [("X", "Bearer abc")],
        ] {
            assert!(matches!(
                v().verify_headers(&h, 1_700_000_000),
                Err(WebhookError::Malformed(_))
            ));
        }
    }
}
