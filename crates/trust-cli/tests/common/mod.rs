//! The harness the `trust secrets` and `trust mfa` CLI tests share: a fresh home with a
//! key-file root, `trust` run as an actor with stdin, and exit-code assertions.
// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub(crate) struct Env {
    pub(crate) dir: tempfile::TempDir,
}

impl Env {
    /// A fresh home with a key-file root.
    pub(crate) fn new() -> Self {
        let env = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let root = env.path("root.key");
        let out = env.run(&["init", "--root-key-file", root.to_str().unwrap()], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        env
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_owned()
    }

    /// Runs `trust` as actor `ops` unless `args` say otherwise.
    pub(crate) fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        self.run_as(Some("ops"), args, stdin)
    }

    pub(crate) fn run_as(
        &self,
        actor: Option<&str>,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trust"));
        cmd.env_remove("TRUST_HOME")
            .env_remove("TRUST_ACTOR")
            .env_remove("TRUST_AUDIT_LOG")
            .env_remove("USER");
        if let Some(a) = actor {
            cmd.env("TRUST_ACTOR", a);
        }
        cmd.arg("--home")
            .arg(self.path("home"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        {
            let mut input = child.stdin.take().unwrap();
            if let Some(bytes) = stdin {
                input.write_all(bytes).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    }
}

pub(crate) fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("not JSON: {}", stdout(out)))
}

#[track_caller]
pub(crate) fn expect(out: &Output, want: i32) {
    assert_eq!(
        code(out),
        want,
        "stdout: {}\nstderr: {}",
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
}
