#![no_main]
//! SORT and THREAD (RFC 5256) over messages built from fuzz input: never
//! panic, and every message appears exactly once in the SORT answer and in
//! the threads of both algorithms (nothing lost, nothing duplicated), and
//! the encoded THREAD response parses back to the same threads.
//!
//! Input: messages separated by `\0`; each is a header block whose
//! Message-ID/References/In-Reply-To/Subject/Date come from the fuzzer.
//! The first byte picks the sort criteria.

use imap_proto::command::{SortCriterion, SortKey, ThreadAlgorithm};
use imap_proto::message::{SortFields, sort, thread};
use imap_proto::response::{Data, Thread};
use imap_proto::types::{Date, DateTime};
use imap_proto::{Encode, Response, Version};
use libfuzzer_sys::fuzz_target;

const KEYS: [SortKey; 7] = [
    SortKey::Arrival,
    SortKey::Cc,
    SortKey::Date,
    SortKey::From,
    SortKey::Size,
    SortKey::Subject,
    SortKey::To,
];

fn ids(threads: &[Thread]) -> Vec<u32> {
    let mut out = Vec::new();
    let mut stack: Vec<&Thread> = threads.iter().collect();
    while let Some(t) = stack.pop() {
        out.extend(t.members.iter().map(|n| n.get()));
        stack.extend(t.children.iter());
    }
    out.sort_unstable();
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let date = DateTime::new(Date::new(2024, 1, 1).unwrap(), 0, 0, 0, 0).unwrap();
    let msgs: Vec<SortFields> = rest
        .split(|&b| b == 0)
        .take(200)
        .enumerate()
        .map(|(i, h)| {
            let n = i as u32 + 1;
            SortFields::new(n, n, h, date, h.len() as u64)
        })
        .collect();
    let all: Vec<u32> = (1..=msgs.len() as u32).collect();
    let criteria = [
        SortCriterion {
            reverse: pick & 1 != 0,
            key: KEYS[usize::from(pick >> 1) % KEYS.len()],
        },
        SortCriterion {
            reverse: pick & 0x80 != 0,
            key: KEYS[usize::from(pick >> 4) % KEYS.len()],
        },
    ];
    let mut sorted = sort(msgs.clone(), &criteria);
    sorted.sort_unstable();
    assert_eq!(sorted, all);
    for alg in [ThreadAlgorithm::References, ThreadAlgorithm::OrderedSubject] {
        let threads = thread(msgs.clone(), alg);
        assert_eq!(ids(&threads), all, "{alg:?}");
        let wire = Response::Data(Data::Thread(threads.clone())).to_bytes(Version::Rev2);
        // 200 messages nest at most 200 deep.
        let limits = imap_proto::Limits {
            max_depth: 256,
            ..imap_proto::Limits::default()
        };
        let back =
            Response::parse_with_limits(&wire, &limits).expect("THREAD response must parse");
        assert_eq!(back, Response::Data(Data::Thread(threads)));
    }
});
