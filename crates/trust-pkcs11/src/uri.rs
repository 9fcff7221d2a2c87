//! RFC 7512 PKCS#11 URIs: which module, which token, which object.
//!
//! ```text
//! pkcs11:token=trust-prod;object=trust-root?module-path=/usr/lib/softhsm/libsofthsm2.so
//! └─────┘└──────── path: ';'-separated ───────┘└──────── query: '&'-separated ────────┘
//! ```
//!
//! The parser accepts the attributes this crate acts on and refuses everything else, so a typo
//! (`tokn=`) is an error instead of a URI that silently matches the first token:
//!
//! | attribute | part | meaning |
//! |---|---|---|
//! | `token` | path | token label (at most 32 bytes, as `CK_TOKEN_INFO.label`) |
//! | `manufacturer`, `model`, `serial` | path | further token filters |
//! | `slot-id` | path | the slot number (decimal) |
//! | `object` | path | object label (`CKA_LABEL`) |
//! | `id` | path | object id (`CKA_ID`, usually percent-encoded bytes) |
//! | `type` | path | `secret-key` (a root key) or `private` (a signing key) |
//! | `module-path` | query | absolute path of the PKCS#11 module to load (required) |
//!
//! `pin-value` is refused outright: a PIN in a URI ends up in shell history, process listings
//! and the home record. The PIN comes from `TRUST_PKCS11_PIN` or a PIN file instead.
//! `pin-source` and `module-name` are refused too (we never guess a file to read a PIN from, or
//! a library to load from a bare name).
//!
//! Bounds: the URI is at most [`MAX_URI_LEN`] bytes, every decoded value at most
//! [`MAX_VALUE_LEN`] bytes, no attribute may appear twice, values are percent-decoded exactly
//! once (`%` must be followed by two hex digits), and no control characters or non-ASCII bytes
//! are accepted raw.

use core::fmt;
use std::path::PathBuf;

/// Longest URI accepted, in bytes.
pub const MAX_URI_LEN: usize = 2048;
/// Longest decoded attribute value accepted, in bytes.
pub const MAX_VALUE_LEN: usize = 512;
/// Longest token label (`CK_TOKEN_INFO.label` is 32 bytes, blank-padded).
pub const MAX_TOKEN_LABEL: usize = 32;

/// The object class a URI names (`type=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectType {
    /// `type=secret-key`: an AES root key.
    SecretKey,
    /// `type=private`: an Ed25519 signing key.
    Private,
}

/// A parsed PKCS#11 URI. Holds no secret (PINs are never part of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `module-path`: the module to load.
    pub module_path: PathBuf,
    /// `token`: the token label to match.
    pub token: Option<String>,
    /// `manufacturer`: the token manufacturer to match.
    pub manufacturer: Option<String>,
    /// `model`: the token model to match.
    pub model: Option<String>,
    /// `serial`: the token serial number to match.
    pub serial: Option<String>,
    /// `slot-id`: the slot to use.
    pub slot_id: Option<u64>,
    /// `object`: the object label.
    pub object: Option<String>,
    /// `id`: the object id bytes.
    pub id: Option<Vec<u8>>,
    /// `type`: the object class.
    pub object_type: Option<ObjectType>,
}

