//! Rendering: `--json` (one object on stdout, errors included) or human text.
//!
//! Success: `{"ok":true,"data":…}`; failure: `{"ok":false,"code":"…","message":"…","hint":"…"}`.
//! Human errors go to stderr as one line of what happened and one of what to do.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::exit::CliError;

/// How this invocation renders its results.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Output {
    json: bool,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    pub(crate) fn is_json(self) -> bool {
        self.json
    }

    /// Prints a successful result: `data` as JSON, or the text `human` builds.
    pub(crate) fn success<T: Serialize>(self, data: &T, human: impl FnOnce() -> String) {
        let mut stdout = std::io::stdout().lock();
        if self.json {
            let doc = serde_json::json!({ "ok": true, "data": data });
            let _ = writeln!(stdout, "{doc}");
        } else {
            let text = human();
            if !text.is_empty() {
                let _ = writeln!(stdout, "{}", text.trim_end_matches('\n'));
            }
        }
    }

    /// Prints a failure.
    pub(crate) fn error(self, err: &CliError) {
        if self.json {
            let mut doc = serde_json::json!({
                "ok": false,
                "code": err.code(),
                "category": err.category().as_str(),
                "message": err.message(),
            });
            if let Some(hint) = err.hint_text() {
                doc["hint"] = serde_json::Value::from(hint);
            }
            if let (Some(extra), Some(obj)) = (err.details_map(), doc.as_object_mut()) {
                for (k, v) in extra {
                    obj.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            let _ = writeln!(std::io::stdout().lock(), "{doc}");
        } else {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {}", err.message());
            if let Some(hint) = err.hint_text() {
                let _ = writeln!(stderr, "hint: {hint}");
            }
        }
    }

    /// A progress bar for `len` steps, drawn on stderr only when it is a terminal and `--json`
    /// is off; hidden (and free) otherwise, so pipes and scripts stay silent.
    pub(crate) fn progress(self, len: u64, what: &str) -> ProgressBar {
        if self.json || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len);
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        bar
    }
}
