//! `[[rules]]`, `[[routes]]` and `[testing] catch_all` on the real binary
//! over raw SMTP (docs/DESIGN.md §5.1, §5.6, §5.7): exact reply codes and what
//! is (not) stored.

mod common;
mod pipeline_support;

use base64::Engine;
use common::*;

const RULES: &str = r#"
[[rules]]
recipient = "reject@localhost"
action = "reject"
code = 550
status = "5.1.1"
text = "User unknown"

[[rules]]
recipient = "tempfail@localhost"
action = "tempfail"

[[rules]]
recipient = "bounce@localhost"
action = "bounce"
status = "5.2.1"
text = "Mailbox disabled"

[[rules]]
recipient = "DISCARD@localhost"
action = "discard"

[[rules]]
recipient = "bob@localhost"
action = "accept"

[[rules]]
sender = "spammer@*"
action = "reject"
code = 554
status = "5.7.1"
text = "Go away"

[[rules]]
sender = ""
recipient = "nonull@localhost"
action = "reject"
text = "No bounces here"

[[rules]]
recipient = "*@chaos.test"
action = "reject"
code = 550
status = "5.7.0"
probability = 0.5

[[routes]]
recipient = "*@routed.test"
to = ["local"]

[[routes]]
recipient = "*@void.test"
to = ["discard"]
"#;

fn site(extra: &str) -> Site {
    let site = Site::new(Opts {
        extra: extra.to_owned(),
        ..Opts::default()
    });
    site.default_users();
    site
}

fn auth_plain(s: &mut RawSmtp, user: &str, pass: &str) {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"));
    s.expect(&format!("AUTH PLAIN {token}"), 235);
}

fn account_dir(site: &Site, address: &str) -> std::path::PathBuf {
    let (local, domain) = address.rsplit_once('@').unwrap();
    site.data_dir().join("mail").join(domain).join(local)
}

#[test]
fn each_rule_action_answers_and_stores_as_configured() {
    let site = site(RULES);
    let server = site.start();
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("smtp"));

    s.expect("MAIL FROM:<sender@example.org>", 250);
    let r = s.expect("RCPT TO:<reject@localhost>", 550);
    assert_eq!(r.1, vec!["5.1.1 User unknown"]);
    let r = s.expect("RCPT TO:<tempfail@localhost>", 451);
    assert_eq!(
        r.1,
        vec!["4.7.1 Recipient temporarily rejected, try again later"]
    );
    // An accepted recipient next to a discarded one: stored once, for it only.
    s.expect("RCPT TO:<alice@localhost>", 250);
    s.expect("RCPT TO:<discard@LOCALHOST>", 250);
    s.expect("DATA", 354);
    s.send(&dot_stuff(&message("rule-mixed"))).unwrap();
    let r = s.reply().unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    assert_stored(
        &site.delivered_with(ALICE.0, "rule-mixed"),
        "sender@example.org",
        &message("rule-mixed"),
    );
    assert!(!account_dir(&site, "discard@localhost").exists());

    // Discard alone: 250 at RCPT and at the end of data, nothing stored.
    s.expect("MAIL FROM:<sender@example.org>", 250);
    s.expect("RCPT TO:<discard@localhost>", 250);
    s.expect("DATA", 354);
    s.send(&dot_stuff(&message("rule-discard"))).unwrap();
    assert_eq!(s.reply().unwrap().0, 250);
    site.assert_not_delivered(ALICE.0, "rule-discard");
    site.assert_not_delivered(BOB.0, "rule-discard");

    // The sender glob rejects everyone but bob, whom an earlier `accept` covers.
    s.expect("MAIL FROM:<spammer@bad.example>", 250);
    let r = s.expect("RCPT TO:<alice@localhost>", 554);
    assert_eq!(r.1, vec!["5.7.1 Go away"]);
    s.expect("RCPT TO:<bob@localhost>", 250);
    s.expect("DATA", 354);
    s.send(&dot_stuff(&message("rule-accept"))).unwrap();
    assert_eq!(s.reply().unwrap().0, 250);
    site.delivered_with(BOB.0, "rule-accept");

    // `sender = ""` matches the null reverse-path only.
    s.expect("MAIL FROM:<>", 250);
    let r = s.expect("RCPT TO:<nonull@localhost>", 550);
    assert_eq!(r.1, vec!["5.7.1 No bounces here"]);
    s.expect("RSET", 250);
    s.expect("MAIL FROM:<someone@example.org>", 250);
    let r = s.expect("RCPT TO:<nonull@localhost>", 550);
    assert_eq!(
        r.1[0],
        "5.1.1 <nonull@localhost>: Recipient address rejected: User unknown"
    );
    s.expect("QUIT", 221);
    server.stop();
}

