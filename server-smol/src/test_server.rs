//! [`TestServer`]: a whole sansmail for a Rust test suite in one line, the
//! way GreenMail's JUnit extension is used from Java.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_lite::FutureExt;

use crate::config::{Config, HttpAuth, Listeners};
use crate::http::message::{bodies, header_list};
use crate::http::messages::{self, Filter, Location, Summary};
use crate::server::{RunningServer, Server, StartError};

/// A server on a temporary `data_dir` (removed on drop; under `/dev/shm`
/// when it exists, so that fsyncs are free) with every
/// listener on a free loopback port, `[testing] catch_all` on, HTTP
/// `auth = "none"` and cheap password hashing for its accounts.
///
/// Many can run in parallel in one test process; each has its own
/// directory, ports and metrics.
///
/// | GreenMail (Java)                              | sansmail                                      |
/// |-----------------------------------------------|-----------------------------------------------|
/// | `new GreenMail(ServerSetupTest.ALL).start()`  | `TestServer::start()`                         |
/// | `greenMail.getSmtp().getPort()`               | `server.addr("smtp").port()`                  |
/// | `greenMail.setUser("a@x", "pw")`              | `server.add_user("a@x", "pw")`                |
/// | `greenMail.getReceivedMessages()`             | `server.messages()`                           |
/// | `greenMail.waitForIncomingEmail(5000, 2)`     | `server.wait_for_messages(2, Duration::from_secs(5))` |
/// | `greenMail.purgeEmailFromAllMailboxes()`      | `server.purge()`                              |
/// | `greenMail.stop()`                            | `drop(server)`                                |
pub struct TestServer {
    // Field order: the server stops before its directory is removed.
    server: RunningServer,
    dir: tempfile::TempDir,
}

/// A message as the test sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The API id (`GET /api/v1/messages/{id}`).
    pub id: String,
    /// The account it was delivered to (the envelope recipient).
    pub user: String,
    /// The mailbox.
    pub mailbox: String,
    /// The SMTP envelope as delivered.
    pub envelope: ReceivedEnvelope,
    /// Every header field, in order: (name, value), values decoded.
    pub headers: Vec<(String, String)>,
    /// The From address.
    pub from: Option<String>,
    /// The To and Cc addresses.
    pub to: Vec<String>,
    /// The decoded Subject.
    pub subject: Option<String>,
    /// The first text/plain body, decoded.
    pub text: Option<String>,
    /// The first text/html body, decoded.
    pub html: Option<String>,
    /// The exact stored bytes (for SMTP: Return-Path: and Received: first,
    /// then what the client sent).
    pub raw: Vec<u8>,
}

/// The envelope of a received message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedEnvelope {
    /// MAIL FROM (from the Return-Path: field); `None` for `<>` or a
    /// message injected without one.
    pub mail_from: Option<String>,
    /// The RCPT TO this copy was delivered for.
    pub rcpt_to: String,
}

impl ReceivedMessage {
    /// The first value of header `name` (case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// [`TestServer::wait_for_messages`] ran out of time.
#[derive(Debug)]
pub struct WaitTimeout {
    /// How many were wanted.
    pub wanted: usize,
    /// What had arrived.
    pub got: Vec<ReceivedMessage>,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "waited for {} message(s), {} arrived",
            self.wanted,
            self.got.len()
        )
    }
}

impl std::error::Error for WaitTimeout {}

impl TestServer {
    /// Starts a server; panics with the reason if it cannot.
    #[must_use]
    pub fn start() -> TestServer {
        match TestServer::try_start() {
            Ok(s) => s,
            Err(e) => panic!("sansmail TestServer failed to start: {e}"),
        }
    }

    /// The configuration [`TestServer::start`] uses, for a test that wants
    /// to change something before [`TestServer::start_with`].
    #[must_use]
    pub fn config() -> Config {
        let any = || vec!["127.0.0.1:0".to_owned()];
        let both = || Listeners {
            listen: any(),
            listen_tls: any(),
        };
        let mut c = Config {
            hostname: "localhost".into(),
            domains: vec!["localhost".into()],
            smtp: both(),
            submission: both(),
            imap: both(),
            pop3: both(),
            ..Config::default()
        };
        c.http.listen = any();
        c.http.auth = HttpAuth::None;
        c.testing.catch_all = true;
        c.testing.fast_password_hashing = true;
        // A test rig checks no SPF/DKIM/DMARC (GreenMail and Mailpit do not
        // either): no DNS lookups, and the stored message starts with our
        // trace fields only.
        c.checks.spf = false;
        c.checks.dkim = false;
        c.checks.dmarc = false;
        c.checks.dmarc_policy = false;
        c
    }

