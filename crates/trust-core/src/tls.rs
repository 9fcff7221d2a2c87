//! TLS policy: TLS 1.3 and 1.2 only, AEAD cipher suites only, and no `http://` endpoints.
//!
//! Connector apps promise "TLS 1.2 or higher (TLS 1.3 preferred)" on every connection — to
//! Shopify, to a merchant's self-hosted Odoo, to HubSpot. This module builds the
//! [`rustls`] configurations that keep that promise, so no call site has to remember it:
//!
//! * [`client_config`] and [`server_config`] allow exactly TLS 1.3 and TLS 1.2 (1.3 preferred,
//!   as rustls always prefers the highest version), with the AEAD suites in [`ALLOWED_SUITES`]
//!   (AES-GCM and ChaCha20-Poly1305 with ECDHE key exchange); SSLv3, TLS 1.0/1.1, CBC, RC4,
//!   static RSA key exchange and NULL suites cannot be negotiated at all. rustls implements
//!   none of those anyway; the explicit allowlist keeps it that way if a future provider adds
//!   one. Certificates are verified against the roots given (webpki, with hostname checks).
//! * [`check_url`] refuses `http://` (and any non-`https` scheme) before a socket is opened,
//!   with a message an operator understands — for instance when an Odoo URL is entered during
//!   onboarding. It also refuses credentials embedded in the URL.
//! * [`probe`] connects to an `https://` URL and reports the [`Negotiated`] protocol and suite
//!   (the `trust tls check` command).
//!
//! The crypto provider is rustls's `ring` provider, already in the dependency graph.

use core::fmt;
use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use rustls;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{CipherSuite, ClientConfig, ProtocolVersion, RootCertStore, ServerConfig};

use crate::error::{Category, TrustError};

/// The cipher suites this policy allows: every one is an AEAD with forward-secret key exchange.
pub const ALLOWED_SUITES: &[CipherSuite] = &[
    CipherSuite::TLS13_AES_256_GCM_SHA384,
    CipherSuite::TLS13_AES_128_GCM_SHA256,
    CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// The protocol versions this policy allows, highest first.
pub const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Largest PEM file read by the loaders.
const MAX_PEM: u64 = 4 << 20;
/// Longest URL accepted by [`check_url`].
pub const MAX_URL_LEN: usize = 2048;

/// The `ring` provider restricted to [`ALLOWED_SUITES`].
pub fn provider() -> Arc<CryptoProvider> {
    let mut p = rustls::crypto::ring::default_provider();
    p.cipher_suites
        .retain(|s| ALLOWED_SUITES.contains(&s.suite()));
    Arc::new(p)
}

/// A client configuration under this policy, trusting `roots`.
///
/// # Errors
/// [`TlsError::Config`] if rustls rejects the combination (it does not for the built-in provider).
pub fn client_config(roots: RootCertStore) -> Result<ClientConfig, TlsError> {
    Ok(ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(config_err)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A server configuration under this policy, presenting `chain` (leaf first) with `key`.
///
/// # Errors
/// [`TlsError::Config`] when the key does not match the certificate or is unsupported.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, TlsError> {
    ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(config_err)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(config_err)
}

fn config_err(e: rustls::Error) -> TlsError {
    TlsError::Config(e.to_string())
}

fn read_pem(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let file = std::fs::File::open(path).map_err(|e| TlsError::Pem {
        what,
        reason: e.kind().to_string(),
    })?;
    let mut buf = Vec::new();
    file.take(MAX_PEM + 1)
        .read_to_end(&mut buf)
        .map_err(|e| TlsError::Pem {
            what,
            reason: e.kind().to_string(),
        })?;
    if buf.len() as u64 > MAX_PEM {
        return Err(TlsError::Pem {
            what,
            reason: "larger than 4 MiB".into(),
        });
    }
    Ok(buf)
}

/// Every certificate in a PEM file (a chain, leaf first, or a CA bundle).
///
/// # Errors
/// [`TlsError::Pem`] when the file cannot be read, does not parse or holds no certificate.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_pem("certificates", path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TlsError::Pem {
            what: "certificates",
            reason: "not valid PEM".into(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what: "certificates",
            reason: "no CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}

/// A root store from a PEM CA bundle (e.g. `/etc/ssl/certs/ca-certificates.crt`).
///
/// # Errors
/// As [`load_certs`]; [`TlsError::Pem`] when no certificate in it is a usable trust anchor.
pub fn load_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(load_certs(path)?);
    if added == 0 {
        return Err(TlsError::Pem {
            what: "CA bundle",
            reason: "no usable trust anchor".into(),
        });
    }
    Ok(roots)
}

/// The private key in a PEM file (PKCS#8, SEC1 or PKCS#1).
///
/// # Errors
/// [`TlsError::Pem`]; the message never contains key bytes.
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = zeroize::Zeroizing::new(read_pem("private key", path)?);
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsError::Pem {
        what: "private key",
        reason: "no PEM private key".into(),
    })
}

