//! Streamed delivery into the INBOX of one or more local accounts.
//!
//! ```text
//! begin_delivery   validate recipients; create tmp/<unique> in the first
//!                  recipient's Maildir; buffer Return-Path + trace
//! write*           stream the message bytes (buffered, 64 KiB writes);
//!                  every buffer written also goes through the MIME
//!                  scanner, so the part offsets are known at the end
//!                  without reading the file back (memory per delivery:
//!                  the write buffer plus one line)
//! commit           MIME offsets from the scanner, flush + fsync the file (caller's
//!                  thread), then join the group commit: link/rename into
//!                  every new/, fsync each new/ once per batch while UIDs
//!                  are assigned in one durable index transaction; only
//!                  when both succeeded return success
//! abort / Drop     remove the tmp file
//! ```

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::address::Address;
use crate::codec::Subdir;
use crate::error::DeliveryError;
use crate::filename;
use crate::flags::Flags;
use crate::fs::FsFile;
use crate::group_commit::{Delivered, Job, Target};
use crate::layout::INBOX;
use crate::store::{Inner, Store};

/// Bytes buffered before a write to the file: large writes, bounded memory.
const WRITE_BUFFER: usize = 64 * 1024;

/// The SMTP envelope of a delivery (RFC 5321 §2.3.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path without angle brackets; `None` for the null path `<>`.
    pub return_path: Option<String>,
    /// Local recipient addresses. Duplicates (case-insensitive) are delivered once.
    pub recipients: Vec<String>,
    /// Extra header lines written after `Return-Path:`, CRLF-terminated
    /// (the server's `Received:` line, RFC 5321 §4.4).
    pub trace: Vec<u8>,
}

/// How the file is stored (delivery defaults: `new/`, no flags).
#[derive(Clone, Debug)]
pub(crate) struct StoreAs {
    pub(crate) subdir: Subdir,
    pub(crate) flags: Flags,
    pub(crate) keywords: Vec<String>,
    pub(crate) internal_date: Option<i64>,
    /// The internal date's zone, minutes east of UTC (IMAP shows the
    /// INTERNALDATE in it).
    pub(crate) internal_zone: i16,
}

impl Default for StoreAs {
    fn default() -> StoreAs {
        StoreAs {
            subdir: Subdir::New,
            flags: Flags::empty(),
            keywords: Vec::new(),
            internal_date: None,
            internal_zone: 0,
        }
    }
}

/// A message being delivered. Owns its `tmp/` file until [`Delivery::commit`]
/// succeeds; dropping it without a successful commit removes the file.
#[derive(Debug)]
pub struct Delivery {
    inner: Arc<Inner>,
    targets: Vec<Target>,
    store_as: StoreAs,
    /// The first target's `tmp/`.
    tmp_dir: PathBuf,
    /// Empty until the tmp file exists.
    tmp_name: String,
    tmp_path: PathBuf,
    /// `None` before the tmp file exists (a lazy spool) and after it was
    /// finished; `created` tells which.
    file: Option<FileHandle>,
    /// Whether the tmp file was created (and must be removed on drop).
    created: bool,
    buffer: Vec<u8>,
    /// Bytes written to the file so far.
    written: u64,
    /// The MIME structure of the bytes written so far.
    scanner: crate::mime::Scanner,
    /// An earlier write failed: the file content is unknown.
    poisoned: bool,
    /// The tmp file has been moved away (committed): nothing to clean up.
    committed: bool,
}

/// `Box<dyn FsFile>` with a `Debug` impl.
struct FileHandle(Box<dyn FsFile>);

impl std::fmt::Debug for FileHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FsFile")
    }
}

/// A reverse-path goes inside `Return-Path: <...>`: it must not be able to
/// end the header or add another (header injection).
fn check_return_path(path: &str) -> Result<(), DeliveryError> {
    if path.len() > 256 {
        return Err(DeliveryError::InvalidAddress(
            "reverse-path longer than 256 bytes".to_owned(),
        ));
    }
    if let Some(c) = path
        .chars()
        .find(|&c| c.is_control() || c == '<' || c == '>')
    {
        return Err(DeliveryError::InvalidAddress(format!(
            "reverse-path contains {c:?}"
        )));
    }
    Ok(())
}

