//! Root keys in AWS KMS.
//!
//! A home's root key can be a KMS key (`trust init --root-aws-kms KEY_ID_OR_ARN`): wrapping a
//! keyring key is a KMS `Encrypt`, unwrapping a `Decrypt`, and the key material never leaves
//! KMS. [`KmsRootKey`] implements trust-core's synchronous
//! [`RootKey`](trust_core::root::RootKey) over the asynchronous AWS SDK, which runs on a small
//! current-thread tokio runtime owned by the key; nothing async leaks out.
//!
//! * **Configuration** is the AWS SDK's everywhere: `AWS_REGION`, `AWS_ENDPOINT_URL`, and the
//!   default credentials chain (environment, shared profile, web identity, container, IMDS).
//! * **Encryption context** binds every wrap to what it protects: `trust:aad` (the base64 of the
//!   associated data, which names the keyring and version, or the home's check label) and
//!   `trust:store` (a random id fixed when the home is created). A wrapped key moved to another
//!   keyring or another home does not decrypt, and CloudTrail shows which keyring each call was
//!   for.
//! * **Caching**: trust-core's home already caches unwrapped *version* keys, so a warm process
//!   makes no KMS call per message. On top of that, [`KmsRootKey`] keeps a TTL cache of its own
//!   unwraps with single-flight refresh (the AWS Encryption SDK's storm-tracking model): when an
//!   entry is missing or expired, one caller asks KMS and every other caller for the same entry
//!   waits for that answer, so a thousand threads on a cold keyring make one call. The TTL
//!   (5 minutes by default) bounds how long a disabled KMS key keeps working in a running
//!   process.
//! * **Errors** are distinct: a disabled, pending-deletion or missing key and denied access are
//!   *key unavailable* (exit 4); an unreachable endpoint or a KMS outage is exit 3; throttling is
//!   retried by the SDK's standard retry policy (exponential back-off with jitter, 5 attempts)
//!   before it is reported.
//!
//! Tests run against `moto_server`, an emulator of the KMS API (not AWS itself).
#![forbid(unsafe_code)]

mod cache;

use core::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::ProvideCredentials as _;
use aws_sdk_kms::config::http::HttpResponse;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use trust_core::error::Category;
use trust_core::root::{BackendError, RootKey, RootKeyError};
use zeroize::Zeroizing;

use crate::cache::UnwrapCache;

/// How long an unwrapped key is trusted before KMS is asked again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// The first byte of every plaintext this crate gives KMS to encrypt (the layout version).
pub const WRAP_FORMAT: u8 = 0x01;
/// Longest key id, alias or ARN accepted.
pub const MAX_KEY_ID_LEN: usize = 2048;

/// What a KMS root key needs: the key and the home's store id; endpoint and region default to
/// the SDK's environment (`AWS_ENDPOINT_URL`, `AWS_REGION`).
#[derive(Clone, Debug)]
pub struct KmsConfig {
    /// Key id, alias (`alias/…`) or ARN.
    pub key_id: String,
    /// The store id bound into every encryption context.
    pub store: String,
    /// Overrides `AWS_ENDPOINT_URL` (tests: the emulator).
    pub endpoint: Option<String>,
    /// Overrides `AWS_REGION`.
    pub region: Option<String>,
    /// Unwrap cache TTL ([`DEFAULT_TTL`]; zero disables the cache).
    pub ttl: Duration,
}

impl KmsConfig {
    /// A configuration for `key_id` and `store` with the SDK's environment.
    pub fn new(key_id: impl Into<String>, store: impl Into<String>) -> Self {
        Self {
            key_id: key_id.into(),
            store: store.into(),
            endpoint: None,
            region: None,
            ttl: DEFAULT_TTL,
        }
    }

    /// The descriptor a home records: `aws-kms:key=<KEY>;store=<STORE>`. Needs no escaping:
    /// key ids, aliases and ARNs are `[A-Za-z0-9:/_.-]` and store ids `[A-Za-z0-9-]`.
    pub fn descriptor(&self) -> String {
        format!("aws-kms:key={};store={}", self.key_id, self.store)
    }

