//! `trust completions` and `trust man`: generated from the clap definition at run time, so they
//! can never drift from the real flags.

use clap::CommandFactory;

use crate::exit::CliError;
use crate::{Cli, Globals};

#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub(crate) fn completions(args: &CompletionsArgs, _globals: &Globals) -> Result<(), CliError> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "trust", &mut std::io::stdout());
    Ok(())
}

pub(crate) fn man(_globals: &Globals) -> Result<(), CliError> {
    let page = clap_mangen::Man::new(Cli::command());
    page.render(&mut std::io::stdout())
        .map_err(|e| CliError::write("the man page", std::path::Path::new("stdout"), &e))
}
