//! End-to-end: several clients append, flag and expunge in one mailbox at
//! once while others FETCH and SEARCH. Every client tracks its own view of
//! the mailbox from the EXISTS, EXPUNGE and FETCH responses it receives and
//! checks every response against it: no UID twice, no sequence number out
//! of range, no expunged UID coming back, UIDs ascending by sequence
//! number, SEARCH results inside the view, and STORE answers carrying the
//! flag just set. It also tracks what the server announced: no FETCH shows
//! a flag the last untagged `FLAGS` did not list (RFC 9051 §7.3.5), `RECENT`
//! never exceeds `EXISTS`, and a message once `\Recent` in a session stays
//! so there. At the end all views agree with each other, and every message
//! is `\Recent` in exactly one session (RFC 3501 §2.3.2).

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread;

use common::*;

const MAILBOX: &str = "Shared";
const WRITERS: usize = 4;
const READERS: usize = 3;
const ROUNDS: u32 = 30;

/// A client's view: the UID at each sequence number (0 = not yet known).
struct View {
    name: String,
    uids: Vec<u32>,
    /// UIDs this client saw expunged.
    gone: BTreeSet<u32>,
    /// Whether the running command is a UID command (SEARCH answers UIDs).
    uid_cmd: bool,
    /// The flag list of the last untagged `FLAGS`.
    flags: BTreeSet<String>,
    /// UIDs this session was shown with `\Recent`.
    recent: BTreeSet<u32>,
}

