//! Group commit: concurrent deliveries share directory fsyncs and one redb
//! write transaction.
//!
//! Leader/follower: a caller queues its job; if no leader is active it
//! becomes the leader, takes *every* queued job, and commits them as one
//! batch (link/rename all; then fsync each distinct `new/` once on a helper
//! thread *while* one durable index transaction commits on the leader's),
//! then wakes every caller with its own result and hands leadership to the
//! first job queued meanwhile. Followers just sleep until their result
//! arrives. While a batch commits, the next one gathers, so the number of
//! fsyncs per message falls as load rises, and a batch costs
//! max(directory fsync, index commit) rather than their sum.
//!
//! Failure isolation: a job whose link/rename fails fails alone; a failed
//! index commit fails the whole batch; a failed directory fsync fails the
//! jobs with a file in that directory. Those were committed to the index
//! already (concurrently), so a compensating transaction removes their
//! rows again (tombstoned, UIDs not reused) before anyone is answered, and
//! only jobs that fully succeeded are published. A failed job's files are
//! removed from `new/` again, so a client told "451" does not find the
//! message delivered after a restart (if even that removal fails, rescan
//! indexes the file: a duplicate, never a loss).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::MutexGuard;

use crate::batch::Batcher;
use crate::codec::{MailboxRecord, MessageRecord, Subdir};
use crate::core::{Core, DirStamp};
use crate::error::{DeliveryError, StoreError};
use crate::flags::Flags;
use crate::fs::Fs;
use crate::index::{self, EXPUNGED, MAILBOXES, MESSAGES, PARTS};
use crate::notify::{Change, Notice};
use crate::quota::{self, Quota};

/// One successful delivery to one account's INBOX.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The account's address (display form).
    pub address: String,
    /// The UID of the new message.
    pub uid: u32,
    /// The INBOX's UIDVALIDITY.
    pub uidvalidity: u32,
}

/// A recipient resolved at `begin_delivery`.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    /// The normalised address (index key).
    pub(crate) key: String,
    /// The display address.
    pub(crate) display: String,
    /// The target mailbox (canonical wire name).
    pub(crate) mailbox: String,
    /// Its Maildir.
    pub(crate) dir: PathBuf,
    /// SMTP delivery (a vanished target is an unknown recipient) rather
    /// than APPEND (a vanished mailbox).
    pub(crate) is_delivery: bool,
}

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
    /// Minutes east of UTC of the internal date.
    pub(crate) internal_zone: i16,
    /// Encoded MIME part offsets ([`crate::mime::encode`]), if parsed.
    pub(crate) parts: Option<Vec<u8>>,
}

type Outcome = Result<Vec<Delivered>, DeliveryError>;

/// The group committer of one store.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit(Batcher<Job, Outcome>);

impl GroupCommit {
    /// Commits `job` together with whatever else is queued; blocks until
    /// its own result is known.
    pub(crate) fn submit(&self, core: &Core, job: Job) -> Outcome {
        // The leader takes the maildir lock before the queue: jobs that
        // arrive while it waits for the lock join its batch
        // (`Batcher::submit_after`).
        self.0.submit_after(
            job,
            || core.lock_maildirs(),
            |guard, jobs| commit_batch(core, guard, jobs),
            |why| {
                Err(DeliveryError::Io(io::Error::other(format!(
                    "group commit {why}"
                ))))
            },
        )
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
            return Err(DeliveryError::from(e));
        }
        placed.push(to);
    }
    let Some(first) = job.targets.first() else {
        return Err(DeliveryError::NoRecipients);
    };
    let to = dest(first);
    if let Err(e) = fs.rename(&job.tmp_path, &to) {
        unplace(fs, &placed);
        return Err(DeliveryError::from(e));
    }
    placed.push(to);
    Ok(placed)
}

/// The heart of the group commit; returns one outcome per job, in order.
fn commit_batch(core: &Core, _guard: MutexGuard<'_, ()>, jobs: Vec<Job>) -> Vec<Outcome> {
    let stamps: Vec<(PathBuf, DirStamp)> = jobs
        .iter()
        .flat_map(|j| j.targets.iter().map(|t| t.dir.clone()))
        .collect::<BTreeSet<PathBuf>>()
        .into_iter()
        .map(|d| {
            let s = core.stamp(&d);
            (d, s)
        })
        .collect();
    let (outcomes, stale) = commit_locked(core, &jobs);
    for (dir, before) in stamps {
        if stale.contains(&dir) {
            // The index may not match this Maildir after a double fault:
            // the next `refresh` rescans it instead of trusting the stamp.
            core.forget_stamp(&dir);
        } else {
            core.advance_stamp(&dir, before);
        }
    }
    outcomes
}

