//! End-to-end: IMAP clients we did not write — curl, imapclient (pip) and
//! mbsync (isync) syncing both ways with a local Maildir. A test whose client
//! is not installed is reported as ignored (see build.rs).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// The APPENDUID of an OK APPEND.
fn appended(r: &ImapReply) -> u32 {
    assert!(r.ok(), "APPEND {r:?}");
    resp_code(&r.status, "APPENDUID").expect("APPENDUID")[1]
        .parse()
        .expect("uid")
}

fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-s", "-S", "--max-time", "20"])
        .args(args)
        .output()
        .expect("run curl")
}

fn curl_ok(args: &[&str]) -> Vec<u8> {
    let out = curl(args);
    assert!(out.status.success(), "curl {args:?}: {}", describe(&out));
    out.stdout
}

#[test]
#[cfg_attr(not(have_curl), ignore = "needs curl (scripts/ci-deps.sh installs it)")]
fn curl_fetches_exact_bytes_lists_and_uses_tls() {
    require("curl");
    let site = imap_site("loopback");
    let server = site.start();
    let raw = message("curl-imap");
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    let uid = appended(&c.append("INBOX", "", &raw));
    c.ok("CREATE Work/Projects");
    let userpass = format!("{}:{}", ALICE.0, ALICE.1);
    let imap = server.port("imap");
    let imaps = server.port("imaps");

    let url = format!("imap://127.0.0.1:{imap}/INBOX;UID={uid}");
    assert_eq!(curl_ok(&[&url, "-u", &userpass]), raw, "imap:// body");
    let got = curl_ok(&["--ssl-reqd", "-k", &url, "-u", &userpass]);
    assert_eq!(got, raw, "imap:// with STARTTLS");
    let url = format!("imaps://127.0.0.1:{imaps}/INBOX;UID={uid}");
    assert_eq!(curl_ok(&["-k", &url, "-u", &userpass]), raw, "imaps://");
    // A section: curl asks for BODY[TEXT] with ;SECTION=TEXT.
    let url = format!("imap://127.0.0.1:{imap}/INBOX;UID={uid};SECTION=TEXT");
    assert_eq!(
        curl_ok(&[&url, "-u", &userpass]),
        b"body of curl-imap\r\n.leading dot\r\nend\r\n".to_vec(),
        "SECTION=TEXT"
    );

    // LIST: curl prints the untagged LIST lines.
    let list = curl_ok(&[&format!("imap://127.0.0.1:{imap}/"), "-u", &userpass]);
    let list = String::from_utf8(list).expect("utf-8");
    let mut names: Vec<&str> = list
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap_or(""))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Archive",
            "Drafts",
            "INBOX",
            "Junk",
            "Sent",
            "Trash",
            "Work",
            "Work/Projects"
        ],
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("* LIST (") && l.contains("\\Sent") && l.ends_with(" Sent")),
        "{list}"
    );
    // A custom command.
    let out = curl_ok(&[
        &format!("imap://127.0.0.1:{imap}/INBOX"),
        "-u",
        &userpass,
        "-X",
        "UID SEARCH SUBJECT curl-imap",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out).trim_end(),
        format!("* SEARCH {uid}")
    );
    // A wrong password fails (curl exit 67: login denied).
    let out = curl(&[
        &format!("imap://127.0.0.1:{imap}/INBOX;UID={uid}"),
        "-u",
        "alice@localhost:nope",
    ]);
    assert_eq!(out.status.code(), Some(67), "{}", describe(&out));
}

#[test]
#[cfg_attr(
    not(have_imapclient),
    ignore = "needs imapclient (scripts/ci-deps.sh installs it)"
)]
#[cfg_attr(
    not(have_python3),
    ignore = "needs python3 (scripts/ci-deps.sh installs it)"
)]
fn imapclient_realistic_session() {
    let site = imap_site("loopback");
    let server = site.start();
    let imap = server.port("imap").to_string();
    let imaps = server.port("imaps").to_string();
    let smtp = server.port("smtp").to_string();
    let out = python(
        "imap_imapclient.py",
        &["127.0.0.1", &imap, &imaps, &smtp, ALICE.0, ALICE.1],
    );
    println!("{out}");
    let r = results(&out);
    assert_eq!(r.get("failed").map(String::as_str), Some("0"), "{out}");
    assert!(
        !r.contains_key("skipped"),
        "the imapclient module is missing (scripts/ci-deps.sh installs it): {out}"
    );
    let checks: u32 = r.get("checks").and_then(|c| c.parse().ok()).unwrap_or(0);
    assert!(checks >= 20, "too few checks ran: {out}");
}

// ---------------------------------------------------------------------------
// mbsync

