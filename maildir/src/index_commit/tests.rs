//! Tests of the STORE/EXPUNGE group commit: batches, failure isolation,
//! and expunges made durable after the maildir lock.

use std::sync::Arc;

use super::{Done, IndexJob, JobKind};
use crate::fault::{FaultFs, FaultOp};
use crate::{FlagOp, Flags, INBOX, Store, StoreConfig, StoreError, UidSet};

/// One batch of `jobs`, committed as the store's committer would.
fn commit_batch(store: &Store, jobs: &[IndexJob]) -> Vec<Result<Done, StoreError>> {
    super::commit_batch(&store.inner.core, &store.inner.index_commit.lazy, jobs)
}

fn store_with(fs: &FaultFs) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        data_dir: dir.path().to_path_buf(),
        hostname: "h".into(),
        password_hashing: Default::default(),
    };
    let store = Store::open_with_fs(config, Arc::new(fs.clone())).unwrap();
    for user in ["a@h", "b@h"] {
        store.add_user(user, "pw").unwrap();
        let mut a = store
            .begin_append(user, INBOX, Flags::default(), &[], None)
            .unwrap();
        a.write(b"Subject: x\r\n\r\nx\r\n").unwrap();
        a.commit().unwrap();
    }
    (dir, store)
}

fn job(store: &Store, user: &str, mailbox: &str, flags: Flags) -> IndexJob {
    IndexJob {
        target: store.target(user, mailbox).unwrap(),
        uids: UidSet::from([1]),
        kind: JobKind::Flags {
            op: FlagOp::Add,
            flags,
            keywords: vec!["$Label1".into()],
            unchanged_since: None,
        },
    }
}

fn flags_of(done: Result<Done, StoreError>) -> crate::StoreOutcome {
    match done {
        Ok(Done::Flags(o)) => o,
        other => panic!("not a STORE outcome: {other:?}"),
    }
}

/// The INBOX files of `user`, as `new/<name>` and `cur/<name>`.
fn file_names(store: &Store, user: &str) -> Vec<String> {
    let t = store.target(user, INBOX).unwrap();
    let mut names = Vec::new();
    for sub in ["new", "cur"] {
        for e in std::fs::read_dir(t.dir.join(sub)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            names.push(format!("{sub}/{name}"));
        }
    }
    names.sort();
    names
}

#[test]
fn one_batch_applies_jobs_in_order_with_one_fsync_per_directory() {
    let fs = FaultFs::new();
    let (_dir, store) = store_with(&fs);
    let start = store
        .message_summaries("a@h", INBOX)
        .unwrap()
        .0
        .highestmodseq;
    let jobs = vec![
        job(&store, "a@h", INBOX, Flags::SEEN),
        job(&store, "a@h", INBOX, Flags::FLAGGED),
        job(&store, "b@h", INBOX, Flags::SEEN),
        job(&store, "a@h", "Nope", Flags::SEEN),
    ];
    let syncs = fs.calls(FaultOp::DirSync);
    let mut out = commit_batch(&store, &jobs).into_iter();
    let first = flags_of(out.next().unwrap());
    assert_eq!(first.updated[0].flags, Flags::SEEN);
    assert_eq!(first.updated[0].modseq, start + 1);
    // The second job sees the first one's flags and MODSEQ.
    let second = flags_of(out.next().unwrap());
    assert_eq!(second.updated[0].flags, Flags::SEEN.union(Flags::FLAGGED));
    assert_eq!(second.updated[0].modseq, start + 2);
    assert_eq!(second.updated[0].keywords, ["$Label1"]);
    assert!(out.next().unwrap().is_ok());
    // An unknown mailbox fails alone.
    assert!(matches!(
        out.next().unwrap(),
        Err(StoreError::NoSuchMailbox(_))
    ));
    // The messages moved from new/ to cur/: new/ and cur/ of a@h's and
    // of b@h's INBOX, once each, although a@h's message moved twice.
    assert_eq!(fs.calls(FaultOp::DirSync) - syncs, 4);
    let (status, messages) = store.message_summaries("a@h", INBOX).unwrap();
    assert_eq!(status.highestmodseq, start + 2);
    assert_eq!(messages[0].flags, Flags::SEEN.union(Flags::FLAGGED));
    assert_eq!(messages[0].keywords, ["$Label1"]);
    let names = file_names(&store, "a@h");
    assert!(names.len() == 1 && names[0].starts_with("cur/") && names[0].ends_with(":2,FS"));
}

