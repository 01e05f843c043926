//! Outbound delivery end to end (DESIGN.md §5.2): the real binary takes a
//! message on submission (Python's smtplib, authenticated), queues it, and
//! its worker delivers it to the MX hosts dnsmasq names (MX order,
//! failover, retries), to a smarthost over verified STARTTLS with AUTH,
//! DKIM-signed, and nothing acknowledged is lost across kill -9. DSNs:
//! outbound_dsn_e2e.rs.

mod common;
mod dnsmasq;
mod outbound_e2e_util;
mod outbound_sink;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Opts, Site, describe};
use dnsmasq::Dnsmasq;
use outbound_e2e_util::*;
use outbound_sink::{Script, Sink};

#[test]
fn submission_to_mixed_recipients_is_delivered_byte_exact_to_the_mx_and_locally() {
    let sink = Sink::start(&["127.0.0.2"], Script::accept());
    let dns = mx_dns("remote.test");
    // Unsigned here, so the bytes can be compared whole (signing: below).
    let site = site(&dns, sink.port, "[dkim]\nsign = false\n");
    let server = site.start();
    let msg = message("mixed-1");
    let refused = submit(
        server.addr("submission"),
        "alice@localhost",
        &["bob@remote.test", "bob@localhost", "carol@remote.test"],
        &msg,
    );
    assert_eq!(refused, "{}");
    // Local copy: Return-Path + Received + the exact bytes.
    let local = site.delivered_with("bob@localhost", "mixed-1");
    common::assert_stored(&local, "alice@localhost", &msg);
    // Remote copy: one transaction for both remote recipients.
    let got = sink.wait_for(1, Duration::from_secs(10));
    assert_eq!(got.len(), 1);
    let t = &got[0];
    assert_eq!(t.from, "alice@localhost");
    assert_eq!(t.rcpts, ["bob@remote.test", "carol@remote.test"]);
    assert_eq!(t.mail_line.split(' ').nth(2), Some("BODY=8BITMIME"));
    let (received, rest) = split_received(&t.data);
    let received = String::from_utf8_lossy(received);
    assert!(
        received.contains("by mx.sansmail.test (sansmail) with ESMTPA id "),
        "{received}"
    );
    assert_eq!(rest, &msg[..], "the MX got exactly the submitted bytes");
    assert!(!common::contains(&t.data, b"Return-Path:"));
    wait_queue_empty(&site, Duration::from_secs(5));
    drop(server);
}

#[test]
fn submission_adds_message_id_and_date_when_missing() {
    let sink = Sink::start(&["127.0.0.2"], Script::accept());
    let dns = mx_dns("remote.test");
    let site = site(&dns, sink.port, "");
    let server = site.start();
    let msg = b"From: <alice@localhost>\r\nTo: <x@remote.test>\r\nSubject: bare\r\n\r\nhi\r\n";
    submit_accepted(&server, "", &["x@remote.test"], msg);
    let got = sink.wait_for(1, Duration::from_secs(10));
    // MAIL FROM:<> after AUTH is allowed.
    assert_eq!(got[0].from, "");
    let (_, rest) = split_received(&got[0].data);
    let text = String::from_utf8_lossy(rest).into_owned();
    let mut lines = text.split("\r\n");
    let id = lines.next().unwrap();
    assert!(
        id.starts_with("Message-ID: <") && id.ends_with("@mx.sansmail.test>"),
        "{text}"
    );
    let date = lines.next().unwrap();
    assert!(date.starts_with("Date: "), "{text}");
    assert!(
        rest.ends_with(msg),
        "the submitted bytes follow the added fields"
    );
    drop(server);
}

#[test]
fn mx_order_is_followed_and_a_dead_mx_fails_over_to_the_next() {
    // 127.0.0.2 (preference 10) has nothing listening on the port; the
    // sink listens on 127.0.0.3 (20) and 127.0.0.4 (30).
    let sink = Sink::start(&["127.0.0.3", "127.0.0.4"], Script::accept());
    let dns = Dnsmasq::start(&[
        "--mx-host=remote.test,mx1.remote.test,10".into(),
        "--mx-host=remote.test,mx2.remote.test,20".into(),
        "--mx-host=remote.test,mx3.remote.test,30".into(),
        "--host-record=mx1.remote.test,127.0.0.2".into(),
        "--host-record=mx2.remote.test,127.0.0.3".into(),
        "--host-record=mx3.remote.test,127.0.0.4".into(),
    ]);
    let site = site(&dns, sink.port, "");
    let server = site.start();
    for i in 0..3 {
        let token = format!("failover-{i}");
        submit_accepted(
            &server,
            "alice@localhost",
            &["bob@remote.test"],
            &message(&token),
        );
    }
    let got = sink.wait_for(3, Duration::from_secs(15));
    for t in &got {
        assert_eq!(
            t.server.to_string(),
            "127.0.0.3",
            "the best live MX takes it"
        );
    }
    wait_queue_empty(&site, Duration::from_secs(5));
    drop(server);
}

