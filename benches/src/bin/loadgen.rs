//! `loadgen`: an SMTP load generator usable against any SMTP server.
//!
//! ```text
//! cargo run --release -p sansmail-benches --bin loadgen -- \
//!     --server 127.0.0.1:2525 --connections 10 --messages 200 --size 5120 \
//!     --from a@example.org --to alice@localhost
//! ```
//!
//! Each connection is a thread that sends EHLO, optionally AUTH PLAIN, then
//! `--warmup` unmeasured and `--messages` measured transactions
//! (MAIL/RCPT/DATA, pipelined per RFC 2920 when the server offers
//! PIPELINING), then QUIT. `--messages` counts per connection.
//!
//! The report gives totals, throughput and the latency of the DATA end
//! (`CRLF.CRLF` written → final reply read) and of the whole transaction
//! (MAIL written → final reply read), then one line of JSON.

use std::io::{self, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use clap::Parser;
use sansmail_benches::message::{build_message, encode_data};
use sansmail_benches::reply::{Reply, read_reply};
use sansmail_benches::stats::Percentiles;

/// Command line.
#[derive(Parser, Debug, Clone)]
#[command(about = "SMTP load generator")]
struct Args {
    /// Server address, host:port.
    #[arg(long, default_value = "127.0.0.1:2525")]
    server: String,
    /// Parallel connections (one thread each).
    #[arg(long, default_value_t = 10)]
    connections: usize,
    /// Measured messages per connection.
    #[arg(long, default_value_t = 200)]
    messages: usize,
    /// Exact message size in bytes (headers + body, before dot-stuffing).
    #[arg(long, default_value_t = 5120)]
    size: usize,
    /// Envelope sender.
    #[arg(long, default_value = "loadgen@example.org")]
    from: String,
    /// Envelope recipient (repeat for several).
    #[arg(long = "to", default_value = "alice@localhost")]
    to: Vec<String>,
    /// EHLO name.
    #[arg(long, default_value = "loadgen.localhost")]
    ehlo: String,
    /// AUTH PLAIN credentials, `user:pass`.
    #[arg(long)]
    auth: Option<String>,
    /// Unmeasured messages per connection sent before the measured ones.
    #[arg(long, default_value_t = 0)]
    warmup: usize,
    /// Socket read/write timeout in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

/// What one connection measured.
#[derive(Default)]
struct ConnResult {
    sent: usize,
    errors: usize,
    io_errors: Vec<String>,
    data_latency: Vec<Duration>,
    txn_latency: Vec<Duration>,
    bytes: u64,
    /// When the first measured transaction started.
    measured_start: Option<Instant>,
    /// When the last transaction ended.
    end: Option<Instant>,
}

struct Session {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    pipelining: bool,
    size_ext: bool,
}

impl Session {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    fn reply(&mut self) -> io::Result<Reply> {
        read_reply(&mut self.reader)
    }

    fn command(&mut self, line: &str) -> io::Result<Reply> {
        self.write(format!("{line}\r\n").as_bytes())?;
        self.reply()
    }
}

fn connect(args: &Args) -> io::Result<Session> {
    let addr = args
        .server
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other("server address resolves to nothing"))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(args.timeout))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(args.timeout)))?;
    stream.set_write_timeout(Some(Duration::from_secs(args.timeout)))?;
    let mut s = Session {
        reader: BufReader::with_capacity(16 * 1024, stream.try_clone()?),
        writer: stream,
        pipelining: false,
        size_ext: false,
    };
    let greeting = s.reply()?;
    if greeting.code != 220 {
        return Err(io::Error::other(format!(
            "greeting {}: {:?}",
            greeting.code, greeting.lines
        )));
    }
    let ehlo = s.command(&format!("EHLO {}", args.ehlo))?;
    if ehlo.code != 250 {
        return Err(io::Error::other(format!(
            "EHLO {}: {:?}",
            ehlo.code, ehlo.lines
        )));
    }
    s.pipelining = ehlo.has_extension("PIPELINING");
    s.size_ext = ehlo.has_extension("SIZE");
    if let Some(cred) = &args.auth {
        let (user, pass) = cred
            .split_once(':')
            .ok_or_else(|| io::Error::other("--auth wants user:pass"))?;
        // RFC 4616: authzid NUL authcid NUL passwd.
        let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"));
        let r = s.command(&format!("AUTH PLAIN {token}"))?;
        if r.code != 235 {
            return Err(io::Error::other(format!("AUTH {}: {:?}", r.code, r.lines)));
        }
    }
    Ok(s)
}

