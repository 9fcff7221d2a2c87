//! The keyring model: versions, the one Primary, and every rule about changing them.
//!
//! [`Keyring`] is pure state (no I/O, time passed in as Unix seconds), so the rules can be
//! property-tested against random operation sequences. The [`super::Home`] loads it, applies one
//! operation, writes it back with compare-and-swap, and records the event.

use super::KeyringError;
use super::file::{self, KeyringRecord};
use super::state::{Transition, VersionState};
use super::version::{Policy, VersionRecord};
use crate::keys::{KeyError, KeyRef, Suite};

/// One state change, as reported to the event sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The version that changed.
    pub version: u32,
    /// Its state before (`None` for a new version).
    pub from: Option<VersionState>,
    /// Its state after.
    pub to: VersionState,
    /// Whether a guard was overridden (`--force`).
    pub forced: bool,
}

/// A keyring: named, numbered versions with exactly one Primary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyring {
    record: KeyringRecord,
}

impl Keyring {
    /// A new keyring whose version 1 (already wrapped, base64) is Primary from the start:
    /// there is nothing sealed yet, so nothing to roll out first.
    ///
    /// # Errors
    /// [`KeyringError::InvalidName`] for a name that is not a valid keyring name.
    pub fn new(
        name: &str,
        suite: Suite,
        policy: Policy,
        now: i64,
        material: String,
    ) -> Result<Self, KeyringError> {
        if !KeyRef::is_valid_name(name) {
            return Err(KeyringError::InvalidName { name: name.into() });
        }
        if policy.max_uses == 0 {
            return Err(KeyringError::InvalidPolicy("max_uses must be at least 1"));
        }
        let v1 = VersionRecord {
            version: 1,
            state: VersionState::Primary,
            created_at: now,
            promoted_at: Some(now),
            demoted_at: None,
            retired_at: None,
            destroy_after: None,
            destroyed_at: None,
            destroy_forced: false,
            uses: 0,
            census_clear_at: None,
            material: Some(material),
        };
        Ok(Self {
            record: KeyringRecord {
                name: name.into(),
                suite: suite.name().into(),
                revision: 1,
                created_at: now,
                next_version: 2,
                policy,
                versions: vec![v1],
            },
        })
    }

    /// Wraps a record that passed [`file::verify`] (or [`file::check`]).
    pub(crate) fn from_record(record: KeyringRecord) -> Self {
        Self { record }
    }

    /// The stored record.
    pub fn record(&self) -> &KeyringRecord {
        &self.record
    }

    /// The keyring's name.
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// The suite new messages are sealed with.
    pub fn suite(&self) -> Suite {
        self.record.suite.parse().unwrap_or_default()
    }

    /// The revision (incremented by every change).
    pub fn revision(&self) -> u64 {
        self.record.revision
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.record.policy
    }

    /// Every version, oldest first, tombstones included.
    pub fn versions(&self) -> &[VersionRecord] {
        &self.record.versions
    }

    /// One version's record.
    pub fn version(&self, version: u32) -> Option<&VersionRecord> {
        self.record.versions.iter().find(|v| v.version == version)
    }

    fn version_mut(&mut self, version: u32) -> Result<&mut VersionRecord, KeyringError> {
        let key_ref = self.key_ref(version);
        self.record
            .versions
            .iter_mut()
            .find(|v| v.version == version)
            .ok_or(KeyringError::Key(KeyError::UnknownVersion { key_ref }))
    }

    /// The Primary version.
    pub fn primary(&self) -> &VersionRecord {
        // `file::check` guarantees exactly one; index 0 is never reached in a valid keyring.
        self.record
            .versions
            .iter()
            .find(|v| v.state == VersionState::Primary)
            .unwrap_or(&self.record.versions[0])
    }

    /// A reference to `version` of this keyring.
    pub fn key_ref(&self, version: u32) -> KeyRef {
        KeyRef::new(self.record.name.clone(), version)
    }

    /// True when the Primary is older than `max_age` or has used up its ceiling: time to
    /// `rotate` (and `promote`).
    pub fn rotation_due(&self, now: i64) -> bool {
        let p = self.primary();
        if p.uses >= self.record.policy.max_uses {
            return true;
        }
        match (self.record.policy.max_age_secs, p.promoted_at) {
            (Some(max), Some(at)) => {
                now.saturating_sub(at) >= i64::try_from(max).unwrap_or(i64::MAX)
            }
            _ => false,
        }
    }

