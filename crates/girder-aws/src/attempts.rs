//! Create attempts: the idempotency token of each create, recorded before its request is
//! sent, so a create the engine retries after a lost response makes the same object again
//! instead of a second one.
//!
//! APIs with an idempotency token (`ClientToken`, `clientRequestToken`) get the attempt's
//! token, and AWS answers the retry with the object the first request made. APIs without one
//! (`CreateVpc`, `CreateSubnet`, …) tag the object at creation with [`CREATE_TOKEN_TAG`]; a
//! retry whose earlier request may have acted first looks for that tag — through EC2's
//! consistency window, because a filtered describe right after a create may not list the
//! new object yet — and adopts what it finds.
//!
//! The engine already asks `find` for an untracked object with the resource's identity
//! before it retries a create; this is the second half: `find` can miss a young object, and
//! only the token tells a lost create's object from an older copy (the one a replacement
//! replaces carries the same identity tags).

use std::collections::HashMap;
use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use girder_engine::{CallContext, ProviderError, ResourceIdentity};

use crate::error::outcome_unknown;

/// The tag that carries a create's token on objects whose create API takes none.
pub(crate) const CREATE_TOKEN_TAG: &str = "girder:create-token";

/// How long a filtered describe may leave out a new object. EC2 documents eventual
/// consistency "of a few seconds"; this covers the slow tail, bounded by the call's deadline.
pub(crate) const CONSISTENCY_WINDOW: Duration = Duration::from_secs(30);

/// A recorded attempt is reused only this long: the engine retries a create within its time
/// limit, and an older record belongs to a create that was settled some other way (adopted
/// by the engine's `find`, or abandoned).
const REUSE_FOR: Duration = Duration::from_secs(60 * 60);

#[derive(Debug)]
struct Entry {
    token: String,
    inputs: u64,
    started: Instant,
    outcome_unknown: bool,
}

/// The creates of one provider instance whose outcome is not settled yet.
#[derive(Debug, Default)]
pub(crate) struct Attempts {
    entries: Mutex<HashMap<String, Entry>>,
}

/// One create of one resource.
#[derive(Debug)]
pub(crate) struct CreateAttempt {
    key: String,
    token: String,
    after_unknown: bool,
}

