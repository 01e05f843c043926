//! The one way the API and the fixtures put a message into the store:
//! [`inject`]. `POST /api/v1/messages`, `POST /api/v1/send` and
//! `[testing] fixtures` all call it.
//!
//! Today it delivers locally. Injected messages (`exact`: the API's
//! `POST /api/v1/messages` and fixtures) are stored byte-exact, with no
//! Return-Path: or Received: field (DESIGN.md §5.7), through the store's
//! APPEND path, which also takes the mailbox, flags and internal date a
//! fixture asks for. Sent messages (`/api/v1/send`, "like submission") go
//! through `begin_delivery` with Return-Path: and a Received: field.
//! When the delivery pipeline lands, this function is the one place to
//! route through it.

use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use maildir::{AccountError, DeliveryError, Envelope, Flags, Store, StoreError};
use serde::Deserialize;

use super::messages::Location;
use super::routes::Query;
use super::{ApiError, ApiResult, blocking, json_response, parse_json, read_body};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::server::Shared;

/// What to inject.
#[derive(Clone, Debug, Default)]
pub struct Injection {
    /// The envelope sender (reverse-path); `None` is `<>`.
    pub sender: Option<String>,
    /// The accounts to store it for.
    pub recipients: Vec<String>,
    /// The mailbox (used when `exact`; sent mail goes to INBOX).
    pub mailbox: String,
    /// System flags (when `exact`).
    pub flags: Flags,
    /// Keywords (when `exact`).
    pub keywords: Vec<String>,
    /// INTERNALDATE in seconds since the epoch (when `exact`; default now).
    pub internal_date: Option<i64>,
    /// Store the bytes exactly (API injection, fixtures) instead of adding
    /// Return-Path: and Received: (send).
    pub exact: bool,
    /// Create missing accounts (password = the address): fixtures, and
    /// `[testing] catch_all`.
    pub create_accounts: bool,
}

/// Why an injection failed.
#[derive(Debug)]
pub enum InjectError {
    /// A recipient has no account.
    UnknownUser(String),
    /// The mailbox does not exist.
    UnknownMailbox(String),
    /// A malformed address or mailbox name, or no recipient.
    Invalid(String),
    /// The recipient's quota is exhausted.
    OverQuota(String),
    /// Storage failed (temporary).
    Storage(String),
}

impl std::fmt::Display for InjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InjectError::UnknownUser(u) => write!(f, "no such user {u}"),
            InjectError::UnknownMailbox(m) => write!(f, "no such mailbox {m}"),
            InjectError::Invalid(why) => f.write_str(why),
            InjectError::OverQuota(u) => write!(f, "{u} is over quota"),
            InjectError::Storage(why) => write!(f, "storage error: {why}"),
        }
    }
}

