//! Command dispatch: state checks, the commands the session answers
//! itself, and the events and answers of the storage commands.

use super::fetch::{FetchJob, SearchJob};
use super::list::ListRequest;
use super::{
    AppendAnswer, CopyAnswer, Event, MailboxOp, QResyncParams, RequestId, SelectAnswer, Selected,
    ServerSession, SessionState, StatusAnswer, StoreAnswer, Wait,
};
use crate::command::{SelectParameter, StatusAttribute, StoreAction};
use crate::message::compact_sequence_set;
use crate::response::{
    Code, Condition, Data, Delimiter, MessageDataItem, NamespaceDescr, RespText, Response, Status,
    StatusItem, UnitCode,
};
use crate::types::{Capability, Flag, IString, LiteralMode, Mailbox, NString, SequenceSet, Tag};
use crate::view::{FlagUpdate, MailboxChange, MailboxView};
use crate::{Command, CommandBody, Version};
use bytes::Bytes;
use std::num::NonZeroU32;

/// What an answer from the adapter completes.
#[derive(Debug)]
pub(super) enum Pending {
    Auth {
        tag: Tag,
        username: String,
    },
    Select {
        tag: Tag,
        name: String,
        read_only: bool,
        condstore: bool,
        qresync: Option<QResyncParams>,
    },
    Mailbox {
        tag: Tag,
    },
    List {
        tag: Tag,
        request: ListRequest,
    },
    Status {
        tag: Tag,
        mailbox: Mailbox,
        attributes: Vec<StatusAttribute>,
    },
    ListStatus {
        tag: Tag,
        mailbox: Mailbox,
        rest: super::list::ListStatusRest,
    },
    AppendBegin {
        tag: Tag,
        /// `Some` for a literal the framer announced (send `+` for Sync).
        announced: Option<LiteralMode>,
        /// The message of a small non-synchronising literal, already read.
        inline: Option<Bytes>,
    },
    AppendEnd {
        tag: Tag,
    },
    Job(Job),
    Store {
        tag: Tag,
        uid: bool,
        silent: bool,
        mod_seq: bool,
    },
    Copy {
        tag: Tag,
        uid: bool,
        is_move: bool,
    },
    Expunge {
        tag: Tag,
        close: bool,
        uid: bool,
    },
}

/// A multi-step command.
#[derive(Debug)]
pub(super) enum Job {
    Fetch(Box<FetchJob>),
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

    pub(super) fn ask(&mut self, event: impl FnOnce(RequestId) -> Event, pending: Pending) {
        let id = self.next_request_id();
        self.events.push_back(event(id));
        self.wait = Wait::Answer { id, pending };
    }

    /// Ends a command with OK after sending pending updates.
    pub(super) fn complete(&mut self, tag: Tag, expunge: bool, code: Option<Code>, text: &str) {
        self.flush_updates(expunge);
        self.ok(tag, code, text);
    }

    /// A name from the wire as UTF-8 (modified UTF-7 decoded for
    /// IMAP4rev1).
    pub(super) fn name_of(&self, m: &Mailbox) -> Option<String> {
        m.to_utf8(self.version)
    }

    pub(super) fn command(&mut self, bytes: &[u8]) {
        match Command::parse_with_limits(bytes, &self.config.limits.codec) {
            Ok(cmd) => self.dispatch(cmd),
            Err(e) => match e.tag {
                Some(tag) => self.bad(tag, "Syntax error in command"),
                None => {
                    self.bad_commands += 1;
                    self.send(&Response::Status(Status::bad(
                        None,
                        None,
                        "Missing or invalid tag",
                    )));
                    if self.bad_commands >= self.config.limits.max_bad_commands {
                        self.send(&Response::Status(Status::bye(
                            None,
                            "Too many invalid commands",
                        )));
                        self.close();
                    }
                }
            },
        }
    }

