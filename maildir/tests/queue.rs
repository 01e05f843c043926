//! The outbound queue: durability before the acknowledgement (fault
//! injection through `Fs`), claims, outcomes, DSN settling, and a model
//! test against a `BTreeMap` reference across reopens.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use common::{config, names, open, open_faulty};
use maildir::fault::FaultOp;
use maildir::{
    DeliveryError, Notify, Outcome, QueueEnvelope, QueueId, QueueRecipient, RecipientRef,
    RecipientState, Ret, Settle, Store,
};

fn envelope(sender: Option<&str>, to: &[&str]) -> QueueEnvelope {
    QueueEnvelope {
        sender: sender.map(str::to_owned),
        recipients: to.iter().map(|a| QueueRecipient::new(*a)).collect(),
        ..QueueEnvelope::default()
    }
}

fn enqueue(store: &Store, env: QueueEnvelope, body: &[u8]) -> Result<QueueId, DeliveryError> {
    let mut q = store.begin_enqueue(env)?;
    for chunk in body.chunks(7) {
        q.write(chunk)?;
    }
    q.commit()
}

fn read(store: &Store, id: QueueId) -> Vec<u8> {
    let mut v = Vec::new();
    store.queue_open(id).unwrap().read_to_end(&mut v).unwrap();
    v
}

/// The files in `queue/` (which appears with the first message).
fn queue_files(dir: &Path) -> Vec<String> {
    let q = dir.join("queue");
    if q.exists() { names(&q) } else { Vec::new() }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn r(id: QueueId, index: u32) -> RecipientRef {
    RecipientRef { id, index }
}

#[test]
fn enqueue_list_read_and_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut env = envelope(
        Some("alice@localhost"),
        &["bob@example.net", "carol@example.org"],
    );
    env.envid = Some("ENV-1".into());
    env.ret = Some(Ret::Hdrs);
    env.recipients[1].notify = Some(Notify::NEVER);
    env.recipients[1].orcpt = Some("rfc822;carol@example.org".into());
    let body = b"Received: by mx.test\r\nSubject: hi\r\n\r\nhello\r\n";
    let id = enqueue(&store, env, body).unwrap();
    assert_eq!(read(&store, id), body);
    {
        use std::os::unix::fs::PermissionsExt;
        let file = dir.path().join("queue").join(id.to_string());
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "queued mail is private");
    }
    assert_eq!(queue_files(dir.path()), vec![id.to_string()]);
    let list = store.queue_list().unwrap();
    assert_eq!(list.len(), 1);
    let m = &list[0];
    assert_eq!(m.id, id);
    assert_eq!(m.sender.as_deref(), Some("alice@localhost"));
    assert_eq!(m.envid.as_deref(), Some("ENV-1"));
    assert_eq!(m.ret, Some(Ret::Hdrs));
    assert_eq!(m.size, body.len() as u64);
    assert!(m.reportable());
    assert!((m.created - now()).abs() < 5);
    let [b, c] = &m.recipients[..] else {
        panic!("{:?}", m.recipients)
    };
    assert_eq!((b.index, b.address.as_str()), (0, "bob@example.net"));
    assert_eq!(b.state, RecipientState::Queued);
    assert_eq!((b.attempts, b.last_error.as_str()), (0, ""));
    assert_eq!(b.effective_notify(), Notify::DEFAULT);
    assert_eq!(c.notify, Some(Notify::NEVER));
    assert_eq!(c.orcpt.as_deref(), Some("rfc822;carol@example.org"));
    // Survives a reopen unchanged.
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.queue_list().unwrap(), list);
    assert_eq!(read(&store, id), body);
}

#[test]
fn bad_envelopes_are_refused_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert!(matches!(
        store.begin_enqueue(envelope(Some("a@b"), &[])),
        Err(DeliveryError::NoRecipients)
    ));
    for (sender, rcpt) in [
        (Some("a@b\r\nX: y"), "c@d"),
        (Some("a@b"), "c@d>"),
        (Some("a@b"), ""),
        (None, "c@d\n"),
    ] {
        let err = store.begin_enqueue(envelope(sender, &[rcpt])).unwrap_err();
        assert!(matches!(err, DeliveryError::InvalidAddress(_)), "{err}");
    }
    // An aborted (dropped) enqueue removes its file and lists nothing.
    let mut q = store.begin_enqueue(envelope(None, &["x@y"])).unwrap();
    q.write(b"partial").unwrap();
    drop(q);
    assert!(queue_files(dir.path()).is_empty());
    assert!(store.queue_list().unwrap().is_empty());
}

