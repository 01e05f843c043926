//! Shared helpers for the end-to-end tests: start the real `sansmail` binary
//! in a fresh directory with a config that binds port 0 everywhere, wait for
//! its `listening <protocol> <address>` lines, manage accounts through the
//! CLI, look at delivered Maildir files, and run external clients.
//!
//! Everything here relies only on the contract in DESIGN.md §4.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long the server may take to print all its `listening` lines.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Socket timeout for the raw clients.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// The default test accounts: (address, password).
pub const ALICE: (&str, &str) = ("alice@localhost", "alice-secret");
/// A second account whose password has spaces (smtplib encodes AUTH as ASCII).
pub const BOB: (&str, &str) = ("bob@localhost", "bob pass word");

/// The path of the binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_sansmail")
}

/// What the generated config contains.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Listener names (`smtp`, `smtps`, `submission`, `submissions`, `imap`,
    /// `imaps`, `pop3`, `pop3s`) bound to `127.0.0.1:0`; the others are off.
    pub listeners: Vec<&'static str>,
    /// `[auth] plaintext`.
    pub plaintext: &'static str,
    /// `[limits] max_message_size`.
    pub max_message_size: u64,
    /// `hostname`.
    pub hostname: &'static str,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            listeners: vec!["smtp", "smtps", "submission", "submissions"],
            plaintext: "loopback",
            max_message_size: 1_048_576,
            hostname: "mx.sansmail.test",
        }
    }
}

impl Opts {
    /// The TOML config file for these options (`data_dir = "data"`,
    /// relative to the server's working directory).
    pub fn toml(&self) -> String {
        let l = |name: &str| {
            if self.listeners.contains(&name) {
                "[\"127.0.0.1:0\"]"
            } else {
                "[]"
            }
        };
        format!(
            "data_dir = \"data\"\nhostname = \"{host}\"\ndomains = [\"localhost\"]\n\n\
             [smtp]\nlisten = {smtp}\nlisten_tls = {smtps}\n\
             [submission]\nlisten = {sub}\nlisten_tls = {subs}\n\
             [imap]\nlisten = {imap}\nlisten_tls = {imaps}\n\
             [pop3]\nlisten = {pop3}\nlisten_tls = {pop3s}\n\
             [auth]\nplaintext = \"{plain}\"\n\
             [limits]\nmax_message_size = {max}\n",
            host = self.hostname,
            smtp = l("smtp"),
            smtps = l("smtps"),
            sub = l("submission"),
            subs = l("submissions"),
            imap = l("imap"),
            imaps = l("imaps"),
            pop3 = l("pop3"),
            pop3s = l("pop3s"),
            plain = self.plaintext,
            max = self.max_message_size,
        )
    }
}

/// A fresh working directory with `sansmail.toml` in it.
pub struct Site {
    /// Keeps the directory alive.
    pub tmp: tempfile::TempDir,
    /// The options the config was written from.
    pub opts: Opts,
}

