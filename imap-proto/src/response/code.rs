//! Response codes: `resp-text-code` (RFC 9051 §7.1; RFC 4315 UIDPLUS;
//! RFC 5530; RFC 7162; RFC 7888 TOOBIG; RFC 5182 NOTSAVED).

use crate::command::Charset;
use crate::core::{PResult, fail, mod_sequence_value, nz_number, paren_list1, sp, sp_list1};
use crate::encode::{Encode, Encoder};
use crate::types::{
    Atom, Capability, FlagPerm, ObjectId, SequenceSet, atom, capability, flag_perm, objectid,
    sequence_set,
};
use nom::Parser;
use std::num::NonZeroU32;

/// `resp-text-code`
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Code {
    /// `ALERT`
    Alert,
    /// `BADCHARSET [(charset ...)]`
    BadCharset(Vec<Charset>),
    /// `CAPABILITY ...`
    Capability(Vec<Capability>),
    /// `PARSE`
    Parse,
    /// `PERMANENTFLAGS (...)`
    PermanentFlags(Vec<FlagPerm>),
    /// `READ-ONLY`
    ReadOnly,
    /// `READ-WRITE`
    ReadWrite,
    /// `TRYCREATE`
    TryCreate,
    /// `UIDNEXT n`
    UidNext(NonZeroU32),
    /// `UIDVALIDITY n`
    UidValidity(NonZeroU32),
    /// `UNSEEN n` (IMAP4rev1)
    Unseen(NonZeroU32),
    /// `APPENDUID uidvalidity uid-set` (RFC 4315)
    AppendUid {
        /// UIDVALIDITY of the target.
        uid_validity: NonZeroU32,
        /// Assigned UIDs.
        uids: SequenceSet,
    },
    /// `COPYUID uidvalidity source-set dest-set` (RFC 4315)
    CopyUid {
        /// UIDVALIDITY of the target.
        uid_validity: NonZeroU32,
        /// Source UIDs.
        source: SequenceSet,
        /// Destination UIDs.
        destination: SequenceSet,
    },
    /// `HIGHESTMODSEQ n` (RFC 7162)
    HighestModSeq(u64),
    /// `MODIFIED set` (RFC 7162)
    Modified(SequenceSet),
    /// `BADEVENT (event ...)` (RFC 5465 §8): the events the server
    /// supports, after a NOTIFY naming others.
    BadEvent(Vec<Atom>),
    /// `NOUPDATE "tag"` (RFC 5267 §4.3.1): the server will not keep the
    /// result of the searching command with this tag up to date.
    NoUpdate(crate::types::Quoted),
    /// `MAILBOXID (objectid)` (RFC 8474 §4.1)
    MailboxId(ObjectId),
    /// A code without arguments from the table in [`Code::unit_name`].
    Unit(UnitCode),
    /// Any other code: `atom [SP 1*<any TEXT-CHAR except "]">]`.
    Other {
        /// Name.
        name: Atom,
        /// Argument text.
        text: Option<String>,
    },
}

/// Response codes without arguments (RFC 9051 §7.1, RFC 5530, RFC 4315,
/// RFC 7162, RFC 7888, RFC 5182).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnitCode {
    /// `UIDNOTSTICKY`
    UidNotSticky,
    /// `CLOSED`
    Closed,
    /// `NOMODSEQ`
    NoModSeq,
    /// `NOTSAVED`
    NotSaved,
    /// `NOTIFICATIONOVERFLOW` (RFC 5465 §5.8)
    NotificationOverflow,
    /// `HASCHILDREN`
    HasChildren,
    /// `TOOBIG`
    TooBig,
    /// `UNAVAILABLE`
    Unavailable,
    /// `AUTHENTICATIONFAILED`
    AuthenticationFailed,
    /// `AUTHORIZATIONFAILED`
    AuthorizationFailed,
    /// `EXPIRED`
    Expired,
    /// `PRIVACYREQUIRED`
    PrivacyRequired,
    /// `CONTACTADMIN`
    ContactAdmin,
    /// `NOPERM`
    NoPerm,
    /// `INUSE`
    InUse,
    /// `EXPUNGEISSUED`
    ExpungeIssued,
    /// `CORRUPTION`
    Corruption,
    /// `SERVERBUG`
    ServerBug,
    /// `CLIENTBUG`
    ClientBug,
    /// `CANNOT`
    Cannot,
    /// `LIMIT`
    Limit,
    /// `OVERQUOTA`
    OverQuota,
    /// `ALREADYEXISTS`
    AlreadyExists,
    /// `NONEXISTENT`
    NonExistent,
    /// `COMPRESSIONACTIVE` (RFC 4978 §3)
    CompressionActive,
}

