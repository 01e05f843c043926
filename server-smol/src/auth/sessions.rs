//! Which sessions are logged in to which account, so that deleting an
//! account or changing its password ends them (Dovecot kicks them with
//! `doveadm kick`; we do it on `user del` and `user passwd`).
//!
//! A login takes a [`LoginTicket`] *before* its password is checked, so a
//! deletion that lands while the check runs still reaches it. Revoking
//! drops the ticket's channel sender: the session's pump sees the channel
//! closed, sends the protocol's goodbye and closes the connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use smol::channel::{Receiver, Sender, bounded};

/// The open logins of one account: (ticket id, the sender whose drop
/// revokes the ticket).
type AccountLogins = Vec<(u64, Sender<()>)>;

/// Every open login, by lower-cased address.
#[derive(Default)]
pub struct Logins {
    open: Mutex<HashMap<String, AccountLogins>>,
    next: AtomicU64,
}

/// One session's claim on an account; dropping it unregisters the session.
pub struct LoginTicket {
    logins: Arc<Logins>,
    key: String,
    id: u64,
    revoked: Receiver<()>,
}

impl Logins {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, AccountLogins>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a session (about to be) logged in to `address`.
    pub fn register(self: &Arc<Self>, address: &str) -> LoginTicket {
        let key = address.to_lowercase();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = bounded(1);
        self.lock().entry(key.clone()).or_default().push((id, tx));
        LoginTicket {
            logins: self.clone(),
            key,
            id,
            revoked: rx,
        }
    }

    /// Ends every session of `address`; returns how many there were.
    pub fn revoke(&self, address: &str) -> usize {
        self.lock()
            .remove(&address.to_lowercase())
            .map_or(0, |v| v.len())
    }

    /// How many sessions are registered for `address`.
    #[cfg(test)]
    pub fn count(&self, address: &str) -> usize {
        self.lock()
            .get(&address.to_lowercase())
            .map_or(0, |v| v.len())
    }
}

impl LoginTicket {
    /// Whether the account was deleted or its password changed since.
    pub fn is_revoked(&self) -> bool {
        self.revoked.is_closed()
    }

    /// A receiver whose `recv()` fails once the ticket is revoked (the pump
    /// races it against the socket).
    pub fn watch(&self) -> Receiver<()> {
        self.revoked.clone()
    }
}

impl Drop for LoginTicket {
    fn drop(&mut self) {
        let mut open = self.logins.lock();
        if let Some(v) = open.get_mut(&self.key) {
            v.retain(|(id, _)| *id != self.id);
            if v.is_empty() {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_reaches_every_ticket_of_the_account_only() {
        let logins = Arc::new(Logins::default());
        let a = logins.register("Bob@localhost");
        let b = logins.register("bob@localhost");
        let c = logins.register("alice@localhost");
        assert_eq!(logins.count("BOB@localhost"), 2);
        assert_eq!(logins.revoke("bob@LOCALHOST"), 2);
        assert!(a.is_revoked() && b.is_revoked());
        assert!(!c.is_revoked());
        assert!(smol::block_on(a.watch().recv()).is_err());
        drop(c);
        assert_eq!(logins.count("alice@localhost"), 0);
        let d = logins.register("bob@localhost");
        assert!(!d.is_revoked(), "a new login after the revocation is fine");
    }
}
