//! IMAP APPEND (RFC 9051 §6.3.12, UIDPLUS RFC 4315): a streamed message
//! into any mailbox, with flags, keywords and an internal date, sharing the
//! group commit (and its durability rule) with SMTP delivery.
//!
//! The file goes to `cur/` as `<base>:2,<flags>` (an appended message has
//! been seen by a client by definition, so it is no `\Recent` candidate;
//! its system flags are in the name for other Maildir tools).

use crate::address::Address;
use crate::codec::Subdir;
use crate::delivery::{Delivery, StoreAs};
use crate::error::StoreError;
use crate::flags::{Flags, normalise_keywords};
use crate::group_commit::Target;
use crate::index::{self, MAILBOXES};
use crate::quota::{QuotaUsage, account_usage};
use crate::store::{Store, parse_target};

/// A message being appended; dropping it without [`Append::commit`] removes
/// its tmp file.
#[derive(Debug)]
pub struct Append {
    pub(crate) delivery: Delivery,
}

impl Store {
    /// Starts an APPEND into `mailbox` with system `flags`, `keywords` and
    /// an INTERNALDATE (`None`: the commit time), in seconds since the epoch.
    ///
    /// # Errors
    /// [`StoreError::NoSuchMailbox`] (IMAP `[TRYCREATE]`),
    /// [`StoreError::OverQuota`] when the account is already at its limit,
    /// invalid names, IO and index errors.
    pub fn begin_append(
        &self,
        address: &str,
        mailbox: &str,
        flags: Flags,
        keywords: &[String],
        internal_date: Option<i64>,
    ) -> Result<Append, StoreError> {
        let target = self.append_target(address, mailbox)?;
        // RFC 3501 §6.3.11: an appended message is \Recent. Recency is
        // "still in new/" here, so the message goes to new/ like a
        // delivery, whatever its flags; the first session told of it
        // claims it (RFC 3501 §2.3.2) and moves it to cur/. Its flags are
        // in the index and, for Maildir readers, in an info suffix
        // (`:2,S`) that the claim keeps; keywords live in the index only.
        let keywords = normalise_keywords(keywords);
        let subdir = Subdir::New;
        let delivery = self.begin_spool_lazy(
            vec![target],
            StoreAs {
                subdir,
                flags,
                keywords,
                internal_date,
                internal_zone: 0,
            },
        )?;
        Ok(Append { delivery })
    }

    /// The mailbox an APPEND (single or MULTIAPPEND) writes to, after the
    /// checks both make first: the account and mailbox exist (else
    /// `[TRYCREATE]`), the account is not already over quota, and no
    /// component of its directory is a link.
    pub(crate) fn append_target(&self, address: &str, mailbox: &str) -> Result<Target, StoreError> {
        let (address, mailbox) = parse_target(address, mailbox)?;
        let key = address.key();
        let display = match self.inner.account(&address)? {
            Some(a) => a.display,
            None => return Err(StoreError::NoSuchAccount(address.display())),
        };
        {
            let txn = self.inner.db.begin_read()?;
            let table = txn.open_table(MAILBOXES)?;
            if index::get_mailbox(&table, &key, &mailbox)?.is_none() {
                return Err(StoreError::NoSuchMailbox(mailbox));
            }
        }
        if self.over_quota(&key, 0)? {
            return Err(StoreError::OverQuota(display));
        }
        let dir = self.inner.layout.mailbox_dir(&address, &mailbox);
        self.inner.refuse_links(&dir)?;
        Ok(Target {
            key,
            display,
            dir,
            mailbox,
            is_delivery: false,
        })
    }

    /// Whether adding one message of `bytes` would exceed `account`'s quota.
    pub(crate) fn over_quota(&self, account: &str, bytes: u64) -> Result<bool, StoreError> {
        let limit = self.inner.quota();
        if limit.max_bytes.is_none() && limit.max_messages.is_none() {
            return Ok(false);
        }
        let txn = self.inner.db.begin_read()?;
        let table = txn.open_table(MAILBOXES)?;
        let (used_bytes, used_messages) = account_usage(&table, account)?;
        Ok(!limit.allows(used_bytes, used_messages, bytes.max(1), 1))
    }

