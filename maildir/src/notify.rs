//! The change channel: every change to an account (new message, flags,
//! expunge, mailbox created/deleted/renamed) is published to every
//! [`Subscription`] of that account, in commit order, so IMAP IDLE and the
//! other sessions learn of it at once without polling.
//!
//! Publishing happens after the index commit and while the store's maildir
//! lock is still held, so subscribers see changes in MODSEQ order. Each
//! subscription queues at most [`QUEUE`] events (allocated as they come,
//! so an idle subscription costs a few hundred bytes); a subscriber that
//! falls that far behind is marked *overflowed* and its queue is dropped:
//! its next receive says [`Event::Overflowed`] and the session does a full
//! resync ([`crate::Store::changes_since`]) instead of the server buffering
//! without bound.
//!
//! [`Subscription`] wraps an `async_channel::Receiver`: it works from any
//! async runtime (`recv().await`) and from blocking code (`recv_blocking`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::flags::Flags;

/// Events queued per subscription before it counts as overflowed.
pub const QUEUE: usize = 4096;

/// What changed in one mailbox of the account.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A message arrived (delivery, APPEND, COPY, MOVE, rescan).
    Appended {
        /// The mailbox's UID.
        uid: u32,
        /// The message's MODSEQ.
        modseq: u64,
    },
    /// A message's flags or keywords changed.
    Flags {
        /// The message's UID.
        uid: u32,
        /// The new system flags.
        flags: Flags,
        /// The new keywords.
        keywords: Vec<String>,
        /// The new MODSEQ.
        modseq: u64,
    },
    /// Messages were expunged (EXPUNGE, MOVE, POP3 delete, rescan).
    Expunged {
        /// The UIDs, ascending.
        uids: Vec<u32>,
        /// The MODSEQ of the expunge.
        modseq: u64,
    },
    /// The mailbox was created.
    MailboxCreated,
    /// The mailbox was deleted.
    MailboxDeleted,
    /// The mailbox was renamed; `mailbox` of the [`Notice`] is the old name.
    MailboxRenamed {
        /// The new name.
        to: String,
    },
    /// The name was subscribed or unsubscribed (it need not exist; the
    /// notice's `uidvalidity` is 0).
    Subscription {
        /// Subscribed now.
        subscribed: bool,
    },
}

/// One published change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The mailbox (wire name).
    pub mailbox: String,
    /// Its UIDVALIDITY, so a session can tell a re-created mailbox of the
    /// same name apart (0 for mailbox-level changes of a deleted one).
    pub uidvalidity: u32,
    /// What happened.
    pub change: Change,
}

/// What a subscriber receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A change, in commit order.
    Change(Notice),
    /// The subscriber fell more than [`QUEUE`] events behind and changes
    /// were dropped: resync from the index.
    Overflowed,
}

#[derive(Debug)]
struct Sender {
    tx: async_channel::Sender<Notice>,
    overflowed: Arc<AtomicBool>,
}

/// The per-account subscriber lists of one store.
#[derive(Debug, Default)]
pub(crate) struct Notifier {
    accounts: Mutex<HashMap<String, Vec<Sender>>>,
    /// Store-wide subscribers ([`StoreSubscription`]): every account's
    /// changes, tagged with the account.
    all: Mutex<Vec<AllSender>>,
}

#[derive(Debug)]
struct AllSender {
    tx: async_channel::Sender<(String, Notice)>,
    overflowed: Arc<AtomicBool>,
}

impl Notifier {
    pub(crate) fn subscribe(&self, account: &str) -> Subscription {
        // Unbounded in the channel (it allocates blocks lazily, so an idle
        // subscription costs a few hundred bytes, not QUEUE slots up
        // front); the bound is enforced in `publish`.
        let (tx, rx) = async_channel::unbounded();
        let overflowed = Arc::new(AtomicBool::new(false));
        self.lock()
            .entry(account.to_owned())
            .or_default()
            .push(Sender {
                tx,
                overflowed: Arc::clone(&overflowed),
            });
        Subscription { rx, overflowed }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Sender>>> {
        self.accounts.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn subscribe_all(&self) -> StoreSubscription {
        let (tx, rx) = async_channel::unbounded();
        let overflowed = Arc::new(AtomicBool::new(false));
        self.lock_all().push(AllSender {
            tx,
            overflowed: Arc::clone(&overflowed),
        });
        StoreSubscription { rx, overflowed }
    }

    fn lock_all(&self) -> std::sync::MutexGuard<'_, Vec<AllSender>> {
        self.all.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes to the store-wide subscribers, with the same bound per
    /// subscriber as the per-account lists.
    fn publish_all(&self, account: &str, notices: &[Notice]) {
        let mut list = self.lock_all();
        if list.is_empty() {
            return;
        }
        list.retain(|s| !s.tx.is_closed());
        for s in list.iter() {
            if s.overflowed.load(Ordering::Acquire) {
                continue;
            }
            for n in notices {
                if s.tx.len() >= QUEUE {
                    s.overflowed.store(true, Ordering::Release);
                    break;
                }
                if s.tx.try_send((account.to_owned(), n.clone())).is_err() {
                    break;
                }
            }
        }
    }

    /// Publishes to every live subscriber of `account` and to the
    /// store-wide subscribers; never blocks.
    pub(crate) fn publish(&self, account: &str, notices: Vec<Notice>) {
        if notices.is_empty() {
            return;
        }
        self.publish_all(account, &notices);
        let mut map = self.lock();
        let Some(list) = map.get_mut(account) else {
            return;
        };
        list.retain(|s| !s.tx.is_closed());
        for s in list.iter() {
            if s.overflowed.load(Ordering::Acquire) {
                continue;
            }
            for n in &notices {
                if s.tx.len() >= QUEUE {
                    // The receiver has QUEUE events waiting, so it is not
                    // asleep: it sees the flag at its next receive.
                    s.overflowed.store(true, Ordering::Release);
                    break;
                }
                if s.tx.try_send(n.clone()).is_err() {
                    break;
                }
            }
        }
        if list.is_empty() {
            map.remove(account);
        }
    }
}

/// A live subscription to one account's changes; dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    rx: async_channel::Receiver<Notice>,
    overflowed: Arc<AtomicBool>,
}

impl Subscription {
    fn overflow(&self) -> Option<Event> {
        if self.overflowed.load(Ordering::Acquire) {
            // Drop what is queued: the session resyncs from the index.
            while self.rx.try_recv().is_ok() {}
            self.overflowed.store(false, Ordering::Release);
            return Some(Event::Overflowed);
        }
        None
    }

