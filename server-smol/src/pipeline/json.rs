//! The JSON object handlers get, one per recipient (docs/DESIGN.md §5.1/§5.7):
//! `{"message_id","from","to","subject","text","raw_base64","received_at"}`.
//! `to` is the one recipient, `from` the envelope sender (`""` for `<>`),
//! `raw_base64` the bytes as stored (our trace fields first, then the
//! message exactly as received), `received_at` RFC 3339.
//!
//! The message is never held whole for this: an object is split into the
//! JSON before the `raw_base64` value ([`Object::prefix`]), the value
//! itself — the spool file, base64-encoded as it is read ([`Base64`]) — and
//! the JSON after it ([`Object::suffix`]). Its length is known up front
//! ([`Object::len`]), so Redis gets one RESP bulk string and a webhook a
//! `Content-Length`. The other fields come from a *skeleton* of the
//! message ([`skeleton`]): the spool with the bodies of its non-text leaf
//! parts left out, which mail-parser reads exactly as it reads the whole
//! message for `message_id`, `subject` and `text`.

use std::io::{Read, Seek, SeekFrom};

use base64::Engine;

/// What the handler JSON takes from the parsed message.
pub(super) struct Parsed {
    message_id: Option<String>,
    subject: Option<String>,
    text: String,
    /// Length of the raw message (trace included) in bytes.
    raw_len: u64,
}

/// One recipient's object: `prefix`, then `base64(raw)`, then `suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Object {
    /// The JSON up to and including the opening quote of `raw_base64`.
    pub prefix: String,
    /// The JSON from the closing quote of `raw_base64` to the end.
    pub suffix: String,
    /// Length of the base64 text in between.
    pub base64_len: u64,
}

impl Object {
    /// The whole object's length in bytes.
    pub fn len(&self) -> u64 {
        self.prefix.len() as u64 + self.base64_len + self.suffix.len() as u64
    }
}

/// Length of the padded base64 (RFC 4648 §4) of `n` bytes.
pub(super) fn base64_len(n: u64) -> u64 {
    n.div_ceil(3) * 4
}

/// The value `raw_base64` is serialised with while splitting: the key is
/// followed by `""`, which cannot occur unescaped inside any other JSON
/// string, so its first occurrence is the field.
const SPLIT_AT: &str = "\"raw_base64\":\"\"";

impl Parsed {
    /// Reads the fields from `skeleton` (see [`skeleton`]) of a message of
    /// `raw_len` bytes.
    pub(super) fn new(skeleton: &[u8], raw_len: u64) -> Parsed {
        match crate::message::parse(skeleton) {
            Some(m) => Parsed {
                message_id: m.message_id().map(str::to_owned),
                subject: m.subject().map(str::to_owned),
                text: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                raw_len,
            },
            None => Parsed {
                message_id: None,
                subject: None,
                text: String::new(),
                raw_len,
            },
        }
    }

    /// The object for one recipient.
    pub(super) fn handler_json(&self, from: &str, to: &str, received_at: &str) -> Object {
        let whole = serde_json::json!({
            "message_id": self.message_id,
            "from": from,
            "to": to,
            "subject": self.subject,
            "text": self.text,
            "raw_base64": "",
            "received_at": received_at,
        })
        .to_string();
        let at = whole
            .find(SPLIT_AT)
            .expect("the object has a raw_base64 field")
            + SPLIT_AT.len()
            - 1;
        Object {
            prefix: whole[..at].to_owned(),
            suffix: whole[at..].to_owned(),
            base64_len: base64_len(self.raw_len),
        }
    }
}

/// An incremental base64 encoder (standard alphabet, padded): bytes in
/// chunks of any size give the same text as encoding them at once.
#[derive(Default)]
pub(super) struct Base64 {
    /// Up to two bytes not yet encoded (a base64 quantum is 3 bytes).
    carry: Vec<u8>,
}

impl Base64 {
    /// Encodes `input` after what came before; appends to `out`.
    pub(super) fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        if !self.carry.is_empty() {
            let take = (3 - self.carry.len()).min(input.len());
            self.carry.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.carry.len() < 3 {
                return;
            }
            let quantum = std::mem::take(&mut self.carry);
            encode(&quantum, out);
        }
        let whole = input.len() / 3 * 3;
        encode(&input[..whole], out);
        self.carry.extend_from_slice(&input[whole..]);
    }

    /// Encodes the last one or two bytes, padded.
    pub(super) fn finish(self, out: &mut Vec<u8>) {
        encode(&self.carry, out);
    }
}

/// Appends the padded base64 of `input` to `out`.
fn encode(input: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + base64_len(input.len() as u64) as usize, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(input, &mut out[start..])
        .expect("the buffer has the encoded length");
    out.truncate(start + written);
}

/// Most bytes of one part's header read to find its `Content-Type:`.
const MAX_PART_HEADER: u64 = 64 * 1024;

