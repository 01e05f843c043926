//! Accounts: creation, layout, passwords, deletion, locking.

mod common;

use common::{names, open, root};
use maildir::{AccountError, SpecialUse, Store, StoreError};

#[test]
fn new_account_gets_maildir_plus_plus_layout_and_special_use() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    let r = root(dir.path(), "localhost", "alice");
    assert_eq!(
        names(&r),
        vec![
            ".Archive", ".Drafts", ".Junk", ".Sent", ".Trash", "cur", "new", "tmp"
        ]
    );
    assert_eq!(
        names(&r.join(".Sent")),
        vec!["cur", "maildirfolder", "new", "tmp"]
    );
    let boxes = store.mailboxes("alice@localhost").unwrap();
    let got: Vec<(&str, Option<SpecialUse>)> = boxes
        .iter()
        .map(|b| (b.name.as_str(), b.special_use))
        .collect();
    assert_eq!(
        got,
        vec![
            ("INBOX", None),
            ("Archive", Some(SpecialUse::Archive)),
            ("Drafts", Some(SpecialUse::Drafts)),
            ("Junk", Some(SpecialUse::Junk)),
            ("Sent", Some(SpecialUse::Sent)),
            ("Trash", Some(SpecialUse::Trash)),
        ]
    );
    let mut validities: Vec<u32> = boxes
        .iter()
        .map(|b| {
            store
                .mailbox_status("alice@localhost", &b.name)
                .unwrap()
                .uidvalidity
        })
        .collect();
    validities.sort_unstable();
    validities.dedup();
    assert_eq!(
        validities.len(),
        6,
        "UIDVALIDITY must be distinct per mailbox"
    );
    let inbox = store.mailbox_status("alice@localhost", "inbox").unwrap();
    assert_eq!((inbox.messages, inbox.uidnext), (0, 1));
}

#[test]
fn add_existing_fails_and_leaves_the_account_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "old").unwrap();
    let before = store.mailbox_status("alice@localhost", "INBOX").unwrap();
    let err = store.add_user("ALICE@LocalHost", "new").unwrap_err();
    assert!(matches!(err, AccountError::AlreadyExists), "{err:?}");
    assert!(store.verify_password("alice@localhost", "old").unwrap());
    assert!(!store.verify_password("alice@localhost", "new").unwrap());
    assert_eq!(
        store.mailbox_status("alice@localhost", "INBOX").unwrap(),
        before
    );
}

#[test]
fn addresses_match_case_insensitively_and_keep_their_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("Bob.Smith@Example.ORG", "pw").unwrap();
    store.add_user("alice@example.org", "pw").unwrap();
    assert!(store.user_exists("bob.smith@example.org").unwrap());
    assert!(store.user_exists("BOB.SMITH@EXAMPLE.ORG").unwrap());
    assert!(!store.user_exists("carol@example.org").unwrap());
    assert_eq!(
        store.list_users().unwrap(),
        vec![
            "alice@example.org".to_owned(),
            "Bob.Smith@example.org".to_owned()
        ]
    );
    assert!(
        root(dir.path(), "example.org", "bob.smith")
            .join("new")
            .is_dir()
    );
    assert!(
        store
            .verify_password("BOB.smith@example.org", "pw")
            .unwrap()
    );
}

#[test]
fn passwords() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "correct horse").unwrap();
    assert!(
        store
            .verify_password("alice@localhost", "correct horse")
            .unwrap()
    );
    assert!(
        !store
            .verify_password("alice@localhost", "Correct horse")
            .unwrap()
    );
    assert!(!store.verify_password("alice@localhost", "").unwrap());
    assert!(
        !store
            .verify_password("nobody@localhost", "correct horse")
            .unwrap()
    );
    assert!(
        !store
            .verify_password("../x@localhost", "correct horse")
            .unwrap()
    );
    store
        .set_password("alice@localhost", "battery staple")
        .unwrap();
    assert!(
        store
            .verify_password("alice@localhost", "battery staple")
            .unwrap()
    );
    assert!(
        !store
            .verify_password("alice@localhost", "correct horse")
            .unwrap()
    );
    let err = store.set_password("nobody@localhost", "x").unwrap_err();
    assert!(matches!(err, AccountError::NotFound), "{err:?}");
}

