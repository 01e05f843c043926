//! Conversions between the IMAP session's vocabulary and the store's:
//! flags, dates, UIDs, special-use attributes and errors. (MIME offsets
//! need none: the store and the session share `mime-scan`'s part type.)

use std::num::NonZeroU32;

use imap_proto::response::{Code, RespText, UnitCode};
use imap_proto::session::refusal;
use imap_proto::types::{DateTime, Flag, MailboxAttribute, ObjectId};
use imap_proto::view::MessageSummary;
use maildir::{Flags, SpecialUse, StoreError, UidSet};

pub(super) fn no(text: &str) -> RespText {
    refusal(None, text)
}

pub(super) fn no_code(code: UnitCode, text: &str) -> RespText {
    refusal(Some(Code::Unit(code)), text)
}

/// Maps a store failure to the IMAP answer of RFC 5530 response codes.
pub(super) fn store_refusal(e: &StoreError) -> RespText {
    match e {
        StoreError::NoSuchMailbox(_) => refusal(Some(Code::TryCreate), "Mailbox does not exist"),
        StoreError::MailboxExists(_) => no_code(UnitCode::AlreadyExists, "Mailbox already exists"),
        StoreError::InvalidMailbox(why) => {
            no_code(UnitCode::Cannot, &format!("Invalid name: {why}"))
        }
        StoreError::NotAllowed(why) => no_code(UnitCode::Cannot, why),
        StoreError::OverQuota(_) => no_code(UnitCode::OverQuota, "Quota exceeded"),
        // A full disk: Dovecot's answer (RFC 5530 OVERQUOTA), temporary.
        StoreError::NoSpace(why) => {
            tracing::warn!("imap: disk full: {why}");
            no_code(
                UnitCode::OverQuota,
                "Not enough disk space, try again later",
            )
        }
        StoreError::SizeMismatch { .. } | StoreError::Symlink(_) => {
            tracing::warn!("imap: {e}");
            no_code(UnitCode::ServerBug, "Message unavailable")
        }
        other => {
            tracing::warn!("imap: store failure: {other}");
            no_code(UnitCode::ServerBug, "Internal error, try again later")
        }
    }
}

/// IMAP flags of a stored message (system flags and keywords).
pub(super) fn imap_flags(flags: Flags, keywords: &[String]) -> Vec<Flag> {
    let mut out = Vec::new();
    for (bit, flag) in [
        (Flags::SEEN, Flag::Seen),
        (Flags::ANSWERED, Flag::Answered),
        (Flags::FLAGGED, Flag::Flagged),
        (Flags::DELETED, Flag::Deleted),
        (Flags::DRAFT, Flag::Draft),
    ] {
        if flags.contains(bit) {
            out.push(flag);
        }
    }
    if flags.contains(Flags::FORWARDED) {
        out.extend(Flag::keyword("$Forwarded"));
    }
    out.extend(keywords.iter().filter_map(|k| Flag::keyword(k)));
    out
}

/// Stored flags of IMAP flags: system flags, `$Forwarded` (Maildir `P`),
/// and the other keywords.
pub(super) fn store_flags(flags: &[Flag]) -> (Flags, Vec<String>) {
    let mut bits = Flags::empty();
    let mut keywords = Vec::new();
    for f in flags {
        match f {
            Flag::Seen => bits = bits.union(Flags::SEEN),
            Flag::Answered => bits = bits.union(Flags::ANSWERED),
            Flag::Flagged => bits = bits.union(Flags::FLAGGED),
            Flag::Deleted => bits = bits.union(Flags::DELETED),
            Flag::Draft => bits = bits.union(Flags::DRAFT),
            Flag::Keyword(k) if k.as_str().eq_ignore_ascii_case("$Forwarded") => {
                bits = bits.union(Flags::FORWARDED)
            }
            Flag::Keyword(k) => keywords.push(k.as_str().to_string()),
            Flag::Extension(_) => {}
        }
    }
    (bits, keywords)
}

/// INTERNALDATE of seconds since the epoch, in UTC.
pub(super) fn imap_date(secs: i64) -> DateTime {
    DateTime::from_unix_seconds(secs)
}

/// The `* BYE [code] text` line the pump writes outside the session.
pub(super) fn bye(code: UnitCode, text: &str) -> Vec<u8> {
    imap_proto::session::bye_line(&RespText::with_code(Code::Unit(code), text))
}

