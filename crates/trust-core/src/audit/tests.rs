//! End-to-end tests of the log: writer, recovery, verifier, tampering cases of the issue.
#![allow(clippy::cast_possible_truncation)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::*;
use crate::error::Category;
use crate::event::{Event, EventSink};
use crate::secret::ct_eq;
use proptest::prelude::*;

const ORIGIN: &str = "example.com/audit/test";

fn new_log(segment_bytes: u64) -> (tempfile::TempDir, PathBuf, Verifier) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut opts = InitOptions::new(ORIGIN);
    opts.segment_bytes = segment_bytes;
    let vkey = AuditLog::init(&dir, &opts).unwrap();
    (tmp, dir, vkey)
}

fn entry(i: u64) -> Entry {
    let mut e = Entry::new("test.event");
    e.time = Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(i));
    e.actor = Some(format!("operator-{}", i % 3));
    e.attrs.insert("n".into(), i.to_string());
    e
}

fn fill(dir: &Path, n: u64, checkpoint_every: u64) {
    let log = AuditLog::open(dir).unwrap();
    let mut i = 0;
    while i < n {
        let k = checkpoint_every.min(n - i);
        let batch: Vec<Entry> = (i..i + k).map(entry).collect();
        log.append_batch(&batch).unwrap();
        log.checkpoint().unwrap();
        i += k;
    }
}

fn verify(dir: &Path, vkey: &Verifier, pinned: Option<&str>) -> Report {
    let mut o = VerifyOptions::new(vec![vkey.clone()]);
    o.pinned = pinned.map(|p| p.as_bytes().to_vec());
    verify_log(dir, &o).unwrap()
}

fn kind(r: &Report) -> Option<FailureKind> {
    r.failure.as_ref().map(|f| f.kind)
}

fn segment_file(dir: &Path) -> PathBuf {
    store::list_segments(dir).unwrap()[0].path.clone()
}

/// Where the records of a segment end (a preallocated segment is longer than its data).
fn data_len(seg: &Path) -> usize {
    let bytes = fs::read(seg).unwrap();
    let version = segment::read_header(&bytes).unwrap().version;
    let (recs, _) = segment::parse_records_in(&bytes[segment::HEADER_LEN..], version);
    segment::HEADER_LEN + recs.last().map_or(0, |r| r.offset + r.encoded_len())
}

/// Overwrites `bytes` at `pos` in place, as a writer (or a crash) would: the file keeps its
/// length unless the write reaches past it.
fn write_at(path: &Path, pos: usize, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    let f = fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, pos as u64).unwrap();
}

/// Byte offsets of each record in a single-segment log.
fn record_offsets(dir: &Path) -> Vec<(usize, usize)> {
    let bytes = fs::read(segment_file(dir)).unwrap();
    let (recs, _) = segment::parse_records(&bytes[segment::HEADER_LEN..]);
    recs.iter()
        .map(|r| (segment::HEADER_LEN + r.offset, r.encoded_len()))
        .collect()
}

#[test]
fn intact_log_verifies_and_pins() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir, 50, 20);
    let r = verify(&dir, &vkey, None);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.entries, 50);
    assert_eq!(r.checkpoints_checked, 3);
    assert_eq!(r.latest_checkpoint.as_ref().unwrap().size, 50);
    let pin = r.pin.clone().unwrap();
    // Pinned state from the last run + more entries: still fine, pin advances.
    fill(&dir, 10, 10);
    let r2 = verify(&dir, &vkey, Some(&pin));
    assert!(r2.is_ok(), "{r2:?}");
    assert_eq!(r2.latest_checkpoint.unwrap().size, 60);
}

#[test]
fn event_sink_records_pseudonymized_events() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    let log = AuditLog::open(&dir).unwrap();
    let sink: &dyn EventSink = &log;
    sink.record(
        &Event::new("key.rotate", SystemTime::UNIX_EPOCH)
            .actor("alice@example.com")
            .subject("customer-42")
            .attr("key", "orders")
            .attr("version", 3),
    )
    .unwrap();
    sink.record(&Event::new("gdpr.erase", SystemTime::UNIX_EPOCH).subject("customer-42"))
        .unwrap();
    // Invalid kinds are refused, not silently rewritten.
    assert!(
        sink.record(&Event::new("Key Rotate", SystemTime::UNIX_EPOCH))
            .is_err()
    );
    assert_eq!(log.size().unwrap(), 2);
    let receipt = log.prove(0, None).unwrap();
    let (_, leaf) = receipt
        .verify(std::slice::from_ref(&vkey), Some(ORIGIN), None)
        .unwrap();
    assert_eq!(leaf.event_type, "key.rotate");
    assert_eq!(leaf.actor, Some(log.actor_pseudonym("alice@example.com")));
    assert_eq!(leaf.subject, Some(log.subject_pseudonym("customer-42")));
    assert_eq!(
        leaf.attrs,
        vec![
            ("key".into(), "orders".into()),
            ("version".into(), "3".into())
        ]
    );
    // No raw identifier reaches the segment bytes.
    drop(log);
    let seg = fs::read(segment_file(&dir)).unwrap();
    for raw in [&b"alice@example.com"[..], b"customer-42"] {
        assert!(!seg.windows(raw.len()).any(|w| w == raw));
    }
    assert!(verify(&dir, &vkey, None).is_ok());
}