/// Why a PKCS#11 URI was refused. Never echoes attribute values (they may be mistyped secrets).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UriError {
    /// Longer than [`MAX_URI_LEN`].
    TooLong,
    /// Does not start with `pkcs11:`.
    Scheme,
    /// An attribute without `=`, or with an empty name.
    Malformed,
    /// A `%` not followed by two hex digits, or a character that must be percent-encoded.
    BadEncoding,
    /// A decoded value longer than [`MAX_VALUE_LEN`] (or a token label over 32 bytes).
    ValueTooLong(&'static str),
    /// The same attribute twice.
    Duplicate(String),
    /// An attribute this crate does not know or support.
    Unknown(String),
    /// `pin-value`: PINs are never taken from a URI.
    PinInUri,
    /// A value that is not what the attribute needs (`slot-id` not a number, unknown `type`,
    /// a text attribute that is not UTF-8, a relative `module-path`).
    BadValue(&'static str),
    /// `module-path` is missing.
    NoModule,
    /// Neither `token` nor `slot-id`/`serial`: the URI must say which token.
    NoToken,
    /// Neither `object` nor `id`: the URI must say which key.
    NoObject,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong => write!(f, "the PKCS#11 URI is longer than {MAX_URI_LEN} bytes"),
            Self::Scheme => f.write_str("not a PKCS#11 URI (it must start with `pkcs11:`)"),
            Self::Malformed => f.write_str("the PKCS#11 URI has an attribute without `name=`"),
            Self::BadEncoding => f.write_str(
                "the PKCS#11 URI has a bad percent-encoding or a character that must be encoded",
            ),
            Self::ValueTooLong(a) => write!(f, "the PKCS#11 URI attribute `{a}` is too long"),
            Self::Duplicate(a) => write!(f, "the PKCS#11 URI names `{a}` twice"),
            Self::Unknown(a) => write!(f, "the PKCS#11 URI attribute `{a}` is not supported"),
            Self::PinInUri => f.write_str(
                "the PKCS#11 URI carries a PIN (pin-value); PINs are never taken from a URI",
            ),
            Self::BadValue(a) => write!(f, "the PKCS#11 URI attribute `{a}` has a bad value"),
            Self::NoModule => f.write_str("the PKCS#11 URI has no `module-path`"),
            Self::NoToken => f.write_str("the PKCS#11 URI does not say which token (`token=`)"),
            Self::NoObject => f.write_str("the PKCS#11 URI does not say which key (`object=`)"),
        }
    }
}

impl std::error::Error for UriError {}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes one attribute value (RFC 3986 `pchar`s, minus the separators).
fn decode(raw: &str, name: &'static str) -> Result<Vec<u8>, UriError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_val);
                let lo = bytes.get(i + 2).copied().and_then(hex_val);
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(UriError::BadEncoding),
                }
                i += 3;
            }
            // Unreserved and the sub-delims RFC 7512 allows unencoded in values.
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b':'
            | b'['
            | b']'
            | b'@'
            | b'!'
            | b'$'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b'/'
            | b'|' => {
                out.push(b);
                i += 1;
            }
            _ => return Err(UriError::BadEncoding),
        }
        if out.len() > MAX_VALUE_LEN {
            return Err(UriError::ValueTooLong(name));
        }
    }
    Ok(out)
}

fn text(raw: Vec<u8>, name: &'static str) -> Result<String, UriError> {
    let s = String::from_utf8(raw).map_err(|_| UriError::BadValue(name))?;
    if s.chars().any(char::is_control) {
        return Err(UriError::BadValue(name));
    }
    Ok(s)
}

fn set<T>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), UriError> {
    if slot.is_some() {
        return Err(UriError::Duplicate(name.to_owned()));
    }
    *slot = Some(value);
    Ok(())
}

/// Names we refuse, mapped to the static names used in errors (so errors never echo input).
const PATH_ATTRS: &[&str] = &[
    "token",
    "manufacturer",
    "model",
    "serial",
    "slot-id",
    "object",
    "id",
    "type",
];