/// Maildir flag letters of IMAP system flags (`\Recent` and keywords left out).
fn letters(imap_flags: &str) -> String {
    let mut l: Vec<char> = imap_flags
        .split_whitespace()
        .filter_map(|f| match f {
            "\\Seen" => Some('S'),
            "\\Answered" => Some('R'),
            "\\Flagged" => Some('F'),
            "\\Deleted" => Some('T'),
            "\\Draft" => Some('D'),
            _ => None,
        })
        .collect();
    l.sort_unstable();
    l.into_iter().collect()
}

/// Subject -> Maildir flag letters of every message in INBOX on the server.
fn server_view(addr: std::net::SocketAddr) -> BTreeMap<String, String> {
    let mut c = RawImap::login(addr, ALICE.0, ALICE.1);
    c.ok("EXAMINE INBOX");
    let r = c.ok("UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    let mut out = BTreeMap::new();
    for l in &r.untagged {
        let flags = l
            .split_once("FLAGS (")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(f, _)| f)
            .unwrap_or_else(|| panic!("no FLAGS in {l:?}"));
        let subject = subject_of(l.as_bytes()).unwrap_or_else(|| panic!("no subject in {l:?}"));
        assert!(
            out.insert(subject.clone(), letters(flags)).is_none(),
            "two messages with subject {subject}"
        );
    }
    out
}

/// The Subject field's value in a message (first occurrence).
fn subject_of(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let at = text.find("Subject: ")?;
    let rest = &text[at + "Subject: ".len()..];
    Some(rest.lines().next()?.trim_end_matches('\r').to_owned())
}

/// Subject -> (path, flag letters) of the local Maildir's messages.
fn local_view(inbox: &Path) -> BTreeMap<String, (PathBuf, String)> {
    let mut out = BTreeMap::new();
    for sub in ["new", "cur"] {
        let Ok(rd) = std::fs::read_dir(inbox.join(sub)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let mut flags: Vec<char> = name
                .split_once(":2,")
                .map(|(_, f)| f.chars().collect())
                .unwrap_or_default();
            flags.sort_unstable();
            let bytes = std::fs::read(&p).expect("read local message");
            let subject = subject_of(&bytes).unwrap_or_else(|| panic!("no subject in {p:?}"));
            let old = out.insert(subject.clone(), (p, flags.into_iter().collect()));
            assert!(old.is_none(), "two local messages with subject {subject}");
        }
    }
    out
}

