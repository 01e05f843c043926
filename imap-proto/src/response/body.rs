//! ENVELOPE and BODY/BODYSTRUCTURE (RFC 9051 §7.5.2, §9).

use crate::core::{PResult, fail, nil, number, number64, sp, too_deep};
use crate::encode::{Encode, Encoder};
use crate::types::{IString, NString, nstring, string};
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::combinator::map;

/// `address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"`
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Address {
    /// Display name.
    pub name: NString,
    /// Source route (obsolete).
    pub adl: NString,
    /// Local part, or group name / NIL for group syntax (RFC 9051 §7.5.2).
    pub mailbox: NString,
    /// Domain, or NIL for group syntax.
    pub host: NString,
}

/// `envelope` (RFC 9051 §7.5.2): the parsed header fields of a message.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Envelope {
    /// `Date:`
    pub date: NString,
    /// `Subject:`
    pub subject: NString,
    /// `From:` (empty: NIL)
    pub from: Vec<Address>,
    /// `Sender:`
    pub sender: Vec<Address>,
    /// `Reply-To:`
    pub reply_to: Vec<Address>,
    /// `To:`
    pub to: Vec<Address>,
    /// `Cc:`
    pub cc: Vec<Address>,
    /// `Bcc:`
    pub bcc: Vec<Address>,
    /// `In-Reply-To:`
    pub in_reply_to: NString,
    /// `Message-ID:`
    pub message_id: NString,
}

impl Encode for Address {
    fn encode(&self, enc: &mut Encoder) {
        enc.put(b"(");
        self.name.encode(enc);
        enc.put(b" ");
        self.adl.encode(enc);
        enc.put(b" ");
        self.mailbox.encode(enc);
        enc.put(b" ");
        self.host.encode(enc);
        enc.put(b")");
    }
}

fn encode_addresses(enc: &mut Encoder, a: &[Address]) {
    if a.is_empty() {
        enc.put(b"NIL");
        return;
    }
    enc.put(b"(");
    for x in a {
        x.encode(enc);
    }
    enc.put(b")");
}

impl Encode for Envelope {
    fn encode(&self, enc: &mut Encoder) {
        enc.put(b"(");
        self.date.encode(enc);
        enc.put(b" ");
        self.subject.encode(enc);
        for list in [
            &self.from,
            &self.sender,
            &self.reply_to,
            &self.to,
            &self.cc,
            &self.bcc,
        ] {
            enc.put(b" ");
            encode_addresses(enc, list);
        }
        enc.put(b" ");
        self.in_reply_to.encode(enc);
        enc.put(b" ");
        self.message_id.encode(enc);
        enc.put(b")");
    }
}

/// `address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"`
fn address(i: &[u8]) -> PResult<'_, Address> {
    let (r, (_, name, _, adl, _, mailbox, _, host, _)) = (
        tag(&b"("[..]),
        nstring,
        sp,
        nstring,
        sp,
        nstring,
        sp,
        nstring,
        tag(&b")"[..]),
    )
        .parse(i)?;
    Ok((
        r,
        Address {
            name,
            adl,
            mailbox,
            host,
        },
    ))
}

/// `env-from = "(" 1*address ")" / nil` (and the other address lists)
fn address_list(i: &[u8]) -> PResult<'_, Vec<Address>> {
    if let Ok((r, _)) = nil(i) {
        return Ok((r, Vec::new()));
    }
    let (mut r, _) = tag(&b"("[..]).parse(i)?;
    let mut v = Vec::new();
    loop {
        if let Some(rest) = r.strip_prefix(b")") {
            if v.is_empty() {
                return Err(fail(i));
            }
            return Ok((rest, v));
        }
        // Some servers put SP between addresses; accept it, write none.
        let r2 = r.strip_prefix(b" ").unwrap_or(r);
        let (rest, a) = address(r2)?;
        v.push(a);
        r = rest;
    }
}

