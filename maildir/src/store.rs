//! [`Store`]: opening the data directory and read-only queries. Account
//! administration is in `account.rs`, delivery in `delivery.rs`.
//!
//! A store handle points at an [`Inner`]: the [`Core`] every committer
//! shares (`core.rs`) plus the committers' own state. The committers
//! import `core.rs`, never this file; the files with `impl Store` blocks
//! import this file, and nothing below them imports them.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::ReadableTable;

use crate::address::Address;
use crate::codec::AccountRecord;
use crate::content_cache::ContentCache;
use crate::core::{Core, PasswordHashing};
use crate::db::IndexDb;
use crate::error::StoreError;
use crate::flag_sync::FlagSync;
use crate::flags::Flags;
use crate::fs::Fs;
use crate::group_commit::GroupCommit;
use crate::index::{self, ACCOUNTS, MAILBOXES, MESSAGES, SUBSCRIPTIONS};
use crate::index_commit::IndexCommit;
use crate::layout::{INBOX, Layout, SpecialUse, canonical_mailbox_name};
use crate::queue::QueueState;
use crate::rescan::{self, RescanReport};

/// Where and as whom the store writes.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// The data directory: `mail/` and `index.redb` live under it.
    pub data_dir: PathBuf,
    /// This host's name, used in Maildir file names.
    pub hostname: String,
    /// The argon2 cost of new password hashes.
    pub password_hashing: PasswordHashing,
}

/// The mail store: accounts, mailboxes and messages on Maildir files with a
/// redb index.
///
/// Cheap to clone (an `Arc` inside) and `Send + Sync`. Every method blocks
/// (file and index IO, argon2): call them from a blocking thread pool, never
/// from an async executor thread.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

/// The store behind every [`Store`] handle: the shared [`Core`] and the
/// committers' own state. It dereferences to its [`Core`], so code above
/// this module writes `inner.db`, `inner.lock_maildirs()` as before; the
/// committers below get the [`Core`] alone.
#[derive(Debug)]
pub(crate) struct Inner {
    /// The state every committer needs. Only this struct holds it
    /// strongly: the flag flusher's handle is weak, so dropping the last
    /// [`Store`] ends the flusher (`flag_sync.rs`).
    pub(crate) core: Arc<Core>,
    /// Batches deliveries and APPENDs into shared durable commits.
    pub(crate) group: GroupCommit,
    /// Batches STOREs and EXPUNGEs into shared durable commits.
    pub(crate) index_commit: IndexCommit,
    /// The outbound queue's claims and id counter.
    pub(crate) queue: QueueState,
    /// Recently read small messages (`content_cache.rs`).
    pub(crate) content: ContentCache,
}

impl Deref for Inner {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

/// The last handle of the store is gone (a clean shutdown): flag changes
/// still pending in the batched window are made durable now
/// (`flag_sync.rs`).
impl Drop for Inner {
    fn drop(&mut self) {
        self.index_commit.lazy.close(&self.core);
    }
}

/// The state of one mailbox (IMAP STATUS / SELECT data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MailboxStatus {
    /// The store-wide mailbox id: never reused, kept by RENAME (with
    /// UIDVALIDITY it makes the IMAP MAILBOXID, RFC 8474).
    pub id: u64,
    /// RFC 9051 §2.3.1.1 UIDVALIDITY.
    pub uidvalidity: u32,
    /// The UID the next message will get.
    pub uidnext: u32,
    /// RFC 7162 HIGHESTMODSEQ.
    pub highestmodseq: u64,
    /// Number of messages.
    pub messages: u32,
}

/// One message of a mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageInfo {
    /// The message's UID.
    pub uid: u32,
    /// The file holding the exact message bytes.
    pub path: PathBuf,
    /// The file's size in bytes.
    pub size: u64,
    /// System flags.
    pub flags: Flags,
    /// RFC 7162 MODSEQ.
    pub modseq: u64,
    /// INTERNALDATE, seconds since the Unix epoch.
    pub internal_date: i64,
    /// IMAP keywords, sorted.
    pub keywords: Vec<String>,
    /// Whether the file is still in `new/` (a `\Recent` candidate).
    pub recent: bool,
    /// The message's identity across COPY and MOVE (IMAP EMAILID).
    pub email_id: u64,
    /// When it was stored in this mailbox, Unix seconds (IMAP SAVEDATE).
    pub save_date: i64,
    /// The internal date's timezone, minutes east of UTC.
    pub internal_zone: i16,
}

/// One mailbox of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxInfo {
    /// The mailbox name as on the wire (`/` separator, `INBOX` upper-case).
    pub name: String,
    /// RFC 6154 special use, if any.
    pub special_use: Option<SpecialUse>,
    /// Whether it is subscribed.
    pub subscribed: bool,
    /// Whether other mailboxes exist below it (`\HasChildren`,
    /// RFC 9051 §7.3.1).
    pub has_children: bool,
}

