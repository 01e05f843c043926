//! URLAUTH glue (RFC 4467): the mailbox access keys live in the store's
//! index; the INTERNAL mechanism's token is the hex HMAC-SHA1 (RFC 2104)
//! of the rump URL under the mailbox's key (RFC 4467 §7). [`verify`] is
//! shared by IMAP URLFETCH and SMTP BURL (RFC 4468), which reads the
//! message in-process from the same store.

use std::io::{Read, Seek, SeekFrom};
use std::num::NonZeroU32;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use imap_proto::message::UrlSection;
use imap_proto::url::{ImapUrl, UrlAccess};
use maildir::{Store, StoreError};

/// Octets of a new mailbox access key (RFC 4467 §7: at least 128 bits).
const KEY_LEN: usize = 32;

/// Who presents a URL.
#[derive(Clone, Copy, Debug)]
pub enum Requester<'a> {
    /// A logged-in IMAP user (URLFETCH).
    Imap(&'a str),
    /// The submission server acting for an authenticated user (BURL).
    Submit(&'a str),
}

/// Why a URL does not give access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed, or it names nothing that exists (BURL: 554 5.6.3).
    BadUrl(String),
    /// The token or the access identifier does not allow this requester,
    /// or the URL expired (BURL: 554 5.7.0).
    NotAuthorized(String),
    /// The store failed (BURL: 451 4.3.0).
    Temporary(String),
}

/// What an authorized URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorized {
    /// The mailbox owner's login.
    pub owner: String,
    /// The mailbox.
    pub mailbox: String,
    /// The message.
    pub uid: NonZeroU32,
    /// `;SECTION=`, if any.
    pub section: Option<String>,
    /// `;PARTIAL=`.
    pub partial: Option<(u64, Option<u64>)>,
}

/// The INTERNAL token of `rump` under `key`: lower-case hex of HMAC-SHA1.
pub fn token(key: &[u8], rump: &str) -> String {
    // SHA-1 is what RFC 4467 §7 names; as an HMAC it is not affected by
    // SHA-1's collision attacks.
    let k = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    hex(hmac::sign(&k, rump.as_bytes()).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn temporary(e: &StoreError) -> Refusal {
    Refusal::Temporary(e.to_string())
}

/// GENURLAUTH for one rump (RFC 4467 §6.1): `user` must own the mailbox,
/// the message must exist (and `;UIDVALIDITY=` match); the mailbox's key
/// is created on first use. Returns the authorized URL.
///
/// The URL's iuserinfo names the owner either as the full login
/// (`testuser%40localhost@host`) or as its local part at the URL's host
/// (`testuser@localhost`, what Dovecot's clients build):
/// [`ImapUrl::names_login`].
pub fn generate(store: &Store, user: &str, url: &ImapUrl) -> Result<String, Refusal> {
    let owner = url.owner().unwrap_or_default();
    let owner = owner.as_str();
    if !owner.eq_ignore_ascii_case(user) {
        return Err(Refusal::NotAuthorized(
            "URLs can only be authorized for your own mailboxes".into(),
        ));
    }
    // The account as this server spells it (the login's case).
    let owner = user;
    check_message(store, owner, url)?;
    let mut fresh = [0u8; KEY_LEN];
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut fresh)
        .map_err(|_| Refusal::Temporary("no random source".into()))?;
    let key = store
        .urlauth_key(owner, &url.mailbox, &fresh)
        .map_err(|e| store_refusal(&e))?;
    Ok(ImapUrl::authorized(
        &url.rump,
        "INTERNAL",
        &token(&key, &url.rump),
    ))
}

fn store_refusal(e: &StoreError) -> Refusal {
    match e {
        StoreError::NoSuchMailbox(_)
        | StoreError::NoSuchAccount(_)
        | StoreError::InvalidMailbox(_)
        | StoreError::InvalidAddress(_) => Refusal::BadUrl(e.to_string()),
        other => temporary(other),
    }
}

/// The mailbox exists, its UIDVALIDITY matches the URL's, and it holds
/// the message.
fn check_message(store: &Store, owner: &str, url: &ImapUrl) -> Result<(), Refusal> {
    let status = store
        .mailbox_status(owner, &url.mailbox)
        .map_err(|e| store_refusal(&e))?;
    if let Some(v) = url.uid_validity
        && v.get() != status.uidvalidity
    {
        return Err(Refusal::BadUrl("UIDVALIDITY has changed".into()));
    }
    match store.message(owner, &url.mailbox, url.uid.get()) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(Refusal::BadUrl("no such message".into())),
        Err(e) => Err(store_refusal(&e)),
    }
}

