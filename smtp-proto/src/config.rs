//! Server configuration and limits.

use std::time::Duration;

/// Which protocol the server session speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// SMTP/ESMTP (RFC 5321): HELO/EHLO, one reply at end of data.
    Smtp,
    /// LMTP (RFC 2033): LHLO, one reply per accepted recipient at end of data.
    Lmtp,
}

/// A SASL mechanism the server offers (RFC 4954).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mechanism {
    /// PLAIN (RFC 4616).
    Plain,
    /// LOGIN (draft-murchison-sasl-login).
    Login,
}

impl Mechanism {
    /// The registered mechanism name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
        }
    }

    /// Looks a mechanism up by its (upper-case) name.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        match name {
            "PLAIN" => Some(Mechanism::Plain),
            "LOGIN" => Some(Mechanism::Login),
            _ => None,
        }
    }
}

/// Resource limits of one server session.
///
/// Worst-case memory of a session is about
/// `max_line_length + max_pending_output` (input line buffer plus queued
/// replies and queued body events), plus the envelope of one transaction
/// (`max_recipients` × `max_line_length` if the adapter keeps the addresses).
/// Bodies are never buffered: they leave as `BodyChunk` events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line, CRLF included. Default 4096; RFC 5321 §4.5.3.1.4
    /// asks for at least 512. A longer line is answered `500 5.5.2 Line too
    /// long` as soon as it crosses the limit and discarded up to its LF.
    /// Memory: one line buffer of this size.
    pub max_line_length: usize,
    /// Largest message accepted, in unstuffed octets, advertised as
    /// `SIZE <max>` (RFC 1870). Default 50 MiB; 0 means no limit. Not buffered.
    pub max_message_size: u64,
    /// Recipients per transaction; the next RCPT gets `452 4.5.3 Too many
    /// recipients` (RFC 5321 §4.5.3.1.8 asks for at least 100). Default 1000.
    pub max_recipients: usize,
    /// Error replies (500, 501, 502, 503, 504, 530, 538, 555) after which the
    /// session sends `421 4.7.0 Too many errors` and closes. Default 20.
    pub max_bad_commands: u32,
    /// Failed AUTH attempts (a non-2xx answer to an `Auth` event, or a
    /// malformed response) after which the session sends `421` and closes. Default 3.
    pub max_auth_failures: u32,
    /// Idle time before `421 4.4.2 <hostname> Error: timeout exceeded`.
    /// Default 5 minutes (RFC 5321 §4.5.3.2.7 server timeout).
    pub idle_timeout: Duration,
    /// Queued output (replies) and queued body event bytes above which
    /// `feed` accepts nothing until the adapter drains them. Default 64 KiB.
    pub max_pending_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_length: 4096,
            max_message_size: 50 * 1024 * 1024,
            max_recipients: 1000,
            max_bad_commands: 20,
            max_auth_failures: 3,
            idle_timeout: Duration::from_secs(300),
            max_pending_output: 64 * 1024,
        }
    }
}

/// Configuration of one server session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Our host name, used in the greeting, the EHLO reply and 421 replies.
    pub hostname: String,
    /// SMTP or LMTP.
    pub mode: Mode,
    /// Offer STARTTLS (RFC 3207) while the transport is plain text.
    pub starttls: bool,
    /// The transport is already TLS (implicit TLS, RFC 8314).
    pub tls_active: bool,
    /// SASL mechanisms offered, in this order. Empty: no AUTH.
    pub auth_mechanisms: Vec<Mechanism>,
    /// Allow AUTH on a connection without TLS. When false (the default),
    /// AUTH is offered only over TLS (RFC 4954 §4 and §14) and AUTH over
    /// plain text gets `538 5.7.11`.
    pub allow_plaintext: bool,
    /// Refuse MAIL before a successful AUTH (`530 5.7.0`), as on a submission port.
    pub require_auth: bool,
    /// Offer BURL (RFC 4468): `BURL` in EHLO, `BURL imap` once
    /// authenticated; each BURL becomes [`Event::Burl`](crate::Event::Burl).
    pub burl: bool,
    /// Resource limits.
    pub limits: Limits,
}

impl ServerConfig {
    /// An SMTP configuration with PLAIN and LOGIN over TLS only, no STARTTLS,
    /// no required AUTH and default limits.
    pub fn new(hostname: impl Into<String>) -> Self {
        ServerConfig {
            hostname: hostname.into(),
            mode: Mode::Smtp,
            starttls: false,
            tls_active: false,
            auth_mechanisms: vec![Mechanism::Plain, Mechanism::Login],
            allow_plaintext: false,
            require_auth: false,
            burl: false,
            limits: Limits::default(),
        }
    }
}