/// The words inside the parentheses after `key` in `line`.
fn list_after(line: &str, key: &str) -> Option<Vec<String>> {
    let at = line.find(key)? + key.len();
    let end = line[at..].find(')')? + at;
    Some(
        line[at..end]
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
}

fn number_after(line: &str, key: &str) -> Option<u32> {
    let at = line.find(key)?;
    line[at + key.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

impl View {
    fn new(name: String) -> Self {
        View {
            name,
            uids: Vec::new(),
            gone: BTreeSet::new(),
            uid_cmd: false,
            flags: BTreeSet::new(),
            recent: BTreeSet::new(),
        }
    }

    /// FLAGS-before-announce and \Recent checks of one FETCH line.
    fn check_flags(&mut self, num: usize, line: &str) {
        let Some(flags) = list_after(line, "FLAGS (") else {
            return;
        };
        for f in &flags {
            assert!(
                f == "\\Recent" || self.flags.contains(f),
                "{}: {line:?} shows {f} before a FLAGS response announced it (announced {:?})",
                self.name,
                self.flags
            );
        }
        let uid = number_after(line, "UID ").unwrap_or(self.uids[num - 1]);
        if uid == 0 {
            return;
        }
        if flags.iter().any(|f| f == "\\Recent") {
            self.recent.insert(uid);
        } else {
            assert!(
                !self.recent.contains(&uid),
                "{}: UID {uid} lost \\Recent within the session: {line:?}",
                self.name
            );
        }
    }

    fn check_order(&self, line: &str) {
        let known: Vec<u32> = self.uids.iter().copied().filter(|&u| u != 0).collect();
        assert!(
            known.windows(2).all(|w| w[0] < w[1]),
            "{}: UIDs not ascending after {line:?}: {known:?}",
            self.name
        );
    }

    /// Applies one untagged response; panics when it contradicts the view.
    fn apply(&mut self, line: &str) {
        let n = self.name.clone();
        let mut words = line.split(' ');
        let (Some("*"), Some(num), Some(kind)) = (words.next(), words.next(), words.next()) else {
            return;
        };
        if num == "FLAGS" {
            let list = list_after(line, "FLAGS (").expect("FLAGS list");
            self.flags = list.into_iter().collect();
            return;
        }
        if num == "SEARCH" && !self.uid_cmd {
            for n in line
                .split(' ')
                .skip(2)
                .filter_map(|w| w.parse::<usize>().ok())
            {
                assert!(
                    (1..=self.uids.len()).contains(&n),
                    "{}: SEARCH returned sequence number {n} out of range 1..={}",
                    self.name,
                    self.uids.len()
                );
            }
            return;
        }
        if num == "SEARCH" {
            for u in line
                .split(' ')
                .skip(2)
                .filter_map(|w| w.parse::<u32>().ok())
            {
                assert!(
                    !self.gone.contains(&u),
                    "{n}: SEARCH returned expunged UID {u}"
                );
                let complete = !self.uids.contains(&0);
                assert!(
                    !complete || self.uids.contains(&u),
                    "{n}: SEARCH returned UID {u} outside the view {:?}",
                    self.uids
                );
            }
            return;
        }
        let Ok(num) = num.parse::<usize>() else {
            return;
        };
        match kind {
            "EXISTS" => {
                assert!(
                    num >= self.uids.len(),
                    "{n}: EXISTS {num} below {} without EXPUNGE",
                    self.uids.len()
                );
                self.uids.resize(num, 0);
            }
            "EXPUNGE" => {
                assert!(
                    (1..=self.uids.len()).contains(&num),
                    "{n}: EXPUNGE {num} out of range 1..={}",
                    self.uids.len()
                );
                let uid = self.uids.remove(num - 1);
                if uid != 0 {
                    self.gone.insert(uid);
                }
            }
            "FETCH" => {
                assert!(
                    (1..=self.uids.len()).contains(&num),
                    "{n}: FETCH {num} out of range 1..={}: {line:?}",
                    self.uids.len()
                );
                self.check_flags(num, line);
                if let Some(uid) = number_after(line, "UID ") {
                    assert!(
                        !self.gone.contains(&uid),
                        "{n}: expunged UID {uid} back: {line:?}"
                    );
                    let at = &mut self.uids[num - 1];
                    if *at == 0 {
                        *at = uid;
                    } else {
                        assert_eq!(*at, uid, "{n}: sequence {num} changed UID: {line:?}");
                    }
                    let twice = self.uids.iter().filter(|&&u| u == uid).count();
                    assert_eq!(twice, 1, "{n}: UID {uid} twice in {:?}", self.uids);
                    self.check_order(line);
                }
            }
            "RECENT" => {
                assert!(
                    num <= self.uids.len(),
                    "{n}: RECENT {num} above EXISTS {}",
                    self.uids.len()
                );
            }
            other => panic!("{n}: unexpected untagged {other}: {line:?}"),
        }
    }

    fn run(&mut self, c: &mut RawImap, cmd: &str) -> ImapReply {
        let r = c.cmd(cmd);
        self.uid_cmd = cmd.starts_with("UID ");
        for l in &r.untagged {
            self.apply(l);
        }
        assert!(r.ok(), "{}: {cmd} -> {r:?}", self.name);
        r
    }
}

/// A small xorshift generator (deterministic per thread).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn select(addr: SocketAddr, name: String) -> (RawImap, View) {
    let mut c = RawImap::login(addr, ALICE.0, ALICE.1);
    let mut v = View::new(name);
    v.run(&mut c, &format!("SELECT {MAILBOX}"));
    v.run(&mut c, "FETCH 1:* (UID)");
    (c, v)
}

/// Returns the final view and the APPENDUIDs whose answer lacked EXISTS.
fn writer(
    addr: SocketAddr,
    i: usize,
    appended: Arc<Mutex<Vec<u32>>>,
    done: Arc<std::sync::Barrier>,
) -> (RawImap, View, Vec<u32>) {
    let (mut c, mut v) = select(addr, format!("writer{i}"));
    let mut unannounced = Vec::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((i as u64 + 1) * 0x1000_0001));
    for round in 0..ROUNDS {
        let r = c.append(MAILBOX, "", &message(&format!("w{i}-{round}")));
        for l in &r.untagged {
            v.apply(l);
        }
        assert!(r.ok(), "{}: APPEND {r:?}", v.name);
        let uid: u32 = resp_code(&r.status, "APPENDUID").expect("APPENDUID")[1]
            .parse()
            .expect("uid");
        appended.lock().expect("lock").push(uid);
        // RFC 9051 §6.3.12: APPEND into the selected mailbox SHOULD be
        // announced with EXISTS at once, i.e. before the tagged OK.
        let announced = r.untagged.iter().any(|l| l.ends_with(" EXISTS"));
        if !announced {
            unannounced.push(uid);
        }
        // The notice may reach the session just after a NOOP: retry a little.
        for _ in 0..20 {
            v.run(&mut c, "NOOP");
            v.run(&mut c, "FETCH 1:* (UID)");
            if v.uids.contains(&uid) {
                break;
            }
            thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(
            v.uids.contains(&uid),
            "{}: own APPEND {uid} not in view {:?} after NOOP and FETCH",
            v.name,
            v.uids
        );

        let known: Vec<u32> = v.uids.iter().copied().filter(|&u| u != 0).collect();
        if !known.is_empty() {
            let target = known[rng.below(known.len())];
            // Now and then a keyword no message had yet: every session must
            // be told of it (untagged FLAGS) before a FETCH shows it.
            let flag = if round % 4 == 1 {
                format!("$W{i}R{round}")
            } else {
                "\\Flagged".to_string()
            };
            let r = v.run(&mut c, &format!("UID STORE {target} +FLAGS ({flag})"));
            for l in r.lines("") {
                if number_after(&l, "UID ") == Some(target) && l.contains(" FETCH (") {
                    assert!(
                        l.contains(&flag),
                        "{}: STORE +FLAGS answer lacks the flag: {l:?}",
                        v.name
                    );
                }
            }
        }
        if round % 3 == 2 && !known.is_empty() {
            let target = known[rng.below(known.len())];
            v.run(
                &mut c,
                &format!("UID STORE {target} +FLAGS.SILENT (\\Deleted)"),
            );
            if i.is_multiple_of(2) {
                v.run(&mut c, "EXPUNGE");
            } else {
                v.run(&mut c, &format!("UID EXPUNGE {target}"));
            }
        }
    }
    // The final view is compared with everyone else's: take it once every
    // writer is done, or another writer's late APPEND shows up as an EXISTS
    // this client never fetched.
    done.wait();
    (c, v, unannounced)
}

fn reader(addr: SocketAddr, i: usize, stop: Arc<Mutex<bool>>) -> (RawImap, View) {
    let (mut c, mut v) = select(addr, format!("reader{i}"));
    let mut n = 0u32;
    loop {
        let finished = *stop.lock().expect("lock");
        match n % 4 {
            0 => v.run(&mut c, "FETCH 1:* (UID FLAGS)"),
            1 => v.run(&mut c, "UID SEARCH UNDELETED"),
            2 => v.run(&mut c, "UID FETCH 1:* (FLAGS RFC822.SIZE)"),
            _ => v.run(&mut c, "SEARCH FLAGGED"),
        };
        n += 1;
        if finished {
            break;
        }
    }
    assert!(n >= 4, "reader{i} ran only {n} commands");
    (c, v)
}

#[test]
fn concurrent_writers_and_readers_keep_consistent_views() {
    let site = imap_site("loopback");
    let server = site.start();
    let addr = server.addr("imap");
    let mut setup = RawImap::login(addr, ALICE.0, ALICE.1);
    setup.ok(&format!("CREATE {MAILBOX}"));
    for k in 0..10 {
        let r = setup.append(MAILBOX, "", &message(&format!("seed-{k}")));
        assert!(r.ok(), "{r:?}");
    }

    let appended = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(Mutex::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|i| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || reader(addr, i, stop))
        })
        .collect();
    let done = Arc::new(std::sync::Barrier::new(WRITERS));
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let appended = Arc::clone(&appended);
            let done = Arc::clone(&done);
            thread::spawn(move || writer(addr, i, appended, done))
        })
        .collect();
    let mut sessions = Vec::new();
    let mut unannounced = Vec::new();
    for w in writers {
        let (c, v, missing) = w.join().expect("writer panicked");
        sessions.push((c, v));
        unannounced.extend(missing);
    }
    *stop.lock().expect("lock") = true;
    for r in readers {
        sessions.push(r.join().expect("reader panicked"));
    }
    // Every change is made: let each connection take its last notices,
    // then read every session's final view with its flags.
    thread::sleep(std::time::Duration::from_millis(300));
    let mut finals = Vec::new();
    let mut recents = Vec::new();
    for (c, v) in &mut sessions {
        v.run(c, "NOOP");
        v.run(c, "FETCH 1:* (UID FLAGS)");
        finals.push((v.name.clone(), v.uids.clone()));
        recents.push((v.name.clone(), v.recent.clone()));
    }

    let uids = appended.lock().expect("lock").clone();
    let unique: BTreeSet<u32> = uids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        uids.len(),
        "APPENDUID handed out twice: {uids:?}"
    );
    assert_eq!(uids.len(), WRITERS * ROUNDS as usize);
    assert!(
        unique.iter().all(|&u| u > 10),
        "APPENDUID reused a seed UID"
    );

    // Every client ends with the same view, and it is the server's.
    let (mut c, mut v) = select(addr, "final".into());
    v.run(&mut c, "NOOP");
    v.run(&mut c, "FETCH 1:* (UID FLAGS)");
    for (name, view) in &finals {
        assert!(
            view.iter().all(|u| *u != 0),
            "{name}: unknown UIDs left in {view:?}"
        );
    }
    // Readers finished after every writer: their final views are exact.
    for (name, view) in finals.iter().skip(WRITERS) {
        assert_eq!(view, &v.uids, "{name} disagrees with a fresh SELECT");
    }
    // RFC 3501 §2.3.2: each message is \Recent in exactly one session (the
    // first told of it); the fresh session sees none.
    for uid in &v.uids {
        let holders: Vec<&String> = recents
            .iter()
            .filter(|(_, set)| set.contains(uid))
            .map(|(name, _)| name)
            .collect();
        assert_eq!(
            holders.len(),
            1,
            "UID {uid} is \\Recent in sessions {holders:?}"
        );
    }
    assert!(
        v.recent.is_empty(),
        "fresh session sees \\Recent: {:?}",
        v.recent
    );
    let r = v.run(&mut c, "UID SEARCH ALL");
    let searched: Vec<u32> = r.lines("SEARCH")[0]
        .split(' ')
        .skip(2)
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(searched, v.uids, "UID SEARCH ALL agrees with FETCH");
    // Checked on its own in append_and_copy_into_the_selected_mailbox_*.
    println!(
        "{} of {} APPENDs answered before their EXISTS",
        unannounced.len(),
        WRITERS * ROUNDS as usize
    );
}

