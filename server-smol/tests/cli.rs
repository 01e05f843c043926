//! The command-line contract of docs/DESIGN.md §4.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

/// AUTH PLAIN on the submission port through smtplib.
fn auth_code(srv: &Server, user: &str, pass: &str) -> u16 {
    let port = srv.port("submission").to_string();
    let out = python("auth_check.py", &["127.0.0.1", &port, user, pass]);
    let r = results(&out);
    r["auth"]
        .split(' ')
        .next()
        .and_then(|c| c.parse().ok())
        .expect("auth code")
}

fn stdout_lines(out: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Exactly one line on stderr, a failure exit status, and no panic.
fn assert_one_line_error(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "expected failure: {}", describe(out));
    assert_ne!(
        out.status.code(),
        Some(101),
        "exit 101 looks like a panic: {}",
        describe(out)
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{}", describe(out));
    assert_eq!(
        err.trim_end_matches('\n').lines().count(),
        1,
        "stderr must be one line: {}",
        describe(out)
    );
    err
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn user_add_twice_passwd_and_auth() {
    let site = Site::new(Opts {
        listeners: vec!["submission"],
        ..Opts::default()
    });
    site.user_add(ALICE.0, ALICE.1);
    let srv = site.start();
    // While the server runs: a second add fails and changes nothing.
    let out = site.run(
        &["user", "add", ALICE.0, "--password-stdin"],
        "another-password\n",
    );
    assert!(
        !out.status.success(),
        "second user add succeeded: {}",
        describe(&out)
    );
    let c = auth_code(&srv, ALICE.0, ALICE.1);
    assert_eq!(c, 235);
    assert_eq!(auth_code(&srv, ALICE.0, "another-password"), 535);
    // The trailing newline is not part of the password.
    assert_eq!(auth_code(&srv, ALICE.0, &format!("{}\n", ALICE.1)), 535);

    let out = site.run(
        &["user", "passwd", ALICE.0, "--password-stdin"],
        "new secret ü\n",
    );
    assert!(out.status.success(), "user passwd: {}", describe(&out));
    assert_eq!(auth_code(&srv, ALICE.0, "new secret ü"), 235);
    assert_eq!(auth_code(&srv, ALICE.0, ALICE.1), 535);

    let out = site.run(
        &["user", "passwd", "nobody@localhost", "--password-stdin"],
        "x\n",
    );
    assert!(
        !out.status.success(),
        "passwd of an unknown user: {}",
        describe(&out)
    );
}

#[test]
fn user_list_and_del() {
    let site = Site::new(Opts::default());
    for u in ["carol@localhost", ALICE.0, BOB.0] {
        site.user_add(u, "pw");
    }
    let out = site.run(&["user", "list"], "");
    assert!(out.status.success(), "{}", describe(&out));
    let mut lines = stdout_lines(&out);
    lines.sort();
    assert_eq!(lines, [ALICE.0, BOB.0, "carol@localhost"]);

    let out = site.run(&["user", "del", "carol@localhost"], "");
    assert!(out.status.success(), "{}", describe(&out));
    let out = site.run(&["user", "del", "carol@localhost"], "");
    assert!(!out.status.success(), "deleting twice: {}", describe(&out));
    let out = site.run(&["user", "del", "unknown@localhost"], "");
    assert!(
        !out.status.success(),
        "deleting unknown: {}",
        describe(&out)
    );

    let mut lines = stdout_lines(&site.run(&["user", "list"], ""));
    lines.sort();
    assert_eq!(lines, [ALICE.0, BOB.0]);
}

#[test]
fn config_before_after_and_from_env() {
    let site = Site::new(Opts {
        listeners: vec!["smtp"],
        ..Opts::default()
    });
    site.user_add(ALICE.0, ALICE.1);
    let cfg = site.config();
    let list = |c: std::process::Command| {
        let out = run_with_stdin(c, "");
        assert!(out.status.success(), "{}", describe(&out));
        stdout_lines(&out)
    };
    let mut c = site.cmd();
    c.arg("--config").arg(&cfg).args(["user", "list"]);
    assert_eq!(list(c), [ALICE.0]);
    let mut c = site.cmd();
    c.args(["user", "list", "--config"]).arg(&cfg);
    assert_eq!(list(c), [ALICE.0]);
    let mut c = site.cmd();
    c.env("SANSMAIL_CONFIG", &cfg).args(["user", "list"]);
    assert_eq!(list(c), [ALICE.0]);

    // serve: --config before the subcommand, and from the environment. A
    // port-0 listener proves the file was read (the defaults use 2525).
    let mut c = site.cmd();
    c.arg("--config").arg(&cfg).arg("serve");
    let srv = Server::spawn(c, &["smtp"]);
    let mut client = RawSmtp::connect_raw(srv.addr("smtp")).unwrap();
    let greeting = client.reply().unwrap();
    assert_eq!(greeting.0, 220);
    assert!(
        greeting.1[0].starts_with("mx.sansmail.test"),
        "greeting names the hostname: {greeting:?}"
    );
    assert_eq!(srv.stop().code(), Some(0));

    let mut c = site.cmd();
    c.env("SANSMAIL_CONFIG", &cfg).arg("serve");
    let srv = Server::spawn(c, &["smtp"]);
    assert_ne!(srv.port("smtp"), 2525);
    assert_eq!(srv.stop().code(), Some(0));
}

#[test]
fn user_added_while_running_receives_at_once() {
    let site = Site::new(Opts {
        listeners: vec!["smtp"],
        ..Opts::default()
    });
    site.user_add(ALICE.0, ALICE.1);
    let mut srv = site.start();
    let (mut c, _) = RawSmtp::connect_ehlo(srv.addr("smtp"));
    c.expect("MAIL FROM:<sender@example.org>", 250);
    let r = c.cmd("RCPT TO:<dave@localhost>").unwrap();
    assert_eq!(r.0, 550, "dave does not exist yet: {r:?}");
    c.expect("RSET", 250);

    site.user_add("dave@localhost", "dave-pw");
    assert!(srv.is_running(), "server died after user add");
    // The same session sees the new account.
    let m = message("dave-token");
    let r = c
        .send_mail("sender@example.org", "dave@localhost", &m)
        .unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    c.expect("QUIT", 221);
    assert_stored(
        &site.delivered_with("dave@localhost", "dave-token"),
        "sender@example.org",
        &m,
    );
    assert!(srv.is_running());
}

#[test]
fn bad_config_is_one_line() {
    let site = Site::new(Opts::default());
    let bad = site.dir().join("bad.toml");
    for (name, text) in [
        ("syntax", "data_dir = \"data\"\n[smtp\nlisten = 3\n"),
        ("type", "data_dir = 5\n"),
        ("plaintext", "[auth]\nplaintext = \"sometimes\"\n"),
        ("address", "[smtp]\nlisten = [\"not-an-address\"]\n"),
    ] {
        std::fs::write(&bad, text).unwrap();
        let mut c = site.cmd();
        c.arg("serve").arg("--config").arg(&bad);
        let out = run_with_stdin(c, "");
        eprintln!("bad config case {name}");
        let _ = assert_one_line_error(&out);
    }
    let mut c = site.cmd();
    c.arg("serve")
        .arg("--config")
        .arg(site.dir().join("missing.toml"));
    let _ = assert_one_line_error(&run_with_stdin(c, ""));
}

#[test]
fn busy_port_is_one_line_naming_the_address() {
    let site = Site::new(Opts::default());
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let text = site.opts.toml().replacen(
        "listen = [\"127.0.0.1:0\"]",
        &format!("listen = [\"{addr}\"]"),
        1,
    );
    assert!(text.contains(&addr));
    std::fs::write(site.config(), text).unwrap();
    let mut c = site.cmd();
    c.arg("serve").arg("--config").arg(site.config());
    let out = run_with_stdin(c, "");
    let err = assert_one_line_error(&out);
    assert!(err.contains(&addr), "error does not name {addr}: {err}");
}

#[test]
fn sigterm_with_idle_sessions_exits_zero() {
    let site = Site::new(Opts::default());
    site.user_add(ALICE.0, ALICE.1);
    let srv = site.start();
    let mut idle = vec![RawSmtp::connect(srv.addr("smtp"))];
    let (c, _) = RawSmtp::connect_ehlo(srv.addr("smtp"));
    idle.push(c);
    let (mut c, _) = RawSmtp::connect_ehlo(srv.addr("submission"));
    c.expect("NOOP", 250);
    idle.push(c);
    let (mut c, _) = RawSmtp::connect_ehlo(srv.addr("smtp"));
    c.expect("MAIL FROM:<sender@example.org>", 250);
    idle.push(c);
    let started = std::time::Instant::now();
    let st = srv.stop();
    assert_eq!(st.code(), Some(0), "exit status after SIGTERM");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The sessions were closed (possibly after a 421).
    for mut c in idle {
        let mut rest = Vec::new();
        let _ = c.reader.read_to_end(&mut rest);
        let text = String::from_utf8_lossy(&rest);
        assert!(
            rest.is_empty() || text.starts_with("421"),
            "after shutdown: {text:?}"
        );
    }
}

fn pem_files(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            pem_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "pem") {
            out.insert(p.clone(), std::fs::read(&p).unwrap());
        }
    }
}

