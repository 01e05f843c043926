//! The sections of docs/DESIGN.md §5 (pipeline, outbound, checks, LMTP, HTTP,
//! test rigs). Every key is optional; the defaults are the ones the design
//! shows. Each section is deserialised straight into its typed struct
//! (`#[serde(default)]`), so a missing key takes the `Default` below and an
//! unknown key is reported by `serde_ignored` like any other.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ConfigError;

/// `[lmtp]` (§5.4): RFC 2033 for an MTA in front; listener name `lmtp`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct LmtpConfig {
    /// Listen addresses; empty (the default) turns LMTP off.
    pub listen: Vec<String>,
}

/// How `/api` requests are authenticated (§5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpAuth {
    /// `Authorization: Bearer <token>` (the default).
    #[default]
    Token,
    /// No authentication (test rigs).
    None,
}

/// `[http]` (§5.5): API, metrics and web UI; listener name `http`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Listen addresses (default `127.0.0.1:8025`).
    pub listen: Vec<String>,
    /// `token` or `none`.
    pub auth: HttpAuth,
    /// The API token; none means one generated once into
    /// `data_dir/api-token` (0600).
    pub token: Option<String>,
    /// How long a client may take to send a request head, and how long
    /// an idle keep-alive connection stays open (slowloris defence);
    /// default 10000.
    pub header_timeout_ms: u64,
    /// How long a client may take to send a request body; default 60000.
    pub body_timeout_ms: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: vec!["127.0.0.1:8025".into()],
            auth: HttpAuth::Token,
            token: None,
            header_timeout_ms: 10_000,
            body_timeout_ms: 60_000,
        }
    }
}

/// `[testing]` (§5.6).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TestingConfig {
    /// Accept every recipient at any domain and deliver it locally into an
    /// account created on first delivery (password = the address).
    pub catch_all: bool,
    /// `<address>/<Mailbox>/*.eml` (+ `.eml.json`), loaded at start and on
    /// `POST /api/v1/reset`.
    pub fixtures: Option<PathBuf>,
    /// Hash new passwords with a cheap argon2 parameter set
    /// ([`maildir::PasswordHashing::Fast`]). Not a config key: only
    /// `sansmail::TestServer` sets it, for throw-away accounts.
    #[serde(skip)]
    pub fast_password_hashing: bool,
}

/// What a `[[rules]]` entry does (§5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// 5xx at RCPT.
    Reject,
    /// 4xx at RCPT.
    Tempfail,
    /// Accept, deliver nothing, send an RFC 3464 DSN to the sender.
    Bounce,
    /// Accept, deliver nothing.
    Discard,
    /// Accept and stop evaluating rules.
    Accept,
}

/// One `[[rules]]` entry, evaluated at RCPT TO in order; first match wins.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RuleConfig {
    /// Glob on the recipient (case-insensitive `*`/`?`); none = any.
    pub recipient: Option<String>,
    /// Glob on MAIL FROM (`""` is the null sender); none = any.
    pub sender: Option<String>,
    /// What to do.
    pub action: RuleAction,
    /// Reply code (reject default 550, tempfail default 451).
    pub code: Option<u16>,
    /// Enhanced status code.
    pub status: Option<String>,
    /// Reply text.
    pub text: Option<String>,
    /// Below 1.0 the rule applies at random (chaos testing); default 1.0.
    #[serde(default = "one")]
    pub probability: f64,
}

impl RuleAction {
    /// The action as the config file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleAction::Reject => "reject",
            RuleAction::Tempfail => "tempfail",
            RuleAction::Bounce => "bounce",
            RuleAction::Discard => "discard",
            RuleAction::Accept => "accept",
        }
    }
}

fn one() -> f64 {
    1.0
}

/// One `[[routes]]` entry: per recipient, first match wins.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RouteConfig {
    /// Glob on the recipient; none = any.
    pub recipient: Option<String>,
    /// Targets: `local`, `outbound`, `discard`, or a `[handlers.NAME]`.
    pub to: Vec<String>,
}

/// A named handler (`[handlers.NAME]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum HandlerConfig {
    /// RPUSH one JSON object per recipient onto `list`.
    Redis {
        /// `redis://host:port[/db]`.
        url: String,
        /// The list key.
        list: String,
    },
    /// POST the same JSON to `url`, from a durable outbox, until a 2xx.
    Webhook {
        /// `http://...`.
        url: String,
        /// HMAC-SHA256 key for `X-Sansmail-Signature`.
        secret: Option<String>,
    },
}

/// `[hooks]` (§5.1).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct HooksConfig {
    /// POSTed envelope + headers after DATA; its answer decides.
    pub pre_receive: Option<String>,
    /// Slower than this is 451 (fail closed); default 5000.
    pub pre_receive_timeout_ms: u64,
}

impl Default for HooksConfig {
    fn default() -> Self {
        HooksConfig {
            pre_receive: None,
            pre_receive_timeout_ms: 5000,
        }
    }
}

/// `[outbound] tls` for MX delivery (§5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboundTls {
    /// STARTTLS when offered, certificate not verified (the default).
    #[default]
    Opportunistic,
    /// A verified certificate, else retry later.
    Required,
    /// Never STARTTLS.
    None,
}

