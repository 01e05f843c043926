//! `objectid = 1*255(ALPHA / DIGIT / "_" / "-")` (RFC 8474 §7): the
//! MAILBOXID, EMAILID and THREADID of OBJECTID.

use super::ValidationError;
use crate::core::PResult;
use crate::encode::{Encode, Encoder};
use nom::bytes::complete::take_while_m_n;

/// An object identifier (RFC 8474 §7): 1 to 255 letters, digits, `_` or
/// `-`. Written bare; inside parentheses where the grammar says so
/// (`MAILBOXID (id)`, `EMAILID (id)`).
///
/// Identifiers of up to [`ObjectId::INLINE_LEN`] octets (a server's
/// EMAILIDs and MAILBOXIDs usually are) are kept inline, without an
/// allocation: a SELECT builds one per message.
#[derive(Clone)]
pub struct ObjectId(Repr);

#[derive(Clone)]
enum Repr {
    /// `len` octets of `buf`, all objectid characters.
    Inline {
        len: u8,
        buf: [u8; ObjectId::INLINE_LEN],
    },
    Heap(Box<str>),
}

impl ObjectId {
    /// The longest identifier RFC 8474 §7 allows.
    pub const MAX_LEN: usize = 255;

    /// The longest identifier kept without an allocation.
    pub const INLINE_LEN: usize = 22;

    /// The identifier.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, buf } => {
                // Only objectid characters (ASCII) are ever stored.
                std::str::from_utf8(&buf[..usize::from(*len)]).unwrap_or_default()
            }
            Repr::Heap(s) => s,
        }
    }

    /// `prefix` followed by `id` in 16 lower-case hex digits (17 octets,
    /// kept inline), as a server's EMAILIDs or THREADIDs often are; `None`
    /// when `prefix` is not an objectid character. Built without the
    /// character check of [`TryFrom<&str>`]: a SELECT builds one per
    /// message, and hex digits always pass.
    pub fn prefixed_hex(prefix: u8, id: u64) -> Option<ObjectId> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        if !is_objectid_char(prefix) {
            return None;
        }
        let mut buf = [0u8; Self::INLINE_LEN];
        buf[0] = prefix;
        for (i, digit) in buf[1..17].iter_mut().enumerate() {
            *digit = HEX[((id >> (60 - 4 * i)) & 0xf) as usize];
        }
        Some(ObjectId(Repr::Inline { len: 17, buf }))
    }

    /// An identifier already checked to be 1 to 255 objectid characters.
    fn from_checked(s: &str) -> ObjectId {
        if s.len() <= Self::INLINE_LEN {
            let mut buf = [0u8; Self::INLINE_LEN];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            ObjectId(Repr::Inline {
                // At most INLINE_LEN, which fits.
                len: s.len() as u8,
                buf,
            })
        } else {
            ObjectId(Repr::Heap(s.into()))
        }
    }
}

impl PartialEq for ObjectId {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ObjectId {}

impl std::hash::Hash for ObjectId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for ObjectId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ObjectId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ObjectId").field(&self.as_str()).finish()
    }
}

/// Which octets `objectid` allows, as a table: the check runs once per
/// octet of every identifier a SELECT builds, and the branches of
/// `is_ascii_alphanumeric` mispredict on hex digits.
static OBJECTID_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        b += 1;
    }
    table
};

fn is_objectid_char(b: u8) -> bool {
    OBJECTID_CHARS[usize::from(b)]
}

impl TryFrom<&str> for ObjectId {
    type Error = ValidationError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        if s.is_empty() {
            return Err(ValidationError::Empty);
        }
        // Branch-free over the octets; the offending one is looked for
        // only when there is one.
        if !s.bytes().fold(true, |ok, b| ok & is_objectid_char(b))
            && let Some((offset, byte)) = s.bytes().enumerate().find(|(_, b)| !is_objectid_char(*b))
        {
            return Err(ValidationError::InvalidByte { offset, byte });
        }
        if s.len() > Self::MAX_LEN {
            return Err(ValidationError::OutOfRange);
        }
        Ok(ObjectId::from_checked(s))
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Encode for ObjectId {
    fn encode(&self, enc: &mut Encoder) {
        enc.put_str(self.as_str());
    }
}

/// `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`
pub(crate) fn objectid(i: &[u8]) -> PResult<'_, ObjectId> {
    let (r, id) = take_while_m_n(1, ObjectId::MAX_LEN, is_objectid_char)(i)?;
    // Only ASCII letters, digits, `_` and `-` were taken.
    let s = std::str::from_utf8(id).unwrap_or_default();
    Ok((r, ObjectId::from_checked(s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Version;

    #[test]
    fn prefixed_hex_is_what_the_checked_path_builds() {
        for id in [0u64, 1, 0xdead_beef, u64::MAX] {
            let built = ObjectId::prefixed_hex(b'E', id).unwrap();
            let checked = ObjectId::try_from(format!("E{id:016x}").as_str()).unwrap();
            assert_eq!(built, checked);
            assert_eq!(built.as_str().len(), 17);
        }
        assert!(ObjectId::prefixed_hex(b' ', 1).is_none());
        assert!(ObjectId::prefixed_hex(b'T', 7).is_some());
    }

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

    #[test]
    fn inline_and_heap_identifiers_compare_by_text() {
        let short = ObjectId::try_from("E0000000000000001").unwrap();
        let edge = "x".repeat(ObjectId::INLINE_LEN);
        let long = "x".repeat(ObjectId::INLINE_LEN + 1);
        for text in ["E0000000000000001", edge.as_str(), long.as_str()] {
            let id = ObjectId::try_from(text).unwrap();
            assert_eq!(id.as_str(), text);
            assert_eq!(id.to_string(), text);
            assert_eq!(objectid(text.as_bytes()).unwrap().1, id);
        }
        let edge = ObjectId::try_from(edge.as_str()).unwrap();
        let long = ObjectId::try_from(long.as_str()).unwrap();
        assert!(edge < long && short < edge);
        assert_ne!(edge, long);
        assert_eq!(format!("{short:?}"), "ObjectId(\"E0000000000000001\")");
    }
}
