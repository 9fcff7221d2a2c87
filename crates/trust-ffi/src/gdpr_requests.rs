//! The GDPR request register: data subjects' requests (access, export, erasure, rectification)
//! with their legal deadlines, kept where the CLI keeps them (`HOME/gdpr/requests.json`, or the
//! `trust_gdpr_requests` table of a database home, shared by every worker).
//!
//! Each change is trust-core's read-modify-write under the store's exclusion
//! (`RequestRegister::update`): two workers changing the register at once do not lose each
//! other's change, and the audit events a change produces are recorded only once it is stored.
//! Results are JSON, the objects `trust gdpr requests … --json` prints: the request (subject as a
//! pseudonym) plus `due` (the deadline's date) and `overdue`.

use std::sync::Arc;

use jiff::Timestamp;
use trust_core::error::TrustError as _;
use trust_core::event::{EventSink, NoSink};
use trust_core::gdpr::{
    GdprError, Regime, Request, RequestKind, RequestLog, RetentionItem, RetentionPolicy, timestamp,
};

use crate::audit::trust_audit_log;
use crate::boundary::{Failure, boundary, try_out, try_ref, try_slice, try_str};
use crate::bytes::trust_bytes;
use crate::error::trust_error;
use crate::gdpr::trust_subjects;
use crate::home::trust_home;
use crate::status::trust_status;

/// `at` in Unix seconds, or now for 0.
fn time(at: i64) -> Result<Timestamp, Failure> {
    if at == 0 {
        return Ok(timestamp(std::time::SystemTime::now()));
    }
    Timestamp::from_second(at).map_err(|_| Failure::invalid("time out of range"))
}

fn view(r: &Request, at: Timestamp) -> Result<serde_json::Value, Failure> {
    let internal = || {
        Failure::new(
            trust_status::TrustInternal,
            "INTERNAL",
            "could not serialize the request",
        )
    };
    let mut v = serde_json::to_value(r).map_err(|_| internal())?;
    let obj = v.as_object_mut().ok_or_else(internal)?;
    obj.insert(
        "due".into(),
        r.due().map(|d| d.to_string()).unwrap_or_default().into(),
    );
    obj.insert("overdue".into(), r.is_overdue(at).into());
    Ok(v)
}

fn to_bytes(value: &serde_json::Value) -> *mut trust_bytes {
    trust_bytes::into_raw(value.to_string().as_bytes())
}

fn one(log: &RequestLog, id: &str) -> Result<serde_json::Value, Failure> {
    let r = log.requests.iter().find(|r| r.id == id).ok_or_else(|| {
        Failure::new(
            trust_status::TrustInternal,
            "INTERNAL",
            "the stored register lacks the request just changed",
        )
    })?;
    view(r, time(0)?)
}

/// The audit log to record into, or none.
fn sink(audit_log: *const trust_audit_log) -> Arc<dyn EventSink> {
    // SAFETY: NULL (no audit) or a live handle, per the contract of the callers.
    match unsafe { audit_log.as_ref() } {
        Some(log) => Arc::clone(&log.inner) as Arc<dyn EventSink>,
        None => Arc::new(NoSink),
    }
}

/// Lists the register's requests as a JSON array (each with `due` and `overdue` evaluated at
/// `at_unix`, Unix seconds, or now for 0); only open requests past their deadline when
/// `overdue_only`.
///
/// # Safety
/// `home` is a live home; `json_out` points to writable storage for one pointer; `err_out` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_gdpr_requests_list(
    home: *const trust_home,
    at_unix: i64,
    overdue_only: bool,
    json_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let out = try_out!(json_out);
        let at = time(at_unix)?;
        let log = home.location()?.request_register().load()?;
        let list = log
            .requests
            .iter()
            .filter(|r| !overdue_only || r.is_overdue(at))
            .map(|r| view(r, at))
            .collect::<Result<Vec<_>, _>>()?;
        out.set(to_bytes(&serde_json::Value::Array(list)));
        Ok(())
    })
}

/// Records a new request `id` (a ticket number: a label of `[A-Za-z0-9._-]`) of `kind`
/// (`access`, `export`, `erasure`, `rectification`) from data subject `subject_id` (stored only
/// as their pseudonym under `keyring`, through `subjects`, made over `home`), received at
/// `received_unix` (0: now), under `regime` (`eu-gdpr`, the default for length 0, or
/// `uk-gdpr`); `weekend_rolls_forward` moves a deadline on a weekend to the Monday. Returns the
/// stored request as JSON. With `audit_log` (NULL for none) a `gdpr.request` event is recorded
/// once the register is stored.
///
/// Errors: `TRUST_INVALID_ARGUMENT` (`DUPLICATE_REQUEST`, `BAD_NAME`, an unknown kind or regime,
/// `subjects` over another home handle); storage errors (nothing stored).
///
/// # Safety
/// `home` and `subjects` are live handles, `audit_log` NULL or live; text pointers point to
/// their lengths in readable bytes; `json_out` points to writable storage for one pointer;
/// `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_gdpr_request_add(
    home: *const trust_home,
    subjects: *const trust_subjects,
    id: *const u8,
    id_len: usize,
    kind: *const u8,
    kind_len: usize,
    keyring: *const u8,
    keyring_len: usize,
    subject_id: *const u8,
    subject_id_len: usize,
    received_unix: i64,
    regime: *const u8,
    regime_len: usize,
    weekend_rolls_forward: bool,
    audit_log: *const trust_audit_log,
    json_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let subjects = try_ref!(subjects);
        let id = try_str!(id, id_len);
        let kind = try_str!(kind, kind_len);
        let keyring = try_str!(keyring, keyring_len);
        let subject_id = try_str!(subject_id, subject_id_len);
        let regime = try_str!(regime, regime_len);
        let out = try_out!(json_out);
        if !Arc::ptr_eq(subjects.keys.tenant(), &home.inner) {
            return Err(Failure::invalid(
                "`subjects` was made over another home handle",
            ));
        }
        let mut regime = match regime {
            "" | "eu-gdpr" => Regime::eu_gdpr(),
            "uk-gdpr" => Regime::uk_gdpr(),
            _ => return Err(Failure::invalid("regime must be eu-gdpr or uk-gdpr")),
        };
        regime.weekend_rolls_forward = weekend_rolls_forward;
        let received = time(received_unix)?;
        let tag = subjects.keys.subject_tag(keyring, subject_id)?;
        let request = Request::new(id, RequestKind::parse(kind)?, &tag, received, regime)?;
        let sink = sink(audit_log);
        let (log, events) = home
            .location()?
            .request_register()
            .update(&mut |log, pending| log.add(request.clone(), pending))?;
        for event in events {
            sink.record(&event)?;
        }
        out.set(to_bytes(&one(&log, id)?));
        Ok(())
    })
}

