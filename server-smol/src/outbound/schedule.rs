//! The retry schedule of `[outbound]` (docs/DESIGN.md §5.2): `retry` lists the
//! delay before attempt 2, 3, …, the last one repeating; after `expire`
//! (counted from when the message was queued) a temporary failure becomes
//! a permanent one; a "delayed" DSN goes out once per recipient after
//! `delay_notice` (RFC 3461 NOTIFY=DELAY, on by default).
//!
//! Pure functions of Unix seconds, so the worker loop and its tests agree.

use std::time::Duration;

use maildir::{Outcome, QueuedMessage, QueuedRecipient, RecipientState};

use crate::config::OutboundConfig;

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The delay before the next attempt, after `attempts` attempts (≥ 1).
#[must_use]
pub fn retry_delay(attempts: u32, retry: &[Duration]) -> Duration {
    let i = usize::try_from(attempts.saturating_sub(1)).unwrap_or(usize::MAX);
    retry
        .get(i)
        .or(retry.last())
        .copied()
        .unwrap_or(Duration::from_secs(60))
}

/// What a temporary failure (4xx, no connection) at `now` becomes for a
/// recipient that had `attempts` attempts before this one: deferred on
/// the schedule, or failed once `expire` has passed since `created`.
#[must_use]
pub fn temporary_failure(
    config: &OutboundConfig,
    created: i64,
    attempts: u32,
    now: i64,
    error: &str,
) -> Outcome {
    if now.saturating_sub(created) >= secs(config.expire) {
        return Outcome::Failed {
            error: format!(
                "{error} (gave up after {attempts} attempts: queue lifetime expired)",
                attempts = attempts + 1
            ),
        };
    }
    let delay = retry_delay(attempts + 1, &config.retry);
    Outcome::Deferred {
        next_attempt: now.saturating_add(secs(delay)),
        error: error.to_owned(),
    }
}

/// Whether the "delayed" DSN is due for this recipient now: it is still
/// waiting, has not been reported, wants DELAY notices, the message may be
/// reported on (not a DSN, not from `<>`), and `delay_notice` has passed.
#[must_use]
pub fn delay_notice_due(
    config: &OutboundConfig,
    message: &QueuedMessage,
    recipient: &QueuedRecipient,
    now: i64,
) -> bool {
    message.reportable()
        && recipient.state == RecipientState::Deferred
        && !recipient.delay_reported
        && recipient.effective_notify().delay
        && now.saturating_sub(message.created) >= secs(config.delay_notice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use maildir::{Notify, QueueId};

    fn config() -> OutboundConfig {
        OutboundConfig {
            retry: vec![Duration::from_secs(60), Duration::from_secs(300)],
            expire: Duration::from_secs(3600),
            delay_notice: Duration::from_secs(600),
            ..OutboundConfig::default()
        }
    }

    #[test]
    fn delays_follow_the_list_and_the_last_repeats() {
        let c = config();
        assert_eq!(retry_delay(1, &c.retry), Duration::from_secs(60));
        assert_eq!(retry_delay(2, &c.retry), Duration::from_secs(300));
        assert_eq!(retry_delay(9, &c.retry), Duration::from_secs(300));
        assert_eq!(
            temporary_failure(&c, 1000, 0, 1000, "421 busy"),
            Outcome::Deferred {
                next_attempt: 1060,
                error: "421 busy".into()
            }
        );
        assert_eq!(
            temporary_failure(&c, 1000, 1, 1100, "421 busy"),
            Outcome::Deferred {
                next_attempt: 1400,
                error: "421 busy".into()
            }
        );
        assert_eq!(
            temporary_failure(&c, 1000, 7, 4600, "421 busy"),
            Outcome::Failed {
                error: "421 busy (gave up after 8 attempts: queue lifetime expired)".into()
            }
        );
    }

    #[test]
    fn delay_notices_once_and_only_when_wanted() {
        let c = config();
        let mut m = QueuedMessage {
            id: QueueId(1),
            sender: Some("a@localhost".into()),
            envid: None,
            ret: None,
            is_dsn: false,
            created: 0,
            size: 1,
            recipients: Vec::new(),
        };
        let mut r = QueuedRecipient {
            index: 0,
            address: "b@x".into(),
            notify: None,
            orcpt: None,
            state: RecipientState::Deferred,
            attempts: 3,
            next_attempt: 900,
            last_error: "451".into(),
            delay_reported: false,
        };
        assert!(!delay_notice_due(&c, &m, &r, 599));
        assert!(delay_notice_due(&c, &m, &r, 600));
        r.delay_reported = true;
        assert!(!delay_notice_due(&c, &m, &r, 700));
        r.delay_reported = false;
        r.notify = Some(Notify::NEVER);
        assert!(!delay_notice_due(&c, &m, &r, 700));
        r.notify = None;
        m.sender = None;
        assert!(!delay_notice_due(&c, &m, &r, 700));
    }
}
