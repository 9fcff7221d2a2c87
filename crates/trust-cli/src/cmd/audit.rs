//! `trust audit`: create, append to, checkpoint, prove and verify a tamper-evident audit log.
//!
//! All logic lives in `trust_core::audit`; this module parses flags, reads inputs and renders.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::json;
use trust_backends::audit::AuditLocation;
use trust_core::audit::{
    self, AuditLog, Entry, InitOptions, Query, Receipt, SignedCheckpoint, Verifier, VerifyOptions,
    load_pseudonym_key,
};
use trust_core::durable;
use trust_core::error::Category;
use trust_core::pseudonym::Domain;

use crate::Globals;
use crate::exit::CliError;
use crate::input;

/// What each failure kind of `trust audit verify` means, in its --help and man page (error
/// hints point here: an installed user has these, not the repository's docs/).
const VERIFY_KINDS: &str = "\
Failure kinds (the code, with first_bad_index in --json):
  LEAF_HASH_MISMATCH  an entry's bytes do not hash to the hash stored with them (edited, bit rot)
  CHAIN_BREAK         entry i does not link to entry i-1: an entry altered, its hash recomputed
  INDEX_GAP           an entry is not at its position: entries deleted, inserted or reordered
  MALFORMED           bytes that no longer parse (framing, segment header, leaf, checkpoint)
  ROOT_MISMATCH       entries do not produce a signed checkpoint's root: rewritten after signing
  TRUNCATED           a checkpoint (or your pinned one) has more entries than the log
  FORK                two signed histories, or the log no longer extends your pinned checkpoint
  BAD_SIGNATURE       a checkpoint is not signed by the vkey given
  PAYLOAD_MISMATCH    a stored payload does not match its commitment
  REDACTED            not a failure: a payload was lawfully erased; the log still verifies";

