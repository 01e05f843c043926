//! Hardening (issue 9): a full disk that latches redb's I/O error is
//! recovered without a restart; COPY is all or nothing; links planted in a
//! Maildir are refused; a truncated file is reported, not served; modes.

mod common;

use std::os::unix::fs::{PermissionsExt, symlink};

use common::{deliver, names, open, open_faulty, root, uids};
use maildir::fault::{FaultFs, FaultOp};
use maildir::{DeliveryError, FlagChange, FlagOp, Flags, Store, StoreError, UidSet};

const A: &str = "alice@localhost";

fn setup(n: usize) -> (tempfile::TempDir, Store, FaultFs) {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = open_faulty(dir.path());
    store.add_user(A, "pw").unwrap();
    for i in 0..n {
        deliver(
            &store,
            &[A],
            format!("Subject: m{i}\r\n\r\nbody {i}\r\n").as_bytes(),
        )
        .unwrap();
    }
    (dir, store, fs)
}

/// Message files in a Maildir's `new/` and `cur/`.
fn files(md: &std::path::Path) -> usize {
    names(&md.join("new")).len() + names(&md.join("cur")).len()
}

fn seen() -> FlagChange {
    FlagChange::flags(FlagOp::Add, Flags::SEEN)
}

#[test]
fn a_full_disk_latching_the_index_recovers_without_a_restart() {
    let (dir, store, fs) = setup(2);
    assert_eq!(store.index_reopens(), 0);

    fs.set_no_space(true);
    // An index-only write: the commit fails with ENOSPC, which latches
    // redb's "Previous I/O error" on this handle.
    let err = store
        .store_flags(A, "INBOX", &UidSet::from([1]), &seen())
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSpace(_)), "{err:?}");
    assert!(err.is_temporary());
    // A delivery on the full disk: a temporary "insufficient storage".
    let err = deliver(&store, &[A], b"Subject: full\r\n\r\nx\r\n").unwrap_err();
    assert!(matches!(err, DeliveryError::NoSpace(_)), "{err:?}");
    assert!(err.is_temporary());
    // Reading while full: SELECT data and message files still work.
    let (status, list) = store.message_summaries(A, "INBOX").unwrap();
    assert_eq!(status.messages, 2);
    assert!(list.iter().all(|m| !m.flags.contains(Flags::SEEN)));
    assert!(store.open_message(A, "INBOX", 1).is_ok());

    // Space returns: writes work again, through a reopened handle, once the
    // read-only fallback's retry interval (0.5 s) has passed.
    fs.set_no_space(false);
    std::thread::sleep(std::time::Duration::from_millis(600));
    store
        .store_flags(A, "INBOX", &UidSet::from([1]), &seen())
        .unwrap();
    assert!(
        store.index_reopens() >= 1,
        "the latched handle was reopened"
    );
    let d = deliver(&store, &[A], b"Subject: after\r\n\r\nback\r\n").unwrap();
    assert_eq!(d[0].uid, 3, "the failed delivery used no UID");
    store.create_mailbox(A, "Later", None).unwrap();
    assert_eq!(uids(&store, A, "INBOX"), vec![1, 2, 3]);

    // And nothing of the failed operations shows up after a real restart.
    drop(store);
    let store = open(dir.path());
    assert_eq!(uids(&store, A, "INBOX"), vec![1, 2, 3]);
    let first = store.message(A, "INBOX", 1).unwrap().unwrap();
    assert!(first.flags.contains(Flags::SEEN));
    let inbox = root(dir.path(), "localhost", "alice");
    assert_eq!(files(&inbox), 3);
    assert!(
        names(&inbox.join("tmp")).is_empty(),
        "no spool file left behind"
    );
}

