//! RFC 4226 HOTP and RFC 6238 TOTP, base32 secrets and `otpauth://` URIs.
//!
//! HOTP is a dozen lines over HMAC: MAC the big-endian counter, take 31 bits at the offset named
//! by the last nibble ("dynamic truncation"), reduce modulo 10^digits. TOTP is HOTP with the
//! counter `floor(unix_seconds / period)`, called the *time step* here.

use hmac::{Hmac, Mac};
use zeroize::{Zeroize, Zeroizing};

use super::MfaError;
use crate::secret::SecretString;

/// Largest base32 secret text accepted (1 KiB of text, 640 bytes of secret).
pub const MAX_SECRET_TEXT: usize = 1024;
/// Shortest secret accepted: RFC 4226 §4 requires at least 128 bits.
pub const MIN_SECRET_LEN: usize = 16;
/// Longest secret accepted (an HMAC-SHA-512 block).
pub const MAX_SECRET_LEN: usize = 128;

/// The HMAC hash of a TOTP factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA-1: RFC 6238's default, the one every authenticator app supports.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in `otpauth://` URIs and stored records (`SHA1`, `SHA256`, `SHA512`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// Parses a name, case-insensitively (`sha1`, `SHA256`…).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "SHA1" => Some(Self::Sha1),
            "SHA256" => Some(Self::Sha256),
            "SHA512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The secret length generated for this algorithm: its output size, as in RFC 6238's
    /// reference seeds (20, 32 and 64 bytes).
    pub const fn secret_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// The parameters of a TOTP factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TotpParams {
    /// The HMAC hash.
    pub algorithm: Algorithm,
    /// Code length: 6 or 8.
    pub digits: u8,
    /// Seconds per time step (30 in every authenticator app; 15 to 300 accepted).
    pub period: u32,
}

impl Default for TotpParams {
    /// SHA-1, 6 digits, 30 seconds: what every authenticator app understands.
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        }
    }
}

impl TotpParams {
    /// `digits`-digit codes over `algorithm` every `period` seconds (checked at enrollment).
    pub const fn new(algorithm: Algorithm, digits: u8, period: u32) -> Self {
        Self {
            algorithm,
            digits,
            period,
        }
    }

    /// Checks the digits and the period.
    ///
    /// # Errors
    /// [`MfaError::InvalidParams`].
    pub fn validate(&self) -> Result<(), MfaError> {
        if !matches!(self.digits, 6 | 8) {
            return Err(MfaError::InvalidParams("digits must be 6 or 8"));
        }
        if !(15..=300).contains(&self.period) {
            return Err(MfaError::InvalidParams(
                "the period must be 15 to 300 seconds",
            ));
        }
        Ok(())
    }

    /// The time step containing `unix_seconds`, or `None` before 1970.
    pub fn step_at(&self, unix_seconds: i64) -> Option<u64> {
        u64::try_from(unix_seconds)
            .ok()
            .map(|t| t / u64::from(self.period.max(1)))
    }
}

fn mac_of<M: Mac + hmac::digest::KeyInit>(secret: &[u8], counter: u64) -> Zeroizing<Vec<u8>> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(&counter.to_be_bytes());
    Zeroizing::new(mac.finalize().into_bytes().to_vec())
}

/// RFC 4226 HOTP: the code for `counter`, as a number below 10^`digits`.
pub fn hotp(secret: &[u8], counter: u64, algorithm: Algorithm, digits: u8) -> u32 {
    let mac = match algorithm {
        Algorithm::Sha1 => mac_of::<Hmac<sha1::Sha1>>(secret, counter),
        Algorithm::Sha256 => mac_of::<Hmac<sha2::Sha256>>(secret, counter),
        Algorithm::Sha512 => mac_of::<Hmac<sha2::Sha512>>(secret, counter),
    };
    // Dynamic truncation (RFC 4226 §5.3): the low nibble of the last byte picks 4 bytes.
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let bin = (u32::from(mac[offset]) & 0x7f) << 24
        | u32::from(mac[offset + 1]) << 16
        | u32::from(mac[offset + 2]) << 8
        | u32::from(mac[offset + 3]);
    bin % 10u32.pow(u32::from(digits))
}

