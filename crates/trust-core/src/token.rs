//! Scoped session tokens: short-lived, tenant- and scope-bound bearer tokens for embeddable
//! widgets and service-to-service calls.
//!
//! A support-chat widget running on a merchant's storefront needs to call the app's API as
//! "tenant `acme`, may post chat messages, for the next 15 minutes" — and nothing more. A
//! [`Tokens`] issues exactly that and checks it back:
//!
//! ```
//! use std::time::Duration;
//! use trust_core::clock::FixedClock;
//! use trust_core::token::{Expect, TokenRequest, Tokens};
//! # use trust_core::provider::{KeyProvider, KeyRef, EncryptionKey, KeyError, Suite};
//! # use trust_core::secret::Key256;
//! # use std::sync::Arc;
//! # struct OneKey(Arc<Key256>);
//! # impl KeyProvider for OneKey {
//! #     fn encryption_key(&self, k: &str) -> Result<EncryptionKey, KeyError> {
//! #         Ok(EncryptionKey::new(KeyRef::new(k, 1), Suite::default(), self.0.clone()))
//! #     }
//! #     fn decryption_key(&self, _: &KeyRef) -> Result<Arc<Key256>, KeyError> { Ok(self.0.clone()) }
//! # }
//! # let keyring = OneKey(Arc::new(Key256::from_bytes([7; 32])));
//! let clock = FixedClock::at_unix(1_700_000_000);
//! let tokens = Tokens::new(keyring); // any KeyProvider: the home's keyring
//!
//! let request = TokenRequest::new("acme", ["chat:write"], Duration::from_secs(15 * 60))
//!     .audience("chat-widget");
//! let token = tokens.issue("session-tokens", &request, &clock)?;
//!
//! let expect = Expect::new("acme", "chat:write").audience("chat-widget");
//! let claims = tokens.verify(token.expose(), &expect, &clock)?;
//! assert_eq!(claims.tenant, "acme");
//! # Ok::<(), trust_core::token::TokenError>(())
//! ```
//!
//! ## Format and keys
//!
//! `tst1.<keyring>.<version>.<claims>.<tag>`, specified byte by byte with test vectors in
//! `docs/format-token.md`. The tag is HMAC-SHA-256 over everything before the last `.`, under a
//! MAC key derived with HKDF-SHA-256 from the keyring version's key-encryption key and a
//! token-specific label, so token keys never equal envelope keys. Tokens are signed with the
//! keyring's Primary version ([`KeyProvider::encryption_key`]) and verified with the version
//! they name ([`KeyProvider::decryption_key`]): after a rotation, tokens issued under the
//! previous version stay valid until they expire (they are short-lived), and retiring or
//! disabling a version revokes every token made with it.
//!
//! ## Checks, in order
//!
//! 1. size and structure (bounded before any decoding; canonical base64url only);
//! 2. the key version is usable (else a [`KeyError`], exit 4);
//! 3. the tag, compared in constant time — a failure says only "invalid";
//! 4. the claims: tenant, scope, audience (an audience in the token must be expected, and an
//!    expected one must be present), not-before and expiry with [`Expect::leeway`].

use core::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use sha2::Sha256;

use crate::clock::Clock;
use crate::error::{Category, RandomError, TrustError};
use crate::provider::{KeyError, KeyProvider, KeyRef};
use crate::secret::{Key256, SecretString, random_array};

/// The format prefix; a new format gets a new prefix.
pub const PREFIX: &str = "tst1";
/// Longest token accepted by the parser, in bytes.
pub const MAX_TOKEN_LEN: usize = 2048;
/// Longest tenant id or audience, in bytes.
pub const MAX_ID_LEN: usize = 128;
/// Longest scope, in bytes.
pub const MAX_SCOPE_LEN: usize = 64;
/// Most scopes in one token.
pub const MAX_SCOPES: usize = 16;
/// Longest lifetime a token may be issued for: these are session tokens, not API keys.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Clock skew tolerated by default on `nbf` and `exp`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Largest leeway [`Expect::leeway`] accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// HKDF `info` prefix for the MAC key; followed by the keyring name, a zero byte and the
/// version (u32 big-endian).
const MAC_LABEL: &[u8] = b"trust token v1 mac\0";
const TAG_LEN: usize = 32;
const ID_LEN: usize = 16;

