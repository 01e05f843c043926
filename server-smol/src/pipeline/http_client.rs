//! A small HTTP/1.1 POST client on hyper 1 over smol (for the pre-receive
//! hook and the webhook handler): one connection per request, the whole
//! exchange under one deadline, the response body capped.

use std::time::Duration;

use bytes::Bytes;
use futures_lite::FutureExt;
use http_body_util::{BodyExt, Full, Limited};

/// An `http://host[:port]/path` URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HttpUrl {
    /// Host name or IP (IPv6 without brackets).
    pub host: String,
    /// TCP port (default 80).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl HttpUrl {
    /// Parses a plain `http://` URL; `https://` is not supported (hooks
    /// and webhooks run next to the server, on loopback or a private net).
    pub(super) fn parse(url: &str) -> Result<HttpUrl, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("`{url}`: only http:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("`{url}`: bad IPv6 host"))?;
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| format!("`{url}`: bad port"))?,
            None => 80,
        };
        if host.is_empty() {
            return Err(format!("`{url}`: no host"));
        }
        Ok(HttpUrl {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }
}

/// POSTs `body` to `url` with `headers`; returns the status and at most
/// `max_response` bytes of body. Everything (connect, request, response)
/// must finish within `timeout`.
pub(super) async fn post(
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    timeout: Duration,
    max_response: usize,
) -> Result<(u16, Bytes), String> {
    post_body(
        url,
        headers,
        Full::new(Bytes::from(body)),
        timeout,
        max_response,
    )
    .await
}

/// [`post`] with a body of any kind (the webhook streams its JSON from the
/// spooled message; `headers` then carry its `content-length`).
pub(super) async fn post_body<B>(
    url: &str,
    headers: &[(&str, String)],
    body: B,
    timeout: Duration,
    max_response: usize,
) -> Result<(u16, Bytes), String>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let url = HttpUrl::parse(url)?;
    let exchange = async {
        let tcp = smol::net::TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| format!("connect {}:{}: {e}", url.host, url.port))?;
        let io = smol_hyper::rt::FuturesIo::new(tcp);
        let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, B>(io)
            .await
            .map_err(|e| format!("http handshake: {e}"))?;
        let host = if url.port == 80 {
            url.host.clone()
        } else {
            format!("{}:{}", url.host, url.port)
        };
        let mut request = hyper::Request::post(url.path.as_str())
            .header(hyper::header::HOST, host)
            .header(hyper::header::USER_AGENT, "sansmail");
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = request
            .body(body)
            .map_err(|e| format!("http request: {e}"))?;
        let work = async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| format!("http: {e}"))?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), max_response)
                .collect()
                .await
                .map_err(|e| format!("http response body: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        // The connection future does the IO; it ends with the exchange.
        let drive = async {
            let _ = conn.await;
            futures_lite::future::pending::<Result<(u16, Bytes), String>>().await
        };
        work.or(drive).await
    };
    let deadline = async {
        async_io::Timer::after(timeout).await;
        Err(format!("no answer within {} ms", timeout.as_millis()))
    };
    exchange.or(deadline).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = HttpUrl::parse("http://127.0.0.1:9000/hook?x=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 9000, "/hook?x=1")
        );
        let u = HttpUrl::parse("http://example.test").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("example.test", 80, "/")
        );
        let u = HttpUrl::parse("http://[::1]:8/p").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 8));
        assert!(HttpUrl::parse("https://x/").is_err());
        assert!(HttpUrl::parse("http://x:99999/").is_err());
        assert!(HttpUrl::parse("http:///").is_err());
    }
}
