//! Audit logs on PostgreSQL: trust-core's [`LogStore`] after Tessera's MySQL storage.
//!
//! ## One append
//!
//! A writer handle keeps one connection of its own. An append batch (what trust-core's group
//! commit gathered from every thread of the process) is one transaction that advances the
//! log's tree-state row, `trust_audit_tree`, taken one of two ways:
//!
//! * **Compare-and-swap**, when the handle's view of the tree is its own last commit (or its
//!   last lock): trust-core assigns indexes and chain links from that view, and one prepared
//!   statement outside any explicit transaction updates the tree row `WHERE size = ` the size
//!   the batch was built on and, only if that matched, inserts every leaf row, the payload rows
//!   and the tree nodes the batch completed at levels 8, 16, … (data-modifying CTEs over
//!   `unnest` of arrays; a leaf row already holds the level-0 hash). Its own commit is the
//!   acknowledgement: one round trip, the row locked only while the server runs the statement
//!   and flushes it. If another handle appended first, nothing is written and the batch is
//!   built again the locked way (trust-core's `LogStore::append_if_current`).
//! * **Locked**: `BEGIN; SET LOCAL lock_timeout …; SELECT … FROM trust_audit_tree … FOR
//!   UPDATE` hands the handle the stored size, compact range and last leaf hash (so a handle
//!   that another process or host appended past catches up here), then the same writes as one
//!   statement and `COMMIT` — in the same message for up to 64 entries (two round trips),
//!   a prepared statement and a `COMMIT` for more (three).
//!
//! Writers on other hosts wait for the row lock (at most the log's lock wait, then
//! `AUDIT_LOG_BUSY`); nothing is refused and nothing is lost. Checkpoints are signed outside
//! this transaction ([`trust_core::audit::AuditLog::checkpoint`]) by the same signers a directory
//! log uses, an HSM key included, and stored in `trust_audit_checkpoints`.
//!
//! ## Failures
//!
//! A dropped connection before the commit was sent leaves nothing applied
//! (`STORE_CONNECTION_LOST`, exit 3). A reply lost once the commit may have run is settled, not
//! guessed: the old server process is ended and awaited (a process that
//! is gone can commit nothing more), then the batch's last leaf row says whether it committed —
//! applied is success, not applied `STORE_CONNECTION_LOST` (a compare-and-swap on a connection
//! that had been idle, as after a server restart, is first sent once more on a new one), and
//! only what cannot be settled is `STORE_OUTCOME_UNKNOWN` (exit 3). A batch too large for the
//! one-message paths keeps the plain rule: a loss during its `COMMIT` is
//! `STORE_OUTCOME_UNKNOWN`. Either way the connection is discarded and the next call
//! reconnects; a connection found dead when a call starts is replaced at once.
//!
//! ## Where a log is
//!
//! `postgres://…/db?log=NAME` names log `NAME` (`[a-z0-9._-]`, at most 64 characters;
//! `audit` when absent) in the URL's schema; a database holds any number of logs. The `log`
//! parameter is taken out before the URL reaches the client library.
//!
//! ## Keys
//!
//! As a directory log keeps `signing.key` and `pseudonym.key` beside its segments, a database
//! log keeps them in `trust_audit_keys`, a table of their own so that roles which only read
//! (auditors, exports) can be denied it. With an HSM signer (`--signing-pkcs11`) no signing key
//! reaches the database: whoever can write the rows cannot sign a checkpoint.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, GenericClient, Statement};
use trust_core::audit::merkle::{self, CompactRange, Hash, MerkleError, NodeSource};
use trust_core::audit::{
    AuditError, AuditLog, DirExporter, ExportSummary, ExternalEd25519, InitOptions, Leaf,
    LogConfig, LogStore, NewLog, Query, SignedCheckpoint, SignerDescriptor, StoreError, Verifier,
    decode_pseudonym_key, encode_pseudonym_key, open_signer,
};
use trust_core::error::TrustError;
use trust_core::store_url::StoreUrl;

use crate::database::outside_async;
use crate::{Database, Error};

/// The log name used when the URL names none.
pub const DEFAULT_LOG: &str = "audit";
/// Tree nodes are stored at levels that are multiples of this (Tessera's tile height).
const TILE_LEVELS: u32 = 8;
/// Leaf rows read per query when streaming (export, search).
const READ_CHUNK: i64 = 10_000;
/// The largest leaf row accepted when reading (trust-core's own bound on a leaf).
const MAX_LEAF_LEN: usize = trust_core::audit::MAX_LEAF_LEN;

/// A log's place: the database URL (without `log=`) and the log's name.
#[derive(Clone, Debug)]
pub struct LogLocation {
    /// The database.
    pub url: StoreUrl,
    /// The log's name within it.
    pub name: String,
}

/// Whether `name` is a valid log name: `[a-z0-9._-]{1,64}`.
pub fn valid_log_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

impl LogLocation {
    /// Takes the `log=NAME` parameter out of a `postgres://` URL.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad or repeated name (the message never holds the password).
    pub fn parse(url: &StoreUrl) -> Result<Self, Error> {
        let raw = url.expose_secret();
        let (base, query) = match raw.split_once('?') {
            Some((base, query)) => (base, query),
            None => (raw, ""),
        };
        let mut name = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("log", value)) => {
                    if name.is_some() {
                        return Err(Error::Config {
                            message: format!("{url} names the log twice"),
                        });
                    }
                    name = Some(value.to_owned());
                }
                _ => kept.push(pair),
            }
        }
        let name = name.unwrap_or_else(|| DEFAULT_LOG.to_owned());
        if !valid_log_name(&name) {
            return Err(Error::Config {
                message: "the log name (`log=` in the URL) must be 1 to 64 of a-z 0-9 . _ -"
                    .to_owned(),
            });
        }
        let rebuilt = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let url = StoreUrl::parse(&rebuilt).map_err(|e| Error::Config {
            message: url.scrub(&e.to_string()),
        })?;
        Ok(Self { url, name })
    }
}

impl core::fmt::Display for LogLocation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} (log {})", self.url, self.name)
    }
}

/// A PostgreSQL error as a log store error, keeping its code and exit category.
pub fn store_error(e: &Error) -> StoreError {
    StoreError::Backend {
        code: e.code(),
        category: e.category(),
        message: e.to_string(),
        hint: e.hint(),
    }
}

fn audit_error(e: &Error) -> AuditError {
    AuditError::Store(store_error(e))
}

fn corrupt(what: &str, reason: &str) -> AuditError {
    AuditError::Store(StoreError::Damaged {
        reason: format!("{what}: {reason}"),
    })
}