#[test]
fn flip_any_byte_of_any_record_is_caught_at_its_index() {
    // Every byte of every record (four records: first, middle, last are all covered) and of the
    // header.
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir, 4, 4);
    let seg = segment_file(&dir);
    let original = fs::read(&seg).unwrap();
    let offsets = record_offsets(&dir);
    for (i, (start, len)) in offsets.iter().enumerate() {
        for b in *start..start + len {
            let mut bytes = original.clone();
            bytes[b] ^= 0x01;
            fs::write(&seg, &bytes).unwrap();
            let r = verify(&dir, &vkey, None);
            assert!(!r.is_ok(), "flip at byte {b} (entry {i}) not detected");
            if b >= start + 4 {
                // Leaf or stored hash: pinpointed exactly.
                assert_eq!(r.first_bad_index, Some(i as u64), "byte {b}: {r:?}");
            } else {
                // The length field: framing breaks at this entry or the checksum of this
                // entry fails.
                assert_eq!(r.first_bad_index, Some(i as u64), "len byte {b}: {r:?}");
            }
        }
    }
    // Header bytes.
    for b in 0..segment::HEADER_LEN {
        let mut bytes = original.clone();
        bytes[b] ^= 0x01;
        fs::write(&seg, &bytes).unwrap();
        let r = verify(&dir, &vkey, None);
        assert!(!r.is_ok(), "header byte {b}");
        assert_eq!(r.first_bad_index, Some(0));
    }
    fs::write(&seg, &original).unwrap();
    assert!(verify(&dir, &vkey, None).is_ok());
}

/// Rewrites entries `from..` of a single-segment log with a forger that does not have the
/// signing key: re-encodes leaves with fixed index/prev links and recomputed stored hashes.
fn relink(dir: &Path, leaves: Vec<Leaf>) {
    let seg = segment_file(dir);
    let mut out = segment::encode_header(0).to_vec();
    let mut prev = leaf::genesis_hash(ORIGIN);
    for (i, mut l) in leaves.into_iter().enumerate() {
        l.index = i as u64;
        l.prev_leaf_hash = prev;
        let bytes = l.encode().unwrap();
        let h = merkle::leaf_hash(&bytes);
        segment::encode_record(&mut out, &bytes, &h);
        prev = h;
    }
    fs::write(seg, out).unwrap();
}

fn read_leaves(dir: &Path) -> Vec<Leaf> {
    let bytes = fs::read(segment_file(dir)).unwrap();
    let (recs, _) = segment::parse_records(&bytes[segment::HEADER_LEN..]);
    recs.iter().map(|r| Leaf::decode(r.leaf).unwrap()).collect()
}

#[test]
fn deleted_entry_with_relinked_chain_is_root_mismatch_or_index_gap() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir, 8, 2);
    // Delete entry 5 and re-link everything after it (renumbered): chain is perfect, the tree
    // is not.
    let mut leaves = read_leaves(&dir);
    leaves.remove(5);
    relink(&dir, leaves);
    let r = verify(&dir, &vkey, None);
    assert_eq!(kind(&r), Some(FailureKind::RootMismatch), "{r:?}");
    assert_eq!(r.first_bad_index, Some(4)); // after the last good checkpoint (size 4)
    // Delete entry 5, keep index numbers (only re-link prev): INDEX_GAP at 5.
    let (_t2, dir2, vkey2) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir2, 8, 8);
    let leaves = read_leaves(&dir2);
    let seg = segment_file(&dir2);
    let mut out = segment::encode_header(0).to_vec();
    let mut prev = leaf::genesis_hash(ORIGIN);
    for (i, mut l) in leaves.into_iter().enumerate() {
        if i == 5 {
            continue;
        }
        l.prev_leaf_hash = prev;
        let bytes = l.encode().unwrap();
        let h = merkle::leaf_hash(&bytes);
        segment::encode_record(&mut out, &bytes, &h);
        prev = h;
    }
    fs::write(seg, out).unwrap();
    let r = verify(&dir2, &vkey2, None);
    assert_eq!(kind(&r), Some(FailureKind::IndexGap), "{r:?}");
    assert_eq!(r.first_bad_index, Some(5));
}

