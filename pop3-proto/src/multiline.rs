//! [`DotUnstuffer`]: the client side of a multi-line response (RFC 1939 §3),
//! the inverse of [`DotStuffer`](crate::DotStuffer).

use bytes::{BufMut, BytesMut};

/// How far [`DotUnstuffer::decode`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unstuffed {
    /// The whole chunk was body; send more.
    Continue,
    /// The terminating `.` CRLF was seen; the first `consumed` octets of
    /// the chunk belonged to the response, the rest is the next response.
    Done {
        /// Octets of this chunk up to and including the terminator.
        consumed: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    LineStart,
    Middle,
    /// A `.` at the start of a line.
    Dot,
    /// `.` CR at the start of a line.
    DotCr,
    Finished,
}

/// Removes byte-stuffing from a multi-line response body as it arrives in
/// chunks of any size, and finds its `.` CRLF terminator (a `.` LF is also
/// accepted). Feed it the octets after the `+OK` line.
#[derive(Debug, Clone)]
pub struct DotUnstuffer {
    state: State,
}

impl Default for DotUnstuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl DotUnstuffer {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        Self {
            state: State::LineStart,
        }
    }

    /// Whether the terminator has been seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Finished
    }

    /// Appends the unstuffed octets of `chunk` to `out`.
    pub fn decode(&mut self, chunk: &[u8], out: &mut BytesMut) -> Unstuffed {
        if self.state == State::Finished {
            return Unstuffed::Done { consumed: 0 };
        }
        out.reserve(chunk.len());
        for (position, &byte) in chunk.iter().enumerate() {
            self.state = match (self.state, byte) {
                (State::LineStart, b'.') => State::Dot,
                (State::Dot | State::DotCr, b'\n') => {
                    self.state = State::Finished;
                    return Unstuffed::Done {
                        consumed: position + 1,
                    };
                }
                (State::Dot, b'\r') => State::DotCr,
                (State::DotCr, _) => {
                    out.put_u8(b'\r');
                    out.put_u8(byte);
                    State::Middle
                }
                (_, b'\n') => {
                    out.put_u8(byte);
                    State::LineStart
                }
                (_, _) => {
                    out.put_u8(byte);
                    State::Middle
                }
            };
        }
        Unstuffed::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DotStuffer;

    fn decode_all(chunks: &[&[u8]]) -> (Vec<u8>, Option<usize>) {
        let mut decoder = DotUnstuffer::new();
        let mut out = BytesMut::new();
        let mut offset = 0;
        for chunk in chunks {
            if let Unstuffed::Done { consumed } = decoder.decode(chunk, &mut out) {
                return (out.to_vec(), Some(offset + consumed));
            }
            offset += chunk.len();
        }
        (out.to_vec(), None)
    }

    #[test]
    fn known_answers() {
        let table: &[(&[u8], &[u8], Option<usize>)] = &[
            (b".\r\n", b"", Some(3)),
            (b".\r\nNEXT", b"", Some(3)),
            (b"a\r\n..b\r\n.\r\n", b"a\r\n.b\r\n", Some(11)),
            (b"...\r\n.\n", b"..\r\n", Some(7)),
            (b".x\r\n.\r\n", b"x\r\n", Some(7)),
            (b"a\r\n.\rb\r\n.\r\n", b"a\r\n\rb\r\n", Some(11)),
            (b"a\r\nb", b"a\r\nb", None),
        ];
        for (input, body, end) in table {
            assert_eq!(decode_all(&[input]), (body.to_vec(), *end), "{input:?}");
        }
    }

    #[test]
    fn inverts_the_stuffer_at_every_split() {
        let message: &[u8] = b"H: .v\r\n\r\n.\r\n..\r\n.x.\r\nend\r\n";
        let mut encoded = BytesMut::new();
        let mut stuffer = DotStuffer::new();
        let _ = stuffer.encode(message, &mut encoded);
        stuffer.finish(&mut encoded);
        for split in 0..=encoded.len() {
            let (a, b) = encoded.split_at(split);
            assert_eq!(
                decode_all(&[a, b]),
                (message.to_vec(), Some(encoded.len())),
                "split {split}"
            );
        }
    }
}
