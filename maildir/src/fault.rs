//! A fault-injecting [`Fs`] for tests: it passes every call to [`RealFs`]
//! but fails the N-th call of a chosen kind, like redb's IO-failure
//! countdown. Public so that the server's tests can use it too.

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

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
        self.inner.write_all(buf)
    }
    fn sync_all(&mut self) -> io::Result<()> {
        self.fs.check(FaultOp::FileSync)?;
        self.inner.sync_all()
    }
}

impl Fs for FaultFs {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        self.check(FaultOp::Create)?;
        let inner = RealFs.create_new(path)?;
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
