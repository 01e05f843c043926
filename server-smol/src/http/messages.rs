//! Messages over the API: their ids, the list (with filters and the
//! `wait`/`count` long-poll), purge and the mailbox list. What is done to
//! one message (detail, raw bytes, a part, PATCH, delete) is in
//! [`super::message`]. The listing functions without HTTP in them are
//! shared with [`crate::TestServer`].
//!
//! Message ids are opaque: base64url of account, mailbox, UIDVALIDITY and
//! UID. An id stays valid while the message exists, and never names another
//! message: a re-created mailbox has a new UIDVALIDITY and UIDs are never
//! reused within one (RFC 9051 §2.3.1.1).

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_lite::FutureExt;
use hyper::StatusCode;
use mail_parser::MessageParser;
use maildir::{Flags, MessageInfo, Store, StoreError, StoreEvent, UidSet};
use serde::Serialize;

use super::routes::Query;
use super::{ApiError, ApiResult, blocking, json_response, no_content};
use crate::shared::Shared;

/// Default `limit` of a listing.
pub const DEFAULT_LIMIT: u64 = 50;
/// The largest `limit` honoured.
pub const MAX_LIMIT: u64 = 10_000;
/// The longest `wait` honoured, in seconds.
pub const MAX_WAIT_SECS: u64 = 300;
/// The most header bytes read for a summary (the rest of a larger header
/// section is ignored for From/To/Subject/Date).
const MAX_HEADER_READ: usize = 256 * 1024;

/// Where a message lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The account (display form).
    pub account: String,
    /// The mailbox (wire name).
    pub mailbox: String,
    /// The mailbox's UIDVALIDITY when the id was made.
    pub uidvalidity: u32,
    /// The UID.
    pub uid: u32,
}

impl Location {
    /// The opaque id.
    #[must_use]
    pub fn id(&self) -> String {
        let text = format!(
            "{}\n{}\n{}\n{}",
            self.account, self.mailbox, self.uidvalidity, self.uid
        );
        URL_SAFE_NO_PAD.encode(text)
    }

    /// Decodes an id; `None` for anything that is not one of ours.
    #[must_use]
    pub fn parse(id: &str) -> Option<Location> {
        let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut it = text.split('\n');
        let account = it.next()?.to_owned();
        let mailbox = it.next()?.to_owned();
        let uidvalidity = it.next()?.parse().ok()?;
        let uid = it.next()?.parse().ok()?;
        if it.next().is_some() {
            return None;
        }
        Some(Location {
            account,
            mailbox,
            uidvalidity,
            uid,
        })
    }
}

/// A message in a listing (`GET /api/v1/messages`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// The opaque id.
    pub id: String,
    /// The account it was delivered to.
    pub user: String,
    /// Its mailbox.
    pub mailbox: String,
    /// Its IMAP UID.
    pub uid: u32,
    /// The From address, if any.
    pub from: Option<String>,
    /// The To and Cc addresses.
    pub to: Vec<String>,
    /// The decoded Subject, if any.
    pub subject: Option<String>,
    /// The Date field as RFC 3339, if present and valid.
    pub date: Option<String>,
    /// The stored size in bytes.
    pub size: u64,
    /// IMAP flags and keywords (`\Seen`, `$Forwarded`, ...).
    pub flags: Vec<String>,
    /// When it was stored (INTERNALDATE) as RFC 3339.
    pub received: String,
    /// INTERNALDATE in seconds, for sorting.
    #[serde(skip)]
    pub internal_date: i64,
}

/// The filters of a listing; text filters are lower-cased.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this account.
    pub user: Option<String>,
    /// Only this mailbox.
    pub mailbox: Option<String>,
    /// Substring of a To/Cc address.
    pub to: Option<String>,
    /// Substring of the From address.
    pub from: Option<String>,
    /// Substring of the Subject.
    pub subject: Option<String>,
    /// At most this many.
    pub limit: usize,
    /// Skip this many matches first (an extension, for paging).
    pub offset: usize,
    /// Case-insensitive substring of From, To/Cc, Subject or the message
    /// text (an extension for the web UI's search; the first
    /// [`TEXT_SEARCH_BYTES`] of each message are searched).
    pub text: Option<String>,
}