/// Checks a full URL for `who` (RFC 4467 §3 access identifiers, §7
/// token, `;EXPIRE=`), and that what it names exists.
pub fn verify(store: &Store, url: &str, who: Requester<'_>) -> Result<Authorized, Refusal> {
    let url = ImapUrl::parse(url).map_err(|e| Refusal::BadUrl(e.to_string()))?;
    let Some(owner) = url.owner() else {
        return Err(Refusal::BadUrl("the URL names no user".into()));
    };
    let (Some(mech), Some(tok)) = (&url.mechanism, &url.token) else {
        return Err(Refusal::NotAuthorized("the URL is not authorized".into()));
    };
    if !mech.eq_ignore_ascii_case("INTERNAL") {
        return Err(Refusal::NotAuthorized("unknown URLAUTH mechanism".into()));
    }
    let allowed = match (&url.access, who) {
        (UrlAccess::Anonymous, _) => true,
        (UrlAccess::AuthUser, Requester::Imap(_)) => true,
        (UrlAccess::User(u), Requester::Imap(me)) => url.access_names(u, me),
        (UrlAccess::Submit(u), Requester::Submit(me)) => url.access_names(u, me),
        _ => false,
    };
    if !allowed {
        return Err(Refusal::NotAuthorized(
            "the URL's access identifier does not allow you".into(),
        ));
    }
    if let Some(expire) = &url.expire {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        match rfc3339_seconds(expire) {
            Some(t) if t > now => {}
            Some(_) => return Err(Refusal::NotAuthorized("the URL has expired".into())),
            None => return Err(Refusal::BadUrl("bad ;EXPIRE= date".into())),
        }
    }
    let key = match store.existing_urlauth_key(&owner, &url.mailbox) {
        Ok(Some(k)) => k,
        Ok(None) => return Err(Refusal::NotAuthorized("the URL's key was reset".into())),
        Err(e) => return Err(store_refusal(&e)),
    };
    let tag = unhex(tok).ok_or_else(|| Refusal::NotAuthorized("bad token".into()))?;
    let k = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &key);
    // Constant-time comparison of the tag.
    if hmac::verify(&k, url.rump.as_bytes(), &tag).is_err() {
        return Err(Refusal::NotAuthorized("wrong URLAUTH token".into()));
    }
    check_message(store, &owner, &url)?;
    Ok(Authorized {
        owner,
        mailbox: url.mailbox.clone(),
        uid: url.uid,
        section: url.section.clone(),
        partial: url.partial,
    })
}

/// The stored file of an authorized message and what its `;SECTION=` and
/// `;PARTIAL=` name (any RFC 3501 section: HEADER, TEXT, part numbers,
/// `n.MIME`, `HEADER.FIELDS`; the same resolution as CATENATE's URL
/// parts, [`imap_proto::message::UrlSection`]).
fn resolve(store: &Store, a: &Authorized) -> Result<(std::fs::File, UrlSection), Refusal> {
    let mut file = store
        .open_message(&a.owner, &a.mailbox, a.uid.get())
        .map_err(|e| store_refusal(&e))?;
    let len = file.metadata().map_err(|e| temporary(&e.into()))?.len();
    let section = match &a.section {
        None => None,
        Some(s) => Some(
            imap_proto::command::Section::parse_spec(s.as_bytes())
                .ok_or_else(|| Refusal::BadUrl("malformed ;SECTION=".into()))?,
        ),
    };
    let root = match store
        .mime_parts(&a.owner, &a.mailbox, a.uid.get())
        .map_err(|e| store_refusal(&e))?
    {
        Some(root) => root,
        None => {
            // Adopted by a rescan: no stored offsets, parse the file.
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)
                .map_err(|e| temporary(&e.into()))?;
            imap_proto::message::PartOffsets::parse(&bytes)
        }
    };
    match UrlSection::resolve(&root, len, section.as_ref(), a.partial) {
        UrlSection::Missing => Err(Refusal::BadUrl("no such section".into())),
        found => Ok((file, found)),
    }
}

/// The stored file of an authorized message and the octet range the URL
/// names, positioned at its start (SMTP BURL streams it). A
/// `HEADER.FIELDS` section is not a range of the file: refused here
/// (URLFETCH serves it through [`read`]).
pub fn open(store: &Store, a: &Authorized) -> Result<(std::fs::File, u64, u64), Refusal> {
    let (mut file, section) = resolve(store, a)?;
    let UrlSection::Range(r) = section else {
        return Err(Refusal::BadUrl("HEADER.FIELDS is not served here".into()));
    };
    file.seek(SeekFrom::Start(r.start))
        .map_err(|e| temporary(&e.into()))?;
    Ok((file, r.start, r.end))
}

/// Reads what an authorized URL names, refusing more than `max` octets.
pub fn read(store: &Store, a: &Authorized, max: u64) -> Result<Vec<u8>, Refusal> {
    let (mut file, section) = resolve(store, a)?;
    let (range, fields) = match section {
        UrlSection::Range(r) => (r, None),
        UrlSection::Fields {
            header,
            names,
            not,
            partial,
        } => (header, Some((names, not, partial))),
        UrlSection::Missing => return Err(Refusal::BadUrl("no such section".into())),
    };
    let want = range.end - range.start;
    if want > max {
        return Err(Refusal::BadUrl("too large".into()));
    }
    file.seek(SeekFrom::Start(range.start))
        .map_err(|e| temporary(&e.into()))?;
    let mut out = Vec::with_capacity(want as usize);
    file.take(want)
        .read_to_end(&mut out)
        .map_err(|e| temporary(&e.into()))?;
    Ok(match fields {
        Some((names, not, partial)) => UrlSection::filter(&out, &names, not, partial),
        None => out,
    })
}

/// Seconds since the epoch of an RFC 3339 `date-time`
/// (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`).
fn rfc3339_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &r[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let (yy, mm) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_seconds("2004-12-31T23:59:59Z"), Some(1_104_537_599));
        assert_eq!(
            rfc3339_seconds("2004-12-31T23:59:59.5+01:00"),
            Some(1_104_537_599 - 3600)
        );
        assert_eq!(rfc3339_seconds("2004-13-01T00:00:00Z"), None);
        assert_eq!(rfc3339_seconds("2004-12-31 23:59:59Z"), None);
        assert_eq!(rfc3339_seconds("2004-12-31T23:59:59"), None);
    }

    #[test]
    fn token_is_hex_hmac_sha1() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        assert_eq!(
            token(b"Jefe", "what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(unhex("effc"), Some(vec![0xef, 0xfc]));
        assert_eq!(unhex("efc"), None);
    }
}
