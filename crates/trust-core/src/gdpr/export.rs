//! Subject export bundles (Art. 15 access, Art. 20 portability).
//!
//! The app streams a subject's records, category by category or interleaved, into an
//! [`ExportWriter`]; the writer emits one JSON object per line and, at the end, a signed
//! manifest. Memory use is constant: one record is held at a time, plus a SHA-256 state and a
//! counter per category.
//!
//! ## Wire format (`trust-export/v1`, JSON Lines, see docs/format-gdpr.md)
//!
//! ```text
//! {"category":"orders","record":{…the app's JSON…}}
//! {"category":"profile","record":{…}}
//! …
//! {"manifest":{"format":"trust-export/v1","subject":"p1-…","generated_at":"…","parts":[{"category":"orders","records":2,"sha256":"…"}],"signer":"…"},"signature":"…"}
//! ```
//!
//! * Every record line is `{"category":<string>,"record":<any JSON>}` and ends with `\n`.
//! * A part's `sha256` is the SHA-256 of the exact bytes of its record lines, newlines
//!   included, in file order; `records` is their number.
//! * The last line is the manifest and its Ed25519 signature over
//!   `trust-export/v1\n` ‖ compact JSON of the manifest object; nothing may follow it.
//!
//! JSON Lines keeps the bundle readable by any JSON tool (`jq -c 'select(.category=="orders")'`)
//! and lets writer and verifier stream. [`verify_bundle`] checks every bound, count, checksum
//! and the signature, in constant memory too.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::signing::{Signer, verify};
use super::{GdprError, is_label};

/// The format name and signature domain label.
pub(crate) const FORMAT: &str = "trust-export/v1";

/// Longest line (one record, or the manifest) accepted by the verifier: 16 MiB.
pub(crate) const MAX_LINE: usize = 16 << 20;

/// Most categories a bundle may hold.
pub(crate) const MAX_PARTS: usize = 1024;

/// One category in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// The data category.
    pub category: String,
    /// How many records.
    pub records: u64,
    /// Lower-case hex SHA-256 of the category's record lines.
    pub sha256: String,
}

/// The signed manifest of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `trust-export/v1`.
    pub format: String,
    /// The subject's pseudonym.
    pub subject: String,
    /// The request this export answers, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// When the bundle was generated.
    pub generated_at: Timestamp,
    /// The categories, sorted by name.
    pub parts: Vec<Part>,
    /// The signer's Ed25519 public key, hex.
    pub signer: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestLine {
    manifest: Manifest,
    signature: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordLine {
    category: String,
    #[allow(dead_code)]
    record: IgnoredAny,
}

struct PartState {
    records: u64,
    hash: Sha256,
}

impl PartState {
    fn new() -> Self {
        Self {
            records: 0,
            hash: Sha256::new(),
        }
    }
}

fn parts_of(state: BTreeMap<String, PartState>) -> Vec<Part> {
    state
        .into_iter()
        .map(|(category, p)| Part {
            category,
            records: p.records,
            sha256: hex::encode(p.hash.finalize()),
        })
        .collect()
}

/// Streams a bundle to `W`.
pub struct ExportWriter<W: Write> {
    out: W,
    subject: String,
    request: Option<String>,
    parts: BTreeMap<String, PartState>,
    line: Vec<u8>,
}

impl<W: Write> core::fmt::Debug for ExportWriter<W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ExportWriter")
            .field("parts", &self.parts.len())
            .finish_non_exhaustive()
    }
}

impl<W: Write> ExportWriter<W> {
    /// A writer for the subject with pseudonym `subject`, answering `request` if given.
    ///
    /// # Errors
    /// [`GdprError::BadName`] for an invalid pseudonym or request id.
    pub fn new(out: W, subject: &str, request: Option<&str>) -> Result<Self, GdprError> {
        if !is_label(subject) {
            return Err(GdprError::BadName("subject pseudonym"));
        }
        if request.is_some_and(|r| !is_label(r)) {
            return Err(GdprError::BadName("request id"));
        }
        Ok(Self {
            out,
            subject: subject.to_owned(),
            request: request.map(str::to_owned),
            parts: BTreeMap::new(),
            line: Vec::new(),
        })
    }

