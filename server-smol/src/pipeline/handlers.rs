//! The named handlers (`[handlers.NAME]`: Redis, webhook) and the bounce
//! DSN, run by [`super::Message::finish`] once the message is complete.

use std::time::{Duration, SystemTime};

use super::message::unix_ms;
use super::{Pipeline, Recipient, Target, Verdict, json, redis};
use crate::config::HandlerConfig;

/// How long one Redis exchange may take before the message gets a 4xx.
const REDIS_TIMEOUT: Duration = Duration::from_secs(5);

/// Webhook objects collected before an outbox commit.
const OUTBOX_BATCH: usize = 16 * 1024 * 1024;

/// Every named handler, each once for all its recipients.
pub(super) async fn run(
    pipeline: &Pipeline,
    sender: Option<&str>,
    recipients: &[Recipient],
    raw: &[u8],
    verdicts: &mut [Vec<Verdict>],
) {
    let config = &pipeline.inner.config;
    let received_at = json::rfc3339_now();
    let parsed = json::Parsed::new(raw);
    let mut names: Vec<&str> = Vec::new();
    for r in recipients {
        for t in &r.targets {
            if let Target::Handler(h) = t
                && !names.contains(&h.as_str())
            {
                names.push(h);
            }
        }
    }
    // Webhook entries are committed in batches of about OUTBOX_BATCH
    // bytes, so many recipients never hold all their objects at once.
    let mut outbox: Vec<(String, Vec<u8>)> = Vec::new();
    let mut outbox_rcpts: Vec<usize> = Vec::new();
    let mut outbox_bytes = 0;
    let from = sender.unwrap_or("");
    for name in names {
        let mine: Vec<usize> = (0..recipients.len())
            .filter(|&i| {
                recipients[i]
                    .targets
                    .contains(&Target::Handler(name.into()))
            })
            .collect();
        let object = |i: usize| parsed.handler_json(from, &recipients[i].address, &received_at);
        match config.handlers.get(name) {
            Some(HandlerConfig::Redis { url, list }) => {
                let pushed =
                    redis::rpush(url, list, mine.len(), |k| object(mine[k]), REDIS_TIMEOUT).await;
                let v = match pushed {
                    Ok(_) => Verdict::ok(),
                    Err(e) => {
                        tracing::warn!(handler = name, "redis handler failed: {e}");
                        Verdict::new(451, "4.3.0", "Handler unavailable, try again later")
                    }
                };
                for &i in &mine {
                    verdicts[i].push(v.clone());
                }
            }
            Some(HandlerConfig::Webhook { .. }) => {
                for &i in &mine {
                    let payload = object(i).into_bytes();
                    outbox_bytes += payload.len();
                    outbox.push((name.to_owned(), payload));
                    outbox_rcpts.push(i);
                    if outbox_bytes >= OUTBOX_BATCH {
                        commit_outbox(pipeline, &mut outbox, &mut outbox_rcpts, verdicts).await;
                        outbox_bytes = 0;
                    }
                }
            }
            None => {
                for &i in &mine {
                    verdicts[i].push(Verdict::new(451, "4.3.0", "Unknown handler"));
                }
            }
        }
    }
    commit_outbox(pipeline, &mut outbox, &mut outbox_rcpts, verdicts).await;
}

/// One durable outbox commit for the collected webhook entries; their
/// recipients' verdicts follow it.
async fn commit_outbox(
    pipeline: &Pipeline,
    outbox: &mut Vec<(String, Vec<u8>)>,
    rcpts: &mut Vec<usize>,
    verdicts: &mut [Vec<Verdict>],
) {
    if outbox.is_empty() {
        return;
    }
    let entries = std::mem::take(outbox);
    let store = pipeline.inner.store.clone();
    let now = unix_ms();
    let v = match blocking::unblock(move || store.outbox_add(&entries, now)).await {
        Ok(_) => {
            let _ = pipeline.inner.outbox_wake.try_send(());
            Verdict::ok()
        }
        Err(e) => {
            tracing::warn!("webhook outbox commit failed: {e}");
            Verdict::new(451, "4.3.0", "Handler unavailable, try again later")
        }
    };
    for i in rcpts.drain(..) {
        verdicts[i].push(v.clone());
    }
}

/// `[[rules]] action = "bounce"`: one RFC 3464 DSN to the sender for
/// every bounced recipient. A local sender gets it in INBOX; a remote
/// sender through the outbound queue (null envelope sender, marked as a
/// DSN so it can never bounce again); the null sender never gets one.
pub(super) async fn bounce(
    pipeline: &Pipeline,
    sender: Option<&str>,
    recipients: &[Recipient],
    header: &[u8],
) {
    let bounced: Vec<crate::outbound::dsn::DsnRecipient> = recipients
        .iter()
        .filter_map(|r| {
            r.targets.iter().find_map(|t| match t {
                Target::Bounce(v) => Some(crate::outbound::dsn::DsnRecipient {
                    action: crate::outbound::dsn::Action::Failed,
                    orcpt: r.orcpt.clone(),
                    address: r.address.clone(),
                    status: v.status.clone(),
                    diagnostic: format!("smtp; {} {} {}", v.code, v.status, v.text),
                }),
                _ => None,
            })
        })
        .collect();
    let Some(sender) = sender.map(str::to_owned) else {
        return;
    };
    if bounced.is_empty() {
        return;
    }
    let config = &pipeline.inner.config;
    let is_local = sender
        .rsplit_once('@')
        .is_some_and(|(_, d)| config.is_local_domain(d));
    let dsn = crate::outbound::dsn::build(&crate::outbound::dsn::Report {
        reporting_mta: &config.hostname,
        original_sender: &sender,
        recipients: &bounced,
        original_headers: header,
        arrival: SystemTime::now(),
        envid: None,
    });
    let store = pipeline.inner.store.clone();
    if !is_local {
        let envelope = maildir::QueueEnvelope {
            sender: None,
            is_dsn: true,
            recipients: vec![maildir::QueueRecipient::new(sender)],
            ..maildir::QueueEnvelope::default()
        };
        let queued = blocking::unblock(move || {
            let mut q = store.begin_enqueue(envelope)?;
            q.write(&dsn)?;
            q.commit()
        })
        .await;
        match queued {
            Ok(_) => pipeline.wake_queue(),
            Err(e) => tracing::warn!("bounce DSN not queued: {e}"),
        }
        return;
    }
    let result = blocking::unblock(move || {
        let mut d = store.begin_delivery(maildir::Envelope {
            return_path: None,
            recipients: vec![sender],
            trace: Vec::new(),
        })?;
        d.write(&dsn)?;
        d.commit()
    })
    .await;
    if let Err(e) = result {
        tracing::warn!("bounce DSN not delivered: {e}");
    }
}
