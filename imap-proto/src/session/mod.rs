//! The sans-IO IMAP server session (RFC 9051, RFC 3501 and the extensions
//! listed in [`Capabilities::default`]).
//!
//! The session reads command bytes, writes response bytes, and asks the
//! adapter (the program that owns the sockets and the store) for
//! everything that needs storage or policy. All IMAP semantics live here:
//! which command is valid in which state, sequence numbers (through the
//! [`MailboxView`]), when untagged updates may be
//! sent, how FETCH and SEARCH answers are built (with the
//! [`message`](crate::message) helpers), and how IMAP4rev1 and IMAP4rev2
//! differ on the wire.
//!
//! # The loop an adapter writes
//!
//! ```text
//! let mut s = ServerSession::new(config, now);
//! loop {
//!     while s.poll_transmit(&mut out) {}          // 1. write out
//!     while let Some(ev) = s.poll_event() { .. }  // 2. answer events
//!     if s.is_closed() { break }
//!     // 3. race: socket read -> s.feed(&buf[pos..]) (keep what was not
//!     //    accepted and feed it again after the next drain),
//!     //    store change -> s.mailbox_changed(change),
//!     //    s.poll_timeout() -> s.handle_timeout(now)
//! }
//! ```
//!
//! Methods, grouped as in quinn-proto:
//! - getters: [`state`](ServerSession::state),
//!   [`version`](ServerSession::version), [`user`](ServerSession::user),
//!   [`selected`](ServerSession::selected),
//!   [`is_closed`](ServerSession::is_closed);
//! - input: [`feed`](ServerSession::feed),
//!   [`handle_timeout`](ServerSession::handle_timeout),
//!   [`mailbox_changed`](ServerSession::mailbox_changed),
//!   [`mailbox_resync`](ServerSession::mailbox_resync),
//!   [`transport_switched`](ServerSession::transport_switched), and for
//!   NOTIFY [`notify_status`](ServerSession::notify_status),
//!   [`notify_mailbox`](ServerSession::notify_mailbox),
//!   [`notify_overflow`](ServerSession::notify_overflow);
//! - answers (each hands its argument back on a wrong `id` or state):
//!   `respond_authenticate`, `respond_select`, `respond_mailbox`,
//!   `respond_list`, `respond_status`, `respond_append_begin`,
//!   `respond_append_end`, `respond_message`, `respond_store`,
//!   `respond_copy`, `respond_sync`, `respond_expunge`, and the literal stream
//!   `send_external_chunk` / `finish_external`;
//! - output: [`poll_transmit`](ServerSession::poll_transmit),
//!   [`poll_event`](ServerSession::poll_event),
//!   [`poll_timeout`](ServerSession::poll_timeout);
//! - building answers from a store's facts, so every adapter gives the
//!   same ones: [`SelectAnswer::system_flags`] (FLAGS and PERMANENTFLAGS),
//!   [`StatusAnswer::new`] and [`StatusAnswer::count`] (the STATUS
//!   counts), [`MailboxInfo::add_subscriptions`] (subscribed mailboxes
//!   that do not exist, RFC 9051 §6.3.9),
//!   [`DateTime::from_unix_seconds`](crate::types::DateTime::from_unix_seconds)
//!   and [`unix_seconds`](crate::types::DateTime::unix_seconds)
//!   (INTERNALDATE), and [`bye_line`] for a `* BYE` the adapter writes
//!   outside the session (shutdown); [`ServerSession::refuse`] for a
//!   connection refused before the greeting.
//!
//! After every input or answer drain `poll_transmit` until false, then
//! `poll_event` until `None`, then read `poll_timeout`, then offer input
//! again. `feed` returns 0 while an answer, an event, a literal stream or
//! a transport switch is pending, or while output exceeds
//! [`Limits::max_pending_output`].
//!
//! # Design choices
//!
//! - **Pipelining**: commands are read one at a time; a command that needs
//!   the adapter stops reading until answered, so answers stay in order.
//! - **Events and answers**: see [`Event`]. LOGIN and AUTHENTICATE (SASL
//!   PLAIN and LOGIN, SASL-IR, `*` cancels with BAD) both become
//!   [`Event::Authenticate`]; without TLS and without
//!   [`ServerConfig::allow_plaintext`] they are refused with
//!   `NO [PRIVACYREQUIRED]` and `LOGINDISABLED` is advertised.
//!   CAPABILITY, NOOP, CHECK, LOGOUT, ENABLE, ID, NAMESPACE, UNSELECT and
//!   IDLE are answered by the session from its configuration.
//! - **SELECT** hands the session every message's summary (UID, flags,
//!   mod-sequence, internal date, size, `\Recent`): FETCH of FLAGS, UID,
//!   INTERNALDATE, RFC822.SIZE and MODSEQ, and SEARCH on metadata keys,
//!   never ask the adapter. Content is asked per message with
//!   [`Event::ReadMessage`] at the cheapest [`ContentNeed`] that serves
//!   every item of the FETCH: offsets only for `BODY[]`/`BODY[TEXT]`/
//!   `BODY[n]`/`RFC822.HEADER` (the octets then come from the file through
//!   [`Event::WriteExternal`], never through the session), the header for
//!   ENVELOPE and header fields (with the root's `HEADER`/`TEXT` derived
//!   from its length), the message for BODYSTRUCTURE, BINARY, body
//!   searches and for header items together with part sections. Memory
//!   per FETCH is one message's small items.
//! - **Keywords** are announced before use (RFC 9051 §7.3.5): SELECT's
//!   `FLAGS` lists every keyword in use, and a keyword first seen in a
//!   change or in the session's own STORE is announced with untagged
//!   `FLAGS` and `PERMANENTFLAGS` before any FETCH shows it.
//! - **Other sessions' changes** come in through
//!   [`mailbox_changed`](ServerSession::mailbox_changed) and are announced
//!   by the view: before the tagged answer of every command, except that
//!   EXPUNGE/VANISHED wait during FETCH, STORE and SEARCH without UID
//!   (RFC 9051 §7.5.1), and at once while idling.
//! - **This session's own writes**: after the store answers an APPEND,
//!   COPY or MOVE the session asks [`Event::Sync`] and holds the tagged
//!   answer until [`respond_sync`](ServerSession::respond_sync), so that
//!   the changes the adapter hands in meanwhile (the new message in the
//!   selected mailbox, NOTIFY's STATUS of the target) come first: EXISTS
//!   before the tagged OK (RFC 9051 §6.3.12, §6.4.7).
//! - **LIST/LSUB**: the adapter lists all mailboxes; the session matches
//!   `*` and `%`, applies LIST-EXTENDED selection and return options
//!   (SUBSCRIBED, CHILDREN, SPECIAL-USE) and formats.
//! - **APPEND** streams: [`Event::AppendBegin`] before `+`, then
//!   [`Event::AppendChunk`]s, then [`Event::AppendEnd`] answered with the
//!   APPENDUID. MULTIAPPEND (RFC 3502): each further message is an
//!   [`Event::AppendMessage`] (asked before its `+`), and the one
//!   `AppendEnd` commits them all, answered with
//!   [`respond_append_uids`](ServerSession::respond_append_uids).
//!   CATENATE (RFC 4469): a message built of parts is an
//!   `AppendMessage` without a size, its `TEXT` parts come as chunks and
//!   its `URL` parts as [`Event::AppendUrl`]s, in order. The command is
//!   read item by item as the framer delivers it (`session/append.rs`),
//!   so memory is one command line whatever the messages. A literal8
//!   (`~{N}`, RFC 3516 §4.4) may hold NUL octets and is handed on as
//!   sent: the store keeps it unchanged (RFC 3516 lets a server store
//!   binary content as is or re-encode it; byte-exact storage keeps
//!   RFC822.SIZE and BINARY[] equal to what was sent), so APPEND never
//!   answers `[UNKNOWN-CTE]`. NUL octets in a plain literal small enough
//!   to arrive inline are BAD (RFC 9051 §9 `CHAR8`); in a streamed one
//!   they are stored as sent.
//! - **Capabilities**: see [`Capabilities`]. ENABLE accepts CONDSTORE,
//!   QRESYNC, IMAP4rev2 and UTF8=ACCEPT when offered after login;
//!   IMAP4rev2 switches the encoder to [`Version::Rev2`].
//! - **Autologout** (RFC 9051 §5.4): [`Limits::login_timeout`] before
//!   login, [`Limits::autologout`] (30 minutes) after, IDLE included.
//! - **STARTTLS**: offered only when [`ServerConfig::starttls`] is set
//!   (off by default, as in smtp-proto and pop3-proto: an adapter without
//!   a TLS acceptor must not advertise it). The OK is queued, leftover
//!   input is discarded, and [`Event::SwitchTransport`] follows once the
//!   OK is drained.
//! - **COMPRESS=DEFLATE** (RFC 4978), offered after login: `OK DEFLATE
//!   active` is queued and [`Event::SwitchTransport`] with
//!   [`TransportKind::Deflate`] follows once it is drained; the session
//!   reads nothing past the command, so the adapter inflates every octet
//!   it has not fed yet. A second COMPRESS gets `NO [COMPRESSIONACTIVE]`.
//! - **URLAUTH** (RFC 4467), after login: GENURLAUTH, RESETKEY and
//!   URLFETCH are checked for syntax here and become
//!   [`Event::GenUrlAuth`], [`Event::ResetKey`] and [`Event::UrlFetch`];
//!   the adapter keeps the mailbox access keys and computes the INTERNAL
//!   tokens. URLFETCH answers carry the octets in memory (the adapter
//!   bounds their size).
//! - **Own changes**: the session updates its view from its own STORE,
//!   EXPUNGE and MOVE answers. For APPEND (and COPY) into the selected
//!   mailbox, feed the store's change with
//!   [`mailbox_changed`](ServerSession::mailbox_changed) *before* answering,
//!   so that `EXISTS` precedes the tagged OK; changes fed twice are
//!   ignored. There is no event for UNSELECT/CLOSE/LOGOUT: the adapter
//!   reads [`selected`](ServerSession::selected) to know which mailbox's
//!   changes to forward.
//!
//! # Memory
//!
//! Per session: the framer's command buffer
//! ([`crate::Limits::max_command_size`], 256 KiB; during an APPEND the
//! session keeps one more copy of that command text, which holds only
//! protocol text and small inline literals, never streamed octets), queued output
//! ([`Limits::max_pending_output`], 256 KiB, plus at most one message's
//! FETCH items), the view (one [`MessageSummary`](crate::view::MessageSummary)
//! per message of the selected mailbox, about 100 octets each) and, during
//! a FETCH or SEARCH, 8 octets per targeted message; during a SORT or
//! THREAD, one [`SortFields`](crate::message::SortFields) per matching
//! message (a few KiB at most each, whatever its header holds). Message octets are
//! never copied into the session beyond
//! [`Limits::inline_section_max`]: larger sections are either shared
//! [`bytes::Bytes`] the adapter handed in or written by the adapter from
//! its file ([`Event::WriteExternal`]).
//!
//! # Not implemented (documented choices)
//!
//! - METADATA, QUOTASET, ACL,
//!   SORT=DISPLAY (RFC 5957), THREAD=REFS, WITHIN: not offered.
//! - ESORT, CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267) and PARTIAL
//!   (RFC 9394): see `session/context.rs` for which contexts can be kept
//!   live (criteria on metadata and content; SORT by ARRIVAL or SIZE) and when
//!   `NOUPDATE` is answered. NOTIFY (RFC 5465): see `session/notify.rs`
//!   and [`notify_interest`](ServerSession::notify_interest); the
//!   adapter hands in other mailboxes' changes.
//! - OBJECTID (RFC 8474): MAILBOXID and EMAILID come from the adapter
//!   ([`SelectAnswer::mailbox_id`], [`StatusAnswer::mailbox_id`],
//!   [`respond_create`](ServerSession::respond_create),
//!   [`MessageSummary::email_id`](crate::view::MessageSummary::email_id));
//!   the codes are sent only when `OBJECTID` is offered. THREADID is
//!   always NIL and `SEARCH THREADID` matches nothing: this server keeps
//!   no threads (RFC 8474 §5.2 allows NIL).
//! - SAVEDATE (RFC 8514): the save date comes from the adapter with each
//!   summary; `None` is `SAVEDATE NIL`, and the SAVED* keys then use the
//!   internal date; SAVEDATESUPPORTED matches the messages that have one.
//! - SORT and THREAD (RFC 5256) run as a SEARCH job: the header of every
//!   message is read (`ContentNeed::Header`) when a sort key or the
//!   threading algorithm needs it, also for messages that metadata
//!   criteria (`NOT 1`, `SEEN`) then exclude; ARRIVAL and SIZE alone read
//!   nothing. Dates are the Date: field in UTC, the internal date when it
//!   is missing or unparsable (RFC 5256 §2.2).
//! - `$` (SEARCHRES) works as a FETCH/STORE/COPY/MOVE/UID EXPUNGE sequence
//!   set and inside SEARCH/SORT criteria (bare or as `UID $`); SAVE keeps
//!   the MIN/MAX or PARTIAL results when only those are asked (RFC 5182
//!   §2.4, RFC 9394), and a SEARCH (SAVE) that fails empties it.
//! - The `VANISHED` FETCH modifier (RFC 7162 §3.2.6) is accepted and
//!   ignored (the session cannot tell expunged UIDs from unused ones).
//! - UTF8=ACCEPT (RFC 6855) also works under IMAP4rev1: once enabled,
//!   mailbox names are read and written in UTF-8 (not modified UTF-7), a
//!   SEARCH with CHARSET is BAD (§3), and `APPEND ... UTF8 (~{N}...)` is
//!   accepted (§4; BAD before ENABLE) and stored as sent.
//! - LIST `REMOTE` (RFC 5258 §3.1) is accepted and changes nothing: there
//!   are no remote mailboxes. `RECURSIVEMATCH` with `SUBSCRIBED` lists
//!   parents with `CHILDINFO ("SUBSCRIBED")`; with `SPECIAL-USE` alone it
//!   changes nothing. Unknown selection or return options are BAD.
//! - The `[HIGHESTMODSEQ]` of the first CONDSTORE-enabling FETCH or SEARCH
//!   (RFC 7162 §3.1) is the highest mod-sequence the session has seen
//!   (SELECT's, raised by every change fed to it): an expunge's own
//!   mod-sequence is not reported to sessions, so it may lag the store's
//!   until the next flag change.