#[test]
fn a_failed_directory_fsync_fails_the_batch_and_restores_files_and_records() {
    let fs = FaultFs::new();
    let (_dir, store) = store_with(&fs);
    let before = (
        store.message_summaries("a@h", INBOX).unwrap(),
        file_names(&store, "a@h"),
    );
    let jobs = vec![
        job(&store, "a@h", INBOX, Flags::SEEN),
        job(&store, "a@h", INBOX, Flags::FLAGGED),
    ];
    fs.fail_nth(FaultOp::DirSync, 1);
    let out = commit_batch(&store, &jobs);
    assert!(out.iter().all(Result::is_err), "{out:?}");
    let after = (
        store.message_summaries("a@h", INBOX).unwrap(),
        file_names(&store, "a@h"),
    );
    // The records and files are as before; HIGHESTMODSEQ, which
    // readers may have seen after the commit, does not go back.
    assert_eq!((&before.0.1, &before.1), (&after.0.1, &after.1));
    assert_eq!(after.0.0.highestmodseq, before.0.0.highestmodseq + 2);
}

#[test]
fn a_failed_directory_fsync_during_an_expunge_puts_the_messages_back() {
    let fs = FaultFs::new();
    let (_dir, store) = store_with(&fs);
    let jobs = vec![job(&store, "a@h", INBOX, Flags::DELETED)];
    assert!(commit_batch(&store, &jobs)[0].is_ok());
    let before = (
        store.message_summaries("a@h", INBOX).unwrap(),
        file_names(&store, "a@h"),
        store.mime_parts("a@h", INBOX, 1).unwrap(),
    );
    let remove = IndexJob {
        target: store.target("a@h", INBOX).unwrap(),
        uids: UidSet::all(),
        kind: JobKind::Remove { only_deleted: true },
    };
    // The fsync of cur/ or tmp/ runs while the index commits; it fails
    // after (or before) the commit: either way nothing is expunged.
    fs.fail_nth(FaultOp::DirSync, 1);
    let out = commit_batch(&store, std::slice::from_ref(&remove));
    assert!(out[0].is_err(), "{out:?}");
    let after = (
        store.message_summaries("a@h", INBOX).unwrap(),
        file_names(&store, "a@h"),
        store.mime_parts("a@h", INBOX, 1).unwrap(),
    );
    assert_eq!((&before.0.1, &before.1), (&after.0.1, &after.1));
    assert_eq!(after.0.0.messages, 1);
    assert!(after.2.is_some() && after.2 == before.2);
    assert_eq!(after.0.0.highestmodseq, before.0.0.highestmodseq + 1);
    // The message is whole again: a second expunge removes it.
    let out = commit_batch(&store, &[remove]);
    assert!(
        matches!(&out[0], Ok(Done::Removed(u)) if u == &[1]),
        "{out:?}"
    );
    assert!(file_names(&store, "a@h").is_empty());
    assert_eq!(store.message_summaries("a@h", INBOX).unwrap().0.messages, 0);
}

/// A store in the server's mode (batched flag durability), whose
/// flusher waits a minute: only the commits a test makes run.
fn batched_store_with(fs: &FaultFs) -> (tempfile::TempDir, Store) {
    let (dir, store) = store_with(fs);
    store.set_flag_sync(crate::FlagSync::Batched);
    store
        .inner
        .index_commit
        .lazy
        .set_window(std::time::Duration::from_secs(60));
    (dir, store)
}

