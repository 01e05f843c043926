//! Sans-IO IMAP4rev2/IMAP4rev1: codec, framer and (later) server session.
#![forbid(unsafe_code)]

#[cfg(any(test, feature = "arbitrary"))]
pub mod arbitrary;
pub mod command;
mod core;
pub mod encode;
pub mod error;
pub mod framer;
pub mod limits;
pub mod response;
pub mod types;

pub use encode::{Encode, Encoded, Encoder, Fragment, Version};
pub use limits::Limits;

pub use command::{Command, CommandBody};
pub use error::{ParseError, ParseErrorKind};
pub use response::Response;
