//! RFC 5322 §3.4 address lists into ENVELOPE address structures
//! (RFC 9051 §7.5.2), from the raw header octets: display names keep their
//! encoded words (RFC 3501 §7.4.2 wants the header as stored), quoted
//! strings lose their quotes and escapes.
//!
//! The parser is lenient like Dovecot's: a comment stands in for a missing
//! display name, a missing local part becomes `MISSING_MAILBOX` and a
//! missing domain `MISSING_DOMAIN`, so an address never looks like a group
//! marker (whose host is NIL).

use super::istring;
use crate::response::Address;
use crate::types::NString;

/// Caps the work done for one header (DoS limit): tokens beyond this are
/// ignored.
const MAX_TOKENS: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// An atom, dot-atom or domain literal, as written.
    Atom(Vec<u8>),
    /// The content of a quoted string, unescaped.
    Quoted(Vec<u8>),
    /// The content of a comment (outermost parentheses removed).
    Comment(Vec<u8>),
    /// One of `< > @ , ; :`.
    Special(u8),
}

fn tokenize(input: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < input.len() && out.len() < MAX_TOKENS {
        let c = input[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'"' => {
                let mut s = Vec::new();
                i += 1;
                while let Some(&c) = input.get(i) {
                    i += 1;
                    match c {
                        b'"' => break,
                        b'\\' => {
                            if let Some(&n) = input.get(i) {
                                s.push(n);
                                i += 1;
                            }
                        }
                        b'\r' | b'\n' => {}
                        _ => s.push(c),
                    }
                }
                out.push(Token::Quoted(s));
            }
            b'(' => {
                let mut depth = 0usize;
                let mut s = Vec::new();
                while let Some(&c) = input.get(i) {
                    i += 1;
                    match c {
                        b'(' => {
                            if depth > 0 {
                                s.push(c);
                            }
                            depth += 1;
                        }
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            s.push(c);
                        }
                        b'\\' => {
                            if let Some(&n) = input.get(i) {
                                s.push(n);
                                i += 1;
                            }
                        }
                        b'\r' | b'\n' => {}
                        _ => s.push(c),
                    }
                }
                out.push(Token::Comment(s));
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' => {
                out.push(Token::Special(c));
                i += 1;
            }
            b'[' => {
                let start = i;
                while let Some(&c) = input.get(i) {
                    i += 1;
                    if c == b']' {
                        break;
                    }
                }
                out.push(Token::Atom(input[start..i].to_vec()));
            }
            _ => {
                let start = i;
                while let Some(&c) = input.get(i) {
                    if matches!(
                        c,
                        b' ' | b'\t'
                            | b'\r'
                            | b'\n'
                            | b'"'
                            | b'('
                            | b')'
                            | b'<'
                            | b'>'
                            | b'@'
                            | b','
                            | b';'
                            | b':'
                            | b'['
                    ) {
                        break;
                    }
                    i += 1;
                }
                if i == start {
                    // A stray ')' or similar: skip it.
                    i += 1;
                } else {
                    out.push(Token::Atom(input[start..i].to_vec()));
                }
            }
        }
    }
    out
}

/// Joins phrase words with single spaces (RFC 5322 §3.2.5 `phrase`).
fn phrase(words: &[&Token]) -> Vec<u8> {
    let mut out = Vec::new();
    for w in words {
        let b = match w {
            Token::Atom(b) | Token::Quoted(b) => b,
            _ => continue,
        };
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(b);
    }
    out
}

fn nstring(b: &[u8]) -> NString {
    NString::String(istring(b))
}

/// An addr-spec (`local@domain`) from the tokens of one mailbox, without
/// the display name. Returns (mailbox, host).
fn addr_spec(tokens: &[&Token]) -> (Vec<u8>, Vec<u8>) {
    let at = tokens
        .iter()
        .rposition(|t| matches!(t, Token::Special(b'@')));
    let join = |ts: &[&Token]| {
        let mut out = Vec::new();
        for t in ts {
            match t {
                Token::Atom(b) => out.extend_from_slice(b),
                // A quoted local part keeps its quotes so that
                // `mailbox@host` can be put back together.
                Token::Quoted(b) => {
                    out.push(b'"');
                    for c in b {
                        if matches!(c, b'"' | b'\\') {
                            out.push(b'\\');
                        }
                        out.push(*c);
                    }
                    out.push(b'"');
                }
                _ => {}
            }
        }
        out
    };
    match at {
        Some(at) => (join(&tokens[..at]), join(&tokens[at + 1..])),
        None => (join(tokens), Vec::new()),
    }
}

fn make(name: Option<Vec<u8>>, adl: Option<Vec<u8>>, mailbox: Vec<u8>, host: Vec<u8>) -> Address {
    let or = |v: Vec<u8>, d: &[u8]| if v.is_empty() { d.to_vec() } else { v };
    Address {
        name: name
            .filter(|n| !n.is_empty())
            .map_or(NString::Nil, |n| nstring(&n)),
        adl: adl
            .filter(|a| !a.is_empty())
            .map_or(NString::Nil, |a| nstring(&a)),
        mailbox: nstring(&or(mailbox, b"MISSING_MAILBOX")),
        host: nstring(&or(host, b"MISSING_DOMAIN")),
    }
}

