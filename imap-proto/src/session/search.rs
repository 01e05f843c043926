//! SEARCH (RFC 9051 §6.4.4; RFC 7162 CONDSTORE; RFC 4731 ESEARCH; RFC 5182
//! SEARCHRES), SORT and THREAD (RFC 5256): a multi-step job over the view's
//! messages that asks the adapter for content only when the criteria (or
//! the sort keys) need it.

use super::dispatch::{Job, Pending};
use super::{ContentNeed, Event, MessageContent, ServerSession};
use crate::command::{
    Charset, SearchKey, SearchReturnOption, SortCriterion, SortKey, ThreadAlgorithm,
};
use crate::message::{
    MessageMeta, Needs, SearchMessage, SearchProgram, SearchResult, SearchScope, SortFields,
    search_data,
};
use crate::response::{Code, Data, RespText, Response};
use crate::types::Tag;
use crate::view::MessageSummary;
use std::collections::VecDeque;
use std::num::NonZeroU32;

/// What a job over the search results reports.
#[derive(Debug)]
pub(crate) enum Report {
    /// SEARCH with its `RETURN (...)` options.
    Search(Option<Vec<SearchReturnOption>>),
    /// SORT (RFC 5256) by these criteria.
    Sort(Vec<SortCriterion>),
    /// THREAD (RFC 5256) by this algorithm.
    Thread(ThreadAlgorithm),
}

impl Report {
    /// What the sort keys or the threading algorithm read.
    fn needs(&self) -> Needs {
        match self {
            Report::Search(_) => Needs::Metadata,
            Report::Sort(c)
                if c.iter()
                    .all(|c| matches!(c.key, SortKey::Arrival | SortKey::Size)) =>
            {
                Needs::Metadata
            }
            Report::Sort(_) | Report::Thread(_) => Needs::Headers,
        }
    }
}

/// A SEARCH, SORT or THREAD in progress.
#[derive(Debug)]
pub(crate) struct SearchJob {
    tag: Tag,
    uid: bool,
    report: Report,
    /// The sort fields of the matches (SORT and THREAD only).
    fields: Vec<SortFields>,
    program: SearchProgram,
    scope: SearchScope,
    targets: VecDeque<(NonZeroU32, NonZeroU32)>,
    matched: Vec<(NonZeroU32, NonZeroU32, u64)>,
    current: Option<(NonZeroU32, NonZeroU32)>,
    /// This SEARCH enabled CONDSTORE (RFC 7162 §3.1).
    announce_highest: bool,
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
        if let Some(c) = charset {
            let name = match &c {
                Charset::Atom(a) => a.as_str().to_owned(),
                Charset::Quoted(q) => q.as_str().to_owned(),
            };
            if !name.eq_ignore_ascii_case("UTF-8") && !name.eq_ignore_ascii_case("US-ASCII") {
                let code = Code::BadCharset(vec![]);
                self.no(tag, RespText::with_code(code, "Only UTF-8 and US-ASCII"));
                return;
            }
        }
        let program = SearchProgram::new(&criteria);
        let announce_highest = program.has_modseq() && !self.enabled.condstore;
        if program.has_modseq() {
            self.enabled.condstore = true;
        }
        let Some(sel) = self.selected.as_ref() else {
            return;
        };
        let scope = SearchScope {
            max_seq: sel.view.exists(),
            max_uid: sel.view.max_uid(),
        };
        let targets = sel.view.iter().map(|(s, m)| (s, m.uid)).collect();
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
        if let Some((seq, uid)) = job.current.take() {
            let raw = match &content {
                MessageContent::Message { bytes, .. } => Some(bytes.clone()),
                MessageContent::Header(h) => Some(h.clone()),
                _ => None,
            };
            if let Some(raw) = raw {
                let msg = SearchMessage::new(&raw, job.program.needs());
                self.search_one(&mut job, seq, uid, Some(&msg), &raw);
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
            let need = if needs == Needs::Headers {
                ContentNeed::Header
            } else {
                ContentNeed::Message
            };
            job.current = Some((seq, uid));
            self.ask(
                |id| Event::ReadMessage { id, uid, need },
                Pending::Job(Job::Search(job)),
            );
            return;
        }
        let options = match &mut job.report {
            Report::Search(options) => options.take(),
            Report::Sort(criteria) => {
                let fields = std::mem::take(&mut job.fields);
                let ids = crate::message::sort(fields, criteria)
                    .into_iter()
                    .filter_map(NonZeroU32::new)
                    .collect();
                // RFC 7162 §3.1.5: a MODSEQ criterion adds the highest
                // mod-sequence of the messages returned.
                let mod_seq = job
                    .program
                    .has_modseq()
                    .then(|| job.matched.iter().map(|(_, _, m)| *m).max())
                    .flatten();
                self.send(&Response::Data(Data::Sort { ids, mod_seq }));
                return self.complete_job(&job, "SORT completed");
            }
            Report::Thread(algorithm) => {
                let fields = std::mem::take(&mut job.fields);
                let threads = crate::message::thread(fields, *algorithm);
                self.send(&Response::Data(Data::Thread(threads)));
                return self.complete_job(&job, "THREAD completed");
            }
        };
        let ids: Vec<NonZeroU32> = job
            .matched
            .iter()
            .map(|(s, u, _)| if job.uid { *u } else { *s })
            .collect();
        let options = options.as_deref();
        let highest_mod_seq = job
            .program
            .has_modseq()
            .then(|| result_mod_seq(&job.matched, options))
            .flatten();
        let save = options.is_some_and(|o| o.contains(&SearchReturnOption::Save));
        if save {
            let mut uids: Vec<NonZeroU32> = job.matched.iter().map(|(_, u, _)| *u).collect();
            uids.sort_unstable();
            self.saved_search = uids;
        }
        // RFC 5182 §2.1: SAVE alone sends no ESEARCH.
        let save_only = options
            .is_some_and(|o| !o.is_empty() && o.iter().all(|x| *x == SearchReturnOption::Save));
        if !save_only {
            let result = SearchResult {
                ids,
                highest_mod_seq,
            };
            let data: Data = search_data(self.version, &job.tag, job.uid, &result, options);
            self.send(&Response::Data(data));
        }
        self.complete_job(&job, "SEARCH completed");
    }

    /// The tagged OK, with HIGHESTMODSEQ when this command enabled
    /// CONDSTORE (RFC 7162 §3.1).
    fn complete_job(&mut self, job: &SearchJob, text: &str) {
        let code = job
            .announce_highest
            .then(|| self.highest_mod_seq_code())
            .flatten();
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
