//! Streamed delivery and group commit.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use common::{deliver, envelope, names, open, root, uids};
use maildir::{DeliveryError, Envelope, Flags};

const TRACE: &[u8] = b"Received: from client.test by mx.test; Sun, 22 Nov 2026 16:00:00 +0000\r\n";

#[test]
fn stores_return_path_trace_and_exact_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    let body = b"Subject: hi\r\n\r\nline with trailing space \r\n.dot\r\n";
    let delivered = deliver(&store, &["Alice@LOCALHOST"], body).unwrap();
    let inbox = store.mailbox_status("alice@localhost", "INBOX").unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].address, "alice@localhost");
    assert_eq!(delivered[0].uid, 1);
    assert_eq!(delivered[0].uidvalidity, inbox.uidvalidity);
    assert_eq!((inbox.messages, inbox.uidnext), (1, 2));

    let mut expected = b"Return-Path: <sender@remote.test>\r\n".to_vec();
    expected.extend_from_slice(TRACE);
    expected.extend_from_slice(body);
    let list = store.list_messages("alice@localhost", "INBOX").unwrap();
    assert_eq!(list.len(), 1);
    let m = &list[0];
    assert_eq!(m.uid, 1);
    assert_eq!(m.size, expected.len() as u64);
    assert_eq!(m.flags, Flags::empty());
    assert_eq!(std::fs::read(&m.path).unwrap(), expected);
    let r = root(dir.path(), "localhost", "alice");
    assert_eq!(m.path.parent().unwrap(), r.join("new"));
    let name = m.path.file_name().unwrap().to_str().unwrap();
    assert!(
        name.ends_with(&format!(".mx.test,S={}", expected.len())),
        "{name}"
    );
    assert!(!name.contains(':'), "new/ files carry no info part: {name}");
    assert_eq!(names(&r.join("tmp")), Vec::<String>::new());
}

#[test]
fn null_reverse_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    let mut d = store
        .begin_delivery(Envelope {
            return_path: None,
            recipients: vec!["alice@localhost".into()],
            trace: Vec::new(),
        })
        .unwrap();
    d.write(b"x\r\n").unwrap();
    d.commit().unwrap();
    let m = &store.list_messages("alice@localhost", "INBOX").unwrap()[0];
    assert_eq!(std::fs::read(&m.path).unwrap(), b"Return-Path: <>\r\nx\r\n");
}

#[test]
fn return_path_cannot_inject_headers() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    let err = store
        .begin_delivery(envelope(Some("a@b>\r\nBcc: x"), &["alice@localhost"]))
        .unwrap_err();
    assert!(matches!(err, DeliveryError::InvalidAddress(_)), "{err:?}");
    assert!(!err.is_temporary());
}

#[test]
fn streams_large_messages_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    let body: Vec<u8> = (0..300_000u32)
        .map(|i| b"abcdefghij\r\n"[(i % 12) as usize])
        .collect();
    let mut d = store
        .begin_delivery(envelope(None, &["alice@localhost"]))
        .unwrap();
    for chunk in body.chunks(1000) {
        d.write(chunk).unwrap();
    }
    d.commit().unwrap();
    let m = &store.list_messages("alice@localhost", "INBOX").unwrap()[0];
    let stored = std::fs::read(&m.path).unwrap();
    let header_len = b"Return-Path: <>\r\n".len() + TRACE.len();
    assert_eq!(stored.len(), header_len + body.len());
    assert_eq!(&stored[header_len..], &body[..]);
    assert_eq!(m.size, stored.len() as u64);
}

#[test]
fn several_recipients_share_one_file_and_duplicates_collapse() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    store.add_user("bob@other.test", "pw").unwrap();
    deliver(&store, &["bob@other.test"], b"first\r\n").unwrap();
    let delivered = deliver(
        &store,
        &["alice@localhost", "bob@other.test", "ALICE@localhost"],
        b"shared\r\n",
    )
    .unwrap();
    let got: Vec<(&str, u32)> = delivered
        .iter()
        .map(|d| (d.address.as_str(), d.uid))
        .collect();
    assert_eq!(got, vec![("alice@localhost", 1), ("bob@other.test", 2)]);
    let a = &store.list_messages("alice@localhost", "INBOX").unwrap()[0];
    let b = &store.list_messages("bob@other.test", "INBOX").unwrap()[1];
    assert_eq!(
        std::fs::read(&a.path).unwrap(),
        std::fs::read(&b.path).unwrap()
    );
    assert_eq!(std::fs::metadata(&a.path).unwrap().nlink(), 2, "hard links");
    assert_eq!(a.path.file_name(), b.path.file_name());
}

