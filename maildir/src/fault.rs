//! A fault-injecting [`Fs`] for tests: it passes every call to [`RealFs`]
//! but fails the N-th call of a chosen kind, like redb's IO-failure
//! countdown. Public so that the server's tests can use it too.
//!
//! [`FaultFs::set_no_space`] simulates a full disk instead: every write —
//! message files *and* the redb index, through a wrapping
//! [`redb::StorageBackend`] — fails with `ENOSPC` until it is turned off.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use redb::StorageBackend;
use redb::backends::FileBackend;

use crate::fs::{FileStat, Fs, FsFile, RealFs};

/// The kinds of operation that can be made to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultOp {
    /// [`Fs::create_new`]
    Create,
    /// [`FsFile::write_all`]
    Write,
    /// [`FsFile::sync_all`] (fsync of a message file)
    FileSync,
    /// [`Fs::rename`]
    Rename,
    /// [`Fs::hard_link`]
    Link,
    /// [`Fs::fsync_dir`]
    DirSync,
    /// [`Fs::remove_file`]
    Remove,
}

const OPS: usize = 7;

fn slot(op: FaultOp) -> usize {
    match op {
        FaultOp::Create => 0,
        FaultOp::Write => 1,
        FaultOp::FileSync => 2,
        FaultOp::Rename => 3,
        FaultOp::Link => 4,
        FaultOp::DirSync => 5,
        FaultOp::Remove => 6,
    }
}

#[derive(Debug, Default)]
struct State {
    /// Calls seen per kind since the last arming.
    calls: [u64; OPS],
    /// Fail when `calls` reaches this value (1-based).
    fail_at: [Option<u64>; OPS],
    /// Faults injected so far, per kind.
    injected: [u64; OPS],
    /// Calls seen per kind since creation (failed ones included).
    total: [u64; OPS],
}

/// The fault-injecting filesystem. Clones share their state.
#[derive(Clone, Debug, Default)]
pub struct FaultFs {
    state: Arc<Mutex<State>>,
    /// While set, every write fails with `ENOSPC` (a full disk).
    no_space: Arc<AtomicBool>,
}

fn enospc() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOSPC)
}

impl FaultFs {
    /// A filesystem that fails nothing until armed.
    #[must_use]
    pub fn new() -> FaultFs {
        FaultFs::default()
    }

    /// Makes the `n`-th (1-based) next call of `op` fail once with an
    /// `io::ErrorKind::Other` error "injected fault".
    pub fn fail_nth(&self, op: FaultOp, n: u64) {
        let mut s = self.lock();
        let i = slot(op);
        s.calls[i] = 0;
        s.fail_at[i] = Some(n.max(1));
    }

    /// While `full` is true, every write (creating or writing a message
    /// file, fsyncing it, every write and fsync of the redb index) fails
    /// with `ENOSPC`, as on a full disk; reads keep working.
    pub fn set_no_space(&self, full: bool) {
        self.no_space.store(full, Ordering::SeqCst);
    }

    fn space(&self) -> io::Result<()> {
        if self.no_space.load(Ordering::SeqCst) {
            Err(enospc())
        } else {
            Ok(())
        }
    }

    /// Disarms every pending fault.
    pub fn clear(&self) {
        let mut s = self.lock();
        s.fail_at = [None; OPS];
    }

    /// How many faults of kind `op` were injected so far.
    #[must_use]
    pub fn injected(&self, op: FaultOp) -> u64 {
        self.lock().injected[slot(op)]
    }

    /// How many calls of kind `op` were made so far (failed ones included).
    #[must_use]
    pub fn calls(&self, op: FaultOp) -> u64 {
        self.lock().total[slot(op)]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panicking test thread must not hide the faults from the others.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check(&self, op: FaultOp) -> io::Result<()> {
        let mut s = self.lock();
        let i = slot(op);
        s.calls[i] += 1;
        s.total[i] += 1;
        if s.fail_at[i] == Some(s.calls[i]) {
            s.fail_at[i] = None;
            s.injected[i] += 1;
            return Err(io::Error::other(format!("injected fault: {op:?}")));
        }
        Ok(())
    }
}

struct FaultFile {
    inner: Box<dyn FsFile>,
    fs: FaultFs,
}

impl FsFile for FaultFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.fs.check(FaultOp::Write)?;
        self.fs.space()?;
        self.inner.write_all(buf)
    }
    fn sync_all(&mut self) -> io::Result<()> {
        self.fs.check(FaultOp::FileSync)?;
        self.fs.space()?;
        self.inner.sync_all()
    }
}

