//! `trust gdpr …`: erasure with receipts, export bundles, request deadlines, retention.
//!
//! State lives with the home. A local home keeps subject keys in `subjects/<keyring>/`, the
//! receipt/manifest signing key in `gdpr/signing.p8` (or, with `gdpr/signer.json`, in an HSM)
//! and the request register in `gdpr/requests.json`; a database home (`--store postgres://…`)
//! keeps them in its tables, the signing key sealed under the home's `gdpr` keyring, so every
//! worker signs with one key.

use std::io::{BufRead, BufReader, BufWriter, Read as _};
use std::path::PathBuf;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use trust_backends::SubjectStore;
use trust_core::clock::{Clock, SystemClock};
use trust_core::durable;
use trust_core::event::{EventSink, NoSink};
use trust_core::gdpr::{
    self as core_gdpr, EraseOptions, ErasureReceipt, ExportWriter, GdprError, Manifest, Regime,
    Request, RequestKind, RequestLog, RequestRegister, RetentionItem, RetentionPolicy,
    RetentionRule, Signer, SubjectKeys,
};
use trust_core::keyring::Home;

use crate::Globals;
use crate::cmd::home::{UnlockArgs, audit_sink, home_dir, open_home};
use crate::cmd::store;
use crate::exit::CliError;
use crate::input;
use trust_core::durable::AtomicFile;

