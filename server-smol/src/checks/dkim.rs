//! DKIM verification (RFC 6376 §6) of every signature, by mail-auth.
//!
//! mail-auth looks keys up through its own (tokio) resolver unless they
//! are in the cache it is handed. So the keys are fetched first through
//! our resolver (`<s>._domainkey.<d>` for every signature) and put in that
//! cache; mail-auth's resolver has no name server and is never reached
//! for them (a lookup it would still make, e.g. an RFC 6541 ATPS record,
//! fails at once as a temporary error instead of blocking).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock};

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::dkim::DkimError;
use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::{
    AuthenticatedMessage, DkimResult, DnsError, Error, MessageAuthenticator, Parameters,
    ResolverCache, Txt,
};

use crate::outbound::dns::{Dns, DnsFailure};

/// At most this many signatures are verified (each costs a DNS lookup and
/// an RSA operation): a DoS bound; later ones are ignored.
pub const MAX_SIGNATURES: usize = 8;

/// One signature's result, spelled as in RFC 8601 `dkim=`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimVerdict {
    /// `pass`, `fail`, `neutral`, `policy`, `temperror`, `permerror`.
    pub result: &'static str,
    /// The signing domain `d=` (empty when the signature did not parse).
    pub domain: String,
    /// The selector `s=`.
    pub selector: String,
}

/// A TXT cache filled before verification.
#[derive(Default)]
struct Prefetched(Mutex<HashMap<Box<str>, Txt>>);

impl ResolverCache<Box<str>, Txt> for Prefetched {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().ok()?.get(name).cloned()
    }
    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().ok()?.remove(name)
    }
    fn insert(&self, key: Box<str>, value: Txt, _valid_until: std::time::Instant) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(key, value);
        }
    }
}

/// mail-auth's authenticator without name servers (see the module doc),
/// built once: building one sets up a hickory resolver (its caches, and
/// a read of `/etc/hosts`), which per message was a file open and a few
/// allocations on every delivery, signed or not. It holds no per-message
/// state (the keys come in through [`Parameters::with_txt_cache`]).
fn offline_authenticator() -> Option<&'static MessageAuthenticator> {
    static AUTHENTICATOR: OnceLock<Option<MessageAuthenticator>> = OnceLock::new();
    AUTHENTICATOR
        .get_or_init(|| {
            MessageAuthenticator::new(
                ResolverConfig::from_parts(None, Vec::new(), Vec::new()),
                ResolverOpts::default(),
            )
            .ok()
        })
        .as_ref()
}

/// Verifies every DKIM signature of `message` (at most [`MAX_SIGNATURES`]).
/// An empty list means there was no signature (`dkim=none`).
pub async fn verify(dns: &Dns, message: &[u8]) -> Vec<DkimVerdict> {
    // Not strict: signatures with `l=` are verified (and then reported as
    // neutral below, with their d= and s=) instead of being dropped.
    let Some(parsed) = AuthenticatedMessage::parse_with_opts(message, None, false) else {
        return Vec::new();
    };
    if parsed.dkim_headers.is_empty() && !parsed.has_dkim_errors {
        // No DKIM-Signature field at all: `dkim=none`, and nothing to look
        // up or hash. (A malformed one is not in `dkim_headers` but in
        // `errors`, and still gets its result below.)
        return Vec::new();
    }
    let cache = Prefetched::default();
    let mut names: Vec<String> = parsed
        .dkim_headers
        .iter()
        .take(MAX_SIGNATURES)
        .map(|h| format!("{}._domainkey.{}.", h.header.s, h.header.d).to_ascii_lowercase())
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let value = match dns.txt(&name).await {
            Ok(records) => {
                // mail-auth's rule: the first record that parses as a key.
                let mut found = Txt::Error(Error::Dns(DnsError::InvalidRecordType));
                for r in records {
                    if let Ok(key) = DomainKey::parse(&r) {
                        found = Txt::DomainKey(Arc::new(key));
                        break;
                    }
                }
                found
            }
            Err(DnsFailure::NoSuchName) => {
                Txt::Error(Error::Dns(DnsError::RecordNotFound(ResponseCode::NXDomain)))
            }
            Err(DnsFailure::NoRecords) => {
                Txt::Error(Error::Dns(DnsError::RecordNotFound(ResponseCode::NoError)))
            }
            Err(DnsFailure::Temporary(why)) => Txt::Error(Error::Dns(DnsError::Resolver(why))),
        };
        cache.insert(name.into_boxed_str(), value, std::time::Instant::now());
    }
    let Some(auth) = offline_authenticator() else {
        return vec![DkimVerdict {
            result: "temperror",
            domain: String::new(),
            selector: String::new(),
        }];
    };
    let params = Parameters::new(&parsed).with_txt_cache(&cache);
    let outputs = auth.verify_dkim(params).await;
    outputs
        .iter()
        .take(MAX_SIGNATURES)
        .map(|o| {
            let (domain, selector, body_length) = o
                .signature()
                .map(|s| (s.d.to_ascii_lowercase(), s.s.clone(), s.l))
                .unwrap_or_default();
            let result = match o.result() {
                // §5.3: a signature covering only part of the body (`l=`)
                // proves nothing about the rest: neutral.
                DkimResult::Pass if body_length > 0 => "neutral",
                DkimResult::Pass => "pass",
                // RFC 8601 §2.7.1: a body that does not match its hash
                // failed verification (mail-auth calls it neutral).
                DkimResult::Neutral(Error::Dkim(DkimError::FailedBodyHashMatch)) => "fail",
                DkimResult::Fail(_) => "fail",
                DkimResult::Neutral(_) => "neutral",
                DkimResult::PermError(_) => "permerror",
                DkimResult::TempError(_) => "temperror",
                DkimResult::None => "none",
            };
            DkimVerdict {
                result,
                domain,
                selector,
            }
        })
        .filter(|v| v.result != "none")
        .collect()
}
