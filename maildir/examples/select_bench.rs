//! The IMAP SELECT read path: list (uid, flags, MODSEQ, size) of every
//! message of a large mailbox from the index.
//!
//! ```text
//! cargo run --release -p maildir --example select_bench -- [N] [DIR]
//! ```
//! Defaults: N=100000, DIR=a temp dir under $TMPDIR.
//!
//! Filling: the messages are written straight into `new/` as another
//! Maildir program would, then the store is opened and its rescan adopts
//! them all in one index transaction (far faster than N durable
//! deliveries; the index ends up the same). A quarter get flags in `cur/`.
//! Then `message_summaries` (one range scan, compact values) is timed
//! several times; the target for IMAP SELECT is < 20 ms at 100k.

use std::time::Instant;

use maildir::{Store, StoreConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let tmp = match std::env::args().nth(2) {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let config = StoreConfig {
        data_dir: tmp.path().to_path_buf(),
        hostname: "bench.test".into(),
        password_hashing: Default::default(),
    };
    {
        let store = Store::open(config.clone())?;
        store.add_user("bench@localhost", "pw")?;
    }
    let root = tmp.path().join("mail/localhost/bench");
    let start = Instant::now();
    for i in 0..n {
        let body = format!("Subject: message {i}\r\n\r\nbody\r\n");
        let name = format!("{}.M{i}P1Q{i}.bench,S={}", 1_700_000_000 + i, body.len());
        let path = if i % 4 == 0 {
            root.join("cur").join(format!("{name}:2,S"))
        } else {
            root.join("new").join(name)
        };
        std::fs::write(path, body)?;
    }
    println!("wrote {n} files in {:.2}s", start.elapsed().as_secs_f64());

    let start = Instant::now();
    let store = Store::open(config)?;
    println!(
        "open + rescan adopting {n} messages: {:.2}s",
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    store.refresh("bench@localhost", "INBOX")?;
    println!(
        "refresh with nothing changed: {:.3} ms",
        start.elapsed().as_secs_f64() * 1e3
    );

    let mut best = f64::MAX;
    let mut total = 0.0;
    const RUNS: usize = 10;
    for _ in 0..RUNS {
        let start = Instant::now();
        let (status, list) = store.message_summaries("bench@localhost", "INBOX")?;
        let t = start.elapsed().as_secs_f64() * 1e3;
        assert_eq!(list.len(), n);
        assert_eq!(status.messages as usize, n);
        let seen = list
            .iter()
            .filter(|m| m.flags.contains(maildir::Flags::SEEN))
            .count();
        assert_eq!(seen, n.div_ceil(4));
        best = best.min(t);
        total += t;
    }
    println!(
        "message_summaries of {n} messages: best {best:.1} ms, mean {:.1} ms over {RUNS} runs",
        total / RUNS as f64
    );
    let start = Instant::now();
    let full = store.list_messages("bench@localhost", "INBOX")?;
    println!(
        "list_messages (with paths) of {}: {:.1} ms",
        full.len(),
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
