//! A small pool of synchronous Redis connections that replaces broken ones.
//!
//! Not r2d2: the only pool behaviour needed is "borrow an idle connection or open one, drop it
//! if it failed", and retrying a command on a fresh connection is the caller-visible part,
//! which a generic pool does not do.

use std::sync::Mutex;
use std::time::Duration;

use redis::{Client, Connection, RedisResult};

use crate::RedisError;

/// How long a connect, a read or a write may take before the connection counts as broken.
const IO_TIMEOUT: Duration = Duration::from_secs(3);

/// Waits before the 2nd, 3rd and 4th attempts: about a second in all, long enough to ride out a
/// dropped connection or a quick restart, short enough for a webhook endpoint's own timeout.
const BACKOFF: [Duration; 3] = [
    Duration::from_millis(0),
    Duration::from_millis(200),
    Duration::from_millis(800),
];

/// Idle connections kept; more may be open while busy, they are closed when returned.
const MAX_IDLE: usize = 16;

pub(crate) struct Pool {
    client: Client,
    name: Option<String>,
    idle: Mutex<Vec<Connection>>,
}

/// Which attempt a command is on, so a non-idempotent command can reconcile a retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    First,
    Retry,
}

impl Pool {
    pub(crate) fn open(url: &str, name: Option<String>) -> Result<Self, RedisError> {
        let client = Client::open(url).map_err(|_| RedisError::InvalidUrl)?;
        let pool = Self {
            client,
            name,
            idle: Mutex::new(Vec::new()),
        };
        let mut con = pool.connect().map_err(|_| RedisError::Unreachable)?;
        redis::cmd("PING")
            .query::<()>(&mut con)
            .map_err(|_| RedisError::Unreachable)?;
        pool.put(con);
        Ok(pool)
    }

    fn connect(&self) -> RedisResult<Connection> {
        let mut con = self.client.get_connection_with_timeout(IO_TIMEOUT)?;
        con.set_read_timeout(Some(IO_TIMEOUT))?;
        con.set_write_timeout(Some(IO_TIMEOUT))?;
        if let Some(name) = &self.name {
            redis::cmd("CLIENT")
                .arg("SETNAME")
                .arg(name)
                .query::<()>(&mut con)?;
        }
        Ok(con)
    }

    fn take(&self) -> Option<Connection> {
        self.idle.lock().ok()?.pop()
    }

    fn put(&self, con: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(con);
        }
    }

    /// Runs `f` on a pooled connection. A connection-level failure (I/O, timeout, dropped)
    /// discards the connection and retries on a new one; a server error reply is returned at
    /// once, since a new connection would get the same answer.
    pub(crate) fn run<T>(
        &self,
        mut f: impl FnMut(&mut Connection, Attempt) -> RedisResult<T>,
    ) -> RedisResult<T> {
        let mut last = None;
        for (i, wait) in BACKOFF.iter().enumerate() {
            if !wait.is_zero() {
                std::thread::sleep(*wait);
            }
            let attempt = if i == 0 {
                Attempt::First
            } else {
                Attempt::Retry
            };
            let con = match self.take() {
                Some(c) => Ok(c),
                None => self.connect(),
            };
            let mut con = match con {
                Ok(c) => c,
                Err(e) if is_connection_failure(&e) => {
                    last = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            match f(&mut con, attempt) {
                Ok(v) => {
                    self.put(con);
                    return Ok(v);
                }
                Err(e) if is_connection_failure(&e) => {
                    // The connection is in an unknown state: never reuse it. Idle ones opened
                    // before the same outage are likely dead too; drop them all.
                    drop(con);
                    if let Ok(mut idle) = self.idle.lock() {
                        idle.clear();
                    }
                    last = Some(e);
                }
                Err(e) => {
                    self.put(con);
                    return Err(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            redis::RedisError::from((redis::ErrorKind::Io, "no attempt was made"))
        }))
    }
}

fn is_connection_failure(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_timeout() || e.is_unrecoverable_error()
}
