//! DNS for outbound mail and the checks: hickory-resolver on smol.
//!
//! hickory talks to the network through its `RuntimeProvider` trait; the
//! provider here puts its UDP sockets, TCP streams, timers and background
//! tasks on async-io and a smol executor ([`Spawner`]: the server's own, or
//! smol's global one), so no tokio runtime ever runs. The servers are `[outbound] resolvers` ("ip:port", UDP with TCP
//! fallback on truncation), or `/etc/resolv.conf` when that list is empty.
//! Every lookup is bounded in time by an outer deadline as well as by
//! hickory's own per-query timeout, whatever a broken server sends.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use async_io::{Async, Timer};
use futures_lite::{AsyncRead, AsyncWrite};
use hickory_resolver::Resolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::{DnsTcpStream, DnsUdpSocket, RuntimeProvider, Spawn, Time};
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::Name;
use hickory_resolver::proto::rr::{RData, RecordType};

/// Per query and server: a resolver that does not answer in this time is
/// skipped (RFC 1035 §4.2.1 leaves it to the client; 3 s is Postfix's and
/// glibc's order of magnitude).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// Upper bound for one whole lookup (every server, every attempt, TCP
/// fallback included).
pub const LOOKUP_DEADLINE: Duration = Duration::from_secs(10);

/// Where hickory's background tasks (one per open connection to a DNS
/// server) and the checks' lookups ([`Dns::spawn`]) run.
///
/// The server passes its own executor: then a lookup, the exchange that
/// sends it and the connection task waiting for it share the executor
/// threads, instead of each answer crossing to smol's global executor
/// thread and back (a wake-up and two context switches per lookup; the
/// inbound rig with checks ran about 5 % faster, benches/README.md
/// "Stop 29"). The default is smol's global executor, for resolvers
/// made outside a server (tests, the CLI).
///
/// It holds the executor weakly: the executor's tasks (a connection's
/// message, hickory's exchange) hold resolvers, and a strong reference
/// would make a cycle that keeps a stopped server's executor, and the
/// store its tasks hold, alive. Once the executor is gone, spawns go to
/// smol's global executor.
#[derive(Clone, Default)]
pub struct Spawner(Option<Weak<smol::Executor<'static>>>);

impl Spawner {
    /// Spawns on `executor` while it exists.
    pub fn on(executor: &Arc<smol::Executor<'static>>) -> Spawner {
        Spawner(Some(Arc::downgrade(executor)))
    }

    /// Starts `future`; dropping the task cancels it.
    pub fn spawn<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> smol::Task<T> {
        match self.0.as_ref().and_then(Weak::upgrade) {
            Some(executor) => executor.spawn(future),
            None => smol::spawn(future),
        }
    }
}

impl std::fmt::Debug for Spawner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Spawner(server executor)"
        } else {
            "Spawner(smol global executor)"
        })
    }
}

/// hickory's runtime on async-io / smol.
#[derive(Clone, Debug, Default)]
pub struct SmolRuntime(Spawner);

/// Spawns hickory's background tasks on the runtime's [`Spawner`].
#[derive(Clone, Debug, Default)]
pub struct SmolHandle(Spawner);

impl Spawn for SmolHandle {
    fn spawn_bg(&mut self, future: impl Future<Output = ()> + Send + 'static) {
        self.0.spawn(future).detach();
    }
}

/// Timers from async-io.
#[derive(Clone, Copy, Debug, Default)]
pub struct SmolTime;

#[async_trait::async_trait]
impl Time for SmolTime {
    async fn delay_for(duration: Duration) {
        Timer::after(duration).await;
    }

    async fn timeout<F: 'static + Future + Send>(
        duration: Duration,
        future: F,
    ) -> Result<F::Output, io::Error> {
        futures_lite::future::or(async { Ok(future.await) }, async {
            Timer::after(duration).await;
            Err(io::Error::new(io::ErrorKind::TimedOut, "DNS timeout"))
        })
        .await
    }
}

/// A UDP socket registered with async-io.
#[derive(Debug)]
pub struct SmolUdp(Async<UdpSocket>);

impl DnsUdpSocket for SmolUdp {
    type Time = SmolTime;

    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        loop {
            match self.0.get_ref().recv_from(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::task::ready!(self.0.poll_readable(cx))?;
                }
                other => return Poll::Ready(other),
            }
        }
    }

    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.0.get_ref().send_to(buf, target) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::task::ready!(self.0.poll_writable(cx))?;
                }
                other => return Poll::Ready(other),
            }
        }
    }
}

/// A TCP stream registered with async-io (DNS over TCP after a truncated
/// UDP answer, RFC 7766).
#[derive(Debug)]
pub struct SmolTcp(Async<TcpStream>);

