//! Retention policies: what is due for deletion at a given time (Art. 5(1)(e)).
//!
//! A policy is a list of rules, one per data category: "configuration data: 30 days after
//! account closure, then delete". Items are facts the app knows: "shop X's configuration; its
//! account closed at T". [`RetentionPolicy::due`] is a pure function of both and a time: it says
//! which items are due for deletion at that time, and since when.
//!
//! The boundary is exact: an item whose trigger happened at `T` under a 30-day rule is due from
//! `T + 30 × 86 400 s` on (inclusive), not a second earlier. Days are fixed 24-hour periods of
//! UTC time, so a daylight-saving change does not shorten or lengthen them.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{GdprError, is_label};

/// Most rules a policy may hold.
pub(crate) const MAX_RULES: usize = 1024;

/// Longest retention period accepted, in days (100 years).
pub(crate) const MAX_DAYS: u32 = 36_525;

/// What to do with an expired item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Delete the rows.
    Delete,
    /// Erase the subject key (crypto-shredding).
    Shred,
    /// Replace identifying fields.
    Anonymise,
}

/// One rule: items of `category` are due `days` after their `after` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// The data category (`configuration`, `orders`, `chat-transcripts`…).
    pub category: String,
    /// The event the period runs from (`account-closed`, `collected`, `last-activity`…).
    pub after: String,
    /// The period in days.
    pub days: u32,
    /// What to do when it ends.
    pub action: Action,
    /// Legal basis or note, copied into reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
}

/// A set of rules, at most one per (category, event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// The rules.
    pub rules: Vec<RetentionRule>,
}

/// A fact about stored data: an item of `category` whose `event` happened at `at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionItem {
    /// The app's id of the item (a shop id, a table/row range).
    pub id: String,
    /// Its data category.
    pub category: String,
    /// The event that happened to it.
    pub event: String,
    /// When.
    pub at: Timestamp,
}

/// An item due for deletion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Due {
    /// The item's id.
    pub id: String,
    /// Its category.
    pub category: String,
    /// What to do.
    pub action: Action,
    /// The instant it became due.
    pub due_at: Timestamp,
}

impl RetentionPolicy {
    /// Parses and validates a policy document.
    ///
    /// # Errors
    /// [`GdprError::Malformed`], [`GdprError::TooLarge`], [`GdprError::BadName`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, GdprError> {
        let policy: Self =
            serde_json::from_slice(bytes).map_err(|_| GdprError::Malformed("retention policy"))?;
        policy.validate()?;
        Ok(policy)
    }

    /// Checks names, bounds and that no (category, event) pair has two rules.
    ///
    /// # Errors
    /// As [`RetentionPolicy::from_json`].
    pub fn validate(&self) -> Result<(), GdprError> {
        if self.rules.len() > MAX_RULES {
            return Err(GdprError::TooLarge("retention policy"));
        }
        for (i, r) in self.rules.iter().enumerate() {
            if !is_label(&r.category) || !is_label(&r.after) {
                return Err(GdprError::BadName("retention category or event"));
            }
            if r.days > MAX_DAYS {
                return Err(GdprError::Malformed("retention period over 100 years"));
            }
            if self.rules[..i]
                .iter()
                .any(|o| o.category == r.category && o.after == r.after)
            {
                return Err(GdprError::Malformed(
                    "two retention rules for one category and event",
                ));
            }
        }
        Ok(())
    }

    /// The rule for `category` and `event`, if any.
    pub fn rule(&self, category: &str, event: &str) -> Option<&RetentionRule> {
        self.rules
            .iter()
            .find(|r| r.category == category && r.after == event)
    }

    /// When `item` becomes due, if a rule covers it.
    pub fn due_at(&self, item: &RetentionItem) -> Option<(Timestamp, Action)> {
        let rule = self.rule(&item.category, &item.event)?;
        let period = SignedDuration::from_secs(i64::from(rule.days) * 86_400);
        item.at.checked_add(period).ok().map(|t| (t, rule.action))
    }

    /// The items due for deletion at `at` (their due instant is at or before `at`), earliest
    /// first. Items no rule covers are never due.
    pub fn due<'a>(
        &self,
        items: impl IntoIterator<Item = &'a RetentionItem>,
        at: Timestamp,
    ) -> Vec<Due> {
        let mut due: Vec<Due> = items
            .into_iter()
            .filter_map(|item| {
                let (due_at, action) = self.due_at(item)?;
                (due_at <= at).then(|| Due {
                    id: item.id.clone(),
                    category: item.category.clone(),
                    action,
                    due_at,
                })
            })
            .collect();
        due.sort_by(|a, b| a.due_at.cmp(&b.due_at).then_with(|| a.id.cmp(&b.id)));
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn policy() -> RetentionPolicy {
        RetentionPolicy::from_json(
            br#"{"rules":[
                {"category":"configuration","after":"account-closed","days":30,"action":"delete"},
                {"category":"orders","after":"collected","days":3650,"action":"shred","basis":"tax law"}
            ]}"#,
        )
        .unwrap()
    }

    fn item(id: &str, category: &str, event: &str, at: &str) -> RetentionItem {
        RetentionItem {
            id: id.into(),
            category: category.into(),
            event: event.into(),
            at: ts(at),
        }
    }

    #[test]
    fn thirty_days_after_closure_boundary_is_exact() {
        let p = policy();
        let items = [item(
            "shop-1",
            "configuration",
            "account-closed",
            "2026-01-01T10:00:00Z",
        )];
        assert!(p.due(&items, ts("2026-01-31T09:59:59Z")).is_empty());
        let due = p.due(&items, ts("2026-01-31T10:00:00Z"));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].due_at, ts("2026-01-31T10:00:00Z"));
        assert_eq!(due[0].action, Action::Delete);
    }

    #[test]
    fn uncovered_items_are_never_due_and_order_is_by_time() {
        let p = policy();
        let items = [
            item(
                "b",
                "configuration",
                "account-closed",
                "2026-01-02T00:00:00Z",
            ),
            item(
                "a",
                "configuration",
                "account-closed",
                "2026-01-01T00:00:00Z",
            ),
            item("c", "logs", "collected", "2000-01-01T00:00:00Z"),
            item("d", "orders", "account-closed", "2000-01-01T00:00:00Z"),
        ];
        let due = p.due(&items, ts("2027-01-01T00:00:00Z"));
        let ids: Vec<_> = due.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn invalid_policies_are_refused() {
        for bad in [
            &br#"{"rules":[{"category":"x","after":"y","days":1,"action":"burn"}]}"#[..],
            br#"{"rules":[{"category":"","after":"y","days":1,"action":"delete"}]}"#,
            br#"{"rules":[{"category":"x","after":"y","days":99999,"action":"delete"}]}"#,
            br#"{"rules":[{"category":"x","after":"y","days":1,"action":"delete"},{"category":"x","after":"y","days":2,"action":"delete"}]}"#,
            br#"{"rules":[],"extra":1}"#,
            b"[]",
        ] {
            assert!(RetentionPolicy::from_json(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
