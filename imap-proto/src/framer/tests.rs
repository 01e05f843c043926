use super::*;
use proptest::prelude::*;

/// Feeds `chunks` in order; accepts every literal that fits, rejects the
/// others; returns all frames (announcements included).
fn run(role: Role, limits: Limits, plus: bool, chunks: &[&[u8]]) -> Vec<Frame> {
    run_with(role, limits, plus, false, chunks)
}

/// Like [`run`]; with `stream`, literals that do not fit are streamed
/// instead of rejected. Consecutive [`Frame::LiteralData`] are joined, as
/// their cut depends on the chunks.
fn run_with(role: Role, limits: Limits, plus: bool, stream: bool, chunks: &[&[u8]]) -> Vec<Frame> {
    let mut f = Framer::new(role, limits);
    f.set_literal_plus(plus);
    let mut out: Vec<Frame> = Vec::new();
    for chunk in chunks {
        let mut input = *chunk;
        loop {
            let (used, frame) = f.feed(input);
            input = &input[used..];
            match frame {
                Some(Frame::LiteralData(d)) => match out.last_mut() {
                    Some(Frame::LiteralData(prev)) => prev.extend_from_slice(&d),
                    _ => out.push(Frame::LiteralData(d)),
                },
                Some(fr) => {
                    if let Frame::LiteralAnnounced { .. } = fr
                        && f.accept_literal().is_err()
                    {
                        if stream {
                            f.accept_literal_streaming().unwrap();
                        } else {
                            f.reject_literal().unwrap();
                        }
                    }
                    out.push(fr);
                }
                None => {
                    assert!(input.is_empty(), "framer stalled");
                    break;
                }
            }
        }
    }
    out
}

fn tag(s: &str) -> Option<Tag> {
    Some(Tag::try_from(s).unwrap())
}

fn small() -> Limits {
    Limits {
        max_line_length: 64,
        max_literal_size: 100,
        max_command_size: 200,
        max_depth: 8,
        ..Limits::default()
    }
}

/// Every input split at every position, and byte by byte, gives the same
/// frames as feeding it whole.
fn assert_split_invariant(role: Role, limits: Limits, plus: bool, input: &[u8]) -> Vec<Frame> {
    let whole = run(role, limits, plus, &[input]);
    for cut in 0..=input.len() {
        let (a, b) = input.split_at(cut);
        assert_eq!(run(role, limits, plus, &[a, b]), whole, "split at {cut}");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(role, limits, plus, &bytes), whole, "byte by byte");
    whole
}

#[test]
fn plain_commands() {
    let frames = assert_split_invariant(
        Role::Server,
        Limits::default(),
        false,
        b"a1 NOOP\r\na2 CAPABILITY\r\n",
    );
    assert_eq!(
        frames,
        vec![
            Frame::Complete(b"a1 NOOP\r\n".to_vec()),
            Frame::Complete(b"a2 CAPABILITY\r\n".to_vec()),
        ]
    );
}

#[test]
fn synchronising_literals_are_announced() {
    let input = b"A1 LOGIN {4}\r\nfred {6}\r\nsecret\r\nA2 NOOP\r\n";
    let frames = assert_split_invariant(Role::Server, Limits::default(), false, input);
    assert_eq!(
        frames,
        vec![
            Frame::LiteralAnnounced {
                tag: tag("A1"),
                command_so_far: b"A1 LOGIN {4}\r\n".to_vec(),
                size: 4,
                binary: false,
                mode: LiteralMode::Sync,
            },
            Frame::LiteralAnnounced {
                tag: tag("A1"),
                command_so_far: b"A1 LOGIN {4}\r\nfred {6}\r\n".to_vec(),
                size: 6,
                binary: false,
                mode: LiteralMode::Sync,
            },
            Frame::Complete(b"A1 LOGIN {4}\r\nfred {6}\r\nsecret\r\n".to_vec()),
            Frame::Complete(b"A2 NOOP\r\n".to_vec()),
        ]
    );
}

