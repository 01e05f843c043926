//! RFC examples and real-world server lines, parsed and re-encoded
//! byte-exactly, plus known answers and failure cases.

use super::*;
use crate::encode::{Encode, Version};
use crate::error::ParseErrorKind;
use crate::types::{Flag, FlagFetch};

fn rt(input: &[u8]) -> Response {
    let r = Response::parse(input)
        .unwrap_or_else(|e| panic!("{e} in {:?}", String::from_utf8_lossy(input)));
    assert_eq!(
        String::from_utf8_lossy(&r.to_bytes(Version::Rev1)),
        String::from_utf8_lossy(input)
    );
    r
}

/// Server lines from RFC 9051, RFC 3501 and the extension RFCs.
const RFC_EXAMPLES: &[&str] = &[
    "* OK IMAP4rev2 server ready\r\n",
    "* PREAUTH IMAP4rev2 server logged in as Smith\r\n",
    "* BYE Autologout; idle for too long\r\n",
    "* CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n",
    "abcd OK CAPABILITY completed\r\n",
    "* CAPABILITY IMAP4rev2 AUTH=GSSAPI AUTH=PLAIN\r\n",
    "* 22 EXPUNGE\r\n",
    "* 23 EXISTS\r\n",
    "* 3 RECENT\r\n",
    "* 14 FETCH (FLAGS (\\Seen \\Deleted))\r\n",
    "a047 OK NOOP completed\r\n",
    "A023 OK LOGOUT completed\r\n",
    "+ YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=\r\n",
    "+ Ready for additional command text\r\n",
    "A001 OK GSSAPI authentication successful\r\n",
    "* 172 EXISTS\r\n",
    "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
    "* OK [UIDNEXT 4392] Predicted next UID\r\n",
    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
    "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
    "* OK [UNSEEN 12] Message 12 is first unseen\r\n",
    "* LIST () \"/\" INBOX\r\n",
    "A142 OK [READ-WRITE] SELECT completed\r\n",
    "A932 OK [READ-ONLY] EXAMINE completed\r\n",
    "* LIST (\\Noselect) \"/\" foo\r\n",
    "* LIST (\\Noselect) \".\" #news.\r\n",
    "* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n",
    "* LIST (\\Marked \\Noinferiors) \"/\" \"inbox\"\r\n",
    "* LIST (\\Subscribed \\NonExistent) \"/\" \"Fruit/Peach\"\r\n",
    "* LIST () \"/\" \"Tofu\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
    "* LIST () \"/\" \"INBOX\" (\"OLDNAME\" (\"inbox\"))\r\n",
    "* LIST (\\HasNoChildren) \".\" INBOX.Sent\r\n",
    "* LIST (\\Sent \\HasNoChildren) \"/\" \"Sent Mail\"\r\n",
    "* LIST () NIL flat\r\n",
    "* LSUB () \".\" #news.comp.mail.misc\r\n",
    "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n",
    "* STATUS \"INBOX\" (MESSAGES 17 UNSEEN 16 SIZE 44621 DELETED 0 APPENDLIMIT NIL)\r\n",
    "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n",
    "* ESEARCH (TAG \"A283\") ALL 2,10:11\r\n",
    "* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800\r\n",
    "* ESEARCH (TAG \"A284\")\r\n",
    "* SEARCH 2 84 882\r\n",
    "* SEARCH\r\n",
    "* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n",
    "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n",
    "* 2 FETCH (FLAGS (\\Deleted \\Seen))\r\n",
    "* 12 FETCH (BODY[HEADER] {15}\r\nSubject: hi\r\n\r\n)\r\n",
    "* 12 FETCH (BODY[]<0> {3}\r\nabc UID 7)\r\n",
    "* 1 FETCH (BINARY[1] ~{4}\r\n\0abc)\r\n",
    "* 1 FETCH (BINARY.SIZE[1] 2837)\r\n",
    "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n",
    "* NAMESPACE ((\"\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\")(\"#public/\" \"/\")(\"#ftp/\" \"/\")(\"#news.\" \".\"))\r\n",
    "* NAMESPACE ((\"\" \"/\")(\"#mh/\" \"/\" \"X-PARAM\" (\"FLAG1\" \"FLAG2\"))) NIL NIL\r\n",
    "* ID (\"name\" \"Cyrus\" \"version\" \"1.5\" \"os\" \"sunos\" \"os-version\" \"5.5\" \"support-url\" \"mailto:cyrus-bugs+@andrew.cmu.edu\")\r\n",
    "* ID NIL\r\n",
    "* ENABLED CONDSTORE\r\n",
    "* ENABLED\r\n",
    "A003 OK [APPENDUID 38505 3955] APPEND completed\r\n",
    "A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
    "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n",
    "* OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences\r\n",
    "* 1 FETCH (UID 4 MODSEQ (12121231000))\r\n",
    "a103 OK [MODIFIED 7,9] Conditional STORE failed\r\n",
    "* VANISHED (EARLIER) 41,43:116,118,120:211,214:540\r\n",
    "* VANISHED 405,407,410,425\r\n",
    "* OK [CLOSED]\r\n",
    "A01 NO [NONEXISTENT] Unknown mailbox\r\n",
    "A1 NO [TOOBIG] Literal too big\r\n",
    "a2 BAD [CLIENTBUG] Missing argument\r\n",
    "* OK [ALERT] System shutdown in 10 minutes\r\n",
    "* NO Disk is 98% full, please delete unnecessary data\r\n",
    "* BAD Command line too long\r\n",
    "* OK IMAP4rev1 server ready\r\n",
    "A001 OK LOGIN completed\r\n",
    "A223 NO COPY failed: disk is full\r\n",
    "A443 BAD Missing command\r\n",
    "* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI XPIG-LATIN\r\n",
    "* SEARCH 2 3 6\r\n",
    "* 5 RECENT\r\n",
    "* 44 EXPUNGE\r\n",
    "* 23 FETCH (FLAGS (\\Seen) RFC822.SIZE 44827)\r\n",
    "* OK [UIDNOTSTICKY] Non-persistent UIDs\r\n",
    "* OK [COPYUID 432432 42:69 1202:1229]\r\n",
    "* LIST (\\HasChildren) \"/\" \"Fruit\"\r\n",
    "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts\r\n",
    "+ idling\r\n",
    "* 1 FETCH (MODSEQ (624140003))\r\n",
    "* ESEARCH (TAG \"a\") ALL 1:3,5 MODSEQ 1236\r\n",
    "t1 NO [USEATTR] An \\Important mailbox already exists\r\n",
    "A1 OK [CAPABILITY IMAP4rev2 IMAP4rev1] Logged in\r\n",
    "* OK [BADCHARSET (US-ASCII)] Unknown charset\r\n",
    "* NO [ALREADYEXISTS] Mailbox exists\r\n",
    "* BYE [UNAVAILABLE] Server shutting down\r\n",
    "* 7 FETCH (RFC822.HEADER {9}\r\nSubj: x\r\n RFC822.TEXT NIL RFC822 \"\")\r\n",
    "* 2 FETCH (BODY[1.2.MIME] NIL BODY[2.HEADER.FIELDS.NOT (X-A)] \"\" BINARY[2] \"hi\")\r\n",
];

