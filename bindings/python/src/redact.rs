//! `trust.redact` and `trust.Redactor`: credentials and card numbers out of log text.

use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::types::PyAny;
use trust_core::redact::Redactor as CoreRedactor;

use crate::errors::{core, secret};
use trust_core::secret::ExposeSecret;

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Redactor>()?;
    m.add_function(wrap_pyfunction!(redact, m)?)?;
    Ok(())
}

fn default_redactor() -> &'static CoreRedactor {
    static REDACTOR: OnceLock<CoreRedactor> = OnceLock::new();
    REDACTOR.get_or_init(CoreRedactor::default)
}

/// `text` with every known credential format and card number replaced by a marker.
#[pyfunction]
fn redact(text: &str) -> String {
    default_redactor().redact(text).into_owned()
}

/// A redactor that also masks registered secret values (at least 6 bytes each).
#[pyclass(frozen, module = "trust")]
pub(crate) struct Redactor {
    inner: CoreRedactor,
}

#[pymethods]
impl Redactor {
    #[new]
    #[pyo3(signature = (secrets=Vec::new(), *, cards=true))]
    fn new(secrets: Vec<Bound<'_, PyAny>>, cards: bool) -> PyResult<Self> {
        let mut builder = CoreRedactor::builder();
        for s in &secrets {
            let value = secret(s, "each secret")?;
            builder = builder.literal(value.expose_secret()).map_err(core)?;
        }
        if !cards {
            builder = builder.without_cards();
        }
        Ok(Self {
            inner: builder.build().map_err(core)?,
        })
    }

    /// `text` with findings replaced.
    fn redact(&self, text: &str) -> String {
        self.inner.redact(text).into_owned()
    }

    fn __repr__(&self) -> &'static str {
        "<trust.Redactor>"
    }
}
