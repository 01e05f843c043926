//! The content cache: the bytes and MIME part offsets of recently read
//! small messages, by (mailbox id, UID), shared by every session of the
//! store.
//!
//! Why: a FETCH of ENVELOPE, BODYSTRUCTURE or header fields over a range of
//! messages looked each one up in the index twice (its offsets, then its
//! file name), opened its file and read it, per message and per command.
//! Under imaptest's read mix that was about a third of the server's CPU
//! (issue "IMAP performance"). Dovecot answers the same items from its
//! `dovecot.index.cache` file without opening the message. A message's
//! content never changes under its UID (RFC 9051 §2.3.1.1: a UID names one
//! message for the life of its UIDVALIDITY) and mailbox ids are never
//! reused (`index.rs`, `next_mailbox_id`), so an entry is never stale:
//! there is nothing to invalidate. Expunged messages' entries are
//! evicted in time like any other.
//!
//! Bounded: at most [`ENTRY_MAX`] bytes per message and `capacity` bytes in
//! all (bytes plus a fixed overhead per entry), evicted by CLOCK (a FIFO
//! in which an entry read since it was last passed gets a second round).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bytes::Bytes;

use crate::mime::MimePart;

/// The largest message the cache keeps.
pub const ENTRY_MAX: usize = 256 * 1024;

/// The cache's default size in bytes.
pub const DEFAULT_CAPACITY: usize = 32 * 1024 * 1024;

/// Bytes charged per entry besides the message (key, offsets, queue slot),
/// so many tiny messages cannot grow the map without bound.
const ENTRY_OVERHEAD: usize = 256;

/// A cached message: its octets and part offsets, as the index had them.
#[derive(Clone, Debug)]
pub struct CachedContent {
    /// The whole message file.
    pub bytes: Bytes,
    /// Its MIME part offsets.
    pub parts: MimePart,
}

#[derive(Debug)]
struct Entry {
    content: CachedContent,
    referenced: bool,
}

#[derive(Debug, Default)]
struct State {
    map: HashMap<(u64, u32), Entry>,
    /// Insertion order for CLOCK; may name keys already evicted.
    order: VecDeque<(u64, u32)>,
    used: usize,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct ContentCache {
    capacity: usize,
    state: Mutex<State>,
}

fn cost(c: &CachedContent) -> usize {
    c.bytes.len() + ENTRY_OVERHEAD
}

impl ContentCache {
    /// A cache of `capacity` bytes (0 disables it).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry for `uid` in mailbox `mailbox_id`, if cached.
    pub(crate) fn get(&self, mailbox_id: u64, uid: u32) -> Option<CachedContent> {
        if self.capacity == 0 {
            return None;
        }
        let mut s = self.lock();
        let e = s.map.get_mut(&(mailbox_id, uid))?;
        e.referenced = true;
        Some(e.content.clone())
    }

    /// Keeps `content` for `uid` of `mailbox_id` (messages over
    /// [`ENTRY_MAX`] are not kept), evicting others to stay in capacity.
    pub(crate) fn insert(&self, mailbox_id: u64, uid: u32, content: CachedContent) {
        let c = cost(&content);
        if content.bytes.len() > ENTRY_MAX || c > self.capacity {
            return;
        }
        let mut guard = self.lock();
        let s = &mut *guard;
        let key = (mailbox_id, uid);
        if s.map.contains_key(&key) {
            return;
        }
        while s.used + c > self.capacity {
            let Some(k) = s.order.pop_front() else {
                break;
            };
            let Some(e) = s.map.get_mut(&k) else {
                continue;
            };
            if e.referenced {
                e.referenced = false;
                s.order.push_back(k);
                continue;
            }
            if let Some(e) = s.map.remove(&k) {
                s.used -= cost(&e.content);
            }
        }
        s.used += c;
        s.order.push_back(key);
        s.map.insert(
            key,
            Entry {
                content,
                referenced: false,
            },
        );
    }

    /// Bytes held now (messages plus per-entry overhead).
    #[cfg(test)]
    fn used(&self) -> usize {
        self.lock().used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(n: usize) -> CachedContent {
        let bytes = Bytes::from(vec![b'x'; n]);
        let parts = MimePart::parse(&bytes);
        CachedContent { bytes, parts }
    }

    #[test]
    fn an_entry_is_found_by_mailbox_and_uid() {
        let c = ContentCache::new(1 << 20);
        c.insert(1, 7, content(10));
        assert_eq!(c.get(1, 7).map(|e| e.bytes.len()), Some(10));
        assert!(c.get(2, 7).is_none());
        assert!(c.get(1, 8).is_none());
    }

    #[test]
    fn capacity_is_kept_and_referenced_entries_get_a_second_round() {
        let per = 1000 + ENTRY_OVERHEAD;
        let c = ContentCache::new(3 * per);
        c.insert(1, 1, content(1000));
        c.insert(1, 2, content(1000));
        c.insert(1, 3, content(1000));
        assert!(c.get(1, 1).is_some());
        // Full: UID 1 was read, so UID 2 goes.
        c.insert(1, 4, content(1000));
        assert!(c.used() <= 3 * per);
        assert!(c.get(1, 1).is_some());
        assert!(c.get(1, 2).is_none());
        assert!(c.get(1, 3).is_some());
        assert!(c.get(1, 4).is_some());
        for uid in 5..100 {
            c.insert(1, uid, content(1000));
            assert!(c.used() <= 3 * per);
        }
    }

    #[test]
    fn large_messages_are_not_kept_and_zero_capacity_keeps_nothing() {
        let c = ContentCache::new(DEFAULT_CAPACITY);
        c.insert(1, 1, content(ENTRY_MAX + 1));
        assert!(c.get(1, 1).is_none());
        let off = ContentCache::new(0);
        off.insert(1, 1, content(10));
        assert!(off.get(1, 1).is_none());
    }
}
