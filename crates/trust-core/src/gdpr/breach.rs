//! Personal-data breach records and the 72-hour clock (Art. 33).
//!
//! A controller notifies the supervisory authority "without undue delay and, where feasible, not
//! later than 72 hours after having become aware of it" (Art. 33(1)); a processor — which a
//! connector app usually is — notifies the controller "without undue delay" (Art. 33(2)), which
//! [`Role::Processor`] turns into a configurable service level. Every breach is documented,
//! notified or not (Art. 33(5)), and a late notification carries its reasons.
//!
//! The clock starts at **awareness** (EDPB: reasonable certainty that personal data was
//! compromised), not at the first alert; both are recorded. The deadline is `aware_at + 72 h` as
//! an instant, so a daylight-saving change in any time zone between the two cannot move it: 72
//! hours are 259 200 seconds, whatever the wall clock says.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{GdprError, is_label};
use crate::event::{Event, EventSink};

/// Art. 33(1): 72 hours, in seconds.
pub const CONTROLLER_DEADLINE_SECS: i64 = 72 * 3600;

/// Who the app is for this breach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "role")]
pub enum Role {
    /// Notifies the supervisory authority within 72 hours of awareness.
    Controller,
    /// Notifies the controller "without undue delay": within `sla_hours` by the app's contract.
    Processor {
        /// The contractual notification window in hours (commonly 24–48).
        sla_hours: u32,
    },
}

/// A notification sent about the breach.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Notification {
    /// To whom (`authority`, `controller`, `subjects`, a recipient label).
    pub to: String,
    /// When.
    pub at: Timestamp,
}

/// One breach, as Art. 33(5) asks it to be documented.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BreachRecord {
    /// The breach's id.
    pub id: String,
    /// The app's role, which decides the deadline.
    pub role: Role,
    /// When the first alert or indication arrived.
    pub detected_at: Timestamp,
    /// When the app became aware that personal data was affected; the clock starts here.
    pub aware_at: Timestamp,
    /// Affected data categories with approximate record counts.
    pub categories: Vec<(String, u64)>,
    /// Approximate number of data subjects affected.
    pub approx_subjects: u64,
    /// Notifications sent, oldest first.
    #[serde(default)]
    pub notifications: Vec<Notification>,
    /// Why notification was late, if it was (Art. 33(1), last sentence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_delay: Option<String>,
}

