//! Data-subject requests and their deadlines (Art. 12(3)).
//!
//! A controller must act on an access, export, erasure or rectification request "without undue
//! delay and in any event within one month of receipt"; it may extend that "by two further
//! months where necessary", telling the subject why within the first month.
//!
//! ## How the deadline is computed
//!
//! Regulation (EEC, Euratom) 1182/71 (periods in EU law): the day of receipt is not counted and
//! a period of months ends on the same date of the last month, or on that month's last day if it
//! has no such date. So a request received on **31 January** is due on **28 February** (29 in a
//! leap year), and one received on 15 March on 15 April. [`Request::due`] is that date; the
//! request is overdue from 00:00 UTC the day after ([`Request::due_by`]).
//!
//! Two choices are parameters of the [`Regime`], not constants: the number of months (the UK
//! regime speaks of an "applicable time period"), and whether a deadline falling on a Saturday or
//! Sunday moves to the next Monday, as 1182/71 allows. The default does **not** move it: the
//! earlier date is the conservative one, and public holidays differ by country.
//!
//! Extensions count from the receipt, not from the first deadline (31 Jan + 3 months = 30 Apr,
//! not 28 Feb + 2 months = 28 Apr), must be made before the first deadline passes, carry a
//! reason, and may not exceed the regime's maximum in total.
//!
//! ## Shopify compliance webhooks
//!
//! [`ShopifyCompliance::parse`] turns the bodies of Shopify's mandatory `customers/data_request`,
//! `customers/redact` and `shop/redact` webhooks into requests. **The caller must have verified
//! the webhook's HMAC first** (and answered 401 if it failed); this function trusts its input's
//! origin, though not its shape.

use core::fmt;

use jiff::civil::{Date, Weekday};
use jiff::{Timestamp, ToSpan, tz::TimeZone};
use serde::{Deserialize, Serialize};

use super::{GdprError, is_label};
use crate::event::{Event, EventSink};
use crate::pseudonym::{Domain, PseudonymKey};

/// Longest free-text reason accepted (extensions, rejections).
pub const MAX_REASON_LEN: usize = 1024;

/// Most requests a [`RequestLog`] document may hold when parsed.
pub const MAX_REQUESTS: usize = 100_000;

/// The deadline rules of a legal regime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Regime {
    /// A label such as `eu-gdpr` or `uk-gdpr`, recorded on each request.
    pub name: String,
    /// The response period in calendar months.
    pub months: u8,
    /// The most months the period may be extended by, in total.
    pub max_extension_months: u8,
    /// Move a deadline falling on a Saturday or Sunday to the next Monday.
    pub weekend_rolls_forward: bool,
}

impl Regime {
    /// EU GDPR Art. 12(3): one month, extendable by two; weekends do not move the deadline.
    pub fn eu_gdpr() -> Self {
        Self {
            name: "eu-gdpr".into(),
            months: 1,
            max_extension_months: 2,
            weekend_rolls_forward: false,
        }
    }

    /// UK GDPR Art. 12(3)/12A: the same calendar-month rule, under its own label.
    pub fn uk_gdpr() -> Self {
        Self {
            name: "uk-gdpr".into(),
            ..Self::eu_gdpr()
        }
    }

    /// The due date for a request received at `received_at` with `extra_months` of extension.
    ///
    /// # Errors
    /// [`GdprError::BadTime`] outside jiff's date range.
    pub fn due(&self, received_at: Timestamp, extra_months: u8) -> Result<Date, GdprError> {
        let received = received_at.to_zoned(TimeZone::UTC).date();
        let months = i64::from(self.months) + i64::from(extra_months);
        // jiff clamps to the month's last day when the day does not exist (31 Jan + 1 month =
        // 28/29 Feb), which is exactly the rule of Reg. 1182/71 Art. 3(2)(c).
        let mut due = received
            .checked_add(months.months())
            .map_err(|_| GdprError::BadTime)?;
        if self.weekend_rolls_forward {
            while matches!(due.weekday(), Weekday::Saturday | Weekday::Sunday) {
                due = due.tomorrow().map_err(|_| GdprError::BadTime)?;
            }
        }
        Ok(due)
    }
}

