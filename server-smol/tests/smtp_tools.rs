//! End-to-end tests with swaks and curl (clients we did not write).
//!
//! swaks (20201014, Debian 12) sends a `--data @FILE` file that lacks a final
//! CRLF with one CRLF added; curl uploads the file as is (it must end in
//! CRLF). Both dot-stuff. The expected stored bytes follow from that.

mod common;

use std::process::Command;

use common::*;

fn swaks(args: &[&str]) -> std::process::Output {
    Command::new("swaks")
        .args(args)
        .output()
        .expect("run swaks")
}

fn curl(args: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "60"])
        .args(args)
        .output()
        .expect("run curl")
}

/// A message for swaks: CRLF lines, no final CRLF (swaks adds one).
fn swaks_file(site: &Site, token: &str) -> (String, Vec<u8>) {
    let mut m = message(token);
    let sent = m.clone();
    m.truncate(m.len() - 2);
    let p = site.dir().join(format!("{token}.eml"));
    std::fs::write(&p, &m).unwrap();
    (format!("@{}", p.display()), sent)
}

#[test]
#[cfg_attr(
    not(have_swaks),
    ignore = "needs swaks (scripts/ci-deps.sh installs it)"
)]
fn swaks_plain_tls_auth_pipeline() {
    require("swaks");
    let site = Site::new(Opts::default());
    site.default_users();
    let srv = site.start();
    let mx = format!("127.0.0.1:{}", srv.port("smtp"));
    let sub = format!("127.0.0.1:{}", srv.port("submission"));
    let base = [
        "--from",
        "sender@example.org",
        "--to",
        ALICE.0,
        "--helo",
        "client.sansmail.test",
    ];

    let cases: [(&str, &str, Vec<&str>); 5] = [
        ("swaks-plain", mx.as_str(), vec![]),
        ("swaks-tls", mx.as_str(), vec!["--tls"]),
        ("swaks-pipeline", mx.as_str(), vec!["--pipeline"]),
        (
            "swaks-auth",
            sub.as_str(),
            vec![
                "--auth",
                "PLAIN",
                "--auth-user",
                BOB.0,
                "--auth-password",
                BOB.1,
            ],
        ),
        (
            "swaks-tls-auth",
            sub.as_str(),
            vec![
                "--tls",
                "--auth",
                "LOGIN",
                "--auth-user",
                BOB.0,
                "--auth-password",
                BOB.1,
            ],
        ),
    ];
    for (token, server, extra) in &cases {
        let (data, sent) = swaks_file(&site, token);
        let mut args = vec!["--server", server, "--data", data.as_str()];
        args.extend(base);
        args.extend(extra);
        let out = swaks(&args);
        assert_eq!(out.status.code(), Some(0), "{token}: {}", describe(&out));
        assert_stored(
            &site.delivered_with(ALICE.0, token),
            "sender@example.org",
            &sent,
        );
    }

    // An unknown recipient: swaks exit status 24 ("no RCPTs accepted").
    let (data, _) = swaks_file(&site, "swaks-unknown");
    let out = swaks(&[
        "--server",
        &mx,
        "--data",
        &data,
        "--from",
        "sender@example.org",
        "--to",
        "nobody@localhost",
    ]);
    assert_eq!(out.status.code(), Some(24), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("<** 550 5.1.1"),
        "{}",
        describe(&out)
    );

    // A wrong password: exit status 28 (AUTH error).
    let out = swaks(&[
        "--server",
        &sub,
        "--from",
        BOB.0,
        "--to",
        ALICE.0,
        "--auth",
        "PLAIN",
        "--auth-user",
        BOB.0,
        "--auth-password",
        "not-the-password",
    ]);
    assert_eq!(out.status.code(), Some(28), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("<** 535 5.7.8"),
        "{}",
        describe(&out)
    );
}

#[test]
#[cfg_attr(not(have_curl), ignore = "needs curl (scripts/ci-deps.sh installs it)")]
fn curl_plain_starttls_smtps() {
    require("curl");
    let site = Site::new(Opts::default());
    site.default_users();
    let srv = site.start();
    let cases = [
        (
            "curl-plain",
            format!("smtp://127.0.0.1:{}/client.sansmail.test", srv.port("smtp")),
            vec![],
        ),
        (
            "curl-starttls",
            format!("smtp://127.0.0.1:{}/client.sansmail.test", srv.port("smtp")),
            vec!["--ssl-reqd", "-k"],
        ),
        (
            "curl-smtps",
            format!(
                "smtps://127.0.0.1:{}/client.sansmail.test",
                srv.port("smtps")
            ),
            vec!["-k"],
        ),
    ];
    for (token, url, extra) in &cases {
        let m = message(token);
        let p = site.dir().join(format!("{token}.eml"));
        std::fs::write(&p, &m).unwrap();
        let mut args = vec![
            url.as_str(),
            "--mail-from",
            "sender@example.org",
            "--mail-rcpt",
            ALICE.0,
        ];
        args.extend(extra);
        args.extend(["--upload-file", p.to_str().unwrap()]);
        let out = curl(&args);
        assert_eq!(out.status.code(), Some(0), "{token}: {}", describe(&out));
        assert_stored(
            &site.delivered_with(ALICE.0, token),
            "sender@example.org",
            &m,
        );
    }

    // Authenticated submission over STARTTLS and over implicit TLS.
    let user = format!("{}:{}", BOB.0, BOB.1);
    for (token, url, extra) in [
        (
            "curl-sub",
            format!(
                "smtp://127.0.0.1:{}/client.sansmail.test",
                srv.port("submission")
            ),
            "--ssl-reqd",
        ),
        (
            "curl-subs",
            format!(
                "smtps://127.0.0.1:{}/client.sansmail.test",
                srv.port("submissions")
            ),
            "-k",
        ),
    ] {
        let m = message(token);
        let p = site.dir().join(format!("{token}.eml"));
        std::fs::write(&p, &m).unwrap();
        let out = curl(&[
            &url,
            extra,
            "-k",
            "--user",
            &user,
            "--mail-from",
            BOB.0,
            "--mail-rcpt",
            ALICE.0,
            "--upload-file",
            p.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{token}: {}", describe(&out));
        assert_stored(&site.delivered_with(ALICE.0, token), BOB.0, &m);
    }

    // An unknown recipient: curl exit 55 (CURLE_SEND_ERROR, "RCPT failed: 550").
    let p = site.dir().join("curl-plain.eml");
    let out = curl(&[
        &format!("smtp://127.0.0.1:{}/client.sansmail.test", srv.port("smtp")),
        "--mail-from",
        "sender@example.org",
        "--mail-rcpt",
        "nobody@localhost",
        "--upload-file",
        p.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(55), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("550"),
        "{}",
        describe(&out)
    );
}
