//! `[[rules]] action = "bounce"` for a remote sender (DESIGN.md §5.1,
//! RFC 3464): the DSN goes through the outbound queue to the sender's MX
//! (a real DNS server, dnsmasq, names a scripted receiver on 127.0.0.2)
//! with the null reverse-path, as `multipart/report`, and it is never
//! sent for a null-sender message.

mod common;
mod dnsmasq;
mod outbound_sink;

use std::time::Duration;

use common::*;
use dnsmasq::Dnsmasq;
use outbound_sink::{Script, Sink};

#[test]
fn a_remote_senders_bounce_dsn_reaches_its_mx_from_the_null_sender() {
    let sink = Sink::start(&["127.0.0.2"], Script::accept());
    let dns = Dnsmasq::start(&[
        "--mx-host=remote.test,mx1.remote.test,10".into(),
        "--host-record=mx1.remote.test,127.0.0.2".into(),
    ]);
    let site = Site::new(Opts {
        extra: format!(
            "[[rules]]\nrecipient = \"bounce@localhost\"\naction = \"bounce\"\n\
             status = \"5.2.1\"\ntext = \"Mailbox disabled\"\n\n\
             [outbound]\nresolvers = [\"{}\"]\nmx_port = {}\nretry = [\"1s\"]\n",
            dns.addr, sink.port
        ),
        ..Opts::default()
    });
    site.default_users();
    let server = site.start();
    let (mut s, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    let sent = message("remote-bounce");
    let r = s
        .send_mail("someone@remote.test", "bounce@localhost", &sent)
        .unwrap();
    assert_eq!(r.0, 250, "a bounce rule accepts: {r:?}");
    let got = sink.wait_for(1, Duration::from_secs(10));
    let dsn = &got[0];
    assert_eq!(dsn.mail_line, "MAIL FROM:<>", "the null reverse-path");
    assert_eq!(dsn.rcpts, ["someone@remote.test"]);
    let text = String::from_utf8_lossy(&dsn.data).into_owned();
    // A DSN we generate carries no trace of its own.
    assert!(
        text.starts_with(
            "From: \"Mail Delivery System\" <MAILER-DAEMON@mx.sansmail.test>\r\n\
             To: <someone@remote.test>\r\n\
             Subject: Undelivered Mail Returned to Sender\r\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("Content-Type: multipart/report")
            && (text.contains("report-type=\"delivery-status\"")
                || text.contains("report-type=delivery-status")),
        "{text}"
    );
    assert!(
        text.contains(
            "Final-Recipient: rfc822; bounce@localhost\r\nAction: failed\r\nStatus: 5.2.1\r\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("Diagnostic-Code: smtp; 550 5.2.1 Mailbox disabled\r\n"),
        "{text}"
    );
    // The original header is quoted, its body is not.
    assert!(text.contains("Subject: remote-bounce\r\n"), "{text}");
    assert!(!text.contains("body of remote-bounce"), "{text}");
    assert!(
        !site.data_dir().join("mail/localhost/bounce").exists(),
        "nothing stored"
    );

    // The null sender never gets one: nothing more reaches the MX, and the
    // queue stays empty.
    let r = s
        .send_mail("", "bounce@localhost", &message("remote-bounce-null"))
        .unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    s.expect("QUIT", 221);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.received().len(), 1, "no DSN for <>");
    let out = site.run(&["queue", "list"], "");
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "queue empty");
    server.stop();
}
