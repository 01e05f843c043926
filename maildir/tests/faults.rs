//! Fault injection: a failed rename, link or fsync in APPEND, COPY, MOVE,
//! EXPUNGE, STORE or RENAME leaves index and disk consistent, now and after
//! a reopen: nothing acknowledged is lost, nothing half-done is visible.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::{append, deliver, names, open, open_faulty, root, uids};
use maildir::fault::{FaultFs, FaultOp};
use maildir::{FlagChange, FlagOp, Flags, Store, UidSet};

const A: &str = "alice@localhost";

/// (uid, flags, size) of every message, plus the file count on disk.
fn snapshot(store: &Store, dir: &Path, mailbox: &str) -> (Vec<(u32, Flags, u64)>, usize) {
    let list = store.list_messages(A, mailbox).unwrap();
    for m in &list {
        assert!(
            m.path.exists(),
            "index points at a missing file {}",
            m.path.display()
        );
    }
    let r = root(dir, "localhost", "alice");
    let md = if mailbox == "INBOX" {
        r
    } else {
        r.join(format!(".{mailbox}"))
    };
    let files = names(&md.join("new")).len() + names(&md.join("cur")).len();
    (
        list.into_iter().map(|m| (m.uid, m.flags, m.size)).collect(),
        files,
    )
}

fn setup(n: usize) -> (tempfile::TempDir, Store, FaultFs) {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = open_faulty(dir.path());
    store.add_user(A, "pw").unwrap();
    for i in 0..n {
        deliver(&store, &[A], format!("m{i}\r\n").as_bytes()).unwrap();
    }
    (dir, store, fs)
}

/// Runs `op` with a fault armed; it must fail, and INBOX and Trash must
/// look exactly as before, also after a reopen.
fn must_fail_cleanly(arm: (FaultOp, u64), op: impl FnOnce(&Store) -> bool) {
    must_fail_cleanly_with(&[arm], op);
}

fn must_fail_cleanly_with(arms: &[(FaultOp, u64)], op: impl FnOnce(&Store) -> bool) {
    let (dir, store, fs) = setup(3);
    store
        .store_flags(
            A,
            "INBOX",
            &UidSet::from([2]),
            &FlagChange::flags(FlagOp::Add, Flags::DELETED),
        )
        .unwrap();
    let before = (
        snapshot(&store, dir.path(), "INBOX"),
        snapshot(&store, dir.path(), "Trash"),
    );
    for arm in arms {
        fs.fail_nth(arm.0, arm.1);
    }
    let arm = arms;
    assert!(op(&store), "operation should have failed with {arm:?}");
    for a in arms {
        assert_eq!(fs.injected(a.0), 1, "{a:?} was not reached");
    }
    fs.clear();
    let after = (
        snapshot(&store, dir.path(), "INBOX"),
        snapshot(&store, dir.path(), "Trash"),
    );
    assert_eq!(after, before, "{arm:?}");
    drop(store);
    let store = open(dir.path());
    let reopened = (
        snapshot(&store, dir.path(), "INBOX"),
        snapshot(&store, dir.path(), "Trash"),
    );
    assert_eq!(reopened, before, "{arm:?} after reopen");
    let r = root(dir.path(), "localhost", "alice");
    assert_eq!(names(&r.join("tmp")), Vec::<String>::new(), "{arm:?}");
}

#[test]
fn append_faults() {
    for arm in [
        (FaultOp::Write, 1),
        (FaultOp::FileSync, 1),
        (FaultOp::Rename, 1),
        (FaultOp::DirSync, 1),
    ] {
        must_fail_cleanly(arm, |s| {
            let r = (|| {
                let mut a = s.begin_append(A, "Trash", Flags::SEEN, &[], None)?;
                a.write(&[b'x'; 70_000])?;
                a.commit()
            })();
            r.is_err()
        });
    }
}

#[test]
fn store_flags_faults() {
    for arm in [
        (FaultOp::Rename, 1),
        (FaultOp::Rename, 2),
        (FaultOp::DirSync, 1),
    ] {
        must_fail_cleanly(arm, |s| {
            s.store_flags(
                A,
                "INBOX",
                &UidSet::all(),
                &FlagChange::flags(FlagOp::Add, Flags::SEEN),
            )
            .is_err()
        });
    }
}

