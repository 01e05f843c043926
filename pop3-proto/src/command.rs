//! Client commands (RFC 1939 §§4–7, RFC 2449 §5, RFC 2595 §4, RFC 5034 §4):
//! the parser and the encoder.
//!
//! Grammar (RFC 2449 §9):
//!
//! ```text
//! command = keyword *(SP param) CRLF   ; 255 octets maximum
//! keyword = 3*4VCHAR
//! param   = 1*VCHAR
//! ```
//!
//! Deliberate leniencies, because real clients are sloppy: keywords are
//! case-insensitive (as RFC 1939 §3 says), runs of spaces and trailing
//! spaces are accepted, a parameter may carry UTF-8, and RFC 2449's
//! 40-character parameter limit is not enforced (full addresses as user
//! names can be longer). `PASS` takes the rest of the line, spaces included
//! (RFC 1939 §7).

use bytes::{BufMut, BytesMut};
use nom::{
    IResult, Parser,
    bytes::complete::{take_while_m_n, take_while1},
    character::complete::digit1,
    combinator::{all_consuming, map_res},
    multi::many0,
    sequence::preceded,
};

use crate::{ParseError, Secret, response::strip_line_end};

/// A POP3 command as sent by a client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `USER name` (RFC 1939 §7).
    User(String),
    /// `PASS string` (RFC 1939 §7).
    Pass(Secret<String>),
    /// `APOP name digest` (RFC 1939 §7). Parsed so that clients get a
    /// clear refusal; the server session does not offer it.
    Apop {
        /// The mailbox name.
        name: String,
        /// The MD5 digest, as sent.
        digest: String,
    },
    /// `AUTH [mechanism [initial-response]]` (RFC 5034 §4). Without a
    /// mechanism it is the legacy RFC 1734 form that lists the mechanisms.
    Auth {
        /// The SASL mechanism name, upper-cased; `None` for a bare `AUTH`.
        mechanism: Option<String>,
        /// The base64 initial response as sent (`=` means empty).
        initial_response: Option<Secret<String>>,
    },
    /// `STAT` (RFC 1939 §5).
    Stat,
    /// `LIST [msg]` (RFC 1939 §5).
    List(Option<u64>),
    /// `RETR msg` (RFC 1939 §5).
    Retr(u64),
    /// `DELE msg` (RFC 1939 §5).
    Dele(u64),
    /// `NOOP` (RFC 1939 §5).
    Noop,
    /// `RSET` (RFC 1939 §5).
    Rset,
    /// `QUIT` (RFC 1939 §§4, 6).
    Quit,
    /// `TOP msg n` (RFC 1939 §7).
    Top {
        /// The message number.
        msg: u64,
        /// How many body lines to send.
        lines: u64,
    },
    /// `UIDL [msg]` (RFC 1939 §7).
    Uidl(Option<u64>),
    /// `CAPA` (RFC 2449 §5).
    Capa,
    /// `STLS` (RFC 2595 §4).
    Stls,
}

