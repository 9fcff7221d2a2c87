//! Crash-safe file primitives: atomic replacement, private creation, directory locks.
//!
//! Every piece of state this crate keeps on disk (keyrings, subject keys, audit-log metadata,
//! pinned checkpoints) is written through these functions, so that a crash or `kill -9` at any
//! instant leaves either the old file or the new one — never a torn mix — and so that
//! permissions on key files are right from the first byte.
//!
//! The recipe is the classic one: write a temporary file in the same directory, `fsync` it,
//! `rename` it over the target, then `fsync` the directory so the rename itself is durable.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::secret::random_array;

/// Replaces `path` with `contents` atomically and durably.
///
/// The new file is created with mode `0600` on Unix (state files may hold wrapped keys; nothing
/// here is meant for other users). On return the data and the directory entry are on stable
/// storage.
///
/// # Errors
/// Any I/O error; the target is then unchanged (a stray temporary file may remain and is
/// harmless).
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = parent_dir(path);
    let tmp = temp_path(path)?;
    let result = (|| {
        let mut file = open_private(&tmp, true)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates a new file holding `contents`, mode `0600`, failing if it already exists.
///
/// Used for key files: refusing to overwrite means a mistyped path can never replace a root key.
///
/// # Errors
/// [`io::ErrorKind::AlreadyExists`] when `path` exists, or any other I/O error.
pub fn create_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    // Written under a temporary name first, then linked into place without replacing, so a crash
    // never leaves a short key file behind under the real name.
    let dir = parent_dir(path);
    let tmp = temp_path(path)?;
    let result = (|| {
        let mut file = open_private(&tmp, true)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::hard_link(&tmp, path)?;
        fs::remove_file(&tmp)?;
        sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates `path` (and missing parents) as a directory private to the current user.
///
/// # Errors
/// Any I/O error.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)?;
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        sync_dir(parent)?;
    }
    Ok(())
}

/// `fsync`s a directory so that entries created or renamed in it are durable.
///
/// # Errors
/// Any I/O error.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Opens (creating if needed) a file with mode `0600` on Unix.
fn open_private(path: &Path, create_new: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let suffix = random_array::<8>().map_err(io::Error::other)?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", hex::encode(suffix)));
    Ok(parent_dir(path).join(tmp_name))
}

/// An exclusive advisory lock on a file, held until dropped.
///
/// Serializes writers of one piece of state across threads *and* processes (a keyring's
/// compare-and-swap, an audit log's appends). The lock file itself holds nothing.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
}

impl LockGuard {
    /// Blocks until the exclusive lock on `path` (created `0600` if missing) is held.
    ///
    /// # Errors
    /// Any I/O error opening or locking the file.
    pub fn acquire(path: &Path) -> io::Result<Self> {
        let file = open_private(path, false)?;
        file.lock()?;
        Ok(Self { file })
    }

    /// Takes the lock only if no one else holds it; `Ok(None)` when it is busy.
    ///
    /// # Errors
    /// Any I/O error other than the lock being held elsewhere.
    pub fn try_acquire(path: &Path) -> io::Result<Option<Self>> {
        let file = open_private(path, false)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { file })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"first version, rather long").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file may remain");
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        write_atomic(&a, b"x").unwrap();
        create_private(&b, b"y").unwrap();
        for p in [a, b] {
            let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
    }

    #[test]
    fn create_private_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        create_private(&path, b"one").unwrap();
        let err = create_private(&path, b"two").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"one");
    }

    #[test]
    fn write_atomic_into_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("x");
        assert!(write_atomic(&path, b"x").is_err());
    }

    #[test]
    fn lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let held = LockGuard::acquire(&path).unwrap();
        assert!(LockGuard::try_acquire(&path).unwrap().is_none());
        drop(held);
        assert!(LockGuard::try_acquire(&path).unwrap().is_some());
    }
}