/// One `mailbox` (name-addr or addr-spec) from its tokens; `None` when it
/// holds nothing that looks like an address.
fn mailbox(tokens: &[&Token]) -> Option<Address> {
    if tokens.is_empty() {
        return None;
    }
    if let Some(lt) = tokens.iter().position(|t| **t == Token::Special(b'<')) {
        let name = phrase(&tokens[..lt]);
        let gt = tokens[lt..]
            .iter()
            .position(|t| **t == Token::Special(b'>'))
            .map_or(tokens.len(), |g| lt + g);
        let mut inner: &[&Token] = &tokens[lt + 1..gt];
        // Obsolete source route: `<@a,@b:user@host>` (RFC 5322 §4.4).
        let mut adl = None;
        if let Some(colon) = inner.iter().position(|t| **t == Token::Special(b':'))
            && inner.first() == Some(&&Token::Special(b'@'))
        {
            {
                let mut route = Vec::new();
                for t in &inner[..colon] {
                    match t {
                        Token::Special(c) => route.push(*c),
                        Token::Atom(b) => route.extend_from_slice(b),
                        _ => {}
                    }
                }
                adl = Some(route);
                inner = &inner[colon + 1..];
            }
        }
        let (mbox, host) = addr_spec(inner);
        if mbox.is_empty() && host.is_empty() && name.is_empty() {
            return None;
        }
        return Some(make(Some(name), adl, mbox, host));
    }
    // addr-spec, perhaps with a comment that serves as the name.
    let comment = tokens.iter().find_map(|t| match t {
        Token::Comment(c) => Some(super::header::trim(c).to_vec()),
        _ => None,
    });
    let words: Vec<&Token> = tokens
        .iter()
        .copied()
        .filter(|t| !matches!(t, Token::Comment(_)))
        .collect();
    if words.is_empty() {
        return None;
    }
    let (mbox, host) = addr_spec(&words);
    Some(make(comment, None, mbox, host))
}

/// Parses an address-list header value into ENVELOPE address structures.
/// Groups become `(NIL NIL "name" NIL)` … `(NIL NIL NIL NIL)` (RFC 9051
/// §7.5.2). An empty or unreadable value yields an empty list (NIL).
pub(crate) fn parse_address_list(value: &[u8]) -> Vec<Address> {
    let tokens = tokenize(value);
    let mut out = Vec::new();
    let mut current: Vec<&Token> = Vec::new();
    let mut in_group = false;
    let mut in_angle = false;
    for t in &tokens {
        match t {
            Token::Special(b'<') => {
                in_angle = true;
                current.push(t);
            }
            Token::Special(b'>') => {
                in_angle = false;
                current.push(t);
            }
            Token::Special(b':') if !in_angle && !in_group => {
                // Group start: the phrase so far is the group's name.
                let name = phrase(&current);
                out.push(Address {
                    name: NString::Nil,
                    adl: NString::Nil,
                    mailbox: nstring(&name),
                    host: NString::Nil,
                });
                current.clear();
                in_group = true;
            }
            Token::Special(b',') if !in_angle => {
                out.extend(mailbox(&current));
                current.clear();
            }
            Token::Special(b';') if in_group && !in_angle => {
                out.extend(mailbox(&current));
                current.clear();
                out.push(Address::default());
                in_group = false;
            }
            _ => current.push(t),
        }
    }
    out.extend(mailbox(&current));
    if in_group {
        out.push(Address::default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(a: &NString) -> Option<String> {
        a.as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    fn flat(v: &[Address]) -> Vec<[Option<String>; 4]> {
        v.iter()
            .map(|a| [s(&a.name), s(&a.adl), s(&a.mailbox), s(&a.host)])
            .collect()
    }

    fn o(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    #[test]
    fn known_answers() {
        assert_eq!(
            flat(&parse_address_list(
                b" \"Doe, John\" <john@example.com>, jane@x.org (Jane)"
            )),
            vec![
                [o("Doe, John"), None, o("john"), o("example.com")],
                [o("Jane"), None, o("jane"), o("x.org")],
            ]
        );
        assert_eq!(
            flat(&parse_address_list(b"=?utf-8?q?J=C3=B6rg?= <j@x>")),
            vec![[o("=?utf-8?q?J=C3=B6rg?="), None, o("j"), o("x")]]
        );
        assert_eq!(
            flat(&parse_address_list(b"undisclosed-recipients:;")),
            vec![
                [None, None, o("undisclosed-recipients"), None],
                [None, None, None, None],
            ]
        );
        assert_eq!(
            flat(&parse_address_list(b"Team: a@b, C <c@d>; e@f")),
            vec![
                [None, None, o("Team"), None],
                [None, None, o("a"), o("b")],
                [o("C"), None, o("c"), o("d")],
                [None, None, None, None],
                [None, None, o("e"), o("f")],
            ]
        );
        assert_eq!(
            flat(&parse_address_list(b"<@route.a,@route.b:u@h>")),
            vec![[None, o("@route.a,@route.b"), o("u"), o("h")]]
        );
        assert_eq!(
            flat(&parse_address_list(b"localonly")),
            vec![[None, None, o("localonly"), o("MISSING_DOMAIN")]]
        );
        assert_eq!(
            flat(&parse_address_list(b"\"a b\"@x")),
            vec![[None, None, o("\"a b\""), o("x")]]
        );
        assert!(parse_address_list(b"  ").is_empty());
        assert!(parse_address_list(b",,").is_empty());
    }
}
