//! SEARCH and SORT that must read a message another session expunged
//! after this session's view was last brought up to date (the store
//! answers [`MessageContent::Gone`]): the message is left out and the
//! tagged OK carries `[EXPUNGEISSUED]` (RFC 9051 §7.1), so a client that
//! checks results (imaptest's stress run does) knows the answer may lack
//! it; the EXPUNGE itself follows at a command that may send it. Searches
//! answered from metadata alone need no read and no code.

mod session_common;

use imap_proto::session::ServerConfig;
use session_common::*;
use std::time::Instant;

fn crlf(lines: &[&str]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s
}

#[test]
fn expunged_before_read_gives_expungeissued() {
    let mut st = Store::default();
    for subject in ["alpha", "beta", "gamma"] {
        st.add(
            "INBOX",
            format!("Subject: {subject}\r\n\r\nhi\r\n").as_bytes(),
            vec![],
        );
    }
    for chunk in [usize::MAX, 1, 7] {
        let mut h = Harness::with_store(
            ServerConfig::new("sansmail ready"),
            st.clone(),
            Instant::now(),
        );
        h.run(b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\n", chunk);
        h.take_output();
        // Gone from the store; this session's view still has it.
        h.expunge_other("INBOX", 2);
        h.run(
            b"a3 SEARCH ALL\r\na4 SEARCH SUBJECT a\r\na5 SORT (SUBJECT) UTF-8 ALL\r\na6 NOOP\r\n",
            chunk,
        );
        assert_eq!(
            h.take_output(),
            crlf(&[
                "* SEARCH 1 2 3",
                "a3 OK SEARCH completed",
                "* SEARCH 1 3",
                "a4 OK [EXPUNGEISSUED] SEARCH completed",
                "* SORT 1 3",
                "a5 OK [EXPUNGEISSUED] SORT completed",
                "* 2 EXPUNGE",
                "a6 OK NOOP completed",
            ]),
            "chunk {chunk}"
        );
    }
}
