//! The web UI in a real browser: headless Chromium driven by WebDriver
//! (Debian's chromium + chromium-driver, Selenium from PyPI) through
//! `tests/interop/webui.py`. Covers login (wrong/right), isolation between
//! accounts, live updates, reading, the sandboxed HTML part (no script, no
//! remote request), attachments byte-exact, delete (checked over IMAP),
//! CSRF, cookie attributes, and stored XSS through headers, filenames,
//! folder names, `javascript:` links, SVG and message/rfc822 parts.
//!
//! With `SANSMAIL_SCREENSHOTS=DIR` the script saves screenshots of the
//! inbox and of a message view there (docs/ has the committed ones).

mod common;

use common::*;

#[test]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn browser_session_is_safe_and_live() {
    for tool in ["chromium", "chromedriver"] {
        assert!(
            have(tool),
            "{tool} is required by this test (scripts/ci-deps.sh installs it)"
        );
    }
    let site = Site::new(Opts {
        listeners: vec!["smtp", "imap", "http"],
        ..Opts::default()
    });
    site.default_users();
    let srv = site.start();
    let http = srv.port("http").to_string();
    let smtp = srv.port("smtp").to_string();
    let imap = srv.port("imap").to_string();
    let mut args = vec![
        http.as_str(),
        smtp.as_str(),
        imap.as_str(),
        ALICE.0,
        ALICE.1,
        BOB.0,
    ];
    let shots = std::env::var("SANSMAIL_SCREENSHOTS").ok();
    if let Some(dir) = &shots {
        args.push(dir);
    }
    let out = python("webui.py", &args);
    println!("{out}");
    let r = results(&out);
    assert_eq!(r.get("failed").map(String::as_str), Some("0"), "{out}");
    let checks: u32 = r.get("checks").and_then(|c| c.parse().ok()).unwrap_or(0);
    assert!(checks >= 30, "too few checks ran: {out}");
}
