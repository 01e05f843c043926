//! End-to-end tests with Python's smtplib (a client we did not write).

mod common;

use std::collections::BTreeMap;

use common::*;

/// The reply code of a result line `code word`.
fn code(r: &BTreeMap<String, String>, label: &str) -> u16 {
    let v = r
        .get(label)
        .unwrap_or_else(|| panic!("no result {label} in {r:#?}"));
    v.split(' ')
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{label}: {v:?}"))
}

/// The enhanced status code (first word of the text) of a result line.
fn enhanced<'a>(r: &'a BTreeMap<String, String>, label: &str) -> &'a str {
    r.get(label).and_then(|v| v.split(' ').nth(1)).unwrap_or("")
}

fn host() -> &'static str {
    "127.0.0.1"
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn smtplib_plain_mx() {
    let site = Site::new(Opts::default());
    site.default_users();
    let srv = site.start();
    let plain = message("plain-token-1");
    let eight = "From: <sender@example.org>\r\nTo: <alice@localhost>\r\nSubject: 8bit-token\r\n\
                 MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Transfer-Encoding: 8bit\r\n\r\nCafé crème — ünïcödé ✓\r\n..two dots\r\n"
        .as_bytes()
        .to_vec();
    let utf8 =
        "From: jösé <jösé@example.org>\r\nTo: <alice@localhost>\r\nSubject: utf8-sender-token\r\n\
                MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße\r\n"
            .as_bytes()
            .to_vec();
    std::fs::write(site.dir().join("plain.eml"), &plain).unwrap();
    std::fs::write(site.dir().join("8bit.eml"), &eight).unwrap();
    std::fs::write(site.dir().join("utf8.eml"), &utf8).unwrap();
    let port = srv.port("smtp").to_string();
    let max = site.opts.max_message_size.to_string();
    let dir = site.dir().to_str().unwrap();
    let out = python("smtp_plain.py", &[host(), &port, &max, dir]);
    let r = results(&out);

    assert_eq!(r["ehlo"], "250");
    for f in [
        "PIPELINING",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "CHUNKING",
        "STARTTLS",
    ] {
        assert!(
            r.contains_key(&format!("feature:{f}")),
            "EHLO lacks {f}: {r:#?}"
        );
    }
    assert_eq!(r["feature:SIZE"], "1048576");

    assert_eq!(code(&r, "plain.mail"), 250);
    assert_eq!(code(&r, "plain.rcpt"), 250);
    assert_eq!(code(&r, "plain.data"), 250);
    let (path, stored) = site
        .inbox(ALICE.0)
        .into_iter()
        .find(|(_, b)| contains(b, b"plain-token-1"))
        .expect("plain message delivered");
    assert_eq!(
        path.parent().and_then(|p| p.file_name()).unwrap(),
        "new",
        "{}",
        path.display()
    );
    assert_stored(&stored, "sender@example.org", &plain);

    assert_eq!(code(&r, "unknown.rcpt"), 550);
    assert_eq!(enhanced(&r, "unknown.rcpt"), "5.1.1");

    let relay = code(&r, "relay.rcpt");
    assert!(relay == 550 || relay == 554, "relay.rcpt {relay}");
    assert_eq!(enhanced(&r, "relay.rcpt"), "5.7.1");

    assert_eq!(code(&r, "size.mail"), 552);
    assert_eq!(code(&r, "big.mail"), 250);
    assert_eq!(code(&r, "big.rcpt"), 250);
    assert_eq!(code(&r, "big.data"), 552);
    assert_eq!(code(&r, "big.noop"), 250);
    site.assert_not_delivered(ALICE.0, "big-oversize-token");

    assert_eq!(code(&r, "8bit.mail"), 250);
    assert_eq!(code(&r, "8bit.rcpt"), 250);
    assert_eq!(code(&r, "8bit.data"), 250);
    assert_stored(
        &site.delivered_with(ALICE.0, "8bit-token"),
        "sender@example.org",
        &eight,
    );

    assert_eq!(code(&r, "utf8.mail"), 250);
    assert_eq!(code(&r, "utf8.rcpt"), 250);
    assert_eq!(code(&r, "utf8.data"), 250);
    assert_stored(
        &site.delivered_with(ALICE.0, "utf8-sender-token"),
        "jösé@example.org",
        &utf8,
    );

    assert_eq!(code(&r, "quit"), 221);
    assert_eq!(site.inbox(ALICE.0).len(), 3);
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn smtplib_starttls_auth_submission() {
    let site = Site::new(Opts::default());
    site.default_users();
    let srv = site.start();
    let names = ["sub-plain", "sub-login", "subs", "smtp-tls"];
    let mut sent = BTreeMap::new();
    for n in names {
        let m = message(&format!("{n}-token"));
        std::fs::write(site.dir().join(format!("{n}.eml")), &m).unwrap();
        sent.insert(n, m);
    }
    let (sub, subs, smtp) = (
        srv.port("submission").to_string(),
        srv.port("submissions").to_string(),
        srv.port("smtp").to_string(),
    );
    let dir = site.dir().to_str().unwrap();
    let out = python(
        "smtp_submission.py",
        &[host(), &sub, &subs, &smtp, BOB.0, BOB.1, ALICE.0, dir],
    );
    let r = results(&out);

    assert_eq!(r["noauth.starttls_offered"], "yes");
    assert_eq!(code(&r, "noauth.mail"), 530);
    assert_eq!(enhanced(&r, "noauth.mail"), "5.7.0");
    assert_eq!(code(&r, "noauth.starttls"), 220);
    assert_eq!(
        r["tls.starttls_offered"], "no",
        "STARTTLS must not be offered again (RFC 3207 §4.2)"
    );
    let mechs: Vec<&str> = r["tls.auth"].split(' ').collect();
    assert!(
        mechs.contains(&"PLAIN") && mechs.contains(&"LOGIN"),
        "AUTH mechanisms {mechs:?}"
    );

    for p in ["plain", "login", "subs"] {
        assert_eq!(code(&r, &format!("{p}.auth")), 235, "{p}");
        assert_eq!(code(&r, &format!("{p}.mail")), 250, "{p}");
        assert_eq!(code(&r, &format!("{p}.rcpt")), 250, "{p}");
        assert_eq!(code(&r, &format!("{p}.data")), 250, "{p}");
        assert_eq!(code(&r, &format!("{p}.quit")), 221, "{p}");
    }
    assert_eq!(code(&r, "wrong.auth"), 535);
    assert_eq!(enhanced(&r, "wrong.auth"), "5.7.8");
    assert_eq!(code(&r, "wrong.mail"), 530);
    assert_eq!(r["subs.starttls_offered"], "no");
    assert_eq!(code(&r, "mx.starttls"), 220);
    assert_eq!(code(&r, "mx.mail"), 250);
    assert_eq!(code(&r, "mx.rcpt"), 250);
    assert_eq!(code(&r, "mx.data"), 250);

    for (n, rp) in [
        ("sub-plain", BOB.0),
        ("sub-login", BOB.0),
        ("subs", BOB.0),
        ("smtp-tls", "sender@example.org"),
    ] {
        let stored = site.delivered_with(ALICE.0, &format!("{n}-token"));
        assert_stored(&stored, rp, &sent[n]);
    }
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn auth_never_offered_before_starttls() {
    let site = Site::new(Opts {
        plaintext: "never",
        listeners: vec!["submission"],
        ..Opts::default()
    });
    site.default_users();
    let srv = site.start();
    let sub = srv.port("submission").to_string();
    let out = python("smtp_never.py", &[host(), &sub]);
    let r = results(&out);
    assert_eq!(
        r["pre.auth"], "<none>",
        "AUTH offered before STARTTLS with plaintext = never"
    );
    assert_eq!(r["pre.starttls"], "yes");
    assert_eq!(
        code(&r, "pre.auth_cmd") / 100,
        5,
        "AUTH before TLS: {}",
        r["pre.auth_cmd"]
    );
    assert_eq!(code(&r, "starttls"), 220);
    let mechs: Vec<&str> = r["post.auth"].split(' ').collect();
    assert!(
        mechs.contains(&"PLAIN") && mechs.contains(&"LOGIN"),
        "after TLS {mechs:?}"
    );
    assert_eq!(code(&r, "quit"), 221);
}

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn starttls_discards_pipelined_commands() {
    let site = Site::new(Opts {
        listeners: vec!["smtp"],
        ..Opts::default()
    });
    let srv = site.start();
    let port = srv.port("smtp").to_string();
    let out = python("starttls_inject.py", &[host(), &port]);
    let r = results(&out);
    assert_eq!(r["greeting"], "220");
    assert_eq!(r["ehlo"], "250");
    assert_eq!(r["starttls"], "220");
    assert_eq!(
        r["before_handshake"], "silent",
        "RSET answered in plaintext"
    );
    assert!(
        r["after_tls.first"].starts_with("250-"),
        "first reply over TLS: {:?}",
        r["after_tls.first"]
    );
    assert_eq!(r["noop"], "250");
    assert_eq!(r["quit"], "221");
}

/// Every corpus message (LF converted to CRLF) is stored byte for byte.
#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn corpus_roundtrip() {
    let site = Site::new(Opts {
        listeners: vec!["smtp"],
        max_message_size: 10_485_760,
        ..Opts::default()
    });
    site.user_add("corpus@localhost", "corpus-pass");
    let srv = site.start();
    let corpus = std::path::Path::new("/work/shared/corpus/eml");
    let corpus = std::env::var_os("SANSMAIL_CORPUS").map_or(corpus.to_path_buf(), Into::into);
    let out_dir = site.dir().join("corpus");
    std::fs::create_dir(&out_dir).unwrap();
    let mut sent: Vec<(String, Vec<u8>)> = Vec::new();
    for sub in ["rfc", "legacy"] {
        let mut files: Vec<_> = std::fs::read_dir(corpus.join(sub))
            .unwrap_or_else(|e| panic!("corpus {}: {e}", corpus.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            let bytes = crlf(&std::fs::read(&f).unwrap());
            let name = format!("{sub}-{}", f.file_name().unwrap().to_string_lossy());
            let p = out_dir.join(&name);
            std::fs::write(&p, &bytes).unwrap();
            sent.push((p.to_string_lossy().into_owned(), bytes));
        }
    }
    assert!(sent.len() >= 60, "corpus too small: {}", sent.len());
    let port = srv.port("smtp").to_string();
    let mut args = vec![host(), &port, "sender@example.org", "corpus@localhost"];
    args.extend(sent.iter().map(|(p, _)| p.as_str()));
    let out = python("send_files.py", &args);
    let r = results(&out);
    for (p, _) in &sent {
        assert_eq!(code(&r, p), 250, "{p}: {:?}", r.get(p));
    }
    let mut stored: Vec<Vec<u8>> = site
        .inbox("corpus@localhost")
        .iter()
        .map(|(_, b)| strip_trace(b, "sender@example.org").to_vec())
        .collect();
    assert_eq!(stored.len(), sent.len());
    stored.sort();
    for (p, bytes) in &sent {
        assert!(
            stored.binary_search(bytes).is_ok(),
            "{p} not stored byte for byte"
        );
    }
}
