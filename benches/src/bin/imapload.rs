//! `imapload`: an IMAP load generator usable against any IMAP server.
//!
//! ```text
//! imapload fill   --server 127.0.0.1:4143 --user big@localhost --pass pw --count 100000 --size 2048
//! imapload select --server 127.0.0.1:4143 --user big@localhost --pass pw --repeat 20
//! imapload idle   --server 127.0.0.1:4143 --user idle@localhost --pass pw --connections 5000 \
//!                 --server-pid $(pidof sansmail) --hold-secs 10
//! imapload mixed  --server 127.0.0.1:4143 --user mixed@localhost --pass pw --clients 10 --seconds 30
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
use sansmail_benches::imap_client::{Client, Completion, quoted};
use sansmail_benches::message::build_message;
use sansmail_benches::stats::Percentiles;

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

// ---------------------------------------------------------------- fill

/// Appends `count` messages on one connection; returns (ok, refused, error).
fn fill_connection(a: &FillArgs, conn: usize, count: usize) -> (usize, usize, Option<String>) {
    let mut c = match a.common.login(64 * 1024) {
        Ok(c) => c,
        Err(e) => return (0, 0, Some(format!("connection {conn}: {e}"))),
    };
    let Some(mailbox) = quoted(&a.mailbox) else {
        return (0, 0, Some("mailbox cannot be quoted".into()));
    };
    let (mut ok, mut refused) = (0usize, 0usize);
    let mut first_refusal = None;
    let mut account = |done: Completion, first: &mut Option<String>| {
        if done.is_ok() {
            ok += 1;
        } else {
            refused += 1;
            first.get_or_insert_with(|| done.tagged.lossy());
        }
    };
    let pipelined = c.nonsync.allows(a.size);
    let mut in_flight: VecDeque<String> = VecDeque::new();
    let result = (|| -> io::Result<()> {
        for i in 0..count {
            let Some(message) = build_message(
                a.size,
                "imapload@example.org",
                &a.common.user,
                &message_id(&conn.to_string(), i),
            ) else {
                return Err(io::Error::other(format!(
                    "--size {} is below the header size",
                    a.size
                )));
            };
            if pipelined {
                if in_flight.len() >= a.window.max(1)
                    && let Some(tag) = in_flight.pop_front()
                {
                    let done = c.wait_tagged(&tag, |_| {})?;
                    account(done, &mut first_refusal);
                }
                let tag = c.next_tag();
                c.send(&Client::append_nonsync(&tag, &mailbox, &message))?;
                in_flight.push_back(tag);
            } else {
                let done = c.append(&a.mailbox, &message)?;
                account(done, &mut first_refusal);
            }
        }
        while let Some(tag) = in_flight.pop_front() {
            let done = c.wait_tagged(&tag, |_| {})?;
            account(done, &mut first_refusal);
        }
        let _ = c.command("LOGOUT");
        Ok(())
    })();
    let error = match result {
        Err(e) => Some(format!("connection {conn}: {e}")),
        Ok(()) => first_refusal.map(|r| format!("connection {conn}: refused: {r}")),
    };
    (ok, refused, error)
}

