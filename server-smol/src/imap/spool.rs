//! The state of an APPEND between its first `+` and its end, shared by
//! the single-message path (`append.rs`) and MULTIAPPEND/CATENATE
//! (`multiappend.rs`), which turns the first into the second when a
//! second message arrives; below both, so neither imports the other.

use std::sync::Mutex;

use imap_proto::session::RequestId;
use imap_proto::types::Flag;
use maildir::{Append, MultiAppend, StoreError};

use super::convert::store_flags;

/// An APPEND between its `+` and its end.
pub(super) struct PendingAppend {
    pub(super) id: RequestId,
    /// In a mutex only so the handler is `Sync` (its futures borrow it
    /// across awaits); never contended.
    pub(super) append: Option<Mutex<Spool>>,
    pub(super) buffer: Vec<u8>,
    pub(super) error: Option<StoreError>,
    /// Octets of the current message so far (CATENATE `[TOOBIG]`).
    pub(super) len: u64,
    /// A CATENATE message grew over the size limit through its `TEXT`
    /// parts: the command fails with `[TOOBIG]` at its end.
    pub(super) too_big: bool,
    /// A literal8 APPEND (RFC 3516 §4.4): binary parts are stored as
    /// base64, since a Maildir file is RFC 5322 text (as Dovecot does);
    /// BINARY[] gives the octets back.
    pub(super) binary: Option<mime_scan::BinaryToBase64>,
    /// The session has the target mailbox selected read-write: a single
    /// message is stored in `cur/` and shown `\Recent` to this session
    /// ([`maildir::Append::recent_to_appender`]).
    pub(super) to_selected: bool,
}

/// The store side of an APPEND in progress.
#[derive(Debug)]
pub(super) enum Spool {
    /// One message so far (group commit).
    One(Append),
    /// Several, or a CATENATE: committed together.
    Many(MultiAppend),
}

impl Spool {
    pub(super) fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        match self {
            Spool::One(a) => a.write(bytes),
            Spool::Many(m) => m.write(bytes),
        }
    }

    /// Starts another message, turning a single APPEND into a MULTIAPPEND.
    /// On error everything spooled is dropped (its tmp files removed):
    /// the command fails as a whole.
    pub(super) fn next_message(
        self,
        flags: &[Flag],
        date: Option<i64>,
        zone: i16,
        size: Option<u64>,
    ) -> Result<MultiAppend, StoreError> {
        let mut many = match self {
            Spool::One(a) => a.into_multiappend()?,
            Spool::Many(m) => m,
        };
        // RFC 3502: refused before the client sends a message that cannot
        // fit, not after the whole command.
        many.check_quota(size.unwrap_or(0))?;
        let (bits, keywords) = store_flags(flags);
        many.begin_message(bits, &keywords, date)?;
        many.set_internal_zone(zone);
        Ok(many)
    }

    /// Commits every message: `(UIDVALIDITY, UIDs, whether the appender
    /// took their \Recent)`. With `to_selected`, a single message goes to
    /// `cur/` for the appending session to show `\Recent`; a MULTIAPPEND
    /// keeps them in `new/` for whoever claims them first.
    pub(super) fn commit(self, to_selected: bool) -> Result<(u32, Vec<u32>, bool), StoreError> {
        match self {
            Spool::One(mut a) => {
                if to_selected {
                    a.recent_to_appender();
                }
                a.commit().map(|(v, uid)| (v, vec![uid], to_selected))
            }
            Spool::Many(m) => m.commit().map(|a| (a.uidvalidity, a.uids, false)),
        }
    }

    pub(super) fn abort(self) {
        match self {
            Spool::One(a) => a.abort(),
            Spool::Many(m) => m.abort(),
        }
    }
}
