//! Delivery status notifications end to end (DESIGN.md §5.2, RFC 3461,
//! RFC 3464): 5xx and expiry bounce into the local sender's INBOX, a DSN
//! never bounces, NOTIFY/ORCPT/ENVID/RET are honoured and passed on, one
//! delay notice; the bounced counter and queue gauge on /metrics.

mod common;
mod dnsmasq;
mod outbound_e2e_util;
mod outbound_sink;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{ALICE, Opts, Site, require};
use outbound_e2e_util::*;

#[test]
fn a_5xx_bounces_into_the_local_senders_inbox_and_the_queue_empties() {
    let sink = mx_sink(|r, _| {
        if r.starts_with("nobody") {
            "550 5.1.1 <nobody@remote.test>: no such user".into()
        } else {
            "250 2.1.5 OK".into()
        }
    });
    let dns = mx_dns("remote.test");
    let site = Site::new(Opts {
        listeners: vec!["smtp", "submission", "http"],
        extra: format!(
            "[outbound]\nresolvers = [\"{}\"]\nmx_port = {}\nretry = [\"1s\"]\n",
            dns.addr, sink.port
        ),
        ..Opts::default()
    });
    site.default_users();
    let server = site.start();
    let msg = message("bounce-1");
    submit_accepted(
        &server,
        "alice@localhost",
        &["nobody@remote.test", "bob@remote.test"],
        &msg,
    );
    let dsn = wait_inbox(
        &site,
        "alice@localhost",
        "Undelivered Mail Returned to Sender",
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&dsn).into_owned();
    assert!(text.starts_with("Return-Path: <>\r\n"), "{text}");
    assert!(text.contains("MAILER-DAEMON@mx.sansmail.test"), "{text}");
    assert!(
        text.contains(
            "Final-Recipient: rfc822; nobody@remote.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("Diagnostic-Code: smtp; 550 5.1.1 <nobody@remote.test>: no such user"),
        "{text}"
    );
    assert!(text.contains("Subject: bounce-1"), "original header quoted");
    assert!(
        !text.contains("bob@remote.test\r\nAction"),
        "only the failed recipient is reported"
    );
    let got = sink.wait_for(1, Duration::from_secs(5));
    assert_eq!(got[0].rcpts, ["bob@remote.test"]);
    wait_queue_empty(&site, Duration::from_secs(5));
    // GET /metrics (no token needed): one bounced recipient, queue empty
    // again (the gauge is set on every pass of the worker).
    let url = format!("http://{}/metrics", server.addr("http"));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        require("curl");
        let out = Command::new("curl").args(["-s", &url]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let bounced = text.contains("sansmail_messages_bounced_total{listener=\"outbound\"} 1\n");
        if bounced && text.contains("sansmail_queue_size 0\n") {
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(server);
}

#[test]
fn expiry_turns_a_temporary_failure_into_a_dsn() {
    let sink = mx_sink(|_, _| "421 4.4.2 busy".into());
    let dns = mx_dns("remote.test");
    let site = site(&dns, sink.port, "expire = \"2s\"\n");
    let server = site.start();
    submit_accepted(
        &server,
        "alice@localhost",
        &["bob@remote.test"],
        &message("expire-1"),
    );
    let dsn = wait_inbox(
        &site,
        "alice@localhost",
        "Action: failed",
        Duration::from_secs(15),
    );
    let text = String::from_utf8_lossy(&dsn).into_owned();
    assert!(text.contains("queue lifetime expired"), "{text}");
    assert!(text.contains("Status: 5.0.0\r\n"), "{text}");
    wait_queue_empty(&site, Duration::from_secs(5));
    drop(server);
}

#[test]
fn a_bounce_of_a_bounce_never_happens() {
    // Everything to bounce.test is refused; its sender is remote too: the
    // first DSN goes to the same MX from <> and is refused; no third.
    let sink = mx_sink(|_, _| "550 5.7.1 go away".into());
    let dns = mx_dns("bounce.test");
    let site = site(&dns, sink.port, "");
    let server = site.start();
    submit_accepted(
        &server,
        "someone@bounce.test",
        &["x@bounce.test"],
        &message("loop-1"),
    );
    // Two refused attempts: the message (from someone@) and its DSN (from <>).
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = |server: &common::Server| {
        server
            .output_text()
            .lines()
            .filter(|l| l.contains("outbound: failed"))
            .count()
    };
    while log(&server) < 2 {
        assert!(Instant::now() < deadline, "{}", server.output_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(log(&server), 2, "{}", server.output_text());
    wait_queue_empty(&site, Duration::from_secs(2));
    drop(server);
}

/// Sends with smtplib's low-level calls so that each recipient gets its
/// own RFC 3461 parameters.
fn submit_dsn(addr: std::net::SocketAddr, mail: &[&str], rcpts: &[(&str, &[&str])], msg: &[u8]) {
    let rcpt_code: Vec<String> = rcpts
        .iter()
        .map(|(to, opts)| format!("print(s.rcpt({to:?}, {opts:?})[0])"))
        .collect();
    let script = format!(
        "import smtplib, sys\n\
         s = smtplib.SMTP({host:?}, {port}, timeout=20)\n\
         s.ehlo('client.test')\n\
         s.login({user:?}, {pw:?})\n\
         print(s.mail('alice@localhost', {mail:?})[0])\n\
         {rcpts}\n\
         print(s.data(sys.stdin.buffer.read())[0])\n\
         s.quit()\n",
        host = addr.ip().to_string(),
        port = addr.port(),
        user = ALICE.0,
        pw = ALICE.1,
        rcpts = rcpt_code.join("\n"),
    );
    let out = common::python_stdin(&script, &[], msg);
    let codes: Vec<String> = out.lines().map(str::to_owned).collect();
    let mut want = vec!["250".to_owned()];
    want.extend(rcpts.iter().map(|_| "250".to_owned()));
    want.push("250".to_owned());
    assert_eq!(codes, want);
}

#[test]
fn notify_orcpt_envid_and_ret_are_honoured_and_passed_on() {
    let sink = mx_sink(|r, _| {
        if r.starts_with("ok@") {
            "250 2.1.5 OK".into()
        } else {
            "550 5.1.1 unknown user".into()
        }
    });
    let dns = mx_dns("remote.test");
    let site = site(&dns, sink.port, "");
    let server = site.start();
    submit_dsn(
        server.addr("submission"),
        &["ENVID=env-42", "RET=HDRS"],
        &[
            (
                "ok@remote.test",
                &["NOTIFY=SUCCESS", "ORCPT=rfc822;orig+40remote.test"],
            ),
            ("never@remote.test", &["NOTIFY=NEVER"]),
            ("fail@remote.test", &[]),
        ],
        &message("notify-1"),
    );
    let got = sink.wait_for(1, Duration::from_secs(10));
    let t = &got[0];
    assert!(t.mail_line.contains(" RET=HDRS"), "{}", t.mail_line);
    assert!(t.mail_line.contains(" ENVID=env-42"), "{}", t.mail_line);
    assert_eq!(
        t.rcpt_lines[0],
        "RCPT TO:<ok@remote.test> NOTIFY=SUCCESS ORCPT=rfc822;orig+40remote.test"
    );
    assert_eq!(t.rcpt_lines[1], "RCPT TO:<never@remote.test> NOTIFY=NEVER");
    assert_eq!(t.rcpt_lines[2], "RCPT TO:<fail@remote.test>");
    let delivered = wait_inbox(
        &site,
        "alice@localhost",
        "Action: delivered",
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&delivered).into_owned();
    assert!(text.contains("Original-Envelope-Id: env-42\r\n"), "{text}");
    assert!(
        text.contains(
            "Original-Recipient: rfc822;orig+40remote.test\r\n\
             Final-Recipient: rfc822; ok@remote.test\r\nAction: delivered\r\nStatus: 2.0.0\r\n"
        ),
        "{text}"
    );
    let failed = wait_inbox(
        &site,
        "alice@localhost",
        "Action: failed",
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&failed).into_owned();
    assert!(
        text.contains(
            "Final-Recipient: rfc822; fail@remote.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        ),
        "{text}"
    );
    wait_queue_empty(&site, Duration::from_secs(5));
    // NOTIFY=NEVER: never reported, in no DSN.
    let all: Vec<String> = site
        .inbox("alice@localhost")
        .into_iter()
        .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
        .collect();
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(
        all.iter().all(|m| !m.contains("never@remote.test")),
        "{all:?}"
    );
    drop(server);
}

#[test]
fn a_delay_notice_goes_out_once_after_delay_notice() {
    let sink = mx_sink(|_, _| "451 4.2.1 mailbox busy".into());
    let dns = mx_dns("remote.test");
    let site = site(&dns, sink.port, "delay_notice = \"1s\"\n");
    let server = site.start();
    submit_accepted(
        &server,
        "alice@localhost",
        &["bob@remote.test"],
        &message("delay-1"),
    );
    let dsn = wait_inbox(
        &site,
        "alice@localhost",
        "Action: delayed",
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&dsn).into_owned();
    assert!(text.contains("Status: 4.2.1\r\n"), "{text}");
    assert!(text.contains("Subject: Delayed Mail"), "{text}");
    // Several more attempts: still one notice, and the message still queued.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(site.inbox("alice@localhost").len(), 1);
    let out = String::from_utf8_lossy(&site.run(&["queue", "list"], "").stdout).into_owned();
    assert!(
        out.contains("bob@remote.test") && out.contains("deferred"),
        "{out}"
    );
    drop(server);
}
