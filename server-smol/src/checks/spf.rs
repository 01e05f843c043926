//! SPF `check_host()` (RFC 7208 §4) over our resolver. The record grammar
//! and macro expansion are mail-auth's (`Spf::parse`, `Macro::eval`); the
//! evaluation is here because mail-auth's own evaluator needs its tokio
//! resolver.
//!
//! Limits (RFC 7208 §4.6.4): at most 10 mechanisms or modifiers that query
//! DNS (`include`, `a`, `mx`, `ptr`, `exists`, `redirect`), at most 10 MX
//! names per `mx`, at most 2 "void" lookups (NXDOMAIN or no answer), else
//! permerror. `ptr` (which §5.5 says SHOULD NOT be used) never matches.

use std::net::IpAddr;
use std::pin::Pin;

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::spf::{Macro, Mechanism, Qualifier, Spf, Variables};

use crate::outbound::dns::{Dns, DnsFailure};

/// RFC 7208 §2.6 results, spelled as in RFC 8601 `spf=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpfVerdict {
    /// No record (or no valid domain).
    None,
    /// `?`
    Neutral,
    /// `+`
    Pass,
    /// `-`
    Fail,
    /// `~`
    SoftFail,
    /// A DNS failure: try again later.
    TempError,
    /// A broken record or a limit exceeded.
    PermError,
}

impl SpfVerdict {
    /// The RFC 8601 result keyword.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SpfVerdict::None => "none",
            SpfVerdict::Neutral => "neutral",
            SpfVerdict::Pass => "pass",
            SpfVerdict::Fail => "fail",
            SpfVerdict::SoftFail => "softfail",
            SpfVerdict::TempError => "temperror",
            SpfVerdict::PermError => "permerror",
        }
    }
}

const MAX_DNS_MECHANISMS: u32 = 10;
const MAX_MX_NAMES: usize = 10;
const MAX_VOID_LOOKUPS: u32 = 2;

struct Eval<'a> {
    dns: &'a Dns,
    ip: IpAddr,
    sender: &'a str,
    helo: &'a str,
    hostname: &'a str,
    dns_mechanisms: u32,
    void_lookups: u32,
}

/// Why evaluation stopped early.
enum Stop {
    Temp,
    Perm,
}

