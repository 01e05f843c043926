//! `BINARY[part]<partial>` and `BINARY.SIZE[part]` (RFC 3516) of a message
//! that is read in chunks, never held whole: one counting pass
//! ([`BinaryScan`]) over the octets finds each item's transfer encoding
//! and decoded size, so the literal's length is known before it is
//! announced; the octets are then decoded again on their way out
//! ([`CteDecoder`] over the raw range the plan names).
//!
//! The answers are the ones [`binary`](super::binary) and
//! [`binary_size`](super::binary_size) give for the message in memory,
//! octet for octet (sizes, `~{n}` versus `{n}`, partial windows, the
//! empty string for a body its encoding cannot decode), whatever the chunk
//! sizes. Memory per item: its part header up to [`MAX_PART_HEADER`] and
//! a decoder.

use super::cte::{Cte, CteDecoder};
use super::header::{first, unfold};
use super::section::{BinaryError, find_part};
use super::tree::{PartKind, PartOffsets};
use std::num::{NonZeroU32, NonZeroU64};
use std::ops::Range;

/// Octets of a part's header kept to find its Content-Transfer-Encoding;
/// a field further down a longer header is not seen (the part is then
/// read as identity-encoded).
pub const MAX_PART_HEADER: usize = 64 * 1024;

/// One item to plan: the part path (empty for the whole message) and
/// the partial window `<origin.count>`, if any.
pub type BinaryItem<'p> = (&'p [NonZeroU32], Option<(u64, NonZeroU64)>);

/// How to send one BINARY item, found by [`BinaryScan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryPlan {
    /// The raw octets of the message to read (the part's body, or the
    /// partial window of it when no decoding is needed).
    pub read: Range<u64>,
    /// How to decode them.
    pub cte: Cte,
    /// Decoded octets to skip before the literal starts (`<origin>`).
    pub skip: u64,
    /// The literal's length: decoded octets sent after `skip`.
    pub len: u64,
    /// The literal holds a NUL: announce it as `literal8` (`~{n}`).
    pub literal8: bool,
    /// `BINARY.SIZE`: the decoded size of the whole part.
    pub size: u64,
}

#[derive(Debug)]
struct Item {
    header: Range<u64>,
    body: Range<u64>,
    leaf: bool,
    partial: Option<(u64, NonZeroU64)>,
    header_buf: Vec<u8>,
    state: State,
    decoded: u64,
    nul: bool,
    scratch: Vec<u8>,
}

#[derive(Debug)]
enum State {
    /// Header not complete yet.
    Header,
    Body(CteDecoder, Cte),
    Done(Result<BinaryPlan, BinaryError>),
}

/// The counting pass for the BINARY items of one FETCH. Feed it every
/// octet of the message in order, in chunks of any size, then
/// [`finish`](Self::finish).
#[derive(Debug)]
pub struct BinaryScan {
    items: Vec<Item>,
    pos: u64,
    len: u64,
}

impl BinaryScan {
    /// Plans the items `(part path, partial)` of a message of `len` octets
    /// whose part tree is `root` (the empty path is the whole message).
    #[must_use]
    pub fn new(root: &PartOffsets, len: u64, items: &[BinaryItem<'_>]) -> Self {
        let items = items
            .iter()
            .map(|(path, partial)| {
                let mut item = Item {
                    header: 0..0,
                    body: 0..len,
                    leaf: false,
                    partial: *partial,
                    header_buf: Vec::new(),
                    state: State::Header,
                    decoded: 0,
                    nul: false,
                    scratch: Vec::new(),
                };
                if !path.is_empty() {
                    match find_part(root, path) {
                        None => item.state = State::Done(Err(BinaryError::Missing)),
                        Some(n) => {
                            item.header = n.header_range();
                            item.body = n.body_range();
                            item.leaf = n.kind == PartKind::Leaf;
                        }
                    }
                }
                item
            })
            .collect();
        let mut scan = BinaryScan { items, pos: 0, len };
        // Parts whose header is empty start their body at once.
        scan.advance(&[]);
        scan
    }

    /// The next octets of the message.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.advance(chunk);
        self.pos = self.pos.saturating_add(chunk.len() as u64);
        self.advance(&[]);
    }

    /// One plan (or why there is none) per item, in the order given.
    #[must_use]
    pub fn finish(mut self) -> Vec<Result<BinaryPlan, BinaryError>> {
        // A file shorter than its offsets: end every item where it stands.
        let end = self.pos.max(self.len);
        self.pos = end;
        for item in &mut self.items {
            item.header.end = item.header.end.min(end);
            item.body.end = item.body.end.min(end);
        }
        self.advance(&[]);
        self.items
            .into_iter()
            .map(
                |mut i| match std::mem::replace(&mut i.state, State::Header) {
                    State::Done(r) => r,
                    State::Body(d, cte) => i.complete(d, cte),
                    State::Header => Err(BinaryError::Missing),
                },
            )
            .collect()
    }

