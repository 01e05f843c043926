//! FETCH (RFC 9051 §6.4.5; RFC 7162 CONDSTORE; RFC 3516 BINARY): a
//! multi-step job that walks the messages, asks the adapter for content
//! only when needed, and builds the answers with the
//! [`message`](crate::message) helpers. The content answers of SEARCH
//! ([`search`](super::search)) come in through the same `respond_message`.

use super::fetch_plan::{
    binary_items, decoded_message_section, fetch_need, needs_decoded_message, root_from_header,
    section_range, sets_seen,
};
use super::pending::{FetchJob, FetchStream, Job, Pending};
use super::{
    ContentNeed, Event, MessageContent, RequestId, ServerSession, SessionError, StoreAnswer, Wait,
};
use crate::command::{FetchAttribute, FetchAttributes, FetchModifier, Section, StoreAction};
use crate::encode::{Encode, Encoder};
use crate::message::{
    BinaryError, BinaryPlan, BinaryScan, Cte, MessageView, PartOffsets, SectionData, find_part,
};
use crate::response::{Code, MessageDataItem, RespText, UnitCode};
use crate::types::{Flag, SequenceSet, Tag};
use crate::view::MessageSummary;
use bytes::Bytes;
use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::ops::Range;

/// Writes one FETCH response into the output, item by item, so large
/// literals can be shared or streamed instead of copied.
struct Writer<'s> {
    session: &'s mut ServerSession,
    line: Vec<u8>,
}

impl Writer<'_> {
    fn item(&mut self, item: &MessageDataItem) {
        let mut enc = Encoder::new(self.session.version);
        item.encode(&mut enc);
        self.line.extend(enc.finish().into_bytes());
    }

    fn raw(&mut self, b: &[u8]) {
        self.line.extend_from_slice(b);
    }

    fn flush_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        self.session.out.push(&line);
    }

    /// `name SP` then the section's data as NIL or a literal.
    fn section(&mut self, uid: NonZeroU32, data: SectionData, bytes: Option<&Bytes>, binary: bool) {
        let len = data.len();
        match data {
            SectionData::Missing => self.raw(b"NIL"),
            SectionData::Owned(v) => {
                self.literal_head(v.len() as u64, binary && v.contains(&0));
                self.raw(&v);
            }
            SectionData::Range(r) => {
                let inline_max = self.session.config.limits.inline_section_max;
                match bytes {
                    Some(b) => {
                        let slice = slice(b, r);
                        self.literal_head(slice.len() as u64, binary && slice.contains(&0));
                        if slice.len() as u64 <= inline_max {
                            self.raw(&slice);
                        } else {
                            self.flush_line();
                            self.session.out.push_shared(slice);
                        }
                    }
                    None => {
                        // The octets stay in the file: the adapter writes
                        // them (docs/DESIGN.md §2). BINARY of an identity-encoded
                        // part is announced as literal8 to be safe with NULs.
                        self.literal_head(len, binary);
                        self.flush_line();
                        self.session.out.push_external(uid, r);
                    }
                }
            }
        }
    }

    /// A BINARY literal from its plan: the octets stay in the file and
    /// are decoded on their way out.
    fn binary_plan(&mut self, uid: NonZeroU32, plan: &BinaryPlan) {
        self.literal_head(plan.len, plan.literal8);
        if plan.len == 0 {
            return;
        }
        self.flush_line();
        if plan.cte == Cte::Identity {
            self.session.out.push_external(uid, plan.read.clone());
        } else {
            self.session.out.push_external_decoded(
                uid,
                plan.read.clone(),
                plan.cte,
                plan.skip,
                plan.len,
            );
        }
    }

    fn literal_head(&mut self, len: u64, literal8: bool) {
        if literal8 {
            self.raw(b"~");
        }
        self.raw(format!("{{{len}}}\r\n").as_bytes());
    }
}

fn slice(b: &Bytes, r: Range<u64>) -> Bytes {
    let len = b.len() as u64;
    let (s, e) = (r.start.min(len), r.end.min(len).max(r.start.min(len)));
    b.slice(s as usize..e as usize)
}

