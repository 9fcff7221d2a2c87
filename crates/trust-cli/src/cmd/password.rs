//! `trust password hash|verify`: argon2id PHC strings for operators and migration scripts.
//!
//! The password comes from stdin (or `--password-file`/`--password-env`, or a no-echo prompt on
//! a terminal), never from argv. Logic lives in `trust_core::password`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use serde::Serialize;
use trust_core::error::Category;
use trust_core::password::{PasswordHasher, Verified};
use trust_core::secret::Key256;
use zeroize::Zeroizing;

use crate::Globals;
use crate::exit::CliError;
use crate::input::{self, SecretSource};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum PasswordCommand {
    /// Hash a password (read from stdin) with argon2id (OWASP parameters) and print the PHC
    /// string to store.
    ///
    /// Example: printf '%s' "$NEW_PASSWORD" | trust password hash
    Hash(HashArgs),
    /// Check a password (read from stdin) against a stored hash: argon2 PHC or legacy bcrypt
    /// ($2a$/$2b$/$2y$). Exit 0 on a match, 1 on a mismatch; says when the hash should be
    /// replaced (and prints the replacement with --rehash).
    ///
    /// Example: printf '%s' "$PASSWORD" | trust password verify --hash "$STORED"
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct SourceArgs {
    /// Read the password from this file instead of stdin (- for stdin).
    #[arg(long, value_name = "FILE", conflicts_with = "password_env")]
    password_file: Option<PathBuf>,
    /// Read the password from this environment variable (its name, not its value).
    #[arg(long, value_name = "NAME")]
    password_env: Option<String>,
    /// Pepper: 64 hex characters (32 bytes) in this environment variable, held outside the
    /// database.
    #[arg(long, value_name = "NAME")]
    pepper_env: Option<String>,
    /// Version number of the pepper given with --pepper-env (recorded in the hash).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "pepper_env")]
    pepper_version: u32,
}

#[derive(Debug, clap::Args)]
pub(crate) struct HashArgs {
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The stored hash (PHC string or bcrypt).
    #[arg(long, value_name = "HASH")]
    hash: String,
    /// On a match with an outdated hash, also print its argon2id replacement.
    #[arg(long)]
    rehash: bool,
    #[command(flatten)]
    source: SourceArgs,
}

pub(crate) fn run(cmd: &PasswordCommand, globals: &Globals) -> Result<(), CliError> {
    match cmd {
        PasswordCommand::Hash(a) => hash(a, globals),
        PasswordCommand::Verify(a) => verify(a, globals),
    }
}

fn hasher(source: &SourceArgs) -> Result<PasswordHasher, CliError> {
    let hasher = PasswordHasher::new();
    let Some(name) = &source.pepper_env else {
        return Ok(hasher);
    };
    let value = Zeroizing::new(std::env::var(name).map_err(|_| {
        CliError::new(
            Category::Input,
            "INPUT_UNREADABLE",
            format!("the environment variable {name} (for the pepper) is not set"),
        )
    })?);
    let mut bytes = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(value.trim(), &mut bytes[..])
        .map_err(|_| CliError::usage(format!("the pepper in {name} is not 64 hex characters")))?;
    Ok(hasher.with_pepper(source.pepper_version, Key256::from_bytes(*bytes)))
}

/// The password as UTF-8, from the chosen source; stdin when none is given and stdin is not a
/// terminal (one trailing newline dropped), a no-echo prompt when it is.
fn read_password(source: &SourceArgs) -> Result<Zeroizing<String>, CliError> {
    let file = match (&source.password_file, &source.password_env) {
        (None, None) if !std::io::stdin().is_terminal() => Some(Path::new("-")),
        (f, _) => f.as_deref(),
    };
    let secret = input::read_secret(
        "password",
        "password",
        SecretSource {
            file,
            env: source.password_env.as_deref(),
        },
        true,
    )?;
    let text = std::str::from_utf8(secret.expose_secret())
        .map_err(|_| CliError::usage("the password is not valid UTF-8"))?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn hash(a: &HashArgs, globals: &Globals) -> Result<(), CliError> {
    let hasher = hasher(&a.source)?;
    let password = read_password(&a.source)?;
    let phc = hasher.hash(&password)?;
    #[derive(Serialize)]
    struct Out<'a> {
        hash: &'a str,
    }
    globals.out.success(&Out { hash: &phc }, || phc.clone());
    Ok(())
}

fn verify(a: &VerifyArgs, globals: &Globals) -> Result<(), CliError> {
    let hasher = hasher(&a.source)?;
    let password = read_password(&a.source)?;
    let needs_rehash = hasher.needs_rehash(&a.hash);
    match hasher.verify_and_upgrade(&password, &a.hash)? {
        Verified::Mismatch => Err(CliError::new(
            Category::Verification,
            "PASSWORD_MISMATCH",
            "the password does not match the hash",
        )),
        Verified::Match { rehash } => {
            #[derive(Serialize)]
            struct Out {
                matches: bool,
                needs_rehash: bool,
                #[serde(skip_serializing_if = "Option::is_none")]
                rehash: Option<String>,
            }
            let out = Out {
                matches: true,
                needs_rehash,
                rehash: rehash.filter(|_| a.rehash),
            };
            globals.out.success(&out, || {
                let mut text = String::from("match");
                if out.needs_rehash {
                    text.push_str(" (outdated hash: store a new one");
                    text.push_str(match &out.rehash {
                        Some(_) => ")",
                        None => "; pass --rehash to print it)",
                    });
                }
                if let Some(new) = &out.rehash {
                    text.push('\n');
                    text.push_str(new);
                }
                text
            });
            Ok(())
        }
    }
}
