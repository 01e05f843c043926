//! The one generic pump that moves bytes between a socket and a sans-IO
//! session (docs/DESIGN.md §4). No protocol logic lives here: the protocol glue
//! (`smtp.rs`, ...) answers the session's events through [`Handler`].
//!
//! Each turn of the loop follows the drain order the protocol crates
//! document: write everything `poll_transmit` produced, answer every
//! `poll_event`, then feed pending input; only when the session has taken
//! all input does the pump read again, racing the socket against
//! `poll_timeout` and the server's shutdown signal. Reading only into an
//! empty buffer keeps per-connection memory bounded by the buffer size,
//! whatever the peer sends.

use std::io;
use std::time::{Duration, Instant};

use async_io::Timer;
use bytes::BytesMut;
use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use futures_rustls::TlsAcceptor;

use crate::auth::LoginTicket;
use crate::net::Stream;
use crate::trace::Trace;

/// How many bytes one socket read may bring in.
const READ_CHUNK: usize = 16 * 1024;

/// A client that does not read our output for this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(300);

/// Output held across quick events ([`Handler::quick`]) is written once it
/// reaches this size.
pub const COALESCE_MAX: usize = 64 * 1024;

/// How long the last flush and close of a connection may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The sans-IO session operations the pump drives (docs/DESIGN.md §2).
pub trait SessionIo {
    /// What the session asks of the adapter.
    type Event;
    /// Offers input; returns the bytes taken (0: stop reading for now).
    fn feed(&mut self, data: &[u8]) -> usize;
    /// Appends pending output; true if anything was appended.
    fn poll_transmit(&mut self, out: &mut BytesMut) -> bool;
    /// The next event, if any.
    fn poll_event(&mut self) -> Option<Self::Event>;
    /// When `handle_timeout` must be called next.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Tells the session that time has passed.
    fn handle_timeout(&mut self, now: Instant);
    /// Whether the session is over (its last words were drained).
    fn is_closed(&self) -> bool;
}

/// Implements [`SessionIo`] for a protocol crate's session type: the three
/// crates share the method names and signatures of docs/DESIGN.md §2, so the
/// impl only forwards.
macro_rules! session_io {
    ($session:ty, $event:ty) => {
        impl $crate::pump::SessionIo for $session {
            type Event = $event;
            fn feed(&mut self, data: &[u8]) -> usize {
                <$session>::feed(self, data)
            }
            fn poll_transmit(&mut self, out: &mut bytes::BytesMut) -> bool {
                <$session>::poll_transmit(self, out)
            }
            fn poll_event(&mut self) -> Option<$event> {
                <$session>::poll_event(self)
            }
            fn poll_timeout(&self) -> Option<std::time::Instant> {
                <$session>::poll_timeout(self)
            }
            fn handle_timeout(&mut self, now: std::time::Instant) {
                <$session>::handle_timeout(self, now)
            }
            fn is_closed(&self) -> bool {
                <$session>::is_closed(self)
            }
        }
    };
}
pub(crate) use session_io;

/// What the pump does after an event was answered.
pub enum Next {
    /// Keep going.
    Continue,
    /// Upgrade the stream to TLS (STARTTLS/STLS), dropping any unread
    /// plaintext input (RFC 3207 §4.2), then call [`Handler::on_tls`].
    StartTls,
    /// Turn on COMPRESS=DEFLATE (RFC 4978): input read but not fed yet is
    /// compressed and goes through the inflater first; then call
    /// [`Handler::on_compress`].
    Compress,
    /// Close the connection now.
    Close,
}

