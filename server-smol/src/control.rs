//! The control socket: how `sansmail user ...` changes accounts (and
//! `sansmail queue ...` lists and changes the outbound queue) while the
//! server runs.
//!
//! redb lets one process open the index at a time, and the running server
//! holds it. So the server listens on a Unix socket, `control.sock` in
//! `data_dir` (mode 0600: only the owner of the data may use it), and the
//! `user` commands send their request there when a server answers, or open
//! the store themselves when none does.
//!
//! The protocol is one request line per connection,
//! `VERB<TAB>ADDRESS<TAB>BASE64(PASSWORD)<LF>` (empty fields allowed), and a
//! reply of `ok<LF>` followed by payload lines, or `error<TAB>MESSAGE<LF>`.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, FutureExt};
use maildir::Store;

use crate::accounts::{self, AccountRequest};

/// File name of the control socket under `data_dir`.
pub const SOCKET_NAME: &str = "control.sock";

/// Largest request line accepted.
const MAX_REQUEST: u64 = 4096;

/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Called after an account change was applied, with the request, so the
/// server can forget cached credentials and end the account's sessions.
pub type OnChange = Box<dyn Fn(&AccountRequest) + Send + Sync>;

/// Called after a `queue retry` changed the queue (wakes the outbound
/// worker, so a retry happens at once rather than at its old time).
pub type OnQueue = Box<dyn Fn() + Send + Sync>;

