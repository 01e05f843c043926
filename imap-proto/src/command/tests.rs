//! RFC examples (client side) parsed and re-encoded byte-exactly, plus
//! known answers and failure cases.

use super::*;
use crate::encode::{Encode, Fragment, Version};
use crate::error::ParseErrorKind;
use crate::types::LiteralMode;

fn rt(input: &[u8]) -> Command {
    let cmd = Command::parse(input)
        .unwrap_or_else(|e| panic!("{e} in {:?}", String::from_utf8_lossy(input)));
    assert_eq!(
        String::from_utf8_lossy(&cmd.to_bytes(Version::Rev1)),
        String::from_utf8_lossy(input)
    );
    cmd
}

/// Client lines from the examples of RFC 9051, RFC 3501 and the extension RFCs.
const RFC_EXAMPLES: &[&str] = &[
    "a001 CAPABILITY\r\n",
    "a002 NOOP\r\n",
    "A023 LOGOUT\r\n",
    "a002 STARTTLS\r\n",
    "A001 AUTHENTICATE GSSAPI\r\n",
    "a001 LOGIN SMITH SESAME\r\n",
    "A142 SELECT INBOX\r\n",
    "A932 EXAMINE blurdybloop\r\n",
    "A003 CREATE owatagusiam/\r\n",
    "A004 CREATE owatagusiam/blurdybloop\r\n",
    "A682 DELETE blurdybloop\r\n",
    "A684 DELETE foo/bar\r\n",
    "A685 LIST \"\" *\r\n",
    "A86 LIST \"\" %\r\n",
    "A683 RENAME blurdybloop sarasoop\r\n",
    "Z433 RENAME INBOX old-mail\r\n",
    "A002 SUBSCRIBE #news.comp.mail.mime\r\n",
    "A002 UNSUBSCRIBE #news.comp.mail.mime\r\n",
    "A101 LIST \"\" \"\"\r\n",
    "A102 LIST #news.comp.mail.misc \"\"\r\n",
    "A103 LIST /usr/staff/jones \"\"\r\n",
    "A202 LIST ~/Mail/ %\r\n",
    "A002 LSUB \"#news.\" \"comp.mail.*\"\r\n",
    "A042 STATUS blurdybloop (MESSAGES UIDNEXT)\r\n",
    "A042 STATUS blurdybloop (UIDNEXT MESSAGES DELETED SIZE)\r\n",
    "A003 APPEND saved-messages (\\Seen) {25}\r\nDate: Mon, 7 Feb 1994\r\n\r\n\r\n",
    "A341 CLOSE\r\n",
    "A202 EXPUNGE\r\n",
    "a CHECK\r\n",
    "A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
    "A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
    "A284 SEARCH TEXT \"string not in mailbox\"\r\n",
    "A285 SEARCH CHARSET UTF-8 TEXT {10}\r\n\u{442}\u{435}\u{43a}\u{441}\u{442}\r\n",
    "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
    "A003 STORE 2:4 +FLAGS (\\Deleted)\r\n",
    "A003 COPY 2:4 MEETING\r\n",
    "a UID MOVE 42:69 foo\r\n",
    "A999 UID FETCH 4827313:4828442 FLAGS\r\n",
    "A003 UID EXPUNGE 3000:3002\r\n",
    "a ENABLE CONDSTORE X-GOOD-IDEA\r\n",
    "t1 ENABLE IMAP4rev2\r\n",
    "A002 NAMESPACE\r\n",
    "a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\")\r\n",
    "a023 ID NIL\r\n",
    "a002 IDLE\r\n",
    "A01 LIST \"\" % RETURN (SPECIAL-USE)\r\n",
    "A02 LIST (SPECIAL-USE) \"\" *\r\n",
    "t1 CREATE \"Important Messages\" (USE (\\Important))\r\n",
    "A02 LIST (SUBSCRIBED) \"\" \"*\"\r\n",
    "A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n",
    "A04 LIST (REMOTE) \"\" \"%\" RETURN (CHILDREN)\r\n",
    "A05 LIST (REMOTE SUBSCRIBED) \"/\" \"*\"\r\n",
    "A06 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)\r\n",
    "A07 LIST \"\" (\"foo\" \"foo/*\")\r\n",
    "A08 LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")\r\n",
    "A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n",
    "a SELECT INBOX (CONDSTORE)\r\n",
    "A03 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
    "s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
    "A03 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
    "a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)\r\n",
    "a SEARCH MODSEQ \"/flags/\\\\Draft\" all 620162338\r\n",
    "a FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
    "A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
    "A283 FETCH $ (UID INTERNALDATE FLAGS RFC822.SIZE)\r\n",
    "a001 AUTHENTICATE PLAIN AGZyZWQAdGlnZXI=\r\n",
    "a001 AUTHENTICATE EXTERNAL =\r\n",
    "A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n",
    "A5 FETCH 3 (BINARY.SIZE[1] BINARY.PEEK[1]<0.100>)\r\n",
    "A6 APPEND INBOX ~{4}\r\n\0\x01\x02\x03\r\n",
    "A7 APPEND INBOX (\\Seen $Forwarded) \" 7-Feb-1994 21:52:25 -0800\" {1+}\r\nx\r\n",
    "a1 FETCH 1 (BODY.PEEK[1.2.MIME] RFC822.HEADER BODY[TEXT]<0.2048>)\r\n",
    "a2 FETCH 1:3 ALL\r\n",
    "a3 UID SEARCH UID 1:5 OR SEEN (UNSEEN LARGER 200)\r\n",
    "a4 UNSELECT\r\n",
    "a5 EXAMINE \"Entw&APw-rfe\"\r\n",
];

