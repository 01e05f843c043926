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
    /// The filesystem (or the index on it) is out of space (`ENOSPC`,
    /// `EDQUOT`): temporary; nothing was changed. IMAP `NO [OVERQUOTA]`
    /// (as Dovecot answers a full disk), SMTP `452 4.3.1` (RFC 3463 §3.4
    /// "Mail system full").
    NoSpace(String),
    /// A symbolic link was found where the store expected a Maildir
    /// directory or a message file; it is refused, never followed
    /// (docs/DESIGN.md §3).
    Symlink(String),
    /// A message file no longer has the size the index recorded (truncated
    /// or replaced behind the store's back): its bytes cannot be served
    /// as announced.
    SizeMismatch {
        /// The message's UID.
        uid: u32,
        /// The size in the index (what FETCH would announce).
        expected: u64,
        /// The size of the file now.
        actual: u64,
    },
}

/// Whether an IO error means "out of space": `ENOSPC` or a disk quota.
#[must_use]
pub(crate) fn is_no_space(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
        || matches!(
            e.kind(),
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
        )
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
            StoreError::NoSpace(e) => write!(f, "insufficient storage: {e}"),
            StoreError::Symlink(p) => write!(f, "refusing a symbolic link: {p}"),
            StoreError::SizeMismatch {
                uid,
                expected,
                actual,
            } => write!(
                f,
                "message UID {uid} has {actual} bytes on disk, the index says {expected}"
            ),
        }
    }
}

impl StoreError {
    /// Whether retrying later may succeed (IO failures, a full disk, the
    /// index): an SMTP server answers 4xx, IMAP `NO` without blame.
    #[must_use]
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            StoreError::Io(_)
                | StoreError::Database(_)
                | StoreError::NoSpace(_)
                | StoreError::Locked
        )
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
        if is_no_space(&e) {
            StoreError::NoSpace(e.to_string())
        } else {
            StoreError::Io(e)
        }
    }
}

/// I/O failures reported by redb in this process (counted here, where
/// redb errors become [`StoreError`]s, which have no way back to their
/// handle; the index handle of `db.rs` compares it with the count it last
/// checked and probes itself when it changed).
pub(crate) static IO_FAILURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Whether `e` means a redb handle may have latched an I/O error.
fn latched(e: &redb::Error) -> bool {
    matches!(
        e,
        redb::Error::PreviousIo | redb::Error::Io(_) | redb::Error::DatabaseClosed
    )
}

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        if latched(&e) {
            // The handle that failed is probed (and reopened) before its
            // next use: see `db.rs`.
            IO_FAILURES.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        match e {
            redb::Error::DatabaseAlreadyOpen => StoreError::Locked,
            redb::Error::Io(e) if is_no_space(&e) => StoreError::NoSpace(e.to_string()),
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
    /// The disk is full (temporary: SMTP `452 4.3.1`, RFC 5321 §4.2.3
    /// "insufficient system storage"): nothing was delivered.
    NoSpace(String),
}

impl DeliveryError {
    /// Whether the failure is temporary: the message was not delivered, and
    /// the sender should retry later (SMTP `451 4.3.0`, RFC 3463 §3.4).
    #[must_use]
    pub fn is_temporary(&self) -> bool {
        match self {
            DeliveryError::Io(_) | DeliveryError::Storage(_) | DeliveryError::NoSpace(_) => true,
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
            DeliveryError::NoSpace(e) => write!(f, "insufficient storage: {e}"),
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
        if is_no_space(&e) {
            DeliveryError::NoSpace(e.to_string())
        } else {
            DeliveryError::Io(e)
        }
    }
}

impl From<StoreError> for DeliveryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Io(e) => DeliveryError::from(e),
            StoreError::NoSpace(e) => DeliveryError::NoSpace(e),
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
            DeliveryError::NoSpace(e) => StoreError::NoSpace(e),
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
    fn full_disk_is_its_own_temporary_kind() {
        let full = io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(matches!(
            StoreError::from(io::Error::from_raw_os_error(libc::ENOSPC)),
            StoreError::NoSpace(_)
        ));
        let d = DeliveryError::from(full);
        assert!(matches!(d, DeliveryError::NoSpace(_)));
        assert!(d.is_temporary());
        let redb_full = redb::Error::Io(io::Error::from_raw_os_error(libc::EDQUOT));
        assert!(matches!(
            StoreError::from(redb_full),
            StoreError::NoSpace(_)
        ));
        assert!(matches!(
            DeliveryError::from(StoreError::NoSpace("x".into())),
            DeliveryError::NoSpace(_)
        ));
        assert!(matches!(
            StoreError::from(io::Error::other("x")),
            StoreError::Io(_)
        ));
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
