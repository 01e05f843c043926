//! Group commit: concurrent deliveries share directory fsyncs and one redb
//! write transaction.
//!
//! Leader/follower: a caller queues its job; if no leader is active it
//! becomes the leader, takes *every* queued job, and commits them as one
//! batch (link/rename all, fsync each distinct `new/` once, one durable
//! index transaction), then wakes every caller with its own result and
//! hands leadership to the first job queued meanwhile. Followers just
//! sleep until their result arrives. While a batch commits, the next one
//! gathers, so the number of fsyncs per message falls as load rises.
//!
//! Failure isolation: a job whose link/rename fails fails alone; a failed
//! directory fsync fails the jobs with a file in that directory; a failed
//! index commit fails the whole batch. A failed job's files are removed
//! from `new/` again, so a client told "451" does not find the message
//! delivered after a restart (if even that removal fails, rescan indexes
//! the file: a duplicate, never a loss).

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::codec::{MailboxRecord, MessageRecord, Subdir};
use crate::delivery::{Delivered, Target};
use crate::error::{DeliveryError, StoreError};
use crate::flags::Flags;
use crate::fs::Fs;
use crate::index::{self, MAILBOXES, MESSAGES, PARTS};
use crate::notify::{Change, Notice};
use crate::quota;
use crate::store::Inner;

/// A fsynced file in `tmp/`, ready to be moved into every recipient's INBOX.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) tmp_path: PathBuf,
    /// The base name in `new/` (with `,S=<size>`).
    pub(crate) base: String,
    pub(crate) size: u64,
    pub(crate) targets: Vec<Target>,
    /// `new/` for deliveries, `cur/` for APPEND.
    pub(crate) subdir: Subdir,
    /// Appended to the base name: empty in `new/`, `:2,<flags>` in `cur/`.
    pub(crate) suffix: String,
    pub(crate) flags: Flags,
    pub(crate) keywords: Vec<String>,
    /// INTERNALDATE; `None` means the commit time.
    pub(crate) internal_date: Option<i64>,
    /// Encoded MIME part offsets ([`crate::mime::encode`]), if parsed.
    pub(crate) parts: Option<Vec<u8>>,
}

type Outcome = Result<Vec<Delivered>, DeliveryError>;

#[derive(Debug, Default)]
enum SlotState {
    #[default]
    Waiting,
    /// Become the leader (the job is still queued).
    Lead,
    Done(Outcome),
}

/// Where a caller sleeps until its result (or leadership) arrives.
#[derive(Debug, Default)]
struct Slot {
    state: Mutex<SlotState>,
    ready: Condvar,
}

enum Wake {
    Lead,
    Done(Outcome),
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, state: SlotState) {
        *self.lock() = state;
        self.ready.notify_one();
    }

    /// Fills the slot unless it already holds a result.
    fn finish(&self, outcome: Outcome) {
        let mut s = self.lock();
        if matches!(*s, SlotState::Waiting) {
            *s = SlotState::Done(outcome);
            self.ready.notify_one();
        }
    }

    fn wait(&self) -> Wake {
        let mut s = self.lock();
        loop {
            match mem::take(&mut *s) {
                SlotState::Waiting => {
                    s = self.ready.wait(s).unwrap_or_else(|p| p.into_inner());
                }
                SlotState::Lead => return Wake::Lead,
                SlotState::Done(o) => return Wake::Done(o),
            }
        }
    }
}

#[derive(Debug, Default)]
struct Queue {
    pending: Vec<(Job, Arc<Slot>)>,
    leader: bool,
}

/// The group committer of one store.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    queue: Mutex<Queue>,
}

/// Passes leadership on when the leader is done, also if it panicked.
struct HandOff<'a>(&'a GroupCommit);

impl Drop for HandOff<'_> {
    fn drop(&mut self) {
        let mut q = self.0.lock();
        match q.pending.first() {
            Some((_, slot)) => slot.set(SlotState::Lead),
            None => q.leader = false,
        }
    }
}

/// Fails every slot of a batch that got no result (a panicking leader).
struct BatchSlots(Vec<Arc<Slot>>);

