//! `sansmail queue list|retry [ID]|delete ID` (docs/DESIGN.md §5.2): exact
//! lines, no header, with the server stopped (the store opened directly)
//! and while it runs (through the control socket).

mod common;

use common::{Opts, Site, describe};
use maildir::{Outcome, QueueEnvelope, QueueId, QueueRecipient, RecipientRef, Store, StoreConfig};

/// 2027-01-15T08:00:00Z and 2030-03-17T17:46:40Z.
const LATER: i64 = 1_800_000_000;
const MUCH_LATER: i64 = 1_900_000_000;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Queues two messages directly in the store: one from alice to two
/// remote recipients, deferred with errors; one with the null sender,
/// not attempted yet.
fn fill(site: &Site) -> (QueueId, QueueId) {
    let store = Store::open(StoreConfig {
        data_dir: site.data_dir(),
        hostname: "mx.sansmail.test".into(),
        password_hashing: Default::default(),
    })
    .unwrap();
    let enqueue = |sender: Option<&str>, to: &[&str]| {
        let mut q = store
            .begin_enqueue(QueueEnvelope {
                sender: sender.map(str::to_owned),
                recipients: to.iter().map(|a| QueueRecipient::new(*a)).collect(),
                ..QueueEnvelope::default()
            })
            .unwrap();
        q.write(b"Subject: queued\r\n\r\nbody\r\n").unwrap();
        q.commit().unwrap()
    };
    let a = enqueue(
        Some("alice@localhost"),
        &["bob@example.net", "carol@example.org"],
    );
    let due = store.queue_due(now()).unwrap();
    assert_eq!(due.len(), 1);
    store
        .queue_update(&[
            (
                RecipientRef { id: a, index: 0 },
                Outcome::Deferred {
                    next_attempt: LATER,
                    error: "451 4.7.1 greylisted, try again later".into(),
                },
            ),
            (
                RecipientRef { id: a, index: 1 },
                Outcome::Deferred {
                    next_attempt: MUCH_LATER,
                    error: "connection to mx.example.org:25 refused".into(),
                },
            ),
        ])
        .unwrap();
    let b = enqueue(None, &["dave@example.com"]);
    (a, b)
}

fn lines(out: &std::process::Output) -> Vec<String> {
    assert!(out.status.success(), "{}", describe(out));
    assert!(out.stderr.is_empty(), "{}", describe(out));
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The next-attempt field of a line is RFC 3339 UTC and close to now.
fn assert_due_now(line: &str) {
    let t = line.split(' ').nth(5).unwrap();
    let out = std::process::Command::new("date")
        .args(["-u", "-d", t, "+%s"])
        .output()
        .unwrap();
    let secs: i64 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!((secs - now()).abs() < 60, "{line}");
    assert!(
        t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
        "{t}"
    );
}

fn check_commands(site: &Site, a: QueueId, b: QueueId) {
    let list = lines(&site.run(&["queue", "list"], ""));
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(
        list[0],
        format!(
            "{a} alice@localhost bob@example.net deferred 1 2027-01-15T08:00:00Z 451 4.7.1 greylisted, try again later"
        )
    );
    assert_eq!(
        list[1],
        format!(
            "{a} alice@localhost carol@example.org deferred 1 2030-03-17T17:46:40Z connection to mx.example.org:25 refused"
        )
    );
    assert!(
        list[2].starts_with(&format!("{b} <> dave@example.com queued 0 ")),
        "{}",
        list[2]
    );
    assert_eq!(
        list[2].split(' ').count(),
        6,
        "no error before the first attempt"
    );
    assert_due_now(&list[2]);

    // retry ID: that message is due now, the error is kept.
    assert!(lines(&site.run(&["queue", "retry", &a.to_string()], "")).is_empty());
    let list = lines(&site.run(&["queue", "list"], ""));
    assert!(
        list[0].starts_with(&format!("{a} alice@localhost bob@example.net deferred 1 ")),
        "{}",
        list[0]
    );
    assert_due_now(&list[0]);
    assert_due_now(&list[1]);
    assert!(
        list[0].ends_with(" 451 4.7.1 greylisted, try again later"),
        "{}",
        list[0]
    );

    // delete ID: gone, file and all; unknown ids are one-line errors.
    assert!(lines(&site.run(&["queue", "delete", &a.to_string()], "")).is_empty());
    let list = lines(&site.run(&["queue", "list"], ""));
    assert_eq!(list.len(), 1);
    assert!(list[0].starts_with(&b.to_string()));
    assert!(!site.data_dir().join("queue").join(a.to_string()).exists());
    let a = a.to_string();
    for args in [
        ["queue", "delete", a.as_str()],
        ["queue", "retry", a.as_str()],
        ["queue", "delete", "not-an-id"],
    ] {
        let out = site.run(&args, "");
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("sansmail: "), "{err}");
        assert!(
            err.contains("no queued message") || err.contains("not a queue id"),
            "{err}"
        );
    }
    // retry without an id: every message.
    assert!(lines(&site.run(&["queue", "retry"], "")).is_empty());
}

#[test]
fn queue_commands_on_the_store_directly() {
    let site = Site::new(Opts {
        listeners: vec!["smtp"],
        ..Opts::default()
    });
    assert!(lines(&site.run(&["queue", "list"], "")).is_empty());
    let (a, b) = fill(&site);
    check_commands(&site, a, b);
}

#[test]
fn queue_commands_while_the_server_runs() {
    // The server's worker attempts what is due at once: a DNS server that
    // never answers holds those attempts in the lookup (3 s per query), so
    // the rows stay as filled while the commands run.
    let blackhole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let site = Site::new(Opts {
        listeners: vec!["smtp"],
        extra: format!(
            "[outbound]\nresolvers = [\"{}\"]\n",
            blackhole.local_addr().unwrap()
        ),
        ..Opts::default()
    });
    let (a, b) = fill(&site);
    let server = site.start();
    // The server holds the index: these go through the control socket.
    check_commands(&site, a, b);
    let status = server.stop();
    assert!(status.success());
    // What the running server changed is durable.
    let list = lines(&site.run(&["queue", "list"], ""));
    assert_eq!(list.len(), 1);
    assert!(list[0].starts_with(&format!("{b} <> dave@example.com queued 0 ")));
}
