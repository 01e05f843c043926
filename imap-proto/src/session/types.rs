//! The public vocabulary of the server session: configuration, limits,
//! events and answers.

use crate::command::StoreAction;
use crate::message::PartOffsets;
use crate::response::RespText;
use crate::types::{Capability, DateTime, Flag, FlagPerm, MailboxAttribute, Secret};
use crate::view::{FlagUpdate, MessageSummary};
use bytes::Bytes;
use std::num::NonZeroU32;
use std::ops::Range;
use std::time::Duration;

/// Resource limits of a session. Each field documents its default and the
/// worst-case memory it allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The framer's limits (line 64 KiB, buffered literal 64 KiB, command
    /// 256 KiB, nesting 32): the input buffer is at most one command,
    /// 256 KiB by default.
    pub codec: crate::Limits,
    /// Largest APPEND message accepted (announced size). Default 50 MiB.
    /// Messages are streamed: this costs no memory, only the adapter's
    /// disk.
    pub max_message_size: u64,
    /// Output queued before [`feed`](super::ServerSession::feed) stops
    /// reading. Default 256 KiB. One FETCH response may overshoot it by
    /// one message's small items (sections above
    /// [`inline_section_max`](Self::inline_section_max) are never queued).
    pub max_pending_output: usize,
    /// Body sections up to this size are copied into the output; larger
    /// ones are streamed by the adapter ([`Event::WriteExternal`]) or
    /// shared from the [`Bytes`] it handed in. Default 64 KiB.
    pub inline_section_max: u64,
    /// Consecutive BAD answers before `* BYE`. Default 20.
    pub max_bad_commands: u32,
    /// Failed LOGIN/AUTHENTICATE before `* BYE`. Default 3.
    pub max_auth_failures: u32,
    /// Longest SASL response line (base64). Default 8 KiB (the framer's
    /// line limit applies as well).
    pub max_sasl_line: usize,
    /// Autologout before authentication. Default 60 s (RFC 9051 §5.4 lets
    /// the server pick a shorter timer before login).
    pub login_timeout: Duration,
    /// Autologout after authentication, IDLE included. Default 30 minutes,
    /// the minimum RFC 9051 §5.4 allows.
    pub autologout: Duration,
    /// Searching commands kept up to date with `RETURN (UPDATE)` at once
    /// (RFC 5267 §4.3.1; more are refused with `NOUPDATE`). Default 8.
    /// Each costs its criteria and 4 octets per result, and one metadata
    /// match per message of the mailbox at every flush of updates; one
    /// whose criteria read message content also keeps 16 octets per
    /// message of the mailbox (its content keys' answers) and reads each
    /// new message once.
    pub max_update_contexts: usize,
    /// NOTIFY notifications (RFC 5465) queued while a command runs; one
    /// more turns NOTIFY off with `NOTIFICATIONOVERFLOW`. Default 1024
    /// (a STATUS or LIST line each, about 100 octets).
    pub max_queued_notifications: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            codec: crate::Limits::default(),
            max_message_size: 50 * 1024 * 1024,
            max_pending_output: 256 * 1024,
            inline_section_max: 64 * 1024,
            max_bad_commands: 20,
            max_auth_failures: 3,
            max_sasl_line: 8192,
            login_timeout: Duration::from_secs(60),
            autologout: Duration::from_secs(30 * 60),
            max_update_contexts: 8,
            max_queued_notifications: 1024,
        }
    }
}

