//! URLAUTH mailbox access keys (RFC 4467 §7): one secret per account and
//! mailbox, from which the server's INTERNAL mechanism derives the tokens
//! of authorized URLs. RESETKEY replaces them, which invalidates every URL
//! made with the old key.
//!
//! Table `urlauth_keys`: (account key, canonical mailbox name) →
//! UrlAuthKey v1: `01`, the mailbox's UIDVALIDITY when the key was made
//! (u32), then the key octets (the caller's random bytes, at least 16).
//! Keys are created on first use; the store takes no randomness of its
//! own. A key whose UIDVALIDITY is not the mailbox's any more (the mailbox
//! was deleted and created again, or renamed and another created under
//! its name) is not used: URLs made for the old mailbox must not open
//! messages of the new one, whose UIDs start again.

use redb::{ReadableTable, TableDefinition};

use crate::error::StoreError;
use crate::store::Store;

/// Access keys: (account, mailbox) → key octets.
pub(crate) const URLAUTH_KEYS: TableDefinition<'_, (&str, &str), &[u8]> =
    TableDefinition::new("urlauth_keys");

/// Shortest key accepted: RFC 4467 §7 asks for at least 128 bits.
pub const MIN_URLAUTH_KEY: usize = 16;

/// The record's version byte.
const VERSION: u8 = 1;

/// (UIDVALIDITY, key) of a record.
fn decode(value: &[u8]) -> Result<(u32, Vec<u8>), StoreError> {
    match value {
        [v, a, b, c, d, key @ ..] if *v >= VERSION && key.len() >= MIN_URLAUTH_KEY => {
            Ok((u32::from_le_bytes([*a, *b, *c, *d]), key.to_vec()))
        }
        _ => Err(StoreError::Corrupt("URLAUTH key record".into())),
    }
}

impl Store {
    /// The access key of `mailbox`, stored from `fresh` (random octets
    /// from the caller) if it has none yet, in one durable commit.
    ///
    /// # Errors
    /// [`StoreError::NoSuchMailbox`] (and the other errors of
    /// [`Store::mailbox_status`]); [`StoreError::NotAllowed`] for a
    /// `fresh` key under [`MIN_URLAUTH_KEY`] octets; index errors.
    pub fn urlauth_key(
        &self,
        address: &str,
        mailbox: &str,
        fresh: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        if fresh.len() < MIN_URLAUTH_KEY {
            return Err(StoreError::NotAllowed("URLAUTH key too short".into()));
        }
        let (account, name, validity) = self.urlauth_target(address, mailbox)?;
        let txn = self.inner.db.begin_write()?;
        let key = {
            let mut table = txn.open_table(URLAUTH_KEYS)?;
            let existing = table
                .get((account.as_str(), name.as_str()))?
                .map(|v| decode(v.value()));
            match existing.transpose()? {
                Some((v, k)) if v == validity => k,
                _ => {
                    let mut record = Vec::with_capacity(5 + fresh.len());
                    record.push(VERSION);
                    record.extend_from_slice(&validity.to_le_bytes());
                    record.extend_from_slice(fresh);
                    table.insert((account.as_str(), name.as_str()), record.as_slice())?;
                    fresh.to_vec()
                }
            }
        };
        txn.commit()?;
        Ok(key)
    }

    /// The access key of `mailbox` if it has one (a URL made before any
    /// key existed, or after RESETKEY, is not valid).
    ///
    /// # Errors
    /// As [`Store::urlauth_key`].
    pub fn existing_urlauth_key(
        &self,
        address: &str,
        mailbox: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let (account, name, validity) = self.urlauth_target(address, mailbox)?;
        let txn = self.inner.db.begin_read()?;
        let table = match txn.open_table(URLAUTH_KEYS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let record = table
            .get((account.as_str(), name.as_str()))?
            .map(|v| decode(v.value()))
            .transpose()?;
        Ok(record.and_then(|(v, key)| (v == validity).then_some(key)))
    }

    /// RESETKEY (RFC 4467 §6.2): forgets the key of `mailbox`, or of every
    /// mailbox of the account when `None`; the next GENURLAUTH makes a new
    /// one. One durable commit.
    ///
    /// # Errors
    /// As [`Store::urlauth_key`].
    pub fn reset_urlauth_keys(
        &self,
        address: &str,
        mailbox: Option<&str>,
    ) -> Result<(), StoreError> {
        let (account, name) = match mailbox {
            Some(m) => {
                let (a, n, _) = self.urlauth_target(address, m)?;
                (a, Some(n))
            }
            // Every account has an INBOX: this checks that it exists.
            None => (self.urlauth_target(address, crate::layout::INBOX)?.0, None),
        };
        let txn = self.inner.db.begin_write()?;
        {
            let mut table = txn.open_table(URLAUTH_KEYS)?;
            match name {
                Some(n) => {
                    table.remove((account.as_str(), n.as_str()))?;
                }
                None => {
                    let mine: Vec<String> = table
                        .range((account.as_str(), "")..)?
                        .map_while(|row| {
                            let (k, _) = row.ok()?;
                            let (a, m) = k.value();
                            (a == account).then(|| m.to_owned())
                        })
                        .collect();
                    for m in mine {
                        table.remove((account.as_str(), m.as_str()))?;
                    }
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// The index keys of an existing mailbox, and its UIDVALIDITY.
    fn urlauth_target(
        &self,
        address: &str,
        mailbox: &str,
    ) -> Result<(String, String, u32), StoreError> {
        let status = self.mailbox_status(address, mailbox)?;
        let (account, name) = crate::store::parse_target(address, mailbox)?;
        Ok((account.key(), name, status.uidvalidity))
    }
}
