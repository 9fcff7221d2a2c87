//! Where keyring files live: a small trait, and the local-directory default.
//!
//! A store keeps opaque, already-authenticated bytes per keyring name and offers one write
//! primitive, [`KeyringStore::compare_and_swap`]: replace the keyring only if the stored one
//! still has the revision the writer read. Two processes rotating the same keyring at once
//! therefore cannot lose an update — the second writer gets [`StoreError::Conflict`], reloads
//! and retries (ESDK's 2025 key-store fix, the same idea). A shared store (PostgreSQL:
//! `UPDATE … WHERE revision = $expected`) implements the same trait later.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::file::{self, FileError};
use crate::durable::{self, LockGuard};

/// Why a store operation failed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The stored keyring's revision is not the one expected: someone else wrote first.
    Conflict,
    /// `create` found a keyring of that name.
    AlreadyExists,
    /// `compare_and_swap` found no keyring of that name.
    NotFound,
    /// The stored bytes are not a valid keyring file (torn, corrupted, foreign).
    Corrupt(FileError),
    /// The backend failed (I/O); the reason names paths, never contents.
    Backend(String),
    /// A shared store (a database) could not be reached or dropped the connection before the
    /// change committed: nothing was applied, and the next call reconnects. The reason names
    /// the server (its URL without password), never contents.
    Unavailable(String),
}

/// Storage of keyring files by name.
pub trait KeyringStore: Send + Sync {
    /// The stored bytes of keyring `name`, or `None` when there is none.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the store cannot be read.
    fn load(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores a new keyring; fails with [`StoreError::AlreadyExists`] if `name` is taken.
    ///
    /// # Errors
    /// As described.
    fn create(&self, name: &str, contents: &[u8]) -> Result<(), StoreError>;

    /// Replaces keyring `name` with `contents` only if its stored revision is
    /// `expected_revision`; atomically (readers see the old or the new file, never a mix).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the revision moved on, [`StoreError::NotFound`],
    /// [`StoreError::Corrupt`] when the stored file cannot be parsed (restore it from a backup;
    /// it is never overwritten blindly).
    fn compare_and_swap(
        &self,
        name: &str,
        expected_revision: u64,
        contents: &[u8],
    ) -> Result<(), StoreError>;

    /// The names of every stored keyring, sorted.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the store cannot be listed.
    fn names(&self) -> Result<Vec<String>, StoreError>;
}

/// The embedded default: one `NAME.json` per keyring in a directory, replaced with
/// [`durable::write_atomic`] under a per-keyring lock (`.NAME.lock`), which serializes
/// writers across threads and processes.
#[derive(Debug)]
pub struct DirStore {
    dir: PathBuf,
}

impl DirStore {
    /// A store over `dir`, which must exist.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file keyring `name` is stored in.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    fn lock(&self, name: &str) -> Result<LockGuard, StoreError> {
        LockGuard::acquire(&self.dir.join(format!(".{name}.lock")))
            .map_err(|e| backend(&self.dir, &e))
    }

    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(name);
        match fs::metadata(&path) {
            Ok(m) if m.len() > file::MAX_FILE_LEN as u64 => {
                return Err(StoreError::Corrupt(FileError::TooLarge));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(backend(&path, &e)),
        }
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(backend(&path, &e)),
        }
    }
}

fn backend(path: &Path, e: &io::Error) -> StoreError {
    StoreError::Backend(format!("{}: {e}", path.display()))
}

impl KeyringStore for DirStore {
    fn load(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(name)
    }

    fn create(&self, name: &str, contents: &[u8]) -> Result<(), StoreError> {
        let _guard = self.lock(name)?;
        if self.read(name)?.is_some() {
            return Err(StoreError::AlreadyExists);
        }
        let path = self.path(name);
        durable::write_atomic(&path, contents).map_err(|e| backend(&path, &e))
    }

    fn compare_and_swap(
        &self,
        name: &str,
        expected_revision: u64,
        contents: &[u8],
    ) -> Result<(), StoreError> {
        let _guard = self.lock(name)?;
        let current = self.read(name)?.ok_or(StoreError::NotFound)?;
        let parsed = file::parse(&current).map_err(StoreError::Corrupt)?;
        if parsed.record.revision != expected_revision {
            return Err(StoreError::Conflict);
        }
        let path = self.path(name);
        durable::write_atomic(&path, contents).map_err(|e| backend(&path, &e))
    }

    fn names(&self) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        let entries = fs::read_dir(&self.dir).map_err(|e| backend(&self.dir, &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| backend(&self.dir, &e))?;
            let file_name = entry.file_name();
            let Some(s) = file_name.to_str() else {
                continue;
            };
            if let Some(name) = s.strip_suffix(".json")
                && crate::provider::KeyRef::is_valid_name(name)
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }
}

/// Keyrings in memory: for tests, benchmarks and apps that persist keyrings themselves.
#[derive(Debug, Default)]
pub struct MemoryStore {
    files: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn files(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>>, StoreError> {
        self.files
            .lock()
            .map_err(|_| StoreError::Backend("the memory store's lock is poisoned".into()))
    }
}

impl KeyringStore for MemoryStore {
    fn load(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.files()?.get(name).cloned())
    }

    fn create(&self, name: &str, contents: &[u8]) -> Result<(), StoreError> {
        let mut files = self.files()?;
        if files.contains_key(name) {
            return Err(StoreError::AlreadyExists);
        }
        files.insert(name.to_owned(), contents.to_vec());
        Ok(())
    }

    fn compare_and_swap(
        &self,
        name: &str,
        expected_revision: u64,
        contents: &[u8],
    ) -> Result<(), StoreError> {
        let mut files = self.files()?;
        let current = files.get(name).ok_or(StoreError::NotFound)?;
        let parsed = file::parse(current).map_err(StoreError::Corrupt)?;
        if parsed.record.revision != expected_revision {
            return Err(StoreError::Conflict);
        }
        files.insert(name.to_owned(), contents.to_vec());
        Ok(())
    }

    fn names(&self) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<_> = self.files()?.keys().cloned().collect();
        names.sort();
        Ok(names)
    }
}
