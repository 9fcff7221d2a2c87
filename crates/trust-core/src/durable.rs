//! Crash-safe file primitives: atomic replacement, private creation, directory locks.
//!
//! Every file this workspace writes (keyrings, subject keys, audit-log metadata, pinned
//! checkpoints, and the CLI's `-o` outputs) goes through [`AtomicFile`], so that a crash or
//! `kill -9` at any instant leaves either the old file or the new one — never a torn mix — and
//! so that permissions on key files are right from the first byte.
//!
//! ## The recipe
//!
//! Write the new contents into a file that is not yet the target, `fsync` it, `rename` it over
//! the target, then `fsync` the directory so the rename itself is durable. What the "file that
//! is not yet the target" is decides what a crash can leave behind:
//!
//! * **On Linux, where the filesystem supports it (ext4, XFS, Btrfs, tmpfs, …), it has no
//!   name at all**: it is opened with `O_TMPFILE`, and the kernel frees it when the process
//!   dies. Only after the whole content is written and synced is it given a name: linked
//!   straight to the target when the target does not exist (`linkat`, which never replaces),
//!   otherwise linked to a temporary name and renamed over the target at once. A `kill -9`
//!   during the write — where all the time is spent, e.g. decrypting 1 GiB — leaves nothing.
//! * **Elsewhere**, it is a hidden file `.NAME.trust-tmp-<16 hex>` beside the target.
//!
//! Either way a crash can leave a named temporary file only in the second case or in the
//! instant between the link and the rename. Such a leftover may hold plaintext or a keyring
//! revision whose wrapped keys a later `destroy` must not let survive, so it is swept:
//! every writer holds an exclusive lock ([`File::lock`]) on its temporary file for as long as
//! it lives, and the kernel drops that lock when the writer dies. A temporary file whose lock
//! can be taken therefore belongs to a dead writer; `sweep_temps` truncates and removes
//! exactly those (and the unlocked temporary names that earlier versions of this crate used).
//! [`AtomicFile::create`] sweeps the leftovers of its own target before replacing it, so the
//! next write of a keyring — a `destroy`, say — removes every stale copy of it.
//!
//! ## What is never replaced
//!
//! A target that exists and is not a regular file (a FIFO, a device such as `/dev/null`, a
//! socket, a directory) is never renamed over: [`AtomicFile::create`] refuses it, and
//! [`OutputFile::create`], for user-chosen output paths, writes to it directly instead. A
//! symbolic link is followed, and the regular file it points to is the one replaced.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::secret::random_array;

/// The marker in the names of this module's temporary files: `.NAME.trust-tmp-<16 hex>`.
const TEMP_MARK: &str = ".trust-tmp-";

/// A file that becomes `target`, whole, on [`AtomicFile::commit`] — or never appears at all.
///
/// Dropping it without committing discards what was written (the temporary file is truncated
/// and removed; an `O_TMPFILE` one simply vanishes). The file is created with mode `0600` on
/// Unix: state files may hold wrapped keys and outputs may hold plaintext.
///
/// ```
/// use std::io::Write;
/// use trust_core::durable::AtomicFile;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("report.csv");
/// let mut file = AtomicFile::create(&path)?;
/// file.write_all(b"order,total\n")?;
/// assert!(!path.exists(), "nothing under the real name before commit");
/// file.commit()?;
/// assert_eq!(std::fs::read(&path)?, b"order,total\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    file: File,
    /// The regular file (symbolic links resolved) that commit replaces or creates.
    target: PathBuf,
    dir: PathBuf,
    staging: Staging,
    /// The target existed when the writer started (so commit will most likely replace it).
    existed: bool,
    done: bool,
}

#[derive(Debug)]
enum Staging {
    /// An `O_TMPFILE`: no name until commit.
    #[cfg(target_os = "linux")]
    Anonymous,
    /// A hidden temporary file beside the target.
    Named(PathBuf),
}

