//! The redb index: table definitions and small helpers shared by accounts,
//! delivery and rescan. Table layouts are documented in `docs/design.md`.

use std::time::{SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableTable, Table, TableDefinition, WriteTransaction};

use crate::codec::{MailboxRecord, MessageRecord};
use crate::error::StoreError;
use crate::layout::SpecialUse;

/// Accounts: normalised address → [`crate::codec::AccountRecord`].
pub const ACCOUNTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("accounts");
/// Mailboxes: (normalised address, canonical mailbox name) → [`MailboxRecord`].
pub const MAILBOXES: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("mailboxes");
/// Messages: (mailbox id, UID) → [`MessageRecord`].
pub const MESSAGES: TableDefinition<'_, (u64, u32), &[u8]> = TableDefinition::new("messages");
/// MIME part offsets: (mailbox id, UID) → [`crate::mime::encode`] bytes.
pub const PARTS: TableDefinition<'_, (u64, u32), &[u8]> = TableDefinition::new("parts");
/// Tombstones: (mailbox id, UID) → the MODSEQ of its expunge (QRESYNC
/// VANISHED (EARLIER), RFC 7162 §3.2.5).
pub const EXPUNGED: TableDefinition<'_, (u64, u32), u64> = TableDefinition::new("expunged");
/// Subscriptions: (normalised address, mailbox name) → 0. May name
/// mailboxes that do not exist (RFC 9051 §6.3.7).
pub const SUBSCRIPTIONS: TableDefinition<'_, (&str, &str), u8> =
    TableDefinition::new("subscriptions");
/// Pending directory operations (rename, delete), committed together with
/// their index change and finished (or rolled forward at open) on disk:
/// id → [`crate::journal::Intent`] bytes.
pub const INTENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("intents");
/// Counters and the schema version.
pub const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

/// `META` key: the schema version of this index.
pub const META_SCHEMA: &str = "schema_version";
/// `META` key: the next mailbox id to hand out.
pub const META_NEXT_MAILBOX_ID: &str = "next_mailbox_id";
/// `META` key: the last UIDVALIDITY handed out.
pub const META_LAST_UIDVALIDITY: &str = "last_uidvalidity";

/// The schema version this code writes.
pub const SCHEMA_VERSION: u64 = 2;

/// Creates the tables and checks the schema version.
///
/// # Errors
/// [`StoreError::Corrupt`] when the index was written by a newer schema.
pub fn init(db: &Database) -> Result<(), StoreError> {
    let txn = begin_write(db)?;
    {
        txn.open_table(ACCOUNTS)?;
        txn.open_table(MAILBOXES)?;
        txn.open_table(MESSAGES)?;
        txn.open_table(PARTS)?;
        txn.open_table(EXPUNGED)?;
        txn.open_table(SUBSCRIPTIONS)?;
        txn.open_table(INTENTS)?;
        let mut meta = txn.open_table(META)?;
        let found = meta.get(META_SCHEMA)?.map(|v| v.value());
        match found {
            None => {
                meta.insert(META_SCHEMA, SCHEMA_VERSION)?;
            }
            Some(v) if v < SCHEMA_VERSION => {
                // v1 → v2 adds tables and appends record fields; decoders
                // read both versions, rescan at open recomputes byte counts.
                meta.insert(META_SCHEMA, SCHEMA_VERSION)?;
            }
            Some(v) if v == SCHEMA_VERSION => {}
            Some(v) => {
                return Err(StoreError::Corrupt(format!(
                    "index schema version {v} is newer than this program's {SCHEMA_VERSION}"
                )));
            }
        }
    }
    txn.commit()?;
    Ok(())
}

/// A write transaction with `Durability::Immediate`: `commit()` returns only
/// once the data is on stable storage.
///
/// # Errors
/// Any redb error.
pub fn begin_write(db: &Database) -> Result<WriteTransaction, StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(redb::Durability::Immediate)?;
    Ok(txn)
}

