//! Connections: a TCP stream that is plain or TLS (and optionally
//! DEFLATE-compressed, [`deflate`]), the per-source connection limit, and
//! what counts as one source.

pub mod deflate;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use std::time::Duration;

use futures_lite::{AsyncRead, AsyncWrite, FutureExt};
use futures_rustls::TlsAcceptor;
use futures_rustls::server::TlsStream;
use smol::Async;

/// The TCP stream type: `Async` directly (rather than `smol::net`) so the
/// pump can wait for readability before it allocates a read buffer.
pub type TcpStream = Async<std::net::TcpStream>;

use crate::config::is_loopback;

/// A client connection, before or after TLS.
pub enum Stream {
    /// Plain TCP (before STARTTLS, or a server without TLS).
    Plain(TcpStream),
    /// TLS over TCP (implicit TLS, or after STARTTLS).
    Tls(Box<TlsStream<TcpStream>>),
    /// COMPRESS=DEFLATE (RFC 4978) over a plain or TLS stream.
    Deflate(Box<deflate::DeflateStream>),
    /// The stream is being upgraded (only seen if an upgrade failed).
    Closed,
}

impl Stream {
    /// Whether COMPRESS=DEFLATE is on.
    pub fn is_compressed(&self) -> bool {
        matches!(self, Stream::Deflate(_))
    }

    /// Turns on COMPRESS=DEFLATE (RFC 4978) over the current stream.
    /// `pending` are octets already read from the peer after its COMPRESS
    /// command: they are compressed and are inflated first.
    pub fn compress(&mut self, pending: Vec<u8>) -> io::Result<()> {
        match std::mem::replace(self, Stream::Closed) {
            Stream::Closed => Err(closed()),
            Stream::Deflate(d) => {
                *self = Stream::Deflate(d);
                Err(io::Error::other("compression is already active"))
            }
            inner => {
                *self = Stream::Deflate(Box::new(deflate::DeflateStream::new(inner, pending)));
                Ok(())
            }
        }
    }

