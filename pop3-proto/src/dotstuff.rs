//! [`DotStuffer`]: the pure, streaming encoder of a multi-line response body
//! (RFC 1939 §3), used for RETR and TOP.
//!
//! It sees the message in chunks of any size and keeps only a few flags
//! between them, so memory is bounded by the chunk, never by the message.

use bytes::{BufMut, BytesMut};

/// Whether the encoder wants more message bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageProgress {
    /// Keep sending chunks.
    Continue,
    /// The encoder needs no more bytes (a TOP reached its line count); stop
    /// reading the file and finish the message.
    Enough,
}

/// Encodes a message as a POP3 multi-line response body.
///
/// - a line that starts with `.` gets another `.` in front (RFC 1939 §3,
///   "byte-stuffing"), also when the line starts in a later chunk;
/// - a bare LF (one not preceded by CR, as in Maildir files written by
///   Unix tools) is sent as CRLF, since POP3 lines end in CRLF; a bare CR is
///   sent unchanged;
/// - for TOP (RFC 1939 §7) the header section and the blank line are sent
///   whole, then at most `n` body lines;
/// - [`finish`](Self::finish) ends a last line that lacks its CRLF and
///   appends the `.` CRLF terminator.
///
/// The `+OK` status line is not part of this encoder's output.
#[derive(Debug, Clone)]
pub struct DotStuffer {
    at_line_start: bool,
    previous_cr: bool,
    /// Octets on the current line so far, CR not counted (to spot the empty
    /// line that ends the header section).
    line_len: u64,
    top: Option<Top>,
    enough: bool,
    finished: bool,
}

#[derive(Debug, Clone, Copy)]
struct Top {
    in_body: bool,
    body_lines_left: u64,
}

impl Default for DotStuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl DotStuffer {
    /// An encoder for a whole message (RETR).
    pub fn new() -> Self {
        Self {
            at_line_start: true,
            previous_cr: false,
            line_len: 0,
            top: None,
            enough: false,
            finished: false,
        }
    }

    /// An encoder that sends the headers, the blank line and `lines` body
    /// lines (TOP).
    pub fn top(lines: u64) -> Self {
        Self {
            top: Some(Top {
                in_body: false,
                body_lines_left: lines,
            }),
            ..Self::new()
        }
    }

    /// Whether no more input is wanted (TOP reached its count, or finished).
    pub fn is_enough(&self) -> bool {
        self.enough || self.finished
    }

    /// Encodes one chunk of the message into `out`. Bytes after a TOP's
    /// last line, and any bytes after [`finish`](Self::finish), are ignored.
    pub fn encode(&mut self, chunk: &[u8], out: &mut BytesMut) -> MessageProgress {
        if self.is_enough() {
            return MessageProgress::Enough;
        }
        out.reserve(chunk.len() + chunk.len() / 64 + 2);
        let mut run_start = 0;
        for (position, &byte) in chunk.iter().enumerate() {
            if self.at_line_start && byte == b'.' {
                out.put_slice(&chunk[run_start..position]);
                out.put_u8(b'.');
                run_start = position;
            }
            self.at_line_start = false;
            match byte {
                b'\n' => {
                    out.put_slice(&chunk[run_start..position]);
                    if !self.previous_cr {
                        out.put_u8(b'\r');
                    }
                    out.put_u8(b'\n');
                    run_start = position + 1;
                    self.previous_cr = false;
                    self.at_line_start = true;
                    if self.end_of_line() {
                        self.enough = true;
                        return MessageProgress::Enough;
                    }
                }
                b'\r' => self.previous_cr = true,
                _ => {
                    self.previous_cr = false;
                    self.line_len += 1;
                }
            }
        }
        out.put_slice(&chunk[run_start..]);
        MessageProgress::Continue
    }

    /// Ends the body: CRLF if the last line lacked one, then `.` CRLF.
    /// Calling it again does nothing.
    pub fn finish(&mut self, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        if !self.at_line_start {
            if !self.previous_cr {
                out.put_u8(b'\r');
            }
            out.put_u8(b'\n');
        }
        out.put_slice(b".\r\n");
        self.finished = true;
    }

