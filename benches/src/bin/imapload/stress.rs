//! `imapload stress`: many users, a few concurrent clients, a random mix of
//! what real clients send, and a state tracker that counts protocol errors.
//!
//! The shape follows the third-party stress runs the IMAP performance issue
//! quotes (100 users, 10 clients, 20 s rounds): per client, a random mix of
//! LOGIN, LIST, STATUS, SELECT, FETCH of FLAGS / ENVELOPE / BODYSTRUCTURE /
//! header fields / whole bodies, STORE of flags and keywords, EXPUNGE,
//! APPEND of realistic messages and LOGOUT.
//!
//! - `--login-heavy`: every client logs out after a few commands and logs
//!   in again as another random user (password checks dominate).
//! - persistent (default): every client keeps one session for the run.
//!
//! The tracker follows each session's view of its selected mailbox the way
//! a state-tracking client does and counts as **protocol errors**: a
//! tagged BAD; an unexpected BYE; a sequence number of 0 or above EXISTS
//! in FETCH or EXPUNGE; EXISTS going down; and a keyword in
//! `FETCH (FLAGS ...)` that no untagged `FLAGS` announced first (RFC 9051
//! §7.3.5). A tagged NO is counted apart as refused (another session may
//! have expunged the message, RFC 9051 §6.4.5 allows it).

use std::collections::HashSet;
use std::path::PathBuf;

use sansmail_benches::imap_frame::Response;

use super::*;

#[derive(Args, Debug, Clone)]
pub(super) struct StressArgs {
    /// Server address, host:port.
    #[arg(long, default_value = "127.0.0.1:4143")]
    server: String,
    /// Login names: `{n}` is replaced by 1..=--users (zero-padded to 3).
    #[arg(long, default_value = "stress{n}@localhost")]
    user_format: String,
    /// How many users exist.
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Every user's password.
    #[arg(long, default_value = "secret")]
    pass: String,
    /// Concurrent clients (one thread each).
    #[arg(long, default_value_t = 10)]
    clients: usize,
    /// Measured duration.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Log out and in again (as another user) every 1..=5 commands.
    #[arg(long)]
    login_heavy: bool,
    /// Messages to APPEND: an mbox file or a directory of .eml files;
    /// without it, generated text messages of 1-20 KB.
    #[arg(long)]
    messages: Option<PathBuf>,
    /// Before the clock starts, APPEND this many messages to every user's
    /// INBOX that holds fewer.
    #[arg(long, default_value_t = 0)]
    prefill: usize,
    /// Random seed (client i uses seed + i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Socket timeout in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

/// The commands of the mix, with relative weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StressOp {
    Login,
    List,
    Status,
    Select,
    FetchFlags,
    FetchEnvelope,
    FetchBodystructure,
    FetchHeaders,
    FetchBody,
    StoreFlags,
    StoreKeywords,
    Expunge,
    Append,
    Logout,
}

impl StressOp {
    /// Picked after login; LOGIN and LOGOUT are driven by the mode.
    const WEIGHTS: [(StressOp, u64); 12] = [
        (StressOp::List, 4),
        (StressOp::Status, 6),
        (StressOp::Select, 6),
        (StressOp::FetchFlags, 16),
        (StressOp::FetchEnvelope, 10),
        (StressOp::FetchBodystructure, 8),
        (StressOp::FetchHeaders, 12),
        (StressOp::FetchBody, 8),
        (StressOp::StoreFlags, 12),
        (StressOp::StoreKeywords, 6),
        (StressOp::Expunge, 4),
        (StressOp::Append, 8),
    ];

    const ALL: [StressOp; 14] = [
        StressOp::Login,
        StressOp::List,
        StressOp::Status,
        StressOp::Select,
        StressOp::FetchFlags,
        StressOp::FetchEnvelope,
        StressOp::FetchBodystructure,
        StressOp::FetchHeaders,
        StressOp::FetchBody,
        StressOp::StoreFlags,
        StressOp::StoreKeywords,
        StressOp::Expunge,
        StressOp::Append,
        StressOp::Logout,
    ];

