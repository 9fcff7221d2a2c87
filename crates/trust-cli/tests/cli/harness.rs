//! The one harness every CLI test uses: `trust` with a clean environment, stdin, captured
//! output, exit-code assertions, and a fresh home with a key-file root.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// A test area's own `Env`, holding the shared [`Env`] in a field `h`, derefs to it (so the
/// area adds its own checks and keeps every harness method).
macro_rules! wraps_env {
    ($ty:ident) => {
        impl std::ops::Deref for $ty {
            type Target = $crate::harness::Env;
            fn deref(&self) -> &$crate::harness::Env {
                &self.h
            }
        }
    };
}
pub(crate) use wraps_env;

/// `trust`, without the caller's `TRUST_HOME` and `TRUST_AUDIT_LOG` (a developer's own settings
/// must not leak into a test).
pub(crate) fn trust() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trust"));
    cmd.env_remove("TRUST_HOME").env_remove("TRUST_AUDIT_LOG");
    cmd
}

/// Runs `cmd` with `stdin` (`None`: empty) and captures stdout and stderr.
pub(crate) fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        // A command may exit before reading stdin (a usage error): a broken pipe is not a failure.
        let _ = input.write_all(bytes);
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// Runs `trust ARGS` with empty stdin.
pub(crate) fn run_args(args: &[&str]) -> Output {
    run(trust().args(args), None)
}

pub(crate) fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

/// Asserts the exit code, printing both streams when it differs.
#[track_caller]
pub(crate) fn expect(out: &Output, want: i32) {
    assert_eq!(
        code(out),
        want,
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

/// A temporary directory with a home (`home/`) protected by a key-file root (`root.key`).
pub(crate) struct Env {
    pub(crate) dir: tempfile::TempDir,
}

impl Env {
    /// A fresh home with a key-file root.
    pub(crate) fn new() -> Self {
        let env = Self::bare();
        let root = env.path("root.key");
        let out = env.run(&["init", "--root-key-file", root.to_str().unwrap()], None);
        expect(&out, 0);
        env
    }

    /// The directory only: no home yet.
    pub(crate) fn bare() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn home(&self) -> PathBuf {
        self.path("home")
    }

    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_owned()
    }

    /// `trust --home HOME ARGS`, not yet run.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = trust();
        cmd.arg("--home").arg(self.home()).args(args);
        cmd
    }

    /// Runs `trust` as actor `ops` unless `args` say otherwise.
    pub(crate) fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        self.run_as(Some("ops"), args, stdin)
    }

    /// Runs `trust` as `actor` (`None`: no actor from the environment at all).
    pub(crate) fn run_as(
        &self,
        actor: Option<&str>,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Output {
        let mut cmd = self.cmd(args);
        cmd.env_remove("TRUST_ACTOR").env_remove("USER");
        if let Some(a) = actor {
            cmd.env("TRUST_ACTOR", a);
        }
        run(&mut cmd, stdin)
    }
}
