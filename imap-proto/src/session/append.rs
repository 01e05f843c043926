//! APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502) and CATENATE
//! (RFC 4469), streamed (docs/DESIGN.md §2).
//!
//! The command is read item by item ([`AppendItem::next`]) from the
//! framer's text of it: every time the framer stops (a literal
//! announcement, or the end of the command) the items not handled yet are
//! handled in order, each message start asked of the adapter before its
//! `+` (so it can check the mailbox, quota and size first), every literal
//! the framer announces streamed to it as [`Event::AppendChunk`]s, every
//! `URL` part handed to it as [`Event::AppendUrl`]. The framer keeps only
//! the protocol text of the command (never the octets of a streamed
//! literal), so memory stays at one command line whatever the number and
//! size of the messages. At the final CRLF one [`Event::AppendEnd`] asks
//! the adapter to commit every message at once (RFC 3502 §6.3.11: all or
//! none), answered with APPENDUID (RFC 4315 §3).
//!
//! A refusal (a message too large, `[TRYCREATE]`, `[BADURL]`, a syntax
//! error) ends the command at once when the client waits for `+` (its
//! synchronising literal is never sent, RFC 3502 §6.3.11) or when the
//! command is complete; a non-synchronising literal already on its way is
//! skipped first. What the adapter had begun is dropped with
//! [`Event::AppendAbort`].

use bytes::Bytes;

use super::pending::{AppendThen, Pending};
use super::{AppendAnswer, AppendUids, Event, RequestId, ServerSession, SessionState, Wait};
use crate::command::{AppendAt, AppendItem, AppendLiteral};
use crate::response::{Code, Condition, RespText, Response, Status, UnitCode};
use crate::types::{Capability, LiteralMode, SeqOrUid, Sequence, SequenceSet, Tag};

/// An APPEND being read.
#[derive(Debug)]
pub(super) struct Appending {
    tag: Tag,
    /// The target mailbox (UTF-8), once the head was read.
    mailbox: String,
    /// The id of every event of this command, from its first one.
    id: Option<RequestId>,
    /// The adapter accepted a message start: it must hear of an abort.
    begun: bool,
    /// The command as the framer holds it (streamed octets left out).
    text: Vec<u8>,
    /// Octets of `text` handled.
    pos: usize,
    at: AppendAt,
    /// `text` ends with a literal announcement the framer waits on (else
    /// it is the whole command).
    pub(super) announced: Option<LiteralMode>,
    /// Its announced size.
    announced_size: u64,
    /// Messages begun.
    messages: u32,
    /// `TEXT` octets of the current CATENATE message (its `URL` parts
    /// are counted by the adapter).
    cat_size: u64,
}

/// `tag SP "APPEND" SP mailbox` opens `bytes`.
pub(super) fn is_append(bytes: &[u8]) -> bool {
    AppendItem::next(bytes, AppendAt::Start).is_ok()
}

fn uid_set(uids: &[std::num::NonZeroU32]) -> Option<SequenceSet> {
    // Consecutive UIDs (the store assigns them so) become one range.
    let mut items: Vec<Sequence> = Vec::new();
    let mut run: Option<(u32, u32)> = None;
    let push = |items: &mut Vec<Sequence>, (a, b): (u32, u32)| {
        let v = |n: u32| {
            SeqOrUid::Value(std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN))
        };
        items.push(if a == b {
            Sequence::Single(v(a))
        } else {
            Sequence::Range(v(a), v(b))
        });
    };
    for u in uids.iter().map(|u| u.get()) {
        run = match run {
            Some((a, b)) if b.checked_add(1) == Some(u) => Some((a, u)),
            Some(r) => {
                push(&mut items, r);
                Some((u, u))
            }
            None => Some((u, u)),
        };
    }
    if let Some(r) = run {
        push(&mut items, r);
    }
    SequenceSet::new(items)
}

