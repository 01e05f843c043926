//! A toy blocking POP3 server over `std::net` with an in-memory maildrop,
//! to try the session against real clients (poplib, curl, fetchmail):
//!
//! ```text
//! cargo run -p pop3-proto --example blocking_server -- 127.0.0.1:11110
//! curl -v pop3://127.0.0.1:11110/1 -u alice:secret
//! ```
//!
//! Login `alice` / `secret`. Deletions are printed, not applied. Not a
//! server: no TLS, no timers, one thread per connection.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use bytes::BytesMut;
use pop3_proto::{
    AuthAnswer, Event, MaildropEntry, MessageProgress, Response, ResponseCode, ServerConfig,
    ServerSession,
};

const MESSAGES: &[&[u8]] = &[
    b"From: a@example\r\nSubject: one\r\n\r\n.starts with a dot\r\nline 2\r\n.\r\nend\r\n",
    b"From: b@example\r\nSubject: two\r\n\r\nbody\r\n",
];

fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let mut session = ServerSession::new(ServerConfig::new("localhost"), Instant::now());
    let mut out = BytesMut::new();
    let mut buffer = [0u8; 4096];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        loop {
            while session.poll_transmit(&mut out) {}
            stream.write_all(&out)?;
            out.clear();
            let Some(event) = session.poll_event() else {
                break;
            };
            match event {
                Event::Authenticate {
                    id,
                    username: user,
                    password,
                    ..
                } => {
                    let answer = if user == "alice" && password.expose() == "secret" {
                        AuthAnswer::Accept(
                            MESSAGES
                                .iter()
                                .enumerate()
                                .map(|(i, m)| MaildropEntry {
                                    size: m.len() as u64,
                                    uid: format!("1.{}", i + 1),
                                })
                                .collect(),
                        )
                    } else {
                        AuthAnswer::Reject(Response::err_with_code(
                            ResponseCode::Auth,
                            "Authentication failed",
                        ))
                    };
                    let _ = session.respond_authenticate(id, answer);
                }
                Event::Retrieve { id, index, .. } => {
                    let _ = session.respond_retrieve(id, Ok(()));
                    for chunk in MESSAGES[index].chunks(5) {
                        let progress = session.send_external_chunk(id, chunk);
                        while session.poll_transmit(&mut out) {}
                        stream.write_all(&out)?;
                        out.clear();
                        if progress == Ok(MessageProgress::Enough) {
                            break;
                        }
                    }
                    let _ = session.finish_external(id);
                }
                Event::Update { id, deleted } => {
                    eprintln!("UPDATE: delete {deleted:?}");
                    let _ = session.respond_update(id, Ok(()));
                }
                other => eprintln!("unhandled {other:?}"),
            }
        }
        if session.is_closed() {
            return Ok(());
        }
        if pending.is_empty() {
            let n = stream.read(&mut buffer)?;
            if n == 0 {
                return Ok(());
            }
            pending.extend_from_slice(&buffer[..n]);
        }
        let taken = session.feed(&pending);
        pending.drain(..taken);
    }
}

fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:11110".into());
    let listener = TcpListener::bind(&address)?;
    eprintln!("listening pop3 {}", listener.local_addr()?);
    for stream in listener.incoming() {
        let stream = stream?;
        std::thread::spawn(move || {
            if let Err(error) = serve(stream) {
                eprintln!("connection: {error}");
            }
        });
    }
    Ok(())
}
