//! `[testing] fixtures` (docs/DESIGN.md §5.6): loaded at start and on
//! `POST /api/v1/reset`, with `.eml.json` flags and internal dates;
//! fixture accounts log in with their address as the password.

mod common;

use std::path::Path;

use common::*;
use serde_json::json;

const WELCOME: &[u8] =
    b"From: shop@example.test\r\nTo: alice@localhost\r\nSubject: Welcome\r\n\r\nHi!\r\n";
const REPORT: &[u8] = b"From: boss@example.test\r\nSubject: Report\r\n\r\nQ4\r\n";
const OLD: &[u8] = b"From: old@example.test\r\nSubject: Old news\r\n\n\nLF only\n";

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn fixtures_site() -> Site {
    let site = Site::new(Opts {
        listeners: vec!["imap", "http"],
        extra: "[testing]\nfixtures = \"fixtures\"\n".into(),
        ..Opts::default()
    });
    let f = site.dir().join("fixtures");
    write(&f.join("alice@localhost/INBOX/001-welcome.eml"), WELCOME);
    write(
        &f.join("alice@localhost/INBOX/001-welcome.eml.json"),
        br#"{"flags":["\\Seen","$Important"],"internal_date":"01-Jan-2024 00:00:00 +0000"}"#,
    );
    write(&f.join("alice@localhost/INBOX/002-old.eml"), OLD);
    write(
        &f.join("alice@localhost/INBOX/002-old.eml.json"),
        br#"{"internal_date":" 2-Jan-2024 10:30:00 -0500"}"#,
    );
    write(&f.join("alice@localhost/Work/2024/report.eml"), REPORT);
    write(&f.join("alice@localhost/INBOX/notes.txt"), b"not a message");
    // An account with no mail.
    std::fs::create_dir_all(f.join("bob@localhost/INBOX")).unwrap();
    site
}

fn summaries(api: &Api, q: &str) -> Vec<serde_json::Value> {
    let v = api.get(&format!("/api/v1/messages{q}")).json();
    v["messages"].as_array().unwrap().clone()
}

fn check_fixtures(api: &Api) {
    assert_eq!(
        api.get("/api/v1/users").json(),
        json!({"users": [{"address": "alice@localhost"}, {"address": "bob@localhost"}]})
    );
    let inbox = summaries(api, "?mailbox=INBOX");
    assert_eq!(inbox.len(), 2, "{inbox:?}");
    // Newest first by internal date: 002-old (2 Jan 15:30 UTC) first.
    assert_eq!(inbox[0]["subject"], "Old news");
    assert_eq!(inbox[0]["received"], "2024-01-02T15:30:00Z");
    assert_eq!(inbox[0]["flags"], json!([]));
    assert_eq!(inbox[0]["uid"], 2);
    assert_eq!(inbox[1]["subject"], "Welcome");
    assert_eq!(inbox[1]["received"], "2024-01-01T00:00:00Z");
    assert_eq!(inbox[1]["flags"], json!(["\\Seen", "$Important"]));
    assert_eq!(inbox[1]["uid"], 1);
    let work = summaries(api, "?mailbox=Work/2024");
    assert_eq!(work.len(), 1);
    assert_eq!(work[0]["mailbox"], "Work/2024");
    // Byte-exact, LF-only message included.
    for (m, bytes) in [(&inbox[0], OLD), (&inbox[1], WELCOME), (&work[0], REPORT)] {
        let id = m["id"].as_str().unwrap();
        assert_eq!(api.get(&format!("/api/v1/messages/{id}/raw")).body, bytes);
    }
}

#[test]
fn loaded_at_start_and_on_reset() {
    let site = fixtures_site();
    let server = site.start();
    let api = Api::new(&site, &server);
    check_fixtures(&api);

    // Fixture accounts: password = the address; flags visible over IMAP.
    let mut imap = RawImap::login(server.addr("imap"), "alice@localhost", "alice@localhost");
    let r = imap.ok("SELECT INBOX");
    assert!(r.untagged.iter().any(|l| l == "* 2 EXISTS"), "{r:?}");
    let r = imap.ok("FETCH 1 (FLAGS INTERNALDATE)");
    assert_eq!(
        r.untagged,
        ["* 1 FETCH (FLAGS (\\Seen $Important) INTERNALDATE \" 1-Jan-2024 00:00:00 +0000\")"]
    );
    drop(imap);

    // Change things, then reset.
    api.inject("alice@localhost", b"Subject: extra\r\n\r\nx\r\n");
    assert_eq!(
        api.post_json(
            "/api/v1/users",
            &json!({"address": "carol@localhost", "password": "pw"})
        )
        .status,
        201
    );
    let first = summaries(&api, "?mailbox=INBOX")[1]["id"].clone();
    assert_eq!(
        api.delete(&format!("/api/v1/messages/{}", first.as_str().unwrap()))
            .status,
        204
    );
    let r = api.request("POST", "/api/v1/reset", None);
    assert_eq!(r.status, 204, "{r:?}");
    assert!(r.body.is_empty());
    check_fixtures(&api);

    // A restart on the same data_dir keeps what is there and loads
    // nothing twice.
    api.inject("bob@localhost", b"Subject: kept\r\n\r\nx\r\n");
    drop(server);
    let server = site.start();
    let api = Api::new(&site, &server);
    assert_eq!(summaries(&api, "?user=alice%40localhost").len(), 3);
    assert_eq!(
        summaries(&api, "?user=bob%40localhost")[0]["subject"],
        "kept"
    );
}

#[test]
fn reset_without_fixtures_empties_everything() {
    let site = Site::new(Opts {
        listeners: vec!["http"],
        ..Opts::default()
    });
    site.user_add("alice@localhost", "pw");
    let server = site.start();
    let api = Api::new(&site, &server);
    api.inject("alice@localhost", WELCOME);
    assert_eq!(api.request("POST", "/api/v1/reset", None).status, 204);
    assert_eq!(api.get("/api/v1/users").json(), json!({"users": []}));
    assert_eq!(
        api.get("/api/v1/messages").json(),
        json!({"messages": [], "total": 0})
    );
}

#[test]
fn catch_all_injection_creates_the_account() {
    let site = Site::new(Opts {
        listeners: vec!["http"],
        extra: "[testing]\ncatch_all = true\n".into(),
        ..Opts::default()
    });
    let server = site.start();
    let api = Api::new(&site, &server);
    let id = api.inject("new@anywhere.test", WELCOME);
    assert_eq!(
        api.get("/api/v1/users").json(),
        json!({"users": [{"address": "new@anywhere.test"}]})
    );
    assert_eq!(api.get(&format!("/api/v1/messages/{id}/raw")).body, WELCOME);
}

#[test]
fn broken_fixture_is_a_one_line_start_error() {
    let site = fixtures_site();
    write(
        &site
            .dir()
            .join("fixtures/alice@localhost/INBOX/001-welcome.eml.json"),
        br#"{"internal_date":"yesterday"}"#,
    );
    let out = site.run(&["serve"], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("001-welcome.eml.json"), "{err}");
    assert!(lines[0].contains("internal_date"), "{err}");
}
