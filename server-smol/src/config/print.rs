//! `sansmail config`: the effective configuration written back as TOML.
//!
//! The output uses the sections and key names of the configuration file
//! (docs/DESIGN.md §4/§5), with every default filled in, so that feeding it
//! back as a config file gives the same [`Config`]. The values come from
//! the section structs' `Serialize` derives (a new key appears without a
//! change here); this module only lays out the file view (`[imap]
//! flag_sync` lives beside `listen`), and adds comments for keys that TOML
//! cannot write (an unset optional key has no TOML value) and for secrets.
//!
//! Secrets — `[http] token`, `[outbound] smarthost_password`,
//! `[handlers.NAME] secret` — are **omitted, with a comment saying they
//! are set**, unless [`Secrets::Show`] is asked for. Omitted rather than
//! written as `"***"`: a redaction fed back as a config would silently make
//! `***` the API token or the webhook key, while an omitted key fails
//! closed (a generated random API token, no smarthost AUTH, unsigned
//! webhooks that a verifying receiver refuses) and the comment says so.

use std::path::Path;

use serde::Serialize;

use super::{
    AuthConfig, ChecksConfig, Config, ConfigError, DkimConfig, FlagSync, HandlerConfig,
    HooksConfig, HttpConfig, LimitsConfig, Listeners, LmtpConfig, OutboundConfig, RouteConfig,
    RuleConfig, TestingConfig, TlsConfig,
};

/// Whether [`Config::to_toml`] prints secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// Leave secrets out, with a comment saying which are set (the default
    /// of `sansmail config`).
    Omit,
    /// Print them (`sansmail config --show-secrets`): the output is then a
    /// complete copy of the configuration.
    Show,
}

/// `[imap]` as the file spells it: the listeners plus `flag_sync`.
#[derive(Serialize)]
struct ImapView<'a> {
    listen: &'a [String],
    listen_tls: &'a [String],
    flag_sync: FlagSync,
}

/// The file's layout. Plain keys come first: TOML has no way back to the
/// top level after a table header.
#[derive(Serialize)]
struct FileView<'a> {
    data_dir: &'a Path,
    hostname: &'a str,
    domains: &'a [String],
    smtp: &'a Listeners,
    submission: &'a Listeners,
    imap: ImapView<'a>,
    pop3: &'a Listeners,
    tls: &'a TlsConfig,
    auth: &'a AuthConfig,
    limits: &'a LimitsConfig,
    lmtp: &'a LmtpConfig,
    http: &'a HttpConfig,
    outbound: &'a OutboundConfig,
    dkim: &'a DkimConfig,
    checks: &'a ChecksConfig,
    hooks: &'a HooksConfig,
    testing: &'a TestingConfig,
    handlers: &'a std::collections::BTreeMap<String, HandlerConfig>,
    rules: &'a [RuleConfig],
    routes: &'a [RouteConfig],
}