impl Default for Regime {
    fn default() -> Self {
        Self::eu_gdpr()
    }
}

/// The first instant after `date` in UTC: a deadline on `date` is missed from then on.
pub fn end_of_day_utc(date: Date) -> Result<Timestamp, GdprError> {
    let next = date.tomorrow().map_err(|_| GdprError::BadTime)?;
    next.to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|_| GdprError::BadTime)
}

/// What the subject asked for.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestKind {
    /// Art. 15: a copy of the personal data and information about its processing.
    Access,
    /// Art. 20: the data the subject provided, machine-readable.
    Export,
    /// Art. 17: erasure.
    Erasure,
    /// Art. 16: correction.
    Rectification,
}

impl RequestKind {
    /// The stable name (`access`, `export`, `erasure`, `rectification`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Export => "export",
            Self::Erasure => "erasure",
            Self::Rectification => "rectification",
        }
    }

    /// Parses a stable name.
    ///
    /// # Errors
    /// [`GdprError::BadName`] for anything else.
    pub fn parse(s: &str) -> Result<Self, GdprError> {
        [
            Self::Access,
            Self::Export,
            Self::Erasure,
            Self::Rectification,
        ]
        .into_iter()
        .find(|k| k.name() == s)
        .ok_or(GdprError::BadName("request kind"))
    }
}

/// Where a request stands.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestStatus {
    /// Recorded, not yet worked on.
    Received,
    /// Being worked on.
    InProgress,
    /// Answered.
    Completed,
    /// Refused (manifestly unfounded or excessive, identity not established…), with a reason.
    Rejected,
}

impl RequestStatus {
    /// The stable name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::InProgress => "in-progress",
            Self::Completed => "completed",
            Self::Rejected => "rejected",
        }
    }

    /// True once the request is answered or refused.
    pub const fn is_closed(self) -> bool {
        matches!(self, Self::Completed | Self::Rejected)
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One extension of a request's deadline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Extension {
    /// Months added.
    pub months: u8,
    /// Why (told to the subject).
    pub reason: String,
    /// When the extension was decided.
    pub at: Timestamp,
}

