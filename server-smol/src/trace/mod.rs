//! The protocol trace: at `debug` for the target `sansmail::trace`
//! (`SANSMAIL_LOG=debug`, or `SANSMAIL_LOG=info,sansmail::trace=debug`), one
//! log line per command line received (`C: `) and per reply line sent
//! (`S: `), for SMTP, LMTP, IMAP and POP3.
//!
//! The pump ([`crate::pump`]) hands every byte the session accepted and
//! every byte it writes to one [`Trace`]; nothing else calls it, so the
//! protocols need no trace code of their own. What the pump cannot know —
//! where a message body or literal starts, which line is a secret — comes
//! from a small per-protocol [`Dialect`] reading the same lines:
//!
//! - Message bytes are never logged, only their size: SMTP DATA (after
//!   `354`, up to CRLF.CRLF, the session's own end rule) and BDAT
//!   (RFC 3030), IMAP literals in both directions (`{n}`, `{n+}`, `~{n}`;
//!   RFC 9051 §4.3, RFC 7888), POP3 RETR/TOP bodies (RFC 1939 §3).
//! - Credentials are replaced by `***`: SMTP `AUTH` arguments and every
//!   client line of the SASL exchange (RFC 4954 §4), IMAP `LOGIN`'s
//!   password (also when it travels after a literal) and `AUTHENTICATE`'s
//!   initial response and SASL lines until the tagged result (RFC 9051
//!   §6.2.2), POP3 `PASS`, `APOP`'s digest and `AUTH`'s exchange (RFC 5034).
//!   A client that pipelines its SASL lines is covered too: a line is
//!   redacted from the command that starts the exchange until the server's
//!   final answer, and again after any later challenge.
//!
//! Where the trace must guess (a client that sends a literal the server
//! refused), it errs towards hiding bytes, never towards showing them.
//! Each logged line is cut to [`MAX_SHOWN`] bytes with its full length
//! noted, and non-printable bytes are escaped, so a peer cannot forge log
//! lines. Memory per connection is bounded by two line buffers of
//! `MAX_SHOWN + TAIL` bytes. When the target is not enabled the pump holds
//! no `Trace` at all.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;

/// The log target; enable it with `SANSMAIL_LOG=...,sansmail::trace=debug`.
pub const TARGET: &str = "sansmail::trace";

/// At most this many bytes of a line are logged.
pub const MAX_SHOWN: usize = 200;

/// The last bytes of a line are kept to find a literal announcement
/// (`{4294967295+}` is 13 bytes) at the end of a long line.
const TAIL: usize = 24;

/// At most this many POP3 commands wait for their status line (a
/// pipelining client, RFC 2449); older ones are forgotten, which can
/// only show a body's size as lines, never a secret.
const MAX_PENDING: usize = 64;

/// Which protocol's rules read the lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SMTP, submission and LMTP (RFC 5321, 6409, 2033).
    Smtp,
    /// IMAP4rev2/rev1 (RFC 9051, 3501).
    Imap,
    /// POP3 (RFC 1939).
    Pop3,
}

/// What a reader is in the middle of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Lines, logged one by one.
    Lines,
    /// `left` more bytes of a literal or BDAT chunk of `size`.
    Count { left: u64, size: u64 },
    /// A dot-terminated body (SMTP DATA, POP3 RETR/TOP) of `size` bytes so
    /// far; `tail` holds its last five bytes to spot CRLF.CRLF.
    DotBody { size: u64, tail: u64 },
}

/// One direction's line assembly: the head of the current line, its tail
/// and its length.
#[derive(Debug)]
struct Reader {
    mode: Mode,
    head: Vec<u8>,
    tail: Vec<u8>,
    len: usize,
}

/// One complete line as the dialect sees it.
struct Line<'a> {
    /// Up to [`MAX_SHOWN`] bytes, without the line ending.
    head: &'a [u8],
    /// The last bytes, without the line ending.
    tail: &'a [u8],
    /// The whole length with its line ending.
    len: usize,
}

impl Reader {
    fn new() -> Self {
        Reader {
            mode: Mode::Lines,
            head: Vec::new(),
            tail: Vec::new(),
            len: 0,
        }
    }

    /// Starts a body that ends with a line holding only `.`; the line
    /// before it (the command or status line) ended with CRLF.
    fn dot_body(&mut self) {
        self.mode = Mode::DotBody {
            size: 0,
            tail: u64::from_be_bytes([0, 0, 0, 0, 0, 0, b'\r', b'\n']),
        };
    }

    fn count(&mut self, size: u64) {
        if size > 0 {
            self.mode = Mode::Count { left: size, size };
        }
    }