impl Command {
    /// Parses one command line; the trailing CRLF (or bare LF) is optional.
    pub fn parse(line: &[u8]) -> Result<Self, ParseError> {
        let line = strip_line_end(line);
        if line.contains(&b'\r') || line.contains(&b'\n') {
            return Err(ParseError::Malformed);
        }
        let (args, keyword) = keyword(line).map_err(|_| {
            if line.iter().all(|b| *b == b' ') {
                ParseError::Empty
            } else {
                ParseError::UnknownCommand
            }
        })?;
        if !args.is_empty() && args[0] != b' ' {
            return Err(ParseError::UnknownCommand);
        }
        let upper = keyword.to_ascii_uppercase();
        if upper == b"PASS" {
            return pass_arg(args).map(|pass| Self::Pass(Secret::new(pass)));
        }
        let params = params(args)?;
        match upper.as_slice() {
            b"USER" => one(&params).and_then(text).map(Self::User),
            b"APOP" => match params.as_slice() {
                [name, digest] => Ok(Self::Apop {
                    name: text(name)?,
                    digest: text(digest)?,
                }),
                [] | [_] => Err(ParseError::MissingArgument),
                _ => Err(ParseError::TooManyArguments),
            },
            b"AUTH" => match params.as_slice() {
                [] => Ok(Self::Auth {
                    mechanism: None,
                    initial_response: None,
                }),
                [mechanism] => Ok(Self::Auth {
                    mechanism: Some(text(mechanism)?.to_ascii_uppercase()),
                    initial_response: None,
                }),
                [mechanism, initial] => Ok(Self::Auth {
                    mechanism: Some(text(mechanism)?.to_ascii_uppercase()),
                    initial_response: Some(Secret::new(text(initial)?)),
                }),
                _ => Err(ParseError::TooManyArguments),
            },
            b"STAT" => none(&params).map(|()| Self::Stat),
            b"LIST" => optional_number(&params).map(Self::List),
            b"RETR" => one(&params).and_then(number).map(Self::Retr),
            b"DELE" => one(&params).and_then(number).map(Self::Dele),
            b"NOOP" => none(&params).map(|()| Self::Noop),
            b"RSET" => none(&params).map(|()| Self::Rset),
            b"QUIT" => none(&params).map(|()| Self::Quit),
            b"TOP" => match params.as_slice() {
                [msg, lines] => Ok(Self::Top {
                    msg: number(msg)?,
                    lines: number(lines)?,
                }),
                [] | [_] => Err(ParseError::MissingArgument),
                _ => Err(ParseError::TooManyArguments),
            },
            b"UIDL" => optional_number(&params).map(Self::Uidl),
            b"CAPA" => none(&params).map(|()| Self::Capa),
            b"STLS" => none(&params).map(|()| Self::Stls),
            _ => Err(ParseError::UnknownCommand),
        }
    }

    /// The command keyword, upper-case, as RFC 1939 spells it.
    pub fn keyword(&self) -> &'static str {
        match self {
            Self::User(_) => "USER",
            Self::Pass(_) => "PASS",
            Self::Apop { .. } => "APOP",
            Self::Auth { .. } => "AUTH",
            Self::Stat => "STAT",
            Self::List(_) => "LIST",
            Self::Retr(_) => "RETR",
            Self::Dele(_) => "DELE",
            Self::Noop => "NOOP",
            Self::Rset => "RSET",
            Self::Quit => "QUIT",
            Self::Top { .. } => "TOP",
            Self::Uidl(_) => "UIDL",
            Self::Capa => "CAPA",
            Self::Stls => "STLS",
        }
    }

    /// Appends the command line with its CRLF.
    ///
    /// The caller must not put CR or LF (nor, except in `PASS`, spaces) into
    /// arguments; such bytes are written as they are and the line would not
    /// parse back to the same command.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_slice(self.keyword().as_bytes());
        let mut arg = |value: &str| {
            out.put_u8(b' ');
            out.put_slice(value.as_bytes());
        };
        match self {
            Self::User(name) => arg(name),
            Self::Pass(pass) => arg(pass.expose()),
            Self::Apop { name, digest } => {
                arg(name);
                arg(digest);
            }
            Self::Auth {
                mechanism,
                initial_response,
            } => {
                if let Some(mechanism) = mechanism {
                    arg(mechanism);
                }
                if let Some(initial) = initial_response {
                    arg(initial.expose());
                }
            }
            Self::List(Some(msg)) | Self::Uidl(Some(msg)) | Self::Retr(msg) | Self::Dele(msg) => {
                arg(&msg.to_string());
            }
            Self::Top { msg, lines } => {
                arg(&msg.to_string());
                arg(&lines.to_string());
            }
            Self::Stat
            | Self::List(None)
            | Self::Uidl(None)
            | Self::Noop
            | Self::Rset
            | Self::Quit
            | Self::Capa
            | Self::Stls => {}
        }
        out.put_slice(b"\r\n");
    }
}

/// `keyword = 3*4VCHAR`
fn keyword(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while_m_n(3, 4, |b: u8| b.is_ascii_graphic()).parse(input)
}

/// `param = 1*VCHAR` (leniently also octets above 0x7F, for UTF-8)
fn param(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|b: u8| b.is_ascii_graphic() || b >= 0x80).parse(input)
}

