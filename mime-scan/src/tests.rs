//! Known answers: offsets counted by hand on the bytes.

use crate::{Limits, Part, PartKind, Scanner};

fn scan_split(bytes: &[u8], split: usize) -> crate::Scan {
    let mut s = Scanner::new();
    for c in bytes.chunks(split.max(1)) {
        s.feed(c);
    }
    s.finish()
}

fn at(bytes: &[u8], p: &Part) -> (String, String) {
    let s = |a: u64, b: u64| String::from_utf8_lossy(&bytes[a as usize..b as usize]).into_owned();
    (s(p.header_start, p.body_start), s(p.body_start, p.end))
}

/// Every split of the input gives the same scan.
fn check_splits(bytes: &[u8]) -> crate::Scan {
    let whole = scan_split(bytes, bytes.len());
    assert!(whole.root.is_valid(bytes.len() as u64));
    for split in [1, 2, 3, 7, 64] {
        assert_eq!(scan_split(bytes, split), whole, "split {split}");
    }
    whole
}

const MIXED: &[u8] = b"Subject: x\r\n\
Content-Type: multipart/mixed;\r\n boundary=\"XX\"\r\n\
\r\n\
preamble\r\n\
--XX\r\n\
Content-Type: text/plain\r\n\
\r\n\
hello\r\n\
--XX\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
Subject: inner\r\n\
\r\n\
inner body\r\n\
--XX--\r\n\
epilogue\r\n";

#[test]
fn multipart_with_a_nested_message() {
    let scan = check_splits(MIXED);
    let root = &scan.root;
    assert_eq!(root.kind, PartKind::Multipart);
    assert_eq!((root.header_start, root.end), (0, MIXED.len() as u64));
    assert_eq!(root.children.len(), 2);
    let text = &root.children[0];
    assert_eq!(text.kind, PartKind::Leaf);
    assert_eq!(
        at(MIXED, text),
        ("Content-Type: text/plain\r\n\r\n".into(), "hello".into())
    );
    let msg = &root.children[1];
    assert_eq!(msg.kind, PartKind::Message);
    assert_eq!(at(MIXED, msg).1, "Subject: inner\r\n\r\ninner body");
    let inner = msg.inner_root().unwrap();
    assert_eq!(
        at(MIXED, inner),
        ("Subject: inner\r\n\r\n".into(), "inner body".into())
    );
    assert!(!scan.truncated);
    assert_eq!(scan.depth, 2);
}

#[test]
fn lf_only_messages() {
    let lf: Vec<u8> = MIXED.iter().copied().filter(|&b| b != b'\r').collect();
    let scan = check_splits(&lf);
    assert_eq!(at(&lf, &scan.root.children[0]).1, "hello");
    let inner = scan.root.children[1].inner_root().unwrap();
    assert_eq!(at(&lf, inner).1, "inner body");
}

#[test]
fn single_part_and_headers_only() {
    let m = b"Subject: a\r\n\r\nbody\r\n";
    let root = check_splits(m).root;
    assert_eq!(
        (root.kind, root.header_start, root.body_start, root.end),
        (PartKind::Leaf, 0, 14, 20)
    );
    // No blank line: all header (mail-parser: the body starts at the end).
    let root = check_splits(b"Subject: a\r\nFrom: b").root;
    assert_eq!((root.body_start, root.end), (19, 19));
    let root = check_splits(b"").root;
    assert_eq!((root.body_start, root.end), (0, 0));
    let root = check_splits(b"\r\nbody").root;
    assert_eq!((root.body_start, root.end), (2, 6));
}

#[test]
fn encoded_message_is_a_leaf_and_digest_defaults_to_message() {
    let m = b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQpi\r\n";
    assert_eq!(check_splits(m).root.kind, PartKind::Leaf);
    let m = b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\n1\r\n--d\r\nContent-Type: text/plain\r\n\r\n2\r\n--d--\r\n";
    let root = check_splits(m).root;
    assert_eq!(root.children.len(), 2);
    assert_eq!(root.children[0].kind, PartKind::Message);
    assert_eq!(at(m, root.children[0].inner_root().unwrap()).1, "1");
    assert_eq!(root.children[1].kind, PartKind::Leaf);
}

#[test]
fn broken_boundaries() {
    // No boundary line at all: the multipart is a leaf.
    let m = b"Content-Type: multipart/mixed; boundary=zz\r\n\r\nno parts\r\n";
    assert_eq!(check_splits(m).root.kind, PartKind::Leaf);
    // No boundary parameter.
    let m = b"Content-Type: multipart/mixed\r\n\r\n--zz\r\n\r\nx\r\n";
    assert_eq!(check_splits(m).root.kind, PartKind::Leaf);
    // No closing boundary: the last part runs to the end.
    let m = b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n\r\nlast\r\n";
    let root = check_splits(m).root;
    assert_eq!(at(m, &root.children[0]).1, "last\r\n");
    // An outer boundary ends an inner multipart that never closed.
    let m = b"Content-Type: multipart/mixed; boundary=out\r\n\r\n--out\r\nContent-Type: multipart/alternative; boundary=in\r\n\r\n--in\r\n\r\na\r\n--out\r\n\r\nb\r\n--out--\r\n";
    let root = check_splits(m).root;
    assert_eq!(root.children.len(), 2);
    assert_eq!(at(m, &root.children[0].children[0]).1, "a");
    assert_eq!(at(m, &root.children[1]).1, "b");
    // A boundary mid-line is not a boundary (RFC 2046 §5.1.1).
    let m = b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n\r\nx --zz y\r\n--zz--\r\n";
    assert_eq!(at(m, &check_splits(m).root.children[0]).1, "x --zz y");
}

