//! Sans-IO IMAP4rev2/IMAP4rev1: codec, framer and (later) server session.
#![forbid(unsafe_code)]
// Temporary while the command/response grammar that uses the rules lands.
#![allow(dead_code)]

#[allow(dead_code)] // rules used by the command/response grammar
mod core;
pub mod encode;
pub mod framer;
pub mod limits;
pub mod types;

pub use encode::{Encode, Encoded, Encoder, Fragment, Version};
pub use limits::Limits;