const UNITS: &[(&str, UnitCode)] = &[
    ("UIDNOTSTICKY", UnitCode::UidNotSticky),
    ("CLOSED", UnitCode::Closed),
    ("NOMODSEQ", UnitCode::NoModSeq),
    ("NOTSAVED", UnitCode::NotSaved),
    ("NOTIFICATIONOVERFLOW", UnitCode::NotificationOverflow),
    ("HASCHILDREN", UnitCode::HasChildren),
    ("TOOBIG", UnitCode::TooBig),
    ("UNAVAILABLE", UnitCode::Unavailable),
    ("AUTHENTICATIONFAILED", UnitCode::AuthenticationFailed),
    ("AUTHORIZATIONFAILED", UnitCode::AuthorizationFailed),
    ("EXPIRED", UnitCode::Expired),
    ("PRIVACYREQUIRED", UnitCode::PrivacyRequired),
    ("CONTACTADMIN", UnitCode::ContactAdmin),
    ("NOPERM", UnitCode::NoPerm),
    ("INUSE", UnitCode::InUse),
    ("EXPUNGEISSUED", UnitCode::ExpungeIssued),
    ("CORRUPTION", UnitCode::Corruption),
    ("SERVERBUG", UnitCode::ServerBug),
    ("CLIENTBUG", UnitCode::ClientBug),
    ("CANNOT", UnitCode::Cannot),
    ("LIMIT", UnitCode::Limit),
    ("OVERQUOTA", UnitCode::OverQuota),
    ("ALREADYEXISTS", UnitCode::AlreadyExists),
    ("NONEXISTENT", UnitCode::NonExistent),
    ("COMPRESSIONACTIVE", UnitCode::CompressionActive),
];

impl Code {
    /// The wire name of a unit code.
    pub fn unit_name(c: UnitCode) -> &'static str {
        UNITS
            .iter()
            .find(|(_, u)| *u == c)
            .map(|(n, _)| *n)
            .unwrap_or_default()
    }
}

impl Encode for Code {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            Code::Alert => enc.put(b"ALERT"),
            Code::Parse => enc.put(b"PARSE"),
            Code::ReadOnly => enc.put(b"READ-ONLY"),
            Code::ReadWrite => enc.put(b"READ-WRITE"),
            Code::TryCreate => enc.put(b"TRYCREATE"),
            Code::BadCharset(v) => {
                enc.put(b"BADCHARSET");
                if !v.is_empty() {
                    enc.put(b" ");
                    crate::encode::paren(enc, v);
                }
            }
            Code::Capability(v) => {
                enc.put(b"CAPABILITY ");
                crate::encode::sp_sep(enc, v);
            }
            Code::PermanentFlags(v) => {
                enc.put(b"PERMANENTFLAGS ");
                crate::encode::paren(enc, v);
            }
            Code::UidNext(n) => {
                enc.put(b"UIDNEXT ");
                enc.put_num(n);
            }
            Code::UidValidity(n) => {
                enc.put(b"UIDVALIDITY ");
                enc.put_num(n);
            }
            Code::Unseen(n) => {
                enc.put(b"UNSEEN ");
                enc.put_num(n);
            }
            Code::AppendUid { uid_validity, uids } => {
                enc.put(b"APPENDUID ");
                enc.put_num(uid_validity);
                enc.put(b" ");
                uids.encode(enc);
            }
            Code::CopyUid {
                uid_validity,
                source,
                destination,
            } => {
                enc.put(b"COPYUID ");
                enc.put_num(uid_validity);
                enc.put(b" ");
                source.encode(enc);
                enc.put(b" ");
                destination.encode(enc);
            }
            Code::HighestModSeq(n) => {
                enc.put(b"HIGHESTMODSEQ ");
                enc.put_num(n);
            }
            Code::Modified(s) => {
                enc.put(b"MODIFIED ");
                s.encode(enc);
            }
            Code::BadEvent(v) => {
                enc.put(b"BADEVENT ");
                crate::encode::paren(enc, v);
            }
            Code::NoUpdate(t) => {
                enc.put(b"NOUPDATE ");
                t.encode(enc);
            }
            Code::MailboxId(id) => {
                enc.put(b"MAILBOXID (");
                id.encode(enc);
                enc.put(b")");
            }
            Code::Unit(u) => enc.put_str(Code::unit_name(*u)),
            Code::Other { name, text } => {
                name.encode(enc);
                if let Some(t) = text {
                    enc.put(b" ");
                    enc.put_str(t);
                }
            }
        }
    }
}

