//! FETCH BINARY / BINARY.SIZE (RFC 3516) and SEARCH BODY / TEXT (RFC 9051
//! §6.4.4) over messages the server streams from their files in 64 KiB
//! reads, never holding them whole (issue 9 item 2): the exact octets and
//! literal forms (`~{n}` only when a NUL is in it), partial windows, the
//! decoded size, matches inside base64 and quoted-printable parts, in a
//! legacy charset, and across a read boundary of the file.

mod common;

use common::*;

/// The base64 part's content: NULs and 8-bit octets.
const BLOB: &[u8] = b"\x00\x01binary\xffdata\x00";

fn b64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    // 76-character lines (RFC 2045 §6.8).
    let mut wrapped = String::new();
    for (i, ch) in out.chars().enumerate() {
        if i > 0 && i % 76 == 0 {
            wrapped.push_str("\r\n");
        }
        wrapped.push(ch);
    }
    wrapped
}

fn small_message() -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: alice@localhost\r\nSubject: parts\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n\
         Caf=E9 au lait, needle-qp=\r\nsoft break\r\n\
         --b1\r\nContent-Type: application/octet-stream\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{blob}\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{text}\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nplain part\r\n\
         --b1--\r\n",
        blob = b64(BLOB),
        text = b64("the hidden-word in base64 text \u{fc}n\u{ef}code\r\n".as_bytes()),
    )
    .into_bytes()
}

/// The octets of the one literal in a FETCH line.
fn literal(line: &[u8]) -> Vec<u8> {
    let at = line
        .windows(3)
        .position(|w| w == b"}\r\n")
        .expect("a literal")
        + 3;
    let open = line[..at].iter().rposition(|b| *b == b'{').unwrap();
    let n: usize = std::str::from_utf8(&line[open + 1..at - 3])
        .unwrap()
        .parse()
        .unwrap();
    line[at..at + n].to_vec()
}

fn search(i: &mut RawImap, criteria: &str) -> String {
    let r = i.ok(&format!("SEARCH {criteria}"));
    r.lines("SEARCH").join("|")
}

#[test]
fn binary_and_body_search_of_streamed_parts() {
    let site = imap_site("loopback");
    let srv = site.start();
    let mut i = RawImap::login(srv.addr("imap"), ALICE.0, ALICE.1);
    assert!(i.append("INBOX", "", &small_message()).ok());
    i.ok("SELECT INBOX");

    // base64 with NULs: literal8, the exact octets, the decoded size.
    let r = i.ok("FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])");
    let mut want = format!("* 1 FETCH (BINARY[2] ~{{{}}}\r\n", BLOB.len()).into_bytes();
    want.extend_from_slice(BLOB);
    want.extend_from_slice(format!(" BINARY.SIZE[2] {})", BLOB.len()).as_bytes());
    assert_eq!(r.raw[0], want, "{r:?}");

    // quoted-printable: soft line break removed, =E9 decoded, no NUL so
    // a plain literal.
    let r = i.ok("FETCH 1 BINARY.PEEK[1]");
    let qp = b"Caf\xe9 au lait, needle-qpsoft break";
    let mut want = format!("* 1 FETCH (BINARY[1] {{{}}}\r\n", qp.len()).into_bytes();
    want.extend_from_slice(qp);
    want.push(b')');
    assert_eq!(r.raw[0], want, "{r:?}");

    // A partial window of decoded octets, and an identity part.
    let r = i.ok("FETCH 1 (BINARY.PEEK[3]<4.10> BINARY.PEEK[4])");
    assert_eq!(
        r.raw[0],
        b"* 1 FETCH (BINARY[3]<4> {10}\r\nhidden-wor BINARY[4] {10}\r\nplain part)".to_vec(),
        "{r:?}"
    );
    // A part that does not exist is NIL; BINARY[] is the message.
    let r = i.ok("FETCH 1 (BINARY.PEEK[9] BINARY.SIZE[])");
    assert_eq!(
        r.untagged[0],
        format!(
            "* 1 FETCH (BINARY[9] NIL BINARY.SIZE[] {})",
            small_message().len()
        )
    );

    // Body keys match decoded text only.
    assert_eq!(search(&mut i, "BODY hidden-word"), "* SEARCH 1");
    assert_eq!(search(&mut i, "BODY needle-qpsoft"), "* SEARCH 1");
    assert_eq!(search(&mut i, "TEXT \"PLAIN PART\""), "* SEARCH 1");
    assert_eq!(search(&mut i, "BODY aGlkZGVu"), "* SEARCH");
    assert_eq!(search(&mut i, "TEXT absent-zzz"), "* SEARCH");
    // TEXT also reads the header.
    assert_eq!(search(&mut i, "TEXT \"Subject: parts\""), "* SEARCH 1");
    // ISO-8859-1 converted before matching a UTF-8 needle (a literal).
    i.send("s1 SEARCH CHARSET UTF-8 BODY {5}\r\n".as_bytes())
        .unwrap();
    assert!(i.line_str().unwrap().starts_with('+'));
    i.send("caf\u{e9}\r\n".as_bytes()).unwrap();
    let r = i.read_until_tagged("s1").unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.lines("SEARCH"), vec!["* SEARCH 1".to_string()]);
    assert!(srv.stop().success());
}

#[test]
fn large_parts_across_read_boundaries() {
    let site = site_with_auth(
        Opts {
            listeners: vec!["smtp", "imap", "imaps", "pop3"],
            max_message_size: 8 << 20,
            ..Opts::default()
        },
        "failure_delay_ms = 0",
    );
    site.default_users();
    let srv = site.start();
    let mut i = RawImap::login(srv.addr("imap"), ALICE.0, ALICE.1);
    // A 7bit text part whose needle starts 5 octets before the file's
    // first 64 KiB read boundary, then a 1.5 MB base64 attachment.
    let head = "From: a@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\n\
                Content-Type: multipart/mixed; boundary=\"b2\"\r\n\r\n\
                --b2\r\nContent-Type: text/plain\r\n\r\n";
    let mut msg = head.as_bytes().to_vec();
    while msg.len() < 65536 - 5 - 80 {
        msg.extend_from_slice(b"filler line of the first part, nothing to see\r\n");
    }
    msg.resize(65536 - 5, b'x');
    msg.extend_from_slice(b"straddle-needle\r\n");
    let blob: Vec<u8> = (0..1_500_000u32).map(|n| (n * 7 % 251) as u8).collect();
    msg.extend_from_slice(
        format!(
            "--b2\r\nContent-Type: application/octet-stream\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b2--\r\n",
            b64(&blob)
        )
        .as_bytes(),
    );
    assert!(i.append("INBOX", "", &msg).ok());
    i.ok("SELECT INBOX");
    assert_eq!(search(&mut i, "BODY straddle-needle"), "* SEARCH 1");
    assert_eq!(search(&mut i, "BODY straddle-needlex"), "* SEARCH");
    let r = i.ok("FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[2])");
    let line = &r.raw[0];
    assert!(
        line.starts_with(
            format!("* 1 FETCH (BINARY.SIZE[2] {} BINARY[2] ~{{", blob.len()).as_bytes()
        ),
        "{:?}",
        String::from_utf8_lossy(&line[..80])
    );
    assert!(literal(line) == blob, "decoded attachment differs");
    let r = i.ok("FETCH 1 BINARY.PEEK[2]<1000000.70000>");
    assert!(
        literal(&r.raw[0]) == blob[1_000_000..1_070_000],
        "partial window differs"
    );
    assert!(srv.stop().success());
}
