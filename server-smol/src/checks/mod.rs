//! Checks on receipt (docs/DESIGN.md §5.3): SPF (RFC 7208) for the client IP
//! and MAIL FROM (or HELO for the null sender), DKIM (RFC 6376) for every
//! signature, DMARC (RFC 7489) for the From: domain, all through
//! `[outbound] resolvers`. On `[smtp]` (never for authenticated senders)
//! the pipeline calls [`start`] when DATA begins, which sends the lookups
//! the envelope allows, and [`finish`] at the end of DATA ([`check`] is
//! both at once); it prepends
//! [`Checked::header`] before its Received: field, drops incoming
//! Authentication-Results that claim our name ([`strip_our_results`]),
//! and applies [`Checked::disposition`].
//!
//! ```text
//! let checked = checks::check(&dns, &config.checks, &config.hostname, Request { .. }).await;
//! match checked.disposition {
//!     Disposition::Reject => reply 550 5.7.1,
//!     Disposition::Quarantine => deliver to Junk,
//!     Disposition::Accept => deliver to INBOX,
//! }
//! ```

pub mod dkim;
pub mod dmarc;
pub mod spf;

use std::net::IpAddr;

use crate::config::ChecksConfig;
use crate::outbound::dns::Dns;
use dkim::DkimVerdict;
use dmarc::{DmarcOutcome, DmarcPolicy};
use spf::SpfVerdict;

/// What the pipeline knows at the end of DATA.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The SMTP client's address.
    pub client_ip: IpAddr,
    /// The EHLO/HELO argument.
    pub helo: &'a str,
    /// The MAIL FROM address; `None` for the null reverse-path `<>`.
    pub mail_from: Option<&'a str>,
    /// The message as received (header and body, without our trace fields).
    pub message: &'a [u8],
}

/// What to do with the message (DMARC policy, `[checks] dmarc_policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Deliver normally.
    Accept,
    /// `p=quarantine` failed: deliver to the Junk folder.
    Quarantine,
    /// `p=reject` failed: refuse with `550 5.7.1` at the end of DATA.
    Reject,
}

/// The results of every enabled check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// SPF, `None` when `[checks] spf = false`.
    pub spf: Option<SpfVerdict>,
    /// The identity SPF checked: (`smtp.mailfrom` or `smtp.helo`, domain).
    pub spf_identity: (&'static str, String),
    /// DKIM, one per signature (empty: none), `None` when disabled.
    pub dkim: Option<Vec<DkimVerdict>>,
    /// DMARC, `None` when disabled.
    pub dmarc: Option<DmarcOutcome>,
    /// The RFC 5322.From domain (`None`: no single From address).
    pub from_domain: Option<String>,
    /// What to do with the message.
    pub disposition: Disposition,
}

