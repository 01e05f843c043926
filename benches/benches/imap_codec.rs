//! imap-proto's command parser against imap-codec on the same bytes, and
//! FETCH response encoding (issue 3).
//!
//! Groups:
//! - `imap_parse/<input>/sansmail`: [`Command::parse`] on one complete
//!   command (lines and literals inline, as the framer delivers it);
//! - `imap_parse/<input>/imap-codec`: `CommandCodec::decode` on the same
//!   bytes (it finds the end of the command and parses it in one pass);
//! - `imap_parse/<input>/sansmail+framer`: what a server built on
//!   imap-proto really runs per command: a fresh [`Framer`] cuts the frame
//!   (accepting each synchronising literal), then [`Command::parse`];
//! - `imap_encode/fetch_1000_flags_envelope/{sansmail,imap-codec}`: 1,000
//!   `* n FETCH (FLAGS (...) ENVELOPE (...))` responses, built once, each
//!   encoded on its own (as a session answers) and appended to one reused
//!   buffer; both write the very same bytes. `.../sansmail-one-encoder`
//!   encodes all 1,000 through one [`Encoder`] (what a batch writer can do
//!   with the public API).
//!
//! The APPEND announcement is the line a client sends before it waits for
//! `+`: `tag APPEND mailbox flags date {size}` CRLF, without the message.
//! For sansmail that is [`AppendHead::parse`] of the framer's
//! [`Frame::LiteralAnnounced`] `command_so_far` (the head: mailbox, flags,
//! date, size), and with `+framer` a fresh framer announcing it first. For
//! imap-codec it is `CommandCodec::decode` returning
//! `LiteralFound { tag, length, mode }`: it parses the same prefix but hands
//! out only the tag and the length (the mailbox, flags and date are
//! parsed again once the message has arrived).
//!
//! Run with
//! `cargo bench -p sansmail-benches --bench imap_codec -- --warm-up-time 1 --measurement-time 3`.

// criterion_group! generates an undocumented pub fn.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imap_codec::decode::{CommandDecodeError, Decoder};
use imap_codec::encode::Encoder as _;
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::command::CommandBody as CodecBody;
use imap_codec::imap_types::response::Response as CodecResponse;
use imap_codec::{CommandCodec, ResponseCodec};
use imap_proto::command::{AppendHead, FetchAttributes};
use imap_proto::framer::{Frame, Framer, Role};
use imap_proto::message::{MessageView, envelope};
use imap_proto::response::{Data, MessageDataItem};
use imap_proto::types::{Atom, Flag, FlagFetch, LiteralMode};
use imap_proto::{Command, CommandBody, Encode, Encoder, Limits, Response, Version};
use std::num::NonZeroU32;

/// A realistic command mix: what Thunderbird, mutt and Apple Mail send
/// most, with every argument form (sequence sets with `*`, section specs
/// with partials, quoted strings, dates, nested SEARCH keys, literals).
const INPUTS: &[(&str, &[u8])] = &[
    (
        "uid_fetch_many_items",
        b"A142 UID FETCH 1:*,4827313:4828442 (UID RFC822.SIZE FLAGS INTERNALDATE ENVELOPE \
BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority \
X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)] BODY.PEEK[1.2]<0.2048>)\r\n",
    ),
    (
        "uid_store",
        b"A143 UID STORE 4827313:4828442,4828460,4828475:4828480 +FLAGS.SILENT (\\Seen \\Flagged $Forwarded)\r\n",
    ),
    (
        "uid_search",
        b"A144 UID SEARCH CHARSET UTF-8 OR (FROM \"alice@example.com\" SINCE 1-Jan-2024) \
(SUBJECT \"quarterly report\" BEFORE 1-Jul-2024) NOT DELETED UNSEEN LARGER 10000 UID 1:4000\r\n",
    ),
    (
        "append_announcement",
        b"A145 APPEND \"Sent Items\" (\\Seen $NotJunk) \"14-May-2024 09:12:33 +0200\" {2847}\r\n",
    ),
    (
        "login_literals",
        b"A001 LOGIN {17}\r\nalice@example.com {21}\r\ncorrect horse battery\r\n",
    ),
];

/// The announced APPEND message size in [`INPUTS`].
const APPEND_SIZE: u64 = 2847;

