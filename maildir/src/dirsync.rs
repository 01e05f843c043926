//! Directory fsyncs beside the index commit, on one long-lived helper
//! thread.
//!
//! A durable batch (`group_commit.rs`: deliveries and APPEND;
//! `index_commit/`: EXPUNGE, durable STOREs) must fsync the directories
//! its renames touched *and* commit the index, and neither needs the
//! other, so they run at the same time and the batch costs the slower of
//! the two. The helper used to be a scoped thread spawned per batch: under
//! imaptest's persistent mix that was about 500 thread creations a second
//! (`clone3` in every profile of issue "IMAP performance", and noted in
//! issue 12's closing notes), each paid while the batch holds the maildir
//! lock that every other commit waits for. This thread is started at the
//! first batch and ends when the store is dropped (its channel closes).
//!
//! Work is shared through an index into the batch's list: the helper
//! takes directories from the front while the committing thread commits
//! the index, then the committing thread takes whatever is left, so the
//! batch never waits for a helper that is busy elsewhere or gone. If the
//! helper cannot be started, or dies, the committing thread does it all.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

use crate::fs::Fs;

/// A directory whose fsync failed, and why.
pub(crate) type Failed = Vec<(PathBuf, io::Error)>;

/// One batch's directories, shared between the helper and the committer.
struct Work {
    dirs: Arc<Vec<PathBuf>>,
    next: Arc<AtomicUsize>,
    done: SyncSender<Failed>,
}

/// The helper thread of one store (see the module docs).
pub(crate) struct DirSync {
    fs: Arc<dyn Fs>,
    /// `None` until the first batch, and again after the helper died.
    helper: Mutex<Option<Sender<Work>>>,
}

impl std::fmt::Debug for DirSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirSync").finish_non_exhaustive()
    }
}

/// Fsyncs the directories of `dirs` not yet taken (`next` is shared with
/// the other worker), returning the failures.
fn fsync_some(fs: &dyn Fs, dirs: &[PathBuf], next: &AtomicUsize) -> Failed {
    let mut failed = Vec::new();
    while let Some(dir) = dirs.get(next.fetch_add(1, Ordering::Relaxed)) {
        if let Err(e) = fs.fsync_dir(dir) {
            failed.push((dir.clone(), e));
        }
    }
    failed
}

fn serve(fs: Arc<dyn Fs>, work: Receiver<Work>) {
    // Ends when the store (the only sender) is dropped.
    while let Ok(w) = work.recv() {
        let failed = fsync_some(fs.as_ref(), &w.dirs, &w.next);
        // The committer may have stopped waiting (it never does today).
        let _ = w.done.send(failed);
    }
}

impl DirSync {
    pub(crate) fn new(fs: Arc<dyn Fs>) -> DirSync {
        DirSync {
            fs,
            helper: Mutex::new(None),
        }
    }

    /// Hands `work` to the helper, starting it if need be; gives the work
    /// back when there is no helper to be had.
    fn hand_over(&self, work: Work) -> Result<(), Work> {
        let mut helper = self.helper.lock().unwrap_or_else(|p| p.into_inner());
        let work = match helper.as_ref() {
            Some(tx) => match tx.send(work) {
                Ok(()) => return Ok(()),
                // The helper died (a panic in a filesystem call): start
                // another below.
                Err(mpsc::SendError(work)) => work,
            },
            None => work,
        };
        let (tx, rx) = mpsc::channel();
        let fs = Arc::clone(&self.fs);
        match std::thread::Builder::new()
            .name("maildir-dirsync".to_owned())
            .spawn(move || serve(fs, rx))
        {
            Ok(_) => {
                let sent = tx.send(work).map_err(|mpsc::SendError(w)| w);
                *helper = Some(tx);
                sent
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot start a directory fsync thread; fsyncing inline");
                Err(work)
            }
        }
    }

    /// Runs `index` (the durable index commit) on this thread while the
    /// helper fsyncs `dirs`; when `index` is done this thread fsyncs the
    /// directories left. Both are done when this returns. Returns the
    /// directories whose fsync failed, and `index`'s result.
    pub(crate) fn during<R>(&self, dirs: Vec<PathBuf>, index: impl FnOnce() -> R) -> (Failed, R) {
        if dirs.is_empty() {
            return (Vec::new(), index());
        }
        let dirs = Arc::new(dirs);
        let next = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        let handed = self
            .hand_over(Work {
                dirs: Arc::clone(&dirs),
                next: Arc::clone(&next),
                done: done_tx,
            })
            .is_ok();
        let result = index();
        let mut failed = fsync_some(self.fs.as_ref(), &dirs, &next);
        if handed {
            match done_rx.recv() {
                Ok(list) => failed.extend(list),
                // The helper panicked part-way: none of the directories it
                // may have taken can be trusted to be durable.
                Err(_) => failed.extend(dirs.iter().map(|d| {
                    (
                        d.clone(),
                        io::Error::other("directory fsync thread panicked"),
                    )
                })),
            }
        }
        (failed, result)
    }
}

#[cfg(test)]
mod tests {
    use super::DirSync;
    use crate::fault::{FaultFs, FaultOp};
    use std::sync::Arc;

    #[test]
    fn every_directory_is_fsynced_once_and_failures_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let dirs: Vec<_> = (0..8)
            .map(|i| {
                let d = dir.path().join(format!("d{i}"));
                std::fs::create_dir(&d).unwrap();
                d
            })
            .collect();
        let fs = FaultFs::new();
        let sync = DirSync::new(Arc::new(fs.clone()));
        // The helper thread persists across batches.
        for _ in 0..3 {
            let (failed, value) = sync.during(dirs.clone(), || 7);
            assert!(failed.is_empty(), "{failed:?}");
            assert_eq!(value, 7);
        }
        fs.fail_nth(FaultOp::DirSync, 3);
        let (failed, ()) = sync.during(dirs.clone(), || ());
        assert_eq!(failed.len(), 1, "{failed:?}");
        let (failed, ()) = sync.during(Vec::new(), || ());
        assert!(failed.is_empty());
    }
}
