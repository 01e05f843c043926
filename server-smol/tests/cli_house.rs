//! The command line and logs a person uses (issue "The house", 10.6):
//! confirmations on stderr with stdout kept for data, `user list` that
//! creates nothing, a failed start that leaves no data_dir, start-up log
//! lines that are not lost, and `serve --help` naming the keys.

mod common;

use std::time::Duration;

use common::{Opts, Site, describe};

const ALICE: &str = "alice@localhost";

#[test]
fn user_list_names_the_data_dir_and_creates_nothing() {
    let site = Site::new(Opts::default());
    let data_dir = site.data_dir();
    assert!(!data_dir.exists());
    // As the config names it (relative to the server's directory).
    let shown = "data";
    let out = site.run(&["user", "list"], "");
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("sansmail: no accounts: {shown} does not exist yet\n")
    );
    assert!(
        !data_dir.exists(),
        "user list created {}",
        data_dir.display()
    );

    let out = site.run(&["user", "add", ALICE, "--password-stdin"], "pw\n");
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("sansmail: added {ALICE} in {shown}\n")
    );
    let out = site.run(&["user", "list"], "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{ALICE}\n"));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("sansmail: 1 account(s) in {shown}\n")
    );
    // Not a terminal: a script is never asked, with or without --yes.
    let out = site.run(&["user", "del", ALICE], "");
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("sansmail: deleted {ALICE} and its mail from {shown}\n")
    );
    let out = site.run(&["user", "del", ALICE, "--yes"], "");
    assert!(!out.status.success(), "deleted twice: {}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("sansmail: no account {ALICE}\n")
    );
}

#[test]
fn a_failed_start_leaves_no_data_dir() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr");
    let site = Site::new(Opts {
        listeners: vec!["smtp"],
        ..Opts::default()
    });
    let toml = std::fs::read_to_string(site.config()).expect("config");
    // The harness's smtp listener on port 0, moved onto the busy port.
    let toml = toml.replacen("127.0.0.1:0", &addr.to_string(), 1);
    std::fs::write(site.config(), &toml).expect("write config");
    let out = site.run(&["serve"], "");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{}", describe(&out));
    assert!(stderr.contains(&addr.to_string()), "{}", describe(&out));
    assert!(
        !site.data_dir().exists(),
        "a failed start left {} behind",
        site.data_dir().display()
    );
}

#[test]
fn start_up_rescan_is_logged() {
    let site = Site::new(Opts {
        listeners: vec!["smtp"],
        ..Opts::default()
    });
    site.user_add(ALICE, "pw");
    // A message written behind the index's back (as mutt or procmail do).
    let new = site.data_dir().join("mail/localhost/alice/new");
    assert!(new.is_dir(), "{} missing", new.display());
    std::fs::write(
        new.join("1700000000.M1P1.host"),
        b"Subject: dropped in\r\n\r\nhi\r\n",
    )
    .expect("write message");
    let server = site.start();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut text = server.output_text();
    while !text.contains("rescan at open changed the index") && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
        text = server.output_text();
    }
    let line = text
        .lines()
        .find(|l| l.contains("rescan at open changed the index"))
        .unwrap_or_else(|| panic!("no rescan line in:\n{text}"));
    assert!(line.contains("INFO"), "{line}");
    assert!(line.contains("added=1"), "{line}");
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn serve_help_lists_the_keys_and_their_defaults() {
    let site = Site::new(Opts::default());
    let out = site.run(&["serve", "--help"], "");
    assert!(out.status.success(), "{}", describe(&out));
    let help = String::from_utf8_lossy(&out.stdout);
    for want in [
        "data_dir = \"sansmail-data\"",
        "listen     = [\"127.0.0.1:2525\"]",
        "plaintext = \"loopback\"",
        "max_message_size = 52428800",
        "docs/DESIGN.md",
        "SANSMAIL_LOG",
        "RUST_LOG",
    ] {
        assert!(help.contains(want), "`{want}` missing from:\n{help}");
    }
}
