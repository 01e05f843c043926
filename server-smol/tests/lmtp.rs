//! The `[lmtp]` listener (RFC 2033, docs/DESIGN.md §5.4) on the real binary:
//! per-recipient replies after DATA by raw socket, and behind a real
//! Postfix (`virtual_transport = lmtp:inet:...`, a private instance with
//! its own config and queue directories on loopback) as a homelab runs it.

mod common;
mod pipeline_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use pipeline_support::*;

/// Recipients at hooks.test go to a Redis that is not running: each gets
/// its own 451 after DATA while the others are delivered.
fn site() -> Site {
    let site = Site::new(Opts {
        listeners: vec!["lmtp"],
        extra: format!(
            "[[routes]]\nrecipient = \"*@hooks.test\"\nto = [\"incoming\"]\n\n\
             [handlers.incoming]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:{}\"\nlist = \"l\"\n",
            free_port()
        ),
        ..Opts::default()
    });
    site.default_users();
    site
}

#[test]
fn one_reply_per_accepted_recipient_each_its_own_result() {
    let site = site();
    let server = site.start();
    let mut s = RawSmtp::connect(server.addr("lmtp"));
    // RFC 2033 §4.1: LHLO, not EHLO/HELO; no AUTH, no STARTTLS.
    s.expect("EHLO client.sansmail.test", 500);
    let r = s.expect("LHLO client.sansmail.test", 250);
    assert!(
        !r.1.iter()
            .any(|l| l.starts_with("AUTH") || l.starts_with("STARTTLS")),
        "{r:?}"
    );
    s.expect("MAIL FROM:<sender@example.org>", 250);
    s.expect("RCPT TO:<alice@localhost>", 250);
    s.expect("RCPT TO:<down@hooks.test>", 250);
    let r = s.expect("RCPT TO:<nobody@localhost>", 550);
    assert!(r.1[0].starts_with("5.1.1 "), "{r:?}");
    // Local recipients only.
    let r = s.expect("RCPT TO:<someone@example.com>", 550);
    assert_eq!(
        r.1,
        vec!["5.1.2 <someone@example.com>: Recipient domain is not local"]
    );
    s.expect("RCPT TO:<bob@localhost>", 250);
    s.expect("DATA", 354);
    let sent = message("lmtp-raw");
    s.send(&dot_stuff(&sent)).unwrap();
    let replies: Vec<Reply> = (0..3).map(|_| s.reply().unwrap()).collect();
    assert_eq!(replies[0].0, 250, "{replies:?}");
    assert!(
        replies[0].1[0].starts_with("2.0.0 <alice@localhost> OK"),
        "{replies:?}"
    );
    assert_eq!(replies[1].0, 451, "{replies:?}");
    assert_eq!(
        replies[1].1,
        vec!["4.3.0 Handler unavailable, try again later"]
    );
    assert_eq!(replies[2].0, 250, "{replies:?}");
    assert!(
        replies[2].1[0].starts_with("2.0.0 <bob@localhost> OK"),
        "{replies:?}"
    );
    // Like SMTP, LMTP adds its Received: field.
    for who in [ALICE.0, BOB.0] {
        let stored = site.delivered_with(who, "lmtp-raw");
        assert_stored(&stored, "sender@example.org", &sent);
        let text = String::from_utf8_lossy(&stored);
        assert!(
            text.contains("by mx.sansmail.test (sansmail) with LMTP id "),
            "{text}"
        );
    }
    s.expect("QUIT", 221);
    server.stop();
}

#[test]
fn a_full_mailbox_fails_only_its_own_recipient() {
    // `extra` lands inside the generated [limits] table.
    let site = Site::new(Opts {
        listeners: vec!["lmtp"],
        extra: "quota_messages = 1\n".into(),
        ..Opts::default()
    });
    site.default_users();
    let server = site.start();
    let mut s = RawSmtp::connect(server.addr("lmtp"));
    s.expect("LHLO client.sansmail.test", 250);
    s.expect("MAIL FROM:<sender@example.org>", 250);
    s.expect("RCPT TO:<bob@localhost>", 250);
    s.expect("DATA", 354);
    s.send(&dot_stuff(&message("fill-bob"))).unwrap();
    assert_eq!(s.reply().unwrap().0, 250);

    s.expect("MAIL FROM:<sender@example.org>", 250);
    s.expect("RCPT TO:<bob@localhost>", 250);
    s.expect("RCPT TO:<alice@localhost>", 250);
    s.expect("DATA", 354);
    s.send(&dot_stuff(&message("quota-split"))).unwrap();
    let bob = s.reply().unwrap();
    let alice = s.reply().unwrap();
    assert_eq!(
        bob,
        (552, vec!["5.2.2 <bob@localhost>: Mailbox full".to_owned()])
    );
    assert_eq!(alice.0, 250, "{alice:?}");
    site.delivered_with(ALICE.0, "quota-split");
    site.assert_not_delivered(BOB.0, "quota-split");
    s.expect("QUIT", 221);
    server.stop();
}