/// `[outbound]` (§5.2).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct OutboundConfig {
    /// Relay everything here instead of MX: `smtp://host:port` (STARTTLS)
    /// or `smtps://host:port` (implicit TLS).
    pub smarthost: Option<String>,
    /// AUTH user for the smarthost.
    pub smarthost_user: Option<String>,
    /// AUTH password for the smarthost.
    pub smarthost_password: Option<String>,
    /// TLS policy for MX delivery.
    pub tls: OutboundTls,
    /// DNS servers `ip:port`; empty = /etc/resolv.conf.
    pub resolvers: Vec<String>,
    /// TCP port for MX delivery (tests point it elsewhere); default 25.
    pub mx_port: u16,
    /// Delay before attempt 2, 3, ...; the last repeats.
    #[serde(deserialize_with = "durations", serialize_with = "write_durations")]
    pub retry: Vec<Duration>,
    /// After this, a failure DSN (default 5 days).
    #[serde(deserialize_with = "duration", serialize_with = "write_duration")]
    pub expire: Duration,
    /// A "delayed" DSN once after this (default 4 hours).
    #[serde(deserialize_with = "duration", serialize_with = "write_duration")]
    pub delay_notice: Duration,
    /// Concurrent outbound connections (default 32).
    pub max_connections: usize,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        let m = |n: u64| Duration::from_secs(60 * n);
        OutboundConfig {
            smarthost: None,
            smarthost_user: None,
            smarthost_password: None,
            tls: OutboundTls::Opportunistic,
            resolvers: Vec::new(),
            mx_port: 25,
            retry: vec![m(1), m(5), m(15), m(60), m(120), m(240)],
            expire: m(5 * 24 * 60),
            delay_notice: m(240),
            max_connections: 32,
        }
    }
}

/// `[dkim]` (§5.2).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct DkimConfig {
    /// The selector (default `sansmail`).
    pub selector: String,
    /// Sign mail from local domains (default true).
    pub sign: bool,
}

impl Default for DkimConfig {
    fn default() -> Self {
        DkimConfig {
            selector: "sansmail".into(),
            sign: true,
        }
    }
}

/// `[checks]` (§5.3): on `[smtp]` only, not for authenticated senders.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ChecksConfig {
    /// SPF (RFC 7208).
    pub spf: bool,
    /// DKIM (RFC 6376).
    pub dkim: bool,
    /// DMARC (RFC 7489).
    pub dmarc: bool,
    /// Enforce DMARC p=reject (550 5.7.1) and p=quarantine (Junk).
    pub dmarc_policy: bool,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig {
            spf: true,
            dkim: true,
            dmarc: true,
            dmarc_policy: true,
        }
    }
}

/// Parses `30s`, `5m`, `1h`, `5d` (or a bare number of seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30s, 5m, 1h or 5d"))?;
    let secs = match unit {
        "" | "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => None,
    }
    .ok_or_else(|| format!("`{text}` is not a duration like 30s, 5m, 1h or 5d"))?;
    Ok(Duration::from_secs(secs))
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

fn durations<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .map(|t| parse_duration(t).map_err(serde::de::Error::custom))
        .collect()
}

/// Writes a duration the way [`parse_duration`] reads it, in the largest
/// unit that divides it (`300s` is `5m`), so `sansmail config` prints
/// `5d` rather than `432000`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn write_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

fn write_durations<S: Serializer>(d: &[Duration], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(d.iter().map(|d| format_duration(*d)))
}

impl super::Config {
    /// Checks of the §5 sections that serde cannot express.
    pub(super) fn validate_part2(&self) -> Result<(), ConfigError> {
        for r in &self.rules {
            if !(0.0..=1.0).contains(&r.probability) {
                return Err(ConfigError(format!(
                    "[[rules]] probability {} is not between 0 and 1",
                    r.probability
                )));
            }
            if let Some(code) = r.code {
                let ok = match r.action {
                    RuleAction::Reject => (500..600).contains(&code),
                    RuleAction::Tempfail => (400..500).contains(&code),
                    _ => true,
                };
                if !ok {
                    return Err(ConfigError(format!(
                        "[[rules]] code {code} does not fit action {}",
                        r.action.as_str()
                    )));
                }
            }
        }
        for route in &self.routes {
            for target in &route.to {
                let builtin = matches!(target.as_str(), "local" | "outbound" | "discard");
                if !builtin && !self.handlers.contains_key(target) {
                    return Err(ConfigError(format!(
                        "[[routes]] target `{target}` is neither local, outbound, discard nor a [handlers.{target}]"
                    )));
                }
            }
        }
        // The pipeline's clients speak plain HTTP and RESP (they run next
        // to the server); anything else is a start-up error, not a
        // failure at the first message.
        for (name, handler) in &self.handlers {
            let (url, scheme) = match handler {
                HandlerConfig::Redis { url, .. } => (url, "redis://"),
                HandlerConfig::Webhook { url, .. } => (url, "http://"),
            };
            if !url.starts_with(scheme) {
                return Err(ConfigError(format!(
                    "[handlers.{name}] url `{url}` must start with {scheme}"
                )));
            }
        }
        if let Some(url) = &self.hooks.pre_receive
            && !url.starts_with("http://")
        {
            return Err(ConfigError(format!(
                "[hooks] pre_receive `{url}` must start with http://"
            )));
        }
        if self.outbound.retry.is_empty() {
            return Err(ConfigError(
                "[outbound] retry must list at least one delay".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("4h").unwrap(), Duration::from_secs(14_400));
        assert_eq!(parse_duration("5d").unwrap(), Duration::from_secs(432_000));
        assert!(parse_duration("5w").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
        for secs in [0, 59, 60, 90, 3600, 5400, 86_400, 432_000, 432_001] {
            let d = Duration::from_secs(secs);
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d, "{secs}");
        }
        assert_eq!(format_duration(Duration::from_secs(432_000)), "5d");
        assert_eq!(format_duration(Duration::from_secs(5400)), "90m");
    }
}
