//! Live search contexts: `RETURN (UPDATE)` of SEARCH and SORT
//! (RFC 5267 §4.3, CONTEXT=SEARCH and CONTEXT=SORT) and CANCELUPDATE.
//!
//! A context keeps the searching command's criteria and the client's copy
//! of the result (as UIDs, in the requested order). Whenever the session
//! flushes the view's updates (before every tagged answer, and at once
//! while idling) every context is compared with the view:
//!
//! - before the flush, results that stop matching (flags changed) or that
//!   are about to be announced as expunged are sent as `REMOVEFROM`, so
//!   sequence numbers are still valid (RFC 5267 §4.3.4: before EXPUNGE);
//! - after the flush, messages that now match are sent as `ADDTO`, so new
//!   messages' numbers follow their `EXISTS` (§4.3.3).
//!
//! SEARCH contexts use context position 0 and mailbox order (the shortest
//! form, §4.3.3); SORT contexts give the position in the sorted list.
//!
//! Criteria on message content (header and body keys) are kept live
//! too: a message's content never changes, so the context keeps the
//! answer of each content key for each message
//! ([`ContentVerdicts`], from the searching command's own reading) and
//! re-evaluates only flags and other metadata at a flush. A message that
//! arrives later is read once, when the command that announces it ends:
//! after its `EXISTS` and before the tagged answer, its `ADDTO` follows
//! (while idling, or pushed by NOTIFY, it waits for the end of the next
//! command). Sort keys must be ARRIVAL or SIZE; beyond
//! [`Limits::max_update_contexts`](super::Limits::max_update_contexts), or
//! with more than [`ContentVerdicts::MAX_KEYS`] content keys, the update
//! is refused with `* NO [NOUPDATE "tag"]` (§4.3.1) and the other return
//! options are still honoured. Sequence-number criteria are refused too
//! (§4.3: they are evaluated once, when the command arrives).
//! The cost is one metadata match per message and context at each flush.

use super::ServerSession;
use super::pending::{Completion, Report, SearchJob};
use crate::command::{SearchKey, SortCriterion, SortKey};
use crate::message::{
    ContentVerdicts, MessageMeta, Needs, SearchProgram, SearchScope, SortFields,
    compact_sequence_set,
};
use crate::response::{Code, Data, ESearchItem, Response, Status};
use crate::types::{Quoted, SequenceSet, Tag};
use crate::view::{MailboxView, MessageSummary};
use std::collections::VecDeque;
use std::num::NonZeroU32;

/// A searching command whose result the client asked to keep up to date.
#[derive(Debug)]
pub(super) struct LiveContext {
    /// The searching command's tag: the correlator of every update.
    pub(super) tag: Tag,
    /// `UID SEARCH`/`UID SORT`: updates carry UIDs, else sequence numbers.
    uid: bool,
    program: SearchProgram,
    /// `*` in UID sets means the highest UID at the time of the command.
    scope: SearchScope,
    /// SORT criteria; `None` for SEARCH (mailbox order).
    sort: Option<Vec<SortCriterion>>,
    /// The client's result list as UIDs, in the requested order.
    results: Vec<NonZeroU32>,
    /// For criteria that read content: each message's content answers,
    /// by UID ascending; a message without is not read yet.
    verdicts: Option<Vec<(NonZeroU32, ContentVerdicts)>>,
}

/// Why a searching command's UPDATE cannot be honoured, or `None`.
pub(super) fn refusal(
    program: &SearchProgram,
    criteria: &[SearchKey],
    sort: Option<&[SortCriterion]>,
) -> Option<&'static str> {
    if program.content_keys() > ContentVerdicts::MAX_KEYS {
        return Some("Too many header and body criteria for updates");
    }
    if sort.is_some_and(|c| {
        c.iter()
            .any(|c| !matches!(c.key, SortKey::Arrival | SortKey::Size))
    }) {
        return Some("Sorted updates need ARRIVAL or SIZE");
    }
    if criteria.iter().any(has_sequence_numbers) {
        return Some("Updates need UIDs, not sequence numbers");
    }
    None
}

