//! Changing messages: flags (STORE, with CONDSTORE's UNCHANGEDSINCE),
//! EXPUNGE / UID EXPUNGE / POP3 DELE, COPY and MOVE.
//!
//! Every operation holds the maildir lock and follows one pattern: change
//! the files (rename, link), fsync the directories, commit the index
//! durably, publish; on any failure before the commit, undo the file
//! changes. Crash points are in `docs/design.md`.

use std::io;
use std::path::{Path, PathBuf};

use redb::ReadableTable;

use crate::codec::{MessageRecord, Subdir};
use crate::core::DirStamp;
use crate::error::StoreError;
use crate::flags::{Flags, normalise_keywords};
use crate::fs::Fs;
use crate::index::{self, EXPUNGED, MAILBOXES, MESSAGES, PARTS};
use crate::index_commit::{Done, IndexJob, JobKind};
use crate::message_ops::{
    FlagOp, StoreOutcome, Target, fsync_dirs, load, path_of, select, suffix_for, undo, unlink_all,
};
use crate::notify::{Change, Notice};
use crate::quota::account_usage;
use crate::store::{Store, parse_target};
use crate::uidset::UidSet;

/// A STORE request (RFC 9051 §6.4.6, RFC 7162 §3.1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagChange {
    /// Add, remove or replace.
    pub op: FlagOp,
    /// System flags.
    pub flags: Flags,
    /// Keywords (any order; duplicates ignored).
    pub keywords: Vec<String>,
    /// CONDSTORE `UNCHANGEDSINCE`: leave messages with a greater MODSEQ alone.
    pub unchanged_since: Option<u64>,
}

impl FlagChange {
    /// A change of system flags only, without UNCHANGEDSINCE.
    #[must_use]
    pub fn flags(op: FlagOp, flags: Flags) -> FlagChange {
        FlagChange {
            op,
            flags,
            keywords: Vec::new(),
            unchanged_since: None,
        }
    }
}

/// COPY / MOVE result for `[COPYUID]` (RFC 4315 §3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyOutcome {
    /// The destination's UIDVALIDITY.
    pub uidvalidity: u32,
    /// Source UIDs, ascending.
    pub source_uids: Vec<u32>,
    /// The destination UIDs, in the same order.
    pub dest_uids: Vec<u32>,
}

/// How old a `new/` mtime must be before a full `\Recent` claim trusts it
/// to mean "still empty" (see `claim_recent`): well past the coarse clock's
/// tick that stamps directory changes.
const EMPTY_NEW_MIN_AGE: std::time::Duration = std::time::Duration::from_secs(1);

impl Store {
    pub(crate) fn target(&self, address: &str, mailbox: &str) -> Result<Target, StoreError> {
        let (address, name) = parse_target(address, mailbox)?;
        let dir = self.inner.layout.mailbox_dir(&address, &name);
        self.inner.refuse_links(&dir)?;
        Ok(Target {
            key: address.key(),
            address,
            name,
            dir,
        })
    }

    /// Runs `f` under the maildir lock, keeping the directory stamps of
    /// `dirs` current (see `Store::refresh`).
    fn locked<R>(&self, dirs: &[&Path], f: impl FnOnce() -> R) -> R {
        let _guard = self.inner.lock_maildirs();
        let before: Vec<DirStamp> = dirs.iter().map(|d| self.inner.stamp(d)).collect();
        let out = f();
        for (d, b) in dirs.iter().zip(before) {
            self.inner.advance_stamp(d, b);
        }
        out
    }

