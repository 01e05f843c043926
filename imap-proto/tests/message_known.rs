//! Hand-verified ENVELOPE, BODYSTRUCTURE, BODY[section] and BINARY answers
//! for the messages in testdata/ (see testdata/README.md). Sizes and line
//! counts were counted by hand on the stored octets (LF files count LF
//! line ends as one octet; Dovecot would report CRLF-normalised sizes).

use imap_proto::Version;
use imap_proto::command::{Part, Section};
use imap_proto::encode::Encode;
use imap_proto::message::*;
use imap_proto::types::AString;
use std::num::{NonZeroU32, NonZeroU64};

fn load(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn text<T: Encode>(v: &T) -> String {
    String::from_utf8_lossy(&v.to_bytes(Version::Rev1)).into_owned()
}

fn path(p: &[u32]) -> Vec<NonZeroU32> {
    p.iter().map(|n| NonZeroU32::new(*n).unwrap()).collect()
}

fn part(p: &[u32]) -> Part {
    Part::new(path(p)).unwrap()
}

fn section(msg: &MessageView<'_>, s: Option<Section>) -> Option<String> {
    let d = body_section(msg, s.as_ref(), None);
    d.bytes(msg)
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

fn header_env(bytes: &[u8], msg: &MessageView<'_>) -> String {
    text(&envelope(
        &bytes[..usize::try_from(msg.root().body_start).unwrap()],
    ))
}

#[test]
fn alternative_small() {
    let bytes = load("alternative_small.eml");
    let msg = MessageView::parse(&bytes);
    assert_eq!(
        header_env(&bytes, &msg),
        r#"(NIL "Multipart Email Example" ((NIL NIL "sender" "example.com")) ((NIL NIL "sender" "example.com")) ((NIL NIL "sender" "example.com")) ((NIL NIL "recipient" "example.com")) NIL NIL NIL NIL)"#
    );
    assert_eq!(
        text(&body_structure(&msg)),
        r#"(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 87 2 NIL ("inline" NIL) NIL NIL)("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" 93 2 NIL ("inline" NIL) NIL NIL) "alternative" ("boundary" "boundary-string") NIL NIL NIL)"#
    );
    assert_eq!(
        text(&body(&msg)),
        r#"(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 87 2)("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" 93 2) "alternative")"#
    );
    assert_eq!(
        section(&msg, Some(Section::Part(part(&[1])))).as_deref(),
        Some(
            "Plain text email goes here!\nThis is the fallback if email client does not support HTML\n"
        )
    );
    assert_eq!(
        section(&msg, Some(Section::Mime(part(&[2])))).as_deref(),
        Some(
            "Content-Type: text/html; charset=\"utf-8\"\nContent-Transfer-Encoding: quoted-printable\nContent-Disposition: inline\n\n"
        )
    );
    // HEADER.FIELDS keeps message order and the original line ends.
    let fields = Section::HeaderFields {
        part: None,
        not: false,
        fields: vec![
            AString::from_bytes(b"subject").unwrap(),
            AString::from_bytes(b"FROM").unwrap(),
        ],
    };
    assert_eq!(
        section(&msg, Some(fields)).as_deref(),
        Some("From: sender@example.com\nSubject: Multipart Email Example\n\n")
    );
    let not = Section::HeaderFields {
        part: None,
        not: true,
        fields: vec![
            AString::from_bytes(b"subject").unwrap(),
            AString::from_bytes(b"content-type").unwrap(),
        ],
    };
    assert_eq!(
        section(&msg, Some(not)).as_deref(),
        Some("From: sender@example.com\nTo: recipient@example.com\n\n")
    );
    // Parts that do not exist.
    assert_eq!(section(&msg, Some(Section::Part(part(&[3])))), None);
    assert_eq!(section(&msg, Some(Section::Part(part(&[1, 1])))), None);
    assert_eq!(section(&msg, Some(Section::Header(Some(part(&[1]))))), None);
    // Partial fetches: <0.4>, and an origin past the end.
    let four = NonZeroU64::new(4).unwrap();
    let p = body_section(&msg, Some(&Section::Part(part(&[1]))), Some((6, four)));
    assert_eq!(p.bytes(&msg), Some(&b"text"[..]));
    let p = body_section(&msg, Some(&Section::Part(part(&[1]))), Some((1000, four)));
    assert_eq!(
        p,
        SectionData::Range(p_start(&msg, &[1])..p_start(&msg, &[1]) + 87).partial(1000, four)
    );
    assert!(p.is_empty());
    assert_eq!(rfc822_size(&msg), 616);
    assert_eq!(rfc822_header(&msg), 0..149);
    assert_eq!(rfc822_text(&msg), 149..616);
}

fn p_start(msg: &MessageView<'_>, p: &[u32]) -> u64 {
    find_part(msg.root(), &path(p)).unwrap().body_start
}

#[test]
fn digest_defaults_to_message_rfc822() {
    let bytes = load("digest.eml");
    let msg = MessageView::parse(&bytes);
    assert_eq!(
        header_env(&bytes, &msg),
        r#"("Mon, 22 Mar 1994 13:34:51 +0000" "Internet Digest, volume 42" ((NIL NIL "Moderator-Address" "MISSING_DOMAIN")) ((NIL NIL "Moderator-Address" "MISSING_DOMAIN")) ((NIL NIL "Moderator-Address" "MISSING_DOMAIN")) ((NIL NIL "Recipient-List" "MISSING_DOMAIN")) NIL NIL NIL NIL)"#
    );
    assert_eq!(
        text(&body_structure(&msg)),
        r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 45 1 NIL NIL NIL NIL)(("message" "rfc822" NIL NIL NIL "7bit" 100 ("Fri, 26 Mar 1993 11:13:32 +0200" "my opinion" ((NIL NIL "someone-else" "MISSING_DOMAIN")) ((NIL NIL "someone-else" "MISSING_DOMAIN")) ((NIL NIL "someone-else" "MISSING_DOMAIN")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 22 1 NIL NIL NIL NIL) 5 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 125 ("Fri, 26 Mar 1993 10:07:13 -0500" "my different opinion" ((NIL NIL "someone-else-again" "MISSING_DOMAIN")) ((NIL NIL "someone-else-again" "MISSING_DOMAIN")) ((NIL NIL "someone-else-again" "MISSING_DOMAIN")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 31 1 NIL NIL NIL NIL) 5 NIL NIL NIL NIL) "digest" ("boundary" "---- next message ----") NIL NIL NIL) "mixed" ("boundary" "---- main boundary ----") NIL NIL NIL)"#
    );
    assert_eq!(
        section(&msg, Some(Section::Header(Some(part(&[2, 2]))))).as_deref(),
        Some(
            "From: someone-else-again\nDate: Fri, 26 Mar 1993 10:07:13 -0500\nSubject: my different opinion\n\n"
        )
    );
    assert_eq!(
        section(&msg, Some(Section::Text(Some(part(&[2, 1]))))).as_deref(),
        Some("...body goes here ...\n")
    );
    // 2.1.1: the encapsulated message is single-part, so part 1 is its body.
    assert_eq!(
        section(&msg, Some(Section::Part(part(&[2, 1, 1])))).as_deref(),
        Some("...body goes here ...\n")
    );
    assert_eq!(section(&msg, Some(Section::Part(part(&[2, 1, 2])))), None);
}

#[test]
fn dovecot_nested_message() {
    let bytes = load("mixed_rfc822_dovecot.eml");
    let msg = MessageView::parse(&bytes);
    assert_eq!(
        text(&body_structure(&msg)),
        r#"(("text" "x-myown" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 433 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) NIL NIL NIL NIL NIL) (("text" "html" NIL NIL NIL "7bit" 19 1 NIL NIL NIL NIL)((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 9 1 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) "alternative" ("boundary" "sub3") NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) "alternative" ("boundary" "sub2") NIL NIL NIL) "alternative" ("boundary" "sub1") NIL NIL NIL) 32 NIL NIL NIL NIL)("text" "plain" NIL NIL NIL "7bit" 12 1 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL)"#
    );
    let s = |p: &[u32]| section(&msg, Some(Section::Part(part(p))));
    assert_eq!(s(&[1]).as_deref(), Some("hello\n"));
    assert_eq!(s(&[2, 1]).as_deref(), Some("<p>Hello world</p>\n"));
    assert_eq!(s(&[2, 2, 1, 1]).as_deref(), Some("sub3 text"));
    assert_eq!(s(&[2, 2, 1, 2]).as_deref(), Some("sub3 text2"));
    assert_eq!(s(&[2, 2, 2]).as_deref(), Some("sub2 text2"));
    assert_eq!(s(&[3]).as_deref(), Some("Another part"));
    assert!(s(&[2]).unwrap().starts_with("From: sub@domain.org\n"));
    assert!(s(&[2]).unwrap().ends_with("--sub1--\nSub MIME epilogue\n"));
    assert_eq!(
        section(&msg, Some(Section::Header(Some(part(&[2]))))).as_deref(),
        Some(
            "From: sub@domain.org\nDate: Sun, 12 Aug 2012 12:34:56 +0300\nSubject: submsg\nContent-Type: multipart/alternative; boundary=\"sub1\"\n\n"
        )
    );
    assert_eq!(
        section(&msg, Some(Section::Mime(part(&[2, 2, 1])))).as_deref(),
        Some("Content-Type: multipart/alternative; boundary=\"sub3\"\n\n")
    );
    let t = section(&msg, Some(Section::Text(Some(part(&[2]))))).unwrap();
    assert!(t.starts_with("Sub MIME prologue\n--sub1\n"));
    let fields = Section::HeaderFields {
        part: Some(part(&[2])),
        not: false,
        fields: vec![AString::from_bytes(b"Subject").unwrap()],
    };
    assert_eq!(
        section(&msg, Some(fields)).as_deref(),
        Some("Subject: submsg\n\n")
    );
}

#[test]
fn charsets_in_headers_stay_encoded() {
    // RFC 3501 §7.4.2: ENVELOPE strings are the header as stored.
    let cases = [
        (
            "utf7_headers.eml",
            r#"("Wed, 17 May 2000 19:18:39 -0400" "=?utf-7?Q?Die_Hasen_und_die_Fr+APY-sche_=28Microsoft_Outlook_00=29?=" (("Doug Sauder" NIL "doug" "example.com")) (("Doug Sauder" NIL "doug" "example.com")) (("Doug Sauder" NIL "doug" "example.com")) (("Joe Blow" NIL "jblow" "example.com")("=?utf-7?B?SitBUHctcmdlbiBTY2htK0FQdy1yZ2Vu?=" NIL "schmuergen" "example.com")) NIL NIL NIL "<NDBBIAKOPKHFGPLCODIGMEKCCHAA.doug@example.com>")"#,
            r#"("text" "plain" ("charset" "utf-7") NIL NIL "quoted-printable" 877 18 NIL NIL NIL NIL)"#,
        ),
        (
            "windows1252_headers.eml",
            r#"("Wed, 17 May 2000 19:30:20 -0400" "=?Windows-1252?Q?Die_Hasen_und_die_Fr=F6sche_=28Microsoft_Outlook_00=29?=" (("Doug Sauder" NIL "doug" "example.com")) (("Doug Sauder" NIL "doug" "example.com")) (("Doug Sauder" NIL "doug" "example.com")) (("=?Windows-1252?Q?Heinz_M=FCller?=" NIL "mueller" "example.com")) NIL NIL NIL "<NDBBIAKOPKHFGPLCODIGCEKECHAA.doug@example.com>")"#,
            r#"("text" "plain" ("charset" "Windows-1252") NIL NIL "quoted-printable" 807 15 NIL NIL NIL NIL)"#,
        ),
        (
            "latin1_headers_8bit.eml",
            r#"("Wed, 17 May 2000 19:13:51 -0400" "=?iso-8859-1?Q?Die_Hasen_und_die_Fr=F6sche_=28Microsoft_Outlook_00=29?=" (("Doug Sauder" NIL "doug" "example.com")) (("Doug Sauder" NIL "doug" "example.com")) (("Doug Sauder" NIL "doug" "example.com")) (("=?iso-8859-1?B?SvxyZ2VuIFNjaG38cmdlbg==?=" NIL "schmuergen" "example.com")) NIL NIL NIL "<NDBBIAKOPKHFGPLCODIGEEKCCHAA.doug@example.com>")"#,
            r#"("text" "plain" ("charset" "iso-8859-1") NIL NIL "8bit" 752 16 NIL NIL NIL NIL)"#,
        ),
        (
            "utf8_qp_headers.eml",
            r#"("Wed, 17 May 2000 19:27:04 -0400" "=?utf-8?Q?Die_Hasen_und_die_Fr=C3=B6sche_=28Microsoft_Outlook_00=29?=" (("Doug Sauder" NIL "doug" "example.com")) (("Doug Sauder" NIL "doug" "example.com")) (("Doug Sauder" NIL "doug" "example.com")) (("=?utf-8?Q?Heinz_M=C3=BCller?=" NIL "mueller" "example.com")) NIL NIL NIL "<NDBBIAKOPKHFGPLCODIGKEKDCHAA.doug@example.com>")"#,
            r#"("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 861 17 NIL NIL NIL NIL)"#,
        ),
        (
            "alternative.eml",
            r#"("Fri, 19 May 2000 00:29:55 -0400" "=?iso-8859-1?Q?Die_Hasen_und_die_Fr=F6sche?=" (("Doug Sauder" NIL "dwsauder" "example.com")) (("Doug Sauder" NIL "dwsauder" "example.com")) (("Doug Sauder" NIL "dwsauder" "example.com")) (("Heinz =?iso-8859-1?Q?M=FCller?=" NIL "mueller" "example.com")) NIL NIL NIL "<4.2.0.58.20000519002557.00a88870@pop.example.com>")"#,
            r#"(("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 809 16 NIL NIL NIL NIL)("text" "html" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 997 23 NIL NIL NIL NIL) "alternative" ("boundary" "=====================_714967308==_.ALT") NIL NIL NIL)"#,
        ),
    ];
    for (file, env, bs) in cases {
        let bytes = load(file);
        let msg = MessageView::parse(&bytes);
        assert_eq!(header_env(&bytes, &msg), env, "{file}");
        assert_eq!(text(&body_structure(&msg)), bs, "{file}");
        // The single part of a non-multipart message is part 1 = TEXT.
        assert_eq!(
            body_section(&msg, Some(&Section::Part(part(&[1]))), None),
            if file == "alternative.eml" {
                SectionData::Range(find_part(msg.root(), &path(&[1])).unwrap().body_range())
            } else {
                SectionData::Range(rfc822_text(&msg))
            },
            "{file}"
        );
    }
}

#[test]
fn eight_bit_parameters_go_out_as_literals() {
    let bytes = load("utf8_8bit_body.eml");
    let msg = MessageView::parse(&bytes);
    let bs = body_structure(&msg).to_bytes(Version::Rev1);
    let mut want = br#"(("text" "plain" NIL NIL NIL "binary" 18 1 NIL NIL "ja" NIL) "mixed" ("boundary" "1" "comment" {18}"#.to_vec();
    want.extend_from_slice(b"\r\n");
    assert!(bs.starts_with(&want));
    let tail = &bs[want.len()..];
    // The 18 octets are the raw UTF-8 parameter value.
    assert_eq!(&tail[..18], "人権の無視及".as_bytes());
    assert_eq!(tail.len(), 18 + ") NIL NIL NIL)".len());
    assert!(tail.ends_with(b") NIL NIL NIL)"));
    // BINARY of a "binary" part is the stored octets.
    let b = binary(&msg, &path(&[1]), None).unwrap();
    assert_eq!(b.bytes(&msg).map(<[u8]>::len), Some(18));
    assert_eq!(binary_size(&msg, &path(&[1])), Ok(18));
}

#[test]
fn attachment_binary_decoding() {
    let bytes = load("mixed_attachment.eml");
    let msg = MessageView::parse(&bytes);
    assert_eq!(
        text(&body_structure(&msg)),
        r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 1 NIL NIL NIL NIL)("image" "png" ("name" "blueball.png") NIL NIL "base64" 1816 NIL ("inline" ("filename" "blueball.png")) NIL NIL) "mixed" ("boundary" "------------E7889DDF0F75D34163841C59") NIL NIL NIL)"#
    );
    let png = binary(&msg, &path(&[2]), None).unwrap();
    let SectionData::Owned(v) = &png else {
        panic!("{png:?}")
    };
    assert_eq!(&v[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(v.len(), 1325);
    assert_eq!(binary_size(&msg, &path(&[2])), Ok(1325));
    let part = binary(&msg, &path(&[2]), Some((1, NonZeroU64::new(3).unwrap()))).unwrap();
    assert_eq!(part, SectionData::Owned(b"PNG".to_vec()));
    assert_eq!(binary(&msg, &path(&[3]), None), Err(BinaryError::Missing));
    // BINARY[] is the whole message, undecoded.
    assert_eq!(
        binary(&msg, &[], None),
        Ok(SectionData::Range(0..bytes.len() as u64))
    );
}

#[test]
fn unknown_transfer_encoding() {
    let bytes =
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n";
    let msg = MessageView::parse(bytes);
    assert_eq!(
        binary(&msg, &path(&[1]), None),
        Err(BinaryError::UnknownCte(b"x-uuencode".to_vec()))
    );
    assert_eq!(
        binary_size(&msg, &path(&[1])),
        Err(BinaryError::UnknownCte(b"x-uuencode".to_vec()))
    );
    let qp = b"Content-Transfer-Encoding: Quoted-Printable\r\n\r\nFr=C3=B6sche=\r\n!";
    let msg = MessageView::parse(qp);
    assert_eq!(
        binary(&msg, &path(&[1]), None),
        Ok(SectionData::Owned("Fr\u{f6}sche!".as_bytes().to_vec()))
    );
}

#[test]
fn malformed_mime_best_effort() {
    let cases = [
        (
            "malformed_empty_multipart.eml",
            r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "ab") NIL NIL NIL)"#,
        ),
        (
            "malformed_boundary.eml",
            r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" ":foo") NIL NIL NIL)"#,
        ),
        (
            "malformed_truncated.eml",
            r#"(("text" "plain" NIL NIL NIL "7bit" 12 1 NIL NIL NIL NIL) "mixed" ("boundary" "1") NIL NIL NIL)"#,
        ),
        (
            "malformed_rfc822_chain.eml",
            r#"("message" "rfc822" NIL NIL NIL "7bit" 58 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("message" "rfc822" NIL NIL NIL "7bit" 28 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" NIL NIL NIL "7bit" 2 1 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) 5 NIL NIL NIL NIL)"#,
        ),
        // The broken attachment stops at the boundary (mail-parser alone
        // would run it to the end of the message).
        (
            "malformed_mixed_rfc822.eml",
            r#"(("text" "plain" NIL NIL NIL "7bit" 5 1 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 42 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) 1 NIL ("attachment" ("filename" "broken.eml")) NIL NIL) "mixed" ("boundary" "BOUND") NIL NIL NIL)"#,
        ),
    ];
    for (file, bs) in cases {
        let bytes = load(file);
        let msg = MessageView::parse(&bytes);
        assert_eq!(text(&body_structure(&msg)), bs, "{file}");
    }
    let bytes = load("malformed_rfc822_chain.eml");
    let msg = MessageView::parse(&bytes);
    // Part 1 is the encapsulated message, 1.1 the body of its only part
    // (itself a message), 1.1.1 the body of the innermost one.
    assert_eq!(
        section(&msg, Some(Section::Part(part(&[1, 1])))).as_deref(),
        Some("Content-Type: text/plain\n\n1\n")
    );
    assert_eq!(
        section(&msg, Some(Section::Part(part(&[1, 1, 1])))).as_deref(),
        Some("1\n")
    );
    assert_eq!(
        section(&msg, Some(Section::Header(Some(part(&[1]))))).as_deref(),
        Some("Content-Type: message/rfc822\n\n")
    );
    let bytes = load("malformed_mixed_rfc822.eml");
    let msg = MessageView::parse(&bytes);
    assert_eq!(
        section(&msg, Some(Section::Part(part(&[2])))).as_deref(),
        Some("this attachment is not a valid eml, sorry!")
    );
    // Still an encapsulated message: all header, no body.
    assert_eq!(
        section(&msg, Some(Section::Header(Some(part(&[2]))))).as_deref(),
        Some("this attachment is not a valid eml, sorry!")
    );
    assert_eq!(
        section(&msg, Some(Section::Text(Some(part(&[2]))))).as_deref(),
        Some("")
    );
    assert_eq!(
        section(&msg, Some(Section::Part(part(&[2, 1])))).as_deref(),
        Some("")
    );
}

