//! MULTIAPPEND (RFC 3502) in the store: all messages or none, consecutive
//! UIDs, durable before `commit` returns; under injected faults, a quota
//! over the total, an abandoned command, and kill -9 at a random moment.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{drain, names, open, open_faulty, root};
use maildir::fault::FaultOp;
use maildir::{Change, Event, Flags, Quota, Store, StoreError};

const A: &str = "alice@localhost";

fn setup(dir: &Path) -> Store {
    let store = open(dir);
    store.add_user(A, "pw").unwrap();
    store
}

fn body(i: usize) -> Vec<u8> {
    let mut b = format!("Subject: part {i}\r\n\r\n").into_bytes();
    // Every third message outgrows the 64 KiB write buffer.
    let lines = if i % 3 == 2 { 6_000 } else { 2 };
    for n in 0..lines {
        b.extend_from_slice(format!("{i} line {n}\r\n").as_bytes());
    }
    b
}

/// Appends `bodies` to `mailbox` as one MULTIAPPEND, each body in chunks
/// of 1000 octets.
fn multiappend(
    store: &Store,
    mailbox: &str,
    bodies: &[Vec<u8>],
) -> Result<maildir::Appended, StoreError> {
    let mut m = store.begin_multiappend(A, mailbox)?;
    for (i, b) in bodies.iter().enumerate() {
        let flags = if i % 2 == 0 {
            Flags::SEEN
        } else {
            Flags::empty()
        };
        m.begin_message(flags, &[format!("k{i}")], Some(1_700_000_000 + i as i64))?;
        for c in b.chunks(1000) {
            m.write(c)?;
        }
        assert_eq!(m.message_len(), b.len() as u64);
    }
    assert_eq!(m.messages(), bodies.len());
    m.commit()
}

/// The messages of `mailbox` as (uid, bytes).
fn contents(store: &Store, mailbox: &str) -> Vec<(u32, Vec<u8>)> {
    store
        .list_messages(A, mailbox)
        .unwrap()
        .into_iter()
        .map(|m| {
            let bytes = std::fs::read(&m.path).unwrap();
            (m.uid, bytes)
        })
        .collect()
}

/// Every file in cur/, new/ and tmp/ of a Maildir.
fn files(dir: &Path) -> usize {
    ["cur", "new", "tmp"]
        .iter()
        .map(|s| names(&dir.join(s)).len())
        .sum()
}

#[test]
fn messages_get_consecutive_uids_and_exact_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    common::append(
        &store,
        A,
        "INBOX",
        Flags::empty(),
        b"Subject: first\r\n\r\nx\r\n",
    )
    .unwrap();
    let sub = store.subscribe(A).unwrap();
    let bodies: Vec<Vec<u8>> = (0..4).map(body).collect();
    let appended = multiappend(&store, "INBOX", &bodies).unwrap();
    assert_eq!(appended.uids, vec![2, 3, 4, 5]);
    let status = store.mailbox_status(A, "INBOX").unwrap();
    assert_eq!(appended.uidvalidity, status.uidvalidity);
    assert_eq!((status.messages, status.uidnext), (5, 6));
    let got = contents(&store, "INBOX");
    for (i, b) in bodies.iter().enumerate() {
        assert_eq!(got[i + 1], (i as u32 + 2, b.clone()), "message {i}");
    }
    // Flags, keywords and internal dates per message.
    let infos = store.list_messages(A, "INBOX").unwrap();
    for (i, info) in infos.iter().skip(1).enumerate() {
        let flags = if i % 2 == 0 {
            Flags::SEEN
        } else {
            Flags::empty()
        };
        assert_eq!(info.flags, flags, "message {i}");
        assert_eq!(info.keywords, vec![format!("k{i}")], "message {i}");
        assert_eq!(info.internal_date, 1_700_000_000 + i as i64, "message {i}");
    }
    // One notice per message, published together after the commit.
    let appended_uids: Vec<u32> = drain(&sub)
        .into_iter()
        .filter_map(|e| match e {
            Event::Change(n) => match n.change {
                Change::Appended { uid, .. } => Some(uid),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(appended_uids, vec![2, 3, 4, 5]);
    // MIME offsets were indexed for each (no re-parse needed).
    for uid in 2..=5 {
        let parts = store.mime_parts(A, "INBOX", uid).unwrap().unwrap();
        let len = store.message(A, "INBOX", uid).unwrap().unwrap().size;
        assert!(parts.is_valid(len), "uid {uid}");
    }
    // tmp/ is empty; after a reopen (full rescan) nothing changes.
    let r = root(dir.path(), "localhost", "alice");
    assert_eq!(names(&r.join("tmp")), Vec::<String>::new());
    drop(sub);
    drop(store);
    let store = open(dir.path());
    assert_eq!(contents(&store, "INBOX").len(), 5);
}

#[test]
fn abandoned_multiappend_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    let r = root(dir.path(), "localhost", "alice");
    for abort in [true, false] {
        let mut m = store.begin_multiappend(A, "INBOX").unwrap();
        for i in 0..3 {
            m.begin_message(Flags::empty(), &[], None).unwrap();
            m.write(&body(i)).unwrap();
        }
        // The finished messages wait in tmp/.
        assert_eq!(names(&r.join("tmp")).len(), 3);
        if abort {
            m.abort();
        } else {
            drop(m);
        }
        assert_eq!(files(&r), 0);
    }
    let status = store.mailbox_status(A, "INBOX").unwrap();
    assert_eq!((status.messages, status.uidnext), (0, 1));
}

#[test]
fn quota_counts_every_message_of_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    store.set_quota(Quota {
        max_bytes: None,
        max_messages: Some(3),
    });
    common::append(&store, A, "INBOX", Flags::empty(), b"x\r\n").unwrap();
    // 1 + 3 > 3: the whole command is refused, none is stored.
    let bodies: Vec<Vec<u8>> = (0..3).map(|i| format!("m{i}\r\n").into_bytes()).collect();
    let e = multiappend(&store, "INBOX", &bodies).unwrap_err();
    assert!(matches!(e, StoreError::OverQuota(_)), "{e:?}");
    assert_eq!(contents(&store, "INBOX").len(), 1);
    assert_eq!(files(&root(dir.path(), "localhost", "alice")), 1);
    // 1 + 2 fits.
    let appended = multiappend(&store, "INBOX", &bodies[..2]).unwrap();
    assert_eq!(appended.uids, vec![2, 3]);
}