impl AtomicFile {
    /// Starts writing a new version of `target`.
    ///
    /// Removes the temporary files that dead writers left for `target` first (see the module
    /// documentation).
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] when `target` exists and is not a regular file (or a
    /// symbolic link to one); any I/O error (a missing directory, a permission error).
    pub fn create(target: &Path) -> io::Result<Self> {
        Self::create_with(target, false, true)
    }

    /// As [`AtomicFile::create`]; `always_sweep` also sweeps for a target that does not exist
    /// yet (whose leftovers only a writer without `O_TMPFILE` could have made); `anonymous`
    /// false stages in a named file even where `O_TMPFILE` works (to test that path).
    fn create_with(target: &Path, always_sweep: bool, anonymous: bool) -> io::Result<Self> {
        let (target, existed) = resolve_regular(target)?;
        let dir = parent_dir(&target);
        let name = file_name(&target)?.to_owned();
        let (file, staging) = stage(&dir, &target, anonymous)?;
        let named = matches!(staging, Staging::Named(_));
        // With O_TMPFILE a new file is linked straight into place, so leftovers of a target
        // can only exist if it existed (or if an earlier writer had no O_TMPFILE either). The
        // check keeps a store that creates many new files (audit payloads) from listing its
        // directory on every write.
        if existed || named || always_sweep {
            sweep(&dir, Some(&name))?;
        }
        Ok(Self {
            file,
            target,
            dir,
            staging,
            existed,
            done: false,
        })
    }

    /// Syncs the content and puts it in place of the target, then syncs the directory.
    ///
    /// # Errors
    /// Any I/O error; the target is then unchanged.
    pub fn commit(mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.sync_all()?;
        match &self.staging {
            #[cfg(target_os = "linux")]
            Staging::Anonymous => {
                let linked = if self.existed {
                    Err(io::ErrorKind::AlreadyExists.into())
                } else {
                    linux::link_fd(&self.file, &self.target)
                };
                match linked {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        // Replacing: give the complete file a name for the instant of the
                        // rename. The lock held on it keeps sweepers away meanwhile.
                        let tmp = temp_path(&self.target)?;
                        linux::link_fd(&self.file, &tmp)?;
                        if let Err(e) = fs::rename(&tmp, &self.target) {
                            let _ = fs::remove_file(&tmp);
                            return Err(e);
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            Staging::Named(tmp) => fs::rename(tmp, &self.target)?,
        }
        self.done = true;
        sync_dir(&self.dir)
    }

    /// Like [`AtomicFile::commit`], but fails with [`io::ErrorKind::AlreadyExists`] instead of
    /// replacing an existing target.
    fn commit_new(mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.sync_all()?;
        match &self.staging {
            #[cfg(target_os = "linux")]
            Staging::Anonymous => linux::link_fd(&self.file, &self.target)?,
            Staging::Named(tmp) => {
                fs::hard_link(tmp, &self.target)?;
                // The content now has its real name; the temporary one goes (Drop would wipe
                // the shared inode, so mark the work done first).
                self.done = true;
                fs::remove_file(tmp)?;
            }
        }
        self.done = true;
        sync_dir(&self.dir)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    /// Not committed: what was written goes, so a failure leaves nothing behind.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Staging::Named(tmp) = &self.staging {
            // Truncate first: the bytes go even if another name for this inode exists.
            let _ = self.file.set_len(0);
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Where a user-chosen output goes: a regular file (or a new one) is written through an
/// [`AtomicFile`]; a FIFO, a character or block device or a socket is written directly.
///
/// This is what `trust decrypt -o /dev/stdout` or `-o "$FIFO"` needs: renaming over such a
/// path would replace the device node (as root, `-o /dev/null` would turn the system's
/// `/dev/null` into a regular file) instead of writing to it.
#[derive(Debug)]
pub enum OutputFile {
    /// A regular file, replaced atomically on commit.
    Replace(AtomicFile),
    /// A device, FIFO or socket, written as bytes arrive.
    Direct(File),
}

impl OutputFile {
    /// Opens `target` for output.
    ///
    /// # Errors
    /// Any I/O error (a missing directory, a permission error, a directory as target).
    pub fn create(target: &Path) -> io::Result<Self> {
        match fs::metadata(target) {
            Ok(m) if !m.is_file() && !m.is_dir() => {
                let file = OpenOptions::new().write(true).open(target)?;
                Ok(Self::Direct(file))
            }
            Ok(m) if m.is_dir() => Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            )),
            // An output path is written once per command, so listing its directory for
            // leftovers of earlier runs (older versions, other filesystems) costs nothing.
            _ => AtomicFile::create_with(target, true, true).map(Self::Replace),
        }
    }

    /// True when the output is written as it arrives (no atomic replacement).
    pub fn is_direct(&self) -> bool {
        matches!(self, Self::Direct(_))
    }

    /// Completes the output: commits a regular file; flushes a direct one.
    ///
    /// # Errors
    /// Any I/O error.
    pub fn commit(self) -> io::Result<()> {
        match self {
            Self::Replace(file) => file.commit(),
            Self::Direct(mut file) => file.flush(),
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Replace(f) => f.write(buf),
            Self::Direct(f) => f.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Self::Replace(f) => f.write_all(buf),
            Self::Direct(f) => f.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Replace(f) => f.flush(),
            Self::Direct(f) => f.flush(),
        }
    }
}

/// Replaces `path` with `contents` atomically and durably (an [`AtomicFile`] written at once).
///
/// # Errors
/// As [`AtomicFile::create`] and [`AtomicFile::commit`]; the target is then unchanged.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(contents)?;
    file.commit()
}

/// Creates a new file holding `contents`, mode `0600`, failing if it already exists.
///
/// Used for key files: refusing to overwrite means a mistyped path can never replace a root key.
/// The content is complete before the name appears, so a crash never leaves a short key file
/// behind under the real name.
///
/// # Errors
/// [`io::ErrorKind::AlreadyExists`] when `path` exists, or any other I/O error.
pub(crate) fn create_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    if fs::symlink_metadata(path).is_ok() {
        return Err(io::ErrorKind::AlreadyExists.into());
    }
    let mut file = AtomicFile::create(path)?;
    file.write_all(contents)?;
    file.commit_new()
}

/// Removes the temporary files that writers which died (crash, `kill -9`, power loss) left in
/// `dir`, and returns how many it removed. Live writers' files are left alone.
///
/// Each file is truncated before it is unlinked, so its bytes go even if it has other names.
/// Open paths of stores call this on their directories; [`AtomicFile::create`] does it for its
/// own target.
///
/// # Errors
/// Any I/O error listing the directory or removing a file.
pub(crate) fn sweep_temps(dir: &Path) -> io::Result<usize> {
    sweep(dir, None)
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
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// `fsync`s a directory so that entries created or renamed in it are durable.
///
/// # Errors
/// Any I/O error.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
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

/// The file a new version of `path` goes to, locked for the writer's lifetime.
fn stage(dir: &Path, target: &Path, anonymous: bool) -> io::Result<(File, Staging)> {
    #[cfg(target_os = "linux")]
    if anonymous {
        if let Some(file) = linux::open_anonymous(dir)? {
            file_lock::lock(&file)?;
            return Ok((file, Staging::Anonymous));
        }
    }
    let _ = (dir, anonymous);
    // A sweeper may take the lock of a file created a moment ago, before its writer locked
    // it, and remove it. The writer notices (the name no longer leads to its file) and retries.
    for _ in 0..4 {
        let tmp = temp_path(target)?;
        let file = open_private(&tmp, true)?;
        file_lock::lock(&file)?;
        if same_file(&file, &tmp) {
            return Ok((file, Staging::Named(tmp)));
        }
    }
    Err(io::Error::other(
        "temporary files keep disappearing: is another program cleaning the directory?",
    ))
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// `path` itself when it is absent or a regular file; the file it points to when it is a
/// symbolic link to a regular file. Also says whether the target exists.
fn resolve_regular(path: &Path) -> io::Result<(PathBuf, bool)> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((path.to_path_buf(), false)),
        Err(e) => return Err(e),
    };
    let (resolved, meta) = if meta.file_type().is_symlink() {
        let resolved = fs::canonicalize(path)?;
        let meta = fs::metadata(&resolved)?;
        (resolved, meta)
    } else {
        (path.to_path_buf(), meta)
    };
    if meta.is_file() {
        Ok((resolved, true))
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file: refusing to replace it",
        ))
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(path: &Path) -> io::Result<&OsStr> {
    path.file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))
}

fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let suffix = random_array::<8>().map_err(io::Error::other)?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(file_name(path)?);
    tmp_name.push(TEMP_MARK);
    tmp_name.push(hex::encode(suffix));
    Ok(parent_dir(path).join(tmp_name))
}

/// The target name a temporary file belongs to, if `name` is one of ours:
/// `.NAME.trust-tmp-<16 hex>`, or the names earlier versions used (`.NAME.tmp-<16 hex>` for
/// state files, `.NAME.trust-tmp-<12 hex>` for CLI outputs).
fn temp_target(name: &OsStr) -> Option<&str> {
    let rest = name.to_str()?.strip_prefix('.')?;
    let (stem, hex) = rest.rsplit_once('-')?;
    if !(hex.len() == 16 || hex.len() == 12)
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let target = stem
        .strip_suffix(".trust-tmp")
        .or_else(|| stem.strip_suffix(".tmp").filter(|_| hex.len() == 16))?;
    (!target.is_empty()).then_some(target)
}

fn sweep(dir: &Path, only: Option<&OsStr>) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(target) = temp_target(&name) else {
            continue;
        };
        if only.is_some_and(|only| only != OsStr::new(target)) {
            continue;
        }
        let path = entry.path();
        // Never open a FIFO or a device, never follow a link.
        if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let file = match OpenOptions::new().write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        // Busy: its writer is alive.
        if !file_lock::try_lock(&file)? {
            continue;
        }
        file.set_len(0)?;
        file.sync_all()?;
        match fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    if removed > 0 {
        sync_dir(dir)?;
    }
    Ok(removed)
}