impl From<InjectError> for ApiError {
    fn from(e: InjectError) -> ApiError {
        let status = match &e {
            InjectError::UnknownUser(_) | InjectError::UnknownMailbox(_) => StatusCode::NOT_FOUND,
            InjectError::Invalid(_) => StatusCode::BAD_REQUEST,
            InjectError::OverQuota(_) => StatusCode::INSUFFICIENT_STORAGE,
            InjectError::Storage(_) => {
                tracing::warn!("http: {e}");
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        ApiError::new(status, e.to_string())
    }
}

fn store_error(e: StoreError) -> InjectError {
    match e {
        StoreError::NoSuchAccount(u) => InjectError::UnknownUser(u),
        StoreError::NoSuchMailbox(m) => InjectError::UnknownMailbox(m),
        StoreError::InvalidAddress(why) => InjectError::Invalid(format!("invalid address: {why}")),
        StoreError::InvalidMailbox(why) => {
            InjectError::Invalid(format!("invalid mailbox name: {why}"))
        }
        StoreError::OverQuota(u) => InjectError::OverQuota(u),
        other => InjectError::Storage(other.to_string()),
    }
}

fn delivery_error(e: DeliveryError) -> InjectError {
    match e {
        DeliveryError::UnknownRecipient(u) => InjectError::UnknownUser(u),
        DeliveryError::InvalidAddress(why) => {
            InjectError::Invalid(format!("invalid address: {why}"))
        }
        DeliveryError::NoRecipients => InjectError::Invalid("no recipients".into()),
        DeliveryError::OverQuota(u) => InjectError::OverQuota(u),
        other => InjectError::Storage(other.to_string()),
    }
}

/// Creates `address` with the address as its password if it is missing.
fn ensure_account(store: &Store, address: &str) -> Result<(), InjectError> {
    match store.add_user(address, address) {
        Ok(()) | Err(AccountError::AlreadyExists) => Ok(()),
        Err(AccountError::InvalidAddress(why)) => {
            Err(InjectError::Invalid(format!("invalid address: {why}")))
        }
        Err(e) => Err(InjectError::Storage(e.to_string())),
    }
}

/// Stores `message` for every recipient of `what`; blocks (call it from a
/// blocking thread). Returns where each copy went. Counted in the metrics
/// under `listener`.
///
/// # Errors
/// See [`InjectError`]; on error nothing was stored for the failing
/// recipient (earlier recipients of an `exact` injection keep theirs).
pub fn inject(
    store: &Store,
    config: &Config,
    metrics: &Metrics,
    listener: &str,
    what: &Injection,
    message: &[u8],
) -> Result<Vec<Location>, InjectError> {
    if what.recipients.is_empty() {
        return Err(InjectError::Invalid("no recipients".into()));
    }
    metrics.message_received(listener);
    let started = Instant::now();
    if what.create_accounts || config.testing.catch_all {
        for r in &what.recipients {
            ensure_account(store, r)?;
        }
    }
    let mut out = Vec::new();
    if what.exact {
        for r in &what.recipients {
            let mut append = store
                .begin_append(
                    r,
                    &what.mailbox,
                    what.flags,
                    &what.keywords,
                    what.internal_date,
                )
                .map_err(store_error)?;
            append.write(message).map_err(store_error)?;
            let (uidvalidity, uid) = append.commit().map_err(store_error)?;
            out.push(Location {
                account: display_of(store, r),
                mailbox: maildir::canonical_mailbox_name(&what.mailbox)
                    .unwrap_or_else(|_| what.mailbox.clone()),
                uidvalidity,
                uid,
            });
        }
    } else {
        let trace = format!(
            "Received: from api by {host} (sansmail) with HTTP; {date}\r\n",
            host = config.hostname,
            date = rfc5322_now(),
        );
        let mut delivery = store
            .begin_delivery(Envelope {
                return_path: what.sender.clone(),
                recipients: what.recipients.clone(),
                trace: trace.into_bytes(),
            })
            .map_err(delivery_error)?;
        delivery.write(message).map_err(delivery_error)?;
        for d in delivery.commit().map_err(delivery_error)? {
            out.push(Location {
                account: d.address,
                mailbox: maildir::INBOX.to_owned(),
                uidvalidity: d.uidvalidity,
                uid: d.uid,
            });
        }
    }
    metrics.message_delivered(listener, started.elapsed());
    Ok(out)
}

/// The display form of an account address.
fn display_of(store: &Store, address: &str) -> String {
    let key = maildir::Address::parse(address).map(|a| a.key()).ok();
    store
        .list_users()
        .ok()
        .and_then(|users| {
            users
                .into_iter()
                .find(|u| maildir::Address::parse(u).ok().map(|a| a.key()) == key)
        })
        .unwrap_or_else(|| address.to_owned())
}

/// Now as an RFC 5322 date-time (UTC).
fn rfc5322_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0);
    let d = mail_parser::DateTime::from_timestamp(secs);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let weekday = DAYS[usize::try_from(secs.div_euclid(86_400).rem_euclid(7)).unwrap_or(0)];
    let month = MONTHS[usize::from(d.month.clamp(1, 12)) - 1];
    format!(
        "{weekday}, {} {month} {} {:02}:{:02}:{:02} +0000",
        d.day, d.year, d.hour, d.minute, d.second
    )
}

