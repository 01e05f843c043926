//! Conversions between the IMAP session's vocabulary and the store's:
//! flags, dates, UIDs, special-use attributes and errors. (MIME offsets
//! need none: the store and the session share `mime-scan`'s part type.)

use std::num::NonZeroU32;

use imap_proto::response::{Code, RespText, UnitCode};
use imap_proto::session::refusal;
use imap_proto::types::{Date, DateTime, Flag, MailboxAttribute, ObjectId};
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
    let dt = mail_parser::DateTime::from_timestamp(secs);
    Date::new(dt.year, dt.month, dt.day)
        .and_then(|d| DateTime::new(d, dt.hour, dt.minute, dt.second, 0))
        .unwrap_or_else(|_| {
            DateTime::new(Date::new(1970, 1, 1).expect("valid date"), 0, 0, 0, 0)
                .expect("valid time")
        })
}

/// An internal date as the store keeps it (Unix seconds and the zone it
/// was given in, minutes east of UTC) as an IMAP date-time in that zone:
/// an APPEND's `"25-Mar-2007 00:00:00 +0200"` comes back as written, and
/// SEARCH BEFORE/ON/SINCE compare the date in it (RFC 3501 §6.4.4).
pub(super) fn imap_date_in(secs: i64, zone_minutes: i16) -> DateTime {
    let local = secs.saturating_add(i64::from(zone_minutes) * 60);
    let dt = mail_parser::DateTime::from_timestamp(local);
    Date::new(dt.year, dt.month, dt.day)
        .and_then(|d| DateTime::new(d, dt.hour, dt.minute, dt.second, zone_minutes))
        .unwrap_or_else(|_| imap_date(secs))
}

/// Seconds since the epoch of an IMAP date-time.
pub(super) fn epoch_secs(dt: &DateTime) -> i64 {
    let d = dt.date();
    let (h, m, s) = dt.time();
    let days = days_from_civil(
        i64::from(d.year()),
        i64::from(d.month()),
        i64::from(d.day()),
    );
    days * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)
        - i64::from(dt.zone_minutes()) * 60
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub(super) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    ObjectId::try_from(format!("E{id:016x}").as_str()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_the_epoch() {
        for secs in [0i64, 86_399, 951_782_400, 1_795_366_237] {
            assert_eq!(epoch_secs(&imap_date(secs)), secs);
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
