//! Server responses of RFC 9051 / RFC 3501 and the extensions: status
//! responses with codes, untagged data (including FETCH items, ENVELOPE and
//! BODYSTRUCTURE) and continuation requests — parsed and encoded.

mod body;
mod code;
mod encode;
mod fetch;
mod parse;
mod thread;

pub use body::{
    Address, Body, BodyExtension, BodyFields, BodySpecific, BodyStructure, DispositionTail,
    Envelope, Language, LanguageTail, LocationTail, MultiPartExtension, SinglePartExtension,
};
pub use code::{Code, UnitCode};
pub use fetch::{BinaryData, MessageDataItem};
pub use thread::Thread;

use crate::command::TaggedExtValue;
use crate::error::{ParseError, run};
use crate::limits::Limits;
use crate::types::{
    AString, Capability, Flag, IString, Mailbox, MailboxAttribute, NString, SequenceSet, Tag,
    ValidationError,
};
use std::num::NonZeroU32;

/// Human-readable text after a status or continuation: UTF-8 without CR,
/// LF or NUL, and not starting with `[` (which would read as a code).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Text(String);

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Text {
    type Error = ValidationError;
    fn try_from(s: &str) -> Result<Self, ValidationError> {
        if let Some(offset) = s.bytes().position(|b| matches!(b, 0 | b'\r' | b'\n')) {
            return Err(ValidationError::InvalidByte {
                offset,
                byte: s.as_bytes()[offset],
            });
        }
        if s.starts_with('[') {
            return Err(ValidationError::InvalidByte {
                offset: 0,
                byte: b'[',
            });
        }
        Ok(Text(s.to_owned()))
    }
}

/// `resp-text = ["[" resp-text-code "]" SP] [text]`
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RespText {
    /// The response code.
    pub code: Option<Code>,
    /// The text.
    pub text: Text,
}

/// A plain text without a code ([`RespText::plain`]).
impl From<&str> for RespText {
    fn from(text: &str) -> Self {
        RespText::plain(text)
    }
}

impl RespText {
    /// Text without a code. Invalid text (CR, LF, NUL, leading `[`) is
    /// replaced by an empty text.
    pub fn plain(text: &str) -> Self {
        RespText {
            code: None,
            text: Text::try_from(text).unwrap_or_default(),
        }
    }

    /// Text with a code.
    pub fn with_code(code: Code, text: &str) -> Self {
        RespText {
            code: Some(code),
            text: Text::try_from(text).unwrap_or_default(),
        }
    }
}

/// `"OK" / "NO" / "BAD"`
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    /// `OK`
    Ok,
    /// `NO`
    No,
    /// `BAD`
    Bad,
}

/// A status response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// `tag SP resp-cond-state` — completes a command.
    Tagged {
        /// The command's tag.
        tag: Tag,
        /// OK, NO or BAD.
        condition: Condition,
        /// Code and text.
        text: RespText,
    },
    /// `"*" SP resp-cond-state`
    Untagged {
        /// OK, NO or BAD.
        condition: Condition,
        /// Code and text.
        text: RespText,
    },
    /// `"*" SP "PREAUTH" SP resp-text` (greeting only)
    PreAuth(RespText),
    /// `"*" SP "BYE" SP resp-text`
    Bye(RespText),
}

/// `continue-req = "+" SP (resp-text / base64) CRLF`. Base64 challenges
/// travel as text: build them with [`Continue::base64`], read them with
/// [`Continue::decode_base64`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Continue(pub RespText);

impl Continue {
    /// A SASL challenge.
    pub fn base64(data: &[u8]) -> Self {
        Continue(RespText {
            code: None,
            text: Text(crate::core::encode_base64(data)),
        })
    }

    /// The text decoded as a base64 challenge, if it is one.
    pub fn decode_base64(&self) -> Option<Vec<u8>> {
        use base64::Engine;
        if self.0.code.is_some() {
            return None;
        }
        base64::engine::general_purpose::STANDARD
            .decode(self.0.text.as_str())
            .ok()
    }
}

/// A hierarchy delimiter: one character, not CR, LF or NUL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Delimiter(char);

impl Delimiter {
    /// A delimiter; `None` for CR, LF or NUL.
    pub fn new(c: char) -> Option<Self> {
        (!matches!(c, '\0' | '\r' | '\n')).then_some(Delimiter(c))
    }
    /// The character.
    pub fn get(self) -> char {
        self.0
    }
}

/// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox [SP mbox-list-extended]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListItem {
    /// Attributes.
    pub attributes: Vec<MailboxAttribute>,
    /// Hierarchy delimiter; `None` is NIL (flat).
    pub delimiter: Option<Delimiter>,
    /// The mailbox.
    pub mailbox: Mailbox,
    /// `mbox-list-extended` items such as `CHILDINFO` and `OLDNAME` (RFC 5258).
    pub extended: Vec<(AString, TaggedExtValue)>,
}

