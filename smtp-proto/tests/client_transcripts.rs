//! Client transcripts: the server's replies ("S:") fed to the client
//! session whole, split at every byte, byte by byte and at random split
//! points (proptest); the client's output must be the "C:" lines and its
//! events the "E:" lines every time. "A:" lines are the adapter's answers
//! to `Ready`, in order; "B:" lines are the body (CRLF added) sent after
//! `SendBody`; "--- TLS ---" marks where the transport switches.

mod client_common;
mod common;

use client_common::{check_all_splits, run, script};
use common::split;
use proptest::prelude::*;
use smtp_proto::Mode;
use smtp_proto::client::ClientConfig;

const EHLO_FULL: &str = "S: 250-mx.example
S: 250-PIPELINING
S: 250-SIZE 1000000
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-ENHANCEDSTATUSCODES
S: 250 DSN";

fn cfg() -> ClientConfig {
    ClientConfig::new("client.example")
}

#[test]
fn pipelined_transaction_with_a_refused_recipient() {
    // RFC 2920 §3.2 shape: MAIL, RCPTs and DATA in one group.
    check_all_splits(
        cfg(),
        &format!(
            "S: 220 mx.example ESMTP
C: EHLO client.example
{EHLO_FULL}
E: Ready
A: MAIL <Smith@bar.com> <Jones@foo.com> <Green@foo.com> <Brown@foo.com>
C: MAIL FROM:<Smith@bar.com> SIZE=38
C: RCPT TO:<Jones@foo.com>
C: RCPT TO:<Green@foo.com>
C: RCPT TO:<Brown@foo.com>
C: DATA
S: 250 2.1.0 Ok
S: 250 2.1.5 Ok
E: Rcpt 0 250
S: 550 5.1.1 No such user here
E: Rcpt 1 550
S: 250 2.1.5 Ok
E: Rcpt 2 250
S: 354 End data with <CR><LF>.<CR><LF>
E: SendBody
B: Blah blah blah...
B: ...etc. etc. etc.
C: Blah blah blah...
C: ....etc. etc. etc.
C: .
S: 250 2.0.0 Ok: queued
E: Done delivered:250:2.0.0 permanent:550:5.1.1 delivered:250:2.0.0 dsn
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye"
        ),
    );
}

#[test]
fn without_pipelining_one_command_at_a_time_and_helo_fallback() {
    check_all_splits(
        cfg(),
        "S: 220 old.example SMTP
C: EHLO client.example
S: 500 Command unrecognized
C: HELO client.example
S: 250 old.example
E: Ready
A: MAIL <a@client.example> <x@old.example> <y@old.example>
C: MAIL FROM:<a@client.example>
S: 250 ok
C: RCPT TO:<x@old.example>
S: 450 try later
E: Rcpt 0 450
C: RCPT TO:<y@old.example>
S: 250 ok
E: Rcpt 1 250
C: DATA
S: 354 go
E: SendBody
B: .
C: ..
C: .
S: 250 accepted
E: Done temporary:450 delivered:250
E: Ready
A: MAIL <> <z@old.example>
C: MAIL FROM:<>
S: 250 ok
C: RCPT TO:<z@old.example>
S: 550 no
E: Rcpt 0 550
C: RSET
S: 250 ok
E: Done permanent:550
E: Ready
A: QUIT
C: QUIT
S: 221 bye",
    );
}

#[test]
fn starttls_then_auth_plain_and_login() {
    check_all_splits(
        cfg(),
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250-STARTTLS
S: 250 AUTH PLAIN LOGIN
E: Ready
A: STARTTLS
C: STARTTLS
S: 220 2.0.0 Ready to start TLS
S: 250 injected-after-220
E: SwitchTransport StartTls
--- TLS ---
C: EHLO client.example
S: 250-mx.example
S: 250 AUTH PLAIN LOGIN
E: Ready
A: AUTH PLAIN alice wrong
C: AUTH PLAIN AGFsaWNlAHdyb25n
S: 535 5.7.8 Authentication credentials invalid
E: Refused AUTH 535
E: Ready
A: AUTH LOGIN alice secret
C: AUTH LOGIN
S: 334 VXNlcm5hbWU6
C: YWxpY2U=
S: 334 UGFzc3dvcmQ6
C: c2VjcmV0
S: 235 2.7.0 Authentication successful
E: Authenticated
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye",
    );
}

#[test]
fn refused_starttls_leaves_the_session_usable() {
    check_all_splits(
        cfg(),
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250 STARTTLS
E: Ready
A: STARTTLS
C: STARTTLS
S: 454 4.7.0 TLS not available due to temporary reason
E: Refused STARTTLS 454
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye",
    );
}