    /// Parses a descriptor written by [`KmsConfig::descriptor`].
    ///
    /// # Errors
    /// [`KmsError::BadDescriptor`].
    pub fn from_descriptor(text: &str) -> Result<Self, KmsError> {
        let rest = text
            .strip_prefix("aws-kms:key=")
            .ok_or(KmsError::BadDescriptor)?;
        let (key, store) = rest.rsplit_once(";store=").ok_or(KmsError::BadDescriptor)?;
        check_key_id(key)?;
        if store.is_empty()
            || store.len() > 64
            || !store
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(KmsError::BadDescriptor);
        }
        Ok(Self::new(key, store))
    }
}

/// Refuses key ids that cannot be KMS key ids, aliases or ARNs.
///
/// # Errors
/// [`KmsError::BadKeyId`].
pub fn check_key_id(key: &str) -> Result<(), KmsError> {
    let ok = !key.is_empty()
        && key.len() <= MAX_KEY_ID_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":/_-.".contains(&b));
    if ok { Ok(()) } else { Err(KmsError::BadKeyId) }
}

/// A KMS failure, classified for operators. Messages never contain credentials or key material.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KmsError {
    /// Not a KMS key id, alias or ARN.
    BadKeyId,
    /// A home's KMS descriptor does not parse.
    BadDescriptor,
    /// The tokio runtime could not be created.
    Runtime,
    /// The key is disabled or pending deletion.
    Disabled,
    /// The key does not exist (or is not visible to these credentials).
    NotFound,
    /// The credentials may not use the key.
    AccessDenied,
    /// Still throttled after the retries.
    Throttled,
    /// The endpoint cannot be reached, or KMS is unavailable.
    Unreachable(String),
    /// No credentials or region were found.
    Config(String),
    /// Anything else KMS answered.
    Other(String),
}

impl fmt::Display for KmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadKeyId => f.write_str("not a KMS key id, alias or ARN"),
            Self::BadDescriptor => f.write_str("the home's KMS root descriptor is invalid"),
            Self::Runtime => f.write_str("cannot start the KMS client's runtime"),
            Self::Disabled => f.write_str("the KMS key is disabled or pending deletion"),
            Self::NotFound => f.write_str("the KMS key does not exist"),
            Self::AccessDenied => f.write_str("access to the KMS key is denied"),
            Self::Throttled => f.write_str("KMS is throttling requests (still, after retries)"),
            Self::Unreachable(why) => write!(f, "KMS is unreachable: {why}"),
            Self::Config(why) => write!(f, "the AWS configuration is incomplete: {why}"),
            Self::Other(why) => write!(f, "KMS refused the request: {why}"),
        }
    }
}

impl std::error::Error for KmsError {}

impl KmsError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadKeyId => "KMS_KEY_ID_INVALID",
            Self::BadDescriptor => "KMS_DESCRIPTOR_INVALID",
            Self::Runtime => "KMS_RUNTIME_FAILED",
            Self::Disabled => "KMS_KEY_DISABLED",
            Self::NotFound => "KMS_KEY_NOT_FOUND",
            Self::AccessDenied => "KMS_ACCESS_DENIED",
            Self::Throttled => "KMS_THROTTLED",
            Self::Unreachable(_) => "KMS_UNREACHABLE",
            Self::Config(_) => "KMS_CONFIG_INCOMPLETE",
            Self::Other(_) => "KMS_FAILED",
        }
    }

    /// The category (decides the exit code).
    pub fn category(&self) -> Category {
        match self {
            Self::BadKeyId | Self::BadDescriptor | Self::Config(_) => Category::Usage,
            Self::Disabled | Self::NotFound | Self::AccessDenied => Category::KeyUnavailable,
            Self::Throttled | Self::Unreachable(_) | Self::Other(_) => Category::Input,
            Self::Runtime => Category::Internal,
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Disabled => {
                Some("enable the key in KMS (aws kms enable-key) or cancel its deletion")
            }
            Self::AccessDenied => {
                Some("grant kms:Encrypt and kms:Decrypt on the key to these credentials")
            }
            Self::Unreachable(_) => {
                Some("check AWS_REGION / AWS_ENDPOINT_URL and the network path to KMS")
            }
            Self::Config(_) => {
                Some("set AWS_REGION and credentials the way the AWS CLI expects them")
            }
            _ => None,
        }
    }
}

