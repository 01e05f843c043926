//! The HTTP API (docs/DESIGN.md §5.5) against the real binary, over real HTTP
//! with curl: token auth, every endpoint's status codes and JSON fields,
//! byte-exact injection, filters, bad input.

mod common;

use common::*;
use serde_json::{Value, json};

fn http_site(extra: &str) -> Site {
    Site::new(Opts {
        listeners: vec!["smtp", "http"],
        extra: extra.to_owned(),
        ..Opts::default()
    })
}

const PLAIN: &[u8] = b"From: Sender <sender@example.test>\r\nTo: alice@localhost\r\nSubject: Plain one\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <p1@example.test>\r\n\r\nHello Alice.\r\n";

/// multipart/mixed with text, html and a base64 attachment of 11 bytes.
const MULTI: &[u8] = b"From: bob@example.test\r\nTo: alice@localhost, Carol <carol@example.test>\r\nCc: dave@example.test\r\nSubject: =?utf-8?q?R=C3=A9sum=C3=A9?= attached\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain body\r\n--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html body</p>\r\n--b2--\r\n--b1\r\nContent-Type: application/pdf; name=\"cv.pdf\"\r\nContent-Disposition: attachment; filename=\"cv.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJeI=\r\n--b1--\r\n";

#[test]
fn token_auth_none_wrong_right_and_open_endpoints() {
    let site = http_site("");
    let server = site.start();
    let api = Api::new(&site, &server);
    let token = api.token.clone().expect("data_dir/api-token was generated");
    assert_eq!(token.len(), 64, "{token}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(site.data_dir().join("api-token"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // No token, wrong token: 401 with a JSON error and a Bearer challenge.
    for client in [api.with_token(None), api.with_token(Some("wrong"))] {
        let r = client.get("/api/v1/users");
        r.assert_error(401);
        for path in ["/api/v1/messages", "/api/v1/events", "/api/v1/queue"] {
            client.get(path).assert_error(401);
        }
        client
            .request("POST", "/api/v1/reset", None)
            .assert_error(401);
        assert!(
            r.headers.contains("www-authenticate: bearer"),
            "{}",
            r.headers
        );
        // healthz, metrics and openapi.json need no token.
        let h = client.get("/healthz");
        assert_eq!((h.status, h.text().as_str()), (200, "ok"));
        assert_eq!(client.get("/metrics").status, 200);
        assert_eq!(client.get("/openapi.json").json()["openapi"], "3.0.3");
    }
    let r = api.get("/api/v1/users");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"users": []}));

    // The token survives a restart unchanged.
    drop(server);
    let server = site.start();
    let again = Api::new(&site, &server);
    assert_eq!(again.token.as_deref(), Some(token.as_str()));
    assert_eq!(again.get("/api/v1/users").status, 200);

    // `/` is left for the web UI; unknown paths and methods are JSON errors.
    // `/` is the web UI (no token needed; it asks for a login itself).
    let ui = again.get("/");
    assert_eq!(ui.status, 200, "{ui:?}");
    assert!(ui.headers.contains("content-type: text/html"), "{ui:?}");
    assert!(ui.text().contains("<title>sansmail</title>"), "{ui:?}");
    again.get("/no-such-page").assert_error(404);
    again.get("/api/v1/nothing").assert_error(404);
    let r = again.request("PUT", "/healthz", None);
    r.assert_error(405);
    assert!(r.headers.contains("allow: get"), "{}", r.headers);
}

#[test]
fn configured_token_and_auth_none() {
    let site = http_site("");
    http_keys(&site, "token = \"s3cret\"");
    let server = site.start();
    let api = Api::new(&site, &server).with_token(Some("s3cret"));
    assert!(!site.data_dir().join("api-token").exists());
    assert_eq!(api.get("/api/v1/users").status, 200);
    api.with_token(Some("s3cret-not"))
        .get("/api/v1/users")
        .assert_error(401);
    drop(server);

    let site = http_site("");
    http_keys(&site, "auth = \"none\"");
    let server = site.start();
    let api = Api::new(&site, &server).with_token(None);
    assert_eq!(api.get("/api/v1/users").status, 200);
    assert!(!site.data_dir().join("api-token").exists());
}

