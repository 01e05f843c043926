//! Storage hardening (issue 9) against the real binary: a full disk is a
//! temporary error that heals without a restart, mail is private whatever
//! the umask, links planted in a Maildir are refused, COPY survives
//! `kill -9` all or nothing, a truncated message file is not announced,
//! and account names are normalised.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// Root-only tests run as root (CI does); elsewhere they fail loudly unless
/// `SANSMAIL_SKIP_ROOT_TESTS=1` says to skip them. Returns whether to run.
fn root_or_skip(what: &str) -> bool {
    if std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
    {
        return true;
    }
    if std::env::var("SANSMAIL_SKIP_ROOT_TESTS").as_deref() == Ok("1") {
        eprintln!("SKIPPED {what}: needs root (SANSMAIL_SKIP_ROOT_TESTS=1)");
        return false;
    }
    panic!("{what} needs root (mount); run as root or set SANSMAIL_SKIP_ROOT_TESTS=1 to skip");
}

/// A tmpfs mounted for the test; unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .output()
            .expect("run mount");
        assert!(out.status.success(), "mount tmpfs: {}", describe(&out));
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes into `path` until the filesystem is full (ENOSPC).
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0xA5u8; 64 * 1024];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    // The last partial page too.
    for _ in 0..64 {
        if f.write(&[0u8; 512]).is_err() {
            break;
        }
    }
}

fn message(token: &str, body: &str) -> Vec<u8> {
    format!("From: sender@example.org\r\nTo: alice@localhost\r\nSubject: {token}\r\n\r\n{body}\r\n")
        .into_bytes()
}

fn smtp_send(addr: std::net::SocketAddr, token: &str) -> Reply {
    let (mut c, _) = RawSmtp::connect_ehlo(addr);
    c.send_mail("sender@example.org", ALICE.0, &message(token, "hello"))
        .expect("SMTP transaction")
}

