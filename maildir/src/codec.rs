//! The index's value encodings: compact, little-endian, hand-rolled, each
//! record starting with a version byte so that later versions (MIME part
//! offsets, keywords for IMAP) can extend a record without a migration.
//! A decoder accepts every version up to its own and ignores trailing bytes
//! it does not know (a newer writer may append fields; older readers keep
//! working). Layouts are documented in `docs/design.md`.

use crate::error::StoreError;
use crate::flags::Flags;
use crate::layout::SpecialUse;

/// An account (`accounts` table, keyed by the normalised address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRecord {
    /// The address as given at creation (local-part case preserved).
    pub display: String,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
}

/// A mailbox (`mailboxes` table, keyed by (account, mailbox name)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxRecord {
    /// Store-wide mailbox id; messages are keyed by it, so a RENAME only
    /// touches this table.
    pub id: u64,
    /// RFC 9051 §2.3.1.1 UIDVALIDITY.
    pub uidvalidity: u32,
    /// The next UID to assign; only ever grows.
    pub uidnext: u32,
    /// RFC 7162 HIGHESTMODSEQ: the MODSEQ of the last change.
    pub highestmodseq: u64,
    /// Number of messages.
    pub messages: u32,
    /// RFC 6154 special use.
    pub special_use: Option<SpecialUse>,
    /// Legacy v1 attribute bit, no longer read: subscriptions live in their
    /// own table since v2 (they may name mailboxes that do not exist).
    pub subscribed: bool,
    /// Total size in bytes of the mailbox's messages (quota accounting;
    /// v2, recomputed by rescan for v1 records).
    pub bytes: u64,
}

/// Where a message file lives inside its Maildir.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subdir {
    /// `new/`: not yet seen by any client; no info part.
    New,
    /// `cur/`: `<base>:2,<info>`.
    Cur,
}

impl Subdir {
    /// The directory name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Subdir::New => "new",
            Subdir::Cur => "cur",
        }
    }
}

/// A message (`messages` table, keyed by (mailbox id, UID)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    /// System flags.
    pub flags: Flags,
    /// RFC 7162 MODSEQ of the last change to this message.
    pub modseq: u64,
    /// RFC 9051 INTERNALDATE, seconds since the Unix epoch.
    pub internal_date: i64,
    /// Size of the file in bytes (RFC822.SIZE: the file is CRLF).
    pub size: u64,
    /// `new/` or `cur/`.
    pub subdir: Subdir,
    /// The file's base name (before `:`), stable for the message's life.
    pub base: String,
    /// The rest of the file name after the base, verbatim: empty in `new/`,
    /// `:2,<flags>` in `cur/`. Kept as found so that letters we do not
    /// interpret (e.g. Dovecot keywords) survive.
    pub suffix: String,
    /// IMAP keywords (RFC 9051 §2.3.2), sorted, without duplicates (v2).
    pub keywords: Vec<String>,
    /// The message's identity across copies (IMAP EMAILID, RFC 8474):
    /// set from the base name when the message is first stored and kept
    /// by COPY and MOVE. Trailing field; records without it use
    /// [`email_id_of`] of their base name.
    pub email_id: u64,
    /// When the message was stored in this mailbox (IMAP SAVEDATE,
    /// RFC 8514), Unix seconds: APPEND, delivery, COPY and MOVE time.
    /// Trailing field; records without it use the internal date.
    pub save_date: i64,
    /// The internal date's timezone, minutes east of UTC (the APPEND's
    /// zone; 0 for deliveries). Trailing field; records without it are
    /// UTC.
    pub internal_zone: i16,
}