/// The UID of the one message in the selected mailbox with `subject`.
fn uid_of(c: &mut RawImap, subject: &str) -> u32 {
    // Learn of messages mbsync added first: SEARCH answers on the view the
    // client has, and EXISTS may follow its result.
    c.ok("NOOP");
    let r = c.ok(&format!("UID SEARCH SUBJECT {subject}"));
    let found = r.lines("SEARCH");
    let uids: Vec<u32> = found
        .first()
        .map(|l| {
            l.split(' ')
                .skip(2)
                .filter_map(|w| w.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(uids.len(), 1, "UID SEARCH SUBJECT {subject}: {r:?}");
    uids[0]
}

/// The message without isync's `X-TUID: ...` header line.
fn drop_x_tuid(bytes: &[u8]) -> Vec<u8> {
    let Some(at) = bytes.windows(8).position(|w| w == b"\nX-TUID:") else {
        return bytes.to_vec();
    };
    let end = bytes[at + 1..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |e| at + 1 + e + 1);
    let mut out = bytes[..at + 1].to_vec();
    out.extend_from_slice(&bytes[end..]);
    out
}

fn flags_only(v: &BTreeMap<String, (PathBuf, String)>) -> BTreeMap<String, String> {
    v.iter().map(|(k, (_, f))| (k.clone(), f.clone())).collect()
}

fn view(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(s, f)| ((*s).to_owned(), (*f).to_owned()))
        .collect()
}

/// Writes `.mbsyncrc` for `port` (plain with `AuthMechs LOGIN`, or IMAPS
/// trusting the server's own certificate) and returns its path.
fn mbsyncrc(site: &Site, dir: &Path, port: u16, tls: bool) -> PathBuf {
    let security = if tls {
        format!(
            "SSLType IMAPS\nCertificateFile {}\nSSLVersions TLSv1.2 TLSv1.3\n",
            site.data_dir().join("tls-cert.pem").display()
        )
    } else {
        // isync sends LOGIN without TLS only when asked for explicitly.
        "SSLType None\nAuthMechs LOGIN\n".to_owned()
    };
    let rc = format!(
        "IMAPAccount sansmail\nHost 127.0.0.1\nPort {port}\nUser {user}\nPass \"{pass}\"\n{security}\
         Timeout 20\n\n\
         IMAPStore remote\nAccount sansmail\n\n\
         MaildirStore local\nPath {local}/\nInbox {local}/INBOX\nSubFolders Verbatim\n\n\
         Channel sync\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Both\nExpunge Both\n\
         SyncState *\nSync All\n",
        user = ALICE.0,
        pass = ALICE.1,
        local = dir.join("local").display(),
    );
    let path = dir.join("mbsyncrc");
    std::fs::write(&path, rc).expect("write mbsyncrc");
    std::fs::create_dir_all(dir.join("local")).expect("mkdir local");
    path
}

fn mbsync(rc: &Path) {
    let out = Command::new("mbsync")
        .arg("-c")
        .arg(rc)
        .arg("-a")
        .output()
        .expect("run mbsync");
    assert!(out.status.success(), "mbsync failed: {}", describe(&out));
}

#[test]
#[cfg_attr(
    not(have_mbsync),
    ignore = "needs mbsync (scripts/ci-deps.sh installs it)"
)]
fn mbsync_syncs_both_ways_new_messages_flags_and_deletions() {
    require("mbsync");
    let site = imap_site("loopback");
    let server = site.start();
    let imap = server.addr("imap");
    let work = tempfile::tempdir().expect("tempdir");
    let rc = mbsyncrc(&site, work.path(), imap.port(), false);
    let inbox = work.path().join("local").join("INBOX");

    let a = message("mb-a");
    let b = message("mb-b");
    let mut c = RawImap::login(imap, ALICE.0, ALICE.1);
    appended(&c.append("INBOX", "\\Seen", &a));
    appended(&c.append("INBOX", "", &b));

    // 1. New messages come down with their flags and bytes.
    mbsync(&rc);
    let local = local_view(&inbox);
    assert_eq!(flags_only(&local), view(&[("mb-a", "S"), ("mb-b", "")]));
    assert_eq!(server_view(imap), view(&[("mb-a", "S"), ("mb-b", "")]));
    for (subject, sent) in [("mb-a", &a), ("mb-b", &b)] {
        // isync adds an X-TUID header to every message it propagates.
        let got = drop_x_tuid(&std::fs::read(&local[subject].0).expect("read"));
        // isync stores Maildir messages with LF line endings.
        assert!(
            got == *sent || got == crlf_to_lf(sent),
            "local copy of {subject} differs: {:?}",
            String::from_utf8_lossy(&got)
        );
    }

    // 2. Up: a message put into the local Maildir and a local flag; down:
    //    a flag set on the server.
    let c_msg = "From: <me@localhost>\nTo: <alice@localhost>\nSubject: mb-c\n\nwritten locally\n";
    std::fs::write(inbox.join("new").join("1700000000.local1.host"), c_msg).expect("write");
    let (pa, _) = &local["mb-a"];
    let name = pa.file_name().unwrap_or_default().to_string_lossy();
    let flagged = name.replacen(":2,S", ":2,FS", 1);
    assert_ne!(flagged, name, "local name of mb-a: {name}");
    std::fs::rename(pa, pa.with_file_name(flagged)).expect("flag locally");
    c.ok("SELECT INBOX");
    let uid_b = uid_of(&mut c, "mb-b");
    c.ok(&format!("UID STORE {uid_b} +FLAGS.SILENT (\\Answered)"));
    mbsync(&rc);
    let want = view(&[("mb-a", "FS"), ("mb-b", "R"), ("mb-c", "")]);
    assert_eq!(flags_only(&local_view(&inbox)), want, "local after sync 2");
    assert_eq!(server_view(imap), want, "server after sync 2");
    // The uploaded message arrived with its text (isync may add X-TUID).
    let uid_c = uid_of(&mut c, "mb-c");
    let r = c.ok(&format!("UID FETCH {uid_c} BODY.PEEK[TEXT]"));
    assert!(
        r.raw[0].ends_with(b"{17}\r\nwritten locally\r\n)"),
        "uploaded body: {:?}",
        r.untagged
    );

    // 3. Deletions both ways: mb-a expunged on the server, mb-b removed
    //    locally.
    let uid_a = uid_of(&mut c, "mb-a");
    c.ok(&format!("UID STORE {uid_a} +FLAGS.SILENT (\\Deleted)"));
    c.ok("EXPUNGE");
    c.ok("UNSELECT");
    let local = local_view(&inbox);
    std::fs::remove_file(&local["mb-b"].0).expect("delete locally");
    mbsync(&rc);
    let want = view(&[("mb-c", "")]);
    assert_eq!(flags_only(&local_view(&inbox)), want, "local after sync 3");
    assert_eq!(server_view(imap), want, "server after sync 3");

    // 4. Nothing changes on a sync without changes.
    mbsync(&rc);
    assert_eq!(flags_only(&local_view(&inbox)), want, "local after sync 4");
    assert_eq!(server_view(imap), want, "server after sync 4");
}

