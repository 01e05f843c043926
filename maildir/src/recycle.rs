//! Recycled inodes: a settled outbound queue file becomes the next spool
//! file instead of being unlinked.
//!
//! Why: on ext4, creating a file allocates an inode, and the allocator
//! skips inodes freed in the last few seconds (`recently_deleted`, read
//! from the inode table block by block; without a journal it checks every
//! candidate). The outbound queue creates a file per message and deletes it
//! once every recipient is settled, so under an outbound load every new
//! queue file scanned past the inodes the last deliveries freed: 15.5 % of
//! the server's CPU in `perf` (issue 12, benches/README.md). Keeping the
//! freed inodes and renaming one into place for the next spool file skips
//! both the free and the allocation.
//!
//! Readers. An inode is only reused once nobody reads it: a reader that
//! opened the file before it was settled would otherwise see another
//! message's octets, or a file cut short (that is how a first version,
//! which also recycled expunged IMAP messages, broke a FETCH still
//! streaming one). So every reader of a queue file (`Store::queue_open`)
//! holds a shared `flock` on its descriptor and, once it has it, checks
//! that the path still names that inode. Retiring a file opens it, takes
//! an exclusive `flock` without waiting and, only if it gets it, renames
//! the file into `data_dir/recycle/` (the pool, at most [`MAX_POOL`]
//! files) and truncates it before letting go; a file somebody reads is
//! unlinked as before (an unlinked file stays whole for its readers). A
//! reader that opened the file just before the rename waits for the lock,
//! then finds the path gone and reports the message gone. Message files
//! of mailboxes are never retired here: their readers (FETCH, RETR, the
//! HTTP API) do not take the lock.
//!
//! A new spool file (queue file, delivery or APPEND tmp file) is a pool
//! file renamed to its unique name and opened, truncated. When the pool is
//! empty, the rename crosses a filesystem or any step fails, the old path
//! is taken: unlink, `O_EXCL` create. A spool file's name is unique by
//! construction (`filename.rs`: time, pid, counter; queue ids from the
//! index; the store holds the data directory's index lock), so renaming
//! onto it replaces nothing. The pool is emptied when the store opens:
//! nothing in it is ever a message.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::fs::{Fs, FsFile};

/// Files kept for reuse at most (beyond, retired files are unlinked).
pub(crate) const MAX_POOL: usize = 256;

/// The pool of one store.
#[derive(Debug)]
pub(crate) struct Recycler {
    /// `data_dir/recycle`.
    dir: PathBuf,
    /// Empty files in `dir`, most recently retired last.
    free: Mutex<Vec<PathBuf>>,
    /// Names the next pool file.
    next: AtomicU64,
}

impl Recycler {
    /// The pool in `dir`, made empty. The directory is created at the
    /// first retired file; without it, retiring just unlinks.
    pub(crate) fn open(fs: &dyn Fs, dir: PathBuf) -> Recycler {
        for name in fs.read_dir(&dir).unwrap_or_default() {
            let _ = fs.remove_file(&dir.join(name));
        }
        Recycler {
            dir,
            free: Mutex::new(Vec::new()),
            next: AtomicU64::new(0),
        }
    }

    fn free(&self) -> std::sync::MutexGuard<'_, Vec<PathBuf>> {
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Disposes of files nobody needs any more (settled queue files, their
    /// rows gone from the index durably): emptied and kept for reuse while
    /// the pool has room and no reader holds them, else unlinked. Returns
    /// the files that could be neither (index into `paths`, and why), for
    /// the caller to log; a file already gone is not one of them.
    pub(crate) fn retire(&self, fs: &dyn Fs, paths: &[PathBuf]) -> Vec<(usize, std::io::Error)> {
        let mut failed = Vec::new();
        for (i, path) in paths.iter().enumerate() {
            if self.free().len() < MAX_POOL && self.keep(fs, path) {
                continue;
            }
            match fs.remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => failed.push((i, e)),
            }
        }
        failed
    }

    /// Moves `path` into the pool and empties it, if nobody reads it (see
    /// the module docs); false (the file left where it was) otherwise or
    /// on any error.
    fn keep(&self, fs: &dyn Fs, path: &Path) -> bool {
        let Ok(held) = fs.open_read(path) else {
            return false;
        };
        // Held until this returns: a reader that opened the file meanwhile
        // waits, then finds its path gone.
        if !lock(&held, true) {
            return false;
        }
        let to = self
            .dir
            .join(self.next.fetch_add(1, Ordering::Relaxed).to_string());
        match fs.rename(path, &to) {
            Ok(()) => {}
            // The pool's directory does not exist yet.
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && fs.create_dir_all(&self.dir).is_ok() =>
            {
                if fs.rename(path, &to).is_err() {
                    return false;
                }
            }
            Err(_) => return false,
        }
        if fs.open_truncate(&to).is_err() {
            // Not emptied: it must not be handed out.
            let _ = fs.remove_file(&to);
            return true;
        }
        drop(held);
        self.free().push(to);
        true
    }

