//! Rescan: make the index agree with what is on disk, keeping UIDs stable.
//!
//! Runs at open for every account, and for a new account (adopting a
//! directory left behind, e.g. by a crash during `delete_user`). The caller
//! holds the maildir lock, so no delivery is between its rename and its
//! index commit while we look.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;
use std::ops::AddAssign;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use redb::{Table, WriteTransaction};

use crate::address::Address;
use crate::codec::{MailboxRecord, MessageRecord, Subdir};
use crate::core::{Core, refuse_links};
use crate::error::StoreError;
use crate::filename::parse_name;
use crate::flags::Flags;
use crate::fs::Fs;
use crate::index::{self, EXPUNGED, MAILBOXES, MESSAGES, PARTS};
use crate::layout::{INBOX, SUBDIRS};
use crate::notify::{Change, Notice};

/// `tmp/` files older than this are removed (the Maildir spec: 36 hours).
const TMP_MAX_AGE: Duration = Duration::from_secs(36 * 3600);

/// What a rescan changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RescanReport {
    /// Files found on disk without an index entry, now indexed with new UIDs.
    pub added: u64,
    /// Index entries whose file was gone, now dropped.
    pub dropped: u64,
    /// Entries whose file moved (`new/` → `cur/`) or changed flags.
    pub changed: u64,
}

impl AddAssign for RescanReport {
    fn add_assign(&mut self, other: RescanReport) {
        self.added += other.added;
        self.dropped += other.dropped;
        self.changed += other.changed;
    }
}

