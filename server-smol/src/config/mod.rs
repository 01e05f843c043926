//! The configuration file (docs/DESIGN.md §4) and its embedded defaults.
//!
//! Every key is optional; a missing key takes the default shown in
//! [`DEFAULT_CONFIG`]. A missing key inside a listener section keeps that
//! section's own default (so `[imap] listen = []` turns off plain IMAP but
//! keeps `listen_tls`). Unknown keys are reported as warnings, not errors, so
//! a config written for a newer sansmail still starts an older one.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod part2;
mod print;
pub use part2::{
    ChecksConfig, DkimConfig, HandlerConfig, HooksConfig, HttpAuth, HttpConfig, LmtpConfig,
    OutboundConfig, OutboundTls, RouteConfig, RuleAction, RuleConfig, TestingConfig,
    parse_duration,
};
pub use print::Secrets;

/// The embedded defaults, exactly as docs/DESIGN.md §4 documents them.
pub const DEFAULT_CONFIG: &str = r#"data_dir = "sansmail-data"
hostname = "localhost"
domains  = ["localhost"]

[smtp]
listen     = ["127.0.0.1:2525"]
listen_tls = []
[submission]
listen     = ["127.0.0.1:2587"]
listen_tls = ["127.0.0.1:2465"]
[imap]
listen     = ["127.0.0.1:2143"]
listen_tls = ["127.0.0.1:2993"]
[pop3]
listen     = ["127.0.0.1:2110"]
listen_tls = ["127.0.0.1:2995"]
[auth]
plaintext = "loopback"
[limits]
max_message_size = 52428800
"#;

/// The whole server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where mail, the index and generated TLS material live (relative paths
    /// are relative to the working directory).
    pub data_dir: PathBuf,
    /// Used in greetings and `Received:` headers.
    pub hostname: String,
    /// Mail for these domains is delivered locally (lower-cased).
    pub domains: Vec<String>,
    /// `[smtp]`: MX-style receiving.
    pub smtp: Listeners,
    /// `[submission]`: AUTH required before MAIL FROM.
    pub submission: Listeners,
    /// `[imap]`.
    pub imap: Listeners,
    /// `[imap] flag_sync`: when STORE's flag changes become durable.
    /// An extension of the contract.
    pub imap_flag_sync: FlagSync,
    /// `[pop3]`.
    pub pop3: Listeners,
    /// `[tls]`: certificate and key; none means a generated self-signed pair.
    pub tls: TlsConfig,
    /// `[auth]`.
    pub auth: AuthConfig,
    /// `[limits]`.
    pub limits: LimitsConfig,
    /// `[lmtp]` (§5.4).
    pub lmtp: LmtpConfig,
    /// `[http]` (§5.5).
    pub http: HttpConfig,
    /// `[testing]` (§5.6).
    pub testing: TestingConfig,
    /// `[[rules]]` (§5.1), in order.
    pub rules: Vec<RuleConfig>,
    /// `[[routes]]` (§5.1), in order.
    pub routes: Vec<RouteConfig>,
    /// `[handlers.NAME]` (§5.1).
    pub handlers: std::collections::BTreeMap<String, HandlerConfig>,
    /// `[hooks]` (§5.1).
    pub hooks: HooksConfig,
    /// `[outbound]` (§5.2).
    pub outbound: OutboundConfig,
    /// `[dkim]` (§5.2).
    pub dkim: DkimConfig,
    /// `[checks]` (§5.3).
    pub checks: ChecksConfig,
}

/// A protocol's listeners: `listen` (plain, with STARTTLS/STLS) and
/// `listen_tls` (implicit TLS). Empty lists turn them off.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Listeners {
    /// Plain-text listeners that offer the protocol's TLS upgrade.
    pub listen: Vec<String>,
    /// Implicit-TLS listeners.
    pub listen_tls: Vec<String>,
}

/// `[tls]`: PEM files; both or neither.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first).
    pub cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
}

/// When password authentication is allowed without TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlaintextPolicy {
    /// Only over TLS.
    Never,
    /// Over TLS, or without TLS from a loopback address (the default).
    Loopback,
    /// Always, also without TLS.
    Always,
}

impl PlaintextPolicy {
    /// Whether a client at `peer` may send a password over a connection that
    /// is not (yet) encrypted.
    pub fn allows_plaintext(self, peer: &SocketAddr) -> bool {
        match self {
            PlaintextPolicy::Never => false,
            PlaintextPolicy::Always => true,
            PlaintextPolicy::Loopback => is_loopback(peer),
        }
    }
}

