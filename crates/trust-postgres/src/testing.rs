//! Test harness: a fresh schema with a random name for every test, on a real server.
//!
//! The server comes from `TRUST_TEST_POSTGRES_URL` (`.ci/servers` starts one and exports it).
//! When the variable is unset, [`TestSchema::create`] prints why the test is skipped and returns
//! `None`; when `CI=true` it panics instead, so a CI run without its server fails rather than
//! passing vacuously. Each schema is dropped (with everything in it) when the value is dropped.
//!
//! ```ignore
//! let Some(schema) = trust_postgres::testing::TestSchema::create("keyring_cas") else { return };
//! let db = schema.open();          // migrated, pooled
//! let url = schema.url();          // hand to a CLI subprocess: `trust --store URL …`
//! ```

use trust_core::store_url::StoreUrl;

use crate::{ConnectOptions, Database};

/// The variable naming the test server.
pub const URL_VAR: &str = "TRUST_TEST_POSTGRES_URL";

/// `true` when `CI=true`: a missing server is then a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The value of `var`, or `None` after printing why the calling test is skipped; panics under
/// `CI=true`.
pub fn require_env(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                !in_ci(),
                "{test}: {var} is not set and CI=true; a store test must not be skipped in CI \
                 (source .ci/servers)"
            );
            eprintln!("skipped {test}: {var} is not set (source .ci/servers to start a server)");
            None
        }
    }
}

/// A schema of its own on the test server, dropped on drop.
pub struct TestSchema {
    name: String,
    url: String,
    admin: Database,
}

impl TestSchema {
    /// Creates `t_<label>_<random>` and returns a handle, or `None` (skip) as described in the
    /// module docs. Panics when the server is configured but unusable: that is a test failure.
    #[allow(clippy::expect_used)] // a test harness: failing loudly is its job
    pub fn create(label: &str) -> Option<Self> {
        let base = require_env(URL_VAR, label)?;
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).expect("OS randomness");
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(24)
            .collect();
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("t_{label}_{suffix}");
        let base_url = StoreUrl::parse(&base).expect("TRUST_TEST_POSTGRES_URL is a URL");
        let admin = Database::connect(
            ConnectOptions::parse(&base_url).expect("TRUST_TEST_POSTGRES_URL parses"),
        )
        .unwrap_or_else(|e| panic!("{URL_VAR} is set but the server is unusable: {e}"));
        admin
            .transaction(|tx| {
                tx.batch_execute(&format!("CREATE SCHEMA {name}"))
                    .map_err(|e| admin.error(&e))
            })
            .expect("create the test schema");
        let sep = if base.contains('?') { '&' } else { '?' };
        // application_name marks this test's connections for `kill_connections`.
        let url = format!("{base}{sep}options=-csearch_path%3D{name}&application_name={name}");
        Some(Self { name, url, admin })
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL whose connections use this schema (it carries the test server's password).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// [`Self::url`] parsed.
    #[allow(clippy::expect_used)]
    pub fn store_url(&self) -> StoreUrl {
        StoreUrl::parse(&self.url).expect("test URL parses")
    }

    /// A migrated, pooled handle on this schema.
    #[allow(clippy::expect_used)]
    pub fn open(&self) -> Database {
        Database::open(&self.store_url()).expect("open the test schema")
    }

    /// Runs SQL as the test (for editing rows by hand, dropping connections, …).
    #[allow(clippy::expect_used)]
    pub fn execute(&self, sql: &str) {
        let sql = format!("SET LOCAL search_path TO {}; {sql}", self.name);
        self.admin
            .transaction(|tx| tx.batch_execute(&sql).map_err(|e| self.admin.error(&e)))
            .expect("test SQL");
    }

    /// Terminates every server connection opened through [`Self::url`] (they carry the
    /// schema's name as `application_name`): a dropped connection or a server restart, for
    /// this test's pools only. Returns how many were terminated.
    #[allow(clippy::expect_used)]
    pub fn kill_connections(&self) -> usize {
        self.admin
            .transaction(|tx| {
                let rows = tx
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE pid <> pg_backend_pid() AND application_name = $1",
                        &[&self.name],
                    )
                    .map_err(|e| self.admin.error(&e))?;
                Ok(rows.len())
            })
            .expect("terminate backends")
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // Best effort: a leftover schema is harmless (random name), a panic in drop is not.
        let _ = self
            .admin
            .transaction(|tx| tx.batch_execute(&sql).map_err(|e| self.admin.error(&e)));
    }
}
