//! SMTP, ESMTP and LMTP commands (RFC 5321 §4.1.1, RFC 2033, RFC 3030,
//! RFC 3207, RFC 4954): parse and encode.

use bytes::BytesMut;
use nom::Parser;

use crate::address::{self, spaces};
use crate::{MailParams, ParseError, RcptParams};

/// One command line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `"HELO" SP Domain` (RFC 5321 §4.1.1.1); kept as sent.
    Helo(String),
    /// `"EHLO" SP ( Domain / address-literal )`; kept as sent.
    Ehlo(String),
    /// `"LHLO" SP Domain` (RFC 2033 §4.1).
    Lhlo(String),
    /// `"MAIL FROM:" Reverse-path [SP Mail-parameters]`; `None` is `<>`.
    Mail {
        /// The reverse path without angle brackets; `None` for `<>`.
        reverse_path: Option<String>,
        /// ESMTP parameters.
        params: MailParams,
    },
    /// `"RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path ) [SP Rcpt-parameters]`
    Rcpt {
        /// The forward path without angle brackets.
        forward_path: String,
        /// ESMTP parameters.
        params: RcptParams,
    },
    /// `"DATA"`
    Data,
    /// `"BDAT" SP chunk-size [ SP end-marker ]` (RFC 3030 §2).
    Bdat {
        /// `chunk-size = 1*DIGIT`: octets that follow the command line.
        size: u64,
        /// `end-marker = "LAST"`
        last: bool,
    },
    /// `"BURL" SP absolute-URI [SP end-marker]` (RFC 4468 §3.1): message
    /// data fetched from a URL (an IMAP URLAUTH URL here).
    Burl {
        /// The URL as sent.
        url: String,
        /// `end-marker = "LAST"`
        last: bool,
    },
    /// `"RSET"`
    Rset,
    /// `"NOOP" [ SP String ]`
    Noop(Option<String>),
    /// `"QUIT"`
    Quit,
    /// `"VRFY" SP String`
    Vrfy(String),
    /// `"EXPN" SP String`
    Expn(String),
    /// `"HELP" [ SP String ]`
    Help(Option<String>),
    /// `"STARTTLS"` (RFC 3207 §4).
    StartTls,
    /// `"AUTH" SP sasl-mech [SP initial-response]` (RFC 4954 §4).
    Auth {
        /// The SASL mechanism name, upper-cased.
        mechanism: String,
        /// `initial-response = base64 / "="`, as sent (`=` is the empty response).
        initial_response: Option<String>,
    },
}

/// Longest verb we look at; anything longer is an unknown command.
const MAX_VERB: usize = 8;

/// Text after the verb: UTF-8, no control characters but TAB.
fn argument(rest: &[u8]) -> Result<&str, ParseError> {
    let text = std::str::from_utf8(rest).map_err(|_| ParseError::InvalidUtf8)?;
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ParseError::Syntax("control character in command"));
    }
    Ok(text.trim_matches([' ', '\t']))
}

fn no_argument(rest: &str, what: &'static str) -> Result<(), ParseError> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(ParseError::Syntax(what))
    }
}

fn optional(rest: &str) -> Option<String> {
    (!rest.is_empty()).then(|| rest.to_owned())
}

fn utf8(b: &[u8]) -> Result<String, ParseError> {
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| ParseError::InvalidUtf8)
}

/// Strips `prefix` case-insensitively and then any spaces: Postfix-style
/// leniency for `MAIL FROM: <a@b>` (RFC 5321 has no space there).
fn strip_keyword<'a>(rest: &'a str, prefix: &str) -> Option<&'a str> {
    let head = rest.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    rest.get(prefix.len()..)
        .map(|r| r.trim_start_matches([' ', '\t']))
}