/// Every failing step before the commit leaves no row and no file, is a
/// temporary error, and the next enqueue works (the disk came back).
#[test]
fn a_failed_write_or_fsync_queues_nothing() {
    for op in [
        FaultOp::Create,
        FaultOp::Write,
        FaultOp::FileSync,
        FaultOp::DirSync,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (store, fs) = open_faulty(dir.path());
        fs.fail_nth(op, 1);
        let big = vec![b'x'; 200_000];
        let err = enqueue(&store, envelope(Some("a@localhost"), &["b@remote"]), &big).unwrap_err();
        assert!(err.is_temporary(), "{op:?}: {err}");
        assert_eq!(fs.injected(op), 1, "{op:?}");
        assert!(store.queue_list().unwrap().is_empty(), "{op:?}");
        assert!(queue_files(dir.path()).is_empty(), "{op:?}");
        let id = enqueue(
            &store,
            envelope(Some("a@localhost"), &["b@remote"]),
            b"ok\r\n",
        )
        .unwrap();
        assert_eq!(read(&store, id), b"ok\r\n");
        assert_eq!(store.queue_list().unwrap().len(), 1, "{op:?}");
    }
}

/// A file whose rows were never committed (a crash between the fsync and
/// the commit) is removed at open; ids are not reused.
#[test]
fn unacknowledged_files_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let kept = enqueue(&store, envelope(None, &["b@remote"]), b"kept").unwrap();
    drop(store);
    std::fs::write(dir.path().join("queue").join("000000FF"), b"orphan").unwrap();
    std::fs::write(dir.path().join("queue").join("notes.txt"), b"not ours").unwrap();
    std::fs::write(dir.path().join("queue").join("cafe"), b"not ours either").unwrap();
    std::fs::write(
        dir.path().join("queue").join("FFFFFFFFFFFFFFFF"),
        b"huge id",
    )
    .unwrap();
    let store = open(dir.path());
    assert_eq!(
        queue_files(dir.path()),
        vec![kept.to_string(), "cafe".to_owned(), "notes.txt".to_owned()]
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("queue"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    // The id counter moved past every id seen, without overflowing.
    let next = enqueue(&store, envelope(None, &["b@remote"]), b"n").unwrap();
    assert_eq!(next.0, u64::MAX, "{next}");
}

#[test]
fn claims_outcomes_and_file_removal() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = enqueue(
        &store,
        envelope(Some("a@localhost"), &["b@x", "c@x", "d@x"]),
        b"m",
    )
    .unwrap();
    let t = now();
    let due = store.queue_due(t).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].recipients.len(), 3);
    // Claimed: a second worker gets nothing.
    assert!(store.queue_due(t).unwrap().is_empty());
    store
        .queue_update(&[
            (r(id, 0), Outcome::Delivered),
            (
                r(id, 1),
                Outcome::Deferred {
                    next_attempt: t + 60,
                    error: "451 4.7.1 greylisted\r\n".into(),
                },
            ),
        ])
        .unwrap();
    // d is still claimed; c waits for t + 60.
    assert!(store.queue_due(t).unwrap().is_empty());
    store.queue_release(&[r(id, 2)]);
    let due = store.queue_due(t).unwrap();
    assert_eq!(due[0].recipients.len(), 1);
    assert_eq!(due[0].recipients[0].address, "d@x");
    let list = store.queue_list().unwrap();
    let c = &list[0].recipients[0];
    assert_eq!(list[0].recipients.len(), 2, "b is gone once delivered");
    assert_eq!(
        (c.address.as_str(), c.state, c.attempts, c.next_attempt),
        ("c@x", RecipientState::Deferred, 1, t + 60)
    );
    assert_eq!(c.last_error, "451 4.7.1 greylisted");
    let due = store.queue_due(t + 60).unwrap();
    assert_eq!(due[0].recipients[0].address, "c@x");
    store
        .queue_update(&[
            (r(id, 1), Outcome::Delivered),
            (
                r(id, 2),
                Outcome::Failed {
                    error: "550 5.1.1 no such user".into(),
                },
            ),
        ])
        .unwrap();
    // d failed and a DSN is owed to a@localhost: the row stays, not due.
    let list = store.queue_list().unwrap();
    assert_eq!(list[0].recipients.len(), 1);
    assert_eq!(list[0].recipients[0].state, RecipientState::Failed);
    assert!(store.queue_due(t + 10_000).unwrap().is_empty());
    assert_eq!(queue_files(dir.path()), vec![id.to_string()]);
    // The DSN settles it in its own commit; the message and file go.
    let mut dsn = envelope(None, &["a@remote.example"]);
    dsn.is_dsn = true;
    dsn.settles = vec![Settle::Reported(r(id, 2))];
    let dsn_id = enqueue(&store, dsn, b"report").unwrap();
    let list = store.queue_list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, dsn_id);
    assert!(!list[0].reportable());
    assert_eq!(queue_files(dir.path()), vec![dsn_id.to_string()]);
    // A failed DSN is not kept for a report: a bounce never bounces.
    store.queue_due(t).unwrap();
    store
        .queue_update(&[(
            r(dsn_id, 0),
            Outcome::Failed {
                error: "550 no".into(),
            },
        )])
        .unwrap();
    assert!(store.queue_list().unwrap().is_empty());
    assert!(queue_files(dir.path()).is_empty());
}