    /// Whether `version` may decrypt, as the typed error the envelope expects.
    ///
    /// # Errors
    /// [`KeyError`] for an unknown, Disabled, PendingDestroy or Destroyed version.
    pub fn check_decrypt(&self, version: u32) -> Result<&VersionRecord, KeyError> {
        let key_ref = self.key_ref(version);
        let v = self.version(version).ok_or(KeyError::UnknownVersion {
            key_ref: key_ref.clone(),
        })?;
        match v.state {
            VersionState::Staged | VersionState::Primary | VersionState::DecryptOnly => Ok(v),
            VersionState::Disabled => Err(KeyError::Disabled { key_ref }),
            VersionState::PendingDestroy => Err(KeyError::PendingDestroy { key_ref }),
            VersionState::Destroyed => Err(KeyError::Destroyed { key_ref }),
        }
    }

    fn bump(&mut self) {
        self.record.revision = self.record.revision.saturating_add(1);
    }

    fn apply(&mut self, version: u32, op: Transition, now: i64) -> Result<Change, KeyringError> {
        let key_ref = self.key_ref(version);
        let v = self.version_mut(version)?;
        let from = v.state;
        let to = from.transition(op).ok_or(KeyringError::Transition {
            key_ref,
            state: from,
            op: op.name(),
        })?;
        v.state = to;
        match op {
            Transition::Promote => v.promoted_at = Some(now),
            Transition::Demote => v.demoted_at = Some(now),
            Transition::Retire => v.retired_at = Some(now),
            Transition::Enable | Transition::CancelDestroy => v.destroy_after = None,
            Transition::ScheduleDestroy => {}
            Transition::Destroy => {
                v.destroy_after = None;
                v.destroyed_at = Some(now);
                v.material = None;
            }
        }
        Ok(Change {
            version,
            from: Some(from),
            to,
            forced: false,
        })
    }

    /// Adds a new Staged version holding `material` (wrapped, base64). Returns its number.
    ///
    /// # Errors
    /// [`KeyringError::InvalidPolicy`] when the keyring holds [`file::MAX_VERSIONS`] already or
    /// the version numbers are exhausted.
    pub fn add_version(&mut self, now: i64, material: String) -> Result<Change, KeyringError> {
        if self.record.versions.len() >= file::MAX_VERSIONS {
            return Err(KeyringError::InvalidPolicy(
                "the keyring holds too many versions",
            ));
        }
        let version = self.record.next_version;
        self.record.next_version = version
            .checked_add(1)
            .ok_or(KeyringError::InvalidPolicy("version numbers exhausted"))?;
        self.record.versions.push(VersionRecord {
            version,
            state: VersionState::Staged,
            created_at: now,
            promoted_at: None,
            demoted_at: None,
            retired_at: None,
            destroy_after: None,
            destroyed_at: None,
            destroy_forced: false,
            uses: 0,
            census_clear_at: None,
            material: Some(material),
        });
        self.bump();
        Ok(Change {
            version,
            from: None,
            to: VersionState::Staged,
            forced: false,
        })
    }

    /// Promotes Staged `version` to Primary; the old Primary becomes DecryptOnly.
    ///
    /// Unless `skip_staging`, refuses while the version is younger than the policy's
    /// `min_stage_secs`. Returns the changes, the promotion first.
    ///
    /// # Errors
    /// [`KeyringError::Transition`] unless the version is Staged,
    /// [`KeyringError::StagingTooShort`] when it was staged too recently.
    pub fn promote(
        &mut self,
        version: u32,
        now: i64,
        skip_staging: bool,
    ) -> Result<Vec<Change>, KeyringError> {
        let min = i64::try_from(self.record.policy.min_stage_secs).unwrap_or(i64::MAX);
        let key_ref = self.key_ref(version);
        let v = self
            .version(version)
            .ok_or(KeyringError::Key(KeyError::UnknownVersion {
                key_ref: key_ref.clone(),
            }))?;
        if v.state == VersionState::Staged && !skip_staging {
            let ready_at = v.created_at.saturating_add(min);
            if now < ready_at {
                return Err(KeyringError::StagingTooShort { key_ref, ready_at });
            }
        }
        let old = self.primary().version;
        let promoted = self.apply(version, Transition::Promote, now)?;
        let demoted = self.apply(old, Transition::Demote, now)?;
        self.bump();
        Ok(vec![promoted, demoted])
    }

    /// Retires DecryptOnly `version`: it is Disabled and refuses to decrypt until enabled.
    ///
    /// # Errors
    /// [`KeyringError::Transition`] unless the version is DecryptOnly.
    pub fn retire(&mut self, version: u32, now: i64) -> Result<Change, KeyringError> {
        let c = self.apply(version, Transition::Retire, now)?;
        self.bump();
        Ok(c)
    }

