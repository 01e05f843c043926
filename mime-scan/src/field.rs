//! The two header fields the structure depends on: Content-Type (RFC 2045
//! §5.1, parameters per RFC 2231 §3 continuations) and
//! Content-Transfer-Encoding (RFC 2045 §6.1). Only what the scanner needs
//! is read: the media type, the subtype, and the `boundary` parameter.

use crate::MAX_BOUNDARY;

/// What a Content-Type field says about structure.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ContentType {
    /// The media type, lower-cased.
    pub(crate) media_type: Vec<u8>,
    /// The subtype, lower-cased (empty when missing).
    pub(crate) subtype: Vec<u8>,
    /// The `boundary` parameter (RFC 2046 §5.1.1), if present, non-empty
    /// and at most [`MAX_BOUNDARY`] bytes.
    pub(crate) boundary: Option<Vec<u8>>,
}

impl ContentType {
    pub(crate) fn is_multipart(&self) -> bool {
        self.media_type == b"multipart"
    }

    /// `message/rfc822` or `message/global` (RFC 6532 §3.5).
    pub(crate) fn is_message(&self) -> bool {
        self.media_type == b"message" && (self.subtype == b"rfc822" || self.subtype == b"global")
    }
}

/// Skips white space, folding line breaks and (nested) comments (RFC 5322
/// §3.2.2 CFWS). The nesting counter is a number, not recursion.
fn skip_cfws(v: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while let Some(&c) = v.get(i) {
        match c {
            b'(' => depth += 1,
            b')' if depth > 0 => depth -= 1,
            b'\\' if depth > 0 => i += 1,
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ if depth > 0 => {}
            _ => break,
        }
        i += 1;
    }
    i
}

/// RFC 2045 `tspecials` and controls end a token.
fn is_token(c: u8) -> bool {
    c > b' ' && c < 0x7f && !b"()<>@,;:\\\"/[]?=".contains(&c)
}

/// A token (lenient: 8-bit octets are accepted, as mail has them).
fn token(v: &[u8], i: usize) -> (Vec<u8>, usize) {
    let mut j = i;
    while let Some(&c) = v.get(j) {
        if !(is_token(c) || c >= 0x80) {
            break;
        }
        j += 1;
    }
    (v.get(i..j).unwrap_or_default().to_vec(), j)
}

/// A parameter value: a quoted-string (backslash escapes removed, folding
/// removed) or a token.
fn value(v: &[u8], i: usize) -> (Vec<u8>, usize) {
    if v.get(i) != Some(&b'"') {
        return token(v, i);
    }
    let mut out = Vec::new();
    let mut j = i + 1;
    while let Some(&c) = v.get(j) {
        match c {
            b'"' => return (out, j + 1),
            b'\\' => {
                if let Some(&n) = v.get(j + 1) {
                    out.push(n);
                }
                j += 2;
                continue;
            }
            b'\r' | b'\n' => {}
            _ => out.push(c),
        }
        j += 1;
    }
    (out, j)
}