impl Drop for BatchSlots {
    fn drop(&mut self) {
        for slot in &self.0 {
            slot.finish(Err(DeliveryError::Io(io::Error::other(
                "group commit aborted",
            ))));
        }
    }
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Commits `job` together with whatever else is queued; blocks until
    /// its own result is known.
    pub(crate) fn submit(&self, inner: &Inner, job: Job) -> Outcome {
        let slot = Arc::new(Slot::default());
        let lead = {
            let mut q = self.lock();
            q.pending.push((job, Arc::clone(&slot)));
            !mem::replace(&mut q.leader, true)
        };
        if !lead {
            match slot.wait() {
                Wake::Done(outcome) => return outcome,
                Wake::Lead => {}
            }
        }
        {
            let _handoff = HandOff(self);
            let batch = mem::take(&mut self.lock().pending);
            let (jobs, slots): (Vec<Job>, Vec<Arc<Slot>>) = batch.into_iter().unzip();
            let slots = BatchSlots(slots);
            let outcomes = commit_batch(inner, jobs);
            for (slot, outcome) in slots.0.iter().zip(outcomes) {
                slot.finish(outcome);
            }
        }
        match slot.wait() {
            Wake::Done(outcome) => outcome,
            // Unreachable: our own job was in the batch we just finished.
            Wake::Lead => Err(DeliveryError::Io(io::Error::other(
                "group commit lost a job",
            ))),
        }
    }
}

fn io_copy(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}

/// Removes a failed job's files from `new/` (best effort).
fn unplace(fs: &dyn Fs, placed: &[PathBuf]) {
    for path in placed {
        if let Err(e) = fs.remove_file(path) {
            tracing::error!(path = %path.display(), error = %e,
                "cannot remove the file of a failed delivery; it will be indexed at the next rescan");
        }
    }
}

/// Links the tmp file into every recipient's `new/` (hard links for all but
/// the first, then a rename for the first, so the tmp name disappears in
/// the same step). Returns the new paths; on error removes what it made.
fn place(fs: &dyn Fs, job: &Job) -> Result<Vec<PathBuf>, DeliveryError> {
    let mut placed = Vec::with_capacity(job.targets.len());
    let name = format!("{}{}", job.base, job.suffix);
    let dest = |t: &Target| t.dir.join(job.subdir.as_str()).join(&name);
    for target in job.targets.iter().skip(1) {
        let to = dest(target);
        if let Err(e) = fs.hard_link(&job.tmp_path, &to) {
            unplace(fs, &placed);
            return Err(DeliveryError::Io(e));
        }
        placed.push(to);
    }
    let Some(first) = job.targets.first() else {
        return Err(DeliveryError::NoRecipients);
    };
    let to = dest(first);
    if let Err(e) = fs.rename(&job.tmp_path, &to) {
        unplace(fs, &placed);
        return Err(DeliveryError::Io(e));
    }
    placed.push(to);
    Ok(placed)
}

/// The heart of the group commit; returns one outcome per job, in order.
fn commit_batch(inner: &Inner, jobs: Vec<Job>) -> Vec<Outcome> {
    let _guard = inner.lock_maildirs();
    let stamps: Vec<(PathBuf, crate::store::DirStamp)> = jobs
        .iter()
        .flat_map(|j| j.targets.iter().map(|t| t.dir.clone()))
        .collect::<BTreeSet<PathBuf>>()
        .into_iter()
        .map(|d| {
            let s = inner.stamp(&d);
            (d, s)
        })
        .collect();
    let outcomes = commit_locked(inner, &jobs);
    for (dir, before) in stamps {
        inner.advance_stamp(&dir, before);
    }
    outcomes
}

fn commit_locked(inner: &Inner, jobs: &[Job]) -> Vec<Outcome> {
    let fs = inner.fs.as_ref();

    // 1. Move every file into place.
    let mut states: Vec<Result<Vec<PathBuf>, DeliveryError>> =
        jobs.iter().map(|job| place(fs, job)).collect();

    // 2. Fsync each distinct new/ directory once.
    let dirs: BTreeSet<&Path> = states
        .iter()
        .filter_map(|s| s.as_ref().ok())
        .flatten()
        .filter_map(|p| p.parent())
        .collect();
    let mut failed_dirs: HashMap<PathBuf, io::Error> = HashMap::new();
    for dir in dirs {
        if let Err(e) = fs.fsync_dir(dir) {
            failed_dirs.insert(dir.to_path_buf(), e);
        }
    }
    if !failed_dirs.is_empty() {
        for state in &mut states {
            let failure = match state {
                Ok(placed) => placed
                    .iter()
                    .find_map(|p| p.parent().and_then(|d| failed_dirs.get(d))),
                Err(_) => None,
            };
            if let Some(e) = failure {
                let e = io_copy(e);
                if let Ok(placed) = state {
                    unplace(fs, placed);
                }
                *state = Err(DeliveryError::Io(e));
            }
        }
    }

    // 3. One durable index transaction for everything still standing.
    match index_batch(inner, jobs, &mut states) {
        Ok(delivered) => states
            .into_iter()
            .zip(delivered)
            .map(|(state, d)| state.map(|_| d))
            .collect(),
        Err(e) => states
            .into_iter()
            .map(|state| {
                let placed = state?;
                unplace(fs, &placed);
                Err(DeliveryError::Storage(copy_store_error(&e)))
            })
            .collect(),
    }
}

