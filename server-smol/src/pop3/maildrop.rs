//! The POP3 state shared by every connection: which maildrops are locked
//! (RFC 1939 §8: one session per maildrop) and the cached wire sizes.
//! A leaf below both `shared.rs` and the POP3 glue, so neither needs the
//! other to name these types.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::{Arc, Mutex};

use maildir::{INBOX, MessageInfo};
use pop3_proto::WireSize;

/// A message is copied to the client in reads of this size.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// Accounts whose maildrop a POP3 session holds.
#[derive(Default)]
pub struct MaildropLocks(Arc<Mutex<HashSet<String>>>);

/// Holds one account's maildrop lock; released on drop.
pub struct MaildropLock {
    held: Arc<Mutex<HashSet<String>>>,
    key: String,
}

impl MaildropLocks {
    /// The lock of `address`'s maildrop, unless another session holds it.
    pub(crate) fn try_lock(&self, address: &str) -> Option<MaildropLock> {
        let key = address.to_lowercase();
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !held.insert(key.clone()) {
            return None;
        }
        Some(MaildropLock {
            held: Arc::clone(&self.0),
            key,
        })
    }
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.remove(&self.key);
    }
}

/// The sizes POP3 announces are those of the message as sent, with CRLF
/// line endings (RFC 1939 §11, counted by [`pop3_proto::WireSize`]).
/// Computing that needs a read of the message, so results are cached per
/// message (a UID names the same bytes for as long as its UIDVALIDITY
/// lasts); our own deliveries still need one scan, once.
#[derive(Default)]
pub struct WireSizes(Mutex<HashMap<(String, u32, u32), u64>>);

impl WireSizes {
    pub(crate) fn wire_size(
        &self,
        store: &maildir::Store,
        address: &str,
        uidvalidity: u32,
        message: &MessageInfo,
    ) -> u64 {
        let key = (address.to_lowercase(), uidvalidity, message.uid);
        if let Some(&size) = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return size;
        }
        let Ok(size) = wire_size(store, address, message.uid) else {
            // Unreadable now (renamed or removed meanwhile): the disk size is
            // the best guess, and not cached.
            return message.size;
        };
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, size);
        size
    }

    pub(crate) fn forget(&self, address: &str, uidvalidity: u32, uids: &[u32]) {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for &uid in uids {
            cache.remove(&(address.to_lowercase(), uidvalidity, uid));
        }
    }
}

/// The size on the wire of an INBOX message, read through the store (which
/// follows a rename by another session).
fn wire_size(store: &maildir::Store, address: &str, uid: u32) -> Result<u64, maildir::StoreError> {
    let mut file = store.open_message(address, INBOX, uid)?;
    let mut buf = vec![0u8; READ_CHUNK];
    let mut size = WireSize::new();
    loop {
        let n = file.read(&mut buf).map_err(maildir::StoreError::Io)?;
        if n == 0 {
            return Ok(size.finish());
        }
        size.update(&buf[..n]);
    }
}
