//! Random command streams built from IMAP tokens: the session never
//! panics, every output parses, and feeding byte by byte gives the same
//! output and events as feeding everything at once.

mod session_common;

use imap_proto::Response;
use imap_proto::framer::{Frame, Framer, Role};
use imap_proto::session::ServerConfig;
use proptest::prelude::*;
use session_common::*;
use std::time::Instant;

const TOKENS: &[&str] = &[
    "a1 ",
    "a2 ",
    "LOGIN alice secret",
    "LOGIN {5}\r\nalice {6}\r\nsecret",
    "SELECT INBOX",
    "EXAMINE INBOX",
    "SELECT Nope",
    "FETCH 1:* (FLAGS UID)",
    "FETCH 1 BODY[]",
    "UID FETCH 1:* ENVELOPE",
    "FETCH 2 (BODYSTRUCTURE BODY.PEEK[1.MIME] BINARY[1])",
    "FETCH 1 BODY[HEADER.FIELDS (Subject)]<0.5>",
    "STORE 1 +FLAGS (\\Deleted)",
    "UID STORE 1:* -FLAGS.SILENT (\\Seen)",
    "EXPUNGE",
    "UID EXPUNGE 1:2",
    "SEARCH ALL",
    "UID SEARCH TEXT lunch",
    "SEARCH RETURN (SAVE) SEEN",
    "FETCH $ FLAGS",
    "NOOP",
    "IDLE\r\nDONE",
    "CLOSE",
    "UNSELECT",
    "LIST \"\" *",
    "LIST \"\" %",
    "LSUB \"\" *",
    "STATUS INBOX (MESSAGES SIZE)",
    "CREATE x/y",
    "RENAME x/y z",
    "DELETE z",
    "COPY 1 Trash",
    "MOVE 1 Sent",
    "UID MOVE 2 Nope",
    "APPEND INBOX {5}\r\nhello",
    "APPEND INBOX (\\Seen) {3+}\r\nabc",
    "ENABLE IMAP4rev2",
    "ENABLE QRESYNC CONDSTORE",
    "ID NIL",
    "NAMESPACE",
    "CAPABILITY",
    "AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA==",
    "AUTHENTICATE LOGIN\r\n*",
    "STARTTLS",
    "LOGOUT",
    "(",
    ")",
    "{3}\r\n",
    "\r\n",
    " ",
    "*",
    "\"",
];

fn stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec((proptest::sample::select(TOKENS), any::<bool>()), 1..30).prop_map(
        |v| {
            let mut out = Vec::new();
            for (t, newline) in v {
                out.extend_from_slice(t.as_bytes());
                if newline {
                    out.extend_from_slice(b"\r\n");
                }
            }
            out.extend_from_slice(b"\r\n");
            out
        },
    )
}

/// The session under test, STARTTLS offered so random streams reach it.
fn config() -> ServerConfig {
    let mut c = ServerConfig::new("hi");
    c.starttls = true;
    c
}

fn parse_all(out: &[u8]) {
    let limits = imap_proto::Limits {
        max_line_length: usize::MAX / 2,
        max_literal_size: u64::MAX / 2,
        max_command_size: usize::MAX / 2,
        max_depth: 64,
        ..imap_proto::Limits::default()
    };
    let mut f = Framer::new(Role::Client, limits);
    let mut input = out;
    while !input.is_empty() {
        let (used, frame) = f.feed(input);
        input = &input[used..];
        match frame {
            Some(Frame::Complete(b)) => {
                if let Err(e) = Response::parse(&b) {
                    panic!("malformed {:?}: {e:?}", String::from_utf8_lossy(&b));
                }
            }
            Some(other) => panic!("unexpected frame {other:?}"),
            None => assert!(used > 0, "output ends inside a response"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn random_streams(input in stream()) {
        let t = Instant::now();
        let mut whole = Harness::with_store(config(), store_with_two(), t);
        whole.run(&input, input.len());
        let mut bytewise = Harness::with_store(config(), store_with_two(), t);
        bytewise.run(&input, 1);
        parse_all(&whole.out);
        prop_assert_eq!(
            String::from_utf8_lossy(&whole.out),
            String::from_utf8_lossy(&bytewise.out)
        );
        prop_assert_eq!(&whole.log, &bytewise.log);
    }
}

/// Found by `random_streams`: plaintext after STARTTLS must be dropped the
/// same way whether it arrived with the command or byte by byte.
#[test]
fn plaintext_after_starttls_is_dropped_at_any_split() {
    let input = b"a1 STARTTLS\r\n\r\n";
    let t = Instant::now();
    let mut whole = Harness::with_store(config(), store_with_two(), t);
    whole.run(input, input.len());
    let mut bytewise = Harness::with_store(config(), store_with_two(), t);
    bytewise.run(input, 1);
    assert_eq!(
        String::from_utf8_lossy(&whole.out),
        String::from_utf8_lossy(&bytewise.out)
    );
    assert!(
        !String::from_utf8_lossy(&whole.out).contains("BAD"),
        "{}",
        String::from_utf8_lossy(&whole.out)
    );
}
