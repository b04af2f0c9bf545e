//! Per-caller rate limits: a token bucket (GCRA, the `governor` crate) per caller name, or per
//! client address when authentication is off. A request past the bucket gets 429 with
//! `Retry-After`; the global in-flight limit (503) stays as it is.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The buckets, one per key.
#[derive(Debug)]
pub struct Limiter {
    buckets: DefaultKeyedRateLimiter<Arc<str>>,
    clock: DefaultClock,
}

impl Limiter {
    /// `per_second` requests per second on average, `burst` at once; `None` when off
    /// (`per_second` 0).
    pub fn new(per_second: f64, burst: u32) -> Option<Arc<Limiter>> {
        if per_second <= 0.0 {
            return None;
        }
        let period = Duration::from_secs_f64(1.0 / per_second);
        let quota = Quota::with_period(period)?.allow_burst(NonZeroU32::new(burst.max(1))?);
        Some(Arc::new(Limiter {
            buckets: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }))
    }

    /// `Ok` when `key` may proceed now; else how long until it may.
    pub fn check(&self, key: &Arc<str>) -> Result<(), Duration> {
        self.buckets
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets buckets that are full again (keeps memory flat with many client addresses).
    pub fn shrink(&self) {
        self.buckets.retain_recent();
        self.buckets.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_says_how_long_to_wait() {
        let limiter = Limiter::new(1.0, 2).unwrap();
        let a: Arc<str> = "a".into();
        let b: Arc<str> = "b".into();
        assert!(limiter.check(&a).is_ok());
        assert!(limiter.check(&a).is_ok());
        let wait = limiter.check(&a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(
            limiter.check(&b).is_ok(),
            "another caller has its own bucket"
        );
        assert!(Limiter::new(0.0, 5).is_none(), "0 per second is off");
    }
}
