//! Client commands of RFC 9051 / RFC 3501 and the extensions listed in the
//! crate docs: the [`Command`] type, its parser and its encoder.

mod append;
mod compress;
mod encode;
mod fetch;
mod notify;
mod options;
mod parse;
mod partial;
mod search;
mod sort;
mod urlauth;

pub use append::{AppendAt, AppendHead, AppendItem, AppendLiteral};
pub use fetch::{FetchAttribute, FetchAttributes, FetchMacro, FetchModifier, Part, Section};
pub use notify::{EventGroup, FilterMailboxes, NotifyArgs, NotifyEvent};
pub use options::{
    ListReturnOption, ListSelectOption, OptionExtension, OptionValue, SearchReturnOption,
    SelectParameter, StatusAttribute, TaggedExtValue,
};
pub use partial::PartialRange;
pub(crate) use search::charset as search_charset;
pub use search::{Charset, EntryType, SearchKey};
pub use sort::{SortCriterion, SortKey, ThreadAlgorithm};

pub(crate) use encode::encode_id_params;
pub(crate) use fetch::{encode_binary_section, encode_section, section, section_binary};
pub(crate) use options::{status_att, tagged_ext_value};
pub(crate) use parse::id_params_list;
pub(crate) use partial::partial_range;

use crate::error::{ParseError, run};
use crate::limits::Limits;
use crate::types::{
    AString, Atom, Capability, DateTime, Flag, IString, ListMailbox, Literal, Mailbox,
    MailboxAttribute, NString, Secret, SequenceSet, Tag,
};

/// A tagged client command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The command's tag.
    pub tag: Tag,
    /// The command and its arguments.
    pub body: CommandBody,
}

/// How STORE changes flags (`store-att-flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreAction {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}

/// A message to APPEND: `literal` or, with BINARY, `literal8` (RFC 3516).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendData {
    /// The message octets and their literal mode.
    pub literal: Literal,
    /// `~{N}`: literal8, may hold NUL octets (RFC 3516 §4.4).
    pub binary: bool,
    /// `UTF8 (~{N}...)`: the message may carry UTF-8 header fields
    /// (RFC 6855 §4); always a literal8.
    pub utf8: bool,
}

