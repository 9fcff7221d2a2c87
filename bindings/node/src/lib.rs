//! The `@trust/node` addon: a thin napi-rs layer over trust-core.
//!
//! Each export converts JS values, calls trust-core and maps errors; argon2 work runs on
//! libuv's thread pool (`AsyncTask`) so the event loop is never blocked. Errors leave the addon
//! with a reason of the form `CODE \x1f CATEGORY \x1f message`; `index.js` turns them into
//! `TrustError`s whose `.code` is the same stable string as the CLI's and the C ABI's.
// No hand-written unsafe: the workspace denies it; napi-derive's generated glue allows itself.
// napi-derive generates the registration code for the exports; its expansion trips these.
#![allow(missing_docs, unreachable_pub, clippy::needless_pass_by_value)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use napi::bindgen_prelude::{AsyncTask, Buffer, Either};
use napi::{Env, Error, Result, Status, Task};
use napi_derive::napi;
use trust_backends::HomeLocation;
use trust_core::clock::{Clock, SystemClock};
use trust_core::durable::AtomicFile;
use trust_core::envelope::{self, Context, EnvelopeError, Opener, Sealer};
use trust_core::error::{Category, TrustError};
use trust_core::keyring::{self, InitSource, Policy, Rollout, Unlock};
use trust_core::password::{self, PasswordHasher};
use trust_core::provider::{KeyRef, Suite};
use trust_core::redact::Redactor;
use trust_core::secret::SecretBytes;
use trust_core::webhook::{self, Scheme, SecretSet, shopify};

const SEP: char = '\u{1f}';

pub(crate) fn fail(category: Category, code: &str, message: &str) -> Error {
    Error::new(
        Status::GenericFailure,
        format!("{code}{SEP}{}{SEP}{message}", category.as_str()),
    )
}

pub mod audit;
pub mod session;
pub mod subjects;
pub mod vault;

pub(crate) fn core<E: TrustError>(err: E) -> Error {
    fail(err.category(), err.code(), &err.to_string())
}

pub(crate) fn invalid(message: &str) -> Error {
    fail(Category::Usage, "INVALID_ARGUMENT", message)
}

pub(crate) fn context(pairs: Option<HashMap<String, String>>) -> Result<Context> {
    let mut ctx = Context::new();
    // Sorted insertion is not needed: the context encodes its pairs canonically.
    for (k, v) in pairs.iter().flatten() {
        ctx.insert(k, v).map_err(core)?;
    }
    Ok(ctx)
}

pub(crate) fn secret(value: Either<String, Buffer>) -> SecretBytes {
    match value {
        Either::A(s) => SecretBytes::from(s.into_bytes()),
        Either::B(b) => SecretBytes::from(b.to_vec()),
    }
}

/// Options of `Home.init` / `Home.open`.
#[napi(object)]
pub struct HomeOptions {
    /// The root key file (created with 32 random bytes if missing, on init).
    pub root_key_file: Option<String>,
    /// A passphrase instead of a key file (argon2id).
    pub passphrase: Option<Either<String, Buffer>>,
}

/// Options of `Home.destroy`.
#[napi(object)]
pub struct DestroyOptions {
    /// Destroy even though something known still needs the key (audited).
    pub force: Option<bool>,
    /// Why, one line (required with `force`).
    pub reason: Option<String>,
}

/// What `Home.destroy` did.
#[napi(object)]
pub struct DestroyResult {
    pub destroyed: bool,
    pub forced: bool,
    /// When only scheduled: the end of the grace period, Unix seconds.
    pub after: Option<i64>,
}

/// Keyrings under one root key, in a directory or a PostgreSQL database; seals and opens data
/// bound to a context.
#[napi]
pub struct Home {
    pub(crate) inner: Arc<keyring::Home>,
    pub(crate) location: HomeLocation,
}