/// `status-att-val` (RFC 9051, RFC 8438, RFC 7889, RFC 7162, RFC 8474)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusItem {
    /// `MESSAGES n`
    Messages(u32),
    /// `RECENT n` (IMAP4rev1)
    Recent(u32),
    /// `UIDNEXT n`
    UidNext(NonZeroU32),
    /// `UIDVALIDITY n`
    UidValidity(NonZeroU32),
    /// `UNSEEN n`
    Unseen(u32),
    /// `DELETED n`
    Deleted(u32),
    /// `SIZE n` (RFC 8438)
    Size(u64),
    /// `HIGHESTMODSEQ n` (RFC 7162)
    HighestModSeq(u64),
    /// `APPENDLIMIT n / NIL` (RFC 7889)
    AppendLimit(Option<u32>),
    /// `DELETED-STORAGE n` (RFC 9208 §4.2.2): KiB of `\Deleted` messages.
    DeletedStorage(u64),
    /// `MAILBOXID (objectid)` (RFC 8474 §4.2)
    MailboxId(crate::types::ObjectId),
}

/// `quota-resource = resource-name SP resource-usage SP resource-limit`
/// (RFC 9208 §9)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaResource {
    /// `STORAGE` (KiB), `MESSAGE`, or another resource name.
    pub name: crate::types::Atom,
    /// Current usage.
    pub usage: u64,
    /// The limit.
    pub limit: u64,
}

/// `search-return-data` (RFC 4731, RFC 7162)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ESearchItem {
    /// `MIN n`
    Min(NonZeroU32),
    /// `MAX n`
    Max(NonZeroU32),
    /// `ALL sequence-set`
    All(SequenceSet),
    /// `COUNT n`
    Count(u32),
    /// `MODSEQ n`
    ModSeq(u64),
    /// `PARTIAL (partial-range partial-results)` (RFC 9394 §5): the range
    /// as asked and the results in it, `None` for `NIL`.
    Partial {
        /// The range the client asked for.
        range: crate::command::PartialRange,
        /// The results in the range, in the requested order.
        results: Option<SequenceSet>,
    },
    /// `ADDTO (context-position sequence-set ...)` (RFC 5267 §4.3.3):
    /// results to insert at each position (0: in mailbox order).
    AddTo(Vec<(u32, SequenceSet)>),
    /// `REMOVEFROM (context-position sequence-set ...)` (RFC 5267 §4.3.4):
    /// results to remove from each position (0: wherever they are).
    RemoveFrom(Vec<(u32, SequenceSet)>),
}

/// `Namespace-Descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil) [Namespace-Response-Extensions] ")"` (RFC 2342)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceDescr {
    /// Prefix.
    pub prefix: IString,
    /// Delimiter; `None` is NIL.
    pub delimiter: Option<Delimiter>,
    /// `SP string SP "(" string *(SP string) ")"` extensions.
    pub extensions: Vec<(IString, Vec<IString>)>,
}

/// Untagged data.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Data {
    /// `CAPABILITY ...`
    Capability(Vec<Capability>),
    /// `ENABLED ...` (RFC 5161)
    Enabled(Vec<Capability>),
    /// `FLAGS (...)`
    Flags(Vec<Flag>),
    /// `LIST ...`
    List(ListItem),
    /// `LSUB ...` (IMAP4rev1)
    Lsub(ListItem),
    /// `SEARCH ...` (IMAP4rev1), with RFC 7162's `(MODSEQ n)`
    Search {
        /// Matching numbers.
        ids: Vec<NonZeroU32>,
        /// Highest mod-sequence of the matches.
        mod_seq: Option<u64>,
    },
    /// `ESEARCH ...` (RFC 4731, IMAP4rev2)
    ESearch {
        /// `(TAG "...")`.
        correlator: Option<Tag>,
        /// `UID`.
        uid: bool,
        /// Results.
        items: Vec<ESearchItem>,
    },
    /// `SORT ...` (RFC 5256 §4), with RFC 7162's `(MODSEQ n)`
    /// (`search-sort-mod-seq`).
    Sort {
        /// Numbers in sorted order.
        ids: Vec<NonZeroU32>,
        /// Highest mod-sequence of the messages returned.
        mod_seq: Option<u64>,
    },
    /// `THREAD ...` (RFC 5256 §4): one [`Thread`] per root.
    Thread(Vec<Thread>),
    /// `QUOTA root (resource usage limit ...)` (RFC 9208 §5.1)
    Quota {
        /// The quota root.
        root: crate::types::AString,
        /// At least one resource.
        resources: Vec<QuotaResource>,
    },
    /// `QUOTAROOT mailbox root...` (RFC 9208 §5.2)
    QuotaRoot {
        /// The mailbox asked about.
        mailbox: Mailbox,
        /// Its quota roots (none when it has no limits).
        roots: Vec<crate::types::AString>,
    },
    /// `STATUS mailbox (...)`
    Status {
        /// Mailbox.
        mailbox: Mailbox,
        /// Values.
        items: Vec<StatusItem>,
    },
    /// `n EXISTS`
    Exists(u32),
    /// `n RECENT` (IMAP4rev1)
    Recent(u32),
    /// `n EXPUNGE`
    Expunge(NonZeroU32),
    /// `n FETCH (...)`
    Fetch {
        /// Message sequence number.
        seq: NonZeroU32,
        /// Items (at least one).
        items: Vec<MessageDataItem>,
    },
    /// `NAMESPACE personal other shared` (RFC 2342); `None` is NIL.
    Namespace {
        /// Personal namespaces.
        personal: Option<Vec<NamespaceDescr>>,
        /// Other users' namespaces.
        other: Option<Vec<NamespaceDescr>>,
        /// Shared namespaces.
        shared: Option<Vec<NamespaceDescr>>,
    },
    /// `ID (...)` (RFC 2971)
    Id(Option<Vec<(IString, NString)>>),
    /// `GENURLAUTH 1*(SP url-full)` (RFC 4467 §9)
    GenUrlAuth(Vec<AString>),
    /// `URLFETCH 1*(SP url-full SP nstring)` (RFC 4467 §9): NIL for a URL
    /// that is invalid or not authorized.
    UrlFetch(Vec<(AString, NString)>),
    /// `VANISHED [(EARLIER)] uids` (RFC 7162 §3.2.10)
    Vanished {
        /// `(EARLIER)`.
        earlier: bool,
        /// Expunged UIDs.
        uids: SequenceSet,
    },
}

