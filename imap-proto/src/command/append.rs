//! The head of an APPEND command, read from a literal announcement before
//! the message itself arrives (so a server can check quota, size and the
//! mailbox before it sends `+`, and stream the message; docs/DESIGN.md §2).

use super::parse::append_head;
use crate::core::{PResult, keyword, sp};
use crate::error::{ParseError, run};
use crate::types::{
    DateTime, Flag, LiteralMode, Mailbox, Tag, astring, date_time, flag_list, mailbox,
};
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case};
use nom::combinator::{map, opt};

/// `tag SP "APPEND" SP mailbox [SP flag-list] [SP date-time] SP ("{" / "~{") number64 ["+"] "}" CRLF`:
/// everything of an APPEND up to its message literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendHead {
    /// The command's tag.
    pub tag: Tag,
    /// Target mailbox.
    pub mailbox: Mailbox,
    /// Initial flags.
    pub flags: Option<Vec<Flag>>,
    /// Internal date.
    pub date: Option<DateTime>,
    /// Announced message size.
    pub size: u64,
    /// `~{N}`: literal8 (RFC 3516).
    pub binary: bool,
    /// `UTF8 (~{N}`: the RFC 6855 §4 data extension; `)` follows the
    /// literal.
    pub utf8: bool,
    /// Synchronising or not.
    pub mode: LiteralMode,
}

impl AppendHead {
    /// Parses the `command_so_far` of a
    /// [`Frame::LiteralAnnounced`](crate::framer::Frame::LiteralAnnounced).
    /// Fails (with the tag when there is one) if it is not an APPEND.
    pub fn parse(command_so_far: &[u8]) -> Result<Self, ParseError> {
        let tag = crate::types::tag_imap(command_so_far).ok().map(|(_, t)| t);
        run(command_so_far, tag, append_head(command_so_far))
    }
}

/// Where an APPEND command is in its grammar, for [`AppendItem::next`]:
///
/// ```text
/// append          = "APPEND" SP mailbox 1*append-message          ; RFC 3502
/// append-message  = append-opts SP append-data
/// append-opts     = [SP flag-list] [SP date-time]
/// append-data     = literal / literal8                            ; RFC 3516
///                 / "UTF8" SP "(" literal8 ")"                    ; RFC 6855 §4
///                 / "CATENATE" SP "(" cat-part *(SP cat-part) ")" ; RFC 4469
/// cat-part        = "TEXT" SP literal / "URL" SP astring
///                 / "UTF8" SP "(" literal8 ")"                    ; RFC 6855 §4
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendAt {
    /// Before `tag SP "APPEND" SP mailbox`.
    Start,
    /// After the mailbox (`any` false) or after a message: another
    /// `append-message`, or (once there was one) the final CRLF.
    Messages {
        /// A message was read already.
        any: bool,
    },
    /// Inside `CATENATE (`: a `cat-part` (after SP unless `first`) or `)`.
    Catenate {
        /// No part was read yet.
        first: bool,
    },
    /// After the literal of `UTF8 (~{N}`: its `)`.
    Utf8Close {
        /// Inside `CATENATE (`.
        in_catenate: bool,
    },
}

/// A message or `TEXT` literal of an APPEND.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendLiteral<'a> {
    /// Its octets are in the command text (a non-synchronising literal
    /// small enough for the framer to buffer).
    Inline(&'a [u8]),
    /// The text ends with its announcement: the octets are still to come
    /// (a [`Frame::LiteralAnnounced`](crate::framer::Frame::LiteralAnnounced)).
    Announced {
        /// Announced size.
        size: u64,
        /// `{N}` or `{N+}`.
        mode: LiteralMode,
    },
}