#[test]
fn a_4xx_is_retried_on_the_schedule_and_then_delivered() {
    let times = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = times.clone();
    let sink = mx_sink(move |_, n| {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        seen.lock().unwrap().push(unix);
        if n < 2 {
            "451 4.3.0 try later".into()
        } else {
            "250 2.1.5 OK".into()
        }
    });
    let dns = mx_dns("remote.test");
    let site = site(&dns, sink.port, "");
    let server = site.start();
    submit_accepted(
        &server,
        "alice@localhost",
        &["bob@remote.test"],
        &message("retry-1"),
    );
    // While deferred, `queue list` shows the error.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = String::from_utf8_lossy(&site.run(&["queue", "list"], "").stdout).into_owned();
        if out.contains("deferred") {
            assert!(out.contains("451 4.3.0 try later"), "{out}");
            break;
        }
        assert!(Instant::now() < deadline, "never deferred: {out}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let got = sink.wait_for(1, Duration::from_secs(15));
    // The queue schedules in whole Unix seconds: with `retry = ["1s"]`
    // each attempt is in a later second than the one before.
    let times = times.lock().unwrap().clone();
    assert_eq!(times.len(), 3, "{times:?}");
    assert!(times[0] < times[1] && times[1] < times[2], "{times:?}");
    let deferred = server
        .output_text()
        .lines()
        .filter(|l| l.contains("outbound: deferred"))
        .count();
    assert_eq!(deferred, 2, "{}", server.output_text());
    assert_eq!(got[0].rcpts, ["bob@remote.test"]);
    wait_queue_empty(&site, Duration::from_secs(5));
    assert!(site.inbox("alice@localhost").is_empty(), "no DSN");
    drop(server);
}

#[test]
fn submission_from_a_local_domain_is_dkim_signed_and_dkimpy_verifies_it() {
    let python = Command::new("python3")
        .args(["-c", "import dkim, dns.resolver"])
        .output();
    assert!(
        matches!(&python, Ok(o) if o.status.success()),
        "python3 with dkimpy is required (pip install dkimpy; see scripts/ci-deps.sh)"
    );
    let sink = Sink::start(&["127.0.0.2"], Script::accept());
    // The key exists before the server starts (`sansmail dns` makes it),
    // so dnsmasq can publish the record the server signs with.
    let probe = Dnsmasq::start(&[]);
    let site = site(&probe, sink.port, "");
    let out = site.run(&["dns", "localhost"], "");
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("sansmail._domainkey.localhost. IN TXT \""))
        .unwrap_or_else(|| panic!("{text}"));
    let record = &line["sansmail._domainkey.localhost. IN TXT \"".len()..line.len() - 1];
    let chunks: Vec<&str> = record
        .as_bytes()
        .chunks(255)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let dns = Dnsmasq::start(&[
        "--mx-host=remote.test,mx1.remote.test,10".into(),
        "--host-record=mx1.remote.test,127.0.0.2".into(),
        format!(
            "--txt-record=sansmail._domainkey.localhost,{}",
            chunks.join(",")
        ),
    ]);
    // Point the same site at the DNS server with the record.
    let config = std::fs::read_to_string(site.config())
        .unwrap()
        .replace(&probe.addr.to_string(), &dns.addr.to_string());
    std::fs::write(site.config(), config).unwrap();
    drop(probe);
    let server = site.start();
    let msg = message("signed-1");
    submit_accepted(&server, "alice@localhost", &["bob@remote.test"], &msg);
    let got = sink.wait_for(1, Duration::from_secs(10));
    let (received, rest) = split_received(&got[0].data);
    assert!(received.starts_with(b"Received: from client.test"));
    assert!(
        rest.starts_with(b"DKIM-Signature: v=1; a=rsa-sha256;"),
        "{}",
        String::from_utf8_lossy(rest)
    );
    assert!(rest.ends_with(&msg), "the submitted bytes follow unchanged");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &got[0].data).unwrap();
    let out = Command::new("python3")
        .arg(common::interop_dir().join("dkim_verify.py"))
        .arg(dns.addr.port().to_string())
        .arg(file.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let r = common::results(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(r["dkim"], "pass", "{r:?}");
    assert_eq!(r["domain"], "localhost");
    assert_eq!(r["selector"], "sansmail");
    drop(server);
}

#[test]
fn smarthost_gets_the_mail_with_auth_over_verified_starttls() {
    // The smarthost: a second sansmail with submission (STARTTLS, its
    // self-signed certificate naming localhost) and an account to relay as.
    let relay = Site::new(Opts {
        listeners: vec!["submission"],
        hostname: "relay.sansmail.test",
        ..Opts::default()
    });
    // remote.test is the relay's own domain.
    let config = std::fs::read_to_string(relay.config()).unwrap().replace(
        "domains = [\"localhost\"]",
        "domains = [\"localhost\", \"remote.test\"]",
    );
    std::fs::write(relay.config(), config).unwrap();
    relay.user_add("relay@localhost", "relay-pw");
    relay.user_add("dave@remote.test", "x");
    let relay_server = relay.start();
    let cert = relay.data_dir().join("tls-cert.pem");
    assert!(cert.exists());
    let dns = Dnsmasq::start(&[]);
    let site = site(
        &dns,
        25,
        &format!(
            "smarthost = \"smtp://localhost:{}\"\nsmarthost_user = \"relay@localhost\"\n\
             smarthost_password = \"relay-pw\"\n[dkim]\nsign = false\n",
            relay_server.port("submission")
        ),
    );
    // Trust the relay's certificate (rustls-native-certs reads SSL_CERT_FILE).
    let mut c = site.cmd();
    c.arg("serve")
        .arg("--config")
        .arg(site.config())
        .env("SSL_CERT_FILE", &cert);
    let server = common::Server::spawn(c, &site.opts.listeners);
    let msg = message("smarthost-1");
    submit_accepted(&server, "alice@localhost", &["dave@remote.test"], &msg);
    let stored = wait_inbox(
        &relay,
        "dave@remote.test",
        "smarthost-1",
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&stored).into_owned();
    assert!(
        text.starts_with("Return-Path: <alice@localhost>\r\n"),
        "{text}"
    );
    // The relay's trace: TLS and AUTH (RFC 3848 ESMTPSA) from us.
    assert!(
        text.contains("from mx.sansmail.test") && text.contains("with ESMTPSA"),
        "{text}"
    );
    assert!(stored.ends_with(&msg), "{text}");
    wait_queue_empty(&site, Duration::from_secs(5));
    drop(server);
    drop(relay_server);
}

#[test]
fn kill_9_with_a_full_queue_loses_nothing_and_queue_retry_wakes_the_worker() {
    let accept = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let open = accept.clone();
    let sink = mx_sink(move |_, _| {
        if open.load(std::sync::atomic::Ordering::SeqCst) {
            "250 2.1.5 OK".into()
        } else {
            "451 4.3.0 not now".into()
        }
    });
    let dns = mx_dns("remote.test");
    let site = Site::new(Opts {
        listeners: vec!["smtp", "submission"],
        extra: format!(
            "[outbound]\nresolvers = [\"{}\"]\nmx_port = {}\nretry = [\"1h\"]\n",
            dns.addr, sink.port
        ),
        ..Opts::default()
    });
    site.default_users();
    let server = site.start();
    const N: usize = 10;
    for i in 0..N {
        submit_accepted(
            &server,
            "alice@localhost",
            &["bob@remote.test"],
            &message(&format!("crash-{i}")),
        );
    }
    // Every message acknowledged and deferred (next attempt in an hour).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = String::from_utf8_lossy(&site.run(&["queue", "list"], "").stdout).into_owned();
        if out.lines().filter(|l| l.contains("deferred")).count() == N {
            break;
        }
        assert!(Instant::now() < deadline, "{out}");
        std::thread::sleep(Duration::from_millis(100));
    }
    server.kill9();
    accept.store(true, std::sync::atomic::Ordering::SeqCst);
    let server = site.start();
    // Still deferred for an hour: nothing goes until `queue retry`.
    std::thread::sleep(Duration::from_millis(500));
    assert!(sink.received().is_empty());
    let out = site.run(&["queue", "retry"], "");
    assert!(out.status.success(), "{}", describe(&out));
    let got = sink.wait_for(N, Duration::from_secs(10));
    let mut tokens: Vec<String> = got
        .iter()
        .map(|t| {
            let text = String::from_utf8_lossy(&t.data).into_owned();
            let at = text.find("Subject: ").unwrap() + 9;
            text[at..].split("\r\n").next().unwrap().to_owned()
        })
        .collect();
    tokens.sort();
    let mut want: Vec<String> = (0..N).map(|i| format!("crash-{i}")).collect();
    want.sort();
    assert_eq!(tokens, want, "each acknowledged message exactly once");
    wait_queue_empty(&site, Duration::from_secs(5));
    drop(server);
}