impl Site {
    /// Creates the directory and writes the config.
    pub fn new(opts: Opts) -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("sansmail-e2e")
            .tempdir()
            .expect("tempdir");
        std::fs::write(tmp.path().join("sansmail.toml"), opts.toml()).expect("write config");
        Self { tmp, opts }
    }

    /// The working directory.
    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// The config file.
    pub fn config(&self) -> PathBuf {
        self.dir().join("sansmail.toml")
    }

    /// `<dir>/data`.
    pub fn data_dir(&self) -> PathBuf {
        self.dir().join("data")
    }

    /// A `sansmail` command running in the directory, with `SANSMAIL_CONFIG`
    /// removed from the environment so tests choose the config explicitly.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.dir())
            .env_remove("SANSMAIL_CONFIG")
            .env("NO_COLOR", "1");
        c
    }

    /// Runs `sansmail --config FILE <args>`, feeding `stdin`.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut c = self.cmd();
        c.arg("--config").arg(self.config()).args(args);
        run_with_stdin(c, stdin)
    }

    /// `user add ADDRESS --password-stdin`; panics unless it succeeds.
    pub fn user_add(&self, address: &str, password: &str) {
        let out = self.run(
            &["user", "add", address, "--password-stdin"],
            &format!("{password}\n"),
        );
        assert!(
            out.status.success(),
            "user add {address} failed: {}",
            describe(&out)
        );
    }

    /// Adds [`ALICE`] and [`BOB`].
    pub fn default_users(&self) {
        self.user_add(ALICE.0, ALICE.1);
        self.user_add(BOB.0, BOB.1);
    }

    /// Starts `sansmail serve --config FILE` and waits for one `listening`
    /// line per configured listener.
    pub fn start(&self) -> Server {
        let mut c = self.cmd();
        c.arg("serve").arg("--config").arg(self.config());
        Server::spawn(c, &self.opts.listeners)
    }

    /// Every delivered message of `address` (files in the INBOX `new/` and
    /// `cur/`), as (path, bytes), sorted by path.
    pub fn inbox(&self, address: &str) -> Vec<(PathBuf, Vec<u8>)> {
        inbox_files(&self.data_dir(), address)
    }

    /// The one message of `address` whose header has `Subject: <token>`
    /// (a whole line, so `tok-1` does not match `tok-10`); panics unless
    /// there is exactly one.
    pub fn delivered_with(&self, address: &str, token: &str) -> Vec<u8> {
        let line = format!("\nSubject: {token}\r\n");
        let found: Vec<_> = self
            .inbox(address)
            .into_iter()
            .filter(|(_, b)| contains(b, line.as_bytes()))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "expected exactly one message with {token:?} for {address}, found {:?}",
            found.iter().map(|(p, _)| p).collect::<Vec<_>>()
        );
        found.into_iter().next().map(|(_, b)| b).unwrap_or_default()
    }

    /// Asserts that no delivered message of `address` contains `token`.
    pub fn assert_not_delivered(&self, address: &str, token: &str) {
        for (p, b) in self.inbox(address) {
            assert!(
                !contains(&b, token.as_bytes()),
                "{token:?} was delivered in {}",
                p.display()
            );
        }
    }
}

/// Runs a command with `stdin` written to it.
pub fn run_with_stdin(mut c: Command, stdin: &str) -> Output {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn sansmail");
    if let Some(mut i) = child.stdin.take() {
        // The command may exit before reading (e.g. on a usage error).
        let _ = i.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("wait for sansmail")
}

/// A readable summary of a finished command.
pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Files under `<data_dir>/mail/<domain>/<local>/{new,cur}`.
pub fn inbox_files(data_dir: &Path, address: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let (local, domain) = address.rsplit_once('@').expect("address has @");
    let root = data_dir.join("mail").join(domain).join(local);
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(rd) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_file() {
                let bytes = std::fs::read(&p).expect("read message file");
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

/// True when `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Checks the trace headers the server prepends and returns the rest.
///
/// The stored file must be `Return-Path: <return_path>\r\n`, then one
/// `Received:` field (folded lines start with SP or HTAB), then the message
/// exactly as sent.
pub fn strip_trace<'a>(stored: &'a [u8], return_path: &str) -> &'a [u8] {
    let first = format!("Return-Path: <{return_path}>\r\n");
    assert!(
        stored.starts_with(first.as_bytes()),
        "stored message does not start with {first:?}: {:?}",
        String::from_utf8_lossy(&stored[..stored.len().min(300)])
    );
    let rest = &stored[first.len()..];
    assert!(
        rest.starts_with(b"Received: "),
        "no Received: after Return-Path: {:?}",
        String::from_utf8_lossy(&rest[..rest.len().min(300)])
    );
    let mut pos = 0;
    loop {
        let Some(eol) = rest[pos..].windows(2).position(|w| w == b"\r\n") else {
            panic!("Received: header is not CRLF-terminated");
        };
        let line = &rest[pos..pos + eol];
        assert!(
            !line.contains(&b'\n') && !line.contains(&b'\r'),
            "bare CR/LF in Received:"
        );
        pos += eol + 2;
        match rest.get(pos) {
            Some(b' ' | b'\t') => continue,
            _ => return &rest[pos..],
        }
    }
}

/// Asserts that `stored` is the trace headers plus exactly `sent`.
pub fn assert_stored(stored: &[u8], return_path: &str, sent: &[u8]) {
    let body = strip_trace(stored, return_path);
    if body != sent {
        let at = body
            .iter()
            .zip(sent)
            .position(|(a, b)| a != b)
            .unwrap_or(body.len().min(sent.len()));
        panic!(
            "stored bytes differ from sent bytes at offset {at} (stored {} bytes, sent {}):\n\
             stored: {:?}\nsent:   {:?}",
            body.len(),
            sent.len(),
            String::from_utf8_lossy(&body[at.saturating_sub(40)..body.len().min(at + 40)]),
            String::from_utf8_lossy(&sent[at.saturating_sub(40)..sent.len().min(at + 40)]),
        );
    }
}

/// Normalises line endings like a client sending over SMTP: CRLF, lone LF
/// and lone CR all become CRLF; a final CRLF is added when missing.
pub fn crlf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 20 + 2);
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' if input.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
                continue;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A running server; killed when dropped.
