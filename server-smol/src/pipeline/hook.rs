//! `[hooks] pre_receive` (docs/DESIGN.md §5.1): after DATA, POST
//! `{"from","to","helo","client_ip","headers"}` and let the answer
//! `{"action":"accept"|"reject"|"tempfail","code":550,"text":"..."}` decide.
//! Fail closed: unreachable, slower than `pre_receive_timeout_ms`, a non-2xx
//! status, an answer over 64 KiB or one that is not that JSON → exactly 451.

use std::time::Duration;

use super::{Origin, Recipient, Verdict};

/// Largest hook answer read; a larger one fails closed.
const MAX_ANSWER: usize = 64 * 1024;

/// The request body. `headers` is `[[name, value], ...]` in order, values
/// unfolded (as the HTTP API shows them); `from` is `""` for `<>`.
pub(super) fn request_json(
    sender: Option<&str>,
    recipients: &[Recipient],
    origin: &Origin,
    header: &[u8],
) -> Vec<u8> {
    let to: Vec<&str> = recipients.iter().map(|r| r.address.as_str()).collect();
    serde_json::json!({
        "from": sender.unwrap_or(""),
        "to": to,
        "helo": origin.helo,
        "client_ip": origin.client_ip.map(|ip| ip.to_string()),
        "headers": header_fields(header),
    })
    .to_string()
    .into_bytes()
}

/// Splits a header section into (name, unfolded value) pairs (RFC 5322
/// §2.2.3); lines without a colon are skipped.
pub(super) fn header_fields(header: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(header);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.split("\r\n") {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push_str(line);
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim_end().to_owned(), value.trim_start().to_owned()));
        }
    }
    fields
}

/// `None` to accept; else the verdict for every recipient.
pub(super) async fn pre_receive(url: &str, body: Vec<u8>, timeout: Duration) -> Option<Verdict> {
    let unavailable = || {
        Some(Verdict::new(
            451,
            "4.3.0",
            "Pre-receive check unavailable, try again later",
        ))
    };
    let headers = [("content-type", "application/json".to_owned())];
    let (status, answer) =
        match super::http_client::post(url, &headers, body, timeout, MAX_ANSWER).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("pre_receive hook failed: {e}");
                return unavailable();
            }
        };
    if !(200..300).contains(&status) {
        tracing::warn!("pre_receive hook answered HTTP {status}");
        return unavailable();
    }
    match decide(&answer) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("pre_receive hook: {e}");
            unavailable()
        }
    }
}

/// The hook's answer as a decision.
fn decide(answer: &[u8]) -> Result<Option<Verdict>, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        action: String,
        code: Option<u16>,
        text: Option<String>,
    }
    let a: Answer = serde_json::from_slice(answer)
        .map_err(|e| format!("answer is not the JSON expected: {e}"))?;
    let (class, default_code, default_status, default_text) = match a.action.as_str() {
        "accept" => return Ok(None),
        "reject" => (5, 550, "5.7.1", "Message rejected"),
        "tempfail" => (
            4,
            451,
            "4.7.1",
            "Message temporarily rejected, try again later",
        ),
        other => return Err(format!("unknown action {other:?}")),
    };
    let code = a.code.filter(|c| c / 100 == class).unwrap_or(default_code);
    let text = a.text.unwrap_or_else(|| default_text.to_owned());
    // "A hook's reject text may be preceded by an enhanced status code."
    let (status, text) = match text.split_once(' ') {
        Some((s, rest)) if is_enhanced(s, class) => (s.to_owned(), rest.to_owned()),
        _ if is_enhanced(&text, class) => (text.clone(), default_text.to_owned()),
        _ => (default_status.to_owned(), text),
    };
    // One line only: the text goes into an SMTP reply.
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(400)
        .collect();
    Ok(Some(Verdict { code, status, text }))
}

/// `class.digits.digits` (RFC 3463 §2).
fn is_enhanced(s: &str, class: u16) -> bool {
    let mut parts = s.split('.');
    let ok = |p: Option<&str>, max: usize| {
        p.is_some_and(|p| !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit()))
    };
    s.starts_with(char::from(b'0' + class as u8))
        && ok(parts.next(), 1)
        && ok(parts.next(), 3)
        && ok(parts.next(), 3)
        && parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(decide(br#"{"action":"accept"}"#), Ok(None));
        assert_eq!(
            decide(br#"{"action":"reject","code":554,"text":"5.7.1 Spam detected"}"#),
            Ok(Some(Verdict::new(554, "5.7.1", "Spam detected")))
        );
        assert_eq!(
            decide(br#"{"action":"reject","text":"no thanks"}"#),
            Ok(Some(Verdict::new(550, "5.7.1", "no thanks")))
        );
        // A code of the wrong class is replaced by the action's default.
        assert_eq!(
            decide(br#"{"action":"tempfail","code":250}"#),
            Ok(Some(Verdict::new(
                451,
                "4.7.1",
                "Message temporarily rejected, try again later"
            )))
        );
        assert_eq!(
            decide(b"{\"action\":\"reject\",\"text\":\"a\\r\\nb\"}"),
            Ok(Some(Verdict::new(550, "5.7.1", "a  b")))
        );
        assert!(decide(b"{not json").is_err());
        assert!(decide(br#"{"action":"maybe"}"#).is_err());
    }

    #[test]
    fn headers_unfold() {
        let h = b"Subject: a\r\n b\r\nX-A:1\r\nbroken\r\n\r\nbody";
        assert_eq!(
            header_fields(h),
            vec![
                ("Subject".to_owned(), "a b".to_owned()),
                ("X-A".to_owned(), "1".to_owned())
            ]
        );
    }
}
