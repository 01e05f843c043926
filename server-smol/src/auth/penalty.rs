//! The per-source login penalty, as Dovecot's `auth_penalty` does it.
//!
//! Every failed login from a source doubles the time its next login waits
//! before its password is even checked, counted from that failure: after
//! one failure twice `failure_delay_ms`, after two four times, and so on up
//! to `penalty_max_ms`. With the failure delay itself (paid before the
//! failure is answered) the logins from one source then take 1, 2, 4, 8,
//! 15, 15, ... seconds with the defaults (Dovecot: 2 s doubling to 15 s).
//! Someone who mistyped once and tries again a few seconds later waits for
//! nothing. A successful
//! login from the source forgets its failures (as Dovecot does); failures
//! older than [`FORGET_AFTER`] are forgotten too.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures older than this no longer count (Dovecot's
/// `AUTH_PENALTY_TIMEOUT`).
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// How many sources are remembered at most (~50 bytes each: a few MiB).
/// When full, the least recently failed half is forgotten.
const MAX_SOURCES: usize = 65_536;

/// Beyond this many failures the penalty no longer grows anyway.
const MAX_FAILURES: u32 = 32;

#[derive(Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
}

/// Failed logins per source.
pub struct Penalty {
    initial: Duration,
    max: Duration,
    sources: Mutex<HashMap<IpAddr, Entry>>,
}

impl Penalty {
    /// A penalty of `initial` doubled per failure, up to `max`; a zero
    /// `initial` or `max` turns it off.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Penalty {
            initial,
            max,
            sources: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Entry>> {
        self.sources.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The penalty after `failures` failures: `initial * 2^failures`, capped.
    fn penalty(&self, failures: u32) -> Duration {
        if failures == 0 || self.initial.is_zero() {
            return Duration::ZERO;
        }
        let factor = 1u32 << failures.min(20);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// How long a login from `source` must wait now before it is checked.
    pub fn delay(&self, source: IpAddr, now: Instant) -> Duration {
        let Some(entry) = self.lock().get(&source).copied() else {
            return Duration::ZERO;
        };
        let until = entry.last + self.penalty(entry.failures);
        until.saturating_duration_since(now)
    }

    /// Recent failures of `source` (0 when none or forgotten).
    pub fn failures(&self, source: IpAddr, now: Instant) -> u32 {
        match self.lock().get(&source) {
            Some(e) if now.saturating_duration_since(e.last) < FORGET_AFTER => e.failures,
            _ => 0,
        }
    }

    /// Records a failed login from `source`.
    pub fn failed(&self, source: IpAddr, now: Instant) {
        let mut sources = self.lock();
        if sources.len() >= MAX_SOURCES && !sources.contains_key(&source) {
            forget_oldest(&mut sources, now);
        }
        let entry = sources.entry(source).or_insert(Entry {
            failures: 0,
            last: now,
        });
        if now.saturating_duration_since(entry.last) >= FORGET_AFTER {
            entry.failures = 0;
        }
        entry.failures = (entry.failures + 1).min(MAX_FAILURES);
        entry.last = now;
    }

    /// Records a successful login from `source`: its failures are forgotten.
    pub fn succeeded(&self, source: IpAddr) {
        let mut sources = self.lock();
        if !sources.is_empty() {
            sources.remove(&source);
        }
    }
}

/// Drops expired sources, then, if still more than half full, the half
/// that failed least recently.
fn forget_oldest(sources: &mut HashMap<IpAddr, Entry>, now: Instant) {
    sources.retain(|_, e| now.saturating_duration_since(e.last) < FORGET_AFTER);
    if sources.len() < MAX_SOURCES / 2 {
        return;
    }
    let mut times: Vec<Instant> = sources.values().map(|e| e.last).collect();
    let mid = times.len() / 2;
    let (_, cut, _) = times.select_nth_unstable(mid);
    let cut = *cut;
    sources.retain(|_, e| e.last > cut);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_per_failure_up_to_the_cap_and_counts_from_the_last_failure() {
        let p = Penalty::new(Duration::from_secs(1), Duration::from_secs(15));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        assert_eq!(p.delay(ip, t0), Duration::ZERO);
        let mut want = Vec::new();
        for _ in 0..6 {
            p.failed(ip, t0);
            want.push(p.delay(ip, t0).as_secs());
        }
        assert_eq!(want, [2, 4, 8, 15, 15, 15]);
        assert_eq!(p.delay(ip, t0 + Duration::from_secs(10)).as_secs(), 5);
        assert_eq!(p.delay(ip, t0 + Duration::from_secs(20)), Duration::ZERO);
        assert_eq!(p.failures(ip, t0), 6);
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(p.delay(other, t0), Duration::ZERO);
        p.succeeded(ip);
        assert_eq!(p.failures(ip, t0), 0);
        assert_eq!(p.delay(ip, t0), Duration::ZERO);
    }

    #[test]
    fn zero_turns_it_off_and_old_failures_are_forgotten() {
        let off = Penalty::new(Duration::ZERO, Duration::from_secs(15));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        off.failed(ip, t0);
        assert_eq!(off.delay(ip, t0), Duration::ZERO);
        let p = Penalty::new(Duration::from_secs(1), Duration::from_secs(15));
        p.failed(ip, t0);
        p.failed(ip, t0);
        let later = t0 + FORGET_AFTER;
        assert_eq!(p.failures(ip, later), 0);
        p.failed(ip, later);
        assert_eq!(p.failures(ip, later), 1);
    }

    #[test]
    fn the_table_stays_bounded() {
        let p = Penalty::new(Duration::from_secs(1), Duration::from_secs(15));
        let t0 = Instant::now();
        for i in 0..(MAX_SOURCES as u32 + 10) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(i));
            p.failed(ip, t0 + Duration::from_micros(u64::from(i)));
        }
        assert!(p.lock().len() <= MAX_SOURCES);
        let newest = IpAddr::V4(std::net::Ipv4Addr::from(MAX_SOURCES as u32 + 9));
        assert_eq!(p.failures(newest, t0 + Duration::from_secs(1)), 1);
    }
}
