//! Streaming receivers for message bodies: DATA (RFC 5321 §4.1.1.4, with
//! dot-unstuffing per §4.5.2) and BDAT (RFC 3030 §2).
//!
//! Both keep their whole state between calls, so a body split at any byte
//! gives the same output as the body fed whole.

use bytes::BytesMut;

/// How far a receiver got with one input slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataProgress {
    /// Bytes of the input that belong to the body (and its terminator) and
    /// were consumed; the rest belongs to the commands after it.
    pub consumed: usize,
    /// The body is complete.
    pub done: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DataState {
    /// At the start of a line (after CRLF, or at the start of the body).
    LineStart,
    /// Saw `.` at the start of a line.
    Dot,
    /// Saw `.` CR at the start of a line.
    DotCr,
    /// Inside a line.
    Text,
    /// Saw CR inside a line.
    Cr,
    /// Saw CRLF `.` CRLF.
    Done,
}

/// Receives the body after `DATA`/`354`: removes dot-stuffing and stops at
/// CRLF `.` CRLF, the only terminator (RFC 5321 §4.1.1.4).
///
/// A bare LF or bare CR anywhere in the body is recorded
/// ([`DataReceiver::bare_line_ending`]) and ends the output, but framing goes
/// on until the real CRLF `.` CRLF: `LF . CRLF`, `CR . CR` and friends never
/// end the body, which is the defence against SMTP smuggling (RFC 5321 §2.3.8
/// forbids bare CR and LF). Output also stops once more than `max_size`
/// unstuffed bytes were seen; the first `max_size` bytes are still output.
#[derive(Clone, Debug)]
pub struct DataReceiver {
    state: DataState,
    size: u64,
    max_size: u64,
    bare_line_ending: bool,
}

impl DataReceiver {
    /// A receiver that outputs at most `max_size` bytes.
    pub fn new(max_size: u64) -> Self {
        DataReceiver {
            state: DataState::LineStart,
            size: 0,
            max_size,
            bare_line_ending: false,
        }
    }

    /// Unstuffed body bytes seen so far (counting on past `max_size`, but not
    /// past a bare line ending).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// More than `max_size` bytes were seen.
    pub fn size_exceeded(&self) -> bool {
        self.size > self.max_size
    }

    /// A bare CR or bare LF was seen.
    pub fn bare_line_ending(&self) -> bool {
        self.bare_line_ending
    }

    /// The terminator was seen.
    pub fn is_done(&self) -> bool {
        self.state == DataState::Done
    }

    fn emit(&mut self, bytes: &[u8], out: &mut BytesMut) {
        if self.bare_line_ending {
            return;
        }
        let room = self.max_size.saturating_sub(self.size);
        let take = usize::try_from(room).map_or(bytes.len(), |room| room.min(bytes.len()));
        out.extend_from_slice(bytes.get(..take).unwrap_or(bytes));
        self.size = self.size.saturating_add(bytes.len() as u64);
    }

    fn bare(&mut self) {
        self.bare_line_ending = true;
    }

