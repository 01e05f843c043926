//! `sansmail::TestServer` used the way an application's test suite would:
//! from a separate crate, through the public API only, with mail sent by a
//! plain SMTP client over a socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sansmail::TestServer;

/// Sends one message with a minimal SMTP client; panics on any non-2xx/3xx.
fn send(addr: SocketAddr, from: &str, to: &str, data: &str) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    let mut expect = |code: &str| loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.starts_with(code), "wanted {code}, got {line:?}");
        if line.as_bytes().get(3) == Some(&b' ') {
            break;
        }
    };
    expect("220");
    for (cmd, code) in [
        ("EHLO app.test".to_owned(), "250"),
        (format!("MAIL FROM:<{from}>"), "250"),
        (format!("RCPT TO:<{to}>"), "250"),
        ("DATA".to_owned(), "354"),
    ] {
        write!(w, "{cmd}\r\n").unwrap();
        expect(code);
    }
    write!(w, "{data}.\r\n").unwrap();
    expect("250");
    write!(w, "QUIT\r\n").unwrap();
    expect("221");
}

const MAIL: &str = "From: App <app@example.test>\r\nTo: alice@localhost\r\nSubject: Your order\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nOrder 42 shipped.\r\n--x\r\nContent-Type: text/html\r\n\r\n<p>Order <b>42</b> shipped.</p>\r\n--x--\r\n";

#[test]
fn one_line_start_send_and_wait() {
    let server = TestServer::start();
    server.add_user("alice@localhost", "secret");
    send(
        server.addr("smtp"),
        "app@example.test",
        "alice@localhost",
        MAIL,
    );
    let got = server
        .wait_for_messages(1, Duration::from_secs(5))
        .expect("one message");
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.user, "alice@localhost");
    assert_eq!(m.mailbox, "INBOX");
    assert_eq!(m.envelope.mail_from.as_deref(), Some("app@example.test"));
    assert_eq!(m.envelope.rcpt_to, "alice@localhost");
    assert_eq!(m.subject.as_deref(), Some("Your order"));
    assert_eq!(m.from.as_deref(), Some("app@example.test"));
    assert_eq!(m.to, ["alice@localhost"]);
    assert_eq!(m.header("subject"), Some("Your order"));
    assert_eq!(m.text.as_deref(), Some("Order 42 shipped."));
    assert_eq!(m.html.as_deref(), Some("<p>Order <b>42</b> shipped.</p>"));
    // The exact bytes: our trace fields, then what the client sent.
    assert!(
        m.raw
            .starts_with(b"Return-Path: <app@example.test>\r\nReceived: ")
    );
    assert!(m.raw.ends_with(MAIL.as_bytes()));
    assert_eq!(server.messages(), got);
}

#[test]
fn wait_times_out_with_what_arrived() {
    let server = TestServer::start();
    let started = Instant::now();
    let err = server
        .wait_for_messages(1, Duration::from_millis(300))
        .unwrap_err();
    let waited = started.elapsed();
    assert!(err.got.is_empty());
    assert_eq!(err.to_string(), "waited for 1 message(s), 0 arrived");
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
}

#[test]
fn wait_wakes_on_delivery() {
    let server = TestServer::start();
    server.add_user("alice@localhost", "secret");
    let smtp = server.addr("smtp");
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        for i in 0..2 {
            send(
                smtp,
                "app@example.test",
                "alice@localhost",
                &format!("Subject: n{i}\r\n\r\nx\r\n"),
            );
        }
        Instant::now()
    });
    let got = server
        .wait_for_messages(2, Duration::from_secs(10))
        .expect("two messages");
    let woke = Instant::now();
    let sent = sender.join().unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].subject.as_deref(), Some("n0"));
    assert_eq!(got[1].subject.as_deref(), Some("n1"));
    assert!(woke.duration_since(sent) < Duration::from_millis(500) || woke < sent);
}

#[test]
fn two_servers_in_parallel() {
    let a = TestServer::start();
    let b = TestServer::start();
    assert_ne!(a.addr("smtp"), b.addr("smtp"));
    assert_ne!(a.addr("http"), b.addr("http"));
    assert_ne!(a.data_dir(), b.data_dir());
    a.add_user("alice@localhost", "a");
    b.add_user("alice@localhost", "b");
    send(
        a.addr("smtp"),
        "x@example.test",
        "alice@localhost",
        "Subject: to a\r\n\r\n1\r\n",
    );
    send(
        b.addr("smtp"),
        "x@example.test",
        "alice@localhost",
        "Subject: to b\r\n\r\n2\r\n",
    );
    let ma = a.wait_for_messages(1, Duration::from_secs(5)).unwrap();
    let mb = b.wait_for_messages(1, Duration::from_secs(5)).unwrap();
    assert_eq!(ma.len(), 1);
    assert_eq!(mb.len(), 1);
    assert_eq!(ma[0].subject.as_deref(), Some("to a"));
    assert_eq!(mb[0].subject.as_deref(), Some("to b"));
}

#[test]
fn drop_removes_the_data_dir() {
    let server = TestServer::start();
    server.add_user("alice@localhost", "pw");
    let dir = server.data_dir().to_path_buf();
    assert!(dir.join("mail").is_dir());
    drop(server);
    assert!(!dir.exists(), "{} still exists", dir.display());
}

#[test]
fn add_user_is_fast_and_the_password_works() {
    let server = TestServer::start();
    let started = Instant::now();
    server.add_user("alice@localhost", "s3cret pw");
    let took = started.elapsed();
    println!("add_user took {took:?}");
    // The bar for a debug build (argon2 unoptimised in an
    // embedder's profile took 1.2 s).
    assert!(took < Duration::from_millis(50), "add_user took {took:?}");
    // IMAP LOGIN with that password.
    let mut s = TcpStream::connect(server.addr("imap")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("* OK"), "{line}");
    s.write_all(b"a LOGIN alice@localhost wrong\r\nb LOGIN alice@localhost \"s3cret pw\"\r\n")
        .unwrap();
    let mut answers = Vec::new();
    while answers.len() < 2 {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line.starts_with("a ") || line.starts_with("b ") {
            answers.push(line[..4].to_owned());
        }
    }
    assert_eq!(answers, ["a NO", "b OK"]);
}

#[test]
fn purge_and_http_api() {
    let server = TestServer::start();
    server.add_user("alice@localhost", "pw");
    send(
        server.addr("smtp"),
        "x@example.test",
        "alice@localhost",
        "Subject: p\r\n\r\n1\r\n",
    );
    server.wait_for_messages(1, Duration::from_secs(5)).unwrap();
    // The HTTP API is there with auth = "none".
    let mut s = TcpStream::connect(server.addr("http")).unwrap();
    s.write_all(b"GET /api/v1/messages HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\"total\":1"), "{answer}");
    server.purge();
    assert!(server.messages().is_empty());
    // Accounts stay.
    send(
        server.addr("smtp"),
        "x@example.test",
        "alice@localhost",
        "Subject: q\r\n\r\n1\r\n",
    );
    assert_eq!(
        server
            .wait_for_messages(1, Duration::from_secs(5))
            .unwrap()
            .len(),
        1
    );
}
