//! A circuit breaker in front of the model: after `threshold` consecutive failures the model is
//! skipped for a cool-down; then one trial call is let through (half-open), and its outcome
//! closes or re-opens the breaker.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_in_flight: bool },
}

/// A consecutive-failure circuit breaker with a cool-down and a half-open trial.
#[derive(Debug)]
pub struct Breaker {
    state: Mutex<State>,
    threshold: u32,
    cooldown: Duration,
}

impl Breaker {
    /// Opens after `threshold` consecutive failures, for `cooldown`.
    pub fn new(threshold: std::num::NonZeroU32, cooldown: Duration) -> Breaker {
        Breaker {
            state: Mutex::new(State::Closed { failures: 0 }),
            threshold: threshold.get(),
            cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the state itself is always valid.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a call may go to the model now. In the half-open state only one trial goes.
    pub fn allow(&self) -> bool {
        let mut s = self.lock();
        match *s {
            State::Closed { .. } => true,
            State::Open { until } if Instant::now() >= until => {
                *s = State::HalfOpen {
                    trial_in_flight: true,
                };
                true
            }
            State::Open { .. } => false,
            State::HalfOpen {
                trial_in_flight: true,
            } => false,
            State::HalfOpen {
                trial_in_flight: false,
            } => {
                *s = State::HalfOpen {
                    trial_in_flight: true,
                };
                true
            }
        }
    }

    /// A call succeeded: close.
    /// Whether calls are being skipped right now (open, cool-down not over), without taking the
    /// half-open trial.
    pub fn is_open(&self) -> bool {
        matches!(*self.lock(), State::Open { until } if Instant::now() < until)
    }

    /// A call succeeded: close.
    pub fn success(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    /// A call failed: count it, and open at the threshold (or when a trial fails).
    pub fn failure(&self) {
        let mut s = self.lock();
        *s = match *s {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            previous => {
                if !matches!(previous, State::Open { .. }) {
                    tracing::warn!(
                        cooldown_s = self.cooldown.as_secs_f64(),
                        "circuit breaker open: skipping the model"
                    );
                }
                State::Open {
                    until: Instant::now() + self.cooldown,
                }
            }
        };
    }

    /// `closed`, `open` or `half_open`, for probes and metrics.
    pub fn state(&self) -> &'static str {
        match *self.lock() {
            State::Closed { .. } => "closed",
            State::Open { until } if Instant::now() >= until => "half_open",
            State::Open { .. } => "open",
            State::HalfOpen { .. } => "half_open",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_and_closes_after_a_good_trial() {
        let b = Breaker::new(
            std::num::NonZeroU32::new(3).unwrap(),
            Duration::from_secs(30),
        );
        b.failure();
        b.failure();
        b.success();
        b.failure();
        b.failure();
        assert!(b.allow(), "a success resets the count");
        b.failure();
        assert_eq!(b.state(), "open");
        assert!(!b.allow());

        tokio::time::advance(Duration::from_secs(31)).await;
        assert!(b.allow(), "one trial after the cool-down");
        assert!(!b.allow(), "only one trial at a time");
        b.success();
        assert_eq!(b.state(), "closed");
        assert!(b.allow());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_trial_reopens_for_another_cooldown() {
        let b = Breaker::new(std::num::NonZeroU32::MIN, Duration::from_secs(10));
        b.failure();
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(b.allow());
        b.failure();
        assert_eq!(b.state(), "open");
        assert!(!b.allow());
    }
}