/// The stored parts of a log (its `trust_audit_logs` row).
struct LogRow {
    id: i32,
    config: LogConfig,
    vkey: String,
}

fn load_log_row(
    db: &Database,
    client: &mut impl GenericClient,
    name: &str,
) -> Result<LogRow, AuditError> {
    let row = client
        .query_opt(
            "SELECT id, config, vkey FROM trust_audit_logs WHERE name = $1",
            &[&name],
        )
        .map_err(|e| audit_error(&db.error(&e)))?
        .ok_or_else(|| AuditError::NotALog(format!("{} (log {name})", db.url()).into()))?;
    let config: Vec<u8> = row.get(1);
    let config = LogConfig::from_json(&config)
        .ok_or_else(|| corrupt(&format!("log {name}"), "the configuration does not parse"))?;
    Ok(LogRow {
        id: row.get(0),
        config,
        vkey: row.get(2),
    })
}

/// Creates log `name` in `db` (migrated): its configuration, keys and an empty tree, in one
/// transaction. Returns the verifier key for auditors.
///
/// # Errors
/// [`AuditError::BadOrigin`], [`AuditError::AlreadyExists`] when the log exists, store errors.
pub fn init_log(db: &Database, name: &str, options: &InitOptions) -> Result<Verifier, AuditError> {
    let new = NewLog::generate(options)?;
    let vkey = new.signer.verifier().vkey();
    let config = new.config.to_json();
    let skey = new.signer.skey().map(|s| s.to_string());
    let pkey = encode_pseudonym_key(&new.pseudonyms).to_string();
    let created = db
        .transaction(|tx| {
            let id: Option<i32> = tx
                .query_opt(
                    "INSERT INTO trust_audit_logs (name, config, vkey) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO NOTHING RETURNING id",
                    &[&name, &config, &vkey],
                )
                .map_err(|e| db.error(&e))?
                .map(|r| r.get(0));
            let Some(id) = id else { return Ok(false) };
            tx.execute(
                "INSERT INTO trust_audit_keys (log_id, signing_key, pseudonym_key) \
                 VALUES ($1, $2, $3)",
                &[&id, &skey, &pkey],
            )
            .map_err(|e| db.error(&e))?;
            tx.execute(
                "INSERT INTO trust_audit_tree (log_id, size, border, last_hash) \
                 VALUES ($1, 0, ''::bytea, NULL)",
                &[&id],
            )
            .map_err(|e| db.error(&e))?;
            Ok(true)
        })
        .map_err(|e| audit_error(&e))?;
    if !created {
        return Err(AuditError::AlreadyExists(
            format!("{} (log {name})", db.url()).into(),
        ));
    }
    Ok(new.signer.verifier().clone())
}

/// The external signer log `name` needs, if its configuration names one (open that key and
/// pass it to [`open_log`]).
///
/// # Errors
/// [`AuditError::NotALog`], store errors.
pub fn signer_descriptor(
    db: &Database,
    name: &str,
) -> Result<Option<SignerDescriptor>, AuditError> {
    // The log's own error (not a log, a bad row) is carried out beside the store's result.
    let mut found = None;
    db.transaction(|tx| {
        found = Some(load_log_row(db, tx, name).map(|row| row.config.signer));
        Ok(())
    })
    .map_err(|e| audit_error(&e))?;
    found.unwrap_or(Err(AuditError::Poisoned))
}

/// Opens log `name` in `db` for writing, with `external` as its checkpoint key when its
/// configuration names one. Each handle keeps one connection of its own; share the handle in an
/// `Arc` within a process so that its appends are group-committed.
///
/// # Errors
/// [`AuditError::NotALog`], [`AuditError::SignerMismatch`], key errors, store errors.
pub fn open_log(
    db: &Database,
    name: &str,
    external: Option<Arc<dyn ExternalEd25519>>,
    wait: Duration,
) -> Result<AuditLog, AuditError> {
    let mut client = db.dedicated_client().map_err(|e| audit_error(&e))?;
    let opened = outside_async(|| -> Result<_, AuditError> {
        let row = load_log_row(db, &mut client, name)?;
        let keys = client
            .query_opt(
                "SELECT signing_key, pseudonym_key FROM trust_audit_keys WHERE log_id = $1",
                &[&row.id],
            )
            .map_err(|e| audit_error(&db.error(&e)))?
            .ok_or_else(|| corrupt(&format!("log {name}"), "its keys are missing"))?;
        let skey: Option<String> = keys.get(0);
        let pkey: String = keys.get(1);
        Ok((
            row,
            zeroize::Zeroizing::new(skey),
            zeroize::Zeroizing::new(pkey),
        ))
    });
    let (row, skey, pkey) = match opened {
        Ok(v) => v,
        Err(e) => {
            outside_async(move || drop(client));
            return Err(e);
        }
    };
    let what = format!("{} (log {name}) signing key", db.url());
    let signer = open_signer(
        &row.config,
        skey.as_deref().map(str::trim_end),
        &row.vkey,
        external,
        Path::new(&what),
    )?;
    let pseudonyms = decode_pseudonym_key(&pkey)
        .ok_or_else(|| corrupt(&format!("log {name}"), "the pseudonym key does not parse"))?;
    let store = PgLogStore {
        db: db.clone(),
        log_id: row.id,
        conn: Mutex::new(Conn {
            client: Some(client),
            in_tx: false,
            append: None,
            cas: None,
            backend: None,
            lock_timeout: None,
        }),
        range: CompactRange::new(),
        last: None,
        known: false,
        payloads: Vec::new(),
        optimistic: false,
        locked_rounds: 0,
        wait,
    };
    let location = format!("{} (log {name})", db.url());
    let log = AuditLog::from_store(Box::new(store), location, row.config, signer, pseudonyms)
        .with_lock_wait(wait);
    // Catch up with the stored tree now: a bad tree row is reported at open.
    log.size()?;
    Ok(log)
}

/// The tree-state row as read: size, border bytes, last leaf hash bytes.
type TreeRow = (u64, Vec<u8>, Option<Vec<u8>>);

struct Conn {
    client: Option<Client>,
    in_tx: bool,
    /// [`APPEND_SQL`], prepared on `client`.
    append: Option<Statement>,
    /// [`CAS_SQL`], prepared on `client`.
    cas: Option<Statement>,
    /// The server process behind `client` (pid, start time), read before its first
    /// compare-and-swap append: a lost reply is settled by ending that process and looking.
    backend: Option<(i32, String)>,
    /// The session's `lock_timeout` as this code set it (milliseconds), for the
    /// compare-and-swap, which runs outside the locked path's `SET LOCAL`.
    lock_timeout: Option<u128>,
}