    /// A pool file moved to `dest` and opened for writing (empty), or
    /// `None` when the pool is empty or the move fails (the caller
    /// creates a new file then). A failure to open the moved file is the
    /// caller's error, as a failed create would be: the file is removed
    /// and the error returned, not hidden behind a second try that
    /// would meet the same full disk or descriptor limit.
    pub(crate) fn reuse(&self, fs: &dyn Fs, dest: &Path) -> Option<io::Result<Box<dyn FsFile>>> {
        let from = self.free().pop()?;
        if fs.rename(&from, dest).is_err() {
            let _ = fs.remove_file(&from);
            return None;
        }
        let opened = fs.open_truncate(dest);
        if opened.is_err() {
            let _ = fs.remove_file(dest);
        }
        Some(opened)
    }

    /// Files in the pool now (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.free().len()
    }
}

/// Takes a `flock` on `file`: exclusive without waiting (`true` when it
/// was free), or shared, waiting for an exclusive holder (a retirement in
/// progress, which lasts a rename and a truncate).
pub(crate) fn lock(file: &std::fs::File, exclusive: bool) -> bool {
    use rustix::fs::{FlockOperation, flock};
    let op = if exclusive {
        FlockOperation::NonBlockingLockExclusive
    } else {
        FlockOperation::LockShared
    };
    loop {
        match flock(file, op) {
            Ok(()) => return true,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::RealFs;

    #[test]
    fn a_retired_file_comes_back_empty_under_its_new_name() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs;
        let r = Recycler::open(&fs, dir.path().join("recycle"));
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let old = tmp.join(".expunged.1.1.x");
        std::fs::write(&old, b"secret message").unwrap();
        let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&old).unwrap());
        assert!(r.retire(&fs, std::slice::from_ref(&old)).is_empty());
        assert!(!old.exists());
        assert_eq!(r.len(), 1);
        let new = tmp.join("123.M1P2Q3.host");
        let mut f = r.reuse(&fs, &new).expect("a pool file").unwrap();
        assert_eq!(std::fs::read(&new).unwrap(), b"", "the old octets are gone");
        f.write_all(b"new").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&new).unwrap(), b"new");
        let meta = std::fs::metadata(&new).unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&meta),
            ino,
            "the same inode"
        );
        assert_eq!(r.len(), 0);
        assert!(r.reuse(&fs, &tmp.join("other")).is_none(), "empty pool");
    }

    #[test]
    fn the_pool_is_bounded_and_emptied_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs;
        let pool = dir.path().join("recycle");
        let r = Recycler::open(&fs, pool.clone());
        let paths: Vec<PathBuf> = (0..MAX_POOL + 3)
            .map(|i| {
                let p = dir.path().join(format!("f{i}"));
                std::fs::write(&p, b"x").unwrap();
                p
            })
            .collect();
        assert!(r.retire(&fs, &paths).is_empty());
        assert!(paths.iter().all(|p| !p.exists()));
        assert_eq!(r.len(), MAX_POOL);
        assert_eq!(std::fs::read_dir(&pool).unwrap().count(), MAX_POOL);
        drop(r);
        let r = Recycler::open(&fs, pool.clone());
        assert_eq!(r.len(), 0);
        assert_eq!(std::fs::read_dir(&pool).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_file_is_not_pooled() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs;
        let r = Recycler::open(&fs, dir.path().join("recycle"));
        assert!(
            r.retire(&fs, &[dir.path().join("gone")]).is_empty(),
            "already gone"
        );
        assert_eq!(r.len(), 0);
        assert!(
            !dir.path().join("recycle").exists(),
            "made at the first kept file"
        );
    }

    /// A file a reader holds (shared lock, as `queue_open` takes it) is
    /// unlinked, not emptied: the reader still reads every octet.
    #[test]
    fn a_file_being_read_is_unlinked_and_stays_whole_for_its_reader() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs;
        let r = Recycler::open(&fs, dir.path().join("recycle"));
        let path = dir.path().join("q1");
        std::fs::write(&path, b"the queued message").unwrap();
        let mut reader = std::fs::File::open(&path).unwrap();
        assert!(lock(&reader, false));
        assert!(r.retire(&fs, std::slice::from_ref(&path)).is_empty());
        assert!(!path.exists());
        assert_eq!(r.len(), 0, "not pooled while read");
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"the queued message");
        // Without a reader the next one is pooled.
        std::fs::write(&path, b"x").unwrap();
        assert!(r.retire(&fs, std::slice::from_ref(&path)).is_empty());
        assert_eq!(r.len(), 1);
    }
}
