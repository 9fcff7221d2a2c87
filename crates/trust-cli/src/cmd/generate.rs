//! `trust completions` and `trust man`: generated from the clap definition at run time, so they
//! can never drift from the real flags.
//!
//! Both render into memory first and then write once: a reader that closes the pipe early
//! (`trust completions bash | head -1`) ends the command quietly instead of panicking inside
//! the generator. With `--json` the text is a field of the one JSON object.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use serde_json::json;

use crate::exit::CliError;
use crate::{Cli, Globals};

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust completions bash > /etc/bash_completion.d/trust")]
pub(crate) struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub(crate) fn completions(args: &CompletionsArgs, globals: &Globals) -> Result<(), CliError> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "trust", &mut script);
    let script = String::from_utf8_lossy(&script);
    emit(
        globals,
        &json!({"shell": args.shell.to_string(), "script": script}),
        &script,
    )
}

pub(crate) fn man(globals: &Globals) -> Result<(), CliError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| CliError::write("the man page", Path::new("memory"), &e))?;
    let page = String::from_utf8_lossy(&page);
    emit(globals, &json!({"page": "trust.1", "roff": page}), &page)
}

/// Writes `text` to stdout (or `doc` as the `--json` object).
fn emit(globals: &Globals, doc: &serde_json::Value, text: &str) -> Result<(), CliError> {
    if globals.out.is_json() {
        globals.out.success(doc, String::new);
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| CliError::write("output", Path::new("stdout"), &e))
}