impl ServerSession {
    pub(super) fn start_fetch(
        &mut self,
        tag: Tag,
        uid: bool,
        set: &SequenceSet,
        attributes: FetchAttributes,
        modifiers: Vec<FetchModifier>,
    ) {
        let Some(targets) = self.resolve(&tag, set, uid) else {
            return;
        };
        let mut items = attributes.items();
        if uid && !items.contains(&FetchAttribute::Uid) {
            // RFC 9051 §6.4.9: UID FETCH answers always carry UID.
            items.insert(0, FetchAttribute::Uid);
        }
        let mut changed_since = None;
        let mut partial = None;
        for m in &modifiers {
            match m {
                FetchModifier::ChangedSince(n) => changed_since = Some(*n),
                FetchModifier::Partial(r) => partial = Some(*r),
                FetchModifier::Vanished => {
                    if !(uid && self.enabled.qresync) {
                        self.bad(tag, "VANISHED needs UID FETCH and QRESYNC");
                        return;
                    }
                }
            }
        }
        if changed_since.is_some() && !items.contains(&FetchAttribute::ModSeq) {
            items.push(FetchAttribute::ModSeq);
        }
        let mod_seq = items.contains(&FetchAttribute::ModSeq);
        let announce_highest = mod_seq && !self.enabled.condstore;
        if mod_seq {
            // RFC 7162 §3.1: a CONDSTORE-using command enables it.
            self.enabled.condstore = true;
        }
        let Some(sel) = self.selected.as_ref() else {
            return;
        };
        let mut targets: VecDeque<_> = targets
            .into_iter()
            .filter(|(seq, _)| match changed_since {
                Some(n) => sel.view.get(seq.get()).is_some_and(|m| m.mod_seq > n),
                None => true,
            })
            .collect();
        // RFC 9394 §3.2: PARTIAL keeps the messages at those positions
        // (in ascending order, negative ranges from the last one).
        if let Some(r) = partial {
            let keep = r.indices(targets.len());
            targets = targets
                .into_iter()
                .skip(keep.start)
                .take(keep.len())
                .collect();
        }
        let need = fetch_need(&items);
        let wants_seen = !sel.read_only && items.iter().any(sets_seen);
        let unseen: Vec<NonZeroU32> = if wants_seen {
            targets
                .iter()
                .filter(|(seq, _)| {
                    sel.view
                        .get(seq.get())
                        .is_some_and(|m| !m.flags.contains(&Flag::Seen))
                })
                .map(|(_, u)| *u)
                .collect()
        } else {
            Vec::new()
        };
        let job = Box::new(FetchJob {
            tag,
            uid,
            items,
            targets,
            need,
            seen_set: Vec::new(),
            current: None,
            announce_highest,
            reread: None,
            stream: None,
            unreadable: false,
        });
        if !unseen.is_empty() {
            let flags = vec![Flag::Seen];
            self.ask(
                |id| Event::Store {
                    id,
                    uids: unseen,
                    action: StoreAction::Add,
                    flags,
                    unchanged_since: None,
                },
                Pending::Job(Job::Fetch(job)),
            );
            return;
        }
        self.fetch_continue(job);
    }

    /// The answer to the implicit `+FLAGS (\Seen)` of a FETCH.
    pub(super) fn respond_seen(
        &mut self,
        id: RequestId,
        answer: Result<StoreAnswer, RespText>,
    ) -> Result<(), Result<StoreAnswer, RespText>> {
        let Some(Pending::Job(Job::Fetch(mut job))) = self.take_pending(
            id,
            |p| matches!(p, Pending::Job(Job::Fetch(j)) if j.current.is_none()),
        ) else {
            return Err(answer);
        };
        // A failure to set \Seen does not fail the FETCH.
        if let Ok(a) = answer {
            self.apply_own_flags(&a.updated, false, false, false);
            job.seen_set = a.updated.iter().map(|u| u.uid).collect();
        }
        self.fetch_continue(job);
        Ok(())
    }

    fn fetch_continue(&mut self, mut job: Box<FetchJob>) {
        loop {
            if self.closing {
                return;
            }
            if self.out.has_external() || self.out.len() >= self.config.limits.max_pending_output {
                self.wait = Wait::Resume(Job::Fetch(job));
                return;
            }
            let Some((seq, uid)) = job.targets.pop_front() else {
                let uid_cmd = job.uid;
                if job.unreadable {
                    self.flush_updates(uid_cmd);
                    let text = RespText::with_code(
                        Code::Unit(UnitCode::ServerBug),
                        "Some messages could not be read",
                    );
                    self.no(job.tag, text);
                    return;
                }
                if job.announce_highest {
                    self.announce_highest_mod_seq(uid_cmd);
                }
                self.complete(job.tag, uid_cmd, None, "FETCH completed");
                return;
            };
            let need = match job.reread.take() {
                Some(u) if u == uid => Some(ContentNeed::Message),
                _ => job.need,
            };
            match need {
                Some(need) => {
                    job.current = Some((seq, uid));
                    self.ask(
                        |id| Event::ReadMessage { id, uid, need },
                        Pending::Job(Job::Fetch(job)),
                    );
                    return;
                }
                None => {
                    self.fetch_one(&job, seq, uid, None, None);
                }
            }
        }
    }

