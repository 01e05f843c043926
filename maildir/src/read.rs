//! Reading: the SELECT listing, single messages, their files and MIME
//! offsets, resync data (CONDSTORE/QRESYNC), the change channel and the
//! cheap rescan check.

use std::fs::File;
use std::io;

use crate::address::Address;
use crate::codec::{self, MessageRecord, MessageSummary};
use crate::content_cache::CachedContent;
use crate::error::StoreError;
use crate::index::{self, EXPUNGED, MAILBOXES, MESSAGES, PARTS};
use crate::mime::{self, MimePart};
use crate::notify::{StoreSubscription, Subscription};
use crate::rescan::{RescanReport, rescan_one};
use crate::store::{MailboxStatus, MessageInfo, Store, message_info, parse_target};
use crate::uidset::UidSet;

/// A message opened with its index data ([`Store::open_indexed`]).
#[derive(Debug)]
pub struct IndexedMessage {
    /// The mailbox's store-wide id ([`MailboxStatus::id`]).
    pub mailbox_id: u64,
    /// The MIME part offsets, when the index has them.
    pub parts: Option<MimePart>,
    /// The file, opened for reading; its size was checked.
    pub file: File,
    /// The message's size in octets.
    pub size: u64,
}

/// The error for a message whose file is not there.
fn gone(uid: u32, last: Option<io::Error>) -> StoreError {
    StoreError::Io(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("no message with UID {uid}"),
        )
    }))
}

/// What changed since a MODSEQ (CONDSTORE `CHANGEDSINCE`, QRESYNC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changes {
    /// The mailbox now.
    pub status: MailboxStatus,
    /// Messages whose MODSEQ is greater, in UID order.
    pub changed: Vec<MessageSummary>,
    /// UIDs expunged with a MODSEQ greater, ascending (`VANISHED (EARLIER)`).
    pub expunged: Vec<u32>,
}

/// The size from which [`Store::message_summaries_with`] scans a mailbox
/// on two threads: below it a thread costs more than it saves.
pub const PARALLEL_SCAN_MIN: usize = 20_000;

fn status_of(r: &codec::MailboxRecord) -> MailboxStatus {
    MailboxStatus {
        id: r.id,
        uidvalidity: r.uidvalidity,
        uidnext: r.uidnext,
        highestmodseq: r.highestmodseq,
        messages: r.messages,
    }
}

impl Store {
    pub(crate) fn read_mailbox(
        &self,
        txn: &redb::ReadTransaction,
        address: &Address,
        mailbox: &str,
    ) -> Result<codec::MailboxRecord, StoreError> {
        let table = txn.open_table(MAILBOXES)?;
        match index::get_mailbox(&table, &address.key(), mailbox)? {
            Some(r) => Ok(r),
            None => Err(self.inner.missing(address, mailbox)?),
        }
    }

    /// The mailbox's status and every message's summary in UID order, from
    /// one consistent snapshot and one range scan (the SELECT path).
    ///
    /// # Errors
    /// Unknown account or mailbox, index errors.
    pub fn message_summaries(
        &self,
        address: &str,
        mailbox: &str,
    ) -> Result<(MailboxStatus, Vec<MessageSummary>), StoreError> {
        let (address, mailbox) = parse_target(address, mailbox)?;
        let txn = self.inner.db.begin_read()?;
        let record = self.read_mailbox(&txn, &address, &mailbox)?;
        let messages = txn.open_table(MESSAGES)?;
        let mut out = Vec::with_capacity(usize::try_from(record.messages).unwrap_or(0));
        for entry in messages.range((record.id, 0u32)..=(record.id, u32::MAX))? {
            let (k, v) = entry?;
            out.push(codec::decode_summary(k.value().1, v.value())?);
        }
        Ok((status_of(&record), out))
    }

    /// As [`Self::message_summaries`], each summary mapped through `f` as
    /// it is decoded (and left out where `f` gives `None`), and a large
    /// mailbox (at least [`PARALLEL_SCAN_MIN`] messages) scanned in two
    /// halves at once: the UID range is split at its middle, a second
    /// thread scans and maps the upper half from the same read transaction
    /// (one snapshot), and the halves are joined in UID order. A SELECT of
    /// 100,000 messages spends about as long mapping summaries to the
    /// session's type as reading them (issue "IMAP performance",
    /// benches/README.md), so doing both on two cores about halves its
    /// latency. UIDs are dense in practice (they only grow; expunges leave
    /// gaps): a lopsided split only costs the speed-up, never correctness.
    ///
    /// # Errors
    /// As [`Self::message_summaries`]; an error in either half.
    pub fn message_summaries_with<T: Send>(
        &self,
        address: &str,
        mailbox: &str,
        f: impl Fn(MessageSummary) -> Option<T> + Sync,
    ) -> Result<(MailboxStatus, Vec<T>), StoreError> {
        self.summaries_split(address, mailbox, f, PARALLEL_SCAN_MIN)
    }

