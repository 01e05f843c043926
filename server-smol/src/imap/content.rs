//! Message content for FETCH, SEARCH and BINARY: the session asks for
//! offsets, the header, the whole message or a stream
//! ([`ContentNeed`]), and for large sections a byte range written straight
//! from the file ([`Event::WriteExternal`](imap_proto::session::Event::WriteExternal)).

use std::io::{Read, Seek, SeekFrom};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use imap_proto::message::PartOffsets;
use imap_proto::session::{ContentNeed, MessageContent, RequestId, ServerSession};
use maildir::StoreError;

use super::ImapHandler;
use crate::pump::{Next, Output};

/// A message is copied to the client in reads of this size.
const READ_CHUNK: usize = 64 * 1024;

/// Messages up to this size are read on the connection's thread when the
/// page cache holds them ([`ImapHandler::read_cached`]).
const INLINE_READ_MAX: u64 = 256 * 1024;

impl ImapHandler {
    pub(super) async fn read_message(
        &mut self,
        mailbox: String,
        uid: NonZeroU32,
        need: ContentNeed,
    ) -> MessageContent {
        let uid = uid.get();
        self.held = None;
        if let Some(content) = self.read_cached(&mailbox, uid, need) {
            return content;
        }
        let held = Arc::new(Mutex::new(None));
        let keep = held.clone();
        let result = self
            .with_store(move |store, account| {
                let offsets = store.mime_parts(account, &mailbox, uid)?;
                match need {
                    ContentNeed::Offsets => match offsets {
                        // The literal is announced with the indexed size
                        // and copied from the file later: check now that
                        // the file still has that size (the store reports
                        // a truncated file), rather than announce bytes
                        // that cannot be sent, and keep the descriptor to
                        // copy from (`held`).
                        Some(o) => store.open_message(account, &mailbox, uid).map(|f| {
                            *keep.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
                            MessageContent::Offsets(o)
                        }),
                        None => read_whole(store, account, &mailbox, uid, None),
                    },
                    ContentNeed::Header => {
                        let mut file = store.open_message(account, &mailbox, uid)?;
                        match offsets {
                            Some(o) => {
                                // Read through `take` rather than allocate
                                // `body_start` up front: the offsets come from
                                // the index, the bytes from a file another
                                // program may have replaced meanwhile.
                                let mut buf = Vec::new();
                                (&mut file).take(o.body_start).read_to_end(&mut buf)?;
                                if (buf.len() as u64) < o.body_start {
                                    return read_whole(store, account, &mailbox, uid, None);
                                }
                                Ok(MessageContent::Header(Bytes::from(buf)))
                            }
                            None => read_whole(store, account, &mailbox, uid, None),
                        }
                    }
                    // Stream is answered by `stream_message`.
                    ContentNeed::Stream | ContentNeed::Message => {
                        read_whole(store, account, &mailbox, uid, offsets)
                    }
                }
            })
            .await;
        let held = held.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.held = held.map(|f| (uid, f));
        match result {
            Ok(content) => content,
            Err(e) => unreadable(uid, &e),
        }
    }