    fn name(self) -> &'static str {
        match self {
            StressOp::Login => "LOGIN",
            StressOp::List => "LIST",
            StressOp::Status => "STATUS",
            StressOp::Select => "SELECT",
            StressOp::FetchFlags => "FETCH flags",
            StressOp::FetchEnvelope => "FETCH envelope",
            StressOp::FetchBodystructure => "FETCH bodystruct",
            StressOp::FetchHeaders => "FETCH headers",
            StressOp::FetchBody => "FETCH body",
            StressOp::StoreFlags => "STORE flags",
            StressOp::StoreKeywords => "STORE keywords",
            StressOp::Expunge => "EXPUNGE",
            StressOp::Append => "APPEND",
            StressOp::Logout => "LOGOUT",
        }
    }

    fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|o| *o == self)
            .unwrap_or_default()
    }

    fn pick(r: u64) -> StressOp {
        let total: u64 = Self::WEIGHTS.iter().map(|(_, w)| w).sum();
        let mut x = r % total;
        for (op, w) in Self::WEIGHTS {
            if x < w {
                return op;
            }
            x -= w;
        }
        StressOp::FetchFlags
    }
}

/// A session's view of its selected mailbox, as a state-tracking client
/// keeps it.
#[derive(Debug, Default)]
pub(super) struct Tracker {
    /// EXISTS as last announced and adjusted by EXPUNGE.
    pub(super) exists: u64,
    /// Flags and keywords the last untagged FLAGS listed.
    pub(super) flags: HashSet<String>,
    /// Protocol errors seen (text of each, the first few kept).
    pub(super) errors: Vec<String>,
    /// How many errors in all.
    pub(super) error_count: usize,
    /// LOGOUT was sent: its `* BYE` is expected (RFC 9051 §6.1.3).
    pub(super) logging_out: bool,
}

impl Tracker {
    fn error(&mut self, what: String) {
        self.error_count += 1;
        if self.errors.len() < 5 {
            self.errors.push(what);
        }
    }

    /// A new SELECT: forget the old mailbox.
    pub(super) fn reset(&mut self) {
        self.exists = 0;
        self.flags.clear();
    }

    /// Follows one untagged response.
    pub(super) fn untagged(&mut self, r: &Response) {
        let text = &r.text;
        if !text.starts_with(b"* ") {
            return;
        }
        let words: Vec<&[u8]> = text.splitn(4, |&b| b == b' ').collect();
        let second = words.get(1).copied().unwrap_or_default();
        if second.eq_ignore_ascii_case(b"FLAGS") {
            self.flags = parse_flag_list(text, b"FLAGS (").into_iter().collect();
            return;
        }
        if second.eq_ignore_ascii_case(b"BYE") {
            if !self.logging_out {
                self.error(format!("unexpected {}", r.lossy()));
            }
            return;
        }
        let Some(n) = std::str::from_utf8(second)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        else {
            return;
        };
        let word = words.get(2).copied().unwrap_or_default();
        if word.eq_ignore_ascii_case(b"EXISTS") {
            if n < self.exists {
                self.error(format!("EXISTS went down from {} to {n}", self.exists));
            }
            self.exists = n;
        } else if word.eq_ignore_ascii_case(b"EXPUNGE") {
            if n == 0 || n > self.exists {
                self.error(format!("EXPUNGE {n} with EXISTS {}", self.exists));
            } else {
                self.exists -= 1;
            }
        } else if word.eq_ignore_ascii_case(b"FETCH") {
            if n == 0 || n > self.exists {
                self.error(format!("FETCH {n} with EXISTS {}", self.exists));
            }
            if contains(text, b"FLAGS (") {
                for f in parse_flag_list(text, b"FLAGS (") {
                    if !f.starts_with('\\') && !self.flags.contains(&f) {
                        self.error(format!(
                            "keyword {f} in FETCH before any FLAGS listed it: {}",
                            r.lossy()
                        ));
                    }
                }
            }
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The atoms of the first parenthesised list after `prefix`.
fn parse_flag_list(text: &[u8], prefix: &[u8]) -> Vec<String> {
    let Some(at) = text
        .windows(prefix.len())
        .position(|w| w.eq_ignore_ascii_case(prefix))
    else {
        return Vec::new();
    };
    let rest = &text[at + prefix.len()..];
    let end = rest.iter().position(|&b| b == b')').unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end])
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The messages APPENDed: from an mbox or .eml files, or generated.
fn load_messages(a: &StressArgs) -> io::Result<Vec<Vec<u8>>> {
    let crlf = |m: &[u8]| -> Vec<u8> {
        let mut out = Vec::with_capacity(m.len() + m.len() / 40);
        let mut prev = 0u8;
        for &b in m {
            if b == b'\n' && prev != b'\r' {
                out.push(b'\r');
            }
            out.push(b);
            prev = b;
        }
        out
    };
    let Some(path) = &a.messages else {
        let mut rng = Rng::new(a.seed ^ 0xa5a5);
        return Ok((0..64)
            .filter_map(|i| {
                let size = 1024 + (rng.next() % (19 * 1024)) as usize;
                build_message(
                    size,
                    "stress@example.org",
                    "user@localhost",
                    &message_id("s", i),
                )
            })
            .collect());
    };
    let mut out = Vec::new();
    if path.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(path)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        for p in names {
            out.push(crlf(&std::fs::read(p)?));
        }
    } else {
        // mbox: messages start at lines beginning with "From ".
        let data = std::fs::read(path)?;
        let mut start = None;
        let mut i = 0;
        while i < data.len() {
            let line_end = data[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len(), |p| i + p + 1);
            if data[i..].starts_with(b"From ") {
                if let Some(s) = start {
                    out.push(crlf(&data[s..i]));
                }
                start = Some(line_end);
            }
            i = line_end;
        }
        if let Some(s) = start {
            out.push(crlf(&data[s..]));
        }
    }
    out.retain(|m| !m.is_empty() && m.len() < 4 * 1024 * 1024);
    if out.is_empty() {
        return Err(io::Error::other(format!(
            "{}: no messages found",
            path.display()
        )));
    }
    Ok(out)
}

fn user_name(a: &StressArgs, n: usize) -> String {
    a.user_format.replace("{n}", &format!("{n:03}"))
}

#[derive(Default)]
struct StressResult {
    latency: Vec<Vec<Duration>>,
    refused: Vec<usize>,
    errors: Vec<String>,
    error_count: usize,
    failure: Option<String>,
}

struct Session {
    client: Client,
    tracker: Tracker,
}

impl Session {
    fn logout(&mut self) -> io::Result<Completion> {
        self.tracker.logging_out = true;
        self.command("LOGOUT")
    }

