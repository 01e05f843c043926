//! A durable outbox: payloads waiting to be handed to something outside
//! (the server's webhook handler POSTs them until the receiver answers
//! 2xx). The store only keeps them; it knows nothing of HTTP.
//!
//! ```text
//! outbox_add          one durable redb commit (Durability::Immediate) for a
//!                     batch of entries: once it returns, the entries survive
//!                     a crash, so the caller may acknowledge the message
//! outbox_due          entries whose next attempt is due, oldest first
//! outbox_reschedule   after a failed attempt: attempts + 1, next attempt
//! outbox_remove       after a successful attempt
//! ```
//!
//! Table `outbox`: id (u64, from the `META` counter `next_outbox_id`) →
//! OutboxRecord v1 (`docs/design.md` §2): `01`, attempts (u32), next attempt
//! (i64, Unix ms), target (str), then the payload to the end of the value.

use redb::{ReadableTable, TableDefinition};

use crate::error::StoreError;
use crate::index::META;
use crate::store::Store;

/// Outbox entries: id → the encoding in the module docs.
pub(crate) const OUTBOX: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("outbox");

/// `META` key: the next outbox id to hand out.
const META_NEXT_OUTBOX_ID: &str = "next_outbox_id";

/// Longest target name stored (it is a handler name from the config).
const MAX_TARGET: usize = 1024;

/// One payload waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Stable id, increasing in insertion order.
    pub id: u64,
    /// Whom it is for (the server stores a handler name).
    pub target: String,
    /// The bytes to hand over.
    pub payload: Vec<u8>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the next attempt is due, Unix milliseconds.
    pub next_attempt: i64,
}

/// The record's version byte.
const VERSION: u8 = 1;

