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

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use maildir::Store;

use crate::accounts::{self, AccountRequest};

/// File name of the control socket under `data_dir`.
pub const SOCKET_NAME: &str = "control.sock";

/// Largest request line accepted.
const MAX_REQUEST: u64 = 4096;

/// The server side: a thread answering requests one at a time (account
/// changes are rare and argon2 hashing is the slow part anyway).
pub struct ControlSocket {
    path: PathBuf,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ControlSocket {
    /// Binds `data_dir/control.sock`, replacing a stale socket left by a
    /// server that did not stop cleanly.
    pub fn start(data_dir: &Path, store: Store) -> io::Result<ControlSocket> {
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
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = stopping.clone();
        let thread = std::thread::Builder::new()
            .name("sansmail-control".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(conn) = conn
                        && let Err(e) = answer(conn, &store)
                    {
                        tracing::warn!("control request failed: {e}");
                    }
                }
            })?;
        Ok(ControlSocket {
            path,
            stopping,
            thread: Some(thread),
        })
    }

    /// Stops answering and removes the socket file.
    pub fn stop(mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = UnixStream::connect(&self.path);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn answer(conn: UnixStream, store: &Store) -> io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = String::new();
    BufReader::new((&conn).take(MAX_REQUEST)).read_line(&mut line)?;
    let request = line.trim_end_matches('\n');
    // `sansmail queue ...` verbs (outbound/queue_cli.rs), then accounts.
    let result = match crate::outbound::queue_cli::parse_request(request) {
        Some(q) => Some(crate::outbound::queue_cli::apply(store, &q)),
        None => parse_request(request).map(|req| accounts::apply(store, &req)),
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
    (&conn).write_all(reply.as_bytes())
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
