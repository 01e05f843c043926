//! SORT and THREAD (RFC 5256): the sort keys of a message, the base subject
//! (§2.1), the `i;unicode-casemap` comparator (RFC 5051), SORT ordering (§3)
//! and the ORDEREDSUBJECT (§2.2) and REFERENCES (§2.3) threading algorithms.
//!
//! A server extracts one [`SortFields`] per message that matched the search
//! (from its header octets and its metadata), then calls [`sort`] or
//! [`thread`]. Nothing here does IO, and no step recurses on message data:
//! a crafted mailbox (a References chain 100,000 deep) is walked with
//! explicit stacks.

use crate::command::{SortCriterion, SortKey, ThreadAlgorithm};
use crate::response::Thread;
use crate::types::DateTime;
use mail_parser::{HeaderValue, MessageParser};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::num::NonZeroU32;
use unicode_normalization::UnicodeNormalization;

/// At most this many References ids are kept per message (the last ones:
/// the parent and its nearest ancestors), so that a crafted header cannot
/// make one message's fields grow with its size.
pub const MAX_REFERENCES: usize = 64;
/// Message ids longer than this (RFC 5322's line limit) are ignored.
pub const MAX_ID_LEN: usize = 998;
/// Subject and address keys compare on at most this many characters.
pub const MAX_KEY_CHARS: usize = 512;

/// What SORT and THREAD look at in one message: at most a few KiB whatever
/// the header holds ([`MAX_REFERENCES`], [`MAX_ID_LEN`], [`MAX_KEY_CHARS`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SortFields {
    /// The number reported: a sequence number, or a UID for `UID SORT`.
    pub id: u32,
    /// Position in the mailbox (the final tie-breaker, RFC 5256 §3).
    pub seq: u32,
    /// INTERNALDATE as seconds since the epoch (UTC).
    pub arrival: i64,
    /// The Date: field in UTC seconds; the internal date when it is
    /// missing or cannot be parsed (RFC 5256 §2.2, "sent date").
    pub sent: i64,
    /// RFC822.SIZE.
    pub size: u64,
    /// The base subject (§2.1), as its `i;unicode-casemap` key.
    pub subject: String,
    /// The subject had a reply/forward marker (`Re:`, `Fwd:`, `[fwd: ]`).
    pub is_reply: bool,
    /// The casemap key of the first From address's mailbox (local part).
    pub from: String,
    /// Likewise for To.
    pub to: String,
    /// Likewise for Cc.
    pub cc: String,
    /// The Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// References (or the first In-Reply-To id when it has none), oldest first.
    pub references: Vec<String>,
}

impl SortFields {
    /// The fields of a message from its header octets (`header` may be
    /// the whole message) and its metadata.
    pub fn new(id: u32, seq: u32, header: &[u8], internal_date: DateTime, size: u64) -> Self {
        let arrival = internal_date.unix_seconds();
        let mut out = SortFields {
            id,
            seq,
            arrival,
            sent: arrival,
            size,
            ..SortFields::default()
        };
        let parser = MessageParser::new().default_header_text();
        let Some(msg) = parser.parse_headers(header) else {
            return out;
        };
        if let Some(d) = msg.date().filter(|d| d.is_valid()) {
            out.sent = d.to_timestamp();
        }
        let (subject, is_reply) = base_subject(msg.subject().unwrap_or(""));
        out.subject = key_of(&subject);
        out.is_reply = is_reply;
        // RFC 5256 §3, "CC"/"FROM"/"TO": the addr-mailbox of the first
        // address, as the ENVELOPE has it (RFC 9051 §7.5.2): for group
        // syntax (`team: a@b;`) the first address is the group marker,
        // whose addr-mailbox is the group's name; an absent or empty
        // field sorts as the empty string.
        let env = super::envelope::envelope(header);
        let mailbox = |list: &[crate::response::Address]| {
            let local = list
                .first()
                .and_then(|a| a.mailbox.as_bytes())
                .unwrap_or_default();
            key_of(&String::from_utf8_lossy(local))
        };
        out.from = mailbox(&env.from);
        out.to = mailbox(&env.to);
        out.cc = mailbox(&env.cc);
        out.message_id = msg
            .message_id()
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= MAX_ID_LEN)
            .map(str::to_owned);
        out.references = ids(msg.references());
        if out.references.is_empty() {
            // RFC 5256 §2.3 (1): the first valid In-Reply-To id instead.
            out.references = ids(msg.in_reply_to()).into_iter().take(1).collect();
        }
        out
    }
}

