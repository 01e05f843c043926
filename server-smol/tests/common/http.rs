//! HTTP helpers for the API tests: requests through curl (a real client,
//! as the issue asks), and the config tweaks `[http]` needs beyond `listen`.

use super::*;

/// Panics with a clear message when `tool` is missing: the HTTP tests must
/// not pass silently without their clients (CI installs them through
/// scripts/ci-deps.sh).
pub fn require(tool: &str) {
    assert!(
        have(tool),
        "{tool} is required by this test and not installed (see scripts/ci-deps.sh)"
    );
}

/// Rewrites the site's config so that `[http]` also carries `lines`
/// (`auth = "none"`, `header_timeout_ms = 1000`, ...): the harness writes
/// the `[http]` table itself, so `Opts.extra` cannot add keys to it.
pub fn http_keys(site: &Site, lines: &str) {
    let toml = site.opts.toml();
    let patched = toml.replacen("[http]\n", &format!("[http]\n{lines}\n"), 1);
    assert_ne!(toml, patched, "config has no [http] table");
    std::fs::write(site.config(), patched).expect("write config");
}

/// One HTTP answer.
#[derive(Debug)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The header block as curl printed it (lower-cased).
    pub headers: String,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status and that the body is `{"error": "<non-empty>"}`.
    pub fn assert_error(&self, status: u16) {
        assert_eq!(self.status, status, "{self:?}");
        let v = self.json();
        let obj = v.as_object().expect("error object");
        assert_eq!(obj.len(), 1, "{v}");
        assert!(obj["error"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
        assert!(
            self.headers.contains("content-type: application/json"),
            "{}",
            self.headers
        );
    }
}

/// A curl-driven client of one server.
#[derive(Clone, Debug)]
pub struct Api {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// The bearer token sent, if any.
    pub token: Option<String>,
}

impl Api {
    /// A client of `server`'s http listener with the token from
    /// `data_dir/api-token` if the file exists.
    pub fn new(site: &Site, server: &Server) -> Api {
        let token = std::fs::read_to_string(site.data_dir().join("api-token"))
            .ok()
            .map(|t| t.trim().to_owned());
        Api {
            base: format!("http://{}", server.addr("http")),
            token,
        }
    }

    /// The same client with another token (or none).
    pub fn with_token(&self, token: Option<&str>) -> Api {
        Api {
            base: self.base.clone(),
            token: token.map(str::to_owned),
        }
    }

    /// `method path` with an optional (content type, body).
    pub fn request(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> HttpReply {
        require("curl");
        let dir = tempfile::tempdir().expect("tempdir");
        let head = dir.path().join("head");
        let out = dir.path().join("body");
        let mut c = Command::new("curl");
        c.args(["-s", "-S", "--max-time", "30", "-X", method])
            .arg("-D")
            .arg(&head)
            .arg("-o")
            .arg(&out)
            .args(["-w", "%{http_code}"]);
        if let Some(t) = &self.token {
            c.arg("-H").arg(format!("Authorization: Bearer {t}"));
        }
        if let Some((ct, _)) = body {
            c.arg("-H")
                .arg(format!("Content-Type: {ct}"))
                .args(["--data-binary", "@-"]);
        }
        c.arg(format!("{}{path}", self.base));
        let stdin = body.map(|(_, b)| b.to_vec()).unwrap_or_default();
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn curl");
        let mut pipe = child.stdin.take().expect("stdin");
        let writer = thread::spawn(move || {
            let _ = pipe.write_all(&stdin);
        });
        let output = child.wait_with_output().expect("curl output");
        let _ = writer.join();
        let code = String::from_utf8_lossy(&output.stdout);
        let status: u16 = code
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("curl {method} {path}: no status ({})", describe(&output)));
        HttpReply {
            status,
            headers: std::fs::read_to_string(&head)
                .unwrap_or_default()
                .to_lowercase(),
            body: std::fs::read(&out).unwrap_or_default(),
        }
    }

    /// GET.
    pub fn get(&self, path: &str) -> HttpReply {
        self.request("GET", path, None)
    }

    /// DELETE.
    pub fn delete(&self, path: &str) -> HttpReply {
        self.request("DELETE", path, None)
    }

    /// POST with a JSON body.
    pub fn post_json(&self, path: &str, json: &serde_json::Value) -> HttpReply {
        let body = serde_json::to_vec(json).expect("json");
        self.request("POST", path, Some(("application/json", &body)))
    }

    /// POST a raw message to `/api/v1/messages?user=..`, expecting 201;
    /// returns the id.
    pub fn inject(&self, user: &str, message: &[u8]) -> String {
        let r = self.request(
            "POST",
            &format!("/api/v1/messages?user={}", user.replace('@', "%40")),
            Some(("message/rfc822", message)),
        );
        assert_eq!(r.status, 201, "inject: {r:?}");
        r.json()["id"].as_str().expect("id").to_owned()
    }
}
