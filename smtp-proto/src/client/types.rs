//! Configuration, limits, questions, answers and results of the client session.

use std::fmt;
use std::time::Duration;

use crate::{BodyType, Mechanism, Mode, Notify, Reply, RequestId, Ret, Secret, TransportKind};

/// Resource limits and timeouts of one client session.
///
/// Worst-case memory of a session is about
/// `max_reply_lines × max_reply_line_length` (one reply being read) plus
/// `3 × max_pending_output` (queued commands and the dot-stuffed body,
/// which at most doubles what [`send_body`](super::ClientSession::send_body)
/// accepted) plus, with BDAT, one chunk of `bdat_chunk_size`, plus the
/// envelope the adapter handed in. A server that sends an endless reply
/// line or an endless multi-line reply hits a limit, not the allocator.
///
/// The timeouts are RFC 5321 §4.5.3.2's minimums for a client; each one
/// bounds the wait for one complete reply (partial input does not extend
/// it), so a server that trickles its greeting one byte a minute is still
/// dropped after `greeting`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientLimits {
    /// Longest reply line, CRLF included. Default 2048 (RFC 5321
    /// §4.5.3.1.5 allows 512). Longer is [`ClientError::ReplyTooLong`].
    pub max_reply_line_length: usize,
    /// Most lines in one multi-line reply. Default 64 (an EHLO reply has a
    /// dozen). More is [`ClientError::TooManyReplyLines`].
    pub max_reply_lines: usize,
    /// Queued output above which `send_body` accepts nothing until the
    /// adapter drains `poll_transmit`. Default 64 KiB.
    pub max_pending_output: usize,
    /// Octets per `BDAT` chunk (RFC 3030); one chunk is buffered. Default 64 KiB.
    pub bdat_chunk_size: usize,
    /// The 220 greeting: 5 minutes (RFC 5321 §4.5.3.2.1).
    pub greeting: Duration,
    /// EHLO/HELO/LHLO, STARTTLS, AUTH, RSET replies: 5 minutes (RFC 5321
    /// names no value; the MAIL value is used).
    pub command: Duration,
    /// MAIL FROM: 5 minutes (§4.5.3.2.2).
    pub mail: Duration,
    /// RCPT TO: 5 minutes (§4.5.3.2.3).
    pub rcpt: Duration,
    /// The 354 after DATA: 2 minutes (§4.5.3.2.4).
    pub data_init: Duration,
    /// Between two pieces of body the adapter hands in (a stalled socket
    /// write stops them): 3 minutes (§4.5.3.2.5).
    pub data_block: Duration,
    /// The reply after the end of data (or BDAT): 10 minutes (§4.5.3.2.6).
    pub data_end: Duration,
    /// The 221 after QUIT. Default 5 minutes; nothing depends on it.
    pub quit: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        let min = |n: u64| Duration::from_secs(60 * n);
        ClientLimits {
            max_reply_line_length: 2048,
            max_reply_lines: 64,
            max_pending_output: 64 * 1024,
            bdat_chunk_size: 64 * 1024,
            greeting: min(5),
            command: min(5),
            mail: min(5),
            rcpt: min(5),
            data_init: min(2),
            data_block: min(3),
            data_end: min(10),
            quit: min(5),
        }
    }
}

/// Configuration of one client session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Our host name, sent in EHLO/HELO/LHLO (RFC 5321 §4.1.1.1).
    pub hostname: String,
    /// SMTP (EHLO, falling back to HELO) or LMTP (LHLO, a reply per recipient).
    pub mode: Mode,
    /// The transport is already TLS (implicit TLS, RFC 8314).
    pub tls_active: bool,
    /// Use BDAT when the server offers CHUNKING (RFC 3030). Default true.
    pub chunking: bool,
    /// Limits and timeouts.
    pub limits: ClientLimits,
}

impl ClientConfig {
    /// An SMTP client configuration with default limits.
    pub fn new(hostname: impl Into<String>) -> Self {
        ClientConfig {
            hostname: hostname.into(),
            mode: Mode::Smtp,
            tls_active: false,
            chunking: true,
            limits: ClientLimits::default(),
        }
    }
}

