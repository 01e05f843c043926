//! Group commit for STORE and EXPUNGE: concurrent flag changes and
//! expunges, from any sessions of any accounts, share one durable redb
//! transaction and one fsync per distinct directory, the way deliveries do
//! (`group_commit.rs`).
//!
//! Leader/follower: a caller queues its job; if no leader is active it
//! becomes the leader, takes every queued job and applies them in queue
//! order to one write transaction under the maildir lock (renames first,
//! then the index rows, so a later job of the same batch sees an earlier
//! one's flags and MODSEQ), fsyncs the directories, commits once, and only
//! then wakes every caller with its own result; leadership passes to the
//! first job queued meanwhile. While a batch commits the next one gathers,
//! so under load many STOREs and EXPUNGEs cost one commit. Each is still
//! answered only after its change is durable (the promise of docs/DESIGN.md §5);
//! expunged files are unlinked from `tmp/` only after the commit.
//!
//! Failure isolation: a job whose mailbox is unknown, whose records cannot
//! be read or whose rename fails fails alone (its renames undone, nothing
//! of it written). A failed write into the transaction, directory fsync or
//! commit fails every job of the batch and undoes every rename, newest
//! first (two jobs may have renamed the same file in turn).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use redb::WriteTransaction;

use crate::batch::Batcher;
use crate::core::{Core, DirStamp};
use crate::error::StoreError;
use crate::flag_sync::{FlagSync, LazySync};
use crate::flags::{Flags, normalise_keywords};
use crate::index::{self, EXPUNGED, MAILBOXES, MESSAGES, PARTS};
use crate::message_ops::{
    FlagOp, FlagUpdate, StoreOutcome, Target, load, path_of, select, suffix_for, undo, unlink_all,
};
use crate::notify::{Change, Notice};
use crate::uidset::UidSet;

/// One change to one mailbox.
#[derive(Debug)]
pub(crate) struct IndexJob {
    pub(crate) target: Target,
    pub(crate) uids: UidSet,
    pub(crate) kind: JobKind,
}

/// What an [`IndexJob`] does.
#[derive(Debug)]
pub(crate) enum JobKind {
    /// STORE, its keywords already normalised.
    Flags {
        op: FlagOp,
        flags: Flags,
        keywords: Vec<String>,
        unchanged_since: Option<u64>,
    },
    /// EXPUNGE (`only_deleted`) or POP3 DELE (every message of the set).
    Remove { only_deleted: bool },
}

/// What an [`IndexJob`] did.
#[derive(Debug)]
pub(crate) enum Done {
    /// The STORE's outcome.
    Flags(StoreOutcome),
    /// The removed UIDs, ascending.
    Removed(Vec<u32>),
}

type Outcome = Result<Done, StoreError>;

/// The STORE/EXPUNGE committer of one store.
#[derive(Debug, Default)]
pub(crate) struct IndexCommit {
    /// EXPUNGEs and DELEs, and STOREs when flag changes are durable.
    batch: Batcher<IndexJob, Outcome>,
    /// STOREs when flag changes are batched ([`FlagSync::Batched`]): a
    /// queue of their own, so that a STORE does not join a batch that
    /// holds an expunge and wait for that batch's directory fsyncs and
    /// durable commit. Under imaptest's persistent mix most batches held
    /// both, and a STORE took 3.2 ms (p50) against 1.3 ms for an EXPUNGE
    /// (issue "IMAP performance"). The two queues still take turns on the
    /// maildir lock and redb's writer, so a STORE waits for at most the
    /// one commit in progress. Jobs of different queues come from
    /// different sessions (a session waits for each answer before its
    /// next command), so either order is one they could have had.
    flags: Batcher<IndexJob, Outcome>,
    /// When flag-only batches become durable (`flag_sync.rs`).
    pub(crate) lazy: LazySync,
}