/// The capability lists the adapter offers, per phase (RFC 9051 §6.1.1:
/// capabilities may change after STARTTLS and after login).
///
/// The session itself adds `LOGINDISABLED` and removes `AUTH=` entries
/// before login when plaintext authentication is not allowed on a
/// connection without TLS, and removes `STARTTLS` once TLS is active.
/// Which extensions the session implements is read from these lists:
/// `AUTH=PLAIN` / `AUTH=LOGIN` enable those SASL mechanisms, `SASL-IR` the
/// initial response, `IMAP4rev2`, `CONDSTORE`, `QRESYNC` and `UTF8=ACCEPT`
/// what ENABLE accepts, `LITERAL+` the framer's non-synchronising literals,
/// `COMPRESS=DEFLATE` the COMPRESS command and `URLAUTH` GENURLAUTH,
/// RESETKEY and URLFETCH (both offered after login only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Before login on a connection without TLS.
    pub before_login: Vec<Capability>,
    /// Before login on a TLS connection (implicit or after STARTTLS).
    pub before_login_tls: Vec<Capability>,
    /// After login.
    pub after_login: Vec<Capability>,
}

impl Default for Capabilities {
    /// What this session implements: IMAP4rev1 and IMAP4rev2, STARTTLS,
    /// SASL PLAIN and LOGIN with SASL-IR, and after login the extensions
    /// listed in the session docs.
    fn default() -> Self {
        use Capability as C;
        let auth = |m: &str| {
            Capability::Auth(crate::types::Atom::try_from(m).unwrap_or_else(|_| unreachable!()))
        };
        let pre = vec![
            C::Imap4Rev1,
            C::Imap4Rev2,
            C::LiteralMinus,
            C::SaslIr,
            C::Id,
            C::Enable,
            C::Idle,
            auth("PLAIN"),
            auth("LOGIN"),
        ];
        let mut before_login = pre.clone();
        before_login.insert(2, C::StartTls);
        let after_login = vec![
            C::Imap4Rev1,
            C::Imap4Rev2,
            C::LiteralMinus,
            C::Id,
            C::Enable,
            C::Idle,
            C::Namespace,
            C::UidPlus,
            C::Move,
            C::Unselect,
            C::Children,
            C::SpecialUse,
            C::ListExtended,
            C::ListStatus,
            C::ESearch,
            C::SearchRes,
            C::StatusSize,
            C::Binary,
            C::CreateSpecialUse,
            C::CondStore,
            C::QResync,
            C::Sort,
            C::ThreadOrderedSubject,
            C::ThreadReferences,
            C::ESort,
            C::ContextSearch,
            C::ContextSort,
            C::Partial,
            C::Notify,
            C::Quota,
            C::QuotaResStorage,
            C::QuotaResMessage,
            C::Utf8Accept,
            C::ObjectId,
            C::SaveDate,
            C::CompressDeflate,
            C::UrlAuth,
        ];
        Capabilities {
            before_login,
            before_login_tls: pre,
            after_login,
        }
    }
}

/// How a session is set up; one per connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Text of the `* OK` greeting (the session adds the CAPABILITY code).
    pub greeting: String,
    /// Capabilities per phase.
    pub capabilities: Capabilities,
    /// The connection is already TLS (implicit TLS, port 993).
    pub tls_active: bool,
    /// Allow LOGIN and AUTHENTICATE without TLS (the `[auth] plaintext`
    /// policy, decided per connection). When false and TLS is not active
    /// they are refused with `NO [PRIVACYREQUIRED]` and `LOGINDISABLED` is
    /// advertised (RFC 9051 §6.2.3, §7.1).
    pub allow_plaintext: bool,
    /// The hierarchy delimiter of mailbox names (the personal namespace is
    /// `("" "<delimiter>")`). Default `/`.
    pub delimiter: char,
    /// Field/value pairs of the `* ID` answer (RFC 2971); `None` sends NIL.
    pub id: Option<Vec<(String, String)>>,
    /// Resource limits.
    pub limits: Limits,
}

impl ServerConfig {
    /// A configuration with the default capabilities, plaintext allowed,
    /// no TLS, delimiter `/` and default limits.
    pub fn new(greeting: impl Into<String>) -> Self {
        ServerConfig {
            greeting: greeting.into(),
            capabilities: Capabilities::default(),
            tls_active: false,
            allow_plaintext: true,
            delimiter: '/',
            id: Some(vec![("name".into(), "sansmail".into())]),
            limits: Limits::default(),
        }
    }
}

/// Identifies a question the session asked; the answer must carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