/// Where each job's file went (or why it failed).
type Placed = Result<Vec<PathBuf>, DeliveryError>;

/// What the index transaction recorded for one job.
#[derive(Debug, Default)]
struct Indexed {
    delivered: Vec<Delivered>,
    /// `(account key, mailbox)` and UID of every row written for the job,
    /// so that [`retract`] can take them back.
    rows: Vec<(String, String, u32)>,
    /// `Appended` per account, published only once the job fully succeeded.
    notices: Vec<(String, Notice)>,
}

fn commit_locked(core: &Core, jobs: &[Job]) -> (Vec<Outcome>, BTreeSet<PathBuf>) {
    let fs = core.fs.as_ref();
    // Maildirs whose index may be out of step with the disk.
    let mut stale = BTreeSet::new();

    // 1. Move every file into place.
    let mut states: Vec<Placed> = jobs.iter().map(|job| place(fs, job)).collect();

    // 2. Fsync each distinct new/ (cur/) directory once, while 3. one
    //    durable index transaction records every job still standing.
    let dirs: Vec<PathBuf> = states
        .iter()
        .filter_map(|s| s.as_ref().ok())
        .flatten()
        .filter_map(|p| p.parent())
        .collect::<BTreeSet<&Path>>()
        .into_iter()
        .map(Path::to_path_buf)
        .collect();
    let (failed_dirs, indexed) = core
        .dirsync
        .during(dirs, || index_batch(core, jobs, &mut states));
    let failed_dirs: HashMap<PathBuf, io::Error> = failed_dirs.into_iter().collect();

    let indexed = match indexed {
        Ok(indexed) => indexed,
        Err(e) => {
            // Nothing is indexed (or, if redb erred after the commit reached
            // the disk, the entries dangle: the next refresh drops them).
            let outcomes = jobs
                .iter()
                .zip(states)
                .map(|(job, state)| {
                    let placed = state?;
                    unplace(fs, &placed);
                    stale.extend(job.targets.iter().map(|t| t.dir.clone()));
                    Err(DeliveryError::Storage(copy_store_error(&e)))
                })
                .collect();
            return (outcomes, stale);
        }
    };

    // 4. A job is acknowledged only if every directory it is in was
    //    fsynced. The others were committed to the index already: take
    //    their rows back before answering, so a client told "451" never
    //    finds the message delivered (their UIDs stay used).
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(jobs.len());
    let mut notices: Vec<(String, Notice)> = Vec::new();
    let mut rows = Vec::new();
    let mut retracted: Vec<(&Job, Vec<PathBuf>)> = Vec::new();
    for ((job, state), done) in jobs.iter().zip(states).zip(indexed) {
        let placed = match state {
            Ok(placed) => placed,
            Err(e) => {
                outcomes.push(Err(e));
                continue;
            }
        };
        let failure = placed
            .iter()
            .find_map(|p| p.parent().and_then(|d| failed_dirs.get(d)));
        match failure {
            None => {
                notices.extend(done.notices);
                outcomes.push(Ok(done.delivered));
            }
            Some(e) => {
                outcomes.push(Err(DeliveryError::from(io_copy(e))));
                rows.extend(
                    done.rows
                        .into_iter()
                        .map(|(key, mailbox, uid)| (key, mailbox, uid, job.size)),
                );
                retracted.push((job, placed));
            }
        }
    }
    if !retracted.is_empty() {
        match retract(core, &rows) {
            Ok(expunged) => notices.extend(expunged),
            Err(e) => {
                // The rows stay until the next rescan drops them (their
                // files are removed below); make the next refresh rescan.
                tracing::error!(error = %e,
                    "cannot retract the index entries of deliveries whose directory fsync failed");
                for (job, _) in &retracted {
                    stale.extend(job.targets.iter().map(|t| t.dir.clone()));
                }
            }
        }
        for (_, placed) in &retracted {
            unplace(fs, placed);
        }
    }

    // 5. Publish (under the maildir lock: in commit order).
    let mut by_account: HashMap<String, Vec<Notice>> = HashMap::new();
    for (account, notice) in notices {
        by_account.entry(account).or_default().push(notice);
    }
    for (account, list) in by_account {
        core.notifier.publish(&account, list);
    }
    (outcomes, stale)
}

