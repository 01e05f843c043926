//! `type = "webhook"` handlers: the message is taken once its JSON is in
//! the store's durable outbox ([`maildir::Store::outbox_add`]); this worker
//! then POSTs each entry with `X-Sansmail-Signature: sha256=<hex
//! HMAC-SHA256(secret, body)>` until the receiver answers 2xx.
//!
//! The message is not copied into the outbox: an entry holds the JSON
//! around `raw_base64` ([`super::json::Object`]) and names a hard link,
//! under `data_dir/webhook/`, to the spooled message (fsynced, and the
//! directory fsynced, before the entry is committed). A POST streams the
//! JSON with the base64 encoded as the file is read, with its
//! `Content-Length` known up front; the signature takes one more pass over
//! the file. The link goes once the entry is removed; links no entry names
//! (a crash between link and commit, or between remove and unlink) are
//! removed when the worker starts.
//!
//! Retries (docs/DESIGN.md §5.7): the first retry 2 s after the first failure,
//! doubling, capped at 10 minutes. At start every pending entry is made
//! due at once, so a restart resumes delivery immediately.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_lite::{AsyncReadExt, FutureExt, Stream};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::Pipeline;
use super::json::{Base64, Object};
use super::unix_ms;
use crate::config::HandlerConfig;

/// How long one POST may take.
const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// Entries fetched per pass.
const BATCH: usize = 32;
/// The worker looks at the outbox at least this often.
const IDLE_POLL: Duration = Duration::from_secs(30);
/// Largest response body read (and ignored).
const MAX_RESPONSE: usize = 64 * 1024;
/// Bytes of the message read per step of a POST (a multiple of 3).
const READ_CHUNK: usize = 48 * 1024;

/// The first byte of an entry that names a message file (a JSON payload
/// stored whole, as entries committed before streaming were, starts
/// with `{`).
const FILE_ENTRY: u8 = 0;

/// What an outbox entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Payload {
    /// The whole JSON (entries from before streaming).
    Whole(Vec<u8>),
    /// The JSON around `raw_base64`, and the link (a file name under
    /// `data_dir/webhook/`) to the message it encodes.
    File { object: Object, link: String },
}

/// `00`, base64 length (u64), prefix length (u32), prefix, suffix length
/// (u32), suffix, then the link's file name to the end.
fn encode_entry(object: &Object, link: &str) -> Vec<u8> {
    let mut out = vec![FILE_ENTRY];
    out.extend_from_slice(&object.base64_len.to_le_bytes());
    for part in [&object.prefix, &object.suffix] {
        out.extend_from_slice(&(part.len() as u32).to_le_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(link.as_bytes());
    out
}

fn decode_entry(payload: Vec<u8>) -> Result<Payload, String> {
    if payload.first() != Some(&FILE_ENTRY) {
        return Ok(Payload::Whole(payload));
    }
    let bad = || "corrupt outbox entry".to_owned();
    let mut at: usize = 1;
    let mut take = |n: usize| {
        let field = payload.get(at..at.checked_add(n)?)?;
        at += n;
        Some(field)
    };
    let base64_len = u64::from_le_bytes(take(8).ok_or_else(bad)?.try_into().map_err(|_| bad())?);
    let mut text = || {
        let n = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        String::from_utf8(take(n)?.to_vec()).ok()
    };
    let prefix = text().ok_or_else(bad)?;
    let suffix = text().ok_or_else(bad)?;
    let link = String::from_utf8(payload[at..].to_vec()).map_err(|_| bad())?;
    if link.is_empty() || link.contains('/') || link.starts_with('.') {
        return Err(bad());
    }
    Ok(Payload::File {
        object: Object {
            prefix,
            suffix,
            base64_len,
        },
        link,
    })
}

/// `data_dir/webhook/`: the links entries name.
fn links_dir(pipeline: &Pipeline) -> PathBuf {
    pipeline.inner.config.data_dir.join("webhook")
}

/// Commits one outbox entry per `(handler, object)` for the message
/// spooled at `spool` (blocking): the spool fsynced, one hard link per
/// entry, the directory fsynced, then one durable commit. On failure no
/// link is left behind.
pub(super) fn enqueue(
    pipeline: &Pipeline,
    spool: &Path,
    entries: Vec<(String, Object)>,
) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = links_dir(pipeline);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::File::open(spool)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("spool fsync: {e}"))?;
    let base = spool
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut links: Vec<PathBuf> = Vec::new();
    let mut rows = Vec::with_capacity(entries.len());
    let result = (|| {
        for (k, (handler, object)) in entries.iter().enumerate() {
            let name = format!("{base}.{k}");
            let path = dir.join(&name);
            std::fs::hard_link(spool, &path).map_err(|e| format!("link {name}: {e}"))?;
            links.push(path);
            rows.push((handler.clone(), encode_entry(object, &name)));
        }
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| format!("{}: fsync: {e}", dir.display()))?;
        pipeline
            .inner
            .store
            .outbox_add(&rows, unix_ms())
            .map_err(|e| e.to_string())
    })();
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            for l in links {
                let _ = std::fs::remove_file(l);
            }
            Err(e)
        }
    }
}

