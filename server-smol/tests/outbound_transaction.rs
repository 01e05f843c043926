//! One outbound delivery attempt (`sansmail::outbound::transaction`)
//! against real receivers: a second sansmail instance (STARTTLS, implicit
//! TLS, AUTH, DATA and BDAT, per-recipient refusals) and Postfix's
//! smtp-sink (byte-exact dumps, DSN parameters, 4xx/5xx per RCPT, no
//! 8BITMIME). Misbehaving peers are in `outbound_peers.rs`.

mod common;
mod outbound_util;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Opts, Site, assert_stored, crlf};
use outbound_util::{FROM, attempt, envelope, free_port, kinds, message, run};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sansmail::config::OutboundTls;
use sansmail::outbound::transaction::deliver;
use smtp_proto::{BodyType, Notify, Ret, Secret};

fn receiver(listeners: Vec<&'static str>) -> (Site, common::Server) {
    let site = Site::new(Opts {
        listeners,
        max_message_size: 4 * 1024 * 1024,
        ..Opts::default()
    });
    site.default_users();
    let server = site.start();
    (site, server)
}

/// The stored message of `address` carrying `token`, waiting briefly.
fn stored(site: &Site, address: &str, token: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let line = format!("\nSubject: {token}\r\n");
        if site
            .inbox(address)
            .iter()
            .any(|(_, b)| common::contains(b, line.as_bytes()))
        {
            return site.delivered_with(address, token);
        }
        assert!(
            Instant::now() < deadline,
            "{token} not delivered to {address}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn received_line(stored: &[u8]) -> String {
    let text = String::from_utf8_lossy(stored);
    let start = text.find("Received: ").expect("Received:");
    text[start..].lines().take(2).collect::<Vec<_>>().join(" ")
}

#[test]
fn sansmail_over_starttls_byte_exact_with_data_and_with_bdat() {
    let (site, server) = receiver(vec!["smtp"]);
    let addr = server.addr("smtp");
    for (chunking, size) in [
        (false, 2_000),
        (true, 2_000),
        (false, 600_000),
        (true, 600_000),
    ] {
        let token = format!("starttls-{chunking}-{size}");
        let body = message(&token, size);
        let mut a = attempt(addr, OutboundTls::Opportunistic);
        a.chunking = chunking;
        let started = Instant::now();
        let result = run(
            &a,
            envelope(
                &[
                    "alice@localhost",
                    "nobody@localhost",
                    "x@remote.test",
                    "bob@localhost",
                ],
                &body,
                BodyType::EightBitMime,
            ),
            &body,
        );
        assert_eq!(
            kinds(&result),
            [
                "delivered 250 2.0.0",
                "permanent 550 5.1.1",
                "permanent 554 5.7.1",
                "delivered 250 2.0.0"
            ],
            "{token}: {:?}",
            result.error
        );
        assert!(result.tls && !result.verified, "{token}: STARTTLS used");
        for rcpt in ["alice@localhost", "bob@localhost"] {
            let stored = stored(&site, rcpt, &token);
            assert_stored(&stored, FROM, &body);
            // RFC 3848: ESMTPS = ESMTP with STARTTLS.
            let received = received_line(&stored);
            assert!(
                received.contains("from client.outbound.sansmail.test")
                    && received.contains("with ESMTPS"),
                "{received}"
            );
        }
        eprintln!("{token}: {:?}", started.elapsed());
    }
    drop(server);
}

#[test]
fn sansmail_tls_policies_none_required_and_implicit() {
    let (site, server) = receiver(vec!["smtp", "smtps"]);
    let cert_path = site.data_dir().join("tls-cert.pem");
    let cert: CertificateDer<'static> =
        CertificateDer::from_pem_file(&cert_path).expect("receiver's certificate");

    // none: plain text even though STARTTLS is offered.
    let body = message("policy-none", 100);
    let result = run(
        &attempt(server.addr("smtp"), OutboundTls::None),
        envelope(&["alice@localhost"], &body, BodyType::EightBitMime),
        &body,
    );
    assert_eq!(kinds(&result), ["delivered 250 2.0.0"]);
    assert!(!result.tls);
    let received = received_line(&stored(&site, "alice@localhost", "policy-none"));
    assert!(
        received.contains("with ESMTP ") || received.ends_with("with ESMTP"),
        "{received}"
    );

    // required, with the receiver's certificate as a trust anchor: verified.
    let body = message("policy-required", 100);
    let mut a = attempt(server.addr("smtp"), OutboundTls::Required);
    a.extra_roots = vec![cert.clone()];
    let result = run(
        &a,
        envelope(&["alice@localhost"], &body, BodyType::EightBitMime),
        &body,
    );
    assert_eq!(
        kinds(&result),
        ["delivered 250 2.0.0"],
        "{:?}",
        result.error
    );
    assert!(result.tls && result.verified);
    assert_stored(
        &stored(&site, "alice@localhost", "policy-required"),
        FROM,
        &body,
    );

    // required, a name the certificate does not carry: temporary, nothing sent.
    let body = message("policy-wrong-name", 100);
    let mut a = attempt(server.addr("smtp"), OutboundTls::Required);
    a.extra_roots = vec![cert];
    a.server_name = "other.example".into();
    let result = run(
        &a,
        envelope(
            &["alice@localhost", "bob@localhost"],
            &body,
            BodyType::SevenBit,
        ),
        &body,
    );
    assert_eq!(
        kinds(&result),
        ["temporary 451 4.7.5", "temporary 451 4.7.5"]
    );
    assert!(
        result
            .error
            .as_deref()
            .unwrap_or("")
            .contains("TLS handshake"),
        "{:?}",
        result.error
    );

    // required, the system store only: a self-signed certificate fails.
    let result = run(
        &attempt(server.addr("smtp"), OutboundTls::Required),
        envelope(&["alice@localhost"], &body, BodyType::SevenBit),
        &body,
    );
    assert_eq!(kinds(&result), ["temporary 451 4.7.5"]);
    site.assert_not_delivered("alice@localhost", "policy-wrong-name");
    site.assert_not_delivered("bob@localhost", "policy-wrong-name");

    // implicit TLS (smtps): no STARTTLS on top.
    let body = message("implicit-tls", 5_000);
    let mut a = attempt(server.addr("smtps"), OutboundTls::Opportunistic);
    a.implicit_tls = true;
    let result = run(
        &a,
        envelope(&["bob@localhost"], &body, BodyType::EightBitMime),
        &body,
    );
    assert_eq!(
        kinds(&result),
        ["delivered 250 2.0.0"],
        "{:?}",
        result.error
    );
    assert!(result.tls);
    let stored = stored(&site, "bob@localhost", "implicit-tls");
    assert_stored(&stored, FROM, &body);
    assert!(received_line(&stored).contains("with ESMTPS"));
    drop(server);
}

#[test]
fn sansmail_submission_with_auth_plain_and_a_refused_password() {
    let (site, server) = receiver(vec!["submission"]);
    let addr = server.addr("submission");
    let body = message("auth-ok", 300);
    let mut a = attempt(addr, OutboundTls::Opportunistic);
    a.auth = Some((common::ALICE.0.into(), Secret::new(common::ALICE.1.into())));
    let result = run(
        &a,
        envelope(&["bob@localhost"], &body, BodyType::EightBitMime),
        &body,
    );
    assert_eq!(
        kinds(&result),
        ["delivered 250 2.0.0"],
        "{:?}",
        result.error
    );
    let stored = stored(&site, "bob@localhost", "auth-ok");
    assert_stored(&stored, FROM, &body);
    // RFC 3848: ESMTPSA = STARTTLS and AUTH.
    assert!(
        received_line(&stored).contains("with ESMTPSA"),
        "{}",
        received_line(&stored)
    );

    let body = message("auth-bad", 300);
    a.auth = Some((common::ALICE.0.into(), Secret::new("wrong".into())));
    let result = run(
        &a,
        envelope(&["bob@localhost"], &body, BodyType::SevenBit),
        &body,
    );
    assert_eq!(
        kinds(&result),
        ["temporary 535 5.7.8"],
        "{:?}",
        result.error
    );
    site.assert_not_delivered("bob@localhost", "auth-bad");
    drop(server);
}

// ----- smtp-sink -----

/// Postfix's smtp-sink on a free loopback port, dumping into a directory.
struct Sink {
    child: Child,
    addr: SocketAddr,
    dump: tempfile::TempDir,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp_sink_path() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin"] {
        let p = Path::new(dir).join("smtp-sink");
        if p.exists() {
            return p;
        }
    }
    panic!("smtp-sink not found: install Debian's postfix package (scripts/ci-deps.sh does)");
}

