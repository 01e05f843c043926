//! Shared lexical rules of RFC 9051 §9 (formal syntax): characters, numbers,
//! SP/CRLF and `nil`, plus the small helpers every grammar module uses.

use nom::bytes::complete::{tag, tag_no_case, take_while1};
use nom::character::complete::digit1;
use nom::combinator::{map_res, value, verify};
use nom::{IResult, Parser};
use std::num::NonZeroU32;

/// Result type of every internal nom parser: complete input (the framer has
/// already cut a whole command or response, literals included).
pub(crate) type PResult<'a, T> = IResult<&'a [u8], T>;

/// `CTL = %x00-1F / %x7F` (RFC 5234).
pub(crate) fn is_ctl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// `ATOM-CHAR = <any CHAR except atom-specials>`;
/// `atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials`.
pub(crate) fn is_atom_char(b: u8) -> bool {
    b.is_ascii()
        && !is_ctl(b)
        && !matches!(
            b,
            b'(' | b')' | b'{' | b' ' | b'%' | b'*' | b'"' | b'\\' | b']'
        )
}

/// `ASTRING-CHAR = ATOM-CHAR / resp-specials`.
pub(crate) fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// `tag = 1*<any ASTRING-CHAR except "+">`.
pub(crate) fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

/// `list-char = ATOM-CHAR / list-wildcards / resp-specials`.
pub(crate) fn is_list_char(b: u8) -> bool {
    is_atom_char(b) || matches!(b, b'%' | b'*' | b']')
}

/// `TEXT-CHAR = <any CHAR except CR and LF>` widened by RFC 9051 to UTF-8;
/// NUL is never allowed on the wire (RFC 9051 §4.3.1).
pub(crate) fn is_text_byte(b: u8) -> bool {
    !matches!(b, 0 | b'\r' | b'\n')
}

/// Owned text of octets a predicate has already limited to ASCII.
pub(crate) fn ascii_string(b: &[u8]) -> String {
    // The callers' predicates admit ASCII only, so this never falls back;
    // the fallback keeps it total without `unwrap`.
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// `SP = %x20`.
pub(crate) fn sp(i: &[u8]) -> PResult<'_, ()> {
    value((), tag(&b" "[..])).parse(i)
}

/// `CRLF = %d13.10`.
pub(crate) fn crlf(i: &[u8]) -> PResult<'_, ()> {
    value((), tag(&b"\r\n"[..])).parse(i)
}

/// `nil = "NIL"`.
pub(crate) fn nil(i: &[u8]) -> PResult<'_, ()> {
    value((), tag_no_case(&b"NIL"[..])).parse(i)
}

/// `number = 1*DIGIT` — unsigned 32-bit integer.
pub(crate) fn number(i: &[u8]) -> PResult<'_, u32> {
    map_res(digit1, |d: &[u8]| {
        std::str::from_utf8(d)
            .map_err(|_| ())
            .and_then(|s| s.parse::<u32>().map_err(|_| ()))
    })
    .parse(i)
}

/// `number64 = 1*DIGIT` — unsigned 63-bit integer (RFC 9051).
pub(crate) fn number64(i: &[u8]) -> PResult<'_, u64> {
    verify(
        map_res(digit1, |d: &[u8]| {
            std::str::from_utf8(d)
                .map_err(|_| ())
                .and_then(|s| s.parse::<u64>().map_err(|_| ()))
        }),
        |n| *n <= i64::MAX as u64,
    )
    .parse(i)
}

/// `nz-number = digit-nz *DIGIT`.
pub(crate) fn nz_number(i: &[u8]) -> PResult<'_, NonZeroU32> {
    map_res(number, |n| NonZeroU32::new(n).ok_or(())).parse(i)
}

/// `mod-sequence-value = 1*DIGIT` (RFC 7162 §7): at least 1, at most 2^63-1.
pub(crate) fn mod_sequence_value(i: &[u8]) -> PResult<'_, u64> {
    verify(number64, |n| *n >= 1).parse(i)
}