#[cfg(target_os = "linux")]
mod linux {
    //! `O_TMPFILE` and `linkat`, through rustix's safe wrappers.
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;
    use std::path::Path;

    use rustix::fs::{AtFlags, CWD, Mode, OFlags};
    use rustix::io::Errno;

    /// An unnamed file in `dir`, or `None` when the filesystem (or kernel) cannot make one or
    /// `/proc` is not mounted (without it an unprivileged process cannot link the file later).
    pub(super) fn open_anonymous(dir: &Path) -> io::Result<Option<File>> {
        if !Path::new("/proc/self/fd").is_dir() {
            return Ok(None);
        }
        match rustix::fs::openat(
            CWD,
            dir,
            OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        ) {
            Ok(fd) => Ok(Some(File::from(fd))),
            // Filesystem without O_TMPFILE (EOPNOTSUPP), kernel before 3.11 (EISDIR, EINVAL).
            Err(e) if e == Errno::OPNOTSUPP || e == Errno::ISDIR || e == Errno::INVAL => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives the open, unnamed `file` the name `to`; never replaces (`AlreadyExists`).
    pub(super) fn link_fd(file: &File, to: &Path) -> io::Result<()> {
        let from = format!("/proc/self/fd/{}", file.as_raw_fd());
        rustix::fs::linkat(CWD, from.as_str(), CWD, to, AtFlags::SYMLINK_FOLLOW)
            .map_err(io::Error::from)
    }
}

/// Exclusive advisory locks on open files: `flock(2)` on Unix, as `std::fs::File::lock` does
/// since Rust 1.89. Through rustix here so that trust-core keeps building with the Rust that
/// Debian stable ships (the MSRV policy in CONTRIBUTING.md).
#[cfg(unix)]
mod file_lock {
    use std::fs::File;
    use std::io;

    use rustix::fs::{FlockOperation, flock};
    use rustix::io::Errno;

    /// Blocks until the exclusive lock on `file` is held.
    pub(super) fn lock(file: &File) -> io::Result<()> {
        loop {
            match flock(file, FlockOperation::LockExclusive) {
                Err(Errno::INTR) => {}
                done => return done.map_err(io::Error::from),
            }
        }
    }

    /// Takes the exclusive lock on `file` if no one holds it; `false` when it is busy.
    pub(super) fn try_lock(file: &File) -> io::Result<bool> {
        match flock(file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(true),
            Err(Errno::WOULDBLOCK) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Releases the lock (closing the file would too; this frees it before the drop).
    pub(super) fn unlock(file: &File) {
        let _ = flock(file, FlockOperation::Unlock);
    }
}

/// Elsewhere std's own file locks (Rust 1.89 or later): the MSRV below 1.89 holds on Unix.
#[cfg(not(unix))]
#[allow(clippy::incompatible_msrv)]
mod file_lock {
    use std::fs::{File, TryLockError};
    use std::io;

    pub(super) fn lock(file: &File) -> io::Result<()> {
        file.lock()
    }

    pub(super) fn try_lock(file: &File) -> io::Result<bool> {
        match file.try_lock() {
            Ok(()) => Ok(true),
            Err(TryLockError::WouldBlock) => Ok(false),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }

    pub(super) fn unlock(file: &File) {
        let _ = file.unlock();
    }
}

/// An exclusive advisory lock on a file, held until dropped.
///
/// Serializes writers of one piece of state across threads *and* processes (a keyring's
/// compare-and-swap, an audit log's appends). The lock file itself holds nothing.
#[derive(Debug)]
pub(crate) struct LockGuard {
    file: File,
}

impl LockGuard {
    /// Blocks until the exclusive lock on `path` (created `0600` if missing) is held.
    ///
    /// # Errors
    /// Any I/O error opening or locking the file.
    pub(crate) fn acquire(path: &Path) -> io::Result<Self> {
        let file = open_private(path, false)?;
        file_lock::lock(&file)?;
        Ok(Self { file })
    }

    /// Takes the lock only if no one else holds it; `Ok(None)` when it is busy.
    ///
    /// # Errors
    /// Any I/O error other than the lock being held elsewhere.
    pub(crate) fn try_acquire(path: &Path) -> io::Result<Option<Self>> {
        let file = open_private(path, false)?;
        Ok(file_lock::try_lock(&file)?.then_some(Self { file }))
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        file_lock::unlock(&self.file);
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

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn uncommitted_content_never_appears_under_a_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"plaintext prefix").unwrap();
        match &file.staging {
            // O_TMPFILE: nothing at all in the directory while the writer runs.
            #[cfg(target_os = "linux")]
            Staging::Anonymous => assert!(names(dir.path()).is_empty()),
            Staging::Named(tmp) => assert!(tmp.exists()),
        }
        drop(file);
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
    }

    /// The path taken where `O_TMPFILE` is unavailable (other systems and filesystems).
    #[test]
    fn named_staging_is_locked_while_alive_and_gone_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        fs::write(&path, b"revision 1").unwrap();
        let mut file = AtomicFile::create_with(&path, false, false).unwrap();
        let Staging::Named(tmp) = &file.staging else {
            panic!("expected a named temporary file");
        };
        let tmp = tmp.clone();
        assert!(
            tmp.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(".keyring.json.trust-tmp-")
        );
        file.write_all(b"revision 2").unwrap();
        // A live writer's file survives a sweep, even by another writer of the same target.
        assert_eq!(sweep_temps(dir.path()).unwrap(), 0);
        let other = AtomicFile::create_with(&path, true, false).unwrap();
        assert!(tmp.exists());
        drop(other);
        file.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"revision 2");
        assert_eq!(names(dir.path()), ["keyring.json"]);
        // Dropped without commit: the content goes.
        let mut file = AtomicFile::create_with(&path, false, false).unwrap();
        file.write_all(b"abandoned").unwrap();
        drop(file);
        assert_eq!(names(dir.path()), ["keyring.json"]);
        assert_eq!(fs::read(&path).unwrap(), b"revision 2");
        // create_private's no-replace commit, named.
        let key = dir.path().join("root.key");
        let mut file = AtomicFile::create_with(&key, false, false).unwrap();
        file.write_all(b"k").unwrap();
        file.commit_new().unwrap();
        assert_eq!(fs::read(&key).unwrap(), b"k");
        let mut file = AtomicFile::create_with(&key, false, false).unwrap();
        file.write_all(b"other").unwrap();
        assert_eq!(
            file.commit_new().unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(fs::read(&key).unwrap(), b"k");
        assert_eq!(names(dir.path()), ["keyring.json", "root.key"]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn o_tmpfile_is_used_where_the_filesystem_supports_it() {
        // tempfile's directory is on the build machine's /tmp (ext4 or tmpfs here, both of
        // which support O_TMPFILE); this guards against silently falling back everywhere.
        let dir = tempfile::tempdir().unwrap();
        if linux::open_anonymous(dir.path()).unwrap().is_none() {
            eprintln!(
                "skipped: the filesystem of {} has no O_TMPFILE",
                dir.path().display()
            );
            return;
        }
        let file = AtomicFile::create(&dir.path().join("x")).unwrap();
        assert!(matches!(file.staging, Staging::Anonymous));
    }

    #[test]
    fn dead_writers_leftovers_are_swept_before_the_target_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.json");
        write_atomic(&path, b"revision 1").unwrap();
        // What a writer killed between link and rename (or without O_TMPFILE) leaves behind,
        // in the current and both earlier naming schemes; nobody holds their locks.
        let stale = [
            ".orders.json.trust-tmp-00112233445566ff",
            ".orders.json.tmp-00112233445566ff",
            ".orders.json.trust-tmp-001122334455",
        ];
        for name in stale {
            fs::write(dir.path().join(name), b"revision 0 with a wrapped key").unwrap();
        }
        // Not ours: similar names for other targets, or foreign files.
        fs::write(
            dir.path().join(".other.json.trust-tmp-00112233445566ff"),
            b"x",
        )
        .unwrap();
        fs::write(dir.path().join(".orders.json.swp"), b"x").unwrap();
        write_atomic(&path, b"revision 2").unwrap();
        assert_eq!(
            names(dir.path()),
            [
                ".orders.json.swp",
                ".other.json.trust-tmp-00112233445566ff",
                "orders.json"
            ]
        );
        assert_eq!(sweep_temps(dir.path()).unwrap(), 1);
        assert_eq!(names(dir.path()), [".orders.json.swp", "orders.json"]);
    }

    #[test]
    fn a_live_writers_temporary_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join(".a.trust-tmp-0011223344556677");
        fs::write(&live, b"being written").unwrap();
        let holder = File::open(&live).unwrap();
        holder.lock().unwrap();
        assert_eq!(sweep_temps(dir.path()).unwrap(), 0);
        assert!(live.exists());
        drop(holder);
        assert_eq!(sweep_temps(dir.path()).unwrap(), 1);
        assert!(!live.exists());
    }

    #[test]
    fn temp_names_are_recognized_exactly() {
        let t = |s: &str| temp_target(OsStr::new(s)).map(str::to_owned);
        assert_eq!(
            t(".k.json.trust-tmp-0123456789abcdef").as_deref(),
            Some("k.json")
        );
        assert_eq!(t(".k.json.tmp-0123456789abcdef").as_deref(), Some("k.json"));
        assert_eq!(t(".k.trust-tmp-0123456789ab").as_deref(), Some("k"));
        for not_ours in [
            "k.json.trust-tmp-0123456789abcdef",
            ".k.json.tmp-0123456789ab",
            ".k.json.trust-tmp-0123456789ABCDEF",
            ".k.json.trust-tmp-0123456789abcde",
            "..trust-tmp-0123456789abcdef",
            ".k.json.bak-0123456789abcdef",
        ] {
            assert_eq!(t(not_ours), None, "{not_ours}");
        }
    }

    #[cfg(unix)]
    fn mkfifo(path: &Path) {
        let ok = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mkfifo failed");
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_never_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let err = write_atomic(&fifo, b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        let err = write_atomic(dir.path(), b"x").unwrap_err();
        assert!(matches!(
            err.kind(),
            io::ErrorKind::InvalidInput | io::ErrorKind::IsADirectory
        ));
        // A link to a FIFO is refused too (the FIFO is not a regular file).
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        assert_eq!(
            write_atomic(&link, b"x").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[cfg(unix)]
    #[test]
    fn output_to_a_fifo_is_written_directly() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(&fifo).unwrap())
        };
        let mut out = OutputFile::create(&fifo).unwrap();
        assert!(out.is_direct());
        out.write_all(b"through the pipe").unwrap();
        out.commit().unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(names(dir.path()), ["fifo"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_to_a_regular_file_keeps_pointing_at_the_new_content() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        let link = dir.path().join("link");
        fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut out = OutputFile::create(&link).unwrap();
        assert!(!out.is_direct());
        out.write_all(b"new").unwrap();
        out.commit().unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
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