#[test]
fn chunking_pipelined_in_several_chunks() {
    let mut config = cfg();
    config.limits.bdat_chunk_size = 10;
    check_all_splits(
        config,
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250-PIPELINING
S: 250-8BITMIME
S: 250 CHUNKING
E: Ready
A: MAIL <a@c> <b@mx> 8bit
C: MAIL FROM:<a@c> BODY=8BITMIME
C: RCPT TO:<b@mx>
S: 250 2.1.0 Ok
S: 250 2.1.5 Ok
E: Rcpt 0 250
E: SendBody
B: 0123456789abcd
B: .x
C: BDAT 10
C: 0123456789BDAT 10
C: abcd
C: .x
C: BDAT 0 LAST
S: 250 2.0.0 10 octets received
S: 250 2.0.0 10 octets received
S: 250 2.0.0 Ok: queued
E: Done delivered:250:2.0.0
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye",
    );
}

#[test]
fn chunking_without_pipelining_waits_for_each_chunk() {
    let mut config = cfg();
    config.limits.bdat_chunk_size = 8;
    check_all_splits(
        config,
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250 CHUNKING
E: Ready
A: MAIL <a@c> <b@mx>
C: MAIL FROM:<a@c>
S: 250 2.1.0 Ok
C: RCPT TO:<b@mx>
S: 250 2.1.5 Ok
E: Rcpt 0 250
E: SendBody
B: 0123456789
C: BDAT 8
C: 01234567BDAT 4 LAST
C: 89
S: 250 2.0.0 8 octets received
S: 554 5.6.0 Rejected
E: Done permanent:554:5.6.0
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye",
    );
}

#[test]
fn a_refused_chunk_stops_the_body() {
    let mut config = cfg();
    config.limits.bdat_chunk_size = 4;
    check_all_splits(
        config,
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250 CHUNKING
E: Ready
A: MAIL <a@c> <b@mx>
C: MAIL FROM:<a@c>
S: 250 2.1.0 Ok
C: RCPT TO:<b@mx>
S: 250 2.1.5 Ok
E: Rcpt 0 250
E: SendBody
B: 0123456789
C: BDAT 4
C: 0123RSET
S: 452 4.3.1 Insufficient system storage
S: 250 2.0.0 Ok
E: Done temporary:452:4.3.1
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye",
    );
}

#[test]
fn lmtp_gives_one_reply_per_accepted_recipient() {
    let mut config = cfg();
    config.mode = Mode::Lmtp;
    check_all_splits(
        config,
        "S: 220 lmtp.example LMTP
C: LHLO client.example
S: 250-lmtp.example
S: 250-PIPELINING
S: 250 ENHANCEDSTATUSCODES
E: Ready
A: MAIL <a@c> <one@l> <nobody@l> <full@l> <two@l>
C: MAIL FROM:<a@c>
C: RCPT TO:<one@l>
C: RCPT TO:<nobody@l>
C: RCPT TO:<full@l>
C: RCPT TO:<two@l>
C: DATA
S: 250 2.1.0 Ok
S: 250 2.1.5 Ok
E: Rcpt 0 250
S: 550 5.1.1 No such user
E: Rcpt 1 550
S: 250 2.1.5 Ok
E: Rcpt 2 250
S: 250 2.1.5 Ok
E: Rcpt 3 250
S: 354 go
E: SendBody
B: hi
C: hi
C: .
S: 250 2.0.0 <one@l> delivered
S: 452 4.2.2 <full@l> Mailbox full
S: 250 2.0.0 <two@l> delivered
E: Done delivered:250:2.0.0 permanent:550:5.1.1 temporary:452:4.2.2 delivered:250:2.0.0
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye",
    );
}

#[test]
fn dsn_smtputf8_and_size_parameters_when_offered() {
    check_all_splits(
        cfg(),
        &format!(
            "S: 220 mx.example ESMTP
C: EHLO client.example
{EHLO_FULL}
E: Ready
A: MAIL <用户@例子.广告> <b@mx> 8bit dsn
C: MAIL FROM:<用户@例子.广告> SIZE=5 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+20314
C: RCPT TO:<b@mx> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@mx
C: DATA
S: 250 2.1.0 Ok
S: 250 2.1.5 Ok
E: Rcpt 0 250
S: 354 go
E: SendBody
B: hé
C: hé
C: .
S: 250 2.0.0 Ok
E: Done delivered:250:2.0.0 dsn
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye"
        ),
    );
}

