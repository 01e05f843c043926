//! NOTIFY (RFC 5465): which events the client wants, and pushing them at
//! any time, not only while idling.
//!
//! - **Selected mailbox** (`selected` / `selected-delayed`): the view's
//!   updates (EXISTS, FETCH, EXPUNGE, and the live contexts of RFC 5267)
//!   are sent as soon as a change is fed in while no command is in
//!   progress; `selected-delayed` holds EXPUNGE back until a command
//!   allows it. `MessageNew (fetch-att ...)` adds a FETCH of the new
//!   messages after their EXISTS; only the items the view holds (UID,
//!   FLAGS, INTERNALDATE, RFC822.SIZE, MODSEQ) can be asked for.
//! - **Other mailboxes** (`inboxes`, `personal`, `subscribed`, `subtree`,
//!   `mailboxes`; never the selected one): the adapter asks
//!   [`notify_interest`](ServerSession::notify_interest) and hands in what
//!   happened: a new `STATUS` ([`notify_status`](ServerSession::notify_status),
//!   sent as `* STATUS name (MESSAGES n UIDNEXT n UIDVALIDITY n UNSEEN n)`,
//!   with HIGHESTMODSEQ under CONDSTORE or when FlagChange is asked for
//!   there, as mod-sequences are how a client sees flag changes in a
//!   mailbox it has not selected), or a name or subscription change
//!   ([`notify_mailbox`](ServerSession::notify_mailbox), sent as `* LIST`
//!   with `\NonExistent`, `OLDNAME` or `\Subscribed`, RFC 5465 §5.4-5.5).
//! - While a command runs, notifications wait in a queue of at most
//!   [`Limits::max_queued_notifications`](super::Limits) and go out before
//!   the next tagged answer; beyond it (or when the adapter lost change
//!   notices, [`notify_overflow`](ServerSession::notify_overflow)) the
//!   client gets `* OK [NOTIFICATIONOVERFLOW]` and NOTIFY is off, as after
//!   `NOTIFY NONE` (§5.8).
//! - Events this server cannot report (AnnotationChange, the METADATA
//!   events, extensions) are refused with `NO [BADEVENT (...)]` listing
//!   the supported ones (§3.1). For `selected`/`selected-delayed`,
//!   MessageNew and MessageExpunge must come together and FlagChange only
//!   with both (§5), else BAD: a client told of new messages but not of
//!   expunges (or the other way round) loses track of sequence numbers.
//!   For other mailboxes each event may be asked for alone, as Dovecot
//!   (the reference implementation, whose imaptest `notify` script asks
//!   `(mailboxes x (MessageExpunge))`) accepts: their events are STATUS
//!   responses, which carry no sequence numbers to lose track of.
//! - `NOTIFY SET STATUS` lists the mailboxes ([`Event::List`]) and sends
//!   the STATUS of each one a message event is asked for
//!   ([`Event::Status`]) before the tagged OK.

use super::pending::Pending;
use super::{Event, MailboxInfo, ServerSession, StatusAnswer, Wait};
use crate::command::{EventGroup, FetchAttribute, FilterMailboxes, NotifyArgs, NotifyEvent};
use crate::response::{Code, Data, Delimiter, ListItem, Response, Status, StatusItem, UnitCode};
use crate::types::{AString, Atom, IString, Mailbox, MailboxAttribute, Tag};
use std::collections::VecDeque;

/// The events the client asked for about one mailbox other than the
/// selected one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotifyInterest {
    /// Any of MessageNew, MessageExpunge, FlagChange: its STATUS is sent
    /// by NOTIFY SET STATUS.
    pub status: bool,
    /// MessageNew: send its STATUS after a message was added
    /// ([`ServerSession::notify_status`]).
    pub message_new: bool,
    /// MessageExpunge: send its STATUS after a message was expunged.
    pub message_expunge: bool,
    /// FlagChange: send its STATUS (with HIGHESTMODSEQ) after flags
    /// changed.
    pub flag_change: bool,
    /// MailboxName: report its creation, deletion and renaming.
    pub name: bool,
    /// SubscriptionChange: report (un)subscribing it.
    pub subscription: bool,
}

