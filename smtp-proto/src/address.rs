//! RFC 5321 §4.1.2 paths and mailboxes, with the RFC 6531 §3.3 UTF-8 extension.
//!
//! Addresses are kept as the client sent them (minus the angle brackets and
//! any source route, which RFC 5321 §4.1.1.3 says to ignore): no case folding,
//! no normalisation of quoted local parts.

use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while1};
use nom::combinator::{map, opt, recognize, verify};
use nom::multi::{many0, separated_list1};
use nom::sequence::delimited;
use nom::{IResult, Parser};

/// `atext` of RFC 5322 §3.2.3, plus `UTF8-non-ascii` (RFC 6531 §3.3).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

/// `Let-dig` / `Ldh-str` characters, plus UTF-8 for U-labels (RFC 6531 §3.3).
fn is_ldh(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80
}

/// `qtextSMTP = %d32-33 / %d35-91 / %d93-126` (RFC 5321 §4.1.2) / `UTF8-non-ascii`.
fn is_qtext(b: u8) -> bool {
    matches!(b, 32..=33 | 35..=91 | 93..=126) || b >= 0x80
}

/// `dcontent = %d33-90 / %d94-126` (RFC 5321 §4.1.3).
fn is_dcontent(b: u8) -> bool {
    matches!(b, 33..=90 | 94..=126)
}

/// `Atom = 1*atext`
pub fn atom(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(is_atext).parse(i)
}

/// `Dot-string = Atom *("."  Atom)`
pub fn dot_string(i: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize(separated_list1(tag("."), atom)).parse(i)
}

/// `quoted-pairSMTP = %d92 %d32-126`
fn quoted_pair(i: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize((tag("\\"), take_while_m_n_1(|b| (32..=126).contains(&b)))).parse(i)
}

/// One byte matching `pred`.
fn take_while_m_n_1(pred: impl Fn(u8) -> bool) -> impl Fn(&[u8]) -> IResult<&[u8], &[u8]> {
    move |i: &[u8]| nom::bytes::complete::take_while_m_n(1, 1, &pred).parse(i)
}

/// `Quoted-string = DQUOTE *QcontentSMTP DQUOTE`; `QcontentSMTP = qtextSMTP / quoted-pairSMTP`
pub fn quoted_string(i: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize(delimited(
        tag("\""),
        many0(alt((take_while1(is_qtext), quoted_pair))),
        tag("\""),
    ))
    .parse(i)
}

/// `Local-part = Dot-string / Quoted-string`
pub fn local_part(i: &[u8]) -> IResult<&[u8], &[u8]> {
    alt((dot_string, quoted_string)).parse(i)
}

/// `sub-domain = Let-dig [Ldh-str]` (a label may not end with `-`).
pub fn sub_domain(i: &[u8]) -> IResult<&[u8], &[u8]> {
    verify(take_while1(is_ldh), |label: &[u8]| {
        label.first() != Some(&b'-') && label.last() != Some(&b'-') && label.len() <= 255
    })
    .parse(i)
}

/// `Domain = sub-domain *("." sub-domain)`
pub fn domain(i: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize(separated_list1(tag("."), sub_domain)).parse(i)
}

