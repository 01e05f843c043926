//! POP3 maildrop semantics over raw sockets: durable deletions at QUIT
//! (also across a kill -9), nothing deleted when the server stops during a
//! session, the maildrop snapshot while mail arrives, per-account locks,
//! CAPA by state, and RFC 1939 §11 sizes for files with bare LF line ends.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;

fn site() -> Site {
    let site = site_with_auth(
        Opts {
            listeners: vec!["smtp", "pop3"],
            ..Opts::default()
        },
        "failure_delay_ms = 0",
    );
    site.default_users();
    site
}

/// Delivers a message to `to` over SMTP (our raw client) and returns the
/// stored bytes.
fn deliver(site: &Site, srv: &Server, to: &str, token: &str) -> Vec<u8> {
    let (mut c, _) = RawSmtp::connect_ehlo(srv.addr("smtp"));
    let r = c
        .send_mail("sender@example.org", to, &message(token))
        .expect("send mail");
    assert_eq!(r.0, 250, "{r:?}");
    c.expect("QUIT", 221);
    stored_with(site, to, token).1
}

/// The `n id` lines of a UIDL listing.
fn uidl(c: &mut RawPop3) -> Vec<String> {
    let raw = c.multiline("UIDL");
    let text = String::from_utf8(raw).expect("ASCII listing");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert_eq!(lines.pop().as_deref(), Some("."));
    lines
}

fn ids(listing: &[String]) -> Vec<String> {
    listing
        .iter()
        .map(|l| l.split_once(' ').expect("n id").1.to_owned())
        .collect()
}

#[test]
fn deletions_at_quit_survive_kill_9() {
    let site = site();
    let srv = site.start();
    for t in ["dur-1", "dur-2", "dur-3"] {
        deliver(&site, &srv, ALICE.0, t);
    }
    let mut c = RawPop3::login(srv.addr("pop3"), ALICE.0, ALICE.1);
    let before = ids(&uidl(&mut c));
    assert_eq!(before.len(), 3);
    c.ok("DELE 2");
    let bye = c.ok("QUIT");
    assert!(bye.starts_with("+OK"), "{bye:?}");
    // +OK at QUIT means the deletion is durable (RFC 1939 §6): kill the
    // server at once and look again.
    srv.kill9();
    assert_eq!(site.inbox(ALICE.0).len(), 2);
    site.assert_not_delivered(ALICE.0, "dur-2");
    let srv = site.start();
    let mut c = RawPop3::login(srv.addr("pop3"), ALICE.0, ALICE.1);
    assert_eq!(
        uidl(&mut c),
        vec![format!("1 {}", before[0]), format!("2 {}", before[2])]
    );
    c.ok("QUIT");
}

#[test]
fn server_stop_during_transaction_deletes_nothing() {
    let site = site();
    let srv = site.start();
    deliver(&site, &srv, ALICE.0, "stop-1");
    let mut c = RawPop3::login(srv.addr("pop3"), ALICE.0, ALICE.1);
    c.ok("DELE 1");
    // SIGTERM with the session idle in TRANSACTION: exit 0 (docs/DESIGN.md §4),
    // and no UPDATE state, so nothing is deleted (RFC 1939 §6).
    let st = srv.stop();
    assert!(st.success(), "{st:?}");
    match c.line() {
        Ok(l) => assert!(l.starts_with("-ERR"), "{l:?}"),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
            ),
            "{e}"
        ),
    }
    assert_eq!(site.inbox(ALICE.0).len(), 1);
    let srv = site.start();
    let mut c = RawPop3::login(srv.addr("pop3"), ALICE.0, ALICE.1);
    assert!(c.ok("STAT").starts_with("+OK 1 "));
    c.ok("QUIT");
}

