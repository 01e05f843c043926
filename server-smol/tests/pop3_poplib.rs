//! End-to-end tests of the POP3 listener with Python's poplib (a client we
//! did not write). Messages are delivered with smtplib, or put straight
//! into the Maildir `new/` folder like a local MDA would, then fetched.
//!
//! poplib hands back lines without their CRLF and with dot-stuffing undone;
//! the script re-joins them with CRLF (every line CRLF-terminated), so a
//! stored message that ends in CRLF must come back byte for byte, and one
//! whose last line lacks the CRLF must come back with exactly one CRLF
//! added (RFC 1939 §3: a multi-line response is CRLF-terminated lines).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;

/// SMTP to deliver, POP3 plain + STLS and POP3 implicit TLS.
fn opts() -> Opts {
    Opts {
        listeners: vec!["smtp", "pop3", "pop3s"],
        ..Opts::default()
    }
}

fn site(plaintext: &'static str) -> Site {
    let site = site_with_auth(
        Opts {
            plaintext,
            ..opts()
        },
        "failure_delay_ms = 0",
    );
    site.default_users();
    site
}

/// A message whose body has lines that start with dots (a lone `.`, `..`,
/// `.text`), so dot-stuffing is exercised in both directions.
fn dotted(token: &str) -> Vec<u8> {
    format!(
        "From: <sender@example.org>\r\nTo: <alice@localhost>\r\nSubject: {token}\r\n\
         Message-ID: <{token}@e2e.sansmail.test>\r\n\r\n\
         .\r\n..\r\n.leading dot of {token}\r\n...three\r\nline 5\r\n . space dot\r\nlast line\r\n"
    )
    .into_bytes()
}

/// A message larger than the server's 64 KiB read chunk, with dot lines
/// all through it so some fall on chunk boundaries.
fn big_dotted(token: &str) -> Vec<u8> {
    let mut m =
        format!("From: <sender@example.org>\r\nTo: <alice@localhost>\r\nSubject: {token}\r\n\r\n")
            .into_bytes();
    for i in 0..4000 {
        match i % 3 {
            0 => m.extend_from_slice(b".\r\n"),
            1 => m.extend_from_slice(format!(".{i} dotted line of some length\r\n").as_bytes()),
            _ => m.extend_from_slice(format!("plain line {i} xxxxxxxxxxxxxxxxxxxx\r\n").as_bytes()),
        }
    }
    m
}

/// Runs `pop3_client.py ARGS`.
fn poplib(args: &[&str]) -> BTreeMap<String, String> {
    results(&python("pop3_client.py", args))
}

/// The first `n` body lines of a CRLF message together with its header and
/// the empty line (what TOP msg n returns, RFC 1939 §7).
fn top_of(message: &[u8], n: usize) -> Vec<u8> {
    let split = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .unwrap_or(message.len());
    let mut out = message[..split].to_vec();
    let mut rest = &message[split..];
    for _ in 0..n {
        match rest.windows(2).position(|w| w == b"\r\n") {
            Some(p) => {
                out.extend_from_slice(&rest[..p + 2]);
                rest = &rest[p + 2..];
            }
            None => {
                out.extend_from_slice(rest);
                break;
            }
        }
    }
    out
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Asserts the UIDL listing `1 U|2 U|...` has `count` Dovecot-style
/// `%08X%08X` values (UID then UIDVALIDITY): increasing UIDs, one
/// UIDVALIDITY. Returns the unique-ids in order.
fn check_uidl(listing: &str, count: usize) -> Vec<String> {
    let lines: Vec<&str> = listing.split('|').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), count, "UIDL listing {listing:?}");
    let mut ids = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let (n, id) = l.split_once(' ').expect("msg uid");
        assert_eq!(n, (i + 1).to_string(), "{listing:?}");
        assert_eq!(id.len(), 16, "{id:?}");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
            "not upper-case hex: {id:?}"
        );
        ids.push(id.to_owned());
    }
    let uid = |id: &str| u32::from_str_radix(&id[..8], 16).expect("hex");
    for w in ids.windows(2) {
        assert!(uid(&w[0]) < uid(&w[1]), "UIDs not increasing: {ids:?}");
        assert_eq!(w[0][8..], w[1][8..], "UIDVALIDITY differs: {ids:?}");
    }
    ids
}