/// The batch as one compare-and-swap statement, run outside any transaction (it commits by
/// itself): the tree row is advanced only if its size is still the one the batch was built on
/// (`$14`), and the rows are written only if it was. Returns 1 when applied, 0 when another
/// handle appended first (nothing written). The row lock is held only while the server runs
/// the statement and flushes its commit, never across a round trip to the client.
const CAS_SQL: &str = "WITH \
    t AS (UPDATE trust_audit_tree SET size = $11, border = $12, last_hash = $13 \
          WHERE log_id = $1 AND size = $14 RETURNING log_id), \
    l AS (INSERT INTO trust_audit_leaves (log_id, idx, hash, leaf) \
          SELECT t.log_id, u.* FROM t, unnest($2::bigint[], $3::bytea[], $4::bytea[]) u), \
    p AS (INSERT INTO trust_audit_payloads (log_id, idx, salt, payload) \
          SELECT t.log_id, u.* FROM t, unnest($5::bigint[], $6::bytea[], $7::bytea[]) u \
          ON CONFLICT (log_id, idx) DO UPDATE SET salt = EXCLUDED.salt, \
          payload = EXCLUDED.payload), \
    n AS (INSERT INTO trust_audit_nodes (log_id, level, idx, hash) \
          SELECT t.log_id, u.* FROM t, unnest($8::integer[], $9::bigint[], $10::bytea[]) u) \
    SELECT count(*) FROM t";

/// Batches of at most this many entries may be appended by one compare-and-swap statement;
/// larger ones take the lock first (the round trips saved are nothing beside their rows, and a
/// connection lost before their commit is then known to have applied nothing).
const CAS_MAX_RECORDS: usize = 4096;
/// After a compare-and-swap found that another handle appended first, this many appends take
/// the lock first (writers in other processes are busy; a lost race costs a round trip).
const LOCKED_AFTER_STALE: u32 = 16;
/// Batches of at most this many entries appended under the lock are sent with their `COMMIT`
/// as one text message (their bytes as hex literals); larger ones as a prepared statement and
/// a `COMMIT` (two round trips, binary).
const ONE_MESSAGE_MAX_RECORDS: usize = 64;
/// How long a lost reply is settled for: the old server process must be gone by then.
const SETTLE_WAIT: Duration = Duration::from_secs(5);

/// The batch: leaves, payloads and the level-8k nodes it completed, and the new tree state,
/// as one statement of data-modifying CTEs (empty arrays insert nothing).
const APPEND_SQL: &str = "WITH \
    l AS (INSERT INTO trust_audit_leaves (log_id, idx, hash, leaf) \
          SELECT $1, * FROM unnest($2::bigint[], $3::bytea[], $4::bytea[])), \
    p AS (INSERT INTO trust_audit_payloads (log_id, idx, salt, payload) \
          SELECT $1, * FROM unnest($5::bigint[], $6::bytea[], $7::bytea[]) \
          ON CONFLICT (log_id, idx) DO UPDATE SET salt = EXCLUDED.salt, \
          payload = EXCLUDED.payload), \
    n AS (INSERT INTO trust_audit_nodes (log_id, level, idx, hash) \
          SELECT $1, * FROM unnest($8::integer[], $9::bigint[], $10::bytea[])) \
    UPDATE trust_audit_tree SET size = $11, border = $12, last_hash = $13 WHERE log_id = $1";

/// `bytes` as a bytea literal (hex: only digits and a-f reach the text).
fn bytea_literal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2 + 8);
    out.push_str("'\\x");
    out.push_str(&hex::encode(bytes));
    out.push_str("'::bytea");
    out
}

/// A bytea[] literal of `items`.
fn bytea_array<'a>(items: impl Iterator<Item = &'a [u8]>) -> String {
    let parts: Vec<String> = items.map(bytea_literal).collect();
    if parts.is_empty() {
        "'{}'::bytea[]".to_owned()
    } else {
        format!("ARRAY[{}]::bytea[]", parts.join(","))
    }
}

/// An integer array literal of `items` as `ty` (`bigint[]`, `integer[]`).
fn int_array<T: core::fmt::Display>(items: &[T], ty: &str) -> String {
    let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("'{{{}}}'::{ty}", parts.join(","))
}

/// [`APPEND_SQL`] with the batch's values written in: only integers and hex digits this code
/// formatted reach the text, so nothing can be injected.
fn append_text(log_id: i32, p: &BatchParams) -> String {
    let last = p
        .last
        .as_deref()
        .map_or_else(|| "NULL".to_owned(), bytea_literal);
    format!(
        "WITH \
         l AS (INSERT INTO trust_audit_leaves (log_id, idx, hash, leaf) \
               SELECT {log_id}, * FROM unnest({}, {}, {})), \
         p AS (INSERT INTO trust_audit_payloads (log_id, idx, salt, payload) \
               SELECT {log_id}, * FROM unnest({}, {}, {}) \
               ON CONFLICT (log_id, idx) DO UPDATE SET salt = EXCLUDED.salt, \
               payload = EXCLUDED.payload), \
         n AS (INSERT INTO trust_audit_nodes (log_id, level, idx, hash) \
               SELECT {log_id}, * FROM unnest({}, {}, {})) \
         UPDATE trust_audit_tree SET size = {}, border = {}, last_hash = {last} \
         WHERE log_id = {log_id}",
        int_array(&p.idx, "bigint[]"),
        bytea_array(p.hashes.iter().map(Vec::as_slice)),
        bytea_array(p.leaves.iter().map(Vec::as_slice)),
        int_array(&p.p_idx, "bigint[]"),
        bytea_array(p.p_salt.iter().map(Vec::as_slice)),
        bytea_array(p.p_data.iter().map(Vec::as_slice)),
        int_array(&p.n_level, "integer[]"),
        int_array(&p.n_idx, "bigint[]"),
        bytea_array(p.n_hash.iter().map(Vec::as_slice)),
        p.size,
        bytea_literal(&p.border),
    )
}

/// Who the server process behind `client` is (pid, start time), setting the session's lock
/// wait first when given one.
fn identify(
    client: &mut Client,
    lock_timeout_ms: Option<u128>,
) -> Result<Option<(i32, String)>, postgres::Error> {
    let set = lock_timeout_ms
        .map(|ms| format!("SET lock_timeout = {ms}; "))
        .unwrap_or_default();
    let msgs = client.simple_query(&format!(
        "{set}SELECT pid, backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()"
    ))?;
    Ok(msgs.iter().find_map(|m| match m {
        postgres::SimpleQueryMessage::Row(r) => {
            Some((r.get(0)?.parse::<i32>().ok()?, r.get(1)?.to_owned()))
        }
        _ => None,
    }))
}