/// The command name and arguments. Names follow RFC 9051 §6.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandBody {
    /// `CAPABILITY` (§6.1.1)
    Capability,
    /// `NOOP` (§6.1.2)
    Noop,
    /// `LOGOUT` (§6.1.3)
    Logout,
    /// `STARTTLS` (§6.2.1)
    StartTls,
    /// `AUTHENTICATE` (§6.2.2), with SASL-IR's initial response (RFC 4959):
    /// `Some(empty)` is the `=` form.
    Authenticate {
        /// SASL mechanism name.
        mechanism: Atom,
        /// Decoded initial response.
        initial_response: Option<Secret<Vec<u8>>>,
    },
    /// `LOGIN` (§6.2.3)
    Login {
        /// User name.
        username: AString,
        /// Password.
        password: Secret<AString>,
    },
    /// `ENABLE` (RFC 5161, §6.3.1)
    Enable {
        /// Capabilities to enable (at least one).
        capabilities: Vec<Capability>,
    },
    /// `SELECT` (§6.3.2) with select parameters (RFC 4466; CONDSTORE/QRESYNC, RFC 7162)
    Select {
        /// Mailbox.
        mailbox: Mailbox,
        /// Parameters.
        parameters: Vec<SelectParameter>,
    },
    /// `EXAMINE` (§6.3.3)
    Examine {
        /// Mailbox.
        mailbox: Mailbox,
        /// Parameters.
        parameters: Vec<SelectParameter>,
    },
    /// `CREATE` (§6.3.4) with `USE` (CREATE-SPECIAL-USE, RFC 6154 §3)
    Create {
        /// Mailbox.
        mailbox: Mailbox,
        /// `(USE (...))` attributes.
        special_use: Option<Vec<MailboxAttribute>>,
    },
    /// `DELETE` (§6.3.5)
    Delete {
        /// Mailbox.
        mailbox: Mailbox,
    },
    /// `RENAME` (§6.3.6)
    Rename {
        /// Existing name.
        from: Mailbox,
        /// New name.
        to: Mailbox,
    },
    /// `SUBSCRIBE` (§6.3.7)
    Subscribe {
        /// Mailbox.
        mailbox: Mailbox,
    },
    /// `UNSUBSCRIBE` (§6.3.8)
    Unsubscribe {
        /// Mailbox.
        mailbox: Mailbox,
    },
    /// `LIST` (§6.3.9), LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819)
    List {
        /// `list-select-opts`; `Some(vec![])` is `()`.
        selection: Option<Vec<ListSelectOption>>,
        /// Reference name.
        reference: Mailbox,
        /// Patterns (at least one; more than one is the parenthesised form).
        patterns: Vec<ListMailbox>,
        /// `RETURN (...)`; `Some(vec![])` is `RETURN ()`.
        return_options: Option<Vec<ListReturnOption>>,
    },
    /// `LSUB` (RFC 3501 §6.3.9)
    Lsub {
        /// Reference name.
        reference: Mailbox,
        /// Pattern.
        pattern: ListMailbox,
    },
    /// `NAMESPACE` (RFC 2342, §6.3.10)
    Namespace,
    /// `STATUS` (§6.3.11)
    Status {
        /// Mailbox.
        mailbox: Mailbox,
        /// Requested items (at least one).
        attributes: Vec<StatusAttribute>,
    },
    /// `APPEND` (§6.3.12)
    Append {
        /// Target mailbox.
        mailbox: Mailbox,
        /// Initial flags.
        flags: Option<Vec<Flag>>,
        /// Internal date.
        date: Option<DateTime>,
        /// The message.
        message: AppendData,
    },
    /// `IDLE` (RFC 2177, §6.3.13); ended by `DONE`, see [`is_idle_done`].
    Idle,
    /// `CHECK` (RFC 3501 §6.4.1)
    Check,
    /// `CLOSE` (§6.4.1)
    Close,
    /// `UNSELECT` (RFC 3691, §6.4.2)
    Unselect,
    /// `EXPUNGE` (§6.4.3)
    Expunge,
    /// `UID EXPUNGE` (RFC 4315, §6.4.9)
    UidExpunge {
        /// UIDs.
        sequence_set: SequenceSet,
    },
    /// `SEARCH` / `UID SEARCH` (§6.4.4), ESEARCH return options (RFC 4731)
    Search {
        /// `UID SEARCH`.
        uid: bool,
        /// `RETURN (...)`.
        return_options: Option<Vec<SearchReturnOption>>,
        /// `CHARSET`.
        charset: Option<Charset>,
        /// Criteria, ANDed (at least one).
        criteria: Vec<SearchKey>,
    },
    /// `SORT` / `UID SORT` (RFC 5256 §3), with ESORT/CONTEXT=SORT return
    /// options (RFC 5267 §3)
    Sort {
        /// `UID SORT`.
        uid: bool,
        /// `RETURN (...)` (RFC 5267 §5 `extended-sort`).
        return_options: Option<Vec<SearchReturnOption>>,
        /// `sort-criteria` (at least one).
        criteria: Vec<SortCriterion>,
        /// `charset` (mandatory in `search-criteria`).
        charset: Charset,
        /// Search keys, ANDed (at least one).
        search: Vec<SearchKey>,
    },
    /// `NOTIFY SET ...` / `NOTIFY NONE` (RFC 5465 §3)
    Notify(NotifyArgs),
    /// `CANCELUPDATE "tag" ...` (RFC 5267 §4.3.5): ends the updates of the
    /// searching commands with these tags.
    CancelUpdate {
        /// The tags of the searching commands (at least one).
        tags: Vec<crate::types::Quoted>,
    },
    /// `THREAD` / `UID THREAD` (RFC 5256 §3)
    Thread {
        /// `UID THREAD`.
        uid: bool,
        /// The threading algorithm.
        algorithm: ThreadAlgorithm,
        /// `charset` (mandatory in `search-criteria`).
        charset: Charset,
        /// Search keys, ANDed (at least one).
        search: Vec<SearchKey>,
    },
    /// `FETCH` / `UID FETCH` (§6.4.5), modifiers of RFC 7162
    Fetch {
        /// `UID FETCH`.
        uid: bool,
        /// Messages.
        sequence_set: SequenceSet,
        /// Items.
        attributes: FetchAttributes,
        /// `(CHANGEDSINCE n VANISHED)`.
        modifiers: Vec<FetchModifier>,
    },
    /// `STORE` / `UID STORE` (§6.4.6), `UNCHANGEDSINCE` (RFC 7162)
    Store {
        /// `UID STORE`.
        uid: bool,
        /// Messages.
        sequence_set: SequenceSet,
        /// `(UNCHANGEDSINCE n)`.
        unchanged_since: Option<u64>,
        /// Replace, add or remove.
        action: StoreAction,
        /// `.SILENT`.
        silent: bool,
        /// Flags.
        flags: Vec<Flag>,
    },
    /// `COPY` / `UID COPY` (§6.4.7)
    Copy {
        /// `UID COPY`.
        uid: bool,
        /// Messages.
        sequence_set: SequenceSet,
        /// Target.
        mailbox: Mailbox,
    },
    /// `MOVE` / `UID MOVE` (RFC 6851, §6.4.8)
    Move {
        /// `UID MOVE`.
        uid: bool,
        /// Messages.
        sequence_set: SequenceSet,
        /// Target.
        mailbox: Mailbox,
    },
    /// `GETQUOTA quota-root-name` (RFC 9208 §4.2)
    GetQuota {
        /// The quota root.
        root: AString,
    },
    /// `GETQUOTAROOT mailbox` (RFC 9208 §4.3)
    GetQuotaRoot {
        /// The mailbox.
        mailbox: Mailbox,
    },
    /// `SETQUOTA quota-root-name (resource limit ...)` (RFC 9208 §4.1)
    SetQuota {
        /// The quota root.
        root: AString,
        /// `(resource-name resource-limit)` pairs; may be empty.
        limits: Vec<(Atom, u64)>,
    },
    /// `ID` (RFC 2971): `None` is `NIL`.
    Id {
        /// Field/value pairs.
        parameters: Option<Vec<(IString, NString)>>,
    },
    /// `COMPRESS algorithm` (RFC 4978 §3); only `DEFLATE` is defined.
    Compress {
        /// The algorithm as sent (matched case-insensitively).
        algorithm: Atom,
    },
    /// `GENURLAUTH 1*(url-rump mechanism)` (RFC 4467 §6.1)
    GenUrlAuth {
        /// URL rumps (ending in `;URLAUTH=<access>`) and mechanisms.
        urls: Vec<(AString, Atom)>,
    },
    /// `RESETKEY [mailbox *mechanism]` (RFC 4467 §6.2)
    ResetKey {
        /// The mailbox whose key is reset; `None`: every mailbox's.
        mailbox: Option<Mailbox>,
        /// Mechanisms to reset (all when empty).
        mechanisms: Vec<Atom>,
    },
    /// `URLFETCH 1*url-full` (RFC 4467 §6.3)
    UrlFetch {
        /// Authorized URLs.
        urls: Vec<AString>,
    },
}

