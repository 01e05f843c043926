//! [`Core`]: the state every committer needs (the layout, the filesystem,
//! the index, the maildir lock, the notifier, quota and the directory
//! stamps), one level below `store.rs` and the committers.
//!
//! It exists to break a circle: the group committers (`group_commit.rs`,
//! `index_commit/`), the flag flusher (`flag_sync.rs`), the rescan, the
//! intents journal and the queue's recovery all work on this state, and
//! `store.rs` owns them next to it in its `Inner`. With the shared state
//! here, the committers import this module and never `store.rs`, and
//! `store.rs` imports them without being imported back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::SystemTime;

use crate::address::Address;
use crate::codec::AccountRecord;
use crate::db::IndexDb;
use crate::dirsync::DirSync;
use crate::error::StoreError;
use crate::filename::UniqueNames;
use crate::fs::Fs;
use crate::index::ACCOUNTS;
use crate::layout::{Layout, SUBDIRS};
use crate::notify::Notifier;
use crate::quota::Quota;
use crate::recycle::Recycler;

/// The argon2 parameters used to hash new passwords. Verification always
/// uses the parameters recorded in the stored hash, so a store may hold
/// hashes of both kinds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordHashing {
    /// argon2id with the argon2 crate's defaults (m=19 MiB, t=2, p=1,
    /// OWASP's recommendation): tens of milliseconds per hash on purpose.
    #[default]
    Standard,
    /// argon2id with m=8 KiB, t=1, p=1: well under a millisecond even in an
    /// unoptimised debug build. Only for throw-away test accounts
    /// (`sansmail::TestServer`): it offers no protection against offline
    /// guessing.
    Fast,
}

/// The state shared by the store, its deliveries and every committer
/// (everything of the store but the committers' own queues).
#[derive(Debug)]
pub(crate) struct Core {
    /// Where accounts, Maildirs, the index and the queue live.
    pub(crate) layout: Layout,
    /// The filesystem every file operation goes through.
    pub(crate) fs: Arc<dyn Fs>,
    /// The helper thread that fsyncs directories while a batch commits.
    pub(crate) dirsync: DirSync,
    /// The redb index.
    pub(crate) db: IndexDb,
    /// Unique Maildir file names.
    pub(crate) names: UniqueNames,
    /// Held while files are moved into or out of Maildirs *and* the index is
    /// changed to match (group commit, rescan, account creation/deletion), so
    /// a rescan never sees a delivered-but-uncommitted file as foreign and
    /// an account cannot vanish in the middle of a batch. Lock order: this
    /// lock, then a redb write transaction.
    pub(crate) maildir_lock: Mutex<()>,
    /// Subscribers to each account's changes.
    pub(crate) notifier: Notifier,
    /// Quota limits (per account).
    pub(crate) quota: RwLock<Quota>,
    /// The cost of new password hashes.
    pub(crate) password_hashing: PasswordHashing,
    /// The `new/` and `cur/` mtimes of each Maildir as of the last time the
    /// index was known to match it (see [`crate::Store::refresh`]).
    pub(crate) stamps: Mutex<HashMap<PathBuf, DirStamp>>,
    /// Per Maildir, the mtime of its `new/` when a full `\Recent` claim
    /// last found it empty: a SELECT whose `new/` still has that mtime
    /// skips listing it. An ext4 directory never shrinks, so a `new/`
    /// that once held 100,000 files costs megabytes of `getdents` per
    /// listing even when empty (issue "IMAP performance": SELECT of
    /// 100,000 messages).
    pub(crate) empty_new: Mutex<HashMap<PathBuf, SystemTime>>,
    /// [`IndexDb::reopens`] when `stamps` was last known valid: a reopen
    /// after an I/O error recovers the last *durable* commit, so batched
    /// flag changes and `\Recent` claims since may be gone from the index
    /// while their renames are on disk; every Maildir is then rescanned at
    /// its next refresh.
    pub(crate) stamps_reopens: AtomicU64,
    /// Settled queue files kept as the next spool files (`recycle.rs`).
    pub(crate) recycler: Recycler,
}

/// The modification times of a Maildir's `new/` and `cur/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DirStamp {
    new: Option<SystemTime>,
    cur: Option<SystemTime>,
}

impl Core {
    /// The state of a store just opened: `db` open on `layout`'s index,
    /// no stamps, no quota.
    pub(crate) fn new(
        layout: Layout,
        fs: Arc<dyn Fs>,
        db: IndexDb,
        hostname: &str,
        password_hashing: PasswordHashing,
    ) -> Core {
        let recycler = Recycler::open(fs.as_ref(), layout.recycle_dir());
        Core {
            recycler,
            layout,
            dirsync: DirSync::new(Arc::clone(&fs)),
            fs,
            db,
            names: UniqueNames::new(hostname),
            maildir_lock: Mutex::new(()),
            notifier: Notifier::default(),
            quota: RwLock::new(Quota::default()),
            password_hashing,
            stamps: Mutex::new(HashMap::new()),
            empty_new: Mutex::new(HashMap::new()),
            stamps_reopens: AtomicU64::new(0),
        }
    }

