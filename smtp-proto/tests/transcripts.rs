//! RFC transcripts replayed through the server session, whole, split at
//! every byte, byte by byte, and at random split points (proptest).

mod common;

use common::{bytewise, config, run, split, transcript, whole};
use proptest::prelude::*;
use smtp_proto::{Mode, ServerConfig};

const EHLO_PLAIN: &str = "
S: 250-PIPELINING
S: 250-SIZE 52428800
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-ENHANCEDSTATUSCODES
S: 250 CHUNKING";

/// RFC 5321 appendix D.1, a typical SMTP transaction.
fn rfc5321_d1() -> String {
    format!(
        "S: 220 foo.com ESMTP sansmail
C: EHLO bar.com
S: 250-foo.com{EHLO_PLAIN}
C: MAIL FROM:<Smith@bar.com>
S: 250 2.1.0 Ok
C: RCPT TO:<Jones@foo.com>
S: 250 2.1.5 Ok
C: RCPT TO:<Green@foo.com>
S: 550 5.1.1 No such user here
C: RCPT TO:<Brown@foo.com>
S: 250 2.1.5 Ok
C: DATA
S: 354 End data with <CR><LF>.<CR><LF>
C: Blah blah blah...
C: ....etc. etc. etc.
C: .
S: 250 2.0.0 Ok: queued
C: QUIT
S: 221 2.0.0 Bye
E: MailFrom <Smith@bar.com>
E: RcptTo <Jones@foo.com>
E: RcptTo <Green@foo.com>
E: RcptTo <Brown@foo.com>
E: DataStart
E: Body Blah blah blah...\\r\\n...etc. etc. etc.\\r\\n
E: DataEnd"
    )
}

/// RFC 5321 appendix D.2 (aborted transaction) and D.4 (VRFY), with HELO.
fn rfc5321_d2_d4() -> String {
    "S: 220 foo.com ESMTP sansmail
C: HELO bar.com
S: 250 foo.com
C: VRFY Crispin
S: 252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery
C: MAIL FROM:<Smith@bar.com>
S: 250 2.1.0 Ok
C: RCPT TO:<Jones@foo.com>
S: 250 2.1.5 Ok
C: RCPT TO:<Green@foo.com>
S: 550 5.1.1 No such user here
C: RSET
S: 250 2.0.0 OK
C: QUIT
S: 221 2.0.0 Bye
E: MailFrom <Smith@bar.com>
E: RcptTo <Jones@foo.com>
E: RcptTo <Green@foo.com>
E: Reset"
        .to_owned()
}

