//! Intents: directory operations (mailbox rename and delete) that must
//! agree with an index change although a filesystem and redb cannot commit
//! together.
//!
//! The index change and an [`Intent`] describing the directory steps are
//! committed in **one** transaction; then the steps run; then the intent is
//! deleted. Every step is idempotent, so a crash anywhere is repaired at the
//! next open ([`recover`]), before the rescan: the index already says what
//! the disk will look like, and the steps are rolled forward. Without this,
//! a crash between `rename(".A", ".B")` and the index commit would make the
//! rescan see mailbox `A` empty and drop its messages.

use std::io;
use std::path::{Path, PathBuf};

use redb::{ReadableTable, WriteTransaction};

use crate::core::Core;
use crate::error::StoreError;
use crate::fs::Fs;
use crate::index::{INTENTS, META};

/// One idempotent directory step; paths are relative to the mail root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Rename a Maildir (if `from` exists and `to` does not).
    RenameDir { from: String, to: String },
    /// Move every message file of `from`'s `new/` and `cur/` into `to`'s
    /// (RENAME INBOX, RFC 9051 §6.3.6).
    MoveFiles { from: String, to: String },
    /// Remove a Maildir and everything in it (if it exists).
    RemoveDir { dir: String },
    /// Remove these message files (if they exist): the copies a COPY made
    /// before its index commit. Recorded *before* the files are made and
    /// deleted in the commit that indexes them, so a crash in between
    /// rolls the copy back instead of letting the rescan adopt a partial
    /// one (RFC 9051 §6.4.7: COPY is all or nothing).
    RemoveFiles { files: Vec<String> },
}

/// The steps of one operation.
pub(crate) type Intent = Vec<Step>;

/// An intent for the log: `rename .A -> .B; remove .C`.
fn describe(intent: &Intent) -> String {
    let steps: Vec<String> = intent
        .iter()
        .map(|step| match step {
            Step::RenameDir { from, to } => format!("rename {from} -> {to}"),
            Step::MoveFiles { from, to } => format!("move messages {from} -> {to}"),
            Step::RemoveDir { dir } => format!("remove {dir}"),
            Step::RemoveFiles { files } => format!("remove {} copied file(s)", files.len()),
        })
        .collect();
    steps.join("; ")
}

