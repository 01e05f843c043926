//! SMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 2034, RFC 3463).

use std::fmt;

use bytes::BytesMut;

use crate::ParseError;

/// An enhanced mail system status code, `class "." subject "." detail`
/// (RFC 3463 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// `class = "2" / "4" / "5"`: success, persistent transient failure, permanent failure.
    pub class: u8,
    /// `subject = 1*3digit`.
    pub subject: u16,
    /// `detail = 1*3digit`.
    pub detail: u16,
}

impl EnhancedCode {
    /// Parses `"2.1.0"`; `None` if it is not `class.subject.detail` with a
    /// class of 2, 4 or 5 and subject and detail of one to three digits.
    pub fn parse(text: &str) -> Option<EnhancedCode> {
        let mut parts = text.split('.');
        let class = parts.next()?;
        let subject = parts.next()?;
        let detail = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        let class = match class {
            "2" => 2,
            "4" => 4,
            "5" => 5,
            _ => return None,
        };
        Some(EnhancedCode {
            class,
            subject: digits(subject)?,
            detail: digits(detail)?,
        })
    }
}

/// `1*3digit` without a sign or leading `+`.
fn digits(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// One SMTP reply: a three-digit code, an optional enhanced status code and
/// one or more lines of text.
///
/// Encoded as RFC 5321 §4.2.1 `Reply-line`: every line but the last has `-`
/// after the code, and the enhanced code (if any) starts every line's text as
/// RFC 2034 §4 asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The reply code, 200..=599 (RFC 5321 §4.2).
    pub code: u16,
    /// The RFC 3463 enhanced status code; `None` on greetings, EHLO responses
    /// and intermediate (3xx) replies.
    pub enhanced: Option<EnhancedCode>,
    /// The text lines, without code, enhanced code or CRLF. Empty is encoded as
    /// one empty line.
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply; `enhanced` is `"2.1.0"` or `""` for none.
    pub fn new(code: u16, enhanced: &str, text: &str) -> Reply {
        Reply {
            code,
            enhanced: EnhancedCode::parse(enhanced),
            lines: vec![text.to_owned()],
        }
    }

    /// A multi-line reply.
    pub fn with_lines(code: u16, enhanced: &str, lines: Vec<String>) -> Reply {
        Reply {
            code,
            enhanced: EnhancedCode::parse(enhanced),
            lines,
        }
    }

    /// 2xx: the command was accepted (RFC 5321 §4.2.1).
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3xx: more input is expected (354 after DATA, 334 during AUTH).
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// 4xx: transient failure.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5xx: permanent failure.
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// The text lines joined by `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// Appends the wire form. CR and LF inside a line are replaced by spaces so a
    /// reply text can never break the framing; a code outside 100..=999 is
    /// clamped so the line always starts with three digits.
    pub fn encode(&self, out: &mut BytesMut) {
        let code = self.code.clamp(100, 999);
        let single = [String::new()];
        let lines: &[String] = if self.lines.is_empty() {
            &single
        } else {
            &self.lines
        };
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            out.extend_from_slice(code.to_string().as_bytes());
            let sep = if i == last { b' ' } else { b'-' };
            let mut text = String::new();
            if let Some(enhanced) = self.enhanced {
                text.push_str(&enhanced.to_string());
                if !line.is_empty() {
                    text.push(' ');
                }
            }
            text.push_str(line);
            // Always the separator, even before empty text: RFC 4954 §4
            // requires `"334" SP` for an empty challenge.
            out.extend_from_slice(&[sep]);
            out.extend(
                text.bytes()
                    .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
            );
            out.extend_from_slice(b"\r\n");
        }
    }

    /// Parses one complete (possibly multi-line) reply from the start of
    /// `input`; returns it and the number of bytes it used.
    ///
    /// `Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF`
    /// (RFC 5321 §4.2). Lines ending in a bare LF are accepted, as real servers
    /// send them. The enhanced code is taken from the first line when its class
    /// matches the reply code's first digit (RFC 2034 §4) and removed from
    /// every line that repeats it.
    pub fn parse(input: &[u8]) -> Result<(Reply, usize), ParseError> {
        let mut pos = 0;
        let mut code = None;
        let mut raw_lines = Vec::new();
        loop {
            let rest = input.get(pos..).ok_or(ParseError::Incomplete)?;
            let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                return Err(ParseError::Incomplete);
            };
            let line = rest.get(..lf).ok_or(ParseError::Incomplete)?;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            pos += lf + 1;
            let (this_code, more, text) = reply_line(line)?;
            if *code.get_or_insert(this_code) != this_code {
                return Err(ParseError::InvalidReply);
            }
            raw_lines.push(text);
            if !more {
                break;
            }
        }
        let code = code.ok_or(ParseError::InvalidReply)?;
        let enhanced = raw_lines.first().and_then(|first| {
            let token = first.split(' ').next().unwrap_or("");
            EnhancedCode::parse(token).filter(|e| u16::from(e.class) == code / 100)
        });
        let lines = raw_lines
            .into_iter()
            .map(|line| match enhanced {
                Some(e) => {
                    let prefix = e.to_string();
                    match line.strip_prefix(&prefix) {
                        Some("") => String::new(),
                        Some(rest) if rest.starts_with(' ') => {
                            rest.get(1..).unwrap_or("").to_owned()
                        }
                        _ => line,
                    }
                }
                None => line,
            })
            .collect();
        Ok((
            Reply {
                code,
                enhanced,
                lines,
            },
            pos,
        ))
    }
}