/// ring's HMAC: the precomputed key schedule is reused across verifications, and it was the
/// faster of the two HMAC-SHA-256 implementations in the graph (docs/PERFORMANCE.md).
type MacKey = ring::hmac::Key;

/// What to put in a new token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRequest {
    /// The tenant the token acts for.
    pub tenant: String,
    /// What the bearer may do (`chat:write`, `orders:read`…); at least one.
    pub scopes: Vec<String>,
    /// Who the token is for (a widget, a service); checked by the verifier when set.
    pub audience: Option<String>,
    /// Lifetime from now, 1 s to [`MAX_TTL`].
    pub ttl: Duration,
}

impl TokenRequest {
    /// A token for `tenant` with `scopes`, valid for `ttl`.
    pub fn new<S: Into<String>>(
        tenant: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
        ttl: Duration,
    ) -> Self {
        Self {
            tenant: tenant.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            audience: None,
            ttl,
        }
    }

    /// Sets the audience.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }
}

/// What a verifier requires of a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    tenant: Option<String>,
    scope: Option<String>,
    audience: Option<String>,
    leeway: Duration,
}

impl Expect {
    /// The token must be for `tenant` and carry `scope`; no audience; [`DEFAULT_LEEWAY`].
    pub fn new(tenant: impl Into<String>, scope: impl Into<String>) -> Self {
        Self {
            tenant: Some(tenant.into()),
            scope: Some(scope.into()),
            audience: None,
            leeway: DEFAULT_LEEWAY,
        }
    }

    /// Checks MAC, key and time only, and returns the claims for the caller to inspect (the
    /// `trust token verify` command without `--tenant`/`--scope`). A request handler should
    /// use [`Expect::new`]: a token of another tenant passes this one.
    pub fn any_tenant_any_scope() -> Self {
        Self {
            tenant: None,
            scope: None,
            audience: None,
            leeway: DEFAULT_LEEWAY,
        }
    }

    /// The token must name this audience (and one without an audience is refused).
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Clock skew to tolerate, capped at [`MAX_LEEWAY`].
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(MAX_LEEWAY);
        self
    }
}

/// The verified content of a token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claims {
    /// The keyring version that MAC'd the token.
    pub key_ref: KeyRef,
    /// The tenant the token acts for.
    pub tenant: String,
    /// What the bearer may do.
    pub scopes: Vec<String>,
    /// Who the token is for, if restricted.
    pub audience: Option<String>,
    /// Issue time, Unix seconds.
    pub issued_at: i64,
    /// Not valid before, Unix seconds.
    pub not_before: i64,
    /// Not valid from, Unix seconds.
    pub expires_at: i64,
    /// A random identifier (hex), for revocation lists and logs.
    pub id: String,
}

impl Claims {
    /// True when the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Issues and verifies tokens with keys from a [`KeyProvider`].
///
/// Keeps a small cache of derived MAC keys; the provider is still asked on every verification,
/// so a version disabled in the keyring stops verifying at once.
pub struct Tokens<P> {
    keys: P,
    cache: Mutex<Vec<CachedKey>>,
}

struct CachedKey {
    key_ref: KeyRef,
    kek: Arc<Key256>,
    mac: Arc<MacKey>,
}

const CACHE_SLOTS: usize = 16;

impl<P> fmt::Debug for Tokens<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens").finish_non_exhaustive()
    }
}

impl<P: KeyProvider> Tokens<P> {
    /// Tokens MAC'd with keys from `keys`.
    pub fn new(keys: P) -> Self {
        Self {
            keys,
            cache: Mutex::new(Vec::new()),
        }
    }

    /// Issues a token under the Primary version of `keyring`.
    ///
    /// # Errors
    /// [`TokenError::BadRequest`] for an invalid tenant, scope, audience or lifetime;
    /// [`TokenError::Key`] when the keyring cannot seal; [`TokenError::Random`].
    pub fn issue(
        &self,
        keyring: &str,
        request: &TokenRequest,
        clock: &dyn Clock,
    ) -> Result<Token, TokenError> {
        let id = random_array::<ID_LEN>()?;
        self.issue_with_id(keyring, request, clock, id)
    }