impl AsyncRead for SmolTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for SmolTcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

impl DnsTcpStream for SmolTcp {
    type Time = SmolTime;
}

impl RuntimeProvider for SmolRuntime {
    type Handle = SmolHandle;
    type Timer = SmolTime;
    type Udp = SmolUdp;
    type Tcp = SmolTcp;

    fn create_handle(&self) -> SmolHandle {
        SmolHandle(self.0.clone())
    }

    fn connect_tcp(
        &self,
        server_addr: SocketAddr,
        bind_addr: Option<SocketAddr>,
        timeout: Option<Duration>,
    ) -> Pin<Box<dyn Send + Future<Output = Result<SmolTcp, io::Error>>>> {
        Box::pin(async move {
            if bind_addr.is_some() {
                // We never configure one (NameServerConfig below).
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "binding DNS TCP connections is not supported",
                ));
            }
            let connect =
                async move { Async::<TcpStream>::connect(server_addr).await.map(SmolTcp) };
            SmolTime::timeout(timeout.unwrap_or(QUERY_TIMEOUT), Box::pin(connect))
                .await
                .and_then(|r| r)
        })
    }

    fn bind_udp(
        &self,
        local_addr: SocketAddr,
        _server_addr: SocketAddr,
    ) -> Pin<Box<dyn Send + Future<Output = Result<SmolUdp, io::Error>>>> {
        Box::pin(async move { Async::<UdpSocket>::bind(local_addr).map(SmolUdp) })
    }
}

/// Why a lookup has no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsFailure {
    /// NXDOMAIN: the name does not exist (a permanent condition).
    NoSuchName,
    /// The name exists but has no record of the type asked (NODATA).
    NoRecords,
    /// SERVFAIL, a timeout, garbage: try again later.
    Temporary(String),
}

impl std::fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DnsFailure::NoSuchName => f.write_str("no such domain (NXDOMAIN)"),
            DnsFailure::NoRecords => f.write_str("no records of this type"),
            DnsFailure::Temporary(why) => write!(f, "temporary DNS failure: {why}"),
        }
    }
}

/// The resolver every outbound and checks lookup goes through.
#[derive(Clone)]
pub struct Dns {
    resolver: Resolver<SmolRuntime>,
    deadline: Duration,
    spawner: Spawner,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Parses `[outbound] resolvers` entries: `ip:port`, or a bare IP (port 53).
///
/// # Errors
/// The offending entry.
pub fn parse_resolvers(list: &[String]) -> Result<Vec<SocketAddr>, String> {
    list.iter()
        .map(|s| {
            s.parse::<SocketAddr>()
                .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| format!("[outbound] resolvers: {s:?} is not ip:port"))
        })
        .collect()
}

impl Dns {
    /// The resolver `[outbound] resolvers` names (or `/etc/resolv.conf`).
    ///
    /// # Errors
    /// A malformed entry, or as [`Dns::new`].
    pub fn from_config(
        outbound: &crate::config::OutboundConfig,
        spawner: Spawner,
    ) -> Result<Dns, String> {
        Dns::new_on(&parse_resolvers(&outbound.resolvers)?, spawner)
    }

    /// A resolver over `servers`, or over `/etc/resolv.conf` when empty,
    /// on smol's global executor.
    ///
    /// # Errors
    /// An unreadable resolv.conf, or a server list hickory refuses.
    pub fn new(servers: &[SocketAddr]) -> Result<Dns, String> {
        Dns::new_on(servers, Spawner::default())
    }

    /// As [`Dns::new`], its tasks on `spawner`.
    ///
    /// # Errors
    /// As [`Dns::new`].
    pub fn new_on(servers: &[SocketAddr], spawner: Spawner) -> Result<Dns, String> {
        let (config, mut opts) = if servers.is_empty() {
            hickory_resolver::system_conf::read_system_conf()
                .map_err(|e| format!("cannot read /etc/resolv.conf: {e}"))?
        } else {
            let mut config = ResolverConfig::from_parts(None, Vec::new(), Vec::new());
            for s in servers {
                let mut udp = ConnectionConfig::new(ProtocolConfig::Udp);
                udp.port = s.port();
                let mut tcp = ConnectionConfig::new(ProtocolConfig::Tcp);
                tcp.port = s.port();
                config.add_name_server(NameServerConfig::new(s.ip(), true, vec![udp, tcp]));
            }
            (config, ResolverOpts::default())
        };
        opts.timeout = QUERY_TIMEOUT;
        opts.attempts = 1;
        // Mail names are absolute: no search list, no /etc/hosts.
        opts.ndots = 0;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.edns0 = true;
        let resolver = Resolver::builder_with_config(config, SmolRuntime(spawner.clone()))
            .with_options(opts)
            .build()
            .map_err(|e| format!("cannot set up the DNS resolver: {e}"))?;
        Ok(Dns {
            resolver,
            deadline: LOOKUP_DEADLINE,
            spawner,
        })
    }

