//! SEARCH (RFC 9051 §6.4.4; RFC 7162 CONDSTORE; RFC 4731 ESEARCH; RFC 5182
//! SEARCHRES; RFC 9394 PARTIAL; RFC 5267 CONTEXT=SEARCH), SORT and THREAD
//! (RFC 5256; RFC 5267 ESORT and CONTEXT=SORT): a multi-step job over the
//! view's messages that asks the adapter for content only when the
//! criteria (or the sort keys) need it.

use super::pending::{Job, Pending, Report, SearchJob, SearchStream};
use super::{ContentNeed, Event, MessageContent, ServerSession};
use crate::command::{Charset, SearchKey, SearchReturnOption, SortKey};
use crate::message::{
    ContentVerdicts, MessageMeta, Needs, PartOffsets, SearchMessage, SearchProgram, SearchResult,
    SearchScope, SortFields, return_data, search_data,
};
use crate::response::{Code, Data, RespText, Response};
use crate::types::Tag;
use crate::view::MessageSummary;
use std::collections::VecDeque;
use std::num::NonZeroU32;

impl Report {
    /// What the sort keys or the threading algorithm read.
    fn needs(&self) -> Needs {
        match self {
            Report::Search(_) | Report::ContextRead { .. } => Needs::Metadata,
            Report::Sort(c, _)
                if c.iter()
                    .all(|c| matches!(c.key, SortKey::Arrival | SortKey::Size)) =>
            {
                Needs::Metadata
            }
            Report::Sort(..) | Report::Thread(_) => Needs::Headers,
        }
    }

    fn options(&self) -> Option<&[SearchReturnOption]> {
        match self {
            Report::Search(o) | Report::Sort(_, o) => o.as_deref(),
            Report::Thread(_) | Report::ContextRead { .. } => None,
        }
    }
}

impl SearchJob {
    /// A job that only reads `targets` for live context `tag`'s content
    /// answers ([`Report::ContextRead`]).
    pub(super) fn reader(
        tag: Tag,
        program: SearchProgram,
        scope: SearchScope,
        targets: VecDeque<(NonZeroU32, NonZeroU32)>,
        report: Report,
    ) -> Self {
        SearchJob {
            tag,
            uid: true,
            report,
            fields: Vec::new(),
            program,
            scope,
            targets,
            matched: Vec::new(),
            current: None,
            announce_highest: false,
            update: None,
            stream: None,
            verdicts: Some(Vec::new()),
            expunge_issued: false,
        }
    }

    /// The message being read.
    pub(super) fn current(&self) -> Option<(NonZeroU32, NonZeroU32)> {
        self.current
    }

    pub(super) fn stream_begin(&mut self, offsets: &PartOffsets) {
        self.stream = Some(Box::new(SearchStream {
            header: Vec::new(),
            body_start: offsets.body_start,
            pos: 0,
            body: self.program.body_search(offsets),
        }));
    }

    pub(super) fn stream_chunk(&mut self, chunk: &[u8]) -> Result<(), super::SessionError> {
        let Some(s) = self.stream.as_mut() else {
            return Err(super::SessionError::NoSuchRequest);
        };
        let want = s.body_start.saturating_sub(s.pos);
        let take = usize::try_from(want).unwrap_or(usize::MAX).min(chunk.len());
        s.header.extend_from_slice(&chunk[..take]);
        s.pos = s.pos.saturating_add(chunk.len() as u64);
        s.body.feed(chunk);
        Ok(())
    }
}

