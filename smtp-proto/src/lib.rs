//! Sans-IO SMTP/ESMTP/LMTP: codec and server session.
#![forbid(unsafe_code)]