    /// A FETCH's message read without the blocking pool, or `None` to take
    /// it. Handing each message to the pool and back costs two wake-ups
    /// and two context switches, more than the read itself when the file
    /// is in the page cache, as the messages a client fetches usually are
    /// (issue "IMAP performance": FETCH latency under imaptest fell from
    /// 4–5 ms to under 1 ms). So this thread does the index lookups (redb
    /// serves them from its own cache), opens the file, and reads it with
    /// [`maildir::read_if_cached`], which never waits for the disk. A
    /// miss, a large message, offsets never indexed, or any error takes
    /// the pool path, which also reports errors.
    fn read_cached(
        &mut self,
        mailbox: &str,
        uid: u32,
        need: ContentNeed,
    ) -> Option<MessageContent> {
        if let Some(c) = self.content_cached(mailbox, uid) {
            return Some(MessageContent::Message {
                bytes: c.bytes,
                offsets: Some(c.parts),
            });
        }
        let account = self.account.as_deref()?;
        let store = &self.shared.store;
        let m = store.open_indexed(account, mailbox, uid).ok()??;
        let offsets = m.parts?;
        // SELECT set the mailbox's id; the name may have been reused by
        // another mailbox since, whose messages are cached under its own.
        if self.cache_box.is_none() {
            self.cache_box = Some((mailbox.to_owned(), m.mailbox_id));
        }
        // A small message is read whole whatever was asked, and kept in
        // the store's content cache: the next FETCH of it (ENVELOPE,
        // BODYSTRUCTURE, header fields, sections), by any session, needs
        // no index lookup and no open.
        if m.size <= maildir::CONTENT_CACHE_ENTRY_MAX as u64 {
            let bytes = maildir::read_if_cached(&m.file, usize::try_from(m.size).ok()?).ok()??;
            if bytes.len() as u64 != m.size {
                // The file changed behind the index; the pool path sorts
                // it out.
                return None;
            }
            let bytes = Bytes::from(bytes);
            store.cache_content(
                m.mailbox_id,
                uid,
                maildir::CachedContent {
                    bytes: bytes.clone(),
                    parts: offsets.clone(),
                },
            );
            return Some(MessageContent::Message {
                bytes,
                offsets: Some(offsets),
            });
        }
        let file = m.file;
        match need {
            ContentNeed::Offsets => {
                // The literal is copied from this descriptor later.
                self.held = Some((uid, file));
                Some(MessageContent::Offsets(offsets))
            }
            ContentNeed::Header => {
                let want = offsets.body_start.min(INLINE_READ_MAX);
                if want < offsets.body_start {
                    return None;
                }
                let head = maildir::read_if_cached(&file, usize::try_from(want).ok()?).ok()??;
                // Shorter: the file changed behind the index; the pool
                // path sorts it out.
                (head.len() as u64 == want).then(|| MessageContent::Header(Bytes::from(head)))
            }
            // Larger than the cache takes: read on the pool (Stream is
            // answered by `stream_message`).
            ContentNeed::Stream | ContentNeed::Message => None,
        }
    }

    /// The message from the store's content cache, when this session knows
    /// the mailbox's id (from an earlier read) and another read kept it.
    pub(super) fn content_cached(&self, mailbox: &str, uid: u32) -> Option<maildir::CachedContent> {
        let (name, id) = self.cache_box.as_ref()?;
        if name != mailbox {
            return None;
        }
        self.shared.store.cached_content(*id, uid)
    }

    /// Answers a [`ContentNeed::Stream`] read: the part offsets, then the
    /// file in [`READ_CHUNK`] reads handed to the session as they come
    /// (BINARY and body searches decode and match them on the way), so a
    /// message is never held whole. `Err` when the session refused a call
    /// (a bug in this glue: the connection is closed).
    pub(super) async fn stream_message(
        &self,
        session: &mut ServerSession,
        mailbox: String,
        id: RequestId,
        uid: NonZeroU32,
    ) -> Result<MessageContent, ()> {
        let uid = uid.get();
        if let Some(c) = self.content_cached(&mailbox, uid) {
            session.message_begin(id, c.parts).map_err(|_| ())?;
            session.message_chunk(id, &c.bytes).map_err(|_| ())?;
            return Ok(MessageContent::Streamed);
        }
        let opened = self
            .with_store(move |store, account| {
                let offsets = store.mime_parts(account, &mailbox, uid)?;
                // Opened after the offsets: the size check (a file
                // truncated behind the index) is the last word.
                let file = store.open_message(account, &mailbox, uid)?;
                let size = file.metadata()?.len();
                Ok((offsets, file, size))
            })
            .await;
        let (offsets, mut file, size) = match opened {
            Ok((Some(o), f, size)) => (o, f, size),
            Ok((None, ..)) => return Ok(MessageContent::Gone),
            Err(e) => return Ok(unreadable(uid, &e)),
        };
        session.message_begin(id, offsets).map_err(|_| ())?;
        let mut buf = vec![0u8; READ_CHUNK];
        let mut sent = 0u64;
        loop {
            let (f, b, n) = blocking::unblock(move || {
                let n = file.read(&mut buf);
                (file, buf, n)
            })
            .await;
            (file, buf) = (f, b);
            match n {
                Ok(0) => break,
                Ok(n) => {
                    session.message_chunk(id, &buf[..n]).map_err(|_| ())?;
                    sent += n as u64;
                }
                Err(e) => {
                    tracing::warn!("imap: message {uid} unreadable: {e}");
                    return Ok(MessageContent::Unreadable);
                }
            }
        }
        if sent != size {
            tracing::warn!(uid, size, sent, "imap: message file changed while read");
            return Ok(MessageContent::Unreadable);
        }
        Ok(MessageContent::Streamed)
    }

