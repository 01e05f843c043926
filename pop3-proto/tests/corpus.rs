//! Every message of the shared corpus retrieved through a session (RETR and
//! TOP) at several chunk sizes, decoded as a client would.

use std::path::PathBuf;
use std::time::Instant;

use bytes::BytesMut;
use pop3_proto::{
    AuthAnswer, DotUnstuffer, Event, MaildropEntry, MessageProgress, ServerConfig, ServerSession,
    Unstuffed,
};

const CORPUS: &str = "/work/shared/corpus/eml";

fn files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "eml") {
            out.push(path);
        }
    }
}

/// LF → CRLF, ending with CRLF: what the client must receive.
fn normalised(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut previous = None;
    for &byte in message {
        if byte == b'\n' && previous != Some(b'\r') {
            out.push(b'\r');
        }
        out.push(byte);
        previous = Some(byte);
    }
    match previous {
        None | Some(b'\n') => {}
        Some(b'\r') => out.push(b'\n'),
        Some(_) => out.extend_from_slice(b"\r\n"),
    }
    out
}

/// Headers, the blank line and `n` body lines of a CRLF message.
fn top(message: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut lines = message.split_inclusive(|b| *b == b'\n');
    for line in lines.by_ref() {
        out.extend_from_slice(line);
        if line == b"\r\n" {
            break;
        }
    }
    for line in lines.take(n) {
        out.extend_from_slice(line);
    }
    out
}

/// Logs in, sends `command`, streams `message` in `chunk` pieces; returns
/// the decoded body.
fn fetch(message: &[u8], command: &[u8], chunk: usize) -> Vec<u8> {
    let mut session = ServerSession::new(ServerConfig::new("corpus"), Instant::now());
    let mut wire = BytesMut::new();
    let input = [b"USER a\r\nPASS b\r\n", command].concat();
    assert_eq!(session.feed(&input), input.len());
    loop {
        while session.poll_transmit(&mut wire) {}
        match session.poll_event() {
            Some(Event::Authenticate { id, .. }) => {
                let entry = MaildropEntry {
                    size: message.len() as u64,
                    uid: "u".into(),
                };
                session
                    .respond_authenticate(id, AuthAnswer::Accept(vec![entry]))
                    .unwrap();
            }
            Some(Event::Retrieve { id, .. }) => {
                session.respond_retrieve(id, Ok(())).unwrap();
                for piece in message.chunks(chunk) {
                    let progress = session.send_external_chunk(id, piece).unwrap();
                    while session.poll_transmit(&mut wire) {}
                    if progress == MessageProgress::Enough {
                        break;
                    }
                }
                session.finish_external(id).unwrap();
            }
            Some(other) => panic!("unexpected {other:?}"),
            None => break,
        }
    }
    // Skip greeting, USER, PASS and the RETR/TOP status lines.
    let mut rest = &wire[..];
    for _ in 0..4 {
        let end = rest.iter().position(|b| *b == b'\n').unwrap();
        assert!(
            rest.starts_with(b"+OK"),
            "{:?}",
            String::from_utf8_lossy(rest)
        );
        rest = &rest[end + 1..];
    }
    let mut decoder = DotUnstuffer::new();
    let mut body = BytesMut::new();
    assert_eq!(
        decoder.decode(rest, &mut body),
        Unstuffed::Done {
            consumed: rest.len()
        }
    );
    body.to_vec()
}

#[test]
fn corpus_over_retr_and_top() {
    let mut paths = Vec::new();
    files(std::path::Path::new(CORPUS), &mut paths);
    assert!(paths.len() > 50, "corpus not found at {CORPUS}");
    for path in paths {
        let message = std::fs::read(&path).unwrap();
        let expected = normalised(&message);
        for chunk in [1, 3, 64, 4096, usize::MAX] {
            let chunk = chunk.min(message.len().max(1));
            assert_eq!(
                fetch(&message, b"RETR 1\r\n", chunk),
                expected,
                "{path:?} chunk {chunk}"
            );
        }
        for lines in [0, 1, 5] {
            assert_eq!(
                fetch(&message, format!("TOP 1 {lines}\r\n").as_bytes(), 17),
                top(&expected, lines),
                "{path:?} TOP {lines}"
            );
        }
    }
}
