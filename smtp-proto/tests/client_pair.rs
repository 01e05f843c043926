//! The client session against the server session, in memory (quinn-proto's
//! `Pair`): bytes move both ways until both are quiet; STARTTLS is a switch
//! on both sides; the server answers with the canned policy of
//! `common::Adapter` (Green*/unknown 550, *later* 450, LMTP *full* 452,
//! alice/secret authenticates).

mod common;

use std::time::Instant;

use bytes::BytesMut;
use common::Adapter;
use smtp_proto::client::{
    Action, ClientConfig, ClientEvent, ClientSession, Credentials, Envelope, Outcome, Recipient,
    TransactionResult,
};
use smtp_proto::{BodyType, Mechanism, Mode, Secret, ServerConfig, ServerSession};

/// What the client does when it is `Ready`, in order.
struct Plan {
    actions: Vec<Action>,
    body: Vec<u8>,
    /// Body bytes offered per `send_body` call.
    piece: usize,
}

struct PairRun {
    results: Vec<TransactionResult>,
    client_events: Vec<String>,
    server_events: Vec<String>,
    tls: bool,
    authenticated: bool,
}

fn pair(client_config: ClientConfig, server_config: ServerConfig, plan: Plan) -> PairRun {
    let now = Instant::now();
    let mut client = ClientSession::new(client_config, now);
    let mut server = ServerSession::new(server_config, now);
    let mut adapter = Adapter::default();
    let mut to_server = BytesMut::new();
    let mut to_client = BytesMut::new();
    let mut actions = plan.actions.into_iter();
    let mut body: Option<&[u8]> = None;
    let mut run = PairRun {
        results: Vec::new(),
        client_events: Vec::new(),
        server_events: Vec::new(),
        tls: false,
        authenticated: false,
    };
    for _ in 0..1_000_000 {
        let mut progressed = adapter.drain(&mut server, &mut to_client, now);
        while client.poll_transmit(&mut to_server) {
            progressed = true;
        }
        while let Some(event) = client.poll_event(now) {
            progressed = true;
            run.client_events.push(format!("{event:?}"));
            match event {
                ClientEvent::Ready { id } => {
                    run.tls |= client.tls_active();
                    run.authenticated |= client.is_authenticated();
                    let action = actions.next().unwrap_or(Action::Quit);
                    client.respond(id, action).expect("Ready is pending");
                    // Credentials (queued as an AUTH response) never show
                    // in the session's Debug output.
                    let dump = format!("{client:?}");
                    assert!(
                        !dump.contains("secret") && !dump.contains("AGFsaWNlAHNlY3JldA"),
                        "{dump}"
                    );
                }
                ClientEvent::SwitchTransport { .. } => client.transport_switched(now),
                ClientEvent::SendBody => body = Some(&plan.body),
                ClientEvent::TransactionDone(result) => run.results.push(result),
                _ => {}
            }
        }
        if let Some(rest) = body.as_mut()
            && client.wants_body()
        {
            if rest.is_empty() {
                assert!(client.end_body());
                body = None;
                progressed = true;
            } else {
                let used = client.send_body(&rest[..rest.len().min(plan.piece)]);
                *rest = &rest[used..];
                progressed |= used > 0;
            }
        }
        let used = server.feed(&to_server);
        let _ = to_server.split_to(used);
        progressed |= used > 0;
        let used = client.feed(&to_client);
        let _ = to_client.split_to(used);
        progressed |= used > 0;
        if client.is_closed() && server.is_closed() {
            run.server_events = adapter.events;
            return run;
        }
        assert!(progressed, "pair stuck: {:?}", run.client_events);
    }
    panic!("pair did not finish: {:?}", run.client_events);
}

fn server_config() -> ServerConfig {
    ServerConfig {
        starttls: true,
        ..ServerConfig::new("mx.example")
    }
}

fn envelope(recipients: &[&str], body: &[u8]) -> Envelope {
    Envelope::new(
        Some("sender@client.example".into()),
        recipients.iter().map(|r| Recipient::new(*r)).collect(),
        body.len() as u64,
    )
}

fn kinds(result: &TransactionResult) -> Vec<String> {
    result
        .outcomes
        .iter()
        .map(|o| match o {
            Outcome::Delivered(r) => format!("delivered {}", r.code),
            Outcome::Temporary(r) => format!("temporary {}", r.code),
            Outcome::Permanent(r) => format!("permanent {}", r.code),
        })
        .collect()
}

/// The body the server handed to its adapter, from its event log.
fn server_body(events: &[String]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e.strip_prefix("Body ").map(str::to_owned))
        .collect()
}

fn body_of(size: usize) -> Vec<u8> {
    let mut body = b"Subject: pair\r\n\r\n".to_vec();
    let mut i = 0;
    while body.len() < size {
        // Lines that start with dots, to exercise stuffing and unstuffing.
        body.extend_from_slice(format!(".{i} {}\r\n", ".".repeat(i % 7)).as_bytes());
        i += 1;
    }
    body
}

