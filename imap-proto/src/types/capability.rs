//! `capability = ("AUTH=" auth-type) / atom` (RFC 9051 §9), with the
//! capabilities this crate implements named.

use super::{Atom, atom};
use crate::core::PResult;
use crate::encode::{Encode, Encoder};

/// A capability name. Known names are matched case-insensitively and
/// written in their RFC spelling; others are kept as sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// `IMAP4rev1`
    Imap4Rev1,
    /// `IMAP4rev2`
    Imap4Rev2,
    /// `STARTTLS`
    StartTls,
    /// `LOGINDISABLED`
    LoginDisabled,
    /// `AUTH=<mechanism>`
    Auth(Atom),
    /// `LITERAL+` (RFC 7888)
    LiteralPlus,
    /// `LITERAL-` (RFC 7888)
    LiteralMinus,
    /// `IDLE` (RFC 2177)
    Idle,
    /// `UIDPLUS` (RFC 4315)
    UidPlus,
    /// `MOVE` (RFC 6851)
    Move,
    /// `ENABLE` (RFC 5161)
    Enable,
    /// `NAMESPACE` (RFC 2342)
    Namespace,
    /// `SPECIAL-USE` (RFC 6154)
    SpecialUse,
    /// `CREATE-SPECIAL-USE` (RFC 6154)
    CreateSpecialUse,
    /// `UNSELECT` (RFC 3691)
    Unselect,
    /// `ID` (RFC 2971)
    Id,
    /// `CHILDREN` (RFC 3348)
    Children,
    /// `LIST-EXTENDED` (RFC 5258)
    ListExtended,
    /// `LIST-STATUS` (RFC 5819)
    ListStatus,
    /// `ESEARCH` (RFC 4731)
    ESearch,
    /// `SASL-IR` (RFC 4959)
    SaslIr,
    /// `APPENDLIMIT` or `APPENDLIMIT=<n>` (RFC 7889)
    AppendLimit(Option<u32>),
    /// `STATUS=SIZE` (RFC 8438)
    StatusSize,
    /// `BINARY` (RFC 3516)
    Binary,
    /// `CONDSTORE` (RFC 7162)
    CondStore,
    /// `QRESYNC` (RFC 7162)
    QResync,
    /// `SORT` (RFC 5256)
    Sort,
    /// `THREAD=ORDEREDSUBJECT` (RFC 5256)
    ThreadOrderedSubject,
    /// `THREAD=REFERENCES` (RFC 5256)
    ThreadReferences,
    /// `QUOTA` (RFC 9208)
    Quota,
    /// `QUOTA=RES-STORAGE` (RFC 9208)
    QuotaResStorage,
    /// `QUOTA=RES-MESSAGE` (RFC 9208)
    QuotaResMessage,
    /// `SEARCHRES` (RFC 5182)
    SearchRes,
    /// `ESORT` (RFC 5267 §3)
    ESort,
    /// `CONTEXT=SEARCH` (RFC 5267 §4)
    ContextSearch,
    /// `CONTEXT=SORT` (RFC 5267 §4)
    ContextSort,
    /// `PARTIAL` (RFC 9394)
    Partial,
    /// `NOTIFY` (RFC 5465)
    Notify,
    /// `UTF8=ACCEPT` (RFC 6855)
    Utf8Accept,
    /// `OBJECTID` (RFC 8474)
    ObjectId,
    /// `SAVEDATE` (RFC 8514)
    SaveDate,
    /// `COMPRESS=DEFLATE` (RFC 4978)
    CompressDeflate,
    /// `URLAUTH` (RFC 4467)
    UrlAuth,
    /// `MULTIAPPEND` (RFC 3502)
    MultiAppend,
    /// `CATENATE` (RFC 4469)
    Catenate,
    /// Any other capability atom.
    Other(Atom),
}

