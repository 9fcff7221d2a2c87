//! The schema, created and migrated by the library — never by hand.
//!
//! Each concern (`home`, `audit`, …) owns a *component* with its own version sequence
//! `1, 2, 3, …`; [`MIGRATIONS`] is the ordered list of every component's steps, and a new step
//! is appended at the end. Applied steps are recorded in the table `trust_schema`
//! (`component`, `version`, `description`, `applied_at`).
//!
//! [`run`] (what [`Database::open`] and `trust store migrate` call):
//!
//! 1. reads `trust_schema` without locking; if every step is applied it is done (the common case
//!    for a worker starting up);
//! 2. if the database holds a component this binary does not know, or a version beyond the
//!    newest it knows, it stops with [`Error::SchemaTooNew`] and changes nothing: an old binary
//!    must not write rows whose meaning a newer release changed;
//! 3. otherwise it takes a transaction-scoped advisory lock (so concurrent workers do not race),
//!    re-reads, applies the pending steps in list order and commits — PostgreSQL's DDL is
//!    transactional, so a crash mid-migration leaves the previous schema intact.
//!
//! Tables live in the connection's current schema (the first existing schema on the
//! `search_path`): several deployments can share one database by giving each its own schema
//! with `options=-csearch_path%3Dname` in the URL.

use std::collections::BTreeMap;

use postgres::Transaction;

use crate::{Database, Error};

/// One schema step.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// The concern it belongs to.
    pub component: &'static str,
    /// Its version within the component (1, 2, 3, … without gaps).
    pub version: i32,
    /// One line on what it does.
    pub description: &'static str,
    /// The SQL (several statements allowed).
    pub sql: &'static str,
}

/// Every schema step, in the order they are applied. Append only; never edit a released step.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        component: "home",
        version: 1,
        description: "home record, keyrings, subject keys, GDPR requests, webhook seen ids",
        sql: include_str!("../migrations/home_1.sql"),
    },
    Migration {
        component: "home",
        version: 2,
        description: "the GDPR receipt signing key, sealed under the home",
        sql: include_str!("../migrations/home_2.sql"),
    },
    Migration {
        component: "vault",
        version: 1,
        description: "vault secrets (sealed values, compare-and-swap on the revision)",
        sql: include_str!("../migrations/vault_1.sql"),
    },
    Migration {
        component: "mfa",
        version: 1,
        description: "TOTP factors with their last accepted step, recovery codes, MFA policy",
        sql: include_str!("../migrations/mfa_1.sql"),
    },
    Migration {
        component: "audit",
        version: 1,
        description: "audit logs: tree state, leaves, tree nodes, checkpoints, payloads, keys",
        sql: include_str!("../migrations/audit_1.sql"),
    },
];

/// What [`run`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The steps applied now, as `(component, version, description)`.
    pub applied: Vec<(String, i32, String)>,
    /// The version of each component afterwards.
    pub versions: BTreeMap<String, i32>,
}

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS trust_schema (
    component   text        NOT NULL,
    version     integer     NOT NULL,
    description text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)";

/// The newest version of each component this binary knows.
pub fn supported() -> BTreeMap<&'static str, i32> {
    let mut newest = BTreeMap::new();
    for m in MIGRATIONS {
        let v = newest.entry(m.component).or_insert(0);
        *v = (*v).max(m.version);
    }
    newest
}

/// Creates or upgrades the schema (see the module docs).
///
/// # Errors
/// [`Error::SchemaTooNew`] (nothing changed), [`Error::Config`] when the URL's `search_path`
/// names no existing schema, or a connection error.
pub fn run(db: &Database) -> Result<Report, Error> {
    let current = db.transaction(|tx| read_versions(db, tx))?;
    check_not_newer(&current)?;
    if pending(&current).next().is_none() {
        return Ok(Report {
            applied: Vec::new(),
            versions: current,
        });
    }
    db.transaction(|tx| {
        let schema: Option<String> = tx
            .query_one("SELECT current_schema()", &[])
            .map_err(|e| db.error(&e))?
            .get(0);
        let Some(schema) = schema else {
            return Err(Error::Config {
                message: "the URL's search_path names no existing schema; create it first"
                    .to_owned(),
            });
        };
        // One migrator per schema at a time; other workers wait here, then find nothing to do.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('trust_schema:' || $1, 0))",
            &[&schema],
        )
        .map_err(|e| db.error(&e))?;
        tx.batch_execute(VERSION_TABLE).map_err(|e| db.error(&e))?;
        let mut versions = read_versions(db, tx)?;
        check_not_newer(&versions)?;
        let mut applied = Vec::new();
        for m in MIGRATIONS {
            if versions.get(m.component).copied().unwrap_or(0) >= m.version {
                continue;
            }
            tx.batch_execute(m.sql).map_err(|e| db.error(&e))?;
            tx.execute(
                "INSERT INTO trust_schema (component, version, description) VALUES ($1, $2, $3)",
                &[&m.component, &m.version, &m.description],
            )
            .map_err(|e| db.error(&e))?;
            versions.insert(m.component.to_owned(), m.version);
            applied.push((m.component.to_owned(), m.version, m.description.to_owned()));
        }
        Ok(Report { applied, versions })
    })
}

/// Each component's applied version (empty for a fresh database).
fn read_versions(db: &Database, tx: &mut Transaction<'_>) -> Result<BTreeMap<String, i32>, Error> {
    let exists: bool = tx
        .query_one("SELECT to_regclass('trust_schema') IS NOT NULL", &[])
        .map_err(|e| db.error(&e))?
        .get(0);
    let mut versions = BTreeMap::new();
    if !exists {
        return Ok(versions);
    }
    for row in tx
        .query(
            "SELECT component, max(version) FROM trust_schema GROUP BY component",
            &[],
        )
        .map_err(|e| db.error(&e))?
    {
        versions.insert(row.get(0), row.get(1));
    }
    Ok(versions)
}

fn check_not_newer(versions: &BTreeMap<String, i32>) -> Result<(), Error> {
    let known = supported();
    for (component, &found) in versions {
        let supported = known.get(component.as_str()).copied().unwrap_or(0);
        if found > supported {
            return Err(Error::SchemaTooNew {
                component: component.chars().take(64).collect(),
                found,
                supported,
            });
        }
    }
    Ok(())
}

fn pending(versions: &BTreeMap<String, i32>) -> impl Iterator<Item = &'static Migration> + '_ {
    MIGRATIONS
        .iter()
        .filter(|m| versions.get(m.component).copied().unwrap_or(0) < m.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_component_counts_from_one_without_gaps() {
        let mut last: BTreeMap<&str, i32> = BTreeMap::new();
        for m in MIGRATIONS {
            let prev = last.insert(m.component, m.version).unwrap_or(0);
            assert_eq!(m.version, prev + 1, "{} {}", m.component, m.version);
            assert!(!m.description.contains('\n'));
        }
    }

    #[test]
    fn a_newer_or_unknown_component_is_refused() {
        let mut v = BTreeMap::new();
        v.insert("home".to_owned(), 1);
        assert!(check_not_newer(&v).is_ok());
        v.insert("home".to_owned(), 99);
        assert!(matches!(
            check_not_newer(&v),
            Err(Error::SchemaTooNew { found: 99, .. })
        ));
        let mut v = BTreeMap::new();
        v.insert("from-the-future".to_owned(), 1);
        assert!(matches!(
            check_not_newer(&v),
            Err(Error::SchemaTooNew { supported: 0, .. })
        ));
    }
}