pub struct Server {
    /// The child process.
    pub child: Child,
    /// Bound addresses by listener name, from the `listening` lines.
    pub addrs: BTreeMap<String, Vec<SocketAddr>>,
    /// Everything the server printed so far (stdout and stderr), by line.
    pub output: Arc<Mutex<Vec<String>>>,
}

/// Removes ANSI colour sequences (`ESC [ ... letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Finds `listening (\S+) (\S+)` in a log or stdout line.
pub fn parse_listening(line: &str) -> Option<(String, SocketAddr)> {
    let line = strip_ansi(line);
    let at = line.find("listening ")?;
    let mut words = line[at + "listening ".len()..].split_whitespace();
    let proto = words.next()?.to_owned();
    let addr = words
        .next()?
        .trim_matches(|c: char| c == '"' || c == ',' || c == ';');
    Some((proto, addr.parse().ok()?))
}

impl Server {
    /// Spawns the command and waits until every listener in `listeners`
    /// has printed its `listening` line.
    pub fn spawn(mut c: Command, listeners: &[&str]) -> Self {
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn sansmail serve");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        for stream in [Box::new(out) as Box<dyn Read + Send>, Box::new(err)] {
            let tx = tx.clone();
            let output = Arc::clone(&output);
            thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if std::env::var_os("SANSMAIL_E2E_ECHO").is_some() {
                        eprintln!("[server] {line}");
                    }
                    output.lock().expect("lock").push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        drop(tx);
        let mut server = Self {
            child,
            addrs: BTreeMap::new(),
            output,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let wanted: Vec<String> = listeners.iter().map(|s| (*s).to_owned()).collect();
        // Stdout and log may both report a listener; count each address once.
        let mut seen = std::collections::BTreeSet::new();
        while !wanted.iter().all(|w| server.addrs.contains_key(w)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some((proto, addr)) = parse_listening(&line)
                        && seen.insert((proto.clone(), addr))
                    {
                        server.addrs.entry(proto).or_default().push(addr);
                    }
                }
                Err(_) => {
                    let status = server.child.try_wait().ok().flatten();
                    panic!(
                        "server did not report listeners {wanted:?} (got {:?}, exit {status:?}); output:\n{}",
                        server.addrs,
                        server.output_text()
                    );
                }
            }
        }
        server
    }

    /// Everything printed so far.
    pub fn output_text(&self) -> String {
        self.output.lock().map(|o| o.join("\n")).unwrap_or_default()
    }

    /// The (first) address of a listener.
    pub fn addr(&self, name: &str) -> SocketAddr {
        self.addrs
            .get(name)
            .and_then(|v| v.first().copied())
            .unwrap_or_else(|| panic!("listener {name} not reported; have {:?}", self.addrs))
    }

    /// The port of a listener.
    pub fn port(&self, name: &str) -> u16 {
        self.addr(name).port()
    }

    /// Sends a signal with kill(1) (no libc in the test dependencies).
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -{sig} failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit status (panics after 10 s).
    pub fn stop(mut self) -> ExitStatus {
        self.signal("TERM");
        match self.wait_timeout(Duration::from_secs(10)) {
            Some(st) => st,
            None => panic!(
                "server did not exit within 10 s of SIGTERM:\n{}",
                self.output_text()
            ),
        }
    }

    /// SIGKILL and reap.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True when `tool` is on the PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool} >/dev/null 2>&1"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Prints the skip message and returns true when `tool` is missing.
