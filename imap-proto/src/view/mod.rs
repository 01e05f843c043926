//! The mailbox view: one session's picture of its selected mailbox.
//!
//! IMAP numbers messages twice (RFC 9051 §2.3.1): UIDs are the store's,
//! message sequence numbers are the *client's* — position `n` in the list
//! of messages the client has been told about. The two lists differ while
//! other sessions change the mailbox, so each session keeps this view and
//! decides *when* to tell its client:
//!
//! - new messages ([`MailboxView::apply`] with [`MailboxChange::Added`]) are
//!   invisible until [`MailboxView::flush`] announces them with `EXISTS`
//!   (and `RECENT` for IMAP4rev1);
//! - expunged messages stay in the view, with their sequence numbers, until
//!   a flush that allows expunges sends `EXPUNGE` (or `VANISHED` under
//!   QRESYNC, RFC 7162 §3.2.10). RFC 9051 §7.5.1 forbids `EXPUNGE` while
//!   FETCH, STORE or SEARCH (without UID) run, because the client could
//!   not tell which message a number meant; the session passes
//!   `expunge: false` then;
//! - flag changes become `FETCH (FLAGS ...)` at the next flush.
//!
//! Every sequence number this module emits is valid in the client's view at
//! the moment it is sent: `EXPUNGE` numbers are computed one by one, each
//! after the previous removal (the RFC 9051 §7.5.1 example: expunging
//! messages 3, 4, 7 and 11 gives `3, 3, 5, 8`).
//!
//! The view is pure: no IO, no clock. A model-based property test
//! (`tests/view_model.rs`) replays random changes and flushes against a
//! simple reference.

use crate::response::{Data, MessageDataItem};
use crate::types::{DateTime, Flag, FlagFetch, SequenceSet};
use std::num::NonZeroU32;

/// What a store keeps per message, as the adapter reports it (at SELECT and
/// with every change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageSummary {
    /// The UID.
    pub uid: NonZeroU32,
    /// Flags and keywords (never `\Recent`).
    pub flags: Vec<Flag>,
    /// The message's mod-sequence (RFC 7162); 0 when the store has none.
    pub mod_seq: u64,
    /// INTERNALDATE.
    pub internal_date: DateTime,
    /// RFC822.SIZE in octets.
    pub size: u64,
    /// `\Recent` for this session (RFC 3501 §2.3.2): the first session to
    /// see a message gets it. IMAP4rev2 clients never see it.
    pub recent: bool,
    /// EMAILID (RFC 8474 §5.1); `None` when the store assigns none (the
    /// FETCH item is then left out).
    pub email_id: Option<crate::types::ObjectId>,
    /// When the message was saved in this mailbox (RFC 8514); `None`
    /// answers `SAVEDATE NIL`.
    pub save_date: Option<DateTime>,
}

/// New flags of a message changed by this or another session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagUpdate {
    /// The UID.
    pub uid: NonZeroU32,
    /// The flags now.
    pub flags: Vec<Flag>,
    /// The mod-sequence now.
    pub mod_seq: u64,
}

/// A change to the selected mailbox, fed by the adapter (from the store's
/// change channel) or by the session itself after its own commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailboxChange {
    /// Messages were added (APPEND, COPY, MOVE, delivery). UIDs at or
    /// below the view's highest are ignored (UIDs only grow, RFC 9051 §2.3.1.1).
    Added(Vec<MessageSummary>),
    /// Flags changed.
    Flags(Vec<FlagUpdate>),
    /// Messages were expunged; unknown UIDs are ignored.
    Expunged(Vec<NonZeroU32>),
}

/// How a flush may speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FlushOptions {
    /// `EXPUNGE`/`VANISHED` may be sent (false during FETCH, STORE and
    /// SEARCH, RFC 9051 §7.5.1).
    pub expunge: bool,
    /// QRESYNC is enabled: `VANISHED` replaces `EXPUNGE` (RFC 7162 §3.2.10).
    pub vanished: bool,
    /// Put `UID` in unsolicited FETCH (RFC 7162 §3.2.4 requires it under
    /// QRESYNC; harmless otherwise).
    pub uid: bool,
    /// Put `MODSEQ` in unsolicited FETCH (CONDSTORE enabled, RFC 7162 §3.2.4).
    pub mod_seq: bool,
}

