//! `tag = 1*<any ASTRING-CHAR except "+">` (RFC 9051 §9).

use super::{ValidationError, validate};
use crate::core::{PResult, ascii_string, is_tag_char};
use crate::encode::{Encode, Encoder};
use nom::Parser;
use nom::bytes::complete::take_while1;
use nom::combinator::map;

/// A command tag, e.g. `A001`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    /// The tag's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Tag {
    type Error = ValidationError;
    fn try_from(s: &str) -> Result<Self, ValidationError> {
        validate(s.as_bytes(), is_tag_char)?;
        Ok(Tag(s.to_owned()))
    }
}

impl TryFrom<String> for Tag {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, ValidationError> {
        validate(s.as_bytes(), is_tag_char)?;
        Ok(Tag(s))
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Encode for Tag {
    fn encode(&self, enc: &mut Encoder) {
        enc.put_str(&self.0);
    }
}

/// `tag = 1*<any ASTRING-CHAR except "+">`
pub(crate) fn tag_imap(i: &[u8]) -> PResult<'_, Tag> {
    // Tag chars are ASCII, so the conversion cannot lose anything.
    map(take_while1(is_tag_char), |t: &[u8]| Tag(ascii_string(t))).parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let cases: &[(&[u8], &[u8], &str)] = &[
            (b"A001 NOOP", b" NOOP", "A001"),
            (b"a.b]c ", b" ", "a.b]c"),
            (b"x+y", b"+y", "x"),
        ];
        for (input, rest, val) in cases {
            assert_eq!(tag_imap(input), Ok((*rest, Tag(val.to_string()))));
        }
        assert!(tag_imap(b"+A").is_err());
        assert!(tag_imap(b" A").is_err());
        assert!(tag_imap(b"*").is_err());
    }

    #[test]
    fn constructor() {
        assert_eq!(Tag::try_from("A1").map(|t| t.to_string()), Ok("A1".into()));
        assert_eq!(Tag::try_from(""), Err(ValidationError::Empty));
        assert_eq!(
            Tag::try_from("A+1"),
            Err(ValidationError::InvalidByte {
                offset: 1,
                byte: b'+'
            })
        );
        assert!(Tag::try_from("A 1").is_err());
    }
}
