//! The outbound queue's API on [`Store`]: [`Enqueue`] (a message being
//! queued) and the `queue_*` methods. The tables, row types, recovery at
//! open and the rows each commit writes are in the parent module, which
//! `store.rs` uses; this file sits above `store.rs`, so the queue's state
//! can live in the store without the queue importing it back.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use redb::{ReadableTable, WriteTransaction};

use super::record::{MessageRow, RecipientRow};
use super::{
    Notify, Outcome, QUEUE_MESSAGES, QUEUE_RECIPIENTS, QueueEnvelope, QueueId, QueuedMessage,
    QueuedRecipient, RecipientRef, RecipientState, check_field, create_queue_dir, enqueue_rows,
    file_path, one_line, queue_dir, remove_empty,
};
use crate::error::{DeliveryError, StoreError};
use crate::fs::FsFile;
use crate::index;
use crate::store::{Inner, Store};

/// Bytes buffered before a write to the file: large writes, bounded memory.
const WRITE_BUFFER: usize = 64 * 1024;

/// A message being queued. Owns `queue/<id>` until [`Enqueue::commit`]
/// succeeds; dropping it without a successful commit removes the file.
pub struct Enqueue {
    inner: Arc<Inner>,
    id: QueueId,
    envelope: QueueEnvelope,
    path: PathBuf,
    file: Option<Box<dyn FsFile>>,
    buffer: Vec<u8>,
    written: u64,
    poisoned: bool,
    committed: bool,
}

