//! Hardening, input checks (issue 9, item 10), against the real binary:
//! - `RCPT TO` a local part no account can ever have gets the permanent
//!   `550 5.1.1` (it got `451 4.3.0`, so senders retried for days);
//! - `user add` outside the local `domains` fails with a clear message;
//! - an empty `data_dir`, a hostname with CR/LF and absurd timing values
//!   are one-line configuration errors.

mod common;

use common::*;

#[test]
fn impossible_local_parts_get_a_permanent_user_unknown() {
    let opts = Opts {
        listeners: vec!["smtp"],
        ..Opts::default()
    };
    let site = Site::new(opts);
    site.default_users();
    let server = site.start();
    let (mut c, _) = RawSmtp::connect_ehlo(server.addr("smtp"));
    c.expect("MAIL FROM:<sender@example.org>", 250);
    let long = "a".repeat(65);
    for rcpt in [
        "a/b@localhost".to_string(),
        "\"alice\"@localhost".to_string(),
        format!("{long}@localhost"),
        "\"a b\"@localhost".to_string(),
        "nobody@localhost".to_string(),
    ] {
        let r = c.cmd(&format!("RCPT TO:<{rcpt}>")).expect("RCPT");
        assert_eq!(
            r,
            (
                550,
                vec![format!(
                    "5.1.1 <{rcpt}>: Recipient address rejected: User unknown"
                )]
            ),
            "RCPT TO:<{rcpt}>"
        );
    }
    // The session goes on, and real recipients still work.
    let r = c.cmd("RCPT TO:<alice@localhost>").expect("RCPT");
    assert_eq!(r, (250, vec!["2.1.5 OK".to_string()]));
    c.expect("RSET", 250);
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn user_add_outside_the_local_domains_is_refused() {
    let site = Site::new(Opts::default());
    let out = site.run(
        &["user", "add", "bob@example.com", "--password-stdin"],
        "pw\n",
    );
    assert!(!out.status.success(), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "sansmail: cannot add bob@example.com: example.com is not one of the local domains \
         (localhost); add it to `domains` in the configuration first\n"
    );
    // Also while a server runs (the check is the command's, before the
    // control socket is asked).
    let server = site.start();
    let out = site.run(
        &["user", "add", "bob@Example.COM", "--password-stdin"],
        "pw\n",
    );
    assert!(!out.status.success(), "{}", describe(&out));
    site.user_add("bob@LOCALHOST", "pw");
    let out = site.run(&["user", "list"], "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "bob@localhost\n");
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn bad_values_are_one_line_config_errors() {
    let site = Site::new(Opts::default());
    let base = std::fs::read_to_string(site.config()).unwrap();
    let cases = [
        (
            base.replacen("data_dir = \"data\"", "data_dir = \"\"", 1),
            "data_dir must not be empty (use \".\" for the working directory)",
        ),
        (
            base.replacen(
                "hostname = \"mx.sansmail.test\"",
                "hostname = \"mx.sansmail.test\\r\\n250 injected\"",
                1,
            ),
            "hostname \"mx.sansmail.test\\r\\n250 injected\" is not a valid host name \
             (letters, digits, '.' and '-' only)",
        ),
        (
            base.replacen("[auth]\n", "[auth]\nfailure_delay_ms = 100000000000\n", 1),
            "[auth] failure_delay_ms = 100000000000 is out of range (0 to 60000)",
        ),
        (
            base.replacen("[auth]\n", "[auth]\npenalty_max_ms = 3600000\n", 1),
            "[auth] penalty_max_ms = 3600000 is out of range (0 to 600000)",
        ),
        (
            base.replacen("[limits]\n", "[limits]\ntls_handshake_timeout_ms = 0\n", 1),
            "[limits] tls_handshake_timeout_ms = 0 is out of range (1 to 600000)",
        ),
    ];
    let path = site.config();
    for (toml, message) in cases {
        std::fs::write(&path, &toml).unwrap();
        for args in [&["serve"][..], &["user", "list"][..]] {
            let out = site.run(args, "");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", describe(&out));
            assert_eq!(
                stderr,
                format!("sansmail: config {}: {message}\n", path.display()),
                "{args:?}"
            );
        }
    }
    assert!(
        !site.data_dir().exists(),
        "a refused config must not create data_dir"
    );
}