/// `address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
/// General-address-literal ) "]"` (RFC 5321 §4.1.3). The IP forms are checked
/// with the standard library's parsers.
pub fn address_literal(i: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize(delimited(
        tag("["),
        verify(take_while1(is_dcontent), |inner: &[u8]| {
            let Ok(inner) = std::str::from_utf8(inner) else {
                return false;
            };
            if let Some(v6) = inner.get(..5).filter(|p| p.eq_ignore_ascii_case("IPv6:")) {
                return inner
                    .get(v6.len()..)
                    .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok());
            }
            match inner.split_once(':') {
                // General-address-literal = Standardized-tag ":" 1*dcontent
                Some((tag, rest)) => {
                    !tag.is_empty()
                        && !rest.is_empty()
                        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                }
                None => inner.parse::<std::net::Ipv4Addr>().is_ok(),
            }
        }),
        tag("]"),
    ))
    .parse(i)
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )`
pub fn mailbox(i: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize((local_part, tag("@"), alt((domain, address_literal)))).parse(i)
}

/// `A-d-l = At-domain *( "," At-domain )`; `At-domain = "@" Domain`
fn a_d_l(i: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize(separated_list1(tag(","), (tag("@"), domain))).parse(i)
}

/// `Path = "<" [ A-d-l ":" ] Mailbox ">"`; returns the mailbox only (the
/// source route is ignored, RFC 5321 §4.1.1.3 / appendix C).
pub fn path(i: &[u8]) -> IResult<&[u8], &[u8]> {
    delimited(
        tag("<"),
        map((opt((a_d_l, tag(":"))), mailbox), |(_, m)| m),
        tag(">"),
    )
    .parse(i)
}

/// `Reverse-path = Path / "<>"`; `None` is the null reverse path.
pub fn reverse_path(i: &[u8]) -> IResult<&[u8], Option<&[u8]>> {
    alt((map(tag("<>"), |_| None), map(path, Some))).parse(i)
}

/// `Forward-path = Path`, plus `"<Postmaster>"` (RFC 5321 §4.1.1.3, case-insensitive).
pub fn forward_path(i: &[u8]) -> IResult<&[u8], &[u8]> {
    alt((
        path,
        delimited(tag("<"), tag_no_case("postmaster"), tag(">")),
    ))
    .parse(i)
}

/// `String = Atom / Quoted-string` (VRFY, EXPN arguments).
pub fn string(i: &[u8]) -> IResult<&[u8], &[u8]> {
    alt((atom, quoted_string)).parse(i)
}

/// Whether a whole string is an RFC 5321 `Mailbox` (UTF-8 allowed).
pub fn is_mailbox(s: &str) -> bool {
    matches!(mailbox(s.as_bytes()), Ok((rest, _)) if rest.is_empty())
}

/// Whether a whole string is an RFC 5321 `Domain` or `address-literal`.
pub fn is_domain(s: &str) -> bool {
    matches!(alt((domain, address_literal)).parse(s.as_bytes()), Ok((rest, _)) if rest.is_empty())
}

/// Skips `SP` (and tabs, which sloppy clients send) and reports how many.
pub(crate) fn spaces(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while(|b| b == b' ' || b == b'\t').parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_known_answers() {
        // (input, remainder after the mailbox, or None for an error)
        let table: &[(&str, Option<&str>)] = &[
            ("user@example.org", Some("")),
            ("first.last@sub.example.org>", Some(">")),
            ("\"quoted local\"@example.org", Some("")),
            ("\"a\\\"b\"@example.org", Some("")),
            ("user@[192.0.2.1]", Some("")),
            ("user@[IPv6:2001:db8::1]", Some("")),
            ("user@[tag:anything]", Some("")),
            ("用户@例子.广告", Some("")),
            ("a+b=c@x-y.example", Some("")),
            ("user@[300.0.0.1]", None),
            ("user@[IPv6:zz]", None),
            ("user@-bad.example", None),
            ("user@bad-.example", None),
            (".user@example.org", None),
            ("user.@example.org", None),
            ("user@", None),
            ("@example.org", None),
            ("\"unterminated@example.org", None),
        ];
        for (input, want) in table {
            let got = mailbox(input.as_bytes())
                .ok()
                .map(|(rest, _)| std::str::from_utf8(rest).unwrap());
            assert_eq!(got, *want, "{input}");
        }
    }

    #[test]
    fn path_known_answers() {
        assert_eq!(path(b"<a@b.c>"), Ok((&b""[..], &b"a@b.c"[..])));
        assert_eq!(
            path(b"<@relay.example,@r2.example:a@b.c> X"),
            Ok((&b" X"[..], &b"a@b.c"[..]))
        );
        assert!(path(b"<a@b.c").is_err());
        assert!(path(b"a@b.c").is_err());
        assert_eq!(reverse_path(b"<>"), Ok((&b""[..], None)));
        assert_eq!(reverse_path(b"<x@y>"), Ok((&b""[..], Some(&b"x@y"[..]))));
        assert_eq!(
            forward_path(b"<Postmaster>"),
            Ok((&b""[..], &b"Postmaster"[..]))
        );
        assert_eq!(
            forward_path(b"<postmaster@x.y>"),
            Ok((&b""[..], &b"postmaster@x.y"[..]))
        );
        assert!(forward_path(b"<>").is_err());
        assert!(forward_path(b"<user>").is_err());
    }

    #[test]
    fn whole_string_checks() {
        assert!(is_mailbox("a@b"));
        assert!(!is_mailbox("a@b c"));
        assert!(is_domain("mx.example.org"));
        assert!(is_domain("[127.0.0.1]"));
        assert!(!is_domain("exa mple"));
    }
}
