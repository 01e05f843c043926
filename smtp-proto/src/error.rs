//! Parse errors of the SMTP codec.

use std::fmt;

/// Why a command line or a reply could not be parsed.
///
/// The server session maps each variant onto the reply RFC 5321 §4.2.4 and
/// RFC 3463 ask for (500 5.5.2, 501 5.5.4, 555 5.5.4, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// More input is needed (a reply without its final line, a line without CRLF).
    Incomplete,
    /// The verb is not an SMTP/ESMTP/LMTP command this crate knows (500 5.5.2).
    UnknownCommand,
    /// A known command with arguments that do not match its ABNF (501 5.5.4).
    Syntax(&'static str),
    /// The `Reverse-path` of MAIL FROM is not an RFC 5321 §4.1.2 path (501 5.1.7).
    InvalidReversePath,
    /// The `Forward-path` of RCPT TO is not an RFC 5321 §4.1.2 path (501 5.1.3).
    InvalidForwardPath,
    /// A MAIL/RCPT parameter this crate does not implement (555 5.5.4).
    UnknownParameter(String),
    /// A MAIL/RCPT parameter given twice or with a malformed value (501 5.5.4).
    InvalidParameter(String),
    /// Bytes that are not UTF-8 where text is required.
    InvalidUtf8,
    /// A reply line that does not start with a three-digit code.
    InvalidReply,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Incomplete => f.write_str("incomplete input"),
            ParseError::UnknownCommand => f.write_str("command not recognized"),
            ParseError::Syntax(what) => write!(f, "syntax error: {what}"),
            ParseError::InvalidReversePath => f.write_str("invalid reverse-path"),
            ParseError::InvalidForwardPath => f.write_str("invalid forward-path"),
            ParseError::UnknownParameter(p) => write!(f, "unsupported parameter {p}"),
            ParseError::InvalidParameter(p) => write!(f, "invalid parameter {p}"),
            ParseError::InvalidUtf8 => f.write_str("invalid UTF-8"),
            ParseError::InvalidReply => f.write_str("invalid reply"),
        }
    }
}

impl std::error::Error for ParseError {}
