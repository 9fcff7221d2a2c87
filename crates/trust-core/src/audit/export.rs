//! A key-free copy of a log, for auditors: the directory format without the signing key and
//! without the pseudonymization key.
//!
//! ```text
//! TO/log.json        copied (written last: a directory without it is not a log)
//! TO/vkey            the verifier key
//! TO/segments/…      the entries, the same framed records as the source
//! TO/checkpoints/…   the signed checkpoints
//! TO/payloads/…      the payloads still held (erased ones stay erased)
//! ```
//!
//! An auditor runs [`verify_log`](super::verify_log) (`trust audit verify --log TO --vkey …`)
//! on the copy, offline. The copy cannot be appended to or re-signed — it holds no key — and
//! cannot re-identify actors or subjects, whose pseudonyms need the pseudonymization key.
//!
//! The same writer, [`DirExporter`], serves every store: a directory log is copied byte for
//! byte ([`export_dir`]); a store elsewhere (a database) streams its leaves, checkpoints and
//! payloads into a `DirExporter`, and gets the very bytes a directory log would hold.
//!
//! A log may be exported while a writer appends: checkpoints are copied before the entries (so
//! every copied checkpoint covers entries in the copy), and a record still being written at the
//! end of the last segment is left out — it was not acknowledged yet.

use std::fs;
use std::path::{Path, PathBuf};

use super::AuditError;
use super::log::{LogConfig, files};
use super::merkle::Hash;
use super::note::Verifier;
use super::segment::{self, HEADER_LEN};
use super::store::{self, list_checkpoints, list_segments, payload_path};
use crate::durable;

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ExportSummary {
    /// Entries in the copy.
    pub entries: u64,
    /// Checkpoints in the copy.
    pub checkpoints: u64,
    /// Payloads in the copy.
    pub payloads: u64,
    /// Bytes of an append still in progress at the source's end, left out of the copy.
    pub unacknowledged_tail_bytes: u64,
}

