//! IMAP glue: answers `imap-proto` session events from the store. All IMAP
//! semantics (states, sequence numbers, when updates are announced, FETCH
//! and SEARCH building, which flags and counts an answer carries) live in
//! the session; the glue only translates between its protocol-shaped
//! questions and `maildir` calls, on the blocking pool. By concern:
//!
//! - this file: the connection's state and the event dispatch;
//! - `auth.rs`: LOGIN / AUTHENTICATE;
//! - `mailbox.rs`: SELECT, mailbox operations, LIST, STATUS, quota;
//! - `append.rs`: streamed APPEND;
//! - `content.rs`: message content for FETCH / SEARCH, external writes;
//! - `messages.rs`: STORE, COPY / MOVE, EXPUNGE;
//! - `url.rs` (+ `urlauth.rs`, shared with SMTP BURL): GENURLAUTH, URLFETCH;
//! - `changes.rs`: other sessions' changes and NOTIFY;
//! - `convert.rs`: flags, UIDs, ids and store errors between the two
//!   vocabularies.
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

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use imap_proto::response::UnitCode;
use imap_proto::session::{
    ContentNeed, Event, MailboxOp, MessageContent, ServerConfig, ServerSession, TransportKind,
};
use maildir::{StoreError, Subscription};

use crate::pump::{Handler, Next, Output};
use crate::shared::Shared;

/// Hands an answer to the session. A refused answer (a wrong id or state)
/// is a bug in this glue: it is logged and the connection closed, never
/// ignored (the session would wait for an answer that never comes).
// Defined before the submodules so that they can use it too.
macro_rules! answered {
    ($call:expr) => {
        if $call.is_err() {
            tracing::error!("imap: the session refused an answer (wrong id or state); closing");
            return Next::Close;
        }
    };
}

mod append;
mod auth;
mod changes;
mod content;
mod convert;
mod mailbox;
mod messages;
mod multiappend;
mod spool;
mod url;
pub mod urlauth;

use convert::{bye, store_refusal};
use spool::PendingAppend;

crate::pump::session_io!(ServerSession, Event);

/// The session configuration for a new connection.
pub fn session_config(shared: &Shared, peer: &SocketAddr, tls: bool) -> ServerConfig {
    let mut config = ServerConfig::new(shared.config.hostname.clone());
    config.starttls = shared.acceptor.is_some();
    config.tls_active = tls;
    config.allow_plaintext = shared.config.auth.plaintext.allows_plaintext(peer);
    config.limits.max_message_size = shared.config.limits.max_message_size;
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
    /// The store-wide id of the mailbox this session last read a message
    /// from (name, id): content-cache lookups need no index read.
    cache_box: Option<(String, u64)>,
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
            cache_box: None,
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

    /// Runs a read of the index on this thread, without the blocking pool:
    /// for reads bounded by a small constant (one mailbox's record, an
    /// account's list of mailboxes, a small mailbox's summaries). redb
    /// serves them from its page cache in microseconds, less than the two
    /// wake-ups and context switches of a trip to the pool (issue "IMAP
    /// performance"); anything that writes, waits for a commit, or grows
    /// with the mailbox goes through [`Self::with_store`].
    fn with_index<T>(
        &self,
        f: impl FnOnce(&maildir::Store, &str) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let Some(account) = self.account.as_deref() else {
            return Err(StoreError::NoSuchAccount(String::new()));
        };
        f(&self.shared.store, account)
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
                // The session refused a size over `limits.max_message_size`
                // (set from `[limits]`) before asking.
                size: _,
                binary,
            } => {
                let selected = session
                    .selected()
                    .filter(|(_, read_only)| !read_only)
                    .map(|(name, _)| name.to_owned());
                let answer = self
                    .append_begin(id, mailbox, flags, date, binary, selected)
                    .await;
                answered!(session.respond_append_begin(id, answer));
            }
            Event::AppendMessage {
                id,
                mailbox,
                flags,
                date,
                size,
                binary,
            } => {
                let answer = self
                    .append_message(id, mailbox, flags, date, size, binary)
                    .await;
                answered!(session.respond_append_begin(id, answer));
            }
            Event::AppendUrl { id, url } => {
                let answer = self.append_url(id, url).await;
                answered!(session.respond_append_url(id, answer));
            }
            Event::AppendChunk { id, data } => self.append_chunk(id, &data).await,
            Event::AppendEnd { id } => {
                let answer = self.append_commit().await;
                answered!(session.respond_append_uids(id, answer));
            }
            Event::AppendAbort { .. } => self.append_abort().await,
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
                answered!(session.respond_copy(id, answer));
            }
            Event::Sync { id } => {
                // The session's own APPEND/COPY/MOVE: its changes (and any
                // other already published) go in before its tagged answer.
                self.take_changes(session).await;
                answered!(session.respond_sync(id));
            }
            Event::Expunge { id, uids } => {
                let answer = self.expunge(session, uids).await;
                answered!(session.respond_expunge(id, answer));
            }
            Event::WriteExternal { id, uid, range } => {
                let Some(mailbox) = self.selected(session) else {
                    // Nothing written: the session closes the connection
                    // (a literal cannot be cut short).
                    answered!(session.finish_external(id));
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

    fn quick(&self, event: &Event) -> bool {
        // One message's content: read from the page cache on this thread,
        // or a short trip to the pool (`content.rs`).
        matches!(event, Event::ReadMessage { .. })
    }

    fn on_tls(&mut self, session: &mut ServerSession) {
        session.transport_switched(Instant::now());
    }

    fn on_compress(&mut self, session: &mut ServerSession) {
        session.transport_switched(Instant::now());
    }

    fn shutdown_notice(&self) -> &'static [u8] {
        static LINE: LazyLock<Vec<u8>> =
            LazyLock::new(|| bye(UnitCode::Unavailable, "Server shutting down"));
        &LINE
    }

    fn login(&self) -> Option<&crate::auth::LoginTicket> {
        self.login.as_ref()
    }

    fn revoked_notice(&self) -> &'static [u8] {
        static LINE: LazyLock<Vec<u8>> =
            LazyLock::new(|| bye(UnitCode::Unavailable, "Account deleted or password changed"));
        &LINE
    }

    async fn on_close(&mut self) {
        self.append_abort().await;
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