impl From<KmsError> for RootKeyError {
    fn from(e: KmsError) -> Self {
        let b = BackendError::new(e.code(), e.category(), e.to_string());
        Self::Backend(match e.hint() {
            Some(h) => b.with_hint(h),
            None => b,
        })
    }
}

fn classify<E: ProvideErrorMetadata + fmt::Debug>(
    e: &SdkError<E, HttpResponse>,
) -> Option<KmsError> {
    Some(match e {
        // A 403 whose body is not a KMS error document: an authorization layer in front of the
        // key (an IAM check answering in the query protocol's XML, a proxy) refused the caller.
        SdkError::ServiceError(se)
            if se.raw().status().as_u16() == 403
                && !matches!(
                    se.err().code(),
                    Some(
                        "DisabledException"
                            | "KMSInvalidStateException"
                            | "KeyUnavailableException"
                            | "NotFoundException"
                    )
                ) =>
        {
            KmsError::AccessDenied
        }
        SdkError::ServiceError(se) => match se.err().code() {
            Some("DisabledException" | "KMSInvalidStateException" | "KeyUnavailableException") => {
                KmsError::Disabled
            }
            Some("NotFoundException") => KmsError::NotFound,
            Some(
                "AccessDeniedException"
                | "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "InvalidClientTokenId"
                | "AccessDenied",
            ) => KmsError::AccessDenied,
            Some("ThrottlingException" | "LimitExceededException") => KmsError::Throttled,
            Some("InvalidCiphertextException" | "IncorrectKeyException") => return None,
            Some("KMSInternalException" | "DependencyTimeoutException") => {
                KmsError::Unreachable("KMS reported an internal failure".into())
            }
            Some(code) => KmsError::Other(code.chars().take(64).collect()),
            None => KmsError::Other("an unclassified service error".into()),
        },
        SdkError::DispatchFailure(_) => {
            KmsError::Unreachable("the request could not be sent".into())
        }
        SdkError::TimeoutError(_) => KmsError::Unreachable("the request timed out".into()),
        SdkError::ResponseError(_) => {
            KmsError::Unreachable("the response could not be read".into())
        }
        SdkError::ConstructionFailure(_) => {
            KmsError::Config("the request could not be built (credentials or region)".into())
        }
        _ => KmsError::Other("an unexpected SDK error".into()),
    })
}

/// Runs `fut` to completion on `runtime`: here, or, when this thread already drives a tokio
/// runtime (an axum handler opening a KMS-rooted home), on a scoped thread of its own, because
/// tokio refuses to block a thread that drives another runtime. Callers keep one synchronous
/// API either way (the same rule as trust-postgres).
fn block_on<F>(runtime: &tokio::runtime::Runtime, fut: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_err() {
        return runtime.block_on(fut);
    }
    std::thread::scope(|scope| match scope.spawn(|| runtime.block_on(fut)).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// The key's private runtime. Dropping a tokio runtime waits for its blocking pool, which tokio
/// forbids inside another runtime; inside one, this shuts it down in the background instead.
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl std::ops::Deref for OwnRuntime {
    type Target = tokio::runtime::Runtime;
    fn deref(&self) -> &tokio::runtime::Runtime {
        match &self.0 {
            Some(runtime) => runtime,
            None => unreachable!("the runtime is taken only by drop"),
        }
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            runtime.shutdown_background();
        }
    }
}

/// A root key in AWS KMS (see the crate docs).
pub struct KmsRootKey {
    runtime: OwnRuntime,
    client: Client,
    config: KmsConfig,
    cache: UnwrapCache,
    calls: AtomicU64,
}

impl fmt::Debug for KmsRootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KmsRootKey")
            .field("key_id", &self.config.key_id)
            .field("store", &self.config.store)
            .finish_non_exhaustive()
    }
}

