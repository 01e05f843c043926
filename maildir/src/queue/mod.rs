//! The durable outbound queue (docs/DESIGN.md §3, §5.2): the message bytes in a
//! file `data_dir/queue/<id>`, one redb row per message (sender, ENVID, RET,
//! whether it is itself a DSN) and one per recipient (state, attempts, next
//! attempt, last error, NOTIFY, ORCPT), in the store's own index.
//!
//! ```text
//! begin_enqueue   validate the envelope; create queue/<id> (O_EXCL)
//! write*          stream the bytes (64 KiB buffered writes)
//! commit          fsync the file, fsync queue/, then one durable redb
//!                 transaction with the message and recipient rows (and the
//!                 settled rows of the DSN's subjects): only then Ok(id),
//!                 so only then may the caller answer 250
//! queue_due       recipients whose next attempt has come, claimed in memory
//!                 so that no two workers attempt the same recipient
//! queue_update    the attempt's outcome per recipient, one durable commit;
//!                 a message whose last row goes is removed with its file
//! ```
//!
//! Crash rules (the same as Postfix's queue manager): a file without a
//! message row was never acknowledged and is removed at open; a recipient
//! row is removed only after its outcome is durable, so after a kill -9
//! every acknowledged recipient is still there, and only recipients whose
//! attempt was in flight can be delivered twice. Claims live in memory and
//! vanish with the process, so everything is due again after a restart.
//!
//! A permanent failure keeps its row (state `failed`) until the DSN that
//! reports it is enqueued with [`Settle::Reported`] in its envelope: the
//! report and the removal commit together, so a bounce is never lost and
//! never sent twice. Messages flagged `is_dsn`, null-sender messages and
//! `NOTIFY=NEVER` recipients are never reported: a bounce never bounces.

mod batch;
mod record;

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::error::{DeliveryError, StoreError};
use crate::fs::FsFile;
use crate::index::{self, META};
use crate::store::{Inner, Store};

use record::{MessageRow, RecipientRow};
pub use record::{Notify, RecipientState, Ret};

/// Queued messages: queue id → message row.
pub(crate) const QUEUE_MESSAGES: TableDefinition<'_, u64, &[u8]> =
    TableDefinition::new("queue_messages");
/// Queued recipients: (queue id, recipient index) → recipient row.
pub(crate) const QUEUE_RECIPIENTS: TableDefinition<'_, (u64, u32), &[u8]> =
    TableDefinition::new("queue_recipients");
/// `META` key: the next queue id to hand out.
const META_NEXT_QUEUE_ID: &str = "next_queue_id";

/// Bytes buffered before a write to the file: large writes, bounded memory.
const WRITE_BUFFER: usize = 64 * 1024;

/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets; ORCPT and ENVID
/// (RFC 3461 §4.2, §4.4) are at most 500 and 100 xtext characters.
const MAX_FIELD: usize = 512;

/// A queued message's id: stable while it is queued, printed in upper-case
/// hex by `sansmail queue list` and accepted back by `retry` / `delete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueId(pub u64);

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08X}", self.0)
    }
}

impl FromStr for QueueId {
    type Err = String;
    fn from_str(s: &str) -> Result<QueueId, String> {
        if s.is_empty() || s.len() > 16 {
            return Err(format!("not a queue id: {s:?}"));
        }
        u64::from_str_radix(s, 16)
            .map(QueueId)
            .map_err(|_| format!("not a queue id: {s:?}"))
    }
}

/// One recipient of one queued message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecipientRef {
    /// The message.
    pub id: QueueId,
    /// The recipient's position in the envelope (0-based).
    pub index: u32,
}

/// A recipient as enqueued: RFC 5321 forward-path plus RFC 3461 parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRecipient {
    /// The address without angle brackets.
    pub address: String,
    /// `NOTIFY=`; `None` when the client gave none ([`Notify::DEFAULT`]).
    pub notify: Option<Notify>,
    /// `ORCPT=` as received (`addr-type;xtext`).
    pub orcpt: Option<String>,
}

