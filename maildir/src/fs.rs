//! The filesystem seam: every file and directory operation of the store goes
//! through [`Fs`], so tests can inject failures ([`crate::fault::FaultFs`])
//! and check that a failed fsync or rename never loses an acknowledged
//! message. The redb index does its own IO, but is opened through
//! [`Fs::open_index`] so that its writes can fail on purpose too.
//!
//! Two rules of docs/DESIGN.md §3 live here, in [`RealFs`]:
//!
//! * **Mail is private.** Directories are created `0700` and files `0600`,
//!   and the mode is set explicitly after creation, so the process umask
//!   (022 by default: world-readable) cannot widen or narrow it.
//!   [`Fs::secure_tree`] repairs an existing `data_dir` at start-up.
//! * **No symlink is followed below the data directory.** [`Fs::stat`]
//!   reports a link as a link (`lstat`), [`Fs::read_dir`] leaves links out
//!   (logging them), and [`Fs::open_read`] opens with `O_NOFOLLOW`, so a
//!   link planted in `new/` is never adopted or served. Directory
//!   components (a `.Folder` or `new/` that is a link) are refused by the
//!   store before it uses a Maildir (see `Store::checked_dir`), and
//!   [`BeneathFs`](crate::BeneathFs), which [`Store::open`](crate::Store::open)
//!   uses, resolves every component below the data directory with
//!   `O_NOFOLLOW` at use time, so a link swapped in after that check is
//!   not followed either.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The mode of every directory the store creates (owner only).
pub const DIR_MODE: u32 = 0o700;
/// The mode of every file the store creates (owner read/write only).
pub const FILE_MODE: u32 = 0o600;

/// An open file being written (a message in `tmp/`).
pub trait FsFile: Send {
    /// Writes the whole buffer.
    ///
    /// # Errors
    /// Any IO error; the file's content is then unspecified.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Flushes data and metadata to stable storage (`fsync`).
    ///
    /// # Errors
    /// Any IO error: the data may not be durable.
    fn sync_all(&mut self) -> io::Result<()>;
}

/// What [`Fs::stat`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStat {
    /// Size in bytes.
    pub size: u64,
    /// Last modification time (Maildir readers use it as the received date).
    pub modified: SystemTime,
    /// Whether it is a directory (never true for a symlink to one).
    pub is_dir: bool,
    /// Whether the path itself is a symbolic link (not followed).
    pub is_symlink: bool,
}

