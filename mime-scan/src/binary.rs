//! A streaming converter that re-encodes `Content-Transfer-Encoding:
//! binary` parts as base64 (RFC 2045 §6.8), leaving every other octet as
//! it was.
//!
//! An IMAP server that receives a message in a `literal8` (RFC 3516 §4.4,
//! `APPEND ~{N}`) may store it in a form its mailbox format holds; a
//! Maildir file is an RFC 5322 message, so binary parts are converted the
//! way Dovecot converts them, and `BINARY[...]` gives the original octets
//! back. Memory is bounded whatever the input: one header block of at
//! most [`MAX_HEADER`] octets, one line start of at most
//! [`MAX_BOUNDARY`] + 8 octets and the boundary stack ([`MAX_DEPTH`]
//! deep). A header block longer than that, or nesting deeper, stops the
//! conversion: the rest passes through unchanged.
//!
//! ```
//! use mime_scan::BinaryToBase64;
//!
//! let mut c = BinaryToBase64::new();
//! let mut out = Vec::new();
//! c.feed(b"Content-Transfer-Encoding: binary\r\n\r\n\x00\xff", &mut out);
//! c.finish(&mut out);
//! assert_eq!(out, b"Content-Transfer-Encoding: base64\r\n\r\nAP8=\r\n");
//! ```

use crate::{MAX_BOUNDARY, MAX_DEPTH};

/// Largest header block looked at (a longer one ends the conversion).
pub const MAX_HEADER: usize = 64 * 1024;

/// Base64 line length (RFC 2045 §6.8: at most 76 characters).
const LINE: usize = 76;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Reading a header block (the message's or a part's).
    Header,
    /// A body: `encode` for a binary leaf.
    Body { encode: bool },
    /// Conversion given up: everything passes through.
    Through,
}

/// The streaming converter. See the module docs.
#[derive(Debug)]
pub struct BinaryToBase64 {
    mode: Mode,
    /// Enclosing multipart boundaries, innermost last.
    boundaries: Vec<Vec<u8>>,
    /// Header mode: the header block so far.
    head: Vec<u8>,
    /// Body mode: the start of the current line, held while it may still
    /// be a boundary line.
    hold: Vec<u8>,
    /// Body mode: at the start of a line (`hold` is in use).
    line_start: bool,
    /// Body mode: the line break before `hold` (it belongs to a boundary
    /// that follows, RFC 2046 §5.1.1), `""`, `"\n"` or `"\r\n"`; a lone
    /// `"\r"` while waiting for its LF.
    eol: Vec<u8>,
    /// Base64 state: pending octets and the current output column.
    carry: [u8; 3],
    carried: usize,
    col: usize,
    /// A boundary line ended in CR: its LF passes through.
    skip_lf: bool,
}

impl Default for BinaryToBase64 {
    fn default() -> Self {
        Self::new()
    }
}

impl BinaryToBase64 {
    /// A converter at the start of a message.
    #[must_use]
    pub fn new() -> Self {
        BinaryToBase64 {
            mode: Mode::Header,
            boundaries: Vec::new(),
            head: Vec::new(),
            hold: Vec::new(),
            line_start: true,
            eol: Vec::new(),
            carry: [0; 3],
            carried: 0,
            col: 0,
            skip_lf: false,
        }
    }

