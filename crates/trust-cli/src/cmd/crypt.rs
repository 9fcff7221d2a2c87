//! `trust encrypt`, `trust decrypt`, `trust rewrap`, `trust inspect`.
//!
//! Output discipline (the part a script relies on):
//!
//! * `-o OUT` naming a regular file (or a new one) is written through
//!   [`trust_core::durable::AtomicFile`]: on any failure OUT is untouched (it keeps its old
//!   content or does not appear), on success it appears whole, and a `kill -9` leaves no
//!   partial copy anywhere. `-o` naming a FIFO or a device writes to it directly, as stdout.
//! * `trust decrypt` to stdout (or to a FIFO or device) streams: each 16 KiB chunk is released
//!   only after its tag verified. A truncated or tampered message ends with an error and exit 1
//!   after the authenticated prefix; the consumer must discard what it read when the exit status
//!   is not 0 (`docs/format-envelope.md`, "Streaming to a pipe").
//! * With `--json` stdout carries exactly one JSON object: the bytes go to `-o`, or, without
//!   `-o`, into the object as base64 (at most [`JSON_INLINE_LIMIT`] bytes, released only once
//!   the whole message authenticated).
//! * Binary ciphertext is never written to a terminal; use `--armor` or `-o`.

use std::fs::File;
use std::io::{self, BufRead, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use serde_json::json;
use trust_core::durable::{AtomicFile, OutputFile};
use trust_core::envelope::{
    self, Context, EnvelopeError, MAX_HEADER_LEN, MAX_TOKEN_PLAINTEXT, Opener, Sealer,
};
use trust_core::keyring::{Home, ItemStatus, Rewrapper, Sealed};
use trust_core::provider::{EncryptionKey, KeyProvider as _, KeyRef};

use crate::Globals;
use crate::cmd::home::{UnlockArgs, open_home, open_home_with_block};
use crate::exit::CliError;
use crate::input;

/// Largest payload embedded (base64) in a `--json` object: it is held in memory until the whole
/// message authenticated.
pub(crate) const JSON_INLINE_LIMIT: usize = 16 << 20;
/// I/O buffer for streaming.
const BUF_LEN: usize = 256 << 10;
/// Largest armored (token) input read.
const TOKEN_INPUT_LIMIT: u64 = (MAX_TOKEN_PLAINTEXT as u64) * 2;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: trust encrypt --key orders --context tenant=acme -i creds.json -o creds.json.tle"
)]
pub(crate) struct EncryptArgs {
    /// The keyring whose Primary seals the message.
    #[arg(long, value_name = "NAME")]
    key: String,
    /// A context pair bound to the message (repeatable); decrypt must give the same pairs.
    #[arg(long = "context", value_name = "K=V")]
    context: Vec<String>,
    /// Input file (default stdin).
    #[arg(short = 'i', long = "in", value_name = "IN")]
    input: Option<PathBuf>,
    /// Output file (default stdout); written atomically.
    #[arg(short = 'o', long = "out", value_name = "OUT")]
    output: Option<PathBuf>,
    /// Write a `tle1.` text token (context not stored; at most 1 MiB of plaintext).
    #[arg(long)]
    armor: bool,
    /// Seal for this data subject (GDPR): under the subject's own key, wrapped by the keyring,
    /// so that `trust gdpr erase` makes it unreadable. Only the subject's pseudonym is stored.
    #[arg(long, value_name = "ID")]
    subject: Option<String>,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: trust decrypt --context tenant=acme -i creds.json.tle -o creds.json"
)]
pub(crate) struct DecryptArgs {
    /// The context pairs the message was sealed with (repeatable).
    #[arg(long = "context", value_name = "K=V")]
    context: Vec<String>,
    /// Input file, binary or `tle1.`/`tle2.` token (default stdin).
    #[arg(short = 'i', long = "in", value_name = "IN")]
    input: Option<PathBuf>,
    /// Output file, written atomically and only after full authentication (a FIFO or device is
    /// written directly). Default stdout: streamed, each chunk released once it authenticated;
    /// a truncated or tampered message then ends with exit 1 after an authenticated prefix.
    #[arg(short = 'o', long = "out", value_name = "OUT")]
    output: Option<PathBuf>,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  trust rewrap backups/*.tle\n  psql -Atc \"select id || chr(9) || token from creds\" | trust rewrap --tokens - --context tenant=acme -o moved.tsv"
)]
pub(crate) struct RewrapArgs {
    /// Envelope files to move to their keyring's current Primary, in place.
    #[arg(required_unless_present = "tokens", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Read `tle1.`/`tle2.` tokens, one per line (optionally `ID<TAB>TOKEN`), from FILE (- for stdin),
    /// e.g. a database column; write each line back, token replaced, to -o (or stdout).
    #[arg(long, value_name = "FILE", conflicts_with = "files")]
    tokens: Option<PathBuf>,
    /// Where --tokens writes its lines (default stdout; required with --json).
    #[arg(short = 'o', long = "out", value_name = "OUT", requires = "tokens")]
    output: Option<PathBuf>,
    /// Context of tokens (they do not store theirs); binary envelopes ignore it.
    #[arg(long = "context", value_name = "K=V")]
    context: Vec<String>,
    /// Change nothing: report which files or token lines are not under their keyring's
    /// Primary yet (exit 1, NOT_CURRENT, when any is). Headers only; the census is untouched.
    #[arg(long, conflicts_with = "output")]
    check: bool,
    #[command(flatten)]
    unlock: UnlockArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust inspect creds.json.tle")]
pub(crate) struct InspectArgs {
    /// The envelope file or token file (- for stdin).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

fn context(pairs: &[String]) -> Result<Context, CliError> {
    Ok(Context::from_assignments(pairs)?)
}

fn in_path(p: Option<&Path>) -> &Path {
    if input::is_stdin(p) {
        Path::new("stdin")
    } else {
        p.unwrap_or(Path::new("-"))
    }
}

/// Refuses `-i X -o X`: the output would be truncated before the input is read.
fn distinct(input: Option<&Path>, output: Option<&Path>) -> Result<(), CliError> {
    if let (Some(i), Some(o)) = (input, output)
        && i != Path::new("-")
        && let (Ok(a), Ok(b)) = (i.canonicalize(), o.canonicalize())
        && a == b
    {
        return Err(CliError::usage("input and output are the same file").hint(
            "write to another file and rename it, or use `trust rewrap` to rotate in place",
        ));
    }
    Ok(())
}

/// Reads up to `n` bytes (fewer only at end of input).
fn read_prefix(reader: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(n);
    reader.take(n as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

fn env_err(e: EnvelopeError, what: &str, path: &Path) -> CliError {
    match e {
        EnvelopeError::Io(io) => CliError::io(what, path, &io),
        other => other.into(),
    }
}

pub(crate) fn encrypt(a: &EncryptArgs, globals: &Globals) -> Result<(), CliError> {
    distinct(a.input.as_deref(), a.output.as_deref())?;
    let ctx = context(&a.context)?;
    if a.output.is_none() && !a.armor && !globals.out.is_json() && io::stdout().is_terminal() {
        return Err(
            CliError::usage("refusing to write binary ciphertext to a terminal")
                .hint("use --armor for a text token, or -o FILE"),
        );
    }
    let mut reader = input::open("input", a.input.as_deref())?;
    let home = open_home_with_block(globals, &a.unlock, 1)?;
    // Classify keyring problems (unknown, damaged, tampered) before anything is written.
    home.keyring(&a.key)?;
    // One key for the whole message: the keyring's Primary, or (with --subject) the subject's key.
    let keys = crate::cmd::gdpr::with_subjects(home, globals)?;
    let enc = match &a.subject {
        Some(subject) => keys.encryption_key_for(&a.key, subject)?,
        None => keys.tenant().encryption_key(&a.key)?,
    };
    let in_err = |e: io::Error| CliError::io("input", in_path(a.input.as_deref()), &e);
    let key = enc.key_ref.to_string();
    if a.armor {
        let mut plain = zeroize::Zeroizing::new(Vec::new());
        (&mut reader)
            .take(MAX_TOKEN_PLAINTEXT as u64 + 1)
            .read_to_end(&mut plain)
            .map_err(in_err)?;
        let token = envelope::seal_token_with(&enc, &ctx, &plain).map_err(|e| {
            CliError::from(e).hint("--armor is for values up to 1 MiB; drop it for files")
        })?;
        let out = output_path(a.output.as_deref());
        if globals.out.is_json() && out.is_none() {
            globals
                .out
                .success(&json!({"key": key, "token": token}), String::new);
            return Ok(());
        }
        let bytes = write_output(out, format!("{token}\n").as_bytes())?;
        return report_written(globals, out, bytes, &key);
    }
    match output_path(a.output.as_deref()) {
        Some(out) => {
            let mut file =
                OutputFile::create(out).map_err(|e| CliError::write("output", out, &e))?;
            let mut counted = Counting::new(&mut file);
            seal_stream(
                &enc,
                &ctx,
                &mut reader,
                BufWriter::with_capacity(BUF_LEN, &mut counted),
                a,
            )?;
            let bytes = counted.n;
            file.commit()
                .map_err(|e| CliError::write("output", out, &e))?;
            report_written(globals, Some(out), bytes, &key)
        }
        None if globals.out.is_json() => {
            // Held in memory for the object: read at most one byte past the limit.
            let mut limited = (&mut reader).take(JSON_INLINE_LIMIT as u64 + 1);
            let mut sealed = Counting::new(Vec::new());
            seal_stream(
                &enc,
                &ctx,
                &mut limited,
                BufWriter::with_capacity(BUF_LEN, &mut sealed),
                a,
            )?;
            if limited.limit() == 0 {
                inline_limit(JSON_INLINE_LIMIT + 1, "plaintext")?;
            }
            let sealed = sealed.into_inner();
            globals.out.success(
                &json!({"key": key, "bytes": sealed.len(), "envelope_base64": B64.encode(&sealed)}),
                String::new,
            );
            Ok(())
        }
        None => {
            let stdout = io::stdout().lock();
            seal_stream(
                &enc,
                &ctx,
                &mut reader,
                BufWriter::with_capacity(BUF_LEN, stdout),
                a,
            )
        }
    }
}

/// `-o PATH`, unless absent or `-` (stdout).
fn output_path(out: Option<&Path>) -> Option<&Path> {
    out.filter(|p| *p != Path::new("-"))
}

/// Refuses to embed more than [`JSON_INLINE_LIMIT`] bytes in a `--json` object.
fn inline_limit(len: usize, what: &str) -> Result<(), CliError> {
    if len > JSON_INLINE_LIMIT {
        return Err(CliError::usage(format!(
            "the {what} is larger than {} MiB: too large to embed in the --json object",
            JSON_INLINE_LIMIT >> 20
        ))
        .hint("give -o FILE: with --json the bytes then go to the file"));
    }
    Ok(())
}

/// The success object (or nothing, in human mode) after bytes went to `-o` or stdout.
fn report_written(
    globals: &Globals,
    out: Option<&Path>,
    bytes: u64,
    key: &str,
) -> Result<(), CliError> {
    if globals.out.is_json() {
        globals.out.success(
            &json!({"key": key, "output": out, "bytes": bytes}),
            String::new,
        );
    }
    Ok(())
}

/// A writer that counts the bytes it passed on.
struct Counting<W: Write> {
    inner: W,
    n: u64,
}

impl<W: Write> Counting<W> {
    fn new(inner: W) -> Self {
        Self { inner, n: 0 }
    }
    fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn seal_stream<W: Write>(
    key: &EncryptionKey,
    ctx: &Context,
    reader: &mut dyn Read,
    writer: BufWriter<W>,
    a: &EncryptArgs,
) -> Result<(), CliError> {
    let out_path = a.output.clone().unwrap_or_else(|| PathBuf::from("stdout"));
    let mut sealer =
        Sealer::with_key(key, ctx, writer).map_err(|e| env_err(e, "output", &out_path))?;
    let mut buf = vec![0u8; BUF_LEN];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CliError::io("input", in_path(a.input.as_deref()), &e)),
        };
        sealer
            .write_all(&buf[..n])
            .map_err(|e| env_err(EnvelopeError::from_io(e), "output", &out_path))?;
    }
    let mut writer = sealer
        .finish()
        .map_err(|e| env_err(e, "output", &out_path))?;
    writer
        .flush()
        .map_err(|e| CliError::write("output", &out_path, &e))
}

/// Writes `bytes` to `out` (atomically for a regular file) or stdout; returns the count.
fn write_output(out: Option<&Path>, bytes: &[u8]) -> Result<u64, CliError> {
    match output_path(out) {
        Some(path) => {
            let mut file =
                OutputFile::create(path).map_err(|e| CliError::write("output", path, &e))?;
            file.write_all(bytes)
                .map_err(|e| CliError::write("output", path, &e))?;
            file.commit()
                .map_err(|e| CliError::write("output", path, &e))?;
        }
        None => {
            let mut stdout = io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .map_err(|e| CliError::write("output", Path::new("stdout"), &e))?;
        }
    }
    Ok(bytes.len() as u64)
}

pub(crate) fn decrypt(a: &DecryptArgs, globals: &Globals) -> Result<(), CliError> {
    distinct(a.input.as_deref(), a.output.as_deref())?;
    let ctx = context(&a.context)?;
    let in_p = in_path(a.input.as_deref());
    let mut reader = input::open("input", a.input.as_deref())?;
    let prefix =
        read_prefix(&mut reader, MAX_HEADER_LEN).map_err(|e| CliError::io("input", in_p, &e))?;
    let home = open_home_with_block(globals, &a.unlock, 1)?;

    if envelope::is_token(&prefix) {
        let mut text = zeroize::Zeroizing::new(prefix);
        reader
            .take(TOKEN_INPUT_LIMIT)
            .read_to_end(&mut text)
            .map_err(|e| CliError::io("input", in_p, &e))?;
        let token = std::str::from_utf8(&text).map_err(|_| {
            CliError::from(EnvelopeError::BadToken {
                reason: "not UTF-8",
            })
        })?;
        let token = token
            .strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t))
            .unwrap_or(token);
        let info = envelope::inspect_token(token)?;
        home.keyring(&info.key_ref.keyring)?;
        let keys = crate::cmd::gdpr::with_subjects(home, globals)?;
        let plain = envelope::open_token(&keys, &ctx, token)?;
        let key = info.key_ref.to_string();
        let out = output_path(a.output.as_deref());
        if globals.out.is_json() && out.is_none() {
            return report_inline(globals, &plain, &key);
        }
        let bytes = write_output(out, &plain)?;
        return report_written(globals, out, bytes, &key);
    }

    let info = envelope::inspect(&prefix)?;
    home.keyring(&info.key_ref.keyring)?;
    // Envelopes sealed for a data subject name it in the header; the subject layer serves them.
    let keys = crate::cmd::gdpr::with_subjects(home, globals)?;
    // The opener reads one 16 KiB chunk at a time: buffer, so a 1 GiB file is not 65 000
    // small read calls.
    let chained = io::Cursor::new(prefix).chain(io::BufReader::with_capacity(BUF_LEN, reader));
    let mut opener = Opener::new(&keys, &ctx, chained)?;
    let key = info.key_ref.to_string();
    match output_path(a.output.as_deref()) {
        Some(out) => {
            let mut file =
                OutputFile::create(out).map_err(|e| CliError::write("output", out, &e))?;
            let bytes = {
                let mut w = BufWriter::with_capacity(BUF_LEN, &mut file);
                let n = copy_plain(&mut opener, &mut w, in_p, out)?;
                w.flush().map_err(|e| CliError::write("output", out, &e))?;
                n
            };
            file.commit()
                .map_err(|e| CliError::write("output", out, &e))?;
            report_written(globals, Some(out), bytes, &key)
        }
        None if globals.out.is_json() => {
            let mut plain = zeroize::Zeroizing::new(Vec::new());
            (&mut opener)
                .take(JSON_INLINE_LIMIT as u64 + 1)
                .read_to_end(&mut plain)
                .map_err(|e| env_err(EnvelopeError::from_io(e), "input", in_p))?;
            // Within the limit, read_to_end saw the opener's end, which is what proves
            // (final chunk verified) that nothing was cut off.
            report_inline(globals, &plain, &key)
        }
        None => {
            // Streamed: every chunk written here has authenticated; a bad one stops the copy
            // with exit 1 (see the module documentation).
            let stdout = Path::new("stdout");
            let mut w = BufWriter::with_capacity(BUF_LEN, io::stdout().lock());
            copy_plain(&mut opener, &mut w, in_p, stdout)?;
            w.flush().map_err(|e| CliError::write("output", stdout, &e))
        }
    }
}

/// The `--json` object carrying an authenticated plaintext.
fn report_inline(globals: &Globals, plain: &[u8], key: &str) -> Result<(), CliError> {
    inline_limit(plain.len(), "plaintext")?;
    let encoded = zeroize::Zeroizing::new(B64.encode(plain));
    globals.out.success(
        &json!({"key": key, "bytes": plain.len(), "plaintext_base64": &*encoded}),
        String::new,
    );
    Ok(())
}

/// Copies the opener's plaintext to `w`; returns the byte count.
fn copy_plain(
    opener: &mut dyn Read,
    w: &mut dyn Write,
    in_p: &Path,
    out: &Path,
) -> Result<u64, CliError> {
    let mut buf = zeroize::Zeroizing::new(vec![0u8; BUF_LEN]);
    let mut total = 0u64;
    loop {
        let n = match opener.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(env_err(EnvelopeError::from_io(e), "input", in_p)),
        };
        w.write_all(&buf[..n])
            .map_err(|e| CliError::write("output", out, &e))?;
        total += n as u64;
    }
}

#[derive(Serialize)]
struct FileResult {
    file: PathBuf,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

#[derive(Serialize)]
struct RewrapReport {
    rewrapped: u64,
    current: u64,
    failed: u64,
    files: Vec<FileResult>,
}

enum Outcome {
    Rewrapped(KeyRef, KeyRef),
    Current(String),
}

/// Rewrap as one job: files (in place) or a stream of tokens. trust-core's [`Rewrapper`]
/// moves each item (subject-sealed ones keep their subject) and keeps the census of what was
/// moved; this command tells it when a replacement is stored and records the census at the
/// end, so `trust keys destroy` can tell when nothing known needs an old version any more.
pub(crate) fn rewrap(a: &RewrapArgs, globals: &Globals) -> Result<(), CliError> {
    let ctx = context(&a.context)?;
    if a.check {
        return rewrap_check(a, globals);
    }
    if let Some(tokens) = &a.tokens {
        return rewrap_tokens(a, tokens, &ctx, globals);
    }
    // One durable counter update for the whole run: every file rewrapped is one seal under the
    // Primary, so reserve them all at once; what is not used is given back at the end.
    let block = u64::try_from(a.files.len()).unwrap_or(u64::MAX);
    let home = open_home_with_block(globals, &a.unlock, block)?;
    let subjects = crate::cmd::gdpr::with_subjects(home, globals)?;
    let home = subjects.tenant();
    let mut job = Rewrapper::new(home).with_subjects(&subjects);
    let bar = globals.out.progress(block, "rewrap");
    let mut report = RewrapReport {
        rewrapped: 0,
        current: 0,
        failed: 0,
        files: Vec::new(),
    };
    let mut first_error: Option<CliError> = None;
    for path in &a.files {
        let result = rewrap_file(&job, home, &ctx, path);
        let mut entry = FileResult {
            file: path.clone(),
            status: "",
            from: None,
            to: None,
            code: None,
            message: None,
        };
        match result {
            Ok(Outcome::Rewrapped(from, to)) => {
                // The new file is in place (committed): count it in the census.
                job.stored(&from);
                report.rewrapped += 1;
                entry.status = "rewrapped";
                entry.from = Some(from.to_string());
                entry.to = Some(to.to_string());
            }
            Ok(Outcome::Current(k)) => {
                report.current += 1;
                entry.status = "current";
                entry.to = Some(k);
            }
            Err(e) => {
                report.failed += 1;
                entry.status = "failed";
                entry.code = Some(e.code());
                entry.message = Some(e.message().to_owned());
                if !globals.out.is_json() {
                    bar.suspend(|| eprintln!("{}: {}", path.display(), e.message()));
                }
                first_error.get_or_insert(e);
            }
        }
        report.files.push(entry);
        bar.inc(1);
    }
    bar.finish_and_clear();
    job.finish()?;
    home.release_unused()?;
    if let Some(e) = first_error {
        let total = a.files.len();
        return Err(partial_failure(&e, "file", total, &report));
    }
    globals.out.success(&report, || {
        format!(
            "{} rewrapped, {} already current, {} failed",
            report.rewrapped, report.current, report.failed
        )
    });
    Ok(())
}

fn partial_failure(e: &CliError, what: &str, total: usize, report: &RewrapReport) -> CliError {
    CliError::new(
        e.category(),
        e.code(),
        format!(
            "{} of {total} {what}(s) failed (first: {}); {} rewrapped, {} already current",
            report.failed,
            e.message(),
            report.rewrapped,
            report.current
        ),
    )
    .hint(match e.hint_text() {
        Some(h) => format!("failed {what}s are unchanged; {h}"),
        None => {
            format!("failed {what}s are unchanged; fix the cause and run the same command again")
        }
    })
}

/// The error of a failed item, with the usual cause of a token failure as a hint.
fn item_error(
    category: trust_core::error::Category,
    code: &'static str,
    message: String,
) -> CliError {
    let err = CliError::new(category, code, message);
    // A token does not store its context: without the right --context it cannot be
    // authenticated, which is the usual cause of this failure.
    if code == "AUTHENTICATION_FAILED" {
        err.hint(
            "tokens do not store their context: pass the --context k=v pairs it was sealed with",
        )
    } else {
        err
    }
}

fn rewrap_file(
    job: &Rewrapper<'_>,
    home: &Home,
    ctx: &Context,
    path: &Path,
) -> Result<Outcome, CliError> {
    let mut file = File::open(path).map_err(|e| CliError::io("envelope", path, &e))?;
    let prefix =
        read_prefix(&mut file, MAX_HEADER_LEN).map_err(|e| CliError::io("envelope", path, &e))?;
    if envelope::is_token(&prefix) {
        let mut text = prefix;
        file.take(TOKEN_INPUT_LIMIT)
            .read_to_end(&mut text)
            .map_err(|e| CliError::io("envelope", path, &e))?;
        let token = String::from_utf8(text).map_err(|_| {
            CliError::from(EnvelopeError::BadToken {
                reason: "not UTF-8",
            })
        })?;
        let token = token.trim_end_matches('\n').to_owned();
        let (status, replacement) = job.item(&Sealed::Token {
            token,
            context: ctx.clone(),
        });
        return match (status, replacement) {
            (ItemStatus::Rewrapped { from, to }, Some(Sealed::Token { token, .. })) => {
                write_output(Some(path), format!("{token}\n").as_bytes())?;
                Ok(Outcome::Rewrapped(from, to))
            }
            (ItemStatus::Current { key_ref }, _) => Ok(Outcome::Current(key_ref.to_string())),
            (
                ItemStatus::Failed {
                    category,
                    code,
                    message,
                    ..
                },
                _,
            ) => Err(item_error(category, code, message)),
            _ => Err(CliError::new(
                trust_core::error::Category::Internal,
                "INTERNAL",
                "rewrap returned no replacement",
            )),
        };
    }
    let info = envelope::inspect(&prefix)?;
    home.keyring(&info.key_ref.keyring)?;
    if info.key_ref.subject.is_none() && home.primary(&info.key_ref.keyring)? == info.key_ref {
        return Ok(Outcome::Current(info.key_ref.to_string()));
    }
    let mut out = AtomicFile::create(path).map_err(|e| CliError::write("envelope", path, &e))?;
    let outcome = {
        let w = BufWriter::with_capacity(BUF_LEN, &mut out);
        let reader = io::Cursor::new(prefix).chain(io::BufReader::with_capacity(BUF_LEN, file));
        job.stream(reader, w)
            .map_err(|e| env_err(e, "envelope", path))?
    };
    if !outcome.changed {
        return Ok(Outcome::Current(outcome.to.to_string()));
    }
    out.commit()
        .map_err(|e| CliError::write("envelope", path, &e))?;
    Ok(Outcome::Rewrapped(outcome.from, outcome.to))
}

#[derive(Serialize)]
struct CheckReport {
    current: u64,
    not_current: u64,
    unreadable: u64,
    /// The first items (file names, or `line N`) not current or unreadable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pending: Vec<String>,
}

/// `trust rewrap --check`: which items still need a rewrap, from their headers alone.
fn rewrap_check(a: &RewrapArgs, globals: &Globals) -> Result<(), CliError> {
    let home = open_home(globals, &a.unlock)?;
    let job = Rewrapper::new(&home);
    let mut report = CheckReport {
        current: 0,
        not_current: 0,
        unreadable: 0,
        pending: Vec::new(),
    };
    let note = |report: &mut CheckReport, what: String, info: Result<KeyRef, CliError>| {
        let current = info.and_then(|k| Ok(job.is_up_to_date(&k)?));
        match current {
            Ok(true) => report.current += 1,
            Ok(false) => report.not_current += 1,
            Err(_) => report.unreadable += 1,
        }
        if !matches!(current, Ok(true)) && report.pending.len() < MAX_FAILED_LINES {
            report.pending.push(what);
        }
    };
    if let Some(tokens) = &a.tokens {
        let reader = input::open("tokens", Some(tokens))?;
        let mut reader = io::BufReader::with_capacity(BUF_LEN, reader);
        let in_p = in_path(Some(tokens));
        let mut number = 0u64;
        while let Some(line) = read_line(&mut reader, TOKEN_INPUT_LIMIT)
            .map_err(|e| CliError::io("tokens", in_p, &e))?
        {
            number += 1;
            let text = String::from_utf8_lossy(&line);
            if text.trim().is_empty() {
                continue;
            }
            let token = text.rsplit_once('\t').map_or(&*text, |(_, t)| t).trim();
            let info = envelope::inspect_token(token)
                .map(|i| i.key_ref)
                .map_err(CliError::from);
            note(&mut report, format!("line {number}"), info);
        }
    } else {
        for path in &a.files {
            let header = |path: &Path| -> Result<KeyRef, CliError> {
                let io_err = |e: io::Error| CliError::io("envelope", path, &e);
                let mut f = File::open(path).map_err(io_err)?;
                let mut head = read_prefix(&mut f, MAX_HEADER_LEN).map_err(io_err)?;
                let info = if envelope::is_token(&head) {
                    f.take(TOKEN_INPUT_LIMIT)
                        .read_to_end(&mut head)
                        .map_err(io_err)?;
                    envelope::inspect_token(String::from_utf8_lossy(&head).trim_end())
                } else {
                    envelope::inspect(&head)
                };
                Ok(info?.key_ref)
            };
            let info = header(path);
            note(&mut report, path.display().to_string(), info);
        }
    }
    if report.not_current + report.unreadable > 0 {
        return Err(CliError::new(
            trust_core::error::Category::Verification,
            "NOT_CURRENT",
            format!(
                "{} not under the primary yet, {} unreadable, {} current (first: {})",
                report.not_current,
                report.unreadable,
                report.current,
                report.pending.first().map_or("", String::as_str)
            ),
        )
        .hint("run the same command without --check (and store its output) first"));
    }
    globals.out.success(&report, || {
        format!(
            "all {} item(s) are under their keyring's primary",
            report.current
        )
    });
    Ok(())
}

/// A line of `rewrap --tokens` that failed.
#[derive(Serialize)]
struct FailedLine {
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    code: &'static str,
    message: String,
}

#[derive(Serialize)]
struct TokenReport {
    rewrapped: u64,
    current: u64,
    failed: u64,
    /// Per version, the tokens moved off it.
    moved: std::collections::BTreeMap<String, u64>,
    /// The failed lines (at most [`MAX_FAILED_LINES`] listed; `failed` counts all).
    failed_lines: Vec<FailedLine>,
}

/// Failed lines listed in the report (all are counted).
const MAX_FAILED_LINES: usize = 1000;

/// Reads one line of at most `limit` bytes (without its line end); `None` at the end.
fn read_line(reader: &mut dyn BufRead, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = reader.take(limit + 2).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    } else if line.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a line is longer than the largest token",
        ));
    }
    Ok(Some(line))
}

/// Where `rewrap --tokens` writes: a file replaced atomically at the end, or stdout.
enum TokenSink {
    File(BufWriter<AtomicFile>, PathBuf),
    Stdout(BufWriter<io::StdoutLock<'static>>),
}

impl TokenSink {
    fn open(out: Option<&Path>) -> Result<Self, CliError> {
        Ok(match out {
            Some(path) => {
                let file =
                    AtomicFile::create(path).map_err(|e| CliError::write("output", path, &e))?;
                Self::File(BufWriter::with_capacity(BUF_LEN, file), path.to_path_buf())
            }
            _ => Self::Stdout(BufWriter::with_capacity(BUF_LEN, io::stdout().lock())),
        })
    }

    fn line(&mut self, id: Option<&str>, token: &str) -> Result<(), CliError> {
        let (w, path): (&mut dyn Write, &Path) = match self {
            Self::File(w, p) => (w, p),
            Self::Stdout(w) => (w, Path::new("stdout")),
        };
        let mut write = || -> io::Result<()> {
            if let Some(id) = id {
                w.write_all(id.as_bytes())?;
                w.write_all(b"\t")?;
            }
            w.write_all(token.as_bytes())?;
            w.write_all(b"\n")
        };
        write().map_err(|e| CliError::write("output", path, &e))
    }

    /// Everything is written (and, for a file, durably in place).
    fn finish(self) -> Result<(), CliError> {
        match self {
            Self::File(w, path) => {
                let file = w
                    .into_inner()
                    .map_err(|e| CliError::write("output", &path, e.error()))?;
                file.commit()
                    .map_err(|e| CliError::write("output", &path, &e))
            }
            Self::Stdout(mut w) => w
                .flush()
                .map_err(|e| CliError::write("output", Path::new("stdout"), &e)),
        }
    }
}

/// `trust rewrap --tokens IN [-o OUT]`: every line (`TOKEN` or `ID<TAB>TOKEN`) is written back
/// in order with its token moved to the Primary (unchanged when current or failed; empty lines
/// as they are). Streams in constant memory. The census counts the moved tokens once the whole
/// output is written: load it into the database before destroying the old version.
fn rewrap_tokens(
    a: &RewrapArgs,
    tokens: &Path,
    ctx: &Context,
    globals: &Globals,
) -> Result<(), CliError> {
    let to_file = a.output.as_deref().filter(|p| *p != Path::new("-"));
    if globals.out.is_json() && to_file.is_none() {
        return Err(CliError::usage("--tokens with --json needs -o OUT")
            .hint("stdout carries the JSON report; write the tokens to a file with -o"));
    }
    distinct(Some(tokens), a.output.as_deref())?;
    let reader = input::open("tokens", Some(tokens))?;
    let mut reader = io::BufReader::with_capacity(BUF_LEN, reader);
    let in_p = in_path(Some(tokens));
    // Seals are reserved in blocks and what is not used is given back at the end.
    let home = open_home_with_block(globals, &a.unlock, 1024)?;
    let subjects = crate::cmd::gdpr::with_subjects(home, globals)?;
    let home = subjects.tenant();
    let mut job = Rewrapper::new(home).with_subjects(&subjects);
    let mut sink = TokenSink::open(to_file)?;
    let mut moved: std::collections::BTreeMap<KeyRef, u64> = std::collections::BTreeMap::new();
    let mut report = TokenReport {
        rewrapped: 0,
        current: 0,
        failed: 0,
        moved: std::collections::BTreeMap::new(),
        failed_lines: Vec::new(),
    };
    let mut first_error: Option<CliError> = None;
    let mut number = 0u64;
    while let Some(line) =
        read_line(&mut reader, TOKEN_INPUT_LIMIT).map_err(|e| CliError::io("tokens", in_p, &e))?
    {
        number += 1;
        let text = String::from_utf8(line).map_err(|_| {
            CliError::from(EnvelopeError::BadToken {
                reason: "not UTF-8",
            })
            .hint(format!(
                "line {number} of the tokens is not UTF-8; nothing was written"
            ))
        })?;
        if text.trim().is_empty() {
            sink.line(None, &text)?;
            continue;
        }
        let (id, token) = match text.rsplit_once('\t') {
            Some((id, token)) => (Some(id), token.trim()),
            None => (None, text.trim()),
        };
        let (status, replacement) = job.item(&Sealed::Token {
            token: token.to_owned(),
            context: ctx.clone(),
        });
        match (status, replacement) {
            (ItemStatus::Rewrapped { from, .. }, Some(Sealed::Token { token: new, .. })) => {
                report.rewrapped += 1;
                *moved.entry(from).or_default() += 1;
                sink.line(id, &new)?;
            }
            (ItemStatus::Current { .. }, _) => {
                report.current += 1;
                sink.line(id, token)?;
            }
            (
                ItemStatus::Failed {
                    key_ref,
                    category,
                    code,
                    message,
                },
                _,
            ) => {
                report.failed += 1;
                let e = item_error(category, code, format!("line {number}: {message}"));
                if !globals.out.is_json() {
                    eprintln!("{}", e.message());
                }
                if report.failed_lines.len() < MAX_FAILED_LINES {
                    report.failed_lines.push(FailedLine {
                        line: number,
                        key: key_ref.map(|k| k.to_string()),
                        code,
                        message,
                    });
                }
                first_error.get_or_insert(e);
                sink.line(id, token)?;
            }
            _ => {
                return Err(CliError::new(
                    trust_core::error::Category::Internal,
                    "INTERNAL",
                    "rewrap returned no replacement",
                ));
            }
        }
    }
    sink.finish()?;
    // Every replacement is written out: count them in the census.
    for (from, n) in &moved {
        for _ in 0..*n {
            job.stored(from);
        }
        report.moved.insert(from.to_string(), *n);
    }
    job.finish()?;
    home.release_unused()?;
    if let Some(e) = first_error {
        let total = usize::try_from(number).unwrap_or(usize::MAX);
        let files = RewrapReport {
            rewrapped: report.rewrapped,
            current: report.current,
            failed: report.failed,
            files: Vec::new(),
        };
        return Err(partial_failure(&e, "token", total, &files));
    }
    let summary = format!(
        "{} rewrapped, {} already current, {} failed",
        report.rewrapped, report.current, report.failed
    );
    if to_file.is_some() {
        globals.out.success(&report, || summary);
    } else {
        // stdout carries the tokens; the summary goes to stderr.
        eprintln!("{summary}");
    }
    Ok(())
}

#[derive(Serialize)]
struct Inspection {
    format: &'static str,
    version: u8,
    suite: String,
    keyring: String,
    key_version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    /// `None`: detached (tokens); the opener must supply it.
    context: Option<Vec<(String, String)>>,
    header_len: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    plaintext_len: Option<u64>,
}

pub(crate) fn inspect(a: &InspectArgs, globals: &Globals) -> Result<(), CliError> {
    let path = a.file.as_path();
    let mut reader = input::open("envelope", Some(path))?;
    let prefix =
        read_prefix(&mut reader, MAX_HEADER_LEN).map_err(|e| CliError::io("envelope", path, &e))?;
    let (info, format, total) = if envelope::is_token(&prefix) {
        let mut text = prefix;
        reader
            .take(TOKEN_INPUT_LIMIT)
            .read_to_end(&mut text)
            .map_err(|e| CliError::io("envelope", path, &e))?;
        let token = String::from_utf8(text).map_err(|_| {
            CliError::from(EnvelopeError::BadToken {
                reason: "not UTF-8",
            })
        })?;
        (
            envelope::inspect_token(token.trim_end_matches('\n'))?,
            "token",
            None,
        )
    } else {
        let total = if path == Path::new("-") {
            None
        } else {
            std::fs::metadata(path).ok().map(|m| m.len())
        };
        (envelope::inspect(&prefix)?, "binary", total)
    };
    let data = Inspection {
        format,
        version: info.version,
        suite: info.suite.to_string(),
        keyring: info.key_ref.keyring.clone(),
        key_version: info.key_ref.version,
        subject: info.key_ref.subject.clone(),
        context: info.context.as_ref().map(|c| {
            c.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        }),
        header_len: info.header_len,
        plaintext_len: total.and_then(|t| info.plaintext_len(t)),
    };
    if format == "binary" && total.is_some() && data.plaintext_len.is_none() {
        return Err(CliError::from(EnvelopeError::Malformed {
            what: "the file length fits no envelope: it is truncated or extended",
        }));
    }
    globals.out.success(&data, || {
        let mut s = format!(
            "format:   {} (version {})\nsuite:    {}\nkey:      {} v{}",
            data.format, data.version, data.suite, data.keyring, data.key_version
        );
        if let Some(subject) = &data.subject {
            s.push_str(&format!("\nsubject:  {subject}"));
        }
        match &data.context {
            Some(pairs) if pairs.is_empty() => s.push_str("\ncontext:  (empty)"),
            Some(pairs) => {
                let shown: Vec<_> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                s.push_str(&format!("\ncontext:  {}", shown.join(" ")));
            }
            None => s.push_str("\ncontext:  detached (give it with --context to decrypt)"),
        }
        if let Some(n) = data.plaintext_len {
            s.push_str(&format!("\nplaintext: {n} bytes"));
        }
        s
    });
    Ok(())
}