/// A data-subject request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Request {
    /// The request's id (`[A-Za-z0-9._:/-]`, ≤ 64 bytes), e.g. a ticket number.
    pub id: String,
    /// What was asked for.
    pub kind: RequestKind,
    /// The subject's pseudonym (never the raw identifier).
    pub subject: String,
    /// When the request was received.
    pub received_at: Timestamp,
    /// The regime whose deadline applies.
    pub regime: Regime,
    /// Extensions granted, oldest first.
    #[serde(default)]
    pub extensions: Vec<Extension>,
    /// Current status.
    pub status: RequestStatus,
    /// When it was completed or rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    /// The reason for a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    /// Where it came from (e.g. `shopify:customers/redact`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Request {
    /// A new request in status `Received`.
    ///
    /// # Errors
    /// [`GdprError::BadName`] for an invalid id or subject pseudonym.
    pub fn new(
        id: &str,
        kind: RequestKind,
        subject: &str,
        received_at: Timestamp,
        regime: Regime,
    ) -> Result<Self, GdprError> {
        if !is_label(id) {
            return Err(GdprError::BadName("request id"));
        }
        if !is_label(subject) {
            return Err(GdprError::BadName("subject pseudonym"));
        }
        Ok(Self {
            id: id.to_owned(),
            kind,
            subject: subject.to_owned(),
            received_at,
            regime,
            extensions: Vec::new(),
            status: RequestStatus::Received,
            closed_at: None,
            rejection_reason: None,
            source: None,
        })
    }

    /// Months of extension granted so far.
    pub fn extended_months(&self) -> u8 {
        self.extensions
            .iter()
            .map(|e| e.months)
            .fold(0, u8::saturating_add)
    }

    /// The due date, extensions included.
    ///
    /// # Errors
    /// [`GdprError::BadTime`] outside the representable range.
    pub fn due(&self) -> Result<Date, GdprError> {
        self.regime.due(self.received_at, self.extended_months())
    }

    /// The first instant at which the request is overdue.
    ///
    /// # Errors
    /// [`GdprError::BadTime`] outside the representable range.
    pub fn due_by(&self) -> Result<Timestamp, GdprError> {
        end_of_day_utc(self.due()?)
    }

    /// True when the request is still open at `at` and its deadline has passed.
    pub fn is_overdue(&self, at: Timestamp) -> bool {
        !self.status.is_closed() && self.due_by().is_ok_and(|d| at >= d)
    }

    fn event(&self, kind: &str, at: Timestamp) -> Event {
        let mut e = Event::new(kind, at.into())
            .subject(self.subject.clone())
            .attr("request", &self.id)
            .attr("kind", self.kind.name())
            .attr("status", self.status.name());
        if let Ok(due) = self.due() {
            e = e.attr("due", due);
        }
        e
    }

    /// Extends the deadline by `months`, with `reason`, decided at `at`.
    ///
    /// # Errors
    /// [`GdprError::BadExtension`] when closed, past the first deadline, over the regime's
    /// maximum, or without a reason; [`GdprError::Event`] when the audit failed (the extension
    /// stands).
    pub fn extend(
        &mut self,
        months: u8,
        reason: &str,
        at: Timestamp,
        sink: &dyn EventSink,
    ) -> Result<(), GdprError> {
        if self.status.is_closed() {
            return Err(GdprError::BadExtension("the request is closed"));
        }
        if months == 0
            || self.extended_months().saturating_add(months) > self.regime.max_extension_months
        {
            return Err(GdprError::BadExtension(
                "more months than the regime allows",
            ));
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > MAX_REASON_LEN {
            return Err(GdprError::BadExtension(
                "a reason (1 to 1024 bytes) is required",
            ));
        }
        let first_deadline = end_of_day_utc(self.regime.due(self.received_at, 0)?)?;
        if at >= first_deadline {
            return Err(GdprError::BadExtension(
                "an extension must be decided within the first period",
            ));
        }
        self.extensions.push(Extension {
            months,
            reason: reason.to_owned(),
            at,
        });
        sink.record(&self.event("gdpr.request.extend", at).attr("months", months))?;
        Ok(())
    }

    /// Moves to `InProgress`.
    ///
    /// # Errors
    /// [`GdprError::InvalidTransition`] unless `Received`.
    pub fn start(&mut self, at: Timestamp, sink: &dyn EventSink) -> Result<(), GdprError> {
        self.transition(RequestStatus::InProgress, at, None, sink)
    }

    /// Moves to `Completed`.
    ///
    /// # Errors
    /// [`GdprError::InvalidTransition`] when already closed.
    pub fn complete(&mut self, at: Timestamp, sink: &dyn EventSink) -> Result<(), GdprError> {
        self.transition(RequestStatus::Completed, at, None, sink)
    }

    /// Moves to `Rejected` with a reason.
    ///
    /// # Errors
    /// [`GdprError::InvalidTransition`] when already closed; [`GdprError::BadExtension`]-style
    /// [`GdprError::Malformed`] when the reason is empty.
    pub fn reject(
        &mut self,
        reason: &str,
        at: Timestamp,
        sink: &dyn EventSink,
    ) -> Result<(), GdprError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > MAX_REASON_LEN {
            return Err(GdprError::Malformed("rejection reason (1 to 1024 bytes)"));
        }
        self.transition(RequestStatus::Rejected, at, Some(reason), sink)
    }

    fn transition(
        &mut self,
        to: RequestStatus,
        at: Timestamp,
        reason: Option<&str>,
        sink: &dyn EventSink,
    ) -> Result<(), GdprError> {
        let allowed = matches!(
            (self.status, to),
            (RequestStatus::Received, RequestStatus::InProgress)
                | (
                    RequestStatus::Received | RequestStatus::InProgress,
                    RequestStatus::Completed | RequestStatus::Rejected
                )
        );
        if !allowed {
            return Err(GdprError::InvalidTransition {
                from: self.status.name(),
                to: to.name(),
            });
        }
        self.status = to;
        if to.is_closed() {
            self.closed_at = Some(at);
            self.rejection_reason = reason.map(str::to_owned);
        }
        let kind = match to {
            RequestStatus::InProgress => "gdpr.request.start",
            RequestStatus::Completed => "gdpr.request.complete",
            _ => "gdpr.request.reject",
        };
        let mut event = self.event(kind, at);
        if to.is_closed() {
            event = event.attr("on_time", !self.due_by().is_ok_and(|d| at >= d));
        }
        sink.record(&event)?;
        Ok(())
    }
}