impl Config {
    /// The effective configuration as a TOML config file (see the module
    /// docs for what is commented and what is left out).
    pub fn to_toml(&self, secrets: Secrets) -> Result<String, ConfigError> {
        let mut shown = self.clone();
        // (section header, comment) pairs, placed under their header.
        let mut notes: Vec<(String, String)> = Vec::new();
        let mut note = |section: &str, text: String| notes.push((format!("[{section}]"), text));

        if secrets == Secrets::Omit {
            if shown.http.token.take().is_some() {
                note(
                    "http",
                    "# token: set, not printed (--show-secrets prints it)".into(),
                );
            }
            if shown.outbound.smarthost_password.take().is_some() {
                note(
                    "outbound",
                    "# smarthost_password: set, not printed (--show-secrets prints it)".into(),
                );
            }
            for (name, handler) in shown.handlers.iter_mut() {
                if let HandlerConfig::Webhook { secret, .. } = handler
                    && secret.take().is_some()
                {
                    note(
                        &format!("handlers.{}", toml_key(name)),
                        "# secret: set, not printed (--show-secrets prints it)".into(),
                    );
                }
            }
        }
        // Optional keys without a value: TOML cannot write "unset".
        let unset = |v: bool, section: &str, key: &str, meaning: &str| {
            v.then(|| {
                (
                    format!("[{section}]"),
                    format!("# {key}: unset ({meaning})"),
                )
            })
        };
        let c = self;
        notes.extend(
            [
                unset(
                    c.tls.cert.is_none(),
                    "tls",
                    "cert, key",
                    "a self-signed certificate is generated once into data_dir",
                ),
                unset(
                    c.limits.quota_bytes.is_none(),
                    "limits",
                    "quota_bytes",
                    "no quota",
                ),
                unset(
                    c.limits.quota_messages.is_none(),
                    "limits",
                    "quota_messages",
                    "no quota",
                ),
                unset(
                    c.http.token.is_none(),
                    "http",
                    "token",
                    "generated once into data_dir/api-token",
                ),
                unset(
                    c.outbound.smarthost.is_none(),
                    "outbound",
                    "smarthost",
                    "delivery by MX",
                ),
                unset(
                    c.outbound.smarthost.is_some() && c.outbound.smarthost_user.is_none(),
                    "outbound",
                    "smarthost_user, smarthost_password",
                    "no AUTH to the smarthost",
                ),
                unset(
                    c.hooks.pre_receive.is_none(),
                    "hooks",
                    "pre_receive",
                    "no hook",
                ),
                unset(
                    c.testing.fixtures.is_none(),
                    "testing",
                    "fixtures",
                    "no fixtures",
                ),
            ]
            .into_iter()
            .flatten(),
        );

        let view = FileView {
            data_dir: &shown.data_dir,
            hostname: &shown.hostname,
            domains: &shown.domains,
            smtp: &shown.smtp,
            submission: &shown.submission,
            imap: ImapView {
                listen: &shown.imap.listen,
                listen_tls: &shown.imap.listen_tls,
                flag_sync: shown.imap_flag_sync,
            },
            pop3: &shown.pop3,
            tls: &shown.tls,
            auth: &shown.auth,
            limits: &shown.limits,
            lmtp: &shown.lmtp,
            http: &shown.http,
            outbound: &shown.outbound,
            dkim: &shown.dkim,
            checks: &shown.checks,
            hooks: &shown.hooks,
            testing: &shown.testing,
            handlers: &shown.handlers,
            rules: &shown.rules,
            routes: &shown.routes,
        };
        let body = toml::to_string(&view)
            .map_err(|e| ConfigError(format!("cannot write the configuration as TOML: {e}")))?;

        let mut out = String::from(
            "# The effective sansmail configuration: every key with its value,\n\
             # defaults filled in. Usable as a config file (--config FILE).\n",
        );
        let mut placed = vec![false; notes.len()];
        for line in body.lines() {
            out.push_str(line);
            out.push('\n');
            for (i, (header, text)) in notes.iter().enumerate() {
                if !placed[i] && line == header {
                    out.push_str(text);
                    out.push('\n');
                    placed[i] = true;
                }
            }
        }
        // A section that printed no header of its own (none is expected:
        // every section has keys) still gets its comments.
        for (i, (header, text)) in notes.iter().enumerate() {
            if !placed[i] {
                out.push_str(&format!("{header}\n{text}\n"));
            }
        }
        Ok(out)
    }
}

