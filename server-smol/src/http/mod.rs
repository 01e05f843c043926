//! The HTTP listener (docs/DESIGN.md §5.5): HTTP/1.1 on smol through hyper and
//! `smol-hyper`, serving `/healthz`, `/metrics`, `/openapi.json` and the
//! JSON API under `/api/v1`. `/` stays free for the web UI.
//!
//! Per connection the limits are: the request head (request line and
//! headers) at most [`MAX_HEAD_BYTES`] and [`MAX_HEADERS`] fields, read
//! within `[http] header_timeout_ms` (slowloris); a request body at most
//! `[limits] max_message_size` (413 beyond, checked against Content-Length
//! first and while reading), read within `[http] body_timeout_ms`. An idle
//! keep-alive connection is closed by the same header timeout. A message
//! injected with `POST /api/v1/messages` streams into the store a few
//! chunks at a time; the other bodies (JSON, `/api/v1/send`) are read
//! whole, so memory per connection is the head buffer plus at most one
//! `max_message_size` body for `/api/v1/send` (64 KiB for user JSON).
//!
//! Routes are one table ([`routes::ROUTES`]); the dispatcher and the
//! OpenAPI document ([`openapi`]) are both built from it, so the document
//! lists exactly what is served.

pub mod events;
pub mod inject;
pub mod message;
pub mod messages;
pub mod openapi;
mod queue;
pub mod routes;
pub mod token;
pub mod ui;
mod users;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_lite::FutureExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde::Serialize;
use smol_hyper::rt::{FuturesIo, SmolTimer};

use crate::config::HttpAuth;
use crate::net::TcpStream;
use crate::shared::Shared;
use routes::{Op, RouteMatch};

/// The largest request head (request line + header fields) hyper buffers.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most header fields a request may carry (hyper answers 431 beyond).
pub const MAX_HEADERS: usize = 100;
/// How long a graceful shutdown waits for a request in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A response body: small JSON or text in one piece, or a stream (raw
/// message bytes, Server-Sent Events).
pub type Body = UnsyncBoxBody<Bytes, io::Error>;

/// An API error: a status and the `{"error": "..."}` text.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status (4xx or 5xx).
    pub status: StatusCode,
    /// The message for `{"error"}`.
    pub message: String,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 500 for a storage failure (logged; the text names no path).
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::warn!("http: storage error: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage error, try again later",
        )
    }

    fn into_response(self) -> Response<Body> {
        json_response(self.status, &serde_json::json!({ "error": self.message }))
    }
}

/// What a handler returns.
pub type ApiResult = Result<Response<Body>, ApiError>;

/// A body of bytes in one piece.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// `status` with a JSON body.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = Response::new(full(bytes));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// 204 No Content.
pub fn no_content() -> Response<Body> {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// A text response.
pub fn text_response(
    status: StatusCode,
    content_type: &'static str,
    text: String,
) -> Response<Body> {
    let mut r = Response::new(full(text));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Serves one accepted HTTP connection until the client closes it, a limit
/// closes it, or the server shuts down.
pub(crate) async fn serve_connection(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr) {
    let http = &shared.config.http;
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(SmolTimer::new())
        .header_read_timeout(Some(Duration::from_millis(http.header_timeout_ms)))
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    let service_shared = shared.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let shared = service_shared.clone();
        async move { Ok::<_, Infallible>(handle(shared, req, peer).await) }
    });
    let mut conn = pin!(builder.serve_connection(FuturesIo::new(tcp), service));
    let shutdown = shared.pump.shutdown.clone();
    let stopped = async {
        if let Err(e) = conn.as_mut().await {
            tracing::debug!(%peer, "http: connection ended: {e}");
        }
        false
    }
    .or(async {
        let _ = shutdown.recv().await;
        true
    })
    .await;
    if stopped {
        conn.as_mut().graceful_shutdown();
        let _ = async {
            let _ = conn.as_mut().await;
        }
        .or(async {
            async_io::Timer::after(SHUTDOWN_GRACE).await;
        })
        .await;
    }
}

/// Routes one request and turns every error into `{"error"}` JSON.
async fn handle(shared: Arc<Shared>, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let path = req.uri().path().to_owned();
    if ui::is_ui_path(&path) {
        return ui::handle(&shared, req, peer).await;
    }
    let route = match routes::find(req.method(), &path) {
        RouteMatch::Found(route, params) => (route, params),
        RouteMatch::MethodNotAllowed(allowed) => {
            let mut r =
                ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response();
            if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            return r;
        }
        RouteMatch::NotFound => return ApiError::not_found("not found").into_response(),
    };
    let (route, params) = route;
    let mut principal = ui::Principal::Admin;
    if route.auth {
        // A web UI session (cookie + CSRF token), else the bearer token.
        let decided = match ui::authorize(&shared, &req) {
            Ok(Some(p)) => Ok(p),
            Ok(None) => authorize(&shared, &req).map(|()| ui::Principal::Admin),
            Err(e) => Err(e),
        };
        match decided {
            Ok(p) => principal = p,
            Err(e) => {
                let unauthorized = e.status == StatusCode::UNAUTHORIZED;
                let mut r = e.into_response();
                if unauthorized {
                    r.headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                }
                return r;
            }
        }
    }
    tracing::debug!(%peer, method = %req.method(), %path, "http request");
    let query = routes::Query::parse(req.uri().query().unwrap_or(""));
    let (op, query) = match scope(&principal, route.op, &params, query) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let result = dispatch(&shared, op, params, query, req).await;
    result.unwrap_or_else(ApiError::into_response)
}

