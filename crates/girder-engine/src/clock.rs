//! The wall clock the engine reads when it records or judges *when* something happened (a
//! resource's creation time, the age of a resource refresh cannot see yet). Injected through
//! [`EngineContext`](crate::EngineContext), so tests set the time instead of racing it.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// A source of the current wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// The current time in RFC 3339 with milliseconds, as the state records times.
    fn now_rfc3339(&self) -> String {
        humantime::format_rfc3339_millis(self.now()).to_string()
    }
}

/// The system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until told to move (tests).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: SystemTime) -> ManualClock {
        ManualClock {
            now: Mutex::new(at),
        }
    }

    /// A clock showing a fixed time (2026-12-01T00:00:00Z).
    pub fn fixed() -> ManualClock {
        ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_083_200))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The age of a recorded RFC 3339 time at `now`; `None` if it does not parse (older states
/// record no creation time) or lies in the future.
pub(crate) fn age(recorded: Option<&str>, now: SystemTime) -> Option<Duration> {
    let at = humantime::parse_rfc3339_weak(recorded?).ok()?;
    now.duration_since(at).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_of_recorded_times() {
        let clock = ManualClock::fixed();
        let created = clock.now_rfc3339();
        clock.advance(Duration::from_secs(90));
        assert_eq!(
            age(Some(&created), clock.now()),
            Some(Duration::from_secs(90))
        );
        assert_eq!(age(None, clock.now()), None);
        assert_eq!(age(Some("yesterday"), clock.now()), None);
    }
}
