//! Sans-IO POP3: codec and server session.
#![forbid(unsafe_code)]
