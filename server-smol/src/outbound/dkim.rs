//! DKIM (RFC 6376) for mail from local domains: one RSA-2048 key per
//! domain, generated once into `data_dir/dkim/<domain>.pem` (PKCS#8 PEM,
//! mode 0600, directory 0700), signatures rsa-sha256 with relaxed/relaxed
//! canonicalization (RFC 6376 §3.4.2, §3.4.4: they survive the header
//! re-folding and trailing-space changes relays make), and the zone-file
//! lines `sansmail dns DOMAIN` prints (docs/DESIGN.md §5.2).
//!
//! Two processes may ask for the same key at once (the server signing its
//! first message and `sansmail dns` printing the record): the key is
//! written to a private temporary file and hard-linked into place, which
//! fails if another process won the race; the loser then loads the
//! winner's key, so the published record always matches the signing key.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use mail_auth::common::crypto::{Algorithm, CryptoError, Sha256, SigningKey};
use mail_auth::common::headers::{HeaderWriter, Writable};
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};
use rsa::RsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};

/// RSA modulus size: RFC 8301 §3.2 requires at least 1024 bits and
/// recommends 2048.
pub const KEY_BITS: usize = 2048;

/// The header fields signed (RFC 6376 §5.4.1's list of those that "SHOULD
/// be included"); absent ones are signed as empty, so they cannot be added
/// later without breaking the signature.
pub const SIGNED_HEADERS: [&str; 12] = [
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// A domain's signing key.
pub struct DkimKey {
    domain: String,
    key: RsaPrivateKey,
}

impl std::fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("DkimKey")
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// `data_dir/dkim`.
#[must_use]
pub fn key_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("dkim")
}

/// A domain becomes a file name: only LDH labels (RFC 1035 §2.3.1),
/// lower-cased, so no path can be smuggled in.
fn file_stem(domain: &str) -> Result<String, String> {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(d)
    } else {
        Err(format!("not a domain name: {domain:?}"))
    }
}

impl DkimKey {
    /// The domain's key, generated (RSA-2048) and stored the first time.
    ///
    /// # Errors
    /// An invalid domain name; IO errors; an unreadable key file.
    pub fn load_or_generate(data_dir: &Path, domain: &str) -> Result<DkimKey, String> {
        if let Some(key) = DkimKey::load(data_dir, domain)? {
            return Ok(key);
        }
        let stem = file_stem(domain)?;
        let dir = key_dir(data_dir);
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)
            .map_err(|e| format!("cannot generate a DKIM key: {e}"))?;
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| format!("cannot encode the DKIM key: {e}"))?;
        let path = dir.join(format!("{stem}.pem"));
        let tmp = dir.join(format!(".{stem}.pem.{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(pem.as_bytes())?;
            f.sync_all()?;
            Ok(())
        };
        let _ = fs::remove_file(&tmp);
        write().map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        let linked = fs::hard_link(&tmp, &path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                File::open(&dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| format!("cannot sync {}: {e}", dir.display()))?;
                tracing::info!(domain = stem, path = %path.display(), "generated a DKIM key");
                Ok(DkimKey { domain: stem, key })
            }
            // Another process stored one first: use that one.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                DkimKey::load(data_dir, domain)?
                    .ok_or_else(|| format!("{} vanished", path.display()))
            }
            Err(e) => Err(format!("cannot store {}: {e}", path.display())),
        }
    }

    /// The stored key of a domain, `None` when there is none yet.
    ///
    /// # Errors
    /// An invalid domain name; an unreadable or invalid key file.
    pub fn load(data_dir: &Path, domain: &str) -> Result<Option<DkimKey>, String> {
        let stem = file_stem(domain)?;
        let path = key_dir(data_dir).join(format!("{stem}.pem"));
        let pem = match fs::read_to_string(&path) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let key = RsaPrivateKey::from_pkcs8_pem(&pem)
            .map_err(|e| format!("{} is not a PKCS#8 RSA key: {e}", path.display()))?;
        Ok(Some(DkimKey { domain: stem, key }))
    }

    /// The domain (lower-case) this key signs for (`d=`).
    #[must_use]
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The TXT record to publish at `<selector>._domainkey.<domain>`
    /// (RFC 6376 §3.6.1): `p=` is the base64 SubjectPublicKeyInfo, as
    /// `openssl rsa -pubout` writes it and every verifier reads it.
    ///
    /// # Errors
    /// Only if the public key cannot be DER-encoded (never for a valid key).
    pub fn dns_record(&self) -> Result<String, String> {
        let der = self
            .key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| format!("cannot encode the DKIM public key: {e}"))?;
        Ok(format!(
            "v=DKIM1; k=rsa; p={}",
            base64::engine::general_purpose::STANDARD.encode(der.as_bytes())
        ))
    }

    /// The `DKIM-Signature:` field for `message` (the exact bytes to send,
    /// header and body), CRLF-terminated, to be prepended to it.
    ///
    /// # Errors
    /// A message mail-auth cannot sign (no header), a crypto failure.
    pub fn sign(&self, selector: &str, message: &[u8]) -> Result<String, String> {
        self.prepare(selector)?.sign(message)
    }

    /// The key parsed for signing with `selector`: parse once, sign many
    /// times (re-encoding and re-parsing the RSA key cost more than the
    /// body hash of a small message).
    ///
    /// # Errors
    /// A key the crypto backend refuses.
    pub fn prepare(&self, selector: &str) -> Result<PreparedKey, String> {
        let der = self
            .key
            .to_pkcs8_der()
            .map_err(|e| format!("cannot encode the DKIM key: {e}"))?;
        let key = AwsLcRsaKey {
            pair: RsaKeyPair::from_pkcs8(der.as_bytes())
                .map_err(|e| format!("unusable DKIM key: {e}"))?,
            rng: SystemRandom::new(),
        };
        let signer = DkimSigner::from_key(key)
            .domain(self.domain.clone())
            .selector(selector)
            .headers(SIGNED_HEADERS)
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed);
        Ok(PreparedKey { signer })
    }
}

/// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 6376 §3.3.1) through AWS-LC: the
/// RustCrypto `rsa` crate that mail-auth's `rust-crypto` feature signs with
/// spent half of the CPU of a DKIM-signing submission load (profile in
/// benches/README.md, issue 12); ring's RSA was several times faster, and
/// AWS-LC's (AVX-512 IFMA exponentiation where the CPU has it) twice as
/// fast again on the bench machine (stop 23).
/// mail-auth hashes the body and canonicalizes the headers; this key only
/// signs the header hash input it is handed.
struct AwsLcRsaKey {
    pair: RsaKeyPair,
    rng: SystemRandom,
}

impl SigningKey for AwsLcRsaKey {
    type Hasher = Sha256;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        let mut data = Vec::with_capacity(1024);
        input.write(&mut data);
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, &data, &mut signature)
            .map_err(|e| mail_auth::Error::Crypto(CryptoError::Library(e.to_string())))?;
        Ok(signature)
    }

    fn algorithm(&self) -> Algorithm {
        Algorithm::RsaSha256
    }
}

/// A domain's key ready to sign (see [`DkimKey::prepare`]).
pub struct PreparedKey {
    signer: DkimSigner<AwsLcRsaKey, Done>,
}

impl std::fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("PreparedKey").finish_non_exhaustive()
    }
}

impl PreparedKey {
    /// As [`DkimKey::sign`]. mail-auth hashes the message from slices
    /// held at once (`sign`/`sign_chained`), so the whole message is in
    /// memory while it is signed.
    ///
    /// # Errors
    /// A message mail-auth cannot sign (no header), a crypto failure.
    pub fn sign(&self, message: &[u8]) -> Result<String, String> {
        let signature = self
            .signer
            .sign(message)
            .map_err(|e| format!("cannot sign: {e}"))?;
        Ok(signature.to_header())
    }
}

/// Signing as configured (`[dkim]`, `domains`): what submission and the
/// API call for every message from a local domain. Keys are loaded (or
/// generated) on first use and kept.
pub struct Signer {
    data_dir: PathBuf,
    selector: String,
    enabled: bool,
    domains: Vec<String>,
    /// Keys parsed once per domain, for `selector`.
    keys: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<PreparedKey>>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("selector", &self.selector)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for `config`'s local domains and `[dkim]` section.
    #[must_use]
    pub fn new(config: &crate::config::Config) -> Signer {
        Signer {
            data_dir: config.data_dir.clone(),
            selector: config.dkim.selector.clone(),
            enabled: config.dkim.sign,
            domains: config
                .domains
                .iter()
                .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
                .collect(),
            keys: std::sync::Mutex::default(),
        }
    }