impl IndexCommit {
    /// Commits `job` together with whatever else is queued; blocks until
    /// its own result is durable (or, for a STORE with batched flag
    /// durability, committed in memory: see `flag_sync.rs`).
    pub(crate) fn submit(&self, core: &Arc<Core>, job: IndexJob) -> Outcome {
        let queue =
            if matches!(job.kind, JobKind::Flags { .. }) && self.lazy.mode() == FlagSync::Batched {
                &self.flags
            } else {
                &self.batch
            };
        queue.submit_after(
            job,
            || core.lock_maildirs(),
            |guard, jobs| commit_batch_locked(core, &self.lazy, guard, &jobs),
            |why| {
                Err(StoreError::Io(io::Error::other(format!(
                    "index commit {why}"
                ))))
            },
        )
    }
}

/// A copy of an error for every job of a failed batch.
fn copy_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Io(e) => StoreError::Io(io::Error::new(e.kind(), e.to_string())),
        StoreError::NoSuchMailbox(m) => StoreError::NoSuchMailbox(m.clone()),
        // A full disk stays a full disk for every job (SMTP 452, IMAP
        // NO [OVERQUOTA]), and a temporary error stays temporary.
        StoreError::NoSpace(m) => StoreError::NoSpace(m.clone()),
        StoreError::Locked => StoreError::Locked,
        other if other.is_temporary() => {
            StoreError::Io(io::Error::other(format!("index commit failed: {other}")))
        }
        other => StoreError::Corrupt(format!("index commit failed: {other}")),
    }
}

/// Why one job of a batch failed.
enum JobError {
    /// This job only; nothing of it was written.
    Own(StoreError),
    /// The transaction is unusable: the whole batch fails.
    Batch(StoreError),
}

/// What one job did to the transaction.
struct Applied {
    done: Done,
    /// The records a STORE changed, as they were (mailbox id, UID, record).
    before: Vec<(u64, u32, crate::codec::MessageRecord)>,
    renames: Vec<(PathBuf, PathBuf)>,
    notices: Vec<Notice>,
    /// Files to unlink once the commit is durable (expunged, in `tmp/`).
    unlink: Vec<PathBuf>,
    /// What an expunge removed from the index, to put back if the batch
    /// fails after its commit.
    removed: Vec<Removed>,
}

/// One message an expunge took out of the index, as it was.
struct Removed {
    uid: u32,
    record: crate::codec::MessageRecord,
    /// Its MIME offsets (`PARTS`), if it had any.
    parts: Option<Vec<u8>>,
}

#[cfg(test)]
fn commit_batch(core: &Arc<Core>, lazy: &LazySync, jobs: &[IndexJob]) -> Vec<Outcome> {
    commit_batch_locked(core, lazy, core.lock_maildirs(), jobs)
}

/// Commits one batch; `guard` is the maildir lock, taken by the leader
/// before it took the queue (`Batcher::submit_after`).
fn commit_batch_locked(
    core: &Arc<Core>,
    lazy: &LazySync,
    guard: std::sync::MutexGuard<'_, ()>,
    jobs: &[IndexJob],
) -> Vec<Outcome> {
    let dirs: BTreeSet<&PathBuf> = jobs.iter().map(|j| &j.target.dir).collect();
    let before: Vec<(&PathBuf, DirStamp)> = dirs.into_iter().map(|d| (d, core.stamp(d))).collect();
    let mut expunged = Vec::new();
    let mut after = None;
    let outcomes = commit_locked(core, lazy, jobs, &mut expunged, &mut after);
    // Keep the directory stamps current (see `Store::refresh`).
    for (d, b) in before {
        core.advance_stamp(d, b);
    }
    // The expunged files are in tmp/ under unique names, out of the index:
    // unlinking them needs no lock, and every other commit waits for this
    // one's (one unlink per message, tens of microseconds each).
    drop(guard);
    if let Some(after) = after {
        if let Err(e) = after.sync(core) {
            // Not durable: put everything back under the lock, as a failed
            // fsync inside the lock does (`restore`), and keep the files.
            let _guard = core.lock_maildirs();
            undo(core.fs.as_ref(), &after.renames);
            restore(core, jobs, &after.results);
            let e = StoreError::from(e);
            return jobs.iter().map(|_| Err(copy_error(&e))).collect();
        }
        // The index rows follow within FLAG_SYNC_WINDOW (the flusher's
        // durable commit, or any earlier one).
        lazy.note(core, std::iter::empty());
    }
    unlink_all(core.fs.as_ref(), &expunged);
    outcomes
}

