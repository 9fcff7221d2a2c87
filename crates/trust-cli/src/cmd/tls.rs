//! `trust tls check URL`: does this endpoint meet the TLS 1.2+/AEAD policy?
//!
//! Refuses `http://` before connecting; otherwise completes one handshake under
//! `trust_core::tls`'s client policy and reports the protocol, suite and key-exchange group.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use trust_core::tls;

use crate::Globals;
use crate::cmd::token::parse_duration;
use crate::exit::CliError;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum TlsCommand {
    /// Connect to an https:// URL and report the negotiated protocol and cipher suite. Exit 0
    /// when the server meets the policy (TLS 1.3 or 1.2, AEAD suite, valid certificate), 1 when
    /// it does not, 2 for an http:// or malformed URL, 3 when it cannot be reached.
    ///
    /// Example: trust tls check https://odoo.example.com
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The endpoint, e.g. https://shop.example.com or https://127.0.0.1:8443.
    url: String,
    /// Trust the CAs in this PEM bundle (default: $SSL_CERT_FILE or the system bundle).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Give up after this long (connect and each read).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    timeout: Duration,
}

pub(crate) fn run(cmd: &TlsCommand, globals: &Globals) -> Result<(), CliError> {
    match cmd {
        TlsCommand::Check(a) => check(a, globals),
    }
}

fn check(a: &CheckArgs, globals: &Globals) -> Result<(), CliError> {
    let url = tls::check_url(&a.url)?;
    let bundle = match &a.ca_file {
        Some(p) => p.clone(),
        None => tls::default_ca_bundle().ok_or_else(|| {
            CliError::usage("no CA bundle found").hint("pass --ca-file PEM or set SSL_CERT_FILE")
        })?,
    };
    let roots = tls::load_roots(&bundle)?;
    let config = Arc::new(tls::client_config(roots)?);
    let got = tls::probe(&url, config, a.timeout.max(Duration::from_millis(1)))?;
    #[derive(Serialize)]
    struct Out<'a> {
        host: &'a str,
        port: u16,
        protocol: &'a str,
        suite: &'a str,
        group: Option<&'a str>,
    }
    let out = Out {
        host: &url.host,
        port: url.port,
        protocol: got.protocol,
        suite: &got.suite,
        group: got.group.as_deref(),
    };
    globals.out.success(&out, || {
        format!(
            "{}:{}: {} {}{}",
            url.host,
            url.port,
            got.protocol,
            got.suite,
            got.group
                .as_deref()
                .map(|g| format!(" ({g})"))
                .unwrap_or_default()
        )
    });
    Ok(())
}