/// A register of requests, stored as one JSON document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RequestLog {
    /// Format label, `trust-gdpr-requests/v1`.
    pub format: String,
    /// Every request, in the order added.
    pub requests: Vec<Request>,
}

impl RequestLog {
    /// The format label written into documents.
    pub const FORMAT: &'static str = "trust-gdpr-requests/v1";

    /// An empty register.
    pub fn new() -> Self {
        Self {
            format: Self::FORMAT.into(),
            requests: Vec::new(),
        }
    }

    /// Parses a stored register.
    ///
    /// # Errors
    /// [`GdprError::Malformed`] / [`GdprError::TooLarge`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, GdprError> {
        let log: Self =
            serde_json::from_slice(bytes).map_err(|_| GdprError::Malformed("request register"))?;
        if log.format != Self::FORMAT {
            return Err(GdprError::Malformed("request register (unknown format)"));
        }
        if log.requests.len() > MAX_REQUESTS {
            return Err(GdprError::TooLarge("request register"));
        }
        Ok(log)
    }

    /// Serializes the register.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Adds `request`, auditing it.
    ///
    /// # Errors
    /// [`GdprError::DuplicateRequest`]; [`GdprError::Event`] when the audit failed (the request
    /// is added).
    pub fn add(&mut self, request: Request, sink: &dyn EventSink) -> Result<(), GdprError> {
        if self.requests.iter().any(|r| r.id == request.id) {
            return Err(GdprError::DuplicateRequest);
        }
        let event = request.event("gdpr.request.add", request.received_at);
        self.requests.push(request);
        sink.record(&event)?;
        Ok(())
    }

    /// The request with `id`.
    ///
    /// # Errors
    /// [`GdprError::UnknownRequest`].
    pub fn get_mut(&mut self, id: &str) -> Result<&mut Request, GdprError> {
        self.requests
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or(GdprError::UnknownRequest)
    }

    /// Open requests overdue at `at`.
    pub fn overdue(&self, at: Timestamp) -> impl Iterator<Item = &Request> {
        self.requests.iter().filter(move |r| r.is_overdue(at))
    }
}

/// The topic of a Shopify mandatory compliance webhook.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShopifyTopic {
    /// `customers/data_request`: the merchant asks for a customer's data.
    CustomersDataRequest,
    /// `customers/redact`: erase a customer's data.
    CustomersRedact,
    /// `shop/redact`: erase the shop's data (sent 48 hours after uninstall).
    ShopRedact,
}

impl ShopifyTopic {
    /// Parses the `X-Shopify-Topic` header value.
    ///
    /// # Errors
    /// [`GdprError::BadName`] for other topics.
    pub fn parse(topic: &str) -> Result<Self, GdprError> {
        match topic {
            "customers/data_request" => Ok(Self::CustomersDataRequest),
            "customers/redact" => Ok(Self::CustomersRedact),
            "shop/redact" => Ok(Self::ShopRedact),
            _ => Err(GdprError::BadName("Shopify compliance topic")),
        }
    }

