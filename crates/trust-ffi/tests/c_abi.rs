//! Compiles the C programs in `tests/c/` against the built library and runs them.
//!
//! Each program includes the committed `include/trust.h`, links the library (`core` the static
//! one, with the `native-static-libs` line docs/ffi.md gives; the others the shared one, which
//! links in a fraction of the time), and exits non-zero on the first failed check. Two environment variables turn on the heavier modes that `.ci/run` uses:
//!
//! * `TRUST_FFI_VALGRIND=1`: run every program under
//!   `valgrind --error-exitcode=1 --leak-check=full` (no leaks, no invalid reads or writes);
//! * `TRUST_FFI_SANITIZE=1`: build every program with `-fsanitize=address,undefined`
//!   (LeakSanitizer included) and fail on any report.
//!
//! `TRUST_FFI_CC` overrides the compiler (default `cc`).

// The link lines, SONAME handling and tools (cc, valgrind) are those of Linux, where CI runs.
#![cfg(target_os = "linux")]
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::{Path, PathBuf};
use std::process::Command;

/// `cargo test` builds this crate's `staticlib` and `cdylib` beside the test binary, in
/// `target/<profile>/deps/` (they are uplifted to `target/<profile>/` only by `cargo build`).
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().expect("target/<profile>/deps").to_path_buf()
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

/// The link line for the static library on this target, as printed by
/// `cargo rustc -p trust-ffi --lib --crate-type staticlib -- --print native-static-libs`
/// and documented in docs/ffi.md.
const NATIVE_STATIC_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

/// How a test program links the library.
#[derive(Clone, Copy)]
enum Link {
    /// `libtrust.a` plus the native-static-libs line, as docs/ffi.md recommends.
    Static,
    /// `-ltrust` against the shared library (much faster to link, so most programs use it).
    Dynamic,
}

/// Compiles `tests/c/<name>.c` and runs it; panics with its output if anything fails.
fn run_c(name: &str) {
    run_c_linked(name, Link::Dynamic, &[]);
}

fn run_c_linked(name: &str, link: Link, envs: &[(&str, &str)]) {
    let sanitize = flag("TRUST_FFI_SANITIZE");
    let valgrind = flag("TRUST_FFI_VALGRIND");
    let cc = std::env::var("TRUST_FFI_CC").unwrap_or_else(|_| "cc".to_owned());
    let variant = if sanitize { "asan" } else { "plain" };
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("c-tests")
        .join(variant);
    std::fs::create_dir_all(&out_dir).expect("create output dir");
    let exe = out_dir.join(name);
    let source = crate_dir().join("tests/c").join(format!("{name}.c"));

    let mut compile = Command::new(&cc);
    compile
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Wpedantic",
            "-Werror",
            "-g",
            "-O1",
        ])
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg("-I")
        .arg(crate_dir().join("tests/c"))
        .arg("-o")
        .arg(&exe)
        .arg(&source);
    if sanitize {
        compile.args([
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer",
        ]);
    }
    match link {
        Link::Static => {
            compile.arg(lib_dir().join("libtrust.a"));
            compile.args(NATIVE_STATIC_LIBS);
        }
        Link::Dynamic => {
            // The shared library's SONAME is libtrust.so.X.Y.Z (build.rs): give the loader a
            // directory holding that name, and the linker one holding libtrust.so.
            let lib = out_dir.join(format!("{name}.lib"));
            let _ = std::fs::remove_dir_all(&lib);
            std::fs::create_dir_all(&lib).expect("create library dir");
            let so = lib_dir().join("libtrust.so");
            let soname = format!("libtrust.so.{}", env!("CARGO_PKG_VERSION"));
            std::os::unix::fs::symlink(&so, lib.join("libtrust.so")).expect("symlink");
            std::os::unix::fs::symlink(&so, lib.join(soname)).expect("symlink");
            compile.arg("-L").arg(&lib).arg("-ltrust").arg("-lpthread");
            compile.arg(format!("-Wl,-rpath,{}", lib.display()));
        }
    }
    let output = compile.output().expect("run the C compiler");
    assert!(
        output.status.success(),
        "compiling {name}.c failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    if sanitize {
        // Guard against a compiler that silently ignored the flags (rustls-ffi's CI checks the
        // same way): an instrumented binary references the ASan runtime.
        let binary = std::fs::read(&exe).expect("read test binary");
        let needle = b"__asan_init";
        assert!(
            binary.windows(needle.len()).any(|w| w == needle),
            "{name} was not built with AddressSanitizer"
        );
    }

    let mut run = if valgrind {
        let mut cmd = Command::new("valgrind");
        cmd.args(["--quiet", "--error-exitcode=1", "--leak-check=full"]);
        // Suppresses only hashbrown's interior-pointer "possibly lost" reports; see the file.
        cmd.arg(format!(
            "--suppressions={}",
            crate_dir().join("tests/valgrind.supp").display()
        ));
        cmd.arg(&exe);
        cmd
    } else {
        Command::new(&exe)
    };
    // Programs that need scratch space (homes, logs) get their own directory.
    let scratch = out_dir.join(format!("{name}.scratch"));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("create scratch dir");
    run.env("TRUST_TEST_DIR", &scratch);
    for (key, value) in envs {
        run.env(key, value);
    }
    if sanitize {
        run.env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=1");
        run.env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    }
    let output = run.output().expect("run the C test program");
    assert!(
        output.status.success(),
        "{name} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Each program ends by saying what it covered (and what it skipped, and why).
    eprint!("{}", String::from_utf8_lossy(&output.stdout));
    let _ = std::fs::remove_dir_all(&scratch);
}

