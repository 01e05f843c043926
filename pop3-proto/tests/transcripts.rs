//! RFC example transcripts replayed through the server session with the
//! canned-answer adapter of `common`.

mod common;

use common::{check, config};

/// RFC 1939 §10, with USER/PASS in place of APOP (not offered).
pub const RFC1939_EXAMPLE: &str = "
    S: +OK dewey POP3 sansmail ready
    C: USER mrose
    S: +OK send PASS
    C: PASS secret
    S: +OK maildrop has 2 messages (320 octets)
    C: STAT
    S: +OK 2 320
    C: LIST
    S: +OK 2 messages (320 octets)
    S: 1 120
    S: 2 200
    S: .
    C: RETR 1
    S: +OK 120 octets
    S: <message 1>
    S: .
    C: DELE 1
    S: +OK message 1 deleted
    C: RETR 2
    S: +OK 200 octets
    S: <message 2>
    S: .
    C: DELE 2
    S: +OK message 2 deleted
    C: QUIT
    S: +OK dewey POP3 server signing off (maildrop empty)
";

/// The single-command examples of RFC 1939 §§5–7, in one session.
pub const RFC1939_COMMANDS: &str = "
    S: +OK dewey POP3 sansmail ready
    C: USER mrose
    S: +OK send PASS
    C: PASS secret
    S: +OK maildrop has 2 messages (320 octets)
    C: LIST 2
    S: +OK 2 200
    C: LIST 3
    S: -ERR no such message, only 2 messages in maildrop
    C: UIDL
    S: +OK
    S: 1 whqtswO00WBw418f9t5JxYwZ
    S: 2 QhdPYR:00WBw1Ph7x7
    S: .
    C: UIDL 2
    S: +OK 2 QhdPYR:00WBw1Ph7x7
    C: UIDL 3
    S: -ERR no such message, only 2 messages in maildrop
    C: TOP 2 2
    S: +OK top of message follows
    S: Subject: two
    S: X: y
    S: 
    S: first
    S: ...two dots
    S: .
    C: TOP 100 3
    S: -ERR no such message, only 2 messages in maildrop
    C: DELE 1
    S: +OK message 1 deleted
    C: DELE 1
    S: -ERR message 1 already deleted
    C: RETR 1
    S: -ERR message 1 already deleted
    C: STAT
    S: +OK 1 200
    C: LIST
    S: +OK 1 messages (200 octets)
    S: 2 200
    S: .
    C: NOOP
    S: +OK
    C: RSET
    S: +OK maildrop has 2 messages (320 octets)
    C: QUIT
    S: +OK dewey POP3 server signing off (2 messages left)
";

/// RFC 2449 §5 CAPA, before and after login (our capability list).
pub const RFC2449_CAPA: &str = "
    S: +OK dewey POP3 sansmail ready
    C: CAPA
    S: +OK Capability list follows
    S: TOP
    S: USER
    S: SASL PLAIN LOGIN
    S: RESP-CODES
    S: AUTH-RESP-CODE
    S: PIPELINING
    S: EXPIRE NEVER
    S: UIDL
    S: IMPLEMENTATION sansmail
    S: STLS
    S: .
    C: USER mrose
    S: +OK send PASS
    C: PASS secret
    S: +OK maildrop has 2 messages (320 octets)
    C: CAPA
    S: +OK Capability list follows
    S: TOP
    S: RESP-CODES
    S: AUTH-RESP-CODE
    S: PIPELINING
    S: EXPIRE NEVER
    S: UIDL
    S: IMPLEMENTATION sansmail
    S: .
    C: QUIT
    S: +OK dewey POP3 server signing off (2 messages left)
";

/// RFC 2449 §8.1 and RFC 3206 response codes from the adapter's answers.
pub const RESPONSE_CODES: &str = "
    S: +OK dewey POP3 sansmail ready
    C: USER locked
    S: +OK send PASS
    C: PASS secret
    S: -ERR [IN-USE] Do you have another POP session running?
    C: USER broken
    S: +OK send PASS
    C: PASS secret
    S: -ERR [SYS/TEMP] Storage unavailable
    C: PASS secret
    S: -ERR USER first
    C: QUIT
    S: +OK dewey POP3 server signing off