/// Parameters must be separated from the path by a space.
fn params_text(rest: &[u8]) -> Result<&str, ParseError> {
    let (after, sp) = spaces(rest).map_err(|_| ParseError::Syntax("parameters"))?;
    if !after.is_empty() && sp.is_empty() {
        return Err(ParseError::Syntax("missing space before parameters"));
    }
    std::str::from_utf8(after).map_err(|_| ParseError::InvalidUtf8)
}

impl Command {
    /// Parses one command line; a trailing CRLF (or bare LF) is optional.
    /// Verbs are case-insensitive (RFC 5321 §2.4).
    pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let verb_end = line
            .iter()
            .position(|&b| b == b' ' || b == b'\t')
            .unwrap_or(line.len());
        let (verb, rest) = line.split_at(verb_end);
        if verb.len() > MAX_VERB || verb.is_empty() {
            return Err(ParseError::UnknownCommand);
        }
        let mut upper = [0u8; MAX_VERB];
        let upper = &mut upper[..verb.len()];
        upper.copy_from_slice(verb);
        upper.make_ascii_uppercase();
        let rest_text = || argument(rest);
        match &*upper {
            b"HELO" | b"EHLO" | b"LHLO" => {
                let arg = rest_text()?;
                if arg.is_empty() || arg.contains([' ', '\t']) {
                    return Err(ParseError::Syntax("HELO/EHLO needs one domain"));
                }
                let arg = arg.to_owned();
                Ok(match &*upper {
                    b"HELO" => Command::Helo(arg),
                    b"EHLO" => Command::Ehlo(arg),
                    _ => Command::Lhlo(arg),
                })
            }
            b"MAIL" => {
                let text = rest_text()?;
                let path = strip_keyword(text, "FROM:")
                    .ok_or(ParseError::Syntax("MAIL FROM:<address>"))?;
                let (after, reverse_path) = address::reverse_path
                    .parse(path.as_bytes())
                    .map_err(|_| ParseError::InvalidReversePath)?;
                let reverse_path = reverse_path.map(utf8).transpose()?;
                let params = MailParams::parse(params_text(after)?)?;
                Ok(Command::Mail {
                    reverse_path,
                    params,
                })
            }
            b"RCPT" => {
                let text = rest_text()?;
                let path =
                    strip_keyword(text, "TO:").ok_or(ParseError::Syntax("RCPT TO:<address>"))?;
                let (after, forward_path) = address::forward_path
                    .parse(path.as_bytes())
                    .map_err(|_| ParseError::InvalidForwardPath)?;
                let forward_path = utf8(forward_path)?;
                let params = RcptParams::parse(params_text(after)?)?;
                Ok(Command::Rcpt {
                    forward_path,
                    params,
                })
            }
            b"DATA" => no_argument(rest_text()?, "DATA takes no argument").map(|()| Command::Data),
            b"BDAT" => {
                let text = rest_text()?;
                let mut words = text.split([' ', '\t']).filter(|w| !w.is_empty());
                let size = words
                    .next()
                    .ok_or(ParseError::Syntax("BDAT chunk-size [LAST]"))?;
                if size.len() > 20 || !size.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ParseError::Syntax("BDAT chunk-size [LAST]"));
                }
                let size = size
                    .parse()
                    .map_err(|_| ParseError::Syntax("BDAT chunk-size too large"))?;
                let last = match words.next() {
                    None => false,
                    Some(w) if w.eq_ignore_ascii_case("LAST") => true,
                    Some(_) => return Err(ParseError::Syntax("BDAT chunk-size [LAST]")),
                };
                if words.next().is_some() {
                    return Err(ParseError::Syntax("BDAT chunk-size [LAST]"));
                }
                Ok(Command::Bdat { size, last })
            }
            b"BURL" => {
                let text = rest_text()?;
                let mut words = text.split([' ', '\t']).filter(|w| !w.is_empty());
                let url = words
                    .next()
                    .filter(|u| u.contains(':'))
                    .ok_or(ParseError::Syntax("BURL absolute-URI [LAST]"))?;
                let last = match words.next() {
                    None => false,
                    Some(w) if w.eq_ignore_ascii_case("LAST") => true,
                    Some(_) => return Err(ParseError::Syntax("BURL absolute-URI [LAST]")),
                };
                if words.next().is_some() {
                    return Err(ParseError::Syntax("BURL absolute-URI [LAST]"));
                }
                Ok(Command::Burl {
                    url: url.to_owned(),
                    last,
                })
            }
            b"RSET" => no_argument(rest_text()?, "RSET takes no argument").map(|()| Command::Rset),
            b"QUIT" => no_argument(rest_text()?, "QUIT takes no argument").map(|()| Command::Quit),
            b"STARTTLS" => {
                no_argument(rest_text()?, "STARTTLS takes no argument").map(|()| Command::StartTls)
            }
            b"NOOP" => Ok(Command::Noop(optional(rest_text()?))),
            b"HELP" => Ok(Command::Help(optional(rest_text()?))),
            b"VRFY" | b"EXPN" => {
                let arg = rest_text()?;
                if arg.is_empty() {
                    return Err(ParseError::Syntax("VRFY/EXPN needs a string"));
                }
                let arg = arg.to_owned();
                Ok(if &*upper == b"VRFY" {
                    Command::Vrfy(arg)
                } else {
                    Command::Expn(arg)
                })
            }
            b"AUTH" => {
                let text = rest_text()?;
                let mut words = text.split([' ', '\t']).filter(|w| !w.is_empty());
                let mechanism = words
                    .next()
                    .ok_or(ParseError::Syntax("AUTH mechanism [initial-response]"))?;
                // sasl-mech = 1*20mech-char (RFC 4422 §3.1)
                if mechanism.len() > 20
                    || !mechanism
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(ParseError::Syntax("AUTH mechanism [initial-response]"));
                }
                let initial_response = words.next().map(str::to_owned);
                if words.next().is_some() {
                    return Err(ParseError::Syntax("AUTH mechanism [initial-response]"));
                }
                Ok(Command::Auth {
                    mechanism: mechanism.to_ascii_uppercase(),
                    initial_response,
                })
            }
            _ => Err(ParseError::UnknownCommand),
        }
    }

    /// Appends the command line with its CRLF.
    pub fn encode(&self, out: &mut BytesMut) {
        let mut word = |verb: &str, arg: Option<&str>| {
            out.extend_from_slice(verb.as_bytes());
            if let Some(arg) = arg {
                out.extend_from_slice(b" ");
                out.extend_from_slice(arg.as_bytes());
            }
        };
        match self {
            Command::Helo(d) => word("HELO", Some(d)),
            Command::Ehlo(d) => word("EHLO", Some(d)),
            Command::Lhlo(d) => word("LHLO", Some(d)),
            Command::Mail {
                reverse_path,
                params,
            } => {
                out.extend_from_slice(b"MAIL FROM:<");
                out.extend_from_slice(reverse_path.as_deref().unwrap_or("").as_bytes());
                out.extend_from_slice(b">");
                params.encode(out);
            }
            Command::Rcpt {
                forward_path,
                params,
            } => {
                out.extend_from_slice(b"RCPT TO:<");
                out.extend_from_slice(forward_path.as_bytes());
                out.extend_from_slice(b">");
                params.encode(out);
            }
            Command::Data => word("DATA", None),
            Command::Bdat { size, last } => {
                let arg = if *last {
                    format!("{size} LAST")
                } else {
                    size.to_string()
                };
                word("BDAT", Some(&arg));
            }
            Command::Burl { url, last } => {
                let arg = if *last {
                    format!("{url} LAST")
                } else {
                    url.clone()
                };
                word("BURL", Some(&arg));
            }
            Command::Rset => word("RSET", None),
            Command::Noop(s) => word("NOOP", s.as_deref()),
            Command::Quit => word("QUIT", None),
            Command::Vrfy(s) => word("VRFY", Some(s)),
            Command::Expn(s) => word("EXPN", Some(s)),
            Command::Help(s) => word("HELP", s.as_deref()),
            Command::StartTls => word("STARTTLS", None),
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                let arg = match initial_response {
                    Some(ir) => format!("{mechanism} {ir}"),
                    None => mechanism.clone(),
                };
                word("AUTH", Some(&arg));
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BodyType, Notify};

    fn ok(line: &str) -> Command {
        Command::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    #[test]
    fn simple_commands_known_answers() {
        let table: &[(&str, Command)] = &[
            (
                "HELO relay.example.org\r\n",
                Command::Helo("relay.example.org".into()),
            ),
            ("ehlo [192.0.2.1]", Command::Ehlo("[192.0.2.1]".into())),
            ("LHLO client\r\n", Command::Lhlo("client".into())),
            ("DATA\r\n", Command::Data),
            ("data \r\n", Command::Data),
            ("RSET\r\n", Command::Rset),
            ("QUIT\n", Command::Quit),
            ("NOOP\r\n", Command::Noop(None)),
            (
                "NOOP hello there\r\n",
                Command::Noop(Some("hello there".into())),
            ),
            ("HELP\r\n", Command::Help(None)),
            ("HELP MAIL\r\n", Command::Help(Some("MAIL".into()))),
            ("VRFY Smith\r\n", Command::Vrfy("Smith".into())),
            ("EXPN list\r\n", Command::Expn("list".into())),
            ("StartTLS\r\n", Command::StartTls),
            (
                "BDAT 86\r\n",
                Command::Bdat {
                    size: 86,
                    last: false,
                },
            ),
            (
                "BDAT 0 LAST\r\n",
                Command::Bdat {
                    size: 0,
                    last: true,
                },
            ),
            (
                "bdat 5 last\r\n",
                Command::Bdat {
                    size: 5,
                    last: true,
                },
            ),
            (
                "AUTH PLAIN\r\n",
                Command::Auth {
                    mechanism: "PLAIN".into(),
                    initial_response: None,
                },
            ),
            (
                "auth login dGVzdA==\r\n",
                Command::Auth {
                    mechanism: "LOGIN".into(),
                    initial_response: Some("dGVzdA==".into()),
                },
            ),
            (
                "AUTH PLAIN =\r\n",
                Command::Auth {
                    mechanism: "PLAIN".into(),
                    initial_response: Some("=".into()),
                },
            ),
        ];
        for (line, want) in table {
            assert_eq!(&ok(line), want, "{line:?}");
        }
    }

    #[test]
    fn mail_and_rcpt_known_answers() {
        assert_eq!(
            ok("MAIL FROM:<Smith@bar.com>\r\n"),
            Command::Mail {
                reverse_path: Some("Smith@bar.com".into()),
                params: MailParams::default()
            }
        );
        assert_eq!(
            ok("mail from: <>"),
            Command::Mail {
                reverse_path: None,
                params: MailParams::default()
            }
        );
        let Command::Mail { params, .. } = ok("MAIL FROM:<a@b> SIZE=500 BODY=8BITMIME") else {
            panic!()
        };
        assert_eq!(
            (params.size, params.body),
            (Some(500), Some(BodyType::EightBitMime))
        );
        assert_eq!(
            ok("RCPT TO:<Jones@foo.com> NOTIFY=FAILURE"),
            Command::Rcpt {
                forward_path: "Jones@foo.com".into(),
                params: RcptParams {
                    notify: Some(vec![Notify::Failure]),
                    orcpt: None
                }
            }
        );
        assert_eq!(
            ok("RCPT TO:<postmaster>"),
            Command::Rcpt {
                forward_path: "postmaster".into(),
                params: RcptParams::default()
            }
        );
        assert_eq!(
            ok("RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>"),
            Command::Rcpt {
                forward_path: "userc@d.bar.org".into(),
                params: RcptParams::default()
            }
        );
        assert_eq!(
            ok("MAIL FROM:<用户@例子.广告> SMTPUTF8"),
            Command::Mail {
                reverse_path: Some("用户@例子.广告".into()),
                params: MailParams {
                    smtputf8: true,
                    ..MailParams::default()
                }
            }
        );
    }

    #[test]
    fn errors_known_answers() {
        let table: &[(&[u8], ParseError)] = &[
            (b"FOO bar\r\n", ParseError::UnknownCommand),
            (b"\r\n", ParseError::UnknownCommand),
            (b"VERYLONGVERB\r\n", ParseError::UnknownCommand),
            (
                b"HELO\r\n",
                ParseError::Syntax("HELO/EHLO needs one domain"),
            ),
            (
                b"MAIL TO:<a@b>\r\n",
                ParseError::Syntax("MAIL FROM:<address>"),
            ),
            (b"MAIL FROM:a@b\r\n", ParseError::InvalidReversePath),
            (b"MAIL FROM:<a@b\r\n", ParseError::InvalidReversePath),
            (b"RCPT TO:<>\r\n", ParseError::InvalidForwardPath),
            (
                b"RCPT TO:<a@b>X=1\r\n",
                ParseError::Syntax("missing space before parameters"),
            ),
            (
                b"MAIL FROM:<a@b> FOO=1\r\n",
                ParseError::UnknownParameter("FOO".into()),
            ),
            (
                b"DATA now\r\n",
                ParseError::Syntax("DATA takes no argument"),
            ),
            (b"BDAT\r\n", ParseError::Syntax("BDAT chunk-size [LAST]")),
            (b"BDAT -1\r\n", ParseError::Syntax("BDAT chunk-size [LAST]")),
            (
                b"BDAT 1 FIRST\r\n",
                ParseError::Syntax("BDAT chunk-size [LAST]"),
            ),
            (
                b"BDAT 99999999999999999999\r\n",
                ParseError::Syntax("BDAT chunk-size too large"),
            ),
            (b"VRFY\r\n", ParseError::Syntax("VRFY/EXPN needs a string")),
            (
                b"AUTH\r\n",
                ParseError::Syntax("AUTH mechanism [initial-response]"),
            ),
            (
                b"AUTH PL@IN\r\n",
                ParseError::Syntax("AUTH mechanism [initial-response]"),
            ),
            (b"NOOP \xff\r\n", ParseError::InvalidUtf8),
            (
                b"NOOP a\x00b\r\n",
                ParseError::Syntax("control character in command"),
            ),
        ];
        for (line, want) in table {
            assert_eq!(
                &Command::parse(line).unwrap_err(),
                want,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn encode_known_answers() {
        let table: &[(Command, &str)] = &[
            (Command::Ehlo("c.example".into()), "EHLO c.example\r\n"),
            (
                Command::Mail {
                    reverse_path: None,
                    params: MailParams {
                        size: Some(9),
                        ..Default::default()
                    },
                },
                "MAIL FROM:<> SIZE=9\r\n",
            ),
            (
                Command::Rcpt {
                    forward_path: "a@b".into(),
                    params: RcptParams::default(),
                },
                "RCPT TO:<a@b>\r\n",
            ),
            (
                Command::Bdat {
                    size: 10,
                    last: true,
                },
                "BDAT 10 LAST\r\n",
            ),
            (
                Command::Auth {
                    mechanism: "PLAIN".into(),
                    initial_response: Some("=".into()),
                },
                "AUTH PLAIN =\r\n",
            ),
            (Command::Noop(None), "NOOP\r\n"),
        ];
        for (cmd, want) in table {
            let mut out = BytesMut::new();
            cmd.encode(&mut out);
            assert_eq!(&out[..], want.as_bytes());
        }
    }
}