#[test]
fn swapped_entries_are_detected() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir, 8, 8);
    let seg = segment_file(&dir);
    let bytes = fs::read(&seg).unwrap();
    let offs = record_offsets(&dir);
    let (a, b) = (offs[2], offs[3]);
    let mut out = bytes[..a.0].to_vec();
    out.extend_from_slice(&bytes[b.0..b.0 + b.1]);
    out.extend_from_slice(&bytes[a.0..a.0 + a.1]);
    out.extend_from_slice(&bytes[b.0 + b.1..]);
    fs::write(&seg, out).unwrap();
    let r = verify(&dir, &vkey, None);
    assert_eq!(kind(&r), Some(FailureKind::IndexGap), "{r:?}");
    assert_eq!(r.first_bad_index, Some(2));
}

#[test]
fn altered_entry_with_recomputed_hash_is_a_chain_break() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir, 8, 8);
    let mut leaves = read_leaves(&dir);
    leaves[3].event_type = "forged.event".into();
    // Re-encode only entry 3 with its own stored hash; entry 4 still links to the old hash.
    let seg = segment_file(&dir);
    let mut out = segment::encode_header(0).to_vec();
    for l in &leaves {
        let bytes = l.encode().unwrap();
        segment::encode_record(&mut out, &bytes, &merkle::leaf_hash(&bytes));
    }
    fs::write(seg, out).unwrap();
    let r = verify(&dir, &vkey, None);
    assert_eq!(kind(&r), Some(FailureKind::ChainBreak), "{r:?}");
    assert_eq!(r.first_bad_index, Some(3));
}

#[test]
fn truncation_after_a_pinned_checkpoint_is_truncated() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir, 8, 8);
    let pin = verify(&dir, &vkey, None).pin.unwrap();
    // Truncate to 6 entries and delete the log's own checkpoints (an attacker would).
    let offs = record_offsets(&dir);
    let seg = segment_file(&dir);
    let bytes = fs::read(&seg).unwrap();
    fs::write(&seg, &bytes[..offs[6].0]).unwrap();
    for e in fs::read_dir(dir.join("checkpoints")).unwrap() {
        fs::remove_file(e.unwrap().path()).unwrap();
    }
    let r = verify(&dir, &vkey, Some(&pin));
    assert_eq!(kind(&r), Some(FailureKind::Truncated), "{r:?}");
    assert_eq!(r.first_bad_index, Some(6));
    assert_eq!(r.entries, 6);
}

#[test]
fn two_checkpoints_same_size_different_roots_is_a_fork() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir, 8, 8);
    // The log key signs a second, different size-8 checkpoint (a split view).
    let skey = fs::read_to_string(dir.join("signing.key")).unwrap();
    let signer = Signer::from_skey(skey.trim()).unwrap();
    let other = Checkpoint {
        origin: ORIGIN.into(),
        size: 8,
        root: [0x42; 32],
    }
    .sign(&signer)
    .unwrap();
    fs::write(
        dir.join("checkpoints")
            .join("cp-00000000000000000008-other.note"),
        &other,
    )
    .unwrap();
    let r = verify(&dir, &vkey, None);
    assert!(r.counts.contains_key("FORK"), "{r:?}");
    assert!(!r.is_ok());
    // And against a pinned checkpoint: a rewritten log re-signed with the same key.
    let (_t2, dir2, vkey2) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir2, 8, 8);
    let pin = verify(&dir2, &vkey2, None).pin.unwrap();
    let mut leaves = read_leaves(&dir2);
    leaves[2].event_type = "rewritten".into();
    relink(&dir2, leaves);
    for e in fs::read_dir(dir2.join("checkpoints")).unwrap() {
        fs::remove_file(e.unwrap().path()).unwrap();
    }
    fs::remove_file(dir2.join("tree.head")).ok();
    fs::write(dir2.join("tree.head"), "0\n").unwrap();
    AuditLog::open(&dir2).unwrap().checkpoint().unwrap();
    let r = verify(&dir2, &vkey2, Some(&pin));
    assert_eq!(kind(&r), Some(FailureKind::Fork), "{r:?}");
}