fn init_source(options: HomeOptions) -> Result<InitSource> {
    match (options.root_key_file, options.passphrase) {
        (Some(file), None) => Ok(InitSource::KeyFile(PathBuf::from(file))),
        (None, Some(pass)) => Ok(InitSource::Passphrase {
            passphrase: secret(pass),
            params: trust_core::root::PassphraseParams::DEFAULT,
        }),
        _ => Err(invalid("give exactly one of rootKeyFile or passphrase")),
    }
}

fn unlock(options: Option<HomeOptions>) -> Result<Unlock> {
    let (file, pass) = options.map_or((None, None), |o| (o.root_key_file, o.passphrase));
    match (file, pass) {
        (None, None) => Ok(Unlock::Stored),
        (Some(file), None) => Ok(Unlock::KeyFile(PathBuf::from(file))),
        (None, Some(pass)) => Ok(Unlock::Passphrase(secret(pass))),
        _ => Err(invalid("give at most one of rootKeyFile or passphrase")),
    }
}

/// Creates or opens the home named by `path`: trust-backends decides whether it is a
/// directory or a `postgres://` URL (the rule lives there only).
fn make_home(path: &str, how: Make) -> Result<Home> {
    let location = trust_backends::open_home(path).map_err(core)?;
    let home = match (&location, how) {
        (HomeLocation::Local(dir), Make::Init(source)) => keyring::Home::init(dir, source),
        (HomeLocation::Local(dir), Make::Open(unlock)) => keyring::Home::open(dir, unlock),
        (HomeLocation::Postgres(db), Make::Init(source)) => {
            trust_postgres::init_home(db, None, source)
        }
        (HomeLocation::Postgres(db), Make::Open(unlock)) => trust_postgres::open_home(db, unlock),
    }
    .map_err(core)?;
    Ok(Home {
        inner: Arc::new(home),
        location,
    })
}

/// Create a home, or open one.
pub enum Make {
    Init(InitSource),
    Open(Unlock),
}

/// `Home.initAsync` / `Home.openAsync`: argon2 (a passphrase), HSM/KMS and database work on
/// libuv's pool.
pub struct HomeTask {
    path: String,
    how: Option<Make>,
}

impl Task for HomeTask {
    type Output = Home;
    type JsValue = Home;
    fn compute(&mut self) -> Result<Home> {
        let how = self
            .how
            .take()
            .ok_or_else(|| invalid("the task already ran"))?;
        make_home(&self.path, how)
    }
    fn resolve(&mut self, _env: Env, output: Home) -> Result<Home> {
        Ok(output)
    }
}

/// Runs `body` from `src` into an atomic file staged for `dst`, committed only on success.
fn stream_file(
    src: &str,
    dst: &str,
    body: impl FnOnce(
        &mut std::io::BufReader<std::fs::File>,
        &mut AtomicFile,
    ) -> std::result::Result<u64, EnvelopeError>,
) -> Result<f64> {
    let io_err = |what: &str, path: &str, e: std::io::Error| {
        fail(Category::Input, "IO_ERROR", &format!("{what} {path}: {e}"))
    };
    let input = std::fs::File::open(src).map_err(|e| io_err("input", src, e))?;
    let mut input = std::io::BufReader::with_capacity(1 << 16, input);
    let mut output =
        AtomicFile::create(std::path::Path::new(dst)).map_err(|e| io_err("output", dst, e))?;
    let n = body(&mut input, &mut output).map_err(core)?;
    output.commit().map_err(|e| io_err("output", dst, e))?;
    // Byte counts stay exact as a JS number up to 2^53.
    #[allow(clippy::cast_precision_loss)]
    Ok(n as f64)
}

#[napi]
impl Home {
    /// Creates a home in `path` (a directory or a `postgres://` URL).
    #[napi(factory)]
    pub fn init(path: String, options: HomeOptions) -> Result<Self> {
        make_home(&path, Make::Init(init_source(options)?))
    }

    /// Opens the home in `path` (with the key file it recorded unless one is given).
    #[napi(factory)]
    pub fn open(path: String, options: Option<HomeOptions>) -> Result<Self> {
        make_home(&path, Make::Open(unlock(options)?))
    }

