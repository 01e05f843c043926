//! Test messages of an exact size and their SMTP DATA encoding.

/// The longest body line we generate, CRLF included.
///
/// RFC 5322 §2.1.1 recommends at most 78 characters before CRLF.
const LINE_LEN: usize = 80;

/// Builds an RFC 5322 message of exactly `size` bytes (CRLF line endings).
///
/// The header section carries `From`, `To`, `Subject`, `Date` and the given
/// `Message-ID` (without angle brackets); the body is printable ASCII lines of
/// at most 78 characters plus CRLF. Every 7th body line starts with a `.` so
/// that the transparency procedure (RFC 5321 §4.5.2) is exercised.
///
/// Returns `None` when `size` is smaller than the header section.
#[must_use]
pub fn build_message(size: usize, from: &str, to: &str, message_id: &str) -> Option<Vec<u8>> {
    let mut subject = format!("loadgen {message_id}");
    let header = |subject: &str| {
        format!(
            "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\
             Date: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: <{message_id}>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        )
    };
    let mut head = header(&subject);
    // A body of one byte cannot end in CRLF: move that byte into the header.
    if size.checked_sub(head.len()) == Some(1) {
        subject.push('.');
        head = header(&subject);
    }
    let mut remaining = size.checked_sub(head.len())?;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(head.as_bytes());
    let mut line_no = 0usize;
    while remaining > 0 {
        // Never leave a single byte for the last line: it could not hold CRLF.
        let take = if remaining > LINE_LEN {
            if remaining - LINE_LEN == 1 {
                LINE_LEN - 1
            } else {
                LINE_LEN
            }
        } else {
            remaining
        };
        let text_len = take - 2;
        for i in 0..text_len {
            let c = if i == 0 && line_no % 7 == 3 {
                b'.'
            } else {
                // Printable ASCII without spaces at the line ends.
                b'a' + ((i + line_no) % 26) as u8
            };
            out.push(c);
        }
        out.extend_from_slice(b"\r\n");
        remaining -= take;
        line_no += 1;
    }
    Some(out)
}

/// Encodes a message for the DATA command: dot-stuffs every line that starts
/// with `.` (RFC 5321 §4.5.2) and appends the `CRLF.CRLF` terminator.
///
/// The message must use CRLF line endings; a message that does not end in
/// CRLF gets one before the terminator, as a client must send.
#[must_use]
pub fn encode_data(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 5);
    let mut at_line_start = true;
    for &b in message {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !message.is_empty() && !message.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sizes() {
        for size in [300, 301, 302, 380, 381, 382, 1000, 5120, 65_536, 1_048_576] {
            let m = build_message(size, "a@example.org", "b@localhost", "1.2@x").unwrap();
            assert_eq!(m.len(), size, "size {size}");
            assert!(m.ends_with(b"\r\n"), "size {size}");
            // No bare LF or CR anywhere.
            for (i, &b) in m.iter().enumerate() {
                if b == b'\n' {
                    assert_eq!(m[i - 1], b'\r');
                }
                if b == b'\r' {
                    assert_eq!(m[i + 1], b'\n');
                }
            }
        }
    }

    #[test]
    fn too_small() {
        assert_eq!(build_message(10, "a@b", "c@d", "x@y"), None);
    }

    #[test]
    fn headers_and_dot_lines() {
        let m = build_message(2000, "a@example.org", "b@localhost", "7.9@lg").unwrap();
        let text = String::from_utf8(m).unwrap();
        assert!(text.starts_with("From: <a@example.org>\r\nTo: <b@localhost>\r\n"));
        assert!(text.contains("\r\nMessage-ID: <7.9@lg>\r\n"));
        assert!(text.contains("\r\n.efgh"));
    }

    #[test]
    fn dot_stuffing() {
        assert_eq!(
            encode_data(b".a\r\nb\r\n..c\r\n"),
            b"..a\r\nb\r\n...c\r\n.\r\n"
        );
        assert_eq!(encode_data(b"x"), b"x\r\n.\r\n");
        assert_eq!(encode_data(b""), b".\r\n");
        assert_eq!(encode_data(b"a.\r\n.\r\n"), b"a.\r\n..\r\n.\r\n");
    }
}