#[test]
fn bad_signature_and_unknown_key() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir, 4, 4);
    let other = Signer::generate(ORIGIN).unwrap();
    let r = verify(&dir, other.verifier(), None);
    assert_eq!(kind(&r), Some(FailureKind::BadSignature));
    let cp = fs::read_dir(dir.join("checkpoints"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = fs::read_to_string(&cp).unwrap();
    fs::write(&cp, text.replacen("\n4\n", "\n3\n", 1)).unwrap();
    let r = verify(&dir, &vkey, None);
    assert_eq!(kind(&r), Some(FailureKind::BadSignature));
    fs::write(&cp, "garbage").unwrap();
    let r = verify(&dir, &vkey, None);
    assert_eq!(kind(&r), Some(FailureKind::Malformed));
}

#[test]
fn torn_last_record_is_recovered_on_open() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir, 8, 8);
    let seg = segment_file(&dir);
    let whole = fs::read(&seg).unwrap();
    let end = data_len(&seg);
    assert!(whole.len() > end, "the segment is preallocated");
    write_at(&seg, end, &[0, 0, 0, 90, 1, 2, 3]); // an append cut short
    // Read-only verification sees an unacknowledged torn tail: reported, not a failure.
    let r = verify(&dir, &vkey, None);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.torn_tail_bytes, 7);
    // The writer zeroes it on open and appends after it.
    let log = AuditLog::open(&dir).unwrap();
    assert_eq!(fs::read(&seg).unwrap(), whole);
    log.append(&entry(8)).unwrap();
    log.checkpoint().unwrap();
    drop(log);
    let r = verify(&dir, &vkey, None);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.entries, 9);
}

#[test]
fn payloads_commit_and_redaction_is_not_tampering() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    let log = AuditLog::open(&dir).unwrap();
    let mut e = Entry::new("gdpr.export");
    e.subject = Some("customer-7".into());
    e.payload = Some(b"{\"email\":\"c7@example.com\"}".to_vec());
    let i = log.append(&e).unwrap();
    log.checkpoint().unwrap();
    assert!(verify(&dir, &vkey, None).is_ok());
    // Payload altered: PAYLOAD_MISMATCH.
    let p = store::payload_path(&dir, i);
    let orig = fs::read(&p).unwrap();
    let mut bad = orig.clone();
    *bad.last_mut().unwrap() ^= 1;
    fs::write(&p, &bad).unwrap();
    assert_eq!(
        kind(&verify(&dir, &vkey, None)),
        Some(FailureKind::PayloadMismatch)
    );
    // Payload padded far past its committed length: PAYLOAD_MISMATCH, read only to len + 1.
    let mut long = orig.clone();
    long.resize(orig.len() + 8 * 1024 * 1024, b'x');
    fs::write(&p, &long).unwrap();
    assert_eq!(
        kind(&verify(&dir, &vkey, None)),
        Some(FailureKind::PayloadMismatch)
    );
    fs::write(&p, &orig).unwrap();
    // Redacted: REDACTED counted, log still verifies.
    let t = log.redact(i, "gdpr-request-17").unwrap();
    log.checkpoint().unwrap();
    drop(log);
    let r = verify(&dir, &vkey, None);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.redacted, vec![i]);
    assert_eq!(r.counts.get("REDACTED"), Some(&1));
    assert_eq!(t, 1);
}

#[test]
fn multi_segment_logs_prove_and_verify() {
    let (_t, dir, vkey) = new_log(4096);
    fill(&dir, 300, 20);
    assert!(store::list_segments(&dir).unwrap().len() > 5);
    let r = verify(&dir, &vkey, None);
    assert!(r.is_ok(), "{r:?}");
    let log = AuditLog::open(&dir).unwrap();
    for i in [0, 99, 150, 299] {
        let rc = log.prove(i, None).unwrap();
        rc.verify(std::slice::from_ref(&vkey), Some(ORIGIN), None)
            .unwrap();
        let rc = log.prove(i.min(99), Some(100)).unwrap();
        rc.verify(std::slice::from_ref(&vkey), Some(ORIGIN), None)
            .unwrap();
    }
    let proof = log.consistency_proof(100, 300).unwrap();
    let cps = log.checkpoints().unwrap();
    let find = |n: u64| {
        cps.iter()
            .find(|c| c.checkpoint.size == n)
            .unwrap()
            .checkpoint
            .clone()
    };
    let (a, b) = (find(100), find(300));
    merkle::verify_consistency(a.size, b.size, &proof, &a.root, &b.root).unwrap();
    // A missing middle segment is an INDEX_GAP.
    drop(log);
    let segs = store::list_segments(&dir).unwrap();
    fs::remove_file(&segs[2].path).unwrap();
    let r = verify(&dir, &vkey, None);
    assert_eq!(kind(&r), Some(FailureKind::IndexGap), "{r:?}");
    assert_eq!(r.first_bad_index, Some(segs[2].first_index));
}