/// True when a key (or one nested in it) is a bare sequence set. The tree
/// came from the parser, whose depth limit bounds this recursion.
fn has_sequence_numbers(key: &SearchKey) -> bool {
    match key {
        SearchKey::SequenceSet(_) => true,
        SearchKey::Not(k) => has_sequence_numbers(k),
        SearchKey::Or(a, b) => has_sequence_numbers(a) || has_sequence_numbers(b),
        SearchKey::And(v) => v.iter().any(has_sequence_numbers),
        _ => false,
    }
}

fn meta_of(seq: NonZeroU32, m: &MessageSummary) -> MessageMeta<'_> {
    MessageMeta {
        seq: seq.get(),
        uid: m.uid.get(),
        flags: &m.flags,
        recent: m.recent,
        internal_date: m.internal_date,
        size: m.size,
        mod_seq: m.mod_seq,
        email_id: m.email_id.as_ref(),
        save_date: m.save_date,
    }
}

impl LiveContext {
    /// A context over `results` (UIDs in the requested order); `verdicts`
    /// (by UID ascending) when the criteria read content.
    pub(super) fn new(
        tag: Tag,
        uid: bool,
        program: SearchProgram,
        scope: SearchScope,
        sort: Option<Vec<SortCriterion>>,
        results: Vec<NonZeroU32>,
        verdicts: Vec<(NonZeroU32, ContentVerdicts)>,
    ) -> Self {
        let verdicts = (program.needs() != Needs::Metadata).then_some(verdicts);
        LiveContext {
            tag,
            uid,
            program,
            scope,
            sort,
            results,
            verdicts,
        }
    }

    /// `Some(None)`: the criteria read content and `uid` is not read yet.
    fn verdict(&self, uid: NonZeroU32) -> Option<Option<ContentVerdicts>> {
        let v = self.verdicts.as_ref()?;
        Some(
            v.binary_search_by_key(&uid, |(u, _)| *u)
                .ok()
                .and_then(|i| v.get(i))
                .map(|(_, c)| *c),
        )
    }

    /// Whether the message matches; `None` when its content is not read.
    fn evaluate(&self, seq: NonZeroU32, m: &MessageSummary) -> Option<bool> {
        let meta = meta_of(seq, m);
        Some(match self.verdict(m.uid) {
            None => self.program.matches(&meta, None, &self.scope),
            Some(Some(v)) => self.program.matches_with_verdicts(&meta, v, &self.scope),
            Some(None) => return None,
        })
    }

    fn matches(&self, view: &MailboxView, uid: NonZeroU32) -> bool {
        let Some(seq) = view.seq_of(uid) else {
            return false;
        };
        view.get(seq.get())
            .and_then(|m| self.evaluate(seq, m))
            .unwrap_or(false)
    }

    /// The client's messages this context has not read (content
    /// criteria only), as `(seq, uid)` ascending.
    fn unread(&self, view: &MailboxView) -> VecDeque<(NonZeroU32, NonZeroU32)> {
        if self.verdicts.is_none() {
            return VecDeque::new();
        }
        view.iter()
            .filter(|(_, m)| !view.is_expunge_pending(m.uid))
            .filter(|(_, m)| self.verdict(m.uid) == Some(None))
            .map(|(s, m)| (s, m.uid))
            .collect()
    }

    /// Keeps the content answers of messages just read.
    pub(super) fn learn(&mut self, read: Vec<(NonZeroU32, ContentVerdicts)>) {
        if let Some(v) = self.verdicts.as_mut() {
            v.extend(read);
            v.sort_unstable_by_key(|(u, _)| *u);
            v.dedup_by_key(|(u, _)| *u);
        }
    }

    /// Forgets the content answers of messages being expunged.
    fn forget_expunged(&mut self, view: &MailboxView) {
        if let Some(v) = self.verdicts.as_mut() {
            v.retain(|(u, _)| !view.is_expunge_pending(*u));
        }
    }

    /// The number the client knows `uid` by in this context.
    fn id(&self, view: &MailboxView, uid: NonZeroU32) -> Option<NonZeroU32> {
        if self.uid {
            Some(uid)
        } else {
            view.seq_of(uid)
        }
    }

    fn update(&self, item: ESearchItem) -> Data {
        Data::ESearch {
            correlator: Some(self.tag.clone()),
            uid: self.uid,
            items: vec![item],
        }
    }

