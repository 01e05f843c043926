//! SELECT/EXAMINE (RFC 9051 §6.3.2, RFC 7162 CONDSTORE/QRESYNC), STATUS,
//! the yes-or-no mailbox operations and ENABLE.

use super::answers::status_items;
use super::pending::Pending;
use super::{
    Event, QResyncParams, RequestId, SelectAnswer, Selected, ServerSession, SessionState,
    StatusAnswer,
};
use crate::Version;
use crate::command::SelectParameter;
use crate::command::StatusAttribute;
use crate::message::compact_sequence_set;
use crate::response::{Code, Data, RespText, Response, Status, UnitCode};
use crate::types::{Capability, Mailbox, ObjectId, Tag};
use crate::view::MailboxView;

impl ServerSession {
    pub(super) fn select(
        &mut self,
        tag: Tag,
        m: &Mailbox,
        params: Vec<SelectParameter>,
        read_only: bool,
    ) {
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
    // Handing the answer back unchanged is the contract (docs/DESIGN.md §2).
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
        let mut view = MailboxView::new(a.messages);
        // FLAGS names every keyword in use (RFC 9051 §7.3.5).
        let flags = view.define_flags(a.flags);
        let d = |s: &mut Self, d: Data| s.send(&Response::Data(d));
        let okc = |s: &mut Self, c: Code, t: &str| {
            s.send(&Response::Status(Status::ok(None, Some(c), t)))
        };
        d(self, Data::Flags(flags.clone()));
        d(self, Data::Exists(view.exists()));
        if self.version == Version::Rev1 {
            d(self, Data::Recent(view.recent()));
            if let Some(u) = view.first_unseen() {
                okc(self, Code::Unseen(u), "First unseen");
            }
        }
        let mut selected = Selected {
            name,
            read_only,
            view: MailboxView::default(),
            permanent: a.permanent_flags,
            highest_mod_seq: a.highest_mod_seq,
            contexts: Vec::new(),
        };
        let perm = selected.permanent_for(&flags);
        okc(self, Code::PermanentFlags(perm), "Limited");
        okc(self, Code::UidValidity(a.uid_validity), "UIDs valid");
        okc(self, Code::UidNext(a.uid_next), "Predicted next UID");
        if let Some(id) = a.mailbox_id.filter(|_| self.offers(&Capability::ObjectId)) {
            // RFC 8474 §4.1: SELECT and EXAMINE report the MAILBOXID.
            okc(self, Code::MailboxId(id), "Mailbox id");
        }
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
        selected.view = view;
        self.selected = Some(selected);
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

    /// Answers the [`Event::Mailbox`] of a CREATE with the new mailbox's
    /// MAILBOXID: `OK [MAILBOXID (id)]` (RFC 8474 §4.1). `Ok(None)` is a
    /// plain OK, `Err(text)` a `NO` as for
    /// [`respond_mailbox`](Self::respond_mailbox).
    pub fn respond_create(
        &mut self,
        id: RequestId,
        answer: Result<Option<ObjectId>, RespText>,
    ) -> Result<(), Result<Option<ObjectId>, RespText>> {
        let Some(Pending::Mailbox { tag }) =
            self.take_pending(id, |p| matches!(p, Pending::Mailbox { .. }))
        else {
            return Err(answer);
        };
        match answer {
            Ok(mailbox_id) => {
                let code = mailbox_id
                    .filter(|_| self.offers(&Capability::ObjectId))
                    .map(Code::MailboxId);
                self.complete(tag, true, code, "Completed")
            }
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
        if let Some(Pending::NotifyStatus { tag, name, queue }) =
            self.take_pending(id, |p| matches!(p, Pending::NotifyStatus { .. }))
        {
            self.notify_status_answer(tag, name, queue, answer);
            return Ok(());
        }
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
}
