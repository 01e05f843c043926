//! The sending side of DATA: dot-stuffing (RFC 5321 §4.5.2) as a pure
//! streaming encoder, the inverse of [`DataReceiver`](crate::DataReceiver).

use bytes::BytesMut;

/// Encodes a message body for DATA, one chunk at a time.
///
/// - A line that starts with `.` gets a second `.` (RFC 5321 §4.5.2).
/// - A bare LF or a bare CR becomes CRLF: RFC 5321 §2.3.8 forbids them on
///   the wire, and a receiver that accepts `LF . CRLF` as the end of data is
///   exactly what SMTP smuggling exploits, so this client never sends one.
///   Postfix's client does the same. A body that is already CRLF-only passes
///   unchanged apart from the stuffing.
/// - [`finish`](Self::finish) ends an unterminated last line with CRLF and
///   appends the terminator `.` CRLF.
///
/// The state (line start, a CR waiting for its LF) is carried across calls,
/// so a body split at any byte encodes to the same output as the body whole.
/// Output grows by at most twice the input (`\n` → `\r\n`, `.` → `..`).
#[derive(Clone, Debug)]
pub struct DotStuffer {
    /// The next byte starts a line.
    line_start: bool,
    /// The last input byte was CR; its LF may come in the next chunk.
    pending_cr: bool,
    /// Body octets encoded so far (before stuffing and CRLF repair).
    input_len: u64,
}

impl Default for DotStuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl DotStuffer {
    /// An encoder at the start of a body.
    pub fn new() -> Self {
        DotStuffer {
            line_start: true,
            pending_cr: false,
            input_len: 0,
        }
    }

    /// Body octets seen so far (the unstuffed size).
    pub fn input_len(&self) -> u64 {
        self.input_len
    }

    /// Appends the encoding of `input` to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut BytesMut) {
        self.input_len = self.input_len.saturating_add(input.len() as u64);
        out.reserve(input.len() + input.len() / 16 + 4);
        let mut rest = input;
        while let Some((&b, tail)) = rest.split_first() {
            if self.pending_cr {
                self.pending_cr = false;
                // CR then LF is a line end; a CR not followed by LF is bare
                // and is completed to CRLF before `b` is looked at.
                out.extend_from_slice(b"\n");
                self.line_start = true;
                if b == b'\n' {
                    rest = tail;
                    continue;
                }
            }
            match b {
                b'\r' => {
                    out.extend_from_slice(b"\r");
                    self.pending_cr = true;
                    rest = tail;
                }
                b'\n' => {
                    out.extend_from_slice(b"\r\n");
                    self.line_start = true;
                    rest = tail;
                }
                _ => {
                    if self.line_start && b == b'.' {
                        out.extend_from_slice(b".");
                    }
                    self.line_start = false;
                    // Copy the rest of the line in one go.
                    let end = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
                    let (line, after) = rest.split_at(end);
                    out.extend_from_slice(line);
                    rest = after;
                }
            }
        }
    }

    /// Ends the body: completes a pending CR or an unterminated last line
    /// with CRLF and appends `.` CRLF (RFC 5321 §4.1.1.4).
    pub fn finish(&mut self, out: &mut BytesMut) {
        if self.pending_cr {
            out.extend_from_slice(b"\n");
        } else if !self.line_start {
            out.extend_from_slice(b"\r\n");
        }
        self.pending_cr = false;
        self.line_start = true;
        out.extend_from_slice(b".\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DataReceiver;

    fn encode_whole(input: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        let mut s = DotStuffer::new();
        s.encode(input, &mut out);
        s.finish(&mut out);
        out.to_vec()
    }

    #[test]
    fn known_answers() {
        let table: &[(&[u8], &[u8])] = &[
            (b"", b".\r\n"),
            (b"a\r\n", b"a\r\n.\r\n"),
            (b"a", b"a\r\n.\r\n"),
            (b".\r\n", b"..\r\n.\r\n"),
            (b"a\r\n.b\r\n..c\r\n", b"a\r\n..b\r\n...c\r\n.\r\n"),
            (b"x.y\r\n", b"x.y\r\n.\r\n"),
            // Bare line endings are repaired, never sent.
            (b"a\nb\n", b"a\r\nb\r\n.\r\n"),
            (b"a\rb", b"a\r\nb\r\n.\r\n"),
            (b"a\r", b"a\r\n.\r\n"),
            (b"\n.\n", b"\r\n..\r\n.\r\n"),
            (b"a\r\r\n", b"a\r\n\r\n.\r\n"),
            (b"\r.\r", b"\r\n..\r\n.\r\n"),
        ];
        for (input, want) in table {
            assert_eq!(
                encode_whole(input),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn every_split_point_gives_the_same_output() {
        let input = b"From: a\r\n.\r\n..x\r\nbare\nlf\rcr\r\n.\r.\n.";
        let want = encode_whole(input);
        for cut in 0..=input.len() {
            let mut out = BytesMut::new();
            let mut s = DotStuffer::new();
            s.encode(&input[..cut], &mut out);
            s.encode(&input[cut..], &mut out);
            s.finish(&mut out);
            assert_eq!(out.to_vec(), want, "cut at {cut}");
        }
        let mut out = BytesMut::new();
        let mut s = DotStuffer::new();
        for b in input {
            s.encode(std::slice::from_ref(b), &mut out);
        }
        s.finish(&mut out);
        assert_eq!(out.to_vec(), want, "byte by byte");
        assert_eq!(s.input_len(), input.len() as u64);
    }

    #[test]
    fn receiver_undoes_the_encoder_for_crlf_bodies() {
        let bodies: &[&[u8]] = &[
            b"",
            b"Subject: x\r\n\r\n.\r\n..\r\n.a\r\n",
            b".",
            b"line\r\n.\r\nafter\r\n",
        ];
        for body in bodies {
            let wire = encode_whole(body);
            let mut rx = DataReceiver::new(u64::MAX);
            let mut got = BytesMut::new();
            let progress = rx.feed(&wire, &mut got);
            assert!(progress.done && progress.consumed == wire.len());
            assert!(!rx.bare_line_ending());
            let mut want = body.to_vec();
            if !want.is_empty() && !want.ends_with(b"\r\n") {
                want.extend_from_slice(b"\r\n");
            }
            assert_eq!(got.to_vec(), want);
        }
    }
}