pub fn skip_without(tool: &str) -> bool {
    if have(tool) {
        false
    } else {
        println!("SKIP: {tool} not installed");
        true
    }
}

/// The directory of the Python client scripts.
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("interop")
}

/// Runs `python3 tests/interop/<script> <args>`; `None` (after printing the
/// skip line) when python3 is missing. Panics when the script fails.
pub fn python(script: &str, args: &[&str]) -> Option<String> {
    if skip_without("python3") {
        return None;
    }
    let out = Command::new("python3")
        .arg(interop_dir().join(script))
        .args(args)
        .env("PYTHONIOENCODING", "utf-8")
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{script} {args:?} failed: {}",
        describe(&out)
    );
    Some(String::from_utf8(out.stdout).expect("utf-8 output"))
}

/// Parses the `label<TAB>value` lines the Python scripts print.
pub fn results(stdout: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in stdout.lines() {
        if let Some((k, v)) = line.split_once('\t') {
            let old = m.insert(k.to_owned(), v.to_owned());
            assert!(old.is_none(), "duplicate result label {k}");
        }
    }
    m
}

/// A minimal SMTP client over a raw socket, for the bad-input tests.
pub struct RawSmtp {
    /// Buffered read half.
    pub reader: BufReader<TcpStream>,
    /// Write half.
    pub writer: TcpStream,
}

/// One reply: the code and its lines (without the code and separator).
pub type Reply = (u16, Vec<String>);

impl RawSmtp {
    /// Connects without reading the greeting.
    pub fn connect_raw(addr: SocketAddr) -> io::Result<Self> {
        let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
        s.set_read_timeout(Some(IO_TIMEOUT))?;
        s.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(Self {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        })
    }

    /// Connects and asserts the 220 greeting.
    pub fn connect(addr: SocketAddr) -> Self {
        let mut s = Self::connect_raw(addr).expect("connect");
        let g = s.reply().expect("greeting");
        assert_eq!(g.0, 220, "greeting {g:?}");
        s
    }

    /// Connects, greets with EHLO and returns the EHLO reply.
    pub fn connect_ehlo(addr: SocketAddr) -> (Self, Reply) {
        let mut s = Self::connect(addr);
        let r = s.cmd("EHLO client.sansmail.test").expect("EHLO");
        assert_eq!(r.0, 250, "EHLO {r:?}");
        (s, r)
    }

