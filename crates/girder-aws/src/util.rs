//! Small helpers shared by the resources: polling until a state is reached, keeping list order
//! stable across reads, generated name suffixes.

use std::future::Future;
use std::time::Duration;

use girder_engine::{CallContext, ErrorKind, ProviderError};

/// One look at a resource that is changing state.
#[derive(Debug)]
pub(crate) enum Poll<T> {
    /// The wait is over.
    Ready(T),
    /// Still changing; the current state, for progress messages.
    Pending(String),
}

/// Polls `check` until it is ready, reporting progress and waiting with growing delays
/// (`first`, doubling up to `max`) under the call's deadline and cancellation.
pub(crate) async fn wait_until<T, F, Fut>(
    ctx: &CallContext,
    what: &str,
    first: Duration,
    max: Duration,
    mut check: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, ProviderError>>,
{
    let mut delay = first;
    loop {
        let poll = match check().await {
            // A throttled or failed look, or an id not visible everywhere yet, says nothing
            // about the state being waited for: look again (the deadline still ends the wait).
            Err(error) if error.is_retryable() => Poll::Pending(error.message),
            other => other?,
        };
        match poll {
            Poll::Ready(value) => return Ok(value),
            Poll::Pending(state) => {
                ctx.progress(&format!("waiting for {what} (now {state})"));
                tracing::debug!(%what, %state, "waiting");
                ctx.wait(delay, what).await?;
                delay = (delay * 2).min(max);
            }
        }
    }
}

/// Transient failures (throttling, a 5xx) one step of a create may retry in place.
const STEP_RETRIES: u32 = 8;

/// Runs one step of a create that builds on an object the create already made (an
/// attribute, an attachment, a tag): the engine cannot retry such a step — retrying the whole
/// create would make a second object — so it is retried here, while AWS is still settling
/// ([`ErrorKind::Settling`], until the call's deadline) or failing transiently
/// ([`ErrorKind::Retryable`], a few times). Only the step's own requests repeat.
///
/// [`ErrorKind::Settling`]: girder_engine::ErrorKind::Settling
/// [`ErrorKind::Retryable`]: girder_engine::ErrorKind::Retryable
pub(crate) async fn settle<T, F, Fut>(
    ctx: &CallContext,
    what: &str,
    mut step: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let mut delay = Duration::from_millis(200);
    let mut transient = 0;
    loop {
        let error = match step().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        match error.kind {
            ErrorKind::Settling => {}
            ErrorKind::Retryable if transient < STEP_RETRIES => transient += 1,
            _ => return Err(error),
        }
        if std::time::Instant::now() + delay >= ctx.deadline() {
            return Err(error);
        }
        ctx.progress(&format!("retrying {what}: {}", error.message));
        tracing::debug!(%what, error = %error.message, "retrying a step of a create");
        ctx.wait(delay, what).await?;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// The polling delays for resources that take minutes (NAT gateways, EKS).
pub(crate) const SLOW: (Duration, Duration) = (Duration::from_secs(2), Duration::from_secs(15));

/// `observed` in the order of `recorded` when both hold the same items (AWS returns lists
/// such as subnet ids in its own order; only a real change should show as drift), else
/// sorted.
pub(crate) fn keep_order(recorded: Option<&[String]>, mut observed: Vec<String>) -> Vec<String> {
    if let Some(recorded) = recorded {
        let mut a = recorded.to_vec();
        let mut b = observed.clone();
        a.sort();
        b.sort();
        if a == b {
            return recorded.to_vec();
        }
    }
    observed.sort();
    observed
}

/// A random suffix for generated names (`name_prefix` + suffix), 8 lowercase hex digits.
pub(crate) fn name_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// The prefix a generated name (`<prefix><8 hex digits>`) was made from, if it looks like one
/// (for resources found or imported without recorded inputs).
pub(crate) fn generated_prefix(name: &str) -> Option<&str> {
    let cut = name.len().checked_sub(8)?;
    let (prefix, suffix) = name.split_at_checked(cut)?;
    (prefix.ends_with('-')
        && suffix
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
    .then_some(prefix)
}

/// True if `items` are unique (for duplicate checks in builders).
pub(crate) fn first_duplicate<T: PartialEq>(items: &[T]) -> Option<&T> {
    items
        .iter()
        .enumerate()
        .find(|(i, item)| items[..*i].contains(item))
        .map(|(_, item)| item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_kept_for_equal_sets() {
        let recorded = vec!["b".to_owned(), "a".to_owned()];
        assert_eq!(
            keep_order(Some(&recorded), vec!["a".into(), "b".into()]),
            recorded
        );
        assert_eq!(
            keep_order(Some(&recorded), vec!["c".into(), "a".into()]),
            vec!["a".to_owned(), "c".to_owned()]
        );
    }

    #[test]
    fn suffixes_are_short_and_distinct() {
        let (a, b) = (name_suffix(), name_suffix());
        assert_eq!(a.len(), 8);
        assert_ne!(a, b);
        assert_eq!(first_duplicate(&[1, 2, 1]), Some(&1));
        assert_eq!(first_duplicate(&[1, 2]), None);
        assert_eq!(generated_prefix(&format!("role-{a}")), Some("role-"));
        assert_eq!(generated_prefix("my-role"), None);
    }
}
