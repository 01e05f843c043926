//! Raw header fields (RFC 5322 §2.2): splitting a header block into fields
//! without decoding anything, for ENVELOPE, BODYSTRUCTURE and
//! `HEADER.FIELDS`, which all work on the octets as stored.

/// Length of the header block at the start of `bytes`, including the blank
/// line that ends it (CRLF or bare LF). Without a blank line the whole input
/// is header. (The part tree comes from `mime-scan`; this stays for the
/// tests that check field splitting on a header block.)
#[cfg(test)]
pub(crate) fn header_len(bytes: &[u8]) -> usize {
    let mut pos = 0;
    while pos < bytes.len() {
        let line_end = match memchr(b'\n', &bytes[pos..]) {
            Some(n) => pos + n + 1,
            None => return bytes.len(),
        };
        let line = &bytes[pos..line_end];
        if line == b"\n" || line == b"\r\n" {
            return line_end;
        }
        pos = line_end;
    }
    bytes.len()
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|b| *b == needle)
}

/// One header field as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// The field name (without the colon), as written.
    pub name: &'a [u8],
    /// Everything after the colon up to the field's final line break
    /// (folding line breaks included).
    pub value: &'a [u8],
    /// The whole field including its final line break, if any.
    pub raw: &'a [u8],
}

/// Iterates over the fields of a header block (which may include the blank
/// line ending it). Lines without a colon are skipped, as Dovecot and
/// mail-parser do; continuation lines (starting with SP or HTAB) belong to
/// the field before them (RFC 5322 §2.2.3).
pub(crate) fn fields(header: &[u8]) -> Fields<'_> {
    Fields { rest: header }
}

/// Iterator returned by [`fields`].
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        loop {
            let bytes = self.rest;
            if bytes.is_empty() || bytes.starts_with(b"\n") || bytes.starts_with(b"\r\n") {
                self.rest = &[];
                return None;
            }
            // The field runs until a line break followed by a non-WSP byte.
            let mut end = bytes.len();
            let mut pos = 0;
            while let Some(n) = memchr(b'\n', &bytes[pos..]) {
                let next = pos + n + 1;
                match bytes.get(next) {
                    Some(b' ' | b'\t') => pos = next,
                    _ => {
                        end = next;
                        break;
                    }
                }
            }
            let raw = &bytes[..end];
            self.rest = &bytes[end..];
            let Some(colon) = memchr(b':', raw) else {
                continue;
            };
            let name = trim(&raw[..colon]);
            if name.is_empty() || name.iter().any(|b| b.is_ascii_whitespace() && *b != b' ') {
                continue;
            }
            let mut value = &raw[colon + 1..];
            value = value.strip_suffix(b"\n").unwrap_or(value);
            value = value.strip_suffix(b"\r").unwrap_or(value);
            return Some(Field { name, value, raw });
        }
    }
}

/// Strips leading and trailing SP, HTAB, CR and LF.
pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = s.iter().position(|b| !ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !ws(b)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or_default()
}

/// Unfolds a field value (RFC 5322 §2.2.3: remove the CRLF of each fold,
/// keep the WSP) and trims it. NUL octets are dropped because no IMAP
/// string can carry them.
pub(crate) fn unfold(value: &[u8]) -> Vec<u8> {
    trim(value)
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\r' | b'\n' | 0))
        .collect()
}

/// The first field called `name` (case-insensitive), raw value.
pub(crate) fn first<'a>(header: &'a [u8], name: &str) -> Option<&'a [u8]> {
    fields(header)
        .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| f.value)
}

/// `HEADER.FIELDS (names)` / `HEADER.FIELDS.NOT (names)` (RFC 9051
/// §6.4.5): the matching fields as stored, in message order, followed by
/// the blank line (copied from the header when it has one, CRLF otherwise).
pub(crate) fn filter_fields<N: AsRef<[u8]>>(header: &[u8], names: &[N], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields(header) {
        let listed = names
            .iter()
            .any(|n| trim(n.as_ref()).eq_ignore_ascii_case(f.name));
        if listed != not {
            out.extend_from_slice(f.raw);
            if !f.raw.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    if header.ends_with(b"\n\n") || header == b"\n" {
        out.extend_from_slice(b"\n");
    } else {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_unfold() {
        let h = b"Subject: a\r\n b\r\nX-Bad line\r\nFrom:  x@y \r\n\r\nbody";
        assert_eq!(header_len(h), 43);
        let v: Vec<_> = fields(&h[..header_len(h)]).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].name, b"Subject");
        assert_eq!(v[0].value, b" a\r\n b");
        assert_eq!(v[0].raw, b"Subject: a\r\n b\r\n");
        assert_eq!(unfold(v[0].value), b"a b");
        assert_eq!(v[1].name, b"From");
        assert_eq!(unfold(v[1].value), b"x@y");
        assert_eq!(first(h, "from"), Some(&b"  x@y "[..]));
        assert_eq!(header_len(b"A: b"), 4);
        assert_eq!(header_len(b"\nbody"), 1);
    }

    #[test]
    fn filter() {
        let h = b"Subject: a\r\nFrom: x\r\nTo: y\r\n\r\n";
        assert_eq!(
            filter_fields(h, &["from", "TO"], false),
            b"From: x\r\nTo: y\r\n\r\n"
        );
        assert_eq!(
            filter_fields(h, &["from", "TO"], true),
            b"Subject: a\r\n\r\n"
        );
        assert_eq!(filter_fields(b"A: b\n\n", &["a"], false), b"A: b\n\n");
        assert_eq!(filter_fields(b"A: b", &["a"], false), b"A: b\r\n\r\n");
    }
}
