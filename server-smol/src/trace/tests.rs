//! Transcripts of the trace readers: what is logged, what is redacted.
use super::*;

/// Runs a transcript (`C:`/`S:` chunks) and returns what would be
/// logged, one string per line.
fn run(dialect: Dialect, steps: &[(&str, &[u8])]) -> Vec<String> {
    let mut t = Trace::always("x", "127.0.0.1:1".parse().unwrap(), dialect);
    let log = std::cell::RefCell::new(Vec::new());
    for (side, bytes) in steps {
        let (mine, other) = if *side == "C" {
            (&mut t.client, &mut t.server)
        } else {
            (&mut t.server, &mut t.client)
        };
        let state = &mut t.state;
        let side = *side;
        mine.feed(
            bytes,
            |reader, line| {
                let shown = if side == "C" {
                    state.client_line(reader, &line)
                } else {
                    state.server_line(reader, other, &line);
                    line.head.to_vec()
                };
                log.borrow_mut().push(format!("{side}: {}", show(&shown)));
            },
            |_, size| log.borrow_mut().push(format!("{side}: <{size}>")),
        );
    }
    log.into_inner()
}

#[test]
fn smtp_auth_and_data() {
    let log = run(
        Dialect::Smtp,
        &[
            ("S", b"220 hi\r\n"),
            ("C", b"EHLO x\r\nAUTH PLAIN AGFsaWNlAHB3\r\n"),
            ("S", b"250-x\r\n250 AUTH PLAIN LOGIN\r\n235 ok\r\n"),
            ("C", b"AUTH LOGIN\r\n"),
            ("S", b"334 VXNlcm5hbWU6\r\n"),
            ("C", b"YWxpY2U=\r\n"),
            ("S", b"334 UGFzc3dvcmQ6\r\n"),
            ("C", b"cHc=\r\n"),
            ("S", b"235 ok\r\n"),
            ("C", b"MAIL FROM:<a@b>\r\nDATA\r\n"),
            ("S", b"250 ok\r\n354 go\r\n"),
            ("C", b"Subject: x\r\n\r\n.."),
            ("C", b"dotted\r\n.\r\nQUIT\r\n"),
            ("C", b"BDAT 3 LAST\r\nabcNOOP\r\n"),
        ],
    );
    assert_eq!(
        log,
        [
            "S: 220 hi",
            "C: EHLO x",
            "C: AUTH PLAIN ***",
            "S: 250-x",
            "S: 250 AUTH PLAIN LOGIN",
            "S: 235 ok",
            "C: AUTH LOGIN",
            "S: 334 VXNlcm5hbWU6",
            "C: ***",
            "S: 334 UGFzc3dvcmQ6",
            "C: ***",
            "S: 235 ok",
            "C: MAIL FROM:<a@b>",
            "C: DATA",
            "S: 250 ok",
            "S: 354 go",
            "C: <27>",
            "C: QUIT",
            "C: BDAT 3 LAST",
            "C: <3>",
            "C: NOOP",
        ]
    );
}

#[test]
fn smtp_pipelined_auth_stays_redacted() {
    let log = run(
        Dialect::Smtp,
        &[
            ("C", b"NOOP\r\nAUTH LOGIN\r\nYWxpY2U=\r\ncHc=\r\n"),
            ("S", b"250 ok\r\n334 x\r\n334 y\r\n235 ok\r\n"),
            ("C", b"NOOP\r\n"),
        ],
    );
    assert_eq!(
        log,
        [
            "C: NOOP",
            "C: AUTH LOGIN",
            "C: ***",
            "C: ***",
            "S: 250 ok",
            "S: 334 x",
            "S: 334 y",
            "S: 235 ok",
            "C: NOOP"
        ]
    );
}

