//! The header fields a submission server adds (RFC 6409 §8): `Message-ID:`
//! and `Date:` when the client left them out. Used for SMTP submission as
//! the message streams through the pipeline (`message.rs`) and for the raw
//! form of `POST /api/v1/send` (`http/inject.rs`).

use super::{MAX_HEADER, unix_ms};

/// [`submission_fields`] for a whole message held in memory (the raw form
/// of `POST /api/v1/send`): the fields to put in front of it.
pub(crate) fn missing_submission_fields(message: &[u8], hostname: &str) -> Vec<u8> {
    let head = &message[..message.len().min(MAX_HEADER)];
    match find(head, b"\r\n\r\n") {
        Some(end) => submission_fields(&head[..end + 2], true, hostname),
        None => Vec::new(),
    }
}

/// RFC 6409 §8.3, §8.6: a submission server may add the `Message-ID:`
/// and `Date:` a client left out. Only when the whole header section was
/// seen (a header over [`MAX_HEADER`] is left alone).
pub(super) fn submission_fields(header: &[u8], complete: bool, hostname: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if !complete {
        return out;
    }
    let has = |name: &str| {
        header.split(|&b| b == b'\n').any(|line| {
            line.len() > name.len()
                && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                && line[name.len()] == b':'
        })
    };
    if !has("Message-ID") {
        let id = format!(
            "Message-ID: <{}.{}@{}>\r\n",
            unix_ms(),
            fastrand::u64(..),
            hostname
        );
        out.extend_from_slice(id.as_bytes());
    }
    if !has("Date") {
        let now = unix_ms() / 1000;
        let date = mail_parser::DateTime::from_timestamp(now).to_rfc822();
        out.extend_from_slice(format!("Date: {date}\r\n").as_bytes());
    }
    out
}

/// Where `needle` first occurs in `hay`.
pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