#[test]
fn full_disk_is_temporary_and_heals_without_a_restart() {
    if !root_or_skip("full_disk_is_temporary_and_heals_without_a_restart") {
        return;
    }
    let site = site_with_auth(
        Opts {
            listeners: vec!["smtp", "imap", "pop3"],
            ..Opts::default()
        },
        "failure_delay_ms = 0",
    );
    let _tmpfs = Tmpfs::mount(&site.data_dir(), "8m");
    site.user_add(ALICE.0, ALICE.1);
    let srv = site.start();
    let (smtp, imap, pop3) = (srv.addr("smtp"), srv.addr("imap"), srv.addr("pop3"));
    assert_eq!(smtp_send(smtp, "before-full").0, 250);

    fill(&site.data_dir().join("filler"));

    // SMTP: 452 4.3.1, and the session goes on.
    let (mut c, _) = RawSmtp::connect_ehlo(smtp);
    let r = c
        .send_mail(
            "sender@example.org",
            ALICE.0,
            &message("while-full", &"x".repeat(200_000)),
        )
        .unwrap();
    assert_eq!(r.0, 452, "{r:?}");
    assert!(
        r.1[0].starts_with("4.3.1 Insufficient system storage"),
        "{r:?}"
    );
    c.expect("NOOP", 250);

    // IMAP: mail can still be read on the full disk; writes get
    // NO [OVERQUOTA]; the connection survives them.
    let mut i = RawImap::login(imap, ALICE.0, ALICE.1);
    // One message waits in new/: the SELECT would claim it as \Recent (a
    // write), and still answers OK.
    let sel = i.cmd("SELECT INBOX");
    assert!(sel.ok(), "SELECT on a full disk: {sel:?}");
    assert!(sel.untagged.contains(&"* 1 EXISTS".to_owned()), "{sel:?}");
    let f = i.cmd("FETCH 1 BODY.PEEK[]");
    assert!(f.ok(), "{f:?}");
    assert!(f.untagged[0].contains("Subject: before-full"), "{f:?}");
    let a = i.append("INBOX", "", &message("append-full", &"y".repeat(200_000)));
    assert!(
        a.status.starts_with("NO [OVERQUOTA]"),
        "APPEND on a full disk: {a:?}"
    );
    // Index-only writes may fit in the index file's free pages or not;
    // either way they answer, and what fails is a temporary NO.
    let mut index_failed = false;
    for cmd in ["STORE 1 +FLAGS (\\Flagged)", "CREATE Full"] {
        let r = i.cmd(cmd);
        eprintln!("full disk: {cmd} -> {}", r.status);
        index_failed |= !r.ok();
        assert!(
            r.ok() || r.status.starts_with("NO [OVERQUOTA]"),
            "{cmd} on a full disk: {r:?}"
        );
    }
    assert!(i.cmd("NOOP").ok());
    let mut k = RawImap::login(imap, ALICE.0, ALICE.1);
    assert!(
        k.cmd("SELECT INBOX").ok(),
        "a second reader on the full disk"
    );
    // Another client keeps being served.
    let mut p = RawPop3::login(pop3, ALICE.0, ALICE.1);
    assert!(p.ok("STAT").starts_with("+OK 1 "));
    p.ok("QUIT");

    // Space returns: the next deliveries and mailbox changes work, with
    // no restart. The time to the first 250 is the recovery time.
    std::fs::remove_file(site.data_dir().join("filler")).unwrap();
    let freed = Instant::now();
    let mut attempts = 0;
    let recovered = loop {
        attempts += 1;
        let r = smtp_send(smtp, &format!("after-full-{attempts}"));
        if r.0 == 250 {
            break freed.elapsed();
        }
        assert!(
            freed.elapsed() < Duration::from_secs(10),
            "no recovery 10 s after freeing space: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!(
        "full disk: first 250 {} ms after freeing space ({attempts} attempt(s))",
        recovered.as_millis()
    );
    // A failed index commit latched redb's I/O error: it was reopened.
    let log = srv.output_text();
    assert!(
        !index_failed || log.contains("reopened the mail index after an I/O error"),
        "{log}"
    );
    let r = i.cmd("CREATE AfterFull");
    assert!(r.ok(), "CREATE after space returned: {r:?}");
    let mut j = RawImap::login(imap, ALICE.0, ALICE.1);
    let s = j.cmd("SELECT AfterFull");
    assert!(s.ok(), "{s:?}");
    let s = j.cmd("SELECT INBOX");
    assert!(s.ok(), "{s:?}");
    let exists: Vec<String> = s
        .lines("")
        .into_iter()
        .filter(|l| l.ends_with(" EXISTS"))
        .collect();
    assert_eq!(
        exists,
        vec![format!("* {} EXISTS", 1 + 1)],
        "before-full + the first after-full; nothing of the failed ones"
    );
    let a = j.append("INBOX", "", &message("append-after", "z"));
    assert!(a.ok(), "{a:?}");
    assert!(srv.stop().success());
}

/// Every directory under `root` and the files in it: (path, mode).
fn modes(root: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                stack.push(e.path());
            }
            out.push((e.path(), m));
        }
    }
    out
}