fn fingerprint(value: &impl serde::Serialize) -> u64 {
    let mut hasher = DefaultHasher::new();
    serde_json::to_string(value)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

impl Attempts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts (or continues) the create of `identity` with `inputs`: the same token as the
    /// attempt before it while that one's outcome is open, a fresh one otherwise. The record
    /// is made before the request is sent, so a request cut off by a time limit still counts
    /// as possibly acted on.
    pub fn begin(
        &self,
        identity: &ResourceIdentity,
        inputs: &impl serde::Serialize,
    ) -> CreateAttempt {
        let key = Self::key(identity);
        let inputs = fingerprint(inputs);
        let mut entries = self.lock();
        let reusable = entries
            .get(&key)
            .is_some_and(|e| e.inputs == inputs && e.started.elapsed() < REUSE_FOR);
        if !reusable {
            let attempt = uuid::Uuid::new_v4().simple().to_string();
            let mut urn = DefaultHasher::new();
            key.hash(&mut urn);
            entries.insert(
                key.clone(),
                Entry {
                    // The resource's urn and the attempt, within the 64 characters EC2 takes.
                    token: format!("{:016x}-{attempt}", urn.finish()),
                    inputs,
                    started: Instant::now(),
                    outcome_unknown: false,
                },
            );
        }
        let entry = entries.get_mut(&key).expect("inserted above");
        let after_unknown = entry.outcome_unknown;
        entry.outcome_unknown = true;
        CreateAttempt {
            key,
            token: entry.token.clone(),
            after_unknown,
        }
    }

    /// Records how the create request went: made (the attempt is over), refused before AWS
    /// acted (throttled, invalid: the next attempt need not look), or unknown (a 5xx or a
    /// broken connection: the next attempt looks for the object first).
    pub fn sent<T>(
        &self,
        attempt: &CreateAttempt,
        result: Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let mut entries = self.lock();
        match &result {
            Ok(_) => {
                entries.remove(&attempt.key);
            }
            Err(error) => {
                if let Some(entry) = entries.get_mut(&attempt.key) {
                    entry.outcome_unknown = attempt.after_unknown || outcome_unknown(error);
                }
            }
        }
        result
    }

    /// Adopts what an earlier request of this create made (found by `lookup`, through the
    /// consistency window), or makes the object with `create` and records the outcome: the
    /// one shape of every create whose API takes no idempotency token.
    pub async fn adopt_or_create<T, F, Fut, C, CFut>(
        &self,
        attempt: &CreateAttempt,
        ctx: &CallContext,
        what: &str,
        lookup: F,
        create: C,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, ProviderError>>,
        C: FnOnce() -> CFut,
        CFut: Future<Output = Result<T, ProviderError>>,
    {
        if let Some(found) = attempt.find_earlier(ctx, what, lookup).await? {
            self.settled(attempt);
            return Ok(found);
        }
        self.sent(attempt, create().await)
    }

    /// True if an EC2 object (its `tags`) was made by a create of `identity` that is still
    /// open in this process. `find` leaves such an object to that create: the create adopts
    /// it by its token and finishes setting it up (DNS attributes, an attachment), which an
    /// adoption by `find` would skip.
    pub fn made_by_open_create(
        &self,
        identity: &ResourceIdentity,
        tags: &[aws_sdk_ec2::types::Tag],
    ) -> bool {
        let key = Self::key(identity);
        let entries = self.lock();
        let Some(entry) = entries.get(&key) else {
            return false;
        };
        tags.iter()
            .any(|t| t.key() == Some(CREATE_TOKEN_TAG) && t.value() == Some(entry.token.as_str()))
    }

    /// The token of a create of `identity` still open in this process, if any. `find` leaves
    /// what that create made to it: the create adopts it (by name or token) and waits until
    /// it is ready, which an adoption by `find` would skip.
    pub fn open_token(&self, identity: &ResourceIdentity) -> Option<String> {
        self.lock()
            .get(&Self::key(identity))
            .map(|entry| entry.token.clone())
    }

    fn key(identity: &ResourceIdentity) -> String {
        format!(
            "{}\u{0}{}\u{0}{}",
            identity.stack, identity.type_name, identity.name
        )
    }

    /// Ends the attempt: the object was adopted or the create gave up for good.
    pub fn settled(&self, attempt: &CreateAttempt) {
        self.lock().remove(&attempt.key);
    }
}

impl CreateAttempt {
    /// The idempotency token: the same for every retry of this create.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The last eight characters of the token: the suffix of a generated name, so a retry
    /// names the same object instead of a second one.
    pub fn suffix(&self) -> &str {
        &self.token[self.token.len().saturating_sub(8)..]
    }

    /// True if an earlier request of this create may have made the object.
    #[cfg(test)]
    pub fn after_unknown(&self) -> bool {
        self.after_unknown
    }

    /// When an earlier request may have made the object: `lookup` (by the token tag), asked
    /// until it finds it or the consistency window (within the call's deadline) is over —
    /// one empty describe right after a create proves nothing.
    pub async fn find_earlier<T, F, Fut>(
        &self,
        ctx: &CallContext,
        what: &str,
        mut lookup: F,
    ) -> Result<Option<T>, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, ProviderError>>,
    {
        if !self.after_unknown {
            return Ok(None);
        }
        let until = (Instant::now() + CONSISTENCY_WINDOW).min(ctx.deadline());
        let mut delay = Duration::from_millis(100);
        loop {
            if let Some(found) = lookup().await? {
                ctx.progress(&format!(
                    "adopted the {what} an earlier attempt created (create token {})",
                    self.token
                ));
                return Ok(Some(found));
            }
            if Instant::now() + delay >= until {
                return Ok(None);
            }
            ctx.wait(delay, what).await?;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(name: &str) -> ResourceIdentity {
        ResourceIdentity {
            stack: "dev".into(),
            name: name.into(),
            type_name: "aws:ec2/vpc".into(),
        }
    }

    #[test]
    fn a_retry_after_a_lost_response_keeps_the_token_and_looks_first() {
        let attempts = Attempts::default();
        let first = attempts.begin(&identity("a"), &"10.0.0.0/16");
        assert!(!first.after_unknown());
        assert!(first.token().len() <= 64, "{}", first.token());
        let lost: Result<(), _> = attempts.sent(
            &first,
            Err(ProviderError::retryable("lost").with_code("InternalError")),
        );
        assert!(lost.is_err());
        let retry = attempts.begin(&identity("a"), &"10.0.0.0/16");
        assert_eq!(retry.token(), first.token());
        assert!(retry.after_unknown());
        // A throttled retry does not make the earlier outcome known.
        let _ = attempts.sent(
            &retry,
            Err::<(), _>(ProviderError::retryable("slow down").with_code("Throttling")),
        );
        let again = attempts.begin(&identity("a"), &"10.0.0.0/16");
        assert!(again.after_unknown());
        let _ = attempts.sent(&again, Ok(()));
        let next = attempts.begin(&identity("a"), &"10.0.0.0/16");
        assert_ne!(next.token(), first.token(), "a new create gets a new token");
        assert!(!next.after_unknown());
    }

    #[test]
    fn throttled_creates_keep_the_token_but_need_not_look() {
        let attempts = Attempts::default();
        let first = attempts.begin(&identity("b"), &1);
        let _ = attempts.sent(
            &first,
            Err::<(), _>(ProviderError::retryable("slow").with_code("RequestLimitExceeded")),
        );
        let retry = attempts.begin(&identity("b"), &1);
        assert_eq!(retry.token(), first.token());
        assert!(!retry.after_unknown());
        let other = attempts.begin(&identity("b"), &2);
        assert_ne!(other.token(), first.token(), "other inputs, another create");
    }
}
