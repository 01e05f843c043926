//! Model-based test: random operation sequences against a `BTreeMap`
//! reference model, checking UIDs, flags, sizes and counters after every
//! step and after reopening the store.

mod common;

use std::collections::BTreeMap;

use common::{append, deliver, open};
use maildir::{FlagChange, FlagOp, Flags, Store, UidSet};
use proptest::prelude::*;

const A: &str = "alice@localhost";
const BOXES: [&str; 3] = ["INBOX", "Sent", "Work/Sub"];

#[derive(Clone, Debug)]
enum Op {
    Deliver(usize),
    Append(usize, u16, usize),
    Store(usize, u32, u32, u8, u16),
    Expunge(usize),
    Delete(usize, u32, u32),
    Copy(usize, usize, u32, u32),
    Move(usize, usize, u32, u32),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let b = 0..BOXES.len();
    prop_oneof![
        (1..200usize).prop_map(Op::Deliver),
        (b.clone(), 0..64u16, 1..200usize).prop_map(|(m, f, n)| Op::Append(m, f, n)),
        (b.clone(), 1..8u32, 0..4u32, 0..3u8, 0..64u16).prop_map(|(m, s, l, o, f)| Op::Store(
            m,
            s,
            s + l,
            o,
            f
        )),
        b.clone().prop_map(Op::Expunge),
        (b.clone(), 1..8u32, 0..3u32).prop_map(|(m, s, l)| Op::Delete(m, s, s + l)),
        (b.clone(), b.clone(), 1..8u32, 0..3u32).prop_map(|(f, t, s, l)| Op::Copy(f, t, s, s + l)),
        (b.clone(), b, 1..8u32, 0..3u32).prop_map(|(f, t, s, l)| Op::Move(f, t, s, s + l)),
        Just(Op::Reopen),
    ]
}

#[derive(Clone, Debug, Default)]
struct Mailbox {
    uidnext: u32,
    messages: BTreeMap<u32, (Flags, u64)>,
}

fn check(store: &Store, model: &[Mailbox]) -> Result<(), TestCaseError> {
    for (i, name) in BOXES.iter().enumerate() {
        let (status, list) = store.message_summaries(A, name).unwrap();
        let got: BTreeMap<u32, (Flags, u64)> =
            list.iter().map(|m| (m.uid, (m.flags, m.size))).collect();
        prop_assert_eq!(&got, &model[i].messages, "mailbox {}", name);
        prop_assert_eq!(status.uidnext, model[i].uidnext, "uidnext of {}", name);
        prop_assert_eq!(status.messages as usize, model[i].messages.len());
    }
    let usage = store.quota_usage(A).unwrap();
    let (bytes, count) = model
        .iter()
        .flat_map(|m| m.messages.values())
        .fold((0, 0), |(b, c), (_, s)| (b + s, c + 1));
    prop_assert_eq!((usage.bytes, usage.messages), (bytes, count));
    Ok(())
}

fn in_range(uid: u32, lo: u32, hi: u32) -> bool {
    (lo..=hi).contains(&uid)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]
    #[test]
    fn store_matches_model(ops in proptest::collection::vec(op(), 1..24)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        store.add_user(A, "pw").unwrap();
        store.create_mailbox(A, "Work/Sub", None).unwrap();
        let mut model = vec![Mailbox { uidnext: 1, ..Mailbox::default() }; BOXES.len()];
        for op in ops {
            match op {
                Op::Deliver(n) => {
                    let d = deliver(&store, &[A], &vec![b'x'; n]).unwrap();
                    let size = store.message(A, "INBOX", d[0].uid).unwrap().unwrap().size;
                    let m = &mut model[0];
                    prop_assert_eq!(d[0].uid, m.uidnext);
                    m.messages.insert(m.uidnext, (Flags::empty(), size));
                    m.uidnext += 1;
                }
                Op::Append(b, f, n) => {
                    let flags = Flags::from_bits(f & 0x3f);
                    let (_, uid) = append(&store, A, BOXES[b], flags, &vec![b'y'; n]).unwrap();
                    let m = &mut model[b];
                    prop_assert_eq!(uid, m.uidnext);
                    m.messages.insert(uid, (flags, n as u64));
                    m.uidnext += 1;
                }
                Op::Store(b, lo, hi, o, f) => {
                    let flags = Flags::from_bits(f & 0x3f);
                    let op = [FlagOp::Add, FlagOp::Remove, FlagOp::Replace][usize::from(o)];
                    let out = store
                        .store_flags(A, BOXES[b], &UidSet::from_ranges([lo..=hi]), &FlagChange::flags(op, flags))
                        .unwrap();
                    for (uid, (fl, _)) in model[b].messages.iter_mut() {
                        if in_range(*uid, lo, hi) {
                            *fl = match op {
                                FlagOp::Add => fl.union(flags),
                                FlagOp::Remove => Flags::from_bits(fl.bits() & !flags.bits()),
                                FlagOp::Replace => flags,
                            };
                        }
                    }
                    let expect: Vec<u32> = model[b].messages.keys().copied().filter(|u| in_range(*u, lo, hi)).collect();
                    prop_assert_eq!(out.updated.iter().map(|u| u.uid).collect::<Vec<_>>(), expect);
                }
                Op::Expunge(b) => {
                    let got = store.expunge(A, BOXES[b], None).unwrap();
                    let expect: Vec<u32> = model[b].messages.iter().filter(|(_, (f, _))| f.contains(Flags::DELETED)).map(|(u, _)| *u).collect();
                    for u in &expect {
                        model[b].messages.remove(u);
                    }
                    prop_assert_eq!(got, expect);
                }
                Op::Delete(b, lo, hi) => {
                    let got = store.delete_messages(A, BOXES[b], &UidSet::from_ranges([lo..=hi])).unwrap();
                    let expect: Vec<u32> = model[b].messages.keys().copied().filter(|u| in_range(*u, lo, hi)).collect();
                    for u in &expect {
                        model[b].messages.remove(u);
                    }
                    prop_assert_eq!(got, expect);
                }
                Op::Copy(from, to, lo, hi) | Op::Move(from, to, lo, hi) => {
                    let is_move = matches!(op, Op::Move(..));
                    let set = UidSet::from_ranges([lo..=hi]);
                    let out = if is_move {
                        store.move_messages(A, BOXES[from], &set, BOXES[to]).unwrap()
                    } else {
                        store.copy_messages(A, BOXES[from], &set, BOXES[to]).unwrap()
                    };
                    let picked: Vec<(u32, (Flags, u64))> = model[from].messages.iter().filter(|(u, _)| in_range(**u, lo, hi)).map(|(u, v)| (*u, *v)).collect();
                    prop_assert_eq!(&out.source_uids, &picked.iter().map(|(u, _)| *u).collect::<Vec<_>>());
                    if is_move {
                        for (u, _) in &picked {
                            model[from].messages.remove(u);
                        }
                    }
                    let mut dest = Vec::new();
                    for (_, v) in picked {
                        let m = &mut model[to];
                        m.messages.insert(m.uidnext, v);
                        dest.push(m.uidnext);
                        m.uidnext += 1;
                    }
                    prop_assert_eq!(out.dest_uids, dest);
                }
                Op::Reopen => {
                    drop(store);
                    store = open(dir.path());
                }
            }
            check(&store, &model)?;
        }
        drop(store);
        let store = open(dir.path());
        check(&store, &model)?;
    }
}
