use super::*;
use crate::types::Date;

fn msg(uid: u32) -> MessageSummary {
    MessageSummary {
        uid: NonZeroU32::new(uid).unwrap(),
        flags: vec![],
        mod_seq: 1,
        internal_date: DateTime::new(Date::new(2024, 1, 2).unwrap(), 3, 4, 5, 0).unwrap(),
        size: 10,
        recent: false,
        email_id: None,
        save_date: None,
    }
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

#[test]
fn rfc9051_expunge_example_numbers() {
    // RFC 9051 §7.5.1: expunging messages 3, 4, 7 and 11 of 11 sends
    // "3 EXPUNGE", "3 EXPUNGE", "5 EXPUNGE", "8 EXPUNGE".
    let mut v = MailboxView::new((1..=11).map(msg).collect());
    v.apply(MailboxChange::Expunged(vec![nz(3), nz(4), nz(7), nz(11)]));
    let out = v.flush(FlushOptions {
        expunge: false,
        ..Default::default()
    });
    assert_eq!(out, vec![]);
    assert_eq!(v.exists(), 11);
    let out = v.flush(FlushOptions {
        expunge: true,
        ..Default::default()
    });
    assert_eq!(
        out,
        vec![
            Data::Expunge(nz(3)),
            Data::Expunge(nz(3)),
            Data::Expunge(nz(5)),
            Data::Expunge(nz(8))
        ]
    );
    assert_eq!(v.exists(), 7);
    assert_eq!(v.seq_of(nz(8)), Some(nz(5)));
}

#[test]
fn vanished_and_exists_recent() {
    let mut v = MailboxView::new(vec![msg(1), msg(2), msg(5)]);
    let mut m = msg(9);
    m.recent = true;
    v.apply(MailboxChange::Added(vec![m, msg(4)]));
    v.apply(MailboxChange::Expunged(vec![nz(2), nz(5)]));
    v.apply(MailboxChange::Flags(vec![FlagUpdate {
        uid: nz(1),
        flags: vec![Flag::Seen],
        mod_seq: 7,
    }]));
    let out = v.flush(FlushOptions {
        expunge: true,
        vanished: true,
        uid: true,
        mod_seq: true,
    });
    assert_eq!(
        out,
        vec![
            Data::Vanished {
                earlier: false,
                uids: crate::message::compact_sequence_set(&[nz(2), nz(5)]).unwrap()
            },
            Data::Exists(2),
            Data::Recent(1),
            Data::Fetch {
                seq: nz(1),
                items: vec![
                    MessageDataItem::Uid(nz(1)),
                    MessageDataItem::Flags(vec![FlagFetch::Flag(Flag::Seen)]),
                    MessageDataItem::ModSeq(7)
                ]
            }
        ]
    );
    // UID 4 arrived below the highest UID: ignored.
    assert_eq!(
        v.iter().map(|(_, m)| m.uid.get()).collect::<Vec<_>>(),
        vec![1, 9]
    );
}

#[test]
fn resolve_sequence_and_uid_sets() {
    let v = MailboxView::new(vec![msg(3), msg(7), msg(9)]);
    let set = |s: &str| {
        crate::Command::parse(format!("a FETCH {s} FLAGS\r\n").as_bytes())
            .map(|c| match c.body {
                crate::CommandBody::Fetch { sequence_set, .. } => sequence_set,
                _ => unreachable!(),
            })
            .unwrap()
    };
    assert_eq!(
        v.resolve(&set("2:*"), false),
        Ok(vec![(nz(2), nz(7)), (nz(3), nz(9))])
    );
    assert_eq!(
        v.resolve(&set("4"), false),
        Err(InvalidSequence { number: 4 })
    );
    assert_eq!(
        v.resolve(&set("7:*"), true),
        Ok(vec![(nz(2), nz(7)), (nz(3), nz(9))])
    );
    assert_eq!(v.resolve(&set("100:*"), true), Ok(vec![(nz(3), nz(9))]));
    assert_eq!(v.resolve(&set("4:6"), true), Ok(vec![]));
    let empty = MailboxView::new(vec![]);
    assert_eq!(
        empty.resolve(&set("1:*"), false),
        Err(InvalidSequence { number: 1 })
    );
    assert_eq!(empty.resolve(&set("1:*"), true), Ok(vec![]));
}

#[test]
fn unannounced_expunge_is_silent() {
    let mut v = MailboxView::new(vec![msg(1)]);
    v.apply(MailboxChange::Added(vec![msg(2)]));
    v.apply(MailboxChange::Expunged(vec![nz(2)]));
    assert!(!v.has_pending(true));
    assert_eq!(
        v.flush(FlushOptions {
            expunge: true,
            ..Default::default()
        }),
        vec![]
    );
}