#[test]
fn open_errors_are_distinct_from_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let o = VerifyOptions::new(vec![]);
    assert!(matches!(
        verify_log(&tmp.path().join("missing"), &o),
        Err(AuditError::NotALog(_))
    ));
    assert!(matches!(
        AuditLog::init(tmp.path(), &InitOptions::new("bad origin")),
        Err(AuditError::BadOrigin)
    ));
    let (_t, dir, _) = new_log(DEFAULT_SEGMENT_BYTES);
    assert!(matches!(
        AuditLog::init(&dir, &InitOptions::new(ORIGIN)),
        Err(AuditError::AlreadyExists(_))
    ));
}

#[cfg(unix)]
#[test]
fn key_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    for f in ["signing.key", "pseudonym.key"] {
        let mode = fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let text = fs::read_to_string(dir.join("vkey")).unwrap();
    assert!(ct_eq(text.trim().as_bytes(), vkey.vkey().as_bytes()));
}

#[test]
fn concurrent_event_sinks_share_one_log() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    let log = std::sync::Arc::new(AuditLog::open(&dir).unwrap());
    std::thread::scope(|s| {
        for t in 0..4 {
            let log = log.clone();
            s.spawn(move || {
                for i in 0..25 {
                    log.record(
                        &Event::new("key.rotate", SystemTime::UNIX_EPOCH)
                            .attr("t", t)
                            .attr("i", i),
                    )
                    .unwrap();
                }
            });
        }
    });
    log.checkpoint().unwrap();
    drop(log);
    let r = verify(&dir, &vkey, None);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.entries, 100);
}

#[test]
fn parallel_and_sequential_verification_agree() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir, 5000, 777);
    let run = |threads: usize| {
        let mut o = VerifyOptions::new(vec![vkey.clone()]);
        o.threads = threads;
        verify_log(&dir, &o).unwrap()
    };
    let (a, b) = (run(1), run(2));
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    assert_eq!(a, b);
    assert_eq!(b.checkpoints_checked, 7);
    // A flip deep inside a parallel chunk is still pinpointed.
    let seg = segment_file(&dir);
    let offs = record_offsets(&dir);
    let mut bytes = fs::read(&seg).unwrap();
    bytes[offs[3333].0 + 10] ^= 4;
    fs::write(&seg, &bytes).unwrap();
    let (a, b) = (run(1), run(2));
    assert_eq!(a, b);
    assert_eq!(b.first_bad_index, Some(3333));
    assert_eq!(kind(&b), Some(FailureKind::LeafHashMismatch));
    assert!(b.counts.contains_key("ROOT_MISMATCH"));
}

#[test]
fn concurrent_batches_get_disjoint_contiguous_ranges() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    let log = std::sync::Arc::new(AuditLog::open(&dir).unwrap());
    let ranges = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (log, ranges) = (log.clone(), &ranges);
            s.spawn(move || {
                for k in 0..10u64 {
                    let batch: Vec<Entry> = (0..=(t + k) % 5).map(|i| entry(t * 100 + i)).collect();
                    let r = log.append_batch(&batch).unwrap();
                    assert_eq!(r.end - r.start, batch.len() as u64);
                    ranges.lock().unwrap().push(r);
                }
                // An invalid batch fails alone, without disturbing the others.
                assert!(log.append_batch(&[Entry::new("NOT VALID")]).is_err());
            });
        }
    });
    let mut ranges = ranges.into_inner().unwrap();
    ranges.sort_by_key(|r| r.start);
    let mut next = 0;
    for r in &ranges {
        assert_eq!(r.start, next);
        next = r.end;
    }
    assert_eq!(log.size().unwrap(), next);
    log.checkpoint().unwrap();
    drop(log);
    let r = verify(&dir, &vkey, None);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.entries, next);
}

#[test]
fn several_handles_share_one_log() {
    // Two handles stand for two processes (flock locks are per open file, so they exclude each
    // other exactly as processes do). Each must see the other's appends before writing.
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    let a = AuditLog::open(&dir).unwrap();
    let b = AuditLog::open(&dir).unwrap();
    for i in 0..10u64 {
        let (w, other) = if i % 3 == 0 { (&a, &b) } else { (&b, &a) };
        assert_eq!(w.append(&Entry::new("x.y")).unwrap(), i);
        assert_eq!(other.size().unwrap(), i + 1);
    }
    a.checkpoint().unwrap();
    b.append(&Entry::new("after.checkpoint")).unwrap();
    b.checkpoint().unwrap();
    assert_eq!(a.prove(10, None).unwrap().index, 10);
    drop((a, b));
    let r = verify(&dir, &vkey, None);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.entries, 11);
}