#[test]
#[cfg_attr(
    not(have_mbsync),
    ignore = "needs mbsync (scripts/ci-deps.sh installs it)"
)]
fn mbsync_over_imaps_with_the_self_signed_certificate() {
    require("mbsync");
    let site = imap_site("loopback");
    let server = site.start();
    let work = tempfile::tempdir().expect("tempdir");
    let rc = mbsyncrc(&site, work.path(), server.port("imaps"), true);
    let inbox = work.path().join("local").join("INBOX");
    let mut c = RawImap::login(server.addr("imap"), ALICE.0, ALICE.1);
    appended(&c.append("INBOX", "\\Flagged", &message("tls-a")));
    mbsync(&rc);
    assert_eq!(flags_only(&local_view(&inbox)), view(&[("tls-a", "F")]));
    std::fs::write(
        inbox.join("new").join("1700000001.local2.host"),
        "Subject: tls-b\n\nup over TLS\n",
    )
    .expect("write");
    mbsync(&rc);
    let want = view(&[("tls-a", "F"), ("tls-b", "")]);
    assert_eq!(flags_only(&local_view(&inbox)), want);
    assert_eq!(server_view(server.addr("imap")), want);
}

// ---------------------------------------------------------------------------
// offlineimap

fn offlineimap(rc: &Path) {
    let out = Command::new("offlineimap")
        .arg("-c")
        .arg(rc)
        .args(["-o", "-u", "basic"])
        .output()
        .expect("run offlineimap");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !text.contains("ERROR"),
        "offlineimap failed: {}",
        describe(&out)
    );
}

#[test]
#[cfg_attr(
    not(have_offlineimap),
    ignore = "needs offlineimap (scripts/ci-deps.sh installs it)"
)]
fn offlineimap_syncs_flags_new_messages_and_deletions() {
    require("offlineimap");
    let site = imap_site("loopback");
    let server = site.start();
    let imap = server.addr("imap");
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    let rc = dir.join("offlineimaprc");
    std::fs::write(
        &rc,
        format!(
            "[general]\naccounts = t\nmetadata = {meta}\n\n\
             [Account t]\nlocalrepository = local\nremoterepository = remote\n\n\
             [Repository local]\ntype = Maildir\nlocalfolders = {mail}\n\n\
             [Repository remote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = {port}\n\
             remoteuser = {user}\nremotepass = {pass}\nssl = no\nstarttls = no\n\
             folderfilter = lambda f: f == 'INBOX'\n",
            meta = dir.join("meta").display(),
            mail = dir.join("mail").display(),
            port = imap.port(),
            user = ALICE.0,
            pass = ALICE.1,
        ),
    )
    .expect("write offlineimaprc");
    let inbox = dir.join("mail").join("INBOX");
    let mut c = RawImap::login(imap, ALICE.0, ALICE.1);
    appended(&c.append("INBOX", "\\Seen", &message("oi-a")));
    appended(&c.append("INBOX", "", &message("oi-b")));

    offlineimap(&rc);
    let local = local_view(&inbox);
    assert_eq!(flags_only(&local), view(&[("oi-a", "S"), ("oi-b", "")]));
    let got = std::fs::read(&local["oi-a"].0).expect("read");
    assert!(
        got == message("oi-a") || got == crlf_to_lf(&message("oi-a")),
        "local copy differs: {:?}",
        String::from_utf8_lossy(&got)
    );

    // Flags both ways and a new local message up.
    let (pb, _) = &local["oi-b"];
    let name = pb
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let renamed = if name.contains(":2,") {
        name.replacen(":2,", ":2,F", 1)
    } else {
        format!("{name}:2,F")
    };
    let cur = inbox.join("cur");
    std::fs::rename(pb, cur.join(renamed)).expect("flag locally");
    std::fs::write(
        inbox.join("new").join("1700000000_0.1.host"),
        "Subject: oi-c\n\nfrom offlineimap\n",
    )
    .expect("write local message");
    c.ok("SELECT INBOX");
    let uid_a = uid_of(&mut c, "oi-a");
    c.ok(&format!("UID STORE {uid_a} +FLAGS.SILENT (\\Answered)"));
    offlineimap(&rc);
    let want = view(&[("oi-a", "RS"), ("oi-b", "F"), ("oi-c", "")]);
    assert_eq!(flags_only(&local_view(&inbox)), want, "local after sync 2");
    assert_eq!(server_view(imap), want, "server after sync 2");

    // Deletions both ways.
    let uid_b = uid_of(&mut c, "oi-b");
    c.ok(&format!("UID STORE {uid_b} +FLAGS.SILENT (\\Deleted)"));
    c.ok("EXPUNGE");
    std::fs::remove_file(&local_view(&inbox)["oi-c"].0).expect("delete locally");
    offlineimap(&rc);
    let want = view(&[("oi-a", "RS")]);
    assert_eq!(flags_only(&local_view(&inbox)), want, "local after sync 3");
    assert_eq!(server_view(imap), want, "server after sync 3");
}