/// How much of each message `text=` searches.
const TEXT_SEARCH_BYTES: u64 = 1024 * 1024;

impl Filter {
    fn from_query(q: &Query) -> Result<Filter, ApiError> {
        let lower = |name: &str| q.get(name).map(str::to_lowercase);
        let limit = q
            .number("limit", DEFAULT_LIMIT)
            .map_err(ApiError::bad_request)?
            .min(MAX_LIMIT);
        Ok(Filter {
            user: q.get("user").map(str::to_owned),
            mailbox: q.get("mailbox").map(str::to_owned),
            to: lower("to"),
            from: lower("from"),
            subject: lower("subject"),
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            offset: usize::try_from(
                q.number("offset", 0)
                    .map_err(ApiError::bad_request)?
                    .min(MAX_LIMIT * 100),
            )
            .unwrap_or(0),
            text: lower("text").filter(|t| !t.is_empty()),
        })
    }

    fn has_header_filters(&self) -> bool {
        self.to.is_some() || self.from.is_some() || self.subject.is_some() || self.text.is_some()
    }

    /// `text=` against the summary's fields, then the message's bytes.
    fn text_matches(&self, store: &Store, s: &Summary, loc: &Location) -> bool {
        let Some(needle) = &self.text else {
            return true;
        };
        let hit = |v: &str| v.to_lowercase().contains(needle.as_str());
        if s.from.as_deref().is_some_and(hit)
            || s.subject.as_deref().is_some_and(hit)
            || s.to.iter().any(|t| hit(t))
        {
            return true;
        }
        let Ok(file) = open(store, loc) else {
            return false;
        };
        let mut head = Vec::new();
        if file.take(TEXT_SEARCH_BYTES).read_to_end(&mut head).is_err() {
            return false;
        }
        let needle = needle.as_bytes();
        head.to_ascii_lowercase()
            .windows(needle.len().max(1))
            .any(|w| w == needle)
    }

    fn accepts(&self, s: &Summary) -> bool {
        let has = |hay: Option<&str>, needle: &Option<String>| match needle {
            None => true,
            Some(n) => hay.is_some_and(|h| h.to_lowercase().contains(n.as_str())),
        };
        has(s.from.as_deref(), &self.from)
            && has(s.subject.as_deref(), &self.subject)
            && match &self.to {
                None => true,
                Some(n) => s.to.iter().any(|t| t.to_lowercase().contains(n.as_str())),
            }
    }

    /// Whether a change of `account` (normalised key) can matter.
    fn concerns(&self, account: &str) -> bool {
        match &self.user {
            None => true,
            Some(u) => maildir::Address::parse(u).is_ok_and(|a| a.key() == account),
        }
    }
}

/// IMAP spellings of a message's flags and keywords.
#[must_use]
pub fn flag_names(flags: Flags, keywords: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (flag, name) in [
        (Flags::SEEN, "\\Seen"),
        (Flags::ANSWERED, "\\Answered"),
        (Flags::FLAGGED, "\\Flagged"),
        (Flags::DELETED, "\\Deleted"),
        (Flags::DRAFT, "\\Draft"),
        (Flags::FORWARDED, "$Forwarded"),
    ] {
        if flags.contains(flag) {
            out.push(name.to_owned());
        }
    }
    out.extend(keywords.iter().cloned());
    out
}

/// RFC 3339 (UTC) of seconds since the epoch.
#[must_use]
pub fn rfc3339(secs: i64) -> String {
    mail_parser::DateTime::from_timestamp(secs).to_rfc3339()
}

/// Opens a message's file through the store, which never follows a
/// symbolic link below the data directory and retries with the current
/// name if a flag change renamed the file meanwhile.
pub(super) fn open(store: &Store, loc: &Location) -> Result<std::fs::File, StoreError> {
    store.open_message(&loc.account, &loc.mailbox, loc.uid)
}

/// The header section of a message file (at most [`MAX_HEADER_READ`]).
fn read_header(file: &mut std::fs::File) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            return Ok(buf);
        }
        let start = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = memchr_blank_line(&buf[start..]) {
            buf.truncate(start + end);
            return Ok(buf);
        }
        if buf.len() >= MAX_HEADER_READ {
            return Ok(buf);
        }
    }
}