    /// Re-enables a Disabled (or PendingDestroy: cancels the destruction) `version` as
    /// DecryptOnly.
    ///
    /// # Errors
    /// [`KeyringError::Transition`] for any other state.
    pub fn enable(&mut self, version: u32, now: i64) -> Result<Change, KeyringError> {
        let c = self.apply(version, Transition::Enable, now)?;
        self.bump();
        Ok(c)
    }

    /// Schedules Disabled `version` for destruction after the policy's grace period.
    ///
    /// # Errors
    /// [`KeyringError::Transition`] unless the version is Disabled.
    pub fn schedule_destroy(&mut self, version: u32, now: i64) -> Result<Change, KeyringError> {
        let grace = i64::try_from(self.record.policy.destroy_grace_secs).unwrap_or(i64::MAX);
        let c = self.apply(version, Transition::ScheduleDestroy, now)?;
        self.version_mut(version)?.destroy_after = Some(now.saturating_add(grace));
        self.bump();
        Ok(c)
    }

    /// Cancels a scheduled destruction: PendingDestroy → Disabled.
    ///
    /// # Errors
    /// [`KeyringError::Transition`] unless the version is PendingDestroy.
    pub fn cancel_destroy(&mut self, version: u32, now: i64) -> Result<Change, KeyringError> {
        let c = self.apply(version, Transition::CancelDestroy, now)?;
        self.bump();
        Ok(c)
    }

    /// Destroys `version`: its material is erased, its tombstone kept.
    ///
    /// Checked, in this order:
    /// 1. the version is PendingDestroy (or Staged: aborting a rollout, nothing was sealed);
    /// 2. its grace period is over (`destroy_after <= now`);
    /// 3. unless `force`: no message may still need it — it sealed nothing (`uses == 0`) or a
    ///    rewrap census reported none left ([`Keyring::record_census`]).
    ///
    /// # Errors
    /// [`KeyringError::Transition`], [`KeyringError::GraceNotElapsed`] or
    /// [`KeyringError::LiveCiphertexts`] for the checks above.
    pub fn destroy(&mut self, version: u32, now: i64, force: bool) -> Result<Change, KeyringError> {
        let key_ref = self.key_ref(version);
        let v = self
            .version(version)
            .ok_or(KeyringError::Key(KeyError::UnknownVersion {
                key_ref: key_ref.clone(),
            }))?;
        if v.state.transition(Transition::Destroy).is_none() {
            return Err(KeyringError::Transition {
                key_ref,
                state: v.state,
                op: Transition::Destroy.name(),
            });
        }
        if let Some(after) = v.destroy_after
            && now < after
        {
            return Err(KeyringError::GraceNotElapsed { key_ref, after });
        }
        let live = v.may_have_live_ciphertexts();
        if live && !force {
            return Err(KeyringError::LiveCiphertexts {
                key_ref,
                uses: v.uses,
            });
        }
        let mut c = self.apply(version, Transition::Destroy, now)?;
        c.forced = live;
        self.version_mut(version)?.destroy_forced = live;
        self.bump();
        Ok(c)
    }

    /// Reserves up to `block` seals under the Primary and returns `(version, first, end)`:
    /// seals `first..end` may be used without touching the file again.
    ///
    /// # Errors
    /// [`KeyError::UsageLimitReached`] when the Primary has reached `max_uses`.
    pub fn reserve_uses(&mut self, block: u64) -> Result<(u32, u64, u64), KeyringError> {
        let max = self.record.policy.max_uses;
        let name = self.record.name.clone();
        let p = self
            .record
            .versions
            .iter_mut()
            .find(|v| v.state == VersionState::Primary)
            .ok_or(KeyringError::Key(KeyError::NoPrimary {
                keyring: name.clone(),
            }))?;
        if p.uses >= max {
            return Err(KeyringError::Key(KeyError::UsageLimitReached {
                key_ref: KeyRef::new(name, p.version),
            }));
        }
        let first = p.uses;
        let end = first.saturating_add(block.max(1)).min(max);
        p.uses = end;
        let version = p.version;
        self.bump();
        Ok((version, first, end))
    }

