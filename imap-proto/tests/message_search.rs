//! SEARCH evaluation (RFC 9051 §6.4.4) and SEARCH/ESEARCH answers, with
//! exact expected results on hand-built metadata and testdata messages.

use imap_proto::Version;
use imap_proto::command::{SearchKey, SearchReturnOption};
use imap_proto::encode::Encode;
use imap_proto::message::*;
use imap_proto::response::{Data, ESearchItem};
use imap_proto::types::{
    AString, Atom, Date, DateTime, Flag, SeqOrUid, Sequence, SequenceSet, Tag,
};
use std::num::NonZeroU32;

fn s(x: &str) -> AString {
    AString::from_bytes(x.as_bytes()).unwrap()
}

fn d(y: u16, m: u8, day: u8) -> Date {
    Date::new(y, m, day).unwrap()
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

fn set(items: &[(u32, Option<u32>)]) -> SequenceSet {
    let v = |n: u32| {
        if n == 0 {
            SeqOrUid::Asterisk
        } else {
            SeqOrUid::Value(nz(n))
        }
    };
    SequenceSet::new(
        items
            .iter()
            .map(|(a, b)| match b {
                None => Sequence::Single(v(*a)),
                Some(b) => Sequence::Range(v(*a), v(*b)),
            })
            .collect(),
    )
    .unwrap()
}

const SCOPE: SearchScope = SearchScope {
    max_seq: 10,
    max_uid: 500,
};

fn meta(flags: &[Flag]) -> MessageMeta<'_> {
    MessageMeta {
        seq: 3,
        uid: 120,
        flags,
        recent: true,
        // 23:30 at -0500 is already the next day in UTC; the date as
        // stored is what counts.
        internal_date: DateTime::new(d(2024, 2, 29), 23, 30, 0, -300).unwrap(),
        size: 2048,
        mod_seq: 77,
        email_id: None,
        save_date: None,
    }
}

fn eval_meta(keys: &[SearchKey], m: &MessageMeta<'_>) -> bool {
    let p = SearchProgram::new(keys);
    assert_eq!(p.needs(), Needs::Metadata, "{keys:?}");
    p.matches(m, None, &SCOPE)
}

#[test]
fn metadata_keys() {
    let kw = Atom::try_from("$Forwarded").unwrap();
    let flags = [Flag::Seen, Flag::Flagged, Flag::Keyword(kw.clone())];
    let m = meta(&flags);
    let not = |k: SearchKey| SearchKey::Not(Box::new(k));
    let or = |a: SearchKey, b: SearchKey| SearchKey::Or(Box::new(a), Box::new(b));
    let cases: Vec<(SearchKey, bool)> = vec![
        (SearchKey::All, true),
        (SearchKey::Seen, true),
        (SearchKey::Unseen, false),
        (SearchKey::Flagged, true),
        (SearchKey::Unflagged, false),
        (SearchKey::Answered, false),
        (SearchKey::Unanswered, true),
        (SearchKey::Deleted, false),
        (SearchKey::Undeleted, true),
        (SearchKey::Draft, false),
        (SearchKey::Undraft, true),
        (SearchKey::Keyword(kw.clone()), true),
        (
            SearchKey::Keyword(Atom::try_from("$forwarded").unwrap()),
            true,
        ),
        (SearchKey::Unkeyword(kw.clone()), false),
        (SearchKey::Keyword(Atom::try_from("$Junk").unwrap()), false),
        (SearchKey::Recent, true),
        (SearchKey::Old, false),
        // NEW = RECENT UNSEEN; this one is seen.
        (SearchKey::New, false),
        (SearchKey::Before(d(2024, 2, 29)), false),
        (SearchKey::Before(d(2024, 3, 1)), true),
        (SearchKey::On(d(2024, 2, 29)), true),
        (SearchKey::On(d(2024, 3, 1)), false),
        (SearchKey::Since(d(2024, 2, 29)), true),
        (SearchKey::Since(d(2024, 3, 1)), false),
        (SearchKey::Larger(2047), true),
        (SearchKey::Larger(2048), false),
        (SearchKey::Smaller(2049), true),
        (SearchKey::Smaller(2048), false),
        (SearchKey::Uid(set(&[(100, Some(130))])), true),
        (SearchKey::Uid(set(&[(121, Some(0))])), false),
        (SearchKey::Uid(set(&[(500, Some(120))])), true),
        (SearchKey::SequenceSet(set(&[(1, None), (3, None)])), true),
        (SearchKey::SequenceSet(set(&[(4, Some(0))])), false),
        (SearchKey::SequenceSet(set(&[(0, None)])), false),
        (
            SearchKey::ModSeq {
                entry: None,
                mod_seq: 77,
            },
            true,
        ),
        (
            SearchKey::ModSeq {
                entry: None,
                mod_seq: 78,
            },
            false,
        ),
        (not(SearchKey::Seen), false),
        (or(SearchKey::Answered, SearchKey::Flagged), true),
        (or(SearchKey::Answered, SearchKey::Deleted), false),
        (
            SearchKey::And(vec![SearchKey::Seen, not(SearchKey::Deleted)]),
            true,
        ),
        (
            SearchKey::And(vec![SearchKey::Seen, SearchKey::Deleted]),
            false,
        ),
        (
            not(or(
                SearchKey::And(vec![SearchKey::Draft, SearchKey::Seen]),
                not(SearchKey::Recent),
            )),
            true,
        ),
        (SearchKey::SequenceSet(SequenceSet::search_result()), false),
    ];
    for (k, want) in cases {
        assert_eq!(eval_meta(std::slice::from_ref(&k), &m), want, "{k:?}");
    }
    // Several keys are ANDed.
    assert!(eval_meta(&[SearchKey::Seen, SearchKey::Flagged], &m));
    assert!(!eval_meta(&[SearchKey::Seen, SearchKey::Draft], &m));
    // NEW on an unseen recent message.
    assert!(eval_meta(&[SearchKey::New], &meta(&[])));
    let p = SearchProgram::new(&[SearchKey::ModSeq {
        entry: None,
        mod_seq: 1,
    }]);
    assert!(p.has_modseq());
    assert!(!SearchProgram::new(&[SearchKey::All]).has_modseq());
}