#[test]
fn a_held_lock_is_waited_for_then_reported_busy() {
    let (_t, dir, _) = new_log(DEFAULT_SEGMENT_BYTES);
    let log = AuditLog::open(&dir)
        .unwrap()
        .with_lock_wait(std::time::Duration::from_millis(50));
    let held = crate::durable::LockGuard::acquire(&dir.join(files::LOCK)).unwrap();
    let err = log.append(&Entry::new("x.y")).unwrap_err();
    assert_eq!(err.code(), "AUDIT_LOG_BUSY");
    assert_eq!(err.category(), Category::Input);
    assert!(matches!(
        AuditLog::open_with_lock_wait(&dir, std::time::Duration::ZERO),
        Err(AuditError::Store(StoreError::Busy { .. }))
    ));
    drop(held);
    assert_eq!(log.append(&Entry::new("x.y")).unwrap(), 0);
}

#[test]
fn a_torn_tail_left_by_another_writer_is_repaired_before_appending() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    let log = AuditLog::open(&dir).unwrap();
    log.append(&Entry::new("x.y")).unwrap();
    // Another process was killed halfway through writing a record.
    let seg = store::list_segments(&dir).unwrap()[0].path.clone();
    let mut f = fs::OpenOptions::new().append(true).open(&seg).unwrap();
    Write::write_all(&mut f, &[0, 0, 0, 200, 1, 2, 3]).unwrap();
    drop(f);
    assert_eq!(log.append(&Entry::new("x.y")).unwrap(), 1);
    log.checkpoint().unwrap();
    drop(log);
    let r = verify(&dir, &vkey, None);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.entries, 2);
}

#[test]
fn prove_refuses_a_receipt_that_does_not_verify() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir, 8, 8);
    let good = AuditLog::open(&dir).unwrap().prove(0, None).unwrap();
    good.verify(&[vkey], Some(ORIGIN), None).unwrap();
    // Node (0,1), the sibling of entry 0, is the second 32-byte node in post order.
    let nodes = dir.join("tree.nodes");
    let mut bytes = fs::read(&nodes).unwrap();
    bytes[32] ^= 1;
    fs::write(&nodes, &bytes).unwrap();
    let err = AuditLog::open(&dir).unwrap().prove(0, None).unwrap_err();
    assert_eq!(err.code(), "RECEIPT_SELF_CHECK_FAILED");
    assert_eq!(err.category(), Category::Verification);
}

#[test]
fn search_filters_by_index_event_pseudonym_and_time() {
    let (_t, dir, _) = new_log(300); // small segments: the search crosses several
    let log = AuditLog::open(&dir).unwrap();
    for i in 0..30u64 {
        let mut e = entry(i);
        if i % 5 == 0 {
            e.event_type = "key.rotate".into();
            e.subject = Some("customer-7".into());
        }
        log.append(&e).unwrap();
    }
    let collect = |q: &Query| {
        let mut out = Vec::new();
        search(&dir, q, |l| {
            out.push(l.index);
            true
        })
        .unwrap();
        out
    };
    assert_eq!(collect(&Query::all()).len(), 30);
    let q = Query {
        indexes: Some(12..=14),
        ..Query::all()
    };
    assert_eq!(collect(&q), vec![12, 13, 14]);
    let q = Query {
        event_type: Some("key.*".into()),
        ..Query::all()
    };
    assert_eq!(collect(&q), vec![0, 5, 10, 15, 20, 25]);
    let key = load_pseudonym_key(&dir.join(files::PSEUDONYM_KEY)).unwrap();
    let actor = |id: &str| {
        *key.pseudonym(crate::pseudonym::Domain::Actor, id)
            .as_bytes()
    };
    assert_eq!(log.actor_pseudonym("operator-1"), actor("operator-1"));
    let q = Query {
        actor: Some(actor("operator-1")),
        since_ms: Some(10_000),
        until_ms: Some(20_000),
        ..Query::all()
    };
    assert_eq!(collect(&q), vec![10, 13, 16, 19]);
    let q = Query {
        subject: Some(log.subject_pseudonym("customer-7")),
        ..Query::all()
    };
    assert_eq!(collect(&q).len(), 6);
    // A damaged entry is reported, not shown.
    drop(log);
    let seg = store::list_segments(&dir).unwrap()[0].path.clone();
    let mut bytes = fs::read(&seg).unwrap();
    bytes[segment::HEADER_LEN + 6] ^= 1;
    fs::write(&seg, &bytes).unwrap();
    let err = search(&dir, &Query::all(), |_| true).unwrap_err();
    assert_eq!(err.code(), "AUDIT_LOG_DAMAGED");
}