/// trust-core's [`LogStore`] on PostgreSQL; see the module docs. Built by [`open_log`].
pub struct PgLogStore {
    db: Database,
    log_id: i32,
    conn: Mutex<Conn>,
    range: CompactRange,
    last: Option<Hash>,
    /// Whether `range` and `last` were read from the tree row at least once.
    known: bool,
    /// Payloads of the batch being built (index, salt, payload), written by `append`.
    payloads: Vec<(i64, Vec<u8>, Vec<u8>)>,
    /// Whether the current append was begun without the lock (by `lock_for_append`).
    optimistic: bool,
    /// Appends left that take the lock first after a lost compare-and-swap.
    locked_rounds: u32,
    /// The log's lock wait, for the compare-and-swap's own wait on the tree row.
    wait: Duration,
}

/// A batch's parameters, as both append statements take them.
struct BatchParams {
    idx: Vec<i64>,
    hashes: Vec<Vec<u8>>,
    leaves: Vec<Vec<u8>>,
    p_idx: Vec<i64>,
    p_salt: Vec<Vec<u8>>,
    p_data: Vec<Vec<u8>>,
    n_level: Vec<i32>,
    n_idx: Vec<i64>,
    n_hash: Vec<Vec<u8>>,
    size: i64,
    border: Vec<u8>,
    last: Option<Vec<u8>>,
    /// The size the batch was built on.
    base: i64,
}

impl core::fmt::Debug for PgLogStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PgLogStore")
            .field("url", self.db.url())
            .field("log_id", &self.log_id)
            .field("size", &self.range.size())
            .finish_non_exhaustive()
    }
}

impl Drop for PgLogStore {
    fn drop(&mut self) {
        let conn = match self.conn.get_mut() {
            Ok(c) => c.client.take(),
            Err(p) => p.into_inner().client.take(),
        };
        // A client owns a runtime, which tokio refuses to drop inside another one.
        if let Some(client) = conn {
            outside_async(move || drop(client));
        }
    }
}

fn hashes_of(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(32) || bytes.len() > 64 * 32 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect(),
    )
}

fn hash_of(bytes: &[u8]) -> Option<Hash> {
    <[u8; 32]>::try_from(bytes).ok()
}

fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::NoSuchEntry)
}

impl PgLogStore {
    fn conn(&self) -> MutexGuard<'_, Conn> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Handles a failed statement: inside a transaction the transaction is dead (rolled back
    /// here, best effort); a lost connection is dropped so the next call reconnects.
    fn fail(db: &Database, conn: &mut Conn, e: &postgres::Error) -> StoreError {
        let err = db.error(e);
        Self::reset(conn);
        store_error(&err)
    }

    fn reset(conn: &mut Conn) {
        let alive = conn.client.as_mut().is_some_and(|c| {
            !c.is_closed() && (!conn.in_tx || c.batch_execute("ROLLBACK").is_ok())
        });
        conn.in_tx = false;
        if !alive && let Some(client) = conn.client.take() {
            conn.append = None;
            conn.cas = None;
            conn.backend = None;
            conn.lock_timeout = None;
            outside_async(move || drop(client));
        }
    }