#[test]
fn users_endpoints() {
    let site = http_site("");
    let server = site.start();
    let api = Api::new(&site, &server);
    let r = api.post_json(
        "/api/v1/users",
        &json!({"address": "alice@localhost", "password": "pw one"}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json(), json!({"address": "alice@localhost"}));
    api.post_json(
        "/api/v1/users",
        &json!({"address": "alice@localhost", "password": "x"}),
    )
    .assert_error(409);
    api.post_json("/api/v1/users", &json!({"address": "bad", "password": "x"}))
        .assert_error(400);
    api.post_json("/api/v1/users", &json!({"address": "b@localhost"}))
        .assert_error(400);
    api.request(
        "POST",
        "/api/v1/users",
        Some(("application/json", b"{\"address\": ")),
    )
    .assert_error(400);
    assert_eq!(
        api.get("/api/v1/users").json(),
        json!({"users": [{"address": "alice@localhost"}]})
    );
    // The CLI sees the account the API made, with its password.
    let out = site.run(&["user", "list"], "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "alice@localhost\n");
    assert_eq!(api.delete("/api/v1/users/alice%40localhost").status, 204);
    api.delete("/api/v1/users/alice%40localhost")
        .assert_error(404);
    assert_eq!(api.get("/api/v1/users").json(), json!({"users": []}));
}

#[test]
fn inject_detail_raw_parts_delete() {
    let site = http_site("");
    site.user_add("alice@localhost", "pw");
    let server = site.start();
    let api = Api::new(&site, &server);

    let plain = api.inject("alice@localhost", PLAIN);
    let multi = api.inject("alice@localhost", MULTI);
    assert_ne!(plain, multi);

    // Raw: the exact bytes posted, no Return-Path:, no Received:.
    let r = api.get(&format!("/api/v1/messages/{plain}/raw"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, PLAIN);
    assert!(
        r.headers.contains("content-type: message/rfc822"),
        "{}",
        r.headers
    );
    assert_eq!(
        api.get(&format!("/api/v1/messages/{multi}/raw")).body,
        MULTI
    );
    // The Maildir file holds the same bytes.
    let files = site.inbox("alice@localhost");
    assert!(files.iter().any(|(_, b)| b == PLAIN), "{files:?}");

    let d = api.get(&format!("/api/v1/messages/{plain}"));
    assert_eq!(d.status, 200);
    let d = d.json();
    assert_eq!(d["id"], plain.as_str());
    assert_eq!(d["user"], "alice@localhost");
    assert_eq!(d["mailbox"], "INBOX");
    assert_eq!(d["uid"], 1);
    assert_eq!(d["from"], "sender@example.test");
    assert_eq!(d["to"], json!(["alice@localhost"]));
    assert_eq!(d["subject"], "Plain one");
    assert_eq!(d["date"], "2024-01-01T10:00:00Z");
    assert_eq!(d["size"], PLAIN.len());
    assert_eq!(d["flags"], json!([]));
    assert!(d["received"].as_str().unwrap().ends_with('Z'), "{d}");
    assert_eq!(d["text"], "Hello Alice.\r\n");
    assert_eq!(d["html"], Value::Null);
    assert_eq!(d["attachments"], json!([]));
    assert_eq!(
        d["headers"][2],
        json!(["Subject", "Plain one"]),
        "{}",
        d["headers"]
    );
    assert_eq!(d["headers"].as_array().unwrap().len(), 5);

    let m = api.get(&format!("/api/v1/messages/{multi}")).json();
    assert_eq!(m["subject"], "Résumé attached");
    assert_eq!(
        m["to"],
        json!(["alice@localhost", "carol@example.test", "dave@example.test"])
    );
    assert_eq!(m["text"], "plain body");
    assert_eq!(m["html"], "<p>html body</p>");
    let att = &m["attachments"];
    assert_eq!(att.as_array().unwrap().len(), 1, "{att}");
    assert_eq!(att[0]["filename"], "cv.pdf");
    assert_eq!(att[0]["content_type"], "application/pdf");
    // Decoded size: "JVBERi0xLjQKJeI=" is 11 bytes.
    assert_eq!(att[0]["size"], 11);
    let part = att[0]["part"].as_str().unwrap();
    let p = api.get(&format!("/api/v1/messages/{multi}/parts/{part}"));
    assert_eq!(p.status, 200);
    assert_eq!(p.body, b"%PDF-1.4\n%\xe2");
    assert!(
        p.headers.contains("content-type: application/pdf"),
        "{}",
        p.headers
    );
    assert!(
        p.headers
            .contains("content-disposition: attachment; filename=\"cv.pdf\""),
        "{}",
        p.headers
    );
    api.get(&format!("/api/v1/messages/{multi}/parts/99"))
        .assert_error(404);
    api.get(&format!("/api/v1/messages/{multi}/parts/x"))
        .assert_error(404);

    // Unknown and malformed ids.
    for bad in ["nope", "YQ", "YUBsb2NhbGhvc3QKSU5CT1gKMQo5OTk"] {
        api.get(&format!("/api/v1/messages/{bad}"))
            .assert_error(404);
        api.get(&format!("/api/v1/messages/{bad}/raw"))
            .assert_error(404);
        api.delete(&format!("/api/v1/messages/{bad}"))
            .assert_error(404);
    }

    // Delete: 204, then the id is gone everywhere.
    assert_eq!(api.delete(&format!("/api/v1/messages/{plain}")).status, 204);
    api.get(&format!("/api/v1/messages/{plain}"))
        .assert_error(404);
    api.delete(&format!("/api/v1/messages/{plain}"))
        .assert_error(404);
    let list = api.get("/api/v1/messages").json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["messages"][0]["id"], multi.as_str());
}

#[test]
fn inject_errors_and_mailboxes() {
    let site = http_site("");
    site.user_add("alice@localhost", "pw");
    let server = site.start();
    let api = Api::new(&site, &server);
    let post = |q: &str, body: &[u8]| {
        api.request(
            "POST",
            &format!("/api/v1/messages{q}"),
            Some(("message/rfc822", body)),
        )
    };
    post("", PLAIN).assert_error(400);
    post("?user=alice%40localhost", b"").assert_error(400);
    post("?user=nobody%40localhost", PLAIN).assert_error(404);
    post("?user=alice%40localhost&mailbox=Nope", PLAIN).assert_error(404);
    post("?user=alice%40localhost&mailbox=..%2Fx", PLAIN).assert_error(400);
    // Over [limits] max_message_size (1 MiB in the harness): 413.
    let big = vec![b'a'; 1_048_577];
    post("?user=alice%40localhost", &big).assert_error(413);
    // The same without Content-Length (chunked): cut off while streaming
    // into the store, and nothing is kept (no message, no tmp file).
    require("curl");
    let out = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", "Transfer-Encoding: chunked", "--data-binary", "@-"])
        .arg(format!(
            "{}/api/v1/messages?user=alice%40localhost",
            api.base
        ))
        .arg("-H")
        .arg(format!(
            "Authorization: Bearer {}",
            api.token.as_deref().unwrap()
        ))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            let mut stdin = c.stdin.take().unwrap();
            let big = big.clone();
            let w = std::thread::spawn(move || {
                let _ = std::io::Write::write_all(&mut stdin, &big);
            });
            let out = c.wait_with_output();
            let _ = w.join();
            out
        })
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "413");
    assert_eq!(api.get("/api/v1/messages").json()["total"], 0);
    let tmp = site.data_dir().join("mail/localhost/alice/tmp");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "tmp/ not cleaned"
    );
    // Just under the limit, streamed: stored byte-exact.
    let mut fits = b"Subject: big\r\n\r\n".to_vec();
    fits.resize(1_048_576, b'b');
    let id = api.inject("alice@localhost", &fits);
    assert_eq!(api.get(&format!("/api/v1/messages/{id}/raw")).body, fits);
    assert_eq!(api.delete(&format!("/api/v1/messages/{id}")).status, 204);
    // Into another mailbox.
    let r = post("?user=alice%40localhost&mailbox=Archive", PLAIN);
    assert_eq!(r.status, 201, "{r:?}");
    let list = api.get("/api/v1/messages?mailbox=Archive").json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["messages"][0]["mailbox"], "Archive");
    assert_eq!(api.get("/api/v1/messages?mailbox=INBOX").json()["total"], 0);
    // The server still works after all that.
    assert_eq!(api.get("/healthz").status, 200);
}