    /// Builds and queues the FETCH response of one message. Returns false
    /// (and writes nothing) when `content` cannot serve every item and the
    /// whole message must be read instead (see [`FetchJob::reread`]).
    fn fetch_one(
        &mut self,
        job: &FetchJob,
        seq: NonZeroU32,
        uid: NonZeroU32,
        content: Option<MessageContent>,
        stream: Option<Box<FetchStream>>,
    ) -> bool {
        let Some(summary) = self
            .selected
            .as_ref()
            .and_then(|s| s.view.get(seq.get()))
            .cloned()
        else {
            return true;
        };
        if summary.uid != uid {
            return true;
        }
        let streamed_offsets = stream.as_ref().map(|s| &s.offsets);
        if let Some(MessageContent::Offsets(o)) = &content
            && o.is_valid(summary.size)
            && job.items.iter().any(|i| needs_decoded_message(i, o))
        {
            return false;
        }
        if let Some(o) = streamed_offsets
            && job.items.iter().any(|i| needs_decoded_message(i, o))
        {
            return false;
        }
        let mut plans = None;
        let (bytes, offsets, header) = match content {
            Some(MessageContent::Message { bytes, offsets }) => {
                let offsets = offsets
                    .filter(|o| o.is_valid(bytes.len() as u64))
                    .unwrap_or_else(|| PartOffsets::parse(&bytes));
                let header = slice(&bytes, offsets.header_range());
                (Some(bytes), Some(offsets), Some(header))
            }
            Some(MessageContent::Offsets(o)) => {
                let o = o.is_valid(summary.size).then_some(o);
                (None, o, None)
            }
            Some(MessageContent::Header(h)) => {
                // Only root sections go with a header answer (fetch_need).
                let root = root_from_header(h.len() as u64, summary.size);
                (None, Some(root), Some(h))
            }
            Some(MessageContent::Streamed) => {
                let Some(s) = stream else {
                    return true;
                };
                let FetchStream {
                    offsets,
                    header,
                    scan,
                    ..
                } = *s;
                plans = Some(scan.finish().into_iter().collect::<VecDeque<_>>());
                (None, Some(offsets), Some(Bytes::from(header)))
            }
            Some(MessageContent::Gone | MessageContent::Unreadable) => return true,
            None => (None, None, None),
        };
        // A keyword another session stored meanwhile is announced before
        // a FLAGS item can show it.
        self.announce_flags();
        // FLAGS goes along when this FETCH set \Seen (RFC 9051 §6.4.5).
        let add_flags = job.seen_set.contains(&uid) && !job.items.contains(&FetchAttribute::Flags);
        let items = job
            .items
            .iter()
            .chain(add_flags.then_some(&FetchAttribute::Flags));
        // Room for "* n FETCH (UID n FLAGS (\Seen \Answered))\r\n".
        let mut line = Vec::with_capacity(96);
        line.extend_from_slice(b"* ");
        super::fetch_encode::put_number(&mut line, u64::from(seq.get()));
        line.extend_from_slice(b" FETCH (");
        let mut w = Writer {
            session: self,
            line,
        };
        let mut first = true;
        for item in items {
            // RFC 8474 §5.1 has no NIL EMAILID: a store without ids
            // leaves the item out.
            if *item == FetchAttribute::EmailId && summary.email_id.is_none() {
                continue;
            }
            if !first {
                w.raw(b" ");
            }
            first = false;
            write_item(
                &mut w,
                item,
                &summary,
                bytes.as_ref(),
                offsets.as_ref(),
                header.as_ref(),
                plans.as_mut(),
            );
        }
        w.raw(b")\r\n");
        w.flush_line();
        // The client now has this message's flags (and mod-sequence, if it
        // tracks them): a pending change need not be sent again.
        let told = (add_flags || job.items.contains(&FetchAttribute::Flags))
            && (!self.enabled.condstore || job.items.contains(&FetchAttribute::ModSeq));
        // `summary` is the view's own entry, cloned above and unchanged
        // since: only the "pending change" mark needs clearing.
        if told && let Some(sel) = self.selected.as_mut() {
            sel.view.mark_told(seq.get(), uid);
        }
        true
    }