/// A sequence set named a message the client does not have (RFC 9051
/// §6.4.5: a sequence number above EXISTS is an error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidSequence {
    /// The offending number.
    pub number: u32,
}

#[derive(Clone, Debug)]
struct Entry {
    summary: MessageSummary,
    /// Expunged in the store, not yet announced.
    expunged: bool,
    /// Flags changed, not yet announced.
    dirty: bool,
}

/// One session's view of its selected mailbox. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct MailboxView {
    /// Sorted by UID. The first `announced` are the client's messages.
    entries: Vec<Entry>,
    announced: usize,
    /// The mailbox's flag list as last sent in `FLAGS` (RFC 9051 §7.3.5),
    /// grown by every keyword a change brings in.
    defined: Vec<Flag>,
    /// `defined` grew since the client was last told.
    defined_changed: bool,
}

impl MailboxView {
    /// The view right after SELECT: every message is announced (SELECT's
    /// `EXISTS` tells the client their number). Sorted by UID; duplicate
    /// UIDs are dropped.
    pub fn new(mut messages: Vec<MessageSummary>) -> Self {
        messages.sort_by_key(|m| m.uid);
        messages.dedup_by_key(|m| m.uid);
        let entries: Vec<Entry> = messages
            .into_iter()
            .map(|summary| Entry {
                summary,
                expunged: false,
                dirty: false,
            })
            .collect();
        let announced = entries.len();
        let mut view = MailboxView {
            entries,
            announced,
            defined: Vec::new(),
            defined_changed: false,
        };
        let mut defined = Vec::new();
        for e in &view.entries {
            add_new(&mut defined, &e.summary.flags);
        }
        view.defined = defined;
        view
    }

    /// Sets the flag list SELECT announces (RFC 9051 §7.3.5 `FLAGS`): the
    /// adapter's flags plus every keyword some message carries, so no
    /// FETCH ever shows a flag the client was not told about. Returns the
    /// list to send.
    pub fn define_flags(&mut self, flags: Vec<Flag>) -> Vec<Flag> {
        let mut defined = flags;
        let in_use = std::mem::take(&mut self.defined);
        add_new(&mut defined, &in_use);
        self.defined = defined;
        self.defined_changed = false;
        self.defined.clone()
    }

    /// The flag list the client was told (or is about to be told).
    pub fn defined_flags(&self) -> &[Flag] {
        &self.defined
    }

    /// The grown flag list when a change brought in a keyword the client
    /// has not been told about; `None` otherwise. The caller must send it
    /// as untagged `FLAGS` (RFC 9051 §7.3.5, RFC 3501 §7.2.6) before any
    /// FETCH that shows the keyword; this resets the mark.
    pub fn take_new_flags(&mut self) -> Option<Vec<Flag>> {
        if !std::mem::take(&mut self.defined_changed) {
            return None;
        }
        Some(self.defined.clone())
    }

    fn note_flags(&mut self, flags: &[Flag]) {
        if add_new(&mut self.defined, flags) {
            self.defined_changed = true;
        }
    }

    /// The number of messages in the client's view (its last `EXISTS`).
    pub fn exists(&self) -> u32 {
        u32::try_from(self.announced).unwrap_or(u32::MAX)
    }

