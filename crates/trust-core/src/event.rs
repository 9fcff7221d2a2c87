//! Security events: the record of every state change that an auditor may ask about.
//!
//! Modules that change security-relevant state — the keyring (create, rotate, promote, retire,
//! enable, destroy), GDPR (erasure, export, request transitions, breaches), access control — report
//! each change as an [`Event`] to an [`EventSink`]. The audit log implements [`EventSink`], so an
//! app that wires its keyring to its audit log gets a tamper-evident trail of every rotation with
//! no further code.
//!
//! ## What may go into an event
//!
//! Event *kinds* and *attributes* are written to the audit log and must never contain key
//! material, tokens, plaintext or personal data. `actor` and `subject` are raw identifiers
//! (an operator name, a customer id); the sink is responsible for turning them into keyed-hash
//! pseudonyms before anything is hashed or stored, which is what the audit log does.
//!
//! ## Ordering with the state change
//!
//! Emitters record the event *after* the state change is durable and report a sink failure to
//! their caller as an error, so a missing audit entry is never silent.

use core::fmt;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::error::{Category, TrustError};

/// The kinds of event trust-core itself records, each with its stable dotted name.
///
/// Typed so that different acts never share a name: scheduling a destruction
/// (`key.destroy.schedule`) is not destroying (`key.destroy`), and cancelling a scheduled
/// destruction (`key.destroy.cancel`) is not enabling a retired version (`key.enable`). An
/// [`Event`] still carries its kind as a string, so applications can record kinds of their own.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A keyring was created (its v1 is Primary).
    KeyCreate,
    /// A version was added (Staged).
    KeyRotate,
    /// A version became Primary, or the previous Primary stepped down (`from`/`to` say which).
    KeyPromote,
    /// A decrypt-only version was disabled.
    KeyRetire,
    /// A disabled version was re-enabled (decrypt-only again).
    KeyEnable,
    /// A disabled version was scheduled for destruction (pending-destroy): nothing erased yet.
    KeyScheduleDestroy,
    /// A scheduled destruction was cancelled (back to disabled).
    KeyCancelDestroy,
    /// A version's key material was erased; `forced` says whether the live-ciphertext guard
    /// was overridden (and `reason` why).
    KeyDestroy,
    /// A census was recorded: an explicit count of remaining messages, or the messages rewrap
    /// moved off a version.
    KeyCensus,
    /// The keyring's configuration changed (minimum versions, rotation period).
    KeyConfig,
    /// A data subject's key was erased.
    GdprErase,
    /// A GDPR request was registered.
    GdprRequestAdd,
    /// Work on a GDPR request started.
    GdprRequestStart,
    /// A GDPR request was completed.
    GdprRequestComplete,
    /// A GDPR request was rejected.
    GdprRequestReject,
    /// A GDPR request's deadline was extended.
    GdprRequestExtend,
    /// A personal-data breach was recorded (its notification clock starts).
    GdprBreachOpen,
    /// A breach notification was sent.
    GdprBreachNotify,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [Self; 18] = [
        Self::KeyCreate,
        Self::KeyRotate,
        Self::KeyPromote,
        Self::KeyRetire,
        Self::KeyEnable,
        Self::KeyScheduleDestroy,
        Self::KeyCancelDestroy,
        Self::KeyDestroy,
        Self::KeyCensus,
        Self::KeyConfig,
        Self::GdprErase,
        Self::GdprRequestAdd,
        Self::GdprRequestStart,
        Self::GdprRequestComplete,
        Self::GdprRequestReject,
        Self::GdprRequestExtend,
        Self::GdprBreachOpen,
        Self::GdprBreachNotify,
    ];

    /// The stable dotted name written to the audit log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::KeyCreate => "key.create",
            Self::KeyRotate => "key.rotate",
            Self::KeyPromote => "key.promote",
            Self::KeyRetire => "key.retire",
            Self::KeyEnable => "key.enable",
            Self::KeyScheduleDestroy => "key.destroy.schedule",
            Self::KeyCancelDestroy => "key.destroy.cancel",
            Self::KeyDestroy => "key.destroy",
            Self::KeyCensus => "key.census",
            Self::KeyConfig => "key.config",
            Self::GdprErase => "gdpr.erase",
            Self::GdprRequestAdd => "gdpr.request.add",
            Self::GdprRequestStart => "gdpr.request.start",
            Self::GdprRequestComplete => "gdpr.request.complete",
            Self::GdprRequestReject => "gdpr.request.reject",
            Self::GdprRequestExtend => "gdpr.request.extend",
            Self::GdprBreachOpen => "gdpr.breach.open",
            Self::GdprBreachNotify => "gdpr.breach.notify",
        }
    }

    /// The kind named `name`, if it is one of these.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<EventKind> for String {
    fn from(kind: EventKind) -> Self {
        kind.as_str().to_owned()
    }
}

