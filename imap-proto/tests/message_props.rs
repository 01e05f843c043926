//! Property tests: no input makes a message helper panic, section ranges
//! always lie within the message, and HEADER followed by TEXT is the whole
//! message.

use imap_proto::Version;
use imap_proto::command::{Part, SearchKey, Section};
use imap_proto::encode::Encode;
use imap_proto::message::*;
use imap_proto::types::{AString, Date, DateTime};
use proptest::prelude::*;
use std::num::{NonZeroU32, NonZeroU64};

/// Pieces that make random bytes look like MIME, so the generator reaches
/// multipart, nested message and encoding paths.
const PIECES: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"Content-Type: multipart/mixed; boundary=\"b\"\r\n",
    b"Content-Type: multipart/digest; boundary=b\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: text/plain; charset=iso-8859-1\r\n",
    b"Content-Type: multipart/alternative; boundary=c\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Disposition: attachment; filename*0=a; filename*1=b\r\n",
    b"Content-Language: en, de\r\n",
    b"--b\r\n",
    b"--b--\r\n",
    b"--c\n",
    b"--c--\n",
    b"From: \"A, B\" <a@b>, g: c@d, (x) e;\r\n",
    b"To: =?utf-8?q?=C3=A9?= <x@y>\r\n",
    b"Subject: =?iso-8859-1?b?5Q==?=\r\n",
    b"Date: Mon, 1 Jan 2024 10:00:00 +0100\r\n",
    b" folded\r\n",
    b"aGVsbG8=\r\n",
    b"=C3=A9=\r\n",
    b"\x00\xff\xfe",
    b"(((<<<@@@:::;;;\"\"\"",
];

fn message() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        proptest::collection::vec(
            prop_oneof![
                (0..PIECES.len()).prop_map(|i| PIECES[i].to_vec()),
                proptest::collection::vec(any::<u8>(), 0..8),
                "[a-z ]{0,12}".prop_map(String::into_bytes),
            ],
            0..60
        )
        .prop_map(|v| v.concat()),
    ]
}

fn paths(root: &PartOffsets) -> Vec<Vec<NonZeroU32>> {
    let one = NonZeroU32::new(1).unwrap();
    let two = NonZeroU32::new(2).unwrap();
    let mut out = vec![
        vec![one],
        vec![two],
        vec![one, one],
        vec![two, one],
        vec![one, two, one],
    ];
    if root.children.len() > 2 {
        out.push(vec![NonZeroU32::new(3).unwrap()]);
    }
    out
}

fn check(bytes: &[u8]) {
    let len = bytes.len() as u64;
    let msg = MessageView::parse(bytes);
    assert!(msg.root().is_valid(len));
    let _ = body_structure(&msg).to_bytes(Version::Rev1);
    let _ = body(&msg).to_bytes(Version::Rev2);
    let h = usize::try_from(msg.root().body_start).unwrap();
    let _ = envelope(&bytes[..h]).to_bytes(Version::Rev1);
    // HEADER + TEXT = the whole message.
    let head = body_section(&msg, Some(&Section::Header(None)), None);
    let text = body_section(&msg, Some(&Section::Text(None)), None);
    let (SectionData::Range(a), SectionData::Range(b)) = (&head, &text) else {
        panic!("{head:?} {text:?}")
    };
    assert_eq!((a.start, a.end, b.end), (0, b.start, len));
    let mut whole = head.bytes(&msg).unwrap().to_vec();
    whole.extend_from_slice(text.bytes(&msg).unwrap());
    assert_eq!(whole, bytes);
    for p in paths(msg.root()) {
        let part = Part::new(p.clone()).unwrap();
        let sections = [
            Section::Part(part.clone()),
            Section::Mime(part.clone()),
            Section::Header(Some(part.clone())),
            Section::Text(Some(part.clone())),
            Section::HeaderFields {
                part: Some(part.clone()),
                not: false,
                fields: vec![AString::from_bytes(b"Content-Type").unwrap()],
            },
        ];
        for s in &sections {
            for partial in [None, Some((2, NonZeroU64::new(5).unwrap()))] {
                if let SectionData::Range(r) = body_section(&msg, Some(s), partial) {
                    assert!(r.start <= r.end && r.end <= len, "{s:?} {r:?}");
                    if let Some((_, n)) = partial {
                        assert!(r.end - r.start <= n.get());
                    }
                }
            }
        }
        if let Ok(SectionData::Range(r)) = binary(&msg, &p, None) {
            assert!(r.start <= r.end && r.end <= len);
        }
        let _ = binary_size(&msg, &p);
    }
    let kw = |x: &str| AString::from_bytes(x.as_bytes()).unwrap();
    let prog = SearchProgram::new(&[SearchKey::Or(
        Box::new(SearchKey::Text(kw("é"))),
        Box::new(SearchKey::And(vec![
            SearchKey::From(kw("a")),
            SearchKey::SentSince(Date::new(2000, 1, 1).unwrap()),
            SearchKey::Header(kw("x"), kw("")),
        ])),
    )]);
    let sm = SearchMessage::new(bytes, prog.needs());
    let meta = MessageMeta {
        seq: 1,
        uid: 1,
        flags: &[],
        recent: false,
        internal_date: DateTime::new(Date::new(2024, 1, 1).unwrap(), 0, 0, 0, 0).unwrap(),
        size: len,
        mod_seq: 1,
        email_id: None,
        save_date: None,
    };
    let _ = prog.matches(
        &meta,
        Some(&sm),
        &SearchScope {
            max_seq: 1,
            max_uid: 1,
        },
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn helpers_never_panic(bytes in message()) {
        check(&bytes);
    }

    #[test]
    fn envelope_of_any_header(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let e = envelope(&bytes);
        let _ = e.to_bytes(Version::Rev1);
    }

    /// Stored offsets, however wrong, never make a helper read out of
    /// bounds: bad ones are refused and the message is parsed instead.
    #[test]
    fn arbitrary_offsets(bytes in message(), hs in 0u64..500, bs in 0u64..500, end in 0u64..500) {
        let root = PartOffsets {
            kind: PartKind::Leaf,
            header_start: hs,
            body_start: bs,
            end,
            children: Vec::new(),
        };
        let msg = MessageView::with_offsets(&bytes, root);
        assert!(msg.root().is_valid(bytes.len() as u64));
        let _ = body_structure(&msg);
    }
}

#[test]
fn deep_nesting_is_bounded() {
    // 200 nested message/rfc822 and 200 nested multiparts.
    let mut m = Vec::new();
    for _ in 0..200 {
        m.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    m.extend_from_slice(b"Subject: x\r\n\r\nbody\r\n");
    check(&m);
    let msg = MessageView::parse(&m);
    let bs = body_structure(&msg).to_bytes(Version::Rev1);
    assert!(bs.len() < 100_000, "{}", bs.len());
    let mut m = Vec::new();
    for i in 0..200 {
        m.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n")
                .as_bytes(),
        );
    }
    m.extend_from_slice(b"\r\ninner\r\n");
    check(&m);
    // base64-encoded message/rfc822 inside message/rfc822, 12 levels (each adds a third to the size; more only makes the test slow).
    use base64::Engine;
    let mut inner = b"Subject: deepest\r\n\r\nhi\r\n".to_vec();
    for _ in 0..12 {
        let enc = base64::engine::general_purpose::STANDARD.encode(&inner);
        inner = format!(
            "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{enc}\r\n"
        )
        .into_bytes();
    }
    check(&inner);
}