    /// The topic string.
    pub const fn name(self) -> &'static str {
        match self {
            Self::CustomersDataRequest => "customers/data_request",
            Self::CustomersRedact => "customers/redact",
            Self::ShopRedact => "shop/redact",
        }
    }
}

/// Largest compliance webhook body accepted.
pub const MAX_SHOPIFY_BODY: usize = 1 << 20;

#[derive(Deserialize)]
struct ShopifyBody {
    shop_id: u64,
    shop_domain: String,
    #[serde(default)]
    customer: Option<ShopifyCustomer>,
    #[serde(default)]
    orders_requested: Vec<u64>,
    #[serde(default)]
    orders_to_redact: Vec<u64>,
    #[serde(default)]
    data_request: Option<ShopifyDataRequest>,
}

#[derive(Deserialize)]
struct ShopifyCustomer {
    id: u64,
}

#[derive(Deserialize)]
struct ShopifyDataRequest {
    id: u64,
}

/// A parsed Shopify compliance webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShopifyCompliance {
    /// The topic.
    pub topic: ShopifyTopic,
    /// The shop's numeric id.
    pub shop_id: u64,
    /// `{shop}.myshopify.com`.
    pub shop_domain: String,
    /// The customer's id (absent for `shop/redact`).
    pub customer_id: Option<u64>,
    /// Orders named by the payload (`orders_requested` or `orders_to_redact`).
    pub orders: Vec<u64>,
    /// Shopify's id of a data request, if given.
    pub data_request_id: Option<u64>,
}

impl ShopifyCompliance {
    /// Parses an **already HMAC-verified** compliance webhook body.
    ///
    /// # Errors
    /// [`GdprError::BadName`] for an unknown topic; [`GdprError::TooLarge`] /
    /// [`GdprError::Malformed`] for a body that is too big, not JSON, misses required fields,
    /// or names no customer on a customer topic.
    pub fn parse(topic: &str, body: &[u8]) -> Result<Self, GdprError> {
        let topic = ShopifyTopic::parse(topic)?;
        if body.len() > MAX_SHOPIFY_BODY {
            return Err(GdprError::TooLarge("webhook body"));
        }
        let b: ShopifyBody = serde_json::from_slice(body)
            .map_err(|_| GdprError::Malformed("Shopify compliance payload"))?;
        let domain_ok = !b.shop_domain.is_empty()
            && b.shop_domain.len() <= 255
            && b.shop_domain
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-');
        if !domain_ok {
            return Err(GdprError::Malformed("Shopify shop_domain"));
        }
        let customer_id = b.customer.map(|c| c.id);
        if topic != ShopifyTopic::ShopRedact && customer_id.is_none() {
            return Err(GdprError::Malformed("Shopify payload without customer"));
        }
        let orders = match topic {
            ShopifyTopic::CustomersDataRequest => b.orders_requested,
            ShopifyTopic::CustomersRedact => b.orders_to_redact,
            ShopifyTopic::ShopRedact => Vec::new(),
        };
        Ok(Self {
            topic,
            shop_id: b.shop_id,
            shop_domain: b.shop_domain.to_ascii_lowercase(),
            customer_id: if topic == ShopifyTopic::ShopRedact {
                None
            } else {
                customer_id
            },
            orders,
            data_request_id: b.data_request.map(|d| d.id),
        })
    }

    /// The stable subject identifier this webhook concerns: `shopify:{domain}:customer:{id}`, or
    /// `shopify:{domain}` for `shop/redact`. Pseudonymize it before storing it.
    pub fn subject_id(&self) -> String {
        match self.customer_id {
            Some(id) => format!("shopify:{}:customer:{id}", self.shop_domain),
            None => format!("shopify:{}", self.shop_domain),
        }
    }