/// The service extensions of an EHLO/LHLO reply (RFC 5321 §4.1.1.1) that
/// this client uses. Keywords are matched case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    /// The first line of the reply: the server's domain and greeting text.
    pub domain: String,
    /// The server greeted with EHLO/LHLO (false after a HELO fallback).
    pub esmtp: bool,
    /// `PIPELINING` (RFC 2920).
    pub pipelining: bool,
    /// `SIZE [n]` (RFC 1870): `Some(0)` means no fixed limit.
    pub size: Option<u64>,
    /// `8BITMIME` (RFC 6152).
    pub eight_bit_mime: bool,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `CHUNKING` (RFC 3030).
    pub chunking: bool,
    /// `BINARYMIME` (RFC 3030).
    pub binary_mime: bool,
    /// `DSN` (RFC 3461).
    pub dsn: bool,
    /// `STARTTLS` (RFC 3207).
    pub starttls: bool,
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    pub enhanced_status_codes: bool,
    /// `AUTH mech...` (RFC 4954 §3), upper-cased; also the old `AUTH=` form.
    pub auth: Vec<String>,
}

impl Extensions {
    /// Reads the extensions out of a positive EHLO/LHLO reply.
    pub fn from_ehlo(reply: &Reply) -> Extensions {
        let mut ext = Extensions {
            esmtp: true,
            domain: reply.lines.first().cloned().unwrap_or_default(),
            ..Extensions::default()
        };
        for line in reply.lines.iter().skip(1) {
            // ehlo-line = ehlo-keyword *( SP ehlo-param ) (RFC 5321 §4.1.1.1)
            let mut words = line.split([' ', '=']).filter(|w| !w.is_empty());
            let Some(keyword) = words.next() else {
                continue;
            };
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => ext.pipelining = true,
                "SIZE" => {
                    ext.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0));
                }
                "8BITMIME" => ext.eight_bit_mime = true,
                "SMTPUTF8" => ext.smtputf8 = true,
                "CHUNKING" => ext.chunking = true,
                "BINARYMIME" => ext.binary_mime = true,
                "DSN" => ext.dsn = true,
                "STARTTLS" => ext.starttls = true,
                "ENHANCEDSTATUSCODES" => ext.enhanced_status_codes = true,
                "AUTH" => {
                    for mech in words {
                        let mech = mech.to_ascii_uppercase();
                        if !ext.auth.contains(&mech) {
                            ext.auth.push(mech);
                        }
                    }
                }
                _ => {}
            }
        }
        ext
    }

    /// The server offers SASL mechanism `m`.
    pub fn offers_auth(&self, m: Mechanism) -> bool {
        self.auth.iter().any(|a| a == m.as_str())
    }
}

/// One recipient of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// The forward path without angle brackets.
    pub forward_path: String,
    /// `NOTIFY=` (RFC 3461 §4.1); sent only when the server offers DSN.
    pub notify: Option<Vec<Notify>>,
    /// `ORCPT=` as `addr-type;xtext` (RFC 3461 §4.2); sent only with DSN.
    pub orcpt: Option<String>,
}

impl Recipient {
    /// A recipient without DSN parameters.
    pub fn new(forward_path: impl Into<String>) -> Self {
        Recipient {
            forward_path: forward_path.into(),
            notify: None,
            orcpt: None,
        }
    }
}

/// One mail transaction to run: the envelope and what the body needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path without angle brackets; `None` is `<>`.
    pub reverse_path: Option<String>,
    /// The recipients, in RCPT order; results use these indices.
    pub recipients: Vec<Recipient>,
    /// The body size in octets, sent as `SIZE=` when the server offers
    /// SIZE and checked against its limit (RFC 1870).
    pub size: u64,
    /// What the body contains: 7-bit, 8-bit (needs 8BITMIME) or binary
    /// (needs BINARYMIME and CHUNKING).
    pub body: BodyType,
    /// The header needs SMTPUTF8 (RFC 6532); a non-ASCII address in the
    /// envelope needs it too and is detected by the session.
    pub smtputf8: bool,
    /// `RET=` (RFC 3461 §4.3); sent only when the server offers DSN.
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461 §4.4), decoded; xtext-encoded on the wire.
    pub envid: Option<String>,
}

impl Envelope {
    /// A 7-bit message of `size` octets without DSN parameters.
    pub fn new(reverse_path: Option<String>, recipients: Vec<Recipient>, size: u64) -> Self {
        Envelope {
            reverse_path,
            recipients,
            size,
            body: BodyType::SevenBit,
            smtputf8: false,
            ret: None,
            envid: None,
        }
    }
}

/// SASL credentials for AUTH (RFC 4954).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// PLAIN (RFC 4616) or LOGIN.
    pub mechanism: Mechanism,
    /// The authentication identity.
    pub username: String,
    /// The password, kept out of `Debug`.
    pub password: Secret<String>,
}

