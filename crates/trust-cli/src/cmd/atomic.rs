//! Output files that appear whole or not at all.
//!
//! `trust encrypt -o`, `trust decrypt -o` and `trust rewrap` write into a temporary file in the
//! target's directory (mode 0600, a name starting with `.`), `fsync` it, and rename it over the
//! target only when the whole operation succeeded; on failure the temporary file is removed.
//! A `kill -9` at any moment leaves the old file (and perhaps a stray `.NAME.trust-tmp-…`),
//! never a half-written one under the real name.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use trust_core::durable;
use trust_core::secret::random_array;

/// A temporary file that becomes `target` on [`AtomicFile::commit`].
pub(crate) struct AtomicFile {
    file: Option<File>,
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Creates the temporary file next to `target`.
    pub(crate) fn create(target: &Path) -> io::Result<Self> {
        let dir = parent(target);
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
        let suffix = random_array::<6>().map_err(io::Error::other)?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(".trust-tmp-");
        for b in suffix {
            tmp_name.push(format!("{b:02x}"));
        }
        let tmp = dir.join(tmp_name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&tmp)?;
        Ok(Self {
            file: Some(file),
            tmp,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// Flushes, syncs and renames the temporary file over the target, then syncs the directory.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        if let Some(file) = self.file.take() {
            file.sync_all()?;
        }
        fs::rename(&self.tmp, &self.target)?;
        self.committed = true;
        durable::sync_dir(&parent(&self.target))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("already committed")),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(buf),
            None => Err(io::Error::other("already committed")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    /// Not committed: remove the temporary file so a failure leaves nothing behind.
    fn drop(&mut self) {
        if !self.committed {
            drop(self.file.take());
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