fn load(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn eval_msg(file: &str, k: SearchKey) -> bool {
    let bytes = load(file);
    let p = SearchProgram::new(std::slice::from_ref(&k));
    let sm = SearchMessage::new(&bytes, p.needs());
    p.matches(&meta(&[]), Some(&sm), &SCOPE)
}

#[test]
fn header_and_body_keys_on_decoded_text() {
    let l1 = "latin1_headers_8bit.eml";
    let cases: Vec<(&str, SearchKey, bool)> = vec![
        // ISO-8859-1 Q encoded word, matched case-insensitively on UTF-8.
        (l1, SearchKey::Subject(s("FRÖSCHE (microsoft")), true),
        (l1, SearchKey::Subject(s("Kröte")), false),
        // ISO-8859-1 B encoded display name.
        (l1, SearchKey::To(s("jürgen schmürgen")), true),
        (l1, SearchKey::To(s("schmuergen@example")), true),
        (l1, SearchKey::From(s("SAUDER")), true),
        (l1, SearchKey::From(s("schmuergen")), false),
        (l1, SearchKey::Cc(s("")), false),
        (l1, SearchKey::Bcc(s("doug")), false),
        (l1, SearchKey::Header(s("x-priority"), s("normal")), true),
        // An empty string matches every message with the field.
        (l1, SearchKey::Header(s("Importance"), s("")), true),
        (l1, SearchKey::Header(s("X-Absent"), s("")), false),
        (l1, SearchKey::Header(s("Message-ID"), s("ndbbiakop")), true),
        // The raw field text counts: the angle brackets of a Message-ID.
        (
            l1,
            SearchKey::Header(
                s("Message-ID"),
                s("<NDBBIAKOPKHFGPLCODIGEEKCCHAA.doug@example.com>"),
            ),
            true,
        ),
        // 8-bit ISO-8859-1 body converted to UTF-8.
        (l1, SearchKey::Body(s("über ihre mißliche")), true),
        (l1, SearchKey::Body(s("Importance")), false),
        (l1, SearchKey::Text(s("Importance")), true),
        (l1, SearchKey::Text(s("unglücklicher")), true),
        // Date: Wed, 17 May 2000 19:13:51 -0400
        (l1, SearchKey::SentOn(d(2000, 5, 17)), true),
        (l1, SearchKey::SentBefore(d(2000, 5, 17)), false),
        (l1, SearchKey::SentBefore(d(2000, 5, 18)), true),
        (l1, SearchKey::SentSince(d(2000, 5, 17)), true),
        (l1, SearchKey::SentSince(d(2000, 5, 18)), false),
        // Quoted-printable UTF-8 body and header.
        ("utf8_qp_headers.eml", SearchKey::Body(s("äRGER ALS")), true),
        (
            "utf8_qp_headers.eml",
            SearchKey::To(s("heinz müller")),
            true,
        ),
        // windows-1252 and UTF-7 encoded words.
        (
            "windows1252_headers.eml",
            SearchKey::Subject(s("Frösche")),
            true,
        ),
        ("utf7_headers.eml", SearchKey::Subject(s("Frösche")), true),
        // UTF-8 B encoded word with CJK text.
        (
            "utf8_8bit_body.eml",
            SearchKey::Subject(s("こんにちは")),
            true,
        ),
        ("utf8_8bit_body.eml", SearchKey::Body(s("人権")), true),
        // A message without Date: matches no SENT* key.
        (
            "utf8_8bit_body.eml",
            SearchKey::SentSince(d(1970, 1, 1)),
            false,
        ),
        // Base64 attachments are not searched as text; text parts are.
        (
            "mixed_attachment.eml",
            SearchKey::Body(s("iVBORw0KGgo")),
            false,
        ),
        // Nested message bodies are searched.
        ("nested_rfc822.eml", SearchKey::Body(s("Argentina")), true),
        (
            "nested_rfc822.eml",
            SearchKey::Body(s("Air Force One")),
            true,
        ),
    ];
    for (file, k, want) in cases {
        assert_eq!(eval_msg(file, k.clone()), want, "{file} {k:?}");
    }
}

#[test]
fn needs_analysis() {
    let n = |k: SearchKey| SearchProgram::new(&[k]).needs();
    assert_eq!(n(SearchKey::Seen), Needs::Metadata);
    assert_eq!(n(SearchKey::Uid(set(&[(1, Some(0))]))), Needs::Metadata);
    assert_eq!(n(SearchKey::From(s("x"))), Needs::Headers);
    assert_eq!(n(SearchKey::SentOn(d(2000, 1, 1))), Needs::Headers);
    assert_eq!(n(SearchKey::Header(s("a"), s("b"))), Needs::Headers);
    assert_eq!(n(SearchKey::Body(s("x"))), Needs::Body);
    assert_eq!(
        n(SearchKey::Or(
            Box::new(SearchKey::Seen),
            Box::new(SearchKey::Not(Box::new(SearchKey::Text(s("x")))))
        )),
        Needs::Body
    );
    assert_eq!(
        n(SearchKey::And(vec![
            SearchKey::Seen,
            SearchKey::Subject(s("x"))
        ])),
        Needs::Headers
    );
    // Without the message, header keys do not match.
    let p = SearchProgram::new(&[SearchKey::Subject(s(""))]);
    assert!(!p.matches(&meta(&[]), None, &SCOPE));
    // A header-only parse is enough for header keys.
    let bytes = load("latin1_headers_8bit.eml");
    let p = SearchProgram::new(&[SearchKey::Subject(s("frösche"))]);
    let sm = SearchMessage::new(&bytes, Needs::Headers);
    assert!(p.matches(&meta(&[]), Some(&sm), &SCOPE));
}

fn ids(v: &[u32]) -> Vec<NonZeroU32> {
    v.iter().map(|n| nz(*n)).collect()
}

#[test]
fn result_builders() {
    let txt = |s: &SequenceSet| String::from_utf8(s.to_bytes(Version::Rev1)).unwrap();
    assert_eq!(
        compact_sequence_set(&ids(&[8, 1, 2, 3, 5, 7, 3])).map(|s| txt(&s)),
        Some("1:3,5,7:8".to_string())
    );
    assert_eq!(
        compact_sequence_set(&ids(&[4294967295, 4294967294])).map(|s| txt(&s)),
        Some("4294967294:4294967295".to_string())
    );
    assert_eq!(compact_sequence_set(&[]), None);

    let matches = ids(&[2, 4, 5, 6, 9]);
    assert_eq!(
        esearch_items(
            &matches,
            &[
                SearchReturnOption::Min,
                SearchReturnOption::Max,
                SearchReturnOption::Count
            ],
            None
        ),
        vec![
            ESearchItem::Min(nz(2)),
            ESearchItem::Max(nz(9)),
            ESearchItem::Count(5)
        ]
    );
    assert_eq!(
        esearch_items(&matches, &[], Some(12)),
        vec![
            ESearchItem::All(compact_sequence_set(&ids(&[2, 4, 5, 6, 9])).unwrap()),
            ESearchItem::ModSeq(12)
        ]
    );
    // RFC 4731 §3.1: nothing matched, so only COUNT.
    assert_eq!(
        esearch_items(
            &[],
            &[
                SearchReturnOption::Min,
                SearchReturnOption::All,
                SearchReturnOption::Count
            ],
            Some(3)
        ),
        vec![ESearchItem::Count(0)]
    );

    let tag = Tag::try_from("A1").unwrap();
    let r = SearchResult {
        ids: ids(&[9, 2, 4]),
        highest_mod_seq: Some(40),
    };
    assert_eq!(
        search_data(Version::Rev1, &tag, false, &r, None),
        Data::Search {
            ids: ids(&[2, 4, 9]),
            mod_seq: Some(40)
        }
    );
    let rev2 = search_data(
        Version::Rev2,
        &tag,
        true,
        &r,
        Some(&[SearchReturnOption::Count]),
    );
    assert_eq!(
        rev2,
        Data::ESearch {
            correlator: Some(tag.clone()),
            uid: true,
            items: vec![ESearchItem::Count(3), ESearchItem::ModSeq(40)]
        }
    );
    let empty = SearchResult::default();
    assert_eq!(
        search_data(Version::Rev1, &tag, false, &empty, None),
        Data::Search {
            ids: vec![],
            mod_seq: None
        }
    );
}
