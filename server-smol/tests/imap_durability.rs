//! Durability of IMAP changes across `kill -9`: STOREs and EXPUNGEs that
//! concurrent sessions of two accounts had answered OK (the store commits
//! them in shared batches, maildir's `index_commit/`) are all present
//! after a restart; a command in flight at the kill may have landed or not.
//! With `[imap] flag_sync = "batched"` (the default, maildir's
//! `flag_sync.rs`) a STORE answered within the window before the kill may
//! be lost, an older one never; EXPUNGEs are durable in both modes.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// Messages per INBOX.
const MESSAGES: u32 = 24;
/// Sessions per account; session `s` owns the UIDs with `uid % SESSIONS == s`.
const SESSIONS: u32 = 3;

/// What one UID should look like after the restart.
#[derive(Clone, Debug, Default)]
struct Expect {
    /// The keyword number of the last STORE answered OK.
    acked: Option<u64>,
    /// The keyword number of a STORE sent but not answered (the kill).
    in_flight: Option<u64>,
    /// UID EXPUNGE answered OK.
    expunged: bool,
    /// UID EXPUNGE sent but not answered.
    expunge_in_flight: bool,
    /// Every STORE answered OK: keyword number and when.
    history: Vec<(u64, Instant)>,
}

/// How long before the kill a batched STORE's answer must be for the test
/// to demand it back: maildir's FLAG_SYNC_WINDOW (200 ms) plus a slow
/// flush on a loaded machine.
const BATCHED_BOUND: Duration = Duration::from_millis(1000);

type Book = Arc<Mutex<BTreeMap<(String, u32), Expect>>>;

/// UID → flags, from `UID FETCH 1:* (FLAGS)` lines.
fn flags_by_uid(reply: &ImapReply) -> BTreeMap<u32, String> {
    let mut out = BTreeMap::new();
    for line in &reply.untagged {
        let uid = line
            .split_once("UID ")
            .and_then(|(_, r)| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok());
        let flags = line
            .split_once("FLAGS (")
            .and_then(|(_, r)| r.split_once(')'))
            .map(|(f, _)| f.to_string());
        if let (Some(uid), Some(flags)) = (uid, flags) {
            out.insert(uid, flags);
        }
    }
    out
}

fn worker(
    addr: std::net::SocketAddr,
    user: (&'static str, &'static str),
    s: u32,
    book: Book,
    acks: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) {
    let Ok(mut c) = RawImap::connect_raw(addr) else {
        return;
    };
    let login = format!("LOGIN {} {}", quote(user.0), quote(user.1));
    if c.line_str().is_err() || !c.try_cmd(&login).is_ok_and(|r| r.ok()) {
        return;
    }
    if !c.try_cmd("SELECT INBOX").is_ok_and(|r| r.ok()) {
        return;
    }
    let mine: Vec<u32> = (1..=MESSAGES).filter(|u| u % SESSIONS == s).collect();
    for n in 0u64.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let uid = mine[(n as usize) % mine.len()];
        let key = (user.0.to_string(), uid);
        if book.lock().unwrap().get(&key).is_some_and(|e| e.expunged) {
            continue;
        }
        // Every seventh turn expunges the UID (only in the lower half, so
        // the upper half lives through the run); the others replace its
        // flags.
        let expunge = n % 7 == 6 && uid <= MESSAGES / 2;
        let cmd = if expunge {
            book.lock()
                .unwrap()
                .entry(key.clone())
                .or_default()
                .expunge_in_flight = true;
            format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)")
        } else {
            book.lock()
                .unwrap()
                .entry(key.clone())
                .or_default()
                .in_flight = Some(n);
            format!("UID STORE {uid} FLAGS.SILENT (\\Seen $k{n})")
        };
        match c.try_cmd(&cmd) {
            Ok(r) if r.ok() => {}
            Ok(r) => panic!("{cmd}: {r:?}"),
            Err(_) => return, // the server died
        }
        if expunge {
            match c.try_cmd(&format!("UID EXPUNGE {uid}")) {
                Ok(r) if r.ok() => {
                    book.lock().unwrap().entry(key).or_default().expunged = true;
                }
                Ok(r) => panic!("UID EXPUNGE {uid}: {r:?}"),
                Err(_) => return,
            }
        } else {
            let mut b = book.lock().unwrap();
            let e = b.entry(key).or_default();
            e.acked = Some(n);
            e.in_flight = None;
            e.history.push((n, Instant::now()));
        }
        acks.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn kill_9_loses_no_acknowledged_store_or_expunge() {
    run(true);
}

#[test]
fn kill_9_with_batched_flags_loses_only_stores_of_the_window() {
    run(false);
}

