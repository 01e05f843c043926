//! Content-Transfer-Encoding decoding over chunks (RFC 2045 §6), for
//! `BINARY[...]` (RFC 3516) and body SEARCH keys on messages that are not
//! held in memory.
//!
//! [`CteDecoder`] gives, for any split of the input into chunks, exactly the
//! octets of mail-parser 0.11's whole-buffer decoders
//! (`base64_decode`, `quoted_printable_decode`), which the in-memory paths
//! use, so streamed and buffered answers are byte-identical. Those
//! decoders return nothing at all for some damaged input; a streaming
//! decoder cannot take back what it emitted, so it reports
//! [`CteDecoder::failed`] and callers that need the whole-buffer answer run
//! a counting pass first (BINARY announces the literal size before the
//! octets anyway).
//!
//! Memory: a few bytes of state, plus the whitespace at the end of the
//! current quoted-printable line (which RFC 2045 §6.7 rule 3 drops when
//! the line ends), capped at [`MAX_PENDING_WHITESPACE`].

use super::section::BinaryError;

/// Trailing whitespace of one quoted-printable line kept back until the
/// line ends (it is dropped before a line break). A longer run is let out
/// early, the one place where a stream could differ from the whole-buffer
/// decoder: it would need a line of more than 64 KiB of blanks.
pub const MAX_PENDING_WHITESPACE: usize = 64 * 1024;

/// A Content-Transfer-Encoding that BINARY can remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cte {
    /// `7bit`, `8bit`, `binary` or none: the octets as they are.
    Identity,
    /// `base64` (RFC 2045 §6.8).
    Base64,
    /// `quoted-printable` (RFC 2045 §6.7).
    QuotedPrintable,
}

impl Cte {
    /// The encoding a Content-Transfer-Encoding field value names.
    ///
    /// # Errors
    /// [`BinaryError::UnknownCte`] for anything but the five encodings of
    /// RFC 2045 §6.1.
    pub fn from_field(value: &[u8]) -> Result<Cte, BinaryError> {
        let e = super::header::trim(value).to_ascii_lowercase();
        match e.as_slice() {
            b"" | b"7bit" | b"8bit" | b"binary" => Ok(Cte::Identity),
            b"base64" => Ok(Cte::Base64),
            b"quoted-printable" => Ok(Cte::QuotedPrintable),
            _ => Err(BinaryError::UnknownCte(e)),
        }
    }
}

const B64_INVALID: u8 = 0xff;

/// mail-parser's base64 alphabet table (RFC 4648 §4).
static BASE64_DECODE: [u8; 256] = base64_table();

const fn base64_table() -> [u8; 256] {
    let mut table = [B64_INVALID; 256];
    let mut value = 0u8;
    while value < 64 {
        let ch = match value {
            0..=25 => b'A' + value,
            26..=51 => b'a' + (value - 26),
            52..=61 => b'0' + (value - 52),
            62 => b'+',
            _ => b'/',
        };
        table[ch as usize] = value;
        value += 1;
    }
    table
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum QpState {
    None,
    Eq,
    Hex1(u8),
}

/// A Content-Transfer-Encoding decoder fed in chunks. See the module docs.
#[derive(Clone, Debug)]
pub struct CteDecoder {
    cte: Cte,
    failed: bool,
    // base64
    chunk: u32,
    count: u8,
    /// mail-parser stops at an octet 0xFF (its "stop character").
    stopped: bool,
    // quoted-printable
    qp: QpState,
    /// Seen a CR: line breaks are written CRLF from then on, as
    /// mail-parser does.
    crlf: bool,
    /// Whitespace after the last other octet of the current line.
    blanks: Vec<u8>,
}

impl CteDecoder {
    /// A decoder for `cte`.
    #[must_use]
    pub fn new(cte: Cte) -> Self {
        CteDecoder {
            cte,
            failed: false,
            chunk: 0,
            count: 0,
            stopped: false,
            qp: QpState::None,
            crlf: false,
            blanks: Vec::new(),
        }
    }

    /// True once the input is damaged in a way that makes the whole-buffer
    /// decoder return nothing: what was emitted should then be discarded
    /// (BINARY sends the empty string, SEARCH reads the part undecoded).
    /// Nothing more is emitted after that.
    #[must_use]
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Decodes `input`, appending the octets to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if self.failed {
            return;
        }
        match self.cte {
            Cte::Identity => out.extend_from_slice(input),
            Cte::Base64 => self.base64(input, out),
            Cte::QuotedPrintable => self.quoted_printable(input, out),
        }
    }

    /// Ends the input: appends what was held back.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.failed {
            return;
        }
        match self.cte {
            Cte::Identity => {}
            Cte::Base64 => self.base64_flush(out),
            Cte::QuotedPrintable => out.append(&mut self.blanks),
        }
    }

    fn base64_flush(&mut self, out: &mut Vec<u8>) {
        match self.count {
            2 => out.push((self.chunk >> 4) as u8),
            3 => out.extend_from_slice(&[(self.chunk >> 10) as u8, (self.chunk >> 2) as u8]),
            _ => {}
        }
        self.count = 0;
    }

    fn base64(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if self.stopped {
            return;
        }
        for &ch in input {
            let val = BASE64_DECODE[ch as usize];
            if val < 0x40 {
                self.chunk = (self.chunk << 6) | u32::from(val);
                self.count = (self.count + 1) & 3;
                if self.count == 0 {
                    out.extend_from_slice(&self.chunk.to_be_bytes()[1..]);
                }
            } else if ch == b'=' {
                self.base64_flush(out);
            } else if matches!(ch, b' ' | b'\t' | b'\r' | b'\n') {
            } else if ch == u8::MAX {
                self.stopped = true;
                return;
            } else {
                self.failed = true;
                return;
            }
        }
    }

    fn quoted_printable(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let hex = |c: u8| {
            let v = mail_parser::decoders::quoted_printable::HEX_MAP[c as usize];
            u8::try_from(v).ok()
        };
        for &ch in input {
            match ch {
                b'=' => {
                    if self.qp == QpState::None {
                        self.qp = QpState::Eq;
                    } else {
                        self.failed = true;
                        return;
                    }
                }
                b'\n' => {
                    if self.qp == QpState::Eq {
                        self.qp = QpState::None;
                        // A soft line break keeps the blanks before it.
                        out.append(&mut self.blanks);
                    } else {
                        // RFC 2045 §6.7 (3): trailing blanks are dropped.
                        self.blanks.clear();
                        out.extend_from_slice(if self.crlf { b"\r\n" } else { b"\n" });
                    }
                }
                b'\r' => self.crlf = true,
                _ => match self.qp {
                    QpState::None => {
                        if ch.is_ascii_whitespace() {
                            if self.blanks.len() >= MAX_PENDING_WHITESPACE {
                                out.append(&mut self.blanks);
                            }
                            self.blanks.push(ch);
                        } else {
                            out.append(&mut self.blanks);
                            out.push(ch);
                        }
                    }
                    QpState::Eq => match hex(ch) {
                        Some(h) => self.qp = QpState::Hex1(h),
                        None if ch.is_ascii_whitespace() => {}
                        None => {
                            self.failed = true;
                            return;
                        }
                    },
                    QpState::Hex1(h1) => match hex(ch) {
                        Some(h2) => {
                            self.qp = QpState::None;
                            out.append(&mut self.blanks);
                            out.push((h1 << 4) | h2);
                        }
                        None => {
                            self.failed = true;
                            return;
                        }
                    },
                },
            }
        }
    }
}