/// The default CA bundle path: `$SSL_CERT_FILE`, else Debian's/Alpine's/RHEL's location.
pub fn default_ca_bundle() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("SSL_CERT_FILE") {
        return Some(p.into());
    }
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ]
    .into_iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.is_file())
}

/// An `https://` endpoint that passed [`check_url`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpsUrl {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port (443 unless given).
    pub port: u16,
}

/// Accepts only `https://host[:port][/path…]` URLs.
///
/// # Errors
/// [`TlsError::PlainHttp`] for `http://`; [`TlsError::BadUrl`] for any other scheme, embedded
/// credentials, a missing host or a bad port.
pub fn check_url(url: &str) -> Result<HttpsUrl, TlsError> {
    let url = url.trim();
    if url.len() > MAX_URL_LEN {
        return Err(TlsError::BadUrl("the URL is too long"));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or(TlsError::BadUrl("the URL has no scheme; expected https://"))?;
    if scheme.eq_ignore_ascii_case("http") {
        return Err(TlsError::PlainHttp);
    }
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(TlsError::BadUrl("only https:// URLs are allowed"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(TlsError::BadUrl(
            "the URL contains credentials; pass them separately, never in a URL",
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or(TlsError::BadUrl("unterminated IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(TlsError::BadUrl("bad port"))?),
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(TlsError::BadUrl("bad IPv6 address"));
        }
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b));
    if !host_ok {
        return Err(TlsError::BadUrl("the URL has no valid host"));
    }
    let port = match port {
        None => 443,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0 && !p.to_string().is_empty())
            .ok_or(TlsError::BadUrl("bad port"))?,
    };
    Ok(HttpsUrl {
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// What a handshake agreed on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    /// `TLSv1.3` or `TLSv1.2`.
    pub protocol: &'static str,
    /// IANA name of the cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub suite: String,
    /// Key-exchange group, e.g. `X25519`, when known.
    pub group: Option<String>,
}

/// The negotiated parameters of a connection whose handshake completed.
pub fn negotiated(conn: &rustls::CommonState) -> Option<Negotiated> {
    let protocol = match conn.protocol_version()? {
        ProtocolVersion::TLSv1_3 => "TLSv1.3",
        ProtocolVersion::TLSv1_2 => "TLSv1.2",
        // The policy allows nothing else; a connection reporting it is not ours.
        _ => return None,
    };
    let suite = conn.negotiated_cipher_suite()?.suite();
    Some(Negotiated {
        protocol,
        suite: suite
            .as_str()
            .map_or_else(|| format!("{suite:?}"), str::to_owned),
        group: conn
            .negotiated_key_exchange_group()
            .map(|g| format!("{:?}", g.name())),
    })
}

/// Connects to `url`, completes a handshake under `config` and reports what was negotiated.
/// Sends no application data.
///
/// # Errors
/// [`TlsError::Connect`] when no TCP connection can be made; [`TlsError::Handshake`] when the
/// server does not meet the policy (old protocol, no common suite, bad certificate, not TLS).
pub fn probe(
    url: &HttpsUrl,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> Result<Negotiated, TlsError> {
    let addrs = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| TlsError::Connect(format!("cannot resolve {}: {e}", url.host)))?;
    let mut last = None;
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = Some(format!("{addr}: {}", e.kind())),
        }
    }
    let mut tcp = tcp.ok_or_else(|| {
        TlsError::Connect(last.unwrap_or_else(|| format!("{} has no address", url.host)))
    })?;
    let io = |e: std::io::Error| TlsError::Connect(e.to_string());
    tcp.set_read_timeout(Some(timeout)).map_err(io)?;
    tcp.set_write_timeout(Some(timeout)).map_err(io)?;
    let name = ServerName::try_from(url.host.clone())
        .map_err(|_| TlsError::BadUrl("the host is not a valid DNS name or IP address"))?;
    let mut conn = rustls::ClientConnection::new(config, name).map_err(config_err)?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            return Err(handshake_error(&e));
        }
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut tcp);
    negotiated(&conn).ok_or_else(|| TlsError::Handshake("no protocol was negotiated".into()))
}

fn handshake_error(e: &std::io::Error) -> TlsError {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    let reason = match inner {
        Some(rustls::Error::InvalidMessage(_)) => {
            "the server did not answer with TLS (plain HTTP?)".to_owned()
        }
        Some(rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion)) => {
            "the server does not support TLS 1.2 or 1.3".to_owned()
        }
        Some(other) => other.to_string(),
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the handshake".to_owned()
        }
        None => e.to_string(),
    };
    TlsError::Handshake(reason)
}