    /// Changes the flags and keywords of the messages in `uids` (IMAP
    /// STORE). System flags are also written into the file name
    /// (`cur/<base>:2,<letters>`); a message still in `new/` moves to
    /// `cur/` when its system flags change. Each changed message gets a new
    /// MODSEQ; unchanged ones keep theirs. With
    /// [`FlagChange::unchanged_since`] (CONDSTORE, RFC 7162 §3.1.3),
    /// messages whose MODSEQ is greater are left alone and reported in
    /// [`StoreOutcome::modified`]. Concurrent calls share one durable
    /// index commit (`index_commit/`); each returns once its change is
    /// durable.
    ///
    /// # Errors
    /// Unknown account or mailbox, IO and index errors (nothing changed).
    pub fn store_flags(
        &self,
        address: &str,
        mailbox: &str,
        uids: &UidSet,
        change: &FlagChange,
    ) -> Result<StoreOutcome, StoreError> {
        let job = IndexJob {
            target: self.target(address, mailbox)?,
            uids: uids.clone(),
            kind: JobKind::Flags {
                op: change.op,
                flags: change.flags,
                keywords: normalise_keywords(&change.keywords),
                unchanged_since: change.unchanged_since,
            },
        };
        match self.inner.index_commit.submit(&self.inner.core, job)? {
            Done::Flags(outcome) => Ok(outcome),
            Done::Removed(_) => Err(StoreError::Corrupt("STORE answered as EXPUNGE".into())),
        }
    }

    /// Moves every message still in `new/` to `cur/` (no flag change, no
    /// new MODSEQ) and returns their UIDs: the session that calls this
    /// first (at SELECT) sees them as `\Recent` (RFC 3501 §2.3.2); later
    /// sessions do not.
    ///
    /// # Errors
    /// Unknown account or mailbox, IO and index errors (nothing changed).
    pub fn claim_recent(&self, address: &str, mailbox: &str) -> Result<Vec<u32>, StoreError> {
        self.claim_recent_in(address, mailbox, None)
    }

    /// [`Store::claim_recent`] limited to `uids`: a session that is told of
    /// new messages while it has the mailbox selected claims just those
    /// (RFC 3501 §2.3.2: `\Recent` goes to the first session notified),
    /// without a scan of the whole mailbox. Returns the UIDs it claimed;
    /// UIDs another session claimed first, or no longer in `new/`, are
    /// left out.
    ///
    /// # Errors
    /// As [`Store::claim_recent`].
    pub fn claim_recent_uids(
        &self,
        address: &str,
        mailbox: &str,
        uids: &UidSet,
    ) -> Result<Vec<u32>, StoreError> {
        self.claim_recent_in(address, mailbox, Some(uids))
    }