/// The lookups that need only the envelope, started when DATA begins
/// ([`start`]) so that their DNS round trips overlap the transfer of the
/// body instead of following it: SPF (client IP, HELO, MAIL FROM), and the
/// DMARC record of the MAIL FROM domain, on the guess that the From:
/// domain is the same (the usual case: RFC 7489 §3.1 alignment). When
/// From: turns out to differ, that guess is dropped and From:'s record is
/// looked up at the end of DATA, one query more than without the guess.
/// Dropping an `Early` (the message was refused or the client left)
/// cancels its lookups.
pub struct Early {
    /// `(smtp.mailfrom or smtp.helo, domain)`, as in [`Checked::spf_identity`].
    identity: (&'static str, String),
    spf: Option<smol::Task<SpfVerdict>>,
    /// The MAIL FROM domain and its DMARC record, being looked up.
    dmarc: Option<(String, smol::Task<dmarc::Found>)>,
}

impl std::fmt::Debug for Early {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Early")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// Starts the envelope's lookups (see [`Early`]) where the resolver's own
/// background tasks run ([`Dns::spawn`]).
#[must_use]
pub fn start(
    dns: &Dns,
    config: &ChecksConfig,
    hostname: &str,
    client_ip: IpAddr,
    helo: &str,
    mail_from: Option<&str>,
) -> Early {
    let helo = helo.trim_end_matches('.').to_ascii_lowercase();
    // RFC 7208 §2.4: with a null reverse-path, check postmaster@<helo>.
    let (identity, sender, spf_domain) = match mail_from {
        Some(addr) => {
            let domain = addr
                .rsplit_once('@')
                .map_or(addr, |(_, d)| d)
                .to_ascii_lowercase();
            ("smtp.mailfrom", addr.to_owned(), domain)
        }
        None => ("smtp.helo", format!("postmaster@{helo}"), helo.clone()),
    };
    let spf = config.spf.then(|| {
        let (resolver, domain, hostname) = (dns.clone(), spf_domain.clone(), hostname.to_owned());
        dns.spawn(async move {
            spf::check(&resolver, client_ip, &helo, &sender, &domain, &hostname).await
        })
    });
    // A null sender (a bounce) names no domain worth guessing From: by.
    let dmarc = (config.dmarc && mail_from.is_some()).then(|| {
        let (resolver, domain) = (dns.clone(), spf_domain.clone());
        let task = dns.spawn(async move { dmarc::lookup(&resolver, &domain).await });
        (spf_domain.clone(), task)
    });
    Early {
        identity: (identity, spf_domain),
        spf,
        dmarc,
    }
}

/// Runs the enabled checks. Never fails: DNS trouble shows as `temperror`
/// (and DMARC then asks for nothing).
pub async fn check(dns: &Dns, config: &ChecksConfig, hostname: &str, req: Request<'_>) -> Checked {
    let early = start(
        dns,
        config,
        hostname,
        req.client_ip,
        req.helo,
        req.mail_from,
    );
    finish(dns, config, early, req.message).await
}

/// Finishes the checks [`start`] began, now that the message is here:
/// DKIM, and DMARC for the From: domain.
pub async fn finish(dns: &Dns, config: &ChecksConfig, early: Early, message: &[u8]) -> Checked {
    let Early {
        identity,
        spf,
        dmarc: guessed,
    } = early;
    let spf_domain = identity.1.clone();
    let spf_check = async {
        match spf {
            Some(task) => Some(task.await),
            None => None,
        }
    };
    let dkim_check = async {
        if config.dkim || config.dmarc {
            Some(dkim::verify(dns, message).await)
        } else {
            None
        }
    };
    // The DMARC record depends on neither result: its lookup (if the
    // guess in `start` missed) runs beside them instead of after.
    let from_domain = from_domain(message);
    let dmarc_lookup = async {
        match (&from_domain, config.dmarc) {
            (Some(from), true) => Some(match guessed {
                Some((domain, task)) if domain == *from => task.await,
                _ => dmarc::lookup(dns, from).await,
            }),
            _ => None,
        }
    };
    let ((spf, dkim), found) = futures_lite::future::zip(
        futures_lite::future::zip(spf_check, dkim_check),
        dmarc_lookup,
    )
    .await;
    let dmarc = match (found, config.dmarc) {
        (Some(found), true) => Some(dmarc::evaluate(
            found,
            spf.unwrap_or(SpfVerdict::None),
            &spf_domain,
            dkim.as_deref().unwrap_or(&[]),
        )),
        (None, true) => Some(DmarcOutcome {
            result: "none",
            policy: DmarcPolicy::None,
        }),
        _ => None,
    };
    let disposition = match &dmarc {
        Some(d) if config.dmarc_policy && d.result == "fail" => match d.policy {
            DmarcPolicy::Reject => Disposition::Reject,
            DmarcPolicy::Quarantine => Disposition::Quarantine,
            DmarcPolicy::None => Disposition::Accept,
        },
        _ => Disposition::Accept,
    };
    Checked {
        spf,
        spf_identity: identity,
        dkim: if config.dkim { dkim } else { None },
        dmarc,
        from_domain,
        disposition,
    }
}

/// The single RFC 5322.From address's domain (RFC 7489 §6.6.1: a message
/// with none or several From addresses has no DMARC identity).
fn from_domain(message: &[u8]) -> Option<String> {
    let parsed = mail_parser::MessageParser::default().parse_headers(message)?;
    let from = parsed.from()?;
    let mut addrs = from.iter();
    let first = addrs.next()?;
    if addrs.next().is_some() {
        return None;
    }
    let address = first.address()?;
    let (_, domain) = address.rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    (!domain.is_empty()).then_some(domain)
}

/// A value in an Authentication-Results property: the RFC 2045 token
/// characters only, so a peer's strings cannot add fields or properties.
fn token(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() && !"()<>,;:\\\"/[]?=".contains(*c) || *c == '@')
        .collect()
}

impl Checked {
    /// The `Authentication-Results:` field (RFC 8601), CRLF-terminated, to
    /// prepend before our Received: field.
    #[must_use]
    pub fn header(&self, hostname: &str) -> String {
        let mut parts = vec![token(hostname.trim_end_matches('.'))];
        if let Some(spf) = self.spf {
            parts.push(format!(
                "spf={} {}={}",
                spf.as_str(),
                self.spf_identity.0,
                token(&self.spf_identity.1)
            ));
        }
        if let Some(dkim) = &self.dkim {
            if dkim.is_empty() {
                parts.push("dkim=none".to_owned());
            }
            for v in dkim {
                if v.domain.is_empty() {
                    parts.push(format!("dkim={}", v.result));
                } else {
                    parts.push(format!(
                        "dkim={} header.d={} header.s={}",
                        v.result,
                        token(&v.domain),
                        token(&v.selector)
                    ));
                }
            }
        }
        if let Some(d) = &self.dmarc {
            match &self.from_domain {
                Some(from) => parts.push(format!("dmarc={} header.from={}", d.result, token(from))),
                None => parts.push(format!("dmarc={}", d.result)),
            }
        }
        if parts.len() == 1 {
            // RFC 8601 §2.2: "none" when no method ran.
            parts.push("none".to_owned());
        }
        format!("Authentication-Results: {}\r\n", parts.join("; "))
    }
}

/// The message without the Authentication-Results fields whose authserv-id
/// is `hostname` (RFC 8601 §5: a receiver removes forged results claiming
/// to be its own). The body and every other field are left byte for byte.
#[must_use]
pub fn strip_our_results(message: &[u8], hostname: &str) -> Vec<u8> {
    let header_end = memchr_header_end(message);
    let mut out = Vec::with_capacity(message.len());
    let mut pos = 0;
    while pos < header_end {
        // One field: this line plus its continuation lines.
        let mut end = pos;
        loop {
            let next = message[end..header_end]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(header_end, |i| end + i + 1);
            end = next;
            if end >= header_end || !matches!(message.get(end), Some(b' ' | b'\t')) {
                break;
            }
        }
        let field = &message[pos..end];
        if !claims(field, hostname) {
            out.extend_from_slice(field);
        }
        pos = end;
    }
    out.extend_from_slice(&message[header_end..]);
    out
}

/// Where the header ends: just after the first empty line (or the end).
fn memchr_header_end(message: &[u8]) -> usize {
    let mut i = 0;
    while i < message.len() {
        let line_end = message[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(message.len(), |p| i + p + 1);
        let line = &message[i..line_end];
        if line == b"\r\n" || line == b"\n" {
            return i;
        }
        i = line_end;
    }
    message.len()
}

/// Whether a field is an Authentication-Results with our authserv-id.
fn claims(field: &[u8], hostname: &str) -> bool {
    let Some(colon) = field.iter().position(|&b| b == b':') else {
        return false;
    };
    if !field[..colon]
        .trim_ascii()
        .eq_ignore_ascii_case(b"Authentication-Results")
    {
        return false;
    }
    let value = String::from_utf8_lossy(&field[colon + 1..]);
    // authserv-id = value up to ';', less comments and whitespace.
    let id = value.split(';').next().unwrap_or("");
    let mut no_comments = String::new();
    let mut depth = 0u32;
    for c in id.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 => no_comments.push(c),
            _ => {}
        }
    }
    // An optional authres-version may follow the id: the id is the first word.
    let first = no_comments.split_whitespace().next().unwrap_or("");
    first
        .trim_end_matches('.')
        .eq_ignore_ascii_case(hostname.trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_our_results_and_keeps_bytes() {
        let msg = b"Received: x\r\nAuthentication-Results: MX.Example.test;\r\n spf=pass smtp.mailfrom=a\r\n\
Authentication-Results: other.example; dkim=pass\r\nauthentication-results: (c) mx.example.test 1; none\r\n\
Subject: s\r\n\r\nAuthentication-Results: mx.example.test; body line\r\n";
        let out = strip_our_results(msg, "mx.example.test");
        assert_eq!(
            out,
            b"Received: x\r\nAuthentication-Results: other.example; dkim=pass\r\n\
Subject: s\r\n\r\nAuthentication-Results: mx.example.test; body line\r\n"
                .to_vec()
        );
        let plain = b"Subject: s\r\n\r\nbody";
        assert_eq!(strip_our_results(plain, "h"), plain.to_vec());
    }

    #[test]
    fn tokens_cannot_inject() {
        assert_eq!(token("a;b=c d\r\nX: y"), "abcdXy");
        assert_eq!(token("user@example.test"), "user@example.test");
    }
}