fn message(from: &str, to: &str, subject: &str) -> Vec<u8> {
    format!("From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n")
        .into_bytes()
}

#[test]
fn listing_filters_limit_total_and_order() {
    let site = http_site("");
    site.user_add("alice@localhost", "pw");
    site.user_add("bob@localhost", "pw");
    let server = site.start();
    let api = Api::new(&site, &server);
    let mut ids = Vec::new();
    for i in 0..6 {
        let (user, from) = if i % 2 == 0 {
            ("alice@localhost", "news@shop.test")
        } else {
            ("bob@localhost", "Friend@Example.test")
        };
        let subject = if i < 3 {
            format!("Invoice {i}")
        } else {
            format!("Hello {i}")
        };
        ids.push(api.inject(user, &message(from, user, &subject)));
        // Distinct INTERNALDATE seconds make "newest first" observable
        // across accounts.
        std::thread::sleep(std::time::Duration::from_millis(1050));
    }
    let list = |q: &str| -> (u64, Vec<String>) {
        let r = api.get(&format!("/api/v1/messages{q}"));
        assert_eq!(r.status, 200, "{q}: {r:?}");
        let v = r.json();
        let got = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect();
        (v["total"].as_u64().unwrap(), got)
    };
    let rev = |idx: &[usize]| idx.iter().map(|&i| ids[i].clone()).collect::<Vec<_>>();
    assert_eq!(list(""), (6, rev(&[5, 4, 3, 2, 1, 0])));
    assert_eq!(list("?limit=2"), (6, rev(&[5, 4])));
    assert_eq!(list("?user=alice%40localhost"), (3, rev(&[4, 2, 0])));
    assert_eq!(list("?subject=invoice"), (3, rev(&[2, 1, 0])));
    assert_eq!(list("?subject=INVOICE&limit=1"), (3, rev(&[2])));
    assert_eq!(list("?from=example.TEST"), (3, rev(&[5, 3, 1])));
    // Filters combine with AND.
    assert_eq!(list("?from=example&subject=invoice"), (1, rev(&[1])));
    assert_eq!(list("?to=bob&subject=hello"), (2, rev(&[5, 3])));
    assert_eq!(list("?user=bob%40localhost&from=shop"), (0, vec![]));
    assert_eq!(list("?user=ghost%40localhost"), (0, vec![]));
    api.get("/api/v1/messages?limit=x").assert_error(400);
    api.get("/api/v1/messages?wait=-1").assert_error(400);

    // Summary fields of a listing entry.
    let v = api.get("/api/v1/messages?limit=1").json();
    let m = v["messages"][0].as_object().unwrap();
    let mut keys: Vec<&str> = m.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "date", "flags", "from", "id", "mailbox", "received", "size", "subject", "to", "uid",
            "user"
        ]
    );
    assert_eq!(m["user"], "bob@localhost");
    assert_eq!(m["from"], "Friend@Example.test");

    // Purge one account, then all.
    assert_eq!(
        api.delete("/api/v1/messages?user=bob%40localhost").status,
        204
    );
    assert_eq!(list(""), (3, rev(&[4, 2, 0])));
    assert_eq!(api.delete("/api/v1/messages").status, 204);
    assert_eq!(list(""), (0, vec![]));
    // Accounts stay.
    assert_eq!(
        api.get("/api/v1/users").json()["users"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn send_local_and_outbound_queued() {
    // A DNS server that never answers: the queued message stays deferred
    // (a temporary failure) while the test looks at it.
    let site = http_site("[outbound]\nresolvers = [\"127.0.0.1:9\"]\n");
    site.user_add("alice@localhost", "pw");
    site.user_add("bob@localhost", "pw");
    let server = site.start();
    let api = Api::new(&site, &server);
    let r = api.post_json(
        "/api/v1/send",
        &json!({"from": "app@localhost", "to": ["alice@localhost"], "cc": ["bob@localhost"],
                "subject": "Sent via API", "text": "plain part", "html": "<b>html part</b>"}),
    );
    assert_eq!(r.status, 202, "{r:?}");
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let d = api.get(&format!("/api/v1/messages/{id}")).json();
    assert_eq!(d["subject"], "Sent via API");
    assert_eq!(d["from"], "app@localhost");
    assert_eq!(d["text"], "plain part");
    assert_eq!(d["html"], "<b>html part</b>");
    // Like submission: Return-Path and Received first.
    let raw = api.get(&format!("/api/v1/messages/{id}/raw")).body;
    assert!(
        raw.starts_with(b"Return-Path: <app@localhost>\r\nReceived: from api by "),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let bob = api.get("/api/v1/messages?user=bob%40localhost").json();
    assert_eq!(bob["total"], 1);

    // A raw message with ?from=&to=.
    let r = api.request(
        "POST",
        "/api/v1/send?from=app%40localhost&to=bob%40localhost",
        Some(("message/rfc822", PLAIN)),
    );
    assert_eq!(r.status, 202, "{r:?}");
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let raw = api.get(&format!("/api/v1/messages/{id}/raw")).body;
    assert!(raw.ends_with(PLAIN));

    // A non-local recipient goes to the outbound queue (durably) → 202
    // with the queue id, listed by GET /api/v1/queue, dropped by DELETE.
    let r = api.post_json(
        "/api/v1/send",
        &json!({"from": "app@localhost", "to": ["someone@example.com"], "subject": "x", "text": "y"}),
    );
    assert_eq!(r.status, 202, "{r:?}");
    let qid = r.json()["id"].as_str().unwrap().to_owned();
    let q = api.get("/api/v1/queue").json();
    assert_eq!(q["queue"][0]["id"], json!(qid), "{q}");
    assert_eq!(q["queue"][0]["from"], json!("app@localhost"), "{q}");
    assert_eq!(
        q["queue"][0]["recipients"][0]["address"],
        json!("someone@example.com"),
        "{q}"
    );
    assert_eq!(api.delete(&format!("/api/v1/queue/{qid}")).status, 204);
    assert_eq!(api.get("/api/v1/queue").json(), json!({"queue": []}));
    api.post_json("/api/v1/send", &json!({"from": "a@localhost"}))
        .assert_error(400);
    api.post_json(
        "/api/v1/send",
        &json!({"from": "a@localhost", "to": ["no-at-sign"], "text": "x"}),
    )
    .assert_error(400);
    // A display name in `from`: the envelope sender is the address.
    let r = api.post_json(
        "/api/v1/send",
        &json!({"from": "\"The App\" <app@localhost>", "to": ["bob@localhost"], "subject": "named", "text": "x"}),
    );
    assert_eq!(r.status, 202, "{r:?}");
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let raw = api.get(&format!("/api/v1/messages/{id}/raw")).body;
    assert!(
        raw.starts_with(b"Return-Path: <app@localhost>\r\n"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    api.request("POST", "/api/v1/send", Some(("application/json", b"[1,")))
        .assert_error(400);
    api.post_json(
        "/api/v1/send",
        &json!({"from": "a@localhost", "to": ["alice@localhost"], "bogus": 1}),
    )
    .assert_error(400);
}

#[test]
fn queue_endpoints() {
    let site = http_site("");
    let server = site.start();
    let api = Api::new(&site, &server);
    let r = api.get("/api/v1/queue");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"queue": []}));
    api.request("POST", "/api/v1/queue/Q123/retry", None)
        .assert_error(404);
    api.request("POST", "/api/v1/queue/00000123/retry", None)
        .assert_error(404);
    api.delete("/api/v1/queue/Q123").assert_error(404);
    api.delete("/api/v1/queue/00000123").assert_error(404);
}

#[test]
fn smtp_delivery_shows_up_and_metrics_move() {
    let site = Site::new(Opts {
        listeners: vec!["smtp", "imap", "http"],
        ..Opts::default()
    });
    site.user_add("alice@localhost", "pw");
    let server = site.start();
    let api = Api::new(&site, &server);
    let metric = |name: &str| -> f64 {
        let text = api.get("/metrics").text();
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("{name} not in\n{text}"))
            .parse()
            .unwrap()
    };
    let received = "sansmail_messages_received_total{listener=\"smtp\"}";
    let delivered = "sansmail_messages_delivered_total{listener=\"smtp\"}";
    let failed = "sansmail_logins_total{result=\"failed\"}";
    let ok = "sansmail_logins_total{result=\"ok\"}";
    assert_eq!((metric(received), metric(delivered)), (0.0, 0.0));
    let mut smtp = RawSmtp::connect_ehlo(server.addr("smtp")).0;
    let r = smtp
        .send_mail(
            "s@example.test",
            "alice@localhost",
            b"Subject: via smtp\r\n\r\nhi\r\n",
        )
        .unwrap();
    assert_eq!(r.0, 250, "{r:?}");
    assert_eq!((metric(received), metric(delivered)), (1.0, 1.0));
    assert_eq!(metric("sansmail_delivery_duration_seconds_count"), 1.0);
    assert!(metric("sansmail_sessions_total{protocol=\"smtp\"}") >= 1.0);

    // Failed and good IMAP logins.
    let mut imap = RawImap::connect(server.addr("imap"));
    let r = imap.cmd("LOGIN alice@localhost wrong");
    assert!(r.status.starts_with("NO"), "{r:?}");
    imap.ok("LOGIN alice@localhost pw");
    assert_eq!(metric(failed), 1.0);
    assert_eq!(metric(ok), 1.0);

    let list = api.get("/api/v1/messages").json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["messages"][0]["subject"], "via smtp");
    let id = list["messages"][0]["id"].as_str().unwrap();
    let raw = api.get(&format!("/api/v1/messages/{id}/raw")).body;
    // [smtp] adds the checks' Authentication-Results before Received:.
    assert!(raw.starts_with(
        b"Return-Path: <s@example.test>\r\nAuthentication-Results: mx.sansmail.test; spf="
    ));
    assert!(common::contains(&raw, b"\r\nReceived: from "));
    assert!(raw.ends_with(b"Subject: via smtp\r\n\r\nhi\r\n"));
}