/// `envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"`
pub(crate) fn envelope(i: &[u8]) -> PResult<'_, Envelope> {
    let (r, _) = tag(&b"("[..]).parse(i)?;
    let (r, date) = nstring(r)?;
    let (r, _) = sp(r)?;
    let (r, subject) = nstring(r)?;
    let mut lists: [Vec<Address>; 6] = Default::default();
    let mut r = r;
    for l in lists.iter_mut() {
        let (x, _) = sp(r)?;
        let (x, v) = address_list(x)?;
        *l = v;
        r = x;
    }
    let (r, _) = sp(r)?;
    let (r, in_reply_to) = nstring(r)?;
    let (r, _) = sp(r)?;
    let (r, message_id) = nstring(r)?;
    let (r, _) = tag(&b")"[..]).parse(r)?;
    let [from, sender, reply_to, to, cc, bcc] = lists;
    Ok((
        r,
        Envelope {
            date,
            subject,
            from,
            sender,
            reply_to,
            to,
            cc,
            bcc,
            in_reply_to,
            message_id,
        },
    ))
}

/// `body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyFields {
    /// `body-fld-param` (empty: NIL).
    pub parameters: Vec<(IString, IString)>,
    /// `Content-ID`
    pub id: NString,
    /// `Content-Description`
    pub description: NString,
    /// `Content-Transfer-Encoding`
    pub encoding: IString,
    /// Size in octets.
    pub octets: u32,
}

/// What follows the fields, by media type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodySpecific {
    /// `body-type-basic`
    Basic,
    /// `body-type-text`: line count.
    Text {
        /// `body-fld-lines`
        lines: u64,
    },
    /// `body-type-msg`: MESSAGE/RFC822 or MESSAGE/GLOBAL.
    Message {
        /// The encapsulated message's envelope.
        envelope: Box<Envelope>,
        /// Its body structure.
        body: Box<BodyStructure>,
        /// `body-fld-lines`
        lines: u64,
    },
}

/// A non-multipart body: `body-type-basic / body-type-msg / body-type-text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    /// Media type (`"TEXT"`, `"IMAGE"`, ...), as sent.
    pub media_type: IString,
    /// Media subtype.
    pub media_subtype: IString,
    /// Common fields.
    pub fields: BodyFields,
    /// Type-specific data; the parser picks it from the media type.
    pub specific: BodySpecific,
}

/// `body-extension = nstring / number / number64 / "(" body-extension *(SP body-extension) ")"`
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyExtension {
    /// `nstring`
    NString(NString),
    /// `number / number64`
    Number(u64),
    /// A parenthesised list.
    List(Vec<BodyExtension>),
}

/// `body-fld-lang = nstring / "(" string *(SP string) ")"`
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Language {
    /// One language or NIL.
    Single(NString),
    /// A list.
    List(Vec<IString>),
}

/// `body-fld-loc *(SP body-extension)`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationTail {
    /// `body-fld-loc`
    pub location: NString,
    /// Future extensions.
    pub extensions: Vec<BodyExtension>,
}

/// `body-fld-lang [SP body-fld-loc *(SP body-extension)]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LanguageTail {
    /// `body-fld-lang`
    pub language: Language,
    /// What follows.
    pub location: Option<LocationTail>,
}

/// `body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispositionTail {
    /// `body-fld-dsp = "(" string SP body-fld-param ")" / nil`
    pub disposition: Option<(IString, Vec<(IString, IString)>)>,
    /// What follows.
    pub language: Option<LanguageTail>,
}

/// `body-ext-1part = body-fld-md5 [SP body-fld-dsp [...]]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinglePartExtension {
    /// `body-fld-md5`
    pub md5: NString,
    /// What follows.
    pub tail: Option<DispositionTail>,
}

/// `body-ext-mpart = body-fld-param [SP body-fld-dsp [...]]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiPartExtension {
    /// `body-fld-param` (empty: NIL).
    pub parameters: Vec<(IString, IString)>,
    /// What follows.
    pub tail: Option<DispositionTail>,
}

