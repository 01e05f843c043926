//! SEARCH keys (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 7162 §3.1.5 MODSEQ,
//! RFC 8474 §6 EMAILID/THREADID, RFC 8514 §5 SAVED*).

use crate::core::{
    PResult, fail, keyword, mod_sequence_valzer, number64, paren_list1, sp, too_deep,
};
use crate::encode::{Encode, Encoder};
use crate::types::{
    AString, Atom, Date, Flag, ObjectId, Quoted, SequenceSet, astring, atom, date, flag, objectid,
    quoted, sequence_set,
};
use nom::Parser;
use nom::branch::alt;
use nom::combinator::map;

/// `charset = atom / quoted`
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Charset {
    /// `atom`, e.g. `UTF-8`.
    Atom(Atom),
    /// `quoted`
    Quoted(Quoted),
}

impl Encode for Charset {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            Charset::Atom(a) => a.encode(enc),
            Charset::Quoted(q) => q.encode(enc),
        }
    }
}

/// `charset = atom / quoted`
pub(crate) fn charset(i: &[u8]) -> PResult<'_, Charset> {
    alt((map(atom, Charset::Atom), map(quoted, Charset::Quoted))).parse(i)
}

/// `entry-type-req = entry-type-resp / "all"` (RFC 7162 §7)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryType {
    /// `priv`
    Private,
    /// `shared`
    Shared,
    /// `all`
    All,
}

/// `search-key` (RFC 9051 §9; RFC 3501 adds NEW, OLD, RECENT, UNKEYWORD forms)
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SearchKey {
    /// `ALL`
    All,
    /// `ANSWERED`
    Answered,
    /// `BCC astring`
    Bcc(AString),
    /// `BEFORE date`
    Before(Date),
    /// `BODY astring`
    Body(AString),
    /// `CC astring`
    Cc(AString),
    /// `DELETED`
    Deleted,
    /// `DRAFT`
    Draft,
    /// `FLAGGED`
    Flagged,
    /// `FROM astring`
    From(AString),
    /// `HEADER field value`
    Header(AString, AString),
    /// `KEYWORD flag-keyword`
    Keyword(Atom),
    /// `LARGER n`
    Larger(u64),
    /// `NEW` (IMAP4rev1)
    New,
    /// `NOT key`
    Not(Box<SearchKey>),
    /// `OLD` (IMAP4rev1)
    Old,
    /// `ON date`
    On(Date),
    /// `OR key key`
    Or(Box<SearchKey>, Box<SearchKey>),
    /// `RECENT` (IMAP4rev1)
    Recent,
    /// `SEEN`
    Seen,
    /// `SENTBEFORE date`
    SentBefore(Date),
    /// `SENTON date`
    SentOn(Date),
    /// `SENTSINCE date`
    SentSince(Date),
    /// `SINCE date`
    Since(Date),
    /// `SMALLER n`
    Smaller(u64),
    /// `SUBJECT astring`
    Subject(AString),
    /// `TEXT astring`
    Text(AString),
    /// `TO astring`
    To(AString),
    /// `UID sequence-set`
    Uid(SequenceSet),
    /// `UNANSWERED`
    Unanswered,
    /// `UNDELETED`
    Undeleted,
    /// `UNDRAFT`
    Undraft,
    /// `UNFLAGGED`
    Unflagged,
    /// `UNKEYWORD flag-keyword`
    Unkeyword(Atom),
    /// `UNSEEN`
    Unseen,
    /// A bare sequence set.
    SequenceSet(SequenceSet),
    /// `"(" search-key *(SP search-key) ")"`
    And(Vec<SearchKey>),
    /// `MODSEQ [entry-name entry-type] modseq` (RFC 7162 §3.1.5);
    /// the entry name is `"/flags/<flag>"`.
    ModSeq {
        /// The flag whose metadata item is meant, and its type.
        entry: Option<(Flag, EntryType)>,
        /// The mod-sequence.
        mod_seq: u64,
    },
    /// `EMAILID objectid` (RFC 8474 §6)
    EmailId(ObjectId),
    /// `THREADID objectid` (RFC 8474 §6)
    ThreadId(ObjectId),
    /// `SAVEDBEFORE date` (RFC 8514 §5)
    SavedBefore(Date),
    /// `SAVEDON date` (RFC 8514 §5)
    SavedOn(Date),
    /// `SAVEDSINCE date` (RFC 8514 §5)
    SavedSince(Date),
    /// `SAVEDATESUPPORTED` (RFC 8514 §5): every message, when the mailbox
    /// keeps save dates.
    SaveDateSupported,
}

