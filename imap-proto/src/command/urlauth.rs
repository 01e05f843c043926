//! URLAUTH (RFC 4467 §9): GENURLAUTH, RESETKEY and URLFETCH.

use super::CommandBody;
use crate::core::PResult;
use crate::encode::{Encode, Encoder};
use crate::types::{AString, Atom, Mailbox, astring, atom, mailbox};
use nom::Parser;
use nom::combinator::{map, opt};
use nom::multi::many1;

use crate::core::sp;

/// `genurlauth = "GENURLAUTH" 1*(SP url-rump SP mechanism)`;
/// `url-rump = astring`; `mechanism = "INTERNAL" / 1*(ALPHA / DIGIT / "-" / ".")`
/// (after the command name and its space).
pub(super) fn genurlauth(i: &[u8]) -> PResult<'_, CommandBody> {
    let (r, first) = (astring, sp, atom).parse(i)?;
    let (r, more) = opt(many1(map((sp, astring, sp, atom), |(_, u, _, m)| (u, m)))).parse(r)?;
    let mut urls = vec![(first.0, first.2)];
    urls.extend(more.unwrap_or_default());
    Ok((r, CommandBody::GenUrlAuth { urls }))
}

/// `resetkey = "RESETKEY" [SP mailbox *(SP mechanism)]`, after the name:
/// `rest` starts with the space, if any.
pub(super) fn resetkey(i: &[u8]) -> PResult<'_, CommandBody> {
    let (r, args) = opt(map(
        (sp, mailbox, opt(many1(map((sp, atom), |(_, m)| m)))),
        |(_, m, mechs)| (m, mechs.unwrap_or_default()),
    ))
    .parse(i)?;
    let (mailbox, mechanisms) = match args {
        Some((m, v)) => (Some(m), v),
        None => (None, Vec::new()),
    };
    Ok((
        r,
        CommandBody::ResetKey {
            mailbox,
            mechanisms,
        },
    ))
}

/// `urlfetch = "URLFETCH" 1*(SP url-full)`; `url-full = astring`
/// (after the command name and its space).
pub(super) fn urlfetch(i: &[u8]) -> PResult<'_, CommandBody> {
    let (r, first) = astring(i)?;
    let (r, more) = opt(many1(map((sp, astring), |(_, u)| u))).parse(r)?;
    let mut urls = vec![first];
    urls.extend(more.unwrap_or_default());
    Ok((r, CommandBody::UrlFetch { urls }))
}

/// Writes the three commands.
pub(super) fn encode_genurlauth(enc: &mut Encoder, urls: &[(AString, Atom)]) {
    enc.put(b"GENURLAUTH");
    for (u, m) in urls {
        enc.put(b" ");
        u.encode(enc);
        enc.put(b" ");
        m.encode(enc);
    }
}

/// `RESETKEY [mailbox *(SP mechanism)]`.
pub(super) fn encode_resetkey(enc: &mut Encoder, mailbox: &Option<Mailbox>, mechs: &[Atom]) {
    enc.put(b"RESETKEY");
    if let Some(m) = mailbox {
        enc.put(b" ");
        m.encode(enc);
        for mech in mechs {
            enc.put(b" ");
            mech.encode(enc);
        }
    }
}

/// `URLFETCH 1*(SP url-full)`.
pub(super) fn encode_urlfetch(enc: &mut Encoder, urls: &[AString]) {
    enc.put(b"URLFETCH");
    for u in urls {
        enc.put(b" ");
        u.encode(enc);
    }
}

#[cfg(test)]
mod tests {
    use crate::{Command, Encode, Version};

    #[test]
    fn rfc_4467_commands_round_trip() {
        for line in [
            "a GENURLAUTH \"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred\" INTERNAL\r\n",
            "a GENURLAUTH \"imap://a/INBOX/;uid=1;urlauth=anonymous\" INTERNAL \"imap://a/INBOX/;uid=2;urlauth=authuser\" INTERNAL\r\n",
            "a URLFETCH \"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=anonymous:internal:91354a473744909de610943775f92038\"\r\n",
            "a URLFETCH \"imap://a/INBOX/;uid=1;urlauth=anonymous:internal:91354a473744909de610943775f92038\" \"imap://a/INBOX/;uid=2;urlauth=anonymous:internal:91354a473744909de610943775f92038\"\r\n",
            "a RESETKEY\r\n",
            "a RESETKEY INBOX\r\n",
            "a RESETKEY INBOX INTERNAL\r\n",
        ] {
            let c = Command::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e:?}"));
            assert_eq!(String::from_utf8(c.to_bytes(Version::Rev1)).unwrap(), line);
        }
        for bad in [
            &b"a GENURLAUTH\r\n"[..],
            b"a GENURLAUTH \"imap://a/INBOX/;uid=1;urlauth=anonymous\"\r\n",
            b"a URLFETCH\r\n",
            b"a RESETKEY \r\n",
        ] {
            assert!(
                Command::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