/// An internal date as the store keeps it (Unix seconds and the zone it
/// was given in, minutes east of UTC) as an IMAP date-time in that zone:
/// an APPEND's `"25-Mar-2007 00:00:00 +0200"` comes back as written, and
/// SEARCH BEFORE/ON/SINCE compare the date in it (RFC 3501 §6.4.4).
pub(super) fn imap_date_in(secs: i64, zone_minutes: i16) -> DateTime {
    let local = DateTime::from_unix_seconds(secs.saturating_add(i64::from(zone_minutes) * 60));
    let (h, m, s) = local.time();
    DateTime::new(local.date(), h, m, s, zone_minutes).unwrap_or_else(|_| imap_date(secs))
}

pub(super) fn nz(uid: u32) -> Option<NonZeroU32> {
    NonZeroU32::new(uid)
}

pub(super) fn uid_set(uids: &[NonZeroU32]) -> UidSet {
    let plain: Vec<u32> = uids.iter().map(|u| u.get()).collect();
    UidSet::from(plain.as_slice())
}

pub(super) fn special_use(attributes: &[MailboxAttribute]) -> Option<SpecialUse> {
    attributes.iter().find_map(|a| match a {
        MailboxAttribute::Drafts => Some(SpecialUse::Drafts),
        MailboxAttribute::Sent => Some(SpecialUse::Sent),
        MailboxAttribute::Trash => Some(SpecialUse::Trash),
        MailboxAttribute::Junk => Some(SpecialUse::Junk),
        MailboxAttribute::Archive => Some(SpecialUse::Archive),
        _ => None,
    })
}

pub(super) fn attribute(s: SpecialUse) -> Option<MailboxAttribute> {
    Some(match s {
        SpecialUse::Drafts => MailboxAttribute::Drafts,
        SpecialUse::Sent => MailboxAttribute::Sent,
        SpecialUse::Trash => MailboxAttribute::Trash,
        SpecialUse::Junk => MailboxAttribute::Junk,
        SpecialUse::Archive => MailboxAttribute::Archive,
        _ => return None,
    })
}

/// The RFC 8474 MAILBOXID of a mailbox: its UIDVALIDITY and store-wide id,
/// which RENAME keeps and which are never handed out twice (a mailbox
/// deleted and re-created gets a new one, as RFC 8474 §4 wants).
pub(super) fn mailbox_id(status: &maildir::MailboxStatus) -> Option<ObjectId> {
    ObjectId::try_from(format!("M{:08x}{:x}", status.uidvalidity, status.id).as_str()).ok()
}

/// The RFC 8474 EMAILID of a message: the store's email id, kept by COPY
/// and MOVE.
pub(super) fn email_id(id: u64) -> Option<ObjectId> {
    // `E` and 16 hex digits, inline in the ObjectId (no allocation, no
    // core::fmt): a SELECT makes one per message.
    ObjectId::prefixed_hex(b'E', id)
}

/// A stored message's summary as the session keeps it (`None` for UID 0,
/// which the index never holds); `recent` is the store's (still in
/// `new/`), which SELECT and a resync replace with the session's claims.
pub(super) fn session_summary(m: maildir::MessageSummary) -> Option<MessageSummary> {
    Some(MessageSummary {
        uid: nz(m.uid)?,
        flags: imap_flags(m.flags, &m.keywords),
        mod_seq: m.modseq,
        internal_date: imap_date_in(m.internal_date, m.internal_zone),
        size: m.size,
        recent: m.recent,
        email_id: email_id(m.email_id),
        save_date: Some(imap_date(m.save_date)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_ids_are_e_and_sixteen_hex_digits() {
        for id in [0u64, 1, 0xdead_beef, u64::MAX] {
            assert_eq!(
                email_id(id).unwrap().as_str(),
                format!("E{id:016x}"),
                "{id}"
            );
        }
    }

    #[test]
    fn flags_round_trip() {
        let flags = vec![
            Flag::Seen,
            Flag::Deleted,
            Flag::keyword("$Forwarded").unwrap(),
            Flag::keyword("$Work").unwrap(),
        ];
        let (bits, keywords) = store_flags(&flags);
        assert!(bits.contains(Flags::SEEN) && bits.contains(Flags::FORWARDED));
        assert_eq!(keywords, vec!["$Work".to_string()]);
        assert_eq!(imap_flags(bits, &keywords), {
            let mut f = vec![Flag::Seen, Flag::Deleted];
            f.push(Flag::keyword("$Forwarded").unwrap());
            f.push(Flag::keyword("$Work").unwrap());
            f
        });
    }
}