#[test]
fn a_failed_copy_leaves_nothing_in_the_destination() {
    let (dir, store, fs) = setup(5);
    // The third link fails, and so does the copy that replaces a refused
    // link: the two copies already made are removed.
    fs.fail_nth(FaultOp::Link, 3);
    fs.fail_nth(FaultOp::Create, 1);
    let err = store
        .copy_messages(A, "INBOX", &UidSet::all(), "Archive")
        .unwrap_err();
    assert!(matches!(err, StoreError::Io(_)), "{err:?}");
    assert!(uids(&store, A, "Archive").is_empty());
    let archive = root(dir.path(), "localhost", "alice").join(".Archive");
    assert_eq!(files(&archive), 0);
    drop(store);
    assert!(uids(&open(dir.path()), A, "Archive").is_empty());
}

#[test]
fn copies_left_behind_by_a_crash_are_rolled_back_at_open() {
    let (dir, store, fs) = setup(5);
    // A link fails, and so does removing the copies made before it: the
    // state a kill -9 in the middle of COPY leaves (copies on disk, not in
    // the index). The intent recorded before the first link survives.
    fs.fail_nth(FaultOp::Link, 4);
    fs.fail_nth(FaultOp::Create, 1);
    fs.fail_nth(FaultOp::Remove, 1);
    store
        .copy_messages(A, "INBOX", &UidSet::all(), "Archive")
        .unwrap_err();
    let archive = root(dir.path(), "localhost", "alice").join(".Archive");
    assert_eq!(files(&archive), 1, "one copy could not be removed");
    drop(store);
    // The rescan at open would adopt it; the intent removes it first.
    let store = open(dir.path());
    assert!(uids(&store, A, "Archive").is_empty(), "no partial COPY");
    assert_eq!(files(&archive), 0);
    assert_eq!(uids(&store, A, "INBOX"), vec![1, 2, 3, 4, 5]);
    // A COPY now works, all of it, and survives a reopen.
    let out = store
        .copy_messages(A, "INBOX", &UidSet::all(), "Archive")
        .unwrap();
    assert_eq!(out.dest_uids.len(), 5);
    drop(store);
    assert_eq!(uids(&open(dir.path()), A, "Archive").len(), 5);
}

#[test]
fn a_link_planted_in_new_is_never_adopted_or_served() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, b"Subject: root only\r\n\r\nshadow\r\n").unwrap();
    let store = open(&dir.path().join("data"));
    store.add_user(A, "pw").unwrap();
    let inbox = root(&dir.path().join("data"), "localhost", "alice");
    symlink(&secret, inbox.join("new/1700000000.planted.host,S=30")).unwrap();
    let report = store.refresh(A, "INBOX").unwrap();
    assert_eq!(report.added, 0);
    assert!(uids(&store, A, "INBOX").is_empty());
    drop(store);
    let store = open(&dir.path().join("data"));
    assert!(
        uids(&store, A, "INBOX").is_empty(),
        "not adopted at open either"
    );
}

#[test]
fn a_linked_folder_or_subdirectory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(outside.join("cur")).unwrap();
    std::fs::write(outside.join("cur/victim"), b"keep me").unwrap();
    let store = open(&data);
    store.add_user(A, "pw").unwrap();
    let acct = root(&data, "localhost", "alice");

    // A `.Folder` linked outside the account: CREATE must not make
    // cur/new/tmp over there.
    symlink(&outside, acct.join(".Evil")).unwrap();
    let err = store.create_mailbox(A, "Evil", None).unwrap_err();
    assert!(matches!(err, StoreError::Symlink(_)), "{err:?}");
    assert!(!outside.join("new").exists());

    // An existing mailbox whose `new/` is replaced by a link.
    let junk = acct.join(".Junk");
    std::fs::remove_dir(junk.join("new")).unwrap();
    symlink(outside.join("cur"), junk.join("new")).unwrap();
    let err = store.refresh(A, "Junk").unwrap_err();
    assert!(matches!(err, StoreError::Symlink(_)), "{err:?}");
    let err = store.expunge(A, "Junk", None).unwrap_err();
    assert!(matches!(err, StoreError::Symlink(_)), "{err:?}");
    assert!(
        outside.join("cur/victim").exists(),
        "nothing moved or deleted there"
    );
    // The rest of the account keeps working, also across a reopen.
    deliver(&store, &[A], b"Subject: b\r\n\r\ny\r\n").unwrap();
    drop(store);
    let store = open(&data);
    assert_eq!(uids(&store, A, "INBOX").len(), 1);
    assert!(outside.join("cur/victim").exists());
    assert!(matches!(
        store.refresh(A, "Junk"),
        Err(StoreError::Symlink(_))
    ));
}