/// RFC 9051 §6.3.12 (APPEND) and §6.4.7 (COPY): a message added to the
/// selected mailbox SHOULD be announced at once; the imap-proto session
/// docs ask the adapter to feed the store's change before answering, so
/// that `EXISTS` precedes the tagged OK.
#[test]
fn append_and_copy_into_the_selected_mailbox_announce_exists_before_ok() {
    let site = imap_site("loopback");
    let server = site.start();
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    c.ok("SELECT INBOX");
    let mut missing = Vec::new();
    for n in 1..=10u32 {
        let r = c.append("INBOX", "", &message(&format!("own-{n}")));
        assert!(r.ok(), "{r:?}");
        if !r.untagged.contains(&format!("* {n} EXISTS")) {
            missing.push(format!("APPEND {n}: {:?}", r.untagged));
            // Catch up so the next check starts from a known count.
            let _ = c.ok("NOOP");
        }
    }
    for n in 11..=15u32 {
        let r = c.ok("COPY 1 INBOX");
        if !r.untagged.contains(&format!("* {n} EXISTS")) {
            missing.push(format!("COPY -> {n}: {:?}", r.untagged));
            let _ = c.ok("NOOP");
        }
    }
    assert!(missing.is_empty(), "answered before EXISTS: {missing:#?}");
}