    pub(super) async fn write_external(
        &mut self,
        session: &mut ServerSession,
        mailbox: String,
        id: RequestId,
        uid: NonZeroU32,
        range: std::ops::Range<u64>,
        out: &mut Output<'_>,
    ) -> Next {
        let uid = uid.get();
        let start = range.start;
        // The descriptor ReadMessage checked (still readable if the file
        // was unlinked since); else open it again.
        // (Cloned, not taken: one FETCH may have several literals from
        // one message, e.g. `BODY[TEXT] BODY[]`.)
        let held = match self.held.as_ref() {
            Some((u, f)) if *u == uid => f.try_clone().ok(),
            _ => None,
        };
        let opened = self
            .with_store(move |store, account| {
                let mut f = match held {
                    Some(f) => f,
                    None => store.open_message(account, &mailbox, uid)?,
                };
                f.seek(SeekFrom::Start(start))?;
                Ok(f)
            })
            .await;
        let mut remaining = range.end.saturating_sub(range.start);
        if let Ok(mut file) = opened {
            while remaining > 0 {
                let want = remaining.min(READ_CHUNK as u64) as usize;
                let (f, buf, n) = blocking::unblock(move || {
                    let mut buf = vec![0u8; want];
                    let n = file.read(&mut buf);
                    (file, buf, n)
                })
                .await;
                file = f;
                let n = match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if session.send_external_chunk(id, &buf[..n]).is_err() {
                    break;
                }
                remaining -= n as u64;
                if out.flush(session).await.is_err() {
                    return Next::Close;
                }
            }
        }
        // A short file (changed behind our back) makes the session close the
        // connection: a literal cannot be cut short. Said in the log, as
        // the client only sees the connection end.
        if remaining > 0 {
            tracing::warn!(
                uid,
                missing = remaining,
                "imap: message file shorter than its announced literal; closing the connection"
            );
        }
        answered!(session.finish_external(id));
        Next::Continue
    }
}

/// The answer for a message the store cannot serve: gone when its file
/// vanished (expunged meanwhile), else unreadable (a file shorter than its
/// indexed size, a symbolic link, an IO error), which makes the FETCH end
/// `NO [SERVERBUG]` instead of announcing a literal it cannot complete.
fn unreadable(uid: u32, e: &StoreError) -> MessageContent {
    match e {
        StoreError::Io(io) if io.kind() == std::io::ErrorKind::NotFound => MessageContent::Gone,
        e => {
            tracing::warn!("imap: message {uid} unreadable: {e}");
            MessageContent::Unreadable
        }
    }
}

fn read_whole(
    store: &maildir::Store,
    account: &str,
    mailbox: &str,
    uid: u32,
    offsets: Option<PartOffsets>,
) -> Result<MessageContent, StoreError> {
    let mut file = store.open_message(account, mailbox, uid)?;
    // Sized from the file: `read_to_end` on an empty Vec doubles its
    // buffer as it goes, which can hold up to twice the message at once.
    let len = file.metadata().map_or(0, |m| m.len());
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
    file.read_to_end(&mut bytes)?;
    Ok(MessageContent::Message {
        bytes: Bytes::from(bytes),
        offsets,
    })
}
