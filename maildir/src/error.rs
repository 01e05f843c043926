//! Error types, layered per operation (redb's habit): opening and querying the
//! store ([`StoreError`]), account administration ([`AccountError`]) and
//! delivery ([`DeliveryError`]).

use std::fmt;
use std::io;

/// An error from opening or querying the store.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The index is already open in another process (or another `Store` in
    /// this process): redb holds an exclusive lock on `index.redb`.
    Locked,
    /// A filesystem operation failed.
    Io(io::Error),
    /// The redb index reported an error.
    Database(Box<redb::Error>),
    /// A record in the index could not be decoded, or the index was written
    /// by a newer, incompatible version.
    Corrupt(String),
    /// The address is not a valid, safe mail address.
    InvalidAddress(String),
    /// The mailbox name is not valid.
    InvalidMailbox(String),
    /// No account with this address exists.
    NoSuchAccount(String),
    /// The account has no mailbox with this name (IMAP `[TRYCREATE]` for
    /// APPEND/COPY/MOVE, `[NONEXISTENT]` otherwise).
    NoSuchMailbox(String),
    /// A mailbox with this name already exists (IMAP `[ALREADYEXISTS]`).
    MailboxExists(String),
    /// The operation is not allowed, e.g. deleting INBOX (IMAP `NO`).
    NotAllowed(String),
    /// The account's quota would be exceeded (IMAP `[OVERQUOTA]`, SMTP
    /// `552 5.2.2`).
    OverQuota(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Locked => {
                f.write_str("the mail index is in use by another process (is the server running?)")
            }
            StoreError::Io(e) => write!(f, "filesystem error: {e}"),
            StoreError::Database(e) => write!(f, "index error: {e}"),
            StoreError::Corrupt(what) => write!(f, "corrupt index: {what}"),
            StoreError::InvalidAddress(why) => write!(f, "invalid address: {why}"),
            StoreError::InvalidMailbox(why) => write!(f, "invalid mailbox name: {why}"),
            StoreError::NoSuchAccount(a) => write!(f, "no such account: {a}"),
            StoreError::NoSuchMailbox(m) => write!(f, "no such mailbox: {m}"),
            StoreError::MailboxExists(m) => write!(f, "mailbox already exists: {m}"),
            StoreError::NotAllowed(why) => write!(f, "not allowed: {why}"),
            StoreError::OverQuota(a) => write!(f, "quota exceeded for {a}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Io(e) => Some(e),
            StoreError::Database(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

impl From<io::Error> for StoreError {
    fn from(e: io::Error) -> Self {
        StoreError::Io(e)
    }
}

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        match e {
            redb::Error::DatabaseAlreadyOpen => StoreError::Locked,
            other => StoreError::Database(Box::new(other)),
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::from(redb::Error::from(e))
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// An error from account administration ([`crate::Store::add_user`] and friends).
#[derive(Debug)]
#[non_exhaustive]
pub enum AccountError {
    /// An account with this address already exists; it was left unchanged.
    AlreadyExists,
    /// No account with this address exists.
    NotFound,
    /// The address is not a valid, safe mail address (the reason is given).
    InvalidAddress(String),
    /// The password could not be hashed (argon2 refused it, e.g. too long).
    InvalidPassword(String),
    /// The store failed underneath.
    Storage(StoreError),
}

impl fmt::Display for AccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountError::AlreadyExists => f.write_str("account already exists"),
            AccountError::NotFound => f.write_str("no such account"),
            AccountError::InvalidAddress(why) => write!(f, "invalid address: {why}"),
            AccountError::InvalidPassword(why) => write!(f, "unusable password: {why}"),
            AccountError::Storage(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AccountError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AccountError::Storage(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidAddress(why) => AccountError::InvalidAddress(why),
            StoreError::NoSuchAccount(_) => AccountError::NotFound,
            other => AccountError::Storage(other),
        }
    }
}

macro_rules! account_from_store {
    ($($t:ty),*) => {$(
        impl From<$t> for AccountError {
            fn from(e: $t) -> Self {
                AccountError::from(StoreError::from(e))
            }
        }
    )*};
}
account_from_store!(
    io::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// An error from a delivery ([`crate::Store::begin_delivery`],
/// [`crate::Delivery::write`], [`crate::Delivery::commit`]).
///
/// [`DeliveryError::is_temporary`] tells an SMTP server whether to answer
/// with a 4xx (try again later, e.g. `451 4.3.0`) or a 5xx reply.
#[derive(Debug)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The recipient has no account here (permanent: `550 5.1.1`).
    UnknownRecipient(String),
    /// A recipient or the reverse-path is not a valid, safe address (permanent).
    InvalidAddress(String),
    /// The envelope has no recipients (permanent; a caller bug).
    NoRecipients,
    /// A filesystem operation failed (temporary): nothing was delivered.
    Io(std::io::Error),
    /// The index failed (temporary): nothing was delivered.
    Storage(StoreError),
    /// The recipient's quota would be exceeded (permanent for this message:
    /// SMTP `552 5.2.2`, RFC 3463 §3.3): nothing was delivered.
    OverQuota(String),
}

impl DeliveryError {
    /// Whether the failure is temporary: the message was not delivered, and
    /// the sender should retry later (SMTP `451 4.3.0`, RFC 3463 §3.4).
    #[must_use]
    pub fn is_temporary(&self) -> bool {
        match self {
            DeliveryError::Io(_) | DeliveryError::Storage(_) => true,
            DeliveryError::UnknownRecipient(_)
            | DeliveryError::OverQuota(_)
            | DeliveryError::InvalidAddress(_)
            | DeliveryError::NoRecipients => false,
        }
    }
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryError::UnknownRecipient(a) => write!(f, "unknown recipient: {a}"),
            DeliveryError::InvalidAddress(why) => write!(f, "invalid address: {why}"),
            DeliveryError::NoRecipients => f.write_str("no recipients"),
            DeliveryError::Io(e) => write!(f, "delivery failed: {e}"),
            DeliveryError::Storage(e) => write!(f, "delivery failed: {e}"),
            DeliveryError::OverQuota(a) => write!(f, "quota exceeded for {a}"),
        }
    }
}

impl std::error::Error for DeliveryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DeliveryError::Io(e) => Some(e),
            DeliveryError::Storage(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for DeliveryError {
    fn from(e: io::Error) -> Self {
        DeliveryError::Io(e)
    }
}

impl From<StoreError> for DeliveryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Io(e) => DeliveryError::Io(e),
            StoreError::InvalidAddress(why) => DeliveryError::InvalidAddress(why),
            StoreError::NoSuchAccount(a) => DeliveryError::UnknownRecipient(a),
            StoreError::OverQuota(a) => DeliveryError::OverQuota(a),
            other => DeliveryError::Storage(other),
        }
    }
}

