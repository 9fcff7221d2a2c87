//! `trust.webhook.verify`: every scheme the CLI's `--provider` names, through trust-core's one
//! dispatcher.

use pyo3::prelude::*;
use pyo3::types::{PyAny, PyList};
use trust_core::clock::{Clock, SystemClock};
use trust_core::secret::SecretBytes;
use trust_core::webhook::{self, Scheme, SecretSet, shopify};

use crate::errors::{core, invalid, secret};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<WebhookResult>()?;
    m.add_function(wrap_pyfunction!(webhook_verify, m)?)?;
    m.add_class::<ReplayGuard>()?;
    Ok(())
}

/// Remembers the delivery ids already accepted, so a captured delivery replayed inside the
/// signature's time window is refused (`VerificationError`, code `REPLAYED`: answer 200 and
/// skip it). In this process by default, or shared by every worker through a `redis://` or
/// `postgres://` URL (opened by trust-backends). Thread-safe.
#[pyclass(frozen, module = "trust.webhook")]
pub(crate) struct ReplayGuard {
    inner: webhook::ReplayGuard<Box<dyn webhook::SeenStore>>,
}

#[pymethods]
impl ReplayGuard {
    /// Ids are kept `ttl` seconds: at least the scheme's tolerance plus clock skew, or the
    /// provider's retry schedule for schemes without a signed timestamp (Shopify: 48 hours).
    #[new]
    #[pyo3(signature = (ttl, *, store=None, capacity=100_000))]
    fn new(py: Python<'_>, ttl: u64, store: Option<&str>, capacity: usize) -> PyResult<Self> {
        let store: Box<dyn webhook::SeenStore> = match store {
            None => Box::new(webhook::MemorySeenStore::new(capacity)),
            Some(url) => py
                .detach(|| trust_backends::open_seen_store(url))
                .map_err(core)?,
        };
        Ok(Self {
            inner: webhook::ReplayGuard::new(store, ttl),
        })
    }

    /// Records a verified delivery (`trust.webhook.verify`'s result); raises
    /// `VerificationError` (`REPLAYED`) when its id was seen, `MALFORMED` when it has none.
    #[pyo3(signature = (result, *, now=None))]
    fn check(&self, py: Python<'_>, result: &WebhookResult, now: Option<i64>) -> PyResult<()> {
        let id = result.delivery_id.as_deref().unwrap_or("");
        self.check_id(py, result.scheme, id, now)
    }

    /// As `check`, for an id taken from elsewhere, in `namespace` (e.g. the scheme name).
    #[pyo3(signature = (namespace, id, *, now=None))]
    fn check_id(
        &self,
        py: Python<'_>,
        namespace: &str,
        id: &str,
        now: Option<i64>,
    ) -> PyResult<()> {
        let now = now.unwrap_or_else(|| SystemClock.now_unix());
        py.detach(|| self.inner.check_id(namespace, id, now))
            .map_err(core)
    }
}

/// A verified delivery.
#[pyclass(frozen, module = "trust.webhook", name = "Result")]
pub(crate) struct WebhookResult {
    /// The scheme's name (the CLI's `--provider` value).
    #[pyo3(get)]
    scheme: &'static str,
    /// Which secret matched: 0 is the current one; more means the sender still uses an old one.
    #[pyo3(get)]
    secret_index: usize,
    /// The signed timestamp (Unix seconds), for schemes that sign one.
    #[pyo3(get)]
    timestamp: Option<i64>,
    /// The provider's delivery id, the key for replay protection.
    #[pyo3(get)]
    delivery_id: Option<String>,
    /// The shop (Shopify OAuth, App Proxy, session tokens).
    #[pyo3(get)]
    shop: Option<String>,
}

#[pymethods]
impl WebhookResult {
    fn __repr__(&self) -> String {
        format!(
            "<trust.webhook.Result scheme={} secret_index={}>",
            self.scheme, self.secret_index
        )
    }
}

