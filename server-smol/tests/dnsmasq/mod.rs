//! A real DNS server for tests: Debian's `dnsmasq` on a free loopback port,
//! authoritative for `.test` (unknown names there are NXDOMAIN), with the
//! records a test passes as dnsmasq options (`--mx-host=...`,
//! `--txt-record=...`, `--host-record=...`, `--dns-rr=...`). Killed on drop.
//! scripts/ci-deps.sh installs it (package dnsmasq-base).

#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running dnsmasq.
pub struct Dnsmasq {
    child: Child,
    /// Where it answers (UDP and TCP).
    pub addr: SocketAddr,
}

impl Dnsmasq {
    /// Starts dnsmasq with these record options and waits until it answers.
    pub fn start(records: &[String]) -> Dnsmasq {
        let found = Command::new("dnsmasq").arg("--version").output();
        assert!(
            matches!(&found, Ok(o) if o.status.success()),
            "dnsmasq is required for this test (apt-get install dnsmasq-base; see scripts/ci-deps.sh)"
        );
        for _ in 0..5 {
            // A free port: bind, read it, release. dnsmasq needs the number.
            let port = UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new("dnsmasq")
                .args([
                    "--keep-in-foreground",
                    "--no-resolv",
                    "--no-hosts",
                    "--conf-file=/dev/null",
                    "--pid-file=",
                    "--listen-address=127.0.0.1",
                    "--bind-interfaces",
                    "--local=/test/",
                    "--log-facility=-",
                ])
                .arg(format!("--port={port}"))
                .args(if is_root() {
                    vec!["--user=root"]
                } else {
                    vec![]
                })
                .args(records)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn dnsmasq");
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken meanwhile: try another
                }
                if answers(addr) {
                    return Dnsmasq { child, addr };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("dnsmasq did not start");
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Whether a DNS query for `probe.test` gets any reply.
fn answers(addr: SocketAddr) -> bool {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["probe", "test"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let _ = s.send_to(&q, addr);
    let mut buf = [0u8; 512];
    s.recv_from(&mut buf).is_ok()
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