impl ServerSession {
    /// A literal was announced while no command owns the framer: the start
    /// of an APPEND, or a literal of any other command.
    pub(super) fn literal_announced(
        &mut self,
        tag: Option<Tag>,
        so_far: &[u8],
        size: u64,
        mode: LiteralMode,
    ) {
        match std::mem::replace(&mut self.wait, Wait::Nothing) {
            Wait::Nothing => {}
            Wait::Appending => {
                self.wait = Wait::Appending;
                if let Some(a) = self.appending.as_mut() {
                    a.text = so_far.to_vec();
                    a.announced = Some(mode);
                    a.announced_size = size;
                }
                self.append_drive();
                return;
            }
            Wait::Sasl { tag: t, .. } | Wait::Idle { tag: t } => {
                let _ = self.framer.reject_literal();
                if mode == LiteralMode::NonSync {
                    let text = RespText::plain("Unexpected literal");
                    self.refuse_non_sync(t, Condition::Bad, text, size);
                } else {
                    self.bad(t, "Unexpected literal");
                }
                return;
            }
            other => {
                self.wait = other;
                let _ = self.framer.reject_literal();
                return;
            }
        }
        if is_append(so_far) {
            self.append_start(so_far.to_vec(), Some((mode, size)));
            return;
        }
        if size <= self.config.limits.max_literal_size && self.framer.accept_literal().is_ok() {
            if mode == LiteralMode::Sync {
                self.send(&Response::Continue(crate::response::Continue(
                    RespText::plain("Ready"),
                )));
            }
            return;
        }
        let text = RespText::with_code(Code::Unit(UnitCode::TooBig), "Literal too large");
        let _ = self.framer.reject_literal();
        let Some(tag) = tag else {
            return;
        };
        match mode {
            LiteralMode::Sync => self.tagged(tag, Condition::Bad, text),
            LiteralMode::NonSync => self.refuse_non_sync(tag, Condition::Bad, text, size),
        }
    }

    /// Answers a refused non-synchronising literal (`{N+}`, RFC 7888).
    /// Its octets are already on their way: one no larger than
    /// [`skip_limit`](Self::skip_limit) is read and dropped in bounded
    /// chunks by the framer, then `condition` is sent, so the connection
    /// survives. A larger one (a `{9223372036854775807+}`) would keep the
    /// client waiting for an answer that only comes after it sent all of
    /// it: it is answered at once and the connection closed (RFC 7888 §4
    /// allows closing after a refused non-synchronising literal).
    pub(super) fn refuse_non_sync(
        &mut self,
        tag: Tag,
        condition: Condition,
        text: RespText,
        size: u64,
    ) {
        if size <= self.skip_limit() {
            self.discard_answer = Some(Status::Tagged {
                tag,
                condition,
                text,
            });
        } else {
            self.tagged(tag, condition, text);
            self.close();
        }
    }

    /// Largest refused non-synchronising literal that is skipped rather
    /// than ending the connection: twice the APPEND limit (a client that
    /// misjudged the limit keeps its session), at least one command.
    pub(super) fn skip_limit(&self) -> u64 {
        let l = &self.config.limits;
        l.max_message_size
            .saturating_mul(2)
            .max(l.max_command_size as u64)
    }

    /// Starts reading an APPEND from `text`: the framer's command so far,
    /// ending with an `announced` literal, or the whole command.
    pub(super) fn append_start(&mut self, text: Vec<u8>, announced: Option<(LiteralMode, u64)>) {
        // `is_append` parsed the tag already; should that ever disagree,
        // the line is refused like any unparsable one (no panic on peer
        // input: `*` is no valid tag to fall back on).
        let Ok((_, tag)) = crate::types::tag_imap(&text) else {
            if announced.is_some() {
                let _ = self.framer.reject_literal();
            }
            self.send(&Response::Status(Status::bad(
                None,
                None,
                "Syntax error in command",
            )));
            return;
        };
        self.appending = Some(Box::new(Appending {
            tag,
            mailbox: String::new(),
            id: None,
            begun: false,
            text,
            pos: 0,
            at: AppendAt::Start,
            announced: announced.map(|(m, _)| m),
            announced_size: announced.map_or(0, |(_, n)| n),
            messages: 0,
            cat_size: 0,
        }));
        self.wait = Wait::Appending;
        self.append_drive();
    }