/// Removes links under `data_dir/webhook/` that no entry names (blocking).
fn remove_orphans(pipeline: &Pipeline) -> Result<usize, String> {
    let Ok(dir) = std::fs::read_dir(links_dir(pipeline)) else {
        return Ok(0);
    };
    let entries = pipeline
        .inner
        .store
        .outbox_due(i64::MAX, usize::MAX)
        .map_err(|e| e.to_string())?;
    let named: std::collections::HashSet<String> = entries
        .into_iter()
        .filter_map(|e| match decode_entry(e.payload) {
            Ok(Payload::File { link, .. }) => Some(link),
            _ => None,
        })
        .collect();
    let mut removed = 0;
    for file in dir.flatten() {
        let name = file.file_name().to_string_lossy().into_owned();
        if !named.contains(&name) && std::fs::remove_file(file.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    hex_signature(mac)
}

/// [`signature`] of the JSON `object` with the base64 of the file at
/// `raw` inside, computed in one pass over the file (blocking).
fn signature_of_file(secret: &str, object: &Object, raw: &Path) -> std::io::Result<String> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(object.prefix.as_bytes());
    let mut file = std::fs::File::open(raw)?;
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut encoded = Vec::with_capacity(READ_CHUNK / 3 * 4 + 4);
    let mut encoder = Base64::default();
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        encoded.clear();
        encoder.feed(&chunk[..n], &mut encoded);
        mac.update(&encoded);
    }
    encoded.clear();
    encoder.finish(&mut encoded);
    mac.update(&encoded);
    mac.update(object.suffix.as_bytes());
    Ok(hex_signature(mac))
}

