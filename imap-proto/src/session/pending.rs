//! What a session waits for and the state of its multi-step commands:
//! [`Pending`] (the answer the adapter owes and what it completes) and
//! [`Job`] (a FETCH or SEARCH walking the messages), with the plain data
//! each holds. Below `dispatch.rs` and the command files (`fetch.rs`,
//! `search.rs`, `list.rs`, `append.rs`, ...): those construct and read
//! these types, and this file imports none of them, so no command file
//! and the dispatcher import each other.

use super::types::{AppendUids, CopyAnswer};
use super::{ContentNeed, Event, QResyncParams, RequestId, ServerSession, Wait};
use crate::command::{
    FetchAttribute, SearchReturnOption, SortCriterion, StatusAttribute, ThreadAlgorithm,
};
use crate::message::{
    BinaryScan, BodySearch, ContentVerdicts, PartOffsets, SearchProgram, SearchScope, SortFields,
};
use crate::response::{Code, ListItem, RespText};
use crate::types::{LiteralMode, Mailbox, Tag};
use bytes::Bytes;
use std::collections::VecDeque;
use std::num::NonZeroU32;

/// What an answer from the adapter completes.
#[derive(Debug)]
pub(super) enum Pending {
    /// LOGIN or AUTHENTICATE: the credentials' verdict.
    Auth { tag: Tag, username: String },
    /// SELECT or EXAMINE (`read_only`): the mailbox's messages.
    Select {
        tag: Tag,
        name: String,
        read_only: bool,
        condstore: bool,
        qresync: Option<QResyncParams>,
    },
    /// CREATE, DELETE, RENAME, SUBSCRIBE or UNSUBSCRIBE.
    Mailbox { tag: Tag },
    /// LIST or LSUB: every mailbox, matched here.
    List { tag: Tag, request: ListRequest },
    /// STATUS: the mailbox's counts.
    Status {
        tag: Tag,
        mailbox: Mailbox,
        attributes: Vec<StatusAttribute>,
    },
    /// LIST-STATUS (RFC 5819): one listed mailbox's STATUS, then the rest.
    ListStatus {
        tag: Tag,
        mailbox: Mailbox,
        rest: ListStatusRest,
    },
    /// A step of an APPEND (`append.rs`): a message start, or a
    /// CATENATE `URL` part (`url`).
    AppendStep { then: AppendThen, url: bool },
    /// The end of an APPEND: the store commits the message(s).
    AppendEnd { tag: Tag },
    /// A FETCH or SEARCH: the content of its current message.
    Job(Job),
    /// STORE: the flags changed.
    Store {
        tag: Tag,
        uid: bool,
        silent: bool,
        mod_seq: bool,
        /// This STORE (UNCHANGEDSINCE) enabled CONDSTORE (RFC 7162 §3.1).
        announce_highest: bool,
    },
    /// COPY or MOVE (`is_move`).
    Copy { tag: Tag, uid: bool, is_move: bool },
    /// EXPUNGE, UID EXPUNGE (`uid`) or CLOSE (`close`).
    Expunge { tag: Tag, close: bool, uid: bool },
    /// NOTIFY SET STATUS: the mailbox list (RFC 5465 §3).
    NotifyList { tag: Tag },
    /// NOTIFY SET STATUS: one mailbox's STATUS, then the rest.
    NotifyStatus {
        tag: Tag,
        /// The mailbox and whether it is subscribed.
        name: (String, bool),
        queue: std::collections::VecDeque<(String, bool)>,
    },
    /// GETQUOTA or GETQUOTAROOT (RFC 9208).
    Quota {
        tag: Tag,
        /// GETQUOTAROOT's mailbox as the client wrote it.
        mailbox: Option<Mailbox>,
    },
    /// GENURLAUTH, RESETKEY or URLFETCH (RFC 4467).
    UrlAuth { tag: Tag, op: UrlAuthOp },
    /// Waiting for [`Event::Sync`]'s answer, then this completion.
    Sync(AfterSync),
}