    /// The rest of an APPEND after a streamed literal: the whole command.
    pub(super) fn append_complete(&mut self, bytes: Vec<u8>) {
        if let Some(a) = self.appending.as_mut() {
            a.text = bytes;
            a.announced = None;
        }
        self.append_drive();
    }

    /// Octets of a streamed literal of the APPEND.
    pub(super) fn append_data(&mut self, data: Vec<u8>) {
        if let Some(id) = self.appending.as_ref().and_then(|a| a.id) {
            self.events.push_back(Event::AppendChunk {
                id,
                data: Bytes::from(data),
            });
        }
    }

    /// Handles the items of the APPEND not handled yet, until one needs
    /// an answer or more input.
    fn append_drive(&mut self) {
        loop {
            let Some(a) = self.appending.as_mut() else {
                return;
            };
            if a.pos >= a.text.len() {
                // A streamed literal is under way; its command goes on in
                // the next frame.
                self.wait = Wait::Appending;
                return;
            }
            let at = a.at;
            let parsed = AppendItem::next(&a.text[a.pos..], at);
            let (item, n) = match parsed {
                Ok((item, n)) => match (own(item), at) {
                    (Item::Utf8End { .. }, AppendAt::Utf8Close { in_catenate }) => {
                        (Item::Utf8End { in_catenate }, n)
                    }
                    (item, _) => (item, n),
                },
                Err(_) if a.announced.is_some() && a.announced_size > i64::MAX as u64 => {
                    // Above number64 (RFC 9051 §9): no literal of ours.
                    let text =
                        RespText::with_code(Code::Unit(UnitCode::TooBig), "Literal too large");
                    return self.append_fail(Condition::Bad, text);
                }
                Err(_) => {
                    let text = match at {
                        AppendAt::Messages { any: true } | AppendAt::Utf8Close { .. } => {
                            "Unexpected data after the message"
                        }
                        _ => "Syntax error in command",
                    };
                    return self.append_fail(Condition::Bad, RespText::plain(text));
                }
            };
            a.pos += n;
            if let Err((condition, text)) = self.append_item(item) {
                return self.append_fail(condition, text);
            }
            if !matches!(self.wait, Wait::Appending) {
                return;
            }
        }
    }

    /// The id of this APPEND's events (allocated by its first one).
    fn append_id(&mut self) -> RequestId {
        if let Some(id) = self.appending.as_ref().and_then(|a| a.id) {
            return id;
        }
        let id = self.next_request_id();
        if let Some(a) = self.appending.as_mut() {
            a.id = Some(id);
        }
        id
    }

