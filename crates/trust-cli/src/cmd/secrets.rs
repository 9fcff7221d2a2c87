//! `trust secrets …`: the credential vault (named, versioned, sealed, access-listed, audited).
//!
//! Records live with the home: `vault/<tenant>/<name>.json` in a local home, the
//! `trust_vault_secrets` table in a database home (`--store postgres://…`). Values are sealed
//! under the keyring `vault` (created on first put) unless `--key` names another.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use secrecy::ExposeSecret;
use serde::Serialize;
use trust_core::event::{EventSink, NoSink};
use trust_core::keyring::Home;
use trust_core::secret::SecretBytes;
use trust_core::vault::{Kind, MAX_VALUE_LEN, PutOptions, SecretInfo, SecretName, Vault};

use crate::Globals;
use crate::cmd::home::{UnlockArgs, audit_sink, open_home};
use crate::cmd::mfa::{MfaGate, ensure_keyring, second_factor};
use crate::cmd::store;
use crate::exit::CliError;
use crate::input;

const VAULT_KEYRING: &str = "vault";

#[derive(Debug, clap::Subcommand)]
pub(crate) enum SecretsCommand {
    /// Store a value as a new version of TENANT/NAME (created if needed); value from a file or
    /// stdin only.
    ///
    /// Example: trust secrets put acme/shopify --readers sync-worker,ops -i token.txt
    Put(PutArgs),
    /// Print the current value to stdout, for a reader, with a stated purpose (audited).
    ///
    /// Example: TRUST_ACTOR=sync-worker trust secrets get acme/shopify --purpose "order sync"
    Get(GetArgs),
    /// List secrets: names, versions, readers, expiry — never values.
    ///
    /// Example: trust secrets list --tenant acme
    List(ListArgs),
    /// Store a new value for an existing secret (its metadata is kept).
    ///
    /// Example: trust secrets rotate acme/shopify -i new-token.txt
    Rotate(RotateArgs),
    /// Delete a secret: every stored value is dropped, the name stays as a tombstone.
    ///
    /// Example: trust secrets delete acme/shopify --yes
    Delete(DeleteArgs),
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: trust secrets put acme/shopify --readers sync-worker,ops -i token.txt\n         printf '%s' \"$TOKEN\" | trust secrets put acme/hubspot --kind oauth --expires 2026-12-31T00:00:00Z -i -"
)]
pub(crate) struct PutArgs {
    /// TENANT/NAME, e.g. acme/shopify.
    name: String,
    /// Who may read it (comma-separated actors); default: the acting actor for a new secret.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    readers: Option<Vec<String>>,
    /// When the value expires (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    expires: Option<String>,
    /// api-key or oauth.
    #[arg(long, value_parser = ["api-key", "oauth"])]
    kind: Option<String>,
    /// OAuth scopes or API permissions (comma-separated), for operators.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    scopes: Option<Vec<String>>,
    /// Read an OAuth refresh token (sealed as a second field) from this file (- for stdin).
    #[arg(long, value_name = "FILE")]
    refresh_token_file: Option<PathBuf>,
    /// Read the value from this file (- for stdin).
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    input: PathBuf,
    /// Seal under this keyring instead of `vault`.
    #[arg(long = "key", value_name = "KEYRING", default_value = VAULT_KEYRING)]
    key: String,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: TRUST_ACTOR=sync-worker trust secrets get acme/shopify --purpose \"order sync\"\n\nExit 5 when the actor is not a reader, 4 when the secret is deleted or absent."
)]
pub(crate) struct GetArgs {
    /// TENANT/NAME.
    name: String,
    /// Why the value is read (recorded in the audit log; no personal data).
    #[arg(long, value_name = "TEXT")]
    purpose: String,
    /// Read this stored version instead of the current one.
    #[arg(long, value_name = "N")]
    version: Option<u32>,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust secrets list --tenant acme")]
pub(crate) struct ListArgs {
    /// Only this tenant's secrets.
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust secrets rotate acme/shopify -i new-token.txt")]
pub(crate) struct RotateArgs {
    /// TENANT/NAME.
    name: String,
    /// Read the new value from this file (- for stdin).
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    input: PathBuf,
    /// When the new value expires (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    expires: Option<String>,
    /// Seal under this keyring instead of `vault`.
    #[arg(long = "key", value_name = "KEYRING", default_value = VAULT_KEYRING)]
    key: String,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust secrets delete acme/shopify --yes")]
pub(crate) struct DeleteArgs {
    /// TENANT/NAME.
    name: String,
    /// Confirm the deletion (required off a terminal).
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    gate: MfaGate,
    #[command(flatten)]
    unlock: UnlockArgs,
}

pub(crate) fn run(cmd: &SecretsCommand, globals: &Globals) -> Result<(), CliError> {
    match cmd {
        SecretsCommand::Put(a) => put(a, globals),
        SecretsCommand::Get(a) => get(a, globals),
        SecretsCommand::List(a) => list(a, globals),
        SecretsCommand::Rotate(a) => rotate(a, globals),
        SecretsCommand::Delete(a) => delete(a, globals),
    }
}

fn actor(globals: &Globals) -> Result<&str, CliError> {
    globals.actor.as_deref().ok_or_else(|| {
        CliError::usage("no actor: the vault needs to know who is acting")
            .hint("pass --actor ID or set TRUST_ACTOR")
    })
}

fn vault(globals: &Globals, home: Arc<Home>, keyring: &str) -> Result<Vault, CliError> {
    let store = store::home_location(globals)?.vault_store();
    let sink: Arc<dyn EventSink> = audit_sink(globals)?.unwrap_or_else(|| Arc::new(NoSink));
    Ok(Vault::new(store, home, keyring).with_sink(sink))
}

fn parse_name(name: &str) -> Result<SecretName, CliError> {
    Ok(name.parse::<SecretName>()?)
}

fn expires(text: Option<&str>) -> Result<Option<std::time::SystemTime>, CliError> {
    text.map(|t| {
        let ts: jiff::Timestamp = t.parse().map_err(|_| {
            CliError::usage(format!("--expires {t:?} is not an RFC 3339 time"))
                .hint("e.g. 2026-12-31T00:00:00Z")
        })?;
        Ok(std::time::SystemTime::from(ts))
    })
    .transpose()
}

fn read_value(path: &std::path::Path) -> Result<SecretBytes, CliError> {
    let bytes = zeroize::Zeroizing::new(input::read_all(
        "the value",
        Some(path),
        MAX_VALUE_LEN as u64,
    )?);
    Ok(SecretBytes::from(bytes.to_vec()))
}

#[derive(Serialize)]
struct Stored<'a> {
    name: &'a str,
    version: u32,
}

fn put(a: &PutArgs, globals: &Globals) -> Result<(), CliError> {
    let name = parse_name(&a.name)?;
    let actor = actor(globals)?;
    let expires = expires(a.expires.as_deref())?;
    let value = read_value(&a.input)?;
    let refresh_token = match &a.refresh_token_file {
        Some(p) => Some(read_value(p)?),
        None => None,
    };
    let home = Arc::new(open_home(globals, &a.unlock)?);
    ensure_keyring(&home, &a.key)?;
    let options = PutOptions {
        kind: a.kind.as_deref().and_then(Kind::parse),
        readers: a.readers.clone(),
        scopes: a.scopes.clone(),
        expires,
        refresh_token,
    };
    let version =
        vault(globals, home, &a.key)?.put(actor, &name, value.expose_secret(), options)?;
    globals.out.success(
        &Stored {
            name: &a.name,
            version,
        },
        || format!("stored {} version {version}", a.name),
    );
    Ok(())
}

fn get(a: &GetArgs, globals: &Globals) -> Result<(), CliError> {
    let name = parse_name(&a.name)?;
    let actor = actor(globals)?;
    let home = Arc::new(open_home(globals, &a.unlock)?);
    // Opening takes the keyring named in each sealed value; the keyring here only seals.
    let vault = vault(globals, home, VAULT_KEYRING)?;
    let secret = match a.version {
        Some(v) => vault.get_version(actor, &name, v, &a.purpose)?,
        None => vault.get(actor, &name, &a.purpose)?,
    };
    let value = secret.value.expose_secret();
    if globals.out.is_json() {
        let mut doc = serde_json::json!({
            "name": a.name,
            "version": secret.version,
            "kind": secret.kind.name(),
            "expires": secret.expires.map(fmt_time),
        });
        match std::str::from_utf8(value) {
            Ok(text) => doc["value"] = text.into(),
            Err(_) => {
                use base64::Engine as _;
                doc["value_base64"] = base64::engine::general_purpose::STANDARD
                    .encode(value)
                    .into();
            }
        }
        globals.out.success(&doc, String::new);
    } else {
        // The value exactly as stored, no newline added: `$(trust secrets get …)` and pipes
        // get the bytes that were put.
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(value)
            .and_then(|()| stdout.flush())
            .map_err(|e| CliError::write("the value to", std::path::Path::new("stdout"), &e))?;
    }
    Ok(())
}

fn fmt_time(t: std::time::SystemTime) -> String {
    jiff::Timestamp::try_from(t).map_or_else(|_| "?".into(), |ts| ts.to_string())
}

#[derive(Serialize)]
struct Listed {
    name: String,
    kind: &'static str,
    deleted: bool,
    current_version: Option<u32>,
    versions: Vec<u32>,
    readers: Vec<String>,
    scopes: Vec<String>,
    expires: Option<String>,
}

impl Listed {
    fn from(info: &SecretInfo) -> Self {
        Self {
            name: info.name.to_string(),
            kind: info.kind.name(),
            deleted: info.deleted,
            current_version: info.current().map(|v| v.version),
            versions: info.versions.iter().map(|v| v.version).collect(),
            readers: info.readers.clone(),
            scopes: info.scopes.clone(),
            expires: info.current().and_then(|v| v.expires).map(fmt_time),
        }
    }
}

fn list(a: &ListArgs, globals: &Globals) -> Result<(), CliError> {
    // Metadata only: no key is needed, so the home is not unlocked.
    let store = store::home_location(globals)?.vault_store();
    let vault = Vault::new(
        store,
        Arc::new(trust_core::envelope::StaticKeys::new()),
        VAULT_KEYRING,
    );
    let items: Vec<Listed> = vault
        .list(a.tenant.as_deref())?
        .iter()
        .map(Listed::from)
        .collect();
    globals
        .out
        .success(&serde_json::json!({ "secrets": items }), || {
            if items.is_empty() {
                return "no secrets".into();
            }
            items
                .iter()
                .map(|i| {
                    if i.deleted {
                        format!("{}  deleted", i.name)
                    } else {
                        format!(
                            "{}  {}  v{}  versions {}  readers {}{}",
                            i.name,
                            i.kind,
                            i.current_version.unwrap_or(0),
                            i.versions.len(),
                            i.readers.join(","),
                            i.expires
                                .as_deref()
                                .map(|e| format!("  expires {e}"))
                                .unwrap_or_default()
                        )
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
    Ok(())
}

fn rotate(a: &RotateArgs, globals: &Globals) -> Result<(), CliError> {
    let name = parse_name(&a.name)?;
    let actor = actor(globals)?;
    let expires = expires(a.expires.as_deref())?;
    let value = read_value(&a.input)?;
    let home = Arc::new(open_home(globals, &a.unlock)?);
    ensure_keyring(&home, &a.key)?;
    let options = PutOptions {
        expires,
        ..PutOptions::default()
    };
    let version =
        vault(globals, home, &a.key)?.rotate(actor, &name, value.expose_secret(), options)?;
    globals.out.success(
        &Stored {
            name: &a.name,
            version,
        },
        || format!("rotated {} to version {version}", a.name),
    );
    Ok(())
}

fn delete(a: &DeleteArgs, globals: &Globals) -> Result<(), CliError> {
    let name = parse_name(&a.name)?;
    let actor = actor(globals)?;
    input::confirm(
        a.yes,
        &format!(
            "delete {}? Every stored version of its value is dropped",
            a.name
        ),
    )?;
    second_factor(globals, &a.gate, &a.unlock, "secrets delete")?;
    let home = Arc::new(open_home(globals, &a.unlock)?);
    vault(globals, home, VAULT_KEYRING)?.delete(actor, &name)?;
    globals.out.success(
        &serde_json::json!({ "name": a.name, "deleted": true }),
        || format!("deleted {}", a.name),
    );
    Ok(())
}