#[test]
fn notify_decides_what_is_kept_for_a_dsn() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut env = envelope(Some("a@localhost"), &["never@x", "success@x", "plain@x"]);
    env.recipients[0].notify = Some(Notify::NEVER);
    env.recipients[1].notify = Some(Notify {
        success: true,
        failure: false,
        delay: false,
    });
    let id = enqueue(&store, env, b"m").unwrap();
    store.queue_due(now()).unwrap();
    let failed = || Outcome::Failed {
        error: "550 x".into(),
    };
    store
        .queue_update(&[
            (r(id, 0), failed()),
            (r(id, 1), Outcome::Delivered),
            (r(id, 2), Outcome::Delivered),
        ])
        .unwrap();
    let list = store.queue_list().unwrap();
    let states: Vec<_> = list[0]
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.state))
        .collect();
    assert_eq!(states, vec![("success@x", RecipientState::Delivered)]);
    // A null sender gets no DSN at all.
    let id = enqueue(&store, envelope(None, &["z@x"]), b"m").unwrap();
    store.queue_due(now()).unwrap();
    store.queue_update(&[(r(id, 0), failed())]).unwrap();
    assert_eq!(store.queue_list().unwrap().len(), 1);
    // A delay notice is remembered.
    let id = enqueue(&store, envelope(Some("a@localhost"), &["slow@x"]), b"m").unwrap();
    let mut notice = envelope(None, &["a@localhost"]);
    notice.is_dsn = true;
    notice.settles = vec![Settle::DelayReported(r(id, 0))];
    enqueue(&store, notice, b"delayed").unwrap();
    let m = store.queue_message(id).unwrap().unwrap();
    assert!(m.recipients[0].delay_reported);
}

#[test]
fn retry_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = enqueue(&store, envelope(None, &["a@x", "b@x"]), b"a").unwrap();
    let b = enqueue(&store, envelope(None, &["c@x"]), b"b").unwrap();
    let t = now();
    store.queue_due(t).unwrap();
    let later = |n| Outcome::Deferred {
        next_attempt: t + n,
        error: "421 busy".into(),
    };
    store
        .queue_update(&[
            (r(a, 0), later(600)),
            (r(a, 1), later(600)),
            (r(b, 0), later(600)),
        ])
        .unwrap();
    assert!(store.queue_due(t).unwrap().is_empty());
    assert_eq!(store.queue_retry(Some(b), t).unwrap(), 1);
    let due = store.queue_due(t).unwrap();
    assert_eq!((due.len(), due[0].id), (1, b));
    assert_eq!(store.queue_retry(None, t).unwrap(), 2);
    assert_eq!(store.queue_due(t).unwrap()[0].recipients.len(), 2);
    assert!(store.queue_delete(a).unwrap());
    assert!(!store.queue_delete(a).unwrap());
    assert_eq!(queue_files(dir.path()), vec![b.to_string()]);
    assert!(store.queue_open(a).is_err());
    // An outcome for a deleted message is ignored.
    store
        .queue_update(&[(r(a, 0), Outcome::Delivered)])
        .unwrap();
    assert_eq!(store.queue_list().unwrap().len(), 1);
}

