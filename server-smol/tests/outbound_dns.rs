//! DNS and MX resolution against a real DNS server (dnsmasq), and against
//! servers that answer garbage, truncated answers, or never: every lookup
//! ends within a bounded time with a temporary failure.

mod dnsmasq;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use dnsmasq::Dnsmasq;
use sansmail::outbound::dns::{Dns, DnsFailure};
use sansmail::outbound::mx::{self, MxError, MxHost, Myself};

fn records() -> Vec<String> {
    [
        "--mx-host=example.test,mx1.example.test,10",
        "--mx-host=example.test,mx2.example.test,20",
        "--mx-host=example.test,mx3.example.test,20",
        "--host-record=mx1.example.test,127.0.0.11",
        "--host-record=mx2.example.test,127.0.0.12,::1",
        "--host-record=mx3.example.test,127.0.0.13",
        "--host-record=implicit.test,127.0.0.14",
        // RFC 7505 null MX: preference 0, exchange "." (rdata 0000 00).
        "--dns-rr=nullmx.test,15,000000",
        // MX hosts naming us, by name and by address.
        "--mx-host=loop.test,mx.sansmail.test,10",
        "--mx-host=backup.test,mx.sansmail.test,20",
        "--mx-host=backup.test,primary.backup.test,10",
        "--host-record=primary.backup.test,127.0.0.15",
        "--mx-host=selfaddr.test,self.selfaddr.test,10",
        "--host-record=self.selfaddr.test,127.0.0.1",
        "--mx-host=noaddr.test,gone.noaddr.test,10",
        "--txt-record=spf.test,v=spf1 ip4:127.0.0.5 -all",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn myself() -> Myself {
    Myself {
        names: vec!["mx.sansmail.test".into()],
        listeners: vec!["127.0.0.1:2525".parse().unwrap()],
    }
}

fn addrs(h: &MxHost) -> Vec<String> {
    h.addrs.iter().map(ToString::to_string).collect()
}

#[test]
fn mx_by_preference_implicit_mx_null_mx_and_loops() {
    let server = Dnsmasq::start(&records());
    let dns = Dns::new(&[server.addr]).unwrap();
    smol::block_on(async {
        let hosts = mx::resolve(&dns, "Example.TEST.", 25, &myself())
            .await
            .unwrap();
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names[0], "mx1.example.test");
        assert_eq!(hosts[0].preference, 10);
        assert_eq!(addrs(&hosts[0]), vec!["127.0.0.11:25"]);
        let mut rest = names[1..].to_vec();
        rest.sort_unstable();
        assert_eq!(rest, vec!["mx2.example.test", "mx3.example.test"]);
        let mx2 = hosts.iter().find(|h| h.name == "mx2.example.test").unwrap();
        assert_eq!(
            addrs(mx2),
            vec!["127.0.0.12:25", "[::1]:25"],
            "A before AAAA"
        );

        // No MX: the domain's own address, preference 0.
        let hosts = mx::resolve(&dns, "implicit.test", 2526, &myself())
            .await
            .unwrap();
        assert_eq!(
            hosts,
            vec![MxHost {
                name: "implicit.test".into(),
                preference: 0,
                addrs: vec!["127.0.0.14:2526".parse().unwrap()],
            }]
        );

        let err = mx::resolve(&dns, "nullmx.test", 25, &myself())
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "5.1.10 nullmx.test accepts no mail (null MX, RFC 7505)"
        );
        let err = mx::resolve(&dns, "nx.test", 25, &myself())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "5.1.2 no such domain: nx.test");
        let err = mx::resolve(&dns, "loop.test", 25, &myself())
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "5.4.6 mail for loop.test loops back to myself"
        );
        // We are the backup MX: only the better one is tried.
        let hosts = mx::resolve(&dns, "backup.test", 25, &myself())
            .await
            .unwrap();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].name, "primary.backup.test");
        // An MX at our own listener's address and port is us...
        let err = mx::resolve(&dns, "selfaddr.test", 2525, &myself())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                MxError::Permanent {
                    status: "5.4.6",
                    ..
                }
            ),
            "{err}"
        );
        // ... but the same loopback address on another port is a test
        // receiver, and mail goes there.
        let hosts = mx::resolve(&dns, "selfaddr.test", 2600, &myself())
            .await
            .unwrap();
        assert_eq!(addrs(&hosts[0]), vec!["127.0.0.1:2600"]);
        let err = mx::resolve(&dns, "noaddr.test", 25, &myself())
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "5.4.4 no MX host of noaddr.test has an address"
        );

        // TXT and address lookups.
        let txt = dns.txt("spf.test").await.unwrap();
        assert_eq!(txt, vec![b"v=spf1 ip4:127.0.0.5 -all".to_vec()]);
        assert_eq!(dns.txt("implicit.test").await, Err(DnsFailure::NoRecords));
        assert_eq!(dns.txt("nothing.test").await, Err(DnsFailure::NoSuchName));
        assert_eq!(
            dns.ips("mx2.example.test").await.unwrap(),
            vec![
                "127.0.0.12".parse::<std::net::IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
    });
}

