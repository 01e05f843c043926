//! The web UI (docs/DESIGN.md §5.5): static assets embedded in the binary
//! (`index.html`, `app.js`, `app.css`: plain JavaScript, no build step, no
//! CDN), login sessions, CSRF protection, and the few API extensions the UI
//! needs (`GET /api/v1/mailboxes`, `PATCH /api/v1/messages/{id}`,
//! `GET /api/v1/messages/{id}/html`).
//!
//! Security choices, as Mailpit and Roundcube make them:
//! - An account logs in with its address and password through the same
//!   [`Authenticator`](crate::auth::Authenticator) as IMAP (penalty, fair
//!   queue, cache); the API token logs in as administrator (every account).
//!   With `[http] auth = "none"` no login is needed and every account is
//!   shown (a test rig).
//! - The session cookie `sansmail_session` is random (256 bits),
//!   `HttpOnly; SameSite=Strict; Path=/` (and `Secure` behind TLS), expires
//!   after [`SESSION_TTL`] and on logout.
//! - Every state-changing request made with the cookie needs the session's
//!   CSRF token in `X-CSRF-Token` (or the form field `csrf_token`): 403
//!   otherwise. Bearer-token requests need none (no ambient authority).
//! - A logged-in account sees only its own messages (other ids are 404) and
//!   may not manage users, the queue or inject.
//! - Pages carry a strict Content-Security-Policy (no inline script, no
//!   remote anything, no framing). Message HTML is served on its own URL
//!   with `Content-Security-Policy: sandbox ...; default-src 'none'` (no
//!   script, no remote images or fonts unless `?remote=1`, no forms) and is
//!   shown only in an `<iframe sandbox>` without `allow-scripts`; links
//!   open in a new tab (`<base target="_blank">`, noopener by default).
//!   Parts and raw downloads are `attachment` with `nosniff` and a sandbox
//!   CSP, so an SVG opened directly cannot run its script.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;

use super::{ApiError, ApiResult, Body, full, json_response, parse_json, read_body};
use crate::config::HttpAuth;
use crate::shared::Shared;
pub(crate) mod sessions;
pub use sessions::{Principal, SESSION_TTL};

const INDEX_HTML: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const APP_CSS: &str = include_str!("app.css");

/// The session cookie's name.
pub const COOKIE: &str = "sansmail_session";
/// The Content-Security-Policy of the UI's own pages.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn cookie_value(req: &Request<Incoming>) -> Option<String> {
    for v in req.headers().get_all(header::COOKIE) {
        let Ok(text) = v.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && k == COOKIE
            {
                return Some(v.to_owned());
            }
        }
    }
    None
}

/// The principal of a request under `/api/`, or the error to answer.
/// `Ok(None)` means: no credentials at all (the caller answers 401).
pub fn authorize(shared: &Shared, req: &Request<Incoming>) -> Result<Option<Principal>, ApiError> {
    if shared.config.http.auth == HttpAuth::None {
        return Ok(Some(Principal::Admin));
    }
    if req.headers().contains_key(header::AUTHORIZATION) {
        return Ok(None); // the bearer check decides
    }
    let Some(id) = cookie_value(req) else {
        return Ok(None);
    };
    let Some(session) = shared.ui_sessions.get(&id) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session expired, log in again",
        ));
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let given = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if given.is_none_or(|g| !super::token::matches(g, &session.csrf)) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "missing or wrong CSRF token",
            ));
        }
    }
    Ok(Some(session.principal))
}

/// Whether `path` belongs to the UI (served without the API token).
pub fn is_ui_path(path: &str) -> bool {
    path == "/" || path == "/index.html" || path.starts_with("/ui/")
}

fn asset(content_type: &'static str, body: &'static str) -> Response<Body> {
    let mut r = Response::new(full(Bytes::from_static(body.as_bytes())));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure_headers(&mut r);
    r
}

fn secure_headers(r: &mut Response<Body>) {
    let h = r.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
}

/// Serves `/`, `/ui/app.js`, `/ui/app.css`, `/ui/session`, `/ui/login`,
/// `/ui/logout`.
pub async fn handle(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let result = match (method, path.as_str()) {
        (Method::GET | Method::HEAD, "/" | "/index.html") => {
            Ok(asset("text/html; charset=utf-8", INDEX_HTML))
        }
        (Method::GET | Method::HEAD, "/ui/app.js") => {
            Ok(asset("text/javascript; charset=utf-8", APP_JS))
        }
        (Method::GET | Method::HEAD, "/ui/app.css") => {
            Ok(asset("text/css; charset=utf-8", APP_CSS))
        }
        (Method::GET, "/ui/session") => session_info(shared, &req),
        (Method::POST, "/ui/login") => login(shared, req, peer).await,
        (Method::POST, "/ui/logout") => logout(shared, req).await,
        (
            _,
            "/" | "/index.html" | "/ui/app.js" | "/ui/app.css" | "/ui/session" | "/ui/login"
            | "/ui/logout",
        ) => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        )),
        _ => Err(ApiError::not_found("not found")),
    };
    result.unwrap_or_else(|e| e.into_response())
}