const UNIT: &[(&str, SearchKey)] = &[
    ("ALL", SearchKey::All),
    ("ANSWERED", SearchKey::Answered),
    ("DELETED", SearchKey::Deleted),
    ("DRAFT", SearchKey::Draft),
    ("FLAGGED", SearchKey::Flagged),
    ("NEW", SearchKey::New),
    ("OLD", SearchKey::Old),
    ("RECENT", SearchKey::Recent),
    ("SEEN", SearchKey::Seen),
    ("UNANSWERED", SearchKey::Unanswered),
    ("UNDELETED", SearchKey::Undeleted),
    ("UNDRAFT", SearchKey::Undraft),
    ("UNFLAGGED", SearchKey::Unflagged),
    ("UNSEEN", SearchKey::Unseen),
    ("SAVEDATESUPPORTED", SearchKey::SaveDateSupported),
];

impl Encode for SearchKey {
    fn encode(&self, enc: &mut Encoder) {
        let s = |enc: &mut Encoder, name: &[u8], v: &AString| {
            enc.put(name);
            enc.put(b" ");
            v.encode(enc);
        };
        let d = |enc: &mut Encoder, name: &[u8], v: &Date| {
            enc.put(name);
            enc.put(b" ");
            v.encode(enc);
        };
        match self {
            SearchKey::Bcc(v) => s(enc, b"BCC", v),
            SearchKey::Body(v) => s(enc, b"BODY", v),
            SearchKey::Cc(v) => s(enc, b"CC", v),
            SearchKey::From(v) => s(enc, b"FROM", v),
            SearchKey::Subject(v) => s(enc, b"SUBJECT", v),
            SearchKey::Text(v) => s(enc, b"TEXT", v),
            SearchKey::To(v) => s(enc, b"TO", v),
            SearchKey::Before(v) => d(enc, b"BEFORE", v),
            SearchKey::On(v) => d(enc, b"ON", v),
            SearchKey::SentBefore(v) => d(enc, b"SENTBEFORE", v),
            SearchKey::SentOn(v) => d(enc, b"SENTON", v),
            SearchKey::SentSince(v) => d(enc, b"SENTSINCE", v),
            SearchKey::Since(v) => d(enc, b"SINCE", v),
            SearchKey::SavedBefore(v) => d(enc, b"SAVEDBEFORE", v),
            SearchKey::SavedOn(v) => d(enc, b"SAVEDON", v),
            SearchKey::SavedSince(v) => d(enc, b"SAVEDSINCE", v),
            SearchKey::EmailId(id) => {
                enc.put(b"EMAILID ");
                id.encode(enc);
            }
            SearchKey::ThreadId(id) => {
                enc.put(b"THREADID ");
                id.encode(enc);
            }
            SearchKey::Header(f, v) => {
                enc.put(b"HEADER ");
                f.encode(enc);
                enc.put(b" ");
                v.encode(enc);
            }
            SearchKey::Keyword(f) => {
                enc.put(b"KEYWORD ");
                f.encode(enc);
            }
            SearchKey::Unkeyword(f) => {
                enc.put(b"UNKEYWORD ");
                f.encode(enc);
            }
            SearchKey::Larger(n) => {
                enc.put(b"LARGER ");
                enc.put_num(n);
            }
            SearchKey::Smaller(n) => {
                enc.put(b"SMALLER ");
                enc.put_num(n);
            }
            SearchKey::Not(k) => {
                enc.put(b"NOT ");
                k.encode(enc);
            }
            SearchKey::Or(a, b) => {
                enc.put(b"OR ");
                a.encode(enc);
                enc.put(b" ");
                b.encode(enc);
            }
            SearchKey::Uid(set) => {
                enc.put(b"UID ");
                set.encode(enc);
            }
            SearchKey::SequenceSet(set) => set.encode(enc),
            SearchKey::And(keys) => crate::encode::paren(enc, keys),
            SearchKey::ModSeq { entry, mod_seq } => {
                enc.put(b"MODSEQ ");
                if let Some((f, t)) = entry {
                    let mut name = Encoder::new(enc.version());
                    f.encode(&mut name);
                    let name = name.finish().into_bytes();
                    enc.put(b"\"/flags/");
                    for b in name {
                        if b == b'\\' {
                            enc.put(b"\\");
                        }
                        enc.put(&[b]);
                    }
                    enc.put(b"\" ");
                    enc.put(match t {
                        EntryType::Private => b"priv ",
                        EntryType::Shared => b"shared ",
                        EntryType::All => b"all ",
                    });
                }
                enc.put_num(mod_seq);
            }
            unit => {
                let name = UNIT.iter().find(|(_, k)| k == unit).map(|(n, _)| *n);
                enc.put_str(name.unwrap_or_default());
            }
        }
    }
}