fn copy_store_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Io(e) => StoreError::Io(io_copy(e)),
        StoreError::NoSuchMailbox(m) => StoreError::NoSuchMailbox(m.clone()),
        StoreError::OverQuota(a) => StoreError::OverQuota(a.clone()),
        StoreError::NoSpace(why) => StoreError::NoSpace(why.clone()),
        other => StoreError::Corrupt(format!("index commit failed: {other}")),
    }
}

/// The compensating transaction for jobs whose directory fsync failed
/// after their index rows were committed: removes the rows (message and
/// MIME parts), tombstones the UIDs with one new MODSEQ per mailbox like
/// an expunge (RFC 7162 §3.2.10: a QRESYNC client that saw the message
/// learns it VANISHED), and fixes the mailbox's counters. UIDNEXT is left
/// alone: a UID that readers may have seen is never handed out again.
/// Returns the `Expunged` notices to publish.
fn retract(
    core: &Core,
    rows: &[(String, String, u32, u64)],
) -> Result<Vec<(String, Notice)>, StoreError> {
    let mut by_mailbox: BTreeMap<(&str, &str), Vec<(u32, u64)>> = BTreeMap::new();
    for (key, mailbox, uid, size) in rows {
        by_mailbox
            .entry((key.as_str(), mailbox.as_str()))
            .or_default()
            .push((*uid, *size));
    }
    let mut notices = Vec::new();
    let txn = core.db.begin_write()?;
    {
        let mut mailboxes = txn.open_table(MAILBOXES)?;
        let mut messages = txn.open_table(MESSAGES)?;
        let mut parts = txn.open_table(PARTS)?;
        let mut expunged = txn.open_table(EXPUNGED)?;
        for ((key, mailbox), uids) in by_mailbox {
            // The maildir lock is held since the batch's commit: the
            // mailbox cannot have been deleted or renamed meanwhile.
            let Some(mut record) = index::get_mailbox(&mailboxes, key, mailbox)? else {
                continue;
            };
            record.highestmodseq += 1;
            for &(uid, size) in &uids {
                if messages.remove((record.id, uid))?.is_some() {
                    record.messages = record.messages.saturating_sub(1);
                    record.bytes = record.bytes.saturating_sub(size);
                }
                parts.remove((record.id, uid))?;
                expunged.insert((record.id, uid), record.highestmodseq)?;
            }
            index::put_mailbox(&mut mailboxes, key, mailbox, &record)?;
            notices.push((
                key.to_owned(),
                Notice {
                    mailbox: mailbox.to_owned(),
                    uidvalidity: record.uidvalidity,
                    change: Change::Expunged {
                        uids: uids.iter().map(|&(uid, _)| uid).collect(),
                        modseq: record.highestmodseq,
                    },
                },
            ));
        }
    }
    txn.commit()?;
    Ok(notices)
}