/// The protocol glue: answers a session's events from storage and policy.
pub trait Handler {
    /// The session type this glue serves.
    type Session: SessionIo;
    /// Answers one event (storage calls go to the blocking pool). `out`
    /// lets an answer that streams a message (RETR, FETCH BODY[]) write the
    /// session's output as it goes, so memory stays bounded by a chunk.
    fn on_event(
        &mut self,
        session: &mut Self::Session,
        event: <Self::Session as SessionIo>::Event,
        out: &mut Output<'_>,
    ) -> impl Future<Output = Next>;
    /// Whether `event` is answered without waiting for anything but a
    /// short read (IMAP's per-message FETCH reads): the output queued
    /// before it is then held and written with the next, up to
    /// [`COALESCE_MAX`], so a FETCH of many messages costs one `send`
    /// rather than one per message. Output always goes out before an event
    /// that is not quick (a commit, a login) and before the pump waits.
    /// The default: none is.
    fn quick(&self, _event: &<Self::Session as SessionIo>::Event) -> bool {
        false
    }
    /// The stream is now TLS.
    fn on_tls(&mut self, session: &mut Self::Session);
    /// The stream is now compressed (after [`Next::Compress`]; only IMAP
    /// asks for it, so the default does nothing).
    fn on_compress(&mut self, _session: &mut Self::Session) {}
    /// The line sent to an idle client when the server shuts down.
    fn shutdown_notice(&self) -> &'static [u8];
    /// The connection ended (any way): release what the glue holds.
    fn on_close(&mut self) -> impl Future<Output = ()>;
    /// Resolves when something outside the connection needs the session's
    /// attention (another session changed the selected mailbox); the pump
    /// races it against the socket and then calls [`Handler::on_outside`].
    /// The default never resolves.
    fn outside(&mut self) -> impl Future<Output = ()> {
        futures_lite::future::pending()
    }
    /// Hands what [`Handler::outside`] announced to the session. It may
    /// call the store (on the blocking pool): unlike `outside`, it is
    /// never cancelled half-way.
    fn on_outside(&mut self, _session: &mut Self::Session) -> impl Future<Output = ()> {
        async {}
    }
    /// Called before client input is fed to the session: hands over what
    /// [`Handler::outside`] has queued already but the pump has not woken
    /// for yet (the socket won the race, or the input was read with an
    /// earlier command), so a change another session had acknowledged
    /// before this client sent its command is seen by that command. Must
    /// not wait for anything new. The default does nothing.
    fn before_input(&mut self, _session: &mut Self::Session) -> impl Future<Output = ()> {
        async {}
    }
    /// The session's login, once it has one. When the account is deleted
    /// or its password changes the ticket is revoked, and the pump sends
    /// [`Handler::revoked_notice`] and closes the connection (between
    /// commands, like a shutdown).
    fn login(&self) -> Option<&LoginTicket> {
        None
    }
    /// The line sent to a logged-in client whose account was deleted or
    /// whose password changed.
    fn revoked_notice(&self) -> &'static [u8] {
        self.shutdown_notice()
    }
}

/// Shared by every connection's pump.
pub struct PumpContext {
    /// Upgrades plain streams.
    pub acceptor: Option<TlsAcceptor>,
    /// Closed when the server shuts down.
    pub shutdown: smol::channel::Receiver<()>,
    /// How long a STARTTLS/STLS handshake may take (`[limits]
    /// tls_handshake_timeout_ms`): a client that goes silent after the
    /// command would otherwise hold its connection forever.
    pub tls_handshake_timeout: Duration,
}

/// The connection's output side, lent to [`Handler::on_event`].
pub struct Output<'a> {
    stream: &'a mut Stream,
    buf: &'a mut BytesMut,
    trace: &'a mut Option<Trace>,
}

impl Output<'_> {
    /// Writes everything the session has queued so far.
    pub async fn flush<S: SessionIo>(&mut self, session: &mut S) -> io::Result<()> {
        while session.poll_transmit(self.buf) {}
        if !self.buf.is_empty() {
            traced(self.trace, self.buf);
            write_all(self.stream, self.buf).await?;
            release(self.buf);
        }
        Ok(())
    }
}

enum Wake {
    Read(io::Result<usize>),
    Timeout,
    Shutdown,
    Outside,
    Revoked,
}