/// The server side: a thread answering requests one at a time (account
/// changes are rare and argon2 hashing is the slow part anyway).
///
/// The thread waits for either a connection or the stop signal, so stopping
/// never depends on the socket path: an operator (or a cleanup script) may
/// have removed `control.sock`, and shutdown used to hang connecting to it.
pub struct ControlSocket {
    path: PathBuf,
    stop: Option<smol::channel::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ControlSocket {
    /// Binds `data_dir/control.sock`, replacing a stale socket left by a
    /// server that did not stop cleanly. `on_change` runs after every
    /// successful `passwd` or `del`.
    pub fn start(
        data_dir: &Path,
        store: Store,
        on_change: OnChange,
        on_queue: OnQueue,
    ) -> io::Result<ControlSocket> {
        let path = data_dir.join(SOCKET_NAME);
        if UnixStream::connect(&path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("another sansmail server answers on {}", path.display()),
            ));
        }
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let listener = smol::Async::new(listener)?;
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let thread = std::thread::Builder::new()
            .name("sansmail-control".into())
            .spawn(move || {
                smol::block_on(async {
                    loop {
                        let next = async { Some(listener.accept().await) }
                            .or(async {
                                let _ = stopped.recv().await;
                                None
                            })
                            .await;
                        let conn = match next {
                            None => return,
                            Some(Ok((conn, _))) => conn,
                            Some(Err(e)) => {
                                tracing::warn!("control socket: accept failed: {e}");
                                async_io::Timer::after(Duration::from_millis(100)).await;
                                continue;
                            }
                        };
                        // One request at a time: the requests are rare. A
                        // silent client is dropped after the timeout or at
                        // once when the server stops.
                        let answered =
                            async { Some(answer(conn, &store, &on_change, &on_queue).await) }
                                .or(async {
                                    async_io::Timer::after(REQUEST_TIMEOUT).await;
                                    tracing::warn!("control request timed out");
                                    None
                                })
                                .or(async {
                                    let _ = stopped.recv().await;
                                    None
                                })
                                .await;
                        if let Some(Err(e)) = answered {
                            tracing::warn!("control request failed: {e}");
                        }
                    }
                })
            })?;
        Ok(ControlSocket {
            path,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops answering and removes the socket file (if it is still there).
    pub fn stop(mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn answer(
    mut conn: smol::Async<UnixStream>,
    store: &Store,
    on_change: &OnChange,
    on_queue: &OnQueue,
) -> io::Result<()> {
    let mut line = String::new();
    futures_lite::io::BufReader::new((&mut conn).take(MAX_REQUEST))
        .read_line(&mut line)
        .await?;
    let request = line.trim_end_matches('\n');
    // `sansmail queue ...` verbs (outbound/queue_cli.rs), then accounts.
    let result = match crate::outbound::queue_cli::parse_request(request) {
        Some(q) => {
            let applied = crate::outbound::queue_cli::apply(store, &q);
            if applied.is_ok() {
                on_queue();
            }
            Some(applied)
        }
        None => parse_request(request).map(|req| {
            let applied = accounts::apply(store, &req);
            if applied.is_ok() {
                // Account changes are logged here, where every CLI change
                // to a running server arrives (docs/DESIGN.md §4).
                match &req {
                    AccountRequest::Add { address, .. } => {
                        tracing::info!(user = %address, "account added (control socket)");
                    }
                    AccountRequest::Passwd { address, .. } => {
                        tracing::info!(user = %address, "password changed (control socket)");
                    }
                    AccountRequest::Del { address } => {
                        tracing::info!(user = %address, "account deleted (control socket)");
                    }
                    AccountRequest::List => {}
                }
                on_change(&req);
            }
            applied
        }),
    };
    let reply = match result {
        Some(result) => match result {
            Ok(lines) => {
                let mut s = String::from("ok\n");
                for l in lines {
                    s.push_str(&l);
                    s.push('\n');
                }
                s
            }
            Err(msg) => format!("error\t{}\n", msg.replace('\n', " ")),
        },
        None => "error\tmalformed control request\n".to_string(),
    };
    conn.write_all(reply.as_bytes()).await?;
    conn.flush().await
}

fn parse_request(line: &str) -> Option<AccountRequest> {
    let mut parts = line.split('\t');
    let verb = parts.next()?;
    let address = parts.next().unwrap_or("").to_string();
    let password = parts.next().unwrap_or("");
    let password = String::from_utf8(BASE64.decode(password).ok()?).ok()?;
    Some(match verb {
        "add" => AccountRequest::Add { address, password },
        "passwd" => AccountRequest::Passwd { address, password },
        "del" => AccountRequest::Del { address },
        "list" => AccountRequest::List,
        _ => return None,
    })
}

#[cfg(feature = "cli")]
fn encode_request(req: &AccountRequest) -> String {
    let (verb, address, password) = match req {
        AccountRequest::Add { address, password } => ("add", address.as_str(), password.as_str()),
        AccountRequest::Passwd { address, password } => {
            ("passwd", address.as_str(), password.as_str())
        }
        AccountRequest::Del { address } => ("del", address.as_str(), ""),
        AccountRequest::List => ("list", "", ""),
    };
    format!("{verb}\t{address}\t{}\n", BASE64.encode(password))
}

/// The client side: sends `req` to a running server. `Ok(None)` when no
/// server answers on `data_dir`'s socket.
#[cfg(feature = "cli")]
pub fn send(data_dir: &Path, req: &AccountRequest) -> Result<Option<Vec<String>>, String> {
    send_line(data_dir, encode_request(req).trim_end_matches('\n'))
}

/// Sends one request line (without its LF) to a running server and
/// returns the payload lines of an `ok` reply. `Ok(None)` when no server
/// answers on `data_dir`'s socket.
pub fn send_line(data_dir: &Path, line: &str) -> Result<Option<Vec<String>>, String> {
    let path = data_dir.join(SOCKET_NAME);
    let Ok(mut conn) = UnixStream::connect(&path) else {
        return Ok(None);
    };
    let io_err = |e: io::Error| format!("control socket {}: {e}", path.display());
    conn.write_all(format!("{line}\n").as_bytes())
        .map_err(io_err)?;
    conn.shutdown(std::net::Shutdown::Write).map_err(io_err)?;
    let mut lines = BufReader::new(conn).lines();
    let status = lines
        .next()
        .ok_or_else(|| "the running server closed the control socket".to_string())?
        .map_err(io_err)?;
    if status == "ok" {
        Ok(Some(lines.collect::<Result<_, _>>().map_err(io_err)?))
    } else {
        Err(status
            .strip_prefix("error\t")
            .unwrap_or(&status)
            .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for req in [
            AccountRequest::Add {
                address: "a@b".into(),
                password: "p\tw\nx".into(),
            },
            AccountRequest::Passwd {
                address: "a@b".into(),
                password: String::new(),
            },
            AccountRequest::Del {
                address: "a@b".into(),
            },
            AccountRequest::List,
        ] {
            let line = encode_request(&req);
            assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
            assert_eq!(parse_request(line.trim_end_matches('\n')), Some(req));
        }
        assert_eq!(parse_request("drop\tx\t"), None);
    }
}