    /// The request this webhook asks for: `customers/data_request` → access,
    /// the redact topics → erasure. The subject is pseudonymized with `key`.
    ///
    /// # Errors
    /// [`GdprError::BadName`] for an invalid `id`.
    pub fn to_request(
        &self,
        id: &str,
        received_at: Timestamp,
        regime: Regime,
        key: &PseudonymKey,
    ) -> Result<Request, GdprError> {
        let kind = match self.topic {
            ShopifyTopic::CustomersDataRequest => RequestKind::Access,
            _ => RequestKind::Erasure,
        };
        let domain = if self.customer_id.is_some() {
            Domain::Subject
        } else {
            Domain::Tenant
        };
        let subject = super::subject::subject_tag(&key.pseudonym(domain, &self.subject_id()));
        let mut request = Request::new(id, kind, &subject, received_at, regime)?;
        request.source = Some(format!("shopify:{}", self.topic.name()));
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::MemorySink;
    use crate::secret::Key256;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn due(received: &str, extra: u8) -> Date {
        Regime::eu_gdpr().due(ts(received), extra).unwrap()
    }

    #[test]
    fn month_end_deadlines_clamp() {
        // Reg. 1182/71 Art. 3(2)(c): no corresponding day → last day of the month.
        assert_eq!(due("2026-01-31T10:00:00Z", 0), date("2026-02-28"));
        assert_eq!(due("2024-01-31T10:00:00Z", 0), date("2024-02-29"));
        assert_eq!(due("2026-03-31T23:59:59Z", 0), date("2026-04-30"));
        assert_eq!(due("2026-01-15T00:00:00Z", 0), date("2026-02-15"));
        assert_eq!(due("2026-12-31T12:00:00Z", 0), date("2027-01-31"));
    }

    #[test]
    fn leap_days() {
        assert_eq!(due("2024-02-29T08:00:00Z", 0), date("2024-03-29"));
        assert_eq!(due("2024-02-29T08:00:00Z", 2), date("2024-05-29"));
        assert_eq!(due("2023-12-29T08:00:00Z", 1), date("2024-02-29"));
        assert_eq!(due("2022-12-29T08:00:00Z", 1), date("2023-02-28"));
    }

    #[test]
    fn extensions_count_from_receipt() {
        assert_eq!(due("2026-01-31T10:00:00Z", 2), date("2026-04-30"));
        assert_eq!(due("2026-01-31T10:00:00Z", 1), date("2026-03-31"));
    }

    #[test]
    fn the_receipt_date_is_taken_in_utc() {
        // 23:30 in New York on 31 Jan is 04:30 UTC on 1 Feb: the UTC date counts.
        assert_eq!(due("2026-01-31T23:30:00-05:00", 0), date("2026-03-01"));
    }

    #[test]
    fn weekend_roll_forward_is_opt_in() {
        // 2026-02-28 is a Saturday.
        let mut regime = Regime::eu_gdpr();
        assert_eq!(
            regime.due(ts("2026-01-31T10:00:00Z"), 0).unwrap(),
            date("2026-02-28")
        );
        regime.weekend_rolls_forward = true;
        assert_eq!(
            regime.due(ts("2026-01-31T10:00:00Z"), 0).unwrap(),
            date("2026-03-02")
        );
    }

    fn request() -> Request {
        Request::new(
            "T-1",
            RequestKind::Erasure,
            "p1-abc",
            ts("2026-01-31T10:00:00Z"),
            Regime::eu_gdpr(),
        )
        .unwrap()
    }

    #[test]
    fn overdue_from_midnight_after_the_due_date() {
        let r = request();
        assert_eq!(r.due_by().unwrap(), ts("2026-03-01T00:00:00Z"));
        assert!(!r.is_overdue(ts("2026-02-28T23:59:59Z")));
        assert!(r.is_overdue(ts("2026-03-01T00:00:00Z")));
    }

    #[test]
    fn extension_rules() {
        let sink = MemorySink::new();
        let mut r = request();
        let at = ts("2026-02-10T00:00:00Z");
        assert!(matches!(
            r.extend(3, "complex", at, &sink),
            Err(GdprError::BadExtension(_))
        ));
        assert!(matches!(
            r.extend(0, "complex", at, &sink),
            Err(GdprError::BadExtension(_))
        ));
        assert!(matches!(
            r.extend(1, "  ", at, &sink),
            Err(GdprError::BadExtension(_))
        ));
        assert!(matches!(
            r.extend(1, "late", ts("2026-03-01T00:00:00Z"), &sink),
            Err(GdprError::BadExtension(_))
        ));
        r.extend(1, "many records across systems", at, &sink)
            .unwrap();
        assert_eq!(r.due().unwrap(), date("2026-03-31"));
        r.extend(1, "still collecting", at, &sink).unwrap();
        assert_eq!(r.due().unwrap(), date("2026-04-30"));
        assert!(matches!(
            r.extend(1, "more", at, &sink),
            Err(GdprError::BadExtension(_))
        ));
        assert!(!r.is_overdue(ts("2026-04-30T12:00:00Z")));
        let kinds: Vec<_> = sink.events().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["gdpr.request.extend", "gdpr.request.extend"]);
    }