/// The adapter's answer to [`ClientEvent::Ready`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Send STARTTLS (RFC 3207); refused while TLS is already on.
    StartTls,
    /// Authenticate (RFC 4954); PLAIN sends an initial response.
    Auth(Credentials),
    /// Run one mail transaction; refused without recipients.
    Mail(Envelope),
    /// Send QUIT and close after the 221.
    Quit,
}

/// Which command a refusal or timeout belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// The 220 greeting.
    Greeting,
    /// EHLO, HELO or LHLO.
    Hello,
    /// STARTTLS.
    StartTls,
    /// AUTH and its continuation lines.
    Auth,
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// DATA and its 354.
    Data,
    /// Sending the body.
    Body,
    /// The reply to the end of data or to a BDAT chunk.
    DataEnd,
    /// RSET.
    Rset,
    /// QUIT.
    Quit,
    /// Between commands (waiting on the adapter).
    Idle,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Greeting => "greeting",
            Stage::Hello => "EHLO",
            Stage::StartTls => "STARTTLS",
            Stage::Auth => "AUTH",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Body => "message body",
            Stage::DataEnd => "end of data",
            Stage::Rset => "RSET",
            Stage::Quit => "QUIT",
            Stage::Idle => "idle",
        })
    }
}

/// What became of one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server took responsibility (2xx after the data, RFC 5321 §6.1).
    Delivered(Reply),
    /// Try again later: a 4xx, a lost connection, a timeout.
    Temporary(Reply),
    /// Do not try again: a 5xx, or a requirement the server cannot meet.
    Permanent(Reply),
}

impl Outcome {
    /// The reply behind the outcome (the server's, or one this client made).
    pub fn reply(&self) -> &Reply {
        match self {
            Outcome::Delivered(r) | Outcome::Temporary(r) | Outcome::Permanent(r) => r,
        }
    }

    /// A final failure reply: 5xx is permanent, anything else temporary.
    pub(crate) fn failure(reply: Reply) -> Outcome {
        if reply.is_permanent() {
            Outcome::Permanent(reply)
        } else {
            Outcome::Temporary(reply)
        }
    }

    /// A reply to the end of data: 2xx delivered, 5xx permanent, else temporary.
    pub(crate) fn final_reply(reply: Reply) -> Outcome {
        if reply.is_positive() {
            Outcome::Delivered(reply)
        } else {
            Outcome::failure(reply)
        }
    }
}

/// Why the session gave up on the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// No complete reply within the stage's timeout.
    Timeout(Stage),
    /// A reply line longer than `max_reply_line_length`.
    ReplyTooLong,
    /// A multi-line reply longer than `max_reply_lines`.
    TooManyReplyLines,
    /// Bytes that are not an RFC 5321 §4.2 reply.
    InvalidReply,
    /// A reply while no command was waiting for one.
    UnexpectedReply(Reply),
    /// `421`: the server is closing the transmission channel (RFC 5321 §3.8).
    ServiceClosing(Reply),
    /// The greeting or EHLO and HELO were refused: no session is possible.
    Refused(Stage, Reply),
    /// The peer closed the connection (or reading failed) at this stage.
    ConnectionClosed(Stage),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Timeout(stage) => write!(f, "timeout waiting for the {stage} reply"),
            ClientError::ReplyTooLong => f.write_str("reply line too long"),
            ClientError::TooManyReplyLines => f.write_str("too many reply lines"),
            ClientError::InvalidReply => f.write_str("malformed reply"),
            ClientError::UnexpectedReply(r) => write!(f, "unexpected reply {}", r.code),
            ClientError::ServiceClosing(r) => write!(f, "service closing: {} {}", r.code, r.text()),
            ClientError::Refused(stage, r) => write!(f, "{stage} refused: {} {}", r.code, r.text()),
            ClientError::ConnectionClosed(stage) => {
                write!(f, "connection closed during {stage}")
            }
        }
    }
}

impl std::error::Error for ClientError {}

impl ClientError {
    /// The reply a recipient gets when the connection fails this way: the
    /// server's own reply where there is one, else a 4xx made from the error
    /// (`4.4.2` for timeouts and lost connections, RFC 3463 §3.5; `4.5.0`
    /// for protocol violations).
    pub fn reply(&self) -> Reply {
        match self {
            ClientError::ServiceClosing(r) | ClientError::Refused(_, r) => r.clone(),
            ClientError::Timeout(_) | ClientError::ConnectionClosed(_) => {
                Reply::new(451, "4.4.2", &self.to_string())
            }
            _ => Reply::new(451, "4.5.0", &format!("protocol error: {self}")),
        }
    }
}

