//! The output queue: response bytes, shared message octets, and the
//! places where the adapter writes a literal from its file
//! (docs/DESIGN.md §2: large bodies never pass through the session).

use super::RequestId;
use crate::message::{Cte, CteDecoder};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::ops::Range;

#[derive(Debug)]
enum Item {
    Data(BytesMut),
    Shared(Bytes),
    External {
        uid: NonZeroU32,
        range: Range<u64>,
        /// Set once [`super::Event::WriteExternal`] was handed out: the
        /// octets of the literal still expected.
        started: Option<(RequestId, u64)>,
        /// BINARY of an encoded part: the adapter writes the raw range,
        /// the literal carries its decoded octets.
        decode: Option<Box<Decode>>,
    },
}

/// Decoding of an external literal on its way out (RFC 3516 BINARY).
#[derive(Debug)]
struct Decode {
    decoder: CteDecoder,
    /// Decoded octets before the literal's first (`<origin>`).
    skip: u64,
    /// The literal's length.
    len: u64,
    /// Decoded octets produced so far.
    at: u64,
    scratch: Vec<u8>,
}

impl Decode {
    /// The part of freshly decoded `scratch` that falls in the literal.
    fn window(&mut self) -> &[u8] {
        let n = self.scratch.len() as u64;
        let (from, to) = (self.at, self.at + n);
        self.at = to;
        let s = self.skip.clamp(from, to) - from;
        let e = self.skip.saturating_add(self.len).clamp(from, to) - from;
        &self.scratch[s as usize..e as usize]
    }
}

/// Queued output. See the module docs.
#[derive(Debug, Default)]
pub(super) struct Output {
    items: VecDeque<Item>,
    /// Octets in `Data` and `Shared` items.
    len: usize,
}

impl Output {
    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn push(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.len += bytes.len();
        if let Some(Item::Data(b)) = self.items.back_mut() {
            b.extend_from_slice(bytes);
        } else {
            self.items.push_back(Item::Data(BytesMut::from(bytes)));
        }
    }

    /// Octets shared with the adapter's buffer (no copy until
    /// `poll_transmit`).
    pub(super) fn push_shared(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        self.len += bytes.len();
        self.items.push_back(Item::Shared(bytes));
    }

    /// A literal's octets that the adapter writes from its file.
    pub(super) fn push_external(&mut self, uid: NonZeroU32, range: Range<u64>) {
        if range.is_empty() {
            return;
        }
        self.items.push_back(Item::External {
            uid,
            range,
            started: None,
            decode: None,
        });
    }

    /// A literal of `len` octets: the decoded form (by `cte`) of the raw
    /// `range` the adapter writes from its file, from decoded octet
    /// `skip` on.
    pub(super) fn push_external_decoded(
        &mut self,
        uid: NonZeroU32,
        range: Range<u64>,
        cte: Cte,
        skip: u64,
        len: u64,
    ) {
        if range.is_empty() || len == 0 {
            return;
        }
        self.items.push_back(Item::External {
            uid,
            range,
            started: None,
            decode: Some(Box::new(Decode {
                decoder: CteDecoder::new(cte),
                skip,
                len,
                at: 0,
                scratch: Vec::new(),
            })),
        });
    }

    /// Moves everything before the first external item (or the octets an
    /// external stream delivered) into `out`.
    pub(super) fn drain_into(&mut self, out: &mut BytesMut) -> bool {
        let mut any = false;
        while let Some(front) = self.items.front() {
            if matches!(front, Item::External { .. }) {
                break;
            }
            if let Some(item) = self.items.pop_front() {
                match item {
                    Item::Data(b) => {
                        self.len -= b.len();
                        out.extend_from_slice(&b);
                    }
                    Item::Shared(b) => {
                        self.len -= b.len();
                        out.extend_from_slice(&b);
                    }
                    Item::External { .. } => {}
                }
                any = true;
            }
        }
        any
    }

    /// The external literal at the front, if not yet handed out.
    pub(super) fn external_ready(&self) -> Option<(NonZeroU32, Range<u64>)> {
        match self.items.front() {
            Some(Item::External {
                uid,
                range,
                started: None,
                ..
            }) => Some((*uid, range.clone())),
            _ => None,
        }
    }

    pub(super) fn start_external(&mut self, id: RequestId) {
        if let Some(Item::External {
            range,
            started,
            decode,
            ..
        }) = self.items.front_mut()
        {
            let len = match decode {
                Some(d) => d.len,
                None => range.end.saturating_sub(range.start),
            };
            *started = Some((id, len));
        }
    }

    /// An external literal is being written by the adapter.
    pub(super) fn external_active(&self) -> bool {
        self.items.iter().any(|i| {
            matches!(
                i,
                Item::External {
                    started: Some(_),
                    ..
                }
            )
        })
    }

    /// Some external literal is queued.
    pub(super) fn has_external(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::External { .. }))
    }

    /// Adds octets of the active external literal: they go out before
    /// anything queued after it. Returns the octets still expected.
    pub(super) fn external_chunk(
        &mut self,
        id: RequestId,
        chunk: &[u8],
    ) -> Result<u64, super::SessionError> {
        let pos = self.active_position(id)?;
        let Some(Item::External {
            started: Some((_, remaining)),
            decode,
            ..
        }) = self.items.get_mut(pos)
        else {
            return Err(super::SessionError::NoExternalInProgress);
        };
        let out = match decode {
            None => {
                if chunk.len() as u64 > *remaining {
                    return Err(super::SessionError::TooManyOctets);
                }
                BytesMut::from(chunk)
            }
            Some(d) => {
                d.scratch.clear();
                d.decoder.feed(chunk, &mut d.scratch);
                let w = d.window();
                // More than announced: the file changed; the rest is cut.
                BytesMut::from(&w[..w.len().min(*remaining as usize)])
            }
        };
        *remaining -= out.len() as u64;
        let left = *remaining;
        if !out.is_empty() {
            self.len += out.len();
            // Before the marker, after the chunks not yet drained.
            self.items.insert(pos, Item::Data(out));
        }
        Ok(left)
    }

    fn active_position(&self, id: RequestId) -> Result<usize, super::SessionError> {
        self.items
            .iter()
            .position(|i| matches!(i, Item::External { started: Some((a, _)), .. } if *a == id))
            .ok_or(super::SessionError::NoExternalInProgress)
    }

    /// Ends the active external literal; returns the octets that were
    /// missing (0 when complete).
    pub(super) fn finish_external(&mut self, id: RequestId) -> Result<u64, super::SessionError> {
        let pos = self.active_position(id)?;
        match self.items.remove(pos) {
            Some(Item::External {
                started: Some((_, mut remaining)),
                decode,
                ..
            }) => {
                if let Some(mut d) = decode {
                    d.scratch.clear();
                    d.decoder.finish(&mut d.scratch);
                    let w = d.window();
                    let w = &w[..w.len().min(remaining as usize)];
                    if !w.is_empty() {
                        remaining -= w.len() as u64;
                        self.len += w.len();
                        self.items.insert(pos, Item::Data(BytesMut::from(w)));
                    }
                }
                Ok(remaining)
            }
            _ => Ok(0),
        }
    }
}