/// A failed commit of an outcome keeps the claim and changes nothing:
/// the recipient is neither lost nor attempted by a second worker.
#[test]
fn a_crash_drops_claims_so_everything_is_due_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = enqueue(&store, envelope(None, &["a@x"]), b"a").unwrap();
    assert_eq!(store.queue_due(now()).unwrap().len(), 1);
    drop(store);
    let store = Store::open(config(dir.path())).unwrap();
    let due = store.queue_due(now()).unwrap();
    assert_eq!((due.len(), due[0].id), (1, id));
}

mod model {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Enqueue { rcpts: u8, fail: Option<u8> },
        Attempt { outcome: u8 },
        Retry,
        Delete(u8),
        Reopen,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1u8..4, proptest::option::weighted(0.2, 0u8..4))
                .prop_map(|(rcpts, fail)| Op::Enqueue { rcpts, fail }),
            (0u8..3).prop_map(|outcome| Op::Attempt { outcome }),
            Just(Op::Retry),
            (0u8..8).prop_map(Op::Delete),
            Just(Op::Reopen),
        ]
    }

    /// The reference: id → (body, recipient index → (state, attempts)).
    type Model = BTreeMap<u64, (Vec<u8>, BTreeMap<u32, (RecipientState, u32)>)>;
    /// (id, [(index, state, attempts)]) as listed.
    type Listed = (u64, Vec<(u32, RecipientState, u32)>);

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn queue_matches_the_model(ops in proptest::collection::vec(op(), 1..30)) {
            let dir = tempfile::tempdir().unwrap();
            let (mut store, mut fs) = open_faulty(dir.path());
            let mut model = Model::new();
            let t = now() + 10;
            let mut n = 0u8;
            for op in ops {
                match op {
                    Op::Enqueue { rcpts, fail } => {
                        n = n.wrapping_add(1);
                        let to: Vec<String> = (0..rcpts).map(|i| format!("r{i}@x")).collect();
                        let to: Vec<&str> = to.iter().map(String::as_str).collect();
                        let body = vec![b'a' + n % 26; usize::from(n) * 100 + 1];
                        let fault = fail.map(|k| [FaultOp::Create, FaultOp::Write, FaultOp::FileSync, FaultOp::DirSync][usize::from(k)]);
                        if let Some(f) = fault {
                            fs.fail_nth(f, 1);
                        }
                        match enqueue(&store, envelope(Some("s@localhost"), &to), &body) {
                            Ok(id) => {
                                prop_assert!(fault.is_none());
                                let rows = (0..u32::from(rcpts)).map(|i| (i, (RecipientState::Queued, 0))).collect();
                                model.insert(id.0, (body, rows));
                            }
                            Err(e) => {
                                prop_assert!(fault.is_some(), "{e}");
                                prop_assert!(e.is_temporary());
                            }
                        }
                        fs.clear();
                    }
                    Op::Attempt { outcome } => {
                        let due = store.queue_due(t).unwrap();
                        let mut outcomes = Vec::new();
                        for m in &due {
                            for rc in &m.recipients {
                                let o = match outcome {
                                    0 => Outcome::Delivered,
                                    1 => Outcome::Deferred { next_attempt: t + 100, error: "451 later".into() },
                                    _ => Outcome::Failed { error: "550 no".into() },
                                };
                                let rows = &mut model.get_mut(&m.id.0).unwrap().1;
                                let attempts = rows[&rc.index].1 + 1;
                                match o {
                                    Outcome::Delivered => { rows.remove(&rc.index); }
                                    Outcome::Deferred { .. } => { rows.insert(rc.index, (RecipientState::Deferred, attempts)); }
                                    Outcome::Failed { .. } => { rows.insert(rc.index, (RecipientState::Failed, attempts)); }
                                }
                                outcomes.push((r(m.id, rc.index), o));
                            }
                        }
                        store.queue_update(&outcomes).unwrap();
                        model.retain(|_, (_, rows)| !rows.is_empty());
                    }
                    Op::Retry => {
                        store.queue_retry(None, t).unwrap();
                    }
                    Op::Delete(k) => {
                        let ids: Vec<u64> = model.keys().copied().collect();
                        if let Some(&id) = ids.get(usize::from(k)) {
                            prop_assert!(store.queue_delete(QueueId(id)).unwrap());
                            model.remove(&id);
                        }
                    }
                    Op::Reopen => {
                        drop(store);
                        (store, fs) = open_faulty(dir.path());
                    }
                }
                // The store agrees with the model after every step.
                let list = store.queue_list().unwrap();
                let got: Vec<Listed> = list
                    .iter()
                    .map(|m| (m.id.0, m.recipients.iter().map(|r| (r.index, r.state, r.attempts)).collect()))
                    .collect();
                let want: Vec<Listed> = model
                    .iter()
                    .map(|(id, (_, rows))| (*id, rows.iter().map(|(i, (s, a))| (*i, *s, *a)).collect()))
                    .collect();
                prop_assert_eq!(got, want);
                let mut files: Vec<String> = model.keys().map(|id| QueueId(*id).to_string()).collect();
                files.sort();
                prop_assert_eq!(queue_files(dir.path()), files);
                for (id, (body, _)) in &model {
                    prop_assert_eq!(&read(&store, QueueId(*id)), body);
                }
            }
        }
    }
}

