//! Delivery throughput: N messages of S bytes from T threads into a fresh
//! temporary data directory (real filesystem, real fsyncs).
//!
//! ```text
//! cargo run --release -p maildir --example deliver_bench -- [N] [S] [T] [DIR]
//! ```
//! Defaults: N=2000, S=5120, T=10, DIR=a temp dir under $TMPDIR (give a
//! directory on the disk you care about: /tmp may be a tmpfs).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use maildir::{Envelope, Store, StoreConfig};

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n = arg(1, 2000);
    let size = arg(2, 5120);
    let threads = arg(3, 10).max(1);
    let tmp = match std::env::args().nth(4) {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let store = Store::open(StoreConfig {
        data_dir: tmp.path().to_path_buf(),
        hostname: "bench.test".into(),
        password_hashing: Default::default(),
    })?;
    store.add_user("bench@localhost", "pw")?;

    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(b"Subject: bench\r\n\r\n");
    while body.len() < size {
        body.extend_from_slice(
            b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!?\r\n",
        );
    }
    body.truncate(size);
    let body = Arc::new(body);
    let next = Arc::new(AtomicUsize::new(0));

    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let store = store.clone();
            let body = Arc::clone(&body);
            let next = Arc::clone(&next);
            std::thread::spawn(move || -> Result<(), maildir::DeliveryError> {
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    let mut d = store.begin_delivery(Envelope {
                        return_path: Some("sender@remote.test".into()),
                        recipients: vec!["bench@localhost".into()],
                        trace: b"Received: from bench by bench.test\r\n".to_vec(),
                    })?;
                    // Stream in 4 KiB chunks like an SMTP session would.
                    for chunk in body.chunks(4096) {
                        d.write(chunk)?;
                    }
                    d.commit()?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "bench thread panicked")??;
    }
    let elapsed = start.elapsed();
    let status = store.mailbox_status("bench@localhost", "INBOX")?;
    assert_eq!(status.messages as usize, n);
    println!(
        "{n} messages of {size} bytes from {threads} threads in {:.2}s: {:.0} messages/s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