    fn command(&mut self, line: &str) -> io::Result<Completion> {
        let tracker = &mut self.tracker;
        self.client.command_with(line, |r| tracker.untagged(r))
    }
}

fn login(a: &StressArgs, user: &str) -> io::Result<Session> {
    let timeout = Duration::from_secs(a.timeout);
    let mut client = Client::connect(&a.server, timeout, 64 * 1024)?;
    client.login(user, &a.pass)?;
    Ok(Session {
        client,
        tracker: Tracker::default(),
    })
}

fn select_inbox(s: &mut Session) -> io::Result<Completion> {
    s.tracker.reset();
    s.command("SELECT INBOX")
}

/// One client's run until `deadline`.
fn stress_client(
    a: &StressArgs,
    id: usize,
    deadline: Instant,
    messages: &[Vec<u8>],
) -> StressResult {
    let n_ops = StressOp::ALL.len();
    let mut res = StressResult {
        latency: vec![Vec::new(); n_ops],
        refused: vec![0; n_ops],
        ..StressResult::default()
    };
    let mut rng = Rng::new(a.seed.wrapping_add(id as u64));
    let record = |res: &mut StressResult, op: StressOp, took: Duration, ok: bool| {
        if ok {
            res.latency[op.index()].push(took);
        } else {
            res.refused[op.index()] += 1;
        }
    };
    let run = (|| -> io::Result<()> {
        let mut session: Option<Session> = None;
        let mut left_in_session = 0u64;
        while Instant::now() < deadline {
            let s = match session.as_mut() {
                Some(s) => s,
                None => {
                    let user = user_name(a, 1 + (rng.next() as usize % a.users.max(1)));
                    let t = Instant::now();
                    let mut s = login(a, &user)?;
                    record(&mut res, StressOp::Login, t.elapsed(), true);
                    let t = Instant::now();
                    let done = select_inbox(&mut s)?;
                    record(&mut res, StressOp::Select, t.elapsed(), done.is_ok());
                    left_in_session = if a.login_heavy {
                        1 + rng.next() % 5
                    } else {
                        u64::MAX
                    };
                    session.insert(s)
                }
            };
            if left_in_session == 0 {
                let t = Instant::now();
                let done = s.logout()?;
                record(&mut res, StressOp::Logout, t.elapsed(), done.is_ok());
                res.error_count += s.tracker.error_count;
                res.errors.append(&mut s.tracker.errors);
                session = None;
                continue;
            }
            left_in_session -= 1;
            let op = StressOp::pick(rng.next());
            let exists = s.tracker.exists;
            let lo = if exists == 0 {
                1
            } else {
                1 + rng.next() % exists
            };
            let hi = (lo + 9).min(exists.max(1));
            let one = lo;
            let t = Instant::now();
            let done = match op {
                StressOp::Append => {
                    let m = &messages[rng.next() as usize % messages.len()];
                    let tracker = &mut s.tracker;
                    s.client.append_with("INBOX", m, |r| tracker.untagged(r))?
                }
                StressOp::Select => select_inbox(s)?,
                _ if exists == 0
                    && !matches!(op, StressOp::List | StressOp::Status | StressOp::Append) =>
                {
                    s.command("NOOP")?
                }
                StressOp::List => s.command("LIST \"\" \"*\"")?,
                StressOp::Status => s.command("STATUS INBOX (MESSAGES UNSEEN UIDNEXT)")?,
                StressOp::FetchFlags => s.command(&format!("FETCH {lo}:{hi} (UID FLAGS)"))?,
                StressOp::FetchEnvelope => {
                    s.command(&format!("FETCH {lo}:{hi} (UID ENVELOPE INTERNALDATE RFC822.SIZE)"))?
                }
                StressOp::FetchBodystructure => {
                    s.command(&format!("FETCH {one} (UID BODYSTRUCTURE)"))?
                }
                StressOp::FetchHeaders => s.command(&format!(
                    "FETCH {lo}:{hi} (UID BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])"
                ))?,
                StressOp::FetchBody => s.command(&format!("FETCH {one} (UID BODY.PEEK[])"))?,
                StressOp::StoreFlags => {
                    let sign = if rng.next().is_multiple_of(2) { '+' } else { '-' };
                    let flag = ["\\Seen", "\\Flagged", "\\Answered"][rng.next() as usize % 3];
                    s.command(&format!("STORE {lo}:{hi} {sign}FLAGS ({flag})"))?
                }
                StressOp::StoreKeywords => {
                    let sign = if rng.next().is_multiple_of(3) { '-' } else { '+' };
                    let kw = format!("$Label{}", 1 + rng.next() % 5);
                    s.command(&format!("STORE {one} {sign}FLAGS ({kw})"))?
                }
                StressOp::Expunge => {
                    let d = s.command(&format!("STORE {one} +FLAGS.SILENT (\\Deleted)"))?;
                    if d.is_ok() {
                        s.command("EXPUNGE")?
                    } else {
                        d
                    }
                }
                StressOp::Login | StressOp::Logout => s.command("NOOP")?,
            };
            let took = t.elapsed();
            if done.tagged.status() == Some(sansmail_benches::imap_frame::Status::Bad) {
                s.tracker
                    .error(format!("{}: {}", op.name(), done.tagged.lossy()));
            }
            record(&mut res, op, took, done.is_ok());
        }
        if let Some(mut s) = session.take() {
            let _ = s.logout();
            res.error_count += s.tracker.error_count;
            res.errors.append(&mut s.tracker.errors);
        }
        Ok(())
    })();
    if let Err(e) = run {
        res.failure = Some(format!("client {id}: {e}"));
    }
    res
}

/// APPENDs to every user's INBOX until it holds `a.prefill` messages.
fn prefill(a: &StressArgs, messages: &[Vec<u8>]) -> io::Result<()> {
    for n in 1..=a.users {
        let user = user_name(a, n);
        let mut s = login(a, &user)?;
        let (_, exists) = s.client.select("INBOX")?;
        for i in exists as usize..a.prefill {
            let c = s.client.append("INBOX", &messages[i % messages.len()])?;
            if !c.is_ok() {
                return Err(io::Error::other(format!(
                    "prefill {user}: {}",
                    c.tagged.lossy()
                )));
            }
        }
        let _ = s.client.command("LOGOUT");
    }
    Ok(())
}

pub(super) fn stress(a: StressArgs) -> ExitCode {
    let messages = match load_messages(&a) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if a.prefill > 0
        && let Err(e) = prefill(&a, &messages)
    {
        eprintln!("error: prefill: {e}");
        return ExitCode::FAILURE;
    }
    let a = Arc::new(a);
    let messages = Arc::new(messages);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.seconds);
    let handles: Vec<_> = (0..a.clients.max(1))
        .map(|i| {
            let a = Arc::clone(&a);
            let m = Arc::clone(&messages);
            thread::spawn(move || stress_client(&a, i, deadline, &m))
        })
        .collect();
    let n_ops = StressOp::ALL.len();
    let mut latency = vec![Vec::new(); n_ops];
    let mut refused = vec![0usize; n_ops];
    let (mut errors, mut error_count, mut failures) = (Vec::new(), 0usize, Vec::new());
    for h in handles {
        match h.join() {
            Ok(r) => {
                for (dst, src) in latency.iter_mut().zip(r.latency) {
                    dst.extend(src);
                }
                for (dst, src) in refused.iter_mut().zip(r.refused) {
                    *dst += src;
                }
                error_count += r.error_count;
                errors.extend(r.errors);
                failures.extend(r.failure);
            }
            Err(_) => failures.push("a client thread panicked".into()),
        }
    }
    let secs = start.elapsed().as_secs_f64().max(f64::EPSILON);
    let total: usize = latency.iter().map(Vec::len).sum();
    let refused_total: usize = refused.iter().sum();
    let rate = (total + refused_total) as f64 / secs;
    let mode = if a.login_heavy {
        "login-heavy"
    } else {
        "persistent"
    };
    for f in &failures {
        eprintln!("client failure: {f}");
    }
    for e in errors.iter().take(10) {
        eprintln!("protocol error: {e}");
    }
    println!(
        "stress {} {mode}  users {}  clients {}  elapsed {secs:.3} s",
        a.server, a.users, a.clients
    );
    println!(
        "commands {}  refused {refused_total}  protocol errors {error_count}  {rate:.1} commands/s",
        total + refused_total
    );
    let mut per_op = Vec::new();
    for (op, lat) in StressOp::ALL.iter().zip(latency.iter_mut()) {
        let n = lat.len();
        let p = Percentiles::of(lat);
        print_pct(op.name(), &p, n);
        per_op.push(format!(
            "\"{}\":{{\"n\":{n},\"refused\":{},\"ms\":{}}}",
            op.name(),
            refused[op.index()],
            json_pct(&p)
        ));
    }
    println!(
        "{{\"mode\":\"stress-{mode}\",\"server\":\"{}\",\"users\":{},\"clients\":{},\"elapsed_s\":{secs:.6},\
         \"commands\":{},\"refused\":{refused_total},\"protocol_errors\":{error_count},\
         \"client_failures\":{},\"commands_per_s\":{rate:.3},\"ops\":{{{}}}}}",
        json_str(&a.server),
        a.users,
        a.clients,
        total + refused_total,
        failures.len(),
        per_op.join(",")
    );
    if failures.is_empty() && error_count == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(t: &str) -> Response {
        Response {
            text: t.as_bytes().to_vec(),
            literal_octets: 0,
        }
    }

