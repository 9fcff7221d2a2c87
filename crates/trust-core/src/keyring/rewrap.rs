//! Moving many messages to the current Primary: idempotent, resumable, per-item results, and
//! a census of what was moved.
//!
//! After `rotate` + `promote`, old messages still name the previous version. A [`Rewrapper`]
//! walks any number of them (database column tokens, blobs, files) and gives each a new
//! wrapped data key under its keyring's current Primary with the envelope's rewrap (body
//! byte-identical, no plaintext exposed). It is built for long jobs over live data:
//!
//! * **Idempotent**: an item already under the Primary is reported [`ItemStatus::Current`]
//!   after a header parse only — no unwrap, no use counted, nothing to write back.
//! * **Resumable**: results are handed back one by one, so the caller persists each (or each
//!   batch) as it goes; after a crash, re-running the same input only does the rest.
//! * **Per-item results**: a failure (tampered item, disabled key) is recorded for that item
//!   and the batch goes on.
//! * **Census**: once the caller has stored a replacement it tells the rewrapper
//!   ([`Rewrapper::stored`]; [`Rewrapper::batch`] does it after each successful callback), and
//!   [`Rewrapper::finish`] adds the counts to each keyring's record, per version, with
//!   compare-and-swap. [`super::Keyring::destroy`] compares them with the seals the version
//!   counted: once rewrap moved off a version as many ciphertexts as it ever sealed, it can be
//!   destroyed without an override. A replacement that was not stored is never counted, so a
//!   crash can only leave the census short (destroy then still refuses), never long.
//! * **Data subjects**: with [`Rewrapper::with_subjects`], messages sealed for a data subject
//!   are rewrapped too, keeping their subject: the subject's key record is moved to the
//!   Primary (and counted in the census), then the message names the new version.
//!
//! What the census cannot know: copies. A ciphertext copied elsewhere (a backup, a replica
//! that rewrap did not walk) still needs the old version after its original was moved; and a
//! copy rewrapped as well counts twice. Rewrap every store once, and keep backups' retention
//! shorter than the time to destruction (docs/operator-guide.md).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};

use super::{Home, KeyringError};
use crate::envelope::{self, Context, EnvelopeError, RewrapOutcome};
use crate::error::{Category, TrustError};
use crate::gdpr::GdprError;
use crate::gdpr::subject::{SubjectKeyStore, SubjectKeys};
use crate::provider::{EncryptionKey, KeyError, KeyProvider, KeyRef};

/// One sealed item to move.
#[derive(Clone, Debug)]
pub enum Sealed {
    /// A binary envelope with its context stored inside.
    Envelope(Vec<u8>),
    /// A `tle1.` text token and the context it was sealed with (tokens do not store it).
    Token {
        /// The token.
        token: String,
        /// Its context.
        context: Context,
    },
}

/// What happened to one item.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemStatus {
    /// It now has a new wrapped key under `to`; store [`ItemResult::replacement`].
    Rewrapped {
        /// The version it was under.
        from: KeyRef,
        /// The Primary it is under now.
        to: KeyRef,
    },
    /// It was already under its keyring's Primary; nothing to store.
    Current {
        /// That Primary.
        key_ref: KeyRef,
    },
    /// It could not be rewrapped; the item is unchanged.
    Failed {
        /// The version it names, when its header could be read.
        key_ref: Option<KeyRef>,
        /// The error's category (decides the CLI exit code).
        category: Category,
        /// The error's stable code.
        code: &'static str,
        /// One line, no secrets.
        message: String,
    },
}

/// The result for one item, in input order.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ItemResult<Id> {
    /// The caller's identifier of the item (row id, file name).
    pub id: Id,
    /// What happened.
    pub status: ItemStatus,
    /// The new item to store in place of the old one, for [`ItemStatus::Rewrapped`].
    pub replacement: Option<Sealed>,
}

