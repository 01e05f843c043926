//! The route table: every path served, its method, whether it needs the
//! API token, and what the OpenAPI document says about it. The dispatcher
//! matches requests against [`ROUTES`] and [`super::openapi`] renders the
//! same table, so the document cannot drift from what is served.

use hyper::Method;

/// What a route does (one handler each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `GET /healthz`.
    Healthz,
    /// `GET /metrics`.
    Metrics,
    /// `GET /openapi.json`.
    OpenApi,
    /// `GET /api/v1/messages`.
    ListMessages,
    /// `POST /api/v1/messages`.
    InjectMessage,
    /// `DELETE /api/v1/messages`.
    PurgeMessages,
    /// `GET /api/v1/messages/{id}`.
    GetMessage,
    /// `DELETE /api/v1/messages/{id}`.
    DeleteMessage,
    /// `GET /api/v1/messages/{id}/raw`.
    RawMessage,
    /// `GET /api/v1/messages/{id}/parts/{part}`.
    MessagePart,
    /// `POST /api/v1/send`.
    Send,
    /// `GET /api/v1/users`.
    ListUsers,
    /// `POST /api/v1/users`.
    CreateUser,
    /// `DELETE /api/v1/users/{address}`.
    DeleteUser,
    /// `POST /api/v1/reset`.
    Reset,
    /// `GET /api/v1/queue`.
    ListQueue,
    /// `POST /api/v1/queue/{id}/retry`.
    RetryQueue,
    /// `DELETE /api/v1/queue/{id}`.
    DeleteQueue,
    /// `GET /api/v1/events`.
    Events,
    /// `GET /api/v1/mailboxes` (extension, for the web UI).
    ListMailboxes,
    /// `PATCH /api/v1/messages/{id}` (extension: flags, move).
    PatchMessage,
    /// `GET /api/v1/messages/{id}/html` (extension: the HTML part, sandboxed).
    MessageHtml,
}

/// One query parameter as documented.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// `string` or `integer`.
    pub kind: &'static str,
    /// What it does.
    pub description: &'static str,
}

/// One route.
#[derive(Clone, Debug)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path; `{name}` segments are parameters.
    pub path: &'static str,
    /// The handler.
    pub op: Op,
    /// Whether `[http] auth = "token"` applies (everything under `/api/`).
    pub auth: bool,
    /// OpenAPI `operationId`.
    pub operation_id: &'static str,
    /// OpenAPI `summary`.
    pub summary: &'static str,
    /// Query parameters.
    pub query: &'static [Param],
    /// Request body media type, if any.
    pub body: Option<&'static str>,
    /// Documented responses: (status, media type or "" for none, description).
    pub responses: &'static [(u16, &'static str, &'static str)],
}

const JSON: &str = "application/json";

const fn p(name: &'static str, kind: &'static str, description: &'static str) -> Param {
    Param {
        name,
        kind,
        description,
    }
}

const LIST_QUERY: &[Param] = &[
    p("user", "string", "Only this account"),
    p("mailbox", "string", "Only this mailbox (default: all)"),
    p(
        "to",
        "string",
        "Case-insensitive substring of a To/Cc address",
    ),
    p(
        "from",
        "string",
        "Case-insensitive substring of the From address",
    ),
    p(
        "subject",
        "string",
        "Case-insensitive substring of the Subject",
    ),
    p(
        "limit",
        "integer",
        "At most this many messages (default 50)",
    ),
    p(
        "wait",
        "integer",
        "Hold the request up to this many seconds until `count` messages match",
    ),
    p(
        "count",
        "integer",
        "How many matches end a wait (default 1)",
    ),
];

const NOT_FOUND: (u16, &str, &str) = (404, JSON, "Unknown id");
const UNAUTHORIZED: (u16, &str, &str) = (401, JSON, "Missing or wrong API token");

