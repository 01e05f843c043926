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
pub(crate) mod store_api;

use std::collections::HashSet;
use std::io;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::core::Core;
use crate::error::{DeliveryError, StoreError};
use crate::index::META;

use record::{MessageRow, RecipientRow};
pub use record::{Notify, QueueId, RecipientState, Ret};

/// Queued messages: queue id → message row.
pub(crate) const QUEUE_MESSAGES: TableDefinition<'_, u64, &[u8]> =
    TableDefinition::new("queue_messages");
/// Queued recipients: (queue id, recipient index) → recipient row.
pub(crate) const QUEUE_RECIPIENTS: TableDefinition<'_, (u64, u32), &[u8]> =
    TableDefinition::new("queue_recipients");
/// `META` key: the next queue id to hand out.
const META_NEXT_QUEUE_ID: &str = "next_queue_id";

/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets; ORCPT and ENVID
/// (RFC 3461 §4.2, §4.4) are at most 500 and 100 xtext characters.
const MAX_FIELD: usize = 512;

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
    /// The recipients (for [`crate::Store::queue_due`]: only the claimed ones).
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
/// the id counter of `state` (called by `Store::open_with_fs`).
pub(crate) fn recover(core: &Core, state: &QueueState) -> Result<(), StoreError> {
    let dir = queue_dir(core);
    let txn = core.db.begin_write()?;
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
    let names = match core.fs.read_dir(&dir) {
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
            match core.fs.remove_file(&dir.join(name)) {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!(file = name, error = %e, "cannot remove queue file"),
            }
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed unacknowledged queue files");
    }
    state.next_id.store(highest, Ordering::SeqCst);
    Ok(())
}

/// Creates `queue/`, private like the Maildirs (docs/DESIGN.md §3): 0700
/// whatever the umask.
fn create_queue_dir(core: &Core) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = queue_dir(core);
    core.fs.create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
}

fn queue_dir(core: &Core) -> PathBuf {
    core.layout.queue_dir()
}

fn file_path(core: &Core, id: QueueId) -> PathBuf {
    queue_dir(core).join(id.to_string())
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

/// The rows of [`crate::Enqueue::commit`], written into `txn`; returns the
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