    /// [`Self::message_summaries_with`] with the size from which it splits.
    fn summaries_split<T: Send>(
        &self,
        address: &str,
        mailbox: &str,
        f: impl Fn(MessageSummary) -> Option<T> + Sync,
        parallel_min: usize,
    ) -> Result<(MailboxStatus, Vec<T>), StoreError> {
        let (address, mailbox) = parse_target(address, mailbox)?;
        let txn = self.inner.db.begin_read()?;
        let record = self.read_mailbox(&txn, &address, &mailbox)?;
        let messages = txn.open_table(MESSAGES)?;
        let scan = |lo: u32, hi: u32, out: &mut Vec<T>| -> Result<(), StoreError> {
            for entry in messages.range((record.id, lo)..=(record.id, hi))? {
                let (k, v) = entry?;
                out.extend(f(codec::decode_summary(k.value().1, v.value())?));
            }
            Ok(())
        };
        let count = usize::try_from(record.messages).unwrap_or(0);
        // The lower half is scanned into the result itself, sized for the
        // whole mailbox, so joining copies only the upper half.
        let mut out = Vec::with_capacity(count);
        if count < parallel_min {
            scan(0, u32::MAX, &mut out)?;
            return Ok((status_of(&record), out));
        }
        let first = match messages
            .range((record.id, 0u32)..=(record.id, u32::MAX))?
            .next()
        {
            Some(entry) => entry?.0.value().1,
            None => return Ok((status_of(&record), out)),
        };
        let mid = first + (record.uidnext.max(first) - first) / 2;
        let upper_half = |out: &mut Vec<T>| scan(mid.saturating_add(1), u32::MAX, out);
        let high = std::thread::scope(|s| {
            let upper = std::thread::Builder::new()
                .name("summaries".into())
                .spawn_scoped(s, || {
                    let mut high = Vec::with_capacity(count / 2 + 1);
                    upper_half(&mut high).map(|()| high)
                });
            scan(0, mid, &mut out)?;
            match upper {
                Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                // No thread to be had: scan the upper half here.
                Err(_) => upper_half(&mut out).map(|()| Vec::new()),
            }
        })?;
        out.extend(high);
        Ok((status_of(&record), out))
    }

    /// The messages of `uids` with their file paths, in UID order.
    ///
    /// # Errors
    /// Unknown account or mailbox, index errors.
    pub fn messages(
        &self,
        address: &str,
        mailbox: &str,
        uids: &UidSet,
    ) -> Result<Vec<MessageInfo>, StoreError> {
        let (address, mailbox) = parse_target(address, mailbox)?;
        let txn = self.inner.db.begin_read()?;
        let record = self.read_mailbox(&txn, &address, &mailbox)?;
        let dir = self.inner.layout.mailbox_dir(&address, &mailbox);
        // Every FETCH reads through here, once per message: where the
        // filesystem refuses links when the path is used (BeneathFs: the
        // open fails with ELOOP, reported as `Symlink` by `open_message`),
        // the early check is skipped.
        if !self.inner.fs.refuses_links_at_use() {
            self.inner.refuse_links(&dir)?;
        }
        let messages = txn.open_table(MESSAGES)?;
        let mut out = Vec::new();
        for r in uids.ranges() {
            for entry in messages.range((record.id, *r.start())..=(record.id, *r.end()))? {
                let (k, v) = entry?;
                out.push(message_info(
                    &dir,
                    k.value().1,
                    MessageRecord::decode(v.value())?,
                ));
            }
        }
        Ok(out)
    }

    /// One message, if it exists.
    ///
    /// # Errors
    /// Unknown account or mailbox, index errors.
    pub fn message(
        &self,
        address: &str,
        mailbox: &str,
        uid: u32,
    ) -> Result<Option<MessageInfo>, StoreError> {
        Ok(self
            .messages(address, mailbox, &UidSet::from([uid]))?
            .into_iter()
            .next())
    }