/// Seconds since the Unix epoch.
#[must_use]
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Seconds since the Unix epoch of a `SystemTime` (negative before 1970).
#[must_use]
pub fn secs_of(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// A new, empty mailbox record with a fresh id and a UIDVALIDITY taken from
/// the clock but strictly greater than every one handed out before, so two
/// mailboxes (or a deleted and re-created one) never share it
/// (RFC 9051 §2.3.1.1).
///
/// # Errors
/// Any redb error.
pub fn new_mailbox(
    txn: &WriteTransaction,
    special_use: Option<SpecialUse>,
) -> Result<MailboxRecord, StoreError> {
    let mut meta = txn.open_table(META)?;
    let id = meta.get(META_NEXT_MAILBOX_ID)?.map_or(1, |v| v.value());
    meta.insert(META_NEXT_MAILBOX_ID, id + 1)?;
    let last = meta.get(META_LAST_UIDVALIDITY)?.map_or(0, |v| v.value());
    let clock = u64::try_from(now_secs())
        .unwrap_or(1)
        .min(u64::from(u32::MAX));
    let uidvalidity = clock.max(last + 1).min(u64::from(u32::MAX));
    meta.insert(META_LAST_UIDVALIDITY, uidvalidity)?;
    Ok(MailboxRecord {
        id,
        uidvalidity: u32::try_from(uidvalidity).unwrap_or(u32::MAX),
        uidnext: 1,
        highestmodseq: 1,
        messages: 0,
        special_use,
        subscribed: false,
        bytes: 0,
    })
}

/// Reads a mailbox record.
///
/// # Errors
/// Any redb error, or [`StoreError::Corrupt`].
pub fn get_mailbox<T>(
    table: &T,
    account: &str,
    mailbox: &str,
) -> Result<Option<MailboxRecord>, StoreError>
where
    T: ReadableTable<(&'static str, &'static str), &'static [u8]>,
{
    match table.get((account, mailbox))? {
        Some(v) => Ok(Some(MailboxRecord::decode(v.value())?)),
        None => Ok(None),
    }
}

/// Writes a mailbox record.
///
/// # Errors
/// Any redb error.
pub fn put_mailbox(
    table: &mut Table<'_, (&'static str, &'static str), &'static [u8]>,
    account: &str,
    mailbox: &str,
    record: &MailboxRecord,
) -> Result<(), StoreError> {
    table.insert((account, mailbox), record.encode().as_slice())?;
    Ok(())
}

/// All mailboxes of an account, sorted by name.
///
/// # Errors
/// Any redb error, or [`StoreError::Corrupt`].
pub fn account_mailboxes<T>(
    table: &T,
    account: &str,
) -> Result<Vec<(String, MailboxRecord)>, StoreError>
where
    T: ReadableTable<(&'static str, &'static str), &'static [u8]>,
{
    let mut out = Vec::new();
    for entry in table.range((account, "")..)? {
        let (k, v) = entry?;
        let (acct, name) = k.value();
        if acct != account {
            break;
        }
        out.push((name.to_owned(), MailboxRecord::decode(v.value())?));
    }
    Ok(out)
}

/// All messages of a mailbox, in UID order.
///
/// # Errors
/// Any redb error, or [`StoreError::Corrupt`].
pub fn mailbox_messages<T>(
    table: &T,
    mailbox_id: u64,
) -> Result<Vec<(u32, MessageRecord)>, StoreError>
where
    T: ReadableTable<(u64, u32), &'static [u8]>,
{
    let mut out = Vec::new();
    for entry in table.range((mailbox_id, 0u32)..=(mailbox_id, u32::MAX))? {
        let (k, v) = entry?;
        out.push((k.value().1, MessageRecord::decode(v.value())?));
    }
    Ok(out)
}

/// Removes every message, parts and tombstone row of a mailbox id.
///
/// # Errors
/// Any redb error.
pub fn remove_mailbox_rows(
    txn: &WriteTransaction,
    messages: &mut Table<'_, (u64, u32), &'static [u8]>,
    id: u64,
) -> Result<(), StoreError> {
    let range = (id, 0u32)..=(id, u32::MAX);
    messages.retain_in(range.clone(), |_, _| false)?;
    txn.open_table(PARTS)?
        .retain_in(range.clone(), |_, _| false)?;
    txn.open_table(EXPUNGED)?.retain_in(range, |_, _| false)?;
    Ok(())
}

/// The subscribed names of an account, sorted.
///
/// # Errors
/// Any redb error.
pub fn subscriptions<T>(table: &T, account: &str) -> Result<Vec<String>, StoreError>
where
    T: ReadableTable<(&'static str, &'static str), u8>,
{
    let mut out = Vec::new();
    for entry in table.range((account, "")..)? {
        let (k, _) = entry?;
        let (acct, name) = k.value();
        if acct != account {
            break;
        }
        out.push(name.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uidvalidity_is_distinct_and_increasing() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("i.redb")).unwrap();
        init(&db).unwrap();
        let txn = begin_write(&db).unwrap();
        let a = new_mailbox(&txn, None).unwrap();
        let b = new_mailbox(&txn, Some(SpecialUse::Sent)).unwrap();
        txn.commit().unwrap();
        assert_eq!((a.id, b.id), (1, 2));
        assert_eq!(b.uidvalidity, a.uidvalidity + 1);
        let clock = u32::try_from(now_secs()).unwrap();
        assert!(a.uidvalidity >= clock - 5 && a.uidvalidity <= clock + 5);
        assert_eq!((a.uidnext, a.messages, a.highestmodseq), (1, 0, 1));
    }

    #[test]
    fn rejects_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("i.redb")).unwrap();
        init(&db).unwrap();
        let txn = begin_write(&db).unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(META_SCHEMA, 99)
            .unwrap();
        txn.commit().unwrap();
        assert_eq!(
            init(&db).unwrap_err().to_string(),
            "corrupt index: index schema version 99 is newer than this program's 2"
        );
    }

    #[test]
    fn account_mailboxes_stop_at_the_account() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("i.redb")).unwrap();
        init(&db).unwrap();
        let txn = begin_write(&db).unwrap();
        {
            let mut t = txn.open_table(MAILBOXES).unwrap();
            for (acct, name) in [
                ("a@x", "INBOX"),
                ("a@x", "Sent"),
                ("a@xy", "INBOX"),
                ("b@x", "INBOX"),
            ] {
                let rec = new_mailbox(&txn, None).unwrap();
                put_mailbox(&mut t, acct, name, &rec).unwrap();
            }
            let names: Vec<String> = account_mailboxes(&t, "a@x")
                .unwrap()
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            assert_eq!(names, vec!["INBOX".to_owned(), "Sent".to_owned()]);
        }
        txn.commit().unwrap();
    }
}
