//! Server responses: the status line (`+OK` / `-ERR` with an optional RFC
//! 2449 §8 response code), the SASL continuation (`+ challenge`, RFC 5034
//! §4), and the parser and encoder for both.
//!
//! Grammar (RFC 2449 §9):
//!
//! ```text
//! single-line = status [SP text] CRLF   ; 512 octets maximum
//! status      = "+OK" / "-ERR"
//! text        = *schar / resp-code *CHAR
//! resp-code   = "[" resp-level *("/" resp-level) "]"
//! resp-level  = 1*rchar
//! ```

use bytes::{BufMut, BytesMut};
use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{tag, take_while1},
    combinator::{map, opt, rest},
    multi::separated_list1,
    sequence::{delimited, preceded},
};

use crate::ParseError;

/// `status = "+OK" / "-ERR"`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `+OK`: the command succeeded.
    Ok,
    /// `-ERR`: the command failed.
    Err,
}

/// A response code (RFC 2449 §8), sent in brackets after the status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseCode {
    /// `[IN-USE]`: the maildrop is locked by another session (RFC 2449
    /// §8.1.1).
    InUse,
    /// `[LOGIN-DELAY]`: logged in too recently (RFC 2449 §8.1.2).
    LoginDelay,
    /// `[SYS/TEMP]`: a temporary system failure (RFC 3206 §4).
    SysTemp,
    /// `[SYS/PERM]`: a permanent system failure (RFC 3206 §4).
    SysPerm,
    /// `[AUTH]`: the credentials were refused (RFC 3206 §5).
    Auth,
    /// Any other code, its `/`-separated levels kept as sent.
    Other(String),
}

impl ResponseCode {
    /// The code as it appears between the brackets.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InUse => "IN-USE",
            Self::LoginDelay => "LOGIN-DELAY",
            Self::SysTemp => "SYS/TEMP",
            Self::SysPerm => "SYS/PERM",
            Self::Auth => "AUTH",
            Self::Other(code) => code,
        }
    }

    fn from_wire(code: &str) -> Self {
        match code.to_ascii_uppercase().as_str() {
            "IN-USE" => Self::InUse,
            "LOGIN-DELAY" => Self::LoginDelay,
            "SYS/TEMP" => Self::SysTemp,
            "SYS/PERM" => Self::SysPerm,
            "AUTH" => Self::Auth,
            _ => Self::Other(code.to_owned()),
        }
    }
}

/// A single-line response: `+OK text` or `-ERR [CODE] text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `+OK` or `-ERR`.
    pub status: Status,
    /// The optional RFC 2449 §8 response code.
    pub code: Option<ResponseCode>,
    /// Human-readable text; may be empty.
    pub text: String,
}

impl Response {
    /// `+OK text`.
    pub fn ok(text: impl Into<String>) -> Self {
        Self {
            status: Status::Ok,
            code: None,
            text: text.into(),
        }
    }

    /// `-ERR text`.
    pub fn err(text: impl Into<String>) -> Self {
        Self {
            status: Status::Err,
            code: None,
            text: text.into(),
        }
    }

    /// `-ERR [code] text`.
    pub fn err_with_code(code: ResponseCode, text: impl Into<String>) -> Self {
        Self {
            status: Status::Err,
            code: Some(code),
            text: text.into(),
        }
    }

    /// Whether this is a `+OK` response.
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// Appends the response line with its CRLF.
    ///
    /// CR, LF and NUL in `text` or the code are replaced by spaces, so text
    /// coming from elsewhere (an error message, a user name) can never end
    /// the line early and inject a second response.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_slice(match self.status {
            Status::Ok => b"+OK",
            Status::Err => b"-ERR",
        });
        if let Some(code) = &self.code {
            out.put_slice(b" [");
            put_sanitized(out, code.as_str());
            out.put_u8(b']');
        }
        if !self.text.is_empty() {
            out.put_u8(b' ');
            put_sanitized(out, &self.text);
        }
        out.put_slice(b"\r\n");
    }

    /// Parses one response line; the trailing CRLF (or LF) is optional.
    pub fn parse(line: &[u8]) -> Result<Self, ParseError> {
        let line = strip_line_end(line);
        match single_line(line) {
            Ok((_, response)) => Ok(response),
            Err(_) => Err(ParseError::Malformed),
        }
    }
}