/// Damage the equivalence property applies to a log (see below).
#[derive(Clone, Debug)]
enum Damage {
    None,
    /// XOR `byte` into the data of a segment at a relative position.
    Flip(prop::sample::Index, u8),
    /// Cut a segment's file at a relative position of its data.
    Truncate(prop::sample::Index),
    /// Zero up to 300 bytes of data from a relative position.
    Zero(prop::sample::Index, usize),
    /// Non-zero bytes in the preallocated space after the last segment's data.
    Reservation(prop::sample::Index, u8),
    /// The first `k` bytes of a record where the last segment's data ends (a kill -9 mid-append).
    Torn(usize),
    /// A whole segment other than the first deleted.
    DropSegment(prop::sample::Index),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        Just(Damage::None),
        (any::<prop::sample::Index>(), 1u8..).prop_map(|(i, b)| Damage::Flip(i, b)),
        any::<prop::sample::Index>().prop_map(Damage::Truncate),
        (any::<prop::sample::Index>(), 1usize..300).prop_map(|(i, k)| Damage::Zero(i, k)),
        (any::<prop::sample::Index>(), 1u8..).prop_map(|(i, b)| Damage::Reservation(i, b)),
        (1usize..120).prop_map(Damage::Torn),
        any::<prop::sample::Index>().prop_map(Damage::DropSegment),
    ]
}

fn apply(dir: &Path, which: &prop::sample::Index, d: &Damage) {
    let segs = store::list_segments(dir).unwrap();
    let seg = &segs[which.index(segs.len())].path;
    let last = &segs[segs.len() - 1].path;
    let end = data_len(seg);
    let span = end - segment::HEADER_LEN;
    match d {
        Damage::None => {}
        Damage::Flip(i, b) => {
            let pos = segment::HEADER_LEN + i.index(span);
            let mut bytes = fs::read(seg).unwrap();
            bytes[pos] ^= b;
            write_at(seg, pos, &bytes[pos..=pos]);
        }
        Damage::Truncate(i) => {
            let f = fs::OpenOptions::new().write(true).open(seg).unwrap();
            f.set_len((segment::HEADER_LEN + i.index(span)) as u64)
                .unwrap();
        }
        Damage::Zero(i, k) => {
            let pos = segment::HEADER_LEN + i.index(span);
            write_at(seg, pos, &vec![0; (*k).min(end - pos)]);
        }
        Damage::Reservation(i, b) => {
            let end = data_len(last);
            let len = fs::metadata(last).unwrap().len() as usize;
            if len > end {
                write_at(last, end + i.index(len - end), &[*b]);
            }
        }
        Damage::Torn(k) => {
            let end = data_len(last);
            let mut rec = Vec::new();
            let leaf = vec![0x41; 90];
            segment::encode_record(&mut rec, &leaf, &merkle::leaf_hash(&leaf));
            write_at(last, end, &rec[..(*k).min(rec.len() - 1)]);
        }
        Damage::DropSegment(i) => {
            if segs.len() > 1 {
                fs::remove_file(&segs[1 + i.index(segs.len() - 1)].path).unwrap();
            }
        }
    }
}

proptest::proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// The pipelined, chunked and parallel verifier says exactly what the plain sequential
    /// one (one thread, one 1 MiB buffer, which these small logs fit in) says — same report,
    /// same first failure, same counts — on random logs with random damage, whatever the
    /// buffer size and thread count.
    #[test]
    fn chunked_parallel_verification_matches_the_sequential_reference(
        n in 1u64..700,
        every in 1u64..300,
        segment_bytes in prop::sample::select(vec![700u64, 4096, 30_000, DEFAULT_SEGMENT_BYTES]),
        which in any::<prop::sample::Index>(),
        d in damage(),
        chunk in 1usize..5000,
        threads in 1usize..4,
    ) {
        let (_t, dir, vkey) = new_log(segment_bytes);
        fill(&dir, n, every);
        apply(&dir, &which, &d);
        let o = VerifyOptions::new(vec![vkey.clone()]);
        let mut seq = VerifyOptions::new(vec![vkey]);
        seq.threads = 1;
        let reference = verify::verify_log_tuned(&dir, &seq, verify::Tuning {
            read_chunk: 1 << 20,
            min_parallel: usize::MAX,
        })
        .unwrap();
        let mut par = o;
        par.threads = threads;
        let tuned = verify::verify_log_tuned(&dir, &par, verify::Tuning {
            read_chunk: chunk,
            min_parallel: 1,
        })
        .unwrap();
        proptest::prop_assert_eq!(&reference, &tuned);
        if matches!(d, Damage::None | Damage::Reservation(..) | Damage::Torn(_)) {
            proptest::prop_assert!(reference.is_ok(), "{:?}", reference);
        }
    }
}