#[test]
fn mail_and_keys_are_private_whatever_the_umask() {
    let site = Site::new(Opts {
        listeners: vec!["smtp", "smtps", "imap"],
        ..Opts::default()
    });
    // A data_dir as an older version left it under umask 022.
    let stale = maildir_of(&site.data_dir(), "old@localhost").join("cur");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("1.old.host,S=4:2,S"), b"old\n").unwrap();
    for p in [site.data_dir(), site.data_dir().join("mail")] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let umask = |args: &[&str]| {
        // umask 022 explicitly, whatever this test process runs with.
        let mut sh = Command::new("sh");
        sh.current_dir(site.dir())
            .env_remove("SANSMAIL_CONFIG")
            .arg("-c")
            .arg("umask 022; exec \"$@\"")
            .arg("sh")
            .arg(bin())
            .arg("--config")
            .arg(site.config())
            .args(args);
        sh
    };
    let out = run_with_stdin(umask(&["user", "add", ALICE.0, "--password-stdin"]), "pw\n");
    assert!(out.status.success(), "{}", describe(&out));
    let mut serve = umask(&["serve"]);
    serve.env("NO_COLOR", "1");
    let srv = Server::spawn(serve, &site.opts.listeners);
    assert_eq!(smtp_send(srv.addr("smtp"), "private").0, 250);
    let mut i = RawImap::login(srv.addr("imap"), ALICE.0, "pw");
    assert!(i.cmd("CREATE Secret/Deep").ok());
    let a = i.append("Secret/Deep", "\\Seen", &message("appended", "x"));
    assert!(a.ok(), "{a:?}");

    let data = site.data_dir();
    let meta = std::fs::metadata(&data).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o700, "data_dir");
    let all = modes(&data);
    let mut files = 0;
    for (path, m) in &all {
        let mode = m.mode() & 0o777;
        if m.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
        } else if m.is_file() {
            files += 1;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
    }
    for must in ["index.redb", "tls-cert.pem", "tls-key.pem"] {
        let found = all
            .iter()
            .any(|(p, _)| p.file_name().is_some_and(|n| n == must));
        assert!(found, "{must} under data_dir: {all:?}");
    }
    assert!(files >= 5, "messages, index and TLS files checked: {files}");
    assert!(srv.stop().success());
}

#[test]
fn symlinks_planted_in_a_maildir_are_refused() {
    let site = imap_site("loopback");
    let outside = site.dir().join("outside");
    std::fs::create_dir_all(outside.join("cur")).unwrap();
    let secret = site.dir().join("shadow");
    std::fs::write(&secret, message("root-only", "SECRET-SHADOW-LINE")).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(outside.join("cur/victim,S=6:2,"), b"victim").unwrap();

    let root = maildir_of(&site.data_dir(), ALICE.0);
    // A link in new/ to a root-only file.
    symlink(&secret, root.join("new/1700000000.link.host,S=60")).unwrap();
    // A `.Folder` linked outside the account.
    symlink(&outside, root.join(".Evil")).unwrap();
    // `.Junk/new` pointing at another directory.
    std::fs::remove_dir(root.join(".Junk/new")).unwrap();
    symlink(outside.join("cur"), root.join(".Junk/new")).unwrap();

    let srv = site.start();
    assert_eq!(smtp_send(srv.addr("smtp"), "real-mail").0, 250);
    let mut i = RawImap::login(srv.addr("imap"), ALICE.0, ALICE.1);
    let s = i.cmd("SELECT INBOX");
    assert!(s.ok(), "{s:?}");
    assert!(
        s.untagged.contains(&"* 1 EXISTS".to_owned()),
        "only the real message: {s:?}"
    );
    let f = i.cmd("FETCH 1:* BODY.PEEK[]");
    assert!(f.ok(), "{f:?}");
    assert!(
        !f.untagged.iter().any(|l| l.contains("SECRET-SHADOW-LINE")),
        "{f:?}"
    );

    let c = i.cmd("CREATE Evil");
    assert!(
        c.status.starts_with("NO"),
        "CREATE through a linked folder: {c:?}"
    );
    for sub in ["new", "tmp"] {
        assert!(
            !outside.join(sub).exists(),
            "{sub}/ created through the link"
        );
    }
    let j = i.cmd("SELECT Junk");
    assert!(
        j.status.starts_with("NO"),
        "SELECT of a Maildir with a linked new/: {j:?}"
    );
    assert!(
        outside.join("cur/victim,S=6:2,").exists(),
        "the link target is untouched"
    );
    // The session and the server go on.
    assert!(i.cmd("SELECT INBOX").ok());
    let mut p = RawPop3::login(srv.addr("pop3"), ALICE.0, ALICE.1);
    assert!(
        p.ok("STAT").starts_with("+OK 1 "),
        "POP3 sees only the real message"
    );
    let retr = p.multiline("RETR 1");
    assert!(!contains(&retr, b"SECRET-SHADOW-LINE"));
    p.ok("QUIT");
    assert!(
        srv.output_text().contains("symbolic link"),
        "the planted links are logged"
    );
    assert!(srv.stop().success());
}