/// `body = "(" (body-type-1part / body-type-mpart) ")"`
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyStructure {
    /// `body-type-1part`
    Single {
        /// The part.
        body: Body,
        /// Extension data (BODYSTRUCTURE only).
        extension: Option<SinglePartExtension>,
    },
    /// `body-type-mpart`
    Multi {
        /// The parts (at least one).
        bodies: Vec<BodyStructure>,
        /// Multipart subtype.
        subtype: IString,
        /// Extension data (BODYSTRUCTURE only).
        extension: Option<MultiPartExtension>,
    },
}

fn encode_params(enc: &mut Encoder, p: &[(IString, IString)]) {
    if p.is_empty() {
        enc.put(b"NIL");
        return;
    }
    enc.put(b"(");
    for (n, (k, v)) in p.iter().enumerate() {
        if n > 0 {
            enc.put(b" ");
        }
        k.encode(enc);
        enc.put(b" ");
        v.encode(enc);
    }
    enc.put(b")");
}

impl Encode for BodyExtension {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            BodyExtension::NString(s) => s.encode(enc),
            BodyExtension::Number(n) => enc.put_num(n),
            BodyExtension::List(v) => crate::encode::paren(enc, v),
        }
    }
}

impl Encode for DispositionTail {
    fn encode(&self, enc: &mut Encoder) {
        match &self.disposition {
            None => enc.put(b"NIL"),
            Some((d, p)) => {
                enc.put(b"(");
                d.encode(enc);
                enc.put(b" ");
                encode_params(enc, p);
                enc.put(b")");
            }
        }
        if let Some(l) = &self.language {
            enc.put(b" ");
            match &l.language {
                Language::Single(s) => s.encode(enc),
                Language::List(v) => crate::encode::paren(enc, v),
            }
            if let Some(loc) = &l.location {
                enc.put(b" ");
                loc.location.encode(enc);
                for e in &loc.extensions {
                    enc.put(b" ");
                    e.encode(enc);
                }
            }
        }
    }
}

impl Encode for BodyStructure {
    fn encode(&self, enc: &mut Encoder) {
        enc.put(b"(");
        match self {
            BodyStructure::Single { body, extension } => {
                body.media_type.encode(enc);
                enc.put(b" ");
                body.media_subtype.encode(enc);
                enc.put(b" ");
                let f = &body.fields;
                encode_params(enc, &f.parameters);
                enc.put(b" ");
                f.id.encode(enc);
                enc.put(b" ");
                f.description.encode(enc);
                enc.put(b" ");
                f.encoding.encode(enc);
                enc.put(b" ");
                enc.put_num(f.octets);
                match &body.specific {
                    BodySpecific::Basic => {}
                    BodySpecific::Text { lines } => {
                        enc.put(b" ");
                        enc.put_num(lines);
                    }
                    BodySpecific::Message {
                        envelope,
                        body,
                        lines,
                    } => {
                        enc.put(b" ");
                        envelope.encode(enc);
                        enc.put(b" ");
                        body.encode(enc);
                        enc.put(b" ");
                        enc.put_num(lines);
                    }
                }
                if let Some(ext) = extension {
                    enc.put(b" ");
                    ext.md5.encode(enc);
                    if let Some(t) = &ext.tail {
                        enc.put(b" ");
                        t.encode(enc);
                    }
                }
            }
            BodyStructure::Multi {
                bodies,
                subtype,
                extension,
            } => {
                for b in bodies {
                    b.encode(enc);
                }
                enc.put(b" ");
                subtype.encode(enc);
                if let Some(ext) = extension {
                    enc.put(b" ");
                    encode_params(enc, &ext.parameters);
                    if let Some(t) = &ext.tail {
                        enc.put(b" ");
                        t.encode(enc);
                    }
                }
            }
        }
        enc.put(b")");
    }
}

/// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`
fn body_fld_param(i: &[u8]) -> PResult<'_, Vec<(IString, IString)>> {
    if let Ok((r, _)) = nil(i) {
        return Ok((r, Vec::new()));
    }
    crate::core::paren_list1(map((string, sp, string), |(k, _, v)| (k, v)))(i)
}

