//! The BODY and TEXT search keys (RFC 9051 §6.4.4) over a message read in
//! chunks: decode-and-match without holding the message.
//!
//! [`BodySearch`] walks the part tree the store kept, in file order, the
//! way the in-memory search does (`text_parts_contain`): for each part it
//! reads the header (up to [`MAX_PART_HEADER`] octets) to learn its type,
//! charset and transfer encoding, then passes the body through a
//! [`CteDecoder`], a charset conversion and one matcher per needle that
//! keeps only a needle's length of text between pieces. Memory per message
//! is a part header, the decoders' few bytes, the charset converter's
//! window ([`CHARSET_WINDOW`]) and, only for a transfer-encoded
//! `message/rfc822` part (which RFC 2046 §5.2.1 forbids, but mail-parser
//! reads), its decoded octets up to [`MAX_ENCODED_MESSAGE`].
//!
//! The answers equal the in-memory search's for every split of the input
//! (tests compare both over the corpus at chunk sizes 1, 7 and 4096), with
//! three bounded exceptions, each needing a pathological part: a
//! Content-Type or Content-Transfer-Encoding field further than
//! [`MAX_PART_HEADER`] into a part header is not seen; a transfer-encoded
//! `message/rfc822` part larger than [`MAX_ENCODED_MESSAGE`] decoded is
//! not searched; a part in a multi-byte legacy charset with no line break
//! in [`CHARSET_WINDOW`] octets may be converted at a different place (and
//! the Greek final-sigma rule of lower-casing looks only a needle's length
//! back across such a cut).

use super::binary_stream::MAX_PART_HEADER;
use super::cte::{Cte, CteDecoder};
use super::search_text::{LeafType, Needle, is_digest, leaf_type, text_parts_contain};
use super::tree::{PartKind, PartOffsets};
use std::ops::Range;

/// Decoded octets of a transfer-encoded `message/rfc822` part searched
/// (as a message of its own, in memory); a larger one is not searched.
pub const MAX_ENCODED_MESSAGE: usize = 1024 * 1024;
/// A part in a charset other than UTF-8 is converted in pieces that end
/// at a line break, once this many octets are waiting; with no line break
/// in four times as many, at any octet.
pub const CHARSET_WINDOW: usize = 64 * 1024;

/// Which BODY/TEXT needles a message's text parts contain, from
/// [`BodySearch::finish`]; hand it to
/// [`SearchMessage::with_body`](super::SearchMessage::with_body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyMatches(pub(super) Vec<bool>);

#[derive(Debug)]
struct Flat {
    kind: PartKind,
    header: Range<u64>,
    body: Range<u64>,
    /// The multipart this part is a direct child of.
    parent: Option<usize>,
    /// For a multipart: `multipart/digest` (known once its header is in).
    digest: bool,
}

/// The streaming matcher of a SEARCH program's body keys for one message.
/// Feed it every octet in order, in chunks of any size.
#[derive(Debug)]
pub struct BodySearch {
    needles: Vec<Needle>,
    found: Vec<bool>,
    nodes: Vec<Flat>,
    cur: usize,
    in_body: bool,
    pos: u64,
    header: Vec<u8>,
    leaf: Option<LeafSearch>,
}

impl BodySearch {
    pub(super) fn new(needles: Vec<Needle>, root: &PartOffsets) -> Self {
        // Pre-order, as the in-memory walk visits parts: file order.
        let mut nodes = Vec::new();
        let mut stack: Vec<(&PartOffsets, Option<usize>)> = vec![(root, None)];
        while let Some((p, parent)) = stack.pop() {
            let me = nodes.len();
            nodes.push(Flat {
                kind: p.kind,
                header: p.header_range(),
                body: p.body_range(),
                parent,
                digest: false,
            });
            match p.kind {
                PartKind::Multipart => stack.extend(p.children.iter().rev().map(|c| (c, Some(me)))),
                PartKind::Message => stack.extend(p.inner_root().map(|c| (c, None))),
                PartKind::Leaf => {}
            }
        }
        let found = vec![false; needles.len()];
        let mut s = BodySearch {
            needles,
            found,
            nodes,
            cur: 0,
            in_body: false,
            pos: 0,
            header: Vec::new(),
            leaf: None,
        };
        s.advance(&[]);
        s
    }

    fn all_found(&self) -> bool {
        self.found.iter().all(|f| *f)
    }

