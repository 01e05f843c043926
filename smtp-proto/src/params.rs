//! MAIL FROM and RCPT TO parameters (`Mail-parameters`, `Rcpt-parameters`,
//! RFC 5321 §4.1.2) of the extensions this crate implements.

use bytes::BytesMut;

use crate::ParseError;

/// `BODY=` of RFC 6152 (8BITMIME) and RFC 3030 (BINARYMIME).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyType {
    /// `BODY=7BIT`
    SevenBit,
    /// `BODY=8BITMIME` (RFC 6152)
    EightBitMime,
    /// `BODY=BINARYMIME` (RFC 3030 §3); this server does not advertise it.
    BinaryMime,
}

impl BodyType {
    /// The keyword as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyType::SevenBit => "7BIT",
            BodyType::EightBitMime => "8BITMIME",
            BodyType::BinaryMime => "BINARYMIME",
        }
    }
}

/// `RET=` of RFC 3461 §4.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// `RET=FULL`: return the whole message in a DSN.
    Full,
    /// `RET=HDRS`: return only the headers.
    Hdrs,
}

/// One value of `NOTIFY=` (RFC 3461 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// `NEVER` (only ever alone).
    Never,
    /// `SUCCESS`
    Success,
    /// `FAILURE`
    Failure,
    /// `DELAY`
    Delay,
}

impl Notify {
    /// The keyword as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Notify::Never => "NEVER",
            Notify::Success => "SUCCESS",
            Notify::Failure => "FAILURE",
            Notify::Delay => "DELAY",
        }
    }
}

/// The parameters of `MAIL FROM:<reverse-path> [SP Mail-parameters]`.
///
/// `envid` and `auth` are kept as the client sent them (RFC 3461 `xtext`);
/// decode them with [`xtext_decode`] where the decoded value is needed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailParams {
    /// `SIZE=` (RFC 1870): the client's estimate of the message size.
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152, RFC 3030).
    pub body: Option<BodyType>,
    /// `SMTPUTF8` (RFC 6531 §3.4).
    pub smtputf8: bool,
    /// `RET=` (RFC 3461 §4.3).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461 §4.4), xtext as sent.
    pub envid: Option<String>,
    /// `AUTH=` (RFC 4954 §5), xtext as sent (`<>` allowed).
    pub auth: Option<String>,
}

/// The parameters of `RCPT TO:<forward-path> [SP Rcpt-parameters]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RcptParams {
    /// `NOTIFY=` (RFC 3461 §4.1).
    pub notify: Option<Vec<Notify>>,
    /// `ORCPT=addr-type;xtext` (RFC 3461 §4.2), as sent.
    pub orcpt: Option<String>,
}

/// Splits `esmtp-param *(SP esmtp-param)` into keyword and optional value.
///
/// `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`,
/// `esmtp-value = 1*(%d33-60 / %d62-126)` (RFC 5321 §4.1.2), widened to
/// UTF-8 by RFC 6531 §3.3. Runs of spaces are accepted, as Postfix does.
fn esmtp_params(text: &str) -> impl Iterator<Item = Result<(&str, Option<&str>), ParseError>> {
    text.split([' ', '\t'])
        .filter(|p| !p.is_empty())
        .map(|param| {
            let (keyword, value) = match param.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (param, None),
            };
            let keyword_ok = keyword
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric())
                && keyword
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-');
            let value_ok = value.is_none_or(|v| {
                !v.is_empty()
                    && v.bytes()
                        .all(|b| matches!(b, 33..=60 | 62..=126) || b >= 0x80)
            });
            if keyword_ok && value_ok {
                Ok((keyword, value))
            } else {
                Err(ParseError::InvalidParameter(param.to_owned()))
            }
        })
}

/// `xtext = *( xchar / hexchar )` (RFC 3461 §4): printable ASCII except `+`
/// and `=`, with `+XX` escapes.
fn is_xtext(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => {
                let hex = |j: usize| {
                    b.get(j)
                        .is_some_and(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(h))
                };
                if !(hex(i + 1) && hex(i + 2)) {
                    return false;
                }
                i += 3;
            }
            33..=126 if c != b'=' => i += 1,
            _ => return false,
        }
    }
    true
}

/// Decodes RFC 3461 `xtext` (`+2B` → `+`); `None` if malformed.
pub fn xtext_decode(v: &str) -> Option<String> {
    if !is_xtext(v) {
        return None;
    }
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'+' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Encodes a string as RFC 3461 `xtext`.
pub fn xtext_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

fn invalid(keyword: &str, value: Option<&str>) -> ParseError {
    match value {
        Some(v) => ParseError::InvalidParameter(format!("{keyword}={v}")),
        None => ParseError::InvalidParameter(keyword.to_owned()),
    }
}

/// Sets `slot` once; a repeated parameter is an error.
fn set_once<T>(slot: &mut Option<T>, value: T, keyword: &str) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(ParseError::InvalidParameter(keyword.to_owned()));
    }
    *slot = Some(value);
    Ok(())
}