    /// Appends one record of `category`.
    ///
    /// # Errors
    /// [`GdprError::BadName`] for an invalid category; [`GdprError::TooLarge`] for a record
    /// over 16 MiB or more than 1024 categories; [`GdprError::Io`].
    pub fn record<T: Serialize + ?Sized>(
        &mut self,
        category: &str,
        record: &T,
    ) -> Result<(), GdprError> {
        if !is_label(category) {
            return Err(GdprError::BadName("data category"));
        }
        if !self.parts.contains_key(category) && self.parts.len() >= MAX_PARTS {
            return Err(GdprError::TooLarge("number of categories"));
        }
        self.line.clear();
        self.line.extend_from_slice(b"{\"category\":");
        serde_json::to_writer(&mut self.line, category)
            .map_err(|_| GdprError::Malformed("category"))?;
        self.line.extend_from_slice(b",\"record\":");
        serde_json::to_writer(&mut self.line, record)
            .map_err(|_| GdprError::Malformed("record (not serializable as JSON)"))?;
        self.line.extend_from_slice(b"}\n");
        if self.line.len() > MAX_LINE {
            return Err(GdprError::TooLarge("export record"));
        }
        self.out.write_all(&self.line)?;
        let part = self
            .parts
            .entry(category.to_owned())
            .or_insert_with(PartState::new);
        part.records += 1;
        part.hash.update(&self.line);
        Ok(())
    }

    /// Writes the signed manifest and returns the writer and the manifest.
    ///
    /// # Errors
    /// [`GdprError::Io`]; [`GdprError::Signer`] when the signing device fails.
    pub fn finish(
        mut self,
        generated_at: Timestamp,
        signer: &Signer,
    ) -> Result<(W, Manifest), GdprError> {
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            subject: self.subject,
            request: self.request,
            generated_at,
            parts: parts_of(self.parts),
            signer: hex::encode(signer.public_key()),
        };
        let body = serde_json::to_vec(&manifest).map_err(|_| GdprError::Malformed("manifest"))?;
        let signature = STANDARD.encode(signer.sign(FORMAT, &body)?);
        let line = serde_json::to_vec(&ManifestLine {
            manifest,
            signature,
        })
        .map_err(|_| GdprError::Malformed("manifest"))?;
        self.out.write_all(&line)?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        let ManifestLine { manifest, .. } =
            serde_json::from_slice(&line).map_err(|_| GdprError::Malformed("manifest"))?;
        Ok((self.out, manifest))
    }
}

/// Writes a whole bundle from an iterator of `(category, record)` pairs.
///
/// # Errors
/// As [`ExportWriter::record`] and [`ExportWriter::finish`], or the iterator's own error.
pub fn write_bundle<W, I, T>(
    out: W,
    subject: &str,
    request: Option<&str>,
    records: I,
    generated_at: Timestamp,
    signer: &Signer,
) -> Result<(W, Manifest), GdprError>
where
    W: Write,
    I: IntoIterator<Item = Result<(String, T), GdprError>>,
    T: Serialize,
{
    let mut w = ExportWriter::new(out, subject, request)?;
    for item in records {
        let (category, record) = item?;
        w.record(&category, &record)?;
    }
    w.finish(generated_at, signer)
}