/// One `Reply-line` without CRLF: code, whether more lines follow, text.
fn reply_line(line: &[u8]) -> Result<(u16, bool, String), ParseError> {
    // Reply-code = %x32-35 %x30-35 %x30-39 (RFC 5321 §4.2)
    let code_bytes = line.get(..3).ok_or(ParseError::InvalidReply)?;
    if !matches!(code_bytes, [b'2'..=b'5', b'0'..=b'5', b'0'..=b'9']) {
        return Err(ParseError::InvalidReply);
    }
    let code = code_bytes
        .iter()
        .fold(0u16, |acc, &b| acc * 10 + u16::from(b - b'0'));
    let (more, text) = match line.get(3..) {
        None | Some([]) => (false, &[][..]),
        Some([b'-', text @ ..]) => (true, text),
        Some([b' ', text @ ..]) => (false, text),
        Some(_) => return Err(ParseError::InvalidReply),
    };
    let text = std::str::from_utf8(text).map_err(|_| ParseError::InvalidUtf8)?;
    Ok((code, more, text.to_owned()))
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(reply: &Reply) -> String {
        let mut out = BytesMut::new();
        reply.encode(&mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn enhanced_code_known_answers() {
        type Row = (&'static str, Option<(u8, u16, u16)>);
        let table: &[Row] = &[
            ("2.1.0", Some((2, 1, 0))),
            ("5.7.11", Some((5, 7, 11))),
            ("4.123.999", Some((4, 123, 999))),
            ("3.0.0", None),
            ("2.1", None),
            ("2.1.0.0", None),
            ("2.1000.0", None),
            ("2.+1.0", None),
            ("", None),
        ];
        for (input, want) in table {
            let got = EnhancedCode::parse(input).map(|e| (e.class, e.subject, e.detail));
            assert_eq!(got, *want, "{input}");
        }
    }

    #[test]
    fn encode_known_answers() {
        assert_eq!(encoded(&Reply::new(250, "2.1.0", "Ok")), "250 2.1.0 Ok\r\n");
        assert_eq!(
            encoded(&Reply::new(354, "", "Go ahead")),
            "354 Go ahead\r\n"
        );
        assert_eq!(encoded(&Reply::new(250, "", "")), "250 \r\n");
        assert_eq!(
            encoded(&Reply::with_lines(
                250,
                "",
                vec![String::new(), String::new()]
            )),
            "250-\r\n250 \r\n"
        );
        assert_eq!(encoded(&Reply::new(250, "2.0.0", "")), "250 2.0.0\r\n");
        let multi = Reply::with_lines(
            250,
            "",
            vec!["mx".into(), "PIPELINING".into(), "SIZE 10".into()],
        );
        assert_eq!(
            encoded(&multi),
            "250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n"
        );
        let multi = Reply::with_lines(550, "5.1.1", vec!["a".into(), "b".into()]);
        assert_eq!(encoded(&multi), "550-5.1.1 a\r\n550 5.1.1 b\r\n");
        // Reply text can never inject a line.
        assert_eq!(
            encoded(&Reply::new(250, "2.0.0", "a\r\n250 b")),
            "250 2.0.0 a  250 b\r\n"
        );
    }

    #[test]
    fn parse_known_answers() {
        let (reply, used) =
            Reply::parse(b"250-mx.example\r\n250-SIZE 10\r\n250 8BITMIME\r\nrest").unwrap();
        assert_eq!(used, 43);
        assert_eq!(reply.code, 250);
        assert_eq!(reply.enhanced, None);
        assert_eq!(reply.lines, vec!["mx.example", "SIZE 10", "8BITMIME"]);

        let (reply, used) = Reply::parse(b"550 5.1.1 No such user\r\n").unwrap();
        assert_eq!(used, 24);
        assert_eq!(reply, Reply::new(550, "5.1.1", "No such user"));

        let (reply, _) = Reply::parse(b"221\n").unwrap();
        assert_eq!(reply, Reply::new(221, "", ""));

        // A class that does not match the code is text, not an enhanced code.
        let (reply, _) = Reply::parse(b"250 5.0.0 odd\r\n").unwrap();
        assert_eq!(reply, Reply::new(250, "", "5.0.0 odd"));

        assert_eq!(Reply::parse(b"250-a\r\n250 b"), Err(ParseError::Incomplete));
        assert_eq!(
            Reply::parse(b"250-a\r\n251 b\r\n"),
            Err(ParseError::InvalidReply)
        );
        assert_eq!(Reply::parse(b"25x ok\r\n"), Err(ParseError::InvalidReply));
        assert_eq!(Reply::parse(b"199 ok\r\n"), Err(ParseError::InvalidReply));
        assert_eq!(Reply::parse(b"260 ok\r\n"), Err(ParseError::InvalidReply));
        assert_eq!(Reply::parse(b"250x\r\n"), Err(ParseError::InvalidReply));
        assert_eq!(Reply::parse(b"\r\n"), Err(ParseError::InvalidReply));
    }
}
