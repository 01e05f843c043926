//! Shared helpers for the end-to-end tests: start the real `sansmail` binary
//! in a fresh directory with a config that binds port 0 everywhere, wait for
//! its `listening <protocol> <address>` lines, manage accounts through the
//! CLI, look at delivered Maildir files, and run external clients.
//!
//! Everything here relies only on the contract in docs/DESIGN.md §4.

#![allow(dead_code, unused_imports)] // each test binary uses a different subset

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
    /// Raw TOML appended after the generated sections (extra tables such as
    /// `[[rules]]`, `[handlers.x]`, `[outbound]`, `[testing]`).
    pub extra: String,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            listeners: vec!["smtp", "smtps", "submission", "submissions"],
            plaintext: "loopback",
            max_message_size: 1_048_576,
            hostname: "mx.sansmail.test",
            extra: String::new(),
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
             [lmtp]\nlisten = {lmtp}\n\
             [http]\nlisten = {http}\n\
             [limits]\nmax_message_size = {max}\n\n{extra}\n",
            host = self.hostname,
            smtp = l("smtp"),
            smtps = l("smtps"),
            sub = l("submission"),
            subs = l("submissions"),
            imap = l("imap"),
            imaps = l("imaps"),
            pop3 = l("pop3"),
            pop3s = l("pop3s"),
            lmtp = l("lmtp"),
            http = l("http"),
            extra = self.extra,
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
/// The stored file must be `Return-Path: <return_path>\r\n`, then (for
/// `[smtp]`, DESIGN.md §5.3) our one-line `Authentication-Results:`, then
/// one `Received:` field (folded lines start with SP or HTAB), then the
/// message exactly as sent.
pub fn strip_trace<'a>(stored: &'a [u8], return_path: &str) -> &'a [u8] {
    let first = format!("Return-Path: <{return_path}>\r\n");
    assert!(
        stored.starts_with(first.as_bytes()),
        "stored message does not start with {first:?}: {:?}",
        String::from_utf8_lossy(&stored[..stored.len().min(300)])
    );
    let mut rest = &stored[first.len()..];
    if rest.starts_with(b"Authentication-Results: ") {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("Authentication-Results: is CRLF-terminated");
        rest = &rest[eol + 2..];
    }
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

/// Panics with a clear message when `tool` is missing. Tests that need a
/// tool are also marked `#[cfg_attr(not(have_<tool>), ignore = ...)]` (the
/// build script probes the PATH), so a machine without it reports them as
/// ignored rather than failed; `.ci/run` fails on any ignored test.
pub fn require(tool: &str) {
    assert!(
        have(tool),
        "{tool} is not installed (scripts/ci-deps.sh installs it)"
    );
}

/// The directory of the Python client scripts.
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("interop")
}

/// Runs `python3 tests/interop/<script> <args>` and returns its stdout.
/// Panics when python3 is missing or the script fails.
pub fn python(script: &str, args: &[&str]) -> String {
    require("python3");
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
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Runs `python3 -c script args...` with `stdin` on its standard input and
/// returns its stdout, trimmed. Panics when python3 is missing or the
/// script fails.
pub fn python_stdin(script: &str, args: &[String], stdin: &[u8]) -> String {
    use std::io::Write;
    require("python3");
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait for python3");
    assert!(out.status.success(), "python3 failed: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
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

mod http;
mod imap;
mod pop3;
mod smtp;

pub use http::*;
pub use imap::*;
pub use pop3::*;
pub use smtp::*;