mod answers;
mod append;
mod auth;
mod compress;
mod context;
mod dispatch;
mod fetch;
mod fetch_encode;
mod fetch_plan;
mod frames;
mod list;
mod messages;
mod notify;
mod output;
mod pending;
mod quota;
mod search;
mod select;
mod sync;
mod types;
mod updates;
mod urlauth;

pub use answers::{StatusMessage, bye_line};
pub use notify::{MailboxNotice, NotifyInterest};
pub use types::{
    AppendAnswer, AppendUids, AuthMechanism, Capabilities, ContentNeed, CopyAnswer, Event, Limits,
    MailboxInfo, MailboxOp, MessageContent, QResyncParams, QuotaAnswer, RequestId, SelectAnswer,
    ServerConfig, SessionError, SessionState, StatusAnswer, StoreAnswer, TransportKind, refusal,
};

use crate::Version;
use crate::framer::{Framer, Role};
use crate::response::{Code, RespText, Response, Status};
use crate::types::{Capability, Tag};
use crate::view::MailboxView;
use bytes::BytesMut;
use output::Output;
use std::collections::VecDeque;
use std::time::Instant;

/// The selected mailbox.
#[derive(Debug)]
struct Selected {
    name: String,
    read_only: bool,
    view: MailboxView,
    /// `PERMANENTFLAGS` as sent at SELECT (empty when read-only); new
    /// keywords are added to it when they are announced.
    permanent: Vec<crate::types::FlagPerm>,
    /// The highest mod-sequence the session knows of (SELECT's
    /// HIGHESTMODSEQ, raised by every change it sees), for the
    /// `[HIGHESTMODSEQ]` of the first CONDSTORE-enabling command
    /// (RFC 7162 §3.1).
    highest_mod_seq: Option<u64>,
    /// Searching commands kept up to date (RFC 5267 §4.3); they end with
    /// the selection.
    contexts: Vec<context::LiveContext>,
}