/// `mod-sequence-valzer = "0" / mod-sequence-value` (RFC 7162 §7).
pub(crate) fn mod_sequence_valzer(i: &[u8]) -> PResult<'_, u64> {
    number64(i)
}

/// `text = 1*(TEXT-CHAR / UTF8-2 / UTF8-3 / UTF8-4)` (RFC 9051), accepted
/// empty here because servers send `* OK [READ-WRITE]` without text.
pub(crate) fn text(i: &[u8]) -> PResult<'_, String> {
    let end = i.iter().position(|b| !is_text_byte(*b)).unwrap_or(i.len());
    let (t, rest) = i.split_at(end);
    match std::str::from_utf8(t) {
        Ok(s) => Ok((rest, s.to_owned())),
        Err(_) => Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Char,
        ))),
    }
}

/// `base64 = *(4base64-char) [base64-terminal]` (RFC 9051), decoded.
pub(crate) fn base64(i: &[u8]) -> PResult<'_, Vec<u8>> {
    use base64::Engine;
    map_res(
        take_while1(|b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')),
        |s: &[u8]| base64::engine::general_purpose::STANDARD.decode(s),
    )
    .parse(i)
}

/// Encodes bytes as RFC 4648 base64 with padding (RFC 9051 `base64`).
pub(crate) fn encode_base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Error for a nested structure deeper than the configured limit.
pub(crate) fn too_deep(i: &[u8]) -> nom::Err<nom::error::Error<&[u8]>> {
    nom::Err::Failure(nom::error::Error::new(i, nom::error::ErrorKind::TooLarge))
}

/// A plain error at `i` of the given kind.
pub(crate) fn fail(i: &[u8]) -> nom::Err<nom::error::Error<&[u8]>> {
    nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Verify))
}

/// Parses a space-separated list inside parentheses, allowing an empty list:
/// `"(" [p *(SP p)] ")"`.
pub(crate) fn paren_list0<'a, T>(
    mut p: impl Parser<&'a [u8], Output = T, Error = nom::error::Error<&'a [u8]>>,
) -> impl FnMut(&'a [u8]) -> PResult<'a, Vec<T>> {
    move |i: &'a [u8]| {
        let (mut i, _) = tag(&b"("[..]).parse(i)?;
        let mut out = Vec::new();
        if let Ok((rest, _)) = tag::<_, _, nom::error::Error<&[u8]>>(&b")"[..]).parse(i) {
            return Ok((rest, out));
        }
        loop {
            let (rest, v) = p.parse(i)?;
            out.push(v);
            i = rest;
            if let Ok((rest, _)) = tag::<_, _, nom::error::Error<&[u8]>>(&b")"[..]).parse(i) {
                return Ok((rest, out));
            }
            let (rest, _) = sp(i)?;
            i = rest;
        }
    }
}

/// Parses `"(" p *(SP p) ")"` (at least one element).
pub(crate) fn paren_list1<'a, T>(
    p: impl Parser<&'a [u8], Output = T, Error = nom::error::Error<&'a [u8]>>,
) -> impl FnMut(&'a [u8]) -> PResult<'a, Vec<T>> {
    let mut inner = paren_list0(p);
    move |i: &'a [u8]| {
        let (rest, v) = inner(i)?;
        if v.is_empty() {
            return Err(fail(i));
        }
        Ok((rest, v))
    }
}

/// Parses `p *(SP p)` (at least one element).
pub(crate) fn sp_list1<'a, T>(
    mut p: impl Parser<&'a [u8], Output = T, Error = nom::error::Error<&'a [u8]>>,
) -> impl FnMut(&'a [u8]) -> PResult<'a, Vec<T>> {
    move |i: &'a [u8]| {
        let (mut i, first) = p.parse(i)?;
        let mut out = vec![first];
        loop {
            let Ok((rest, _)) = sp(i) else {
                return Ok((i, out));
            };
            match p.parse(rest) {
                Ok((rest, v)) => {
                    out.push(v);
                    i = rest;
                }
                Err(nom::Err::Error(_)) => return Ok((i, out)),
                Err(e) => return Err(e),
            }
        }
    }
}