#[test]
fn unknown_recipient_is_permanent_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    let err = store
        .begin_delivery(envelope(None, &["alice@localhost", "nobody@localhost"]))
        .unwrap_err();
    assert!(
        matches!(&err, DeliveryError::UnknownRecipient(a) if a == "nobody@localhost"),
        "{err:?}"
    );
    assert!(!err.is_temporary());
    assert!(matches!(
        store.begin_delivery(envelope(None, &[])).unwrap_err(),
        DeliveryError::NoRecipients
    ));
    assert!(matches!(
        store
            .begin_delivery(envelope(None, &["../x@localhost"]))
            .unwrap_err(),
        DeliveryError::InvalidAddress(_)
    ));
    assert_eq!(
        names(&root(dir.path(), "localhost", "alice").join("tmp")),
        Vec::<String>::new()
    );
}

#[test]
fn abort_and_drop_remove_the_tmp_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    let tmp = root(dir.path(), "localhost", "alice").join("tmp");
    let mut d = store
        .begin_delivery(envelope(None, &["alice@localhost"]))
        .unwrap();
    d.write(b"partial").unwrap();
    assert_eq!(names(&tmp).len(), 1);
    d.abort();
    assert_eq!(names(&tmp), Vec::<String>::new());
    let d = store
        .begin_delivery(envelope(None, &["alice@localhost"]))
        .unwrap();
    assert_eq!(names(&tmp).len(), 1);
    drop(d);
    assert_eq!(names(&tmp), Vec::<String>::new());
    assert_eq!(uids(&store, "alice@localhost", "INBOX"), Vec::<u32>::new());
}

#[test]
fn committed_message_survives_reopen_with_the_same_uid() {
    let dir = tempfile::tempdir().unwrap();
    let (uidvalidity, path) = {
        let store = open(dir.path());
        store.add_user("alice@localhost", "pw").unwrap();
        deliver(&store, &["alice@localhost"], b"one\r\n").unwrap();
        let d = deliver(&store, &["alice@localhost"], b"two\r\n").unwrap();
        assert_eq!(d[0].uid, 2);
        let list = store.list_messages("alice@localhost", "INBOX").unwrap();
        (d[0].uidvalidity, list[1].path.clone())
    };
    let store = open(dir.path());
    let list = store.list_messages("alice@localhost", "INBOX").unwrap();
    assert_eq!(list.iter().map(|m| m.uid).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(list[1].path, path);
    let status = store.mailbox_status("alice@localhost", "INBOX").unwrap();
    assert_eq!(
        (status.uidvalidity, status.uidnext, status.messages),
        (uidvalidity, 3, 2)
    );
}

#[test]
fn concurrent_deliveries_get_distinct_increasing_uids() {
    const THREADS: usize = 16;
    const PER_THREAD: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    store.add_user("bob@localhost", "pw").unwrap();
    let barrier = Arc::new(std::sync::Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = store.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let mut mine = Vec::new();
                for i in 0..PER_THREAD {
                    let body = format!("Subject: {t}-{i}\r\n\r\nbody\r\n");
                    let to: &[&str] = if i % 2 == 0 {
                        &["alice@localhost"]
                    } else {
                        &["alice@localhost", "bob@localhost"]
                    };
                    let d = deliver(&store, to, body.as_bytes()).unwrap();
                    mine.push(d[0].uid);
                }
                mine
            })
        })
        .collect();
    let mut all = BTreeSet::new();
    for h in handles {
        let mine = h.join().unwrap();
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "per-thread UIDs increase: {mine:?}"
        );
        all.extend(mine);
    }
    let total = THREADS * PER_THREAD;
    assert_eq!(
        all,
        (1..=u32::try_from(total).unwrap()).collect::<BTreeSet<_>>()
    );
    let list = store.list_messages("alice@localhost", "INBOX").unwrap();
    assert_eq!(list.len(), total);
    for m in &list {
        assert_eq!(
            std::fs::metadata(&m.path).unwrap().len(),
            m.size,
            "{}",
            m.path.display()
        );
    }
    assert_eq!(
        names(&root(dir.path(), "localhost", "alice").join("new")).len(),
        total
    );
    assert_eq!(uids(&store, "bob@localhost", "INBOX").len(), total / 2);
    let status = store.mailbox_status("alice@localhost", "INBOX").unwrap();
    assert_eq!(status.uidnext, u32::try_from(total).unwrap() + 1);
}

#[test]
fn account_deleted_during_delivery_fails_temporarily() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    let mut d = store
        .begin_delivery(envelope(None, &["alice@localhost"]))
        .unwrap();
    d.write(b"x\r\n").unwrap();
    store.delete_user("alice@localhost").unwrap();
    let err = d.commit().unwrap_err();
    assert!(err.is_temporary(), "{err:?}");
    assert!(!root(dir.path(), "localhost", "alice").exists());
    // The retry is refused permanently at the recipient.
    assert!(matches!(
        store
            .begin_delivery(envelope(None, &["alice@localhost"]))
            .unwrap_err(),
        DeliveryError::UnknownRecipient(_)
    ));
}
