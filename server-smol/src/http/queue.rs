//! `GET /api/v1/queue`, `POST /api/v1/queue/{id}/retry`, `DELETE
//! /api/v1/queue/{id}` (DESIGN.md §5.5): the real outbound queue, ids as
//! `sansmail queue list` prints them.

use std::sync::Arc;

use hyper::StatusCode;
use maildir::QueueId;

use super::{ApiError, ApiResult, blocking, json_response, no_content};
use crate::outbound::queue_cli::rfc3339;
use crate::shared::Shared;

/// `GET /api/v1/queue` → `{"queue":[{"id","from","recipients":[...]}]}`.
pub async fn list(shared: &Arc<Shared>) -> ApiResult {
    let store = shared.store.clone();
    let list = blocking(move || store.queue_list())
        .await
        .map_err(ApiError::internal)?;
    let queue: Vec<serde_json::Value> = list
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": m.id.to_string(),
                "from": m.sender.clone().unwrap_or_default(),
                "recipients": m.recipients.iter().map(|r| serde_json::json!({
                    "address": r.address,
                    "state": r.state.as_str(),
                    "attempts": r.attempts,
                    "next_attempt": rfc3339(r.next_attempt),
                    "last_error": r.last_error,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "queue": queue }),
    ))
}

fn parse(id: &str) -> Result<QueueId, ApiError> {
    id.parse()
        .map_err(|_| ApiError::not_found(format!("no queue entry {id}")))
}

/// `POST /api/v1/queue/{id}/retry` → 204; the worker is woken.
pub async fn retry(shared: &Arc<Shared>, id: &str) -> ApiResult {
    let qid = parse(id)?;
    let store = shared.store.clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let found = blocking(move || {
        if store.queue_message(qid)?.is_none() {
            return Ok(false);
        }
        store.queue_retry(Some(qid), now).map(|_| true)
    })
    .await
    .map_err(ApiError::internal)?;
    if !found {
        return Err(ApiError::not_found(format!("no queue entry {id}")));
    }
    shared.pipeline.wake_queue();
    Ok(no_content())
}

/// `DELETE /api/v1/queue/{id}` → 204 (no DSN).
pub async fn delete(shared: &Arc<Shared>, id: &str) -> ApiResult {
    let qid = parse(id)?;
    let store = shared.store.clone();
    let found = blocking(move || store.queue_delete(qid))
        .await
        .map_err(ApiError::internal)?;
    if !found {
        return Err(ApiError::not_found(format!("no queue entry {id}")));
    }
    Ok(no_content())
}