    fn claim_recent_in(
        &self,
        address: &str,
        mailbox: &str,
        only: Option<&UidSet>,
    ) -> Result<Vec<u32>, StoreError> {
        let t = self.target(address, mailbox)?;
        // Fast path: nothing waits in new/ (the usual case after the first
        // SELECT), so no write transaction and no scan of every record —
        // this was most of a SELECT's cost on a 100k-message mailbox.
        let new_dir = t.dir.join(Subdir::New.as_str());
        // A full claim (SELECT) of a `new/` unchanged since it was last
        // found empty does not list it again. A claim of given UIDs (an
        // APPEND just announced) always looks.
        let mtime = match only {
            None => self.inner.fs.stat(&new_dir).ok().map(|s| s.modified),
            Some(_) => None,
        };
        let empty_new = || {
            self.inner
                .empty_new
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        };
        if let Some(m) = mtime
            && empty_new().get(&t.dir) == Some(&m)
        {
            return Ok(Vec::new());
        }
        let pending = self.inner.fs.read_dir(&new_dir)?;
        if !pending
            .iter()
            .any(|n| !n.to_string_lossy().starts_with('.'))
        {
            // Only an mtime clearly in the past is remembered: directory
            // times come from the kernel's coarse clock (one tick, up to
            // 10 ms), so a file renamed in just after this listing, within
            // the tick of the last change, could leave the mtime as it was.
            if let Some(m) = mtime
                && std::time::SystemTime::now()
                    .duration_since(m)
                    .is_ok_and(|age| age >= EMPTY_NEW_MIN_AGE)
            {
                empty_new().insert(t.dir.clone(), m);
            }
            return Ok(Vec::new());
        }
        self.locked(&[&t.dir], || {
            let fs = self.inner.fs.as_ref();
            // Not durable (no directory fsync, no durable index commit): a
            // claim changes no flag and loses no message, and a crash can
            // only undo recent claims, which is allowed (RFC 9051 dropped
            // \Recent; RFC 3501 §2.3.2 makes it a per-session hint). The
            // rescan at open matches the index to wherever each rename
            // landed, and the next durable commit carries the claim along.
            // Dovecot's `mail_fsync = optimized` does not fsync recent
            // state either. This keeps a SELECT after an APPEND off the
            // commit queue.
            let mut txn = self.inner.db.begin_write()?;
            txn.set_durability(redb::Durability::None)?;
            let record = load(&self.inner, &txn, &t)?;
            let mut renames = Vec::new();
            let mut writes = Vec::new();
            {
                let messages = txn.open_table(MESSAGES)?;
                let candidates = match only {
                    None => index::mailbox_messages(&messages, record.id)?,
                    Some(set) => {
                        let mut v = Vec::new();
                        for r in set.ranges() {
                            let range = (record.id, *r.start())..=(record.id, *r.end());
                            for entry in messages.range(range)? {
                                let (k, val) = entry?;
                                v.push((k.value().1, MessageRecord::decode(val.value())?));
                            }
                        }
                        v
                    }
                };
                for (uid, mut m) in candidates {
                    if m.subdir != Subdir::New {
                        continue;
                    }
                    let from = path_of(&t.dir, &m);
                    m.subdir = Subdir::Cur;
                    m.suffix = suffix_for(&m.suffix, m.flags);
                    let to = path_of(&t.dir, &m);
                    if let Err(e) = fs.rename(&from, &to) {
                        undo(fs, &renames);
                        return Err(e.into());
                    }
                    renames.push((from, to));
                    writes.push((uid, m));
                }
            }
            if writes.is_empty() {
                return Ok(Vec::new());
            }
            let result = (|| -> Result<(), StoreError> {
                let mut messages = txn.open_table(MESSAGES)?;
                for (uid, m) in &writes {
                    messages.insert((record.id, *uid), m.encode().as_slice())?;
                }
                Ok(())
            })();
            if let Err(e) = result.and_then(|()| txn.commit().map_err(StoreError::from)) {
                undo(fs, &renames);
                return Err(e);
            }
            Ok(writes.into_iter().map(|(uid, _)| uid).collect())
        })
    }

    /// Expunges the messages flagged `\Deleted` (IMAP EXPUNGE), only those
    /// in `uids` if given (UID EXPUNGE, RFC 4315 §2.1). Returns the
    /// expunged UIDs, ascending.
    ///
    /// # Errors
    /// Unknown account or mailbox, IO and index errors (nothing expunged).
    pub fn expunge(
        &self,
        address: &str,
        mailbox: &str,
        uids: Option<&UidSet>,
    ) -> Result<Vec<u32>, StoreError> {
        let all = UidSet::all();
        self.remove_messages(address, mailbox, uids.unwrap_or(&all), true)
    }

