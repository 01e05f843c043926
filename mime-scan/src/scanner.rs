//! The scanner: a line-at-a-time state machine over the message bytes.
//!
//! ```text
//! Header   reading a part's header fields; a blank line ends it:
//!            multipart/* with a boundary  -> Preamble (boundary pushed)
//!            message/rfc822, not encoded  -> Header of the inner message
//!            anything else                -> Body
//! Body     a leaf's body
//! Preamble a multipart before its first boundary line
//! Epilogue a multipart after its closing boundary line
//! Skip     a part over the part limit (left out of the tree)
//! Done     nothing more can change the tree
//! ```
//! In every state a boundary line of any open multipart (innermost first)
//! ends every part inside that multipart (RFC 2046 §5.1.2) and either
//! starts its next body part or closes it. Parts live in a flat arena
//! linked by parent index; the nested [`Part`] tree is built once at the
//! end, bottom-up, without recursion.

use crate::field::{self, ContentType};
use crate::{Limits, MAX_BOUNDARY, MAX_LINE, Part, PartKind};

/// The result of a scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    /// The root part: the whole message.
    pub root: Part,
    /// Structure was left out: nesting deeper than
    /// [`Limits::max_depth`] (kept as leaves) or more parts than
    /// [`Limits::max_parts`] (their bytes stay in the parent's body).
    /// The tree is still valid; a server may refuse such a message
    /// (Postfix: `mime_nesting_limit`, 554 5.6.0) or store it as it is.
    pub truncated: bool,
    /// The deepest nesting seen, counting structure beyond the depth
    /// limit only up to the limit plus one.
    pub depth: usize,
}

/// A part in the arena.
#[derive(Debug)]
struct Node {
    kind: PartKind,
    header_start: u64,
    body_start: Option<u64>,
    end: Option<u64>,
    /// Index of the parent; the root's is its own (0).
    parent: usize,
    children: Vec<usize>,
    depth: usize,
    /// A multipart's boundary line was seen (otherwise it is a leaf, as
    /// mail-parser and Dovecot read it).
    boundary_seen: bool,
    /// `multipart/digest`: children default to `message/rfc822`
    /// (RFC 2046 §5.1.5).
    digest: bool,
    /// Left out of the tree (a body part whose header never ended).
    dropped: bool,
}

impl Node {
    fn new(header_start: u64, parent: usize, depth: usize) -> Node {
        Node {
            kind: PartKind::Leaf,
            header_start,
            body_start: None,
            end: None,
            parent,
            children: Vec::new(),
            depth,
            boundary_seen: false,
            digest: false,
            dropped: false,
        }
    }
}

/// An open multipart's boundary.
#[derive(Debug)]
struct Frame {
    node: usize,
    boundary: Vec<u8>,
}

/// Which header field the last header line belonged to (for folding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    ContentType,
    TransferEncoding,
    Other,
}

/// The header fields of the part being read.
#[derive(Debug)]
struct HeaderState {
    field: Field,
    /// The last Content-Type's value (mail-parser reads the last one).
    content_type: Option<Vec<u8>>,
    /// The last Content-Transfer-Encoding's value.
    encoding: Option<Vec<u8>>,
}

impl HeaderState {
    fn new() -> HeaderState {
        HeaderState {
            field: Field::Other,
            content_type: None,
            encoding: None,
        }
    }
}

#[derive(Debug)]
enum Mode {
    Header(HeaderState),
    Body,
    Preamble,
    Epilogue,
    Skip,
}

/// A streaming MIME structure scanner: [`feed`](Scanner::feed) the
/// message in chunks of any size, then [`finish`](Scanner::finish).
#[derive(Debug)]
pub struct Scanner {
    limits: Limits,
    nodes: Vec<Node>,
    /// Open multiparts, outermost first.
    frames: Vec<Frame>,
    /// The innermost open part.
    cur: usize,
    mode: Mode,
    /// The current line's first [`MAX_LINE`] bytes.
    pub(crate) line: Vec<u8>,
    /// Length of the current line so far (may exceed `line.len()`).
    line_len: u64,
    /// The current line's last byte (to tell CRLF from LF when the line
    /// is longer than the buffer).
    line_last: u8,
    /// Offset of the current line.
    line_start: u64,
    /// Length of the previous line's terminator (2 for CRLF, 1 for LF).
    prev_eol: u64,
    /// Where open parts end if the message stops in an epilogue: just
    /// after the closing boundary (mail-parser's reading).
    stop: u64,
    truncated: bool,
    depth: usize,
}

