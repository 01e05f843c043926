//! A toy SMTP server over `std::net`: accepts mail for any recipient at
//! `example.test`, refuses others, and prints each message to stdout. It
//! serves one client at a time with the crate's sans-IO [`ServerSession`].
//!
//! ```text
//! cargo run -p smtp-proto --example toy_server -- 127.0.0.1:2525
//! swaks --server 127.0.0.1:2525 --to bob@example.test
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use bytes::BytesMut;
use smtp_proto::{Event, Reply, ServerConfig, ServerSession};

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:2525".into());
    let listener = TcpListener::bind(&addr)?;
    println!("listening smtp {}", listener.local_addr()?);
    for stream in listener.incoming() {
        if let Err(e) = serve(stream?) {
            eprintln!("connection ended: {e}");
        }
    }
    Ok(())
}

fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let mut session = ServerSession::new(ServerConfig::new("mx.example.test"), Instant::now());
    let mut out = BytesMut::new();
    let mut buf = vec![0u8; 16 * 1024];
    let (mut pending, mut taken) = (0usize, 0usize);
    let mut message = Vec::new();
    loop {
        // 1. Write what is queued, then answer every event, until quiet.
        loop {
            while session.poll_transmit(&mut out) {}
            stream.write_all(&out)?;
            out.clear();
            let Some(event) = session.poll_event() else {
                break;
            };
            let answer = match event {
                Event::MailFrom { id, .. } => Some((id, Reply::new(250, "2.1.0", "OK"))),
                Event::RcptTo {
                    id, forward_path, ..
                } => Some(if forward_path.ends_with("@example.test") {
                    (id, Reply::new(250, "2.1.5", "OK"))
                } else {
                    (id, Reply::new(550, "5.1.1", "No such user here"))
                }),
                Event::DataStart => {
                    message.clear();
                    None
                }
                // Bodies arrive dot-unstuffed, in chunks; a real server
                // writes them to a file as they come.
                Event::BodyChunk(chunk) => {
                    message.extend_from_slice(&chunk);
                    None
                }
                Event::DataEnd { id } => {
                    println!("{}", String::from_utf8_lossy(&message));
                    Some((id, Reply::new(250, "2.0.0", "OK: printed")))
                }
                _ => None,
            };
            if let Some((id, reply)) = answer {
                session
                    .respond(id, reply)
                    .expect("answers the event just received");
            }
        }
        if session.is_closed() {
            return Ok(());
        }
        // 2. Offer input the session has not taken yet.
        if taken < pending {
            let n = session.feed(&buf[taken..pending]);
            taken += n;
            if n > 0 {
                continue;
            }
        }
        // 3. Read more (a real adapter races this against
        //    `session.poll_timeout()`).
        if taken == pending {
            pending = stream.read(&mut buf)?;
            taken = 0;
            if pending == 0 {
                return Ok(());
            }
        }
    }
}