/// Every route served.
pub const ROUTES: &[Route] = &[
    Route {
        method: Method::GET,
        path: "/healthz",
        op: Op::Healthz,
        auth: false,
        operation_id: "healthz",
        summary: "Liveness check: `ok`",
        query: &[],
        body: None,
        responses: &[(200, "text/plain", "The server is up")],
    },
    Route {
        method: Method::GET,
        path: "/metrics",
        op: Op::Metrics,
        auth: false,
        operation_id: "metrics",
        summary: "Prometheus metrics in the text format",
        query: &[],
        body: None,
        responses: &[(200, "application/openmetrics-text", "The metrics")],
    },
    Route {
        method: Method::GET,
        path: "/openapi.json",
        op: Op::OpenApi,
        auth: false,
        operation_id: "openapi",
        summary: "This OpenAPI 3 document",
        query: &[],
        body: None,
        responses: &[(200, JSON, "The document")],
    },
    Route {
        method: Method::GET,
        path: "/api/v1/messages",
        op: Op::ListMessages,
        auth: true,
        operation_id: "listMessages",
        summary: "Message summaries, newest first; `wait` long-polls",
        query: LIST_QUERY,
        body: None,
        responses: &[
            (200, JSON, "`{\"messages\":[...],\"total\":N}`"),
            (400, JSON, "A malformed parameter"),
            UNAUTHORIZED,
        ],
    },
    Route {
        method: Method::POST,
        path: "/api/v1/messages",
        op: Op::InjectMessage,
        auth: true,
        operation_id: "injectMessage",
        summary: "Store a raw RFC 5322 message byte-exact",
        query: &[
            p("user", "string", "The account (required)"),
            p("mailbox", "string", "The mailbox (default INBOX)"),
            p(
                "from",
                "string",
                "The sender `[[rules]]` see (default: the null sender)",
            ),
        ],
        body: Some("message/rfc822"),
        responses: &[
            (201, JSON, "`{\"id\"}`"),
            (
                202,
                JSON,
                "A discard or bounce rule took it: `{\"id\":null,\"discarded\":true}`",
            ),
            (400, JSON, "No user or an empty body"),
            (404, JSON, "Unknown user or mailbox"),
            (413, JSON, "Larger than [limits] max_message_size"),
            (422, JSON, "A reject rule refused it (the rule's 5xx reply)"),
            (
                503,
                JSON,
                "A tempfail rule refused it (the rule's 4xx reply)",
            ),
            UNAUTHORIZED,
        ],
    },
    Route {
        method: Method::DELETE,
        path: "/api/v1/messages",
        op: Op::PurgeMessages,
        auth: true,
        operation_id: "purgeMessages",
        summary: "Delete every message (of `user` only, if given)",
        query: &[p("user", "string", "Only this account")],
        body: None,
        responses: &[(204, "", "Purged"), UNAUTHORIZED],
    },
    Route {
        method: Method::GET,
        path: "/api/v1/messages/{id}",
        op: Op::GetMessage,
        auth: true,
        operation_id: "getMessage",
        summary: "Summary plus headers, text, html and attachments",
        query: &[],
        body: None,
        responses: &[(200, JSON, "The message"), NOT_FOUND, UNAUTHORIZED],
    },
    Route {
        method: Method::DELETE,
        path: "/api/v1/messages/{id}",
        op: Op::DeleteMessage,
        auth: true,
        operation_id: "deleteMessage",
        summary: "Delete one message",
        query: &[],
        body: None,
        responses: &[(204, "", "Deleted"), NOT_FOUND, UNAUTHORIZED],
    },
    Route {
        method: Method::GET,
        path: "/api/v1/messages/{id}/raw",
        op: Op::RawMessage,
        auth: true,
        operation_id: "rawMessage",
        summary: "The exact stored bytes",
        query: &[],
        body: None,
        responses: &[
            (200, "message/rfc822", "The message"),
            NOT_FOUND,
            UNAUTHORIZED,
        ],
    },
    Route {
        method: Method::GET,
        path: "/api/v1/messages/{id}/parts/{part}",
        op: Op::MessagePart,
        auth: true,
        operation_id: "messagePart",
        summary: "One MIME part, transfer-decoded, with its Content-Type",
        query: &[],
        body: None,
        responses: &[
            (200, "application/octet-stream", "The decoded part"),
            NOT_FOUND,
            UNAUTHORIZED,
        ],
    },
    Route {
        method: Method::POST,
        path: "/api/v1/send",
        op: Op::Send,
        auth: true,
        operation_id: "send",
        summary: "Send like submission: JSON {from,to,cc,subject,text,html} or a raw message with ?from=&to=",
        query: &[
            p("from", "string", "Envelope sender of a raw message"),
            p(
                "to",
                "string",
                "Comma-separated recipients of a raw message",
            ),
        ],
        body: Some(JSON),
        responses: &[
            (202, JSON, "`{\"id\"}`"),
            (400, JSON, "Malformed JSON or no recipient"),
            (413, JSON, "Larger than [limits] max_message_size"),
            UNAUTHORIZED,
        ],
    },
    Route {
        method: Method::GET,
        path: "/api/v1/users",
        op: Op::ListUsers,
        auth: true,
        operation_id: "listUsers",
        summary: "Every account",
        query: &[],
        body: None,
        responses: &[(200, JSON, "`{\"users\":[{\"address\"}]}`"), UNAUTHORIZED],
    },
    Route {
        method: Method::POST,
        path: "/api/v1/users",
        op: Op::CreateUser,
        auth: true,
        operation_id: "createUser",
        summary: "Create an account from {address,password}",
        query: &[],
        body: Some(JSON),
        responses: &[
            (201, JSON, "`{\"address\"}`"),
            (400, JSON, "Malformed JSON, address or password"),
            (409, JSON, "The account exists"),
            UNAUTHORIZED,
        ],
    },
    Route {
        method: Method::DELETE,
        path: "/api/v1/users/{address}",
        op: Op::DeleteUser,
        auth: true,
        operation_id: "deleteUser",
        summary: "Delete an account and its mail",
        query: &[],
        body: None,
        responses: &[
            (204, "", "Deleted"),
            (404, JSON, "Unknown account"),
            UNAUTHORIZED,
        ],
    },
    Route {
        method: Method::POST,
        path: "/api/v1/reset",
        op: Op::Reset,
        auth: true,
        operation_id: "reset",
        summary: "Delete every account, then load [testing] fixtures again",
        query: &[],
        body: None,
        responses: &[(204, "", "Reset"), UNAUTHORIZED],
    },
    Route {
        method: Method::GET,
        path: "/api/v1/queue",
        op: Op::ListQueue,
        auth: true,
        operation_id: "listQueue",
        summary: "The outbound queue",
        query: &[],
        body: None,
        responses: &[(200, JSON, "`{\"queue\":[...]}`"), UNAUTHORIZED],
    },
    Route {
        method: Method::POST,
        path: "/api/v1/queue/{id}/retry",
        op: Op::RetryQueue,
        auth: true,
        operation_id: "retryQueue",
        summary: "Retry a queued message now",
        query: &[],
        body: None,
        responses: &[(204, "", "Scheduled"), NOT_FOUND, UNAUTHORIZED],
    },
    Route {
        method: Method::DELETE,
        path: "/api/v1/queue/{id}",
        op: Op::DeleteQueue,
        auth: true,
        operation_id: "deleteQueue",
        summary: "Drop a queued message",
        query: &[],
        body: None,
        responses: &[(204, "", "Dropped"), NOT_FOUND, UNAUTHORIZED],
    },
    Route {
        method: Method::GET,
        path: "/api/v1/events",
        op: Op::Events,
        auth: true,
        operation_id: "events",
        summary: "Server-Sent Events: `event: message` with the summary for every stored message",
        query: &[p("user", "string", "Only this account")],
        body: None,
        responses: &[(200, "text/event-stream", "The event stream"), UNAUTHORIZED],
    },
    Route {
        method: Method::GET,
        path: "/api/v1/mailboxes",
        op: Op::ListMailboxes,
        auth: true,
        operation_id: "listMailboxes",
        summary: "An account's mailboxes with message and unseen counts (extension)",
        query: &[p("user", "string", "The account (required)")],
        body: None,
        responses: &[
            (
                200,
                JSON,
                "`{\"mailboxes\":[{\"name\",\"special_use\",\"total\",\"unseen\"}]}`",
            ),
            (400, JSON, "No user given"),
            UNAUTHORIZED,
            NOT_FOUND,
        ],
    },
    Route {
        method: Method::PATCH,
        path: "/api/v1/messages/{id}",
        op: Op::PatchMessage,
        auth: true,
        operation_id: "patchMessage",
        summary: "Set `seen`/`flagged` and/or move to `mailbox` (extension)",
        query: &[],
        body: Some(JSON),
        responses: &[
            (200, JSON, "The new `{\"id\",\"flags\"}`"),
            (400, JSON, "Malformed JSON"),
            UNAUTHORIZED,
            NOT_FOUND,
        ],
    },
    Route {
        method: Method::GET,
        path: "/api/v1/messages/{id}/html",
        op: Op::MessageHtml,
        auth: true,
        operation_id: "messageHtml",
        summary: "The HTML part, served sandboxed with a strict Content-Security-Policy (extension)",
        query: &[p("remote", "integer", "1: allow remote images and fonts")],
        body: None,
        responses: &[(200, "text/html", "The HTML part"), UNAUTHORIZED, NOT_FOUND],
    },
];