    /// As `init`, off the event loop.
    #[napi(ts_return_type = "Promise<Home>")]
    pub fn init_async(path: String, options: HomeOptions) -> Result<AsyncTask<HomeTask>> {
        Ok(AsyncTask::new(HomeTask {
            path,
            how: Some(Make::Init(init_source(options)?)),
        }))
    }

    /// As `open`, off the event loop.
    #[napi(ts_return_type = "Promise<Home>")]
    pub fn open_async(path: String, options: Option<HomeOptions>) -> Result<AsyncTask<HomeTask>> {
        Ok(AsyncTask::new(HomeTask {
            path,
            how: Some(Make::Open(unlock(options)?)),
        }))
    }

    /// The home's directory (null for a database home).
    #[napi(getter)]
    pub fn path(&self) -> Option<String> {
        match &self.location {
            HomeLocation::Local(dir) => Some(dir.display().to_string()),
            HomeLocation::Postgres(_) => None,
        }
    }

    /// Encrypts file `src` into `dst` in chunks (flat memory); `dst` appears whole or not at
    /// all. Returns the plaintext length.
    #[napi]
    pub fn encrypt_file(
        &self,
        name: String,
        src: String,
        dst: String,
        context: Option<HashMap<String, String>>,
    ) -> Result<f64> {
        let ctx = self::context(context)?;
        stream_file(&src, &dst, |input, output| {
            let mut sealer = Sealer::new(&*self.inner, &name, &ctx, output)?;
            let n = std::io::copy(input, &mut sealer).map_err(EnvelopeError::from_io)?;
            sealer.finish()?;
            Ok(n)
        })
    }

    /// Decrypts file `src` into `dst`; `dst` is put in place only once the whole message
    /// authenticated. Returns the plaintext length.
    #[napi]
    pub fn decrypt_file(
        &self,
        src: String,
        dst: String,
        context: Option<HashMap<String, String>>,
    ) -> Result<f64> {
        let ctx = self::context(context)?;
        stream_file(&src, &dst, |input, output| {
            let mut opener = Opener::new(&*self.inner, &ctx, input)?;
            std::io::copy(&mut opener, output).map_err(EnvelopeError::from_io)
        })
    }

    /// Creates keyring `name` (suite `aes-256-gcm` unless given).
    #[napi]
    pub fn create_keyring(&self, name: String, suite: Option<String>) -> Result<()> {
        let suite: Suite = suite
            .as_deref()
            .unwrap_or("aes-256-gcm")
            .parse()
            .map_err(core)?;
        self.inner
            .create_keyring(&name, suite, Policy::default())
            .map(drop)
            .map_err(core)
    }

    /// The keyring names, sorted.
    #[napi]
    pub fn keyrings(&self) -> Result<Vec<String>> {
        self.inner.keyring_names().map_err(core)
    }

    /// Keyring `name` as JSON text (versions, states, dates; never key material).
    #[napi]
    pub fn keyring_info_json(&self, name: String) -> Result<String> {
        let summary = self.inner.summary(&name).map_err(core)?;
        serde_json::to_string(&summary).map_err(|e| invalid(&e.to_string()))
    }

    /// Adds a version (Staged, or Primary with `promote`); returns its number.
    #[napi]
    pub fn rotate(&self, name: String, promote: Option<bool>) -> Result<u32> {
        let rollout = if promote.unwrap_or(false) {
            Rollout::Immediate
        } else {
            Rollout::Staged
        };
        self.inner
            .rotate(&name, rollout)
            .map(|key_ref| key_ref.version)
            .map_err(core)
    }

    /// Makes `version` the Primary.
    #[napi]
    pub fn promote(&self, name: String, version: u32) -> Result<()> {
        self.inner
            .promote(&KeyRef::new(name, version))
            .map_err(core)
    }

    /// Retires `version` (it stops decrypting; `enable` reverses it).
    #[napi]
    pub fn retire(&self, name: String, version: u32) -> Result<()> {
        self.inner
            .retire(&KeyRef::new(name, version))
            .map(drop)
            .map_err(core)
    }