/// A SASL server challenge, `"+" SP [base64]` (RFC 5034 §4). The challenge is
/// kept as its base64 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation(pub String);

impl Continuation {
    /// Appends `+ challenge` and CRLF.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_slice(b"+ ");
        put_sanitized(out, &self.0);
        out.put_slice(b"\r\n");
    }

    /// Parses `+ challenge` (also a bare `+`); the CRLF is optional.
    pub fn parse(line: &[u8]) -> Result<Self, ParseError> {
        let line = strip_line_end(line);
        let Some(after) = line.strip_prefix(b"+") else {
            return Err(ParseError::Malformed);
        };
        // `+OK` is a status line, not a continuation.
        let challenge = match after {
            [] => &[][..],
            [b' ', challenge @ ..] => challenge,
            _ => return Err(ParseError::Malformed),
        };
        let challenge = std::str::from_utf8(challenge).map_err(|_| ParseError::InvalidUtf8)?;
        Ok(Self(challenge.to_owned()))
    }
}

fn put_sanitized(out: &mut BytesMut, text: &str) {
    for &byte in text.as_bytes() {
        out.put_u8(if matches!(byte, b'\r' | b'\n' | 0) {
            b' '
        } else {
            byte
        });
    }
}

pub(crate) fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `status = "+OK" / "-ERR"`
fn status(input: &[u8]) -> IResult<&[u8], Status> {
    alt((
        map(tag(&b"+OK"[..]), |_| Status::Ok),
        map(tag(&b"-ERR"[..]), |_| Status::Err),
    ))
    .parse(input)
}

/// `rchar = %x21-2E / %x30-5C / %x5E-7F` (printable ASCII, excluding "/"
/// and "]")
fn is_rchar(byte: u8) -> bool {
    matches!(byte, 0x21..=0x2E | 0x30..=0x5C | 0x5E..=0x7F)
}

/// `resp-code = "[" resp-level *("/" resp-level) "]"`, `resp-level =
/// 1*rchar`
fn resp_code(input: &[u8]) -> IResult<&[u8], ResponseCode> {
    map(
        delimited(
            tag(&b"["[..]),
            separated_list1(tag(&b"/"[..]), take_while1(is_rchar)),
            tag(&b"]"[..]),
        ),
        |levels: Vec<&[u8]>| {
            let joined = levels
                .iter()
                .map(|level| String::from_utf8_lossy(level))
                .collect::<Vec<_>>()
                .join("/");
            ResponseCode::from_wire(&joined)
        },
    )
    .parse(input)
}

