//! The GDPR request register on PostgreSQL (`trust_gdpr_requests`).
//!
//! One row per request, holding the same JSON as one entry of the local `requests.json`, with
//! its position in the register. [`RequestRegister::update`] runs in one transaction that
//! first takes `LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE` (writers queue, readers do not wait),
//! reads the register, applies the change, and writes back only the rows that changed; the
//! events are handed back after the commit, so none describes a change that was not stored.

use trust_core::event::{Event, MemorySink};
use trust_core::gdpr::{Change, GdprError, Request, RequestLog, RequestRegister};

use crate::subject::gdpr_error;
use crate::{Database, Error, Transaction};

/// Largest stored request accepted (a request is a few hundred bytes).
const MAX_REQUEST_LEN: usize = 64 * 1024;

/// The request register in `trust_gdpr_requests`.
#[derive(Clone, Debug)]
pub struct PgRequestRegister {
    db: Database,
}

impl PgRequestRegister {
    /// Over `db` (opened, so the schema exists).
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn read(db: &Database, tx: &mut Transaction<'_>) -> Result<(RequestLog, Vec<Vec<u8>>), Error> {
    let mut log = RequestLog::new();
    let mut stored = Vec::new();
    for row in tx
        .query(
            "SELECT id, record FROM trust_gdpr_requests ORDER BY position",
            &[],
        )
        .map_err(|e| db.error(&e))?
    {
        let id: String = row.get(0);
        let bytes: Vec<u8> = row.get(1);
        let corrupt = |reason: &str| Error::Corrupt {
            what: format!("GDPR request {}", id.chars().take(64).collect::<String>()),
            reason: reason.to_owned(),
        };
        if bytes.len() > MAX_REQUEST_LEN {
            return Err(corrupt("too large"));
        }
        let request: Request =
            serde_json::from_slice(&bytes).map_err(|_| corrupt("does not parse"))?;
        if request.id != id {
            return Err(corrupt("the id column disagrees with the record"));
        }
        log.requests.push(request);
        stored.push(bytes);
    }
    Ok((log, stored))
}

fn encode(request: &Request) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(request).map_err(|_| Error::Corrupt {
        what: "GDPR request".to_owned(),
        reason: "cannot be serialized".to_owned(),
    })
}

impl RequestRegister for PgRequestRegister {
    fn load(&self) -> Result<RequestLog, GdprError> {
        let db = &self.db;
        db.transaction(|tx| read(db, tx).map(|(log, _)| log))
            .map_err(gdpr_error)
    }

    fn update(&self, change: &mut Change<'_>) -> Result<(RequestLog, Vec<Event>), GdprError> {
        let db = &self.db;
        // The change's own error (duplicate id, bad transition) must come back as itself, not
        // as a store error: carry it out of the transaction beside the store's result.
        let mut refused: Option<GdprError> = None;
        let outcome = db.transaction(|tx| {
            refused = None;
            tx.batch_execute("LOCK TABLE trust_gdpr_requests IN SHARE ROW EXCLUSIVE MODE")
                .map_err(|e| db.error(&e))?;
            let (mut log, stored) = read(db, tx)?;
            let pending = MemorySink::new();
            if let Err(e) = change(&mut log, &pending) {
                refused = Some(e);
                return Ok(None);
            }
            for (position, request) in log.requests.iter().enumerate() {
                let bytes = encode(request)?;
                if stored.get(position) == Some(&bytes) {
                    continue;
                }
                let position = i64::try_from(position).map_err(|_| Error::Corrupt {
                    what: "GDPR register".to_owned(),
                    reason: "too many requests".to_owned(),
                })?;
                tx.execute(
                    "INSERT INTO trust_gdpr_requests (id, position, record) VALUES ($1, $2, $3) \
                     ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, updated_at = now()",
                    &[&request.id, &position, &bytes],
                )
                .map_err(|e| db.error(&e))?;
            }
            Ok(Some((log, pending.events())))
        });
        match (outcome, refused) {
            (_, Some(e)) => Err(e),
            (Ok(Some(done)), None) => Ok(done),
            (Ok(None), None) => Err(GdprError::Malformed("register change vanished")),
            (Err(e), None) => Err(gdpr_error(e)),
        }
    }
}
