//! Value types that cannot hold invalid values: each is built through a
//! validating constructor (`TryFrom`) or by the parser.

mod atom;
mod capability;
mod datetime;
mod flag;
mod mailbox;
mod mutf7;
mod objectid;
mod secret;
mod sequence;
mod string;
mod tag;

pub use atom::{Atom, AtomExt};
pub use capability::Capability;
pub use datetime::{Date, DateTime};
pub use flag::{Flag, FlagFetch, FlagPerm, MailboxAttribute};
pub use mailbox::{ListMailbox, Mailbox};
pub use mutf7::{Mutf7Error, decode_mutf7, encode_mutf7};
pub use objectid::ObjectId;
pub use secret::Secret;
pub use sequence::{SeqOrUid, Sequence, SequenceSet};
pub use string::{AString, IString, Literal, LiteralMode, NString, Quoted};
pub use tag::Tag;

pub(crate) use atom::{atom, atom_ext};
pub(crate) use capability::capability;
pub(crate) use datetime::{date, date_time};
pub(crate) use flag::{
    encode_flag_fetch_list, flag, flag_fetch, flag_list, flag_perm, mbx_list_flag,
};
pub(crate) use mailbox::{list_mailbox, mailbox};
pub(crate) use objectid::objectid;
pub(crate) use sequence::sequence_set;
pub(crate) use string::{astring, literal, literal8, nstring, quoted, string};
pub(crate) use tag::tag_imap;

/// Why a value was refused by a validating constructor.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationError {
    /// The value is empty but the rule needs at least one character.
    Empty,
    /// The byte at this offset is not allowed by the rule.
    InvalidByte {
        /// Offset of the first offending byte.
        offset: usize,
        /// The offending byte.
        byte: u8,
    },
    /// A number or date component is out of range.
    OutOfRange,
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValidationError::Empty => f.write_str("empty value"),
            ValidationError::InvalidByte { offset, byte } => {
                write!(f, "byte 0x{byte:02x} at offset {offset} is not allowed")
            }
            ValidationError::OutOfRange => f.write_str("value out of range"),
        }
    }
}

impl std::error::Error for ValidationError {}

/// Checks `s` is non-empty and every byte passes `ok`.
pub(crate) fn validate(s: &[u8], ok: impl Fn(u8) -> bool) -> Result<(), ValidationError> {
    if s.is_empty() {
        return Err(ValidationError::Empty);
    }
    match s.iter().position(|b| !ok(*b)) {
        Some(offset) => Err(ValidationError::InvalidByte {
            offset,
            byte: s[offset],
        }),
        None => Ok(()),
    }
}
