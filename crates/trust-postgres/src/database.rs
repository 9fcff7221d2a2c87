//! [`Database`]: a small connection pool with the reconnect and retry rules every store uses.
//!
//! The rules, in one place:
//!
//! * Every operation is one transaction ([`Database::transaction`]). PostgreSQL applies a
//!   transaction entirely or not at all, so a dropped connection never leaves half a change.
//! * A connection that dropped **before** the commit was sent means nothing was applied. If it
//!   came from the idle pool (it may have died while idle: a server restart, a failover), the
//!   transaction is run once more on a fresh connection; otherwise the caller gets
//!   [`Error::ConnectionLost`]. Either way the dead connection is discarded, so the next call
//!   reconnects.
//! * A connection that dropped **during** the commit gives [`Error::OutcomeUnknown`]: never
//!   retried, because the change may have been applied.
//! * Serialization failures and deadlocks (SQLSTATE 40001, 40P01) are retried a few times.
//! * At most [`ConnectOptions::pool_size`] connections are open; a caller waits up to
//!   [`ConnectOptions::pool_wait`] for one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use postgres::{Client, Transaction};
use tokio_postgres_rustls::MakeRustlsConnect;
use trust_core::store_url::StoreUrl;

use crate::config::ConnectOptions;
use crate::error::{Classified, classify};
use crate::{Error, migrate};

/// How many times a serialization failure or deadlock is retried.
const MAX_CONFLICT_RETRIES: u32 = 8;

/// A pooled handle on one PostgreSQL database (and schema); cheap to clone and share.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    options: ConnectOptions,
    tls: MakeRustlsConnect,
    pool: Mutex<Pool>,
    returned: Condvar,
    /// Transactions begun (every round trip to the server starts one): what
    /// [`Database::transactions`] reports, so tests and benchmarks can prove that a hot path
    /// (sealing with a warm keyring) does not touch the database.
    transactions: AtomicU64,
}

struct Pool {
    idle: Vec<Client>,
    open: usize,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Each idle client owns a runtime, which tokio refuses to drop inside another one:
        // the last handle dropped in an async handler closes them on a thread of their own.
        let idle = match self.pool.get_mut() {
            Ok(pool) => std::mem::take(&mut pool.idle),
            Err(poisoned) => std::mem::take(&mut poisoned.into_inner().idle),
        };
        if !idle.is_empty() {
            outside_async(move || drop(idle));
        }
    }
}

impl core::fmt::Debug for Database {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Database")
            .field("url", self.url())
            .finish_non_exhaustive()
    }
}

/// Where a checked-out connection came from (decides whether a lost connection is retried).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Idle,
    Fresh,
}

impl Database {
    /// Connects to the database at `url`, creates or migrates the schema (see [`migrate`]) and
    /// returns the pooled handle.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad URL, [`Error::Unreachable`] when no connection can be made,
    /// [`Error::SchemaTooNew`] when a newer release migrated the schema (nothing is changed).
    pub fn open(url: &StoreUrl) -> Result<Self, Error> {
        let db = Self::connect(ConnectOptions::parse(url)?)?;
        db.migrate()?;
        Ok(db)
    }

    /// A handle with `options`, after one successful connection, without touching the schema.
    ///
    /// # Errors
    /// As [`Database::open`], without the schema check.
    pub fn connect(options: ConnectOptions) -> Result<Self, Error> {
        outside_async(|| Self::connect_here(options))
    }

    fn connect_here(options: ConnectOptions) -> Result<Self, Error> {
        let tls = MakeRustlsConnect::new(options.tls_config()?);
        let db = Self {
            inner: Arc::new(Inner {
                options,
                tls,
                pool: Mutex::new(Pool {
                    idle: Vec::new(),
                    open: 0,
                }),
                returned: Condvar::new(),
                transactions: AtomicU64::new(0),
            }),
        };
        let (client, _) = db.checkout()?;
        db.checkin(client);
        Ok(db)
    }

    /// The redacted URL (for messages).
    pub fn url(&self) -> &StoreUrl {
        &self.inner.options.url
    }

    /// How many transactions this handle (and its clones) has begun, retries included. Every
    /// query runs in one, so an unchanged count over a span of calls proves that they made no
    /// round trip to the server.
    pub fn transactions(&self) -> u64 {
        self.inner.transactions.load(Ordering::Relaxed)
    }

    /// The options the pool was built with.
    pub fn options(&self) -> &ConnectOptions {
        &self.inner.options
    }

    /// Applies every pending migration (see [`migrate`]); what `trust store migrate` runs.
    ///
    /// # Errors
    /// [`Error::SchemaTooNew`], or a connection error.
    pub fn migrate(&self) -> Result<migrate::Report, Error> {
        migrate::run(self)
    }

