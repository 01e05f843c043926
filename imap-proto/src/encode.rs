//! Encoding into line and literal fragments.
//!
//! A synchronising literal (`{5}`) may only be sent after the server's `+`
//! continuation (RFC 9051 §4.3), so encoding yields [`Fragment`]s: a
//! [`Fragment::Line`] ends with the literal announcement (or CRLF), a
//! [`Fragment::Literal`] carries the literal's octets. A client sends a line,
//! waits for `+` when the next fragment is a synchronising literal, and goes
//! on. A server (which never waits) simply concatenates them with
//! [`Encoded::into_bytes`].

/// Whether a literal is synchronising (`{N}`: wait for `+`) or not
/// (`{N+}`: LITERAL+/LITERAL-, RFC 7888).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum LiteralMode {
    /// `{N}`: the sender waits for a continuation request.
    #[default]
    Sync,
    /// `{N+}`: the data follows at once.
    NonSync,
}

/// Which protocol revision the connection speaks: it decides what the
/// encoder emits where IMAP4rev1 and IMAP4rev2 differ.
///
/// - Rev1: `\Recent` is emitted; non-ASCII mailbox names go out in modified
///   UTF-7 (RFC 3501 §5.1.3).
/// - Rev2: `\Recent` is dropped from FETCH FLAGS and `RECENT` from STATUS,
///   and `* n RECENT` is not written at all (RFC 9051 Appendix E); LSUB
///   data goes out as LIST with `\Subscribed`; mailbox names go out in
///   UTF-8 (RFC 9051 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Version {
    /// IMAP4rev1 (RFC 3501), the default until a client ENABLEs IMAP4rev2.
    #[default]
    Rev1,
    /// IMAP4rev2 (RFC 9051).
    Rev2,
}

/// One piece of encoded output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fragment {
    /// Protocol text: ends with CRLF or with a literal announcement
    /// (`{N}\r\n`, `{N+}\r\n`, `~{N}\r\n`).
    Line(Vec<u8>),
    /// The octets of a literal announced at the end of the preceding line.
    Literal {
        /// The literal's octets.
        data: Vec<u8>,
        /// Whether the sender must wait for `+` before sending `data`.
        mode: LiteralMode,
    },
}

/// The result of encoding one command or response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Encoded {
    fragments: Vec<Fragment>,
}

impl Encoded {
    /// The fragments in sending order.
    pub fn fragments(&self) -> &[Fragment] {
        &self.fragments
    }

    /// All fragments concatenated (what a server writes, or a client that
    /// uses only non-synchronising literals).
    pub fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::new();
        for f in self.fragments {
            match f {
                Fragment::Line(l) => out.extend_from_slice(&l),
                Fragment::Literal { data, .. } => out.extend_from_slice(&data),
            }
        }
        out
    }

    /// Consumes into the fragment list.
    pub fn into_fragments(self) -> Vec<Fragment> {
        self.fragments
    }
}

/// Accumulates fragments while a value is encoded.
#[derive(Debug)]
pub struct Encoder {
    version: Version,
    /// `UTF8=ACCEPT` is enabled (RFC 6855 §3): mailbox names go out in
    /// UTF-8 also under IMAP4rev1.
    utf8_accept: bool,
    fragments: Vec<Fragment>,
    line: Vec<u8>,
}

impl Encoder {
    /// A fresh encoder for the given protocol revision.
    pub fn new(version: Version) -> Self {
        Encoder {
            version,
            utf8_accept: false,
            fragments: Vec::new(),
            line: Vec::new(),
        }
    }

    /// The revision this encoder writes for.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Sets whether the peer ENABLEd `UTF8=ACCEPT` (RFC 6855 §3): then
    /// mailbox names are written in UTF-8 whatever the revision.
    pub fn with_utf8_accept(mut self, on: bool) -> Self {
        self.utf8_accept = on;
        self
    }

