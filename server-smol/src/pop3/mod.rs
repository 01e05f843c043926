//! POP3 glue: answers `pop3-proto` session events from the store. Serves
//! the account's INBOX.
//!
//! - The maildrop is locked per account for the whole TRANSACTION state
//!   (RFC 1939 §8): a second POP3 login gets `-ERR [IN-USE]`; IMAP keeps
//!   working meanwhile.
//! - UIDL values are Dovecot's default `%08Xu%08Xv` (UID then UIDVALIDITY,
//!   upper-case hex), so they are stable across sessions and restarts,
//!   consistent with IMAP, and survive a migration from Dovecot.
//! - Deletions are applied only in the UPDATE state (QUIT), durably, and are
//!   published to IMAP sessions like any expunge.

use std::fs::File;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use maildir::{INBOX, MessageInfo};
use pop3_proto::{
    AuthAnswer, Event, MaildropEntry, MessageProgress, Response, ResponseCode, ServerConfig,
    ServerSession,
};

use crate::pump::{Handler, Next, Output};
use crate::shared::Shared;
use maildrop::{MaildropLock, READ_CHUNK};

pub(crate) mod maildrop;

/// Hands an answer to the session. A refused answer (a wrong id or state)
/// is a bug in this glue: it is logged and the connection closed, never
/// ignored (the session would wait for an answer that never comes).
macro_rules! answered {
    ($call:expr) => {
        if $call.is_err() {
            tracing::error!("pop3: the session refused an answer (wrong id or state); closing");
            return Next::Close;
        }
    };
}

crate::pump::session_io!(ServerSession, Event);

/// The session configuration for a new connection.
pub fn session_config(shared: &Shared, peer: &SocketAddr, tls: bool) -> ServerConfig {
    let mut config = ServerConfig::new(shared.config.hostname.clone());
    config.starttls = shared.acceptor.is_some();
    config.tls_active = tls;
    config.allow_plaintext = shared.config.auth.plaintext.allows_plaintext(peer);
    config
}

/// Per-connection state of the POP3 glue.
pub struct Pop3Handler {
    shared: Arc<Shared>,
    peer: SocketAddr,
    account: Option<String>,
    lock: Option<MaildropLock>,
    /// The maildrop as listed at login; message n is `messages[n - 1]`.
    messages: Vec<MessageInfo>,
    uidvalidity: u32,
    /// Revoked when the account is deleted or its password changes.
    login: Option<crate::auth::LoginTicket>,
}

impl Pop3Handler {
    /// Glue for a new connection from `peer`.
    pub fn new(shared: Arc<Shared>, peer: SocketAddr) -> Self {
        Pop3Handler {
            shared,
            peer,
            account: None,
            lock: None,
            messages: Vec::new(),
            uidvalidity: 0,
            login: None,
        }
    }

