//! MULTIAPPEND (RFC 3502): several messages appended to one mailbox all
//! or nothing, with consecutive UIDs (`[APPENDUID v first:last]`,
//! RFC 4315 §3). Also the store side of CATENATE (RFC 4469): a message
//! is written in pieces, some copied from other messages.
//!
//! ```text
//! begin_multiappend     check account, mailbox, quota (nothing written)
//! begin_message         finish the previous message's tmp/ file
//! write*                (fsync, MIME offsets) and start the next one
//! commit                under the maildir lock:
//!                       1. an intent "remove these files" is committed
//!                          durably, naming every final path
//!                       2. every tmp/ file is renamed into cur/ or new/,
//!                          each directory fsynced once
//!                       3. ONE durable index transaction assigns the
//!                          consecutive UIDs, writes every row and deletes
//!                          the intent
//! abort / Drop          remove the tmp/ files
//! ```
//!
//! A failure anywhere (a full disk, a failed fsync or rename, the quota)
//! undoes what was done: the placed files are unlinked and nothing was
//! indexed. A crash (kill -9) after step 1 and before the commit of step 3
//! leaves the intent, and the next open (`journal::recover`, before the
//! rescan) removes the placed files instead of letting the rescan adopt
//! some of the messages; a crash before step 1 leaves only tmp/ files,
//! which no reader sees (the rescan deletes them after 36 hours). After
//! step 3 every message exists. This is the same scheme as COPY
//! (`messages.rs`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::codec::{MessageRecord, Subdir};
use crate::delivery::{Delivery, StoreAs};
use crate::error::{DeliveryError, StoreError};
use crate::flags::{Flags, normalise_keywords};
use crate::group_commit::{Job, Target};
use crate::index::{self, MAILBOXES, MESSAGES, PARTS};
use crate::journal::{self, Step};
use crate::notify::{Change, Notice};
use crate::quota::account_usage;
use crate::store::Store;

/// A MULTIAPPEND in progress: one mailbox, any number of messages.
/// Dropping it without [`MultiAppend::commit`] removes every tmp file.
#[derive(Debug)]
pub struct MultiAppend {
    store: Store,
    target: Target,
    /// Finished messages: the spool (owner of the tmp file) and its job.
    done: Vec<(Delivery, Job)>,
    /// The message being written.
    current: Option<Delivery>,
}

/// What a committed MULTIAPPEND stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The mailbox's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The new UIDs, in the order the messages were sent (consecutive).
    pub uids: Vec<u32>,
}

fn spool_err(e: DeliveryError) -> StoreError {
    StoreError::from(e)
}

impl Store {
    /// Starts a MULTIAPPEND (or a CATENATE) into `mailbox`; add messages
    /// with [`MultiAppend::begin_message`].
    ///
    /// # Errors
    /// [`StoreError::NoSuchMailbox`] (IMAP `[TRYCREATE]`),
    /// [`StoreError::OverQuota`] when the account is already at its limit,
    /// invalid names, IO and index errors.
    pub fn begin_multiappend(
        &self,
        address: &str,
        mailbox: &str,
    ) -> Result<MultiAppend, StoreError> {
        Ok(MultiAppend {
            store: self.clone(),
            target: self.append_target(address, mailbox)?,
            done: Vec::new(),
            current: None,
        })
    }
}

impl crate::append::Append {
    /// Turns this APPEND into a MULTIAPPEND whose first message it is
    /// (RFC 3502: a second message of the command arrived). The bytes
    /// written so far stay.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the append has no target (never for one
    /// made by [`Store::begin_append`]).
    pub fn into_multiappend(self) -> Result<MultiAppend, StoreError> {
        let Some(target) = self.delivery.first_target().cloned() else {
            return Err(StoreError::Corrupt("APPEND without a mailbox".to_owned()));
        };
        Ok(MultiAppend {
            store: self.delivery.store(),
            target,
            done: Vec::new(),
            current: Some(self.delivery),
        })
    }
}

impl MultiAppend {
    /// Ends the message being written (its file is fsynced in `tmp/`) and
    /// starts the next one, with system `flags`, `keywords` and an
    /// INTERNALDATE (`None`: the commit time), as [`Store::begin_append`].
    ///
    /// # Errors
    /// IO errors; after one, [`MultiAppend::commit`] fails.
    pub fn begin_message(
        &mut self,
        flags: Flags,
        keywords: &[String],
        internal_date: Option<i64>,
    ) -> Result<(), StoreError> {
        self.finish_current()?;
        let keywords = normalise_keywords(keywords);
        // As APPEND (append.rs): without flags the message goes to new/
        // and is \Recent; with flags they are in its cur/ name.
        // \Recent as for a single APPEND (`append.rs`): new/ whatever the
        // flags, claimed by the first session told of it.
        let subdir = Subdir::New;
        let spool = self
            .store
            .begin_spool(
                vec![self.target.clone()],
                StoreAs {
                    subdir,
                    flags,
                    keywords,
                    internal_date,
                    internal_zone: 0,
                },
            )
            .map_err(spool_err)?;
        self.current = Some(spool);
        Ok(())
    }