/// Case-insensitive keyword followed by nothing that could continue an atom.
pub(crate) fn keyword<'a>(kw: &'static str) -> impl FnMut(&'a [u8]) -> PResult<'a, ()> {
    move |i: &'a [u8]| {
        let (rest, _) = tag_no_case(kw.as_bytes()).parse(i)?;
        match rest.first() {
            Some(b) if is_atom_char(*b) && *b != b'[' && *b != b'.' && *b != b'<' => Err(fail(i)),
            _ => Ok((rest, ())),
        }
    }
}

/// An upper-cased copy of a short name, kept on the stack so command,
/// item and code names are matched without allocating.
pub(crate) struct UpperName {
    buf: [u8; 24],
    len: usize,
}

impl UpperName {
    /// Upper-cases `name`; a name longer than any IMAP keyword becomes
    /// empty, which matches nothing.
    pub(crate) fn new(name: &[u8]) -> Self {
        let mut buf = [0u8; 24];
        let len = if name.len() <= buf.len() {
            name.len()
        } else {
            0
        };
        for (d, s) in buf.iter_mut().zip(&name[..len]) {
            *d = s.to_ascii_uppercase();
        }
        UpperName { buf, len }
    }

    /// The upper-cased octets.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// `1*ATOM-CHAR`, upper-cased, without allocating.
pub(crate) fn upper_atom(i: &[u8]) -> PResult<'_, UpperName> {
    let (rest, a) = take_while1(is_atom_char).parse(i)?;
    Ok((rest, UpperName::new(a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number(b"123 x"), Ok((&b" x"[..], 123)));
        assert!(number(b"4294967296").is_err());
        assert_eq!(number64(b"4294967296"), Ok((&b""[..], 4_294_967_296)));
        assert!(nz_number(b"0").is_err());
        assert_eq!(
            nz_number(b"7)").map(|(r, n)| (r, n.get())),
            Ok((&b")"[..], 7))
        );
        assert!(mod_sequence_value(b"0").is_err());
        assert_eq!(mod_sequence_valzer(b"0"), Ok((&b""[..], 0)));
    }

    #[test]
    fn text_and_base64() {
        assert_eq!(
            text(b"hello world\r\n"),
            Ok((&b"\r\n"[..], "hello world".to_owned()))
        );
        assert!(text(b"\xff\r\n").is_err());
        assert_eq!(
            base64(b"AGZvbwBiYXI=\r\n"),
            Ok((&b"\r\n"[..], b"\0foo\0bar".to_vec()))
        );
        assert_eq!(encode_base64(b"\0foo\0bar"), "AGZvbwBiYXI=");
    }

    #[test]
    fn lists() {
        let mut p = paren_list0(number);
        assert_eq!(p(b"()x"), Ok((&b"x"[..], vec![])));
        assert_eq!(p(b"(1 2 3)"), Ok((&b""[..], vec![1, 2, 3])));
        assert!(paren_list1(number)(b"()").is_err());
        assert_eq!(sp_list1(number)(b"1 2 x"), Ok((&b" x"[..], vec![1, 2])));
        assert_eq!(keyword("ALL")(b"ALL)"), Ok((&b")"[..], ())));
        let (r, n) = upper_atom(b"uid fetch").unwrap();
        assert_eq!((r, n.as_bytes()), (&b" fetch"[..], &b"UID"[..]));
        assert_eq!(UpperName::new(&[b'a'; 30]).as_bytes(), b"");
        assert!(keyword("ALL")(b"ALLX").is_err());
    }
}
