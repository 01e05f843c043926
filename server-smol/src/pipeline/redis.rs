//! `type = "redis"` handlers: RPUSH over a minimal RESP2 client.
//!
//! Why not the `redis` crate: its async support (`aio`, needed by
//! `smol-comp`) pulls in tokio, tokio-util and combine, and we need one
//! command. This client sends `SELECT` (when the URL names a database)
//! and `RPUSH` (its values streamed from the spool file, base64-encoded
//! on the way: RESP2 needs only each bulk string's length up front), reads one reply per command with a bounded buffer, and
//! runs the whole exchange under one deadline, so a Redis that accepts
//! the connection and never answers costs a bounded wait, then a 4xx.

use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};

/// Longest reply line read (`:N\r\n` or `-ERR ...\r\n`).
const MAX_REPLY: usize = 4096;

/// `redis://[:password@]host[:port][/db]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RedisUrl {
    host: String,
    port: u16,
    password: Option<String>,
    db: Option<u32>,
}

fn parse_url(url: &str) -> Result<RedisUrl, String> {
    let rest = url
        .strip_prefix("redis://")
        .ok_or_else(|| format!("`{url}`: not a redis:// URL"))?;
    let (auth, rest) = match rest.rsplit_once('@') {
        Some((a, r)) => (Some(a), r),
        None => (None, rest),
    };
    let password = auth.map(|a| a.rsplit_once(':').map_or(a, |(_, p)| p).to_owned());
    let (authority, db) = match rest.split_once('/') {
        Some((a, "")) => (a, None),
        Some((a, d)) => (a, Some(d.parse().map_err(|_| format!("`{url}`: bad db"))?)),
        None => (rest, None),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().map_err(|_| format!("`{url}`: bad port"))?),
        None => (authority, 6379),
    };
    if host.is_empty() {
        return Err(format!("`{url}`: no host"));
    }
    Ok(RedisUrl {
        host: host.to_owned(),
        port,
        password,
        db,
    })
}

/// A RESP array of bulk strings.
fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        bulk(out, a);
    }
}

/// One RESP bulk string.
fn bulk(out: &mut Vec<u8>, a: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
    out.extend_from_slice(a);
    out.extend_from_slice(b"\r\n");
}

