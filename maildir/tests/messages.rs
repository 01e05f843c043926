//! APPEND, STORE, EXPUNGE, COPY, MOVE, reading, MIME offsets, quota.

mod common;

use std::io::Read;
use std::os::unix::fs::MetadataExt;

use common::{append, deliver, drain, names, open, root, uids};
use maildir::{
    Change, CopyOutcome, Event, FlagChange, FlagOp, Flags, Notice, PartKind, Quota, StoreError,
    UidSet,
};

const A: &str = "alice@localhost";

fn setup() -> (tempfile::TempDir, maildir::Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.add_user(A, "pw").unwrap();
    (dir, store)
}

#[test]
fn append_stores_flags_keywords_date_and_exact_bytes() {
    let (dir, store) = setup();
    let sub = store.subscribe(A).unwrap();
    let body = b"From: a@b\r\nSubject: x\r\n\r\nbody \r\n";
    let mut a = store
        .begin_append(
            A,
            "Drafts",
            Flags::DRAFT.union(Flags::SEEN),
            &["$Label1".into(), "Work".into(), "$Label1".into()],
            Some(1_600_000_000),
        )
        .unwrap();
    a.write(&body[..5]).unwrap();
    a.write(&body[5..]).unwrap();
    let (uidvalidity, uid) = a.commit().unwrap();
    let st = store.mailbox_status(A, "Drafts").unwrap();
    assert_eq!((uidvalidity, uid), (st.uidvalidity, 1));
    assert_eq!((st.messages, st.uidnext, st.highestmodseq), (1, 2, 2));
    let m = store.message(A, "Drafts", 1).unwrap().unwrap();
    assert_eq!(m.size, body.len() as u64);
    assert_eq!(m.flags, Flags::DRAFT.union(Flags::SEEN));
    assert_eq!(m.keywords, vec!["$Label1".to_owned(), "Work".to_owned()]);
    assert_eq!(m.internal_date, 1_600_000_000);
    assert_eq!(m.modseq, 2);
    // RFC 3501 §6.3.11: \Recent also with flags; it waits in new/ with its
    // info suffix until a session claims it, which moves it to cur/.
    assert!(m.recent);
    assert_eq!(std::fs::read(&m.path).unwrap(), body);
    let name = m.path.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.ends_with(&format!(",S={}:2,DS", body.len())), "{name}");
    let r = root(dir.path(), "localhost", "alice");
    assert_eq!(m.path.parent().unwrap(), r.join(".Drafts").join("new"));
    assert_eq!(names(&r.join(".Drafts").join("tmp")), Vec::<String>::new());
    assert_eq!(
        common::drain(&sub),
        vec![Event::Change(Notice {
            mailbox: "Drafts".into(),
            uidvalidity,
            change: Change::Appended { uid: 1, modseq: 2 },
        })]
    );
    let mut f = store.open_message(A, "Drafts", 1).unwrap();
    let mut read = Vec::new();
    f.read_to_end(&mut read).unwrap();
    assert_eq!(read, body);
    // Unknown mailbox: TRYCREATE material; dropping an append leaves nothing.
    assert!(matches!(
        store.begin_append(A, "Nope", Flags::empty(), &[], None),
        Err(StoreError::NoSuchMailbox(n)) if n == "Nope"
    ));
    let mut dropped = store
        .begin_append(A, "Sent", Flags::empty(), &[], None)
        .unwrap();
    dropped.write(b"x").unwrap();
    drop(dropped);
    assert_eq!(names(&r.join(".Sent").join("tmp")), Vec::<String>::new());
    assert_eq!(store.mailbox_status(A, "Sent").unwrap().messages, 0);
}