/// How the client authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMechanism {
    /// The LOGIN command (RFC 9051 §6.2.3).
    Login,
    /// SASL PLAIN (RFC 4616).
    Plain,
    /// SASL LOGIN (draft-murchison-sasl-login).
    SaslLogin,
}

/// The parameters of `SELECT ... (QRESYNC (...))` (RFC 7162 §3.2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QResyncParams {
    /// The client's UIDVALIDITY.
    pub uid_validity: u32,
    /// The client's last known HIGHESTMODSEQ.
    pub mod_seq: u64,
}

/// A mailbox operation that needs only a yes or no.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailboxOp {
    /// CREATE (with CREATE-SPECIAL-USE attributes, RFC 6154 §3).
    Create {
        /// New name (UTF-8, `delimiter`-separated).
        name: String,
        /// `USE (...)`.
        special_use: Vec<MailboxAttribute>,
    },
    /// DELETE.
    Delete {
        /// Name.
        name: String,
    },
    /// RENAME.
    Rename {
        /// Existing name.
        from: String,
        /// New name.
        to: String,
    },
    /// SUBSCRIBE.
    Subscribe {
        /// Name.
        name: String,
    },
    /// UNSUBSCRIBE.
    Unsubscribe {
        /// Name.
        name: String,
    },
}

/// What the session needs of a stored message, cheapest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContentNeed {
    /// The MIME part offsets the store keeps (`BODY[TEXT]`, `BODY[1]`, `BODY[1.MIME]`
    /// by range): no file is read.
    Offsets,
    /// The header octets (ENVELOPE, HEADER.FIELDS, header searches).
    Header,
    /// The part offsets and then every octet in order, in chunks, never
    /// held whole (BINARY, BINARY.SIZE, BODY and TEXT searches): answer
    /// with [`ServerSession::message_begin`], then
    /// [`ServerSession::message_chunk`] per chunk, then `respond_message`
    /// with [`MessageContent::Streamed`] (or [`MessageContent::Unreadable`]
    /// / [`MessageContent::Gone`] at any point). Memory: a chunk and the
    /// root header.
    ///
    /// [`ServerSession::message_begin`]: super::ServerSession::message_begin
    /// [`ServerSession::message_chunk`]: super::ServerSession::message_chunk
    Stream,
    /// The whole message (BODYSTRUCTURE, sections of transfer-encoded
    /// encapsulated messages).
    Message,
}

/// The adapter's answer to [`Event::ReadMessage`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageContent {
    /// The part offsets (for [`ContentNeed::Offsets`]).
    Offsets(PartOffsets),
    /// The header octets, through the blank line.
    Header(Bytes),
    /// The whole message, and its offsets when the store kept them. The
    /// [`Bytes`] are shared, never copied, when a section is large.
    Message {
        /// The octets (a file read or mapped by the adapter).
        bytes: Bytes,
        /// Stored offsets, if any.
        offsets: Option<PartOffsets>,
    },
    /// The message is gone (expunged meanwhile): it is left out of the
    /// answer (RFC 9051 §7.5.1 lets a server omit it).
    Gone,
    /// Every octet of a [`ContentNeed::Stream`] answer was handed in.
    Streamed,
    /// The message exists but its file cannot be served as indexed (it
    /// is shorter than its size, a symbolic link, unreadable). A FETCH
    /// leaves it out, answers the other messages, and ends with
    /// `NO [SERVERBUG]` (RFC 9051 §6.4.5 "NO - fetch error"), rather than
    /// announce a literal it cannot complete; a SEARCH does not match it.
    Unreadable,
}