/// Runs one transaction; returns (accepted, DATA-end latency, transaction latency).
fn transaction(
    s: &mut Session,
    args: &Args,
    data: &[u8],
    size: usize,
) -> io::Result<(bool, Duration, Duration)> {
    let size_param = if s.size_ext {
        format!(" SIZE={size}")
    } else {
        String::new()
    };
    let mail = format!("MAIL FROM:<{}>{size_param}\r\n", args.from);
    let rcpts: Vec<String> = args
        .to
        .iter()
        .map(|t| format!("RCPT TO:<{t}>\r\n"))
        .collect();
    let start = Instant::now();
    let mut ok = true;
    let mut any_rcpt = false;
    let data_reply = if s.pipelining {
        // RFC 2920 §3.1: MAIL, RCPT and DATA may be sent in one group, DATA last.
        let mut group = mail.into_bytes();
        for r in &rcpts {
            group.extend_from_slice(r.as_bytes());
        }
        group.extend_from_slice(b"DATA\r\n");
        s.write(&group)?;
        ok &= s.reply()?.is_positive_completion();
        for _ in &rcpts {
            let r = s.reply()?;
            any_rcpt |= r.is_positive_completion();
            ok &= r.is_positive_completion();
        }
        s.reply()?
    } else {
        s.write(mail.as_bytes())?;
        let m = s.reply()?;
        if !m.is_positive_completion() {
            s.command("RSET")?;
            return Ok((false, Duration::ZERO, start.elapsed()));
        }
        for r in &rcpts {
            s.write(r.as_bytes())?;
            let r = s.reply()?;
            any_rcpt |= r.is_positive_completion();
            ok &= r.is_positive_completion();
        }
        if !any_rcpt {
            s.command("RSET")?;
            return Ok((false, Duration::ZERO, start.elapsed()));
        }
        s.command("DATA")?
    };
    if data_reply.code != 354 {
        s.command("RSET")?;
        return Ok((false, Duration::ZERO, start.elapsed()));
    }
    let (body, end) = data.split_at(data.len() - 3);
    s.write(body)?;
    let data_start = Instant::now();
    s.write(end)?;
    let fin = s.reply()?;
    let now = Instant::now();
    ok &= fin.is_positive_completion();
    Ok((ok && any_rcpt, now - data_start, now - start))
}