/// Subcommands of `trust audit`.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Create a log and its Ed25519 checkpoint key (0600); prints the verifier key (vkey).
    ///
    /// Also creates the pseudonymization key (DIR/pseudonym.key, 0600) that turns actors and
    /// subjects into keyed hashes; back both keys up with the log.
    ///
    /// With --signing-pkcs11 the checkpoint key is generated and kept in an HSM instead.
    ///
    /// A log in PostgreSQL: --log 'postgres://app@db.internal/app?sslmode=verify-full&log=orders'
    /// (any number of logs per database, named by log=, default `audit`; the password from
    /// PGPASSWORD-free URLs is best kept in TRUST_AUDIT_LOG, never on argv in shared shells).
    /// Its keys are kept in the database's trust_audit_keys table.
    ///
    /// Example: trust audit init --log /var/lib/app/audit --origin app.example.com/audit
    Init(InitArgs),
    /// Append one entry (durable when the command returns).
    ///
    /// Example: trust audit append --log ./audit --event key.rotate --actor ops@example.com --attr key=orders
    Append(AppendArgs),
    /// Append every line of a JSONL file, one fsync per batch; prints "committed N" per batch.
    ///
    /// Each line: {"event":"key.rotate","time_ms":1700000000000,"actor":"…","subject":"…","attrs":{"k":"v"},"payload":"…"}
    /// (only "event" is required).
    ///
    /// Example: trust audit import --log ./audit events.jsonl
    Import(ImportArgs),
    /// Sign and store a checkpoint of the current log; prints the checkpoint note.
    ///
    /// Example: trust audit checkpoint --log ./audit > checkpoint.note
    Checkpoint(LogArg),
    /// Verify the whole log: framing, indexes, hashes, chain, checkpoint roots and signatures.
    ///
    /// Exit 0 intact, 1 any integrity failure (kind and first_bad_index in --json), 3 log
    /// cannot be opened. With --state, the pinned checkpoint is checked first and advanced
    /// (atomically) only after a fully successful run.
    ///
    /// Example: trust audit verify --log ./audit --vkey "$(cat vkey)" --state auditor.state --json
    #[command(after_long_help = VERIFY_KINDS)]
    Verify(VerifyArgs),
    /// Print an inclusion receipt (C2SP tlog-proof) for one entry.
    ///
    /// Example: trust audit prove --log ./audit --index 41 > entry-41.tlog-proof
    Prove(ProveArgs),
    /// Check an inclusion receipt offline (no access to the log needed).
    ///
    /// Example: trust audit verify-proof --vkey "$(cat vkey)" entry-41.tlog-proof
    VerifyProof(VerifyProofArgs),
    /// Check that a newer checkpoint extends an older one (no fork, no truncation).
    ///
    /// Example: trust audit consistency --vkey "$(cat vkey)" --old a.note --new b.note --log ./audit
    Consistency(ConsistencyArgs),
    /// Write the consistency proof between two checkpoints (one base64 hash per line), for an
    /// auditor who checks it without access to the log (`consistency --proof FILE`).
    ///
    /// The proof is checked against both notes before it is printed.
    ///
    /// Example: trust audit consistency-proof --log ./audit --old jan.note --new feb.note > proof.txt
    ConsistencyProof(ConsistencyProofArgs),
    /// Show entries: by index, event type, actor or subject, time range (reads without a lock).
    ///
    /// Actors and subjects are stored as keyed pseudonyms: --actor/--subject take the plain id
    /// and need the log's pseudonym key (DIR/pseudonym.key, or --pseudonym-key-file); without
    /// the key, search by a pseudonym the operator gives you (--actor-pseudonym HEX). Every
    /// entry's stored hash is checked as it is read; `verify` checks everything else.
    ///
    /// Example: trust audit show --log ./audit --event 'key.*' --since 2026-01-01T00:00:00Z --json
    Show(ShowArgs),
    /// Write a key-free copy of the log (no signing key, no pseudonymization key) that an
    /// auditor verifies offline with `trust audit verify --log DIR --vkey …`.
    ///
    /// The target must be missing or empty. The log may keep being appended to meanwhile; the
    /// copy holds what was acknowledged when it was taken.
    ///
    /// A log in PostgreSQL is exported from one consistent snapshot into the same directory
    /// format, byte for byte what a directory log with those entries holds.
    ///
    /// Example: trust audit export --log ./audit --to ./audit-2026-q4
    /// Example: trust audit export --log "$TRUST_AUDIT_LOG" --to ./audit-2026-q4
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The log: a directory, or a postgres:// URL (…?log=NAME).
    #[arg(long, value_name = "LOG", env = "TRUST_AUDIT_LOG")]
    log: PathBuf,
    /// The directory to write (created; must be empty).
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct LogArg {
    /// The log: a directory, or a postgres:// URL (…?log=NAME).
    #[arg(long, value_name = "LOG", env = "TRUST_AUDIT_LOG")]
    log: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The log: a directory (created; must not already hold a log), or a postgres:// URL
    /// (…?log=NAME; the schema is created or migrated).
    #[arg(long, value_name = "LOG", env = "TRUST_AUDIT_LOG")]
    log: PathBuf,
    /// The log's identity, also the key name: a schema-less URL such as example.com/audit.
    #[arg(long)]
    origin: String,
    /// Sign checkpoints with an Ed25519 key in a PKCS#11 token (HSM), named by an RFC 7512 URI
    /// with module-path; generated in the token when absent. No signing.key file is written.
    /// The PIN comes from TRUST_PKCS11_PIN or --pin-file.
    #[arg(long, value_name = "URI")]
    signing_pkcs11: Option<String>,
    /// Read the HSM user PIN from this file (- for stdin) instead of $TRUST_PKCS11_PIN.
    #[arg(long, value_name = "FILE")]
    pin_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct AppendArgs {
    /// The log: a directory, or a postgres:// URL (…?log=NAME).
    #[arg(long, value_name = "LOG", env = "TRUST_AUDIT_LOG")]
    log: PathBuf,
    /// Event type, [a-z0-9._-], e.g. key.rotate.
    #[arg(long, value_name = "TYPE")]
    event: String,
    /// Who did it; stored only as a keyed pseudonym.
    #[arg(long, value_name = "ID")]
    actor: Option<String>,
    /// Whom it concerns; stored only as a keyed pseudonym.
    #[arg(long, value_name = "ID")]
    subject: Option<String>,
    /// Non-personal attribute key=value (repeatable).
    #[arg(long = "attr", value_name = "K=V")]
    attrs: Vec<String>,
    /// Payload stored apart from the leaf (salted commitment in the leaf; deletable); - = stdin.
    #[arg(long, value_name = "F")]
    payload_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The log: a directory, or a postgres:// URL (…?log=NAME).
    #[arg(long, value_name = "LOG", env = "TRUST_AUDIT_LOG")]
    log: PathBuf,
    /// Entries per group commit (one fsync each).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    batch: u64,
    /// JSONL file, one entry per line; - = stdin.
    file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The log: a directory, or a postgres:// URL (…?log=NAME).
    #[arg(long, value_name = "LOG", env = "TRUST_AUDIT_LOG")]
    log: PathBuf,
    /// The log's verifier key (vkey text, or a file holding it).
    #[arg(long, value_name = "VKEY")]
    vkey: String,
    /// Auditor state: the checkpoint pinned by the last successful run (created if missing).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Do not check payload commitments.
    #[arg(long)]
    skip_payloads: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ProveArgs {
    /// The log: a directory, or a postgres:// URL (…?log=NAME).
    #[arg(long, value_name = "LOG", env = "TRUST_AUDIT_LOG")]
    log: PathBuf,
    /// Entry index.
    #[arg(long, value_name = "I")]
    index: u64,
    /// Prove against the stored checkpoint of this size (default: the newest, signing one if
    /// none covers the entry).
    #[arg(long, value_name = "N")]
    size: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyProofArgs {
    /// The log's verifier key (vkey text, or a file holding it).
    #[arg(long, value_name = "VKEY")]
    vkey: String,
    /// Require this origin (default: the vkey's name).
    #[arg(long)]
    origin: Option<String>,
    /// The receipt (tlog-proof); - = stdin.
    receipt: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ConsistencyArgs {
    /// The log's verifier key (vkey text, or a file holding it).
    #[arg(long, value_name = "VKEY")]
    vkey: String,
    /// The older checkpoint note.
    #[arg(long, value_name = "FILE")]
    old: PathBuf,
    /// The newer checkpoint note.
    #[arg(long, value_name = "FILE")]
    new: PathBuf,
    /// Compute the proof from this log (a directory or a postgres:// URL).
    #[arg(long, value_name = "LOG", conflicts_with = "proof")]
    log: Option<PathBuf>,
    /// Read the proof (one base64 hash per line) from this file.
    #[arg(long, value_name = "FILE")]
    proof: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ConsistencyProofArgs {
    /// The log: a directory, or a postgres:// URL (…?log=NAME).
    #[arg(long, value_name = "LOG", env = "TRUST_AUDIT_LOG")]
    log: PathBuf,
    /// The older checkpoint note (signed by this log).
    #[arg(long, value_name = "FILE")]
    old: PathBuf,
    /// The newer checkpoint note (signed by this log).
    #[arg(long, value_name = "FILE")]
    new: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The log: a directory, or a postgres:// URL (…?log=NAME).
    #[arg(long, value_name = "LOG", env = "TRUST_AUDIT_LOG")]
    log: PathBuf,
    /// One entry, or a range FIRST..LAST (inclusive).
    #[arg(long, value_name = "I|FIRST..LAST")]
    index: Option<String>,
    /// Event type, exact or a prefix ending in '*' (key.*).
    #[arg(long, value_name = "TYPE")]
    event: Option<String>,
    /// Entries by this actor (plain id; needs the pseudonym key).
    #[arg(long, value_name = "ID", conflicts_with = "actor_pseudonym")]
    actor: Option<String>,
    /// Entries concerning this data subject (plain id; needs the pseudonym key).
    #[arg(long, value_name = "ID", conflicts_with = "subject_pseudonym")]
    subject: Option<String>,
    /// Entries by this actor pseudonym (64 hex digits, as `show` prints them).
    #[arg(long, value_name = "HEX")]
    actor_pseudonym: Option<String>,
    /// Entries concerning this subject pseudonym (64 hex digits).
    #[arg(long, value_name = "HEX")]
    subject_pseudonym: Option<String>,
    /// The log's pseudonym key (default: DIR/pseudonym.key).
    #[arg(long, value_name = "FILE")]
    pseudonym_key_file: Option<PathBuf>,
    /// Entries at or after this time (RFC 3339, e.g. 2026-01-31T09:00:00Z).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Entries before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Show at most this many entries.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    limit: u64,
}

pub(crate) fn run(cmd: AuditCommand, g: &Globals) -> Result<(), CliError> {
    match cmd {
        AuditCommand::Init(a) => init(&a, g),
        AuditCommand::Append(a) => append(&a, g),
        AuditCommand::Import(a) => import(&a, g),
        AuditCommand::Checkpoint(a) => checkpoint(&a, g),
        AuditCommand::Verify(a) => verify(&a, g),
        AuditCommand::Prove(a) => prove(&a, g),
        AuditCommand::VerifyProof(a) => verify_proof(&a, g),
        AuditCommand::Consistency(a) => consistency(&a, g),
        AuditCommand::ConsistencyProof(a) => consistency_proof(&a, g),
        AuditCommand::Show(a) => show(&a, g),
        AuditCommand::Export(a) => export(&a, g),
    }
}

const NOTE_LIMIT: u64 = 1 << 16;

/// A vkey given inline, or the path of a file holding one.
fn load_vkey(arg: &str) -> Result<Verifier, CliError> {
    let text = if arg.contains('+') {
        arg.to_owned()
    } else {
        let p = Path::new(arg);
        let bytes = input::read_all("the vkey file", Some(p), NOTE_LIMIT)?;
        String::from_utf8(bytes).map_err(|_| CliError::usage("the vkey file is not text"))?
    };
    Verifier::from_vkey(text.trim()).map_err(|_| {
        CliError::usage("the vkey is malformed")
            .hint("expected NAME+HEXID+BASE64, as printed by `trust audit init`")
    })
}

/// Opens the log for writing. Writers hold the log's lock only while they append, so this
/// waits (up to `TRUST_AUDIT_LOCK_WAIT` seconds, default 30) for another writer's append rather
/// than failing; a lock held longer than that is a stuck process and exits 3
/// (`AUDIT_LOG_BUSY`).
pub(crate) fn open_log(log: &Path) -> Result<AuditLog, CliError> {
    crate::cmd::home::open_audit_log(log)
}

/// `--log`: a directory or a database URL, told apart by trust-backends (never here).
fn location(log: &Path) -> Result<AuditLocation, CliError> {
    Ok(AuditLocation::parse(log)?)
}

/// `TRUST_AUDIT_LOCK_WAIT`: seconds a command waits for the audit log's lock.
pub(crate) fn lock_wait() -> Result<std::time::Duration, CliError> {
    match std::env::var("TRUST_AUDIT_LOCK_WAIT") {
        Err(_) => Ok(audit::DEFAULT_LOCK_WAIT),
        Ok(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && (0.0..=86_400.0).contains(s))
            .map(std::time::Duration::from_secs_f64)
            .ok_or_else(|| {
                CliError::usage(format!(
                    "TRUST_AUDIT_LOCK_WAIT={v:?} is not a number of seconds"
                ))
                .hint("use a number between 0 and 86400, e.g. TRUST_AUDIT_LOCK_WAIT=60")
            }),
    }
}

fn init(a: &InitArgs, g: &Globals) -> Result<(), CliError> {
    let mut options = InitOptions::new(a.origin.clone());
    if let Some(uri) = &a.signing_pkcs11 {
        options.external_signer = Some(crate::cmd::home::pkcs11_log_signer(
            uri,
            a.pin_file.as_deref(),
        )?);
    } else if a.pin_file.is_some() {
        return Err(CliError::usage(
            "--pin-file only goes with --signing-pkcs11",
        ));
    }
    let loc = location(&a.log)?;
    let vkey = loc.init(&options)?;
    let v = vkey.vkey();
    // The location as displayed: a URL without its password.
    let shown = loc.to_string();
    g.out.success(
        &json!({"log": shown, "origin": a.origin, "vkey": v}),
        || {
            format!(
                "created audit log {shown} (origin {})\nverifier key (give this to auditors):\n{v}",
                a.origin
            )
        },
    );
    Ok(())
}

fn parse_attrs(attrs: &[String], entry: &mut Entry) -> Result<(), CliError> {
    for kv in attrs {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--attr {kv:?} is not key=value")))?;
        entry.attrs.insert(k.to_owned(), v.to_owned());
    }
    Ok(())
}

fn append(a: &AppendArgs, g: &Globals) -> Result<(), CliError> {
    let mut e = Entry::new(a.event.clone());
    e.actor.clone_from(&a.actor);
    e.subject.clone_from(&a.subject);
    parse_attrs(&a.attrs, &mut e)?;
    e.validate()?;
    if let Some(p) = &a.payload_file {
        e.payload = Some(input::read_all("the payload", Some(p), 64 << 20)?);
    }
    let log = open_log(&a.log)?;
    let index = log.append(&e)?;
    g.out.success(&json!({"index": index}), || {
        format!("appended entry {index}")
    });
    Ok(())
}

fn import(a: &ImportArgs, g: &Globals) -> Result<(), CliError> {
    let reader = BufReader::new(input::open("the import file", Some(&a.file))?);
    let log = open_log(&a.log)?;
    let first = log.size()?;
    let mut batch: Vec<Entry> = Vec::with_capacity(usize::try_from(a.batch).unwrap_or(1024));
    let mut committed = 0u64;
    let bar = g.out.progress(0, "importing");
    let flush = |batch: &mut Vec<Entry>, committed: &mut u64| -> Result<(), CliError> {
        if batch.is_empty() {
            return Ok(());
        }
        let r = log.append_batch(batch)?;
        *committed += r.end - r.start;
        batch.clear();
        bar.set_position(*committed);
        if !g.out.is_json() {
            // One line per group commit: everything up to here is durable.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "committed {committed}");
            let _ = out.flush();
        }
        Ok(())
    };
    for (n, line) in reader.split(b'\n').enumerate() {
        let line = line.map_err(|e| CliError::io("the import file", &a.file, &e))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let entry = Entry::from_json_line(&line)
            .and_then(|e| e.validate().map(|()| e))
            .map_err(|e| {
                let e = CliError::from(e);
                CliError::new(
                    e.category(),
                    e.code(),
                    format!("line {}: {}", n + 1, e.message()),
                )
                .hint(format!(
                    "{committed} entries before this batch were committed"
                ))
            })?;
        batch.push(entry);
        if batch.len() as u64 >= a.batch {
            flush(&mut batch, &mut committed)?;
        }
    }
    flush(&mut batch, &mut committed)?;
    bar.finish_and_clear();
    g.out.success(
        &json!({"imported": committed, "first_index": first, "size": first + committed}),
        || {
            format!(
                "imported {committed} entries (log size {})",
                first + committed
            )
        },
    );
    Ok(())
}

fn checkpoint(a: &LogArg, g: &Globals) -> Result<(), CliError> {
    let log = open_log(&a.log)?;
    let cp = log.checkpoint()?;
    g.out.success(
        &json!({"size": cp.checkpoint.size, "note": cp.note}),
        || cp.note.clone(),
    );
    Ok(())
}

fn verify(a: &VerifyArgs, g: &Globals) -> Result<(), CliError> {
    let vkey = load_vkey(&a.vkey)?;
    let pinned = match &a.state {
        Some(p) if p.exists() => Some(input::read_all("the state file", Some(p), NOTE_LIMIT)?),
        _ => None,
    };
    let bar = g.out.progress(0, "verifying");
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let mut opts = VerifyOptions::new(vec![vkey]);
    opts.pinned = pinned;
    opts.check_payloads = !a.skip_payloads;
    opts.progress = Some(&progress);
    let report = location(&a.log)?.verify(&opts)?;
    bar.finish_and_clear();
    let Some(failure) = &report.failure else {
        // Only a fully successful run may advance the auditor's pin.
        match (&a.state, &report.pin) {
            (Some(state), Some(pin)) => durable::write_atomic(state, pin.as_bytes())
                .map_err(|e| CliError::write("the state file", state, &e))?,
            // Pinning an unsigned size would let whoever writes the log (and can sign nothing)
            // dictate what the auditor remembers; refuse loudly instead of passing silently.
            (Some(state), None) => {
                return Err(CliError::new(
                    Category::Usage,
                    "NO_CHECKPOINT",
                    format!(
                        "the log's {} entries verified, but it has no signed checkpoint, so there is nothing to pin in {}: deleted entries could not be detected next time",
                        report.entries,
                        state.display()
                    ),
                )
                .hint("ask the operator to sign one with `trust audit checkpoint --log DIR`, then run verify --state again")
                .details(serde_json::Map::from_iter([(
                    "report".to_owned(),
                    json!(report),
                )])));
            }
            (None, _) => {}
        }
        g.out.success(&report, || {
            let cp = report
                .latest_checkpoint
                .as_ref()
                .map_or("no signed checkpoint yet".to_owned(), |c| {
                    format!("latest checkpoint size {} verified", c.size)
                });
            let mut s = format!(
                "ok: {} entries intact; {cp}; root {}",
                report.entries, report.root
            );
            if !report.redacted.is_empty() {
                s.push_str(&format!(
                    "\nredacted payloads (erased, not tampered): {}",
                    report.counts.get("REDACTED").copied().unwrap_or(0)
                ));
            }
            let signed = report.latest_checkpoint.as_ref().map_or(0, |c| c.size);
            if report.entries > signed {
                s.push_str(&format!(
                    "\nnote: the last {} entries are not covered by a signed checkpoint yet; a pin cannot protect them until `trust audit checkpoint` signs one",
                    report.entries - signed
                ));
            }
            if report.torn_tail_bytes > 0 {
                s.push_str(&format!(
                    "\nnote: {} bytes of an unacknowledged append at the end (a writer will truncate them)",
                    report.torn_tail_bytes
                ));
            }
            s
        });
        return Ok(());
    };
    let kind = failure.kind.as_str();
    let at = report
        .first_bad_index
        .map_or(String::new(), |i| format!(", first bad entry {i}"));
    let mut details = serde_json::Map::new();
    details.insert("kind".into(), json!(kind));
    details.insert("first_bad_index".into(), json!(report.first_bad_index));
    details.insert("report".into(), json!(report));
    Err(CliError::new(
        Category::Verification,
        kind,
        format!(
            "audit log verification failed: {kind}{at}: {}",
            failure.detail
        ),
    )
    .hint("`trust audit verify --help` (or man trust-audit-verify) says what this kind means; the state file was not updated")
    .details(details))
}

fn prove(a: &ProveArgs, g: &Globals) -> Result<(), CliError> {
    let log = open_log(&a.log)?;
    let receipt = log.prove(a.index, a.size)?;
    let text = receipt.to_text();
    g.out
        .success(&json!({"index": a.index, "receipt": text}), || text.clone());
    Ok(())
}

fn verify_proof(a: &VerifyProofArgs, g: &Globals) -> Result<(), CliError> {
    let vkey = load_vkey(&a.vkey)?;
    let bytes = input::read_all(
        "the receipt",
        Some(&a.receipt),
        audit::MAX_RECEIPT_LEN as u64,
    )?;
    let receipt = Receipt::parse(&bytes)?;
    let origin = a.origin.clone().unwrap_or_else(|| vkey.name().to_owned());
    let (cp, leaf) = receipt.verify(&[vkey], Some(&origin), None)?;
    g.out.success(
        &json!({
            "index": receipt.index,
            "checkpoint_size": cp.checkpoint.size,
            "event": leaf.event_type,
            "time_unix_ms": leaf.time_unix_ms,
        }),
        || {
            format!(
                "ok: entry {} ({}, at {}) is in the log {} of size {}",
                receipt.index,
                leaf.event_type,
                trust_core::clock::rfc3339_ms(leaf.time_unix_ms),
                cp.checkpoint.origin,
                cp.checkpoint.size
            )
        },
    );
    Ok(())
}

fn consistency(a: &ConsistencyArgs, g: &Globals) -> Result<(), CliError> {
    let vkey = load_vkey(&a.vkey)?;
    let old = input::read_all("the old checkpoint", Some(&a.old), NOTE_LIMIT)?;
    let new = input::read_all("the new checkpoint", Some(&a.new), NOTE_LIMIT)?;
    let known = [vkey];
    let proof_hashes = match (&a.log, &a.proof) {
        (Some(dir), _) => {
            // Read the sizes (signatures are checked below) to ask the log for the proof.
            let o = SignedCheckpoint::open(&old, &known, None)?;
            let n = SignedCheckpoint::open(&new, &known, None)?;
            let (s1, s2) = (o.checkpoint.size, n.checkpoint.size);
            if s1 == 0 || s1 >= s2 {
                Vec::new()
            } else {
                open_log(dir)?.consistency_proof(s1, s2)?
            }
        }
        (None, Some(p)) => {
            let text = input::read_all("the proof", Some(p), audit::MAX_RECEIPT_LEN as u64)?;
            audit::parse_hash_lines(&text)?
        }
        (None, None) => Vec::new(),
    };
    let (o, n) = audit::verify_checkpoint_consistency(&old, &new, &known, &proof_hashes)?;
    let lines = audit::format_hash_lines(&proof_hashes);
    g.out.success(
        &json!({
            "old_size": o.checkpoint.size,
            "new_size": n.checkpoint.size,
            "proof": lines,
        }),
        || {
            format!(
                "ok: checkpoint {} extends checkpoint {} (no fork, no truncation)",
                n.checkpoint.size, o.checkpoint.size
            )
        },
    );
    Ok(())
}

fn consistency_proof(a: &ConsistencyProofArgs, g: &Globals) -> Result<(), CliError> {
    let old = input::read_all("the old checkpoint", Some(&a.old), NOTE_LIMIT)?;
    let new = input::read_all("the new checkpoint", Some(&a.new), NOTE_LIMIT)?;
    let log = open_log(&a.log)?;
    let known = [log.verifier().clone()];
    let o = SignedCheckpoint::open(&old, &known, Some(log.origin()))?;
    let n = SignedCheckpoint::open(&new, &known, Some(log.origin()))?;
    let (s1, s2) = (o.checkpoint.size, n.checkpoint.size);
    let hashes = if s1 == 0 || s1 >= s2 {
        Vec::new()
    } else {
        log.consistency_proof(s1, s2)?
    };
    // Never hand out a proof that fails for the auditor: check it as they will.
    audit::verify_checkpoint_consistency(&old, &new, &known, &hashes)?;
    let lines = audit::format_hash_lines(&hashes);
    g.out.success(
        &json!({"old_size": s1, "new_size": s2, "proof": lines}),
        || lines.trim_end().to_owned(),
    );
    Ok(())
}

fn pseudonym_arg(flag: &str, hex_text: &str) -> Result<[u8; 32], CliError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text.trim(), &mut out).map_err(|_| {
        CliError::usage(format!("{flag} must be 64 hex digits"))
            .hint("copy the pseudonym from `trust audit show` output")
    })?;
    Ok(out)
}

fn time_arg(flag: &str, text: &str) -> Result<i64, CliError> {
    let t: jiff::Timestamp = text.parse().map_err(|_| {
        CliError::usage(format!("{flag} {text:?} is not an RFC 3339 time"))
            .hint("for example 2026-01-31T09:00:00Z")
    })?;
    Ok(t.as_millisecond())
}

fn index_arg(text: &str) -> Result<std::ops::RangeInclusive<u64>, CliError> {
    let bad = || CliError::usage(format!("--index {text:?} is not I or FIRST..LAST"));
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    match text.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b.strip_prefix('=').unwrap_or(b))?);
            if a > b {
                return Err(bad());
            }
            Ok(a..=b)
        }
        None => num(text).map(|i| i..=i),
    }
}

