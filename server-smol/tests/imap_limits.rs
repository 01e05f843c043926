//! `[limits] max_connections_per_account`: IMAP sessions per account.

mod common;

use common::*;

#[test]
fn sessions_per_account_are_limited_and_released() {
    let opts = Opts {
        listeners: vec!["imap"],
        ..Opts::default()
    };
    let site = site_with_auth(opts, "failure_delay_ms = 0");
    let toml = std::fs::read_to_string(site.config()).expect("config");
    std::fs::write(
        site.config(),
        toml.replacen(
            "[limits]\n",
            "[limits]\nmax_connections_per_account = 2\n",
            1,
        ),
    )
    .expect("write config");
    site.default_users();
    let server = site.start();
    let addr = server.addr("imap");

    let mut first = RawImap::login(addr, ALICE.0, ALICE.1);
    let _second = RawImap::login(addr, ALICE.0, ALICE.1);
    let mut third = RawImap::connect(addr);
    let r = third.cmd(&format!("LOGIN {} {}", quote(ALICE.0), quote(ALICE.1)));
    assert!(
        r.status.starts_with("NO [LIMIT]"),
        "third session of one account: {:?}",
        r.status
    );
    // Another account is not affected.
    let _bob = RawImap::login(addr, BOB.0, BOB.1);
    // A session that ends gives its place back.
    first.ok("LOGOUT");
    drop(first);
    let mut ok = false;
    for _ in 0..50 {
        // A fresh connection each time: failed logins count towards the
        // session's own failure limit.
        let mut third = RawImap::connect(addr);
        let r = third.cmd(&format!("LOGIN {} {}", quote(ALICE.0), quote(ALICE.1)));
        if r.status.starts_with("OK") {
            ok = true;
            break;
        }
        assert!(r.status.starts_with("NO [LIMIT]"), "{:?}", r.status);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ok, "the slot of the logged-out session was not released");
}

/// The greeting names the host (`<hostname> IMAP sansmail ready`, built by
/// imap-proto from the hostname as the SMTP and POP3 greetings are) and
/// offers STARTTLS because the harness gives the server a certificate
/// (imap-proto offers it only when the server turns `starttls` on).
#[test]
fn greeting_names_the_host_and_offers_starttls_with_a_certificate() {
    let opts = Opts {
        listeners: vec!["imap"],
        ..Opts::default()
    };
    let site = site_with_auth(opts, "failure_delay_ms = 0");
    let server = site.start();
    let mut c = RawImap::connect_raw(server.addr("imap")).expect("connect");
    assert_eq!(
        c.line_str().expect("greeting"),
        format!(
            "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LITERAL+ SASL-IR ID ENABLE IDLE \
             AUTH=PLAIN AUTH=LOGIN] {} IMAP sansmail ready",
            site.opts.hostname
        )
    );
}