/// Loopback, also for IPv4-mapped IPv6 addresses.
pub fn is_loopback(peer: &SocketAddr) -> bool {
    match peer {
        SocketAddr::V4(a) => a.ip().is_loopback(),
        SocketAddr::V6(a) => {
            a.ip().is_loopback() || a.ip().to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// `[auth]`.
#[derive(Debug, Clone, Serialize)]
pub struct AuthConfig {
    /// See [`PlaintextPolicy`]; default `loopback`.
    pub plaintext: PlaintextPolicy,
    /// Delay before answering a failed login, in milliseconds (default 1000;
    /// Dovecot's `auth_failure_delay` is 2 s), at most 60000. It is also
    /// where the per-source penalty starts. An extension of the contract.
    pub failure_delay_ms: u64,
    /// The per-source login penalty's cap in milliseconds (default 15000,
    /// Dovecot's `auth_penalty`; at most 600000; 0 turns the penalty off):
    /// each failed login from a source (an IPv4 address or an IPv6 /64)
    /// doubles the wait, starting at `failure_delay_ms`, before that
    /// source's next login is checked. An extension of the contract.
    pub penalty_max_ms: u64,
    /// How long a successful password check is remembered, in milliseconds
    /// (default 3600000, Dovecot's `auth_cache_ttl`; at most 86400000; 0
    /// turns the cache off). Deleting an account or changing its password
    /// forgets it at once. An extension of the contract.
    pub cache_ttl_ms: u64,
}

/// `[limits]`.
#[derive(Debug, Clone, Serialize)]
pub struct LimitsConfig {
    /// Largest accepted message in bytes; also EHLO's `SIZE` value.
    pub max_message_size: u64,
    /// Concurrent connections per client IP address over all listeners
    /// (default 50, like Postfix's `smtpd_client_connection_count_limit`).
    /// Loopback clients are exempt, as Postfix exempts `$mynetworks`.
    /// An extension of the contract.
    pub max_connections_per_ip: usize,
    /// Concurrent logged-in IMAP sessions per account (default 100; Dovecot
    /// limits 10 per user and address). Over it, LOGIN answers
    /// `NO [LIMIT]`. An extension of the contract.
    pub max_connections_per_account: usize,
    /// Per-account quota on the total size of all messages, in bytes (none
    /// by default). Over it, SMTP answers `552 5.2.2` and IMAP APPEND
    /// `[OVERQUOTA]`. An extension of the contract.
    pub quota_bytes: Option<u64>,
    /// Per-account quota on the number of messages (none by default).
    /// An extension of the contract.
    pub quota_messages: Option<u64>,
    /// How long a TLS handshake may take, implicit TLS or after
    /// STARTTLS/STLS, in milliseconds (default 30000; 1 to 600000). A
    /// client that stays silent after `STARTTLS` is then disconnected.
    /// An extension of the contract.
    pub tls_handshake_timeout_ms: u64,
}

/// `[imap] flag_sync`: when a STORE (flags and keywords only) is durable.
/// APPEND, COPY, MOVE and EXPUNGE are always answered after their durable
/// commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagSync {
    /// The default: answered after the in-memory index commit, durable
    /// within `maildir::FLAG_SYNC_WINDOW` (200 ms) by a background flush,
    /// like Dovecot's default `mail_fsync = optimized` (docs/DESIGN.md §3).
    #[default]
    Batched,
    /// Answered only after the directory fsync and a durable index commit.
    Durable,
}

/// A configuration problem, printed as one line.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

// The raw file: every key optional so that defaults can be filled in per
// section afterwards.
#[derive(Deserialize, Default)]
struct RawConfig {
    data_dir: Option<PathBuf>,
    hostname: Option<String>,
    domains: Option<Vec<String>>,
    smtp: Option<RawListeners>,
    submission: Option<RawListeners>,
    imap: Option<RawImap>,
    pop3: Option<RawListeners>,
    tls: Option<RawTls>,
    auth: Option<RawAuth>,
    limits: Option<RawLimits>,
    lmtp: Option<LmtpConfig>,
    http: Option<HttpConfig>,
    testing: Option<TestingConfig>,
    rules: Option<Vec<RuleConfig>>,
    routes: Option<Vec<RouteConfig>>,
    handlers: Option<std::collections::BTreeMap<String, HandlerConfig>>,
    hooks: Option<HooksConfig>,
    outbound: Option<OutboundConfig>,
    dkim: Option<DkimConfig>,
    checks: Option<ChecksConfig>,
}

#[derive(Deserialize, Default)]
struct RawListeners {
    listen: Option<Vec<String>>,
    listen_tls: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
struct RawImap {
    listen: Option<Vec<String>>,
    listen_tls: Option<Vec<String>>,
    flag_sync: Option<FlagSync>,
}

#[derive(Deserialize, Default)]
struct RawTls {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
struct RawAuth {
    plaintext: Option<PlaintextPolicy>,
    failure_delay_ms: Option<u64>,
    penalty_max_ms: Option<u64>,
    cache_ttl_ms: Option<u64>,
}

#[derive(Deserialize, Default)]
struct RawLimits {
    max_message_size: Option<u64>,
    max_connections_per_ip: Option<usize>,
    max_connections_per_account: Option<usize>,
    quota_bytes: Option<u64>,
    quota_messages: Option<u64>,
    tls_handshake_timeout_ms: Option<u64>,
}

fn listeners(raw: Option<RawListeners>, listen: &[&str], listen_tls: &[&str]) -> Listeners {
    let raw = raw.unwrap_or_default();
    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Listeners {
        listen: raw.listen.unwrap_or_else(|| own(listen)),
        listen_tls: raw.listen_tls.unwrap_or_else(|| own(listen_tls)),
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::parse(DEFAULT_CONFIG).expect("the embedded default configuration is valid")
    }
}

impl Config {
    /// Parses a configuration file's text. Unknown keys are returned as
    /// warnings.
    pub fn parse_with_warnings(text: &str) -> Result<(Config, Vec<String>), ConfigError> {
        let mut unknown = Vec::new();
        let de = toml::Deserializer::parse(text).map_err(|e| ConfigError(one_line(&e)))?;
        let raw: RawConfig = serde_ignored::deserialize(de, |path| {
            // serde_ignored writes `?` for the `Some` of an Option.
            let key: Vec<String> = path
                .to_string()
                .split('.')
                .filter(|part| *part != "?")
                .map(str::to_string)
                .collect();
            unknown.push(key.join("."))
        })
        .map_err(|e| ConfigError(one_line(&e)))?;
        let config = Config::from_raw(raw)?;
        let warnings = unknown
            .into_iter()
            .map(|k| format!("unknown configuration key `{k}` ignored"))
            .collect();
        Ok((config, warnings))
    }

    /// Parses a configuration file's text, ignoring unknown keys.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse_with_warnings(text).map(|(c, _)| c)
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read config {}: {e}", path.display())))?;
        Config::parse_with_warnings(&text)
            .map_err(|e| ConfigError(format!("config {}: {}", path.display(), e.0)))
    }

    fn from_raw(raw: RawConfig) -> Result<Config, ConfigError> {
        let auth = raw.auth.unwrap_or_default();
        let limits = raw.limits.unwrap_or_default();
        let tls = raw.tls.unwrap_or_default();
        let imap = raw.imap.unwrap_or_default();
        let imap_flag_sync = imap.flag_sync.unwrap_or_default();
        let imap_listeners = RawListeners {
            listen: imap.listen,
            listen_tls: imap.listen_tls,
        };
        let config = Config {
            data_dir: raw
                .data_dir
                .unwrap_or_else(|| PathBuf::from("sansmail-data")),
            hostname: raw.hostname.unwrap_or_else(|| "localhost".into()),
            domains: raw
                .domains
                .unwrap_or_else(|| vec!["localhost".into()])
                .into_iter()
                .map(|d| d.trim().to_ascii_lowercase())
                .collect(),
            smtp: listeners(raw.smtp, &["127.0.0.1:2525"], &[]),
            submission: listeners(raw.submission, &["127.0.0.1:2587"], &["127.0.0.1:2465"]),
            imap: listeners(
                Some(imap_listeners),
                &["127.0.0.1:2143"],
                &["127.0.0.1:2993"],
            ),
            imap_flag_sync,
            pop3: listeners(raw.pop3, &["127.0.0.1:2110"], &["127.0.0.1:2995"]),
            tls: TlsConfig {
                cert: tls.cert,
                key: tls.key,
            },
            auth: AuthConfig {
                plaintext: auth.plaintext.unwrap_or(PlaintextPolicy::Loopback),
                failure_delay_ms: auth.failure_delay_ms.unwrap_or(1000),
                penalty_max_ms: auth.penalty_max_ms.unwrap_or(15_000),
                cache_ttl_ms: auth.cache_ttl_ms.unwrap_or(3_600_000),
            },
            limits: LimitsConfig {
                max_message_size: limits.max_message_size.unwrap_or(52_428_800),
                max_connections_per_ip: limits.max_connections_per_ip.unwrap_or(50),
                max_connections_per_account: limits.max_connections_per_account.unwrap_or(100),
                quota_bytes: limits.quota_bytes.filter(|&q| q > 0),
                quota_messages: limits.quota_messages.filter(|&q| q > 0),
                tls_handshake_timeout_ms: limits.tls_handshake_timeout_ms.unwrap_or(30_000),
            },
            lmtp: raw.lmtp.unwrap_or_default(),
            http: raw.http.unwrap_or_default(),
            testing: raw.testing.unwrap_or_default(),
            rules: raw.rules.unwrap_or_default(),
            routes: raw.routes.unwrap_or_default(),
            handlers: raw.handlers.unwrap_or_default(),
            hooks: raw.hooks.unwrap_or_default(),
            outbound: raw.outbound.unwrap_or_default(),
            dkim: raw.dkim.unwrap_or_default(),
            checks: raw.checks.unwrap_or_default(),
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError(
                "data_dir must not be empty (use \".\" for the working directory)".into(),
            ));
        }
        // Also keeps CR/LF out of greetings and Received: fields.
        if self.hostname.is_empty()
            || !self
                .hostname
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            // Debug formatting: CR/LF in the value must not split the
            // one-line error.
            return Err(ConfigError(format!(
                "hostname {:?} is not a valid host name (letters, digits, '.' and '-' only)",
                self.hostname
            )));
        }
        for d in &self.domains {
            if d.is_empty()
                || d.contains(['/', '\\', '@'])
                || d.chars().any(|c| c.is_control() || c.is_whitespace())
                || d.starts_with('.')
                || d.contains("..")
            {
                return Err(ConfigError(format!("domain {d:?} is not a valid domain")));
            }
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err(ConfigError(
                "[tls] needs both `cert` and `key`, or neither".into(),
            ));
        }
        if self.limits.max_message_size == 0 {
            return Err(ConfigError(
                "[limits] max_message_size must be greater than 0".into(),
            ));
        }
        let ranges: [(&str, u64, u64, u64); 4] = [
            (
                "[auth] failure_delay_ms",
                self.auth.failure_delay_ms,
                0,
                60_000,
            ),
            (
                "[auth] penalty_max_ms",
                self.auth.penalty_max_ms,
                0,
                600_000,
            ),
            ("[auth] cache_ttl_ms", self.auth.cache_ttl_ms, 0, 86_400_000),
            (
                "[limits] tls_handshake_timeout_ms",
                self.limits.tls_handshake_timeout_ms,
                1,
                600_000,
            ),
        ];
        for (key, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(ConfigError(format!(
                    "{key} = {value} is out of range ({min} to {max})"
                )));
            }
        }
        for (name, addr) in self.listener_specs() {
            resolve(name, addr)?;
        }
        self.validate_part2()
    }

    /// Every configured listener as (listener name, address text), in the
    /// order they are started and logged.
    pub fn listener_specs(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        let groups: [(&'static str, &'static str, &Listeners); 4] = [
            ("smtp", "smtps", &self.smtp),
            ("submission", "submissions", &self.submission),
            ("imap", "imaps", &self.imap),
            ("pop3", "pop3s", &self.pop3),
        ];
        for (plain, tls, l) in groups {
            out.extend(l.listen.iter().map(|a| (plain, a.as_str())));
            out.extend(l.listen_tls.iter().map(|a| (tls, a.as_str())));
        }
        out.extend(self.lmtp.listen.iter().map(|a| ("lmtp", a.as_str())));
        out
    }

    /// Whether `domain` is one of the local domains (case-insensitive).
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// Resolves a listener address (`ip:port` or `host:port`).
pub fn resolve(name: &str, addr: &str) -> Result<SocketAddr, ConfigError> {
    addr.to_socket_addrs()
        .ok()
        .and_then(|mut it| it.next())
        .ok_or_else(|| ConfigError(format!("[{name}] address `{addr}` is not host:port")))
}

/// A TOML error on one line: the message without the source snippet's
/// gutter (`2 | hostname = 3`, ` |   ^`) that the toml crate draws; the
/// offending source line is kept, quoted, so the key is named.
fn one_line(e: &dyn fmt::Display) -> String {
    fn snippet(l: &str) -> Option<&str> {
        l.split_once('|')
            .filter(|(gutter, _)| gutter.trim().chars().all(|c| c.is_ascii_digit()))
            .map(|(_, code)| code.trim())
    }
    let text = e.to_string();
    let mut source = None;
    let mut words = Vec::new();
    for l in text.lines().map(str::trim) {
        if l.is_empty() || l.chars().all(|c| c == '^' || c == ' ') {
            continue;
        }
        match snippet(l) {
            Some(code) => {
                if source.is_none()
                    && !code.is_empty()
                    && !code.chars().all(|c| c == '^' || c == ' ')
                {
                    source = Some(code.to_owned());
                }
            }
            None => words.push(l),
        }
    }
    let mut out = words.join(" ");
    if let Some(code) = source {
        out.push_str(&format!(" (`{code}`)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn toml_errors_are_one_line_without_the_snippet() {
        let e = Config::parse("data_dir = \"d\"\nhostname = 3\n").unwrap_err();
        assert_eq!(
            e.0,
            "TOML parse error at line 2, column 12 invalid type: integer `3`, expected a string \
             (`hostname = 3`)"
        );
    }

    #[test]
    fn embedded_defaults_match_the_contract() {
        let c = Config::default();
        assert_eq!(c.data_dir, PathBuf::from("sansmail-data"));
        assert_eq!(c.hostname, "localhost");
        assert_eq!(c.domains, vec!["localhost"]);
        assert_eq!(c.smtp.listen, vec!["127.0.0.1:2525"]);
        assert!(c.smtp.listen_tls.is_empty());
        assert_eq!(c.submission.listen_tls, vec!["127.0.0.1:2465"]);
        assert_eq!(c.imap.listen, vec!["127.0.0.1:2143"]);
        assert_eq!(c.pop3.listen_tls, vec!["127.0.0.1:2995"]);
        assert_eq!(c.auth.plaintext, PlaintextPolicy::Loopback);
        assert_eq!(c.limits.max_message_size, 52_428_800);
        let names: Vec<_> = c.listener_specs().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "smtp",
                "submission",
                "submissions",
                "imap",
                "imaps",
                "pop3",
                "pop3s"
            ]
        );
    }

    #[test]
    fn missing_keys_keep_their_section_default() {
        let (c, warnings) = Config::parse_with_warnings(
            "[imap]\nlisten = []\n[limits]\nmax_message_size = 1000\nfoo = 1\n",
        )
        .unwrap();
        assert!(c.imap.listen.is_empty());
        assert_eq!(c.imap.listen_tls, vec!["127.0.0.1:2993"]);
        assert_eq!(c.limits.max_message_size, 1000);
        assert_eq!(
            warnings,
            vec!["unknown configuration key `limits.foo` ignored"]
        );
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        for text in [
            "data_dir = 3",
            "[auth]\nplaintext = \"sometimes\"",
            "[smtp]\nlisten = [\"nonsense\"]",
            "[tls]\ncert = \"/x.pem\"",
            "hostname = \"bad host\"",
            "hostname = \"mx.example\\r\\nX-Injected: 1\"",
            "hostname = \"mx.example\\n\"",
            "data_dir = \"\"",
            "[auth]\nfailure_delay_ms = 86400000",
            "[auth]\npenalty_max_ms = 99999999999",
            "[limits]\ntls_handshake_timeout_ms = 0",
            "[[[",
        ] {
            let e = Config::parse(text).unwrap_err();
            assert!(!e.0.contains('\n'), "{text:?} gave a multi-line error {e}");
            assert!(!e.0.is_empty());
        }
    }

    #[test]
    fn hardening_values_are_checked() {
        let err = |t: &str| Config::parse(t).unwrap_err().0;
        assert_eq!(
            err("data_dir = \"\""),
            "data_dir must not be empty (use \".\" for the working directory)"
        );
        assert_eq!(
            err("hostname = \"a\\r\\nb\""),
            "hostname \"a\\r\\nb\" is not a valid host name (letters, digits, '.' and '-' only)"
        );
        assert_eq!(
            err("[auth]\nfailure_delay_ms = 3600000"),
            "[auth] failure_delay_ms = 3600000 is out of range (0 to 60000)"
        );
        assert_eq!(
            err("[limits]\ntls_handshake_timeout_ms = 0"),
            "[limits] tls_handshake_timeout_ms = 0 is out of range (1 to 600000)"
        );
        assert_eq!(
            err("[[rules]]\naction = \"reject\"\ncode = 451"),
            "[[rules]] code 451 does not fit action reject"
        );
        let c = Config::default();
        assert_eq!(c.auth.failure_delay_ms, 1000);
        assert_eq!(c.auth.penalty_max_ms, 15_000);
        assert_eq!(c.auth.cache_ttl_ms, 3_600_000);
        assert_eq!(c.limits.tls_handshake_timeout_ms, 30_000);
    }

    #[test]
    fn part2_sections_parse_with_their_defaults() {
        let c = Config::default();
        assert_eq!(c.http.listen, vec!["127.0.0.1:8025"]);
        assert_eq!(c.http.auth, HttpAuth::Token);
        assert!(c.lmtp.listen.is_empty());
        assert!(!c.testing.catch_all);
        assert_eq!(c.outbound.mx_port, 25);
        assert_eq!(c.outbound.retry.len(), 6);
        assert_eq!(c.dkim.selector, "sansmail");
        assert!(c.checks.dmarc_policy);
        assert_eq!(c.hooks.pre_receive_timeout_ms, 5000);

        let (c, warnings) = Config::parse_with_warnings(
            r#"
[[rules]]
recipient = "reject@example.test"
action = "reject"
code = 550
status = "5.1.1"
text = "User unknown"
[[rules]]
sender = ""
action = "tempfail"
probability = 0.5
[[routes]]
recipient = "*@example.com"
to = ["local", "incoming"]
[handlers.incoming]
type = "redis"
url  = "redis://127.0.0.1:6379"
list = "incoming_emails"
[handlers.notify]
type   = "webhook"
url    = "http://127.0.0.1:9000/hook"
secret = "change-me"
[outbound]
retry = ["1m", "5m"]
expire = "5d"
bogus = 1
[http]
auth = "none"
[testing]
catch_all = true
"#,
        )
        .unwrap();
        assert_eq!(c.rules.len(), 2);
        assert_eq!(c.rules[0].action, RuleAction::Reject);
        assert_eq!(c.rules[1].sender.as_deref(), Some(""));
        assert_eq!(c.rules[1].probability, 0.5);
        assert_eq!(c.routes[0].to, vec!["local", "incoming"]);
        assert!(matches!(
            c.handlers["incoming"],
            HandlerConfig::Redis { .. }
        ));
        assert!(matches!(
            c.handlers["notify"],
            HandlerConfig::Webhook { .. }
        ));
        assert_eq!(
            c.outbound.retry,
            vec![Duration::from_secs(60), Duration::from_secs(300)]
        );
        assert_eq!(c.http.auth, HttpAuth::None);
        assert!(c.testing.catch_all);
        assert_eq!(
            warnings,
            vec!["unknown configuration key `outbound.bogus` ignored"]
        );

        for bad in [
            "[[routes]]\nto = [\"nowhere\"]",
            "[[rules]]\naction = \"reject\"\ncode = 451",
            "[[rules]]\naction = \"explode\"",
            "[outbound]\nexpire = \"soon\"",
            "[handlers.x]\ntype = \"carrier-pigeon\"",
            "[handlers.x]\ntype = \"webhook\"\nurl = \"https://example.test/\"",
            "[handlers.x]\ntype = \"redis\"\nurl = \"127.0.0.1:6379\"\nlist = \"l\"",
            "[hooks]\npre_receive = \"ftp://x/\"",
        ] {
            let e = Config::parse(bad).unwrap_err();
            assert!(!e.0.contains('\n'), "{bad:?}: {e}");
        }
    }

    #[test]
    fn loopback_policy() {
        let lo: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:1".parse().unwrap();
        let far: SocketAddr = "192.0.2.1:1".parse().unwrap();
        assert!(PlaintextPolicy::Loopback.allows_plaintext(&lo));
        assert!(PlaintextPolicy::Loopback.allows_plaintext(&mapped));
        assert!(!PlaintextPolicy::Loopback.allows_plaintext(&far));
        assert!(!PlaintextPolicy::Never.allows_plaintext(&lo));
        assert!(PlaintextPolicy::Always.allows_plaintext(&far));
    }
}