/// Concurrent enqueues and outcome updates share group commits: every
/// caller's rows are there after its own call returned, none is lost or
/// mixed up, and the store reopens with all of them.
#[test]
fn concurrent_enqueues_and_updates_are_group_committed_intact() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ids: Vec<(usize, QueueId)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let store = store.clone();
                s.spawn(move || {
                    let to = format!("rcpt{i}@example.net");
                    let body = format!("Subject: {i}\r\n\r\nbody {i}\r\n");
                    let id = enqueue(
                        &store,
                        envelope(Some("a@localhost"), &[&to]),
                        body.as_bytes(),
                    )
                    .unwrap();
                    // Committed before the call returned.
                    assert_eq!(read(&store, id), body.as_bytes());
                    (i, id)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let due = store.queue_due(now() + 1).unwrap();
    assert_eq!(due.len(), 16);
    for (i, id) in &ids {
        let m = due.iter().find(|m| m.id == *id).unwrap();
        assert_eq!(m.recipients[0].address, format!("rcpt{i}@example.net"));
    }
    // Half delivered, half deferred, from concurrent threads.
    std::thread::scope(|s| {
        for (i, id) in &ids {
            let store = store.clone();
            s.spawn(move || {
                let outcome = if i % 2 == 0 {
                    Outcome::Delivered
                } else {
                    Outcome::Deferred {
                        next_attempt: now() + 3600,
                        error: format!("451 4.4.1 try {i}"),
                    }
                };
                store.queue_update(&[(r(*id, 0), outcome)]).unwrap();
            });
        }
    });
    drop(store);
    let store = open(dir.path());
    let list = store.queue_list().unwrap();
    assert_eq!(list.len(), 8, "delivered ones left the queue");
    for m in &list {
        let (i, _) = ids.iter().find(|(_, id)| *id == m.id).unwrap();
        assert_eq!(i % 2, 1);
        assert_eq!(m.recipients[0].last_error, format!("451 4.4.1 try {i}"));
    }
    assert_eq!(queue_files(dir.path()).len(), 8, "delivered files removed");
}

/// The inode of a settled queue file is reused for the next queue file
/// (`recycle.rs`), emptied; but not while a reader holds the file open:
/// that reader keeps every octet and the next file is a new inode.
#[test]
fn settled_files_are_reused_but_never_under_a_reader() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ino = |id: QueueId| {
        std::fs::metadata(dir.path().join("queue").join(id.to_string()))
            .unwrap()
            .ino()
    };
    let a = enqueue(&store, envelope(None, &["a@x"]), b"first message").unwrap();
    let first = ino(a);
    assert!(store.queue_delete(a).unwrap());
    let b = enqueue(&store, envelope(None, &["b@x"]), b"second").unwrap();
    assert_eq!(ino(b), first, "the settled file's inode is reused");
    assert_eq!(read(&store, b), b"second", "nothing of the first remains");
    assert_eq!(queue_files(dir.path()), vec![b.to_string()]);

    let mut reader = store.queue_open(b).unwrap();
    assert!(store.queue_delete(b).unwrap());
    let c = enqueue(&store, envelope(None, &["c@x"]), b"third message, longer").unwrap();
    assert_ne!(ino(c), first, "a file being read is not reused");
    let mut got = Vec::new();
    reader.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"second", "the reader reads the whole file");
    assert_eq!(read(&store, c), b"third message, longer");
}
