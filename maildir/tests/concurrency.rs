//! Many sessions of one account at once: appends, flag changes and
//! expunges from several threads on one mailbox, with a subscriber.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};

use common::{append, open};
use maildir::{Change, Event, FlagChange, FlagOp, Flags, UidSet};

const A: &str = "alice@localhost";
const APPENDERS: usize = 4;
const PER_THREAD: usize = 25;

#[test]
fn concurrent_appends_flags_and_expunges_stay_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user(A, "pw").unwrap();
    let sub = store.subscribe(A).unwrap();
    let start = Arc::new(Barrier::new(APPENDERS + 2));
    let mut appenders = Vec::new();
    for t in 0..APPENDERS {
        let store = store.clone();
        let start = Arc::clone(&start);
        appenders.push(std::thread::spawn(move || {
            start.wait();
            let mut mine = Vec::new();
            for i in 0..PER_THREAD {
                let body = format!("Subject: t{t} m{i}\r\n\r\nx\r\n");
                if i % 2 == 0 {
                    mine.push(
                        append(&store, A, "INBOX", Flags::empty(), body.as_bytes())
                            .unwrap()
                            .1,
                    );
                } else {
                    let d = common::deliver(&store, &[A], body.as_bytes()).unwrap();
                    mine.push(d[0].uid);
                }
            }
            mine
        }));
    }
    let flagger = {
        let store = store.clone();
        let start = Arc::clone(&start);
        std::thread::spawn(move || {
            start.wait();
            for round in 0..30u32 {
                let set = UidSet::from_ranges([1 + round..=3 + round * 2]);
                store
                    .store_flags(
                        A,
                        "INBOX",
                        &set,
                        &FlagChange::flags(FlagOp::Add, Flags::SEEN),
                    )
                    .unwrap();
                store
                    .store_flags(
                        A,
                        "INBOX",
                        &UidSet::from([round * 3 + 1]),
                        &FlagChange::flags(FlagOp::Add, Flags::DELETED),
                    )
                    .unwrap();
                // Spread over the appenders' run time.
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
        })
    };
    let expunger = {
        let store = store.clone();
        std::thread::spawn(move || {
            let mut gone = Vec::new();
            for _ in 0..20 {
                gone.extend(store.expunge(A, "INBOX", None).unwrap());
                std::thread::sleep(std::time::Duration::from_millis(4));
            }
            gone
        })
    };
    start.wait();
    let mut all = BTreeSet::new();
    for h in appenders {
        let mine = h.join().unwrap();
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "per-thread UIDs increase: {mine:?}"
        );
        for uid in mine {
            assert!(all.insert(uid), "UID {uid} handed out twice");
        }
    }
    flagger.join().unwrap();
    let mut expunged = expunger.join().unwrap();
    // Deterministic tail: flag the even UIDs still there and expunge.
    let evens = UidSet::from_ranges((1..=50).map(|i| i * 2..=i * 2));
    store
        .store_flags(
            A,
            "INBOX",
            &evens,
            &FlagChange::flags(FlagOp::Add, Flags::DELETED),
        )
        .unwrap();
    let last_expunge = store.expunge(A, "INBOX", None).unwrap();
    assert!(!last_expunge.is_empty());
    expunged.extend(last_expunge);
    let total = APPENDERS * PER_THREAD;
    assert_eq!(all, (1..=total as u32).collect::<BTreeSet<u32>>());

    // Replay the events on a model: it must end where the index is, with
    // MODSEQs strictly increasing in publication order.
    let mut model: BTreeMap<u32, Flags> = BTreeMap::new();
    let mut last = 0u64;
    let mut n_events = 0;
    while let Some(ev) = sub.try_recv() {
        n_events += 1;
        let Event::Change(notice) = ev else {
            panic!("overflowed");
        };
        let modseq = match notice.change {
            Change::Appended { uid, modseq } => {
                assert!(model.insert(uid, Flags::empty()).is_none());
                modseq
            }
            Change::Flags {
                uid, flags, modseq, ..
            } => {
                assert!(
                    model.insert(uid, flags).is_some(),
                    "flags for unknown {uid}"
                );
                modseq
            }
            Change::Expunged { uids, modseq } => {
                for uid in uids {
                    assert!(model.remove(&uid).is_some(), "expunge of unknown {uid}");
                }
                modseq
            }
            other => panic!("unexpected {other:?}"),
        };
        assert!(modseq > last, "MODSEQ {modseq} after {last}");
        last = modseq;
    }
    // Every append, at least one flag change and the final expunge.
    assert!(n_events >= total + 2, "{n_events} events");
    let (status, list) = store.message_summaries(A, "INBOX").unwrap();
    assert_eq!(status.highestmodseq, last);
    let index: BTreeMap<u32, Flags> = list.iter().map(|m| (m.uid, m.flags)).collect();
    assert_eq!(index, model);
    assert_eq!(status.messages as usize, total - expunged.len());
    expunged.sort_unstable();
    let mut dedup = expunged.clone();
    dedup.dedup();
    assert_eq!(dedup, expunged, "a UID was expunged twice");
    let tombstones = store.changes_since(A, "INBOX", 0).unwrap().expunged;
    assert_eq!(tombstones, expunged);
    // The disk agrees after a reopen.
    drop(store);
    drop(sub);
    let store = open(dir.path());
    let (_, again) = store.message_summaries(A, "INBOX").unwrap();
    assert_eq!(again, list);
}

#[test]
fn subscription_works_from_async_code() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user(A, "pw").unwrap();
    let sub = store.subscribe(A).unwrap();
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            append(&store, A, "Sent", Flags::SEEN, b"x\r\n").unwrap()
        })
    };
    // A minimal executor: block on the future with a thread-parking waker.
    let ev = block_on(sub.recv()).unwrap();
    let (uidvalidity, uid) = writer.join().unwrap();
    match ev {
        Event::Change(n) => {
            assert_eq!((n.mailbox.as_str(), n.uidvalidity), ("Sent", uidvalidity));
            assert_eq!(n.change, Change::Appended { uid, modseq: 2 });
        }
        Event::Overflowed => panic!("overflow"),
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