/// Lines as real servers send them (public documentation and captures).
const REAL_WORLD: &[&str] = &[
    // Dovecot greeting.
    "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE] Dovecot ready.\r\n",
    // Gmail.
    "* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR AUTH=XOAUTH2 AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER AUTH=XOAUTH\r\n",
    "* LIST (\\All \\HasNoChildren) \"/\" \"[Gmail]/All Mail\"\r\n",
    "* 1 FETCH (UID 1 RFC822.SIZE 2437 FLAGS (\\Seen) BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"UTF-8\") NIL NIL \"quoted-printable\" 544 14 NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"UTF-8\") NIL NIL \"quoted-printable\" 1038 21 NIL NIL NIL) \"alternative\" (\"boundary\" \"000000000000f1c2\") NIL NIL))\r\n",
    // Cyrus / Fastmail style with APPENDLIMIT and special use.
    "* CAPABILITY IMAP4rev1 LITERAL+ ID ENABLE ACL RIGHTS=kxten QUOTA MAILBOX-REFERRALS NAMESPACE UIDPLUS NO_ATOMIC_RENAME UNSELECT CHILDREN MULTIAPPEND BINARY CATENATE CONDSTORE ESEARCH SEARCH=FUZZY SORT SORT=MODSEQ SORT=DISPLAY SORT=UID THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS ANNOTATEMORE ANNOTATE-EXPERIMENT-1 METADATA LIST-EXTENDED LIST-STATUS LIST-MYRIGHTS LIST-METADATA WITHIN QRESYNC SCAN XLIST XMOVE MOVE SPECIAL-USE CREATE-SPECIAL-USE DIGEST=SHA1 X-REPLICATION STATUS=SIZE OBJECTID SAVEDATE X-CREATEDMODSEQ PREVIEW=FUZZY IDLE APPENDLIMIT=1073741824 URLAUTH URLAUTH=BINARY COMPRESS=DEFLATE\r\n",
    // Dovecot BODYSTRUCTURE of a mixed message with an attachment.
    "* 3 FETCH (UID 7 BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 18 1 NIL NIL NIL NIL)(\"application\" \"octet-stream\" (\"name\" \"data.bin\") NIL NIL \"base64\" 1086 NIL (\"attachment\" (\"filename\" \"data.bin\")) NIL NIL) \"mixed\" (\"boundary\" \"=-abc\") NIL NIL NIL))\r\n",
    "* 4 FETCH (BODYSTRUCTURE (\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 240 (\"Mon, 1 Jan 2024 00:00:00 +0000\" \"inner\" ((NIL NIL \"a\" \"example.org\")) ((NIL NIL \"a\" \"example.org\")) ((NIL NIL \"a\" \"example.org\")) ((NIL NIL \"b\" \"example.org\")) NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL) 9 NIL NIL NIL NIL))\r\n",
    "* 5 FETCH (UID 9 BODY[HEADER.FIELDS (FROM SUBJECT)] {35}\r\nFrom: a@example.org\r\nSubject: x\r\n\r\n)\r\n",
    "* OK [CAPABILITY IMAP4rev2 IMAP4rev1 LITERAL- ENABLE IDLE UIDPLUS MOVE NAMESPACE SPECIAL-USE CREATE-SPECIAL-USE UNSELECT ID CHILDREN LIST-EXTENDED LIST-STATUS ESEARCH SASL-IR APPENDLIMIT=52428800 STATUS=SIZE BINARY AUTH=PLAIN] sansmail ready\r\n",
];

