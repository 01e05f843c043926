//! Starting and stopping the server: the store, TLS, the listeners, the
//! executor threads and graceful shutdown. Embeddable in tests the way
//! GreenMail is: [`Server::start`] returns a [`RunningServer`] with the
//! bound addresses and a [`RunningServer::stop`].

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_lite::FutureExt;
use futures_rustls::TlsAcceptor;
use maildir::{Store, StoreConfig, StoreError};
use smol::Async;
use smol::Executor;
use smol::channel::{Receiver, Sender};

use crate::net::TcpStream;
use crate::trace::{Dialect, Trace};

type TcpListener = Async<std::net::TcpListener>;

use crate::accounts::AccountRequest;
use crate::config::{Config, resolve};
use crate::control::ControlSocket;
use crate::net::{PerAccountLimit, PerIpLimit, Stream};
use crate::pop3::Pop3Handler;
use crate::pop3::maildrop::{MaildropLocks, WireSizes};
use crate::pump::{self, PumpContext};
use crate::shared::Shared;
use crate::smtp::{SmtpHandler, SmtpRole, session_config};

/// The first pause after a failed `accept` (EMFILE and friends); it
/// doubles up to [`ACCEPT_BACKOFF_MAX`] while accepting keeps failing.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest pause between two `accept` attempts that failed.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// A failing `accept` is logged at most this often.
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);
/// How long [`RunningServer::stop`] waits for connections to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(8);
/// How long start-up waits for a `sansmail user` command holding the index.
const STORE_LOCK_WAIT: Duration = Duration::from_secs(10);

