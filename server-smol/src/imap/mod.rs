//! IMAP glue: answers `imap-proto` session events from the store. All IMAP
//! semantics (states, sequence numbers, when updates are announced, FETCH
//! and SEARCH building) live in the session; this file only translates
//! between its protocol-shaped questions and `maildir` calls, on the
//! blocking pool.
//!
//! Other sessions' changes reach a session through the store's per-account
//! change channel: the pump races it against the socket
//! ([`Handler::outside`]), and every notice for the selected mailbox is
//! handed to the session, which announces it when the protocol allows
//! (at once while idling). `changes.rs` turns notices into
//! [`MailboxChange`](imap_proto::view::MailboxChange)s: a read-write
//! session claims the `\Recent` of the new messages it is told of (the
//! first session told gets it, RFC 3501 §2.3.2), and a subscription that
//! overflowed (more than [`maildir::SUBSCRIPTION_QUEUE`] notices behind) resynchronises
//! the view from the index with
//! [`ServerSession::mailbox_resync`](imap_proto::session::ServerSession::mailbox_resync).

use std::io::{Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use imap_proto::command::StoreAction;
use imap_proto::message::PartOffsets;
use imap_proto::response::{Code, RespText, UnitCode};
use imap_proto::session::{
    AppendAnswer, ContentNeed, CopyAnswer, Event, MailboxInfo, MailboxOp, MessageContent,
    QuotaAnswer, RequestId, SelectAnswer, ServerConfig, ServerSession, StatusAnswer, StoreAnswer,
    TransportKind, refusal,
};
use imap_proto::types::{DateTime, Flag, FlagPerm, MailboxAttribute};
use imap_proto::view::{FlagUpdate, MessageSummary};
use maildir::{Append, FlagChange, FlagOp, Flags, StoreError, Subscription};

use crate::pump::{Handler, Next, Output};

mod changes;
mod convert;
pub mod urlauth;
use crate::server::Shared;
use convert::*;

/// Hands an answer to the session. A refused answer (a wrong id or state)
/// is a bug in this glue: it is logged and the connection closed, never
/// ignored (the session would wait for an answer that never comes).
macro_rules! answered {
    ($call:expr) => {
        if $call.is_err() {
            tracing::error!("imap: the session refused an answer (wrong id or state); closing");
            return Next::Close;
        }
    };
}

/// A message is copied to the client in reads of this size.
const READ_CHUNK: usize = 64 * 1024;
/// APPEND data is written to the file in batches of this size.
const WRITE_BATCH: usize = 64 * 1024;

crate::pump::session_io!(ServerSession, Event);

/// The session configuration for a new connection.
pub fn session_config(shared: &Shared, peer: &SocketAddr, tls: bool) -> ServerConfig {
    let mut config = ServerConfig::new(format!("{} IMAP sansmail ready", shared.config.hostname));
    config.tls_active = tls;
    config.allow_plaintext = shared.config.auth.plaintext.allows_plaintext(peer);
    config.limits.max_message_size = shared.config.limits.max_message_size;
    if shared.acceptor.is_none() {
        config
            .capabilities
            .before_login
            .retain(|c| *c != imap_proto::types::Capability::StartTls);
    }
    config
}

/// Per-connection state of the IMAP glue.
pub struct ImapHandler {
    shared: Arc<Shared>,
    peer: SocketAddr,
    account: Option<String>,
    changes: Option<Subscription>,
    /// This session's place in the per-account session limit.
    slot: Option<crate::net::AccountSlot>,
    /// Revoked when the account is deleted or its password changes.
    login: Option<crate::auth::LoginTicket>,
    /// The change notices waiting for the session.
    pending: Vec<maildir::Notice>,
    /// Notices were lost: resynchronise the view from the index.
    overflowed: bool,
    /// New messages this session claimed as `\Recent` that its view has
    /// not been told of yet.
    claimed: std::collections::BTreeSet<u32>,
    append: Option<PendingAppend>,
    /// The file `ReadMessage` (offsets) opened before the session
    /// announced a literal from it (UID, file): `WriteExternal` copies from
    /// this descriptor, so a message another session expunges (unlinks)
    /// in between is still sent whole, as announced, instead of the
    /// connection being closed mid-literal (imaptest's stress run saw
    /// "Connection reset by peer" right after `BODY[] {89}`). The session
    /// asks for the next message only after its literals are written, so
    /// one is enough; it is dropped at the next read.
    held: Option<(u32, std::fs::File)>,
}

struct PendingAppend {
    id: RequestId,
    /// In a mutex only so the handler is `Sync` (its futures borrow it
    /// across awaits); never contended.
    append: Option<Mutex<Append>>,
    buffer: Vec<u8>,
    error: Option<StoreError>,
}

impl ImapHandler {
    /// Glue for a new connection from `peer`.
    pub fn new(shared: Arc<Shared>, peer: SocketAddr) -> Self {
        ImapHandler {
            shared,
            peer,
            account: None,
            changes: None,
            slot: None,
            login: None,
            pending: Vec::new(),
            overflowed: false,
            claimed: std::collections::BTreeSet::new(),
            held: None,
            append: None,
        }
    }

    /// Runs a store call for the logged-in account on the blocking pool.
    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&maildir::Store, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let Some(account) = self.account.clone() else {
            return Err(StoreError::NoSuchAccount(String::new()));
        };
        let store = self.shared.store.clone();
        blocking::unblock(move || f(&store, &account)).await
    }

    async fn authenticate(
        &mut self,
        authzid: Option<String>,
        username: String,
        password: String,
    ) -> Result<(), RespText> {
        let ticket = self
            .shared
            .auth
            .authenticate("imap", &self.peer, authzid.as_deref(), &username, &password)
            .await;
        let Some(ticket) = ticket else {
            return Err(no_code(
                UnitCode::AuthenticationFailed,
                "Authentication failed",
            ));
        };
        let Some(slot) = self.shared.per_account.acquire(&username) else {
            tracing::info!(peer = %self.peer, user = %username, "imap: too many sessions");
            return Err(refusal(
                Some(Code::Unit(UnitCode::Limit)),
                "Too many sessions for this account",
            ));
        };
        self.slot = Some(slot);
        let store = self.shared.store.clone();
        let user = username.clone();
        match blocking::unblock(move || store.subscribe(&user)).await {
            Ok(sub) => self.changes = Some(sub),
            Err(e) => {
                tracing::warn!("imap: cannot subscribe to changes of {username}: {e}");
                return Err(no_code(UnitCode::Unavailable, "Mailbox store unavailable"));
            }
        }
        crate::auth::log_login("imap", &self.peer, &username);
        self.account = Some(username);
        self.login = Some(ticket);
        Ok(())
    }

    async fn select(
        &mut self,
        mailbox: String,
        read_only: bool,
        qresync_since: Option<u64>,
    ) -> Result<SelectAnswer, RespText> {
        // Notices queued before this SELECT describe the old view.
        self.reset_changes();
        let result = self
            .with_store(move |store, account| {
                // On a full disk the mailbox is still readable: picking
                // up outside changes and claiming \Recent are writes, and
                // are skipped (docs/DESIGN.md §3: a full disk is temporary).
                let full = |e: &StoreError| matches!(e, StoreError::NoSpace(_));
                match store.refresh(account, &mailbox) {
                    Ok(_) => {}
                    Err(e) if full(&e) => tracing::warn!("imap: SELECT without rescan: {e}"),
                    Err(e) => return Err(e),
                }
                // RFC 3501 §2.3.2: the first session to see a message in
                // new/ gets it as \Recent; claiming moves it to cur/.
                let claimed = if read_only {
                    Vec::new()
                } else {
                    match store.claim_recent(account, &mailbox) {
                        Err(e) if full(&e) => {
                            tracing::warn!("imap: SELECT without \\Recent: {e}");
                            Vec::new()
                        }
                        other => other?,
                    }
                };
                let mut claimed = claimed;
                claimed.sort_unstable();
                let (status, mut messages) = store.message_summaries(account, &mailbox)?;
                for m in &mut messages {
                    m.recent = m.recent || claimed.binary_search(&m.uid).is_ok();
                }
                let vanished = match qresync_since {
                    Some(since) => store.changes_since(account, &mailbox, since)?.expunged,
                    None => Vec::new(),
                };
                Ok((status, messages, vanished))
            })
            .await;
        let (status, messages, vanished) = result.map_err(|e| store_refusal(&e))?;
        let flags = vec![
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Seen,
            Flag::Draft,
        ];
        let mut permanent_flags: Vec<FlagPerm> =
            flags.iter().cloned().map(FlagPerm::Flag).collect();
        permanent_flags.push(FlagPerm::Asterisk);
        Ok(SelectAnswer {
            uid_validity: nz(status.uidvalidity).unwrap_or(NonZeroU32::MIN),
            uid_next: nz(status.uidnext).unwrap_or(NonZeroU32::MIN),
            highest_mod_seq: Some(status.highestmodseq),
            flags,
            permanent_flags,
            read_only,
            messages: messages
                .into_iter()
                .filter_map(|m| {
                    Some(MessageSummary {
                        uid: nz(m.uid)?,
                        flags: imap_flags(m.flags, &m.keywords),
                        mod_seq: m.modseq,
                        internal_date: imap_date(m.internal_date),
                        size: m.size,
                        recent: m.recent,
                        email_id: email_id(m.email_id),
                        save_date: Some(imap_date(m.save_date)),
                    })
                })
                .collect(),
            vanished: vanished.into_iter().filter_map(nz).collect(),
            mailbox_id: mailbox_id(&status),
        })
    }

    /// A mailbox operation; a CREATE answers the new MAILBOXID (RFC 8474
    /// §4.1), the others `None`.
    async fn mailbox_op(
        &mut self,
        op: MailboxOp,
    ) -> Result<Option<imap_proto::types::ObjectId>, RespText> {
        let result = self
            .with_store(move |store, account| match op {
                MailboxOp::Create {
                    name,
                    special_use: su,
                } => store
                    .create_mailbox(account, &name, special_use(&su))
                    .map(|status| mailbox_id(&status)),
                MailboxOp::Delete { name } => store.delete_mailbox(account, &name).map(|()| None),
                MailboxOp::Rename { from, to } => {
                    store.rename_mailbox(account, &from, &to).map(|()| None)
                }
                MailboxOp::Subscribe { name } => {
                    store.subscribe_mailbox(account, &name).map(|()| None)
                }
                MailboxOp::Unsubscribe { name } => {
                    store.unsubscribe_mailbox(account, &name).map(|()| None)
                }
                _ => Err(StoreError::NotAllowed("unsupported operation".into())),
            })
            .await;
        result.map_err(|e| store_refusal(&e))
    }

    async fn list(&mut self) -> Result<Vec<MailboxInfo>, RespText> {
        let result = self
            .with_store(|store, account| {
                let boxes = store.mailboxes(account)?;
                let subscribed = store.subscriptions(account)?;
                Ok((boxes, subscribed))
            })
            .await;
        let (boxes, subscriptions) = result.map_err(|e| store_refusal(&e))?;
        let mut out: Vec<MailboxInfo> = boxes
            .into_iter()
            .map(|b| MailboxInfo {
                attributes: b.special_use.and_then(attribute).into_iter().collect(),
                subscribed: b.subscribed,
                name: b.name,
            })
            .collect();
        // Subscriptions may name mailboxes that do not exist (RFC 9051
        // §6.3.9): LSUB and LIST (SUBSCRIBED) still show them.
        for name in subscriptions {
            if !out.iter().any(|m| m.name == name) {
                out.push(MailboxInfo {
                    name,
                    attributes: vec![MailboxAttribute::NonExistent],
                    subscribed: true,
                });
            }
        }
        Ok(out)
    }

    async fn status(&mut self, mailbox: String) -> Result<StatusAnswer, RespText> {
        let max = self.shared.config.limits.max_message_size;
        let result = self
            .with_store(move |store, account| store.message_summaries(account, &mailbox))
            .await;
        let (status, messages) = result.map_err(|e| store_refusal(&e))?;
        let count = |f: &dyn Fn(&maildir::MessageSummary) -> bool| {
            messages.iter().filter(|m| f(m)).count() as u32
        };
        Ok(StatusAnswer {
            messages: messages.len() as u32,
            recent: count(&|m| m.recent),
            uid_next: nz(status.uidnext).unwrap_or(NonZeroU32::MIN),
            uid_validity: nz(status.uidvalidity).unwrap_or(NonZeroU32::MIN),
            unseen: count(&|m| !m.flags.contains(Flags::SEEN)),
            deleted: count(&|m| m.flags.contains(Flags::DELETED)),
            size: messages.iter().map(|m| m.size).sum(),
            highest_mod_seq: status.highestmodseq,
            append_limit: u32::try_from(max).ok(),
            deleted_storage: messages
                .iter()
                .filter(|m| m.flags.contains(Flags::DELETED))
                .map(|m| m.size)
                .sum(),
            mailbox_id: mailbox_id(&status),
        })
    }

    /// GETQUOTA / GETQUOTAROOT (RFC 9208): the account's usage from the
    /// index and the `[limits] quota_bytes` / `quota_messages` in force.
    async fn quota(&mut self, mailbox: Option<String>) -> Result<QuotaAnswer, RespText> {
        let usage = self
            .with_store(move |store, account| {
                if let Some(m) = &mailbox {
                    store.mailbox_status(account, m)?;
                }
                store.quota_usage(account)
            })
            .await
            .map_err(|e| match e {
                StoreError::NoSuchMailbox(_) => {
                    no_code(UnitCode::NonExistent, "Mailbox does not exist")
                }
                other => store_refusal(&other),
            })?;
        Ok(QuotaAnswer {
            storage_used: usage.bytes,
            storage_limit: usage.limit.max_bytes,
            messages_used: usage.messages,
            message_limit: usage.limit.max_messages,
        })
    }

    async fn append_begin(
        &mut self,
        id: RequestId,
        mailbox: String,
        flags: Vec<Flag>,
        date: Option<DateTime>,
        size: u64,
    ) -> Result<(), RespText> {
        if size > self.shared.config.limits.max_message_size {
            return Err(no_code(UnitCode::TooBig, "Message too large"));
        }
        let (bits, keywords) = store_flags(&flags);
        let date = date.as_ref().map(epoch_secs);
        let result = self
            .with_store(move |store, account| {
                store.begin_append(account, &mailbox, bits, &keywords, date)
            })
            .await;
        match result {
            Ok(append) => {
                self.append = Some(PendingAppend {
                    id,
                    append: Some(Mutex::new(append)),
                    buffer: Vec::new(),
                    error: None,
                });
                Ok(())
            }
            Err(e) => Err(store_refusal(&e)),
        }
    }

    /// Writes buffered APPEND data to the file (on the blocking pool).
    async fn append_flush(&mut self) {
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

    async fn append_end(&mut self) -> Result<AppendAnswer, RespText> {
        self.append_flush().await;
        let Some(mut p) = self.append.take() else {
            return Err(no("No APPEND in progress"));
        };
        if let Some(e) = p.error.take() {
            return Err(store_refusal(&e));
        }
        let Some(append) = p.append.take() else {
            return Err(no("No APPEND in progress"));
        };
        let append = append.into_inner().unwrap_or_else(|e| e.into_inner());
        match blocking::unblock(move || append.commit()).await {
            Ok((uidvalidity, uid)) => match (nz(uidvalidity), nz(uid)) {
                (Some(uid_validity), Some(uid)) => Ok(AppendAnswer { uid_validity, uid }),
                _ => Err(no_code(UnitCode::ServerBug, "Invalid UID")),
            },
            Err(e) => Err(store_refusal(&e)),
        }
    }

    async fn read_message(
        &mut self,
        mailbox: String,
        uid: NonZeroU32,
        need: ContentNeed,
    ) -> MessageContent {
        let uid = uid.get();
        self.held = None;
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

    /// Answers a [`ContentNeed::Stream`] read: the part offsets, then the
    /// file in [`READ_CHUNK`] reads handed to the session as they come
    /// (BINARY and body searches decode and match them on the way), so a
    /// message is never held whole. `Err` when the session refused a call
    /// (a bug in this glue: the connection is closed).
    async fn stream_message(
        &self,
        session: &mut ServerSession,
        mailbox: String,
        id: RequestId,
        uid: NonZeroU32,
    ) -> Result<MessageContent, ()> {
        let uid = uid.get();
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

    async fn write_external(
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
        let _ = session.finish_external(id);
        Next::Continue
    }

    /// Hands every change already published (for instance by this
    /// session's own APPEND or COPY) to the session now, so it is announced
    /// before the command's tagged answer.
    async fn take_changes(&mut self, session: &mut ServerSession) {
        self.collect_changes();
        self.deliver_changes(session).await;
    }

    fn selected(&self, session: &ServerSession) -> Option<String> {
        session.selected().map(|(name, _)| name.to_string())
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

impl Handler for ImapHandler {
    type Session = ServerSession;

    async fn on_event(
        &mut self,
        session: &mut ServerSession,
        event: Event,
        out: &mut Output<'_>,
    ) -> Next {
        match event {
            Event::Authenticate {
                id,
                authzid,
                username,
                password,
                ..
            } => {
                let answer = self
                    .authenticate(authzid, username, password.expose().clone())
                    .await;
                answered!(session.respond_authenticate(id, answer));
            }
            Event::Select {
                id,
                mailbox,
                read_only,
                qresync,
            } => {
                let answer = self
                    .select(mailbox, read_only, qresync.map(|q| q.mod_seq))
                    .await;
                answered!(session.respond_select(id, answer));
            }
            Event::Mailbox { id, op } => {
                let create = matches!(op, MailboxOp::Create { .. });
                let answer = self.mailbox_op(op).await;
                if create {
                    answered!(session.respond_create(id, answer));
                } else {
                    answered!(session.respond_mailbox(id, answer.map(|_| ())));
                }
            }
            Event::List { id } => {
                let answer = self.list().await;
                answered!(session.respond_list(id, answer));
            }
            Event::Status { id, mailbox } => {
                let answer = self.status(mailbox).await;
                answered!(session.respond_status(id, answer));
            }
            Event::Quota { id, mailbox } => {
                let answer = self.quota(mailbox).await;
                answered!(session.respond_quota(id, answer));
            }
            Event::AppendBegin {
                id,
                mailbox,
                flags,
                date,
                size,
            } => {
                let answer = self.append_begin(id, mailbox, flags, date, size).await;
                answered!(session.respond_append_begin(id, answer));
            }
            Event::AppendChunk { id, data } => {
                if let Some(p) = self.append.as_mut()
                    && p.id == id
                    && p.error.is_none()
                {
                    p.buffer.extend_from_slice(&data);
                    if p.buffer.len() >= WRITE_BATCH {
                        self.append_flush().await;
                    }
                }
            }
            Event::AppendEnd { id } => {
                let answer = self.append_end().await;
                // An APPEND into the selected mailbox is announced with
                // EXISTS before the tagged OK.
                self.take_changes(session).await;
                answered!(session.respond_append_end(id, answer));
            }
            Event::AppendAbort { .. } => {
                if let Some(mut p) = self.append.take()
                    && let Some(a) = p.append.take()
                {
                    let a = a.into_inner().unwrap_or_else(|e| e.into_inner());
                    blocking::unblock(move || a.abort()).await;
                }
            }
            Event::ReadMessage {
                id,
                uid,
                need: ContentNeed::Stream,
            } => {
                let content = match self.selected(session) {
                    Some(mailbox) => match self.stream_message(session, mailbox, id, uid).await {
                        Ok(c) => c,
                        Err(()) => {
                            tracing::error!(
                                "imap: the session refused a streamed message; closing"
                            );
                            return Next::Close;
                        }
                    },
                    None => MessageContent::Gone,
                };
                answered!(session.respond_message(id, content));
            }
            Event::ReadMessage { id, uid, need } => {
                let content = match self.selected(session) {
                    Some(mailbox) => self.read_message(mailbox, uid, need).await,
                    None => MessageContent::Gone,
                };
                answered!(session.respond_message(id, content));
            }
            Event::Store {
                id,
                uids,
                action,
                flags,
                unchanged_since,
            } => {
                let answer = self
                    .store(session, uids, action, flags, unchanged_since)
                    .await;
                answered!(session.respond_store(id, answer));
            }
            Event::Copy {
                id,
                uids,
                mailbox,
                is_move,
            } => {
                let answer = self.copy(session, uids, mailbox, is_move).await;
                self.take_changes(session).await;
                answered!(session.respond_copy(id, answer));
            }
            Event::Expunge { id, uids } => {
                let answer = match self.selected(session) {
                    Some(mailbox) => {
                        let set = uid_set(&uids);
                        self.with_store(move |store, account| {
                            store.expunge(account, &mailbox, Some(&set))
                        })
                        .await
                        .map(|removed| removed.into_iter().filter_map(nz).collect())
                        .map_err(|e| store_refusal(&e))
                    }
                    None => Err(no("No mailbox selected")),
                };
                answered!(session.respond_expunge(id, answer));
            }
            Event::WriteExternal { id, uid, range } => {
                let Some(mailbox) = self.selected(session) else {
                    let _ = session.finish_external(id);
                    return Next::Continue;
                };
                return self
                    .write_external(session, mailbox, id, uid, range, out)
                    .await;
            }
            Event::GenUrlAuth { id, urls } => {
                let answer = self.genurlauth(urls).await;
                answered!(session.respond_genurlauth(id, answer));
            }
            Event::ResetKey { id, mailbox } => {
                let answer = self
                    .with_store(move |store, account| {
                        store.reset_urlauth_keys(account, mailbox.as_deref())
                    })
                    .await
                    .map_err(|e| store_refusal(&e));
                answered!(session.respond_resetkey(id, answer));
            }
            Event::UrlFetch { id, urls } => {
                let answer = self.urlfetch(urls).await;
                answered!(session.respond_urlfetch(id, answer));
            }
            Event::SwitchTransport { kind, .. } => {
                return match kind {
                    TransportKind::StartTls => Next::StartTls,
                    TransportKind::Deflate => Next::Compress,
                    _ => Next::Close,
                };
            }
            _ => {}
        }
        Next::Continue
    }

    fn on_tls(&mut self, session: &mut ServerSession) {
        session.transport_switched(Instant::now());
    }

    fn on_compress(&mut self, session: &mut ServerSession) {
        session.transport_switched(Instant::now());
    }

    fn shutdown_notice(&self) -> &'static [u8] {
        b"* BYE [UNAVAILABLE] Server shutting down\r\n"
    }

    fn login(&self) -> Option<&crate::auth::LoginTicket> {
        self.login.as_ref()
    }

    fn revoked_notice(&self) -> &'static [u8] {
        b"* BYE [UNAVAILABLE] Account deleted or password changed\r\n"
    }

    async fn on_close(&mut self) {
        if let Some(mut p) = self.append.take()
            && let Some(a) = p.append.take()
        {
            let a = a.into_inner().unwrap_or_else(|e| e.into_inner());
            blocking::unblock(move || a.abort()).await;
        }
    }

    async fn outside(&mut self) {
        let Some(sub) = &self.changes else {
            return futures_lite::future::pending().await;
        };
        match sub.recv().await {
            Some(event) => {
                self.note(event);
                self.collect_changes();
            }
            None => futures_lite::future::pending().await,
        }
    }

    async fn on_outside(&mut self, session: &mut ServerSession) {
        self.deliver_changes(session).await;
    }

    /// Another session's change published before this input arrived (its
    /// client was told OK first) is handed over before the command runs:
    /// imaptest's `close` script (CLOSE on one connection, then NOOP on
    /// another expecting the EXPUNGEs) failed now and then under load when
    /// the socket won the pump's race against the change notice.
    async fn before_input(&mut self, session: &mut ServerSession) {
        self.take_changes(session).await;
    }
}

impl ImapHandler {
    /// GENURLAUTH: one authorized URL per rump, or the first refusal.
    async fn genurlauth(
        &self,
        urls: Vec<imap_proto::url::ImapUrl>,
    ) -> Result<Vec<String>, RespText> {
        let Some(account) = self.account.clone() else {
            return Err(no("Log in first"));
        };
        let store = self.shared.store.clone();
        let result = blocking::unblock(move || {
            urls.iter()
                .map(|u| urlauth::generate(&store, &account, u))
                .collect::<Result<Vec<_>, _>>()
        })
        .await;
        result.map_err(|r| match r {
            urlauth::Refusal::NotAuthorized(t) => no_code(UnitCode::NoPerm, &t),
            urlauth::Refusal::BadUrl(t) => no_code(UnitCode::NonExistent, &t),
            urlauth::Refusal::Temporary(t) => {
                tracing::warn!("imap: GENURLAUTH failed: {t}");
                no_code(UnitCode::Unavailable, "Try again later")
            }
        })
    }

    /// URLFETCH: each URL checked for this user (RFC 4467 §6.3); what it
    /// names is read into memory, up to `[limits] max_message_size`.
    async fn urlfetch(&self, urls: Vec<String>) -> Vec<Option<Bytes>> {
        let Some(account) = self.account.clone() else {
            return Vec::new();
        };
        let store = self.shared.store.clone();
        let max = self.shared.config.limits.max_message_size;
        blocking::unblock(move || {
            urls.iter()
                .map(|u| {
                    let read = urlauth::verify(&store, u, urlauth::Requester::Imap(&account))
                        .and_then(|a| urlauth::read(&store, &a, max));
                    match read {
                        Ok(bytes) => Some(Bytes::from(bytes)),
                        Err(r) => {
                            tracing::debug!("imap: URLFETCH refused: {r:?}");
                            None
                        }
                    }
                })
                .collect()
        })
        .await
    }

    async fn store(
        &self,
        session: &ServerSession,
        uids: Vec<NonZeroU32>,
        action: StoreAction,
        flags: Vec<Flag>,
        unchanged_since: Option<u64>,
    ) -> Result<StoreAnswer, RespText> {
        let Some(mailbox) = self.selected(session) else {
            return Err(no("No mailbox selected"));
        };
        let (bits, keywords) = store_flags(&flags);
        let change = FlagChange {
            op: match action {
                StoreAction::Replace => FlagOp::Replace,
                StoreAction::Add => FlagOp::Add,
                StoreAction::Remove => FlagOp::Remove,
            },
            flags: bits,
            keywords,
            unchanged_since,
        };
        let set = uid_set(&uids);
        let outcome = self
            .with_store(move |store, account| store.store_flags(account, &mailbox, &set, &change))
            .await
            .map_err(|e| store_refusal(&e))?;
        Ok(StoreAnswer {
            updated: outcome
                .updated
                .into_iter()
                .filter_map(|u| {
                    Some(FlagUpdate {
                        uid: nz(u.uid)?,
                        flags: imap_flags(u.flags, &u.keywords),
                        mod_seq: u.modseq,
                    })
                })
                .collect(),
            modified: outcome.modified.into_iter().filter_map(nz).collect(),
        })
    }

    async fn copy(
        &self,
        session: &ServerSession,
        uids: Vec<NonZeroU32>,
        destination: String,
        is_move: bool,
    ) -> Result<CopyAnswer, RespText> {
        let Some(mailbox) = self.selected(session) else {
            return Err(no("No mailbox selected"));
        };
        let set = uid_set(&uids);
        let outcome = self
            .with_store(move |store, account| {
                if is_move {
                    store.move_messages(account, &mailbox, &set, &destination)
                } else {
                    store.copy_messages(account, &mailbox, &set, &destination)
                }
            })
            .await
            .map_err(|e| store_refusal(&e))?;
        Ok(CopyAnswer {
            uid_validity: nz(outcome.uidvalidity).unwrap_or(NonZeroU32::MIN),
            source: outcome.source_uids.into_iter().filter_map(nz).collect(),
            destination: outcome.dest_uids.into_iter().filter_map(nz).collect(),
        })
    }
}