/// The skeleton of the message in `file` (`len` bytes): the bytes with the
/// body of every leaf part whose `Content-Type:` is neither `text/*` nor
/// `multipart/*` left out. Only text leaves can become mail-parser's
/// `body_text`, and leaving the other bodies out changes neither the part
/// tree nor any header, so the fields read from the skeleton are those of
/// the whole message; memory is bounded by the text parts, not by the
/// attachments.
pub(super) fn skeleton(file: &mut std::fs::File, len: u64) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(0))?;
    let mut scanner = mime_scan::Scanner::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        scanner.feed(&buf[..n]);
    }
    let root = scanner.finish().root;
    // The leaves to leave out, in file order (an explicit stack: the tree
    // comes from peer input).
    let mut elide: Vec<std::ops::Range<u64>> = Vec::new();
    let mut stack = vec![&root];
    while let Some(part) = stack.pop() {
        if part.kind != mime_scan::PartKind::Leaf {
            stack.extend(part.children.iter());
            continue;
        }
        let header_len = (part.body_start - part.header_start).min(MAX_PART_HEADER);
        let mut header = vec![0u8; header_len as usize];
        file.seek(SeekFrom::Start(part.header_start))?;
        file.read_exact(&mut header)?;
        if !matches!(
            content_type(&header).as_deref(),
            None | Some("text" | "multipart")
        ) {
            elide.push(part.body_range());
        }
    }
    elide.sort_by_key(|r| r.start);
    let kept = len - elide.iter().map(|r| r.end - r.start).sum::<u64>();
    let mut out = Vec::with_capacity(kept as usize);
    let mut at = 0;
    for range in elide.into_iter().chain(std::iter::once(len..len)) {
        file.seek(SeekFrom::Start(at))?;
        (&mut *file).take(range.start - at).read_to_end(&mut out)?;
        at = range.end;
    }
    Ok(out)
}

/// The lower-cased type (before `/`) of the `Content-Type:` field in a
/// part's header, if there is one (RFC 2045 §5.1; folded lines unfolded).
fn content_type(header: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(header);
    let mut lines = text.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim_end().eq_ignore_ascii_case("content-type") {
            continue;
        }
        let mut value = value.to_owned();
        while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
            value.push_str(next);
            lines.next();
        }
        let kind = value
            .split([';', '/'])
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        return (!kind.is_empty()).then_some(kind);
    }
    None
}

/// Now as RFC 3339 (UTC).
pub(super) fn rfc3339_now() -> String {
    let secs = super::unix_ms() / 1000;
    mail_parser::DateTime::from_timestamp(secs).to_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn whole(raw: &[u8], o: &Object) -> String {
        let mut b64 = Vec::new();
        let mut enc = Base64::default();
        // Odd chunk sizes: the carry across chunks is exercised.
        for chunk in raw.chunks(7) {
            enc.feed(chunk, &mut b64);
        }
        enc.finish(&mut b64);
        assert_eq!(b64.len() as u64, o.base64_len);
        format!(
            "{}{}{}",
            o.prefix,
            String::from_utf8(b64).unwrap(),
            o.suffix
        )
    }

    #[test]
    fn object_fields() {
        let raw = b"Received: from x\r\nMessage-ID: <id1@x>\r\nSubject: Hi \"raw_base64\":\"\"\r\n\r\nbody\r\n";
        let p = Parsed::new(raw, raw.len() as u64);
        let o = p.handler_json("", "a@b", "2026-01-01T00:00:00Z");
        let json = whole(raw, &o);
        assert_eq!(json.len() as u64, o.len());
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["message_id"], "id1@x");
        assert_eq!(v["from"], "");
        assert_eq!(v["to"], "a@b");
        assert_eq!(v["subject"], "Hi \"raw_base64\":\"\"");
        assert_eq!(v["text"], "body\r\n");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(v["raw_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(decoded, raw);
        // Byte-exact with serialising the whole object at once.
        let direct = serde_json::json!({
            "message_id": "id1@x", "from": "", "to": "a@b",
            "subject": "Hi \"raw_base64\":\"\"", "text": "body\r\n",
            "raw_base64": base64::engine::general_purpose::STANDARD.encode(raw),
            "received_at": "2026-01-01T00:00:00Z",
        })
        .to_string();
        assert_eq!(json, direct);
        assert!(rfc3339_now().ends_with('Z'), "{}", rfc3339_now());
    }

    #[test]
    fn incremental_base64_matches_at_every_split() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let expect = base64::engine::general_purpose::STANDARD.encode(&data);
        for n in 0..20 {
            let mut out = Vec::new();
            let mut enc = Base64::default();
            let (a, b) = data.split_at(n.min(data.len()));
            for c in a.chunks(1).chain(b.chunks(n + 1)) {
                enc.feed(c, &mut out);
            }
            enc.finish(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), expect, "split {n}");
        }
        assert_eq!(base64_len(0), 0);
        assert_eq!(base64_len(1), 4);
        assert_eq!(base64_len(3), 4);
        assert_eq!(base64_len(4), 8);
    }

    #[test]
    fn skeleton_leaves_out_attachment_bodies_only() {
        let attachment = "QUJD".repeat(10_000);
        let raw = format!(
            "Received: from x\r\nSubject: S\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
             h=C3=A9llo\r\n--b\r\nContent-Type: application/octet-stream\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--b--\r\n"
        );
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(raw.as_bytes()).unwrap();
        let skel = skeleton(&mut file, raw.len() as u64).unwrap();
        assert!(skel.len() < 400, "{}", skel.len());
        let from_skel = Parsed::new(&skel, raw.len() as u64);
        let from_all = Parsed::new(raw.as_bytes(), raw.len() as u64);
        assert_eq!(from_skel.text, "héllo");
        assert_eq!(
            from_skel.handler_json("f", "t", "r"),
            from_all.handler_json("f", "t", "r")
        );
        // A single-part text message is kept whole.
        let plain = b"Subject: p\r\n\r\nline\r\n";
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(plain).unwrap();
        assert_eq!(skeleton(&mut file, plain.len() as u64).unwrap(), plain);
        assert_eq!(
            content_type(b"X: y\r\nContent-Type:\r\n  Image/PNG; name=a\r\n\r\n").as_deref(),
            Some("image")
        );
    }
}