const NAMED: &[(&str, Capability)] = &[
    ("IMAP4rev1", Capability::Imap4Rev1),
    ("IMAP4rev2", Capability::Imap4Rev2),
    ("STARTTLS", Capability::StartTls),
    ("LOGINDISABLED", Capability::LoginDisabled),
    ("LITERAL+", Capability::LiteralPlus),
    ("LITERAL-", Capability::LiteralMinus),
    ("IDLE", Capability::Idle),
    ("UIDPLUS", Capability::UidPlus),
    ("MOVE", Capability::Move),
    ("ENABLE", Capability::Enable),
    ("NAMESPACE", Capability::Namespace),
    ("SPECIAL-USE", Capability::SpecialUse),
    ("CREATE-SPECIAL-USE", Capability::CreateSpecialUse),
    ("UNSELECT", Capability::Unselect),
    ("ID", Capability::Id),
    ("CHILDREN", Capability::Children),
    ("LIST-EXTENDED", Capability::ListExtended),
    ("LIST-STATUS", Capability::ListStatus),
    ("ESEARCH", Capability::ESearch),
    ("SASL-IR", Capability::SaslIr),
    ("APPENDLIMIT", Capability::AppendLimit(None)),
    ("STATUS=SIZE", Capability::StatusSize),
    ("BINARY", Capability::Binary),
    ("CONDSTORE", Capability::CondStore),
    ("QRESYNC", Capability::QResync),
    ("SORT", Capability::Sort),
    ("THREAD=ORDEREDSUBJECT", Capability::ThreadOrderedSubject),
    ("THREAD=REFERENCES", Capability::ThreadReferences),
    ("QUOTA", Capability::Quota),
    ("QUOTA=RES-STORAGE", Capability::QuotaResStorage),
    ("QUOTA=RES-MESSAGE", Capability::QuotaResMessage),
    ("SEARCHRES", Capability::SearchRes),
    ("ESORT", Capability::ESort),
    ("CONTEXT=SEARCH", Capability::ContextSearch),
    ("CONTEXT=SORT", Capability::ContextSort),
    ("PARTIAL", Capability::Partial),
    ("NOTIFY", Capability::Notify),
    ("UTF8=ACCEPT", Capability::Utf8Accept),
    ("OBJECTID", Capability::ObjectId),
    ("SAVEDATE", Capability::SaveDate),
    ("COMPRESS=DEFLATE", Capability::CompressDeflate),
    ("URLAUTH", Capability::UrlAuth),
    ("MULTIAPPEND", Capability::MultiAppend),
    ("CATENATE", Capability::Catenate),
];

impl Capability {
    /// Interprets a capability atom.
    pub fn from_atom(a: Atom) -> Self {
        let s = a.as_str();
        if let Some((_, c)) = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
            return c.clone();
        }
        if s.len() > 5
            && s[..5].eq_ignore_ascii_case("AUTH=")
            && let Ok(m) = Atom::try_from(&s[5..])
        {
            return Capability::Auth(m);
        }
        if s.len() > 12
            && s[..12].eq_ignore_ascii_case("APPENDLIMIT=")
            && let Ok(n) = s[12..].parse::<u32>()
            && n.to_string() == s[12..]
        {
            return Capability::AppendLimit(Some(n));
        }
        Capability::Other(a)
    }
}

impl Encode for Capability {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            Capability::Auth(m) => {
                enc.put(b"AUTH=");
                m.encode(enc);
            }
            Capability::AppendLimit(Some(n)) => {
                enc.put(b"APPENDLIMIT=");
                enc.put_num(n);
            }
            Capability::Other(a) => a.encode(enc),
            known => {
                let name = NAMED.iter().find(|(_, c)| c == known).map(|(n, _)| *n);
                enc.put_str(name.unwrap_or_default());
            }
        }
    }
}

/// `capability = ("AUTH=" auth-type) / atom`
pub(crate) fn capability(i: &[u8]) -> PResult<'_, Capability> {
    let (rest, a) = atom(i)?;
    Ok((rest, Capability::from_atom(a)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Version;

    #[test]
    fn known_answers() {
        let cases: &[(&[u8], Capability)] = &[
            (b"IMAP4rev2", Capability::Imap4Rev2),
            (b"imap4REV1", Capability::Imap4Rev1),
            (
                b"AUTH=PLAIN",
                Capability::Auth(Atom::try_from("PLAIN").unwrap()),
            ),
            (b"LITERAL-", Capability::LiteralMinus),
            (
                b"APPENDLIMIT=35651584",
                Capability::AppendLimit(Some(35651584)),
            ),
            (
                b"XLIST",
                Capability::Other(Atom::try_from("XLIST").unwrap()),
            ),
        ];
        for (input, val) in cases {
            assert_eq!(capability(input), Ok((&b""[..], val.clone())));
        }
        assert_eq!(
            Capability::StatusSize.to_bytes(Version::Rev1),
            b"STATUS=SIZE".to_vec()
        );
        assert_eq!(
            Capability::Auth(Atom::try_from("XOAUTH2").unwrap()).to_bytes(Version::Rev1),
            b"AUTH=XOAUTH2".to_vec()
        );
    }
}