fn format_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| format!("{ms} ms"), |t| t.to_string())
}

fn show(a: &ShowArgs, g: &Globals) -> Result<(), CliError> {
    let mut q = Query::all();
    q.indexes = a.index.as_deref().map(index_arg).transpose()?;
    q.event_type.clone_from(&a.event);
    q.since_ms = a
        .since
        .as_deref()
        .map(|t| time_arg("--since", t))
        .transpose()?;
    q.until_ms = a
        .until
        .as_deref()
        .map(|t| time_arg("--until", t))
        .transpose()?;
    q.actor = a
        .actor_pseudonym
        .as_deref()
        .map(|h| pseudonym_arg("--actor-pseudonym", h))
        .transpose()?;
    q.subject = a
        .subject_pseudonym
        .as_deref()
        .map(|h| pseudonym_arg("--subject-pseudonym", h))
        .transpose()?;
    let loc = location(&a.log)?;
    if (a.actor.is_some() || a.subject.is_some())
        && a.pseudonym_key_file.is_none()
        && loc.dir().is_none()
    {
        // A database log keeps its pseudonym key in the database: the writer's handle has it.
        let log = open_log(&a.log)?;
        q.actor = a.actor.as_deref().map(|id| log.actor_pseudonym(id));
        q.subject = a.subject.as_deref().map(|id| log.subject_pseudonym(id));
    } else if a.actor.is_some() || a.subject.is_some() {
        let path = a.pseudonym_key_file.clone().unwrap_or_else(|| {
            loc.dir()
                .unwrap_or(Path::new("."))
                .join(audit::files::PSEUDONYM_KEY)
        });
        let key = load_pseudonym_key(&path).map_err(|e| {
            CliError::from(e).hint(
                "--actor/--subject need the log's pseudonym key; without it, ask the operator for the pseudonym and use --actor-pseudonym/--subject-pseudonym",
            )
        })?;
        if let Some(id) = &a.actor {
            q.actor = Some(*key.pseudonym(Domain::Actor, id).as_bytes());
        }
        if let Some(id) = &a.subject {
            q.subject = Some(*key.pseudonym(Domain::Subject, id).as_bytes());
        }
    }
    let mut shown: Vec<serde_json::Value> = Vec::new();
    let mut more = false;
    let limit = usize::try_from(a.limit).unwrap_or(usize::MAX);
    loc.search(&q, |leaf| {
        if shown.len() >= limit {
            more = true;
            return false;
        }
        let attrs: serde_json::Map<String, serde_json::Value> = leaf
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        shown.push(json!({
            "index": leaf.index,
            "time": format_ms(leaf.time_unix_ms),
            "time_unix_ms": leaf.time_unix_ms,
            "event": leaf.event_type,
            "writer": leaf.writer_id,
            "actor": leaf.actor.map(hex::encode),
            "subject": leaf.subject.map(hex::encode),
            "pseudonym_key_version": leaf.pseudonym_key_version,
            "attrs": attrs,
            "payload_len": leaf.payload.map(|p| p.len),
        }));
        true
    })?;
    g.out.success(
        &json!({"count": shown.len(), "truncated": more, "entries": shown}),
        || {
            let mut out: Vec<String> = shown
                .iter()
                .map(|e| {
                    let mut line = format!(
                        "{:>6}  {}  {}",
                        e["index"].as_u64().unwrap_or(0),
                        e["time"].as_str().unwrap_or(""),
                        e["event"].as_str().unwrap_or("")
                    );
                    for who in ["actor", "subject"] {
                        if let Some(p) = e[who].as_str() {
                            line.push_str(&format!("  {who}={p}"));
                        }
                    }
                    if let Some(attrs) = e["attrs"].as_object() {
                        for (k, v) in attrs {
                            line.push_str(&format!("  {k}={}", v.as_str().unwrap_or("")));
                        }
                    }
                    if let Some(n) = e["payload_len"].as_u64() {
                        line.push_str(&format!("  payload={n}B"));
                    }
                    line
                })
                .collect();
            if shown.is_empty() {
                out.push("no matching entries".to_owned());
            }
            if more {
                out.push(format!(
                    "(stopped after {limit} entries; raise --limit or narrow the query)"
                ));
            }
            out.join("\n")
        },
    );
    Ok(())
}

fn export(a: &ExportArgs, g: &Globals) -> Result<(), CliError> {
    let s = location(&a.log)?.export(&a.to)?;
    g.out.success(&json!({"to": a.to, "export": s}), || {
        format!(
            "exported {} entries, {} checkpoints, {} payloads to {} (no keys: verify with `trust audit verify --log {} --vkey …`)",
            s.entries,
            s.checkpoints,
            s.payloads,
            a.to.display(),
            a.to.display()
        )
    });
    Ok(())
}
