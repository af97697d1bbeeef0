//! Waiting until a resource is ready: the polling loop every provider's long operations use
//! ("wait for the cluster to become ACTIVE"), so each one polls the same way.
//!
//! The loop looks through passing errors. A describe call that answers 503 for ten seconds in
//! the middle of a twelve-minute EKS create says nothing about the cluster; giving up on it
//! would leave a healthy resource tainted and make the next apply replace it. So retryable and
//! settling errors are reported as progress and polled through; only the deadline, an abort,
//! or an error that is not transient ends the wait early.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::provider::{CallContext, ErrorKind, ProviderError};

/// One look at a resource that is changing state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Poll<T> {
    /// The wait is over.
    Ready(T),
    /// Still changing; the current state ("CREATING"), for progress messages.
    Pending(String),
}

/// How often to look: the first delay, doubling up to the longest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollDelays {
    /// Delay after the first look.
    pub first: Duration,
    /// Longest delay between looks.
    pub max: Duration,
}

impl PollDelays {
    /// Delays from `first`, doubling up to `max`.
    pub fn new(first: Duration, max: Duration) -> PollDelays {
        PollDelays { first, max }
    }
}

impl CallContext {
    /// Polls `check` until it reports [`Poll::Ready`], waiting with growing delays under the
    /// call's deadline and cancellation and reporting progress.
    ///
    /// An error of `check` that is retryable or settling ([`ProviderError::is_retryable`]) is
    /// a hiccup of the look, not news about the resource: it is logged, reported as progress
    /// and polled through until the deadline. Any other error ends the wait and is returned
    /// as is. When the deadline passes, the error is [`ErrorKind::Timeout`] and names the last
    /// state seen and the last hiccup, if the final looks failed.
    pub async fn poll_until<T, F, Fut>(
        &self,
        what: &str,
        delays: PollDelays,
        mut check: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>, ProviderError>>,
    {
        let started = Instant::now();
        let mut delay = delays.first;
        let mut last_state: Option<String> = None;
        let mut hiccup: Option<ProviderError>;
        let mut hiccups = 0u32;
        loop {
            match check().await {
                Ok(Poll::Ready(value)) => {
                    if hiccups > 0 {
                        tracing::info!(%what, hiccups, "ready after polling through transient errors");
                    }
                    return Ok(value);
                }
                Ok(Poll::Pending(state)) => {
                    self.progress(&format!("waiting for {what} (now {state})"));
                    tracing::debug!(%what, %state, "waiting");
                    last_state = Some(state);
                    hiccup = None;
                }
                // A failure that left something behind is the caller's to report, never a
                // look to repeat.
                Err(error) if error.is_retryable() && error.partial.is_none() => {
                    hiccups += 1;
                    tracing::warn!(%what, %error, "a look failed while waiting; polling on");
                    self.progress(&format!(
                        "waiting for {what} (a look failed: {error}; trying again)"
                    ));
                    hiccup = Some(error);
                }
                Err(error) => return Err(error),
            }
            if let Err(stop) = self.wait(delay, what).await {
                return Err(timed_out(stop, started, last_state, hiccup));
            }
            delay = (delay * 2).min(delays.max.max(delays.first));
        }
    }
}

/// The error a wait ends with: a timeout says how long it waited and what it last saw.
fn timed_out(
    stop: ProviderError,
    started: Instant,
    last_state: Option<String>,
    hiccup: Option<ProviderError>,
) -> ProviderError {
    if stop.kind != ErrorKind::Timeout {
        return stop;
    }
    let mut message = format!(
        "{} after {}",
        stop.message,
        humantime::format_duration(Duration::from_secs(started.elapsed().as_secs()))
    );
    if let Some(state) = last_state {
        message.push_str(&format!("; last seen {state}"));
    }
    if let Some(hiccup) = hiccup {
        message.push_str(&format!("; the last look failed: {hiccup}"));
    }
    ProviderError { message, ..stop }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    const DELAYS: PollDelays = PollDelays {
        first: Duration::from_secs(2),
        max: Duration::from_secs(15),
    };

    #[tokio::test(start_paused = true)]
    async fn polls_through_retryable_and_settling_errors() {
        let ctx = CallContext::detached(Duration::from_secs(12 * 60));
        let looks = AtomicU32::new(0);
        let ready = ctx
            .poll_until("the cluster", DELAYS, || async {
                match looks.fetch_add(1, Ordering::SeqCst) {
                    0..3 => Ok(Poll::Pending("CREATING".into())),
                    3..6 => Err(ProviderError::retryable("503 Service Unavailable")),
                    6 => Err(ProviderError::settling("not listed yet")),
                    7..9 => Ok(Poll::Pending("CREATING".into())),
                    _ => Ok(Poll::Ready("ACTIVE")),
                }
            })
            .await
            .unwrap();
        assert_eq!(ready, "ACTIVE");
        assert_eq!(looks.load(Ordering::SeqCst), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_error_ends_the_wait() {
        let ctx = CallContext::detached(Duration::from_secs(600));
        let error = ctx
            .poll_until("the cluster", DELAYS, || async {
                Err::<Poll<()>, _>(ProviderError::permanent("FAILED"))
            })
            .await
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Permanent);
    }

    #[tokio::test(start_paused = true)]
    async fn errors_until_the_deadline_end_in_a_timeout_naming_them() {
        let ctx = CallContext::detached(Duration::from_secs(60));
        let error = ctx
            .poll_until("the cluster", DELAYS, || async {
                Err::<Poll<()>, _>(ProviderError::retryable("503 Service Unavailable"))
            })
            .await
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Timeout);
        assert!(error.message.contains("after 1m"), "{}", error.message);
        assert!(error.message.contains("503"), "{}", error.message);
    }
}
