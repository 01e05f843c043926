//! Mailbox administration: create, delete, rename, subscriptions.

mod common;

use common::{append, deliver, drain, mailbox_names, names, open, root, uids};
use maildir::{Change, Event, Flags, Notice, SpecialUse, StoreError};

const A: &str = "alice@localhost";

fn store_with_user(dir: &std::path::Path) -> maildir::Store {
    let store = open(dir);
    store.add_user(A, "pw").unwrap();
    store
}

#[test]
fn create_makes_parents_and_maildir_folders() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_user(dir.path());
    let sub = store.subscribe(A).unwrap();
    let st = store
        .create_mailbox(A, "Work/Projects/2026", Some(SpecialUse::Archive))
        .unwrap();
    assert_eq!((st.messages, st.uidnext, st.highestmodseq), (0, 1, 1));
    let r = root(dir.path(), "localhost", "alice");
    for d in [".Work", ".Work.Projects", ".Work.Projects.2026"] {
        assert_eq!(
            names(&r.join(d)),
            vec!["cur", "maildirfolder", "new", "tmp"],
            "{d}"
        );
    }
    let list = store.mailboxes(A).unwrap();
    let names: Vec<&str> = list.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "INBOX",
            "Archive",
            "Drafts",
            "Junk",
            "Sent",
            "Trash",
            "Work",
            "Work/Projects",
            "Work/Projects/2026"
        ]
    );
    let work = list.iter().find(|m| m.name == "Work").unwrap();
    assert!(work.has_children);
    assert_eq!(work.special_use, None);
    assert!(!work.subscribed);
    let leaf = list
        .iter()
        .find(|m| m.name == "Work/Projects/2026")
        .unwrap();
    assert!(!leaf.has_children);
    assert_eq!(leaf.special_use, Some(SpecialUse::Archive));
    let created: Vec<String> = drain(&sub)
        .into_iter()
        .map(|e| match e {
            Event::Change(Notice {
                mailbox,
                change: Change::MailboxCreated,
                ..
            }) => mailbox,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(created, vec!["Work", "Work/Projects", "Work/Projects/2026"]);
    assert!(matches!(
        store.create_mailbox(A, "Work", None),
        Err(StoreError::MailboxExists(n)) if n == "Work"
    ));
    assert!(matches!(
        store.create_mailbox(A, "inbox", None),
        Err(StoreError::MailboxExists(n)) if n == "INBOX"
    ));
}

#[test]
fn names_that_could_escape_or_collide_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_user(dir.path());
    for bad in [
        "..",
        "../x",
        "a/../b",
        "a.b",
        ".hidden",
        "a//b",
        "/abs",
        "trailing/",
        "",
        "tab\there",
        "nul\0",
        "back\\slash",
        "~tilde",
    ] {
        assert!(
            matches!(
                store.create_mailbox(A, bad, None),
                Err(StoreError::InvalidMailbox(_))
            ),
            "{bad:?}"
        );
    }
    let long = "x".repeat(201);
    assert!(matches!(
        store.create_mailbox(A, &long, None),
        Err(StoreError::InvalidMailbox(_))
    ));
    // UTF-8 names are fine (IMAP4rev2 mailbox names are UTF-8).
    store.create_mailbox(A, "Entwürfe/été", None).unwrap();
    let r = root(dir.path(), "localhost", "alice");
    assert!(r.join(".Entwürfe.été").join("cur").is_dir());
}

#[test]
fn uidvalidity_is_never_reused_for_a_recreated_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_user(dir.path());
    let first = store.create_mailbox(A, "X", None).unwrap();
    append(&store, A, "X", Flags::empty(), b"a\r\n").unwrap();
    store.delete_mailbox(A, "X").unwrap();
    let second = store.create_mailbox(A, "X", None).unwrap();
    assert!(second.uidvalidity > first.uidvalidity);
    assert_eq!((second.messages, second.uidnext), (0, 1));
    drop(store);
    let store = open(dir.path());
    let third = {
        store.delete_mailbox(A, "X").unwrap();
        store.create_mailbox(A, "X", None).unwrap()
    };
    assert!(third.uidvalidity > second.uidvalidity);
}

