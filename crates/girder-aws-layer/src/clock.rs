//! Time as the layer sees it: real by default, manual in tests so they never sleep.
//!
//! Every behaviour with a duration (a cluster that is `CREATING` for ten minutes, an id that
//! is invisible for five seconds, a token bucket that refills) asks the layer's [`Clock`], so
//! a test can move time forward with [`ManualClock::advance`] instead of waiting.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// The source of "now" for every behaviour.
pub trait Clock: Send + Sync + Debug {
    /// The current time. It must never go backwards.
    fn now(&self) -> SystemTime;
}

/// Wall-clock time that never goes backwards: the system time at start plus a monotonic
/// elapsed time.
#[derive(Debug)]
pub struct RealClock {
    started: Instant,
    started_at: SystemTime,
}

impl RealClock {
    /// A clock starting now.
    pub fn new() -> RealClock {
        RealClock {
            started: Instant::now(),
            started_at: SystemTime::now(),
        }
    }
}

impl Default for RealClock {
    fn default() -> Self {
        RealClock::new()
    }
}

impl Clock for RealClock {
    fn now(&self) -> SystemTime {
        self.started_at + self.started.elapsed()
    }
}

/// A clock that moves only when told to, for deterministic tests.
///
/// ```
/// use std::time::Duration;
/// use girder_aws_layer::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let before = clock.now();
/// clock.advance(Duration::from_secs(600));
/// assert_eq!(clock.now().duration_since(before).unwrap(), Duration::from_secs(600));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A manual clock set to the current system time.
    pub fn new() -> ManualClock {
        ManualClock {
            now: Mutex::new(SystemTime::now()),
        }
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How long ago `then` was, as seen from `now` (zero when `then` is in the future).
pub(crate) fn since(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or_default()
}

/// Seconds since the Unix epoch, as AWS JSON protocols write timestamps.
pub(crate) fn epoch_seconds(at: SystemTime) -> f64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}
