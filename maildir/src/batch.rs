//! The leader/follower batching shared by the two committers
//! ([`crate::group_commit`] for deliveries and APPEND,
//! [`crate::index_commit`] for STORE and EXPUNGE): every caller queues its
//! job; the first becomes the leader and commits the whole queue in one
//! durable transaction while the others wait; when it is done it hands
//! leadership to the first job queued meanwhile. One fsync then serves many
//! callers, and nobody is answered before their job is durable.

use std::mem;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

enum SlotState<O> {
    Waiting,
    /// Become the leader (the job is still queued).
    Lead,
    Done(O),
}

struct Slot<O> {
    state: Mutex<SlotState<O>>,
    ready: Condvar,
}

impl<O> Slot<O> {
    fn new() -> Self {
        Slot {
            state: Mutex::new(SlotState::Waiting),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SlotState<O>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, state: SlotState<O>) {
        *self.lock() = state;
        self.ready.notify_one();
    }

    /// Fills the slot unless it already holds a result.
    fn finish(&self, outcome: O) {
        let mut s = self.lock();
        if matches!(*s, SlotState::Waiting) {
            *s = SlotState::Done(outcome);
            self.ready.notify_one();
        }
    }

    /// `None`: lead. `Some`: the result.
    fn wait(&self) -> Option<O> {
        let mut s = self.lock();
        loop {
            match mem::replace(&mut *s, SlotState::Waiting) {
                SlotState::Waiting => s = self.ready.wait(s).unwrap_or_else(|p| p.into_inner()),
                SlotState::Lead => return None,
                SlotState::Done(o) => return Some(o),
            }
        }
    }
}

struct Queue<J, O> {
    pending: Vec<(J, Arc<Slot<O>>)>,
    leader: bool,
}

/// A queue of jobs of type `J` committed in batches, each answered with an
/// `O`.
pub(crate) struct Batcher<J, O> {
    queue: Mutex<Queue<J, O>>,
}

impl<J, O> Default for Batcher<J, O> {
    fn default() -> Self {
        Batcher {
            queue: Mutex::new(Queue {
                pending: Vec::new(),
                leader: false,
            }),
        }
    }
}

impl<J, O> std::fmt::Debug for Batcher<J, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

/// Passes leadership on when the leader is done, also if it panicked.
struct HandOff<'a, J, O>(&'a Batcher<J, O>);

impl<J, O> Drop for HandOff<'_, J, O> {
    fn drop(&mut self) {
        let mut q = self.0.lock();
        match q.pending.first() {
            Some((_, slot)) => slot.set(SlotState::Lead),
            None => q.leader = false,
        }
    }
}

/// Fails every slot of a batch that got no result (a panicking leader).
struct BatchSlots<'a, O, F: Fn(&'static str) -> O> {
    slots: Vec<Arc<Slot<O>>>,
    failed: &'a F,
}

impl<O, F: Fn(&'static str) -> O> Drop for BatchSlots<'_, O, F> {
    fn drop(&mut self) {
        for slot in &self.slots {
            slot.finish((self.failed)("aborted"));
        }
    }
}

impl<J, O> Batcher<J, O> {
    fn lock(&self) -> MutexGuard<'_, Queue<J, O>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a leader is committing, and how many jobs wait (for tests
    /// that stage a batch).
    #[cfg(test)]
    pub(crate) fn state(&self) -> (bool, usize) {
        let q = self.lock();
        (q.leader, q.pending.len())
    }

    /// [`Self::submit_after`] without a lock to take first (tests).
    #[cfg(test)]
    pub(crate) fn submit(
        &self,
        job: J,
        commit: impl FnOnce(Vec<J>) -> Vec<O>,
        failed: impl Fn(&'static str) -> O,
    ) -> O {
        self.submit_after(job, || (), |(), jobs| commit(jobs), failed)
    }

    /// Commits `job` together with whatever else is queued, through
    /// `commit` (one outcome per job, in order); blocks until its own
    /// outcome is known. `failed(why)` is the outcome of a job whose batch
    /// never finished (`why` is `"aborted"`: the leader panicked).
    ///
    /// The leader first calls `ready` (taking the lock its commit needs,
    /// the store's maildir lock) and only then takes the queue, handing
    /// what `ready` gave to `commit`. Jobs that
    /// arrive while the leader waits for that lock join its batch, instead
    /// of waiting for the batch to finish and then for the lock again:
    /// under imaptest's persistent mix the maildir lock is busy most of
    /// the time, and every leader waited about as long for it as it then
    /// held it, while the next batch gathered behind it.
    pub(crate) fn submit_after<G>(
        &self,
        job: J,
        ready: impl FnOnce() -> G,
        commit: impl FnOnce(G, Vec<J>) -> Vec<O>,
        failed: impl Fn(&'static str) -> O,
    ) -> O {
        let slot = Arc::new(Slot::new());
        let lead = {
            let mut q = self.lock();
            q.pending.push((job, Arc::clone(&slot)));
            !mem::replace(&mut q.leader, true)
        };
        if !lead && let Some(outcome) = slot.wait() {
            return outcome;
        }
        {
            let _handoff = HandOff(self);
            let ready = ready();
            let batch = mem::take(&mut self.lock().pending);
            let (jobs, slots): (Vec<J>, Vec<Arc<Slot<O>>>) = batch.into_iter().unzip();
            let slots = BatchSlots {
                slots,
                failed: &failed,
            };
            let outcomes = commit(ready, jobs);
            for (slot, outcome) in slots.slots.iter().zip(outcomes) {
                slot.finish(outcome);
            }
        }
        // Our own job was in the batch just finished.
        slot.wait().unwrap_or_else(|| failed("lost a job"))
    }
}

#[cfg(test)]
mod tests {
    use super::Batcher;
    use std::sync::Arc;

    #[test]
    fn every_job_gets_its_own_outcome_across_threads() {
        let batcher: Arc<Batcher<u32, u32>> = Arc::default();
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let b = Arc::clone(&batcher);
                std::thread::spawn(move || {
                    b.submit(
                        i,
                        |jobs| jobs.into_iter().map(|j| j * 10).collect(),
                        |_| u32::MAX,
                    )
                })
            })
            .collect();
        let mut got: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, (0..16).map(|i| i * 10).collect::<Vec<_>>());
    }

    #[test]
    fn a_short_batch_fails_the_jobs_without_an_outcome() {
        let batcher: Batcher<u32, Result<u32, &'static str>> = Batcher::default();
        assert_eq!(batcher.submit(1, |_| Vec::new(), Err), Err("aborted"));
        // Leadership was handed back: the next job still commits.
        assert_eq!(batcher.submit(2, |j| vec![Ok(j[0])], Err), Ok(2));
    }
}
