//! APPEND: the message streams from the session into a `maildir::Append`
//! in [`WRITE_BATCH`] writes on the blocking pool, committed (fsync, then
//! the index) before the tagged OK.

use std::sync::Mutex;

use imap_proto::response::RespText;
use imap_proto::session::RequestId;
use imap_proto::types::{DateTime, Flag};

use super::ImapHandler;
use super::convert::*;
use super::spool::{PendingAppend, Spool};

/// APPEND data is written to the file in batches of this size.
pub(super) const WRITE_BATCH: usize = 64 * 1024;

impl ImapHandler {
    /// Starts an APPEND to `mailbox`; `selected` is the mailbox this
    /// session has selected read-write, if any (an APPEND to it is shown
    /// `\Recent` to this session: [`maildir::Append::recent_to_appender`]).
    pub(super) async fn append_begin(
        &mut self,
        id: RequestId,
        mailbox: String,
        flags: Vec<Flag>,
        date: Option<DateTime>,
        binary: bool,
        selected: Option<String>,
    ) -> Result<(), RespText> {
        let to_selected = selected.is_some_and(|s| {
            let canonical = |n: &str| maildir::canonical_mailbox_name(n).ok();
            canonical(&s).is_some() && canonical(&s) == canonical(&mailbox)
        });
        let (bits, keywords) = store_flags(&flags);
        let zone = date.as_ref().map_or(0, DateTime::zone_minutes);
        let date = date.as_ref().map(DateTime::unix_seconds);
        // Index reads and a link check only: the tmp file is created when
        // the first batch is written (maildir's lazy spool), so a small
        // APPEND goes to the blocking pool once, for its commit.
        let result = self.with_index(move |store, account| {
            let mut a = store.begin_append(account, &mailbox, bits, &keywords, date)?;
            a.set_internal_zone(zone);
            Ok(a)
        });
        match result {
            Ok(append) => {
                self.append = Some(PendingAppend {
                    id,
                    append: Some(Mutex::new(Spool::One(append))),
                    buffer: Vec::new(),
                    error: None,
                    len: 0,
                    too_big: false,
                    binary: binary.then(mime_scan::BinaryToBase64::new),
                    to_selected,
                });
                Ok(())
            }
            Err(e) => Err(store_refusal(&e)),
        }
    }

    /// Writes buffered APPEND data to the file (on the blocking pool).
    pub(super) async fn append_flush(&mut self) {
        let Some(p) = self.append.as_mut() else {
            return;
        };
        if p.error.is_some() || p.buffer.is_empty() {
            return;
        }
        let Some(append) = p.append.take() else {
            return;
        };
        let mut append = append.into_inner().unwrap_or_else(|e| e.into_inner());
        let bytes = std::mem::take(&mut p.buffer);
        let (append, result) = blocking::unblock(move || {
            let r = append.write(&bytes);
            (append, r)
        })
        .await;
        p.append = Some(Mutex::new(append));
        if let Err(e) = result {
            p.error = Some(e);
        }
    }

    /// A chunk of the APPEND literal: buffered, written once a batch is
    /// full (nothing more after a write failed: the end reports it).
    pub(super) async fn append_chunk(&mut self, id: RequestId, data: &[u8]) {
        if let Some(p) = self.append.as_mut()
            && p.id == id
            && p.error.is_none()
        {
            p.len = p.len.saturating_add(data.len() as u64);
            if p.len > self.shared.config.limits.max_message_size {
                // A CATENATE grown too large by TEXT parts after its URL
                // parts: the commit refuses it.
                p.too_big = true;
                p.buffer.clear();
            } else {
                match p.binary.as_mut() {
                    Some(c) => c.feed(data, &mut p.buffer),
                    None => p.buffer.extend_from_slice(data),
                }
            }
            if p.buffer.len() >= WRITE_BATCH {
                self.append_flush().await;
            }
        }
    }

    /// Drops the APPEND in progress, if any (aborted, or the connection
    /// ended): its temporary file is removed.
    pub(super) async fn append_abort(&mut self) {
        if let Some(mut p) = self.append.take()
            && let Some(a) = p.append.take()
        {
            let a = a.into_inner().unwrap_or_else(|e| e.into_inner());
            blocking::unblock(move || a.abort()).await;
        }
    }
}
