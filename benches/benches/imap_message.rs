//! IMAP message helpers: BODYSTRUCTURE building for a typical multipart
//! message, and SEARCH evaluation over 10,000 messages (metadata-only keys,
//! a header key and a body substring key).
//!
//! Run with `cargo bench -p sansmail-benches --bench imap_message`.

// criterion_group! generates an undocumented pub fn.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imap_proto::Version;
use imap_proto::command::SearchKey;
use imap_proto::encode::Encode;
use imap_proto::message::{
    MessageMeta, MessageView, Needs, SearchMessage, SearchProgram, SearchScope, body_structure,
};
use imap_proto::types::{AString, Atom, Date, DateTime, Flag, SeqOrUid, Sequence, SequenceSet};
use std::num::NonZeroU32;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../imap-proto/testdata");

fn load(name: &str) -> Vec<u8> {
    std::fs::read(format!("{TESTDATA}/{name}")).expect("imap-proto testdata")
}

fn bodystructure(c: &mut Criterion) {
    let mut g = c.benchmark_group("imap_bodystructure");
    for name in ["mixed_attachment.eml", "mixed_rfc822_dovecot.eml"] {
        let bytes = load(name);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(format!("parse+build {name}"), |b| {
            b.iter(|| {
                let msg = MessageView::parse(black_box(&bytes));
                black_box(body_structure(&msg).to_bytes(Version::Rev2))
            })
        });
        let offsets = MessageView::parse(&bytes).root().clone();
        g.bench_function(format!("stored offsets {name}"), |b| {
            b.iter(|| {
                let msg = MessageView::with_offsets(black_box(&bytes), offsets.clone());
                black_box(body_structure(&msg).to_bytes(Version::Rev2))
            })
        });
    }
    g.finish();
}

struct Mailbox {
    bytes: Vec<Vec<u8>>,
    flags: Vec<Vec<Flag>>,
}

/// 10,000 messages cycling through the testdata corpus, with varied flags,
/// dates and sizes.
fn mailbox() -> Mailbox {
    let mut files: Vec<_> = std::fs::read_dir(TESTDATA)
        .expect("testdata")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    let corpus: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let kw = Flag::Keyword(Atom::try_from("$Work").unwrap());
    let mut bytes = Vec::new();
    let mut flags = Vec::new();
    for i in 0..10_000usize {
        bytes.push(corpus[i % corpus.len()].clone());
        let mut f = Vec::new();
        if i % 3 == 0 {
            f.push(Flag::Seen);
        }
        if i % 17 == 0 {
            f.push(Flag::Flagged);
        }
        if i % 5 == 0 {
            f.push(kw.clone());
        }
        flags.push(f);
    }
    Mailbox { bytes, flags }
}

fn run(mb: &Mailbox, prog: &SearchProgram) -> usize {
    let scope = SearchScope {
        max_seq: 10_000,
        max_uid: 20_000,
    };
    let mut hits = 0;
    for (i, (bytes, flags)) in mb.bytes.iter().zip(&mb.flags).enumerate() {
        let n = u32::try_from(i).unwrap();
        let day = u8::try_from(i % 28).unwrap() + 1;
        let meta = MessageMeta {
            seq: n + 1,
            uid: 2 * n + 1,
            flags,
            recent: i % 50 == 0,
            internal_date: DateTime::new(Date::new(2024, 2, day).unwrap(), 12, 0, 0, 60).unwrap(),
            size: bytes.len() as u64,
            mod_seq: u64::from(n),
            email_id: None,
            save_date: None,
        };
        // The server opens the message only when the program needs it.
        let sm = (prog.needs() > Needs::Metadata).then(|| SearchMessage::new(bytes, prog.needs()));
        if prog.matches(&meta, sm.as_ref(), &scope) {
            hits += 1;
        }
    }
    hits
}

fn search(c: &mut Criterion) {
    let mb = mailbox();
    let s = |x: &str| AString::from_bytes(x.as_bytes()).unwrap();
    let uid_range = SequenceSet::new(vec![Sequence::Range(
        SeqOrUid::Value(NonZeroU32::new(100).unwrap()),
        SeqOrUid::Asterisk,
    )])
    .unwrap();
    let metadata = SearchProgram::new(&[
        SearchKey::Unseen,
        SearchKey::Or(
            Box::new(SearchKey::Keyword(Atom::try_from("$Work").unwrap())),
            Box::new(SearchKey::Flagged),
        ),
        SearchKey::Since(Date::new(2024, 2, 10).unwrap()),
        SearchKey::Uid(uid_range),
        SearchKey::Not(Box::new(SearchKey::Larger(100_000))),
    ]);
    let header = SearchProgram::new(&[SearchKey::Subject(s("frösche"))]);
    let body = SearchProgram::new(&[SearchKey::Body(s("air force one"))]);
    let mut g = c.benchmark_group("imap_search_10000");
    g.sample_size(10);
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("metadata keys", |b| {
        b.iter(|| black_box(run(&mb, &metadata)))
    });
    g.bench_function("SUBJECT (header parse)", |b| {
        b.iter(|| black_box(run(&mb, &header)))
    });
    g.bench_function("BODY substring (full parse)", |b| {
        b.iter(|| black_box(run(&mb, &body)))
    });
    g.finish();
    eprintln!(
        "hits: metadata {} subject {} body {}",
        run(&mb, &metadata),
        run(&mb, &header),
        run(&mb, &body)
    );
}

criterion_group!(benches, bodystructure, search);
criterion_main!(benches);
