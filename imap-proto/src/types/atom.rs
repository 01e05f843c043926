//! `atom = 1*ATOM-CHAR` and the astring form `1*ASTRING-CHAR` (RFC 9051 §9).

use super::{ValidationError, validate};
use crate::core::{PResult, ascii_string, is_astring_char, is_atom_char};
use crate::encode::{Encode, Encoder};
use nom::Parser;
use nom::bytes::complete::take_while1;
use nom::combinator::map;

/// An atom: 1*ATOM-CHAR, e.g. a keyword, capability or auth mechanism.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom(String);

impl Atom {
    /// The atom's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Atom {
    type Error = ValidationError;
    fn try_from(s: &str) -> Result<Self, ValidationError> {
        validate(s.as_bytes(), is_atom_char)?;
        Ok(Atom(s.to_owned()))
    }
}

impl std::fmt::Display for Atom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Encode for Atom {
    fn encode(&self, enc: &mut Encoder) {
        enc.put_str(&self.0);
    }
}

/// The atom form of an astring: 1*ASTRING-CHAR (an atom that may contain `]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AtomExt(String);

impl AtomExt {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for AtomExt {
    type Error = ValidationError;
    fn try_from(s: &str) -> Result<Self, ValidationError> {
        validate(s.as_bytes(), is_astring_char)?;
        Ok(AtomExt(s.to_owned()))
    }
}

impl Encode for AtomExt {
    fn encode(&self, enc: &mut Encoder) {
        enc.put_str(&self.0);
    }
}

/// `atom = 1*ATOM-CHAR`
pub(crate) fn atom(i: &[u8]) -> PResult<'_, Atom> {
    // ATOM-CHAR is ASCII, so the lossy conversion never replaces anything.
    map(take_while1(is_atom_char), |a: &[u8]| Atom(ascii_string(a))).parse(i)
}

/// `1*ASTRING-CHAR` (the atom alternative of `astring`)
pub(crate) fn atom_ext(i: &[u8]) -> PResult<'_, AtomExt> {
    map(take_while1(is_astring_char), |a: &[u8]| {
        AtomExt(ascii_string(a))
    })
    .parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let cases: &[(&[u8], &[u8], &str)] = &[
            (b"NOOP\r\n", b"\r\n", "NOOP"),
            (b"$Forwarded)", b")", "$Forwarded"),
            (b"AUTH=PLAIN ", b" ", "AUTH=PLAIN"),
            (b"a]b", b"]b", "a"),
        ];
        for (input, rest, val) in cases {
            assert_eq!(atom(input), Ok((*rest, Atom(val.to_string()))));
        }
        assert!(atom(b"(x").is_err());
        assert!(atom(b"\"x").is_err());
        assert_eq!(atom_ext(b"a]b c"), Ok((&b" c"[..], AtomExt("a]b".into()))));
        assert!(Atom::try_from("a*b").is_err());
        assert!(Atom::try_from("é").is_err());
    }
}