    /// An account's usage and quota limits (IMAP GETQUOTAROOT, RFC 9208).
    ///
    /// # Errors
    /// [`StoreError::NoSuchAccount`], index errors.
    pub fn quota_usage(&self, address: &str) -> Result<QuotaUsage, StoreError> {
        let address = Address::parse(address).map_err(StoreError::InvalidAddress)?;
        if self.inner.account(&address)?.is_none() {
            return Err(StoreError::NoSuchAccount(address.display()));
        }
        let txn = self.inner.db.begin_read()?;
        let table = txn.open_table(MAILBOXES)?;
        let (bytes, messages) = account_usage(&table, &address.key())?;
        Ok(QuotaUsage {
            bytes,
            messages,
            limit: self.inner.quota(),
        })
    }

    /// Sets the per-account quota limits (from the configuration; may be
    /// changed at run time). Default: unlimited.
    pub fn set_quota(&self, quota: crate::quota::Quota) {
        *self.inner.quota.write().unwrap_or_else(|p| p.into_inner()) = quota;
    }
}

impl Append {
    /// Appends message bytes, exactly as the client sent them.
    ///
    /// # Errors
    /// IO errors; after one, the append cannot be committed.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.delivery.write(chunk).map_err(StoreError::from)
    }

    /// Makes the message durable (fsync file, rename into `cur/`, fsync
    /// directory, durable index commit) and returns `(UIDVALIDITY, UID)`
    /// for `[APPENDUID]` (RFC 4315 §3).
    ///
    /// # Errors
    /// [`StoreError::OverQuota`], [`StoreError::NoSuchMailbox`] if the
    /// mailbox was deleted meanwhile, IO and index errors. Nothing was
    /// stored on error.
    pub fn commit(self) -> Result<(u32, u32), StoreError> {
        let delivered = self.delivery.commit().map_err(StoreError::from)?;
        match delivered.first() {
            Some(d) => Ok((d.uidvalidity, d.uid)),
            None => Err(StoreError::Corrupt("append stored nothing".to_owned())),
        }
    }

    /// The timezone of the internal date, minutes east of UTC (the
    /// APPEND's `date-time` zone, RFC 9051 §6.3.12): INTERNALDATE is shown
    /// in it, and SEARCH BEFORE/ON/SINCE compare the date in it
    /// (§6.4.4). Default 0 (UTC); out-of-range values (beyond ±24 h) are
    /// ignored.
    pub fn set_internal_zone(&mut self, minutes: i16) {
        if minutes.unsigned_abs() < 24 * 60 {
            self.delivery.set_internal_zone(minutes);
        }
    }

    /// Stores a message with flags or keywords in `cur/`, so no session
    /// sees it as `\Recent`: for messages an operator puts in place (the
    /// HTTP API's inject and fixtures, like a Maildir file copied into
    /// `cur/`), where the flags say the mail was already handled. An IMAP
    /// APPEND keeps the default (`new/`, RFC 3501 §6.3.11). A message
    /// without flags stays in `new/` either way.
    pub fn flagged_not_recent(&mut self) {
        self.delivery.flagged_not_recent();
    }

    /// Stores the message in `cur/`, not `new/`: for an APPEND by a
    /// session that has the mailbox selected read-write, which takes the
    /// message's `\Recent` itself (RFC 3501 §2.3.2: exactly one session
    /// sees it; §6.3.11 lets the appending session be that one) and shows
    /// it so. No other session claims it then, and the appender's own
    /// claim, a second commit under the maildir lock after every such
    /// APPEND (imaptest's persistent mix: one per APPEND, each waiting
    /// about 1.4 ms for the lock), is not needed. Call before `commit`.
    pub fn recent_to_appender(&mut self) {
        self.delivery.store_in_cur();
    }

    /// Abandons the append and removes the tmp file (same as dropping it).
    pub fn abort(self) {}
}