/// A multi-step command.
#[derive(Debug)]
pub(super) enum Job {
    /// FETCH (`fetch.rs`).
    Fetch(Box<FetchJob>),
    /// SEARCH, SORT, THREAD or a live context's read (`search.rs`).
    Search(Box<SearchJob>),
}

impl ServerSession {
    /// Takes the pending answer if `id` matches and `kind` accepts it.
    pub(super) fn take_pending(
        &mut self,
        id: RequestId,
        kind: impl Fn(&Pending) -> bool,
    ) -> Option<Pending> {
        match &self.wait {
            Wait::Answer { id: p, pending } if *p == id && kind(pending) => {}
            _ => return None,
        }
        // Time spent waiting for the adapter is not client idleness.
        self.activity = true;
        match std::mem::replace(&mut self.wait, Wait::Nothing) {
            Wait::Answer { pending, .. } => Some(pending),
            _ => None,
        }
    }

    /// The pending answer `id` is for, left in place (for the chunks of a
    /// streamed message).
    pub(super) fn pending_mut(&mut self, id: RequestId) -> Option<&mut Pending> {
        match &mut self.wait {
            Wait::Answer { id: p, pending } if *p == id => Some(pending),
            _ => None,
        }
    }

    /// Hands the adapter `event` under a new request id and waits for
    /// its answer, which completes `pending`.
    pub(super) fn ask(&mut self, event: impl FnOnce(RequestId) -> Event, pending: Pending) {
        let id = self.next_request_id();
        self.events.push_back(event(id));
        self.wait = Wait::Answer { id, pending };
    }
}

/// A FETCH in progress.
#[derive(Debug)]
pub(crate) struct FetchJob {
    pub(super) tag: Tag,
    pub(super) uid: bool,
    pub(super) items: Vec<FetchAttribute>,
    pub(super) targets: VecDeque<(NonZeroU32, NonZeroU32)>,
    pub(super) need: Option<ContentNeed>,
    /// Messages whose `\Seen` this FETCH set: their FLAGS are sent.
    pub(super) seen_set: Vec<NonZeroU32>,
    pub(super) current: Option<(NonZeroU32, NonZeroU32)>,
    /// This FETCH enabled CONDSTORE (RFC 7162 §3.1).
    pub(super) announce_highest: bool,
    /// The message to read again as a whole: its offsets showed a
    /// transfer-encoded `message/rfc822` part whose `HEADER`/`TEXT` was
    /// asked for (only the decoded octets hold them).
    pub(super) reread: Option<NonZeroU32>,
    /// The current message, arriving in chunks ([`ContentNeed::Stream`]).
    pub(super) stream: Option<Box<FetchStream>>,
    /// A message could not be read: the FETCH ends `NO [SERVERBUG]`.
    pub(super) unreadable: bool,
}

/// What a FETCH keeps of a message streamed to it: the root header, the
/// part offsets and the BINARY counting pass.
#[derive(Debug)]
pub(crate) struct FetchStream {
    pub(super) offsets: PartOffsets,
    pub(super) header: Vec<u8>,
    pub(super) pos: u64,
    pub(super) scan: BinaryScan,
}

/// What a job over the search results reports.
#[derive(Debug)]
pub(crate) enum Report {
    /// SEARCH with its `RETURN (...)` options.
    Search(Option<Vec<SearchReturnOption>>),
    /// SORT (RFC 5256) by these criteria, with its `RETURN (...)`
    /// options (ESORT, RFC 5267 §3).
    Sort(Vec<SortCriterion>, Option<Vec<SearchReturnOption>>),
    /// THREAD (RFC 5256) by this algorithm.
    Thread(ThreadAlgorithm),
    /// Live context number `context` reads messages it has no content
    /// answers for (RFC 5267 §4.3); then `done` ends the command.
    ContextRead {
        context: usize,
        done: Box<Completion>,
    },
}