/// Runs one connection to its end. `trace` (from [`Trace::new`], `None`
/// unless the protocol trace is enabled) sees every byte the session
/// takes and every byte written.
pub async fn run<H: Handler>(
    stream: &mut Stream,
    session: &mut H::Session,
    handler: &mut H,
    ctx: &PumpContext,
    mut trace: Option<Trace>,
) {
    let result = drive(stream, session, handler, ctx, &mut trace).await;
    if let Err(e) = result {
        tracing::debug!("connection ended: {e}");
    }
    Box::pin(handler.on_close()).await;
    // A compressed stream still holds its last words (a BYE) until this
    // flush; both are bounded so a client that stopped reading cannot
    // hold the connection (or a shutdown) open.
    let close = async {
        let _ = flush_compressed(stream).await;
        let _ = stream.close().await;
    };
    close
        .or(async {
            Timer::after(CLOSE_TIMEOUT).await;
        })
        .await;
}

async fn drive<H: Handler>(
    stream: &mut Stream,
    session: &mut H::Session,
    handler: &mut H,
    ctx: &PumpContext,
    trace: &mut Option<Trace>,
) -> io::Result<()> {
    let mut out = BytesMut::new();
    let mut input: Vec<u8> = Vec::new();
    let mut taken = 0usize;
    loop {
        // 1. Output and events, in the documented drain order.
        loop {
            while session.poll_transmit(&mut out) {}
            let event = session.poll_event();
            let hold = out.len() < COALESCE_MAX && event.as_ref().is_some_and(|e| handler.quick(e));
            if !out.is_empty() && !hold {
                traced(trace, &out);
                write_all(stream, &out).await?;
                release(&mut out);
            }
            if handler.login().is_some_and(LoginTicket::is_revoked) {
                if !out.is_empty() {
                    traced(trace, &out);
                    write_all(stream, &out).await?;
                }
                traced(trace, handler.revoked_notice());
                let _ = write_all(stream, handler.revoked_notice()).await;
                return Ok(());
            }
            let Some(event) = event else {
                break;
            };
            let mut output = Output {
                stream,
                buf: &mut out,
                trace,
            };
            // Boxed: the handlers' futures are large (every command's
            // state) and are only alive while an event is handled; inline
            // they would sit in every idle connection's task.
            let next = Box::pin(handler.on_event(session, event, &mut output)).await;
            match next {
                Next::Continue => {}
                Next::Close => return Ok(()),
                Next::StartTls => {
                    // Anything the client pipelined after the command is
                    // plaintext that must not be executed after the upgrade.
                    input.clear();
                    taken = 0;
                    let Some(acceptor) = &ctx.acceptor else {
                        return Err(io::Error::other("STARTTLS without TLS configuration"));
                    };
                    Box::pin(stream.upgrade_within(
                        acceptor,
                        ctx.tls_handshake_timeout,
                        &ctx.shutdown,
                    ))
                    .await?;
                    handler.on_tls(session);
                }
                Next::Compress => {
                    // RFC 4978 §3: the client compresses from the octet
                    // after its command, so what the session has not taken
                    // yet is compressed already.
                    let pending = input.split_off(taken);
                    input = Vec::new();
                    taken = 0;
                    stream.compress(pending)?;
                    handler.on_compress(session);
                }
            }
        }
        if session.is_closed() {
            return Ok(());
        }
        // 2. Pending input.
        if taken < input.len() {
            Box::pin(handler.before_input(session)).await;
            let n = session.feed(&input[taken..]);
            traced_input(trace, &input[taken..taken + n]);
            taken += n;
            if taken == input.len() {
                input = Vec::new();
                taken = 0;
            }
            if n > 0 {
                continue;
            }
        }
        // 3. Wait. A compressed stream is flushed first: everything
        // written so far reaches the client before we wait for it.
        flush_compressed(stream).await?;
        // A session that refuses input while it has nothing to say
        // only waits for its timer (or shutdown); we never read more then.
        let stalled = taken < input.len();
        let deadline = session.poll_timeout();
        let timer = async {
            match deadline {
                Some(at) => {
                    Timer::at(at).await;
                }
                None => futures_lite::future::pending::<()>().await,
            }
            Wake::Timeout
        };
        let shutdown = async {
            let _ = ctx.shutdown.recv().await;
            Wake::Shutdown
        };
        let revoked = handler.login().map(LoginTicket::watch);
        let revoked = async {
            match revoked {
                // Fails (closed) once the ticket is revoked.
                Some(watch) => {
                    let _ = watch.recv().await;
                }
                None => futures_lite::future::pending::<()>().await,
            }
            Wake::Revoked
        };
        let shutdown = shutdown.or(revoked);
        let outside = async {
            handler.outside().await;
            Wake::Outside
        };
        let wake = if stalled {
            timer.or(shutdown).or(outside).await
        } else {
            let read = async {
                // Allocate the read buffer only once there is something to
                // read: idle connections then hold none (docs/DESIGN.md's per-
                // connection memory target).
                if let Err(e) = stream.readable().await {
                    return Wake::Read(Err(e));
                }
                input.resize(READ_CHUNK, 0);
                Wake::Read(stream.read(&mut input).await)
            };
            // `outside` first: a change another session published before
            // this client's next command arrived (its COPY was answered,
            // then this client sent NOOP) is handed to the session before
            // that command is read, so the command's answer reports it
            // (RFC 9051 §5.2; imaptest's two-connection tests rely on it).
            outside.or(read).or(timer).or(shutdown).await
        };
        match wake {
            Wake::Read(Ok(0)) => return Ok(()),
            Wake::Read(Ok(n)) => {
                input.truncate(n);
                input.shrink_to_fit();
            }
            Wake::Read(Err(e)) => return Err(e),
            Wake::Timeout => {
                if !stalled {
                    input = Vec::new();
                }
                session.handle_timeout(Instant::now());
            }
            Wake::Outside => {
                if !stalled {
                    input = Vec::new();
                }
                Box::pin(handler.on_outside(session)).await;
            }
            Wake::Shutdown => {
                traced(trace, handler.shutdown_notice());
                let _ = write_all(stream, handler.shutdown_notice()).await;
                return Ok(());
            }
            Wake::Revoked => {
                traced(trace, handler.revoked_notice());
                let _ = write_all(stream, handler.revoked_notice()).await;
                return Ok(());
            }
        }
    }
}