";

/// RFC 5034 §6 examples: AUTH PLAIN with and without the initial
/// response, a failure, and LOGIN.
pub const RFC5034_AUTH: &str = "
    S: +OK dewey POP3 sansmail ready
    C: AUTH PLAIN dGVzdAB0ZXN0AHdyb25n
    S: -ERR [AUTH] Authentication failed
    C: AUTH PLAIN
    S: + 
    C: *
    S: -ERR Authentication cancelled
    C: AUTH PLAIN
    S: + 
    C: dGVzdAB0ZXN0AHRlc3Q=
    S: +OK maildrop has 2 messages (320 octets)
    C: QUIT
    S: +OK dewey POP3 server signing off (2 messages left)
";

/// AUTH LOGIN (draft-murchison-sasl-login), as sent by Outlook and others.
pub const AUTH_LOGIN: &str = "
    S: +OK dewey POP3 sansmail ready
    C: AUTH
    S: +OK
    S: PLAIN
    S: LOGIN
    S: .
    C: AUTH LOGIN
    S: + VXNlcm5hbWU6
    C: YWxpY2U=
    S: + UGFzc3dvcmQ6
    C: c2VjcmV0
    S: +OK maildrop has 2 messages (320 octets)
    C: DELE 2
    S: +OK message 2 deleted
    C: QUIT
    S: +OK dewey POP3 server signing off (1 messages left)
";

/// RFC 2595 §4 STLS, then login over the (simulated) TLS layer.
pub const RFC2595_STLS: &str = "
    S: +OK dewey POP3 sansmail ready
    C: STLS
    S: +OK Begin TLS negotiation
    C: CAPA
    S: +OK Capability list follows
    S: TOP
    S: USER
    S: SASL PLAIN LOGIN
    S: RESP-CODES
    S: AUTH-RESP-CODE
    S: PIPELINING
    S: EXPIRE NEVER
    S: UIDL
    S: IMPLEMENTATION sansmail
    S: .
    C: STLS
    S: -ERR STLS not available
    C: USER alice
    S: +OK send PASS
    C: PASS secret
    S: +OK maildrop has 2 messages (320 octets)
    C: QUIT
    S: +OK dewey POP3 server signing off (2 messages left)
";

/// All transcripts with their configuration, for the split tests.
pub fn all() -> Vec<(&'static str, &'static str)> {
    vec![
        ("rfc1939 example", RFC1939_EXAMPLE),
        ("rfc1939 commands", RFC1939_COMMANDS),
        ("rfc2449 capa", RFC2449_CAPA),
        ("response codes", RESPONSE_CODES),
        ("rfc5034 auth", RFC5034_AUTH),
        ("auth login", AUTH_LOGIN),
    ]
}

#[test]
fn rfc1939_example_session() {
    let (_, log) = check(config(), RFC1939_EXAMPLE);
    assert_eq!(
        log,
        [
            "Authenticate { id: RequestId(1), mechanism: UserPass, authzid: None, username: \"mrose\", password: Secret(***) }",
            "Retrieve { id: RequestId(2), index: 0, top_lines: None }",
            "Retrieve { id: RequestId(3), index: 1, top_lines: None }",
            "Update { id: RequestId(4), deleted: [0, 1] }",
        ]
    );
}

#[test]
fn rfc1939_command_examples() {
    let (_, log) = check(config(), RFC1939_COMMANDS);
    assert_eq!(
        log.last().unwrap(),
        "Update { id: RequestId(3), deleted: [] }"
    );
    assert_eq!(
        log[1],
        "Retrieve { id: RequestId(2), index: 1, top_lines: Some(2) }"
    );
}

#[test]
fn rfc2449_capa() {
    check(config(), RFC2449_CAPA);
}

#[test]
fn response_codes() {
    check(config(), RESPONSE_CODES);
}