fn run_connection(args: &Args, conn: usize) -> ConnResult {
    let mut res = ConnResult::default();
    let mut s = match connect(args) {
        Ok(s) => s,
        Err(e) => {
            res.errors += args.messages;
            res.io_errors.push(format!("connection {conn}: {e}"));
            return res;
        }
    };
    let pid = std::process::id();
    let total = args.warmup + args.messages;
    let to = args.to.first().map_or("", String::as_str);
    for i in 0..total {
        let measured = i >= args.warmup;
        if i == args.warmup {
            res.measured_start = Some(Instant::now());
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let id = format!("{nanos}.{pid}.{conn}.{i}@loadgen");
        let Some(message) = build_message(args.size, &args.from, to, &id) else {
            res.io_errors
                .push(format!("--size {} is below the header size", args.size));
            return res;
        };
        let data = encode_data(&message);
        match transaction(&mut s, args, &data, message.len()) {
            Ok((accepted, d, t)) if measured => {
                res.sent += 1;
                if accepted {
                    res.data_latency.push(d);
                    res.txn_latency.push(t);
                    res.bytes += message.len() as u64;
                } else {
                    res.errors += 1;
                }
            }
            Ok(_) => {}
            Err(e) => {
                res.end = Some(Instant::now());
                res.errors += total - i.max(args.warmup);
                res.io_errors
                    .push(format!("connection {conn}, message {i}: {e}"));
                return res;
            }
        }
    }
    res.end = Some(Instant::now());
    let _ = s.command("QUIT");
    res
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> ExitCode {
    let args = Arc::new(Args::parse());
    if args.to.is_empty() || args.connections == 0 {
        eprintln!("loadgen: need at least one --to and one connection");
        return ExitCode::FAILURE;
    }
    let start = Instant::now();
    let handles: Vec<_> = (0..args.connections)
        .map(|c| {
            let args = Arc::clone(&args);
            thread::spawn(move || run_connection(&args, c))
        })
        .collect();
    let mut all = ConnResult::default();
    for h in handles {
        match h.join() {
            Ok(r) => {
                all.sent += r.sent;
                all.errors += r.errors;
                all.io_errors.extend(r.io_errors);
                all.data_latency.extend(r.data_latency);
                all.txn_latency.extend(r.txn_latency);
                all.bytes += r.bytes;
                all.measured_start = match (all.measured_start, r.measured_start) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                all.end = all.end.max(r.end);
            }
            Err(_) => all.io_errors.push("a connection thread panicked".into()),
        }
    }
    // The measured phase: first measured transaction to the last one's end,
    // so warm-up and connection set-up are excluded.
    let elapsed = match (all.measured_start, all.end) {
        (Some(a), Some(b)) => b - a,
        _ => start.elapsed(),
    };
    let accepted = all.data_latency.len();
    let secs = elapsed.as_secs_f64().max(f64::EPSILON);
    let rate = accepted as f64 / secs;
    let mbps = all.bytes as f64 / secs / 1_000_000.0;
    let d = Percentiles::of(&mut all.data_latency);
    let t = Percentiles::of(&mut all.txn_latency);
    for e in &all.io_errors {
        eprintln!("error: {e}");
    }
    println!(
        "server {}  connections {}  size {} B",
        args.server, args.connections, args.size
    );
    println!(
        "messages {}  accepted {accepted}  errors {}  elapsed {:.3} s",
        args.connections * args.messages,
        all.errors,
        elapsed.as_secs_f64()
    );
    println!("throughput {rate:.1} msg/s  {mbps:.3} MB/s");
    for (name, p) in [("DATA end -> reply", d), ("transaction", t)] {
        println!(
            "{name:>18}: p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            ms(p.p50),
            ms(p.p90),
            ms(p.p99),
            ms(p.max)
        );
    }
    println!(
        "{{\"server\":\"{}\",\"connections\":{},\"size\":{},\"messages\":{},\"accepted\":{accepted},\
         \"errors\":{},\"elapsed_s\":{:.6},\"msgs_per_s\":{rate:.3},\"mb_per_s\":{mbps:.6},\
         \"data_ms\":{{\"p50\":{:.3},\"p90\":{:.3},\"p99\":{:.3},\"max\":{:.3}}},\
         \"txn_ms\":{{\"p50\":{:.3},\"p90\":{:.3},\"p99\":{:.3},\"max\":{:.3}}}}}",
        args.server.replace(['"', '\\'], ""),
        args.connections,
        args.size,
        args.connections * args.messages,
        all.errors,
        elapsed.as_secs_f64(),
        ms(d.p50),
        ms(d.p90),
        ms(d.p99),
        ms(d.max),
        ms(t.p50),
        ms(t.p90),
        ms(t.p99),
        ms(t.max),
    );
    if all.errors == 0 && all.io_errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