fn fill(a: FillArgs) -> ExitCode {
    let connections = a.connections.max(1);
    if !a.mailbox.eq_ignore_ascii_case("INBOX") {
        let created = a.common.login(16 * 1024).and_then(|mut c| {
            let m = quoted(&a.mailbox).ok_or_else(|| io::Error::other("bad mailbox"))?;
            // An existing mailbox answers NO [ALREADYEXISTS]: fine.
            let _ = c.command(&format!("CREATE {m}"))?;
            c.command("LOGOUT")
        });
        if let Err(e) = created {
            eprintln!("imapload: {e}");
            return ExitCode::FAILURE;
        }
    }
    let a = Arc::new(a);
    let start = Instant::now();
    let handles: Vec<_> = (0..connections)
        .map(|i| {
            let a = Arc::clone(&a);
            let n = a.count / connections + usize::from(i < a.count % connections);
            thread::spawn(move || fill_connection(&a, i, n))
        })
        .collect();
    let (mut ok, mut refused, mut errors) = (0, 0, Vec::new());
    for h in handles {
        match h.join() {
            Ok((o, r, e)) => {
                ok += o;
                refused += r;
                errors.extend(e);
            }
            Err(_) => errors.push("a connection thread panicked".into()),
        }
    }
    let secs = start.elapsed().as_secs_f64().max(f64::EPSILON);
    for e in &errors {
        eprintln!("error: {e}");
    }
    let rate = ok as f64 / secs;
    let mbps = (ok * a.size) as f64 / secs / 1e6;
    println!(
        "fill {} {}  connections {connections}  size {} B  window {}",
        a.common.server, a.mailbox, a.size, a.window
    );
    println!(
        "appended {ok}  refused {refused}  elapsed {secs:.3} s  {rate:.1} msg/s  {mbps:.3} MB/s"
    );
    println!(
        "{{\"mode\":\"fill\",\"server\":\"{}\",\"mailbox\":\"{}\",\"connections\":{connections},\"size\":{},\
         \"appended\":{ok},\"refused\":{refused},\"elapsed_s\":{secs:.6},\"msgs_per_s\":{rate:.3},\"mb_per_s\":{mbps:.6}}}",
        json_str(&a.common.server),
        json_str(&a.mailbox),
        a.size
    );
    if errors.is_empty() && ok == a.count {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

// ---------------------------------------------------------------- select

fn select(a: SelectArgs) -> ExitCode {
    match select_run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imapload: {e}");
            ExitCode::FAILURE
        }
    }
}

fn select_run(a: &SelectArgs) -> io::Result<()> {
    let mut c = a.common.login(64 * 1024)?;
    let mut selects = Vec::with_capacity(a.repeat);
    let mut fetches = Vec::with_capacity(a.repeat);
    let (mut exists, mut fetched, mut octets) = (0u64, 0usize, 0u64);
    for _ in 0..a.repeat.max(1) {
        let t = Instant::now();
        let (done, n) = c.select(&a.mailbox)?;
        selects.push(t.elapsed());
        if !done.is_ok() {
            return Err(io::Error::other(format!("SELECT: {}", done.tagged.lossy())));
        }
        exists = n;
        if !a.no_fetch && n > 0 {
            let t = Instant::now();
            let done = c.command("UID FETCH 1:* (FLAGS)")?;
            fetches.push(t.elapsed());
            if !done.is_ok() {
                return Err(io::Error::other(format!("FETCH: {}", done.tagged.lossy())));
            }
            fetched = done.untagged;
            octets = done.octets;
        }
        c.command_ok("UNSELECT")?;
    }
    let _ = c.command("LOGOUT");
    let first_select = selects.first().copied().unwrap_or_default();
    let first_fetch = fetches.first().copied().unwrap_or_default();
    let s = Percentiles::of(&mut selects);
    let f = Percentiles::of(&mut fetches);
    println!(
        "select {} {}  exists {exists}  rounds {}",
        a.common.server,
        a.mailbox,
        selects.len()
    );
    println!(
        "first SELECT {:.3} ms  first FETCH {:.3} ms  FETCH responses {fetched}  {octets} octets",
        ms(first_select),
        ms(first_fetch)
    );
    print_pct("SELECT", &s, selects.len());
    print_pct("UID FETCH 1:*", &f, fetches.len());
    println!(
        "{{\"mode\":\"select\",\"server\":\"{}\",\"mailbox\":\"{}\",\"exists\":{exists},\"rounds\":{},\
         \"fetch_responses\":{fetched},\"fetch_octets\":{octets},\"first_select_ms\":{:.3},\
         \"first_fetch_ms\":{:.3},\"select_ms\":{},\"fetch_ms\":{}}}",
        json_str(&a.common.server),
        json_str(&a.mailbox),
        selects.len(),
        ms(first_select),
        ms(first_fetch),
        json_pct(&s),
        json_pct(&f)
    );
    Ok(())
}