/// Appends entries `from..to` in one batch, then a checkpoint.
fn fill_from(dir: &Path, from: u64, to: u64) {
    let log = AuditLog::open(dir).unwrap();
    let batch: Vec<Entry> = (from..to).map(entry).collect();
    log.append_batch(&batch).unwrap();
    log.checkpoint().unwrap();
}

#[test]
fn segments_are_preallocated_and_closed_segments_trimmed() {
    let (_t, dir, vkey) = new_log(20_000);
    fill(&dir, 400, 50);
    let segs = store::list_segments(&dir).unwrap();
    assert!(segs.len() > 2);
    for (i, s) in segs.iter().enumerate() {
        let bytes = fs::read(&s.path).unwrap();
        assert_eq!(bytes[8], 2, "version 2 header");
        let end = data_len(&s.path);
        if i + 1 < segs.len() {
            assert_eq!(bytes.len(), end, "a closed segment holds only its records");
        } else {
            assert!(bytes.len() > end, "the open segment has space reserved");
            assert!(bytes[end..].iter().all(|&b| b == 0));
        }
    }
    assert!(verify(&dir, &vkey, None).is_ok());
}

#[test]
fn version_1_segments_still_read_and_are_appended_to_as_version_1() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir, 30, 10);
    // Rewrite the segment as a version 1 writer left it: header byte 1, no reservation.
    let seg = segment_file(&dir);
    let end = data_len(&seg);
    let mut bytes = fs::read(&seg).unwrap();
    bytes.truncate(end);
    bytes[8] = 1;
    fs::write(&seg, &bytes).unwrap();
    let r = verify(&dir, &vkey, None);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.entries, 30);
    fill_from(&dir, 30, 40);
    let bytes = fs::read(&seg).unwrap();
    assert_eq!(bytes[8], 1);
    let (recs, stop) = segment::parse_records(&bytes[segment::HEADER_LEN..]);
    assert_eq!(
        (recs.len(), stop),
        (40, None),
        "no zeros appended to a version 1 file"
    );
    let r = verify(&dir, &vkey, None);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.entries, 40);
    // In version 1 a zero length is still broken framing, not an end.
    let mut v1 = bytes.clone();
    v1.extend_from_slice(&[0; 64]);
    fs::write(&seg, &v1).unwrap();
    let r = verify(&dir, &vkey, None);
    assert_eq!(kind(&r), Some(FailureKind::Malformed), "{r:?}");
}

#[test]
fn unknown_segment_version_is_a_bad_header() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    fill(&dir, 3, 3);
    let seg = segment_file(&dir);
    write_at(&seg, 8, &[3]);
    let r = verify(&dir, &vkey, None);
    assert_eq!(kind(&r), Some(FailureKind::Malformed), "{r:?}");
    assert!(r.failure.unwrap().detail.contains("bad segment header"));
    assert!(matches!(
        AuditLog::open(&dir),
        Err(AuditError::Store(StoreError::Damaged { .. }))
    ));
}

#[test]
fn bytes_after_the_data_of_a_closed_segment_are_malformed() {
    let (_t, dir, vkey) = new_log(4096);
    fill(&dir, 100, 10);
    let segs = store::list_segments(&dir).unwrap();
    assert!(segs.len() > 2);
    // A closed segment with zeros after its data still verifies (a writer may have been
    // stopped before it gave the reservation back) ...
    let first = &segs[0].path;
    let end = data_len(first);
    write_at(first, end, &[0; 100]);
    assert!(verify(&dir, &vkey, None).is_ok());
    // ... but anything else after the data is not a torn tail there.
    write_at(first, end + 50, &[7]);
    let r = verify(&dir, &vkey, None);
    assert_eq!(kind(&r), Some(FailureKind::Malformed), "{r:?}");
    let f = r.failure.unwrap();
    assert!(f.detail.contains("after the end of its data"), "{f:?}");
    assert_eq!(f.byte_offset, Some(end as u64));
}

#[test]
fn another_handle_appending_into_the_reservation_is_seen() {
    let (_t, dir, vkey) = new_log(DEFAULT_SEGMENT_BYTES);
    let a = AuditLog::open(&dir).unwrap();
    let b = AuditLog::open(&dir).unwrap();
    a.append(&entry(0)).unwrap();
    // The file length did not change (preallocated); b must still notice and not overwrite.
    b.append(&entry(1)).unwrap();
    a.append(&entry(2)).unwrap();
    b.checkpoint().unwrap();
    drop((a, b));
    let r = verify(&dir, &vkey, None);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.entries, 3);
}