#[test]
fn rfc_examples_round_trip() {
    for ex in RFC_EXAMPLES {
        rt(ex.as_bytes());
    }
}

#[test]
fn real_world_lines_round_trip() {
    for ex in REAL_WORLD {
        rt(ex.as_bytes());
    }
}

#[test]
fn known_answers() {
    let r = rt(b"* 14 FETCH (FLAGS (\\Seen \\Recent))\r\n");
    assert_eq!(
        r,
        Response::Data(Data::Fetch {
            seq: std::num::NonZeroU32::new(14).unwrap(),
            items: vec![MessageDataItem::Flags(vec![
                FlagFetch::Flag(Flag::Seen),
                FlagFetch::Recent
            ])],
        })
    );
    // IMAP4rev2 has no \Recent (RFC 9051 Appendix E).
    assert_eq!(
        r.to_bytes(Version::Rev2),
        b"* 14 FETCH (FLAGS (\\Seen))\r\n".to_vec()
    );

    let r = rt(b"A142 OK [READ-WRITE] SELECT completed\r\n");
    let Response::Status(Status::Tagged {
        tag,
        condition,
        text,
    }) = r
    else {
        panic!()
    };
    assert_eq!(tag.as_str(), "A142");
    assert_eq!(condition, Condition::Ok);
    assert_eq!(text.code, Some(Code::ReadWrite));
    assert_eq!(text.text.as_str(), "SELECT completed");

    let r = rt(b"+ YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=\r\n");
    let Response::Continue(c) = r else { panic!() };
    assert_eq!(c.decode_base64().map(|v| v.len()), Some(53));
    assert_eq!(
        Response::Continue(Continue::base64(b"\0fred")).to_bytes(Version::Rev1),
        b"+ AGZyZWQ=\r\n".to_vec()
    );
    // A bare "+" is accepted and written with its SP.
    assert_eq!(
        Response::parse(b"+\r\n"),
        Ok(Response::Continue(Continue::default()))
    );
}

#[test]
fn mailbox_names_follow_version() {
    let item = ListItem {
        attributes: vec![],
        delimiter: Delimiter::new('/'),
        mailbox: crate::types::Mailbox::from_utf8("Entwürfe", Version::Rev2).unwrap(),
        extended: vec![],
    };
    let r = Response::Data(Data::List(item));
    assert_eq!(
        r.to_bytes(Version::Rev1),
        b"* LIST () \"/\" Entw&APw-rfe\r\n".to_vec()
    );
    assert_eq!(
        r.to_bytes(Version::Rev2),
        "* LIST () \"/\" \"Entwürfe\"\r\n".as_bytes().to_vec()
    );
}