#[test]
fn unknown_mailbox_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    let e = store.begin_multiappend(A, "Nope").unwrap_err();
    assert!(matches!(e, StoreError::NoSuchMailbox(_)), "{e:?}");
    // Deleted between the first message and the commit.
    store.create_mailbox(A, "Gone", None).unwrap();
    let mut m = store.begin_multiappend(A, "Gone").unwrap();
    m.begin_message(Flags::empty(), &[], None).unwrap();
    m.write(b"x\r\n").unwrap();
    store.delete_mailbox(A, "Gone").unwrap();
    let e = m.commit().unwrap_err();
    assert!(matches!(e, StoreError::NoSuchMailbox(_)), "{e:?}");
}

/// A failed rename or directory fsync of any message, or a full disk
/// while writing one, leaves no message of the command, in the index or
/// on disk, also after a reopen; a later MULTIAPPEND works.
#[test]
fn faults_leave_no_message_of_the_command() {
    for (op, n) in [
        (FaultOp::Rename, 1),
        (FaultOp::Rename, 3),
        (FaultOp::DirSync, 1),
        (FaultOp::FileSync, 2),
        (FaultOp::Write, 2),
        (FaultOp::Create, 3),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (store, fs) = open_faulty(dir.path());
        store.add_user(A, "pw").unwrap();
        common::append(&store, A, "INBOX", Flags::empty(), b"x\r\n").unwrap();
        fs.fail_nth(op, n);
        let bodies: Vec<Vec<u8>> = (0..4).map(body).collect();
        let r = multiappend(&store, "INBOX", &bodies);
        assert!(r.is_err(), "{op:?} #{n}: {r:?}");
        assert_eq!(fs.injected(op), 1, "{op:?} #{n}");
        fs.clear();
        let check = |store: &Store| {
            assert_eq!(contents(store, "INBOX").len(), 1, "{op:?} #{n}");
            assert_eq!(
                files(&root(dir.path(), "localhost", "alice")),
                1,
                "{op:?} #{n}"
            );
        };
        check(&store);
        drop(store);
        let store = open(dir.path());
        check(&store);
        let appended = multiappend(&store, "INBOX", &bodies[..2]).unwrap();
        assert_eq!(appended.uids.len(), 2, "{op:?} #{n}");
    }
}

/// A rename fails and the rollback cannot unlink the files already
/// placed either (as after a crash between the renames and the index
/// commit): the undo intent stays, and the next open removes them instead
/// of letting the rescan adopt part of the command.
#[test]
fn a_failed_rollback_is_finished_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = open_faulty(dir.path());
    store.add_user(A, "pw").unwrap();
    let mut m = store.begin_multiappend(A, "INBOX").unwrap();
    for i in 0..3 {
        m.begin_message(Flags::SEEN, &[], None).unwrap();
        m.write(&body(i)).unwrap();
    }
    fs.fail_nth(FaultOp::Rename, 3);
    fs.fail_nth(FaultOp::Remove, 1);
    assert!(m.commit().is_err());
    let r = root(dir.path(), "localhost", "alice");
    // One placed file could not be removed.
    assert_eq!(names(&r.join("new")).len(), 1);
    fs.clear();
    drop(store);
    let store = open(dir.path());
    assert_eq!(contents(&store, "INBOX"), Vec::new());
    assert_eq!(files(&r), 0);
}

const CHILD_ENV: &str = "SANSMAIL_MULTIAPPEND_CRASH_CHILD";
/// Messages per MULTIAPPEND in the kill -9 test.
const GROUP: usize = 5;

