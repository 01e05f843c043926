//! Checks on receipt (docs/DESIGN.md §5.3) against SPF, DKIM and DMARC records
//! served by dnsmasq: exact Authentication-Results text and the DMARC
//! disposition, for client addresses chosen among 127.0.0.0/8.

mod dnsmasq;

use std::net::{IpAddr, UdpSocket};
use std::time::{Duration, Instant};

use dnsmasq::Dnsmasq;
use sansmail::checks::{self, Disposition, Request};
use sansmail::config::ChecksConfig;
use sansmail::outbound::dkim::DkimKey;
use sansmail::outbound::dns::Dns;

const HOST: &str = "mx.sansmail.test";

struct Rig {
    _server: Dnsmasq,
    dns: Dns,
    key: DkimKey,
    data: tempfile::TempDir,
}

fn rig() -> Rig {
    let data = tempfile::tempdir().unwrap();
    let key = DkimKey::load_or_generate(data.path(), "example.test").unwrap();
    let record = key.dns_record().unwrap();
    let chunks: Vec<String> = record
        .as_bytes()
        .chunks(255)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let server = Dnsmasq::start(&[
        "--txt-record=example.test,v=spf1 ip4:127.0.0.5 -all".to_owned(),
        format!(
            "--txt-record=s1._domainkey.example.test,{}",
            chunks.join(",")
        ),
        "--txt-record=_dmarc.example.test,v=DMARC1; p=reject".to_owned(),
        "--txt-record=quarantine.test,v=spf1 ip4:127.0.0.5 -all".to_owned(),
        "--txt-record=_dmarc.quarantine.test,v=DMARC1; p=quarantine".to_owned(),
        "--txt-record=incl.test,v=spf1 include:example.test a:host.incl.test mx ~all".to_owned(),
        "--host-record=host.incl.test,127.0.0.7".to_owned(),
        "--mx-host=incl.test,mx.incl.test,10".to_owned(),
        "--host-record=mx.incl.test,127.0.0.8".to_owned(),
        "--host-record=nospf.test,127.0.0.9".to_owned(),
        "--txt-record=broken.test,v=spf1 ip4:not-an-ip -all".to_owned(),
    ]);
    let dns = Dns::new(&[server.addr]).unwrap();
    Rig {
        _server: server,
        dns,
        key,
        data,
    }
}

