//! `trust redact`: filter text (a log file, a support transcript) so that credentials, card
//! numbers and registered secret values never leave it.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

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

pub(crate) fn run(a: &RedactArgs, _globals: &Globals) -> Result<(), CliError> {
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
    let mut reader = BufReader::with_capacity(1 << 16, input::open(what, a.input.as_deref())?);
    let stdout = std::io::stdout().lock();
    let mut out = redactor.writer(std::io::BufWriter::with_capacity(1 << 16, stdout));
    let out_path = PathBuf::from("stdout");
    loop {
        let buf = reader
            .fill_buf()
            .map_err(|e| CliError::io(what, &in_path, &e))?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        out.write_all(buf)
            .map_err(|e| CliError::write("output", &out_path, &e))?;
        reader.consume(n);
    }
    out.flush()
        .map_err(|e| CliError::write("output", &out_path, &e))?;
    Ok(())
}