impl Selected {
    /// `PERMANENTFLAGS` for `defined`: the SELECT list plus every keyword,
    /// before `\*` (RFC 9051 §7.1: keywords in use can be stored).
    fn permanent_for(&mut self, defined: &[crate::types::Flag]) -> Vec<crate::types::FlagPerm> {
        use crate::types::{Flag, FlagPerm};
        if self.read_only {
            return Vec::new();
        }
        for f in defined {
            let perm = FlagPerm::Flag(f.clone());
            if matches!(f, Flag::Keyword(_) | Flag::Extension(_)) && !self.permanent.contains(&perm)
            {
                let at = self
                    .permanent
                    .iter()
                    .position(|p| *p == FlagPerm::Asterisk)
                    .unwrap_or(self.permanent.len());
                self.permanent.insert(at, perm);
            }
        }
        self.permanent.clone()
    }
}

/// Extensions the client turned on (RFC 5161, RFC 7162 §3.1).
#[derive(Clone, Copy, Debug, Default)]
struct Enabled {
    condstore: bool,
    qresync: bool,
    utf8: bool,
}

/// What the session waits for before it reads the next command.
#[derive(Debug)]
enum Wait {
    Nothing,
    /// An answer from the adapter.
    Answer {
        id: RequestId,
        pending: pending::Pending,
    },
    /// A paused FETCH or SEARCH: resumes when output drains or an external
    /// literal is finished.
    Resume(pending::Job),
    /// The client's next SASL line.
    Sasl {
        tag: Tag,
        step: auth::SaslStep,
    },
    /// `DONE`.
    Idle {
        tag: Tag,
    },
    /// An APPEND is being read (`ServerSession::appending`): the octets
    /// of its streamed literal, or the next frame of its command.
    Appending,
    /// STARTTLS or COMPRESS answered; `emitted` once the event was
    /// handed out.
    Switch {
        emitted: bool,
        kind: TransportKind,
    },
}