/// `*(SP param)` up to the end of the line, with trailing spaces allowed.
fn params(input: &[u8]) -> Result<Vec<&[u8]>, ParseError> {
    let trimmed = trim_end_spaces(input);
    all_consuming(many0(preceded(take_while1(|b: u8| b == b' '), param)))
        .parse(trimmed)
        .map(|(_, params)| params)
        .map_err(|_| ParseError::InvalidArgument)
}

/// The argument of `PASS`: everything after the single SP (RFC 1939 §7).
fn pass_arg(args: &[u8]) -> Result<String, ParseError> {
    match args {
        [] => Err(ParseError::MissingArgument),
        [b' ', pass @ ..] if !pass.is_empty() => text(&pass),
        _ => Err(ParseError::MissingArgument),
    }
}

/// `msg = 1*DIGIT` as a number (RFC 1939 §3).
fn number(param: &&[u8]) -> Result<u64, ParseError> {
    all_consuming(map_res(digit1, |digits: &[u8]| {
        std::str::from_utf8(digits)
            .map_err(|_| ())
            .and_then(|digits| digits.parse::<u64>().map_err(|_| ()))
    }))
    .parse(*param)
    .map(|(_, n): (&[u8], u64)| n)
    .map_err(|_: nom::Err<nom::error::Error<&[u8]>>| ParseError::InvalidArgument)
}

fn text(param: &&[u8]) -> Result<String, ParseError> {
    std::str::from_utf8(param)
        .map(str::to_owned)
        .map_err(|_| ParseError::InvalidUtf8)
}

fn none(params: &[&[u8]]) -> Result<(), ParseError> {
    if params.is_empty() {
        Ok(())
    } else {
        Err(ParseError::TooManyArguments)
    }
}

fn one<'a, 'b>(params: &'b [&'a [u8]]) -> Result<&'b &'a [u8], ParseError> {
    match params {
        [param] => Ok(param),
        [] => Err(ParseError::MissingArgument),
        _ => Err(ParseError::TooManyArguments),
    }
}

fn optional_number(params: &[&[u8]]) -> Result<Option<u64>, ParseError> {
    match params {
        [] => Ok(None),
        [param] => number(param).map(Some),
        _ => Err(ParseError::TooManyArguments),
    }
}

