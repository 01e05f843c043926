//! The server's Prometheus metrics (`GET /metrics`, docs/DESIGN.md §5.5), one
//! registry per running server so that several servers in one process
//! (parallel `TestServer`s) count separately.
//!
//! Call sites are one-line increments in the glue: sessions in
//! `server.rs`, logins in `passwords.rs`, messages and delivery latency in
//! the SMTP glue and the HTTP injection.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The `listener` label: which front door a message came through
/// (`smtp`, `submission`, `lmtp`, `http`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabel {
    /// The listener name without the implicit-TLS `s`.
    pub listener: String,
}

/// The `protocol` label of session metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProtocolLabel {
    /// `smtp`, `submission`, `imap`, `pop3`, `lmtp` or `http`.
    pub protocol: String,
}

/// The `result` label of login metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// `ok` or `failed`.
    pub result: &'static str,
}

/// Every metric of one server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    received: Family<ListenerLabel, Counter>,
    delivered: Family<ListenerLabel, Counter>,
    bounced: Family<ListenerLabel, Counter>,
    queue_size: Gauge,
    sessions: Family<ProtocolLabel, Counter>,
    sessions_active: Family<ProtocolLabel, Gauge>,
    logins: Family<ResultLabel, Counter>,
    delivery_seconds: Histogram,
}

/// The protocol name of a listener name (`imaps` -> `imap`).
#[must_use]
pub fn protocol_of(listener: &str) -> &str {
    match listener {
        "smtps" => "smtp",
        "submissions" => "submission",
        "imaps" => "imap",
        "pop3s" => "pop3",
        other => other,
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with every metric registered (prefix `sansmail_`).
    #[must_use]
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sansmail");
        let received = Family::<ListenerLabel, Counter>::default();
        let delivered = Family::<ListenerLabel, Counter>::default();
        let bounced = Family::<ListenerLabel, Counter>::default();
        let queue_size = Gauge::default();
        let sessions = Family::<ProtocolLabel, Counter>::default();
        let sessions_active = Family::<ProtocolLabel, Gauge>::default();
        let logins = Family::<ResultLabel, Counter>::default();
        // 1 ms .. ~16 s: an fsync-bound local delivery is milliseconds, a
        // slow disk or a big message seconds.
        let delivery_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register(
            "messages_received",
            "Messages whose data was received completely, by listener",
            received.clone(),
        );
        registry.register(
            "messages_delivered",
            "Messages durably stored for at least one recipient, by listener",
            delivered.clone(),
        );
        registry.register(
            "messages_bounced",
            "Messages refused permanently after their data was received, by listener",
            bounced.clone(),
        );
        registry.register(
            "queue_size",
            "Messages waiting in the outbound queue",
            queue_size.clone(),
        );
        registry.register(
            "sessions",
            "Connections accepted, by protocol",
            sessions.clone(),
        );
        registry.register(
            "sessions_active",
            "Connections open now, by protocol",
            sessions_active.clone(),
        );
        registry.register(
            "logins",
            "Password checks (AUTH, LOGIN, USER/PASS) by result",
            logins.clone(),
        );
        registry.register(
            "delivery_duration_seconds",
            "Time from the end of the message data to the durable commit",
            delivery_seconds.clone(),
        );
        // Make the families visible with zero values before the first event,
        // so a scraper sees every series from the start.
        for l in ["smtp", "submission", "lmtp", "http"] {
            let label = ListenerLabel { listener: l.into() };
            let _ = received.get_or_create(&label);
            let _ = delivered.get_or_create(&label);
            let _ = bounced.get_or_create(&label);
        }
        for r in ["ok", "failed"] {
            let _ = logins.get_or_create(&ResultLabel { result: r });
        }
        Metrics {
            registry,
            received,
            delivered,
            bounced,
            queue_size,
            sessions,
            sessions_active,
            logins,
            delivery_seconds,
        }
    }

    fn listener(name: &str) -> ListenerLabel {
        ListenerLabel {
            listener: protocol_of(name).to_owned(),
        }
    }

    /// A message's data was received on `listener`.
    pub fn message_received(&self, listener: &str) {
        self.received.get_or_create(&Self::listener(listener)).inc();
    }

    /// A message was durably stored; `latency` from end of data to commit.
    pub fn message_delivered(&self, listener: &str, latency: Duration) {
        self.delivered
            .get_or_create(&Self::listener(listener))
            .inc();
        self.delivery_seconds.observe(latency.as_secs_f64());
    }

    /// A received message was refused permanently.
    pub fn message_bounced(&self, listener: &str) {
        self.bounced.get_or_create(&Self::listener(listener)).inc();
    }

    /// Sets the outbound queue size.
    pub fn set_queue_size(&self, n: i64) {
        self.queue_size.set(n);
    }

    /// A connection was accepted on `listener`; the guard counts it as
    /// active until dropped.
    #[must_use]
    pub fn session_started(&self, listener: &str) -> SessionGuard {
        let label = ProtocolLabel {
            protocol: protocol_of(listener).to_owned(),
        };
        self.sessions.get_or_create(&label).inc();
        let active = self.sessions_active.get_or_create(&label).clone();
        active.inc();
        SessionGuard { active }
    }

    /// A password check ended.
    pub fn login(&self, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.logins.get_or_create(&ResultLabel { result }).inc();
    }

    /// The Prometheus text exposition (OpenMetrics text, `# EOF` last).
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Counts one open connection in `sessions_active` until dropped.
#[derive(Debug)]
pub struct SessionGuard {
    active: Gauge,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.active.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_exposition_names_and_moves() {
        let m = Metrics::new();
        m.message_received("smtps");
        m.message_delivered("smtp", Duration::from_millis(3));
        m.login(false);
        let g = m.session_started("imaps");
        let text = m.encode();
        assert!(text.contains("sansmail_messages_received_total{listener=\"smtp\"} 1\n"));
        assert!(text.contains("sansmail_messages_delivered_total{listener=\"smtp\"} 1\n"));
        assert!(text.contains("sansmail_logins_total{result=\"failed\"} 1\n"));
        assert!(text.contains("sansmail_sessions_active{protocol=\"imap\"} 1\n"));
        assert!(text.contains("sansmail_delivery_duration_seconds_count 1\n"));
        assert!(text.ends_with("# EOF\n"));
        drop(g);
        assert!(
            m.encode()
                .contains("sansmail_sessions_active{protocol=\"imap\"} 0\n")
        );
    }
}