/// A change to a mailbox's name or subscription, for
/// [`ServerSession::notify_mailbox`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailboxNotice {
    /// The mailbox was created.
    Created(String),
    /// The mailbox was deleted.
    Deleted(String),
    /// The mailbox was renamed.
    Renamed {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// The mailbox was subscribed (`true`) or unsubscribed.
    Subscription {
        /// The mailbox.
        name: String,
        /// Subscribed now.
        subscribed: bool,
    },
}

#[derive(Clone, Debug)]
enum Filter {
    Inboxes,
    Personal,
    Subscribed,
    Subtree(Vec<String>),
    Mailboxes(Vec<String>),
}

#[derive(Clone, Debug)]
struct OtherGroup {
    filter: Filter,
    new: bool,
    expunge: bool,
    flags: bool,
    names: bool,
    subscriptions: bool,
}

/// The client's NOTIFY SET, with names decoded.
#[derive(Clone, Debug, Default)]
pub(super) struct NotifySpec {
    /// Events for the selected mailbox: `Some((delayed, fetch items))`.
    selected: Option<(bool, Vec<FetchAttribute>)>,
    others: Vec<OtherGroup>,
    /// Notifications waiting for the end of a command.
    queue: VecDeque<Response>,
}

/// The events this server reports (for `BADEVENT`).
const SUPPORTED: &[&str] = &[
    "MessageNew",
    "MessageExpunge",
    "FlagChange",
    "MailboxName",
    "SubscriptionChange",
];

impl Filter {
    fn matches(&self, name: &str, subscribed: bool, delimiter: char) -> bool {
        let same = |a: &str, b: &str| {
            a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
        };
        match self {
            Filter::Inboxes => name.eq_ignore_ascii_case("INBOX"),
            Filter::Personal => true,
            Filter::Subscribed => subscribed,
            Filter::Mailboxes(v) => v.iter().any(|m| same(m, name)),
            Filter::Subtree(v) => v.iter().any(|m| {
                same(m, name)
                    || name
                        .strip_prefix(m.as_str())
                        .is_some_and(|rest| rest.starts_with(delimiter))
            }),
        }
    }
}

impl ServerSession {
    /// `NOTIFY` (RFC 5465 §3).
    pub(super) fn notify_command(&mut self, tag: Tag, args: NotifyArgs) {
        match args {
            NotifyArgs::None => {
                self.notify = None;
                self.complete(tag, true, None, "NOTIFY completed");
            }
            NotifyArgs::Set { status, groups } => self.notify_set(tag, groups, status),
        }
    }