    /// `REMOVEFROM` for results that no longer match or (when `expunge`)
    /// are about to be announced as expunged; numbers as the client knows
    /// them before the flush.
    fn removals(&mut self, view: &MailboxView, expunge: bool) -> Option<Data> {
        let gone = |uid: NonZeroU32| {
            if view.is_expunge_pending(uid) {
                expunge
            } else {
                !self.matches(view, uid)
            }
        };
        let mut removed = Vec::new();
        let mut pairs: Vec<(u32, NonZeroU32, NonZeroU32)> = Vec::new();
        let mut kept = Vec::with_capacity(self.results.len());
        for &uid in &self.results {
            if !gone(uid) {
                kept.push(uid);
                continue;
            }
            let Some(id) = self.id(view, uid) else {
                continue;
            };
            removed.push(id);
            // Removed at the position it holds once the earlier removals
            // are done (RFC 5267 §4.3.4); consecutive ids at one position
            // share a range.
            let pos = u32::try_from(kept.len() + 1).unwrap_or(u32::MAX);
            match pairs.last_mut() {
                Some((p, _, end)) if *p == pos && end.get().checked_add(1) == Some(id.get()) => {
                    *end = id;
                }
                _ => pairs.push((pos, id, id)),
            }
        }
        if removed.is_empty() {
            return None;
        }
        self.results = kept;
        let item = if self.sort.is_some() {
            ESearchItem::RemoveFrom(positioned(&pairs))
        } else {
            ESearchItem::RemoveFrom(vec![(0, compact_sequence_set(&removed)?)])
        };
        Some(self.update(item))
    }

    /// `ADDTO` for the client's messages that match and are not in the
    /// result (messages pending expunge are never added).
    fn additions(&mut self, view: &MailboxView) -> Option<Data> {
        let mut known: Vec<NonZeroU32> = self.results.clone();
        known.sort_unstable();
        // A message not read yet is added once it is (see the module docs).
        let new: Vec<NonZeroU32> = view
            .iter()
            .filter(|(_, m)| known.binary_search(&m.uid).is_err())
            .filter(|(_, m)| !view.is_expunge_pending(m.uid))
            .filter(|(seq, m)| self.evaluate(*seq, m) == Some(true))
            .map(|(_, m)| m.uid)
            .collect();
        if new.is_empty() {
            return None;
        }
        let Some(criteria) = &self.sort else {
            self.results.extend(&new);
            self.results.sort_unstable();
            let ids: Vec<NonZeroU32> = new.iter().filter_map(|u| self.id(view, *u)).collect();
            return Some(self.update(ESearchItem::AddTo(vec![(0, compact_sequence_set(&ids)?)])));
        };
        let mut all = self.results.clone();
        all.extend(&new);
        let fields = all
            .iter()
            .filter_map(|uid| {
                let seq = view.seq_of(*uid)?;
                let m = view.get(seq.get())?;
                Some(SortFields::new(
                    uid.get(),
                    seq.get(),
                    b"",
                    m.internal_date,
                    m.size,
                ))
            })
            .collect();
        let sorted: Vec<NonZeroU32> = crate::message::sort(fields, criteria)
            .into_iter()
            .filter_map(NonZeroU32::new)
            .collect();
        // Inserting in increasing final position leaves every earlier
        // result in place (RFC 5267 §4.3.3).
        let mut pairs: Vec<(u32, NonZeroU32, NonZeroU32)> = Vec::new();
        for (i, uid) in sorted.iter().enumerate() {
            if new.binary_search(uid).is_err() {
                continue;
            }
            let Some(id) = self.id(view, *uid) else {
                continue;
            };
            let pos = u32::try_from(i + 1).unwrap_or(u32::MAX);
            match pairs.last_mut() {
                Some((p, start, end))
                    if end.get().checked_add(1) == Some(id.get())
                        && p.checked_add(end.get() - start.get() + 1) == Some(pos) =>
                {
                    *end = id;
                }
                _ => pairs.push((pos, id, id)),
            }
        }
        self.results = sorted;
        Some(self.update(ESearchItem::AddTo(positioned(&pairs))))
    }
}

/// `(position, first..=last)` runs as `context-position SP sequence-set`.
fn positioned(pairs: &[(u32, NonZeroU32, NonZeroU32)]) -> Vec<(u32, SequenceSet)> {
    pairs
        .iter()
        .filter_map(|(p, a, b)| {
            let ids: Vec<NonZeroU32> = (a.get()..=b.get()).filter_map(NonZeroU32::new).collect();
            Some((*p, compact_sequence_set(&ids)?))
        })
        .collect()
}