/// A SEARCH, SORT or THREAD in progress.
#[derive(Debug)]
pub(crate) struct SearchJob {
    pub(super) tag: Tag,
    pub(super) uid: bool,
    pub(super) report: Report,
    /// The sort fields of the matches (SORT and THREAD only).
    pub(super) fields: Vec<SortFields>,
    pub(super) program: SearchProgram,
    pub(super) scope: SearchScope,
    pub(super) targets: VecDeque<(NonZeroU32, NonZeroU32)>,
    pub(super) matched: Vec<(NonZeroU32, NonZeroU32, u64)>,
    pub(super) current: Option<(NonZeroU32, NonZeroU32)>,
    /// This SEARCH enabled CONDSTORE (RFC 7162 §3.1).
    pub(super) announce_highest: bool,
    /// `RETURN (UPDATE)`: the criteria, kept for the live context
    /// (RFC 5267 §4.3), or why it is refused; `None` when not asked.
    pub(super) update: Option<Result<SearchProgram, &'static str>>,
    /// The current message, arriving in chunks ([`ContentNeed::Stream`]).
    pub(super) stream: Option<Box<SearchStream>>,
    /// The content answers of every message read, by UID ascending, for
    /// a live context whose criteria read content; `None` when not kept.
    pub(super) verdicts: Option<Vec<(NonZeroU32, ContentVerdicts)>>,
    /// A message of the view was expunged from the store before it could
    /// be read: the answer says `[EXPUNGEISSUED]`.
    pub(super) expunge_issued: bool,
}

/// A message streamed to a SEARCH: its root header (for the header keys)
/// and the body keys' matcher.
#[derive(Debug)]
pub(crate) struct SearchStream {
    pub(super) header: Vec<u8>,
    pub(super) body_start: u64,
    pub(super) pos: u64,
    pub(super) body: BodySearch,
}

/// What a LIST or LSUB asked for.
#[derive(Clone, Debug)]
pub(super) struct ListRequest {
    /// Reference + pattern, UTF-8.
    pub(super) patterns: Vec<Vec<char>>,
    pub(super) lsub: bool,
    pub(super) subscribed_only: bool,
    pub(super) special_use_only: bool,
    pub(super) return_subscribed: bool,
    pub(super) return_children: bool,
    pub(super) status: Option<Vec<StatusAttribute>>,
    /// `LIST "" ""`: the delimiter query.
    pub(super) delimiter_query: bool,
    /// `RECURSIVEMATCH` (RFC 5258 §3.1): parents whose unmatched children
    /// are subscribed are listed with `CHILDINFO ("SUBSCRIBED")`.
    pub(super) recursive_match: bool,
}

/// LIST-STATUS still to send: each mailbox's LIST line is followed by its
/// STATUS (RFC 5819 §2).
#[derive(Debug)]
pub(super) struct ListStatusRest {
    pub(super) queue: VecDeque<(ListItem, String)>,
    pub(super) attributes: Vec<StatusAttribute>,
}

/// What to do once the adapter accepted a step.
#[derive(Debug)]
pub(super) enum AppendThen {
    /// Hand on the octets of an inline literal, then read on.
    Inline(Bytes),
    /// Accept the announced literal for streaming (and send `+`).
    Stream(LiteralMode),
    /// Read on.
    Continue,
}

/// Which URLAUTH command an answer completes.
#[derive(Debug)]
pub(super) enum UrlAuthOp {
    Generate,
    ResetKey,
    /// The URLs as the client wrote them, for the `* URLFETCH` answer.
    Fetch(Vec<String>),
}

/// The completion that waits for [`Event::Sync`]'s answer.
#[derive(Debug)]
pub(super) enum AfterSync {
    AppendEnd {
        tag: Tag,
        answer: Result<AppendUids, RespText>,
    },
    Copy {
        tag: Tag,
        uid: bool,
        is_move: bool,
        answer: Result<CopyAnswer, RespText>,
    },
}

/// A command's tagged OK, held while a live context reads the messages
/// it announced.
#[derive(Debug)]
pub(super) struct Completion {
    pub(super) tag: Tag,
    pub(super) expunge: bool,
    pub(super) code: Option<Code>,
    pub(super) text: String,
}
