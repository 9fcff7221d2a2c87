//! `trust.Home`: keyrings under one root key; seal and open of blobs and text tokens.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use trust_backends::HomeLocation;
use trust_core::durable::AtomicFile;
use trust_core::envelope::{self, Context, EnvelopeError, Opener, Sealer};
use trust_core::keyring::{
    self, Change, Destroy, DestroyOutcome, InitSource, Policy, Rollout, Unlock,
};
use trust_core::provider::{KeyRef, Suite};
use trust_core::root::PassphraseParams;

use crate::errors::{core, invalid, secret};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Home>()?;
    Ok(())
}

/// A `dict[str, str]` as an envelope context (None = empty).
pub(crate) fn context(pairs: Option<BTreeMap<String, String>>) -> PyResult<Context> {
    let mut ctx = Context::new();
    for (k, v) in pairs.iter().flatten() {
        ctx.insert(k, v).map_err(core)?;
    }
    Ok(ctx)
}

/// One state transition of a keyring version (retire, enable, schedule or cancel a
/// destruction), without the GIL, as `(version, from_state, to_state)`.
fn transition(
    py: Python<'_>,
    home: &keyring::Home,
    name: &str,
    version: u32,
    op: fn(&keyring::Home, &KeyRef) -> Result<Change, keyring::KeyringError>,
) -> PyResult<(u32, Option<String>, String)> {
    let c = py
        .detach(|| op(home, &KeyRef::new(name, version)))
        .map_err(core)?;
    Ok((c.version, c.from.map(|s| s.to_string()), c.to.to_string()))
}

/// A home: keyrings whose keys are wrapped by one root key, in a directory or a PostgreSQL
/// database. Thread-safe; share one per process.
#[pyclass(frozen, module = "trust")]
pub(crate) struct Home {
    pub(crate) inner: Arc<keyring::Home>,
    /// Where the home's other stores (subject keys, vault, MFA) live.
    pub(crate) location: HomeLocation,
}

/// `path` as trust-backends reads it: a directory, or a `postgres://` URL (connected, schema
/// migrated). The rule that tells a URL from a path lives in trust-backends only.
fn locate(path: &Path) -> PyResult<HomeLocation> {
    match path.to_str() {
        Some(text) => trust_backends::open_home(text).map_err(core),
        None => Ok(HomeLocation::Local(path.to_path_buf())),
    }
}

/// The native home behind `obj`: a `trust.Home` (the Python wrapper) or the native class.
pub(crate) fn native_home<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Home>> {
    if let Ok(home) = obj.cast::<Home>() {
        return Ok(home.clone());
    }
    match obj.getattr("_native") {
        Ok(inner) => inner.cast_into::<Home>().map_err(Into::into),
        Err(_) => Err(pyo3::exceptions::PyTypeError::new_err(
            "home must be a trust.Home",
        )),
    }
}

impl Home {
    pub(crate) fn dir(&self) -> Option<&Path> {
        match &self.location {
            HomeLocation::Local(dir) => Some(dir),
            HomeLocation::Postgres(_) => None,
        }
    }
}

#[pymethods]
impl Home {
    /// Creates a home in `path` (a directory, or a `postgres://` URL) with a root key file (created if missing) or a passphrase.
    #[staticmethod]
    #[pyo3(signature = (path, *, root_key_file=None, passphrase=None, m_kib=None, t=None, p=None))]
    fn init(
        py: Python<'_>,
        path: PathBuf,
        root_key_file: Option<PathBuf>,
        passphrase: Option<&Bound<'_, PyAny>>,
        m_kib: Option<u32>,
        t: Option<u32>,
        p: Option<u32>,
    ) -> PyResult<Self> {
        let source = match (root_key_file, passphrase) {
            (Some(file), None) => InitSource::KeyFile(file),
            (None, Some(pass)) => {
                let d = PassphraseParams::DEFAULT;
                InitSource::Passphrase {
                    passphrase: secret(pass, "passphrase")?,
                    params: PassphraseParams::new(
                        m_kib.unwrap_or(d.m_kib),
                        t.unwrap_or(d.t),
                        p.unwrap_or(d.p),
                    ),
                }
            }
            _ => return Err(invalid("give exactly one of root_key_file= or passphrase=")),
        };
        py.detach(|| {
            let location = locate(&path)?;
            let home = match &location {
                HomeLocation::Local(dir) => keyring::Home::init(dir, source),
                HomeLocation::Postgres(db) => trust_postgres::init_home(db, None, source),
            }
            .map_err(core)?;
            Ok(Self {
                inner: Arc::new(home),
                location,
            })
        })
    }

