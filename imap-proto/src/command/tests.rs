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
    // RFC 3501 §6.3.11 / RFC 9051 §6.3.12 (the literal is 310 octets).
    "A003 APPEND saved-messages (\\Seen) {310}\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.COM>\r\nSubject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu\r\nMessage-Id: <B27397-0100000@Blurdybloop.COM>\r\nMIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n\r\n",
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
    "abcd CAPABILITY\r\n",
    "A684 RENAME foo zowie\r\n",
    "A003 LSUB \"#news.\" \"comp.%\"\r\n",
    "A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n",
    "FXXZ CHECK\r\n",
    "A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
    "A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n",
    "A005 UID STORE 1:* -FLAGS.SILENT ($Junk)\r\n",
    "a UID COPY 2:4 \"Saved Items\"\r\n",
    "A01 MOVE 42:69 foo\r\n",
    "A02 SEARCH RETURN (COUNT ALL) UID 1:* KEYWORD $Forwarded\r\n",
    "A03 SEARCH RETURN (MIN MAX) OR SENTSINCE 1-Jan-2020 SENTBEFORE 1-Jan-2021 HEADER \"Message-ID\" \"<x@y>\"\r\n",
    "A04 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT RECENT)\r\n",
    "A05 EXAMINE INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))\r\n",
    "A06 LIST (SUBSCRIBED REMOTE RECURSIVEMATCH) \"\" (\"%\" \"Archive/*\") RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (MESSAGES SIZE))\r\n",
    "A07 CREATE Drafts (USE (\\Drafts))\r\n",
    "A08 FETCH 1 (BODYSTRUCTURE ENVELOPE INTERNALDATE RFC822.SIZE FLAGS UID MODSEQ)\r\n",
    "A09 UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n",
    "A10 FETCH 2 BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)]\r\n",
    "A11 STORE 1 FLAGS ()\r\n",
    "A12 UID SEARCH UNDELETED UNSEEN UNDRAFT UNFLAGGED UNANSWERED NEW OLD RECENT\r\n",
    "A13 SEARCH BEFORE 1-Jan-2000 ON 2-Feb-2001 SENTON 3-Mar-2002 LARGER 1024 SMALLER 4096 BCC x CC y TO z BODY w TEXT v SUBJECT u\r\n",
    "A14 AUTHENTICATE XOAUTH2\r\n",
    "A15 LOGIN \"user@example.org\" \"p\\\"w\\\\d\"\r\n",
    "A16 ID (\"name\" NIL)\r\n",
    "A17 ENABLE QRESYNC CONDSTORE UTF8=ACCEPT\r\n",
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
    assert_eq!(password.expose().as_bytes(), b"SESAME");

    let c = rt(b"a001 AUTHENTICATE PLAIN AGZyZWQAdGlnZXI=\r\n");
    let CommandBody::Authenticate {
        mechanism,
        initial_response,
    } = c.body
    else {
        panic!("not AUTHENTICATE");
    };
    assert_eq!(mechanism.as_str(), "PLAIN");
    assert_eq!(initial_response.unwrap().expose(), b"\0fred\0tiger");

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

/// Lower-case and otherwise non-canonical client input (RFC 3501 §8
/// transcript, real clients) parses to the canonical value.
#[test]
fn case_insensitive_input() {
    let cases: &[(&str, &str)] = &[
        ("a001 login mrc secret\r\n", "a001 LOGIN mrc secret\r\n"),
        ("a002 select inbox\r\n", "a002 SELECT inbox\r\n"),
        ("a003 fetch 12 full\r\n", "a003 FETCH 12 FULL\r\n"),
        (
            "a004 fetch 12 body[header]\r\n",
            "a004 FETCH 12 BODY[HEADER]\r\n",
        ),
        (
            "a005 store 12 +flags \\deleted\r\n",
            "a005 STORE 12 +FLAGS (\\Deleted)\r\n",
        ),
        ("a006 logout\r\n", "a006 LOGOUT\r\n"),
        (
            "a7 uid search since 01-feb-1994\r\n",
            "a7 UID SEARCH SINCE 1-Feb-1994\r\n",
        ),
        ("a8 list \"\" (\"x\")\r\n", "a8 LIST \"\" \"x\"\r\n"),
    ];
    for (input, canonical) in cases {
        let cmd = Command::parse(input.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&cmd.to_bytes(Version::Rev1)),
            *canonical
        );
        assert_eq!(Command::parse(canonical.as_bytes()).unwrap(), cmd);
    }
}