    /// Splits `bytes` into lines and bodies; `on_line` gets each complete
    /// line and may switch the mode for what follows it, `on_body` each
    /// finished body or literal's size.
    fn feed(
        &mut self,
        mut bytes: &[u8],
        mut on_line: impl FnMut(&mut Reader, Line<'_>),
        mut on_body: impl FnMut(&mut Reader, u64),
    ) {
        while !bytes.is_empty() {
            match self.mode {
                Mode::Count { left, size } => {
                    let n = (bytes.len() as u64).min(left);
                    bytes = &bytes[n as usize..];
                    if n == left {
                        self.mode = Mode::Lines;
                        on_body(self, size);
                    } else {
                        self.mode = Mode::Count {
                            left: left - n,
                            size,
                        };
                    }
                }
                Mode::DotBody { mut size, mut tail } => {
                    // CRLF "." CRLF: the end of DATA (RFC 5321 §4.1.1.4)
                    // and of a POP3 multi-line response.
                    const END: u64 = 0x0d_0a_2e_0d_0a;
                    let mut done = false;
                    let mut used = 0;
                    for &b in bytes {
                        used += 1;
                        size += 1;
                        tail = ((tail << 8) | u64::from(b)) & 0xff_ffff_ffff;
                        if tail == END {
                            done = true;
                            break;
                        }
                    }
                    bytes = &bytes[used..];
                    if done {
                        self.mode = Mode::Lines;
                        on_body(self, size);
                    } else {
                        self.mode = Mode::DotBody { size, tail };
                    }
                }
                Mode::Lines => {
                    let end = bytes.iter().position(|&b| b == b'\n');
                    let part = &bytes[..end.map_or(bytes.len(), |i| i + 1)];
                    bytes = &bytes[part.len()..];
                    self.len += part.len();
                    let room = MAX_SHOWN.saturating_sub(self.head.len());
                    self.head.extend_from_slice(&part[..part.len().min(room)]);
                    // Only the last TAIL bytes can matter: a long part
                    // is never copied whole.
                    self.tail
                        .extend_from_slice(&part[part.len().saturating_sub(TAIL)..]);
                    if self.tail.len() > TAIL {
                        self.tail.drain(..self.tail.len() - TAIL);
                    }
                    if end.is_some() {
                        let head = std::mem::take(&mut self.head);
                        let tail = std::mem::take(&mut self.tail);
                        let len = std::mem::take(&mut self.len);
                        let line = Line {
                            head: trim_eol(&head),
                            tail: trim_eol(&tail),
                            len,
                        };
                        on_line(self, line);
                    }
                }
            }
        }
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The literal announced at the end of an IMAP line: `{n}`, `{n+}`,
/// `~{n}` (RFC 9051 §4.3, RFC 7888 LITERAL+/LITERAL-, RFC 3516 BINARY).
/// Returns its size and whether it is synchronising (`{n}`).
fn literal_at_end(tail: &[u8]) -> Option<(u64, bool)> {
    let body = tail.strip_suffix(b"}")?;
    let (body, sync) = match body.strip_suffix(b"+") {
        Some(b) => (b, false),
        None => (body, true),
    };
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((n, sync))
}

/// The first `n` space-separated words of a line, and the rest.
fn words(line: &[u8], n: usize) -> (Vec<&[u8]>, &[u8]) {
    let mut out = Vec::with_capacity(n);
    let mut rest = line;
    while out.len() < n {
        let at = rest.iter().position(|&b| b == b' ');
        out.push(&rest[..at.unwrap_or(rest.len())]);
        rest = at.map_or(&[][..], |i| &rest[i + 1..]);
    }
    (out, rest)
}

/// The per-protocol state that decides what a line is.
#[derive(Debug)]
struct DialectState {
    dialect: Dialect,
    /// Client lines are SASL responses (until the server's final answer).
    sasl: bool,
    /// IMAP: the tag of the AUTHENTICATE in progress.
    sasl_tag: Option<Vec<u8>>,
    /// IMAP: the tag of the command whose line is being continued after
    /// a literal, and whether its remaining lines are secret (LOGIN).
    command_tag: Option<Vec<u8>>,
    secret_command: bool,
    /// IMAP: a synchronising literal the server may still refuse, by tag.
    sync_literal_tag: Option<Vec<u8>>,
    /// POP3: per command waiting for its status line, whether a `+OK`
    /// starts a multi-line message (RETR, TOP). Starts with the greeting.
    pop3_pending: VecDeque<bool>,
}

/// One connection's trace (see the module docs).
#[derive(Debug)]
pub struct Trace {
    proto: &'static str,
    peer: SocketAddr,
    client: Reader,
    server: Reader,
    state: DialectState,
}

impl Trace {
    /// A trace for a connection of listener `proto` from `peer`, or
    /// `None` when [`TARGET`] is not enabled at `debug`.
    pub fn new(proto: &'static str, peer: SocketAddr, dialect: Dialect) -> Option<Trace> {
        if !tracing::enabled!(target: TARGET, tracing::Level::DEBUG) {
            return None;
        }
        Some(Trace::always(proto, peer, dialect))
    }

    fn always(proto: &'static str, peer: SocketAddr, dialect: Dialect) -> Trace {
        Trace {
            proto,
            peer,
            client: Reader::new(),
            server: Reader::new(),
            state: DialectState {
                dialect,
                sasl: false,
                sasl_tag: None,
                command_tag: None,
                secret_command: false,
                sync_literal_tag: None,
                pop3_pending: VecDeque::from([false]),
            },
        }
    }

    /// Bytes the session accepted from the client.
    pub fn client(&mut self, bytes: &[u8]) {
        let (proto, peer) = (self.proto, self.peer);
        let state = &mut self.state;
        self.client.feed(
            bytes,
            |reader, line| {
                let shown = state.client_line(reader, &line);
                emit(proto, peer, "C", &shown, &line);
            },
            |_, size| emit_size(proto, peer, "C", size),
        );
    }

    /// Bytes about to be written to the client.
    pub fn server(&mut self, bytes: &[u8]) {
        let (proto, peer) = (self.proto, self.peer);
        let state = &mut self.state;
        let client = &mut self.client;
        self.server.feed(
            bytes,
            |reader, line| {
                state.server_line(reader, client, &line);
                emit(proto, peer, "S", line.head, &line);
            },
            |_, size| emit_size(proto, peer, "S", size),
        );
    }
}

fn emit(proto: &str, peer: SocketAddr, side: &str, shown: &[u8], line: &Line<'_>) {
    let mut text = show(shown);
    // The head lost more than the line ending: the line was cut.
    if line.len > line.head.len() + 2 {
        let _ = write!(text, " ... ({} bytes)", line.len);
    }
    tracing::debug!(target: TARGET, "{proto} {peer} {side}: {text}");
}

/// Printable ASCII as is, every other byte as `\xNN`: a peer's CR, LF or
/// terminal escapes cannot start a forged log line.
fn show(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if (0x20..0x7f).contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

fn emit_size(proto: &str, peer: SocketAddr, side: &str, size: u64) {
    tracing::debug!(target: TARGET, "{proto} {peer} {side}: <{size} bytes of message data>");
}

const REDACTED: &[u8] = b"***";

/// `first words` + ` ***` when anything followed them.
fn keep_words(line: &[u8], n: usize) -> Vec<u8> {
    let (w, rest) = words(line, n);
    let mut out = w.join(&b' ');
    if !rest.is_empty() {
        out.extend_from_slice(b" ***");
    }
    out
}

impl DialectState {
    /// What to log for a client line; switches `reader` into a body or
    /// literal when the line announces one.
    fn client_line(&mut self, reader: &mut Reader, line: &Line<'_>) -> Vec<u8> {
        match self.dialect {
            Dialect::Smtp => self.smtp_client(reader, line),
            Dialect::Imap => self.imap_client(reader, line),
            Dialect::Pop3 => self.pop3_client(line),
        }
    }

    fn smtp_client(&mut self, reader: &mut Reader, line: &Line<'_>) -> Vec<u8> {
        if self.sasl {
            return REDACTED.to_vec();
        }
        let (w, _) = words(line.head, 3);
        let verb = w[0].to_ascii_uppercase();
        match verb.as_slice() {
            // RFC 4954 §4: `AUTH mechanism [initial-response]`.
            b"AUTH" => {
                self.sasl = true;
                keep_words(line.head, 2)
            }
            // RFC 3030: `BDAT size [LAST]`, then exactly `size` octets.
            b"BDAT" => {
                if let Some(n) = std::str::from_utf8(w[1]).ok().and_then(|s| s.parse().ok()) {
                    reader.count(n);
                }
                line.head.to_vec()
            }
            _ => line.head.to_vec(),
        }
    }

    fn imap_client(&mut self, reader: &mut Reader, line: &Line<'_>) -> Vec<u8> {
        let literal = literal_at_end(line.tail);
        let continued = self.command_tag.is_some();
        let shown = if self.sasl_tag.is_some() {
            // A SASL response line (RFC 9051 §6.2.2), or `*` to cancel.
            REDACTED.to_vec()
        } else if continued {
            if self.secret_command {
                REDACTED.to_vec()
            } else {
                line.head.to_vec()
            }
        } else {
            let (w, _) = words(line.head, 3);
            let command = w[1].to_ascii_uppercase();
            match command.as_slice() {
                b"LOGIN" => {
                    self.secret_command = true;
                    imap_login(line.head)
                }
                b"AUTHENTICATE" => {
                    self.sasl_tag = Some(w[0].to_vec());
                    keep_words(line.head, 3)
                }
                _ => {
                    self.secret_command = false;
                    line.head.to_vec()
                }
            }
        };
        if !continued && self.sasl_tag.is_none() {
            let (w, _) = words(line.head, 1);
            self.command_tag = Some(w[0].to_vec());
        }
        match literal {
            Some((size, sync)) if self.sasl_tag.is_none() => {
                reader.count(size);
                if sync {
                    self.sync_literal_tag.clone_from(&self.command_tag);
                }
            }
            _ => {
                // The command's last line.
                self.command_tag = None;
                self.secret_command = false;
            }
        }
        shown
    }

    fn pop3_client(&mut self, line: &Line<'_>) -> Vec<u8> {
        if self.sasl {
            return REDACTED.to_vec();
        }
        let (w, _) = words(line.head, 2);
        let verb = w[0].to_ascii_uppercase();
        if self.pop3_pending.len() >= MAX_PENDING {
            self.pop3_pending.pop_front();
        }
        self.pop3_pending
            .push_back(matches!(verb.as_slice(), b"RETR" | b"TOP"));
        match verb.as_slice() {
            // RFC 1939 §7: `PASS string` (may contain spaces).
            b"PASS" => keep_words(line.head, 1),
            // `APOP name digest`.
            b"APOP" => keep_words(line.head, 2),
            // RFC 5034: `AUTH mechanism [initial-response]`; `AUTH` alone
            // lists the mechanisms.
            b"AUTH" => {
                if !w[1].is_empty() {
                    self.sasl = true;
                }
                keep_words(line.head, 2)
            }
            _ => line.head.to_vec(),
        }
    }

    /// Reads a reply line for what it says about the client's next bytes
    /// (a SASL challenge, a refused literal) and its own (a body).
    fn server_line(&mut self, reader: &mut Reader, client: &mut Reader, line: &Line<'_>) {
        match self.dialect {
            Dialect::Smtp => {
                // Only a reply's last line (`250 ` not `250-`) answers.
                let last = line.head.get(3).is_none_or(|&b| b == b' ');
                if !last {
                    return;
                }
                match line.head.get(..3) {
                    Some(b"334") => self.sasl = true,
                    Some(b"354") => client.dot_body(),
                    _ => self.sasl = false,
                }
            }
            Dialect::Imap => {
                let (w, _) = words(line.head, 1);
                let tag = w[0];
                if self.sasl_tag.as_deref() == Some(tag) {
                    self.sasl_tag = None;
                }
                if self.sync_literal_tag.as_deref() == Some(tag) {
                    // The command ended: a synchronising literal it
                    // announced and that has not started was refused
                    // (RFC 9051 §7.5), so the client will not send it.
                    self.sync_literal_tag = None;
                    if let Mode::Count { left, size } = client.mode
                        && left == size
                    {
                        client.mode = Mode::Lines;
                        self.command_tag = None;
                        self.secret_command = false;
                    }
                }
                if tag == b"+" {
                    self.sync_literal_tag = None;
                }
                if let Some((size, _)) = literal_at_end(line.tail) {
                    reader.count(size);
                }
            }
            Dialect::Pop3 => {
                let ok = line.head.starts_with(b"+OK");
                if ok || line.head.starts_with(b"-ERR") {
                    self.sasl = false;
                    if self.pop3_pending.pop_front() == Some(true) && ok {
                        reader.dot_body();
                    }
                } else if line.head.starts_with(b"+ ") || line.head == b"+" {
                    // A SASL challenge (RFC 5034 §4).
                    self.sasl = true;
                }
            }
        }
    }
}

/// `tag LOGIN user password` with the password replaced (RFC 9051
/// §6.2.3): the user is kept when it is an atom or a quoted string.
fn imap_login(line: &[u8]) -> Vec<u8> {
    let (w, rest) = words(line, 2);
    let mut out = w.join(&b' ');
    if rest.is_empty() {
        return out;
    }
    let user_len = if rest.first() == Some(&b'"') {
        let mut i = 1;
        let mut end = None;
        while i < rest.len() {
            match rest[i] {
                b'\\' => i += 2,
                b'"' => {
                    end = Some(i + 1);
                    break;
                }
                _ => i += 1,
            }
        }
        end
    } else if rest.first() == Some(&b'{') {
        None
    } else {
        rest.iter().position(|&b| b == b' ')
    };
    match user_len {
        Some(n) if rest.get(n) == Some(&b' ') => {
            out.push(b' ');
            out.extend_from_slice(&rest[..n]);
            out.extend_from_slice(b" ***");
        }
        _ => out.extend_from_slice(b" ***"),
    }
    out
}

#[cfg(test)]
mod tests;
