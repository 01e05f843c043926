//! Checks on receipt through the real binary (DESIGN.md §5.3): Python's
//! smtplib connects to `[smtp]` from a chosen loopback address (127.0.0.5
//! is the one spf.test allows), dnsmasq serves the SPF and DMARC records;
//! the stored message starts with our Authentication-Results, DMARC reject
//! is a 550 5.7.1 at the end of DATA, quarantine lands in Junk, and a
//! forged result claiming our host name is removed.

mod common;
mod dnsmasq;

use common::{Opts, Site};
use dnsmasq::Dnsmasq;

const HOST: &str = "mx.sansmail.test";

/// Sends over `[smtp]` from `source` (an address in 127.0.0.0/8); prints
/// what smtplib reports: `{}` when accepted, else `ERR <code> <text>`.
fn send_from(addr: std::net::SocketAddr, source: &str, from: &str, msg: &[u8]) -> String {
    let script = r#"
import smtplib, sys
host, port, source, frm = sys.argv[1:5]
msg = sys.stdin.buffer.read()
s = smtplib.SMTP(host, int(port), timeout=20, source_address=(source, 0))
s.ehlo('client.spf.test')
try:
    print(s.sendmail(frm, ['alice@localhost'], msg))
except smtplib.SMTPDataError as e:
    print('ERR', e.smtp_code, e.smtp_error.decode())
s.quit()
"#;
    let args = [
        addr.ip().to_string(),
        addr.port().to_string(),
        source.to_owned(),
        from.to_owned(),
    ];
    common::python_stdin(script, &args, msg)
}

fn message(from: &str, token: &str, extra: &str) -> Vec<u8> {
    format!(
        "{extra}From: <{from}>\r\nTo: <alice@localhost>\r\nSubject: {token}\r\n\
         Message-ID: <{token}@spf.test>\r\n\r\nbody\r\n"
    )
    .into_bytes()
}

fn setup() -> (Dnsmasq, Site) {
    let dns = Dnsmasq::start(&[
        "--txt-record=spf.test,v=spf1 ip4:127.0.0.5 -all".into(),
        "--txt-record=reject.test,v=spf1 ip4:127.0.0.5 -all".into(),
        "--txt-record=_dmarc.reject.test,v=DMARC1; p=reject".into(),
        "--txt-record=quar.test,v=spf1 ip4:127.0.0.5 -all".into(),
        "--txt-record=_dmarc.quar.test,v=DMARC1; p=quarantine".into(),
    ]);
    let site = Site::new(Opts {
        listeners: vec!["smtp"],
        extra: format!("[outbound]\nresolvers = [\"{}\"]\n", dns.addr),
        ..Opts::default()
    });
    site.default_users();
    (dns, site)
}

/// The stored file's Authentication-Results line (after Return-Path).
fn auth_results(stored: &[u8]) -> String {
    let text = String::from_utf8_lossy(stored).into_owned();
    let mut lines = text.split("\r\n");
    assert!(
        lines.next().unwrap().starts_with("Return-Path: <"),
        "{text}"
    );
    let ar = lines.next().unwrap().to_owned();
    assert!(
        lines.next().unwrap().starts_with("Received: from "),
        "Authentication-Results comes before Received: {text}"
    );
    ar
}

#[test]
fn spf_pass_and_fail_by_client_address_and_forged_results_removed() {
    let (_dns, site) = setup();
    let server = site.start();
    let forged = format!(
        "Authentication-Results: {HOST}; spf=pass smtp.mailfrom=x@spf.test\r\n\
         Authentication-Results: other.example; spf=pass\r\n"
    );
    let sent = message("a@spf.test", "spf-pass", &forged);
    assert_eq!(
        send_from(server.addr("smtp"), "127.0.0.5", "a@spf.test", &sent),
        "{}"
    );
    let stored = site.delivered_with("alice@localhost", "spf-pass");
    let ar = auth_results(&stored);
    assert!(
        ar.starts_with(&format!(
            "Authentication-Results: {HOST}; spf=pass smtp.mailfrom=spf.test; dkim=none"
        )),
        "{ar}"
    );
    let text = String::from_utf8_lossy(&stored).into_owned();
    assert_eq!(
        text.matches(&format!("Authentication-Results: {HOST};"))
            .count(),
        1,
        "the forged result is gone: {text}"
    );
    assert!(
        text.contains("Authentication-Results: other.example; spf=pass\r\n"),
        "{text}"
    );
    // The rest is byte-exact after the forged field.
    assert!(stored.ends_with(&sent[forged.find("Authentication-Results: other").unwrap()..]));

    assert_eq!(
        send_from(
            server.addr("smtp"),
            "127.0.0.1",
            "a@spf.test",
            &message("a@spf.test", "spf-fail", "")
        ),
        "{}"
    );
    let stored = site.delivered_with("alice@localhost", "spf-fail");
    let ar = auth_results(&stored);
    assert!(
        ar.starts_with(&format!(
            "Authentication-Results: {HOST}; spf=fail smtp.mailfrom=spf.test"
        )),
        "{ar}"
    );
    drop(server);
}

#[test]
fn dmarc_reject_is_550_and_quarantine_goes_to_junk() {
    let (_dns, site) = setup();
    let server = site.start();
    let r = send_from(
        server.addr("smtp"),
        "127.0.0.1",
        "x@reject.test",
        &message("x@reject.test", "dmarc-reject", ""),
    );
    assert!(r.starts_with("ERR 550 5.7.1 "), "{r}");
    site.assert_not_delivered("alice@localhost", "dmarc-reject");
    // From the allowed address it passes (SPF aligned).
    assert_eq!(
        send_from(
            server.addr("smtp"),
            "127.0.0.5",
            "x@reject.test",
            &message("x@reject.test", "dmarc-pass", "")
        ),
        "{}"
    );
    let stored = site.delivered_with("alice@localhost", "dmarc-pass");
    assert!(auth_results(&stored).ends_with("dmarc=pass header.from=reject.test"));

    assert_eq!(
        send_from(
            server.addr("smtp"),
            "127.0.0.1",
            "x@quar.test",
            &message("x@quar.test", "dmarc-quarantine", "")
        ),
        "{}"
    );
    site.assert_not_delivered("alice@localhost", "dmarc-quarantine");
    let junk = site.data_dir().join("mail/localhost/alice/.Junk/new");
    let files: Vec<_> = std::fs::read_dir(&junk)
        .unwrap_or_else(|e| panic!("{}: {e}", junk.display()))
        .flatten()
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    assert_eq!(files.len(), 1);
    let ar = auth_results(&files[0]);
    assert!(ar.ends_with("dmarc=fail header.from=quar.test"), "{ar}");
    drop(server);
}
