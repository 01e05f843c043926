//! Just enough IMAP response framing for a load generator: split the
//! server's byte stream into whole responses, skip literals, and tell a
//! tagged completion from untagged data and continuation requests.
//!
//! RFC 9051 §7 (and RFC 3501 §7): every response is a line ending in CRLF,
//! except that a line ending in a literal announcement `{n}` CRLF continues
//! after `n` octets of literal data (§4.3). The framer keeps the text of
//! the lines and only counts literal octets, so a `FETCH BODY[]` of a large
//! message costs no memory here. It is not a parser: the bench only needs
//! the tag, the status word and a few untagged words (`EXISTS`).

/// A line longer than this (without literals) is an error: a runaway or
/// hostile server must not grow the generator without bound.
pub const MAX_LINE: usize = 1024 * 1024;

/// One complete server response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// The response's text, CRLFs removed; each literal's data is left
    /// out, its `{n}` announcement stays, and the line continues after it.
    pub text: Vec<u8>,
    /// The literal octets that were skipped.
    pub literal_octets: u64,
}

/// The status word of a tagged or untagged status response (RFC 9051 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `OK`
    Ok,
    /// `NO`
    No,
    /// `BAD`
    Bad,
    /// `PREAUTH`
    PreAuth,
    /// `BYE`
    Bye,
}

impl Response {
    /// The tag of a tagged response; `None` for `*` and `+`.
    #[must_use]
    pub fn tag(&self) -> Option<&[u8]> {
        let first = first_word(&self.text);
        (!first.is_empty() && first != b"*" && first != b"+").then_some(first)
    }

    /// Whether this is a continuation request (`+ ...`, RFC 9051 §7.5).
    #[must_use]
    pub fn is_continuation(&self) -> bool {
        self.text.first() == Some(&b'+')
    }

    /// The status word after the tag or `*`, if it is one.
    #[must_use]
    pub fn status(&self) -> Option<Status> {
        let rest = after_word(&self.text);
        let word = first_word(rest);
        match word.to_ascii_uppercase().as_slice() {
            b"OK" => Some(Status::Ok),
            b"NO" => Some(Status::No),
            b"BAD" => Some(Status::Bad),
            b"PREAUTH" => Some(Status::PreAuth),
            b"BYE" => Some(Status::Bye),
            _ => None,
        }
    }

    /// For `* <n> <word> ...`: `n` when the word equals `word`
    /// (case-insensitive), e.g. `EXISTS` or `FETCH`.
    #[must_use]
    pub fn untagged_number(&self, word: &str) -> Option<u64> {
        if first_word(&self.text) != b"*" {
            return None;
        }
        let rest = after_word(&self.text);
        let n = std::str::from_utf8(first_word(rest)).ok()?.parse().ok()?;
        first_word(after_word(rest))
            .eq_ignore_ascii_case(word.as_bytes())
            .then_some(n)
    }

    /// The text lossily decoded, for error messages.
    #[must_use]
    pub fn lossy(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }
}

fn first_word(s: &[u8]) -> &[u8] {
    let end = s.iter().position(|&b| b == b' ').unwrap_or(s.len());
    s.get(..end).unwrap_or_default()
}

fn after_word(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == b' ') {
        Some(i) => s.get(i + 1..).unwrap_or_default(),
        None => &[],
    }
}