#[test]
fn nested_message_envelope() {
    let bytes = load("nested_rfc822.eml");
    let msg = MessageView::parse(&bytes);
    assert_eq!(
        header_env(&bytes, &msg),
        r#"(NIL "[Fwd: Map of Argentina with Description]" (("Al Gore" NIL "vice-president" "whitehouse.gov")) (("Al Gore" NIL "vice-president" "whitehouse.gov")) (("Al Gore" NIL "vice-president" "whitehouse.gov")) (("White House Transportation Coordinator" NIL "transport" "whitehouse.gov")) NIL NIL NIL NIL)"#
    );
    let bs = text(&body_structure(&msg));
    assert!(bs.starts_with(r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 61 6 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 1979 ("Mon, 13 Aug 1998 17:42:41 +1000" "Map of Argentina with Description" (("Bill Clinton" NIL "president" "whitehouse.gov"))"#), "{bs}");
    assert_eq!(
        section(&msg, Some(Section::Part(part(&[1])))).as_deref(),
        Some("Fred,\n\nFire up Air Force One!  We're going South!\n\nThanks,\nAl")
    );
}

#[test]
fn stored_offsets_are_checked() {
    let bytes = load("alternative_small.eml");
    let parsed = MessageView::parse(&bytes);
    // Offsets that do not fit the bytes are ignored in favour of parsing.
    let mut bad = parsed.root().clone();
    bad.end = 10_000;
    let msg = MessageView::with_offsets(&bytes, bad);
    assert_eq!(msg.root(), parsed.root());
    // Good ones are used as given.
    let good = parsed.root().clone();
    assert_eq!(
        MessageView::with_offsets(&bytes, good.clone()).root(),
        &good
    );
}
