//! Building answers from what a store knows: the rules of the protocol
//! that decide an answer's contents (which flags SELECT announces, what
//! STATUS counts, which subscriptions LIST shows), kept here so that an
//! adapter only reads its store and any embedder gets the same answers.

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use super::types::{MailboxInfo, SelectAnswer, StatusAnswer};
use crate::command::StatusAttribute;
use crate::encode::{Encode, Encoder, Version};
use crate::response::StatusItem;
use crate::response::{RespText, Response, Status};
use crate::types::{Flag, FlagPerm, MailboxAttribute};

impl SelectAnswer {
    /// The `* FLAGS` and `PERMANENTFLAGS` of a store that keeps the five
    /// system flags of RFC 9051 §2.3.2 (`\Recent` is not a flag a client
    /// may set) and any keyword: the flags, then the same list with `\*`
    /// (RFC 9051 §7.1: the client may create new keywords).
    pub fn system_flags() -> (Vec<Flag>, Vec<FlagPerm>) {
        let flags = vec![
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Seen,
            Flag::Draft,
        ];
        let mut permanent: Vec<FlagPerm> = flags.iter().cloned().map(FlagPerm::Flag).collect();
        permanent.push(FlagPerm::Asterisk);
        (flags, permanent)
    }
}

/// One message as STATUS counts it ([`StatusAnswer::count`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusMessage {
    /// It has `\Seen`.
    pub seen: bool,
    /// It has `\Deleted`.
    pub deleted: bool,
    /// It is `\Recent` (RFC 3501 §2.3.2).
    pub recent: bool,
    /// Its size in octets (RFC 9051 §2.3.4 RFC822.SIZE).
    pub size: u64,
}

impl StatusAnswer {
    /// The answer for an empty mailbox with these identifiers: no
    /// messages, no APPENDLIMIT, no MAILBOXID. Add each message with
    /// [`count`](Self::count).
    pub fn new(uid_validity: NonZeroU32, uid_next: NonZeroU32, highest_mod_seq: u64) -> Self {
        StatusAnswer {
            messages: 0,
            recent: 0,
            uid_next,
            uid_validity,
            unseen: 0,
            deleted: 0,
            size: 0,
            highest_mod_seq,
            append_limit: None,
            deleted_storage: 0,
            mailbox_id: None,
        }
    }

    /// Counts one message: MESSAGES, RECENT, UNSEEN (messages without
    /// `\Seen`) and DELETED (RFC 9051 §6.3.11), SIZE (the total octets,
    /// RFC 8438) and DELETED-STORAGE (the octets of the `\Deleted` ones,
    /// RFC 9208 §4.2.2).
    pub fn count(&mut self, m: StatusMessage) {
        self.messages = self.messages.saturating_add(1);
        self.recent = self.recent.saturating_add(u32::from(m.recent));
        self.unseen = self.unseen.saturating_add(u32::from(!m.seen));
        self.deleted = self.deleted.saturating_add(u32::from(m.deleted));
        self.size = self.size.saturating_add(m.size);
        if m.deleted {
            self.deleted_storage = self.deleted_storage.saturating_add(m.size);
        }
    }
}

impl MailboxInfo {
    /// Adds the subscriptions that name no mailbox in `list`, in their
    /// order and once each, as `\NonExistent` and subscribed: RFC 9051
    /// §6.3.9 has LIST (SUBSCRIBED) and LSUB show a subscription whether
    /// or not its mailbox exists.
    pub fn add_subscriptions(
        list: &mut Vec<MailboxInfo>,
        subscriptions: impl IntoIterator<Item = String>,
    ) {
        let mut seen: BTreeSet<String> = list.iter().map(|m| m.name.clone()).collect();
        for name in subscriptions {
            if seen.insert(name.clone()) {
                list.push(MailboxInfo {
                    name,
                    attributes: vec![MailboxAttribute::NonExistent],
                    subscribed: true,
                });
            }
        }
    }
}

/// The wire form of `* BYE <text>` (RFC 9051 §7.1.5), for an adapter that
/// must end a connection outside the session (server shutdown, a revoked
/// login): a line it can write between commands.
pub fn bye_line(text: &RespText) -> Vec<u8> {
    let mut enc = Encoder::new(Version::Rev1);
    Encode::encode(&Response::Status(Status::Bye(text.clone())), &mut enc);
    enc.finish().into_bytes()
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
            StatusAttribute::DeletedStorage => {
                StatusItem::DeletedStorage(a.deleted_storage.div_ceil(1024))
            }
            StatusAttribute::HighestModSeq => StatusItem::HighestModSeq(a.highest_mod_seq),
            StatusAttribute::AppendLimit => StatusItem::AppendLimit(a.append_limit),
            StatusAttribute::MailboxId => match &a.mailbox_id {
                Some(id) => StatusItem::MailboxId(id.clone()),
                None => continue,
            },
        });
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{Code, UnitCode};

    #[test]
    fn system_flags_in_rfc_order_with_keywords_allowed() {
        let (flags, permanent) = SelectAnswer::system_flags();
        assert_eq!(
            flags,
            [
                Flag::Answered,
                Flag::Flagged,
                Flag::Deleted,
                Flag::Seen,
                Flag::Draft
            ]
        );
        assert_eq!(permanent.len(), 6);
        assert_eq!(permanent.last(), Some(&FlagPerm::Asterisk));
    }

    #[test]
    fn status_counts_every_item() {
        let one = NonZeroU32::MIN;
        let mut a = StatusAnswer::new(one, NonZeroU32::new(9).unwrap(), 7);
        for (seen, deleted, recent, size) in [
            (true, false, false, 10),
            (false, true, true, 20),
            (false, false, true, 40),
        ] {
            a.count(StatusMessage {
                seen,
                deleted,
                recent,
                size,
            });
        }
        assert_eq!(
            (a.messages, a.recent, a.unseen, a.deleted, a.size),
            (3, 2, 2, 1, 70)
        );
        assert_eq!(a.deleted_storage, 20);
        assert_eq!((a.uid_next.get(), a.highest_mod_seq), (9, 7));
        assert_eq!((a.append_limit, a.mailbox_id), (None, None));
    }

    #[test]
    fn nonexistent_subscriptions_are_listed_once() {
        let mut list = vec![MailboxInfo {
            name: "INBOX".into(),
            attributes: vec![],
            subscribed: true,
        }];
        MailboxInfo::add_subscriptions(
            &mut list,
            ["INBOX", "gone", "gone", "old/x"].map(String::from),
        );
        let names: Vec<_> = list.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["INBOX", "gone", "old/x"]);
        assert!(list[0].attributes.is_empty());
        assert!(
            list[1..]
                .iter()
                .all(|m| m.subscribed && m.attributes == [MailboxAttribute::NonExistent])
        );
    }

    #[test]
    fn bye_lines() {
        let text = RespText::with_code(Code::Unit(UnitCode::Unavailable), "Server shutting down");
        assert_eq!(
            bye_line(&text),
            b"* BYE [UNAVAILABLE] Server shutting down\r\n"
        );
    }
}
