//! Reading: the SELECT listing, single messages, their files and MIME
//! offsets, resync data (CONDSTORE/QRESYNC), the change channel and the
//! cheap rescan check.

use std::fs::File;
use std::io;

use crate::address::Address;
use crate::codec::{self, MessageRecord, MessageSummary};
use crate::error::StoreError;
use crate::index::{self, EXPUNGED, MAILBOXES, MESSAGES, PARTS};
use crate::mime::{self, MimePart};
use crate::notify::{StoreSubscription, Subscription};
use crate::rescan::{RescanReport, rescan_one};
use crate::store::{MailboxStatus, MessageInfo, Store, message_info, parse_target};
use crate::uidset::UidSet;

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
    fn read_mailbox(
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
            match self.inner.fs.open_read(&info.path) {
                Ok(f) => {
                    let actual = f.metadata()?.len();
                    if actual != info.size {
                        tracing::warn!(path = %info.path.display(), uid, expected = info.size, actual,
                            "message file does not have its indexed size");
                        return Err(StoreError::SizeMismatch {
                            uid,
                            expected: info.size,
                            actual,
                        });
                    }
                    return Ok(f);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => last = Some(e),
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    tracing::warn!(path = %info.path.display(), "refusing a symbolic link in the mail store");
                    return Err(StoreError::Symlink(info.path.display().to_string()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Io(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no message with UID {uid}"),
            )
        })))
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