    fn client<'c>(db: &Database, conn: &'c mut Conn) -> Result<&'c mut Client, StoreError> {
        if conn.client.as_ref().is_none_or(Client::is_closed) {
            conn.in_tx = false;
            if let Some(old) = conn.client.take() {
                outside_async(move || drop(old));
            }
            conn.append = None;
            conn.cas = None;
            conn.backend = None;
            conn.lock_timeout = None;
            conn.client = Some(db.dedicated_client().map_err(|e| store_error(&e))?);
        }
        conn.client.as_mut().ok_or(StoreError::Poisoned)
    }

    /// `BEGIN`, the lock on the tree row, and its contents: one round trip.
    fn begin_locked(
        db: &Database,
        log_id: i32,
        conn: &mut Conn,
        wait: Duration,
    ) -> Result<TreeRow, StoreError> {
        let lock = if wait.is_zero() {
            "FOR UPDATE NOWAIT"
        } else {
            "FOR UPDATE"
        };
        // lock_timeout 0 would mean "forever": at least 1 ms.
        let timeout_ms = wait.as_millis().clamp(1, 86_400_000);
        // Only integers we formatted ourselves go into the text: no injection.
        let sql = format!(
            "BEGIN; SET LOCAL lock_timeout = {timeout_ms}; \
             SELECT size, encode(border, 'hex'), encode(last_hash, 'hex') \
             FROM trust_audit_tree WHERE log_id = {log_id} {lock}"
        );
        let client = Self::client(db, conn)?;
        let result = client.simple_query(&sql);
        conn.in_tx = true;
        let messages = match result {
            Ok(m) => m,
            Err(e) => {
                if e.code().map(postgres::error::SqlState::code) == Some("55P03") {
                    Self::reset(conn);
                    return Err(StoreError::Busy { waited: wait });
                }
                return Err(Self::fail(db, conn, &e));
            }
        };
        let row = messages.iter().find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        });
        let bad = |reason: &str| StoreError::Damaged {
            reason: format!("the tree-state row: {reason}"),
        };
        let Some(row) = row else {
            Self::reset(conn);
            return Err(bad("missing"));
        };
        let size = row
            .get(0)
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| bad("bad size"))?;
        let border = row
            .get(1)
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| bad("bad border"))?;
        let last = match row.get(2) {
            None => None,
            Some(h) => Some(hex::decode(h).map_err(|_| bad("bad last hash"))?),
        };
        Ok((size, border, last))
    }

    /// The parameters of `records` (the first at this handle's size) and the compact range
    /// after them.
    fn batch(
        &self,
        records: &[(Vec<u8>, Hash)],
        payloads: Vec<(i64, Vec<u8>, Vec<u8>)>,
    ) -> Result<(BatchParams, CompactRange), StoreError> {
        let first = self.range.size();
        let mut range = self.range.clone();
        let mut p = BatchParams {
            idx: Vec::with_capacity(records.len()),
            hashes: Vec::with_capacity(records.len()),
            leaves: Vec::with_capacity(records.len()),
            p_idx: Vec::with_capacity(payloads.len()),
            p_salt: Vec::with_capacity(payloads.len()),
            p_data: Vec::with_capacity(payloads.len()),
            n_level: Vec::new(),
            n_idx: Vec::new(),
            n_hash: Vec::new(),
            size: 0,
            border: Vec::new(),
            last: records.last().map(|r| r.1.to_vec()),
            base: to_i64(first)?,
        };
        for (i, (leaf, hash)) in records.iter().enumerate() {
            p.idx.push(to_i64(first + i as u64)?);
            p.hashes.push(hash.to_vec());
            p.leaves.push(leaf.clone());
            range.push_with(*hash, |level, index, h| {
                if level > 0 && level % TILE_LEVELS == 0 {
                    p.n_level.push(level as i32);
                    p.n_idx.push(index as i64);
                    p.n_hash.push(h.to_vec());
                }
            });
        }
        for (i, salt, data) in payloads {
            p.p_idx.push(i);
            p.p_salt.push(salt);
            p.p_data.push(data);
        }
        p.border = range.hashes().concat();
        p.size = to_i64(range.size())?;
        Ok((p, range))
    }

    /// Runs [`CAS_SQL`]; `Ok(false)` when another handle appended first. A connection lost on
    /// the way is settled ([`Self::settle`]): applied is success, and a batch known not to be
    /// applied is sent once more on a new connection when the old one had been idle (a server
    /// restart or failover while idle is no error of the caller's).
    fn cas(
        &self,
        conn: &mut Conn,
        p: &BatchParams,
        last: Option<Hash>,
    ) -> Result<bool, StoreError> {
        let mut resent = false;
        loop {
            let was_open = conn.client.as_ref().is_some_and(|c| !c.is_closed());
            Self::client(&self.db, conn)?;
            let timeout_ms = self.wait.as_millis().clamp(1, 86_400_000);
            if (conn.backend.is_none() || conn.lock_timeout != Some(timeout_ms))
                && let Some(client) = conn.client.as_mut()
            {
                // Once per connection (and lock wait): the session's lock wait, for the
                // statement's own wait on the tree row, and who the server process is.
                let Ok(Some(found)) = identify(client, Some(timeout_ms)) else {
                    // Without knowing the process, a lost reply could not be settled: the
                    // locked append it is (nothing written here).
                    Self::reset(conn);
                    return Ok(false);
                };
                conn.backend = Some(found);
                conn.lock_timeout = Some(timeout_ms);
            }
            let Some(client) = conn.client.as_mut() else {
                return Err(StoreError::Poisoned);
            };
            let stmt = match conn.cas.clone() {
                Some(stmt) => stmt,
                None => match client.prepare(CAS_SQL) {
                    Ok(stmt) => {
                        conn.cas = Some(stmt.clone());
                        stmt
                    }
                    Err(e) => return Err(Self::fail(&self.db, conn, &e)),
                },
            };
            let args: [&(dyn ToSql + Sync); 14] = [
                &self.log_id,
                &p.idx,
                &p.hashes,
                &p.leaves,
                &p.p_idx,
                &p.p_salt,
                &p.p_data,
                &p.n_level,
                &p.n_idx,
                &p.n_hash,
                &p.size,
                &p.border,
                &p.last,
                &p.base,
            ];
            let e = match client.query_one(&stmt, &args) {
                Ok(row) => return Ok(row.get::<_, i64>(0) == 1),
                Err(e) => e,
            };
            if e.code().map(postgres::error::SqlState::code) == Some("55P03") {
                return Err(StoreError::Busy { waited: self.wait });
            }
            let err = self.db.error(&e);
            let backend = conn.backend.take();
            if !matches!(err, Error::ConnectionLost { .. }) {
                // The server refused the statement: nothing of it applied.
                Self::reset(conn);
                return Err(store_error(&err));
            }
            // Never settle on the connection that lost the reply.
            conn.cas = None;
            conn.append = None;
            if let Some(old) = conn.client.take() {
                drop(old);
            }
            let target = self.db.url().to_string();
            match self.settle(conn, backend, p, last) {
                Some(true) => return Ok(true),
                Some(false) if was_open && !resent => resent = true,
                Some(false) => return Err(store_error(&Error::ConnectionLost { target })),
                None => return Err(store_error(&Error::OutcomeUnknown { target })),
            }
        }
    }

    /// Sends `sql` (a batch and its `COMMIT`, in the lock's transaction). A lost reply is
    /// settled ([`Self::settle`]): applied is success, not applied is
    /// [`Error::ConnectionLost`] (the lock is gone with the connection; the caller's next call
    /// starts over), and what cannot be settled is [`Error::OutcomeUnknown`].
    fn append_and_commit(
        &self,
        conn: &mut Conn,
        sql: &str,
        p: &BatchParams,
        last: Option<Hash>,
    ) -> Result<(), StoreError> {
        let Some(client) = conn.client.as_mut() else {
            return Err(StoreError::Poisoned);
        };
        if conn.backend.is_none() {
            match identify(client, None) {
                Ok(found) => conn.backend = found,
                Err(e) => return Err(Self::fail(&self.db, conn, &e)),
            }
        }
        let Some(client) = conn.client.as_mut() else {
            return Err(StoreError::Poisoned);
        };
        let e = match client.batch_execute(sql) {
            Ok(()) => {
                conn.in_tx = false;
                return Ok(());
            }
            Err(e) => e,
        };
        let err = self.db.error(&e);
        if !matches!(err, Error::ConnectionLost { .. }) {
            // Refused before the commit (which a failed statement skips): nothing applied.
            return Err(Self::fail(&self.db, conn, &e));
        }
        conn.in_tx = false;
        let backend = conn.backend.take();
        conn.cas = None;
        conn.append = None;
        if let Some(old) = conn.client.take() {
            drop(old);
        }
        let target = self.db.url().to_string();
        match self.settle(conn, backend, p, last) {
            Some(true) => Ok(()),
            Some(false) => Err(store_error(&Error::ConnectionLost { target })),
            None => Err(store_error(&Error::OutcomeUnknown { target })),
        }
    }

    /// Whether a compare-and-swap append whose reply was lost committed: `None` when that
    /// cannot be known. The server process that ran it is ended first and awaited, so the
    /// answer is final (a process that is gone can commit nothing more); the batch is there
    /// exactly when its last leaf's row holds its hash. Leaves `conn` on a new connection.
    fn settle(
        &self,
        conn: &mut Conn,
        backend: Option<(i32, String)>,
        p: &BatchParams,
        last: Option<Hash>,
    ) -> Option<bool> {
        let (pid, started) = backend?;
        let last = last?;
        let client = Self::client(&self.db, conn).ok()?;
        let deadline = std::time::Instant::now() + SETTLE_WAIT;
        loop {
            let alive = client
                .query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE pid = $1 AND backend_start::text = $2",
                    &[&pid, &started],
                )
                .ok()?;
            if alive.is_empty() {
                break;
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let at = *p.idx.last()?;
        let row = client
            .query_opt(
                "SELECT hash FROM trust_audit_leaves WHERE log_id = $1 AND idx = $2",
                &[&self.log_id, &at],
            )
            .ok()?;
        Some(row.is_some_and(|r| r.get::<_, &[u8]>(0) == last.as_slice()))
    }

    /// Reads `count` consecutive stored hashes at `level` from `start` (level 0: leaf hashes).
    fn stored_hashes(&self, level: u32, start: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
        let mut guard = self.conn();
        let conn = &mut *guard;
        let (start_i, end_i) = (to_i64(start)?, to_i64(start + count)?);
        let level_i = i32::try_from(level).map_err(|_| StoreError::NoSuchEntry)?;
        let db = &self.db;
        let log_id = self.log_id;
        let rows = outside_async(|| {
            let client = Self::client(db, conn)?;
            let rows = if level == 0 {
                client.query(
                "SELECT hash FROM trust_audit_leaves WHERE log_id = $1 AND idx >= $2 AND idx < $3 \
                 ORDER BY idx",
                &[&log_id, &start_i, &end_i],
            )
            } else {
                client.query(
                    "SELECT hash FROM trust_audit_nodes WHERE log_id = $1 AND level = $2 \
                 AND idx >= $3 AND idx < $4 ORDER BY idx",
                    &[&log_id, &level_i, &start_i, &end_i],
                )
            };
            rows.map_err(|e| Self::fail(db, conn, &e))
        })?;
        let hashes: Option<Vec<Hash>> =
            rows.iter().map(|r| hash_of(r.get::<_, &[u8]>(0))).collect();
        match hashes {
            Some(h) if h.len() as u64 == count => Ok(h),
            _ => Err(StoreError::Damaged {
                reason: format!(
                    "tree hashes at level {level} from {start} are missing or malformed"
                ),
            }),
        }
    }
}

