//! One message over the API: the detail decoded by mail-parser (headers,
//! text and HTML bodies, attachments), the raw bytes, one MIME part, the
//! HTML body for the web UI, flag changes and moves (PATCH), and delete.
//! Ids and listing are in [`super::messages`]; this module only resolves
//! an id through it.

use std::sync::Arc;

use bytes::Bytes;
use futures_lite::AsyncReadExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use mail_parser::{MimeHeaders, PartType};
use maildir::{StoreError, UidSet};
use serde::Serialize;

use super::messages::{
    Location, Summary, flag_names, gone, open, read_all, resolve, resolve_and_read, summary,
};
use super::routes::Query;
use super::{ApiError, ApiResult, Body, blocking, json_response, no_content};
use crate::shared::Shared;

#[derive(Serialize)]
struct Attachment {
    part: String,
    filename: Option<String>,
    content_type: String,
    size: usize,
}

#[derive(Serialize)]
struct Detail {
    #[serde(flatten)]
    summary: Summary,
    headers: Vec<(String, String)>,
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<Attachment>,
}

fn content_type(part: &mail_parser::MessagePart<'_>) -> String {
    part.content_type()
        .map(|ct| match &ct.c_subtype {
            Some(sub) => format!("{}/{}", ct.c_type, sub),
            None => ct.c_type.to_string(),
        })
        .unwrap_or_else(|| "text/plain".to_owned())
        .to_ascii_lowercase()
}

/// Header fields as (name, value): the value decoded (RFC 2047) where
/// mail-parser reads it as text, else the raw value unfolded.
#[must_use]
pub fn header_list(msg: &mail_parser::Message<'_>) -> Vec<(String, String)> {
    let raw = msg.raw_message();
    msg.headers()
        .iter()
        .map(|h| {
            let value = match &h.value {
                mail_parser::HeaderValue::Text(t) => t.to_string(),
                _ => {
                    let start = h.offset_start as usize;
                    let end = (h.offset_end as usize).min(raw.len());
                    let bytes = raw.get(start..end).unwrap_or_default();
                    String::from_utf8_lossy(bytes)
                        .replace("\r\n", "")
                        .replace('\n', "")
                        .trim()
                        .to_owned()
                }
            };
            (h.name.as_str().to_owned(), value)
        })
        .collect()
}

/// The first text/plain and text/html body of a message.
#[must_use]
pub fn bodies(msg: &mail_parser::Message<'_>) -> (Option<String>, Option<String>) {
    // mail-parser converts between the two when one is missing; the API
    // reports only what the message contains.
    let text = msg.text_bodies().find_map(|p| match &p.body {
        PartType::Text(t) => Some(t.to_string()),
        _ => None,
    });
    let html = msg.html_bodies().find_map(|p| match &p.body {
        PartType::Html(h) => Some(h.to_string()),
        _ => None,
    });
    (text, html)
}

/// `GET /api/v1/messages/{id}`.
pub async fn detail(shared: &Arc<Shared>, id: &str) -> ApiResult {
    let store = shared.store.clone();
    let id = id.to_owned();
    blocking(move || {
        let (loc, info) = resolve(&store, &id)?;
        let s = summary(&store, &loc, &info)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found(format!("no message {id}")))?;
        let raw = read_all(&store, &loc, &info)?;
        let parsed = crate::message::parse(&raw);
        let (headers, text, html, attachments) = match &parsed {
            Some(msg) => {
                let (text, html) = bodies(msg);
                let attachments = msg
                    .attachments
                    .iter()
                    .filter_map(|&i| msg.parts.get(i as usize).map(|p| (i, p)))
                    .map(|(i, p)| Attachment {
                        part: i.to_string(),
                        filename: p.attachment_name().map(str::to_owned),
                        content_type: content_type(p),
                        size: p.contents().len(),
                    })
                    .collect();
                (header_list(msg), text, html, attachments)
            }
            None => (Vec::new(), None, None, Vec::new()),
        };
        Ok(json_response(
            StatusCode::OK,
            &Detail {
                summary: s,
                headers,
                text,
                html,
                attachments,
            },
        ))
    })
    .await
}

/// `GET /api/v1/messages/{id}/raw`: the stored file, streamed.
pub async fn raw(shared: &Arc<Shared>, id: &str) -> ApiResult {
    let store = shared.store.clone();
    let id = id.to_owned();
    let (file, size) = blocking(move || {
        let (loc, info) = resolve(&store, &id)?;
        match open(&store, &loc) {
            Ok(f) => {
                let size = f.metadata().map(|m| m.len()).unwrap_or(info.size);
                Ok((f, size))
            }
            Err(StoreError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ApiError::not_found(format!("no message {id}")))
            }
            Err(e) => Err(ApiError::internal(e)),
        }
    })
    .await?;
    let reader = blocking::Unblock::with_capacity(64 * 1024, file);
    let stream = futures_lite::stream::unfold(Some(reader), |state| async move {
        let mut reader = state?;
        let mut buf = vec![0u8; 64 * 1024];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Frame::data(Bytes::from(buf))), Some(reader)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    let body: Body = StreamBody::new(stream).boxed_unsync();
    let mut r = Response::new(body);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("message/rfc822"),
    );
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    Ok(r)
}