fn remove_all(store: &Store, user: &str) -> IndexJob {
    IndexJob {
        target: store.target(user, INBOX).unwrap(),
        uids: UidSet::all(),
        kind: JobKind::Remove { only_deleted: true },
    }
}

#[test]
fn a_failed_fsync_after_the_lock_puts_the_expunged_messages_back() {
    let fs = FaultFs::new();
    let (_dir, store) = batched_store_with(&fs);
    assert!(commit_batch(&store, &[job(&store, "a@h", INBOX, Flags::DELETED)])[0].is_ok());
    let before = (
        store.message_summaries("a@h", INBOX).unwrap(),
        file_names(&store, "a@h"),
    );
    // The expunge commits its rows non-durably under the lock; the
    // fsync of cur/ after the lock fails: nothing is expunged.
    fs.fail_nth(FaultOp::DirSync, 1);
    let out = commit_batch(&store, &[remove_all(&store, "a@h")]);
    assert!(out[0].is_err(), "{out:?}");
    let after = (
        store.message_summaries("a@h", INBOX).unwrap(),
        file_names(&store, "a@h"),
    );
    assert_eq!((&before.0.1, &before.1), (&after.0.1, &after.1));
    assert_eq!(after.0.0.messages, 1);
    let out = commit_batch(&store, &[remove_all(&store, "a@h")]);
    assert!(
        matches!(&out[0], Ok(Done::Removed(u)) if u == &[1]),
        "{out:?}"
    );
    assert!(file_names(&store, "a@h").is_empty());
}

/// Copies a data directory as a crash would leave it: what the files
/// hold now, without anything only in the store's memory.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn an_expunge_survives_a_crash_before_its_index_rows_are_durable() {
    use redb::{ReadableDatabase, ReadableTableMetadata};
    let fs = FaultFs::new();
    let (dir, store) = batched_store_with(&fs);
    assert!(commit_batch(&store, &[job(&store, "a@h", INBOX, Flags::DELETED)])[0].is_ok());
    let out = commit_batch(&store, &[remove_all(&store, "a@h")]);
    assert!(
        matches!(&out[0], Ok(Done::Removed(u)) if u == &[1]),
        "{out:?}"
    );
    // "Crash": copy the files while the store still runs.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    drop(store);
    // On disk the index still holds both messages: the expunge's rows
    // were committed with Durability::None.
    {
        let db = redb::Database::open(copy.path().join("index.redb")).unwrap();
        let txn = db.begin_read().unwrap();
        let messages = txn.open_table(crate::index::MESSAGES).unwrap();
        assert_eq!(messages.len().unwrap(), 2);
    }
    // The file left cur/ durably, so the rescan at open drops the row.
    let store = Store::open(StoreConfig {
        data_dir: copy.path().to_path_buf(),
        hostname: "h".into(),
        password_hashing: Default::default(),
    })
    .unwrap();
    assert_eq!(store.message_summaries("a@h", INBOX).unwrap().0.messages, 0);
    assert_eq!(store.message_summaries("b@h", INBOX).unwrap().0.messages, 1);
    assert!(file_names(&store, "a@h").is_empty());
}

#[test]
fn a_failed_rename_fails_only_its_own_job() {
    let fs = FaultFs::new();
    let (_dir, store) = store_with(&fs);
    let jobs = vec![
        job(&store, "a@h", INBOX, Flags::SEEN),
        job(&store, "b@h", INBOX, Flags::SEEN),
    ];
    fs.fail_nth(FaultOp::Rename, 2);
    let out = commit_batch(&store, &jobs);
    assert!(out[0].is_ok() && out[1].is_err(), "{out:?}");
    assert_eq!(
        store.message_summaries("a@h", INBOX).unwrap().1[0].flags,
        Flags::SEEN
    );
    assert_eq!(
        store.message_summaries("b@h", INBOX).unwrap().1[0].flags,
        Flags::default()
    );
    let names = file_names(&store, "b@h");
    assert!(
        names.len() == 1 && names[0].starts_with("new/"),
        "{names:?}"
    );
}

