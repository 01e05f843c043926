//! The HTTP API from Python's urllib (tests/interop/http_client.py), with
//! mail delivered by smtplib: the long-poll answers within 100 ms of a
//! delivery and after `wait` seconds with nothing; SSE sends one event per
//! message; /metrics parses with prometheus_client's parsers and moves;
//! /openapi.json validates with openapi-spec-validator and lists exactly
//! the routes served.

mod common;

use std::collections::BTreeMap;

use common::*;

fn run_py(site: &Site, args: &[&str]) -> BTreeMap<String, String> {
    require("python3");
    let token = std::fs::read_to_string(site.data_dir().join("api-token")).unwrap_or_default();
    let out = std::process::Command::new("python3")
        .arg(interop_dir().join("http_client.py"))
        .args(args)
        .env("SANSMAIL_TOKEN", token.trim())
        .env("PYTHONIOENCODING", "utf-8")
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "http_client.py {args:?}: {}",
        describe(&out)
    );
    results(&String::from_utf8_lossy(&out.stdout))
}

fn num(r: &BTreeMap<String, String>, key: &str) -> f64 {
    r.get(key)
        .unwrap_or_else(|| panic!("{key} not in {r:?}"))
        .parse()
        .unwrap()
}

fn start() -> (Site, Server) {
    let site = Site::new(Opts {
        listeners: vec!["smtp", "http"],
        ..Opts::default()
    });
    site.user_add("alice@localhost", "pw");
    let server = site.start();
    (site, server)
}

#[test]
fn long_poll_wakes_on_delivery_and_times_out() {
    let (site, server) = start();
    let base = format!("http://{}", server.addr("http"));
    let smtp = server.addr("smtp");
    let r = run_py(
        &site,
        &[
            "longpoll",
            &base,
            &smtp.ip().to_string(),
            &smtp.port().to_string(),
        ],
    );
    assert_eq!(r["empty_status"], "200");
    assert_eq!(r["empty_total"], "0");
    let empty: u64 = r["empty_elapsed_ms"].parse().unwrap();
    assert!(
        (1000..1500).contains(&empty),
        "wait=1 answered after {empty} ms"
    );
    assert_eq!(r["poll_status"], "200");
    assert_eq!(r["poll_total"], "1");
    assert_eq!(r["poll_subject"], "longpoll one");
    // Negative when the long-poll answer was read before smtplib returned
    // from the 250 (the delivery is published as it is acknowledged).
    let latency: i64 = r["poll_latency_ms"].parse().unwrap();
    assert!(
        latency < 100,
        "long-poll answered {latency} ms after the 250"
    );
    assert_eq!(r["count_waiting"], "1");
    assert_eq!(
        r["count_still_waiting"], "1",
        "count=3 answered at 2 matches"
    );
    assert_eq!(r["count_total"], "3");
    assert_eq!(r["count_elapsed_ok"], "1");
}

#[test]
fn sse_event_per_message() {
    let (site, server) = start();
    let base = format!("http://{}", server.addr("http"));
    let smtp = server.addr("smtp");
    let r = run_py(
        &site,
        &[
            "sse",
            &base,
            &smtp.ip().to_string(),
            &smtp.port().to_string(),
            "5",
        ],
    );
    assert_eq!(r["sse_status"], "200");
    assert_eq!(r["sse_content_type"], "text/event-stream");
    assert_eq!(r["sse_events"], "5");
    assert_eq!(r["sse_subjects"], "sse 0,sse 1,sse 2,sse 3,sse 4");
}

#[test]
fn metrics_parse_and_move() {
    let (site, server) = start();
    let base = format!("http://{}", server.addr("http"));
    let before = run_py(&site, &["metrics", &base]);
    assert_eq!(before["metrics_status"], "200");
    assert_eq!(before["om_families"], "8");
    assert_eq!(
        num(&before, "sansmail_messages_received_total{listener=smtp}"),
        0.0
    );
    assert_eq!(num(&before, "sansmail_queue_size{}"), 0.0);
    let mut smtp = RawSmtp::connect_ehlo(server.addr("smtp")).0;
    for i in 0..3 {
        let r = smtp
            .send_mail(
                "m@example.test",
                "alice@localhost",
                format!("Subject: m{i}\r\n\r\nx\r\n").as_bytes(),
            )
            .unwrap();
        assert_eq!(r.0, 250);
    }
    let r = smtp
        .send_mail(
            "m@example.test",
            "ghost@localhost",
            b"Subject: x\r\n\r\nx\r\n",
        )
        .unwrap();
    assert_eq!(r.0, 550, "{r:?}");
    drop(smtp);
    let after = run_py(&site, &["metrics", &base]);
    assert_eq!(
        num(&after, "sansmail_messages_received_total{listener=smtp}"),
        3.0
    );
    assert_eq!(
        num(&after, "sansmail_messages_delivered_total{listener=smtp}"),
        3.0
    );
    assert_eq!(
        num(&after, "sansmail_delivery_duration_seconds_count{}"),
        3.0
    );
    assert!(
        after["sansmail_sessions_total{protocol=smtp}"]
            .parse::<f64>()
            .unwrap()
            >= 1.0
    );
    assert!(
        after["sansmail_sessions_total{protocol=http}"]
            .parse::<f64>()
            .unwrap()
            >= 2.0
    );
}

#[test]
fn openapi_validates_and_lists_every_route() {
    let (site, server) = start();
    let base = format!("http://{}", server.addr("http"));
    let r = run_py(&site, &["openapi", &base]);
    assert_eq!(r["openapi_valid"], "1");
    // Every documented route is served ...
    for (k, v) in &r {
        if k.starts_with("served ") {
            assert_eq!(v, "1", "{k}");
        }
    }
    // ... and every route served is documented (the set the issue names).
    let expected = [
        "DELETE /api/v1/messages",
        "DELETE /api/v1/messages/{id}",
        "DELETE /api/v1/queue/{id}",
        "DELETE /api/v1/users/{address}",
        "GET /api/v1/events",
        "GET /api/v1/mailboxes",
        "GET /api/v1/messages",
        "GET /api/v1/messages/{id}",
        "GET /api/v1/messages/{id}/html",
        "GET /api/v1/messages/{id}/parts/{part}",
        "GET /api/v1/messages/{id}/raw",
        "GET /api/v1/queue",
        "GET /api/v1/users",
        "GET /healthz",
        "GET /metrics",
        "GET /openapi.json",
        "PATCH /api/v1/messages/{id}",
        "POST /api/v1/messages",
        "POST /api/v1/queue/{id}/retry",
        "POST /api/v1/reset",
        "POST /api/v1/send",
        "POST /api/v1/users",
    ];
    assert_eq!(r["routes"], expected.join("|"));
    let api = Api::new(&site, &server);
    // A route not in the document is not served.
    api.get("/api/v1/folders").assert_error(404);
}