#[test]
fn a_truncated_message_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user(A, "pw").unwrap();
    deliver(&store, &[A], b"Subject: t\r\n\r\nsome body text\r\n").unwrap();
    let info = store.message(A, "INBOX", 1).unwrap().unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&info.path)
        .unwrap();
    f.set_len(10).unwrap();
    match store.open_message(A, "INBOX", 1) {
        Err(StoreError::SizeMismatch {
            uid,
            expected,
            actual,
        }) => assert_eq!((uid, expected, actual), (1, info.size, 10)),
        other => panic!("expected SizeMismatch, got {other:?}"),
    }
}

#[test]
fn everything_created_is_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A data_dir left world-readable by an older version.
    std::fs::create_dir_all(data.join("mail")).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let store = open(&data);
    store.add_user(A, "pw").unwrap();
    deliver(&store, &[A], b"Subject: p\r\n\r\nx\r\n").unwrap();
    store.create_mailbox(A, "Private", None).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("index.redb")), 0o600);
    let acct = root(&data, "localhost", "alice");
    for d in [
        data.join("mail"),
        data.join("mail/localhost"),
        acct.clone(),
        acct.join("new"),
        acct.join(".Private"),
        acct.join(".Private/cur"),
    ] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    let msg = store.message(A, "INBOX", 1).unwrap().unwrap();
    assert_eq!(mode(&msg.path), 0o600);
    assert_eq!(mode(&acct.join(".Private/maildirfolder")), 0o600);
}

#[test]
fn a_maildir_swapped_for_a_link_after_the_scan_is_not_followed() {
    // The race an lstat-then-use check loses: the message is indexed (the
    // scan saw real directories), then its `new/` (or `cur/`) and, separately, the
    // whole account directory become links to a place holding a file of
    // the same name and size. Opening it must not follow them.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = open(&data);
    store.add_user(A, "pw").unwrap();
    let body = b"Subject: mine\r\n\r\nprivate\r\n";
    deliver(&store, &[A], body).unwrap();
    let uid = uids(&store, A, "INBOX")[0];
    let acct = root(&data, "localhost", "alice");
    let info = store.message(A, "INBOX", uid).unwrap().expect("indexed");
    let sub = info
        .path
        .parent()
        .and_then(|p| p.file_name())
        .unwrap()
        .to_owned();
    let name = info.path.file_name().unwrap().to_owned();
    let outside = dir.path().join("outside");
    for d in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(outside.join(d)).unwrap();
    }
    // Same name, same size: only following the link would serve it.
    std::fs::write(
        outside.join(&sub).join(&name),
        vec![b'x'; info.size as usize],
    )
    .unwrap();
    assert!(store.open_message(A, "INBOX", uid).is_ok());

    std::fs::rename(acct.join(&sub), acct.join("real")).unwrap();
    symlink(outside.join(&sub), acct.join(&sub)).unwrap();
    let err = store.open_message(A, "INBOX", uid).unwrap_err();
    assert!(matches!(err, StoreError::Symlink(_)), "{err:?}");

    std::fs::remove_file(acct.join(&sub)).unwrap();
    std::fs::rename(acct.join("real"), acct.join(&sub)).unwrap();
    assert!(
        store.open_message(A, "INBOX", uid).is_ok(),
        "served again once real"
    );
    let moved = dir.path().join("alice.real");
    std::fs::rename(&acct, &moved).unwrap();
    symlink(&outside, &acct).unwrap();
    let err = store.open_message(A, "INBOX", uid).unwrap_err();
    assert!(matches!(err, StoreError::Symlink(_)), "{err:?}");
}
