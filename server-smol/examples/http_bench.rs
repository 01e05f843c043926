//! HTTP API benchmark: the newest-50 listing on an account with many
//! messages, and injection throughput over HTTP.
//!
//! ```text
//! cargo run --release -p server-smol --example http_bench -- [MESSAGES] [INJECT_CONNS] [INJECT_PER_CONN]
//! ```
//!
//! Defaults: 100,000 messages, 10 connections x 200 injections of 5 KB
//! (the shape of the SMTP `loadgen` figure in benches/README.md). The
//! account's Maildir is filled with files directly and adopted by the
//! rescan at start (as if another Maildir tool had written them); the
//! listing is then timed over keep-alive HTTP/1.1 from a blocking client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sansmail::{Server, TestServer};

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

struct Client {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).unwrap();
        Client {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }

    /// One request; returns (status, body length).
    fn call(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, usize) {
        let (status, body) = self.call_body(method, path, body);
        (status, body.len())
    }

    /// One request; returns (status, body).
    fn call_body(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        write!(
            self.w,
            "{method} {path} HTTP/1.1\r\nHost: b\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        self.w.write_all(body).unwrap();
        let mut line = String::new();
        self.r.read_line(&mut line).unwrap();
        let status = line[9..12].parse().unwrap();
        let mut len = 0;
        loop {
            line.clear();
            self.r.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length: ") {
                len = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut buf = vec![0u8; len];
        self.r.read_exact(&mut buf).unwrap();
        (status, buf)
    }
}

fn percentiles(mut v: Vec<Duration>) -> String {
    v.sort();
    let p = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
    format!(
        "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms (n={})",
        p(0.5).as_secs_f64() * 1e3,
        p(0.9).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3,
        v.len()
    )
}

fn main() {
    let messages = arg(1, 100_000);
    let conns = arg(2, 10);
    let per_conn = arg(3, 200);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = TestServer::config();
    config.data_dir = dir.path().to_path_buf();
    config.testing.catch_all = false;

    // Fill alice's INBOX with files; the rescan at start indexes them.
    {
        let server = Server::start(config.clone()).expect("start");
        server
            .store()
            .add_user("alice@localhost", "pw")
            .expect("add_user");
        server
            .store()
            .add_user("bob@localhost", "pw")
            .expect("add_user");
        server.stop();
    }
    let new = dir.path().join("mail/localhost/alice/new");
    let t = Instant::now();
    for i in 0..messages {
        let body = format!(
            "From: sender{}@example.test\r\nTo: alice@localhost\r\nSubject: message {i}\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <{i}@bench>\r\n\r\nbody {i}\r\n",
            i % 97
        );
        std::fs::write(
            new.join(format!("1700000000.M{i}P1Q1.bench,S={}", body.len())),
            body,
        )
        .unwrap();
    }
    println!(
        "wrote {messages} files in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let server = Server::start(config).expect("start");
    println!(
        "start with rescan of {messages} files: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let http = server.addr("http").unwrap();

    let mut c = Client::new(http);
    for (label, path) in [
        (
            "GET /api/v1/messages?user=alice@localhost&limit=50",
            "/api/v1/messages?user=alice%40localhost&limit=50",
        ),
        (
            "GET /api/v1/messages?limit=50 (all accounts)",
            "/api/v1/messages?limit=50",
        ),
    ] {
        let (status, body) = c.call_body("GET", path, b"");
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["total"], messages as u64, "{v}");
        assert_eq!(v["messages"].as_array().unwrap().len(), 50.min(messages));
        println!(
            "{label}: total {}, newest {}",
            v["total"], v["messages"][0]["subject"]
        );
        for _ in 0..20 {
            assert_eq!(c.call("GET", path, b"").0, 200);
        }
        let mut times = Vec::new();
        for _ in 0..300 {
            let t = Instant::now();
            let (status, _) = c.call("GET", path, b"");
            times.push(t.elapsed());
            assert_eq!(status, 200);
        }
        println!("{label}: {}", percentiles(times));
    }

    // Injection throughput: 5 KB messages over keep-alive connections.
    let mut message =
        b"From: load@example.test\r\nTo: bob@localhost\r\nSubject: load\r\n\r\n".to_vec();
    while message.len() < 5 * 1024 - 2 {
        message.extend_from_slice(
            b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrs\r\n",
        );
    }
    message.truncate(5 * 1024 - 2);
    message.extend_from_slice(b"\r\n");
    let t = Instant::now();
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let message = message.clone();
            std::thread::spawn(move || {
                let mut c = Client::new(http);
                let mut times = Vec::new();
                for _ in 0..per_conn {
                    let s = Instant::now();
                    let (status, _) =
                        c.call("POST", "/api/v1/messages?user=bob%40localhost", &message);
                    assert_eq!(status, 201);
                    times.push(s.elapsed());
                }
                times
            })
        })
        .collect();
    let mut all = Vec::new();
    for th in threads {
        all.extend(th.join().unwrap());
    }
    let secs = t.elapsed().as_secs_f64();
    let n = all.len();
    println!(
        "POST /api/v1/messages, 5 KB x {conns} connections: {:.0} msg/s ({n} in {secs:.1} s), per request {}",
        n as f64 / secs,
        percentiles(all)
    );
    server.stop();
}
