//! A scripted SMTP receiver for the outbound end-to-end tests: listens on
//! one port on several loopback addresses (127.0.0.2, 127.0.0.3, ... as the
//! dnsmasq helper's MX hosts resolve), records every transaction byte for
//! byte, and answers RCPT and end of data as the test's script says.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One mail transaction as received.
#[derive(Debug, Clone)]
pub struct Transaction {
    /// Which local address the client connected to.
    pub server: IpAddr,
    /// The MAIL FROM line's path, without brackets.
    pub from: String,
    /// The RCPT TO paths that were accepted.
    pub rcpts: Vec<String>,
    /// The message, dot-unstuffed, with CRLF.
    pub data: Vec<u8>,
    /// The full MAIL FROM line (parameters included).
    pub mail_line: String,
    /// The RCPT lines.
    pub rcpt_lines: Vec<String>,
}

/// Decides the reply to one RCPT: (recipient, transaction number) → line.
pub type RcptReply = Box<dyn Fn(&str, usize) -> String + Send + Sync>;

/// The replies a sink gives: (recipient, attempt number from 0) → reply
/// line for RCPT; attempt number → reply after the data.
pub struct Script {
    /// The reply to `RCPT TO:<rcpt>` on the n-th transaction.
    pub rcpt: RcptReply,
    /// The reply after the data of the n-th transaction.
    pub data: Box<dyn Fn(usize) -> String + Send + Sync>,
}

impl Script {
    /// Accepts everything.
    pub fn accept() -> Script {
        Script {
            rcpt: Box::new(|_, _| "250 2.1.5 OK".into()),
            data: Box::new(|_| "250 2.0.0 OK queued".into()),
        }
    }
}

/// A running sink.
pub struct Sink {
    /// The port every address listens on.
    pub port: u16,
    /// What arrived, in order.
    pub received: Arc<Mutex<Vec<Transaction>>>,
    /// TCP connections accepted so far.
    pub connections: Arc<AtomicUsize>,
}

impl Sink {
    /// Listens on `port` (0: pick one free on all of them) at every `ip`.
    pub fn start(ips: &[&str], script: Script) -> Sink {
        Sink::start_closing(ips, script, None)
    }

    /// As [`Sink::start`], but every connection is closed without a word
    /// right after the reply to its `close_after`-th transaction (a peer
    /// that drops a connection the client keeps for reuse).
    pub fn start_closing(ips: &[&str], script: Script, close_after: Option<usize>) -> Sink {
        let script = Arc::new(script);
        let connections = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(Mutex::new(Vec::new()));
        let counter = Arc::new(Mutex::new(0usize));
        'retry: for _ in 0..20 {
            let first = TcpListener::bind((ips[0], 0)).expect("bind sink");
            let port = first.local_addr().unwrap().port();
            let mut listeners = vec![first];
            for ip in &ips[1..] {
                match TcpListener::bind((*ip, port)) {
                    Ok(l) => listeners.push(l),
                    Err(_) => continue 'retry,
                }
            }
            for l in listeners {
                let script = script.clone();
                let received = received.clone();
                let counter = counter.clone();
                let connections = connections.clone();
                std::thread::spawn(move || {
                    for s in l.incoming().flatten() {
                        connections.fetch_add(1, Ordering::SeqCst);
                        let script = script.clone();
                        let received = received.clone();
                        let counter = counter.clone();
                        std::thread::spawn(move || {
                            let _ = serve(s, &script, &received, &counter, close_after);
                        });
                    }
                });
            }
            return Sink {
                port,
                received,
                connections,
            };
        }
        panic!("no common free port on {ips:?}");
    }

    /// Waits until `n` transactions arrived (panics after `limit`).
    pub fn wait_for(&self, n: usize, limit: Duration) -> Vec<Transaction> {
        let deadline = Instant::now() + limit;
        loop {
            let got = self.received.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} transactions within {limit:?}, got {}: {got:?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// How many TCP connections were accepted.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// What arrived so far.
    pub fn received(&self) -> Vec<Transaction> {
        self.received.lock().unwrap().clone()
    }
}

fn serve(
    s: TcpStream,
    script: &Script,
    received: &Mutex<Vec<Transaction>>,
    counter: &Mutex<usize>,
    close_after: Option<usize>,
) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    let server = s.local_addr()?.ip();
    let mut w = s.try_clone()?;
    let mut r = BufReader::new(s);
    w.write_all(b"220 sink.test ESMTP\r\n")?;
    let mut tx: Option<Transaction> = None;
    let mut n = 0;
    let mut here = 0;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250-DSN\r\n250 PIPELINING\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            n = {
                let mut c = counter.lock().unwrap();
                *c += 1;
                *c - 1
            };
            let from = path(&cmd[10..]);
            tx = Some(Transaction {
                server,
                from,
                rcpts: Vec::new(),
                data: Vec::new(),
                mail_line: cmd.clone(),
                rcpt_lines: Vec::new(),
            });
            w.write_all(b"250 2.1.0 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = path(&cmd[8..]);
            let reply = (script.rcpt)(&rcpt, n);
            if let Some(t) = tx.as_mut() {
                t.rcpt_lines.push(cmd.clone());
                if reply.starts_with('2') {
                    t.rcpts.push(rcpt);
                }
            }
            w.write_all(format!("{reply}\r\n").as_bytes())?;
        } else if upper == "DATA" {
            if tx.as_ref().is_none_or(|t| t.rcpts.is_empty()) {
                w.write_all(b"554 5.5.1 No valid recipients\r\n")?;
                continue;
            }
            w.write_all(b"354 go ahead\r\n")?;
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if r.read_until(b'\n', &mut l)? == 0 {
                    return Ok(());
                }
                if l == b".\r\n" {
                    break;
                }
                if l.starts_with(b".") {
                    l.remove(0);
                }
                data.extend_from_slice(&l);
            }
            let reply = (script.data)(n);
            if let Some(mut t) = tx.take() {
                t.data = data;
                if reply.starts_with('2') {
                    received.lock().unwrap().push(t);
                }
            }
            w.write_all(format!("{reply}\r\n").as_bytes())?;
            here += 1;
            if close_after == Some(here) {
                return Ok(());
            }
        } else if upper == "QUIT" {
            w.write_all(b"221 2.0.0 bye\r\n")?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            tx = None;
            w.write_all(b"250 2.0.0 OK\r\n")?;
        } else {
            w.write_all(b"502 5.5.2 not implemented\r\n")?;
        }
    }
}

fn path(rest: &str) -> String {
    let rest = rest.trim();
    let end = rest.find('>').unwrap_or(rest.len());
    rest.trim_start_matches('<')[..end.saturating_sub(1)].to_owned()
}

/// Reads everything from a reader (helper for tests).
pub fn read_all(mut r: impl Read) -> Vec<u8> {
    let mut v = Vec::new();
    let _ = r.read_to_end(&mut v);
    v
}
