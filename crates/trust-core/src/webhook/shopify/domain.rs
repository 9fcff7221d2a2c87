//! Shop-domain validation (Shopify's WEAK_SHOP_VALIDATION app-security check).
//!
//! An unanchored pattern lets `evil.com/x.myshopify.com` or `shop.myshopify.com.evil.test`
//! through, and an app that then sends its access token to that "shop" has leaked it.

use crate::webhook::WebhookError;

/// How strictly a shop domain is checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShopDomainMode {
    /// Shopify's documented pattern `^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$`. Default.
    #[default]
    Strict,
    /// shopify-api-js `sanitizeShop`: also `_` in the name, the `shopify.com`, `myshopify.io`
    /// and `shop.dev` domains, trailing `/`, and `admin.shopify.com/store/NAME` (rewritten to
    /// `NAME.myshopify.com`).
    Compat,
}

/// The longest shop domain accepted (a DNS name).
const MAX_DOMAIN_LEN: usize = 255;

fn valid_name(name: &str, allow_underscore: bool) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || (allow_underscore && b == b'_'))
}

/// Validates a shop domain and returns it lower-cased (`name.myshopify.com`).
///
/// # Errors
/// [`WebhookError::Malformed`] when it is not a shop domain in `mode`.
pub fn validate_shop_domain(shop: &str, mode: ShopDomainMode) -> Result<String, WebhookError> {
    const BAD: WebhookError = WebhookError::Malformed("not a valid shop domain");
    if shop.is_empty() || shop.len() > MAX_DOMAIN_LEN {
        return Err(BAD);
    }
    let lower = shop.to_ascii_lowercase();
    match mode {
        ShopDomainMode::Strict => match lower.strip_suffix(".myshopify.com") {
            Some(name) if valid_name(name, false) => Ok(lower),
            _ => Err(BAD),
        },
        ShopDomainMode::Compat => {
            for admin in [
                "admin.shopify.com/store/",
                "admin.myshopify.io/store/",
                "admin.shop.dev/store/",
            ] {
                if let Some(name) = lower.strip_prefix(admin) {
                    return if valid_name(name, true) {
                        Ok(format!("{name}.myshopify.com"))
                    } else {
                        Err(BAD)
                    };
                }
            }
            let trimmed = lower.trim_end_matches('/');
            for suffix in [
                ".myshopify.com",
                ".shopify.com",
                ".myshopify.io",
                ".shop.dev",
            ] {
                if let Some(name) = trimmed.strip_suffix(suffix) {
                    if valid_name(name, true) {
                        return Ok(trimmed.to_owned());
                    }
                }
            }
            Err(BAD)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The corpus of docs/webhooks.md (Shopify's security check and shopify-api-js
    /// `sanitizeShop`, run).
    #[test]
    fn strict_corpus() {
        for ok in [
            "shop-name.myshopify.com",
            "Shop-Name.myshopify.com",
            "0shop.myshopify.com",
        ] {
            assert_eq!(
                validate_shop_domain(ok, ShopDomainMode::Strict).unwrap(),
                ok.to_ascii_lowercase()
            );
        }
        for bad in [
            "-shop.myshopify.com",
            "a.b.myshopify.com",
            "shop.myshopify.com.evil.com",
            "evil.com/x.myshopify.com",
            "shop_name.myshopify.com",
            "shop.myshopify.com/",
            "shop.shopify.com",
            ".myshopify.com",
            "myshopify.com",
            "https://shop.myshopify.com",
            "shop.myshopify.com\n",
            "",
        ] {
            assert!(
                validate_shop_domain(bad, ShopDomainMode::Strict).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn compat_corpus() {
        let c = ShopDomainMode::Compat;
        for (input, out) in [
            ("Shop-Name.myshopify.com", "shop-name.myshopify.com"),
            ("shop_name.myshopify.com", "shop_name.myshopify.com"),
            ("shop.myshopify.com/", "shop.myshopify.com"),
            ("shop.shopify.com", "shop.shopify.com"),
            ("shop.myshopify.io", "shop.myshopify.io"),
            ("shop.shop.dev", "shop.shop.dev"),
            (
                "admin.shopify.com/store/shop-name",
                "shop-name.myshopify.com",
            ),
        ] {
            assert_eq!(validate_shop_domain(input, c).unwrap(), out);
        }
        for bad in [
            "-shop.myshopify.com",
            "a.b.myshopify.com",
            "shop.myshopify.com.evil.com",
            "evil.com/x.myshopify.com",
            "admin.shopify.com/store/a/b",
        ] {
            assert!(validate_shop_domain(bad, c).is_err(), "{bad}");
        }
    }
}
