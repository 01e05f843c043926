//! A small blocking IMAP client for the `imapload` generator: tags,
//! LOGIN, APPEND with the cheapest literal form the server allows, and
//! commands that run to their tagged completion.
//!
//! It reads with [`ResponseFramer`], so untagged data of any size streams
//! through a fixed read buffer.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::imap_frame::{Response, ResponseFramer, Status};

/// RFC 7888 §4: LITERAL- allows non-synchronising literals up to this size.
pub const LITERAL_MINUS_MAX: usize = 4096;

/// What the server allows for non-synchronising literals (RFC 7888).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonSync {
    /// Neither LITERAL+ nor LITERAL-: every literal waits for `+`.
    None,
    /// LITERAL-: up to [`LITERAL_MINUS_MAX`] octets.
    Minus,
    /// LITERAL+: any size.
    Plus,
}

impl NonSync {
    /// Whether a literal of `len` octets may be sent without waiting.
    #[must_use]
    pub fn allows(self, len: usize) -> bool {
        match self {
            NonSync::None => false,
            NonSync::Minus => len <= LITERAL_MINUS_MAX,
            NonSync::Plus => true,
        }
    }

    /// Updates from a response that lists capabilities (`* CAPABILITY` or a
    /// `[CAPABILITY ...]` response code); other responses leave it alone.
    pub fn learn(&mut self, r: &Response) {
        let upper = r.text.to_ascii_uppercase();
        let listed =
            upper.starts_with(b"* CAPABILITY ") || upper.windows(12).any(|w| w == b"[CAPABILITY ");
        if !listed {
            return;
        }
        let has = |cap: &[u8]| {
            upper
                .split(|&b| b == b' ' || b == b']')
                .any(|word| word == cap)
        };
        *self = if has(b"LITERAL+") {
            NonSync::Plus
        } else if has(b"LITERAL-") {
            NonSync::Minus
        } else {
            NonSync::None
        };
    }
}

/// A quoted string (RFC 9051 §4.3) for `s`; `None` if `s` needs a literal
/// (CR, LF or NUL cannot be quoted).
#[must_use]
pub fn quoted(s: &str) -> Option<String> {
    if s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Some(out)
}

/// A command's outcome.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The tagged status response.
    pub tagged: Response,
    /// Untagged responses seen before it.
    pub untagged: usize,
    /// Octets of the response stream, CRLFs and literals included.
    pub octets: u64,
}

impl Completion {
    /// Whether the command completed with `OK`.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.tagged.status() == Some(Status::Ok)
    }
}

/// One connection.
pub struct Client {
    stream: TcpStream,
    framer: ResponseFramer,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    tag: u64,
    /// What the server allows for non-synchronising literals.
    pub nonsync: NonSync,
    /// Octets read since the last call to [`Client::take_octets`].
    octets: u64,
}

fn other(what: impl Into<String>) -> io::Error {
    io::Error::other(what.into())
}

