//! STORE, COPY, MOVE and EXPUNGE (RFC 9051 §6.4.3, §6.4.6 to §6.4.9;
//! RFC 7162 UNCHANGEDSINCE; RFC 4315 COPYUID; RFC 6851 MOVE).

use super::pending::Pending;
use super::{CopyAnswer, Event, RequestId, ServerSession, SessionState, StoreAnswer, Wait};
use crate::command::StoreAction;
use crate::message::compact_sequence_set;
use crate::response::{Code, Data, MessageDataItem, RespText, Response, Status};
use crate::types::{Flag, Mailbox, SequenceSet, Tag};
use crate::view::{FlagUpdate, MailboxChange, MailboxView};
use std::num::NonZeroU32;

impl ServerSession {
    pub(super) fn expunge(&mut self, tag: Tag, set: Option<SequenceSet>) {
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
    pub(super) fn store(
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
        let announce_highest = unchanged_since.is_some() && !self.enabled.condstore;
        if unchanged_since.is_some() {
            // RFC 7162 §3.1: a CONDSTORE-using command enables it.
            self.enabled.condstore = true;
        }
        if targets.is_empty() {
            if announce_highest {
                self.announce_highest_mod_seq(uid);
            }
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
                announce_highest,
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
            announce_highest,
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
        let modified = compact_sequence_set(&a.modified).map(Code::Modified);
        let text = if modified.is_some() {
            "Conditional STORE failed"
        } else {
            "STORE completed"
        };
        // The first CONDSTORE-enabling command reports HIGHESTMODSEQ
        // untagged before its tagged OK (RFC 7162 §3.1), which carries
        // MODIFIED when a message failed the UNCHANGEDSINCE test.
        if announce_highest {
            self.announce_highest_mod_seq(uid);
        }
        self.complete(tag, uid, modified, text);
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
        if let Some(m) = updated.iter().map(|u| u.mod_seq).max() {
            self.saw_mod_seq(m);
        }
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
        // A keyword this STORE created is announced to this session too,
        // before the FETCH that shows it.
        self.announce_flags();
        for d in out {
            self.send(&Response::Data(d));
        }
    }

    pub(super) fn copy(
        &mut self,
        tag: Tag,
        uid: bool,
        set: &SequenceSet,
        m: &Mailbox,
        is_move: bool,
    ) {
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
        self.sync_then(super::pending::AfterSync::Copy {
            tag,
            uid,
            is_move,
            answer,
        });
        Ok(())
    }

    /// The answer of a COPY or MOVE, once the changes are in.
    pub(super) fn finish_copy(
        &mut self,
        tag: Tag,
        uid: bool,
        is_move: bool,
        answer: Result<CopyAnswer, RespText>,
    ) {
        let a = match answer {
            Ok(a) => a,
            Err(text) => {
                self.no(tag, text);
                return;
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
    }
}

/// UIDs carrying `\Deleted`, optionally within `within` (sorted or not).
pub(super) fn deleted_uids(view: &MailboxView, within: Option<&[NonZeroU32]>) -> Vec<NonZeroU32> {
    view.iter()
        .filter(|(_, m)| m.flags.contains(&Flag::Deleted))
        .filter(|(_, m)| within.is_none_or(|w| w.contains(&m.uid)))
        .map(|(_, m)| m.uid)
        .collect()
}
