//! The durability rule under injected faults: a failed write, fsync, link or
//! rename makes commit() fail with a temporary error, nothing half-delivered
//! is indexed or left in new/, and a later delivery still works.

mod common;

use std::path::Path;

use common::{deliver, drain, names, open, open_faulty, root, uids};
use maildir::fault::{FaultFs, FaultOp};
use maildir::{Change, DeliveryError, Event, Notice, Store};

fn setup(dir: &Path) -> (Store, FaultFs) {
    let (store, fs) = open_faulty(dir);
    store.add_user("alice@localhost", "pw").unwrap();
    store.add_user("bob@localhost", "pw").unwrap();
    (store, fs)
}

/// Nothing of a failed delivery is visible: not in the index, not in new/,
/// not in tmp/, also after a reopen (which rescans), and no UID was used.
fn assert_nothing_delivered(dir: &Path, store: Store) {
    assert_nothing_left(dir, store, 1);
}

/// As [`assert_nothing_delivered`], but the failed delivery may have used
/// UIDs: UIDNEXT must be `uidnext` (never reused after a reopen either).
fn assert_nothing_left(dir: &Path, store: Store, uidnext: u32) {
    for local in ["alice", "bob"] {
        let address = format!("{local}@localhost");
        assert_eq!(
            uids(&store, &address, "INBOX"),
            Vec::<u32>::new(),
            "{address}"
        );
        let r = root(dir, "localhost", local);
        assert_eq!(
            names(&r.join("new")),
            Vec::<String>::new(),
            "{address} new/"
        );
        assert_eq!(
            names(&r.join("tmp")),
            Vec::<String>::new(),
            "{address} tmp/"
        );
    }
    drop(store);
    let store = open(dir);
    for address in ["alice@localhost", "bob@localhost"] {
        assert_eq!(
            uids(&store, address, "INBOX"),
            Vec::<u32>::new(),
            "{address} after reopen"
        );
        let status = store.mailbox_status(address, "INBOX").unwrap();
        assert_eq!((status.messages, status.uidnext), (0, uidnext));
    }
}

fn assert_temporary(result: Result<Vec<maildir::Delivered>, DeliveryError>) {
    match result {
        Err(e) => assert!(e.is_temporary(), "{e:?} must be temporary"),
        Ok(d) => panic!("commit succeeded despite the fault: {d:?}"),
    }
}

/// `used` is how many UIDs per mailbox the failed delivery consumed: 0,
/// or 1 when the fault struck after the index committed (directory fsync).
fn check_fault(op: FaultOp, n: u64, used: u32) {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = setup(dir.path());
    fs.fail_nth(op, n);
    assert_temporary(deliver(
        &store,
        &["alice@localhost", "bob@localhost"],
        b"x\r\n",
    ));
    assert_eq!(fs.injected(op), 1, "the fault of {op:?} was injected");
    // The store still works after the fault.
    let ok = deliver(&store, &["alice@localhost"], b"y\r\n").unwrap();
    assert_eq!(ok[0].uid, 1 + used);
    let m = &store.list_messages("alice@localhost", "INBOX").unwrap()[0];
    assert!(std::fs::read(&m.path).unwrap().ends_with(b"y\r\n"));
    // Now remove it again so the common check below sees an empty store.
    std::fs::remove_file(&m.path).unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        store
            .mailbox_status("alice@localhost", "INBOX")
            .unwrap()
            .uidnext,
        2 + used
    );
}

#[test]
fn failed_file_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = setup(dir.path());
    fs.fail_nth(FaultOp::FileSync, 1);
    assert_temporary(deliver(
        &store,
        &["alice@localhost", "bob@localhost"],
        b"x\r\n",
    ));
    assert_nothing_delivered(dir.path(), store);
    check_fault(FaultOp::FileSync, 1, 0);
}

#[test]
fn failed_rename_into_new() {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = setup(dir.path());
    fs.fail_nth(FaultOp::Rename, 1);
    assert_temporary(deliver(
        &store,
        &["alice@localhost", "bob@localhost"],
        b"x\r\n",
    ));
    assert_nothing_delivered(dir.path(), store);
    check_fault(FaultOp::Rename, 1, 0);
}

#[test]
fn failed_link_for_second_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = setup(dir.path());
    fs.fail_nth(FaultOp::Link, 1);
    assert_temporary(deliver(
        &store,
        &["alice@localhost", "bob@localhost"],
        b"x\r\n",
    ));
    assert_nothing_delivered(dir.path(), store);
}