/// `resp-text-code = "ALERT" / "BADCHARSET" [SP "(" charset *(SP charset) ")"] /
///  capability-data / "PARSE" / "PERMANENTFLAGS" SP "(" [flag-perm *(SP flag-perm)] ")" /
///  "READ-ONLY" / "READ-WRITE" / "TRYCREATE" / "UIDNEXT" SP nz-number /
///  "UIDVALIDITY" SP nz-number / "UNSEEN" SP nz-number / resp-code-apnd / resp-code-copy /
///  "UIDNOTSTICKY" / "CLOSED" / "HIGHESTMODSEQ" SP mod-sequence-value / "NOMODSEQ" /
///  "MODIFIED" SP sequence-set / ... / atom [SP 1*<any TEXT-CHAR except "]">]`
pub(crate) fn resp_text_code(i: &[u8]) -> PResult<'_, Code> {
    let (r, name) = atom(i)?;
    let n = name.as_str().to_ascii_uppercase();
    let unit = match n.as_str() {
        "ALERT" => Some(Code::Alert),
        "PARSE" => Some(Code::Parse),
        "READ-ONLY" => Some(Code::ReadOnly),
        "READ-WRITE" => Some(Code::ReadWrite),
        "TRYCREATE" => Some(Code::TryCreate),
        _ => UNITS
            .iter()
            .find(|(u, _)| *u == n)
            .map(|(_, c)| Code::Unit(*c)),
    };
    if let Some(c) = unit
        && r.starts_with(b"]")
    {
        return Ok((r, c));
    }
    let parsed: Option<PResult<'_, Code>> =
        match n.as_str() {
            "BADCHARSET" => Some(match r.strip_prefix(b" ") {
                Some(r2) => paren_list1(crate::command::search_charset)(r2)
                    .map(|(r, v)| (r, Code::BadCharset(v))),
                None => Ok((r, Code::BadCharset(Vec::new()))),
            }),
            "CAPABILITY" => Some(
                (sp, sp_list1(capability))
                    .parse(r)
                    .map(|(r, (_, v))| (r, Code::Capability(v))),
            ),
            "PERMANENTFLAGS" => Some(
                (sp, crate::core::paren_list0(flag_perm))
                    .parse(r)
                    .map(|(r, (_, v))| (r, Code::PermanentFlags(v))),
            ),
            "UIDNEXT" => Some(
                (sp, nz_number)
                    .parse(r)
                    .map(|(r, (_, n))| (r, Code::UidNext(n))),
            ),
            "UIDVALIDITY" => Some(
                (sp, nz_number)
                    .parse(r)
                    .map(|(r, (_, n))| (r, Code::UidValidity(n))),
            ),
            "UNSEEN" => Some(
                (sp, nz_number)
                    .parse(r)
                    .map(|(r, (_, n))| (r, Code::Unseen(n))),
            ),
            "APPENDUID" => Some((sp, nz_number, sp, sequence_set).parse(r).map(
                |(r, (_, uid_validity, _, uids))| (r, Code::AppendUid { uid_validity, uids }),
            )),
            "COPYUID" => Some(
                (sp, nz_number, sp, sequence_set, sp, sequence_set)
                    .parse(r)
                    .map(|(r, (_, uid_validity, _, source, _, destination))| {
                        (
                            r,
                            Code::CopyUid {
                                uid_validity,
                                source,
                                destination,
                            },
                        )
                    }),
            ),
            "HIGHESTMODSEQ" => Some(
                (sp, mod_sequence_value)
                    .parse(r)
                    .map(|(r, (_, n))| (r, Code::HighestModSeq(n))),
            ),
            "MODIFIED" => Some(
                (sp, sequence_set)
                    .parse(r)
                    .map(|(r, (_, s))| (r, Code::Modified(s))),
            ),
            // unsupported-events-code = "BADEVENT" SP "(" event *(SP event) ")"
            // (RFC 5465 §8; events are atoms)
            "BADEVENT" => Some(
                (sp, paren_list1(atom))
                    .parse(r)
                    .map(|(r, (_, v))| (r, Code::BadEvent(v))),
            ),
            // resp-text-code =/ "NOUPDATE" SP quoted (RFC 5267 §5)
            "NOUPDATE" => Some(
                (sp, crate::types::quoted)
                    .parse(r)
                    .map(|(r, (_, t))| (r, Code::NoUpdate(t))),
            ),
            // RFC 8474 §7: `"MAILBOXID" SP "(" objectid ")"`.
            "MAILBOXID" => Some(
                (
                    sp,
                    nom::bytes::complete::tag(&b"("[..]),
                    objectid,
                    nom::bytes::complete::tag(&b")"[..]),
                )
                    .parse(r)
                    .map(|(r, (_, _, id, _))| (r, Code::MailboxId(id))),
            ),
            _ => None,
        };
    if let Some(Ok((r2, c))) = parsed
        && r2.starts_with(b"]")
    {
        return Ok((r2, c));
    }
    // Anything else (or a known name with unexpected arguments) is kept as text.
    let (r, text) = match r.strip_prefix(b" ") {
        Some(r2) => {
            let end = r2
                .iter()
                .position(|b| matches!(b, b']' | b'\r' | b'\n' | 0))
                .unwrap_or(r2.len());
            if end == 0 {
                return Err(fail(i));
            }
            let t = std::str::from_utf8(&r2[..end]).map_err(|_| fail(i))?;
            (&r2[end..], Some(t.to_owned()))
        }
        None => (r, None),
    };
    Ok((r, Code::Other { name, text }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Version;

    fn rt(input: &[u8]) -> Code {
        let (r, c) = resp_text_code(input).unwrap();
        assert_eq!(r, b"]");
        assert_eq!(
            String::from_utf8_lossy(&c.to_bytes(Version::Rev1)),
            String::from_utf8_lossy(&input[..input.len() - 1])
        );
        c
    }

    #[test]
    fn known_answers() {
        assert_eq!(rt(b"ALERT]"), Code::Alert);
        assert_eq!(
            rt(b"UIDVALIDITY 3857529045]"),
            Code::UidValidity(NonZeroU32::new(3857529045).unwrap())
        );
        assert_eq!(rt(b"NONEXISTENT]"), Code::Unit(UnitCode::NonExistent));
        rt(b"PERMANENTFLAGS (\\Deleted \\Seen \\*)]");
        rt(b"APPENDUID 38505 3955]");
        rt(b"COPYUID 38505 304,319:320 3956:3958]");
        rt(b"HIGHESTMODSEQ 715194045007]");
        rt(b"MODIFIED 7,9]");
        rt(b"CAPABILITY IMAP4rev2 AUTH=PLAIN]");
        rt(b"BADCHARSET (UTF-8 \"ISO-8859-1\")]");
        rt(b"MAILBOXID (F2212ea87-6097-4256-9d51-71338625)]");
        rt(b"BADCHARSET]");
        assert_eq!(
            rt(b"X-FOO some thing]"),
            Code::Other {
                name: Atom::try_from("X-FOO").unwrap(),
                text: Some("some thing".into())
            }
        );
        // A known name with malformed arguments falls back to Other.
        assert!(matches!(rt(b"UIDNEXT x]"), Code::Other { .. }));
    }
}
