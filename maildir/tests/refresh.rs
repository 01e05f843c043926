//! `Store::refresh`: another program changes the Maildir while the store
//! is open (mutt, a script, Dovecot); UIDs stay stable, changes are
//! published.

mod common;

use std::fs;
use std::time::Duration;

use common::{deliver, drain, open, root, uids};
use maildir::{Change, Event, FlagChange, FlagOp, Flags, Notice, RescanReport, UidSet};

const A: &str = "alice@localhost";

/// Directory mtimes tick with the kernel clock: let one tick pass so an
/// outside change is not in the same tick as our own last change.
fn tick() {
    std::thread::sleep(Duration::from_millis(30));
}

fn changes(sub: &maildir::Subscription) -> Vec<Change> {
    drain(sub)
        .into_iter()
        .map(|e| match e {
            Event::Change(Notice { change, .. }) => change,
            Event::Overflowed => panic!("overflow"),
        })
        .collect()
}

#[test]
fn refresh_picks_up_outside_adds_removes_and_flag_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user(A, "pw").unwrap();
    for body in ["1\r\n", "2\r\n", "3\r\n"] {
        deliver(&store, &[A], body.as_bytes()).unwrap();
    }
    store
        .store_flags(
            A,
            "INBOX",
            &UidSet::from([3]),
            &FlagChange::flags(FlagOp::Add, Flags::SEEN),
        )
        .unwrap();
    // Nothing changed behind our back: the cheap path.
    assert_eq!(store.refresh(A, "INBOX").unwrap(), RescanReport::default());
    let sub = store.subscribe(A).unwrap();
    let list = store.list_messages(A, "INBOX").unwrap();
    let r = root(dir.path(), "localhost", "alice");
    tick();
    // mutt: reads message 1 (new/ → cur/ with S), deletes message 2,
    // flags message 3 as replied, and a script drops a new message in new/.
    let base1 = list[0]
        .path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    fs::rename(&list[0].path, r.join("cur").join(format!("{base1}:2,S"))).unwrap();
    fs::remove_file(&list[1].path).unwrap();
    let p3 = list[2].path.to_str().unwrap().to_owned();
    fs::rename(&list[2].path, p3.replace(":2,S", ":2,RS")).unwrap();
    fs::write(
        r.join("new").join("1800000000.script.host"),
        b"Subject: s\r\n\r\n",
    )
    .unwrap();

    let report = store.refresh(A, "INBOX").unwrap();
    assert_eq!(
        report,
        RescanReport {
            added: 1,
            dropped: 1,
            changed: 2
        }
    );
    assert_eq!(uids(&store, A, "INBOX"), vec![1, 3, 4]);
    let m1 = store.message(A, "INBOX", 1).unwrap().unwrap();
    assert_eq!(m1.flags, Flags::SEEN);
    assert!(!m1.recent);
    assert_eq!(
        store.message(A, "INBOX", 3).unwrap().unwrap().flags,
        Flags::SEEN.union(Flags::ANSWERED)
    );
    let st = store.mailbox_status(A, "INBOX").unwrap();
    let got = changes(&sub);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(matches!(&got[0], Change::Flags { uid: 1, flags, .. } if *flags == Flags::SEEN));
    assert!(matches!(&got[1], Change::Flags { uid: 3, .. }));
    assert!(matches!(&got[2], Change::Expunged { uids, .. } if *uids == vec![2]));
    assert_eq!(
        got[3],
        Change::Appended {
            uid: 4,
            modseq: st.highestmodseq
        }
    );
    assert_eq!(
        store.changes_since(A, "INBOX", 0).unwrap().expunged,
        vec![2]
    );
    assert_eq!(store.quota_usage(A).unwrap().messages, 3);
    // And again: nothing to do.
    assert_eq!(store.refresh(A, "INBOX").unwrap(), RescanReport::default());
    assert!(changes(&sub).is_empty());
}

#[test]
fn own_changes_do_not_force_a_rescan_but_outside_ones_after_them_are_seen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user(A, "pw").unwrap();
    store.refresh(A, "INBOX").unwrap();
    deliver(&store, &[A], b"1\r\n").unwrap();
    store.claim_recent(A, "INBOX").unwrap();
    // Our own delivery and rename kept the recorded stamp current.
    assert_eq!(store.refresh(A, "INBOX").unwrap(), RescanReport::default());
    tick();
    let r = root(dir.path(), "localhost", "alice");
    fs::write(r.join("cur").join("1800000001.other.host:2,F"), b"x\r\n").unwrap();
    let report = store.refresh(A, "INBOX").unwrap();
    assert_eq!(report.added, 1);
    let m = store.message(A, "INBOX", 2).unwrap().unwrap();
    assert_eq!((m.flags, m.size), (Flags::FLAGGED, 3));
    assert!(matches!(
        store.refresh(A, "Nope"),
        Err(maildir::StoreError::NoSuchMailbox(_))
    ));
}