/// The message ids of a References/In-Reply-To value.
fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match v {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(l) => l.iter().map(|s| s.as_ref()).collect(),
        _ => Vec::new(),
    };
    let valid: Vec<&str> = list
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= MAX_ID_LEN && !s.contains(char::is_whitespace))
        .collect();
    let skip = valid.len().saturating_sub(MAX_REFERENCES);
    valid[skip..].iter().map(|s| (*s).to_owned()).collect()
}

/// The `i;unicode-casemap` key of a string (RFC 5051 §2): each character
/// titlecased, then the result decomposed (NFKD). Keys compare as octets.
/// Rust knows upper-case mappings, which equal the titlecase mapping except
/// for the four Latin digraph letters (DŽ, LJ, NJ, DZ), whose upper and
/// title forms differ only in their second half: every case variant of one
/// digraph still maps to the same key, which is what a comparator needs.
pub fn casemap(s: &str) -> String {
    s.chars().flat_map(char::to_uppercase).nfkd().collect()
}

/// [`casemap`] of the first [`MAX_KEY_CHARS`] characters.
fn key_of(s: &str) -> String {
    let end = s
        .char_indices()
        .nth(MAX_KEY_CHARS)
        .map_or(s.len(), |(i, _)| i);
    casemap(&s[..end])
}

/// The base subject of RFC 5256 §2.1 and whether the subject was a reply
/// or a forward. `subject` is already decoded (RFC 2047).
pub fn base_subject(subject: &str) -> (String, bool) {
    // (1) Tabs and line breaks become spaces; runs of spaces become one.
    let mut s = String::with_capacity(subject.len());
    for c in subject.chars() {
        let c = if c == '\t' || c == '\r' || c == '\n' {
            ' '
        } else {
            c
        };
        if c == ' ' && s.ends_with(' ') {
            continue;
        }
        s.push(c);
    }
    let mut reply = false;
    let mut s: &str = &s;
    loop {
        // (2) Trailing "(fwd)" and white space.
        loop {
            let t = s.trim_end_matches(' ');
            let t2 = strip_suffix_ci(t, "(fwd)");
            if let Some(t2) = t2 {
                reply = true;
                s = t2;
            } else {
                s = t;
                break;
            }
        }
        // (3) and (4), repeated (5).
        loop {
            let before = s.len();
            // (3) subj-leader = (*subj-blob subj-refwd) / WSP
            loop {
                if let Some(r) = s.strip_prefix(' ') {
                    s = r;
                    continue;
                }
                let mut r = s;
                while let Some(after) = blob(r) {
                    r = after;
                }
                if let Some(after) = refwd(r) {
                    reply = true;
                    s = after;
                    continue;
                }
                break;
            }
            // (4) A leading blob, if something is left after it.
            if let Some(after) = blob(s)
                && !after.is_empty()
            {
                s = after;
            }
            if s.len() == before {
                break;
            }
        }
        // (6) subj-fwd-hdr subject subj-fwd-trl: "[fwd:" ... "]".
        if s.len() >= 6
            && s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("[fwd:"))
            && let Some(inner) = s[5..].strip_suffix(']')
        {
            reply = true;
            s = inner;
            continue;
        }
        break;
    }
    (s.to_owned(), reply)
}