/// An expunge batch committed to the index with `Durability::None` whose
/// directory fsyncs run after the maildir lock is released (see
/// [`commit_locked`], "expunges out of the lock").
struct AfterLock {
    /// The directories the expunged files left (`cur/`, `new/`).
    dirs: BTreeSet<PathBuf>,
    /// The renames into `tmp/`, to undo if a fsync fails.
    renames: Vec<(PathBuf, PathBuf)>,
    /// What the jobs took out of the index, to put back if a fsync fails.
    results: Vec<Option<Result<Applied, StoreError>>>,
}

impl AfterLock {
    /// Fsyncs the directories on this thread. A directory deleted or
    /// renamed meanwhile (DELETE and RENAME fsync their own parents) has
    /// nothing left to make durable.
    fn sync(&self, core: &Core) -> io::Result<()> {
        for d in &self.dirs {
            match core.fs.fsync_dir(d) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Commits `jobs` (the maildir lock held); the files of messages it
/// expunged, to unlink once the lock is released, go into `expunged`.
fn commit_locked(
    core: &Arc<Core>,
    lazy: &LazySync,
    jobs: &[IndexJob],
    expunged: &mut Vec<PathBuf>,
    after: &mut Option<AfterLock>,
) -> Vec<Outcome> {
    let fs = core.fs.as_ref();
    let fail_all = |e: &StoreError| jobs.iter().map(|_| Err(copy_error(e))).collect();
    // A durable commit that ran beside its directory fsyncs: if either
    // failed, the renames are undone (and, if the commit went through, the
    // old rows written back) and the batch fails with that error.
    let settle = |committed: Result<(), StoreError>,
                  synced: io::Result<()>,
                  renames: &[(PathBuf, PathBuf)],
                  results: &[Option<Result<Applied, StoreError>>]|
     -> Result<(), StoreError> {
        match (committed, synced) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(e), _) => {
                undo(fs, renames);
                Err(e)
            }
            (Ok(()), Err(e)) => {
                undo(fs, renames);
                restore(core, jobs, results);
                Err(StoreError::from(e))
            }
        }
    };
    let txn = match core.db.begin_write() {
        Ok(t) => t,
        Err(e) => return fail_all(&e),
    };
    let mut results: Vec<Option<Result<Applied, StoreError>>> = Vec::with_capacity(jobs.len());
    let mut renames: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut wrote = false;
    for job in jobs {
        let applied = match &job.kind {
            JobKind::Flags { .. } => apply_flags(core, &txn, job),
            JobKind::Remove { only_deleted } => apply_remove(core, &txn, job, *only_deleted),
        };
        match applied {
            Ok(applied) => {
                renames.extend(applied.renames.iter().cloned());
                wrote |= !applied.notices.is_empty();
                results.push(Some(Ok(applied)));
            }
            Err(JobError::Own(e)) => results.push(Some(Err(e))),
            Err(JobError::Batch(e)) => {
                undo(fs, &renames);
                return fail_all(&e);
            }
        }
    }
    let removes = results
        .iter()
        .any(|r| matches!(r, Some(Ok(a)) if !a.unlink.is_empty() || matches!(a.done, Done::Removed(ref u) if !u.is_empty())));
    let mut deferred = false;
    if wrote && removes && lazy.mode() == FlagSync::Batched && jobs_only_remove(jobs) {
        // Expunges out of the lock (the server's default, with batched
        // flag durability). What makes an expunge durable is its files
        // leaving `cur/`/`new/`: after a crash the rescan at open drops
        // every index row whose file is gone, so an expunge whose
        // directory fsync returned survives a crash whether or not its
        // index rows did. So the rows commit with `Durability::None`
        // under the lock (tens of microseconds instead of redb's
        // fdatasync), and the directory fsync (a journal commit, about
        // 1 ms here) runs after the lock is released: APPENDs, STOREs and
        // other expunges commit meanwhile instead of queueing behind it.
        // The EXPUNGE is answered after the fsync, as before. The rows
        // become durable with the next durable commit, at the latest the
        // flag flusher's within FLAG_SYNC_WINDOW (`flag_sync.rs`), which
        // bounds how far HIGHESTMODSEQ can step back after a crash, as for
        // batched STOREs. If the fsync fails, the renames are undone and
        // the rows put back under the lock before anyone is answered;
        // sessions already told of the expunge see the messages again
        // only after a new SELECT.
        if let Err(e) = commit_in_memory(txn) {
            undo(fs, &renames);
            return fail_all(&e);
        }
        deferred = true;
    } else if wrote && removes {
        // An expunge (with whatever flag changes share its batch) is
        // answered only once its renames into tmp/ and its index rows are
        // both durable. The directory fsyncs run while the index commits,
        // so the batch holds the maildir lock and redb's writer for
        // max(fsync, commit) rather than their sum: every other commit
        // (APPEND, STORE, the flag flusher) waits behind it. A crash
        // between the two loses nothing answered: rescan adopts a file the
        // rename did not move as a message again. If the fsync fails
        // after the commit, the files go back and the rows are restored
        // before anyone is answered. Directories of earlier batched STOREs
        // stay pending for the flusher (`flag_sync.rs`), which fsyncs them
        // within the window as it would without this expunge.
        let moved_out: BTreeSet<&PathBuf> = results
            .iter()
            .filter_map(|r| match r {
                Some(Ok(a)) => Some(a.unlink.iter()),
                _ => None,
            })
            .flatten()
            .collect();
        let (committed, synced) = commit_while_fsyncing(core, txn, &renames, &moved_out);
        if let Err(e) = settle(committed, synced, &renames, &results) {
            return fail_all(&e);
        }
    } else if wrote && lazy.mode() == FlagSync::Batched {
        // Flags only, batched (`flag_sync.rs`): answered after an
        // in-memory commit; the flusher fsyncs the directories and commits
        // durably within FLAG_SYNC_WINDOW.
        if let Err(e) = commit_in_memory(txn) {
            undo(fs, &renames);
            return fail_all(&e);
        }
        lazy.note(
            core,
            renames
                .iter()
                .flat_map(|(a, b)| [a.parent(), b.parent()])
                .flatten()
                .map(PathBuf::from),
        );
    } else if wrote {
        // Flags only: fsync the directories while the index commits, so a
        // batch costs max(fsync, commit) rather than their sum. Nobody is
        // answered before both are done; if the fsync fails after the
        // commit, the renames are undone and the old records written back.
        let (committed, synced) = commit_while_fsyncing(core, txn, &renames, &BTreeSet::new());
        if let Err(e) = settle(committed, synced, &renames, &results) {
            return fail_all(&e);
        }
    } else {
        // Nothing changed (flags already so, UNCHANGEDSINCE refused,
        // nothing to expunge): no commit, no fsync.
        let _ = txn.abort();
    }
    let mut by_account: BTreeMap<&str, Vec<Notice>> = BTreeMap::new();
    let mut out = Vec::with_capacity(jobs.len());
    let mut results = results;
    for (job, result) in jobs.iter().zip(results.iter_mut()) {
        match result {
            Some(Ok(applied)) => {
                // What `restore` needs (`before`, `removed`) stays behind.
                expunged.append(&mut applied.unlink);
                by_account
                    .entry(job.target.key.as_str())
                    .or_default()
                    .append(&mut applied.notices);
                out.push(Ok(std::mem::replace(
                    &mut applied.done,
                    Done::Removed(Vec::new()),
                )));
            }
            Some(Err(_)) => {
                if let Some(Err(e)) = result.take() {
                    out.push(Err(e));
                }
            }
            None => out.push(Err(StoreError::Io(io::Error::other(
                "index commit lost a job",
            )))),
        }
    }
    // Published under the lock, so subscribers see MODSEQ order, also for
    // a deferred expunge (whose fsync is still to come).
    for (account, notices) in by_account {
        core.notifier.publish(account, notices);
    }
    if deferred {
        *after = Some(AfterLock {
            dirs: renames
                .iter()
                .filter_map(|(from, _)| from.parent().map(PathBuf::from))
                .collect(),
            renames,
            results,
        });
    }
    out
}

/// Commits `txn` with `Durability::None`: visible at once, durable with
/// the next durable commit (the flag flusher's within FLAG_SYNC_WINDOW).
fn commit_in_memory(mut txn: WriteTransaction) -> Result<(), StoreError> {
    txn.set_durability(redb::Durability::None)?;
    txn.commit()?;
    Ok(())
}

/// Whether every job of the batch is an expunge (or POP3 DELE).
fn jobs_only_remove(jobs: &[IndexJob]) -> bool {
    jobs.iter()
        .all(|j| matches!(j.kind, JobKind::Remove { .. }))
}

/// Commits `txn` durably on this thread while the store's helper thread
/// fsyncs the directories of `renames` (`dirsync.rs`); returns both
/// results (the commit's first; the first failed directory's error).
///
/// `moved_out` are the expunged files (renamed into `tmp/`, unlinked after
/// the commit): only the directory they left is fsynced, not `tmp/`. The
/// removal from `cur/`/`new/` is what must survive a crash (else a rescan
/// would adopt the message again); a `tmp/` entry that does not survive
/// only leaves an orphaned inode to the filesystem's check, never a
/// message. That is one fsync less per expunge batch, which the batch paid
/// after its index commit while holding the maildir lock.
fn commit_while_fsyncing(
    core: &Core,
    txn: WriteTransaction,
    renames: &[(PathBuf, PathBuf)],
    moved_out: &BTreeSet<&PathBuf>,
) -> (Result<(), StoreError>, io::Result<()>) {
    let dirs: Vec<PathBuf> = renames
        .iter()
        .flat_map(|(a, b)| {
            [
                a.parent(),
                (!moved_out.contains(b)).then(|| b.parent()).flatten(),
            ]
        })
        .flatten()
        .collect::<BTreeSet<&std::path::Path>>()
        .into_iter()
        .map(PathBuf::from)
        .collect();
    let (failed, committed) = core
        .dirsync
        .during(dirs, || txn.commit().map_err(StoreError::from));
    let synced = match failed.into_iter().next() {
        None => Ok(()),
        Some((_, e)) => Err(e),
    };
    (committed, synced)
}

/// After a committed batch whose directory fsync failed (its renames
/// already undone): writes the old records back and puts expunged
/// messages back (their rows, MIME offsets and the mailbox's counts; the
/// tombstones go), newest job first so the oldest before-image wins, and
/// commits that durably, so the index matches the files again and nothing
/// the failed batch did remains. HIGHESTMODSEQ stays where it is (it never
/// goes down). If even this fails, the rescan at open trusts the file
/// names.
fn restore(core: &Core, jobs: &[IndexJob], results: &[Option<Result<Applied, StoreError>>]) {
    let put_back = || -> Result<(), StoreError> {
        let txn = core.db.begin_write()?;
        for (job, applied) in jobs.iter().zip(results).rev() {
            let Some(Ok(applied)) = applied else {
                continue;
            };
            {
                let mut messages = txn.open_table(MESSAGES)?;
                for (id, uid, m) in &applied.before {
                    messages.insert((*id, *uid), m.encode().as_slice())?;
                }
            }
            if applied.removed.is_empty() {
                continue;
            }
            let mut record = load(core, &txn, &job.target)?;
            {
                let mut messages = txn.open_table(MESSAGES)?;
                let mut parts = txn.open_table(PARTS)?;
                let mut expunged = txn.open_table(EXPUNGED)?;
                for r in &applied.removed {
                    messages.insert((record.id, r.uid), r.record.encode().as_slice())?;
                    if let Some(p) = &r.parts {
                        parts.insert((record.id, r.uid), p.as_slice())?;
                    }
                    expunged.remove((record.id, r.uid))?;
                    record.messages = record.messages.saturating_add(1);
                    record.bytes = record.bytes.saturating_add(r.record.size);
                }
            }
            let mut mailboxes = txn.open_table(MAILBOXES)?;
            index::put_mailbox(&mut mailboxes, &job.target.key, &job.target.name, &record)?;
        }
        txn.commit()?;
        Ok(())
    };
    if let Err(e) = put_back() {
        tracing::error!(error = %e, "cannot restore the index after a failed directory fsync; the next rescan repairs it from the file names");
    }
}

/// Applies one STORE to the transaction: renames files whose system flags
/// change (`cur/<base>:2,<letters>`; a message in `new/` moves to `cur/`),
/// then writes the records and the mailbox's new HIGHESTMODSEQ.
fn apply_flags(core: &Core, txn: &WriteTransaction, job: &IndexJob) -> Result<Applied, JobError> {
    let JobKind::Flags {
        op,
        flags,
        keywords,
        unchanged_since,
    } = &job.kind
    else {
        return Err(JobError::Own(StoreError::Corrupt("not a STORE".into())));
    };
    let fs = core.fs.as_ref();
    let t = &job.target;
    let mut record = load(core, txn, t).map_err(JobError::Own)?;
    let mut outcome = StoreOutcome::default();
    let mut renames: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut writes = Vec::new();
    let mut before = Vec::new();
    {
        let messages = txn
            .open_table(MESSAGES)
            .map_err(|e| JobError::Batch(e.into()))?;
        for (uid, mut m) in select(&messages, record.id, &job.uids).map_err(JobError::Own)? {
            if unchanged_since.is_some_and(|u| m.modseq > u) {
                outcome.modified.push(uid);
                continue;
            }
            let (new_flags, new_keywords) = match op {
                FlagOp::Add => {
                    let mut k = m.keywords.clone();
                    k.extend(keywords.iter().cloned());
                    (m.flags.union(*flags), normalise_keywords(&k))
                }
                FlagOp::Remove => (
                    Flags::from_bits(m.flags.bits() & !flags.bits()),
                    m.keywords
                        .iter()
                        .filter(|k| !keywords.contains(k))
                        .cloned()
                        .collect(),
                ),
                FlagOp::Replace => (*flags, keywords.clone()),
            };
            let changed = new_flags != m.flags || new_keywords != m.keywords;
            if changed {
                before.push((record.id, uid, m.clone()));
                if new_flags != m.flags {
                    let from = path_of(&t.dir, &m);
                    m.subdir = crate::codec::Subdir::Cur;
                    m.suffix = suffix_for(&m.suffix, new_flags);
                    let to = path_of(&t.dir, &m);
                    if let Err(e) = fs.rename(&from, &to) {
                        undo(fs, &renames);
                        return Err(JobError::Own(e.into()));
                    }
                    renames.push((from, to));
                }
                record.highestmodseq += 1;
                m.flags = new_flags;
                m.keywords = new_keywords;
                m.modseq = record.highestmodseq;
                writes.push((uid, m.clone()));
            }
            outcome.updated.push(FlagUpdate {
                uid,
                flags: m.flags,
                keywords: m.keywords.clone(),
                modseq: m.modseq,
                changed,
            });
        }
    }
    if !writes.is_empty() {
        let written = (|| -> Result<(), StoreError> {
            let mut messages = txn.open_table(MESSAGES)?;
            for (uid, m) in &writes {
                messages.insert((record.id, *uid), m.encode().as_slice())?;
            }
            let mut mailboxes = txn.open_table(MAILBOXES)?;
            index::put_mailbox(&mut mailboxes, &t.key, &t.name, &record)?;
            Ok(())
        })();
        if let Err(e) = written {
            undo(fs, &renames);
            return Err(JobError::Batch(e));
        }
    }
    let notices = writes
        .into_iter()
        .map(|(uid, m)| Notice {
            mailbox: t.name.clone(),
            uidvalidity: record.uidvalidity,
            change: Change::Flags {
                uid,
                flags: m.flags,
                keywords: m.keywords,
                modseq: m.modseq,
            },
        })
        .collect();
    Ok(Applied {
        done: Done::Flags(outcome),
        before,
        renames,
        notices,
        unlink: Vec::new(),
        removed: Vec::new(),
    })
}

/// Applies one EXPUNGE (or POP3 DELE) to the transaction: renames each
/// file into `tmp/.expunged.<id>.<uid>.<base>` (invisible to Maildir
/// readers, and undoable), removes the rows and tombstones the UIDs with
/// one new MODSEQ (RFC 7162 §3.2.10). The files are unlinked after the
/// commit.
fn apply_remove(
    core: &Core,
    txn: &WriteTransaction,
    job: &IndexJob,
    only_deleted: bool,
) -> Result<Applied, JobError> {
    let fs = core.fs.as_ref();
    let t = &job.target;
    let mut record = load(core, txn, t).map_err(JobError::Own)?;
    let victims: Vec<(u32, crate::codec::MessageRecord)> = {
        let messages = txn
            .open_table(MESSAGES)
            .map_err(|e| JobError::Batch(e.into()))?;
        select(&messages, record.id, &job.uids)
            .map_err(JobError::Own)?
            .into_iter()
            .filter(|(_, m)| !only_deleted || m.flags.contains(Flags::DELETED))
            .collect()
    };
    let mut applied = Applied {
        done: Done::Removed(Vec::new()),
        before: Vec::new(),
        renames: Vec::new(),
        notices: Vec::new(),
        unlink: Vec::new(),
        removed: Vec::new(),
    };
    if victims.is_empty() {
        return Ok(applied);
    }
    let tmp = t.dir.join("tmp");
    for (uid, m) in &victims {
        let from = path_of(&t.dir, m);
        let to = tmp.join(format!(".expunged.{}.{uid}.{}", record.id, m.base));
        match fs.rename(&from, &to) {
            Ok(()) => applied.renames.push((from, to)),
            // Already gone behind our back: just drop the entry.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                undo(fs, &applied.renames);
                return Err(JobError::Own(e.into()));
            }
        }
    }
    record.highestmodseq += 1;
    let written = (|| -> Result<(), StoreError> {
        let mut messages = txn.open_table(MESSAGES)?;
        let mut parts = txn.open_table(PARTS)?;
        let mut expunged = txn.open_table(EXPUNGED)?;
        for (uid, m) in &victims {
            messages.remove((record.id, *uid))?;
            let old_parts = parts.remove((record.id, *uid))?.map(|p| p.value().to_vec());
            expunged.insert((record.id, *uid), record.highestmodseq)?;
            applied.removed.push(Removed {
                uid: *uid,
                record: m.clone(),
                parts: old_parts,
            });
            record.messages = record.messages.saturating_sub(1);
            record.bytes = record.bytes.saturating_sub(m.size);
        }
        let mut mailboxes = txn.open_table(MAILBOXES)?;
        index::put_mailbox(&mut mailboxes, &t.key, &t.name, &record)?;
        Ok(())
    })();
    if let Err(e) = written {
        undo(fs, &applied.renames);
        return Err(JobError::Batch(e));
    }
    let uids: Vec<u32> = victims.iter().map(|(u, _)| *u).collect();
    applied.notices.push(Notice {
        mailbox: t.name.clone(),
        uidvalidity: record.uidvalidity,
        change: Change::Expunged {
            uids: uids.clone(),
            modseq: record.highestmodseq,
        },
    });
    applied.unlink = applied.renames.iter().map(|(_, to)| to.clone()).collect();
    applied.done = Done::Removed(uids);
    Ok(applied)
}

#[cfg(test)]
mod tests;