#[test]
fn no_input_consumed_while_deciding() {
    let mut f = Framer::new(Role::Server, Limits::default());
    let input = b"A1 APPEND x {3}\r\nabc\r\n";
    let (used, frame) = f.feed(input);
    assert_eq!(used, 17);
    assert!(matches!(
        frame,
        Some(Frame::LiteralAnnounced { size: 3, .. })
    ));
    assert_eq!(f.feed(&input[used..]), (0, None));
    assert_eq!(f.accept_literal(), Ok(()));
    assert_eq!(f.accept_literal(), Err(FramerError::NoPendingLiteral));
    assert_eq!(
        f.feed(&input[used..]),
        (5, Some(Frame::Complete(input.to_vec())))
    );
}

#[test]
fn rejected_literal_drops_command() {
    let mut f = Framer::new(Role::Server, Limits::default());
    let (used, _) = f.feed(b"A1 APPEND x {99999999}\r\n");
    assert_eq!(used, 24);
    assert_eq!(f.accept_literal(), Err(FramerError::LiteralTooLarge));
    assert_eq!(f.reject_literal(), Ok(()));
    assert_eq!(f.pending(), b"");
    assert_eq!(
        f.feed(b"A2 NOOP\r\n"),
        (9, Some(Frame::Complete(b"A2 NOOP\r\n".to_vec())))
    );
}

#[test]
fn literal_minus_enforced() {
    let mut input = b"A1 APPEND x {4097+}\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 4097));
    input.extend_from_slice(b" {2+}\r\nab\r\nA2 NOOP\r\n");
    let frames = run(Role::Server, Limits::default(), false, &[&input]);
    assert_eq!(
        frames,
        vec![
            Frame::Discarded {
                tag: tag("A1"),
                reason: DiscardReason::NonSyncLiteralTooLarge { size: 4097 }
            },
            Frame::Complete(b"A2 NOOP\r\n".to_vec()),
        ]
    );
    // With LITERAL+ advertised the same literal is fine.
    let frames = run(Role::Server, Limits::default(), true, &[&input]);
    assert_eq!(frames.len(), 2);
    assert!(matches!(&frames[0], Frame::Complete(c) if c.len() == input.len() - 9));
}

#[test]
fn small_non_sync_literal_accepted() {
    let input = b"A1 LOGIN {4+}\r\nfred {0+}\r\n\r\n";
    let frames = assert_split_invariant(Role::Server, Limits::default(), false, input);
    assert_eq!(frames, vec![Frame::Complete(input.to_vec())]);
}

#[test]
fn long_line_discarded_with_tag() {
    let mut input = b"A7 SEARCH ".to_vec();
    input.extend(std::iter::repeat_n(b'a', 100));
    input.extend_from_slice(b"\r\nA8 NOOP\r\n");
    let frames = assert_split_invariant(Role::Server, small(), false, &input);
    assert_eq!(
        frames,
        vec![
            Frame::Discarded {
                tag: tag("A7"),
                reason: DiscardReason::LineTooLong
            },
            Frame::Complete(b"A8 NOOP\r\n".to_vec()),
        ]
    );
}

#[test]
fn discarded_line_with_trailing_literal_skips_it() {
    let mut input = b"A7 X ".to_vec();
    input.extend(std::iter::repeat_n(b'a', 100));
    input.extend_from_slice(b" {9+}\r\nA9 NOOP\r\n\r\nA8 NOOP\r\n");
    let frames = assert_split_invariant(Role::Server, small(), false, &input);
    assert_eq!(
        frames,
        vec![
            Frame::Discarded {
                tag: tag("A7"),
                reason: DiscardReason::LineTooLong
            },
            Frame::Complete(b"A8 NOOP\r\n".to_vec()),
        ]
    );
}

#[test]
fn oversized_non_sync_literal_is_not_buffered() {
    let mut input = b"B1 APPEND x {150+}\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'z', 150));
    input.extend_from_slice(b"\r\nB2 NOOP\r\n");
    let frames = assert_split_invariant(Role::Server, small(), true, &input);
    assert_eq!(
        frames,
        vec![
            Frame::LiteralAnnounced {
                tag: tag("B1"),
                command_so_far: b"B1 APPEND x {150+}\r\n".to_vec(),
                size: 150,
                binary: false,
                mode: LiteralMode::NonSync,
            },
            Frame::Discarded {
                tag: tag("B1"),
                reason: DiscardReason::LiteralRejected { size: 150 }
            },
            Frame::Complete(b"B2 NOOP\r\n".to_vec()),
        ]
    );
}

