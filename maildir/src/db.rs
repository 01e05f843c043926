//! The redb handle, reopened after an I/O failure.
//!
//! redb latches the first failed write (a full disk during a commit, an
//! fsync error): from then on every transaction of that `Database` fails
//! with `StorageError::PreviousIo` ("Previous I/O error occurred. Please
//! close and re-open the database"). Without a reopen the store would stay
//! broken until a restart although the disk has room again (docs/DESIGN.md §3:
//! a full disk is a temporary error, never a stuck state).
//!
//! [`IndexDb`] hands out transactions; when beginning one reports the latch
//! (or any redb call of the process failed with an I/O error since this
//! handle was last checked, see [`IO_FAILURES`]), it closes the old
//! handle and opens the file again, which makes redb recover its last
//! durable commit. Nothing acknowledged is lost: every acknowledged change
//! was committed with `Durability::Immediate` before the failure, and the
//! failed commit was never acknowledged. If the reopen fails (the disk is
//! still full, a write transaction of the old handle is still alive), the
//! caller gets a temporary error and the next call tries again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use redb::{
    Database, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, StorageError, WriteTransaction,
};

use crate::error::{IO_FAILURES, StoreError};
use crate::fs::Fs;

/// The index database, reopened on demand after redb latched an I/O error.
#[derive(Debug)]
pub(crate) struct IndexDb {
    path: PathBuf,
    fs: Arc<dyn Fs>,
    /// `None` after a failed reopen: the next call tries again.
    slot: RwLock<Option<Handle>>,
    /// The value of [`IO_FAILURES`] when this handle was last known to be
    /// healthy: a different value means some handle saw an I/O error since,
    /// so this one is probed before use.
    checked: AtomicU64,
    /// Successful reopens so far (tests and logs).
    reopens: AtomicU64,
    /// When a writable reopen last failed: retried at most once per
    /// [`RETRY`], so a full disk does not turn every request into an open
    /// (and perhaps a repair) of the whole index.
    failed_at: Mutex<Option<Instant>>,
}

/// The open index: writable, or — while a writable reopen fails (the disk
/// is still full and redb cannot recover the file) — read-only, so that
/// mail can still be read.
enum Handle {
    Writable(Database),
    ReadOnly(ReadOnlyDatabase),
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Handle::Writable(_) => "Writable",
            Handle::ReadOnly(_) => "ReadOnly",
        })
    }
}

/// How often a failed writable reopen is retried.
const RETRY: Duration = Duration::from_millis(500);

fn storage_latched(e: &StorageError) -> bool {
    matches!(
        e,
        StorageError::PreviousIo | StorageError::Io(_) | StorageError::DatabaseClosed
    )
}

/// Whether a handle still works: `try_begin_write` checks redb's I/O latch
/// before anything else, and never waits (`WouldBlock` means another
/// writer is active, so the latch check passed).
fn healthy(db: &Database) -> bool {
    match db.try_begin_write() {
        Ok(txn) => {
            if let Err(e) = txn.abort() {
                tracing::debug!(error = %e, "aborting the probe transaction");
            }
            true
        }
        Err(redb::TransactionError::WouldBlock) => true,
        Err(redb::TransactionError::Storage(e)) => !storage_latched(&e),
        Err(_) => true,
    }
}

impl IndexDb {
    /// Opens (creating) the index at `path` through `fs`, creating its
    /// tables and checking the schema version.
    pub(crate) fn open(fs: Arc<dyn Fs>, path: &Path) -> Result<IndexDb, StoreError> {
        let checked = IO_FAILURES.load(Ordering::Acquire);
        let db = fs.open_index(path)?;
        crate::index::init(&db)?;
        Ok(IndexDb {
            path: path.to_path_buf(),
            fs,
            slot: RwLock::new(Some(Handle::Writable(db))),
            checked: AtomicU64::new(checked),
            reopens: AtomicU64::new(0),
            failed_at: Mutex::new(None),
        })
    }

    /// How many times the handle was reopened.
    pub(crate) fn reopens(&self) -> u64 {
        self.reopens.load(Ordering::Relaxed)
    }

    fn read_slot(&self) -> RwLockReadGuard<'_, Option<Handle>> {
        // A panic while holding the lock leaves at worst a closed slot,
        // which the next call reopens.
        self.slot.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the writable handle in `slot` can be used as it is.
    fn usable(&self, db: &Database) -> bool {
        let failures = IO_FAILURES.load(Ordering::Acquire);
        let ok = failures == self.checked.load(Ordering::Acquire) || healthy(db);
        if ok {
            self.checked.store(failures, Ordering::Release);
        }
        ok
    }

