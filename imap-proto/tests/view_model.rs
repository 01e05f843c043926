//! Model-based property test of the mailbox view: random changes and
//! flushes; a simulated client applies every response, and its picture
//! must always agree with the store (RFC 9051 §7.5.1 numbering, EXISTS
//! counts, no EXPUNGE when forbidden, FETCH numbers valid, no keyword in a
//! FETCH before the view reported it for `FLAGS`). Lost changes followed by
//! a resync from the store's full list must bring the view back in line.

use imap_proto::response::{Data, MessageDataItem};
use imap_proto::types::{Atom, Date, DateTime, Flag, FlagFetch, SeqOrUid, Sequence, SequenceSet};
use imap_proto::view::{FlagUpdate, FlushOptions, MailboxChange, MailboxView, MessageSummary};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::num::NonZeroU32;

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

fn summary(uid: u32, flags: Vec<Flag>, mod_seq: u64) -> MessageSummary {
    MessageSummary {
        uid: nz(uid),
        flags,
        mod_seq,
        internal_date: DateTime::new(Date::new(2024, 1, 1).unwrap(), 0, 0, 0, 0).unwrap(),
        size: 1,
        recent: false,
        email_id: None,
        save_date: None,
    }
}

#[derive(Clone, Debug)]
enum Op {
    Add(u8),
    Expunge(u16),
    Flags(u16, bool),
    /// A keyword no message had: `$K<n>`.
    Keyword(u16, u8),
    /// A change the view is not told of (0 add, 1 expunge, 2 flags).
    Lost(u8, u16),
    /// The view is rebuilt from the store's full list.
    Resync,
    Flush {
        expunge: bool,
        vanished: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u8..4).prop_map(Op::Add),
        any::<u16>().prop_map(Op::Expunge),
        (any::<u16>(), any::<bool>()).prop_map(|(i, s)| Op::Flags(i, s)),
        (any::<u16>(), 0u8..5).prop_map(|(i, k)| Op::Keyword(i, k)),
        (0u8..3, any::<u16>()).prop_map(|(k, i)| Op::Lost(k, i)),
        Just(Op::Resync),
        (any::<bool>(), any::<bool>())
            .prop_map(|(expunge, vanished)| Op::Flush { expunge, vanished }),
    ]
}

struct Model {
    /// The store: uid -> flags.
    server: BTreeMap<u32, Vec<Flag>>,
    next_uid: u32,
    mod_seq: u64,
    /// The simulated client's list of UIDs, by sequence number.
    client: Vec<u32>,
    /// Keywords the view reported for an untagged `FLAGS`.
    announced: Vec<Flag>,
    /// Changes were lost and no resync happened since.
    stale: bool,
}