    /// How many of the client's messages carry `\Recent`.
    pub fn recent(&self) -> u32 {
        let n = self.visible().iter().filter(|e| e.summary.recent).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The highest UID the client knows, or 0.
    pub fn max_uid(&self) -> u32 {
        self.visible().last().map_or(0, |e| e.summary.uid.get())
    }

    /// The sequence number of the first message without `\Seen` (for the
    /// IMAP4rev1 `[UNSEEN n]` code).
    pub fn first_unseen(&self) -> Option<NonZeroU32> {
        let i = self
            .visible()
            .iter()
            .position(|e| !e.summary.flags.contains(&Flag::Seen))?;
        seq_of_index(i)
    }

    fn visible(&self) -> &[Entry] {
        self.entries.get(..self.announced).unwrap_or_default()
    }

    /// The message with sequence number `seq` in the client's view.
    pub fn get(&self, seq: u32) -> Option<&MessageSummary> {
        let i = usize::try_from(seq.checked_sub(1)?).ok()?;
        self.visible().get(i).map(|e| &e.summary)
    }

    /// The client was just sent the flags (and mod-sequence) the view
    /// holds for message `seq` with UID `uid` (a FETCH FLAGS): a pending
    /// flag change of it need not be sent again. By sequence number, O(1)
    /// (`set_flags` searches by UID, twice, which a `FETCH 1:* (FLAGS)`
    /// of 100,000 messages felt). False when `seq` is not `uid`.
    pub fn mark_told(&mut self, seq: u32, uid: NonZeroU32) -> bool {
        let Some(i) = seq.checked_sub(1).and_then(|i| usize::try_from(i).ok()) else {
            return false;
        };
        match self
            .entries
            .get_mut(..self.announced)
            .and_then(|v| v.get_mut(i))
        {
            Some(e) if e.summary.uid == uid => {
                e.dirty = false;
                true
            }
            _ => false,
        }
    }

    /// True when `seq` names a message the client has been told about.
    pub fn is_valid_seq(&self, seq: u32) -> bool {
        seq >= 1 && (seq as usize) <= self.announced
    }

    /// The client's sequence number of `uid`, if the client knows it.
    pub fn seq_of(&self, uid: NonZeroU32) -> Option<NonZeroU32> {
        let i = self
            .visible()
            .binary_search_by_key(&uid, |e| e.summary.uid)
            .ok()?;
        seq_of_index(i)
    }

    /// True when the store expunged `uid` and the client was not told yet.
    pub fn is_expunge_pending(&self, uid: NonZeroU32) -> bool {
        self.entries
            .binary_search_by_key(&uid, |e| e.summary.uid)
            .ok()
            .and_then(|i| self.entries.get(i))
            .is_some_and(|e| e.expunged)
    }

    /// The client's messages as `(sequence number, summary)`.
    pub fn iter(&self) -> impl Iterator<Item = (NonZeroU32, &MessageSummary)> {
        self.visible()
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((seq_of_index(i)?, &e.summary)))
    }

    /// The messages a sequence set names, as `(seq, uid)` ascending.
    ///
    /// With `uid` false the numbers are sequence numbers: one above
    /// [`exists`](Self::exists) is an error (RFC 9051 §6.4.5; `*` is the
    /// last message, and in an empty mailbox any number is invalid). With
    /// `uid` true the numbers are UIDs: unknown UIDs are ignored, and `*`
    /// is the highest UID, so `n:*` always names the last message
    /// (RFC 9051 §6.4.8). `$` must be replaced by the caller.
    pub fn resolve(
        &self,
        set: &SequenceSet,
        uid: bool,
    ) -> Result<Vec<(NonZeroU32, NonZeroU32)>, InvalidSequence> {
        let mut out = Vec::new();
        if uid {
            let largest = self.max_uid();
            for (seq, m) in self.iter() {
                if set.contains(m.uid.get(), largest) {
                    out.push((seq, m.uid));
                }
            }
            return Ok(out);
        }
        let exists = self.exists();
        for item in set.items() {
            let (a, b) = match *item {
                crate::types::Sequence::Single(a) => (a, a),
                crate::types::Sequence::Range(a, b) => (a, b),
            };
            for v in [a, b] {
                if let crate::types::SeqOrUid::Value(n) = v
                    && n.get() > exists
                {
                    return Err(InvalidSequence { number: n.get() });
                }
            }
            if exists == 0 {
                return Err(InvalidSequence { number: 0 });
            }
        }
        for (seq, m) in self.iter() {
            if set.contains(seq.get(), exists) {
                out.push((seq, m.uid));
            }
        }
        Ok(out)
    }

