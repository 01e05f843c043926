//! `type = "webhook"` handlers: the message is taken once its JSON is in
//! the store's durable outbox ([`maildir::Store::outbox_add`]); this worker
//! then POSTs each entry with `X-Sansmail-Signature: sha256=<hex
//! HMAC-SHA256(secret, body)>` until the receiver answers 2xx.
//!
//! Retries (docs/DESIGN.md §5.7): the first retry 2 s after the first failure,
//! doubling, capped at 10 minutes. At start every pending entry is made
//! due at once, so a restart resumes delivery immediately.

use std::time::Duration;

use futures_lite::FutureExt;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::Pipeline;
use super::message::unix_ms;
use crate::config::HandlerConfig;

/// How long one POST may take.
const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// Entries fetched per pass.
const BATCH: usize = 32;
/// The worker looks at the outbox at least this often.
const IDLE_POLL: Duration = Duration::from_secs(30);
/// Largest response body read (and ignored).
const MAX_RESPONSE: usize = 64 * 1024;

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
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
            let result = attempt(&pipeline, &entry.target, entry.payload).await;
            let store = store.clone();
            let id = entry.id;
            let update = match result {
                Ok(()) => {
                    tracing::info!(handler = %entry.target, id, "webhook delivered");
                    blocking::unblock(move || store.outbox_remove(id)).await
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
async fn attempt(pipeline: &Pipeline, handler: &str, body: Vec<u8>) -> Result<(), String> {
    let Some(HandlerConfig::Webhook { url, secret }) = pipeline.inner.config.handlers.get(handler)
    else {
        return Err(format!(
            "no [handlers.{handler}] of type webhook in the config"
        ));
    };
    let mut headers = vec![("content-type", "application/json".to_owned())];
    if let Some(secret) = secret {
        headers.push(("x-sansmail-signature", signature(secret, &body)));
    }
    let (status, _) =
        super::http_client::post(url, &headers, body, POST_TIMEOUT, MAX_RESPONSE).await?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
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
}