    /// Hands `chunk` (at `self.pos`) to every item; with an empty chunk,
    /// moves items whose range ended at `self.pos` on.
    fn advance(&mut self, chunk: &[u8]) {
        let pos = self.pos;
        for item in &mut self.items {
            item.advance(pos, chunk);
        }
    }
}

/// The part of `chunk` (at `pos`) that lies in `range`.
fn within<'c>(pos: u64, chunk: &'c [u8], range: &Range<u64>) -> &'c [u8] {
    let end = pos.saturating_add(chunk.len() as u64);
    let s = range.start.max(pos);
    let e = range.end.min(end);
    if s >= e {
        return &[];
    }
    let (s, e) = ((s - pos) as usize, (e - pos) as usize);
    chunk.get(s..e).unwrap_or_default()
}

impl Item {
    /// `chunk` lies at `pos`; afterwards every octet before
    /// `pos + chunk.len()` has been seen.
    fn advance(&mut self, pos: u64, chunk: &[u8]) {
        let end = pos.saturating_add(chunk.len() as u64);
        if matches!(self.state, State::Header) {
            let h = within(pos, chunk, &self.header);
            let room = MAX_PART_HEADER.saturating_sub(self.header_buf.len());
            self.header_buf.extend_from_slice(&h[..room.min(h.len())]);
            if end >= self.header.end {
                let cte = if self.leaf {
                    let value = first(&self.header_buf, "Content-Transfer-Encoding")
                        .map(unfold)
                        .unwrap_or_default();
                    Cte::from_field(&value)
                } else {
                    // Multiparts and encapsulated messages are not
                    // transfer-encoded (RFC 3516 §4.2 reads them as is).
                    Ok(Cte::Identity)
                };
                self.header_buf = Vec::new();
                self.state = match cte {
                    Ok(c) => State::Body(CteDecoder::new(c), c),
                    Err(e) => State::Done(Err(e)),
                };
            }
        }
        if !matches!(self.state, State::Body(..)) {
            return;
        }
        let State::Body(mut decoder, cte) = std::mem::replace(&mut self.state, State::Header)
        else {
            return;
        };
        let raw = within(pos, chunk, &self.body);
        if cte == Cte::Identity {
            let at = pos.max(self.body.start) - self.body.start;
            self.count(at, raw);
        } else if !raw.is_empty() {
            let mut scratch = std::mem::take(&mut self.scratch);
            scratch.clear();
            decoder.feed(raw, &mut scratch);
            let at = self.decoded;
            self.count(at, &scratch);
            self.scratch = scratch;
        }
        self.state = if end >= self.body.end {
            State::Done(self.complete(decoder, cte))
        } else {
            State::Body(decoder, cte)
        };
    }

    /// Counts decoded octets starting at decoded offset `at`, noting a NUL
    /// inside the partial window.
    fn count(&mut self, at: u64, octets: &[u8]) {
        self.decoded = at + octets.len() as u64;
        if self.nul || octets.is_empty() {
            return;
        }
        let (lo, hi) = match self.partial {
            Some((o, n)) => (o, o.saturating_add(n.get())),
            None => (0, u64::MAX),
        };
        let s = lo.saturating_sub(at).min(octets.len() as u64) as usize;
        let e = hi.saturating_sub(at).min(octets.len() as u64) as usize;
        if s < e && octets[s..e].contains(&0) {
            self.nul = true;
        }
    }

    fn complete(&mut self, mut decoder: CteDecoder, cte: Cte) -> Result<BinaryPlan, BinaryError> {
        if cte != Cte::Identity {
            let mut tail = Vec::new();
            decoder.finish(&mut tail);
            let at = self.decoded;
            self.count(at, &tail);
            if decoder.failed() {
                // mail-parser's decoders give nothing: the empty string.
                return Ok(BinaryPlan {
                    read: self.body.start..self.body.start,
                    cte,
                    skip: 0,
                    len: 0,
                    literal8: false,
                    size: 0,
                });
            }
        } else {
            self.decoded = self.body.end.saturating_sub(self.body.start);
        }
        let size = self.decoded;
        let (skip, len) = match self.partial {
            Some((o, n)) => {
                let s = o.min(size);
                (s, n.get().min(size - s))
            }
            None => (0, size),
        };
        let read = if cte == Cte::Identity {
            let s = self.body.start.saturating_add(skip);
            s..s.saturating_add(len)
        } else {
            self.body.clone()
        };
        Ok(BinaryPlan {
            read,
            cte,
            skip: if cte == Cte::Identity { 0 } else { skip },
            len,
            literal8: self.nul && len > 0,
            size,
        })
    }
}
