//! encode → parse is the identity for commands and replies (proptest).

use bytes::BytesMut;
use proptest::prelude::*;
use smtp_proto::{BodyType, Command, EnhancedCode, MailParams, Notify, RcptParams, Reply, Ret};

fn domain() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9]{0,8}(\\.[a-z][a-z0-9-]{0,6}[a-z0-9]){0,3}",
        "[a-zé用例]{1,5}\\.[a-z]{2,4}",
        Just("[192.0.2.1]".to_owned()),
        Just("[IPv6:2001:db8::1]".to_owned()),
    ]
}

fn local_part() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,8}(\\.[a-zA-Z0-9_+-]{1,8}){0,2}",
        "\"[a-z @.,]{0,8}\"",
        "[a-zé用户]{1,6}",
    ]
}

fn mailbox() -> impl Strategy<Value = String> {
    (local_part(), domain()).prop_map(|(l, d)| format!("{l}@{d}"))
}

fn xtext() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.@-]{1,10}(\\+2B[a-z]{0,3})?"
}

fn mail_params() -> impl Strategy<Value = MailParams> {
    (
        proptest::option::of(any::<u64>()),
        proptest::option::of(prop_oneof![
            Just(BodyType::SevenBit),
            Just(BodyType::EightBitMime),
            Just(BodyType::BinaryMime)
        ]),
        any::<bool>(),
        proptest::option::of(prop_oneof![Just(Ret::Full), Just(Ret::Hdrs)]),
        proptest::option::of(xtext()),
        proptest::option::of(prop_oneof![Just("<>".to_owned()), xtext()]),
    )
        .prop_map(|(size, body, smtputf8, ret, envid, auth)| MailParams {
            size,
            body,
            smtputf8,
            ret,
            envid,
            auth,
        })
}

fn rcpt_params() -> impl Strategy<Value = RcptParams> {
    let notify = prop_oneof![
        Just(vec![Notify::Never]),
        proptest::sample::subsequence(vec![Notify::Success, Notify::Failure, Notify::Delay], 1..=3),
    ];
    (
        proptest::option::of(notify),
        proptest::option::of(xtext().prop_map(|x| format!("rfc822;{x}"))),
    )
        .prop_map(|(notify, orcpt)| RcptParams { notify, orcpt })
}

fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]{1,8}( [a-zA-Z0-9]{1,8}){0,2}"
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        domain().prop_map(Command::Helo),
        domain().prop_map(Command::Ehlo),
        domain().prop_map(Command::Lhlo),
        (proptest::option::of(mailbox()), mail_params()).prop_map(|(reverse_path, params)| {
            Command::Mail {
                reverse_path,
                params,
            }
        }),
        (mailbox(), rcpt_params()).prop_map(|(forward_path, params)| Command::Rcpt {
            forward_path,
            params
        }),
        Just(Command::Data),
        (any::<u64>(), any::<bool>()).prop_map(|(size, last)| Command::Bdat { size, last }),
        Just(Command::Rset),
        proptest::option::of(word()).prop_map(Command::Noop),
        Just(Command::Quit),
        word().prop_map(Command::Vrfy),
        word().prop_map(Command::Expn),
        proptest::option::of(word()).prop_map(Command::Help),
        Just(Command::StartTls),
        (
            "[A-Z0-9_-]{1,20}",
            proptest::option::of(prop_oneof![
                Just("=".to_owned()),
                "[A-Za-z0-9+/]{1,12}={0,2}"
            ])
        )
            .prop_map(|(mechanism, initial_response)| Command::Auth {
                mechanism,
                initial_response
            }),
    ]
}

fn reply() -> impl Strategy<Value = Reply> {
    (
        (2u16..6, 0u16..6, 0u16..10).prop_map(|(a, b, c)| a * 100 + b * 10 + c),
        0u16..1000,
        0u16..1000,
        any::<bool>(),
        proptest::collection::vec("([a-zA-Z][a-zA-Z0-9 .,:<>-]{0,20})?", 1..5),
    )
        .prop_map(|(code, subject, detail, with_enhanced, lines)| {
            let class = (code / 100) as u8;
            let enhanced = (with_enhanced && class != 3).then_some(EnhancedCode {
                class,
                subject,
                detail,
            });
            Reply {
                code,
                enhanced,
                lines,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn command_roundtrip(cmd in command()) {
        let mut wire = BytesMut::new();
        cmd.encode(&mut wire);
        prop_assert!(wire.ends_with(b"\r\n"));
        prop_assert_eq!(Command::parse(&wire), Ok(cmd));
    }

    #[test]
    fn reply_roundtrip(reply in reply(), tail in "[A-Z ]{0,5}") {
        let mut wire = BytesMut::new();
        reply.encode(&mut wire);
        let used = wire.len();
        wire.extend_from_slice(tail.as_bytes());
        prop_assert_eq!(Reply::parse(&wire), Ok((reply, used)));
        // Every proper prefix is incomplete.
        prop_assert_eq!(Reply::parse(&wire[..used - 1]).map(|(r, _)| r.code), Err(smtp_proto::ParseError::Incomplete));
    }

    #[test]
    fn command_parse_never_panics(line in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Command::parse(&line);
        let _ = Reply::parse(&line);
    }
}