#[test]
fn starttls_auth_and_a_pipelined_transaction_with_data_and_with_bdat() {
    let body = body_of(3000);
    for chunking in [false, true] {
        let mut config = ClientConfig::new("client.example");
        config.chunking = chunking;
        config.limits.bdat_chunk_size = 1000;
        let plan = Plan {
            actions: vec![
                Action::StartTls,
                Action::Auth(Credentials {
                    mechanism: Mechanism::Plain,
                    username: "alice".into(),
                    password: Secret::new("secret".into()),
                }),
                Action::Mail(envelope(
                    &[
                        "a@mx.example",
                        "Green@mx.example",
                        "later@mx.example",
                        "b@mx.example",
                    ],
                    &body,
                )),
            ],
            body: body.clone(),
            piece: 333,
        };
        let run = pair(config, server_config(), plan);
        assert!(run.tls && run.authenticated, "chunking={chunking}");
        assert_eq!(run.results.len(), 1);
        assert_eq!(
            kinds(&run.results[0]),
            [
                "delivered 250",
                "permanent 550",
                "temporary 450",
                "delivered 250"
            ],
            "chunking={chunking}"
        );
        assert_eq!(
            server_body(&run.server_events),
            [String::from_utf8(body.clone()).unwrap()],
            "chunking={chunking}"
        );
        assert!(
            run.server_events
                .iter()
                .any(|e| e == "Auth PLAIN authzid=- authcid=alice password=secret")
        );
        assert!(
            run.server_events
                .iter()
                .any(|e| e == "SwitchTransport StartTls"),
            "{:?}",
            run.server_events
        );
    }
}

#[test]
fn a_large_body_streams_with_backpressure_and_arrives_whole() {
    let body = body_of(300_000);
    for chunking in [false, true] {
        let mut config = ClientConfig::new("client.example");
        config.chunking = chunking;
        config.limits.max_pending_output = 4096;
        config.limits.bdat_chunk_size = 8192;
        let plan = Plan {
            actions: vec![Action::Mail(envelope(&["a@mx.example"], &body))],
            body: body.clone(),
            piece: 10_000,
        };
        let run = pair(config, server_config(), plan);
        assert_eq!(kinds(&run.results[0]), ["delivered 250"]);
        let got = server_body(&run.server_events).concat();
        assert_eq!(got.len(), body.len(), "chunking={chunking}");
        assert!(got.as_bytes() == body, "chunking={chunking}");
    }
}

#[test]
fn auth_login_and_a_refused_password() {
    let login = |password: &str| {
        Action::Auth(Credentials {
            mechanism: Mechanism::Login,
            username: "alice".into(),
            password: Secret::new(password.into()),
        })
    };
    let plan = Plan {
        actions: vec![Action::StartTls, login("wrong"), login("secret")],
        body: Vec::new(),
        piece: 1,
    };
    let run = pair(ClientConfig::new("client.example"), server_config(), plan);
    assert!(run.authenticated);
    let refused = run
        .client_events
        .iter()
        .filter(|e| e.starts_with("Refused { stage: Auth"))
        .count();
    assert_eq!(refused, 1, "{:?}", run.client_events);
}

#[test]
fn lmtp_per_recipient_replies_after_data() {
    for chunking in [false, true] {
        let mut config = ClientConfig::new("client.example");
        config.mode = Mode::Lmtp;
        config.chunking = chunking;
        let server = ServerConfig {
            mode: Mode::Lmtp,
            ..ServerConfig::new("lmtp.example")
        };
        let body = b"Subject: lmtp\r\n\r\nhello\r\n".to_vec();
        let plan = Plan {
            actions: vec![Action::Mail(envelope(
                &["one@l", "unknown@l", "full@l", "two@l"],
                &body,
            ))],
            body: body.clone(),
            piece: 7,
        };
        let run = pair(config, server, plan);
        assert_eq!(
            kinds(&run.results[0]),
            [
                "delivered 250",
                "permanent 550",
                "temporary 452",
                "delivered 250"
            ],
            "chunking={chunking}"
        );
        assert_eq!(
            server_body(&run.server_events),
            ["Subject: lmtp\r\n\r\nhello\r\n"]
        );
    }
}

#[test]
fn eight_bit_and_smtputf8_go_through_to_a_server_that_offers_them() {
    let body = "Subject: caf\u{e9}\r\n\r\n\u{fc}ber\r\n"
        .as_bytes()
        .to_vec();
    let mut env = envelope(&["用户@mx.example"], &body);
    env.body = BodyType::EightBitMime;
    let plan = Plan {
        actions: vec![Action::Mail(env.clone()), Action::Mail(env)],
        body: body.clone(),
        piece: 5,
    };
    let run = pair(ClientConfig::new("client.example"), server_config(), plan);
    assert_eq!(run.results.len(), 2);
    for result in &run.results {
        assert_eq!(kinds(result), ["delivered 250"]);
    }
    assert!(
        run.server_events
            .iter()
            .any(|e| e.starts_with("MailFrom <sender@client.example>")
                && e.contains("smtputf8: true")
                && e.contains("EightBitMime")),
        "{:?}",
        run.server_events
    );
}