/// Largest policy, register or records line the CLI reads.
const DOC_LIMIT: u64 = 16 << 20;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum GdprCommand {
    /// Erase a data subject: destroy their key so everything sealed for them becomes unreadable,
    /// and print a signed erasure receipt.
    ///
    /// Example: trust gdpr erase --key customers --subject shopify:demo:customer:191167 --yes
    Erase(EraseArgs),
    /// Write a signed export bundle (JSON Lines + manifest) of one subject's records.
    ///
    /// Example: trust gdpr export --key customers --subject 191167 --records all.jsonl --out jane.export.jsonl
    Export(ExportArgs),
    /// Verify an export bundle's checksums, counts and signature.
    ///
    /// Example: trust gdpr verify-export jane.export.jsonl
    VerifyExport(VerifyArgs),
    /// Verify an erasure receipt's signature.
    ///
    /// Example: trust gdpr verify-receipt receipt.json
    VerifyReceipt(VerifyArgs),
    /// Print the public key that signs receipts and bundles (pin it where they are verified);
    /// with --signing-pkcs11, first make an Ed25519 key in an HSM this home's signer.
    ///
    /// Example: trust gdpr public-key
    PublicKey(PublicKeyArgs),
    /// Data-subject requests and their deadlines (one month, extendable by two).
    ///
    /// Example: trust gdpr requests list --overdue
    #[command(subcommand)]
    Requests(RequestsCommand),
    /// Retention policies.
    ///
    /// Example: trust gdpr retention due --policy retention.json --at 2026-03-01T00:00:00Z
    #[command(subcommand)]
    Retention(RetentionCommand),
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust gdpr erase --key customers --subject 191167 --yes")]
pub(crate) struct EraseArgs {
    /// The tenant keyring the subject's key is wrapped by.
    #[arg(long = "key", value_name = "NAME")]
    key: String,
    /// The subject's identifier, as the app uses it (only its pseudonym is stored).
    #[arg(long, value_name = "ID")]
    subject: String,
    /// The request this erasure answers (copied into the receipt).
    #[arg(long, value_name = "ID")]
    request: Option<String>,
    /// How long backups of the home are kept; the receipt says they expire by now + this.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    backup_retention_days: u32,
    /// Confirm the erasure (required off a terminal).
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    mfa: crate::cmd::mfa::MfaGate,
    #[command(flatten)]
    unlock: UnlockArgs,
}

/// Where GDPR events (erasures, request transitions) are recorded: the global `--audit-log`
/// (`TRUST_AUDIT_LOG`), opened before the change is made so that a missing or busy log stops
/// the command first; nowhere without it (apps wire their own `EventSink`).
fn sink(globals: &Globals) -> Result<Arc<dyn EventSink>, CliError> {
    Ok(audit_sink(globals)?.unwrap_or_else(|| Arc::new(NoSink)))
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: trust gdpr export --key customers --subject 191167 --records all.jsonl --out jane.export.jsonl\n\nRecords file: one JSON object per line, {\"subject\":ID,\"category\":NAME,\"record\":ANY}; only lines whose subject equals --subject are exported."
)]
pub(crate) struct ExportArgs {
    /// The tenant keyring (its pseudonym key names the subject in the manifest).
    #[arg(long = "key", value_name = "NAME")]
    key: String,
    /// The subject's identifier.
    #[arg(long, value_name = "ID")]
    subject: String,
    /// JSON Lines of {"subject","category","record"} (- for stdin).
    #[arg(long, value_name = "FILE")]
    records: PathBuf,
    /// Where to write the bundle.
    #[arg(long, value_name = "BUNDLE")]
    out: PathBuf,
    /// The request this export answers.
    #[arg(long, value_name = "ID")]
    request: Option<String>,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust gdpr verify-export jane.export.jsonl")]
pub(crate) struct VerifyArgs {
    /// The document to verify (- for stdin).
    file: PathBuf,
    /// The expected signer's public key (64 hex digits); default: this home's signing key.
    #[arg(long, value_name = "HEX")]
    public_key: Option<String>,
    /// Unlocks a database home (--store URL), whose signing key is sealed under it; needed
    /// only without --public-key.
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  trust gdpr public-key
  TRUST_STORE=\"$(cat /run/secrets/trust-db-url)\" trust gdpr public-key --root-key-file root.key
  TRUST_PKCS11_PIN=… trust gdpr public-key \\
    --signing-pkcs11 'pkcs11:token=trust-prod;object=trust-gdpr?module-path=/usr/lib/softhsm/libsofthsm2.so'")]
pub(crate) struct PublicKeyArgs {
    /// Sign this home's erasure receipts and export manifests from now on with an Ed25519 key
    /// held in a PKCS#11 token (generated inside it when absent; no gdpr/signing.p8 is
    /// written), recorded in gdpr/signer.json. The PIN comes from TRUST_PKCS11_PIN or
    /// --pin-file, for this and every later signing command. Local homes only.
    #[arg(long, value_name = "URI")]
    signing_pkcs11: Option<String>,
    /// Unlocks a database home (--store URL), whose signing key is sealed under it; its
    /// --pin-file also serves --signing-pkcs11.
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum RequestsCommand {
    /// List requests with their deadlines.
    ///
    /// Example: trust gdpr requests list --overdue --at 2026-03-01T00:00:00Z
    List(ListArgs),
    /// Record a new request (received now, or at --received).
    ///
    /// Example: trust gdpr requests add --id T-1 --kind erasure --key customers --subject 191167
    Add(AddArgs),
    /// Extend a request's deadline by 1 or 2 months, with a reason, within the first month.
    ///
    /// Example: trust gdpr requests extend --id T-1 --months 2 --reason "records in three systems"
    Extend(ExtendArgs),
    /// Mark a request as being worked on.
    ///
    /// Example: trust gdpr requests start --id T-1
    Start(IdArgs),
    /// Mark a request as completed.
    ///
    /// Example: trust gdpr requests complete --id T-1
    Complete(IdArgs),
    /// Reject a request, with a reason.
    ///
    /// Example: trust gdpr requests reject --id T-1 --reason "identity not established"
    Reject(RejectArgs),
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust gdpr requests list --overdue")]
pub(crate) struct ListArgs {
    /// Only open requests past their deadline.
    #[arg(long)]
    overdue: bool,
    /// Evaluate at this time (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: trust gdpr requests add --id T-1 --kind erasure --key customers --subject 191167"
)]
pub(crate) struct AddArgs {
    /// The request's id (ticket number).
    #[arg(long, value_name = "ID")]
    id: String,
    /// access, export, erasure or rectification.
    #[arg(long, value_parser = ["access", "export", "erasure", "rectification"])]
    kind: String,
    /// The tenant keyring whose pseudonym key names the subject.
    #[arg(long = "key", value_name = "NAME")]
    key: String,
    /// The subject's identifier (only its pseudonym is stored).
    #[arg(long, value_name = "ID")]
    subject: String,
    /// When it was received (RFC 3339); default now.
    #[arg(long, value_name = "TIME")]
    received: Option<String>,
    /// The regime: eu-gdpr or uk-gdpr.
    #[arg(long, default_value = "eu-gdpr", value_parser = ["eu-gdpr", "uk-gdpr"])]
    regime: String,
    /// Move deadlines falling on a weekend to the next Monday.
    #[arg(long)]
    weekend_rolls_forward: bool,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: trust gdpr requests extend --id T-1 --months 2 --reason \"records in three systems\""
)]
pub(crate) struct ExtendArgs {
    /// The request's id.
    #[arg(long, value_name = "ID")]
    id: String,
    /// Months to add (the total may not exceed 2).
    #[arg(long, value_name = "N")]
    months: u8,
    /// Why (told to the subject).
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// When the extension is decided (RFC 3339); default now.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust gdpr requests complete --id T-1")]
pub(crate) struct IdArgs {
    /// The request's id.
    #[arg(long, value_name = "ID")]
    id: String,
    /// When (RFC 3339); default now.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: trust gdpr requests reject --id T-1 --reason \"identity not established\""
)]
pub(crate) struct RejectArgs {
    /// The request's id.
    #[arg(long, value_name = "ID")]
    id: String,
    /// Why.
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// When (RFC 3339); default now.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum RetentionCommand {
    /// List the items due for deletion at a time.
    ///
    /// Example: trust gdpr retention due --policy retention.json --at 2026-03-01T00:00:00Z
    Due(DueArgs),
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: trust gdpr retention due --policy retention.json --at 2026-03-01T00:00:00Z\n\nPolicy file: {\"rules\":[{\"category\":\"configuration\",\"after\":\"account-closed\",\"days\":30,\"action\":\"delete\"}],\"items\":[{\"id\":\"shop-1\",\"category\":\"configuration\",\"event\":\"account-closed\",\"at\":\"2026-01-01T00:00:00Z\"}]}; items may instead come from --items (JSON Lines)."
)]
pub(crate) struct DueArgs {
    /// The policy (JSON: rules, optionally items).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Items as JSON Lines of {"id","category","event","at"}.
    #[arg(long, value_name = "FILE")]
    items: Option<PathBuf>,
    /// Evaluate at this time (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

pub(crate) fn run(cmd: &GdprCommand, globals: &Globals) -> Result<(), CliError> {
    match cmd {
        GdprCommand::Erase(a) => erase(a, globals),
        GdprCommand::Export(a) => export_cmd(a, globals),
        GdprCommand::VerifyExport(a) => verify_export(a, globals),
        GdprCommand::VerifyReceipt(a) => verify_receipt(a, globals),
        GdprCommand::PublicKey(a) => {
            let signer = match &a.signing_pkcs11 {
                Some(uri) => {
                    if store::store_db(globals)?.is_some() {
                        return Err(CliError::usage(
                            "--signing-pkcs11 applies to a local home; a database home signs with its sealed key",
                        ));
                    }
                    crate::cmd::home::init_gdpr_device_signer(
                        &gdpr_dir(globals)?,
                        uri,
                        a.unlock.pin_file.as_deref(),
                    )?
                }
                None => signer(globals, &a.unlock)?,
            };
            let pk = hex::encode(signer.public_key());
            globals
                .out
                .success(&serde_json::json!({ "public_key": pk }), || pk.clone());
            Ok(())
        }
        GdprCommand::Requests(c) => requests(c, globals),
        GdprCommand::Retention(RetentionCommand::Due(a)) => retention_due(a, globals),
    }
}

/// Now, in whole seconds: what `trust` prints and records is RFC 3339 in UTC without a
/// fraction, the same shape everywhere.
fn now() -> Timestamp {
    Timestamp::from_second(SystemClock.now_unix())
        .unwrap_or_else(|_| core_gdpr::timestamp(SystemClock.now()))
}

fn time_arg(t: Option<&str>) -> Result<Timestamp, CliError> {
    match t {
        Some(s) => Ok(core_gdpr::parse_time(s)?),
        None => Ok(now()),
    }
}

fn gdpr_dir(globals: &Globals) -> Result<PathBuf, CliError> {
    let dir = home_dir(globals)?.join("gdpr");
    durable::create_private_dir(&dir).map_err(|e| CliError::write("directory", &dir, &e))?;
    Ok(dir)
}

/// The keyring a database home seals its GDPR signing key under (created on first use).
const SIGNER_KEYRING: &str = "gdpr";

/// The key that signs receipts and bundles: for a local home an HSM key when `gdpr/signer.json`
/// names one, else `HOME/gdpr/signing.p8`; for a
/// database home, the sealed row every worker shares (opening the home to unseal it).
fn signer(globals: &Globals, unlock: &UnlockArgs) -> Result<Signer, CliError> {
    match store::store_db(globals)? {
        None => crate::cmd::home::gdpr_signer(&gdpr_dir(globals)?, unlock.pin_file.as_deref()),
        Some(db) => {
            let home = open_home(globals, unlock)?;
            crate::cmd::mfa::ensure_keyring(&home, SIGNER_KEYRING)?;
            Ok(trust_postgres::load_or_create_signer(
                &db,
                &home,
                SIGNER_KEYRING,
            )?)
        }
    }
}

fn subject_keys(
    globals: &Globals,
    unlock: &UnlockArgs,
) -> Result<SubjectKeys<Home, SubjectStore>, CliError> {
    with_subjects(open_home(globals, unlock)?, globals)
}

/// The home's keyrings with the subject-key layer on top: what `encrypt --subject` seals with
/// and what `decrypt` opens with (the subject is found from the envelope header).
pub(crate) fn with_subjects(
    home: Home,
    globals: &Globals,
) -> Result<SubjectKeys<Home, SubjectStore>, CliError> {
    Ok(SubjectKeys::new(
        home,
        store::home_location(globals)?.subject_store(),
    ))
}

fn erase(a: &EraseArgs, globals: &Globals) -> Result<(), CliError> {
    input::confirm(
        a.yes,
        &format!(
            "erase the data subject's key under keyring {}? Everything sealed for them becomes unreadable",
            a.key
        ),
    )?;
    crate::cmd::mfa::second_factor(globals, &a.mfa, &a.unlock, "gdpr erase")?;
    let sink = sink(globals)?;
    let keys = subject_keys(globals, &a.unlock)?;
    let signer = signer(globals, &a.unlock)?;
    let opts = EraseOptions {
        request: a.request.as_deref(),
        actor: globals.actor.as_deref(),
        at: now(),
        backup_retention: SignedDuration::from_hours(i64::from(a.backup_retention_days) * 24),
    };
    let receipt = keys.erase(&a.key, &a.subject, &opts, &signer, &*sink)?;
    let doc: serde_json::Value =
        serde_json::from_str(&receipt.to_json()).unwrap_or(serde_json::Value::Null);
    globals.out.success(&doc, || {
        format!(
            "{}\nerased subject {} under {}; backups holding the wrapped key expire by {}",
            receipt.to_json(),
            receipt.body.subject,
            a.key,
            receipt.body.backups_expire_by
        )
    });
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputRecord {
    subject: String,
    category: String,
    record: serde_json::Value,
}

fn export_cmd(a: &ExportArgs, globals: &Globals) -> Result<(), CliError> {
    let keys = subject_keys(globals, &a.unlock)?;
    let tag = keys.subject_tag(&a.key, &a.subject)?;
    let signer = signer(globals, &a.unlock)?;
    // Progress in bytes of the records file, on a terminal only (hidden for stdin and --json).
    let total = if input::is_stdin(Some(&a.records)) {
        0
    } else {
        std::fs::metadata(&a.records).map(|m| m.len()).unwrap_or(0)
    };
    let bar = globals.out.progress(total, "exporting");
    let mut reader = BufReader::new(input::open("records file", Some(&a.records))?);
    // The bundle holds the subject's personal data: mode 0600, and it appears under its name
    // only once complete and signed.
    let mut file = AtomicFile::create(&a.out).map_err(|e| CliError::write("bundle", &a.out, &e))?;
    let mut writer = ExportWriter::new(BufWriter::new(&mut file), &tag, a.request.as_deref())?;
    let mut line = String::new();
    let mut n = 0u64;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(DOC_LIMIT + 1)
            .read_line(&mut line)
            .map_err(|e| CliError::io("records file", &a.records, &e))?;
        if read == 0 {
            break;
        }
        bar.inc(read as u64);
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        let rec: InputRecord = serde_json::from_str(&line).map_err(|_| {
            CliError::usage(format!(
                "records file line {n} is not {{\"subject\",\"category\",\"record\"}}"
            ))
        })?;
        if rec.subject == a.subject {
            writer
                .record(&rec.category, &rec.record)
                .map_err(|e| match e {
                    GdprError::Io(err) => CliError::write("bundle", &a.out, &err),
                    other => CliError::from(other),
                })?;
        }
    }
    bar.finish_and_clear();
    let (buffered, manifest) = writer.finish(now(), &signer).map_err(|e| match e {
        GdprError::Io(err) => CliError::write("bundle", &a.out, &err),
        other => CliError::from(other),
    })?;
    drop(buffered);
    file.commit()
        .map_err(|e| CliError::write("bundle", &a.out, &e))?;
    globals.out.success(&manifest, || {
        format!(
            "wrote {} ({} records in {} categories) for subject {}",
            a.out.display(),
            manifest.parts.iter().map(|p| p.records).sum::<u64>(),
            manifest.parts.len(),
            manifest.subject
        )
    });
    Ok(())
}

fn expected_key(a: &VerifyArgs, globals: &Globals) -> Result<[u8; 32], CliError> {
    match &a.public_key {
        Some(h) => hex::decode(h)
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| CliError::usage("--public-key must be 64 hex digits")),
        None => Ok(signer(globals, &a.unlock)?.public_key()),
    }
}

fn verify_export(a: &VerifyArgs, globals: &Globals) -> Result<(), CliError> {
    let expected = expected_key(a, globals)?;
    let reader = BufReader::new(input::open("bundle", Some(&a.file))?);
    let manifest: Manifest = core_gdpr::verify_bundle(reader, &expected).map_err(|e| match e {
        GdprError::Io(err) => CliError::io("bundle", &a.file, &err),
        other => CliError::from(other),
    })?;
    globals.out.success(&manifest, || {
        let mut s = format!(
            "OK: export for subject {} generated {}, signed by {}\n",
            manifest.subject, manifest.generated_at, manifest.signer
        );
        for p in &manifest.parts {
            s.push_str(&format!(
                "  {:<24} {:>8} records  sha256 {}\n",
                p.category, p.records, p.sha256
            ));
        }
        s
    });
    Ok(())
}

fn verify_receipt(a: &VerifyArgs, globals: &Globals) -> Result<(), CliError> {
    let expected = expected_key(a, globals)?;
    let doc = input::read_all("receipt", Some(&a.file), 64 * 1024)?;
    let receipt = ErasureReceipt::parse_and_verify(&doc, &expected)?;
    globals.out.success(&receipt.body, || {
        format!(
            "OK: subject {} erased at {}; backups expire by {}",
            receipt.body.subject, receipt.body.erased_at, receipt.body.backups_expire_by
        )
    });
    Ok(())
}

/// The request register of the home: `HOME/gdpr/requests.json`, or the database of `--store`.
fn register(globals: &Globals) -> Result<Box<dyn RequestRegister>, CliError> {
    Ok(store::home_location(globals)?.request_register())
}

#[derive(Serialize)]
struct RequestView<'a> {
    #[serde(flatten)]
    request: &'a Request,
    due: String,
    overdue: bool,
}

fn view(r: &Request, at: Timestamp) -> RequestView<'_> {
    RequestView {
        request: r,
        due: r.due().map(|d| d.to_string()).unwrap_or_default(),
        overdue: r.is_overdue(at),
    }
}

fn human_line(r: &Request, at: Timestamp) -> String {
    format!(
        "{:<16} {:<13} {:<11} due {}{}",
        r.id,
        r.kind.name(),
        r.status.name(),
        r.due().map(|d| d.to_string()).unwrap_or_default(),
        if r.is_overdue(at) { "  OVERDUE" } else { "" }
    )
}

fn requests(c: &RequestsCommand, globals: &Globals) -> Result<(), CliError> {
    match c {
        RequestsCommand::List(a) => {
            let at = time_arg(a.at.as_deref())?;
            let log = register(globals)?.load()?;
            let shown: Vec<&Request> = log
                .requests
                .iter()
                .filter(|r| !a.overdue || r.is_overdue(at))
                .collect();
            let data: Vec<RequestView<'_>> = shown.iter().map(|r| view(r, at)).collect();
            globals.out.success(&data, || {
                if shown.is_empty() {
                    "no requests".to_owned()
                } else {
                    shown
                        .iter()
                        .map(|r| human_line(r, at))
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            });
            Ok(())
        }
        RequestsCommand::Add(a) => {
            let received = time_arg(a.received.as_deref())?;
            let mut regime = if a.regime == "uk-gdpr" {
                Regime::uk_gdpr()
            } else {
                Regime::eu_gdpr()
            };
            regime.weekend_rolls_forward = a.weekend_rolls_forward;
            let keys = subject_keys(globals, &a.unlock)?;
            let tag = keys.subject_tag(&a.key, &a.subject)?;
            let request =
                Request::new(&a.id, RequestKind::parse(&a.kind)?, &tag, received, regime)?;
            let sink = sink(globals)?;
            let (log, events) =
                register(globals)?.update(&mut |log, pending| log.add(request.clone(), pending))?;
            forward(events, &*sink)?;
            show_one(&log, &a.id, globals, "added")
        }
        RequestsCommand::Extend(a) => {
            let at = time_arg(a.at.as_deref())?;
            let sink = sink(globals)?;
            let (log, events) = register(globals)?.update(&mut |log, pending| {
                log.get_mut(&a.id)?.extend(a.months, &a.reason, at, pending)
            })?;
            forward(events, &*sink)?;
            show_one(&log, &a.id, globals, "extended")
        }
        RequestsCommand::Start(a) => {
            let at = time_arg(a.at.as_deref())?;
            let sink = sink(globals)?;
            let (log, events) = register(globals)?
                .update(&mut |log, pending| log.get_mut(&a.id)?.start(at, pending))?;
            forward(events, &*sink)?;
            show_one(&log, &a.id, globals, "started")
        }
        RequestsCommand::Complete(a) => {
            let at = time_arg(a.at.as_deref())?;
            let sink = sink(globals)?;
            let (log, events) = register(globals)?
                .update(&mut |log, pending| log.get_mut(&a.id)?.complete(at, pending))?;
            forward(events, &*sink)?;
            show_one(&log, &a.id, globals, "completed")
        }
        RequestsCommand::Reject(a) => {
            let at = time_arg(a.at.as_deref())?;
            let sink = sink(globals)?;
            let (log, events) = register(globals)?
                .update(&mut |log, pending| log.get_mut(&a.id)?.reject(&a.reason, at, pending))?;
            forward(events, &*sink)?;
            show_one(&log, &a.id, globals, "rejected")
        }
    }
}

/// Records events that were buffered while the register changed, now that it is saved: an
/// audit entry never describes a change that did not reach the disk.
fn forward(events: Vec<trust_core::event::Event>, sink: &dyn EventSink) -> Result<(), CliError> {
    for event in events {
        sink.record(&event)?;
    }
    Ok(())
}

fn show_one(log: &RequestLog, id: &str, globals: &Globals, what: &str) -> Result<(), CliError> {
    let at = now();
    let r = log
        .requests
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| CliError::from(GdprError::UnknownRequest))?;
    globals
        .out
        .success(&view(r, at), || format!("{what}: {}", human_line(r, at)));
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    rules: Vec<RetentionRule>,
    #[serde(default)]
    items: Vec<RetentionItem>,
}

fn retention_due(a: &DueArgs, globals: &Globals) -> Result<(), CliError> {
    let at = time_arg(a.at.as_deref())?;
    let doc = input::read_all("policy", Some(&a.policy), DOC_LIMIT)?;
    // Position only: serde's message would quote the offending value, which may be an item id.
    let file: PolicyFile = serde_json::from_slice(&doc).map_err(|e| {
        CliError::usage(format!(
            "policy file is not valid JSON of the documented shape (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let policy = RetentionPolicy { rules: file.rules };
    policy
        .validate()
        .map_err(|e| CliError::usage(format!("policy file is not valid: {e}")))?;
    let mut items = file.items;
    if let Some(path) = &a.items {
        let text = input::read_all("items file", Some(path), DOC_LIMIT)?;
        for (i, line) in String::from_utf8_lossy(&text).lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            items.push(serde_json::from_str(line).map_err(|_| {
                CliError::usage(format!(
                    "items file line {} is not {{\"id\",\"category\",\"event\",\"at\"}}",
                    i + 1
                ))
            })?);
        }
    }
    let due = policy.due(&items, at);
    globals.out.success(&due, || {
        if due.is_empty() {
            format!("nothing due at {at}")
        } else {
            due.iter()
                .map(|d| {
                    format!(
                        "{:<24} {:<16} {:?} since {}",
                        d.id, d.category, d.action, d.due_at
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
    });
    Ok(())
}