    /// [`Self::issue`] with a fixed token id, for published test vectors only.
    #[doc(hidden)]
    pub fn issue_with_id(
        &self,
        keyring: &str,
        request: &TokenRequest,
        clock: &dyn Clock,
        id: [u8; ID_LEN],
    ) -> Result<Token, TokenError> {
        validate_request(request)?;
        let key = self.keys.encryption_key(keyring)?;
        let now = clock.now_unix();
        let ttl = i64::try_from(request.ttl.as_secs()).unwrap_or(i64::MAX);
        let body = Body {
            issued_at: now,
            not_before: now,
            expires_at: now.saturating_add(ttl),
            id,
            tenant: &request.tenant,
            audience: request.audience.as_deref().unwrap_or(""),
            scopes: request.scopes.iter().map(String::as_str).collect(),
        };
        let mut text = format!("{PREFIX}.{}.{}.", key.key_ref.keyring, key.key_ref.version);
        URL_SAFE_NO_PAD.encode_string(body.encode(), &mut text);
        let mac = self.mac_for(&key.key_ref, &key.kek);
        let tag = ring::hmac::sign(&mac, text.as_bytes());
        text.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut text);
        Ok(Token(SecretString::from(text)))
    }

    /// Verifies `token` and checks it against `expect` at the clock's time.
    ///
    /// # Errors
    /// [`TokenError::Malformed`] / [`TokenError::Invalid`] for anything not made by us with
    /// this key; [`TokenError::Key`] when the version is unusable; one of the claim errors
    /// ([`TokenError::Expired`], [`TokenError::WrongTenant`]…) for an authentic token that does
    /// not fit.
    pub fn verify(
        &self,
        token: &str,
        expect: &Expect,
        clock: &dyn Clock,
    ) -> Result<Claims, TokenError> {
        let parsed = Parsed::parse(token)?;
        let kek = self.keys.decryption_key(&parsed.key_ref)?;
        let mac = self.mac_for(&parsed.key_ref, &kek);
        // ring::hmac::verify compares in constant time.
        ring::hmac::verify(&mac, parsed.signed.as_bytes(), &parsed.tag)
            .map_err(|_| TokenError::Invalid)?;
        // Authenticated from here on: a body that does not decode is still a failure, but a
        // sign of a bug or a key compromise rather than noise.
        // Decoded on the stack: a token is at most 2048 bytes, so its body at most 1536.
        let mut buf = [0u8; MAX_TOKEN_LEN / 4 * 3];
        let n = URL_SAFE_NO_PAD
            .decode_slice(parsed.body_b64, &mut buf)
            .map_err(|_| TokenError::Invalid)?;
        let body = Body::decode(&buf[..n]).ok_or(TokenError::Invalid)?;
        // Checked on the borrowed body: a refused token allocates nothing more.
        check_claims(&body, expect, clock.now_unix())?;
        Ok(body.into_claims(parsed.key_ref))
    }

    /// The HMAC state keyed with the token MAC key of `key_ref`, from the cache when `kek` is
    /// the same key the cache was filled with.
    fn mac_for(&self, key_ref: &KeyRef, kek: &Arc<Key256>) -> Arc<MacKey> {
        if let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache
                .iter()
                .find(|c| Arc::ptr_eq(&c.kek, kek) && c.key_ref == *key_ref)
        {
            return Arc::clone(&hit.mac);
        }
        let mac = Arc::new(derive_mac(key_ref, kek));
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_SLOTS {
                cache.remove(0);
            }
            cache.push(CachedKey {
                key_ref: key_ref.clone(),
                kek: Arc::clone(kek),
                mac: Arc::clone(&mac),
            });
        }
        mac
    }
}

/// HKDF-SHA-256(salt = none, ikm = KEK, info = label ‖ keyring ‖ 0 ‖ version) → 32-byte key.
fn derive_mac(key_ref: &KeyRef, kek: &Key256) -> MacKey {
    let hk = Hkdf::<Sha256>::new(None, kek.expose());
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    let version = key_ref.version.to_be_bytes();
    // 32 bytes is far below HKDF-SHA-256's 8160-byte limit: expand cannot fail.
    let _ = hk.expand_multi_info(
        &[MAC_LABEL, key_ref.keyring.as_bytes(), b"\0", &version],
        &mut key[..],
    );
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key[..])
}

/// A bearer token. Its `Debug` is redacted; [`Token::expose`] gives the text to send.
pub struct Token(SecretString);

impl Token {
    /// The token text.
    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret as _;
        self.0.expose_secret()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

fn valid_id(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic())
}