impl ServerSession {
    pub(super) fn start_search(
        &mut self,
        tag: Tag,
        uid: bool,
        report: Report,
        charset: Option<Charset>,
        criteria: Vec<SearchKey>,
    ) {
        let options = report.options().unwrap_or_default();
        let has = |f: fn(&SearchReturnOption) -> bool| options.iter().filter(|o| f(o)).count();
        // RFC 4466 §2.6.1: an unknown return option is BAD.
        if has(|o| matches!(o, SearchReturnOption::Other(_))) > 0 {
            self.bad(tag, "Unknown RETURN option");
            return;
        }
        // RFC 5267 §4.4 (kept by RFC 9394): one PARTIAL or one ALL at most.
        if has(|o| matches!(o, SearchReturnOption::Partial(_) | SearchReturnOption::All)) > 1 {
            self.bad(tag, "PARTIAL and ALL exclude each other");
            return;
        }
        let wants_update = has(|o| *o == SearchReturnOption::Update) > 0;
        // RFC 5267 §4.3: a tag that names a live context cannot be reused.
        if wants_update && self.context_tag_in_use(&tag) {
            self.bad(tag, "Tag reuse");
            return;
        }
        let save = has(|o| *o == SearchReturnOption::Save) > 0;
        if let Some(c) = charset {
            let name = match &c {
                Charset::Atom(a) => a.as_str().to_owned(),
                Charset::Quoted(q) => q.as_str().to_owned(),
            };
            if !name.eq_ignore_ascii_case("UTF-8") && !name.eq_ignore_ascii_case("US-ASCII") {
                // RFC 5182 §2.1: a failed SEARCH (SAVE) leaves `$` empty.
                if save {
                    self.saved_search.clear();
                }
                let code = Code::BadCharset(vec![]);
                self.no(tag, RespText::with_code(code, "Only UTF-8 and US-ASCII"));
                return;
            }
        }
        // RFC 5182 §2.1: `$` in the criteria is the saved result.
        let criteria: Vec<SearchKey> = criteria
            .into_iter()
            .map(|k| with_saved(k, &self.saved_search))
            .collect();
        let program = SearchProgram::new(&criteria);
        let announce_highest = program.has_modseq() && !self.enabled.condstore;
        if program.has_modseq() {
            self.enabled.condstore = true;
        }
        let update = if wants_update {
            let sort = match &report {
                Report::Sort(c, _) => Some(c.as_slice()),
                _ => None,
            };
            match super::context::refusal(&program, &criteria, sort) {
                None => Some(Ok(program.clone())),
                Some(text) => Some(Err(text)),
            }
        } else {
            None
        };
        let Some(sel) = self.selected.as_ref() else {
            return;
        };
        let scope = SearchScope {
            max_seq: sel.view.exists(),
            max_uid: sel.view.max_uid(),
        };
        let targets = sel.view.iter().map(|(s, m)| (s, m.uid)).collect();
        // A live context over content keeps every message's answers.
        let verdicts =
            (matches!(update, Some(Ok(_))) && program.needs() != Needs::Metadata).then(Vec::new);
        let job = Box::new(SearchJob {
            tag,
            uid,
            report,
            fields: Vec::new(),
            program,
            scope,
            targets,
            matched: Vec::new(),
            current: None,
            announce_highest,
            update,
            stream: None,
            verdicts,
            expunge_issued: false,
        });
        self.search_continue(job);
    }

    fn search_one(
        &mut self,
        job: &mut SearchJob,
        seq: NonZeroU32,
        uid: NonZeroU32,
        msg: Option<&SearchMessage<'_>>,
        raw: &[u8],
    ) {
        let Some(m) = self.selected.as_ref().and_then(|s| s.view.get(seq.get())) else {
            return;
        };
        if m.uid != uid {
            return;
        }
        let meta = meta_of(seq, m);
        if let (Some(v), Some(msg)) = (job.verdicts.as_mut(), msg) {
            v.push((uid, job.program.content_verdicts(&meta, msg, &job.scope)));
        }
        if matches!(job.report, Report::ContextRead { .. }) {
            return;
        }
        if job.program.matches(&meta, msg, &job.scope) {
            job.matched.push((seq, uid, m.mod_seq));
            if !matches!(job.report, Report::Search(_)) {
                let id = if job.uid { uid } else { seq };
                job.fields.push(SortFields::new(
                    id.get(),
                    seq.get(),
                    raw,
                    m.internal_date,
                    m.size,
                ));
            }
        }
    }

    /// The content of the message the SEARCH asked for.
    pub(super) fn search_answer(&mut self, mut job: Box<SearchJob>, content: MessageContent) {
        let stream = job.stream.take();
        // Another session expunged it after this session's view was last
        // brought up to date: its content keys cannot be answered, so the
        // result may lack it (RFC 9051 §7.1, EXPUNGEISSUED).
        if matches!(content, MessageContent::Gone) {
            job.expunge_issued = true;
        }
        if let Some((seq, uid)) = job.current.take() {
            if let (MessageContent::Streamed, Some(s)) = (&content, stream) {
                let SearchStream { header, body, .. } = *s;
                let msg = SearchMessage::with_body(&header, body.finish());
                self.search_one(&mut job, seq, uid, Some(&msg), &header);
                return self.search_continue(job);
            }
            let raw = match &content {
                MessageContent::Message { bytes, .. } => Some(bytes.clone()),
                MessageContent::Header(h) => Some(h.clone()),
                _ => None,
            };
            if let Some(raw) = raw {
                let msg = SearchMessage::new(&raw, job.program.needs());
                self.search_one(&mut job, seq, uid, Some(&msg), &raw);
            } else if let Some(v) = job.verdicts.as_mut() {
                // Unreadable (gone from the store): it matches no content
                // key, and is not read again.
                v.push((uid, ContentVerdicts::default()));
            }
        }
        self.search_continue(job);
    }