impl NodeSource for PgLogStore {
    fn node(&self, level: u32, index: u64) -> Result<Hash, MerkleError> {
        let width = 1u64.checked_shl(level).ok_or(MerkleError::Unavailable)?;
        let end = index
            .checked_add(1)
            .and_then(|i| i.checked_mul(width))
            .ok_or(MerkleError::Unavailable)?;
        if end > self.range.size() {
            return Err(MerkleError::Unavailable);
        }
        let base = level - level % TILE_LEVELS;
        let span = level - base;
        let mut hashes = self
            .stored_hashes(base, index << span, 1u64 << span)
            .map_err(|_| MerkleError::Unavailable)?;
        while hashes.len() > 1 {
            hashes = hashes
                .chunks_exact(2)
                .map(|p| merkle::node_hash(&p[0], &p[1]))
                .collect();
        }
        hashes.pop().ok_or(MerkleError::Unavailable)
    }
}

impl LogStore for PgLogStore {
    fn lock(&mut self, wait: Duration) -> Result<(), StoreError> {
        self.payloads.clear();
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let conn = &mut *guard;
        if conn.in_tx {
            return Ok(());
        }
        // A connection that died while idle (a server restart, a failover) is replaced once.
        let had_client = conn.client.as_ref().is_some_and(|c| !c.is_closed());
        let got = outside_async(
            || match Self::begin_locked(&self.db, self.log_id, conn, wait) {
                Err(StoreError::Backend {
                    code: "STORE_CONNECTION_LOST",
                    ..
                }) if had_client => Self::begin_locked(&self.db, self.log_id, conn, wait),
                other => other,
            },
        );
        let (size, border, last) = got?;
        let border = hashes_of(&border);
        // `Some(None)`: no entry yet; `None`: a last hash that is not 32 bytes.
        let last = match last {
            None => Some(None),
            Some(b) => hash_of(&b).map(Some),
        };
        let range = border.and_then(|b| CompactRange::from_parts(size, b));
        match (range, last) {
            (Some(range), Some(last)) if (size == 0) == last.is_none() => {
                self.range = range;
                self.last = last;
                self.known = true;
                Ok(())
            }
            _ => {
                Self::reset(conn);
                Err(StoreError::Damaged {
                    reason: "the tree-state row does not parse".to_owned(),
                })
            }
        }
    }

    fn unlock(&mut self) {
        self.payloads.clear();
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let conn = &mut *guard;
        if conn.in_tx {
            outside_async(|| Self::reset(conn));
        }
    }

    fn size(&self) -> u64 {
        self.range.size()
    }

    fn compact_range(&self) -> &CompactRange {
        &self.range
    }

    fn last_leaf_hash(&self) -> Option<Hash> {
        self.last
    }

    fn append(&mut self, records: &[(Vec<u8>, Hash)]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let conn = &mut *guard;
        if !conn.in_tx || !self.known {
            return Err(StoreError::Poisoned);
        }
        let payloads = std::mem::take(&mut self.payloads);
        let (params, range) = self.batch(records, payloads)?;
        let log_id = self.log_id;
        if records.len() <= ONE_MESSAGE_MAX_RECORDS {
            // Under the lock, the batch and the commit go in one message: the lock is held for
            // one round trip and the flush, not two and the flush.
            let sql = format!("{}; COMMIT", append_text(log_id, &params));
            let last = records.last().map(|r| r.1);
            let got = outside_async(|| self.append_and_commit(conn, &sql, &params, last));
            return match got {
                Ok(()) => {
                    self.range = range;
                    self.last = last;
                    Ok(())
                }
                Err(e) => {
                    self.known = false;
                    Err(e)
                }
            };
        }
        let db = self.db.clone();
        let Some(client) = conn.client.as_mut() else {
            return Err(StoreError::Poisoned);
        };
        let cached = conn.append.clone();
        let outcome = outside_async(|| -> Result<Statement, (postgres::Error, bool)> {
            // One statement (prepared once per connection) writes the batch and advances the
            // tree row; with the lock before it and the commit after it, three round trips.
            let stmt = match cached {
                Some(stmt) => stmt,
                None => client.prepare(APPEND_SQL).map_err(|e| (e, false))?,
            };
            let p = &params;
            let args: [&(dyn ToSql + Sync); 13] = [
                &log_id, &p.idx, &p.hashes, &p.leaves, &p.p_idx, &p.p_salt, &p.p_data, &p.n_level,
                &p.n_idx, &p.n_hash, &p.size, &p.border, &p.last,
            ];
            client.execute(&stmt, &args).map_err(|e| (e, false))?;
            client.batch_execute("COMMIT").map_err(|e| (e, true))?;
            Ok(stmt)
        });
        conn.in_tx = false;
        match outcome {
            Ok(stmt) => {
                conn.append = Some(stmt);
                self.range = range;
                self.last = records.last().map(|r| r.1);
                Ok(())
            }
            Err((e, during_commit)) => {
                let err = db.error(&e);
                conn.in_tx = !during_commit;
                Self::reset(conn);
                let err = match err {
                    Error::ConnectionLost { target } if during_commit => {
                        Error::OutcomeUnknown { target }
                    }
                    other => other,
                };
                // The view is re-read from the tree row at the next lock, whatever happened.
                self.known = false;
                Err(store_error(&err))
            }
        }
    }