const INTENT_V1: u8 = 1;
const META_NEXT_INTENT: &str = "next_intent_id";

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn encode(intent: &Intent) -> Vec<u8> {
    let mut out = vec![INTENT_V1];
    out.extend_from_slice(
        &u32::try_from(intent.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    for step in intent {
        match step {
            Step::RenameDir { from, to } => {
                out.push(1);
                put_str(&mut out, from);
                put_str(&mut out, to);
            }
            Step::MoveFiles { from, to } => {
                out.push(2);
                put_str(&mut out, from);
                put_str(&mut out, to);
            }
            Step::RemoveDir { dir } => {
                out.push(3);
                put_str(&mut out, dir);
            }
            Step::RemoveFiles { files } => {
                // NUL cannot occur in a file name: one string holds them all.
                out.push(4);
                put_str(&mut out, &files.join("\0"));
            }
        }
    }
    out
}

fn decode(bytes: &[u8]) -> Result<Intent, StoreError> {
    let bad = || StoreError::Corrupt("intent record is malformed".to_owned());
    let mut rest = bytes;
    let mut take = |n: usize| -> Result<&[u8], StoreError> {
        if rest.len() < n {
            return Err(bad());
        }
        let (h, t) = rest.split_at(n);
        rest = t;
        Ok(h)
    };
    if take(1)? != [INTENT_V1] {
        return Err(bad());
    }
    let u32_of = |b: &[u8]| -> Result<u32, StoreError> {
        Ok(u32::from_le_bytes(b.try_into().map_err(|_| bad())?))
    };
    let count = u32_of(take(4)?)?;
    let mut out = Vec::new();
    for _ in 0..count {
        let kind = take(1)?.first().copied().ok_or_else(bad)?;
        let mut s = || -> Result<String, StoreError> {
            let n = usize::try_from(u32_of(take(4)?)?).map_err(|_| bad())?;
            String::from_utf8(take(n)?.to_vec()).map_err(|_| bad())
        };
        out.push(match kind {
            1 => Step::RenameDir {
                from: s()?,
                to: s()?,
            },
            2 => Step::MoveFiles {
                from: s()?,
                to: s()?,
            },
            3 => Step::RemoveDir { dir: s()? },
            4 => {
                let joined = s()?;
                let files = if joined.is_empty() {
                    Vec::new()
                } else {
                    joined.split('\0').map(str::to_owned).collect()
                };
                Step::RemoveFiles { files }
            }
            _ => return Err(bad()),
        });
    }
    Ok(out)
}

/// Records `intent` in `txn` (committed by the caller with its index
/// change); returns its id for [`finish`].
pub(crate) fn record(txn: &WriteTransaction, intent: &Intent) -> Result<u64, StoreError> {
    let mut meta = txn.open_table(META)?;
    let id = meta.get(META_NEXT_INTENT)?.map_or(1, |v| v.value());
    meta.insert(META_NEXT_INTENT, id + 1)?;
    txn.open_table(INTENTS)?
        .insert(id, encode(intent).as_slice())?;
    Ok(id)
}

/// Runs the steps (idempotent). Fsyncs every directory whose entries changed.
pub(crate) fn apply(fs: &dyn Fs, root: &Path, intent: &Intent) -> io::Result<()> {
    let exists = |p: &Path| match fs.stat(p) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    };
    let parent = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    for step in intent {
        match step {
            Step::RenameDir { from, to } => {
                let (from, to) = (root.join(from), root.join(to));
                if exists(&from)? && !exists(&to)? {
                    fs.rename(&from, &to)?;
                }
                fs.fsync_dir(&parent(&to))?;
            }
            Step::MoveFiles { from, to } => {
                let (from, to) = (root.join(from), root.join(to));
                for sub in ["new", "cur"] {
                    let (src, dst) = (from.join(sub), to.join(sub));
                    let names = match fs.read_dir(&src) {
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e),
                    };
                    fs.create_dir_all(&dst)?;
                    for name in names {
                        if name.to_str().is_some_and(|n| n.starts_with('.')) {
                            continue;
                        }
                        fs.rename(&src.join(&name), &dst.join(&name))?;
                    }
                    fs.fsync_dir(&dst)?;
                    fs.fsync_dir(&src)?;
                }
            }
            Step::RemoveFiles { files } => {
                let mut dirs = std::collections::BTreeSet::new();
                for f in files {
                    let path = root.join(f);
                    match fs.remove_file(&path) {
                        Ok(()) => {
                            dirs.insert(parent(&path));
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
                for d in dirs {
                    fs.fsync_dir(&d)?;
                }
            }
            Step::RemoveDir { dir } => {
                let dir = root.join(dir);
                match fs.remove_dir_all(&dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                fs.fsync_dir(&parent(&dir))?;
            }
        }
    }
    Ok(())
}

/// Deletes an intent inside `txn` (the transaction that makes it moot).
pub(crate) fn forget(txn: &WriteTransaction, id: u64) -> Result<(), StoreError> {
    txn.open_table(INTENTS)?.remove(id)?;
    Ok(())
}

/// Deletes a finished intent.
pub(crate) fn finish(core: &Core, id: u64) -> Result<(), StoreError> {
    let txn = core.db.begin_write()?;
    txn.open_table(INTENTS)?.remove(id)?;
    txn.commit()?;
    Ok(())
}

/// Applies [`apply`] then [`finish`]; a failure is logged, and the intent
/// stays for the next open (the index is already right).
pub(crate) fn complete(core: &Core, id: u64, intent: &Intent) {
    let root: PathBuf = core.layout.mail_root();
    match apply(core.fs.as_ref(), &root, intent) {
        Ok(()) => {
            if let Err(e) = finish(core, id) {
                tracing::warn!(error = %e, "cannot delete a finished intent; it is replayed at the next open");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, intent = %describe(intent), "directory operation failed; retried at the next open");
        }
    }
}

/// Rolls every pending intent forward: at open, and before any rescan
/// (the caller holds the maildir lock), so that a rescan never sees a
/// mailbox whose directory has not followed its index entry yet (it would
/// take the missing directory for an emptied mailbox).
pub(crate) fn recover(core: &Core) -> Result<usize, StoreError> {
    let pending: Vec<(u64, Intent)> = {
        let txn = core.db.begin_read()?;
        let table = txn.open_table(INTENTS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (k, v) = entry?;
            out.push((k.value(), decode(v.value())?));
        }
        out
    };
    let root = core.layout.mail_root();
    for (id, intent) in &pending {
        apply(core.fs.as_ref(), &root, intent)?;
        finish(core, *id)?;
    }
    Ok(pending.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let i = vec![
            Step::RenameDir {
                from: "d/a/.X".into(),
                to: "d/a/.Y".into(),
            },
            Step::MoveFiles {
                from: "d/a".into(),
                to: "d/a/.Old".into(),
            },
            Step::RemoveDir {
                dir: "d/a/.Z".into(),
            },
            Step::RemoveFiles {
                files: vec!["d/a/cur/1.x,S=3:2,".into(), "d/a/cur/2.y,S=4:2,S".into()],
            },
        ];
        let bytes = encode(&i);
        assert_eq!(decode(&bytes).unwrap(), i);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err());
        }
    }
}