    /// One item; `Err` fails the command. Leaves `wait` at
    /// [`Wait::Appending`] to read on.
    fn append_item(&mut self, item: Item) -> Result<(), (Condition, RespText)> {
        let bad = |t: &str| (Condition::Bad, RespText::plain(t));
        let too_big = || {
            (
                Condition::No,
                RespText::with_code(Code::Unit(UnitCode::TooBig), "Message too large"),
            )
        };
        let too_many = || {
            (
                Condition::No,
                RespText::with_code(Code::Unit(UnitCode::Limit), "Too many messages"),
            )
        };
        let max = self.config.limits.max_message_size;
        let max_messages = self.config.limits.max_append_messages;
        let multi = self.offers(&Capability::MultiAppend);
        let catenate = self.offers(&Capability::Catenate);
        let utf8_ok = self.enabled.utf8;
        let names = self.names();
        let authed = self.state != SessionState::NotAuthenticated;
        let Some(a) = self.appending.as_mut() else {
            return Ok(());
        };
        match item {
            Item::Head { mailbox } => {
                if !authed {
                    return Err(bad("Log in first"));
                }
                let Some(name) = mailbox.to_utf8(names).filter(|n| !n.is_empty()) else {
                    return Err(bad("Invalid mailbox name"));
                };
                a.mailbox = name;
                a.at = AppendAt::Messages { any: false };
            }
            Item::Message {
                flags,
                date,
                literal,
                binary,
                utf8,
            } => {
                if a.messages >= 1 && !multi {
                    return Err(bad("MULTIAPPEND not supported"));
                }
                if utf8 && !utf8_ok {
                    // RFC 6855 §4: the UTF8 data item exists once enabled.
                    return Err(bad("UTF8 APPEND needs ENABLE UTF8=ACCEPT"));
                }
                if a.messages >= max_messages {
                    return Err(too_many());
                }
                let size = literal.size();
                if size > max {
                    return Err(too_big());
                }
                a.messages += 1;
                a.at = if utf8 {
                    AppendAt::Utf8Close { in_catenate: false }
                } else {
                    AppendAt::Messages { any: true }
                };
                let first = a.id.is_none();
                let mailbox = a.mailbox.clone();
                let then = match literal {
                    Lit::Inline(d) => AppendThen::Inline(d),
                    Lit::Announced { mode, .. } => AppendThen::Stream(mode),
                };
                let flags = flags.unwrap_or_default();
                let id = self.append_id();
                let event = if first {
                    Event::AppendBegin {
                        id,
                        mailbox,
                        flags,
                        date,
                        size,
                        binary,
                    }
                } else {
                    Event::AppendMessage {
                        id,
                        mailbox,
                        flags,
                        date,
                        size: Some(size),
                        binary,
                    }
                };
                self.ask_again(id, event, Pending::AppendStep { then, url: false });
            }
            Item::Catenate { flags, date } => {
                if !catenate {
                    return Err(bad("CATENATE not supported"));
                }
                if a.messages >= 1 && !multi {
                    return Err(bad("MULTIAPPEND not supported"));
                }
                if a.messages >= max_messages {
                    return Err(too_many());
                }
                a.messages += 1;
                a.cat_size = 0;
                a.at = AppendAt::Catenate { first: true };
                let mailbox = a.mailbox.clone();
                let id = self.append_id();
                self.ask_again(
                    id,
                    Event::AppendMessage {
                        id,
                        mailbox,
                        flags: flags.unwrap_or_default(),
                        date,
                        size: None,
                        binary: false,
                    },
                    Pending::AppendStep {
                        then: AppendThen::Continue,
                        url: false,
                    },
                );
            }
            Item::Text { literal, utf8 } => {
                if utf8 && !utf8_ok {
                    return Err(bad("UTF8 APPEND needs ENABLE UTF8=ACCEPT"));
                }
                a.cat_size = a.cat_size.saturating_add(literal.size());
                if a.cat_size > max {
                    return Err(too_big());
                }
                a.at = if utf8 {
                    AppendAt::Utf8Close { in_catenate: true }
                } else {
                    AppendAt::Catenate { first: false }
                };
                let id = a.id;
                match literal {
                    Lit::Inline(data) => {
                        if let Some(id) = id {
                            self.events.push_back(Event::AppendChunk { id, data });
                        }
                    }
                    Lit::Announced { mode, .. } => self.append_stream(mode),
                }
            }
            Item::Url(url) => {
                a.at = AppendAt::Catenate { first: false };
                let id = self.append_id();
                self.ask_again(
                    id,
                    Event::AppendUrl { id, url },
                    Pending::AppendStep {
                        then: AppendThen::Continue,
                        url: true,
                    },
                );
            }
            Item::CatenateEnd => a.at = AppendAt::Messages { any: true },
            Item::Utf8End { in_catenate } => {
                a.at = if in_catenate {
                    AppendAt::Catenate { first: false }
                } else {
                    AppendAt::Messages { any: true }
                };
            }
            Item::End => {
                if a.announced.is_some() || a.pos != a.text.len() {
                    return Err(bad("Unexpected data after the message"));
                }
                let (Some(id), tag) = (a.id, a.tag.clone()) else {
                    return Err(bad("APPEND without a message"));
                };
                self.appending = None;
                self.events.push_back(Event::AppendEnd { id });
                self.wait = Wait::Answer {
                    id,
                    pending: Pending::AppendEnd { tag },
                };
            }
        }
        Ok(())
    }