/// An IMAP server session. See the module docs.
#[derive(Debug)]
pub struct ServerSession {
    config: ServerConfig,
    version: Version,
    tls_active: bool,
    /// COMPRESS=DEFLATE is on (RFC 4978).
    compress_active: bool,
    state: SessionState,
    user: Option<String>,
    selected: Option<Selected>,
    enabled: Enabled,
    framer: Framer,
    out: Output,
    events: VecDeque<Event>,
    wait: Wait,
    next_id: u64,
    bad_commands: u32,
    auth_failures: u32,
    /// The answer for a non-synchronising literal refused with
    /// `reject_literal`, sent when the framer reports it discarded.
    discard_answer: Option<Status>,
    /// The APPEND being read (`append.rs`).
    appending: Option<Box<append::Appending>>,
    /// UIDs saved by `SEARCH RETURN (SAVE)` (RFC 5182).
    saved_search: Vec<std::num::NonZeroU32>,
    /// The client's `NOTIFY SET` (RFC 5465); `None`: NOTIFY NONE.
    notify: Option<notify::NotifySpec>,
    closing: bool,
    deadline: Instant,
    activity: bool,
}

impl ServerSession {
    /// A session for a new connection; the `* OK [CAPABILITY ...]
    /// <hostname> IMAP sansmail ready` greeting is queued.
    pub fn new(config: ServerConfig, now: Instant) -> Self {
        let mut framer = Framer::new(Role::Server, config.limits);
        framer.set_literal_plus(false);
        let deadline = now + config.limits.login_timeout;
        let mut s = ServerSession {
            version: Version::Rev1,
            tls_active: config.tls_active,
            compress_active: false,
            state: SessionState::NotAuthenticated,
            user: None,
            selected: None,
            enabled: Enabled::default(),
            framer,
            out: Output::default(),
            events: VecDeque::new(),
            wait: Wait::Nothing,
            next_id: 0,
            bad_commands: 0,
            auth_failures: 0,
            discard_answer: None,
            appending: None,
            saved_search: Vec::new(),
            notify: None,
            closing: false,
            deadline,
            activity: false,
            config,
        };
        s.update_literal_plus();
        let code = Code::Capability(s.capabilities());
        let greeting = s.config.greeting();
        s.send(&Response::Status(Status::ok(None, Some(code), &greeting)));
        s
    }