#[test]
fn mime_offsets_are_stored_and_point_at_the_parts() {
    let (_dir, store) = setup();
    let body = b"Subject: m\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n";
    append(&store, A, "INBOX", Flags::empty(), body).unwrap();
    deliver(&store, &[A], body).unwrap();
    for uid in [1, 2] {
        let root = store.mime_parts(A, "INBOX", uid).unwrap().unwrap();
        let file = std::fs::read(store.message(A, "INBOX", uid).unwrap().unwrap().path).unwrap();
        let part = |s: u64, e: u64| &file[s as usize..e as usize];
        assert_eq!(root.kind, PartKind::Multipart);
        assert_eq!(root.end, file.len() as u64);
        assert_eq!(root.children.len(), 2);
        let p = &root.children[0];
        assert_eq!(part(p.body_start, p.end), b"plain");
        let h = &root.children[1];
        assert_eq!(
            part(h.header_start, h.body_start),
            b"Content-Type: text/html\r\n\r\n"
        );
        assert_eq!(part(h.body_start, h.end), b"<p>html</p>");
    }
    assert_eq!(store.mime_parts(A, "INBOX", 99).unwrap(), None);
}

#[test]
fn store_flags_renames_files_and_bumps_modseq() {
    let (dir, store) = setup();
    deliver(&store, &[A], b"1\r\n").unwrap();
    deliver(&store, &[A], b"2\r\n").unwrap();
    deliver(&store, &[A], b"3\r\n").unwrap();
    let r = root(dir.path(), "localhost", "alice");
    assert_eq!(names(&r.join("new")).len(), 3);
    let hms = store.mailbox_status(A, "INBOX").unwrap().highestmodseq;
    let sub = store.subscribe(A).unwrap();
    let out = store
        .store_flags(
            A,
            "INBOX",
            &UidSet::from([1, 2]),
            &FlagChange {
                op: FlagOp::Add,
                flags: Flags::SEEN.union(Flags::FLAGGED),
                keywords: vec!["$Important".into()],
                unchanged_since: None,
            },
        )
        .unwrap();
    assert_eq!(out.modified, Vec::<u32>::new());
    assert_eq!(
        out.updated
            .iter()
            .map(|u| (u.uid, u.modseq, u.changed))
            .collect::<Vec<_>>(),
        vec![(1, hms + 1, true), (2, hms + 2, true)]
    );
    let list = store.list_messages(A, "INBOX").unwrap();
    for m in &list[..2] {
        assert_eq!(m.path.parent().unwrap(), r.join("cur"));
        assert!(
            m.path.to_str().unwrap().ends_with(":2,FS"),
            "{}",
            m.path.display()
        );
        assert!(m.path.exists());
        assert_eq!(m.keywords, vec!["$Important".to_owned()]);
    }
    assert!(list[2].recent);
    let events = drain(&sub);
    assert_eq!(events.len(), 2);
    assert!(
        matches!(&events[0], Event::Change(Notice { change: Change::Flags { uid: 1, modseq, .. }, .. }) if *modseq == hms + 1)
    );

    // Same flags again: nothing changes, MODSEQ kept.
    let again = store
        .store_flags(
            A,
            "INBOX",
            &UidSet::from([1]),
            &FlagChange::flags(FlagOp::Add, Flags::SEEN),
        )
        .unwrap();
    assert_eq!(again.updated[0].modseq, hms + 1);
    assert!(!again.updated[0].changed);
    assert!(drain(&sub).is_empty());

    // UNCHANGEDSINCE: uid 1 changed at hms+1, uid 3 never since delivery.
    let cond = store
        .store_flags(
            A,
            "INBOX",
            &UidSet::from_ranges([1..=3]),
            &FlagChange {
                op: FlagOp::Replace,
                flags: Flags::ANSWERED,
                keywords: vec![],
                unchanged_since: Some(hms),
            },
        )
        .unwrap();
    assert_eq!(cond.modified, vec![1, 2]);
    assert_eq!(cond.updated.len(), 1);
    assert_eq!(
        (cond.updated[0].uid, cond.updated[0].flags),
        (3, Flags::ANSWERED)
    );

    // Remove: flags and keywords go; the file name follows.
    store
        .store_flags(
            A,
            "INBOX",
            &UidSet::from([1]),
            &FlagChange {
                op: FlagOp::Remove,
                flags: Flags::FLAGGED,
                keywords: vec!["$Important".into()],
                unchanged_since: None,
            },
        )
        .unwrap();
    let m = store.message(A, "INBOX", 1).unwrap().unwrap();
    assert_eq!((m.flags, m.keywords.len()), (Flags::SEEN, 0));
    assert!(m.path.to_str().unwrap().ends_with(":2,S"));
    // Survives a reopen (rescan agrees with the index).
    drop(store);
    let store = open(dir.path());
    let again = store.message(A, "INBOX", 1).unwrap().unwrap();
    assert_eq!(again, m);
}