    /// Whether any message of `mailbox` in `uids` (every message if
    /// `None`) has `\Deleted`, from one read transaction. An EXPUNGE that
    /// would remove nothing (most of them, for clients that expunge after
    /// every change) is answered from this read instead of joining an
    /// expunge batch: no write transaction, no maildir lock. The answer
    /// is as of the last commit, so it is exactly what [`Store::expunge`]
    /// would have found had it run at that point.
    ///
    /// # Errors
    /// Unknown account or mailbox, index errors.
    pub fn any_deleted(
        &self,
        address: &str,
        mailbox: &str,
        uids: Option<&UidSet>,
    ) -> Result<bool, StoreError> {
        let (address, name) = parse_target(address, mailbox)?;
        let txn = self.inner.db.begin_read()?;
        let record = self.read_mailbox(&txn, &address, &name)?;
        let messages = txn.open_table(MESSAGES)?;
        let all = UidSet::all();
        for r in uids.unwrap_or(&all).ranges() {
            for entry in messages.range((record.id, *r.start())..=(record.id, *r.end()))? {
                let (_, v) = entry?;
                if MessageRecord::decode(v.value())?
                    .flags
                    .contains(Flags::DELETED)
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Removes the messages in `uids` whatever their flags (POP3 DELE at
    /// UPDATE, RFC 1939 §6). Returns the removed UIDs, ascending.
    ///
    /// # Errors
    /// As [`Store::expunge`].
    pub fn delete_messages(
        &self,
        address: &str,
        mailbox: &str,
        uids: &UidSet,
    ) -> Result<Vec<u32>, StoreError> {
        self.remove_messages(address, mailbox, uids, false)
    }

    /// Expunge: rename each file into `tmp/` (invisible to Maildir readers,
    /// and undoable), fsync, commit the index with tombstones, then unlink.
    /// Concurrent calls share one durable commit (`index_commit/`).
    fn remove_messages(
        &self,
        address: &str,
        mailbox: &str,
        uids: &UidSet,
        only_deleted: bool,
    ) -> Result<Vec<u32>, StoreError> {
        let job = IndexJob {
            target: self.target(address, mailbox)?,
            uids: uids.clone(),
            kind: JobKind::Remove { only_deleted },
        };
        match self.inner.index_commit.submit(&self.inner.core, job)? {
            Done::Removed(uids) => Ok(uids),
            Done::Flags(_) => Err(StoreError::Corrupt("EXPUNGE answered as STORE".into())),
        }
    }

    /// Copies the messages in `uids` to `to` (IMAP COPY) with their flags,
    /// keywords and internal dates. The new files are hard links to the
    /// old ones (a copy plus fsync where linking fails).
    ///
    /// # Errors
    /// [`StoreError::NoSuchMailbox`] (IMAP `[TRYCREATE]` for the
    /// destination), [`StoreError::OverQuota`], IO and index errors
    /// (nothing copied).
    pub fn copy_messages(
        &self,
        address: &str,
        from: &str,
        uids: &UidSet,
        to: &str,
    ) -> Result<CopyOutcome, StoreError> {
        self.transfer(address, from, uids, to, false)
    }

    /// Moves the messages in `uids` to `to` (RFC 6851 MOVE): the files are
    /// renamed, and the source entries expunged in the same index
    /// transaction that adds the destination entries.
    ///
    /// # Errors
    /// As [`Store::copy_messages`] (nothing moved).
    pub fn move_messages(
        &self,
        address: &str,
        from: &str,
        uids: &UidSet,
        to: &str,
    ) -> Result<CopyOutcome, StoreError> {
        self.transfer(address, from, uids, to, true)
    }

    fn transfer(
        &self,
        address: &str,
        from: &str,
        uids: &UidSet,
        to: &str,
        is_move: bool,
    ) -> Result<CopyOutcome, StoreError> {
        let src = self.target(address, from)?;
        let dst = self.target(address, to)?;
        let same = src.name == dst.name;
        let dirs: Vec<&Path> = if same {
            vec![&src.dir]
        } else {
            vec![&src.dir, &dst.dir]
        };
        self.locked(&dirs, || {
            let fs = self.inner.fs.as_ref();
            let txn = self.inner.db.begin_write()?;
            let mut src_rec = load(&self.inner, &txn, &src)?;
            let dst_loaded = load(&self.inner, &txn, &dst)?;
            let items: Vec<(u32, MessageRecord)> = {
                let messages = txn.open_table(MESSAGES)?;
                select(&messages, src_rec.id, uids)?
            };
            if items.is_empty() {
                return Ok(CopyOutcome {
                    uidvalidity: dst_loaded.uidvalidity,
                    ..CopyOutcome::default()
                });
            }
            if !is_move {
                let limit = self.inner.quota();
                let mailboxes = txn.open_table(MAILBOXES)?;
                let (b, n) = account_usage(&mailboxes, &src.key)?;
                let add: u64 = items.iter().map(|(_, m)| m.size).sum();
                if !limit.allows(b, n, add, items.len() as u64) {
                    let display = self
                        .inner
                        .account(&src.address)?
                        .map_or_else(|| src.address.display(), |a| a.display);
                    return Err(StoreError::OverQuota(display));
                }
            }
            // The destination names, chosen before any file is made.
            let now = crate::index::now_secs();
            let plan: Vec<(u32, MessageRecord, PathBuf, PathBuf)> = items
                .iter()
                .map(|(uid, m)| {
                    let mut nm = m.clone();
                    nm.base = crate::filename::with_size(&self.inner.names.next(), m.size);
                    // RFC 8474 §5.1: the copy keeps the EMAILID (m.email_id,
                    // cloned); RFC 8514: its save date is now.
                    nm.save_date = now;
                    // RFC 3501 §6.4.7: the copy is \Recent in the destination
                    // (recency is "in new/"), also when a session already
                    // claimed the original and also in the source mailbox
                    // itself; a copy with flags keeps them in an info suffix
                    // of its new/ name until it is claimed, as APPEND does.
                    nm.subdir = Subdir::New;
                    nm.suffix = if nm.flags == Flags::empty() {
                        String::new()
                    } else {
                        suffix_for(&m.suffix, nm.flags)
                    };
                    let to_path = path_of(&dst.dir, &nm);
                    (*uid, nm, path_of(&src.dir, m), to_path)
                })
                .collect();
            // COPY: record the copies to undo before making them, in a
            // commit of its own; the commit that indexes them deletes the
            // record. A crash in between (kill -9 during `UID COPY 1:*`)
            // leaves the intent, and the next open removes the copies
            // instead of adopting them: all or nothing (RFC 9051 §6.4.7).
            // MOVE needs no such record: a rename is not a copy.
            let (txn, copy_intent) = if is_move {
                (txn, None)
            } else {
                let root = self.inner.layout.mail_root();
                let files = plan
                    .iter()
                    .map(|(_, _, _, to)| {
                        to.strip_prefix(&root)
                            .unwrap_or(to)
                            .to_string_lossy()
                            .into_owned()
                    })
                    .collect();
                let intent = vec![crate::journal::Step::RemoveFiles { files }];
                let id = crate::journal::record(&txn, &intent)?;
                txn.commit()?;
                let txn = self.inner.db.begin_write()?;
                // Reloaded in the new transaction (unchanged: the maildir
                // lock is held, and every writer of these records takes it).
                src_rec = load(&self.inner, &txn, &src)?;
                (txn, Some(id))
            };
            let dst_loaded = if copy_intent.is_some() {
                load(&self.inner, &txn, &dst)?
            } else {
                dst_loaded
            };
            // Place the files: (source uid, record in destination, path).
            let mut placed: Vec<(u32, MessageRecord, PathBuf)> = Vec::new();
            let mut renames: Vec<(PathBuf, PathBuf)> = Vec::new();
            let mut created: Vec<PathBuf> = Vec::new();
            let rollback = |renames: &[(PathBuf, PathBuf)], created: &[PathBuf]| {
                undo(fs, renames);
                // A copy that cannot be removed now keeps its intent, so
                // the next open or rescan removes it rather than adopt it.
                if unlink_all(fs, created)
                    && let Some(id) = copy_intent
                    && let Err(e) = crate::journal::finish(&self.inner, id)
                {
                    // The files are gone already; the intent is replayed
                    // (a no-op) at the next open or rescan.
                    tracing::warn!(error = %e, "cannot delete a rolled-back COPY intent");
                }
            };
            for (uid, nm, from_path, to_path) in plan {
                let r = if is_move {
                    fs.rename(&from_path, &to_path)
                        .map(|()| renames.push((from_path.clone(), to_path.clone())))
                } else {
                    link_or_copy(fs, &from_path, &to_path).map(|()| created.push(to_path.clone()))
                };
                match r {
                    Ok(()) => placed.push((uid, nm, to_path)),
                    // Expunged behind our back: not part of the result.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        // The rollback may need a write transaction of
                        // its own (the COPY intent): end this one first.
                        drop(txn);
                        rollback(&renames, &created);
                        return Err(e.into());
                    }
                }
            }
            let mut dst_rec = if same { src_rec.clone() } else { dst_loaded };
            let mut outcome = CopyOutcome {
                uidvalidity: dst_rec.uidvalidity,
                ..CopyOutcome::default()
            };
            let mut src_notices = Vec::new();
            let mut dst_notices = Vec::new();
            let result = (|| -> Result<(), StoreError> {
                let mut dirs: Vec<(PathBuf, PathBuf)> = renames.clone();
                dirs.extend(created.iter().map(|p| (p.clone(), p.clone())));
                fsync_dirs(fs, &dirs)?;
                let mut messages = txn.open_table(MESSAGES)?;
                let mut parts = txn.open_table(PARTS)?;
                let mut expunged = txn.open_table(EXPUNGED)?;
                if is_move {
                    let rec = if same { &mut dst_rec } else { &mut src_rec };
                    rec.highestmodseq += 1;
                    let mut gone = Vec::new();
                    for (uid, nm, _) in &placed {
                        messages.remove((rec.id, *uid))?;
                        expunged.insert((rec.id, *uid), rec.highestmodseq)?;
                        rec.messages = rec.messages.saturating_sub(1);
                        rec.bytes = rec.bytes.saturating_sub(nm.size);
                        gone.push(*uid);
                    }
                    src_notices.push(Notice {
                        mailbox: src.name.clone(),
                        uidvalidity: rec.uidvalidity,
                        change: Change::Expunged {
                            uids: gone,
                            modseq: rec.highestmodseq,
                        },
                    });
                }
                for (uid, nm, _) in &mut placed {
                    let new_uid = dst_rec.uidnext;
                    dst_rec.uidnext = new_uid.checked_add(1).ok_or_else(|| {
                        StoreError::Corrupt("UID space of a mailbox exhausted".to_owned())
                    })?;
                    dst_rec.highestmodseq += 1;
                    dst_rec.messages = dst_rec.messages.saturating_add(1);
                    dst_rec.bytes = dst_rec.bytes.saturating_add(nm.size);
                    nm.modseq = dst_rec.highestmodseq;
                    messages.insert((dst_rec.id, new_uid), nm.encode().as_slice())?;
                    let p = parts.get((src_rec.id, *uid))?.map(|v| v.value().to_vec());
                    if let Some(p) = p {
                        parts.insert((dst_rec.id, new_uid), p.as_slice())?;
                        if is_move {
                            parts.remove((src_rec.id, *uid))?;
                        }
                    }
                    outcome.source_uids.push(*uid);
                    outcome.dest_uids.push(new_uid);
                    dst_notices.push(Notice {
                        mailbox: dst.name.clone(),
                        uidvalidity: dst_rec.uidvalidity,
                        change: Change::Appended {
                            uid: new_uid,
                            modseq: nm.modseq,
                        },
                    });
                }
                let mut mailboxes = txn.open_table(MAILBOXES)?;
                if !same {
                    index::put_mailbox(&mut mailboxes, &src.key, &src.name, &src_rec)?;
                }
                index::put_mailbox(&mut mailboxes, &dst.key, &dst.name, &dst_rec)?;
                if let Some(id) = copy_intent {
                    crate::journal::forget(&txn, id)?;
                }
                Ok(())
            })();
            if let Err(e) = result.and_then(|()| txn.commit().map_err(StoreError::from)) {
                rollback(&renames, &created);
                return Err(e);
            }
            dst_notices.extend(src_notices);
            self.inner.notifier.publish(&src.key, dst_notices);
            Ok(outcome)
        })
    }
}

/// A hard link, or (across filesystems, or where links are refused) a copy
/// that is fsynced before it counts.
fn link_or_copy(fs: &dyn Fs, from: &Path, to: &Path) -> io::Result<()> {
    match fs.hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(e),
        Err(e) => {
            tracing::debug!(error = %e, "hard link failed; copying");
            let bytes = std::fs::read(from)?;
            let mut f = fs.create_new(to)?;
            let r = f.write_all(&bytes).and_then(|()| f.sync_all());
            if r.is_err() {
                let _ = fs.remove_file(to);
            }
            r
        }
    }
}
