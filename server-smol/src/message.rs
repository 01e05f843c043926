//! One guarded entry to mail-parser's full parse, for everything that
//! decodes a whole stored message (HTTP detail and parts, handler JSON,
//! `TestServer`).
//!
//! mail-parser 0.11 recurses once per nested part (a 40,000-deep
//! message/rfc822 chain overflows any thread's stack, which aborts the
//! process) and panics on some malformed inputs ("Invalid part ID"). So the
//! message is first run through our non-recursive scanner (`mime-scan`):
//! when its structure is deeper than the scanner's limit only the header
//! is parsed, and a panic inside the parser becomes `None`.

use mail_parser::{Message, MessageParser};

/// Parses `raw` fully, or only its header when its MIME structure is
/// beyond `mime-scan`'s depth or part limits; `None` when it cannot be
/// parsed (or the parser panicked).
pub fn parse(raw: &[u8]) -> Option<Message<'_>> {
    let mut scanner = mime_scan::Scanner::new();
    scanner.feed(raw);
    let scan = scanner.finish();
    std::panic::catch_unwind(|| {
        if scan.truncated {
            MessageParser::default().parse_headers(raw)
        } else {
            MessageParser::default().parse(raw)
        }
    })
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    #[test]
    fn deep_nesting_parses_only_the_header() {
        let mut m = Vec::new();
        for _ in 0..40_000 {
            m.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        m.extend_from_slice(b"Subject: inner\r\n\r\nbody\r\n");
        let mut outer = b"Subject: outer\r\n".to_vec();
        outer.extend_from_slice(&m);
        let parsed = super::parse(&outer).expect("the header parses");
        assert_eq!(parsed.subject(), Some("outer"));
    }

    #[test]
    fn ordinary_messages_parse_whole() {
        let raw = b"Subject: hi\r\nContent-Type: text/plain\r\n\r\nhello\r\n";
        let parsed = super::parse(raw).expect("parses");
        assert_eq!(parsed.body_text(0).as_deref(), Some("hello\r\n"));
    }
}