    fn lock_for_append(&mut self, wait: Duration) -> Result<(), StoreError> {
        self.payloads.clear();
        self.optimistic = false;
        self.wait = wait;
        let usable = {
            let conn = self.conn();
            !conn.in_tx && conn.client.as_ref().is_some_and(|c| !c.is_closed())
        };
        if self.known && usable && self.locked_rounds == 0 {
            // The view is this handle's own last commit (or lock): if nobody appended since,
            // the batch built on it goes in with one statement; if somebody did, that
            // statement says so and writes nothing.
            self.optimistic = true;
            return Ok(());
        }
        self.locked_rounds = self.locked_rounds.saturating_sub(1);
        self.lock(wait)
    }

    fn append_if_current(&mut self, records: &[(Vec<u8>, Hash)]) -> Result<bool, StoreError> {
        if !std::mem::take(&mut self.optimistic) {
            return self.append(records).map(|()| true);
        }
        if records.is_empty() {
            return Ok(true);
        }
        if records.len() > CAS_MAX_RECORDS {
            // The caller takes the lock and builds the batch again (payloads included).
            return Ok(false);
        }
        let payloads = std::mem::take(&mut self.payloads);
        let (params, range) = self.batch(records, payloads)?;
        let last = records.last().map(|r| r.1);
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let conn = &mut *guard;
        let got = outside_async(|| self.cas(conn, &params, last));
        match got {
            Ok(true) => {
                self.range = range;
                self.last = last;
                Ok(true)
            }
            Ok(false) => {
                self.locked_rounds = LOCKED_AFTER_STALE;
                Ok(false)
            }
            Err(e) => {
                self.known = false;
                Err(e)
            }
        }
    }

    fn read_leaf(&self, index: u64) -> Result<Vec<u8>, StoreError> {
        if index >= self.range.size() {
            return Err(StoreError::NoSuchEntry);
        }
        let i = to_i64(index)?;
        let mut guard = self.conn();
        let conn = &mut *guard;
        let got = outside_async(|| {
            let client = Self::client(&self.db, conn)?;
            client
                .query_opt(
                    "SELECT leaf FROM trust_audit_leaves WHERE log_id = $1 AND idx = $2",
                    &[&self.log_id, &i],
                )
                .map_err(|e| Self::fail(&self.db, conn, &e))
        })?;
        got.map(|r| r.get::<_, Vec<u8>>(0))
            .ok_or_else(|| StoreError::Damaged {
                reason: format!("entry {index} is missing"),
            })
    }

    fn put_checkpoint(&mut self, size: u64, root: &Hash, note: &str) -> Result<(), StoreError> {
        let size = to_i64(size)?;
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let conn = &mut *guard;
        let in_tx = conn.in_tx;
        outside_async(|| {
            let client = Self::client(&self.db, conn)?;
            let r = client.execute(
                "INSERT INTO trust_audit_checkpoints (log_id, size, root, note) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&self.log_id, &size, &root.as_slice(), &note],
            );
            // Inside the lock's transaction, the checkpoint is durable at its commit, which
            // ends the lock (nothing else is written under it).
            let r = r.and_then(|_| {
                if in_tx {
                    client.batch_execute("COMMIT")
                } else {
                    Ok(())
                }
            });
            match r {
                Ok(()) => {
                    conn.in_tx = false;
                    Ok(())
                }
                Err(e) => Err(Self::fail(&self.db, conn, &e)),
            }
        })
    }

    fn put_payload(
        &mut self,
        index: u64,
        salt: &[u8; 32],
        payload: &[u8],
    ) -> Result<(), StoreError> {
        // Written by the append that follows, in its transaction and in one statement: a
        // payload row exists exactly when its entry does.
        self.payloads
            .push((to_i64(index)?, salt.to_vec(), payload.to_vec()));
        Ok(())
    }

    fn delete_payload(&mut self, index: u64) -> Result<bool, StoreError> {
        let i = to_i64(index)?;
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let conn = &mut *guard;
        let in_tx = conn.in_tx;
        outside_async(|| {
            let client = Self::client(&self.db, conn)?;
            let r = client
                .execute(
                    "DELETE FROM trust_audit_payloads WHERE log_id = $1 AND idx = $2",
                    &[&self.log_id, &i],
                )
                .and_then(|n| {
                    if in_tx {
                        client.batch_execute("COMMIT")?;
                    }
                    Ok(n)
                });
            match r {
                Ok(n) => {
                    conn.in_tx = false;
                    Ok(n > 0)
                }
                Err(e) => Err(Self::fail(&self.db, conn, &e)),
            }
        })
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        // Every append is durable at its commit; nothing is derived outside a transaction.
        Ok(())
    }

    fn checkpoints(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut guard = self.conn();
        let conn = &mut *guard;
        outside_async(|| {
            let client = Self::client(&self.db, conn)?;
            let rows = client
                .query(
                    "SELECT note FROM trust_audit_checkpoints WHERE log_id = $1 ORDER BY size",
                    &[&self.log_id],
                )
                .map_err(|e| Self::fail(&self.db, conn, &e))?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, String>(0).into_bytes())
                .collect())
        })
    }

    fn close(&mut self) {
        self.unlock();
    }
}

/// A read-only snapshot of one log: a dedicated connection in a `REPEATABLE READ READ ONLY`
/// transaction, so an export or a search sees one consistent state while writers go on.
struct Snapshot {
    client: Client,
    db: Database,
    row: LogRow,
    size: u64,
}

