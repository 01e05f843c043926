//! kill -9 in the middle of queueing and delivering: every acknowledged
//! recipient is still queued (with its exact bytes) or was reported
//! delivered, never dropped; no file is left without its rows.
//!
//! The test re-runs its own binary as the child that works on the queue
//! and prints each durable step; the parent kills it with SIGKILL at a
//! random moment and then checks the store.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{names, open};
use maildir::{Outcome, QueueEnvelope, QueueId, QueueRecipient, RecipientRef};

const CHILD_ENV: &str = "SANSMAIL_QUEUE_CRASH_CHILD";

fn body(seq: u64) -> Vec<u8> {
    let mut b = format!("Subject: message {seq}\r\n\r\n").into_bytes();
    // Some messages outgrow the 64 KiB write buffer.
    let lines = if seq.is_multiple_of(5) { 5_000 } else { 3 };
    for i in 0..lines {
        b.extend_from_slice(format!("{seq} line {i}\r\n").as_bytes());
    }
    b
}

/// The child: queue and "deliver" forever, printing every durable step.
fn child(dir: &str) {
    let store = open(std::path::Path::new(dir));
    let mut out = std::io::stdout().lock();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    for seq in 0.. {
        let mut q = store
            .begin_enqueue(QueueEnvelope {
                sender: Some("s@localhost".into()),
                recipients: vec![
                    QueueRecipient::new(format!("a{seq}@remote")),
                    QueueRecipient::new(format!("b{seq}@remote")),
                ],
                ..QueueEnvelope::default()
            })
            .unwrap();
        q.write(&body(seq)).unwrap();
        let id = q.commit().unwrap();
        writeln!(out, "acked {} {seq}", id.0).unwrap();
        out.flush().unwrap();
        if !seq.is_multiple_of(2) {
            let due = store.queue_due(now()).unwrap();
            let mut outcomes = Vec::new();
            for m in &due {
                for r in &m.recipients {
                    let o = if r.index == 0 {
                        Outcome::Delivered
                    } else {
                        Outcome::Deferred {
                            next_attempt: now() + 3600,
                            error: "451 later".into(),
                        }
                    };
                    outcomes.push((
                        RecipientRef {
                            id: m.id,
                            index: r.index,
                        },
                        o,
                    ));
                }
            }
            // The remote accepted these before their outcome is recorded,
            // as in the real worker: a kill in between duplicates, never drops.
            for (r, o) in &outcomes {
                if *o == Outcome::Delivered {
                    writeln!(out, "delivered {} {}", r.id.0, r.index).unwrap();
                }
            }
            out.flush().unwrap();
            store.queue_update(&outcomes).unwrap();
        }
    }
}

#[test]
fn kill_9_loses_no_acknowledged_recipient() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for round in 0..3u64 {
        let dir = tempfile::tempdir().unwrap();
        let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
        let mut delivered: BTreeSet<(u64, u32)> = BTreeSet::new();
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "kill_9_loses_no_acknowledged_recipient",
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
        // Kill after a varying number of acknowledgements (bounded in time).
        let target = 20 + round * 17;
        let start = Instant::now();
        let mut record = |line: &str| {
            let w: Vec<&str> = line.split(' ').collect();
            match w.as_slice() {
                ["acked", id, seq] => {
                    acked.insert(id.parse().unwrap(), seq.parse().unwrap());
                }
                ["delivered", id, idx] => {
                    delivered.insert((id.parse().unwrap(), idx.parse().unwrap()));
                }
                _ => {}
            }
        };
        let mut seen = 0;
        while seen < target && start.elapsed() < Duration::from_secs(20) {
            let Some(Ok(line)) = lines.next() else { break };
            seen += u64::from(line.starts_with("acked "));
            record(&line);
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // What the child printed before it died is still in the pipe.
        for line in lines.map_while(Result::ok) {
            record(&line);
        }
        assert!(
            acked.len() as u64 >= target,
            "the child acknowledged only {acked:?}"
        );

        let store = open(dir.path());
        let list = store.queue_list().unwrap();
        let queued: BTreeSet<(u64, u32)> = list
            .iter()
            .flat_map(|m| m.recipients.iter().map(move |r| (m.id.0, r.index)))
            .collect();
        for (&id, &seq) in &acked {
            for index in 0..2 {
                assert!(
                    queued.contains(&(id, index)) || delivered.contains(&(id, index)),
                    "round {round}: recipient {index} of acknowledged {id} was dropped"
                );
            }
            if queued.contains(&(id, 1)) {
                let mut bytes = Vec::new();
                store
                    .queue_open(QueueId(id))
                    .unwrap()
                    .read_to_end(&mut bytes)
                    .unwrap();
                assert_eq!(bytes, body(seq), "round {round}: bytes of {id}");
            }
        }
        // Only messages with rows have files (the unacknowledged one is gone).
        let mut files: Vec<String> = list.iter().map(|m| m.id.to_string()).collect();
        files.sort();
        assert_eq!(names(&dir.path().join("queue")), files, "round {round}");
    }
}