/// Linked statically: checks the documented static link line as well.
#[test]
fn core() {
    run_c_linked("core", Link::Static, &[]);
}

/// Every function declared in the header is called by at least one C test program.
#[test]
fn every_header_function_is_exercised_by_a_c_test() {
    let header = std::fs::read_to_string(crate_dir().join("include/trust.h")).expect("header");
    let mut sources = String::new();
    for entry in std::fs::read_dir(crate_dir().join("tests/c")).expect("tests/c") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "c") {
            sources.push_str(&std::fs::read_to_string(&path).expect("C source"));
        }
    }
    let declared = declared_functions(&header);
    // Guard against a parser that silently finds nothing (the check would then pass vacuously).
    for known in [
        "trust_version",
        "trust_bytes_free",
        "trust_webhook_verify_stripe",
    ] {
        assert!(declared.iter().any(|f| f == known), "parser missed {known}");
    }
    let missing: Vec<String> = declared
        .into_iter()
        .filter(|f| !sources.contains(&format!("{f}(")))
        .collect();
    assert!(
        missing.is_empty(),
        "not called by any tests/c/*.c: {missing:?}"
    );
}

/// Names of the functions the header declares (`… trust_x(` at the start of a declaration).
fn declared_functions(header: &str) -> Vec<String> {
    header
        .lines()
        .filter(|line| !line.starts_with("//") && !line.starts_with('#') && line.contains('('))
        .filter_map(|line| {
            let before_paren = &line[..line.find('(')?];
            let name = before_paren.rsplit([' ', '*']).next()?;
            name.starts_with("trust_").then(|| name.to_owned())
        })
        .collect()
}

#[test]
fn redact() {
    run_c("redact");
}

#[test]
fn merkle() {
    run_c("merkle");
}

#[test]
fn webhook() {
    run_c("webhook");
}

#[test]
fn webhook_sign() {
    run_c("webhook_sign");
}

#[test]
fn home() {
    run_c("home");
}

#[test]
fn audit() {
    run_c("audit");
}

/// Audit logs by location: refusals always, a log in PostgreSQL in a fresh schema of the test
/// server (skipped with a printed reason without `TRUST_TEST_POSTGRES_URL`; failing under
/// `CI=true`).
#[test]
fn audit_store() {
    match database_schema("ffi_audit") {
        Some(schema) => {
            run_c_linked(
                "audit_store",
                Link::Dynamic,
                &[("TRUST_TEST_STORE_URL", schema.url())],
            );
        }
        None => run_c("audit_store"),
    }
}