/// Parses a Content-Type field value (the text after the colon, folding
/// included). `None` when there is no `type/subtype` or `type` at all.
pub(crate) fn content_type(v: &[u8]) -> Option<ContentType> {
    let i = skip_cfws(v, 0);
    let (mut media_type, i) = token(v, i);
    if media_type.is_empty() {
        return None;
    }
    media_type.make_ascii_lowercase();
    let mut i = skip_cfws(v, i);
    let mut subtype = Vec::new();
    if v.get(i) == Some(&b'/') {
        let (s, j) = token(v, skip_cfws(v, i + 1));
        subtype = s;
        subtype.make_ascii_lowercase();
        i = j;
    }
    let mut boundary: Option<Vec<u8>> = None;
    // RFC 2231 §3: boundary*0, boundary*1, ... are joined in order.
    let mut sections: Vec<(u32, Vec<u8>)> = Vec::new();
    loop {
        i = skip_cfws(v, i);
        match v.get(i) {
            None => break,
            Some(b';') => i += 1,
            // Junk between parameters: skip to the next `;`.
            Some(_) => match v[i..].iter().position(|&c| c == b';') {
                Some(p) => {
                    i += p + 1;
                }
                None => break,
            },
        }
        i = skip_cfws(v, i);
        let (mut name, j) = token(v, i);
        if name.is_empty() {
            continue;
        }
        name.make_ascii_lowercase();
        i = skip_cfws(v, j);
        if v.get(i) != Some(&b'=') {
            continue;
        }
        i = skip_cfws(v, i + 1);
        let (val, j) = value(v, i);
        i = j;
        if name == b"boundary" {
            if boundary.is_none() {
                boundary = Some(val);
            }
        } else if let Some(n) = name.strip_prefix(b"boundary*")
            && let Some(n) = std::str::from_utf8(n)
                .ok()
                .and_then(|s| s.parse::<u32>().ok())
            && sections.len() < 64
        {
            sections.push((n, val));
        }
    }
    if boundary.is_none() && !sections.is_empty() {
        sections.sort_by_key(|s| s.0);
        boundary = Some(sections.into_iter().flat_map(|s| s.1).collect());
    }
    let boundary = boundary
        .map(|b| trim_end(&b).to_vec())
        .filter(|b| !b.is_empty() && b.len() <= MAX_BOUNDARY);
    Some(ContentType {
        media_type,
        subtype,
        boundary,
    })
}

fn trim_end(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    &b[..n]
}

/// True when a Content-Transfer-Encoding value names an encoding that
/// changes the octets (base64 or quoted-printable): an encapsulated
/// message under it is not in the stored bytes as such.
pub(crate) fn is_encoding(v: &[u8]) -> bool {
    let i = skip_cfws(v, 0);
    let (t, _) = token(v, i);
    t.eq_ignore_ascii_case(b"base64") || t.eq_ignore_ascii_case(b"quoted-printable")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(v: &str) -> Option<ContentType> {
        content_type(v.as_bytes())
    }

    #[test]
    fn content_type_known_answers() {
        let c = ct(" multipart/Mixed; boundary=\"a b\\\"c\"").unwrap();
        assert_eq!(
            (c.media_type, c.subtype, c.boundary),
            (
                b"multipart".to_vec(),
                b"mixed".to_vec(),
                Some(b"a b\"c".to_vec())
            )
        );
        let c = ct(" MULTIPART/alternative;\r\n\tBoundary=xyz  ; charset=x").unwrap();
        assert_eq!(c.boundary.as_deref(), Some(&b"xyz"[..]));
        let c = ct(" multipart/mixed (comment) ; (c) boundary = abc").unwrap();
        assert_eq!(c.boundary.as_deref(), Some(&b"abc"[..]));
        let c = ct(" multipart/mixed; boundary*1=\"def\"; boundary*0=\"abc\"").unwrap();
        assert_eq!(c.boundary.as_deref(), Some(&b"abcdef"[..]));
        let c = ct(" message/rfc822").unwrap();
        assert!(c.is_message() && c.boundary.is_none());
        let c = ct(" multipart").unwrap();
        assert!(c.is_multipart() && c.subtype.is_empty());
        assert!(ct("  ").is_none());
        assert!(ct(" ;boundary=x").is_none());
        let long = format!(
            " multipart/mixed; boundary={}",
            "b".repeat(MAX_BOUNDARY + 1)
        );
        assert!(ct(&long).unwrap().boundary.is_none());
        let c = ct(" multipart/mixed; boundary=\"\"").unwrap();
        assert!(c.boundary.is_none());
    }

    #[test]
    fn transfer_encodings() {
        assert!(is_encoding(b" Base64\r\n"));
        assert!(is_encoding(b" quoted-printable (x)"));
        assert!(!is_encoding(b" 7bit"));
        assert!(!is_encoding(b" binary"));
        assert!(!is_encoding(b""));
    }
}
