//! One outbound delivery attempt (`sansmail::outbound::transaction`)
//! against real receivers: a second sansmail instance (STARTTLS, implicit
//! TLS, AUTH, DATA and BDAT, per-recipient refusals), Postfix's smtp-sink
//! (byte-exact dumps, DSN parameters, 4xx/5xx per RCPT, no 8BITMIME), and
//! scripted peers on loopback sockets that misbehave (close mid-DATA, a
//! 10 MB reply line, a greeting that never ends, silence).

mod common;

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Opts, Site, assert_stored, crlf};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sansmail::config::OutboundTls;
use sansmail::outbound::transaction::{Attempt, AttemptResult, deliver};
use smtp_proto::client::{Envelope, Outcome, Recipient};
use smtp_proto::{BodyType, Notify, Ret, Secret};

const FROM: &str = "sender@outbound.sansmail.test";

/// A message with dot lines, 8-bit text and `size` bytes of filler lines.
fn message(token: &str, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: <{FROM}>\r\nTo: <alice@localhost>\r\nSubject: {token}\r\n\
         Message-ID: <{token}@outbound.sansmail.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Gr\u{fc}\u{df}e aus K\u{f6}ln\r\n.leading dot\r\n..two dots\r\n.\r\n"
    )
    .into_bytes();
    let mut i = 0;
    while m.len() < size {
        m.extend_from_slice(format!("{i:08} {}\r\n", "x".repeat(70)).as_bytes());
        i += 1;
    }
    m.extend_from_slice(b"end\r\n");
    m
}

fn envelope(recipients: &[&str], body: &[u8], kind: BodyType) -> Envelope {
    let mut e = Envelope::new(
        Some(FROM.into()),
        recipients.iter().map(|r| Recipient::new(*r)).collect(),
        body.len() as u64,
    );
    e.body = kind;
    e
}

fn attempt(addr: SocketAddr, tls: OutboundTls) -> Attempt {
    let mut a = Attempt::new(addr, "mx.sansmail.test", "client.outbound.sansmail.test");
    a.tls = tls;
    a.connect_timeout = Duration::from_secs(10);
    a
}

fn run(a: &Attempt, e: Envelope, body: &[u8]) -> AttemptResult {
    smol::block_on(deliver(a, e, futures_lite::io::Cursor::new(body.to_vec())))
}

/// `delivered 250 2.0.0` style summaries, one per recipient.
fn kinds(result: &AttemptResult) -> Vec<String> {
    result
        .outcomes
        .iter()
        .map(|o| {
            let (kind, r) = match o {
                Outcome::Delivered(r) => ("delivered", r),
                Outcome::Temporary(r) => ("temporary", r),
                Outcome::Permanent(r) => ("permanent", r),
            };
            match r.enhanced {
                Some(e) => format!("{kind} {} {e}", r.code),
                None => format!("{kind} {}", r.code),
            }
        })
        .collect()
}

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

fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
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

// ----- scripted peers -----

/// A peer on a loopback socket that runs `script` on the first connection.
fn peer(script: impl FnOnce(std::net::TcpStream) + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((s, _)) = listener.accept() {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
            script(s);
        }
    });
    addr
}

/// Reads one line (bounded), "" at the end of input.
fn read_line(r: &mut impl std::io::BufRead) -> String {
    let mut line = Vec::new();
    let _ = r.take(4096).read_until(b'\n', &mut line);
    String::from_utf8_lossy(&line).into_owned()
}