/// `s` without `suffix` (ASCII case-insensitive), if it ends so.
fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let n = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(n) && s[n..].eq_ignore_ascii_case(suffix)).then(|| &s[..n])
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP`; `BLOBCHAR` is any CHAR but `[` `]`.
fn blob(s: &str) -> Option<&str> {
    let r = s.strip_prefix('[')?;
    let end = r.find(['[', ']'])?;
    let r = r[end..].strip_prefix(']')?;
    Some(r.trim_start_matches(' '))
}

/// `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`
fn refwd(s: &str) -> Option<&str> {
    let lower = |n: usize| s.get(..n).map(str::to_ascii_lowercase);
    let r = if lower(3).as_deref() == Some("fwd") {
        &s[3..]
    } else if matches!(lower(2).as_deref(), Some("re") | Some("fw")) {
        &s[2..]
    } else {
        return None;
    };
    let r = r.trim_start_matches(' ');
    let r = blob(r).unwrap_or(r);
    r.strip_prefix(':')
}

fn compare_key(a: &SortFields, b: &SortFields, key: SortKey) -> Ordering {
    match key {
        SortKey::Arrival => a.arrival.cmp(&b.arrival),
        SortKey::Cc => a.cc.cmp(&b.cc),
        SortKey::Date => a.sent.cmp(&b.sent),
        SortKey::From => a.from.cmp(&b.from),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Subject => a.subject.cmp(&b.subject),
        SortKey::To => a.to.cmp(&b.to),
    }
}

/// SORT (RFC 5256 §3): the ids of `messages` ordered by `criteria`, ties
/// broken by sequence number (`REVERSE` applies to its own key only).
pub fn sort(mut messages: Vec<SortFields>, criteria: &[SortCriterion]) -> Vec<u32> {
    messages.sort_by(|a, b| {
        criteria
            .iter()
            .map(|c| {
                let o = compare_key(a, b, c.key);
                if c.reverse { o.reverse() } else { o }
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.seq.cmp(&b.seq))
    });
    messages.into_iter().map(|m| m.id).collect()
}

/// THREAD (RFC 5256 §2.2, §2.3): the threads of `messages`, root order
/// and sibling order by sent date, then sequence number. Ids of 0 are
/// skipped (they cannot be reported).
pub fn thread(messages: Vec<SortFields>, algorithm: ThreadAlgorithm) -> Vec<Thread> {
    let messages: Vec<SortFields> = messages.into_iter().filter(|m| m.id != 0).collect();
    match algorithm {
        ThreadAlgorithm::OrderedSubject => ordered_subject(&messages),
        ThreadAlgorithm::References => references(&messages),
    }
}

fn by_date(a: &SortFields, b: &SortFields) -> Ordering {
    a.sent.cmp(&b.sent).then(a.seq.cmp(&b.seq))
}

fn nz(id: u32) -> Option<NonZeroU32> {
    NonZeroU32::new(id)
}

/// ORDEREDSUBJECT (§2.2): messages grouped by base subject; the earliest
/// of a group is the parent of all the others, in date order; threads in
/// the order of their first message's date.
fn ordered_subject(messages: &[SortFields]) -> Vec<Thread> {
    let mut order: Vec<&SortFields> = messages.iter().collect();
    order.sort_by(|a, b| a.subject.cmp(&b.subject).then_with(|| by_date(a, b)));
    let mut groups: Vec<Vec<&SortFields>> = Vec::new();
    for m in order {
        match groups.last_mut() {
            Some(g) if g[0].subject == m.subject => g.push(m),
            _ => groups.push(vec![m]),
        }
    }
    groups.sort_by(|a, b| by_date(a[0], b[0]));
    groups
        .into_iter()
        .filter_map(|g| {
            let mut ids = g.iter().filter_map(|m| nz(m.id));
            let first = ids.next()?;
            let rest: Vec<NonZeroU32> = ids.collect();
            Some(match rest.len() {
                0 => Thread {
                    members: vec![first],
                    children: Vec::new(),
                },
                1 => Thread {
                    members: vec![first, rest[0]],
                    children: Vec::new(),
                },
                _ => Thread {
                    members: vec![first],
                    children: rest
                        .into_iter()
                        .map(|id| Thread {
                            members: vec![id],
                            children: Vec::new(),
                        })
                        .collect(),
                },
            })
        })
        .collect()
}

/// A container of the REFERENCES algorithm: a message, or a dummy.
#[derive(Debug, Default)]
struct Node {
    msg: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Forest<'a> {
    nodes: Vec<Node>,
    messages: &'a [SortFields],
}

impl Forest<'_> {
    /// True if `a` is `b` or one of its ancestors.
    fn is_ancestor(&self, a: usize, b: usize) -> bool {
        // A container without children is nobody's ancestor: the common
        // case (messages in arrival order) needs no walk.
        if self.nodes[a].children.is_empty() {
            return a == b;
        }
        let mut cur = Some(b);
        while let Some(c) = cur {
            if c == a {
                return true;
            }
            cur = self.nodes[c].parent;
        }
        false
    }

    fn unlink(&mut self, child: usize) {
        if let Some(p) = self.nodes[child].parent.take() {
            self.nodes[p].children.retain(|&c| c != child);
        }
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.nodes[child].parent = Some(parent);
        self.nodes[parent].children.push(child);
    }

    fn new_node(&mut self, msg: Option<usize>) -> usize {
        self.nodes.push(Node {
            msg,
            ..Node::default()
        });
        self.nodes.len() - 1
    }

    fn subject_of(&self, n: usize) -> Option<&SortFields> {
        let node = &self.nodes[n];
        match node.msg {
            Some(m) => Some(&self.messages[m]),
            None => node
                .children
                .first()
                .and_then(|&c| self.nodes[c].msg)
                .map(|m| &self.messages[m]),
        }
    }

    /// Nodes under `roots`, each after all of its descendants.
    fn post_order(&self, roots: &[usize]) -> Vec<usize> {
        let mut pre = Vec::new();
        let mut stack: Vec<usize> = roots.to_vec();
        while let Some(n) = stack.pop() {
            pre.push(n);
            stack.extend(self.nodes[n].children.iter().copied());
        }
        pre.reverse();
        pre
    }
}

/// REFERENCES (§2.3).
fn references(messages: &[SortFields]) -> Vec<Thread> {
    let mut f = Forest {
        nodes: Vec::new(),
        messages,
    };
    let mut table: HashMap<&str, usize> = HashMap::new();
    for (i, m) in messages.iter().enumerate() {
        // (1) A container per Message-ID; a message without one, or whose
        // id was taken already, gets a container of its own.
        let own = match m.message_id.as_deref() {
            Some(id) => match table.get(id) {
                Some(&n) if f.nodes[n].msg.is_none() => {
                    f.nodes[n].msg = Some(i);
                    n
                }
                Some(_) => f.new_node(Some(i)),
                None => {
                    let n = f.new_node(Some(i));
                    table.insert(id, n);
                    n
                }
            },
            None => f.new_node(Some(i)),
        };
        // (1A) Link the references in order, parent before child, unless
        // the child has a parent already or a loop would result.
        let mut prev: Option<usize> = None;
        for r in &m.references {
            let n = match table.get(r.as_str()) {
                Some(&n) => n,
                None => {
                    let n = f.new_node(None);
                    table.insert(r.as_str(), n);
                    n
                }
            };
            if let Some(p) = prev
                && f.nodes[n].parent.is_none()
                && !f.is_ancestor(n, p)
            {
                f.link(p, n);
            }
            prev = Some(n);
        }
        // (1B) The last reference is the message's parent, replacing any
        // parent guessed before, unless that makes a loop.
        f.unlink(own);
        if let Some(p) = prev
            && !f.is_ancestor(own, p)
        {
            f.link(p, own);
        }
    }
    // (2) The roots.
    let mut roots: Vec<usize> = (0..f.nodes.len())
        .filter(|&n| f.nodes[n].parent.is_none())
        .collect();
    // (4) Prune dummies: below the root level a dummy gives way to its
    // children; at the root a dummy stays only with two or more children.
    for n in f.post_order(&roots) {
        let kids = std::mem::take(&mut f.nodes[n].children);
        let mut out = Vec::with_capacity(kids.len());
        for c in kids {
            if f.nodes[c].msg.is_none() {
                out.append(&mut f.nodes[c].children);
            } else {
                out.push(c);
            }
        }
        for &c in &out {
            f.nodes[c].parent = Some(n);
        }
        f.nodes[n].children = out;
    }
    let mut level = Vec::with_capacity(roots.len());
    for r in roots.drain(..) {
        if f.nodes[r].msg.is_some() || f.nodes[r].children.len() > 1 {
            level.push(r);
        } else if let Some(&c) = f.nodes[r].children.first() {
            f.nodes[c].parent = None;
            level.push(c);
        }
    }
    let roots = merge_subjects(&mut f, level);
    // (6) Sort siblings by date (a dummy by its first child), then roots.
    let mut date: Vec<(i64, u32)> = vec![(i64::MAX, u32::MAX); f.nodes.len()];
    for n in f.post_order(&roots) {
        let mut kids = std::mem::take(&mut f.nodes[n].children);
        kids.sort_by_key(|&c| date[c]);
        date[n] = match f.nodes[n].msg {
            Some(m) => (messages[m].sent, messages[m].seq),
            None => kids.first().map_or((i64::MAX, u32::MAX), |&c| date[c]),
        };
        f.nodes[n].children = kids;
    }
    let mut roots = roots;
    roots.sort_by_key(|&r| date[r]);
    // (7) Output, walking each thread without recursion.
    let mut built: Vec<Option<Thread>> = (0..f.nodes.len()).map(|_| None).collect();
    let post = f.post_order(&roots);
    let mut is_head = vec![false; f.nodes.len()];
    for &r in &roots {
        is_head[r] = true;
    }
    for &n in &post {
        if f.nodes[n].children.len() > 1 {
            for &c in &f.nodes[n].children {
                is_head[c] = true;
            }
        }
    }
    for &n in &post {
        if !is_head[n] {
            continue;
        }
        let mut t = Thread::default();
        let mut cur = n;
        loop {
            if let Some(id) = f.nodes[cur].msg.and_then(|m| nz(messages[m].id)) {
                t.members.push(id);
            }
            match f.nodes[cur].children.as_slice() {
                [only] => cur = *only,
                kids => {
                    t.children = kids.iter().filter_map(|&c| built[c].take()).collect();
                    break;
                }
            }
        }
        built[n] = Some(t);
    }
    roots.iter().filter_map(|&r| built[r].take()).collect()
}

/// (5) Threads whose roots share a base subject are gathered together.
fn merge_subjects(f: &mut Forest<'_>, roots: Vec<usize>) -> Vec<usize> {
    // (5A) The table: per base subject, the root that represents it.
    let mut table: HashMap<String, usize> = HashMap::new();
    for &r in &roots {
        let Some(m) = f.subject_of(r) else { continue };
        if m.subject.is_empty() {
            continue;
        }
        let (subject, reply) = (m.subject.clone(), m.is_reply);
        let dummy = f.nodes[r].msg.is_none();
        match table.get(&subject) {
            None => {
                table.insert(subject, r);
            }
            Some(&old) => {
                let old_dummy = f.nodes[old].msg.is_none();
                let old_reply = f.subject_of(old).is_some_and(|m| m.is_reply);
                // A dummy beats a message; a message beats a reply.
                if !old_dummy && (dummy || (old_reply && !reply)) {
                    table.insert(subject, r);
                }
            }
        }
    }
    // (5B) Merge each root into the one of its subject.
    let mut gone = vec![false; f.nodes.len()];
    let mut replaced: HashMap<usize, usize> = HashMap::new();
    for &r in &roots {
        let Some(m) = f.subject_of(r) else { continue };
        let (subject, reply) = (m.subject.clone(), m.is_reply);
        let Some(&t) = table.get(&subject) else {
            continue;
        };
        if subject.is_empty() || t == r {
            continue;
        }
        let t_dummy = f.nodes[t].msg.is_none();
        let r_dummy = f.nodes[r].msg.is_none();
        let t_reply = f.subject_of(t).is_some_and(|m| m.is_reply);
        gone[r] = true;
        if t_dummy && r_dummy {
            let kids = std::mem::take(&mut f.nodes[r].children);
            for c in kids {
                f.nodes[c].parent = None;
                f.link(t, c);
            }
        } else if t_dummy {
            f.link(t, r);
        } else if r_dummy {
            // The dummy takes the table's place, with the message under it.
            f.link(r, t);
            gone[r] = false;
            gone[t] = true;
            table.insert(subject, r);
            replaced.insert(t, r);
        } else if !t_reply && reply {
            f.link(t, r);
        } else if t_reply && !reply {
            // Misordered: the table's message is a reply to this one.
            f.link(r, t);
            gone[r] = false;
            gone[t] = true;
            table.insert(subject, r);
            replaced.insert(t, r);
        } else {
            // Both replies or neither: siblings under a new dummy.
            let d = f.new_node(None);
            gone.push(false);
            f.link(d, t);
            f.link(d, r);
            gone[t] = true;
            gone[r] = true;
            table.insert(subject, d);
            replaced.insert(t, d);
        }
    }
    // Roots that took another's place stand where the first of the two
    // stood; the new dummies likewise.
    let mut seen = vec![false; f.nodes.len()];
    let mut result = Vec::with_capacity(roots.len());
    for r in roots {
        let mut cur = r;
        while let Some(&n) = replaced.get(&cur) {
            if n == cur {
                break;
            }
            cur = n;
        }
        if !gone[cur] && f.nodes[cur].parent.is_none() && !seen[cur] {
            seen[cur] = true;
            result.push(cur);
        }
    }
    result
}