#[test]
fn maildrop_is_a_snapshot_while_mail_arrives() {
    let site = site();
    let srv = site.start();
    let one = deliver(&site, &srv, ALICE.0, "snap-1");
    let mut c = RawPop3::login(srv.addr("pop3"), ALICE.0, ALICE.1);
    let stat = c.ok("STAT");
    assert_eq!(stat, format!("+OK 1 {}", one.len()));
    // Arrives during the session: not in this session's listing, and not
    // deleted by its DELE 1 + QUIT.
    let two = deliver(&site, &srv, ALICE.0, "snap-2");
    assert_eq!(c.ok("STAT"), stat);
    c.err("RETR 2");
    c.ok("DELE 1");
    c.ok("QUIT");
    assert!(c.is_closed());
    let left: Vec<Vec<u8>> = site.inbox(ALICE.0).into_iter().map(|(_, b)| b).collect();
    assert_eq!(left, vec![two.clone()]);
    let mut c = RawPop3::login(srv.addr("pop3"), ALICE.0, ALICE.1);
    assert_eq!(c.ok("STAT"), format!("+OK 1 {}", two.len()));
    assert_eq!(c.multiline("RETR 1"), dot_stuff(&two));
    c.ok("QUIT");
}

#[test]
fn lock_is_per_account() {
    let site = site();
    let srv = site.start();
    let addr: SocketAddr = srv.addr("pop3");
    deliver(&site, &srv, BOB.0, "lock-bob");
    let mut alice = RawPop3::login(addr, ALICE.0, ALICE.1);
    // Bob is not locked out by Alice's session (his password has spaces:
    // AUTH PLAIN carries it whole).
    let mut bob = RawPop3::connect(addr);
    {
        use base64::Engine;
        let ir = base64::engine::general_purpose::STANDARD
            .encode(format!("\0{}\0{}", BOB.0, BOB.1).as_bytes());
        bob.ok(&format!("AUTH PLAIN {ir}"));
    }
    assert!(bob.ok("STAT").starts_with("+OK 1 "));
    // A second Alice session is refused, over AUTH as over USER/PASS.
    let mut again = RawPop3::connect(addr);
    again.ok(&format!("USER {}", ALICE.0));
    let r = again.err(&format!("PASS {}", ALICE.1));
    assert!(r.starts_with("-ERR [IN-USE]"), "{r:?}");
    alice.ok("QUIT");
    assert!(alice.is_closed());
    // Released at QUIT: the waiting client can try again.
    again.ok(&format!("USER {}", ALICE.0));
    again.ok(&format!("PASS {}", ALICE.1));
    assert_eq!(again.ok("STAT"), "+OK 0 0");
    again.ok("QUIT");
    bob.ok("QUIT");
}