// ---------------------------------------------------------------- idle

/// `VmRSS` in KiB from the text of `/proc/<pid>/status`.
fn parse_vmrss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line.split_whitespace().skip(1);
    let n = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(n)
}

fn vmrss(pid: &str) -> Option<u64> {
    parse_vmrss(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// Opens one connection and leaves it in IDLE (or just greeted).
fn idle_open(a: &IdleArgs) -> io::Result<TcpStream> {
    // Small buffer: set-up responses are a few hundred octets.
    let mut c = Client::connect(&a.common.server, a.common.timeout(), 4096)?;
    if a.no_login {
        return Ok(c.into_stream());
    }
    c.login(&a.common.user, &a.common.pass)?;
    let (done, _) = c.select(&a.mailbox)?;
    if !done.is_ok() {
        return Err(io::Error::other(format!("SELECT: {}", done.tagged.lossy())));
    }
    let tag = c.next_tag();
    c.send(format!("{tag} IDLE\r\n").as_bytes())?;
    // RFC 2177 §3: the server answers IDLE with a continuation request.
    loop {
        let r = c.read_response()?;
        if r.is_continuation() {
            return Ok(c.into_stream());
        }
        if r.tag() == Some(tag.as_bytes()) {
            return Err(io::Error::other(format!("IDLE: {}", r.lossy())));
        }
    }
}

/// Runs `job(i)` for i in 0..n on `threads` threads.
fn spread<T: Send + 'static>(
    n: usize,
    threads: usize,
    job: impl Fn(usize) -> T + Send + Sync + 'static,
    done: &Arc<AtomicUsize>,
) -> Vec<thread::JoinHandle<Vec<T>>> {
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    (0..threads.max(1))
        .map(|_| {
            let (next, job, done) = (Arc::clone(&next), Arc::clone(&job), Arc::clone(done));
            thread::spawn(move || {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return out;
                    }
                    out.push(job(i));
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect()
}

fn idle(a: IdleArgs) -> ExitCode {
    let a = Arc::new(a);
    let pid = a.server_pid.map(|p| p.to_string());
    let rss = || pid.as_deref().and_then(vmrss);
    if a.warmup_logins > 0 {
        let w = Arc::clone(&a);
        let counter = Arc::new(AtomicUsize::new(0));
        let handles = spread(
            a.warmup_logins,
            a.setup_threads,
            move |_| {
                w.common
                    .login(4096)
                    .and_then(|mut c| c.command("LOGOUT"))
                    .err()
                    .map(|e| e.to_string())
            },
            &counter,
        );
        for h in handles {
            for e in h.join().unwrap_or_default().into_iter().flatten() {
                eprintln!("warm-up: {e}");
            }
        }
        thread::sleep(Duration::from_secs(1));
    }
    let before = rss();
    let start = Instant::now();
    let ready = Arc::new(AtomicUsize::new(0));
    let job_args = Arc::clone(&a);
    let handles = spread(
        a.connections,
        a.setup_threads,
        move |_| idle_open(&job_args),
        &ready,
    );
    // Samples (connections set up, server VmRSS) while opening.
    let mut samples: Vec<(usize, u64)> = Vec::new();
    while handles.iter().any(|h| !h.is_finished()) {
        thread::sleep(Duration::from_millis(500));
        let n = ready.load(Ordering::Relaxed);
        if let Some(r) = rss() {
            samples.push((n, r));
            eprintln!("  {n} connections  server VmRSS {r} KiB");
        }
    }
    let mut streams = Vec::with_capacity(a.connections);
    let mut errors = Vec::new();
    for h in handles {
        for r in h.join().unwrap_or_default() {
            match r {
                Ok(s) => streams.push(s),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    let setup = start.elapsed();
    // Let the server finish what the last connections started.
    thread::sleep(Duration::from_secs(2));
    let after = rss();
    let own = vmrss("self");
    let held = streams.len();
    errors.sort();
    errors.dedup();
    for e in errors.iter().take(10) {
        eprintln!("error: {e}");
    }
    let state = if a.no_login { "greeted" } else { "IDLE" };
    println!(
        "idle {}  {held} of {} connections in {state}  set-up {:.1} s  failures {}",
        a.common.server,
        a.connections,
        setup.as_secs_f64(),
        a.connections - held
    );
    let mut per_conn = 0.0;
    // None when the RSS fell over the second half (transient hashing
    // memory in the half-way sample): no slope to report then.
    let mut marginal: Option<f64> = None;
    if let (Some(b), Some(f)) = (before, after) {
        per_conn = (f.saturating_sub(b) as f64) / held.max(1) as f64;
        // The slope over the second half excludes fixed costs paid by the
        // first connections (thread pools, allocator arenas).
        let half = samples.iter().find(|(n, _)| *n >= held / 2);
        if let Some(&(n, r)) = half
            && held > n
            && f >= r
        {
            marginal = Some((f - r) as f64 / (held - n) as f64);
        }
        let slope = marginal.map_or_else(|| "n/a".to_owned(), |m| format!("{m:.2} KiB"));
        println!(
            "server VmRSS before {b} KiB  after {f} KiB  delta {} KiB  per connection {per_conn:.2} KiB  \
             (second-half slope {slope})",
            f.saturating_sub(b)
        );
    }
    if let Some(o) = own {
        println!("imapload VmRSS {o} KiB");
    }
    println!(
        "{{\"mode\":\"idle\",\"server\":\"{}\",\"state\":\"{state}\",\"connections\":{held},\"failures\":{},\
         \"setup_s\":{:.3},\"server_rss_before_kib\":{},\"server_rss_after_kib\":{},\
         \"kib_per_connection\":{per_conn:.3},\"kib_per_connection_second_half\":{},\
         \"imapload_rss_kib\":{}}}",
        json_str(&a.common.server),
        a.connections - held,
        setup.as_secs_f64(),
        before.unwrap_or(0),
        after.unwrap_or(0),
        marginal.map_or_else(|| "null".to_owned(), |m| format!("{m:.3}")),
        own.unwrap_or(0)
    );
    let _ = io::stdout().flush();
    match a.hold_secs {
        Some(s) => thread::sleep(Duration::from_secs(s)),
        None => {
            println!("holding; press Enter to close");
            let _ = io::stdin().lock().read_line(&mut String::new());
        }
    }
    for mut s in streams {
        // RFC 2177 §3: DONE ends IDLE; then leave politely.
        let bye: &[u8] = if a.no_login {
            b"Z LOGOUT\r\n"
        } else {
            b"DONE\r\nZ LOGOUT\r\n"
        };
        let _ = s.write_all(bye);
    }
    if held == a.connections {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

// ---------------------------------------------------------------- mixed

/// The commands of the mixed workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Select,
    FetchFlags,
    FetchHeaders,
    Store,
    Search,
    Append,
    Noop,
}

impl Op {
    /// Relative frequencies, roughly a desktop client that syncs flags,
    /// shows a message list and marks messages read.
    const WEIGHTS: [(Op, u64); 7] = [
        (Op::Select, 5),
        (Op::FetchFlags, 25),
        (Op::FetchHeaders, 20),
        (Op::Store, 15),
        (Op::Search, 10),
        (Op::Append, 5),
        (Op::Noop, 20),
    ];

    fn name(self) -> &'static str {
        match self {
            Op::Select => "SELECT",
            Op::FetchFlags => "FETCH flags",
            Op::FetchHeaders => "FETCH headers",
            Op::Store => "STORE",
            Op::Search => "SEARCH",
            Op::Append => "APPEND",
            Op::Noop => "NOOP",
        }
    }

    fn index(self) -> usize {
        Self::WEIGHTS
            .iter()
            .position(|(o, _)| *o == self)
            .unwrap_or_default()
    }

    fn pick(r: u64) -> Op {
        let total: u64 = Self::WEIGHTS.iter().map(|(_, w)| w).sum();
        let mut x = r % total;
        for (op, w) in Self::WEIGHTS {
            if x < w {
                return op;
            }
            x -= w;
        }
        Op::Noop
    }
}

/// xorshift64* (deterministic per seed; quality is ample for picking).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Messages a FETCH or STORE range covers.
const WINDOW: u64 = 20;

#[derive(Default)]
struct MixedResult {
    latency: Vec<Vec<Duration>>,
    refused: Vec<usize>,
    error: Option<String>,
    first_refusal: Option<String>,
}

fn mixed_client(a: &MixedArgs, id: usize, deadline: Instant) -> MixedResult {
    let mut res = MixedResult {
        latency: vec![Vec::new(); Op::WEIGHTS.len()],
        refused: vec![0; Op::WEIGHTS.len()],
        ..MixedResult::default()
    };
    let run = (|| -> io::Result<()> {
        let mut c = a.common.login(64 * 1024)?;
        let (done, mut exists) = c.select(&a.mailbox)?;
        if !done.is_ok() || exists == 0 {
            return Err(io::Error::other(format!(
                "{} is empty or missing ({}); run `imapload fill` first",
                a.mailbox,
                done.tagged.lossy()
            )));
        }
        let mailbox = quoted(&a.mailbox).ok_or_else(|| io::Error::other("bad mailbox"))?;
        let mut rng = Rng::new(a.seed.wrapping_add(id as u64));
        let mut appended = 0usize;
        while Instant::now() < deadline {
            let op = Op::pick(rng.next());
            let lo = 1 + rng.next() % exists;
            let hi = (lo + WINDOW - 1).min(exists);
            let line = match op {
                Op::Select => format!("SELECT {mailbox}"),
                Op::FetchFlags => format!("FETCH {lo}:{hi} (UID FLAGS)"),
                Op::FetchHeaders => format!(
                    "FETCH {lo}:{hi} (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])"
                ),
                Op::Store => {
                    let sign = if rng.next().is_multiple_of(2) {
                        '+'
                    } else {
                        '-'
                    };
                    let flag = if rng.next().is_multiple_of(4) {
                        "\\Flagged"
                    } else {
                        "\\Seen"
                    };
                    format!("STORE {lo} {sign}FLAGS.SILENT ({flag})")
                }
                Op::Search => {
                    if rng.next().is_multiple_of(2) {
                        "UID SEARCH UNSEEN".to_owned()
                    } else {
                        "UID SEARCH SINCE 1-Jan-2020 FLAGGED".to_owned()
                    }
                }
                Op::Append | Op::Noop => "NOOP".to_owned(),
            };
            let t = Instant::now();
            let done = if op == Op::Append {
                appended += 1;
                let id = message_id(&format!("m{id}"), appended);
                let msg = build_message(a.append_size, "imapload@example.org", &a.common.user, &id)
                    .ok_or_else(|| io::Error::other("--append-size is below the header size"))?;
                c.append(&a.mailbox, &msg)?
            } else {
                c.command_with(&line, |r| {
                    if let Some(n) = r.untagged_number("EXISTS") {
                        exists = n;
                    }
                })?
            };
            let took = t.elapsed();
            let k = op.index();
            if done.is_ok() {
                if let Some(v) = res.latency.get_mut(k) {
                    v.push(took);
                }
            } else {
                if let Some(n) = res.refused.get_mut(k) {
                    *n += 1;
                }
                res.first_refusal
                    .get_or_insert_with(|| format!("{}: {}", op.name(), done.tagged.lossy()));
            }
        }
        let _ = c.command("LOGOUT");
        Ok(())
    })();
    if let Err(e) = run {
        res.error = Some(format!("client {id}: {e}"));
    }
    res
}

fn mixed(a: MixedArgs) -> ExitCode {
    let a = Arc::new(a);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.seconds);
    let handles: Vec<_> = (0..a.clients.max(1))
        .map(|i| {
            let a = Arc::clone(&a);
            thread::spawn(move || mixed_client(&a, i, deadline))
        })
        .collect();
    let mut all = MixedResult {
        latency: vec![Vec::new(); Op::WEIGHTS.len()],
        refused: vec![0; Op::WEIGHTS.len()],
        ..MixedResult::default()
    };
    let mut errors = Vec::new();
    for h in handles {
        match h.join() {
            Ok(r) => {
                for (dst, src) in all.latency.iter_mut().zip(r.latency) {
                    dst.extend(src);
                }
                for (dst, src) in all.refused.iter_mut().zip(r.refused) {
                    *dst += src;
                }
                errors.extend(r.error);
                if all.first_refusal.is_none() {
                    all.first_refusal = r.first_refusal;
                }
            }
            Err(_) => errors.push("a client thread panicked".into()),
        }
    }
    let secs = start.elapsed().as_secs_f64().max(f64::EPSILON);
    for e in &errors {
        eprintln!("error: {e}");
    }
    if let Some(r) = &all.first_refusal {
        eprintln!("first refusal: {r}");
    }
    let total: usize = all.latency.iter().map(Vec::len).sum();
    let refused: usize = all.refused.iter().sum();
    let rate = total as f64 / secs;
    let mut everything: Vec<Duration> = all.latency.iter().flatten().copied().collect();
    let overall = Percentiles::of(&mut everything);
    println!(
        "mixed {} {}  clients {}  elapsed {secs:.3} s",
        a.common.server, a.mailbox, a.clients
    );
    println!("commands {total}  refused {refused}  {rate:.1} commands/s");
    print_pct("all", &overall, total);
    let mut per_op = Vec::new();
    for ((op, _), lat) in Op::WEIGHTS.iter().zip(all.latency.iter_mut()) {
        let n = lat.len();
        let p = Percentiles::of(lat);
        print_pct(op.name(), &p, n);
        per_op.push(format!(
            "\"{}\":{{\"n\":{n},\"ms\":{}}}",
            op.name(),
            json_pct(&p)
        ));
    }
    println!(
        "{{\"mode\":\"mixed\",\"server\":\"{}\",\"clients\":{},\"elapsed_s\":{secs:.6},\"commands\":{total},\
         \"refused\":{refused},\"commands_per_s\":{rate:.3},\"all_ms\":{},\"ops\":{{{}}}}}",
        json_str(&a.common.server),
        a.clients,
        json_pct(&overall),
        per_op.join(",")
    );
    if errors.is_empty() && refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Fill(a) => fill(a),
        Command::Select(a) => select(a),
        Command::Idle(a) => idle(a),
        Command::Mixed(a) => mixed(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmrss_line() {
        let status = "Name:\tsansmail\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nThreads:\t5\n";
        assert_eq!(parse_vmrss(status), Some(12345));
        assert_eq!(parse_vmrss("VmRSS: x kB\n"), None);
        assert_eq!(parse_vmrss("Name: a\n"), None);
    }

    #[test]
    fn op_weights() {
        // Each op is picked exactly its weight's share of 0..100.
        let mut counts = [0u64; 7];
        for r in 0..100 {
            counts[Op::pick(r).index()] += 1;
        }
        assert_eq!(counts, [5, 25, 20, 15, 10, 5, 20]);
        assert_eq!(Op::WEIGHTS.iter().map(|(_, w)| w).sum::<u64>(), 100);
    }

    #[test]
    fn rng_is_deterministic() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let x: Vec<u64> = (0..4).map(|_| a.next()).collect();
        let y: Vec<u64> = (0..4).map(|_| b.next()).collect();
        assert_eq!(x, y);
        assert_ne!(x[0], x[1]);
        assert_ne!(Rng::new(8).next(), x[0]);
    }
}
