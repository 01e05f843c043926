//! The body of a queued message as one delivery attempt sends it.
//!
//! A small message (most mail: at most [`IN_MEMORY`] octets) is read
//! whole in the same blocking call that opens it and decides whether it
//! needs 8BITMIME, then sent from memory; a larger one is streamed from its
//! file. Before, each attempt opened the file twice (once to scan for 8-bit
//! octets, once to send it) and read it through `blocking::Unblock`, three
//! or four hand-offs to the blocking pool per message; the outbound
//! profile (benches/README.md, stop 23) had a tenth of sansmail's CPU in
//! thread switches. Memory stays bounded: the worker holds at most
//! [`super::worker`]'s in-flight limit of bodies at once.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::AsyncRead;
use maildir::{QueueId, Store};
use smtp_proto::BodyType;

/// Messages up to this size are sent from memory.
pub const IN_MEMORY: usize = 64 * 1024;

/// A queued message's octets, ready to send.
pub enum Body {
    /// Read whole; `Arc` so a failover to the next MX does not copy it.
    Memory {
        /// The message.
        bytes: Arc<[u8]>,
        /// How far the attempt has read.
        at: usize,
    },
    /// Streamed from its queue file (which stays locked while open).
    File(blocking::Unblock<File>),
}

impl Body {
    /// A fresh reader over the same octets for another attempt, if it can
    /// be had without opening the file again.
    #[must_use]
    pub fn again(&self) -> Option<Body> {
        match self {
            Body::Memory { bytes, .. } => Some(Body::Memory {
                bytes: Arc::clone(bytes),
                at: 0,
            }),
            Body::File(_) => None,
        }
    }
}

impl AsyncRead for Body {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Body::Memory { bytes, at } => {
                let rest = &bytes[*at..];
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                *at += n;
                Poll::Ready(Ok(n))
            }
            Body::File(f) => Pin::new(f).poll_read(cx, buf),
        }
    }
}

/// Opens queued message `id` and returns whether it needs 8BITMIME (RFC
/// 6152: any octet ≥ 0x80) with its body. Blocking: call it on the
/// blocking pool.
///
/// # Errors
/// The message is gone from the queue, or reading it fails.
pub fn load(store: &Store, id: QueueId) -> std::io::Result<(BodyType, Body)> {
    let mut file = store.queue_open(id).map_err(std::io::Error::other)?;
    let mut head = Vec::with_capacity(8 * 1024);
    (&mut file)
        .take(IN_MEMORY as u64 + 1)
        .read_to_end(&mut head)?;
    let mut eight_bit = head.iter().any(|b| *b >= 0x80);
    if head.len() <= IN_MEMORY {
        let body_type = body_type(eight_bit);
        return Ok((
            body_type,
            Body::Memory {
                bytes: head.into(),
                at: 0,
            },
        ));
    }
    // Too big to hold: finish the scan, then send from the start.
    let mut buf = vec![0; 64 * 1024];
    while !eight_bit {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        eight_bit = buf[..n].iter().any(|b| *b >= 0x80);
    }
    file.seek(SeekFrom::Start(0))?;
    Ok((
        body_type(eight_bit),
        Body::File(blocking::Unblock::new(file)),
    ))
}

fn body_type(eight_bit: bool) -> BodyType {
    if eight_bit {
        BodyType::EightBitMime
    } else {
        BodyType::SevenBit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::AsyncReadExt;

    #[test]
    fn memory_body_reads_through_and_again_restarts() {
        let mut b = Body::Memory {
            bytes: Arc::from(&b"Subject: x\r\n\r\nhello\r\n"[..]),
            at: 0,
        };
        let mut first = Vec::new();
        smol::block_on(b.read_to_end(&mut first)).unwrap();
        assert_eq!(first, b"Subject: x\r\n\r\nhello\r\n");
        let mut second = Vec::new();
        let mut again = b.again().unwrap();
        smol::block_on(again.read_to_end(&mut second)).unwrap();
        assert_eq!(second, first);
    }

    fn queued(store: &Store, bytes: &[u8]) -> QueueId {
        let mut q = store
            .begin_enqueue(maildir::QueueEnvelope {
                sender: Some("a@example.test".into()),
                recipients: vec![maildir::QueueRecipient::new("b@remote.test")],
                ..maildir::QueueEnvelope::default()
            })
            .unwrap();
        q.write(bytes).unwrap();
        q.commit().unwrap()
    }

    fn read(body: &mut Body) -> Vec<u8> {
        let mut out = Vec::new();
        smol::block_on(body.read_to_end(&mut out)).unwrap();
        out
    }

    #[test]
    fn load_reads_small_messages_whole_and_streams_big_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(maildir::StoreConfig {
            data_dir: dir.path().to_path_buf(),
            hostname: "mx.test".into(),
            password_hashing: maildir::PasswordHashing::Fast,
        })
        .unwrap();
        let small = b"Subject: s\r\n\r\nplain\r\n".to_vec();
        let (t, mut b) = load(&store, queued(&store, &small)).unwrap();
        assert_eq!(t, BodyType::SevenBit);
        assert!(matches!(b, Body::Memory { .. }));
        assert_eq!(read(&mut b), small);

        // Exactly IN_MEMORY octets still fit; an 8-bit octet is found.
        let mut edge = vec![b'x'; IN_MEMORY];
        edge[10] = 0xe9;
        let (t, mut b) = load(&store, queued(&store, &edge)).unwrap();
        assert_eq!(t, BodyType::EightBitMime);
        assert!(matches!(b, Body::Memory { .. }));
        assert_eq!(read(&mut b), edge);

        // Bigger: streamed from the start, with the 8-bit octet found
        // past what the first read held.
        let mut big = vec![b'y'; 3 * IN_MEMORY];
        big[3 * IN_MEMORY - 5] = 0x80;
        let (t, mut b) = load(&store, queued(&store, &big)).unwrap();
        assert_eq!(t, BodyType::EightBitMime);
        assert!(matches!(b, Body::File(_)) && b.again().is_none());
        assert_eq!(read(&mut b), big);
        let seven = vec![b'z'; 2 * IN_MEMORY];
        let (t, mut b) = load(&store, queued(&store, &seven)).unwrap();
        assert_eq!(t, BodyType::SevenBit);
        assert_eq!(read(&mut b), seven);
    }

    #[test]
    fn body_types() {
        assert_eq!(body_type(false), BodyType::SevenBit);
        assert_eq!(body_type(true), BodyType::EightBitMime);
    }
}