fn validate_request(r: &TokenRequest) -> Result<(), TokenError> {
    if !valid_id(&r.tenant, MAX_ID_LEN) {
        return Err(TokenError::BadRequest(
            "the tenant id must be 1 to 128 printable ASCII characters",
        ));
    }
    if r.scopes.is_empty() || r.scopes.len() > MAX_SCOPES {
        return Err(TokenError::BadRequest("a token needs 1 to 16 scopes"));
    }
    if !r.scopes.iter().all(|s| valid_id(s, MAX_SCOPE_LEN)) {
        return Err(TokenError::BadRequest(
            "each scope must be 1 to 64 printable ASCII characters",
        ));
    }
    if let Some(a) = &r.audience
        && !valid_id(a, MAX_ID_LEN)
    {
        return Err(TokenError::BadRequest(
            "the audience must be 1 to 128 printable ASCII characters",
        ));
    }
    if r.ttl < Duration::from_secs(1) || r.ttl > MAX_TTL {
        return Err(TokenError::BadRequest(
            "the lifetime must be between 1 second and 24 hours",
        ));
    }
    Ok(())
}

fn check_claims(c: &Body<'_>, expect: &Expect, now: i64) -> Result<(), TokenError> {
    if let Some(tenant) = &expect.tenant
        && c.tenant != tenant
    {
        return Err(TokenError::WrongTenant);
    }
    if let Some(scope) = &expect.scope
        && !c.scopes.iter().any(|s| s == scope)
    {
        return Err(TokenError::MissingScope);
    }
    if c.audience != expect.audience.as_deref().unwrap_or("") {
        return Err(TokenError::WrongAudience);
    }
    let leeway = i64::try_from(expect.leeway.as_secs()).unwrap_or(0);
    if now.saturating_add(leeway) < c.not_before {
        return Err(TokenError::NotYetValid);
    }
    if now >= c.expires_at.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    Ok(())
}

/// A token split into its parts, before any key is touched.
struct Parsed<'a> {
    key_ref: KeyRef,
    /// Everything before the last `.`: what the tag covers.
    signed: &'a str,
    body_b64: &'a str,
    tag: [u8; TAG_LEN],
}

impl<'a> Parsed<'a> {
    fn parse(token: &'a str) -> Result<Self, TokenError> {
        let bad = || TokenError::Malformed;
        if token.len() > MAX_TOKEN_LEN {
            return Err(bad());
        }
        let (signed, tag_b64) = token.rsplit_once('.').ok_or_else(bad)?;
        let (head, body_b64) = signed.rsplit_once('.').ok_or_else(bad)?;
        let (head, version) = head.rsplit_once('.').ok_or_else(bad)?;
        let keyring = head
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or_else(bad)?;
        if !KeyRef::is_valid_name(keyring) {
            return Err(bad());
        }
        let version = parse_version(version).ok_or_else(bad)?;
        let mut tag = [0u8; TAG_LEN];
        if tag_b64.len() != 43 {
            return Err(bad());
        }
        match URL_SAFE_NO_PAD.decode_slice(tag_b64, &mut tag) {
            Ok(TAG_LEN) => {}
            _ => return Err(bad()),
        }
        // Only a cheap shape check here: the body is decoded after the tag verifies, so a
        // forged token costs one HMAC and no allocation beyond the key reference.
        let body_ok = !body_b64.is_empty()
            && body_b64
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !body_ok {
            return Err(bad());
        }
        Ok(Self {
            key_ref: KeyRef::new(keyring, version),
            signed,
            body_b64,
            tag,
        })
    }
}

fn parse_version(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok().filter(|v| *v >= 1)
}

/// The claims' binary layout (docs/format-token.md §2).
struct Body<'a> {
    issued_at: i64,
    not_before: i64,
    expires_at: i64,
    id: [u8; ID_LEN],
    tenant: &'a str,
    audience: &'a str,
    scopes: Vec<&'a str>,
}