/// Decodes a whole buffer with [`CteDecoder`] (`None` when it failed), in
/// chunks of `chunk` octets: the tests compare this with mail-parser.
#[cfg(test)]
pub(crate) fn decode_chunked(cte: Cte, input: &[u8], chunk: usize) -> Option<Vec<u8>> {
    let mut d = CteDecoder::new(cte);
    let mut out = Vec::new();
    for c in input.chunks(chunk.max(1)) {
        d.feed(c, &mut out);
    }
    d.finish(&mut out);
    (!d.failed()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(cte: Cte, input: &[u8]) -> Option<Vec<u8>> {
        match cte {
            Cte::Identity => Some(input.to_vec()),
            Cte::Base64 => mail_parser::decoders::base64::base64_decode(input),
            Cte::QuotedPrintable => {
                mail_parser::decoders::quoted_printable::quoted_printable_decode(input)
            }
        }
    }

    const SAMPLES: &[&[u8]] = &[
        b"",
        b"aGVsbG8gd29ybGQ=\r\n",
        b"aGVs\r\nbG8g\r\nd29y\r\nbGQ",
        b"aGVsbG8=d29ybGQ=",
        b"aGV sbG8\tgd29y bGQ==",
        b"aGVs*bG8=",
        b"aGVs\xffgarbage!!",
        b"a",
        b"ab",
        b"abc",
        b"=",
        b"hello=20world=\r\nnext line  \r\nlast=3D=3d  ",
        b"soft =\r\nbreak\nbare lf  \n\ttabs\t \r\n",
        b"bad ==",
        b"bad =G1",
        b"bad =4G",
        b"=  \r\nws after eq",
        b"=\r\n",
        b"trailing = ",
        b"caf=C3=A9 =E2=82=AC\r\n",
        b"\r\r\n\n  \x0c\r\n",
        b"end with blanks   ",
    ];

    #[test]
    fn chunked_decoding_matches_mail_parser_at_every_split() {
        for cte in [Cte::Base64, Cte::QuotedPrintable, Cte::Identity] {
            for s in SAMPLES {
                let want = whole(cte, s);
                for chunk in [1, 2, 3, 7, 4096] {
                    assert_eq!(
                        decode_chunked(cte, s, chunk),
                        want,
                        "{cte:?} {:?} in chunks of {chunk}",
                        String::from_utf8_lossy(s)
                    );
                }
                // Every two-piece split.
                for cut in 0..=s.len() {
                    let mut d = CteDecoder::new(cte);
                    let mut out = Vec::new();
                    d.feed(&s[..cut], &mut out);
                    d.feed(&s[cut..], &mut out);
                    d.finish(&mut out);
                    assert_eq!(
                        (!d.failed()).then_some(out),
                        want,
                        "{cte:?} {s:?} cut {cut}"
                    );
                }
            }
        }
    }

    #[test]
    fn field_values() {
        assert_eq!(Cte::from_field(b" Base64 "), Ok(Cte::Base64));
        assert_eq!(
            Cte::from_field(b"QUOTED-PRINTABLE"),
            Ok(Cte::QuotedPrintable)
        );
        assert_eq!(Cte::from_field(b""), Ok(Cte::Identity));
        assert_eq!(Cte::from_field(b"8bit"), Ok(Cte::Identity));
        assert_eq!(
            Cte::from_field(b"x-uuencode"),
            Err(BinaryError::UnknownCte(b"x-uuencode".to_vec()))
        );
    }
}
