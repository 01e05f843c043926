//! Durability across `kill -9`: every acknowledged message is present
//! exactly once after a restart, and nothing is present twice.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// The `Subject:` value of a stored message (our token).
fn subject(stored: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stored);
    text.lines()
        .find_map(|l| l.strip_prefix("Subject: ").map(|s| s.trim_end().to_owned()))
}

#[test]
fn kill_9_loses_no_acknowledged_message() {
    let site = Site::new(Opts {
        listeners: vec!["smtp"],
        ..Opts::default()
    });
    site.user_add(ALICE.0, ALICE.1);
    let srv = site.start();
    let addr = srv.addr("smtp");
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|conn| {
            let (acked, count, stop) = (Arc::clone(&acked), Arc::clone(&count), Arc::clone(&stop));
            thread::spawn(move || {
                let Ok(mut c) = RawSmtp::connect_raw(addr) else {
                    return;
                };
                if !matches!(c.reply(), Ok((220, _)))
                    || !matches!(c.cmd("EHLO crash.test"), Ok((250, _)))
                {
                    return;
                }
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let token = format!("crash-tok-{conn}-{i}");
                    match c.send_mail("sender@example.org", ALICE.0, &message(&token)) {
                        Ok((250, _)) => {
                            acked.lock().unwrap().push(token);
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => panic!("{token}: unexpected reply {r:?}"),
                        Err(_) => return, // the server died mid-transaction
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while count.load(Ordering::Relaxed) < 60 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    srv.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("worker panicked");
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        !acked.is_empty(),
        "no message was acknowledged before the kill"
    );

    // Restart on the same data_dir: it must come up and deliver again.
    let srv = site.start();
    let mut per_token: BTreeMap<String, usize> = BTreeMap::new();
    for (path, bytes) in site.inbox(ALICE.0) {
        let s = subject(&bytes).unwrap_or_else(|| panic!("{} has no Subject", path.display()));
        *per_token.entry(s).or_default() += 1;
    }
    for t in &acked {
        assert_eq!(
            per_token.get(t),
            Some(&1),
            "acknowledged {t} present {:?} times",
            per_token.get(t)
        );
    }
    let dups: Vec<_> = per_token.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "messages present twice: {dups:?}");
    // Every acknowledged message is intact.
    for t in acked.iter().take(10) {
        assert_stored(
            &site.delivered_with(ALICE.0, t),
            "sender@example.org",
            &message(t),
        );
    }

    let (mut c, _) = RawSmtp::connect_ehlo(srv.addr("smtp"));
    let m = message("after-restart-token");
    assert_eq!(
        c.send_mail("sender@example.org", ALICE.0, &m).unwrap().0,
        250
    );
    c.expect("QUIT", 221);
    assert_stored(
        &site.delivered_with(ALICE.0, "after-restart-token"),
        "sender@example.org",
        &m,
    );
    println!(
        "acknowledged before kill -9: {}; files after restart: {}",
        acked.len(),
        per_token.len()
    );
}
