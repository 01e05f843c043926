//! `COMPRESS` (RFC 4978): the command that turns on DEFLATE compression of
//! the connection.

use super::CommandBody;
use crate::core::PResult;
use crate::encode::Encoder;
use crate::types::{Atom, atom};
use nom::Parser;
use nom::combinator::map;

/// `compress = "COMPRESS" SP algorithm`; `algorithm = "DEFLATE"`
/// (RFC 4978 §4), after the command name and its space.
///
/// Any atom is accepted so that an unknown algorithm gets the session's
/// `NO`/`BAD` with the command's meaning rather than a syntax error.
pub(super) fn compress(i: &[u8]) -> PResult<'_, CommandBody> {
    map(atom, |algorithm| CommandBody::Compress { algorithm }).parse(i)
}

/// Writes `COMPRESS algorithm`.
pub(super) fn encode_compress(enc: &mut Encoder, algorithm: &Atom) {
    use crate::encode::Encode;
    enc.put(b"COMPRESS ");
    algorithm.encode(enc);
}

#[cfg(test)]
mod tests {
    use crate::{Command, CommandBody, Encode, Version};

    #[test]
    fn known_answers() {
        let c = Command::parse(b"a COMPRESS DEFLATE\r\n").unwrap();
        assert_eq!(
            c.body,
            CommandBody::Compress {
                algorithm: "DEFLATE".try_into().unwrap()
            }
        );
        assert_eq!(c.to_bytes(Version::Rev1), b"a COMPRESS DEFLATE\r\n");
        let c = Command::parse(b"b compress deflate\r\n").unwrap();
        assert_eq!(c.to_bytes(Version::Rev1), b"b COMPRESS deflate\r\n");
        for bad in [
            &b"a COMPRESS\r\n"[..],
            b"a COMPRESS \r\n",
            b"a COMPRESS DEFLATE X\r\n",
            b"a COMPRESS \"DEFLATE\"\r\n",
        ] {
            assert!(Command::parse(bad).is_err(), "{bad:?}");
        }
    }
}
