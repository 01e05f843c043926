//! Flags and mailbox attributes (RFC 9051 §2.3.2, §7.3.1; RFC 6154
//! special-use; RFC 3348 / RFC 5258 child and LIST-EXTENDED attributes).

use super::{Atom, atom};
use crate::core::{PResult, fail, is_atom_char, paren_list0};
use crate::encode::{Encode, Encoder, Version};
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::combinator::map;

/// A message flag that can be stored.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Flag {
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Seen`
    Seen,
    /// `\Draft`
    Draft,
    /// `flag-keyword = atom` (e.g. `$Forwarded`, `$Junk`)
    Keyword(Atom),
    /// `flag-extension = "\" atom` (a future system flag)
    Extension(Atom),
}

const SYSTEM: &[(&str, Flag)] = &[
    ("Answered", Flag::Answered),
    ("Flagged", Flag::Flagged),
    ("Deleted", Flag::Deleted),
    ("Seen", Flag::Seen),
    ("Draft", Flag::Draft),
];

impl Flag {
    /// A keyword flag, e.g. `$Forwarded`.
    pub fn keyword(name: &str) -> Option<Self> {
        Atom::try_from(name).ok().map(Flag::Keyword)
    }
}

impl Encode for Flag {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            Flag::Keyword(a) => a.encode(enc),
            Flag::Extension(a) => {
                enc.put(b"\\");
                a.encode(enc);
            }
            sys => {
                let name = SYSTEM.iter().find(|(_, f)| f == sys).map(|(n, _)| *n);
                enc.put(b"\\");
                enc.put_str(name.unwrap_or_default());
            }
        }
    }
}

/// A flag in FETCH FLAGS: `flag-fetch = flag / "\Recent"` (IMAP4rev1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FlagFetch {
    /// A storable flag.
    Flag(Flag),
    /// `\Recent` — IMAP4rev1 only; not emitted in IMAP4rev2 mode.
    Recent,
}

impl Encode for FlagFetch {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            FlagFetch::Flag(f) => f.encode(enc),
            FlagFetch::Recent => enc.put(b"\\Recent"),
        }
    }
}

/// Writes a FETCH FLAGS list, dropping `\Recent` in IMAP4rev2 mode
/// (RFC 9051 Appendix E, item 11).
pub(crate) fn encode_flag_fetch_list(enc: &mut Encoder, flags: &[FlagFetch]) {
    let rev2 = enc.version() == Version::Rev2;
    enc.put(b"(");
    let mut first = true;
    for f in flags {
        if rev2 && *f == FlagFetch::Recent {
            continue;
        }
        if !first {
            enc.put(b" ");
        }
        first = false;
        f.encode(enc);
    }
    enc.put(b")");
}

/// A flag in PERMANENTFLAGS: `flag-perm = flag / "\*"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FlagPerm {
    /// A storable flag.
    Flag(Flag),
    /// `\*`: new keywords may be created.
    Asterisk,
}

impl Encode for FlagPerm {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            FlagPerm::Flag(f) => f.encode(enc),
            FlagPerm::Asterisk => enc.put(b"\\*"),
        }
    }
}

/// `flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension`
pub(crate) fn flag(i: &[u8]) -> PResult<'_, Flag> {
    if let Some(r) = i.strip_prefix(b"\\") {
        let (rest, name) = take_while1(is_atom_char).parse(r)?;
        // System flags are matched without allocating.
        if let Some((_, f)) = SYSTEM
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
        {
            return Ok((rest, f.clone()));
        }
        let (rest, a) = atom(r)?;
        return Ok((rest, Flag::Extension(a)));
    }
    map(atom, Flag::Keyword).parse(i)
}

/// `flag-list = "(" [flag *(SP flag)] ")"`
pub(crate) fn flag_list(i: &[u8]) -> PResult<'_, Vec<Flag>> {
    paren_list0(flag)(i)
}

/// `flag-fetch = flag / "\Recent"`
pub(crate) fn flag_fetch(i: &[u8]) -> PResult<'_, FlagFetch> {
    map(flag, |f| match f {
        Flag::Extension(a) if a.as_str().eq_ignore_ascii_case("Recent") => FlagFetch::Recent,
        f => FlagFetch::Flag(f),
    })
    .parse(i)
}

/// `flag-perm = flag / "\*"`
pub(crate) fn flag_perm(i: &[u8]) -> PResult<'_, FlagPerm> {
    alt((
        map(tag(&b"\\*"[..]), |_| FlagPerm::Asterisk),
        map(flag, FlagPerm::Flag),
    ))
    .parse(i)
}

