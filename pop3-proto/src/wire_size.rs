//! The size of a message as POP3 sends it (RFC 1939 §11).

/// Counts the octets of a message as the session's encoder sends it: every
/// bare LF becomes CRLF and an unterminated last line gets a CRLF; the
/// dot-stuffing and the terminating `.` CRLF are not counted. A last line
/// ending in a bare CR is completed with its LF, as the encoder does.
///
/// RFC 1939 §11 asks that the sizes announced by STAT, LIST and RETR's
/// `+OK` are those of the message as sent, with CRLF line endings. A
/// Maildir file written with bare LF by another program (mutt, procmail)
/// is longer on the wire than on disk, so an adapter feeds the stored bytes
/// through this counter (in chunks of any size) to fill
/// [`MaildropEntry::size`](crate::MaildropEntry::size).
///
/// ```
/// use pop3_proto::WireSize;
///
/// let mut size = WireSize::new();
/// size.update(b"Subject: hi\n");
/// size.update(b"\nbody");
/// assert_eq!(size.finish(), 21); // "Subject: hi\r\n\r\nbody\r\n"
/// assert_eq!(WireSize::of(b"a\r\nb\r\n"), 6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireSize {
    size: u64,
    /// The last octet seen, to tell CRLF from a bare LF across chunks.
    prev: u8,
}

impl Default for WireSize {
    fn default() -> Self {
        Self::new()
    }
}

impl WireSize {
    /// A counter at the start of a message.
    pub fn new() -> Self {
        // As if a line had just ended: an empty message has size 0.
        WireSize {
            size: 0,
            prev: b'\n',
        }
    }

    /// Counts the next chunk of the stored message.
    pub fn update(&mut self, chunk: &[u8]) {
        let mut prev = self.prev;
        for &b in chunk {
            if b == b'\n' && prev != b'\r' {
                self.size += 1;
            }
            prev = b;
        }
        self.size += chunk.len() as u64;
        if let Some(&last) = chunk.last() {
            self.prev = last;
        }
    }

    /// The size on the wire of everything counted.
    pub fn finish(self) -> u64 {
        match self.prev {
            _ if self.size == 0 => 0,
            b'\n' => self.size,
            // A last line ending in a bare CR is completed with its LF.
            b'\r' => self.size + 1,
            _ => self.size + 2,
        }
    }

    /// The size on the wire of a whole message.
    pub fn of(message: &[u8]) -> u64 {
        let mut size = WireSize::new();
        size.update(message);
        size.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::WireSize;

    const CASES: [(&[u8], u64); 9] = [
        (b"a\r\nb\r\n", 6),
        (b"a\nb\n", 6),
        (b"a\r\nb", 6),
        (b"a\nb", 6),
        (b"", 0),
        (b"\r\n\n", 4),
        (b"\n", 2),
        (b"x\r", 3),
        (b"a\rb\n", 5),
    ];

    #[test]
    fn bare_lf_counts_twice_and_the_last_line_is_terminated() {
        for (bytes, want) in CASES {
            assert_eq!(WireSize::of(bytes), want, "{bytes:?}");
        }
    }

    #[test]
    fn every_split_gives_the_same_size() {
        for (bytes, want) in CASES {
            for cut in 0..=bytes.len() {
                let mut size = WireSize::new();
                size.update(&bytes[..cut]);
                size.update(&bytes[cut..]);
                assert_eq!(size.finish(), want, "{bytes:?} cut at {cut}");
            }
            let mut size = WireSize::new();
            for b in bytes {
                size.update(std::slice::from_ref(b));
            }
            assert_eq!(size.finish(), want, "{bytes:?} byte by byte");
        }
    }

    #[test]
    fn matches_the_session_encoder() {
        // The size counted is what DotStuffer sends, minus stuffing and the
        // terminator.
        for (bytes, want) in CASES {
            let mut out = bytes::BytesMut::new();
            let mut stuffer = crate::DotStuffer::new();
            let _ = stuffer.encode(bytes, &mut out);
            stuffer.finish(&mut out);
            let sent = out.len() as u64 - 3; // ".\r\n"
            assert_eq!(sent, want, "{bytes:?}: {out:?}");
        }
    }
}
