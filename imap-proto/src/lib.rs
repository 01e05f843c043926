//! Sans-IO IMAP4rev2/IMAP4rev1: codec, framer and (later) server session.
#![forbid(unsafe_code)]