    /// Writes raw bytes.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)?;
        self.writer.flush()
    }

    /// Reads one reply (bounded: 64 KiB per line, 1000 lines).
    pub fn reply(&mut self) -> io::Result<Reply> {
        let mut lines = Vec::new();
        loop {
            let mut buf = Vec::new();
            let n = Read::take(&mut self.reader, 65536).read_until(b'\n', &mut buf)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
            }
            let line = String::from_utf8_lossy(&buf)
                .trim_end_matches(['\r', '\n'])
                .to_owned();
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, line.clone()))?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").to_owned());
            if !more || lines.len() > 1000 {
                return Ok((code, lines));
            }
        }
    }

    /// Sends `line` + CRLF and reads the reply.
    pub fn cmd(&mut self, line: &str) -> io::Result<Reply> {
        self.send(format!("{line}\r\n").as_bytes())?;
        self.reply()
    }

    /// Sends `line` and asserts the reply code; returns the reply.
    pub fn expect(&mut self, line: &str, code: u16) -> Reply {
        let r = self.cmd(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(r.0, code, "{line} -> {r:?}");
        r
    }

    /// True when the server has closed the connection (EOF or reset)
    /// within the read timeout, with no more replies.
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.reader.read(&mut b), Ok(0) | Err(_))
    }

    /// Runs a complete MAIL/RCPT/DATA transaction; returns the final reply.
    pub fn send_mail(&mut self, from: &str, to: &str, message: &[u8]) -> io::Result<Reply> {
        let r = self.cmd(&format!("MAIL FROM:<{from}>"))?;
        if r.0 != 250 {
            return Ok(r);
        }
        let r = self.cmd(&format!("RCPT TO:<{to}>"))?;
        if r.0 != 250 {
            return Ok(r);
        }
        let r = self.cmd("DATA")?;
        if r.0 != 354 {
            return Ok(r);
        }
        self.send(&dot_stuff(message))?;
        self.reply()
    }
}

