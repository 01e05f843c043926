//! The pieces shared by the message changes of `messages.rs` (COPY,
//! MOVE, `\Recent` claims) and the STORE/EXPUNGE committer of
//! `index_commit/`: the resolved mailbox ([`Target`]) and its record,
//! STORE's operation and outcome types, and the file helpers (rename
//! undo, unlink, directory fsync). They live below both files so that the
//! committer does not import `messages.rs`, which submits to it.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use redb::{ReadableTable, WriteTransaction};

use crate::address::Address;
use crate::codec::{MailboxRecord, MessageRecord};
use crate::core::Core;
use crate::error::StoreError;
use crate::flags::Flags;
use crate::fs::Fs;
use crate::index::{self, MAILBOXES};
use crate::uidset::UidSet;

/// How STORE changes flags (RFC 9051 §6.4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagOp {
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
    /// `FLAGS`
    Replace,
}

/// The outcome for one message of a STORE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagUpdate {
    /// The message's UID.
    pub uid: u32,
    /// Its system flags now.
    pub flags: Flags,
    /// Its keywords now, sorted.
    pub keywords: Vec<String>,
    /// Its MODSEQ now.
    pub modseq: u64,
    /// Whether this STORE changed it (its MODSEQ is new).
    pub changed: bool,
}

/// What a STORE did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreOutcome {
    /// Every message of the set that passed the UNCHANGEDSINCE test, in
    /// UID order.
    pub updated: Vec<FlagUpdate>,
    /// UIDs whose MODSEQ was above UNCHANGEDSINCE and were left alone
    /// (RFC 7162 §3.1.3 `[MODIFIED]`).
    pub modified: Vec<u32>,
}

/// The records of `set` in mailbox `id`, in UID order.
pub(crate) fn select(
    messages: &impl ReadableTable<(u64, u32), &'static [u8]>,
    id: u64,
    set: &UidSet,
) -> Result<Vec<(u32, MessageRecord)>, StoreError> {
    let mut out = Vec::new();
    for r in set.ranges() {
        for entry in messages.range((id, *r.start())..=(id, *r.end()))? {
            let (k, v) = entry?;
            out.push((k.value().1, MessageRecord::decode(v.value())?));
        }
    }
    Ok(out)
}

/// The `:2,` suffix for `flags`, keeping letters we do not interpret
/// (Dovecot's lower-case keyword letters) after ours.
pub(crate) fn suffix_for(old_suffix: &str, flags: Flags) -> String {
    let mut letters = flags.to_maildir_info();
    let old = old_suffix.strip_prefix(":2,").unwrap_or("");
    let mut other: Vec<char> = old
        .chars()
        .filter(|c| !matches!(c, 'D' | 'F' | 'P' | 'R' | 'S' | 'T'))
        .collect();
    other.sort_unstable();
    other.dedup();
    letters.extend(other);
    format!(":2,{letters}")
}

/// The file of message `m` in Maildir `dir`.
pub(crate) fn path_of(dir: &Path, m: &MessageRecord) -> PathBuf {
    dir.join(m.subdir.as_str()).join(m.file_name())
}

/// Undoes renames (best effort; what cannot be undone is repaired by the
/// next rescan, which trusts the files).
pub(crate) fn undo(fs: &dyn Fs, renames: &[(PathBuf, PathBuf)]) {
    for (from, to) in renames.iter().rev() {
        if let Err(e) = fs.rename(to, from) {
            tracing::error!(from = %to.display(), to = %from.display(), error = %e,
                "cannot undo a rename; the next rescan adopts the file as it is");
        }
    }
}

/// Removes `paths` (best effort); whether every one is gone.
pub(crate) fn unlink_all(fs: &dyn Fs, paths: &[PathBuf]) -> bool {
    let mut all = true;
    for p in paths {
        if let Err(e) = fs.remove_file(p) {
            tracing::error!(path = %p.display(), error = %e, "cannot remove a file");
            all = false;
        }
    }
    all
}

/// Fsyncs every directory either side of `paths` (renames) is in, once each.
pub(crate) fn fsync_dirs(fs: &dyn Fs, paths: &[(PathBuf, PathBuf)]) -> io::Result<()> {
    let dirs: BTreeSet<&Path> = paths
        .iter()
        .flat_map(|(a, b)| [a.parent(), b.parent()])
        .flatten()
        .collect();
    for d in dirs {
        fs.fsync_dir(d)?;
    }
    Ok(())
}

/// A mailbox of an account, resolved.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) address: Address,
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
}

/// The record of `t`'s mailbox inside `txn`; [`Core::missing`]'s error
/// when it is not in the index.
pub(crate) fn load(
    core: &Core,
    txn: &WriteTransaction,
    t: &Target,
) -> Result<MailboxRecord, StoreError> {
    let mailboxes = txn.open_table(MAILBOXES)?;
    match index::get_mailbox(&mailboxes, &t.key, &t.name)? {
        Some(r) => Ok(r),
        None => Err(core.missing(&t.address, &t.name)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_keeps_foreign_letters() {
        assert_eq!(suffix_for("", Flags::SEEN), ":2,S");
        assert_eq!(suffix_for(":2,Sab", Flags::FLAGGED), ":2,Fab");
        assert_eq!(suffix_for(":2,ST", Flags::empty()), ":2,");
    }
}
