//! The verified-credential cache, as Dovecot's `auth_cache` does it.
//!
//! A successful argon2 verification is remembered for `[auth]
//! cache_ttl_ms` as an HMAC-SHA256 of the address and password under a key
//! drawn at start-up (never the password itself, and useless outside this
//! process), so a client that logs in again and again (a phone polling
//! IMAP, a test suite) costs microseconds instead of an argon2 run. The
//! entry is dropped when the account is deleted or its password changes
//! ([`CredentialCache::invalidate`]); a verification that was already
//! running then cannot put the old password back (the epoch check).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;

/// How many accounts are cached at most (~100 bytes each). When full,
/// expired entries go, and if that is not enough, all of them.
const MAX_ENTRIES: usize = 100_000;

struct Entry {
    tag: [u8; 32],
    expires: Instant,
}

/// Recently verified (address, password) pairs.
pub struct CredentialCache {
    key: hmac::Key,
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
    /// Bumped by every invalidation.
    epoch: AtomicU64,
}

/// The cache key of an address: accounts are case-insensitive
/// (`maildir::Address` lower-cases both halves).
fn account_key(address: &str) -> String {
    address.to_lowercase()
}

impl CredentialCache {
    /// A cache keeping entries for `ttl`; zero turns it off.
    pub fn new(ttl: Duration) -> Self {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            // The OS random source failing is fatal elsewhere too; a
            // fixed key only weakens what is already process-private.
            .unwrap_or_else(|_| hmac::Key::new(hmac::HMAC_SHA256, b"sansmail"));
        CredentialCache {
            key,
            ttl,
            entries: Mutex::default(),
            epoch: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn message(key: &str, password: &str) -> Vec<u8> {
        let mut m = Vec::with_capacity(key.len() + 1 + password.len());
        m.extend_from_slice(key.as_bytes());
        m.push(0);
        m.extend_from_slice(password.as_bytes());
        m
    }

    /// Whether `password` was verified for `address` within the TTL. The
    /// comparison is constant-time (`aws_lc_rs::hmac::verify`).
    pub fn check(&self, address: &str, password: &str, now: Instant) -> bool {
        if self.ttl.is_zero() {
            return false;
        }
        let key = account_key(address);
        let tag = match self.lock().get(&key) {
            Some(e) if e.expires > now => e.tag,
            _ => return false,
        };
        hmac::verify(&self.key, &Self::message(&key, password), &tag).is_ok()
    }

    /// The current epoch: read it before a verification starts and hand it
    /// to [`CredentialCache::insert`].
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Remembers a successful verification that started at `epoch`, unless
    /// an invalidation happened since.
    pub fn insert(&self, address: &str, password: &str, epoch: u64, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let key = account_key(address);
        let tag = hmac::sign(&self.key, &Self::message(&key, password));
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(tag.as_ref());
        let mut entries = self.lock();
        // Checked under the lock that `invalidate` takes too.
        if self.epoch() != epoch {
            return;
        }
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, e| e.expires > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                tag: bytes,
                expires: now + self.ttl,
            },
        );
    }

    /// Forgets `address` (deleted, or its password changed).
    pub fn invalidate(&self, address: &str) {
        let mut entries = self.lock();
        self.epoch.fetch_add(1, Ordering::SeqCst);
        entries.remove(&account_key(address));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_the_verified_password_for_the_ttl() {
        let c = CredentialCache::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(!c.check("alice@localhost", "pw", t0));
        c.insert("Alice@Localhost", "pw", c.epoch(), t0);
        assert!(c.check("alice@localhost", "pw", t0));
        assert!(!c.check("alice@localhost", "pw2", t0));
        assert!(!c.check("bob@localhost", "pw", t0));
        assert!(!c.check("alice@localhost", "pw", t0 + Duration::from_secs(61)));
    }

    #[test]
    fn invalidation_wins_over_a_verification_in_flight() {
        let c = CredentialCache::new(Duration::from_secs(60));
        let t0 = Instant::now();
        c.insert("alice@localhost", "old", c.epoch(), t0);
        let started = c.epoch();
        c.invalidate("alice@localhost");
        assert!(!c.check("alice@localhost", "old", t0));
        c.insert("alice@localhost", "old", started, t0);
        assert!(
            !c.check("alice@localhost", "old", t0),
            "stale insert ignored"
        );
        let off = CredentialCache::new(Duration::ZERO);
        off.insert("a@b", "p", off.epoch(), t0);
        assert!(!off.check("a@b", "p", t0));
    }
}
