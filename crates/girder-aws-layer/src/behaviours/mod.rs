//! The behaviours, one module each. A behaviour may refuse a request before it reaches
//! moto (`check`), and may rewrite what comes back (`rewrite`); the proxy runs them in
//! order and counts each time one fires.

pub(crate) mod consistency;
pub(crate) mod draining;
pub(crate) mod idempotency;
pub(crate) mod lifecycle;
pub(crate) mod lost;
pub(crate) mod propagation;
pub(crate) mod throttling;

use std::time::SystemTime;

use crate::clock::since;
use crate::config::Behaviours;
use crate::protocol::AwsRequest;

/// What every behaviour looks at: the settings, the time and the request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx<'a> {
    pub behaviours: &'a Behaviours,
    pub now: SystemTime,
    pub request: &'a AwsRequest,
}

impl Ctx<'_> {
    /// Whether something that happened at `at` is less than `secs` (scaled) ago.
    pub fn within(&self, at: Option<SystemTime>, secs: f64) -> bool {
        at.is_some_and(|at| since(self.now, at) < self.behaviours.scaled(secs))
    }
}
