//! FETCH items written straight into the response line: the items every
//! FETCH of a large mailbox carries (`UID`, `FLAGS`, `RFC822.SIZE`,
//! `MODSEQ`) without an [`Encoder`](crate::encode::Encoder) and its
//! buffers per item or `core::fmt` for the numbers. The bytes are the same
//! as the generic encoder's (`MessageDataItem::encode`); the session tests
//! and the round-trip fuzz target compare them.

use crate::encode::Version;
use crate::types::Flag;
use crate::view::MessageSummary;

/// Appends `n` in decimal (RFC 9051 `number` / `number64`).
pub(super) fn put_number(line: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        // `n % 10` is below 10: the cast cannot truncate.
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    line.extend_from_slice(&digits[i..]);
}

/// Appends one flag as `Flag::encode` writes it.
fn put_flag(line: &mut Vec<u8>, flag: &Flag) {
    match flag {
        Flag::Answered => line.extend_from_slice(b"\\Answered"),
        Flag::Flagged => line.extend_from_slice(b"\\Flagged"),
        Flag::Deleted => line.extend_from_slice(b"\\Deleted"),
        Flag::Seen => line.extend_from_slice(b"\\Seen"),
        Flag::Draft => line.extend_from_slice(b"\\Draft"),
        Flag::Keyword(a) => line.extend_from_slice(a.as_str().as_bytes()),
        Flag::Extension(a) => {
            line.push(b'\\');
            line.extend_from_slice(a.as_str().as_bytes());
        }
    }
}

/// `FLAGS (...)` of a message: its flags, then `\Recent` for this session
/// in IMAP4rev1 only (RFC 9051 Appendix E, item 11), as
/// `encode_flag_fetch_list` of `flag_fetch(m)` writes it.
pub(super) fn put_flags(line: &mut Vec<u8>, m: &MessageSummary, version: Version) {
    line.extend_from_slice(b"FLAGS (");
    let mut first = true;
    for f in &m.flags {
        if !first {
            line.push(b' ');
        }
        first = false;
        put_flag(line, f);
    }
    if m.recent && version != Version::Rev2 {
        if !first {
            line.push(b' ');
        }
        line.extend_from_slice(b"\\Recent");
    }
    line.push(b')');
}

#[cfg(test)]
mod tests {
    use super::{put_flags, put_number};
    use crate::encode::{Encode, Encoder, Version};
    use crate::response::MessageDataItem;
    use crate::types::{Date, DateTime, Flag};
    use crate::view::{MessageSummary, flag_fetch};
    use std::num::NonZeroU32;

    #[test]
    fn numbers_match_display() {
        for n in [0, 1, 9, 10, 99, 100, 4_294_967_295, u64::MAX] {
            let mut v = Vec::new();
            put_number(&mut v, n);
            assert_eq!(v, n.to_string().into_bytes());
        }
    }

    #[test]
    fn flags_match_the_generic_encoder() {
        let all = vec![
            Flag::Seen,
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Draft,
            Flag::keyword("$Forwarded").unwrap(),
            Flag::keyword("$k1").unwrap(),
            Flag::Extension(crate::types::Atom::try_from("Future").unwrap()),
        ];
        for flags in [Vec::new(), vec![Flag::Seen], all] {
            for recent in [false, true] {
                for version in [Version::Rev1, Version::Rev2] {
                    let m = MessageSummary {
                        uid: NonZeroU32::MIN,
                        flags: flags.clone(),
                        mod_seq: 1,
                        internal_date: DateTime::new(Date::new(2024, 1, 2).unwrap(), 3, 4, 5, 0)
                            .unwrap(),
                        size: 1,
                        recent,
                        email_id: None,
                        save_date: None,
                    };
                    let mut enc = Encoder::new(version);
                    MessageDataItem::Flags(flag_fetch(&m)).encode(&mut enc);
                    let mut fast = Vec::new();
                    put_flags(&mut fast, &m, version);
                    assert_eq!(
                        fast,
                        enc.finish().into_bytes(),
                        "{flags:?} {recent} {version:?}"
                    );
                }
            }
        }
    }
}
