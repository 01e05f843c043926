//! Modified UTF-7 for IMAP4rev1 mailbox names (RFC 3501 §5.1.3).
//!
//! Printable US-ASCII except `&` stands for itself, `&` is `&-`, and any
//! other run of characters is UTF-16BE in modified base64 (`,` for `/`, no
//! padding) between `&` and `-`. The base64 comes from the `base64` crate's
//! `IMAP_MUTF7` alphabet.

use base64::Engine;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};

const MUTF7: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::IMAP_MUTF7,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
);

/// Why a modified UTF-7 name could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mutf7Error {
    /// A byte outside printable US-ASCII.
    NonAscii,
    /// A `&` shift sequence that is not valid modified base64 / UTF-16, or
    /// that is not in the canonical form RFC 3501 requires.
    BadShift,
}

impl std::fmt::Display for Mutf7Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mutf7Error::NonAscii => "non-ASCII byte in modified UTF-7",
            Mutf7Error::BadShift => "invalid modified UTF-7 shift sequence",
        })
    }
}

impl std::error::Error for Mutf7Error {}

/// Encodes a UTF-8 mailbox name as modified UTF-7.
pub fn encode_mutf7(name: &str) -> String {
    let mut out = String::new();
    let mut run: Vec<u16> = Vec::new();
    let flush = |run: &mut Vec<u16>, out: &mut String| {
        if !run.is_empty() {
            let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
            out.push('&');
            out.push_str(&MUTF7.encode(bytes));
            out.push('-');
            run.clear();
        }
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Decodes a modified UTF-7 mailbox name into UTF-8. Only canonical
/// encodings are accepted (re-encoding yields the input), as RFC 3501
/// §5.1.3 forbids alternatives.
pub fn decode_mutf7(name: &str) -> Result<String, Mutf7Error> {
    if !name.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(Mutf7Error::NonAscii);
    }
    let mut out = String::new();
    let mut rest = name;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let end = after.find('-').ok_or(Mutf7Error::BadShift)?;
        let b64 = &after[..end];
        if b64.is_empty() {
            out.push('&');
        } else {
            let bytes = MUTF7.decode(b64).map_err(|_| Mutf7Error::BadShift)?;
            if bytes.len() % 2 != 0 {
                return Err(Mutf7Error::BadShift);
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            let s = String::from_utf16(&units).map_err(|_| Mutf7Error::BadShift)?;
            out.push_str(&s);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if encode_mutf7(&out) != name {
        return Err(Mutf7Error::BadShift);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_example() {
        // RFC 3501 §5.1.3: "~peter/mail/台北/日本語"
        let utf8 = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
        let wire = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
        assert_eq!(encode_mutf7(utf8), wire);
        assert_eq!(decode_mutf7(wire), Ok(utf8.to_owned()));
    }

    #[test]
    fn known_answers() {
        assert_eq!(encode_mutf7("A&B"), "A&-B");
        assert_eq!(decode_mutf7("A&-B"), Ok("A&B".into()));
        assert_eq!(encode_mutf7("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode_mutf7("😀"), "&2D3eAA-");
        assert_eq!(decode_mutf7("&2D3eAA-"), Ok("😀".into()));
        assert_eq!(decode_mutf7("a&b"), Err(Mutf7Error::BadShift));
        assert_eq!(decode_mutf7("&AGE-"), Err(Mutf7Error::BadShift)); // "a" must be direct
        assert_eq!(decode_mutf7("é"), Err(Mutf7Error::NonAscii));
    }
}