impl fmt::Debug for Enqueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enqueue")
            .field("id", &self.id)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Starts queueing a message for non-local recipients.
    ///
    /// # Errors
    /// [`DeliveryError::NoRecipients`], [`DeliveryError::InvalidAddress`]
    /// for a path or parameter with control characters or brackets;
    /// temporary IO errors.
    pub fn begin_enqueue(&self, envelope: QueueEnvelope) -> Result<Enqueue, DeliveryError> {
        if envelope.recipients.is_empty() {
            return Err(DeliveryError::NoRecipients);
        }
        if u32::try_from(envelope.recipients.len()).is_err() {
            return Err(DeliveryError::InvalidAddress("too many recipients".into()));
        }
        if let Some(s) = &envelope.sender {
            check_field("reverse-path", s)?;
        }
        if let Some(e) = &envelope.envid {
            check_field("ENVID", e)?;
        }
        for r in &envelope.recipients {
            if r.address.is_empty() {
                return Err(DeliveryError::InvalidAddress("empty forward-path".into()));
            }
            check_field("forward-path", &r.address)?;
            if let Some(o) = &r.orcpt {
                check_field("ORCPT", o)?;
            }
        }
        let inner = Arc::clone(&self.inner);
        let dir = queue_dir(&inner);
        let mut last = None;
        for _ in 0..8 {
            let id = QueueId(inner.queue.next_id.fetch_add(1, Ordering::SeqCst));
            let path = dir.join(id.to_string());
            // An emptied inode from the pool first (`recycle.rs`).
            let opened = match inner.recycler.reuse(inner.fs.as_ref(), &path) {
                Some(opened) => opened,
                None => inner.fs.create_new(&path),
            };
            match opened {
                Ok(file) => {
                    // Private whatever the umask (docs/DESIGN.md §3). On failure
                    // the empty file goes again (best effort: the next open
                    // removes any file without rows).
                    let private = {
                        use std::os::unix::fs::PermissionsExt;
                        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    };
                    if let Err(e) = private {
                        let _ = inner.fs.remove_file(&path);
                        return Err(DeliveryError::Io(e));
                    }
                    return Ok(Enqueue {
                        inner,
                        id,
                        envelope,
                        path,
                        file: Some(file),
                        buffer: Vec::with_capacity(WRITE_BUFFER),
                        written: 0,
                        poisoned: false,
                        committed: false,
                    });
                }
                // A file left by someone else: skip the id.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    // The first message (or the directory was removed).
                    create_queue_dir(&inner)?;
                    last = Some(e);
                }
                Err(e) => return Err(DeliveryError::Io(e)),
            }
        }
        Err(DeliveryError::Io(last.unwrap_or_else(|| {
            io::Error::other("cannot create a queue file")
        })))
    }

    /// Every queued message with every recipient, by id.
    ///
    /// # Errors
    /// Index errors.
    pub fn queue_list(&self) -> Result<Vec<QueuedMessage>, StoreError> {
        self.queue_select(None, |_, _| true)
    }

    /// One queued message, `None` when it is not queued.
    ///
    /// # Errors
    /// Index errors.
    pub fn queue_message(&self, id: QueueId) -> Result<Option<QueuedMessage>, StoreError> {
        Ok(self.queue_select(Some(id), |_, _| true)?.pop())
    }

    /// The recipients (`queued` or `deferred`) whose next attempt is at or
    /// before `now` (Unix seconds) and that no worker holds, grouped by
    /// message. They are claimed: later calls skip them until
    /// [`Store::queue_update`] (or [`Store::queue_release`]) hands them back.
    ///
    /// # Errors
    /// Index errors (nothing is claimed then).
    pub fn queue_due(&self, now: i64) -> Result<Vec<QueuedMessage>, StoreError> {
        let mut claims = self.inner.queue.claims();
        let due = self.queue_select(None, |r, row| {
            matches!(row.state, RecipientState::Queued | RecipientState::Deferred)
                && row.next_attempt <= now
                && !claims.contains(&r)
        })?;
        for m in &due {
            for r in &m.recipients {
                claims.insert(RecipientRef {
                    id: m.id,
                    index: r.index,
                });
            }
        }
        Ok(due)
    }

    /// Hands claimed recipients back unchanged (an attempt that never
    /// started, e.g. at shutdown).
    pub fn queue_release(&self, recipients: &[RecipientRef]) {
        let mut claims = self.inner.queue.claims();
        for r in recipients {
            claims.remove(r);
        }
    }

    /// Records the outcome of attempts, in one durable commit, and releases
    /// the claims. A delivered recipient is removed unless a success DSN is
    /// owed; a failed one is kept for its DSN only when one is owed; a
    /// message without recipients left is removed with its file.
    /// Recipients that are no longer queued (deleted meanwhile) are skipped.
    ///
    /// # Errors
    /// Index errors: nothing changed, the claims are kept (call again, or
    /// release).
    pub fn queue_update(&self, outcomes: &[(RecipientRef, Outcome)]) -> Result<(), StoreError> {
        let owned = outcomes.to_vec();
        let work = move |txn: &WriteTransaction| {
            let outcomes = &owned;
            let messages = txn.open_table(QUEUE_MESSAGES)?;
            let mut rcpts = txn.open_table(QUEUE_RECIPIENTS)?;
            let mut touched = Vec::new();
            for (r, outcome) in outcomes {
                let Some(message) = messages.get(r.id.0)? else {
                    continue;
                };
                let message = MessageRow::decode(message.value())?;
                let row = rcpts
                    .get((r.id.0, r.index))?
                    .map(|v| RecipientRow::decode(v.value()))
                    .transpose()?;
                let Some(mut row) = row else {
                    continue;
                };
                let notify = row.notify.unwrap_or(Notify::DEFAULT);
                let reportable = !message.is_dsn && message.sender.is_some();
                row.attempts = row.attempts.saturating_add(1);
                let keep = match outcome {
                    Outcome::Delivered => {
                        row.state = RecipientState::Delivered;
                        row.last_error.clear();
                        reportable && notify.success
                    }
                    Outcome::Deferred {
                        next_attempt,
                        error,
                    } => {
                        row.state = RecipientState::Deferred;
                        row.next_attempt = *next_attempt;
                        row.last_error = one_line(error);
                        true
                    }
                    Outcome::Failed { error } => {
                        row.state = RecipientState::Failed;
                        row.last_error = one_line(error);
                        reportable && notify.failure
                    }
                };
                if keep {
                    rcpts.insert((r.id.0, r.index), row.encode().as_slice())?;
                } else {
                    rcpts.remove((r.id.0, r.index))?;
                }
                touched.push(r.id);
            }
            drop((messages, rcpts));
            remove_empty(txn, &touched)
        };
        // Shared with concurrent updates and enqueues (one durable commit).
        let inner = &self.inner;
        let emptied = inner
            .queue
            .batcher
            .run(&inner.db, Box::new(work), false, &|| {
                inner.fs.fsync_dir(&queue_dir(inner))
            })?;
        let mut claims = self.inner.queue.claims();
        for (r, _) in outcomes {
            claims.remove(r);
        }
        drop(claims);
        self.remove_files(&emptied);
        Ok(())
    }

    /// Makes `queued`/`deferred` recipients due now: those of one message,
    /// or of every message. Returns how many recipients were rescheduled.
    ///
    /// # Errors
    /// Index errors.
    pub fn queue_retry(&self, id: Option<QueueId>, now: i64) -> Result<usize, StoreError> {
        let txn = self.inner.db.begin_write()?;
        let mut n = 0;
        {
            let mut rcpts = txn.open_table(QUEUE_RECIPIENTS)?;
            let range = match id {
                Some(id) => (id.0, 0)..=(id.0, u32::MAX),
                None => (0, 0)..=(u64::MAX, u32::MAX),
            };
            let mut changed = Vec::new();
            for entry in rcpts.range(range)? {
                let (k, v) = entry?;
                let mut row = RecipientRow::decode(v.value())?;
                if matches!(row.state, RecipientState::Queued | RecipientState::Deferred)
                    && row.next_attempt > now
                {
                    row.next_attempt = now;
                    changed.push((k.value(), row));
                }
            }
            for (k, row) in &changed {
                rcpts.insert(*k, row.encode().as_slice())?;
            }
            n += changed.len();
        }
        txn.commit()?;
        Ok(n)
    }

    /// Drops a message without delivering it and without a DSN. Returns
    /// false when it was not queued.
    ///
    /// # Errors
    /// Index errors.
    pub fn queue_delete(&self, id: QueueId) -> Result<bool, StoreError> {
        let txn = self.inner.db.begin_write()?;
        let found = {
            let mut messages = txn.open_table(QUEUE_MESSAGES)?;
            let found = messages.remove(id.0)?.is_some();
            txn.open_table(QUEUE_RECIPIENTS)?
                .retain_in((id.0, 0)..=(id.0, u32::MAX), |_, _| false)?;
            found
        };
        txn.commit()?;
        if found {
            self.remove_files(&[id]);
        }
        Ok(found)
    }

    /// Opens a queued message's bytes (trace fields first, as enqueued).
    ///
    /// # Errors
    /// `NotFound` when the message is not queued; IO errors.
    pub fn queue_open(&self, id: QueueId) -> Result<File, StoreError> {
        if self.queue_message(id)?.is_none() {
            return Err(StoreError::Io(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no queued message {id}"),
            )));
        }
        let path = file_path(&self.inner, id);
        let file = File::open(&path)?;
        // A settled file may be emptied and reused as another spool file
        // (`recycle.rs`): the shared lock keeps that from happening while
        // this descriptor is open, and a retirement that got in first has
        // renamed the file away, which the inode check finds.
        let gone = || {
            StoreError::Io(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no queued message {id}"),
            ))
        };
        if !crate::recycle::lock(&file, false) {
            return Err(StoreError::Io(io::Error::other(format!(
                "cannot lock queued message {id}"
            ))));
        }
        use std::os::unix::fs::MetadataExt;
        let held = file.metadata()?;
        match std::fs::symlink_metadata(&path) {
            Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => Ok(file),
            Ok(_) => Err(gone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(gone()),
            Err(e) => Err(StoreError::Io(e)),
        }
    }

    /// Messages (with the recipients `keep` selects; none selected: the
    /// message is left out), of one id or all.
    fn queue_select(
        &self,
        only: Option<QueueId>,
        mut keep: impl FnMut(RecipientRef, &RecipientRow) -> bool,
    ) -> Result<Vec<QueuedMessage>, StoreError> {
        let txn = self.inner.db.begin_read()?;
        let messages = txn.open_table(QUEUE_MESSAGES)?;
        let rcpts = txn.open_table(QUEUE_RECIPIENTS)?;
        let range = match only {
            Some(id) => id.0..=id.0,
            None => 0..=u64::MAX,
        };
        let mut out = Vec::new();
        for entry in messages.range(range)? {
            let (k, v) = entry?;
            let id = QueueId(k.value());
            let m = MessageRow::decode(v.value())?;
            let mut recipients = Vec::new();
            for entry in rcpts.range((id.0, 0)..=(id.0, u32::MAX))? {
                let (k, v) = entry?;
                let index = k.value().1;
                let row = RecipientRow::decode(v.value())?;
                if keep(RecipientRef { id, index }, &row) {
                    recipients.push(QueuedRecipient {
                        index,
                        address: row.address,
                        notify: row.notify,
                        orcpt: row.orcpt,
                        state: row.state,
                        attempts: row.attempts,
                        next_attempt: row.next_attempt,
                        last_error: row.last_error,
                        delay_reported: row.delay_reported,
                    });
                }
            }
            if recipients.is_empty() && only.is_none() {
                continue;
            }
            out.push(QueuedMessage {
                id,
                sender: m.sender,
                envid: m.envid,
                ret: m.ret,
                is_dsn: m.is_dsn,
                created: m.created,
                size: m.size,
                recipients,
            });
        }
        Ok(out)
    }

    /// Removes the files of messages whose rows are gone (truncated and
    /// kept as future spool files, or unlinked: `recycle.rs`). A failure
    /// only leaves a file that the next open removes.
    fn remove_files(&self, ids: &[QueueId]) {
        let paths: Vec<_> = ids.iter().map(|id| file_path(&self.inner, *id)).collect();
        for (i, e) in self.inner.recycler.retire(self.inner.fs.as_ref(), &paths) {
            tracing::warn!(id = %ids[i], error = %e, "cannot remove queue file");
        }
    }
}