/// Reads one simple reply line; `Err` for `-ERR` or anything unexpected.
async fn reply(stream: &mut smol::net::TcpStream, buf: &mut Vec<u8>) -> Result<String, String> {
    loop {
        if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 2);
            return match line.as_bytes().first() {
                Some(b'+' | b':') => Ok(line[1..].to_owned()),
                Some(b'-') => Err(format!("redis: {}", &line[1..])),
                _ => Err(format!("redis: unexpected reply {line:?}")),
            };
        }
        if buf.len() >= MAX_REPLY {
            return Err("redis: reply line too long".into());
        }
        let mut chunk = [0u8; 512];
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("redis read: {e}"))?;
        if n == 0 {
            return Err("redis closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Bytes of the message read (and base64-encoded) per step while a value
/// is streamed: a multiple of 3, so every step encodes whole quanta.
const READ_CHUNK: usize = 48 * 1024;

/// Writes the JSON `object` with the base64 of the file at `raw` in its
/// `raw_base64` field, read and encoded in [`READ_CHUNK`] steps.
pub(super) async fn write_object<W>(
    out: &mut W,
    object: &super::json::Object,
    raw: &std::path::Path,
) -> Result<(), String>
where
    W: futures_lite::AsyncWrite + Unpin,
{
    let write_err = |e: std::io::Error| format!("write: {e}");
    out.write_all(object.prefix.as_bytes())
        .await
        .map_err(write_err)?;
    let file = std::fs::File::open(raw).map_err(|e| format!("spool: {e}"))?;
    let mut file = blocking::Unblock::with_capacity(READ_CHUNK, file);
    let mut encoder = super::json::Base64::default();
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut encoded = Vec::with_capacity(READ_CHUNK / 3 * 4 + 4);
    let mut written = 0u64;
    loop {
        let n = file
            .read(&mut chunk)
            .await
            .map_err(|e| format!("spool: {e}"))?;
        if n == 0 {
            break;
        }
        encoded.clear();
        encoder.feed(&chunk[..n], &mut encoded);
        written += encoded.len() as u64;
        out.write_all(&encoded).await.map_err(write_err)?;
    }
    encoded.clear();
    encoder.finish(&mut encoded);
    written += encoded.len() as u64;
    if written != object.base64_len {
        // The spool changed under us: the declared length would be a lie.
        return Err(format!(
            "spool: {written} base64 bytes, {} announced",
            object.base64_len
        ));
    }
    out.write_all(&encoded).await.map_err(write_err)?;
    out.write_all(object.suffix.as_bytes())
        .await
        .map_err(write_err)
}

/// `RPUSH list value...` in one command (atomic for all values); returns
/// the list's new length. Each value is a JSON object whose `raw_base64`
/// is streamed from the file at `raw` (the RESP bulk length is known up
/// front, [`super::json::Object::len`]), so memory holds one read chunk,
/// never the message.
pub(super) async fn rpush(
    url: &str,
    list: &str,
    objects: &[super::json::Object],
    raw: &std::path::Path,
    timeout: Duration,
) -> Result<u64, String> {
    let target = parse_url(url)?;
    let exchange = async {
        let stream = smol::net::TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| format!("redis connect {}:{}: {e}", target.host, target.port))?;
        let mut reader = stream.clone();
        let mut stream = futures_lite::io::BufWriter::with_capacity(64 * 1024, stream);
        let mut out = Vec::new();
        let mut expected = 0;
        if let Some(pw) = &target.password {
            command(&mut out, &[b"AUTH", pw.as_bytes()]);
            expected += 1;
        }
        if let Some(db) = target.db {
            command(&mut out, &[b"SELECT", db.to_string().as_bytes()]);
            expected += 1;
        }
        out.extend_from_slice(format!("*{}\r\n", objects.len() + 2).as_bytes());
        bulk(&mut out, b"RPUSH");
        bulk(&mut out, list.as_bytes());
        let write_err = |e: std::io::Error| format!("redis write: {e}");
        stream.write_all(&out).await.map_err(write_err)?;
        for object in objects {
            let head = format!("${}\r\n", object.len());
            stream.write_all(head.as_bytes()).await.map_err(write_err)?;
            write_object(&mut stream, object, raw)
                .await
                .map_err(|e| format!("redis {e}"))?;
            stream.write_all(b"\r\n").await.map_err(write_err)?;
        }
        stream.flush().await.map_err(write_err)?;
        let mut buf = Vec::new();
        for _ in 0..expected {
            reply(&mut reader, &mut buf).await?;
        }
        let len = reply(&mut reader, &mut buf).await?;
        len.parse::<u64>()
            .map_err(|_| format!("redis: RPUSH answered {len:?}"))
    };
    let deadline = async {
        async_io::Timer::after(timeout).await;
        Err(format!(
            "redis: no answer within {} ms",
            timeout.as_millis()
        ))
    };
    exchange.or(deadline).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_commands() {
        assert_eq!(
            parse_url("redis://127.0.0.1:6380/2").unwrap(),
            RedisUrl {
                host: "127.0.0.1".into(),
                port: 6380,
                password: None,
                db: Some(2)
            }
        );
        let u = parse_url("redis://:pw@h").unwrap();
        assert_eq!(
            (u.port, u.password.as_deref(), u.db),
            (6379, Some("pw"), None)
        );
        assert!(parse_url("http://h").is_err());
        let mut out = Vec::new();
        command(&mut out, &[b"RPUSH", b"l", b"{\"a\":1}"]);
        assert_eq!(out, b"*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$7\r\n{\"a\":1}\r\n");
    }
}