    /// Answers an [`Event::ReadMessage`].
    pub fn respond_message(
        &mut self,
        id: RequestId,
        content: MessageContent,
    ) -> Result<(), MessageContent> {
        let Some(Pending::Job(job)) = self.take_pending(id, |p| {
            matches!(p, Pending::Job(Job::Fetch(j)) if j.current.is_some())
                || matches!(p, Pending::Job(Job::Search(_)))
        }) else {
            return Err(content);
        };
        match job {
            Job::Fetch(mut job) => {
                let stream = job.stream.take();
                let unreadable = matches!(content, MessageContent::Unreadable)
                    || (matches!(content, MessageContent::Streamed) && stream.is_none());
                if unreadable {
                    job.current = None;
                    job.unreadable = true;
                } else if let Some((seq, uid)) = job.current.take()
                    && !self.fetch_one(&job, seq, uid, Some(content), stream)
                {
                    job.reread = Some(uid);
                    job.targets.push_front((seq, uid));
                }
                self.fetch_continue(job);
            }
            Job::Search(job) => self.search_answer(job, content),
        }
        Ok(())
    }

    /// Begins the answer to an [`Event::ReadMessage`] that asked for
    /// [`ContentNeed::Stream`]: the message's part offsets (the store's,
    /// or a streaming scan of the file). Then hand in every octet with
    /// [`message_chunk`](Self::message_chunk) and end with
    /// `respond_message(id, MessageContent::Streamed)`.
    ///
    /// # Errors
    /// [`SessionError::NoSuchRequest`] when `id` is not a streamed read
    /// waiting for its answer.
    pub fn message_begin(
        &mut self,
        id: RequestId,
        offsets: PartOffsets,
    ) -> Result<(), SessionError> {
        let size = self.current_size();
        match self.pending_mut(id) {
            Some(Pending::Job(Job::Fetch(job))) if job.current.is_some() => {
                let offsets = valid_or_leaf(offsets, size);
                let scan = BinaryScan::new(&offsets, size, &binary_items(&job.items));
                job.stream = Some(Box::new(FetchStream {
                    offsets,
                    header: Vec::new(),
                    pos: 0,
                    scan,
                }));
                Ok(())
            }
            Some(Pending::Job(Job::Search(job))) => {
                let offsets = valid_or_leaf(offsets, size);
                job.stream_begin(&offsets);
                Ok(())
            }
            _ => Err(SessionError::NoSuchRequest),
        }
    }

    /// The next octets of a streamed message (see
    /// [`message_begin`](Self::message_begin)), in file order.
    ///
    /// # Errors
    /// [`SessionError::NoSuchRequest`] when no streamed read `id` began.
    pub fn message_chunk(&mut self, id: RequestId, chunk: &[u8]) -> Result<(), SessionError> {
        match self.pending_mut(id) {
            Some(Pending::Job(Job::Fetch(job))) => {
                let Some(s) = job.stream.as_mut() else {
                    return Err(SessionError::NoSuchRequest);
                };
                let want = s.offsets.body_start.saturating_sub(s.pos);
                let take = usize::try_from(want).unwrap_or(usize::MAX).min(chunk.len());
                s.header.extend_from_slice(&chunk[..take]);
                s.pos = s.pos.saturating_add(chunk.len() as u64);
                s.scan.feed(chunk);
                Ok(())
            }
            Some(Pending::Job(Job::Search(job))) => job.stream_chunk(chunk),
            _ => Err(SessionError::NoSuchRequest),
        }
    }

    /// RFC822.SIZE of the message a FETCH or SEARCH is reading now.
    fn current_size(&self) -> u64 {
        let current = match &self.wait {
            Wait::Answer {
                pending: Pending::Job(Job::Fetch(j)),
                ..
            } => j.current,
            Wait::Answer {
                pending: Pending::Job(Job::Search(j)),
                ..
            } => j.current(),
            _ => None,
        };
        current
            .and_then(|(seq, _)| self.selected.as_ref()?.view.get(seq.get()))
            .map_or(0, |m| m.size)
    }

    /// Continues a paused FETCH or SEARCH.
    pub(super) fn resume(&mut self) {
        match std::mem::replace(&mut self.wait, Wait::Nothing) {
            Wait::Resume(Job::Fetch(job)) => self.fetch_continue(job),
            Wait::Resume(Job::Search(job)) => self.search_continue(job),
            other => self.wait = other,
        }
    }