impl MailParams {
    /// Parses `Mail-parameters` (the text after the reverse path).
    pub fn parse(text: &str) -> Result<MailParams, ParseError> {
        let mut params = MailParams::default();
        for param in esmtp_params(text) {
            let (keyword, value) = param?;
            let upper = keyword.to_ascii_uppercase();
            match (upper.as_str(), value) {
                // size-value = 1*20DIGIT (RFC 1870 §3)
                ("SIZE", Some(v)) if v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()) => {
                    let size = v.parse().map_err(|_| invalid(keyword, value))?;
                    set_once(&mut params.size, size, keyword)?;
                }
                ("BODY", Some(v)) => {
                    let body = match v.to_ascii_uppercase().as_str() {
                        "7BIT" => BodyType::SevenBit,
                        "8BITMIME" => BodyType::EightBitMime,
                        "BINARYMIME" => BodyType::BinaryMime,
                        _ => return Err(invalid(keyword, value)),
                    };
                    set_once(&mut params.body, body, keyword)?;
                }
                ("SMTPUTF8", None) => {
                    if params.smtputf8 {
                        return Err(invalid(keyword, value));
                    }
                    params.smtputf8 = true;
                }
                ("RET", Some(v)) => {
                    let ret = match v.to_ascii_uppercase().as_str() {
                        "FULL" => Ret::Full,
                        "HDRS" => Ret::Hdrs,
                        _ => return Err(invalid(keyword, value)),
                    };
                    set_once(&mut params.ret, ret, keyword)?;
                }
                // RFC 3461 §4.4: at most 100 characters of xtext.
                ("ENVID", Some(v)) if v.len() <= 100 && is_xtext(v) => {
                    set_once(&mut params.envid, v.to_owned(), keyword)?;
                }
                ("AUTH", Some(v)) if v == "<>" || is_xtext(v) => {
                    set_once(&mut params.auth, v.to_owned(), keyword)?;
                }
                ("SIZE" | "BODY" | "SMTPUTF8" | "RET" | "ENVID" | "AUTH", _) => {
                    return Err(invalid(keyword, value));
                }
                _ => return Err(ParseError::UnknownParameter(keyword.to_owned())),
            }
        }
        Ok(params)
    }

    /// Appends ` KEY=value` for every parameter that is set, in a fixed order.
    pub fn encode(&self, out: &mut BytesMut) {
        if let Some(size) = self.size {
            out.extend_from_slice(format!(" SIZE={size}").as_bytes());
        }
        if let Some(body) = self.body {
            out.extend_from_slice(b" BODY=");
            out.extend_from_slice(body.as_str().as_bytes());
        }
        if self.smtputf8 {
            out.extend_from_slice(b" SMTPUTF8");
        }
        if let Some(ret) = self.ret {
            out.extend_from_slice(if ret == Ret::Full {
                b" RET=FULL"
            } else {
                b" RET=HDRS"
            });
        }
        if let Some(envid) = &self.envid {
            out.extend_from_slice(b" ENVID=");
            out.extend_from_slice(envid.as_bytes());
        }
        if let Some(auth) = &self.auth {
            out.extend_from_slice(b" AUTH=");
            out.extend_from_slice(auth.as_bytes());
        }
    }
}

impl RcptParams {
    /// Parses `Rcpt-parameters` (the text after the forward path).
    pub fn parse(text: &str) -> Result<RcptParams, ParseError> {
        let mut params = RcptParams::default();
        for param in esmtp_params(text) {
            let (keyword, value) = param?;
            let upper = keyword.to_ascii_uppercase();
            match (upper.as_str(), value) {
                // notify-esmtp-value = "NEVER" / 1#notify-list-element
                ("NOTIFY", Some(v)) => {
                    let mut list = Vec::new();
                    for item in v.split(',') {
                        let n = match item.to_ascii_uppercase().as_str() {
                            "NEVER" => Notify::Never,
                            "SUCCESS" => Notify::Success,
                            "FAILURE" => Notify::Failure,
                            "DELAY" => Notify::Delay,
                            _ => return Err(invalid(keyword, value)),
                        };
                        if list.contains(&n) {
                            return Err(invalid(keyword, value));
                        }
                        list.push(n);
                    }
                    if list.len() > 1 && list.contains(&Notify::Never) {
                        return Err(invalid(keyword, value));
                    }
                    set_once(&mut params.notify, list, keyword)?;
                }
                // orcpt-parameter = "ORCPT=" addr-type ";" xtext (RFC 3461 §4.2)
                ("ORCPT", Some(v)) => {
                    let ok = v.split_once(';').is_some_and(|(addr_type, addr)| {
                        !addr_type.is_empty()
                            && addr_type
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                            && is_xtext(addr)
                    });
                    if !ok || v.len() > 500 {
                        return Err(invalid(keyword, value));
                    }
                    set_once(&mut params.orcpt, v.to_owned(), keyword)?;
                }
                ("NOTIFY" | "ORCPT", None) => return Err(invalid(keyword, value)),
                _ => return Err(ParseError::UnknownParameter(keyword.to_owned())),
            }
        }
        Ok(params)
    }