#[test]
fn expunge_faults() {
    for arm in [(FaultOp::Rename, 1), (FaultOp::DirSync, 1)] {
        must_fail_cleanly(arm, |s| {
            s.delete_messages(A, "INBOX", &UidSet::all()).is_err()
        });
        must_fail_cleanly(arm, |s| s.expunge(A, "INBOX", None).is_err());
    }
}

#[test]
fn move_faults() {
    for arm in [
        (FaultOp::Rename, 1),
        (FaultOp::Rename, 3),
        (FaultOp::DirSync, 1),
        (FaultOp::DirSync, 2),
    ] {
        must_fail_cleanly(arm, |s| {
            s.move_messages(A, "INBOX", &UidSet::all(), "Trash")
                .is_err()
        });
    }
}

#[test]
fn copy_faults() {
    // A failed link falls back to a copy, so fail the copy too.
    // The second link fails, and so does the copy's file creation: the
    // first link must be undone.
    must_fail_cleanly_with(&[(FaultOp::Link, 2), (FaultOp::Create, 1)], |s| {
        s.copy_messages(A, "INBOX", &UidSet::all(), "Trash")
            .is_err()
    });
    must_fail_cleanly_with(&[(FaultOp::Link, 1), (FaultOp::FileSync, 1)], |s| {
        s.copy_messages(A, "INBOX", &UidSet::all(), "Trash")
            .is_err()
    });
    must_fail_cleanly((FaultOp::DirSync, 1), |s| {
        s.copy_messages(A, "INBOX", &UidSet::all(), "Trash")
            .is_err()
    });
}

#[test]
fn copy_falls_back_to_a_fsynced_copy_when_linking_fails() {
    let (dir, store, fs) = setup(2);
    fs.fail_nth(FaultOp::Link, 2);
    let syncs = fs.calls(FaultOp::FileSync);
    let out = store
        .copy_messages(A, "INBOX", &UidSet::all(), "Trash")
        .unwrap();
    assert_eq!(out.dest_uids, vec![1, 2]);
    assert_eq!(fs.calls(FaultOp::FileSync), syncs + 1);
    let src = store.list_messages(A, "INBOX").unwrap();
    let dst = store.list_messages(A, "Trash").unwrap();
    let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
    assert_eq!(ino(&src[0].path), ino(&dst[0].path));
    assert_ne!(ino(&src[1].path), ino(&dst[1].path));
    assert_eq!(
        std::fs::read(&src[1].path).unwrap(),
        std::fs::read(&dst[1].path).unwrap()
    );
    drop(store);
    let store = open(dir.path());
    assert_eq!(uids(&store, A, "Trash"), vec![1, 2]);
}

#[test]
fn rename_whose_directory_step_fails_is_finished_later() {
    let (dir, store, fs) = setup(2);
    store.create_mailbox(A, "Old/Kid", None).unwrap();
    append(&store, A, "Old", Flags::empty(), b"o\r\n").unwrap();
    append(&store, A, "Old/Kid", Flags::empty(), b"k\r\n").unwrap();
    // The index commit happens, then the first directory rename fails.
    fs.fail_nth(FaultOp::Rename, 1);
    store.rename_mailbox(A, "Old", "New").unwrap();
    assert_eq!(fs.injected(FaultOp::Rename), 1);
    let r = root(dir.path(), "localhost", "alice");
    assert!(
        r.join(".Old").exists(),
        "the failed step left the directory"
    );
    // A refresh must not take the missing directory for an empty mailbox:
    // it finishes the rename first.
    store.refresh(A, "New").unwrap();
    assert!(r.join(".New").exists() && !r.join(".Old").exists());
    assert_eq!(uids(&store, A, "New"), vec![1]);

    // Same failure, then a "crash" (drop) and reopen.
    fs.fail_nth(FaultOp::Rename, 2);
    store.rename_mailbox(A, "New", "Newer").unwrap();
    drop(store);
    let store = open(dir.path());
    assert!(r.join(".Newer").exists() && r.join(".Newer.Kid").exists());
    assert!(!r.join(".New").exists() && !r.join(".New.Kid").exists());
    assert_eq!(uids(&store, A, "Newer"), vec![1]);
    assert_eq!(uids(&store, A, "Newer/Kid"), vec![1]);
    let m = store.message(A, "Newer/Kid", 1).unwrap().unwrap();
    assert_eq!(std::fs::read(m.path).unwrap(), b"k\r\n");
}