#[test]
fn a_broken_tls_handshake_falls_back_to_plain_text_when_opportunistic() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let script = std::thread::spawn(move || {
        // First connection: STARTTLS accepted, then bytes that are no TLS.
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        s.write_all(b"220 peer ESMTP\r\n").unwrap();
        assert!(read_line(&mut r).starts_with("EHLO "));
        s.write_all(b"250-peer\r\n250 STARTTLS\r\n").unwrap();
        assert_eq!(read_line(&mut r), "STARTTLS\r\n");
        s.write_all(b"220 2.0.0 go ahead\r\nthis is not a TLS record\r\n")
            .unwrap();
        drop((r, s));
        // Second connection: STARTTLS offered again but not used.
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        s.write_all(b"220 peer ESMTP\r\n").unwrap();
        assert!(read_line(&mut r).starts_with("EHLO "));
        s.write_all(b"250-peer\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
            .unwrap();
        let mut commands = Vec::new();
        for _ in 0..3 {
            commands.push(read_line(&mut r));
        }
        s.write_all(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n")
            .unwrap();
        let mut body = Vec::new();
        while !body.ends_with(b"\r\n.\r\n") {
            let line = read_line(&mut r);
            assert!(!line.is_empty(), "body cut short");
            body.extend_from_slice(line.as_bytes());
        }
        s.write_all(b"250 2.0.0 Ok: queued\r\n").unwrap();
        assert_eq!(read_line(&mut r), "QUIT\r\n");
        let _ = s.write_all(b"221 2.0.0 Bye\r\n");
        (commands, body)
    });
    let body = b"Subject: fallback\r\n\r\nplain\r\n".to_vec();
    let result = run(
        &attempt(addr, OutboundTls::Opportunistic),
        envelope(&["a@peer"], &body, BodyType::SevenBit),
        &body,
    );
    assert_eq!(
        kinds(&result),
        ["delivered 250 2.0.0"],
        "{:?}",
        result.error
    );
    assert!(!result.tls);
    let (commands, wire) = script.join().expect("peer script");
    assert_eq!(
        commands,
        [
            format!("MAIL FROM:<{FROM}>\r\n"),
            "RCPT TO:<a@peer>\r\n".to_owned(),
            "DATA\r\n".to_owned()
        ]
    );
    assert_eq!(wire, b"Subject: fallback\r\n\r\nplain\r\n.\r\n");

    // Under `required` the same failure is final for this attempt.
    let addr = peer(|mut s| {
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        s.write_all(b"220 peer ESMTP\r\n").unwrap();
        read_line(&mut r);
        s.write_all(b"250-peer\r\n250 STARTTLS\r\n").unwrap();
        read_line(&mut r);
        let _ = s.write_all(b"220 2.0.0 go ahead\r\nthis is not a TLS record\r\n");
    });
    let result = run(
        &attempt(addr, OutboundTls::Required),
        envelope(&["a@peer"], &body, BodyType::SevenBit),
        &body,
    );
    assert_eq!(kinds(&result), ["temporary 451 4.7.5"]);
}

#[test]
fn a_peer_with_mixed_rcpt_replies_that_closes_mid_data() {
    let addr = peer(|mut s| {
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        s.write_all(b"220 peer ESMTP\r\n").unwrap();
        assert!(read_line(&mut r).starts_with("EHLO "));
        s.write_all(b"250-peer\r\n250 8BITMIME\r\n").unwrap();
        // No PIPELINING: one reply per command.
        for reply in [
            &b"250 2.1.0 Ok\r\n"[..],
            b"250 2.1.5 Ok\r\n",
            b"450 4.2.1 Mailbox busy\r\n",
            b"550 5.1.1 No such user\r\n",
            b"250 2.1.5 Ok\r\n",
            b"354 go ahead\r\n",
        ] {
            assert!(!read_line(&mut r).is_empty());
            s.write_all(reply).unwrap();
        }
        // Take a little of the body, then hang up.
        let mut buf = [0u8; 1000];
        let _ = r.read(&mut buf);
    });
    let body = message("peer-mid-data", 500_000);
    let started = Instant::now();
    let result = run(
        &attempt(addr, OutboundTls::Opportunistic),
        envelope(
            &["a@peer", "busy@peer", "nobody@peer", "b@peer"],
            &body,
            BodyType::SevenBit,
        ),
        &body,
    );
    assert_eq!(
        kinds(&result),
        [
            "temporary 451 4.4.2",
            "temporary 450 4.2.1",
            "permanent 550 5.1.1",
            "temporary 451 4.4.2"
        ],
        "{:?}",
        result.error
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?} {:?}",
        started.elapsed(),
        result.error
    );
}