/// The answer to [`Event::Select`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectAnswer {
    /// UIDVALIDITY.
    pub uid_validity: NonZeroU32,
    /// UIDNEXT.
    pub uid_next: NonZeroU32,
    /// HIGHESTMODSEQ; `None` sends `[NOMODSEQ]` to CONDSTORE clients.
    pub highest_mod_seq: Option<u64>,
    /// Flags defined in the mailbox (`* FLAGS`).
    pub flags: Vec<Flag>,
    /// `PERMANENTFLAGS` (ignored when read-only: the session sends `()`).
    pub permanent_flags: Vec<FlagPerm>,
    /// The mailbox can only be read (or EXAMINE was used).
    pub read_only: bool,
    /// Every message, any order (the view sorts by UID).
    pub messages: Vec<MessageSummary>,
    /// For QRESYNC: UIDs expunged since the client's mod-sequence
    /// (`changes_since`), sent as `VANISHED (EARLIER)`.
    pub vanished: Vec<NonZeroU32>,
    /// MAILBOXID (RFC 8474 §4.1), sent as `OK [MAILBOXID (id)]` when the
    /// store has one.
    pub mailbox_id: Option<crate::types::ObjectId>,
}

/// One mailbox in the answer to [`Event::List`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxInfo {
    /// Name (UTF-8, `delimiter`-separated; `INBOX` for the inbox).
    pub name: String,
    /// Attributes the store knows: `\Noselect`, `\Marked`, special-use.
    /// The session adds `\HasChildren`/`\HasNoChildren` and `\Subscribed`.
    pub attributes: Vec<MailboxAttribute>,
    /// The user subscribed to it.
    pub subscribed: bool,
}

/// The answer to [`Event::Status`]: every value; the session sends the
/// ones asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusAnswer {
    /// MESSAGES.
    pub messages: u32,
    /// RECENT (IMAP4rev1).
    pub recent: u32,
    /// UIDNEXT.
    pub uid_next: NonZeroU32,
    /// UIDVALIDITY.
    pub uid_validity: NonZeroU32,
    /// UNSEEN.
    pub unseen: u32,
    /// DELETED.
    pub deleted: u32,
    /// SIZE (RFC 8438).
    pub size: u64,
    /// HIGHESTMODSEQ (RFC 7162).
    pub highest_mod_seq: u64,
    /// APPENDLIMIT (RFC 7889): `None` is NIL.
    pub append_limit: Option<u32>,
    /// Octets of the `\Deleted` messages (DELETED-STORAGE, RFC 9208
    /// §4.2.2; the session reports KiB).
    pub deleted_storage: u64,
    /// MAILBOXID (RFC 8474 §4.2); `None` leaves the item out.
    pub mailbox_id: Option<crate::types::ObjectId>,
}

/// The answer to [`Event::Quota`]: an account's usage and limits
/// (RFC 9208 STORAGE and MESSAGE resources; `None` is unlimited).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct QuotaAnswer {
    /// Octets used by all messages of the account.
    pub storage_used: u64,
    /// Largest total size, in octets.
    pub storage_limit: Option<u64>,
    /// Messages in all mailboxes.
    pub messages_used: u64,
    /// Largest number of messages.
    pub message_limit: Option<u64>,
}

/// The answer to [`Event::Store`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StoreAnswer {
    /// The messages' flags after the store (also those that did not
    /// change).
    pub updated: Vec<FlagUpdate>,
    /// UIDs not stored because their mod-sequence was above
    /// UNCHANGEDSINCE (RFC 7162 §3.1.3: `[MODIFIED ...]`).
    pub modified: Vec<NonZeroU32>,
}

/// The answer to [`Event::Copy`] (RFC 4315 COPYUID).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyAnswer {
    /// UIDVALIDITY of the destination.
    pub uid_validity: NonZeroU32,
    /// Source UIDs, in the order of `destination`.
    pub source: Vec<NonZeroU32>,
    /// The new UIDs.
    pub destination: Vec<NonZeroU32>,
}

/// The answer to [`Event::AppendEnd`] (RFC 4315 APPENDUID).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendAnswer {
    /// UIDVALIDITY of the mailbox.
    pub uid_validity: NonZeroU32,
    /// The new message's UID.
    pub uid: NonZeroU32,
}