    /// Octets of the literal announced by [`Event::WriteExternal`]; drain
    /// [`poll_transmit`](Self::poll_transmit) between chunks.
    pub fn send_external_chunk(&mut self, id: RequestId, chunk: &[u8]) -> Result<(), SessionError> {
        self.out.external_chunk(id, chunk)?;
        // A literal in progress is not idleness.
        self.activity = true;
        Ok(())
    }

    /// Ends the literal. If fewer octets came than announced (the file
    /// shrank), the literal cannot be completed and the session closes.
    pub fn finish_external(&mut self, id: RequestId) -> Result<(), SessionError> {
        let missing = self.out.finish_external(id)?;
        if missing > 0 {
            self.close();
        }
        self.activity = true;
        Ok(())
    }

    /// `[HIGHESTMODSEQ n]` for the tagged OK of the first CONDSTORE-enabling
    /// command in a selected mailbox (RFC 7162 §3.1).
    pub(super) fn highest_mod_seq_code(&self) -> Option<Code> {
        let h = self.selected.as_ref()?.highest_mod_seq?;
        Some(Code::HighestModSeq(h))
    }

    /// RFC 7162 §3.1: the first CONDSTORE-enabling command (FETCH MODSEQ,
    /// SEARCH MODSEQ, STORE UNCHANGEDSINCE ...) while a mailbox is
    /// selected is answered with an untagged `OK [HIGHESTMODSEQ n]` before
    /// its tagged OK, so the client learns the value it now tracks
    /// (pending updates go out first: `expunge` as for
    /// [`complete`](Self::complete)).
    pub(super) fn announce_highest_mod_seq(&mut self, expunge: bool) {
        if let Some(h) = self.highest_mod_seq_code() {
            self.flush_updates(expunge);
            self.send(&crate::response::Response::Status(
                crate::response::Status::ok(None, Some(h), "Highest"),
            ));
        }
    }
}

/// Offsets the store handed in for a streamed message, if they fit its
/// size; else the message as one leaf without a header.
fn valid_or_leaf(offsets: PartOffsets, size: u64) -> PartOffsets {
    if offsets.is_valid(size) {
        return offsets;
    }
    PartOffsets {
        kind: crate::message::PartKind::Leaf,
        header_start: 0,
        body_start: 0,
        end: size,
        children: Vec::new(),
    }
}