/// Assigns UIDs and commits. Jobs whose account or mailbox vanished, or
/// whose account is over quota, fail alone (their state turns into an
/// error and their files are removed). Publishes nothing: the caller does,
/// once the directory fsyncs are known to have succeeded.
fn index_batch(
    core: &Core,
    jobs: &[Job],
    states: &mut [Placed],
) -> Result<Vec<Indexed>, StoreError> {
    let mut indexed: Vec<Indexed> = jobs.iter().map(|_| Indexed::default()).collect();
    if states.iter().all(Result::is_err) {
        return Ok(indexed);
    }
    let now = index::now_secs();
    let limit = core.quota();
    let limited = limit != Quota::default();
    let txn = core.db.begin_write()?;
    {
        let mut mailboxes = txn.open_table(MAILBOXES)?;
        let mut messages = txn.open_table(MESSAGES)?;
        let mut parts = txn.open_table(PARTS)?;
        let mut cache: HashMap<(String, String), MailboxRecord> = HashMap::new();
        // (bytes, messages) per account, including this batch so far.
        let mut usage: HashMap<String, (u64, u64)> = HashMap::new();
        for ((job, state), out) in jobs.iter().zip(states.iter_mut()).zip(indexed.iter_mut()) {
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
                // Without limits (the default) the usage scan over the
                // account's mailboxes is skipped: it is inside the batch's
                // critical section.
                if limited && !usage.contains_key(&target.key) {
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
                unplace(core.fs.as_ref(), placed);
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
                    internal_zone: job.internal_zone,
                    size: job.size,
                    subdir: job.subdir,
                    base: job.base.clone(),
                    suffix: job.suffix.clone(),
                    keywords: job.keywords.clone(),
                    // Several recipients share the file and its base name,
                    // hence one email id (RFC 8474 §5.1 allows that).
                    email_id: crate::codec::email_id_of(job.base.as_bytes()),
                    save_date: now,
                };
                messages.insert((record.id, uid), message.encode().as_slice())?;
                if let Some(p) = &job.parts {
                    parts.insert((record.id, uid), p.as_slice())?;
                }
                out.notices.push((
                    target.key.clone(),
                    Notice {
                        mailbox: target.mailbox.clone(),
                        uidvalidity: record.uidvalidity,
                        change: Change::Appended {
                            uid,
                            modseq: record.highestmodseq,
                        },
                    },
                ));
                out.rows
                    .push((target.key.clone(), target.mailbox.clone(), uid));
                out.delivered.push(Delivered {
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
    Ok(indexed)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::fault::{FaultFs, FaultOp};
    use crate::{Envelope, Store, StoreConfig};

    const N: usize = 8;

    /// Holds the maildir lock so the first leader blocks on it before it
    /// takes the queue (`Batcher::submit_after`) while the other N-1
    /// callers queue up; releasing it must commit all N as a single batch.
    /// Job `i` goes to `rcpts[i]`; the results come back in job order,
    /// with the store for inspection.
    fn queued(
        fs: &FaultFs,
        rcpts: &[&'static str; N],
        arm: impl FnOnce(&Store),
    ) -> (tempfile::TempDir, Store, Vec<Result<u32, bool>>) {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            data_dir: dir.path().to_path_buf(),
            hostname: "h".into(),
            password_hashing: Default::default(),
        };
        let store = Store::open_with_fs(config, Arc::new(fs.clone())).unwrap();
        let mut users: Vec<&str> = rcpts.to_vec();
        users.sort_unstable();
        users.dedup();
        for user in users {
            store.add_user(user, "pw").unwrap();
        }
        let guard = store.inner.lock_maildirs();
        let spawn = |rcpt: &'static str| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut d = store
                    .begin_delivery(Envelope {
                        return_path: None,
                        recipients: vec![rcpt.into()],
                        trace: Vec::new(),
                    })
                    .unwrap();
                d.write(b"x\r\n").unwrap();
                d.commit().map(|v| v[0].uid).map_err(|e| e.is_temporary())
            })
        };
        let wait_for = |leader: bool, pending: usize| {
            for _ in 0..1000 {
                if store.inner.group.0.state() == (leader, pending) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            panic!("queue never reached leader={leader} pending={pending}");
        };
        // First a leader, blocked on the lock with its job still queued...
        let mut handles = vec![spawn(rcpts[0])];
        wait_for(true, 1);
        // ...then N-1 followers queued behind it, one at a time so that
        // the queue order is the job order.
        for (i, rcpt) in rcpts.iter().enumerate().skip(1) {
            handles.push(spawn(rcpt));
            wait_for(true, i + 1);
        }
        arm(&store);
        drop(guard);
        let results = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (dir, store, results)
    }

    fn queued_batch(fs: &FaultFs, arm: impl FnOnce()) -> Vec<Result<u32, bool>> {
        let (_dir, _store, mut results) = queued(fs, &["a@h"; N], |_| arm());
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
        // One fsync of new/ for all N: the leader's own job and those that
        // queued while it waited for the lock.
        assert_eq!(fs.calls(FaultOp::DirSync) - before.get(), 1);
    }

    #[test]
    fn one_failed_rename_fails_only_its_own_job() {
        let fs = FaultFs::new();
        // Counting restarts at arming; the batch holds all N jobs, in
        // queue order: the 3rd rename is the 3rd job's.
        let results = queued_batch(&fs, || fs.fail_nth(FaultOp::Rename, 3));
        let mut expected: Vec<Result<u32, bool>> = (1..N as u32).map(Ok).collect();
        expected.push(Err(true));
        assert_eq!(results, expected);
        assert_eq!(fs.injected(FaultOp::Rename), 1);
    }

    #[test]
    fn failed_directory_fsync_fails_only_the_jobs_in_that_directory() {
        use crate::notify::{Change, Event, Subscription};
        const A: &str = "a@h";
        const B: &str = "b@h";
        let rcpts = [A, B, A, B, A, B, A, B];
        let fs = FaultFs::new();
        let mut subs: Vec<Subscription> = Vec::new();
        // All eight jobs are one batch; its first directory fsync fails:
        // a's or b's new/, whichever thread gets there first.
        let (dir, store, results) = queued(&fs, &rcpts, |store| {
            subs.push(store.subscribe(A).unwrap());
            subs.push(store.subscribe(B).unwrap());
            fs.fail_nth(FaultOp::DirSync, 1);
        });
        assert_eq!(fs.injected(FaultOp::DirSync), 1);
        let (failed, kept) = if results[0].is_err() { (A, B) } else { (B, A) };
        let jobs_of = |who: &'static str| (0..N).filter(move |&i| rcpts[i] == who);
        let failed_jobs = jobs_of(failed).count();
        for i in jobs_of(failed) {
            assert_eq!(results[i], Err(true), "job {i}");
        }
        // Nothing was delivered before the batch.
        let had = |_: &str| 0u32;
        let mut kept_uids: Vec<u32> = jobs_of(kept).map(|i| results[i].unwrap()).collect();
        kept_uids.sort_unstable();
        let expected: Vec<u32> = (had(kept) + 1..=had(kept) + kept_uids.len() as u32).collect();
        assert_eq!(kept_uids, expected);

        // The failed account keeps only what came before the batch; the
        // batch's UIDs stay used; its new/ holds just the earlier files.
        let used = had(failed) + failed_jobs as u32;
        let check = |store: &Store| {
            let status = store.mailbox_status(failed, "INBOX").unwrap();
            assert_eq!((status.messages, status.uidnext), (had(failed), used + 1));
            let local = failed.split('@').next().unwrap();
            let new = dir.path().join("mail/h").join(local).join("new");
            assert_eq!(
                std::fs::read_dir(new).unwrap().count(),
                had(failed) as usize
            );
            let status = store.mailbox_status(kept, "INBOX").unwrap();
            assert_eq!(
                status.messages as usize,
                had(kept) as usize + kept_uids.len()
            );
        };
        check(&store);

        // Subscribers hear Appended only for jobs that fully succeeded; the
        // retracted UIDs come as one expunge.
        let uids_of = |sub: &Subscription| -> (Vec<u32>, Vec<u32>) {
            let (mut appended, mut expunged) = (Vec::new(), Vec::new());
            while let Some(Event::Change(n)) = sub.try_recv() {
                match n.change {
                    Change::Appended { uid, .. } => appended.push(uid),
                    Change::Expunged { uids, .. } => expunged.extend(uids),
                    other => panic!("unexpected {other:?}"),
                }
            }
            (appended, expunged)
        };
        let (sub_failed, sub_kept) = if failed == A {
            (&subs[0], &subs[1])
        } else {
            (&subs[1], &subs[0])
        };
        let leader: Vec<u32> = (1..=had(failed)).collect();
        let retracted: Vec<u32> = (had(failed) + 1..=used).collect();
        assert_eq!(uids_of(sub_failed), (leader, retracted));
        let mut all_kept: Vec<u32> = (1..=had(kept)).collect();
        all_kept.extend(&expected);
        assert_eq!(uids_of(sub_kept), (all_kept, Vec::new()));

        // After a reopen (full rescan) nothing reappears.
        drop(subs);
        drop(store);
        let store = Store::open_with_fs(
            StoreConfig {
                data_dir: dir.path().to_path_buf(),
                hostname: "h".into(),
                password_hashing: Default::default(),
            },
            Arc::new(fs.clone()),
        )
        .unwrap();
        check(&store);
    }
}
