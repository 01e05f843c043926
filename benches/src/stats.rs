//! Latency percentiles.

use std::time::Duration;

/// p50/p90/p99/max of a set of latencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest sample.
    pub max: Duration,
}

impl Percentiles {
    /// Computes the percentiles (nearest-rank method); all zero when empty.
    #[must_use]
    pub fn of(samples: &mut [Duration]) -> Self {
        samples.sort_unstable();
        let rank = |p: usize| -> Duration {
            if samples.is_empty() {
                return Duration::ZERO;
            }
            // Nearest rank: ceil(p/100 * n), 1-based.
            let r = (p * samples.len()).div_ceil(100).max(1);
            samples[r - 1]
        };
        Self {
            p50: rank(50),
            p90: rank(90),
            p99: rank(99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let mut v: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!(p.p50, Duration::from_millis(50));
        assert_eq!(p.p90, Duration::from_millis(90));
        assert_eq!(p.p99, Duration::from_millis(99));
        assert_eq!(p.max, Duration::from_millis(100));
        assert_eq!(Percentiles::of(&mut []), Percentiles::default());
        let mut one = [Duration::from_millis(7)];
        assert_eq!(Percentiles::of(&mut one).p50, Duration::from_millis(7));
    }
}