    fn dispatch(&mut self, cmd: Command) {
        use CommandBody as B;
        let tag = cmd.tag;
        let authed = self.state != SessionState::NotAuthenticated;
        let selected = self.selected.is_some();
        // RFC 9051 §3: commands valid only in some states.
        let needs_auth = !matches!(
            cmd.body,
            B::Capability
                | B::Noop
                | B::Logout
                | B::StartTls
                | B::Authenticate { .. }
                | B::Login { .. }
                | B::Id { .. }
        );
        let needs_selected = matches!(
            cmd.body,
            B::Check
                | B::Close
                | B::Unselect
                | B::Expunge
                | B::UidExpunge { .. }
                | B::Search { .. }
                | B::Fetch { .. }
                | B::Store { .. }
                | B::Copy { .. }
                | B::Move { .. }
        );
        if needs_auth && !authed {
            self.bad(tag, "Log in first");
            return;
        }
        if needs_selected && !selected {
            self.bad(tag, "No mailbox selected");
            return;
        }
        match cmd.body {
            B::Capability => {
                let caps = self.capabilities();
                self.send(&Response::Data(Data::Capability(caps)));
                self.complete(tag, true, None, "CAPABILITY completed");
            }
            B::Noop => self.complete(tag, true, None, "NOOP completed"),
            B::Check => self.complete(tag, true, None, "CHECK completed"),
            B::Logout => {
                self.send(&Response::Status(Status::bye(None, "Logging out")));
                self.ok(tag, None, "LOGOUT completed");
                self.selected = None;
                self.close();
            }
            B::StartTls => {
                if authed || self.tls_active || !self.offers(&Capability::StartTls) {
                    self.bad(tag, "STARTTLS not available");
                    return;
                }
                self.ok(tag, None, "Begin TLS negotiation now");
                // RFC 9051 §6.2.1: nothing pipelined after STARTTLS is
                // read (command injection); the framer forgets it all.
                self.framer = crate::framer::Framer::new(
                    crate::framer::Role::Server,
                    self.config.limits.codec,
                );
                self.wait = Wait::Switch { emitted: false };
            }
            B::Login { username, password } => {
                if authed {
                    self.bad(tag, "Already authenticated");
                    return;
                }
                let pass = password.into_inner();
                self.login_command(tag, username.as_bytes(), pass.as_bytes());
            }
            B::Authenticate {
                mechanism,
                initial_response,
            } => {
                if authed {
                    self.bad(tag, "Already authenticated");
                    return;
                }
                self.authenticate_command(tag, &mechanism, initial_response);
            }
            B::Id { .. } => {
                let params = self.config.id.as_ref().map(|v| {
                    v.iter()
                        .filter_map(|(k, v)| {
                            Some((
                                IString::from_bytes(k.as_bytes()).ok()?,
                                NString::String(IString::from_bytes(v.as_bytes()).ok()?),
                            ))
                        })
                        .collect()
                });
                self.send(&Response::Data(Data::Id(params)));
                self.complete(tag, true, None, "ID completed");
            }
            B::Enable { capabilities } => self.enable(tag, capabilities),
            B::Namespace => {
                let personal = NamespaceDescr {
                    prefix: IString::from_bytes(b"").unwrap_or_else(|_| unreachable!()),
                    delimiter: Delimiter::new(self.config.delimiter),
                    extensions: Vec::new(),
                };
                self.send(&Response::Data(Data::Namespace {
                    personal: Some(vec![personal]),
                    other: None,
                    shared: None,
                }));
                self.complete(tag, true, None, "NAMESPACE completed");
            }
            B::Select {
                mailbox,
                parameters,
            } => self.select(tag, &mailbox, parameters, false),
            B::Examine {
                mailbox,
                parameters,
            } => self.select(tag, &mailbox, parameters, true),
            B::Unselect => {
                self.selected = None;
                self.state = SessionState::Authenticated;
                self.ok(tag, None, "UNSELECT completed");
            }
            B::Close => {
                let Some(sel) = self.selected.as_ref() else {
                    return;
                };
                let uids = if sel.read_only {
                    Vec::new()
                } else {
                    deleted_uids(&sel.view, None)
                };
                if uids.is_empty() {
                    self.selected = None;
                    self.state = SessionState::Authenticated;
                    self.ok(tag, None, "CLOSE completed");
                    return;
                }
                self.ask(
                    |id| Event::Expunge { id, uids },
                    Pending::Expunge {
                        tag,
                        close: true,
                        uid: false,
                    },
                );
            }
            B::Expunge => self.expunge(tag, None),
            B::UidExpunge { sequence_set } => self.expunge(tag, Some(sequence_set)),
            B::Create {
                mailbox,
                special_use,
            } => {
                let Some(name) = self.valid_name(&tag, &mailbox) else {
                    return;
                };
                let op = MailboxOp::Create {
                    name,
                    special_use: special_use.unwrap_or_default(),
                };
                self.ask(|id| Event::Mailbox { id, op }, Pending::Mailbox { tag });
            }
            B::Delete { mailbox } => {
                self.mailbox_op(tag, &mailbox, |name| MailboxOp::Delete { name })
            }
            B::Subscribe { mailbox } => {
                self.mailbox_op(tag, &mailbox, |name| MailboxOp::Subscribe { name })
            }
            B::Unsubscribe { mailbox } => {
                self.mailbox_op(tag, &mailbox, |name| MailboxOp::Unsubscribe { name })
            }
            B::Rename { from, to } => {
                let Some(from) = self.valid_name(&tag, &from) else {
                    return;
                };
                let Some(to) = self.valid_name(&tag, &to) else {
                    return;
                };
                self.ask(
                    |id| Event::Mailbox {
                        id,
                        op: MailboxOp::Rename { from, to },
                    },
                    Pending::Mailbox { tag },
                );
            }
            B::List {
                selection,
                reference,
                patterns,
                return_options,
            } => {
                let request = ListRequest::list(
                    self,
                    selection.unwrap_or_default(),
                    &reference,
                    &patterns,
                    return_options.unwrap_or_default(),
                );
                self.start_list(tag, request);
            }
            B::Lsub { reference, pattern } => {
                let request = ListRequest::lsub(self, &reference, &pattern);
                self.start_list(tag, request);
            }
            B::Status {
                mailbox,
                attributes,
            } => {
                let Some(name) = self.valid_name(&tag, &mailbox) else {
                    return;
                };
                self.ask(
                    |id| Event::Status { id, mailbox: name },
                    Pending::Status {
                        tag,
                        mailbox,
                        attributes,
                    },
                );
            }
            B::Append {
                mailbox,
                flags,
                date,
                message,
            } => {
                // A small literal the framer buffered: the whole message is
                // here already.
                let Some(name) = self.valid_name(&tag, &mailbox) else {
                    return;
                };
                let data = Bytes::from(message.literal.into_data());
                if data.len() as u64 > self.config.limits.max_message_size {
                    self.no(
                        tag,
                        RespText::with_code(Code::Unit(UnitCode::TooBig), "Message too large"),
                    );
                    return;
                }
                let size = data.len() as u64;
                self.ask(
                    |id| Event::AppendBegin {
                        id,
                        mailbox: name,
                        flags: flags.unwrap_or_default(),
                        date,
                        size,
                    },
                    Pending::AppendBegin {
                        tag,
                        announced: None,
                        inline: Some(data),
                    },
                );
            }
            B::Idle => {
                self.flush_updates(true);
                self.send(&Response::Continue(crate::response::Continue(
                    RespText::plain("idling"),
                )));
                self.events.push_back(Event::IdleStarted);
                self.wait = Wait::Idle { tag };
            }
            B::Fetch {
                uid,
                sequence_set,
                attributes,
                modifiers,
            } => self.start_fetch(tag, uid, &sequence_set, attributes, modifiers),
            B::Search {
                uid,
                return_options,
                charset,
                criteria,
            } => self.start_search(tag, uid, return_options, charset, criteria),
            B::Store {
                uid,
                sequence_set,
                unchanged_since,
                action,
                silent,
                flags,
            } => self.store(
                tag,
                uid,
                &sequence_set,
                unchanged_since,
                action,
                silent,
                flags,
            ),
            B::Copy {
                uid,
                sequence_set,
                mailbox,
            } => self.copy(tag, uid, &sequence_set, &mailbox, false),
            B::Move {
                uid,
                sequence_set,
                mailbox,
            } => self.copy(tag, uid, &sequence_set, &mailbox, true),
        }
    }