#[test]
fn catch_all_accepts_any_domain_over_lmtp() {
    let site = Site::new(Opts {
        listeners: vec!["lmtp"],
        extra: "[testing]\ncatch_all = true\n".into(),
        ..Opts::default()
    });
    let server = site.start();
    let mut s = RawSmtp::connect(server.addr("lmtp"));
    s.expect("LHLO client.sansmail.test", 250);
    s.expect("MAIL FROM:<sender@example.org>", 250);
    s.expect("RCPT TO:<new@any.example>", 250);
    s.expect("DATA", 354);
    s.send(&dot_stuff(&message("lmtp-catch"))).unwrap();
    let r = s.reply().unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    assert_stored(
        &site.delivered_with("new@any.example", "lmtp-catch"),
        "sender@example.org",
        &message("lmtp-catch"),
    );
    s.expect("QUIT", 221);
    server.stop();
}

/// A private Postfix instance; stopped on drop.
struct Postfix {
    config: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Postfix {
    fn start(smtp_port: u16, lmtp_port: u16) -> Postfix {
        require("postfix");
        let dir = tempfile::Builder::new()
            .prefix("sansmail-postfix")
            .tempdir()
            .unwrap();
        let root = dir.path();
        // Postfix daemons drop to the `postfix` user: the tree must be traversable.
        chmod(root, "755");
        for sub in ["etc", "queue", "data"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        let st = Command::new("chown")
            .arg("postfix")
            .arg(root.join("data"))
            .status()
            .unwrap();
        assert!(st.success(), "chown postfix data");
        let main_cf = format!(
            "compatibility_level = 3.6\n\
             queue_directory = {root}/queue\n\
             data_directory = {root}/data\n\
             maillog_file = {root}/maillog\n\
             maillog_file_prefixes = {root}\n\
             myhostname = relay.sansmail.test\n\
             mydestination =\n\
             inet_interfaces = 127.0.0.1\n\
             inet_protocols = ipv4\n\
             mynetworks = 127.0.0.0/8\n\
             virtual_mailbox_domains = localhost, hooks.test\n\
             virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}\n\
             smtpd_reject_unlisted_recipient = no\n\
             alias_maps =\n\
             alias_database =\n\
             smtputf8_enable = no\n",
            root = root.display()
        );
        std::fs::write(root.join("etc/main.cf"), main_cf).unwrap();
        // The services a loopback relay needs, none chrooted.
        let services = [
            format!("127.0.0.1:{smtp_port} inet n - n - - smtpd"),
            "pickup fifo n - n 60 1 pickup".into(),
            "cleanup unix n - n - 0 cleanup".into(),
            "qmgr unix n - n 300 1 qmgr".into(),
            "rewrite unix - - n - - trivial-rewrite".into(),
            "bounce unix - - n - 0 bounce".into(),
            "defer unix - - n - 0 bounce".into(),
            "trace unix - - n - 0 bounce".into(),
            "verify unix - - n - 1 verify".into(),
            "flush unix n - n 1000? 0 flush".into(),
            "proxymap unix - - n - - proxymap".into(),
            "smtp unix - - n - - smtp".into(),
            "relay unix - - n - - smtp".into(),
            "error unix - - n - - error".into(),
            "retry unix - - n - - error".into(),
            "discard unix - - n - - discard".into(),
            "lmtp unix - - n - - lmtp".into(),
            "anvil unix - - n - 1 anvil".into(),
            "scache unix - - n - 1 scache".into(),
            "showq unix n - n - - showq".into(),
            "postlog unix-dgram n - n - 1 postlogd".into(),
        ];
        std::fs::write(root.join("etc/master.cf"), services.join("\n") + "\n").unwrap();
        let config = root.join("etc");
        let out = Command::new("postfix")
            .arg("-c")
            .arg(&config)
            .arg("start")
            .output()
            .unwrap();
        let postfix = Postfix { config, _dir: dir };
        assert!(
            out.status.success(),
            "postfix start failed: {}\n{}",
            describe(&out),
            postfix.log()
        );
        let up = wait_for(Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", smtp_port)).ok()
        });
        assert!(
            up.is_some(),
            "postfix smtpd did not listen:\n{}",
            postfix.log()
        );
        postfix
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.config.parent().unwrap().join("maillog")).unwrap_or_default()
    }

