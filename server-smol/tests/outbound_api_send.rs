//! `POST /api/v1/send` with a raw message (`?from=&to=`) is treated like
//! submission (DESIGN.md §5.2, RFC 6409 §8.3/§8.6): a `Message-ID:` and a
//! `Date:` the message lacks are added in front of it, the same in the
//! local copy and in what the remote MX (dnsmasq names a scripted
//! receiver) gets; a message that has both is passed on byte for byte.

mod common;
mod dnsmasq;
mod outbound_sink;

use std::time::Duration;

use common::*;
use dnsmasq::Dnsmasq;
use outbound_sink::{Script, Sink};

/// The first header line of `data`, which must be `name: ...`.
fn field<'a>(data: &'a [u8], name: &str) -> &'a str {
    let text = std::str::from_utf8(data).expect("UTF-8");
    let line = text.split("\r\n").next().unwrap();
    assert!(
        line.starts_with(&format!("{name}: ")),
        "{name}: expected first, got {text:?}"
    );
    line
}

#[test]
fn raw_send_gets_message_id_and_date_when_missing_and_nothing_otherwise() {
    let sink = Sink::start(&["127.0.0.2"], Script::accept());
    let dns = Dnsmasq::start(&[
        "--mx-host=remote.test,mx1.remote.test,10".into(),
        "--host-record=mx1.remote.test,127.0.0.2".into(),
    ]);
    let site = Site::new(Opts {
        listeners: vec!["smtp", "http"],
        extra: format!(
            "[outbound]\nresolvers = [\"{}\"]\nmx_port = {}\nretry = [\"1s\"]\n\n\
             [dkim]\nsign = false\n",
            dns.addr, sink.port
        ),
        ..Opts::default()
    });
    site.default_users();
    let server = site.start();
    let api = Api::new(&site, &server);

    let bare = b"From: app@localhost\r\nTo: bob@localhost, carol@remote.test\r\nSubject: bare\r\n\r\nno id, no date\r\n";
    let r = api.request(
        "POST",
        "/api/v1/send?from=app%40localhost&to=bob%40localhost,carol%40remote.test",
        Some(("message/rfc822", bare)),
    );
    assert_eq!(r.status, 202, "{r:?}");
    let got = sink.wait_for(1, Duration::from_secs(10));
    assert_eq!(got[0].rcpts, ["carol@remote.test"]);
    let remote = &got[0].data;
    // Message-ID: <unique@hostname>, then Date:, then the exact bytes.
    let id = field(remote, "Message-ID");
    assert!(
        id.starts_with("Message-ID: <") && id.ends_with("@mx.sansmail.test>"),
        "{id}"
    );
    let rest = &remote[id.len() + 2..];
    let date = field(rest, "Date");
    assert!(
        mail_parser::MessageParser::default()
            .parse(format!("{date}\r\n\r\n").as_bytes())
            .and_then(|m| m.date().cloned())
            .is_some(),
        "an RFC 5322 date: {date}"
    );
    assert_eq!(&rest[date.len() + 2..], bare, "then the message as sent");
    // The local copy: our trace, then the same fields and bytes.
    let local = site.delivered_with(BOB.0, "bare");
    assert!(local.starts_with(b"Return-Path: <app@localhost>\r\nReceived: from api by "));
    assert!(local.ends_with(remote), "same Message-ID and Date locally");

    // With both fields present nothing is added.
    let full = b"From: app@localhost\r\nTo: carol@remote.test\r\nSubject: full\r\n\
Message-ID: <full@app.test>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nbody\r\n";
    let r = api.request(
        "POST",
        "/api/v1/send?from=app%40localhost&to=carol%40remote.test",
        Some(("message/rfc822", full)),
    );
    assert_eq!(r.status, 202, "{r:?}");
    let got = sink.wait_for(2, Duration::from_secs(10));
    assert_eq!(got[1].data, full);
    server.stop();
}
