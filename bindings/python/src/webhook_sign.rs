//! `trust.webhook.sign` / `sign_query`: the headers (or signed query) a provider sends, for
//! tests, through trust-core's one signing dispatcher — the one the CLI's `trust webhook sign`
//! and the C ABI's `trust_webhook_sign` call, so all of them sign alike.

use pyo3::prelude::*;
use pyo3::types::PyAny;
use trust_core::clock::{Clock, SystemClock};
use trust_core::webhook::{self, Outgoing, Scheme};

use crate::errors::{core, invalid};
use crate::webhook::secrets as secret_set;

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(webhook_sign, m)?)?;
    Ok(())
}

/// The headers `(name, value)` in the provider's order, and the signed query (Shopify OAuth
/// and App Proxy; `None` otherwise).
type SignedPy = (Vec<(&'static str, String)>, Option<String>);

/// Signs as the provider would; raises `UsageError` (`WEBHOOK_CONFIG`) for an unknown scheme,
/// a bad secret or a missing argument, `VerificationError` (`MALFORMED`) for a query, shop or
/// id a verifier would refuse.
#[pyfunction]
#[pyo3(signature = (scheme, body, secrets, *, now=None, url=None, method="POST", id=None, query=None, api_key=None, shop=None))]
#[allow(clippy::too_many_arguments)]
fn webhook_sign(
    py: Python<'_>,
    scheme: &str,
    body: &[u8],
    secrets: &Bound<'_, PyAny>,
    now: Option<i64>,
    url: Option<&str>,
    method: &str,
    id: Option<&str>,
    query: Option<&str>,
    api_key: Option<&str>,
    shop: Option<&str>,
) -> PyResult<SignedPy> {
    let scheme = Scheme::from_name(scheme)
        .ok_or_else(|| invalid(format!("unknown webhook scheme {scheme:?}")))?;
    let secrets = secret_set(secrets)?;
    let now = now.unwrap_or_else(|| SystemClock.now_unix());
    // Bodies can be large: sign without the GIL, as verify does.
    let signed = py
        .detach(|| {
            let mut out = Outgoing::new(&secrets, body).method(method);
            if let Some(url) = url {
                out = out.url(url);
            }
            if let Some(id) = id {
                out = out.id(id);
            }
            if let Some(query) = query {
                out = out.query(query);
            }
            if let Some(key) = api_key {
                out = out.audience(key);
            }
            if let Some(shop) = shop {
                out = out.shop(shop);
            }
            webhook::sign(scheme, &out, now)
        })
        .map_err(core)?;
    Ok((signed.headers().to_vec(), signed.query().map(str::to_owned)))
}
