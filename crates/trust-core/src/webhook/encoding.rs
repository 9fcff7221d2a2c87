//! Strict decoding of the MACs providers send: hex (Stripe, GitHub, Slack, HubSpot v1/v2,
//! Shopify query HMACs) and base64 (Shopify webhooks, HubSpot v3, Standard Webhooks).
//!
//! Both decoders require exactly [`MAC_LEN`] bytes, so a truncated or extended signature is
//! malformed rather than compared as a prefix. Hex is accepted in either case (the bytes are what
//! is compared; stripe-go and async-stripe accept upper case too). Base64 is the standard
//! alphabet, padded, canonical: non-zero trailing bits or missing padding are rejected, since a
//! second spelling of the same MAC is a smell a reviewer should not have to reason about.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{MAC_LEN, WebhookError};

/// Decodes a hex-encoded 32-byte MAC (either case).
///
/// # Errors
/// [`WebhookError::Malformed`] naming `what` for a wrong length or a non-hex character.
pub fn decode_hex_mac(s: &str, what: &'static str) -> Result<[u8; MAC_LEN], WebhookError> {
    if s.len() != MAC_LEN * 2 {
        return Err(WebhookError::Malformed(what));
    }
    let mut out = [0u8; MAC_LEN];
    hex::decode_to_slice(s, &mut out).map_err(|_| WebhookError::Malformed(what))?;
    Ok(out)
}

/// Decodes a canonical, padded, standard-alphabet base64 32-byte MAC.
///
/// # Errors
/// [`WebhookError::Malformed`] naming `what` for a wrong length, a bad character, missing or
/// extra padding, or non-zero trailing bits.
pub fn decode_base64_mac(s: &str, what: &'static str) -> Result<[u8; MAC_LEN], WebhookError> {
    // 32 bytes are always 44 characters with one `=`; checking first bounds the work.
    if s.len() != 44 {
        return Err(WebhookError::Malformed(what));
    }
    let mut out = [0u8; MAC_LEN];
    match STANDARD.decode_slice(s, &mut out) {
        Ok(MAC_LEN) => Ok(out),
        _ => Err(WebhookError::Malformed(what)),
    }
}

/// Lowercase hex, as every hex-signing provider sends it.
pub(crate) fn hex_lower(mac: &[u8]) -> String {
    hex::encode(mac)
}

/// Standard padded base64.
pub(crate) fn base64_std(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_requires_exact_length_and_hex_digits() {
        let good = "ab".repeat(32);
        assert_eq!(decode_hex_mac(&good, "m").unwrap(), [0xab; 32]);
        assert_eq!(
            decode_hex_mac(&good.to_uppercase(), "m").unwrap(),
            [0xab; 32]
        );
        assert!(decode_hex_mac(&good[..62], "m").is_err());
        assert!(decode_hex_mac(&format!("{good}ab"), "m").is_err());
        assert!(decode_hex_mac(&format!("{}zz", &good[..62]), "m").is_err());
        assert!(decode_hex_mac("", "m").is_err());
    }

    #[test]
    fn base64_is_canonical_and_exact() {
        let mac = [0x5a; 32];
        let good = base64_std(&mac);
        assert_eq!(decode_base64_mac(&good, "m").unwrap(), mac);
        // Unpadded, URL-safe, truncated, extended.
        assert!(decode_base64_mac(good.trim_end_matches('='), "m").is_err());
        assert!(decode_base64_mac(&base64_std(&[0xff; 32]).replace('/', "_"), "m").is_err());
        assert!(decode_base64_mac(&base64_std(&[1; 31]), "m").is_err());
        assert!(decode_base64_mac(&base64_std(&[1; 33]), "m").is_err());
        // Non-canonical: same 32 bytes with a non-zero trailing bit in the last symbol.
        // "Wlpa…Wlo=": the 43rd char 'o' carries 4 data bits and 2 trailing zero bits.
        let mut chars: Vec<char> = good.chars().collect();
        assert_eq!(chars[42], 'o');
        chars[42] = 'p';
        let noncanonical: String = chars.into_iter().collect();
        assert!(decode_base64_mac(&noncanonical, "m").is_err());
    }
}