#[test]
fn failures() {
    assert!(Response::parse(b"* FROB\r\n").is_err());
    assert!(Response::parse(b"* 0 FETCH (UID 1)\r\n").is_err());
    assert!(Response::parse(b"* 1 FETCH ()\r\n").is_err());
    assert!(Response::parse(b"* LIST () \"ab\" x\r\n").is_err());
    let e = Response::parse(b"* OK hi\r\nextra").unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::TrailingData);
    let mut deep = b"* 1 FETCH (BODYSTRUCTURE ".to_vec();
    deep.extend(std::iter::repeat_n(b'(', 200));
    let e = Response::parse(&deep).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::TooDeep);
}

#[test]
fn rev2_forms() {
    let t = crate::types::Tag::try_from("A7").unwrap();
    let ids = [
        std::num::NonZeroU32::new(2).unwrap(),
        std::num::NonZeroU32::new(5).unwrap(),
    ];
    let r1 = Response::Data(Data::search_result(Version::Rev1, &t, false, &ids, None));
    assert_eq!(r1.to_bytes(Version::Rev1), b"* SEARCH 2 5\r\n".to_vec());
    let r2 = Response::Data(Data::search_result(Version::Rev2, &t, true, &ids, None));
    assert_eq!(
        r2.to_bytes(Version::Rev2),
        b"* ESEARCH (TAG \"A7\") UID ALL 2,5\r\n".to_vec()
    );
    let lsub = Response::parse(b"* LSUB () \".\" foo\r\n").unwrap();
    assert_eq!(
        lsub.to_bytes(Version::Rev2),
        b"* LIST (\\Subscribed) \".\" foo\r\n".to_vec()
    );
    let recent = Response::Data(Data::Recent(3));
    assert_eq!(recent.to_bytes(Version::Rev2), Vec::<u8>::new());
    let st = Response::parse(b"* STATUS x (MESSAGES 2 RECENT 1)\r\n").unwrap();
    assert_eq!(
        st.to_bytes(Version::Rev2),
        b"* STATUS x (MESSAGES 2)\r\n".to_vec()
    );
}

/// All examples as one server stream, framed in client role at every split
/// point and byte by byte: same frames, one per example.
#[test]
fn examples_through_the_framer() {
    use crate::framer::{Frame, Framer, Role};
    let all: Vec<&str> = RFC_EXAMPLES.iter().chain(REAL_WORLD).copied().collect();
    let stream: Vec<u8> = all.iter().flat_map(|e| e.bytes()).collect();
    let run = |chunks: &[&[u8]]| {
        let mut f = Framer::new(Role::Client, crate::Limits::default());
        let mut out = Vec::new();
        for chunk in chunks {
            let mut input = *chunk;
            while let (used, Some(frame)) = f.feed(input) {
                input = &input[used..];
                let Frame::Complete(c) = frame else {
                    panic!("{frame:?}")
                };
                out.push(c);
            }
        }
        out
    };
    let whole = run(&[&stream]);
    let expected: Vec<Vec<u8>> = all.iter().map(|e| e.as_bytes().to_vec()).collect();
    assert_eq!(whole, expected);
    for cut in 0..=stream.len() {
        let (a, b) = stream.split_at(cut);
        assert_eq!(run(&[a, b]), whole, "split at {cut}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(run(&bytes), whole);
}

#[test]
fn status_constructors() {
    let t = crate::types::Tag::try_from("a1").unwrap();
    let cases = [
        (
            Status::ok(Some(t.clone()), Some(Code::ReadWrite), "SELECT completed"),
            "a1 OK [READ-WRITE] SELECT completed\r\n",
        ),
        (Status::no(None, None, "bad\r\nthing"), "* NO \r\n"),
        (Status::bad(Some(t), None, "[x"), "a1 BAD \r\n"),
        (Status::bye(None, "Logging out"), "* BYE Logging out\r\n"),
        (
            Status::preauth(Some(Code::Alert), "hi"),
            "* PREAUTH [ALERT] hi\r\n",
        ),
    ];
    for (status, wire) in cases {
        let r = Response::Status(status);
        assert_eq!(String::from_utf8_lossy(&r.to_bytes(Version::Rev2)), wire);
        assert_eq!(Response::parse(wire.as_bytes()), Ok(r));
    }
}