#[test]
fn claim_recent_moves_new_to_cur_once() {
    let (dir, store) = setup();
    deliver(&store, &[A], b"1\r\n").unwrap();
    deliver(&store, &[A], b"2\r\n").unwrap();
    let hms = store.mailbox_status(A, "INBOX").unwrap().highestmodseq;
    assert_eq!(store.claim_recent(A, "INBOX").unwrap(), vec![1, 2]);
    assert_eq!(store.claim_recent(A, "INBOX").unwrap(), Vec::<u32>::new());
    let r = root(dir.path(), "localhost", "alice");
    assert_eq!(names(&r.join("new")), Vec::<String>::new());
    assert!(names(&r.join("cur")).iter().all(|n| n.ends_with(":2,")));
    assert_eq!(store.mailbox_status(A, "INBOX").unwrap().highestmodseq, hms);
    let (_, list) = store.message_summaries(A, "INBOX").unwrap();
    assert!(list.iter().all(|m| !m.recent));
}

/// A full claim remembers a `new/` it found empty (by its mtime, once that
/// is older than the coarse clock's tick) and skips listing it next time;
/// a delivery changes the mtime, so the next claim still finds the message.
#[test]
fn claim_recent_after_an_empty_new_still_finds_a_later_delivery() {
    let (dir, store) = setup();
    deliver(&store, &[A], b"1\r\n").unwrap();
    assert_eq!(store.claim_recent(A, "INBOX").unwrap(), vec![1]);
    let new = root(dir.path(), "localhost", "alice").join("new");
    // Age the empty new/ so the claim below remembers it.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::open(&new)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert_eq!(store.claim_recent(A, "INBOX").unwrap(), Vec::<u32>::new());
    assert_eq!(store.claim_recent(A, "INBOX").unwrap(), Vec::<u32>::new());
    deliver(&store, &[A], b"2\r\n").unwrap();
    assert_eq!(store.claim_recent(A, "INBOX").unwrap(), vec![2]);
    // A new/ emptied just now is listed again by the next claim.
    deliver(&store, &[A], b"3\r\n").unwrap();
    assert_eq!(store.claim_recent(A, "INBOX").unwrap(), vec![3]);
    deliver(&store, &[A], b"4\r\n").unwrap();
    assert_eq!(store.claim_recent(A, "INBOX").unwrap(), vec![4]);
}

#[test]
fn claim_recent_uids_claims_only_those_and_only_once() {
    let (dir, store) = setup();
    for b in [b"1\r\n", b"2\r\n", b"3\r\n"] {
        deliver(&store, &[A], b).unwrap();
    }
    assert_eq!(
        store
            .claim_recent_uids(A, "INBOX", &UidSet::from([2, 3, 7]))
            .unwrap(),
        vec![2, 3]
    );
    // A second session told of 3 gets nothing: the first one claimed it.
    assert_eq!(
        store
            .claim_recent_uids(A, "INBOX", &UidSet::from([3]))
            .unwrap(),
        Vec::<u32>::new()
    );
    let r = root(dir.path(), "localhost", "alice");
    assert_eq!(names(&r.join("new")).len(), 1);
    let (_, list) = store.message_summaries(A, "INBOX").unwrap();
    let recent: Vec<u32> = list.iter().filter(|m| m.recent).map(|m| m.uid).collect();
    assert_eq!(recent, vec![1]);
    assert_eq!(store.claim_recent(A, "INBOX").unwrap(), vec![1]);
}

#[test]
fn a_copy_without_flags_is_recent_in_its_destination() {
    let (_dir, store) = setup();
    deliver(&store, &[A], b"1\r\n").unwrap();
    store.create_mailbox(A, "Dest", None).unwrap();
    assert_eq!(store.claim_recent(A, "INBOX").unwrap(), vec![1]);
    store
        .copy_messages(A, "INBOX", &UidSet::from([1]), "Dest")
        .unwrap();
    // RFC 3501 §6.4.7: the copy is \Recent although the original was claimed.
    let (_, list) = store.message_summaries(A, "Dest").unwrap();
    assert!(list.iter().all(|m| m.recent), "{list:?}");
    assert_eq!(store.claim_recent(A, "Dest").unwrap(), vec![1]);
}

