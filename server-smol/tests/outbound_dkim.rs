//! `sansmail dns DOMAIN` and DKIM signing, checked by an independent
//! verifier: the record the binary prints is served by dnsmasq, and
//! dkimpy verifies our signature against it (and rejects it after the
//! body or a signed header changed).

mod common;
mod dnsmasq;

use std::process::Command;

use common::{bin, describe, interop_dir, results};
use dnsmasq::Dnsmasq;
use sansmail::outbound::dkim::DkimKey;

const DOMAIN: &str = "example.test";

fn config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("sansmail.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"{}\"\nhostname = \"mx.example.test\"\ndomains = [\"{DOMAIN}\"]\n\
             [dkim]\nselector = \"s2026\"\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    path
}

fn sansmail_dns(config: &std::path::Path, domain: &str) -> std::process::Output {
    Command::new(bin())
        .arg("--config")
        .arg(config)
        .args(["dns", domain])
        .output()
        .expect("run sansmail dns")
}

/// dkimpy's verdict on `message`.
fn dkimpy(dns_port: u16, message: &[u8]) -> std::collections::BTreeMap<String, String> {
    let python = Command::new("python3")
        .args(["-c", "import dkim, dns.resolver"])
        .output();
    assert!(
        matches!(&python, Ok(o) if o.status.success()),
        "python3 with dkimpy is required (pip install dkimpy; see scripts/ci-deps.sh)"
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), message).unwrap();
    let out = Command::new("python3")
        .arg(interop_dir().join("dkim_verify.py"))
        .arg(dns_port.to_string())
        .arg(file.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    results(&String::from_utf8(out.stdout).unwrap())
}

#[test]
fn dns_prints_the_records_and_dkimpy_verifies_our_signature() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let out = sansmail_dns(&cfg, DOMAIN);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(out.stderr.is_empty(), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "example.test. IN MX 10 mx.example.test.");
    assert_eq!(lines[1], "example.test. IN TXT \"v=spf1 mx -all\"");
    let dkim_prefix = "s2026._domainkey.example.test. IN TXT \"v=DKIM1; k=rsa; p=";
    assert!(lines[2].starts_with(dkim_prefix), "{}", lines[2]);
    assert!(lines[2].ends_with('"'));
    let record = &lines[2]["s2026._domainkey.example.test. IN TXT \"".len()..lines[2].len() - 1];
    let p = &record["v=DKIM1; k=rsa; p=".len()..];
    // RSA-2048 SubjectPublicKeyInfo: 294 bytes, 392 base64 characters.
    assert_eq!(p.len(), 392, "{p}");
    assert!(
        p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
    );
    assert!(
        lines[3].starts_with("_dmarc.example.test. IN TXT \"v=DMARC1; p=quarantine;"),
        "{}",
        lines[3]
    );
    assert!(lines[4..].iter().all(|l| l.starts_with(';')), "{text}");
    assert!(text.contains("PTR") && text.contains("port 25"), "{text}");

    // The key is generated once: same record next time, 0600 file in a 0700 dir.
    let again = sansmail_dns(&cfg, DOMAIN);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), text);
    use std::os::unix::fs::PermissionsExt;
    let key_dir = dir.path().join("data").join("dkim");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&key_dir), 0o700);
    assert_eq!(mode(&key_dir.join("example.test.pem")), 0o600);

    // Publish the printed record (split into 255-byte strings, as a zone
    // file must) and sign with the same key through the library.
    let chunks: Vec<&str> = record
        .as_bytes()
        .chunks(255)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let server = Dnsmasq::start(&[format!(
        "--txt-record=s2026._domainkey.example.test,{}",
        chunks.join(",")
    )]);
    let key = DkimKey::load(&dir.path().join("data"), DOMAIN)
        .unwrap()
        .expect("the key sansmail dns generated");
    assert_eq!(key.dns_record().unwrap(), record);
    let message = b"From: Alice <alice@example.test>\r\nTo: bob@example.net\r\n\
        Subject: signed  \r\n\tand folded\r\nDate: Tue, 1 Dec 2026 20:00:00 +0000\r\n\
        Message-ID: <1@example.test>\r\n\r\nHello Bob,  \r\nthis is signed.\r\n\r\n\r\n";
    let header = key.sign("s2026", message).unwrap();
    assert!(header.starts_with("DKIM-Signature: "), "{header}");
    assert!(header.ends_with("\r\n"));
    for tag in [
        "a=rsa-sha256",
        "c=relaxed/relaxed",
        "d=example.test",
        "s=s2026",
    ] {
        assert!(header.contains(tag), "{tag} in {header}");
    }
    let mut signed = header.clone().into_bytes();
    signed.extend_from_slice(message);
    let r = dkimpy(server.addr.port(), &signed);
    assert_eq!(
        r["dkim"],
        "pass",
        "{r:?}\n{}",
        String::from_utf8_lossy(&signed)
    );
    assert_eq!(r["domain"], "example.test");
    assert_eq!(r["selector"], "s2026");

    // Relaxed canonicalization: re-folded header whitespace and trailing
    // spaces still verify (RFC 6376 §3.4.2, §3.4.4)...
    let refolded = String::from_utf8(signed.clone())
        .unwrap()
        .replace(
            "Subject: signed  \r\n\tand folded",
            "Subject:   signed \r\n and folded",
        )
        .replace("Hello Bob,  \r\n", "Hello Bob,\r\n");
    assert_eq!(
        dkimpy(server.addr.port(), refolded.as_bytes())["dkim"],
        "pass"
    );
    // ... but a changed body or signed header does not.
    let body_changed = String::from_utf8(signed.clone())
        .unwrap()
        .replace("this is signed.", "this is forged.");
    let r = dkimpy(server.addr.port(), body_changed.as_bytes());
    assert_eq!(r["dkim"], "fail");
    assert!(r["reason"].contains("body hash mismatch"), "{r:?}");
    let header_changed = String::from_utf8(signed)
        .unwrap()
        .replace("To: bob@example.net", "To: eve@example.net");
    let r = dkimpy(server.addr.port(), header_changed.as_bytes());
    assert_eq!(
        (r["dkim"].as_str(), r["reason"].as_str()),
        ("fail", ""),
        "{r:?}"
    );
}

#[test]
fn dns_for_a_bad_domain_is_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let out = sansmail_dns(&cfg, "../etc");
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.ends_with("sansmail: not a domain name: \"../etc\"\n"),
        "{err}"
    );
    assert!(!dir.path().join("data").join("dkim").exists());
}