/// Creates `cur/ new/ tmp/` (and `maildirfolder` for a sub-folder,
/// Maildir++) when missing, after [`refuse_links`].
pub(crate) fn ensure_maildir(
    fs: &dyn Fs,
    root: &Path,
    dir: &Path,
    is_folder: bool,
) -> Result<(), StoreError> {
    refuse_links(fs, root, dir)?;
    for sub in SUBDIRS {
        fs.create_dir_all(&dir.join(sub))?;
    }
    if is_folder {
        let marker = dir.join("maildirfolder");
        match fs.stat(&marker) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs.write_file(&marker, b"")?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Rescans every mailbox of one account inside `txn` (not committed here).
/// Returns the changes to publish once `txn` is committed.
pub(crate) fn rescan_account(
    core: &Core,
    txn: &WriteTransaction,
    address: &Address,
) -> Result<(RescanReport, Vec<Notice>), StoreError> {
    let key = address.key();
    let list = {
        let mailboxes = txn.open_table(MAILBOXES)?;
        index::account_mailboxes(&mailboxes, &key)?
    };
    let mut report = RescanReport::default();
    let mut notices = Vec::new();
    for (name, _) in list {
        let (r, n) = rescan_one(core, txn, address, &name)?;
        report += r;
        notices.extend(n);
    }
    Ok((report, notices))
}

/// Rescans one mailbox inside `txn` and records the directory stamp taken
/// before reading it (see [`crate::Store::refresh`]). The stamp is only
/// valid once `txn` commits; callers that abort must forget it.
pub(crate) fn rescan_one(
    core: &Core,
    txn: &WriteTransaction,
    address: &Address,
    name: &str,
) -> Result<(RescanReport, Vec<Notice>), StoreError> {
    let key = address.key();
    let mut mailboxes = txn.open_table(MAILBOXES)?;
    let Some(mut record) = index::get_mailbox(&mailboxes, &key, name)? else {
        return Ok((RescanReport::default(), Vec::new()));
    };
    let dir = core.layout.mailbox_dir(address, name);
    match ensure_maildir(
        core.fs.as_ref(),
        &core.layout.mail_root(),
        &dir,
        name != INBOX,
    ) {
        Ok(()) => {}
        // Logged by `refuse_links`; the index is left as it is, and every
        // operation on the mailbox is refused until the link is gone.
        Err(StoreError::Symlink(_)) => return Ok((RescanReport::default(), Vec::new())),
        Err(e) => return Err(e),
    }
    clean_tmp(core.fs.as_ref(), &dir.join("tmp"));
    let stamp = core.stamp(&dir);
    let before = record.clone();
    let (report, changes) = rescan_mailbox(core.fs.as_ref(), txn, &dir, &mut record)?;
    if record != before {
        index::put_mailbox(&mut mailboxes, &key, name, &record)?;
    }
    core.set_stamp(&dir, stamp);
    let notices = changes
        .into_iter()
        .map(|change| Notice {
            mailbox: name.to_owned(),
            uidvalidity: record.uidvalidity,
            change,
        })
        .collect();
    Ok((report, notices))
}

/// A message file found on disk.
struct Found {
    subdir: Subdir,
    suffix: String,
    info: String,
    path: PathBuf,
}

fn names(fs: &dyn Fs, dir: &Path) -> io::Result<Vec<OsString>> {
    match fs.read_dir(dir) {
        Ok(names) => Ok(names),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn rescan_mailbox(
    fs: &dyn Fs,
    txn: &WriteTransaction,
    dir: &Path,
    record: &mut MailboxRecord,
) -> Result<(RescanReport, Vec<Change>), StoreError> {
    let mut messages: Table<'_, (u64, u32), &'static [u8]> = txn.open_table(MESSAGES)?;
    let mut parts = txn.open_table(PARTS)?;
    let mut expunged = txn.open_table(EXPUNGED)?;
    let mut changes = Vec::new();
    // Read new/ before cur/: a reader moving a file new/ → cur/ meanwhile is
    // then seen in cur/ at least (and cur/ wins when seen in both).
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    for subdir in [Subdir::New, Subdir::Cur] {
        let sub_path = dir.join(subdir.as_str());
        for os_name in names(fs, &sub_path)? {
            let Some(name) = os_name.to_str() else {
                tracing::warn!(dir = %sub_path.display(), name = %os_name.as_encoded_bytes().escape_ascii(), "skipping non-UTF-8 file name");
                continue;
            };
            let Some(parsed) = parse_name(name) else {
                continue;
            };
            found.insert(
                parsed.base.to_owned(),
                Found {
                    subdir,
                    suffix: parsed.suffix.to_owned(),
                    info: parsed.info.to_owned(),
                    path: sub_path.join(name),
                },
            );
        }
    }

    let mut report = RescanReport::default();
    let mut gone = Vec::new();
    // Recomputed from the records: self-healing for v1 records (no byte
    // count) and for any drift.
    let mut bytes = 0u64;
    let mut count = 0u32;
    for (uid, mut message) in index::mailbox_messages(&messages, record.id)? {
        match found.remove(&message.base) {
            None => {
                messages.remove((record.id, uid))?;
                parts.remove((record.id, uid))?;
                gone.push(uid);
                report.dropped += 1;
                continue;
            }
            Some(f) if f.subdir != message.subdir || f.suffix != message.suffix => {
                let flags = Flags::from_maildir_info(&f.info);
                let flags_changed = flags != message.flags;
                message.subdir = f.subdir;
                message.flags = flags;
                message.suffix = f.suffix;
                if flags_changed {
                    record.highestmodseq += 1;
                    message.modseq = record.highestmodseq;
                    changes.push(Change::Flags {
                        uid,
                        flags,
                        keywords: message.keywords.clone(),
                        modseq: message.modseq,
                    });
                }
                messages.insert((record.id, uid), message.encode().as_slice())?;
                report.changed += 1;
            }
            Some(_) => {}
        }
        bytes = bytes.saturating_add(message.size);
        count = count.saturating_add(1);
    }
    if !gone.is_empty() {
        record.highestmodseq += 1;
        for &uid in &gone {
            expunged.insert((record.id, uid), record.highestmodseq)?;
        }
        changes.push(Change::Expunged {
            uids: gone,
            modseq: record.highestmodseq,
        });
    }
    record.bytes = bytes;
    record.messages = count;

    // New files: oldest first, so UIDs follow arrival order as far as known.
    let mut new_files = Vec::new();
    for (base, f) in found {
        match fs.stat(&f.path) {
            Ok(stat) if !stat.is_dir && !stat.is_symlink => new_files.push((stat, base, f)),
            Ok(_) => {}
            // Moved or deleted by another reader since read_dir: the next
            // rescan sees it where it went.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    new_files.sort_by(|a, b| (a.0.modified, &a.1).cmp(&(b.0.modified, &b.1)));
    for (stat, base, f) in new_files {
        let uid = record.uidnext;
        record.uidnext = uid
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt("UID space of a mailbox exhausted".to_owned()))?;
        record.highestmodseq += 1;
        record.messages = record.messages.saturating_add(1);
        record.bytes = record.bytes.saturating_add(stat.size);
        let internal_date = index::secs_of(stat.modified);
        let message = MessageRecord {
            flags: Flags::from_maildir_info(&f.info),
            modseq: record.highestmodseq,
            internal_date,
            size: stat.size,
            subdir: f.subdir,
            email_id: crate::codec::email_id_of(base.as_bytes()),
            base,
            suffix: f.suffix,
            keywords: Vec::new(),
            // A file written behind our back was stored when it was
            // written: its mtime, as for the internal date.
            save_date: internal_date,
            internal_zone: 0,
        };
        messages.insert((record.id, uid), message.encode().as_slice())?;
        changes.push(Change::Appended {
            uid,
            modseq: record.highestmodseq,
        });
        report.added += 1;
    }
    Ok((report, changes))
}

/// Removes stale `tmp/` files (best effort: failures are only logged).
fn clean_tmp(fs: &dyn Fs, tmp: &Path) {
    let Ok(list) = names(fs, tmp) else { return };
    let now = SystemTime::now();
    for name in list {
        let path = tmp.join(name);
        let stale = fs.stat(&path).is_ok_and(|s| {
            !s.is_dir
                && now
                    .duration_since(s.modified)
                    .is_ok_and(|age| age > TMP_MAX_AGE)
        });
        if stale && let Err(e) = fs.remove_file(&path) {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove stale tmp file");
        }
    }
}