    /// True when mailbox names go out in UTF-8: IMAP4rev2 (RFC 9051 §5.1)
    /// or `UTF8=ACCEPT` enabled (RFC 6855 §3); modified UTF-7 otherwise.
    pub fn utf8_names(&self) -> bool {
        self.version == Version::Rev2 || self.utf8_accept
    }

    /// Appends raw protocol bytes to the current line.
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        self.line.extend_from_slice(bytes);
    }

    /// Appends a string to the current line.
    pub(crate) fn put_str(&mut self, s: &str) {
        self.line.extend_from_slice(s.as_bytes());
    }

    /// Appends a decimal number.
    pub(crate) fn put_num(&mut self, n: impl std::fmt::Display) {
        use std::io::Write;
        // Writing into a Vec cannot fail; formatting in place avoids a
        // String per number (FETCH responses are full of numbers).
        let _ = write!(self.line, "{n}");
    }

    /// Appends a literal: the announcement ends the current line fragment,
    /// the data becomes its own fragment. `binary` selects `literal8`
    /// (`~{N}`, RFC 3516).
    pub(crate) fn literal(&mut self, data: &[u8], mode: LiteralMode, binary: bool) {
        if binary {
            self.line.push(b'~');
        }
        self.line.push(b'{');
        self.put_num(data.len());
        if mode == LiteralMode::NonSync {
            self.line.push(b'+');
        }
        self.line.extend_from_slice(b"}\r\n");
        self.fragments
            .push(Fragment::Line(std::mem::take(&mut self.line)));
        self.fragments.push(Fragment::Literal {
            data: data.to_vec(),
            mode,
        });
    }

    /// Finishes: the pending line becomes the last fragment.
    pub fn finish(mut self) -> Encoded {
        if !self.line.is_empty() {
            self.fragments.push(Fragment::Line(self.line));
        }
        Encoded {
            fragments: self.fragments,
        }
    }
}

/// A value with a wire form.
pub trait Encode {
    /// Writes the wire form of `self` into `enc`.
    fn encode(&self, enc: &mut Encoder);

    /// Encodes `self` alone into fragments.
    fn to_fragments(&self, version: Version) -> Encoded {
        let mut enc = Encoder::new(version);
        self.encode(&mut enc);
        enc.finish()
    }

    /// Encodes `self` alone into bytes (literals inline).
    fn to_bytes(&self, version: Version) -> Vec<u8> {
        self.to_fragments(version).into_bytes()
    }
}

/// Writes `items` separated by SP.
pub(crate) fn sp_sep<T: Encode>(enc: &mut Encoder, items: &[T]) {
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            enc.put(b" ");
        }
        item.encode(enc);
    }
}

/// Writes `"(" items ")"` separated by SP.
pub(crate) fn paren<T: Encode>(enc: &mut Encoder, items: &[T]) {
    enc.put(b"(");
    sp_sep(enc, items);
    enc.put(b")");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_splits_fragments() {
        let mut e = Encoder::new(Version::Rev1);
        e.put(b"A1 LOGIN ");
        e.literal(b"fred", LiteralMode::Sync, false);
        e.put(b" ");
        e.literal(b"pw", LiteralMode::NonSync, false);
        e.put(b"\r\n");
        let out = e.finish();
        assert_eq!(
            out.fragments(),
            &[
                Fragment::Line(b"A1 LOGIN {4}\r\n".to_vec()),
                Fragment::Literal {
                    data: b"fred".to_vec(),
                    mode: LiteralMode::Sync
                },
                Fragment::Line(b" {2+}\r\n".to_vec()),
                Fragment::Literal {
                    data: b"pw".to_vec(),
                    mode: LiteralMode::NonSync
                },
                Fragment::Line(b"\r\n".to_vec()),
            ]
        );
        assert_eq!(
            out.into_bytes(),
            b"A1 LOGIN {4}\r\nfred {2+}\r\npw\r\n".to_vec()
        );
    }
}