    /// Converts the next octets of the message, appending to `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() {
            if std::mem::take(&mut self.skip_lf) && input[0] == b'\n' {
                out.push(b'\n');
                input = &input[1..];
                if let Mode::Body { .. } = self.mode {
                    self.line_start = true;
                }
                continue;
            }
            match self.mode {
                Mode::Through => {
                    out.extend_from_slice(input);
                    return;
                }
                Mode::Header => {
                    let n = self.header_step(input, out);
                    input = &input[n..];
                }
                Mode::Body { encode } => {
                    let b = input[0];
                    input = &input[1..];
                    self.body_byte(b, encode, out);
                }
            }
        }
    }

    /// Ends the message: flushes what is held and pads the base64.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        match self.mode {
            Mode::Header => out.extend_from_slice(&self.head),
            Mode::Body { encode } => {
                let eol = std::mem::take(&mut self.eol);
                let hold = std::mem::take(&mut self.hold);
                self.data(&eol, encode, out);
                self.data(&hold, encode, out);
                if encode {
                    self.end_base64(out);
                }
            }
            Mode::Through => {}
        }
    }

    /// Header mode: takes octets up to the end of the header block.
    fn header_step(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        let mut used = 0;
        for &b in input {
            used += 1;
            self.head.push(b);
            let h = &self.head;
            let ended = b == b'\n'
                && (h.len() == 1 || h.ends_with(b"\n\n") || h.ends_with(b"\n\r\n") || h == b"\r\n");
            if ended {
                self.end_header(out);
                return used;
            }
            if self.head.len() > MAX_HEADER {
                out.append(&mut self.head);
                self.mode = Mode::Through;
                return used;
            }
        }
        used
    }

    /// A header block is complete: decide what its body is.
    fn end_header(&mut self, out: &mut Vec<u8>) {
        let head = std::mem::take(&mut self.head);
        let fields = Fields::parse(&head);
        let ctype = fields.value(b"content-type").unwrap_or_default();
        let (mtype, boundary) = content_type(&ctype);
        let cte = fields
            .value(b"content-transfer-encoding")
            .unwrap_or_default();
        let cte = cte.trim_ascii().to_ascii_lowercase();
        self.line_start = true;
        self.eol.clear();
        self.hold.clear();
        if mtype.starts_with(b"multipart/") {
            if let Some(b) = boundary.filter(|b| b.len() <= MAX_BOUNDARY) {
                if self.boundaries.len() >= MAX_DEPTH {
                    out.extend_from_slice(&head);
                    self.mode = Mode::Through;
                    return;
                }
                self.boundaries.push(b);
            }
            out.extend_from_slice(&head);
            self.mode = Mode::Body { encode: false };
        } else if (mtype == b"message/rfc822" || mtype == b"message/global")
            && matches!(cte.as_slice(), b"" | b"7bit" | b"8bit" | b"binary")
        {
            // The encapsulated message's header follows at once.
            out.extend_from_slice(&head);
            self.mode = Mode::Header;
        } else if cte == b"binary" {
            out.extend_from_slice(&fields.with_cte_base64(&head));
            self.mode = Mode::Body { encode: true };
        } else {
            out.extend_from_slice(&head);
            self.mode = Mode::Body { encode: false };
        }
    }

    /// Body mode, one octet.
    fn body_byte(&mut self, b: u8, encode: bool, out: &mut Vec<u8>) {
        if self.eol == b"\r" {
            if b == b'\n' {
                self.eol.push(b'\n');
                self.line_start = true;
                return;
            }
            // A lone CR is data.
            self.eol.clear();
            self.data(b"\r", encode, out);
        }
        if self.line_start {
            if b == b'\n' || b == b'\r' {
                if let Some((depth, close)) = self.boundary_line() {
                    self.boundary(depth, close, b, encode, out);
                    return;
                }
                // The line ended without being a boundary.
                self.flush_line(encode, out);
                self.eol.push(b);
                self.line_start = b == b'\n';
                return;
            }
            self.hold.push(b);
            match self.boundary_match() {
                Match::Maybe => return,
                Match::No => {
                    self.flush_line(encode, out);
                    self.line_start = false;
                    return;
                }
            }
        }
        if b == b'\n' || b == b'\r' {
            self.eol.push(b);
            self.line_start = b == b'\n';
            return;
        }
        self.data(&[b], encode, out);
    }

    /// `hold` is the boundary line of `boundaries[depth]`, ended by `end`
    /// (CR or LF): the base64 ends before the line break that precedes
    /// it (RFC 2046 §5.1.1), the line passes through, and a part header
    /// (or, after a close delimiter, the enclosing body) follows.
    fn boundary(&mut self, depth: usize, close: bool, end: u8, encode: bool, out: &mut Vec<u8>) {
        if encode {
            self.end_base64(out);
        }
        out.append(&mut self.eol);
        out.append(&mut self.hold);
        out.push(end);
        if close {
            self.boundaries.truncate(depth);
            self.mode = Mode::Body { encode: false };
        } else {
            self.boundaries.truncate(depth + 1);
            self.mode = Mode::Header;
        }
        self.skip_lf = end == b'\r';
        self.line_start = end == b'\n';
    }

    /// The held line start is not a boundary: emit the line break before
    /// it and it as data.
    fn flush_line(&mut self, encode: bool, out: &mut Vec<u8>) {
        let eol = std::mem::take(&mut self.eol);
        let hold = std::mem::take(&mut self.hold);
        self.data(&eol, encode, out);
        self.data(&hold, encode, out);
    }

    /// Whether `hold` can still become a boundary line; a complete one is
    /// handled here (it needs the line's end, so it is checked when the
    /// line is known to continue only with `-`, white space and CR).
    fn boundary_match(&mut self) -> Match {
        let h = &self.hold;
        if h.len() > MAX_BOUNDARY + 8 {
            return Match::No;
        }
        let Some(rest) = h.strip_prefix(b"--") else {
            return if b"--".starts_with(h) {
                Match::Maybe
            } else {
                Match::No
            };
        };
        for b in self.boundaries.iter().rev() {
            if b.starts_with(rest) {
                return Match::Maybe;
            }
            if let Some(tail) = rest.strip_prefix(b.as_slice())
                && tail.iter().all(|c| matches!(c, b'-' | b' ' | b'\t'))
            {
                return Match::Maybe;
            }
        }
        Match::No
    }

    /// Octets of a body: encoded or passed through.
    fn data(&mut self, bytes: &[u8], encode: bool, out: &mut Vec<u8>) {
        if !encode {
            out.extend_from_slice(bytes);
            return;
        }
        for &b in bytes {
            self.carry[self.carried] = b;
            self.carried += 1;
            if self.carried == 3 {
                self.emit_quad(out);
            }
        }
    }

    fn emit_quad(&mut self, out: &mut Vec<u8>) {
        let [a, b, c] = self.carry;
        let n = self.carried;
        let v = (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c);
        let sym = |i: u32| ALPHABET[((v >> (18 - 6 * i)) & 63) as usize];
        out.push(sym(0));
        out.push(sym(1));
        out.push(if n > 1 { sym(2) } else { b'=' });
        out.push(if n > 2 { sym(3) } else { b'=' });
        self.carry = [0; 3];
        self.carried = 0;
        self.col += 4;
        if self.col >= LINE {
            out.extend_from_slice(b"\r\n");
            self.col = 0;
        }
    }

    /// Pads the last group and ends the last base64 line.
    fn end_base64(&mut self, out: &mut Vec<u8>) {
        if self.carried > 0 {
            self.emit_quad(out);
        }
        if self.col > 0 {
            out.extend_from_slice(b"\r\n");
            self.col = 0;
        }
    }
}