#[test]
fn delete_removes_index_entries_and_mail() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    common::deliver(&store, &["alice@localhost"], b"Subject: x\r\n\r\nx\r\n").unwrap();
    let old = store.mailbox_status("alice@localhost", "INBOX").unwrap();
    store.delete_user("Alice@localhost").unwrap();
    assert!(!root(dir.path(), "localhost", "alice").exists());
    assert!(!store.user_exists("alice@localhost").unwrap());
    assert_eq!(store.list_users().unwrap(), Vec::<String>::new());
    assert!(matches!(
        store
            .mailbox_status("alice@localhost", "INBOX")
            .unwrap_err(),
        StoreError::NoSuchAccount(_)
    ));
    let err = store.delete_user("alice@localhost").unwrap_err();
    assert!(matches!(err, AccountError::NotFound), "{err:?}");
    // Re-created: empty, and a new UIDVALIDITY (RFC 9051 §2.3.1.1).
    store.add_user("alice@localhost", "pw").unwrap();
    let new = store.mailbox_status("alice@localhost", "INBOX").unwrap();
    assert_eq!((new.messages, new.uidnext), (0, 1));
    assert!(new.uidvalidity > old.uidvalidity);
}

#[test]
fn unsafe_addresses_are_rejected_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for bad in [
        "../../etc@localhost",
        "a/b@localhost",
        ".@localhost",
        "..@localhost",
        "alice@../..",
        "alice@a/b",
        "alice@",
        "@localhost",
        "alice\r\n@localhost",
        "alice",
    ] {
        let err = store.add_user(bad, "pw").unwrap_err();
        assert!(
            matches!(err, AccountError::InvalidAddress(_)),
            "{bad:?}: {err:?}"
        );
    }
    assert_eq!(names(dir.path()), vec!["index.redb", "mail"]);
    assert_eq!(names(&dir.path().join("mail")), Vec::<String>::new());
    assert!(matches!(
        store.user_exists("a/b@localhost").unwrap_err(),
        StoreError::InvalidAddress(_)
    ));
}

#[test]
fn unknown_mailbox_and_bad_mailbox_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    assert!(matches!(
        store.mailbox_status("alice@localhost", "Nope").unwrap_err(),
        StoreError::NoSuchMailbox(m) if m == "Nope"
    ));
    assert!(matches!(
        store.list_messages("alice@localhost", "../x").unwrap_err(),
        StoreError::InvalidMailbox(_)
    ));
}

#[test]
fn second_open_is_locked_and_accounts_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    let err = Store::open(common::config(dir.path())).unwrap_err();
    assert!(matches!(err, StoreError::Locked), "{err:?}");
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        store.list_users().unwrap(),
        vec!["alice@localhost".to_owned()]
    );
    assert!(store.verify_password("alice@localhost", "pw").unwrap());
}

/// `PasswordHashing::Fast` (TestServer's throw-away accounts) stores an
/// argon2id hash with the minimal memory cost, verified like any other;
/// a store with standard hashing still verifies it.
#[test]
fn fast_password_hashing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.password_hashing = maildir::PasswordHashing::Fast;
    let store = Store::open(config).unwrap();
    let started = std::time::Instant::now();
    store.add_user("alice@localhost", "pw").unwrap();
    store.set_password("alice@localhost", "pw2").unwrap();
    assert!(store.verify_password("alice@localhost", "pw2").unwrap());
    assert!(!store.verify_password("alice@localhost", "pw").unwrap());
    assert!(!store.verify_password("nobody@localhost", "pw2").unwrap());
    // Five hashes or checks, each well under a millisecond of argon2.
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    drop(store);
    let store = open(dir.path());
    assert!(store.verify_password("alice@localhost", "pw2").unwrap());
    let index = std::fs::read(dir.path().join("index.redb")).unwrap();
    let text = String::from_utf8_lossy(&index);
    assert!(
        text.contains("$argon2id$v=19$m=8,t=1,p=1$"),
        "fast parameters stored"
    );
}