impl Store {
    /// Opens (creating if needed) the store under `config.data_dir` on the
    /// real filesystem, then rescans every Maildir (see [`Store::rescan`]).
    ///
    /// # Errors
    /// [`StoreError::Locked`] when another process holds the index open;
    /// IO, index and corruption errors otherwise.
    pub fn open(config: StoreConfig) -> Result<Store, StoreError> {
        // Every path below the data directory is resolved without
        // following a symbolic link (docs/DESIGN.md §3).
        let fs = Arc::new(crate::beneath::BeneathFs::new(config.data_dir.clone()));
        Store::open_with_fs(config, fs)
    }

    /// Like [`Store::open`] with a chosen filesystem (tests inject faults).
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_with_fs(config: StoreConfig, fs: Arc<dyn Fs>) -> Result<Store, StoreError> {
        let layout = Layout::new(config.data_dir.clone());
        fs.create_dir_all(&layout.mail_root())?;
        // Mail is private whatever umask wrote it (docs/DESIGN.md §3): repair
        // the modes of a data_dir created by an older version or by hand.
        let fixed = fs.secure_tree(&config.data_dir)?;
        if fixed > 0 {
            tracing::info!(fixed, data_dir = %config.data_dir.display(), "made the data directory private (dirs 0700, files 0600)");
        }
        let db = IndexDb::open(Arc::clone(&fs), &layout.index_path())?;
        let core = Core::new(layout, fs, db, &config.hostname, config.password_hashing);
        let store = Store {
            inner: Arc::new(Inner {
                core: Arc::new(core),
                group: GroupCommit::default(),
                index_commit: IndexCommit::default(),
                queue: QueueState::default(),
                content: ContentCache::new(crate::content_cache::DEFAULT_CAPACITY),
            }),
        };
        crate::queue::recover(&store.inner.core, &store.inner.queue)?;
        let replayed = crate::journal::recover(&store.inner)?;
        if replayed > 0 {
            tracing::info!(replayed, "finished interrupted mailbox renames/deletes");
        }
        let report = store.rescan()?;
        if report != RescanReport::default() {
            tracing::info!(
                added = report.added,
                dropped = report.dropped,
                changed = report.changed,
                "rescan at open changed the index"
            );
        }
        Ok(store)
    }

    /// Brings the index in line with the Maildirs of every account: files
    /// without an index entry (a crash after the rename but before the index
    /// commit, or a file written by mutt or a script) get the next UIDs in
    /// (mtime, name) order; entries whose file is gone are dropped; files
    /// moved between `new/` and `cur/` or renamed with other flags are
    /// updated. UIDs are never reused. Also removes `tmp/` files older than
    /// 36 hours (the Maildir spec's rule).
    ///
    /// # Errors
    /// IO and index errors.
    pub fn rescan(&self) -> Result<RescanReport, StoreError> {
        let _guard = self.inner.lock_maildirs();
        crate::journal::recover(&self.inner)?;
        let keys: Vec<String> = {
            let txn = self.inner.db.begin_read()?;
            let table = txn.open_table(ACCOUNTS)?;
            let mut keys = Vec::new();
            for entry in table.iter()? {
                keys.push(entry?.0.value().to_owned());
            }
            keys
        };
        let mut report = RescanReport::default();
        for key in keys {
            let address = Address::parse(&key).map_err(|why| {
                StoreError::Corrupt(format!("account key {key:?} is not an address: {why}"))
            })?;
            let txn = self.inner.db.begin_write()?;
            let (r, notices) = rescan::rescan_account(&self.inner, &txn, &address)?;
            txn.commit()?;
            self.inner.notifier.publish(&key, notices);
            report += r;
        }
        Ok(report)
    }

    /// How many times the index was closed and reopened after redb latched
    /// an I/O error (a full disk during a commit), since [`Store::open`].
    #[must_use]
    pub fn index_reopens(&self) -> u64 {
        self.inner.db.reopens()
    }

    /// All account addresses (display form), sorted by normalised address.
    ///
    /// # Errors
    /// Index errors.
    pub fn list_users(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.inner.db.begin_read()?;
        let table = txn.open_table(ACCOUNTS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (_, v) = entry?;
            out.push(AccountRecord::decode(v.value())?.display);
        }
        Ok(out)
    }

    /// Whether an account exists (matched case-insensitively).
    ///
    /// # Errors
    /// [`StoreError::InvalidAddress`] for an unsafe address; index errors.
    pub fn user_exists(&self, address: &str) -> Result<bool, StoreError> {
        let address = Address::parse(address).map_err(StoreError::InvalidAddress)?;
        Ok(self.inner.account(&address)?.is_some())
    }