/// Headers as a mapping or an iterable of `(name, value)` pairs; values `str` or `bytes`.
fn headers(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(String, Vec<u8>)>> {
    let items = match obj.call_method0("items") {
        Ok(items) => items,
        Err(_) => obj.clone(),
    };
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let (name, value): (String, Bound<'_, PyAny>) = item?.extract()?;
        let value = if let Ok(s) = value.extract::<String>() {
            s.into_bytes()
        } else {
            value.extract::<Vec<u8>>()?
        };
        out.push((name, value));
    }
    Ok(out)
}

/// Secrets: one `str`/`bytes`, or a list of them (current first).
pub(crate) fn secrets(obj: &Bound<'_, PyAny>) -> PyResult<SecretSet> {
    let list: Vec<SecretBytes> = if let Ok(list) = obj.cast::<PyList>() {
        list.iter()
            .map(|s| secret(&s, "each secret"))
            .collect::<PyResult<_>>()?
    } else if obj.cast::<pyo3::types::PyTuple>().is_ok() {
        obj.try_iter()?
            .map(|s| secret(&s?, "each secret"))
            .collect::<PyResult<_>>()?
    } else {
        vec![secret(obj, "secrets")?]
    };
    SecretSet::try_from_vec(list).map_err(core)
}

/// Verifies a delivery; raises `VerificationError` (code `SIGNATURE_INVALID`, `TIMESTAMP_STALE`,
/// `TIMESTAMP_FUTURE`, `MALFORMED` or `CLAIM_REJECTED`) when it is not authentic.
#[pyfunction]
#[pyo3(name = "webhook_verify", signature = (scheme, body, headers, secrets, *, now=None, url=None, method="POST", query=None, api_key=None, tolerance=None, lenient=false))]
#[allow(clippy::too_many_arguments)]
fn webhook_verify(
    py: Python<'_>,
    scheme: &str,
    body: &[u8],
    headers: &Bound<'_, PyAny>,
    secrets: &Bound<'_, PyAny>,
    now: Option<i64>,
    url: Option<&str>,
    method: &str,
    query: Option<&str>,
    api_key: Option<&str>,
    tolerance: Option<u64>,
    lenient: bool,
) -> PyResult<WebhookResult> {
    let scheme = Scheme::from_name(scheme)
        .ok_or_else(|| invalid(format!("unknown webhook scheme {scheme:?}")))?;
    let needed = match scheme {
        Scheme::ShopifyOAuth | Scheme::ShopifyAppProxy => query.is_none().then_some("query="),
        Scheme::ShopifySessionToken => api_key.is_none().then_some("api_key="),
        Scheme::HubSpotV2 | Scheme::HubSpotV3 => url.is_none().then_some("url="),
        _ => None,
    };
    if let Some(arg) = needed {
        return Err(invalid(format!("scheme {} needs {arg}", scheme.name())));
    }
    let headers = self::headers(headers)?;
    let secrets = self::secrets(secrets)?;
    let now = now.unwrap_or_else(|| SystemClock.now_unix());
    // Bodies can be large (HMAC over megabytes): verify without the GIL, through trust-core's
    // one dispatcher (the same one the CLI and the C ABI call).
    let v = py
        .detach(|| {
            let mut req = webhook::Request::new(&secrets, body).method(method);
            for (name, value) in &headers {
                req = req.header(name, value);
            }
            if let Some(url) = url {
                req = req.url(url);
            }
            if let Some(query) = query {
                req = req.query(query);
            }
            if let Some(key) = api_key {
                req = req.audience(key);
            }
            if let Some(t) = tolerance {
                req = req.tolerance(t);
            }
            if lenient {
                req = req.canonicalization(shopify::Canonicalization::Lenient);
            }
            webhook::verify(scheme, &req, now)
        })
        .map_err(core)?;
    Ok(WebhookResult {
        scheme: v.scheme.name(),
        secret_index: v.secret_index,
        timestamp: v.timestamp,
        delivery_id: v.delivery_id,
        shop: v.shop,
    })
}