/// Moves request `id` on: `action` is `start` (being worked on), `complete`, `reject` (with
/// `reason`), or `extend` (by `months`, 1 or 2 in total, with `reason`, within the first
/// period), at `at_unix` (0: now). `months` and `reason` are ignored where the action takes
/// none. Returns the stored request as JSON; with `audit_log` (NULL for none) the change's
/// event is recorded once stored.
///
/// Errors: `TRUST_INVALID_ARGUMENT` (`UNKNOWN_REQUEST`, `INVALID_TRANSITION`,
/// `BAD_EXTENSION`, an unknown action); storage errors (nothing stored).
///
/// # Safety
/// `home` is a live home, `audit_log` NULL or live; text pointers point to their lengths in
/// readable bytes; `json_out` points to writable storage for one pointer; `err_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_gdpr_request_update(
    home: *const trust_home,
    id: *const u8,
    id_len: usize,
    action: *const u8,
    action_len: usize,
    months: u32,
    reason: *const u8,
    reason_len: usize,
    at_unix: i64,
    audit_log: *const trust_audit_log,
    json_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let id = try_str!(id, id_len);
        let action = try_str!(action, action_len);
        let reason = try_str!(reason, reason_len);
        let out = try_out!(json_out);
        let at = time(at_unix)?;
        if !matches!(action, "start" | "complete" | "reject" | "extend") {
            return Err(Failure::invalid(
                "action must be start, complete, reject or extend",
            ));
        }
        let months = u8::try_from(months).map_err(|_| Failure::invalid("months out of range"))?;
        let sink = sink(audit_log);
        let (log, events) = home
            .location()?
            .request_register()
            .update(&mut |log, pending| {
                let r = log.get_mut(id)?;
                match action {
                    "start" => r.start(at, pending),
                    "complete" => r.complete(at, pending),
                    "reject" => r.reject(reason, at, pending),
                    _ => r.extend(months, reason, at, pending),
                }
            })?;
        for event in events {
            sink.record(&event)?;
        }
        out.set(to_bytes(&one(&log, id)?));
        Ok(())
    })
}

/// Largest retention policy or item list `trust_gdpr_retention_due` reads (the CLI's bound).
const RETENTION_DOC_LIMIT: usize = 16 << 20;

/// The items due for deletion at `at_unix` (0: now) under a retention policy, earliest first,
/// as a JSON array of `{"id","category","action","due_at"}` — what `trust gdpr retention due`
/// prints. `policy_json` is `{"rules":[{"category","after","days","action"}]}`; `items_json` a
/// JSON array of `{"id","category","event","at"}` (RFC 3339 `at`). Items no rule covers are
/// never due.
///
/// Errors: `TRUST_INVALID_ARGUMENT` (`MALFORMED`, `BAD_NAME`, `TOO_LARGE`: over 16 MiB, too
/// many rules, two rules for one category and event).
///
/// # Safety
/// Text pointers point to their lengths in readable bytes; `json_out` points to writable
/// storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_gdpr_retention_due(
    policy_json: *const u8,
    policy_json_len: usize,
    items_json: *const u8,
    items_json_len: usize,
    at_unix: i64,
    json_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let policy = try_slice!(policy_json, policy_json_len);
        let items = try_slice!(items_json, items_json_len);
        let out = try_out!(json_out);
        if policy.len() > RETENTION_DOC_LIMIT || items.len() > RETENTION_DOC_LIMIT {
            return Err(Failure::new(
                trust_status::TrustInvalidArgument,
                "TOO_LARGE",
                "a retention document is over 16 MiB",
            ));
        }
        let at = time(at_unix)?;
        // A document the caller wrote is a usage error (as in the CLI), not a failed
        // verification, which is what MALFORMED means for a signed bundle.
        let usage = |e: GdprError| match e {
            GdprError::Malformed(_) | GdprError::TooLarge(_) => {
                Failure::new(trust_status::TrustInvalidArgument, e.code(), e.to_string())
            }
            other => Failure::from(other),
        };
        let policy = RetentionPolicy::from_json(policy).map_err(usage)?;
        let items: Vec<RetentionItem> = serde_json::from_slice(items).map_err(|_| {
            usage(GdprError::Malformed(
                "retention items (a JSON array of {id,category,event,at})",
            ))
        })?;
        let due = policy.due(&items, at);
        out.set(trust_bytes::json(&due)?);
        Ok(())
    })
}
