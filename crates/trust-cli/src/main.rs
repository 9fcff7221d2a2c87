//! `trust`: the operator and auditor command line of the trust layer.
//!
//! The binary is deliberately thin: it parses arguments, reads inputs, calls `trust-core` and
//! renders the result. Every rule about secrets, exit codes and output lives in three small
//! modules that all commands share:
//!
//! * [`exit`]: the exit-code contract and the one error type commands return;
//! * [`input`]: reading files, stdin and secrets (never from argv), and confirmations;
//! * [`output`]: `--json` and human rendering.
#![forbid(unsafe_code)]

mod cmd;
mod exit;
mod input;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::CliError;
use crate::output::Output;

const EXIT_CODES: &str = "\
Exit codes (the same for every command):
  0   ok
  1   verification failed (bad signature, tampered/truncated/forked log, authentication failure)
  2   usage or configuration error
  3   input missing or unreadable; output path unwritable (missing folder, no permission)
  4   key unavailable (unknown, disabled or destroyed version; erased subject)
  5   refused: not confirmed or not permitted (a destructive operation without --yes,
      access denied, rate limited)
  70  internal error (a bug, a full disk)

Secrets are never taken from the command line: use --*-file PATH (- for stdin) or --*-env NAME.
With --json every command prints one JSON object on stdout, errors included.";

/// The version states of a keyring, in `trust keys --help` and trust-keys(1): error hints point
/// here, where an installed user can read it.
const KEY_STATES: &str = "\
Version states:

 rotate -> staged --promote--> primary --(next promote)--> decrypt-only
                                                             | retire       ^ enable
                                                             v              |
             destroyed <--destroy-- pending-destroy <---- disabled ---------+
             (tombstone)            (grace period;        (refuses to decrypt,
                                     enable cancels)       reversible)

  staged          does not seal, decrypts       trust keys rotate
  primary         seals and decrypts            trust keys create (v1), promote, rotate --promote
  decrypt-only    decrypts                      the previous primary; trust keys enable
  disabled        refuses to decrypt (exit 4)   trust keys retire
  pending-destroy refuses to decrypt (exit 4)   trust keys destroy, with a grace period
  destroyed       gone for ever (exit 4)        trust keys destroy";

/// The trust layer for SaaS connector apps: envelope encryption with key rotation, webhook
/// verification, a tamper-evident audit log and GDPR primitives.
#[derive(Debug, Parser)]
#[command(name = "trust", version, after_long_help = EXIT_CODES, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    /// Directory holding keyrings and state.
    #[arg(long, env = "TRUST_HOME", global = true, value_name = "DIR")]
    home: Option<PathBuf>,

    /// Keep the home (root-key record, keyrings, subject keys) in this store instead of the
    /// home directory: a postgres:// URL (its password never printed; keep it out of shell
    /// history with TRUST_STORE="$(cat FILE)"), or a directory.
    #[arg(
        long,
        env = "TRUST_STORE",
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    store: Option<String>,

    /// Print one JSON object on stdout (errors included) instead of human text.
    #[arg(long, global = true)]
    json: bool,

    /// Record every key and GDPR state change in this audit log: a directory or a postgres://
    /// URL (…?log=NAME; see `trust audit init`). Set it in the operator's environment so that
    /// no change goes unaudited.
    #[arg(long, env = "TRUST_AUDIT_LOG", global = true, value_name = "LOG")]
    audit_log: Option<PathBuf>,

    /// Who is acting, as recorded (pseudonymized) in the audit log. Default: $USER.
    #[arg(long, env = "TRUST_ACTOR", global = true, value_name = "ID")]
    actor: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole trust layer end to end in a temporary directory, printing each step.
    ///
    /// Keyrings, sealing, rotation and rewrap, webhooks, GDPR erasure, redaction, passwords,
    /// tokens, access control and the audit log, each checked as it runs.
    ///
    /// Example: trust demo --keep ./trust-demo
    Demo(cmd::demo::DemoArgs),
    /// Create a home (keyrings and state) and record its root-key source.
    ///
    /// Example: trust --home /srv/trust init --root-key-file /srv/trust-root.key
    Init(cmd::init::InitArgs),
    /// Manage keyrings and key versions.
    ///
    /// Example: trust keys rotate orders --promote
    #[command(subcommand, after_long_help = KEY_STATES)]
    Keys(cmd::keys::KeysCommand),
    /// Encrypt a file or stdin under a keyring's Primary key.
    ///
    /// Example: trust encrypt --key orders --context tenant=acme -i creds.json -o creds.json.tle
    Encrypt(cmd::crypt::EncryptArgs),
    /// Decrypt a binary envelope or a `tle1.`/`tle2.`/`tle3.` token; -o FILE appears only once the whole
    /// message authenticated, stdout streams authenticated 16 KiB chunks (exit 1 if the stream
    /// fails).
    ///
    /// Example: trust decrypt --context tenant=acme -i creds.json.tle -o creds.json
    Decrypt(cmd::crypt::DecryptArgs),
    /// Move envelope files to their keyring's current Primary, in place (bodies untouched).
    ///
    /// Example: trust rewrap backups/*.tle
    Rewrap(cmd::crypt::RewrapArgs),
    /// Show what an envelope is sealed under (suite, key, context), without any key.
    ///
    /// Example: trust inspect creds.json.tle
    Inspect(cmd::crypt::InspectArgs),
    /// Verify webhook deliveries and signed requests, or sign them (Shopify, Stripe, HubSpot,
    /// Standard Webhooks, GitHub, Slack).
    ///
    /// Example: trust webhook verify --provider stripe --secret-env STRIPE_WHSEC --header "Stripe-Signature: …" --body-file body.json
    Webhook(cmd::webhook::WebhookArgs),
    /// Tamper-evident audit log: init, append, import, checkpoint, verify, prove.
    ///
    /// Example: trust audit verify --log ./audit --vkey "$(cat ./audit/vkey)"
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),
    /// GDPR: erasure with signed receipts, export bundles, request deadlines, retention.
    ///
    /// Example: trust gdpr erase --key customers --subject 191167 --yes
    #[command(subcommand)]
    Gdpr(cmd::gdpr::GdprCommand),
    /// Credential vault: named, versioned secrets per tenant, sealed, access-listed, audited.
    ///
    /// Example: TRUST_ACTOR=sync-worker trust secrets get acme/shopify --purpose "order sync"
    #[command(subcommand)]
    Secrets(cmd::secrets::SecretsCommand),
    /// TOTP second factors for operators, and the second-factor gate on destructive commands.
    ///
    /// Example: trust mfa enroll ops@acme.example
    #[command(subcommand)]
    Mfa(cmd::mfa::MfaCommand),
    /// Filter text to stdout with credentials, card numbers and registered secrets redacted.
    ///
    /// Example: trust redact -i app.log > app.redacted.log
    Redact(cmd::redact::RedactArgs),
    /// Hash and verify passwords (argon2id; legacy bcrypt verified and upgraded).
    ///
    /// Example: printf '%s' "$PASSWORD" | trust password verify --hash "$STORED"
    #[command(subcommand)]
    Password(cmd::password::PasswordCommand),
    /// Issue and verify scoped session tokens MAC'd with a keyring.
    ///
    /// Example: trust token issue --tenant acme --scope chat:write --ttl 15m
    #[command(subcommand)]
    Token(cmd::token::TokenCommand),
    /// The database behind --store: `trust store migrate`.
    #[command(subcommand)]
    Store(cmd::store::StoreCommand),
    /// Check that an endpoint meets the TLS 1.2+ policy.
    ///
    /// Example: trust tls check https://odoo.example.com
    #[command(subcommand)]
    Tls(cmd::tls::TlsCommand),
    /// Print shell completions for `trust`.
    ///
    /// Example: trust completions bash > /etc/bash_completion.d/trust
    Completions(cmd::generate::CompletionsArgs),
    /// Print the `trust(1)` man page (roff), or write it and every page it refers to.
    ///
    /// Example: trust man --dir /usr/local/share/man/man1
    Man(cmd::generate::ManArgs),
}