    /// Starts `future` (a lookup through this resolver) where the
    /// resolver's own tasks run ([`Spawner`]).
    pub fn spawn<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> smol::Task<T> {
        self.spawner.spawn(future)
    }

    /// One query, bounded by the deadline, classified.
    async fn query(&self, name: &str, rtype: RecordType) -> Result<Vec<RData>, DnsFailure> {
        let fqdn = if name.ends_with('.') {
            name.to_owned()
        } else {
            format!("{name}.")
        };
        let name = Name::from_str_relaxed(fqdn.as_str())
            .map_err(|e| DnsFailure::Temporary(format!("bad name {fqdn:?}: {e}")))?;
        let lookup = self.resolver.lookup(name, rtype);
        let deadline = async {
            Timer::after(self.deadline).await;
            Err(NetError::Timeout)
        };
        match futures_lite::future::or(lookup, deadline).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter(|r| r.data.record_type() == rtype)
                .map(|r| r.data.clone())
                .collect()),
            Err(e) => Err(classify(&e)),
        }
    }

    /// MX records: (preference, exchange without the trailing dot).
    ///
    /// # Errors
    /// [`DnsFailure`].
    pub async fn mx(&self, domain: &str) -> Result<Vec<(u16, String)>, DnsFailure> {
        let answers = self.query(domain, RecordType::MX).await?;
        let out: Vec<(u16, String)> = answers
            .into_iter()
            .filter_map(|r| match r {
                RData::MX(mx) => Some((mx.preference, name_text(&mx.exchange.to_ascii()))),
                _ => None,
            })
            .collect();
        if out.is_empty() {
            return Err(DnsFailure::NoRecords);
        }
        Ok(out)
    }

    /// The addresses of a host: A records, then AAAA (RFC 5321 §5.1).
    ///
    /// # Errors
    /// [`DnsFailure`]: NXDOMAIN or no address of either family; a
    /// temporary failure of either query when the other found nothing.
    pub async fn ips(&self, host: &str) -> Result<Vec<IpAddr>, DnsFailure> {
        let (v4, v6) = futures_lite::future::zip(
            self.query(host, RecordType::A),
            self.query(host, RecordType::AAAA),
        )
        .await;
        let mut out = Vec::new();
        for r in v4.iter().chain(v6.iter()).flatten() {
            match r {
                RData::A(a) => out.push(IpAddr::V4(a.0)),
                RData::AAAA(a) => out.push(IpAddr::V6(a.0)),
                _ => {}
            }
        }
        if !out.is_empty() {
            return Ok(out);
        }
        match (v4, v6) {
            (Err(e @ DnsFailure::Temporary(_)), _) | (_, Err(e @ DnsFailure::Temporary(_))) => {
                Err(e)
            }
            (Err(DnsFailure::NoSuchName), _) | (_, Err(DnsFailure::NoSuchName)) => {
                Err(DnsFailure::NoSuchName)
            }
            _ => Err(DnsFailure::NoRecords),
        }
    }

    /// TXT records, each one's character-strings joined (RFC 7208 §3.3).
    ///
    /// # Errors
    /// [`DnsFailure`].
    pub async fn txt(&self, name: &str) -> Result<Vec<Vec<u8>>, DnsFailure> {
        let answers = self.query(name, RecordType::TXT).await?;
        let out: Vec<Vec<u8>> = answers
            .into_iter()
            .filter_map(|r| match r {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .flat_map(|s| s.iter().copied())
                        .collect(),
                ),
                _ => None,
            })
            .collect();
        if out.is_empty() {
            return Err(DnsFailure::NoRecords);
        }
        Ok(out)
    }
}

/// A name as text, lower-case, without the root dot.
fn name_text(s: &str) -> String {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() {
        ".".to_owned()
    } else {
        s.to_ascii_lowercase()
    }
}