/// Totals of a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchSummary {
    /// Items given a new wrapped key.
    pub rewrapped: u64,
    /// Items already current (skipped).
    pub current: u64,
    /// Items that failed.
    pub failed: u64,
    /// Per version, the items still under it that are not its keyring's Primary (failed
    /// items whose header named a version).
    pub remaining: BTreeMap<KeyRef, u64>,
}

fn failed(key_ref: Option<KeyRef>, e: &dyn TrustError) -> ItemStatus {
    ItemStatus::Failed {
        key_ref,
        category: e.category(),
        code: e.code(),
        message: e.to_string(),
    }
}

/// The subject-key layer, as rewrap needs it: implemented by [`SubjectKeys`].
pub trait SubjectRewrap: KeyProvider {
    /// Moves subject `tag`'s key record under keyring version `primary` if it is older, and
    /// returns the key to rewrap the subject's messages under, with the keyring versions
    /// records were moved off (see [`SubjectKeys::rewrap_subject`]).
    ///
    /// # Errors
    /// [`KeyError`] when the subject is erased or a key cannot be had.
    fn rewrap_subject_target(
        &self,
        keyring: &str,
        tag: &str,
        primary: u32,
    ) -> Result<(EncryptionKey, Vec<u32>), KeyError>;

    /// Moves the keyring's own records that are not tied to one message (the pseudonym key)
    /// under keyring version `primary`; returns the versions they were moved off.
    ///
    /// # Errors
    /// [`KeyError`] when a key cannot be had.
    fn rewrap_keyring_records(&self, keyring: &str, primary: u32) -> Result<Vec<u32>, KeyError>;
}

fn gdpr_key_error(e: GdprError) -> KeyError {
    match e {
        GdprError::Key(k) => k,
        other => KeyError::Backend {
            reason: other.to_string(),
        },
    }
}

impl<P: KeyProvider, S: SubjectKeyStore> SubjectRewrap for SubjectKeys<P, S> {
    fn rewrap_subject_target(
        &self,
        keyring: &str,
        tag: &str,
        primary: u32,
    ) -> Result<(EncryptionKey, Vec<u32>), KeyError> {
        self.rewrap_subject(keyring, tag, primary)
            .map_err(gdpr_key_error)
    }

    fn rewrap_keyring_records(&self, keyring: &str, primary: u32) -> Result<Vec<u32>, KeyError> {
        Ok(self
            .rewrap_pseudonym_key(keyring, primary)
            .map_err(gdpr_key_error)?
            .into_iter()
            .collect())
    }
}

/// A rewrap job over one home: moves items to their keyring's Primary and keeps the census.
/// See the module docs.
pub struct Rewrapper<'a> {
    home: &'a Home,
    subjects: Option<&'a dyn SubjectRewrap>,
    moved: BTreeMap<String, BTreeMap<u32, u64>>,
    /// Keyrings whose own records (the pseudonym key) this job has moved already.
    swept: RefCell<BTreeSet<String>>,
}

impl core::fmt::Debug for Rewrapper<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Rewrapper")
            .field("subjects", &self.subjects.is_some())
            .field("moved", &self.moved)
            .finish_non_exhaustive()
    }
}

impl<'a> Rewrapper<'a> {
    /// A job over `home`'s keyrings. Messages sealed for a data subject fail
    /// ([`EnvelopeError::SubjectMismatch`]) unless [`Rewrapper::with_subjects`] is given.
    pub fn new(home: &'a Home) -> Self {
        Self {
            home,
            subjects: None,
            moved: BTreeMap::new(),
            swept: RefCell::new(BTreeSet::new()),
        }
    }

    /// Also rewraps messages sealed for data subjects, through `subjects` (built over the
    /// same home).
    #[must_use]
    pub fn with_subjects(mut self, subjects: &'a dyn SubjectRewrap) -> Self {
        self.subjects = Some(subjects);
        self
    }

    fn provider(&self) -> &dyn KeyProvider {
        match self.subjects {
            Some(s) => s as &dyn KeyProvider,
            None => self.home,
        }
    }

