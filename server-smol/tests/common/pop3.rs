//! POP3 helpers (used by the pop3_* tests).

use super::*;

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

/// Delivers each message to `to` with Python's smtplib over `smtp`.
/// Panics unless every DATA got 250.
pub fn smtplib_deliver(site: &Site, smtp: SocketAddr, to: &str, messages: &[Vec<u8>]) {
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
    let out = python("send_files.py", &args);
    let r = results(&out);
    for p in &paths {
        assert_eq!(
            r.get(p.as_str()).map(|v| v.split(' ').next().unwrap_or("")),
            Some("250"),
            "smtplib delivery of {p}: {out}"
        );
    }
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