#[test]
fn failed_directory_fsync() {
    // The directory fsyncs run while the index commits, so the failure is
    // seen after the commit: the compensating transaction takes the rows
    // back (UID 1 stays used in both mailboxes), and the files go.
    for n in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let (store, fs) = setup(dir.path());
        fs.fail_nth(FaultOp::DirSync, n);
        assert_temporary(deliver(
            &store,
            &["alice@localhost", "bob@localhost"],
            b"x\r\n",
        ));
        assert_eq!(fs.injected(FaultOp::DirSync), 1);
        assert_nothing_left(dir.path(), store, 2);
    }
    check_fault(FaultOp::DirSync, 1, 1);
}

#[test]
fn failed_directory_fsync_is_retracted_as_an_expunge() {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = setup(dir.path());
    deliver(&store, &["alice@localhost"], b"kept\r\n").unwrap();
    let before = store.mailbox_status("alice@localhost", "INBOX").unwrap();
    assert_eq!((before.uidnext, before.highestmodseq), (2, 2));
    let alice = store.subscribe("alice@localhost").unwrap();
    let bob = store.subscribe("bob@localhost").unwrap();
    fs.fail_nth(FaultOp::DirSync, 1);
    assert_temporary(deliver(
        &store,
        &["alice@localhost", "bob@localhost"],
        b"x\r\n",
    ));
    // Never announced as delivered; readers that saw UID 2 during the
    // window learn that it is gone (one MODSEQ for the commit, one for the
    // retraction).
    let gone = |uidvalidity: u32, uid: u32, modseq: u64| {
        vec![Event::Change(Notice {
            mailbox: "INBOX".into(),
            uidvalidity,
            change: Change::Expunged {
                uids: vec![uid],
                modseq,
            },
        })]
    };
    assert_eq!(drain(&alice), gone(before.uidvalidity, 2, 4));
    let bob_status = store.mailbox_status("bob@localhost", "INBOX").unwrap();
    assert_eq!(drain(&bob), gone(bob_status.uidvalidity, 1, 3));
    let after = store.mailbox_status("alice@localhost", "INBOX").unwrap();
    assert_eq!(
        (after.messages, after.uidnext, after.highestmodseq),
        (1, 3, 4)
    );
    let changes = store.changes_since("alice@localhost", "INBOX", 2).unwrap();
    assert_eq!(changes.changed, Vec::new());
    assert_eq!(changes.expunged, vec![2]);
    let usage = store.quota_usage("alice@localhost").unwrap();
    let kept = store.list_messages("alice@localhost", "INBOX").unwrap()[0].size;
    assert_eq!((usage.bytes, usage.messages), (kept, 1));
    assert_eq!(uids(&store, "alice@localhost", "INBOX"), vec![1]);
    let r = root(dir.path(), "localhost", "alice");
    assert_eq!(names(&r.join("new")).len(), 1);
    // A reopen (full rescan) agrees, and the next delivery gets UID 3.
    drop((alice, bob));
    drop(store);
    let store = open(dir.path());
    assert_eq!(uids(&store, "alice@localhost", "INBOX"), vec![1]);
    let ok = deliver(&store, &["alice@localhost"], b"y\r\n").unwrap();
    assert_eq!(ok[0].uid, 3);
}

#[test]
fn failed_write_poisons_the_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = setup(dir.path());
    fs.fail_nth(FaultOp::Write, 1);
    let mut d = store
        .begin_delivery(common::envelope(None, &["alice@localhost"]))
        .unwrap();
    // 100 KB forces a write to the file through the 64 KiB buffer.
    let err = d.write(&vec![b'a'; 100_000]).unwrap_err();
    assert!(err.is_temporary(), "{err:?}");
    let err = d.write(b"more").unwrap_err();
    assert!(err.is_temporary(), "{err:?}");
    assert_temporary(d.commit());
    assert_nothing_delivered(dir.path(), store);
}

#[test]
fn failed_write_at_commit_flush() {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = setup(dir.path());
    fs.fail_nth(FaultOp::Write, 1);
    assert_temporary(deliver(&store, &["bob@localhost"], b"small\r\n"));
    assert_nothing_delivered(dir.path(), store);
}

#[test]
fn failed_cleanup_after_a_failed_fsync_duplicates_rather_than_loses() {
    // The dir fsync fails and so does removing the file from new/: the
    // client got a temporary error, and the file is indexed at the next
    // open (a possible duplicate, never a loss or a dangling index entry).
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = setup(dir.path());
    fs.fail_nth(FaultOp::DirSync, 1);
    fs.fail_nth(FaultOp::Remove, 1);
    assert_temporary(deliver(&store, &["alice@localhost"], b"x\r\n"));
    assert_eq!(uids(&store, "alice@localhost", "INBOX"), Vec::<u32>::new());
    drop(store);
    let store = open(dir.path());
    let list = store.list_messages("alice@localhost", "INBOX").unwrap();
    assert_eq!(list.len(), 1);
    // UID 1 was committed and retracted: the adopted file gets UID 2.
    assert_eq!(list[0].uid, 2);
    assert!(list[0].path.exists());
}