    /// Records a change; nothing is announced until [`flush`](Self::flush).
    pub fn apply(&mut self, change: MailboxChange) {
        match change {
            MailboxChange::Added(mut messages) => {
                messages.sort_by_key(|m| m.uid);
                for summary in messages {
                    let last = self.entries.last().map_or(0, |e| e.summary.uid.get());
                    if summary.uid.get() > last {
                        self.note_flags(&summary.flags);
                        self.entries.push(Entry {
                            summary,
                            expunged: false,
                            dirty: false,
                        });
                    }
                }
            }
            MailboxChange::Flags(updates) => {
                for u in updates {
                    let known = self
                        .entry_mut(u.uid)
                        .is_some_and(|e| !e.expunged && e.summary.flags != u.flags);
                    if known {
                        self.note_flags(&u.flags);
                    }
                    if let Some(e) = self.entry_mut(u.uid)
                        && !e.expunged
                        && (e.summary.flags != u.flags || e.summary.mod_seq != u.mod_seq)
                    {
                        e.summary.flags = u.flags;
                        e.summary.mod_seq = u.mod_seq;
                        e.dirty = true;
                    }
                }
            }
            MailboxChange::Expunged(uids) => {
                for uid in uids {
                    let Ok(i) = self.entries.binary_search_by_key(&uid, |e| e.summary.uid) else {
                        continue;
                    };
                    if i >= self.announced {
                        // The client never heard of it: drop it silently.
                        self.entries.remove(i);
                    } else if let Some(e) = self.entries.get_mut(i) {
                        e.expunged = true;
                        e.dirty = false;
                    }
                }
            }
        }
    }

    /// Brings the view in line with the store's complete list of messages
    /// (any order) after change notices were lost: UIDs the view holds
    /// but `messages` lacks are expunged, UIDs above the view's highest
    /// are added, and every other message's flags are compared. As with
    /// [`apply`](Self::apply), nothing is announced until
    /// [`flush`](Self::flush), so the usual EXPUNGE rules still hold.
    pub fn resync(&mut self, mut messages: Vec<MessageSummary>) {
        messages.sort_by_key(|m| m.uid);
        messages.dedup_by_key(|m| m.uid);
        let gone: Vec<NonZeroU32> = self
            .entries
            .iter()
            .filter(|e| !e.expunged)
            .map(|e| e.summary.uid)
            .filter(|u| messages.binary_search_by_key(u, |m| m.uid).is_err())
            .collect();
        // A UID the view lacks can still be announced if it is above every
        // UID the client knows (sequence numbers follow UIDs); one below
        // cannot be placed without renumbering the client's messages, and
        // is left out (the store never hands out such a UID: they grow).
        let announced_max = self.max_uid();
        let (known, unknown): (Vec<_>, Vec<_>) = messages
            .into_iter()
            .partition(|m| self.entry_index(m.uid).is_some());
        let updates = known
            .into_iter()
            .map(|m| FlagUpdate {
                uid: m.uid,
                flags: m.flags,
                mod_seq: m.mod_seq,
            })
            .collect();
        self.apply(MailboxChange::Expunged(gone));
        self.apply(MailboxChange::Flags(updates));
        for summary in unknown {
            if summary.uid.get() <= announced_max {
                continue;
            }
            self.note_flags(&summary.flags);
            let at = self
                .entries
                .partition_point(|e| e.summary.uid < summary.uid)
                .max(self.announced);
            self.entries.insert(
                at,
                Entry {
                    summary,
                    expunged: false,
                    dirty: false,
                },
            );
        }
    }

    fn entry_index(&self, uid: NonZeroU32) -> Option<usize> {
        self.entries
            .binary_search_by_key(&uid, |e| e.summary.uid)
            .ok()
    }

    /// Updates a message's flags for a response the session sends itself
    /// (STORE, FETCH setting `\Seen`): the change is not announced again.
    /// Returns false when the client does not know `uid`.
    pub fn set_flags(&mut self, uid: NonZeroU32, flags: Vec<Flag>, mod_seq: u64) -> bool {
        if self.entry_mut(uid).is_some() {
            self.note_flags(&flags);
        }
        match self.entry_mut(uid) {
            Some(e) => {
                e.summary.flags = flags;
                e.summary.mod_seq = mod_seq;
                e.dirty = false;
                true
            }
            None => false,
        }
    }

