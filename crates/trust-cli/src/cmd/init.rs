//! `trust init`: create a home and record its root-key source.

use std::path::PathBuf;

use serde::Serialize;
use trust_core::keyring::{Home, InitSource};
use trust_core::root::PassphraseParams;

use crate::Globals;
use trust_backends::custody;

use crate::cmd::home::{UnlockArgs, audit_sink, home_dir, new_external_root, unlock_for};
use crate::cmd::store;
use crate::exit::CliError;
use crate::input::{self, SecretSource};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  trust --home /srv/trust init --root-key-file /srv/trust-root.key
  TRUST_PKCS11_PIN=… trust --home /srv/trust init \\
    --root-pkcs11 'pkcs11:token=trust-prod;object=trust-root?module-path=/usr/lib/softhsm/libsofthsm2.so'
  AWS_REGION=eu-west-1 trust --home /srv/trust init \\
    --root-aws-kms arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")]
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
    /// Protect the home with an AES-256 key in a PKCS#11 token (HSM), named by an RFC 7512 URI
    /// with module-path; the key is generated inside the token when absent (sensitive, never
    /// extractable). The user PIN comes from TRUST_PKCS11_PIN or --pin-file.
    #[arg(long, value_name = "URI", group = "source")]
    root_pkcs11: Option<String>,
    /// Read the HSM user PIN from this file (- for stdin) instead of $TRUST_PKCS11_PIN.
    #[arg(long, value_name = "FILE")]
    pin_file: Option<PathBuf>,
    /// Protect the home with an AWS KMS key (key id, alias/NAME or ARN): keyring keys are
    /// wrapped by KMS Encrypt with an encryption context naming the keyring and this home.
    /// Region, endpoint and credentials come from the environment as for the AWS CLI
    /// (AWS_REGION, AWS_ENDPOINT_URL, the default credentials chain).
    #[arg(long, value_name = "KEY_ID_OR_ARN", group = "source")]
    root_aws_kms: Option<String>,
}

#[derive(Serialize)]
struct Initialized<'a> {
    home: &'a str,
    root: &'static str,
    root_key_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_uri: Option<String>,
}

pub(crate) fn run(args: &InitArgs, globals: &Globals) -> Result<(), CliError> {
    let db = store::store_db(globals)?;
    let dir = match &db {
        Some(_) => None,
        None => Some(home_dir(globals)?),
    };
    if args.pin_file.is_some() && args.root_pkcs11.is_none() {
        // Also with --root-aws-kms: KMS takes no PIN.
        return Err(CliError::usage("--pin-file only goes with --root-pkcs11"));
    }
    let mut root_uri = None;
    let external = match (&args.root_pkcs11, &args.root_aws_kms) {
        (Some(uri), _) => Some((custody::PKCS11, uri)),
        (None, Some(key)) => Some((custody::AWS_KMS, key)),
        (None, None) => None,
    };
    let (source, root, key_file) = if let Some((kind, target)) = external {
        // Recorded as the resolver canonicalizes it, so the home never depends on how it was
        // typed.
        let (root, descriptor) = new_external_root(kind, target, args.pin_file.as_deref())?;
        root_uri = Some(descriptor.clone());
        (
            InitSource::External {
                root,
                uri: descriptor,
            },
            kind,
            None,
        )
    } else if let Some(path) = &args.root_key_file {
        crate::cmd::home::warn_if_exposed(path);
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
        root_uri,
    };
    globals.out.success(&data, || {
        let mut text = format!("initialized a trust home in {}", data.home);
        match (&data.root_key_file, &data.root_uri) {
            (Some(p), _) => text.push_str(&format!(
                "\nroot key file: {} (back it up; without it nothing here can be decrypted)",
                p.display()
            )),
            (None, Some(uri)) if data.root == custody::AWS_KMS => text.push_str(&format!(
                "\nroot key in AWS KMS: {uri}\n(disabling or deleting that KMS key makes everything here undecryptable; see docs/key-custody.md)"
            )),
            (None, Some(uri)) => text.push_str(&format!(
                "\nroot key in the HSM: {uri}\n(it cannot be copied out: keep the token and its backups safe; see docs/operator-guide.md)"
            )),
            (None, None) => text.push_str(
                "\nprotected by a passphrase (argon2id); a lost passphrase cannot be recovered",
            ),
        }
        text
    });
    Ok(())
}

/// `trust keys rewrap-root`: move a home to an HSM or KMS root without touching any ciphertext.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true)))]
pub(crate) struct RewrapRootArgs {
    /// The HSM key to move to: an RFC 7512 URI with module-path (generated in the token when
    /// absent). The PIN comes from TRUST_PKCS11_PIN or --pin-file.
    #[arg(long, value_name = "URI", group = "target")]
    to_pkcs11: Option<String>,
    /// The AWS KMS key to move to (key id, alias/NAME or ARN), configured from the environment
    /// (AWS_REGION, AWS_ENDPOINT_URL, the default credentials chain).
    #[arg(long, value_name = "KEY_ID_OR_ARN", group = "target")]
    to_aws_kms: Option<String>,
    /// Confirm (required when not on a terminal): the old root will no longer open the home.
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Serialize)]
struct Rewrapped<'a> {
    home: &'a std::path::Path,
    keyrings: usize,
    root: &'static str,
    root_uri: &'a str,
    old_root_key_file: Option<PathBuf>,
}

pub(crate) fn rewrap_root(args: &RewrapRootArgs, globals: &Globals) -> Result<(), CliError> {
    let dir = home_dir(globals)?;
    let (kind, target) = match (&args.to_pkcs11, &args.to_aws_kms) {
        (Some(uri), _) => (custody::PKCS11, uri),
        (None, Some(key)) => (custody::AWS_KMS, key),
        (None, None) => {
            return Err(CliError::usage(
                "give the root to move to: --to-pkcs11 URI or --to-aws-kms KEY_ID",
            ));
        }
    };
    let old_key_file = match Home::root_kind(dir)? {
        trust_core::keyring::RootKind::KeyFile(p) => Some(p),
        _ => None,
    };
    let old = unlock_for(dir, &args.unlock)?;
    input::confirm(
        args.yes,
        "move this home's root key into the HSM or KMS (the current root will no longer open it)",
    )?;
    // An interrupted move is finished with the root it started with (a KMS root's store id is
    // random, so it cannot be made again from the key id alone).
    let resumed = match Home::pending_root_kind(dir)? {
        Some(trust_core::keyring::RootKind::External { kind: k, uri }) => custody::resume_root(
            kind,
            target,
            &k,
            &uri,
            crate::cmd::home::pin_from_file(args.unlock.pin_file.as_deref())?,
        )?,
        _ => None,
    };
    let (new_root, canonical) = match resumed {
        Some(r) => r,
        None => new_external_root(kind, target, args.unlock.pin_file.as_deref())?,
    };
    let keyrings = Home::rewrap_root(
        dir,
        old,
        new_root,
        canonical.clone(),
        audit_sink(globals)?,
        globals.actor.clone(),
    )?;
    let data = Rewrapped {
        home: dir,
        keyrings,
        root: kind,
        root_uri: &canonical,
        old_root_key_file: old_key_file,
    };
    globals.out.success(&data, || {
        let mut text = format!(
            "moved {keyrings} keyring(s) of {} to the {kind} root {canonical}; no ciphertext was changed",
            dir.display()
        );
        if let Some(p) = &data.old_root_key_file {
            text.push_str(&format!(
                "\nthe old root key file {} no longer opens this home: destroy it and its backups once older home backups have expired",
                p.display()
            ));
        }
        text
    });
    Ok(())
}