#[test]
fn copy_is_all_or_nothing_across_kill_9() {
    const N: usize = 5000;
    let site = imap_site("loopback");
    // 5000 messages dropped into new/ the way an MDA would; the server
    // adopts them at start.
    for k in 0..N {
        drop_into_new(
            &site.data_dir(),
            ALICE.0,
            &format!("1700000000.M{k}P1.host,S=40"),
            format!("Subject: copy-{k}\r\n\r\nbody of {k:08}\r\n").as_bytes(),
        );
    }
    let archive = maildir_of(&site.data_dir(), ALICE.0).join(".Archive");
    let count = |md: &Path| {
        ["new", "cur"]
            .iter()
            .map(|s| std::fs::read_dir(md.join(s)).map_or(0, |d| d.count()))
            .sum::<usize>()
    };
    let srv = site.start();
    let mut i = RawImap::login(srv.addr("imap"), ALICE.0, ALICE.1);
    let s = i.cmd("SELECT INBOX");
    assert!(s.untagged.contains(&format!("* {N} EXISTS")), "{s:?}");
    i.send(b"c1 UID COPY 1:* Archive\r\n").unwrap();
    // Kill the server as soon as the first copy shows up on disk (in new/
    // for an unflagged copy, RFC 3501 §6.4.7: it is \Recent there; cur/
    // for one with flags).
    let started = Instant::now();
    let empty = |d: &std::path::Path| std::fs::read_dir(d).map_or(true, |mut d| d.next().is_none());
    while empty(&archive.join("cur")) && empty(&archive.join("new")) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "COPY never started"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    srv.kill9();
    let at_kill = count(&archive);
    eprintln!("kill -9 with {at_kill} of {N} copies on disk");

    let srv = site.start();
    let mut i = RawImap::login(srv.addr("imap"), ALICE.0, ALICE.1);
    let s = i.cmd("SELECT Archive");
    assert!(s.ok(), "{s:?}");
    let exists: Vec<&String> = s
        .untagged
        .iter()
        .filter(|l| l.ends_with(" EXISTS"))
        .collect();
    assert!(
        exists == vec!["* 0 EXISTS"] || exists == vec![&format!("* {N} EXISTS")],
        "COPY must be all or nothing, got {exists:?} ({at_kill} copies at the kill)"
    );
    let on_disk = count(&archive);
    assert!(
        on_disk == 0 || on_disk == N,
        "{on_disk} files left in Archive"
    );
    let s = i.cmd("SELECT INBOX");
    assert!(
        s.untagged.contains(&format!("* {N} EXISTS")),
        "the source is intact: {s:?}"
    );
    // The COPY works after the restart, all of it.
    let c = i.cmd("UID COPY 1:* Trash");
    assert!(c.ok(), "{c:?}");
    let s = i.cmd("STATUS Trash (MESSAGES)");
    assert!(
        s.untagged
            .iter()
            .any(|l| l.contains(&format!("MESSAGES {N}"))),
        "{s:?}"
    );
    assert!(srv.stop().success());
}