    fn valid_name(&mut self, tag: &Tag, m: &Mailbox) -> Option<String> {
        match self.name_of(m) {
            Some(n) if !n.is_empty() => Some(n),
            _ => {
                self.bad(tag.clone(), "Invalid mailbox name");
                None
            }
        }
    }

    fn mailbox_op(&mut self, tag: Tag, m: &Mailbox, op: impl FnOnce(String) -> MailboxOp) {
        let Some(name) = self.valid_name(&tag, m) else {
            return;
        };
        let op = op(name);
        self.ask(|id| Event::Mailbox { id, op }, Pending::Mailbox { tag });
    }

    fn enable(&mut self, tag: Tag, caps: Vec<Capability>) {
        let mut enabled = Vec::new();
        for c in caps {
            let offered = self.offers(&c);
            let utf8 = matches!(&c, Capability::Other(a) if a.as_str().eq_ignore_ascii_case("UTF8=ACCEPT"));
            if !offered {
                continue;
            }
            match c {
                Capability::CondStore if !self.enabled.condstore => {
                    self.enabled.condstore = true;
                    enabled.push(c);
                }
                Capability::QResync if !self.enabled.qresync => {
                    // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
                    self.enabled.qresync = true;
                    self.enabled.condstore = true;
                    enabled.push(c);
                }
                Capability::Imap4Rev2 if self.version != Version::Rev2 => {
                    enabled.push(c);
                }
                _ if utf8 && !self.enabled.utf8 => {
                    self.enabled.utf8 = true;
                    enabled.push(c);
                }
                _ => {}
            }
        }
        // ENABLED goes out in the old encoding; IMAP4rev2 applies after.
        self.send(&Response::Data(Data::Enabled(enabled.clone())));
        if enabled.contains(&Capability::Imap4Rev2) {
            self.version = Version::Rev2;
        }
        self.complete(tag, true, None, "ENABLE completed");
    }