impl Enqueue {
    /// The id the message will have once committed.
    #[must_use]
    pub fn id(&self) -> QueueId {
        self.id
    }

    /// Appends message bytes, exactly as they are to be sent.
    ///
    /// # Errors
    /// A temporary [`DeliveryError::Io`]; after one, every later call fails
    /// too and [`Enqueue::commit`] queues nothing.
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

    fn flush(&mut self) -> Result<(), DeliveryError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let Some(file) = self.file.as_mut() else {
            return Err(poisoned());
        };
        if let Err(e) = file.write_all(&self.buffer) {
            self.poisoned = true;
            return Err(DeliveryError::Io(e));
        }
        self.written += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// Makes the message durable: the file fsynced, `queue/` fsynced (once
    /// for every enqueue of a batch, by its leader) and the rows committed
    /// durably (with the envelope's settles). Only after
    /// `Ok` may the message be acknowledged. On error nothing is queued.
    ///
    /// # Errors
    /// Temporary [`DeliveryError::Io`] / [`DeliveryError::Storage`].
    pub fn commit(mut self) -> Result<QueueId, DeliveryError> {
        if self.poisoned {
            return Err(poisoned());
        }
        self.flush()?;
        let Some(mut file) = self.file.take() else {
            return Err(poisoned());
        };
        if let Err(e) = file.sync_all() {
            self.poisoned = true;
            return Err(DeliveryError::Io(e));
        }
        drop(file);
        let (id, envelope, written, now) = (
            self.id,
            self.envelope.clone(),
            self.written,
            index::now_secs(),
        );
        // Shared with concurrent enqueues and updates (one durable commit),
        // after one fsync of `queue/` for every enqueue of the batch.
        let inner = &self.inner;
        let settled = inner.queue.batcher.run(
            &inner.db,
            Box::new(move |txn| enqueue_rows(txn, id, &envelope, written, now)),
            true,
            &|| inner.fs.fsync_dir(&queue_dir(inner)),
        )?;
        self.committed = true;
        Store {
            inner: Arc::clone(&self.inner),
        }
        .remove_files(&settled);
        Ok(self.id)
    }

    /// Abandons the message and removes its file (same as dropping it).
    pub fn abort(self) {}
}

fn poisoned() -> DeliveryError {
    DeliveryError::Io(io::Error::other(
        "an earlier write of this queued message failed",
    ))
}

impl Drop for Enqueue {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        self.file = None;
        match self.inner.fs.remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            // Harmless: the next open removes files without a row.
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot remove queue file")
            }
        }
    }
}
