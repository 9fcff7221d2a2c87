//! A `postgres://` URL turned into connection settings, TLS included.
//!
//! The URL is libpq's (`postgres://user:password@host:port/dbname?param=value&…`), with
//! libpq's `sslmode` values:
//!
//! | `sslmode` | TLS | server certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow`, `prefer` (the default) | when the server offers it | not verified (as libpq) |
//! | `require` | always | not verified, unless `sslrootcert` is given (then as `verify-ca`, as libpq) |
//! | `verify-ca` | always | chain verified against `sslrootcert` or the system's CAs |
//! | `verify-full` | always | chain **and** host name verified — use this for a managed database |
//!
//! `sslrootcert=PATH` names a PEM file of CA certificates (the provider's bundle); without it
//! the verifying modes use the operating system's store. TLS is rustls (TLS 1.2 and 1.3 only).
//! Every other parameter is handed to the `postgres` crate unchanged (`connect_timeout`,
//! `application_name`, `options=-csearch_path%3Dtenant_a` to keep a deployment in its own schema,
//! …); an unknown one is an error, not ignored.

use std::sync::Arc;
use std::time::Duration;

use postgres::config::SslMode as ClientSslMode;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use trust_core::store_url::{Scheme, StoreUrl};

use crate::Error;

/// libpq's `sslmode`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS if the server offers it, certificate not verified.
    Allow,
    /// As `Allow` (libpq tries TLS first in both; we always do).
    Prefer,
    /// TLS always; certificate verified only when `sslrootcert` is given.
    Require,
    /// TLS always; chain verified, host name not.
    VerifyCa,
    /// TLS always; chain and host name verified.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, Error> {
        Ok(match value {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => {
                return Err(Error::Config {
                    message: format!(
                        "sslmode `{}` is not one of disable, allow, prefer, require, verify-ca, \
                         verify-full",
                        value.chars().take(32).collect::<String>()
                    ),
                });
            }
        })
    }

    /// The libpq spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// How the server's certificate is checked (derived from `sslmode` and `sslrootcert`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Encrypted, but any certificate is accepted (libpq's `require` without `sslrootcert`).
    None,
    /// The chain must lead to a trusted CA; the name is not checked.
    Chain,
    /// The chain and the host name are checked.
    Full,
}

/// Connection settings parsed from a URL.
#[derive(Clone)]
pub struct ConnectOptions {
    pub(crate) url: StoreUrl,
    pub(crate) config: postgres::Config,
    pub(crate) ssl_mode: SslMode,
    pub(crate) verification: Verification,
    pub(crate) root_cert: Option<String>,
    /// Most connections open at once (default 8).
    pub pool_size: usize,
    /// How long a caller waits for a pooled connection (default 30 s).
    pub pool_wait: Duration,
}

impl core::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("url", &self.url)
            .field("ssl_mode", &self.ssl_mode)
            .field("verification", &self.verification)
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

/// Connect timeout when the URL sets none: a dead server must fail a CLI call, not hang it.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl ConnectOptions {
    /// Parses a `postgres://` or `postgresql://` URL.
    ///
    /// # Errors
    /// [`Error::Config`] for another scheme, a bad `sslmode`, an unknown parameter or a URL the
    /// client library cannot parse (the message never contains the password).
    pub fn parse(url: &StoreUrl) -> Result<Self, Error> {
        if url.scheme() != Scheme::Postgres {
            return Err(Error::Config {
                message: format!("{url} is not a postgres:// URL"),
            });
        }
        let raw = url.expose_secret();
        let (base, query) = match raw.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (raw, None),
        };
        let mut ssl_mode = SslMode::Prefer;
        let mut root_cert = None;
        let mut passed = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => ssl_mode = SslMode::parse(&percent_decode(value)?)?,
                "sslrootcert" => root_cert = Some(percent_decode(value)?),
                _ => passed.push(pair),
            }
        }
        let rebuilt = if passed.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", passed.join("&"))
        };
        let mut config: postgres::Config =
            rebuilt
                .parse()
                .map_err(|e: postgres::Error| Error::Config {
                    message: format!("cannot parse {url}: {}", url.scrub(&e.to_string())),
                })?;
        if config.get_hosts().is_empty() {
            return Err(Error::Config {
                message: format!("{url} names no host"),
            });
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("trust");
        }
        // Dead peers (a failed-over primary) are noticed by keepalives, not by a hung call.
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        config.ssl_mode(match ssl_mode {
            SslMode::Disable => ClientSslMode::Disable,
            SslMode::Allow | SslMode::Prefer => ClientSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => ClientSslMode::Require,
        });
        let verification = match (ssl_mode, &root_cert) {
            (SslMode::VerifyFull, _) => Verification::Full,
            (SslMode::VerifyCa, _) | (SslMode::Require, Some(_)) => Verification::Chain,
            _ => Verification::None,
        };
        Ok(Self {
            url: url.clone(),
            config,
            ssl_mode,
            verification,
            root_cert,
            pool_size: 8,
            pool_wait: Duration::from_secs(30),
        })
    }

    /// The URL, redacted when displayed.
    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// The effective `sslmode`.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// How the server's certificate will be checked.
    pub fn verification(&self) -> Verification {
        self.verification
    }

    /// The rustls client configuration for these options.
    ///
    /// # Errors
    /// [`Error::Config`] when `sslrootcert` cannot be read or holds no certificate, or a
    /// verifying mode finds no trusted CA at all.
    pub(crate) fn tls_config(&self) -> Result<ClientConfig, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config {
                message: format!("TLS setup: {e}"),
            })?;
        let config = match self.verification {
            Verification::None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate {
                    algorithms: provider.signature_verification_algorithms,
                }))
                .with_no_client_auth(),
            Verification::Chain | Verification::Full => {
                let roots = self.roots()?;
                let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|e| Error::Config {
                        message: format!("TLS setup: {e}"),
                    })?;
                if self.verification == Verification::Full {
                    builder.with_webpki_verifier(webpki).with_no_client_auth()
                } else {
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(ChainOnly { inner: webpki }))
                        .with_no_client_auth()
                }
            }
        };
        Ok(config)
    }

    fn roots(&self) -> Result<RootCertStore, Error> {
        let mut roots = RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                    .map_err(|e| Error::Config {
                        message: format!("cannot read sslrootcert {path}: {e}"),
                    })?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(Error::Config {
                        message: format!("sslrootcert {path} holds no usable CA certificate"),
                    });
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return Err(Error::Config {
                        message: format!(
                            "sslmode={} needs CA certificates: give sslrootcert=PATH or install \
                             the system's CA bundle",
                            self.ssl_mode.as_str()
                        ),
                    });
                }
            }
        }
        Ok(roots)
    }
}