fn all_checks() -> ChecksConfig {
    ChecksConfig {
        spf: true,
        dkim: true,
        dmarc: true,
        dmarc_policy: true,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn message(from: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@{from}>\r\nTo: bob@localhost\r\nSubject: checks\r\n\
         Date: Tue, 1 Dec 2026 20:00:00 +0000\r\nMessage-ID: <c@{from}>\r\n\r\nHello\r\n"
    )
    .into_bytes()
}

fn signed(rig: &Rig, from: &str) -> Vec<u8> {
    let m = message(from);
    let mut out = rig.key.sign("s1", &m).unwrap().into_bytes();
    out.extend_from_slice(&m);
    out
}

fn run(
    rig: &Rig,
    config: &ChecksConfig,
    ip: IpAddr,
    mail_from: Option<&str>,
    msg: &[u8],
) -> (String, Disposition) {
    let checked = smol::block_on(checks::check(
        &rig.dns,
        config,
        HOST,
        Request {
            client_ip: ip,
            helo: "client.example.test",
            mail_from,
            message: msg,
        },
    ));
    (checked.header(HOST), checked.disposition)
}

fn ar(rest: &str) -> String {
    format!("Authentication-Results: mx.sansmail.test; {rest}\r\n")
}

#[test]
fn spf_dkim_dmarc_results_and_dispositions() {
    let rig = rig();
    let c = all_checks();
    let good = signed(&rig, "example.test");
    let dkim_ok = "dkim=pass header.d=example.test header.s=s1";

    // Everything passes.
    assert_eq!(
        run(&rig, &c, ip("127.0.0.5"), Some("alice@example.test"), &good),
        (
            ar(&format!(
                "spf=pass smtp.mailfrom=example.test; {dkim_ok}; dmarc=pass header.from=example.test"
            )),
            Disposition::Accept
        )
    );
    // SPF fails from another address, but the aligned signature passes DMARC.
    assert_eq!(
        run(&rig, &c, ip("127.0.0.6"), Some("alice@example.test"), &good),
        (
            ar(&format!(
                "spf=fail smtp.mailfrom=example.test; {dkim_ok}; dmarc=pass header.from=example.test"
            )),
            Disposition::Accept
        )
    );
    // A changed body: both fail, p=reject.
    let forged = String::from_utf8(good.clone())
        .unwrap()
        .replace("Hello", "Hullo");
    assert_eq!(
        run(
            &rig,
            &c,
            ip("127.0.0.6"),
            Some("alice@example.test"),
            forged.as_bytes()
        ),
        (
            ar(
                "spf=fail smtp.mailfrom=example.test; dkim=fail header.d=example.test header.s=s1; dmarc=fail header.from=example.test"
            ),
            Disposition::Reject
        )
    );
    // p=quarantine, unsigned, wrong address; and dmarc_policy = false.
    let q = message("quarantine.test");
    let quarantined = (
        ar(
            "spf=fail smtp.mailfrom=quarantine.test; dkim=none; dmarc=fail header.from=quarantine.test",
        ),
        Disposition::Quarantine,
    );
    assert_eq!(
        run(&rig, &c, ip("127.0.0.6"), Some("a@quarantine.test"), &q),
        quarantined
    );
    let lenient = ChecksConfig {
        dmarc_policy: false,
        ..all_checks()
    };
    assert_eq!(
        run(
            &rig,
            &lenient,
            ip("127.0.0.6"),
            Some("a@quarantine.test"),
            &q
        ),
        (quarantined.0.clone(), Disposition::Accept)
    );
    // include:, a:, mx and the ~all default.
    let incl = message("incl.test");
    for (addr, result) in [
        ("127.0.0.5", "pass"),
        ("127.0.0.7", "pass"),
        ("127.0.0.8", "pass"),
        ("127.0.0.9", "softfail"),
    ] {
        let (header, _) = run(&rig, &c, ip(addr), Some("a@incl.test"), &incl);
        assert_eq!(
            header,
            ar(&format!(
                "spf={result} smtp.mailfrom=incl.test; dkim=none; dmarc=none header.from=incl.test"
            )),
            "{addr}"
        );
    }
    // No SPF record; a broken one.
    assert_eq!(
        run(
            &rig,
            &c,
            ip("127.0.0.9"),
            Some("a@nospf.test"),
            &message("nospf.test")
        )
        .0,
        ar("spf=none smtp.mailfrom=nospf.test; dkim=none; dmarc=none header.from=nospf.test")
    );
    assert_eq!(
        run(
            &rig,
            &c,
            ip("127.0.0.9"),
            Some("a@broken.test"),
            &message("broken.test")
        )
        .0,
        ar(
            "spf=permerror smtp.mailfrom=broken.test; dkim=none; dmarc=none header.from=broken.test"
        )
    );
    // The null sender: SPF checks the HELO identity.
    let checked = smol::block_on(checks::check(
        &rig.dns,
        &c,
        HOST,
        Request {
            client_ip: ip("127.0.0.5"),
            helo: "example.test",
            mail_from: None,
            message: &good,
        },
    ));
    assert_eq!(
        checked.header(HOST),
        ar(&format!(
            "spf=pass smtp.helo=example.test; {dkim_ok}; dmarc=pass header.from=example.test"
        ))
    );
    // A subdomain From: the organizational domain's policy and relaxed
    // alignment of d=example.test.
    let sub = signed(&rig, "mail.example.test");
    assert_eq!(
        run(&rig, &c, ip("127.0.0.6"), Some("a@mail.example.test"), &sub),
        (
            ar(&format!(
                "spf=none smtp.mailfrom=mail.example.test; {dkim_ok}; dmarc=pass header.from=mail.example.test"
            )),
            Disposition::Accept
        )
    );
    let unsigned_sub = message("mail.example.test");
    assert_eq!(
        run(
            &rig,
            &c,
            ip("127.0.0.6"),
            Some("a@mail.example.test"),
            &unsigned_sub
        )
        .1,
        Disposition::Reject
    );
    // MAIL FROM in one domain, From: in another. The envelope's DMARC
    // record is looked up early on the guess that From: shares its domain
    // (`checks::start`); here it does not, and From:'s own policy applies:
    // SPF passes for quarantine.test but is not aligned with example.test,
    // whose p=reject (not quarantine.test's p=quarantine) decides.
    assert_eq!(
        run(
            &rig,
            &c,
            ip("127.0.0.5"),
            Some("a@quarantine.test"),
            &message("example.test")
        ),
        (
            ar(
                "spf=pass smtp.mailfrom=quarantine.test; dkim=none; dmarc=fail header.from=example.test"
            ),
            Disposition::Reject
        )
    );
    // Only SPF enabled.
    let spf_only = ChecksConfig {
        spf: true,
        dkim: false,
        dmarc: false,
        dmarc_policy: true,
    };
    assert_eq!(
        run(
            &rig,
            &spf_only,
            ip("127.0.0.5"),
            Some("alice@example.test"),
            &forged.into_bytes()
        ),
        (
            ar("spf=pass smtp.mailfrom=example.test"),
            Disposition::Accept
        )
    );
}

/// RFC 6376 §5.3 / docs/DESIGN.md §5.3: a signature with `l=` counts as neutral,
/// even when it verifies.
#[test]
fn body_length_signatures_are_neutral() {
    use mail_auth::common::crypto::{RsaKey, Sha256};
    use mail_auth::common::headers::HeaderWriter;
    use mail_auth::dkim::DkimSigner;
    use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, pem::PemObject};

    let rig = rig();
    let pem = std::fs::read(rig.data.path().join("dkim").join("example.test.pem")).unwrap();
    let key = RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(
        PrivatePkcs8KeyDer::from_pem_slice(&pem).unwrap(),
    ))
    .unwrap();
    let m = message("example.test");
    let sig = DkimSigner::from_key(key)
        .domain("example.test")
        .selector("s1")
        .headers(["From", "To", "Subject"])
        .body_length(true)
        .sign(&m)
        .unwrap()
        .to_header();
    assert!(sig.contains("l="), "{sig}");
    let mut msg = sig.into_bytes();
    msg.extend_from_slice(&m);
    msg.extend_from_slice(b"appended after signing\r\n");
    let (header, disposition) = run(
        &rig,
        &all_checks(),
        ip("127.0.0.5"),
        Some("a@example.test"),
        &msg,
    );
    assert_eq!(
        header,
        ar(
            "spf=pass smtp.mailfrom=example.test; dkim=neutral header.d=example.test header.s=s1; dmarc=pass header.from=example.test"
        )
    );
    assert_eq!(disposition, Disposition::Accept);
}