    fn select(&mut self, tag: Tag, m: &Mailbox, params: Vec<SelectParameter>, read_only: bool) {
        // RFC 9051 §6.3.2: a SELECT first closes the selected mailbox,
        // even when it then fails; [CLOSED] marks the boundary (RFC 7162
        // §3.2.11, part of IMAP4rev2).
        if self.selected.take().is_some() {
            self.send(&Response::Status(Status::ok(
                None,
                Some(Code::Unit(UnitCode::Closed)),
                "Previous mailbox closed",
            )));
        }
        self.state = SessionState::Authenticated;
        let Some(name) = self.valid_name(&tag, m) else {
            return;
        };
        let mut condstore = false;
        let mut qresync = None;
        for p in params {
            match p {
                SelectParameter::CondStore => condstore = true,
                SelectParameter::QResync {
                    uid_validity,
                    mod_seq,
                    ..
                } => {
                    if !self.enabled.qresync {
                        self.bad(tag, "QRESYNC is not enabled");
                        return;
                    }
                    qresync = Some(QResyncParams {
                        uid_validity: uid_validity.get(),
                        mod_seq,
                    });
                }
            }
        }
        if condstore && !self.offers(&Capability::CondStore) {
            self.bad(tag, "CONDSTORE not supported");
            return;
        }
        let mailbox = name.clone();
        let params = qresync.clone();
        self.ask(
            |id| Event::Select {
                id,
                mailbox,
                read_only,
                qresync: params,
            },
            Pending::Select {
                tag,
                name,
                read_only,
                condstore,
                qresync,
            },
        );
    }

    /// Answers an [`Event::Select`]: `Ok(answer)` selects the mailbox,
    /// `Err(text)` is sent as `NO` (e.g. `[NONEXISTENT]`). Hands the
    /// answer back if `id` is not the pending SELECT.
    // Handing the answer back unchanged is the contract (DESIGN.md §2).
    #[allow(clippy::result_large_err)]
    pub fn respond_select(
        &mut self,
        id: RequestId,
        answer: Result<SelectAnswer, RespText>,
    ) -> Result<(), Result<SelectAnswer, RespText>> {
        let Some(Pending::Select {
            tag,
            name,
            read_only,
            condstore,
            qresync,
        }) = self.take_pending(id, |p| matches!(p, Pending::Select { .. }))
        else {
            return Err(answer);
        };
        let a = match answer {
            Ok(a) => a,
            Err(text) => {
                self.no(tag, text);
                return Ok(());
            }
        };
        if condstore {
            self.enabled.condstore = true;
        }
        let read_only = read_only || a.read_only;
        let view = MailboxView::new(a.messages);
        let d = |s: &mut Self, d: Data| s.send(&Response::Data(d));
        let okc = |s: &mut Self, c: Code, t: &str| {
            s.send(&Response::Status(Status::ok(None, Some(c), t)))
        };
        d(self, Data::Flags(a.flags));
        d(self, Data::Exists(view.exists()));
        if self.version == Version::Rev1 {
            d(self, Data::Recent(view.recent()));
            if let Some(u) = view.first_unseen() {
                okc(self, Code::Unseen(u), "First unseen");
            }
        }
        let perm = if read_only {
            Vec::new()
        } else {
            a.permanent_flags
        };
        okc(self, Code::PermanentFlags(perm), "Limited");
        okc(self, Code::UidValidity(a.uid_validity), "UIDs valid");
        okc(self, Code::UidNext(a.uid_next), "Predicted next UID");
        if self.enabled.condstore {
            match a.highest_mod_seq {
                Some(m) => okc(self, Code::HighestModSeq(m), "Highest"),
                None => okc(self, Code::Unit(UnitCode::NoModSeq), "No mod-sequences"),
            }
        }
        // RFC 7162 §3.2.5.1: with a matching UIDVALIDITY, report what
        // vanished and changed since the client's mod-sequence.
        if let Some(q) = qresync.filter(|q| q.uid_validity == a.uid_validity.get()) {
            if let Some(uids) = compact_sequence_set(&a.vanished) {
                d(
                    self,
                    Data::Vanished {
                        earlier: true,
                        uids,
                    },
                );
            }
            for (seq, m) in view.iter() {
                if m.mod_seq > q.mod_seq {
                    let items = crate::view::fetch_items(m, true, true);
                    d(self, Data::Fetch { seq, items });
                }
            }
        }
        self.selected = Some(Selected {
            name,
            read_only,
            view,
        });
        self.state = SessionState::Selected;
        self.saved_search.clear();
        let code = if read_only {
            Code::ReadOnly
        } else {
            Code::ReadWrite
        };
        self.ok(tag, Some(code), "SELECT completed");
        Ok(())
    }

