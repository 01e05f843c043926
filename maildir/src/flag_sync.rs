//! Batched durability of flag changes (STORE only).
//!
//! With [`FlagSync::Batched`] (the server's default; a `Store` starts
//! [`FlagSync::Durable`] until [`crate::Store::set_flag_sync`]), a batch of STOREs commits its
//! index transaction with redb's `Durability::None` and does not fsync the
//! directories of the files it renamed (system flags live in the Maildir
//! file name). The change is visible to every session at once, and is made
//! durable by a background flush at most [`FLAG_SYNC_WINDOW`] after it was
//! answered: the flush fsyncs every directory a batched STORE renamed in,
//! then commits an empty transaction with `Durability::Immediate`, which
//! makes every earlier non-durable commit durable with it (redb persists
//! commits in order). A clean shutdown ([`crate::Store::sync_flags`]) flushes as
//! well. A durable commit of something else (APPEND, EXPUNGE, POP3 DELE)
//! meanwhile makes the batched index rows durable early but leaves their
//! directories to the flusher: fsyncing them inside that commit would make
//! every APPEND and EXPUNGE wait for other sessions' flag renames.
//!
//! What a crash can lose: flag and keyword changes answered in the last
//! window (plus the time one flush takes), never a message. After the
//! restart the rescan reconciles the index with the file names either way
//! (a rename that reached the disk wins for system flags; keywords live in
//! the index only). This is the promise Dovecot makes with its default
//! `mail_fsync = optimized`: flag changes go to `dovecot.index.log`, which
//! is written but not fsynced, so a crash loses the recent ones too.
//! APPEND, COPY, MOVE and EXPUNGE stay durable before their answer.
//!
//! [`FlagSync::Durable`] keeps the old behaviour: every STORE is answered
//! only after its directory fsync and a durable commit.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::core::Core;
use crate::error::StoreError;

/// How long a batched flag change may stay non-durable: the background
/// flush runs this long after the first change it has not yet flushed.
pub const FLAG_SYNC_WINDOW: Duration = Duration::from_millis(200);

/// When a STORE's flag change becomes durable (see the module docs). The
/// store starts [`FlagSync::Durable`]; the server chooses
/// [`FlagSync::Batched`] unless configured otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlagSync {
    /// Answered after the index commit in memory; made durable within
    /// [`FLAG_SYNC_WINDOW`] by a background flush (Dovecot's
    /// `mail_fsync = optimized` behaviour).
    Batched,
    /// Answered only after the directory fsync and a durable index commit.
    #[default]
    Durable,
}

/// What has not been flushed yet.
#[derive(Debug, Default)]
struct State {
    /// Directories a batched STORE renamed in since the last flush.
    dirs: BTreeSet<PathBuf>,
    /// When the oldest unflushed change was committed; `None`: nothing
    /// pending.
    since: Option<Instant>,
    /// Whether the flusher thread runs.
    flusher: bool,
    /// The store is going away: the flusher exits.
    closed: bool,
    /// [`FLAG_SYNC_WINDOW`] (`None`); tests take longer ones.
    window: Option<Duration>,
}