/// For APPEND, which shares the delivery machinery.
impl From<DeliveryError> for StoreError {
    fn from(e: DeliveryError) -> Self {
        match e {
            DeliveryError::Io(e) => StoreError::Io(e),
            DeliveryError::Storage(e) => e,
            DeliveryError::OverQuota(a) => StoreError::OverQuota(a),
            DeliveryError::UnknownRecipient(a) => StoreError::NoSuchAccount(a),
            DeliveryError::InvalidAddress(why) => StoreError::InvalidAddress(why),
            DeliveryError::NoRecipients => StoreError::NotAllowed("no target".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_classification() {
        assert!(DeliveryError::Io(io::Error::other("x")).is_temporary());
        assert!(DeliveryError::Storage(StoreError::Corrupt("x".into())).is_temporary());
        assert!(!DeliveryError::UnknownRecipient("a@b".into()).is_temporary());
        assert!(!DeliveryError::NoRecipients.is_temporary());
    }

    #[test]
    fn locked_maps_from_redb() {
        let e = StoreError::from(redb::DatabaseError::DatabaseAlreadyOpen);
        assert!(matches!(e, StoreError::Locked));
    }

    #[test]
    fn account_display_is_one_line() {
        assert_eq!(
            AccountError::AlreadyExists.to_string(),
            "account already exists"
        );
        assert_eq!(AccountError::NotFound.to_string(), "no such account");
        assert_eq!(
            AccountError::InvalidAddress("empty local part".into()).to_string(),
            "invalid address: empty local part"
        );
    }
}
