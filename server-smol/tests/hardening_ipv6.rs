//! Hardening, connections (issue 9, item 3): the per-source connection
//! limit (`[limits] max_connections_per_ip`) keys an IPv6 client on its /64
//! (`net::source_key`), against the real binary over real IPv6 sockets.
//!
//! The test adds `fd00:5a::1/64`, `fd00:5a::2/64` and `fd00:5b::1/64` to
//! `lo` (`ip -6 addr add ... dev lo nodad`, removed again afterwards) and
//! connects to `[smtp]` bound on `[::]:0`, each client bound to one of them
//! as its source:
//! - two addresses of one /64 share one limit (the second 2-connection
//!   source is refused with `421 4.7.0`);
//! - an address of another /64 has its own limit;
//! - `::1` stays exempt (`config::is_loopback`: `::1` and IPv4-mapped
//!   loopback only; an `fd00:` address on `lo` is not loopback and counts).
//!
//! Needs root (to add addresses) and `ip` (iproute2, scripts/ci-deps.sh).
//! As another user it prints why and does nothing, as the issue allows.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use common::*;

/// The per-source limit configured.
const LIMIT: usize = 2;

const A1: &str = "fd00:5a::1";
const A2: &str = "fd00:5a::2";
const B1: &str = "fd00:5b::1";

/// Adds the test addresses to `lo`; removes them when dropped.
struct LoAddrs(Vec<&'static str>);

impl LoAddrs {
    fn add(addrs: &[&'static str]) -> LoAddrs {
        let mut added = LoAddrs(Vec::new());
        for a in addrs {
            // A leftover from an interrupted run is removed first.
            let _ = ip(&["-6", "addr", "del", &format!("{a}/64"), "dev", "lo"]);
            let out = ip(&[
                "-6",
                "addr",
                "add",
                &format!("{a}/64"),
                "dev",
                "lo",
                "nodad",
            ]);
            assert!(
                out.status.success(),
                "ip -6 addr add {a}/64 dev lo nodad failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            added.0.push(a);
        }
        added
    }
}

impl Drop for LoAddrs {
    fn drop(&mut self) {
        for a in &self.0 {
            let _ = ip(&["-6", "addr", "del", &format!("{a}/64"), "dev", "lo"]);
        }
    }
}

fn ip(args: &[&str]) -> std::process::Output {
    Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2; scripts/ci-deps.sh installs it)")
}

fn is_root() -> bool {
    // The effective uid from /proc (no libc in the test crate).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Connects from `source` to the server and returns the stream and its
/// first reply line.
fn connect_from(source: &str, server: SocketAddr) -> (TcpStream, String) {
    let src: Ipv6Addr = source.parse().expect("source address");
    let socket = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None)
        .expect("IPv6 socket");
    socket
        .bind(&SocketAddr::new(IpAddr::V6(src), 0).into())
        .unwrap_or_else(|e| panic!("bind to {source}: {e}"));
    socket
        .connect_timeout(&server.into(), Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect from {source} to {server}: {e}"));
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut line = String::new();
    BufReader::new(stream.try_clone().unwrap())
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("greeting for {source}: {e}"));
    (stream, line)
}

fn assert_greeted(who: &str, line: &str) {
    assert!(
        line.starts_with("220 "),
        "{who} should be served, got {line:?}"
    );
}

fn assert_refused(who: &str, line: &str) {
    assert!(
        line.starts_with("421 4.7.0 Too many connections from your address"),
        "{who} should be over the limit, got {line:?}"
    );
}

#[test]
#[cfg_attr(not(have_ip), ignore = "needs ip (iproute2)")]
fn ipv6_sources_share_the_limit_per_64() {
    if !is_root() {
        eprintln!("SKIPPED ipv6_sources_share_the_limit_per_64: adding addresses to lo needs root");
        return;
    }
    let _addrs = LoAddrs::add(&[A1, A2, B1]);
    let site = site_with_auth(
        Opts {
            listeners: vec!["smtp"],
            ..Opts::default()
        },
        "failure_delay_ms = 0",
    );
    let toml = std::fs::read_to_string(site.config()).expect("read config");
    let toml = toml
        .replacen(
            "[smtp]\nlisten = [\"127.0.0.1:0\"]",
            "[smtp]\nlisten = [\"[::]:0\"]",
            1,
        )
        .replacen(
            "[limits]\n",
            &format!("[limits]\nmax_connections_per_ip = {LIMIT}\n"),
            1,
        );
    assert!(toml.contains("\"[::]:0\""), "config rewritten: {toml}");
    std::fs::write(site.config(), toml).expect("write config");
    let server = site.start();
    let port = server.port("smtp");
    let target = |a: &str| SocketAddr::new(IpAddr::V6(a.parse().unwrap()), port);

    // fd00:5a::1 and fd00:5a::2 are one /64: one connection each fills it.
    let (_a1, line) = connect_from(A1, target(A1));
    assert_greeted(A1, &line);
    let (_a2, line) = connect_from(A2, target(A1));
    assert_greeted(A2, &line);
    let (_a1_over, line) = connect_from(A1, target(A1));
    assert_refused("a third connection from fd00:5a::/64 (via ::1)", &line);
    let (_a2_over, line) = connect_from(A2, target(A1));
    assert_refused("a third connection from fd00:5a::/64 (via ::2)", &line);

    // Another /64 has its own limit, on the same lo interface.
    let (_b1, line) = connect_from(B1, target(A1));
    assert_greeted(B1, &line);
    let (_b2, line) = connect_from(B1, target(A1));
    assert_greeted("a second connection from fd00:5b::1", &line);
    let (_b3, line) = connect_from(B1, target(A1));
    assert_refused("a third connection from fd00:5b::/64", &line);

    // ::1 is loopback and exempt: more than LIMIT connections are served.
    let lo: Vec<_> = (0..LIMIT + 2)
        .map(|i| {
            let (s, line) = connect_from("::1", target("::1"));
            assert_greeted(&format!("loopback connection {i} from ::1"), &line);
            s
        })
        .collect();
    drop(lo);

    // A slot comes back when a connection of the /64 closes.
    drop(_a1);
    drop(_a1_over);
    drop(_a2_over);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_s, line) = connect_from(A2, target(A1));
        if line.starts_with("220 ") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the /64's slot never came back: {line:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