impl Default for Scanner {
    fn default() -> Scanner {
        Scanner::new()
    }
}

impl Scanner {
    /// A scanner with the default [`Limits`].
    #[must_use]
    pub fn new() -> Scanner {
        Scanner::with_limits(Limits::default())
    }

    /// A scanner with the given limits.
    #[must_use]
    pub fn with_limits(limits: Limits) -> Scanner {
        Scanner {
            limits: Limits {
                max_depth: limits.max_depth,
                max_parts: limits.max_parts.max(1),
            },
            nodes: vec![Node::new(0, 0, 0)],
            frames: Vec::new(),
            cur: 0,
            mode: Mode::Header(HeaderState::new()),
            line: Vec::new(),
            line_len: 0,
            line_last: 0,
            line_start: 0,
            prev_eol: 0,
            stop: 0,
            truncated: false,
            depth: 0,
        }
    }

    /// Bytes fed so far.
    #[must_use]
    pub fn position(&self) -> u64 {
        self.line_start + self.line_len
    }

    /// True once structure had to be left out (see [`Scan::truncated`]);
    /// a caller that refuses such messages can stop early.
    #[must_use]
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Scans the next bytes of the message.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            let (take, complete) = match memchr::memchr(b'\n', chunk) {
                Some(n) => (n + 1, true),
                None => (chunk.len(), false),
            };
            let (part, rest) = chunk.split_at(take);
            // Outside a header only a boundary line matters: its first
            // `--boundary--` bytes are all that is kept of a line.
            let keep = match self.mode {
                Mode::Header(_) => MAX_LINE,
                _ => MAX_BOUNDARY + 4,
            };
            let room = keep.saturating_sub(self.line.len());
            self.line.extend_from_slice(&part[..part.len().min(room)]);
            self.line_len += part.len() as u64;
            if let Some(&last) = part.last() {
                if complete && part.len() >= 2 {
                    self.line_last = part[part.len() - 2];
                } else if !complete {
                    self.line_last = last;
                }
            }
            if complete {
                self.end_line(true);
            }
            chunk = rest;
        }
    }

    /// Ends the scan and returns the part tree.
    #[must_use]
    pub fn finish(mut self) -> Scan {
        if self.line_len > 0 {
            self.end_line(false);
        }
        let eof = self.line_start;
        let end_at = match self.mode {
            Mode::Epilogue => self.stop,
            _ => eof,
        };
        let in_header = matches!(self.mode, Mode::Header(_));
        let mut n = self.cur;
        // A body part whose header never ended is left out, as
        // mail-parser leaves it out; an encapsulated message's header
        // running to the end is kept (its body is empty).
        if in_header && n != 0 && self.nodes[self.nodes[n].parent].kind == PartKind::Multipart {
            self.nodes[n].dropped = true;
            n = self.nodes[n].parent;
        }
        while n != 0 {
            self.finish_node(n, end_at);
            n = self.nodes[n].parent;
        }
        self.finish_node(0, eof);
        let root = &mut self.nodes[0];
        root.header_start = 0;
        root.end = Some(eof);
        if root.body_start.is_none_or(|b| b > eof) {
            root.body_start = Some(eof);
        }
        let (truncated, depth) = (self.truncated, self.depth);
        Scan {
            root: self.build(),
            truncated,
            depth,
        }
    }

    /// Handles the line in `self.line` (`complete`: it ended with LF).
    fn end_line(&mut self, complete: bool) {
        let start = self.line_start;
        let len = self.line_len;
        let eol: u64 = if !complete {
            0
        } else if self.line_last == b'\r' && len >= 2 {
            2
        } else {
            1
        };
        let mut line = std::mem::take(&mut self.line);
        // The content without its terminator, when the buffer holds it.
        let whole = line.len() as u64 == len;
        let content_len = if whole {
            line.len() - eol as usize
        } else {
            line.len()
        };
        self.on_line(&line[..content_len], start, start + len);
        line.clear();
        self.line = line;
        self.line_start = start + len;
        self.line_len = 0;
        self.line_last = 0;
        self.prev_eol = eol;
    }

    /// One line: `content` without its terminator, from `start` to
    /// `next` (the next line's offset).
    fn on_line(&mut self, content: &[u8], start: u64, next: u64) {
        if let Some((i, close)) = self.delimiter(content) {
            self.on_delimiter(i, close, start, next);
            return;
        }
        let Mode::Header(h) = &mut self.mode else {
            return;
        };
        if content.is_empty() {
            let Mode::Header(h) = std::mem::replace(&mut self.mode, Mode::Body) else {
                return;
            };
            self.end_header(h, next);
            return;
        }
        if matches!(content.first(), Some(b' ' | b'\t')) {
            let target = match h.field {
                Field::ContentType => h.content_type.as_mut(),
                Field::TransferEncoding => h.encoding.as_mut(),
                Field::Other => None,
            };
            if let Some(v) = target {
                let room = MAX_LINE.saturating_sub(v.len());
                v.extend_from_slice(&content[..content.len().min(room)]);
            }
            return;
        }
        let Some(colon) = content.iter().position(|&c| c == b':') else {
            h.field = Field::Other;
            return;
        };
        let name = content[..colon].trim_ascii_end();
        let value = content[colon + 1..].to_vec();
        if name.eq_ignore_ascii_case(b"content-type") {
            h.field = Field::ContentType;
            h.content_type = Some(value);
        } else if name.eq_ignore_ascii_case(b"content-transfer-encoding") {
            h.field = Field::TransferEncoding;
            h.encoding = Some(value);
        } else {
            h.field = Field::Other;
        }
    }

    /// The open multipart whose boundary line `content` is, innermost
    /// first, and whether it is the closing one (`--boundary--`).
    fn delimiter(&self, content: &[u8]) -> Option<(usize, bool)> {
        let rest = content.strip_prefix(b"--")?;
        self.frames.iter().enumerate().rev().find_map(|(i, f)| {
            rest.strip_prefix(f.boundary.as_slice())
                .map(|after| (i, after.starts_with(b"--")))
        })
    }

    /// A boundary line of frame `i` from `start` to `next`.
    fn on_delimiter(&mut self, i: usize, close: bool, start: u64, next: u64) {
        // RFC 2046 §5.1.1: the line break before the boundary line is
        // part of the boundary.
        let end_pos = start.saturating_sub(self.prev_eol);
        let owner = self.frames[i].node;
        let mut n = self.cur;
        if matches!(self.mode, Mode::Header(_)) && n != owner {
            if self.nodes[self.nodes[n].parent].kind == PartKind::Multipart {
                // A body part whose header a boundary line cuts short
                // (no blank line) is left out, as mail-parser, which reads
                // the header on to a blank line, leaves it out.
                self.nodes[n].dropped = true;
                self.nodes[n].end = Some(end_pos.max(self.nodes[n].header_start));
                n = self.nodes[n].parent;
            } else {
                // An encapsulated message's header cut short: the message
                // is all header, with an empty body.
                let b = end_pos.max(self.nodes[n].header_start);
                self.nodes[n].body_start = Some(b);
            }
        }
        while n != owner && n != 0 {
            self.finish_node(n, end_pos);
            n = self.nodes[n].parent;
        }
        self.cur = owner;
        let blen = self.frames[i].boundary.len() as u64;
        self.frames.truncate(i + 1);
        self.nodes[owner].boundary_seen = true;
        if close {
            self.frames.pop();
            self.mode = Mode::Epilogue;
            self.stop = start + 2 + blen + 2;
            return;
        }
        if self.nodes.len() >= self.limits.max_parts {
            self.truncated = true;
            self.mode = Mode::Skip;
            return;
        }
        let depth = self.nodes[owner].depth + 1;
        let child = self.push(Node::new(next, owner, depth));
        self.cur = child;
        self.mode = Mode::Header(HeaderState::new());
    }

    fn push(&mut self, node: Node) -> usize {
        let id = self.nodes.len();
        let parent = node.parent;
        self.depth = self.depth.max(node.depth);
        self.nodes.push(node);
        self.nodes[parent].children.push(id);
        id
    }

    /// The blank line ending the current part's header; the body starts
    /// at `body`.
    fn end_header(&mut self, h: HeaderState, body: u64) {
        let n = self.cur;
        self.nodes[n].body_start = Some(body);
        let parent = self.nodes[n].parent;
        let in_digest = n != 0 && self.nodes[parent].digest;
        let ct: Option<ContentType> = h.content_type.as_deref().and_then(field::content_type);
        let encoded = h.encoding.as_deref().is_some_and(field::is_encoding);
        let depth = self.nodes[n].depth;
        let is_message = ct.as_ref().map_or(in_digest, ContentType::is_message);
        match ct {
            Some(ct) if ct.is_multipart() && ct.boundary.is_some() => {
                if depth >= self.limits.max_depth {
                    self.truncated = true;
                    self.depth = self.depth.max(depth + 1);
                    self.mode = Mode::Body;
                    return;
                }
                let node = &mut self.nodes[n];
                node.kind = PartKind::Multipart;
                node.digest = ct.subtype == b"digest";
                self.frames.push(Frame {
                    node: n,
                    boundary: ct.boundary.unwrap_or_default(),
                });
                self.mode = Mode::Preamble;
            }
            _ if is_message && !encoded => {
                if depth >= self.limits.max_depth || self.nodes.len() >= self.limits.max_parts {
                    self.truncated = true;
                    self.depth = self.depth.max(depth + 1);
                    self.mode = Mode::Body;
                    return;
                }
                self.nodes[n].kind = PartKind::Message;
                let child = self.push(Node::new(body, n, depth + 1));
                self.cur = child;
                self.mode = Mode::Header(HeaderState::new());
            }
            _ => self.mode = Mode::Body,
        }
    }

    /// Closes part `n` at `end_pos` (kept inside the part and after its
    /// last child).
    fn finish_node(&mut self, n: usize, end_pos: u64) {
        let last_child_end = self.nodes[n]
            .children
            .iter()
            .rev()
            .find(|&&c| !self.nodes[c].dropped)
            .and_then(|&c| self.nodes[c].end)
            .unwrap_or(0);
        let node = &mut self.nodes[n];
        if node.end.is_some() {
            return;
        }
        let body = *node
            .body_start
            .get_or_insert(end_pos.max(node.header_start));
        node.end = Some(end_pos.max(body).max(last_child_end));
        if node.kind == PartKind::Multipart && !node.boundary_seen {
            node.kind = PartKind::Leaf;
        }
    }

    /// The nested tree, built bottom-up: a child's index is always larger
    /// than its parent's.
    fn build(self) -> Part {
        let mut parts: Vec<Option<Part>> = self
            .nodes
            .iter()
            .map(|n| {
                let body_start = n.body_start.unwrap_or(n.header_start);
                Some(Part {
                    kind: n.kind,
                    header_start: n.header_start,
                    body_start,
                    end: n.end.unwrap_or(body_start),
                    children: Vec::new(),
                })
            })
            .collect();
        for i in (1..self.nodes.len()).rev() {
            let node = &self.nodes[i];
            let Some(mut p) = parts[i].take() else {
                continue;
            };
            if node.dropped {
                continue;
            }
            p.children.reverse();
            if p.kind == PartKind::Leaf {
                p.children.clear();
            }
            if let Some(parent) = parts[node.parent].as_mut() {
                parent.children.push(p);
            }
        }
        let mut root = parts[0].take().unwrap_or(Part {
            kind: PartKind::Leaf,
            header_start: 0,
            body_start: 0,
            end: 0,
            children: Vec::new(),
        });
        root.children.reverse();
        if root.kind == PartKind::Leaf {
            root.children.clear();
        }
        root
    }
}