/// DATA encoding of a CRLF message: dot-stuffing plus `.CRLF`.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 8);
    let mut start = true;
    for &b in message {
        if start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        start = b == b'\n';
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// A small CRLF message carrying `token` in its subject and body.
pub fn message(token: &str) -> Vec<u8> {
    format!(
        "From: <sender@example.org>\r\nTo: <alice@localhost>\r\nSubject: {token}\r\n\
         Message-ID: <{token}@e2e.sansmail.test>\r\n\r\nbody of {token}\r\n.leading dot\r\nend\r\n"
    )
    .into_bytes()
}

// ---------------------------------------------------------------------------
// POP3 helpers (used by the pop3_* tests).

/// A site like [`Site::new`] whose `[auth]` table also holds `extra`
/// (TOML lines such as `failure_delay_ms = 0`).
pub fn site_with_auth(opts: Opts, extra: &str) -> Site {
    let site = Site::new(opts);
    let toml = site
        .opts
        .toml()
        .replacen("[auth]\n", &format!("[auth]\n{extra}\n"), 1);
    std::fs::write(site.config(), toml).expect("write config");
    site
}

/// `<data_dir>/mail/<domain>/<local>`: the account's Maildir (INBOX).
pub fn maildir_of(data_dir: &Path, address: &str) -> PathBuf {
    let (local, domain) = address.rsplit_once('@').expect("address has @");
    data_dir.join("mail").join(domain).join(local)
}

/// Puts `bytes` straight into the INBOX `new/` folder under `name`, the way
/// a local MDA or mutt would (the server picks it up when it rescans).
pub fn drop_into_new(data_dir: &Path, address: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let p = maildir_of(data_dir, address).join("new").join(name);
    std::fs::write(&p, bytes).expect("write message into new/");
    p
}

/// Every CRLF becomes LF (what fetchmail and getmail write locally).
pub fn crlf_to_lf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'\r' && input.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

/// Delivers each message to `to` with Python's smtplib over `smtp`; `None`
/// when python3 is missing. Panics unless every DATA got 250.
pub fn smtplib_deliver(
    site: &Site,
    smtp: SocketAddr,
    to: &str,
    messages: &[Vec<u8>],
) -> Option<()> {
    let dir = site.dir().join("outgoing");
    std::fs::create_dir_all(&dir).expect("mkdir outgoing");
    let mut paths = Vec::new();
    for m in messages {
        let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        let p = dir.join(format!("m{n:04}.eml"));
        std::fs::write(&p, m).expect("write outgoing message");
        paths.push(p.to_string_lossy().into_owned());
    }
    let port = smtp.port().to_string();
    let mut args = vec!["127.0.0.1", port.as_str(), "sender@example.org", to];
    args.extend(paths.iter().map(String::as_str));
    let out = python("send_files.py", &args)?;
    let r = results(&out);
    for p in &paths {
        assert_eq!(
            r.get(p.as_str()).map(|v| v.split(' ').next().unwrap_or("")),
            Some("250"),
            "smtplib delivery of {p}: {out}"
        );
    }
    Some(())
}

/// The stored message of `address` whose bytes contain `token`; panics
/// unless there is exactly one.
pub fn stored_with(site: &Site, address: &str, token: &str) -> (PathBuf, Vec<u8>) {
    let found: Vec<_> = site
        .inbox(address)
        .into_iter()
        .filter(|(_, b)| contains(b, token.as_bytes()))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one stored message with {token:?}, found {:?}",
        found.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    found.into_iter().next().expect("one message")
}

/// A minimal POP3 client over a raw socket.
pub struct RawPop3 {
    /// Buffered read half.
    pub reader: BufReader<TcpStream>,
    /// Write half.
    pub writer: TcpStream,
}

impl RawPop3 {
    /// Connects without reading the greeting.
    pub fn connect_raw(addr: SocketAddr) -> io::Result<Self> {
        let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
        s.set_read_timeout(Some(IO_TIMEOUT))?;
        s.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(Self {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        })
    }

    /// Connects and asserts the `+OK` greeting.
    pub fn connect(addr: SocketAddr) -> Self {
        let mut c = Self::connect_raw(addr).expect("connect");
        let g = c.line().expect("greeting");
        assert!(g.starts_with("+OK "), "greeting {g:?}");
        c
    }

    /// Connects and logs in with USER/PASS.
    pub fn login(addr: SocketAddr, user: &str, pass: &str) -> Self {
        let mut c = Self::connect(addr);
        c.ok(&format!("USER {user}"));
        c.ok(&format!("PASS {pass}"));
        c
    }

    /// Writes raw bytes.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)?;
        self.writer.flush()
    }

    /// Reads one line with its line ending (bounded to 64 KiB).
    pub fn raw_line(&mut self) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        let n = Read::take(&mut self.reader, 65536).read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
        }
        Ok(buf)
    }

    /// Reads one line; panics unless it ends in CRLF. Returns it without.
    pub fn line(&mut self) -> io::Result<String> {
        let buf = self.raw_line()?;
        assert!(
            buf.ends_with(b"\r\n"),
            "response line not CRLF-terminated: {:?}",
            String::from_utf8_lossy(&buf)
        );
        Ok(String::from_utf8_lossy(&buf[..buf.len() - 2]).into_owned())
    }

    /// Sends `line` + CRLF and reads the status line.
    pub fn cmd(&mut self, line: &str) -> io::Result<String> {
        self.send(format!("{line}\r\n").as_bytes())?;
        self.line()
    }

    /// Sends `line`; panics unless the answer starts with `+OK`.
    pub fn ok(&mut self, line: &str) -> String {
        let r = self.cmd(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(r.starts_with("+OK"), "{line} -> {r:?}");
        r
    }

    /// Sends `line`; panics unless the answer starts with `-ERR`.
    pub fn err(&mut self, line: &str) -> String {
        let r = self.cmd(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(r.starts_with("-ERR"), "{line} -> {r:?}");
        r
    }

    /// Reads the rest of a multi-line response, raw: every line up to and
    /// including the terminating `.CRLF`.
    pub fn multiline_raw(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let l = self.raw_line()?;
            out.extend_from_slice(&l);
            if l == b".\r\n" {
                return Ok(out);
            }
        }
    }

    /// Sends `line`, asserts `+OK` and returns the multi-line body raw
    /// (terminator included).
    pub fn multiline(&mut self, line: &str) -> Vec<u8> {
        self.ok(line);
        self.multiline_raw()
            .unwrap_or_else(|e| panic!("{line}: multi-line body: {e}"))
    }

    /// True when the server has closed the connection (EOF or reset) with
    /// nothing more to read.
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.reader.read(&mut b), Ok(0) | Err(_))
    }
}