/// Prepares `to` as an empty export target: created if missing, refused if it holds anything.
fn prepare_target(to: &Path) -> Result<(), AuditError> {
    match fs::read_dir(to) {
        Ok(mut rd) => {
            if rd.next().is_some() {
                return Err(AuditError::AlreadyExists(to.to_path_buf()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(AuditError::io("read", to)(e)),
    }
    for sub in ["", "segments", "checkpoints", "payloads"] {
        let p = to.join(sub);
        durable::create_private_dir(&p).map_err(AuditError::io("create", &p))?;
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    durable::write_atomic(path, bytes).map_err(AuditError::io("write", path))
}

/// Writes a key-free log directory from parts: leaves in order, checkpoints and payloads.
///
/// ```no_run
/// # use trust_core::audit::{DirExporter, LogConfig, Verifier};
/// # fn f(cfg: &LogConfig, v: &Verifier, leaves: Vec<(Vec<u8>, [u8; 32])>) -> Result<(), trust_core::audit::AuditError> {
/// let mut out = DirExporter::create(std::path::Path::new("export"), cfg, v)?;
/// for (leaf, hash) in &leaves {
///     out.push_leaf(leaf, hash)?;
/// }
/// let summary = out.finish()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DirExporter {
    to: PathBuf,
    config: LogConfig,
    /// The segment being filled: its first index and its bytes (header included).
    segment: Option<(u64, Vec<u8>)>,
    summary: ExportSummary,
}

impl DirExporter {
    /// Starts an export into `to` (created if missing; must be empty) of a log with `config`
    /// whose checkpoints verify under `vkey`.
    ///
    /// # Errors
    /// [`AuditError::AlreadyExists`] when `to` is not empty; I/O errors.
    pub fn create(to: &Path, config: &LogConfig, vkey: &Verifier) -> Result<Self, AuditError> {
        prepare_target(to)?;
        write(
            &to.join(files::VKEY),
            format!("{}\n", vkey.vkey()).as_bytes(),
        )?;
        Ok(Self {
            to: to.to_path_buf(),
            config: config.clone(),
            segment: None,
            summary: ExportSummary::default(),
        })
    }

    /// Appends the next leaf (index = entries so far) with its stored leaf hash.
    ///
    /// # Errors
    /// I/O errors writing a full segment.
    pub fn push_leaf(&mut self, leaf: &[u8], hash: &Hash) -> Result<(), AuditError> {
        let index = self.summary.entries;
        let seg = self.segment.get_or_insert_with(|| {
            let mut buf = Vec::with_capacity(1 << 20);
            buf.extend_from_slice(&segment::encode_header(index));
            (index, buf)
        });
        segment::encode_record(&mut seg.1, leaf, hash);
        self.summary.entries += 1;
        if seg.1.len() as u64 >= self.config.segment_bytes {
            self.flush_segment()?;
        }
        Ok(())
    }

    fn flush_segment(&mut self) -> Result<(), AuditError> {
        if let Some((first, bytes)) = self.segment.take() {
            let p = store::segments_dir(&self.to).join(format!("seg-{first:020}.log"));
            write(&p, &bytes)?;
        }
        Ok(())
    }

    /// Stores a signed checkpoint note of `size` entries with `root`, under the directory
    /// log's file name for it.
    ///
    /// # Errors
    /// I/O errors.
    pub fn put_checkpoint(&mut self, size: u64, root: &Hash, note: &str) -> Result<(), AuditError> {
        let p = self
            .to
            .join("checkpoints")
            .join(store::checkpoint_file_name(size, root));
        write(&p, note.as_bytes())?;
        self.summary.checkpoints += 1;
        Ok(())
    }

    /// Stores the payload of entry `index`, with its salt.
    ///
    /// # Errors
    /// I/O errors.
    pub fn put_payload(
        &mut self,
        index: u64,
        salt: &[u8; 32],
        payload: &[u8],
    ) -> Result<(), AuditError> {
        let mut bytes = Vec::with_capacity(32 + payload.len());
        bytes.extend_from_slice(salt);
        bytes.extend_from_slice(payload);
        write(&payload_path(&self.to, index), &bytes)?;
        self.summary.payloads += 1;
        Ok(())
    }

    /// Writes the last segment and, last of all, `log.json`.
    ///
    /// # Errors
    /// I/O errors; the target then holds no `log.json` and is not mistaken for a log.
    pub fn finish(mut self) -> Result<ExportSummary, AuditError> {
        self.flush_segment()?;
        let json = serde_json::to_vec_pretty(&self.config).map_err(|_| AuditError::Random)?;
        write(&self.to.join(files::CONFIG), &json)?;
        Ok(self.summary)
    }
}

/// Copies the directory log `src` into `to` without its keys.
///
/// Segments are copied byte for byte, damage included (an export never repairs what an auditor
/// should see); only the unfinished record of an append in progress at the very end is left
/// out. The source's writer may keep appending meanwhile.
///
/// # Errors
/// [`AuditError::NotALog`] for a source that is not a log, [`AuditError::AlreadyExists`] for a
/// target that is not empty, I/O errors.
pub fn export_dir(src: &Path, to: &Path) -> Result<ExportSummary, AuditError> {
    let config = LogConfig::load(src)?;
    let vkey_path = src.join(files::VKEY);
    let vkey_text = fs::read_to_string(&vkey_path).map_err(AuditError::io("read", &vkey_path))?;
    let vkey =
        Verifier::from_vkey(vkey_text.trim()).map_err(|_| AuditError::BadKeyFile(vkey_path))?;
    // Checkpoints first: each covers entries already durable, hence in the copy below.
    let cps = list_checkpoints(src).map_err(AuditError::io("read", &src.join("checkpoints")))?;
    let segments = list_segments(src).map_err(AuditError::io("list", &store::segments_dir(src)))?;
    let mut out = DirExporter::create(to, &config, &vkey)?;
    for (path, bytes) in &cps {
        let name = path.file_name().unwrap_or_default();
        write(&to.join("checkpoints").join(name), bytes)?;
        out.summary.checkpoints += 1;
    }
    let last = segments.len().saturating_sub(1);
    let mut entries = 0u64;
    for (i, seg) in segments.iter().enumerate() {
        let mut bytes = fs::read(&seg.path).map_err(AuditError::io("read", &seg.path))?;
        let body = bytes.get(HEADER_LEN..).unwrap_or(&[]);
        let version = segment::read_header(&bytes).map_or(0, |h| h.version);
        let (mut records, stop) = segment::parse_records_in(body, version);
        // The last record of a preallocated segment that looks cut is an append in progress,
        // as an incomplete record is in version 1 (the verifier's rule, segment::looks_torn).
        let mut torn = None;
        if i == last
            && version >= 2
            && matches!(stop, None | Some((_, segment::Frame::End)))
            && records.last().is_some_and(segment::looks_torn)
        {
            torn = records.pop();
        }
        let count = records.len() as u64;
        let cut = match stop {
            _ if torn.is_some() => torn.map(|r| {
                let rest = &body[r.offset..];
                (HEADER_LEN + r.offset, segment::nonzero_len(rest))
            }),
            Some((off, segment::Frame::Incomplete)) if i == last => {
                Some((HEADER_LEN + off, body.len() - off))
            }
            // A preallocated segment: copy the data, not the reservation after it (bytes after
            // the data of any but the last segment are damage, copied for the verifier to see).
            Some((off, segment::Frame::End))
                if i == last || segment::nonzero_len(&body[off..]) == 0 =>
            {
                Some((HEADER_LEN + off, segment::nonzero_len(&body[off..])))
            }
            _ => None,
        };
        if let Some((keep, tail)) = cut {
            if i == last {
                out.summary.unacknowledged_tail_bytes = tail as u64;
            }
            bytes.truncate(keep);
        }
        entries = seg.first_index + count;
        let name = seg.path.file_name().unwrap_or_default();
        write(&store::segments_dir(to).join(name), &bytes)?;
    }
    out.summary.entries = entries;
    for index in 0..entries {
        let p = payload_path(src, index);
        match fs::read(&p) {
            Ok(bytes) => {
                write(&payload_path(to, index), &bytes)?;
                out.summary.payloads += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(AuditError::io("read", &p)(e)),
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::audit::{AuditLog, Entry, InitOptions, VerifyOptions, verify_log};

    fn log_with(n: u64, segment_bytes: u64) -> (tempfile::TempDir, PathBuf, Verifier) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let mut o = InitOptions::new("example.com/audit/export");
        o.segment_bytes = segment_bytes;
        let vkey = AuditLog::init(&dir, &o).unwrap();
        let log = AuditLog::open(&dir).unwrap();
        for i in 0..n {
            let mut e = Entry::new("test.event");
            e.actor = Some(format!("operator-{i}"));
            if i % 3 == 0 {
                e.payload = Some(format!("payload {i}").into_bytes());
            }
            log.append(&e).unwrap();
            if i % 4 == 3 {
                log.checkpoint().unwrap();
            }
        }
        (tmp, dir, vkey)
    }

    fn verifies(dir: &Path, vkey: &Verifier) -> crate::audit::Report {
        verify_log(dir, &VerifyOptions::new(vec![vkey.clone()])).unwrap()
    }

    #[test]
    fn export_is_key_free_and_verifies_offline() {
        let (tmp, dir, vkey) = log_with(10, 200);
        let to = tmp.path().join("export");
        let s = export_dir(&dir, &to).unwrap();
        assert_eq!(s.entries, 10);
        assert_eq!(s.checkpoints, 2);
        assert_eq!(s.payloads, 4);
        assert!(!to.join(files::SIGNING_KEY).exists());
        assert!(!to.join(files::PSEUDONYM_KEY).exists());
        let r = verifies(&to, &vkey);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(r.entries, 10);
        assert_eq!(r.root, verifies(&dir, &vkey).root);
        // The copy cannot be opened for writing: it holds no signing key.
        assert!(AuditLog::open(&to).is_err());
        // Rebuilding from the leaves with DirExporter gives the very segment bytes.
        let again = tmp.path().join("again");
        let cfg = LogConfig::load(&dir).unwrap();
        let mut out = DirExporter::create(&again, &cfg, &vkey).unwrap();
        for seg in list_segments(&dir).unwrap() {
            let bytes = fs::read(&seg.path).unwrap();
            for r in segment::parse_records(&bytes[HEADER_LEN..]).0 {
                out.push_leaf(r.leaf, &r.stored_hash).unwrap();
            }
        }
        assert_eq!(out.finish().unwrap().entries, 10);
        let a: Vec<_> = list_segments(&to).unwrap();
        let b: Vec<_> = list_segments(&again).unwrap();
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.first_index, y.first_index);
            assert_eq!(fs::read(&x.path).unwrap(), fs::read(&y.path).unwrap());
        }
    }

    #[test]
    fn export_refuses_a_non_empty_target_and_a_non_log() {
        let (tmp, dir, _) = log_with(2, 1 << 20);
        let to = tmp.path().join("busy");
        fs::create_dir_all(&to).unwrap();
        fs::write(to.join("x"), b"x").unwrap();
        assert!(matches!(
            export_dir(&dir, &to),
            Err(AuditError::AlreadyExists(_))
        ));
        assert!(matches!(
            export_dir(&to, &tmp.path().join("t2")),
            Err(AuditError::NotALog(_))
        ));
    }

    #[test]
    fn damage_is_copied_and_an_append_in_progress_is_left_out() {
        let (tmp, dir, vkey) = log_with(3, 1 << 20);
        // An append in progress: half a record at the end of the segment.
        let seg = list_segments(&dir).unwrap().pop().unwrap().path;
        // Written where the data ends, inside the segment's preallocated zeros.
        let bytes = fs::read(&seg).unwrap();
        let (records, _) = segment::parse_records_in(&bytes[HEADER_LEN..], 2);
        let end = records
            .last()
            .map(|r| HEADER_LEN + r.offset + r.encoded_len())
            .unwrap();
        std::os::unix::fs::FileExt::write_all_at(
            &fs::OpenOptions::new().write(true).open(&seg).unwrap(),
            &[0, 0, 0, 40, 1, 2, 3],
            end as u64,
        )
        .unwrap();
        let to = tmp.path().join("e1");
        let s = export_dir(&dir, &to).unwrap();
        assert_eq!((s.entries, s.unacknowledged_tail_bytes), (3, 7));
        assert!(verifies(&to, &vkey).is_ok());
        // A flipped byte inside an entry is copied as is, and the auditor sees it.
        let mut bytes = fs::read(&seg).unwrap();
        bytes[HEADER_LEN + 10] ^= 1;
        fs::write(&seg, &bytes).unwrap();
        let to = tmp.path().join("e2");
        export_dir(&dir, &to).unwrap();
        let r = verifies(&to, &vkey);
        assert!(!r.is_ok());
        assert_eq!(r.first_bad_index, Some(0));
    }
}