    fn notify_set(&mut self, tag: Tag, groups: Vec<EventGroup>, status: bool) {
        let unsupported: Vec<Atom> = groups
            .iter()
            .flat_map(|g| &g.events)
            .filter(|e| !SUPPORTED.contains(&e.name()))
            .filter_map(|e| Atom::try_from(e.name()).ok())
            .collect();
        if !unsupported.is_empty() {
            let supported = SUPPORTED
                .iter()
                .filter_map(|n| Atom::try_from(*n).ok())
                .collect();
            let text = crate::response::RespText::with_code(
                Code::BadEvent(supported),
                "Unsupported event",
            );
            self.no(tag, text);
            return;
        }
        let mut spec = NotifySpec::default();
        for g in groups {
            let has = |f: fn(&NotifyEvent) -> bool| g.events.iter().any(f);
            let new = has(|e| matches!(e, NotifyEvent::MessageNew(_)));
            let expunge = has(|e| *e == NotifyEvent::MessageExpunge);
            let flags = has(|e| *e == NotifyEvent::FlagChange);
            let selected = matches!(
                g.filter,
                FilterMailboxes::Selected | FilterMailboxes::SelectedDelayed
            );
            // RFC 5465 §5: MessageNew and MessageExpunge go together and
            // FlagChange needs both, for the selected mailbox (see the
            // module docs for why not elsewhere).
            if selected && (new != expunge || (flags && !new)) {
                self.bad(tag, "MessageNew, MessageExpunge and FlagChange go together");
                return;
            }
            let fetch: Vec<FetchAttribute> = g
                .events
                .iter()
                .filter_map(|e| match e {
                    NotifyEvent::MessageNew(a) => Some(a.clone()),
                    _ => None,
                })
                .flatten()
                .collect();
            if !fetch.is_empty() && !selected {
                self.bad(tag, "MessageNew items are for the selected mailbox only");
                return;
            }
            if !fetch.iter().all(|a| {
                matches!(
                    a,
                    FetchAttribute::Uid
                        | FetchAttribute::Flags
                        | FetchAttribute::InternalDate
                        | FetchAttribute::Rfc822Size
                        | FetchAttribute::ModSeq
                )
            }) {
                self.bad(
                    tag,
                    "MessageNew items: UID, FLAGS, INTERNALDATE, RFC822.SIZE, MODSEQ",
                );
                return;
            }
            let names = |v: &[Mailbox]| -> Option<Vec<String>> {
                v.iter().map(|m| self.name_of(m)).collect()
            };
            let filter = match &g.filter {
                FilterMailboxes::Selected | FilterMailboxes::SelectedDelayed => {
                    if new {
                        let delayed = g.filter == FilterMailboxes::SelectedDelayed;
                        spec.selected = Some((delayed, fetch));
                    }
                    continue;
                }
                FilterMailboxes::Inboxes => Filter::Inboxes,
                FilterMailboxes::Personal => Filter::Personal,
                FilterMailboxes::Subscribed => Filter::Subscribed,
                FilterMailboxes::Subtree(v) => match names(v) {
                    Some(v) => Filter::Subtree(v),
                    None => {
                        self.bad(tag, "Invalid mailbox name");
                        return;
                    }
                },
                FilterMailboxes::Mailboxes(v) => match names(v) {
                    Some(v) => Filter::Mailboxes(v),
                    None => {
                        self.bad(tag, "Invalid mailbox name");
                        return;
                    }
                },
            };
            spec.others.push(OtherGroup {
                filter,
                new,
                expunge,
                flags,
                names: has(|e| *e == NotifyEvent::MailboxName),
                subscriptions: has(|e| *e == NotifyEvent::SubscriptionChange),
            });
        }
        self.notify = Some(spec);
        if status {
            self.ask(|id| Event::List { id }, Pending::NotifyList { tag });
        } else {
            self.complete(tag, true, None, "NOTIFY completed");
        }
    }

    /// True when NOTIFY is on for mailboxes other than the selected one:
    /// the adapter should then hand in their changes.
    pub fn notify_active(&self) -> bool {
        self.notify.as_ref().is_some_and(|n| !n.others.is_empty())
    }

    /// What the client wants to hear about `mailbox` (nothing for the
    /// selected mailbox, whose changes go through
    /// [`mailbox_changed`](Self::mailbox_changed)). `subscribed` says
    /// whether it is subscribed (for the `subscribed` filter).
    pub fn notify_interest(&self, mailbox: &str, subscribed: bool) -> NotifyInterest {
        let mut out = NotifyInterest::default();
        let Some(spec) = &self.notify else {
            return out;
        };
        if self.selected.as_ref().is_some_and(|s| s.name == mailbox) {
            return out;
        }
        let d = self.config.delimiter;
        for g in &spec.others {
            if g.filter.matches(mailbox, subscribed, d) {
                out.message_new |= g.new;
                out.message_expunge |= g.expunge;
                out.flag_change |= g.flags;
                out.status = out.message_new || out.message_expunge || out.flag_change;
                out.name |= g.names;
                out.subscription |= g.subscriptions;
            }
        }
        out
    }

    /// A message change in `mailbox` (not the selected one) left it in
    /// this state: `* STATUS` when the client asked for message events
    /// there (RFC 5465 §5.1-5.3). The adapter calls it only for the kinds
    /// of change [`notify_interest`](Self::notify_interest) names.
    pub fn notify_status(&mut self, mailbox: &str, subscribed: bool, answer: &StatusAnswer) {
        let interest = self.notify_interest(mailbox, subscribed);
        if !interest.status {
            return;
        }
        let Ok(name) = Mailbox::from_utf8(mailbox, self.version) else {
            return;
        };
        let data = self.notify_status_data(name, answer, interest.flag_change);
        self.push_notification(Response::Data(data));
    }