fn known(name: &str, list: &[&'static str]) -> Option<&'static str> {
    list.iter().copied().find(|n| *n == name)
}

/// A short, safe rendering of an unknown attribute name for error messages.
fn shown(name: &str) -> String {
    let clean: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(32)
        .collect();
    if clean.is_empty() { "?".into() } else { clean }
}

impl Pkcs11Uri {
    /// Parses a PKCS#11 URI (RFC 7512) naming a module, a token and an object.
    ///
    /// # Errors
    /// [`UriError`] for anything outside the subset described in the module docs.
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        if uri.len() > MAX_URI_LEN {
            return Err(UriError::TooLong);
        }
        // The scheme is case-insensitive (RFC 3986 §3.1); `get` also refuses a split inside a
        // multi-byte character.
        let rest = uri
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("pkcs11:"))
            .and_then(|_| uri.get(7..))
            .ok_or(UriError::Scheme)?;
        if rest.contains('#') {
            return Err(UriError::BadEncoding);
        }
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut out = Self {
            module_path: PathBuf::new(),
            token: None,
            manufacturer: None,
            model: None,
            serial: None,
            slot_id: None,
            object: None,
            id: None,
            object_type: None,
        };
        if !path.is_empty() {
            for attr in path.split(';') {
                let (name, value) = attr.split_once('=').ok_or(UriError::Malformed)?;
                if name.is_empty() {
                    return Err(UriError::Malformed);
                }
                if name == "pin-value" {
                    return Err(UriError::PinInUri);
                }
                let name = known(name, PATH_ATTRS).ok_or_else(|| UriError::Unknown(shown(name)))?;
                let raw = decode(value, name)?;
                match name {
                    "token" => {
                        if raw.len() > MAX_TOKEN_LABEL {
                            return Err(UriError::ValueTooLong("token"));
                        }
                        set(&mut out.token, text(raw, name)?, name)?;
                    }
                    "manufacturer" => set(&mut out.manufacturer, text(raw, name)?, name)?,
                    "model" => set(&mut out.model, text(raw, name)?, name)?,
                    "serial" => set(&mut out.serial, text(raw, name)?, name)?,
                    "slot-id" => {
                        let s = text(raw, name)?;
                        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
                            return Err(UriError::BadValue("slot-id"));
                        }
                        let n = s.parse().map_err(|_| UriError::BadValue("slot-id"))?;
                        set(&mut out.slot_id, n, name)?;
                    }
                    "object" => set(&mut out.object, text(raw, name)?, name)?,
                    "id" => set(&mut out.id, raw, name)?,
                    "type" => {
                        let t = match raw.as_slice() {
                            b"secret-key" => ObjectType::SecretKey,
                            b"private" => ObjectType::Private,
                            _ => return Err(UriError::BadValue("type")),
                        };
                        set(&mut out.object_type, t, name)?;
                    }
                    _ => return Err(UriError::Unknown(shown(name))),
                }
            }
        }
        let mut module = None;
        if let Some(query) = query {
            for attr in query.split('&') {
                let (name, value) = attr.split_once('=').ok_or(UriError::Malformed)?;
                match name {
                    "" => return Err(UriError::Malformed),
                    "pin-value" => return Err(UriError::PinInUri),
                    "module-path" => {
                        let raw = decode(value, "module-path")?;
                        let s = text(raw, "module-path")?;
                        let p = PathBuf::from(s);
                        if !p.is_absolute() {
                            return Err(UriError::BadValue("module-path"));
                        }
                        set(&mut module, p, "module-path")?;
                    }
                    other => return Err(UriError::Unknown(shown(other))),
                }
            }
        }
        out.module_path = module.ok_or(UriError::NoModule)?;
        if out.token.is_none() && out.serial.is_none() && out.slot_id.is_none() {
            return Err(UriError::NoToken);
        }
        if out.object.is_none() && out.id.is_none() {
            return Err(UriError::NoObject);
        }
        Ok(out)
    }
}

