//! A raw-socket SMTP client and message helpers for the SMTP tests.

use super::*;

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
