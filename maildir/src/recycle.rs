//! Recycled inodes: an expunged message's file becomes the next spool
//! file instead of being unlinked.
//!
//! Why: on ext4, creating a file allocates an inode, and the allocator
//! skips inodes freed in the last few seconds (`recently_deleted`, read
//! from the inode table block by block). Under a mix that expunges and
//! appends all the time (imaptest's persistent sessions, issue "IMAP
//! performance"), every new tmp file scanned past the inodes the last
//! expunges freed: 8.7 % of the server's CPU in `perf` (and the outbound
//! queue's create-then-delete pattern paid the same, issue "outbound").
//! Keeping the freed inodes and renaming one into place for the next
//! spool file skips both the free and the allocation.
//!
//! How: after an expunge's commit is durable, each file it moved into
//! `tmp/` is truncated (its octets are gone at once, as with an unlink)
//! and renamed into `data_dir/recycle/` (the pool, at most [`MAX_POOL`]
//! files); a new tmp file is a pool file renamed to its unique name and
//! opened (it is empty). When the pool is empty, the rename crosses a
//! filesystem (`mail/` mounted apart from `data_dir`) or any step fails,
//! the old path is taken: unlink, `O_EXCL` create. A spool file's name is
//! unique by construction (`filename.rs`: time, pid, counter; the store
//! holds the data directory's index lock), so renaming onto it replaces
//! nothing. The pool is emptied when the store opens: nothing in it is
//! ever a message.

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

    /// Disposes of files nobody needs any more (expunged, their removal
    /// durable in the index): truncated and kept for reuse while the
    /// pool has room, else unlinked. Returns whether every one is gone
    /// from where it was.
    pub(crate) fn retire(&self, fs: &dyn Fs, paths: &[PathBuf]) -> bool {
        let mut all = true;
        for path in paths {
            if self.free().len() < MAX_POOL && self.keep(fs, path) {
                continue;
            }
            match fs.remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "cannot remove a file");
                    all = false;
                }
            }
        }
        all
    }

    /// Truncates `path` and moves it into the pool; false (the file left
    /// where it was) on any error.
    fn keep(&self, fs: &dyn Fs, path: &Path) -> bool {
        if fs.open_truncate(path).is_err() {
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
        let mut free = self.free();
        free.push(to);
        true
    }

    /// A pool file moved to `dest` and opened for writing (empty), or
    /// `None` when the pool is empty or the move fails (the caller
    /// creates a new file then).
    pub(crate) fn reuse(&self, fs: &dyn Fs, dest: &Path) -> Option<Box<dyn FsFile>> {
        let from = self.free().pop()?;
        if fs.rename(&from, dest).is_err() {
            let _ = fs.remove_file(&from);
            return None;
        }
        match fs.open_truncate(dest) {
            Ok(file) => Some(file),
            Err(_) => {
                let _ = fs.remove_file(dest);
                None
            }
        }
    }

    /// Files in the pool now (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.free().len()
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
        assert!(r.retire(&fs, std::slice::from_ref(&old)));
        assert!(!old.exists());
        assert_eq!(r.len(), 1);
        let new = tmp.join("123.M1P2Q3.host");
        let mut f = r.reuse(&fs, &new).expect("a pool file");
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
        assert!(r.retire(&fs, &paths));
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
        assert!(r.retire(&fs, &[dir.path().join("gone")]), "already gone");
        assert_eq!(r.len(), 0);
        assert!(
            !dir.path().join("recycle").exists(),
            "made at the first kept file"
        );
    }
}
