//! SORT and THREAD (RFC 5256): the grammar of the RFC's examples, the base
//! subject rules (§2.1), SORT order (§3) and both threading algorithms
//! (§2.2, §2.3), including inputs built to exhaust a recursive walker.

use imap_proto::command::{SortCriterion, SortKey, ThreadAlgorithm};
use imap_proto::message::{SortFields, base_subject, casemap, sort, thread};
use imap_proto::response::{Data, Thread};
use imap_proto::types::{Date, DateTime};
use imap_proto::{Command, CommandBody, Encode, Response, Version};
use std::num::NonZeroU32;

/// The THREAD responses of RFC 5256 §4 and the `thread-list` example of
/// its grammar: parsed and written back octet for octet.
#[test]
fn rfc_thread_responses_round_trip() {
    let lines: &[&str] = &[
        "* THREAD (166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)(177 (183)(182)(188)(184)(185)(186)(187)(189))(190)(191)(192)(193)(194 195)(196 (197)(198))(199)(200 202)(201)(203)(204)(205)(206 207)(208)\r\n",
        "* THREAD (166)(167)(168)(169)(172)((170)(179))(171)(173)((174)(175)(176)(178)(181)(180))((177)(183)(182)(188 (184)(189))(185 186)(187))(190)(191)(192)(193)((194)(195 196))(197 198)(199)(200 202)(201)(203)(204)(205 206 207)(208)\r\n",
        "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n",
        "* THREAD\r\n",
        "* SORT 2 84 882\r\n",
        "* SORT\r\n",
        "* SORT 3 1 (MODSEQ 917162500)\r\n",
    ];
    for line in lines {
        let r = Response::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        assert_eq!(String::from_utf8(r.to_bytes(Version::Rev2)).unwrap(), *line);
    }
    let r = Response::parse(b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n").unwrap();
    let n = |v: u32| NonZeroU32::new(v).unwrap();
    let leaf = |ids: &[u32]| Thread {
        members: ids.iter().map(|&i| n(i)).collect(),
        children: vec![],
    };
    assert_eq!(
        r,
        Response::Data(Data::Thread(vec![
            leaf(&[2]),
            Thread {
                members: vec![n(3), n(6)],
                children: vec![leaf(&[4, 23]), leaf(&[44, 7, 96])],
            },
        ]))
    );
    // thread-nested needs two lists; a list needs content.
    for bad in [
        &b"* THREAD (1 (2))\r\n"[..],
        b"* THREAD ()\r\n",
        b"* THREAD (1)(\r\n",
        b"* THREAD (1 2\r\n",
        b"* THREAD ((1))\r\n",
    ] {
        assert!(
            Response::parse(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

/// Thread nesting deeper than the parser's limit is refused, not recursed.
#[test]
fn deep_thread_response_is_refused() {
    let mut line = b"* THREAD ".to_vec();
    for _ in 0..100_000 {
        line.extend_from_slice(b"(1 ");
    }
    line.extend_from_slice(b"\r\n");
    assert!(Response::parse(&line).is_err());
}

/// The SORT and THREAD commands of RFC 5256 §4.
#[test]
fn rfc_commands_parse_and_encode() {
    let lines = [
        "A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n",
        "A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n",
        "A284 SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"\r\n",
        "A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-Mar-2000\r\n",
        "A284 THREAD ORDEREDSUBJECT US-ASCII TEXT \"gewp\"\r\n",
        "A285 THREAD REFERENCES UTF-8 SINCE 5-Mar-2000\r\n",
        "A286 UID SORT (ARRIVAL CC FROM SIZE TO) UTF-8 1:* SEEN\r\n",
        "A287 UID THREAD REFERENCES UTF-8 ALL\r\n",
    ];
    for line in lines {
        let c = Command::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        assert_eq!(String::from_utf8(c.to_bytes(Version::Rev2)).unwrap(), line);
    }
    let c = Command::parse(b"a sort (subject reverse date) utf-8 all\r\n").unwrap();
    match c.body {
        CommandBody::Sort { uid, criteria, .. } => {
            assert!(!uid);
            assert_eq!(
                criteria,
                vec![
                    SortCriterion {
                        reverse: false,
                        key: SortKey::Subject
                    },
                    SortCriterion {
                        reverse: true,
                        key: SortKey::Date
                    },
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    for bad in [
        &b"a SORT () UTF-8 ALL\r\n"[..],
        b"a SORT (SUBJECT) ALL\r\n",
        b"a SORT (REVERSE) UTF-8 ALL\r\n",
        b"a SORT (COLOR) UTF-8 ALL\r\n",
        b"a SORT SUBJECT UTF-8 ALL\r\n",
        b"a THREAD REFS UTF-8 ALL\r\n",
        b"a THREAD REFERENCES UTF-8\r\n",
        b"a THREAD REFERENCES ALL\r\n",
    ] {
        assert!(
            Command::parse(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

/// RFC 5256 §2.1, rule by rule.
#[test]
fn base_subject_rules() {
    let cases = [
        ("hello", "hello", false),
        ("  spaced   out\t subject  ", "spaced out subject", false),
        ("Re: hello", "hello", true),
        ("RE: re: Re:hello", "hello", true),
        ("Fwd: hello", "hello", true),
        ("FW: hello", "hello", true),
        ("Re[2]: hello", "hello", true),
        ("Re [2] : hello", "hello", true),
        ("[list] Re: hello", "hello", true),
        ("[list] hello", "hello", false),
        ("[PATCH]", "[PATCH]", false),
        ("[a][b] hello", "hello", false),
        ("hello (fwd)", "hello", true),
        ("hello (FWD) (fwd)  ", "hello", true),
        ("[fwd: hello]", "hello", true),
        ("[Fwd: Re: [list] hello (fwd)]", "hello", true),
        ("Re:", "", true),
        ("", "", false),
        ("Reply to all", "Reply to all", false),
        ("Fwdx: hello", "Fwdx: hello", false),
        ("Ré: café", "Ré: café", false),
    ];
    for (input, want, reply) in cases {
        assert_eq!(base_subject(input), (want.to_owned(), reply), "{input:?}");
    }
}

/// No subject makes the rules panic: non-ASCII at every offset the rules
/// slice at, and every prefix of tricky subjects.
#[test]
fn base_subject_never_panics() {
    let tricky = [
        "[fwdé: x]",
        "[fwd:é]",
        "Reé: x",
        "Fwé: x",
        "ééééé (fwd)",
        "é(fwd)",
        "[é] Re: [é]: é (fwd) ]",
        "[fwd: [fwd: [fwd: ]]]",
        "[[[[[[",
        "]]]]:",
        "Re[: x",
    ];
    for t in tricky {
        for (i, _) in t.char_indices() {
            let _ = base_subject(&t[..i]);
            let _ = base_subject(&t[i..]);
        }
        let _ = base_subject(t);
    }
    for pad in 0..8 {
        let s = format!("{}é[fwd:éé]é", "x".repeat(pad));
        let _ = base_subject(&s);
        let _ = base_subject(&s[pad..]);
    }
}

/// i;unicode-casemap (RFC 5051): case and compatibility forms fold.
#[test]
fn casemap_folds_case_and_compatibility_forms() {
    assert_eq!(casemap("Hello"), casemap("hELLO"));
    assert_eq!(casemap("Straße"), casemap("STRASSE"));
    // U+FB01 LATIN SMALL LIGATURE FI decomposes (NFKD) to "fi".
    assert_eq!(casemap("\u{FB01}le"), casemap("FILE"));
    // Precomposed and decomposed é are one key.
    assert_eq!(casemap("caf\u{E9}"), casemap("CAFE\u{301}"));
    assert_ne!(casemap("a"), casemap("b"));
}

fn when(day: u8, hour: u8) -> DateTime {
    DateTime::new(Date::new(2024, 3, day).unwrap(), hour, 0, 0, 0).unwrap()
}

fn msg(seq: u32, header: &str, day: u8, size: u64) -> SortFields {
    SortFields::new(seq, seq, header.as_bytes(), when(day, 0), size)
}

fn key(key: SortKey) -> SortCriterion {
    SortCriterion {
        reverse: false,
        key,
    }
}

fn rev(key: SortKey) -> SortCriterion {
    SortCriterion { reverse: true, key }
}

/// RFC 5256 §3: every key, REVERSE on one key only, sequence order on ties.
#[test]
fn sort_keys() {
    let msgs = vec![
        msg(
            1,
            "From: Zed <zed@b.example>\r\nTo: amy@x\r\nSubject: Re: beta\r\nDate: Mon, 4 Mar 2024 10:00:00 +0000\r\n\r\n",
            9,
            300,
        ),
        msg(
            2,
            "From: \"Amy\" <AMY@c.example>\r\nTo: zed@x\r\nCc: bob@y\r\nSubject: alpha\r\nDate: Mon, 4 Mar 2024 12:00:00 +0200\r\n\r\n",
            8,
            100,
        ),
        msg(
            3,
            "From: bob@a.example\r\nSubject: =?UTF-8?Q?Beta?= (fwd)\r\nDate: garbage\r\n\r\n",
            1,
            200,
        ),
        msg(4, "Subject: [list] ALPHA\r\n\r\n", 5, 100),
    ];
    let run = |c: &[SortCriterion]| sort(msgs.clone(), c);
    assert_eq!(run(&[key(SortKey::Arrival)]), vec![3, 4, 2, 1]);
    assert_eq!(run(&[rev(SortKey::Arrival)]), vec![1, 2, 4, 3]);
    assert_eq!(run(&[key(SortKey::Size)]), vec![2, 4, 3, 1]);
    // Ties on SIZE keep mailbox order even under REVERSE.
    assert_eq!(run(&[rev(SortKey::Size)]), vec![1, 3, 2, 4]);
    // 2 is 10:00 UTC, 1 is 10:00 UTC too (tie: seq); 3's Date cannot be
    // parsed, so its internal date (1 Mar) counts; 4 has none (5 Mar).
    assert_eq!(run(&[key(SortKey::Date)]), vec![3, 1, 2, 4]);
    // Missing From sorts first (empty string), then by mailbox, case-folded.
    assert_eq!(run(&[key(SortKey::From)]), vec![4, 2, 3, 1]);
    assert_eq!(run(&[key(SortKey::To)]), vec![3, 4, 1, 2]);
    assert_eq!(run(&[key(SortKey::Cc)]), vec![1, 3, 4, 2]);
    // Base subjects: alpha (2, 4), beta (1, 3).
    assert_eq!(run(&[key(SortKey::Subject)]), vec![2, 4, 1, 3]);
    assert_eq!(
        run(&[key(SortKey::Subject), rev(SortKey::Arrival)]),
        vec![2, 4, 1, 3]
    );
    assert_eq!(
        run(&[key(SortKey::Subject), rev(SortKey::Size)]),
        vec![2, 4, 1, 3]
    );
    assert_eq!(
        run(&[rev(SortKey::Subject), key(SortKey::Size)]),
        vec![3, 1, 2, 4]
    );
}

/// RFC 5256 §3: CC/FROM/TO sort on the addr-mailbox of the first address
/// as the ENVELOPE shows it: a comment or display name does not count, and
/// for group syntax the first address is the group marker, whose
/// addr-mailbox is the group's name (`user2: blah@x;` sorts as `user2`).
#[test]
fn sort_by_address_uses_the_envelope_first_address() {
    let msgs = vec![
        msg(
            1,
            "From: user2@domain2.org\r\nTo: foo bar <user2@domain2.org>\r\nCc: user2@domain2.org (foo bar)\r\n\r\n",
            1,
            1,
        ),
        msg(
            2,
            "From: user2@domain1.org\r\nTo: user2@domain1.org\r\nCc: user2: blah@domain1.org;\r\n\r\n",
            2,
            1,
        ),
        msg(
            3,
            "From: user1@domain1.org\r\nTo: user1@domain1.org\r\nCc: user1@domain1.org\r\n\r\n",
            3,
            1,
        ),
        msg(4, "Cc: undisclosed-recipients:;\r\nTo:\r\n\r\n", 4, 1),
    ];
    let run = |c: &[SortCriterion]| sort(msgs.clone(), c);
    // 4 has no From and an empty To: the empty string sorts first.
    assert_eq!(run(&[key(SortKey::From)]), vec![4, 3, 1, 2]);
    assert_eq!(run(&[key(SortKey::To)]), vec![4, 3, 1, 2]);
    // 1 and 2 tie on "user2" (2's is the group name): sequence order;
    // 4's Cc is the group "undisclosed-recipients".
    assert_eq!(run(&[key(SortKey::Cc)]), vec![4, 3, 1, 2]);
    assert_eq!(run(&[rev(SortKey::Cc)]), vec![1, 2, 3, 4]);
    assert_eq!(
        run(&[key(SortKey::Cc), rev(SortKey::Arrival)]),
        vec![4, 3, 2, 1]
    );
}

fn encode(threads: Vec<Thread>) -> String {
    let r = Response::Data(Data::Thread(threads));
    String::from_utf8(r.to_bytes(Version::Rev2)).unwrap()
}

fn hdr(id: &str, refs: &str, subject: &str) -> String {
    let mut h = String::new();
    if !id.is_empty() {
        h.push_str(&format!("Message-ID: <{id}>\r\n"));
    }
    if !refs.is_empty() {
        h.push_str(&format!("References: {refs}\r\n"));
    }
    h.push_str(&format!("Subject: {subject}\r\n\r\n"));
    h
}

/// ORDEREDSUBJECT (§2.2): groups by base subject, the first by date is the
/// parent of the rest; threads in order of their first message.
#[test]
fn ordered_subject() {
    let msgs = vec![
        msg(1, &hdr("", "", "b"), 2, 1),
        msg(2, &hdr("", "", "a"), 1, 1),
        msg(3, &hdr("", "", "Re: b"), 3, 1),
        msg(4, &hdr("", "", "c"), 4, 1),
        msg(5, &hdr("", "", "Re: a"), 5, 1),
        msg(6, &hdr("", "", "[x] A"), 6, 1),
        msg(7, &hdr("", "", "Fwd: b"), 7, 1),
    ];
    let got = encode(thread(msgs, ThreadAlgorithm::OrderedSubject));
    assert_eq!(got, "* THREAD (2 (5)(6))(1 (3)(7))(4)\r\n");
    assert_eq!(
        encode(thread(vec![], ThreadAlgorithm::OrderedSubject)),
        "* THREAD\r\n"
    );
}

/// REFERENCES (§2.3): parent links from References and In-Reply-To,
/// dummies for missing parents (kept at the root only with two or more
/// children), duplicates and missing ids, and subject gathering.
#[test]
fn references() {
    let msgs = vec![
        msg(1, &hdr("1@x", "", "A"), 1, 1),
        msg(2, &hdr("2@x", "<1@x>", "Re: A"), 2, 1),
        msg(3, &hdr("3@x", "<1@x> <2@x>", "Re: A"), 3, 1),
        msg(
            4,
            "Message-ID: <4@x>\r\nIn-Reply-To: <1@x>\r\nSubject: Re: A\r\n\r\n",
            4,
            1,
        ),
        msg(5, &hdr("5@x", "<gone@x>", "Re: C"), 5, 1),
        msg(6, &hdr("6@x", "<gone@x>", "Re: C"), 6, 1),
        msg(7, &hdr("7@x", "", "B"), 7, 1),
        // No references, but its base subject is B's and it is a reply.
        msg(8, &hdr("8@x", "", "Re: B"), 8, 1),
        // A duplicate Message-ID is a message of its own.
        msg(9, &hdr("1@x", "", "E"), 9, 1),
        // No Message-ID at all; the dummy's only child is promoted.
        msg(10, &hdr("", "<gone2@x>", "F"), 10, 1),
        // Reference loop: 11 names 12 as its parent, then 12 names 11;
        // the second link would close a loop and is not made (§2.3 1B).
        msg(11, &hdr("11@x", "<12@x>", "G"), 11, 1),
        msg(12, &hdr("12@x", "<11@x>", "Re: G"), 12, 1),
    ];
    let got = encode(thread(msgs, ThreadAlgorithm::References));
    assert_eq!(got, "* THREAD (1 (2 3)(4))((5)(6))(7 8)(9)(10)(12 11)\r\n");
}

/// Misordered replies and two replies without a parent are gathered by
/// subject under the original or under a dummy (§2.3 step 5).
#[test]
fn references_subject_gathering() {
    let msgs = vec![
        msg(1, &hdr("1@x", "", "Re: hello"), 1, 1),
        msg(2, &hdr("2@x", "", "hello"), 2, 1),
        msg(3, &hdr("3@x", "", "Re: other"), 3, 1),
        msg(4, &hdr("4@x", "", "Fwd: other"), 4, 1),
        msg(5, &hdr("5@x", "", "plain"), 5, 1),
        msg(6, &hdr("6@x", "", "plain"), 6, 1),
    ];
    let got = encode(thread(msgs, ThreadAlgorithm::References));
    assert_eq!(got, "* THREAD (2 1)((3)(4))((5)(6))\r\n");
}

/// A header of megabytes keeps a few KiB of sort fields: the last
/// MAX_REFERENCES ids, a bounded subject key.
#[test]
fn huge_header_fields_are_bounded() {
    use imap_proto::message::{MAX_KEY_CHARS, MAX_REFERENCES};
    let mut h = String::from("References:");
    for i in 0..50_000 {
        h.push_str(&format!(" <{i}@x>"));
    }
    h.push_str("\r\nSubject: ");
    h.push_str(&"é".repeat(200_000));
    h.push_str("\r\n\r\n");
    let f = SortFields::new(1, 1, h.as_bytes(), when(1, 0), 1);
    assert_eq!(f.references.len(), MAX_REFERENCES);
    assert_eq!(f.references.last().map(String::as_str), Some("49999@x"));
    assert!(f.subject.chars().count() <= 2 * MAX_KEY_CHARS);
}

/// A References chain 20,000 deep, in either arrival order, is threaded
/// without recursion and in bounded time.
#[test]
fn deep_reference_chain() {
    let n = 20_000u32;
    let make = |order: &mut dyn Iterator<Item = u32>| -> Vec<SortFields> {
        order
            .enumerate()
            .map(|(pos, i)| {
                let refs = if i > 1 {
                    format!("<{}@x>", i - 1)
                } else {
                    String::new()
                };
                let h = hdr(&format!("{i}@x"), &refs, "deep");
                let mut f = SortFields::new(i, pos as u32 + 1, h.as_bytes(), when(1, 0), 1);
                f.sent = i64::from(i);
                f
            })
            .collect()
    };
    for msgs in [make(&mut (1..=n)), make(&mut (1..=n).rev())] {
        let start = std::time::Instant::now();
        let t = thread(msgs, ThreadAlgorithm::References);
        assert!(start.elapsed().as_secs() < 20);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].members.len(), n as usize);
        assert_eq!(t[0].members[0].get(), 1);
        assert_eq!(t[0].members[n as usize - 1].get(), n);
        assert!(t[0].children.is_empty());
    }
}