/// `GET /api/v1/messages/{id}/parts/{part}`: a part's decoded content.
pub async fn part(shared: &Arc<Shared>, id: &str, part: &str) -> ApiResult {
    let store = shared.store.clone();
    let id = id.to_owned();
    let part = part.to_owned();
    blocking(move || {
        let (_, _, raw) = resolve_and_read(&store, &id)?;
        let no_part = || ApiError::not_found(format!("no part {part} in message {id}"));
        let index: u32 = part.parse().map_err(|_| no_part())?;
        let msg = crate::message::parse(&raw).ok_or_else(no_part)?;
        let p = msg.part(index).ok_or_else(no_part)?;
        if matches!(p.body, PartType::Multipart(_)) {
            return Err(no_part());
        }
        let mut r = Response::new(super::full(p.contents().to_vec()));
        let ct = content_type(p);
        let ct = if ct.starts_with("text/") {
            format!("{ct}; charset=utf-8")
        } else {
            ct
        };
        if let Ok(v) = HeaderValue::from_str(&ct) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        if let Some(name) = p.attachment_name() {
            let safe: String = name
                .chars()
                .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
                .collect();
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
        }
        Ok(r)
    })
    .await
}

/// `DELETE /api/v1/messages/{id}`.
pub async fn delete(shared: &Arc<Shared>, id: &str) -> ApiResult {
    let store = shared.store.clone();
    let id = id.to_owned();
    blocking(move || {
        let (loc, _) = resolve(&store, &id)?;
        let removed = store
            .delete_messages(&loc.account, &loc.mailbox, &UidSet::from([loc.uid]))
            .map_err(ApiError::internal)?;
        if removed.is_empty() {
            return Err(ApiError::not_found(format!("no message {id}")));
        }
        Ok(no_content())
    })
    .await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    seen: Option<bool>,
    flagged: Option<bool>,
    mailbox: Option<String>,
}

/// `PATCH /api/v1/messages/{id}` with `{"seen","flagged","mailbox"}`:
/// flags, then a move (an extension for the web UI). Answers the message's
/// id (new after a move) and flags.
pub async fn patch(
    shared: &Arc<Shared>,
    id: &str,
    req: hyper::Request<hyper::body::Incoming>,
) -> ApiResult {
    let body = super::read_body(shared, req, 64 * 1024).await?;
    let patch: Patch = super::parse_json(&body)?;
    let store = shared.store.clone();
    let id = id.to_owned();
    blocking(move || {
        let (loc, _) = resolve(&store, &id)?;
        let uids = UidSet::from([loc.uid]);
        for (want, flag) in [
            (patch.seen, maildir::Flags::SEEN),
            (patch.flagged, maildir::Flags::FLAGGED),
        ] {
            if let Some(on) = want {
                let op = if on {
                    maildir::FlagOp::Add
                } else {
                    maildir::FlagOp::Remove
                };
                store
                    .store_flags(
                        &loc.account,
                        &loc.mailbox,
                        &uids,
                        &maildir::FlagChange::flags(op, flag),
                    )
                    .map_err(ApiError::internal)?;
            }
        }
        let mut loc = loc;
        if let Some(to) = patch.mailbox.filter(|m| *m != loc.mailbox) {
            let moved = match store.move_messages(&loc.account, &loc.mailbox, &uids, &to) {
                Ok(m) => m,
                Err(e) if gone(&e) || matches!(e, StoreError::InvalidMailbox(_)) => {
                    return Err(ApiError::not_found(format!("no mailbox {to}")));
                }
                Err(e) => return Err(ApiError::internal(e)),
            };
            let new_uid = moved.dest_uids.first().copied();
            let Some(new_uid) = new_uid else {
                return Err(ApiError::not_found(format!("no message {id}")));
            };
            loc = Location {
                account: loc.account,
                mailbox: to,
                uidvalidity: moved.uidvalidity,
                uid: new_uid,
            };
        }
        let info = store
            .message(&loc.account, &loc.mailbox, loc.uid)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found(format!("no message {id}")))?;
        Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({
                "id": loc.id(),
                "flags": flag_names(info.flags, &info.keywords),
            }),
        ))
    })
    .await
}

/// `GET /api/v1/messages/{id}/html[?remote=1]`: the HTML part as its own
/// document under a sandbox Content-Security-Policy (nothing runs, nothing
/// remote loads unless `remote=1`, no form is submitted).
pub async fn html(shared: &Arc<Shared>, id: &str, query: &Query) -> ApiResult {
    let remote = query.get("remote") == Some("1");
    let store = shared.store.clone();
    let id = id.to_owned();
    blocking(move || {
        let (_, _, raw) = resolve_and_read(&store, &id)?;
        let msg = crate::message::parse(&raw)
            .ok_or_else(|| ApiError::not_found(format!("no HTML part in {id}")))?;
        let (_, html) = bodies(&msg);
        let html = html.ok_or_else(|| ApiError::not_found(format!("no HTML part in {id}")))?;
        let mut r = hyper::Response::new(super::full(super::ui::framed_html(&html)));
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(
            "content-security-policy",
            HeaderValue::from_static(super::ui::message_csp(remote)),
        );
        h.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        Ok(r)
    })
    .await
}
