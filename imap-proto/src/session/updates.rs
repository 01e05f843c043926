//! Untagged updates of the selected mailbox (RFC 9051 §7.5.1, §5.2):
//! changes handed in by the adapter join the view, and the view's pending
//! EXISTS / EXPUNGE / FETCH FLAGS are sent when the protocol allows it
//! (at once while idling or under NOTIFY, else at a command's end).

use super::{ServerSession, Wait};
use crate::response::{Code, Response, Status};
use crate::view::{FlushOptions, MailboxChange};

impl ServerSession {
    /// A change to the selected mailbox made by anyone (this session's own
    /// STORE/EXPUNGE/COPY results may be fed too: they are idempotent).
    /// While idling the client is told at once; otherwise at the next
    /// command's end. Ignored when nothing is selected.
    pub fn mailbox_changed(&mut self, change: MailboxChange) {
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        let seen = match &change {
            MailboxChange::Added(v) => v.iter().map(|m| m.mod_seq).max(),
            MailboxChange::Flags(v) => v.iter().map(|u| u.mod_seq).max(),
            MailboxChange::Expunged(_) => None,
        };
        sel.view.apply(change);
        if let Some(m) = seen {
            self.saw_mod_seq(m);
        }
        self.push_updates();
    }

    /// Sends the view's updates now when the client may get them at once:
    /// while idling, or under NOTIFY for the selected mailbox when no
    /// command is in progress (RFC 5465 §3; `selected-delayed` keeps
    /// EXPUNGE back).
    pub(super) fn push_updates(&mut self) {
        if matches!(self.wait, Wait::Idle { .. }) {
            self.flush_updates(true);
        } else if let Some(delayed) = self.notify_selected()
            && self.can_push()
        {
            self.flush_updates(!delayed);
        }
    }

    /// The store's complete message list for the selected mailbox, after
    /// the adapter lost change notices (its subscription overflowed): the
    /// view is resynchronised from it ([`MailboxView::resync`](crate::view::MailboxView::resync)) and the
    /// differences are announced like any change (at once while idling).
    /// Ignored when nothing is selected.
    pub fn mailbox_resync(&mut self, messages: Vec<crate::view::MessageSummary>) {
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        let seen = messages.iter().map(|m| m.mod_seq).max();
        sel.view.resync(messages);
        if let Some(m) = seen {
            self.saw_mod_seq(m);
        }
        self.push_updates();
    }

    /// Sends untagged `FLAGS` (and `PERMANENTFLAGS` when writable) if a
    /// change brought in a keyword the client was not told about: RFC 9051
    /// §7.3.5 and RFC 3501 §7.2.6 want the new list before any FETCH that
    /// uses it, in this session and every other one.
    pub(super) fn announce_flags(&mut self) {
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        let Some(flags) = sel.view.take_new_flags() else {
            return;
        };
        let read_only = sel.read_only;
        let permanent = sel.permanent_for(&flags);
        self.send(&Response::Data(crate::response::Data::Flags(flags)));
        if !read_only {
            self.send(&Response::Status(Status::ok(
                None,
                Some(Code::PermanentFlags(permanent)),
                "Flags permitted",
            )));
        }
    }

    /// Records a mod-sequence the session saw (a change or its own STORE).
    pub(super) fn saw_mod_seq(&mut self, mod_seq: u64) {
        if let Some(sel) = self.selected.as_mut()
            && let Some(h) = sel.highest_mod_seq.as_mut()
        {
            *h = (*h).max(mod_seq);
        }
    }

    /// Sends the view's pending updates. `expunge` false keeps
    /// EXPUNGE/VANISHED back (RFC 9051 §7.5.1).
    pub(super) fn flush_updates(&mut self, expunge: bool) {
        let options = FlushOptions {
            expunge,
            vanished: self.enabled.qresync,
            uid: self.enabled.qresync,
            mod_seq: self.enabled.condstore,
        };
        self.flush_notifications();
        self.announce_flags();
        // RFC 5267 §4.3.4: REMOVEFROM before the EXPUNGE it anticipates.
        self.context_removals(expunge);
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        // NOTIFY's MessageNew FETCH is for the messages above this UID.
        let before = sel.view.max_uid();
        let updates = sel.view.flush(options);
        let grew = updates
            .iter()
            .any(|d| matches!(d, crate::response::Data::Exists(_)));
        for d in updates {
            self.send(&Response::Data(d));
        }
        if grew {
            self.notify_new_messages(before);
        }
        // RFC 5267 §4.3.3: ADDTO after the EXISTS of the new messages.
        self.context_additions();
    }
}
