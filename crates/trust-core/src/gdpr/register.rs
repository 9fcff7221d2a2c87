//! Where the GDPR request register lives: a trait, and the local-directory default.
//!
//! The register ([`RequestLog`]) is changed by read-modify-write: add a request, extend, start,
//! complete or reject one. Two operators (or two workers) changing it at once must not lose each
//! other's change, and an audit event must never describe a change that was not stored. So a
//! store offers one primitive, [`RequestRegister::update`]: it runs the change on the current
//! register under the store's exclusion (a file lock here, a table lock in PostgreSQL), stores
//! the result, and only then hands back the events the change produced, for the caller to
//! record. The change may be run more than once (a store may retry after a conflict); the events
//! of the attempt that was stored are the ones returned.

use std::path::{Path, PathBuf};

use super::GdprError;
use super::request::RequestLog;
use crate::durable::{self, LockGuard};
use crate::event::{Event, EventSink, MemorySink};

/// A change to the register (see [`RequestRegister::update`]).
pub type Change<'a> =
    dyn FnMut(&mut RequestLog, &dyn EventSink) -> Result<(), GdprError> + Send + 'a;

/// Storage of the GDPR request register.
pub trait RequestRegister: Send + Sync {
    /// The register as stored (empty when nothing was stored yet).
    ///
    /// # Errors
    /// Storage failures; [`GdprError::Malformed`] for a damaged register.
    fn load(&self) -> Result<RequestLog, GdprError>;

    /// Applies `change` to the current register and stores the result, excluding concurrent
    /// updates; returns the stored register and the events `change` recorded. Nothing is
    /// stored when `change` fails.
    ///
    /// # Errors
    /// What `change` returns; storage failures.
    fn update(&self, change: &mut Change<'_>) -> Result<(RequestLog, Vec<Event>), GdprError>;
}

/// The embedded default: `DIR/requests.json`, replaced atomically under `DIR/requests.lock`.
#[derive(Clone, Debug)]
pub struct DirRegister {
    dir: PathBuf,
}

impl DirRegister {
    /// The register in `dir` (created on first update, mode 0700).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The register file.
    pub fn path(&self) -> PathBuf {
        self.dir.join("requests.json")
    }

    fn read(path: &Path) -> Result<RequestLog, GdprError> {
        match std::fs::read(path) {
            Ok(bytes) => RequestLog::from_json(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RequestLog::new()),
            Err(e) => Err(e.into()),
        }
    }
}

impl RequestRegister for DirRegister {
    fn load(&self) -> Result<RequestLog, GdprError> {
        Self::read(&self.path())
    }

    fn update(&self, change: &mut Change<'_>) -> Result<(RequestLog, Vec<Event>), GdprError> {
        durable::create_private_dir(&self.dir)?;
        let _lock = LockGuard::acquire(&self.dir.join("requests.lock"))?;
        let path = self.path();
        let mut log = Self::read(&path)?;
        let pending = MemorySink::new();
        change(&mut log, &pending)?;
        durable::write_atomic(&path, &log.to_json())?;
        Ok((log, pending.events()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gdpr::request::{Regime, Request, RequestKind};

    fn request(id: &str) -> Request {
        Request::new(
            id,
            RequestKind::Erasure,
            "subject-tag",
            "2026-01-05T10:00:00Z".parse().unwrap(),
            Regime::eu_gdpr(),
        )
        .unwrap()
    }

    #[test]
    fn updates_are_stored_with_their_events_and_failures_store_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let reg = DirRegister::new(dir.path().join("gdpr"));
        assert!(reg.load().unwrap().requests.is_empty());
        let (log, events) = reg
            .update(&mut |log, sink| log.add(request("T-1"), sink))
            .unwrap();
        assert_eq!(log.requests.len(), 1);
        assert_eq!(events.len(), 1);
        assert_eq!(reg.load().unwrap(), log);
        let err = reg
            .update(&mut |log, sink| log.add(request("T-1"), sink))
            .unwrap_err();
        assert!(matches!(err, GdprError::DuplicateRequest));
        assert_eq!(reg.load().unwrap(), log, "a failed change stores nothing");
    }

    #[test]
    fn concurrent_updates_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let reg = DirRegister::new(dir.path().join("gdpr"));
                std::thread::spawn(move || {
                    reg.update(&mut |log, sink| log.add(request(&format!("T-{i}")), sink))
                        .unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let reg = DirRegister::new(dir.path().join("gdpr"));
        assert_eq!(reg.load().unwrap().requests.len(), 8);
    }
}