impl<'a> Body<'a> {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.tenant.len() + self.audience.len());
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        out.extend_from_slice(&self.not_before.to_be_bytes());
        out.extend_from_slice(&self.expires_at.to_be_bytes());
        out.extend_from_slice(&self.id);
        for field in [self.tenant, self.audience] {
            // Lengths are validated (≤ 128) before encoding.
            out.push(u8::try_from(field.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(field.as_bytes());
        }
        out.push(u8::try_from(self.scopes.len()).unwrap_or(u8::MAX));
        for s in &self.scopes {
            out.push(u8::try_from(s.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(s.as_bytes());
        }
        out
    }

    fn decode(bytes: &'a [u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let issued_at = i64::from_be_bytes(r.array()?);
        let not_before = i64::from_be_bytes(r.array()?);
        let expires_at = i64::from_be_bytes(r.array()?);
        let id = r.array()?;
        let tenant = r.text(1, MAX_ID_LEN)?;
        let audience = r.text(0, MAX_ID_LEN)?;
        let n = usize::from(r.byte()?);
        if !(1..=MAX_SCOPES).contains(&n) {
            return None;
        }
        let mut scopes = Vec::with_capacity(n);
        for _ in 0..n {
            scopes.push(r.text(1, MAX_SCOPE_LEN)?);
        }
        if !r.0.is_empty() || not_before > expires_at {
            return None;
        }
        Some(Self {
            issued_at,
            not_before,
            expires_at,
            id,
            tenant,
            audience,
            scopes,
        })
    }

    fn into_claims(self, key_ref: KeyRef) -> Claims {
        Claims {
            key_ref,
            tenant: self.tenant.to_owned(),
            scopes: self.scopes.iter().map(|s| (*s).to_owned()).collect(),
            audience: (!self.audience.is_empty()).then(|| self.audience.to_owned()),
            issued_at: self.issued_at,
            not_before: self.not_before,
            expires_at: self.expires_at,
            id: hex::encode(self.id),
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    /// A length-prefixed field of printable ASCII, `min..=max` bytes.
    fn text(&mut self, min: usize, max: usize) -> Option<&'a str> {
        let len = usize::from(self.byte()?);
        if !(min..=max).contains(&len) {
            return None;
        }
        let bytes = self.take(len)?;
        if !bytes.iter().all(u8::is_ascii_graphic) {
            return None;
        }
        core::str::from_utf8(bytes).ok()
    }
}

/// Parses a token's structure without any key (for the fuzz target and for tooling that
/// wants to know which key version a token names). Says nothing about authenticity.
///
/// # Errors
/// [`TokenError::Malformed`].
pub fn peek_key_ref(token: &str) -> Result<KeyRef, TokenError> {
    Parsed::parse(token).map(|p| p.key_ref)
}

/// Decodes a claims body as [`Tokens::verify`] does after the tag verifies; for the fuzz target
/// only (that code path is otherwise unreachable without the key).
#[doc(hidden)]
pub(crate) fn decode_claims_for_fuzzing(bytes: &[u8]) -> bool {
    Body::decode(bytes).is_some_and(|b| b.encode() == bytes)
}

/// Why a token could not be issued or was refused.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not a well-formed `tst1` token (size, structure, encoding).
    Malformed,
    /// The tag does not verify: forged, altered, or made with another key.
    Invalid,
    /// Past its expiry (plus leeway).
    Expired,
    /// Before its not-before time (minus leeway).
    NotYetValid,
    /// Issued for another tenant.
    WrongTenant,
    /// Does not carry the required scope.
    MissingScope,
    /// Audience missing, unexpected or different.
    WrongAudience,
    /// The key version is not usable (unknown, disabled, destroyed…).
    Key(KeyError),
    /// The issue request is invalid (the reason names the field).
    BadRequest(&'static str),
    /// The system random number generator failed.
    Random(RandomError),
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("the token is malformed"),
            Self::Invalid => f.write_str("the token is invalid"),
            Self::Expired => f.write_str("the token has expired"),
            Self::NotYetValid => f.write_str("the token is not valid yet"),
            Self::WrongTenant => f.write_str("the token is for another tenant"),
            Self::MissingScope => f.write_str("the token does not carry the required scope"),
            Self::WrongAudience => f.write_str("the token is for another audience"),
            Self::Key(e) => e.fmt(f),
            Self::BadRequest(why) => f.write_str(why),
            Self::Random(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TokenError {}

impl From<KeyError> for TokenError {
    fn from(e: KeyError) -> Self {
        Self::Key(e)
    }
}

impl From<RandomError> for TokenError {
    fn from(e: RandomError) -> Self {
        Self::Random(e)
    }
}

impl TrustError for TokenError {
    fn category(&self) -> Category {
        match self {
            Self::Key(e) => e.category(),
            Self::BadRequest(_) => Category::Usage,
            Self::Random(_) => Category::Internal,
            _ => Category::Verification,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "TOKEN_MALFORMED",
            Self::Invalid => "TOKEN_INVALID",
            Self::Expired => "TOKEN_EXPIRED",
            Self::NotYetValid => "TOKEN_NOT_YET_VALID",
            Self::WrongTenant => "TOKEN_WRONG_TENANT",
            Self::MissingScope => "TOKEN_MISSING_SCOPE",
            Self::WrongAudience => "TOKEN_WRONG_AUDIENCE",
            Self::Key(e) => e.code(),
            Self::BadRequest(_) => "TOKEN_BAD_REQUEST",
            Self::Random(_) => "RANDOM_FAILED",
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Expired => Some("issue a new token"),
            Self::Key(e) => e.hint(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::provider::{EncryptionKey, Suite};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// A keyring stand-in: versions with keys, one primary, some disabled.
    struct TestRing {
        primary: Mutex<u32>,
        keys: BTreeMap<u32, Arc<Key256>>,
        disabled: Mutex<Vec<u32>>,
    }

    impl TestRing {
        fn new() -> Self {
            let keys = (1..=3)
                .map(|v: u8| (u32::from(v), Arc::new(Key256::from_bytes([0x40 + v; 32]))))
                .collect();
            Self {
                primary: Mutex::new(1),
                keys,
                disabled: Mutex::new(Vec::new()),
            }
        }
    }

    impl KeyProvider for TestRing {
        fn encryption_key(&self, keyring: &str) -> Result<EncryptionKey, KeyError> {
            if keyring != "tokens" {
                return Err(KeyError::UnknownKeyring {
                    keyring: keyring.into(),
                });
            }
            let v = *self.primary.lock().unwrap();
            Ok(EncryptionKey {
                key_ref: KeyRef::new(keyring, v),
                suite: Suite::default(),
                kek: self.keys[&v].clone(),
            })
        }
        fn decryption_key(&self, key_ref: &KeyRef) -> Result<Arc<Key256>, KeyError> {
            if self.disabled.lock().unwrap().contains(&key_ref.version) {
                return Err(KeyError::Disabled {
                    key_ref: key_ref.clone(),
                });
            }
            if key_ref.keyring != "tokens" {
                return Err(KeyError::UnknownKeyring {
                    keyring: key_ref.keyring.clone(),
                });
            }
            self.keys
                .get(&key_ref.version)
                .cloned()
                .ok_or_else(|| KeyError::UnknownVersion {
                    key_ref: key_ref.clone(),
                })
        }
    }

    const T0: i64 = 1_700_000_000;

    fn setup() -> (Tokens<TestRing>, FixedClock) {
        (Tokens::new(TestRing::new()), FixedClock::at_unix(T0))
    }

    fn req() -> TokenRequest {
        TokenRequest::new(
            "acme",
            ["chat:write", "chat:read"],
            Duration::from_secs(900),
        )
        .audience("widget")
    }

    fn expect() -> Expect {
        Expect::new("acme", "chat:write").audience("widget")
    }

    #[test]
    fn round_trip() {
        let (t, clock) = setup();
        let tok = t.issue("tokens", &req(), &clock).unwrap();
        assert!(tok.expose().starts_with("tst1.tokens.1."));
        let c = t.verify(tok.expose(), &expect(), &clock).unwrap();
        assert_eq!(c.tenant, "acme");
        assert_eq!(c.scopes, ["chat:write", "chat:read"]);
        assert_eq!(c.audience.as_deref(), Some("widget"));
        assert_eq!(
            (c.issued_at, c.not_before, c.expires_at),
            (T0, T0, T0 + 900)
        );
        assert_eq!(c.key_ref, KeyRef::new("tokens", 1));
        assert_eq!(c.id.len(), 32);
        assert_eq!(format!("{tok:?}"), "Token(<redacted>)");
        // Twice, so the second goes through the MAC-key cache.
        assert!(t.verify(tok.expose(), &expect(), &clock).is_ok());
    }

    #[test]
    fn expiry_and_not_before_with_leeway() {
        let (t, clock) = setup();
        let tok = t.issue("tokens", &req(), &clock).unwrap();
        // exp = T0+900; default leeway 30 s: valid up to T0+929, refused at T0+930.
        clock.set_unix(T0 + 929);
        assert!(t.verify(tok.expose(), &expect(), &clock).is_ok());
        clock.set_unix(T0 + 930);
        assert_eq!(
            t.verify(tok.expose(), &expect(), &clock),
            Err(TokenError::Expired)
        );
        let strict = expect().leeway(Duration::ZERO);
        clock.set_unix(T0 + 899);
        assert!(t.verify(tok.expose(), &strict, &clock).is_ok());
        clock.set_unix(T0 + 900);
        assert_eq!(
            t.verify(tok.expose(), &strict, &clock),
            Err(TokenError::Expired)
        );
        // Before nbf: a verifier whose clock is behind by more than the leeway refuses.
        clock.set_unix(T0 - 30);
        assert!(t.verify(tok.expose(), &expect(), &clock).is_ok());
        clock.set_unix(T0 - 31);
        assert_eq!(
            t.verify(tok.expose(), &expect(), &clock),
            Err(TokenError::NotYetValid)
        );
        // Leeway is capped.
        let huge = expect().leeway(Duration::from_secs(86_400));
        assert_eq!(huge.leeway, MAX_LEEWAY);
    }

    #[test]
    fn other_tenant_scope_audience_refused() {
        let (t, clock) = setup();
        let tok = t.issue("tokens", &req(), &clock).unwrap();
        let tok = tok.expose();
        assert_eq!(
            t.verify(
                tok,
                &Expect::new("globex", "chat:write").audience("widget"),
                &clock
            ),
            Err(TokenError::WrongTenant)
        );
        assert_eq!(
            t.verify(
                tok,
                &Expect::new("acme", "orders:read").audience("widget"),
                &clock
            ),
            Err(TokenError::MissingScope)
        );
        assert_eq!(
            t.verify(
                tok,
                &Expect::new("acme", "chat:write").audience("admin"),
                &clock
            ),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            t.verify(tok, &Expect::new("acme", "chat:write"), &clock),
            Err(TokenError::WrongAudience)
        );
        let no_aud = t
            .issue(
                "tokens",
                &TokenRequest::new("acme", ["chat:write"], Duration::from_secs(60)),
                &clock,
            )
            .unwrap();
        assert_eq!(
            t.verify(no_aud.expose(), &expect(), &clock),
            Err(TokenError::WrongAudience)
        );
        assert!(
            t.verify(no_aud.expose(), &Expect::new("acme", "chat:write"), &clock)
                .is_ok()
        );
        assert!(
            t.verify(
                tok,
                &Expect::any_tenant_any_scope().audience("widget"),
                &clock
            )
            .is_ok()
        );
    }

    #[test]
    fn rotation_keeps_old_tokens_until_disabled() {
        let (t, clock) = setup();
        let old = t.issue("tokens", &req(), &clock).unwrap();
        *t.keys.primary.lock().unwrap() = 2;
        let new = t.issue("tokens", &req(), &clock).unwrap();
        assert!(new.expose().starts_with("tst1.tokens.2."));
        assert!(t.verify(old.expose(), &expect(), &clock).is_ok());
        assert!(t.verify(new.expose(), &expect(), &clock).is_ok());
        t.keys.disabled.lock().unwrap().push(1);
        let err = t.verify(old.expose(), &expect(), &clock).unwrap_err();
        assert_eq!(err.code(), "KEY_DISABLED");
        assert_eq!(err.category().exit_code(), 4);
        assert!(t.verify(new.expose(), &expect(), &clock).is_ok());
    }

    #[test]
    fn version_swap_is_invalid() {
        let (t, clock) = setup();
        let tok = t.issue("tokens", &req(), &clock).unwrap();
        let swapped = tok.expose().replacen("tst1.tokens.1.", "tst1.tokens.2.", 1);
        assert_eq!(
            t.verify(&swapped, &expect(), &clock),
            Err(TokenError::Invalid)
        );
        let unknown = tok.expose().replacen("tst1.tokens.1.", "tst1.tokens.9.", 1);
        assert_eq!(
            t.verify(&unknown, &expect(), &clock).unwrap_err().code(),
            "UNKNOWN_KEY_VERSION"
        );
    }

    #[test]
    fn malformed_tokens() {
        let (t, clock) = setup();
        let good = t.issue("tokens", &req(), &clock).unwrap();
        let good = good.expose();
        let (signed, tag) = good.rsplit_once('.').unwrap();
        let cases = [
            String::new(),
            "tst1".into(),
            good.replacen("tst1.", "tst2.", 1),
            good.replacen("tokens.1.", "tokens.01.", 1),
            good.replacen("tokens.1.", "tokens.0.", 1),
            good.replacen("tokens.1.", "tokens.x.", 1),
            good.replacen("tokens.1.", "Tokens.1.", 1),
            format!("{good}="),
            format!("{signed}.{}", &tag[..42]),
            format!("{signed}.{tag}A"),
            format!("{signed}.{}B", &tag[..42]), // non-canonical last char if bits set
            good.replacen(".1.", ".1..", 1),
            "x".repeat(MAX_TOKEN_LEN + 1),
        ];
        for c in &cases {
            let e = t.verify(c, &expect(), &clock).unwrap_err();
            assert!(
                matches!(e, TokenError::Malformed | TokenError::Invalid),
                "{c}: {e:?}"
            );
        }
        assert_eq!(
            t.verify(
                "tst1.tokens.1.AAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                &expect(),
                &clock
            ),
            Err(TokenError::Invalid),
            "well-formed but forged: the tag fails before the body is decoded"
        );
        assert_eq!(
            t.verify(
                "tst1.tokens.1.AA=A.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                &expect(),
                &clock
            ),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn bad_requests() {
        let (t, clock) = setup();
        let bad = [
            TokenRequest::new("", ["s"], Duration::from_secs(60)),
            TokenRequest::new("a b", ["s"], Duration::from_secs(60)),
            TokenRequest::new("acme", Vec::<String>::new(), Duration::from_secs(60)),
            TokenRequest::new("acme", ["s"; 17], Duration::from_secs(60)),
            TokenRequest::new("acme", ["x".repeat(65)], Duration::from_secs(60)),
            TokenRequest::new("acme", ["s"], Duration::ZERO),
            TokenRequest::new("acme", ["s"], MAX_TTL + Duration::from_secs(1)),
            TokenRequest::new("acme", ["s"], Duration::from_secs(60)).audience(""),
        ];
        for r in &bad {
            let e = t.issue("tokens", r, &clock).unwrap_err();
            assert!(matches!(e, TokenError::BadRequest(_)), "{r:?}");
            assert_eq!(e.category().exit_code(), 2);
        }
        assert_eq!(
            t.issue("nope", &req(), &clock).unwrap_err().code(),
            "UNKNOWN_KEYRING"
        );
    }

    /// The vector published in docs/format-token.md §4; the tag was checked independently with
    /// Python's `hmac`/`hashlib` (HKDF written out by hand, script in the doc).
    #[test]
    fn published_vector() {
        let (t, clock) = setup();
        let id: [u8; 16] = core::array::from_fn(|i| u8::try_from(i).unwrap());
        let tok = t
            .issue_with_id(
                "tokens",
                &TokenRequest::new("acme", ["chat:write"], Duration::from_secs(900))
                    .audience("widget"),
                &clock,
                id,
            )
            .unwrap();
        assert_eq!(tok.expose(), VECTOR);
        let c = t
            .verify(
                VECTOR,
                &Expect::new("acme", "chat:write").audience("widget"),
                &clock,
            )
            .unwrap();
        assert_eq!(c.id, "000102030405060708090a0b0c0d0e0f");
    }

    const VECTOR: &str = "tst1.tokens.1.AAAAAGVT8QAAAAAAZVPxAAAAAABlU_SEAAECAwQFBgcICQoLDA0ODwRhY21lBndpZGdldAEKY2hhdDp3cml0ZQ.vZVhuMLdEqTcY2qtYeQ-Hu4fPQyvuUxlDzZG5K3Y5NI";

    proptest! {
        /// Flipping any bit of a token makes it fail (never verify as something else).
        #[test]
        fn any_bit_flip_fails(pos in 0usize..200, bit in 0u8..8) {
            let (t, clock) = setup();
            let tok = t.issue("tokens", &req(), &clock).unwrap();
            let mut bytes = tok.expose().as_bytes().to_vec();
            let pos = pos % bytes.len();
            bytes[pos] ^= 1 << bit;
            if let Ok(s) = String::from_utf8(bytes) {
                prop_assert!(t.verify(&s, &expect(), &clock).is_err());
            }
        }

        #[test]
        fn parser_never_panics(s in "\\PC{0,300}") {
            let _ = peek_key_ref(&s);
        }
    }
}
