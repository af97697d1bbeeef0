//! The policy the engine wraps around every provider call: rate limit, time limit, retries
//! with exponential backoff and jitter, and progress reporting.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::events::{Event, EventSink};
use crate::provider::{CallContext, ErrorKind, ProviderError};
use crate::registry::Configured;

/// How transient provider errors are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, including the first.
    pub max_attempts: u32,
    /// Delay before the first retry.
    pub min_delay: Duration,
    /// Longest delay between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// No retries (tests of failure handling).
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .build()
    }

    /// Delays between attempts while the cloud settles: the same growth, capped at
    /// `max_delay`, and never exhausted — the operation's deadline ends them.
    fn settling_delays(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
    }
}

/// Everything one provider call needs besides the call itself.
pub(crate) struct CallPolicy<'a> {
    pub resource: &'a str,
    pub configured: &'a Configured,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Hard abort (second Ctrl-C): long waits inside providers give up.
    pub abort: &'a CancellationToken,
    pub events: &'a Arc<dyn EventSink>,
}

impl CallPolicy<'_> {
    /// Runs `call` until it succeeds, fails permanently, runs out of attempts or time.
    pub async fn run<T, F, Fut>(&self, mut call: F) -> Result<T, ProviderError>
    where
        F: FnMut(CallContext) -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        // tokio's clock, so tests in paused time see deadlines pass without real sleeps.
        let started = Instant::now();
        let deadline = started + self.timeout;
        let mut delays = self.retry.delays();
        let mut settling = self.retry.settling_delays();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.configured.admit().await;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let events = self.events.clone();
            let resource = self.resource.to_owned();
            let progress = Arc::new(move |message: &str| {
                events.emit(Event::ActionProgress {
                    resource: resource.clone(),
                    message: message.to_owned(),
                    elapsed_ms: started.elapsed().as_millis() as u64,
                })
            });
            let ctx = CallContext::new(remaining, self.abort.clone(), progress);
            let error = match tokio::time::timeout(remaining, call(ctx)).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) => error,
                Err(_) => {
                    return Err(ProviderError::new(
                        ErrorKind::Timeout,
                        format!(
                            "did not finish within {}; if it needs longer, raise the resource's time limit with `.timeouts(..)`",
                            humantime::format_duration(self.timeout)
                        ),
                    ));
                }
            };
            // A failure that left a resource behind is never retried: a second attempt would
            // create a duplicate; the engine records the partial resource instead.
            if !error.is_retryable() || error.partial.is_some() || self.abort.is_cancelled() {
                return Err(error);
            }
            // Settling errors are bounded by the deadline alone: AWS takes minutes to drain a
            // NAT gateway's interfaces or propagate a role, far beyond a fixed attempt budget.
            let next = if error.kind == ErrorKind::Settling {
                settling.next()
            } else {
                delays.next()
            };
            let Some(delay) = next else {
                return Err(ProviderError {
                    message: format!("{} (gave up after {attempt} attempts)", error.message),
                    ..error
                });
            };
            if Instant::now() + delay >= deadline {
                return Err(ProviderError {
                    kind: ErrorKind::Timeout,
                    message: format!(
                        "{} (still failing when the time limit of {} ran out)",
                        error.message,
                        humantime::format_duration(self.timeout)
                    ),
                    ..error
                });
            }
            self.events.emit(Event::ActionRetrying {
                resource: self.resource.to_owned(),
                attempt,
                delay_ms: delay.as_millis() as u64,
                error: error.to_string(),
            });
            tokio::time::sleep(delay).await;
        }
    }
}