/// Global options every command may need.
#[derive(Debug)]
pub(crate) struct Globals {
    /// `--home`, if given (the env variable is folded in by clap).
    pub(crate) home: Option<PathBuf>,
    /// `--store`/`TRUST_STORE`: a database URL (or directory) holding the home, if given.
    pub(crate) store: Option<String>,
    /// `--audit-log`: where state changes are recorded, if anywhere.
    pub(crate) audit_log: Option<PathBuf>,
    /// The audit log, once opened: one writer handle per process (the log's lock is per handle).
    pub(crate) audit: std::sync::OnceLock<std::sync::Arc<trust_core::audit::AuditLog>>,
    /// `--actor`, else `$USER`.
    pub(crate) actor: Option<String>,
    /// How to render results and errors.
    pub(crate) out: Output,
}

fn run(cli: Cli, globals: &Globals) -> Result<(), CliError> {
    match cli.command {
        Command::Completions(args) => cmd::generate::completions(&args, globals),
        Command::Man(args) => cmd::generate::man(&args, globals),
        Command::Demo(args) => cmd::demo::run(&args, globals),
        Command::Webhook(args) => cmd::webhook::run(args, globals),
        Command::Init(args) => cmd::init::run(&args, globals),
        Command::Keys(cmd) => cmd::keys::run(&cmd, globals),
        Command::Encrypt(args) => cmd::crypt::encrypt(&args, globals),
        Command::Decrypt(args) => cmd::crypt::decrypt(&args, globals),
        Command::Rewrap(args) => cmd::crypt::rewrap(&args, globals),
        Command::Inspect(args) => cmd::crypt::inspect(&args, globals),
        Command::Password(cmd) => cmd::password::run(&cmd, globals),
        Command::Token(cmd) => cmd::token::run(&cmd, globals),
        Command::Tls(cmd) => cmd::tls::run(&cmd, globals),
        Command::Gdpr(cmd) => cmd::gdpr::run(&cmd, globals),
        Command::Redact(args) => cmd::redact::run(&args, globals),
        Command::Audit(c) => cmd::audit::run(c, globals),
        Command::Secrets(c) => cmd::secrets::run(&c, globals),
        Command::Mfa(c) => cmd::mfa::run(&c, globals),
        Command::Store(cmd) => cmd::store::run(&cmd, globals),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return exit::clap_error(&e),
    };
    let globals = Globals {
        home: cli.home.clone(),
        store: cli.store.clone(),
        audit_log: cli.audit_log.clone(),
        audit: std::sync::OnceLock::new(),
        actor: cli.actor.clone().or_else(|| std::env::var("USER").ok()),
        out: Output::new(cli.json),
    };
    match run(cli, &globals) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is_closed_pipe() => ExitCode::SUCCESS,
        Err(err) => {
            globals.out.error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}