#[test]
fn rfc_examples_round_trip() {
    for ex in RFC_EXAMPLES {
        rt(ex.as_bytes());
    }
}

#[test]
fn known_answers() {
    let c = rt(b"a001 LOGIN SMITH SESAME\r\n");
    assert_eq!(c.tag.as_str(), "a001");
    let CommandBody::Login { username, password } = c.body else {
        panic!("not LOGIN");
    };
    assert_eq!(username.as_bytes(), b"SMITH");
    assert_eq!(password.declassify().as_bytes(), b"SESAME");

    let c = rt(b"a001 AUTHENTICATE PLAIN AGZyZWQAdGlnZXI=\r\n");
    let CommandBody::Authenticate {
        mechanism,
        initial_response,
    } = c.body
    else {
        panic!("not AUTHENTICATE");
    };
    assert_eq!(mechanism.as_str(), "PLAIN");
    assert_eq!(initial_response.unwrap().declassify(), b"\0fred\0tiger");

    let c = Command::parse(b"A3 store 1 flags \\Seen \\Draft\r\n").unwrap();
    assert_eq!(
        c.body,
        CommandBody::Store {
            uid: false,
            sequence_set: SequenceSet::single(std::num::NonZeroU32::new(1).unwrap()),
            unchanged_since: None,
            action: StoreAction::Replace,
            silent: false,
            flags: vec![Flag::Seen, Flag::Draft],
        }
    );
    assert_eq!(
        c.to_bytes(Version::Rev1),
        b"A3 STORE 1 FLAGS (\\Seen \\Draft)\r\n".to_vec()
    );
}

#[test]
fn literal_fragments_for_clients() {
    let c = rt(b"A001 LOGIN {4}\r\nFRED {6}\r\nSESAME\r\n");
    assert_eq!(
        c.encode(Version::Rev1).into_fragments(),
        vec![
            Fragment::Line(b"A001 LOGIN {4}\r\n".to_vec()),
            Fragment::Literal {
                data: b"FRED".to_vec(),
                mode: LiteralMode::Sync
            },
            Fragment::Line(b" {6}\r\n".to_vec()),
            Fragment::Literal {
                data: b"SESAME".to_vec(),
                mode: LiteralMode::Sync
            },
            Fragment::Line(b"\r\n".to_vec()),
        ]
    );
}

#[test]
fn failures_keep_the_tag() {
    let e = Command::parse(b"A9 FROB x\r\n").unwrap_err();
    assert_eq!(e.tag.as_ref().map(|t| t.as_str()), Some("A9"));
    assert_eq!(e.kind, ParseErrorKind::Syntax);
    let e = Command::parse(b"A9 NOOP\r\nA10 NOOP\r\n").unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::TrailingData);
    assert_eq!(e.offset, 9);
    let e = Command::parse(b"+ NOOP\r\n").unwrap_err();
    assert_eq!(e.tag, None);
    assert!(Command::parse(b"A1 NOOP").is_err());
    assert!(Command::parse(b"A1 FETCH 0 FLAGS\r\n").is_err());
    assert!(Command::parse(b"A1 LOGIN a\r\n").is_err());
    assert!(Command::parse(b"A1 APPEND x {3}\r\nab\r\n").is_err());
    let mut deep = b"A1 SEARCH ".to_vec();
    deep.extend(std::iter::repeat_n(b'(', 100));
    deep.extend_from_slice(b"ALL");
    deep.extend(std::iter::repeat_n(b')', 100));
    deep.extend_from_slice(b"\r\n");
    let e = Command::parse(&deep).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::TooDeep);
    assert_eq!(e.tag.map(|t| t.to_string()), Some("A1".into()));
}

#[test]
fn authenticate_lines_and_done() {
    assert_eq!(
        AuthenticateData::parse(b"*\r\n"),
        Ok(AuthenticateData::Cancel)
    );
    assert_eq!(
        AuthenticateData::parse(b"AGZyZWQAdGlnZXI=\r\n"),
        Ok(AuthenticateData::Continue(Secret::new(
            b"\0fred\0tiger".to_vec()
        )))
    );
    assert_eq!(
        AuthenticateData::parse(b"\r\n"),
        Ok(AuthenticateData::Continue(Secret::new(Vec::new())))
    );
    assert!(AuthenticateData::parse(b"not base64!\r\n").is_err());
    assert!(is_idle_done(b"done\r\n"));
    assert!(!is_idle_done(b"DONE NOW\r\n"));
}

/// All examples as one client stream: split at every byte position and fed
/// byte by byte, the framer yields the same frames, and every complete frame
/// is exactly one example.
#[test]
fn rfc_examples_through_the_framer() {
    use crate::framer::{Frame, Framer, Role};
    let stream: Vec<u8> = RFC_EXAMPLES.iter().flat_map(|e| e.bytes()).collect();
    let run = |chunks: &[&[u8]]| {
        let mut f = Framer::new(Role::Server, crate::Limits::default());
        let mut out = Vec::new();
        for chunk in chunks {
            let mut input = *chunk;
            loop {
                let (used, frame) = f.feed(input);
                input = &input[used..];
                match frame {
                    Some(Frame::Complete(c)) => out.push(c),
                    Some(Frame::LiteralAnnounced { .. }) => f.accept_literal().unwrap(),
                    Some(other) => panic!("{other:?}"),
                    None => break,
                }
            }
        }
        out
    };
    let whole = run(&[&stream]);
    let expected: Vec<Vec<u8>> = RFC_EXAMPLES.iter().map(|e| e.as_bytes().to_vec()).collect();
    assert_eq!(whole, expected);
    for cut in 0..=stream.len() {
        let (a, b) = stream.split_at(cut);
        assert_eq!(run(&[a, b]), whole, "split at {cut}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(run(&bytes), whole);
}
