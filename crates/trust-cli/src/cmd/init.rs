//! `trust init`: create a home and record its root-key source.

use std::path::PathBuf;

use serde::Serialize;
use trust_core::kek::PassphraseParams;
use trust_core::keyring::{Home, InitSource};

use crate::Globals;
use crate::cmd::home::home_dir;
use crate::cmd::store;
use crate::exit::CliError;
use crate::input::{self, SecretSource};

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust --home /srv/trust init --root-key-file /srv/trust-root.key")]
pub(crate) struct InitArgs {
    /// Protect the home with the passphrase in this file (- for stdin), stretched with argon2id.
    #[arg(long, value_name = "FILE", group = "source")]
    passphrase_file: Option<PathBuf>,
    /// Protect the home with the passphrase in this environment variable (its name).
    #[arg(long, value_name = "NAME", group = "source")]
    passphrase_env: Option<String>,
    /// Protect the home with this root key file: used if it exists (32 bytes), else created
    /// (32 random bytes, mode 0600).
    #[arg(long, value_name = "FILE", group = "source")]
    root_key_file: Option<PathBuf>,
}

#[derive(Serialize)]
struct Initialized<'a> {
    home: &'a str,
    root: &'static str,
    root_key_file: Option<PathBuf>,
}

pub(crate) fn run(args: &InitArgs, globals: &Globals) -> Result<(), CliError> {
    let db = store::store_db(globals)?;
    let dir = match &db {
        Some(_) => None,
        None => Some(home_dir(globals)?),
    };
    let (source, root, key_file) = if let Some(path) = &args.root_key_file {
        (
            InitSource::KeyFile(path.clone()),
            "key-file",
            Some(path.clone()),
        )
    } else {
        let passphrase = if args.passphrase_file.is_some() || args.passphrase_env.is_some() {
            input::read_secret(
                "passphrase",
                "passphrase",
                SecretSource {
                    file: args.passphrase_file.as_deref(),
                    env: args.passphrase_env.as_deref(),
                },
                false,
            )?
        } else {
            input::prompt_new_secret("passphrase").map_err(|e| {
                e.hint("pass --passphrase-file, --passphrase-env or --root-key-file")
            })?
        };
        (
            InitSource::Passphrase {
                passphrase,
                params: PassphraseParams::DEFAULT,
            },
            "passphrase",
            None,
        )
    };
    let home = match (&db, dir) {
        (Some(db), _) => {
            store::init(db, source)?;
            db.url().to_string()
        }
        (None, Some(dir)) => {
            Home::init(dir, source)?;
            dir.display().to_string()
        }
        (None, None) => return Err(CliError::usage("no home given")),
    };
    let data = Initialized {
        home: &home,
        root,
        root_key_file: key_file,
    };
    globals.out.success(&data, || {
        let mut text = format!("initialized a trust home in {}", data.home);
        match &data.root_key_file {
            Some(p) => text.push_str(&format!(
                "\nroot key file: {} (back it up; without it nothing here can be decrypted)",
                p.display()
            )),
            None => text.push_str(
                "\nprotected by a passphrase (argon2id); a lost passphrase cannot be recovered",
            ),
        }
        text
    });
    Ok(())
}