/// What a web UI session of one account may do: its own messages and
/// mailboxes only (other ids are 404, as if they did not exist); users,
/// the queue, injection and sending belong to the administrator.
fn scope(
    principal: &ui::Principal,
    op: Op,
    params: &[String],
    query: routes::Query,
) -> Result<(Op, routes::Query), ApiError> {
    let ui::Principal::User(own) = principal else {
        return Ok((op, query));
    };
    let forbidden = || ApiError::new(StatusCode::FORBIDDEN, "not allowed for this account");
    match op {
        Op::ListMessages | Op::Events | Op::PurgeMessages | Op::ListMailboxes => {
            match query.get("user") {
                Some(u) if !u.eq_ignore_ascii_case(own) => Err(forbidden()),
                _ => {
                    let q = query.with("user", own);
                    Ok((op, q))
                }
            }
        }
        Op::GetMessage
        | Op::DeleteMessage
        | Op::RawMessage
        | Op::MessagePart
        | Op::MessageHtml
        | Op::PatchMessage => {
            let id = params.first().map(String::as_str).unwrap_or("");
            match messages::Location::parse(id) {
                Some(loc) if loc.account.eq_ignore_ascii_case(own) => Ok((op, query)),
                _ => Err(ApiError::not_found(format!("no message {id}"))),
            }
        }
        Op::ListUsers => Ok((op, query.with("only", own))),
        Op::Healthz | Op::Metrics | Op::OpenApi => Ok((op, query)),
        _ => Err(forbidden()),
    }
}

/// Makes a raw message or a decoded part safe to open in a browser: never
/// sniffed, never run (a sandbox CSP: an SVG or HTML attachment opened
/// directly executes nothing), and saved rather than shown when asked.
fn download(mut r: Response<Body>, attachment: bool, default_name: &str) -> Response<Body> {
    let h = r.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    if attachment
        && !h.contains_key(header::CONTENT_DISPOSITION)
        && let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{default_name}\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// `Authorization: Bearer <token>` when `[http] auth = "token"`.
fn authorize(shared: &Shared, req: &Request<Incoming>) -> Result<(), ApiError> {
    if shared.config.http.auth == HttpAuth::None {
        return Ok(());
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    match (given, shared.api_token.as_deref()) {
        (Some(given), Some(expected)) if token::matches(given, expected) => Ok(()),
        (None, _) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing API token (Authorization: Bearer <token>)",
        )),
        _ => Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong API token")),
    }
}

/// Reads a request body of at most `limit` bytes within the body timeout:
/// 413 beyond the limit (from Content-Length before reading, or while
/// reading), 408 when the client is too slow.
pub async fn read_body(
    shared: &Shared,
    req: Request<Incoming>,
    limit: u64,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {limit} bytes"),
        )
    };
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limit
    {
        return Err(too_large());
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let timeout = Duration::from_millis(shared.config.http.body_timeout_ms);
    let collect = async { Some(Limited::new(req.into_body(), limit).collect().await) };
    let timer = async {
        async_io::Timer::after(timeout).await;
        None
    };
    match collect.or(timer).await {
        Some(Ok(collected)) => Ok(collected.to_bytes()),
        Some(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Some(Err(e)) => Err(ApiError::bad_request(format!(
            "cannot read the request body: {e}"
        ))),
        None => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request body not received in time",
        )),
    }
}

/// Parses a JSON request body: 400 with `{"error"}` when malformed.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))
}

/// Runs blocking store work off the executor threads.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    blocking::unblock(f).await
}

async fn dispatch(
    shared: &Arc<Shared>,
    op: Op,
    params: Vec<String>,
    query: routes::Query,
    req: Request<Incoming>,
) -> ApiResult {
    let param = |i: usize| params.get(i).cloned().unwrap_or_default();
    match op {
        Op::Healthz => Ok(text_response(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "ok".into(),
        )),
        Op::Metrics => Ok(text_response(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            shared.metrics.encode(),
        )),
        Op::OpenApi => Ok(json_response(StatusCode::OK, &openapi::document())),
        Op::ListMessages => messages::list(shared, &query).await,
        Op::InjectMessage => inject::post_message(shared, &query, req).await,
        Op::PurgeMessages => messages::purge(shared, &query).await,
        Op::GetMessage => message::detail(shared, &param(0)).await,
        Op::DeleteMessage => message::delete(shared, &param(0)).await,
        Op::RawMessage => message::raw(shared, &param(0))
            .await
            .map(|r| download(r, query.get("download").is_some(), "message.eml")),
        Op::MessagePart => message::part(shared, &param(0), &param(1))
            .await
            .map(|r| download(r, true, "attachment")),
        Op::Send => inject::send(shared, &query, req).await,
        Op::ListUsers => users::list(shared, query.get("only")).await,
        Op::CreateUser => users::create(shared, req).await,
        Op::DeleteUser => users::delete(shared, &param(0)).await,
        Op::Reset => users::reset(shared).await,
        Op::ListQueue => queue::list(shared).await,
        Op::RetryQueue => queue::retry(shared, &param(0)).await,
        Op::DeleteQueue => queue::delete(shared, &param(0)).await,
        Op::Events => events::stream(shared, &query).await,
        Op::ListMailboxes => messages::mailboxes(shared, &query).await,
        Op::PatchMessage => message::patch(shared, &param(0), req).await,
        Op::MessageHtml => message::html(shared, &param(0), &query).await,
    }
}