impl Status {
    /// `tag OK [code] text` (tagged when `tag` is given, else `* OK`).
    pub fn ok(tag: Option<Tag>, code: Option<Code>, text: &str) -> Self {
        Self::cond(tag, Condition::Ok, code, text)
    }

    /// `tag NO [code] text`.
    pub fn no(tag: Option<Tag>, code: Option<Code>, text: &str) -> Self {
        Self::cond(tag, Condition::No, code, text)
    }

    /// `tag BAD [code] text`.
    pub fn bad(tag: Option<Tag>, code: Option<Code>, text: &str) -> Self {
        Self::cond(tag, Condition::Bad, code, text)
    }

    /// `* BYE [code] text`.
    pub fn bye(code: Option<Code>, text: &str) -> Self {
        Status::Bye(RespText {
            code,
            text: Text::try_from(text).unwrap_or_default(),
        })
    }

    /// `* PREAUTH [code] text`.
    pub fn preauth(code: Option<Code>, text: &str) -> Self {
        Status::PreAuth(RespText {
            code,
            text: Text::try_from(text).unwrap_or_default(),
        })
    }

    /// Text that is not valid [`Text`] (CR, LF, NUL, leading `[`) becomes
    /// empty rather than corrupting the stream.
    fn cond(tag: Option<Tag>, condition: Condition, code: Option<Code>, text: &str) -> Self {
        let text = RespText {
            code,
            text: Text::try_from(text).unwrap_or_default(),
        };
        match tag {
            Some(tag) => Status::Tagged {
                tag,
                condition,
                text,
            },
            None => Status::Untagged { condition, text },
        }
    }
}

impl Data {
    /// The answer to SEARCH in the form `version` requires: `* SEARCH ...`
    /// for IMAP4rev1, `* ESEARCH (TAG "...") [UID] ALL ...` for IMAP4rev2
    /// (RFC 9051 §6.4.4: IMAP4rev2 answers SEARCH with ESEARCH).
    pub fn search_result(
        version: crate::Version,
        tag: &Tag,
        uid: bool,
        ids: &[NonZeroU32],
        mod_seq: Option<u64>,
    ) -> Data {
        match version {
            crate::Version::Rev1 => Data::Search {
                ids: ids.to_vec(),
                mod_seq,
            },
            crate::Version::Rev2 => {
                let mut items = Vec::new();
                let seqs = ids
                    .iter()
                    .map(|n| crate::types::Sequence::Single(crate::types::SeqOrUid::Value(*n)))
                    .collect();
                if let Some(set) = SequenceSet::new(seqs) {
                    items.push(ESearchItem::All(set));
                }
                if let Some(m) = mod_seq {
                    items.push(ESearchItem::ModSeq(m));
                }
                Data::ESearch {
                    correlator: Some(tag.clone()),
                    uid,
                    items,
                }
            }
        }
    }
}

/// One server response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// A status response (tagged or untagged).
    Status(Status),
    /// Untagged data.
    Data(Data),
    /// A continuation request.
    Continue(Continue),
}

impl Response {
    /// Parses one complete response (CRLF included, literals inline, as the
    /// [`Framer`](crate::framer::Framer) in client role delivers it).
    pub fn parse(input: &[u8]) -> Result<Response, ParseError> {
        Self::parse_with_limits(input, &Limits::default())
    }

    /// Like [`Response::parse`] with explicit limits (`max_depth`).
    pub fn parse_with_limits(input: &[u8], limits: &Limits) -> Result<Response, ParseError> {
        run(input, None, parse::response(input, limits.max_depth))
    }

    /// Encodes the response for `version` into fragments.
    pub fn encode(&self, version: crate::Version) -> crate::Encoded {
        crate::Encode::to_fragments(self, version)
    }
}

#[cfg(test)]
mod tests;