/// The message number whose retrieved file equals `expected`.
fn number_of(dir: &Path, count: usize, expected: &[u8]) -> usize {
    let found: Vec<usize> = (1..=count)
        .filter(|n| read(dir, &format!("retr-{n}.eml")) == expected)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one retrieved message equal to {:?}; matches {found:?}",
        String::from_utf8_lossy(&expected[..expected.len().min(200)])
    );
    found[0]
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn poplib_retrieves_delivered_bytes_exactly() {
    let site = site("loopback");
    // Files put into new/ by hand: one whose last line has no CRLF and one
    // with bare LF line ends (as mutt writes them). Picked up at start.
    let nocrlf =
        b"From: <mutt@example.org>\r\nSubject: mutt-nocrlf\r\n\r\n.first\r\n..second\r\n.".to_vec();
    let lf = b"From: <mutt@example.org>\nSubject: mutt-lf\n\n.dot line\nplain\n".to_vec();
    drop_into_new(&site.data_dir(), ALICE.0, "1700000000.M1P1.mutt", &nocrlf);
    drop_into_new(&site.data_dir(), ALICE.0, "1700000001.M2P1.mutt", &lf);
    let srv = site.start();
    let sent = [dotted("pl-one"), dotted("pl-two"), big_dotted("pl-big")];
    smtplib_deliver(&site, srv.addr("smtp"), ALICE.0, &sent);
    let stored: Vec<(std::path::PathBuf, Vec<u8>)> = site.inbox(ALICE.0);
    assert_eq!(stored.len(), 5, "{stored:?}");
    let out = site.dir().join("fetched");
    std::fs::create_dir(&out).unwrap();
    let port = srv.port("pop3").to_string();
    let r = poplib(&[
        "fetch",
        "plain",
        "127.0.0.1",
        &port,
        ALICE.0,
        ALICE.1,
        out.to_str().unwrap(),
        "2",
    ]);
    assert!(r["welcome"].starts_with("+OK "), "{r:#?}");
    let capa: Vec<&str> = r["capa"].split(' ').collect();
    for c in [
        "PIPELINING",
        "RESP-CODES",
        "SASL",
        "STLS",
        "TOP",
        "UIDL",
        "USER",
    ] {
        assert!(capa.contains(&c), "CAPA lacks {c}: {capa:?}");
    }
    assert!(r["user"].starts_with("+OK"), "{r:#?}");
    assert!(r["pass"].starts_with("+OK"), "{r:#?}");
    let (count, octets) = r["stat"].split_once(' ').unwrap();
    assert_eq!(count, "5");
    let count = 5;
    check_uidl(&r["uidl"], count);

    // The SMTP-delivered messages: exactly the stored file, and LIST gives
    // the exact size.
    for token in ["pl-one", "pl-two", "pl-big"] {
        let (_, bytes) = stored_with(&site, ALICE.0, token);
        let n = number_of(&out, count, &bytes);
        assert_eq!(r[&format!("list.{n}")], format!("+OK {n} {}", bytes.len()));
        assert_eq!(
            read(&out, &format!("top-{n}.eml")),
            top_of(&bytes, 2),
            "TOP {n} 2 of {token}"
        );
        assert!(r[&format!("retr.{n}")].starts_with("+OK"));
        assert!(r[&format!("top.{n}")].starts_with("+OK"));
    }
    // The hand-delivered ones: one CRLF added to the last line; LF lines
    // sent as CRLF lines.
    let mut want = nocrlf.clone();
    want.extend_from_slice(b"\r\n");
    let n = number_of(&out, count, &want);
    assert_eq!(
        read(&out, &format!("top-{n}.eml")),
        b"From: <mutt@example.org>\r\nSubject: mutt-nocrlf\r\n\r\n.first\r\n..second\r\n"
    );
    let n_lf = number_of(
        &out,
        count,
        b"From: <mutt@example.org>\r\nSubject: mutt-lf\r\n\r\n.dot line\r\nplain\r\n",
    );
    assert_ne!(n, n_lf);
    assert_eq!(
        read(&out, &format!("top-{n_lf}.eml")),
        b"From: <mutt@example.org>\r\nSubject: mutt-lf\r\n\r\n.dot line\r\nplain\r\n"
    );
    // STAT's octets are the sum of the LIST sizes.
    let listed: u64 = r["list"]
        .split('|')
        .map(|l| l.split_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(octets.parse::<u64>().unwrap(), listed, "{r:#?}");
    for n in 1..=count {
        let uidl = &r[&format!("uidl.{n}")];
        let from_listing = r["uidl"].split('|').nth(n - 1).unwrap();
        assert_eq!(uidl, &format!("+OK {from_listing}"));
    }
    assert!(r["noop"].starts_with("+OK"), "{r:#?}");
    assert!(r["quit"].starts_with("+OK"), "{r:#?}");
    // Retrieving deleted nothing and changed nothing.
    let after: Vec<Vec<u8>> = site.inbox(ALICE.0).into_iter().map(|(_, b)| b).collect();
    let mut before: Vec<Vec<u8>> = stored.into_iter().map(|(_, b)| b).collect();
    let mut after_sorted = after;
    before.sort();
    after_sorted.sort();
    assert_eq!(before, after_sorted);
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn poplib_stls_and_pop3s() {
    let site = site("loopback");
    let srv = site.start();
    let sent = [dotted("tls-one"), dotted("tls-two")];
    smtplib_deliver(&site, srv.addr("smtp"), ALICE.0, &sent);
    let one = stored_with(&site, ALICE.0, "tls-one").1;
    let two = stored_with(&site, ALICE.0, "tls-two").1;
    for (kind, listener) in [("stls", "pop3"), ("ssl", "pop3s")] {
        let out = site.dir().join(kind);
        std::fs::create_dir(&out).unwrap();
        let port = srv.port(listener).to_string();
        let r = poplib(&[
            "fetch",
            kind,
            "127.0.0.1",
            &port,
            ALICE.0,
            ALICE.1,
            out.to_str().unwrap(),
            "0",
        ]);
        if kind == "stls" {
            assert!(
                r["capa.before_stls"].split(' ').any(|c| c == "STLS"),
                "{r:#?}"
            );
            assert!(r["stls"].starts_with("+OK"), "{r:#?}");
        }
        // RFC 2595 §4: STLS is not offered once TLS is active.
        let capa: Vec<&str> = r["capa"].split(' ').collect();
        assert!(!capa.contains(&"STLS"), "{kind}: {capa:?}");
        assert!(capa.contains(&"USER"), "{kind}: {capa:?}");
        assert!(r["pass"].starts_with("+OK"), "{kind}: {r:#?}");
        assert_eq!(r["stat"], format!("2 {}", one.len() + two.len()));
        assert_eq!(read(&out, "retr-1.eml"), one, "{kind}");
        assert_eq!(read(&out, "retr-2.eml"), two, "{kind}");
        assert_eq!(read(&out, "top-1.eml"), top_of(&one, 0), "{kind}");
        assert!(r["quit"].starts_with("+OK"), "{kind}: {r:#?}");
    }
    assert_eq!(site.inbox(ALICE.0).len(), 2);
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn poplib_dele_rset_drop_and_quit() {
    let site = site("loopback");
    let srv = site.start();
    let tokens = ["del-1", "del-2", "del-3", "del-4"];
    let sent: Vec<Vec<u8>> = tokens.iter().map(|t| dotted(t)).collect();
    smtplib_deliver(&site, srv.addr("smtp"), ALICE.0, &sent);
    let paths: Vec<_> = tokens
        .iter()
        .map(|t| stored_with(&site, ALICE.0, t))
        .collect();
    let port = srv.port("pop3").to_string();
    let r = poplib(&["dele", "127.0.0.1", &port, ALICE.0, ALICE.1]);
    let size = |i: usize| paths[i].1.len();
    // Session 1: DELE 1, the message is hidden; RSET brings it back.
    assert_eq!(r["s1.stat"], "4");
    assert!(r["s1.dele"].starts_with("+OK"), "{r:#?}");
    assert_eq!(
        r["s1.stat_after_dele"],
        format!("3 {}", size(1) + size(2) + size(3))
    );
    assert_eq!(
        r["s1.list_after_dele"],
        format!("2 {}|3 {}|4 {}", size(1), size(2), size(3))
    );
    for k in [
        "s1.retr_deleted",
        "s1.top_deleted",
        "s1.list_deleted",
        "s1.uidl_deleted",
        "s1.dele_again",
    ] {
        assert!(r[k].starts_with("-ERR"), "{k}: {r:#?}");
    }
    assert!(r["s1.rset"].starts_with("+OK"), "{r:#?}");
    assert_eq!(
        r["s1.list_after_rset"],
        format!("1 {}|2 {}|3 {}|4 {}", size(0), size(1), size(2), size(3))
    );
    assert!(r["s1.quit"].starts_with("+OK"), "{r:#?}");
    // Session 2 dropped the connection after DELE: nothing removed.
    assert!(r["s2.dele"].starts_with("+OK"), "{r:#?}");
    assert_eq!(r["s3.stat"], "4", "{r:#?}");
    // Session 3 deleted the first and the last message and QUIT.
    assert!(r["s3.dele_first"].starts_with("+OK"), "{r:#?}");
    assert!(r["s3.dele_last"].starts_with("+OK"), "{r:#?}");
    assert!(r["s3.quit"].starts_with("+OK"), "{r:#?}");
    let before = check_uidl(&r["s3.uidl"], 4);
    // Session 4 sees the two others, renumbered, with the same unique-ids.
    assert_eq!(r["s4.stat"], "2");
    assert_eq!(
        r["s4.uidl"],
        format!("1 {}|2 {}", before[1], before[2]),
        "{r:#?}"
    );
    assert!(r["s4.retr_gone"].starts_with("-ERR"), "{r:#?}");
    // The files are gone from the Maildir; the others are untouched.
    for (i, (p, bytes)) in paths.iter().enumerate() {
        let left: Vec<_> = site
            .inbox(ALICE.0)
            .into_iter()
            .filter(|(_, b)| b == bytes)
            .collect();
        if i == 0 || i == 3 {
            assert!(left.is_empty(), "{} still there", p.display());
            assert!(!p.exists(), "{} still there", p.display());
        } else {
            assert_eq!(left.len(), 1, "{} lost", p.display());
        }
    }
    assert_eq!(site.inbox(ALICE.0).len(), 2);
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn uidl_stable_across_sessions_and_restart() {
    let site = site("loopback");
    let srv = site.start();
    let sent = [dotted("uidl-1"), dotted("uidl-2"), dotted("uidl-3")];
    smtplib_deliver(&site, srv.addr("smtp"), ALICE.0, &sent);
    let port = srv.port("pop3").to_string();
    let r = poplib(&["uidl", "127.0.0.1", &port, ALICE.0, ALICE.1]);
    let first = check_uidl(&r["a.uidl"], 3);
    assert_eq!(r["a.uidl"], r["b.uidl"]);
    let st = srv.stop();
    assert!(st.success(), "{st:?}");

    let srv = site.start();
    let port = srv.port("pop3").to_string();
    let r = poplib(&["uidl", "127.0.0.1", &port, ALICE.0, ALICE.1]);
    assert_eq!(
        check_uidl(&r["a.uidl"], 3),
        first,
        "UIDL changed at restart"
    );
    assert_eq!(r["b.uidl"], r["a.uidl"]);
    // A new message gets a new, larger unique-id; the old ones stay.
    smtplib_deliver(&site, srv.addr("smtp"), ALICE.0, &[dotted("uidl-4")]);
    let r = poplib(&["uidl", "127.0.0.1", &port, ALICE.0, ALICE.1]);
    let now = check_uidl(&r["a.uidl"], 4);
    assert_eq!(now[..3], first[..]);
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn second_session_gets_in_use() {
    let site = site("loopback");
    let srv = site.start();
    smtplib_deliver(&site, srv.addr("smtp"), ALICE.0, &[dotted("lock-1")]);
    let port = srv.port("pop3").to_string();
    let r = poplib(&["inuse", "127.0.0.1", &port, ALICE.0, ALICE.1]);
    assert_eq!(r["a.stat"], "1");
    assert!(r["b.user"].starts_with("+OK"), "{r:#?}");
    // RFC 3206 §3 / RFC 2449 §8.1.1.
    assert!(r["b.pass"].starts_with("-ERR [IN-USE]"), "{r:#?}");
    // Still unauthenticated (or closed): never in the TRANSACTION state.
    assert!(
        r["b.stat"].starts_with("-ERR") || r["b.stat"].starts_with("closed"),
        "{r:#?}"
    );
    assert!(r["a.noop"].starts_with("+OK"), "{r:#?}");
    assert!(r["a.quit"].starts_with("+OK"), "{r:#?}");
    assert!(r["c.pass"].starts_with("+OK"), "{r:#?}");
    assert_eq!(r["c.stat"], "1");
    assert!(r["c.quit"].starts_with("+OK"), "{r:#?}");
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn wrong_password_gets_auth_code() {
    let site = site("loopback");
    let srv = site.start();
    let port = srv.port("pop3").to_string();
    let r = poplib(&["badpass", "127.0.0.1", &port, ALICE.0, ALICE.1]);
    // RFC 3206 §4 / RFC 2449 §8.1.2.
    assert!(r["wrong.pass"].starts_with("-ERR [AUTH]"), "{r:#?}");
    assert!(r["wrong.stat"].starts_with("-ERR"), "{r:#?}");
    assert!(r["retry.user"].starts_with("+OK"), "{r:#?}");
    assert!(r["retry.pass"].starts_with("+OK"), "{r:#?}");
    assert_eq!(r["retry.stat"], "0");
    assert!(r["unknown.pass"].starts_with("-ERR [AUTH]"), "{r:#?}");
    assert!(r["unknown.auth_plain"].starts_with("-ERR [AUTH]"), "{r:#?}");
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn plaintext_never_refuses_login_before_stls() {
    let site = site("never");
    let srv = site.start();
    smtplib_deliver(&site, srv.addr("smtp"), ALICE.0, &[dotted("never-1")]);
    let port = srv.port("pop3").to_string();
    let r = poplib(&["never", "127.0.0.1", &port, ALICE.0, ALICE.1]);
    let pre: Vec<&str> = r["pre.capa"].split(' ').collect();
    assert!(pre.contains(&"STLS"), "{pre:?}");
    assert!(!pre.contains(&"USER"), "USER offered before STLS: {pre:?}");
    assert!(!pre.contains(&"SASL"), "SASL offered before STLS: {pre:?}");
    assert!(r["pre.user"].starts_with("-ERR [AUTH]"), "{r:#?}");
    assert!(r["pre.pass"].starts_with("-ERR"), "{r:#?}");
    assert!(r["pre.auth"].starts_with("-ERR [AUTH]"), "{r:#?}");
    assert!(r["pre.stat"].starts_with("-ERR"), "{r:#?}");
    assert!(r["stls"].starts_with("+OK"), "{r:#?}");
    let post: Vec<&str> = r["post.capa"].split(' ').collect();
    assert!(post.contains(&"USER"), "{post:?}");
    assert!(post.contains(&"SASL"), "{post:?}");
    assert!(!post.contains(&"STLS"), "{post:?}");
    assert!(r["post.pass"].starts_with("+OK"), "{r:#?}");
    assert_eq!(r["post.stat"], "1");
    assert!(r["post.quit"].starts_with("+OK"), "{r:#?}");
    // Implicit TLS (pop3s): USER/PASS allowed at once.
    let out = site.dir().join("never-ssl");
    std::fs::create_dir(&out).unwrap();
    let port = srv.port("pop3s").to_string();
    let r = poplib(&[
        "fetch",
        "ssl",
        "127.0.0.1",
        &port,
        ALICE.0,
        ALICE.1,
        out.to_str().unwrap(),
        "0",
    ]);
    assert!(r["capa"].split(' ').any(|c| c == "USER"), "{r:#?}");
    assert!(r["pass"].starts_with("+OK"), "{r:#?}");
    assert_eq!(
        read(&out, "retr-1.eml"),
        stored_with(&site, ALICE.0, "never-1").1
    );
}
