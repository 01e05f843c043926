use super::*;
use crate::Part;

/// Converts `input` fed in pieces of `chunk` octets.
fn convert(input: &[u8], chunk: usize) -> Vec<u8> {
    let mut c = BinaryToBase64::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        c.feed(piece, &mut out);
    }
    c.finish(&mut out);
    out
}

/// The same output for every chunk size.
fn check(input: &[u8]) -> Vec<u8> {
    let whole = convert(input, input.len().max(1));
    for chunk in [1, 2, 3, 5, 7, 64] {
        assert_eq!(convert(input, chunk), whole, "chunk {chunk}");
    }
    whole
}

fn unbase64(text: &[u8]) -> Vec<u8> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for &c in text {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

fn body_of<'a>(msg: &'a [u8], p: &Part) -> &'a [u8] {
    &msg[p.body_start as usize..p.end as usize]
}

#[test]
fn a_binary_root_part_becomes_base64() {
    let input = b"From: a@b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00-\xe4\n\r\n\n";
    let out = check(input);
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        "From: a@b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAC3kCg0KCg==\r\n"
    );
    assert_eq!(
        unbase64(body_of(&out, &Part::parse(&out))),
        b"\x00-\xe4\n\r\n\n"
    );
}

#[test]
fn only_binary_parts_of_a_multipart_change() {
    let binary: Vec<u8> = (0..=255u8)
        .chain(b"\r\n--b\r\n--bx\n-".iter().copied())
        .collect();
    let mut input = b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\npreamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\ncontent-transfer-encoding:  BINARY \r\n\r\n".to_vec();
    // The binary content holds "--bx" (not a delimiter) and ends in "\n-".
    input.extend_from_slice(&binary[..256]);
    input.extend_from_slice(b"\r\n--bx\n-");
    input.extend_from_slice(b"\r\n--b--\r\nepilogue\r\n");
    let out = check(&input);
    let root = Part::parse(&out);
    assert_eq!(root.children.len(), 2, "{}", String::from_utf8_lossy(&out));
    assert_eq!(body_of(&out, &root.children[0]), b"hello");
    let mut want = binary[..256].to_vec();
    want.extend_from_slice(b"\r\n--bx\n-");
    assert_eq!(unbase64(body_of(&out, &root.children[1])), want);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.contains("\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n"),
        "{text}"
    );
    assert!(
        text.ends_with("LS1ieAot\r\n\r\n--b--\r\nepilogue\r\n"),
        "{text}"
    );
    assert!(text.lines().all(|l| l.len() <= 76), "{text}");
}

#[test]
fn nested_messages_and_lf_only_mail() {
    let input = b"Content-Type: message/rfc822\n\nSubject: in\nContent-Type: multipart/mixed; boundary=z\n\n--z\nContent-Transfer-Encoding: binary\n\n\x00\x01\n--z--\n";
    let out = check(input);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "Content-Type: message/rfc822\n\nSubject: in\nContent-Type: multipart/mixed; boundary=z\n\n--z\nContent-Transfer-Encoding: base64\n\nAAE=\r\n\n--z--\n"
    );
}

#[test]
fn messages_without_binary_parts_pass_unchanged() {
    for input in [
        &b""[..],
        b"Subject: x\r\n\r\nbody\r\n",
        b"Subject: no body",
        b"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\na\rb\r\n--q--",
        b"Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n",
        b"\r\n\r\nno header\r\n",
    ] {
        assert_eq!(check(input), input, "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn a_huge_header_stops_the_conversion_without_losing_octets() {
    let mut input = b"Content-Transfer-Encoding: binary\r\nX: ".to_vec();
    input.resize(MAX_HEADER + 10, b'a');
    input.extend_from_slice(b"\r\n\r\n\x00\x00");
    assert_eq!(convert(&input, 4096), input);
}