/// RFC 3501 §6.4.7 and §2.3.2: a copy with flags is \Recent in its
/// destination too (also when copied within one mailbox); it waits in
/// new/ with an info suffix, and the claim moves it to cur/ with its
/// flags and keywords intact.
#[test]
fn a_copy_with_flags_is_recent_and_the_claim_keeps_its_flags() {
    let (dir, store) = setup();
    deliver(&store, &[A], b"1\r\n").unwrap();
    store.create_mailbox(A, "Dest", None).unwrap();
    assert_eq!(store.claim_recent(A, "INBOX").unwrap(), vec![1]);
    store
        .store_flags(
            A,
            "INBOX",
            &UidSet::from([1]),
            &FlagChange {
                op: FlagOp::Add,
                flags: Flags::SEEN.union(Flags::ANSWERED),
                keywords: vec!["$Work".into()],
                unchanged_since: None,
            },
        )
        .unwrap();
    store
        .copy_messages(A, "INBOX", &UidSet::from([1]), "Dest")
        .unwrap();
    store
        .copy_messages(A, "INBOX", &UidSet::from([1]), "INBOX")
        .unwrap();
    let r = root(dir.path(), "localhost", "alice");
    let (_, list) = store.message_summaries(A, "Dest").unwrap();
    assert!(list.iter().all(|m| m.recent), "{list:?}");
    let new = names(&r.join(".Dest").join("new"));
    assert!(new.len() == 1 && new[0].ends_with(":2,RS"), "{new:?}");
    assert_eq!(store.claim_recent(A, "Dest").unwrap(), vec![1]);
    assert_eq!(names(&r.join(".Dest").join("new")), Vec::<String>::new());
    let m = store.message(A, "Dest", 1).unwrap().unwrap();
    assert!(!m.recent);
    assert_eq!(m.flags, Flags::SEEN.union(Flags::ANSWERED));
    assert_eq!(m.keywords, vec!["$Work".to_owned()]);
    assert!(m.path.to_string_lossy().ends_with(":2,RS"), "{:?}", m.path);
    assert_eq!(m.path.parent().unwrap(), r.join(".Dest").join("cur"));
    // The copy within INBOX is the new UID 2, recent; the original is not.
    let (_, list) = store.message_summaries(A, "INBOX").unwrap();
    let recent: Vec<u32> = list.iter().filter(|m| m.recent).map(|m| m.uid).collect();
    assert_eq!(recent, vec![2]);
    // A rescan (another Maildir reader's view) keeps it as it is.
    drop(store);
    let store = open(dir.path());
    let m = store.message(A, "INBOX", 2).unwrap().unwrap();
    assert_eq!(
        (m.recent, m.flags),
        (true, Flags::SEEN.union(Flags::ANSWERED))
    );
}

