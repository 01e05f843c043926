//! Encode → parse round trips of commands and responses (property tests).

use bytes::BytesMut;
use pop3_proto::{Command, Continuation, Response, ResponseCode, Secret, Status};
use proptest::prelude::*;

fn word() -> impl Strategy<Value = String> {
    "[!-~]{1,40}"
}

fn command() -> impl Strategy<Value = Command> {
    let number = any::<u64>();
    prop_oneof![
        word().prop_map(Command::User),
        "[!-~][ -~]{0,60}".prop_map(|p| Command::Pass(Secret::new(p))),
        (word(), word()).prop_map(|(name, digest)| Command::Apop { name, digest }),
        Just(Command::Auth {
            mechanism: None,
            initial_response: None
        }),
        (
            "[A-Z0-9-]{1,20}",
            proptest::option::of("[A-Za-z0-9+/=]{1,80}")
        )
            .prop_map(|(mechanism, initial)| Command::Auth {
                mechanism: Some(mechanism),
                initial_response: initial.map(Secret::new),
            }),
        Just(Command::Stat),
        proptest::option::of(number).prop_map(Command::List),
        number.prop_map(Command::Retr),
        number.prop_map(Command::Dele),
        Just(Command::Noop),
        Just(Command::Rset),
        Just(Command::Quit),
        (number, number).prop_map(|(msg, lines)| Command::Top { msg, lines }),
        proptest::option::of(number).prop_map(Command::Uidl),
        Just(Command::Capa),
        Just(Command::Stls),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    let code = prop_oneof![
        Just(ResponseCode::InUse),
        Just(ResponseCode::LoginDelay),
        Just(ResponseCode::SysTemp),
        Just(ResponseCode::SysPerm),
        Just(ResponseCode::Auth),
        "X-[A-Z]{1,8}(/[A-Z]{1,8}){0,2}".prop_map(ResponseCode::Other),
    ];
    (
        prop_oneof![Just(Status::Ok), Just(Status::Err)],
        proptest::option::of(code),
        // Text that does not start with a space or a bracket, so that the
        // code boundary is unambiguous.
        proptest::option::of("[!-Z\\\\-~][ -~]{0,60}"),
    )
        .prop_map(|(status, code, text)| Response {
            status,
            code,
            text: text.unwrap_or_default(),
        })
}

proptest! {
    #[test]
    fn command_encode_then_parse_is_identity(command in command()) {
        let mut out = BytesMut::new();
        command.encode(&mut out);
        prop_assert!(out.ends_with(b"\r\n"));
        prop_assert_eq!(Command::parse(&out), Ok(command));
    }

    #[test]
    fn response_encode_then_parse_is_identity(response in response()) {
        let mut out = BytesMut::new();
        response.encode(&mut out);
        prop_assert_eq!(Response::parse(&out), Ok(response));
    }

    #[test]
    fn continuation_round_trip(challenge in "[A-Za-z0-9+/=]{0,80}") {
        let mut out = BytesMut::new();
        Continuation(challenge.clone()).encode(&mut out);
        prop_assert_eq!(Continuation::parse(&out), Ok(Continuation(challenge)));
    }

    #[test]
    fn parse_never_panics_and_reparses(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(command) = Command::parse(&line) {
            let mut out = BytesMut::new();
            command.encode(&mut out);
            // PASS keeps trailing spaces; everything else normalises.
            prop_assert_eq!(Command::parse(&out), Ok(command));
        }
        let _ = Response::parse(&line);
    }
}

/// What the stuffer promises to deliver: bare LF as CRLF, and a final CRLF.
fn normalised(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut previous = None;
    for &byte in message {
        if byte == b'\n' && previous != Some(b'\r') {
            out.push(b'\r');
        }
        out.push(byte);
        previous = Some(byte);
    }
    match previous {
        None | Some(b'\n') => {}
        Some(b'\r') => out.push(b'\n'),
        Some(_) => out.extend_from_slice(b"\r\n"),
    }
    out
}

proptest! {
    #[test]
    fn stuffer_then_unstuffer_gives_the_message(
        message in proptest::collection::vec(prop_oneof![
            Just(b'.'), Just(b'\r'), Just(b'\n'), Just(b'a'), any::<u8>()
        ], 0..400),
        chunk in 1usize..50,
        read in 1usize..50,
    ) {
        use pop3_proto::{DotStuffer, DotUnstuffer, Unstuffed};
        let mut stuffer = DotStuffer::new();
        let mut wire = BytesMut::new();
        for piece in message.chunks(chunk) {
            let _ = stuffer.encode(piece, &mut wire);
        }
        stuffer.finish(&mut wire);
        wire.extend_from_slice(b"+OK next\r\n");

        let mut decoder = DotUnstuffer::new();
        let mut body = BytesMut::new();
        let mut end = None;
        let mut offset = 0;
        for piece in wire.chunks(read) {
            if let Unstuffed::Done { consumed } = decoder.decode(piece, &mut body) {
                end = Some(offset + consumed);
                break;
            }
            offset += piece.len();
        }
        prop_assert_eq!(body.to_vec(), normalised(&message));
        prop_assert_eq!(end, Some(wire.len() - b"+OK next\r\n".len()));
    }
}
