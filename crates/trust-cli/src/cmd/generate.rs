//! `trust completions` and `trust man`: generated from the clap definition at run time, so they
//! can never drift from the real flags.
//!
//! Both render into memory first and then write once: a reader that closes the pipe early
//! (`trust completions bash | head -1`) ends the command quietly instead of panicking inside
//! the generator. With `--json` the text is a field of the one JSON object.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde_json::json;
use trust_core::durable;

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

#[derive(Debug, clap::Args)]
#[command(after_help = "Example: trust man --dir /usr/local/share/man/man1 && man trust-keys")]
pub(crate) struct ManArgs {
    /// Write trust.1 and one page per subcommand (trust-keys.1, trust-keys-rotate.1, …) into
    /// this directory, instead of printing trust.1. Every page a page refers to is written.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// The command tree the man pages describe: `help` is not a page of its own (`--help` is).
fn man_command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

fn render(cmd: &clap::Command) -> Result<Vec<u8>, CliError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut page)
        .map_err(|e| CliError::write("the man page", Path::new("memory"), &e))?;
    Ok(page)
}

pub(crate) fn man(args: &ManArgs, globals: &Globals) -> Result<(), CliError> {
    let cmd = man_command();
    let Some(dir) = &args.dir else {
        let page = render(&cmd)?;
        let page = String::from_utf8_lossy(&page);
        return emit(globals, &json!({"page": "trust.1", "roff": page}), &page);
    };
    let mut written = Vec::new();
    write_pages(&cmd, dir, &mut written)?;
    globals
        .out
        .success(&json!({"dir": dir, "pages": written}), || {
            format!("wrote {} man pages into {}", written.len(), dir.display())
        });
    Ok(())
}

/// Writes `cmd`'s page and, depth first, those of its subcommands (the pages it refers to).
fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut Vec<String>) -> Result<(), CliError> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    let name = clap_mangen::Man::new(cmd.clone()).get_filename();
    let path = dir.join(&name);
    durable::write_atomic(&path, &render(cmd)?)
        .map_err(|e| CliError::write("the man page", &path, &e))?;
    written.push(name);
    Ok(())
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
