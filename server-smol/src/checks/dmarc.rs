//! DMARC (RFC 7489) for the RFC 5322.From domain: the policy record at
//! `_dmarc.<from domain>`, else at the organizational domain's (with `sp=`
//! for subdomains), and identifier alignment (§3.1) of the SPF and DKIM
//! results. The record grammar is mail-auth's (`Dmarc::parse`).
//!
//! The organizational domain is approximated as the last two labels: no
//! Public Suffix List is bundled, so under multi-label public suffixes
//! (`example.co.uk`) relaxed alignment is stricter than it should be and
//! the fallback record is looked up one level too high.

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::dmarc::{Alignment, Dmarc, Policy};

use super::dkim::DkimVerdict;
use super::spf::SpfVerdict;
use crate::outbound::dns::{Dns, DnsFailure};

/// The DMARC evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmarcOutcome {
    /// `none` (no policy), `pass`, `fail`, `temperror`, `permerror`.
    pub result: &'static str,
    /// The policy that applies when `result` is `fail`.
    pub policy: DmarcPolicy,
}

/// What the domain owner asks receivers to do with failing mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmarcPolicy {
    /// `p=none`, or no policy.
    None,
    /// `p=quarantine`: deliver to Junk.
    Quarantine,
    /// `p=reject`: 550 5.7.1 at the end of DATA.
    Reject,
}

/// The last two labels of a domain (see the module doc).
#[must_use]
pub fn organizational_domain(domain: &str) -> String {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() <= 2 {
        d
    } else {
        labels[labels.len() - 2..].join(".")
    }
}

fn aligned(mode: Alignment, a: &str, b: &str) -> bool {
    let a = a.trim_end_matches('.');
    let b = b.trim_end_matches('.');
    match mode {
        Alignment::Strict => a.eq_ignore_ascii_case(b),
        Alignment::Relaxed => organizational_domain(a) == organizational_domain(b),
    }
}

/// The one `v=DMARC1` record at `name`: `Ok(None)` when there is none (or
/// several, RFC 7489 §6.6.3), `Err` for a temporary failure.
async fn record(dns: &Dns, name: &str) -> Result<Option<Result<Dmarc, ()>>, ()> {
    let records = match dns.txt(name).await {
        Ok(r) => r,
        Err(DnsFailure::Temporary(_)) => return Err(()),
        Err(_) => return Ok(None),
    };
    let found: Vec<&Vec<u8>> = records
        .iter()
        .filter(|r| r.len() >= 8 && r[..8].eq_ignore_ascii_case(b"v=DMARC1"))
        .collect();
    match found.as_slice() {
        [one] => Ok(Some(Dmarc::parse(one).map_err(|_| ()))),
        _ => Ok(None),
    }
}

/// The DMARC record that applies to a From: domain (RFC 7489 §6.6.3):
/// looked up before SPF and DKIM finish, since it depends on neither.
#[derive(Debug)]
pub struct Found {
    from: String,
    record: Result<Option<Result<Dmarc, ()>>, ()>,
    /// The record is the organizational domain's (`sp=` applies).
    is_subdomain_policy: bool,
}

/// Looks up the DMARC record for `from_domain`, falling back to its
/// organizational domain.
pub async fn lookup(dns: &Dns, from_domain: &str) -> Found {
    let from = from_domain.trim_end_matches('.').to_ascii_lowercase();
    let org = organizational_domain(&from);
    let mut is_subdomain_policy = false;
    let mut record = record(dns, &format!("_dmarc.{from}")).await;
    if matches!(record, Ok(None)) && org != from {
        record = self::record(dns, &format!("_dmarc.{org}")).await;
        is_subdomain_policy = true;
    }
    Found {
        from,
        record,
        is_subdomain_policy,
    }
}

/// Evaluates DMARC for `from_domain` given the SPF result for
/// `spf_domain` (the MAIL FROM domain) and the DKIM results.
pub async fn check(
    dns: &Dns,
    from_domain: &str,
    spf: SpfVerdict,
    spf_domain: &str,
    dkim: &[DkimVerdict],
) -> DmarcOutcome {
    evaluate(lookup(dns, from_domain).await, spf, spf_domain, dkim)
}

/// [`check`] with the record already looked up.
#[must_use]
pub fn evaluate(
    found: Found,
    spf: SpfVerdict,
    spf_domain: &str,
    dkim: &[DkimVerdict],
) -> DmarcOutcome {
    let none = DmarcOutcome {
        result: "none",
        policy: DmarcPolicy::None,
    };
    let Found {
        from,
        record,
        is_subdomain_policy,
    } = found;
    let dmarc = match record {
        Err(()) => {
            return DmarcOutcome {
                result: "temperror",
                policy: DmarcPolicy::None,
            };
        }
        Ok(None) => return none,
        Ok(Some(Err(()))) => {
            return DmarcOutcome {
                result: "permerror",
                policy: DmarcPolicy::None,
            };
        }
        Ok(Some(Ok(d))) => d,
    };
    let spf_aligned = spf == SpfVerdict::Pass && aligned(dmarc.aspf, spf_domain, &from);
    let dkim_aligned = dkim
        .iter()
        .any(|v| v.result == "pass" && aligned(dmarc.adkim, &v.domain, &from));
    let policy = match (is_subdomain_policy, &dmarc.sp) {
        (true, Policy::Unspecified) | (false, _) => &dmarc.p,
        (true, sp) => sp,
    };
    let policy = match policy {
        Policy::Reject => DmarcPolicy::Reject,
        Policy::Quarantine => DmarcPolicy::Quarantine,
        Policy::None | Policy::Unspecified => DmarcPolicy::None,
    };
    DmarcOutcome {
        result: if spf_aligned || dkim_aligned {
            "pass"
        } else {
            "fail"
        },
        policy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizational_domains_and_alignment() {
        assert_eq!(organizational_domain("a.b.Example.TEST."), "example.test");
        assert_eq!(organizational_domain("example.test"), "example.test");
        assert!(aligned(
            Alignment::Relaxed,
            "mail.example.test",
            "example.test"
        ));
        assert!(!aligned(
            Alignment::Strict,
            "mail.example.test",
            "example.test"
        ));
        assert!(!aligned(Alignment::Relaxed, "example.org", "example.test"));
    }
}