/// Verifies a bundle read from `input` against the `expected` signer's public key and returns
/// its manifest.
///
/// # Errors
/// [`GdprError::TooLarge`] for an over-long line or too many categories;
/// [`GdprError::Malformed`] for anything that is not the format (missing manifest, bytes after
/// it, a line that is not a record); [`GdprError::BadSignature`]; [`GdprError::ManifestMismatch`]
/// when counts or checksums differ; [`GdprError::Io`].
pub fn verify_bundle<R: BufRead>(mut input: R, expected: &[u8; 32]) -> Result<Manifest, GdprError> {
    let mut parts: BTreeMap<String, PartState> = BTreeMap::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX) + 1;
        let n = (&mut input).take(limit).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Err(GdprError::Malformed("export bundle (no manifest)"));
        }
        if line.len() > MAX_LINE {
            return Err(GdprError::TooLarge("export bundle line"));
        }
        if line.last() != Some(&b'\n') {
            return Err(GdprError::Malformed("export bundle (unterminated line)"));
        }
        if line.starts_with(b"{\"manifest\":") {
            break;
        }
        let rec: RecordLine = serde_json::from_slice(&line)
            .map_err(|_| GdprError::Malformed("export bundle record"))?;
        // The writer only emits label-shaped category names; checking here keeps the map of
        // categories small before the manifest's signature has been checked.
        if !is_label(&rec.category) {
            return Err(GdprError::Malformed("export bundle record"));
        }
        if !parts.contains_key(&rec.category) && parts.len() >= MAX_PARTS {
            return Err(GdprError::TooLarge("number of categories"));
        }
        let part = parts.entry(rec.category).or_insert_with(PartState::new);
        part.records += 1;
        part.hash.update(&line);
    }
    let mut rest = [0u8; 1];
    if input.read(&mut rest)? != 0 {
        return Err(GdprError::Malformed(
            "export bundle (data after the manifest)",
        ));
    }
    let ml: ManifestLine =
        serde_json::from_slice(&line).map_err(|_| GdprError::Malformed("export manifest"))?;
    if ml.manifest.format != FORMAT {
        return Err(GdprError::Malformed("export manifest (unknown format)"));
    }
    let signature = STANDARD
        .decode(ml.signature.as_bytes())
        .map_err(|_| GdprError::Malformed("export manifest signature"))?;
    let claimed = hex::decode(&ml.manifest.signer).map_err(|_| GdprError::BadSignature)?;
    let body = serde_json::to_vec(&ml.manifest).map_err(|_| GdprError::Malformed("manifest"))?;
    verify(expected, &claimed, FORMAT, &body, &signature)?;
    if parts_of(parts) != ml.manifest.parts {
        return Err(GdprError::ManifestMismatch);
    }
    Ok(ml.manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle(signer: &Signer) -> Vec<u8> {
        let records = vec![
            Ok(("orders".to_owned(), json!({"id": 1, "total": "12.00"}))),
            Ok(("profile".to_owned(), json!({"email": "jane@example.com"}))),
            Ok(("orders".to_owned(), json!({"id": 2, "total": "7.50"}))),
        ];
        let (out, m) = write_bundle(
            Vec::new(),
            "p1-abcdef",
            Some("T-1"),
            records,
            "2026-02-01T00:00:00Z".parse().unwrap(),
            signer,
        )
        .unwrap();
        assert_eq!(m.parts.len(), 2);
        assert_eq!(m.parts[0].category, "orders");
        assert_eq!(m.parts[0].records, 2);
        out
    }

    #[test]
    fn round_trip_and_checksums() {
        let (s, _) = Signer::generate().unwrap();
        let b = bundle(&s);
        let m = verify_bundle(&b[..], &s.public_key()).unwrap();
        assert_eq!(m.subject, "p1-abcdef");
        // The orders checksum is SHA-256 over exactly the orders lines.
        let text = String::from_utf8(b).unwrap();
        let orders: String = text
            .lines()
            .filter(|l| l.starts_with("{\"category\":\"orders\""))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            m.parts[0].sha256,
            hex::encode(Sha256::digest(orders.as_bytes()))
        );
    }

    /// The vector in docs/format-gdpr.md: RFC 8032 §7.1 TEST 1 seed, fixed records and time.
    #[test]
    fn format_vector() {
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let s = Signer::from_seed(&seed).unwrap();
        let b = String::from_utf8(bundle(&s)).unwrap();
        if std::env::var_os("PRINT_VECTORS").is_some() {
            print!("{b}");
        }
        assert_eq!(
            b,
            include_str!("../../../../docs/vectors/export-bundle-v1.jsonl")
        );
        verify_bundle(b.as_bytes(), &s.public_key()).unwrap();
    }

    #[test]
    fn tampering_is_detected() {
        let (s, _) = Signer::generate().unwrap();
        let pk = s.public_key();
        let b = String::from_utf8(bundle(&s)).unwrap();
        let changed = b.replace("12.00", "13.00");
        assert!(matches!(
            verify_bundle(changed.as_bytes(), &pk),
            Err(GdprError::ManifestMismatch)
        ));
        let lines: Vec<&str> = b.lines().collect();
        let dropped = format!("{}\n{}\n", lines[0], lines[3]);
        assert!(matches!(
            verify_bundle(dropped.as_bytes(), &pk),
            Err(GdprError::ManifestMismatch)
        ));
        let count = b.replace("\"records\":2", "\"records\":3");
        assert!(matches!(
            verify_bundle(count.as_bytes(), &pk),
            Err(GdprError::BadSignature)
        ));
        let (other, _) = Signer::generate().unwrap();
        assert!(matches!(
            verify_bundle(b.as_bytes(), &other.public_key()),
            Err(GdprError::BadSignature)
        ));
    }

    #[test]
    fn structural_errors() {
        let (s, _) = Signer::generate().unwrap();
        let pk = s.public_key();
        let b = String::from_utf8(bundle(&s)).unwrap();
        assert!(matches!(
            verify_bundle(b"".as_slice(), &pk),
            Err(GdprError::Malformed(_))
        ));
        let no_manifest: String = b.lines().take(3).map(|l| format!("{l}\n")).collect();
        assert!(matches!(
            verify_bundle(no_manifest.as_bytes(), &pk),
            Err(GdprError::Malformed(_))
        ));
        let trailing = format!("{b}x");
        assert!(matches!(
            verify_bundle(trailing.as_bytes(), &pk),
            Err(GdprError::Malformed(_))
        ));
        let unterminated = b.trim_end();
        assert!(matches!(
            verify_bundle(unterminated.as_bytes(), &pk),
            Err(GdprError::Malformed(_))
        ));
        let junk = format!("not json\n{b}");
        assert!(matches!(
            verify_bundle(junk.as_bytes(), &pk),
            Err(GdprError::Malformed(_))
        ));
        let extra = format!("{{\"category\":\"a\",\"record\":1,\"x\":2}}\n{b}");
        assert!(matches!(
            verify_bundle(extra.as_bytes(), &pk),
            Err(GdprError::Malformed(_))
        ));
        // A category the writer could never have produced is refused before it is kept.
        let odd = format!(
            "{{\"category\":\"{}\",\"record\":1}}\n{b}",
            "Z".repeat(4096)
        );
        assert!(matches!(
            verify_bundle(odd.as_bytes(), &pk),
            Err(GdprError::Malformed(_))
        ));
        let long = vec![b'a'; MAX_LINE + 10];
        assert!(matches!(
            verify_bundle(&long[..], &pk),
            Err(GdprError::TooLarge(_))
        ));
    }

    #[test]
    fn writer_validates_names() {
        assert!(ExportWriter::new(Vec::new(), "", None).is_err());
        assert!(ExportWriter::new(Vec::new(), "p1", Some("a b")).is_err());
        let mut w = ExportWriter::new(Vec::new(), "p1", None).unwrap();
        assert!(matches!(
            w.record("bad category", &1),
            Err(GdprError::BadName(_))
        ));
    }
}
