//! `imapload`: an IMAP load generator usable against any IMAP server.
//!
//! ```text
//! imapload fill   --server 127.0.0.1:4143 --user big@localhost --pass pw --count 100000 --size 2048
//! imapload select --server 127.0.0.1:4143 --user big@localhost --pass pw --repeat 20
//! imapload idle   --server 127.0.0.1:4143 --user idle@localhost --pass pw --connections 5000 \
//!                 --server-pid $(pidof sansmail) --hold-secs 10
//! imapload mixed  --server 127.0.0.1:4143 --user mixed@localhost --pass pw --clients 10 --seconds 30
//! imapload stress --server 127.0.0.1:4143 --users 100 --clients 10 --seconds 20 [--login-heavy]
//! ```
//!
//! - `fill` APPENDs `--count` messages of exactly `--size` octets over
//!   `--connections` parallel connections, each keeping `--window` APPENDs
//!   in flight when the message fits a non-synchronising literal
//!   (RFC 7888 LITERAL-: 4096 octets; any size with LITERAL+), otherwise
//!   one at a time with synchronising literals.
//! - `select` times `SELECT` and `UID FETCH 1:* (FLAGS)` round trips
//!   (command written → tagged reply read), `--repeat` times, with an
//!   untimed `UNSELECT` between rounds.
//! - `idle` opens `--connections` connections (LOGIN, SELECT, IDLE, waiting
//!   for the `+`) from `--setup-threads` threads with blocking sockets,
//!   keeps only the sockets, and holds them for `--hold-secs` or until
//!   Enter. With `--server-pid` it samples the server's VmRSS from
//!   `/proc/<pid>/status` before, during and after, and reports the memory
//!   per connection.
//! - `mixed` runs `--clients` persistent clients for `--seconds`, each
//!   choosing commands at random with fixed weights (see [`Op::WEIGHTS`]),
//!   and reports commands/s and latency percentiles per command.
//! - `stress` runs `--clients` clients over `--users` accounts with a random
//!   mix of what real clients send (see `stress.rs`), logging out and in
//!   all the time with `--login-heavy`, and counts protocol errors with a
//!   state tracker; `benches/imap-vs-dovecot.sh` runs it side by side with
//!   Dovecot.
//!
//! Every subcommand ends with one line of JSON.

use std::collections::VecDeque;
use std::io::{self, BufRead, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

mod fill;
mod idle;
mod mixed;
mod select;
mod stress;

use fill::fill;
use idle::idle;
use mixed::{Rng, mixed};
use sansmail_benches::imap_client::{Client, Completion, quoted};
use sansmail_benches::message::build_message;
use sansmail_benches::stats::Percentiles;
use select::select;

/// Command line.
#[derive(Parser, Debug)]
#[command(about = "IMAP load generator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// APPEND many messages of one size.
    Fill(FillArgs),
    /// Time SELECT and `UID FETCH 1:* (FLAGS)`.
    Select(SelectArgs),
    /// Hold many logged-in connections in IDLE.
    Idle(IdleArgs),
    /// A mixed workload of persistent clients.
    Mixed(MixedArgs),
    /// Many users, random client mix, protocol-error tracking.
    Stress(stress::StressArgs),
}

/// Options every subcommand takes.
#[derive(Args, Debug, Clone)]
struct Common {
    /// Server address, host:port.
    #[arg(long, default_value = "127.0.0.1:4143")]
    server: String,
    /// Login name.
    #[arg(long, default_value = "alice@localhost")]
    user: String,
    /// Password.
    #[arg(long, default_value = "secret")]
    pass: String,
    /// Socket read/write timeout in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

impl Common {
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }

    /// A logged-in client with a read buffer of `buf` octets.
    fn login(&self, buf: usize) -> io::Result<Client> {
        let mut c = Client::connect(&self.server, self.timeout(), buf)?;
        c.login(&self.user, &self.pass)?;
        Ok(c)
    }
}

#[derive(Args, Debug, Clone)]
struct FillArgs {
    #[command(flatten)]
    common: Common,
    /// Target mailbox (created unless it is INBOX).
    #[arg(long, default_value = "INBOX")]
    mailbox: String,
    /// Messages to append in total.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Exact message size in octets.
    #[arg(long, default_value_t = 2048)]
    size: usize,
    /// Parallel connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// APPENDs in flight per connection (non-synchronising literals only).
    #[arg(long, default_value_t = 32)]
    window: usize,
}

#[derive(Args, Debug, Clone)]
struct SelectArgs {
    #[command(flatten)]
    common: Common,
    /// Mailbox to select.
    #[arg(long, default_value = "INBOX")]
    mailbox: String,
    /// Rounds.
    #[arg(long, default_value_t = 20)]
    repeat: usize,
    /// Only time SELECT.
    #[arg(long)]
    no_fetch: bool,
}

#[derive(Args, Debug, Clone)]
struct IdleArgs {
    #[command(flatten)]
    common: Common,
    /// Connections to open and hold.
    #[arg(long, default_value_t = 5000)]
    connections: usize,
    /// Mailbox each connection selects before IDLE.
    #[arg(long, default_value = "INBOX")]
    mailbox: String,
    /// Threads opening connections (each LOGIN costs the server a password
    /// hash, so more threads than server cores only queue).
    #[arg(long, default_value_t = 4)]
    setup_threads: usize,
    /// Hold this many seconds; without it, hold until Enter.
    #[arg(long)]
    hold_secs: Option<u64>,
    /// The server's pid: sample its VmRSS.
    #[arg(long)]
    server_pid: Option<u32>,
    /// LOGIN then LOGOUT this many times (with `--setup-threads` threads)
    /// before the first RSS sample, so allocator pools grown by password
    /// hashing are counted in "before" rather than per connection.
    #[arg(long, default_value_t = 0)]
    warmup_logins: usize,
    /// Do not log in: hold connections in the not-authenticated state.
    #[arg(long)]
    no_login: bool,
}

#[derive(Args, Debug, Clone)]
struct MixedArgs {
    #[command(flatten)]
    common: Common,
    /// Persistent clients (one thread each).
    #[arg(long, default_value_t = 10)]
    clients: usize,
    /// Measured duration.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Mailbox to work in (must hold messages: run `fill` first).
    #[arg(long, default_value = "INBOX")]
    mailbox: String,
    /// Size of APPENDed messages.
    #[arg(long, default_value_t = 2048)]
    append_size: usize,
    /// Random seed (client i uses seed + i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn json_pct(p: &Percentiles) -> String {
    format!(
        "{{\"p50\":{:.3},\"p90\":{:.3},\"p99\":{:.3},\"max\":{:.3}}}",
        ms(p.p50),
        ms(p.p90),
        ms(p.p99),
        ms(p.max)
    )
}

fn print_pct(name: &str, p: &Percentiles, n: usize) {
    println!(
        "{name:>14}: n {n:>7}  p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        ms(p.p50),
        ms(p.p90),
        ms(p.p99),
        ms(p.max)
    );
}

fn json_str(s: &str) -> String {
    s.replace(['"', '\\'], "")
}

/// A unique Message-ID local part.
fn message_id(tag: &str, i: usize) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{nanos}.{}.{tag}.{i}@imapload", std::process::id())
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Fill(a) => fill(a),
        Command::Select(a) => select(a),
        Command::Idle(a) => idle(a),
        Command::Mixed(a) => mixed(a),
        Command::Stress(a) => stress::stress(a),
    }
}