    #[test]
    fn tracker_counts_protocol_errors() {
        let mut t = Tracker::default();
        t.untagged(&resp("* FLAGS (\\Seen \\Flagged $Label1)"));
        t.untagged(&resp("* 3 EXISTS"));
        t.untagged(&resp("* 2 FETCH (UID 7 FLAGS (\\Seen $Label1))"));
        assert_eq!(t.error_count, 0, "{:?}", t.errors);
        t.untagged(&resp("* 2 FETCH (UID 7 FLAGS (\\Seen $Label2))"));
        assert_eq!(t.error_count, 1, "unannounced keyword");
        t.untagged(&resp("* 4 FETCH (UID 9 FLAGS ())"));
        assert_eq!(t.error_count, 2, "FETCH beyond EXISTS");
        t.untagged(&resp("* 3 EXPUNGE"));
        assert_eq!(t.exists, 2);
        t.untagged(&resp("* 1 EXISTS"));
        assert_eq!(t.error_count, 3, "EXISTS went down");
        t.untagged(&resp("* FLAGS (\\Seen $Label2)"));
        t.untagged(&resp("* 1 FETCH (FLAGS ($Label2))"));
        assert_eq!(t.error_count, 3);
        t.untagged(&resp("* BYE shutting down"));
        assert_eq!(t.error_count, 4, "BYE without LOGOUT");
        t.logging_out = true;
        t.untagged(&resp("* BYE Logging out"));
        assert_eq!(t.error_count, 4);
    }

    #[test]
    fn mix_picks_every_op() {
        let total: u64 = StressOp::WEIGHTS.iter().map(|(_, w)| w).sum();
        let mut seen = HashSet::new();
        for r in 0..total {
            seen.insert(StressOp::pick(r).index());
        }
        assert_eq!(seen.len(), StressOp::WEIGHTS.len());
    }
}