/// A framing failure: the stream cannot be followed any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// A line grew past [`MAX_LINE`].
    LineTooLong,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::LineTooLong => write!(f, "response line longer than {MAX_LINE} octets"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Incremental response framer: feed it bytes as they arrive.
#[derive(Debug, Default)]
pub struct ResponseFramer {
    current: Response,
    /// Literal octets still to skip before the line continues.
    literal_left: u64,
}

impl ResponseFramer {
    /// A framer at the start of a response.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes bytes from `data` until one response is complete or `data`
    /// is used up; returns the bytes consumed and the response, if one
    /// completed. Call again with the rest of `data`.
    pub fn advance(&mut self, data: &[u8]) -> Result<(usize, Option<Response>), FrameError> {
        let mut used = 0usize;
        loop {
            let rest = data.get(used..).unwrap_or_default();
            if rest.is_empty() {
                return Ok((used, None));
            }
            if self.literal_left > 0 {
                let n = usize::try_from(self.literal_left)
                    .unwrap_or(usize::MAX)
                    .min(rest.len());
                self.literal_left -= n as u64;
                self.current.literal_octets += n as u64;
                used += n;
                continue;
            }
            match rest.iter().position(|&b| b == b'\n') {
                None => {
                    self.push_text(rest)?;
                    return Ok((data.len(), None));
                }
                Some(i) => {
                    self.push_text(rest.get(..i).unwrap_or_default())?;
                    used += i + 1;
                    if self.current.text.last() == Some(&b'\r') {
                        self.current.text.pop();
                    }
                    match literal_announcement(&self.current.text) {
                        // RFC 9051 §4.3: the literal follows the CRLF and
                        // the response line continues after it.
                        Some(n) => self.literal_left = n,
                        None => return Ok((used, Some(std::mem::take(&mut self.current)))),
                    }
                }
            }
        }
    }

    fn push_text(&mut self, bytes: &[u8]) -> Result<(), FrameError> {
        if self.current.text.len() + bytes.len() > MAX_LINE {
            return Err(FrameError::LineTooLong);
        }
        self.current.text.extend_from_slice(bytes);
        Ok(())
    }
}

/// `n` if `line` ends with a literal announcement `{n}` or `{n+}` (RFC 9051
/// §4.3, RFC 7888). After `{0}` the line simply continues.
#[must_use]
pub fn literal_announcement(line: &[u8]) -> Option<u64> {
    let body = line.strip_suffix(b"}")?;
    let body = body.strip_suffix(b"+").unwrap_or(body);
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = body.get(open + 1..)?;
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(framer: &mut ResponseFramer, mut data: &[u8]) -> Vec<Response> {
        let mut out = Vec::new();
        while !data.is_empty() {
            let (n, r) = framer.advance(data).unwrap();
            data = &data[n..];
            out.extend(r);
        }
        out
    }

    #[test]
    fn lines_and_literals_at_every_split() {
        let stream: &[u8] = b"* OK ready\r\n* 1 FETCH (UID 7 BODY[HEADER] {5}\r\nab\r\nc)\r\n+ go\r\nA1 OK done\r\n";
        let expect = [
            Response {
                text: b"* OK ready".to_vec(),
                literal_octets: 0,
            },
            Response {
                text: b"* 1 FETCH (UID 7 BODY[HEADER] {5})".to_vec(),
                literal_octets: 5,
            },
            Response {
                text: b"+ go".to_vec(),
                literal_octets: 0,
            },
            Response {
                text: b"A1 OK done".to_vec(),
                literal_octets: 0,
            },
        ];
        for split in 0..=stream.len() {
            let mut f = ResponseFramer::new();
            let mut got = all(&mut f, &stream[..split]);
            got.extend(all(&mut f, &stream[split..]));
            assert_eq!(got, expect, "split at {split}");
        }
        // One byte at a time.
        let mut f = ResponseFramer::new();
        let got: Vec<Response> = stream.chunks(1).flat_map(|c| all(&mut f, c)).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn one_response_per_call() {
        let mut f = ResponseFramer::new();
        let data = b"* 3 EXISTS\r\nA2 NO [TRYCREATE] no\r\n";
        let (n, r) = f.advance(data).unwrap();
        assert_eq!(n, 12);
        let r = r.unwrap();
        assert_eq!(r.untagged_number("EXISTS"), Some(3));
        assert_eq!(r.untagged_number("FETCH"), None);
        assert_eq!(r.tag(), None);
        let (m, r) = f.advance(&data[n..]).unwrap();
        assert_eq!(m, data.len() - n);
        let r = r.unwrap();
        assert_eq!(r.tag(), Some(&b"A2"[..]));
        assert_eq!(r.status(), Some(Status::No));
    }

    #[test]
    fn words() {
        let r = |t: &str| Response {
            text: t.as_bytes().to_vec(),
            literal_octets: 0,
        };
        assert!(r("+ idling").is_continuation());
        assert_eq!(r("+ idling").tag(), None);
        assert_eq!(r("* BYE later").status(), Some(Status::Bye));
        assert_eq!(r("a ok fine").status(), Some(Status::Ok));
        assert_eq!(r("a BAD x").status(), Some(Status::Bad));
        assert_eq!(r("* PREAUTH x").status(), Some(Status::PreAuth));
        assert_eq!(r("* 2 FETCH (FLAGS ())").status(), None);
        assert_eq!(r("* 2 FETCH (FLAGS ())").untagged_number("fetch"), Some(2));
        assert_eq!(r("").tag(), None);
        assert_eq!(r("").status(), None);
    }

    #[test]
    fn announcements() {
        assert_eq!(literal_announcement(b"x {12}"), Some(12));
        assert_eq!(literal_announcement(b"x {12+}"), Some(12));
        assert_eq!(literal_announcement(b"x {0}"), Some(0));
        assert_eq!(literal_announcement(b"x {}"), None);
        let mut f = ResponseFramer::new();
        let got = all(&mut f, b"* 1 FETCH (BODY[] {0}\r\n)\r\n");
        assert_eq!(got[0].text, b"* 1 FETCH (BODY[] {0})");
        assert_eq!(got.len(), 1);
        assert_eq!(literal_announcement(b"x {1a}"), None);
        assert_eq!(literal_announcement(b"x 12}"), None);
        assert_eq!(literal_announcement(b"x {99999999999999999999}"), None);
    }

    #[test]
    fn line_cap() {
        let mut f = ResponseFramer::new();
        let big = vec![b'a'; MAX_LINE];
        assert_eq!(f.advance(&big).unwrap(), (MAX_LINE, None));
        assert_eq!(f.advance(b"b"), Err(FrameError::LineTooLong));
    }
}