    pub(super) fn search_continue(&mut self, mut job: Box<SearchJob>) {
        let needs = job.program.needs().max(job.report.needs());
        while let Some((seq, uid)) = job.targets.pop_front() {
            if needs == Needs::Metadata {
                self.search_one(&mut job, seq, uid, None, b"");
                continue;
            }
            // Body keys are matched while the file streams past
            // (docs/DESIGN.md §2: bodies are never buffered whole).
            let need = if needs == Needs::Headers {
                ContentNeed::Header
            } else {
                ContentNeed::Stream
            };
            job.current = Some((seq, uid));
            self.ask(
                |id| Event::ReadMessage { id, uid, need },
                Pending::Job(Job::Search(job)),
            );
            return;
        }
        let (options, sorted) = match &mut job.report {
            Report::ContextRead { context, done } => {
                let context = *context;
                let done = std::mem::replace(
                    done,
                    Box::new(super::pending::Completion {
                        tag: job.tag.clone(),
                        expunge: false,
                        code: None,
                        text: String::new(),
                    }),
                );
                let read = job.verdicts.take().unwrap_or_default();
                return self.context_read_done(context, read, *done);
            }
            Report::Search(options) => (options.take(), None),
            Report::Sort(criteria, options) => {
                let fields = std::mem::take(&mut job.fields);
                let ids: Vec<NonZeroU32> = crate::message::sort(fields, criteria)
                    .into_iter()
                    .filter_map(NonZeroU32::new)
                    .collect();
                let Some(options) = options.take() else {
                    // RFC 7162 §3.1.5: a MODSEQ criterion adds the highest
                    // mod-sequence of the messages returned.
                    let mod_seq = job
                        .program
                        .has_modseq()
                        .then(|| job.matched.iter().map(|(_, _, m)| *m).max())
                        .flatten();
                    self.send(&Response::Data(Data::Sort { ids, mod_seq }));
                    return self.complete_job(&job, "SORT completed");
                };
                (Some(options), Some(ids))
            }
            Report::Thread(algorithm) => {
                let fields = std::mem::take(&mut job.fields);
                let threads = crate::message::thread(fields, *algorithm);
                self.send(&Response::Data(Data::Thread(threads)));
                return self.complete_job(&job, "THREAD completed");
            }
        };
        let is_sort = sorted.is_some();
        // The result in the requested order: sorted, or mailbox order.
        let ordered: Vec<NonZeroU32> = sorted.unwrap_or_else(|| {
            job.matched
                .iter()
                .map(|(s, u, _)| if job.uid { *u } else { *s })
                .collect()
        });
        let options = options.as_deref();
        let highest_mod_seq = match (job.program.has_modseq(), is_sort) {
            (false, _) => None,
            (true, false) => result_mod_seq(&job.matched, options),
            (true, true) => job.matched.iter().map(|(_, _, m)| *m).max(),
        };
        let uids = self.uids_of(&job, &ordered);
        if options.is_some_and(|o| o.contains(&SearchReturnOption::Save)) {
            self.saved_search = saved_result(&uids, options.unwrap_or_default());
        }
        let context = job.update.take().map(|update| {
            update.map(|program| {
                let sort = match &job.report {
                    Report::Sort(c, _) => Some(c.clone()),
                    _ => None,
                };
                super::context::LiveContext::new(
                    job.tag.clone(),
                    job.uid,
                    program,
                    job.scope,
                    sort,
                    uids,
                    job.verdicts.take().unwrap_or_default(),
                )
            })
        });
        // RFC 5182 §2.1: SAVE alone sends no ESEARCH.
        let save_only = options
            .is_some_and(|o| o.contains(&SearchReturnOption::Save) && !o.iter().any(shapes_answer));
        let text = if is_sort {
            "SORT completed"
        } else {
            "SEARCH completed"
        };
        if !save_only {
            let data = if is_sort {
                Data::ESearch {
                    correlator: Some(job.tag.clone()),
                    uid: job.uid,
                    items: return_data(
                        &ordered,
                        options.unwrap_or_default(),
                        highest_mod_seq,
                        true,
                    ),
                }
            } else {
                let result = SearchResult {
                    ids: ordered,
                    highest_mod_seq,
                };
                search_data(self.version, &job.tag, job.uid, &result, options)
            };
            self.send(&Response::Data(data));
        }
        // RFC 5267 §4.3.1: a refusal (NOUPDATE) follows the result.
        match context {
            Some(Ok(context)) => self.add_context(context),
            Some(Err(text)) => self.refuse_update(&job.tag, text),
            None => {}
        }
        self.complete_job(&job, text);
    }