    /// The next octets of the message.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.all_found() {
            return;
        }
        self.advance(chunk);
        self.pos = self.pos.saturating_add(chunk.len() as u64);
    }

    /// Ends the message (a short file ends every part where it stopped).
    #[must_use]
    pub fn finish(mut self) -> BodyMatches {
        let end = self.pos;
        for n in &mut self.nodes {
            n.header.end = n.header.end.min(end);
            n.body.end = n.body.end.min(end);
        }
        if !self.all_found() {
            self.advance(&[]);
        }
        BodyMatches(self.found)
    }

    fn advance(&mut self, chunk: &[u8]) {
        let pos = self.pos;
        let end = pos.saturating_add(chunk.len() as u64);
        while let Some(node) = self.nodes.get(self.cur) {
            let (kind, header_range, body_range, parent) = (
                node.kind,
                node.header.clone(),
                node.body.clone(),
                node.parent,
            );
            if !self.in_body {
                let h = within(pos, chunk, &header_range);
                let room = MAX_PART_HEADER.saturating_sub(self.header.len());
                self.header.extend_from_slice(&h[..room.min(h.len())]);
                if end < header_range.end {
                    return;
                }
                let header = std::mem::take(&mut self.header);
                match kind {
                    PartKind::Multipart => {
                        self.nodes[self.cur].digest = is_digest(&header);
                        self.cur += 1;
                    }
                    PartKind::Message => self.cur += 1,
                    PartKind::Leaf => {
                        let in_digest = parent.is_some_and(|p| self.nodes[p].digest);
                        let t = leaf_type(&header, in_digest);
                        self.leaf = LeafSearch::new(t, &self.needles);
                        self.in_body = true;
                    }
                }
                continue;
            }
            let body = within(pos, chunk, &body_range);
            if let Some(leaf) = &mut self.leaf {
                leaf.feed(body, &self.needles, &self.found);
            }
            if end < body_range.end {
                return;
            }
            if let Some(leaf) = self.leaf.take() {
                leaf.finish(&self.needles, &mut self.found);
            }
            self.in_body = false;
            self.cur += 1;
        }
    }
}

/// The part of `chunk` (at `pos`) that lies in `range`.
fn within<'c>(pos: u64, chunk: &'c [u8], range: &Range<u64>) -> &'c [u8] {
    let end = pos.saturating_add(chunk.len() as u64);
    let (s, e) = (range.start.max(pos), range.end.min(end));
    if s >= e {
        return &[];
    }
    &chunk[(s - pos) as usize..(e - pos) as usize]
}

/// One leaf being searched.
#[derive(Debug)]
struct LeafSearch {
    /// base64 or quoted-printable (the encodings the search decodes).
    decoder: Option<CteDecoder>,
    /// The decoded (or identity) text, when the part is text.
    text: Option<TextMatch>,
    /// A transfer-encoded encapsulated message, decoded.
    inner: Option<Vec<u8>>,
    inner_overflow: bool,
    /// The undecoded body as text: what is searched when decoding fails.
    raw: Option<TextMatch>,
    scratch: Vec<u8>,
}

impl LeafSearch {
    fn new(t: LeafType, needles: &[Needle]) -> Option<LeafSearch> {
        let e = super::header::trim(&t.encoding);
        let cte = if e.eq_ignore_ascii_case(b"base64") {
            Some(Cte::Base64)
        } else if e.eq_ignore_ascii_case(b"quoted-printable") {
            Some(Cte::QuotedPrintable)
        } else {
            None
        };
        let charset = t.charset.as_deref();
        match cte {
            // Unknown and identity encodings are searched as they stand;
            // an unencoded message/rfc822 here lies beyond the depth limit.
            None => t.text.then(|| LeafSearch {
                decoder: None,
                text: Some(TextMatch::new(charset, needles)),
                inner: None,
                inner_overflow: false,
                raw: None,
                scratch: Vec::new(),
            }),
            Some(c) => Some(LeafSearch {
                decoder: Some(CteDecoder::new(c)),
                text: (t.text && !t.message).then(|| TextMatch::new(charset, needles)),
                inner: t.message.then(Vec::new),
                inner_overflow: false,
                raw: Some(TextMatch::new(charset, needles)),
                scratch: Vec::new(),
            }),
        }
    }

    fn feed(&mut self, body: &[u8], needles: &[Needle], found: &[bool]) {
        if body.is_empty() {
            return;
        }
        let Some(decoder) = &mut self.decoder else {
            if let Some(t) = &mut self.text {
                t.feed(body, needles, found);
            }
            return;
        };
        if let Some(raw) = &mut self.raw {
            raw.feed(body, needles, found);
        }
        if decoder.failed() {
            return;
        }
        self.scratch.clear();
        decoder.feed(body, &mut self.scratch);
        if let Some(t) = &mut self.text {
            t.feed(&self.scratch, needles, found);
        }
        if let Some(inner) = &mut self.inner
            && !self.inner_overflow
        {
            if inner.len() + self.scratch.len() > MAX_ENCODED_MESSAGE {
                self.inner_overflow = true;
                *inner = Vec::new();
            } else {
                inner.extend_from_slice(&self.scratch);
            }
        }
    }