/// Shows output about to be written to the protocol trace.
fn traced(trace: &mut Option<Trace>, bytes: &[u8]) {
    if let Some(t) = trace {
        t.server(bytes);
    }
}

/// Shows input the session took to the protocol trace.
fn traced_input(trace: &mut Option<Trace>, bytes: &[u8]) {
    if let Some(t) = trace {
        t.client(bytes);
    }
}

/// Empties the output buffer, freeing it when it grew large (a streamed
/// message) so idle connections do not keep it.
fn release(out: &mut BytesMut) {
    if out.capacity() > 8 * 1024 {
        *out = BytesMut::new();
    } else {
        out.clear();
    }
}

/// Writes `bytes` and flushes, within [`WRITE_TIMEOUT`].
///
/// A COMPRESS=DEFLATE stream is not flushed here but by
/// [`flush_compressed`] when the pump is about to wait (and on close): each
/// flush ends a DEFLATE block with a sync flush marker and starts the next
/// with fresh Huffman tables, which per response of a large FETCH would
/// cost about a third of the compression. The client still gets every
/// response before the server waits for anything.
async fn write_all(stream: &mut Stream, bytes: &[u8]) -> io::Result<()> {
    let compressed = stream.is_compressed();
    let write = async {
        stream.write_all(bytes).await?;
        if compressed {
            return Ok(());
        }
        stream.flush().await
    };
    let timeout = async {
        Timer::after(WRITE_TIMEOUT).await;
        Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out"))
    };
    write.or(timeout).await
}

/// Sync-flushes a COMPRESS=DEFLATE stream (RFC 4978 §4), within
/// [`WRITE_TIMEOUT`]; nothing for other streams (they are flushed at each
/// write).
async fn flush_compressed(stream: &mut Stream) -> io::Result<()> {
    if !stream.is_compressed() {
        return Ok(());
    }
    let timeout = async {
        Timer::after(WRITE_TIMEOUT).await;
        Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out"))
    };
    stream.flush().or(timeout).await
}
