//! What a server session asks of, or tells, its adapter.

use bytes::Bytes;

use crate::{MailParams, Mechanism, RcptParams, Secret};

/// Names one question the session asked; answer it with
/// [`ServerSession::respond`](crate::ServerSession::respond).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(pub(crate) u64);

/// Why a message body was thrown away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AbortReason {
    /// Larger than `Limits::max_message_size` (answered `552 5.3.4`).
    TooLarge,
    /// A bare CR or LF in DATA (answered `550 5.6.0`, RFC 5321 §2.3.8).
    BareLineEnding,
    /// The idle timeout expired in the middle of the body.
    Timeout,
}

/// The kind of transport switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// STARTTLS (RFC 3207): start a TLS handshake as the server.
    StartTls,
}

/// An output of the server session, from
/// [`ServerSession::poll_event`](crate::ServerSession::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// `MAIL FROM`: answer with `respond`; a 2xx starts the transaction.
    MailFrom {
        /// The question to answer.
        id: RequestId,
        /// The reverse path as sent; `None` for the null path `<>`.
        reverse_path: Option<String>,
        /// The ESMTP parameters.
        params: MailParams,
    },
    /// `RCPT TO`: answer with `respond`; a 2xx adds the recipient.
    RcptTo {
        /// The question to answer.
        id: RequestId,
        /// The forward path as sent.
        forward_path: String,
        /// The ESMTP parameters.
        params: RcptParams,
    },
    /// Credentials of an AUTH exchange: answer `235 2.7.0` to authenticate,
    /// or `535 5.7.8` to refuse.
    Auth {
        /// The question to answer.
        id: RequestId,
        /// The mechanism used.
        mechanism: Mechanism,
        /// The authorization identity (PLAIN only), if not empty.
        authzid: Option<String>,
        /// The authentication identity (RFC 4616 `authcid`, the user name).
        username: String,
        /// The password.
        password: Secret<String>,
    },
    /// A message body begins (354 queued, or the first BDAT chunk arrived).
    DataStart,
    /// Message bytes, unstuffed, in order.
    BodyChunk(Bytes),
    /// The whole body arrived and passed the session's checks. Answer with
    /// `respond` (SMTP) or `respond_lmtp` (LMTP). The transaction is over
    /// once answered, whatever the answer.
    DataEnd {
        /// The question to answer.
        id: RequestId,
    },
    /// The body was thrown away; the session sends the error reply itself.
    /// Always followed by [`Event::Reset`].
    DataAborted {
        /// Why.
        reason: AbortReason,
    },
    /// `BURL <url> [LAST]` (RFC 4468): fetch `url` and write its octets
    /// to the message (the first BURL or BDAT of a transaction is preceded
    /// by [`Event::DataStart`]), then answer with `respond`: a 2xx reply is
    /// sent for a middle chunk; after the `LAST` one the session asks
    /// [`Event::DataEnd`] instead, as for DATA. Any other reply is sent and
    /// ends the transaction ([`Event::Reset`] follows): RFC 4468 §6 names
    /// `554 5.7.0` for a refused URLAUTH and `554 5.6.3` for a URL that
    /// cannot be fetched.
    Burl {
        /// The question to answer.
        id: RequestId,
        /// The URL as sent.
        url: String,
        /// `LAST`: the message is complete after this chunk.
        last: bool,
    },
    /// The transaction is over without a message (RSET, HELO/EHLO, QUIT,
    /// failed body, disconnect): drop the envelope.
    Reset,
    /// Switch the transport: the final plaintext reply has been drained.
    /// Start the TLS handshake, then call `transport_switched`.
    SwitchTransport {
        /// Which switch.
        kind: TransportKind,
        /// Bytes to feed after the switch; always empty for STARTTLS
        /// (pipelined plaintext after STARTTLS is discarded, RFC 3207 §5).
        leftover: Bytes,
    },
}