    /// Enables a retired `version`.
    #[napi]
    pub fn enable(&self, name: String, version: u32) -> Result<()> {
        self.inner
            .enable(&KeyRef::new(name, version))
            .map(drop)
            .map_err(core)
    }

    /// Schedules `version` for destruction.
    #[napi]
    pub fn schedule_destroy(&self, name: String, version: u32) -> Result<()> {
        self.inner
            .schedule_destroy(&KeyRef::new(name, version))
            .map(drop)
            .map_err(core)
    }

    /// Cancels a scheduled destruction.
    #[napi]
    pub fn cancel_destroy(&self, name: String, version: u32) -> Result<()> {
        self.inner
            .cancel_destroy(&KeyRef::new(name, version))
            .map(drop)
            .map_err(core)
    }

    /// Destroys `version`'s key material; refused (`RefusedError`) while something known still
    /// needs it, unless `force` with a one-line `reason` (recorded in the audit log). A
    /// Disabled version is first scheduled: `after` says when to ask again (Unix seconds).
    #[napi]
    pub fn destroy(
        &self,
        name: String,
        version: u32,
        options: Option<DestroyOptions>,
    ) -> Result<DestroyResult> {
        let (force, reason) =
            options.map_or((false, None), |o| (o.force.unwrap_or(false), o.reason));
        let mode = if force {
            keyring::Destroy::force(reason.unwrap_or_default()).map_err(core)?
        } else {
            keyring::Destroy::IfUnused
        };
        let outcome = self
            .inner
            .destroy(&KeyRef::new(name, version), &mode)
            .map_err(core)?;
        Ok(match outcome {
            keyring::DestroyOutcome::Destroyed { forced } => DestroyResult {
                destroyed: true,
                forced,
                after: None,
            },
            keyring::DestroyOutcome::Scheduled { after } => DestroyResult {
                destroyed: false,
                forced: false,
                after: Some(after),
            },
            _ => DestroyResult {
                destroyed: false,
                forced: false,
                after: None,
            },
        })
    }

    /// Encrypts `data` under keyring `name`, bound to `context`.
    #[napi]
    pub fn seal(
        &self,
        name: String,
        data: Buffer,
        context: Option<HashMap<String, String>>,
    ) -> Result<Buffer> {
        let ctx = self::context(context)?;
        let sealed = envelope::seal(&*self.inner, &name, &ctx, &data).map_err(core)?;
        Ok(sealed.into())
    }

    /// Decrypts an envelope made by `seal` with an equal `context`.
    #[napi]
    pub fn open_blob(
        &self,
        blob: Buffer,
        context: Option<HashMap<String, String>>,
    ) -> Result<Buffer> {
        let ctx = self::context(context)?;
        let plain = envelope::open(&*self.inner, &ctx, &blob).map_err(core)?;
        Ok(plain.to_vec().into())
    }

    /// Encrypts a short secret into a `tle1.` text token.
    #[napi]
    pub fn seal_token(
        &self,
        name: String,
        data: Buffer,
        context: Option<HashMap<String, String>>,
    ) -> Result<String> {
        let ctx = self::context(context)?;
        envelope::seal_token(&*self.inner, &name, &ctx, &data).map_err(core)
    }

    /// Decrypts a `tle1.` token made with an equal `context`.
    #[napi]
    pub fn open_token(
        &self,
        token: String,
        context: Option<HashMap<String, String>>,
    ) -> Result<Buffer> {
        let ctx = self::context(context)?;
        let plain = envelope::open_token(&*self.inner, &ctx, &token).map_err(core)?;
        Ok(plain.to_vec().into())
    }

    /// Re-wraps an envelope's data key under the current Primary (the body is not
    /// re-encrypted).
    #[napi]
    pub fn rewrap(&self, blob: Buffer) -> Result<Buffer> {
        let r = envelope::rewrap(&*self.inner, &blob).map_err(core)?;
        Ok(r.envelope.into())
    }

