//! Query-string signatures: the OAuth callback `hmac` and the App Proxy `signature`.
//!
//! Both sign the *decoded* query parameters (minus the signature itself) in a canonical form,
//! keyed with the app's client secret, as lowercase hex.
//!
//! **OAuth** (shopify.dev "Implement authorization code grant manually"): drop `hmac`, escape
//! `%`→`%25` and `&`→`%26` in keys and values and `=`→`%3D` in keys, sort the `k=v` strings
//! bytewise, join with `&`. Shopify's own SDKs disagree on escaping when a value contains a
//! space, `&`, `=`, `%`… (docs/webhooks.md); [`Canonicalization::Lenient`] also tries
//! the unescaped form, the form-encoded form of shopify-api-js ≤ 13 and the Ruby SDK (space →
//! `+`), and the `%20` form of shopify-app-js main. Every variant is injective on the decoded
//! parameters, so leniency does not let one parameter set pass for another.
//!
//! **App Proxy** (shopify.dev "Authenticate app proxies"): drop `signature`, join repeated keys'
//! values with `,`, form `k=v` strings from the **decoded** values, sort them bytewise and
//! concatenate them **without a separator**.
//!
//! Decisions: the raw query is decoded as `application/x-www-form-urlencoded` (`+` is a space;
//! a bad `%` escape or non-UTF-8 is malformed); at most [`MAX_QUERY_LEN`] bytes and
//! [`MAX_QUERY_PARAMS`] parameters; OAuth rejects *any* repeated key (Shopify never sends one,
//! and duplicates are how `hmac`/`shop`/`timestamp` smuggling works); App Proxy rejects repeated
//! `signature`, `shop`, `timestamp`, `path_prefix` and `logged_in_customer_id`. `timestamp`
//! (seconds) and a valid `shop` ([`super::ShopDomainMode::Strict`]) are required and checked
//! after the signature, in a ±90 s window (shopify-api-js's tolerance). The OAuth `state` nonce
//! must still be checked by the app against the one it issued: the HMAC does not bind a session.

use super::domain::{ShopDomainMode, validate_shop_domain};
use crate::secret::ExposeSecret;
use crate::webhook::{
    MAC_LEN, Scheme, SecretSet, Verified, WebhookError, Window, decode_hex_mac,
    encoding::hex_lower, hmac_sha256, match_any, parse_decimal,
};

/// The longest raw query accepted.
pub const MAX_QUERY_LEN: usize = 16 * 1024;
/// The most parameters accepted.
pub const MAX_QUERY_PARAMS: usize = 64;
/// The default timestamp window for OAuth and App Proxy queries (shopify-api-js: 90 s).
pub const DEFAULT_QUERY_TOLERANCE: u64 = 90;

/// How the OAuth message is built from the parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Canonicalization {
    /// The documented algorithm only. Default.
    #[default]
    Documented,
    /// The documented algorithm, or any of the variants the official SDKs have used.
    Lenient,
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn form_decode(s: &str) -> Result<String, WebhookError> {
    const BAD: WebhookError = WebhookError::Malformed("bad percent-escape in the query");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value).ok_or(BAD)?;
                let lo = bytes.get(i + 2).copied().and_then(hex_value).ok_or(BAD)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| WebhookError::Malformed("query is not UTF-8 after decoding"))
}

/// Parses a raw query string (with or without the leading `?`) into decoded `(key, value)`
/// pairs in order. A parameter without `=` has an empty value; empty segments (`&&`) are skipped.
///
/// # Errors
/// [`WebhookError::Malformed`] for an oversized query, too many parameters, a bad escape, or
/// non-UTF-8 content.
pub fn parse_query(raw: &str) -> Result<Vec<(String, String)>, WebhookError> {
    if raw.len() > MAX_QUERY_LEN {
        return Err(WebhookError::Malformed("query too long"));
    }
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    let mut params = Vec::new();
    for segment in raw.split('&').filter(|s| !s.is_empty()) {
        if params.len() == MAX_QUERY_PARAMS {
            return Err(WebhookError::Malformed("too many query parameters"));
        }
        let (k, v) = segment.split_once('=').unwrap_or((segment, ""));
        params.push((form_decode(k)?, form_decode(v)?));
    }
    Ok(params)
}