#[test]
fn an_expunge_sees_the_deleted_flag_a_store_set_earlier_in_its_batch() {
    let fs = FaultFs::new();
    let (_dir, store) = store_with(&fs);
    let remove = |user: &str| IndexJob {
        target: store.target(user, INBOX).unwrap(),
        uids: UidSet::all(),
        kind: JobKind::Remove { only_deleted: true },
    };
    let jobs = vec![
        remove("a@h"),
        job(&store, "a@h", INBOX, Flags::DELETED),
        remove("a@h"),
        remove("b@h"),
    ];
    let start = store
        .message_summaries("a@h", INBOX)
        .unwrap()
        .0
        .highestmodseq;
    let out = commit_batch(&store, &jobs);
    assert!(
        matches!(&out[0], Ok(Done::Removed(u)) if u.is_empty()),
        "{out:?}"
    );
    assert!(
        matches!(&out[2], Ok(Done::Removed(u)) if u == &[1]),
        "{out:?}"
    );
    // b@h's message is not \Deleted.
    assert!(
        matches!(&out[3], Ok(Done::Removed(u)) if u.is_empty()),
        "{out:?}"
    );
    let (status, messages) = store.message_summaries("a@h", INBOX).unwrap();
    assert!(messages.is_empty());
    assert_eq!(status.highestmodseq, start + 2);
    assert!(file_names(&store, "a@h").is_empty());
    let tmp = store.target("a@h", INBOX).unwrap().dir.join("tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
    assert_eq!(store.message_summaries("b@h", INBOX).unwrap().1.len(), 1);
}

/// With batched flag durability, STOREs go through their own queue:
/// STOREs and EXPUNGEs racing on one mailbox from many threads still
/// leave exactly the expunged messages gone and every STORE's flags on
/// the others, in the index and in the file names.
#[test]
fn stores_racing_expunges_on_separate_queues_all_land() {
    let fs = FaultFs::new();
    let (dir, store) = store_with(&fs);
    store.set_flag_sync(crate::FlagSync::Batched);
    for i in 0..40 {
        let mut a = store
            .begin_append("a@h", INBOX, Flags::default(), &[], None)
            .unwrap();
        a.write(format!("Subject: {i}\r\n\r\nx\r\n").as_bytes())
            .unwrap();
        a.commit().unwrap();
    }
    // UIDs 2..=41: even ones are expunged, odd ones flagged.
    let store = Arc::new(store);
    let threads: Vec<_> = (2u32..=41)
        .map(|uid| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let one = UidSet::from([uid]);
                if uid % 2 == 0 {
                    let deleted = crate::FlagChange::flags(FlagOp::Add, Flags::DELETED);
                    store.store_flags("a@h", INBOX, &one, &deleted).unwrap();
                    assert_eq!(store.expunge("a@h", INBOX, Some(&one)).unwrap(), vec![uid]);
                } else {
                    let flagged = crate::FlagChange::flags(FlagOp::Add, Flags::FLAGGED);
                    store.store_flags("a@h", INBOX, &one, &flagged).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (_, list) = store.message_summaries("a@h", INBOX).unwrap();
    let uids: Vec<u32> = list.iter().map(|m| m.uid).collect();
    let want: Vec<u32> = std::iter::once(1).chain((3..=41).step_by(2)).collect();
    assert_eq!(uids, want);
    assert!(
        list.iter()
            .skip(1)
            .all(|m| m.flags.contains(Flags::FLAGGED))
    );
    let cur = dir.path().join("mail/h/a/cur");
    let flagged_files = std::fs::read_dir(&cur)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(":2,F")
        })
        .count();
    assert_eq!(flagged_files, 20);
}