/// The shared part: the flusher thread holds it without keeping the
/// store alive.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the directories to fsync for a flush; `None` when nothing is
    /// pending.
    fn take(&self) -> Option<BTreeSet<PathBuf>> {
        let mut s = self.lock();
        s.since?;
        s.since = None;
        Some(std::mem::take(&mut s.dirs))
    }

    /// A flush failed: its directories stay pending (retried by the next
    /// flush).
    fn put_back(&self, dirs: BTreeSet<PathBuf>) {
        let mut s = self.lock();
        s.dirs.extend(dirs);
        if s.since.is_none() {
            s.since = Some(Instant::now());
            self.wake.notify_all();
        }
    }

    /// Makes every batched flag change durable now: fsyncs the
    /// directories renamed in, then commits durably.
    fn flush(&self, core: &Core) -> Result<(), StoreError> {
        let Some(dirs) = self.take() else {
            return Ok(());
        };
        let done = (|| -> Result<(), StoreError> {
            for d in &dirs {
                match core.fs.fsync_dir(d) {
                    Ok(()) => {}
                    // Deleted or renamed since (DELETE, RENAME fsync their
                    // own parents): nothing left to make durable there.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
            // An empty durable commit persists every non-durable commit
            // before it (redb: "not persisted to disk unless followed by a
            // commit with Durability::Immediate").
            let txn = core.db.begin_write()?;
            txn.commit()?;
            Ok(())
        })();
        if let Err(e) = &done {
            tracing::error!(error = %e, "flushing flag changes failed; retrying");
            self.put_back(dirs);
        }
        done
    }
}

/// The batched flag durability of one store.
#[derive(Debug, Default)]
pub(crate) struct LazySync {
    mode: Mutex<FlagSync>,
    shared: Arc<Shared>,
}

impl LazySync {
    pub(crate) fn mode(&self) -> FlagSync {
        *self.mode.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_mode(&self, mode: FlagSync) {
        *self.mode.lock().unwrap_or_else(|p| p.into_inner()) = mode;
    }

    /// A longer window (tests whose faults the flusher must not take).
    #[cfg(test)]
    pub(crate) fn set_window(&self, window: Duration) {
        self.shared.lock().window = Some(window);
    }

    /// Records a non-durable flag commit that renamed files in `dirs`, and
    /// makes sure the flusher will make it durable within the window. The
    /// flusher holds `core` weakly: the store's `Inner` owns the only
    /// strong handle, so dropping the last `Store` ends the thread.
    pub(crate) fn note(&self, core: &Arc<Core>, dirs: impl IntoIterator<Item = PathBuf>) {
        let mut s = self.shared.lock();
        s.dirs.extend(dirs);
        if s.since.is_none() {
            s.since = Some(Instant::now());
            self.shared.wake.notify_all();
        }
        if !s.flusher && !s.closed {
            let shared = Arc::clone(&self.shared);
            let core = Arc::downgrade(core);
            let spawned = std::thread::Builder::new()
                .name("maildir-flagsync".to_owned())
                .spawn(move || flusher(&shared, &core));
            match spawned {
                Ok(_) => s.flusher = true,
                // Without a thread the next durable commit, the next
                // batched STORE (which tries again) or the shutdown
                // flushes.
                Err(e) => tracing::error!(error = %e, "cannot start the flag flush thread"),
            }
        }
    }

    /// Makes every batched flag change durable now: fsyncs the
    /// directories renamed in, then commits durably.
    pub(crate) fn flush(&self, core: &Core) -> Result<(), StoreError> {
        self.shared.flush(core)
    }

    /// The store is dropped: flush what is pending and stop the flusher.
    pub(crate) fn close(&self, core: &Core) {
        if let Err(e) = self.flush(core) {
            tracing::error!(error = %e, "flag changes of the last {} ms may not be durable", FLAG_SYNC_WINDOW.as_millis());
        }
        let mut s = self.shared.lock();
        s.closed = true;
        self.shared.wake.notify_all();
    }
}

/// The background flush: sleeps until a change is pending, waits until
/// the window since it is over, then flushes. Holds the store's core only
/// while flushing, so dropping the store ends the thread.
fn flusher(shared: &Shared, core: &Weak<Core>) {
    loop {
        {
            let mut s = shared.lock();
            loop {
                if s.closed {
                    s.flusher = false;
                    return;
                }
                match s.since {
                    None => s = shared.wake.wait(s).unwrap_or_else(|p| p.into_inner()),
                    Some(t) => {
                        let due = t + s.window.unwrap_or(FLAG_SYNC_WINDOW);
                        let now = Instant::now();
                        if now >= due {
                            break;
                        }
                        s = shared
                            .wake
                            .wait_timeout(s, due - now)
                            .unwrap_or_else(|p| p.into_inner())
                            .0;
                    }
                }
            }
        }
        let Some(core) = core.upgrade() else {
            return;
        };
        if shared.flush(&core).is_err() {
            // Do not spin on a failing disk: the error is logged, the
            // directories stay pending, the next attempt waits a window.
            drop(core);
            std::thread::sleep(FLAG_SYNC_WINDOW);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::{FLAG_SYNC_WINDOW, FlagSync};
    use crate::fault::{FaultFs, FaultOp};
    use crate::{FlagChange, FlagOp, Flags, INBOX, Store, StoreConfig, UidSet};

    /// A store with batched flags whose flusher waits an hour, so that
    /// only the test flushes.
    fn quiet_store(fs: &FaultFs) -> (tempfile::TempDir, Store) {
        let (dir, store) = batched_store(fs);
        store
            .inner
            .index_commit
            .lazy
            .set_window(Duration::from_secs(3600));
        (dir, store)
    }

    fn batched_store(fs: &FaultFs) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            data_dir: dir.path().to_path_buf(),
            hostname: "h".into(),
            password_hashing: Default::default(),
        };
        let store = Store::open_with_fs(config, Arc::new(fs.clone())).unwrap();
        store.set_flag_sync(FlagSync::Batched);
        store.add_user("a@h", "pw").unwrap();
        for i in 0..2 {
            let mut a = store
                .begin_append("a@h", INBOX, Flags::default(), &[], None)
                .unwrap();
            a.write(format!("Subject: {i}\r\n\r\nx\r\n").as_bytes())
                .unwrap();
            a.commit().unwrap();
        }
        (dir, store)
    }

    fn seen(store: &Store, uid: u32) {
        let change = FlagChange {
            keywords: vec!["$k".into()],
            ..FlagChange::flags(FlagOp::Add, Flags::SEEN)
        };
        let out = store
            .store_flags("a@h", INBOX, &UidSet::from([uid]), &change)
            .unwrap();
        assert!(out.updated[0].changed);
    }

    #[test]
    fn a_batched_store_is_answered_without_fsync_and_visible_at_once() {
        let fs = FaultFs::new();
        let (_dir, store) = quiet_store(&fs);
        let syncs = fs.calls(FaultOp::DirSync);
        seen(&store, 1);
        assert_eq!(
            fs.calls(FaultOp::DirSync),
            syncs,
            "no fsync before the answer"
        );
        let (_, messages) = store.message_summaries("a@h", INBOX).unwrap();
        assert_eq!(messages[0].flags, Flags::SEEN);
        assert_eq!(messages[0].keywords, ["$k"]);
        // sync_flags fsyncs new/ and cur/ (the file moved between them).
        store.sync_flags().unwrap();
        assert_eq!(fs.calls(FaultOp::DirSync), syncs + 2);
        // Nothing pending any more.
        store.sync_flags().unwrap();
        assert_eq!(fs.calls(FaultOp::DirSync), syncs + 2);
    }

    #[test]
    fn the_flusher_makes_a_batched_store_durable_within_the_window() {
        let fs = FaultFs::new();
        let (_dir, store) = batched_store(&fs);
        let syncs = fs.calls(FaultOp::DirSync);
        let start = Instant::now();
        seen(&store, 1);
        // The window plus a generous allowance for a loaded machine.
        while fs.calls(FaultOp::DirSync) < syncs + 2 {
            assert!(
                start.elapsed() < FLAG_SYNC_WINDOW + Duration::from_secs(5),
                "no flush"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(start.elapsed() >= FLAG_SYNC_WINDOW);
    }

    #[test]
    fn an_expunge_leaves_the_pending_directories_to_the_flusher() {
        let fs = FaultFs::new();
        let (_dir, store) = quiet_store(&fs);
        seen(&store, 1);
        let change = FlagChange::flags(FlagOp::Add, Flags::DELETED);
        store
            .store_flags("a@h", INBOX, &UidSet::from([2]), &change)
            .unwrap();
        let before = store.message_summaries("a@h", INBOX).unwrap();
        // The expunge's own directory fsync (cur/, while its index commits;
        // not tmp/, see `index_commit::commit_while_fsyncing`) fails:
        // nothing is expunged, the message is back with its UID and flags,
        // and the flags stay pending.
        fs.fail_nth(FaultOp::DirSync, 1);
        assert!(store.expunge("a@h", INBOX, None).is_err());
        let after = store.message_summaries("a@h", INBOX).unwrap();
        assert_eq!(after.1, before.1);
        assert!(after.0.highestmodseq > before.0.highestmodseq);
        let syncs = fs.calls(FaultOp::DirSync);
        assert_eq!(store.expunge("a@h", INBOX, None).unwrap(), [2]);
        // Its own directory only (cur/, which the message left).
        assert_eq!(fs.calls(FaultOp::DirSync), syncs + 1);
        // The batched STOREs' new/ and cur/ are still the flusher's.
        store.sync_flags().unwrap();
        assert_eq!(fs.calls(FaultOp::DirSync), syncs + 3);
    }

    #[test]
    fn a_failed_flush_keeps_the_changes_pending() {
        let fs = FaultFs::new();
        let (_dir, store) = quiet_store(&fs);
        seen(&store, 1);
        fs.fail_nth(FaultOp::DirSync, 1);
        assert!(store.sync_flags().is_err());
        let syncs = fs.calls(FaultOp::DirSync);
        store.sync_flags().unwrap();
        assert_eq!(fs.calls(FaultOp::DirSync), syncs + 2);
    }

    #[test]
    fn durable_mode_fsyncs_before_the_answer() {
        let fs = FaultFs::new();
        let (_dir, store) = quiet_store(&fs);
        store.set_flag_sync(FlagSync::Durable);
        let syncs = fs.calls(FaultOp::DirSync);
        seen(&store, 1);
        assert_eq!(fs.calls(FaultOp::DirSync), syncs + 2);
    }
}