/// The end of the first blank line (`\r\n\r\n` or `\n\n`), if any.
fn memchr_blank_line(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4);
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The From/To/Subject/Date part of a summary, from header bytes.
fn header_fields(header: &[u8]) -> (Option<String>, Vec<String>, Option<String>, Option<String>) {
    let Some(msg) = MessageParser::default().parse_headers(header) else {
        return (None, Vec::new(), None, None);
    };
    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(str::to_owned);
    let mut to = Vec::new();
    for list in [msg.to(), msg.cc()].into_iter().flatten() {
        to.extend(list.iter().filter_map(|a| a.address()).map(str::to_owned));
    }
    let subject = msg.subject().map(str::to_owned);
    let date = msg
        .date()
        .filter(|d| d.is_valid())
        .map(mail_parser::DateTime::to_rfc3339);
    (from, to, subject, date)
}

/// A message's summary (reads its header from the file).
///
/// # Errors
/// Storage errors; a message expunged meanwhile is `Ok(None)`.
pub fn summary(
    store: &Store,
    loc: &Location,
    info: &MessageInfo,
) -> Result<Option<Summary>, StoreError> {
    let mut file = match open(store, loc) {
        Ok(f) => f,
        Err(StoreError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let header = read_header(&mut file)?;
    let (from, to, subject, date) = header_fields(&header);
    Ok(Some(Summary {
        id: loc.id(),
        user: loc.account.clone(),
        mailbox: loc.mailbox.clone(),
        uid: loc.uid,
        from,
        to,
        subject,
        date,
        size: info.size,
        flags: flag_names(info.flags, &info.keywords),
        received: rfc3339(info.internal_date),
        internal_date: info.internal_date,
    }))
}

/// Every (account, mailbox) the filter covers; unknown ones are skipped.
fn targets(store: &Store, filter: &Filter) -> Result<Vec<(String, String)>, StoreError> {
    let accounts = match &filter.user {
        Some(u) => match store.user_exists(u) {
            Ok(true) => vec![u.clone()],
            Ok(false) | Err(StoreError::InvalidAddress(_)) => Vec::new(),
            Err(e) => return Err(e),
        },
        None => store.list_users()?,
    };
    let mut out = Vec::new();
    for account in accounts {
        let mailboxes = match store.mailboxes(&account) {
            Ok(list) => list,
            // Deleted meanwhile.
            Err(StoreError::NoSuchAccount(_)) => continue,
            Err(e) => return Err(e),
        };
        for m in mailboxes {
            let wanted = filter
                .mailbox
                .as_deref()
                .is_none_or(|f| maildir::canonical_mailbox_name(f).is_ok_and(|f| f == m.name));
            if wanted {
                out.push((account.clone(), m.name));
            }
        }
    }
    Ok(out)
}

pub(super) fn gone(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::NoSuchAccount(_) | StoreError::NoSuchMailbox(_)
    )
}

/// The matching messages, newest first (by INTERNALDATE, then UID), at most
/// `filter.limit`, and how many match in all. Without header filters this
/// reads only the newest `limit` index rows per mailbox and `limit`
/// message headers; with them every message header of the covered
/// mailboxes is read.
///
/// # Errors
/// Storage errors.
pub fn list_sync(store: &Store, filter: &Filter) -> Result<(u64, Vec<Summary>), StoreError> {
    let mut total = 0u64;
    let mut candidates: Vec<(Location, MessageInfo)> = Vec::new();
    let header_filters = filter.has_header_filters();
    for (account, mailbox) in targets(store, filter)? {
        let listed = if header_filters {
            store
                .mailbox_status(&account, &mailbox)
                .and_then(|s| Ok((s, store.list_messages(&account, &mailbox)?)))
        } else {
            store.newest_messages(
                &account,
                &mailbox,
                filter.limit.saturating_add(filter.offset),
            )
        };
        let (status, infos) = match listed {
            Ok(x) => x,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        if !header_filters {
            total += u64::from(status.messages);
        }
        for info in infos {
            let loc = Location {
                account: account.clone(),
                mailbox: mailbox.clone(),
                uidvalidity: status.uidvalidity,
                uid: info.uid,
            };
            candidates.push((loc, info));
        }
    }
    candidates.sort_by(|(la, a), (lb, b)| {
        (b.internal_date, b.uid, &lb.account, &lb.mailbox).cmp(&(
            a.internal_date,
            a.uid,
            &la.account,
            &la.mailbox,
        ))
    });
    let mut out = Vec::new();
    if header_filters {
        let mut skipped = 0usize;
        for (loc, info) in &candidates {
            if let Some(s) = summary(store, loc, info)?
                && filter.accepts(&s)
                && filter.text_matches(store, &s, loc)
            {
                total += 1;
                if skipped < filter.offset {
                    skipped += 1;
                } else if out.len() < filter.limit {
                    out.push(s);
                }
            }
        }
    } else {
        for (loc, info) in candidates.iter().skip(filter.offset).take(filter.limit) {
            if let Some(s) = summary(store, loc, info)? {
                out.push(s);
            }
        }
    }
    Ok((total, out))
}

/// Resolves an id to its message: 404 when unknown or gone.
///
/// # Errors
/// 404; storage errors as 500.
pub fn resolve(store: &Store, id: &str) -> Result<(Location, MessageInfo), ApiError> {
    let not_found = || ApiError::not_found(format!("no message {id}"));
    let loc = Location::parse(id).ok_or_else(not_found)?;
    let status = match store.mailbox_status(&loc.account, &loc.mailbox) {
        Ok(s) => s,
        Err(e)
            if gone(&e)
                || matches!(
                    e,
                    StoreError::InvalidAddress(_) | StoreError::InvalidMailbox(_)
                ) =>
        {
            return Err(not_found());
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    if status.uidvalidity != loc.uidvalidity {
        return Err(not_found());
    }
    match store.message(&loc.account, &loc.mailbox, loc.uid) {
        Ok(Some(info)) => Ok((loc, info)),
        Ok(None) => Err(not_found()),
        Err(e) if gone(&e) => Err(not_found()),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// The whole stored message.
///
/// # Errors
/// 404 when it vanished; storage errors.
pub fn read_all(store: &Store, loc: &Location, info: &MessageInfo) -> Result<Vec<u8>, ApiError> {
    let mut file = match open(store, loc) {
        Ok(f) => f,
        Err(StoreError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found(format!("no message {}", loc.id())));
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    let mut bytes = Vec::with_capacity(usize::try_from(info.size).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(ApiError::internal)?;
    Ok(bytes)
}

/// Resolves `id` and reads the whole message. A flag change renames the
/// file between the two steps (Maildir keeps flags in the name), so a file
/// that vanished is looked up once more before the answer is 404.
///
/// # Errors
/// 404; storage errors as 500.
pub fn resolve_and_read(
    store: &Store,
    id: &str,
) -> Result<(Location, MessageInfo, Vec<u8>), ApiError> {
    let mut tries = 0;
    loop {
        let (loc, info) = resolve(store, id)?;
        match read_all(store, &loc, &info) {
            Ok(raw) => return Ok((loc, info, raw)),
            Err(e) if e.status == StatusCode::NOT_FOUND && tries < 2 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// `GET /api/v1/messages`: the listing, long-polled with `wait`/`count`.
pub async fn list(shared: &Arc<Shared>, query: &Query) -> ApiResult {
    let filter = Filter::from_query(query)?;
    let wait = query.number("wait", 0).map_err(ApiError::bad_request)?;
    let count = query.number("count", 1).map_err(ApiError::bad_request)?;
    let deadline = Instant::now() + Duration::from_secs(wait.min(MAX_WAIT_SECS));
    // Subscribed before the first look, so a message stored between the
    // look and the wait is not missed.
    let changes = (wait > 0).then(|| shared.store.subscribe_all());
    loop {
        let store = shared.store.clone();
        let f = filter.clone();
        let (total, messages) = blocking(move || list_sync(&store, &f))
            .await
            .map_err(ApiError::internal)?;
        let done = total >= count || Instant::now() >= deadline;
        let Some(changes) = changes.as_ref().filter(|_| !done) else {
            return Ok(json_response(
                StatusCode::OK,
                &serde_json::json!({ "messages": messages, "total": total }),
            ));
        };
        // Sleep until a message arrives for an account we look at, or the
        // deadline; then look again.
        loop {
            let event = async { Some(changes.recv().await) }
                .or(async {
                    async_io::Timer::at(deadline).await;
                    None
                })
                .await;
            match event {
                None => break,
                Some(None) => break,
                Some(Some(StoreEvent::Overflowed)) => break,
                Some(Some(StoreEvent::Change { account, notice })) => {
                    if matches!(notice.change, maildir::Change::Appended { .. })
                        && filter.concerns(&account)
                    {
                        // Coalesce a burst into one look.
                        while changes.try_recv().is_some() {}
                        break;
                    }
                }
            }
        }
    }
}

/// Deletes every message of `user` (or of every account).
///
/// # Errors
/// Storage errors.
pub fn purge_sync(store: &Store, user: Option<&str>) -> Result<(), StoreError> {
    let filter = Filter {
        user: user.map(str::to_owned),
        ..Filter::default()
    };
    for (account, mailbox) in targets(store, &filter)? {
        match store.delete_messages(&account, &mailbox, &UidSet::all()) {
            Ok(_) => {}
            Err(e) if gone(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `DELETE /api/v1/messages[?user=]`.
pub async fn purge(shared: &Arc<Shared>, query: &Query) -> ApiResult {
    let store = shared.store.clone();
    let user = query.get("user").map(str::to_owned);
    blocking(move || purge_sync(&store, user.as_deref()))
        .await
        .map_err(ApiError::internal)?;
    Ok(no_content())
}

/// `GET /api/v1/mailboxes?user=`: the account's mailboxes with their
/// message and unseen counts (an extension for the web UI).
pub async fn mailboxes(shared: &Arc<Shared>, query: &Query) -> ApiResult {
    let Some(user) = query.get("user").map(str::to_owned) else {
        return Err(ApiError::bad_request("user is required"));
    };
    let store = shared.store.clone();
    blocking(move || {
        let list = match store.mailboxes(&user) {
            Ok(l) => l,
            Err(e) if gone(&e) || matches!(e, StoreError::InvalidAddress(_)) => {
                return Err(ApiError::not_found(format!("no account {user}")));
            }
            Err(e) => return Err(ApiError::internal(e)),
        };
        let mut out = Vec::new();
        for m in list {
            let infos = match store.list_messages(&user, &m.name) {
                Ok(i) => i,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(ApiError::internal(e)),
            };
            let unseen = infos
                .iter()
                .filter(|i| !i.flags.contains(maildir::Flags::SEEN))
                .count();
            out.push(serde_json::json!({
                "name": m.name,
                "special_use": m.special_use.map(|u| format!("{u:?}")),
                "total": infos.len(),
                "unseen": unseen,
            }));
        }
        Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({ "mailboxes": out }),
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let loc = Location {
            account: "a@b".into(),
            mailbox: "Work/2024".into(),
            uidvalidity: 7,
            uid: 42,
        };
        assert_eq!(Location::parse(&loc.id()), Some(loc));
        assert_eq!(Location::parse("nope"), None);
        assert_eq!(Location::parse(""), None);
    }

    #[test]
    fn header_end() {
        assert_eq!(memchr_blank_line(b"A: b\r\n\r\nbody"), Some(8));
        assert_eq!(memchr_blank_line(b"A: b\n\nbody"), Some(6));
        assert_eq!(memchr_blank_line(b"A: b\r\n"), None);
    }

    #[test]
    fn fields() {
        let (from, to, subject, date) = header_fields(
            b"From: Al <al@x.test>\r\nTo: b@y.test, C <c@z.test>\r\nCc: d@w.test\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n",
        );
        assert_eq!(from.as_deref(), Some("al@x.test"));
        assert_eq!(to, ["b@y.test", "c@z.test", "d@w.test"]);
        assert_eq!(subject.as_deref(), Some("café"));
        assert_eq!(date.as_deref(), Some("2024-01-01T10:00:00Z"));
    }
}
