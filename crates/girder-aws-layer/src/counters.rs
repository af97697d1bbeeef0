//! Request counters per operation and per behaviour that fired, so a test can report
//! "requests made per behaviour".

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// A snapshot of the counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Requests per service, then per operation.
    pub requests: BTreeMap<String, BTreeMap<String, u64>>,
    /// Times each behaviour fired (`throttling`, `consistency`, …), per `service:Operation`.
    pub behaviours: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Counters {
    /// Requests made to `service` (every operation).
    pub fn requests_to(&self, service: &str) -> u64 {
        self.requests
            .get(service)
            .map(|ops| ops.values().sum())
            .unwrap_or(0)
    }

    /// Requests of one operation.
    pub fn requests_of(&self, service: &str, operation: &str) -> u64 {
        self.requests
            .get(service)
            .and_then(|ops| ops.get(operation))
            .copied()
            .unwrap_or(0)
    }

    /// Times `behaviour` fired (every operation).
    pub fn fired(&self, behaviour: &str) -> u64 {
        self.behaviours
            .get(behaviour)
            .map(|ops| ops.values().sum())
            .unwrap_or(0)
    }
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    counters: Mutex<Counters>,
}

impl Tally {
    pub fn request(&self, service: &str, operation: &str) {
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *c.requests
            .entry(service.to_owned())
            .or_default()
            .entry(operation.to_owned())
            .or_default() += 1;
    }

    pub fn fired(&self, behaviour: &str, key: &str) {
        tracing::debug!(behaviour, operation = key, "behaviour fired");
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *c.behaviours
            .entry(behaviour.to_owned())
            .or_default()
            .entry(key.to_owned())
            .or_default() += 1;
    }

    pub fn snapshot(&self) -> Counters {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn reset(&self) {
        *self.counters.lock().unwrap_or_else(|e| e.into_inner()) = Counters::default();
    }
}