/// The outcome of matching a request.
#[derive(Debug)]
pub enum RouteMatch {
    /// A route and its decoded path parameters, in order.
    Found(&'static Route, Vec<String>),
    /// The path exists for these other methods.
    MethodNotAllowed(Vec<&'static str>),
    /// No such path.
    NotFound,
}

/// Matches `path` against `pattern`; the decoded `{param}` segments.
fn match_path(pattern: &str, path: &str) -> Option<Vec<String>> {
    let mut params = Vec::new();
    let mut pat = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (pat.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(g)) if p.starts_with('{') => {
                if g.is_empty() {
                    return None;
                }
                params.push(percent_decode(g)?);
            }
            (Some(p), Some(g)) if p == g => {}
            _ => return None,
        }
    }
}

/// Finds the route for a request.
#[must_use]
pub fn find(method: &Method, path: &str) -> RouteMatch {
    let mut allowed = Vec::new();
    // RFC 9110 §9.3.2: HEAD is GET without the body (hyper drops it).
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    for route in ROUTES {
        if let Some(params) = match_path(route.path, path) {
            if route.method == *method {
                return RouteMatch::Found(route, params);
            }
            allowed.push(route.method.as_str());
        }
    }
    if allowed.is_empty() {
        RouteMatch::NotFound
    } else {
        RouteMatch::MethodNotAllowed(allowed)
    }
}