    /// As `rewrap`, for a `tle1.` token (its context is needed).
    #[napi]
    pub fn rewrap_token(
        &self,
        token: String,
        context: Option<HashMap<String, String>>,
    ) -> Result<String> {
        let ctx = self::context(context)?;
        let r = envelope::rewrap_token(&*self.inner, &ctx, &token).map_err(core)?;
        Ok(r.token)
    }
}

/// The addon's version; `index.js` refuses an addon built from another release (a stale
/// `trust.*.node` left beside the package, or a wrong `TRUST_NODE_ADDON`).
#[napi]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

fn hasher() -> &'static PasswordHasher {
    static HASHER: OnceLock<PasswordHasher> = OnceLock::new();
    HASHER.get_or_init(PasswordHasher::new)
}

/// Hashes a password with argon2id (synchronously: blocks the calling thread).
#[napi]
pub fn password_hash_sync(password: String) -> Result<String> {
    hasher().hash(&password).map_err(core)
}

/// Checks a password against an argon2 PHC or bcrypt hash (synchronously).
#[napi]
pub fn password_verify_sync(phc: String, password: String) -> Result<bool> {
    hasher().verify(&password, &phc).map_err(core)
}

pub struct HashTask {
    password: String,
}

impl Task for HashTask {
    type Output = String;
    type JsValue = String;
    fn compute(&mut self) -> Result<String> {
        hasher().hash(&self.password).map_err(core)
    }
    fn resolve(&mut self, _env: Env, output: String) -> Result<String> {
        Ok(output)
    }
}

pub struct VerifyTask {
    phc: String,
    password: String,
    upgrade: bool,
}

impl Task for VerifyTask {
    type Output = (bool, Option<String>);
    type JsValue = Vec<Option<String>>;
    fn compute(&mut self) -> Result<Self::Output> {
        if !self.upgrade {
            return hasher()
                .verify(&self.password, &self.phc)
                .map(|ok| (ok, None))
                .map_err(core);
        }
        match hasher()
            .verify_and_upgrade(&self.password, &self.phc)
            .map_err(core)?
        {
            password::Verified::Match { rehash } => Ok((true, rehash)),
            _ => Ok((false, None)),
        }
    }
    fn resolve(&mut self, _env: Env, (ok, rehash): Self::Output) -> Result<Self::JsValue> {
        Ok(vec![ok.then(|| "1".to_owned()), rehash])
    }
}

/// Hashes a password with argon2id on the libuv pool; resolves to the PHC string.
#[napi(ts_return_type = "Promise<string>")]
pub fn password_hash(password: String) -> AsyncTask<HashTask> {
    AsyncTask::new(HashTask { password })
}

/// Verifies on the libuv pool; resolves to `[matched ? "1" : null, newHashOrNull]`.
#[napi(ts_return_type = "Promise<Array<string | null>>")]
pub fn password_verify(phc: String, password: String, upgrade: bool) -> AsyncTask<VerifyTask> {
    AsyncTask::new(VerifyTask {
        phc,
        password,
        upgrade,
    })
}

/// `text` with credentials and card numbers replaced.
#[napi]
pub fn redact(text: String) -> String {
    static REDACTOR: OnceLock<Redactor> = OnceLock::new();
    REDACTOR
        .get_or_init(Redactor::default)
        .redact(&text)
        .into_owned()
}

/// Options of `webhook.verify`.
#[napi(object)]
pub struct VerifyOptions {
    pub now: Option<i64>,
    pub url: Option<String>,
    pub method: Option<String>,
    pub query: Option<String>,
    pub api_key: Option<String>,
    pub tolerance: Option<u32>,
    pub lenient: Option<bool>,
}

/// A verified delivery.
#[napi(object)]
pub struct WebhookResult {
    pub scheme: String,
    pub secret_index: u32,
    pub timestamp: Option<i64>,
    pub delivery_id: Option<String>,
    pub shop: Option<String>,
}

