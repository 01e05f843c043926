//! The durability rule under injected faults: a failed write, fsync, link or
//! rename makes commit() fail with a temporary error, nothing half-delivered
//! is indexed or left in new/, and a later delivery still works.

mod common;

use std::path::Path;

use common::{deliver, names, open, open_faulty, root, uids};
use maildir::fault::{FaultFs, FaultOp};
use maildir::{DeliveryError, Store};

fn setup(dir: &Path) -> (Store, FaultFs) {
    let (store, fs) = open_faulty(dir);
    store.add_user("alice@localhost", "pw").unwrap();
    store.add_user("bob@localhost", "pw").unwrap();
    (store, fs)
}

/// Nothing of a failed delivery is visible: not in the index, not in new/,
/// not in tmp/, also after a reopen (which rescans).
fn assert_nothing_delivered(dir: &Path, store: Store) {
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
        assert_eq!((status.messages, status.uidnext), (0, 1));
    }
}

fn assert_temporary(result: Result<Vec<maildir::Delivered>, DeliveryError>) {
    match result {
        Err(e) => assert!(e.is_temporary(), "{e:?} must be temporary"),
        Ok(d) => panic!("commit succeeded despite the fault: {d:?}"),
    }
}

fn check_fault(op: FaultOp, n: u64) {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = setup(dir.path());
    fs.fail_nth(op, n);
    assert_temporary(deliver(
        &store,
        &["alice@localhost", "bob@localhost"],
        b"x\r\n",
    ));
    assert_eq!(fs.injected(op), 1, "the fault of {op:?} was injected");
    // The store still works after the fault; the UID was not consumed.
    let ok = deliver(&store, &["alice@localhost"], b"y\r\n").unwrap();
    assert_eq!(ok[0].uid, 1);
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
        2
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
    check_fault(FaultOp::FileSync, 1);
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
    check_fault(FaultOp::Rename, 1);
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
        assert_nothing_delivered(dir.path(), store);
    }
    check_fault(FaultOp::DirSync, 1);
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
    assert_eq!(list[0].uid, 1);
    assert!(list[0].path.exists());
}