#[test]
fn a_truncated_message_file_is_not_announced() {
    let site = imap_site("loopback");
    let srv = site.start();
    let body = "line of text\r\n".repeat(100);
    let (mut c, _) = RawSmtp::connect_ehlo(srv.addr("smtp"));
    assert_eq!(
        c.send_mail("s@example.org", ALICE.0, &message("trunc", &body))
            .unwrap()
            .0,
        250
    );
    assert_eq!(
        c.send_mail("s@example.org", ALICE.0, &message("intact", "ok"))
            .unwrap()
            .0,
        250
    );
    let mut i = RawImap::login(srv.addr("imap"), ALICE.0, ALICE.1);
    assert!(i.cmd("SELECT INBOX").ok());
    let (path, _) = stored_with(&site, ALICE.0, "trunc");
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(100).unwrap();
    drop(f);
    // Every item that would announce a literal from the file asks the
    // store first (whole message included: BODY[], RFC822, BINARY[]); the
    // store reports the size mismatch, no literal of the old size is
    // announced, and the FETCH ends NO [SERVERBUG] (RFC 9051 §6.4.5).
    for item in [
        "BODY.PEEK[TEXT]",
        "BODY.PEEK[HEADER]",
        "BODY.PEEK[1]",
        "BODY.PEEK[]",
        "BODY[]",
        "RFC822",
        "BINARY.PEEK[]",
        "BINARY.PEEK[1]",
        "BINARY.SIZE[1]",
    ] {
        let r = i.cmd(&format!("FETCH 1 {item}"));
        assert!(
            !r.untagged.iter().any(|l| l.starts_with("* 1 FETCH")),
            "{item} of a truncated file must not be served: {r:?}"
        );
        assert_eq!(
            r.status, "NO [SERVERBUG] Some messages could not be read",
            "{item}: {r:?}"
        );
        // The connection survives.
        assert!(i.cmd("NOOP").ok(), "after {item}");
    }
    // The other message of the same FETCH is served; the command still
    // says that one message failed.
    let r = i.cmd("FETCH 1:2 (UID BODY.PEEK[])");
    assert_eq!(r.lines("1 FETCH").len(), 0, "{r:?}");
    let two = r.lines("2 FETCH");
    assert_eq!(two.len(), 1, "{r:?}");
    assert!(
        r.untagged.iter().any(|l| l.contains("Subject: intact")),
        "{r:?}"
    );
    assert!(r.status.starts_with("NO [SERVERBUG]"), "{r:?}");
    let r = i.cmd("FETCH 2 BODY.PEEK[]");
    assert!(r.ok() && r.untagged[0].contains("Subject: intact"), "{r:?}");
    // Metadata needs no file.
    let r = i.cmd("FETCH 1 (UID RFC822.SIZE FLAGS)");
    assert!(
        r.ok() && r.untagged[0].starts_with("* 1 FETCH (UID 1 RFC822.SIZE "),
        "{r:?}"
    );
    assert!(i.cmd("NOOP").ok());
    assert!(srv.stop().success());
}

#[test]
fn account_names_are_nfc_without_invisible_characters() {
    let site = Site::new(Opts {
        listeners: vec!["smtp"],
        ..Opts::default()
    });
    // é precomposed, then as e + U+0301: the same account.
    site.user_add("jos\u{e9}@localhost", "pw");
    let again = site.run(
        &["user", "add", "jose\u{301}@localhost", "--password-stdin"],
        "pw\n",
    );
    assert!(
        !again.status.success(),
        "decomposed spelling is the same account: {}",
        describe(&again)
    );
    let list = site.run(&["user", "list"], "");
    assert_eq!(
        String::from_utf8_lossy(&list.stdout).trim(),
        "jos\u{e9}@localhost"
    );
    for bad in ["ali\u{202e}ce@localhost", "alice\u{200b}@localhost"] {
        let out = site.run(&["user", "add", bad, "--password-stdin"], "pw\n");
        assert!(!out.status.success(), "{bad:?} accepted");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("invisible character"),
            "{}",
            describe(&out)
        );
    }
    let del = site.run(&["user", "del", "jose\u{301}@localhost"], "");
    assert!(
        del.status.success(),
        "the decomposed spelling names it: {}",
        describe(&del)
    );
}