/// The end of one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionResult {
    /// One outcome per recipient of the envelope, in the same order.
    pub outcomes: Vec<Outcome>,
    /// The server offered DSN, so NOTIFY/RET/ENVID were passed on; without
    /// it a `NOTIFY=SUCCESS` asks for a "relayed" DSN (RFC 3461 §4.1).
    pub dsn: bool,
}

/// An output of the client session, from
/// [`ClientSession::poll_event`](super::ClientSession::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The session is idle (after the greeting and EHLO, STARTTLS, AUTH or a
    /// transaction): answer with `respond(id, Action)`. See
    /// `extensions()` for what the server offers.
    Ready {
        /// The question to answer.
        id: RequestId,
    },
    /// STARTTLS or AUTH was refused; a `Ready` follows.
    Refused {
        /// The refused command.
        stage: Stage,
        /// The server's reply.
        reply: Reply,
    },
    /// AUTH succeeded (235); a `Ready` follows.
    Authenticated,
    /// The server answered `220` to STARTTLS: start the TLS handshake as
    /// the client, then call `transport_switched`.
    SwitchTransport {
        /// Which switch.
        kind: TransportKind,
        /// Always empty: bytes the server sent after its 220 are discarded
        /// (RFC 3207 §6, response injection).
        leftover: bytes::Bytes,
    },
    /// The reply to one RCPT TO, for progress and logs; the final word is
    /// in `TransactionDone`.
    RcptReply {
        /// The recipient's index in the envelope.
        index: usize,
        /// The server's reply.
        reply: Reply,
    },
    /// The server waits for the body: call `send_body` until the message
    /// is out, then `end_body`.
    SendBody,
    /// The transaction is over; a `Ready` follows unless the connection failed.
    TransactionDone(TransactionResult),
    /// The session gave up; if a transaction was open, its
    /// `TransactionDone` came just before. Close the connection.
    Failed(ClientError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ehlo_keywords_known_answers() {
        let reply = Reply::with_lines(
            250,
            "",
            [
                "mx.example greets you",
                "pipelining",
                "SIZE",
                "8BITMIME",
                "AUTH=LOGIN",
                "AUTH plain login CRAM-MD5",
                "X-UNKNOWN thing",
                "",
                "STARTTLS",
                "CHUNKING",
                "BINARYMIME",
                "DSN",
                "SMTPUTF8",
                "ENHANCEDSTATUSCODES",
            ]
            .map(String::from)
            .to_vec(),
        );
        let ext = Extensions::from_ehlo(&reply);
        assert_eq!(
            ext,
            Extensions {
                domain: "mx.example greets you".into(),
                esmtp: true,
                pipelining: true,
                size: Some(0),
                eight_bit_mime: true,
                smtputf8: true,
                chunking: true,
                binary_mime: true,
                dsn: true,
                starttls: true,
                enhanced_status_codes: true,
                auth: vec!["LOGIN".into(), "PLAIN".into(), "CRAM-MD5".into()],
            }
        );
        assert!(ext.offers_auth(Mechanism::Plain) && ext.offers_auth(Mechanism::Login));
        let ext = Extensions::from_ehlo(&Reply::with_lines(
            250,
            "",
            vec!["mx".into(), "SIZE 1000".into(), "SIZE junk".into()],
        ));
        // The last SIZE line wins; a value that is no number means no limit.
        assert_eq!(ext.size, Some(0));
        let ext = Extensions::from_ehlo(&Reply::with_lines(
            250,
            "",
            vec!["mx".into(), "SIZE 1000".into()],
        ));
        assert_eq!(ext.size, Some(1000));
        assert!(!ext.offers_auth(Mechanism::Plain));
    }

    #[test]
    fn error_replies_for_recipients() {
        let r = ClientError::Timeout(Stage::DataEnd).reply();
        assert_eq!(
            (r.code, r.enhanced.map(|e| e.to_string())),
            (451, Some("4.4.2".into()))
        );
        assert_eq!(r.text(), "timeout waiting for the end of data reply");
        let r = ClientError::ReplyTooLong.reply();
        assert_eq!(r.text(), "protocol error: reply line too long");
        let closing = Reply::new(421, "4.3.2", "bye");
        assert_eq!(
            ClientError::ServiceClosing(closing.clone()).reply(),
            closing
        );
    }
}