/// A server that answers every query with `reply(query)`.
fn udp_server(reply: fn(&[u8]) -> Option<Vec<u8>>) -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = s.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            if let Some(r) = reply(&buf[..n]) {
                let _ = s.send_to(&r, from);
            }
        }
    });
    addr
}

fn assert_temporary_within(server: SocketAddr, limit: Duration) {
    let dns = Dns::new(&[server]).unwrap();
    let start = Instant::now();
    let result = smol::block_on(mx::resolve(&dns, "example.test", 25, &myself()));
    let took = start.elapsed();
    assert!(matches!(result, Err(MxError::Temporary(_))), "{result:?}");
    assert!(took < limit, "took {took:?}");
}

#[test]
fn a_server_that_never_answers_is_a_bounded_temporary_failure() {
    // Bound but never read: queries vanish.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    assert_temporary_within(silent.local_addr().unwrap(), Duration::from_secs(12));
}

#[test]
fn garbage_answers_are_a_temporary_failure() {
    let addr = udp_server(|q| {
        // The query's id, then noise that is no DNS message.
        let mut r = q[..2].to_vec();
        r.extend_from_slice(b"\x81\x80\xff\xff garbage that is not a DNS message");
        Some(r)
    });
    assert_temporary_within(addr, Duration::from_secs(12));
    let addr = udp_server(|_| Some(vec![0xde, 0xad]));
    assert_temporary_within(addr, Duration::from_secs(12));
}

#[test]
fn truncated_answers_fall_back_to_a_tcp_server_that_hangs_up() {
    // UDP: the header of an answer with TC set (RFC 1035 §4.1.1), nothing else.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = udp.local_addr().unwrap();
    // TCP on the same port: accepts and closes at once.
    let tcp = TcpListener::bind(addr).unwrap();
    std::thread::spawn(move || {
        for c in tcp.incoming() {
            drop(c);
        }
    });
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let mut r = buf[..n].to_vec();
            r[2] |= 0x82; // QR + TC
            let _ = udp.send_to(&r, from);
        }
    });
    assert_temporary_within(addr, Duration::from_secs(12));
}

/// Truncated over UDP, answered over TCP (RFC 7766): the TCP path of the
/// smol runtime provider works. A proxy sets TC on every UDP reply and
/// relays TCP to dnsmasq.
#[test]
fn truncated_udp_answers_are_retried_over_tcp() {
    let server = Dnsmasq::start(&records());
    let upstream = server.addr;
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = udp.local_addr().unwrap();
    let tcp = TcpListener::bind(addr).unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            // The query echoed with QR + TC: an answer that did not fit.
            let mut r = buf[..n].to_vec();
            r[2] |= 0x82;
            let _ = udp.send_to(&r, from);
        }
    });
    let relayed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = relayed.clone();
    std::thread::spawn(move || {
        for client in tcp.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let up = std::net::TcpStream::connect(upstream).unwrap();
            let (mut c1, mut u1) = (client.try_clone().unwrap(), up.try_clone().unwrap());
            let (mut c2, mut u2) = (client, up);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c1, &mut u1);
                let _ = u1.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut u2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    let dns = Dns::new(&[addr]).unwrap();
    let start = Instant::now();
    let hosts = smol::block_on(mx::resolve(&dns, "example.test", 25, &myself())).unwrap();
    assert_eq!(hosts[0].name, "mx1.example.test");
    assert_eq!(addrs(&hosts[0]), vec!["127.0.0.11:25"]);
    assert!(relayed.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert!(start.elapsed() < Duration::from_secs(10));
}