    /// UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and the message count of a mailbox
    /// (`"INBOX"` in any case, `"Sent"`, …).
    ///
    /// # Errors
    /// [`StoreError::NoSuchAccount`], [`StoreError::NoSuchMailbox`],
    /// invalid names, index errors.
    pub fn mailbox_status(
        &self,
        address: &str,
        mailbox: &str,
    ) -> Result<MailboxStatus, StoreError> {
        let (address, mailbox) = parse_target(address, mailbox)?;
        let txn = self.inner.db.begin_read()?;
        let table = txn.open_table(MAILBOXES)?;
        let record = index::get_mailbox(&table, &address.key(), &mailbox)?;
        let record = match record {
            Some(r) => r,
            None => return Err(self.inner.missing(&address, &mailbox)?),
        };
        Ok(MailboxStatus {
            id: record.id,
            uidvalidity: record.uidvalidity,
            uidnext: record.uidnext,
            highestmodseq: record.highestmodseq,
            messages: record.messages,
        })
    }

    /// The messages of a mailbox in UID order, with their file paths.
    ///
    /// # Errors
    /// As [`Store::mailbox_status`].
    pub fn list_messages(
        &self,
        address: &str,
        mailbox: &str,
    ) -> Result<Vec<MessageInfo>, StoreError> {
        let (address, mailbox) = parse_target(address, mailbox)?;
        let txn = self.inner.db.begin_read()?;
        let mailboxes = txn.open_table(MAILBOXES)?;
        let record = match index::get_mailbox(&mailboxes, &address.key(), &mailbox)? {
            Some(r) => r,
            None => return Err(self.inner.missing(&address, &mailbox)?),
        };
        let dir = self.inner.layout.mailbox_dir(&address, &mailbox);
        let messages = txn.open_table(MESSAGES)?;
        Ok(index::mailbox_messages(&messages, record.id)?
            .into_iter()
            .map(|(uid, m)| message_info(&dir, uid, m))
            .collect())
    }

    /// The mailboxes of an account: INBOX first, then the others by name.
    ///
    /// # Errors
    /// [`StoreError::NoSuchAccount`], index errors.
    pub fn mailboxes(&self, address: &str) -> Result<Vec<MailboxInfo>, StoreError> {
        let address = Address::parse(address).map_err(StoreError::InvalidAddress)?;
        let txn = self.inner.db.begin_read()?;
        let table = txn.open_table(MAILBOXES)?;
        let key = address.key();
        let mut list = index::account_mailboxes(&table, &key)?;
        if list.is_empty() {
            return Err(StoreError::NoSuchAccount(address.display()));
        }
        let subscriptions = txn.open_table(SUBSCRIPTIONS)?;
        list.sort_by(|(a, _), (b, _)| (a != INBOX, a).cmp(&(b != INBOX, b)));
        let names: Vec<String> = list.iter().map(|(n, _)| n.clone()).collect();
        let mut out = Vec::with_capacity(list.len());
        for (name, r) in list {
            let prefix = format!("{name}/");
            out.push(MailboxInfo {
                has_children: names.iter().any(|n| n.starts_with(&prefix)),
                subscribed: subscriptions.get((key.as_str(), name.as_str()))?.is_some(),
                name,
                special_use: r.special_use,
            });
        }
        Ok(out)
    }

    /// Chooses when STORE's flag changes become durable (see
    /// [`FlagSync`]); a store starts [`FlagSync::Durable`]. Switching to
    /// [`FlagSync::Durable`] flushes what is pending.
    pub fn set_flag_sync(&self, mode: FlagSync) {
        self.inner.index_commit.lazy.set_mode(mode);
        if mode == FlagSync::Durable
            && let Err(e) = self.sync_flags()
        {
            tracing::error!(error = %e, "flushing flag changes failed");
        }
    }

    /// Makes every flag change answered so far durable now (directory
    /// fsyncs and a durable index commit); a server calls it at shutdown.
    /// Dropping the last handle of the store does the same.
    ///
    /// # Errors
    /// IO and index errors (the changes stay pending and are retried).
    pub fn sync_flags(&self) -> Result<(), StoreError> {
        self.inner.index_commit.lazy.flush(&self.inner)
    }
}

/// A [`MessageInfo`] from an index record in Maildir `dir`.
pub(crate) fn message_info(dir: &Path, uid: u32, m: crate::codec::MessageRecord) -> MessageInfo {
    MessageInfo {
        uid,
        path: dir.join(m.subdir.as_str()).join(m.file_name()),
        size: m.size,
        flags: m.flags,
        modseq: m.modseq,
        internal_date: m.internal_date,
        recent: m.subdir == crate::codec::Subdir::New,
        keywords: m.keywords,
        email_id: m.email_id,
        save_date: m.save_date,
        internal_zone: m.internal_zone,
    }
}

pub(crate) fn parse_target(address: &str, mailbox: &str) -> Result<(Address, String), StoreError> {
    let address = Address::parse(address).map_err(StoreError::InvalidAddress)?;
    let mailbox = canonical_mailbox_name(mailbox).map_err(StoreError::InvalidMailbox)?;
    Ok((address, mailbox))
}