    fn finish(mut self, needles: &[Needle], found: &mut [bool]) {
        let Some(mut decoder) = self.decoder.take() else {
            if let Some(t) = self.text {
                t.finish(needles, found);
            }
            return;
        };
        self.scratch.clear();
        decoder.finish(&mut self.scratch);
        if decoder.failed() {
            // A body its encoding cannot decode is searched as it stands,
            // as text (mail-parser's reading too).
            if let Some(raw) = self.raw {
                raw.finish(needles, found);
            }
            return;
        }
        if let Some(mut t) = self.text {
            t.feed(&self.scratch, needles, found);
            t.finish(needles, found);
        }
        if let Some(mut inner) = self.inner
            && !self.inner_overflow
            && inner.len() + self.scratch.len() <= MAX_ENCODED_MESSAGE
        {
            inner.extend_from_slice(&self.scratch);
            let tree = PartOffsets::parse(&inner);
            for (i, n) in needles.iter().enumerate() {
                if !found[i] && text_parts_contain(&inner, &tree, n, 1) {
                    found[i] = true;
                }
            }
        }
    }
}

/// Text of one part: converted to UTF-8 in pieces, each piece matched
/// with the tail of the previous one in front.
#[derive(Debug)]
struct TextMatch {
    charset: Option<mail_parser::decoders::charsets::DecoderFnc>,
    pending: Vec<u8>,
    /// The last `keep` characters of text matched so far.
    carry: String,
    keep: usize,
    found: Vec<bool>,
}

impl TextMatch {
    fn new(charset: Option<&[u8]>, needles: &[Needle]) -> TextMatch {
        let keep = needles
            .iter()
            .map(|n| n.lower.chars().count())
            .max()
            .unwrap_or(0);
        TextMatch {
            charset: charset.and_then(mail_parser::decoders::charsets::map::charset_decoder),
            pending: Vec::new(),
            carry: String::new(),
            keep,
            found: vec![false; needles.len()],
        }
    }

    fn feed(&mut self, octets: &[u8], needles: &[Needle], global: &[bool]) {
        self.pending.extend_from_slice(octets);
        let cut = match self.charset {
            None => utf8_cut(&self.pending),
            Some(_) if self.pending.len() < CHARSET_WINDOW => return,
            Some(_) => match self.pending.iter().rposition(|b| *b == b'\n') {
                Some(i) => i + 1,
                None if self.pending.len() >= 4 * CHARSET_WINDOW => self.pending.len(),
                None => return,
            },
        };
        if cut == 0 {
            return;
        }
        let rest = self.pending.split_off(cut);
        let head = std::mem::replace(&mut self.pending, rest);
        let text = self.convert(&head);
        self.matches(&text, needles, global);
    }

    fn convert(&self, octets: &[u8]) -> String {
        match self.charset {
            Some(decode) => decode(octets),
            None => String::from_utf8_lossy(octets).into_owned(),
        }
    }

    /// Matches `carry + text`, then keeps its tail as the new carry.
    fn matches(&mut self, text: &str, needles: &[Needle], global: &[bool]) {
        let mut hay = std::mem::take(&mut self.carry);
        hay.push_str(text);
        for (i, n) in needles.iter().enumerate() {
            if !self.found[i] && !global[i] && n.found_in(&hay) {
                self.found[i] = true;
            }
        }
        let start = hay
            .char_indices()
            .rev()
            .nth(self.keep.saturating_sub(1))
            .map_or(0, |(i, _)| i);
        self.carry = if self.keep == 0 {
            String::new()
        } else {
            hay[start..].to_string()
        };
    }

    fn finish(mut self, needles: &[Needle], found: &mut [bool]) {
        let rest = std::mem::take(&mut self.pending);
        let text = self.convert(&rest);
        // Run even on empty text: an empty needle matches any text part.
        let none = vec![false; needles.len()];
        self.matches(&text, needles, &none);
        for (g, f) in found.iter_mut().zip(self.found) {
            *g |= f;
        }
    }
}

/// Where UTF-8 text can be cut without splitting a character: before a
/// trailing sequence that may still be completed.
fn utf8_cut(b: &[u8]) -> usize {
    let n = b.len();
    for i in (n.saturating_sub(3)..n).rev() {
        let c = b[i];
        if c & 0xC0 == 0x80 {
            continue;
        }
        let need = match c {
            0xF0..=0xFF => 4,
            0xE0..=0xEF => 3,
            0xC0..=0xDF => 2,
            _ => 1,
        };
        return if n - i < need { i } else { n };
    }
    n
}