    /// Waits until a read would not block. For plain TCP this costs no
    /// buffer, so an idle connection holds no read buffer at all; TLS keeps
    /// its own buffers and is simply polled.
    pub async fn readable(&self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.readable().await,
            Stream::Deflate(d) if !d.has_pending_input() => Box::pin(d.inner().readable()).await,
            _ => Ok(()),
        }
    }

    /// Upgrades a plain stream to TLS (STARTTLS/STLS). The plain stream is
    /// consumed; on failure the connection is gone.
    pub async fn upgrade(&mut self, acceptor: &TlsAcceptor) -> io::Result<()> {
        match std::mem::replace(self, Stream::Closed) {
            Stream::Plain(tcp) => {
                let tls = acceptor.accept(tcp).await?;
                *self = Stream::Tls(Box::new(tls));
                Ok(())
            }
            other => {
                *self = other;
                Err(io::Error::other(
                    "TLS is already active (or the stream is compressed)",
                ))
            }
        }
    }

    /// [`Stream::upgrade`] for at most `limit`, or until `shutdown` closes.
    /// Every handshake is bounded: a client that connects to an implicit-
    /// TLS port, or sends STARTTLS/STLS, and then stays silent would
    /// otherwise hold its descriptor forever (the protocol sessions' idle
    /// timers do not run during the handshake).
    pub async fn upgrade_within(
        &mut self,
        acceptor: &TlsAcceptor,
        limit: Duration,
        shutdown: &smol::channel::Receiver<()>,
    ) -> io::Result<()> {
        async { self.upgrade(acceptor).await }
            .or(async {
                async_io::Timer::after(limit).await;
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TLS handshake timed out",
                ))
            })
            .or(async {
                let _ = shutdown.recv().await;
                Err(io::Error::other(
                    "server shutting down during a TLS handshake",
                ))
            })
            .await
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection closed")
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Deflate(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Closed => Poll::Ready(Err(closed())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Deflate(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Closed => Poll::Ready(Err(closed())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Deflate(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Closed => Poll::Ready(Ok(())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_close(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_close(cx),
            Stream::Deflate(s) => Pin::new(s.as_mut()).poll_close(cx),
            Stream::Closed => Poll::Ready(Ok(())),
        }
    }
}

/// The source a client address counts as, for per-source limits and the
/// login penalty: an IPv4 address itself (IPv4-mapped IPv6 addresses count
/// as their IPv4 address), and for IPv6 its /64 prefix. A single IPv6 host
/// usually controls a whole /64 (SLAAC, privacy addresses, RFC 7421), so
/// keying on the full address would let it open 2^64 "sources".
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Counts open connections per client source ([`source_key`]: the IPv4
/// address, or the IPv6 /64).
///
/// Loopback clients are exempt (Postfix exempts `$mynetworks` from its
/// connection count limit the same way): test rigs and local fetchers open
/// many connections from 127.0.0.1.
#[derive(Default)]
pub struct PerIpLimit {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// Releases one connection slot when dropped.
pub struct IpSlot {
    limit: Arc<PerIpLimit>,
    ip: Option<IpAddr>,
}

impl PerIpLimit {
    /// A limit of `max` concurrent connections per non-loopback address.
    pub fn new(max: usize) -> Self {
        PerIpLimit {
            max,
            open: Mutex::default(),
        }
    }

    /// Takes a slot for `peer`, or `None` when it already has `max` open.
    pub fn acquire(self: &Arc<Self>, peer: &SocketAddr) -> Option<IpSlot> {
        if is_loopback(peer) {
            return Some(IpSlot {
                limit: self.clone(),
                ip: None,
            });
        }
        let ip = source_key(peer.ip());
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            limit: self.clone(),
            ip: Some(ip),
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        if let Some(ip) = self.ip {
            let mut open = self.limit.open.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = open.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&ip);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_limit_counts_and_releases() {
        let limit = Arc::new(PerIpLimit::new(2));
        let far: SocketAddr = "192.0.2.7:1000".parse().unwrap();
        let a = limit.acquire(&far).unwrap();
        let _b = limit.acquire(&far).unwrap();
        assert!(limit.acquire(&far).is_none());
        drop(a);
        assert!(limit.acquire(&far).is_some());
        let lo: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let many: Vec<_> = (0..10).map(|_| limit.acquire(&lo).unwrap()).collect();
        assert_eq!(many.len(), 10);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let limit = Arc::new(PerIpLimit::new(2));
        let a: SocketAddr = "[2001:db8:1:2::1]:1".parse().unwrap();
        let b: SocketAddr = "[2001:db8:1:2:ffff:ffff:ffff:ffff]:2".parse().unwrap();
        let other: SocketAddr = "[2001:db8:1:3::1]:3".parse().unwrap();
        let _a = limit.acquire(&a).unwrap();
        let _b = limit.acquire(&b).unwrap();
        assert!(limit.acquire(&a).is_none(), "same /64 shares the limit");
        assert!(limit.acquire(&other).is_some(), "another /64 does not");
        let mapped: SocketAddr = "[::ffff:192.0.2.9]:1".parse().unwrap();
        assert_eq!(
            source_key(mapped.ip()),
            "192.0.2.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            source_key(a.ip()),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
    }
}

/// Counts logged-in sessions per account (IMAP), so one account cannot
/// take every connection of the server.
#[derive(Default)]
pub struct PerAccountLimit {
    max: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// Releases one account session slot when dropped.
pub struct AccountSlot {
    limit: Arc<PerAccountLimit>,
    key: String,
}

impl PerAccountLimit {
    /// A limit of `max` concurrent sessions per account.
    pub fn new(max: usize) -> Self {
        PerAccountLimit {
            max,
            open: Mutex::default(),
        }
    }

    /// Takes a slot for `account`, or `None` when it already has `max`.
    pub fn acquire(self: &Arc<Self>, account: &str) -> Option<AccountSlot> {
        let key = account.to_lowercase();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(key.clone()).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AccountSlot {
            limit: self.clone(),
            key,
        })
    }
}

impl Drop for AccountSlot {
    fn drop(&mut self) {
        let mut open = self.limit.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod account_tests {
    use super::*;

    #[test]
    fn per_account_limit_is_case_insensitive_and_released() {
        let limit = Arc::new(PerAccountLimit::new(1));
        let a = limit.acquire("Alice@localhost").unwrap();
        assert!(limit.acquire("alice@LOCALHOST").is_none());
        drop(a);
        assert!(limit.acquire("alice@localhost").is_some());
    }
}