    /// The UIDs of results given as `ordered` ids (UIDs, or sequence
    /// numbers of `job.matched`), in the same order.
    fn uids_of(&self, job: &SearchJob, ordered: &[NonZeroU32]) -> Vec<NonZeroU32> {
        if job.uid {
            return ordered.to_vec();
        }
        ordered
            .iter()
            .filter_map(|seq| {
                let i = job.matched.binary_search_by_key(seq, |(s, _, _)| *s).ok()?;
                job.matched.get(i).map(|(_, u, _)| *u)
            })
            .collect()
    }

    /// The tagged OK, with HIGHESTMODSEQ when this command enabled
    /// CONDSTORE (RFC 7162 §3.1, in an untagged OK first), and
    /// EXPUNGEISSUED when a message was expunged before it could be read
    /// (RFC 9051 §7.1).
    fn complete_job(&mut self, job: &SearchJob, text: &str) {
        if job.announce_highest {
            self.announce_highest_mod_seq(job.uid);
        }
        let code = job
            .expunge_issued
            .then_some(Code::Unit(crate::response::UnitCode::ExpungeIssued));
        self.complete(job.tag.clone(), job.uid, code, text);
    }
}

/// The mod-sequence an ESEARCH `MODSEQ` item reports (RFC 7162 §3.1.5): of
/// the message returned for a single `MIN` or `MAX`, the higher of the two
/// for `MIN MAX` alone, else the highest of every match. `matched` is in
/// ascending order.
fn result_mod_seq(
    matched: &[(NonZeroU32, NonZeroU32, u64)],
    options: Option<&[SearchReturnOption]>,
) -> Option<u64> {
    use SearchReturnOption as R;
    let all = || matched.iter().map(|(_, _, m)| *m).max();
    let Some(options) = options else {
        return all();
    };
    let has = |o: R| options.contains(&o);
    let listing = has(R::All) || has(R::Count) || options.is_empty();
    let first = matched.first().map(|(_, _, m)| *m);
    let last = matched.last().map(|(_, _, m)| *m);
    match (has(R::Min), has(R::Max), listing) {
        (true, false, false) => first,
        (false, true, false) => last,
        (true, true, false) => first.max(last),
        _ => all(),
    }
}

/// True for the return options that say what the ESEARCH answer holds.
fn shapes_answer(o: &SearchReturnOption) -> bool {
    use SearchReturnOption as R;
    matches!(o, R::Min | R::Max | R::All | R::Count | R::Partial(_))
}

/// What `RETURN (SAVE ...)` saves (RFC 5182 §2.4, RFC 9394 §3.1), from the
/// result's UIDs in the requested order: with PARTIAL the results in its
/// window; with MIN and/or MAX but neither ALL nor COUNT only those; else
/// every result. Sorted ascending, as `$` is a set.
fn saved_result(uids: &[NonZeroU32], options: &[SearchReturnOption]) -> Vec<NonZeroU32> {
    use SearchReturnOption as R;
    let has = |o: R| options.contains(&o);
    let mut saved: Vec<NonZeroU32> = if let Some(range) = options.iter().find_map(|o| match o {
        R::Partial(r) => Some(*r),
        _ => None,
    }) {
        uids.get(range.indices(uids.len()))
            .unwrap_or_default()
            .to_vec()
    } else if (has(R::Min) || has(R::Max)) && !has(R::All) && !has(R::Count) {
        // For SEARCH the requested order is ascending; for SORT MIN and
        // MAX are the first and last sorted results (RFC 5267 §3.1).
        let mut v = Vec::new();
        if has(R::Min) {
            v.extend(uids.first());
        }
        if has(R::Max) {
            v.extend(uids.last());
        }
        v
    } else {
        uids.to_vec()
    };
    saved.sort_unstable();
    saved.dedup();
    saved
}

/// `$` (RFC 5182) in a search key replaced by the saved UIDs: a bare `$`
/// and `UID $` both name the saved messages; an empty saved result
/// matches nothing. The tree came from the parser, whose depth limit
/// bounds this recursion.
fn with_saved(key: SearchKey, saved: &[NonZeroU32]) -> SearchKey {
    let saved_key = || match crate::message::compact_sequence_set(saved) {
        Some(set) => SearchKey::Uid(set),
        None => SearchKey::Not(Box::new(SearchKey::All)),
    };
    match key {
        SearchKey::SequenceSet(s) | SearchKey::Uid(s) if s.is_search_result() => saved_key(),
        SearchKey::Not(k) => SearchKey::Not(Box::new(with_saved(*k, saved))),
        SearchKey::Or(a, b) => SearchKey::Or(
            Box::new(with_saved(*a, saved)),
            Box::new(with_saved(*b, saved)),
        ),
        SearchKey::And(v) => SearchKey::And(v.into_iter().map(|k| with_saved(k, saved)).collect()),
        other => other,
    }
}

fn meta_of<'a>(seq: NonZeroU32, m: &'a MessageSummary) -> MessageMeta<'a> {
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