#[test]
fn large_literals_stream_without_buffering() {
    let body: Vec<u8> = (0..1000u32).map(|n| (n % 251) as u8 + 1).collect();
    for (announce, mode) in [
        (&b"{1000}"[..], LiteralMode::Sync),
        (&b"{1000+}"[..], LiteralMode::NonSync),
    ] {
        let mut input = b"C1 APPEND x ".to_vec();
        input.extend_from_slice(announce);
        input.extend_from_slice(b"\r\n");
        let prefix = input.clone();
        input.extend_from_slice(&body);
        input.extend_from_slice(b"\r\nC2 NOOP\r\n");
        let whole = run_with(Role::Server, small(), true, true, &[&input]);
        let mut expected_tail = prefix.clone();
        expected_tail.extend_from_slice(b"\r\n");
        assert_eq!(
            whole,
            vec![
                Frame::LiteralAnnounced {
                    tag: tag("C1"),
                    command_so_far: prefix,
                    size: 1000,
                    binary: false,
                    mode,
                },
                Frame::LiteralData(body.clone()),
                Frame::Complete(expected_tail),
                Frame::Complete(b"C2 NOOP\r\n".to_vec()),
            ]
        );
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(
                run_with(Role::Server, small(), true, true, &[a, b]),
                whole,
                "split at {cut}"
            );
        }
    }
}

#[test]
fn client_role_can_reject_a_large_literal() {
    let mut input = b"* 1 FETCH (BODY[] {300}\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 300));
    input.extend_from_slice(b")\r\n* OK\r\n");
    let frames = assert_split_invariant(Role::Client, small(), false, &input);
    assert_eq!(frames.len(), 3);
    assert_eq!(
        frames[1],
        Frame::Discarded {
            tag: None,
            reason: DiscardReason::LiteralRejected { size: 300 }
        }
    );
    assert_eq!(frames[2], Frame::Complete(b"* OK\r\n".to_vec()));
}

#[test]
fn client_role_reads_literals_at_once() {
    let input = b"* 12 FETCH (BODY[HEADER] {5}\r\nab\r\n\n)\r\n* OK done\r\n";
    let frames = assert_split_invariant(Role::Client, Limits::default(), false, input);
    assert_eq!(
        frames,
        vec![
            Frame::Complete(b"* 12 FETCH (BODY[HEADER] {5}\r\nab\r\n\n)\r\n".to_vec()),
            Frame::Complete(b"* OK done\r\n".to_vec()),
        ]
    );
}

#[test]
fn literal8_announced_as_binary() {
    let mut f = Framer::new(Role::Server, Limits::default());
    let (_, frame) = f.feed(b"A1 APPEND x ~{2}\r\n");
    assert!(matches!(
        frame,
        Some(Frame::LiteralAnnounced {
            size: 2,
            binary: true,
            ..
        })
    ));
}

#[test]
fn announcement_recognition() {
    assert!(announcement(b"x {12}\r\n").is_some_and(|a| a.size == 12 && !a.non_sync));
    assert!(announcement(b"x {12+}\n").is_some_and(|a| a.non_sync));
    assert!(announcement(b"x {}\r\n").is_none());
    assert!(announcement(b"x {1a}\r\n").is_none());
    assert!(announcement(b"x 12}\r\n").is_none());
    assert!(announcement(b"x {99999999999999999999}\r\n").is_none());
}

proptest! {
    #[test]
    fn any_split_gives_same_frames(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(&b"A1 NOOP\r\n"[..]),
                Just(&b"A2 LOGIN {3}\r\n"[..]),
                Just(&b"A3 X {2+}\r\n"[..]),
                Just(&b"{200}\r\n"[..]),
                Just(&b"{5000+}\r\n"[..]),
                Just(&b"abc"[..]),
                Just(&b"\r\n"[..]),
                Just(&b"\n"[..]),
                Just(&b" "[..]),
                Just(&b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"[..]),
            ],
            0..20,
        ),
        cuts in proptest::collection::vec(0usize..400, 0..6),
        role in prop_oneof![Just(Role::Server), Just(Role::Client)],
    ) {
        let input: Vec<u8> = parts.concat();
        let whole = run(role, small(), false, &[&input]);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for c in cuts {
            chunks.push(&input[last..c]);
            last = c;
        }
        chunks.push(&input[last..]);
        prop_assert_eq!(run(role, small(), false, &chunks), whole);
    }
}