    /// Asks the adapter with an `id` chosen earlier (every event of one
    /// APPEND shares its id).
    fn ask_again(&mut self, id: RequestId, event: Event, pending: Pending) {
        if let Some(a) = self.appending.as_mut() {
            a.id = Some(id);
        }
        self.events.push_back(event);
        self.wait = Wait::Answer { id, pending };
    }

    /// Accepts the announced literal for streaming and sends `+`.
    fn append_stream(&mut self, mode: LiteralMode) {
        if self.framer.accept_literal_streaming().is_err() {
            return self.append_fail(Condition::Bad, RespText::plain("APPEND failed"));
        }
        if mode == LiteralMode::Sync {
            self.send(&Response::Continue(crate::response::Continue(
                RespText::plain("Ready for literal data"),
            )));
        }
        if let Some(a) = self.appending.as_mut() {
            a.pos = a.text.len();
            a.announced = None;
        }
        self.wait = Wait::Appending;
    }

    /// Ends the APPEND with `condition`: at once when the client waits for
    /// `+` or the command is complete, else once the framer skipped the
    /// literal under way.
    pub(super) fn append_fail(&mut self, condition: Condition, text: RespText) {
        self.wait = Wait::Nothing;
        let Some(a) = self.appending.take() else {
            return;
        };
        if a.begun
            && let Some(id) = a.id
        {
            self.events.push_back(Event::AppendAbort { id });
        }
        let status = Status::Tagged {
            tag: a.tag.clone(),
            condition,
            text,
        };
        if let Some(mode) = a.announced {
            let _ = self.framer.reject_literal();
            if mode == LiteralMode::NonSync {
                // The octets are coming: answer once they are skipped, or
                // at once (and close) when too many to skip (RFC 7888 §4).
                if let Status::Tagged {
                    tag,
                    condition,
                    text,
                } = status
                {
                    self.refuse_non_sync(tag, condition, text, a.announced_size);
                }
                return;
            }
        }
        if let Status::Tagged {
            tag,
            condition,
            text,
        } = status
        {
            self.tagged(tag, condition, text);
        }
    }

    /// Answers an [`Event::AppendBegin`] or [`Event::AppendMessage`]:
    /// `Ok(())` reads on (sending `+` for the message's literal),
    /// `Err(text)` fails the command (`[TRYCREATE]`, `[OVERQUOTA]`,
    /// `[TOOBIG]` ...).
    pub fn respond_append_begin(
        &mut self,
        id: RequestId,
        answer: Result<(), RespText>,
    ) -> Result<(), Result<(), RespText>> {
        self.append_step_answer(id, false, answer)
    }

    /// Answers an [`Event::AppendUrl`]: `Ok(())` once the URL's content
    /// was appended, `Err(text)` (`[BADURL url]`, `[TOOBIG]`) fails the
    /// command.
    pub fn respond_append_url(
        &mut self,
        id: RequestId,
        answer: Result<(), RespText>,
    ) -> Result<(), Result<(), RespText>> {
        self.append_step_answer(id, true, answer)
    }

    fn append_step_answer(
        &mut self,
        id: RequestId,
        is_url: bool,
        answer: Result<(), RespText>,
    ) -> Result<(), Result<(), RespText>> {
        let Some(Pending::AppendStep { then, .. }) = self.take_pending(
            id,
            |p| matches!(p, Pending::AppendStep { url, .. } if *url == is_url),
        ) else {
            return Err(answer);
        };
        self.wait = Wait::Appending;
        match answer {
            Err(text) => self.append_fail(Condition::No, text),
            Ok(()) => {
                if !is_url && let Some(a) = self.appending.as_mut() {
                    a.begun = true;
                }
                match then {
                    AppendThen::Inline(data) => {
                        self.events.push_back(Event::AppendChunk { id, data });
                        self.append_drive();
                    }
                    AppendThen::Stream(mode) => self.append_stream(mode),
                    AppendThen::Continue => self.append_drive(),
                }
            }
        }
        Ok(())
    }

