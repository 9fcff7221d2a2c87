//! Reading inputs: files, stdin, secrets and confirmations.
//!
//! Rules (the CLI contract, docs/operator-guide.md): secrets never come from argv — only from `--*-file PATH` (`-` = stdin),
//! `--*-env NAME` (the *name* of a variable) or a no-echo prompt on a terminal. At most one input
//! per invocation may be stdin; a second claim is a usage error rather than a silent empty read.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use secrecy::SecretSlice;
use trust_core::error::Category;
use zeroize::Zeroizing;

use crate::exit::CliError;

static STDIN_CLAIMED: AtomicBool = AtomicBool::new(false);

fn claim_stdin(what: &str) -> Result<(), CliError> {
    if STDIN_CLAIMED.swap(true, Ordering::SeqCst) {
        return Err(CliError::usage(format!(
            "{what} cannot also come from stdin: stdin is already used by another input"
        ))
        .hint("give all but one input as a file path"));
    }
    Ok(())
}

/// True when `path` means stdin (absent or `-`).
pub(crate) fn is_stdin(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p == Path::new("-"))
}

/// Opens `path` for streaming, or stdin when it is absent or `-`.
pub(crate) fn open(what: &str, path: Option<&Path>) -> Result<Box<dyn Read>, CliError> {
    match path {
        Some(p) if p != Path::new("-") => {
            let file = File::open(p).map_err(|e| CliError::io(what, p, &e))?;
            Ok(Box::new(file))
        }
        _ => {
            claim_stdin(what)?;
            Ok(Box::new(std::io::stdin().lock()))
        }
    }
}

/// Reads all of `path` (or stdin), refusing inputs larger than `limit` bytes.
pub(crate) fn read_all(what: &str, path: Option<&Path>, limit: u64) -> Result<Vec<u8>, CliError> {
    let reader = open(what, path)?;
    let mut buf = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| CliError::io(what, path.unwrap_or(Path::new("-")), &e))?;
    if buf.len() as u64 > limit {
        return Err(CliError::usage(format!(
            "{what} is larger than the {limit}-byte limit"
        )));
    }
    Ok(buf)
}

/// Where a secret comes from, as given on the command line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SecretSource<'a> {
    /// `--X-file PATH` (`-` = stdin).
    pub(crate) file: Option<&'a Path>,
    /// `--X-env NAME`.
    pub(crate) env: Option<&'a str>,
}

/// The largest secret accepted from any source; anything larger is a mistake (a whole file).
const SECRET_LIMIT: u64 = 64 * 1024;

/// Reads a secret (`what` names it in messages, e.g. "passphrase") from its source.
///
/// A file's single trailing newline (`\n` or `\r\n`) is dropped, since editors and `echo` add
/// one. With neither source given, prompts without echo when stdin is a terminal and `prompt`
/// is true; otherwise it is a usage error.
pub(crate) fn read_secret(
    what: &str,
    flag: &str,
    source: SecretSource<'_>,
    prompt: bool,
) -> Result<SecretSlice<u8>, CliError> {
    match (source.file, source.env) {
        (Some(_), Some(_)) => Err(CliError::usage(format!(
            "give the {what} either with --{flag}-file or with --{flag}-env, not both"
        ))),
        (Some(path), None) => {
            let mut bytes = Zeroizing::new(read_all(what, Some(path), SECRET_LIMIT)?);
            let trailing = if bytes.ends_with(b"\r\n") {
                2
            } else {
                usize::from(bytes.ends_with(b"\n"))
            };
            let keep = bytes.len() - trailing;
            // Zeroizing<Vec> wipes the whole capacity on drop, the cut-off newline included.
            bytes.truncate(keep);
            non_empty(what, &bytes)?;
            Ok(SecretSlice::from(bytes.to_vec()))
        }
        (None, Some(name)) => {
            let value = std::env::var_os(name).ok_or_else(|| {
                CliError::new(
                    Category::Input,
                    "INPUT_UNREADABLE",
                    format!("the environment variable {name} (for the {what}) is not set"),
                )
                .hint(format!("export {name}=… or use --{flag}-file"))
            })?;
            let bytes = Zeroizing::new(value.into_encoded_bytes());
            non_empty(what, &bytes)?;
            Ok(SecretSlice::from(bytes.to_vec()))
        }
        (None, None) if prompt && std::io::stdin().is_terminal() => {
            claim_stdin(what)?;
            let typed = Zeroizing::new(
                rpassword::prompt_password(format!("{what}: "))
                    .map_err(|e| CliError::io(what, Path::new("the terminal"), &e))?,
            );
            non_empty(what, typed.as_bytes())?;
            Ok(SecretSlice::from(typed.as_bytes().to_vec()))
        }
        (None, None) => Err(CliError::usage(format!("no {what} given")).hint(format!(
            "pass --{flag}-file PATH (- for stdin) or --{flag}-env NAME"
        ))),
    }
}

/// Asks for a *new* secret on the terminal, twice, and checks both entries match. Off a
/// terminal this is a usage error: a new passphrase must be given with a flag there.
pub(crate) fn prompt_new_secret(what: &str) -> Result<SecretSlice<u8>, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(format!(
            "no {what} given and stdin is not a terminal"
        )));
    }
    claim_stdin(what)?;
    let read = |prompt: String| {
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| CliError::io(what, Path::new("the terminal"), &e))
    };
    let first = read(format!("new {what}: "))?;
    non_empty(what, first.as_bytes())?;
    let second = read(format!("repeat the {what}: "))?;
    if !trust_core::secret::ct_eq(first.as_bytes(), second.as_bytes()) {
        return Err(CliError::usage(format!("the two {what} entries differ")));
    }
    Ok(SecretSlice::from(first.as_bytes().to_vec()))
}

fn non_empty(what: &str, bytes: &[u8]) -> Result<(), CliError> {
    if bytes.is_empty() {
        return Err(CliError::usage(format!("the {what} is empty")));
    }
    Ok(())
}

/// Asks for confirmation of a destructive operation.
///
/// `--yes` confirms. Without it, a terminal user is asked to type `yes`; anywhere else the
/// operation is refused (exit 5), so a script can never destroy something by accident.
pub(crate) fn confirm(yes: bool, question: &str) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(CliError::refused(format!("{question}: not confirmed")));
    }
    claim_stdin("the confirmation")?;
    eprint!("{question}\nType yes to continue: ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| CliError::io("the confirmation", Path::new("the terminal"), &e))?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(CliError::refused(format!("{question}: not confirmed")))
    }
}