/// With batched flags an EXPUNGE's index rows are committed non-durably
/// and made durable by the flusher up to 200 ms after the answer; the
/// answer waits only for the fsync of the directories the files left
/// (maildir's "expunges out of the lock"). `kill -9` right after the
/// tagged OK, well inside that window: after the restart the expunged
/// messages are gone (the rescan drops rows whose files are gone) and the
/// others are all there with their UIDs.
#[test]
fn kill_9_right_after_expunge_answers_keeps_it() {
    let site = imap_site("loopback");
    let srv = site.start();
    let addr = srv.addr("imap");
    let mut c = RawImap::login(addr, ALICE.0, ALICE.1);
    for i in 0..MESSAGES {
        let m = format!("Subject: m{i}\r\n\r\nbody {i}\r\n");
        assert!(c.append("INBOX", "", m.as_bytes()).ok());
    }
    c.ok("SELECT INBOX");
    // The even UIDs go; the odd ones stay.
    let even: Vec<String> = (2..=MESSAGES).step_by(2).map(|u| u.to_string()).collect();
    c.ok(&format!(
        "UID STORE {} +FLAGS.SILENT (\\Deleted)",
        even.join(",")
    ));
    let answered = c.ok("EXPUNGE");
    let expunges = answered
        .untagged
        .iter()
        .filter(|l| l.starts_with("* ") && l.ends_with(" EXPUNGE"))
        .count();
    assert_eq!(expunges, even.len(), "EXPUNGE answered {answered:?}");
    srv.kill9();

    let srv = site.start();
    let mut c = RawImap::login(srv.addr("imap"), ALICE.0, ALICE.1);
    c.ok("SELECT INBOX");
    let now = flags_by_uid(&c.ok("UID FETCH 1:* (FLAGS)"));
    let odd: Vec<u32> = (1..=MESSAGES).step_by(2).collect();
    assert_eq!(
        now.keys().copied().collect::<Vec<u32>>(),
        odd,
        "after kill -9 right after EXPUNGE: {now:?}"
    );
}

/// `durable`: `flag_sync = "durable"`, every answered STORE must survive;
/// else the default (batched), those answered more than
/// [`BATCHED_BOUND`] before the kill must.
fn run(durable: bool) {
    let site = imap_site("loopback");
    if durable {
        let toml = std::fs::read_to_string(site.config()).expect("read config");
        let toml = toml.replacen("[imap]\n", "[imap]\nflag_sync = \"durable\"\n", 1);
        std::fs::write(site.config(), toml).expect("write config");
    }
    let srv = site.start();
    let addr = srv.addr("imap");
    for user in [ALICE, BOB] {
        let mut c = RawImap::login(addr, user.0, user.1);
        for i in 0..MESSAGES {
            let m = format!("Subject: m{i}\r\n\r\nbody {i}\r\n");
            assert!(c.append("INBOX", "", m.as_bytes()).ok());
        }
    }
    let book: Book = Arc::default();
    let acks = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = [ALICE, BOB]
        .into_iter()
        .flat_map(|user| (0..SESSIONS).map(move |s| (user, s)))
        .map(|(user, s)| {
            let (book, acks, stop) = (Arc::clone(&book), Arc::clone(&acks), Arc::clone(&stop));
            thread::spawn(move || worker(addr, user, s, book, acks, stop))
        })
        .collect();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(20);
    // Batched: run long enough that many answers are older than the bound.
    let least = if durable {
        Duration::ZERO
    } else {
        BATCHED_BOUND * 3
    };
    while (acks.load(Ordering::Relaxed) < 150 || started.elapsed() < least)
        && Instant::now() < deadline
    {
        thread::sleep(Duration::from_millis(5));
    }
    let killed_at = Instant::now();
    srv.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("worker panicked");
    }
    let acked = acks.load(Ordering::Relaxed);
    assert!(
        acked >= 50,
        "only {acked} commands acknowledged before the kill"
    );

    let srv = site.start();
    let book = book.lock().unwrap().clone();
    let mut checked = 0;
    let mut bounded = 0;
    for user in [ALICE, BOB] {
        let mut c = RawImap::login(srv.addr("imap"), user.0, user.1);
        c.ok("SELECT INBOX");
        let fetched = c.ok("UID FETCH 1:* (FLAGS)");
        let now = flags_by_uid(&fetched);
        if std::env::var_os("DEBUG_DURABILITY").is_some() {
            eprintln!("{fetched:?}");
        }
        for uid in 1..=MESSAGES {
            let e = book
                .get(&(user.0.to_string(), uid))
                .cloned()
                .unwrap_or_default();
            let flags = now.get(&uid);
            if e.expunged {
                assert_eq!(
                    flags, None,
                    "{} UID {uid}: expunged (acknowledged) but present",
                    user.0
                );
                checked += 1;
                continue;
            }
            if e.expunge_in_flight && flags.is_none() {
                checked += 1;
                continue;
            }
            let flags = flags.unwrap_or_else(|| panic!("{} UID {uid} lost: {e:?}", user.0));
            let has =
                |n: Option<u64>| n.is_some_and(|n| flags.split(' ').any(|f| f == format!("$k{n}")));
            if durable {
                assert!(
                    e.acked.is_none() && e.in_flight.is_none() || has(e.acked) || has(e.in_flight),
                    "{} UID {uid}: flags ({flags}), expected {e:?}",
                    user.0
                );
            } else {
                // The newest STORE answered before the bound, or a later
                // one (the session owning the UID numbers them upwards).
                let old = e
                    .history
                    .iter()
                    .rev()
                    .find(|(_, at)| killed_at.duration_since(*at) >= BATCHED_BOUND)
                    .map(|(n, _)| *n);
                if let Some(old) = old {
                    let found: Vec<u64> = flags
                        .split(' ')
                        .filter_map(|f| f.strip_prefix("$k")?.parse().ok())
                        .collect();
                    assert!(
                        found.iter().any(|&n| n >= old),
                        "{} UID {uid}: flags ({flags}) lost the STORE $k{old} answered more than {BATCHED_BOUND:?} before the kill: {e:?}",
                        user.0
                    );
                    bounded += 1;
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * MESSAGES as usize);
    if !durable {
        // The bound was really exercised, not vacuously true (expunged
        // UIDs have nothing to check).
        assert!(
            bounded >= 6,
            "only {bounded} UIDs had a STORE older than the bound"
        );
    }
    println!(
        "acknowledged before kill -9: {acked}; UIDs checked against the batched bound: {bounded}"
    );
}