    /// Opens the home in `path` (a directory or a `postgres://` URL): with the key file it recorded (default), another path to the
    /// same key, or its passphrase.
    #[staticmethod]
    #[pyo3(signature = (path, *, root_key_file=None, passphrase=None))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        root_key_file: Option<PathBuf>,
        passphrase: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let unlock = match (root_key_file, passphrase) {
            (None, None) => Unlock::Stored,
            (Some(file), None) => Unlock::KeyFile(file),
            (None, Some(pass)) => Unlock::Passphrase(secret(pass, "passphrase")?),
            _ => return Err(invalid("give at most one of root_key_file= or passphrase=")),
        };
        py.detach(|| {
            let location = locate(&path)?;
            let home = match &location {
                HomeLocation::Local(dir) => keyring::Home::open(dir, unlock),
                HomeLocation::Postgres(db) => trust_postgres::open_home(db, unlock),
            }
            .map_err(core)?;
            Ok(Self {
                inner: Arc::new(home),
                location,
            })
        })
    }

    /// The home's directory (None for a database home).
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.dir().map(PathBuf::from)
    }

    /// Creates keyring `name` with version 1 as Primary.
    #[pyo3(signature = (name, *, suite="aes-256-gcm"))]
    fn create_keyring(&self, py: Python<'_>, name: &str, suite: &str) -> PyResult<()> {
        let suite: Suite = suite.parse().map_err(core)?;
        py.detach(|| self.inner.create_keyring(name, suite, Policy::default()))
            .map_err(core)?;
        Ok(())
    }

    /// The keyring names, sorted.
    fn keyrings(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        py.detach(|| self.inner.keyring_names()).map_err(core)
    }

    /// Keyring `name` described as JSON (versions, states, dates, usage; never key material).
    fn keyring_info_json(&self, py: Python<'_>, name: &str) -> PyResult<String> {
        let summary = py.detach(|| self.inner.summary(name)).map_err(core)?;
        serde_json::to_string(&summary).map_err(|e| invalid(e.to_string()))
    }

    /// Adds a version to keyring `name`; Staged, or Primary at once with `promote=True`.
    /// Returns the new version number.
    #[pyo3(signature = (name, promote=false))]
    fn rotate(&self, py: Python<'_>, name: &str, promote: bool) -> PyResult<u32> {
        let rollout = if promote {
            Rollout::Immediate
        } else {
            Rollout::Staged
        };
        py.detach(|| self.inner.rotate(name, rollout))
            .map(|key_ref| key_ref.version)
            .map_err(core)
    }

    /// Makes `version` the Primary of keyring `name`.
    fn promote(&self, py: Python<'_>, name: &str, version: u32) -> PyResult<()> {
        py.detach(|| self.inner.promote(&KeyRef::new(name, version)))
            .map_err(core)
    }

    /// Retires `version` (it stops decrypting; reversible with `enable`).
    /// Returns `(version, from_state, to_state)`.
    fn retire(
        &self,
        py: Python<'_>,
        name: &str,
        version: u32,
    ) -> PyResult<(u32, Option<String>, String)> {
        transition(py, &self.inner, name, version, keyring::Home::retire)
    }

    /// Enables a retired `version` again.
    fn enable(
        &self,
        py: Python<'_>,
        name: &str,
        version: u32,
    ) -> PyResult<(u32, Option<String>, String)> {
        transition(py, &self.inner, name, version, keyring::Home::enable)
    }

    /// Schedules `version` for destruction.
    fn schedule_destroy(
        &self,
        py: Python<'_>,
        name: &str,
        version: u32,
    ) -> PyResult<(u32, Option<String>, String)> {
        transition(
            py,
            &self.inner,
            name,
            version,
            keyring::Home::schedule_destroy,
        )
    }

    /// Cancels a scheduled destruction.
    fn cancel_destroy(
        &self,
        py: Python<'_>,
        name: &str,
        version: u32,
    ) -> PyResult<(u32, Option<String>, String)> {
        transition(
            py,
            &self.inner,
            name,
            version,
            keyring::Home::cancel_destroy,
        )
    }

    /// Destroys `version`'s key material; refused (RefusedError) while something known still
    /// needs it, unless `force=True` with a one-line `reason` (recorded in the audit log).
    /// A Disabled version is first scheduled: the result says when to ask again.
    /// Returns `(destroyed, forced, after)`; `after` is the end of the grace period (Unix
    /// seconds) when the version was only scheduled.
    #[pyo3(signature = (name, version, *, force=false, reason=None))]
    fn destroy(
        &self,
        py: Python<'_>,
        name: &str,
        version: u32,
        force: bool,
        reason: Option<String>,
    ) -> PyResult<(bool, bool, Option<i64>)> {
        let mode = if force {
            Destroy::force(reason.unwrap_or_default()).map_err(core)?
        } else {
            Destroy::IfUnused
        };
        let outcome = py
            .detach(|| self.inner.destroy(&KeyRef::new(name, version), &mode))
            .map_err(core)?;
        Ok(match outcome {
            DestroyOutcome::Destroyed { forced } => (true, forced, None),
            DestroyOutcome::Scheduled { after } => (false, false, Some(after)),
            _ => (false, false, None),
        })
    }

    /// Encrypts `data` under keyring `name`'s Primary, bound to `context`; returns the binary
    /// envelope.
    #[pyo3(signature = (name, data, context=None))]
    fn seal<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        data: &[u8],
        context: Option<BTreeMap<String, String>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let ctx = self::context(context)?;
        let sealed = py
            .detach(|| envelope::seal(&*self.inner, name, &ctx, data))
            .map_err(core)?;
        Ok(PyBytes::new(py, &sealed))
    }

    /// Decrypts an envelope made by `seal` with an equal `context`.
    #[pyo3(signature = (blob, context=None))]
    fn open_blob<'py>(
        &self,
        py: Python<'py>,
        blob: &[u8],
        context: Option<BTreeMap<String, String>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let ctx = self::context(context)?;
        let plain = py
            .detach(|| envelope::open(&*self.inner, &ctx, blob))
            .map_err(core)?;
        Ok(PyBytes::new(py, &plain))
    }

    /// Encrypts a short secret into a `tle1.` text token.
    #[pyo3(signature = (name, data, context=None))]
    fn seal_token(
        &self,
        py: Python<'_>,
        name: &str,
        data: &[u8],
        context: Option<BTreeMap<String, String>>,
    ) -> PyResult<String> {
        let ctx = self::context(context)?;
        py.detach(|| envelope::seal_token(&*self.inner, name, &ctx, data))
            .map_err(core)
    }

    /// Decrypts a `tle1.` token made with an equal `context`.
    #[pyo3(signature = (token, context=None))]
    fn open_token<'py>(
        &self,
        py: Python<'py>,
        token: &str,
        context: Option<BTreeMap<String, String>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let ctx = self::context(context)?;
        let plain = py
            .detach(|| envelope::open_token(&*self.inner, &ctx, token))
            .map_err(core)?;
        Ok(PyBytes::new(py, &plain))
    }

    /// Re-wraps an envelope's data key under its keyring's current Primary (the body is not
    /// re-encrypted). Returns `(envelope, changed)`.
    fn rewrap<'py>(&self, py: Python<'py>, blob: &[u8]) -> PyResult<(Bound<'py, PyBytes>, bool)> {
        let r = py
            .detach(|| envelope::rewrap(&*self.inner, blob))
            .map_err(core)?;
        Ok((PyBytes::new(py, &r.envelope), r.changed))
    }

    /// As `rewrap`, for a `tle1.` token (its context is needed). Returns `(token, changed)`.
    #[pyo3(signature = (token, context=None))]
    fn rewrap_token(
        &self,
        py: Python<'_>,
        token: &str,
        context: Option<BTreeMap<String, String>>,
    ) -> PyResult<(String, bool)> {
        let ctx = self::context(context)?;
        let r = py
            .detach(|| envelope::rewrap_token(&*self.inner, &ctx, token))
            .map_err(core)?;
        Ok((r.token, r.changed))
    }

    /// Encrypts file `src` into `dst` in 16 KiB chunks under keyring `name` (memory stays
    /// flat for any size). `dst` appears whole or not at all: it is staged beside itself and
    /// renamed into place only after the last chunk is written and synced.
    #[pyo3(signature = (name, src, dst, context=None))]
    fn encrypt_file(
        &self,
        py: Python<'_>,
        name: &str,
        src: PathBuf,
        dst: PathBuf,
        context: Option<BTreeMap<String, String>>,
    ) -> PyResult<u64> {
        let ctx = self::context(context)?;
        py.detach(|| {
            stream_file(&src, &dst, |input, output| {
                let mut sealer = Sealer::new(&*self.inner, name, &ctx, output)?;
                let n = io::copy(input, &mut sealer).map_err(EnvelopeError::from_io)?;
                sealer.finish()?;
                Ok(n)
            })
        })
    }

    /// Decrypts file `src` (made by `encrypt_file` or `trust encrypt`) into `dst`. Every chunk
    /// is authenticated before it is written; `dst` is put in place only once the whole
    /// message authenticated, so a tampered or truncated file leaves no plaintext behind.
    /// Returns the number of plaintext bytes.
    #[pyo3(signature = (src, dst, context=None))]
    fn decrypt_file(
        &self,
        py: Python<'_>,
        src: PathBuf,
        dst: PathBuf,
        context: Option<BTreeMap<String, String>>,
    ) -> PyResult<u64> {
        let ctx = self::context(context)?;
        py.detach(|| {
            stream_file(&src, &dst, |input, output| {
                let mut opener = Opener::new(&*self.inner, &ctx, input)?;
                io::copy(&mut opener, output).map_err(EnvelopeError::from_io)
            })
        })
    }

    fn __repr__(&self) -> String {
        match &self.location {
            HomeLocation::Local(d) => format!("<trust.Home {}>", d.display()),
            HomeLocation::Postgres(_) => "<trust.Home (database)>".to_owned(),
        }
    }
}

/// Runs `body` from `src` into an [`AtomicFile`] staged for `dst`, committing only on success
/// (a failure, or a crash, leaves `dst` as it was).
fn stream_file(
    src: &Path,
    dst: &Path,
    body: impl FnOnce(&mut BufReader<File>, &mut AtomicFile) -> Result<u64, EnvelopeError>,
) -> PyResult<u64> {
    let input = File::open(src).map_err(|e| io_error("input", src, &e))?;
    let mut input = BufReader::with_capacity(1 << 16, input);
    let mut output = AtomicFile::create(dst).map_err(|e| io_error("output", dst, &e))?;
    let n = body(&mut input, &mut output).map_err(core)?;
    output.commit().map_err(|e| io_error("output", dst, &e))?;
    Ok(n)
}

fn io_error(what: &str, path: &Path, err: &io::Error) -> PyErr {
    crate::errors::raise(
        trust_core::error::Category::Input,
        "IO_ERROR",
        format!("{what} {}: {err}", path.display()),
        None,
    )
}
