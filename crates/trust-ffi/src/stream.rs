//! Streaming encryption of files: any size in constant memory, the destination written
//! atomically.
//!
//! trust-core's streaming `Sealer` and `Opener` work in 16 KiB chunks, each authenticated on
//! its own and the last one marked, so a truncated or reordered file is detected. The output
//! is staged beside the destination (an unnamed `O_TMPFILE` on Linux, so nothing of it outlives
//! a crash) and put in place only once the whole stream is written and synced. For decryption
//! that means the destination receives plaintext only when every chunk authenticated, through
//! the end: a tampered or truncated file leaves the destination as it was, as `trust decrypt`
//! does. The files are the CLI's format: `trust decrypt` opens what `trust_home_encrypt_file`
//! wrote and the reverse.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

use trust_core::durable::AtomicFile;
use trust_core::envelope::{EnvelopeError, Opener, Sealer};

use crate::boundary::{Failure, boundary, try_opt_out, try_path, try_ref, try_str};
use crate::error::trust_error;
use crate::home::{trust_context, trust_home};
use crate::status::trust_status;

/// Buffer size for reading and writing files (the envelope chunks inside are 16 KiB).
const BUF_LEN: usize = 1 << 16;

fn io_failure(what: &str, path: &Path, err: &io::Error) -> Failure {
    Failure::new(
        trust_status::TrustInputUnreadable,
        "IO_ERROR",
        format!("{what} {}: {err}", path.display()),
    )
}

/// Runs `body` from `src` into an [`AtomicFile`] staged for `dst`, committing only on success.
fn stream_file(
    src: &Path,
    dst: &Path,
    body: impl FnOnce(
        &mut BufReader<File>,
        &mut BufWriter<&mut AtomicFile>,
    ) -> Result<u64, EnvelopeError>,
) -> Result<u64, Failure> {
    let input = File::open(src).map_err(|e| io_failure("cannot read the input", src, &e))?;
    let mut input = BufReader::with_capacity(BUF_LEN, input);
    let mut output =
        AtomicFile::create(dst).map_err(|e| io_failure("cannot write the output", dst, &e))?;
    let n = {
        let mut writer = BufWriter::with_capacity(BUF_LEN, &mut output);
        let n = body(&mut input, &mut writer)?;
        writer
            .flush()
            .map_err(|e| io_failure("cannot write the output", dst, &e))?;
        n
    };
    output
        .commit()
        .map_err(|e| io_failure("cannot write the output", dst, &e))?;
    Ok(n)
}

/// Encrypts file `src_path` into `dst_path` under the Primary of `keyring`, bound to `context`
/// (the CLI's `trust encrypt` format). `dst_path` is replaced atomically (or created, mode
/// `0600`) only once the whole file is written; on any error it is left as it was.
/// `*bytes_out` (NULL allowed) receives the number of plaintext bytes read.
///
/// Errors: `TRUST_INVALID_ARGUMENT` (`EMPTY_PATH`); `TRUST_INPUT_UNREADABLE` (`IO_ERROR`) for
/// a missing input, or a destination that cannot be written or is not a regular file;
/// `TRUST_KEY_UNAVAILABLE` as `trust_home_seal`.
///
/// # Safety
/// `home` and `context` are live handles; text pointers point to their lengths in readable
/// bytes; `bytes_out` is NULL or a writable `uint64_t`; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_encrypt_file(
    home: *const trust_home,
    keyring: *const u8,
    keyring_len: usize,
    context: *const trust_context,
    src_path: *const u8,
    src_path_len: usize,
    dst_path: *const u8,
    dst_path_len: usize,
    bytes_out: *mut u64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let keyring = try_str!(keyring, keyring_len);
        let context = try_ref!(context);
        let src = try_path!(src_path, src_path_len);
        let dst = try_path!(dst_path, dst_path_len);
        let bytes_out = try_opt_out!(bytes_out);
        let n = stream_file(src, dst, |input, output| {
            let mut sealer = Sealer::new(&*home.inner, keyring, context.inner(), output)?;
            let n = io::copy(input, &mut sealer).map_err(EnvelopeError::from_io)?;
            sealer.finish()?;
            Ok(n)
        })?;
        if let Some(out) = bytes_out {
            out.set(n);
        }
        Ok(())
    })
}

/// Decrypts file `src_path` (made by `trust_home_encrypt_file` or `trust encrypt`) into
/// `dst_path`, with an equal `context`. Every chunk is authenticated before it is written, and
/// `dst_path` is put in place only once the whole message authenticated through its last chunk:
/// a tampered, truncated or foreign file leaves `dst_path` as it was and no plaintext behind.
/// `*bytes_out` (NULL allowed) receives the number of plaintext bytes.
///
/// Errors: `TRUST_VERIFICATION_FAILED` (`AUTHENTICATION_FAILED`, `CONTEXT_MISMATCH`,
/// truncation), `TRUST_KEY_UNAVAILABLE`, and as `trust_home_encrypt_file`.
///
/// # Safety
/// As for `trust_home_encrypt_file`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_home_decrypt_file(
    home: *const trust_home,
    context: *const trust_context,
    src_path: *const u8,
    src_path_len: usize,
    dst_path: *const u8,
    dst_path_len: usize,
    bytes_out: *mut u64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let context = try_ref!(context);
        let src = try_path!(src_path, src_path_len);
        let dst = try_path!(dst_path, dst_path_len);
        let bytes_out = try_opt_out!(bytes_out);
        let n = stream_file(src, dst, |input, output| {
            let mut opener = Opener::new(&*home.inner, context.inner(), input)?;
            io::copy(&mut opener, output).map_err(EnvelopeError::from_io)
        })?;
        if let Some(out) = bytes_out {
            out.set(n);
        }
        Ok(())
    })
}
