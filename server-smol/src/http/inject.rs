//! The one way the API and the fixtures put a message into the store:
//! [`inject`]. `POST /api/v1/messages`, `POST /api/v1/send` and
//! `[testing] fixtures` all call it.
//!
//! Today it delivers locally. Injected messages (`exact`: the API's
//! `POST /api/v1/messages` and fixtures) are stored byte-exact, with no
//! Return-Path: or Received: field (docs/DESIGN.md §5.7), through the store's
//! APPEND path, which also takes the mailbox, flags and internal date a
//! fixture asks for. Sent messages (`/api/v1/send`, "like submission") go
//! through `begin_delivery` with Return-Path: and a Received: field.
//! When the delivery pipeline lands, this function is the one place to
//! route through it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::FutureExt;
use http_body_util::BodyExt;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use maildir::{AccountError, DeliveryError, Envelope, Flags, Store, StoreError};
use serde::Deserialize;

use super::messages::Location;
use super::routes::Query;
use super::{ApiError, ApiResult, blocking, json_response, parse_json, read_body};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::shared::Shared;

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

/// Where the message bytes come from.
#[derive(Debug)]
pub enum MessageBytes<'a> {
    /// Whole in memory (fixtures, a message built from JSON fields).
    Whole(&'a [u8]),
    /// Streamed from a request body as it arrives, so a large message is
    /// never held whole in memory; the channel is bounded, an `Err` ends
    /// the injection with that error, and a closed channel ends the
    /// message. An `exact` injection from a stream has one recipient.
    Stream(smol::channel::Receiver<Result<bytes::Bytes, InjectError>>),
}

impl MessageBytes<'_> {
    /// Feeds every chunk to `write`; the number of bytes.
    fn pump(
        self,
        mut write: impl FnMut(&[u8]) -> Result<(), InjectError>,
    ) -> Result<u64, InjectError> {
        match self {
            MessageBytes::Whole(bytes) => {
                write(bytes)?;
                Ok(bytes.len() as u64)
            }
            MessageBytes::Stream(rx) => {
                let mut n = 0u64;
                while let Ok(chunk) = rx.recv_blocking() {
                    let chunk = chunk?;
                    n += chunk.len() as u64;
                    write(&chunk)?;
                }
                Ok(n)
            }
        }
    }
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
    /// The message is larger than this many bytes.
    TooLarge(u64),
    /// The client did not send the message in time.
    Timeout,
}

impl std::fmt::Display for InjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InjectError::UnknownUser(u) => write!(f, "no such user {u}"),
            InjectError::UnknownMailbox(m) => write!(f, "no such mailbox {m}"),
            InjectError::Invalid(why) => f.write_str(why),
            InjectError::OverQuota(u) => write!(f, "{u} is over quota"),
            InjectError::Storage(why) => write!(f, "storage error: {why}"),
            InjectError::TooLarge(limit) => write!(f, "request body larger than {limit} bytes"),
            InjectError::Timeout => f.write_str("request body not received in time"),
        }
    }
}