/// `single-line = status [SP text]`, `text = *schar / resp-code *CHAR`
fn single_line(input: &[u8]) -> IResult<&[u8], Response> {
    let (input, status) = status(input)?;
    // The SP after a resp-code is part of the separator; without a code
    // every octet after the first SP is text.
    let (input, after) = opt(preceded(
        tag(&b" "[..]),
        alt((
            map((resp_code, opt(tag(&b" "[..])), rest), |(code, _, text)| {
                (Some(code), text)
            }),
            map(rest, |text| (None, text)),
        )),
    ))
    .parse(input)?;
    if after.is_none() && !input.is_empty() {
        return Err(nom::Err::Error(nom::error::Error::new(
            input,
            nom::error::ErrorKind::Tag,
        )));
    }
    let (code, text) = match after {
        Some((code, text)) => (code, String::from_utf8_lossy(text).into_owned()),
        None => (None, String::new()),
    };
    Ok((input, Response { status, code, text }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(response: &Response) -> Vec<u8> {
        let mut out = BytesMut::new();
        response.encode(&mut out);
        out.to_vec()
    }

    #[test]
    fn rule_status() {
        assert_eq!(status(b"+OK x"), Ok((&b" x"[..], Status::Ok)));
        assert_eq!(status(b"-ERR"), Ok((&b""[..], Status::Err)));
        assert!(status(b"+ok").is_err());
        assert!(status(b"OK").is_err());
    }

    #[test]
    fn rule_resp_code() {
        let table: &[(&[u8], &[u8], ResponseCode)] = &[
            (b"[IN-USE] x", b" x", ResponseCode::InUse),
            (b"[LOGIN-DELAY]", b"", ResponseCode::LoginDelay),
            (b"[SYS/PERM]", b"", ResponseCode::SysPerm),
            (b"[a/b]c", b"c", ResponseCode::Other("a/b".into())),
        ];
        for (input, remainder, value) in table {
            assert_eq!(resp_code(input), Ok((*remainder, value.clone())));
        }
        for bad in [&b"[]"[..], b"[a//b]", b"[a/]", b"[a b]", b"[abc", b"abc]"] {
            assert!(resp_code(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parse_known_answers() {
        let table: &[(&[u8], Response)] = &[
            (b"+OK\r\n", Response::ok("")),
            (b"+OK 2 320", Response::ok("2 320")),
            (
                b"-ERR [IN-USE] Do you have another POP session running?",
                Response::err_with_code(
                    ResponseCode::InUse,
                    "Do you have another POP session running?",
                ),
            ),
            (
                b"-ERR [SYS/TEMP] try later",
                Response::err_with_code(ResponseCode::SysTemp, "try later"),
            ),
            (
                b"-ERR [auth]",
                Response::err_with_code(ResponseCode::Auth, ""),
            ),
            (
                b"-ERR [X/Y/Z] odd",
                Response::err_with_code(ResponseCode::Other("X/Y/Z".into()), "odd"),
            ),
            (
                b"-ERR no such message, only 2 messages in maildrop",
                Response::err("no such message, only 2 messages in maildrop"),
            ),
            // `[` not followed by a valid code is plain text.
            (b"-ERR [oops", Response::err("[oops")),
            (b"+OK  two spaces", Response::ok(" two spaces")),
        ];
        for (input, expected) in table {
            assert_eq!(
                Response::parse(input).as_ref(),
                Ok(expected),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn parse_rejects() {
        for input in [&b"OK"[..], b"+OKAY", b"-ER", b"", b"+ abc"] {
            assert_eq!(Response::parse(input), Err(ParseError::Malformed));
        }
    }

    #[test]
    fn encode_known_answers() {
        assert_eq!(encoded(&Response::ok("")), b"+OK\r\n");
        assert_eq!(
            encoded(&Response::err_with_code(ResponseCode::SysPerm, "gone")),
            b"-ERR [SYS/PERM] gone\r\n"
        );
        // Injection attempt in adapter-provided text stays on one line.
        assert_eq!(encoded(&Response::err("a\r\n+OK b")), b"-ERR a  +OK b\r\n");
    }

    #[test]
    fn continuation_round_trip() {
        let mut out = BytesMut::new();
        Continuation(String::new()).encode(&mut out);
        assert_eq!(&out[..], b"+ \r\n");
        assert_eq!(Continuation::parse(&out), Ok(Continuation(String::new())));
        assert_eq!(
            Continuation::parse(b"+ VXNlcm5hbWU6\r\n"),
            Ok(Continuation("VXNlcm5hbWU6".into()))
        );
        assert_eq!(Continuation::parse(b"+"), Ok(Continuation(String::new())));
        assert_eq!(Continuation::parse(b"+OK"), Err(ParseError::Malformed));
    }
}
