//! The named handlers (`[handlers.NAME]`: Redis, webhook) and the bounce
//! DSN, run by [`super::Message::finish`] once the message is complete.

use std::time::{Duration, SystemTime};

use super::{Pipeline, Recipient, Target, Verdict, json, redis};
use crate::config::HandlerConfig;

/// How long one Redis exchange may take before the message gets a 4xx.
const REDIS_TIMEOUT: Duration = Duration::from_secs(5);

/// Every named handler, each once for all its recipients. The message is
/// streamed from the spool file at `raw` (never read whole); `parsed`
/// holds the JSON's other fields.
pub(super) async fn run(
    pipeline: &Pipeline,
    sender: Option<&str>,
    recipients: &[Recipient],
    raw: &std::path::Path,
    parsed: &json::Parsed,
    verdicts: &mut [Vec<Verdict>],
) {
    let config = &pipeline.inner.config;
    let received_at = json::rfc3339_now();
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
    // Every webhook entry of the message goes in one durable commit.
    let mut outbox: Vec<(String, json::Object)> = Vec::new();
    let mut outbox_rcpts: Vec<usize> = Vec::new();
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
                let objects: Vec<json::Object> = mine.iter().map(|&i| object(i)).collect();
                let pushed = redis::rpush(url, list, &objects, raw, REDIS_TIMEOUT).await;
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
                    outbox.push((name.to_owned(), object(i)));
                    outbox_rcpts.push(i);
                }
            }
            None => {
                for &i in &mine {
                    verdicts[i].push(Verdict::new(451, "4.3.0", "Unknown handler"));
                }
            }
        }
    }
    if outbox.is_empty() {
        return;
    }
    let (p, path) = (pipeline.clone(), raw.to_path_buf());
    let v = match blocking::unblock(move || super::webhook::enqueue(&p, &path, outbox)).await {
        Ok(()) => {
            let _ = pipeline.inner.outbox_wake.try_send(());
            Verdict::ok()
        }
        Err(e) => {
            tracing::warn!("webhook outbox commit failed: {e}");
            Verdict::new(451, "4.3.0", "Handler unavailable, try again later")
        }
    };
    for i in outbox_rcpts {
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