    fn entry_mut(&mut self, uid: NonZeroU32) -> Option<&mut Entry> {
        let i = self
            .entries
            .binary_search_by_key(&uid, |e| e.summary.uid)
            .ok()?;
        self.entries.get_mut(i)
    }

    /// True when a flush would send something.
    pub fn has_pending(&self, expunge: bool) -> bool {
        self.entries.len() > self.announced
            || self
                .visible()
                .iter()
                .any(|e| e.dirty || (expunge && e.expunged))
    }

    /// The untagged responses that bring the client up to date, in the
    /// order to send them: `EXPUNGE`s (or one `VANISHED`) if allowed, then
    /// `EXISTS` and `RECENT` for new messages, then `FETCH` for flag
    /// changes.
    pub fn flush(&mut self, options: FlushOptions) -> Vec<Data> {
        let mut out = Vec::new();
        if options.expunge {
            let mut vanished = Vec::new();
            let mut i = 0;
            while i < self.announced {
                if self.entries.get(i).is_some_and(|e| e.expunged) {
                    let e = self.entries.remove(i);
                    self.announced -= 1;
                    if options.vanished {
                        vanished.push(e.summary.uid);
                    } else if let Some(seq) = seq_of_index(i) {
                        out.push(Data::Expunge(seq));
                    }
                } else {
                    i += 1;
                }
            }
            if let Some(uids) = crate::message::compact_sequence_set(&vanished) {
                out.push(Data::Vanished {
                    earlier: false,
                    uids,
                });
            }
        }
        if self.entries.len() > self.announced {
            let old_recent = self.recent();
            self.announced = self.entries.len();
            out.push(Data::Exists(self.exists()));
            let recent = self.recent();
            if recent != old_recent {
                out.push(Data::Recent(recent));
            }
        }
        for i in 0..self.announced {
            let Some(e) = self.entries.get_mut(i) else {
                break;
            };
            if !e.dirty || e.expunged {
                continue;
            }
            e.dirty = false;
            if let Some(seq) = seq_of_index(i) {
                out.push(Data::Fetch {
                    seq,
                    items: fetch_items(&e.summary, options.uid, options.mod_seq),
                });
            }
        }
        out
    }
}

/// `UID`, `FLAGS` and `MODSEQ` items for an unsolicited FETCH.
pub fn fetch_items(m: &MessageSummary, uid: bool, mod_seq: bool) -> Vec<MessageDataItem> {
    let mut items = Vec::new();
    if uid {
        items.push(MessageDataItem::Uid(m.uid));
    }
    items.push(MessageDataItem::Flags(flag_fetch(m)));
    if mod_seq {
        items.push(MessageDataItem::ModSeq(m.mod_seq));
    }
    items
}

/// The FETCH FLAGS list of a message: its flags plus `\Recent` when set
/// (the encoder drops `\Recent` for IMAP4rev2).
pub fn flag_fetch(m: &MessageSummary) -> Vec<FlagFetch> {
    let mut v: Vec<FlagFetch> = m.flags.iter().cloned().map(FlagFetch::Flag).collect();
    if m.recent {
        v.push(FlagFetch::Recent);
    }
    v
}

/// Appends the keywords (and extension flags) of `flags` that `defined`
/// lacks; true if any was added. System flags are always defined.
fn add_new(defined: &mut Vec<Flag>, flags: &[Flag]) -> bool {
    let mut added = false;
    for f in flags {
        if matches!(f, Flag::Keyword(_) | Flag::Extension(_)) && !defined.contains(f) {
            defined.push(f.clone());
            added = true;
        }
    }
    added
}

fn seq_of_index(i: usize) -> Option<NonZeroU32> {
    u32::try_from(i + 1).ok().and_then(NonZeroU32::new)
}

#[cfg(test)]
mod tests;
