//! Strings: `quoted`, `literal`, `literal8`, `string`, `astring`, `nstring`
//! (RFC 9051 §4.3, §9; RFC 3516 for literal8; RFC 7888 for `{N+}`).

use super::{AtomExt, ValidationError, atom_ext};
use crate::core::{PResult, crlf, fail, is_astring_char, nil, number64};
use crate::encode::{Encode, Encoder};
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag, take};
use nom::combinator::{map, opt};

/// Re-exported here, beside the string types that carry it; defined in
/// `encode.rs`, which writes literals and sits below the types.
pub use crate::encode::LiteralMode;

/// A quoted string: any UTF-8 text without CR, LF or NUL; `"` and `\` are
/// escaped on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Quoted(String);

impl Quoted {
    /// The unescaped content.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Quoted {
    type Error = ValidationError;
    fn try_from(s: &str) -> Result<Self, ValidationError> {
        if let Some(offset) = s.bytes().position(|b| matches!(b, 0 | b'\r' | b'\n')) {
            return Err(ValidationError::InvalidByte {
                offset,
                byte: s.as_bytes()[offset],
            });
        }
        Ok(Quoted(s.to_owned()))
    }
}

impl Encode for Quoted {
    fn encode(&self, enc: &mut Encoder) {
        enc.put(b"\"");
        for b in self.0.bytes() {
            if b == b'"' || b == b'\\' {
                enc.put(b"\\");
            }
            enc.put(&[b]);
        }
        enc.put(b"\"");
    }
}

/// A literal: `{N}` CRLF followed by N octets, none of them NUL (`CHAR8`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Literal {
    data: Vec<u8>,
    mode: LiteralMode,
}

impl std::fmt::Debug for Literal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Literal({:?}, {:?})",
            String::from_utf8_lossy(&self.data),
            self.mode
        )
    }
}

impl Literal {
    /// A literal of `data` (refused if it holds a NUL octet).
    pub fn new(data: Vec<u8>, mode: LiteralMode) -> Result<Self, ValidationError> {
        if let Some(offset) = data.iter().position(|b| *b == 0) {
            return Err(ValidationError::InvalidByte { offset, byte: 0 });
        }
        Ok(Literal { data, mode })
    }

    /// A literal8 (RFC 3516): any octets, NUL included. Only valid where
    /// the grammar allows `literal8` (APPEND data, BINARY responses).
    pub fn new_binary(data: Vec<u8>, mode: LiteralMode) -> Self {
        Literal { data, mode }
    }

    /// The literal's octets.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Synchronising or not.
    pub fn mode(&self) -> LiteralMode {
        self.mode
    }

    /// Consumes into the octets.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }
}

impl Encode for Literal {
    fn encode(&self, enc: &mut Encoder) {
        enc.literal(&self.data, self.mode, false);
    }
}

/// `string = quoted / literal`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IString {
    /// `quoted`
    Quoted(Quoted),
    /// `literal`
    Literal(Literal),
}

impl IString {
    /// The string's octets.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            IString::Quoted(q) => q.0.as_bytes(),
            IString::Literal(l) => &l.data,
        }
    }

    /// The content as UTF-8 text, if it is.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    /// The most compact valid form of `data`: quoted when it can be,
    /// otherwise a synchronising literal. Fails only on NUL octets.
    pub fn from_bytes(data: &[u8]) -> Result<Self, ValidationError> {
        match std::str::from_utf8(data).ok().map(Quoted::try_from) {
            Some(Ok(q)) => Ok(IString::Quoted(q)),
            _ => Ok(IString::Literal(Literal::new(
                data.to_vec(),
                LiteralMode::Sync,
            )?)),
        }
    }
}

impl Encode for IString {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            IString::Quoted(q) => q.encode(enc),
            IString::Literal(l) => l.encode(enc),
        }
    }
}

/// `astring = 1*ASTRING-CHAR / string`
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AString {
    /// `1*ASTRING-CHAR`
    Atom(AtomExt),
    /// `string`
    String(IString),
}

impl AString {
    /// The string's octets.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            AString::Atom(a) => a.as_str().as_bytes(),
            AString::String(s) => s.as_bytes(),
        }
    }

    /// The content as UTF-8 text, if it is.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    /// The most compact valid form of `data`: atom, else quoted, else a
    /// synchronising literal. Fails only on NUL octets.
    pub fn from_bytes(data: &[u8]) -> Result<Self, ValidationError> {
        if !data.is_empty() && data.iter().all(|b| is_astring_char(*b)) {
            return Ok(AString::Atom(AtomExt::try_from(
                std::str::from_utf8(data).map_err(|_| ValidationError::OutOfRange)?,
            )?));
        }
        Ok(AString::String(IString::from_bytes(data)?))
    }
}

impl Encode for AString {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            AString::Atom(a) => a.encode(enc),
            AString::String(s) => s.encode(enc),
        }
    }
}

/// `nstring = string / nil`
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum NString {
    /// `NIL`
    #[default]
    Nil,
    /// `string`
    String(IString),
}

impl NString {
    /// The octets, `None` for NIL.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            NString::Nil => None,
            NString::String(s) => Some(s.as_bytes()),
        }
    }
}

impl Encode for NString {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            NString::Nil => enc.put(b"NIL"),
            NString::String(s) => s.encode(enc),
        }
    }
}

/// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`;
/// `QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4`
pub(crate) fn quoted(i: &[u8]) -> PResult<'_, Quoted> {
    let (mut rest, _) = tag(&b"\""[..]).parse(i)?;
    let mut out = Vec::new();
    loop {
        match rest.split_first() {
            Some((b'"', r)) => {
                return match String::from_utf8(out) {
                    Ok(s) => Ok((r, Quoted(s))),
                    Err(_) => Err(fail(i)),
                };
            }
            Some((b'\\', r)) => match r.split_first() {
                Some((c @ (b'"' | b'\\'), r2)) => {
                    out.push(*c);
                    rest = r2;
                }
                _ => return Err(fail(rest)),
            },
            Some((c, r)) if !matches!(c, 0 | b'\r' | b'\n') => {
                out.push(*c);
                rest = r;
            }
            _ => return Err(fail(rest)),
        }
    }
}

/// `literal = "{" number64 ["+"] "}" CRLF *CHAR8`
pub(crate) fn literal(i: &[u8]) -> PResult<'_, Literal> {
    let (rest, (data, mode)) = literal_body(i, false)?;
    if data.contains(&0) {
        return Err(fail(i));
    }
    Ok((
        rest,
        Literal {
            data: data.to_vec(),
            mode,
        },
    ))
}

/// `literal8 = "~{" number64 "}" CRLF *OCTET` (RFC 3516; `{N+}` form from RFC 7888)
pub(crate) fn literal8(i: &[u8]) -> PResult<'_, Literal> {
    let (rest, (data, mode)) = literal_body(i, true)?;
    Ok((
        rest,
        Literal {
            data: data.to_vec(),
            mode,
        },
    ))
}

fn literal_body(i: &[u8], binary: bool) -> PResult<'_, (&[u8], LiteralMode)> {
    let (i, _) = tag(if binary { &b"~{"[..] } else { &b"{"[..] }).parse(i)?;
    let (i, n) = number64(i)?;
    let (i, plus) = opt(tag(&b"+"[..])).parse(i)?;
    let (i, _) = tag(&b"}"[..]).parse(i)?;
    let (i, _) = crlf(i)?;
    let n = usize::try_from(n).map_err(|_| fail(i))?;
    let (i, data) = take(n).parse(i)?;
    let mode = if plus.is_some() {
        LiteralMode::NonSync
    } else {
        LiteralMode::Sync
    };
    Ok((i, (data, mode)))
}

/// `string = quoted / literal`
pub(crate) fn string(i: &[u8]) -> PResult<'_, IString> {
    alt((map(quoted, IString::Quoted), map(literal, IString::Literal))).parse(i)
}

/// `astring = 1*ASTRING-CHAR / string`
pub(crate) fn astring(i: &[u8]) -> PResult<'_, AString> {
    alt((map(atom_ext, AString::Atom), map(string, AString::String))).parse(i)
}

/// `nstring = string / nil`
pub(crate) fn nstring(i: &[u8]) -> PResult<'_, NString> {
    alt((map(string, NString::String), map(nil, |_| NString::Nil))).parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Version;

    fn q(s: &str) -> Quoted {
        Quoted(s.into())
    }

    #[test]
    fn quoted_known_answers() {
        let cases: &[(&[u8], &[u8], &str)] = &[
            (br#""abc" x"#, b" x", "abc"),
            (br#""" "#, b" ", ""),
            (br#""a\"b\\c")"#, b")", "a\"b\\c"),
            ("\"grüße\"".as_bytes(), b"", "grüße"),
        ];
        for (input, rest, val) in cases {
            assert_eq!(quoted(input), Ok((*rest, q(val))));
        }
        assert!(quoted(b"\"a\r\nb\"").is_err());
        assert!(quoted(b"\"a\\xb\"").is_err());
        assert!(quoted(b"\"abc").is_err());
        assert!(quoted(b"\"\xff\"").is_err());
    }

    #[test]
    fn literal_known_answers() {
        assert_eq!(
            literal(b"{3}\r\nabc rest"),
            Ok((
                &b" rest"[..],
                Literal {
                    data: b"abc".to_vec(),
                    mode: LiteralMode::Sync
                }
            ))
        );
        assert_eq!(
            literal(b"{0+}\r\n"),
            Ok((
                &b""[..],
                Literal {
                    data: vec![],
                    mode: LiteralMode::NonSync
                }
            ))
        );
        assert!(literal(b"{4}\r\nabc").is_err());
        assert!(literal(b"{1}\r\n\0").is_err());
        assert_eq!(
            literal8(b"~{2}\r\n\0\xff"),
            Ok((
                &b""[..],
                Literal {
                    data: vec![0, 0xff],
                    mode: LiteralMode::Sync
                }
            ))
        );
    }

    #[test]
    fn astring_nstring() {
        assert_eq!(
            astring(b"fred pw"),
            Ok((
                &b" pw"[..],
                AString::Atom(AtomExt::try_from("fred").unwrap())
            ))
        );
        assert_eq!(
            astring(b"\"a b\""),
            Ok((&b""[..], AString::String(IString::Quoted(q("a b")))))
        );
        assert_eq!(nstring(b"NIL)"), Ok((&b")"[..], NString::Nil)));
        assert_eq!(nstring(b"nil"), Ok((&b""[..], NString::Nil)));
        assert!(astring(b"(a)").is_err());
    }

    #[test]
    fn encode_forms() {
        let v = Version::Rev1;
        assert_eq!(q("a\"b\\").to_bytes(v), br#""a\"b\\""#.to_vec());
        assert_eq!(
            AString::from_bytes(b"fred").unwrap().to_bytes(v),
            b"fred".to_vec()
        );
        assert_eq!(
            AString::from_bytes(b"a b").unwrap().to_bytes(v),
            b"\"a b\"".to_vec()
        );
        assert_eq!(
            AString::from_bytes(b"a\r\nb").unwrap().to_bytes(v),
            b"{4}\r\na\r\nb".to_vec()
        );
        assert!(AString::from_bytes(b"a\0").is_err());
        assert_eq!(
            AString::from_bytes(b"").unwrap().to_bytes(v),
            b"\"\"".to_vec()
        );
    }
}