/// One step of an APPEND command (see [`AppendAt`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendItem<'a> {
    /// `tag SP "APPEND" SP mailbox`.
    Head {
        /// The command's tag.
        tag: Tag,
        /// Target mailbox.
        mailbox: Mailbox,
    },
    /// A message given as one literal.
    Message {
        /// Initial flags.
        flags: Option<Vec<Flag>>,
        /// Internal date.
        date: Option<DateTime>,
        /// The message.
        literal: AppendLiteral<'a>,
        /// `~{N}` (RFC 3516).
        binary: bool,
        /// `UTF8 (~{N}` (RFC 6855 §4): `)` follows.
        utf8: bool,
    },
    /// `[flags] [date] CATENATE (`: a message built from parts (RFC 4469).
    Catenate {
        /// Initial flags.
        flags: Option<Vec<Flag>>,
        /// Internal date.
        date: Option<DateTime>,
    },
    /// `TEXT literal` (or `UTF8 (literal8`) inside CATENATE.
    Text {
        /// The octets.
        literal: AppendLiteral<'a>,
        /// `~{N}`.
        binary: bool,
        /// `UTF8 (~{N}`: `)` follows.
        utf8: bool,
    },
    /// `URL astring` inside CATENATE: an IMAP URL (RFC 5092) whose
    /// content is the part.
    Url(String),
    /// `)` ending a CATENATE.
    CatenateEnd,
    /// `)` after a `UTF8 (~{N}` literal.
    Utf8End,
    /// The CRLF ending the command.
    End,
}

/// `["~"] "{" number64 ["+"] "}" CRLF [octets]`: at the end of `i` the
/// announcement of a literal still to come, else an inline literal.
fn append_literal(i: &[u8]) -> PResult<'_, (AppendLiteral<'_>, bool)> {
    let (r, binary) = opt(tag(&b"~"[..])).parse(i)?;
    let (r, _) = tag(&b"{"[..]).parse(r)?;
    let (r, size) = crate::core::number64(r)?;
    let (r, plus) = opt(tag(&b"+"[..])).parse(r)?;
    let (r, _) = tag(&b"}"[..]).parse(r)?;
    let (r, _) = crate::core::crlf(r)?;
    if r.is_empty() {
        let mode = if plus.is_some() {
            LiteralMode::NonSync
        } else {
            LiteralMode::Sync
        };
        return Ok((
            r,
            (AppendLiteral::Announced { size, mode }, binary.is_some()),
        ));
    }
    let n = usize::try_from(size).map_err(|_| crate::core::fail(r))?;
    if r.len() < n {
        return Err(crate::core::fail(r));
    }
    let (data, rest) = r.split_at(n);
    // RFC 9051 §9: a plain literal is CHAR8 (no NUL); literal8 is the
    // way to send NUL octets (RFC 3516).
    if binary.is_none() && data.contains(&0) {
        return Err(crate::core::fail(r));
    }
    Ok((rest, (AppendLiteral::Inline(data), binary.is_some())))
}

/// `append-message` after its leading SP: `[flag-list SP] [date-time SP] append-data`.
fn append_message(i: &[u8]) -> PResult<'_, AppendItem<'_>> {
    let (r, flags) = opt(map((flag_list, sp), |(f, _)| f)).parse(i)?;
    let (r, date) = opt(map((date_time, sp), |(d, _)| d)).parse(r)?;
    if let Ok((r, _)) = tag_no_case::<_, _, nom::error::Error<&[u8]>>(&b"CATENATE ("[..]).parse(r) {
        return Ok((r, AppendItem::Catenate { flags, date }));
    }
    let (r, utf8) = opt(tag_no_case(&b"UTF8 ("[..])).parse(r)?;
    let (r, (literal, binary)) = append_literal(r)?;
    if utf8.is_some() && !binary {
        return Err(crate::core::fail(r));
    }
    Ok((
        r,
        AppendItem::Message {
            flags,
            date,
            literal,
            binary,
            utf8: utf8.is_some(),
        },
    ))
}