#[test]
fn a_ten_megabyte_reply_line_is_refused_at_the_line_limit() {
    let addr = peer(|mut s| {
        let _ = s.write_all(b"220 ");
        let junk = vec![b'x'; 1024 * 1024];
        for _ in 0..10 {
            if s.write_all(&junk).is_err() {
                return; // the client hung up, as it should
            }
        }
        let _ = s.write_all(b"\r\n");
    });
    let started = Instant::now();
    let result = run(
        &attempt(addr, OutboundTls::Opportunistic),
        envelope(&["a@peer"], b"x\r\n", BodyType::SevenBit),
        b"x\r\n",
    );
    assert_eq!(kinds(&result), ["temporary 451 4.5.0"]);
    assert_eq!(result.error.as_deref(), Some("reply line too long"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_greeting_that_never_ends_hits_the_line_count_or_the_timeout() {
    // Endless continuation lines: the multi-line limit.
    let addr = peer(|mut s| {
        for _ in 0..100_000 {
            if s.write_all(b"220-still greeting you\r\n").is_err() {
                return;
            }
        }
    });
    let result = run(
        &attempt(addr, OutboundTls::Opportunistic),
        envelope(&["a@peer"], b"x\r\n", BodyType::SevenBit),
        b"x\r\n",
    );
    assert_eq!(kinds(&result), ["temporary 451 4.5.0"]);
    assert_eq!(result.error.as_deref(), Some("too many reply lines"));

    // A trickle, one byte every 100 ms: the greeting timeout, not the
    // bytes, ends it.
    let addr = peer(|mut s| {
        for _ in 0..200 {
            if s.write_all(b"2").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let mut a = attempt(addr, OutboundTls::Opportunistic);
    a.limits.greeting = Duration::from_secs(1);
    let started = Instant::now();
    let result = run(
        &a,
        envelope(&["a@peer"], b"x\r\n", BodyType::SevenBit),
        b"x\r\n",
    );
    let took = started.elapsed();
    assert_eq!(kinds(&result), ["temporary 451 4.4.2"]);
    assert_eq!(
        result.error.as_deref(),
        Some("timeout waiting for the greeting reply")
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[test]
fn a_silent_peer_after_data_times_out_at_the_data_end_timeout() {
    let addr = peer(|mut s| {
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        s.write_all(b"220 peer\r\n").unwrap();
        read_line(&mut r);
        s.write_all(b"250-peer\r\n250 PIPELINING\r\n").unwrap();
        s.write_all(b"250 ok\r\n250 ok\r\n354 go\r\n").unwrap();
        // Read the whole body, then say nothing.
        let mut buf = [0u8; 4096];
        let mut seen = Vec::new();
        while !seen.ends_with(b"\r\n.\r\n") {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    let mut a = attempt(addr, OutboundTls::Opportunistic);
    a.limits.data_end = Duration::from_secs(1);
    let started = Instant::now();
    let body = crlf(b"Subject: silent\n\nhello\n");
    let result = run(&a, envelope(&["a@peer"], &body, BodyType::SevenBit), &body);
    assert_eq!(kinds(&result), ["temporary 451 4.4.2"]);
    assert_eq!(
        result.error.as_deref(),
        Some("timeout waiting for the end of data reply")
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn a_refused_connection_is_a_temporary_failure() {
    let addr = free_port(); // nothing listens there any more
    let result = run(
        &attempt(addr, OutboundTls::Opportunistic),
        envelope(&["a@peer", "b@peer"], b"x\r\n", BodyType::SevenBit),
        b"x\r\n",
    );
    assert_eq!(
        kinds(&result),
        ["temporary 451 4.4.1", "temporary 451 4.4.1"]
    );
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