/// Delivery ids admitted once: in-process, and through Redis and PostgreSQL when the test
/// servers are configured (`TRUST_TEST_REDIS_URL`, `TRUST_TEST_POSTGRES_URL`; the program says
/// which it skipped, and under `CI=true` a missing server fails).
#[test]
fn replay() {
    let redis = std::env::var("TRUST_TEST_REDIS_URL").unwrap_or_default();
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        !redis.is_empty() || !in_ci,
        "CI=true but TRUST_TEST_REDIS_URL is unset: the replay test needs Redis"
    );
    match database_schema("ffi_replay") {
        Some(schema) => {
            run_c_linked(
                "replay",
                Link::Dynamic,
                &[("TRUST_TEST_STORE_URL", schema.url())],
            );
        }
        None => run_c("replay"),
    }
}

/// Promote, retire, enable, and destroy with its guard.
#[test]
fn lifecycle() {
    run_c("lifecycle");
}

/// Rewrap of blobs, tokens and subject messages, with the census destroy relies on.
#[test]
fn rewrap() {
    run_c("rewrap");
}

/// Streaming file encryption, atomic destinations, nothing released unauthenticated.
#[test]
fn stream() {
    run_c("stream");
}

/// Access control, and rate limits in-process and through Redis (`TRUST_TEST_REDIS_URL`; the
/// program says when it skipped Redis, and under `CI=true` a missing server fails).
#[test]
fn access() {
    let redis = std::env::var("TRUST_TEST_REDIS_URL").unwrap_or_default();
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        !redis.is_empty() || !in_ci,
        "CI=true but TRUST_TEST_REDIS_URL is unset: the rate-limit test needs Redis"
    );
    run_c("access");
}

#[test]
fn vault() {
    run_c("vault");
}

#[test]
fn mfa() {
    run_c("mfa");
}

#[test]
fn token() {
    run_c("token");
}

#[test]
fn password() {
    run_c("password");
}

/// Homes by store string: a directory always, and PostgreSQL in a fresh schema of the test
/// server (skipped with a printed reason without `TRUST_TEST_POSTGRES_URL`; failing under
/// `CI=true`).
#[test]
fn store() {
    match database_schema("ffi_store") {
        Some(schema) => {
            run_c_linked(
                "store",
                Link::Dynamic,
                &[("TRUST_TEST_STORE_URL", schema.url())],
            );
        }
        None => run_c("store"),
    }
}

/// A fresh schema on the PostgreSQL test server for a C program, or `None` (the program then
/// skips its database part and says so). Under valgrind the database part is left to the plain
/// and ASan runs: the TLS the driver negotiates runs through ring's assembly, whose outputs
/// valgrind cannot see initialised, and suppressing those reports would hide real ones.
fn database_schema(label: &str) -> Option<trust_postgres::testing::TestSchema> {
    if flag("TRUST_FFI_VALGRIND") {
        eprintln!(
            "{label}: database part skipped under valgrind (covered by the plain and ASan runs)"
        );
        return None;
    }
    trust_postgres::testing::TestSchema::create(label)
}

/// An empty path is an invalid argument everywhere, and creates nothing in the working directory.
#[test]
fn paths() {
    run_c("paths");
}

#[test]
fn gdpr() {
    run_c("gdpr");
}

/// Signed subject export bundles and the GDPR request register.
#[test]
fn gdpr_export() {
    run_c("gdpr_export");
}

/// Concurrent seal/open/verify/redact/append from several pthreads on shared handles.
#[test]
fn threads() {
    run_c("threads");
}

/// The link line used here is the one `trust.pc.in` (and, through `.ci/ffi`, docs/ffi.md and
/// rustc's `--print native-static-libs`) gives.
#[test]
fn static_link_line_matches_the_pkg_config_template() {
    let pc = std::fs::read_to_string(crate_dir().join("trust.pc.in")).expect("trust.pc.in");
    let line = pc
        .lines()
        .find_map(|l| l.strip_prefix("Libs.private: "))
        .expect("Libs.private line");
    assert_eq!(line, NATIVE_STATIC_LIBS.join(" "));
}