/// Decodes `%XX` escapes in a URL parameter value.
fn percent_decode(value: &str) -> Result<String, Error> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| core::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::Config {
                    message: "a URL parameter has a malformed %-escape".to_owned(),
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::Config {
        message: "a URL parameter is not UTF-8".to_owned(),
    })
}

/// libpq's `sslmode=require` without a CA: encryption against passive listeners only. The
/// handshake signature is still checked, so the peer must hold the certificate's key.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// libpq's `verify-ca`: the full WebPKI check, except that a name mismatch is accepted.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(text: &str) -> Result<ConnectOptions, Error> {
        ConnectOptions::parse(&StoreUrl::parse(text).expect("url"))
    }

    #[test]
    fn sslmodes_map_as_libpq_documents() {
        let cases = [
            ("", SslMode::Prefer, Verification::None),
            ("?sslmode=disable", SslMode::Disable, Verification::None),
            ("?sslmode=allow", SslMode::Allow, Verification::None),
            ("?sslmode=require", SslMode::Require, Verification::None),
            (
                "?sslmode=require&sslrootcert=/x.pem",
                SslMode::Require,
                Verification::Chain,
            ),
            ("?sslmode=verify-ca", SslMode::VerifyCa, Verification::Chain),
            (
                "?sslmode=verify-full",
                SslMode::VerifyFull,
                Verification::Full,
            ),
            (
                "?sslrootcert=%2Fetc%2Fca.pem&sslmode=verify-full&connect_timeout=3",
                SslMode::VerifyFull,
                Verification::Full,
            ),
        ];
        for (query, mode, verification) in cases {
            let o = opts(&format!("postgres://u:pw@db.example:5432/trust{query}")).expect(query);
            assert_eq!(o.ssl_mode(), mode, "{query}");
            assert_eq!(o.verification(), verification, "{query}");
        }
        let o = opts("postgresql://u@db/t?sslrootcert=%2Fetc%2Fca.pem&sslmode=verify-full")
            .expect("parse");
        assert_eq!(o.root_cert.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(o.config.get_ssl_mode(), ClientSslMode::Require);
        assert_eq!(
            o.config.get_connect_timeout(),
            Some(&Duration::from_secs(10))
        );
        let o = opts("postgresql://u@db/t?connect_timeout=3").expect("parse");
        assert_eq!(
            o.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
    }

    #[test]
    fn bad_options_are_config_errors_without_the_password() {
        for text in [
            "postgres://u:Pa55word-x@db/t?sslmode=sometimes",
            "postgres://u:Pa55word-x@db/t?no_such_option=1",
            "postgres://u:Pa55word-x@db/t?sslrootcert=%zz",
            "postgres://u:Pa55word-x@db:notaport/t",
        ] {
            let err = opts(text).expect_err(text);
            assert!(matches!(err, Error::Config { .. }), "{text}: {err:?}");
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("Pa55word-x"), "{shown}");
            assert!(!shown.contains('\n'), "{shown}");
        }
        let redis = StoreUrl::parse("redis://h/0").expect("url");
        assert!(matches!(
            ConnectOptions::parse(&redis),
            Err(Error::Config { .. })
        ));
    }

    #[test]
    fn verifying_modes_need_a_readable_ca_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pem");
        let o = opts(&format!(
            "postgres://db/t?sslmode=verify-full&sslrootcert={}",
            missing.display()
        ))
        .expect("parse");
        assert!(matches!(o.tls_config(), Err(Error::Config { .. })));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let o = opts(&format!(
            "postgres://db/t?sslmode=verify-ca&sslrootcert={}",
            empty.display()
        ))
        .expect("parse");
        let err = o.tls_config().expect_err("no certs");
        assert!(err.to_string().contains("no usable CA"), "{err}");
        // Not verifying: no CA needed.
        assert!(
            opts("postgres://db/t?sslmode=require")
                .expect("parse")
                .tls_config()
                .is_ok()
        );
    }
}