    #[test]
    fn transitions_are_audited_and_checked() {
        let sink = MemorySink::new();
        let mut r = request();
        r.start(ts("2026-02-01T00:00:00Z"), &sink).unwrap();
        assert!(matches!(
            r.start(ts("2026-02-01T00:00:00Z"), &sink),
            Err(GdprError::InvalidTransition { .. })
        ));
        r.complete(ts("2026-03-02T00:00:00Z"), &sink).unwrap();
        assert!(matches!(
            r.complete(ts("2026-03-02T00:00:00Z"), &sink),
            Err(GdprError::InvalidTransition { .. })
        ));
        assert!(matches!(
            r.reject("x", ts("2026-03-02T00:00:00Z"), &sink),
            Err(GdprError::InvalidTransition { .. })
        ));
        assert!(matches!(
            r.extend(1, "x", ts("2026-02-02T00:00:00Z"), &sink),
            Err(GdprError::BadExtension(_))
        ));
        let events = sink.events();
        assert_eq!(events[1].kind, "gdpr.request.complete");
        assert_eq!(events[1].attrs["on_time"], "false");
        assert_eq!(events[1].subject.as_deref(), Some("p1-abc"));
    }

    #[test]
    fn reject_needs_a_reason() {
        let sink = MemorySink::new();
        let mut r = request();
        assert!(matches!(
            r.reject(" ", ts("2026-02-01T00:00:00Z"), &sink),
            Err(GdprError::Malformed(_))
        ));
        r.reject(
            "identity not established",
            ts("2026-02-01T00:00:00Z"),
            &sink,
        )
        .unwrap();
        assert_eq!(r.status, RequestStatus::Rejected);
    }

