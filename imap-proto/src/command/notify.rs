//! NOTIFY arguments (RFC 5465 §8).

use super::fetch::{FetchAttribute, fetch_att};
use crate::core::{PResult, fail, keyword, paren_list1, sp, sp_list1};
use crate::encode::{Encode, Encoder};
use crate::types::{Atom, Mailbox, atom, mailbox};
use nom::Parser;
use nom::branch::alt;
use nom::combinator::map;

/// `filter-mailboxes` (RFC 5465 §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterMailboxes {
    /// `selected`: the selected mailbox, events as they happen.
    Selected,
    /// `selected-delayed`: the selected mailbox, EXPUNGE only when a
    /// command allows it.
    SelectedDelayed,
    /// `inboxes`: the mailboxes that receive mail (here: INBOX).
    Inboxes,
    /// `personal`: every mailbox of the user.
    Personal,
    /// `subscribed`: the subscribed mailboxes.
    Subscribed,
    /// `subtree one-or-more-mailbox`: these mailboxes and their children.
    Subtree(Vec<Mailbox>),
    /// `mailboxes one-or-more-mailbox`: exactly these mailboxes.
    Mailboxes(Vec<Mailbox>),
}

/// `event` (RFC 5465 §8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyEvent {
    /// `MessageNew [SP "(" fetch-att *(SP fetch-att) ")"]`
    MessageNew(Vec<FetchAttribute>),
    /// `MessageExpunge`
    MessageExpunge,
    /// `FlagChange`
    FlagChange,
    /// `AnnotationChange`
    AnnotationChange,
    /// `MailboxName`
    MailboxName,
    /// `SubscriptionChange`
    SubscriptionChange,
    /// `MailboxMetadataChange`
    MailboxMetadataChange,
    /// `ServerMetadataChange`
    ServerMetadataChange,
    /// `event-ext = atom`
    Other(Atom),
}

/// `event-group = "(" filter-mailboxes SP events ")"`; `events` of `NONE`
/// is an empty list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventGroup {
    /// Which mailboxes.
    pub filter: FilterMailboxes,
    /// Which events (empty: `NONE`).
    pub events: Vec<NotifyEvent>,
}

/// `notify = "NOTIFY" SP (notify-set / notify-none)`
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyArgs {
    /// `notify-none = "NONE"`
    None,
    /// `notify-set = "SET" [status-indicator] SP event-groups`
    Set {
        /// `status-indicator = SP "STATUS"`: send STATUS of the
        /// mailboxes at once.
        status: bool,
        /// The event groups (at least one).
        groups: Vec<EventGroup>,
    },
}

impl NotifyEvent {
    /// The event's name as RFC 5465 writes it.
    pub fn name(&self) -> &str {
        match self {
            NotifyEvent::MessageNew(_) => "MessageNew",
            NotifyEvent::MessageExpunge => "MessageExpunge",
            NotifyEvent::FlagChange => "FlagChange",
            NotifyEvent::AnnotationChange => "AnnotationChange",
            NotifyEvent::MailboxName => "MailboxName",
            NotifyEvent::SubscriptionChange => "SubscriptionChange",
            NotifyEvent::MailboxMetadataChange => "MailboxMetadataChange",
            NotifyEvent::ServerMetadataChange => "ServerMetadataChange",
            NotifyEvent::Other(a) => a.as_str(),
        }
    }
}

impl Encode for NotifyEvent {
    fn encode(&self, enc: &mut Encoder) {
        enc.put_str(self.name());
        if let NotifyEvent::MessageNew(atts) = self
            && !atts.is_empty()
        {
            enc.put(b" ");
            crate::encode::paren(enc, atts);
        }
    }
}

fn one_or_more(enc: &mut Encoder, v: &[Mailbox]) {
    match v {
        [one] => one.encode(enc),
        many => crate::encode::paren(enc, many),
    }
}

impl Encode for FilterMailboxes {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            FilterMailboxes::Selected => enc.put(b"selected"),
            FilterMailboxes::SelectedDelayed => enc.put(b"selected-delayed"),
            FilterMailboxes::Inboxes => enc.put(b"inboxes"),
            FilterMailboxes::Personal => enc.put(b"personal"),
            FilterMailboxes::Subscribed => enc.put(b"subscribed"),
            FilterMailboxes::Subtree(v) => {
                enc.put(b"subtree ");
                one_or_more(enc, v);
            }
            FilterMailboxes::Mailboxes(v) => {
                enc.put(b"mailboxes ");
                one_or_more(enc, v);
            }
        }
    }
}

impl Encode for EventGroup {
    fn encode(&self, enc: &mut Encoder) {
        enc.put(b"(");
        self.filter.encode(enc);
        enc.put(b" ");
        if self.events.is_empty() {
            enc.put(b"NONE");
        } else {
            crate::encode::paren(enc, &self.events);
        }
        enc.put(b")");
    }
}

impl Encode for NotifyArgs {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            NotifyArgs::None => enc.put(b"NONE"),
            NotifyArgs::Set { status, groups } => {
                enc.put(b"SET");
                if *status {
                    enc.put(b" STATUS");
                }
                for g in groups {
                    enc.put(b" ");
                    g.encode(enc);
                }
            }
        }
    }
}