/// Frames one complete command the way a server does: every synchronising
/// literal is accepted (the server would send `+` here).
fn frame_command(input: &[u8]) -> Vec<u8> {
    let mut framer = Framer::new(Role::Server, Limits::default());
    let mut rest = input;
    loop {
        let (used, frame) = framer.feed(rest);
        rest = &rest[used..];
        match frame {
            Some(Frame::Complete(bytes)) => return bytes,
            Some(Frame::LiteralAnnounced { .. }) => {
                framer.accept_literal().expect("literal within limits");
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// The APPEND announcement as a fresh framer reports it (its
/// `command_so_far`).
fn announce(input: &[u8]) -> Vec<u8> {
    let mut framer = Framer::new(Role::Server, Limits::default());
    match framer.feed(input) {
        (_, Some(Frame::LiteralAnnounced { command_so_far, .. })) => command_so_far,
        other => panic!("expected an announcement, got {other:?}"),
    }
}

/// Checks once, before timing, that both parsers accept `input` and read
/// the same command.
fn check_both(name: &str, input: &[u8]) {
    let codec = CommandCodec::new().decode(input);
    if name == "append_announcement" {
        assert_eq!(announce(input), input, "{name} is one whole announcement");
        let head = AppendHead::parse(input).expect("APPEND head");
        assert_eq!(head.tag.as_str(), "A145");
        assert_eq!(head.mailbox.as_bytes(), b"Sent Items");
        assert_eq!(head.flags.as_ref().map(Vec::len), Some(2));
        assert!(head.date.is_some());
        assert_eq!((head.size, head.mode), (APPEND_SIZE, LiteralMode::Sync));
        match codec {
            Err(CommandDecodeError::LiteralFound { tag, length, .. }) => {
                assert_eq!(tag.as_ref(), "A145");
                assert_eq!(u64::from(length), APPEND_SIZE);
            }
            other => panic!("imap-codec on {name}: {other:?}"),
        }
        return;
    }
    let ours = Command::parse(input).unwrap_or_else(|e| panic!("sansmail on {name}: {e:?}"));
    assert_eq!(frame_command(input), input, "{name} is one whole frame");
    let (rem, theirs) = codec.unwrap_or_else(|e| panic!("imap-codec on {name}: {e:?}"));
    assert!(rem.is_empty(), "imap-codec left {rem:?} of {name}");
    assert_eq!(ours.tag.as_str(), theirs.tag.as_ref());
    match (&ours.body, &theirs.body) {
        (
            CommandBody::Fetch {
                uid: true,
                attributes: FetchAttributes::List(items),
                ..
            },
            CodecBody::Fetch { uid: true, .. },
        ) => assert_eq!(items.len(), 8),
        (
            CommandBody::Store {
                uid: true, flags, ..
            },
            CodecBody::Store {
                uid: true,
                flags: their_flags,
                ..
            },
        ) => assert_eq!((flags.len(), their_flags.len()), (3, 3)),
        (
            CommandBody::Search {
                uid: true,
                criteria,
                ..
            },
            CodecBody::Search {
                uid: true,
                criteria: their_criteria,
                ..
            },
        ) => assert_eq!((criteria.len(), their_criteria.as_ref().len()), (5, 5)),
        (
            CommandBody::Login { username, password },
            CodecBody::Login {
                username: their_user,
                password: their_password,
            },
        ) => {
            assert_eq!(username.as_bytes(), b"alice@example.com");
            assert_eq!(their_user.as_ref(), b"alice@example.com");
            assert_eq!(password.expose().as_bytes(), b"correct horse battery");
            assert_eq!(
                their_password.declassify().as_ref(),
                b"correct horse battery"
            );
        }
        (ours, theirs) => panic!("{name}: sansmail {ours:?}, imap-codec {theirs:?}"),
    }
}

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("imap_parse");
    for &(name, input) in INPUTS {
        check_both(name, input);
        g.throughput(Throughput::Bytes(input.len() as u64));
        if name == "append_announcement" {
            g.bench_function(format!("{name}/sansmail"), |b| {
                b.iter(|| black_box(AppendHead::parse(black_box(input))))
            });
            g.bench_function(format!("{name}/sansmail+framer"), |b| {
                b.iter(|| black_box(AppendHead::parse(&announce(black_box(input)))))
            });
        } else {
            g.bench_function(format!("{name}/sansmail"), |b| {
                b.iter(|| black_box(Command::parse(black_box(input))))
            });
            g.bench_function(format!("{name}/sansmail+framer"), |b| {
                b.iter(|| black_box(Command::parse(&frame_command(black_box(input)))))
            });
        }
        let codec = CommandCodec::new();
        g.bench_function(format!("{name}/imap-codec"), |b| {
            // The whole result is kept (and dropped inside the timing, as
            // for sansmail), so no part of the work can be optimised away.
            b.iter(|| black_box(codec.decode(black_box(input))))
        });
    }
    g.finish();
}

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../imap-proto/testdata");

/// 1,000 `* n FETCH (FLAGS (...) ENVELOPE (...))` responses: envelopes
/// built from the testdata messages' headers (real-world senders, 8-bit and
/// encoded-word subjects, groups, long recipient lists), cycled, with flag
/// sets varied the way a real mailbox's are.
fn fetch_responses() -> Vec<Response> {
    let mut files: Vec<_> = std::fs::read_dir(TESTDATA)
        .expect("imap-proto testdata")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    let envelopes: Vec<_> = files
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).expect("testdata message");
            envelope(MessageView::parse(&bytes).header())
        })
        .collect();
    assert!(envelopes.len() >= 10, "testdata holds the sample messages");
    let keyword = |k: &str| Flag::Keyword(Atom::try_from(k).expect("keyword"));
    let flag_sets: [Vec<Flag>; 5] = [
        vec![Flag::Seen],
        vec![Flag::Seen, Flag::Answered],
        vec![],
        vec![Flag::Seen, Flag::Flagged, keyword("$Forwarded")],
        vec![Flag::Seen, keyword("$NotJunk"), keyword("NonJunk")],
    ];
    (1..=1000u32)
        .map(|n| {
            let i = n as usize;
            let flags = flag_sets[i % flag_sets.len()]
                .iter()
                .cloned()
                .map(FlagFetch::Flag)
                .collect();
            Response::Data(Data::Fetch {
                seq: NonZeroU32::new(n).expect("from 1"),
                items: vec![
                    MessageDataItem::Flags(flags),
                    MessageDataItem::Envelope(Box::new(envelopes[i % envelopes.len()].clone())),
                ],
            })
        })
        .collect()
}

