//! Where to deliver mail for a domain (RFC 5321 §5.1, RFC 7505).
//!
//! MX records in preference order (equal preferences shuffled, as §5.1
//! asks, to spread the load); no MX at all (NODATA): the domain's own
//! A/AAAA as an implicit MX of preference 0; a null MX (`0 .`): a permanent
//! failure at once (RFC 7505 §4.3: 556 5.1.10); NXDOMAIN: a permanent
//! failure (5.1.2). If we ourselves are one of the exchangers (our
//! hostname, or an address and port one of our SMTP listeners serves) that
//! one and every MX of a preference no better are dropped (§5.1); if none
//! is left the mail would loop back to us: a permanent failure (5.4.6).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};

use super::dns::{Dns, DnsFailure};

/// One exchanger to try, with its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxHost {
    /// The exchanger's name (lower-case, no trailing dot); the domain
    /// itself for an implicit MX.
    pub name: String,
    /// The MX preference (0 for an implicit MX).
    pub preference: u16,
    /// Its addresses, A before AAAA, with the delivery port.
    pub addrs: Vec<SocketAddr>,
}

/// Why no exchanger can be tried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MxError {
    /// Bounce now: the enhanced status code (RFC 3463) and the reason.
    Permanent {
        /// `5.1.10`, `5.1.2`, `5.4.4`, `5.4.6`.
        status: &'static str,
        /// One line for the DSN and `queue list`.
        reason: String,
    },
    /// Retry later (a DNS server failed or timed out).
    Temporary(String),
}

impl std::fmt::Display for MxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MxError::Permanent { status, reason } => write!(f, "{status} {reason}"),
            MxError::Temporary(why) => write!(f, "4.4.3 {why}"),
        }
    }
}

/// Who "we" are, so that mail is never sent to ourselves.
#[derive(Clone, Debug, Default)]
pub struct Myself {
    /// `hostname` and any other names of this host (compared
    /// case-insensitively, trailing dot ignored).
    pub names: Vec<String>,
    /// The addresses our SMTP listeners are bound to (an unspecified
    /// address such as `0.0.0.0:25` covers every local address).
    pub listeners: Vec<SocketAddr>,
}

impl Myself {
    fn is_me(&self, name: &str, addrs: &[SocketAddr]) -> bool {
        let name = name.trim_end_matches('.');
        if self
            .names
            .iter()
            .any(|n| n.trim_end_matches('.').eq_ignore_ascii_case(name))
        {
            return true;
        }
        addrs.iter().any(|a| {
            self.listeners.iter().any(|l| {
                l.port() == a.port()
                    && (l.ip() == a.ip()
                        || (l.ip().is_unspecified() && (a.ip().is_loopback() || is_local(a.ip()))))
            })
        })
    }
}

/// Whether an address is one of this host's own (bind test: binding
/// succeeds only for local addresses).
fn is_local(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// The exchangers to try for `domain`, best first, with `port` (`[outbound]
/// mx_port`) on every address.
///
/// # Errors
/// [`MxError`].
pub async fn resolve(
    dns: &Dns,
    domain: &str,
    port: u16,
    myself: &Myself,
) -> Result<Vec<MxHost>, MxError> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let mut records = match dns.mx(&domain).await {
        Ok(r) => r,
        Err(DnsFailure::NoRecords) => {
            // RFC 5321 §5.1: no MX, the domain is its own implicit MX.
            let addrs = host_addrs(dns, &domain, port).await.map_err(|e| match e {
                DnsFailure::Temporary(why) => MxError::Temporary(why),
                _ => MxError::Permanent {
                    status: "5.1.2",
                    reason: format!("{domain} has no MX and no address"),
                },
            })?;
            let host = MxHost {
                name: domain.clone(),
                preference: 0,
                addrs,
            };
            if myself.is_me(&host.name, &host.addrs) {
                return Err(loops(&domain));
            }
            return Ok(vec![host]);
        }
        Err(DnsFailure::NoSuchName) => {
            return Err(MxError::Permanent {
                status: "5.1.2",
                reason: format!("no such domain: {domain}"),
            });
        }
        Err(DnsFailure::Temporary(why)) => return Err(MxError::Temporary(why)),
    };
    // RFC 7505 §3: a null MX is `0 .`; a domain with one accepts no mail
    // (another record beside it is a misconfiguration: still refuse).
    if records.iter().any(|(_, name)| name == ".") {
        return Err(MxError::Permanent {
            status: "5.1.10",
            reason: format!("{domain} accepts no mail (null MX, RFC 7505)"),
        });
    }
    let seed = RandomState::new();
    records.sort_by_key(|(pref, name)| (*pref, seed.hash_one(name)));
    records.dedup_by(|a, b| a.1 == b.1);
    let mut hosts = Vec::with_capacity(records.len());
    let mut temporary = None;
    for (preference, name) in records {
        match host_addrs(dns, &name, port).await {
            Ok(addrs) => hosts.push(MxHost {
                name,
                preference,
                addrs,
            }),
            Err(DnsFailure::Temporary(why)) => temporary = Some(why),
            Err(_) => {
                tracing::debug!(domain, mx = name, "MX host has no address");
                // Still check it by name: an MX naming us without an
                // address is still us.
                hosts.push(MxHost {
                    name,
                    preference,
                    addrs: Vec::new(),
                });
            }
        }
    }
    // RFC 5321 §5.1: drop ourselves and every MX no better than us.
    if let Some(me) = hosts.iter().find(|h| myself.is_me(&h.name, &h.addrs)) {
        let cut = me.preference;
        hosts.retain(|h| h.preference < cut);
        if hosts.is_empty() {
            return Err(loops(&domain));
        }
    }
    hosts.retain(|h| !h.addrs.is_empty());
    if hosts.is_empty() {
        return Err(match temporary {
            Some(why) => MxError::Temporary(why),
            None => MxError::Permanent {
                status: "5.4.4",
                reason: format!("no MX host of {domain} has an address"),
            },
        });
    }
    Ok(hosts)
}

fn loops(domain: &str) -> MxError {
    MxError::Permanent {
        status: "5.4.6",
        reason: format!("mail for {domain} loops back to myself"),
    }
}

async fn host_addrs(dns: &Dns, host: &str, port: u16) -> Result<Vec<SocketAddr>, DnsFailure> {
    Ok(dns
        .ips(host)
        .await?
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn myself_matches_names_and_listeners() {
        let me = Myself {
            names: vec!["MX.Example.".into()],
            listeners: vec!["127.0.0.1:2525".parse().unwrap()],
        };
        assert!(me.is_me("mx.example", &[]));
        assert!(me.is_me("other", &["127.0.0.1:2525".parse().unwrap()]));
        assert!(!me.is_me("other", &["127.0.0.1:2526".parse().unwrap()]));
        assert!(!me.is_me("other", &["127.0.0.2:2525".parse().unwrap()]));
        let any = Myself {
            names: vec![],
            listeners: vec!["0.0.0.0:25".parse().unwrap()],
        };
        assert!(any.is_me("x", &["127.0.0.7:25".parse().unwrap()]));
        assert!(!any.is_me("x", &["192.0.2.1:25".parse().unwrap()]));
    }
}
