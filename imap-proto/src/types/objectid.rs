//! `objectid = 1*255(ALPHA / DIGIT / "_" / "-")` (RFC 8474 §7): the
//! MAILBOXID, EMAILID and THREADID of OBJECTID.

use super::ValidationError;
use crate::core::PResult;
use crate::encode::{Encode, Encoder};
use nom::bytes::complete::take_while_m_n;

/// An object identifier (RFC 8474 §7): 1 to 255 letters, digits, `_` or
/// `-`. Written bare; inside parentheses where the grammar says so
/// (`MAILBOXID (id)`, `EMAILID (id)`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(Box<str>);

impl ObjectId {
    /// The longest identifier RFC 8474 §7 allows.
    pub const MAX_LEN: usize = 255;

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_objectid_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

impl TryFrom<&str> for ObjectId {
    type Error = ValidationError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        if s.is_empty() {
            return Err(ValidationError::Empty);
        }
        if let Some((offset, byte)) = s.bytes().enumerate().find(|(_, b)| !is_objectid_char(*b)) {
            return Err(ValidationError::InvalidByte { offset, byte });
        }
        if s.len() > Self::MAX_LEN {
            return Err(ValidationError::OutOfRange);
        }
        Ok(ObjectId(s.into()))
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Encode for ObjectId {
    fn encode(&self, enc: &mut Encoder) {
        enc.put_str(&self.0);
    }
}

/// `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`
pub(crate) fn objectid(i: &[u8]) -> PResult<'_, ObjectId> {
    let (r, id) = take_while_m_n(1, ObjectId::MAX_LEN, is_objectid_char)(i)?;
    // Only ASCII letters, digits, `_` and `-` were taken.
    let s = std::str::from_utf8(id).unwrap_or_default();
    Ok((r, ObjectId(s.into())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Version;

    #[test]
    fn known_answers() {
        assert_eq!(
            objectid(b"F2212ea87-6097-4256-9d51-71338625) rest"),
            Ok((
                &b") rest"[..],
                ObjectId::try_from("F2212ea87-6097-4256-9d51-71338625").unwrap()
            ))
        );
        assert!(objectid(b" x").is_err());
        assert_eq!(ObjectId::try_from(""), Err(ValidationError::Empty));
        assert_eq!(
            ObjectId::try_from("a.b"),
            Err(ValidationError::InvalidByte {
                offset: 1,
                byte: b'.'
            })
        );
        assert_eq!(
            ObjectId::try_from("x".repeat(256).as_str()),
            Err(ValidationError::OutOfRange)
        );
        assert_eq!(
            ObjectId::try_from("M_1-a").unwrap().to_bytes(Version::Rev1),
            b"M_1-a".to_vec()
        );
    }
}