impl QueueRecipient {
    /// A recipient without DSN parameters.
    #[must_use]
    pub fn new(address: impl Into<String>) -> QueueRecipient {
        QueueRecipient {
            address: address.into(),
            notify: None,
            orcpt: None,
        }
    }
}

/// What a newly queued DSN settles in the same commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settle {
    /// The DSN reports this `failed` or `delivered` recipient: remove it.
    Reported(RecipientRef),
    /// The DSN is the "delayed" notice for this recipient: remember that it
    /// was sent (once per recipient, §5.2 `delay_notice`).
    DelayReported(RecipientRef),
}

/// The envelope of a message to queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueEnvelope {
    /// The reverse-path; `None` for the null path `<>`.
    pub sender: Option<String>,
    /// RFC 3461 §4.4 `ENVID=`.
    pub envid: Option<String>,
    /// RFC 3461 §4.3 `RET=`.
    pub ret: Option<Ret>,
    /// The message is itself a DSN: it is never reported on (no bounce of
    /// a bounce, RFC 3461 §6.2).
    pub is_dsn: bool,
    /// Non-local recipients.
    pub recipients: Vec<QueueRecipient>,
    /// For a DSN: the recipients it reports, settled in the same commit.
    pub settles: Vec<Settle>,
}

/// A queued recipient as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedRecipient {
    /// Its position in the envelope.
    pub index: u32,
    /// The forward-path.
    pub address: String,
    /// `NOTIFY=` (`None`: not given).
    pub notify: Option<Notify>,
    /// `ORCPT=`.
    pub orcpt: Option<String>,
    /// Where it stands.
    pub state: RecipientState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due, seconds since the Unix epoch.
    pub next_attempt: i64,
    /// The last attempt's error (the remote reply or why no connection),
    /// empty before the first attempt.
    pub last_error: String,
    /// A "delayed" DSN was already sent for it.
    pub delay_reported: bool,
}

impl QueuedRecipient {
    /// The NOTIFY in effect (the default when none was given).
    #[must_use]
    pub fn effective_notify(&self) -> Notify {
        self.notify.unwrap_or(Notify::DEFAULT)
    }
}

/// A queued message with (some of) its recipients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedMessage {
    /// Its id.
    pub id: QueueId,
    /// The reverse-path; `None` for `<>`.
    pub sender: Option<String>,
    /// `ENVID=`.
    pub envid: Option<String>,
    /// `RET=`.
    pub ret: Option<Ret>,
    /// The message is a DSN (never reported on).
    pub is_dsn: bool,
    /// When it was queued, seconds since the Unix epoch (expiry counts from here).
    pub created: i64,
    /// The file's size in bytes.
    pub size: u64,
    /// The recipients (for [`Store::queue_due`]: only the claimed ones).
    pub recipients: Vec<QueuedRecipient>,
}

impl QueuedMessage {
    /// Whether failures of this message may be reported to its sender.
    #[must_use]
    pub fn reportable(&self) -> bool {
        !self.is_dsn && self.sender.is_some()
    }
}

/// The outcome of one attempt for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: done.
    Delivered,
    /// 4xx or no connection: try again at `next_attempt` (Unix seconds).
    Deferred {
        /// When to try again.
        next_attempt: i64,
        /// The reply or the connection error, one line.
        error: String,
    },
    /// 5xx, null MX or expiry: report it (when the sender wants it) and stop.
    Failed {
        /// The reply or the reason, one line.
        error: String,
    },
}

/// The queue's in-memory part: which recipients a worker holds, and the
/// next id. Lives in the store's `Inner`.
#[derive(Debug, Default)]
pub(crate) struct QueueState {
    claims: Mutex<HashSet<RecipientRef>>,
    next_id: AtomicU64,
    /// Group commit of enqueues and outcome updates ([`batch`]).
    batcher: batch::Batcher,
}

