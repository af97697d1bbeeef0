//! The emulator's wall clock, behind a trait so that tests of time-based behaviour (token
//! expiry, the namespace controller's delay) move time forward instead of sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Where the emulator reads the time for token validity windows and the namespace
/// controller. (Rollout steps and the other simulated controllers use the monotonic clock.)
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use girder_kube_emulator::{Clock, ManualClock};
///
/// let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
/// let before = clock.now();
/// clock.advance(Duration::from_secs(901));
/// assert_eq!(clock.now().duration_since(before).unwrap(), Duration::from_secs(901));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    /// A clock standing at the current system time.
    pub fn starting_now() -> ManualClock {
        ManualClock::new(SystemTime::now())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock (also backwards).
    pub fn set(&self, to: SystemTime) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The clock the emulator uses unless told otherwise.
pub(crate) fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
