//! TLS: the rustls server configuration from the configured PEM files, or
//! from a self-signed certificate generated once into the data directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::Config;

/// File name of the generated certificate under `data_dir`.
pub const GENERATED_CERT: &str = "tls-cert.pem";
/// File name of the generated private key under `data_dir`.
pub const GENERATED_KEY: &str = "tls-key.pem";

/// Builds the rustls server configuration (AWS-LC provider, TLS 1.2 and 1.3).
///
/// Without `[tls] cert`/`key`, a self-signed certificate naming `hostname`,
/// `localhost`, `127.0.0.1` and `::1` is generated into `data_dir` on first
/// start and reused afterwards, so clients that pinned it keep working.
pub fn server_config(config: &Config) -> Result<Arc<ServerConfig>, String> {
    let (cert_path, key_path) = match (&config.tls.cert, &config.tls.key) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        _ => ensure_self_signed(&config.data_dir, &config.hostname)?,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| format!("cannot read TLS certificate {}: {e}", cert_path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad TLS certificate {}: {e}", cert_path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate found in {}", cert_path.display()));
    }
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| format!("cannot read TLS key {}: {e}", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate/key {}: {e}", cert_path.display()))?;
    // Mail clients do not resume sessions much; keep the default cache but no
    // ALPN: SMTP, IMAP and POP3 over TLS do not negotiate one.
    tls.alpn_protocols.clear();
    Ok(Arc::new(tls))
}

fn ensure_self_signed(data_dir: &Path, hostname: &str) -> Result<(PathBuf, PathBuf), String> {
    let cert_path = data_dir.join(GENERATED_CERT);
    let key_path = data_dir.join(GENERATED_KEY);
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    {
        use std::os::unix::fs::DirBuilderExt;
        // Private like everything under data_dir (docs/DESIGN.md §3).
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(|e| format!("cannot create data_dir {}: {e}", data_dir.display()))?;
    }
    let mut names = vec![hostname.to_string()];
    for extra in ["localhost", "127.0.0.1", "::1"] {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(extra)) {
            names.push(extra.to_string());
        }
    }
    let generated = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot generate a TLS certificate: {e}"))?;
    // Key first, with owner-only permissions, then the certificate: a crash in
    // between leaves no certificate, so the pair is regenerated next time.
    write_private(&key_path, generated.signing_key.serialize_pem().as_bytes())?;
    write_atomic(&cert_path, generated.cert.pem().as_bytes())?;
    Ok((cert_path, key_path))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The certificate is public data, but it lives under data_dir, where
/// every file is 0600 (docs/DESIGN.md §3): written like the key.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_private(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        server_config(&config).unwrap();
        let first = std::fs::read(config.data_dir.join(GENERATED_CERT)).unwrap();
        server_config(&config).unwrap();
        let second = std::fs::read(config.data_dir.join(GENERATED_CERT)).unwrap();
        assert_eq!(first, second);
        assert!(first.starts_with(b"-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn missing_configured_files_are_clear_errors() {
        let mut config = Config::default();
        config.tls.cert = Some("/nonexistent/cert.pem".into());
        config.tls.key = Some("/nonexistent/key.pem".into());
        let e = server_config(&config).unwrap_err();
        assert!(e.contains("/nonexistent/cert.pem"), "{e}");
    }
}
