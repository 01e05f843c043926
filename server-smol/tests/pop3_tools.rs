//! End-to-end tests of the POP3 listener with fetchmail, getmail6 and curl
//! (Debian 12's packages; clients we did not write). Messages are delivered
//! with smtplib first, then fetched.
//!
//! What the clients do to a message, so that the comparisons stay exact:
//! - fetchmail (`set invisible`, `no rewrite`, delivery to an MDA) hands the
//!   MDA the message with CRLF turned into LF and nothing added.
//! - getmail6's Maildir destination writes LF lines, replaces the
//!   Return-Path field with its own `Return-Path: <sender>` (same value
//!   here) and adds `Delivered-To: unknown` after it (a POP3 retriever has
//!   no envelope recipient); `received = false` turns its timestamped
//!   `Received:` field off.
//! - curl writes the message as sent, dot-stuffing undone.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

fn opts() -> Opts {
    Opts {
        listeners: vec!["smtp", "pop3", "pop3s"],
        // No checks on receipt: getmail6 refolds a long
        // Authentication-Results field, and these tests are about POP3.
        extra: "[checks]\nspf = false\ndkim = false\ndmarc = false\n".into(),
        ..Opts::default()
    }
}

/// A message with dot lines (a lone `.`, `..`, `.text`).
fn dotted(token: &str) -> Vec<u8> {
    format!(
        "From: <sender@example.org>\r\nTo: <alice@localhost>\r\nSubject: {token}\r\n\
         Message-ID: <{token}@e2e.sansmail.test>\r\n\r\n\
         .\r\n..\r\n.leading dot of {token}\r\nplain line\r\n...\r\nlast line\r\n"
    )
    .into_bytes()
}

/// Delivers one dotted message per token and returns the stored bytes, in
/// token order (which is also POP3 message number order in a fresh INBOX).
fn deliver(site: &Site, srv: &Server, tokens: &[&str]) -> Vec<Vec<u8>> {
    let msgs: Vec<Vec<u8>> = tokens.iter().map(|t| dotted(t)).collect();
    smtplib_deliver(site, srv.addr("smtp"), ALICE.0, &msgs);
    tokens
        .iter()
        .map(|t| stored_with(site, ALICE.0, t).1)
        .collect()
}

fn sorted(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v
}

/// The files of a directory, sorted by name.
fn files_in(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).expect("read fetched file"))
        .collect()
}

fn lossy(v: &[Vec<u8>]) -> Vec<String> {
    v.iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect()
}