    /// Once per keyring and job: moves the keyring's pseudonym-key record to the Primary, so
    /// that the old version is not held by it. Best effort: when it cannot be moved (its
    /// version already retired), the census stays short and destroy keeps refusing, which is
    /// safe; the items themselves are not failed for it.
    fn sweep(&self, keyring: &str) {
        let Some(subjects) = self.subjects else {
            return;
        };
        if !self.swept.borrow_mut().insert(keyring.to_owned()) {
            return;
        }
        let Ok(primary) = self.home.primary(keyring) else {
            return;
        };
        if let Ok(moved_off) = subjects.rewrap_keyring_records(keyring, primary.version) {
            let _ = self.record_records_moved(keyring, moved_off);
        }
    }

    fn record_records_moved(&self, keyring: &str, moved_off: Vec<u32>) -> Result<(), KeyError> {
        if moved_off.is_empty() {
            return Ok(());
        }
        let mut counts = BTreeMap::new();
        for v in moved_off {
            *counts.entry(v).or_insert(0u64) += 1;
        }
        self.home
            .record_moved(keyring, &counts)
            .map_err(|e| KeyError::Backend {
                reason: e.to_string(),
            })
    }

    /// The key a message now under `from` moves to. For a subject's message this first moves
    /// the subject's key record to the Primary, and counts that move in the census at once
    /// (the record is stored by then).
    fn target(&self, from: &KeyRef) -> Result<EncryptionKey, EnvelopeError> {
        self.sweep(&from.keyring);
        let Some(tag) = &from.subject else {
            return Ok(self.home.encryption_key(&from.keyring)?);
        };
        let subjects = self.subjects.ok_or(EnvelopeError::SubjectMismatch)?;
        let primary = self
            .home
            .primary(&from.keyring)
            .map_err(KeyringError::into_key_error)?;
        let (key, moved_off) =
            subjects.rewrap_subject_target(&from.keyring, tag, primary.version)?;
        self.record_records_moved(&from.keyring, moved_off)?;
        Ok(key)
    }

    /// True when `from` is already its keyring's Primary (a plain message: nothing to do,
    /// nothing unwrapped, no use counted).
    fn is_current(&self, from: &KeyRef) -> Result<bool, KeyringError> {
        Ok(from.subject.is_none() && self.home.primary(&from.keyring)? == *from)
    }

    /// True when a ciphertext under `key_ref` (from its header, [`envelope::inspect`] or
    /// [`envelope::inspect_token`]) is under its keyring's current Primary version — for a
    /// subject's message, names that version. Reads headers only: nothing is unwrapped,
    /// counted or recorded, so a check pass over a database export can never move the census.
    ///
    /// # Errors
    /// [`KeyringError`] when the keyring cannot be read.
    pub fn is_up_to_date(&self, key_ref: &KeyRef) -> Result<bool, KeyringError> {
        Ok(self.home.primary(&key_ref.keyring)?.version == key_ref.version)
    }

    /// Rewraps one item under its keyring's current Primary. Store the replacement, then call
    /// [`Rewrapper::stored`] with the `from` of [`ItemStatus::Rewrapped`].
    pub fn item(&self, item: &Sealed) -> (ItemStatus, Option<Sealed>) {
        let info = match item {
            Sealed::Envelope(bytes) => envelope::inspect(bytes),
            Sealed::Token { token, .. } => envelope::inspect_token(token),
        };
        let from = match info {
            Ok(info) => info.key_ref,
            Err(e) => return (failed(None, &e), None),
        };
        self.sweep(&from.keyring);
        match self.is_current(&from) {
            Ok(true) => return (ItemStatus::Current { key_ref: from }, None),
            Ok(false) => {}
            Err(e) => return (failed(Some(from), &e), None),
        }
        let provider = self.provider();
        let result = match item {
            Sealed::Envelope(bytes) => self.target(&from).and_then(|target| {
                envelope::rewrap_with(provider, &target, None, bytes).map(|r| {
                    let replacement = r.changed.then_some(Sealed::Envelope(r.envelope));
                    (r.from, r.to, replacement)
                })
            }),
            Sealed::Token { token, context } => {
                envelope::rewrap_token_with(provider, |f| self.target(f), context, token).map(|r| {
                    let replacement = r.changed.then(|| Sealed::Token {
                        token: r.token,
                        context: context.clone(),
                    });
                    (r.from, r.to, replacement)
                })
            }
        };
        match result {
            Ok((from, to, Some(replacement))) => {
                (ItemStatus::Rewrapped { from, to }, Some(replacement))
            }
            Ok((_, to, None)) => (ItemStatus::Current { key_ref: to }, None),
            Err(e) => (failed(Some(from), &e), None),
        }
    }

