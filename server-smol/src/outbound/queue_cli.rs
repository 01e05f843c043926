//! `sansmail queue list|retry [ID]|delete ID` (docs/DESIGN.md §5.2): the
//! requests, their one-line encoding for the control socket, and their
//! effect on the store. The command itself (`cli/queue.rs`) sends them to a
//! running server's control socket, or applies them to the store directly
//! when no server runs (like `sansmail user`); the control socket applies
//! them with [`apply`].
//!
//! `list` prints one line per queued recipient and no header:
//! `<id> <sender or <>> <recipient> <state> <attempts> <next-attempt RFC 3339> <last error...>`
//! (the error, possibly several words, last; left out before the first
//! attempt).

use maildir::{QueueId, Store, StoreError};

/// One queue operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueRequest {
    /// Every queued recipient, one line each.
    List,
    /// Make a message (or every message) due now.
    Retry(Option<String>),
    /// Drop a message without delivering it and without a DSN.
    Delete(String),
}

/// The control-socket verbs (one line, `VERB<TAB>ARG<LF>`).
const VERB_LIST: &str = "queue-list";
const VERB_RETRY: &str = "queue-retry";
const VERB_DELETE: &str = "queue-delete";

/// Parses a control-socket request line; `None` when it is not a queue verb.
#[must_use]
pub fn parse_request(line: &str) -> Option<QueueRequest> {
    let (verb, arg) = line.split_once('\t').unwrap_or((line, ""));
    match verb {
        VERB_LIST => Some(QueueRequest::List),
        VERB_RETRY => Some(QueueRequest::Retry(
            (!arg.is_empty()).then(|| arg.to_owned()),
        )),
        VERB_DELETE => Some(QueueRequest::Delete(arg.to_owned())),
        _ => None,
    }
}

/// The control-socket request line for `req` (without the LF).
#[must_use]
pub fn encode_request(req: &QueueRequest) -> String {
    match req {
        QueueRequest::List => VERB_LIST.to_owned(),
        QueueRequest::Retry(None) => VERB_RETRY.to_owned(),
        QueueRequest::Retry(Some(id)) => format!("{VERB_RETRY}\t{}", one_field(id)),
        QueueRequest::Delete(id) => format!("{VERB_DELETE}\t{}", one_field(id)),
    }
}

/// An id typed by a user must not break the one-line protocol.
fn one_field(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

fn parse_id(s: &str) -> Result<QueueId, String> {
    s.parse::<QueueId>()
}

/// Applies `req` to an open store: the lines to print, or a one-line error.
///
/// # Errors
/// An unknown or malformed id; store errors.
pub fn apply(store: &Store, req: &QueueRequest) -> Result<Vec<String>, String> {
    let now = unix_now();
    match req {
        QueueRequest::List => Ok(list_lines(store)?),
        QueueRequest::Retry(None) => {
            store.queue_retry(None, now).map_err(store_error)?;
            Ok(Vec::new())
        }
        QueueRequest::Retry(Some(id)) => {
            let id = parse_id(id)?;
            if store.queue_message(id).map_err(store_error)?.is_none() {
                return Err(format!("no queued message {id}"));
            }
            store.queue_retry(Some(id), now).map_err(store_error)?;
            Ok(Vec::new())
        }
        QueueRequest::Delete(id) => {
            let id = parse_id(id)?;
            if !store.queue_delete(id).map_err(store_error)? {
                return Err(format!("no queued message {id}"));
            }
            Ok(Vec::new())
        }
    }
}

fn store_error(e: StoreError) -> String {
    format!("queue: {e}")
}

/// The `queue list` lines.
fn list_lines(store: &Store) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for m in store.queue_list().map_err(store_error)? {
        let sender = m.sender.as_deref().unwrap_or("<>");
        for r in &m.recipients {
            let mut line = format!(
                "{} {} {} {} {} {}",
                m.id,
                sender,
                r.address,
                r.state.as_str(),
                r.attempts,
                rfc3339(r.next_attempt)
            );
            if !r.last_error.is_empty() {
                line.push(' ');
                line.push_str(&r.last_error);
            }
            out.push(line);
        }
    }
    Ok(out)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// RFC 3339 `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (UTC).
#[must_use]
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// (year, month, day) of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`, proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for req in [
            QueueRequest::List,
            QueueRequest::Retry(None),
            QueueRequest::Retry(Some("0000001A".into())),
            QueueRequest::Delete("1A".into()),
        ] {
            assert_eq!(parse_request(&encode_request(&req)), Some(req));
        }
        assert_eq!(parse_request("list\t\t"), None);
        assert_eq!(
            encode_request(&QueueRequest::Delete("1\n2\t3".into())),
            "queue-delete\t123"
        );
    }

    #[test]
    fn rfc3339_known_answers() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_157_599), "2026-12-01T20:39:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}
