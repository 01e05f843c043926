//! IMAP helpers (used by the imap_* tests).

use super::*;

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