/// `sha256=<hex tag>`.
fn hex_signature(mac: Hmac<Sha256>) -> String {
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in tag {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The delay before the next attempt after `failures` failed ones.
pub fn backoff(failures: u32) -> Duration {
    let secs = 2u64.saturating_mul(1u64 << failures.saturating_sub(1).min(20));
    Duration::from_secs(secs.min(600))
}

/// Runs until `stop` closes: POSTs due outbox entries, wakes on `wake`
/// (new entries) or when the earliest retry is due.
pub async fn run_outbox(
    pipeline: Pipeline,
    wake: smol::channel::Receiver<()>,
    stop: smol::channel::Receiver<()>,
) {
    let store = pipeline.inner.store.clone();
    let resumed = {
        let store = store.clone();
        blocking::unblock(move || store.outbox_resume(unix_ms())).await
    };
    match resumed {
        Ok(0) => {}
        Ok(n) => tracing::info!(entries = n, "webhook outbox: resuming pending entries"),
        Err(e) => tracing::warn!("webhook outbox: {e}"),
    }
    let orphans = {
        let pipeline = pipeline.clone();
        blocking::unblock(move || remove_orphans(&pipeline)).await
    };
    match orphans {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            files = n,
            "webhook outbox: removed unreferenced message links"
        ),
        Err(e) => tracing::warn!("webhook outbox: {e}"),
    }
    loop {
        let due = {
            let store = store.clone();
            blocking::unblock(move || store.outbox_due(unix_ms(), BATCH)).await
        };
        let due = due.unwrap_or_else(|e| {
            tracing::warn!("webhook outbox: {e}");
            Vec::new()
        });
        let full = due.len() == BATCH;
        for entry in due {
            let payload = decode_entry(entry.payload);
            let link = match &payload {
                Ok(Payload::File { link, .. }) => Some(links_dir(&pipeline).join(link)),
                _ => None,
            };
            let result = match payload {
                Ok(p) => attempt(&pipeline, &entry.target, p).await,
                Err(e) => Err(e),
            };
            let store = store.clone();
            let id = entry.id;
            let update = match result {
                Ok(()) => {
                    tracing::info!(handler = %entry.target, id, "webhook delivered");
                    blocking::unblock(move || {
                        store.outbox_remove(id)?;
                        if let Some(link) = link {
                            let _ = std::fs::remove_file(link);
                        }
                        Ok(())
                    })
                    .await
                }
                Err(e) => {
                    let failures = entry.attempts.saturating_add(1);
                    let delay = backoff(failures);
                    tracing::warn!(
                        handler = %entry.target, id, attempt = failures,
                        retry_in_ms = delay.as_millis() as u64, "webhook failed: {e}"
                    );
                    let next = unix_ms() + delay.as_millis() as i64;
                    blocking::unblock(move || store.outbox_reschedule(id, failures, next)).await
                }
            };
            if let Err(e) = update {
                tracing::warn!("webhook outbox: {e}");
            }
            if stop.is_closed() {
                return;
            }
        }
        if full {
            continue;
        }
        let summary = {
            let store = store.clone();
            blocking::unblock(move || store.outbox_summary()).await
        };
        let wait = match summary {
            Ok((Some(next), _)) => Duration::from_millis(
                (next - unix_ms()).clamp(0, IDLE_POLL.as_millis() as i64) as u64,
            ),
            _ => IDLE_POLL,
        };
        let stopped = async {
            let _ = stop.recv().await;
            true
        }
        .or(async {
            let _ = wake.recv().await;
            false
        })
        .or(async {
            async_io::Timer::after(wait).await;
            false
        })
        .await;
        if stopped || stop.is_closed() {
            return;
        }
    }
}

/// One POST of one entry.
async fn attempt(pipeline: &Pipeline, handler: &str, payload: Payload) -> Result<(), String> {
    let Some(HandlerConfig::Webhook { url, secret }) = pipeline.inner.config.handlers.get(handler)
    else {
        return Err(format!(
            "no [handlers.{handler}] of type webhook in the config"
        ));
    };
    let mut headers = vec![("content-type", "application/json".to_owned())];
    let status = match payload {
        Payload::Whole(body) => {
            if let Some(secret) = secret {
                headers.push(("x-sansmail-signature", signature(secret, &body)));
            }
            super::http_client::post(url, &headers, body, POST_TIMEOUT, MAX_RESPONSE)
                .await?
                .0
        }
        Payload::File { object, link } => {
            let path = links_dir(pipeline).join(link);
            if let Some(secret) = secret.clone() {
                let (o, p) = (object.clone(), path.clone());
                let sig = blocking::unblock(move || signature_of_file(&secret, &o, &p))
                    .await
                    .map_err(|e| format!("message file: {e}"))?;
                headers.push(("x-sansmail-signature", sig));
            }
            headers.push(("content-length", object.len().to_string()));
            let file = std::fs::File::open(&path).map_err(|e| format!("message file: {e}"))?;
            let body = http_body_util::StreamBody::new(body_stream(object, file));
            super::http_client::post_body(url, &headers, body, POST_TIMEOUT, MAX_RESPONSE)
                .await?
                .0
        }
    };
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}

/// Where a streamed body is.
enum BodyState {
    Prefix(Object, std::fs::File),
    Raw {
        file: blocking::Unblock<std::fs::File>,
        encoder: Base64,
        suffix: String,
        left: u64,
    },
    Done,
}

/// The JSON `object` as body frames: the prefix, the base64 of `file` in
/// [`READ_CHUNK`] steps, the suffix. A file that is not as long as the
/// object says ends the body with an error (never a wrong length).
fn body_stream(
    object: Object,
    file: std::fs::File,
) -> impl Stream<Item = Result<hyper::body::Frame<Bytes>, std::io::Error>> + Send + 'static {
    futures_lite::stream::unfold(BodyState::Prefix(object, file), |state| async move {
        match state {
            BodyState::Prefix(object, file) => {
                let frame = Bytes::from(object.prefix.into_bytes());
                let next = BodyState::Raw {
                    file: blocking::Unblock::with_capacity(READ_CHUNK, file),
                    encoder: Base64::default(),
                    suffix: object.suffix,
                    left: object.base64_len,
                };
                Some((Ok(hyper::body::Frame::data(frame)), next))
            }
            BodyState::Raw {
                mut file,
                mut encoder,
                suffix,
                left,
            } => {
                let mut chunk = vec![0u8; READ_CHUNK];
                let n = match file.read(&mut chunk).await {
                    Ok(n) => n,
                    Err(e) => return Some((Err(e), BodyState::Done)),
                };
                let mut out = Vec::with_capacity(READ_CHUNK / 3 * 4 + 4 + suffix.len());
                let last = n == 0;
                if last {
                    std::mem::take(&mut encoder).finish(&mut out);
                } else {
                    encoder.feed(&chunk[..n], &mut out);
                }
                let Some(left) = left
                    .checked_sub(out.len() as u64)
                    .filter(|l| !last || *l == 0)
                else {
                    let e = std::io::Error::other("message file changed length");
                    return Some((Err(e), BodyState::Done));
                };
                if last {
                    out.extend_from_slice(suffix.as_bytes());
                    return Some((
                        Ok(hyper::body::Frame::data(Bytes::from(out))),
                        BodyState::Done,
                    ));
                }
                let next = BodyState::Raw {
                    file,
                    encoder,
                    suffix,
                    left,
                };
                Some((Ok(hyper::body::Frame::data(Bytes::from(out))), next))
            }
            BodyState::Done => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2_and_backoff() {
        // RFC 4231 §4.3 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let secs: Vec<u64> = (1..=12).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600]);
        assert_eq!(backoff(u32::MAX).as_secs(), 600);
    }

    #[test]
    fn entries_round_trip_and_whole_json_is_kept() {
        let object = Object {
            prefix: "{\"a\":\"".into(),
            suffix: "\"}".into(),
            base64_len: 8,
        };
        let bytes = encode_entry(&object, "1.2.3.0");
        assert_eq!(
            decode_entry(bytes.clone()).unwrap(),
            Payload::File {
                object,
                link: "1.2.3.0".into()
            }
        );
        assert_eq!(
            decode_entry(b"{}".to_vec()).unwrap(),
            Payload::Whole(b"{}".to_vec())
        );
        assert!(decode_entry(bytes[..10].to_vec()).is_err());
        let mut escape = bytes.clone();
        escape.truncate(escape.len() - 7);
        escape.extend_from_slice(b"../x");
        assert!(decode_entry(escape).is_err());
    }

    #[test]
    fn streamed_body_and_signature_match_the_whole_json() {
        use std::io::Write;
        let raw: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&raw).unwrap();
        let object = Object {
            prefix: "{\"raw_base64\":\"".into(),
            suffix: "\"}".into(),
            base64_len: super::super::json::base64_len(raw.len() as u64),
        };
        use base64::Engine;
        let whole = format!(
            "{}{}{}",
            object.prefix,
            base64::engine::general_purpose::STANDARD.encode(&raw),
            object.suffix
        );
        assert_eq!(whole.len() as u64, object.len());
        let streamed = smol::block_on(async {
            use futures_lite::StreamExt;
            let f = std::fs::File::open(file.path()).unwrap();
            let mut s = std::pin::pin!(body_stream(object.clone(), f));
            let mut out = Vec::new();
            while let Some(frame) = s.next().await {
                out.extend_from_slice(frame.unwrap().data_ref().unwrap());
            }
            out
        });
        assert_eq!(streamed, whole.as_bytes());
        assert_eq!(
            signature_of_file("k", &object, file.path()).unwrap(),
            signature("k", whole.as_bytes())
        );
        // A file shorter than announced is an error, not a short body.
        let short = Object {
            base64_len: object.base64_len + 4,
            ..object
        };
        let failed = smol::block_on(async {
            use futures_lite::StreamExt;
            let f = std::fs::File::open(file.path()).unwrap();
            let mut s = std::pin::pin!(body_stream(short, f));
            let mut failed = false;
            while let Some(frame) = s.next().await {
                failed |= frame.is_err();
            }
            failed
        });
        assert!(failed);
    }
}