#[test]
fn lock_released_when_the_connection_drops() {
    let site = site();
    let srv = site.start();
    let addr = srv.addr("pop3");
    let c = RawPop3::login(addr, ALICE.0, ALICE.1);
    drop(c);
    // The server notices the close and releases the lock; allow it a
    // moment (RFC 1939 §8 leaves the timing to the server).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut c = RawPop3::connect(addr);
        c.ok(&format!("USER {}", ALICE.0));
        let r = c.cmd(&format!("PASS {}", ALICE.1)).unwrap();
        if r.starts_with("+OK") {
            c.ok("QUIT");
            break;
        }
        assert!(r.starts_with("-ERR [IN-USE]"), "{r:?}");
        assert!(
            std::time::Instant::now() < deadline,
            "maildrop still locked 10 s after the connection dropped"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn capa_depends_on_state() {
    let site = site();
    let srv = site.start();
    let mut c = RawPop3::connect(srv.addr("pop3"));
    let pre = String::from_utf8(c.multiline("CAPA")).unwrap();
    for cap in [
        "USER\r\n",
        "STLS\r\n",
        "SASL PLAIN LOGIN\r\n",
        "UIDL\r\n",
        "TOP\r\n",
    ] {
        assert!(
            pre.contains(cap),
            "CAPA before login lacks {cap:?}: {pre:?}"
        );
    }
    c.ok(&format!("USER {}", ALICE.0));
    c.ok(&format!("PASS {}", ALICE.1));
    let post = String::from_utf8(c.multiline("CAPA")).unwrap();
    // RFC 2449 §5: capabilities of the TRANSACTION state only.
    for cap in ["USER\r\n", "STLS\r\n", "SASL"] {
        assert!(
            !post.contains(cap),
            "CAPA after login has {cap:?}: {post:?}"
        );
    }
    for cap in ["UIDL\r\n", "TOP\r\n", "PIPELINING\r\n"] {
        assert!(
            post.contains(cap),
            "CAPA after login lacks {cap:?}: {post:?}"
        );
    }
    c.ok("QUIT");
}

/// RFC 1939 §11: a server that stores lines with a bare LF counts each as
/// two octets, so that LIST, STAT and the RETR status give the size of the
/// message as it is sent (CRLF lines, before dot-stuffing).
#[test]
fn sizes_count_crlf_for_bare_lf_files() {
    let site = site();
    let lf = b"From: <mutt@example.org>\nSubject: lf-size\n\nline one\n.dot\nlast\n".to_vec();
    drop_into_new(&site.data_dir(), ALICE.0, "1700000000.M1P1.mutt", &lf);
    // And a last line without its line end: sent with CRLF added.
    let open = b"Subject: open-end\r\n\r\nno line end".to_vec();
    drop_into_new(&site.data_dir(), ALICE.0, "1700000001.M2P1.mutt", &open);
    let srv = site.start();
    let sent = crlf(&lf);
    assert_eq!(sent.len(), lf.len() + 6);
    let sent_open = crlf(&open);
    assert_eq!(sent_open.len(), open.len() + 2);
    let mut c = RawPop3::login(srv.addr("pop3"), ALICE.0, ALICE.1);
    let (n_lf, n_open) = if c.multiline("RETR 1") == dot_stuff(&sent) {
        (1, 2)
    } else {
        (2, 1)
    };
    assert_eq!(c.multiline(&format!("RETR {n_lf}")), dot_stuff(&sent));
    assert_eq!(
        c.multiline(&format!("RETR {n_open}")),
        dot_stuff(&sent_open)
    );
    assert_eq!(
        c.ok(&format!("LIST {n_lf}")),
        format!("+OK {n_lf} {}", sent.len())
    );
    assert_eq!(
        c.ok(&format!("LIST {n_open}")),
        format!("+OK {n_open} {}", sent_open.len())
    );
    assert_eq!(
        c.ok("STAT"),
        format!("+OK 2 {}", sent.len() + sent_open.len())
    );
    c.ok("QUIT");
}

/// A message file removed behind the session's back (another program, an
/// IMAP expunge): RETR answers -ERR, the session goes on, QUIT works.
#[test]
fn message_removed_behind_the_session() {
    let site = site();
    let srv = site.start();
    deliver(&site, &srv, ALICE.0, "gone-1");
    let two = deliver(&site, &srv, ALICE.0, "gone-2");
    let (path, _) = stored_with(&site, ALICE.0, "gone-1");
    let mut c = RawPop3::login(srv.addr("pop3"), ALICE.0, ALICE.1);
    let stat = c.ok("STAT");
    let ids_before = ids(&uidl(&mut c));
    std::fs::remove_file(&path).unwrap();
    c.err("RETR 1");
    c.err("TOP 1 0");
    assert_eq!(c.multiline("RETR 2"), dot_stuff(&two));
    assert_eq!(c.ok("STAT"), stat);
    c.ok("DELE 1");
    assert!(c.ok("QUIT").starts_with("+OK"));
    assert!(c.is_closed());
    let mut c = RawPop3::login(srv.addr("pop3"), ALICE.0, ALICE.1);
    assert_eq!(c.ok("STAT"), format!("+OK 1 {}", two.len()));
    assert_eq!(uidl(&mut c), vec![format!("1 {}", ids_before[1])]);
    c.ok("QUIT");
}

/// `[auth] failure_delay_ms` defaults to 1000: a refused login is answered
/// no sooner than that (and still with `[AUTH]`).
#[test]
fn failed_login_is_delayed_by_default() {
    let site = Site::new(Opts {
        listeners: vec!["pop3"],
        ..Opts::default()
    });
    site.default_users();
    let srv = site.start();
    let mut c = RawPop3::connect(srv.addr("pop3"));
    c.ok(&format!("USER {}", ALICE.0));
    let t = std::time::Instant::now();
    let r = c.err("PASS wrong-password");
    let took = t.elapsed();
    assert!(r.starts_with("-ERR [AUTH]"), "{r:?}");
    assert!(
        took >= Duration::from_millis(950),
        "answered after {took:?}"
    );
    c.ok(&format!("USER {}", ALICE.0));
    c.ok(&format!("PASS {}", ALICE.1));
    c.ok("QUIT");
}