impl From<InjectError> for ApiError {
    fn from(e: InjectError) -> ApiError {
        let status = match &e {
            InjectError::UnknownUser(_) | InjectError::UnknownMailbox(_) => StatusCode::NOT_FOUND,
            InjectError::Invalid(_) => StatusCode::BAD_REQUEST,
            InjectError::OverQuota(_) => StatusCode::INSUFFICIENT_STORAGE,
            InjectError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            InjectError::Timeout => StatusCode::REQUEST_TIMEOUT,
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
    message: MessageBytes<'_>,
) -> Result<Vec<Location>, InjectError> {
    if what.recipients.is_empty() {
        return Err(InjectError::Invalid("no recipients".into()));
    }
    let empty = || InjectError::Invalid("empty message".into());
    metrics.message_received(listener);
    let started = Instant::now();
    if what.create_accounts || config.testing.catch_all {
        for r in &what.recipients {
            ensure_account(store, r)?;
        }
    }
    let mut out = Vec::new();
    if what.exact {
        let whole = match &message {
            MessageBytes::Whole(bytes) => Some(*bytes),
            MessageBytes::Stream(_) if what.recipients.len() == 1 => None,
            MessageBytes::Stream(_) => {
                return Err(InjectError::Invalid(
                    "a streamed exact injection has one recipient".into(),
                ));
            }
        };
        let mut message = Some(message);
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
            // Injected and fixture mail with flags is already handled:
            // not \Recent, as before APPEND made flagged messages recent.
            append.flagged_not_recent();
            let source = match whole {
                Some(bytes) => MessageBytes::Whole(bytes),
                None => message.take().ok_or_else(empty)?,
            };
            let n = source.pump(|chunk| append.write(chunk).map_err(store_error))?;
            if n == 0 {
                return Err(empty());
            }
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
        let n = message.pump(|chunk| delivery.write(chunk).map_err(delivery_error))?;
        if n == 0 {
            return Err(empty());
        }
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
    let limit = shared.config.limits.max_message_size;
    check_length(&req, limit)?;
    // DESIGN.md §5.1: `[[rules]]` apply to API injection too (sender: the
    // `from` query parameter, else the null sender). A refusal answers with
    // the rule's reply; discard and bounce accept and store nothing (there
    // is no sender to bounce to): 202 with a null id.
    let sender = query.get("from").unwrap_or("");
    match crate::pipeline::rules::evaluate(&shared.config.rules, sender, &user, fastrand::f64) {
        crate::pipeline::rules::RuleOutcome::Continue => {}
        crate::pipeline::rules::RuleOutcome::Refuse(v) => {
            let status = if v.code >= 500 {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            return Err(ApiError::new(
                status,
                format!("{} {} {}", v.code, v.status, v.text),
            ));
        }
        crate::pipeline::rules::RuleOutcome::Discard
        | crate::pipeline::rules::RuleOutcome::Bounce(_) => {
            return Ok(json_response(
                StatusCode::ACCEPTED,
                &serde_json::json!({ "id": null, "discarded": true }),
            ));
        }
    }
    let what = Injection {
        recipients: vec![user],
        mailbox,
        exact: true,
        ..Injection::default()
    };
    // The body streams into the store as it arrives (a few chunks in
    // flight), so a message of max_message_size is never held whole.
    let (tx, rx) = smol::channel::bounded(STREAM_CHUNKS);
    let s = shared.clone();
    let mut store_task = std::pin::pin!(blocking(move || {
        inject(
            &s.store,
            &s.config,
            &s.metrics,
            "http",
            &what,
            MessageBytes::Stream(rx),
        )
    }));
    let timeout = Duration::from_millis(shared.config.http.body_timeout_ms);
    let feed = feed_body(req.into_body(), limit, timeout, tx);
    // Whichever ends first: the body (then wait for the commit), or the
    // store task (an early error such as an unknown user: stop reading).
    let early = async {
        feed.await;
        None
    }
    .or(async { Some(store_task.as_mut().await) })
    .await;
    let stored = match early {
        Some(result) => result,
        None => store_task.await,
    }?;
    let id = stored.first().map(Location::id).unwrap_or_default();
    Ok(json_response(
        StatusCode::CREATED,
        &serde_json::json!({ "id": id }),
    ))
}

/// Body chunks queued between the socket and the store.
const STREAM_CHUNKS: usize = 4;

/// 413 at once when Content-Length announces more than `limit`.
fn check_length(req: &Request<Incoming>, limit: u64) -> Result<(), ApiError> {
    let announced = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match announced {
        Some(len) if len > limit => Err(InjectError::TooLarge(limit).into()),
        _ => Ok(()),
    }
}

/// Sends a request body's data frames into `tx` until it ends, passes
/// `limit` bytes, errs, or `timeout` runs out (then the error is sent).
async fn feed_body(
    mut body: Incoming,
    limit: u64,
    timeout: Duration,
    tx: smol::channel::Sender<Result<bytes::Bytes, InjectError>>,
) {
    let deadline = Instant::now() + timeout;
    let mut total = 0u64;
    loop {
        let next = async { Some(body.frame().await) }
            .or(async {
                async_io::Timer::at(deadline).await;
                None
            })
            .await;
        let item = match next {
            None => Err(InjectError::Timeout),
            Some(None) => return,
            Some(Some(Err(e))) => Err(InjectError::Invalid(format!(
                "cannot read the request body: {e}"
            ))),
            Some(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => {
                    total += data.len() as u64;
                    if total > limit {
                        Err(InjectError::TooLarge(limit))
                    } else {
                        Ok(data)
                    }
                }
                // Trailers: nothing to store.
                Err(_) => continue,
            },
        };
        let stop = item.is_err();
        if tx.send(item).await.is_err() || stop {
            return;
        }
    }
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

/// `"Name" <addr>` or `Name <addr>` or `addr` as (display name, address).
fn split_mailbox(text: &str) -> (Option<String>, String) {
    match (text.find('<'), text.rfind('>')) {
        (Some(a), Some(b)) if a < b => {
            let name = text[..a].trim().trim_matches('"').trim();
            let name = (!name.is_empty()).then(|| name.to_owned());
            (name, text[a + 1..b].trim().to_owned())
        }
        _ => (None, text.trim().to_owned()),
    }
}

fn build_message(req: &SendRequest) -> Result<Vec<u8>, ApiError> {
    let from = match split_mailbox(&req.from) {
        (Some(name), addr) => {
            mail_builder::headers::address::Address::new_address(Some(name), addr)
        }
        (None, addr) => mail_builder::headers::address::Address::new_address(None::<String>, addr),
    };
    let mut b = mail_builder::MessageBuilder::new()
        .from(from)
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
        // Like submission (RFC 6409 §8.3, §8.6): the Message-ID: and Date:
        // a raw message lacks are added in front of it.
        let mut message =
            crate::pipeline::missing_submission_fields(&body, &shared.config.hostname);
        message.extend_from_slice(&body);
        (from, to, message)
    };
    if recipients.is_empty() {
        return Err(ApiError::bad_request("no recipients"));
    }
    if let Some(bad) = recipients
        .iter()
        .find(|r| maildir::Address::parse(r).is_err())
    {
        return Err(ApiError::bad_request(format!("invalid recipient {bad:?}")));
    }
    // The envelope sender of `"App" <app@example.test>` is the address.
    let sender = split_mailbox(&sender).1;
    let config = &shared.config;
    // Non-local recipients go to the outbound queue, durably, before the
    // 202 (like submission, DESIGN.md §5.5); catch_all keeps all local.
    let (remote, local): (Vec<String>, Vec<String>) = if config.testing.catch_all {
        (Vec::new(), recipients)
    } else {
        recipients.into_iter().partition(|r| {
            let domain = r.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
            !config.is_local_domain(domain)
        })
    };
    let mut queue_id = None;
    if !remote.is_empty() {
        let store = shared.store.clone();
        let envelope = maildir::QueueEnvelope {
            sender: (!sender.is_empty()).then(|| sender.clone()),
            recipients: remote
                .into_iter()
                .map(maildir::QueueRecipient::new)
                .collect(),
            ..maildir::QueueEnvelope::default()
        };
        let bytes = message.clone();
        let pipeline = shared.pipeline.clone();
        let domain = sender
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        let queued = blocking(move || {
            // Like submission: signed when the sender's domain is local.
            let signature = pipeline.dkim_signature(&domain, &bytes);
            let mut q = store.begin_enqueue(envelope)?;
            if let Some(sig) = signature {
                q.write(sig.as_bytes())?;
            }
            q.write(&bytes)?;
            q.commit()
        })
        .await;
        match queued {
            Ok(id) => {
                shared.pipeline.wake_queue();
                queue_id = Some(id.to_string());
            }
            Err(e) if e.is_temporary() => return Err(ApiError::internal(e)),
            Err(e) => return Err(ApiError::bad_request(format!("cannot queue: {e}"))),
        }
    }
    if local.is_empty() {
        return Ok(json_response(
            StatusCode::ACCEPTED,
            &serde_json::json!({ "id": queue_id.unwrap_or_default() }),
        ));
    }
    let what = Injection {
        sender: (!sender.is_empty()).then_some(sender),
        recipients: local,
        mailbox: maildir::INBOX.to_owned(),
        exact: false,
        ..Injection::default()
    };
    let s = shared.clone();
    let stored = blocking(move || {
        inject(
            &s.store,
            &s.config,
            &s.metrics,
            "http",
            &what,
            MessageBytes::Whole(&message),
        )
    })
    .await?;
    let id = stored.first().map(Location::id).unwrap_or_default();
    Ok(json_response(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "id": id }),
    ))
}