/// A mailbox attribute in LIST/LSUB responses (`mbx-list-flags`) and the
/// special-use attributes of RFC 6154.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MailboxAttribute {
    /// `\Noinferiors`
    NoInferiors,
    /// `\Noselect`
    NoSelect,
    /// `\Marked`
    Marked,
    /// `\Unmarked`
    Unmarked,
    /// `\NonExistent` (RFC 5258)
    NonExistent,
    /// `\Subscribed` (RFC 5258)
    Subscribed,
    /// `\Remote` (RFC 5258)
    Remote,
    /// `\HasChildren` (RFC 3348)
    HasChildren,
    /// `\HasNoChildren` (RFC 3348)
    HasNoChildren,
    /// `\All` (RFC 6154)
    All,
    /// `\Archive` (RFC 6154)
    Archive,
    /// `\Drafts` (RFC 6154)
    Drafts,
    /// `\Flagged` (RFC 6154)
    Flagged,
    /// `\Junk` (RFC 6154)
    Junk,
    /// `\Sent` (RFC 6154)
    Sent,
    /// `\Trash` (RFC 6154)
    Trash,
    /// Any other `"\" atom`.
    Extension(Atom),
}

const ATTRIBUTES: &[(&str, MailboxAttribute)] = &[
    ("Noinferiors", MailboxAttribute::NoInferiors),
    ("Noselect", MailboxAttribute::NoSelect),
    ("Marked", MailboxAttribute::Marked),
    ("Unmarked", MailboxAttribute::Unmarked),
    ("NonExistent", MailboxAttribute::NonExistent),
    ("Subscribed", MailboxAttribute::Subscribed),
    ("Remote", MailboxAttribute::Remote),
    ("HasChildren", MailboxAttribute::HasChildren),
    ("HasNoChildren", MailboxAttribute::HasNoChildren),
    ("All", MailboxAttribute::All),
    ("Archive", MailboxAttribute::Archive),
    ("Drafts", MailboxAttribute::Drafts),
    ("Flagged", MailboxAttribute::Flagged),
    ("Junk", MailboxAttribute::Junk),
    ("Sent", MailboxAttribute::Sent),
    ("Trash", MailboxAttribute::Trash),
];

impl Encode for MailboxAttribute {
    fn encode(&self, enc: &mut Encoder) {
        enc.put(b"\\");
        match self {
            MailboxAttribute::Extension(a) => a.encode(enc),
            known => {
                let name = ATTRIBUTES.iter().find(|(_, a)| a == known).map(|(n, _)| *n);
                enc.put_str(name.unwrap_or_default());
            }
        }
    }
}

/// `mbx-list-flag = "\Noinferiors" / "\Noselect" / "\Marked" / "\Unmarked" / ... / flag-extension`
/// (also `use-attr` of RFC 6154)
pub(crate) fn mbx_list_flag(i: &[u8]) -> PResult<'_, MailboxAttribute> {
    let (rest, _) = tag(&b"\\"[..]).parse(i)?;
    let (rest, a) = atom(rest).map_err(|_| fail(i))?;
    let attr = ATTRIBUTES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(a.as_str()))
        .map(|(_, f)| f.clone())
        .unwrap_or(MailboxAttribute::Extension(a));
    Ok((rest, attr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(flag(b"\\Seen)"), Ok((&b")"[..], Flag::Seen)));
        assert_eq!(flag(b"\\seen"), Ok((&b""[..], Flag::Seen)));
        assert_eq!(
            flag(b"$Forwarded "),
            Ok((&b" "[..], Flag::keyword("$Forwarded").unwrap()))
        );
        assert_eq!(
            flag(b"\\Foo"),
            Ok((&b""[..], Flag::Extension(Atom::try_from("Foo").unwrap())))
        );
        assert_eq!(flag_fetch(b"\\Recent"), Ok((&b""[..], FlagFetch::Recent)));
        assert_eq!(flag_perm(b"\\*)"), Ok((&b")"[..], FlagPerm::Asterisk)));
        assert_eq!(
            flag_list(b"(\\Seen \\Deleted)"),
            Ok((&b""[..], vec![Flag::Seen, Flag::Deleted]))
        );
        assert_eq!(
            mbx_list_flag(b"\\HasNoChildren"),
            Ok((&b""[..], MailboxAttribute::HasNoChildren))
        );
        assert_eq!(
            mbx_list_flag(b"\\noselect"),
            Ok((&b""[..], MailboxAttribute::NoSelect))
        );
    }

    #[test]
    fn recent_dropped_in_rev2() {
        let flags = [FlagFetch::Flag(Flag::Seen), FlagFetch::Recent];
        let mut e = Encoder::new(Version::Rev1);
        encode_flag_fetch_list(&mut e, &flags);
        assert_eq!(e.finish().into_bytes(), b"(\\Seen \\Recent)".to_vec());
        let mut e = Encoder::new(Version::Rev2);
        encode_flag_fetch_list(&mut e, &flags);
        assert_eq!(e.finish().into_bytes(), b"(\\Seen)".to_vec());
    }
}