#[test]
fn rfc5034_auth_plain() {
    let (_, log) = check(config(), RFC5034_AUTH);
    assert_eq!(
        log[1],
        "Authenticate { id: RequestId(2), mechanism: Plain, authzid: Some(\"test\"), username: \"test\", password: Secret(***) }"
    );
}

#[test]
fn auth_login() {
    let (_, log) = check(config(), AUTH_LOGIN);
    assert_eq!(
        log[0],
        "Authenticate { id: RequestId(1), mechanism: Login, authzid: None, username: \"alice\", password: Secret(***) }"
    );
    assert_eq!(log[1], "Update { id: RequestId(2), deleted: [1] }");
}

#[test]
fn rfc2595_stls() {
    let (_, log) = check(config(), RFC2595_STLS);
    assert_eq!(
        log[0],
        "SwitchTransport { kind: StartTls, leftover: b\"\" }"
    );
}

#[test]
fn plaintext_refused_without_tls() {
    let mut config = config();
    config.allow_plaintext = false;
    check(
        config,
        "
        S: +OK dewey POP3 sansmail ready
        C: CAPA
        S: +OK Capability list follows
        S: TOP
        S: RESP-CODES
        S: AUTH-RESP-CODE
        S: PIPELINING
        S: EXPIRE NEVER
        S: UIDL
        S: IMPLEMENTATION sansmail
        S: STLS
        S: .
        C: USER alice
        S: -ERR [AUTH] Plaintext authentication disallowed on non-secure connection
        C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
        S: -ERR [AUTH] Plaintext authentication disallowed on non-secure connection
        C: STLS
        S: +OK Begin TLS negotiation
        C: USER alice
        S: +OK send PASS
        C: PASS secret
        S: +OK maildrop has 2 messages (320 octets)
        C: QUIT
        S: +OK dewey POP3 server signing off (2 messages left)
    ",
    );
}

#[test]
fn implicit_tls_offers_no_stls() {
    let mut config = config();
    config.tls_active = true;
    config.allow_plaintext = false;
    check(
        config,
        "
        S: +OK dewey POP3 sansmail ready
        C: STLS
        S: -ERR STLS not available
        C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
        S: +OK maildrop has 2 messages (320 octets)
        C: QUIT
        S: +OK dewey POP3 server signing off (2 messages left)
    ",
    );
}

mod split {
    use super::all;
    use crate::common::{config, run, run_chunks, run_with, transcript};
    use proptest::prelude::*;

    #[test]
    fn every_split_point_and_byte_by_byte() {
        for (name, text) in all() {
            let t = transcript(text);
            let whole = run(config(), &t.client);
            assert_eq!(
                String::from_utf8_lossy(&whole.0),
                String::from_utf8_lossy(&t.server),
                "{name}"
            );
            for split in 0..=t.client.len() {
                let (a, b) = t.client.split_at(split);
                assert_eq!(run_chunks(config(), &[a, b]), whole, "{name} split {split}");
            }
            let bytes: Vec<&[u8]> = t.client.chunks(1).collect();
            assert_eq!(run_chunks(config(), &bytes), whole, "{name} byte by byte");
        }
    }

    #[test]
    fn message_chunk_size_does_not_change_the_output() {
        for (name, text) in all() {
            let t = transcript(text);
            let whole = run_with(config(), &[&t.client], 1_000_000);
            for chunk in 1..=210 {
                assert_eq!(
                    run_with(config(), &[&t.client], chunk),
                    whole,
                    "{name} chunk {chunk}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn random_chunkings_agree(cuts in proptest::collection::vec(0usize..2000, 0..12)) {
            for (name, text) in all() {
                let t = transcript(text);
                let whole = run(config(), &t.client);
                let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (t.client.len() + 1)).collect();
                cuts.sort_unstable();
                let mut chunks = Vec::new();
                let mut start = 0;
                for cut in cuts {
                    chunks.push(&t.client[start..cut]);
                    start = cut;
                }
                chunks.push(&t.client[start..]);
                prop_assert_eq!(run_chunks(config(), &chunks), whole.clone(), "{}", name);
            }
        }
    }
}
