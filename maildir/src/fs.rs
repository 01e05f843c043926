//! The filesystem seam: every file and directory operation of the store goes
//! through [`Fs`], so tests can inject failures ([`crate::fault::FaultFs`])
//! and check that a failed fsync or rename never loses an acknowledged
//! message. The redb index does its own IO.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::SystemTime;

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
    /// Whether it is a directory.
    pub is_dir: bool,
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
    /// The names in a directory (no `.` and `..`).
    ///
    /// # Errors
    /// Any IO error.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>>;
    /// Size, modification time and kind of a path (following symlinks).
    ///
    /// # Errors
    /// Any IO error, `NotFound` when it does not exist.
    fn stat(&self, path: &Path) -> io::Result<FileStat>;
    /// Removes a file.
    ///
    /// # Errors
    /// Any IO error.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Creates a directory and its missing parents.
    ///
    /// # Errors
    /// Any IO error.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Removes a directory tree.
    ///
    /// # Errors
    /// Any IO error.
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
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

impl Fs for RealFs {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        Ok(Box::new(RealFile(file)))
    }
    fn write_file(&self, path: &Path, contents: &[u8]) -> io::Result<()> {
        fs::write(path, contents)
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
        fs::read_dir(path)?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect()
    }
    fn stat(&self, path: &Path) -> io::Result<FileStat> {
        let meta = fs::metadata(path)?;
        Ok(FileStat {
            size: meta.len(),
            modified: meta.modified()?,
            is_dir: meta.is_dir(),
        })
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::remove_dir_all(path)
    }
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
}
