//! Eventual consistency in refresh: a resource created moments ago that a read does not find
//! is most likely not listed yet, not deleted outside girder.
//!
//! Forgetting it would be expensive: the next apply creates it again and the original leaks,
//! still tagged, still billed. So within a window after its creation (recorded in the state,
//! judged by the injected [`Clock`](crate::clock::Clock)) refresh re-reads such a resource with
//! backoff for a bounded time and, if it still does not show, keeps the record and warns. Past
//! the window, absence means deletion, as before.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::apply::RetryPolicy;
use crate::clock::age;
use crate::provider::{Observed, ProviderError, ReadItem, ReadRequest};
use crate::refresh::{READ_TIMEOUT, read_with_retries};
use crate::registry::Configured;
use crate::state::ResourceState;

/// How refresh treats a young resource that a read does not find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Consistency {
    /// How long after its creation a resource that a read does not find is taken to be not
    /// visible yet rather than deleted outside girder. Default five minutes: AWS's listings
    /// usually catch up within seconds, rarely within minutes.
    pub window: Duration,
    /// How long refresh re-reads such a resource before it keeps the record and warns.
    /// Default thirty seconds.
    pub recheck_for: Duration,
    /// The delay before the first re-read; it doubles, up to five seconds.
    pub first_delay: Duration,
}

impl Default for Consistency {
    fn default() -> Self {
        Consistency {
            window: Duration::from_secs(5 * 60),
            recheck_for: Duration::from_secs(30),
            first_delay: Duration::from_millis(500),
        }
    }
}

const MAX_DELAY: Duration = Duration::from_secs(5);

/// One refresh batch's view of young resources: the provider and type it read, and what
/// "young" means now.
pub(crate) struct Young<'a> {
    /// The provider the batch was read through.
    pub configured: &'a Configured,
    /// The type of every resource of the batch.
    pub type_name: &'a str,
    /// The stack (for identities).
    pub stack: &'a str,
    /// The wall-clock time of the refresh.
    pub now: SystemTime,
    /// The window and the re-read budget.
    pub consistency: Consistency,
    /// The retry policy of each re-read.
    pub retry: RetryPolicy,
}

impl Young<'_> {
    /// Takes a batch's read results (`items`, in the order of `chunk`) and re-reads the young
    /// resources among the missing ones. Returns the results and, per item, whether a missing
    /// resource is kept as not visible yet (rather than taken for deleted).
    pub(crate) async fn settle(
        &self,
        chunk: &[&ResourceState],
        mut items: Vec<Option<Observed>>,
    ) -> Result<(Vec<Option<Observed>>, Vec<bool>), ProviderError> {
        let young: Vec<usize> = (0..chunk.len())
            .filter(|&i| {
                items[i].is_none()
                    && age(chunk[i].created_at.as_deref(), self.now)
                        .is_some_and(|age| age < self.consistency.window)
            })
            .collect();
        let mut kept = vec![false; chunk.len()];
        if young.is_empty() {
            return Ok((items, kept));
        }
        let resources: Vec<&ResourceState> = young.iter().map(|&i| chunk[i]).collect();
        let found = self.recheck(&resources).await?;
        for (&i, observed) in young.iter().zip(found) {
            if observed.is_none() {
                tracing::warn!(resource = %chunk[i].name, id = %chunk[i].id,
                    "created moments ago but not found yet; keeping it (the cloud may not list it yet)");
                kept[i] = true;
            }
            items[i] = observed;
        }
        Ok((items, kept))
    }

    /// Re-reads `resources` (young ones a read did not find) with growing delays until each
    /// shows or `recheck_for` has passed. Returns what each read found, in order; `None` for
    /// those still not visible.
    async fn recheck(
        &self,
        resources: &[&ResourceState],
    ) -> Result<Vec<Option<Observed>>, ProviderError> {
        let (consistency, stack) = (self.consistency, self.stack);
        let started = Instant::now();
        let mut found: Vec<Option<Observed>> = vec![None; resources.len()];
        let mut delay = consistency.first_delay;
        loop {
            let missing: Vec<usize> = (0..resources.len())
                .filter(|&i| found[i].is_none())
                .collect();
            if missing.is_empty() || started.elapsed() + delay > consistency.recheck_for {
                return Ok(found);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_DELAY);
            let request = ReadRequest {
                type_name: self.type_name.to_owned(),
                items: missing
                    .iter()
                    .map(|&i| ReadItem {
                        identity: resources[i].identity(stack),
                        id: resources[i].id.clone(),
                        inputs: Some(resources[i].inputs.reveal()),
                    })
                    .collect(),
            };
            let response =
                read_with_retries(self.configured, request, self.retry, READ_TIMEOUT).await?;
            for (i, observed) in missing.into_iter().zip(response.items) {
                if observed.is_some() {
                    tracing::info!(resource = %resources[i].name, "visible now");
                }
                found[i] = observed;
            }
        }
    }
}