/// The email id of a message first stored under `base` (FNV-1a, 64 bits:
/// stable across builds and platforms, unlike `std`'s hasher). Base names
/// are unique in a store (time, pid, counter, host), so distinct messages
/// get distinct ids but for a 2^-64 chance.
#[must_use]
pub fn email_id_of(base: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in base {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl MessageRecord {
    /// The file name inside [`MessageRecord::subdir`].
    #[must_use]
    pub fn file_name(&self) -> String {
        format!("{}{}", self.base, self.suffix)
    }
}

const ACCOUNT_V1: u8 = 1;
const MAILBOX_V2: u8 = 2;
const MESSAGE_V2: u8 = 2;

struct Writer(Vec<u8>);

impl Writer {
    fn new(version: u8) -> Writer {
        Writer(vec![version])
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// A string with a u32 length prefix.
    fn str(&mut self, s: &str) {
        self.u32(u32::try_from(s.len()).unwrap_or(u32::MAX));
        self.0.extend_from_slice(s.as_bytes());
    }
}

struct Reader<'a> {
    what: &'static str,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(what: &'static str, bytes: &'a [u8], max_version: u8) -> Result<Reader<'a>, StoreError> {
        let mut r = Reader { what, rest: bytes };
        let version = r.u8()?;
        if version == 0 || version > max_version {
            return Err(StoreError::Corrupt(format!(
                "{what} record version {version} is not supported"
            )));
        }
        Ok(r)
    }
    /// The trailing email id and save date of a message record, or their
    /// defaults for a record written before they existed.
    fn ids(&mut self, base: &[u8], internal_date: i64) -> Result<(u64, i64), StoreError> {
        if self.rest.len() < 16 {
            return Ok((email_id_of(base), internal_date));
        }
        Ok((self.u64()?, self.i64()?))
    }
    /// The trailing internal-date zone of a message record; 0 (UTC) for a
    /// record written before it existed.
    fn zone(&mut self) -> Result<i16, StoreError> {
        if self.rest.len() < 2 {
            return Ok(0);
        }
        Ok(self.u16()?.cast_signed())
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.rest.len() < n {
            return Err(StoreError::Corrupt(format!(
                "{} record is truncated",
                self.what
            )));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, StoreError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, StoreError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, StoreError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, StoreError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    fn str(&mut self) -> Result<String, StoreError> {
        let len = usize::try_from(self.u32()?).unwrap_or(usize::MAX);
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| StoreError::Corrupt(format!("{} record holds invalid UTF-8", self.what)))
    }
}

impl AccountRecord {
    /// Encodes as version 1: display, password_hash, created.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(ACCOUNT_V1);
        w.str(&self.display);
        w.str(&self.password_hash);
        w.i64(self.created);
        w.0
    }

    /// Decodes any version up to 1.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] on truncation, bad UTF-8 or an unknown version.
    pub fn decode(bytes: &[u8]) -> Result<AccountRecord, StoreError> {
        let mut r = Reader::new("account", bytes, ACCOUNT_V1)?;
        Ok(AccountRecord {
            display: r.str()?,
            password_hash: r.str()?,
            created: r.i64()?,
        })
    }
}

impl MailboxRecord {
    /// Encodes as version 2: id, uidvalidity, uidnext, highestmodseq,
    /// messages, special-use code, attribute bits (bit 0: legacy
    /// subscribed), bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(MAILBOX_V2);
        w.u64(self.id);
        w.u32(self.uidvalidity);
        w.u32(self.uidnext);
        w.u64(self.highestmodseq);
        w.u32(self.messages);
        w.u8(self.special_use.map_or(0, SpecialUse::code));
        w.u8(u8::from(self.subscribed));
        w.u64(self.bytes);
        w.0
    }

    /// Decodes any version up to 2 (v1 records read `bytes` as 0; rescan
    /// at open recomputes it).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] on truncation or an unknown version.
    pub fn decode(bytes: &[u8]) -> Result<MailboxRecord, StoreError> {
        let mut r = Reader::new("mailbox", bytes, MAILBOX_V2)?;
        let version = bytes.first().copied().unwrap_or(0);
        Ok(MailboxRecord {
            id: r.u64()?,
            uidvalidity: r.u32()?,
            uidnext: r.u32()?,
            highestmodseq: r.u64()?,
            messages: r.u32()?,
            special_use: SpecialUse::from_code(r.u8()?),
            subscribed: r.u8()? & 1 == 1,
            bytes: if version >= 2 { r.u64()? } else { 0 },
        })
    }
}

impl MessageRecord {
    /// Encodes as version 2: flags, modseq, internal_date, size, subdir,
    /// base, suffix, keyword count (u16) and keywords, then the trailing
    /// email id (u64) and save date (i64). MIME part offsets
    /// live in their own table (`parts`) so that this record stays small
    /// for the SELECT scan.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(MESSAGE_V2);
        w.u16(self.flags.bits());
        w.u64(self.modseq);
        w.i64(self.internal_date);
        w.u64(self.size);
        w.u8(match self.subdir {
            Subdir::New => 0,
            Subdir::Cur => 1,
        });
        w.str(&self.base);
        w.str(&self.suffix);
        let count = self.keywords.len().min(usize::from(u16::MAX));
        w.u16(u16::try_from(count).unwrap_or(u16::MAX));
        for k in self.keywords.iter().take(count) {
            w.str(k);
        }
        // Trailing fields, no version bump: older builds ignore them.
        w.u64(self.email_id);
        w.i64(self.save_date);
        w.u16(self.internal_zone.cast_unsigned());
        w.0
    }

    /// Decodes any version up to 2.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] on truncation, bad UTF-8 or an unknown version.
    pub fn decode(bytes: &[u8]) -> Result<MessageRecord, StoreError> {
        let mut r = Reader::new("message", bytes, MESSAGE_V2)?;
        let version = bytes.first().copied().unwrap_or(0);
        let flags = Flags::from_bits(r.u16()?);
        let modseq = r.u64()?;
        let internal_date = r.i64()?;
        let size = r.u64()?;
        let subdir = match r.u8()? {
            0 => Subdir::New,
            1 => Subdir::Cur,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "message record has unknown subdir {other}"
                )));
            }
        };
        let base = r.str()?;
        let suffix = r.str()?;
        let mut keywords = Vec::new();
        if version >= 2 {
            let count = r.u16()?;
            for _ in 0..count {
                keywords.push(r.str()?);
            }
        }
        let (email_id, save_date) = r.ids(base.as_bytes(), internal_date)?;
        let internal_zone = r.zone()?;
        Ok(MessageRecord {
            flags,
            modseq,
            internal_date,
            size,
            subdir,
            base,
            suffix,
            keywords,
            email_id,
            save_date,
            internal_zone,
        })
    }
}