/// The transport change the adapter must make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// Start TLS as the server (RFC 9051 §6.2.1).
    StartTls,
    /// COMPRESS=DEFLATE (RFC 4978): from the octet after the drained OK,
    /// both directions are raw DEFLATE (RFC 1951, no zlib header), the
    /// server's output flushed (sync flush) at the end of every write.
    Deflate,
}

/// Something the adapter must act on, from
/// [`ServerSession::poll_event`](super::ServerSession::poll_event). Events
/// with an `id` block the session until answered with the named method.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Check credentials; answer with `respond_authenticate`.
    Authenticate {
        /// Carry it into the answer.
        id: RequestId,
        /// LOGIN command or SASL mechanism.
        mechanism: AuthMechanism,
        /// SASL PLAIN authorization identity, when not empty.
        authzid: Option<String>,
        /// The login name.
        username: String,
        /// The password.
        password: Secret<String>,
    },
    /// SELECT or EXAMINE; answer with `respond_select`. The previously
    /// selected mailbox (if any) is already closed.
    Select {
        /// Carry it into the answer.
        id: RequestId,
        /// Mailbox name (UTF-8).
        mailbox: String,
        /// EXAMINE: open read-only.
        read_only: bool,
        /// `(QRESYNC (...))` parameters: fill `SelectAnswer::vanished`.
        qresync: Option<QResyncParams>,
    },
    /// CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE; answer with
    /// `respond_mailbox`.
    Mailbox {
        /// Carry it into the answer.
        id: RequestId,
        /// The operation.
        op: MailboxOp,
    },
    /// LIST or LSUB: list every mailbox of the user; answer with
    /// `respond_list`. The session matches patterns and formats.
    List {
        /// Carry it into the answer.
        id: RequestId,
    },
    /// GETQUOTA (`mailbox` is `None`) or GETQUOTAROOT (RFC 9208): the
    /// account's usage and limits; answer with `respond_quota`, refusing
    /// with `[NONEXISTENT]` a mailbox that does not exist.
    Quota {
        /// Carry it into the answer.
        id: RequestId,
        /// GETQUOTAROOT's mailbox (UTF-8).
        mailbox: Option<String>,
    },
    /// STATUS; answer with `respond_status`.
    Status {
        /// Carry it into the answer.
        id: RequestId,
        /// Mailbox name (UTF-8).
        mailbox: String,
    },
    /// An APPEND was announced; accept (the session sends `+`) or refuse
    /// with `respond_append_begin`. Check the mailbox and quota here.
    AppendBegin {
        /// Carry it into the answer (and to `respond_append_end`).
        id: RequestId,
        /// Target mailbox (UTF-8).
        mailbox: String,
        /// Initial flags.
        flags: Vec<Flag>,
        /// INTERNALDATE, if given.
        date: Option<DateTime>,
        /// Message size in octets.
        size: u64,
    },
    /// The next octets of the message being appended (no answer).
    AppendChunk {
        /// The APPEND.
        id: RequestId,
        /// The octets.
        data: Bytes,
    },
    /// The message is complete; commit it durably and answer with
    /// `respond_append_end`.
    AppendEnd {
        /// The APPEND.
        id: RequestId,
    },
    /// The APPEND failed after it began (bad syntax after the message, a
    /// second message): discard what was written. No answer.
    AppendAbort {
        /// The APPEND.
        id: RequestId,
    },
    /// FETCH or SEARCH needs a message's content; answer with
    /// `respond_message`.
    ReadMessage {
        /// Carry it into the answer.
        id: RequestId,
        /// The message.
        uid: NonZeroU32,
        /// What is needed.
        need: ContentNeed,
    },
    /// STORE (or a FETCH of a body without `.PEEK`, which sets `\Seen`);
    /// answer with `respond_store`.
    Store {
        /// Carry it into the answer.
        id: RequestId,
        /// The messages (known to the client).
        uids: Vec<NonZeroU32>,
        /// Replace, add or remove.
        action: StoreAction,
        /// The flags.
        flags: Vec<Flag>,
        /// `UNCHANGEDSINCE` (RFC 7162).
        unchanged_since: Option<u64>,
    },
    /// COPY or MOVE; answer with `respond_copy`.
    Copy {
        /// Carry it into the answer.
        id: RequestId,
        /// Source messages.
        uids: Vec<NonZeroU32>,
        /// Destination (UTF-8).
        mailbox: String,
        /// MOVE: remove the sources after copying (RFC 6851).
        is_move: bool,
    },
    /// EXPUNGE, UID EXPUNGE or CLOSE: remove these messages (all carry
    /// `\Deleted` in the session's view); answer with `respond_expunge`.
    Expunge {
        /// Carry it into the answer.
        id: RequestId,
        /// The messages.
        uids: Vec<NonZeroU32>,
    },
    /// Write `range` of message `uid` through
    /// `send_external_chunk` / `finish_external`: the octets of a large
    /// literal whose announcement has been drained.
    WriteExternal {
        /// Carry it into the chunks.
        id: RequestId,
        /// The message.
        uid: NonZeroU32,
        /// Octets of the stored file.
        range: Range<u64>,
    },
    /// GENURLAUTH (RFC 4467 §6.1): authorize each rump URL (syntax and
    /// mechanism `INTERNAL` checked) for the logged-in user, who must own
    /// the mailbox; answer with `respond_genurlauth`.
    GenUrlAuth {
        /// Carry it into the answer.
        id: RequestId,
        /// The rump URLs, in order.
        urls: Vec<crate::url::ImapUrl>,
    },
    /// RESETKEY (RFC 4467 §6.2): new access keys for `mailbox` (all the
    /// user's mailboxes when `None`), invalidating every URL made with
    /// the old ones; answer with `respond_resetkey`.
    ResetKey {
        /// Carry it into the answer.
        id: RequestId,
        /// The mailbox (UTF-8).
        mailbox: Option<String>,
    },
    /// URLFETCH (RFC 4467 §6.3): check each URL's token and access for
    /// this session and read what it names; answer with
    /// `respond_urlfetch`.
    UrlFetch {
        /// Carry it into the answer.
        id: RequestId,
        /// The URLs as written (parse them with
        /// [`ImapUrl::parse`](crate::url::ImapUrl::parse)).
        urls: Vec<String>,
    },
    /// IDLE began: push changes with `mailbox_changed` as they come.
    IdleStarted,
    /// IDLE ended.
    IdleDone,
    /// The final plaintext reply is drained: upgrade the stream, then call
    /// `transport_switched`.
    SwitchTransport {
        /// Which switch.
        kind: TransportKind,
        /// Bytes to replay after the switch: always empty. For STARTTLS
        /// pipelined bytes are discarded (RFC 9051 §6.2.1) and the adapter
        /// must also drop bytes it read but did not feed; for DEFLATE the
        /// bytes it read but did not feed are compressed and go through
        /// its inflater first.
        leftover: Bytes,
    },
}

/// The IMAP connection states (RFC 9051 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// Before login.
    NotAuthenticated,
    /// Logged in, no mailbox selected.
    Authenticated,
    /// A mailbox is selected.
    Selected,
    /// LOGOUT or BYE sent.
    Logout,
}

/// Misuse of the streaming calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// No [`Event::WriteExternal`] is in progress (or the id differs).
    NoExternalInProgress,
    /// More octets than the range holds.
    TooManyOctets,
    /// No streamed read ([`ContentNeed::Stream`]) with this id is waiting
    /// for its octets.
    NoSuchRequest,
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SessionError::NoExternalInProgress => "no external literal is being written",
            SessionError::TooManyOctets => "more octets than the literal announced",
            SessionError::NoSuchRequest => "no streamed message read with this id",
        })
    }
}

impl std::error::Error for SessionError {}

/// Convenience for refusals: `NO` text with an optional code.
pub fn refusal(code: Option<crate::response::Code>, text: &str) -> RespText {
    match code {
        Some(c) => RespText::with_code(c, text),
        None => RespText::plain(text),
    }
}