    /// Records a rewrap census: `remaining` messages still sealed under `version`. Zero clears
    /// the live-ciphertext guard for [`Keyring::destroy`]; the caller vouches that the census
    /// covered every store holding messages of this keyring. Only for versions that no longer
    /// seal (not Staged or Primary), since a Primary keeps sealing after any census.
    ///
    /// # Errors
    /// [`KeyringError::Transition`] for a Staged or Primary version.
    pub fn record_census(
        &mut self,
        version: u32,
        remaining: u64,
        now: i64,
    ) -> Result<(), KeyringError> {
        let key_ref = self.key_ref(version);
        let v = self.version_mut(version)?;
        if matches!(v.state, VersionState::Staged | VersionState::Primary) {
            return Err(KeyringError::Transition {
                key_ref,
                state: v.state,
                op: "record a census for",
            });
        }
        v.census_clear_at = (remaining == 0).then_some(now);
        self.bump();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring() -> Keyring {
        Keyring::new(
            "orders",
            Suite::Aes256Gcm,
            Policy::default(),
            100,
            "AAAA".into(),
        )
        .unwrap()
    }

    #[test]
    fn full_life_cycle() {
        let mut k = ring();
        assert_eq!(k.add_version(110, "AAAA".into()).unwrap().version, 2);
        let changes = k.promote(2, 120, false).unwrap();
        assert_eq!(changes[0].to, VersionState::Primary);
        assert_eq!(changes[1].to, VersionState::DecryptOnly);
        assert_eq!(k.primary().version, 2);
        k.retire(1, 130).unwrap();
        assert_eq!(
            k.check_decrypt(1).unwrap_err().to_string(),
            "key orders v1 is disabled"
        );
        k.enable(1, 131).unwrap();
        k.check_decrypt(1).unwrap();
        k.retire(1, 132).unwrap();
        k.schedule_destroy(1, 140).unwrap();
        assert!(matches!(
            k.check_decrypt(1),
            Err(KeyError::PendingDestroy { .. })
        ));
        let c = k.destroy(1, 140, false).unwrap();
        assert_eq!(c.to, VersionState::Destroyed);
        assert!(!c.forced);
        assert!(k.version(1).unwrap().material.is_none());
        assert!(matches!(
            k.check_decrypt(1),
            Err(KeyError::Destroyed { .. })
        ));
        assert!(matches!(
            k.check_decrypt(9),
            Err(KeyError::UnknownVersion { .. })
        ));
        file::check(k.record()).unwrap();
    }

    #[test]
    fn primary_cannot_be_retired_or_destroyed() {
        let mut k = ring();
        assert!(matches!(
            k.retire(1, 1),
            Err(KeyringError::Transition { .. })
        ));
        assert!(matches!(
            k.destroy(1, 1, true),
            Err(KeyringError::Transition { .. })
        ));
        assert!(matches!(
            k.schedule_destroy(1, 1),
            Err(KeyringError::Transition { .. })
        ));
    }

    #[test]
    fn staging_time_is_enforced_unless_skipped() {
        let policy = Policy {
            min_stage_secs: 60,
            ..Policy::default()
        };
        let mut k = Keyring::new("a", Suite::Aes256Gcm, policy, 0, "AAAA".into()).unwrap();
        k.add_version(1000, "AAAA".into()).unwrap();
        assert_eq!(
            k.promote(2, 1059, false).unwrap_err(),
            KeyringError::StagingTooShort {
                key_ref: KeyRef::new("a", 2),
                ready_at: 1060
            }
        );
        k.promote(2, 1060, false).unwrap();
        k.add_version(2000, "AAAA".into()).unwrap();
        k.promote(3, 2000, true).unwrap();
    }

    #[test]
    fn destroy_guards() {
        let policy = Policy {
            destroy_grace_secs: 10,
            ..Policy::default()
        };
        let mut k = Keyring::new("a", Suite::Aes256Gcm, policy, 0, "AAAA".into()).unwrap();
        k.reserve_uses(5).unwrap();
        k.add_version(1, "AAAA".into()).unwrap();
        k.promote(2, 1, true).unwrap();
        assert!(matches!(
            k.destroy(1, 2, true),
            Err(KeyringError::Transition { .. })
        ));
        k.retire(1, 2).unwrap();
        k.schedule_destroy(1, 3).unwrap();
        assert!(matches!(
            k.destroy(1, 12, true),
            Err(KeyringError::GraceNotElapsed { after: 13, .. })
        ));
        assert!(matches!(
            k.destroy(1, 13, false),
            Err(KeyringError::LiveCiphertexts { uses: 5, .. })
        ));
        let c = k.destroy(1, 13, true).unwrap();
        assert!(c.forced);
        assert!(k.version(1).unwrap().destroy_forced);
    }

    #[test]
    fn census_clears_the_live_guard() {
        let mut k = ring();
        k.reserve_uses(3).unwrap();
        k.add_version(1, "AAAA".into()).unwrap();
        assert!(k.record_census(2, 0, 1).is_err(), "staged");
        k.promote(2, 1, true).unwrap();
        assert!(k.record_census(2, 0, 1).is_err(), "primary");
        k.record_census(1, 4, 2).unwrap();
        k.retire(1, 2).unwrap();
        k.schedule_destroy(1, 2).unwrap();
        assert!(matches!(
            k.destroy(1, 2, false),
            Err(KeyringError::LiveCiphertexts { .. })
        ));
        k.record_census(1, 0, 3).unwrap();
        assert!(!k.destroy(1, 3, false).unwrap().forced);
    }

    #[test]
    fn staged_versions_can_be_aborted() {
        let mut k = ring();
        k.add_version(1, "AAAA".into()).unwrap();
        assert_eq!(
            k.destroy(2, 1, false).unwrap().from,
            Some(VersionState::Staged)
        );
        assert_eq!(
            k.add_version(2, "AAAA".into()).unwrap().version,
            3,
            "never reused"
        );
    }

    #[test]
    fn usage_ceiling() {
        let policy = Policy {
            max_uses: 10,
            ..Policy::default()
        };
        let mut k = Keyring::new("a", Suite::Aes256Gcm, policy, 0, "AAAA".into()).unwrap();
        assert_eq!(k.reserve_uses(4).unwrap(), (1, 0, 4));
        assert!(!k.rotation_due(0));
        assert_eq!(k.reserve_uses(100).unwrap(), (1, 4, 10));
        assert!(k.rotation_due(0));
        assert!(matches!(
            k.reserve_uses(1),
            Err(KeyringError::Key(KeyError::UsageLimitReached { .. }))
        ));
        k.add_version(1, "AAAA".into()).unwrap();
        k.promote(2, 1, true).unwrap();
        assert_eq!(k.reserve_uses(1).unwrap(), (2, 0, 1));
    }

    #[test]
    fn rotation_due_by_age() {
        let policy = Policy {
            max_age_secs: Some(100),
            ..Policy::default()
        };
        let k = Keyring::new("a", Suite::Aes256Gcm, policy, 1000, "AAAA".into()).unwrap();
        assert!(!k.rotation_due(1099));
        assert!(k.rotation_due(1100));
    }

    #[derive(Clone, Debug)]
    enum Op {
        Rotate,
        Promote(u32),
        Retire(u32),
        Enable(u32),
        Schedule(u32),
        Cancel(u32),
        Destroy(u32, bool),
        Use(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            Just(Op::Rotate),
            (1u32..8).prop_map(Op::Promote),
            (1u32..8).prop_map(Op::Retire),
            (1u32..8).prop_map(Op::Enable),
            (1u32..8).prop_map(Op::Schedule),
            (1u32..8).prop_map(Op::Cancel),
            ((1u32..8), any::<bool>()).prop_map(|(v, f)| Op::Destroy(v, f)),
            (1u64..5).prop_map(Op::Use),
        ]
    }

    proptest! {
        /// §4.3 invariants under any operation sequence: exactly one Primary, numbers strictly
        /// increasing and never reused, destroyed stays destroyed, every success bumps the
        /// revision, a failed operation changes nothing, and the file invariants hold.
        #[test]
        fn invariants_hold(ops in proptest::collection::vec(op(), 0..60)) {
            let mut k = ring();
            let mut destroyed = std::collections::BTreeSet::new();
            let mut max_seen = 1u32;
            for (i, op) in ops.into_iter().enumerate() {
                let now = i64::try_from(i).unwrap();
                let before = k.clone();
                let res = match op {
                    Op::Rotate => k.add_version(now, "AAAA".into()).map(|c| {
                        assert!(c.version > max_seen);
                        max_seen = c.version;
                    }),
                    Op::Promote(v) => k.promote(v, now, false).map(drop),
                    Op::Retire(v) => k.retire(v, now).map(drop),
                    Op::Enable(v) => k.enable(v, now).map(drop),
                    Op::Schedule(v) => k.schedule_destroy(v, now).map(drop),
                    Op::Cancel(v) => k.cancel_destroy(v, now).map(drop),
                    Op::Destroy(v, f) => k.destroy(v, now, f).map(|c| { destroyed.insert(c.version); }),
                    Op::Use(n) => k.reserve_uses(n).map(drop),
                };
                match res {
                    Ok(()) => prop_assert!(k.revision() > before.revision()),
                    Err(_) => prop_assert_eq!(&k, &before),
                }
                prop_assert!(file::check(k.record()).is_ok());
                for v in &destroyed {
                    prop_assert_eq!(k.version(*v).map(|r| r.state), Some(VersionState::Destroyed));
                }
            }
        }
    }
}