/// `body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets`
fn body_fields(i: &[u8]) -> PResult<'_, BodyFields> {
    let (r, (parameters, _, id, _, description, _, encoding, _, octets)) = (
        body_fld_param,
        sp,
        nstring,
        sp,
        nstring,
        sp,
        string,
        sp,
        number,
    )
        .parse(i)?;
    Ok((
        r,
        BodyFields {
            parameters,
            id,
            description,
            encoding,
            octets,
        },
    ))
}

/// `body-extension = nstring / number / number64 / "(" body-extension *(SP body-extension) ")"`
fn body_extension(i: &[u8], depth: usize) -> PResult<'_, BodyExtension> {
    if i.starts_with(b"(") {
        if depth == 0 {
            return Err(too_deep(i));
        }
        return map(
            crate::core::paren_list1(|x| body_extension(x, depth - 1)),
            BodyExtension::List,
        )
        .parse(i);
    }
    alt((
        map(number64, BodyExtension::Number),
        map(nstring, BodyExtension::NString),
    ))
    .parse(i)
}

/// `body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]`
fn disposition_tail(i: &[u8], depth: usize) -> PResult<'_, DispositionTail> {
    let (r, disposition) = alt((
        map(nil, |_| None),
        map(
            (tag(&b"("[..]), string, sp, body_fld_param, tag(&b")"[..])),
            |(_, d, _, p, _)| Some((d, p)),
        ),
    ))
    .parse(i)?;
    let Ok((r2, _)) = sp(r) else {
        return Ok((
            r,
            DispositionTail {
                disposition,
                language: None,
            },
        ));
    };
    let (r, language) = alt((
        map(nstring, Language::Single),
        map(crate::core::paren_list1(string), Language::List),
    ))
    .parse(r2)?;
    let Ok((r2, _)) = sp(r) else {
        return Ok((
            r,
            DispositionTail {
                disposition,
                language: Some(LanguageTail {
                    language,
                    location: None,
                }),
            },
        ));
    };
    let (mut r, location) = nstring(r2)?;
    let mut extensions = Vec::new();
    while let Ok((r2, _)) = sp(r) {
        let (r3, e) = body_extension(r2, depth)?;
        extensions.push(e);
        r = r3;
    }
    Ok((
        r,
        DispositionTail {
            disposition,
            language: Some(LanguageTail {
                language,
                location: Some(LocationTail {
                    location,
                    extensions,
                }),
            }),
        },
    ))
}

/// `body = "(" (body-type-1part / body-type-mpart) ")"`
pub(crate) fn body(i: &[u8], depth: usize) -> PResult<'_, BodyStructure> {
    if depth == 0 {
        return Err(too_deep(i));
    }
    let (r, _) = tag(&b"("[..]).parse(i)?;
    let (r, b) = if r.starts_with(b"(") {
        body_type_mpart(r, depth)?
    } else {
        body_type_1part(r, depth)?
    };
    let (r, _) = tag(&b")"[..]).parse(r)?;
    Ok((r, b))
}

/// `body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]`
fn body_type_mpart(i: &[u8], depth: usize) -> PResult<'_, BodyStructure> {
    let mut bodies = Vec::new();
    let mut r = i;
    while r.starts_with(b"(") {
        let (r2, b) = body(r, depth - 1)?;
        bodies.push(b);
        // Tolerate SP between parts, as some servers send it.
        r = match r2.strip_prefix(b" (") {
            Some(_) => &r2[1..],
            None => r2,
        };
    }
    let (r, _) = sp(r)?;
    let (r, subtype) = string(r)?;
    let Ok((r2, _)) = sp(r) else {
        return Ok((
            r,
            BodyStructure::Multi {
                bodies,
                subtype,
                extension: None,
            },
        ));
    };
    let (r, parameters) = body_fld_param(r2)?;
    let (r, tail) = match sp(r) {
        Ok((r2, _)) => {
            let (r3, t) = disposition_tail(r2, depth)?;
            (r3, Some(t))
        }
        Err(_) => (r, None),
    };
    Ok((
        r,
        BodyStructure::Multi {
            bodies,
            subtype,
            extension: Some(MultiPartExtension { parameters, tail }),
        },
    ))
}