impl Store {
    /// Starts a delivery to the INBOX of every recipient.
    ///
    /// # Errors
    /// [`DeliveryError::UnknownRecipient`] when a recipient has no account,
    /// [`DeliveryError::InvalidAddress`], [`DeliveryError::NoRecipients`];
    /// temporary IO and index errors.
    pub fn begin_delivery(&self, envelope: Envelope) -> Result<Delivery, DeliveryError> {
        self.begin_delivery_into(envelope, INBOX)
    }

    /// Starts a delivery into `mailbox` (e.g. `Junk` for mail a DMARC
    /// `p=quarantine` failed) of every recipient; a recipient without that
    /// mailbox (deleted by its owner) gets it in INBOX instead, so the
    /// message is never refused for it.
    ///
    /// # Errors
    /// As [`Store::begin_delivery`].
    pub fn begin_delivery_into(
        &self,
        envelope: Envelope,
        mailbox: &str,
    ) -> Result<Delivery, DeliveryError> {
        if envelope.recipients.is_empty() {
            return Err(DeliveryError::NoRecipients);
        }
        if let Some(path) = &envelope.return_path {
            check_return_path(path)?;
        }
        let mut targets: Vec<Target> = Vec::with_capacity(envelope.recipients.len());
        for rcpt in &envelope.recipients {
            let address = Address::parse(rcpt).map_err(DeliveryError::InvalidAddress)?;
            let key = address.key();
            if targets.iter().any(|t| t.key == key) {
                continue;
            }
            let Some(account) = self.inner.account(&address)? else {
                return Err(DeliveryError::UnknownRecipient(rcpt.clone()));
            };
            if self.over_quota(&key, 0)? {
                return Err(DeliveryError::OverQuota(account.display));
            }
            let into = if mailbox == INBOX || !self.mailbox_exists(&key, mailbox)? {
                INBOX
            } else {
                mailbox
            };
            let dir = if into == INBOX {
                self.inner.layout.account_dir(&address)
            } else {
                self.inner.layout.mailbox_dir(&address, into)
            };
            self.inner.refuse_links(&dir)?;
            targets.push(Target {
                key,
                display: account.display,
                mailbox: into.to_owned(),
                dir,
                is_delivery: true,
            });
        }
        let mut delivery = self.begin_spool(targets, StoreAs::default())?;
        // RFC 5321 §4.4: the final delivery adds Return-Path with the
        // reverse-path of MAIL FROM, `<>` for the null path.
        delivery.buffer.extend_from_slice(b"Return-Path: <");
        delivery
            .buffer
            .extend_from_slice(envelope.return_path.as_deref().unwrap_or("").as_bytes());
        delivery.buffer.extend_from_slice(b">\r\n");
        delivery.buffer.extend_from_slice(&envelope.trace);
        Ok(delivery)
    }

    fn mailbox_exists(&self, key: &str, mailbox: &str) -> Result<bool, DeliveryError> {
        let exists = (|| {
            let txn = self.inner.db.begin_read()?;
            let table = txn.open_table(crate::index::MAILBOXES)?;
            Ok::<_, crate::error::StoreError>(
                crate::index::get_mailbox(&table, key, mailbox)?.is_some(),
            )
        })();
        exists.map_err(DeliveryError::Storage)
    }

    /// A tmp file in the first target's Maildir, ready for `write`.
    pub(crate) fn begin_spool(
        &self,
        targets: Vec<Target>,
        store_as: StoreAs,
    ) -> Result<Delivery, DeliveryError> {
        let mut delivery = self.begin_spool_lazy(targets, store_as)?;
        delivery.file()?;
        Ok(delivery)
    }

