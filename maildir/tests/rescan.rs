//! Rescan at open: files changed behind the index's back, stable UIDs.

mod common;

use std::fs;
use std::time::{Duration, SystemTime};

use common::{deliver, names, open, root, uids};
use maildir::{Flags, RescanReport};

#[test]
fn deleted_file_is_dropped_and_its_uid_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        store.add_user("alice@localhost", "pw").unwrap();
        for body in ["1\r\n", "2\r\n", "3\r\n"] {
            deliver(&store, &["alice@localhost"], body.as_bytes()).unwrap();
        }
        let list = store.list_messages("alice@localhost", "INBOX").unwrap();
        fs::remove_file(&list[1].path).unwrap();
        fs::remove_file(&list[2].path).unwrap();
    }
    let store = open(dir.path());
    assert_eq!(uids(&store, "alice@localhost", "INBOX"), vec![1]);
    let status = store.mailbox_status("alice@localhost", "INBOX").unwrap();
    assert_eq!((status.messages, status.uidnext), (1, 4));
    let d = deliver(&store, &["alice@localhost"], b"4\r\n").unwrap();
    assert_eq!(d[0].uid, 4);
}

fn set_mtime(path: &std::path::Path, secs: u64) {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn file_added_by_hand_gets_a_new_uid_and_others_keep_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let r = root(dir.path(), "localhost", "alice");
    let before = {
        let store = open(dir.path());
        store.add_user("alice@localhost", "pw").unwrap();
        deliver(&store, &["alice@localhost"], b"a\r\n").unwrap();
        deliver(&store, &["alice@localhost"], b"b\r\n").unwrap();
        store.list_messages("alice@localhost", "INBOX").unwrap()
    };
    // Like mutt: write in tmp/, then move into new/ or cur/.
    fs::write(
        r.join("new").join("1700000000.mutt1.host"),
        b"Subject: by hand\r\n\r\n",
    )
    .unwrap();
    fs::write(
        r.join("cur").join("1700000001.mutt2.host:2,FS"),
        b"seen\r\n",
    )
    .unwrap();
    fs::write(r.join("new").join(".hidden"), b"ignored").unwrap();
    set_mtime(&r.join("new").join("1700000000.mutt1.host"), 1_700_000_000);
    // Older mtime than its name says, on purpose: UIDs follow the mtime.
    set_mtime(
        &r.join("cur").join("1700000001.mutt2.host:2,FS"),
        1_600_000_000,
    );
    let store = open(dir.path());
    let after = store.list_messages("alice@localhost", "INBOX").unwrap();
    assert_eq!(after.len(), 4);
    assert_eq!(&after[..2], &before[..]);
    let added: Vec<(u32, String, Flags, u64, i64)> = after[2..]
        .iter()
        .map(|m| {
            (
                m.uid,
                m.path.strip_prefix(&r).unwrap().display().to_string(),
                m.flags,
                m.size,
                m.internal_date,
            )
        })
        .collect();
    // UIDs follow the files' mtimes (the received date, as Dovecot does).
    assert_eq!(
        added,
        vec![
            (
                3,
                "cur/1700000001.mutt2.host:2,FS".to_owned(),
                Flags::FLAGGED.union(Flags::SEEN),
                6,
                1_600_000_000
            ),
            (
                4,
                "new/1700000000.mutt1.host".to_owned(),
                Flags::empty(),
                20,
                1_700_000_000
            ),
        ]
    );
    let status = store.mailbox_status("alice@localhost", "INBOX").unwrap();
    assert_eq!((status.messages, status.uidnext), (4, 5));
}

#[test]
fn moved_to_cur_with_flags_keeps_its_uid() {
    let dir = tempfile::tempdir().unwrap();
    let r = root(dir.path(), "localhost", "alice");
    let (path, modseq) = {
        let store = open(dir.path());
        store.add_user("alice@localhost", "pw").unwrap();
        deliver(&store, &["alice@localhost"], b"a\r\n").unwrap();
        let m = store
            .list_messages("alice@localhost", "INBOX")
            .unwrap()
            .remove(0);
        (m.path, m.modseq)
    };
    let name = path.file_name().unwrap().to_str().unwrap().to_owned();
    let moved = r.join("cur").join(format!("{name}:2,RS"));
    fs::rename(&path, &moved).unwrap();
    let store = open(dir.path());
    let list = store.list_messages("alice@localhost", "INBOX").unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].uid, 1);
    assert_eq!(list[0].path, moved);
    assert_eq!(list[0].flags, Flags::ANSWERED.union(Flags::SEEN));
    assert!(list[0].modseq > modseq);
    let status = store.mailbox_status("alice@localhost", "INBOX").unwrap();
    assert_eq!(status.highestmodseq, list[0].modseq);
    // A second rescan finds nothing to do.
    assert_eq!(store.rescan().unwrap(), RescanReport::default());
}

#[test]
fn sub_folders_are_rescanned_too() {
    let dir = tempfile::tempdir().unwrap();
    let r = root(dir.path(), "localhost", "alice");
    drop({
        let store = open(dir.path());
        store.add_user("alice@localhost", "pw").unwrap();
        store
    });
    fs::write(
        r.join(".Sent").join("cur").join("1.x.host:2,S"),
        b"sent\r\n",
    )
    .unwrap();
    let store = open(dir.path());
    assert_eq!(uids(&store, "alice@localhost", "Sent"), vec![1]);
    assert_eq!(uids(&store, "alice@localhost", "INBOX"), Vec::<u32>::new());
}

#[test]
fn rescan_report_and_stale_tmp_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    let r = root(dir.path(), "localhost", "alice");
    let store = open(dir.path());
    store.add_user("alice@localhost", "pw").unwrap();
    deliver(&store, &["alice@localhost"], b"a\r\n").unwrap();
    let list = store.list_messages("alice@localhost", "INBOX").unwrap();
    fs::remove_file(&list[0].path).unwrap();
    fs::write(r.join("new").join("2.x.host"), b"b\r\n").unwrap();
    let stale = r.join("tmp").join("old.x.host");
    let fresh = r.join("tmp").join("fresh.x.host");
    fs::write(&stale, b"old").unwrap();
    fs::write(&fresh, b"fresh").unwrap();
    let old = SystemTime::now() - Duration::from_secs(37 * 3600);
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert_eq!(
        store.rescan().unwrap(),
        RescanReport {
            added: 1,
            dropped: 1,
            changed: 0
        }
    );
    assert_eq!(uids(&store, "alice@localhost", "INBOX"), vec![2]);
    assert_eq!(names(&r.join("tmp")), vec!["fresh.x.host".to_owned()]);
}

#[test]
fn add_user_adopts_a_leftover_directory() {
    let dir = tempfile::tempdir().unwrap();
    let r = root(dir.path(), "localhost", "carol");
    fs::create_dir_all(r.join("new")).unwrap();
    fs::write(r.join("new").join("1.x.host"), b"kept\r\n").unwrap();
    let store = open(dir.path());
    store.add_user("carol@localhost", "pw").unwrap();
    let list = store.list_messages("carol@localhost", "INBOX").unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].uid, list[0].size), (1, 6));
}