/// `one-or-more-mailbox = mailbox / many-mailboxes`;
/// `many-mailboxes = "(" mailbox *(SP mailbox) ")"`
fn one_or_more_mailbox(i: &[u8]) -> PResult<'_, Vec<Mailbox>> {
    alt((paren_list1(mailbox), map(mailbox, |m| vec![m]))).parse(i)
}

/// `filter-mailboxes = filter-mailboxes-selected / filter-mailboxes-other`
fn filter_mailboxes(i: &[u8]) -> PResult<'_, FilterMailboxes> {
    alt((
        map(keyword("selected-delayed"), |_| {
            FilterMailboxes::SelectedDelayed
        }),
        map(keyword("selected"), |_| FilterMailboxes::Selected),
        map(keyword("inboxes"), |_| FilterMailboxes::Inboxes),
        map(keyword("personal"), |_| FilterMailboxes::Personal),
        map(keyword("subscribed"), |_| FilterMailboxes::Subscribed),
        map(
            (keyword("subtree"), sp, one_or_more_mailbox),
            |(_, _, v)| FilterMailboxes::Subtree(v),
        ),
        map(
            (keyword("mailboxes"), sp, one_or_more_mailbox),
            |(_, _, v)| FilterMailboxes::Mailboxes(v),
        ),
    ))
    .parse(i)
}

/// `event = message-event / mailbox-event / user-event / event-ext`;
/// `message-event = ("MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"]) /
/// "MessageExpunge" / "FlagChange" / "AnnotationChange"`
fn event(i: &[u8]) -> PResult<'_, NotifyEvent> {
    if let Ok((r, _)) = keyword("MessageNew")(i) {
        if let Ok((r2, (_, atts))) = (sp, paren_list1(fetch_att)).parse(r) {
            return Ok((r2, NotifyEvent::MessageNew(atts)));
        }
        return Ok((r, NotifyEvent::MessageNew(Vec::new())));
    }
    let (r, name) = atom(i)?;
    let known = [
        ("MessageExpunge", NotifyEvent::MessageExpunge),
        ("FlagChange", NotifyEvent::FlagChange),
        ("AnnotationChange", NotifyEvent::AnnotationChange),
        ("MailboxName", NotifyEvent::MailboxName),
        ("SubscriptionChange", NotifyEvent::SubscriptionChange),
        ("MailboxMetadataChange", NotifyEvent::MailboxMetadataChange),
        ("ServerMetadataChange", NotifyEvent::ServerMetadataChange),
    ];
    let ev = known
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_str()))
        .map_or(NotifyEvent::Other(name), |(_, e)| e);
    Ok((r, ev))
}

/// `event-group = "(" filter-mailboxes SP events ")"`;
/// `events = ("(" event *(SP event) ")") / "NONE"`
fn event_group(i: &[u8]) -> PResult<'_, EventGroup> {
    let Some(r) = i.strip_prefix(b"(") else {
        return Err(fail(i));
    };
    let (r, (filter, _)) = (filter_mailboxes, sp).parse(r)?;
    let (r, events) = alt((map(keyword("NONE"), |_| Vec::new()), paren_list1(event))).parse(r)?;
    let Some(r) = r.strip_prefix(b")") else {
        return Err(fail(r));
    };
    Ok((r, EventGroup { filter, events }))
}

/// `notify = "NOTIFY" SP (notify-set / notify-none)`;
/// `notify-set = "SET" [status-indicator] SP event-groups`;
/// `event-groups = event-group *(SP event-group)` (RFC 5465 §8)
pub(crate) fn notify_args(i: &[u8]) -> PResult<'_, NotifyArgs> {
    if let Ok((r, _)) = keyword("NONE")(i) {
        return Ok((r, NotifyArgs::None));
    }
    let (r, _) = keyword("SET")(i)?;
    let (r, status) = match (sp, keyword("STATUS")).parse(r) {
        Ok((r, _)) => (r, true),
        Err(_) => (r, false),
    };
    let (r, (_, groups)) = (sp, sp_list1(event_group)).parse(r)?;
    Ok((r, NotifyArgs::Set { status, groups }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Version;

    #[test]
    fn known_answers() {
        for input in [
            &b"NONE"[..],
            b"SET (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (personal (MailboxName SubscriptionChange))",
            b"SET STATUS (inboxes (MessageNew MessageExpunge))",
            b"SET (selected-delayed NONE) (subtree (INBOX Lists) (MessageNew MessageExpunge))",
            b"SET (mailboxes Lists (MailboxName X-Ext))",
        ] {
            let (r, v) = notify_args(input).unwrap();
            assert_eq!(r, b"", "{:?}", String::from_utf8_lossy(input));
            assert_eq!(v.to_bytes(Version::Rev2), input.to_vec());
        }
        let (_, v) = notify_args(b"SET (subscribed (messagenew))").unwrap();
        assert_eq!(
            v,
            NotifyArgs::Set {
                status: false,
                groups: vec![EventGroup {
                    filter: FilterMailboxes::Subscribed,
                    events: vec![NotifyEvent::MessageNew(vec![])],
                }],
            }
        );
        for bad in [
            &b"SET"[..],
            b"SET ()",
            b"SET (selected)",
            b"SET (selected ())",
            b"SET (elsewhere (MessageNew))",
            b"SET (subtree (MessageNew))",
        ] {
            assert!(
                notify_args(bad).map(|(r, _)| r.is_empty()) != Ok(true),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