#[test]
fn generated_certificate_reused_after_restart() {
    let site = Site::new(Opts {
        listeners: vec!["smtps"],
        ..Opts::default()
    });
    let srv = site.start();
    assert_eq!(srv.stop().code(), Some(0));
    let mut first = BTreeMap::new();
    pem_files(&site.data_dir(), &mut first);
    assert!(
        first.len() >= 2,
        "expected certificate and key PEM files under data_dir: {:?}",
        first.keys()
    );
    assert!(
        first
            .values()
            .any(|b| contains(b, b"-----BEGIN CERTIFICATE-----"))
    );
    assert!(first.values().any(|b| contains(b, b"PRIVATE KEY-----")));

    let srv = site.start();
    let mut second = BTreeMap::new();
    pem_files(&site.data_dir(), &mut second);
    assert_eq!(first, second, "certificate or key changed after restart");
    if have("openssl") {
        // The served certificate is the stored one.
        let out = std::process::Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &srv.addr("smtps").to_string(),
                "-showcerts",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let served = String::from_utf8_lossy(&out.stdout);
        let begin = served
            .find("-----BEGIN CERTIFICATE-----")
            .expect("served certificate");
        let end = served[begin..].find("-----END CERTIFICATE-----").unwrap() + begin;
        let served_b64: String = served[begin + 27..end].split_whitespace().collect();
        let stored_b64: Vec<String> = first
            .values()
            .filter_map(|b| {
                let s = String::from_utf8_lossy(b);
                let b = s.find("-----BEGIN CERTIFICATE-----")?;
                let e = s[b..].find("-----END CERTIFICATE-----")? + b;
                Some(s[b + 27..e].split_whitespace().collect())
            })
            .collect();
        assert!(
            stored_b64.contains(&served_b64),
            "the served certificate is not the stored one"
        );
    }
    assert_eq!(srv.stop().code(), Some(0));
}