#[test]
fn imap_login_authenticate_and_literals() {
    let log = run(
        Dialect::Imap,
        &[
            ("C", b"a LOGIN alice \"p w\"\r\n"),
            ("C", b"b LOGIN \"al\\\"ice\" secret\r\n"),
            ("C", b"c LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n"),
            ("C", b"d AUTHENTICATE PLAIN\r\n"),
            ("S", b"+ \r\n"),
            ("C", b"AGFsaWNlAHB3\r\n"),
            ("S", b"d OK done\r\n"),
            ("C", b"e APPEND INBOX {4}\r\n"),
            ("S", b"+ go\r\n"),
            ("C", b"abcd\r\n"),
            ("C", b"f APPEND INBOX {400}\r\n"),
            ("S", b"f NO too big\r\n"),
            ("C", b"g FETCH 1 BODY[]\r\n"),
            ("S", b"* 1 FETCH (BODY[] {3}\r\nxyz)\r\ng OK\r\n"),
            ("C", b"h AUTHENTICATE PLAIN AGFsaWNlAHB3\r\n"),
        ],
    );
    assert_eq!(
        log,
        [
            "C: a LOGIN alice ***",
            "C: b LOGIN \"al\\\"ice\" ***",
            "C: c LOGIN ***",
            "C: <5>",
            "C: ***",
            "C: <6>",
            "C: ***",
            "C: d AUTHENTICATE PLAIN",
            "S: + ",
            "C: ***",
            "S: d OK done",
            "C: e APPEND INBOX {4}",
            "S: + go",
            "C: <4>",
            "C: ",
            "C: f APPEND INBOX {400}",
            "S: f NO too big",
            "C: g FETCH 1 BODY[]",
            "S: * 1 FETCH (BODY[] {3}",
            "S: <3>",
            "S: )",
            "S: g OK",
            "C: h AUTHENTICATE PLAIN ***",
        ]
    );
}

#[test]
fn pop3_pass_auth_and_retr() {
    let log = run(
        Dialect::Pop3,
        &[
            ("S", b"+OK hi\r\n"),
            ("C", b"USER alice\r\nPASS p w\r\n"),
            ("S", b"+OK\r\n+OK in\r\n"),
            ("C", b"RETR 1\r\nLIST\r\n"),
            ("S", b"+OK 9\r\nab\r\n..\r\n.\r\n+OK\r\n1 9\r\n.\r\n"),
            ("C", b"AUTH PLAIN\r\n"),
            ("S", b"+ \r\n"),
            ("C", b"AGFsaWNlAHB3\r\n"),
            ("S", b"-ERR no\r\n"),
            ("C", b"APOP alice c4c9334bac560ecc979e58001b3e22fb\r\n"),
        ],
    );
    assert_eq!(
        log,
        [
            "S: +OK hi",
            "C: USER alice",
            "C: PASS ***",
            "S: +OK",
            "S: +OK in",
            "C: RETR 1",
            "C: LIST",
            "S: +OK 9",
            "S: <11>",
            "S: +OK",
            "S: 1 9",
            "S: .",
            "C: AUTH PLAIN",
            "S: + ",
            "C: ***",
            "S: -ERR no",
            "C: APOP alice ***",
        ]
    );
}

#[test]
fn random_input_never_panics_and_stays_bounded() {
    // Bytes drawn from the protocols' own alphabet, so literals,
    // SASL states and bodies are entered and left often.
    const ALPHABET: &[&[u8]] = &[
        b"\r\n",
        b"\n",
        b".",
        b"{",
        b"}",
        b"+",
        b"~",
        b"3",
        b"99",
        b" ",
        b"a1 ",
        b"AUTH PLAIN",
        b"AUTHENTICATE",
        b"LOGIN",
        b"PASS",
        b"RETR 1",
        b"BDAT 5",
        b"DATA",
        b"334 ",
        b"354 ",
        b"+ ",
        b"+OK",
        b"-ERR",
        b"a1 OK",
        b"*",
        b"x",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    for dialect in [Dialect::Smtp, Dialect::Imap, Dialect::Pop3] {
        let mut t = Trace::always("x", "127.0.0.1:1".parse().unwrap(), dialect);
        for _ in 0..2000 {
            let mut chunk = Vec::new();
            for _ in 0..rng.usize(1..40) {
                chunk.extend_from_slice(ALPHABET[rng.usize(..ALPHABET.len())]);
            }
            if rng.bool() {
                t.client(&chunk);
            } else {
                t.server(&chunk);
            }
            for r in [&t.client, &t.server] {
                assert!(r.head.len() <= MAX_SHOWN && r.tail.len() <= TAIL);
            }
            assert!(t.state.pop3_pending.len() <= MAX_PENDING);
        }
    }
}

#[test]
fn long_lines_are_cut_and_split_chunks_join() {
    let mut long = vec![b'a'; 10_000];
    long.extend_from_slice(b" {3+}\r\nxyz\r\n");
    let mut steps: Vec<(&str, &[u8])> = Vec::new();
    for chunk in long.chunks(7) {
        steps.push(("C", chunk));
    }
    let log = run(Dialect::Imap, &steps);
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[0].len(), "C: ".len() + MAX_SHOWN);
    assert_eq!(log[1], "C: <3>");
    assert!(literal_at_end(b"x {12}").is_some());
    assert_eq!(literal_at_end(b"x ~{12+}"), Some((12, false)));
    assert_eq!(literal_at_end(b"x {}"), None);
    assert_eq!(literal_at_end(b"{99999999999999999999999}"), None);
}