impl Client {
    /// Connects, reads the greeting and fails unless it is `* OK`. The read
    /// buffer has `buf_size` octets (it bounds the generator's memory).
    pub fn connect(server: &str, timeout: Duration, buf_size: usize) -> io::Result<Client> {
        let addr = server
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| other("server address resolves to nothing"))?;
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let mut c = Client {
            stream,
            framer: ResponseFramer::new(),
            buf: vec![0; buf_size.max(64)],
            start: 0,
            end: 0,
            tag: 0,
            nonsync: NonSync::None,
            octets: 0,
        };
        let greeting = c.read_response()?;
        if greeting.status() != Some(Status::Ok) {
            return Err(other(format!("greeting: {}", greeting.lossy())));
        }
        Ok(c)
    }

    /// The next tag, `A1`, `A2`, ...
    pub fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("A{}", self.tag)
    }

    /// Writes raw bytes.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one whole response (capabilities it lists are remembered).
    pub fn read_response(&mut self) -> io::Result<Response> {
        loop {
            if self.start < self.end {
                let data = self.buf.get(self.start..self.end).unwrap_or_default();
                let (n, r) = self
                    .framer
                    .advance(data)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                self.start += n;
                self.octets += n as u64;
                if let Some(r) = r {
                    self.nonsync.learn(&r);
                    return Ok(r);
                }
                continue;
            }
            let n = self.stream.read(&mut self.buf)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed the connection",
                ));
            }
            self.start = 0;
            self.end = n;
        }
    }

    /// Reads until the tagged response for `tag`, calling `each` on every
    /// untagged response (and on continuation requests).
    pub fn wait_tagged(
        &mut self,
        tag: &str,
        mut each: impl FnMut(&Response),
    ) -> io::Result<Completion> {
        let before = self.octets;
        let mut untagged = 0usize;
        // RFC 9051 §7.1.5: BYE precedes the tagged OK of LOGOUT, and is
        // the last word when the server closes for another reason.
        let mut bye = None;
        loop {
            let r = match self.read_response() {
                Ok(r) => r,
                Err(e) => {
                    return Err(match bye {
                        Some(text) => other(format!("server said {text}")),
                        None => e,
                    });
                }
            };
            if r.tag() == Some(tag.as_bytes()) {
                return Ok(Completion {
                    tagged: r,
                    untagged,
                    octets: self.octets - before,
                });
            }
            if r.tag().is_none() && r.status() == Some(Status::Bye) {
                bye = Some(r.lossy());
            }
            untagged += 1;
            each(&r);
        }
    }

    /// Sends `<tag> <line>` and reads to its tagged completion.
    pub fn command_with(
        &mut self,
        line: &str,
        each: impl FnMut(&Response),
    ) -> io::Result<Completion> {
        let tag = self.next_tag();
        self.send(format!("{tag} {line}\r\n").as_bytes())?;
        self.wait_tagged(&tag, each)
    }

    /// [`Client::command_with`] ignoring untagged data.
    pub fn command(&mut self, line: &str) -> io::Result<Completion> {
        self.command_with(line, |_| {})
    }

    /// [`Client::command`] that fails unless the answer is `OK`.
    pub fn command_ok(&mut self, line: &str) -> io::Result<Completion> {
        let c = self.command(line)?;
        if !c.is_ok() {
            return Err(other(format!("{line:.40}: {}", c.tagged.lossy())));
        }
        Ok(c)
    }

    /// LOGIN (RFC 9051 §6.2.3) with quoted strings; fails unless `OK`.
    pub fn login(&mut self, user: &str, pass: &str) -> io::Result<()> {
        let (Some(u), Some(p)) = (quoted(user), quoted(pass)) else {
            return Err(other("user or password cannot be quoted"));
        };
        let c = self.command(&format!("LOGIN {u} {p}"))?;
        if !c.is_ok() {
            return Err(other(format!("LOGIN: {}", c.tagged.lossy())));
        }
        // Servers that do not list capabilities in the LOGIN reply.
        if self.nonsync == NonSync::None {
            self.command("CAPABILITY")?;
        }
        Ok(())
    }

    /// SELECT (RFC 9051 §6.3.2); returns the completion and EXISTS.
    pub fn select(&mut self, mailbox: &str) -> io::Result<(Completion, u64)> {
        let m = quoted(mailbox).ok_or_else(|| other("mailbox cannot be quoted"))?;
        let mut exists = 0;
        let c = self.command_with(&format!("SELECT {m}"), |r| {
            if let Some(n) = r.untagged_number("EXISTS") {
                exists = n;
            }
        })?;
        Ok((c, exists))
    }

    /// The bytes of an APPEND with a non-synchronising literal; the caller
    /// checks [`NonSync::allows`] first.
    #[must_use]
    pub fn append_nonsync(tag: &str, mailbox_quoted: &str, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(message.len() + 64);
        out.extend_from_slice(
            format!("{tag} APPEND {mailbox_quoted} {{{}+}}\r\n", message.len()).as_bytes(),
        );
        out.extend_from_slice(message);
        out.extend_from_slice(b"\r\n");
        out
    }

    /// APPEND `message` to `mailbox` and read the completion, using a
    /// non-synchronising literal when allowed, else waiting for `+`.
    pub fn append(&mut self, mailbox: &str, message: &[u8]) -> io::Result<Completion> {
        self.append_with(mailbox, message, |_| {})
    }

    /// [`Client::append`], calling `each` on every untagged response.
    pub fn append_with(
        &mut self,
        mailbox: &str,
        message: &[u8],
        mut each: impl FnMut(&Response),
    ) -> io::Result<Completion> {
        let m = quoted(mailbox).ok_or_else(|| other("mailbox cannot be quoted"))?;
        let tag = self.next_tag();
        if self.nonsync.allows(message.len()) {
            self.send(&Self::append_nonsync(&tag, &m, message))?;
            return self.wait_tagged(&tag, each);
        }
        self.send(format!("{tag} APPEND {m} {{{}}}\r\n", message.len()).as_bytes())?;
        let mut r = self.read_response()?;
        while r.tag().is_none() && !r.is_continuation() {
            each(&r);
            r = self.read_response()?;
        }
        if r.tag() == Some(tag.as_bytes()) {
            // Refused before the literal (RFC 9051 §7.5: NO instead of `+`).
            return Ok(Completion {
                tagged: r,
                untagged: 0,
                octets: 0,
            });
        }
        if !r.is_continuation() {
            return Err(other(format!("APPEND: expected +, got {}", r.lossy())));
        }
        self.send(message)?;
        self.send(b"\r\n")?;
        self.wait_tagged(&tag, each)
    }

    /// The socket, for holding a connection without its read buffer.
    #[must_use]
    pub fn into_stream(self) -> TcpStream {
        self.stream
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
    fn capabilities() {
        let mut n = NonSync::None;
        n.learn(&resp("* OK [CAPABILITY IMAP4rev1 LITERAL- IDLE] ready"));
        assert_eq!(n, NonSync::Minus);
        assert!(n.allows(4096));
        assert!(!n.allows(4097));
        n.learn(&resp("* 3 EXISTS"));
        assert_eq!(n, NonSync::Minus);
        n.learn(&resp("* CAPABILITY IMAP4rev1 LITERAL+"));
        assert_eq!(n, NonSync::Plus);
        assert!(n.allows(1 << 30));
        n.learn(&resp("A1 OK [CAPABILITY IMAP4rev1 IDLE] done"));
        assert_eq!(n, NonSync::None);
        assert!(!n.allows(1));
    }

    #[test]
    fn quoting() {
        assert_eq!(quoted("a\"b\\c").as_deref(), Some("\"a\\\"b\\\\c\""));
        assert_eq!(quoted("x\ny"), None);
        assert_eq!(
            Client::append_nonsync("A7", "\"INBOX\"", b"hi"),
            b"A7 APPEND \"INBOX\" {2+}\r\nhi\r\n".to_vec()
        );
    }
}