fn session_json(shared: &Shared, principal: Option<&Principal>, csrf: &str) -> serde_json::Value {
    let auth = match shared.config.http.auth {
        HttpAuth::None => "none",
        HttpAuth::Token => "token",
    };
    match principal {
        Some(Principal::User(u)) => {
            serde_json::json!({ "user": u, "admin": false, "auth": auth, "csrf": csrf })
        }
        Some(Principal::Admin) => {
            serde_json::json!({ "user": null, "admin": true, "auth": auth, "csrf": csrf })
        }
        None => serde_json::json!({ "user": null, "admin": false, "auth": auth, "csrf": null }),
    }
}

fn session_info(shared: &Shared, req: &Request<Incoming>) -> ApiResult {
    if shared.config.http.auth == HttpAuth::None {
        return Ok(json_response(
            StatusCode::OK,
            &session_json(shared, Some(&Principal::Admin), ""),
        ));
    }
    let session = cookie_value(req).and_then(|id| shared.ui_sessions.get(&id));
    let mut r = json_response(
        StatusCode::OK,
        &match &session {
            Some(s) => session_json(shared, Some(&s.principal), &s.csrf),
            None => session_json(shared, None, ""),
        },
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Deserialize)]
struct LoginForm {
    address: Option<String>,
    password: Option<String>,
    token: Option<String>,
}

/// A login from another site (a form posted cross-origin) is refused: the
/// browser names the page's origin, and it must be ours.
fn same_origin(req: &Request<Incoming>) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true; // not a browser cross-site request
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

async fn login(shared: &Arc<Shared>, req: Request<Incoming>, peer: SocketAddr) -> ApiResult {
    // The listener itself speaks plain HTTP; behind a TLS-terminating proxy
    // the cookie must not travel in clear text again.
    let behind_tls = req
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    if !same_origin(&req) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-site login refused",
        ));
    }
    let form_encoded = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = read_body(shared, req, 64 * 1024).await?;
    let form: LoginForm = if form_encoded {
        let q = super::routes::Query::parse(&String::from_utf8_lossy(&body));
        LoginForm {
            address: q.get("address").map(str::to_owned),
            password: q.get("password").map(str::to_owned),
            token: q.get("token").map(str::to_owned).filter(|t| !t.is_empty()),
        }
    } else {
        parse_json(&body)?
    };
    let principal = if let Some(token) = form.token {
        match shared.api_token.as_deref() {
            Some(expected) if super::token::matches(&token, expected) => Some(Principal::Admin),
            _ => {
                shared.auth.refuse(&peer).await;
                None
            }
        }
    } else {
        match (form.address, form.password) {
            (Some(address), Some(password)) => shared
                .auth
                .login(&peer, &address, &password)
                .await
                .map(|_ticket| Principal::User(address.trim().to_owned())),
            _ => return Err(ApiError::bad_request("address and password are required")),
        }
    };
    let Some(principal) = principal else {
        tracing::info!(%peer, "http: web UI login failed");
        if form_encoded {
            return Ok(redirect("/?error=login"));
        }
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong address or password",
        ));
    };
    let Some((id, csrf)) = shared.ui_sessions.open(principal.clone()) else {
        tracing::error!("http: the OS random source failed; no web UI session opened");
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot open a session, try again later",
        ));
    };
    let user = match &principal {
        Principal::Admin => "admin (API token)",
        Principal::User(address) => address.as_str(),
    };
    tracing::info!(%peer, user, "http: web UI login");
    let mut r = if form_encoded {
        redirect("/")
    } else {
        json_response(
            StatusCode::OK,
            &session_json(shared, Some(&principal), &csrf),
        )
    };
    let secure = if behind_tls { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        SESSION_TTL.as_secs()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

fn redirect(to: &'static str) -> Response<Body> {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::SEE_OTHER;
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    r
}

/// The CSRF token of a request: the `X-CSRF-Token` header, or the
/// `csrf_token` field of a form-encoded body (DESIGN.md §5.7).
async fn csrf_of(shared: &Shared, req: Request<Incoming>) -> Option<String> {
    if let Some(v) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return Some(v.to_owned());
    }
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return None;
    }
    let body = read_body(shared, req, 64 * 1024).await.ok()?;
    super::routes::Query::parse(&String::from_utf8_lossy(&body))
        .get("csrf_token")
        .map(str::to_owned)
}

async fn logout(shared: &Shared, req: Request<Incoming>) -> ApiResult {
    let Some(id) = cookie_value(&req) else {
        return Ok(super::no_content());
    };
    let Some(session) = shared.ui_sessions.get(&id) else {
        return Ok(super::no_content());
    };
    let given = csrf_of(shared, req).await;
    if given.is_none_or(|g| !super::token::matches(&g, &session.csrf)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token",
        ));
    }
    shared.ui_sessions.close(&id);
    let mut r = super::no_content();
    let expired = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&expired) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// The Content-Security-Policy of a message's HTML part: nothing runs,
/// nothing remote loads (unless `remote`), no form goes anywhere.
pub fn message_csp(remote: bool) -> &'static str {
    if remote {
        "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; \
         img-src * data: cid:; font-src * data:; style-src * 'unsafe-inline'; \
         form-action 'none'; base-uri 'none'"
    } else {
        "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; \
         img-src data: cid:; font-src data:; style-src 'unsafe-inline'; \
         form-action 'none'; base-uri 'none'"
    }
}

/// Wraps a message's HTML so links open in a new browsing context.
pub fn framed_html(html: &str) -> String {
    format!(
        "<!doctype html><meta charset=\"utf-8\"><base target=\"_blank\">\
         <meta name=\"referrer\" content=\"no-referrer\">{html}"
    )
}
