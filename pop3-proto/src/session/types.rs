//! The public vocabulary of the server session: configuration, events,
//! answers and states.

use bytes::Bytes;

use crate::{Limits, Response, Secret};

/// How the server session is set up; one per connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The server's name, used in the greeting and the sign-off.
    pub hostname: String,
    /// Offer STLS (RFC 2595 §4) while the connection is not yet TLS.
    pub starttls: bool,
    /// The connection is already TLS (implicit TLS, port 995).
    pub tls_active: bool,
    /// Allow USER/PASS and AUTH on a connection without TLS (the `[auth]
    /// plaintext` policy, decided by the adapter per connection). When
    /// false and TLS is not active, they are refused with `-ERR [AUTH]`
    /// and CAPA does not list USER and SASL.
    pub allow_plaintext: bool,
    /// Resource limits.
    pub limits: Limits,
}

impl ServerConfig {
    /// A configuration with STLS off, plaintext allowed and default limits.
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            starttls: false,
            tls_active: false,
            allow_plaintext: true,
            limits: Limits::default(),
        }
    }
}

/// Identifies a question the session asked; the answer must carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub(super) u64);

/// One message of the maildrop as the adapter lists it at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaildropEntry {
    /// Size in octets, as reported by STAT, LIST and the RETR `+OK`.
    pub size: u64,
    /// The unique-id listing value (RFC 1939 §7: 1 to 70 characters in
    /// 0x21..=0x7E, stable across sessions). Other octets are sent as `_`.
    pub uid: String,
}

/// How a client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMechanism {
    /// `USER` and `PASS` (RFC 1939 §7).
    UserPass,
    /// SASL PLAIN (RFC 4616) through `AUTH` (RFC 5034).
    Plain,
    /// SASL LOGIN through `AUTH`.
    Login,
}

/// The transport change the adapter must make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// Start TLS as the server (STLS, RFC 2595 §4).
    StartTls,
}

/// The adapter's answer to [`Event::Authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthAnswer {
    /// Credentials accepted and the maildrop locked: its listing, in
    /// message-number order (entry 0 is message 1). The session enters the
    /// TRANSACTION state.
    Accept(Vec<MaildropEntry>),
    /// Refused; the response is sent as it is. Use `-ERR [AUTH] ...` for
    /// bad credentials, `-ERR [IN-USE] ...` when the maildrop is locked by
    /// another session, `-ERR [SYS/TEMP] ...` for a storage failure (RFC
    /// 2449 §8, RFC 3206). A `+OK` response here is sent as `-ERR`.
    Reject(Response),
}

/// Something the adapter must act on, from [`ServerSession::poll_event`](crate::ServerSession::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Check credentials and lock the maildrop; answer with
    /// [`ServerSession::respond_authenticate`](crate::ServerSession::respond_authenticate).
    Authenticate {
        /// Carry it into the answer.
        id: RequestId,
        /// How the client logged in.
        mechanism: AuthMechanism,
        /// The SASL PLAIN authorization identity when it was not empty.
        authzid: Option<String>,
        /// The login name (RFC 1939 USER, or the SASL authentication
        /// identity).
        username: String,
        /// The password.
        password: Secret<String>,
    },
    /// RETR or TOP of a message that exists and is not deleted; answer with
    /// [`ServerSession::respond_retrieve`](crate::ServerSession::respond_retrieve), then stream the message.
    Retrieve {
        /// Carry it into the answer.
        id: RequestId,
        /// 0-based index into the listing (message number minus one).
        index: usize,
        /// `Some(n)` for `TOP msg n`: the session sends the headers and
        /// `n` body lines and reports [`MessageProgress::Enough`](crate::MessageProgress::Enough) early.
        top_lines: Option<u64>,
    },
    /// QUIT in the TRANSACTION state: the session is in the UPDATE state
    /// (RFC 1939 §6). Remove the messages durably, release the maildrop
    /// lock, and answer with [`ServerSession::respond_update`](crate::ServerSession::respond_update). The session
    /// closes after the answer. A connection that ends without this event
    /// (autologout, errors, the peer vanishing) removes nothing.
    Update {
        /// Carry it into the answer.
        id: RequestId,
        /// 0-based indexes of the messages marked as deleted, ascending.
        deleted: Vec<usize>,
    },
    /// The `+OK` to STLS has been drained: upgrade the stream, then call
    /// [`ServerSession::transport_switched`](crate::ServerSession::transport_switched).
    SwitchTransport {
        /// Which switch.
        kind: TransportKind,
        /// Bytes to replay after the switch. Always empty for STLS: bytes
        /// pipelined after STLS were discarded (a command-injection defence,
        /// as in RFC 3207 §4.2); the adapter must also drop any bytes it
        /// read but did not feed.
        leftover: Bytes,
    },
}

/// The RFC 1939 §3 session states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Before a successful login.
    Authorization,
    /// Logged in, the maildrop is locked.
    Transaction,
    /// After QUIT in TRANSACTION, until the adapter answers.
    Update,
}

/// Misuse of the message streaming calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// No RETR/TOP answer is being streamed under this id.
    NoMessageInProgress,
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoMessageInProgress => f.write_str("no message is being streamed"),
        }
    }
}

impl std::error::Error for SessionError {}
