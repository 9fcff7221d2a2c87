//! `trust redact`: filter text (a log file, a support transcript) so that credentials, card
//! numbers and registered secret values never leave it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde_json::json;

use trust_core::redact::Redactor;

use crate::Globals;
use crate::exit::CliError;
use crate::input;

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust redact -i app.log > app.redacted.log")]
pub(crate) struct RedactArgs {
    /// Input file (default: stdin).
    #[arg(short = 'i', long = "in", value_name = "IN")]
    input: Option<PathBuf>,
    /// Also redact every secret value in this file (one per line, at least 6 bytes each).
    #[arg(long, value_name = "FILE")]
    secrets_file: Option<PathBuf>,
    /// Do not look for card numbers (for logs full of long numeric ids).
    #[arg(long)]
    no_cards: bool,
}

pub(crate) fn run(a: &RedactArgs, globals: &Globals) -> Result<(), CliError> {
    let mut builder = Redactor::builder();
    if let Some(path) = &a.secrets_file {
        let secrets =
            zeroize::Zeroizing::new(input::read_all("secrets file", Some(path), 1 << 20)?);
        for line in secrets.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.is_empty() {
                builder = builder.literal(line)?;
            }
        }
    }
    if a.no_cards {
        builder = builder.without_cards();
    }
    let redactor = builder.build()?;
    let what = "input";
    let in_path = a.input.clone().unwrap_or_else(|| PathBuf::from("-"));
    // 256 KiB blocks: fewer read and write calls per MiB (cat uses 128 KiB).
    let mut reader = BufReader::with_capacity(1 << 18, input::open(what, a.input.as_deref())?);
    if globals.out.is_json() {
        // One JSON object: the redacted text is its `text` field, so it is held in memory.
        let mut text = Vec::new();
        {
            let mut out = redactor.writer(&mut text);
            filter(&mut reader, &mut out, &in_path)?;
            out.flush()
                .map_err(|e| CliError::write("output", Path::new("memory"), &e))?;
        }
        if text.len() > JSON_TEXT_LIMIT {
            return Err(CliError::usage(format!(
                "the redacted text is larger than {} MiB: too large for the --json object",
                JSON_TEXT_LIMIT >> 20
            ))
            .hint("drop --json to stream it"));
        }
        let text = String::from_utf8(text)
            .map_err(|_| CliError::usage("the input is not UTF-8 text: --json cannot carry it"))?;
        globals.out.success(&json!({"text": text}), String::new);
        return Ok(());
    }
    let stdout = std::io::stdout().lock();
    let mut out = redactor.writer(std::io::BufWriter::with_capacity(1 << 18, stdout));
    filter(&mut reader, &mut out, &in_path)?;
    out.flush()
        .map_err(|e| CliError::write("output", Path::new("stdout"), &e))
}

/// Largest redacted text carried in a `--json` object.
const JSON_TEXT_LIMIT: usize = 16 << 20;

fn filter(reader: &mut dyn BufRead, out: &mut dyn Write, in_path: &Path) -> Result<(), CliError> {
    loop {
        let buf = reader
            .fill_buf()
            .map_err(|e| CliError::io("input", in_path, &e))?;
        if buf.is_empty() {
            return Ok(());
        }
        let n = buf.len();
        out.write_all(buf)
            .map_err(|e| CliError::write("output", Path::new("stdout"), &e))?;
        reader.consume(n);
    }
}
