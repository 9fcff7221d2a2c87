//! The keyring model: versions, the one Primary, and every rule about changing them.
//!
//! [`Keyring`] is pure state (no I/O, time passed in as Unix seconds), so the rules can be
//! property-tested against random operation sequences. The [`super::Home`] loads it, applies one
//! operation, writes it back with compare-and-swap, and records the event.

use super::KeyringError;
use super::file::{self, KeyringRecord};
use super::state::{Transition, VersionState};
use super::version::{Policy, VersionRecord};
use crate::provider::{KeyError, KeyRef, Suite};

/// One state change, as reported to the event sink.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// The version that changed.
    pub version: u32,
    /// Its state before (`None` for a new version).
    pub from: Option<VersionState>,
    /// Its state after.
    pub to: VersionState,
    /// Whether a guard was overridden (`--force`).
    pub forced: bool,
    /// The operator's reason for an override, recorded with the event.
    pub reason: Option<String>,
}

impl Change {
    fn new(version: u32, from: Option<VersionState>, to: VersionState) -> Self {
        Self {
            version,
            from,
            to,
            forced: false,
            reason: None,
        }
    }
}

/// What `rotate` does with the version it adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rollout {
    /// Leave it Staged: every process learns it (and can decrypt under it) before anything is
    /// sealed under it; promote it later, after the keyring's `min_stage_secs`.
    Staged,
    /// Promote it at once. Subject to the same staging rule as [`Keyring::promote`]: refused
    /// (and nothing added) when the keyring's `min_stage_secs` is not zero.
    Immediate,
}

/// How a destruction treats the live-ciphertext guard.
///
/// The override is a separate, loudly named variant rather than a `bool`, and it carries the
/// operator's reason, which is recorded in the `key.destroy` event next to `forced=true`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Destroy {
    /// Destroy only when nothing known still needs the version: it sealed nothing, rewrap moved
    /// off it every seal it counted, or an explicit census cleared it.
    IfUnused,
    /// Destroy even though ciphertexts may still need the version. Audited as forced.
    Force {
        /// Why (one line, no secrets or personal data: it goes into the audit log).
        reason: String,
    },
}

impl Destroy {
    /// Longest reason accepted, in bytes.
    pub const MAX_REASON_LEN: usize = 200;

    /// The override, with `reason` checked (non-empty, one line, at most
    /// [`Destroy::MAX_REASON_LEN`] bytes).
    ///
    /// # Errors
    /// [`KeyringError::Usage`] for an unusable reason.
    pub fn force(reason: impl Into<String>) -> Result<Self, KeyringError> {
        let reason = reason.into();
        if reason.trim().is_empty()
            || reason.len() > Self::MAX_REASON_LEN
            || reason.chars().any(char::is_control)
        {
            return Err(KeyringError::Usage(
                "a forced destruction needs a reason: one line of at most 200 bytes",
            ));
        }
        Ok(Self::Force { reason })
    }

    fn reason(&self) -> Option<&str> {
        match self {
            Self::IfUnused => None,
            Self::Force { reason } => Some(reason),
        }
    }
}

/// What a destruction request did (or, from [`Keyring::check_destroy`], would do).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DestroyOutcome {
    /// The material is erased; the tombstone stays.
    Destroyed {
        /// Whether the live-ciphertext guard was overridden.
        forced: bool,
    },
    /// The version is PendingDestroy: its grace period ends at `after` (Unix seconds); ask
    /// again then.
    Scheduled {
        /// When the destruction may be carried out.
        after: i64,
    },
}

/// What [`Keyring::rotation_step`] decides for a scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotationStep {
    /// The Primary is neither older than the rotation period nor at its usage ceiling.
    NotDue,
    /// Due, and no rollout is under way: add a version.
    Rotate,
    /// Due, and Staged `version` has waited its staging time: promote it.
    Promote {
        /// The Staged version.
        version: u32,
    },
    /// Due, and Staged `version` is still within its staging time.
    Wait {
        /// The Staged version.
        version: u32,
        /// When it may be promoted (Unix seconds).
        ready_at: i64,
    },
}