/// `cat-part = "TEXT" SP literal / "URL" SP astring / "UTF8" SP "(" literal8`.
fn cat_part(i: &[u8]) -> PResult<'_, AppendItem<'_>> {
    if let Ok((r, _)) = tag_no_case::<_, _, nom::error::Error<&[u8]>>(&b"URL "[..]).parse(i) {
        let (r, url) = astring(r)?;
        let url = String::from_utf8(url.as_bytes().to_vec()).map_err(|_| crate::core::fail(r))?;
        return Ok((r, AppendItem::Url(url)));
    }
    let (r, utf8) = alt((
        map(tag_no_case(&b"TEXT "[..]), |_| false),
        map(tag_no_case(&b"UTF8 ("[..]), |_| true),
    ))
    .parse(i)?;
    let (r, (literal, binary)) = append_literal(r)?;
    if utf8 && !binary {
        return Err(crate::core::fail(r));
    }
    Ok((
        r,
        AppendItem::Text {
            literal,
            binary,
            utf8,
        },
    ))
}

impl<'a> AppendItem<'a> {
    /// Reads the next item of an APPEND from `text` (the command after
    /// what was already read) at `at`; returns it and the octets it took.
    /// An [`AppendLiteral::Announced`] literal takes all of `text`.
    ///
    /// # Errors
    /// A syntax error (BAD): the text does not continue the grammar.
    pub fn next(text: &'a [u8], at: AppendAt) -> Result<(AppendItem<'a>, usize), ParseError> {
        let text_tag = crate::types::tag_imap(text).ok().map(|(_, t)| t);
        let parsed: PResult<'a, AppendItem<'a>> = match at {
            AppendAt::Start => (|| {
                let (r, command_tag) = crate::types::tag_imap(text)?;
                let (r, _) = sp(r)?;
                let (r, _) = keyword("APPEND")(r)?;
                let (r, _) = sp(r)?;
                let (r, mailbox) = mailbox(r)?;
                Ok((
                    r,
                    AppendItem::Head {
                        tag: command_tag,
                        mailbox,
                    },
                ))
            })(),
            // A bare LF ends the command too, as the framer frames it
            // (clients that count a CRLF short, then send LF).
            AppendAt::Messages { any } => match crate::core::crlf(text).or_else(|_| {
                tag::<_, _, nom::error::Error<&[u8]>>(&b"\n"[..])
                    .parse(text)
                    .map(|(r, _)| (r, ()))
            }) {
                Ok((r, _)) if any => Ok((r, AppendItem::End)),
                _ => sp(text).and_then(|(r, _)| append_message(r)),
            },
            AppendAt::Catenate { first } => {
                match tag::<_, _, nom::error::Error<&[u8]>>(&b")"[..]).parse(text) {
                    Ok((r, _)) if !first => Ok((r, AppendItem::CatenateEnd)),
                    _ if first => cat_part(text),
                    _ => sp(text).and_then(|(r, _)| cat_part(r)),
                }
            }
            AppendAt::Utf8Close { .. } => tag(&b")"[..])
                .parse(text)
                .map(|(r, _)| (r, AppendItem::Utf8End)),
        };
        match parsed {
            Ok((rest, item)) => Ok((item, text.len() - rest.len())),
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(ParseError {
                tag: text_tag,
                kind: crate::error::ParseErrorKind::Syntax,
                offset: text.len() - e.input.len(),
            }),
            Err(nom::Err::Incomplete(_)) => Err(ParseError {
                tag: text_tag,
                kind: crate::error::ParseErrorKind::Syntax,
                offset: text.len(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{Encode, Version};

    /// [`AppendItem::next`] at each place of the grammar: (text, place,
    /// item, octets taken).
    #[test]
    fn items_known_answers() {
        use AppendAt as At;
        let head = AppendItem::next(b"A1 APPEND INBOX (\\Seen) {3}\r\n", At::Start).unwrap();
        assert!(matches!(&head.0, AppendItem::Head { tag, .. } if tag.as_str() == "A1"));
        assert_eq!(head.1, 15);
        let cases: Vec<(&[u8], At, AppendItem<'_>, usize)> = vec![
            (
                b" (\\Seen) {3}\r\n",
                At::Messages { any: false },
                AppendItem::Message {
                    flags: Some(vec![Flag::Seen]),
                    date: None,
                    literal: AppendLiteral::Announced {
                        size: 3,
                        mode: LiteralMode::Sync,
                    },
                    binary: false,
                    utf8: false,
                },
                14,
            ),
            (
                b" {3+}\r\nabc {2}\r\n",
                At::Messages { any: true },
                AppendItem::Message {
                    flags: None,
                    date: None,
                    literal: AppendLiteral::Inline(b"abc"),
                    binary: false,
                    utf8: false,
                },
                10,
            ),
            (b"\r\n", At::Messages { any: true }, AppendItem::End, 2),
            (
                b" CATENATE (URL \"/INBOX/;UID=1\")\r\n",
                At::Messages { any: true },
                AppendItem::Catenate {
                    flags: None,
                    date: None,
                },
                11,
            ),
            (
                b"URL \"/INBOX/;UID=1\")\r\n",
                At::Catenate { first: true },
                AppendItem::Url("/INBOX/;UID=1".into()),
                19,
            ),
            (
                b" TEXT ~{2+}\r\n\x00b)",
                At::Catenate { first: false },
                AppendItem::Text {
                    literal: AppendLiteral::Inline(b"\x00b"),
                    binary: true,
                    utf8: false,
                },
                15,
            ),
            (
                b")\r\n",
                At::Catenate { first: false },
                AppendItem::CatenateEnd,
                1,
            ),
            (
                b" UTF8 (~{4}\r\n",
                At::Messages { any: true },
                AppendItem::Message {
                    flags: None,
                    date: None,
                    literal: AppendLiteral::Announced {
                        size: 4,
                        mode: LiteralMode::Sync,
                    },
                    binary: true,
                    utf8: true,
                },
                13,
            ),
            (
                b")\r\n",
                At::Utf8Close { in_catenate: false },
                AppendItem::Utf8End,
                1,
            ),
        ];
        for (text, at, want, n) in cases {
            let got = AppendItem::next(text, at).unwrap();
            assert_eq!(got, (want, n), "{:?}", String::from_utf8_lossy(text));
        }
        // Refused: no message yet, CRLF; empty CATENATE; a NUL in a plain
        // inline literal; UTF8 without literal8; a cut inline literal.
        for (text, at) in [
            (&b"\r\n"[..], At::Messages { any: false }),
            (b")", At::Catenate { first: true }),
            (b" {2+}\r\na\x00 ", At::Messages { any: true }),
            (b" UTF8 ({2}\r\n", At::Messages { any: true }),
            (b" {9+}\r\nabc", At::Messages { any: true }),
            (b"TEXT", At::Catenate { first: true }),
            (b" URL \"x", At::Catenate { first: false }),
        ] {
            assert!(AppendItem::next(text, at).is_err(), "{text:?}");
        }
    }

    #[test]
    fn known_answers() {
        let h =
            AppendHead::parse(b"A3 APPEND saved (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {310}\r\n")
                .unwrap();
        assert_eq!(h.tag.as_str(), "A3");
        assert_eq!(h.mailbox.as_bytes(), b"saved");
        assert_eq!(h.flags, Some(vec![Flag::Seen]));
        assert_eq!(
            h.date.map(|d| d.to_bytes(Version::Rev1)),
            Some(b"\" 7-Feb-1994 21:52:25 -0800\"".to_vec())
        );
        assert_eq!((h.size, h.binary, h.mode), (310, false, LiteralMode::Sync));
        let h = AppendHead::parse(b"A4 append INBOX ~{12+}\r\n").unwrap();
        assert_eq!(
            (h.size, h.binary, h.mode, h.flags),
            (12, true, LiteralMode::NonSync, None)
        );
        let e = AppendHead::parse(b"A5 LOGIN {3}\r\n").unwrap_err();
        assert_eq!(e.tag.map(|t| t.to_string()), Some("A5".into()));
        assert!(AppendHead::parse(b"A6 APPEND x {3}\r\nabc").is_err());
        // RFC 6855 §4: the UTF8 data extension wraps a literal8.
        let h = AppendHead::parse(b"A7 APPEND INBOX (\\Seen) UTF8 (~{20}\r\n").unwrap();
        assert_eq!((h.size, h.binary, h.utf8), (20, true, true));
        assert!(AppendHead::parse(b"A8 APPEND INBOX UTF8 ({20}\r\n").is_err());
    }
}
