//! Moving many messages to the current Primary: idempotent, resumable, per-item results.
//!
//! After `rotate` + `promote`, old messages still name the previous version. [`rewrap_batch`]
//! walks any number of them (database column tokens, blobs) and gives each a new wrapped data
//! key under its keyring's current Primary with the envelope's rewrap (body byte-identical, no
//! plaintext exposed). It is built for long jobs over live data:
//!
//! * **Idempotent**: an item already under the Primary is reported [`ItemStatus::Current`]
//!   after a header parse only — no unwrap, no use counted, nothing to write back.
//! * **Resumable**: results are handed to a callback one by one, so the caller persists each
//!   (or each batch) as it goes; after a crash, re-running the same input only does the rest.
//! * **Per-item results**: a failure (tampered item, disabled key) is recorded for that item
//!   and the batch goes on.
//! * **Census**: [`BatchSummary::remaining`] counts, per key version, the items still not under
//!   their Primary after the batch. When a batch covered *every* store of a keyring and an old
//!   version's count is zero, [`super::Home::record_census`] records that, which lets
//!   `destroy` proceed without `force`.

use std::collections::BTreeMap;

use super::{Home, KeyringError};
use crate::envelope::{self, Context, EnvelopeError};
use crate::error::{Category, TrustError};
use crate::keys::KeyRef;

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

fn failed(key_ref: Option<KeyRef>, e: &EnvelopeError) -> ItemStatus {
    ItemStatus::Failed {
        key_ref,
        category: e.category(),
        code: e.code(),
        message: e.to_string(),
    }
}

/// Rewraps one item under its keyring's current Primary.
pub fn rewrap_item(home: &Home, item: &Sealed) -> (ItemStatus, Option<Sealed>) {
    let info = match item {
        Sealed::Envelope(bytes) => envelope::inspect(bytes),
        Sealed::Token { token, .. } => envelope::inspect_token(token),
    };
    let info = match info {
        Ok(info) => info,
        Err(e) => return (failed(None, &e), None),
    };
    let from = info.key_ref;
    if from.subject.is_none() {
        match home.primary(&from.keyring) {
            Ok(primary) if primary == from => {
                return (ItemStatus::Current { key_ref: from }, None);
            }
            Ok(_) => {}
            Err(KeyringError::Key(k)) => return (failed(Some(from), &k.into()), None),
            Err(e) => {
                let status = ItemStatus::Failed {
                    key_ref: Some(from),
                    category: e.category(),
                    code: e.code(),
                    message: e.to_string(),
                };
                return (status, None);
            }
        }
    }
    let result = match item {
        Sealed::Envelope(bytes) => envelope::rewrap(home, bytes).map(|r| {
            let replacement = r.changed.then_some(Sealed::Envelope(r.envelope));
            (r.from, r.to, replacement)
        }),
        Sealed::Token { token, context } => envelope::rewrap_token(home, context, token).map(|r| {
            let replacement = r.changed.then(|| Sealed::Token {
                token: r.token,
                context: context.clone(),
            });
            (r.from, r.to, replacement)
        }),
    };
    match result {
        Ok((from, to, Some(replacement))) => {
            (ItemStatus::Rewrapped { from, to }, Some(replacement))
        }
        Ok((_, to, None)) => (ItemStatus::Current { key_ref: to }, None),
        Err(e) => (failed(Some(from), &e), None),
    }
}

/// Rewraps every item of `items` under its keyring's current Primary, handing each result to
/// `on_result` as soon as it is known (persist it there). Stops early only when `on_result`
/// returns an error, which is passed through; item failures do not stop the batch.
///
/// # Errors
/// Whatever `on_result` returns.
pub fn rewrap_batch<Id, I, E>(
    home: &Home,
    items: I,
    mut on_result: impl FnMut(ItemResult<Id>) -> Result<(), E>,
) -> Result<BatchSummary, E>
where
    I: IntoIterator<Item = (Id, Sealed)>,
{
    let mut summary = BatchSummary::default();
    for (id, item) in items {
        let (status, replacement) = rewrap_item(home, &item);
        match &status {
            ItemStatus::Rewrapped { .. } => summary.rewrapped += 1,
            ItemStatus::Current { .. } => summary.current += 1,
            ItemStatus::Failed { key_ref, .. } => {
                summary.failed += 1;
                if let Some(k) = key_ref {
                    *summary.remaining.entry(k.clone()).or_default() += 1;
                }
            }
        }
        on_result(ItemResult {
            id,
            status,
            replacement,
        })?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;

    use super::*;
    use crate::kek::LocalRootKey;
    use crate::keyring::{MemoryStore, Policy};
    use crate::keys::Suite;
    use crate::secret::Key256;

    fn home() -> Home {
        let root = Arc::new(LocalRootKey::new(&Key256::generate().unwrap()));
        let home = Home::from_parts(root, Arc::new(MemoryStore::new()));
        home.create_keyring("t", Suite::Aes256Gcm, Policy::default())
            .unwrap();
        home
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
        home.rotate("t", true).unwrap();

        // First run "crashes" after persisting three results.
        let mut persisted = 0;
        let crash = rewrap_batch(&home, rows.clone().into_iter().enumerate(), |r| {
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

        // The re-run skips what was done and finishes the rest.
        let summary = rewrap_batch(&home, rows.clone().into_iter().enumerate(), |r| {
            if let Some(new) = r.replacement {
                rows[r.id] = new;
            }
            Ok::<(), Infallible>(())
        })
        .unwrap();
        assert_eq!(summary.current, 3);
        assert_eq!(summary.rewrapped, 4);
        assert_eq!(summary.failed, 1);
        assert!(summary.remaining.is_empty(), "garbage names no version");

        // Every item opens under v2 now, bodies unchanged, plaintext the same.
        home.retire("t", 1).unwrap();
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

        // A third run finds nothing to do.
        let again = rewrap_batch(&home, rows.into_iter().enumerate(), |_| {
            Ok::<(), Infallible>(())
        })
        .unwrap();
        assert_eq!((again.rewrapped, again.current, again.failed), (0, 7, 1));
    }

    #[test]
    fn failures_are_counted_per_version() {
        let home = home();
        let ctx = Context::new();
        let token = envelope::seal_token(&home, "t", &ctx, b"x").unwrap();
        home.rotate("t", true).unwrap();
        home.retire("t", 1).unwrap();
        let summary = rewrap_batch(
            &home,
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
        assert_eq!(summary.remaining[&KeyRef::new("t", 1)], 1);
    }
}