    /// Like [`Store::begin_spool`], but the tmp file is only created when
    /// the first bytes are flushed (at [`WRITE_BUFFER`] or the commit): a
    /// small IMAP APPEND then creates, writes, fsyncs and commits its file
    /// in one trip to the blocking pool, and its start touches only the
    /// index. Creating a file is not free: on ext4 without a journal the
    /// inode search skips recently deleted inodes one by one.
    pub(crate) fn begin_spool_lazy(
        &self,
        targets: Vec<Target>,
        store_as: StoreAs,
    ) -> Result<Delivery, DeliveryError> {
        let Some(first) = targets.first() else {
            return Err(DeliveryError::NoRecipients);
        };
        let tmp_dir = first.dir.join("tmp");
        Ok(Delivery {
            inner: Arc::clone(&self.inner),
            targets,
            store_as,
            tmp_dir,
            tmp_name: String::new(),
            tmp_path: PathBuf::new(),
            file: None,
            created: false,
            // Grown as bytes arrive (to WRITE_BUFFER at most): most messages
            // are a few KiB, and a 64 KiB block per delivery made glibc
            // consolidate its free lists under IMAP's APPEND load.
            buffer: Vec::new(),
            written: 0,
            scanner: crate::mime::Scanner::new(),
            poisoned: false,
            committed: false,
        })
    }