    /// Bookkeeping at a line feed; true when a TOP has sent enough.
    fn end_of_line(&mut self) -> bool {
        let empty = self.line_len == 0;
        self.line_len = 0;
        let Some(top) = &mut self.top else {
            return false;
        };
        if top.in_body {
            top.body_lines_left = top.body_lines_left.saturating_sub(1);
        } else if empty {
            top.in_body = true;
        } else {
            return false;
        }
        top.body_lines_left == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuff(encoder: DotStuffer, chunks: &[&[u8]]) -> Vec<u8> {
        let mut encoder = encoder;
        let mut out = BytesMut::new();
        for chunk in chunks {
            if encoder.encode(chunk, &mut out) == MessageProgress::Enough {
                break;
            }
        }
        encoder.finish(&mut out);
        out.to_vec()
    }

    /// Reference decoder: what a client does with a multi-line body.
    fn unstuff(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut lines = body.split_inclusive(|b| *b == b'\n').peekable();
        while let Some(line) = lines.next() {
            if line == b".\r\n" {
                assert!(lines.peek().is_none(), "data after the terminator");
                return out;
            }
            out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        }
        panic!("no terminator in {:?}", String::from_utf8_lossy(body));
    }

    #[test]
    fn known_answers() {
        let table: &[(&[u8], &[u8])] = &[
            (b"", b".\r\n"),
            (b"a\r\n", b"a\r\n.\r\n"),
            (b"a", b"a\r\n.\r\n"),
            (b"a\r", b"a\r\n.\r\n"),
            (b".\r\n", b"..\r\n.\r\n"),
            (b"a\r\n.b\r\n..\r\n", b"a\r\n..b\r\n...\r\n.\r\n"),
            (b"x.y\r\n", b"x.y\r\n.\r\n"),
            (b"a\nb\n.c", b"a\r\nb\r\n..c\r\n.\r\n"),
            (b"a\rb\r\n", b"a\rb\r\n.\r\n"),
        ];
        for (input, expected) in table {
            assert_eq!(
                stuff(DotStuffer::new(), &[input]),
                *expected,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn every_chunk_boundary_gives_the_same_output() {
        let message: &[u8] =
            b"From: a\r\nSubject: .dots\r\n\r\n.line one\r\n..two\r\nthree.\r\n.\r\nlast\n.";
        let whole = stuff(DotStuffer::new(), &[message]);
        assert_eq!(
            whole,
            b"From: a\r\nSubject: .dots\r\n\r\n..line one\r\n...two\r\nthree.\r\n..\r\nlast\r\n..\r\n.\r\n"
        );
        for split in 0..=message.len() {
            let (a, b) = message.split_at(split);
            assert_eq!(stuff(DotStuffer::new(), &[a, b]), whole, "split {split}");
        }
        let bytes: Vec<&[u8]> = message.chunks(1).collect();
        assert_eq!(stuff(DotStuffer::new(), &bytes), whole);
    }

    #[test]
    fn crlf_messages_round_trip() {
        let message: &[u8] = b"A: b\r\n\r\n.\r\n..\r\n.x\r\n\r\n.";
        let encoded = stuff(DotStuffer::new(), &[message]);
        assert_eq!(unstuff(&encoded), b"A: b\r\n\r\n.\r\n..\r\n.x\r\n\r\n.\r\n");
    }

    #[test]
    fn top_sends_headers_and_n_body_lines() {
        let message: &[u8] = b"A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n";
        let table: &[(u64, &[u8])] = &[
            (0, b"A: 1\r\nB: 2\r\n\r\n.\r\n"),
            (1, b"A: 1\r\nB: 2\r\n\r\nl1\r\n.\r\n"),
            (2, b"A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n"),
            (3, b"A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n"),
            (99, b"A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n"),
        ];
        for (lines, expected) in table {
            assert_eq!(
                stuff(DotStuffer::top(*lines), &[message]),
                *expected,
                "TOP {lines}"
            );
            for split in 0..=message.len() {
                let (a, b) = message.split_at(split);
                assert_eq!(
                    stuff(DotStuffer::top(*lines), &[a, b]),
                    *expected,
                    "TOP {lines} split {split}"
                );
            }
        }
    }

    #[test]
    fn top_reports_enough_and_ignores_the_rest() {
        let mut encoder = DotStuffer::top(1);
        let mut out = BytesMut::new();
        assert_eq!(
            encoder.encode(b"A: 1\n\nbody\n", &mut out),
            MessageProgress::Enough
        );
        assert!(encoder.is_enough());
        assert_eq!(
            encoder.encode(b"more\r\n", &mut out),
            MessageProgress::Enough
        );
        encoder.finish(&mut out);
        encoder.finish(&mut out);
        assert_eq!(&out[..], b"A: 1\r\n\r\nbody\r\n.\r\n");
    }

    #[test]
    fn top_of_a_message_without_body_sends_everything() {
        assert_eq!(
            stuff(DotStuffer::top(5), &[b"A: 1\r\nB: 2"]),
            b"A: 1\r\nB: 2\r\n.\r\n"
        );
    }
}