fn copy_store_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Io(e) => StoreError::Io(io_copy(e)),
        StoreError::NoSuchMailbox(m) => StoreError::NoSuchMailbox(m.clone()),
        StoreError::OverQuota(a) => StoreError::OverQuota(a.clone()),
        other => StoreError::Corrupt(format!("index commit failed: {other}")),
    }
}

/// Assigns UIDs and commits. Jobs whose account or mailbox vanished, or
/// whose account is over quota, fail alone (their state turns into an
/// error and their files are removed). Publishes the new messages after
/// the commit (the caller holds the maildir lock, so in commit order).
fn index_batch(
    inner: &Inner,
    jobs: &[Job],
    states: &mut [Result<Vec<PathBuf>, DeliveryError>],
) -> Result<Vec<Vec<Delivered>>, StoreError> {
    let mut delivered = vec![Vec::new(); jobs.len()];
    if states.iter().all(Result::is_err) {
        return Ok(delivered);
    }
    let now = index::now_secs();
    let limit = inner.quota();
    let mut notices: HashMap<String, Vec<Notice>> = HashMap::new();
    let txn = index::begin_write(&inner.db)?;
    {
        let mut mailboxes = txn.open_table(MAILBOXES)?;
        let mut messages = txn.open_table(MESSAGES)?;
        let mut parts = txn.open_table(PARTS)?;
        let mut cache: HashMap<(String, String), MailboxRecord> = HashMap::new();
        // (bytes, messages) per account, including this batch so far.
        let mut usage: HashMap<String, (u64, u64)> = HashMap::new();
        for ((job, state), out) in jobs.iter().zip(states.iter_mut()).zip(delivered.iter_mut()) {
            let Ok(placed) = state else { continue };
            // Check every target first, so a job is indexed for all or none.
            let mut failure = None;
            for target in &job.targets {
                let k = (target.key.clone(), target.mailbox.clone());
                if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(k) {
                    match index::get_mailbox(&mailboxes, &target.key, &target.mailbox)? {
                        Some(record) => {
                            slot.insert(record);
                        }
                        None if target.is_delivery => {
                            failure = Some(DeliveryError::UnknownRecipient(target.display.clone()));
                            break;
                        }
                        None => {
                            failure = Some(DeliveryError::Storage(StoreError::NoSuchMailbox(
                                target.mailbox.clone(),
                            )));
                            break;
                        }
                    }
                }
                if !usage.contains_key(&target.key) {
                    let u = quota::account_usage(&mailboxes, &target.key)?;
                    usage.insert(target.key.clone(), u);
                }
                let (bytes, count) = usage.get(&target.key).copied().unwrap_or_default();
                if !limit.allows(bytes, count, job.size, 1) {
                    failure = Some(DeliveryError::OverQuota(target.display.clone()));
                    break;
                }
            }
            if let Some(e) = failure {
                unplace(inner.fs.as_ref(), placed);
                *state = Err(e);
                continue;
            }
            for target in &job.targets {
                let Some(record) = cache.get_mut(&(target.key.clone(), target.mailbox.clone()))
                else {
                    continue;
                };
                let uid = record.uidnext;
                record.uidnext = uid.checked_add(1).ok_or_else(|| {
                    StoreError::Corrupt("UID space of a mailbox exhausted".to_owned())
                })?;
                record.highestmodseq += 1;
                record.messages = record.messages.saturating_add(1);
                record.bytes = record.bytes.saturating_add(job.size);
                if let Some(u) = usage.get_mut(&target.key) {
                    u.0 = u.0.saturating_add(job.size);
                    u.1 = u.1.saturating_add(1);
                }
                let message = MessageRecord {
                    flags: job.flags,
                    modseq: record.highestmodseq,
                    internal_date: job.internal_date.unwrap_or(now),
                    size: job.size,
                    subdir: job.subdir,
                    base: job.base.clone(),
                    suffix: job.suffix.clone(),
                    keywords: job.keywords.clone(),
                };
                messages.insert((record.id, uid), message.encode().as_slice())?;
                if let Some(p) = &job.parts {
                    parts.insert((record.id, uid), p.as_slice())?;
                }
                notices.entry(target.key.clone()).or_default().push(Notice {
                    mailbox: target.mailbox.clone(),
                    uidvalidity: record.uidvalidity,
                    change: Change::Appended {
                        uid,
                        modseq: record.highestmodseq,
                    },
                });
                out.push(Delivered {
                    address: target.display.clone(),
                    uid,
                    uidvalidity: record.uidvalidity,
                });
            }
        }
        for ((key, mailbox), record) in &cache {
            index::put_mailbox(&mut mailboxes, key, mailbox, record)?;
        }
    }
    txn.commit()?;
    for (account, list) in notices {
        inner.notifier.publish(&account, list);
    }
    Ok(delivered)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::fault::{FaultFs, FaultOp};
    use crate::{Envelope, Store, StoreConfig};

    const N: usize = 8;

    /// Holds the maildir lock so the first leader blocks with a batch of
    /// one while the other N-1 callers queue up; releasing it must commit
    /// those N-1 as a single batch.
    fn queued_batch(fs: &FaultFs, arm: impl FnOnce()) -> Vec<Result<u32, bool>> {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            data_dir: dir.path().to_path_buf(),
            hostname: "h".into(),
        };
        let store = Store::open_with_fs(config, Arc::new(fs.clone())).unwrap();
        store.add_user("a@h", "pw").unwrap();
        let guard = store.inner.lock_maildirs();
        let spawn = || {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut d = store
                    .begin_delivery(Envelope {
                        return_path: None,
                        recipients: vec!["a@h".into()],
                        trace: Vec::new(),
                    })
                    .unwrap();
                d.write(b"x\r\n").unwrap();
                d.commit().map(|v| v[0].uid).map_err(|e| e.is_temporary())
            })
        };
        let wait_for = |leader: bool, pending: usize| {
            for _ in 0..1000 {
                let q = store.inner.group.lock();
                if q.leader == leader && q.pending.len() == pending {
                    return;
                }
                drop(q);
                std::thread::sleep(Duration::from_millis(5));
            }
            panic!("queue never reached leader={leader} pending={pending}");
        };
        // First a leader that took its batch of one (it then blocks on the lock)...
        let mut handles = vec![spawn()];
        wait_for(true, 0);
        // ...then N-1 followers queued behind it.
        handles.extend((1..N).map(|_| spawn()));
        wait_for(true, N - 1);
        arm();
        drop(guard);
        let mut results: Vec<Result<u32, bool>> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        results.sort();
        results
    }

    #[test]
    fn queued_deliveries_share_one_directory_fsync() {
        let fs = FaultFs::new();
        let before = std::cell::Cell::new(0);
        let results = queued_batch(&fs, || before.set(fs.calls(FaultOp::DirSync)));
        let expected: Vec<Result<u32, bool>> = (1..=N as u32).map(Ok).collect();
        assert_eq!(results, expected);
        // One fsync of new/ for the leader's batch of one (blocked on the
        // lock until after we counted) and one for the other N-1 together.
        assert_eq!(fs.calls(FaultOp::DirSync) - before.get(), 2);
    }

    #[test]
    fn one_failed_rename_fails_only_its_own_job() {
        let fs = FaultFs::new();
        // Counting restarts at arming. The leader's single job renames
        // first (it was blocked on the lock); the 3rd rename is the second
        // job of the big batch.
        let results = queued_batch(&fs, || fs.fail_nth(FaultOp::Rename, 3));
        let mut expected: Vec<Result<u32, bool>> = (1..N as u32).map(Ok).collect();
        expected.push(Err(true));
        assert_eq!(results, expected);
        assert_eq!(fs.injected(FaultOp::Rename), 1);
    }
}