impl fmt::Display for Pkcs11Uri {
    /// The canonical form: the attributes in a fixed order, everything but unreserved
    /// characters (and `/` in the module path) percent-encoded. `parse(display(u)) == u`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn enc(f: &mut fmt::Formatter<'_>, bytes: &[u8], keep_slash: bool) -> fmt::Result {
            for &b in bytes {
                if b.is_ascii_alphanumeric()
                    || matches!(b, b'-' | b'.' | b'_' | b'~')
                    || (keep_slash && b == b'/')
                {
                    write!(f, "{}", b as char)?;
                } else {
                    write!(f, "%{b:02X}")?;
                }
            }
            Ok(())
        }
        f.write_str("pkcs11:")?;
        let mut first = true;
        let mut attr = |f: &mut fmt::Formatter<'_>, name: &str, v: &[u8]| -> fmt::Result {
            if !first {
                f.write_str(";")?;
            }
            first = false;
            write!(f, "{name}=")?;
            enc(f, v, false)
        };
        if let Some(v) = &self.token {
            attr(f, "token", v.as_bytes())?;
        }
        if let Some(v) = &self.manufacturer {
            attr(f, "manufacturer", v.as_bytes())?;
        }
        if let Some(v) = &self.model {
            attr(f, "model", v.as_bytes())?;
        }
        if let Some(v) = &self.serial {
            attr(f, "serial", v.as_bytes())?;
        }
        if let Some(v) = self.slot_id {
            attr(f, "slot-id", v.to_string().as_bytes())?;
        }
        if let Some(v) = &self.object {
            attr(f, "object", v.as_bytes())?;
        }
        if let Some(v) = &self.id {
            attr(f, "id", v)?;
        }
        if let Some(t) = self.object_type {
            let t: &[u8] = match t {
                ObjectType::SecretKey => b"secret-key",
                ObjectType::Private => b"private",
            };
            attr(f, "type", t)?;
        }
        f.write_str("?module-path=")?;
        enc(f, self.module_path.to_string_lossy().as_bytes(), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = "module-path=/usr/lib/softhsm/libsofthsm2.so";

    #[test]
    fn parses_the_cli_example() {
        let u =
            Pkcs11Uri::parse(&format!("pkcs11:token=trust-ci;object=trust-root?{MODULE}")).unwrap();
        assert_eq!(u.token.as_deref(), Some("trust-ci"));
        assert_eq!(u.object.as_deref(), Some("trust-root"));
        assert_eq!(
            u.module_path,
            PathBuf::from("/usr/lib/softhsm/libsofthsm2.so")
        );
        assert_eq!(u.id, None);
    }

    /// The examples of RFC 7512 §3 that fit this subset (module-path added, as we require it).
    #[test]
    fn rfc7512_examples() {
        let u = Pkcs11Uri::parse(&format!(
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=private;serial=?{MODULE}"
        ))
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("The Software PKCS#11 Softtoken"));
        assert_eq!(u.manufacturer.as_deref(), Some("Snake Oil, Inc."));
        assert_eq!(u.object_type, Some(ObjectType::Private));
        assert_eq!(u.serial.as_deref(), Some(""));
        let u = Pkcs11Uri::parse(&format!(
            "pkcs11:token=Software%20PKCS%2311%20softtoken;id=%69%95%3E%5C%F4%BD%EC%91;object=my-key?{MODULE}"
        ))
        .unwrap();
        assert_eq!(
            u.id.as_deref(),
            Some(&[0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91][..])
        );
    }

    #[test]
    fn display_round_trips() {
        let u = Pkcs11Uri::parse(&format!(
            "pkcs11:token=a%20b;slot-id=3;object=x%3By;id=%00%FF;type=secret-key?{MODULE}"
        ))
        .unwrap();
        assert_eq!(Pkcs11Uri::parse(&u.to_string()).unwrap(), u);
        assert_eq!(u.object.as_deref(), Some("x;y"));
    }

    #[test]
    fn every_error_has_a_test() {
        let m = MODULE;
        let cases: Vec<(String, UriError)> = vec![
            (
                format!("pkcs11:token=t;object={}?{m}", "a".repeat(MAX_URI_LEN)),
                UriError::TooLong,
            ),
            (format!("pkcs12:token=t;object=o?{m}"), UriError::Scheme),
            (format!("pkcs11:token;object=o?{m}"), UriError::Malformed),
            (format!("pkcs11:=t;object=o?{m}"), UriError::Malformed),
            (format!("pkcs11:token=t;object=o?{m}&"), UriError::Malformed),
            (
                format!("pkcs11:token=t%2;object=o?{m}"),
                UriError::BadEncoding,
            ),
            (
                format!("pkcs11:token=t%zz;object=o?{m}"),
                UriError::BadEncoding,
            ),
            (
                format!("pkcs11:token=t t;object=o?{m}"),
                UriError::BadEncoding,
            ),
            (
                format!("pkcs11:token=t;object=o?{m}#frag"),
                UriError::BadEncoding,
            ),
            (
                format!("pkcs11:token=t;object=\u{e9}?{m}"),
                UriError::BadEncoding,
            ),
            (
                format!("pkcs11:token={};object=o?{m}", "a".repeat(33)),
                UriError::ValueTooLong("token"),
            ),
            (
                format!(
                    "pkcs11:token=t;object={}?{m}",
                    "a".repeat(MAX_VALUE_LEN + 1)
                ),
                UriError::ValueTooLong("object"),
            ),
            (
                format!("pkcs11:token=t;token=u;object=o?{m}"),
                UriError::Duplicate("token".into()),
            ),
            (
                format!("pkcs11:token=t;object=o?{m}&{m}"),
                UriError::Duplicate("module-path".into()),
            ),
            (
                format!("pkcs11:tokn=t;object=o?{m}"),
                UriError::Unknown("tokn".into()),
            ),
            (
                format!("pkcs11:token=t;object=o?{m}&module-name=softhsm2"),
                UriError::Unknown("module-name".into()),
            ),
            (
                format!("pkcs11:token=t;object=o?{m}&pin-source=/tmp/pin"),
                UriError::Unknown("pin-source".into()),
            ),
            (
                format!("pkcs11:token=t;object=o;pin-value=1234?{m}"),
                UriError::PinInUri,
            ),
            (
                format!("pkcs11:token=t;object=o?{m}&pin-value=1234"),
                UriError::PinInUri,
            ),
            (
                format!("pkcs11:token=t;slot-id=x;object=o?{m}"),
                UriError::BadValue("slot-id"),
            ),
            (
                format!("pkcs11:token=t;slot-id=99999999999999999999;object=o?{m}"),
                UriError::BadValue("slot-id"),
            ),
            (
                format!("pkcs11:token=t;type=cert;object=o?{m}"),
                UriError::BadValue("type"),
            ),
            (
                format!("pkcs11:token=%FF;object=o?{m}"),
                UriError::BadValue("token"),
            ),
            (
                format!("pkcs11:token=a%0Ab;object=o?{m}"),
                UriError::BadValue("token"),
            ),
            (
                "pkcs11:token=t;object=o?module-path=libsofthsm2.so".into(),
                UriError::BadValue("module-path"),
            ),
            ("pkcs11:token=t;object=o".into(), UriError::NoModule),
            (format!("pkcs11:object=o?{m}"), UriError::NoToken),
            (format!("pkcs11:token=t?{m}"), UriError::NoObject),
        ];
        for (uri, want) in cases {
            assert_eq!(Pkcs11Uri::parse(&uri).unwrap_err(), want, "{uri}");
        }
    }

    #[test]
    fn errors_never_echo_values() {
        let err = Pkcs11Uri::parse(&format!(
            "pkcs11:token=t;object=o?{MODULE}&pin-value=s3cret"
        ))
        .unwrap_err();
        assert!(!err.to_string().contains("s3cret"));
        let err = Pkcs11Uri::parse(&format!("pkcs11:s3cret=1;object=o?{MODULE}")).unwrap_err();
        assert_eq!(err, UriError::Unknown("s3cret".into()));
        // Unknown names are shown, but cleaned and cut short.
        let long = "x".repeat(100);
        let err = Pkcs11Uri::parse(&format!("pkcs11:{long}=1?{MODULE}")).unwrap_err();
        assert_eq!(err, UriError::Unknown("x".repeat(32)));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = Pkcs11Uri::parse(&s);
            let _ = Pkcs11Uri::parse(&format!("pkcs11:{s}"));
        }

        #[test]
        fn canonical_form_round_trips(
            token in proptest::collection::vec(proptest::num::u8::ANY, 0..32),
            object in "[ -~]{1,40}",
            id in proptest::collection::vec(proptest::num::u8::ANY, 0..16),
        ) {
            let token = String::from_utf8_lossy(&token).chars().filter(|c| !c.is_control()).collect::<String>();
            if token.len() <= MAX_TOKEN_LABEL {
                let u = Pkcs11Uri {
                    module_path: PathBuf::from("/opt/hsm/lib pkcs11.so"),
                    token: Some(token),
                    manufacturer: None,
                    model: None,
                    serial: None,
                    slot_id: Some(7),
                    object: Some(object),
                    id: Some(id),
                    object_type: Some(ObjectType::SecretKey),
                };
                proptest::prop_assert_eq!(Pkcs11Uri::parse(&u.to_string()).unwrap(), u);
            }
        }
    }
}