fn nested_messages(depth: usize) -> Vec<u8> {
    let mut m = Vec::new();
    for _ in 0..depth {
        m.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    m.extend_from_slice(b"Subject: bottom\r\n\r\nhi\r\n");
    m
}

#[test]
fn deep_nesting_is_truncated_not_followed() {
    let m = nested_messages(40_000);
    let scan = scan_split(&m, 4096);
    assert!(scan.truncated);
    assert_eq!(scan.depth, crate::MAX_DEPTH + 1);
    assert!(scan.root.is_valid(m.len() as u64));
    let mut p = &scan.root;
    let mut levels = 0;
    while let Some(inner) = p.inner_root() {
        p = inner;
        levels += 1;
    }
    assert_eq!(levels, crate::MAX_DEPTH);
    assert_eq!(p.kind, PartKind::Leaf);
    assert_eq!(p.end, m.len() as u64);
    // Within the limit nothing is cut.
    let m = nested_messages(crate::MAX_DEPTH);
    let scan = check_splits(&m);
    assert!(!scan.truncated);
    // Deep multiparts too.
    let mut m = Vec::new();
    for i in 0..10_000 {
        m.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes(),
        );
    }
    m.extend_from_slice(b"\r\nleaf\r\n");
    let scan = scan_split(&m, 1000);
    assert!(scan.truncated && scan.root.is_valid(m.len() as u64));
}

#[test]
fn part_limit() {
    let mut m = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
    for _ in 0..10_000 {
        m.extend_from_slice(b"--b\r\n\r\nx\r\n");
    }
    m.extend_from_slice(b"--b--\r\n");
    let scan = scan_split(&m, 4096);
    assert!(scan.truncated);
    assert_eq!(scan.root.count(), crate::MAX_PARTS);
    assert!(scan.root.is_valid(m.len() as u64));
    let mut s = Scanner::with_limits(Limits {
        max_depth: 1,
        max_parts: 3,
    });
    s.feed(MIXED);
    let scan = s.finish();
    assert!(scan.truncated);
    assert_eq!(scan.root.children.len(), 2);
    assert_eq!(scan.root.children[1].kind, PartKind::Leaf);
}

#[test]
fn huge_lines_keep_memory_bounded() {
    // A 4 MiB header field and a 4 MiB body line: the scanner keeps at
    // most MAX_LINE bytes of either.
    let mut m = b"X-Big: ".to_vec();
    m.extend(std::iter::repeat_n(b'a', 4 << 20));
    m.extend_from_slice(b"\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\n");
    m.extend(std::iter::repeat_n(b'b', 4 << 20));
    m.extend_from_slice(b"\r\n--q--\r\n");
    let mut s = Scanner::new();
    for c in m.chunks(65536) {
        s.feed(c);
        assert!(s.line.capacity() <= crate::MAX_LINE * 2);
    }
    let root = s.finish().root;
    assert_eq!(root.kind, PartKind::Multipart);
    assert_eq!(root.children[0].end - root.children[0].body_start, 4 << 20);
}

#[test]
fn stored_trees_are_checked() {
    let mut root = Part::parse(MIXED);
    assert!(root.is_valid(MIXED.len() as u64));
    assert!(!root.is_valid(10));
    root.children[0].end = root.end + 1;
    assert!(!root.is_valid(MIXED.len() as u64));
    let mut leaf = Part::parse(b"a: b\r\n\r\n");
    leaf.children.push(leaf.clone());
    assert!(!leaf.is_valid(8));
}

proptest::proptest! {
    #[test]
    fn any_bytes_at_any_split(
        pieces in proptest::collection::vec(
            proptest::sample::select(vec![
                &b"\r\n"[..], b"\n", b"--", b"b", b"--b", b"--b--", b"--c", b"\r\n\r\n",
                b"Content-Type: multipart/mixed; boundary=b\r\n",
                b"Content-Type: multipart/alternative; boundary=c\r\n",
                b"Content-Type: message/rfc822\r\n", b"Content-Type: multipart/digest; boundary=c\r\n",
                b"Content-Transfer-Encoding: base64\r\n", b" boundary=b", b"x", b": ", b"\t",
            ]),
            0..80,
        ),
        split in 1usize..17,
    ) {
        let bytes: Vec<u8> = pieces.concat();
        let whole = scan_split(&bytes, bytes.len());
        proptest::prop_assert!(whole.root.is_valid(bytes.len() as u64));
        proptest::prop_assert_eq!(whole.root.end, bytes.len() as u64);
        proptest::prop_assert_eq!(scan_split(&bytes, split), whole);
    }

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
        let scan = scan_split(&bytes, 5);
        proptest::prop_assert!(scan.root.is_valid(bytes.len() as u64));
    }
}