    /// `* STATUS` of another mailbox: the items Dovecot sends too, so a
    /// client can tell a new message (UIDNEXT), an expunge (MESSAGES) and
    /// a recreated mailbox (UIDVALIDITY) apart; HIGHESTMODSEQ under
    /// CONDSTORE or for FlagChange (RFC 5465 §5.3).
    fn notify_status_data(&self, mailbox: Mailbox, a: &StatusAnswer, flag_change: bool) -> Data {
        let mut items = vec![
            StatusItem::Messages(a.messages),
            StatusItem::UidNext(a.uid_next),
            StatusItem::UidValidity(a.uid_validity),
            StatusItem::Unseen(a.unseen),
        ];
        if self.enabled.condstore || flag_change {
            items.push(StatusItem::HighestModSeq(a.highest_mod_seq));
        }
        Data::Status { mailbox, items }
    }

    /// A mailbox was created, deleted, renamed or (un)subscribed:
    /// `* LIST` when the client asked for MailboxName or
    /// SubscriptionChange there (RFC 5465 §5.4, §5.5).
    pub fn notify_mailbox(&mut self, notice: MailboxNotice, subscribed: bool) {
        let (name, wanted, attributes, old) = match &notice {
            MailboxNotice::Created(n) => {
                (n, self.notify_interest(n, subscribed).name, vec![], None)
            }
            MailboxNotice::Deleted(n) => (
                n,
                self.notify_interest(n, subscribed).name,
                vec![MailboxAttribute::NonExistent],
                None,
            ),
            MailboxNotice::Renamed { from, to } => (
                to,
                self.notify_interest(to, subscribed).name
                    || self.notify_interest(from, subscribed).name,
                vec![],
                Some(from),
            ),
            MailboxNotice::Subscription { name, subscribed } => (
                name,
                self.notify_interest(name, *subscribed).subscription,
                if *subscribed {
                    vec![MailboxAttribute::Subscribed]
                } else {
                    vec![]
                },
                None,
            ),
        };
        if !wanted {
            return;
        }
        let Ok(mailbox) = Mailbox::from_utf8(name, self.version) else {
            return;
        };
        let mut extended = Vec::new();
        if let Some(old) = old
            && let Ok(old) = Mailbox::from_utf8(old, self.version)
            && let Ok(key) = IString::from_bytes(b"OLDNAME")
            && let Ok(old) = IString::from_bytes(old.as_bytes())
        {
            // RFC 5465 §5.4 and RFC 5258 §3.5: `("OLDNAME" ("old"))`.
            let value =
                crate::command::TaggedExtValue::Comp(vec![crate::command::OptionValue::String(
                    AString::String(old),
                )]);
            extended.push((AString::String(key), value));
        }
        let item = ListItem {
            attributes,
            delimiter: Delimiter::new(self.config.delimiter),
            mailbox,
            extended,
        };
        self.push_notification(Response::Data(Data::List(item)));
    }

    /// The adapter lost change notices: the client is told with
    /// `* OK [NOTIFICATIONOVERFLOW]` and NOTIFY is off (RFC 5465 §5.8).
    pub fn notify_overflow(&mut self) {
        if self.notify.take().is_none() {
            return;
        }
        self.send(&Response::Status(Status::ok(
            None,
            Some(Code::Unit(UnitCode::NotificationOverflow)),
            "Too many notifications; NOTIFY is off",
        )));
    }

    /// The selected-mailbox part of NOTIFY: `Some(delayed)` when its
    /// changes are to be pushed at once.
    pub(super) fn notify_selected(&self) -> Option<bool> {
        self.notify
            .as_ref()
            .and_then(|n| n.selected.as_ref().map(|(d, _)| *d))
    }

    /// True when nothing is in progress, so an unsolicited response can
    /// go out now (RFC 5465 §3: at any time, outside a command).
    pub(super) fn can_push(&self) -> bool {
        !self.closing
            && self.events.is_empty()
            && matches!(self.wait, Wait::Nothing | Wait::Idle { .. })
            && !self.out.has_external()
    }