fn encode(c: &mut Criterion) {
    let ours = fetch_responses();
    let wire: Vec<Vec<u8>> = ours
        .iter()
        .map(|r| r.encode(Version::Rev1).into_bytes())
        .collect();
    // The same responses as imap-codec values: its own parse of our bytes,
    // which must consume each response whole.
    let theirs: Vec<CodecResponse<'static>> = wire
        .iter()
        .map(|bytes| {
            let (rem, resp) = ResponseCodec::new()
                .decode(bytes)
                .unwrap_or_else(|e| panic!("imap-codec on {:?}: {e:?}", bytes.escape_ascii()));
            assert!(rem.is_empty());
            resp.into_static()
        })
        .collect();
    let codec = ResponseCodec::new();
    // Both encoders must write the very same bytes, so the timings compare
    // equal work.
    for (bytes, resp) in wire.iter().zip(&theirs) {
        assert_eq!(codec.encode(resp).dump(), *bytes);
    }
    let total: usize = wire.iter().map(Vec::len).sum();

    let mut g = c.benchmark_group("imap_encode");
    g.throughput(Throughput::Bytes(total as u64));
    let mut buf = Vec::with_capacity(total);
    g.bench_function("fetch_1000_flags_envelope/sansmail", |b| {
        b.iter(|| {
            buf.clear();
            for r in &ours {
                buf.extend_from_slice(&r.encode(Version::Rev1).into_bytes());
            }
            black_box(buf.len())
        })
    });
    assert_eq!(buf.len(), total);
    g.bench_function("fetch_1000_flags_envelope/sansmail-one-encoder", |b| {
        b.iter(|| {
            buf.clear();
            let mut enc = Encoder::new(Version::Rev1);
            for r in &ours {
                Encode::encode(r, &mut enc);
            }
            buf.extend_from_slice(&enc.finish().into_bytes());
            black_box(buf.len())
        })
    });
    assert_eq!(buf.len(), total);
    g.bench_function("fetch_1000_flags_envelope/imap-codec", |b| {
        b.iter(|| {
            buf.clear();
            for r in &theirs {
                buf.extend_from_slice(&codec.encode(r).dump());
            }
            black_box(buf.len())
        })
    });
    g.finish();
}

criterion_group!(benches, parse, encode);
criterion_main!(benches);