/// Runs fetchmail with a generated rcfile against `port`; every message
/// goes to an MDA script that writes it to `<out>/msg.N`.
/// `uidl` adds fetchmail's UIDL tracking (a server option); `keep` is the
/// retention words (`nokeep fetchall`, `keep`).
fn fetchmail(work: &Path, port: u16, ssl: bool, uidl: bool, keep: &str) -> Output {
    let home = work.join("fetchmail-home");
    let out = work.join("out");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mda = work.join("mda.sh");
    std::fs::write(
        &mda,
        format!(
            "#!/bin/sh\nn=$(ls '{o}' | wc -l)\nexec cat > '{o}/msg.'$(printf %03d \"$n\")\n",
            o = out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&mda, std::fs::Permissions::from_mode(0o755)).unwrap();
    // `sslproto ''` keeps the plain run plain (fetchmail would otherwise
    // try STLS); the certificate is self-signed, so no sslcertck.
    let tls = if ssl {
        "ssl no sslcertck"
    } else {
        "sslproto ''"
    };
    let rc = work.join("fetchmailrc");
    std::fs::write(
        &rc,
        format!(
            "set no bouncemail\nset invisible\n\
             poll 127.0.0.1 service {port} protocol pop3 auth password timeout 30{uidl}\n\
             \tuser \"{user}\" there with password \"{pass}\"\n\
             \t{tls} {keep} no rewrite\n\
             \tmda \"{mda}\"\n",
            user = ALICE.0,
            pass = ALICE.1,
            mda = mda.display(),
            uidl = if uidl { " uidl" } else { "" },
        ),
    )
    .unwrap();
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    Command::new("fetchmail")
        .arg("-f")
        .arg(&rc)
        .args(["--nosyslog", "-v"])
        // As root the lock file is /var/run/fetchmail.pid whatever
        // FETCHMAILHOME says: one per run, so that tests run in parallel.
        .arg("--pidfile")
        .arg(home.join("fetchmail.pid"))
        .env("FETCHMAILHOME", &home)
        .env("HOME", work)
        .output()
        .expect("run fetchmail")
}

#[test]
#[cfg_attr(
    not(have_fetchmail),
    ignore = "needs fetchmail (scripts/ci-deps.sh installs it)"
)]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn fetchmail_plain_and_ssl_nokeep() {
    require("fetchmail");
    let site = site_with_auth(opts(), "failure_delay_ms = 0");
    site.default_users();
    let srv = site.start();
    for (run, listener, ssl) in [("fm-plain", "pop3", false), ("fm-ssl", "pop3s", true)] {
        let tokens: Vec<String> = (1..=3).map(|i| format!("{run}-{i}")).collect();
        let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let stored = deliver(&site, &srv, &tokens);
        let work = site.dir().join(run);
        std::fs::create_dir(&work).unwrap();
        let out = fetchmail(&work, srv.port(listener), ssl, false, "nokeep fetchall");
        assert_eq!(out.status.code(), Some(0), "{run}: {}", describe(&out));
        // fetchmail -v logs the dialogue on stdout.
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for step in ["POP3> RETR 1", "POP3> DELE 3", "POP3> QUIT"] {
            assert!(log.contains(step), "{run}: no {step:?} in {log}");
        }
        if ssl {
            assert!(log.contains("Server certificate:"), "{run}: no TLS? {log}");
        } else {
            assert!(!log.contains("POP3> STLS"), "{run} used STLS: {log}");
        }
        let fetched = files_in(&work.join("out"));
        let want: Vec<Vec<u8>> = stored.iter().map(|s| crlf_to_lf(s)).collect();
        assert_eq!(
            lossy(&fetched),
            lossy(&want),
            "{run}: fetched messages differ"
        );
        assert_eq!(fetched, want, "{run}");
        // --nokeep: deleted on the server at QUIT.
        assert_eq!(
            site.inbox(ALICE.0),
            Vec::new(),
            "{run}: messages left on the server"
        );
        let mut c = RawPop3::login(srv.addr("pop3"), ALICE.0, ALICE.1);
        assert_eq!(c.ok("STAT"), "+OK 0 0");
        c.ok("QUIT");
    }
}