    /// Opens a message's file for reading. The file name changes when
    /// another session changes the flags; this retries with the index's
    /// current name, so it only fails for a message that is gone. The file
    /// is opened without following a symlink, and its size is checked
    /// against the index: a file truncated or replaced behind the store's
    /// back would make IMAP announce a literal it cannot send.
    ///
    /// # Errors
    /// `StoreError::Io` with `NotFound` when the message was expunged;
    /// [`StoreError::SizeMismatch`] when the file's size is not the
    /// indexed one; [`StoreError::Symlink`] when the file or its Maildir
    /// is a symbolic link; unknown account or mailbox, index errors.
    pub fn open_message(&self, address: &str, mailbox: &str, uid: u32) -> Result<File, StoreError> {
        let mut last = None;
        for _ in 0..4 {
            let Some(info) = self.message(address, mailbox, uid)? else {
                break;
            };
            match self.open_checked(&info)? {
                Ok(f) => return Ok(f),
                Err(e) => last = Some(e),
            }
        }
        Err(gone(uid, last))
    }

    /// Opens the file of `info` without following a symlink and checks its
    /// size against the index. `Ok(Err(NotFound))` when the file is not
    /// there (renamed by a flag change meanwhile: the caller looks the name
    /// up again).
    fn open_checked(&self, info: &MessageInfo) -> Result<Result<File, io::Error>, StoreError> {
        match self.inner.fs.open_read(&info.path) {
            Ok(f) => {
                let actual = f.metadata()?.len();
                if actual != info.size {
                    tracing::warn!(path = %info.path.display(), uid = info.uid, expected = info.size, actual,
                        "message file does not have its indexed size");
                    return Err(StoreError::SizeMismatch {
                        uid: info.uid,
                        expected: info.size,
                        actual,
                    });
                }
                Ok(Ok(f))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Err(e)),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                tracing::warn!(path = %info.path.display(), "refusing a symbolic link in the mail store");
                Err(StoreError::Symlink(info.path.display().to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A message opened for reading with what the index holds for it, from
    /// one read transaction: the mailbox's id (for the content cache), the
    /// MIME part offsets (`None` for a file adopted by a rescan and never
    /// parsed), the file (checked as [`Store::open_message`] checks it) and
    /// its size. `None` when the message does not exist. This is
    /// [`Store::indexed_mime_parts`] and [`Store::open_message`] in one
    /// lookup, for FETCH's per-message path.
    ///
    /// # Errors
    /// As [`Store::open_message`], except that a message that is gone is
    /// `Ok(None)`.
    pub fn open_indexed(
        &self,
        address: &str,
        mailbox: &str,
        uid: u32,
    ) -> Result<Option<IndexedMessage>, StoreError> {
        let (address, mailbox) = parse_target(address, mailbox)?;
        let dir = self.inner.layout.mailbox_dir(&address, &mailbox);
        if !self.inner.fs.refuses_links_at_use() {
            self.inner.refuse_links(&dir)?;
        }
        for _ in 0..4 {
            let (mailbox_id, info, parts) = {
                let txn = self.inner.db.begin_read()?;
                let record = self.read_mailbox(&txn, &address, &mailbox)?;
                let messages = txn.open_table(MESSAGES)?;
                let Some(v) = messages.get((record.id, uid))? else {
                    return Ok(None);
                };
                let info = message_info(&dir, uid, MessageRecord::decode(v.value())?);
                let parts = match txn.open_table(PARTS)?.get((record.id, uid))? {
                    Some(v) => Some(mime::decode(v.value())?),
                    None => None,
                };
                (record.id, info, parts)
            };
            if let Ok(file) = self.open_checked(&info)? {
                return Ok(Some(IndexedMessage {
                    mailbox_id,
                    parts,
                    file,
                    size: info.size,
                }));
            }
        }
        Ok(None)
    }

    /// A message from the content cache (`content_cache.rs`): the bytes and
    /// offsets of a small message read recently by any session, by the
    /// mailbox's store-wide id ([`MailboxStatus::id`]) and UID. Never
    /// touches the index or the disk.
    #[must_use]
    pub fn cached_content(&self, mailbox_id: u64, uid: u32) -> Option<CachedContent> {
        self.inner.content.get(mailbox_id, uid)
    }

    /// Keeps a message read whole (bytes as indexed, with its offsets) in
    /// the content cache for the next reader. Messages over
    /// [`CONTENT_CACHE_ENTRY_MAX`](crate::CONTENT_CACHE_ENTRY_MAX) bytes are
    /// not kept.
    pub fn cache_content(&self, mailbox_id: u64, uid: u32, content: CachedContent) {
        self.inner.content.insert(mailbox_id, uid, content);
    }

    /// The MIME part offsets of a message (computed at delivery or append;
    /// for files adopted by a rescan, parsed now). `None` when the message
    /// does not exist or cannot be parsed.
    ///
    /// # Errors
    /// Unknown account or mailbox, index errors.
    pub fn mime_parts(
        &self,
        address: &str,
        mailbox: &str,
        uid: u32,
    ) -> Result<Option<MimePart>, StoreError> {
        if let Some(parts) = self.indexed_mime_parts(address, mailbox, uid)? {
            return Ok(Some(parts));
        }
        let mut file = match self.open_message(address, mailbox, uid) {
            Ok(f) => f,
            Err(StoreError::Io(e)) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(mime::parse_reader(&mut file)?))
    }

    /// The MIME part offsets the index holds for a message, without
    /// reading its file: `None` when the message is gone or its offsets
    /// were never computed (a file adopted by a rescan; [`Store::mime_parts`]
    /// parses it). For callers that must not wait for the disk.
    ///
    /// # Errors
    /// Unknown account or mailbox, index errors, undecodable offsets.
    pub fn indexed_mime_parts(
        &self,
        address: &str,
        mailbox: &str,
        uid: u32,
    ) -> Result<Option<MimePart>, StoreError> {
        let (a, m) = parse_target(address, mailbox)?;
        let txn = self.inner.db.begin_read()?;
        let record = self.read_mailbox(&txn, &a, &m)?;
        let parts = txn.open_table(PARTS)?;
        match parts.get((record.id, uid))? {
            Some(v) => mime::decode(v.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Messages changed and UIDs expunged after `modseq` (RFC 7162 §3.1.4
    /// CHANGEDSINCE, §3.2.5 VANISHED (EARLIER)).
    ///
    /// # Errors
    /// Unknown account or mailbox, index errors.
    pub fn changes_since(
        &self,
        address: &str,
        mailbox: &str,
        modseq: u64,
    ) -> Result<Changes, StoreError> {
        let (address, mailbox) = parse_target(address, mailbox)?;
        let txn = self.inner.db.begin_read()?;
        let record = self.read_mailbox(&txn, &address, &mailbox)?;
        let messages = txn.open_table(MESSAGES)?;
        let mut changed = Vec::new();
        for entry in messages.range((record.id, 0u32)..=(record.id, u32::MAX))? {
            let (k, v) = entry?;
            let s = codec::decode_summary(k.value().1, v.value())?;
            if s.modseq > modseq {
                changed.push(s);
            }
        }
        let tombstones = txn.open_table(EXPUNGED)?;
        let mut expunged = Vec::new();
        for entry in tombstones.range((record.id, 0u32)..=(record.id, u32::MAX))? {
            let (k, v) = entry?;
            if v.value() > modseq {
                expunged.push(k.value().1);
            }
        }
        Ok(Changes {
            status: status_of(&record),
            changed,
            expunged,
        })
    }

    /// Subscribes to every change of an account (all its mailboxes): new
    /// messages, flag changes, expunges, mailbox creation, deletion and
    /// renaming, published in commit order. See [`Subscription`].
    ///
    /// # Errors
    /// [`StoreError::InvalidAddress`].
    pub fn subscribe(&self, address: &str) -> Result<Subscription, StoreError> {
        let address = Address::parse(address).map_err(StoreError::InvalidAddress)?;
        Ok(self.inner.notifier.subscribe(&address.key()))
    }

    /// Subscribes to every change of every account (the HTTP API's
    /// long-poll and event stream). See [`StoreSubscription`].
    #[must_use]
    pub fn subscribe_all(&self) -> StoreSubscription {
        self.inner.notifier.subscribe_all()
    }

    /// The mailbox's message count and its `limit` newest messages (highest
    /// UIDs first), from one reverse range scan that stops after `limit`
    /// rows: a list of the newest mail costs the same in a mailbox of
    /// 100,000 messages as in one of ten.
    ///
    /// # Errors
    /// Unknown account or mailbox, index errors.
    pub fn newest_messages(
        &self,
        address: &str,
        mailbox: &str,
        limit: usize,
    ) -> Result<(MailboxStatus, Vec<MessageInfo>), StoreError> {
        let (address, mailbox) = parse_target(address, mailbox)?;
        let txn = self.inner.db.begin_read()?;
        let record = self.read_mailbox(&txn, &address, &mailbox)?;
        let dir = self.inner.layout.mailbox_dir(&address, &mailbox);
        let messages = txn.open_table(MESSAGES)?;
        let mut out = Vec::with_capacity(limit.min(1024));
        for entry in messages
            .range((record.id, 0u32)..=(record.id, u32::MAX))?
            .rev()
            .take(limit)
        {
            let (k, v) = entry?;
            out.push(message_info(
                &dir,
                k.value().1,
                MessageRecord::decode(v.value())?,
            ));
        }
        Ok((status_of(&record), out))
    }

    /// Picks up changes made to a mailbox's Maildir by another program
    /// (IMAP SELECT / NOOP / IDLE time). Cheap when nothing changed: two
    /// `stat`s of `new/` and `cur/` compared with the mtimes recorded when
    /// the index last matched the directory. Otherwise a rescan of that
    /// mailbox: new files get new UIDs, removed files become expunges,
    /// renamed files update flags; the changes are published.
    ///
    /// # Errors
    /// Unknown account or mailbox, IO and index errors.
    pub fn refresh(&self, address: &str, mailbox: &str) -> Result<RescanReport, StoreError> {
        let (address, mailbox) = parse_target(address, mailbox)?;
        let dir = self.inner.layout.mailbox_dir(&address, &mailbox);
        // Unchanged since the index last matched: nothing to do. A link
        // swapped in since changes the stamp (`new/` and `cur/` are
        // `lstat`ed; a link above them makes the stat fail), so the check
        // below still sees it.
        if self.inner.known_stamp(&dir) == Some(self.inner.stamp(&dir)) {
            return Ok(RescanReport::default());
        }
        self.inner.refuse_links(&dir)?;
        let _guard = self.inner.lock_maildirs();
        crate::journal::recover(&self.inner)?;
        {
            let txn = self.inner.db.begin_read()?;
            self.read_mailbox(&txn, &address, &mailbox)?;
        }
        let txn = self.inner.db.begin_write()?;
        let (report, notices) = rescan_one(&self.inner, &txn, &address, &mailbox)?;
        if let Err(e) = txn.commit() {
            self.inner.forget_stamp(&dir);
            return Err(e.into());
        }
        self.inner.notifier.publish(&address.key(), notices);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Store, StoreConfig, UidSet};

    const A: &str = "alice@localhost";

    /// The two-thread scan gives what the one-thread scan gives, in UID
    /// order, with gaps on either side of the split, and `None` leaves a
    /// message out.
    #[test]
    fn the_split_scan_is_the_plain_scan() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig {
            data_dir: dir.path().to_path_buf(),
            hostname: "mx.test".into(),
            password_hashing: crate::PasswordHashing::Fast,
        })
        .unwrap();
        store.add_user(A, "pw").unwrap();
        for i in 0..40 {
            let mut a = store
                .begin_append(A, "INBOX", crate::Flags::empty(), &[], None)
                .unwrap();
            a.write(format!("Subject: {i}\r\n\r\nbody {i}\r\n").as_bytes())
                .unwrap();
            a.commit().unwrap();
        }
        // Gaps: the first UIDs, around the middle, the last.
        let gone = UidSet::from([1u32, 2, 19, 20, 21, 40].as_slice());
        store
            .store_flags(
                A,
                "INBOX",
                &gone,
                &crate::FlagChange::flags(crate::FlagOp::Add, crate::Flags::DELETED),
            )
            .unwrap();
        store.expunge(A, "INBOX", Some(&gone)).unwrap();
        let (status, plain) = store.message_summaries(A, "INBOX").unwrap();
        assert_eq!(plain.len(), 34);
        for min in [0, 1, 34, 35] {
            let (s, split) = store.summaries_split(A, "INBOX", Some, min).unwrap();
            assert_eq!((s, &split), (status, &plain), "parallel_min {min}");
            let (_, odd) = store
                .summaries_split(A, "INBOX", |m| (m.uid % 2 == 1).then_some(m.uid), min)
                .unwrap();
            let want: Vec<u32> = plain.iter().map(|m| m.uid).filter(|u| u % 2 == 1).collect();
            assert_eq!(odd, want, "parallel_min {min}");
        }
        store.create_mailbox(A, "Empty", None).unwrap();
        let (_, none) = store.summaries_split(A, "Empty", Some, 0).unwrap();
        assert!(none.is_empty());
    }
}