    /// A read transaction (a consistent snapshot).
    pub(crate) fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        {
            let slot = self.read_slot();
            match slot.as_ref() {
                Some(Handle::Writable(db)) if self.usable(db) => match db.begin_read() {
                    Err(redb::TransactionError::Storage(e)) if storage_latched(&e) => {}
                    other => return other.map_err(StoreError::from),
                },
                Some(Handle::ReadOnly(db)) if !self.retry_due() => {
                    return db.begin_read().map_err(StoreError::from);
                }
                _ => {}
            }
        }
        // A failed writable reopen still leaves a read-only handle.
        drop(self.reopen());
        match self.read_slot().as_ref() {
            Some(Handle::Writable(db)) => db.begin_read().map_err(StoreError::from),
            Some(Handle::ReadOnly(db)) => db.begin_read().map_err(StoreError::from),
            None => Err(StoreError::Database(Box::new(redb::Error::DatabaseClosed))),
        }
    }

    /// A write transaction with `Durability::Immediate`: `commit()` returns
    /// only once the data is on stable storage.
    pub(crate) fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        let begin = |db: &Database| -> Result<WriteTransaction, StoreError> {
            let mut txn = db.begin_write()?;
            txn.set_durability(redb::Durability::Immediate)?;
            Ok(txn)
        };
        {
            let slot = self.read_slot();
            match slot.as_ref() {
                Some(Handle::Writable(db)) if self.usable(db) => match db.begin_write() {
                    Err(redb::TransactionError::Storage(e)) if storage_latched(&e) => {}
                    Err(e) => return Err(e.into()),
                    Ok(mut txn) => {
                        txn.set_durability(redb::Durability::Immediate)?;
                        return Ok(txn);
                    }
                },
                Some(Handle::ReadOnly(_)) if !self.retry_due() => {
                    return Err(StoreError::NoSpace(
                        "the mail index is read-only until it can be reopened".to_owned(),
                    ));
                }
                _ => {}
            }
        }
        self.reopen()?;
        match self.read_slot().as_ref() {
            Some(Handle::Writable(db)) => begin(db),
            _ => Err(StoreError::Database(Box::new(redb::Error::DatabaseClosed))),
        }
    }

    fn retry_due(&self) -> bool {
        let at = self.failed_at.lock().unwrap_or_else(|p| p.into_inner());
        at.is_none_or(|t| t.elapsed() >= RETRY)
    }

    /// Closes the latched (or read-only) handle and opens the file again
    /// for writing; if that fails, opens it read-only. Under the write
    /// lock, so concurrent callers reopen once.
    fn reopen(&self) -> Result<(), StoreError> {
        let mut slot = self.slot.write().unwrap_or_else(|p| p.into_inner());
        let failures = IO_FAILURES.load(Ordering::Acquire);
        if let Some(Handle::Writable(db)) = slot.as_ref()
            && healthy(db)
        {
            // Another caller reopened while we waited for the lock.
            self.checked.store(failures, Ordering::Release);
            return Ok(());
        }
        match slot.take() {
            // A write transaction of the old handle still alive defers the
            // close to its end; the open below then reports the file as
            // in use and the next call tries again.
            Some(Handle::Writable(old)) => {
                if let Err(e) = old.close() {
                    tracing::warn!(error = %e, "closing the failed index handle");
                }
            }
            Some(Handle::ReadOnly(old)) => {
                if let Err(e) = old.close() {
                    tracing::warn!(error = %e, "closing the read-only index handle");
                }
            }
            None => {}
        }
        match self.fs.open_index(&self.path) {
            Ok(db) => {
                *slot = Some(Handle::Writable(db));
                self.checked.store(failures, Ordering::Release);
                *self.failed_at.lock().unwrap_or_else(|p| p.into_inner()) = None;
                let n = self.reopens.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(reopens = n, "reopened the mail index after an I/O error");
                Ok(())
            }
            Err(e) => {
                let e = StoreError::from(e);
                *self.failed_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                match redb::Builder::new().open_read_only(&self.path) {
                    Ok(ro) => {
                        *slot = Some(Handle::ReadOnly(ro));
                        tracing::warn!(error = %e, "mail index open read-only until it can be written again");
                    }
                    Err(ro) => {
                        tracing::warn!(error = %e, read_only = %ro, "cannot reopen the mail index yet; retrying on the next request");
                    }
                }
                Err(e)
            }
        }
    }
}
