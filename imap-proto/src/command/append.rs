//! The head of an APPEND command, read from a literal announcement before
//! the message itself arrives (so a server can check quota, size and the
//! mailbox before it sends `+`, and stream the message; docs/DESIGN.md §2).

use super::parse::append_head;
use crate::error::{ParseError, run};
use crate::types::{DateTime, Flag, LiteralMode, Mailbox, Tag};

/// `tag SP "APPEND" SP mailbox [SP flag-list] [SP date-time] SP ("{" / "~{") number64 ["+"] "}" CRLF`:
/// everything of an APPEND up to its message literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendHead {
    /// The command's tag.
    pub tag: Tag,
    /// Target mailbox.
    pub mailbox: Mailbox,
    /// Initial flags.
    pub flags: Option<Vec<Flag>>,
    /// Internal date.
    pub date: Option<DateTime>,
    /// Announced message size.
    pub size: u64,
    /// `~{N}`: literal8 (RFC 3516).
    pub binary: bool,
    /// `UTF8 (~{N}`: the RFC 6855 §4 data extension; `)` follows the
    /// literal.
    pub utf8: bool,
    /// Synchronising or not.
    pub mode: LiteralMode,
}

impl AppendHead {
    /// Parses the `command_so_far` of a
    /// [`Frame::LiteralAnnounced`](crate::framer::Frame::LiteralAnnounced).
    /// Fails (with the tag when there is one) if it is not an APPEND.
    pub fn parse(command_so_far: &[u8]) -> Result<Self, ParseError> {
        let tag = crate::types::tag_imap(command_so_far).ok().map(|(_, t)| t);
        run(command_so_far, tag, append_head(command_so_far))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{Encode, Version};

    #[test]
    fn known_answers() {
        let h =
            AppendHead::parse(b"A3 APPEND saved (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {310}\r\n")
                .unwrap();
        assert_eq!(h.tag.as_str(), "A3");
        assert_eq!(h.mailbox.as_bytes(), b"saved");
        assert_eq!(h.flags, Some(vec![Flag::Seen]));
        assert_eq!(
            h.date.map(|d| d.to_bytes(Version::Rev1)),
            Some(b"\" 7-Feb-1994 21:52:25 -0800\"".to_vec())
        );
        assert_eq!((h.size, h.binary, h.mode), (310, false, LiteralMode::Sync));
        let h = AppendHead::parse(b"A4 append INBOX ~{12+}\r\n").unwrap();
        assert_eq!(
            (h.size, h.binary, h.mode, h.flags),
            (12, true, LiteralMode::NonSync, None)
        );
        let e = AppendHead::parse(b"A5 LOGIN {3}\r\n").unwrap_err();
        assert_eq!(e.tag.map(|t| t.to_string()), Some("A5".into()));
        assert!(AppendHead::parse(b"A6 APPEND x {3}\r\nabc").is_err());
        // RFC 6855 §4: the UTF8 data extension wraps a literal8.
        let h = AppendHead::parse(b"A7 APPEND INBOX (\\Seen) UTF8 (~{20}\r\n").unwrap();
        assert_eq!((h.size, h.binary, h.utf8), (20, true, true));
        assert!(AppendHead::parse(b"A8 APPEND INBOX UTF8 ({20}\r\n").is_err());
    }
}