/// A table name as TOML writes it in a header: bare when it can be.
fn toml_key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare {
        name.to_owned()
    } else {
        toml::Value::String(name.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The round trip the command promises: printed, parsed again, equal.
    fn round_trip(c: &Config, secrets: Secrets) -> Config {
        let text = c.to_toml(secrets).unwrap();
        let (again, warnings) = Config::parse_with_warnings(&text)
            .unwrap_or_else(|e| panic!("printed config does not parse: {e}\n{text}"));
        assert_eq!(warnings, Vec::<String>::new(), "{text}");
        again
    }

    #[test]
    fn the_defaults_round_trip() {
        let c = Config::default();
        let again = round_trip(&c, Secrets::Omit);
        assert_eq!(format!("{again:?}"), format!("{c:?}"));
    }

    const FULL: &str = r#"
data_dir = "/var/mail/x"
hostname = "mx.example.test"
domains = ["Example.test", "other.test"]
[smtp]
listen = []
listen_tls = ["127.0.0.1:465"]
[imap]
flag_sync = "durable"
[tls]
cert = "/etc/c.pem"
key = "/etc/k.pem"
[auth]
plaintext = "never"
cache_ttl_ms = 0
[limits]
quota_bytes = 1000
max_connections_per_ip = 7
[lmtp]
listen = ["127.0.0.1:24"]
[http]
auth = "token"
token = "tok-SECRET"
[outbound]
smarthost = "smtps://relay.example.net:465"
smarthost_user = "u"
smarthost_password = "pw-SECRET"
retry = ["30s", "90m", "2h"]
expire = "3d"
tls = "required"
resolvers = ["127.0.0.1:5353"]
[dkim]
sign = false
[checks]
dmarc_policy = false
[hooks]
pre_receive = "http://127.0.0.1:9/check"
[testing]
catch_all = true
fixtures = "fx"
[[rules]]
recipient = "reject@example.test"
action = "reject"
code = 550
status = "5.1.1"
text = "User unknown"
[[rules]]
sender = ""
action = "tempfail"
probability = 0.25
[[routes]]
recipient = "*@example.com"
to = ["local", "notify", "my queue"]
[handlers.notify]
type = "webhook"
url = "http://127.0.0.1:9000/hook"
secret = "hook-SECRET"
[handlers."my queue"]
type = "redis"
url = "redis://127.0.0.1:6379"
list = "incoming"
"#;

    #[test]
    fn every_section_round_trips_with_secrets_shown() {
        let c = Config::parse(FULL).unwrap();
        let again = round_trip(&c, Secrets::Show);
        assert_eq!(format!("{again:?}"), format!("{c:?}"));
        let text = c.to_toml(Secrets::Show).unwrap();
        assert!(text.contains("flag_sync = \"durable\""), "{text}");
        assert!(
            text.contains("retry = [\"30s\", \"90m\", \"2h\"]"),
            "{text}"
        );
        assert!(text.contains("expire = \"3d\""), "{text}");
        assert!(text.contains("[handlers.\"my queue\"]"), "{text}");
    }

    #[test]
    fn secrets_are_left_out_with_a_comment() {
        let c = Config::parse(FULL).unwrap();
        let text = c.to_toml(Secrets::Omit).unwrap();
        for secret in ["tok-SECRET", "pw-SECRET", "hook-SECRET"] {
            assert!(!text.contains(secret), "{secret} printed:\n{text}");
        }
        assert!(text.contains("[http]\n# token: set, not printed"), "{text}");
        assert!(
            text.contains("[handlers.notify]\n# secret: set, not printed"),
            "{text}"
        );
        assert!(text.contains("# smarthost_password: set, not printed"));
        // Everything else is unchanged.
        let mut expected = c.clone();
        expected.http.token = None;
        expected.outbound.smarthost_password = None;
        if let Some(HandlerConfig::Webhook { secret, .. }) = expected.handlers.get_mut("notify") {
            *secret = None;
        }
        let again = round_trip(&c, Secrets::Omit);
        assert_eq!(format!("{again:?}"), format!("{expected:?}"));
    }

    #[test]
    fn unset_optional_keys_are_commented_under_their_section() {
        let text = Config::default().to_toml(Secrets::Omit).unwrap();
        assert!(
            text.contains("[tls]\n# cert, key: unset (a self-signed certificate"),
            "{text}"
        );
        assert!(text.contains("# quota_bytes: unset (no quota)"), "{text}");
        assert!(
            text.contains("# smarthost: unset (delivery by MX)"),
            "{text}"
        );
    }
}