    /// A session that only sends `* BYE text` (for example when the server
    /// is shutting down or has too many connections, RFC 9051 §7.1.5) and
    /// then closes. `text` is a plain `&str` or a [`RespText`] with a
    /// response code (`[UNAVAILABLE]`, RFC 5530 §3).
    pub fn refuse(config: ServerConfig, text: impl Into<RespText>, now: Instant) -> Self {
        let mut s = Self::new(config, now);
        s.out = Output::default();
        s.send(&Response::Status(Status::Bye(text.into())));
        s.close();
        s
    }

    /// The RFC 9051 §3 state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The protocol revision in use (IMAP4rev2 once ENABLEd).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The login name, once authenticated.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The selected mailbox's name and whether it is read-only.
    pub fn selected(&self) -> Option<(&str, bool)> {
        self.selected
            .as_ref()
            .map(|s| (s.name.as_str(), s.read_only))
    }

    /// Whether the connection is TLS.
    pub fn tls_active(&self) -> bool {
        self.tls_active
    }

    /// Whether COMPRESS=DEFLATE is active (RFC 4978).
    pub fn compress_active(&self) -> bool {
        self.compress_active
    }

    /// True once the last response has been drained: close the connection.
    pub fn is_closed(&self) -> bool {
        self.closing && self.out.is_empty()
    }