#[test]
fn delete_removes_messages_and_keeps_children() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_user(dir.path());
    store.create_mailbox(A, "P/C", None).unwrap();
    append(&store, A, "P", Flags::empty(), b"parent\r\n").unwrap();
    append(&store, A, "P/C", Flags::empty(), b"child\r\n").unwrap();
    assert_eq!(store.quota_usage(A).unwrap().messages, 2);
    let sub = store.subscribe(A).unwrap();
    store.delete_mailbox(A, "P").unwrap();
    let r = root(dir.path(), "localhost", "alice");
    assert!(!r.join(".P").exists());
    assert_eq!(uids(&store, A, "P/C"), vec![1]);
    assert!(mailbox_names(&store, A).contains(&"P/C".to_owned()));
    assert!(!mailbox_names(&store, A).contains(&"P".to_owned()));
    assert_eq!(store.quota_usage(A).unwrap().messages, 1);
    assert!(matches!(
        store.mailbox_status(A, "P"),
        Err(StoreError::NoSuchMailbox(_))
    ));
    assert!(matches!(
        drain(&sub).as_slice(),
        [Event::Change(Notice { change: Change::MailboxDeleted, mailbox, .. })] if mailbox == "P"
    ));
    assert!(matches!(
        store.delete_mailbox(A, "INBOX"),
        Err(StoreError::NotAllowed(_))
    ));
    assert!(matches!(
        store.delete_mailbox(A, "P"),
        Err(StoreError::NoSuchMailbox(_))
    ));
    // Still right after a reopen (no resurrection by the rescan).
    drop(store);
    let store = open(dir.path());
    assert!(!mailbox_names(&store, A).contains(&"P".to_owned()));
    assert_eq!(uids(&store, A, "P/C"), vec![1]);
}