fn doc_escape(s: &str, is_key: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '&' => out.push_str("%26"),
            '=' if is_key => out.push_str("%3D"),
            c => out.push(c),
        }
    }
    out
}

/// URLSearchParams-style encoding: `A-Za-z0-9*-._` kept, space as `space`, the rest `%XX`.
fn form_encode(s: &str, space: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push_str(space),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The documented OAuth message for `params` (which must not contain `hmac`).
pub fn oauth_message(params: &[(String, String)]) -> String {
    let mut pairs: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", doc_escape(k, true), doc_escape(v, false)))
        .collect();
    pairs.sort_unstable();
    pairs.join("&")
}

/// The SDK variants tried by [`Canonicalization::Lenient`], after the documented form.
fn oauth_variants(params: &[(String, String)]) -> [String; 3] {
    let mut by_key: Vec<&(String, String)> = params.iter().collect();
    by_key.sort_by(|a, b| a.0.cmp(&b.0));
    let join = |enc: &dyn Fn(&str) -> String| {
        by_key
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&")
    };
    let mut raw: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    raw.sort_unstable();
    [
        raw.join("&"),
        join(&|s| form_encode(s, "+")),
        join(&|s| form_encode(s, "%20")),
    ]
}

/// The App Proxy message for `params` (which must not contain `signature`): repeated keys'
/// values joined with `,` in order, `k=v` strings sorted bytewise and concatenated.
pub fn app_proxy_message(params: &[(String, String)]) -> String {
    let mut grouped: Vec<(&str, Vec<&str>)> = Vec::new();
    for (k, v) in params {
        match grouped.iter_mut().find(|(key, _)| *key == k.as_str()) {
            Some((_, values)) => values.push(v),
            None => grouped.push((k, vec![v])),
        }
    }
    let mut pairs: Vec<String> = grouped
        .into_iter()
        .map(|(k, values)| format!("{k}={}", values.join(",")))
        .collect();
    pairs.sort_unstable();
    pairs.concat()
}

/// Decoded query parameters, in order.
type Params = Vec<(String, String)>;

/// Splits out the signature parameter and checks the repeat rules.
fn take_signature(
    params: Vec<(String, String)>,
    sig_key: &str,
    unique: &[&str],
    all_unique: bool,
) -> Result<([u8; MAC_LEN], Params), WebhookError> {
    for (i, (k, _)) in params.iter().enumerate() {
        let repeated = params[..i].iter().any(|(other, _)| other == k);
        if repeated && (all_unique || k == sig_key || unique.contains(&k.as_str())) {
            return Err(WebhookError::Malformed("repeated query parameter"));
        }
    }
    let mut sig = None;
    let mut rest = Vec::with_capacity(params.len());
    for (k, v) in params {
        if k == sig_key {
            sig = Some(v);
        } else {
            rest.push((k, v));
        }
    }
    let sig = sig.ok_or(WebhookError::Malformed(
        "the query has no signature parameter",
    ))?;
    Ok((decode_hex_mac(&sig, "query signature")?, rest))
}

fn param<'p>(params: &'p [(String, String)], key: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Checks timestamp and shop after the signature matched.
fn finish(
    scheme: Scheme,
    index: usize,
    params: &[(String, String)],
    window: Window,
    shop_mode: ShopDomainMode,
    now: i64,
) -> Result<Verified, WebhookError> {
    let ts =
        param(params, "timestamp").ok_or(WebhookError::Malformed("the query has no timestamp"))?;
    let ts = parse_decimal(ts, 12, "query timestamp")?;
    window.check(ts, now)?;
    let shop = param(params, "shop").ok_or(WebhookError::Malformed("the query has no shop"))?;
    let shop = validate_shop_domain(shop, shop_mode)?;
    let mut ok = Verified::new(scheme, index);
    ok.timestamp = Some(ts);
    ok.shop = Some(shop);
    Ok(ok)
}

/// Verifies OAuth callback (and admin redirect) queries.
#[derive(Clone, Debug)]
pub struct OAuthVerifier {
    secrets: SecretSet,
    window: Window,
    canonicalization: Canonicalization,
    shop_mode: ShopDomainMode,
}

impl OAuthVerifier {
    /// A verifier with the documented canonicalization, a ±90 s window and strict shop domains.
    pub fn new(secrets: SecretSet) -> Self {
        Self {
            secrets,
            window: Window::symmetric(DEFAULT_QUERY_TOLERANCE),
            canonicalization: Canonicalization::Documented,
            shop_mode: ShopDomainMode::Strict,
        }
    }

    /// Replaces the timestamp window.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Chooses the canonicalization (opt in to [`Canonicalization::Lenient`] for SDK variants).
    #[must_use]
    pub fn with_canonicalization(mut self, canonicalization: Canonicalization) -> Self {
        self.canonicalization = canonicalization;
        self
    }

    /// Chooses how the `shop` parameter is validated.
    #[must_use]
    pub fn with_shop_mode(mut self, mode: ShopDomainMode) -> Self {
        self.shop_mode = mode;
        self
    }

    /// Verifies the raw query string of a callback at `now` (Unix seconds).
    ///
    /// # Errors
    /// [`WebhookError::Malformed`], [`WebhookError::Invalid`], [`WebhookError::Stale`],
    /// [`WebhookError::Future`].
    pub fn verify_query(&self, raw: &str, now: i64) -> Result<Verified, WebhookError> {
        let (mac, params) = take_signature(parse_query(raw)?, "hmac", &[], true)?;
        let documented = oauth_message(&params);
        let mut result = match_any(&self.secrets, &[mac], |key| {
            hmac_sha256(key, &[documented.as_bytes()])
        });
        if self.canonicalization == Canonicalization::Lenient {
            for variant in oauth_variants(&params) {
                let r = match_any(&self.secrets, &[mac], |key| {
                    hmac_sha256(key, &[variant.as_bytes()])
                });
                if result.is_err() {
                    result = r;
                }
            }
        }
        finish(
            Scheme::ShopifyOAuth,
            result?,
            &params,
            self.window,
            self.shop_mode,
            now,
        )
    }
}

/// Verifies App Proxy requests.
#[derive(Clone, Debug)]
pub struct AppProxyVerifier {
    secrets: SecretSet,
    window: Window,
    shop_mode: ShopDomainMode,
}

impl AppProxyVerifier {
    /// A verifier with a ±90 s window and strict shop domains.
    pub fn new(secrets: SecretSet) -> Self {
        Self {
            secrets,
            window: Window::symmetric(DEFAULT_QUERY_TOLERANCE),
            shop_mode: ShopDomainMode::Strict,
        }
    }

    /// Replaces the timestamp window.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Chooses how the `shop` parameter is validated.
    #[must_use]
    pub fn with_shop_mode(mut self, mode: ShopDomainMode) -> Self {
        self.shop_mode = mode;
        self
    }

    /// Verifies the raw query string of a proxied request at `now` (Unix seconds).
    ///
    /// # Errors
    /// As [`OAuthVerifier::verify_query`].
    pub fn verify_query(&self, raw: &str, now: i64) -> Result<Verified, WebhookError> {
        let unique = ["shop", "timestamp", "path_prefix", "logged_in_customer_id"];
        let (mac, params) = take_signature(parse_query(raw)?, "signature", &unique, false)?;
        let message = app_proxy_message(&params);
        let index = match_any(&self.secrets, &[mac], |key| {
            hmac_sha256(key, &[message.as_bytes()])
        })?;
        finish(
            Scheme::ShopifyAppProxy,
            index,
            &params,
            self.window,
            self.shop_mode,
            now,
        )
    }
}

/// Appends the signature parameter to the raw query *as given*: [`parse_query`] strips exactly
/// one leading `?`, so stripping here too would change what a second `?` means (found by the
/// `webhook_shopify_query` fuzz target with the input `??`).
fn append_signature(raw: &str, key: &str, mac: &[u8]) -> String {
    if raw.is_empty() {
        format!("{key}={}", hex_lower(mac))
    } else {
        format!("{raw}&{key}={}", hex_lower(mac))
    }
}

/// Appends `&hmac=…` (documented canonicalization, current secret) to an OAuth query.
///
/// # Errors
/// [`WebhookError::Malformed`] when the query does not parse or already has an `hmac`.
pub fn sign_oauth_query(secrets: &SecretSet, raw: &str) -> Result<String, WebhookError> {
    let params = parse_query(raw)?;
    if param(&params, "hmac").is_some() {
        return Err(WebhookError::Malformed("the query already has an hmac"));
    }
    let mac = hmac_sha256(
        secrets.current().expose_secret(),
        &[oauth_message(&params).as_bytes()],
    );
    Ok(append_signature(raw, "hmac", &mac))
}

/// Appends `&signature=…` (current secret) to an App Proxy query.
///
/// # Errors
/// [`WebhookError::Malformed`] when the query does not parse or already has a `signature`.
pub fn sign_app_proxy_query(secrets: &SecretSet, raw: &str) -> Result<String, WebhookError> {
    let params = parse_query(raw)?;
    if param(&params, "signature").is_some() {
        return Err(WebhookError::Malformed("the query already has a signature"));
    }
    let mac = hmac_sha256(
        secrets.current().expose_secret(),
        &[app_proxy_message(&params).as_bytes()],
    );
    Ok(append_signature(raw, "signature", &mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hush() -> SecretSet {
        SecretSet::new(b"hush".to_vec())
    }

    /// The doc vector of shopify.dev "authorization code grant" (docs/webhooks.md),
    /// also computed by ShopifyAPI `Session.calculate_hmac` and shopify-api-js `validateHmac`.
    #[test]
    fn published_oauth_vector() {
        let q = "code=0907a61c0c8d55e99db179b68161bc00&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173";
        let (_, params) = take_signature(parse_query(q).unwrap(), "hmac", &[], true).unwrap();
        assert_eq!(
            oauth_message(&params),
            "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173"
        );
        let ok = OAuthVerifier::new(hush())
            .verify_query(q, 1_337_178_173)
            .unwrap();
        assert_eq!(ok.shop.as_deref(), Some("some-shop.myshopify.com"));
        assert_eq!(ok.timestamp, Some(1_337_178_173));
        let v = OAuthVerifier::new(hush());
        assert!(v.verify_query(&format!("?{q}"), 1_337_178_173 + 90).is_ok());
        assert_eq!(
            v.verify_query(q, 1_337_178_173 + 91),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            v.verify_query(q, 1_337_178_173 - 91),
            Err(WebhookError::Future)
        );
        let tampered = q.replace("some-shop", "evil-shop");
        assert_eq!(
            v.verify_query(&tampered, 1_337_178_173),
            Err(WebhookError::Invalid)
        );
        // Sign round trip reproduces the published hmac.
        let unsigned = q.replace(
            "hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf&",
            "",
        );
        assert!(
            sign_oauth_query(&hush(), &unsigned)
                .unwrap()
                .ends_with("hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf")
        );
    }

    /// The divergence vector of docs/webhooks.md: one parameter set, four SDK
    /// canonicalizations, four MACs.
    #[test]
    fn canonicalization_divergence_vector() {
        let params: Vec<(String, String)> = [
            ("code", "abc"),
            ("host", "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvc2hvcC1uYW1l"),
            ("shop", "shop-name.myshopify.com"),
            ("state", "a b&c=d%e/f"),
            ("timestamp", "1700000000"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let mac = |m: &str| hex_lower(&hmac_sha256(b"hush", &[m.as_bytes()]));
        let [raw, form, pct] = oauth_variants(&params);
        assert_eq!(
            mac(&oauth_message(&params)),
            "e9f2a095f91b6fb5f7a17a4a6dab2966c78005bd014e12d843bb23a7edc03314"
        );
        assert_eq!(
            mac(&raw),
            "ef9918b830559dd65d12cc495f137808afec4d08ac0a21c431d2907c0232e229"
        );
        assert_eq!(
            mac(&form),
            "86b555fcc367cda10a0b6cdafbdf00715f6a7aa2b48e1ad1f6ff62e6b71fbf83"
        );
        assert_eq!(
            mac(&pct),
            "47a29eaa32065e2147d239720a76893869a55300ae48091b27ad0b1ee14e2dd3"
        );

        // As received on the wire; documented mode accepts only the documented MAC, lenient all.
        let base = "code=abc&host=YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvc2hvcC1uYW1l&shop=shop-name.myshopify.com&state=a+b%26c%3Dd%25e%2Ff&timestamp=1700000000";
        let strict = OAuthVerifier::new(hush());
        let lenient = OAuthVerifier::new(hush()).with_canonicalization(Canonicalization::Lenient);
        for (hex, documented) in [
            (
                "e9f2a095f91b6fb5f7a17a4a6dab2966c78005bd014e12d843bb23a7edc03314",
                true,
            ),
            (
                "ef9918b830559dd65d12cc495f137808afec4d08ac0a21c431d2907c0232e229",
                false,
            ),
            (
                "86b555fcc367cda10a0b6cdafbdf00715f6a7aa2b48e1ad1f6ff62e6b71fbf83",
                false,
            ),
            (
                "47a29eaa32065e2147d239720a76893869a55300ae48091b27ad0b1ee14e2dd3",
                false,
            ),
        ] {
            let q = format!("{base}&hmac={hex}");
            assert_eq!(
                strict.verify_query(&q, 1_700_000_000).is_ok(),
                documented,
                "{hex}"
            );
            assert!(lenient.verify_query(&q, 1_700_000_000).is_ok(), "{hex}");
        }
    }

    #[test]
    fn oauth_malformed_queries() {
        let v = OAuthVerifier::new(hush());
        let signed =
            sign_oauth_query(&hush(), "code=a&shop=s.myshopify.com&timestamp=1700000000").unwrap();
        assert!(v.verify_query(&signed, 1_700_000_000).is_ok());
        for bad in [
            format!("{signed}&hmac=00"),
            format!("{signed}&shop=x.myshopify.com"),
            format!("{signed}&timestamp=1700000000"),
            format!("{signed}&code=b"),
            "code=a&shop=s.myshopify.com&timestamp=1700000000".to_owned(),
            signed.replace("hmac=", "hmac=0"),
            format!("{signed}&x=%zz"),
            format!("{signed}&x=%C3"),
            "a=1&".repeat(65),
            "x".repeat(MAX_QUERY_LEN + 1),
        ] {
            assert!(
                matches!(
                    v.verify_query(&bad, 1_700_000_000),
                    Err(WebhookError::Malformed(_))
                ),
                "{bad}"
            );
        }
        // Signed but missing timestamp, or with a bad shop.
        let no_ts = sign_oauth_query(&hush(), "code=a&shop=s.myshopify.com").unwrap();
        assert!(matches!(
            v.verify_query(&no_ts, 1_700_000_000),
            Err(WebhookError::Malformed(_))
        ));
        let bad_shop = sign_oauth_query(&hush(), "shop=evil.com&timestamp=1700000000").unwrap();
        assert!(matches!(
            v.verify_query(&bad_shop, 1_700_000_000),
            Err(WebhookError::Malformed(_))
        ));
        // Old secret only.
        let rotated =
            OAuthVerifier::new(SecretSet::new(b"new".to_vec()).with_previous(b"hush".to_vec()));
        assert_eq!(
            rotated
                .verify_query(&signed, 1_700_000_000)
                .unwrap()
                .secret_index,
            1
        );
    }

    /// shopify.dev "Authenticate app proxies" example (docs/webhooks.md), also
    /// checked with shopify-api-js `validateHmac(q, {signator: 'appProxy'})`.
    #[test]
    fn published_app_proxy_vectors() {
        let base = "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555";
        let (_, params) = take_signature(
            parse_query(&format!(
                "{base}&signature=00000000000000000000000000000000000000000000000000000000000000ff"
            ))
            .unwrap(),
            "signature",
            &[],
            false,
        )
        .unwrap();
        assert_eq!(
            app_proxy_message(&params),
            "extra=1,2logged_in_customer_id=1path_prefix=/apps/awesome_reviewsshop=shop-name.myshopify.comtimestamp=1317327555"
        );
        let v = AppProxyVerifier::new(hush());
        let q = format!(
            "{base}&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"
        );
        assert_eq!(
            v.verify_query(&q, 1_317_327_555).unwrap().shop.as_deref(),
            Some("shop-name.myshopify.com")
        );
        assert_eq!(sign_app_proxy_query(&hush(), base).unwrap(), q);
        let anon = base.replace("logged_in_customer_id=1", "logged_in_customer_id=");
        let q = format!(
            "{anon}&signature=e072b6d7e6622d85912a5214b860d3100dc1e73d9bc29f43796ac8c9ff8093cb"
        );
        assert!(v.verify_query(&q, 1_317_327_555).is_ok());
        assert_eq!(
            v.verify_query(&q, 1_317_327_555 + 91),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            v.verify_query(&q.replace("extra=2", "extra=3"), 1_317_327_555),
            Err(WebhookError::Invalid)
        );
    }

    /// The sort-divergence vector of docs/webhooks.md: the doc sorts `k=v` strings.
    #[test]
    fn app_proxy_sorts_pair_strings_bytewise() {
        let q = "a=1&a1=2&B=3&logged_in_customer_id=&path_prefix=%2Fapps%2Fx&shop=shop-name.myshopify.com&timestamp=1317327555&signature=6bb7ccef07a89ba68f1e6c4fd9fb083cb3b0e14ff5125c6356ec94b0d7414e64";
        assert!(
            AppProxyVerifier::new(hush())
                .verify_query(q, 1_317_327_555)
                .is_ok()
        );
        let js = q.replace(
            "6bb7ccef07a89ba68f1e6c4fd9fb083cb3b0e14ff5125c6356ec94b0d7414e64",
            "51805d73ace83f86358133f1943631ecc9d81e912296f597f8594be7debd0ff4",
        );
        assert_eq!(
            AppProxyVerifier::new(hush()).verify_query(&js, 1_317_327_555),
            Err(WebhookError::Invalid)
        );
    }

    #[test]
    fn signing_keeps_the_query_as_given() {
        let signed = sign_oauth_query(&hush(), "??").unwrap();
        let (_, params) = take_signature(parse_query(&signed).unwrap(), "hmac", &[], true).unwrap();
        assert_eq!(params, vec![("?".to_owned(), String::new())]);
        assert!(sign_oauth_query(&hush(), "").unwrap().starts_with("hmac="));
    }

    #[test]
    fn app_proxy_rejects_repeated_control_parameters() {
        let v = AppProxyVerifier::new(hush());
        let signed = sign_app_proxy_query(
            &hush(),
            "shop=s.myshopify.com&timestamp=1317327555&path_prefix=%2Fa",
        )
        .unwrap();
        assert!(v.verify_query(&signed, 1_317_327_555).is_ok());
        for extra in [
            "shop=t.myshopify.com",
            "timestamp=1",
            "path_prefix=%2Fb",
            "signature=00",
        ] {
            let q = format!("{signed}&{extra}");
            assert!(
                matches!(
                    v.verify_query(&q, 1_317_327_555),
                    Err(WebhookError::Malformed(_))
                ),
                "{q}"
            );
        }
    }
}