/// Verifies a webhook delivery; throws a `TrustError` (code `SIGNATURE_INVALID`, …) otherwise.
#[napi]
pub fn webhook_verify(
    scheme: String,
    body: Buffer,
    headers: HashMap<String, String>,
    secrets: Vec<Either<String, Buffer>>,
    options: Option<VerifyOptions>,
) -> Result<WebhookResult> {
    let scheme = Scheme::from_name(&scheme)
        .ok_or_else(|| invalid(&format!("unknown webhook scheme {scheme:?}")))?;
    let o = options.unwrap_or(VerifyOptions {
        now: None,
        url: None,
        method: None,
        query: None,
        api_key: None,
        tolerance: None,
        lenient: None,
    });
    let needed = match scheme {
        Scheme::ShopifyOAuth | Scheme::ShopifyAppProxy => o.query.is_none().then_some("query"),
        Scheme::ShopifySessionToken => o.api_key.is_none().then_some("apiKey"),
        Scheme::HubSpotV2 | Scheme::HubSpotV3 => o.url.is_none().then_some("url"),
        _ => None,
    };
    if let Some(arg) = needed {
        return Err(invalid(&format!(
            "scheme {} needs options.{arg}",
            scheme.name()
        )));
    }
    let secrets =
        SecretSet::try_from_vec(secrets.into_iter().map(secret).collect()).map_err(core)?;
    let headers: Vec<(String, String)> = headers.into_iter().collect();
    let now = o.now.unwrap_or_else(|| SystemClock.now_unix());
    // trust-core's one dispatcher, the same one the CLI, the C ABI and the Python package call.
    let mut req =
        webhook::Request::new(&secrets, &body).method(o.method.as_deref().unwrap_or("POST"));
    for (name, value) in &headers {
        req = req.header(name, value);
    }
    if let Some(url) = o.url.as_deref() {
        req = req.url(url);
    }
    if let Some(query) = o.query.as_deref() {
        req = req.query(query);
    }
    if let Some(key) = o.api_key.as_deref() {
        req = req.audience(key);
    }
    if let Some(t) = o.tolerance {
        req = req.tolerance(u64::from(t));
    }
    if o.lenient.unwrap_or(false) {
        req = req.canonicalization(shopify::Canonicalization::Lenient);
    }
    let v = webhook::verify(scheme, &req, now).map_err(core)?;
    Ok(WebhookResult {
        scheme: v.scheme.name().to_owned(),
        secret_index: u32::try_from(v.secret_index).unwrap_or(u32::MAX),
        timestamp: v.timestamp,
        delivery_id: v.delivery_id,
        shop: v.shop,
    })
}

/// Remembers accepted delivery ids (in this process, or shared through a `redis://` or
/// `postgres://` URL opened by trust-backends), so a replayed delivery is refused.
#[napi]
pub struct ReplayGuard {
    inner: webhook::ReplayGuard<Box<dyn webhook::SeenStore>>,
}

#[napi]
impl ReplayGuard {
    /// Ids are kept `ttl` seconds; `store` is a URL, or none for this process only.
    #[napi(constructor)]
    pub fn new(ttl: u32, store: Option<String>, capacity: Option<u32>) -> Result<Self> {
        let store: Box<dyn webhook::SeenStore> = match store {
            None => Box::new(webhook::MemorySeenStore::new(
                capacity.map_or(100_000, |c| c as usize),
            )),
            Some(url) => trust_backends::open_seen_store(&url).map_err(core)?,
        };
        Ok(Self {
            inner: webhook::ReplayGuard::new(store, u64::from(ttl)),
        })
    }

    /// Records `id` in `namespace` (the scheme name); throws `REPLAYED` when already seen.
    #[napi]
    pub fn check_id(&self, namespace: String, id: String, now: Option<i64>) -> Result<()> {
        let now = now.unwrap_or_else(|| SystemClock.now_unix());
        self.inner.check_id(&namespace, &id, now).map_err(core)
    }
}
