//! The output queue: response bytes, shared message octets, and the
//! places where the adapter writes a literal from its file
//! (docs/DESIGN.md §2: large bodies never pass through the session).

use super::RequestId;
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
        /// Set once [`super::Event::WriteExternal`] was handed out.
        started: Option<(RequestId, u64)>,
    },
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
            }) => Some((*uid, range.clone())),
            _ => None,
        }
    }

    pub(super) fn start_external(&mut self, id: RequestId) {
        if let Some(Item::External { range, started, .. }) = self.items.front_mut() {
            *started = Some((id, range.end.saturating_sub(range.start)));
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
            ..
        }) = self.items.get_mut(pos)
        else {
            return Err(super::SessionError::NoExternalInProgress);
        };
        if chunk.len() as u64 > *remaining {
            return Err(super::SessionError::TooManyOctets);
        }
        *remaining -= chunk.len() as u64;
        let left = *remaining;
        if !chunk.is_empty() {
            self.len += chunk.len();
            // Before the marker, after the chunks not yet drained.
            self.items.insert(pos, Item::Data(BytesMut::from(chunk)));
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
                started: Some((_, remaining)),
                ..
            }) => Ok(remaining),
            _ => Ok(0),
        }
    }
}