    /// Consumes body bytes from `input`, appending unstuffed content to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) -> DataProgress {
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            match self.state {
                DataState::Done => break,
                DataState::LineStart => {
                    if b == b'.' {
                        self.state = DataState::Dot;
                        i += 1;
                    } else {
                        self.state = DataState::Text;
                    }
                }
                // RFC 5321 §4.5.2: a leading dot is removed; the rest of the
                // line is ordinary text.
                DataState::Dot => {
                    if b == b'\r' {
                        self.state = DataState::DotCr;
                        i += 1;
                    } else {
                        self.state = DataState::Text;
                    }
                }
                DataState::DotCr => {
                    if b == b'\n' {
                        self.state = DataState::Done;
                        i += 1;
                        return DataProgress {
                            consumed: i,
                            done: true,
                        };
                    }
                    self.bare();
                    self.emit(b"\r", out);
                    self.state = DataState::Text;
                }
                DataState::Cr => {
                    if b == b'\n' {
                        self.emit(b"\r\n", out);
                        self.state = DataState::LineStart;
                        i += 1;
                    } else {
                        self.bare();
                        self.emit(b"\r", out);
                        self.state = DataState::Text;
                    }
                }
                DataState::Text => {
                    // Hot path: scan for CR/LF with memchr and keep one run
                    // of output going across ordinary lines; the output is
                    // only cut where a line starts with a dot (to drop it),
                    // at a bare CR/LF, or at the end of the input.
                    let rest = input.get(i..).unwrap_or_default();
                    let mut scan = 0;
                    loop {
                        let Some(k) =
                            memchr::memchr2(b'\r', b'\n', rest.get(scan..).unwrap_or_default())
                        else {
                            self.emit(rest, out);
                            i += rest.len();
                            break;
                        };
                        let p = scan + k;
                        if rest.get(p) == Some(&b'\n') {
                            // A bare LF: not a line end, so `LF . CRLF` is text.
                            self.emit(rest.get(..p).unwrap_or_default(), out);
                            self.bare();
                            self.emit(b"\n", out);
                            i += p + 1;
                            break;
                        }
                        match rest.get(p + 1) {
                            // CR at the end of the input: decide with the next byte.
                            None => {
                                self.emit(rest.get(..p).unwrap_or_default(), out);
                                self.state = DataState::Cr;
                                i += p + 1;
                                break;
                            }
                            Some(b'\n') => match rest.get(p + 2) {
                                Some(b'.') | None => {
                                    self.emit(rest.get(..p + 2).unwrap_or_default(), out);
                                    self.state = DataState::LineStart;
                                    i += p + 2;
                                    break;
                                }
                                Some(_) => scan = p + 2,
                            },
                            Some(_) => {
                                // A bare CR.
                                self.emit(rest.get(..p).unwrap_or_default(), out);
                                self.bare();
                                self.emit(b"\r", out);
                                i += p + 1;
                                break;
                            }
                        }
                    }
                }
            }
        }
        DataProgress {
            consumed: i,
            done: self.state == DataState::Done,
        }
    }
}

/// Receives one BDAT chunk (RFC 3030 §2): exactly `size` raw octets, no
/// dot-stuffing, no terminator. With `discard` the octets are counted but not
/// output (a refused or oversized chunk must still be framed).
#[derive(Clone, Debug)]
pub struct BdatReceiver {
    remaining: u64,
    discard: bool,
}

impl BdatReceiver {
    /// A receiver for a chunk of `size` octets.
    pub fn new(size: u64, discard: bool) -> Self {
        BdatReceiver {
            remaining: size,
            discard,
        }
    }

    /// Octets of the chunk still to come.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Whether the chunk's octets are thrown away.
    pub fn is_discarding(&self) -> bool {
        self.discard
    }