    /// Appends ` KEY=value` for every parameter that is set.
    pub fn encode(&self, out: &mut BytesMut) {
        if let Some(notify) = &self.notify {
            out.extend_from_slice(b" NOTIFY=");
            let list: Vec<&str> = notify.iter().map(|n| n.as_str()).collect();
            out.extend_from_slice(list.join(",").as_bytes());
        }
        if let Some(orcpt) = &self.orcpt {
            out.extend_from_slice(b" ORCPT=");
            out.extend_from_slice(orcpt.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_params_known_answers() {
        let p =
            MailParams::parse(" SIZE=1000  body=8bitmime SMTPUTF8 RET=HDRS ENVID=QQ314159 AUTH=<>")
                .unwrap();
        assert_eq!(
            p,
            MailParams {
                size: Some(1000),
                body: Some(BodyType::EightBitMime),
                smtputf8: true,
                ret: Some(Ret::Hdrs),
                envid: Some("QQ314159".into()),
                auth: Some("<>".into()),
            }
        );
        assert_eq!(MailParams::parse(""), Ok(MailParams::default()));
        assert_eq!(
            MailParams::parse("FOO=bar"),
            Err(ParseError::UnknownParameter("FOO".into()))
        );
        assert_eq!(
            MailParams::parse("SIZE=abc"),
            Err(ParseError::InvalidParameter("SIZE=abc".into()))
        );
        assert_eq!(
            MailParams::parse("SIZE=1 SIZE=2"),
            Err(ParseError::InvalidParameter("SIZE".into()))
        );
        assert_eq!(
            MailParams::parse("SIZE=999999999999999999999"),
            Err(ParseError::InvalidParameter(
                "SIZE=999999999999999999999".into()
            ))
        );
        assert_eq!(
            MailParams::parse("BODY=9BIT"),
            Err(ParseError::InvalidParameter("BODY=9BIT".into()))
        );
        assert_eq!(
            MailParams::parse("SMTPUTF8=yes"),
            Err(ParseError::InvalidParameter("SMTPUTF8=yes".into()))
        );
        assert_eq!(
            MailParams::parse("ENVID=a=b"),
            Err(ParseError::InvalidParameter("ENVID=a=b".into()))
        );
        assert_eq!(
            MailParams::parse("ENVID=a+zz"),
            Err(ParseError::InvalidParameter("ENVID=a+zz".into()))
        );
        assert_eq!(
            MailParams::parse("-X=1"),
            Err(ParseError::InvalidParameter("-X=1".into()))
        );
    }

    #[test]
    fn rcpt_params_known_answers() {
        let p = RcptParams::parse("NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+40example.org").unwrap();
        assert_eq!(p.notify, Some(vec![Notify::Success, Notify::Failure]));
        assert_eq!(p.orcpt.as_deref(), Some("rfc822;Bob+40example.org"));
        assert_eq!(
            RcptParams::parse("NOTIFY=never").unwrap().notify,
            Some(vec![Notify::Never])
        );
        assert!(RcptParams::parse("NOTIFY=NEVER,DELAY").is_err());
        assert!(RcptParams::parse("NOTIFY=DELAY,DELAY").is_err());
        assert!(RcptParams::parse("ORCPT=noseparator").is_err());
        assert_eq!(
            RcptParams::parse("X-FOO"),
            Err(ParseError::UnknownParameter("X-FOO".into()))
        );
    }

    #[test]
    fn xtext_known_answers() {
        assert_eq!(
            xtext_decode("Bob+40example.org").as_deref(),
            Some("Bob@example.org")
        );
        assert_eq!(xtext_decode("a+2Bb+3Dc").as_deref(), Some("a+b=c"));
        assert_eq!(xtext_decode("a+2b"), None);
        assert_eq!(xtext_decode("a b"), None);
        assert_eq!(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d");
    }
}
