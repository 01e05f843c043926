//! ENVELOPE (RFC 9051 §7.5.2, RFC 3501 §7.4.2) from a header block.

use super::address::parse_address_list;
use super::header::{fields, unfold};
use super::istring;
use crate::response::{Address, Envelope};
use crate::types::NString;

/// Builds the ENVELOPE of a message (or of an encapsulated message) from
/// its header block. The first occurrence of each field is used; string
/// fields are the unfolded raw octets (encoded words are left for the
/// client to decode, RFC 3501 §7.4.2); an absent field is NIL and a
/// present but empty one the empty string. Sender and Reply-To default to
/// From when absent or empty.
pub fn envelope(header: &[u8]) -> Envelope {
    let mut env = Envelope::default();
    let mut seen = [false; 10];
    for f in fields(header) {
        let idx = match f.name.to_ascii_lowercase().as_slice() {
            b"date" => 0,
            b"subject" => 1,
            b"from" => 2,
            b"sender" => 3,
            b"reply-to" => 4,
            b"to" => 5,
            b"cc" => 6,
            b"bcc" => 7,
            b"in-reply-to" => 8,
            b"message-id" => 9,
            _ => continue,
        };
        if std::mem::replace(&mut seen[idx], true) {
            continue;
        }
        let text = || NString::String(istring(&unfold(f.value)));
        let addrs = || parse_address_list(f.value);
        match idx {
            0 => env.date = text(),
            1 => env.subject = text(),
            2 => env.from = addrs(),
            3 => env.sender = addrs(),
            4 => env.reply_to = addrs(),
            5 => env.to = addrs(),
            6 => env.cc = addrs(),
            7 => env.bcc = addrs(),
            8 => env.in_reply_to = text(),
            _ => env.message_id = text(),
        }
    }
    // RFC 3501 §7.4.2: "If the Sender or Reply-To lines are absent in the
    // [RFC-2822] header, or are present but empty, the server sets the
    // corresponding member of the envelope to be the same value as the from
    // member."
    let from: &Vec<Address> = &env.from;
    if env.sender.is_empty() {
        env.sender = from.clone();
    }
    if env.reply_to.is_empty() {
        env.reply_to = env.from.clone();
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{Encode, Version};

    #[test]
    fn rfc3501_example_shape() {
        let h = b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\nFrom: Terry Gray <gray@cac.washington.edu>\r\nSubject: IMAP4rev1 WG mtg summary and minutes\r\nTo: imap@cac.washington.edu\r\ncc: minutes@CNRI.Reston.VA.US,\r\n John Klensin <KLENSIN@MIT.EDU>\r\nMessage-Id: <B27397-0100000@cac.washington.edu>\r\n\r\n";
        let e = envelope(h);
        assert_eq!(
            String::from_utf8(e.to_bytes(Version::Rev1)).unwrap(),
            "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\")"
        );
    }

    #[test]
    fn empty_fields_and_defaults() {
        let e = envelope(b"Subject:\r\nFrom: a@b\r\nSender:\r\nSubject: second\r\n\r\n");
        assert_eq!(
            String::from_utf8(e.to_bytes(Version::Rev1)).unwrap(),
            "(NIL \"\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)"
        );
        assert_eq!(
            String::from_utf8(envelope(b"").to_bytes(Version::Rev1)).unwrap(),
            "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
        );
    }
}