#[test]
fn bounce_accepts_stores_nothing_and_sends_a_dsn_to_a_local_sender() {
    let site = site(RULES);
    let server = site.start();
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    let r = s
        .send_mail(
            "alice@localhost",
            "bounce@localhost",
            &message("rule-bounce"),
        )
        .unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    assert!(!account_dir(&site, "bounce@localhost").exists());
    let inbox = site.inbox(ALICE.0);
    assert_eq!(inbox.len(), 1, "one DSN in alice's INBOX");
    let dsn = String::from_utf8(inbox[0].1.clone()).unwrap();
    assert!(dsn.starts_with("Return-Path: <>\r\n"), "{dsn}");
    assert!(
        dsn.contains("Subject: Undelivered Mail Returned to Sender\r\n"),
        "{dsn}"
    );
    assert!(
        dsn.contains("report-type=\"delivery-status\"")
            || dsn.contains("report-type=delivery-status"),
        "{dsn}"
    );
    assert!(
        dsn.contains(
            "Final-Recipient: rfc822; bounce@localhost\r\nAction: failed\r\nStatus: 5.2.1\r\n"
        ),
        "{dsn}"
    );
    assert!(
        dsn.contains("Diagnostic-Code: smtp; 550 5.2.1 Mailbox disabled\r\n"),
        "{dsn}"
    );
    // The original header is quoted (text/rfc822-headers), its body is not.
    assert!(dsn.contains("Subject: rule-bounce\r\n"), "{dsn}");
    assert!(!dsn.contains("body of rule-bounce"), "{dsn}");

    // A bounce for the null sender sends nothing (a bounce never bounces).
    let r = s
        .send_mail("", "bounce@localhost", &message("rule-bounce-null"))
        .unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    assert_eq!(site.inbox(ALICE.0).len(), 1);
    server.stop();
}

#[test]
fn probability_half_rejects_between_60_and_140_of_200() {
    let site = site(RULES);
    let server = site.start();
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    let mut rejected = 0;
    let mut relay_denied = 0;
    for i in 0..200 {
        if i % 50 == 0 {
            s.expect("RSET", 250);
            s.expect("MAIL FROM:<sender@example.org>", 250);
        }
        let r = s.cmd(&format!("RCPT TO:<u{i}@chaos.test>")).unwrap();
        match r.0 {
            550 => {
                assert_eq!(r.1, vec!["5.7.0 Recipient rejected"]);
                rejected += 1;
            }
            // When the rule does not apply, routing refuses the relay.
            554 => relay_denied += 1,
            other => panic!("unexpected reply {other} {r:?}"),
        }
    }
    assert_eq!(rejected + relay_denied, 200);
    assert!((60..=140).contains(&rejected), "{rejected} of 200 rejected");
    server.stop();
}

#[test]
fn routes_and_the_default_route() {
    let site = site(RULES);
    site.user_add("sam@routed.test", "sam-secret");
    let server = site.start();
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    // A routed domain is accepted on [smtp] though it is not local; the
    // `local` route needs an account.
    let r = s
        .send_mail(
            "sender@example.org",
            "sam@routed.test",
            &message("route-local"),
        )
        .unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    assert_stored(
        &site.delivered_with("sam@routed.test", "route-local"),
        "sender@example.org",
        &message("route-local"),
    );
    s.expect("MAIL FROM:<sender@example.org>", 250);
    let r = s.expect("RCPT TO:<nobody@routed.test>", 550);
    assert_eq!(
        r.1[0],
        "5.1.1 <nobody@routed.test>: Recipient address rejected: User unknown"
    );
    // `discard` needs no account.
    s.expect("RCPT TO:<anyone@void.test>", 250);
    s.expect("DATA", 354);
    s.send(&dot_stuff(&message("route-void"))).unwrap();
    assert_eq!(s.reply().unwrap().0, 250);
    assert!(!site.data_dir().join("mail/void.test").exists());
    // No route, not local, not authenticated: relaying is denied.
    s.expect("MAIL FROM:<sender@example.org>", 250);
    let r = s.expect("RCPT TO:<someone@example.com>", 554);
    assert_eq!(
        r.1,
        vec!["5.7.1 <someone@example.com>: Relay access denied"]
    );
    s.expect("QUIT", 221);

    // Authenticated: the default route is `outbound` (the queue; tests in
    // outbound_e2e.rs follow the message out).
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("submission"));
    auth_plain(&mut s, ALICE.0, ALICE.1);
    s.expect("MAIL FROM:<alice@localhost>", 250);
    s.expect("RCPT TO:<someone@example.com>", 250);
    s.expect("RCPT TO:<bob@localhost>", 250);
    s.expect("QUIT", 221);
    server.stop();
}

#[test]
fn catch_all_accepts_any_domain_over_smtp_and_submission() {
    let site = site("[testing]\ncatch_all = true\n");
    let server = site.start();
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    let r = s
        .send_mail(
            "sender@example.org",
            "Anyone@Anywhere.test",
            &message("catch-smtp"),
        )
        .unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    assert_stored(
        &site.delivered_with("anyone@anywhere.test", "catch-smtp"),
        "sender@example.org",
        &message("catch-smtp"),
    );
    s.expect("QUIT", 221);

    // The account created on first delivery has the address as password;
    // catch_all does not lift AUTH on submission.
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("submission"));
    s.expect("MAIL FROM:<anyone@anywhere.test>", 530);
    auth_plain(&mut s, "Anyone@Anywhere.test", "Anyone@Anywhere.test");
    let r = s
        .send_mail(
            "anyone@anywhere.test",
            "x@elsewhere.example",
            &message("catch-sub"),
        )
        .unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    // Delivered locally, never outbound.
    assert_stored(
        &site.delivered_with("x@elsewhere.example", "catch-sub"),
        "anyone@anywhere.test",
        &message("catch-sub"),
    );
    s.expect("QUIT", 221);
    server.stop();
}
