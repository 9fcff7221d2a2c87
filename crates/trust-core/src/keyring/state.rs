//! The life cycle of one key version.
//!
//! ```text
//!            rotate                  promote (after min_stage)
//!  (none) ──────────► Staged ───────────────────────────► Primary
//!                       │                                    │ promote(other)
//!                       │ destroy (abort: never sealed)      ▼
//!                       ▼                               DecryptOnly ◄──────────┐
//!                   Destroyed ◄── PendingDestroy ◄── Disabled ◄── retire ──────┘│
//!                  (tombstone)  destroy     schedule_destroy │   enable ────────┘
//!                            (grace over,          ▲         │
//!                             census or force)     └─────────┘ cancel_destroy
//! ```
//!
//! Which transitions exist is decided here, in one table ([`VersionState::transition`]), so that
//! the keyring, the CLI and any later store agree. What the keyring adds on top (exactly one
//! Primary, the staging time, the grace period, the live-ciphertext guard) lives in
//! [`super::Keyring`].

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::event::EventKind;

/// Where a key version is in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionState {
    /// Distributed to every process, may decrypt, never seals. Waits to be promoted.
    Staged,
    /// The one version new messages are sealed under.
    Primary,
    /// A former Primary: decrypts old messages, never seals.
    DecryptOnly,
    /// Refuses to decrypt (typed error), reversibly: the "scream test" before destruction.
    Disabled,
    /// Scheduled for destruction after a grace period; refuses to decrypt; cancellable.
    PendingDestroy,
    /// Key material erased; only the tombstone (number, dates, counters) remains.
    Destroyed,
}

/// An operation that changes a version's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transition {
    /// Staged → Primary (the previous Primary becomes DecryptOnly).
    Promote,
    /// The previous Primary steps down when another version is promoted.
    Demote,
    /// DecryptOnly → Disabled.
    Retire,
    /// Disabled or PendingDestroy → DecryptOnly.
    Enable,
    /// Disabled → PendingDestroy.
    ScheduleDestroy,
    /// PendingDestroy → Disabled.
    CancelDestroy,
    /// PendingDestroy (or a never-used Staged version) → Destroyed.
    Destroy,
}

impl Transition {
    /// The event kind recorded for this transition: one per act, so an auditor never mistakes
    /// a scheduled destruction for a destruction, or a cancellation for an enabling.
    pub const fn event_kind(self) -> EventKind {
        match self {
            Self::Promote | Self::Demote => EventKind::KeyPromote,
            Self::Retire => EventKind::KeyRetire,
            Self::Enable => EventKind::KeyEnable,
            Self::CancelDestroy => EventKind::KeyCancelDestroy,
            Self::ScheduleDestroy => EventKind::KeyScheduleDestroy,
            Self::Destroy => EventKind::KeyDestroy,
        }
    }

    /// The lower-case name used in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Promote => "promote",
            Self::Demote => "demote",
            Self::Retire => "retire",
            Self::Enable => "enable",
            Self::ScheduleDestroy => "schedule destruction of",
            Self::CancelDestroy => "cancel destruction of",
            Self::Destroy => "destroy",
        }
    }
}

impl VersionState {
    /// Every state, in life-cycle order.
    pub const ALL: [Self; 6] = [
        Self::Staged,
        Self::Primary,
        Self::DecryptOnly,
        Self::Disabled,
        Self::PendingDestroy,
        Self::Destroyed,
    ];

    /// The state `op` leads to from `self`, or `None` when the transition does not exist.
    pub const fn transition(self, op: Transition) -> Option<Self> {
        use Transition as T;
        match (self, op) {
            (Self::Staged, T::Promote) => Some(Self::Primary),
            (Self::Primary, T::Demote) => Some(Self::DecryptOnly),
            (Self::DecryptOnly, T::Retire) => Some(Self::Disabled),
            (Self::Disabled | Self::PendingDestroy, T::Enable) => Some(Self::DecryptOnly),
            (Self::Disabled, T::ScheduleDestroy) => Some(Self::PendingDestroy),
            (Self::PendingDestroy, T::CancelDestroy) => Some(Self::Disabled),
            (Self::PendingDestroy | Self::Staged, T::Destroy) => Some(Self::Destroyed),
            _ => None,
        }
    }

    /// True when a message sealed under this version may be opened.
    pub const fn may_decrypt(self) -> bool {
        matches!(self, Self::Staged | Self::Primary | Self::DecryptOnly)
    }

    /// The kebab-case name used in files, JSON and messages.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Staged => "staged",
            Self::Primary => "primary",
            Self::DecryptOnly => "decrypt-only",
            Self::Disabled => "disabled",
            Self::PendingDestroy => "pending-destroy",
            Self::Destroyed => "destroyed",
        }
    }
}

impl fmt::Display for VersionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPS: [Transition; 7] = [
        Transition::Promote,
        Transition::Demote,
        Transition::Retire,
        Transition::Enable,
        Transition::ScheduleDestroy,
        Transition::CancelDestroy,
        Transition::Destroy,
    ];

    #[test]
    fn scheduling_and_cancelling_have_their_own_event_kinds() {
        assert_eq!(
            Transition::ScheduleDestroy.event_kind(),
            EventKind::KeyScheduleDestroy
        );
        assert_eq!(
            Transition::CancelDestroy.event_kind(),
            EventKind::KeyCancelDestroy
        );
        assert_eq!(Transition::Destroy.event_kind(), EventKind::KeyDestroy);
        assert_eq!(Transition::Enable.event_kind(), EventKind::KeyEnable);
    }

    #[test]
    fn destroyed_is_terminal() {
        for op in OPS {
            assert_eq!(VersionState::Destroyed.transition(op), None, "{op:?}");
        }
    }

    #[test]
    fn primary_can_only_step_down() {
        for op in OPS {
            let expect = (op == Transition::Demote).then_some(VersionState::DecryptOnly);
            assert_eq!(VersionState::Primary.transition(op), expect, "{op:?}");
        }
    }

    #[test]
    fn nothing_but_promote_reaches_primary() {
        for s in VersionState::ALL {
            for op in OPS {
                if s.transition(op) == Some(VersionState::Primary) {
                    assert_eq!((s, op), (VersionState::Staged, Transition::Promote));
                }
            }
        }
    }

    #[test]
    fn decrypting_states() {
        let ok: Vec<_> = VersionState::ALL
            .into_iter()
            .filter(|s| s.may_decrypt())
            .collect();
        assert_eq!(
            ok,
            [
                VersionState::Staged,
                VersionState::Primary,
                VersionState::DecryptOnly
            ]
        );
    }

    #[test]
    fn serde_names_match_display() {
        for s in VersionState::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
            assert_eq!(serde_json::from_str::<VersionState>(&json).unwrap(), s);
        }
    }
}