    /// Runs `work` in one transaction and commits it, with the reconnect and retry rules of the
    /// module docs. `work` may run more than once: it must not have side effects outside the
    /// transaction.
    ///
    /// # Errors
    /// What `work` returns, or a connection error.
    pub fn transaction<T: Send>(
        &self,
        work: impl FnMut(&mut Transaction<'_>) -> Result<T, Error> + Send,
    ) -> Result<T, Error> {
        outside_async(|| self.transaction_here(work))
    }

    fn transaction_here<T>(
        &self,
        mut work: impl FnMut(&mut Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut conflicts = 0;
        let mut retried_stale = false;
        loop {
            let (mut client, origin) = self.checkout()?;
            let outcome = self.attempt(&mut client, &mut work);
            let lost = client.is_closed() || matches!(outcome, Attempt::Lost | Attempt::CommitLost);
            if lost {
                self.discard();
            } else {
                self.checkin(client);
            }
            match outcome {
                Attempt::Done(value) => return Ok(value),
                Attempt::Failed(err) => return Err(err),
                Attempt::Retry if conflicts < MAX_CONFLICT_RETRIES => conflicts += 1,
                Attempt::Retry => {
                    return Err(Error::Server {
                        sqlstate: Some("40001".to_owned()),
                        message: "the transaction kept conflicting with concurrent writers"
                            .to_owned(),
                    });
                }
                Attempt::Lost if origin == Origin::Idle && !retried_stale => retried_stale = true,
                Attempt::Lost => return Err(self.lost()),
                Attempt::CommitLost => {
                    return Err(Error::OutcomeUnknown {
                        target: self.url().to_string(),
                    });
                }
            }
        }
    }

    fn attempt<T>(
        &self,
        client: &mut Client,
        work: &mut impl FnMut(&mut Transaction<'_>) -> Result<T, Error>,
    ) -> Attempt<T> {
        self.inner.transactions.fetch_add(1, Ordering::Relaxed);
        let mut tx = match client.transaction() {
            Ok(tx) => tx,
            Err(e) => return self.classified(&e),
        };
        let value = match work(&mut tx) {
            Ok(value) => value,
            Err(Error::ConnectionLost { .. }) => return Attempt::Lost,
            Err(Error::Server { sqlstate, .. })
                if matches!(sqlstate.as_deref(), Some("40001" | "40P01")) =>
            {
                return Attempt::Retry;
            }
            Err(e) => return Attempt::Failed(e),
        };
        match tx.commit() {
            Ok(()) => Attempt::Done(value),
            Err(e) => match classify(&e, |t| self.url().scrub(t)) {
                Classified::Lost => Attempt::CommitLost,
                Classified::Retry => Attempt::Retry,
                Classified::Other(err) => Attempt::Failed(err),
            },
        }
    }

    fn classified<T>(&self, err: &postgres::Error) -> Attempt<T> {
        match classify(err, |t| self.url().scrub(t)) {
            Classified::Lost => Attempt::Lost,
            Classified::Retry => Attempt::Retry,
            Classified::Other(err) => Attempt::Failed(err),
        }
    }

    /// Converts a `postgres::Error` raised inside a transaction into this crate's error; use it
    /// with `map_err` in store code so that connection loss and conflicts are recognised.
    pub fn error(&self, err: &postgres::Error) -> Error {
        match classify(err, |t| self.url().scrub(t)) {
            Classified::Lost => self.lost(),
            Classified::Retry => Error::Server {
                sqlstate: err.code().map(|c| c.code().to_owned()),
                message: "serialization failure".to_owned(),
            },
            Classified::Other(err) => err,
        }
    }

    fn lost(&self) -> Error {
        Error::ConnectionLost {
            target: self.url().to_string(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pool> {
        // A poisoned pool only means a thread panicked while holding the lock around a Vec
        // push/pop; the Vec itself is consistent.
        self.inner
            .pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn checkout(&self) -> Result<(Client, Origin), Error> {
        let deadline = Instant::now() + self.inner.options.pool_wait;
        let mut pool = self.lock();
        loop {
            while let Some(client) = pool.idle.pop() {
                if client.is_closed() {
                    pool.open -= 1;
                    continue;
                }
                return Ok((client, Origin::Idle));
            }
            if pool.open < self.inner.options.pool_size.max(1) {
                pool.open += 1;
                drop(pool);
                return match self.new_client() {
                    Ok(client) => Ok((client, Origin::Fresh)),
                    Err(e) => {
                        self.discard();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::PoolTimeout {
                    target: self.url().to_string(),
                });
            }
            pool = self
                .inner
                .returned
                .wait_timeout(pool, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    fn checkin(&self, client: Client) {
        let mut pool = self.lock();
        pool.idle.push(client);
        drop(pool);
        self.inner.returned.notify_one();
    }

    /// Forgets one open connection (it was dropped by the caller).
    fn discard(&self) {
        let mut pool = self.lock();
        pool.open = pool.open.saturating_sub(1);
        drop(pool);
        self.inner.returned.notify_one();
    }

    /// A connection of its own, outside the pool, for a caller that keeps one open across
    /// several statements (an audit log's writer holds its lock transaction on it).
    pub(crate) fn dedicated_client(&self) -> Result<Client, Error> {
        outside_async(|| self.new_client())
    }

    fn new_client(&self) -> Result<Client, Error> {
        self.inner
            .options
            .config
            .connect(self.inner.tls.clone())
            .map_err(|e| {
                let reason = match e.as_db_error() {
                    Some(db) => db.message().to_owned(),
                    None => {
                        // The client's message chain ("error connecting to server: …").
                        let mut text = e.to_string();
                        let mut source = std::error::Error::source(&e);
                        while let Some(s) = source {
                            text = format!("{text}: {s}");
                            source = s.source();
                        }
                        text
                    }
                };
                Error::Unreachable {
                    target: self.url().to_string(),
                    reason: self.url().scrub(&reason.replace('\n', " ")),
                }
            })
    }
}

enum Attempt<T> {
    Done(T),
    Failed(Error),
    Retry,
    Lost,
    CommitLost,
}

/// Runs `f` here, or, when this thread is driving an async runtime (an axum or tonic handler),
/// on a scoped thread of its own: the synchronous `postgres` client blocks on a runtime of its
/// own, which tokio forbids inside another one. Callers keep one synchronous API either way.
pub(crate) fn outside_async<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|scope| match scope.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}