/// The child: MULTIAPPENDs of [`GROUP`] messages forever, each message
/// naming its group; prints every acknowledged group.
fn child(dir: &str) {
    let store = open(Path::new(dir));
    let _ = store.add_user(A, "pw");
    let mut out = std::io::stdout().lock();
    for group in 0.. {
        let mut m = store.begin_multiappend(A, "INBOX").unwrap();
        for i in 0..GROUP {
            m.begin_message(Flags::empty(), &[], None).unwrap();
            m.write(format!("Subject: g{group} m{i}\r\n\r\n").as_bytes())
                .unwrap();
            // Some messages outgrow the write buffer.
            if i == 2 {
                m.write(&vec![b'x'; 100_000]).unwrap();
            }
            m.write(b"\r\n").unwrap();
        }
        let appended = m.commit().unwrap();
        writeln!(out, "acked {group} {}", appended.uids[0]).unwrap();
        out.flush().unwrap();
    }
}

/// kill -9 at a random moment: every group is in the mailbox with all its
/// messages (in order, consecutive UIDs) or not at all, and every group
/// the child was told is committed is there.
#[test]
fn kill_9_leaves_all_or_none_of_each_multiappend() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for round in 0..3u64 {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path());
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "kill_9_leaves_all_or_none_of_each_multiappend",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let target = 5 + round * 7;
        let start = Instant::now();
        let mut acked: BTreeSet<u64> = BTreeSet::new();
        while (acked.len() as u64) < target && start.elapsed() < Duration::from_secs(20) {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(g) = line.strip_prefix("acked ") {
                acked.insert(g.split(' ').next().unwrap().parse().unwrap());
            }
        }
        // Kill in the middle of the next group (a varying moment).
        std::thread::sleep(Duration::from_millis(round * 3));
        child.kill().unwrap();
        child.wait().unwrap();
        for line in lines.map_while(Result::ok) {
            if let Some(g) = line.strip_prefix("acked ") {
                acked.insert(g.split(' ').next().unwrap().parse().unwrap());
            }
        }
        assert!(
            acked.len() as u64 >= target,
            "round {round}: child too slow"
        );
        let store = open(dir.path());
        let mut groups: BTreeMap<u64, Vec<(u32, usize)>> = BTreeMap::new();
        for (uid, bytes) in contents(&store, "INBOX") {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
            let subject = text
                .strip_prefix("Subject: g")
                .and_then(|s| s.split("\r\n").next())
                .unwrap_or_else(|| panic!("unexpected message {text:?}"));
            let (g, m) = subject.split_once(" m").unwrap();
            groups
                .entry(g.parse().unwrap())
                .or_default()
                .push((uid, m.parse().unwrap()));
        }
        for (g, msgs) in &groups {
            assert_eq!(
                msgs.len(),
                GROUP,
                "round {round}: group {g} is partial: {msgs:?}"
            );
            let first = msgs[0].0;
            let expected: Vec<(u32, usize)> = (0..GROUP).map(|i| (first + i as u32, i)).collect();
            assert_eq!(msgs, &expected, "round {round}: group {g}");
        }
        for g in &acked {
            assert!(
                groups.contains_key(g),
                "round {round}: acked group {g} lost"
            );
        }
        let r = root(dir.path(), "localhost", "alice");
        let on_disk = names(&r.join("new")).len() + names(&r.join("cur")).len();
        assert_eq!(on_disk, groups.len() * GROUP, "round {round}: stray files");
    }
}

/// A single APPEND that turns out to be a MULTIAPPEND (its second message
/// arrives): the bytes written so far stay, both commit together.
#[test]
fn a_single_append_becomes_a_multiappend() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    let mut a = store
        .begin_append(A, "INBOX", Flags::SEEN, &[], Some(1_600_000_000))
        .unwrap();
    a.write(b"Subject: first\r\n").unwrap();
    let mut m = a.into_multiappend().unwrap();
    m.write(b"\r\nbody\r\n").unwrap();
    m.begin_message(Flags::empty(), &[], None).unwrap();
    m.write(b"Subject: second\r\n\r\n").unwrap();
    assert_eq!(m.messages(), 2);
    let appended = m.commit().unwrap();
    assert_eq!(appended.uids, vec![1, 2]);
    let got = contents(&store, "INBOX");
    assert_eq!(got[0].1, b"Subject: first\r\n\r\nbody\r\n");
    assert_eq!(got[1].1, b"Subject: second\r\n\r\n");
    let infos = store.list_messages(A, "INBOX").unwrap();
    assert_eq!(
        (infos[0].flags, infos[0].internal_date),
        (Flags::SEEN, 1_600_000_000)
    );
}

/// `check_quota` counts what is spooled already plus the next message.
#[test]
fn check_quota_before_the_next_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path());
    store.set_quota(Quota {
        max_bytes: Some(100),
        max_messages: None,
    });
    let mut m = store.begin_multiappend(A, "INBOX").unwrap();
    m.check_quota(60).unwrap();
    m.begin_message(Flags::empty(), &[], None).unwrap();
    m.write(&[b'x'; 60]).unwrap();
    m.check_quota(40).unwrap();
    let e = m.check_quota(41).unwrap_err();
    assert!(matches!(e, StoreError::OverQuota(_)), "{e:?}");
}
