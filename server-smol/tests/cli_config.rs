//! `sansmail config` (issue "The house"): the effective configuration as
//! TOML, defaults filled in, usable again as a config file; secrets left
//! out with a comment unless `--show-secrets`.

mod common;

use common::{Opts, Site, describe, run_with_stdin};

/// A config with explicit values in several sections, and every secret.
fn site() -> Site {
    Site::new(Opts {
        listeners: vec!["smtp", "imap"],
        extra: r#"
[outbound]
smarthost = "smtp://relay.example.net:587"
smarthost_user = "relay-user"
smarthost_password = "relay-pw-9f2c"
retry = ["30s", "10m"]
[handlers.notify]
type = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "hook-key-77aa"
[[routes]]
recipient = "*@example.com"
to = ["notify"]
[checks]
dmarc_policy = false
"#
        .into(),
        ..Opts::default()
    })
}

fn stdout_of(site: &Site, args: &[&str]) -> String {
    let out = site.run(args, "");
    assert!(out.status.success(), "{args:?}: {}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "{args:?} warned: {}",
        describe(&out)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn config_prints_explicit_values_and_defaults() {
    let site = site();
    let text = stdout_of(&site, &["config"]);
    for want in [
        // From the file.
        "hostname = \"mx.sansmail.test\"",
        "[smtp]\nlisten = [\"127.0.0.1:0\"]\nlisten_tls = []\n",
        "max_message_size = 1048576",
        "smarthost = \"smtp://relay.example.net:587\"",
        "smarthost_user = \"relay-user\"",
        "retry = [\"30s\", \"10m\"]",
        "dmarc_policy = false",
        "[handlers.notify]\n# secret: set, not printed (--show-secrets prints it)\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n",
        "[[routes]]\nrecipient = \"*@example.com\"\nto = [\"notify\"]\n",
        // Defaults the file does not name.
        "[imap]\nlisten = [\"127.0.0.1:0\"]\nlisten_tls = []\nflag_sync = \"batched\"\n",
        "failure_delay_ms = 1000",
        "expire = \"5d\"",
        "delay_notice = \"4h\"",
        "[dkim]\nselector = \"sansmail\"\nsign = true\n",
        "pre_receive_timeout_ms = 5000",
        "# token: unset (generated once into data_dir/api-token)",
    ] {
        assert!(text.contains(want), "`{want}` missing from:\n{text}");
    }
    for secret in ["relay-pw-9f2c", "hook-key-77aa"] {
        assert!(!text.contains(secret), "secret {secret} printed:\n{text}");
    }
    assert!(text.contains("# smarthost_password: set, not printed"));
}

#[test]
fn the_printed_config_reads_back_as_the_same_config() {
    let site = site();
    for args in [&["config"][..], &["config", "--show-secrets"][..]] {
        let first = stdout_of(&site, args);
        let copy = site.dir().join("printed.toml");
        std::fs::write(&copy, &first).expect("write copy");
        // Fed back as a config file (through SANSMAIL_CONFIG this time),
        // it prints the same text: the same configuration, no key lost
        // or unknown (an unknown key would be a warning on stderr).
        let mut c = site.cmd();
        c.env("SANSMAIL_CONFIG", &copy).args(args);
        let out = run_with_stdin(c, "");
        assert!(out.status.success(), "{}", describe(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "",
            "{}",
            describe(&out)
        );
        // Without --show-secrets the copy has no secrets to mention: the
        // same text without those comments.
        let expected: String = first
            .lines()
            .filter(|l| !l.ends_with(": set, not printed (--show-secrets prints it)"))
            .map(|l| format!("{l}\n"))
            .collect();
        if args.len() == 1 {
            assert_ne!(expected, first, "no secret comment in:\n{first}");
        }
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{args:?}");
    }
    let shown = stdout_of(&site, &["config", "--show-secrets"]);
    assert!(
        shown.contains("smarthost_password = \"relay-pw-9f2c\""),
        "{shown}"
    );
    assert!(shown.contains("secret = \"hook-key-77aa\""), "{shown}");
}

#[test]
fn without_a_file_the_embedded_defaults_are_printed() {
    let site = Site::new(Opts::default());
    let mut c = site.cmd();
    c.arg("config");
    let out = run_with_stdin(c, "");
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "data_dir = \"sansmail-data\"",
        "[submission]\nlisten = [\"127.0.0.1:2587\"]\nlisten_tls = [\"127.0.0.1:2465\"]\n",
        "[http]\n# token: unset (generated once into data_dir/api-token)\nlisten = [\"127.0.0.1:8025\"]\nauth = \"token\"\n",
        "mx_port = 25",
    ] {
        assert!(text.contains(want), "`{want}` missing from:\n{text}");
    }
}

#[test]
fn a_bad_config_is_one_line_and_unknown_keys_warn_on_stderr() {
    let site = Site::new(Opts {
        extra: "[limits]\nbogus_key = 1\n".into(),
        ..Opts::default()
    });
    // The harness already wrote [limits]; append the key to that table.
    let toml = std::fs::read_to_string(site.config()).expect("config");
    let toml = toml.replace("[limits]\nbogus_key = 1\n", "");
    let toml = toml.replace(
        "[limits]\nmax_message_size",
        "[limits]\nbogus_key = 1\nmax_message_size",
    );
    std::fs::write(site.config(), toml).expect("write");
    let out = site.run(&["config"], "");
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "sansmail: warning: unknown configuration key `limits.bogus_key` ignored\n"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("bogus_key"));

    std::fs::write(site.config(), "hostname = 3\n").expect("write");
    let out = site.run(&["config"], "");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}
