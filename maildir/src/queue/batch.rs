//! Group commit for the queue's index transactions: concurrent enqueues
//! and outcome updates share one durable redb commit (one fsync) instead
//! of one each, which is what bounds queue throughput on a disk where a
//! commit costs milliseconds (redb has a single writer).
//!
//! Leader/follower, as `group_commit.rs` does for deliveries: a caller
//! queues its work; if no leader is active it becomes the leader, takes
//! every queued piece of work, runs them all in one write transaction and
//! commits it, then posts each caller's result and steps down. Callers
//! queued meanwhile wait; one of them leads the next batch. A piece of work
//! that fails aborts the shared transaction; the batch is then run again
//! one transaction per piece, so a failure stays with its own caller.
//! Nobody is answered before the commit that holds their rows returned.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use redb::WriteTransaction;

use super::record::QueueId;
use crate::db::IndexDb;
use crate::error::StoreError;

/// One caller's rows: written into the transaction it is given; returns
/// the messages left without recipients (their files go after the
/// commit). It may run twice (see the module docs), so it only reads what
/// it captured.
pub(crate) type Work = Box<dyn FnMut(&WriteTransaction) -> Result<Vec<QueueId>, StoreError> + Send>;

type Done = Result<Vec<QueueId>, StoreError>;

#[derive(Default)]
struct State {
    /// Each piece with its ticket and whether `queue/` must be fsynced
    /// before its rows commit (a new queue file's directory entry).
    queued: Vec<(u64, Work, bool)>,
    results: HashMap<u64, Done>,
    leading: bool,
    next_ticket: u64,
}

/// The queue's committer (one per store).
#[derive(Default)]
pub(crate) struct Batcher {
    state: Mutex<State>,
    posted: Condvar,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batcher")
    }
}

impl Batcher {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Only whole values are moved in and out under the lock.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `work` in a durable transaction shared with whatever other
    /// work is queued; returns once that transaction committed (or failed).
    ///
    /// With `needs_dir_sync` (an enqueue: its file's name in `queue/` must
    /// be durable before its rows are), the leader calls `sync_dir` (every
    /// caller passes the fsync of the same `queue/`) once for every such
    /// piece of its batch, before the transaction. Concurrent enqueues so
    /// share one directory fsync as they share one commit, where each paid
    /// its own before (issue 12: 2.6 % of a signing outbound load's CPU).
    /// A failed fsync fails the pieces that needed it, alone.
    pub(crate) fn run(
        &self,
        db: &IndexDb,
        work: Work,
        needs_dir_sync: bool,
        sync_dir: &dyn Fn() -> std::io::Result<()>,
    ) -> Done {
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queued.push((ticket, work, needs_dir_sync));
        loop {
            if let Some(done) = state.results.remove(&ticket) {
                return done;
            }
            if !state.leading {
                state.leading = true;
                let mut batch = std::mem::take(&mut state.queued);
                drop(state);
                let mut results = Vec::new();
                if batch.iter().any(|(_, _, sync)| *sync)
                    && let Err(e) = sync_dir()
                {
                    let (unsynced, rest): (Vec<_>, Vec<_>) =
                        batch.into_iter().partition(|(_, _, sync)| *sync);
                    batch = rest;
                    results.extend(unsynced.into_iter().map(|(t, _, _)| {
                        (
                            t,
                            Err(StoreError::from(std::io::Error::new(
                                e.kind(),
                                e.to_string(),
                            ))),
                        )
                    }));
                }
                if !batch.is_empty() {
                    results.extend(commit(
                        db,
                        batch.into_iter().map(|(t, w, _)| (t, w)).collect(),
                    ));
                }
                state = self.lock();
                state.leading = false;
                state.results.extend(results);
                self.posted.notify_all();
                continue;
            }
            state = self.posted.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// One transaction for the whole batch; on failure, one per piece.
fn commit(db: &IndexDb, mut batch: Vec<(u64, Work)>) -> Vec<(u64, Done)> {
    let together = (|| {
        let txn = db.begin_write()?;
        let mut outs = Vec::with_capacity(batch.len());
        for (_, work) in batch.iter_mut() {
            outs.push(work(&txn)?);
        }
        txn.commit()?;
        Ok::<_, StoreError>(outs)
    })();
    match together {
        Ok(outs) => batch
            .iter()
            .map(|(t, _)| *t)
            .zip(outs.into_iter().map(Ok))
            .collect(),
        Err(e) if batch.len() == 1 => vec![(batch[0].0, Err(e))],
        Err(_) => batch
            .into_iter()
            .map(|(t, mut work)| {
                let alone = (|| {
                    let txn = db.begin_write()?;
                    let out = work(&txn)?;
                    txn.commit()?;
                    Ok(out)
                })();
                (t, alone)
            })
            .collect(),
    }
}