impl BreachRecord {
    /// Opens a breach record and audits it.
    ///
    /// # Errors
    /// [`GdprError::BadName`] for an invalid id or category; [`GdprError::BadTime`] when
    /// awareness precedes detection; [`GdprError::Event`] when the audit failed (the record is
    /// still returned inside no value: the caller must retry).
    pub fn open(
        id: &str,
        role: Role,
        detected_at: Timestamp,
        aware_at: Timestamp,
        categories: Vec<(String, u64)>,
        approx_subjects: u64,
        sink: &dyn EventSink,
    ) -> Result<Self, GdprError> {
        if !is_label(id) {
            return Err(GdprError::BadName("breach id"));
        }
        if categories.iter().any(|(c, _)| !is_label(c)) {
            return Err(GdprError::BadName("data category"));
        }
        if aware_at < detected_at {
            return Err(GdprError::BadTime);
        }
        let record = Self {
            id: id.to_owned(),
            role,
            detected_at,
            aware_at,
            categories,
            approx_subjects,
            notifications: Vec::new(),
            reason_for_delay: None,
        };
        let deadline = record.notify_deadline()?;
        sink.record(
            &Event::new("gdpr.breach.open", aware_at.into())
                .attr("breach", &record.id)
                .attr("aware_at", record.aware_at)
                .attr("deadline", deadline)
                .attr("subjects", record.approx_subjects)
                .attr(
                    "categories",
                    record
                        .categories
                        .iter()
                        .map(|(c, n)| format!("{c}={n}"))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
        )?;
        Ok(record)
    }

    /// The notification deadline: awareness + 72 h (controller) or + the SLA (processor).
    ///
    /// # Errors
    /// [`GdprError::BadTime`] outside the representable range.
    pub fn notify_deadline(&self) -> Result<Timestamp, GdprError> {
        let secs = match self.role {
            Role::Controller => CONTROLLER_DEADLINE_SECS,
            Role::Processor { sla_hours } => i64::from(sla_hours) * 3600,
        };
        self.aware_at
            .checked_add(SignedDuration::from_secs(secs))
            .map_err(|_| GdprError::BadTime)
    }

    /// The first notification sent, if any.
    pub fn first_notified_at(&self) -> Option<Timestamp> {
        self.notifications.iter().map(|n| n.at).min()
    }

    /// True when no notification was sent before the deadline and `at` is past it, or the
    /// first notification itself was late.
    pub fn is_late(&self, at: Timestamp) -> bool {
        let Ok(deadline) = self.notify_deadline() else {
            return true;
        };
        match self.first_notified_at() {
            Some(n) => n > deadline,
            None => at > deadline,
        }
    }

    /// Records a notification, audited. A late one needs `reason_for_delay`.
    ///
    /// # Errors
    /// [`GdprError::BadName`] for an invalid recipient; [`GdprError::Malformed`] for a late
    /// notification without a reason; [`GdprError::Event`] when the audit failed (the
    /// notification is recorded).
    pub fn notify(
        &mut self,
        to: &str,
        at: Timestamp,
        reason_for_delay: Option<&str>,
        sink: &dyn EventSink,
    ) -> Result<(), GdprError> {
        if !is_label(to) {
            return Err(GdprError::BadName("notification recipient"));
        }
        let late = at > self.notify_deadline()?;
        let reason = reason_for_delay.map(str::trim).filter(|r| !r.is_empty());
        if late && reason.is_none() && self.reason_for_delay.is_none() {
            return Err(GdprError::Malformed(
                "late breach notification without a reason for the delay",
            ));
        }
        if let Some(r) = reason {
            self.reason_for_delay = Some(r.to_owned());
        }
        self.notifications.push(Notification {
            to: to.to_owned(),
            at,
        });
        sink.record(
            &Event::new("gdpr.breach.notify", at.into())
                .attr("breach", &self.id)
                .attr("to", to)
                .attr("late", late),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::MemorySink;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn open(aware: &str, role: Role, sink: &MemorySink) -> BreachRecord {
        BreachRecord::open(
            "B-1",
            role,
            ts("2026-03-27T12:00:00Z"),
            ts(aware),
            vec![("email".into(), 1200), ("orders".into(), 800)],
            900,
            sink,
        )
        .unwrap()
    }

    #[test]
    fn deadline_is_72_hours_across_a_dst_change() {
        // Awareness at 12:00 Berlin time on Sat 28 Mar 2026 (CET, UTC+1); DST starts on Sun 29
        // Mar. 72 real hours later is 13:00 CEST on Tue 31 Mar = 11:00 UTC, not 12:00 CEST.
        let sink = MemorySink::new();
        let b = open("2026-03-28T12:00:00+01:00", Role::Controller, &sink);
        assert_eq!(b.notify_deadline().unwrap(), ts("2026-03-31T11:00:00Z"));
        assert_eq!(
            b.notify_deadline().unwrap().as_second() - b.aware_at.as_second(),
            259_200
        );
        assert_eq!(sink.events()[0].kind, "gdpr.breach.open");
        assert_eq!(
            sink.events()[0].attrs["categories"],
            "email=1200,orders=800"
        );
    }

    #[test]
    fn processor_sla() {
        let sink = MemorySink::new();
        let b = open(
            "2026-03-28T00:00:00Z",
            Role::Processor { sla_hours: 24 },
            &sink,
        );
        assert_eq!(b.notify_deadline().unwrap(), ts("2026-03-29T00:00:00Z"));
    }

    #[test]
    fn lateness_and_reasons() {
        let sink = MemorySink::new();
        let mut b = open("2026-03-28T00:00:00Z", Role::Controller, &sink);
        assert!(!b.is_late(ts("2026-03-31T00:00:00Z")));
        assert!(b.is_late(ts("2026-03-31T00:00:01Z")));
        assert!(matches!(
            b.notify("authority", ts("2026-04-01T00:00:00Z"), None, &sink),
            Err(GdprError::Malformed(_))
        ));
        b.notify(
            "authority",
            ts("2026-04-01T00:00:00Z"),
            Some("forensics"),
            &sink,
        )
        .unwrap();
        assert!(b.is_late(ts("2026-04-01T00:00:00Z")));
        assert_eq!(sink.events().last().unwrap().attrs["late"], "true");
    }

    #[test]
    fn on_time_notification() {
        let sink = MemorySink::new();
        let mut b = open("2026-03-28T00:00:00Z", Role::Controller, &sink);
        b.notify("authority", ts("2026-03-30T00:00:00Z"), None, &sink)
            .unwrap();
        assert!(!b.is_late(ts("2027-01-01T00:00:00Z")));
        assert!(matches!(
            b.notify("", ts("2026-03-30T00:00:00Z"), None, &sink),
            Err(GdprError::BadName(_))
        ));
    }

    #[test]
    fn invalid_records_are_refused() {
        let sink = MemorySink::new();
        let t = ts("2026-03-28T00:00:00Z");
        assert!(matches!(
            BreachRecord::open("B 1", Role::Controller, t, t, vec![], 0, &sink),
            Err(GdprError::BadName(_))
        ));
        assert!(matches!(
            BreachRecord::open(
                "B1",
                Role::Controller,
                t,
                ts("2026-03-27T00:00:00Z"),
                vec![],
                0,
                &sink
            ),
            Err(GdprError::BadTime)
        ));
        assert!(matches!(
            BreachRecord::open("B1", Role::Controller, t, t, vec![("".into(), 1)], 0, &sink),
            Err(GdprError::BadName(_))
        ));
        assert!(sink.events().is_empty());
    }
}