// ---------------------------------------------------------------------------
// IMAP helpers (used by the imap_* tests).

/// A site with the IMAP listeners (plus `smtp` and `pop3`) on port 0,
/// [`ALICE`] and [`BOB`] created, and `failure_delay_ms = 0`.
pub fn imap_site(plaintext: &'static str) -> Site {
    let opts = Opts {
        listeners: vec!["smtp", "imap", "imaps", "pop3"],
        plaintext,
        ..Opts::default()
    };
    let site = site_with_auth(opts, "failure_delay_ms = 0");
    site.default_users();
    site
}

/// One complete IMAP response: a logical line with its literals inlined
/// (the `{n}\r\n` announcement kept, then the `n` octets), CRLF removed
/// from the end.
pub type ImapLine = Vec<u8>;

/// What a command produced: every untagged or continuation line before
/// the tagged one, then the tagged line itself.
#[derive(Clone)]
pub struct ImapReply {
    /// `* ...` and `+ ...` lines, in order (lossy UTF-8).
    pub untagged: Vec<String>,
    /// The same lines, raw.
    pub raw: Vec<ImapLine>,
    /// The tagged status line without the tag: `OK ...`, `NO ...`, `BAD ...`.
    pub status: String,
}

impl std::fmt::Debug for ImapReply {
    // The raw lines repeat `untagged`; leave them out of failure messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapReply")
            .field("untagged", &self.untagged)
            .field("status", &self.status)
            .finish()
    }
}

impl ImapReply {
    /// True when the tagged status is `OK`.
    pub fn ok(&self) -> bool {
        self.status.starts_with("OK")
    }

    /// The untagged lines that start with `* <prefix>` (prefix
    /// case-sensitive, e.g. `"SEARCH"`, `"LIST "`).
    pub fn lines(&self, prefix: &str) -> Vec<String> {
        let p = format!("* {prefix}");
        self.untagged
            .iter()
            .filter(|l| l.starts_with(&p))
            .cloned()
            .collect()
    }
}

/// A minimal IMAP client over a raw socket.
pub struct RawImap {
    /// Buffered read half.
    pub reader: BufReader<TcpStream>,
    /// Write half.
    pub writer: TcpStream,
    /// The next tag number (`a1`, `a2`, ...).
    pub next_tag: u32,
}

impl RawImap {
    /// Connects without reading the greeting.
    pub fn connect_raw(addr: SocketAddr) -> io::Result<Self> {
        let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
        s.set_read_timeout(Some(IO_TIMEOUT))?;
        s.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(Self {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
            next_tag: 1,
        })
    }

    /// Connects and asserts the `* OK` greeting; returns the client.
    pub fn connect(addr: SocketAddr) -> Self {
        let mut c = Self::connect_raw(addr).expect("connect");
        let g = c.line_str().expect("greeting");
        assert!(g.starts_with("* OK"), "greeting {g:?}");
        c
    }

    /// Connects and logs in with LOGIN (quoted strings); panics unless OK.
    pub fn login(addr: SocketAddr, user: &str, pass: &str) -> Self {
        let mut c = Self::connect(addr);
        let r = c.cmd(&format!("LOGIN {} {}", quote(user), quote(pass)));
        assert!(r.ok(), "LOGIN {user}: {r:?}");
        c
    }

