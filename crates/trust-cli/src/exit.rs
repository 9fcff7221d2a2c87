//! The exit-code contract and the single error type every command returns.
//!
//! Commands return `Result<(), CliError>`. A `CliError` is built from any `trust-core` error (its
//! [`Category`] decides the exit code, its code and message are shown as they are) or from one of
//! the constructors below for failures that happen in the CLI itself (a missing file, a bad flag).

use std::path::Path;
use std::process::ExitCode;

use trust_core::error::{Category, TrustError};

/// The code of a write into a pipe whose reader has gone; never shown.
const CLOSED_PIPE: &str = "OUTPUT_CLOSED";

/// A failure, ready to be rendered and turned into an exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    category: Category,
    code: &'static str,
    message: String,
    hint: Option<String>,
    /// Extra machine-readable fields merged into the `--json` error object (e.g. a verifier's
    /// report); never secret.
    details: Option<serde_json::Map<String, serde_json::Value>>,
}

impl CliError {
    /// A failure of `category` with a stable `code` and a one-line `message`.
    pub(crate) fn new(category: Category, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            category,
            code,
            message: message.into(),
            hint: None,
            details: None,
        }
    }

    /// Adds fields to the `--json` error object (keys already there are not overwritten).
    #[must_use]
    pub(crate) fn details(mut self, fields: serde_json::Map<String, serde_json::Value>) -> Self {
        self.details = Some(fields);
        self
    }

    pub(crate) fn details_map(&self) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.details.as_ref()
    }

    /// Adds the one line telling the operator what to do.
    #[must_use]
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A usage or configuration error (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(Category::Usage, "USAGE", message)
    }

    /// An input that could not be read (exit 3), naming the path but never its contents.
    pub(crate) fn io(what: &str, path: &Path, err: &std::io::Error) -> Self {
        Self::new(
            Category::Input,
            "INPUT_UNREADABLE",
            format!("cannot read {what} {}: {}", path.display(), io_reason(err)),
        )
    }

    /// An output that could not be written.
    ///
    /// A path the caller gave that cannot be written (a missing folder, no permission, a
    /// read-only filesystem, a directory, a refused special file) is the caller's input
    /// problem: exit 3. A reader that closed the pipe is not a failure at all (see
    /// [`CliError::is_closed_pipe`]). Anything else (the disk filled up, an I/O error) is exit 70.
    pub(crate) fn write(what: &str, path: &Path, err: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        let message = format!("cannot write {what} {}: {}", path.display(), io_reason(err));
        match err.kind() {
            ErrorKind::BrokenPipe => Self::new(Category::Input, CLOSED_PIPE, message),
            ErrorKind::NotFound
            | ErrorKind::PermissionDenied
            | ErrorKind::ReadOnlyFilesystem
            | ErrorKind::IsADirectory
            | ErrorKind::NotADirectory
            | ErrorKind::InvalidInput
            | ErrorKind::AlreadyExists => Self::new(Category::Input, "OUTPUT_UNWRITABLE", message)
                .hint("check that the folder exists and that you may write there"),
            _ => Self::new(Category::Internal, "OUTPUT_FAILED", message)
                .hint("check the free space and the device"),
        }
    }

    /// True when the failure was only that stdout's reader went away (`trust … | head`):
    /// the command ends quietly with exit 0, as ripgrep and other filters do.
    pub(crate) fn is_closed_pipe(&self) -> bool {
        self.code == CLOSED_PIPE
    }

    /// A destructive operation that was not confirmed (exit 5).
    pub(crate) fn refused(message: impl Into<String>) -> Self {
        Self::new(Category::Refused, "REFUSED", message)
            .hint("pass --yes to confirm (or run on a terminal to be asked)")
    }

    pub(crate) fn category(&self) -> Category {
        self.category
    }

    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    pub(crate) fn exit_code(&self) -> u8 {
        self.category.exit_code()
    }
}

impl<E: TrustError> From<E> for CliError {
    fn from(err: E) -> Self {
        Self {
            category: err.category(),
            code: err.code(),
            message: err.to_string(),
            hint: err.hint().map(str::to_owned),
            details: None,
        }
    }
}

/// The reason part of an I/O error, without the OS's "(os error N)" noise.
fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    }
}

/// Renders a clap parse failure: help and version go to stdout with exit 0; anything else is a
/// usage error (exit 2), as one JSON object when `--json` was on the command line.
pub(crate) fn clap_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(Category::Usage.exit_code())
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            if std::env::args_os().any(|a| a == "--json") {
                // The error, without clap's usage and tip paragraphs, on one line: "the
                // following required arguments were not provided: --tenant <ID> …".
                let text = err.to_string();
                let what = text.split("\n\n").next().unwrap_or("invalid arguments");
                let message = what
                    .trim_start_matches("error: ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let cli_err = CliError::usage(message).hint("see trust --help");
                crate::output::Output::new(true).error(&cli_err);
            } else {
                let _ = err.print();
            }
            ExitCode::from(Category::Usage.exit_code())
        }
    }
}