/// `entry-name = entry-flag-name`; `entry-flag-name = DQUOTE "/flags/" attr-flag DQUOTE`
fn modseq_entry(i: &[u8]) -> PResult<'_, (Flag, EntryType)> {
    let (r, q) = quoted(i)?;
    let name = q.as_str();
    let flag_name = name
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("/flags/"))
        .and_then(|_| name.get(7..))
        .ok_or_else(|| fail(i))?;
    let (rest, f) = flag(flag_name.as_bytes()).map_err(|_| fail(i))?;
    if !rest.is_empty() {
        return Err(fail(i));
    }
    let (r, _) = sp(r)?;
    let (r, t) = alt((
        map(keyword("priv"), |_| EntryType::Private),
        map(keyword("shared"), |_| EntryType::Shared),
        map(keyword("all"), |_| EntryType::All),
    ))
    .parse(r)?;
    let (r, _) = sp(r)?;
    Ok((r, (f, t)))
}

/// `search-key = "ALL" / "ANSWERED" / "BCC" SP astring / ... / "(" search-key *(SP search-key) ")"`
pub(crate) fn search_key(i: &[u8], depth: usize) -> PResult<'_, SearchKey> {
    if depth == 0 {
        return Err(too_deep(i));
    }
    if i.starts_with(b"(") {
        return map(paren_list1(|x| search_key(x, depth - 1)), SearchKey::And).parse(i);
    }
    if let Ok((r, set)) = sequence_set(i) {
        return Ok((r, SearchKey::SequenceSet(set)));
    }
    type Ctor = fn(AString) -> SearchKey;
    let strings: &[(&str, Ctor)] = &[
        ("BCC", SearchKey::Bcc),
        ("BODY", SearchKey::Body),
        ("CC", SearchKey::Cc),
        ("FROM", SearchKey::From),
        ("SUBJECT", SearchKey::Subject),
        ("TEXT", SearchKey::Text),
        ("TO", SearchKey::To),
    ];
    for (name, ctor) in strings {
        if let Ok((r, _)) = keyword(name)(i) {
            let (r, _) = sp(r)?;
            let (r, v) = astring(r)?;
            return Ok((r, ctor(v)));
        }
    }
    type DateCtor = fn(Date) -> SearchKey;
    let dates: &[(&str, DateCtor)] = &[
        ("BEFORE", SearchKey::Before),
        ("ON", SearchKey::On),
        ("SENTBEFORE", SearchKey::SentBefore),
        ("SENTON", SearchKey::SentOn),
        ("SENTSINCE", SearchKey::SentSince),
        ("SINCE", SearchKey::Since),
        ("SAVEDBEFORE", SearchKey::SavedBefore),
        ("SAVEDON", SearchKey::SavedOn),
        ("SAVEDSINCE", SearchKey::SavedSince),
    ];
    for (name, ctor) in dates {
        if let Ok((r, _)) = keyword(name)(i) {
            let (r, _) = sp(r)?;
            let (r, v) = date(r)?;
            return Ok((r, ctor(v)));
        }
    }
    for (name, key) in UNIT {
        if let Ok((r, _)) = keyword(name)(i) {
            return Ok((r, key.clone()));
        }
    }
    if let Ok((r, _)) = keyword("HEADER")(i) {
        let (r, (_, f, _, v)) = (sp, astring, sp, astring).parse(r)?;
        return Ok((r, SearchKey::Header(f, v)));
    }
    if let Ok((r, _)) = keyword("KEYWORD")(i) {
        let (r, (_, a)) = (sp, atom).parse(r)?;
        return Ok((r, SearchKey::Keyword(a)));
    }
    if let Ok((r, _)) = keyword("UNKEYWORD")(i) {
        let (r, (_, a)) = (sp, atom).parse(r)?;
        return Ok((r, SearchKey::Unkeyword(a)));
    }
    if let Ok((r, _)) = keyword("LARGER")(i) {
        let (r, (_, n)) = (sp, number64).parse(r)?;
        return Ok((r, SearchKey::Larger(n)));
    }
    if let Ok((r, _)) = keyword("SMALLER")(i) {
        let (r, (_, n)) = (sp, number64).parse(r)?;
        return Ok((r, SearchKey::Smaller(n)));
    }
    if let Ok((r, _)) = keyword("EMAILID")(i) {
        let (r, (_, id)) = (sp, objectid).parse(r)?;
        return Ok((r, SearchKey::EmailId(id)));
    }
    if let Ok((r, _)) = keyword("THREADID")(i) {
        let (r, (_, id)) = (sp, objectid).parse(r)?;
        return Ok((r, SearchKey::ThreadId(id)));
    }
    if let Ok((r, _)) = keyword("UID")(i) {
        let (r, (_, s)) = (sp, sequence_set).parse(r)?;
        return Ok((r, SearchKey::Uid(s)));
    }
    if let Ok((r, _)) = keyword("NOT")(i) {
        let (r, _) = sp(r)?;
        let (r, k) = search_key(r, depth - 1)?;
        return Ok((r, SearchKey::Not(Box::new(k))));
    }
    if let Ok((r, _)) = keyword("OR")(i) {
        let (r, _) = sp(r)?;
        let (r, a) = search_key(r, depth - 1)?;
        let (r, _) = sp(r)?;
        let (r, b) = search_key(r, depth - 1)?;
        return Ok((r, SearchKey::Or(Box::new(a), Box::new(b))));
    }
    if let Ok((r, _)) = keyword("MODSEQ")(i) {
        let (r, _) = sp(r)?;
        let (r, entry) = match modseq_entry(r) {
            Ok((r, e)) => (r, Some(e)),
            Err(_) => (r, None),
        };
        let (r, mod_seq) = mod_sequence_valzer(r)?;
        return Ok((r, SearchKey::ModSeq { entry, mod_seq }));
    }
    Err(fail(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Version;

    fn roundtrip(input: &[u8]) -> SearchKey {
        let (r, k) = search_key(input, 10).unwrap();
        assert_eq!(r, b"", "remainder for {:?}", String::from_utf8_lossy(input));
        assert_eq!(k.to_bytes(Version::Rev1), input.to_vec());
        k
    }

    #[test]
    fn known_answers() {
        assert_eq!(roundtrip(b"FLAGGED"), SearchKey::Flagged);
        assert_eq!(
            roundtrip(b"SINCE 1-Feb-1994"),
            SearchKey::Since(Date::new(1994, 2, 1).unwrap())
        );
        assert_eq!(
            roundtrip(b"NOT FROM \"Smith\""),
            SearchKey::Not(Box::new(SearchKey::From(AString::String(
                crate::types::IString::Quoted(Quoted::try_from("Smith").unwrap())
            ))))
        );
        roundtrip(b"OR (SEEN DELETED) 1:5");
        roundtrip(b"HEADER X-Foo bar");
        roundtrip(b"MODSEQ \"/flags/\\\\Draft\" all 620162338");
        roundtrip(b"MODSEQ 0");
        roundtrip(b"UID 1:*");
        roundtrip(b"UNKEYWORD $Junk");
        roundtrip(b"EMAILID E1a-2_b");
        roundtrip(b"THREADID T00");
        roundtrip(b"OR SAVEDBEFORE 1-Feb-1994 SAVEDSINCE 2-Mar-2020");
        roundtrip(b"SAVEDON 3-Apr-2021");
        assert_eq!(
            roundtrip(b"SAVEDATESUPPORTED"),
            SearchKey::SaveDateSupported
        );
        assert_eq!(
            search_key(b"UNSEENX", 10).map(|(r, _)| r),
            Err(fail(&b"UNSEENX"[..]))
        );
    }

    #[test]
    fn depth_limited() {
        let deep = b"NOT NOT NOT NOT NOT ALL";
        assert!(search_key(deep, 6).is_ok());
        assert!(matches!(search_key(deep, 5), Err(nom::Err::Failure(_))));
        assert!(matches!(
            search_key(b"((((ALL))))", 4),
            Err(nom::Err::Failure(_))
        ));
    }
}