    /// Answers an [`Event::Mailbox`]: `Ok(())` or `Err(text)` sent as
    /// `NO` (`[ALREADYEXISTS]`, `[NONEXISTENT]`, `[CANNOT]` ...).
    pub fn respond_mailbox(
        &mut self,
        id: RequestId,
        answer: Result<(), RespText>,
    ) -> Result<(), Result<(), RespText>> {
        let Some(Pending::Mailbox { tag }) =
            self.take_pending(id, |p| matches!(p, Pending::Mailbox { .. }))
        else {
            return Err(answer);
        };
        match answer {
            Ok(()) => self.complete(tag, true, None, "Completed"),
            Err(text) => self.no(tag, text),
        }
        Ok(())
    }

    /// Answers an [`Event::Status`].
    pub fn respond_status(
        &mut self,
        id: RequestId,
        answer: Result<StatusAnswer, RespText>,
    ) -> Result<(), Result<StatusAnswer, RespText>> {
        if let Some(Pending::ListStatus { tag, mailbox, rest }) =
            self.take_pending(id, |p| matches!(p, Pending::ListStatus { .. }))
        {
            self.list_status_answer(tag, mailbox, rest, answer);
            return Ok(());
        }
        let Some(Pending::Status {
            tag,
            mailbox,
            attributes,
        }) = self.take_pending(id, |p| matches!(p, Pending::Status { .. }))
        else {
            return Err(answer);
        };
        match answer {
            Ok(a) => {
                let items = status_items(&a, &attributes, self.version);
                if attributes.contains(&StatusAttribute::HighestModSeq) {
                    self.enabled.condstore = true;
                }
                self.send(&Response::Data(Data::Status { mailbox, items }));
                self.complete(tag, true, None, "STATUS completed");
            }
            Err(text) => self.no(tag, text),
        }
        Ok(())
    }