fn encode(attempts: u32, next_attempt: i64, target: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(17 + target.len() + payload.len());
    out.push(VERSION);
    out.extend_from_slice(&attempts.to_le_bytes());
    out.extend_from_slice(&next_attempt.to_le_bytes());
    out.extend_from_slice(&(target.len() as u32).to_le_bytes());
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// (attempts, next_attempt, target, payload offset).
fn decode_head(bytes: &[u8]) -> Result<(u32, i64, String, usize), StoreError> {
    let corrupt = || StoreError::Corrupt("outbox entry too short".into());
    let field = |range: std::ops::Range<usize>| bytes.get(range).ok_or_else(corrupt);
    match bytes.first() {
        Some(v) if *v >= VERSION => {}
        _ => return Err(StoreError::Corrupt("outbox entry has no version".into())),
    }
    let attempts = u32::from_le_bytes(field(1..5)?.try_into().map_err(|_| corrupt())?);
    let next = i64::from_le_bytes(field(5..13)?.try_into().map_err(|_| corrupt())?);
    let len = u32::from_le_bytes(field(13..17)?.try_into().map_err(|_| corrupt())?) as usize;
    let target = field(17..17usize.saturating_add(len))?;
    let target = String::from_utf8(target.to_vec())
        .map_err(|_| StoreError::Corrupt("outbox target is not UTF-8".into()))?;
    Ok((attempts, next, target, 17 + len))
}

impl Store {
    /// Adds `(target, payload)` entries, first attempt due at
    /// `next_attempt` (Unix ms), in one durable commit; returns their ids.
    ///
    /// # Errors
    /// [`StoreError::InvalidAddress`] never; [`StoreError::NotAllowed`] for
    /// a target name over 1024 bytes; index errors (temporary).
    pub fn outbox_add(
        &self,
        entries: &[(String, Vec<u8>)],
        next_attempt: i64,
    ) -> Result<Vec<u64>, StoreError> {
        if let Some((t, _)) = entries.iter().find(|(t, _)| t.len() > MAX_TARGET) {
            return Err(StoreError::NotAllowed(format!(
                "outbox target of {} bytes",
                t.len()
            )));
        }
        let txn = self.inner.db.begin_write()?;
        let mut ids = Vec::with_capacity(entries.len());
        {
            let mut meta = txn.open_table(META)?;
            let mut next_id = meta
                .get(META_NEXT_OUTBOX_ID)?
                .map(|v| v.value())
                .unwrap_or(1);
            let mut table = txn.open_table(OUTBOX)?;
            for (target, payload) in entries {
                table.insert(next_id, encode(0, next_attempt, target, payload).as_slice())?;
                ids.push(next_id);
                next_id += 1;
            }
            meta.insert(META_NEXT_OUTBOX_ID, next_id)?;
        }
        txn.commit()?;
        Ok(ids)
    }

    /// Up to `limit` entries whose next attempt is at or before `now`
    /// (Unix ms), lowest id first.
    ///
    /// # Errors
    /// Index errors.
    pub fn outbox_due(&self, now: i64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let txn = self.inner.db.begin_read()?;
        let table = match txn.open_table(OUTBOX) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for row in table.iter()? {
            if out.len() >= limit {
                break;
            }
            let (id, value) = row?;
            let bytes = value.value();
            let (attempts, next_attempt, target, at) = decode_head(bytes)?;
            if next_attempt <= now {
                out.push(OutboxEntry {
                    id: id.value(),
                    target,
                    payload: bytes[at..].to_vec(),
                    attempts,
                    next_attempt,
                });
            }
        }
        Ok(out)
    }

    /// The earliest next attempt of any entry (Unix ms), and how many
    /// entries there are.
    ///
    /// # Errors
    /// Index errors.
    pub fn outbox_summary(&self) -> Result<(Option<i64>, usize), StoreError> {
        let txn = self.inner.db.begin_read()?;
        let table = match txn.open_table(OUTBOX) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok((None, 0)),
            Err(e) => return Err(e.into()),
        };
        let mut earliest: Option<i64> = None;
        let mut count = 0;
        for row in table.iter()? {
            let (_, value) = row?;
            let (_, next, _, _) = decode_head(value.value())?;
            earliest = Some(earliest.map_or(next, |e| e.min(next)));
            count += 1;
        }
        Ok((earliest, count))
    }

    /// Records a failed attempt: `attempts` becomes the given count and
    /// the entry is due again at `next_attempt` (Unix ms). A missing entry
    /// is not an error (it was removed meanwhile).
    ///
    /// # Errors
    /// Index errors.
    pub fn outbox_reschedule(
        &self,
        id: u64,
        attempts: u32,
        next_attempt: i64,
    ) -> Result<(), StoreError> {
        let txn = self.inner.db.begin_write()?;
        {
            let mut table = txn.open_table(OUTBOX)?;
            let old = table.get(id)?.map(|v| v.value().to_vec());
            if let Some(old) = old {
                let (_, _, target, at) = decode_head(&old)?;
                table.insert(
                    id,
                    encode(attempts, next_attempt, &target, &old[at..]).as_slice(),
                )?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Makes every entry due at `now` at the latest (Unix ms): a restarted
    /// server resumes pending entries at once instead of waiting out a
    /// backoff computed before the restart.
    ///
    /// # Errors
    /// Index errors.
    pub fn outbox_resume(&self, now: i64) -> Result<usize, StoreError> {
        let txn = self.inner.db.begin_write()?;
        let mut changed = 0;
        {
            let mut table = txn.open_table(OUTBOX)?;
            let mut later = Vec::new();
            for row in table.iter()? {
                let (id, value) = row?;
                let (attempts, next, _, _) = decode_head(value.value())?;
                if next > now {
                    later.push((id.value(), attempts));
                }
            }
            for (id, attempts) in later {
                let old = table.get(id)?.map(|v| v.value().to_vec());
                if let Some(old) = old {
                    let (_, _, target, at) = decode_head(&old)?;
                    table.insert(id, encode(attempts, now, &target, &old[at..]).as_slice())?;
                    changed += 1;
                }
            }
        }
        txn.commit()?;
        Ok(changed)
    }

    /// Removes an entry (handed over); a missing one is not an error.
    ///
    /// # Errors
    /// Index errors.
    pub fn outbox_remove(&self, id: u64) -> Result<(), StoreError> {
        let txn = self.inner.db.begin_write()?;
        {
            let mut table = txn.open_table(OUTBOX)?;
            table.remove(id)?;
        }
        txn.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Store, StoreConfig};

    #[test]
    fn entries_survive_reopen_and_follow_their_schedule() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            data_dir: dir.path().to_path_buf(),
            hostname: "h".into(),
            password_hashing: Default::default(),
        };
        let store = Store::open(config.clone()).unwrap();
        assert_eq!(store.outbox_due(i64::MAX, 10).unwrap(), vec![]);
        let ids = store
            .outbox_add(
                &[
                    ("hook".into(), b"{\"a\":1}".to_vec()),
                    ("other".into(), vec![]),
                ],
                1_000,
            )
            .unwrap();
        assert_eq!(ids, vec![1, 2]);
        assert!(store.outbox_due(999, 10).unwrap().is_empty());
        store.outbox_reschedule(2, 3, 5_000).unwrap();
        drop(store);
        let store = Store::open(config.clone()).unwrap();
        assert_eq!(store.outbox_resume(4_000).unwrap(), 1);
        assert_eq!(store.outbox_due(4_000, 10).unwrap().len(), 2);
        store.outbox_reschedule(2, 3, 5_000).unwrap();
        drop(store);

        let store = Store::open(config).unwrap();
        let due = store.outbox_due(1_000, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].id, 1);
        assert_eq!(due[0].target, "hook");
        assert_eq!(due[0].payload, b"{\"a\":1}");
        assert_eq!(store.outbox_summary().unwrap(), (Some(1_000), 2));
        store.outbox_remove(1).unwrap();
        let due = store.outbox_due(5_000, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].id, due[0].attempts, due[0].next_attempt),
            (2, 3, 5_000)
        );
        assert_eq!(
            store.outbox_add(&[("x".into(), vec![1])], 0).unwrap(),
            vec![3]
        );
    }
}