/// A server failed to start; the message is one line.
#[derive(Debug)]
pub struct StartError(pub String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// One bound listener.
#[derive(Debug, Clone)]
pub struct BoundListener {
    /// `smtp`, `smtps`, `submission`, `submissions`, `imap`, `imaps`,
    /// `pop3`, `pop3s`, `lmtp` or `http`.
    pub name: &'static str,
    /// The real address (with the port chosen by the OS for port 0).
    pub addr: SocketAddr,
}

/// The server library's entry point.
pub struct Server;

/// A started server; dropping it stops it too.
pub struct RunningServer {
    listeners: Vec<BoundListener>,
    stop: Option<Sender<()>>,
    halt: Option<Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    control: Option<ControlSocket>,
}

impl Server {
    /// Opens the store, prepares TLS, binds every configured listener and
    /// starts serving on background threads. Returns once every listener is
    /// bound, or the first problem as a one-line error.
    pub fn start(config: Config) -> Result<RunningServer, StartError> {
        raise_fd_limit();
        // 0700 (docs/DESIGN.md §3: mail is private); the store repairs the modes
        // of an existing data_dir when it opens.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(&config.data_dir)
            .map_err(|e| {
                StartError(format!(
                    "cannot create data_dir {}: {e}",
                    config.data_dir.display()
                ))
            })?;
        let store = open_store(&config)?;
        store.set_quota(maildir::Quota {
            max_bytes: config.limits.quota_bytes,
            max_messages: config.limits.quota_messages,
        });
        store.set_flag_sync(match config.imap_flag_sync {
            crate::config::FlagSync::Batched => maildir::FlagSync::Batched,
            crate::config::FlagSync::Durable => maildir::FlagSync::Durable,
        });
        let tls = crate::tls::server_config(&config).map_err(StartError)?;
        let acceptor = Some(TlsAcceptor::from(tls));

        let metrics = Arc::new(crate::metrics::Metrics::new());
        crate::testing::load_fixtures(&store, &config, &metrics).map_err(StartError)?;
        let api_token = match (config.http.auth, &config.http.token) {
            (crate::config::HttpAuth::None, _) => None,
            (crate::config::HttpAuth::Token, Some(t)) => Some(t.clone()),
            (crate::config::HttpAuth::Token, None) if config.http.listen.is_empty() => None,
            (crate::config::HttpAuth::Token, None) => Some(
                crate::http::token::load_or_create(&config.data_dir)
                    .map_err(|e| StartError(format!("cannot create the API token: {e}")))?,
            ),
        };

        let mut bound = Vec::new();
        let mut specs = config.listener_specs();
        specs.extend(config.http.listen.iter().map(|a| ("http", a.as_str())));
        for (name, text) in specs {
            let addr = resolve(name, text).map_err(|e| StartError(e.0))?;
            let listener = std::net::TcpListener::bind(addr)
                .map_err(|e| StartError(format!("cannot listen on {name} {addr}: {e}")))?;
            let local = listener
                .local_addr()
                .map_err(|e| StartError(format!("cannot listen on {name} {addr}: {e}")))?;
            let listener = Async::new(listener)
                .map_err(|e| StartError(format!("cannot listen on {name} {addr}: {e}")))?;
            bound.push((name, local, listener));
        }
        let executor = Arc::new(Executor::new());
        let (pipeline, outbox_wake) = crate::pipeline::Pipeline::new(
            config.clone(),
            store.clone(),
            crate::outbound::dns::Spawner::on(&executor),
        );
        let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
        let (halt_tx, halt_rx) = smol::channel::bounded::<()>(1);
        let shared = Arc::new(Shared {
            per_ip: Arc::new(PerIpLimit::new(config.limits.max_connections_per_ip)),
            per_account: Arc::new(PerAccountLimit::new(
                config.limits.max_connections_per_account,
            )),
            auth: crate::auth::Authenticator::new(
                crate::auth::PasswordChecker::new(store.clone())
                    .map_err(|e| StartError(format!("cannot start password threads: {e}")))?,
                &config.auth,
                stop_rx.clone(),
                metrics.clone(),
            ),
            pump: PumpContext {
                acceptor: acceptor.clone(),
                shutdown: stop_rx.clone(),
                tls_handshake_timeout: Duration::from_millis(
                    config.limits.tls_handshake_timeout_ms,
                ),
            },
            config,
            store,
            acceptor,
            pipeline: pipeline.clone(),
            metrics,
            api_token,
            ui_sessions: Default::default(),
            maildrops: MaildropLocks::default(),
            pop3_sizes: WireSizes::default(),
            connections: Arc::new(()),
        });

        let on_change = {
            let shared = shared.clone();
            Box::new(move |req: &AccountRequest| match req {
                AccountRequest::Passwd { address, .. } | AccountRequest::Del { address } => {
                    shared.auth.account_changed(address);
                    shared.ui_sessions.account_changed(address);
                }
                _ => {}
            })
        };
        let control =
            ControlSocket::start(&shared.config.data_dir, shared.store.clone(), on_change, {
                let pipeline = shared.pipeline.clone();
                Box::new(move || pipeline.wake_queue())
            })
            .map_err(|e| StartError(format!("control socket: {e}")))?;

        executor
            .spawn(crate::pipeline::webhook::run_outbox(
                pipeline.clone(),
                outbox_wake,
                stop_rx.clone(),
            ))
            .detach();
        let own: Vec<SocketAddr> = bound
            .iter()
            .filter(|(name, _, _)| matches!(*name, "smtp" | "submission" | "submissions"))
            .map(|(_, addr, _)| *addr)
            .collect();
        executor
            .spawn(crate::outbound::worker::run(
                shared.pipeline.clone(),
                shared.metrics.clone(),
                own,
                executor.clone(),
                stop_rx.clone(),
            ))
            .detach();
        let mut listeners = Vec::new();
        for (name, addr, listener) in bound {
            listeners.push(BoundListener { name, addr });
            let task = accept_loop(
                executor.clone(),
                shared.clone(),
                name,
                listener,
                stop_rx.clone(),
            );
            executor.spawn(task).detach();
        }
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 16);
        let threads = (0..threads)
            .map(|i| {
                let ex = executor.clone();
                let halt = halt_rx.clone();
                std::thread::Builder::new()
                    .name(format!("sansmail-{i}"))
                    .spawn(move || {
                        let _ = smol::block_on(ex.run(halt.recv()));
                    })
                    .expect("spawning an executor thread")
            })
            .collect();
        Ok(RunningServer {
            listeners,
            stop: Some(stop_tx),
            halt: Some(halt_tx),
            threads,
            shared,
            control: Some(control),
        })
    }
}

