//! Accounts over the API (`/api/v1/users`) and `POST /api/v1/reset`.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use maildir::AccountError;
use serde::Deserialize;

use super::{ApiError, ApiResult, blocking, json_response, no_content, parse_json, read_body};
use crate::shared::Shared;

/// The largest body `POST /api/v1/users` reads.
const MAX_USER_BODY: u64 = 64 * 1024;

/// `GET /api/v1/users`.
pub(super) async fn list(shared: &Arc<Shared>, only: Option<&str>) -> ApiResult {
    let store = shared.store.clone();
    let users = blocking(move || store.list_users())
        .await
        .map_err(ApiError::internal)?;
    let users: Vec<_> = users
        .into_iter()
        .filter(|u| only.is_none_or(|o| u.eq_ignore_ascii_case(o)))
        .map(|address| serde_json::json!({ "address": address }))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "users": users }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    address: String,
    password: String,
}

/// `POST /api/v1/users` with `{"address","password"}`.
pub(super) async fn create(shared: &Arc<Shared>, req: Request<Incoming>) -> ApiResult {
    let body = read_body(shared, req, MAX_USER_BODY).await?;
    let user: NewUser = parse_json(&body)?;
    if user.password.is_empty() || user.password.contains(['\r', '\n', '\0']) {
        return Err(ApiError::bad_request(
            "the password must be non-empty, without CR, LF or NUL",
        ));
    }
    let store = shared.store.clone();
    let address = user.address.clone();
    match blocking(move || store.add_user(&user.address, &user.password)).await {
        Ok(()) => Ok(json_response(
            StatusCode::CREATED,
            &serde_json::json!({ "address": address }),
        )),
        Err(AccountError::AlreadyExists) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("account {address} already exists"),
        )),
        Err(AccountError::InvalidAddress(why)) => {
            Err(ApiError::bad_request(format!("invalid address: {why}")))
        }
        Err(AccountError::InvalidPassword(why)) => {
            Err(ApiError::bad_request(format!("unusable password: {why}")))
        }
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// `DELETE /api/v1/users/{address}`.
pub(super) async fn delete(shared: &Arc<Shared>, address: &str) -> ApiResult {
    let store = shared.store.clone();
    let a = address.to_owned();
    match blocking(move || store.delete_user(&a)).await {
        Ok(()) => {
            // Its IMAP/POP3/SMTP sessions and web UI sessions end now.
            shared.auth.account_changed(address);
            shared.ui_sessions.account_changed(address);
            Ok(no_content())
        }
        Err(AccountError::NotFound | AccountError::InvalidAddress(_)) => {
            Err(ApiError::not_found(format!("no account {address}")))
        }
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// `POST /api/v1/reset`: every account deleted, then the fixtures loaded.
pub(super) async fn reset(shared: &Arc<Shared>) -> ApiResult {
    let before = {
        let store = shared.store.clone();
        blocking(move || store.list_users())
            .await
            .unwrap_or_default()
    };
    for address in &before {
        shared.auth.account_changed(address);
        shared.ui_sessions.account_changed(address);
    }
    let s = shared.clone();
    blocking(move || crate::testing::reset(&s.store, &s.config, &s.metrics))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    Ok(no_content())
}