fn trim_end_spaces(mut input: &[u8]) -> &[u8] {
    while let [rest @ .., b' '] = input {
        input = rest;
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(value: &str) -> Secret<String> {
        Secret::new(value.to_owned())
    }

    /// (input, remainder, value) per rule, as in imap-codec.
    #[test]
    fn rule_keyword() {
        let table: &[(&[u8], &[u8], &[u8])] = &[
            (b"TOP 1 2", b" 1 2", b"TOP"),
            (b"RETR 1", b" 1", b"RETR"),
            (b"RETRX", b"X", b"RETR"),
            (b"capa", b"", b"capa"),
        ];
        for (input, remainder, value) in table {
            assert_eq!(keyword(input), Ok((*remainder, *value)));
        }
        assert!(keyword(b"AB").is_err());
        assert!(keyword(b" AB").is_err());
    }

    #[test]
    fn rule_param() {
        let table: &[(&[u8], &[u8], &[u8])] = &[
            (b"abc def", b" def", b"abc"),
            (b"a@b.c", b"", b"a@b.c"),
            (b"\xc3\xa9t\xc3\xa9 x", b" x", b"\xc3\xa9t\xc3\xa9"),
            (b"x\x01", b"\x01", b"x"),
        ];
        for (input, remainder, value) in table {
            assert_eq!(param(input), Ok((*remainder, *value)));
        }
        assert!(param(b" x").is_err());
        assert!(param(b"").is_err());
    }

    #[test]
    fn rule_params_and_number() {
        assert_eq!(params(b" 1  2 "), Ok(vec![&b"1"[..], b"2"]));
        assert_eq!(params(b""), Ok(vec![]));
        assert_eq!(params(b"x"), Err(ParseError::InvalidArgument));
        assert_eq!(number(&&b"007"[..]), Ok(7));
        assert_eq!(number(&&b"1x"[..]), Err(ParseError::InvalidArgument));
        assert_eq!(number(&&b"+1"[..]), Err(ParseError::InvalidArgument));
    }

    #[test]
    fn parse_known_answers() {
        let table: Vec<(&[u8], Command)> = vec![
            (b"USER mrose\r\n", Command::User("mrose".into())),
            (
                b"user alice@localhost",
                Command::User("alice@localhost".into()),
            ),
            (b"PASS secret\r\n", Command::Pass(secret("secret"))),
            (
                b"PASS with  spaces ",
                Command::Pass(secret("with  spaces ")),
            ),
            (
                b"APOP mrose c4c9334bac560ecc979e58001b3e22fb",
                Command::Apop {
                    name: "mrose".into(),
                    digest: "c4c9334bac560ecc979e58001b3e22fb".into(),
                },
            ),
            (
                b"AUTH",
                Command::Auth {
                    mechanism: None,
                    initial_response: None,
                },
            ),
            (
                b"AUTH plain",
                Command::Auth {
                    mechanism: Some("PLAIN".into()),
                    initial_response: None,
                },
            ),
            (
                b"AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=",
                Command::Auth {
                    mechanism: Some("PLAIN".into()),
                    initial_response: Some(secret("dGVzdAB0ZXN0AHRlc3Q=")),
                },
            ),
            (b"STAT", Command::Stat),
            (b"LIST", Command::List(None)),
            (b"LIST 2", Command::List(Some(2))),
            (b"list  2  ", Command::List(Some(2))),
            (b"RETR 1\n", Command::Retr(1)),
            (b"DELE 0", Command::Dele(0)),
            (b"NOOP", Command::Noop),
            (b"RSET", Command::Rset),
            (b"QUIT", Command::Quit),
            (b"TOP 1 10", Command::Top { msg: 1, lines: 10 }),
            (b"UIDL", Command::Uidl(None)),
            (b"UIDL 18446744073709551615", Command::Uidl(Some(u64::MAX))),
            (b"CAPA", Command::Capa),
            (b"stls\r\n", Command::Stls),
        ];
        for (input, expected) in table {
            assert_eq!(
                Command::parse(input),
                Ok(expected),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn parse_errors() {
        let table: &[(&[u8], ParseError)] = &[
            (b"", ParseError::Empty),
            (b"  \r\n", ParseError::Empty),
            (b"HELO x", ParseError::UnknownCommand),
            (b"RETRX 1", ParseError::UnknownCommand),
            (b"XY", ParseError::UnknownCommand),
            (b"RETR", ParseError::MissingArgument),
            (b"RETR 1 2", ParseError::TooManyArguments),
            (b"RETR one", ParseError::InvalidArgument),
            (b"RETR -1", ParseError::InvalidArgument),
            (b"RETR 18446744073709551616", ParseError::InvalidArgument),
            (b"STAT 1", ParseError::TooManyArguments),
            (b"QUIT now", ParseError::TooManyArguments),
            (b"TOP 1", ParseError::MissingArgument),
            (b"TOP 1 2 3", ParseError::TooManyArguments),
            (b"TOP 1 x", ParseError::InvalidArgument),
            (b"USER", ParseError::MissingArgument),
            (b"USER a b", ParseError::TooManyArguments),
            (b"USER \xff", ParseError::InvalidUtf8),
            (b"PASS", ParseError::MissingArgument),
            (b"PASS ", ParseError::MissingArgument),
            (b"AUTH PLAIN a b", ParseError::TooManyArguments),
            (b"LIST 1\x012", ParseError::InvalidArgument),
            (b"NOOP\rQUIT", ParseError::Malformed),
        ];
        for (input, expected) in table {
            assert_eq!(
                Command::parse(input).as_ref(),
                Err(expected),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn encode_known_answers() {
        let table: Vec<(Command, &[u8])> = vec![
            (Command::Stat, b"STAT\r\n"),
            (Command::List(Some(3)), b"LIST 3\r\n"),
            (Command::Top { msg: 1, lines: 0 }, b"TOP 1 0\r\n"),
            (Command::Pass(secret("a b")), b"PASS a b\r\n"),
            (
                Command::Auth {
                    mechanism: Some("PLAIN".into()),
                    initial_response: Some(secret("=")),
                },
                b"AUTH PLAIN =\r\n",
            ),
        ];
        for (command, expected) in table {
            let mut out = BytesMut::new();
            command.encode(&mut out);
            assert_eq!(&out[..], expected);
            assert_eq!(Command::parse(&out), Ok(command));
        }
    }
}