enum Match {
    Maybe,
    No,
}

impl BinaryToBase64 {
    /// When `hold` is a whole boundary line (`--b`, or `--b--` to close),
    /// the index of its boundary in the stack and whether it closes.
    fn boundary_line(&self) -> Option<(usize, bool)> {
        let rest = self.hold.strip_prefix(b"--")?;
        for (i, b) in self.boundaries.iter().enumerate().rev() {
            if let Some(tail) = rest.strip_prefix(b.as_slice()) {
                let close = tail.starts_with(b"--");
                let tail = if close { &tail[2..] } else { tail };
                if tail.iter().all(|c| matches!(c, b' ' | b'\t')) {
                    return Some((i, close));
                }
            }
        }
        None
    }
}

/// Header fields of one block: (name start, field end) offsets.
struct Fields<'a> {
    head: &'a [u8],
    spans: Vec<(usize, usize, usize)>,
}

impl<'a> Fields<'a> {
    fn parse(head: &'a [u8]) -> Fields<'a> {
        let mut spans = Vec::new();
        let mut pos = 0;
        while pos < head.len() {
            if head[pos] == b'\r' || head[pos] == b'\n' {
                break;
            }
            let start = pos;
            // The field runs until a line break followed by a non-WSP octet.
            let mut end = head.len();
            let mut p = pos;
            while let Some(n) = head[p..].iter().position(|c| *c == b'\n') {
                let next = p + n + 1;
                match head.get(next) {
                    Some(b' ' | b'\t') => p = next,
                    _ => {
                        end = next;
                        break;
                    }
                }
            }
            let colon = head[start..end]
                .iter()
                .position(|c| *c == b':')
                .map_or(end, |c| start + c);
            spans.push((start, colon, end));
            pos = end;
        }
        Fields { head, spans }
    }

    /// The unfolded value of the first field called `name` (lower case).
    fn value(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.spans.iter().find_map(|&(s, c, e)| {
            let n = self.head[s..c].trim_ascii();
            if !n.eq_ignore_ascii_case(name) || c >= e {
                return None;
            }
            Some(
                self.head[c + 1..e]
                    .iter()
                    .copied()
                    .filter(|b| *b != b'\r' && *b != b'\n')
                    .collect(),
            )
        })
    }

    /// The block with every Content-Transfer-Encoding field replaced by
    /// `Content-Transfer-Encoding: base64`.
    fn with_cte_base64(&self, head: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(head.len() + 8);
        let mut last = 0;
        for &(s, c, e) in &self.spans {
            if head[s..c]
                .trim_ascii()
                .eq_ignore_ascii_case(b"content-transfer-encoding")
            {
                out.extend_from_slice(&head[last..s]);
                out.extend_from_slice(b"Content-Transfer-Encoding: base64");
                out.extend_from_slice(if head[..e].ends_with(b"\r\n") {
                    b"\r\n"
                } else {
                    b"\n"
                });
                last = e;
            }
        }
        out.extend_from_slice(&head[last..]);
        out
    }
}

/// `type/subtype` (lower case) and the `boundary` parameter of a
/// Content-Type value.
fn content_type(v: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut parts = v.split(|c| *c == b';');
    let mtype = parts
        .next()
        .unwrap_or_default()
        .trim_ascii()
        .to_ascii_lowercase();
    let mut boundary = None;
    for p in parts {
        let Some(eq) = p.iter().position(|c| *c == b'=') else {
            continue;
        };
        if !p[..eq].trim_ascii().eq_ignore_ascii_case(b"boundary") {
            continue;
        }
        let val = p[eq + 1..].trim_ascii();
        let val = val
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(val);
        if !val.is_empty() {
            boundary = Some(val.to_vec());
        }
        break;
    }
    (mtype, boundary)
}

#[cfg(test)]
mod tests;