#[test]
fn requirements_the_server_cannot_meet_fail_without_mail() {
    // No 8BITMIME, no SMTPUTF8, SIZE 100, no DSN: parameters are dropped.
    check_all_splits(
        cfg(),
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250-PIPELINING
S: 250 SIZE 100
E: Ready
A: MAIL <a@c> <b@mx> <c@mx> 8bit
E: Done permanent:554:5.6.3 permanent:554:5.6.3
E: Ready
A: MAIL <a@c> <ü@mx>
E: Done permanent:553:5.6.7
E: Ready
A: MAIL <a@c> <b@mx> utf8
E: Done permanent:553:5.6.7
E: Ready
A: MAIL <a@c> <b@mx> size=101
E: Done permanent:552:5.3.4
E: Ready
A: MAIL <a@c> <b@mx> binary
E: Done permanent:554:5.6.3
E: Ready
A: MAIL <a@c> <b@mx> dsn
C: MAIL FROM:<a@c> SIZE=4
C: RCPT TO:<b@mx>
C: DATA
S: 250 ok
S: 250 ok
E: Rcpt 0 250
S: 354 go
E: SendBody
B: hi
C: hi
C: .
S: 250 ok
E: Done delivered:250
E: Ready
A: QUIT
C: QUIT
S: 221 bye",
    );
}

#[test]
fn refused_mail_from_is_every_recipients_outcome() {
    check_all_splits(
        cfg(),
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250 PIPELINING
E: Ready
A: MAIL <spam@c> <b@mx> <c@mx>
C: MAIL FROM:<spam@c>
C: RCPT TO:<b@mx>
C: RCPT TO:<c@mx>
C: DATA
S: 550 5.7.1 Sender rejected
S: 503 5.5.1 Error: need MAIL command
E: Rcpt 0 503
S: 503 5.5.1 Error: need MAIL command
E: Rcpt 1 503
S: 503 5.5.1 Error: need MAIL command
E: Done permanent:550:5.7.1 permanent:550:5.7.1
E: Ready
A: MAIL <a@c> <x@mx>
C: MAIL FROM:<a@c>
C: RCPT TO:<x@mx>
C: DATA
S: 250 ok
S: 550 5.1.1 unknown
E: Rcpt 0 550
S: 554 5.5.1 Error: no valid recipients
C: RSET
S: 250 ok
E: Done permanent:550:5.1.1
E: Ready
A: QUIT
C: QUIT
S: 221 bye",
    );
}

#[test]
fn greeting_refused_sends_quit_and_fails() {
    check_all_splits(
        cfg(),
        "S: 554 5.3.2 No SMTP service here
C: QUIT
E: Failed Refused(Greeting, Reply { code: 554, enhanced: Some(EnhancedCode { class: 5, subject: 3, detail: 2 }), lines: [\"No SMTP service here\"] })",
    );
}

#[test]
fn service_closing_mid_transaction_is_temporary_for_open_recipients() {
    check_all_splits(
        cfg(),
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250 PIPELINING
E: Ready
A: MAIL <a@c> <b@mx> <bad@mx>
C: MAIL FROM:<a@c>
C: RCPT TO:<b@mx>
C: RCPT TO:<bad@mx>
C: DATA
S: 250 ok
S: 250 ok
E: Rcpt 0 250
S: 550 5.1.1 unknown
E: Rcpt 1 550
S: 421 4.3.2 Shutting down
E: Done temporary:421:4.3.2 permanent:550:5.1.1
E: Failed ServiceClosing(Reply { code: 421, enhanced: Some(EnhancedCode { class: 4, subject: 3, detail: 2 }), lines: [\"Shutting down\"] })",
    );
}

#[test]
fn connection_lost_mid_data_is_temporary() {
    check_all_splits(
        cfg(),
        "S: 220 mx.example ESMTP
C: EHLO client.example
S: 250-mx.example
S: 250 PIPELINING
E: Ready
A: MAIL <a@c> <b@mx>
C: MAIL FROM:<a@c>
C: RCPT TO:<b@mx>
C: DATA
S: 250 ok
S: 250 ok
E: Rcpt 0 250
S: 354 go
E: SendBody
B: some body
C: some body
C: .
E: Done temporary:451:4.4.2
E: Failed ConnectionClosed(DataEnd)",
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_split_points_give_the_same_run(cuts in proptest::collection::vec(0usize..400, 0..6), piece in 1usize..20) {
        let text = format!(
            "S: 220 mx.example ESMTP
C: EHLO client.example
{EHLO_FULL}
E: Ready
A: MAIL <Smith@bar.com> <Jones@foo.com> <Green@foo.com>
C: MAIL FROM:<Smith@bar.com> SIZE=9
C: RCPT TO:<Jones@foo.com>
C: RCPT TO:<Green@foo.com>
C: DATA
S: 250 2.1.0 Ok
S: 250 2.1.5 Ok
E: Rcpt 0 250
S: 550 5.1.1 No
E: Rcpt 1 550
S: 354 go
E: SendBody
B: .a
B: ..b
C: ..a
C: ...b
C: .
S: 250 2.0.0 Ok
E: Done delivered:250:2.0.0 permanent:550:5.1.1 dsn
E: Ready
A: QUIT
C: QUIT
S: 221 2.0.0 Bye");
        let s = script(&text);
        let got = run(&cfg(), &s, &split(&s.segments, &cuts), piece);
        prop_assert_eq!(got, (s.output.clone(), s.events.clone()));
    }
}