#[test]
fn rename_takes_children_and_keeps_uids() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_user(dir.path());
    store.create_mailbox(A, "Old/Sub", None).unwrap();
    let (v1, u1) = append(&store, A, "Old", Flags::SEEN, b"one\r\n").unwrap();
    let (v2, u2) = append(&store, A, "Old/Sub", Flags::empty(), b"two\r\n").unwrap();
    let sub = store.subscribe(A).unwrap();
    store.rename_mailbox(A, "Old", "New/Place").unwrap();
    let names = mailbox_names(&store, A);
    assert!(names.contains(&"New".to_owned()));
    assert!(names.contains(&"New/Place".to_owned()));
    assert!(names.contains(&"New/Place/Sub".to_owned()));
    assert!(!names.iter().any(|n| n.starts_with("Old")));
    let st = store.mailbox_status(A, "New/Place").unwrap();
    assert_eq!((st.uidvalidity, st.messages), (v1, 1));
    assert_eq!(
        store
            .mailbox_status(A, "New/Place/Sub")
            .unwrap()
            .uidvalidity,
        v2
    );
    let m = store.message(A, "New/Place", u1).unwrap().unwrap();
    assert_eq!(std::fs::read(&m.path).unwrap(), b"one\r\n");
    assert_eq!(m.flags, Flags::SEEN);
    let r = root(dir.path(), "localhost", "alice");
    assert!(r.join(".New.Place.Sub").join("cur").is_dir());
    assert!(!r.join(".Old").exists() && !r.join(".Old.Sub").exists());
    let renamed: Vec<(String, String)> = drain(&sub)
        .into_iter()
        .filter_map(|e| match e {
            Event::Change(Notice {
                mailbox,
                change: Change::MailboxRenamed { to },
                ..
            }) => Some((mailbox, to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        renamed,
        vec![
            ("Old".to_owned(), "New/Place".to_owned()),
            ("Old/Sub".to_owned(), "New/Place/Sub".to_owned())
        ]
    );
    drop(store);
    let store = open(dir.path());
    assert_eq!(uids(&store, A, "New/Place/Sub"), vec![u2]);
    assert_eq!(uids(&store, A, "New/Place"), vec![u1]);
    // Collisions and nonsense.
    assert!(matches!(
        store.rename_mailbox(A, "New/Place", "Sent"),
        Err(StoreError::MailboxExists(n)) if n == "Sent"
    ));
    assert!(matches!(
        store.rename_mailbox(A, "New", "New/Place/Deeper"),
        Err(StoreError::NotAllowed(_))
    ));
    assert!(matches!(
        store.rename_mailbox(A, "Nope", "X"),
        Err(StoreError::NoSuchMailbox(_))
    ));
    assert!(matches!(
        store.rename_mailbox(A, "Sent", "INBOX"),
        Err(StoreError::MailboxExists(_))
    ));
}

#[test]
fn renaming_inbox_moves_its_messages_and_leaves_it_empty() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_user(dir.path());
    deliver(&store, &[A], b"first\r\n").unwrap();
    deliver(&store, &[A], b"second\r\n").unwrap();
    store.create_mailbox(A, "INBOX/Child", None).unwrap();
    let before = store.mailbox_status(A, "INBOX").unwrap();
    store.rename_mailbox(A, "INBOX", "Old Mail").unwrap();
    let old = store.mailbox_status(A, "Old Mail").unwrap();
    assert_eq!(old, before);
    assert_eq!(uids(&store, A, "Old Mail"), vec![1, 2]);
    let inbox = store.mailbox_status(A, "INBOX").unwrap();
    assert_eq!((inbox.messages, inbox.uidnext), (0, 1));
    assert!(inbox.uidvalidity > before.uidvalidity);
    // INBOX's children are not renamed (RFC 9051 §6.3.6).
    assert!(mailbox_names(&store, A).contains(&"INBOX/Child".to_owned()));
    let r = root(dir.path(), "localhost", "alice");
    assert_eq!(names(&r.join("new")), Vec::<String>::new());
    assert_eq!(names(&r.join(".Old Mail").join("new")).len(), 2);
    let list = store.list_messages(A, "Old Mail").unwrap();
    assert!(
        std::fs::read(&list[1].path)
            .unwrap()
            .ends_with(b"second\r\n")
    );
    // New mail goes to the fresh INBOX; reopening changes nothing.
    deliver(&store, &[A], b"third\r\n").unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(uids(&store, A, "INBOX"), vec![1]);
    assert_eq!(uids(&store, A, "Old Mail"), vec![1, 2]);
}

#[test]
fn subscriptions_may_name_missing_mailboxes() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_user(dir.path());
    assert_eq!(
        store.subscriptions(A).unwrap(),
        vec!["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]
    );
    store.subscribe_mailbox(A, "Ghost/Town").unwrap();
    store.unsubscribe_mailbox(A, "Junk").unwrap();
    store.unsubscribe_mailbox(A, "Never").unwrap();
    assert_eq!(
        store.subscriptions(A).unwrap(),
        vec!["Archive", "Drafts", "Ghost/Town", "INBOX", "Sent", "Trash"]
    );
    let list = store.mailboxes(A).unwrap();
    assert!(!list.iter().find(|m| m.name == "Junk").unwrap().subscribed);
    assert!(list.iter().find(|m| m.name == "Sent").unwrap().subscribed);
    assert!(matches!(
        store.subscribe_mailbox(A, "../x"),
        Err(StoreError::InvalidMailbox(_))
    ));
    assert!(matches!(
        store.subscriptions("nobody@localhost"),
        Err(StoreError::NoSuchAccount(_))
    ));
    // Deleting the account drops its subscriptions.
    store.delete_user(A).unwrap();
    store.add_user(A, "pw").unwrap();
    assert!(
        !store
            .subscriptions(A)
            .unwrap()
            .contains(&"Ghost/Town".to_owned())
    );
}

/// Subscribing and unsubscribing are published (IMAP NOTIFY's
/// SubscriptionChange, RFC 5465 §5.5), also for names that do not exist.
#[test]
fn subscription_changes_are_published() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_user(dir.path());
    let sub = store.subscribe(A).unwrap();
    store.subscribe_mailbox(A, "Ghost").unwrap();
    store.unsubscribe_mailbox(A, "Sent").unwrap();
    let seen: Vec<(String, bool)> = drain(&sub)
        .into_iter()
        .map(|e| match e {
            Event::Change(Notice {
                mailbox,
                uidvalidity: 0,
                change: Change::Subscription { subscribed },
            }) => (mailbox, subscribed),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        seen,
        [("Ghost".to_owned(), true), ("Sent".to_owned(), false)]
    );
}
