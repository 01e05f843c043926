//! The JSON object handlers get, one per recipient (docs/DESIGN.md §5.1/§5.7):
//! `{"message_id","from","to","subject","text","raw_base64","received_at"}`.
//! `to` is the one recipient, `from` the envelope sender (`""` for `<>`),
//! `raw_base64` the bytes as stored (our trace fields first, then the
//! message exactly as received), `received_at` RFC 3339.

use base64::Engine;

/// What the handler JSON takes from the parsed message.
pub(super) struct Parsed {
    message_id: Option<String>,
    subject: Option<String>,
    text: String,
    /// Encoded once and shared by every recipient's object.
    raw_base64: String,
}

impl Parsed {
    /// Parses `raw` once for every recipient's object.
    pub(super) fn new(raw: &[u8]) -> Parsed {
        let raw_base64 = base64::engine::general_purpose::STANDARD.encode(raw);
        match crate::message::parse(raw) {
            Some(m) => Parsed {
                message_id: m.message_id().map(str::to_owned),
                subject: m.subject().map(str::to_owned),
                text: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                raw_base64,
            },
            None => Parsed {
                message_id: None,
                subject: None,
                text: String::new(),
                raw_base64,
            },
        }
    }

    /// The object for one recipient.
    pub(super) fn handler_json(&self, from: &str, to: &str, received_at: &str) -> String {
        serde_json::json!({
            "message_id": self.message_id,
            "from": from,
            "to": to,
            "subject": self.subject,
            "text": self.text,
            "raw_base64": self.raw_base64,
            "received_at": received_at,
        })
        .to_string()
    }
}

/// Now as RFC 3339 (UTC).
pub(super) fn rfc3339_now() -> String {
    let secs = super::message::unix_ms() / 1000;
    mail_parser::DateTime::from_timestamp(secs).to_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_fields() {
        let raw = b"Received: from x\r\nMessage-ID: <id1@x>\r\nSubject: Hi\r\n\r\nbody\r\n";
        let p = Parsed::new(raw);
        let v: serde_json::Value =
            serde_json::from_str(&p.handler_json("", "a@b", "2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(v["message_id"], "id1@x");
        assert_eq!(v["from"], "");
        assert_eq!(v["to"], "a@b");
        assert_eq!(v["subject"], "Hi");
        assert_eq!(v["text"], "body\r\n");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(v["raw_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(decoded, raw);
        assert!(rfc3339_now().ends_with('Z'), "{}", rfc3339_now());
    }
}