impl KmsRootKey {
    /// A client for `config`, loading region and credentials from the environment (resolving
    /// the credentials once, so that missing ones are a configuration error now rather than a
    /// failed request later). Makes no KMS call (the first wrap or unwrap does).
    ///
    /// # Errors
    /// [`KmsError::BadKeyId`], [`KmsError::Runtime`], [`KmsError::Config`] without a region or
    /// credentials.
    pub fn connect(config: KmsConfig) -> Result<Self, KmsError> {
        check_key_id(&config.key_id)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|_| KmsError::Runtime)?;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .retry_config(RetryConfig::standard().with_max_attempts(5));
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint.clone());
        }
        if let Some(region) = &config.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let sdk = block_on(&runtime, loader.load());
        // Without a region the SDK's endpoint resolver panics on the first request; without
        // credentials every request fails as if KMS were unreachable. Both are configuration
        // errors, reported as such before anything is sent.
        if sdk.region().is_none() {
            return Err(KmsError::Config(
                "no AWS region (set AWS_REGION, or a region in the AWS profile)".into(),
            ));
        }
        let credentials = sdk
            .credentials_provider()
            .ok_or_else(|| KmsError::Config("no AWS credentials provider is configured".into()))?;
        block_on(&runtime, credentials.provide_credentials())
            .map_err(|_| {
                KmsError::Config(
                    "no usable AWS credentials (environment, profile, web identity, container or instance metadata)"
                        .into(),
                )
            })?;
        let client = Client::new(&sdk);
        Ok(Self {
            cache: UnwrapCache::new(config.ttl),
            runtime: OwnRuntime(Some(runtime)),
            client,
            config,
            calls: AtomicU64::new(0),
        })
    }

    /// How many KMS requests this key made (for tests and metrics).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The configuration.
    pub fn config(&self) -> &KmsConfig {
        &self.config
    }

    /// Forgets every cached unwrap (the next unwraps ask KMS again).
    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    fn context(&self, aad: &[u8]) -> [(String, String); 2] {
        use base64::Engine as _;
        [
            (
                "trust:aad".into(),
                base64::engine::general_purpose::STANDARD.encode(aad),
            ),
            ("trust:store".into(), self.config.store.clone()),
        ]
    }
}

impl RootKey for KmsRootKey {
    fn kind(&self) -> &'static str {
        "aws-kms"
    }

    fn wrap(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, RootKeyError> {
        // KMS refuses an empty plaintext (1 to 4096 bytes), and a home's check value wraps an
        // empty one: KMS encrypts `WRAP_FORMAT ‖ plaintext`, which also versions the layout.
        let mut framed = Zeroizing::new(Vec::with_capacity(1 + plaintext.len()));
        framed.push(WRAP_FORMAT);
        framed.extend_from_slice(plaintext);
        let mut req = self
            .client
            .encrypt()
            .key_id(&self.config.key_id)
            .plaintext(Blob::new(framed.to_vec()));
        for (k, v) in self.context(aad) {
            req = req.encryption_context(k, v);
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let out = block_on(&self.runtime, req.send())
            .map_err(|e| classify(&e).map_or(RootKeyError::Unwrap, RootKeyError::from))?;
        out.ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| KmsError::Other("no ciphertext returned".into()).into())
    }

    fn unwrap(&self, aad: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, RootKeyError> {
        let mut cache_key = Vec::with_capacity(8 + aad.len() + wrapped.len());
        cache_key.extend_from_slice(&(aad.len() as u64).to_be_bytes());
        cache_key.extend_from_slice(aad);
        cache_key.extend_from_slice(wrapped);
        let value = self.cache.get_or_fetch(&cache_key, || {
            let mut req = self
                .client
                .decrypt()
                .key_id(&self.config.key_id)
                .ciphertext_blob(Blob::new(wrapped.to_vec()));
            for (k, v) in self.context(aad) {
                req = req.encryption_context(k, v);
            }
            self.calls.fetch_add(1, Ordering::Relaxed);
            let out = block_on(&self.runtime, req.send())
                .map_err(|e| classify(&e).map_or(RootKeyError::Unwrap, RootKeyError::from))?;
            let framed = Zeroizing::new(out.plaintext.ok_or(RootKeyError::Unwrap)?.into_inner());
            match framed.split_first() {
                Some((&WRAP_FORMAT, rest)) => Ok(Zeroizing::new(rest.to_vec())),
                _ => Err(RootKeyError::Unwrap),
            }
        })?;
        Ok(Zeroizing::new(value.as_slice().to_vec()))
    }
}