impl Model {
    fn apply_response(&mut self, d: &Data, expunge_allowed: bool) {
        match d {
            Data::Expunge(n) => {
                assert!(expunge_allowed, "EXPUNGE while forbidden");
                let n = n.get() as usize;
                assert!(n >= 1 && n <= self.client.len(), "EXPUNGE {n} out of range");
                let uid = self.client.remove(n - 1);
                assert!(!self.server.contains_key(&uid), "expunged a live message");
            }
            Data::Vanished { earlier, uids } => {
                assert!(expunge_allowed && !earlier);
                let max = self.client.iter().copied().max().unwrap_or(0);
                let gone: Vec<u32> = self
                    .client
                    .iter()
                    .copied()
                    .filter(|u| uids.contains(*u, max))
                    .collect();
                for u in &gone {
                    assert!(!self.server.contains_key(u));
                }
                let count: u32 = uids
                    .items()
                    .iter()
                    .map(|s| match s {
                        Sequence::Single(_) => 1,
                        Sequence::Range(SeqOrUid::Value(a), SeqOrUid::Value(b)) => {
                            b.get() - a.get() + 1
                        }
                        _ => panic!("no * in VANISHED"),
                    })
                    .sum();
                assert_eq!(count as usize, gone.len(), "VANISHED names unknown UIDs");
                self.client.retain(|u| !gone.contains(u));
            }
            Data::Exists(n) => {
                let n = *n as usize;
                assert!(n >= self.client.len());
                let max = self.client.iter().copied().max().unwrap_or(0);
                let new: Vec<u32> = self.server.keys().copied().filter(|u| *u > max).collect();
                assert_eq!(new.len(), n - self.client.len(), "EXISTS count");
                self.client.extend(new);
            }
            Data::Recent(_) => {}
            Data::Fetch { seq, items } => {
                let s = seq.get() as usize;
                assert!(s >= 1 && s <= self.client.len(), "FETCH {s} out of range");
                let uid = self.client[s - 1];
                for i in items {
                    match i {
                        MessageDataItem::Uid(u) => assert_eq!(u.get(), uid),
                        MessageDataItem::Flags(f) => {
                            for x in f {
                                if let FlagFetch::Flag(k @ Flag::Keyword(_)) = x {
                                    assert!(self.announced.contains(k), "{k:?} before FLAGS");
                                }
                            }
                            let want: Vec<FlagFetch> = self.server[&uid]
                                .iter()
                                .cloned()
                                .map(FlagFetch::Flag)
                                .collect();
                            assert_eq!(f, &want);
                        }
                        MessageDataItem::ModSeq(_) => {}
                        other => panic!("unexpected item {other:?}"),
                    }
                }
            }
            other => panic!("unexpected response {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn view_agrees_with_model(initial in 0u32..6, ops in proptest::collection::vec(op(), 0..60)) {
        let mut m = Model {
            server: BTreeMap::new(),
            next_uid: 1,
            mod_seq: 1,
            client: Vec::new(),
            announced: Vec::new(),
            stale: false,
        };
        let mut msgs = Vec::new();
        for _ in 0..initial {
            m.server.insert(m.next_uid, vec![]);
            msgs.push(summary(m.next_uid, vec![], 1));
            m.client.push(m.next_uid);
            m.next_uid += 1;
        }
        let mut view = MailboxView::new(msgs);
        for op in ops {
            match op {
                Op::Add(k) => {
                    let mut added = Vec::new();
                    for _ in 0..k {
                        m.server.insert(m.next_uid, vec![]);
                        added.push(summary(m.next_uid, vec![], m.mod_seq));
                        m.next_uid += 1;
                    }
                    view.apply(MailboxChange::Added(added));
                }
                Op::Expunge(i) => {
                    if m.server.is_empty() { continue; }
                    let uid = *m.server.keys().nth(i as usize % m.server.len()).unwrap();
                    m.server.remove(&uid);
                    view.apply(MailboxChange::Expunged(vec![nz(uid)]));
                }
                Op::Flags(i, seen) => {
                    if m.server.is_empty() { continue; }
                    let uid = *m.server.keys().nth(i as usize % m.server.len()).unwrap();
                    let flags = if seen { vec![Flag::Seen] } else { vec![Flag::Flagged, Flag::Deleted] };
                    m.mod_seq += 1;
                    m.server.insert(uid, flags.clone());
                    view.apply(MailboxChange::Flags(vec![FlagUpdate { uid: nz(uid), flags, mod_seq: m.mod_seq }]));
                }
                Op::Keyword(i, k) => {
                    if m.server.is_empty() { continue; }
                    let uid = *m.server.keys().nth(i as usize % m.server.len()).unwrap();
                    let flags = vec![Flag::Keyword(Atom::try_from(format!("$K{k}").as_str()).unwrap())];
                    m.mod_seq += 1;
                    m.server.insert(uid, flags.clone());
                    view.apply(MailboxChange::Flags(vec![FlagUpdate { uid: nz(uid), flags, mod_seq: m.mod_seq }]));
                }
                Op::Lost(kind, i) => {
                    m.stale = true;
                    m.mod_seq += 1;
                    match kind {
                        0 => {
                            m.server.insert(m.next_uid, vec![]);
                            m.next_uid += 1;
                        }
                        _ if m.server.is_empty() => {}
                        1 => {
                            let uid = *m.server.keys().nth(i as usize % m.server.len()).unwrap();
                            m.server.remove(&uid);
                        }
                        _ => {
                            let uid = *m.server.keys().nth(i as usize % m.server.len()).unwrap();
                            m.server.insert(uid, vec![Flag::Answered]);
                        }
                    }
                }
                Op::Resync => {
                    let all = m.server.iter().map(|(u, f)| summary(*u, f.clone(), m.mod_seq)).collect();
                    view.resync(all);
                    m.stale = false;
                }
                // Until a resync the view cannot agree with the store.
                Op::Flush { .. } if m.stale => {}
                Op::Flush { expunge, vanished } => {
                    if let Some(flags) = view.take_new_flags() {
                        m.announced = flags;
                    }
                    let out = view.flush(FlushOptions { expunge, vanished, uid: true, mod_seq: true });
                    for d in &out {
                        m.apply_response(d, expunge);
                    }
                    prop_assert_eq!(view.exists() as usize, m.client.len());
                    let live: Vec<u32> = m.server.keys().copied().collect();
                    if expunge {
                        prop_assert_eq!(&m.client, &live);
                    } else {
                        prop_assert!(live.iter().all(|u| m.client.contains(u)));
                    }
                    // Sequence numbers agree with the client's picture.
                    if !m.client.is_empty() {
                        let all = SequenceSet::new(vec![Sequence::Range(SeqOrUid::Value(nz(1)), SeqOrUid::Asterisk)]).unwrap();
                        let resolved: Vec<u32> = view.resolve(&all, false).unwrap().iter().map(|(_, u)| u.get()).collect();
                        prop_assert_eq!(&resolved, &m.client);
                        for (i, u) in m.client.iter().enumerate() {
                            prop_assert_eq!(view.seq_of(nz(*u)).map(|s| s.get() as usize), Some(i + 1));
                            if m.server.contains_key(u) {
                                prop_assert_eq!(&view.get(i as u32 + 1).unwrap().flags, &m.server[u]);
                            }
                        }
                    }
                    prop_assert!(!view.has_pending(expunge));
                }
            }
        }
    }
}