/// What getmail6's Maildir destination writes for a stored message.
fn getmail_expected(stored: &[u8]) -> Vec<u8> {
    let first = b"Return-Path: <sender@example.org>\r\n";
    assert!(stored.starts_with(first), "{stored:?}");
    let mut out = b"Return-Path: <sender@example.org>\nDelivered-To: unknown\n".to_vec();
    out.extend_from_slice(&crlf_to_lf(&stored[first.len()..]));
    out
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// A getmail6 setup: rcfile, getmail directory (its UIDL memory, the
/// `oldmail-*` files) and a destination Maildir.
struct Getmail {
    /// Keeps the destination alive; getmail may deliver as `nobody`.
    _dest: tempfile::TempDir,
    maildir: PathBuf,
    home: PathBuf,
    rc: PathBuf,
}

impl Getmail {
    /// `options` are the `[options]` lines besides `received = false`.
    fn new(site: &Site, run: &str, retriever: &str, port: u16, options: &str) -> Self {
        // getmail refuses to deliver as root: then it delivers as nobody,
        // into a Maildir that nobody can write.
        let dest = tempfile::Builder::new()
            .prefix("sansmail-getmail")
            .tempdir()
            .unwrap();
        let maildir = dest.path().join("Maildir");
        for sub in ["", "cur", "new", "tmp"] {
            let p = maildir.join(sub);
            std::fs::create_dir_all(&p).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        std::fs::set_permissions(dest.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let home = site.dir().join(run);
        std::fs::create_dir(&home).unwrap();
        let rc = home.join("getmailrc");
        std::fs::write(
            &rc,
            format!(
                "[retriever]\ntype = {retriever}\nserver = 127.0.0.1\nport = {port}\n\
                 username = {user}\npassword = {pass}\n\n\
                 [destination]\ntype = Maildir\npath = {path}/\n{as_user}\n\
                 [options]\n{options}\nreceived = false\nverbose = 2\n",
                user = ALICE.0,
                pass = ALICE.1,
                path = maildir.display(),
                as_user = if running_as_root() {
                    "user = nobody\n"
                } else {
                    ""
                },
            ),
        )
        .unwrap();
        Self {
            _dest: dest,
            maildir,
            home,
            rc,
        }
    }

    /// Runs getmail; panics unless it exits 0.
    fn run(&self) -> Output {
        let out = Command::new("getmail")
            .arg("--getmaildir")
            .arg(&self.home)
            .arg("--rcfile")
            .arg(&self.rc)
            .output()
            .expect("run getmail");
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        assert!(
            files_in(&self.maildir.join("tmp")).is_empty(),
            "left in tmp/"
        );
        out
    }

    /// The delivered messages, sorted by content.
    fn delivered(&self) -> Vec<Vec<u8>> {
        sorted(files_in(&self.maildir.join("new")))
    }
}

#[test]
#[cfg_attr(
    not(have_getmail),
    ignore = "needs getmail (scripts/ci-deps.sh installs it)"
)]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn getmail_plain_and_ssl_delete() {
    require("getmail");
    let site = site_with_auth(opts(), "failure_delay_ms = 0");
    site.default_users();
    let srv = site.start();
    for (run, listener, retriever) in [
        ("gm-plain", "pop3", "SimplePOP3Retriever"),
        ("gm-ssl", "pop3s", "SimplePOP3SSLRetriever"),
    ] {
        let tokens: Vec<String> = (1..=3).map(|i| format!("{run}-{i}")).collect();
        let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let stored = deliver(&site, &srv, &tokens);
        let gm = Getmail::new(
            &site,
            run,
            retriever,
            srv.port(listener),
            "read_all = true\ndelete = true",
        );
        let out = gm.run();
        let fetched = gm.delivered();
        let want = sorted(stored.iter().map(|s| getmail_expected(s)).collect());
        assert_eq!(lossy(&fetched), lossy(&want), "{run}: {}", describe(&out));
        assert_eq!(fetched, want, "{run}");
        // delete = true: gone from the server.
        assert_eq!(site.inbox(ALICE.0), Vec::new(), "{run}: left on the server");
    }
}

/// With `read_all = false` getmail fetches only messages whose UIDL it has
/// not seen: a second run fetches nothing, also after a server restart,
/// and a third only the new message.
#[test]
#[cfg_attr(
    not(have_getmail),
    ignore = "needs getmail (scripts/ci-deps.sh installs it)"
)]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn getmail_fetches_only_unseen_uidl() {
    require("getmail");
    let site = site_with_auth(opts(), "failure_delay_ms = 0");
    site.default_users();
    let srv = site.start();
    let first = deliver(&site, &srv, &["gu-1", "gu-2"]);
    let options = "read_all = false\ndelete = false";
    let gm = Getmail::new(
        &site,
        "gm-uidl",
        "SimplePOP3Retriever",
        srv.port("pop3"),
        options,
    );
    gm.run();
    let mut want: Vec<Vec<u8>> = first.iter().map(|s| getmail_expected(s)).collect();
    assert_eq!(gm.delivered(), sorted(want.clone()));
    // The port changes at restart: same getmail directory, new rcfile.
    assert!(srv.stop().success());
    let srv = site.start();
    let rc = std::fs::read_to_string(&gm.rc).unwrap();
    let old_port = rc
        .lines()
        .find_map(|l| l.strip_prefix("port = "))
        .unwrap()
        .to_owned();
    std::fs::write(
        &gm.rc,
        rc.replace(
            &format!("port = {old_port}\n"),
            &format!("port = {}\n", srv.port("pop3")),
        ),
    )
    .unwrap();
    // getmail keys its memory by server and port
    // (`oldmail-127.0.0.1-PORT-USER`): carry it over to the new port.
    let name = |port: &str| format!("oldmail-127.0.0.1-{port}-{}", ALICE.0);
    std::fs::rename(
        gm.home.join(name(&old_port)),
        gm.home.join(name(&srv.port("pop3").to_string())),
    )
    .expect("getmail's oldmail file");
    gm.run();
    assert_eq!(gm.delivered().len(), 2, "fetched again after a restart");
    let third = deliver(&site, &srv, &["gu-3"]);
    gm.run();
    want.push(getmail_expected(&third[0]));
    assert_eq!(gm.delivered(), sorted(want));
    assert_eq!(site.inbox(ALICE.0).len(), 3);
}

fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "60"])
        .args(args)
        .output()
        .expect("run curl")
}

#[test]
#[cfg_attr(not(have_curl), ignore = "needs curl (scripts/ci-deps.sh installs it)")]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn curl_pop3_stls_and_pop3s() {
    require("curl");
    let site = site_with_auth(opts(), "failure_delay_ms = 0");
    site.default_users();
    let srv = site.start();
    let stored = deliver(&site, &srv, &["curl-1", "curl-2"]);
    let user = format!("{}:{}", ALICE.0, ALICE.1);
    let pop3 = srv.port("pop3");
    let pop3s = srv.port("pop3s");
    let cases = [
        (format!("pop3://127.0.0.1:{pop3}/1"), vec![], 0),
        (format!("pop3://127.0.0.1:{pop3}/2"), vec![], 1),
        (
            format!("pop3://127.0.0.1:{pop3}/2"),
            vec!["--ssl-reqd", "-k"],
            1,
        ),
        (format!("pop3s://127.0.0.1:{pop3s}/1"), vec!["-k"], 0),
    ];
    for (url, extra, i) in &cases {
        let mut args = vec![url.as_str(), "-u", user.as_str()];
        args.extend(extra);
        let out = curl(&args);
        assert_eq!(out.status.code(), Some(0), "{url}: {}", describe(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&stored[*i]),
            "{url} {extra:?}"
        );
        assert_eq!(out.stdout, stored[*i], "{url} {extra:?}");
    }
    // No message number: LIST.
    let out = curl(&[&format!("pop3://127.0.0.1:{pop3}/"), "-u", &user]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("1 {}\r\n2 {}\r\n", stored[0].len(), stored[1].len())
    );
    // A wrong password: curl's "login denied" (67).
    let out = curl(&[
        &format!("pop3://127.0.0.1:{pop3}/1"),
        "-u",
        &format!("{}:wrong", ALICE.0),
    ]);
    assert_eq!(out.status.code(), Some(67), "{}", describe(&out));
    // DELE through curl removes message 1 at its QUIT.
    let out = curl(&[
        &format!("pop3://127.0.0.1:{pop3}/1"),
        "-u",
        &user,
        "-X",
        "DELE",
        "-I",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let left: Vec<Vec<u8>> = site.inbox(ALICE.0).into_iter().map(|(_, b)| b).collect();
    assert_eq!(left, vec![stored[1].clone()]);
}

/// fetchmail's `uidl` mode remembers the UIDL values it has seen (in
/// .fetchids): a second run fetches nothing, a third only the new message.
/// This fails if unique-ids change between sessions.
#[test]
#[cfg_attr(
    not(have_fetchmail),
    ignore = "needs fetchmail (scripts/ci-deps.sh installs it)"
)]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn fetchmail_keep_uidl_fetches_only_new_mail() {
    require("fetchmail");
    let site = site_with_auth(opts(), "failure_delay_ms = 0");
    site.default_users();
    let srv = site.start();
    let first = deliver(&site, &srv, &["fu-1", "fu-2"]);
    let work = site.dir().join("fetchmail-uidl");
    std::fs::create_dir(&work).unwrap();
    let port = srv.port("pop3");
    let out = fetchmail(&work, port, false, true, "keep");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let want: Vec<Vec<u8>> = first.iter().map(|s| crlf_to_lf(s)).collect();
    assert_eq!(files_in(&work.join("out")), want);
    // Nothing new: fetchmail's exit status 1 ("no mail").
    let out = fetchmail(&work, port, false, true, "keep");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(files_in(&work.join("out")).len(), 2);
    let third = deliver(&site, &srv, &["fu-3"]);
    let out = fetchmail(&work, port, false, true, "keep");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let mut want = want;
    want.push(crlf_to_lf(&third[0]));
    assert_eq!(files_in(&work.join("out")), want);
    // `keep`: all three are still on the server.
    assert_eq!(site.inbox(ALICE.0).len(), 3);
}
