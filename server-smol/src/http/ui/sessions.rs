//! The web UI's login sessions (random 256-bit ids, 12 h idle expiry, at
//! most 10,000). A leaf: `shared.rs` holds the store of them and the UI
//! glue uses it, without either importing the other.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a session lives without being used.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// At most this many live sessions (older ones are dropped first).
const MAX_SESSIONS: usize = 10_000;

/// Who a request acts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The API token, `auth = "none"`, or a session opened with the token:
    /// every account.
    Admin,
    /// A session opened with this account's password: only its own mail.
    User(String),
}

/// One UI login session.
#[derive(Clone)]
pub(crate) struct Session {
    /// Who it acts for.
    pub(crate) principal: Principal,
    /// The token state-changing requests must carry.
    pub(crate) csrf: String,
    last_used: Instant,
}

/// The live UI sessions of one server.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// A new session; `None` when the OS random source fails (the login is
    /// then refused with 500 rather than given a guessable session).
    pub(crate) fn open(&self, principal: Principal) -> Option<(String, String)> {
        let id = random_hex()?;
        let csrf = random_hex()?;
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, s| now.duration_since(s.last_used) < SESSION_TTL);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            id.clone(),
            Session {
                principal,
                csrf: csrf.clone(),
                last_used: now,
            },
        );
        Some((id, csrf))
    }

    pub(crate) fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let s = map.get_mut(id)?;
        if now.duration_since(s.last_used) >= SESSION_TTL {
            map.remove(id);
            return None;
        }
        s.last_used = now;
        Some(s.clone())
    }

    pub(crate) fn close(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Ends every session of `address` (deleted, or its password changed).
    pub fn account_changed(&self, address: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, s| s.principal != Principal::User(address.to_owned()));
    }
}

fn random_hex() -> Option<String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