    /// An APPEND literal was announced (`tag APPEND box ... {N}`).
    pub(super) fn literal_announced(
        &mut self,
        tag: Option<Tag>,
        so_far: &[u8],
        size: u64,
        mode: LiteralMode,
    ) {
        let refuse = |s: &mut Self, text: RespText, condition: Condition| {
            let _ = s.framer.reject_literal();
            let Some(tag) = tag.clone() else {
                return;
            };
            match mode {
                // The client waits for `+`: answer now.
                LiteralMode::Sync => s.tagged(tag, condition, text),
                // The octets are coming: answer once they are skipped.
                LiteralMode::NonSync => {
                    s.discard_answer = Some(Status::Tagged {
                        tag,
                        condition,
                        text,
                    })
                }
            }
        };
        match std::mem::replace(&mut self.wait, Wait::Nothing) {
            Wait::Nothing => {}
            Wait::AppendData { id, tag: t } => {
                // A second message (MULTIAPPEND, RFC 3502) is not offered.
                self.events.push_back(Event::AppendAbort { id });
                let _ = t;
                refuse(
                    self,
                    RespText::plain("MULTIAPPEND not supported"),
                    Condition::Bad,
                );
                return;
            }
            Wait::Sasl { tag: t, .. } | Wait::Idle { tag: t } => {
                let _ = self.framer.reject_literal();
                if mode == LiteralMode::NonSync {
                    self.discard_answer = Some(Status::bad(Some(t), None, "Unexpected literal"));
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
        if let Ok(head) = crate::command::AppendHead::parse(so_far) {
            if self.state == SessionState::NotAuthenticated {
                refuse(self, RespText::plain("Log in first"), Condition::Bad);
                return;
            }
            if size > self.config.limits.max_message_size {
                let text = RespText::with_code(Code::Unit(UnitCode::TooBig), "Message too large");
                refuse(self, text, Condition::No);
                return;
            }
            let Some(name) = self.name_of(&head.mailbox).filter(|n| !n.is_empty()) else {
                refuse(
                    self,
                    RespText::plain("Invalid mailbox name"),
                    Condition::Bad,
                );
                return;
            };
            self.ask(
                |id| Event::AppendBegin {
                    id,
                    mailbox: name,
                    flags: head.flags.unwrap_or_default(),
                    date: head.date,
                    size,
                },
                Pending::AppendBegin {
                    tag: head.tag,
                    announced: Some(mode),
                    inline: None,
                },
            );
            return;
        }
        if size <= self.config.limits.codec.max_literal_size && self.framer.accept_literal().is_ok()
        {
            if mode == LiteralMode::Sync {
                self.send(&Response::Continue(crate::response::Continue(
                    RespText::plain("Ready"),
                )));
            }
            return;
        }
        let text = RespText::with_code(Code::Unit(UnitCode::TooBig), "Literal too large");
        refuse(self, text, Condition::Bad);
    }

    /// Answers an [`Event::AppendBegin`]: `Ok(())` sends `+` and the
    /// message follows as [`Event::AppendChunk`]s; `Err(text)` refuses
    /// (`[TRYCREATE]`, `[OVERQUOTA]`, `[TOOBIG]` ...).
    pub fn respond_append_begin(
        &mut self,
        id: RequestId,
        answer: Result<(), RespText>,
    ) -> Result<(), Result<(), RespText>> {
        let Some(Pending::AppendBegin {
            tag,
            announced,
            inline,
        }) = self.take_pending(id, |p| matches!(p, Pending::AppendBegin { .. }))
        else {
            return Err(answer);
        };
        match (answer, announced) {
            (Ok(()), Some(mode)) => {
                if self.framer.accept_literal_streaming().is_err() {
                    self.bad(tag, "APPEND failed");
                    return Ok(());
                }
                if mode == LiteralMode::Sync {
                    self.send(&Response::Continue(crate::response::Continue(
                        RespText::plain("Ready for literal data"),
                    )));
                }
                self.wait = Wait::AppendData { id, tag };
            }
            (Ok(()), None) => {
                if let Some(data) = inline {
                    self.events.push_back(Event::AppendChunk { id, data });
                }
                self.events.push_back(Event::AppendEnd { id });
                self.wait = Wait::Answer {
                    id,
                    pending: Pending::AppendEnd { tag },
                };
            }
            (Err(text), Some(mode)) => {
                let _ = self.framer.reject_literal();
                match mode {
                    LiteralMode::Sync => self.no(tag, text),
                    LiteralMode::NonSync => {
                        self.discard_answer = Some(Status::Tagged {
                            tag,
                            condition: Condition::No,
                            text,
                        })
                    }
                }
            }
            (Err(text), None) => self.no(tag, text),
        }
        Ok(())
    }

    /// The rest of an APPEND after its streamed message: only CRLF may
    /// follow (no MULTIAPPEND).
    pub(super) fn append_tail(&mut self, id: RequestId, tag: Tag, command: &[u8]) {
        let last_line = match command[..command.len().saturating_sub(1)]
            .iter()
            .rposition(|b| *b == b'\n')
        {
            Some(p) => &command[p + 1..],
            None => command,
        };
        if last_line == b"\r\n" || last_line == b"\n" {
            self.events.push_back(Event::AppendEnd { id });
            self.wait = Wait::Answer {
                id,
                pending: Pending::AppendEnd { tag },
            };
        } else {
            self.events.push_back(Event::AppendAbort { id });
            self.bad(tag, "Unexpected data after the message");
        }
    }

    /// Answers an [`Event::AppendEnd`]: `Ok(answer)` sends `OK
    /// [APPENDUID ...]`, `Err(text)` sends `NO`.
    pub fn respond_append_end(
        &mut self,
        id: RequestId,
        answer: Result<AppendAnswer, RespText>,
    ) -> Result<(), Result<AppendAnswer, RespText>> {
        let Some(Pending::AppendEnd { tag }) =
            self.take_pending(id, |p| matches!(p, Pending::AppendEnd { .. }))
        else {
            return Err(answer);
        };
        match answer {
            Ok(a) => {
                let code = Code::AppendUid {
                    uid_validity: a.uid_validity,
                    uids: SequenceSet::single(a.uid),
                };
                self.complete(tag, true, Some(code), "APPEND completed");
            }
            Err(text) => self.no(tag, text),
        }
        Ok(())
    }

    /// A line while idling: `DONE` ends IDLE (RFC 2177 §3).
    pub(super) fn idle_line(&mut self, tag: Tag, line: &[u8]) {
        self.events.push_back(Event::IdleDone);
        if crate::command::is_idle_done(line) || line.eq_ignore_ascii_case(b"DONE\n") {
            self.complete(tag, true, None, "IDLE terminated");
        } else {
            self.bad(tag, "Expected DONE");
        }
    }

    /// The UIDs a sequence set names, `$` resolved to the saved result.
    pub(super) fn resolve(
        &mut self,
        tag: &Tag,
        set: &SequenceSet,
        uid: bool,
    ) -> Option<Vec<(NonZeroU32, NonZeroU32)>> {
        let sel = self.selected.as_ref()?;
        if set.is_search_result() {
            let saved = &self.saved_search;
            return Some(
                sel.view
                    .iter()
                    .filter(|(_, m)| saved.binary_search(&m.uid).is_ok())
                    .map(|(s, m)| (s, m.uid))
                    .collect(),
            );
        }
        match sel.view.resolve(set, uid) {
            Ok(v) => Some(v),
            Err(_) => {
                self.bad(tag.clone(), "Invalid message sequence number");
                None
            }
        }
    }

    fn expunge(&mut self, tag: Tag, set: Option<SequenceSet>) {
        let uid = set.is_some();
        let within = match &set {
            Some(s) => match self.resolve(&tag, s, true) {
                Some(v) => Some(v.into_iter().map(|(_, u)| u).collect::<Vec<_>>()),
                None => return,
            },
            None => None,
        };
        let Some(sel) = self.selected.as_ref() else {
            return;
        };
        if sel.read_only {
            self.no(
                tag,
                RespText::with_code(Code::ReadOnly, "Mailbox is read-only"),
            );
            return;
        }
        let uids = deleted_uids(&sel.view, within.as_deref());
        if uids.is_empty() {
            self.complete(tag, true, None, "EXPUNGE completed");
            return;
        }
        self.ask(
            |id| Event::Expunge { id, uids },
            Pending::Expunge {
                tag,
                close: false,
                uid,
            },
        );
    }

    /// Answers an [`Event::Expunge`] with the UIDs actually removed.
    pub fn respond_expunge(
        &mut self,
        id: RequestId,
        answer: Result<Vec<NonZeroU32>, RespText>,
    ) -> Result<(), Result<Vec<NonZeroU32>, RespText>> {
        let Some(Pending::Expunge { tag, close, uid }) =
            self.take_pending(id, |p| matches!(p, Pending::Expunge { .. }))
        else {
            return Err(answer);
        };
        let _ = uid;
        match answer {
            Ok(uids) if close => {
                let _ = uids;
                // CLOSE expunges silently (RFC 9051 §6.4.1).
                self.selected = None;
                self.state = SessionState::Authenticated;
                self.ok(tag, None, "CLOSE completed");
            }
            Ok(uids) => {
                if let Some(sel) = self.selected.as_mut() {
                    sel.view.apply(MailboxChange::Expunged(uids));
                }
                self.complete(tag, true, None, "EXPUNGE completed");
            }
            Err(text) => {
                if close {
                    self.selected = None;
                    self.state = SessionState::Authenticated;
                }
                self.no(tag, text);
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn store(
        &mut self,
        tag: Tag,
        uid: bool,
        set: &SequenceSet,
        unchanged_since: Option<u64>,
        action: StoreAction,
        silent: bool,
        flags: Vec<Flag>,
    ) {
        let Some(targets) = self.resolve(&tag, set, uid) else {
            return;
        };
        if self.selected.as_ref().is_some_and(|s| s.read_only) {
            self.no(
                tag,
                RespText::with_code(Code::ReadOnly, "Mailbox is read-only"),
            );
            return;
        }
        if unchanged_since.is_some() {
            // RFC 7162 §3.1: a CONDSTORE-using command enables it.
            self.enabled.condstore = true;
        }
        if targets.is_empty() {
            self.complete(tag, uid, None, "STORE completed");
            return;
        }
        let uids = targets.into_iter().map(|(_, u)| u).collect();
        let mod_seq = self.enabled.condstore;
        self.ask(
            |id| Event::Store {
                id,
                uids,
                action,
                flags,
                unchanged_since,
            },
            Pending::Store {
                tag,
                uid,
                silent,
                mod_seq,
            },
        );
    }

    /// Answers an [`Event::Store`].
    pub fn respond_store(
        &mut self,
        id: RequestId,
        answer: Result<StoreAnswer, RespText>,
    ) -> Result<(), Result<StoreAnswer, RespText>> {
        if let Some(Pending::Job(_)) = self.peek_pending(id) {
            return self.respond_seen(id, answer);
        }
        let Some(Pending::Store {
            tag,
            uid,
            silent,
            mod_seq,
        }) = self.take_pending(id, |p| matches!(p, Pending::Store { .. }))
        else {
            return Err(answer);
        };
        let a = match answer {
            Ok(a) => a,
            Err(text) => {
                self.no(tag, text);
                return Ok(());
            }
        };
        self.apply_own_flags(&a.updated, !silent, uid, mod_seq);
        let code = compact_sequence_set(&a.modified).map(Code::Modified);
        let text = if code.is_some() {
            "Conditional STORE failed"
        } else {
            "STORE completed"
        };
        self.complete(tag, uid, code, text);
        Ok(())
    }

    pub(super) fn peek_pending(&self, id: RequestId) -> Option<&Pending> {
        match &self.wait {
            Wait::Answer { id: p, pending } if *p == id => Some(pending),
            _ => None,
        }
    }

    /// Records flags this session stored and, when `announce`, sends
    /// `FETCH (FLAGS ...)` for them.
    pub(super) fn apply_own_flags(
        &mut self,
        updated: &[FlagUpdate],
        announce: bool,
        uid: bool,
        mod_seq: bool,
    ) {
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        let mut out = Vec::new();
        for u in updated {
            if !sel.view.set_flags(u.uid, u.flags.clone(), u.mod_seq) {
                continue;
            }
            if !announce {
                continue;
            }
            let Some(seq) = sel.view.seq_of(u.uid) else {
                continue;
            };
            if let Some(summary) = sel.view.get(seq.get()) {
                let mut items = Vec::new();
                if uid {
                    items.push(MessageDataItem::Uid(u.uid));
                }
                items.push(MessageDataItem::Flags(crate::view::flag_fetch(summary)));
                if mod_seq {
                    items.push(MessageDataItem::ModSeq(u.mod_seq));
                }
                out.push(Data::Fetch { seq, items });
            }
        }
        for d in out {
            self.send(&Response::Data(d));
        }
    }

    fn copy(&mut self, tag: Tag, uid: bool, set: &SequenceSet, m: &Mailbox, is_move: bool) {
        let Some(targets) = self.resolve(&tag, set, uid) else {
            return;
        };
        let Some(name) = self.valid_name(&tag, m) else {
            return;
        };
        if is_move && self.selected.as_ref().is_some_and(|s| s.read_only) {
            self.no(
                tag,
                RespText::with_code(Code::ReadOnly, "Mailbox is read-only"),
            );
            return;
        }
        if targets.is_empty() {
            self.complete(tag, uid, None, "Nothing to do");
            return;
        }
        let uids = targets.into_iter().map(|(_, u)| u).collect();
        self.ask(
            |id| Event::Copy {
                id,
                uids,
                mailbox: name,
                is_move,
            },
            Pending::Copy { tag, uid, is_move },
        );
    }

    /// Answers an [`Event::Copy`]: `Ok(answer)` with COPYUID data; for MOVE
    /// the session then sends EXPUNGE/VANISHED for the sources (RFC 6851
    /// §4.3). `Err(text)` is sent as `NO` (`[TRYCREATE]` when the target
    /// does not exist).
    pub fn respond_copy(
        &mut self,
        id: RequestId,
        answer: Result<CopyAnswer, RespText>,
    ) -> Result<(), Result<CopyAnswer, RespText>> {
        let Some(Pending::Copy { tag, uid, is_move }) =
            self.take_pending(id, |p| matches!(p, Pending::Copy { .. }))
        else {
            return Err(answer);
        };
        let a = match answer {
            Ok(a) => a,
            Err(text) => {
                self.no(tag, text);
                return Ok(());
            }
        };
        let code = match (
            compact_sequence_set(&a.source),
            compact_sequence_set(&a.destination),
        ) {
            (Some(source), Some(destination)) => Some(Code::CopyUid {
                uid_validity: a.uid_validity,
                source,
                destination,
            }),
            _ => None,
        };
        if is_move {
            if let Some(code) = code {
                self.send(&Response::Status(Status::ok(
                    None,
                    Some(code),
                    "Moved UIDs",
                )));
            }
            if let Some(sel) = self.selected.as_mut() {
                sel.view.apply(MailboxChange::Expunged(a.source));
            }
            let _ = uid;
            self.complete(tag, true, None, "MOVE completed");
        } else {
            self.complete(tag, uid, code, "COPY completed");
        }
        Ok(())
    }
}

/// UIDs carrying `\Deleted`, optionally within `within` (sorted or not).
fn deleted_uids(view: &MailboxView, within: Option<&[NonZeroU32]>) -> Vec<NonZeroU32> {
    view.iter()
        .filter(|(_, m)| m.flags.contains(&Flag::Deleted))
        .filter(|(_, m)| within.is_none_or(|w| w.contains(&m.uid)))
        .map(|(_, m)| m.uid)
        .collect()
}

/// The STATUS items asked for, in the order asked.
pub(super) fn status_items(
    a: &StatusAnswer,
    attributes: &[StatusAttribute],
    version: Version,
) -> Vec<StatusItem> {
    let mut items = Vec::new();
    for attr in attributes {
        items.push(match attr {
            StatusAttribute::Messages => StatusItem::Messages(a.messages),
            StatusAttribute::Recent if version == Version::Rev1 => StatusItem::Recent(a.recent),
            StatusAttribute::Recent => continue,
            StatusAttribute::UidNext => StatusItem::UidNext(a.uid_next),
            StatusAttribute::UidValidity => StatusItem::UidValidity(a.uid_validity),
            StatusAttribute::Unseen => StatusItem::Unseen(a.unseen),
            StatusAttribute::Deleted => StatusItem::Deleted(a.deleted),
            StatusAttribute::Size => StatusItem::Size(a.size),
            StatusAttribute::HighestModSeq => StatusItem::HighestModSeq(a.highest_mod_seq),
            StatusAttribute::AppendLimit => StatusItem::AppendLimit(a.append_limit),
        });
    }
    items
}