    /// Answers an [`Event::AppendEnd`] of one message: `Ok(answer)` sends
    /// `OK [APPENDUID ...]`, `Err(text)` sends `NO`.
    pub fn respond_append_end(
        &mut self,
        id: RequestId,
        answer: Result<AppendAnswer, RespText>,
    ) -> Result<(), Result<AppendAnswer, RespText>> {
        if !matches!(&self.wait, Wait::Answer { id: p, pending: Pending::AppendEnd { .. } } if *p == id)
        {
            return Err(answer);
        }
        let answer = answer.map(|a| AppendUids {
            uid_validity: a.uid_validity,
            uids: vec![a.uid],
        });
        self.respond_append_uids(id, answer).map_err(|e| {
            e.map(|u| AppendAnswer {
                uid_validity: u.uid_validity,
                uid: u.uids.first().copied().unwrap_or(std::num::NonZeroU32::MIN),
            })
        })
    }

    /// Answers an [`Event::AppendEnd`] of any number of messages (RFC
    /// 3502): `Ok(uids)` sends `OK [APPENDUID v uid-set]`, `Err(text)`
    /// sends `NO` (nothing was stored).
    pub fn respond_append_uids(
        &mut self,
        id: RequestId,
        answer: Result<AppendUids, RespText>,
    ) -> Result<(), Result<AppendUids, RespText>> {
        let Some(Pending::AppendEnd { tag }) =
            self.take_pending(id, |p| matches!(p, Pending::AppendEnd { .. }))
        else {
            return Err(answer);
        };
        self.sync_then(super::pending::AfterSync::AppendEnd { tag, answer });
        Ok(())
    }

    /// The tagged answer of an APPEND, once the changes are in.
    pub(super) fn finish_append_end(&mut self, tag: Tag, answer: Result<AppendUids, RespText>) {
        match answer {
            Ok(a) => {
                let code = uid_set(&a.uids).map(|uids| Code::AppendUid {
                    uid_validity: a.uid_validity,
                    uids,
                });
                self.complete(tag, true, code, "APPEND completed");
            }
            Err(text) => self.no(tag, text),
        }
    }
}

/// An [`AppendItem`] with owned data (the text it borrows from is
/// replaced by the next frame).
enum Item {
    Head {
        mailbox: crate::types::Mailbox,
    },
    Message {
        flags: Option<Vec<crate::types::Flag>>,
        date: Option<crate::types::DateTime>,
        literal: Lit,
        binary: bool,
        utf8: bool,
    },
    Catenate {
        flags: Option<Vec<crate::types::Flag>>,
        date: Option<crate::types::DateTime>,
    },
    Text {
        literal: Lit,
        utf8: bool,
    },
    Url(String),
    CatenateEnd,
    Utf8End {
        in_catenate: bool,
    },
    End,
}

enum Lit {
    Inline(Bytes),
    Announced { size: u64, mode: LiteralMode },
}

impl Lit {
    fn size(&self) -> u64 {
        match self {
            Lit::Inline(d) => d.len() as u64,
            Lit::Announced { size, .. } => *size,
        }
    }
}

fn own_lit(l: AppendLiteral<'_>) -> Lit {
    match l {
        AppendLiteral::Inline(d) => Lit::Inline(Bytes::copy_from_slice(d)),
        AppendLiteral::Announced { size, mode } => Lit::Announced { size, mode },
    }
}

fn own(item: AppendItem<'_>) -> Item {
    match item {
        AppendItem::Head { mailbox, .. } => Item::Head { mailbox },
        AppendItem::Message {
            flags,
            date,
            literal,
            binary,
            utf8,
        } => Item::Message {
            flags,
            date,
            literal: own_lit(literal),
            binary,
            utf8,
        },
        AppendItem::Catenate { flags, date } => Item::Catenate { flags, date },
        AppendItem::Text { literal, utf8, .. } => Item::Text {
            literal: own_lit(literal),
            utf8,
        },
        AppendItem::Url(u) => Item::Url(u),
        AppendItem::CatenateEnd => Item::CatenateEnd,
        // The caller knows whether it was inside CATENATE from `at`.
        AppendItem::Utf8End => Item::Utf8End { in_catenate: false },
        AppendItem::End => Item::End,
    }
}