    /// Takes the maildir lock (see [`Core::maildir_lock`]).
    pub(crate) fn lock_maildirs(&self) -> MutexGuard<'_, ()> {
        // The guarded data is `()`: a panic elsewhere cannot leave it inconsistent.
        self.maildir_lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current stamp of a Maildir (two stats).
    pub(crate) fn stamp(&self, dir: &Path) -> DirStamp {
        let mut stats = self.fs.stat_in(dir, &["new", "cur"]).into_iter();
        let mut m = || stats.next().and_then(|s| s.ok()).map(|s| s.modified);
        DirStamp { new: m(), cur: m() }
    }

    fn stamps(&self) -> MutexGuard<'_, HashMap<PathBuf, DirStamp>> {
        self.stamps.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The stamp recorded when the index last matched `dir`.
    pub(crate) fn known_stamp(&self, dir: &Path) -> Option<DirStamp> {
        let reopens = self.db.reopens();
        let mut map = self.stamps();
        if self.stamps_reopens.swap(reopens, Ordering::AcqRel) != reopens {
            map.clear();
        }
        map.get(dir).copied()
    }

    /// Records that the index matches `dir` as of `stamp`.
    pub(crate) fn set_stamp(&self, dir: &Path, stamp: DirStamp) {
        self.stamps().insert(dir.to_path_buf(), stamp);
    }

    /// Forgets a Maildir's stamp (renamed or deleted mailbox).
    pub(crate) fn forget_stamp(&self, dir: &Path) {
        self.stamps().remove(dir);
    }

    /// After one of our own changes to `dir` (under the maildir lock): if
    /// the index matched the directory right before it (`before` is the
    /// recorded stamp), it matches now too, so record the new stamp and
    /// spare the next [`crate::Store::refresh`] a full rescan. An outside
    /// change in the same clock tick as ours can be missed until the next
    /// change of the directory (the same limit as Dovecot's mtime check).
    pub(crate) fn advance_stamp(&self, dir: &Path, before: DirStamp) {
        let mut map = self.stamps();
        if map.get(dir) == Some(&before) {
            let now = self.stamp(dir);
            map.insert(dir.to_path_buf(), now);
        }
    }

    /// [`refuse_links`] for a Maildir of this store.
    pub(crate) fn refuse_links(&self, dir: &Path) -> Result<(), StoreError> {
        refuse_links(self.fs.as_ref(), &self.layout.mail_root(), dir)
    }

    /// The quota limits in force.
    pub(crate) fn quota(&self) -> Quota {
        *self.quota.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The account record of `address`, `None` when there is no such
    /// account.
    pub(crate) fn account(&self, address: &Address) -> Result<Option<AccountRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ACCOUNTS)?;
        match table.get(address.key().as_str())? {
            Some(v) => Ok(Some(AccountRecord::decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// The error for a mailbox that is not in the index.
    pub(crate) fn missing(
        &self,
        address: &Address,
        mailbox: &str,
    ) -> Result<StoreError, StoreError> {
        Ok(if self.account(address)?.is_some() {
            StoreError::NoSuchMailbox(mailbox.to_owned())
        } else {
            StoreError::NoSuchAccount(address.display())
        })
    }
}

/// Refuses a Maildir reached through a symbolic link: any component from
/// the mail root down to `dir`, or its `cur/ new/ tmp/`, that is a link
/// (a `.Folder` linked outside the account, a `new/` linked to another
/// directory) is logged and reported as [`StoreError::Symlink`], so
/// nothing is created, listed, moved or deleted through it. Missing
/// components are fine (the caller creates or reports them).
///
/// The check is `lstat` per component, which reports the problem early
/// and clearly; a link swapped in between the check and the use is not
/// followed either, because [`crate::BeneathFs`] opens every component
/// below the data directory with `O_NOFOLLOW` when it uses the path.
pub(crate) fn refuse_links(fs: &dyn Fs, root: &Path, dir: &Path) -> Result<(), StoreError> {
    match fs.find_link(root, dir, &SUBDIRS)? {
        Some(p) => {
            tracing::warn!(path = %p.display(), "refusing a symbolic link in the mail store");
            Err(StoreError::Symlink(p.display().to_string()))
        }
        None => Ok(()),
    }
}