impl Snapshot {
    fn open(db: &Database, name: &str) -> Result<Self, AuditError> {
        let mut client = db.dedicated_client().map_err(|e| audit_error(&e))?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(|e| audit_error(&db.error(&e)))?;
        let row = load_log_row(db, &mut client, name)?;
        let size: i64 = client
            .query_one(
                "SELECT size FROM trust_audit_tree WHERE log_id = $1",
                &[&row.id],
            )
            .map_err(|e| audit_error(&db.error(&e)))?
            .get(0);
        let size = u64::try_from(size).map_err(|_| corrupt("the tree-state row", "bad size"))?;
        Ok(Self {
            client,
            db: db.clone(),
            row,
            size,
        })
    }

    /// Streams `(index, leaf, stored hash)` for indexes in `from..to`, in order.
    fn leaves(
        &mut self,
        from: u64,
        to: u64,
        mut each: impl FnMut(u64, &[u8], &[u8]) -> Result<ControlFlow<()>, AuditError>,
    ) -> Result<(), AuditError> {
        let mut next = i64::try_from(from).unwrap_or(i64::MAX);
        let end = i64::try_from(to.min(self.size)).unwrap_or(i64::MAX);
        while next < end {
            let rows = self
                .client
                .query(
                    "SELECT idx, leaf, hash FROM trust_audit_leaves \
                     WHERE log_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx LIMIT $4",
                    &[&self.row.id, &next, &end, &READ_CHUNK],
                )
                .map_err(|e| audit_error(&self.db.error(&e)))?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let idx: i64 = r.get(0);
                let leaf: &[u8] = r.get(1);
                let hash: &[u8] = r.get(2);
                next = idx + 1;
                if each(idx.unsigned_abs(), leaf, hash)?.is_break() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = self.client.batch_execute("ROLLBACK");
    }
}

/// Writes a key-free copy of log `name` into the directory `to` (created; must be empty): the
/// directory format, byte for byte what a directory log with the same entries holds, which
/// `trust audit verify --log TO` checks offline. Reads one consistent snapshot; writers may
/// go on appending meanwhile. Rows are copied as stored, damage included: an export never
/// repairs what the auditor should see.
///
/// # Errors
/// [`AuditError::NotALog`], [`AuditError::AlreadyExists`] for a non-empty target, store and
/// I/O errors.
pub fn export_log(db: &Database, name: &str, to: &Path) -> Result<ExportSummary, AuditError> {
    outside_async(|| {
        let mut snap = Snapshot::open(db, name)?;
        let vkey = Verifier::from_vkey(&snap.row.vkey)
            .map_err(|_| corrupt(&format!("log {name}"), "the vkey does not parse"))?;
        let mut out = DirExporter::create(to, &snap.row.config, &vkey)?;
        let id = snap.row.id;
        let size = i64::try_from(snap.size).unwrap_or(i64::MAX);
        let cps = snap
            .client
            .query(
                "SELECT size, root, note FROM trust_audit_checkpoints \
                 WHERE log_id = $1 ORDER BY size",
                &[&id],
            )
            .map_err(|e| audit_error(&db.error(&e)))?;
        for r in &cps {
            let cp_size: i64 = r.get(0);
            let root = hash_of(r.get::<_, &[u8]>(1)).unwrap_or([0; 32]);
            let note: String = r.get(2);
            out.put_checkpoint(cp_size.unsigned_abs(), &root, &note)?;
        }
        snap.leaves(0, u64::MAX, |_, leaf, hash| {
            // A hash column of the wrong length is copied as a hash that cannot match.
            let h = hash_of(hash).unwrap_or([0; 32]);
            out.push_leaf(leaf, &h)?;
            Ok(ControlFlow::Continue(()))
        })?;
        let payloads = snap
            .client
            .query(
                "SELECT idx, salt, payload FROM trust_audit_payloads \
                 WHERE log_id = $1 AND idx < $2 ORDER BY idx",
                &[&id, &size],
            )
            .map_err(|e| audit_error(&db.error(&e)))?;
        for r in &payloads {
            let idx: i64 = r.get(0);
            let salt = hash_of(r.get::<_, &[u8]>(1))
                .ok_or_else(|| corrupt(&format!("payload {idx}"), "bad salt"))?;
            out.put_payload(idx.unsigned_abs(), &salt, r.get::<_, &[u8]>(2))?;
        }
        out.finish()
    })
}

/// Streams the entries of log `name` that match `query` (index order), checking each row's
/// stored hash as it is read, like [`trust_core::audit::search`] for a directory; `each`
/// returns `false` to stop. Returns how many entries were read.
///
/// # Errors
/// [`AuditError::NotALog`], store errors, [`StoreError::Damaged`] for a row whose hash or
/// bytes do not check.
pub fn search_log(
    db: &Database,
    name: &str,
    query: &Query,
    mut each: impl FnMut(Leaf) -> bool + Send,
) -> Result<u64, AuditError> {
    outside_async(|| {
        let mut snap = Snapshot::open(db, name)?;
        let (from, to) = match &query.indexes {
            Some(r) => (*r.start(), r.end().saturating_add(1)),
            None => (0, u64::MAX),
        };
        let mut read = 0u64;
        snap.leaves(from, to, |idx, bytes, hash| {
            read += 1;
            let damaged = || corrupt(&format!("entry {idx}"), "does not match its stored hash");
            if bytes.len() > MAX_LEAF_LEN || hash_of(hash) != Some(merkle::leaf_hash(bytes)) {
                return Err(damaged());
            }
            let leaf = Leaf::decode(bytes).map_err(|_| damaged())?;
            if leaf.index != idx {
                return Err(damaged());
            }
            if query.matches(&leaf) && !each(leaf) {
                return Ok(ControlFlow::Break(()));
            }
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(read)
    })
}

/// Every checkpoint of log `name` that verifies under its key, smallest first (for front ends
/// that read without opening a writer).
///
/// # Errors
/// As [`search_log`].
pub fn checkpoints(db: &Database, name: &str) -> Result<Vec<SignedCheckpoint>, AuditError> {
    outside_async(|| {
        let mut snap = Snapshot::open(db, name)?;
        let vkey = Verifier::from_vkey(&snap.row.vkey)
            .map_err(|_| corrupt(&format!("log {name}"), "the vkey does not parse"))?;
        let rows = snap
            .client
            .query(
                "SELECT note FROM trust_audit_checkpoints WHERE log_id = $1 ORDER BY size",
                &[&snap.row.id],
            )
            .map_err(|e| audit_error(&db.error(&e)))?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                SignedCheckpoint::open(
                    r.get::<_, &str>(0).as_bytes(),
                    std::slice::from_ref(&vkey),
                    Some(&snap.row.config.origin),
                )
                .ok()
            })
            .collect())
    })
}