    async fn authenticate(
        &mut self,
        authzid: Option<String>,
        user: String,
        password: String,
    ) -> AuthAnswer {
        let ticket = self
            .shared
            .auth
            .authenticate("pop3", &self.peer, authzid.as_deref(), &user, &password)
            .await;
        let Some(ticket) = ticket else {
            return AuthAnswer::Reject(Response::err_with_code(
                ResponseCode::Auth,
                "Authentication failed",
            ));
        };
        let Some(lock) = self.shared.maildrops.try_lock(&user) else {
            return AuthAnswer::Reject(Response::err_with_code(
                ResponseCode::InUse,
                "Maildrop is locked by another POP3 session",
            ));
        };
        let store = self.shared.store.clone();
        let address = user.clone();
        let sizes = self.shared.clone();
        let listing = blocking::unblock(move || {
            let status = store.mailbox_status(&address, INBOX)?;
            let messages = store.list_messages(&address, INBOX)?;
            let wire: Vec<u64> = messages
                .iter()
                .map(|m| {
                    sizes
                        .pop3_sizes
                        .wire_size(&store, &address, status.uidvalidity, m)
                })
                .collect();
            Ok::<_, maildir::StoreError>((status.uidvalidity, messages, wire))
        })
        .await;
        let (uidvalidity, messages, wire) = match listing {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("pop3: cannot list INBOX of {user}: {e}");
                return AuthAnswer::Reject(Response::err_with_code(
                    ResponseCode::SysTemp,
                    "Cannot open the maildrop, try again later",
                ));
            }
        };
        crate::auth::log_login("pop3", &self.peer, &user);
        let entries = messages
            .iter()
            .zip(wire)
            .map(|(m, size)| MaildropEntry {
                size,
                uid: format!("{:08X}{:08X}", m.uid, uidvalidity),
            })
            .collect();
        self.messages = messages;
        self.uidvalidity = uidvalidity;
        self.account = Some(user);
        self.lock = Some(lock);
        self.login = Some(ticket);
        AuthAnswer::Accept(entries)
    }

    /// Opens a message's file; the store follows a rename (an IMAP client
    /// may have changed its flags, and so its file name, since the listing).
    async fn open(&self, index: usize) -> Option<File> {
        let uid = self.messages.get(index)?.uid;
        let account = self.account.clone()?;
        let store = self.shared.store.clone();
        blocking::unblock(move || store.open_message(&account, INBOX, uid).ok()).await
    }

    async fn retrieve(
        &mut self,
        session: &mut ServerSession,
        id: pop3_proto::RequestId,
        index: usize,
        out: &mut Output<'_>,
    ) -> Next {
        let Some(mut file) = self.open(index).await else {
            answered!(session.respond_retrieve(
                id,
                Err(Response::err_with_code(
                    ResponseCode::SysTemp,
                    "Cannot read the message, it may have been deleted meanwhile",
                )),
            ));
            return Next::Continue;
        };
        answered!(session.respond_retrieve(id, Ok(())));
        loop {
            let read = blocking::unblock(move || {
                let mut buf = vec![0u8; READ_CHUNK];
                let n = file.read(&mut buf);
                (file, buf, n)
            })
            .await;
            let (f, buf, n) = read;
            file = f;
            let n = match n {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!("pop3: read failed: {e}");
                    answered!(session.abort_external(id));
                    return Next::Continue;
                }
            };
            match session.send_external_chunk(id, &buf[..n]) {
                Ok(MessageProgress::Continue) => {}
                Ok(_) => break,
                Err(_) => {
                    tracing::error!("pop3: the session refused a message chunk; closing");
                    return Next::Close;
                }
            }
            if out.flush(session).await.is_err() {
                return Next::Close;
            }
        }
        answered!(session.finish_external(id));
        Next::Continue
    }

    async fn update(&mut self, deleted: Vec<usize>) -> Result<(), Response> {
        let uids: Vec<u32> = deleted
            .iter()
            .filter_map(|&i| self.messages.get(i).map(|m| m.uid))
            .collect();
        let Some(account) = self.account.clone() else {
            return Ok(());
        };
        if uids.is_empty() {
            return Ok(());
        }
        let store = self.shared.store.clone();
        let n = uids.len();
        self.shared
            .pop3_sizes
            .forget(&account, self.uidvalidity, &uids);
        let uids = maildir::UidSet::from(uids.as_slice());
        let result = blocking::unblock(move || store.delete_messages(&account, INBOX, &uids)).await;
        match result {
            Ok(_) => {
                tracing::info!(peer = %self.peer, deleted = n, "pop3 update");
                Ok(())
            }
            Err(e) => {
                tracing::warn!("pop3: deleting messages failed: {e}");
                Err(Response::err_with_code(
                    ResponseCode::SysTemp,
                    "Some deleted messages were not removed, try again later",
                ))
            }
        }
    }
}

impl Handler for Pop3Handler {
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
                username: user,
                password,
                ..
            } => {
                let answer = self
                    .authenticate(authzid, user, password.expose().clone())
                    .await;
                answered!(session.respond_authenticate(id, answer));
            }
            Event::Retrieve { id, index, .. } => {
                return self.retrieve(session, id, index, out).await;
            }
            Event::Update { id, deleted } => {
                let result = self.update(deleted).await;
                answered!(session.respond_update(id, result));
                self.lock = None;
            }
            Event::SwitchTransport { .. } => return Next::StartTls,
            _ => {}
        }
        Next::Continue
    }

    fn on_tls(&mut self, session: &mut ServerSession) {
        session.transport_switched(Instant::now());
    }

    fn shutdown_notice(&self) -> &'static [u8] {
        b"-ERR [SYS/TEMP] Server shutting down\r\n"
    }

    fn login(&self) -> Option<&crate::auth::LoginTicket> {
        self.login.as_ref()
    }

    fn revoked_notice(&self) -> &'static [u8] {
        b"-ERR [AUTH] Account deleted or password changed\r\n"
    }

    async fn on_close(&mut self) {
        // Any end other than UPDATE deletes nothing (RFC 1939 §6).
        self.lock = None;
    }
}