/// DESIGN.md §5.1: `[[rules]]` apply to API injection too: a refusal
/// answers with the rule's reply (422 for 5xx, 503 for 4xx) and stores
/// nothing; discard answers 202 with a null id and stores nothing.
#[test]
fn rules_apply_to_injection() {
    let site = http_site(
        "[[rules]]\nrecipient = \"reject@localhost\"\naction = \"reject\"\ncode = 550\nstatus = \"5.1.1\"\ntext = \"User unknown\"\n\
         [[rules]]\nrecipient = \"later@localhost\"\naction = \"tempfail\"\n\
         [[rules]]\nrecipient = \"void@localhost\"\naction = \"discard\"\n",
    );
    for u in [
        "reject@localhost",
        "later@localhost",
        "void@localhost",
        "alice@localhost",
    ] {
        site.user_add(u, "pw");
    }
    let server = site.start();
    let api = Api::new(&site, &server);
    let post = |user: &str| {
        api.request(
            "POST",
            &format!("/api/v1/messages?user={user}"),
            Some(("message/rfc822", PLAIN)),
        )
    };
    let r = post("reject@localhost");
    r.assert_error(422);
    assert_eq!(r.json()["error"], "550 5.1.1 User unknown", "{r:?}");
    let r = post("later@localhost");
    r.assert_error(503);
    assert!(
        r.json()["error"].as_str().unwrap().starts_with("451 4.7.1"),
        "{r:?}"
    );
    let r = post("void@localhost");
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(r.json(), json!({ "id": null, "discarded": true }));
    for u in ["reject@localhost", "later@localhost", "void@localhost"] {
        let l = api.get(&format!("/api/v1/messages?user={u}"));
        assert_eq!(l.json()["total"], 0, "{u}: {l:?}");
    }
    // No rule matches: stored as before.
    let id = api.inject("alice@localhost", PLAIN);
    assert_eq!(api.get(&format!("/api/v1/messages/{id}/raw")).body, PLAIN);
}
