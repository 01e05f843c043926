//! Quota: bytes and messages per account (RFC 9208 `STORAGE` and
//! `MESSAGE` resources). Usage is the sum of the per-mailbox counters kept
//! in the index (`MailboxRecord::bytes`, `messages`), updated in the same
//! transaction as every change, so it is exact without a separate table.
//! Limits are set with [`crate::Store::set_quota`] (from the configuration).

use redb::ReadableTable;

use crate::error::StoreError;
use crate::index;

/// Per-account limits; `None` means unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    /// Largest total size of all messages of an account, in bytes.
    pub max_bytes: Option<u64>,
    /// Largest number of messages of an account (all mailboxes).
    pub max_messages: Option<u64>,
}

/// An account's usage and limits (IMAP GETQUOTAROOT, STATUS=SIZE).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuotaUsage {
    /// Bytes used by all messages of the account.
    pub bytes: u64,
    /// Number of messages in all mailboxes.
    pub messages: u64,
    /// The limits in force.
    pub limit: Quota,
}

impl Quota {
    /// Whether adding `bytes` in `messages` messages to `usage` stays
    /// within the limits.
    #[must_use]
    pub fn allows(&self, used_bytes: u64, used_messages: u64, bytes: u64, messages: u64) -> bool {
        self.max_bytes
            .is_none_or(|max| used_bytes.saturating_add(bytes) <= max)
            && self
                .max_messages
                .is_none_or(|max| used_messages.saturating_add(messages) <= max)
    }
}

/// (bytes, messages) of an account, summed over its mailboxes.
pub(crate) fn account_usage<T>(table: &T, account: &str) -> Result<(u64, u64), StoreError>
where
    T: ReadableTable<(&'static str, &'static str), &'static [u8]>,
{
    let mut bytes = 0u64;
    let mut messages = 0u64;
    for (_, r) in index::account_mailboxes(table, account)? {
        bytes = bytes.saturating_add(r.bytes);
        messages = messages.saturating_add(u64::from(r.messages));
    }
    Ok((bytes, messages))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows() {
        let q = Quota {
            max_bytes: Some(100),
            max_messages: Some(2),
        };
        assert!(q.allows(50, 1, 50, 1));
        assert!(!q.allows(50, 1, 51, 1));
        assert!(!q.allows(0, 2, 1, 1));
        assert!(Quota::default().allows(u64::MAX, u64::MAX, 1, 1));
    }
}