    /// Starts a server.
    ///
    /// # Errors
    /// The temporary directory cannot be created or the server not started.
    pub fn try_start() -> Result<TestServer, StartError> {
        TestServer::start_with(TestServer::config())
    }

    /// Starts a server with `config`; its `data_dir` is replaced by a new
    /// temporary directory.
    ///
    /// # Errors
    /// As [`TestServer::try_start`].
    pub fn start_with(mut config: Config) -> Result<TestServer, StartError> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("sansmail-test");
        // In memory where Linux offers it: the store fsyncs as always
        // (the same code path as production), but on tmpfs an fsync costs
        // nothing, and a test rig's mail need not survive a power cut.
        let shm = std::path::Path::new("/dev/shm");
        let dir = match shm.is_dir().then(|| builder.tempdir_in(shm)) {
            Some(Ok(dir)) => dir,
            _ => builder
                .tempdir()
                .map_err(|e| StartError(format!("cannot create a temporary directory: {e}")))?,
        };
        config.data_dir = dir.path().to_path_buf();
        let server = Server::start(config)?;
        Ok(TestServer { server, dir })
    }

    /// The address of listener `name`: `smtp`, `smtps`, `submission`,
    /// `submissions`, `imap`, `imaps`, `pop3`, `pop3s` or `http`.
    ///
    /// # Panics
    /// For a name that is not listening.
    #[must_use]
    pub fn addr(&self, name: &str) -> SocketAddr {
        self.server
            .addr(name)
            .unwrap_or_else(|| panic!("TestServer has no `{name}` listener"))
    }

    /// The temporary data directory (removed on drop).
    #[must_use]
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The running server underneath.
    #[must_use]
    pub fn server(&self) -> &RunningServer {
        &self.server
    }

    /// Creates an account (fast hashing: well under a millisecond).
    ///
    /// # Panics
    /// If it exists or the address is invalid.
    pub fn add_user(&self, address: &str, password: &str) {
        if let Err(e) = self.server.store().add_user(address, password) {
            panic!("add_user({address}): {e}");
        }
    }

    /// Every message of every account, oldest first.
    #[must_use]
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        let store = self.server.store();
        let filter = Filter {
            limit: usize::MAX,
            ..Filter::default()
        };
        let (_, mut list) =
            messages::list_sync(store, &filter).unwrap_or_else(|e| panic!("listing messages: {e}"));
        list.reverse();
        list.iter().filter_map(|s| self.load(s)).collect()
    }

    fn load(&self, s: &Summary) -> Option<ReceivedMessage> {
        let store = self.server.store();
        let (loc, info) = messages::resolve(store, &s.id).ok()?;
        let raw = messages::read_all(store, &loc, &info).ok()?;
        let parsed = crate::message::parse(&raw);
        let (headers, text, html) = match &parsed {
            Some(m) => {
                let (text, html) = bodies(m);
                (header_list(m), text, html)
            }
            None => (Vec::new(), None, None),
        };
        let mail_from = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("Return-Path"))
            .map(|(_, v)| {
                v.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
            .filter(|v| !v.is_empty());
        let Location { account, .. } = loc;
        Some(ReceivedMessage {
            id: s.id.clone(),
            user: account.clone(),
            mailbox: s.mailbox.clone(),
            envelope: ReceivedEnvelope {
                mail_from,
                rcpt_to: account,
            },
            headers,
            from: s.from.clone(),
            to: s.to.clone(),
            subject: s.subject.clone(),
            text,
            html,
            raw,
        })
    }

    /// Waits until at least `count` messages have arrived (woken by the
    /// store's change channel, no polling), then returns them all.
    ///
    /// # Errors
    /// [`WaitTimeout`] with what arrived when `timeout` passes first.
    pub fn wait_for_messages(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedMessage>, WaitTimeout> {
        let deadline = Instant::now() + timeout;
        let changes = self.server.store().subscribe_all();
        loop {
            let got = self.messages();
            if got.len() >= count {
                return Ok(got);
            }
            let woke = smol::block_on(async { changes.recv().await.is_some() }.or(async {
                async_io::Timer::at(deadline).await;
                false
            }));
            if !woke {
                let got = self.messages();
                if got.len() >= count {
                    return Ok(got);
                }
                return Err(WaitTimeout { wanted: count, got });
            }
        }
    }

    /// Deletes every message of every account (accounts stay).
    ///
    /// # Panics
    /// On a storage error.
    pub fn purge(&self) {
        if let Err(e) = messages::purge_sync(self.server.store(), None) {
            panic!("purge: {e}");
        }
    }
}