    /// The `DKIM-Signature:` field to prepend for a message from
    /// `sender_domain` (the From: or MAIL FROM domain), or `None` when that
    /// domain is not local or `[dkim] sign = false`. Blocking (file IO,
    /// RSA): call it from a blocking thread. mail-auth hashes the message
    /// from one slice, so the whole message is in memory (at most
    /// `[limits] max_message_size`).
    ///
    /// # Errors
    /// The key cannot be loaded or generated, or the message not signed.
    pub fn sign(&self, sender_domain: &str, message: &[u8]) -> Result<Option<String>, String> {
        let domain = sender_domain.trim_end_matches('.').to_ascii_lowercase();
        if !self.enabled || !self.domains.contains(&domain) {
            return Ok(None);
        }
        let cached = self
            .keys
            .lock()
            .map_err(|_| "DKIM key cache poisoned".to_owned())?
            .get(&domain)
            .cloned();
        let key = match cached {
            Some(k) => k,
            None => {
                let k = std::sync::Arc::new(
                    DkimKey::load_or_generate(&self.data_dir, &domain)?.prepare(&self.selector)?,
                );
                self.keys
                    .lock()
                    .map_err(|_| "DKIM key cache poisoned".to_owned())?
                    .insert(domain, std::sync::Arc::clone(&k));
                k
            }
        };
        key.sign(message).map(Some)
    }
}

/// The lines `sansmail dns DOMAIN` prints: MX, SPF, DKIM and DMARC
/// records as zone-file lines, then as comments what DNS alone cannot do.
///
/// # Errors
/// As [`DkimKey::dns_record`].
pub fn zone_lines(
    domain: &str,
    hostname: &str,
    selector: &str,
    key: &DkimKey,
) -> Result<Vec<String>, String> {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    let h = hostname.trim_end_matches('.');
    Ok(vec![
        format!("{d}. IN MX 10 {h}."),
        format!("{d}. IN TXT \"v=spf1 mx -all\""),
        format!(
            "{selector}._domainkey.{d}. IN TXT \"{}\"",
            key.dns_record()?
        ),
        format!(
            "_dmarc.{d}. IN TXT \"v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:postmaster@{d}\""
        ),
        "; A TXT character-string holds at most 255 bytes (RFC 1035 §3.3): a zone file".to_owned(),
        "; needs the DKIM record split into several quoted strings; most DNS UIs do it.".to_owned(),
        format!("; Also check: the PTR record of this server's public IP address names {h}"),
        format!(";   (reverse DNS, set by the provider of the address; test: dig -x <ip>),"),
        format!("; and {h} port 25 is reachable from the internet and outbound port 25 is"),
        "; not blocked (many residential and cloud providers block it).".to_owned(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signer_signs_local_domains_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::config::Config {
            data_dir: dir.path().to_path_buf(),
            domains: vec!["Example.TEST".into()],
            ..crate::config::Config::default()
        };
        let msg = b"From: a@example.test\r\nSubject: s\r\n\r\nbody\r\n";
        let signer = Signer::new(&config);
        let header = signer.sign("example.test.", msg).unwrap().unwrap();
        assert!(header.starts_with("DKIM-Signature: "), "{header}");
        assert!(
            header.contains("d=example.test") && header.contains("s=sansmail"),
            "{header}"
        );
        assert!(dir.path().join("dkim").join("example.test.pem").exists());
        assert_eq!(signer.sign("other.test", msg).unwrap(), None);
        config.dkim.sign = false;
        assert_eq!(
            Signer::new(&config).sign("example.test", msg).unwrap(),
            None
        );
    }

    #[test]
    fn domains_are_safe_file_names() {
        assert_eq!(file_stem("Example.COM.").unwrap(), "example.com");
        for bad in ["", "../x", "a/b", "a..b", "-a.b", "a b", ".."] {
            assert!(file_stem(bad).is_err(), "{bad}");
        }
    }
}