impl ServerSession {
    /// True when a live context uses `tag` (RFC 5267 §4.3: reuse is BAD).
    pub(super) fn context_tag_in_use(&self, tag: &Tag) -> bool {
        self.selected
            .as_ref()
            .is_some_and(|s| s.contexts.iter().any(|c| c.tag == *tag))
    }

    /// Keeps `context` up to date, or refuses with `NOUPDATE` when the
    /// limit of live contexts is reached.
    pub(super) fn add_context(&mut self, context: LiveContext) {
        let max = self.config.limits.max_update_contexts;
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        if sel.contexts.len() >= max {
            let tag = context.tag.clone();
            self.refuse_update(&tag, "Too many contexts");
            return;
        }
        sel.contexts.push(context);
    }

    /// `* NO [NOUPDATE "tag"] text` (RFC 5267 §4.3.1).
    pub(super) fn refuse_update(&mut self, tag: &Tag, text: &str) {
        let Ok(q) = Quoted::try_from(tag.as_str()) else {
            return;
        };
        self.send(&Response::Status(Status::no(
            None,
            Some(Code::NoUpdate(q)),
            text,
        )));
    }

    /// `CANCELUPDATE` (RFC 5267 §4.3.5): the named contexts stop.
    pub(super) fn cancel_update(&mut self, tag: Tag, tags: &[Quoted]) {
        if let Some(sel) = self.selected.as_mut() {
            sel.contexts
                .retain(|c| !tags.iter().any(|t| t.as_str() == c.tag.as_str()));
        }
        self.complete(tag, true, None, "No further updates");
    }

    /// Before the view's flush: `REMOVEFROM` of every context.
    pub(super) fn context_removals(&mut self, expunge: bool) {
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        let mut out = Vec::new();
        for c in &mut sel.contexts {
            out.extend(c.removals(&sel.view, expunge));
            if expunge {
                c.forget_expunged(&sel.view);
            }
        }
        for d in out {
            self.send(&Response::Data(d));
        }
    }

    /// After the view's flush: `ADDTO` of every context.
    pub(super) fn context_additions(&mut self) {
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        let mut out = Vec::new();
        for c in &mut sel.contexts {
            out.extend(c.additions(&sel.view));
        }
        for d in out {
            self.send(&Response::Data(d));
        }
    }
}

impl ServerSession {
    /// Before a command's tagged OK (its updates just flushed): when a live
    /// context has not read messages the client now has, reads them (a
    /// [`SearchJob`] over those messages) and returns `Ok`; the OK then
    /// follows from [`context_read_done`](Self::context_read_done), after
    /// their `ADDTO`. Contexts from index `from` on are looked at, each
    /// once, so a stream of arrivals cannot hold the tagged answer back.
    pub(super) fn context_read_next(
        &mut self,
        from: usize,
        done: Completion,
    ) -> Result<(), Completion> {
        if self.closing {
            return Err(done);
        }
        let Some(sel) = self.selected.as_ref() else {
            return Err(done);
        };
        let Some((context, c, targets)) = sel
            .contexts
            .iter()
            .enumerate()
            .skip(from)
            .map(|(i, c)| (i, c, c.unread(&sel.view)))
            .find(|(_, _, t)| !t.is_empty())
        else {
            return Err(done);
        };
        let report = Report::ContextRead {
            context,
            done: Box::new(done),
        };
        let job = SearchJob::reader(c.tag.clone(), c.program.clone(), c.scope, targets, report);
        self.search_continue(Box::new(job));
        Ok(())
    }

    /// Context `context` read its messages: it keeps their answers, the
    /// next context reads, or the updates (with the `ADDTO`s) are flushed
    /// and the command ends.
    pub(super) fn context_read_done(
        &mut self,
        context: usize,
        read: Vec<(NonZeroU32, ContentVerdicts)>,
        done: Completion,
    ) {
        if let Some(c) = self
            .selected
            .as_mut()
            .and_then(|sel| sel.contexts.get_mut(context))
        {
            c.learn(read);
        }
        if let Err(done) = self.context_read_next(context + 1, done) {
            self.flush_updates(done.expunge);
            self.ok(done.tag, done.code, &done.text);
        }
    }
}
