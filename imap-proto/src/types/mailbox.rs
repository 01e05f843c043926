//! Mailbox names: `mailbox = "INBOX" / astring` and
//! `list-mailbox = 1*list-char / string` (RFC 9051 §9).
//!
//! A [`Mailbox`] keeps the name exactly as it travels on the wire, so parse
//! and encode are byte-exact. The revision decides how that wire form maps to
//! a Unicode name: IMAP4rev1 uses modified UTF-7 (RFC 3501 §5.1.3), IMAP4rev2
//! uses UTF-8 (RFC 9051 §5.1). Use [`Mailbox::from_utf8`] and
//! [`Mailbox::to_utf8`] with the connection's [`Version`].

use super::{AString, IString, ValidationError, astring, decode_mutf7, encode_mutf7, string};
use crate::core::{PResult, ascii_string, is_list_char};
use crate::encode::{Encode, Encoder, Version};
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::take_while1;
use nom::combinator::map;

/// A mailbox name as on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mailbox(AString);

impl Mailbox {
    /// `INBOX`.
    pub fn inbox() -> Self {
        Mailbox(AString::from_bytes(b"INBOX").unwrap_or_else(|_| unreachable!()))
    }

    /// The wire form of a Unicode mailbox name for `version`: modified
    /// UTF-7 for IMAP4rev1, UTF-8 for IMAP4rev2. A name equal to `INBOX` in
    /// any case is the INBOX (RFC 9051 §5.1).
    pub fn from_utf8(name: &str, version: Version) -> Result<Self, ValidationError> {
        if name.eq_ignore_ascii_case("INBOX") {
            return Ok(Self::inbox());
        }
        let wire = match version {
            Version::Rev1 => encode_mutf7(name),
            Version::Rev2 => name.to_owned(),
        };
        Ok(Mailbox(AString::from_bytes(wire.as_bytes())?))
    }

    /// Wraps an already-encoded wire name.
    pub fn from_wire(name: AString) -> Self {
        Mailbox(name)
    }

    /// The Unicode name under `version`, or `None` if the wire form is not
    /// valid for it (non-UTF-8 octets, broken modified UTF-7).
    pub fn to_utf8(&self, version: Version) -> Option<String> {
        if self.is_inbox() {
            return Some("INBOX".to_owned());
        }
        let s = self.0.as_str()?;
        match version {
            Version::Rev1 => decode_mutf7(s).ok(),
            Version::Rev2 => Some(s.to_owned()),
        }
    }

    /// True for `INBOX` in any case (RFC 9051 §5.1: INBOX is case-insensitive).
    pub fn is_inbox(&self) -> bool {
        self.0.as_bytes().eq_ignore_ascii_case(b"INBOX")
    }

    /// The wire octets.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The wire form.
    pub fn as_astring(&self) -> &AString {
        &self.0
    }
}

impl Encode for Mailbox {
    fn encode(&self, enc: &mut Encoder) {
        // A name built from Unicode for IMAP4rev2 can only go to an IMAP4rev1
        // peer in modified UTF-7 (RFC 3501 §5.1.3), unless it ENABLEd
        // UTF8=ACCEPT (RFC 6855 §3).
        if !enc.utf8_names()
            && !self.0.as_bytes().is_ascii()
            && let Some(s) = self.0.as_str()
            && let Ok(a) = AString::from_bytes(encode_mutf7(s).as_bytes())
        {
            a.encode(enc);
            return;
        }
        self.0.encode(enc);
    }
}

/// `mailbox = "INBOX" / astring` — INBOX is matched case-insensitively by
/// [`Mailbox::is_inbox`]; the wire form is kept.
pub(crate) fn mailbox(i: &[u8]) -> PResult<'_, Mailbox> {
    map(astring, Mailbox).parse(i)
}

/// A LIST/LSUB pattern: `list-mailbox = 1*list-char / string`, which may
/// contain the wildcards `*` and `%`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ListMailbox {
    /// `1*list-char`
    Token(String),
    /// `string`
    String(IString),
}

impl ListMailbox {
    /// The pattern's octets.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            ListMailbox::Token(t) => t.as_bytes(),
            ListMailbox::String(s) => s.as_bytes(),
        }
    }

    /// The most compact valid form of `pattern`.
    pub fn from_bytes(pattern: &[u8]) -> Result<Self, ValidationError> {
        if !pattern.is_empty() && pattern.iter().all(|b| is_list_char(*b)) {
            return Ok(ListMailbox::Token(ascii_string(pattern)));
        }
        Ok(ListMailbox::String(IString::from_bytes(pattern)?))
    }
}

impl Encode for ListMailbox {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            ListMailbox::Token(t) => enc.put_str(t),
            ListMailbox::String(s) => s.encode(enc),
        }
    }
}

/// `list-mailbox = 1*list-char / string`
pub(crate) fn list_mailbox(i: &[u8]) -> PResult<'_, ListMailbox> {
    alt((
        map(take_while1(is_list_char), |t: &[u8]| {
            ListMailbox::Token(ascii_string(t))
        }),
        map(string, ListMailbox::String),
    ))
    .parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let (rest, m) = mailbox(b"inbox rest").unwrap();
        assert_eq!(rest, b" rest");
        assert!(m.is_inbox());
        assert_eq!(m.to_bytes(Version::Rev1), b"inbox".to_vec());
        let (_, m) = mailbox(b"\"Entw&APw-rfe\"").unwrap();
        assert_eq!(m.to_utf8(Version::Rev1), Some("Entwürfe".into()));
        assert_eq!(m.to_utf8(Version::Rev2), Some("Entw&APw-rfe".into()));
        assert_eq!(
            list_mailbox(b"%/foo* x"),
            Ok((&b" x"[..], ListMailbox::Token("%/foo*".into())))
        );
        assert!(list_mailbox(b"(x").is_err());
    }

    #[test]
    fn mode_dependent_names() {
        let m = Mailbox::from_utf8("Entwürfe", Version::Rev2).unwrap();
        assert_eq!(
            m.to_bytes(Version::Rev2),
            "\"Entwürfe\"".as_bytes().to_vec()
        );
        assert_eq!(m.to_bytes(Version::Rev1), b"Entw&APw-rfe".to_vec());
        let m = Mailbox::from_utf8("Entwürfe", Version::Rev1).unwrap();
        assert_eq!(m.to_bytes(Version::Rev1), b"Entw&APw-rfe".to_vec());
        assert!(
            Mailbox::from_utf8("inbox", Version::Rev1)
                .unwrap()
                .is_inbox()
        );
    }
}