fn sink(flags: &[&str]) -> Sink {
    let dump = tempfile::tempdir().unwrap();
    // smtp-sink drops root privileges to -u; the dump directory must be
    // writable for that user.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dump.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let addr = free_port();
    let mut cmd = Command::new(smtp_sink_path());
    cmd.args(["-u", "nobody", "-h", "sink.sansmail.test", "-d"])
        .arg(format!("{}/%M.", dump.path().display()))
        .args(flags)
        .arg(addr.to_string())
        .arg("10")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn smtp-sink");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "smtp-sink did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Sink { child, addr, dump }
}

/// The dump files smtp-sink wrote (non-empty ones).
fn dumps(sink: &Sink) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let mut files: Vec<Vec<u8>> = std::fs::read_dir(sink.dump.path())
            .unwrap()
            .flatten()
            .map(|e| std::fs::read(e.path()).unwrap())
            .filter(|b| b.ends_with(b"\n\n"))
            .collect();
        if !files.is_empty() || Instant::now() > deadline {
            files.sort();
            return files;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Splits an smtp-sink dump into its `X-` records and the message after
/// its three-line `Received:` header.
fn split_dump(dump: &[u8]) -> (Vec<String>, Vec<u8>) {
    let text = dump;
    let mut records = Vec::new();
    let mut pos = 0;
    let mut in_received = false;
    while let Some(eol) = text[pos..].iter().position(|&b| b == b'\n') {
        let line = &text[pos..pos + eol];
        if in_received && !line.starts_with(b"\t") {
            break;
        }
        if line.starts_with(b"Received: ") {
            in_received = true;
        } else if !in_received {
            records.push(String::from_utf8_lossy(line).into_owned());
        }
        pos += eol + 1;
    }
    (records, text[pos..].to_vec())
}

#[test]
fn smtp_sink_gets_the_exact_bytes_and_the_dsn_parameters() {
    let sink = sink(&[]);
    let body = message("sink-exact", 50_000);
    let mut e = envelope(
        &["one@sink.test", "two@sink.test"],
        &body,
        BodyType::EightBitMime,
    );
    e.ret = Some(Ret::Hdrs);
    e.envid = Some("Q+1 env".into());
    e.recipients[0].notify = Some(vec![Notify::Success, Notify::Failure]);
    e.recipients[0].orcpt = Some("rfc822;one@sink.test".into());
    let mut a = attempt(sink.addr, OutboundTls::Opportunistic);
    a.server_name = "sink.sansmail.test".into();
    let result = run(&a, e, &body);
    assert_eq!(
        kinds(&result),
        ["delivered 250 2.0.0", "delivered 250 2.0.0"],
        "{:?}",
        result.error
    );
    assert!(!result.tls, "smtp-sink offers no STARTTLS");
    assert!(result.dsn);
    let dumps = dumps(&sink);
    assert_eq!(dumps.len(), 1);
    let (records, message) = split_dump(&dumps[0]);
    assert_eq!(
        records,
        [
            "X-Client-Addr: 127.0.0.1",
            "X-Client-Proto: ESMTP",
            "X-Helo-Args: client.outbound.sansmail.test",
            &format!("X-Mail-Args: <{FROM}> BODY=8BITMIME RET=HDRS ENVID=Q+2B1+20env"),
            "X-Rcpt-Args: <one@sink.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;one@sink.test",
            "X-Rcpt-Args: <two@sink.test>",
        ]
    );
    // smtp-sink stores lines with LF and ends the dump with an empty line.
    let mut want: Vec<u8> = String::from_utf8(body.clone())
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes();
    want.push(b'\n');
    assert!(
        message == want,
        "dumped message differs from the sent bytes"
    );
}

#[test]
fn smtp_sink_without_esmtp_gets_helo_and_a_plain_7bit_transaction() {
    // -e: EHLO is an unknown command; the client falls back to HELO and
    // sends no ESMTP parameters at all.
    let sink = sink(&["-e"]);
    let body = crlf(b"Subject: helo\n\n.dot line\nplain\n");
    let result = run(
        &attempt(sink.addr, OutboundTls::Opportunistic),
        envelope(&["a@sink.test", "b@sink.test"], &body, BodyType::SevenBit),
        &body,
    );
    assert_eq!(
        kinds(&result),
        ["delivered 250 2.0.0", "delivered 250 2.0.0"],
        "{:?}",
        result.error
    );
    let dumps = dumps(&sink);
    assert_eq!(dumps.len(), 1);
    let (records, message) = split_dump(&dumps[0]);
    assert_eq!(
        records,
        [
            "X-Client-Addr: 127.0.0.1",
            "X-Client-Proto: SMTP",
            "X-Helo-Args: client.outbound.sansmail.test",
            &format!("X-Mail-Args: <{FROM}>"),
            "X-Rcpt-Args: <a@sink.test>",
            "X-Rcpt-Args: <b@sink.test>",
        ]
    );
    assert_eq!(message, b"Subject: helo\n\n.dot line\nplain\n\n");
}

#[test]
fn a_message_over_the_receivers_size_is_refused_before_mail() {
    let site = Site::new(Opts {
        listeners: vec!["smtp"],
        max_message_size: 10_000,
        ..Opts::default()
    });
    site.default_users();
    let server = site.start();
    let body = message("too-big", 20_000);
    let result = run(
        &attempt(server.addr("smtp"), OutboundTls::Opportunistic),
        envelope(&["alice@localhost"], &body, BodyType::EightBitMime),
        &body,
    );
    assert_eq!(kinds(&result), ["permanent 552 5.3.4"]);
    assert!(result.outcomes[0].reply().text().contains("10000"));
    site.assert_not_delivered("alice@localhost", "too-big");
    drop(server);
}

#[test]
fn smtp_sink_refusing_every_rcpt_softly_or_hard() {
    let body = message("sink-refuse", 100);
    for (flag, want) in [("-r", "temporary 450 4.3.0"), ("-f", "permanent 500 5.3.0")] {
        let sink = sink(&[flag, "RCPT"]);
        let result = run(
            &attempt(sink.addr, OutboundTls::Opportunistic),
            envelope(&["a@sink.test", "b@sink.test"], &body, BodyType::SevenBit),
            &body,
        );
        assert_eq!(kinds(&result), [want, want], "{flag}: {:?}", result.error);
        assert!(dumps(&sink).is_empty(), "{flag}: nothing may be dumped");
    }
}

#[test]
fn smtp_sink_without_8bitmime_or_smtputf8_fails_permanently_before_mail() {
    let sink = sink(&["-8"]);
    let body = message("sink-8bit", 100);
    let result = run(
        &attempt(sink.addr, OutboundTls::Opportunistic),
        envelope(
            &["a@sink.test", "b@sink.test"],
            &body,
            BodyType::EightBitMime,
        ),
        &body,
    );
    assert_eq!(
        kinds(&result),
        ["permanent 554 5.6.3", "permanent 554 5.6.3"]
    );
    assert!(result.outcomes[0].reply().text().contains("8BITMIME"));
    // smtp-sink never offers SMTPUTF8.
    let result = run(
        &attempt(sink.addr, OutboundTls::Opportunistic),
        envelope(
            &["用户@sink.test"],
            b"Subject: x\r\n\r\nhi\r\n",
            BodyType::SevenBit,
        ),
        b"Subject: x\r\n\r\nhi\r\n",
    );
    assert_eq!(kinds(&result), ["permanent 553 5.6.7"]);
    assert!(dumps(&sink).is_empty());
}

#[test]
fn smtp_sink_disconnecting_after_the_end_of_data_is_temporary() {
    // -q .: smtp-sink reads the whole message and hangs up without a reply.
    let sink = sink(&["-q", "."]);
    let body = message("sink-hangup", 100);
    let result = run(
        &attempt(sink.addr, OutboundTls::Opportunistic),
        envelope(&["a@sink.test"], &body, BodyType::SevenBit),
        &body,
    );
    assert_eq!(kinds(&result), ["temporary 451 4.4.2"]);
    assert!(result.error.unwrap().contains("end of data"));
}

#[test]
fn the_body_streams_from_a_file() {
    let (site, server) = receiver(vec!["smtp"]);
    let body = message("from-file", 1_500_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queued.eml");
    std::fs::write(&path, &body).unwrap();
    let a = attempt(server.addr("smtp"), OutboundTls::Opportunistic);
    let result = smol::block_on(async {
        let file = smol::fs::File::open(&path).await.unwrap();
        deliver(
            &a,
            envelope(&["alice@localhost"], &body, BodyType::EightBitMime),
            file,
        )
        .await
    });
    assert_eq!(
        kinds(&result),
        ["delivered 250 2.0.0"],
        "{:?}",
        result.error
    );
    assert_stored(&stored(&site, "alice@localhost", "from-file"), FROM, &body);
    drop(server);
}