    /// `postqueue -j`: one JSON object per queued message.
    fn queue(&self) -> Vec<serde_json::Value> {
        let out = Command::new("postqueue")
            .arg("-c")
            .arg(&self.config)
            .arg("-j")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(&self.config)
            .arg("stop")
            .output();
    }
}

fn chmod(path: &Path, mode: &str) {
    let st = Command::new("chmod").arg(mode).arg(path).status().unwrap();
    assert!(st.success());
}

#[test]
fn behind_postfix_virtual_transport_lmtp() {
    let site = site();
    site.user_add("postmaster@localhost", "pm-secret");
    let server = site.start();
    let smtp_port = free_port();
    let postfix = Postfix::start(smtp_port, server.port("lmtp"));

    let mut s = RawSmtp::connect(std::net::SocketAddr::from(([127, 0, 0, 1], smtp_port)));
    s.expect("EHLO client.sansmail.test", 250);
    s.expect("MAIL FROM:<postmaster@localhost>", 250);
    s.expect("RCPT TO:<alice@localhost>", 250);
    s.expect("RCPT TO:<nobody@localhost>", 250);
    s.expect("RCPT TO:<down@hooks.test>", 250);
    s.expect("DATA", 354);
    let sent = message("via-postfix");
    s.send(&dot_stuff(&sent)).unwrap();
    let r = s.reply().unwrap();
    assert_eq!(r.0, 250, "postfix queued it: {r:?}");
    s.expect("QUIT", 221);

    // alice: delivered through LMTP, our Received: on top of Postfix's.
    let stored = wait_for(Duration::from_secs(30), || {
        site.inbox(ALICE.0).into_iter().next().map(|(_, b)| b)
    })
    .unwrap_or_else(|| {
        panic!(
            "nothing delivered to alice; postfix log:\n{}",
            postfix.log()
        )
    });
    let text = String::from_utf8_lossy(&stored).into_owned();
    let ours = text
        .find("by mx.sansmail.test (sansmail) with LMTP id ")
        .expect(&text);
    let theirs = text.find("by relay.sansmail.test (Postfix)").expect(&text);
    assert!(ours < theirs, "{text}");
    assert!(
        text.starts_with("Return-Path: <postmaster@localhost>\r\n"),
        "{text}"
    );
    // Postfix's cleanup adds the Date: the test message lacks; the body
    // arrives byte for byte (dot-stuffing undone twice).
    assert!(text.contains("\r\nSubject: via-postfix\r\n"), "{text}");
    assert!(
        text.ends_with("\r\n\r\nbody of via-postfix\r\n.leading dot\r\nend\r\n"),
        "{text}"
    );

    // nobody: refused at RCPT (550 5.1.1), so Postfix bounced it to the
    // sender, delivered to postmaster through LMTP from <>.
    let bounce = wait_for(Duration::from_secs(30), || {
        site.inbox("postmaster@localhost")
            .into_iter()
            .next()
            .map(|(_, b)| b)
    })
    .unwrap_or_else(|| panic!("no bounce for postmaster; postfix log:\n{}", postfix.log()));
    let bounce = String::from_utf8_lossy(&bounce);
    assert!(bounce.starts_with("Return-Path: <>\r\n"), "{bounce}");
    assert!(bounce.contains("<nobody@localhost>"), "{bounce}");
    assert!(bounce.contains("5.1.1"), "{bounce}");
    assert!(!bounce.contains("down@hooks.test"), "{bounce}");

    // down@hooks.test: its own 451 after DATA, so Postfix keeps it deferred.
    let queued = wait_for(Duration::from_secs(30), || {
        postfix.queue().into_iter().find(|m| {
            m["recipients"].as_array().is_some_and(|r| {
                r.iter().any(|r| {
                    r["address"] == "down@hooks.test"
                        && r["delay_reason"]
                            .as_str()
                            .is_some_and(|d| d.contains("451 4.3.0 Handler unavailable"))
                })
            })
        })
    });
    assert!(
        queued.is_some(),
        "down@hooks.test not deferred: {:?}\n{}",
        postfix.queue(),
        postfix.log()
    );
    assert_eq!(site.inbox(ALICE.0).len(), 1, "delivered once");
    server.stop();
}