impl Eval<'_> {
    fn count_dns(&mut self) -> Result<(), Stop> {
        self.dns_mechanisms += 1;
        if self.dns_mechanisms > MAX_DNS_MECHANISMS {
            return Err(Stop::Perm);
        }
        Ok(())
    }

    /// A lookup's failure: temporary stops, "void" counts.
    fn void(&mut self, f: DnsFailure) -> Result<(), Stop> {
        match f {
            DnsFailure::Temporary(_) => Err(Stop::Temp),
            DnsFailure::NoSuchName | DnsFailure::NoRecords => {
                self.void_lookups += 1;
                if self.void_lookups > MAX_VOID_LOOKUPS {
                    Err(Stop::Perm)
                } else {
                    Ok(())
                }
            }
        }
    }

    fn expand(&self, m: &Macro, domain: &str) -> String {
        let mut vars = Variables::new();
        vars.set_ip(&self.ip);
        vars.set_sender(self.sender.as_bytes().to_vec());
        vars.set_domain(domain.as_bytes().to_vec());
        vars.set_helo_domain(self.helo.as_bytes().to_vec());
        vars.set_host_domain(self.hostname.as_bytes().to_vec());
        m.eval(&vars, domain, false)
            .trim_end_matches('.')
            .to_ascii_lowercase()
    }

    async fn addrs_match(
        &mut self,
        name: &str,
        ip4_mask: u32,
        ip6_mask: u128,
    ) -> Result<bool, Stop> {
        match self.dns.ips(name).await {
            Ok(addrs) => Ok(addrs
                .iter()
                .any(|a| masked_eq(self.ip, *a, ip4_mask, ip6_mask))),
            Err(f) => {
                self.void(f)?;
                Ok(false)
            }
        }
    }

    /// RFC 7208 §4: `check_host(ip, domain, sender)`, boxed for recursion
    /// (`include`, `redirect`), which the 10-lookup limit bounds.
    fn check_host<'s>(
        &'s mut self,
        domain: String,
        depth: u32,
    ) -> Pin<Box<dyn Future<Output = SpfVerdict> + Send + 's>> {
        Box::pin(async move {
            if depth > MAX_DNS_MECHANISMS || !valid_domain(&domain) {
                return if depth == 0 {
                    SpfVerdict::None
                } else {
                    SpfVerdict::PermError
                };
            }
            let records = match self.dns.txt(&domain).await {
                Ok(r) => r,
                Err(DnsFailure::Temporary(_)) => return SpfVerdict::TempError,
                Err(_) => return SpfVerdict::None,
            };
            // §4.5: exactly one record starting "v=spf1" (then SP or end).
            let spf: Vec<&Vec<u8>> = records
                .iter()
                .filter(|r| {
                    r.len() >= 6
                        && r[..6].eq_ignore_ascii_case(b"v=spf1")
                        && (r.len() == 6 || r[6] == b' ')
                })
                .collect();
            let record = match spf.as_slice() {
                [] => return SpfVerdict::None,
                [one] => match Spf::parse(one) {
                    Ok(r) => r,
                    Err(_) => return SpfVerdict::PermError,
                },
                _ => return SpfVerdict::PermError,
            };
            match self.evaluate(&record, &domain, depth).await {
                Ok(v) => v,
                Err(Stop::Temp) => SpfVerdict::TempError,
                Err(Stop::Perm) => SpfVerdict::PermError,
            }
        })
    }

    async fn evaluate(
        &mut self,
        record: &Spf,
        domain: &str,
        depth: u32,
    ) -> Result<SpfVerdict, Stop> {
        for d in record.directives.iter() {
            let matched = match &d.mechanism {
                Mechanism::All => true,
                Mechanism::Ip4 { addr, mask } => masked_eq(self.ip, IpAddr::V4(*addr), *mask, 0),
                Mechanism::Ip6 { addr, mask } => masked_eq(self.ip, IpAddr::V6(*addr), 0, *mask),
                Mechanism::A {
                    macro_string,
                    ip4_mask,
                    ip6_mask,
                } => {
                    self.count_dns()?;
                    let target = self.expand(macro_string, domain);
                    self.addrs_match(&target, *ip4_mask, *ip6_mask).await?
                }
                Mechanism::Mx {
                    macro_string,
                    ip4_mask,
                    ip6_mask,
                } => {
                    self.count_dns()?;
                    let target = self.expand(macro_string, domain);
                    match self.dns.mx(&target).await {
                        Ok(mut hosts) => {
                            if hosts.len() > MAX_MX_NAMES {
                                return Err(Stop::Perm);
                            }
                            hosts.sort();
                            let mut any = false;
                            for (_, host) in hosts {
                                if self.addrs_match(&host, *ip4_mask, *ip6_mask).await? {
                                    any = true;
                                    break;
                                }
                            }
                            any
                        }
                        Err(f) => {
                            self.void(f)?;
                            false
                        }
                    }
                }
                Mechanism::Include { macro_string } => {
                    self.count_dns()?;
                    let target = self.expand(macro_string, domain);
                    // §5.2: pass matches; fail/softfail/neutral do not;
                    // temperror stays; permerror and none are permerror.
                    match self.check_host(target, depth + 1).await {
                        SpfVerdict::Pass => true,
                        SpfVerdict::Fail | SpfVerdict::SoftFail | SpfVerdict::Neutral => false,
                        SpfVerdict::TempError => return Err(Stop::Temp),
                        SpfVerdict::PermError | SpfVerdict::None => return Err(Stop::Perm),
                    }
                }
                Mechanism::Exists { macro_string } => {
                    self.count_dns()?;
                    let target = self.expand(macro_string, domain);
                    match self.dns.ips(&target).await {
                        Ok(addrs) => addrs.iter().any(IpAddr::is_ipv4),
                        Err(f) => {
                            self.void(f)?;
                            false
                        }
                    }
                }
                Mechanism::Ptr { .. } => {
                    self.count_dns()?;
                    false
                }
            };
            if matched {
                return Ok(match d.qualifier {
                    Qualifier::Pass => SpfVerdict::Pass,
                    Qualifier::Fail => SpfVerdict::Fail,
                    Qualifier::SoftFail => SpfVerdict::SoftFail,
                    Qualifier::Neutral => SpfVerdict::Neutral,
                });
            }
        }
        if let Some(redirect) = &record.redirect {
            self.count_dns()?;
            let target = self.expand(redirect, domain);
            // §6.1: a redirect to a domain without a record is permerror.
            return Ok(match self.check_host(target, depth + 1).await {
                SpfVerdict::None => SpfVerdict::PermError,
                v => v,
            });
        }
        Ok(SpfVerdict::Neutral)
    }
}

fn masked_eq(ip: IpAddr, addr: IpAddr, ip4_mask: u32, ip6_mask: u128) -> bool {
    match (ip, addr) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(a) & ip4_mask == u32::from(b) & ip4_mask,
        (IpAddr::V6(a), IpAddr::V4(b)) => a
            .to_ipv4_mapped()
            .is_some_and(|a| u32::from(a) & ip4_mask == u32::from(b) & ip4_mask),
        (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(a) & ip6_mask == u128::from(b) & ip6_mask,
        (IpAddr::V4(_), IpAddr::V6(_)) => false,
    }
}

/// RFC 7208 §4.3: a domain that is not a multi-label FQDN gets "none".
fn valid_domain(d: &str) -> bool {
    d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The SPF result for one identity: `domain` is the MAIL FROM domain (or
/// the HELO name for a null sender, RFC 7208 §2.4), `sender` the full
/// MAIL FROM (`postmaster@<helo>` for a null sender).
pub async fn check(
    dns: &Dns,
    ip: IpAddr,
    helo: &str,
    sender: &str,
    domain: &str,
    hostname: &str,
) -> SpfVerdict {
    let mut e = Eval {
        dns,
        ip,
        sender,
        helo,
        hostname,
        dns_mechanisms: 0,
        void_lookups: 0,
    };
    e.check_host(domain.trim_end_matches('.').to_ascii_lowercase(), 0)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_domains() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(masked_eq(
            ip("127.0.0.5"),
            ip("127.0.0.0"),
            u32::MAX << 8,
            0
        ));
        assert!(!masked_eq(
            ip("127.0.1.5"),
            ip("127.0.0.0"),
            u32::MAX << 8,
            0
        ));
        assert!(masked_eq(
            ip("::ffff:10.0.0.1"),
            ip("10.0.0.1"),
            u32::MAX,
            0
        ));
        assert!(!masked_eq(ip("10.0.0.1"), ip("::1"), u32::MAX, u128::MAX));
        assert!(valid_domain("example.test"));
        assert!(!valid_domain("localhost"));
        assert!(!valid_domain("a..b"));
    }
}