/// One security-relevant state change.
///
/// `Debug` shows whether `actor` and `subject` are set, never their raw values (they are
/// personal data until a sink pseudonymizes them).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// Dotted, stable event type, e.g. `key.rotate`, `key.destroy`, `gdpr.erase`.
    pub kind: String,
    /// When the change happened.
    pub time: SystemTime,
    /// Who made the change (raw id; pseudonymized by the sink), if known.
    pub actor: Option<String>,
    /// Whom the change concerns (raw id; pseudonymized by the sink), if anyone.
    pub subject: Option<String>,
    /// Non-secret, non-personal details: key name, version, states, counts.
    pub attrs: BTreeMap<String, String>,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |set: bool| if set { "Some(<redacted>)" } else { "None" };
        f.debug_struct("Event")
            .field("kind", &self.kind)
            .field("time", &self.time)
            .field("actor", &format_args!("{}", redacted(self.actor.is_some())))
            .field(
                "subject",
                &format_args!("{}", redacted(self.subject.is_some())),
            )
            .field("attrs", &self.attrs)
            .finish()
    }
}

impl Event {
    /// An event of `kind` at `time` with no actor, subject or attributes.
    pub fn new(kind: impl Into<String>, time: SystemTime) -> Self {
        Self {
            kind: kind.into(),
            time,
            actor: None,
            subject: None,
            attrs: BTreeMap::new(),
        }
    }

    /// Sets the actor.
    #[must_use]
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// Sets the subject.
    #[must_use]
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// True when this event is of `kind`.
    pub fn is(&self, kind: EventKind) -> bool {
        self.kind == kind.as_str()
    }

    /// Adds an attribute.
    #[must_use]
    pub fn attr(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.attrs.insert(key.into(), value.to_string());
        self
    }
}

/// Somewhere events are recorded. Implemented by the audit log; [`NoSink`] and [`MemorySink`]
/// cover apps without one and tests.
pub trait EventSink: Send + Sync {
    /// Records `event` durably before returning `Ok`.
    ///
    /// # Errors
    /// [`EventError`] when the event could not be recorded.
    fn record(&self, event: &Event) -> Result<(), EventError>;
}

/// Discards events. For apps that keep no audit trail (not recommended) and for benchmarks.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSink;

impl EventSink for NoSink {
    fn record(&self, _event: &Event) -> Result<(), EventError> {
        Ok(())
    }
}

/// Keeps events in memory, for tests and for apps that forward them elsewhere in batches.
#[derive(Debug, Default)]
pub struct MemorySink {
    events: Mutex<Vec<Event>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every event recorded so far, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl EventSink for MemorySink {
    fn record(&self, event: &Event) -> Result<(), EventError> {
        self.events
            .lock()
            .map_err(|_| EventError::new("the in-memory event sink's lock is poisoned"))?
            .push(event.clone());
        Ok(())
    }
}

impl<T: EventSink + ?Sized> EventSink for std::sync::Arc<T> {
    fn record(&self, event: &Event) -> Result<(), EventError> {
        (**self).record(event)
    }
}

impl<T: EventSink + ?Sized> EventSink for &T {
    fn record(&self, event: &Event) -> Result<(), EventError> {
        (**self).record(event)
    }
}

/// An event could not be recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventError {
    reason: String,
}

impl EventError {
    /// An error with a one-line reason; the reason must hold no secret or personal data.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the audit event could not be recorded: {}", self.reason)
    }
}

impl std::error::Error for EventError {}

impl TrustError for EventError {
    fn category(&self) -> Category {
        Category::Internal
    }
    fn code(&self) -> &'static str {
        "AUDIT_RECORD_FAILED"
    }
    fn hint(&self) -> Option<&'static str> {
        Some(
            "the state change was made but not audited; check the audit log's disk and permissions",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_actor_and_subject() {
        let e = Event::new("gdpr.erase", SystemTime::UNIX_EPOCH)
            .actor("alice@ops.example")
            .subject("jane@example.com");
        let shown = format!("{e:?}");
        assert!(
            !shown.contains("alice") && !shown.contains("jane"),
            "{shown}"
        );
        assert!(
            shown.contains("gdpr.erase") && shown.contains("<redacted>"),
            "{shown}"
        );
    }

    #[test]
    fn event_kinds_are_distinct_and_round_trip() {
        let names: std::collections::BTreeSet<_> =
            EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), EventKind::ALL.len(), "two kinds share a name");
        for k in EventKind::ALL {
            assert_eq!(EventKind::from_name(k.as_str()), Some(k));
            assert!(Event::new(k, SystemTime::UNIX_EPOCH).is(k));
        }
        assert_ne!(EventKind::KeyScheduleDestroy, EventKind::KeyDestroy);
        assert_ne!(
            EventKind::KeyCancelDestroy.as_str(),
            EventKind::KeyEnable.as_str()
        );
        assert_eq!(EventKind::from_name("key.nope"), None);
    }

    #[test]
    fn memory_sink_keeps_order() {
        let sink = MemorySink::new();
        let t = SystemTime::UNIX_EPOCH;
        sink.record(&Event::new("key.create", t).attr("key", "orders"))
            .unwrap();
        sink.record(&Event::new("key.rotate", t).attr("version", 2))
            .unwrap();
        let kinds: Vec<_> = sink.events().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["key.create", "key.rotate"]);
    }

    #[test]
    fn sinks_compose_through_references_and_arcs() {
        let sink = std::sync::Arc::new(MemorySink::new());
        let by_ref: &dyn EventSink = &sink;
        by_ref
            .record(&Event::new("x", SystemTime::UNIX_EPOCH).actor("ops"))
            .unwrap();
        assert_eq!(sink.events()[0].actor.as_deref(), Some("ops"));
        NoSink
            .record(&Event::new("y", SystemTime::UNIX_EPOCH))
            .unwrap();
    }
}