/// A TLS policy failure.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsError {
    /// The URL uses `http://`.
    PlainHttp,
    /// The URL is not an acceptable `https://` URL (the reason says why).
    BadUrl(&'static str),
    /// A certificate or key file could not be used.
    Pem {
        /// Which file.
        what: &'static str,
        /// Why (never key material).
        reason: String,
    },
    /// rustls refused the configuration.
    Config(String),
    /// No TCP connection could be made.
    Connect(String),
    /// The handshake failed: the peer does not meet the policy or could not be authenticated.
    Handshake(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PlainHttp => f.write_str(
                "refusing an http:// URL: the connection would be unencrypted; use https://",
            ),
            Self::BadUrl(why) => write!(f, "unusable URL: {why}"),
            Self::Pem { what, reason } => write!(f, "cannot load the {what}: {reason}"),
            Self::Config(why) => write!(f, "TLS configuration rejected: {why}"),
            Self::Connect(why) => write!(f, "cannot connect: {why}"),
            Self::Handshake(why) => {
                write!(f, "TLS handshake failed under the TLS 1.2+ policy: {why}")
            }
        }
    }
}

impl std::error::Error for TlsError {}

impl TrustError for TlsError {
    fn category(&self) -> Category {
        match self {
            Self::PlainHttp | Self::BadUrl(_) | Self::Config(_) => Category::Usage,
            Self::Pem { .. } | Self::Connect(_) => Category::Input,
            Self::Handshake(_) => Category::Verification,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::PlainHttp => "TLS_PLAIN_HTTP",
            Self::BadUrl(_) => "TLS_BAD_URL",
            Self::Pem { .. } => "TLS_PEM_UNREADABLE",
            Self::Config(_) => "TLS_CONFIG",
            Self::Connect(_) => "TLS_CONNECT_FAILED",
            Self::Handshake(_) => "TLS_HANDSHAKE_FAILED",
        }
    }
    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::PlainHttp => Some("ask for the https:// address of the service"),
            Self::Handshake(_) => Some(
                "the server must offer TLS 1.2 or 1.3 with an AEAD suite and a valid certificate",
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_aead_suites_and_modern_versions() {
        let p = provider();
        assert!(!p.cipher_suites.is_empty());
        for s in &p.cipher_suites {
            assert!(ALLOWED_SUITES.contains(&s.suite()), "{:?}", s.suite());
            let name = format!("{:?}", s.suite());
            assert!(
                name.contains("GCM") || name.contains("CHACHA20_POLY1305"),
                "{name}"
            );
            assert!(matches!(
                s.version().version,
                ProtocolVersion::TLSv1_2 | ProtocolVersion::TLSv1_3
            ));
        }
        let v: Vec<_> = VERSIONS.iter().map(|v| v.version).collect();
        assert_eq!(v, [ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2]);
    }

    #[test]
    fn urls() {
        assert_eq!(
            check_url("https://odoo.example.com/web").unwrap(),
            HttpsUrl {
                host: "odoo.example.com".into(),
                port: 443
            }
        );
        assert_eq!(check_url("HTTPS://Shop.Example:8443").unwrap().port, 8443);
        assert_eq!(check_url("https://[::1]:9000/x").unwrap().host, "::1");
        assert_eq!(check_url("https://127.0.0.1:1").unwrap().host, "127.0.0.1");
        assert_eq!(
            check_url("http://odoo.example.com"),
            Err(TlsError::PlainHttp)
        );
        assert_eq!(
            check_url("HTTP://odoo.example.com"),
            Err(TlsError::PlainHttp)
        );
        assert_eq!(TlsError::PlainHttp.category().exit_code(), 2);
        assert!(TlsError::PlainHttp.to_string().contains("https://"));
        for bad in [
            "odoo.example.com",
            "ftp://x",
            "https://",
            "https://user:pw@host",
            "https://host:0",
            "https://host:65536",
            "https://host:",
            "https://[::1",
            "https://[zz]:1",
            "https://ho st",
        ] {
            assert!(matches!(check_url(bad), Err(TlsError::BadUrl(_))), "{bad}");
        }
        assert!(check_url(&format!("https://{}", "a".repeat(MAX_URL_LEN))).is_err());
    }
}
