//! The MIME part tree of a stored message: byte offsets of every part's
//! header and body, either handed in by the store or computed here by the
//! streaming scanner of the `mime-scan` crate, the same one the store uses
//! at delivery, so that stored and computed offsets always agree.
//!
//! [`PartOffsets::parse`] never recurses on the input and never fails: a
//! message without structure is one leaf, nesting deeper than
//! [`MAX_DEPTH`] is kept as leaves, parts past [`MAX_PARTS`] are left out.

pub use mime_scan::{MAX_DEPTH, MAX_PARTS, Part as PartOffsets, PartKind};