#[test]
fn open_message_follows_a_rename_by_another_session() {
    let (_dir, store) = setup();
    deliver(&store, &[A], b"body\r\n").unwrap();
    let stale = store.message(A, "INBOX", 1).unwrap().unwrap().path;
    store
        .store_flags(
            A,
            "INBOX",
            &UidSet::from([1]),
            &FlagChange::flags(FlagOp::Add, Flags::SEEN),
        )
        .unwrap();
    assert!(!stale.exists());
    let mut s = String::new();
    store
        .open_message(A, "INBOX", 1)
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    assert!(s.ends_with("body\r\n"));
    match store.open_message(A, "INBOX", 7) {
        Err(StoreError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
}

#[test]
fn expunge_only_deleted_and_uid_expunge_and_pop3_delete() {
    let (dir, store) = setup();
    for i in 1..=6 {
        deliver(&store, &[A], format!("{i}\r\n").as_bytes()).unwrap();
    }
    store
        .store_flags(
            A,
            "INBOX",
            &UidSet::from([2, 4, 5]),
            &FlagChange::flags(FlagOp::Add, Flags::DELETED),
        )
        .unwrap();
    // The read-only pre-check EXPUNGE is answered from when it finds none.
    assert!(store.any_deleted(A, "INBOX", None).unwrap());
    assert!(
        store
            .any_deleted(A, "INBOX", Some(&UidSet::from([4])))
            .unwrap()
    );
    assert!(
        !store
            .any_deleted(A, "INBOX", Some(&UidSet::from([1, 3, 6])))
            .unwrap()
    );
    assert!(
        !store
            .any_deleted(A, "INBOX", Some(&UidSet::from([7])))
            .unwrap()
    );
    assert!(matches!(
        store.any_deleted(A, "Nope", None),
        Err(StoreError::NoSuchMailbox(_))
    ));
    let sub = store.subscribe(A).unwrap();
    // UID EXPUNGE 1:4 only takes the deleted ones inside the set.
    assert_eq!(
        store
            .expunge(A, "INBOX", Some(&UidSet::from_ranges([1..=4])))
            .unwrap(),
        vec![2, 4]
    );
    let hms = store.mailbox_status(A, "INBOX").unwrap().highestmodseq;
    assert_eq!(
        drain(&sub),
        vec![Event::Change(Notice {
            mailbox: "INBOX".into(),
            uidvalidity: store.mailbox_status(A, "INBOX").unwrap().uidvalidity,
            change: Change::Expunged {
                uids: vec![2, 4],
                modseq: hms
            },
        })]
    );
    assert_eq!(store.expunge(A, "INBOX", None).unwrap(), vec![5]);
    assert_eq!(store.expunge(A, "INBOX", None).unwrap(), Vec::<u32>::new());
    assert_eq!(uids(&store, A, "INBOX"), vec![1, 3, 6]);
    // POP3: regardless of \Deleted.
    assert_eq!(
        store
            .delete_messages(A, "INBOX", &UidSet::from([1, 6, 42]))
            .unwrap(),
        vec![1, 6]
    );
    assert_eq!(uids(&store, A, "INBOX"), vec![3]);
    let r = root(dir.path(), "localhost", "alice");
    assert_eq!(names(&r.join("new")).len() + names(&r.join("cur")).len(), 1);
    assert_eq!(names(&r.join("tmp")), Vec::<String>::new());
    let st = store.mailbox_status(A, "INBOX").unwrap();
    assert_eq!((st.messages, st.uidnext), (1, 7));
    // Tombstones: everything expunged after the first STORE's MODSEQ.
    let ch = store.changes_since(A, "INBOX", 1).unwrap();
    assert_eq!(ch.expunged, vec![1, 2, 4, 5, 6]);
    assert_eq!(
        ch.changed.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![3]
    );
    let ch = store.changes_since(A, "INBOX", hms).unwrap();
    assert_eq!(ch.expunged, vec![1, 5, 6]);
    assert_eq!(ch.changed, vec![]);
    // UIDs are not reused after reopen.
    drop(store);
    let store = open(dir.path());
    assert_eq!(deliver(&store, &[A], b"7\r\n").unwrap()[0].uid, 7);
}

#[test]
fn copy_links_files_and_reports_copyuid() {
    let (dir, store) = setup();
    for i in 1..=3 {
        deliver(&store, &[A], format!("{i}\r\n").as_bytes()).unwrap();
    }
    store
        .store_flags(
            A,
            "INBOX",
            &UidSet::from([3]),
            &FlagChange {
                op: FlagOp::Add,
                flags: Flags::FLAGGED,
                keywords: vec!["k".into()],
                unchanged_since: None,
            },
        )
        .unwrap();
    append(&store, A, "Archive", Flags::empty(), b"x\r\n").unwrap();
    let out = store
        .copy_messages(A, "INBOX", &UidSet::from([1, 3, 9]), "Archive")
        .unwrap();
    let archive = store.mailbox_status(A, "Archive").unwrap();
    assert_eq!(
        out,
        CopyOutcome {
            uidvalidity: archive.uidvalidity,
            source_uids: vec![1, 3],
            dest_uids: vec![2, 3],
        }
    );
    assert_eq!(uids(&store, A, "INBOX"), vec![1, 2, 3]);
    let src = store.message(A, "INBOX", 3).unwrap().unwrap();
    let dst = store.message(A, "Archive", 3).unwrap().unwrap();
    assert_eq!(
        (dst.flags, &dst.keywords, dst.size, dst.internal_date),
        (src.flags, &src.keywords, src.size, src.internal_date)
    );
    assert_eq!(
        std::fs::metadata(&src.path).unwrap().ino(),
        std::fs::metadata(&dst.path).unwrap().ino()
    );
    assert_eq!(
        store.mime_parts(A, "Archive", 3).unwrap(),
        store.mime_parts(A, "INBOX", 3).unwrap()
    );
    let r = root(dir.path(), "localhost", "alice");
    assert!(dst.path.starts_with(r.join(".Archive")));
    // Changing the copy's flags leaves the original alone.
    store
        .store_flags(
            A,
            "Archive",
            &UidSet::from([3]),
            &FlagChange::flags(FlagOp::Replace, Flags::SEEN),
        )
        .unwrap();
    assert_eq!(
        store.message(A, "INBOX", 3).unwrap().unwrap().flags,
        Flags::FLAGGED
    );
    assert!(matches!(
        store.copy_messages(A, "INBOX", &UidSet::from([1]), "Nope"),
        Err(StoreError::NoSuchMailbox(n)) if n == "Nope"
    ));
    // COPY into the same mailbox makes new UIDs.
    let same = store
        .copy_messages(A, "INBOX", &UidSet::from([1]), "INBOX")
        .unwrap();
    assert_eq!(same.dest_uids, vec![4]);
    assert_eq!(store.quota_usage(A).unwrap().messages, 4 + 3);
}

#[test]
fn move_renames_and_expunges_in_one_step() {
    let (dir, store) = setup();
    for i in 1..=4 {
        deliver(&store, &[A], format!("{i}\r\n").as_bytes()).unwrap();
    }
    let bytes_before = store.quota_usage(A).unwrap().bytes;
    let sub = store.subscribe(A).unwrap();
    let out = store
        .move_messages(A, "INBOX", &UidSet::from_ranges([2..=3]), "Trash")
        .unwrap();
    assert_eq!((out.source_uids, out.dest_uids), (vec![2, 3], vec![1, 2]));
    assert_eq!(uids(&store, A, "INBOX"), vec![1, 4]);
    assert_eq!(uids(&store, A, "Trash"), vec![1, 2]);
    let moved = store.message(A, "Trash", 1).unwrap().unwrap();
    assert!(std::fs::read(&moved.path).unwrap().ends_with(b"2\r\n"));
    assert_eq!(store.quota_usage(A).unwrap().bytes, bytes_before);
    let kinds: Vec<(String, String)> = drain(&sub)
        .into_iter()
        .map(|e| match e {
            Event::Change(n) => (n.mailbox, format!("{:?}", n.change)),
            Event::Overflowed => panic!("overflow"),
        })
        .collect();
    assert_eq!(kinds.len(), 3);
    assert_eq!(kinds[0].0, "Trash");
    assert_eq!(kinds[2].0, "INBOX");
    assert!(kinds[2].1.starts_with("Expunged { uids: [2, 3]"));
    assert_eq!(
        store.changes_since(A, "INBOX", 0).unwrap().expunged,
        vec![2, 3]
    );
    let r = root(dir.path(), "localhost", "alice");
    assert_eq!(names(&r.join("new")).len(), 2);
    drop(store);
    let store = open(dir.path());
    assert_eq!(uids(&store, A, "INBOX"), vec![1, 4]);
    assert_eq!(uids(&store, A, "Trash"), vec![1, 2]);
}

#[test]
fn quota_refuses_append_delivery_and_copy() {
    let (_dir, store) = setup();
    store.set_quota(Quota {
        max_bytes: Some(2_000),
        max_messages: Some(3),
    });
    let usage = store.quota_usage(A).unwrap();
    assert_eq!((usage.bytes, usage.messages), (0, 0));
    append(&store, A, "INBOX", Flags::empty(), &[b'a'; 900]).unwrap();
    append(&store, A, "Sent", Flags::empty(), &[b'b'; 900]).unwrap();
    let usage = store.quota_usage(A).unwrap();
    assert_eq!((usage.bytes, usage.messages), (1_800, 2));
    // Bytes: 1800 + 300 > 2000.
    assert!(matches!(
        append(&store, A, "INBOX", Flags::empty(), &[b'c'; 300]),
        Err(StoreError::OverQuota(a)) if a == A
    ));
    match deliver(&store, &[A], &[b'd'; 300]) {
        Err(e @ maildir::DeliveryError::OverQuota(_)) => assert!(!e.is_temporary()),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.copy_messages(A, "INBOX", &UidSet::from([1]), "Archive"),
        Err(StoreError::OverQuota(_))
    ));
    // Messages: a third small one fits, a fourth does not.
    append(&store, A, "INBOX", Flags::empty(), b"e").unwrap();
    assert!(matches!(
        store.begin_append(A, "INBOX", Flags::empty(), &[], None),
        Err(StoreError::OverQuota(_))
    ));
    // MOVE never grows usage.
    store
        .move_messages(A, "INBOX", &UidSet::from([1]), "Trash")
        .unwrap();
    assert_eq!(store.quota_usage(A).unwrap().messages, 3);
    store.set_quota(Quota::default());
    append(&store, A, "INBOX", Flags::empty(), b"f").unwrap();
}

/// The internal date's zone (an APPEND's `date-time` zone) is kept with
/// the message, by COPY, and across a reopen; a bad zone is ignored.
#[test]
fn the_internal_zone_is_kept() {
    let (dir, store) = setup();
    store.create_mailbox(A, "Dest", None).unwrap();
    let mut a = store
        .begin_append(A, "INBOX", Flags::empty(), &[], Some(1_174_773_600))
        .unwrap();
    a.set_internal_zone(120);
    a.write(b"Subject: z\r\n\r\n").unwrap();
    a.commit().unwrap();
    let mut b = store
        .begin_append(A, "INBOX", Flags::empty(), &[], Some(1))
        .unwrap();
    b.set_internal_zone(24 * 60);
    b.write(b"Subject: bad zone\r\n\r\n").unwrap();
    b.commit().unwrap();
    store
        .copy_messages(A, "INBOX", &UidSet::from([1]), "Dest")
        .unwrap();
    drop(store);
    let store = open(dir.path());
    for mailbox in ["INBOX", "Dest"] {
        let m = store.message(A, mailbox, 1).unwrap().unwrap();
        assert_eq!((m.internal_date, m.internal_zone), (1_174_773_600, 120));
        let (_, list) = store.message_summaries(A, mailbox).unwrap();
        assert_eq!(list[0].internal_zone, 120, "{mailbox}");
    }
    assert_eq!(
        store.message(A, "INBOX", 2).unwrap().unwrap().internal_zone,
        0
    );
}

/// `Append::recent_to_appender`: the message goes straight to `cur/`,
/// so no claim finds it (the appending session shows it `\Recent`); a
/// plain APPEND waits in `new/` for the first session to claim it.
#[test]
fn an_append_the_appender_takes_recent_for_skips_new() {
    let (dir, store) = setup();
    let r = root(dir.path(), "localhost", "alice");
    let mut a = store
        .begin_append(A, "INBOX", Flags::empty(), &[], None)
        .unwrap();
    a.recent_to_appender();
    a.write(b"Subject: own\r\n\r\nx\r\n").unwrap();
    let (_, own) = a.commit().unwrap();
    assert_eq!(names(&r.join("new")), Vec::<String>::new());
    assert_eq!(names(&r.join("cur")).len(), 1);
    assert!(!store.message(A, "INBOX", own).unwrap().unwrap().recent);
    assert_eq!(store.claim_recent(A, "INBOX").unwrap(), Vec::<u32>::new());
    let mut b = store
        .begin_append(A, "INBOX", Flags::empty(), &[], None)
        .unwrap();
    b.write(b"Subject: other\r\n\r\nx\r\n").unwrap();
    let (_, other) = b.commit().unwrap();
    assert_eq!(names(&r.join("new")).len(), 1);
    assert_eq!(store.claim_recent(A, "INBOX").unwrap(), vec![other]);
    assert_eq!(store.message(A, "INBOX", own).unwrap().unwrap().uid, own);
}