fn write_item(
    w: &mut Writer<'_>,
    item: &FetchAttribute,
    m: &MessageSummary,
    bytes: Option<&Bytes>,
    offsets: Option<&PartOffsets>,
    header: Option<&Bytes>,
    plans: Option<&mut VecDeque<Result<BinaryPlan, BinaryError>>>,
) {
    use FetchAttribute as A;
    let view = || {
        bytes.map(|b| {
            MessageView::with_offsets(b, offsets.cloned().unwrap_or_else(|| PartOffsets::parse(b)))
        })
    };
    match item {
        // The items of every large FETCH are written straight into the
        // line (`fetch_encode.rs`), the others through the encoder.
        A::Flags => super::fetch_encode::put_flags(&mut w.line, m, w.session.version),
        A::Uid => {
            w.raw(b"UID ");
            super::fetch_encode::put_number(&mut w.line, u64::from(m.uid.get()));
        }
        A::InternalDate => w.item(&MessageDataItem::InternalDate(m.internal_date)),
        A::Rfc822Size => {
            w.raw(b"RFC822.SIZE ");
            super::fetch_encode::put_number(&mut w.line, m.size);
        }
        A::ModSeq => {
            w.raw(b"MODSEQ (");
            super::fetch_encode::put_number(&mut w.line, m.mod_seq);
            w.raw(b")");
        }
        // Left out by the caller when the store assigns no ids.
        A::EmailId => {
            if let Some(id) = &m.email_id {
                w.item(&MessageDataItem::EmailId(id.clone()));
            }
        }
        // RFC 8474 §5.2: NIL, this server does not thread messages.
        A::ThreadId => w.item(&MessageDataItem::ThreadId(None)),
        A::SaveDate => w.item(&MessageDataItem::SaveDate(m.save_date)),
        A::Envelope => {
            let env = crate::message::envelope(header.map_or(&[][..], |h| &h[..]));
            w.item(&MessageDataItem::Envelope(Box::new(env)));
        }
        A::Body | A::BodyStructure => {
            let structure = match view() {
                Some(v) if *item == A::Body => crate::message::body(&v),
                Some(v) => crate::message::body_structure(&v),
                None => crate::message::body_structure(&MessageView::parse(b"")),
            };
            if *item == A::Body {
                w.item(&MessageDataItem::Body(Box::new(structure)));
            } else {
                w.item(&MessageDataItem::BodyStructure(Box::new(structure)));
            }
        }
        A::Rfc822 => {
            w.raw(b"RFC822 ");
            w.section(m.uid, SectionData::Range(0..m.size), bytes, false);
        }
        A::Rfc822Header => {
            w.raw(b"RFC822.HEADER ");
            match (header, offsets) {
                (Some(h), _) => {
                    w.section(m.uid, SectionData::Range(0..h.len() as u64), Some(h), false)
                }
                (None, Some(o)) => {
                    w.section(m.uid, SectionData::Range(o.header_range()), bytes, false)
                }
                (None, None) => w.raw(b"NIL"),
            }
        }
        A::Rfc822Text => {
            w.raw(b"RFC822.TEXT ");
            let data = offsets.map_or(SectionData::Missing, |o| SectionData::Range(o.body_range()));
            w.section(m.uid, data, bytes, false);
        }
        A::BodySection {
            section, partial, ..
        } => {
            let mut enc = Encoder::new(w.session.version);
            let name = MessageDataItem::BodySection {
                section: section.clone(),
                origin: partial.map(|(o, _)| o),
                data: crate::types::NString::Nil,
            };
            name.encode(&mut enc);
            // "BODY[...]<o> NIL": keep the name, drop the NIL.
            let mut head = enc.finish().into_bytes();
            head.truncate(head.len().saturating_sub(3));
            w.raw(&head);
            let size = bytes.map_or(m.size, |b| b.len() as u64);
            let data = match section {
                Some(Section::HeaderFields { .. }) => match (&view(), header) {
                    (Some(v), _) => crate::message::body_section(v, section.as_ref(), None),
                    (None, Some(h)) => {
                        let hv = MessageView::parse(h);
                        crate::message::body_section(&hv, section.as_ref(), None)
                    }
                    (None, None) => SectionData::Missing,
                },
                Some(Section::Header(Some(p)) | Section::Text(Some(p)))
                    if offsets.is_some_and(|o| {
                        find_part(o, p.path()).is_some_and(|n| n.inner_root().is_none())
                    }) =>
                {
                    let text = matches!(section, Some(Section::Text(_)));
                    match (view(), offsets) {
                        (Some(v), Some(o)) => decoded_message_section(&v, o, p.path(), text)
                            .unwrap_or(SectionData::Missing),
                        _ => SectionData::Missing,
                    }
                }
                _ => match offsets {
                    Some(o) => {
                        section_range(o, size, section.as_ref()).unwrap_or(SectionData::Missing)
                    }
                    None if section.is_none() => SectionData::Range(0..size),
                    None => SectionData::Missing,
                },
            };
            let data = match partial {
                Some((o, n)) => data.partial(*o, *n),
                None => data,
            };
            // A HEADER.FIELDS of the header alone was built from `h`: its
            // octets are owned, never a range into a missing message.
            w.section(m.uid, data, bytes, false);
        }
        A::Binary {
            section, partial, ..
        } => {
            w.raw(b"BINARY");
            let mut enc = Encoder::new(w.session.version);
            crate::command::encode_binary_section(&mut enc, section);
            w.raw(&enc.finish().into_bytes());
            if let Some((o, _)) = partial {
                w.raw(format!("<{o}>").as_bytes());
            }
            w.raw(b" ");
            if let Some(plans) = plans {
                match plans.pop_front() {
                    Some(Ok(plan)) => w.binary_plan(m.uid, &plan),
                    _ => w.raw(b"NIL"),
                }
                return;
            }
            let data = match view() {
                Some(v) => crate::message::binary(&v, section, partial.map(|(o, n)| (o, n)))
                    .unwrap_or(SectionData::Missing),
                None => SectionData::Missing,
            };
            w.section(m.uid, data, bytes, true);
        }
        A::BinarySize { section } => {
            let size = match plans {
                Some(plans) => plans.pop_front().and_then(Result::ok).map_or(0, |p| p.size),
                None => view()
                    .and_then(|v| crate::message::binary_size(&v, section).ok())
                    .unwrap_or(0),
            };
            w.item(&MessageDataItem::BinarySize {
                section: section.clone(),
                size: u32::try_from(size).unwrap_or(u32::MAX),
            });
        }
    }
}
