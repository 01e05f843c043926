//! Frames the server's byte stream into complete replies, within limits,
//! before the codec ([`Reply::parse`]) reads them.

use crate::{Reply, client::ClientError};

/// Accumulates the lines of one reply.
#[derive(Debug, Default)]
pub(super) struct ReplyReader {
    /// The lines of the reply so far, the current partial line last.
    buf: Vec<u8>,
    /// Where the current line starts in `buf`.
    line_start: usize,
    /// Complete lines in `buf`.
    lines: usize,
}

/// What one call to [`ReplyReader::read`] produced.
pub(super) enum Read {
    /// All input was taken; the reply is not complete yet.
    More,
    /// A complete reply, and the bytes of the input it used.
    Reply(Reply, usize),
}

impl ReplyReader {
    /// Takes bytes up to the end of the next complete reply.
    pub(super) fn read(
        &mut self,
        input: &[u8],
        max_line: usize,
        max_lines: usize,
    ) -> Result<Read, ClientError> {
        let mut pos = 0;
        while let Some(rest) = input.get(pos..).filter(|r| !r.is_empty()) {
            let (chunk, complete) = match memchr::memchr(b'\n', rest) {
                Some(lf) => (rest.get(..=lf).unwrap_or(rest), true),
                None => (rest, false),
            };
            pos += chunk.len();
            // Checked before growing, so memory stays within the limits
            // whatever the server sends (RFC 5321 §4.5.3.1.5).
            if self.buf.len() - self.line_start + chunk.len() > max_line {
                return Err(ClientError::ReplyTooLong);
            }
            self.buf.extend_from_slice(chunk);
            if !complete {
                continue;
            }
            self.lines += 1;
            let line = self.buf.get(self.line_start..).unwrap_or_default();
            let more = line.get(3) == Some(&b'-');
            if more {
                if self.lines >= max_lines {
                    return Err(ClientError::TooManyReplyLines);
                }
                self.line_start = self.buf.len();
                continue;
            }
            let bytes = std::mem::take(&mut self.buf);
            self.line_start = 0;
            self.lines = 0;
            // Reply text should be ASCII (RFC 5321 §4.2); a server that
            // sends 8-bit text still gets its reply understood.
            let text = String::from_utf8_lossy(&bytes);
            let reply = match Reply::parse(text.as_bytes()) {
                Ok((reply, used)) if used == text.len() => reply,
                _ => return Err(ClientError::InvalidReply),
            };
            return Ok(Read::Reply(reply, pos));
        }
        Ok(Read::More)
    }

    /// Forgets a partial reply (after a transport switch).
    pub(super) fn clear(&mut self) {
        self.buf.clear();
        self.line_start = 0;
        self.lines = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Result<Vec<(Reply, usize)>, ClientError> {
        let mut r = ReplyReader::default();
        let mut out = Vec::new();
        let mut rest = input;
        loop {
            match r.read(rest, 32, 3)? {
                Read::More => return Ok(out),
                Read::Reply(reply, used) => {
                    rest = &rest[used..];
                    out.push((reply, used));
                }
            }
        }
    }

    #[test]
    fn frames_replies() {
        let got = read_all(b"250-a\r\n250 b\r\n221 2.0.0 Bye\r\n354").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.lines, vec!["a", "b"]);
        assert_eq!(got[0].1, 14);
        assert_eq!(got[1].0, Reply::new(221, "2.0.0", "Bye"));
    }

    #[test]
    fn limits() {
        assert_eq!(
            read_all(&[b'2'; 40]).unwrap_err(),
            ClientError::ReplyTooLong
        );
        assert_eq!(
            read_all(b"250-a\r\n250-b\r\n250-c\r\n").unwrap_err(),
            ClientError::TooManyReplyLines
        );
        assert!(read_all(b"250-a\r\n250-b\r\n250 c\r\n").is_ok());
        assert_eq!(
            read_all(b"hello\r\n").unwrap_err(),
            ClientError::InvalidReply
        );
        assert_eq!(
            read_all(b"250-a\r\n251 b\r\n").unwrap_err(),
            ClientError::InvalidReply
        );
        // 8-bit text is read lossily, not refused.
        let got = read_all(b"250 caf\xe9\r\n").unwrap();
        assert_eq!(got[0].0.lines, vec!["caf\u{fffd}"]);
    }
}