/// `POST /api/v1/messages?user=&mailbox=INBOX` with a raw message.
pub async fn post_message(
    shared: &Arc<Shared>,
    query: &Query,
    req: Request<Incoming>,
) -> ApiResult {
    let Some(user) = query.get("user").map(str::to_owned) else {
        return Err(ApiError::bad_request("`user` is required"));
    };
    let mailbox = query.get("mailbox").unwrap_or(maildir::INBOX).to_owned();
    let body = read_body(shared, req, shared.config.limits.max_message_size).await?;
    if body.is_empty() {
        return Err(ApiError::bad_request("empty message"));
    }
    let what = Injection {
        recipients: vec![user],
        mailbox,
        exact: true,
        ..Injection::default()
    };
    let s = shared.clone();
    let stored =
        blocking(move || inject(&s.store, &s.config, &s.metrics, "http", &what, &body)).await?;
    let id = stored.first().map(Location::id).unwrap_or_default();
    Ok(json_response(
        StatusCode::CREATED,
        &serde_json::json!({ "id": id }),
    ))
}

/// The JSON form of `POST /api/v1/send`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendRequest {
    from: String,
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
    #[serde(default)]
    bcc: Vec<String>,
    #[serde(default)]
    subject: String,
    text: Option<String>,
    html: Option<String>,
}

fn build_message(req: &SendRequest) -> Result<Vec<u8>, ApiError> {
    let mut b = mail_builder::MessageBuilder::new()
        .from(req.from.as_str())
        .subject(req.subject.as_str());
    if !req.to.is_empty() {
        b = b.to(req.to.iter().map(String::as_str).collect::<Vec<_>>());
    }
    if !req.cc.is_empty() {
        b = b.cc(req.cc.iter().map(String::as_str).collect::<Vec<_>>());
    }
    if let Some(text) = &req.text {
        b = b.text_body(text.as_str());
    }
    if let Some(html) = &req.html {
        b = b.html_body(html.as_str());
    }
    if req.text.is_none() && req.html.is_none() {
        b = b.text_body("");
    }
    b.write_to_vec()
        .map_err(|e| ApiError::bad_request(format!("cannot build the message: {e}")))
}

/// `POST /api/v1/send`: JSON fields, or a raw message with `?from=&to=`.
pub async fn send(shared: &Arc<Shared>, query: &Query, req: Request<Incoming>) -> ApiResult {
    let is_json = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = read_body(shared, req, shared.config.limits.max_message_size).await?;
    let (sender, recipients, message) = if is_json {
        let r: SendRequest = parse_json(&body)?;
        let message = build_message(&r)?;
        let recipients: Vec<String> = r.to.iter().chain(&r.cc).chain(&r.bcc).cloned().collect();
        (r.from, recipients, message)
    } else {
        let from = query.get("from").unwrap_or("").to_owned();
        let to = query
            .get("to")
            .map(|t| {
                t.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if body.is_empty() {
            return Err(ApiError::bad_request("empty message"));
        }
        (from, to, body.to_vec())
    };
    if recipients.is_empty() {
        return Err(ApiError::bad_request("no recipients"));
    }
    let config = &shared.config;
    let non_local = recipients.iter().any(|r| {
        let domain = r.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        !config.is_local_domain(domain)
    });
    if non_local && !config.testing.catch_all {
        // Never 202 for mail that would be lost: the outbound queue is not
        // connected to the API yet.
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "outbound delivery is not available yet",
        ));
    }
    let what = Injection {
        sender: (!sender.is_empty()).then_some(sender),
        recipients,
        mailbox: maildir::INBOX.to_owned(),
        exact: false,
        ..Injection::default()
    };
    let s = shared.clone();
    let stored =
        blocking(move || inject(&s.store, &s.config, &s.metrics, "http", &what, &message)).await?;
    let id = stored.first().map(Location::id).unwrap_or_default();
    Ok(json_response(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "id": id }),
    ))
}