/// RFC 2920 §3.2: a pipelined transaction, with DSN parameters (RFC 3461)
/// and an SMTPUTF8 (RFC 6531) second transaction.
fn rfc2920_pipelining() -> String {
    format!(
        "S: 220 innosoft.com ESMTP sansmail
C: EHLO dbc.mtview.ca.us
S: 250-innosoft.com{EHLO_PLAIN}
C: MAIL FROM:<mrose@dbc.mtview.ca.us> RET=HDRS ENVID=QQ314159
C: RCPT TO:<ned@ymir.claremont.edu> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;ned@ymir.claremont.edu
C: RCPT TO:<unknown@ymir.claremont.edu>
C: RCPT TO:<ned@innosoft.com>
C: DATA
S: 250 2.1.0 Ok
S: 250 2.1.5 Ok
S: 550 5.1.1 No such user here
S: 250 2.1.5 Ok
S: 354 End data with <CR><LF>.<CR><LF>
C: Subject: pipelined
C:
C: ..leading dot
C: .
C: MAIL FROM:<用户@例子.广告> SMTPUTF8 BODY=8BITMIME
C: RCPT TO:<收件人@例子.广告>
C: DATA
C: 8bit body
C: .
C: QUIT
S: 250 2.0.0 Ok: queued
S: 250 2.1.0 Ok
S: 250 2.1.5 Ok
S: 354 End data with <CR><LF>.<CR><LF>
S: 250 2.0.0 Ok: queued
S: 221 2.0.0 Bye
E: MailFrom <mrose@dbc.mtview.ca.us> MailParams {{ size: None, body: None, smtputf8: false, ret: Some(Hdrs), envid: Some(\"QQ314159\"), auth: None }}
E: RcptTo <ned@ymir.claremont.edu> RcptParams {{ notify: Some([Success, Failure]), orcpt: Some(\"rfc822;ned@ymir.claremont.edu\") }}
E: RcptTo <unknown@ymir.claremont.edu>
E: RcptTo <ned@innosoft.com>
E: DataStart
E: Body Subject: pipelined\\r\\n\\r\\n.leading dot\\r\\n
E: DataEnd
E: MailFrom <用户@例子.广告> MailParams {{ size: None, body: Some(EightBitMime), smtputf8: true, ret: None, envid: None, auth: None }}
E: RcptTo <收件人@例子.广告>
E: DataStart
E: Body 8bit body\\r\\n
E: DataEnd"
    )
}

/// RFC 3030 §4: CHUNKING, including BDAT 0 LAST and refused chunks that
/// must still be framed.
fn rfc3030_chunking() -> String {
    format!(
        "S: 220 cnri.reston.va.us ESMTP sansmail
C: EHLO ymir.claremont.edu
S: 250-cnri.reston.va.us{EHLO_PLAIN}
C: MAIL FROM:<Sam@Random.com>
S: 250 2.1.0 Ok
C: RCPT TO:<Susan@Random.com>
S: 250 2.1.5 Ok
C: BDAT 21
C: Subject: a
C:
C: hello
S: 250 2.0.0 21 octets received
C: DATA
S: 503 5.5.1 Error: DATA after BDAT
C: BDAT 7 LAST
C: world
S: 250 2.0.0 Ok: queued
C: BDAT 6
C: QUIT
S: 503 5.5.1 Error: need MAIL command
C: MAIL FROM:<Sam@Random.com>
S: 250 2.1.0 Ok
C: RCPT TO:<Susan@Random.com>
S: 250 2.1.5 Ok
C: BDAT 0 LAST
S: 250 2.0.0 Ok: queued
C: QUIT
S: 221 2.0.0 Bye
E: MailFrom <Sam@Random.com>
E: RcptTo <Susan@Random.com>
E: DataStart
E: Body Subject: a\\r\\n\\r\\nhello\\r\\nworld\\r\\n
E: DataEnd
E: MailFrom <Sam@Random.com>
E: RcptTo <Susan@Random.com>
E: DataStart
E: DataEnd"
    )
}

const EHLO_TLS: &str = "
S: 250-PIPELINING
S: 250-SIZE 52428800
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-ENHANCEDSTATUSCODES
S: 250-CHUNKING
S: 250 AUTH PLAIN LOGIN";

/// RFC 4954 §4 and §8: AUTH PLAIN with and without initial response, cancel,
/// unknown mechanism, AUTH= on MAIL.
fn rfc4954_plain() -> String {
    format!(
        "S: 220 smtp.example.com ESMTP sansmail
C: EHLO client.example.com
S: 250-smtp.example.com{EHLO_TLS}
C: AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=
S: 535 5.7.8 Authentication credentials invalid
C: AUTH CRAM-MD5
S: 504 5.5.4 Unrecognized authentication type
C: AUTH PLAIN
S: 334 
C: *
S: 501 5.0.0 Authentication cancelled
C: AUTH PLAIN
S: 334 
C: AGFsaWNlAHNlY3JldA==
S: 235 2.7.0 Authentication successful
C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
S: 503 5.5.1 Error: already authenticated
C: MAIL FROM:<alice@example.com> AUTH=<>
S: 250 2.1.0 Ok
C: AUTH LOGIN
S: 503 5.5.1 Error: already authenticated
C: QUIT
S: 221 2.0.0 Bye
E: Auth PLAIN authzid=test authcid=test password=1234
E: Auth PLAIN authzid=- authcid=alice password=secret
E: MailFrom <alice@example.com> MailParams {{ size: None, body: None, smtputf8: false, ret: None, envid: None, auth: Some(\"<>\") }}
E: Reset"
    )
}

/// AUTH LOGIN on a submission service (RFC 4954 §6: 530 before AUTH).
fn rfc4954_login() -> String {
    format!(
        "S: 220 smtp.example.com ESMTP sansmail
C: EHLO client.example.com
S: 250-smtp.example.com{EHLO_TLS}
C: MAIL FROM:<alice@example.com>
S: 530 5.7.0 Authentication required
C: AUTH LOGIN
S: 334 VXNlcm5hbWU6
C: YWxpY2U=
S: 334 UGFzc3dvcmQ6
C: d3Jvbmc=
S: 535 5.7.8 Authentication credentials invalid
C: AUTH LOGIN YWxpY2U=
S: 334 UGFzc3dvcmQ6
C: c2VjcmV0
S: 235 2.7.0 Authentication successful
C: MAIL FROM:<alice@example.com>
S: 250 2.1.0 Ok
C: QUIT
S: 221 2.0.0 Bye
E: Auth LOGIN authzid=- authcid=alice password=wrong
E: Auth LOGIN authzid=- authcid=alice password=secret
E: MailFrom <alice@example.com>
E: Reset"
    )
}

/// RFC 2033 §4.2: LMTP, one reply per accepted recipient after DATA and
/// after BDAT LAST.
fn rfc2033_lmtp() -> String {
    "S: 220 foo.edu LMTP sansmail
C: EHLO foo.edu
S: 500 5.5.2 Error: command not recognized
C: LHLO foo.edu
S: 250-foo.edu
S: 250-PIPELINING
S: 250-SIZE 52428800
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-ENHANCEDSTATUSCODES
S: 250 CHUNKING
C: MAIL FROM:<chris@bar.com>
S: 250 2.1.0 Ok
C: RCPT TO:<pat@foo.edu>
S: 250 2.1.5 Ok
C: RCPT TO:<unknown@foo.edu>
S: 550 5.1.1 No such user here
C: RCPT TO:<full@foo.edu>
S: 250 2.1.5 Ok
C: DATA
S: 354 End data with <CR><LF>.<CR><LF>
C: Blah blah blah...
C: .
S: 250 2.0.0 <pat@foo.edu> Ok: delivered
S: 452 4.2.2 <full@foo.edu> Mailbox full
C: MAIL FROM:<chris@bar.com>
S: 250 2.1.0 Ok
C: RCPT TO:<pat@foo.edu>
S: 250 2.1.5 Ok
C: RCPT TO:<sam@foo.edu>
S: 250 2.1.5 Ok
C: BDAT 3 LAST
C: x
S: 250 2.0.0 <pat@foo.edu> Ok: delivered
S: 250 2.0.0 <sam@foo.edu> Ok: delivered
C: QUIT
S: 221 2.0.0 Bye
E: MailFrom <chris@bar.com>
E: RcptTo <pat@foo.edu>
E: RcptTo <unknown@foo.edu>
E: RcptTo <full@foo.edu>
E: DataStart
E: Body Blah blah blah...\\r\\n
E: DataEnd
E: MailFrom <chris@bar.com>
E: RcptTo <pat@foo.edu>
E: RcptTo <sam@foo.edu>
E: DataStart
E: Body x\\r\\n
E: DataEnd"
        .to_owned()
}

/// RFC 3207: STARTTLS, pipelined bytes after it discarded, state reset.
fn rfc3207_starttls() -> String {
    "S: 220 mx.example ESMTP sansmail
C: EHLO c.example
S: 250-mx.example
S: 250-PIPELINING
S: 250-SIZE 52428800
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-ENHANCEDSTATUSCODES
S: 250-CHUNKING
S: 250 STARTTLS
C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
S: 538 5.7.11 Encryption required for requested authentication mechanism
C: STARTTLS
C: RCPT TO:<evil@example.org>
S: 220 2.0.0 Ready to start TLS
E: SwitchTransport StartTls
--- TLS ---
C: MAIL FROM:<a@c.example>
S: 503 5.5.1 Error: send HELO/EHLO first
C: EHLO c.example
S: 250-mx.example
S: 250-PIPELINING
S: 250-SIZE 52428800
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-ENHANCEDSTATUSCODES
S: 250-CHUNKING
S: 250 AUTH PLAIN LOGIN
C: STARTTLS
S: 503 5.5.1 Error: TLS already active
C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
S: 235 2.7.0 Authentication successful
C: QUIT
S: 221 2.0.0 Bye
E: Auth PLAIN authzid=- authcid=alice password=secret"
        .to_owned()
}

/// RFC 5321 §4.2.4 / §4.3.2: out-of-sequence and malformed commands get
/// 5xx and the session continues.
fn rfc5321_errors() -> String {
    "S: 220 mx.example ESMTP sansmail
C: MAIL FROM:<a@b.example>
S: 503 5.5.1 Error: send HELO/EHLO first
C: RCPT TO:<a@b.example>
S: 503 5.5.1 Error: need MAIL command
C: DATA
S: 503 5.5.1 Error: need MAIL command
C: FOO bar
S: 500 5.5.2 Error: command not recognized
C: LHLO x
S: 500 5.5.2 Error: command not recognized
C: HELO client.example
S: 250 mx.example
C: AUTH PLAIN
S: 503 5.5.1 Error: send EHLO first
C: STARTTLS
S: 502 5.5.1 Error: STARTTLS not available
C: MAIL FROM:<a@b.example> FOO=1
S: 555 5.5.4 Unsupported parameter FOO
C: MAIL FROM:<a@b.example> SIZE=x
S: 501 5.5.4 Invalid parameter SIZE=x
C: MAIL FROM:a@b.example
S: 501 5.1.7 Bad sender address syntax
C: MAIL FROM:<a@b.example> SIZE=99999999999
S: 552 5.3.4 Message size exceeds fixed maximum message size
C: MAIL FROM:<a@b.example> BODY=BINARYMIME
S: 555 5.5.4 Unsupported parameter BODY=BINARYMIME
C: MAIL FROM:<reject@b.example>
S: 550 5.7.1 Sender rejected
C: RCPT TO:<x@y.example>
S: 503 5.5.1 Error: need MAIL command
C: mail from: <a@b.example>
S: 250 2.1.0 Ok
C: MAIL FROM:<a@b.example>
S: 503 5.5.1 Error: nested MAIL command
C: DATA
S: 554 5.5.1 Error: no valid recipients
C: RCPT TO:<bad>
S: 501 5.1.3 Bad recipient address syntax
C: RCPT TO:<用户@例子.广告>
S: 553 5.6.7 Non-ASCII address requires SMTPUTF8
C: RCPT TO:<later@y.example>
S: 450 4.2.1 Try again later
C: DATA extra
S: 501 5.5.4 Syntax: DATA takes no argument
C: EXPN list
S: 502 5.5.1 EXPN not supported
C: NOOP
S: 250 2.0.0 OK
C: HELP
S: 214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH
C: HELO again.example
S: 250 mx.example
C: QUIT
S: 221 2.0.0 Bye
E: MailFrom <reject@b.example>
E: MailFrom <a@b.example>
E: RcptTo <later@y.example>
E: Reset"
        .to_owned()
}

fn cases() -> Vec<(&'static str, ServerConfig, String)> {
    let tls = ServerConfig {
        tls_active: true,
        ..config("smtp.example.com")
    };
    let submission = ServerConfig {
        require_auth: true,
        ..tls.clone()
    };
    vec![
        ("rfc5321_d1", config("foo.com"), rfc5321_d1()),
        ("rfc5321_d2_d4", config("foo.com"), rfc5321_d2_d4()),
        (
            "rfc2920_pipelining",
            config("innosoft.com"),
            rfc2920_pipelining(),
        ),
        (
            "rfc3030_chunking",
            config("cnri.reston.va.us"),
            rfc3030_chunking(),
        ),
        ("rfc4954_plain", tls, rfc4954_plain()),
        ("rfc4954_login", submission, rfc4954_login()),
        (
            "rfc2033_lmtp",
            ServerConfig {
                mode: Mode::Lmtp,
                ..config("foo.edu")
            },
            rfc2033_lmtp(),
        ),
        (
            "rfc3207_starttls",
            ServerConfig {
                starttls: true,
                ..config("mx.example")
            },
            rfc3207_starttls(),
        ),
        ("rfc5321_errors", config("mx.example"), rfc5321_errors()),
    ]
}

#[test]
fn transcripts_fed_whole() {
    for (name, config, text) in cases() {
        let t = transcript(&text);
        let got = run(config, &whole(&t.segments));
        assert_eq!(got.output, t.output, "{name}: output");
        assert_eq!(got.events, t.events, "{name}: events");
        assert!(got.closed, "{name}: closed");
    }
}

#[test]
fn transcripts_split_at_every_byte_and_byte_by_byte() {
    for (name, config, text) in cases() {
        let t = transcript(&text);
        let want = run(config.clone(), &whole(&t.segments));
        let total: usize = t.segments.iter().map(Vec::len).sum();
        for cut in 0..=total {
            let got = run(config.clone(), &split(&t.segments, &[cut]));
            assert_eq!(got, want, "{name}: cut at {cut}");
        }
        assert_eq!(
            run(config, &bytewise(&t.segments)),
            want,
            "{name}: byte by byte"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn transcripts_split_anywhere(case in 0usize..9, cuts in proptest::collection::vec(0usize..4000, 0..40)) {
        let (name, config, text) = cases().swap_remove(case);
        let t = transcript(&text);
        let want = run(config.clone(), &whole(&t.segments));
        let got = run(config, &split(&t.segments, &cuts));
        prop_assert_eq!(got, want, "{}", name);
    }
}