    /// Rewraps a binary envelope read from `reader` into `writer` (constant memory; see
    /// [`envelope::rewrap_stream`]). When `changed`, store what was written, then call
    /// [`Rewrapper::stored`] with `from`.
    ///
    /// # Errors
    /// As [`envelope::rewrap_stream`].
    pub fn stream<R: Read, W: Write>(
        &self,
        reader: R,
        writer: W,
    ) -> Result<RewrapOutcome, EnvelopeError> {
        envelope::rewrap_stream_with(self.provider(), |f| self.target(f), reader, writer)
    }

    /// Counts a ciphertext moved off `from` whose replacement the caller has stored. (A
    /// subject's message is counted through its key record instead, when that moves.)
    pub fn stored(&mut self, from: &KeyRef) {
        if from.subject.is_some() {
            return;
        }
        *self
            .moved
            .entry(from.keyring.clone())
            .or_default()
            .entry(from.version)
            .or_default() += 1;
    }

    /// The counts not yet recorded: keyring → version → ciphertexts moved.
    pub fn pending_census(&self) -> &BTreeMap<String, BTreeMap<u32, u64>> {
        &self.moved
    }

    /// Records the census in each keyring (one compare-and-swap per keyring, one `key.census`
    /// event per version). Call it at the end of the job, and at checkpoints of a long one.
    ///
    /// # Errors
    /// Store or audit failures; counts not yet recorded stay pending (and are retried by the
    /// next call).
    pub fn finish(&mut self) -> Result<(), KeyringError> {
        while let Some((name, counts)) = self.moved.pop_first() {
            if let Err(e) = self.home.record_moved(&name, &counts) {
                self.moved.insert(name, counts);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Rewraps every item of `items`, handing each result to `on_result` as soon as it is
    /// known (persist it there); an `Ok` from `on_result` counts a rewrapped item in the
    /// census. Stops early only when `on_result` returns an error, which is passed through;
    /// item failures do not stop the batch. Call [`Rewrapper::finish`] afterwards (also after
    /// an early stop: what was stored is counted).
    ///
    /// # Errors
    /// Whatever `on_result` returns.
    pub fn batch<Id, I, E>(
        &mut self,
        items: I,
        mut on_result: impl FnMut(ItemResult<Id>) -> Result<(), E>,
    ) -> Result<BatchSummary, E>
    where
        I: IntoIterator<Item = (Id, Sealed)>,
    {
        let mut summary = BatchSummary::default();
        for (id, item) in items {
            let (status, replacement) = self.item(&item);
            let moved = match &status {
                ItemStatus::Rewrapped { from, .. } => {
                    summary.rewrapped += 1;
                    Some(from.clone())
                }
                ItemStatus::Current { .. } => {
                    summary.current += 1;
                    None
                }
                ItemStatus::Failed { key_ref, .. } => {
                    summary.failed += 1;
                    if let Some(k) = key_ref {
                        *summary.remaining.entry(k.clone()).or_default() += 1;
                    }
                    None
                }
            };
            on_result(ItemResult {
                id,
                status,
                replacement,
            })?;
            if let Some(from) = moved {
                self.stored(&from);
            }
        }
        Ok(summary)
    }
}

/// Rewraps one item under its keyring's current Primary, without census (see [`Rewrapper`]).
pub fn rewrap_item(home: &Home, item: &Sealed) -> (ItemStatus, Option<Sealed>) {
    Rewrapper::new(home).item(item)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;

    use super::*;
    use crate::gdpr::subject::MemoryStore as SubjectStore;
    use crate::keyring::{Destroy, DestroyOutcome, MemoryStore, Policy, Rollout};
    use crate::provider::Suite;
    use crate::root::LocalRootKey;
    use crate::secret::Key256;

    fn home() -> Home {
        let root = Arc::new(LocalRootKey::new(&Key256::generate().unwrap()));
        let home = Home::from_parts(root, Arc::new(MemoryStore::new())).with_options(
            crate::keyring::HomeOptions {
                usage_block: 1,
                ..Default::default()
            },
        );
        home.create_keyring("t", Suite::Aes256Gcm, Policy::default())
            .unwrap();
        home
    }

    fn v(n: u32) -> KeyRef {
        KeyRef::new("t", n)
    }

    #[test]
    fn batch_is_idempotent_resumable_and_per_item() {
        let home = home();
        let ctx = |i: usize| Context::new().with("row", &i.to_string()).unwrap();
        let mut rows: Vec<Sealed> = (0..6)
            .map(|i| Sealed::Token {
                token: envelope::seal_token(&home, "t", &ctx(i), format!("secret-{i}").as_bytes())
                    .unwrap(),
                context: ctx(i),
            })
            .collect();
        rows.push(Sealed::Envelope(
            envelope::seal(&home, "t", &ctx(99), b"blob").unwrap(),
        ));
        rows.push(Sealed::Envelope(b"garbage".to_vec()));
        let before = rows.clone();
        home.rotate("t", Rollout::Immediate).unwrap();

        // First run "crashes" after persisting three results.
        let mut persisted = 0;
        let mut job = Rewrapper::new(&home);
        let crash = job.batch(rows.clone().into_iter().enumerate(), |r| {
            if persisted == 3 {
                return Err("crash");
            }
            if let Some(new) = r.replacement {
                rows[r.id] = new;
            }
            persisted += 1;
            Ok(())
        });
        assert_eq!(crash.unwrap_err(), "crash");
        // Only what was stored is counted: three, not the fourth rewrapped but unstored one.
        assert_eq!(job.pending_census()["t"][&1], 3);
        job.finish().unwrap();
        assert_eq!(home.keyring("t").unwrap().version(1).unwrap().moved, 3);

        // The re-run skips what was done and finishes the rest.
        let mut job = Rewrapper::new(&home);
        let summary = job
            .batch(rows.clone().into_iter().enumerate(), |r| {
                if let Some(new) = r.replacement {
                    rows[r.id] = new;
                }
                Ok::<(), Infallible>(())
            })
            .unwrap();
        job.finish().unwrap();
        assert_eq!(summary.current, 3);
        assert_eq!(summary.rewrapped, 4);
        assert_eq!(summary.failed, 1);
        assert!(summary.remaining.is_empty(), "garbage names no version");
        let ring = home.keyring("t").unwrap();
        assert_eq!(ring.version(1).unwrap().moved, 7);
        assert_eq!(ring.version(1).unwrap().uses, 7);

        // Every item opens under v2 now, bodies unchanged, plaintext the same.
        home.retire(&v(1)).unwrap();
        for (i, (old, new)) in before.iter().zip(&rows).enumerate().take(7) {
            match (old, new) {
                (Sealed::Token { token: a, .. }, Sealed::Token { token: b, context }) => {
                    assert_eq!(envelope::inspect_token(b).unwrap().key_ref.version, 2);
                    assert_ne!(a, b);
                    assert_eq!(
                        &envelope::open_token(&home, context, b).unwrap()[..],
                        format!("secret-{i}").as_bytes()
                    );
                }
                (Sealed::Envelope(a), Sealed::Envelope(b)) => {
                    let (ha, hb) = (envelope::inspect(a).unwrap(), envelope::inspect(b).unwrap());
                    assert_eq!(a[a.len() - 40..], b[b.len() - 40..], "body byte-identical");
                    assert_eq!(hb.key_ref.version, 2);
                    assert_eq!(ha.context, hb.context);
                    assert_eq!(&envelope::open(&home, &ctx(99), b).unwrap()[..], b"blob");
                }
                _ => unreachable!(),
            }
        }

        // A third run finds nothing to do and counts nothing.
        let mut job = Rewrapper::new(&home);
        let again = job
            .batch(rows.into_iter().enumerate(), |_| Ok::<(), Infallible>(()))
            .unwrap();
        assert_eq!((again.rewrapped, again.current, again.failed), (0, 7, 1));
        assert!(job.pending_census().is_empty());

        // Everything v1 sealed was moved off it: destroy needs no override.
        assert_eq!(
            home.destroy(&v(1), &Destroy::IfUnused).unwrap(),
            DestroyOutcome::Destroyed { forced: false }
        );
    }

    #[test]
    fn destroy_refuses_while_a_ciphertext_was_not_moved() {
        let home = home();
        let ctx = Context::new();
        let a = envelope::seal_token(&home, "t", &ctx, b"a").unwrap();
        let _b = envelope::seal_token(&home, "t", &ctx, b"b").unwrap();
        home.rotate("t", Rollout::Immediate).unwrap();
        let mut job = Rewrapper::new(&home);
        job.batch(
            [(
                0,
                Sealed::Token {
                    token: a,
                    context: ctx,
                },
            )],
            |_| Ok::<(), Infallible>(()),
        )
        .unwrap();
        job.finish().unwrap();
        home.retire(&v(1)).unwrap();
        let err = home.destroy(&v(1), &Destroy::IfUnused).unwrap_err();
        assert!(
            matches!(
                err,
                KeyringError::LiveCiphertexts {
                    uses: 2,
                    moved: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.category().exit_code(), 5);
        // Nothing changed: still Disabled, not even scheduled.
        let ring = home.keyring("t").unwrap();
        assert_eq!(
            ring.version(1).unwrap().state,
            crate::keyring::VersionState::Disabled
        );
    }

    #[test]
    fn failures_are_counted_per_version() {
        let home = home();
        let ctx = Context::new();
        let token = envelope::seal_token(&home, "t", &ctx, b"x").unwrap();
        home.rotate("t", Rollout::Immediate).unwrap();
        home.retire(&v(1)).unwrap();
        let summary = Rewrapper::new(&home)
            .batch(
                [(
                    0,
                    Sealed::Token {
                        token,
                        context: ctx,
                    },
                )],
                |r| {
                    assert!(matches!(
                        r.status,
                        ItemStatus::Failed {
                            code: "KEY_DISABLED",
                            ..
                        }
                    ));
                    Ok::<(), Infallible>(())
                },
            )
            .unwrap();
        assert_eq!(summary.remaining[&v(1)], 1);
    }

    #[test]
    fn subject_sealed_data_rewraps_with_its_subject_and_the_census_clears() {
        let home = home();
        let subjects = SubjectKeys::new(&home, SubjectStore::new());
        let ctx = Context::new().with("table", "customers").unwrap();
        let jane = subjects
            .seal_for_subject("t", "jane", &ctx, b"jane@example.com")
            .unwrap();
        let before = envelope::inspect(&jane).unwrap().key_ref;
        assert_eq!(before.version, 1);
        home.rotate("t", Rollout::Immediate).unwrap();

        // Without the subject layer: refused, as before.
        let (status, _) = Rewrapper::new(&home).item(&Sealed::Envelope(jane.clone()));
        assert!(matches!(
            status,
            ItemStatus::Failed {
                code: "SUBJECT_MISMATCH",
                ..
            }
        ));

        let mut job = Rewrapper::new(&home).with_subjects(&subjects);
        let (status, replacement) = job.item(&Sealed::Envelope(jane.clone()));
        let ItemStatus::Rewrapped { from, to } = status else {
            panic!("{status:?}")
        };
        assert_eq!(from, before);
        assert_eq!((to.version, &to.subject), (2, &before.subject));
        let Some(Sealed::Envelope(moved)) = replacement else {
            panic!()
        };
        job.stored(&from);
        job.finish().unwrap();
        // Idempotent.
        assert!(matches!(
            job.item(&Sealed::Envelope(moved.clone())).0,
            ItemStatus::Current { .. }
        ));

        // v1 wrapped the pseudonym key and jane's key: both records moved, both counted.
        let ring = home.keyring("t").unwrap();
        assert_eq!(ring.version(1).unwrap().uses, 2);
        assert_eq!(ring.version(1).unwrap().moved, 2);
        home.retire(&v(1)).unwrap();
        assert_eq!(
            home.destroy(&v(1), &Destroy::IfUnused).unwrap(),
            DestroyOutcome::Destroyed { forced: false }
        );
        // Still readable, still the subject's (and erasable as such).
        assert_eq!(
            &subjects.open_for_subject(&ctx, &moved).unwrap()[..],
            b"jane@example.com"
        );
        assert_eq!(
            envelope::inspect(&moved).unwrap().key_ref.subject,
            before.subject
        );
        let (signer, _) = crate::gdpr::signing::Signer::generate().unwrap();
        let opts = crate::gdpr::subject::EraseOptions {
            request: None,
            actor: None,
            at: "2026-02-01T00:00:00Z".parse().unwrap(),
            backup_retention: jiff::SignedDuration::from_hours(24),
        };
        subjects
            .erase("t", "jane", &opts, &signer, &crate::event::NoSink)
            .unwrap();
        assert!(subjects.open_for_subject(&ctx, &moved).is_err());
    }

    #[test]
    fn the_pseudonym_key_moves_with_plain_data() {
        let home = home();
        let subjects = SubjectKeys::new(&home, SubjectStore::new());
        // A pseudonym was computed (an export, an erasure request): v1 wraps the pseudonym key.
        let tag = subjects.subject_tag("t", "someone").unwrap();
        let ctx = Context::new();
        let token = envelope::seal_token(&home, "t", &ctx, b"x").unwrap();
        home.rotate("t", Rollout::Immediate).unwrap();
        assert_eq!(home.keyring("t").unwrap().version(1).unwrap().uses, 2);
        // Without the subject layer only the token moves: v1 is still held by the pseudonym key.
        let mut plain = Rewrapper::new(&home);
        let (status, _) = plain.item(&Sealed::Token {
            token: token.clone(),
            context: ctx.clone(),
        });
        let ItemStatus::Rewrapped { from, .. } = status else {
            panic!()
        };
        plain.stored(&from);
        plain.finish().unwrap();
        home.retire(&v(1)).unwrap();
        assert!(home.check_destroy(&v(1), &Destroy::IfUnused).is_err());
        home.enable(&v(1)).unwrap();
        // With it, the job also moves the keyring's pseudonym key (once), and v1 is free.
        let job = Rewrapper::new(&home).with_subjects(&subjects);
        let (status, _) = job.item(&Sealed::Token {
            token,
            context: ctx,
        });
        assert!(matches!(status, ItemStatus::Rewrapped { .. }), "{status:?}");
        let ring = home.keyring("t").unwrap();
        assert_eq!(ring.version(1).unwrap().moved, 2);
        home.retire(&v(1)).unwrap();
        home.destroy(&v(1), &Destroy::IfUnused).unwrap();
        // Pseudonyms are unchanged after the move (the key is the same, re-wrapped).
        subjects.clear_cache();
        assert_eq!(subjects.subject_tag("t", "someone").unwrap(), tag);
    }
}