/// `body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]`
fn body_type_1part(i: &[u8], depth: usize) -> PResult<'_, BodyStructure> {
    let (r, (media_type, _, media_subtype, _, fields)) =
        (string, sp, string, sp, body_fields).parse(i)?;
    let is = |s: &IString, v: &str| s.as_bytes().eq_ignore_ascii_case(v.as_bytes());
    let (r, specific) = if is(&media_type, "TEXT") {
        let (r, (_, lines)) = (sp, number64).parse(r)?;
        (r, BodySpecific::Text { lines })
    } else if is(&media_type, "MESSAGE")
        && (is(&media_subtype, "RFC822") || is(&media_subtype, "GLOBAL"))
    {
        let (r, (_, envelope, _, b, _, lines)) =
            (sp, envelope, sp, |x| body(x, depth - 1), sp, number64).parse(r)?;
        (
            r,
            BodySpecific::Message {
                envelope: Box::new(envelope),
                body: Box::new(b),
                lines,
            },
        )
    } else {
        (r, BodySpecific::Basic)
    };
    let body = Body {
        media_type,
        media_subtype,
        fields,
        specific,
    };
    let Ok((r2, _)) = sp(r) else {
        return Ok((
            r,
            BodyStructure::Single {
                body,
                extension: None,
            },
        ));
    };
    let (r, md5) = nstring(r2)?;
    let (r, tail) = match sp(r) {
        Ok((r2, _)) => {
            let (r3, t) = disposition_tail(r2, depth)?;
            (r3, Some(t))
        }
        Err(_) => (r, None),
    };
    Ok((
        r,
        BodyStructure::Single {
            body,
            extension: Some(SinglePartExtension { md5, tail }),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Version;

    fn rt_body(input: &[u8]) -> BodyStructure {
        let (r, b) = body(input, 16).unwrap();
        assert_eq!(r, b"");
        assert_eq!(
            String::from_utf8_lossy(&b.to_bytes(Version::Rev1)),
            String::from_utf8_lossy(input)
        );
        b
    }

    #[test]
    fn rfc3501_bodystructure() {
        // RFC 3501 §7.4.2 example.
        let b = rt_body(b"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\")");
        let BodyStructure::Multi { bodies, .. } = b else {
            panic!()
        };
        assert_eq!(bodies.len(), 2);
    }

    #[test]
    fn extension_data() {
        // Dovecot-style BODYSTRUCTURE with full extension data.
        rt_body(b"((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 301 10 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"a.pdf\") NIL NIL \"base64\" 41330 NIL (\"attachment\" (\"filename\" \"a.pdf\")) NIL NIL) \"mixed\" (\"boundary\" \"XyZ\") NIL (\"en\" \"de\") \"loc\" 5 (1 \"x\" (NIL)))");
        // message/rfc822 nesting.
        rt_body(b"(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 342 (NIL \"hi\" ((\"A\" NIL \"a\" \"x.org\")) NIL NIL NIL NIL NIL NIL \"<id@x>\") (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1) 12)");
        // Gmail-style single part with extension data.
        rt_body(b"(\"TEXT\" \"HTML\" (\"CHARSET\" \"UTF-8\") NIL NIL \"QUOTED-PRINTABLE\" 2185 47 NIL NIL NIL)");
    }

    #[test]
    fn depth_limit() {
        let mut deep = Vec::new();
        for _ in 0..40 {
            deep.extend_from_slice(b"(");
        }
        assert!(matches!(body(&deep, 16), Err(nom::Err::Failure(_))));
    }

    #[test]
    fn envelope_known_answer() {
        let input = b"(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\")";
        let (r, e) = envelope(input).unwrap();
        assert_eq!(r, b"");
        assert_eq!(e.cc.len(), 2);
        assert_eq!(e.cc[1].mailbox.as_bytes(), Some(&b"KLENSIN"[..]));
        assert_eq!(e.bcc, vec![]);
        assert_eq!(e.to_bytes(Version::Rev1), input.to_vec());
    }
}