    /// The capabilities to advertise now.
    pub fn capabilities(&self) -> Vec<Capability> {
        let caps = &self.config.capabilities;
        if self.state != SessionState::NotAuthenticated {
            return caps.after_login.clone();
        }
        let mut list = if self.tls_active {
            caps.before_login_tls.clone()
        } else {
            caps.before_login.clone()
        };
        if self.tls_active || !self.config.starttls {
            // RFC 9051 §6.2.1: STARTTLS only where the adapter can switch,
            // and never once TLS is active.
            list.retain(|c| *c != Capability::StartTls);
        }
        if !self.plaintext_ok() {
            // RFC 9051 §6.2.3 and §7.1: no plaintext login here.
            list.retain(|c| !matches!(c, Capability::Auth(_) | Capability::LoginDisabled));
            list.push(Capability::LoginDisabled);
        }
        list
    }

    fn plaintext_ok(&self) -> bool {
        self.tls_active || self.config.allow_plaintext
    }

    fn offers(&self, cap: &Capability) -> bool {
        self.capabilities().contains(cap)
    }

    fn update_literal_plus(&mut self) {
        let on = self.offers(&Capability::LiteralPlus);
        self.framer.set_literal_plus(on);
    }

    /// Offers bytes read from the client; returns how many were taken.
    /// 0 (for non-empty input) means "stop reading": drain the outputs,
    /// answer the events, and offer the rest again.
    pub fn feed(&mut self, data: &[u8]) -> usize {
        let mut used = 0;
        while used < data.len() && !self.blocked() {
            let (n, frame) = self.framer.feed(&data[used..]);
            used += n;
            match frame {
                Some(frame) => self.handle_frame(frame),
                None if n == 0 => break,
                None => {}
            }
        }
        if used > 0 {
            self.activity = true;
        }
        used
    }

    /// Appends pending response bytes to `out`; true if anything was added.
    /// Call until it returns false. It stops before a literal the adapter
    /// must write ([`Event::WriteExternal`]).
    #[must_use]
    pub fn poll_transmit(&mut self, out: &mut BytesMut) -> bool {
        let mut any = false;
        loop {
            if self.out.drain_into(out) {
                any = true;
            }
            if !self.out.is_empty() {
                return any;
            }
            if !matches!(self.wait, Wait::Resume(_)) {
                return any;
            }
            self.resume();
            if self.out.is_empty() {
                return any;
            }
        }
    }

