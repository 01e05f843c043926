//! Reading SMTP replies (RFC 5321 §4.2) from a blocking stream.

use std::io::{self, BufRead, Read};

/// The longest reply line we accept; RFC 5321 §4.5.3.1.5 allows 512 octets.
/// We are lenient (servers send long EHLO lines) but bounded.
const MAX_LINE: usize = 8192;
/// The most lines of one multi-line reply we accept.
const MAX_LINES: usize = 1000;

/// One complete SMTP reply: the three-digit code and the text of every line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply code, e.g. 250.
    pub code: u16,
    /// The text after `NNN-` / `NNN ` of every line, in order.
    pub lines: Vec<String>,
}

impl Reply {
    /// True for 2xx codes.
    #[must_use]
    pub fn is_positive_completion(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// True when an EHLO reply advertises `keyword` (case-insensitive).
    #[must_use]
    pub fn has_extension(&self, keyword: &str) -> bool {
        self.lines.iter().skip(1).any(|l| {
            l.split_ascii_whitespace()
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
        })
    }
}

/// Reads one (possibly multi-line) reply.
///
/// # Errors
/// I/O errors, end of stream, or a line that is not `NNN[ -]text`.
pub fn read_reply<R: BufRead>(reader: &mut R) -> io::Result<Reply> {
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = Read::take(&mut *reader, MAX_LINE as u64).read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed while waiting for a reply",
            ));
        }
        if !buf.ends_with(b"\n") {
            return Err(invalid("reply line too long"));
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\r', '\n']);
        let code: u16 = line
            .get(..3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| invalid(&format!("malformed reply line {line:?}")))?;
        let sep = line.as_bytes().get(3).copied();
        lines.push(line.get(4..).unwrap_or("").to_owned());
        match sep {
            Some(b'-') if lines.len() < MAX_LINES => {}
            Some(b'-') => return Err(invalid("reply has too many lines")),
            Some(b' ') | None => return Ok(Reply { code, lines }),
            Some(_) => return Err(invalid(&format!("malformed reply line {line:?}"))),
        }
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line() {
        let mut input: &[u8] = b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n220 next\r\n";
        let r = read_reply(&mut input).unwrap();
        assert_eq!(r.code, 250);
        assert_eq!(r.lines, ["mx.example", "PIPELINING", "SIZE 100"]);
        assert!(r.has_extension("pipelining"));
        assert!(r.has_extension("SIZE"));
        assert!(!r.has_extension("mx.example"));
        let r = read_reply(&mut input).unwrap();
        assert_eq!(
            r,
            Reply {
                code: 220,
                lines: vec!["next".into()]
            }
        );
        assert_eq!(
            read_reply(&mut input).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn bare_code_and_garbage() {
        let mut input: &[u8] = b"354\r\n";
        assert_eq!(read_reply(&mut input).unwrap().code, 354);
        let mut input: &[u8] = b"hello\r\n";
        assert_eq!(
            read_reply(&mut input).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut input: &[u8] = b"250x\r\n";
        assert_eq!(
            read_reply(&mut input).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