impl Command {
    /// Parses one complete command (CRLF included, literals inline, as
    /// [`Frame::Complete`](crate::framer::Frame::Complete) delivers it),
    /// with the default nesting limit.
    pub fn parse(input: &[u8]) -> Result<Command, ParseError> {
        Self::parse_with_limits(input, &Limits::default())
    }

    /// Like [`Command::parse`] with explicit limits (`max_depth`).
    pub fn parse_with_limits(input: &[u8], limits: &Limits) -> Result<Command, ParseError> {
        // The tag is read again only on failure, for the `tag BAD` answer.
        run(input, None, parse::command(input, limits.max_depth)).map_err(|mut e| {
            e.tag = crate::types::tag_imap(input)
                .ok()
                .and_then(|(rest, t)| rest.starts_with(b" ").then_some(t));
            e
        })
    }

    /// Encodes the command for `version` into line and literal fragments.
    pub fn encode(&self, version: crate::Version) -> crate::Encoded {
        crate::Encode::to_fragments(self, version)
    }
}

/// A client line during AUTHENTICATE (RFC 9051 §6.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthenticateData {
    /// A base64 response, decoded.
    Continue(Secret<Vec<u8>>),
    /// `*`: the client cancels the exchange.
    Cancel,
}

impl AuthenticateData {
    /// Parses one client line of an AUTHENTICATE exchange:
    /// `base64 CRLF` or `"*" CRLF`.
    pub fn parse(input: &[u8]) -> Result<Self, ParseError> {
        run(input, None, parse::authenticate_data(input))
    }

    /// Encodes the line.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            AuthenticateData::Cancel => b"*\r\n".to_vec(),
            AuthenticateData::Continue(d) => {
                let mut out = crate::core::encode_base64(d.expose()).into_bytes();
                out.extend_from_slice(b"\r\n");
                out
            }
        }
    }
}

/// True if `line` is the `DONE` that ends IDLE (RFC 2177 §3:
/// `idle = "IDLE" CRLF "DONE"`; matched case-insensitively).
pub fn is_idle_done(line: &[u8]) -> bool {
    line.eq_ignore_ascii_case(b"DONE\r\n")
}

#[cfg(test)]
mod tests;