    fn create_tmp(
        &self,
        tmp_dir: &std::path::Path,
    ) -> Result<(String, PathBuf, Box<dyn FsFile>), DeliveryError> {
        // The name embeds time, pid and a counter, so a clash means another
        // process with our pid on a shared directory: retry with a new name.
        // An emptied inode from the pool first (`recycle.rs`).
        let name = self.inner.names.next();
        let path = tmp_dir.join(&name);
        if let Some(opened) = self.inner.recycler.reuse(self.inner.fs.as_ref(), &path) {
            return opened
                .map(|file| (name, path, file))
                .map_err(DeliveryError::from);
        }
        let mut last = None;
        for _ in 0..3 {
            let name = self.inner.names.next();
            let path = tmp_dir.join(&name);
            match self.inner.fs.create_new(&path) {
                Ok(file) => return Ok((name, path, file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(DeliveryError::from(e)),
            }
        }
        Err(DeliveryError::Io(last.unwrap_or_else(|| {
            io::Error::other("cannot create a tmp file")
        })))
    }
}

impl Delivery {
    /// See [`crate::Append::flagged_not_recent`].
    pub(crate) fn flagged_not_recent(&mut self) {
        if self.store_as.flags != Flags::empty() || !self.store_as.keywords.is_empty() {
            self.store_as.subdir = Subdir::Cur;
        }
    }

    /// See [`crate::Append::recent_to_appender`].
    pub(crate) fn store_in_cur(&mut self) {
        self.store_as.subdir = Subdir::Cur;
    }

    /// See [`crate::Append::set_internal_zone`].
    pub(crate) fn set_internal_zone(&mut self, minutes: i16) {
        self.store_as.internal_zone = minutes;
    }

    /// Appends message bytes, exactly as received.
    ///
    /// # Errors
    /// A temporary [`DeliveryError::Io`]; after one, every later call fails
    /// too and [`Delivery::commit`] does not deliver.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), DeliveryError> {
        if self.poisoned {
            return Err(poisoned());
        }
        self.buffer.extend_from_slice(chunk);
        if self.buffer.len() >= WRITE_BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    /// The tmp file, created now if this is a lazy spool's first use.
    fn file(&mut self) -> Result<&mut FileHandle, DeliveryError> {
        if !self.created {
            let store = self.store();
            let (name, path, file) = match store.create_tmp(&self.tmp_dir) {
                Ok(created) => created,
                Err(e) => {
                    self.poisoned = true;
                    return Err(e);
                }
            };
            self.tmp_name = name;
            self.tmp_path = path;
            self.file = Some(FileHandle(file));
            self.created = true;
        }
        self.file.as_mut().ok_or_else(poisoned)
    }

    fn flush(&mut self) -> Result<(), DeliveryError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.file()?;
        let Some(file) = self.file.as_mut() else {
            return Err(poisoned());
        };
        self.scanner.feed(&self.buffer);
        if let Err(e) = file.0.write_all(&self.buffer) {
            self.poisoned = true;
            return Err(DeliveryError::from(e));
        }
        self.written += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// Makes the message durable in every recipient's INBOX and returns the
    /// UIDs. On success the file is fsynced, linked into each `new/`, each
    /// `new/` fsynced, and the index committed durably. On error nothing was
    /// delivered (for no recipient), and the error is temporary unless a
    /// recipient vanished.
    ///
    /// # Errors
    /// Temporary [`DeliveryError::Io`] / [`DeliveryError::Storage`];
    /// [`DeliveryError::UnknownRecipient`] if an account was deleted since
    /// `begin_delivery`.
    pub fn commit(mut self) -> Result<Vec<Delivered>, DeliveryError> {
        let job = self.spool_job()?;
        let inner = Arc::clone(&self.inner);
        let result = inner.group.submit(&inner.core, job);
        if result.is_ok() {
            self.committed = true;
        }
        result
    }

    /// Finishes the tmp file (MIME offsets from the scanner, flush, fsync)
    /// and describes where it goes. The file stays owned by `self` (removed
    /// on drop) until [`Delivery::mark_placed`].
    pub(crate) fn spool_job(&mut self) -> Result<Job, DeliveryError> {
        if self.poisoned {
            return Err(poisoned());
        }
        self.flush()?;
        // The write buffer is not needed any more: a MULTIAPPEND keeps
        // many finished spools until its commit.
        self.buffer = Vec::new();
        // MIME offsets for BODYSTRUCTURE / BODY[section]: the scanner saw
        // every byte on its way to the file, so nothing is read back. A
        // structure deeper or larger than the scanner's limits is stored
        // truncated (as leaves), never refused and never a crash.
        let scan = std::mem::take(&mut self.scanner).finish();
        if scan.truncated {
            tracing::info!(
                depth = scan.depth,
                parts = scan.root.count(),
                "MIME structure beyond the nesting or part limit stored truncated"
            );
        }
        let parts = Some(crate::mime::encode(&scan.root));
        // An empty message still needs its (empty) file.
        self.file()?;
        let Some(mut file) = self.file.take() else {
            return Err(poisoned());
        };
        // The file's own fsync happens on the caller's thread, in parallel
        // with other deliveries, before joining the group.
        if let Err(e) = file.0.sync_all() {
            self.poisoned = true;
            return Err(DeliveryError::Io(e));
        }
        drop(file);
        // A new/ file carries an info suffix only when it has flags (an
        // APPEND or COPY with flags, waiting to be claimed \Recent).
        let suffix = match self.store_as.subdir {
            Subdir::New if self.store_as.flags == crate::flags::Flags::empty() => String::new(),
            _ => format!(":2,{}", self.store_as.flags.to_maildir_info()),
        };
        Ok(Job {
            tmp_path: self.tmp_path.clone(),
            base: filename::with_size(&self.tmp_name, self.written),
            size: self.written,
            targets: self.targets.clone(),
            subdir: self.store_as.subdir,
            suffix,
            flags: self.store_as.flags,
            keywords: self.store_as.keywords.clone(),
            internal_date: self.store_as.internal_date,
            internal_zone: self.store_as.internal_zone,
            parts,
        })
    }

    /// The store this delivery belongs to.
    pub(crate) fn store(&self) -> Store {
        Store {
            inner: Arc::clone(&self.inner),
        }
    }

    /// The first target (an APPEND has exactly one).
    pub(crate) fn first_target(&self) -> Option<&Target> {
        self.targets.first()
    }

    /// The tmp file was moved into place: nothing to remove on drop.
    pub(crate) fn mark_placed(&mut self) {
        self.committed = true;
    }

    /// Octets of the message so far (written and buffered).
    pub(crate) fn len(&self) -> u64 {
        self.written + self.buffer.len() as u64
    }

    /// Abandons the delivery and removes the tmp file (same as dropping it).
    pub fn abort(self) {}
}

fn poisoned() -> DeliveryError {
    DeliveryError::Io(io::Error::other("an earlier write of this message failed"))
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if self.committed || !self.created {
            return;
        }
        self.file = None;
        match self.inner.fs.remove_file(&self.tmp_path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                // Harmless: rescan removes tmp files after 36 hours.
                tracing::warn!(path = %self.tmp_path.display(), error = %e, "cannot remove tmp file");
            }
        }
    }
}