fn open_store(config: &Config) -> Result<Store, StartError> {
    let store_config = StoreConfig {
        data_dir: config.data_dir.clone(),
        hostname: config.hostname.clone(),
        // Cheap hashes only for TestServer's throw-away accounts.
        password_hashing: if config.testing.fast_password_hashing {
            maildir::PasswordHashing::Fast
        } else {
            maildir::PasswordHashing::Standard
        },
    };
    let deadline = Instant::now() + STORE_LOCK_WAIT;
    loop {
        match Store::open(store_config.clone()) {
            Ok(store) => return Ok(store),
            // A `sansmail user` command may hold the index for a moment.
            Err(StoreError::Locked) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(StoreError::Locked) => {
                return Err(StartError(format!(
                    "data_dir {} is in use by another sansmail process",
                    config.data_dir.display()
                )));
            }
            Err(e) => {
                return Err(StartError(format!(
                    "cannot open the store in {}: {e}",
                    config.data_dir.display()
                )));
            }
        }
    }
}

/// Lets the server hold many connections (1,000 from one test client, or
/// thousands of idle IMAP sessions) without running out of descriptors.
fn raise_fd_limit() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
}

impl RunningServer {
    /// Every bound listener, in configuration order.
    pub fn listeners(&self) -> &[BoundListener] {
        &self.listeners
    }