    fn finish_current(&mut self) -> Result<(), StoreError> {
        if let Some(mut spool) = self.current.take() {
            let job = spool.spool_job().map_err(spool_err)?;
            self.done.push((spool, job));
        }
        Ok(())
    }

    /// The current message's internal-date zone, as
    /// [`crate::Append::set_internal_zone`].
    pub fn set_internal_zone(&mut self, minutes: i16) {
        if minutes.unsigned_abs() < 24 * 60
            && let Some(spool) = self.current.as_mut()
        {
            spool.set_internal_zone(minutes);
        }
    }

    /// Appends octets to the current message, exactly as sent.
    ///
    /// # Errors
    /// IO errors, or no message begun; after one, the MULTIAPPEND cannot
    /// be committed.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        match self.current.as_mut() {
            Some(spool) => spool.write(chunk).map_err(spool_err),
            None => Err(StoreError::Corrupt(
                "MULTIAPPEND write before begin_message".to_owned(),
            )),
        }
    }

    /// Whether one more message of `size` octets still fits the account's
    /// quota together with the messages spooled so far, so a MULTIAPPEND
    /// over quota is refused before the client sends that message (the
    /// commit checks the total again).
    ///
    /// # Errors
    /// [`StoreError::OverQuota`], index errors.
    pub fn check_quota(&self, size: u64) -> Result<(), StoreError> {
        let limit = self.store.inner.quota();
        if limit.max_bytes.is_none() && limit.max_messages.is_none() {
            return Ok(());
        }
        let txn = self.store.inner.db.begin_read()?;
        let table = txn.open_table(MAILBOXES)?;
        let (bytes, count) = account_usage(&table, &self.target.key)?;
        let spooled: u64 = self.done.iter().map(|(_, j)| j.size).sum::<u64>() + self.message_len();
        let messages = self.messages() as u64 + 1;
        if limit.allows(bytes, count, spooled.saturating_add(size), messages) {
            Ok(())
        } else {
            Err(StoreError::OverQuota(self.target.display.clone()))
        }
    }

    /// Octets of the current message so far (for CATENATE's `[TOOBIG]`).
    #[must_use]
    pub fn message_len(&self) -> u64 {
        self.current.as_ref().map_or(0, Delivery::len)
    }

    /// Messages begun so far.
    #[must_use]
    pub fn messages(&self) -> usize {
        self.done.len() + usize::from(self.current.is_some())
    }

    /// Abandons everything and removes the tmp files (same as dropping it).
    pub fn abort(self) {}

    /// Makes every message durable and visible at once (see the module
    /// docs) and returns the UIDVALIDITY and the new, consecutive UIDs.
    ///
    /// # Errors
    /// [`StoreError::OverQuota`] when the messages together exceed the
    /// quota, [`StoreError::NoSuchMailbox`] if the mailbox was deleted
    /// meanwhile, IO and index errors. On error nothing was stored.
    pub fn commit(mut self) -> Result<Appended, StoreError> {
        self.finish_current()?;
        if self.done.is_empty() {
            return Err(StoreError::Corrupt(
                "MULTIAPPEND without a message".to_owned(),
            ));
        }
        let inner = std::sync::Arc::clone(&self.store.inner);
        let _guard = inner.lock_maildirs();
        let before = inner.stamp(&self.target.dir);
        let result = self.commit_locked();
        match &result {
            // The index may be out of step with the directory after a
            // failed rollback: the next refresh rescans it.
            Err(_) => inner.forget_stamp(&self.target.dir),
            Ok(_) => inner.advance_stamp(&self.target.dir, before),
        }
        result
    }

    fn final_path(&self, job: &Job) -> PathBuf {
        self.target
            .dir
            .join(job.subdir.as_str())
            .join(format!("{}{}", job.base, job.suffix))
    }

    fn commit_locked(&mut self) -> Result<Appended, StoreError> {
        let inner = std::sync::Arc::clone(&self.store.inner);
        let fs = inner.fs.as_ref();
        let t = &self.target;
        let paths: Vec<PathBuf> = self.done.iter().map(|(_, j)| self.final_path(j)).collect();
        let total: u64 = self.done.iter().map(|(_, j)| j.size).sum();

        // 1. The mailbox and the quota for all messages together, and the
        //    undo record, in one durable commit before any file moves.
        let txn = inner.db.begin_write()?;
        {
            let mailboxes = txn.open_table(MAILBOXES)?;
            if index::get_mailbox(&mailboxes, &t.key, &t.mailbox)?.is_none() {
                return Err(StoreError::NoSuchMailbox(t.mailbox.clone()));
            }
            let limit = inner.quota();
            let (bytes, count) = account_usage(&mailboxes, &t.key)?;
            if !limit.allows(bytes, count, total, self.done.len() as u64) {
                return Err(StoreError::OverQuota(t.display.clone()));
            }
        }
        let root = inner.layout.mail_root();
        let files = paths
            .iter()
            .map(|p| {
                p.strip_prefix(&root)
                    .unwrap_or(p)
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let intent = vec![Step::RemoveFiles { files }];
        let intent_id = journal::record(&txn, &intent)?;
        txn.commit()?;

        // Undo of steps 2-3: unlink what was placed; the intent goes only
        // once that worked, else the next open or rescan finishes it.
        let rollback = |placed: &[PathBuf]| {
            let mut all_gone = true;
            for p in placed {
                match fs.remove_file(p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        all_gone = false;
                        tracing::error!(path = %p.display(), error = %e,
                            "cannot remove a file of a failed MULTIAPPEND; removed at the next open");
                    }
                }
            }
            if all_gone && let Err(e) = journal::finish(&inner, intent_id) {
                tracing::warn!(error = %e, "cannot delete a rolled-back MULTIAPPEND intent");
            }
        };

        // 2. Every file into place, each directory fsynced once.
        let mut placed: Vec<PathBuf> = Vec::with_capacity(paths.len());
        for ((spool, job), to) in self.done.iter_mut().zip(&paths) {
            if let Err(e) = fs.rename(&job.tmp_path, to) {
                rollback(&placed);
                return Err(e.into());
            }
            spool.mark_placed();
            placed.push(to.clone());
        }
        let dirs: BTreeSet<&Path> = placed.iter().filter_map(|p| p.parent()).collect();
        for d in dirs {
            if let Err(e) = fs.fsync_dir(d) {
                rollback(&placed);
                return Err(e.into());
            }
        }

        // 3. One durable transaction: consecutive UIDs, every row, and the
        //    intent deleted.
        let indexed = (|| -> Result<(Appended, Vec<Notice>), StoreError> {
            let txn = inner.db.begin_write()?;
            let now = index::now_secs();
            let mut notices = Vec::with_capacity(self.done.len());
            let mut uids = Vec::with_capacity(self.done.len());
            let uidvalidity;
            {
                let mut mailboxes = txn.open_table(MAILBOXES)?;
                let mut messages = txn.open_table(MESSAGES)?;
                let mut parts = txn.open_table(PARTS)?;
                let Some(mut record) = index::get_mailbox(&mailboxes, &t.key, &t.mailbox)? else {
                    return Err(StoreError::NoSuchMailbox(t.mailbox.clone()));
                };
                uidvalidity = record.uidvalidity;
                for (_, job) in &self.done {
                    let uid = record.uidnext;
                    record.uidnext = uid.checked_add(1).ok_or_else(|| {
                        StoreError::Corrupt("UID space of a mailbox exhausted".to_owned())
                    })?;
                    record.highestmodseq += 1;
                    record.messages = record.messages.saturating_add(1);
                    record.bytes = record.bytes.saturating_add(job.size);
                    let message = MessageRecord {
                        flags: job.flags,
                        modseq: record.highestmodseq,
                        internal_date: job.internal_date.unwrap_or(now),
                        size: job.size,
                        subdir: job.subdir,
                        base: job.base.clone(),
                        suffix: job.suffix.clone(),
                        keywords: job.keywords.clone(),
                        email_id: crate::codec::email_id_of(job.base.as_bytes()),
                        save_date: now,
                        internal_zone: job.internal_zone,
                    };
                    messages.insert((record.id, uid), message.encode().as_slice())?;
                    if let Some(p) = &job.parts {
                        parts.insert((record.id, uid), p.as_slice())?;
                    }
                    notices.push(Notice {
                        mailbox: t.mailbox.clone(),
                        uidvalidity: record.uidvalidity,
                        change: Change::Appended {
                            uid,
                            modseq: record.highestmodseq,
                        },
                    });
                    uids.push(uid);
                }
                index::put_mailbox(&mut mailboxes, &t.key, &t.mailbox, &record)?;
            }
            journal::forget(&txn, intent_id)?;
            txn.commit()?;
            Ok((Appended { uidvalidity, uids }, notices))
        })();
        match indexed {
            Ok((appended, notices)) => {
                inner.notifier.publish(&t.key, notices);
                Ok(appended)
            }
            Err(e) => {
                rollback(&placed);
                Err(e)
            }
        }
    }
}