    /// The next event for the adapter. Call until `None` after draining
    /// [`poll_transmit`](Self::poll_transmit), and again after every input
    /// or answer.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        if let Some((uid, range)) = self.out.external_ready() {
            let id = self.next_request_id();
            self.out.start_external(id);
            return Some(Event::WriteExternal { id, uid, range });
        }
        if let Wait::Switch { emitted, kind } = &mut self.wait
            && !*emitted
            && self.out.is_empty()
        {
            *emitted = true;
            return Some(Event::SwitchTransport {
                kind: *kind,
                leftover: bytes::Bytes::new(),
            });
        }
        None
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next;
    /// also armed while the session waits for an answer (see
    /// `handle_timeout`), `None` during a TLS handshake (the adapter bounds
    /// that) and once closing. Ask again after every call into the session.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closing || matches!(self.wait, Wait::Switch { .. }) {
            None
        } else {
            Some(self.deadline)
        }
    }

    /// Runs the autologout timer (RFC 9051 §5.4). It is re-armed when
    /// input arrived, or the adapter answered or sent literal octets,
    /// since it was last armed, so a silent client is logged out after one
    /// to two periods; on expiry `* BYE` is sent and the session closes.
    /// The timer also runs while the session waits for an answer: an
    /// adapter that never answers (a lost or misrouted answer) cannot hold
    /// the connection open forever; a late answer is then handed back. In
    /// the middle of an external literal the session closes without a
    /// word (a `* BYE` there would be read as literal octets).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closing || now < self.deadline {
            return;
        }
        if self.activity || matches!(self.wait, Wait::Switch { .. }) {
            self.activity = false;
            self.rearm(now);
            return;
        }
        if matches!(self.wait, Wait::Answer { .. }) {
            self.wait = Wait::Nothing;
        }
        if self.out.external_active() {
            self.close();
            return;
        }
        self.send(&Response::Status(Status::bye(
            None,
            "Autologout; idle for too long",
        )));
        self.close();
    }

    fn rearm(&mut self, now: Instant) {
        let period = if self.state == SessionState::NotAuthenticated {
            self.config.limits.login_timeout
        } else {
            self.config.limits.autologout
        };
        self.deadline = now + period;
    }

    /// The adapter finished the switch after [`Event::SwitchTransport`].
    ///
    /// After the TLS handshake the session is in a fresh Not
    /// Authenticated state and sends nothing (RFC 9051 §6.2.1: the client
    /// asks for CAPABILITY again). After COMPRESS the session goes on in
    /// its state; every later octet is compressed by the adapter (RFC 4978
    /// §3). Does nothing if no switch was pending.
    pub fn transport_switched(&mut self, now: Instant) {
        let Wait::Switch { kind, .. } = self.wait else {
            return;
        };
        self.wait = Wait::Nothing;
        if kind == TransportKind::Deflate {
            self.compress_active = true;
            self.activity = true;
            return;
        }
        self.tls_active = true;
        self.framer = Framer::new(Role::Server, self.config.limits);
        self.update_literal_plus();
        self.rearm(now);
        self.activity = false;
    }

    /// Whether the session reads no further input for now.
    fn blocked(&self) -> bool {
        self.closing
            || !self.events.is_empty()
            || matches!(
                self.wait,
                Wait::Answer { .. } | Wait::Resume(_) | Wait::Switch { .. }
            )
            || self.out.has_external()
            || self.out.len() >= self.config.limits.max_pending_output
    }

    fn next_request_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    fn send(&mut self, response: &Response) {
        let mut enc = crate::Encoder::new(self.version).with_utf8_accept(self.enabled.utf8);
        crate::Encode::encode(response, &mut enc);
        let encoded = enc.finish().into_bytes();
        self.out.push(&encoded);
    }

    fn close(&mut self) {
        self.closing = true;
        self.state = SessionState::Logout;
    }

    /// Sends a tagged status.
    fn tagged(&mut self, tag: Tag, status: crate::response::Condition, text: RespText) {
        let st = Status::Tagged {
            tag,
            condition: status,
            text,
        };
        if matches!(
            st,
            Status::Tagged {
                condition: crate::response::Condition::Bad,
                ..
            }
        ) {
            self.bad_commands += 1;
        } else {
            self.bad_commands = 0;
        }
        self.send(&Response::Status(st));
        if self.bad_commands >= self.config.limits.max_bad_commands {
            self.send(&Response::Status(Status::bye(
                None,
                "Too many invalid commands",
            )));
            self.close();
        }
    }

    fn ok(&mut self, tag: Tag, code: Option<Code>, text: &str) {
        self.tagged(tag, crate::response::Condition::Ok, refusal(code, text));
    }

    fn no(&mut self, tag: Tag, text: RespText) {
        self.tagged(tag, crate::response::Condition::No, text);
    }

    fn bad(&mut self, tag: Tag, text: &str) {
        self.tagged(tag, crate::response::Condition::Bad, RespText::plain(text));
    }
}