fn classify(e: &NetError) -> DnsFailure {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(no)) => {
            if no.response_code == ResponseCode::NXDomain {
                DnsFailure::NoSuchName
            } else {
                DnsFailure::NoRecords
            }
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::NXDomain)) => DnsFailure::NoSuchName,
        other => DnsFailure::Temporary(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A one-record DNS server on a loopback UDP socket: answers every
    /// query with one TXT record ("v=spf1 -all", TTL 0, so nothing may be
    /// cached) after `delay`, and counts the queries.
    fn txt_server(delay: Duration) -> (SocketAddr, Arc<AtomicUsize>) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, peer)) = socket.recv_from(&mut buf) {
                seen.fetch_add(1, Ordering::SeqCst);
                let q = &buf[..n];
                // Header (12) and the question: name labels, type, class.
                let mut end = 12;
                while end < n && q[end] != 0 {
                    end += 1 + usize::from(q[end]);
                }
                let question = &q[12..end + 5];
                let text = b"v=spf1 -all";
                let mut r = Vec::new();
                r.extend_from_slice(&q[..2]); // id
                r.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
                r.extend_from_slice(question);
                r.extend_from_slice(&[0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 0]);
                r.extend_from_slice(&u16::try_from(text.len() + 1).unwrap().to_be_bytes());
                r.push(u8::try_from(text.len()).unwrap());
                r.extend_from_slice(text);
                std::thread::sleep(delay);
                let _ = socket.send_to(&r, peer);
            }
        });
        (addr, count)
    }

    /// hickory shares a query in flight among concurrent lookups of one
    /// name and type, and keeps nothing a TTL of 0 forbids: the checks of
    /// ten messages from one domain arriving together make one SPF query,
    /// and the next message asks again (benches/README.md, stop 26: the
    /// inbound bench's dnsmasq answers with TTL 0).
    #[test]
    fn concurrent_lookups_share_one_query_and_none_is_cached() {
        let (addr, count) = txt_server(Duration::from_millis(200));
        let dns = Dns::new(&[addr]).unwrap();
        let answers: Vec<_> = smol::block_on(async {
            let tasks: Vec<_> = (0..10)
                .map(|_| {
                    let dns = dns.clone();
                    smol::spawn(async move { dns.txt("Sender.TEST").await })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await);
            }
            out
        });
        for a in &answers {
            assert_eq!(a, &Ok(vec![b"v=spf1 -all".to_vec()]));
        }
        // One query here (two when hickory resends a UDP query the server
        // is slow to answer, more on a machine too loaded to start the ten
        // lookups within the answer's delay); not one per lookup.
        let shared = count.load(Ordering::SeqCst);
        assert!(
            (1..10).contains(&shared),
            "{shared} queries for 10 concurrent lookups"
        );
        // Once answered, nothing is kept: the next lookup asks again.
        let again = smol::block_on(dns.txt("sender.test"));
        assert_eq!(again, Ok(vec![b"v=spf1 -all".to_vec()]));
        assert!(
            count.load(Ordering::SeqCst) > shared,
            "a TTL-0 answer was cached"
        );
    }

    /// A server's resolver runs its lookups on the server's executor, and
    /// does not keep that executor alive once the server dropped it (a
    /// strong reference would: its tasks hold the resolver); after that,
    /// lookups go to smol's global executor and still get their answers.
    #[test]
    fn lookups_run_on_the_given_executor_and_do_not_keep_it_alive() {
        let (addr, _) = txt_server(Duration::ZERO);
        let executor = Arc::new(smol::Executor::new());
        let dns = Dns::new_on(&[addr], Spawner::on(&executor)).unwrap();
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let thread = {
            let executor = Arc::clone(&executor);
            std::thread::Builder::new()
                .name("test-executor".into())
                .spawn(move || smol::block_on(executor.run(stopped.recv())))
                .unwrap()
        };
        let resolver = dns.clone();
        let (answer, ran_on) = smol::block_on(dns.spawn(async move {
            let answer = resolver.txt("sender.test").await;
            (answer, std::thread::current().name().map(str::to_owned))
        }));
        assert_eq!(answer, Ok(vec![b"v=spf1 -all".to_vec()]));
        assert_eq!(ran_on.as_deref(), Some("test-executor"));

        drop(stop);
        let _ = thread.join().unwrap();
        let weak = Arc::downgrade(&executor);
        drop(executor);
        assert!(
            weak.upgrade().is_none(),
            "the resolver (or a task it spawned) keeps its executor alive"
        );
        let resolver = dns.clone();
        let (again, ran_on) = smol::block_on(dns.spawn(async move {
            let answer = resolver.txt("sender.test").await;
            (answer, std::thread::current().name().map(str::to_owned))
        }));
        assert_eq!(again, Ok(vec![b"v=spf1 -all".to_vec()]));
        assert_ne!(ran_on.as_deref(), Some("test-executor"));
    }

    #[test]
    fn resolver_lists_parse() {
        assert_eq!(
            parse_resolvers(&["127.0.0.1:5353".into(), "::1".into()]).unwrap(),
            vec![
                "127.0.0.1:5353".parse::<SocketAddr>().unwrap(),
                "[::1]:53".parse().unwrap()
            ]
        );
        assert!(parse_resolvers(&["dns.example:53".into()]).is_err());
        assert_eq!(name_text("MX.Example.NET."), "mx.example.net");
        assert_eq!(name_text("."), ".");
    }
}