/// A change to a keyring's configuration; unset fields keep their value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigChange {
    /// New minimum decryption version (0: none).
    pub min_decryption_version: Option<u32>,
    /// New minimum encryption version (0: none).
    pub min_encryption_version: Option<u32>,
    /// New rotation period in seconds (`Some(None)`: no scheduled rotation).
    pub rotation_period_secs: Option<Option<u64>>,
}

impl ConfigChange {
    /// No change yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Versions below `v` refuse to decrypt (0: no minimum).
    #[must_use]
    pub fn min_decryption_version(mut self, v: u32) -> Self {
        self.min_decryption_version = Some(v);
        self
    }

    /// Sealing is refused while the Primary is below `v` (0: no minimum).
    #[must_use]
    pub fn min_encryption_version(mut self, v: u32) -> Self {
        self.min_encryption_version = Some(v);
        self
    }

    /// Rotation is due this long after the Primary was promoted (`None`: never by age).
    #[must_use]
    pub fn rotation_period_secs(mut self, secs: Option<u64>) -> Self {
        self.rotation_period_secs = Some(secs);
        self
    }

    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
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
            moved: 0,
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
                min_decryption_version: 0,
                min_encryption_version: 0,
            },
        })
    }

    /// Wraps a record that passed the file checks (`file::verify` or `file::check`).
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

    /// The minimum decryption version (0: none).
    pub fn min_decryption_version(&self) -> u32 {
        self.record.min_decryption_version
    }

    /// The minimum encryption version (0: none).
    pub fn min_encryption_version(&self) -> u32 {
        self.record.min_encryption_version
    }

    /// Whether `version` may decrypt, as the typed error the envelope expects.
    ///
    /// # Errors
    /// [`KeyError`] for an unknown, Disabled, PendingDestroy or Destroyed version, or one below
    /// the minimum decryption version.
    pub fn check_decrypt(&self, version: u32) -> Result<&VersionRecord, KeyError> {
        let key_ref = self.key_ref(version);
        let v = self.version(version).ok_or(KeyError::UnknownVersion {
            key_ref: key_ref.clone(),
        })?;
        match v.state {
            VersionState::Staged | VersionState::Primary | VersionState::DecryptOnly => {}
            VersionState::Disabled => return Err(KeyError::Disabled { key_ref }),
            VersionState::PendingDestroy => return Err(KeyError::PendingDestroy { key_ref }),
            VersionState::Destroyed => return Err(KeyError::Destroyed { key_ref }),
        }
        let min = self.record.min_decryption_version;
        if version < min {
            return Err(KeyError::BelowMinDecryption { key_ref, min });
        }
        Ok(v)
    }

    /// What a scheduler should do now: see [`RotationStep`]. A rollout already under way (a
    /// Staged version) is finished before another is started, so running a scheduler often
    /// never piles up versions.
    pub fn rotation_step(&self, now: i64) -> RotationStep {
        if !self.rotation_due(now) {
            return RotationStep::NotDue;
        }
        let Some(staged) = self
            .record
            .versions
            .iter()
            .rev()
            .find(|v| v.state == VersionState::Staged)
        else {
            return RotationStep::Rotate;
        };
        match self.staging_ready_at(staged) {
            ready_at if now < ready_at => RotationStep::Wait {
                version: staged.version,
                ready_at,
            },
            _ => RotationStep::Promote {
                version: staged.version,
            },
        }
    }

    fn staging_ready_at(&self, v: &VersionRecord) -> i64 {
        let min = i64::try_from(self.record.policy.min_stage_secs).unwrap_or(i64::MAX);
        v.created_at.saturating_add(min)
    }

    /// Applies `change` with Vault Transit's rules: the minimum decryption version is at most
    /// the Primary's (so what is sealed now stays readable); the minimum encryption version is
    /// 0 or at least the minimum decryption version, and at most the latest version.
    ///
    /// # Errors
    /// [`KeyringError::InvalidPolicy`] naming the broken rule; nothing changes then.
    pub fn configure(&mut self, change: &ConfigChange) -> Result<(), KeyringError> {
        let mut r = self.record.clone();
        if let Some(v) = change.min_decryption_version {
            r.min_decryption_version = v;
        }
        if let Some(v) = change.min_encryption_version {
            r.min_encryption_version = v;
        }
        if let Some(p) = change.rotation_period_secs {
            if p == Some(0) {
                return Err(KeyringError::InvalidPolicy(
                    "the rotation period must be at least one second",
                ));
            }
            r.policy.max_age_secs = p;
        }
        if r.min_decryption_version > self.primary().version {
            return Err(KeyringError::InvalidPolicy(
                "min_decryption_version may not exceed the primary version",
            ));
        }
        if r.min_encryption_version > r.latest_version() {
            return Err(KeyringError::InvalidPolicy(
                "min_encryption_version may not exceed the latest version",
            ));
        }
        if r.min_encryption_version != 0 && r.min_encryption_version < r.min_decryption_version {
            return Err(KeyringError::InvalidPolicy(
                "min_encryption_version must be 0 or at least min_decryption_version",
            ));
        }
        file::check(&r).map_err(|_| KeyringError::InvalidPolicy("inconsistent configuration"))?;
        self.record = r;
        self.bump();
        Ok(())
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
        Ok(Change::new(version, Some(from), to))
    }

    /// Adds a new Staged version holding `material` (wrapped, base64). Returns its number.
    ///
    /// # Errors
    /// [`KeyringError::InvalidPolicy`] when the keyring holds `MAX_VERSIONS` (4096) already or
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
            moved: 0,
        });
        self.bump();
        Ok(Change::new(version, None, VersionState::Staged))
    }

    /// Promotes Staged `version` to Primary; the old Primary becomes DecryptOnly.
    ///
    /// Refuses while the version is younger than the policy's `min_stage_secs`: this is the one
    /// place the staging rule lives, so `promote` and `rotate` with [`Rollout::Immediate`]
    /// enforce the same thing. Returns the changes, the promotion first.
    ///
    /// # Errors
    /// [`KeyringError::Transition`] unless the version is Staged,
    /// [`KeyringError::StagingTooShort`] when it was staged too recently.
    pub fn promote(&mut self, version: u32, now: i64) -> Result<Vec<Change>, KeyringError> {
        let key_ref = self.key_ref(version);
        let v = self
            .version(version)
            .ok_or(KeyringError::Key(KeyError::UnknownVersion {
                key_ref: key_ref.clone(),
            }))?;
        if v.state == VersionState::Staged {
            let ready_at = self.staging_ready_at(v);
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
    /// 3. with [`Destroy::IfUnused`]: nothing known needs it
    ///    ([`VersionRecord::may_have_live_ciphertexts`]: every seal it counted was moved off by
    ///    rewrap, or an explicit census cleared it).
    ///
    /// # Errors
    /// [`KeyringError::Transition`], [`KeyringError::GraceNotElapsed`] or
    /// [`KeyringError::LiveCiphertexts`] for the checks above.
    pub fn destroy(
        &mut self,
        version: u32,
        now: i64,
        mode: &Destroy,
    ) -> Result<Change, KeyringError> {
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
        Self::live_guard(v, &key_ref, mode)?;
        let live = v.may_have_live_ciphertexts();
        let mut c = self.apply(version, Transition::Destroy, now)?;
        c.forced = live;
        c.reason = mode.reason().filter(|_| live).map(str::to_owned);
        self.version_mut(version)?.destroy_forced = live;
        self.bump();
        Ok(c)
    }

    fn live_guard(v: &VersionRecord, key_ref: &KeyRef, mode: &Destroy) -> Result<(), KeyringError> {
        if v.may_have_live_ciphertexts() && *mode == Destroy::IfUnused {
            return Err(KeyringError::LiveCiphertexts {
                key_ref: key_ref.clone(),
                uses: v.uses,
                moved: v.moved,
            });
        }
        Ok(())
    }

    /// The operator's "destroy" as one step, the rule the CLI, the C ABI and the packages
    /// share: a Disabled version is scheduled (PendingDestroy) and, when the grace period is
    /// zero or over, destroyed in the same change; a PendingDestroy version is destroyed once
    /// its grace period is over; a Staged version (an aborted rollout) is destroyed directly.
    /// The live-ciphertext guard is checked first, so a refusal changes nothing.
    ///
    /// Returns the outcome and the changes made (for the event sink), in order.
    ///
    /// # Errors
    /// [`KeyringError::Transition`] for any other state, [`KeyringError::LiveCiphertexts`],
    /// [`KeyringError::GraceNotElapsed`] for a PendingDestroy version still in its grace.
    pub fn destroy_step(
        &mut self,
        version: u32,
        now: i64,
        mode: &Destroy,
    ) -> Result<(DestroyOutcome, Vec<Change>), KeyringError> {
        let key_ref = self.key_ref(version);
        let v = self
            .version(version)
            .ok_or(KeyringError::Key(KeyError::UnknownVersion {
                key_ref: key_ref.clone(),
            }))?;
        if !matches!(
            v.state,
            VersionState::Disabled | VersionState::PendingDestroy | VersionState::Staged
        ) {
            return Err(KeyringError::Transition {
                key_ref,
                state: v.state,
                op: Transition::Destroy.name(),
            });
        }
        Self::live_guard(v, &key_ref, mode)?;
        let mut next = self.clone();
        let mut changes = Vec::new();
        if v.state == VersionState::Disabled {
            changes.push(next.schedule_destroy(version, now)?);
        }
        let outcome = match next.destroy(version, now, mode) {
            Ok(c) => {
                let forced = c.forced;
                changes.push(c);
                DestroyOutcome::Destroyed { forced }
            }
            Err(KeyringError::GraceNotElapsed { after, .. }) if !changes.is_empty() => {
                DestroyOutcome::Scheduled { after }
            }
            Err(e) => return Err(e),
        };
        *self = next;
        Ok((outcome, changes))
    }

    /// What [`Keyring::destroy_step`] would do now, without changing anything: for confirming
    /// with an operator before the change.
    ///
    /// # Errors
    /// As [`Keyring::destroy_step`].
    pub fn check_destroy(
        &self,
        version: u32,
        now: i64,
        mode: &Destroy,
    ) -> Result<DestroyOutcome, KeyringError> {
        self.clone()
            .destroy_step(version, now, mode)
            .map(|(outcome, _)| outcome)
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
        let min = self.record.min_encryption_version;
        if p.version < min {
            return Err(KeyringError::Key(KeyError::BelowMinEncryption {
                key_ref: KeyRef::new(name, p.version),
                min,
            }));
        }
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

    /// Records that rewrap moved `count` ciphertexts off `version` and the caller stored their
    /// replacements (the census [`Keyring::destroy`] compares with `uses`).
    ///
    /// # Errors
    /// [`KeyError::UnknownVersion`] for a version this keyring never had.
    pub fn record_moved(&mut self, version: u32, count: u64) -> Result<(), KeyringError> {
        let v = self.version_mut(version)?;
        v.moved = v.moved.saturating_add(count);
        self.bump();
        Ok(())
    }

    /// Gives back `count` seals reserved under `version` but never used (a process returning
    /// the rest of its block), so `uses` stays an upper bound but a tight one.
    ///
    /// # Errors
    /// [`KeyError::UnknownVersion`] for a version this keyring never had.
    pub fn release_uses(&mut self, version: u32, count: u64) -> Result<(), KeyringError> {
        let v = self.version_mut(version)?;
        v.uses = v.uses.saturating_sub(count);
        self.bump();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TrustError;
    use proptest::prelude::*;

    fn force() -> Destroy {
        Destroy::force("incident 42: v1 leaked").unwrap()
    }

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
        let changes = k.promote(2, 120).unwrap();
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
        let c = k.destroy(1, 140, &Destroy::IfUnused).unwrap();
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
            k.destroy(1, 1, &force()),
            Err(KeyringError::Transition { .. })
        ));
        assert!(matches!(
            k.schedule_destroy(1, 1),
            Err(KeyringError::Transition { .. })
        ));
    }

    #[test]
    fn staging_time_is_always_enforced() {
        let policy = Policy {
            min_stage_secs: 60,
            ..Policy::default()
        };
        let mut k = Keyring::new("a", Suite::Aes256Gcm, policy, 0, "AAAA".into()).unwrap();
        k.add_version(1000, "AAAA".into()).unwrap();
        assert_eq!(
            k.promote(2, 1059).unwrap_err(),
            KeyringError::StagingTooShort {
                key_ref: KeyRef::new("a", 2),
                ready_at: 1060
            }
        );
        k.promote(2, 1060).unwrap();
        // What `rotate` with an immediate rollout does: add, then promote at the same instant.
        // There is no way around the staging time any more.
        k.add_version(2000, "AAAA".into()).unwrap();
        assert!(matches!(
            k.promote(3, 2000),
            Err(KeyringError::StagingTooShort { ready_at: 2060, .. })
        ));
    }

    #[test]
    fn destroy_step_schedules_then_destroys_and_checks_first() {
        let policy = Policy {
            destroy_grace_secs: 10,
            ..Policy::default()
        };
        let mut k = Keyring::new("a", Suite::Aes256Gcm, policy, 0, "AAAA".into()).unwrap();
        k.reserve_uses(2).unwrap();
        k.add_version(1, "AAAA".into()).unwrap();
        k.promote(2, 1).unwrap();
        // DecryptOnly: not a destroyable state.
        assert!(matches!(
            k.check_destroy(1, 2, &Destroy::IfUnused),
            Err(KeyringError::Transition { .. })
        ));
        k.retire(1, 2).unwrap();
        // Live ciphertexts: refused, and nothing changes (not even scheduling).
        let before = k.clone();
        assert!(matches!(
            k.destroy_step(1, 3, &Destroy::IfUnused),
            Err(KeyringError::LiveCiphertexts {
                uses: 2,
                moved: 0,
                ..
            })
        ));
        assert_eq!(k, before);
        // Rewrap moved one of two: still refused; both: allowed.
        k.record_moved(1, 1).unwrap();
        assert!(k.check_destroy(1, 3, &Destroy::IfUnused).is_err());
        k.record_moved(1, 1).unwrap();
        assert_eq!(
            k.check_destroy(1, 3, &Destroy::IfUnused).unwrap(),
            DestroyOutcome::Scheduled { after: 13 }
        );
        let (outcome, changes) = k.destroy_step(1, 3, &Destroy::IfUnused).unwrap();
        assert_eq!(outcome, DestroyOutcome::Scheduled { after: 13 });
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].to, VersionState::PendingDestroy);
        assert!(matches!(
            k.destroy_step(1, 12, &Destroy::IfUnused),
            Err(KeyringError::GraceNotElapsed { after: 13, .. })
        ));
        let (outcome, changes) = k.destroy_step(1, 13, &Destroy::IfUnused).unwrap();
        assert_eq!(outcome, DestroyOutcome::Destroyed { forced: false });
        assert_eq!(changes[0].to, VersionState::Destroyed);
        assert!(!k.version(1).unwrap().destroy_forced);
    }

    #[test]
    fn forced_destruction_needs_and_keeps_a_reason() {
        assert!(Destroy::force("").is_err());
        assert!(Destroy::force("two\nlines").is_err());
        assert!(Destroy::force("x".repeat(201)).is_err());
        let mut k = ring();
        k.reserve_uses(1).unwrap();
        k.add_version(1, "AAAA".into()).unwrap();
        k.promote(2, 1).unwrap();
        k.retire(1, 1).unwrap();
        let (outcome, changes) = k.destroy_step(1, 2, &force()).unwrap();
        assert_eq!(outcome, DestroyOutcome::Destroyed { forced: true });
        let last = changes.last().unwrap();
        assert!(last.forced);
        assert_eq!(last.reason.as_deref(), Some("incident 42: v1 leaked"));
        // A forced mode on a version nothing needs is not recorded as forced.
        let mut k = ring();
        k.add_version(1, "AAAA".into()).unwrap();
        let c = k.destroy(2, 1, &force()).unwrap();
        assert!(!c.forced && c.reason.is_none());
    }

    #[test]
    fn minimum_versions_follow_vault_rules() {
        let mut k = ring();
        k.reserve_uses(1).unwrap();
        k.add_version(1, "AAAA".into()).unwrap();
        k.add_version(2, "AAAA".into()).unwrap();
        k.promote(2, 3).unwrap(); // v2 primary, v3 staged, v1 decrypt-only
        let bad = |k: &mut Keyring, c: ConfigChange| {
            let before = k.clone();
            assert!(
                matches!(k.configure(&c), Err(KeyringError::InvalidPolicy(_))),
                "{c:?}"
            );
            assert_eq!(*k, before);
        };
        bad(&mut k, ConfigChange::new().min_decryption_version(3)); // above the primary
        bad(&mut k, ConfigChange::new().min_encryption_version(4)); // above the latest
        bad(
            &mut k,
            ConfigChange::new()
                .min_decryption_version(2)
                .min_encryption_version(1),
        );
        bad(&mut k, ConfigChange::new().rotation_period_secs(Some(0)));
        k.configure(&ConfigChange::new().min_decryption_version(2))
            .unwrap();
        assert_eq!(
            k.check_decrypt(1).unwrap_err(),
            KeyError::BelowMinDecryption {
                key_ref: KeyRef::new("orders", 1),
                min: 2
            }
        );
        assert_eq!(
            KeyError::BelowMinDecryption {
                key_ref: KeyRef::new("orders", 1),
                min: 2
            }
            .category()
            .exit_code(),
            4
        );
        k.check_decrypt(2).unwrap();
        k.check_decrypt(3).unwrap();
        file::check(k.record()).unwrap();
        assert_eq!(k.record().format_version(), 2);
        // Sealing is refused while the primary is below the minimum encryption version.
        k.configure(&ConfigChange::new().min_encryption_version(3))
            .unwrap();
        assert!(matches!(
            k.reserve_uses(1),
            Err(KeyringError::Key(KeyError::BelowMinEncryption {
                min: 3,
                ..
            }))
        ));
        k.promote(3, 10).unwrap();
        k.reserve_uses(1).unwrap();
        // Lowering is allowed (reversible, like enable).
        k.configure(
            &ConfigChange::new()
                .min_decryption_version(0)
                .min_encryption_version(0),
        )
        .unwrap();
        k.check_decrypt(1).unwrap();
    }

    #[test]
    fn rotation_steps_for_schedulers() {
        let policy = Policy {
            max_age_secs: Some(100),
            min_stage_secs: 30,
            ..Policy::default()
        };
        let mut k = Keyring::new("a", Suite::Aes256Gcm, policy, 1000, "AAAA".into()).unwrap();
        assert_eq!(k.rotation_step(1099), RotationStep::NotDue);
        assert_eq!(k.rotation_step(1100), RotationStep::Rotate);
        k.add_version(1100, "AAAA".into()).unwrap();
        assert_eq!(
            k.rotation_step(1110),
            RotationStep::Wait {
                version: 2,
                ready_at: 1130
            }
        );
        assert_eq!(k.rotation_step(1130), RotationStep::Promote { version: 2 });
        k.promote(2, 1130).unwrap();
        assert_eq!(k.rotation_step(1131), RotationStep::NotDue);
        assert_eq!(k.rotation_step(1230), RotationStep::Rotate);
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
        k.promote(2, 1).unwrap();
        assert!(matches!(
            k.destroy(1, 2, &force()),
            Err(KeyringError::Transition { .. })
        ));
        k.retire(1, 2).unwrap();
        k.schedule_destroy(1, 3).unwrap();
        assert!(matches!(
            k.destroy(1, 12, &force()),
            Err(KeyringError::GraceNotElapsed { after: 13, .. })
        ));
        assert!(matches!(
            k.destroy(1, 13, &Destroy::IfUnused),
            Err(KeyringError::LiveCiphertexts {
                uses: 5,
                moved: 0,
                ..
            })
        ));
        let c = k.destroy(1, 13, &force()).unwrap();
        assert!(c.forced);
        assert!(k.version(1).unwrap().destroy_forced);
    }

    #[test]
    fn census_clears_the_live_guard() {
        let mut k = ring();
        k.reserve_uses(3).unwrap();
        k.add_version(1, "AAAA".into()).unwrap();
        assert!(k.record_census(2, 0, 1).is_err(), "staged");
        k.promote(2, 1).unwrap();
        assert!(k.record_census(2, 0, 1).is_err(), "primary");
        k.record_census(1, 4, 2).unwrap();
        k.retire(1, 2).unwrap();
        k.schedule_destroy(1, 2).unwrap();
        assert!(matches!(
            k.destroy(1, 2, &Destroy::IfUnused),
            Err(KeyringError::LiveCiphertexts { .. })
        ));
        k.record_census(1, 0, 3).unwrap();
        assert!(!k.destroy(1, 3, &Destroy::IfUnused).unwrap().forced);
    }

    #[test]
    fn staged_versions_can_be_aborted() {
        let mut k = ring();
        k.add_version(1, "AAAA".into()).unwrap();
        assert_eq!(
            k.destroy(2, 1, &Destroy::IfUnused).unwrap().from,
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
        k.promote(2, 1).unwrap();
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
        DestroyStep(u32, bool),
        Use(u64),
        Moved(u32, u64),
        MinDecryption(u32),
        MinEncryption(u32),
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
            ((1u32..8), any::<bool>()).prop_map(|(v, f)| Op::DestroyStep(v, f)),
            (1u64..5).prop_map(Op::Use),
            ((1u32..8), (1u64..5)).prop_map(|(v, n)| Op::Moved(v, n)),
            (0u32..8).prop_map(Op::MinDecryption),
            (0u32..8).prop_map(Op::MinEncryption),
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
                    Op::Promote(v) => k.promote(v, now).map(drop),
                    Op::Retire(v) => k.retire(v, now).map(drop),
                    Op::Enable(v) => k.enable(v, now).map(drop),
                    Op::Schedule(v) => k.schedule_destroy(v, now).map(drop),
                    Op::Cancel(v) => k.cancel_destroy(v, now).map(drop),
                    Op::Destroy(v, f) => {
                        let mode = if f { force() } else { Destroy::IfUnused };
                        let live = before.version(v).is_some_and(VersionRecord::may_have_live_ciphertexts);
                        k.destroy(v, now, &mode).map(|c| {
                            // Without the override, nothing known to be needed is destroyed.
                            assert!(f || !live);
                            assert_eq!(c.forced, live);
                            destroyed.insert(c.version);
                        })
                    }
                    Op::DestroyStep(v, f) => {
                        let mode = if f { force() } else { Destroy::IfUnused };
                        let live = before.version(v).is_some_and(VersionRecord::may_have_live_ciphertexts);
                        let predicted = before.check_destroy(v, now, &mode);
                        let res = k.destroy_step(v, now, &mode);
                        // The check and the act agree.
                        assert_eq!(predicted.as_ref().ok(), res.as_ref().ok().map(|(o, _)| o));
                        res.map(|(outcome, _)| {
                            assert!(f || !live);
                            if matches!(outcome, DestroyOutcome::Destroyed { .. }) {
                                destroyed.insert(v);
                            }
                        })
                    }
                    Op::Use(n) => k.reserve_uses(n).map(drop),
                    Op::Moved(v, n) => k.record_moved(v, n),
                    Op::MinDecryption(v) => k.configure(&ConfigChange::new().min_decryption_version(v)),
                    Op::MinEncryption(v) => k.configure(&ConfigChange::new().min_encryption_version(v)),
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
