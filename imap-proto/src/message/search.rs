//! SEARCH evaluation over one message and its metadata (RFC 9051 §6.4.4,
//! RFC 3501 §6.4.4 for NEW/OLD/RECENT, RFC 7162 §3.1.5 for MODSEQ, RFC 8474
//! §6 for EMAILID/THREADID, RFC 8514 §5 for the SAVED* keys).
//!
//! A [`SearchProgram`] is compiled once per command. [`SearchProgram::needs`]
//! says whether the keys can be answered from metadata alone, from the
//! header, or need the whole message, so a server searching thousands of
//! messages opens files only when it has to.

use super::PartOffsets;
use super::search_body::{BodyMatches, BodySearch};
use super::search_text::{Needle, text_parts_contain};
use crate::command::SearchKey;
use crate::types::{Date, DateTime, Flag, ObjectId, SequenceSet};
use mail_parser::{Address, HeaderName, HeaderValue, MessageParser};

/// What a search needs to look at, from cheapest to dearest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Needs {
    /// Flags, UID, sequence number, sizes, internal date, mod-sequence.
    Metadata,
    /// The header fields too (FROM, SUBJECT, HEADER, SENT*, …).
    Headers,
    /// The body too (BODY, TEXT).
    Body,
}

/// The per-message data a store keeps, handed in by the server.
#[derive(Clone, Copy, Debug)]
pub struct MessageMeta<'a> {
    /// Message sequence number in the client's view.
    pub seq: u32,
    /// UID.
    pub uid: u32,
    /// Flags and keywords.
    pub flags: &'a [Flag],
    /// `\Recent` (IMAP4rev1 sessions).
    pub recent: bool,
    /// INTERNALDATE.
    pub internal_date: DateTime,
    /// RFC822.SIZE.
    pub size: u64,
    /// The message's mod-sequence (RFC 7162).
    pub mod_seq: u64,
    /// EMAILID (RFC 8474 §5.1), if the store assigns them.
    pub email_id: Option<&'a ObjectId>,
    /// The save date (RFC 8514), if the store keeps them.
    pub save_date: Option<DateTime>,
}

/// What `*` stands for in sequence sets of this search (RFC 9051 §9:
/// the largest number in use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchScope {
    /// Highest message sequence number (the mailbox's EXISTS).
    pub max_seq: u32,
    /// Highest UID in the mailbox.
    pub max_uid: u32,
}

/// A message parsed for searching: header fields decoded by mail-parser
/// (RFC 2047 encoded words, addresses); for body keys, the part tree from
/// the streaming scanner, whose text parts are decoded one at a time
/// (transfer encoding, then charset to UTF-8) when a key asks. Nothing
/// here recurses on the input: nesting beyond [`super::MAX_DEPTH`] is not
/// searched.
#[derive(Debug)]
pub struct SearchMessage<'a> {
    parsed: Option<mail_parser::Message<'a>>,
    raw: &'a [u8],
    tree: Option<PartOffsets>,
    /// Body keys already answered by a [`BodySearch`] over the file.
    body: Option<Vec<bool>>,
}

impl<'a> SearchMessage<'a> {
    /// Reads `raw` as deeply as `needs` asks: only the header for
    /// [`Needs::Headers`], the part tree too for [`Needs::Body`].
    pub fn new(raw: &'a [u8], needs: Needs) -> Self {
        let parser = MessageParser::new().default_header_text();
        let parsed = match needs {
            Needs::Metadata => None,
            Needs::Headers | Needs::Body => parser.parse_headers(raw),
        };
        let tree = (needs == Needs::Body).then(|| PartOffsets::parse(raw));
        SearchMessage {
            parsed,
            raw,
            tree,
            body: None,
        }
    }

    /// A message whose header is `header` and whose body keys were
    /// answered by [`SearchProgram::body_search`] over its octets (the
    /// message itself is never held).
    pub fn with_body(header: &'a [u8], body: BodyMatches) -> Self {
        let mut m = SearchMessage::new(header, Needs::Headers);
        m.body = Some(body.0);
        m
    }

