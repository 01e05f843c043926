//! The sansmail mail model on Maildir files and a redb index.
//!
//! This crate knows nothing of SMTP, IMAP or POP3. It stores accounts,
//! mailboxes and messages under a data directory that any Maildir tool
//! (mutt, Dovecot, mbsync) can read, with a redb index for UIDs, flags and
//! counters. The on-disk layout, the index tables and the crash-safety
//! rules are in `docs/design.md`.
//!
//! What it offers, all storage-shaped (no IMAP or POP3 wire concepts):
//!
//! * accounts: [`Store::add_user`], [`Store::verify_password`], …;
//! * delivery and APPEND, durable and group-committed:
//!   [`Store::begin_delivery`], [`Store::begin_append`];
//! * mailboxes: [`Store::create_mailbox`], [`Store::delete_mailbox`],
//!   [`Store::rename_mailbox`], [`Store::mailboxes`], subscriptions;
//! * messages: [`Store::message_summaries`] (SELECT), [`Store::messages`],
//!   [`Store::open_message`], [`Store::mime_parts`],
//!   [`Store::store_flags`], [`Store::expunge`], [`Store::delete_messages`]
//!   (POP3), [`Store::copy_messages`], [`Store::move_messages`],
//!   [`Store::claim_recent`], [`Store::changes_since`];
//! * change notification: [`Store::subscribe`]; outside changes:
//!   [`Store::refresh`]; quota: [`Store::set_quota`], [`Store::quota_usage`];
//! * the outbound queue: [`Store::begin_enqueue`], [`Store::queue_due`],
//!   [`Store::queue_update`], [`Store::queue_list`], [`Store::queue_retry`],
//!   [`Store::queue_delete`], [`Store::queue_open`].
//!
//! Every method blocks (file IO, fsync, redb, argon2). A server calls them
//! from a blocking pool:
//!
//! ```no_run
//! use maildir::{Envelope, Store, StoreConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::open(StoreConfig {
//!     data_dir: "sansmail-data".into(),
//!     hostname: "mx.example".into(),
//!     password_hashing: Default::default(),
//! })?;
//! store.add_user("alice@example.org", "secret")?;
//!
//! // SMTP DATA: stream the body, then commit; answer 250 only after commit.
//! let mut delivery = store.begin_delivery(Envelope {
//!     return_path: Some("bob@example.net".into()),
//!     recipients: vec!["alice@example.org".into()],
//!     trace: b"Received: from client by mx.example; Sun, 22 Nov 2026 16:00:00 +0000\r\n".to_vec(),
//! })?;
//! delivery.write(b"Subject: hi\r\n\r\nhello\r\n")?;
//! match delivery.commit() {
//!     Ok(delivered) => println!("250 uid {}", delivered[0].uid),
//!     Err(e) if e.is_temporary() => println!("451 4.3.0 {e}"),
//!     Err(e) => println!("550 {e}"),
//! }
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

// Module layering: a module imports only modules of its own level or
// below (within a level, without a circle), so the import graph has no
// circle:
// 0. error, flags, layout, fs, mime, uidset, address, filename, notify,
//    batch, beneath, cached, fault, dirsync: leaves;
// 1. codec, index, db, quota: the index and its records;
// 2. core: `Core`, the state every committer needs;
// 3. group_commit, index_commit, message_ops, flag_sync, rescan, journal,
//    queue (tables, rows, recovery): the committers, on a `Core`;
// 4. store: `Store`, its `Inner` (the `Core` plus the committers);
// 5. account, append, delivery, mailboxes, messages, multiappend,
//    outbox, read, urlauth, queue::store_api: the `impl Store` API.
mod account;
mod address;
mod append;
mod batch;
mod beneath;
mod cached;
mod codec;
mod content_cache;
mod core;
mod db;
mod delivery;
mod dirsync;
mod error;
pub mod fault;
mod filename;
mod flag_sync;
mod flags;
pub mod fs;
mod group_commit;
mod index;
mod index_commit;
mod journal;
mod layout;
mod mailboxes;
mod message_ops;
mod messages;
pub mod mime;
mod multiappend;
mod notify;
mod outbox;
mod queue;
mod quota;
mod read;
mod recycle;
mod rescan;
mod store;
mod uidset;
mod urlauth;

pub use crate::core::PasswordHashing;
pub use account::release_password_memory;
pub use address::Address;
pub use append::Append;
pub use beneath::BeneathFs;
pub use cached::read_if_cached;
pub use codec::MessageSummary;
pub use content_cache::{CachedContent, ENTRY_MAX as CONTENT_CACHE_ENTRY_MAX};
pub use delivery::{Delivery, Envelope};
pub use error::{AccountError, DeliveryError, StoreError};
pub use flag_sync::{FLAG_SYNC_WINDOW, FlagSync};
pub use flags::Flags;
pub use fs::{Fs, FsFile, RealFs};
pub use group_commit::Delivered;
pub use layout::{INBOX, Layout, MAX_MAILBOX_NAME, SpecialUse, canonical_mailbox_name};
pub use message_ops::{FlagOp, FlagUpdate, StoreOutcome};
pub use messages::{CopyOutcome, FlagChange};
pub use mime::{MimePart, PartKind};
pub use multiappend::{Appended, MultiAppend};
pub use notify::{
    Change, Event, Notice, QUEUE as SUBSCRIPTION_QUEUE, StoreEvent, StoreSubscription, Subscription,
};
pub use outbox::OutboxEntry;
pub use queue::store_api::Enqueue;
pub use queue::{
    Notify, Outcome, QueueEnvelope, QueueId, QueueRecipient, QueuedMessage, QueuedRecipient,
    RecipientRef, RecipientState, Ret, Settle,
};
pub use quota::{Quota, QuotaUsage};
pub use read::{Changes, IndexedMessage, PARALLEL_SCAN_MIN};
pub use rescan::RescanReport;
pub use store::{MailboxInfo, MailboxStatus, MessageInfo, Store, StoreConfig};
pub use uidset::UidSet;
pub use urlauth::MIN_URLAUTH_KEY;

#[cfg(test)]
mod tests {
    /// The server moves stores and deliveries onto blocking threads.
    #[test]
    fn thread_safety_bounds() {
        fn send_sync<T: Send + Sync + Clone>() {}
        fn send<T: Send>() {}
        send_sync::<crate::Store>();
        fn sync<T: Send + Sync>() {}
        sync::<crate::Subscription>();
        send::<crate::Append>();
        send::<crate::Delivery>();
        send::<crate::Enqueue>();
        send::<crate::DeliveryError>();
        send::<crate::AccountError>();
        send::<crate::StoreError>();
    }
}