    /// Consumes chunk octets from `input`, appending them to `out` unless discarding.
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) -> DataProgress {
        let take = usize::try_from(self.remaining).map_or(input.len(), |r| r.min(input.len()));
        if !self.discard {
            out.extend_from_slice(input.get(..take).unwrap_or_default());
        }
        self.remaining -= take as u64;
        DataProgress {
            consumed: take,
            done: self.remaining == 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` whole; returns (output, consumed, done, bare, exceeded).
    fn whole(input: &[u8], max: u64) -> (Vec<u8>, usize, bool, bool, bool) {
        let mut rx = DataReceiver::new(max);
        let mut out = BytesMut::new();
        let p = rx.feed(input, &mut out);
        (
            out.to_vec(),
            p.consumed,
            p.done,
            rx.bare_line_ending(),
            rx.size_exceeded(),
        )
    }

    #[test]
    fn unstuffing_known_answers() {
        // (input, output, consumed, done, bare)
        type Row = (&'static [u8], &'static [u8], usize, bool, bool);
        let table: &[Row] = &[
            (b".\r\n", b"", 3, true, false),
            (b"a\r\n.\r\nMAIL", b"a\r\n", 6, true, false),
            (b"..a\r\n.\r\n", b".a\r\n", 8, true, false),
            (b"a\r\n..\r\n.\r\n", b"a\r\n.\r\n", 10, true, false),
            (b"a\r\n...\r\n.\r\n", b"a\r\n..\r\n", 11, true, false),
            (b"a.b\r\n.x\r\n.\r\n", b"a.b\r\nx\r\n", 12, true, false),
            (b"no end\r\n", b"no end\r\n", 8, false, false),
            // Smuggling attempts: none of these end the body.
            (b"a\n.\r\nMAIL", b"a", 9, false, true),
            (b"a\r\n.\nMAIL", b"a\r\n", 9, false, true),
            (b"a\r.\rMAIL", b"a", 8, false, true),
            (b"a\r\n.\rMAIL", b"a\r\n", 9, false, true),
            (b"a\n.\n", b"a", 4, false, true),
            // A bare LF, then the real end.
            (b"a\nb\r\n.\r\nX", b"a", 8, true, true),
        ];
        for (input, output, consumed, done, bare) in table {
            let got = whole(input, u64::MAX);
            assert_eq!(
                (got.0.as_slice(), got.1, got.2, got.3),
                (*output, *consumed, *done, *bare),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn every_split_gives_the_same_output() {
        let inputs: &[&[u8]] = &[
            b"Subject: x\r\n\r\n..dot\r\n.\r\n",
            b"a\r\n..\r\n.x\r\n\r\n.\r\nQUIT\r\n",
            b"a\n.\r\nb\r.\r\nc\r\n.\r\n",
            b"\r\r\n.\r\r\n.\r\n",
        ];
        for input in inputs {
            for max in [u64::MAX, 3] {
                let want = whole(input, max);
                for cut in 0..=input.len() {
                    let (a, b) = input.split_at(cut);
                    let mut rx = DataReceiver::new(max);
                    let mut out = BytesMut::new();
                    let p1 = rx.feed(a, &mut out);
                    let mut consumed = p1.consumed;
                    let mut done = p1.done;
                    if !done {
                        let p2 = rx.feed(b, &mut out);
                        consumed += p2.consumed;
                        done = p2.done;
                    }
                    let got = (
                        out.to_vec(),
                        consumed,
                        done,
                        rx.bare_line_ending(),
                        rx.size_exceeded(),
                    );
                    assert_eq!(
                        got,
                        want,
                        "cut {cut} of {:?}",
                        String::from_utf8_lossy(input)
                    );
                }
            }
        }
    }

    #[test]
    fn size_limit_truncates_and_keeps_framing() {
        let (out, consumed, done, bare, exceeded) = whole(b"12345\r\n.\r\nQUIT", 4);
        assert_eq!(
            (out.as_slice(), consumed, done, bare, exceeded),
            (&b"1234"[..], 10, true, false, true)
        );
        let (out, _, done, _, exceeded) = whole(b"1234\r\n.\r\n", 6);
        assert_eq!(
            (out.as_slice(), done, exceeded),
            (&b"1234\r\n"[..], true, false)
        );
    }

    #[test]
    fn bdat_counts_down() {
        let mut rx = BdatReceiver::new(5, false);
        let mut out = BytesMut::new();
        assert_eq!(
            rx.feed(b"ab", &mut out),
            DataProgress {
                consumed: 2,
                done: false
            }
        );
        assert_eq!(
            rx.feed(b"c\r\nQUIT", &mut out),
            DataProgress {
                consumed: 3,
                done: true
            }
        );
        assert_eq!(&out[..], b"abc\r\n");
        let mut rx = BdatReceiver::new(0, false);
        assert_eq!(
            rx.feed(b"", &mut out),
            DataProgress {
                consumed: 0,
                done: true
            }
        );
        let mut rx = BdatReceiver::new(3, true);
        let mut out = BytesMut::new();
        assert_eq!(
            rx.feed(b"xyzw", &mut out),
            DataProgress {
                consumed: 3,
                done: true
            }
        );
        assert!(out.is_empty());
    }
}