/// Filesystem operations used by the store. Implementations must be usable
/// from many threads at once.
pub trait Fs: Send + Sync + fmt::Debug {
    /// Creates a new file for writing; fails if it exists (`O_EXCL`, as the
    /// Maildir spec's unique-name rule requires).
    ///
    /// # Errors
    /// Any IO error, `AlreadyExists` when the name is taken.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Opens an existing regular file for writing and truncates it to
    /// nothing (a recycled inode, `recycle.rs`); never follows a symlink
    /// and never creates.
    ///
    /// # Errors
    /// Any IO error, `NotFound` when the file is gone.
    fn open_truncate(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Writes a whole small file (e.g. `maildirfolder`), replacing it.
    ///
    /// # Errors
    /// Any IO error.
    fn write_file(&self, path: &Path, contents: &[u8]) -> io::Result<()>;
    /// Atomically renames `from` to `to` (same filesystem).
    ///
    /// # Errors
    /// Any IO error; `from` is then still in place.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Creates a hard link `to` for `from` (fails if `to` exists).
    ///
    /// # Errors
    /// Any IO error.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Fsyncs a directory so that entries created or renamed in it are durable.
    ///
    /// # Errors
    /// Any IO error: the entries may not be durable.
    fn fsync_dir(&self, path: &Path) -> io::Result<()>;
    /// The names in a directory (no `.` and `..`), without symbolic links:
    /// a link planted in a Maildir is logged and skipped, never adopted.
    ///
    /// # Errors
    /// Any IO error.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>>;
    /// Opens a file for reading without following a symlink in its last
    /// component (`O_NOFOLLOW`: a link fails with `ELOOP`).
    ///
    /// # Errors
    /// Any IO error.
    fn open_read(&self, path: &Path) -> io::Result<File>;
    /// Opens (creating, mode `0600`) the redb index at `path`.
    ///
    /// # Errors
    /// Any redb error, `DatabaseAlreadyOpen` when another handle has it.
    fn open_index(&self, path: &Path) -> Result<redb::Database, redb::DatabaseError>;
    /// Makes every directory under `root` (and `root`) mode `0700` and every
    /// file `0600`, without following symlinks (which are logged). Returns
    /// how many modes it changed.
    ///
    /// # Errors
    /// Any IO error but `NotFound` (entries vanishing meanwhile are fine).
    fn secure_tree(&self, root: &Path) -> io::Result<u64>;
    /// Size, modification time and kind of a path (not following a symlink
    /// in its last component: `lstat`).
    ///
    /// # Errors
    /// Any IO error, `NotFound` when it does not exist.
    fn stat(&self, path: &Path) -> io::Result<FileStat>;
    /// Removes a file.
    ///
    /// # Errors
    /// Any IO error.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Creates a directory and its missing parents, mode `0700`.
    ///
    /// # Errors
    /// Any IO error.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Removes a directory tree.
    ///
    /// # Errors
    /// Any IO error.
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// The first symbolic link among `root`, each component from `root`
    /// down to `dir`, and `dir/<sub>` for each of `subs`; missing ones are
    /// skipped (the caller creates or reports them). The default `lstat`s
    /// each in turn; [`BeneathFs`](crate::BeneathFs) answers the common
    /// case (no link) with one `openat2` and a `statat` per sub.
    ///
    /// # Errors
    /// Any IO error but `NotFound`.
    fn find_link(&self, root: &Path, dir: &Path, subs: &[&str]) -> io::Result<Option<PathBuf>> {
        find_link_by_stat(self, root, dir, subs)
    }
    /// Whether every operation of this filesystem refuses a symbolic link
    /// below the data directory when it uses the path
    /// ([`BeneathFs`](crate::BeneathFs)): read paths then skip the
    /// [`Fs::find_link`] check before each use, which only reports a
    /// link earlier.
    fn refuses_links_at_use(&self) -> bool {
        false
    }
    /// [`Fs::stat`] of `dir/<name>` for each of `names`, in order.
    fn stat_in(&self, dir: &Path, names: &[&str]) -> Vec<io::Result<FileStat>> {
        names.iter().map(|n| self.stat(&dir.join(n))).collect()
    }
}

/// [`Fs::find_link`] by one [`Fs::stat`] per path.
pub(crate) fn find_link_by_stat<F: Fs + ?Sized>(
    fs: &F,
    root: &Path,
    dir: &Path,
    subs: &[&str],
) -> io::Result<Option<PathBuf>> {
    let is_link = |p: &Path| -> io::Result<bool> {
        match fs.stat(p) {
            Ok(s) => Ok(s.is_symlink),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    };
    if is_link(root)? {
        return Ok(Some(root.to_path_buf()));
    }
    let mut cur = root.to_path_buf();
    for component in dir.strip_prefix(root).unwrap_or(dir).components() {
        cur.push(component);
        if is_link(&cur)? {
            return Ok(Some(cur));
        }
    }
    for sub in subs {
        let p = dir.join(sub);
        if is_link(&p)? {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// The real filesystem (`std::fs`).
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFs;

struct RealFile(File);

impl FsFile for RealFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn sync_all(&mut self) -> io::Result<()> {
        self.0.sync_all()
    }
}

/// Sets `mode` on an open file unless it has it (the umask applied at
/// creation may have removed bits).
fn fix_file_mode(file: &File, mode: u32) -> io::Result<()> {
    if file.metadata()?.permissions().mode() & 0o7777 != mode {
        file.set_permissions(Permissions::from_mode(mode))?;
    }
    Ok(())
}

impl Fs for RealFs {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        fix_file_mode(&file, FILE_MODE)?;
        Ok(Box::new(RealFile(file)))
    }
    fn open_truncate(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let file = OpenOptions::new()
            .write(true)
            .truncate(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        Ok(Box::new(RealFile(file)))
    }
    fn write_file(&self, path: &Path, contents: &[u8]) -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        fix_file_mode(&file, FILE_MODE)?;
        file.write_all(contents)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::hard_link(from, to)
    }
    fn fsync_dir(&self, path: &Path) -> io::Result<()> {
        // Opening a directory read-only and calling fsync is how POSIX makes
        // its entries durable (Linux fsync(2)).
        File::open(path)?.sync_all()
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(path)? {
            let entry = entry?;
            // d_type from the directory entry: no extra stat per file.
            if entry.file_type()?.is_symlink() {
                tracing::warn!(path = %entry.path().display(), "refusing a symbolic link in a Maildir; skipped");
                continue;
            }
            out.push(entry.file_name());
        }
        Ok(out)
    }
    fn open_read(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
    }
    fn open_index(&self, path: &Path) -> Result<redb::Database, redb::DatabaseError> {
        // Create it private before redb opens it (redb would create it
        // 0644 under the default umask), and repair an existing one.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        fix_file_mode(&file, FILE_MODE)?;
        drop(file);
        redb::Database::create(path)
    }
    fn secure_tree(&self, root: &Path) -> io::Result<u64> {
        secure_tree(root)
    }
    fn stat(&self, path: &Path) -> io::Result<FileStat> {
        let meta = fs::symlink_metadata(path)?;
        Ok(FileStat {
            size: meta.len(),
            modified: meta.modified()?,
            is_dir: meta.is_dir(),
            is_symlink: meta.file_type().is_symlink(),
        })
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        // The missing ancestors, found before creating them, get their
        // mode set explicitly afterwards (the umask applies to mkdir).
        let mut missing: Vec<PathBuf> = Vec::new();
        let mut cur = Some(path);
        while let Some(p) = cur {
            if p.as_os_str().is_empty() {
                break;
            }
            match fs::symlink_metadata(p) {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(p.to_path_buf()),
                Err(e) => return Err(e),
            }
            cur = p.parent();
        }
        if missing.is_empty() {
            return Ok(());
        }
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(path)?;
        for p in missing {
            fs::set_permissions(&p, Permissions::from_mode(DIR_MODE))?;
        }
        Ok(())
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::remove_dir_all(path)
    }
}

/// [`Fs::secure_tree`] on the real filesystem: an explicit stack, so a
/// deep tree cannot exhaust the thread's stack.
fn secure_tree(root: &Path) -> io::Result<u64> {
    let not_found = |e: &io::Error| e.kind() == io::ErrorKind::NotFound;
    let mut changed = 0u64;
    let mut set = |path: &Path, mode: u32, current: u32| -> io::Result<()> {
        if current & 0o7777 != mode {
            match fs::set_permissions(path, Permissions::from_mode(mode)) {
                Ok(()) => changed += 1,
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    };
    // The data directory itself may be a symlink the administrator chose:
    // it is followed; nothing below it is.
    let meta = fs::metadata(root)?;
    set(root, DIR_MODE, meta.permissions().mode())?;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if not_found(&e) => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let meta = match fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) if not_found(&e) => continue,
                Err(e) => return Err(e),
            };
            let kind = meta.file_type();
            if kind.is_symlink() {
                tracing::warn!(path = %path.display(), "symbolic link under the data directory; not followed");
            } else if kind.is_dir() {
                set(&path, DIR_MODE, meta.permissions().mode())?;
                stack.push(path);
            } else if kind.is_file() {
                set(&path, FILE_MODE, meta.permissions().mode())?;
            }
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_fs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs;
        let a = dir.path().join("a");
        let mut f = fs.create_new(&a).unwrap();
        f.write_all(b"hello").unwrap();
        f.sync_all().unwrap();
        drop(f);
        assert_eq!(
            fs.create_new(&a).err().map(|e| e.kind()),
            Some(io::ErrorKind::AlreadyExists)
        );
        let b = dir.path().join("b");
        fs.hard_link(&a, &b).unwrap();
        let c = dir.path().join("c");
        fs.rename(&a, &c).unwrap();
        fs.fsync_dir(dir.path()).unwrap();
        let mut names = fs.read_dir(dir.path()).unwrap();
        names.sort();
        assert_eq!(names, vec![OsString::from("b"), OsString::from("c")]);
        assert_eq!(fs.stat(&c).unwrap().size, 5);
        assert!(!fs.stat(&c).unwrap().is_dir);
        fs.remove_file(&b).unwrap();
        assert_eq!(fs.stat(&b).unwrap_err().kind(), io::ErrorKind::NotFound);
    }

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn modes_ignore_a_permissive_umask() {
        // Creation modes 0600/0700 are set explicitly after creation; the
        // umask (022 for this test process, often) cannot widen them.
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs;
        let deep = dir.path().join("a/b/c");
        fs.create_dir_all(&deep).unwrap();
        for p in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&dir.path().join(p)), 0o700, "{p}");
        }
        let f = deep.join("m");
        drop(fs.create_new(&f).unwrap());
        assert_eq!(mode(&f), 0o600);
        let w = deep.join("w");
        fs.write_file(&w, b"x").unwrap();
        assert_eq!(mode(&w), 0o600);
        let db = fs.open_index(&deep.join("index.redb")).unwrap();
        drop(db);
        assert_eq!(mode(&deep.join("index.redb")), 0o600);
    }

    #[test]
    fn secure_tree_repairs_modes_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        let outside = dir.path().join("outside");
        fs::create_dir_all(root.join("mail/x/cur")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(root.join("mail/x/cur/msg"), b"m").unwrap();
        fs::write(outside.join("secret"), b"s").unwrap();
        for p in [&root, &root.join("mail"), &root.join("mail/x"), &outside] {
            fs::set_permissions(p, Permissions::from_mode(0o755)).unwrap();
        }
        fs::set_permissions(root.join("mail/x/cur/msg"), Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(outside.join("secret"), Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("mail/link")).unwrap();
        let changed = RealFs.secure_tree(&root).unwrap();
        assert_eq!(changed, 5, "root, mail, mail/x, mail/x/cur, the message");
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("mail/x")), 0o700);
        assert_eq!(mode(&root.join("mail/x/cur/msg")), 0o600);
        assert_eq!(mode(&outside), 0o755, "a link's target is left alone");
        assert_eq!(mode(&outside.join("secret")), 0o644);
        assert_eq!(RealFs.secure_tree(&root).unwrap(), 0);
    }

    #[test]
    fn links_are_not_listed_opened_or_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"root only").unwrap();
        let new = dir.path().join("new");
        fs::create_dir(&new).unwrap();
        fs::write(new.join("real"), b"mail").unwrap();
        std::os::unix::fs::symlink(&target, new.join("planted")).unwrap();
        assert_eq!(RealFs.read_dir(&new).unwrap(), vec![OsString::from("real")]);
        let err = RealFs.open_read(&new.join("planted")).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
        assert!(RealFs.stat(&new.join("planted")).unwrap().is_symlink);
        assert!(RealFs.open_read(&new.join("real")).is_ok());
    }
}