/// redb's file backend with [`FaultFs::set_no_space`] applied to writes.
#[derive(Debug)]
struct FaultBackend {
    inner: FileBackend,
    no_space: Arc<AtomicBool>,
}

impl FaultBackend {
    fn space(&self) -> io::Result<()> {
        if self.no_space.load(Ordering::SeqCst) {
            Err(enospc())
        } else {
            Ok(())
        }
    }
}

impl StorageBackend for FaultBackend {
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.space()?;
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.space()?;
        self.inner.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.space()?;
        self.inner.write(offset, data)
    }
    fn close(&self) -> io::Result<()> {
        self.inner.close()
    }
    fn try_lock_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.try_lock_range(start, end)
    }
    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }
    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), redb::BackendError> {
        self.inner.lock_range(start, end)
    }
    fn lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<(), redb::BackendError> {
        self.inner.lock_shared_range(start, end)
    }
    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), redb::BackendError> {
        self.inner.unlock_range(start, end)
    }
    fn query_lock_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.query_lock_range(start, end)
    }
}

impl Fs for FaultFs {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        self.check(FaultOp::Create)?;
        self.space()?;
        let inner = RealFs.create_new(path)?;
        Ok(Box::new(FaultFile {
            inner,
            fs: self.clone(),
        }))
    }
    fn open_truncate(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        // A recycled file stands in for a new one: the same fault.
        self.check(FaultOp::Create)?;
        self.space()?;
        let inner = RealFs.open_truncate(path)?;
        Ok(Box::new(FaultFile {
            inner,
            fs: self.clone(),
        }))
    }
    fn write_file(&self, path: &Path, contents: &[u8]) -> io::Result<()> {
        RealFs.write_file(path, contents)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check(FaultOp::Rename)?;
        RealFs.rename(from, to)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check(FaultOp::Link)?;
        RealFs.hard_link(from, to)
    }
    fn fsync_dir(&self, path: &Path) -> io::Result<()> {
        self.check(FaultOp::DirSync)?;
        RealFs.fsync_dir(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        RealFs.read_dir(path)
    }
    fn open_read(&self, path: &Path) -> io::Result<File> {
        RealFs.open_read(path)
    }
    fn open_index(&self, path: &Path) -> Result<redb::Database, redb::DatabaseError> {
        // Created like RealFs does (0600), then opened through the
        // fault-aware backend.
        drop(RealFs.open_index(path)?);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)?;
        let backend = FaultBackend {
            inner: FileBackend::new(file)?,
            no_space: Arc::clone(&self.no_space),
        };
        redb::Builder::new().create_with_backend(backend)
    }
    fn secure_tree(&self, root: &Path) -> io::Result<u64> {
        RealFs.secure_tree(root)
    }
    fn stat(&self, path: &Path) -> io::Result<FileStat> {
        RealFs.stat(path)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.check(FaultOp::Remove)?;
        RealFs.remove_file(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        RealFs.create_dir_all(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        RealFs.remove_dir_all(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_exactly_the_nth_call() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FaultFs::new();
        fs.fail_nth(FaultOp::DirSync, 2);
        assert!(fs.fsync_dir(dir.path()).is_ok());
        let err = fs.fsync_dir(dir.path()).unwrap_err();
        assert_eq!(err.to_string(), "injected fault: DirSync");
        assert!(fs.fsync_dir(dir.path()).is_ok());
        assert_eq!(fs.injected(FaultOp::DirSync), 1);
        assert_eq!(fs.injected(FaultOp::Rename), 0);
        assert_eq!(fs.calls(FaultOp::DirSync), 3);
    }

    #[test]
    fn file_ops_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FaultFs::new();
        fs.fail_nth(FaultOp::FileSync, 1);
        let mut f = fs.create_new(&dir.path().join("x")).unwrap();
        f.write_all(b"abc").unwrap();
        assert!(f.sync_all().is_err());
        assert!(f.sync_all().is_ok());
    }
}