impl QueueState {
    fn claims(&self) -> MutexGuard<'_, HashSet<RecipientRef>> {
        // The set is only inserted into and removed from: a panic elsewhere
        // cannot leave it inconsistent.
        self.claims.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Creates the queue tables, removes never-acknowledged files, and seeds
/// the id counter (called by `Store::open_with_fs`).
pub(crate) fn recover(inner: &Inner) -> Result<(), StoreError> {
    let dir = queue_dir(inner);
    let txn = inner.db.begin_write()?;
    let mut highest = {
        let mut meta = txn.open_table(META)?;
        let next = meta.get(META_NEXT_QUEUE_ID)?.map_or(1, |v| v.value());
        meta.insert(META_NEXT_QUEUE_ID, next)?;
        next
    };
    let mut known = HashSet::new();
    {
        let messages = txn.open_table(QUEUE_MESSAGES)?;
        for entry in messages.iter()? {
            let id = entry?.0.value();
            known.insert(id);
            highest = highest.max(id.saturating_add(1));
        }
        txn.open_table(QUEUE_RECIPIENTS)?;
    }
    txn.commit()?;
    let mut removed = 0;
    // The directory appears with the first queued message.
    let names = match inner.fs.read_dir(&dir) {
        Ok(names) => names,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    for name in names {
        let Some(name) = name.to_str() else { continue };
        // Only names we write (QueueId's Display: 8-16 upper-case hex
        // digits); anything else in the directory is left alone.
        let ours = (8..=16).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
        let Ok(id) = QueueId::from_str(name) else {
            continue;
        };
        if !ours {
            continue;
        }
        highest = highest.max(id.0.saturating_add(1));
        if !known.contains(&id.0) {
            // Written but never committed: the client got no 250.
            match inner.fs.remove_file(&dir.join(name)) {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!(file = name, error = %e, "cannot remove queue file"),
            }
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed unacknowledged queue files");
    }
    inner.queue.next_id.store(highest, Ordering::SeqCst);
    Ok(())
}

/// Creates `queue/`, private like the Maildirs (docs/DESIGN.md §3): 0700
/// whatever the umask.
fn create_queue_dir(inner: &Inner) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = queue_dir(inner);
    inner.fs.create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
}

fn queue_dir(inner: &Inner) -> PathBuf {
    inner.layout.queue_dir()
}

fn file_path(inner: &Inner, id: QueueId) -> PathBuf {
    queue_dir(inner).join(id.to_string())
}

/// A path or parameter goes into the index and, later, into DSNs and
/// `queue list` lines: no line breaks or other controls, no brackets.
fn check_field(what: &str, value: &str) -> Result<(), DeliveryError> {
    if value.len() > MAX_FIELD {
        return Err(DeliveryError::InvalidAddress(format!(
            "{what} longer than {MAX_FIELD} bytes"
        )));
    }
    if let Some(c) = value
        .chars()
        .find(|&c| c.is_control() || c == '<' || c == '>')
    {
        return Err(DeliveryError::InvalidAddress(format!(
            "{what} contains {c:?}"
        )));
    }
    Ok(())
}

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
            match inner.fs.create_new(&path) {
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
        let emptied = self
            .inner
            .queue
            .batcher
            .run(&self.inner.db, Box::new(work))?;
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
        Ok(File::open(file_path(&self.inner, id))?)
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

    /// Removes the files of messages whose rows are gone. A failure only
    /// leaves a file that the next open removes.
    fn remove_files(&self, ids: &[QueueId]) {
        for id in ids {
            let path = file_path(&self.inner, *id);
            match self.inner.fs.remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(id = %id, error = %e, "cannot remove queue file"),
            }
        }
    }
}

/// Removes the message rows of `ids` that have no recipient left; returns them.
fn remove_empty(txn: &WriteTransaction, ids: &[QueueId]) -> Result<Vec<QueueId>, StoreError> {
    let mut messages = txn.open_table(QUEUE_MESSAGES)?;
    let rcpts = txn.open_table(QUEUE_RECIPIENTS)?;
    let mut emptied = Vec::new();
    for id in ids {
        if emptied.contains(id) {
            continue;
        }
        let empty = rcpts.range((id.0, 0)..=(id.0, u32::MAX))?.next().is_none();
        if empty && messages.remove(id.0)?.is_some() {
            emptied.push(*id);
        }
    }
    Ok(emptied)
}

/// Errors are printed on one `queue list` line and in DSNs.
fn one_line(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    out.truncate(out.trim_end().len());
    if out.len() > MAX_FIELD {
        let mut cut = MAX_FIELD;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
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

    /// Makes the message durable: the file fsynced, `queue/` fsynced, and
    /// the rows committed durably (with the envelope's settles). Only after
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
        self.inner
            .fs
            .fsync_dir(&queue_dir(&self.inner))
            .map_err(DeliveryError::Io)?;
        let (id, envelope, written, now) = (
            self.id,
            self.envelope.clone(),
            self.written,
            index::now_secs(),
        );
        // Shared with concurrent enqueues and updates (one durable commit).
        let settled = self.inner.queue.batcher.run(
            &self.inner.db,
            Box::new(move |txn| enqueue_rows(txn, id, &envelope, written, now)),
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

/// The rows of [`Enqueue::commit`], written into `txn`; returns the
/// settled messages left without recipients.
fn enqueue_rows(
    txn: &WriteTransaction,
    id: QueueId,
    envelope: &QueueEnvelope,
    written: u64,
    now: i64,
) -> Result<Vec<QueueId>, StoreError> {
    {
        let mut messages = txn.open_table(QUEUE_MESSAGES)?;
        let row = MessageRow {
            sender: envelope.sender.clone(),
            envid: envelope.envid.clone(),
            ret: envelope.ret,
            is_dsn: envelope.is_dsn,
            created: now,
            size: written,
        };
        messages.insert(id.0, row.encode().as_slice())?;
        drop(messages);
        let mut rcpts = txn.open_table(QUEUE_RECIPIENTS)?;
        for (i, r) in envelope.recipients.iter().enumerate() {
            let row = RecipientRow {
                address: r.address.clone(),
                notify: r.notify,
                orcpt: r.orcpt.clone(),
                state: RecipientState::Queued,
                attempts: 0,
                next_attempt: now,
                last_error: String::new(),
                delay_reported: false,
            };
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            rcpts.insert((id.0, index), row.encode().as_slice())?;
        }
        let mut touched = Vec::new();
        for s in &envelope.settles {
            match *s {
                Settle::Reported(r) => {
                    rcpts.remove((r.id.0, r.index))?;
                    touched.push(r.id);
                }
                Settle::DelayReported(r) => {
                    let row = rcpts
                        .get((r.id.0, r.index))?
                        .map(|v| RecipientRow::decode(v.value()))
                        .transpose()?;
                    if let Some(mut row) = row {
                        row.delay_reported = true;
                        rcpts.insert((r.id.0, r.index), row.encode().as_slice())?;
                    }
                }
            }
        }
        drop(rcpts);
        {
            let mut meta = txn.open_table(META)?;
            let next = meta.get(META_NEXT_QUEUE_ID)?.map_or(1, |v| v.value());
            meta.insert(META_NEXT_QUEUE_ID, next.max(id.0.saturating_add(1)))?;
        }
        remove_empty(txn, &touched)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_and_parse() {
        assert_eq!(QueueId(0x1a).to_string(), "0000001A");
        assert_eq!("0000001A".parse::<QueueId>(), Ok(QueueId(0x1a)));
        assert_eq!("1a".parse::<QueueId>(), Ok(QueueId(0x1a)));
        assert!("".parse::<QueueId>().is_err());
        assert!("xyz".parse::<QueueId>().is_err());
        assert!("00000000000000001".parse::<QueueId>().is_err());
    }

    #[test]
    fn errors_become_one_bounded_line() {
        assert_eq!(one_line("451 4.3.0 a\r\nb\r\n"), "451 4.3.0 a  b");
        assert_eq!(one_line(&"é".repeat(400)).len(), MAX_FIELD);
    }
}