    /// Writes raw bytes.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)?;
        self.writer.flush()
    }

    /// Reads one physical line with its ending (bounded to 1 MiB).
    fn physical(&mut self) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        let n = Read::take(&mut self.reader, 1 << 20).read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
        }
        Ok(buf)
    }

    /// Reads one logical response line, literals inlined; panics unless
    /// every physical line ends in CRLF. The final CRLF is removed.
    pub fn line(&mut self) -> io::Result<ImapLine> {
        let mut out = Vec::new();
        loop {
            let buf = self.physical()?;
            assert!(
                buf.ends_with(b"\r\n"),
                "response line not CRLF-terminated: {:?}",
                String::from_utf8_lossy(&buf)
            );
            let body = &buf[..buf.len() - 2];
            out.extend_from_slice(body);
            match literal_size(body) {
                Some(n) => {
                    out.extend_from_slice(b"\r\n");
                    let mut lit = vec![0u8; n];
                    self.reader.read_exact(&mut lit)?;
                    out.extend_from_slice(&lit);
                }
                None => return Ok(out),
            }
        }
    }

    /// [`line`](Self::line) as lossy UTF-8.
    pub fn line_str(&mut self) -> io::Result<String> {
        Ok(String::from_utf8_lossy(&self.line()?).into_owned())
    }

    /// A fresh tag.
    pub fn tag(&mut self) -> String {
        let t = format!("a{}", self.next_tag);
        self.next_tag += 1;
        t
    }

    /// Reads lines until the one tagged `tag`.
    pub fn read_until_tagged(&mut self, tag: &str) -> io::Result<ImapReply> {
        let mut untagged = Vec::new();
        let mut raw = Vec::new();
        let prefix = format!("{tag} ");
        loop {
            let l = self.line()?;
            if l.starts_with(prefix.as_bytes()) {
                let status = String::from_utf8_lossy(&l[prefix.len()..]).into_owned();
                return Ok(ImapReply {
                    untagged,
                    raw,
                    status,
                });
            }
            untagged.push(String::from_utf8_lossy(&l).into_owned());
            raw.push(l);
        }
    }

    /// Sends `<tag> line CRLF` and reads to the tagged reply.
    pub fn try_cmd(&mut self, line: &str) -> io::Result<ImapReply> {
        let tag = self.tag();
        self.send(format!("{tag} {line}\r\n").as_bytes())?;
        self.read_until_tagged(&tag)
    }

    /// [`try_cmd`](Self::try_cmd), panicking on I/O errors.
    pub fn cmd(&mut self, line: &str) -> ImapReply {
        self.try_cmd(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    /// Sends `line`; panics unless the tagged status is OK.
    pub fn ok(&mut self, line: &str) -> ImapReply {
        let r = self.cmd(line);
        assert!(r.ok(), "{line} -> {r:?}");
        r
    }

    /// APPEND with a synchronizing literal; returns the tagged reply.
    pub fn append(&mut self, mailbox: &str, flags: &str, message: &[u8]) -> ImapReply {
        let tag = self.tag();
        let head = format!(
            "{tag} APPEND {} {}{{{}}}\r\n",
            quote(mailbox),
            if flags.is_empty() {
                String::new()
            } else {
                format!("({flags}) ")
            },
            message.len()
        );
        self.send(head.as_bytes()).expect("send APPEND");
        let cont = self.line_str().expect("APPEND continuation");
        assert!(cont.starts_with('+'), "APPEND continuation: {cont:?}");
        self.send(message).expect("send literal");
        self.send(b"\r\n").expect("send CRLF");
        self.read_until_tagged(&tag).expect("APPEND reply")
    }

    /// True when the server has closed the connection (EOF or reset) with
    /// nothing more to read.
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.reader.read(&mut b), Ok(0) | Err(_))
    }
}

/// An IMAP quoted string of `s` (which must not contain CR or LF).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The `n` of a line ending in `{n}` or `{n+}` (RFC 9051 §4.3 literal).
pub fn literal_size(line: &[u8]) -> Option<usize> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The number in `[CODE a b c]`-like text: the words after `code` up to `]`.
pub fn resp_code<'a>(status: &'a str, code: &str) -> Option<Vec<&'a str>> {
    let at = status.find(&format!("[{code}"))?;
    let rest = &status[at + 1 + code.len()..];
    let end = rest.find(']')?;
    Some(rest[..end].split_whitespace().collect())
}

/// Every file and directory below `root` (recursively), as paths relative
/// to it, sorted: used to check that nothing appeared outside an account.
pub fn tree(root: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(root).unwrap_or(&p).to_path_buf());
            if p.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}