    /// Whether body needle `index` is in a text part.
    fn body_has(&self, index: usize, needle: &Needle) -> bool {
        match &self.body {
            Some(found) => found.get(index).copied().unwrap_or(false),
            None => body_contains(self, needle),
        }
    }

    fn headers(&self) -> &[mail_parser::Header<'a>] {
        self.parsed
            .as_ref()
            .and_then(|m| m.parts.first())
            .map_or(&[], |p| p.headers.as_slice())
    }
}

/// Text fields matched by substring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AddrField {
    From,
    To,
    Cc,
    Bcc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SystemFlag {
    Answered,
    Deleted,
    Draft,
    Flagged,
    Seen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DateOp {
    Before,
    On,
    Since,
}

/// A compiled search key: needles lower-cased once.
#[derive(Clone, Debug)]
enum Node {
    All,
    Flag(SystemFlag, bool),
    Keyword(String, bool),
    Recent(bool),
    New,
    Internal(DateOp, Date),
    Sent(DateOp, Date),
    Larger(u64),
    Smaller(u64),
    Uid(SequenceSet),
    Seq(SequenceSet),
    ModSeq(u64),
    Saved(DateOp, Date),
    SaveDateSupported,
    EmailId(ObjectId),
    Header(String, Needle),
    Addr(AddrField, Needle),
    Subject(Needle),
    /// The needle and its index among the program's body needles.
    Body(Needle, usize),
    Text(Needle, usize),
    Not(Box<Node>),
    Or(Box<Node>, Box<Node>),
    And(Vec<Node>),
    /// A key that reads the header or body, with its index among the
    /// program's content keys (for [`ContentVerdicts`]).
    Content(Box<Node>, u32),
    /// Keys nested deeper than [`MAX_KEY_DEPTH`]: match nothing.
    Never,
}

/// Nesting depth of search keys followed (the parser bounds it too).
const MAX_KEY_DEPTH: usize = 64;

fn compile(key: &SearchKey, depth: usize, body: &mut Vec<Needle>) -> Node {
    if depth > MAX_KEY_DEPTH {
        return Node::Never;
    }
    let d = depth + 1;
    match key {
        SearchKey::All => Node::All,
        SearchKey::Answered => Node::Flag(SystemFlag::Answered, true),
        SearchKey::Deleted => Node::Flag(SystemFlag::Deleted, true),
        SearchKey::Draft => Node::Flag(SystemFlag::Draft, true),
        SearchKey::Flagged => Node::Flag(SystemFlag::Flagged, true),
        SearchKey::Seen => Node::Flag(SystemFlag::Seen, true),
        SearchKey::Unanswered => Node::Flag(SystemFlag::Answered, false),
        SearchKey::Undeleted => Node::Flag(SystemFlag::Deleted, false),
        SearchKey::Undraft => Node::Flag(SystemFlag::Draft, false),
        SearchKey::Unflagged => Node::Flag(SystemFlag::Flagged, false),
        SearchKey::Unseen => Node::Flag(SystemFlag::Seen, false),
        SearchKey::Keyword(k) => Node::Keyword(k.as_str().to_ascii_lowercase(), true),
        SearchKey::Unkeyword(k) => Node::Keyword(k.as_str().to_ascii_lowercase(), false),
        SearchKey::Recent => Node::Recent(true),
        SearchKey::Old => Node::Recent(false),
        SearchKey::New => Node::New,
        SearchKey::Before(x) => Node::Internal(DateOp::Before, *x),
        SearchKey::On(x) => Node::Internal(DateOp::On, *x),
        SearchKey::Since(x) => Node::Internal(DateOp::Since, *x),
        SearchKey::SentBefore(x) => Node::Sent(DateOp::Before, *x),
        SearchKey::SentOn(x) => Node::Sent(DateOp::On, *x),
        SearchKey::SentSince(x) => Node::Sent(DateOp::Since, *x),
        SearchKey::Larger(n) => Node::Larger(*n),
        SearchKey::Smaller(n) => Node::Smaller(*n),
        SearchKey::Uid(s) => Node::Uid(s.clone()),
        SearchKey::SequenceSet(s) => Node::Seq(s.clone()),
        SearchKey::ModSeq { mod_seq, .. } => Node::ModSeq(*mod_seq),
        SearchKey::SavedBefore(x) => Node::Saved(DateOp::Before, *x),
        SearchKey::SavedOn(x) => Node::Saved(DateOp::On, *x),
        SearchKey::SavedSince(x) => Node::Saved(DateOp::Since, *x),
        SearchKey::SaveDateSupported => Node::SaveDateSupported,
        SearchKey::EmailId(id) => Node::EmailId(id.clone()),
        // RFC 8474 §5.2: without threading no message has a THREADID.
        SearchKey::ThreadId(_) => Node::Never,
        SearchKey::Header(f, v) => Node::Header(
            String::from_utf8_lossy(f.as_bytes()).to_ascii_lowercase(),
            Needle::new(v),
        ),
        SearchKey::From(v) => Node::Addr(AddrField::From, Needle::new(v)),
        SearchKey::To(v) => Node::Addr(AddrField::To, Needle::new(v)),
        SearchKey::Cc(v) => Node::Addr(AddrField::Cc, Needle::new(v)),
        SearchKey::Bcc(v) => Node::Addr(AddrField::Bcc, Needle::new(v)),
        SearchKey::Subject(v) => Node::Subject(Needle::new(v)),
        SearchKey::Body(v) => {
            body.push(Needle::new(v));
            Node::Body(Needle::new(v), body.len() - 1)
        }
        SearchKey::Text(v) => {
            body.push(Needle::new(v));
            Node::Text(Needle::new(v), body.len() - 1)
        }
        SearchKey::Not(k) => Node::Not(Box::new(compile(k, d, body))),
        SearchKey::Or(a, b) => {
            Node::Or(Box::new(compile(a, d, body)), Box::new(compile(b, d, body)))
        }
        SearchKey::And(v) => Node::And(v.iter().map(|k| compile(k, d, body)).collect()),
    }
}

fn needs(n: &Node) -> Needs {
    match n {
        Node::Header(..) | Node::Addr(..) | Node::Subject(_) | Node::Sent(..) => Needs::Headers,
        Node::Body(..) | Node::Text(..) => Needs::Body,
        Node::Not(k) | Node::Content(k, _) => needs(k),
        Node::Or(a, b) => needs(a).max(needs(b)),
        Node::And(v) => v.iter().map(needs).max().unwrap_or(Needs::Metadata),
        _ => Needs::Metadata,
    }
}

/// Wraps every key that reads message content in [`Node::Content`],
/// numbered in tree order; `next` counts them. The tree came from
/// [`compile`], whose depth limit bounds this recursion.
fn number_content(n: &mut Node, next: &mut u32) {
    match n {
        Node::Header(..)
        | Node::Addr(..)
        | Node::Subject(_)
        | Node::Sent(..)
        | Node::Body(..)
        | Node::Text(..) => {
            let key = std::mem::replace(n, Node::Never);
            *n = Node::Content(Box::new(key), *next);
            *next = next.saturating_add(1);
        }
        Node::Not(k) => number_content(k, next),
        Node::Or(a, b) => {
            number_content(a, next);
            number_content(b, next);
        }
        Node::And(v) => v.iter_mut().for_each(|k| number_content(k, next)),
        _ => {}
    }
}

/// The answers of a program's content keys (header and body keys) for
/// one message, one bit per key. A message's content never changes, so a
/// live search context (RFC 5267 §4.3) keeps these and re-evaluates only
/// the flags and other metadata when they change
/// ([`SearchProgram::matches_with_verdicts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContentVerdicts(u64);

impl ContentVerdicts {
    /// The most content keys one [`ContentVerdicts`] holds.
    pub const MAX_KEYS: usize = 64;

    fn get(self, index: u32) -> bool {
        index < 64 && self.0 & (1u64 << index) != 0
    }
}

/// A compiled SEARCH program (the search keys of one command, ANDed).
#[derive(Clone, Debug)]
pub struct SearchProgram {
    root: Node,
    needs: Needs,
    mod_seq: bool,
    /// The BODY and TEXT needles, by index.
    body: Vec<Needle>,
    /// How many keys read message content.
    content_keys: u32,
}

fn has_modseq(k: &SearchKey, depth: usize) -> bool {
    depth <= MAX_KEY_DEPTH
        && match k {
            SearchKey::ModSeq { .. } => true,
            SearchKey::Not(k) => has_modseq(k, depth + 1),
            SearchKey::Or(a, b) => has_modseq(a, depth + 1) || has_modseq(b, depth + 1),
            SearchKey::And(v) => v.iter().any(|k| has_modseq(k, depth + 1)),
            _ => false,
        }
}

impl SearchProgram {
    /// Compiles the keys of a SEARCH command (all must match).
    pub fn new(keys: &[SearchKey]) -> Self {
        let mut body = Vec::new();
        let mut root = Node::And(keys.iter().map(|k| compile(k, 0, &mut body)).collect());
        let mut content_keys = 0;
        number_content(&mut root, &mut content_keys);
        let needs = needs(&root);
        let mod_seq = keys.iter().any(|k| has_modseq(k, 0));
        SearchProgram {
            root,
            needs,
            mod_seq,
            body,
            content_keys,
        }
    }

    /// How many keys read the header or body (each is one bit of
    /// [`ContentVerdicts`]; beyond [`ContentVerdicts::MAX_KEYS`] the
    /// verdicts cannot be kept).
    pub fn content_keys(&self) -> usize {
        self.content_keys as usize
    }

    /// The answer of every content key for `message` (built with at least
    /// [`needs`](Self::needs)), to evaluate the program again later with
    /// [`matches_with_verdicts`](Self::matches_with_verdicts) without the
    /// message. Keys beyond [`ContentVerdicts::MAX_KEYS`] read as false.
    pub fn content_verdicts(
        &self,
        meta: &MessageMeta<'_>,
        message: &SearchMessage<'_>,
        scope: &SearchScope,
    ) -> ContentVerdicts {
        let mut bits = 0u64;
        collect_verdicts(&self.root, meta, message, scope, &mut bits, 0);
        ContentVerdicts(bits)
    }

    /// [`matches`](Self::matches) with the content keys answered by
    /// `verdicts` (from [`content_verdicts`](Self::content_verdicts) of the
    /// same program and message) and the rest by `meta`.
    pub fn matches_with_verdicts(
        &self,
        meta: &MessageMeta<'_>,
        verdicts: ContentVerdicts,
        scope: &SearchScope,
    ) -> bool {
        eval(&self.root, meta, None, Some(verdicts), scope, 0)
    }

    /// A streaming matcher for this program's BODY and TEXT keys over a
    /// message whose part tree is `root` (see [`BodySearch`]); its result
    /// goes into [`SearchMessage::with_body`].
    pub fn body_search(&self, root: &PartOffsets) -> BodySearch {
        BodySearch::new(self.body.clone(), root)
    }

    /// What evaluating needs: pass a [`SearchMessage`] built with (at
    /// least) this to [`SearchProgram::matches`] unless it is
    /// [`Needs::Metadata`].
    pub fn needs(&self) -> Needs {
        self.needs
    }

    /// True when a key is `MODSEQ`: RFC 7162 §3.1.5 then wants the highest
    /// mod-sequence of the matches in the answer.
    pub fn has_modseq(&self) -> bool {
        self.mod_seq
    }

    /// Evaluates the program for one message. Keys that need the header or
    /// body evaluate to false when `message` is `None` (so pass it whenever
    /// [`SearchProgram::needs`] is more than metadata). A `$` sequence set
    /// matches nothing here: the server replaces it by the saved result
    /// before compiling (RFC 5182).
    pub fn matches(
        &self,
        meta: &MessageMeta<'_>,
        message: Option<&SearchMessage<'_>>,
        scope: &SearchScope,
    ) -> bool {
        eval(&self.root, meta, message, None, scope, 0)
    }
}

/// Sets the bit of every content key `message` matches. Bounded like
/// [`eval`].
fn collect_verdicts(
    n: &Node,
    meta: &MessageMeta<'_>,
    message: &SearchMessage<'_>,
    scope: &SearchScope,
    bits: &mut u64,
    depth: usize,
) {
    if depth > MAX_KEY_DEPTH + 3 {
        return;
    }
    let d = depth + 1;
    match n {
        Node::Content(k, i) if *i < 64 && eval(k, meta, Some(message), None, scope, d) => {
            *bits |= 1u64 << *i;
        }
        Node::Not(k) => collect_verdicts(k, meta, message, scope, bits, d),
        Node::Or(a, b) => {
            collect_verdicts(a, meta, message, scope, bits, d);
            collect_verdicts(b, meta, message, scope, bits, d);
        }
        Node::And(v) => v
            .iter()
            .for_each(|k| collect_verdicts(k, meta, message, scope, bits, d)),
        _ => {}
    }
}

fn has_flag(flags: &[Flag], f: SystemFlag) -> bool {
    flags.iter().any(|x| {
        matches!(
            (x, f),
            (Flag::Answered, SystemFlag::Answered)
                | (Flag::Deleted, SystemFlag::Deleted)
                | (Flag::Draft, SystemFlag::Draft)
                | (Flag::Flagged, SystemFlag::Flagged)
                | (Flag::Seen, SystemFlag::Seen)
        )
    })
}

fn date_matches(op: DateOp, have: Date, want: Date) -> bool {
    match op {
        DateOp::Before => have < want,
        DateOp::On => have == want,
        DateOp::Since => have >= want,
    }
}

/// Evaluates `n`; content keys are answered by `verdicts` when given,
/// else by `msg` (false without it).
fn eval(
    n: &Node,
    meta: &MessageMeta<'_>,
    msg: Option<&SearchMessage<'_>>,
    verdicts: Option<ContentVerdicts>,
    scope: &SearchScope,
    depth: usize,
) -> bool {
    if depth > MAX_KEY_DEPTH + 3 {
        return false;
    }
    let d = depth + 1;
    match n {
        Node::All => true,
        Node::Never => false,
        Node::Flag(f, want) => has_flag(meta.flags, *f) == *want,
        Node::Keyword(k, want) => {
            let has = meta.flags.iter().any(|f| match f {
                Flag::Keyword(a) => a.as_str().eq_ignore_ascii_case(k),
                _ => false,
            });
            has == *want
        }
        Node::Recent(want) => meta.recent == *want,
        Node::New => meta.recent && !has_flag(meta.flags, SystemFlag::Seen),
        // RFC 9051 §6.4.4: internal date "disregarding time and timezone".
        Node::Internal(op, want) => date_matches(*op, meta.internal_date.date(), *want),
        Node::Sent(op, want) => msg
            .and_then(sent_date)
            .is_some_and(|have| date_matches(*op, have, *want)),
        Node::Larger(x) => meta.size > *x,
        Node::Smaller(x) => meta.size < *x,
        Node::Uid(s) => s.contains(meta.uid, scope.max_uid),
        Node::Seq(s) => s.contains(meta.seq, scope.max_seq),
        Node::ModSeq(x) => meta.mod_seq >= *x,
        // RFC 8514 §5: the save date "disregarding time and timezone"; a
        // message the store has no save date for is matched by its
        // internal date, as RFC 8514 §5 allows for mailboxes without one.
        Node::Saved(op, want) => {
            let have = meta.save_date.unwrap_or(meta.internal_date);
            date_matches(*op, have.date(), *want)
        }
        Node::SaveDateSupported => meta.save_date.is_some(),
        Node::EmailId(id) => meta.email_id == Some(id),
        Node::Header(name, needle) => msg.is_some_and(|m| {
            m.headers()
                .iter()
                .filter(|h| h.name.as_str().eq_ignore_ascii_case(name))
                // RFC 9051 §6.4.4: "contains the specified string in the
                // text of the header (what comes after the colon)": the raw
                // field text counts (Message-ID keeps its angle brackets),
                // and so does its decoded form (encoded words).
                .any(|h| needle.found_in(&header_text(m, h)) || needle.found_in(&raw_value(m, h)))
        }),
        Node::Addr(field, needle) => msg.is_some_and(|m| {
            let want = match field {
                AddrField::From => HeaderName::From,
                AddrField::To => HeaderName::To,
                AddrField::Cc => HeaderName::Cc,
                AddrField::Bcc => HeaderName::Bcc,
            };
            m.headers()
                .iter()
                .filter(|h| h.name == want)
                .any(|h| needle.found_in(&header_text(m, h)))
        }),
        Node::Subject(needle) => msg.is_some_and(|m| {
            m.headers()
                .iter()
                .filter(|h| h.name == HeaderName::Subject)
                .any(|h| needle.found_in(&header_text(m, h)))
        }),
        Node::Body(needle, i) => msg.is_some_and(|m| m.body_has(*i, needle)),
        // TEXT looks at whole header lines, names included, like Dovecot.
        Node::Text(needle, i) => msg.is_some_and(|m| {
            m.headers()
                .iter()
                .any(|h| needle.found_in(&format!("{}: {}", h.name.as_str(), header_text(m, h))))
                || m.body_has(*i, needle)
        }),
        Node::Content(k, i) => match verdicts {
            Some(v) => v.get(*i),
            None => eval(k, meta, msg, None, scope, d),
        },
        Node::Not(k) => !eval(k, meta, msg, verdicts, scope, d),
        Node::Or(a, b) => {
            eval(a, meta, msg, verdicts, scope, d) || eval(b, meta, msg, verdicts, scope, d)
        }
        Node::And(v) => v.iter().all(|k| eval(k, meta, msg, verdicts, scope, d)),
    }
}

/// The Date: header's calendar date, "disregarding time and timezone"
/// (RFC 9051 §6.4.4). A message without a readable Date: matches no SENT*
/// key.
fn sent_date(m: &SearchMessage<'_>) -> Option<Date> {
    m.headers().iter().find_map(|h| match (&h.name, &h.value) {
        (HeaderName::Date, HeaderValue::DateTime(dt)) => Date::new(dt.year, dt.month, dt.day).ok(),
        _ => None,
    })
}

fn push_addr(out: &mut String, a: &mail_parser::Addr<'_>) {
    if !out.is_empty() {
        out.push_str(", ");
    }
    if let Some(n) = &a.name {
        out.push_str(n);
        out.push(' ');
    }
    if let Some(x) = &a.address {
        out.push('<');
        out.push_str(x);
        out.push('>');
    }
}

/// A header field's decoded text: encoded words decoded, addresses written
/// as `name <address>`; structured values mail-parser keeps in parsed form
/// (dates, Content-Type, Received) are matched on their raw text.
/// The field's text as it stands in the message, unfolded.
fn raw_value(m: &SearchMessage<'_>, h: &mail_parser::Header<'_>) -> String {
    let raw = m.parsed.as_ref().map_or(&[][..], |p| &p.raw_message[..]);
    let r =
        usize::try_from(h.offset_start).unwrap_or(0)..usize::try_from(h.offset_end).unwrap_or(0);
    String::from_utf8_lossy(raw.get(r).unwrap_or_default())
        .replace("\r\n", "")
        .replace('\n', "")
        .trim()
        .to_string()
}

fn header_text(m: &SearchMessage<'_>, h: &mail_parser::Header<'_>) -> String {
    match &h.value {
        HeaderValue::Text(s) => s.to_string(),
        HeaderValue::TextList(v) => v.join(", "),
        HeaderValue::Address(Address::List(v)) => {
            let mut out = String::new();
            v.iter().for_each(|a| push_addr(&mut out, a));
            out
        }
        HeaderValue::Address(Address::Group(groups)) => {
            let mut out = String::new();
            for g in groups {
                if let Some(n) = &g.name {
                    if !out.is_empty() {
                        out.push_str(", ");
                    }
                    out.push_str(n);
                    out.push(':');
                }
                g.addresses.iter().for_each(|a| push_addr(&mut out, a));
            }
            out
        }
        _ => {
            let raw = m.parsed.as_ref().map_or(&[][..], |p| &p.raw_message[..]);
            let r = usize::try_from(h.offset_start).unwrap_or(0)
                ..usize::try_from(h.offset_end).unwrap_or(0);
            String::from_utf8_lossy(raw.get(r).unwrap_or_default()).into_owned()
        }
    }
}

/// BODY: the decoded text of every text part, nested messages included.
fn body_contains(m: &SearchMessage<'_>, needle: &Needle) -> bool {
    m.tree
        .as_ref()
        .is_some_and(|tree| text_parts_contain(m.raw, tree, needle, 0))
}