    /// The next event without waiting, if any.
    #[must_use]
    pub fn try_recv(&self) -> Option<Event> {
        if let Some(e) = self.overflow() {
            return Some(e);
        }
        self.rx.try_recv().ok().map(Event::Change)
    }

    /// Waits for the next event (any async runtime). `None` when the store
    /// is gone.
    pub async fn recv(&self) -> Option<Event> {
        if let Some(e) = self.overflow() {
            return Some(e);
        }
        match self.rx.recv().await {
            Ok(n) => Some(self.overflow().unwrap_or(Event::Change(n))),
            Err(_) => None,
        }
    }

    /// Blocks for the next event (for blocking code). `None` when the store
    /// is gone.
    #[must_use]
    pub fn recv_blocking(&self) -> Option<Event> {
        if let Some(e) = self.overflow() {
            return Some(e);
        }
        match self.rx.recv_blocking() {
            Ok(n) => Some(self.overflow().unwrap_or(Event::Change(n))),
            Err(_) => None,
        }
    }

    /// The number of queued events.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether no event is queued.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }
}

/// What a [`StoreSubscription`] receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreEvent {
    /// A change of one account (its normalised address), in commit order
    /// for that account.
    Change {
        /// The account's normalised address (index key).
        account: String,
        /// What changed.
        notice: Notice,
    },
    /// The subscriber fell more than [`QUEUE`] events behind and changes
    /// were dropped: resync from the index.
    Overflowed,
}

/// A live subscription to the changes of every account of the store (the
/// HTTP API's long-poll and event stream); dropping it unsubscribes. Bounded
/// like [`Subscription`].
#[derive(Debug)]
pub struct StoreSubscription {
    rx: async_channel::Receiver<(String, Notice)>,
    overflowed: Arc<AtomicBool>,
}

impl StoreSubscription {
    fn overflow(&self) -> Option<StoreEvent> {
        if self.overflowed.load(Ordering::Acquire) {
            while self.rx.try_recv().is_ok() {}
            self.overflowed.store(false, Ordering::Release);
            return Some(StoreEvent::Overflowed);
        }
        None
    }

    /// The next event without waiting, if any.
    #[must_use]
    pub fn try_recv(&self) -> Option<StoreEvent> {
        if let Some(e) = self.overflow() {
            return Some(e);
        }
        self.rx
            .try_recv()
            .ok()
            .map(|(account, notice)| StoreEvent::Change { account, notice })
    }

    /// Waits for the next event (any async runtime). `None` when the store
    /// is gone.
    pub async fn recv(&self) -> Option<StoreEvent> {
        if let Some(e) = self.overflow() {
            return Some(e);
        }
        match self.rx.recv().await {
            Ok((account, notice)) => Some(
                self.overflow()
                    .unwrap_or(StoreEvent::Change { account, notice }),
            ),
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(uid: u32) -> Notice {
        Notice {
            mailbox: "INBOX".into(),
            uidvalidity: 7,
            change: Change::Appended { uid, modseq: 1 },
        }
    }

    #[test]
    fn overflow_is_reported_once_then_delivery_resumes() {
        let n = Notifier::default();
        let sub = n.subscribe("a@x");
        let other = n.subscribe("b@x");
        n.publish("a@x", (0..=QUEUE as u32).map(notice).collect());
        assert_eq!(sub.try_recv(), Some(Event::Overflowed));
        assert_eq!(sub.try_recv(), None);
        n.publish("a@x", vec![notice(99)]);
        assert_eq!(sub.try_recv(), Some(Event::Change(notice(99))));
        assert_eq!(other.try_recv(), None);
    }

    #[test]
    fn store_wide_subscribers_see_every_account_and_are_bounded() {
        let n = Notifier::default();
        let all = n.subscribe_all();
        n.publish("a@x", vec![notice(1)]);
        n.publish("b@x", vec![notice(2)]);
        let account = |e: Option<StoreEvent>| match e {
            Some(StoreEvent::Change { account, .. }) => account,
            other => panic!("{other:?}"),
        };
        assert_eq!(account(all.try_recv()), "a@x");
        assert_eq!(account(all.try_recv()), "b@x");
        assert_eq!(all.try_recv(), None);
        n.publish("a@x", (0..=QUEUE as u32).map(notice).collect());
        assert_eq!(all.try_recv(), Some(StoreEvent::Overflowed));
        assert_eq!(all.try_recv(), None);
        drop(all);
        n.publish("a@x", vec![notice(3)]);
        assert!(n.lock_all().is_empty());
    }

    #[test]
    fn dropped_subscriptions_are_pruned() {
        let n = Notifier::default();
        drop(n.subscribe("a@x"));
        n.publish("a@x", vec![notice(1)]);
        assert!(n.lock().get("a@x").is_none());
    }
}