/// The per-message data of a SELECT / `UID FETCH 1:* (FLAGS)` / POP3 LIST,
/// without the file name (decoded without allocating for it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageSummary {
    /// The UID.
    pub uid: u32,
    /// System flags.
    pub flags: Flags,
    /// Keywords, sorted.
    pub keywords: Vec<String>,
    /// RFC 7162 MODSEQ.
    pub modseq: u64,
    /// RFC822.SIZE.
    pub size: u64,
    /// INTERNALDATE, seconds since the Unix epoch.
    pub internal_date: i64,
    /// Still in `new/` (a `\Recent` candidate, see [`crate::Store::claim_recent`]).
    pub recent: bool,
    /// The message's identity across COPY and MOVE (IMAP EMAILID,
    /// RFC 8474); see `docs/design.md` §2.
    pub email_id: u64,
    /// When it was stored in this mailbox, Unix seconds (IMAP SAVEDATE,
    /// RFC 8514).
    pub save_date: i64,
    /// The internal date's timezone, minutes east of UTC.
    pub internal_zone: i16,
}

/// Decodes the SELECT-relevant fields of a message record, skipping the
/// file name strings (no allocation for them).
///
/// # Errors
/// As [`MessageRecord::decode`].
pub fn decode_summary(uid: u32, bytes: &[u8]) -> Result<MessageSummary, StoreError> {
    let mut r = Reader::new("message", bytes, MESSAGE_V2)?;
    let version = bytes.first().copied().unwrap_or(0);
    let flags = Flags::from_bits(r.u16()?);
    let modseq = r.u64()?;
    let internal_date = r.i64()?;
    let size = r.u64()?;
    let recent = r.u8()? == 0;
    let len = usize::try_from(r.u32()?).unwrap_or(usize::MAX);
    let base = r.take(len)?;
    let len = usize::try_from(r.u32()?).unwrap_or(usize::MAX);
    r.take(len)?;
    let mut keywords = Vec::new();
    if version >= 2 {
        for _ in 0..r.u16()? {
            keywords.push(r.str()?);
        }
    }
    let (email_id, save_date) = r.ids(base, internal_date)?;
    let internal_zone = r.zone()?;
    Ok(MessageSummary {
        uid,
        flags,
        keywords,
        modseq,
        size,
        internal_date,
        recent,
        email_id,
        save_date,
        internal_zone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> MessageRecord {
        MessageRecord {
            flags: Flags::SEEN,
            modseq: 7,
            internal_date: 1_700_000_000,
            size: 1234,
            subdir: Subdir::Cur,
            base: "1.M2P3Q4.h,S=1234".into(),
            suffix: ":2,S".into(),
            keywords: vec!["$Junk".into()],
            email_id: 0x0102_0304_0506_0708,
            save_date: 1_700_000_100,
            internal_zone: -330,
        }
    }

    #[test]
    fn message_round_trip_and_layout() {
        let m = message();
        let bytes = m.encode();
        assert_eq!(
            bytes.len(),
            1 + 2 + 8 + 8 + 8 + 1 + 4 + 17 + 4 + 4 + 2 + 4 + 5 + 8 + 8 + 2
        );
        assert_eq!(bytes[0], 2);
        assert_eq!(&bytes[1..3], &[1, 0]);
        assert_eq!(MessageRecord::decode(&bytes).unwrap(), m);
        assert_eq!(m.file_name(), "1.M2P3Q4.h,S=1234:2,S");
    }

    #[test]
    fn summary_matches_full_decode_and_v1_reads() {
        let m = message();
        let s = decode_summary(9, &m.encode()).unwrap();
        assert_eq!(
            (s.uid, s.flags, s.modseq, s.size, s.internal_date, s.recent),
            (9, m.flags, m.modseq, m.size, m.internal_date, false)
        );
        assert_eq!(s.keywords, m.keywords);
        assert_eq!((s.email_id, s.save_date), (m.email_id, m.save_date));
        assert_eq!(s.internal_zone, -330);
        // A record written before the trailing zone: UTC.
        let mut no_zone = m.encode();
        no_zone.truncate(no_zone.len() - 2);
        assert_eq!(MessageRecord::decode(&no_zone).unwrap().internal_zone, 0);
        assert_eq!(decode_summary(9, &no_zone).unwrap().internal_zone, 0);
        // A v2 record written before the trailing ids: the email id comes
        // from the base name, the save date is the internal date.
        let mut old = m.encode();
        old.truncate(old.len() - 18);
        let legacy = MessageRecord::decode(&old).unwrap();
        assert_eq!(legacy.email_id, email_id_of(m.base.as_bytes()));
        assert_eq!(legacy.save_date, m.internal_date);
        let s = decode_summary(9, &old).unwrap();
        assert_eq!(
            (s.email_id, s.save_date),
            (legacy.email_id, m.internal_date)
        );
        // A v1 record: the v2 bytes without the keyword count and list.
        let mut v1 = m.encode();
        v1.truncate(v1.len() - 18 - 2 - 4 - 5);
        v1[0] = 1;
        let old = MessageRecord::decode(&v1).unwrap();
        assert_eq!(old.keywords, Vec::<String>::new());
        assert_eq!(old.base, m.base);
    }

    #[test]
    fn decoder_ignores_appended_fields() {
        let m = message();
        let mut bytes = m.encode();
        bytes.extend_from_slice(&[9, 9, 9]);
        assert_eq!(MessageRecord::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn rejects_truncation_and_future_versions() {
        let bytes = message().encode();
        // The last 18 bytes are the optional trailing ids and zone.
        for cut in 0..bytes.len() - 18 {
            assert!(MessageRecord::decode(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut future = bytes.clone();
        future[0] = 3;
        assert_eq!(
            MessageRecord::decode(&future).unwrap_err().to_string(),
            "corrupt index: message record version 3 is not supported"
        );
    }

    #[test]
    fn mailbox_and_account_round_trip() {
        let mb = MailboxRecord {
            id: 3,
            uidvalidity: 1_700_000_001,
            uidnext: 42,
            highestmodseq: 99,
            messages: 41,
            special_use: Some(SpecialUse::Trash),
            subscribed: true,
            bytes: 123_456,
        };
        assert_eq!(MailboxRecord::decode(&mb.encode()).unwrap(), mb);
        let acct = AccountRecord {
            display: "Alice@example.com".into(),
            password_hash: "$argon2id$v=19$...".into(),
            created: 5,
        };
        assert_eq!(AccountRecord::decode(&acct.encode()).unwrap(), acct);
    }

    proptest::proptest! {
        #[test]
        fn message_round_trips(
            flags in proptest::num::u16::ANY,
            modseq in proptest::num::u64::ANY,
            internal_date in proptest::num::i64::ANY,
            size in proptest::num::u64::ANY,
            cur in proptest::bool::ANY,
            base in "\\PC{0,40}",
            suffix in "\\PC{0,10}",
            keywords in proptest::collection::vec("[a-zA-Z$]{1,10}", 0..4),
        ) {
            let m = MessageRecord {
                flags: Flags::from_bits(flags),
                modseq,
                internal_date,
                size,
                subdir: if cur { Subdir::Cur } else { Subdir::New },
                base,
                suffix,
                keywords,
                email_id: modseq.rotate_left(7),
                save_date: internal_date.wrapping_add(1),
                internal_zone: flags.cast_signed(),
            };
            proptest::prop_assert_eq!(MessageRecord::decode(&m.encode()).unwrap(), m);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = MessageRecord::decode(&bytes);
            let _ = MailboxRecord::decode(&bytes);
            let _ = AccountRecord::decode(&bytes);
        }
    }
}
