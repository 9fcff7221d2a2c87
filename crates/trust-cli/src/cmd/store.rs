//! `--store URL` (a home in a database) and `trust store migrate`.

use std::collections::BTreeMap;

use serde::Serialize;
use trust_backends::{HomeLocation, Location};
use trust_core::keyring::{Home, InitSource, RootKind, Unlock};
use trust_postgres::{Database, PgHomeRecords};

use crate::Globals;
use crate::exit::CliError;

/// The database named by `--store`/`TRUST_STORE`, opened (schema created or migrated), or
/// `None` when there is no `--store` or it names a directory (then [`home_dir`] returns it).
///
/// [`home_dir`]: crate::cmd::home::home_dir
pub(crate) fn store_db(globals: &Globals) -> Result<Option<Database>, CliError> {
    let Some(store) = &globals.store else {
        return Ok(None);
    };
    // One pool per process: every command that needs the database shares it.
    static OPENED: std::sync::OnceLock<Database> = std::sync::OnceLock::new();
    if let Some(db) = OPENED.get() {
        return Ok(Some(db.clone()));
    }
    Ok(match trust_backends::open_home(store)? {
        HomeLocation::Local(_) => None,
        HomeLocation::Postgres(db) => Some(OPENED.get_or_init(|| db).clone()),
    })
}

/// Where the home lives: the database of `--store`, else the home directory. Commands that
/// keep per-home state (subject keys, the GDPR register, the vault, MFA factors) open their
/// stores from it, so a database home works the same as a local one.
pub(crate) fn home_location(globals: &Globals) -> Result<HomeLocation, CliError> {
    Ok(match store_db(globals)? {
        Some(db) => HomeLocation::Postgres(db),
        None => HomeLocation::Local(crate::cmd::home::home_dir(globals)?.to_path_buf()),
    })
}

/// The root-key kind of the home in `db`.
pub(crate) fn root_kind(db: &Database) -> Result<RootKind, CliError> {
    Ok(Home::root_kind_in(&PgHomeRecords::new(db.clone()))?)
}

/// Opens the home in `db` with `unlock`.
pub(crate) fn open(db: &Database, unlock: Unlock) -> Result<Home, CliError> {
    Ok(trust_postgres::open_home(db, unlock)?)
}

/// Creates the home in `db`; the key file (if any) is the only thing written locally.
pub(crate) fn init(db: &Database, source: InitSource) -> Result<Home, CliError> {
    Ok(trust_postgres::init_home(db, None, source)?)
}

/// `trust store …`: the database behind `--store`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum StoreCommand {
    /// Create or upgrade the schema of the database named by --store (TRUST_STORE).
    ///
    /// Every command migrates on first use; run this during a deployment to do it at a chosen
    /// moment. A schema newer than this binary is refused (exit 2) and left unchanged.
    #[command(
        after_help = "Example: TRUST_STORE=\"$(cat /run/secrets/trust-db-url)\" trust store migrate"
    )]
    Migrate,
}

#[derive(Serialize)]
struct Migrated {
    store: String,
    applied: Vec<Step>,
    versions: BTreeMap<String, i32>,
}

#[derive(Serialize)]
struct Step {
    component: String,
    version: i32,
    description: String,
}

pub(crate) fn run(cmd: &StoreCommand, globals: &Globals) -> Result<(), CliError> {
    match cmd {
        StoreCommand::Migrate => migrate(globals),
    }
}

fn migrate(globals: &Globals) -> Result<(), CliError> {
    let Some(store) = &globals.store else {
        return Err(
            CliError::usage("no store given").hint("pass --store postgres://… or set TRUST_STORE")
        );
    };
    let url = match Location::parse(store)? {
        Location::Postgres(url) => url,
        other => {
            return Err(CliError::usage(format!(
                "{other} is not a database; only postgres:// stores have a schema"
            )));
        }
    };
    let db = Database::connect(trust_postgres::ConnectOptions::parse(&url)?)?;
    let report = db.migrate()?;
    let data = Migrated {
        store: url.to_string(),
        applied: report
            .applied
            .into_iter()
            .map(|(component, version, description)| Step {
                component,
                version,
                description,
            })
            .collect(),
        versions: report.versions,
    };
    globals.out.success(&data, || {
        let mut text = if data.applied.is_empty() {
            format!("the schema of {} is up to date", data.store)
        } else {
            format!("migrated {}:", data.store)
        };
        for s in &data.applied {
            text.push_str(&format!(
                "\n  {} {}: {}",
                s.component, s.version, s.description
            ));
        }
        text
    });
    Ok(())
}