/// A DKIM-Signature field mail-auth refuses (here an unsupported version,
/// RFC 6376 §3.5 `v=1`) is a result of its own (mail-auth's neutral), not
/// `dkim=none`: the no-signature shortcut in `checks::dkim::verify` must
/// not skip it.
#[test]
fn malformed_signature_is_neutral_not_none() {
    let rig = rig();
    let mut msg =
        b"DKIM-Signature: v=2; a=rsa-sha256; d=example.test; s=s1; h=From; bh=AAAA; b=AAAA\r\n"
            .to_vec();
    msg.extend_from_slice(&message("example.test"));
    let (header, disposition) = run(
        &rig,
        &all_checks(),
        ip("127.0.0.5"),
        Some("a@example.test"),
        &msg,
    );
    assert_eq!(
        header,
        ar(
            "spf=pass smtp.mailfrom=example.test; dkim=neutral; dmarc=pass header.from=example.test"
        )
    );
    assert_eq!(disposition, Disposition::Accept);
}

#[test]
fn unreachable_dns_is_temperror_in_bounded_time() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let dns = Dns::new(&[silent.local_addr().unwrap()]).unwrap();
    let data = tempfile::tempdir().unwrap();
    let key = DkimKey::load_or_generate(data.path(), "example.test").unwrap();
    let m = message("example.test");
    let mut msg = key.sign("s1", &m).unwrap().into_bytes();
    msg.extend_from_slice(&m);
    let start = Instant::now();
    let checked = smol::block_on(checks::check(
        &dns,
        &all_checks(),
        HOST,
        Request {
            client_ip: ip("127.0.0.5"),
            helo: "client.example.test",
            mail_from: Some("a@example.test"),
            message: &msg,
        },
    ));
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        checked.header(HOST),
        ar(
            "spf=temperror smtp.mailfrom=example.test; dkim=temperror header.d=example.test header.s=s1; dmarc=temperror header.from=example.test"
        )
    );
    assert_eq!(checked.disposition, Disposition::Accept);
}