    /// The address of the first listener called `name` (`smtp`, `imaps`, ...).
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.addr)
    }

    /// The store the server delivers into (for tests that inspect it).
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Stops accepting, tells idle clients the server is going away, waits
    /// up to 8 seconds for connections in the middle of a command (a
    /// delivery being made durable) to finish, then stops.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(stop) = self.stop.take() else {
            return;
        };
        drop(stop);
        if let Some(control) = self.control.take() {
            control.stop();
        }
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        while Arc::strong_count(&self.shared.connections) > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(self.halt.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // Batched flag changes of the last window (`[imap] flag_sync`)
        // become durable before the process exits.
        if let Err(e) = self.shared.store.sync_flags() {
            tracing::error!(error = %e, "flushing flag changes at shutdown failed");
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn accept_loop(
    executor: Arc<Executor<'static>>,
    shared: Arc<Shared>,
    name: &'static str,
    listener: TcpListener,
    stop: Receiver<()>,
) {
    let mut backoff = Duration::ZERO;
    let mut failures = 0u64;
    let mut last_log: Option<Instant> = None;
    // A descriptor held in reserve: when accept fails for lack of
    // descriptors, it is closed to accept (and at once close) one waiting
    // client, so that clients are refused promptly instead of hanging in
    // the backlog (libev's documented EMFILE remedy).
    let mut reserve = std::fs::File::open("/dev/null").ok();
    loop {
        let accepted = async { Some(listener.accept().await) }
            .or(async {
                let _ = stop.recv().await;
                None
            })
            .await;
        match accepted {
            None => return,
            Some(Ok((tcp, peer))) => {
                backoff = Duration::ZERO;
                let _ = tcp.get_ref().set_nodelay(true);
                let shared = shared.clone();
                executor
                    .spawn(async move { serve(shared, name, tcp, peer).await })
                    .detach();
            }
            Some(Err(e)) => {
                // EMFILE and friends: back off (doubling) instead of spinning,
                // and say so in the log now and then, not ten times a second.
                failures += 1;
                if last_log.is_none_or(|t| t.elapsed() >= ACCEPT_LOG_EVERY) {
                    tracing::warn!("{name}: accept failed ({failures} times so far): {e}");
                    last_log = Some(Instant::now());
                }
                if is_out_of_descriptors(&e) {
                    if reserve.take().is_some()
                        && let Ok((tcp, _)) = listener.get_ref().accept()
                    {
                        drop(tcp);
                    }
                    // Also when another thread took the freed descriptor
                    // last time: try again to hold one in reserve.
                    reserve = std::fs::File::open("/dev/null").ok();
                }
                backoff = (backoff * 2).clamp(ACCEPT_BACKOFF_MIN, ACCEPT_BACKOFF_MAX);
                let pause = async {
                    async_io::Timer::after(backoff).await;
                    true
                }
                .or(async {
                    let _ = stop.recv().await;
                    false
                });
                if !pause.await {
                    return;
                }
            }
        }
    }
}

/// EMFILE or ENFILE: the process or the system is out of descriptors.
fn is_out_of_descriptors(e: &std::io::Error) -> bool {
    // Raw errno values are the same on Linux and the BSDs.
    matches!(e.raw_os_error(), Some(23 | 24))
}

async fn serve(shared: Arc<Shared>, name: &'static str, tcp: TcpStream, peer: SocketAddr) {
    let _alive = shared.connections.clone();
    let _session = shared.metrics.session_started(name);
    if name == "http" {
        let Some(_slot) = shared.per_ip.acquire(&peer) else {
            tracing::info!(%peer, "http: too many connections from this address");
            return;
        };
        // Boxed, like the TLS handshake below and the handlers' futures in
        // the pump: the task of every connection is as large as the largest
        // state `serve` can be in, and hyper's is large.
        Box::pin(crate::http::serve_connection(shared.clone(), tcp, peer)).await;
        return;
    }
    let implicit_tls = name.ends_with('s');
    let slot = shared.per_ip.acquire(&peer);
    let mut stream = Stream::Plain(tcp);
    if implicit_tls {
        let Some(acceptor) = shared.acceptor.clone() else {
            return;
        };
        let limit = shared.pump.tls_handshake_timeout;
        if let Err(e) =
            Box::pin(stream.upgrade_within(&acceptor, limit, &shared.pump.shutdown)).await
        {
            tracing::debug!(%peer, "{name}: TLS handshake failed: {e}");
            return;
        }
    }
    tracing::debug!(%peer, "{name}: connection");
    match name {
        "smtp" | "smtps" | "submission" | "submissions" | "lmtp" => {
            let role = if name == crate::lmtp::LISTENER {
                SmtpRole::Lmtp
            } else if name.starts_with("smtp") {
                SmtpRole::Mx
            } else {
                SmtpRole::Submission
            };
            let config = session_config(&shared, role, &peer, implicit_tls);
            let now = Instant::now();
            let mut session = if slot.is_some() {
                smtp_proto::ServerSession::new(config, now)
            } else {
                tracing::info!(%peer, "{name}: too many connections from this address");
                smtp_proto::ServerSession::refuse(
                    config,
                    smtp_proto::Reply::new(
                        421,
                        "4.7.0",
                        "Too many connections from your address, try again later",
                    ),
                    now,
                )
            };
            let mut handler = SmtpHandler::new(shared.clone(), peer, role);
            let trace = Trace::new(name, peer, Dialect::Smtp);
            pump::run(&mut stream, &mut session, &mut handler, &shared.pump, trace).await;
        }
        "imap" | "imaps" => {
            let config = crate::imap::session_config(&shared, &peer, implicit_tls);
            let now = Instant::now();
            let mut session = if slot.is_some() {
                imap_proto::session::ServerSession::new(config, now)
            } else {
                tracing::info!(%peer, "{name}: too many connections from this address");
                imap_proto::session::ServerSession::refuse(
                    config,
                    imap_proto::response::RespText::with_code(
                        imap_proto::response::Code::Unit(
                            imap_proto::response::UnitCode::Unavailable,
                        ),
                        "Too many connections from your address",
                    ),
                    now,
                )
            };
            let mut handler = crate::imap::ImapHandler::new(shared.clone(), peer);
            let trace = Trace::new(name, peer, Dialect::Imap);
            pump::run(&mut stream, &mut session, &mut handler, &shared.pump, trace).await;
        }
        _ => {
            let config = crate::pop3::session_config(&shared, &peer, implicit_tls);
            let now = Instant::now();
            let mut session = if slot.is_some() {
                pop3_proto::ServerSession::new(config, now)
            } else {
                pop3_proto::ServerSession::refuse(
                    config,
                    pop3_proto::Response::err_with_code(
                        pop3_proto::ResponseCode::SysTemp,
                        "Too many connections from your address, try again later",
                    ),
                    now,
                )
            };
            let mut handler = Pop3Handler::new(shared.clone(), peer);
            let trace = Trace::new(name, peer, Dialect::Pop3);
            pump::run(&mut stream, &mut session, &mut handler, &shared.pump, trace).await;
        }
    }
    drop(slot);
}