#[cfg(test)]
mod tests {

    use super::WRITE_BUFFER;
    use crate::index::{self, MAILBOXES, PARTS};
    use crate::{Envelope, Store, StoreConfig};

    /// A message nested 40,000 levels deep (issue 9: mail-parser
    /// overflowed the stack here) is delivered with its structure cut at
    /// the nesting limit, on a thread with a small stack like the
    /// blocking pool's.
    #[test]
    fn deep_nesting_is_stored_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig {
            data_dir: dir.path().to_path_buf(),
            hostname: "h".into(),
            password_hashing: Default::default(),
        })
        .unwrap();
        store.add_user("a@h", "pw").unwrap();
        let mut body = Vec::new();
        for _ in 0..40_000 {
            body.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        body.extend_from_slice(b"Subject: bottom\r\n\r\nhi\r\n");
        let worker = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let mut d = store
                    .begin_delivery(Envelope {
                        return_path: Some("s@x".into()),
                        recipients: vec!["a@h".into()],
                        trace: Vec::new(),
                    })
                    .unwrap();
                for chunk in body.chunks(1000) {
                    d.write(chunk).unwrap();
                }
                let uid = d.commit().unwrap()[0].uid;
                let root = store.mime_parts("a@h", "INBOX", uid).unwrap().unwrap();
                let len = store.message("a@h", "INBOX", uid).unwrap().unwrap().size;
                (root, len)
            })
            .unwrap();
        let (root, len) = worker.join().unwrap();
        assert!(root.is_valid(len));
        let mut levels = 0;
        let mut p = &root;
        while let Some(inner) = p.inner_root() {
            p = inner;
            levels += 1;
        }
        assert_eq!(levels, crate::mime::MAX_DEPTH);
        assert_eq!(p.end, len);
    }

    /// The stored MIME offsets are those of the file on disk, whether they
    /// were computed from the write buffer (a small message) or from the
    /// file read back (one that outgrew the buffer).
    #[test]
    fn stored_offsets_match_the_file_from_memory_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig {
            data_dir: dir.path().to_path_buf(),
            hostname: "h".into(),
            password_hashing: Default::default(),
        })
        .unwrap();
        store.add_user("a@h", "pw").unwrap();
        for (size, in_memory) in [(1_000, true), (200_000, false)] {
            let mut body = b"Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n".to_vec();
            while body.len() < size {
                body.extend_from_slice(b"0123456789abcdef\r\n");
            }
            body.extend_from_slice(b"--b--\r\n");
            let mut d = store
                .begin_delivery(Envelope {
                    return_path: Some("s@x".into()),
                    recipients: vec!["a@h".into()],
                    trace: b"Received: from x\r\n".to_vec(),
                })
                .unwrap();
            for chunk in body.chunks(4096) {
                d.write(chunk).unwrap();
            }
            assert_eq!(d.written == 0, in_memory, "{size}");
            let uid = d.commit().unwrap()[0].uid;
            let path = store.message("a@h", "INBOX", uid).unwrap().unwrap().path;
            let file = std::fs::read(path).unwrap();
            assert_eq!(file.len() <= WRITE_BUFFER, in_memory, "{size}");
            let root = crate::mime::parse(&file).unwrap();
            assert_eq!(root.children.len(), 1);
            let expected = crate::mime::encode(&root);
            let txn = store.inner.db.begin_read().unwrap();
            let mailboxes = txn.open_table(MAILBOXES).unwrap();
            let mailbox = index::get_mailbox(&mailboxes, "a@h", "INBOX")
                .unwrap()
                .unwrap();
            let parts = txn.open_table(PARTS).unwrap();
            let stored = parts
                .get((mailbox.id, uid))
                .unwrap()
                .unwrap()
                .value()
                .to_vec();
            assert_eq!(stored, expected, "{size}");
        }
    }
}