    #[test]
    fn register_round_trips_and_refuses_duplicates() {
        let sink = MemorySink::new();
        let mut log = RequestLog::new();
        log.add(request(), &sink).unwrap();
        assert!(matches!(
            log.add(request(), &sink),
            Err(GdprError::DuplicateRequest)
        ));
        let back = RequestLog::from_json(&log.to_json()).unwrap();
        assert_eq!(back, log);
        assert_eq!(log.overdue(ts("2026-03-01T00:00:00Z")).count(), 1);
        assert!(matches!(
            log.get_mut("nope"),
            Err(GdprError::UnknownRequest)
        ));
        assert!(matches!(
            RequestLog::from_json(b"{}"),
            Err(GdprError::Malformed(_))
        ));
        assert!(matches!(
            RequestLog::from_json(br#"{"format":"other","requests":[]}"#),
            Err(GdprError::Malformed(_))
        ));
    }

    #[test]
    fn bad_ids_are_refused() {
        for id in ["", "a b", &"x".repeat(65)] {
            assert!(matches!(
                Request::new(
                    id,
                    RequestKind::Access,
                    "p1",
                    Timestamp::UNIX_EPOCH,
                    Regime::eu_gdpr()
                ),
                Err(GdprError::BadName(_))
            ));
        }
        assert!(matches!(
            RequestKind::parse("delete"),
            Err(GdprError::BadName(_))
        ));
    }

    // Payloads from shopify.dev, "Privacy law compliance" (mandatory compliance webhooks).
    const DATA_REQUEST: &str = r#"{"shop_id":954889,"shop_domain":"{shop}.myshopify.com","orders_requested":[299938,280263,220458],"customer":{"id":191167,"email":"john@example.com","phone":"555-625-1199"},"data_request":{"id":9999}}"#;
    const CUSTOMERS_REDACT: &str = r#"{"shop_id":954889,"shop_domain":"{shop}.myshopify.com","customer":{"id":191167,"email":"john@example.com","phone":"555-625-1199"},"orders_to_redact":[299938,280263,220458]}"#;
    const SHOP_REDACT: &str = r#"{"shop_id":954889,"shop_domain":"{shop}.myshopify.com"}"#;

    fn real(body: &str) -> String {
        body.replace("{shop}", "demo-shop")
    }

    #[test]
    fn shopify_compliance_webhooks_become_requests() {
        let key = PseudonymKey::new(1, Key256::from_bytes([3; 32]));
        let at = ts("2026-01-31T10:00:00Z");
        let dr = ShopifyCompliance::parse("customers/data_request", real(DATA_REQUEST).as_bytes())
            .unwrap();
        assert_eq!(dr.customer_id, Some(191_167));
        assert_eq!(dr.orders, [299_938, 280_263, 220_458]);
        assert_eq!(dr.data_request_id, Some(9999));
        let req = dr
            .to_request("shopify-9999", at, Regime::eu_gdpr(), &key)
            .unwrap();
        assert_eq!(req.kind, RequestKind::Access);
        assert!(!req.subject.contains("191167") && !req.subject.contains("john"));

        let cr = ShopifyCompliance::parse("customers/redact", real(CUSTOMERS_REDACT).as_bytes())
            .unwrap();
        let req2 = cr.to_request("r-1", at, Regime::eu_gdpr(), &key).unwrap();
        assert_eq!(req2.kind, RequestKind::Erasure);
        assert_eq!(req2.subject, req.subject, "same customer, same pseudonym");
        assert_eq!(req2.source.as_deref(), Some("shopify:customers/redact"));

        let sr = ShopifyCompliance::parse("shop/redact", real(SHOP_REDACT).as_bytes()).unwrap();
        assert_eq!(sr.customer_id, None);
        assert_eq!(sr.subject_id(), "shopify:demo-shop.myshopify.com");
        assert_eq!(
            sr.to_request("s-1", at, Regime::eu_gdpr(), &key)
                .unwrap()
                .kind,
            RequestKind::Erasure
        );
    }

    #[test]
    fn shopify_payload_errors() {
        assert!(matches!(
            ShopifyCompliance::parse("orders/create", b"{}"),
            Err(GdprError::BadName(_))
        ));
        assert!(matches!(
            ShopifyCompliance::parse("shop/redact", b"not json"),
            Err(GdprError::Malformed(_))
        ));
        assert!(matches!(
            ShopifyCompliance::parse("customers/redact", real(SHOP_REDACT).as_bytes()),
            Err(GdprError::Malformed(_))
        ));
        assert!(matches!(
            ShopifyCompliance::parse("shop/redact", br#"{"shop_id":1,"shop_domain":"a/b"}"#),
            Err(GdprError::Malformed(_))
        ));
        let big = vec![b' '; MAX_SHOPIFY_BODY + 1];
        assert!(matches!(
            ShopifyCompliance::parse("shop/redact", &big),
            Err(GdprError::TooLarge(_))
        ));
    }
}
