//! Every message of /work/shared/corpus (and the copies in testdata/)
//! through every message helper: no panic, ranges inside the message,
//! HEADER + TEXT = whole message. With `DUMP=1` the test prints the
//! ENVELOPE and BODYSTRUCTURE of each file (used to hand-verify the
//! known answers in message_known.rs).

use imap_proto::Version;
use imap_proto::command::{Part, SearchKey, Section};
use imap_proto::encode::Encode;
use imap_proto::message::*;
use imap_proto::types::{AString, Date, DateTime, Flag, SequenceSet};
use std::num::{NonZeroU32, NonZeroU64};
use std::path::PathBuf;

fn files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [
        concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"),
        "/work/shared/corpus/eml/legacy",
        "/work/shared/corpus/eml/rfc",
        "/work/shared/corpus/eml/malformed",
        "/work/shared/corpus/eml/thirdparty",
    ] {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "eml") {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

fn all_paths(p: &PartOffsets, prefix: Vec<NonZeroU32>, out: &mut Vec<Vec<NonZeroU32>>) {
    let kids: &[PartOffsets] = match p.kind {
        PartKind::Multipart => &p.children,
        PartKind::Message => match p.inner_root() {
            Some(r) if r.kind == PartKind::Multipart => &r.children,
            _ => &[],
        },
        PartKind::Leaf => &[],
    };
    for (i, c) in kids.iter().enumerate() {
        let mut path = prefix.clone();
        path.push(NonZeroU32::new(i as u32 + 1).unwrap());
        out.push(path.clone());
        if out.len() < 500 {
            all_paths(c, path, out);
        }
    }
}

#[test]
fn every_corpus_message_through_every_helper() {
    let files = files();
    assert!(files.len() >= 15, "corpus missing: {}", files.len());
    let dump = std::env::var_os("DUMP").is_some();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let msg = MessageView::parse(&bytes);
        let len = bytes.len() as u64;
        assert!(msg.root().is_valid(len), "{f:?}");
        let env = envelope(&bytes[..msg.root().body_start as usize]);
        let bs = body_structure(&msg);
        let b = body(&msg);
        let env_s = String::from_utf8_lossy(&env.to_bytes(Version::Rev1)).into_owned();
        let bs_s = String::from_utf8_lossy(&bs.to_bytes(Version::Rev1)).into_owned();
        let _ = b.to_bytes(Version::Rev1);
        if dump {
            println!("== {f:?}\nENVELOPE {env_s}\nBODYSTRUCTURE {bs_s}");
        }
        // HEADER + TEXT = whole message.
        let h = body_section(&msg, Some(&Section::Header(None)), None);
        let t = body_section(&msg, Some(&Section::Text(None)), None);
        match (&h, &t) {
            (SectionData::Range(h), SectionData::Range(t)) => {
                assert_eq!((h.start, h.end, t.end), (0, t.start, len), "{f:?}");
            }
            other => panic!("{f:?}: {other:?}"),
        }
        let mut paths = Vec::new();
        all_paths(msg.root(), Vec::new(), &mut paths);
        paths.push(vec![NonZeroU32::new(1).unwrap()]);
        paths.push(vec![NonZeroU32::new(99).unwrap()]);
        for p in &paths {
            let part = Part::new(p.clone()).unwrap();
            for s in [
                Section::Part(part.clone()),
                Section::Mime(part.clone()),
                Section::Header(Some(part.clone())),
                Section::Text(Some(part.clone())),
                Section::HeaderFields {
                    part: Some(part.clone()),
                    not: true,
                    fields: vec![AString::from_bytes(b"Subject").unwrap()],
                },
            ] {
                for partial in [None, Some((3, NonZeroU64::new(10).unwrap()))] {
                    let d = body_section(&msg, Some(&s), partial);
                    if let SectionData::Range(r) = &d {
                        assert!(r.start <= r.end && r.end <= len, "{f:?} {s:?}");
                    }
                }
            }
            if let Ok(SectionData::Range(r)) = binary(&msg, p, None) {
                assert!(r.end <= len);
            }
            let _ = binary_size(&msg, p);
        }
        // The offsets path gives the same answers as parsing.
        let again = MessageView::with_offsets(&bytes, msg.root().clone());
        assert_eq!(body_structure(&again), bs);
        // Every search key runs on the message.
        let meta = MessageMeta {
            seq: 1,
            uid: 7,
            flags: &[Flag::Seen],
            recent: false,
            internal_date: DateTime::new(Date::new(2024, 1, 2).unwrap(), 3, 4, 5, 0).unwrap(),
            size: len,
            mod_seq: 9,
            email_id: None,
            save_date: None,
        };
        let s = |x: &str| AString::from_bytes(x.as_bytes()).unwrap();
        let d = Date::new(2000, 1, 1).unwrap();
        let keys = vec![
            SearchKey::Text(s("the")),
            SearchKey::Body(s("é")),
            SearchKey::From(s("a")),
            SearchKey::To(s("a")),
            SearchKey::Cc(s("a")),
            SearchKey::Bcc(s("a")),
            SearchKey::Subject(s("a")),
            SearchKey::Header(s("Received"), s("from")),
            SearchKey::SentBefore(d),
            SearchKey::SentOn(d),
            SearchKey::SentSince(d),
            SearchKey::Uid(SequenceSet::single(NonZeroU32::new(7).unwrap())),
        ];
        for k in keys {
            let prog = SearchProgram::new(std::slice::from_ref(&k));
            let sm = SearchMessage::new(&bytes, prog.needs());
            let _ = prog.matches(
                &meta,
                Some(&sm),
                &SearchScope {
                    max_seq: 1,
                    max_uid: 7,
                },
            );
        }
    }
}