/// The TOTP code for time step `step`, zero-padded to `params.digits`.
pub fn code_at_step(secret: &[u8], params: &TotpParams, step: u64) -> Zeroizing<String> {
    let n = hotp(secret, step, params.algorithm, params.digits);
    Zeroizing::new(format!("{n:0width$}", width = usize::from(params.digits)))
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps expect in `otpauth://` URIs.
pub fn base32_encode(bytes: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(bytes.len().div_ceil(5) * 8));
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        buffer = (buffer << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    buffer.zeroize();
    out
}

/// Decodes a base32 secret as typed or pasted: case-insensitive, spaces and trailing `=`
/// padding ignored. Strict otherwise: any other character, an impossible length or non-zero
/// leftover bits are refused, and the result must be 16 to 128 bytes.
///
/// # Errors
/// [`MfaError::InvalidSecret`].
pub fn base32_decode(text: &str) -> Result<Zeroizing<Vec<u8>>, MfaError> {
    if text.len() > MAX_SECRET_TEXT {
        return Err(MfaError::InvalidSecret("the secret text is too long"));
    }
    let trimmed = text.trim_end_matches(['=', ' ', '\n', '\r', '\t']);
    let mut out = Zeroizing::new(Vec::with_capacity(trimmed.len() * 5 / 8));
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    let mut chars = 0usize;
    for c in trimmed.bytes() {
        if c == b' ' {
            continue;
        }
        let value = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => {
                return Err(MfaError::InvalidSecret(
                    "the secret is not base32 (A-Z, 2-7)",
                ));
            }
        };
        chars += 1;
        buffer = ((buffer << 5) | u64::from(value)) & 0xffff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    let leftover = buffer & ((1u64 << bits) - 1);
    buffer.zeroize();
    if !matches!(chars % 8, 0 | 2 | 4 | 5 | 7) || leftover != 0 {
        return Err(MfaError::InvalidSecret("the base32 secret is truncated"));
    }
    if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&out.len()) {
        return Err(MfaError::InvalidSecret(
            "the secret must be 16 to 128 bytes (26 to 205 base32 characters)",
        ));
    }
    Ok(out)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// The `otpauth://totp/ISSUER:ACCOUNT?secret=…` URI authenticator apps import (the Google
/// Authenticator key-URI format). It contains the secret, hence the secret type.
pub fn otpauth_uri(
    issuer: &str,
    account: &str,
    secret: &[u8],
    params: &TotpParams,
) -> SecretString {
    let mut uri = String::from("otpauth://totp/");
    percent_encode(issuer, &mut uri);
    uri.push(':');
    percent_encode(account, &mut uri);
    uri.push_str("?secret=");
    uri.push_str(&base32_encode(secret));
    uri.push_str("&issuer=");
    percent_encode(issuer, &mut uri);
    uri.push_str(&format!(
        "&algorithm={}&digits={}&period={}",
        params.algorithm.name(),
        params.digits,
        params.period
    ));
    SecretString::from(uri)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    /// RFC 6238 Appendix B test vectors (8 digits, 30-second steps). The SHA-256 and SHA-512
    /// seeds are the 32- and 64-byte ASCII repetitions of "1234567890", not the 20-byte one.
    #[test]
    fn rfc6238_appendix_b_vectors() {
        let sha1_seed = b"12345678901234567890".as_slice();
        let sha256_seed = b"12345678901234567890123456789012".as_slice();
        let sha512_seed =
            b"1234567890123456789012345678901234567890123456789012345678901234".as_slice();
        let params = |algorithm| TotpParams {
            algorithm,
            digits: 8,
            period: 30,
        };
        let table: [(i64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (t, sha1, sha256, sha512) in table {
            for (alg, seed, want) in [
                (Algorithm::Sha1, sha1_seed, sha1),
                (Algorithm::Sha256, sha256_seed, sha256),
                (Algorithm::Sha512, sha512_seed, sha512),
            ] {
                let p = params(alg);
                let step = p.step_at(t).unwrap();
                assert_eq!(code_at_step(seed, &p, step).as_str(), want, "{alg:?} T={t}");
            }
        }
    }

    /// The pitfall the RFC's errata warn about: SHA-256 with the 20-byte seed gives another code.
    #[test]
    fn sha256_with_the_short_seed_differs() {
        let p = TotpParams {
            algorithm: Algorithm::Sha256,
            digits: 8,
            period: 30,
        };
        assert_eq!(
            code_at_step(b"12345678901234567890", &p, 1).as_str(),
            "32247374"
        );
    }

    /// RFC 4226 Appendix D: HOTP values for the 20-byte ASCII seed, counters 0–9.
    #[test]
    fn rfc4226_appendix_d_vectors() {
        let want = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, code) in want.into_iter().enumerate() {
            assert_eq!(
                hotp(b"12345678901234567890", counter as u64, Algorithm::Sha1, 6),
                code
            );
        }
    }

    /// RFC 4648 §10 test vectors, then a round trip.
    #[test]
    fn base32_rfc4648_vectors_and_round_trip() {
        for (plain, enc) in [
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()).as_str(), enc);
        }
        let secret: Vec<u8> = (0u8..40).collect();
        let text = base32_encode(&secret);
        assert_eq!(&base32_decode(&text).unwrap()[..], &secret[..]);
        assert_eq!(
            &base32_decode(&text.to_lowercase()).unwrap()[..],
            &secret[..]
        );
        let spaced: String = text
            .chars()
            .enumerate()
            .flat_map(|(i, c)| (i % 4 == 0 && i > 0).then_some(' ').into_iter().chain([c]))
            .collect();
        assert_eq!(&base32_decode(&spaced).unwrap()[..], &secret[..]);
    }

    #[test]
    fn base32_refuses_bad_input() {
        let ok = base32_encode(&[7u8; 20]);
        assert!(base32_decode(&ok).is_ok());
        for bad in [
            "MZXW6YTBOI!",                      // alphabet
            "MZXW6YTB",                         // too short a secret
            &"A".repeat(MAX_SECRET_TEXT + 1),   // too long a text
            &format!("{}A", ok.as_str()),       // impossible length
            &"A".repeat(256),                   // longer than 128 bytes
            "01234567890123456789012345678901", // 0, 1, 8, 9 are not base32
        ] {
            assert!(base32_decode(bad).is_err(), "{bad}");
        }
        // Non-zero trailing bits: "MY" is "f"; "MZ" has a stray 1 bit.
        let mut with_stray = base32_encode(&[1u8; 16]).to_string();
        with_stray.pop();
        with_stray.push('Z');
        assert!(base32_decode(&with_stray).is_err());
    }

    #[test]
    fn params_are_validated() {
        assert!(TotpParams::default().validate().is_ok());
        for (digits, period) in [(7, 30), (5, 30), (6, 10), (8, 301)] {
            let p = TotpParams {
                algorithm: Algorithm::Sha1,
                digits,
                period,
            };
            assert!(p.validate().is_err(), "{digits} {period}");
        }
        assert_eq!(TotpParams::default().step_at(-1), None);
        assert_eq!(TotpParams::default().step_at(59), Some(1));
    }

    #[test]
    fn uri_carries_parameters_and_encodes_names() {
        let p = TotpParams {
            algorithm: Algorithm::Sha256,
            digits: 8,
            period: 30,
        };
        let uri = otpauth_uri("Acme Sync", "ops@acme.example", b"12345678901234567890", &p);
        assert_eq!(
            uri.expose_secret(),
            "otpauth://totp/Acme%20Sync:ops%40acme.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Acme%20Sync&algorithm=SHA256&digits=8&period=30"
        );
        assert_eq!(Algorithm::parse("sha512"), Some(Algorithm::Sha512));
        assert_eq!(Algorithm::parse("md5"), None);
    }
}
