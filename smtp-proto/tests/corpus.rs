//! Every message of the shared corpus, sent over DATA (dot-stuffed) and over
//! BDAT, arrives byte for byte in the `BodyChunk` events, fed in awkward
//! chunk sizes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use bytes::BytesMut;
use smtp_proto::{Event, Reply, ServerConfig, ServerSession};

const CORPUS: &str = "/work/shared/corpus/eml";

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "eml") {
            out.push(path);
        }
    }
}

/// LF → CRLF (the corpus mixes both), ending with CRLF: what a client sends.
fn wire_form(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
    let mut prev = 0u8;
    for &b in raw {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        } else if prev == b'\r' && b != b'\n' {
            out.push(b'\n');
        }
        out.push(b);
        prev = b;
    }
    if prev == b'\r' {
        out.push(b'\n');
    } else if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// RFC 5321 §4.5.2 transparency: a line starting with `.` gets another.
fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut line_start = true;
    for &b in message {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    out
}

/// Runs `input` through a session in chunks of `chunk` bytes; returns the body.
fn deliver(input: &[u8], chunk: usize) -> Vec<u8> {
    let config = ServerConfig {
        limits: smtp_proto::Limits {
            max_message_size: 0,
            ..Default::default()
        },
        ..ServerConfig::new("mx")
    };
    let mut session = ServerSession::new(config, Instant::now());
    let mut out = BytesMut::new();
    let mut body = Vec::new();
    let mut ended = false;
    for piece in input.chunks(chunk) {
        let mut rest = piece;
        loop {
            let used = session.feed(rest);
            rest = &rest[used..];
            while session.poll_transmit(&mut out) {}
            while let Some(event) = session.poll_event() {
                match event {
                    Event::MailFrom { id, .. } | Event::RcptTo { id, .. } => {
                        session.respond(id, Reply::new(250, "2.0.0", "Ok")).unwrap();
                    }
                    Event::BodyChunk(bytes) => body.extend_from_slice(&bytes),
                    Event::DataEnd { id } => {
                        ended = true;
                        session
                            .respond(id, Reply::new(250, "2.0.0", "Ok: queued"))
                            .unwrap();
                    }
                    Event::DataStart => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
            if rest.is_empty() {
                break;
            }
        }
    }
    assert!(ended, "{}", String::from_utf8_lossy(&out));
    body
}

#[test]
fn corpus_over_data_and_bdat() {
    let mut paths = Vec::new();
    files(Path::new(CORPUS), &mut paths);
    paths.sort();
    assert!(paths.len() > 50, "corpus not found at {CORPUS}");
    for path in paths {
        let message = wire_form(&std::fs::read(&path).unwrap());
        let mut data = b"EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@mx>\r\nDATA\r\n".to_vec();
        data.extend_from_slice(&dot_stuff(&message));
        data.extend_from_slice(b".\r\nQUIT\r\n");
        let mut bdat = b"EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@mx>\r\n".to_vec();
        let (first, second) = message.split_at(message.len() / 2);
        bdat.extend_from_slice(format!("BDAT {}\r\n", first.len()).as_bytes());
        bdat.extend_from_slice(first);
        bdat.extend_from_slice(format!("BDAT {} LAST\r\n", second.len()).as_bytes());
        bdat.extend_from_slice(second);
        bdat.extend_from_slice(b"QUIT\r\n");
        for chunk in [1, 7, 4096, usize::MAX] {
            let name = path.display();
            assert!(
                deliver(&data, chunk) == message,
                "{name} over DATA in chunks of {chunk}"
            );
            assert!(
                deliver(&bdat, chunk) == message,
                "{name} over BDAT in chunks of {chunk}"
            );
        }
    }
}