    fn push_notification(&mut self, r: Response) {
        if self.can_push() {
            self.send(&r);
            return;
        }
        let max = self.config.limits.max_queued_notifications;
        let Some(spec) = self.notify.as_mut() else {
            return;
        };
        if spec.queue.len() >= max {
            self.notify_overflow();
            return;
        }
        spec.queue.push_back(r);
    }

    /// Sends the queued notifications (before a tagged answer).
    pub(super) fn flush_notifications(&mut self) {
        let Some(spec) = self.notify.as_mut() else {
            return;
        };
        let queued = std::mem::take(&mut spec.queue);
        for r in queued {
            self.send(&r);
        }
    }

    /// `MessageNew (fetch-att ...)`: FETCH of the messages the view just
    /// announced (UIDs above `before`).
    pub(super) fn notify_new_messages(&mut self, before: u32) {
        let Some(atts) = self
            .notify
            .as_ref()
            .and_then(|n| n.selected.as_ref())
            .map(|(_, a)| a.clone())
            .filter(|a| !a.is_empty())
        else {
            return;
        };
        let Some(sel) = self.selected.as_ref() else {
            return;
        };
        let mut out = Vec::new();
        for (seq, m) in sel.view.iter().filter(|(_, m)| m.uid.get() > before) {
            use crate::response::MessageDataItem as I;
            let items = atts
                .iter()
                .filter_map(|a| match a {
                    FetchAttribute::Uid => Some(I::Uid(m.uid)),
                    FetchAttribute::Flags => Some(I::Flags(crate::view::flag_fetch(m))),
                    FetchAttribute::InternalDate => Some(I::InternalDate(m.internal_date)),
                    FetchAttribute::Rfc822Size => Some(I::Rfc822Size(m.size)),
                    FetchAttribute::ModSeq => Some(I::ModSeq(m.mod_seq)),
                    _ => None,
                })
                .collect();
            out.push(Data::Fetch { seq, items });
        }
        for d in out {
            self.send(&Response::Data(d));
        }
    }

    /// NOTIFY SET STATUS: the mailbox list arrived; ask the STATUS of
    /// every mailbox a message event is asked for.
    pub(super) fn notify_list_answer(&mut self, tag: Tag, list: Vec<MailboxInfo>) {
        let queue: VecDeque<(String, bool)> = list
            .into_iter()
            .filter(|m| {
                !m.attributes.iter().any(|a| {
                    matches!(
                        a,
                        MailboxAttribute::NoSelect | MailboxAttribute::NonExistent
                    )
                })
            })
            .filter(|m| self.notify_interest(&m.name, m.subscribed).status)
            .map(|m| (m.name, m.subscribed))
            .collect();
        self.notify_status_next(tag, queue);
    }

    /// The next STATUS of NOTIFY SET STATUS, or the tagged OK.
    pub(super) fn notify_status_next(&mut self, tag: Tag, mut queue: VecDeque<(String, bool)>) {
        let Some(name) = queue.pop_front() else {
            self.complete(tag, true, None, "NOTIFY completed");
            return;
        };
        let mailbox = name.0.clone();
        self.ask(
            |id| Event::Status { id, mailbox },
            Pending::NotifyStatus { tag, name, queue },
        );
    }

    /// One STATUS of NOTIFY SET STATUS (a failure skips the mailbox).
    pub(super) fn notify_status_answer(
        &mut self,
        tag: Tag,
        name: (String, bool),
        queue: VecDeque<(String, bool)>,
        answer: Result<StatusAnswer, crate::response::RespText>,
    ) {
        let (name, subscribed) = name;
        if let Ok(a) = answer
            && let Ok(mailbox) = Mailbox::from_utf8(&name, self.version)
        {
            let flag_change = self.notify_interest(&name, subscribed).flag_change;
            let data = self.notify_status_data(mailbox, &a, flag_change);
            self.send(&Response::Data(data));
        }
        self.notify_status_next(tag, queue);
    }
}