/// RFC 3986 §2.1 percent-decoding (and `+` as space in queries, where
/// `plus` is set). `None` for invalid escapes or non-UTF-8 results.
fn decode(text: &str, plus: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-decodes a path segment.
#[must_use]
pub fn percent_decode(text: &str) -> Option<String> {
    decode(text, false)
}

/// The decoded query string (`application/x-www-form-urlencoded`).
#[derive(Debug, Default, Clone)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// The query with `name` set to `value` (replacing any earlier value).
    #[must_use]
    pub fn with(mut self, name: &str, value: &str) -> Query {
        self.pairs.retain(|(k, _)| k != name);
        self.pairs.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Parses `a=1&b=x%40y`; undecodable pairs are dropped.
    #[must_use]
    pub fn parse(text: &str) -> Query {
        let pairs = text
            .split('&')
            .filter(|p| !p.is_empty())
            .filter_map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                Some((decode(k, true)?, decode(v, true)?))
            })
            .collect();
        Query { pairs }
    }

    /// The first value of `name`, if given and not empty.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A numeric parameter: `default` when absent, 400 text when malformed.
    pub fn number(&self, name: &str, default: u64) -> Result<u64, String> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("`{name}` must be a non-negative integer, not `{v}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        match find(&Method::GET, "/api/v1/messages/abc/parts/2") {
            RouteMatch::Found(r, p) => {
                assert_eq!(r.op, Op::MessagePart);
                assert_eq!(p, ["abc", "2"]);
            }
            other => panic!("{other:?}"),
        }
        match find(&Method::DELETE, "/api/v1/users/a%40b") {
            RouteMatch::Found(r, p) => {
                assert_eq!(r.op, Op::DeleteUser);
                assert_eq!(p, ["a@b"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            find(&Method::PUT, "/healthz"),
            RouteMatch::MethodNotAllowed(m) if m == ["GET"]
        ));
        assert!(matches!(find(&Method::GET, "/"), RouteMatch::NotFound));
        assert!(matches!(
            find(&Method::HEAD, "/healthz"),
            RouteMatch::Found(r, _) if r.op == Op::Healthz
        ));
        assert!(matches!(
            find(&Method::GET, "/api/v1/messages/"),
            RouteMatch::NotFound
        ));
    }

    #[test]
    fn queries() {
        let q = Query::parse("user=a%40b&subject=hello+world&limit=5&x");
        assert_eq!(q.get("user"), Some("a@b"));
        assert_eq!(q.get("subject"), Some("hello world"));
        assert_eq!(q.number("limit", 50), Ok(5));
        assert_eq!(q.number("wait", 0), Ok(0));
        assert!(q.number("subject", 0).is_err());
        assert_eq!(q.get("x"), None);
    }
}
