//! `webhook.sign` / `webhook.signQuery`: the headers (or signed query) a provider sends, for
//! tests, through trust-core's one signing dispatcher — the one the CLI's `trust webhook sign`,
//! the C ABI and the Python package call.

use napi::Result;
use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;
use trust_core::clock::{Clock, SystemClock};
use trust_core::webhook::{self, Outgoing, Scheme, SecretSet};

use crate::{core, invalid, secret};

/// Options of `webhook.sign`.
#[napi(object)]
pub struct SignOptions {
    pub now: Option<i64>,
    pub url: Option<String>,
    pub method: Option<String>,
    pub id: Option<String>,
    pub query: Option<String>,
    pub api_key: Option<String>,
    pub shop: Option<String>,
}

/// One signed header.
#[napi(object)]
pub struct SignedHeader {
    pub name: String,
    pub value: String,
}

/// What `webhookSign` produced: the headers in the provider's order, and the signed query
/// (Shopify OAuth and App Proxy).
#[napi(object)]
pub struct SignedDelivery {
    pub headers: Vec<SignedHeader>,
    pub query: Option<String>,
}

/// Signs as the provider would; throws a `TrustError` (`WEBHOOK_CONFIG`, `MALFORMED`, …).
#[napi]
pub fn webhook_sign(
    scheme: String,
    body: Buffer,
    secrets: Vec<Either<String, Buffer>>,
    options: Option<SignOptions>,
) -> Result<SignedDelivery> {
    let scheme = Scheme::from_name(&scheme)
        .ok_or_else(|| invalid(&format!("unknown webhook scheme {scheme:?}")))?;
    let o = options.unwrap_or(SignOptions {
        now: None,
        url: None,
        method: None,
        id: None,
        query: None,
        api_key: None,
        shop: None,
    });
    let secrets =
        SecretSet::try_from_vec(secrets.into_iter().map(secret).collect()).map_err(core)?;
    let now = o.now.unwrap_or_else(|| SystemClock.now_unix());
    let mut out = Outgoing::new(&secrets, &body).method(o.method.as_deref().unwrap_or("POST"));
    if let Some(url) = o.url.as_deref() {
        out = out.url(url);
    }
    if let Some(id) = o.id.as_deref() {
        out = out.id(id);
    }
    if let Some(query) = o.query.as_deref() {
        out = out.query(query);
    }
    if let Some(key) = o.api_key.as_deref() {
        out = out.audience(key);
    }
    if let Some(shop) = o.shop.as_deref() {
        out = out.shop(shop);
    }
    let signed = webhook::sign(scheme, &out, now).map_err(core)?;
    Ok(SignedDelivery {
        headers: signed
            .headers()
            .iter()
            .map(|(name, value)| SignedHeader {
                name: (*name).to_owned(),
                value: value.clone(),
            })
            .collect(),
        query: signed.query().map(str::to_owned),
    })
}
